# Rules that apply to confidential and restricted apps only; bundles of public and internal
# apps leave this module out.
package levee.policy

sensitive if rank[classification] >= rank.confidential

# METADATA
# title: Confidential or restricted SSO without groups
# custom:
#   id: AUTH-002
#   severity: deny
deny contains finding if {
	sensitive
	has_sso
	count(sso_field("groups", [])) == 0
	finding := {
		"id": "AUTH-002",
		"msg": sprintf("a %s app must limit sign-in to named groups", [classification]),
		"hint": "use the full SSO form with `groups:` listing who may use the app",
		"field": "sso.groups",
	}
}

# METADATA
# title: Confidential or restricted SSO without an issuer
# custom:
#   id: AUTH-005
#   severity: warn
warn contains finding if {
	sensitive
	has_sso
	not has_text(sso_field("issuer", null))
	finding := {
		"id": "AUTH-005",
		"msg": sprintf("a %s app should name the identity provider that signs its tokens", [classification]),
		"hint": "add `issuer:` with your identity provider's https URL under `sso`",
		"field": "sso.issuer",
	}
}

# METADATA
# title: Wildcard egress from a confidential or restricted app
# custom:
#   id: RUN-006
#   severity: deny
deny contains finding if {
	sensitive
	some i, host in egress
	startswith(host, "*.")
	finding := {
		"id": "RUN-006",
		"msg": sprintf("a %s app may not reach a whole domain (`%s`)", [classification, host]),
		"hint": "list the exact hostnames the app calls",
		"field": sprintf("runtime.egress[%d]", [i]),
	}
}
