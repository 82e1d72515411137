# Fixtures shared by the policy unit tests: a fixed org config, a fixed clock, and clean apps.
package levee.policy_test


# 2026-03-01T00:00:00Z (day 20513 since 1970-01-01).
now := 1772323200000000000

fixture_org := {
	"owner_domains": ["acme.corp"],
	"datasets": {
		"office-hours": {"classification": "public", "allowed_access": ["read"]},
		"expenses": {"classification": "internal", "allowed_access": ["read", "write"]},
		"payroll": {"classification": "confidential", "allowed_access": ["read"]},
		"health": {"classification": "restricted", "allowed_access": ["read"]},
	},
	"egress_approved": ["api.acme.corp", "*.internal.acme.corp"],
	"tiers": {
		"prototype": {
			"max_cpu_millicores": 500, "max_memory_bytes": 536870912, "max_runtime_minutes": 120,
			"max_lifetime_days": 90, "max_classification": "internal",
		},
		"sandbox": {"max_cpu_millicores": 1000, "max_memory_bytes": 1073741824, "max_classification": "confidential"},
		"production": {"max_cpu_millicores": 4000, "max_memory_bytes": 4294967296, "max_classification": "restricted"},
	},
	"secret_providers": {
		"public": ["env", "vault", "aws-secrets-manager"],
		"internal": ["env", "vault", "aws-secrets-manager"],
		"confidential": ["vault", "aws-secrets-manager"],
		"restricted": ["vault"],
	},
	"allowed_runtimes": {
		"public": ["sandboxed-container", "hardened-container", "wasm"],
		"internal": ["sandboxed-container", "hardened-container", "wasm"],
		"confidential": ["hardened-container"],
		"restricted": ["hardened-container"],
	},
	"env_secret_tiers": ["prototype"],
	"expiry_warning_days": 14,
}

# A clean internal prototype (the playbook's example, tidied).
proto := {
	"name": "expense-quick-submit",
	"owner": "jane@acme.corp",
	"classification": "internal",
	"sso": "oidc",
	"runtime": {
		"type": "sandboxed-container", "cpu_limit": 0.25, "mem_limit": "256Mi",
		"max_runtime_minutes": 60, "egress": ["api.acme.corp"],
	},
	"secrets": [{"name": "PAYMENT_API_KEY", "provider": "vault"}],
	"data_access": [{"dataset": "expenses", "access_level": "write", "purpose": "submit expenses"}],
	"lifecycle": {"tier": "prototype", "created": "2026-02-01", "expires": "2026-04-01"},
}

# A clean restricted production app.
prod := {
	"name": "clinic-rota",
	"owner": "sam@acme.corp",
	"team": "people-ops",
	"classification": "restricted",
	"sso": {"provider": "oidc", "issuer": "https://login.acme.corp", "groups": ["nurses"], "scopes": ["openid", "profile"]},
	"runtime": {"type": "hardened-container", "cpu_limit": "2", "mem_limit": "2Gi", "egress": ["hr.internal.acme.corp"]},
	"secrets": [{"name": "DB_PASSWORD", "provider": "vault"}],
	"data_access": [{"dataset": "health", "access_level": "read", "purpose": "staff rota"}],
	"lifecycle": {"tier": "production", "created": "2025-01-10"},
	"cost": {"center": "CC-1001"},
}

deny_ids(m) := ids if {
	ids := {f.id | some f in data.levee.policy.deny} with input as m
		with data.levee.org as fixture_org
		with data.levee.clock as {"now_ns": now}
}

warn_ids(m) := ids if {
	ids := {f.id | some f in data.levee.policy.warn} with input as m
		with data.levee.org as fixture_org
		with data.levee.clock as {"now_ns": now}
}

# `m` with `patch` merged at the top level.
with_top(m, patch) := object.union(m, patch)

# `m` with `patch` merged into `m[key]`.
with_in(m, key, patch) := object.union(m, {key: object.union(m[key], patch)})

test_clean_prototype_has_no_findings if {
	count(deny_ids(proto)) == 0
	count(warn_ids(proto)) == 0
}

test_clean_production_has_no_findings if {
	count(deny_ids(prod)) == 0
	count(warn_ids(prod)) == 0
}

test_findings_have_every_field if {
	m := with_top(proto, {"owner": "x@gmail.com", "classification": "public", "sso": "oidc"})
	fs := data.levee.policy.deny with input as m with data.levee.org as fixture_org with data.levee.clock as {"now_ns": now}
	count(fs) > 0
	every f in fs {
		is_string(f.id)
		is_string(f.msg)
		is_string(f.hint)
		is_string(f.field)
	}
}

test_epoch_days if {
	data.levee.policy.epoch_days("1970-01-01") == 0
	data.levee.policy.epoch_days("2000-03-01") == 11017
	data.levee.policy.epoch_days("2026-03-01") == 20513
	data.levee.policy.epoch_days("2024-02-29") == 19782
}

test_today_follows_the_clock if {
	data.levee.policy.today == 20513 with data.levee.clock as {"now_ns": now}
}
