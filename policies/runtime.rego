# Runtime caps, egress and sandbox type.
package levee.policy

# METADATA
# title: CPU above the tier's cap
# custom:
#   id: RUN-001
#   severity: deny
deny contains finding if {
	limit := cpu_millicores(field(["runtime", "cpu_limit"], null))
	limit > caps.max_cpu_millicores
	finding := {
		"id": "RUN-001",
		"msg": sprintf("the CPU limit (%vm) is above the %s cap (%vm)", [limit, tier, caps.max_cpu_millicores]),
		"hint": sprintf("set `runtime.cpu_limit` to at most \"%vm\"", [caps.max_cpu_millicores]),
		"field": "runtime.cpu_limit",
	}
}

# METADATA
# title: Memory above the tier's cap
# custom:
#   id: RUN-002
#   severity: deny
deny contains finding if {
	written := field(["runtime", "mem_limit"], null)
	limit := mem_bytes(written)
	limit > caps.max_memory_bytes
	finding := {
		"id": "RUN-002",
		"msg": sprintf("the memory limit (%s) is above the %s cap (%v MiB)", [written, tier, caps.max_memory_bytes / 1048576]),
		"hint": sprintf("set `runtime.mem_limit` to at most %vMi", [caps.max_memory_bytes / 1048576]),
		"field": "runtime.mem_limit",
	}
}

# METADATA
# title: Run time above the tier's cap
# custom:
#   id: RUN-003
#   severity: deny
deny contains finding if {
	minutes := field(["runtime", "max_runtime_minutes"], null)
	is_number(minutes)
	minutes > caps.max_runtime_minutes
	finding := {
		"id": "RUN-003",
		"msg": sprintf("runs may last %v minutes, above the %s cap of %v", [minutes, tier, caps.max_runtime_minutes]),
		"hint": sprintf("set `runtime.max_runtime_minutes` to at most %v", [caps.max_runtime_minutes]),
		"field": "runtime.max_runtime_minutes",
	}
}

# METADATA
# title: Egress to a host not on the approved list
# description: Approved patterns may be `*.acme.corp` wildcards, which cover subdomains only.
# custom:
#   id: RUN-004
#   severity: deny
deny contains finding if {
	some i, host in egress
	not egress_approved(host)
	finding := {
		"id": "RUN-004",
		"msg": sprintf("`%s` is not an approved outbound destination", [host]),
		"hint": "remove it, or ask the security team to approve it in levee.org.yaml (`egress.approved`)",
		"field": sprintf("runtime.egress[%d]", [i]),
	}
}

# METADATA
# title: A runtime type the classification does not allow
# description: The default runtime type is sandboxed-container.
# custom:
#   id: RUN-005
#   severity: deny
deny contains finding if {
	kind := field(["runtime", "type"], "sandboxed-container")
	allowed := object.get(org, ["allowed_runtimes", classification], [])
	not kind in allowed
	finding := {
		"id": "RUN-005",
		"msg": sprintf("a %s app may not run in a %s", [classification, kind]),
		"hint": sprintf("set `runtime.type` to one of: %s", [concat(", ", allowed)]),
		"field": "runtime.type",
	}
}

# METADATA
# title: A setting's URL points at a host the app may not reach
# description: A setting whose value is an http(s) URL names a host `runtime.egress` does not allow.
# custom:
#   id: RUN-007
#   severity: deny
deny contains finding if {
	some name, value in field(["settings"], {})
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
	some pattern in field(["runtime", "egress"], [])
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
