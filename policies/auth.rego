# Sign-in rules for every app.
package levee.policy

# METADATA
# title: No SSO above public
# custom:
#   id: AUTH-001
#   severity: deny
deny contains finding if {
	classification != "public"
	not has_sso
	finding := {
		"id": "AUTH-001",
		"msg": sprintf("a %s app must sign users in with SSO", [classification]),
		"hint": "add `sso: oidc` (or the full form with issuer and groups)",
		"field": "sso",
	}
}

# METADATA
# title: SSO scopes without `openid`
# custom:
#   id: AUTH-003
#   severity: deny
deny contains finding if {
	scopes := sso_field("scopes", [])
	count(scopes) > 0
	not "openid" in scopes
	finding := {
		"id": "AUTH-003",
		"msg": "the SSO scopes leave out `openid`, so the login returns no identity",
		"hint": "add `openid` to `sso.scopes`",
		"field": "sso.scopes",
	}
}

# METADATA
# title: Wildcard scopes or `offline_access`
# custom:
#   id: AUTH-004
#   severity: warn
warn contains finding if {
	some i, scope in sso_field("scopes", [])
	broad_scope(scope)
	finding := {
		"id": "AUTH-004",
		"msg": sprintf("the SSO scope `%s` asks for more than an app needs to sign users in", [scope]),
		"hint": "request only `openid`, `profile`, `email` and the API scopes the app calls",
		"field": sprintf("sso.scopes[%d]", [i]),
	}
}

broad_scope(s) if s == "*"

broad_scope(s) if endswith(s, ":*")

broad_scope(s) if s == "offline_access"

# METADATA
# title: Production SSO without groups
# custom:
#   id: AUTH-006
#   severity: deny
deny contains finding if {
	tier == "production"
	has_sso
	count(sso_field("groups", [])) == 0
	finding := {
		"id": "AUTH-006",
		"msg": "a production app must limit sign-in to named groups",
		"hint": "use the full SSO form with `groups:` listing who may use the app: `sso: {provider: oidc, groups: [your-team]}`",
		"field": "sso.groups",
	}
}
