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

test_data_003_denies_access_without_a_purpose if {
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

test_data_005_unregistered_counts_as_confidential if {
	"DATA-002" in deny_ids(with_top(proto, {"data_access": access("mystery", "read")}))
}

test_data_006_allows_a_classification_within_the_tier if {
	not "DATA-006" in deny_ids(proto)
}

test_data_006_denies_a_restricted_prototype if {
	"DATA-006" in deny_ids(with_top(proto, {"classification": "restricted", "data_access": []}))
}
