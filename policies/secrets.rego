# Where secrets may be stored.
package levee.policy

# SEC-001: a secret store not allowed for the classification.
deny contains finding if {
	some i, secret in input.secrets
	allowed := object.get(org, ["secret_providers", classification], [])
	not secret.provider in allowed
	finding := {
		"id": "SEC-001",
		"msg": sprintf("a %s app may not keep `%s` in %s", [classification, secret.name, secret.provider]),
		"hint": sprintf("set `provider:` to one of: %s", [concat(", ", allowed)]),
		"field": sprintf("secrets[%d].provider", [i]),
	}
}

# SEC-002: environment-variable secrets outside the tiers that allow them (prototypes).
deny contains finding if {
	some i, secret in input.secrets
	secret.provider == "env"
	not tier in object.get(org, "env_secret_tiers", [])
	finding := {
		"id": "SEC-002",
		"msg": sprintf("a %s app may not read `%s` from the environment", [tier, secret.name]),
		"hint": "move the secret to a secret store: `provider: vault` or `aws-secrets-manager`",
		"field": sprintf("secrets[%d].provider", [i]),
	}
}
