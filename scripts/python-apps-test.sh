#!/usr/bin/env bash
# Renders each Python starter template (dashboard, form, webhook) into a temp
# dir, installs it from its committed uv.lock and runs the app's own tests
# offline. Any failure fails the script.
#
#   scripts/python-apps-test.sh            test all three
#   scripts/python-apps-test.sh form       test one (or several) kinds
#   scripts/python-apps-test.sh --relock   re-resolve templates/_python-common's uv.lock (needs PyPI)
#
# Env: PYTHON312 (interpreter), UV_CACHE_DIR (default .cache/uv-cache),
#      KEEP_RENDERED=1 keeps the rendered apps.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The levee binary that scaffolds the apps (scripts/test.sh has built it).
LEVEE="${LEVEE:-$ROOT/target/debug/levee}"
[ -x "$LEVEE" ] || (cd "$ROOT" && cargo build --quiet --locked)
UV_VERSION="0.13.9"
JINJA2_VERSION="3.1.6"
PYYAML_VERSION="6.0.4"
TOOLS_VENV="$ROOT/.cache/uv-venv"          # .cache/ is git-ignored
export UV_CACHE_DIR="${UV_CACHE_DIR:-$ROOT/.cache/uv-cache}"
export UV_PYTHON_DOWNLOADS=never
export UV_NO_PROGRESS=1
PYTHON312="${PYTHON312:-}"
if [[ -z "$PYTHON312" ]]; then
  if [[ -x /root/.pyenv/versions/3.12.1/bin/python3.12 ]]; then
    PYTHON312=/root/.pyenv/versions/3.12.1/bin/python3.12
  else
    PYTHON312="$(command -v python3.12 || true)"
  fi
fi
[[ -x "$PYTHON312" ]] || { echo "error: no Python 3.12 found (set PYTHON312)" >&2; exit 1; }

log() { printf '\n==> %s\n' "$*"; }

# A venv of our own with a pinned uv (from PyPI) and the renderer's two libraries.
ensure_tools() {
  if [[ -x "$TOOLS_VENV/bin/uv" ]] && "$TOOLS_VENV/bin/uv" --version | grep -q "^uv $UV_VERSION\b" \
     && "$TOOLS_VENV/bin/python" -c 'import jinja2, yaml' 2>/dev/null; then
    return
  fi
  log "creating $TOOLS_VENV (uv $UV_VERSION)"
  "$PYTHON312" -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "uv==$UV_VERSION" "jinja2==$JINJA2_VERSION" "pyyaml==$PYYAML_VERSION"
}

# An example manifest as levee would write it (every optional field present).
# shellcheck source=scripts/scaffold-app.sh
. "$ROOT/scripts/scaffold-app.sh"
render_app() { scaffold_app "$1-python" "$2"; } # KIND DIR

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# One lock file for all three kinds: templates/_python-common/files/uv.lock.jinja, resolved by the
# real uv from the rendered pyproject.toml (any kind: they share dependencies).
relock() {
  local dir="$WORK/relock" name="levee-form-python"
  render_app form "$dir"
  log "uv lock"
  (cd "$dir" && rm -f uv.lock && "$TOOLS_VENV/bin/uv" lock --python "$PYTHON312")
  grep -q "^name = \"$name\"$" "$dir/uv.lock" || { echo "project name not found in uv.lock" >&2; exit 1; }
  sed "s/^name = \"$name\"$/name = \"{{ app.name }}\"/" "$dir/uv.lock" \
    >"$ROOT/templates/_python-common/files/uv.lock.jinja"
  echo "wrote templates/_python-common/files/uv.lock.jinja"
}

test_app() {
  local kind="$1" dir="$WORK/$1" t0 t1 t2 t3 out count
  log "$kind: render"
  render_app "$kind" "$dir"

  log "$kind: uv sync --frozen"
  t0="$(now)"
  (cd "$dir" && "$TOOLS_VENV/bin/uv" sync --frozen --python "$PYTHON312")
  t1="$(now)"
  # The lock must match pyproject.toml (checked offline, without re-resolving).
  (cd "$dir" && UV_OFFLINE=1 "$TOOLS_VENV/bin/uv" lock --locked --python "$PYTHON312")

  log "$kind: pytest (offline)"
  out="$WORK/$kind.pytest.log"
  t2="$(now)"
  if ! (cd "$dir" && UV_OFFLINE=1 "$TOOLS_VENV/bin/uv" run --frozen pytest -q) 2>&1 | tee "$out"; then
    echo "error: $kind tests failed" >&2
    exit 1
  fi
  t3="$(now)"

  # What the Dockerfile installs (no dev group, with the aws extra) must import and build the app.
  log "$kind: production dependency set (uv sync --frozen --no-dev --extra aws)"
  (cd "$dir" && UV_OFFLINE=1 UV_PROJECT_ENVIRONMENT="$dir/.venv-prod" "$TOOLS_VENV/bin/uv" sync \
      --frozen --no-dev --extra aws --python "$PYTHON312" --quiet \
    && APP_ENV=test SESSION_SECRET=0123456789abcdef0123456789abcdef DOWNSTREAM_URL=https://api.payments.example.com/in \
       WEBHOOK_SIGNING_SECRET=x DOWNSTREAM_API_TOKEN=x OIDC_CLIENT_SECRET=x OTEL_SDK_DISABLED=true \
       .venv-prod/bin/python -c 'import boto3
from starlette.testclient import TestClient
from app.main import create_app
with TestClient(create_app()) as c:
    assert c.get("/healthz").status_code == 200
print("production set: app starts and answers /healthz")')
  ! "$dir/.venv-prod/bin/python" -c 'import pytest' 2>/dev/null \
    || { echo "error: pytest leaked into the production dependency set" >&2; exit 1; }

  count="$(grep -c '^\[\[package\]\]' "$dir/uv.lock")"
  SUMMARY+=("$(printf '%-10s %4s pkgs  venv %6s (prod %5s)  install %6ss  tests %6ss  %s' "$kind" "$count" \
    "$(du -sh "$dir/.venv" | cut -f1)" "$(du -sh "$dir/.venv-prod" | cut -f1)" "$(elapsed "$t0" "$t1")" "$(elapsed "$t2" "$t3")" \
    "$(grep -E '^[0-9]+ passed' "$out" | tail -1)")")
}

KINDS=()
RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --relock) RELOCK=1 ;;
    dashboard|form|webhook) KINDS+=("$arg") ;;
    *) echo "usage: $0 [--relock] [dashboard|form|webhook]..." >&2; exit 2 ;;
  esac
done
[[ ${#KINDS[@]} -gt 0 ]] || KINDS=(dashboard form webhook)

ensure_tools
WORK="$(mktemp -d "${TMPDIR:-/tmp}/levee-py-apps.XXXXXX")"
if [[ "${KEEP_RENDERED:-0}" == 1 ]]; then
  echo "rendered apps kept in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

if [[ "$RELOCK" == 1 ]]; then
  relock
  exit 0
fi

SUMMARY=()
for kind in "${KINDS[@]}"; do
  test_app "$kind"
done
log "summary (uv $UV_VERSION, $("$PYTHON312" --version))"
printf '%s\n' "${SUMMARY[@]}"
