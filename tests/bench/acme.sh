#!/bin/bash
# certvault benchmark: ACME issuance from one Pebble, certvault against the
# ACME clients users would otherwise run (uacme and lego), in one run on one
# machine.  Figures only: nothing here passes or fails on time.
#
# usage: tests/bench/acme.sh [--certs N] [--only certvault|uacme|lego]
# Environment: CERTVAULT (default: build/tools/certvault of this tree).
#
# Each client orders N certificates (default 50) for distinct names with an
# EC P-256 key, http-01 answered on 127.0.0.1, Pebble's validation sleep off
# and authorization reuse off, so every order is validated:
#   certvault   `certificate create --wait` per certificate (the built-in
#               responder), and N creates followed by one `run --once` pass;
#               keys made and kept in the vault
#   lego        `lego run` per certificate (its built-in responder); the
#               account is registered by the first
#   uacme       `uacme issue` per certificate, its hook writing the answer
#               into a folder that a small web server serves; the account
#               is registered first, outside the timing
# Prints certificates per minute (wall clock) and CPU per certificate (user
# + system time of the client's processes, Pebble's own excluded).
set -u

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=50 ONLY=
while [ $# -gt 0 ]; do
	case $1 in
	--certs) N=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	*) echo "usage: $0 [--certs N] [--only certvault|uacme|lego]" >&2; exit 2 ;;
	esac
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

CERTVAULT=${CERTVAULT:-$SRC/build/tools/certvault}
CONFORMANCE_SKIP_STATUS=1
. "$SRC/conformance/lib.sh"
. "$SRC/tests/acme/pebble.sh"
need /usr/bin/python3 unshare mount

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

pebble_start PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0
log "Pebble at $PEBBLE_DIRECTORY, http-01 on 127.0.0.1:$PEBBLE_HTTP_PORT"

# measure NAME COMMAND...: run COMMAND (a shell function looping over the
# certificates), then print its RESULT line from the wall clock and the CPU
# time of its children.
measure() {
	local name=$1 me=$BASHPID t0 t1 c0 c1 wall cpu
	shift
	c0=$(awk '{print $14+$15+$16+$17}' "/proc/$me/stat")
	t0=$(date +%s.%N)
	"$@" || { log "$name: failed"; echo "RESULT client=$name failed=1"; return 1; }
	t1=$(date +%s.%N)
	c1=$(awk '{print $14+$15+$16+$17}' "/proc/$me/stat")
	awk -v n="$name" -v c="$N" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" \
		-v hz="$(getconf CLK_TCK)" 'BEGIN {
		wall = t1 - t0; cpu = (c1 - c0) / hz
		printf "RESULT client=%s certs=%d wall_s=%.2f cpu_s=%.2f per_min=%.1f cpu_ms_per_cert=%.1f\n",
			n, c, wall, cpu, c * 60 / wall, cpu * 1000 / c }'
}

# --- lego ----------------------------------------------------------------------

lego_loop() {
	local i
	for i in $(seq 1 "$N"); do
		LEGO_CA_CERTIFICATES=$PEBBLE_TLS_CA timeout 120 lego --server "$PEBBLE_DIRECTORY" \
			--accept-tos --email bench@example.com --eab --kid "$PEBBLE_EAB_KID" \
			--hmac "$PEBBLE_EAB_HMAC" --key-type ec256 --domains "lego-$i.example.com" \
			--http --http.port "127.0.0.1:$PEBBLE_HTTP_PORT" --path "$WORK/lego" run \
			>>"$WORK/lego.log" 2>&1 || return 1
	done
}

# --- uacme -----------------------------------------------------------------------

# uacme trusts the system's CA bundle only, so it runs in a mount namespace
# of its own where that file is Pebble's TLS CA (nothing outside changes).
uacme_in_ns() {
	unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
		"$PEBBLE_TLS_CA" uacme "$@"
}

uacme_loop() {
	local i
	for i in $(seq 1 "$N"); do
		uacme_in_ns -c "$WORK/uacme" -a "$PEBBLE_DIRECTORY" -t EC -h "$WORK/uacme-hook" \
			issue "uacme-$i.example.com" >>"$WORK/uacme.log" 2>&1 || return 1
	done
}

uacme_setup() {
	mkdir -p "$WORK/webroot/.well-known/acme-challenge" "$WORK/uacme"
	cat >"$WORK/uacme-hook" <<HOOK
#!/bin/sh
# uacme hook: method type ident token key-authorization
f="$WORK/webroot/.well-known/acme-challenge/\$4"
case "\$1:\$2" in
begin:http-01) printf '%s' "\$5" >"\$f" ;;
done:http-01|failed:http-01) rm -f "\$f" ;;
*) exit 1 ;;
esac
HOOK
	chmod 755 "$WORK/uacme-hook"
	/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$WORK/webroot" \
		"$PEBBLE_HTTP_PORT" >"$WORK/webroot.log" 2>&1 &
	WEBROOT_PID=$!
	track "$WEBROOT_PID"
	wait_port "$PEBBLE_HTTP_PORT" "$WEBROOT_PID" || return 1
	uacme_in_ns -c "$WORK/uacme" -a "$PEBBLE_DIRECTORY" -e "$PEBBLE_EAB_KID:$PEBBLE_EAB_HMAC" \
		-y new bench@example.com >"$WORK/uacme.log" 2>&1
}

# --- certvault -------------------------------------------------------------------

cv_setup() {
	export CERTVAULT_PIN=bench-pin-1234 CERTVAULT_SO_PIN=bench-so-5678
	export CERTVAULT_CONF="$WORK/certvault.conf"
	"$CERTVAULT" vault create --vault "$WORK/vault" --name bench --no-register >/dev/null &&
	printf '%s' "$PEBBLE_EAB_HMAC" >"$WORK/hmac" &&
	"$CERTVAULT" --vault "$WORK/vault" issuer create --name pebble --provider ACME \
		--directory-url "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_TLS_CA" \
		--account-id "$PEBBLE_EAB_KID" --password-file "$WORK/hmac" \
		--email bench@example.com --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" >/dev/null
}

cv_policy() {
	printf '{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"x509_props":{"subject":"CN=%s","sans":{"dns_names":["%s"]}},"issuer":{"name":"pebble"}}' "$1" "$1"
}

cv_wait_loop() {
	local i
	for i in $(seq 1 "$N"); do
		"$CERTVAULT" --vault "$WORK/vault" certificate create --name "w$i" \
			--policy "$(cv_policy "cv-w$i.example.com")" --wait --timeout 120 \
			>>"$WORK/certvault.log" 2>&1 || return 1
	done
}

cv_batch() {
	local i
	for i in $(seq 1 "$N"); do
		"$CERTVAULT" --vault "$WORK/vault" certificate create --name "b$i" \
			--policy "$(cv_policy "cv-b$i.example.com")" >>"$WORK/certvault.log" 2>&1 || return 1
	done
	for i in $(seq 1 10); do
		timeout 300 "$CERTVAULT" --vault "$WORK/vault" run --once >>"$WORK/certvault.log" 2>&1 || return 1
		[ -z "$("$CERTVAULT" --vault "$WORK/vault" certificate list --json |
			jq -r '.[] | select(.pending == true) | .name')" ] && return 0
	done
	return 1
}

results=()
if want lego; then
	log "lego: $N certificates"
	results+=("$(measure lego lego_loop)")
fi
if want uacme; then
	if uacme_setup; then
		log "uacme: $N certificates"
		results+=("$(measure uacme uacme_loop)")
	else
		log "uacme: could not register: $(tail -3 "$WORK/uacme.log")"
	fi
	[ -n "${WEBROOT_PID:-}" ] && stop_pid "$WEBROOT_PID"
fi
if want certvault; then
	if cv_setup; then
		log "certvault: $N certificates with create --wait"
		results+=("$(measure certvault-wait cv_wait_loop)")
		log "certvault: $N creates, then run --once"
		results+=("$(measure certvault-batch cv_batch)")
	else
		log "certvault: setup failed"
	fi
fi

printf '%s\n' "${results[@]}"
echo
echo "| client | certificates | wall s | per minute | CPU ms per certificate |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}" | awk '
	{ for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
	f["failed"] == 1 { printf "| %s | failed | | | |\n", f["client"]; delete f; next }
	{ printf "| %s | %d | %.1f | %.1f | %.1f |\n", f["client"], f["certs"], f["wall_s"], f["per_min"], f["cpu_ms_per_cert"]; delete f }'
