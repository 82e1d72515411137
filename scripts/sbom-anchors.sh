#!/usr/bin/env bash
# Regenerates tests/fixtures/sbom/*/anchor-purls.txt: the purl sets that the reference tools
# (cyclonedx-npm, cyclonedx-py, cargo-cyclonedx) produce on the same lock files. Run by hand when a
# fixture changes; the test suite compares levee's purls against these files.
#   ANCHOR_BIN: dir with cyclonedx-npm (npm i @cyclonedx/cyclonedx-npm@6.0.1)
#   PY_BIN: venv bin with cyclonedx-py (pip install cyclonedx-bom==7.5.0)
#   CARGO_CDX: cargo-cyclonedx binary (cargo install --locked cargo-cyclonedx@0.5.9), optional
set -euo pipefail
cd "$(dirname "$0")/.."
F=tests/fixtures/sbom
ROOT=$PWD
ANCHOR_BIN=${ANCHOR_BIN:-.cache/anchors/node_modules/.bin}
PY_BIN=${PY_BIN:-.venv/bin}
purls() { python3 -c '
import json, sys
def walk(cs):
    for c in cs or []:
        if c.get("purl"): yield c["purl"]
        yield from walk(c.get("components"))
print("\n".join(sorted(set(walk(json.load(sys.stdin).get("components"))))))'; }
# The dependency graph as `from -> to` purl lines (`root` for the project), sorted.
graph() { python3 -c '
import json, sys
d = json.load(sys.stdin)
purl = {}
def walk(cs):
    for c in cs or []:
        purl[c["bom-ref"]] = c.get("purl")
        walk(c.get("components"))
walk(d.get("components"))
purl[d["metadata"]["component"]["bom-ref"]] = "root"
edges = [purl[e["ref"]] + " -> " + purl[t] for e in d.get("dependencies", []) for t in e.get("dependsOn", [])]
print("\n".join(sorted(edges)))'; }
for d in npm-v1 npm-v2-resolved npm-v3 npm-shrinkwrap npm-big js-npm js-ws-npm; do
  (cd "$F/$d" && "$ROOT/$ANCHOR_BIN/cyclonedx-npm" --package-lock-only --output-format JSON 2>/dev/null) | purls > "$F/$d/anchor-purls.txt"
done
# The workspace fixture's graph too: it shows how cyclonedx-npm links the root and its members.
(cd "$F/js-ws-npm" && "$ROOT/$ANCHOR_BIN/cyclonedx-npm" --package-lock-only --output-format JSON 2>/dev/null) | graph > "$F/js-ws-npm/anchor-graph.txt"
# cyclonedx-py 7.5 reads the project only from Poetry 1-style tables: it fails with `KeyError:
# 'name'` on a PEP 621 [project] table and ignores [project].dependencies. Run it on a copy
# whose pyproject states the same dependencies in [tool.poetry] (the lock is unchanged).
P=$(mktemp -d); cp "$F/poetry/poetry.lock" "$P/"
cat > "$P/pyproject.toml" <<'TOML'
[tool.poetry]
name = "vendor-intake"
version = "1.0.0"
description = "Vendor intake form"
authors = []
package-mode = false

[tool.poetry.dependencies]
python = ">=3.11,<4"
flask = "3.0.3"
requests = { version = "2.32.3", extras = ["socks"] }
pydantic = "2.9.2"
Jinja2 = "3.1.4"
"zope.interface" = "7.0.3"

[tool.poetry.group.dev.dependencies]
pytest = "8.3.3"
black = "24.8.0"
TOML
"$PY_BIN/cyclonedx-py" poetry "$P" 2>/dev/null | purls > "$F/poetry/anchor-purls.txt"
"$PY_BIN/cyclonedx-py" poetry --with dev "$P" 2>/dev/null | purls > "$F/poetry/anchor-purls-with-dev.txt"
rm -rf "$P"
"$PY_BIN/cyclonedx-py" pipenv --dev "$F/pipenv" 2>/dev/null | purls > "$F/pipenv/anchor-purls.txt"
"$PY_BIN/cyclonedx-py" requirements "$F/requirements-uv/requirements.txt" 2>/dev/null | purls > "$F/requirements-uv/anchor-purls.txt"
if [ -n "${CARGO_CDX:-}" ]; then
  (cd "$F/cargo" && "$CARGO_CDX" cyclonedx --format json --override-filename anchor >/dev/null 2>&1 && purls < anchor.json > anchor-purls.txt && rm -f anchor.json crates/*/anchor.json)
fi
wc -l "$F"/*/anchor-purls*.txt
