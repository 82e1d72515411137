#!/usr/bin/env bash
# Regenerates the Cargo.lock fixtures with real cargo against crates.io (only the crates.io index
# is needed): tests/fixtures/sbom/cargo-ws/ (a virtual workspace) and
# tests/fixtures/sbom/cargo-locks/v1..v4/ (one project, locked in each lock format: cargo writes the
# newest version the project's `rust-version` can read: 1.40 -> v1, 1.41 -> v2, 1.53 -> v3,
# 1.83 -> v4). Every crate they pin is one levee itself depends on, at the version levee's own
# Cargo.lock pins, so a checkout where levee was built (and its tests ran) has them all in the cargo
# cache: tests/sbom.rs reads each fixture through `cargo metadata --offline` with that cache and
# again without any cache, and compares. Keep it so when a fixture changes (pick versions from
# levee's Cargo.lock, and no target-specific dependencies of levee's that Linux does not download).
# The tests pin what these locks hold; re-check them after a regeneration.
#   usage: scripts/cargo-lock-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/sbom"
for dir in cargo-ws cargo-locks/v1 cargo-locks/v2 cargo-locks/v3 cargo-locks/v4; do
  (cd "$dir" && rm -f Cargo.lock && cargo generate-lockfile --quiet)
  head -n 3 "$dir/Cargo.lock" | grep -q '^version = ' || echo "$dir: lock without a version key (v1/v2)"
done
