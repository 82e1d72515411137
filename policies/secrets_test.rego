package levee.policy_test

secret(provider) := [{"name": "API_KEY", "provider": provider}]

test_sec_001_allows_env_for_internal_prototypes if {
	not "SEC-001" in deny_ids(with_top(proto, {"secrets": secret("env")}))
}

test_sec_001_denies_aws_for_restricted_apps if {
	"SEC-001" in deny_ids(with_top(prod, {"secrets": secret("aws-secrets-manager")}))
}

test_sec_001_denies_env_for_confidential_apps if {
	m := with_in(with_top(prod, {"classification": "confidential", "data_access": [], "secrets": secret("env")}), "lifecycle", {"tier": "sandbox"})
	"SEC-001" in deny_ids(m)
}

test_sec_002_allows_env_in_prototypes if {
	not "SEC-002" in deny_ids(with_top(proto, {"secrets": secret("env")}))
}

test_sec_002_denies_env_in_production if {
	m := with_top(prod, {"classification": "internal", "data_access": [], "secrets": secret("env")})
	"SEC-002" in deny_ids(m)
}

test_sec_001_quiet_with_the_provider_absent if {
	not "SEC-001" in deny_ids(with_top(prod, {"secrets": [{"name": "API_KEY"}]}))
}

test_sec_001_quiet_with_secrets_absent if {
	not "SEC-001" in deny_ids(json.remove(with_top(prod, {"secrets": secret("env")}), ["secrets"]))
}

test_sec_002_quiet_with_the_tier_absent if {
	not "SEC-002" in deny_ids(json.remove(with_top(prod, {"classification": "internal", "data_access": [], "secrets": secret("env")}), ["lifecycle/tier"]))
}
