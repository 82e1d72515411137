package levee.policy_test

test_auth_001_allows_a_public_app_without_sso if {
	m := json.remove(with_top(proto, {"classification": "public", "data_access": []}), ["sso"])
	not "AUTH-001" in deny_ids(m)
}

test_auth_001_denies_an_internal_app_with_sso_absent if {
	"AUTH-001" in deny_ids(json.remove(proto, ["sso"]))
}

test_auth_003_allows_openid_scopes if {
	not "AUTH-003" in deny_ids(prod)
}

test_auth_003_denies_scopes_without_openid if {
	"AUTH-003" in deny_ids(with_top(proto, {"sso": {"provider": "oidc", "scopes": ["profile", "email"]}}))
}

test_auth_004_quiet_for_narrow_scopes if {
	not "AUTH-004" in warn_ids(prod)
}

test_auth_004_warns_on_wildcard_scopes if {
	"AUTH-004" in warn_ids(with_top(proto, {"sso": {"provider": "oidc", "scopes": ["openid", "api:*"]}}))
}

test_auth_004_warns_on_offline_access if {
	"AUTH-004" in warn_ids(with_top(proto, {"sso": {"provider": "oidc", "scopes": ["openid", "offline_access"]}}))
}

test_auth_006_allows_production_with_groups if {
	not "AUTH-006" in deny_ids(prod)
}

test_auth_006_denies_production_with_groups_absent if {
	"AUTH-006" in deny_ids(with_top(prod, {"classification": "internal", "data_access": [], "sso": "oidc"}))
}

test_auth_006_allows_a_prototype_without_groups if {
	not "AUTH-006" in deny_ids(proto)
}

test_auth_001_denies_an_internal_app_with_a_null_sso if {
	"AUTH-001" in deny_ids(with_top(proto, {"sso": null}))
}

test_auth_003_quiet_with_scopes_absent if {
	not "AUTH-003" in deny_ids(json.remove(prod, ["sso/scopes"]))
}

test_auth_004_quiet_with_scopes_absent if {
	not "AUTH-004" in warn_ids(json.remove(prod, ["sso/scopes"]))
}

test_auth_006_quiet_with_sso_absent if {
	ids := deny_ids(json.remove(with_top(prod, {"classification": "internal", "data_access": []}), ["sso"]))
	not "AUTH-006" in ids
	"AUTH-001" in ids
}
