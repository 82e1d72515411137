#!/usr/bin/env bash
# Benchmarks: whole-process timings of levee's commands, beside the peer tool where one exists.
# Usage: scripts/bench.sh [NAME...]   (default: all). Needs hyperfine (Debian: apt-get install hyperfine).
# Prints one line per figure: name, median, and the peer's median where there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
command -v hyperfine >/dev/null || { echo "error: hyperfine is missing (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release --locked --quiet
LEVEE="$root/target/release/levee"
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

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(validate)
for b in "${benches[@]}"; do "bench_$b"; done
