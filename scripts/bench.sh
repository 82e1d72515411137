#!/usr/bin/env bash
# Benchmarks levee's figures. Usage: scripts/bench.sh [function...] (default: all).
# Builds the release binary once; needs hyperfine (Debian: apt-get install -y hyperfine) and,
# for validator_findings, the validators in ${LEVEE_VALIDATORS_BIN:-.venv/bin}.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
LEVEE="$CARGO_TARGET_DIR/release/levee"
VALIDATORS="${LEVEE_VALIDATORS_BIN:-$ROOT/.venv/bin}"
# shellcheck source=scripts/dev-null.sh
. "$ROOT/scripts/dev-null.sh"
ensure_dev_null
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

# `levee new --no-input` (whole process) beside cookiecutter rendering the same template.
bench_new() {
  build_release
  local LEVEE_BIN="$LEVEE"
  command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }
  # The template: form-node of the built-in pack when it exists, else the test fixture pack.
  local pack="" tid="form-node"
  if "$LEVEE_BIN" templates list --format json | grep -q '"id": "form-node"'; then
    pack="builtin"; local src="$ROOT/templates"
  else
    pack="$ROOT/tests/fixtures/packs/basic"; local src="$pack"
  fi
  # cookiecutter in a venv (pinned), with the same files: layers then the template's own,
  # .jinja files rendered, the rest copied without rendering.
  if [ ! -x "$WORK/venv/bin/cookiecutter" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet cookiecutter==2.6.0
  fi
  local cc="$WORK/cc-template"
  mkdir -p "$cc/{{cookiecutter.name}}"
  for layer in $(sed -n 's/^include: \[\(.*\)\]/\1/p' "$src/$tid/template.yaml" | tr ',' ' ') "$tid"; do
    cp -a "$src/$layer/files/." "$cc/{{cookiecutter.name}}/"
  done
  find "$cc" -name '*.jinja' | while read -r f; do
    sed -e 's/app\.name/cookiecutter.name/g; s/app\.description/cookiecutter.description/g; s/app\.[a-z_.]*/cookiecutter.name/g' "$f" > "${f%.jinja}"; rm "$f"
  done
  # Conditional dirs are a levee feature: dropped; templated names use cookiecutter's variable.
  find "$cc" -depth -name '*{%*' -exec rm -rf {} +
  find "$cc" -depth -name '*{{ app.*' | while read -r f; do
    d=$(dirname "$f"); b=$(basename "$f"); mv "$f" "$d/$(echo "$b" | sed 's/app\.[a-z_.]*/cookiecutter.name/g')"
  done
  printf '{"name": "bench-app", "description": "bench", "_copy_without_render": ["*.png", "*.ts", "*.json", "*.lock", "*.py", "*.md", "Dockerfile"]}\n' > "$cc/cookiecutter.json"
  local files; files=$(find "$cc/{{cookiecutter.name}}" -type f | wc -l)
  echo "bench_new: template $tid from $pack ($files files)"
  pushd "$WORK" >/dev/null
  "$WORK/venv/bin/cookiecutter" --no-input -o "$WORK/check-cc" "$cc" >/dev/null || { echo "cookiecutter cannot render the converted template" >&2; exit 2; }
  hyperfine --warmup 3 --runs 30 --export-json "$WORK/new.json" \
    --prepare "rm -rf $WORK/out-levee $WORK/out-cc" \
    -n "levee new --no-input" \
    "$LEVEE_BIN new $WORK/out-levee --no-input --templates $pack --template $tid --name bench-app --owner bench@acme.corp --classification internal --sso-group g" \
    -n "cookiecutter" \
    "$WORK/venv/bin/cookiecutter --no-input -o $WORK/out-cc $cc"
  python3 - "$WORK/new.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']}: median {r['median']*1000:.1f} ms")
PY
  "$LEVEE_BIN" new "$WORK/size-app" --no-input --templates "$pack" --template "$tid" --name bench-app \
    --owner bench@acme.corp --classification internal --sso-group g >/dev/null
  popd >/dev/null
  echo "  generated app before npm ci: $(du -sk "$WORK/size-app" | cut -f1) KiB, $(find "$WORK/size-app" -type f | wc -l) files"
}

# report NAME JSON: one line per hyperfine result.
report() {
    python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
for r in json.load(open(path))["results"]:
    print(f"{name}: {r['command'].split('/release/')[-1][:70]}: median {r['median']*1000:.2f} ms (min {r['min']*1000:.2f}, {len(r['times'])} runs)")
PY
}

# `levee catalog scan` over 1,000 app directories (one app.yaml each, in 100 repositories), into
# an empty catalog each run (every app registered and written). Target: under 2 s.
bench_catalog_scan() {
  build_release
  local repos="$WORK/scan-repos"
  python3 - "$repos" "$ROOT/tests/manifests/valid/playbook-example.yaml" <<'PY'
import os, sys
root, example = sys.argv[1], open(sys.argv[2]).read()
for i in range(1000):
    d = os.path.join(root, f"repo-{i // 10:03d}", f"app-{i % 10}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "app.yaml"), "w").write(example.replace("expense-quick-submit", f"bench-app-{i:04d}"))
PY
  hyperfine --style none --warmup 2 --runs 10 -N --prepare "rm -rf $WORK/scan-catalog" \
    --export-json "$WORK/scan.json" \
    "$LEVEE -q catalog scan --catalog $WORK/scan-catalog $repos" >/dev/null
  report bench_catalog_scan "$WORK/scan.json"
}

# `levee lifecycle` over a 10,000-entry catalog with a 10,000-row metrics CSV (decisions for
# every app; exit 1 because some need action, hence -i). Target: under 1 s.
bench_lifecycle() {
  build_release
  local app="$WORK/lc-app" cat="$WORK/lc-catalog"
  mkdir -p "$app"
  cp "$ROOT"/tests/manifests/valid/playbook-example.yaml "$app/app.yaml"
  "$LEVEE" -q catalog register --catalog "$WORK/lc-seed" "$app"
  python3 - "$WORK/lc-seed/expense-quick-submit.json" "$cat" "$WORK/lc-metrics.csv" <<'PY'
import json, os, sys
seed, out, metrics = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
rows = ["app_id,active_users_month,p95_latency_ms,monthly_cost_usd,open_high_vulns,open_critical_vulns"]
for i in range(10000):
    e = dict(seed, id=f"bench-app-{i:05d}", name=f"bench-app-{i:05d}")
    e["expires"] = f"2026-{1 + i % 12:02d}-15"
    e["tier"] = ["prototype", "sandbox", "production"][i % 3]
    e["data_access"] = []
    json.dump(e, open(os.path.join(out, e["id"] + ".json"), "w"), indent=2)
    rows.append(f"{e['id']},{i % 2000},{i % 900},{i % 700}.5,0,{1 if i % 97 == 0 else 0}")
open(metrics, "w").write("\n".join(rows) + "\n")
PY
  hyperfine --style none --warmup 2 --runs 10 -N -i --export-json "$WORK/lifecycle.json" \
    "$LEVEE lifecycle --catalog $cat --metrics $WORK/lc-metrics.csv --format json" >/dev/null
  report bench_lifecycle "$WORK/lifecycle.json"
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

# levee sbom vs cyclonedx-npm --package-lock-only on a 505-package lock, and vs cyclonedx-py on a
# 78-package requirements export of a uv lock (cyclonedx-py has no uv.lock reader; it runs without
# validation, its fast mode). Target: at least 20x faster than each, under 50 ms.
bench_sbom() {
  build_release
  cd "$ROOT"
  local levee="$LEVEE" F=tests/fixtures/sbom out
  # The anchors, installed once into .cache/ (npm and PyPI): cyclonedx-npm 6.0.1, cyclonedx-py 7.5.0.
  local npm="${ANCHOR_BIN:-.cache/anchors/node_modules/.bin}/cyclonedx-npm"
  local py="${PY_BIN:-.cache/anchors/venv/bin}/cyclonedx-py"
  [ -x "$npm" ] || npm install --silent --prefix .cache/anchors @cyclonedx/cyclonedx-npm@6.0.1 >/dev/null
  if [ ! -x "$py" ]; then
    python3 -m venv .cache/anchors/venv && .cache/anchors/venv/bin/pip install --quiet cyclonedx-bom==7.5.0
  fi
  out=$(mktemp -d)
  hyperfine -N -w 3 -r 20 --export-json "$out/npm.json" \
    -n "levee sbom (npm, 505 packages)" "$levee sbom $F/npm-big -o $out/l.json" \
    -n "cyclonedx-npm --package-lock-only" "bash -c 'cd $F/npm-big && $PWD/$npm --package-lock-only --output-file $out/c.json'"
  hyperfine -N -w 3 -r 20 --export-json "$out/py.json" \
    -n "levee sbom (requirements, 78 packages)" "$levee sbom --lockfile $F/requirements-uv/requirements.txt -o $out/l.json" \
    -n "cyclonedx-py requirements" "$py requirements --no-validate $F/requirements-uv/requirements.txt -o $out/c.json" \
    -n "levee sbom (uv.lock, 78 packages)" "$levee sbom $F/uv -o $out/l.json"
  python3 - "$out" <<'PY'
import json, sys, statistics
d = sys.argv[1]
for f in ("npm.json", "py.json"):
    rs = json.load(open(f"{d}/{f}"))["results"]
    med = {r["command"]: statistics.median(r["times"]) for r in rs}
    names = list(med)
    print(f"{names[0]}: {med[names[0]]*1000:.1f} ms; {names[1]}: {med[names[1]]*1000:.1f} ms; ratio {med[names[1]]/med[names[0]]:.0f}x")
    for n in names[2:]:
        print(f"{n}: {med[n]*1000:.1f} ms")
PY
  rm -rf "$out"
}

# `levee upgrade` (whole process) from a git pack tagged v1.0.0 (the built-in templates) to v1.1.0
# (a README line, a new shared file, an edited shared file), over 200 apps scaffolded with
# `levee new` and edited by their owners, and over one app. Each run starts from a fresh copy of
# the edited fleet (hyperfine --prepare, not timed). Targets: 200 apps under 3 s, one under 50 ms.
bench_upgrade() {
  build_release
  command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }
  local pack="$WORK/upgrade-pack" g=(git -c user.email=bench@acme.corp -c user.name=bench -c commit.gpgsign=false -c tag.gpgsign=false)
  rm -rf "$pack" && cp -a "$ROOT/templates" "$pack"
  (cd "$pack" && "${g[@]}" init -q && "${g[@]}" add -A && "${g[@]}" commit -qm v1.0.0 && "${g[@]}" tag v1.0.0)
  sed -i 's/^version: 1.0.0/version: 1.1.0/' "$pack/pack.yaml"
  printf '\n## Upgrading\n\nRun `levee upgrade` to bring in template fixes.\n' >> "$pack/dashboard-node/files/README.md.jinja"
  printf '\n## Upgrading\n\nRun `levee upgrade` to bring in template fixes.\n' >> "$pack/form-python/files/README.md.jinja"
  printf 'coverage/\n' >> "$pack/_node-common/files/.dockerignore"
  printf '# Security contact: see the catalog entry.\n' > "$pack/_node-common/files/SECURITY.md"
  printf '# Security contact: see the catalog entry.\n' > "$pack/_python-common/files/SECURITY.md"
  (cd "$pack" && "${g[@]}" add -A && "${g[@]}" commit -qm v1.1.0 && "${g[@]}" tag v1.1.0)
  # 1,000 apps, half dashboard-node and half form-python, each edited by its owner. The 200-app
  # row upgrades the first 200 of them.
  local fleet="$WORK/upgrade-fleet.orig" fleet200="$WORK/upgrade-fleet200.orig"
  rm -rf "$fleet" "$fleet200" && mkdir -p "$fleet" "$fleet200"
  seq 1 1000 | xargs -P "$(nproc)" -I{} sh -c '
    i={}; if [ $((i % 2)) -eq 0 ]; then k=dashboard; s=node; else k=form; s=python; fi
    "$0" new "$1/app-$i" --no-input --templates "$2@v1.0.0" --kind $k --stack $s \
      --name "app-$i" --owner bench@acme.corp --team bench --classification internal --sso-group g >/dev/null
    # The owner edits the README intro and adds a file of their own.
    sed -i "3s/.*/Our team dashboard number $i./" "$1/app-$i/README.md"
    echo "notes $i" > "$1/app-$i/NOTES.md"
  ' "$LEVEE" "$fleet" "$pack"
  for i in $(seq 1 200); do cp -a "$fleet/app-$i" "$fleet200/"; done
  echo "bench_upgrade: $(ls "$fleet" | wc -l) apps, $(find "$fleet" -type f | wc -l) files; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # Separate runs, so each --prepare copies only the apps that run upgrades.
  hyperfine --warmup 1 --runs 5 --export-json "$WORK/upgrade1000.json" \
    --prepare "rm -rf $WORK/upgrade-fleet && cp -a $fleet $WORK/upgrade-fleet && sync" \
    -n "levee upgrade (1,000 apps)" "$LEVEE upgrade --no-input $WORK/upgrade-fleet"
  report bench_upgrade "$WORK/upgrade1000.json"
  hyperfine --warmup 1 --runs 10 --export-json "$WORK/upgrade.json" \
    --prepare "rm -rf $WORK/upgrade-fleet && cp -a $fleet200 $WORK/upgrade-fleet && sync" \
    -n "levee upgrade (200 apps)" "$LEVEE upgrade --no-input $WORK/upgrade-fleet"
  report bench_upgrade "$WORK/upgrade.json"
  hyperfine --warmup 3 --runs 30 --export-json "$WORK/upgrade-one.json" \
    --prepare "rm -rf $WORK/upgrade-one && mkdir $WORK/upgrade-one && cp -a $fleet/app-1 $WORK/upgrade-one/" \
    -n "levee upgrade (1 app)" "$LEVEE upgrade --no-input $WORK/upgrade-one/app-1"
  report bench_upgrade "$WORK/upgrade-one.json"
  echo "bench_upgrade: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
  # Correctness of what was timed: every app upgraded, none with conflicts.
  rm -rf "$WORK/upgrade-fleet" && cp -a "$fleet" "$WORK/upgrade-fleet"
  "$LEVEE" upgrade --no-input "$WORK/upgrade-fleet" | tail -1
}

if [[ $# -eq 0 ]]; then set -- bench_validate bench_new bench_sync validator_findings bench_check bench_sbom bench_catalog_scan bench_lifecycle bench_upgrade; fi
for f in "$@"; do "$f"; done
