# Data access rules.
package levee.policy

# METADATA
# title: The tier may not touch data this sensitive
# description: A prototype with confidential data, a sandbox with restricted data.
# custom:
#   id: DATA-001
#   severity: deny
deny contains finding if {
	some i, name in dataset_names
	not name in refused_datasets
	ds := dataset_class(name)
	ceiling := caps.max_classification
	rank[ds] > rank[ceiling]
	finding := {
		"id": "DATA-001",
		"msg": sprintf("a %s app may not use the %s dataset `%s`: %s apps may touch %s data at most", [tier, ds, name, tier, ceiling]),
		"hint": sprintf("remove this dataset, or move the app to a tier allowed to handle %s data: `levee promote --tier %s`", [ds, tier_for(ds)]),
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}

# METADATA
# title: The app's classification is below a dataset it uses
# custom:
#   id: DATA-002
#   severity: deny
deny contains finding if {
	some name in dataset_names
	not name in refused_datasets
	ds := dataset_class(name)
	rank[ds] > rank[classification]
	finding := {
		"id": "DATA-002",
		"msg": sprintf("the app is classified %s but uses the %s dataset `%s`", [classification, ds, name]),
		"hint": sprintf("set `classification: %s` (an app is as sensitive as the most sensitive data it touches)", [ds]),
		"field": "classification",
	}
}

# METADATA
# title: Data access without a purpose
# custom:
#   id: DATA-003
#   severity: deny
deny contains finding if {
	some i, access in data_access
	not has_text(object.get(access, "purpose", null))
	name := object.get(dataset_names, i, "")
	finding := {
		"id": "DATA-003",
		"msg": sprintf("the access to `%s` gives no purpose", [name]),
		"hint": sprintf("add `purpose:` to data_access[%d] saying in plain words why the app needs this data", [i]),
		"field": sprintf("data_access[%d].purpose", [i]),
	}
}

# METADATA
# title: An access level the dataset registry does not allow
# custom:
#   id: DATA-004
#   severity: deny
deny contains finding if {
	some i, access in data_access
	name := dataset_names[i]
	not name in refused_datasets
	allowed := dataset_access(name)
	level := access.access_level
	not level in allowed
	finding := {
		"id": "DATA-004",
		"msg": sprintf("`%s` allows %s access only, not %s", [name, concat(", ", allowed), level]),
		"hint": sprintf("set `access_level: %s`, or ask the data owner to allow %s in the dataset registry", [allowed[0], level]),
		"field": sprintf("data_access[%d].access_level", [i]),
	}
}

# METADATA
# title: A dataset missing from the registry
# description: >-
#   It counts as restricted for confidential and restricted apps, as confidential for the others,
#   and as read-only.
# custom:
#   id: DATA-005
#   severity: warn
warn contains finding if {
	some i, name in dataset_names
	not registered(name)
	not name in refused_datasets
	finding := {
		"id": "DATA-005",
		"msg": sprintf("`%s` is not in the org's dataset registry, so it counts as %s and read-only", [name, unregistered_class]),
		"hint": "check the dataset's name, or ask the platform team to register it in levee.org.yaml",
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}

# METADATA
# title: The app's classification is above what its tier may handle
# custom:
#   id: DATA-006
#   severity: deny
deny contains finding if {
	ceiling := caps.max_classification
	rank[classification] > rank[ceiling]
	finding := {
		"id": "DATA-006",
		"msg": sprintf("a %s app may handle %s data at most, and this app is classified %s", [tier, ceiling, classification]),
		"hint": sprintf("lower `classification`, or move the app to a tier allowed to handle it: `levee promote --tier %s`", [tier_for(classification)]),
		"field": "lifecycle.tier",
	}
}

# METADATA
# title: A dataset name that is not a slug
# description: Dataset names are lowercase letters, digits and hyphens, as registered.
# custom:
#   id: DATA-007
#   severity: deny
deny contains finding if {
	some name in refused_datasets
	count(similar_datasets[name]) == 0
	some i, named in dataset_names
	named == name
	finding := {
		"id": "DATA-007",
		"msg": sprintf("`%s` is not a dataset name: dataset names are lowercase letters, digits and hyphens", [name]),
		"hint": "write the dataset's name exactly as the org's dataset registry (levee.org.yaml) lists it",
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}

# METADATA
# title: An unregistered dataset that looks like a registered one
# description: The same once case, spacing and Unicode compatibility forms are folded, or one edit away.
# custom:
#   id: DATA-008
#   severity: deny
deny contains finding if {
	some name in refused_datasets
	similar := similar_datasets[name]
	count(similar) > 0
	some i, named in dataset_names
	named == name
	finding := {
		"id": "DATA-008",
		"msg": sprintf("`%s` is not a registered dataset, but `%s` is", [name, concat("`, `", similar)]),
		"hint": sprintf("did you mean `%s`? Write `dataset: %s`", [similar[0], similar[0]]),
		"field": sprintf("data_access[%d].dataset", [i]),
	}
}
