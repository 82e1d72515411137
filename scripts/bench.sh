#!/usr/bin/env bash
# Benchmarks levee's figures. Usage: scripts/bench.sh [function...] (default: all).
# Builds the release binary once; needs hyperfine (Debian: apt-get install -y hyperfine) and,
# for validator_findings, the validators in ${LEVEE_VALIDATORS_BIN:-.venv/bin}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LEVEE="$CARGO_TARGET_DIR/release/levee"
VALIDATORS="${LEVEE_VALIDATORS_BIN:-$ROOT/.venv/bin}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

build_release() {
    if [[ -z "${LEVEE_BUILT:-}" ]]; then
        (cd "$ROOT" && cargo build --release --quiet)
        LEVEE_BUILT=1
    fi
}

# A scaffolded-like app: app.yaml, a node app with its lock file, tests and Dockerfile.
make_app() {
    local app="$1"
    mkdir -p "$app/src" "$app/test"
    cat > "$app/app.yaml" <<'YAML'
# yaml-language-server: $schema=https://levee.dev/schema/manifest.json
name: expense-quick-submit
description: Employees submit expenses for approval.
owner: finance.jdoe@acme.corp
team: finance-ops
kind: form
stack: node
classification: confidential
sso:
  provider: oidc
  groups: [finance]
runtime:
  type: hardened-container
  cpu_limit: 0.25
  mem_limit: 256Mi
  max_runtime_minutes: 60
secrets:
  - name: PAYMENT_API_KEY
    provider: vault
lifecycle:
  tier: sandbox
ci: github
YAML
    echo '{"name":"expense-quick-submit","version":"0.1.0","scripts":{"test":"node --test"}}' > "$app/package.json"
    echo '{"name":"expense-quick-submit","lockfileVersion":3,"packages":{}}' > "$app/package-lock.json"
    echo 'export const ok = true;' > "$app/src/index.js"
    echo 'import test from "node:test";' > "$app/test/index.test.js"
    echo 'FROM node:24-bookworm-slim' > "$app/Dockerfile"
}

# Whole-process median of `levee sync` (files current: the common case in CI and pre-commit),
# of `levee sync --check`, and of a first sync that writes every managed file.
bench_sync() {
    build_release
    local app="$WORK/app"
    make_app "$app"
    "$LEVEE" sync "$app" > /dev/null
    hyperfine --warmup 5 --runs 100 -N --export-json "$WORK/sync.json" \
        "$LEVEE sync $app" \
        "$LEVEE sync --check $app" > /dev/null
    # A first sync that writes every managed file, into a fresh copy of the app each run.
    printf '#!/bin/sh\nrm -rf %s/fresh && cp -r %s %s/fresh && rm -rf %s/fresh/.github %s/fresh/.levee\n' \
        "$WORK" "$app" "$WORK" "$WORK" "$WORK" > "$WORK/prep.sh"
    chmod +x "$WORK/prep.sh"
    hyperfine --warmup 3 --runs 50 -N --export-json "$WORK/fresh.json" \
        --prepare "$WORK/prep.sh" "$LEVEE sync $WORK/fresh" > /dev/null
    python3 - "$WORK/sync.json" "$WORK/fresh.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        cmd = r["command"].split("/release/")[-1].rsplit(" ", 1)[0]
        kind = " (first write)" if path.endswith("fresh.json") else ""
        print(f"bench_sync: {cmd + kind:<28} median {r['median']*1000:.2f} ms  (mean {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms, {len(r['times'])} runs)")
PY
}

# Validator findings: levee's generated workflow against the playbook's example workflow.
count_findings() {
    local file="$1" al zz
    al=$("$VALIDATORS/actionlint" -no-color -oneline "$file" | grep -c . || true)
    zz=$("$VALIDATORS/zizmor" --offline --no-progress --format plain "$file" 2>/dev/null | grep -cE '^(error|warning|help|info)\[' || true)
    echo "actionlint $al, zizmor $zz, total $((al + zz))"
}

validator_findings() {
    build_release
    local app="$WORK/vapp"
    make_app "$app"
    "$LEVEE" sync "$app" > /dev/null
    # The playbook's own example workflow, copied into the repository.
    local playbook="$ROOT/tests/fixtures/playbook-example-workflow.yml"
    echo "validator_findings: playbook example: $(count_findings "$playbook")"
    echo "validator_findings: levee (this app): $(count_findings "$app/.github/workflows/levee.yml")"
}

# Whole-process median of `levee validate` on the playbook's example manifest.
bench_validate() {
    build_release
    hyperfine --warmup 10 --runs 100 -N --export-json "$WORK/validate.json" \
        "$LEVEE validate -q $ROOT/tests/manifests/valid/playbook-example.yaml" > /dev/null
    python3 - "$WORK/validate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"bench_validate: levee validate (one manifest) median {r['median']*1000:.2f} ms  (mean {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms, {len(r['times'])} runs)")
PY
}

# `levee check` as a whole process: one manifest (target < 10 ms), and 1,000 manifests in one
# call (target < 1 s: the policies are compiled once per org config, then each manifest is
# evaluated). The manifests come from the policy corpus (most are denied: exit 1 is expected).
bench_check() {
    build_release
    local corpus="$ROOT/tests/policy/corpus" org="$ROOT/tests/policy/levee.org.yaml"
    local files=("$corpus"/*.yaml) i=0
    mkdir -p "$WORK/apps"
    while (( i < 1000 )); do
        mkdir -p "$WORK/apps/app-$i"
        sed "s/^name: .*/name: app-$i/" "${files[$(( i % ${#files[@]} ))]}" > "$WORK/apps/app-$i/app.yaml"
        i=$(( i + 1 ))
    done
    hyperfine --warmup 10 --runs 100 -N -i --export-json "$WORK/check1.json" \
        "$LEVEE --org $org check --today 2026-03-01 $corpus/kitchen-sink-public-prototype.yaml" > /dev/null
    hyperfine --warmup 2 --runs 10 -N -i --export-json "$WORK/check1000.json" \
        "$LEVEE --org $org check --today 2026-03-01 --format json $(printf '%s ' "$WORK"/apps/app-*)" > /dev/null
    python3 - "$WORK/check1.json" "$WORK/check1000.json" <<'PY'
import json, sys
for path, what in zip(sys.argv[1:], ["one manifest", "1,000 manifests, one call"]):
    r = json.load(open(path))["results"][0]
    print(f"bench_check: levee check ({what}) median {r['median']*1000:.2f} ms  (mean {r['mean']*1000:.2f} ± {r['stddev']*1000:.2f} ms, {len(r['times'])} runs)")
PY
}

if [[ $# -eq 0 ]]; then set -- bench_validate bench_sync validator_findings bench_check; fi
for f in "$@"; do "$f"; done
