# Who owns and pays for the app.
package levee.policy

# METADATA
# title: Owner e-mail outside the org's domains
# custom:
#   id: OWN-001
#   severity: deny
deny contains finding if {
	domains := object.get(org, "owner_domains", [])
	count(domains) > 0
	owner := field(["owner"], null)
	is_string(owner)
	parts := split(lower(owner), "@")
	domain := parts[count(parts) - 1]
	not domain in {lower(d) | some d in domains}
	finding := {
		"id": "OWN-001",
		"msg": sprintf("the owner `%s` is not in one of the org's e-mail domains (%s)", [owner, concat(", ", domains)]),
		"hint": "set `owner` to the accountable person's work e-mail",
		"field": "owner",
	}
}

# METADATA
# title: Production without a team
# custom:
#   id: OWN-002
#   severity: deny
deny contains finding if {
	tier == "production"
	not has_text(field(["team"], null))
	finding := {
		"id": "OWN-002",
		"msg": "a production app needs an owning team",
		"hint": "add `team:` with the team that runs the app",
		"field": "team",
	}
}

# METADATA
# title: Production without a cost center
# custom:
#   id: OWN-003
#   severity: deny
deny contains finding if {
	tier == "production"
	not has_text(field(["cost", "center"], null))
	finding := {
		"id": "OWN-003",
		"msg": "a production app needs a cost center",
		"hint": "add `cost: {center: <your cost center>}`",
		"field": "cost.center",
	}
}
