# Creation, expiry and lifetime.
package levee.policy

# The dates as written (null when absent) and as days since 1970-01-01 (undefined when absent).
expires_text := field(["lifecycle", "expires"], null)

created_text := field(["lifecycle", "created"], null)

expires := epoch_days(expires_text) if is_string(expires_text)

created := epoch_days(created_text) if is_string(created_text)

# Where the lifetime is counted from: the earlier of `created` and today, so that a `created` in
# the future buys no extra time.
start_day := min({created, today}) if created

else := today

# The last day that is still "today" somewhere: dates carry no time zone, and east of UTC the
# calendar is up to a day ahead of it.
latest_today := today + 1

# METADATA
# title: A prototype without an expiry date
# description: Any tier with a maximum lifetime (the prototype tier, by default) needs one.
# custom:
#   id: LIFE-001
#   severity: deny
deny contains finding if {
	caps.max_lifetime_days
	not is_string(expires_text)
	finding := {
		"id": "LIFE-001",
		"msg": sprintf("a %s needs an expiry date", [tier]),
		"hint": sprintf("add `expires:` under `lifecycle`, at most %v days away", [caps.max_lifetime_days]),
		"field": "lifecycle.expires",
	}
}

# METADATA
# title: An expiry beyond the tier's maximum lifetime
# description: Counted from the earlier of `created` and today.
# custom:
#   id: LIFE-002
#   severity: deny
deny contains finding if {
	longest := caps.max_lifetime_days
	start := start_day
	expires - start > longest
	finding := {
		"id": "LIFE-002",
		"msg": sprintf("the app would live %v days, longer than the %s maximum of %v", [expires - start, tier, longest]),
		"hint": sprintf("set `lifecycle.expires` at most %v days after `created` (or today, if that is earlier), or promote the app", [longest]),
		"field": "lifecycle.expires",
	}
}

# METADATA
# title: Expiring soon
# custom:
#   id: LIFE-003
#   severity: warn
warn contains finding if {
	left := expires - today
	left > 0
	left <= object.get(org, "expiry_warning_days", 14)
	finding := {
		"id": "LIFE-003",
		"msg": sprintf("the app expires in %v days (%s)", [left, expires_text]),
		"hint": "extend `lifecycle.expires`, promote the app (`levee promote`), or let it retire",
		"field": "lifecycle.expires",
	}
}

# METADATA
# title: Already expired
# custom:
#   id: LIFE-004
#   severity: deny
deny contains finding if {
	expires <= today
	finding := {
		"id": "LIFE-004",
		"msg": sprintf("the app expired on %s", [expires_text]),
		"hint": "retire the app, or extend `lifecycle.expires` with the platform team's approval",
		"field": "lifecycle.expires",
	}
}

# METADATA
# title: A creation date in the future
# description: Later than today anywhere on Earth (today in UTC, plus one day).
# custom:
#   id: LIFE-005
#   severity: deny
deny contains finding if {
	created > latest_today
	finding := {
		"id": "LIFE-005",
		"msg": sprintf("the app's creation date (%s) is in the future", [created_text]),
		"hint": "set `lifecycle.created` to the day the app was created",
		"field": "lifecycle.created",
	}
}
