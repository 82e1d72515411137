#!/usr/bin/env bash
# Figures for levee. Usage: scripts/bench.sh [check]   (default: every benchmark)
# Builds the release binary once, then times with hyperfine (apt-get install -y hyperfine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
LEVEE="$TARGET/release/levee"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

build_release() {
  if [[ -z "${LEVEE_BENCH_BUILT:-}" ]]; then
    (cd "$ROOT" && cargo build --release --quiet)
    export LEVEE_BENCH_BUILT=1
  fi
}

need_hyperfine() {
  command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }
}

# `levee check` as a whole process: one manifest (target < 10 ms), and 1,000 manifests in one
# call (target < 1 s; the policies are compiled once, then each manifest is evaluated).
bench_check() {
  build_release
  need_hyperfine
  local corpus="$ROOT/tests/policy/corpus" org="$ROOT/tests/policy/levee.org.yaml"
  mkdir -p "$WORK/apps"
  local files=("$corpus"/*.yaml) i=0
  while (( i < 1000 )); do
    local src="${files[$(( i % ${#files[@]} ))]}"
    mkdir -p "$WORK/apps/app-$i"
    sed "s/^name: .*/name: app-$i/" "$src" > "$WORK/apps/app-$i/app.yaml"
    i=$(( i + 1 ))
  done
  # `|| true`: these manifests are meant to be denied (exit 1); hyperfine times the run.
  hyperfine --warmup 5 --min-runs 50 -N -i \
    --export-markdown "$WORK/check.md" \
    -n 'levee check (1 manifest)' \
    "$LEVEE --org $org check --today 2026-03-01 $corpus/kitchen-sink-public-prototype.yaml" \
    -n 'levee check (1 clean manifest)' \
    "$LEVEE --org $org check --today 2026-03-01 $corpus/clean-internal-prototype.yaml"
  hyperfine --warmup 2 --min-runs 10 -i \
    --export-markdown "$WORK/check-many.md" \
    -n 'levee check (1,000 manifests)' \
    "$LEVEE --org $org check --today 2026-03-01 --format json $WORK/apps/* > /dev/null"
  cat "$WORK/check.md" "$WORK/check-many.md"
}

main() {
  local which="${1:-all}"
  case "$which" in
    check) bench_check ;;
    all) bench_check ;;
    *) echo "unknown benchmark: $which (known: check)" >&2; exit 2 ;;
  esac
}

main "$@"
