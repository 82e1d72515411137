package levee.policy_test

test_own_001_allows_org_domains if {
	not "OWN-001" in deny_ids(with_top(proto, {"owner": "Jane@ACME.corp"}))
}

test_own_001_denies_other_domains if {
	"OWN-001" in deny_ids(with_top(proto, {"owner": "jane@acme.corp.evil.com"}))
}

test_own_001_any_domain_when_the_org_lists_none if {
	ids := {f.id | some f in data.levee.policy.deny} with input as with_top(proto, {"owner": "jane@gmail.com"})
		with data.levee.org as object.union(fixture_org, {"owner_domains": []})
		with data.levee.clock as {"now_ns": now}
	not "OWN-001" in ids
}

test_own_002_allows_production_with_a_team if {
	not "OWN-002" in deny_ids(prod)
}

test_own_002_denies_production_with_the_team_absent if {
	"OWN-002" in deny_ids(json.remove(prod, ["team"]))
}

test_own_002_prototypes_need_no_team if {
	not "OWN-002" in deny_ids(proto)
}

test_own_003_allows_production_with_a_cost_center if {
	not "OWN-003" in deny_ids(prod)
}

test_own_003_denies_production_with_the_cost_absent if {
	"OWN-003" in deny_ids(json.remove(prod, ["cost"]))
}

test_own_001_quiet_with_the_owner_absent if {
	not "OWN-001" in deny_ids(json.remove(proto, ["owner"]))
}

test_own_002_denies_a_null_or_blank_team if {
	"OWN-002" in deny_ids(with_top(prod, {"team": null}))
	"OWN-002" in deny_ids(with_top(prod, {"team": " "}))
}

test_own_003_denies_production_with_the_cost_center_absent if {
	"OWN-003" in deny_ids(json.remove(prod, ["cost/center"]))
	"OWN-003" in deny_ids(with_top(prod, {"cost": null}))
}
