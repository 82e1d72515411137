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
SHM_WORK=""  # the tmpfs directory of bench_new or bench_upgrade, while one is made
trap 'rm -rf "$WORK" ${SHM_WORK:+"$SHM_WORK"}' EXIT
# The processes run as a user's would: RUST_BACKTRACE (set in some shells and CI images) makes
# every internal error value capture a backtrace, which regorus's parser creates while it
# backtracks; the figures are for levee as installed, not under a debugging setting.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
# `$ASIDE DIR...` moves each existing DIR into a new `old.*` directory beside it, for rows that
# write into a directory afresh each run (the trap, or the row, deletes them later). This VM's
# ext4 has no journal, and ext4 without one passes over every inode freed in the last 60 s
# (360 s while its table is being written) when it creates a file: deleting the last run's
# output just before each run measured the deletion as much as the tool, a state no checkout
# is in.
ASIDE="$WORK/aside.sh"
cat > "$ASIDE" <<'SH'
#!/bin/sh
set -e
for d in "$@"; do
  if [ -e "$d" ]; then mv "$d" "$(mktemp -d -p "$(dirname "$d")" old.XXXXXX)/"; fi
done
SH
chmod +x "$ASIDE"
# Every compared row lands in $RESULTS (JSON lines); `scripts/bench.sh table` prints them as the
# README's markdown table. A run of several functions appends to one file, started afresh.
RESULTS="${LEVEE_BENCH_RESULTS:-$CARGO_TARGET_DIR/bench-results.jsonl}"
results_started=""

load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# record WORK TARGET JSON: the first command of a hyperfine export is levee, the others are
# peers; prints the row (median, min, ratio to each peer's median) and appends it to $RESULTS.
record() {
    if [[ -z "$results_started" ]]; then
        mkdir -p "$(dirname "$RESULTS")"
        printf '{"started": "%s", "load": "%s", "cpus": %s, "host": "%s"}\n' \
            "$(date -u +%Y-%m-%dT%H:%MZ)" "$(load_now)" "$(nproc)" "$(uname -sm)" > "$RESULTS"
        results_started=1
    fi
    python3 - "$1" "$2" "$3" "$(load_now)" "$RESULTS" <<'PY2'
import json, sys
work, target, path, load, out = sys.argv[1:]
rs = json.load(open(path))["results"]
def row(r):
    name = r["command"]
    return {"name": name, "median": r["median"], "min": r["min"], "runs": len(r["times"])}
levee, peers = row(rs[0]), [row(r) for r in rs[1:]]
line = {"work": work, "target": target, "load": load, "levee": levee, "peers": peers}
with open(out, "a") as f:
    f.write(json.dumps(line) + "\n")
ms = lambda t: f"{t*1000:.2f} ms" if t < 1 else f"{t:.2f} s"
print(f"{work}: levee median {ms(levee['median'])} (min {ms(levee['min'])}, {levee['runs']} runs; target {target}; load {load})")
for p in peers:
    print(f"    {p['name']}: median {ms(p['median'])} (min {ms(p['min'])}) -> levee is {p['median']/levee['median']:.0f}x faster (median/median)")
PY2
}

# `scripts/bench.sh table`: the markdown table of the last run's rows, for the README.
table() {
    python3 - "$RESULTS" <<'PY2'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
head, rows = lines[0], lines[1:]
ms = lambda t: f"{t*1000:.1f} ms" if t < 1 else f"{t:.2f} s"
print(f"Measured {head['started']} on {head['cpus']} cores ({head['host']}): "
      f"load average {head['load']} at the start (the load counts the benchmark itself); each row "
      "gives the load when it finished. "
      "Whole process, hyperfine; median and min in ms.")
print()
print("| work | levee median (min) | target | peer | peer median (min) | ratio (median) | load |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    l = r["levee"]
    peers = r["peers"] or [None]
    for i, p in enumerate(peers):
        first = i == 0
        cells = [r["work"] if first else "", f"{ms(l['median'])} ({ms(l['min'])})" if first else "",
                 r["target"] if first else ""]
        if p:
            cells += [p["name"], f"{ms(p['median'])} ({ms(p['min'])})", f"{p['median']/l['median']:.0f}x"]
        else:
            cells += ["", "", ""]
        cells.append(r["load"] if first else "")
        print("| " + " | ".join(cells) + " |")
PY2
}


# The peers levee is compared with, installed once into a bench-only location (never the test
# .venv): a venv with copier, cookiecutter, cyclonedx-py and the reference OPA library
# (opa_bindings, unpacked from its hash-pinned wheel as scripts/test.sh does), and an npm prefix
# with cyclonedx-npm. Override the location with LEVEE_BENCH_PEERS.
PEERS="${LEVEE_BENCH_PEERS:-$CARGO_TARGET_DIR/bench-peers}"
PEER_PY="$PEERS/venv/bin/python"
setup_peers() {
    if [[ -n "${PEERS_READY:-}" ]]; then return; fi
    local stamp="$PEERS/.installed-v1"
    if [[ ! -f "$stamp" ]]; then
        rm -rf "$PEERS" && mkdir -p "$PEERS"
        python3 -m venv "$PEERS/venv"
        "$PEERS/venv/bin/pip" install --quiet --disable-pip-version-check \
            copier==9.19.1 cookiecutter==2.6.0 cyclonedx-bom==7.5.0 pyyaml
        local site wheels
        site=$("$PEER_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        wheels=$(mktemp -d)
        "$PEERS/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.14 --platform manylinux_2_34_x86_64 --require-hashes \
            -r "$ROOT/scripts/requirements-opa.txt" -d "$wheels"
        "$PEER_PY" -m zipfile -e "$wheels"/opa_golib_python_bindings-*.whl "$site"
        rm -rf "$wheels"
        npm install --silent --no-audit --no-fund --prefix "$PEERS/npm" @cyclonedx/cyclonedx-npm@6.0.1 >/dev/null
        touch "$stamp"
    fi
    "$PEER_PY" -c 'from opa_bindings import OpaEngine' \
        || { echo "error: the reference OPA does not load from $PEERS/venv" >&2; exit 2; }
    PEERS_READY=1
}

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

# `levee new --no-input` (whole process) beside copier and cookiecutter writing the same files:
# their templates are built from an app levee generated (scripts/bench-templates.py), and each
# peer's output is compared with levee's (diff -r) before anything is timed.
bench_new() {
  build_release
  setup_peers
  local tid=webhook-node ref="$WORK/new-ref" files
  local args=(--no-input --template "$tid" --name bench-app --owner bench@acme.corp --classification internal --sso-group g
    --setting DOWNSTREAM_URL=https://api.payments.example.com/events)
  rm -rf "$ref" && "$LEVEE" new "$ref" "${args[@]}" >/dev/null
  files=$(find "$ref" -type f | wc -l)
  "$PEER_PY" "$ROOT/scripts/bench-templates.py" "$ref" bench-app "$WORK/copier-tpl" "$WORK/cc-tpl" >/dev/null
  local copier=("$PEERS/venv/bin/copier" copy --quiet --defaults --data name=bench-app "$WORK/copier-tpl")
  local cc=("$PEERS/venv/bin/cookiecutter" --no-input -o "$WORK/out-cc" "$WORK/cc-tpl")
  rm -rf "$WORK/out-copier" "$WORK/out-cc"
  "${copier[@]}" "$WORK/out-copier" && "${cc[@]}" >/dev/null
  diff -r "$ref" "$WORK/out-copier" >/dev/null || { echo "error: copier's output differs from levee's" >&2; exit 2; }
  diff -r "$ref" "$WORK/out-cc/bench-app" >/dev/null || { echo "error: cookiecutter's output differs from levee's" >&2; exit 2; }
  # Each run's output is moved aside ($ASIDE), not deleted, before the next run (all three
  # tools alike).
  hyperfine -N --warmup 3 --runs "${NEW_RUNS:-40}" --export-json "$WORK/new.json" \
    --prepare "$ASIDE $WORK/out-levee $WORK/out-copier $WORK/out-cc" \
    -n "levee new --no-input ($tid, $files files)" "$LEVEE new $WORK/out-levee ${args[*]}" \
    -n "copier 9.19.1 (same files)" "${copier[*]} $WORK/out-copier" \
    -n "cookiecutter 2.6.0 (same files)" "${cc[*]}" >/dev/null
  record "levee new --no-input, one app ($files files)" "< 8 ms, >= 100x copier" "$WORK/new.json"
  # The same three, writing to memory (tmpfs): the row above swings with the state of the disk's
  # file system (creating 90 files and directories where many were just deleted), this one
  # shows each tool's own work.
  SHM_WORK=$(mktemp -d -p /dev/shm 2>/dev/null) || { SHM_WORK=""; echo "bench_new: no /dev/shm, no tmpfs row"; return; }
  local shm=$SHM_WORK
  hyperfine -N --warmup 3 --runs "${NEW_RUNS:-40}" --export-json "$WORK/new-shm.json" \
    --prepare "rm -rf $shm/out-levee $shm/out-copier $shm/out-cc" \
    -n "levee new --no-input ($tid, $files files, tmpfs)" "$LEVEE new $shm/out-levee ${args[*]}" \
    -n "copier 9.19.1 (same files, tmpfs)" "${copier[*]} $shm/out-copier" \
    -n "cookiecutter 2.6.0 (same files, tmpfs)" "$PEERS/venv/bin/cookiecutter --no-input -o $shm/out-cc $WORK/cc-tpl" >/dev/null
  rm -rf "$shm"
  record "levee new --no-input, one app ($files files), written to tmpfs" "-" "$WORK/new-shm.json"
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
# an empty catalog each run (every app registered: its entry written and synced, the directory
# synced once at the end).
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
  hyperfine --style none --warmup 2 --runs "${SCAN_RUNS:-20}" -N --prepare "rm -rf $WORK/scan-catalog" \
    --export-json "$WORK/scan.json" \
    -n "levee catalog scan (1,000 apps)" "$LEVEE -q catalog scan --catalog $WORK/scan-catalog $repos" >/dev/null
  record "levee catalog scan, 1,000 apps into an empty catalog" "< 250 ms" "$WORK/scan.json"
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

# `levee check` as a whole process: one manifest, and 1,000 manifests in one call, passed as
# files (a directory argument would be walked for every app.yaml below it), with levee's
# embedded policies and the test org; then levee and the reference OPA (OPA v1.20 as a library,
# driven from Python by scripts/opa-oracle.py: one process loads the bundle, compiles it once and
# evaluates every manifest) on the same bundle, an app's policy/ as `levee sync` writes it, over
# the same manifests. The manifests come from the policy corpus (most are denied: exit 1 is
# expected, hence -i).
bench_check() {
    build_release
    setup_peers
    local corpus="$ROOT/tests/policy/corpus" org="$ROOT/tests/policy/levee.org.yaml"
    local files=("$corpus"/*.yaml) i=0
    rm -rf "$WORK/apps" && mkdir -p "$WORK/apps"
    while (( i < 1000 )); do
        mkdir -p "$WORK/apps/app-$i"
        sed "s/^name: .*/name: app-$i/" "${files[$(( i % ${#files[@]} ))]}" > "$WORK/apps/app-$i/app.yaml"
        i=$(( i + 1 ))
    done
    local manifests; manifests=$(printf '%s ' "$WORK"/apps/app-*/app.yaml)
    local one="$corpus/kitchen-sink-public-prototype.yaml"
    # The bundle: a confidential app's policy/ (every module, sensitive.rego included).
    local bapp="$WORK/bundle-app"
    rm -rf "$bapp" && mkdir -p "$bapp" && cp "$corpus/clean-confidential-sandbox.yaml" "$bapp/app.yaml"
    # sync writes the bundle and exits 1 on the app's own denial (it expired: the corpus is dated).
    "$LEVEE" --org "$org" sync "$bapp" >/dev/null 2>&1 || true
    local bundle="$bapp/policy"
    [[ -f "$bundle/.manifest" ]] || { echo "error: levee sync wrote no bundle in $bundle" >&2; exit 2; }
    # The reference OPA's request: the same bundle and manifests, the same day.
    local now_ns=$(( $(date -u -d 2026-03-01 +%s) * 1000000000 ))
    "$PEER_PY" - "$bundle" "$now_ns" "$WORK/opa-one.json" "$WORK/opa-1000.json" "$one" $manifests <<'PY2'
import json, sys
bundle, now_ns, one_out, all_out, one, *paths = sys.argv[1:]
def req(ps):
    return {"jobs": [{"eval": bundle, "now_ns": int(now_ns), "inputs": [{"yaml": open(p).read()} for p in ps]}]}
json.dump(req([one]), open(one_out, "w"))
json.dump(req(paths), open(all_out, "w"))
PY2
    # Both engines give the same denials on every manifest levee finds valid (an invalid one is
    # reported as such by levee and never evaluated; OPA evaluates whatever it is given).
    "$LEVEE" --org "$org" check --today 2026-03-01 --bundle "$bundle" --format json $manifests > "$WORK/levee-check.json" || true
    "$PEER_PY" "$ROOT/scripts/opa-oracle.py" < "$WORK/opa-1000.json" > "$WORK/opa-check.json"
    python3 - "$WORK/levee-check.json" "$WORK/opa-check.json" <<'PY2'
import json, sys
levee = json.load(open(sys.argv[1]))["apps"]
opa = json.load(open(sys.argv[2]))["jobs"][0]["results"]
valid = [(l, o) for l, o in zip(levee, opa) if l["valid"]]
ids = lambda fs: sorted(f["id"] for f in fs if f.get("level", "deny") == "deny")
differ = [l["path"] for l, o in valid if ids(l["findings"]) != ids(o.get("deny", []))]
print(f"bench_check: {len(valid)} of {len(levee)} manifests valid; denials: levee "
      f"{sum(len(ids(l['findings'])) for l, _ in valid)}, reference OPA {sum(len(o.get('deny', [])) for _, o in valid)}")
if differ:
    sys.exit(f"error: levee and the reference OPA disagree on {differ[:5]}")
PY2
    hyperfine -N -i --warmup 10 --runs "${CHECK_RUNS:-100}" --export-json "$WORK/check1.json" \
        -n "levee check (one manifest)" "$LEVEE --org $org check --today 2026-03-01 $one" >/dev/null
    record "levee check, one manifest" "< 4 ms" "$WORK/check1.json"
    hyperfine -N -i --warmup 2 --runs "${CHECK1000_RUNS:-20}" --export-json "$WORK/check1000.json" \
        -n "levee check (1,000 manifests)" "$LEVEE --org $org check --today 2026-03-01 --format json $manifests" >/dev/null
    record "levee check, 1,000 manifests in one call" "< 120 ms" "$WORK/check1000.json"
    hyperfine -i --warmup 1 --runs "${OPA_RUNS:-5}" --export-json "$WORK/check-opa.json" \
        -n "levee check --bundle (1,000 manifests)" "$LEVEE check --today 2026-03-01 --bundle $bundle --format json $manifests" \
        -n "reference OPA v1.20 library from Python, same bundle (1,000 manifests)" "$PEER_PY $ROOT/scripts/opa-oracle.py < $WORK/opa-1000.json" >/dev/null
    record "levee check --bundle, 1,000 manifests (an app's policy/)" "-" "$WORK/check-opa.json"
    hyperfine -i --warmup 2 --runs "${OPA_RUNS:-10}" --export-json "$WORK/check-opa1.json" \
        -n "levee check --bundle (one manifest)" "$LEVEE check --today 2026-03-01 --bundle $bundle $one" \
        -n "reference OPA v1.20 library from Python, same bundle (one manifest)" "$PEER_PY $ROOT/scripts/opa-oracle.py < $WORK/opa-one.json" >/dev/null
    record "levee check --bundle, one manifest" "-" "$WORK/check-opa1.json"
}

# `levee sbom` beside cyclonedx-npm --package-lock-only on the same npm lock (tests/fixtures/
# sbom/npm-big: 505 packages), and beside cyclonedx-py on a Python requirements file with hashes
# (cyclonedx-py has no uv.lock reader; it runs without validation, its fast mode). The Python
# input is the largest real lock in the fixtures, uv's export of a 78-package resolution, plus a
# row on a uv.lock (no peer reads it). Both peers come from setup_peers.
bench_sbom() {
  build_release
  setup_peers
  local F="$ROOT/tests/fixtures/sbom" out="$WORK/sbom" n
  mkdir -p "$out"
  local npm="$PEERS/npm/node_modules/.bin/cyclonedx-npm" py="$PEERS/venv/bin/cyclonedx-py"
  n=$("$LEVEE" sbom "$F/npm-big" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["components"]))')
  hyperfine -N --warmup 3 --runs "${SBOM_RUNS:-40}" --export-json "$out/npm.json" \
    -n "levee sbom (npm lock, $n components)" "$LEVEE sbom $F/npm-big -o $out/l.json" \
    -n "cyclonedx-npm 6.0.1 --package-lock-only" "bash -c 'cd $F/npm-big && $npm --package-lock-only --output-file $out/c.json'" >/dev/null
  record "levee sbom, npm lock ($n components)" "< 4 ms, >= 300x cyclonedx-npm" "$out/npm.json"
  n=$("$LEVEE" sbom --lockfile "$F/requirements-uv/requirements.txt" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["components"]))')
  hyperfine -N --warmup 3 --runs "${SBOM_RUNS:-40}" --export-json "$out/py.json" \
    -n "levee sbom (requirements.txt, $n components)" "$LEVEE sbom --lockfile $F/requirements-uv/requirements.txt -o $out/l.json" \
    -n "cyclonedx-py 7.5.0 requirements --no-validate" "$py requirements --no-validate $F/requirements-uv/requirements.txt -o $out/c.json" >/dev/null
  record "levee sbom, Python requirements ($n components)" "-" "$out/py.json"
  hyperfine -N --warmup 3 --runs "${SBOM_RUNS:-40}" --export-json "$out/uv.json" \
    -n "levee sbom (uv.lock)" "$LEVEE sbom $F/uv -o $out/l.json" >/dev/null
  record "levee sbom, uv.lock (78 packages)" "-" "$out/uv.json"
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
    # A dashboard needs its data source (a required template setting).
    i={}; x=""; if [ $((i % 2)) -eq 0 ]; then k=dashboard; s=node; x=--setting=DASHBOARD_DATA_SOURCE=https://reports.example.com/sales.json; else k=form; s=python; fi
    "$0" new "$1/app-$i" --no-input --templates "$2@v1.0.0" --kind $k --stack $s \
      --name "app-$i" --owner bench@acme.corp --team bench --classification internal --sso-group g $x >/dev/null
    # The owner edits the README intro and adds a file of their own.
    sed -i "3s/.*/Our team dashboard number $i./" "$1/app-$i/README.md"
    echo "notes $i" > "$1/app-$i/NOTES.md"
  ' "$LEVEE" "$fleet" "$pack"
  for i in $(seq 1 200); do cp -a "$fleet/app-$i" "$fleet200/"; done
  echo "bench_upgrade: $(ls "$fleet" | wc -l) apps, $(find "$fleet" -type f | wc -l) files; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  # Each run upgrades a fresh copy of the fleet, as a checkout holds it. The last run's copy is
  # moved aside ($ASIDE), not deleted (until the end): deleting the 72,500 files of the last
  # copy just before each run made the file creations of the next one cost as much as all of
  # levee's own work (1.3-2.9 s of system time against 0.5-0.75 s with nothing deleted, for the
  # same binary).
  cat > "$WORK/fresh-copy.sh" <<SH
#!/bin/sh
set -e
"$ASIDE" "\$2"
cp -a "\$1" "\$2"
sync
SH
  chmod +x "$WORK/fresh-copy.sh"
  # Separate runs, so each --prepare copies only the apps that run upgrades.
  hyperfine --warmup 1 --runs 5 --export-json "$WORK/upgrade1000.json" \
    --prepare "$WORK/fresh-copy.sh $fleet $WORK/upgrade-fleet" \
    -n "levee upgrade (1,000 apps)" "$LEVEE upgrade --no-input $WORK/upgrade-fleet"
  record "levee upgrade, 1,000 apps from a git pack" "< 1 s" "$WORK/upgrade1000.json"
  hyperfine --warmup 1 --runs 10 --export-json "$WORK/upgrade.json" \
    --prepare "$WORK/fresh-copy.sh $fleet200 $WORK/upgrade-fleet" \
    -n "levee upgrade (200 apps)" "$LEVEE upgrade --no-input $WORK/upgrade-fleet"
  report bench_upgrade "$WORK/upgrade.json"
  rm -rf "$WORK"/old.* "$WORK/upgrade-fleet"
  # The same on tmpfs: levee's own work, without the disk (its flushes cost nothing there).
  if SHM_WORK=$(mktemp -d -p /dev/shm 2>/dev/null); then
    cp -a "$fleet" "$SHM_WORK/orig"
    hyperfine --warmup 1 --runs 10 --export-json "$WORK/upgrade1000-shm.json" \
      --prepare "rm -rf $SHM_WORK/fleet && cp -a $SHM_WORK/orig $SHM_WORK/fleet" \
      -n "levee upgrade (1,000 apps, tmpfs)" "$LEVEE upgrade --no-input $SHM_WORK/fleet"
    rm -rf "$SHM_WORK"
    record "levee upgrade, 1,000 apps from a git pack, on tmpfs" "-" "$WORK/upgrade1000-shm.json"
  else
    SHM_WORK=""; echo "bench_upgrade: no /dev/shm, no tmpfs row"
  fi
  hyperfine --warmup 3 --runs 30 --export-json "$WORK/upgrade-one.json" \
    --prepare "rm -rf $WORK/upgrade-one && mkdir $WORK/upgrade-one && cp -a $fleet/app-1 $WORK/upgrade-one/" \
    -n "levee upgrade (1 app)" "$LEVEE upgrade --no-input $WORK/upgrade-one/app-1"
  report bench_upgrade "$WORK/upgrade-one.json"
  echo "bench_upgrade: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
  # Correctness of what was timed: every app upgraded, none with conflicts.
  rm -rf "$WORK/upgrade-fleet" && cp -a "$fleet" "$WORK/upgrade-fleet"
  "$LEVEE" upgrade --no-input "$WORK/upgrade-fleet" | tail -1
}

# `scripts/bench.sh compared` runs the rows of the README's figures table, then prints it.
compared() {
    bench_new
    bench_sbom
    bench_check
    bench_upgrade
    bench_catalog_scan
    table
}

if [[ $# -eq 0 ]]; then set -- bench_validate bench_new bench_sync validator_findings bench_check bench_sbom bench_catalog_scan bench_lifecycle bench_upgrade table; fi
for f in "$@"; do "$f"; done
