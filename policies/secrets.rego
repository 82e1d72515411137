# Where secrets may be stored.
package levee.policy

# METADATA
# title: A secret store the classification does not allow
# custom:
#   id: SEC-001
#   severity: deny
deny contains finding if {
	some i, secret in secrets
	allowed := object.get(org, ["secret_providers", classification], [])
	provider := secret.provider
	not provider in allowed
	finding := {
		"id": "SEC-001",
		"msg": sprintf("a %s app may not keep `%s` in %s", [classification, object.get(secret, "name", ""), provider]),
		"hint": sprintf("set `provider:` to one of: %s", [concat(", ", allowed)]),
		"field": sprintf("secrets[%d].provider", [i]),
	}
}

# METADATA
# title: Environment-variable secrets outside the tiers that allow them
# description: Only the tiers in the org's `env_secret_tiers` (prototypes) may read secrets from the environment.
# custom:
#   id: SEC-002
#   severity: deny
deny contains finding if {
	some i, secret in secrets
	secret.provider == "env"
	t := tier
	not t in object.get(org, "env_secret_tiers", [])
	finding := {
		"id": "SEC-002",
		"msg": sprintf("a %s app may not read `%s` from the environment", [tier, object.get(secret, "name", "")]),
		"hint": "move the secret to a secret store: `provider: vault` or `aws-secrets-manager`",
		"field": sprintf("secrets[%d].provider", [i]),
	}
}
