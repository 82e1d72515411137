# Tests of sensitive.rego (bundles of confidential and restricted apps).
package levee.policy_test

test_auth_002_allows_groups_for_restricted_apps if {
	not "AUTH-002" in deny_ids(prod)
}

test_auth_002_denies_restricted_apps_without_groups if {
	"AUTH-002" in deny_ids(with_top(prod, {"sso": "oidc"}))
}

test_auth_002_internal_apps_need_no_groups if {
	not "AUTH-002" in deny_ids(proto)
}

test_auth_005_quiet_when_the_issuer_is_named if {
	not "AUTH-005" in warn_ids(prod)
}

test_auth_005_warns_sensitive_apps_with_the_issuer_absent if {
	"AUTH-005" in warn_ids(json.remove(prod, ["sso/issuer"]))
}

test_run_006_allows_exact_hosts_for_sensitive_apps if {
	not "RUN-006" in deny_ids(prod)
}

test_run_006_denies_wildcard_egress_for_sensitive_apps if {
	"RUN-006" in deny_ids(with_in(prod, "runtime", {"egress": ["*.internal.acme.corp"]}))
}

test_run_006_internal_apps_may_use_wildcards if {
	not "RUN-006" in deny_ids(with_in(proto, "runtime", {"egress": ["*.internal.acme.corp"]}))
}

test_auth_002_denies_restricted_apps_with_groups_absent if {
	"AUTH-002" in deny_ids(json.remove(prod, ["sso/groups"]))
}

test_auth_002_quiet_with_sso_absent if {
	not "AUTH-002" in deny_ids(json.remove(prod, ["sso"]))
}

test_auth_005_warns_sensitive_apps_with_a_null_issuer if {
	"AUTH-005" in warn_ids(with_in(prod, "sso", {"issuer": null}))
}

test_run_006_quiet_with_egress_absent if {
	not "RUN-006" in deny_ids(json.remove(prod, ["runtime/egress"]))
}
