# certvault conformance tests: what every script shares.
#
# A script does `. "$(dirname "$0")/lib.sh"`, `need` for the programs it
# drives, `make_target`, its checks, and `done_testing`.  Output is TAP: one
# `ok N - text` / `not ok N - text` per check and the plan `1..N` at the end.
# Checks never stop the script: it runs to the end and exits 0, so every
# check is counted.  A missing program skips the whole script: `1..0 # SKIP
# <program> missing` and exit 77 (meson's TAP protocol wants 0 with the skip
# plan, so meson.build sets CONFORMANCE_SKIP_STATUS=0, as tests/cli does).
#
# Environment (meson sets the first three):
#   CERTVAULT          the certvault tool
#   CERTVAULT_MODULE   certvault-pkcs11.so
#   CONFORMANCE_DIR    this folder
#   CONFORMANCE_TARGET certvault (default) or softhsm: the same client checks
#                      against SoftHSMv2 as the reference (see
#                      test_softhsm_reference.sh).  Checks that depend on
#                      what only a vault holds are skipped there.
#
# What make_target leaves for the checks, the same for both targets:
#   MODULE          the PKCS#11 module to load
#   TOKEN PIN SO_PIN PINFILE
#   TOKEN_MANUFACTURER TOKEN_MODEL TOKEN_SERIAL   as C_GetTokenInfo gives them
#   RSA_NAME EC_NAME   labels of the RSA-2048 and EC P-256 key pairs and
#                      certificates (CN=localhost, SANs localhost, 127.0.0.1)
#   RSA_PEM EC_PEM     the certificates; RSA_PUB EC_PUB their public keys (PEM)
#   RSA_ID EC_ID       the CKA_IDs, lowercase hex
#   RSA_URI EC_URI     RFC 7512 URIs of the private keys (type=private)
#   RSA_CERT_URI EC_CERT_URI   the certificates' URIs
# certvault only: VAULT, CERTVAULT_CONF (exported), PENDING_NAME (a
# certificate whose operation waits for a merge: a key pair, no certificate).

set -u

CERTVAULT=${CERTVAULT:-}
CERTVAULT_MODULE=${CERTVAULT_MODULE:-}
CONFORMANCE_DIR=${CONFORMANCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
TARGET=${CONFORMANCE_TARGET:-certvault}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
ENGINE_PATH=${ENGINE_PATH:-}

TAP_N=0
TAP_FAILED=0
RC=0
DIFFERS=

# --- TAP -------------------------------------------------------------------

skip_all() {
	echo "1..0 # SKIP $*"
	exit "${CONFORMANCE_SKIP_STATUS:-77}"
}

# need PROGRAM...: skip the whole script when one is missing.
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip_all "$p missing"
	done
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# The next check is one where SoftHSMv2 is known to answer otherwise (README's
# table).  In the reference run the check asserts that recorded difference:
# it passes while SoftHSMv2 answers as recorded, and fails if it stops, so
# the table cannot go stale.
softhsm_differs() {
	DIFFERS=$1
}

pass() {
	TAP_N=$((TAP_N + 1))
	if [ "$TARGET" = softhsm ] && [ -n "$DIFFERS" ]; then
		# The table says SoftHSMv2 answers otherwise: it no longer does.
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $1: SoftHSMv2 no longer differs as recorded ($DIFFERS); update the conformance table"
	else
		echo "ok $TAP_N - $1"
	fi
	DIFFERS=
}

# fail TEXT [DIAGNOSTIC...]
fail() {
	local text=$1 l
	shift
	TAP_N=$((TAP_N + 1))
	if [ "$TARGET" = softhsm ] && [ -n "$DIFFERS" ]; then
		# The reference answers as the conformance table records.
		echo "ok $TAP_N - $text: SoftHSMv2 differs as recorded: $DIFFERS"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $text"
	fi
	DIFFERS=
	for l in "$@"; do
		diag "$l"
	done
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
	DIFFERS=
}

# check TEXT COMMAND...: the command's exit status decides; its output is
# shown on failure.
check() {
	local text=$1
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		pass "$text"
	else
		fail "$text" "exit $?: $*" "$(head -c 3000 "$WORK/check.out")"
	fi
}

# check_eq TEXT GOT WANT
check_eq() {
	if [ "$2" == "$3" ]; then
		pass "$1"
	else
		fail "$1" "got:  $2" "want: $3"
	fi
}

# check_grep TEXT FILE ERE: a line of FILE matches.
check_grep() {
	if grep -qE -- "$3" "$2"; then
		pass "$1"
	else
		fail "$1" "no line matches /$3/ in:" "$(head -c 3000 "$2")"
	fi
}

# Only for the certvault target.  In the reference run the check does not
# apply (it asks about what only a vault holds): it is named in a diagnostic
# and not counted, so a skip always means a missing program.
certvault_only() {
	[ "$TARGET" = certvault ] && return 0
	diag "not applicable to SoftHSMv2 (vault content): $1"
	DIFFERS=
	return 1
}

done_testing() {
	echo "1..$TAP_N"
	exit 0
}

# run CMD...: stdout to $OUT, stderr to $ERR, status to $RC, at most 30 s.
run() {
	timeout -k 5 30 "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# --- Work folder, servers and cleanup ----------------------------------------

need mktemp timeout openssl xxd ss

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certvault-conf.XXXXXX") || exit 1
OUT="$WORK/out"
ERR="$WORK/err"
PIDS=()
CLEANUP_HOOKS=()
NSPID=
NSRUN=()

# stop_pid PID: TERM, at most 5 s of waiting, then KILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# track PID: stop it when the script ends.
track() {
	PIDS+=("$1")
}

# on_exit COMMAND: run it (eval) when the script ends, before the servers
# are killed (nginx -s quit).
on_exit() {
	CLEANUP_HOOKS+=("$1")
}

cleanup() {
	local h p
	for h in "${CLEANUP_HOOKS[@]}"; do
		eval "$h" >/dev/null 2>&1
	done
	for p in "${PIDS[@]}"; do
		stop_pid "$p"
	done
	[ -n "$NSPID" ] && stop_pid "$NSPID"
	chmod -R u+rwx "$WORK" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$WORK" || exit 1

# Against a module built with AddressSanitizer (meson sets CV_ASAN_PRELOAD
# in such a build) a client, which is not built with it, needs the
# sanitizers' runtime loaded before the module.  Each client that may load
# the module runs through a wrapper in $WORK/asan-bin, first on PATH, that
# preloads it; nothing else does (ps and the p11-kit program hang with it,
# before any module is loaded).  Leak checks are off in the clients and in
# the tool here: the pkcs11 engine an OPENSSL_CONF of these tests loads
# into every OpenSSL program leaks when OpenSSL unloads it.  The module's
# leaks are counted by the module suite (an instrumented program, and under
# valgrind), the tool's by tests/cli.
if [ -n "${CV_ASAN_PRELOAD:-}" ]; then
	mkdir -p "$WORK/asan-bin"
	chmod 755 "$WORK/asan-bin"
	for _p in pkcs11-tool p11tool openssl nginx certutil modutil pk12util tstclnt \
		vfychain selfserv gnutls-cli gnutls-serv softhsm2-util "$CERTVAULT"; do
		[ -n "$_p" ] || continue
		_path=$(command -v "$_p") || continue
		printf '#!/bin/sh\nLD_PRELOAD=%q ASAN_OPTIONS=%q exec %q "$@"\n' \
			"$CV_ASAN_PRELOAD" "${ASAN_OPTIONS:-}:detect_leaks=0" "$_path" \
			>"$WORK/asan-bin/${_p##*/}"
		chmod 755 "$WORK/asan-bin/${_p##*/}"
	done
	[ -n "$CERTVAULT" ] && CERTVAULT="$WORK/asan-bin/${CERTVAULT##*/}"
	unset _p _path
	export PATH="$WORK/asan-bin:$PATH"
fi

# Nothing from the user's own setup leaks in: p11-kit, GnuTLS and NSS read
# HOME; the module and the tool read CERTVAULT_CONF / XDG_CONFIG_HOME.
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$HOME/.config"
mkdir -p "$HOME/.config"
unset CERTVAULT_CONF CERTVAULT_VAULT CERTVAULT_PIN CERTVAULT_SO_PIN OPENSSL_CONF \
	GNUTLS_PIN GNUTLS_SO_PIN SOFTHSM2_CONF
umask 022

# A network namespace with nothing but loopback, for servers that have no
# option to listen on 127.0.0.1 only (gnutls-serv, selfserv): afterwards
# `"${NSRUN[@]}" CMD` runs CMD inside it.  Returns 1 when it cannot be made.
netns_start() {
	local i
	command -v unshare >/dev/null && command -v nsenter >/dev/null || return 1
	unshare -n sleep 600 &
	NSPID=$!
	for i in $(seq 1 50); do
		[ "$(readlink "/proc/$NSPID/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] &&
			[ "$(readlink "/proc/$NSPID/exe" 2>/dev/null)" != "$(command -v unshare)" ] && break
		sleep 0.1
	done
	NSRUN=(nsenter -t "$NSPID" -n)
	"${NSRUN[@]}" ip link set lo up 2>/dev/null || { NSRUN=(); return 1; }
	return 0
}

port_in_use() {
	"${NSRUN[@]}" ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# A free TCP port in 20000-32767: below the kernel's ephemeral range
# (32768 on), which the clients of tests running beside this one draw
# from, and from a random start, so two tests started together seldom try
# the same one.
free_port() {
	local p=$((20000 + (RANDOM + $$ + TAP_N) % 12768)) i
	for i in $(seq 1 100); do
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
		p=$((20000 + (p - 20000 + 7) % 12768))
	done
	return 1
}

# wait_port PORT PID: until something listens on PORT (at most 15 s), or PID
# died.
wait_port() {
	local i
	for i in $(seq 1 150); do
		port_in_use "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# --- RFC 7512 ----------------------------------------------------------------

# pct TEXT: %-encode what pk11-pchar does not allow.
pct() {
	local s=$1 out= c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[a-zA-Z0-9._~:@!\$\'\(\)*+,=\&\[\]-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# pct_hex HEX: every byte %-encoded.
pct_hex() {
	printf '%s' "$1" | tr 'a-f' 'A-F' | sed 's/../%&/g'
}

# --- Keys and certificates -----------------------------------------------------

# key_id CERT.pem: CKA_ID as NSS expects (SHA-1 of the modulus or EC point).
key_id() {
	local pub
	pub=$(openssl x509 -in "$1" -noout -pubkey)
	if openssl rsa -pubin -noout <<<"$pub" 2>/dev/null; then
		openssl rsa -pubin -noout -modulus <<<"$pub" | cut -d= -f2 | xxd -r -p |
			openssl dgst -sha1 -r | cut -c1-40
	else
		openssl pkey -pubin -outform DER <<<"$pub" | tail -c 65 |
			openssl dgst -sha1 -r | cut -c1-40
	fi
}

# --- Targets -------------------------------------------------------------------

PIN=1234
SO_PIN=5678
TOKEN=ConfToken
RSA_NAME=web
EC_NAME=web-ec
PENDING_NAME=pending
PINFILE="$WORK/pin"

policy_json() {
	local key=$1 issuer=${2:-Self} subject=${3:-CN=localhost}
	printf '{"key_props":%s,"x509_props":{"subject":"%s","sans":{"dns_names":["localhost"],"ipAddresses":["127.0.0.1"]},"ekus":["1.3.6.1.5.5.7.3.1"],"validity_months":12},"issuer":{"name":"%s"}}' \
		"$key" "$subject" "$issuer"
}
RSA_KEY_PROPS='{"kty":"RSA","key_size":2048,"exportable":false}'
EC_KEY_PROPS='{"kty":"EC","crv":"P-256","exportable":false}'

cv() {
	"$CERTVAULT" "$@"
}

# cv_create NAME KEY_PROPS [ISSUER]: a certificate in the vault.
cv_create() {
	policy_json "$2" "${3:-Self}" >"$WORK/policy-$1.json"
	CERTVAULT_PIN=$PIN cv certificate create --name "$1" --policy "@$WORK/policy-$1.json" >/dev/null
}

setup_certvault() {
	if [ -z "$CERTVAULT" ] || [ ! -x "$CERTVAULT" ]; then
		echo "Bail out! CERTVAULT does not name the certvault tool"
		exit 1
	fi
	if [ -z "$CERTVAULT_MODULE" ] || [ ! -f "$CERTVAULT_MODULE" ]; then
		echo "Bail out! CERTVAULT_MODULE does not name certvault-pkcs11.so (${CERTVAULT_MODULE:-unset})"
		exit 1
	fi
	MODULE=$(readlink -f "$CERTVAULT_MODULE")
	CERTVAULT=$(readlink -f "$CERTVAULT")
	VAULT="$WORK/vault"
	printf '%s' "$PIN" >"$PINFILE"
	printf '%s\n' "$SO_PIN" >"$WORK/so-pin"
	chmod 600 "$PINFILE" "$WORK/so-pin"
	printf '# conformance vault\nvault = %s\n' "$VAULT" >"$WORK/certvault.conf"
	chmod 644 "$WORK/certvault.conf"
	export CERTVAULT_CONF="$WORK/certvault.conf"
	if ! cv vault create --vault "$VAULT" --name "$TOKEN" --pin-file "$PINFILE" \
		--so-pin-file "$WORK/so-pin" >"$OUT" 2>"$ERR"; then
		echo "Bail out! certvault vault create: $(cat "$ERR")"
		exit 1
	fi
	if ! cv_create "$RSA_NAME" "$RSA_KEY_PROPS" || ! cv_create "$EC_NAME" "$EC_KEY_PROPS" ||
		! cv_create "$PENDING_NAME" "$RSA_KEY_PROPS" Unknown; then
		echo "Bail out! certvault certificate create failed"
		exit 1
	fi
	cv certificate download --name "$RSA_NAME" --file "$WORK/$RSA_NAME.pem" >/dev/null &&
		cv certificate download --name "$EC_NAME" --file "$WORK/$EC_NAME.pem" >/dev/null || {
		echo "Bail out! certvault certificate download failed"
		exit 1
	}
	TOKEN_MANUFACTURER=certvault
	TOKEN_MODEL="LMDB vault"
	TOKEN_SERIAL=$(cv vault show --json | sed -n 's/^ *"serial": "\(.*\)",*$/\1/p')
	# Pinned (id=, as the SoftHSM target's and as p11tool prints them);
	# test_nginx_versions.sh uses the default URI that follows versions.
	RSA_URI=$(cv certificate uri --name "$RSA_NAME" --pin-version)
	EC_URI=$(cv certificate uri --name "$EC_NAME" --pin-version)
	RSA_CERT_URI=$(cv certificate uri --name "$RSA_NAME" --type cert --pin-version)
	EC_CERT_URI=$(cv certificate uri --name "$EC_NAME" --type cert --pin-version)
}

# SoftHSMv2: a token of the same label and PINs holding the same kinds of
# keys and certificates, imported from files openssl makes.
setup_softhsm() {
	need softhsm2-util pkcs11-tool
	[ -f "$SOFTHSM_MODULE" ] || skip_all "$SOFTHSM_MODULE missing"
	MODULE=$SOFTHSM_MODULE
	mkdir -p "$WORK/softhsm"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$WORK/softhsm" >"$WORK/softhsm2.conf"
	export SOFTHSM2_CONF="$WORK/softhsm2.conf"
	printf '%s' "$PIN" >"$PINFILE"
	chmod 600 "$PINFILE"
	softhsm2-util --init-token --free --label "$TOKEN" --pin "$PIN" --so-pin "$SO_PIN" \
		>/dev/null || { echo "Bail out! softhsm2-util --init-token failed"; exit 1; }
	local name alg id
	for name in "$RSA_NAME" "$EC_NAME"; do
		if [ "$name" = "$RSA_NAME" ]; then
			alg=(-newkey rsa:2048)
		else
			alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
		fi
		openssl req -x509 "${alg[@]}" -nodes -keyout "$WORK/$name.key" \
			-out "$WORK/$name.pem" -subj /CN=localhost -days 365 \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
			-addext "extendedKeyUsage=serverAuth" -addext "basicConstraints=critical,CA:FALSE" \
			-addext "keyUsage=critical,digitalSignature$([ "$name" = "$RSA_NAME" ] && echo ,keyEncipherment)" \
			2>/dev/null
		openssl pkcs8 -topk8 -nocrypt -in "$WORK/$name.key" -outform DER -out "$WORK/$name.p8"
		openssl pkey -in "$WORK/$name.key" -pubout -outform DER -out "$WORK/$name.pub.der"
		openssl x509 -in "$WORK/$name.pem" -outform DER -out "$WORK/$name.der"
		id=$(key_id "$WORK/$name.pem")
		pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" \
			--write-object "$WORK/$name.p8" --type privkey --id "$id" --label "$name" \
			--usage-sign $([ "$name" = "$RSA_NAME" ] && echo --usage-decrypt) >/dev/null 2>&1 &&
		pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" \
			--write-object "$WORK/$name.pub.der" --type pubkey --id "$id" --label "$name" \
			--usage-sign $([ "$name" = "$RSA_NAME" ] && echo --usage-decrypt) >/dev/null 2>&1 &&
		pkcs11-tool --module "$MODULE" --token-label "$TOKEN" --login --pin "$PIN" \
			--write-object "$WORK/$name.der" --type cert --id "$id" --label "$name" \
			>/dev/null 2>&1 || { echo "Bail out! pkcs11-tool --write-object into SoftHSM failed"; exit 1; }
		rm -f "$WORK/$name.key" "$WORK/$name.p8"
	done
	TOKEN_MANUFACTURER="SoftHSM project"
	TOKEN_MODEL="SoftHSM v2"
	TOKEN_SERIAL=$(pkcs11-tool --module "$MODULE" -L 2>/dev/null |
		sed -n 's/^ *serial num *: *\([^ ]*\) *$/\1/p' | head -1)
	local tok
	tok="pkcs11:model=$(pct "$TOKEN_MODEL");manufacturer=$(pct "$TOKEN_MANUFACTURER");serial=$TOKEN_SERIAL;token=$TOKEN"
	id=$(key_id "$WORK/$RSA_NAME.pem")
	RSA_URI="$tok;id=$(pct_hex "$id");object=$RSA_NAME;type=private"
	RSA_CERT_URI="$tok;id=$(pct_hex "$id");object=$RSA_NAME;type=cert"
	id=$(key_id "$WORK/$EC_NAME.pem")
	EC_URI="$tok;id=$(pct_hex "$id");object=$EC_NAME;type=private"
	EC_CERT_URI="$tok;id=$(pct_hex "$id");object=$EC_NAME;type=cert"
}

make_target() {
	case $TARGET in
	certvault) setup_certvault ;;
	softhsm) setup_softhsm ;;
	*) echo "Bail out! CONFORMANCE_TARGET is certvault or softhsm, not $TARGET"; exit 1 ;;
	esac
	RSA_PEM="$WORK/$RSA_NAME.pem"
	EC_PEM="$WORK/$EC_NAME.pem"
	RSA_PUB="$WORK/$RSA_NAME.pub.pem"
	EC_PUB="$WORK/$EC_NAME.pub.pem"
	openssl x509 -in "$RSA_PEM" -noout -pubkey >"$RSA_PUB"
	openssl x509 -in "$EC_PEM" -noout -pubkey >"$EC_PUB"
	RSA_ID=$(key_id "$RSA_PEM")
	EC_ID=$(key_id "$EC_PEM")
	printf 'conformance data to sign\n' >"$WORK/data"
	openssl dgst -sha256 -binary "$WORK/data" >"$WORK/data.sha256"
}

# The pkcs11 engine of libp11, and an OpenSSL config that loads it with
# MODULE: sets OPENSSL_CNF (not exported; callers choose where it applies).
# engine_config [INIT]: INIT 1 initializes the engine when the config loads,
# as servers that never call ENGINE_init (nginx) need; the openssl command's
# -engine does it itself.
engine_config() {
	local e init=${1:-0}
	for e in "$ENGINE_PATH" /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so \
		/usr/lib/*/engines-3/pkcs11.so; do
		[ -n "$e" ] && [ -f "$e" ] && { ENGINE_PATH=$e; break; }
	done
	[ -n "$ENGINE_PATH" ] && [ -f "$ENGINE_PATH" ] || return 1
	OPENSSL_CNF="$WORK/openssl-engine-init$init.cnf"
	cat >"$OPENSSL_CNF" <<-EOF
	openssl_conf = openssl_init

	[openssl_init]
	engines = engine_section

	[engine_section]
	pkcs11 = pkcs11_section

	[pkcs11_section]
	engine_id = pkcs11
	dynamic_path = $ENGINE_PATH
	MODULE_PATH = $MODULE
	init = $init
	EOF
	chmod 644 "$OPENSSL_CNF"
}
