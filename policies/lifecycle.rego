# Expiry and lifetime.
package levee.policy

expires := epoch_days(input.lifecycle.expires)

# Where the lifetime is counted from: `created`, else today.
start_day := epoch_days(input.lifecycle.created) if input.lifecycle.created

else := today

# LIFE-001: a tier with a maximum lifetime (prototype) needs an expiry date.
deny contains finding if {
	caps.max_lifetime_days
	not input.lifecycle.expires
	finding := {
		"id": "LIFE-001",
		"msg": sprintf("a %s needs an expiry date", [tier]),
		"hint": sprintf("add `expires:` under `lifecycle`, at most %v days away", [caps.max_lifetime_days]),
		"field": "lifecycle",
	}
}

# LIFE-002: an expiry beyond the tier's maximum lifetime, counted from `created` (else today).
deny contains finding if {
	start := start_day
	max := caps.max_lifetime_days
	expires - start > max
	finding := {
		"id": "LIFE-002",
		"msg": sprintf("the app would live %v days, longer than the %s maximum of %v", [expires - start, tier, max]),
		"hint": sprintf("set `lifecycle.expires` at most %v days after `created`, or promote the app", [max]),
		"field": "lifecycle.expires",
	}
}

# LIFE-003: expiring soon.
warn contains finding if {
	left := expires - today
	left > 0
	left <= object.get(org, "expiry_warning_days", 14)
	finding := {
		"id": "LIFE-003",
		"msg": sprintf("the app expires in %v days (%s)", [left, input.lifecycle.expires]),
		"hint": "extend `lifecycle.expires`, promote the app (`levee promote`), or let it retire",
		"field": "lifecycle.expires",
	}
}

# LIFE-004: already expired.
deny contains finding if {
	expires <= today
	finding := {
		"id": "LIFE-004",
		"msg": sprintf("the app expired on %s", [input.lifecycle.expires]),
		"hint": "retire the app, or extend `lifecycle.expires` with the platform team's approval",
		"field": "lifecycle.expires",
	}
}
