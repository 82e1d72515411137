#!/usr/bin/env bash
# Installs the Node-based validators the Rust test suite runs, each from its committed lock file:
#   tests/backstage: @backstage/catalog-model, over `levee catalog export --format backstage`;
#   tests/kyverno:   @kubernetes-models/kyverno (models generated from Kyverno's CRDs), over the
#                    generated admission policies in deploy/admission/.
# Needs node >= 20 and npm. Called by scripts/test.sh; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/../tests"
command -v npm >/dev/null || { echo "error: npm is missing (install Node.js 20 or later)" >&2; exit 2; }
for dir in backstage kyverno; do
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
