#!/usr/bin/env bash
# Benchmarks, whole process, medians (hyperfine). Usage: scripts/bench.sh [sbom]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}

need_hyperfine() {
  command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
}

build_release() {
  [ -n "${LEVEE_BENCH_BUILT:-}" ] && return
  cargo build --release --locked -q
  LEVEE_BENCH_BUILT=1
}

# levee sbom vs cyclonedx-npm --package-lock-only on a 505-package lock, and vs cyclonedx-py on
# a 28-package poetry lock and a 78-package requirements export of a uv lock (cyclonedx-py has no
# uv.lock reader). Anchors: ANCHOR_BIN (cyclonedx-npm, from npm i @cyclonedx/cyclonedx-npm@6.0.1)
# and PY_BIN (cyclonedx-py, from pip install cyclonedx-bom==7.5.0); cyclonedx-py runs without
# validation (its fast mode).
bench_sbom() {
  need_hyperfine
  build_release
  local levee="$CARGO_TARGET_DIR/release/levee" F=tests/fixtures/sbom out
  local npm="${ANCHOR_BIN:-.cache/anchors/node_modules/.bin}/cyclonedx-npm"
  local py="${PY_BIN:-.venv/bin}/cyclonedx-py"
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

case "${1:-all}" in
  sbom) bench_sbom ;;
  all) bench_sbom ;;
  *) echo "usage: $0 [sbom]" >&2; exit 2 ;;
esac
