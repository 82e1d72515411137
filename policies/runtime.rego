# Runtime caps, egress and sandbox type.
package levee.policy

# RUN-001: CPU above the tier's cap.
deny contains finding if {
	limit := cpu_millicores(input.runtime.cpu_limit)
	limit > caps.max_cpu_millicores
	finding := {
		"id": "RUN-001",
		"msg": sprintf("the CPU limit (%vm) is above the %s cap (%vm)", [limit, tier, caps.max_cpu_millicores]),
		"hint": sprintf("set `runtime.cpu_limit` to at most \"%vm\"", [caps.max_cpu_millicores]),
		"field": "runtime.cpu_limit",
	}
}

# RUN-002: memory above the tier's cap.
deny contains finding if {
	limit := mem_bytes(input.runtime.mem_limit)
	limit > caps.max_memory_bytes
	finding := {
		"id": "RUN-002",
		"msg": sprintf("the memory limit (%s) is above the %s cap (%v MiB)", [input.runtime.mem_limit, tier, caps.max_memory_bytes / 1048576]),
		"hint": sprintf("set `runtime.mem_limit` to at most %vMi", [caps.max_memory_bytes / 1048576]),
		"field": "runtime.mem_limit",
	}
}

# RUN-003: maximum run time above the tier's cap.
deny contains finding if {
	minutes := input.runtime.max_runtime_minutes
	minutes > caps.max_runtime_minutes
	finding := {
		"id": "RUN-003",
		"msg": sprintf("runs may last %v minutes, above the %s cap of %v", [minutes, tier, caps.max_runtime_minutes]),
		"hint": sprintf("set `runtime.max_runtime_minutes` to at most %v", [caps.max_runtime_minutes]),
		"field": "runtime.max_runtime_minutes",
	}
}

# RUN-004: egress to a destination the org has not approved.
deny contains finding if {
	some i, host in input.runtime.egress
	not egress_approved(host)
	finding := {
		"id": "RUN-004",
		"msg": sprintf("`%s` is not an approved outbound destination", [host]),
		"hint": "remove it, or ask the security team to approve it in levee.org.yaml (`egress.approved`)",
		"field": sprintf("runtime.egress[%d]", [i]),
	}
}

# RUN-005: a runtime type the classification does not allow (the default is sandboxed-container).
deny contains finding if {
	kind := object.get(object.get(input, "runtime", {}), "type", "sandboxed-container")
	allowed := object.get(org, ["allowed_runtimes", classification], [])
	not kind in allowed
	finding := {
		"id": "RUN-005",
		"msg": sprintf("a %s app may not run in a %s", [classification, kind]),
		"hint": sprintf("set `runtime.type` to one of: %s", [concat(", ", allowed)]),
		"field": "runtime.type",
	}
}

# RUN-007: a setting whose value is an http(s) URL names a host runtime.egress does not allow.
deny contains finding if {
	some name, value in object.get(input, "settings", {})
	host := url_host(value)
	not egress_allows(host)
	finding := {
		"id": "RUN-007",
		"msg": sprintf("the setting %v points at `%s`, a host the app may not reach (it is not in `runtime.egress`)", [name, host]),
		"hint": sprintf("add `%s` to `runtime.egress` (it must be an approved destination), or point %v at a host listed there", [host, name]),
		"field": sprintf("settings.%v", [name]),
	}
}

# Does the app's own egress list (`api.acme.corp`, `*.acme.corp`) cover a host?
egress_allows(host) if {
	some pattern in object.get(object.get(input, "runtime", {}), "egress", [])
	host_matches(pattern, host)
}

# The lowercased host of an http(s) URL, read as levee reads a setting's value (and as URL
# parsers read http(s) URLs): after the scheme, up to the first `/`, `\`, `?` or `#`; after any
# `user@`; before any `:port`; without a trailing dot. Undefined for anything else.
url_host(url) := host if {
	is_string(url)
	u := lower(url)
	some scheme in ["https://", "http://"]
	startswith(u, scheme)
	rest := replace(replace(replace(trim_prefix(u, scheme), "\\", "/"), "?", "/"), "#", "/")
	authority := split(rest, "/")[0]
	parts := split(authority, "@")
	host := trim_suffix(split(parts[count(parts) - 1], ":")[0], ".")
}
