#!/usr/bin/env bash
# Regenerates the JavaScript lock fixtures under tests/fixtures/sbom/js-*/ with the real package
# managers, all from ONE package.json (tests/fixtures/sbom/js-npm/package.json and its `file:`
# dependency local-lib/): npm (package-lock.json v3), pnpm 9 (pnpm-lock.yaml, lockfileVersion
# '9.0'), yarn 1.22.22 (yarn.lock v1) and yarn 4 (berry yarn.lock, __metadata version 10).
# Only the npm registry is needed. Nothing but package.json, local-lib/ and the lock is kept: no
# node_modules, no .yarn cache. The resolutions can move when run later (yarn 4 adds node-gyp@latest
# to fsevents); the tests pin what these locks hold, so re-check them after a regeneration.
# Then the same four tools lock a small monorepo into js-ws-*/ (see below).
#   usage: scripts/js-lock-fixtures.sh [all|single|ws]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
F=$PWD/tests/fixtures/sbom
SRC=$F/js-npm
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
WHAT=${1:-all}
fresh() { rm -rf "$W/$1"; mkdir -p "$W/$1"; cp "$SRC/package.json" "$W/$1/"; cp -r "$SRC/local-lib" "$W/$1/"; }
keep() { # keep DIR LOCK: copy package.json, local-lib and the lock into the fixture
  mkdir -p "$F/$1"; cp "$W/$1/package.json" "$W/$1/$2" "$F/$1/"; rm -rf "$F/$1/local-lib"; cp -r "$W/$1/local-lib" "$F/$1/"
}

if [ "$WHAT" != ws ]; then
fresh js-npm
(cd "$W/js-npm" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund)
keep js-npm package-lock.json

fresh js-pnpm
(cd "$W/js-pnpm" && npx -y pnpm@9 install --lockfile-only --ignore-scripts)
keep js-pnpm pnpm-lock.yaml

fresh js-yarn-v1
(cd "$W/js-yarn-v1" && npx -y yarn@1.22.22 install --ignore-scripts --non-interactive --no-progress --cache-folder "$W/y1cache")
keep js-yarn-v1 yarn.lock

# yarn 4 from the npm registry (@yarnpkg/cli-dist); corepack would fetch it from elsewhere.
fresh js-yarn-berry
printf 'nodeLinker: node-modules\nenableGlobalCache: false\nenableTelemetry: false\ncacheFolder: %s\n' "$W/berrycache" > "$W/js-yarn-berry/.yarnrc.yml"
touch "$W/js-yarn-berry/yarn.lock"
(cd "$W/js-yarn-berry" && YARN_ENABLE_IMMUTABLE_INSTALLS=false npx -y -p @yarnpkg/cli-dist@4 yarn install --mode=update-lockfile)
keep js-yarn-berry yarn.lock
fi

# --- The monorepo: one root package.json with `workspaces` (pnpm: pnpm-workspace.yaml), two
# members. packages/app depends on packages/lib (`workspace:*` for pnpm and berry, which have the
# protocol; `*` for npm and yarn 1, which link a workspace whose version satisfies the range) and on
# one registry package; packages/lib has one registry dependency and one dev dependency; the root
# has one dev dependency. pnpm and berry also get a `link:` dependency on tools/local-tool (npm has
# no `link:` protocol; yarn 1's is left out to keep its package.json equal to npm's).
ws_fresh() { # ws_fresh DIR LIB_SPEC WITH_LINK
  local d=$W/$1
  rm -rf "$d"; mkdir -p "$d/packages/app" "$d/packages/lib" "$d/tools/local-tool"
  cat > "$d/package.json" <<'JSON'
{
  "name": "ws-root",
  "version": "1.0.0",
  "private": true,
  "workspaces": ["packages/*"],
  "devDependencies": {
    "semver": "7.6.3"
  }
}
JSON
  local link=''
  [ "$3" = link ] && link=$',\n    "local-tool": "link:../../tools/local-tool"'
  printf '{\n  "name": "@ws/app",\n  "version": "1.2.0",\n  "dependencies": {\n    "@ws/lib": "%s",\n    "picocolors": "1.1.1"%s\n  }\n}\n' "$2" "$link" > "$d/packages/app/package.json"
  cat > "$d/packages/lib/package.json" <<'JSON'
{
  "name": "@ws/lib",
  "version": "0.3.0",
  "dependencies": {
    "debug": "4.3.7"
  },
  "devDependencies": {
    "is-number": "7.0.0"
  }
}
JSON
  if [ "$3" = link ]; then
    printf '{\n  "name": "local-tool",\n  "version": "0.1.0"\n}\n' > "$d/tools/local-tool/package.json"
  else
    rm -rf "$d/tools"
  fi
}
ws_keep() { # ws_keep DIR LOCK [EXTRA...]: the package.json files, the extras and the lock
  local d=$1; shift
  rm -rf "${F:?}/$d"; mkdir -p "$F/$d"
  (cd "$W/$d" && find . -name node_modules -prune -o -name package.json -print | while read -r f; do
    mkdir -p "$F/$d/$(dirname "$f")"; cp "$f" "$F/$d/$f"; done
    for f in "$@"; do cp "$f" "$F/$d/"; done)
}

if [ "$WHAT" != single ]; then
ws_fresh js-ws-npm '*' no
(cd "$W/js-ws-npm" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund)
ws_keep js-ws-npm package-lock.json

ws_fresh js-ws-pnpm 'workspace:*' link
printf "packages:\n  - 'packages/*'\n" > "$W/js-ws-pnpm/pnpm-workspace.yaml"
(cd "$W/js-ws-pnpm" && npx -y pnpm@9 install --lockfile-only --ignore-scripts)
ws_keep js-ws-pnpm pnpm-lock.yaml pnpm-workspace.yaml

ws_fresh js-ws-yarn-v1 '*' no
(cd "$W/js-ws-yarn-v1" && npx -y yarn@1.22.22 install --ignore-scripts --non-interactive --no-progress --cache-folder "$W/y1cache")
ws_keep js-ws-yarn-v1 yarn.lock

ws_fresh js-ws-yarn-berry 'workspace:*' link
printf 'nodeLinker: node-modules\nenableGlobalCache: false\nenableTelemetry: false\ncacheFolder: %s\n' "$W/berrycache" > "$W/js-ws-yarn-berry/.yarnrc.yml"
touch "$W/js-ws-yarn-berry/yarn.lock"
(cd "$W/js-ws-yarn-berry" && YARN_ENABLE_IMMUTABLE_INSTALLS=false npx -y -p @yarnpkg/cli-dist@4 yarn install --mode=update-lockfile)
ws_keep js-ws-yarn-berry yarn.lock
fi

wc -l "$F"/js-*/{package-lock.json,pnpm-lock.yaml,yarn.lock} 2>/dev/null || true
