# Data access rules.
package levee.policy

# DATA-001: the tier may not touch data this sensitive (a prototype reading confidential data).
deny contains finding if {
	some i, access in input.data_access
	ds := dataset_class(access.dataset)
	max := caps.max_classification
	rank[ds] > rank[max]
	finding := {
		"id": "DATA-001",
		"msg": sprintf("a %s app may not use the %s dataset `%s`: %s apps may touch %s data at most", [tier, ds, access.dataset, tier, max]),
		"hint": sprintf("remove this dataset, or move the app to a tier allowed to handle %s data: `levee promote --tier %s`", [ds, tier_for(ds)]),
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}

# DATA-002: the app's classification is lower than a dataset it uses.
deny contains finding if {
	some i, access in input.data_access
	ds := dataset_class(access.dataset)
	rank[ds] > rank[classification]
	finding := {
		"id": "DATA-002",
		"msg": sprintf("the app is classified %s but uses the %s dataset `%s`", [classification, ds, access.dataset]),
		"hint": sprintf("set `classification: %s` (an app is as sensitive as the most sensitive data it touches)", [ds]),
		"field": "classification",
	}
}

# DATA-003: data access without a purpose.
deny contains finding if {
	some i, access in input.data_access
	not has_text(access.purpose)
	finding := {
		"id": "DATA-003",
		"msg": sprintf("the access to `%s` gives no purpose", [access.dataset]),
		"hint": sprintf("add `purpose:` to data_access[%d] saying in plain words why the app needs this data", [i]),
		"field": sprintf("data_access[%d]", [i]),
	}
}

# DATA-004: an access level the dataset registry does not allow.
deny contains finding if {
	some i, access in input.data_access
	allowed := dataset_access(access.dataset)
	not access.access_level in allowed
	finding := {
		"id": "DATA-004",
		"msg": sprintf("`%s` allows %s access only, not %s", [access.dataset, concat(", ", allowed), access.access_level]),
		"hint": sprintf("set `access_level: %s`, or ask the data owner to allow %s in the dataset registry", [allowed[0], access.access_level]),
		"field": sprintf("data_access[%d].access_level", [i]),
	}
}

# DATA-005: a dataset missing from the registry (treated as confidential, read only).
warn contains finding if {
	some i, access in input.data_access
	not org.datasets[access.dataset]
	finding := {
		"id": "DATA-005",
		"msg": sprintf("`%s` is not in the org's dataset registry, so it counts as confidential and read-only", [access.dataset]),
		"hint": "check the dataset's name, or ask the platform team to register it in levee.org.yaml",
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}

# DATA-006: the app's own classification is above what its tier may handle.
deny contains finding if {
	max := caps.max_classification
	rank[classification] > rank[max]
	finding := {
		"id": "DATA-006",
		"msg": sprintf("a %s app may handle %s data at most, and this app is classified %s", [tier, max, classification]),
		"hint": sprintf("lower `classification`, or move the app to a tier allowed to handle it: `levee promote --tier %s`", [tier_for(classification)]),
		"field": "lifecycle.tier",
	}
}
