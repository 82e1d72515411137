# Rules that apply to confidential and restricted apps only; bundles of public and internal
# apps leave this module out.
package levee.policy

sensitive if rank[classification] >= rank.confidential

# AUTH-002: confidential and restricted apps must limit sign-in to groups.
deny contains finding if {
	sensitive
	input.sso
	count(sso_field("groups", [])) == 0
	finding := {
		"id": "AUTH-002",
		"msg": sprintf("a %s app must limit sign-in to named groups", [classification]),
		"hint": "use the full SSO form with `groups:` listing who may use the app",
		"field": "sso",
	}
}

# AUTH-005: a sensitive app should name its identity provider.
warn contains finding if {
	sensitive
	input.sso
	not has_text(sso_field("issuer", ""))
	finding := {
		"id": "AUTH-005",
		"msg": sprintf("a %s app should name the identity provider that signs its tokens", [classification]),
		"hint": "add `issuer:` with your identity provider's https URL under `sso`",
		"field": "sso",
	}
}

# RUN-006: sensitive apps list exact egress hosts, no wildcards.
deny contains finding if {
	sensitive
	some i, host in input.runtime.egress
	startswith(host, "*.")
	finding := {
		"id": "RUN-006",
		"msg": sprintf("a %s app may not reach a whole domain (`%s`)", [classification, host]),
		"hint": "list the exact hostnames the app calls",
		"field": sprintf("runtime.egress[%d]", [i]),
	}
}
