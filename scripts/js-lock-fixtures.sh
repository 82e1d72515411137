#!/usr/bin/env bash
# Regenerates the JavaScript lock fixtures under tests/fixtures/sbom/js-*/ with the real package
# managers, all from ONE package.json (tests/fixtures/sbom/js-npm/package.json and its `file:`
# dependency local-lib/): npm (package-lock.json v3), pnpm 9 (pnpm-lock.yaml, lockfileVersion
# '9.0'), yarn 1.22.22 (yarn.lock v1) and yarn 4 (berry yarn.lock, __metadata version 10).
# Only the npm registry is needed. Nothing but package.json, local-lib/ and the lock is kept: no
# node_modules, no .yarn cache. The resolutions can move when run later (yarn 4 adds node-gyp@latest
# to fsevents); the tests pin what these locks hold, so re-check them after a regeneration.
#   usage: scripts/js-lock-fixtures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
F=$PWD/tests/fixtures/sbom
SRC=$F/js-npm
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fresh() { rm -rf "$W/$1"; mkdir -p "$W/$1"; cp "$SRC/package.json" "$W/$1/"; cp -r "$SRC/local-lib" "$W/$1/"; }
keep() { # keep DIR LOCK: copy package.json, local-lib and the lock into the fixture
  mkdir -p "$F/$1"; cp "$W/$1/package.json" "$W/$1/$2" "$F/$1/"; rm -rf "$F/$1/local-lib"; cp -r "$W/$1/local-lib" "$F/$1/"
}

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
wc -l "$F"/js-*/{package-lock.json,pnpm-lock.yaml,yarn.lock} 2>/dev/null || true
