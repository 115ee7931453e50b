#!/bin/bash
# Makes the seed corpus of the certbackup target:
#   tests/fuzz/make-certbackup-seeds.sh [BUILD]     (BUILD: default build)
# writes tests/fuzz/corpus/certbackup: blobs made by `certvault certificate
# backup` (EC and RSA, with the password the target tries), and, from the
# target itself (CV_FUZZ_SEEDS_OUT), backups of an EC certificate with two
# versions, an RSA one and a pending one: their headers, their opened
# payloads, and whole blobs.  Keys are made each run, so a rerun changes
# the seeds' bytes, not what they reach.
set -euo pipefail
cd "$(dirname "$0")"
build=$(cd "../../${1:-build}" && pwd)
out=$PWD/corpus/certbackup
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
mkdir -p "$out" "$w/empty"

printf '\x00' >"$w/empty/one"
CV_FUZZ_SEEDS_OUT=$out "$build/tests/fuzz/fuzz_certbackup_replay" "$w/empty" >/dev/null

export CERTVAULT_PIN=seed-pin-1234 CERTVAULT_SO_PIN=seed-so-5678 XDG_CONFIG_HOME=$w/xdg
cv() { "$build/tools/certvault" --vault "$w/vault" "$@" >/dev/null; }
cv vault create --name seeds --no-register
printf 'fuzz backup password\n' >"$w/pw"
cv certificate create --name tool-ec --policy \
  '{"key_props":{"kty":"EC","crv":"P-384","exportable":true},"x509_props":{"subject":"CN=tool-ec"},"issuer":{"name":"Self"}}'
cv certificate create --name tool-rsa --policy \
  '{"key_props":{"kty":"RSA","key_size":2048,"exportable":false},"x509_props":{"subject":"CN=tool-rsa"},"issuer":{"name":"Self"}}'
for n in tool-ec tool-rsa; do
  cv certificate backup --name "$n" --file "$w/$n.cvb" --backup-password-file "$w/pw"
  { printf '\x03'; cat "$w/$n.cvb"; } >"$out/restore-blob-$n"
done
