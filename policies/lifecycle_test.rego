package levee.policy_test

dates(created, expires) := with_in(proto, "lifecycle", {"created": created, "expires": expires})

test_life_001_allows_a_prototype_with_expiry if {
	not "LIFE-001" in deny_ids(proto)
}

test_life_001_denies_a_prototype_with_expires_absent if {
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

test_life_002_counts_from_today_with_created_absent if {
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

test_life_001_denies_a_null_expiry if {
	"LIFE-001" in deny_ids(with_in(proto, "lifecycle", {"expires": null}))
}

test_life_002_counts_from_today_when_created_is_in_the_future if {
	ids := deny_ids(dates("2099-01-01", "2099-03-31"))
	"LIFE-002" in ids
	"LIFE-005" in ids
}

test_life_002_counts_from_created_when_it_is_earlier if {
	"LIFE-002" in deny_ids(dates("2025-12-01", "2026-03-20"))
	not "LIFE-002" in deny_ids(dates("2026-02-27", "2026-05-28"))
}

test_life_003_quiet_with_expires_absent if {
	not "LIFE-003" in warn_ids(json.remove(dates("2026-02-01", "2026-03-05"), ["lifecycle/expires"]))
}

test_life_004_quiet_with_expires_absent if {
	not "LIFE-004" in deny_ids(json.remove(with_in(prod, "lifecycle", {"expires": "2026-01-01"}), ["lifecycle/expires"]))
}

test_life_005_allows_today_and_tomorrow if {
	not "LIFE-005" in deny_ids(dates("2026-03-01", "2026-04-01"))
	not "LIFE-005" in deny_ids(dates("2026-03-02", "2026-04-01"))
}

test_life_005_denies_a_creation_date_in_the_future if {
	"LIFE-005" in deny_ids(dates("2026-03-03", "2026-04-01"))
	"LIFE-005" in deny_ids(dates("2099-01-01", "2099-03-31"))
}

test_life_005_quiet_with_created_absent if {
	not "LIFE-005" in deny_ids(json.remove(proto, ["lifecycle/created"]))
	not "LIFE-005" in deny_ids(with_in(proto, "lifecycle", {"created": null}))
}
