#!/usr/bin/env bash
# Keeps templates-archive/ (earlier built-in pack versions, as deltas against templates/) right
# across a pack release. See templates-archive/README.md.
#
#   scripts/archive-builtin.sh            # before editing templates/: materialize every shipped
#                                         # version into $SCRATCH/<version>/
#   scripts/archive-builtin.sh --rebase   # after bumping templates/pack.yaml: rewrite every
#                                         # templates-archive/<version>/ against the new templates/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="${LEVEE_ARCHIVE_SCRATCH:-$ROOT/target/builtin-versions}"
CURRENT="$ROOT/templates"
ARCHIVE="$ROOT/templates-archive"

pack_version() { sed -n 's/^version: *//p' "$1/pack.yaml" | tr -d '"'"'"; }

materialize() {
    rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
    cp -a "$CURRENT" "$SCRATCH/$(pack_version "$CURRENT")"
    for delta in "$ARCHIVE"/*/; do
        [[ -d "$delta" ]] || continue
        local v out
        v="$(basename "$delta")"
        out="$SCRATCH/$v"
        cp -a "$CURRENT" "$out"
        if [[ -f "$delta/ABSENT" ]]; then
            grep -v '^\s*#' "$delta/ABSENT" | while read -r p; do
                [[ -n "$p" ]] && rm -f "$out/$p"
            done
        fi
        (cd "$delta" && tar cf - --exclude=./ABSENT .) | (cd "$out" && tar xf -)
    done
    echo "materialized: $(ls "$SCRATCH" | tr '\n' ' ')"
}

rebase() {
    [[ -d "$SCRATCH" ]] || { echo "run $0 first (before editing templates/)" >&2; exit 2; }
    local current
    current="$(pack_version "$CURRENT")"
    for full in "$SCRATCH"/*/; do
        local v delta
        v="$(basename "$full")"
        [[ "$v" == "$current" ]] && continue
        delta="$ARCHIVE/$v"
        rm -rf "$delta" && mkdir -p "$delta"
        (cd "$full" && find . -type f -print0) | while IFS= read -r -d '' f; do
            if ! cmp -s "$full/$f" "$CURRENT/$f"; then
                mkdir -p "$delta/$(dirname "$f")"
                cp -a "$full/$f" "$delta/$f"
            fi
        done
        (cd "$CURRENT" && find . -type f | sed 's|^\./||' | sort) | while read -r f; do
            [[ -e "$full/$f" ]] || echo "$f"
        done > "$delta/ABSENT"
        [[ -s "$delta/ABSENT" ]] || rm "$delta/ABSENT"
        echo "templates-archive/$v: $(find "$delta" -type f | wc -l) files"
    done
}

case "${1:-}" in
    --rebase) rebase ;;
    "") materialize ;;
    *) echo "usage: $0 [--rebase]" >&2; exit 2 ;;
esac
