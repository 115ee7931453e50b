#!/bin/bash
# Fuzz every decoder with libFuzzer for a while:  tests/fuzz/run.sh [SECONDS]
# Builds with clang and the sanitizers in build-fuzz/, starts each target
# from a copy of its committed corpus for SECONDS (default 60), and prints
# TAP: one line per target, "not ok" when it found a crash, a leak or a
# timeout (the input is saved in fuzz-crashes/; put it in the target's
# corpus with the fix, so the replay test keeps it).  Exit status 1 when
# any target found something, 77 when clang is missing.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
targets="policy x509 records lmdb_meta import pkcs11 acme certbackup"

command -v clang >/dev/null 2>&1 || { echo "1..0 # SKIP clang missing"; exit 77; }
if [ ! -d build-fuzz ]; then
  CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false >/dev/null ||
    { echo "Bail out! meson setup build-fuzz failed"; exit 1; }
fi
build=()
for t in $targets; do build+=("tests/fuzz/fuzz_$t"); done
meson compile -C build-fuzz "${build[@]}" >build-fuzz.compile.log 2>&1 ||
  { echo "Bail out! building the fuzz targets failed (build-fuzz.compile.log)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The pkcs11 target makes its vault under TMPDIR; libFuzzer's exit skips
# its removal, so the folder is this one's.
mkdir -p "$work/tmp"
export TMPDIR="$work/tmp"
n=0 status=0
for t in $targets; do
  n=$((n + 1))
  mkdir -p "$work/$t"
  cp tests/fuzz/corpus/$t/* "$work/$t/"
  build-fuzz/tests/fuzz/fuzz_$t -max_total_time="$seconds" -max_len=8192 -timeout=25 \
    -artifact_prefix="$work/$t-" "$work/$t" >"$work/$t.log" 2>&1
  rc=$?
  runs=$(grep -oE '^Done [0-9]+ runs' "$work/$t.log" | grep -oE '[0-9]+' || echo 0)
  if [ $rc -eq 0 ]; then
    echo "ok $n - fuzz_$t: $seconds s, $runs runs, nothing found"
  else
    status=1
    mkdir -p fuzz-crashes
    cp "$work/$t".log fuzz-crashes/ 2>/dev/null
    cp "$work/$t"-* fuzz-crashes/ 2>/dev/null
    echo "not ok $n - fuzz_$t: found something (exit $rc); log and input in fuzz-crashes/"
    grep -E "^==[0-9]+==ERROR|^SUMMARY" "$work/$t.log" | head -n 4 | sed 's/^/# /'
  fi
done
echo "1..$n"
exit $status
