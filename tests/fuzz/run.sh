#!/bin/bash
# Fuzz every decoder with libFuzzer for a while:  tests/fuzz/run.sh [SECONDS]
# Builds with clang and the sanitizers in build-fuzz/, starts each target
# from a copy of its committed corpus, and stops at the first crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}

if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
meson compile -C build-fuzz tests/fuzz/fuzz_records tests/fuzz/fuzz_policy tests/fuzz/fuzz_x509 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for t in policy x509 records; do
  mkdir -p "$work/$t"
  cp tests/fuzz/corpus/$t/* "$work/$t/"
  echo "fuzz_$t: $seconds s"
  build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$seconds" -max_len=8192 \
    -artifact_prefix="$work/" "$work/$t" 2>&1 | grep -E "^(Done|==[0-9]+==ERROR|SUMMARY)" || true
  if ls "$work"/crash-* >/dev/null 2>&1; then
    mkdir -p fuzz-crashes && cp "$work"/crash-* fuzz-crashes/
    echo "fuzz_$t found a crash; inputs saved in fuzz-crashes/" >&2
    exit 1
  fi
done
