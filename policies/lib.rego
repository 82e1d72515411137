# Shared definitions for levee's policies. Input: the app manifest (app.yaml as JSON).
# Data: data.levee.org, the org config rendered by levee (see README, "Policy bundle").
package levee.policy

# The org config; empty when the bundle is evaluated without its data.json. Always referenced by
# its full path: a reference to `data` or `data.levee` would include this package's own rules, and
# OPA's compiler rejects that as recursion (regorus does not notice).
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

# Undefined values and negation. OPA evaluates a call (a function, a built-in, `x in xs`) or a
# reference with an undefined operand as undefined, even under `not`: `not has_text(input.team)`
# never fires when `team` is absent, while regorus fires it. And a field written `key:` with no
# value is null, which Rego treats as true and which regorus's built-ins reject with an error
# where OPA's answer undefined. So rules read the manifest only through `field`, which turns
# absent and null into a fallback the rule chooses; tests/opa.rs fails on any other `input`
# reference, and every rule has a unit test with its fields absent, run on both engines.
#
# A field the schema requires (classification, tier, owner, a secret's provider, a dataset's
# name and access level) is bound first and then tested, so a rule that reads it stays silent
# when it is absent, on both engines: levee refuses such a manifest before the policies run, and
# the wizard evaluates half-answered manifests. An optional field gets the default its rule means.

# The manifest's value at `path` (`["runtime", "cpu_limit"]`), or `fallback` when it is absent
# or null.
field(path, fallback) := v if {
	v := object.get(input, path, null)
	v != null
} else := fallback

# Required: undefined when absent.
classification := c if {
	c := field(["classification"], null)
	is_string(c)
}

tier := t if {
	t := field(["lifecycle", "tier"], null)
	is_string(t)
}

# The manifest's lists, read once per evaluation.
data_access := field(["data_access"], [])

secrets := field(["secrets"], [])

egress := field(["runtime", "egress"], [])

# The caps of the app's tier (cpu in millicores, memory in bytes, durations in minutes/days).
caps := object.get(org, ["tiers", tier], {})

# Is the dataset in the org's registry?
registered(name) if object.get(org, ["datasets", name], null) != null

# A dataset's classification. An unregistered dataset counts as restricted for confidential and
# restricted apps and as confidential for the others: never less than it could be.
dataset_class(name) := object.get(org, ["datasets", name, "classification"], unregistered_class)

unregistered_class := "restricted" if {
	rank[classification] >= rank.confidential
} else := "confidential"

# The access levels a dataset allows; an unregistered dataset allows reading only.
dataset_access(name) := object.get(org, ["datasets", name, "allowed_access"], ["read"])

# Dataset names are slugs: lowercase letters and digits, in words joined by single hyphens.
is_slug(s) if {
	is_string(s)
	s != ""
	trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
	not startswith(s, "-")
	not endswith(s, "-")
	not contains(s, "--")
}

# The registered datasets an unregistered name looks like: the same once case, spacing and Unicode
# compatibility forms are folded away (`Payroll`, `payroll `, full-width `ｐａｙｒｏｌｌ`), or one
# insertion, deletion, substitution or swap of neighbours from that (`payrol`, `pyaroll`).
lookalikes(name) := {registered_name |
	not registered(name)
	folded := fold(name)
	some registered_name, _ in object.get(org, "datasets", {})
	near(folded, registered_name)
}

# The dataset each entry of `data_access` names, by index (none for an entry without one).
dataset_names[i] := name if {
	some i, access in data_access
	name := access.dataset
}

# The manifest's dataset names that levee refuses outright (DATA-007, DATA-008): the data rules
# that judge a dataset by its registry entry skip them, so each bad name is reported once. A
# registered name is never refused. (Rules like this one are computed once per evaluation; the
# common case, every name registered, costs one lookup per name.)
refused_datasets contains name if {
	some name in dataset_names
	not registered(name)
	refused(name)
}

refused(name) if not is_slug(name)

refused(name) if count(lookalikes(name)) > 0

# The registered datasets each refused name looks like, sorted.
similar_datasets[name] := sort(lookalikes(name)) if {
	some name in refused_datasets
}

# The character folding of dataset names: case, spacing and Unicode compatibility forms (NFKC),
# as a table from one character to what it folds to (every whitespace character folds to
# nothing). It is data, not Rego (the bundle's levee/fold/data.json, levee's policies/fold.json):
# 1,278 entries load as JSON far faster than an engine parses them as a Rego object. Empty
# when the bundle is evaluated without its data.
default fold_table := {}

fold_table := data.levee.fold.table

# `s` with case, spacing and Unicode compatibility forms folded (`fold_table`). Not `lower()`:
# Go and Rust lowercase a few non-ASCII letters differently. A slug folds to itself.
fold(s) := s if is_slug(s)

else := strings.replace_n(fold_table, s) if is_string(s)

else := ""

near(folded, registered_name) if folded == registered_name

near(folded, registered_name) if {
	is_ascii(folded)
	one_edit(folded, registered_name)
}

# Printable ASCII only (what `count` and `substring` measure alike in OPA and regorus).
is_ascii(s) if trim(s, ascii_printable) == ""

ascii_printable := concat("", [" !\"#$%&'()*+,-./0123456789:;<=>?@", "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`", "abcdefghijklmnopqrstuvwxyz{|}~"])

# One substitution, insertion, deletion or swap of neighbours turns `a` into `b`. Only for ASCII
# strings: `count` of a string counts code points in OPA and UTF-16 units in regorus.
one_edit(a, b) if count(differences(a, b)) == 1

one_edit(a, b) if {
	[i, j] := differences(a, b)
	j == i + 1
	substring(a, i, 1) == substring(b, j, 1)
	substring(a, j, 1) == substring(b, i, 1)
}

one_edit(a, b) if {
	count(a) == count(b) + 1
	one_deletion(a, b)
}

one_edit(a, b) if {
	count(b) == count(a) + 1
	one_deletion(b, a)
}

# The positions where two strings of the same length differ.
differences(a, b) := [i | some i in numbers.range(0, count(a) - 1); substring(a, i, 1) != substring(b, i, 1)] if {
	count(a) == count(b)
}

one_deletion(long, short) if {
	some i in numbers.range(0, count(long) - 1)
	concat("", [substring(long, 0, i), substring(long, i + 1, -1)]) == short
}

# The first tier allowed to handle data of classification c, for hints.
tier_for(c) := t if {
	fits := [x | some x in tier_order; rank[object.get(org, ["tiers", x, "max_classification"], "public")] >= rank[c]]
	t := fits[0]
} else := "production"

# CPU written as cores (0.25, "0.25") or millicores ("250m"), in whole millicores. (Not
# `units.parse(x) * 1000`: regorus computes in binary floating point, where 0.57 * 1000 is
# 570.0000000000001, OPA in decimal; levee refuses CPU finer than a millicore, so rounding loses
# nothing.)
cpu_millicores(x) := round(x * 1000) if is_number(x)

cpu_millicores(x) := to_number(trim_suffix(x, "m")) if {
	is_string(x)
	endswith(x, "m")
}

cpu_millicores(x) := round(to_number(x) * 1000) if {
	is_string(x)
	not endswith(x, "m")
}

# Memory written as a Kubernetes quantity ("256Mi"), in bytes.
mem_bytes(x) := units.parse_bytes(x) if is_string(x)

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
has_sso if field(["sso"], null) != null

sso_field(key, fallback) := field(["sso", key], fallback)

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

# Is `s` a string with something other than spaces in it?
has_text(s) if {
	is_string(s)
	trim_space(s) != ""
}
