#!/usr/bin/env bash
# Installs the Backstage validators (tests/backstage: @backstage/catalog-model from its committed
# lock file) that the Rust test suite runs over `levee catalog export --format backstage`.
# Needs node >= 20 and npm. Called by scripts/test.sh; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../tests/backstage"
command -v npm >/dev/null || { echo "error: npm is missing (install Node.js 20 or later)" >&2; exit 2; }
npm ci --no-audit --no-fund --loglevel=error
