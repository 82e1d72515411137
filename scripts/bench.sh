#!/usr/bin/env bash
# levee's figures. Usage: scripts/bench.sh [bench_new ...] (default: every bench).
# Builds the release binary once; uses hyperfine (apt-get install -y hyperfine).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

build_release() {
  if [ -z "${LEVEE_BIN:-}" ]; then
    cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
    LEVEE_BIN="$CARGO_TARGET_DIR/release/levee"
  fi
  command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }
}

# `levee new --no-input` (whole process) beside cookiecutter rendering the same template.
bench_new() {
  build_release
  # The template: form-node of the built-in pack when it exists, else the test fixture pack.
  local pack="" tid="form-node"
  if "$LEVEE_BIN" templates list --format json | grep -q '"id": "form-node"'; then
    pack="builtin"; local src="$ROOT/templates"
  else
    pack="$ROOT/tests/fixtures/packs/basic"; local src="$pack"
  fi
  # cookiecutter in a venv (pinned), with the same files: layers then the template's own,
  # .jinja files rendered, the rest copied without rendering.
  if [ ! -x "$WORK/venv/bin/cookiecutter" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet cookiecutter==2.6.0
  fi
  local cc="$WORK/cc-template"
  mkdir -p "$cc/{{cookiecutter.name}}"
  for layer in $(sed -n 's/^include: \[\(.*\)\]/\1/p' "$src/$tid/template.yaml" | tr ',' ' ') "$tid"; do
    cp -a "$src/$layer/files/." "$cc/{{cookiecutter.name}}/"
  done
  find "$cc" -name '*.jinja' | while read -r f; do
    sed -e 's/app\.name/cookiecutter.name/g; s/app\.description/cookiecutter.description/g; s/app\.[a-z_.]*/cookiecutter.name/g' "$f" > "${f%.jinja}"; rm "$f"
  done
  # Conditional dirs are a levee feature: dropped; templated names use cookiecutter's variable.
  find "$cc" -depth -name '*{%*' -exec rm -rf {} +
  find "$cc" -depth -name '*{{ app.*' | while read -r f; do
    d=$(dirname "$f"); b=$(basename "$f"); mv "$f" "$d/$(echo "$b" | sed 's/app\.[a-z_.]*/cookiecutter.name/g')"
  done
  printf '{"name": "bench-app", "description": "bench", "_copy_without_render": ["*.png", "*.ts", "*.json", "*.lock", "*.py", "*.md", "Dockerfile"]}\n' > "$cc/cookiecutter.json"
  local files; files=$(find "$cc/{{cookiecutter.name}}" -type f | wc -l)
  echo "bench_new: template $tid from $pack ($files files)"
  cd "$WORK"
  "$WORK/venv/bin/cookiecutter" --no-input -o "$WORK/check-cc" "$cc" >/dev/null || { echo "cookiecutter cannot render the converted template" >&2; exit 2; }
  hyperfine --warmup 3 --runs 30 --export-json "$WORK/new.json" \
    --prepare "rm -rf $WORK/out-levee $WORK/out-cc" \
    -n "levee new --no-input" \
    "$LEVEE_BIN new $WORK/out-levee --no-input --templates $pack --template $tid --name bench-app --owner bench@acme.corp --classification internal --sso-group g" \
    -n "cookiecutter" \
    "$WORK/venv/bin/cookiecutter --no-input -o $WORK/out-cc $cc"
  python3 - "$WORK/new.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"  {r['command']}: median {r['median']*1000:.1f} ms")
PY
  "$LEVEE_BIN" new "$WORK/size-app" --no-input --templates "$pack" --template "$tid" --name bench-app \
    --owner bench@acme.corp --classification internal --sso-group g >/dev/null
  echo "  generated app before npm ci: $(du -sk "$WORK/size-app" | cut -f1) KiB, $(find "$WORK/size-app" -type f | wc -l) files"
}

main() {
  if [ $# -eq 0 ]; then set -- bench_new; fi
  for b in "$@"; do "$b"; done
}
main "$@"
