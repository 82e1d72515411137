package levee.policy_test

access(dataset, level) := [{"dataset": dataset, "access_level": level, "purpose": "reporting"}]

test_data_001_allows_internal_data_in_a_prototype if {
	not "DATA-001" in deny_ids(with_top(proto, {"data_access": access("expenses", "read")}))
}

test_data_001_denies_confidential_data_in_a_prototype if {
	"DATA-001" in deny_ids(with_top(proto, {"classification": "confidential", "data_access": access("payroll", "read")}))
}

test_data_001_allows_confidential_data_in_a_sandbox if {
	m := with_in(with_top(proto, {"classification": "confidential", "data_access": access("payroll", "read")}), "lifecycle", {"tier": "sandbox"})
	not "DATA-001" in deny_ids(m)
}

test_data_002_allows_data_at_the_app_classification if {
	not "DATA-002" in deny_ids(with_top(prod, {"classification": "restricted"}))
}

test_data_002_denies_data_above_the_app_classification if {
	"DATA-002" in deny_ids(with_top(prod, {"classification": "confidential"}))
}

test_data_003_allows_access_with_a_purpose if {
	not "DATA-003" in deny_ids(proto)
}

test_data_003_denies_access_with_the_purpose_absent if {
	"DATA-003" in deny_ids(with_top(proto, {"data_access": [{"dataset": "expenses", "access_level": "read"}]}))
}

test_data_003_denies_a_blank_purpose if {
	"DATA-003" in deny_ids(with_top(proto, {"data_access": [{"dataset": "expenses", "access_level": "read", "purpose": "  "}]}))
}

test_data_004_allows_a_registered_access_level if {
	not "DATA-004" in deny_ids(with_top(proto, {"data_access": access("expenses", "write")}))
}

test_data_004_denies_an_unregistered_access_level if {
	"DATA-004" in deny_ids(with_top(proto, {"data_access": access("expenses", "admin")}))
}

test_data_004_unknown_datasets_are_read_only if {
	"DATA-004" in deny_ids(with_top(proto, {"data_access": access("mystery", "write")}))
}

test_data_005_quiet_for_registered_datasets if {
	not "DATA-005" in warn_ids(proto)
}

test_data_005_warns_on_unregistered_datasets if {
	"DATA-005" in warn_ids(with_top(prod, {"data_access": access("mystery", "read")}))
}

test_data_005_unregistered_counts_as_confidential_for_internal_apps if {
	"DATA-002" in deny_ids(with_top(proto, {"data_access": access("mystery", "read")}))
}

test_data_006_allows_a_classification_within_the_tier if {
	not "DATA-006" in deny_ids(proto)
}

test_data_006_denies_a_restricted_prototype if {
	"DATA-006" in deny_ids(with_top(proto, {"classification": "restricted", "data_access": []}))
}

test_data_001_quiet_with_data_access_absent if {
	not "DATA-001" in deny_ids(json.remove(with_top(proto, {"classification": "confidential"}), ["data_access"]))
}

test_data_001_unregistered_counts_as_restricted_for_confidential_apps if {
	m := with_in(with_top(proto, {"classification": "confidential", "data_access": access("mystery", "read")}), "lifecycle", {"tier": "sandbox"})
	"DATA-001" in deny_ids(m)
}

test_data_002_quiet_with_data_access_absent if {
	not "DATA-002" in deny_ids(json.remove(with_top(prod, {"classification": "public"}), ["data_access"]))
}

test_data_002_unregistered_counts_as_restricted_for_confidential_apps if {
	"DATA-002" in deny_ids(with_top(prod, {"classification": "confidential", "data_access": access("mystery", "read")}))
	not "DATA-002" in deny_ids(with_top(prod, {"data_access": access("mystery", "read")}))
}

test_data_003_denies_a_null_purpose if {
	"DATA-003" in deny_ids(with_top(proto, {"data_access": [{"dataset": "expenses", "access_level": "read", "purpose": null}]}))
}

test_data_004_quiet_with_the_access_level_absent if {
	not "DATA-004" in deny_ids(with_top(proto, {"data_access": [{"dataset": "mystery", "purpose": "reporting"}]}))
}

test_data_005_quiet_with_data_access_absent if {
	not "DATA-005" in warn_ids(json.remove(proto, ["data_access"]))
}

test_data_006_quiet_with_the_tier_absent if {
	not "DATA-006" in deny_ids(json.remove(with_top(proto, {"classification": "restricted", "data_access": []}), ["lifecycle/tier"]))
}

test_data_007_allows_registered_slugs if {
	not "DATA-007" in deny_ids(proto)
	not "DATA-007" in deny_ids(with_top(prod, {"data_access": access("mystery-2", "read")}))
}

test_data_007_denies_names_that_are_not_slugs if {
	every name in ["pay$$roll!!", "-data-", "big--data", "Zzz Top", "Ünïcode"] {
		"DATA-007" in deny_ids(with_top(prod, {"data_access": access(name, "read")}))
	}
}

test_data_007_quiet_with_the_dataset_absent if {
	not "DATA-007" in deny_ids(with_top(proto, {"data_access": [{"access_level": "read", "purpose": "reporting"}]}))
}

test_data_003_denies_an_entry_with_the_dataset_absent_and_no_purpose if {
	"DATA-003" in deny_ids(with_top(proto, {"data_access": [{"access_level": "read"}]}))
}

test_data_008_allows_registered_names if {
	not "DATA-008" in deny_ids(prod)
	not "DATA-008" in deny_ids(with_top(prod, {"data_access": access("mystery", "read")}))
}

test_data_008_denies_case_spacing_and_compatibility_forms if {
	every name in ["Payroll", "PAYROLL", "payroll ", " pay roll", "pay\u00a0roll", "ｐａｙｒｏｌｌ", "𝐩𝐚𝐲𝐫𝐨𝐥𝐥"] {
		ids := deny_ids(with_top(prod, {"data_access": access(name, "read")}))
		"DATA-008" in ids
		not "DATA-007" in ids
		not "DATA-002" in ids
	}
}

test_data_008_denies_names_one_edit_away if {
	every name in ["payrol", "payrolls", "paxroll", "apyroll", "Payrol", "PAYRLOL"] {
		"DATA-008" in deny_ids(with_top(prod, {"data_access": access(name, "read")}))
	}
	not "DATA-008" in deny_ids(with_top(prod, {"data_access": access("pyrl", "read")}))
	not "DATA-008" in deny_ids(with_top(prod, {"data_access": access("yaprloll", "read")}))
}

test_data_008_hint_names_the_registered_dataset if {
	fs := data.levee.policy.deny with input as with_top(prod, {"data_access": access("Payroll", "read")})
		with data.levee.org as fixture_org
		with data.levee.clock as {"now_ns": now}
	some f in fs
	f.id == "DATA-008"
	f.field == "data_access[0].dataset"
	contains(f.hint, "`payroll`")
}

test_data_008_quiet_with_the_dataset_absent if {
	not "DATA-008" in deny_ids(with_top(proto, {"data_access": [{"access_level": "read", "purpose": "reporting"}]}))
}

test_data_008_denies_symbols_one_edit_away if {
	every name in ["pay$roll", "pay_roll", "Pay Roll!"] {
		"DATA-008" in deny_ids(with_top(prod, {"data_access": access(name, "read")}))
	}
}

test_data_ascii_printable_has_every_printable_character if {
	count(data.levee.policy.ascii_printable) == 95
	data.levee.policy.is_ascii("a~ !`{")
	not data.levee.policy.is_ascii("café")
}
