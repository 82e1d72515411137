# Who owns and pays for the app.
package levee.policy

# OWN-001: the owner's e-mail is outside the org's domains.
deny contains finding if {
	domains := object.get(org, "owner_domains", [])
	count(domains) > 0
	parts := split(lower(input.owner), "@")
	domain := parts[count(parts) - 1]
	not domain in {lower(d) | some d in domains}
	finding := {
		"id": "OWN-001",
		"msg": sprintf("the owner `%s` is not in one of the org's e-mail domains (%s)", [input.owner, concat(", ", domains)]),
		"hint": "set `owner` to the accountable person's work e-mail",
		"field": "owner",
	}
}

# OWN-002: production apps need a team.
deny contains finding if {
	tier == "production"
	not has_text(input.team)
	finding := {
		"id": "OWN-002",
		"msg": "a production app needs an owning team",
		"hint": "add `team:` with the team that runs the app",
		"field": "team",
	}
}

# OWN-003: production apps need a cost center.
deny contains finding if {
	tier == "production"
	not has_text(object.get(object.get(input, "cost", {}), "center", ""))
	finding := {
		"id": "OWN-003",
		"msg": "a production app needs a cost center",
		"hint": "add `cost: {center: <your cost center>}`",
		"field": "cost.center",
	}
}
