#!/bin/bash
# certvault benchmark: backup and restore of one certificate (EC P-256 and
# RSA 2048), time and memory, against OpenSSL's PKCS#12 export and import of
# the same key and certificate.  Figures only: nothing here passes or fails.
#
# usage: tests/bench/certbackup.sh [--reps N]
#
# Each step runs --reps times (default 5) as /usr/bin/time sees the whole
# process (start, PIN login, the work, exit):
#   backup            certificate backup (the login alone opens it again)
#   backup-password   certificate backup --backup-password-file
#   restore           certificate restore into a copy of the same vault
#   restore-password  certificate restore into another vault, with the
#                     backup password (each rep into a fresh copy of an
#                     empty vault, so the name is free)
#   p12-export        openssl pkcs12 -export of the key and certificate
#                     (secret download --format pem gave them), password
#                     from a file: OpenSSL 3's defaults (AES-256-CBC,
#                     PBKDF2 with 2048 iterations)
#   p12-import        openssl pkcs12 -in of that file, -nodes: the key and
#                     certificate read back
#   vault-import      certificate import of that PKCS#12 into a fresh copy
#                     of an empty vault (the in-vault way to the same key)
# The PIN login is scrypt N=2^15 (about 0.1 s) and so is a backup password:
# every certvault step pays one, the password steps two.
# Output: one RESULT line per step (median and max seconds, max RSS), then a
# markdown table.  Environment: BENCH_BUILDDIR (default: build beside this
# tree).
set -u
umask 077

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REPS=5
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--reps) REPS=${1:-}; shift ;;
	*) echo "usage: $0 [--reps N]" >&2; exit 2 ;;
	esac
done
BUILD=$(cd "${BENCH_BUILDDIR:-$SRC/build}" && pwd) || exit 1
CERTVAULT=$BUILD/tools/certvault
for p in "$CERTVAULT" /usr/bin/time openssl; do
	command -v "$p" >/dev/null 2>&1 || { echo "$0: $p missing" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/certvault-certbackup.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
export XDG_CONFIG_HOME=$W/xdg HOME=$W/home
export CERTVAULT_PIN=bench-pin-1234 CERTVAULT_SO_PIN=bench-so-5678
unset CERTVAULT_CONF CERTVAULT_VAULT
mkdir -p "$HOME"
printf 'bench backup password\n' >"$W/pw"

cv() { "$CERTVAULT" --vault "$1" "${@:2}"; }

cv "$W/src" vault create --name src --no-register >/dev/null || exit 1
cv "$W/src" vault backup --file "$W/empty-src.mdb" >/dev/null || exit 1
cv "$W/other" vault create --name other --no-register >/dev/null || exit 1
cv "$W/other" vault backup --file "$W/empty-other.mdb" >/dev/null || exit 1
cv "$W/src" certificate create --name ec --policy \
	'{"key_props":{"kty":"EC","crv":"P-256","exportable":true},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=ec.bench"},"issuer":{"name":"Self"}}' >/dev/null || exit 1
cv "$W/src" certificate create --name rsa --policy \
	'{"key_props":{"kty":"RSA","key_size":2048,"exportable":true},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=rsa.bench"},"issuer":{"name":"Self"}}' >/dev/null || exit 1

# copy_of EMPTY DIR: a vault folder holding a copy of an empty vault.
copy_of() {
	rm -rf "$2"
	mkdir -m 700 "$2" && cp "$1" "$2/data.mdb"
}

# measure STEP KEY COMMAND...: run it REPS times (SETUP, when set, before
# each), print a RESULT line.
measure() {
	local step=$1 key=$2 i secs=() rss=()
	shift 2
	for ((i = 0; i < REPS; i++)); do
		[ -n "${SETUP:-}" ] && eval "$SETUP"
		if ! /usr/bin/time -o "$W/time.out" -f 'TIME %e %M' "$@" >/dev/null 2>"$W/step.err"; then
			echo "RESULT kind=certbackup step=$step key=$key failed=1 $(head -c 300 "$W/step.err" | tr '\n' ' ')"
			return
		fi
		secs+=("$(awk '/^TIME/ {print $2}' "$W/time.out")")
		rss+=("$(awk '/^TIME/ {print $3}' "$W/time.out")")
	done
	printf 'RESULT kind=certbackup step=%s key=%s reps=%s seconds_median=%s seconds_max=%s maxrss_kb=%s\n' \
		"$step" "$key" "$REPS" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | tail -1)" \
		"$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)"
}

RESULTS=$W/results
{
	for key in ec rsa; do
		SETUP=
		measure backup $key "$CERTVAULT" --vault "$W/src" certificate backup --name $key \
			--file "$W/$key.cvb" --overwrite
		measure backup-password $key "$CERTVAULT" \
			--vault "$W/src" certificate backup --name $key --file "$W/$key-pw.cvb" \
			--overwrite --backup-password-file "$W/pw"
		SETUP="copy_of '$W/empty-src.mdb' '$W/same'"
		measure restore $key "$CERTVAULT" --vault "$W/same" \
			certificate restore --file "$W/$key.cvb"
		SETUP="copy_of '$W/empty-other.mdb' '$W/dst'"
		measure restore-password $key "$CERTVAULT" \
			--vault "$W/dst" certificate restore --file "$W/$key-pw.cvb" \
			--backup-password-file "$W/pw"
		SETUP=
		cv "$W/src" secret download --name $key --format pem --file "$W/$key.pem" \
			--overwrite >/dev/null
		SETUP="rm -f '$W/$key.p12'"
		measure p12-export $key openssl pkcs12 -export -in "$W/$key.pem" \
			-passout "file:$W/pw" -out "$W/$key.p12"
		SETUP=
		measure p12-import $key openssl pkcs12 \
			-in "$W/$key.p12" -passin "file:$W/pw" -nodes -out "$W/$key-back.pem"
		printf 'bench backup password' >"$W/pw-line"
		SETUP="copy_of '$W/empty-other.mdb' '$W/imp'"
		measure vault-import $key "$CERTVAULT" --vault "$W/imp" certificate import \
			--name $key --file "$W/$key.p12" --password-file "$W/pw-line"
		SETUP=
		printf 'RESULT kind=certbackup-size key=%s blob=%s blob_password=%s p12=%s\n' $key \
			"$(stat -c %s "$W/$key.cvb")" "$(stat -c %s "$W/$key-pw.cvb")" \
			"$(stat -c %s "$W/$key.p12")"
	done
} | tee "$RESULTS"

echo
echo "| step (one certificate, $REPS reps) | EC P-256 median s | EC max RSS MiB | RSA 2048 median s | RSA max RSS MiB |"
echo "|---|---|---|---|---|"
awk '/^RESULT kind=certbackup-size/ {
	delete f
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	size[f["key"]] = sprintf("%s B, with password %s B, PKCS#12 %s B", f["blob"], f["blob_password"], f["p12"])
	next
}
/^RESULT kind=certbackup / {
	delete f
	for (i = 3; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if (!(f["step"] in seen)) { seen[f["step"]] = 1; order[++n] = f["step"] }
	if ("failed" in f) { med[f["step"], f["key"]] = "failed"; rss[f["step"], f["key"]] = "n/a" }
	else { med[f["step"], f["key"]] = f["seconds_median"]; rss[f["step"], f["key"]] = sprintf("%.1f", f["maxrss_kb"] / 1024) }
}
END {
	for (i = 1; i <= n; i++) {
		s = order[i]
		printf "| %s | %s | %s | %s | %s |\n", s, med[s, "ec"], rss[s, "ec"], med[s, "rsa"], rss[s, "rsa"]
	}
	printf "\nsizes: EC blob %s; RSA blob %s\n", size["ec"], size["rsa"]
}' "$RESULTS"
