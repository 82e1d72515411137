# Shared definitions for levee's policies. Input: the app manifest (app.yaml as JSON).
# Data: data.levee.org, the org config rendered by levee (see README, "Policy bundle").
package levee.policy

# The org config; empty when the bundle is evaluated without its data.json. Always referenced by
# its full path: a reference to `data` or `data.levee` would include this package's own rules, and
# OPA's compiler rejects that as recursion (regorus does not notice; rego-cpp does).
default org := {}

org := data.levee.org

# The clock. Rules compare dates against time.now_ns(), so CI judges expiry on the day it runs.
# data.levee.clock.now_ns, when present, fixes the clock (levee's `--today`, Rego unit tests).
now_ns := t if {
	t := data.levee.clock.now_ns
} else := time.now_ns()

ns_per_day := 86400000000000

# Today, as days since 1970-01-01 (UTC).
today := floor(now_ns / ns_per_day)

# Classifications, least to most sensitive.
rank := {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}

tier_order := ["prototype", "sandbox", "production"]

classification := input.classification

tier := input.lifecycle.tier

# The caps of the app's tier (cpu in millicores, memory in bytes, durations in minutes/days).
caps := object.get(org, ["tiers", tier], {})

# A dataset's classification; a dataset missing from the registry counts as confidential.
dataset_class(name) := object.get(org, ["datasets", name, "classification"], "confidential")

# The access levels a dataset allows; an unregistered dataset allows reading only.
dataset_access(name) := object.get(org, ["datasets", name, "allowed_access"], ["read"])

# The first tier allowed to handle data of classification c, for hints.
tier_for(c) := t if {
	fits := [x | some x in tier_order; rank[object.get(org, ["tiers", x, "max_classification"], "public")] >= rank[c]]
	t := fits[0]
} else := "production"

# CPU written as cores (0.25) or millicores ("250m"), in millicores.
cpu_millicores(x) := x * 1000 if is_number(x)

cpu_millicores(x) := units.parse(x) * 1000 if is_string(x)

# Memory written as a Kubernetes quantity ("256Mi"), in bytes.
mem_bytes(x) := units.parse_bytes(x)

# A YYYY-MM-DD date as days since 1970-01-01 (proleptic Gregorian, via the Julian day number).
epoch_days(date) := days if {
	y := to_number(substring(date, 0, 4))
	m := to_number(concat("", ["1", substring(date, 5, 2)])) - 100 # "1" + "03" - 100: no leading zero
	d := to_number(concat("", ["1", substring(date, 8, 2)])) - 100
	a := floor((14 - m) / 12)
	yy := (y + 4800) - a
	mm := (m + (12 * a)) - 3
	jdn := ((((((d + floor(((153 * mm) + 2) / 5)) + (365 * yy)) + floor(yy / 4)) - floor(yy / 100)) + floor(yy / 400)) - 32045)
	days := jdn - 2440588
}

# SSO settings; `sso: oidc` is shorthand for {"provider": "oidc"}.
sso_field(key, fallback) := v if {
	is_object(input.sso)
	v := object.get(input.sso, key, fallback)
} else := fallback

# Does an approved egress pattern (`api.acme.corp`, `*.acme.corp`) cover a requested host?
host_matches(pattern, host) if lower(pattern) == lower(host)

host_matches(pattern, host) if {
	startswith(pattern, "*.")
	endswith(trim_prefix(lower(host), "*"), lower(trim_prefix(pattern, "*")))
}

egress_approved(host) if {
	some pattern in object.get(org, "egress_approved", [])
	host_matches(pattern, host)
}

has_text(s) if {
	is_string(s)
	trim_space(s) != ""
}
