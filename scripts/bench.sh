#!/usr/bin/env bash
# Benchmarks: whole-process timings of levee's commands, beside the peer tool where one exists.
# Usage: scripts/bench.sh [NAME...]   (default: all). Needs hyperfine (Debian: apt-get install hyperfine).
# Prints one line per figure: name, median, and the peer's median where there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
command -v hyperfine >/dev/null || { echo "error: hyperfine is missing (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --locked --quiet
LEVEE="${CARGO_TARGET_DIR:-$root/target}/release/levee"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export LEVEE_NO_INPUT=1 NO_COLOR=1

# median NAME JSON -> prints "NAME: median X ms"
median() {
  python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
for r in json.load(open(path))["results"]:
    print(f"{name}: {r['command']}: median {r['median']*1000:.2f} ms (min {r['min']*1000:.2f}, {len(r['times'])} runs)")
PY
}

bench_validate() {
  hyperfine --style none --warmup 10 --runs 100 -N --export-json "$work/validate.json" \
    "$LEVEE validate -q tests/manifests/valid/playbook-example.yaml" >/dev/null
  median validate "$work/validate.json"
}

# `levee catalog scan` over 1,000 app directories (one app.yaml each, in 100 repositories), into
# an empty catalog each run (every app registered and written). Target: under 2 s.
bench_catalog_scan() {
  local repos="$work/scan-repos"
  python3 - "$repos" "$root/tests/manifests/valid/playbook-example.yaml" <<'PY'
import os, sys
root, example = sys.argv[1], open(sys.argv[2]).read()
for i in range(1000):
    d = os.path.join(root, f"repo-{i // 10:03d}", f"app-{i % 10}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "app.yaml"), "w").write(example.replace("expense-quick-submit", f"bench-app-{i:04d}"))
PY
  hyperfine --style none --warmup 2 --runs 10 -N --prepare "rm -rf $work/scan-catalog" \
    --export-json "$work/scan.json" \
    "$LEVEE -q catalog scan --catalog $work/scan-catalog $repos" >/dev/null
  median catalog_scan_1000_apps "$work/scan.json"
}

# `levee lifecycle` over a 10,000-entry catalog with a 10,000-row metrics CSV (decisions for
# every app; exit 1 because some need action, hence -i). Target: under 1 s.
bench_lifecycle() {
  local app="$work/lc-app" cat="$work/lc-catalog"
  mkdir -p "$app"
  cp tests/manifests/valid/playbook-example.yaml "$app/app.yaml"
  "$LEVEE" -q catalog register --catalog "$work/lc-seed" "$app"
  python3 - "$work/lc-seed/expense-quick-submit.json" "$cat" "$work/lc-metrics.csv" <<'PY'
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
  hyperfine --style none --warmup 2 --runs 10 -N -i --export-json "$work/lifecycle.json" \
    "$LEVEE lifecycle --catalog $cat --metrics $work/lc-metrics.csv --format json" >/dev/null
  median lifecycle_10000_entries "$work/lifecycle.json"
}

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(validate catalog_scan lifecycle)
for b in "${benches[@]}"; do "bench_$b"; done
