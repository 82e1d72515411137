package levee.policy_test

dates(created, expires) := with_in(proto, "lifecycle", {"created": created, "expires": expires})

test_life_001_allows_a_prototype_with_expiry if {
	not "LIFE-001" in deny_ids(proto)
}

test_life_001_denies_a_prototype_without_expiry if {
	"LIFE-001" in deny_ids(json.remove(proto, ["lifecycle/expires"]))
}

test_life_001_production_needs_no_expiry if {
	not "LIFE-001" in deny_ids(prod)
}

test_life_002_allows_the_maximum_lifetime if {
	not "LIFE-002" in deny_ids(dates("2026-02-01", "2026-05-02"))
}

test_life_002_denies_a_lifetime_beyond_the_maximum if {
	"LIFE-002" in deny_ids(dates("2026-02-01", "2026-05-03"))
}

test_life_002_counts_from_today_without_created if {
	"LIFE-002" in deny_ids(json.remove(dates("2026-02-01", "2026-06-01"), ["lifecycle/created"]))
}

test_life_003_quiet_far_from_expiry if {
	not "LIFE-003" in warn_ids(proto)
}

test_life_003_warns_before_expiry if {
	m := dates("2026-02-01", "2026-03-10")
	"LIFE-003" in warn_ids(m)
	not "LIFE-004" in deny_ids(m)
}

test_life_004_allows_a_future_expiry if {
	not "LIFE-004" in deny_ids(dates("2026-02-01", "2026-03-02"))
}

test_life_004_denies_an_expired_app if {
	m := dates("2026-01-01", "2026-03-01")
	"LIFE-004" in deny_ids(m)
	not "LIFE-003" in warn_ids(m)
}

test_life_004_uses_the_clock if {
	ids := {f.id | some f in data.levee.policy.deny} with input as proto
		with data.levee.org as fixture_org
		with data.levee.clock as {"now_ns": 1775001600000000000}
	"LIFE-004" in ids
}
