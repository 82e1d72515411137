# Sourced by scripts/test.sh and scripts/bench.sh.
#
# Some fresh machines ship /dev/null as a regular file. Every tool that "discards" output into it
# then fills it, and every tool that reads it gets that text back: cargo's rustc target probe
# (`rustc -` with a null stdin) fails with "unknown start of token" on the error messages build
# scripts wrote there, and tests that spawn programs with a null stdin read junk. Restore the real
# character device when we can (root, or CAP_MKNOD); otherwise keep the file empty before each step.
ensure_dev_null() {
  [ -c /dev/null ] && return 0
  local tmp="/dev/.null.levee.$$" was
  was=$(stat -c %F /dev/null 2>/dev/null || echo missing)
  if mknod -m 666 "$tmp" c 1 3 2>/dev/null && mv -f "$tmp" /dev/null 2>/dev/null && [ -c /dev/null ]; then
    echo "note: /dev/null was a $was, not a character device; restored the real one (1,3)" >&2
    return 0
  fi
  rm -f "$tmp" 2>/dev/null || true
  echo "warning: /dev/null is not a character device and could not be restored; emptying it before each step" >&2
  : >/dev/null || true
}
