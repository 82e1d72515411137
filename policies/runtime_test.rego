package levee.policy_test

test_run_001_allows_cpu_within_the_cap if {
	not "RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": "500m"}))
}

test_run_001_denies_cpu_above_the_cap if {
	"RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": 0.75}))
}

test_run_001_reads_millicores if {
	"RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": "501m"}))
}

test_run_002_allows_memory_within_the_cap if {
	not "RUN-002" in deny_ids(with_in(proto, "runtime", {"mem_limit": "512Mi"}))
}

test_run_002_denies_memory_above_the_cap if {
	"RUN-002" in deny_ids(with_in(proto, "runtime", {"mem_limit": "1Gi"}))
}

test_run_002_decimal_units_count if {
	"RUN-002" in deny_ids(with_in(proto, "runtime", {"mem_limit": "600M"}))
}

test_run_003_allows_runs_within_the_cap if {
	not "RUN-003" in deny_ids(with_in(proto, "runtime", {"max_runtime_minutes": 120}))
}

test_run_003_denies_runs_above_the_cap if {
	"RUN-003" in deny_ids(with_in(proto, "runtime", {"max_runtime_minutes": 121}))
}

test_run_003_uncapped_tiers_allow_long_runs if {
	not "RUN-003" in deny_ids(with_in(prod, "runtime", {"max_runtime_minutes": 1000}))
}

test_run_004_allows_approved_hosts_and_wildcards if {
	m := with_in(proto, "runtime", {"egress": ["api.acme.corp", "hr.internal.acme.corp", "a.b.internal.acme.corp", "*.x.internal.acme.corp"]})
	not "RUN-004" in deny_ids(m)
}

test_run_004_denies_unapproved_hosts if {
	"RUN-004" in deny_ids(with_in(proto, "runtime", {"egress": ["api.example.com"]}))
}

test_run_004_wildcard_does_not_cover_the_bare_domain if {
	"RUN-004" in deny_ids(with_in(proto, "runtime", {"egress": ["internal.acme.corp"]}))
}

test_run_004_wildcard_does_not_cover_lookalikes if {
	"RUN-004" in deny_ids(with_in(proto, "runtime", {"egress": ["evilinternal.acme.corp"]}))
}

test_run_005_allows_a_permitted_runtime if {
	not "RUN-005" in deny_ids(prod)
}

test_run_005_denies_a_runtime_the_classification_forbids if {
	"RUN-005" in deny_ids(with_in(prod, "runtime", {"type": "wasm"}))
}

test_run_005_absent_type_is_sandboxed_container if {
	"RUN-005" in deny_ids(json.remove(prod, ["runtime/type"]))
}

test_run_007_allows_a_url_setting_whose_host_is_in_egress if {
	m := object.union(proto, {"settings": {"DOWNSTREAM_URL": "https://API.acme.corp:8443/events?x=1", "REPORT_URL": "https://reports.internal.acme.corp/r.json"}})
	not "RUN-007" in deny_ids(with_in(m, "runtime", {"egress": ["api.acme.corp", "*.internal.acme.corp"]}))
}

test_run_007_ignores_settings_that_are_not_urls if {
	m := object.union(proto, {"settings": {"DASHBOARD_DATA_SOURCE": "/data/sales.csv", "REGION": "eu-west-1", "NOTE": "see https://elsewhere.example.com"}})
	not "RUN-007" in deny_ids(m)
}

test_run_007_quiet_with_settings_or_runtime_absent if {
	not "RUN-007" in deny_ids(json.remove(proto, ["runtime"]))
	not "RUN-007" in deny_ids(json.remove(proto, ["settings"]))
	not "RUN-007" in deny_ids(object.union(proto, {"settings": null}))
}

test_run_007_denies_with_runtime_or_egress_null if {
	m := object.union(proto, {"settings": {"DOWNSTREAM_URL": "https://api.acme.corp/events"}})
	"RUN-007" in deny_ids(object.union(m, {"runtime": null}))
	"RUN-007" in deny_ids(with_in(m, "runtime", {"egress": null}))
}

test_run_007_denies_a_url_host_outside_egress if {
	m := object.union(proto, {"settings": {"DOWNSTREAM_URL": "https://ledger.example.com/events"}})
	"RUN-007" in deny_ids(m)
}

test_run_007_denies_http_urls_and_any_case if {
	"RUN-007" in deny_ids(object.union(proto, {"settings": {"X_URL": "HTTP://Ledger.Example.com"}}))
}

test_run_007_denies_without_runtime_egress if {
	m := object.union(json.remove(proto, ["runtime"]), {"settings": {"DOWNSTREAM_URL": "https://api.acme.corp/events"}})
	"RUN-007" in deny_ids(m)
}

test_run_007_reads_the_host_a_url_parser_reads if {
	# `\` ends the authority in an http(s) URL, so the host is evil.example.com, not api.acme.corp.
	"RUN-007" in deny_ids(object.union(proto, {"settings": {"X_URL": "https://evil.example.com\\@api.acme.corp/"}}))
	# After userinfo: api.acme.corp (levee validate refuses the credentials themselves).
	not "RUN-007" in deny_ids(object.union(proto, {"settings": {"X_URL": "https://evil.example.com@api.acme.corp/"}}))
}

test_run_007_wildcard_does_not_cover_the_bare_domain if {
	m := object.union(proto, {"settings": {"X_URL": "https://internal.acme.corp/"}})
	"RUN-007" in deny_ids(with_in(m, "runtime", {"egress": ["*.internal.acme.corp"]}))
}

test_run_007_finding_names_the_setting if {
	m := object.union(proto, {"settings": {"DOWNSTREAM_URL": "https://ledger.example.com/events"}})
	fields := {f.field | some f in data.levee.policy.deny; f.id == "RUN-007"} with input as m
		with data.levee.org as fixture_org
		with data.levee.clock as {"now_ns": now}
	fields == {"settings.DOWNSTREAM_URL"}
}

test_run_001_quiet_with_cpu_absent if {
	not "RUN-001" in deny_ids(json.remove(with_in(proto, "runtime", {"cpu_limit": 8}), ["runtime/cpu_limit"]))
}

test_run_001_quiet_with_a_null_cpu_limit if {
	not "RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": null}))
}

test_run_002_quiet_with_memory_absent if {
	not "RUN-002" in deny_ids(json.remove(proto, ["runtime/mem_limit"]))
}

test_run_002_quiet_with_a_null_memory_limit if {
	not "RUN-002" in deny_ids(with_in(proto, "runtime", {"mem_limit": null}))
}

test_run_003_quiet_with_max_runtime_absent if {
	not "RUN-003" in deny_ids(json.remove(proto, ["runtime/max_runtime_minutes"]))
}

test_run_004_quiet_with_egress_absent if {
	not "RUN-004" in deny_ids(json.remove(proto, ["runtime/egress"]))
	not "RUN-004" in deny_ids(with_in(proto, "runtime", {"egress": null}))
}

test_run_005_null_type_is_sandboxed_container if {
	"RUN-005" in deny_ids(with_in(prod, "runtime", {"type": null}))
}

test_run_001_millicores_are_exact if {
	not "RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": "500m"}))
	not "RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": 0.5}))
	not "RUN-001" in deny_ids(with_in(proto, "runtime", {"cpu_limit": "0.5"}))
	fs := data.levee.policy.deny with input as with_in(proto, "runtime", {"cpu_limit": 0.57})
		with data.levee.org as object.union(fixture_org, {"tiers": {"prototype": {"max_cpu_millicores": 569}}})
		with data.levee.clock as {"now_ns": now}
	some f in fs
	f.id == "RUN-001"
	f.msg == "the CPU limit (570m) is above the prototype cap (569m)"
}
