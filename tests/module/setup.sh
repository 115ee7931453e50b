#!/bin/bash
# The module suite's world: setup.sh TARGET SUITE
#
# TARGET is direct (certvault-pkcs11.so dlopen()ed), proxy (the same module
# behind p11-kit-proxy.so, registered in a p11-kit user config) or softhsm
# (SoftHSMv2, the reference).  In a temporary folder this makes what the
# target needs, runs SUITE against it with cmocka's TAP output, and removes
# the folder whatever happens.
#
#   vault targets: a test CA (openssl); the vault "TestToken" with
#     web-rsa (RSA 2048), web-ec (P-256), web-ec384 (P-384) issued by Self,
#     pending (issuer Unknown: a key pair, no certificate), disabled (P-256,
#     its version disabled), merged (P-256, its CSR signed by the test CA
#     and merged with the CA's certificate as its chain); the vault
#     "PinToken" whose PINs the suite changes and locks; an empty folder in
#     which C_InitToken makes a vault; the vault "Unsafe" in a folder others
#     may write (the module must refuse it: a slot without a token); a
#     config listing the four in that order.
#   softhsm: two tokens, "ref" and "refpins" (the suite makes the keys), and
#     SoftHSM's free slot.
#
# Environment: CERTVAULT (the tool) and CERTVAULT_MODULE (the module) for
# the vault targets; SOFTHSM_MODULE (default Debian's) for softhsm;
# CV_SUITE_TIMEOUT (seconds, default 110) bounds the run; CV_SUITE_WRAPPER
# runs the suite under a debugger ("gdb -batch -ex run -ex bt --args") or a
# checker ("valgrind --error-exitcode=99 ..."): with CV_SUITE_WRAPPER_ERROR
# set to the status the checker exits with when it found errors, one more
# test says whether it did (its reports are the "# " lines before).
#
# Output: the suite's TAP, renumbered, with each check that does not apply to
# the target (cmocka's "not ok N # SKIP name", the reason on the suite's
# "# skip:" line before it) stated as a "# not applicable" diagnostic and
# not counted, so a skip only ever means a missing program; one
# more test at the end (every known difference the run printed has its row
# in conformance/softhsm-differences.md), and the plan after it.  A run
# that ends by a signal or the time limit ends with "Bail out!"; one that
# stops early leaves results missing from the plan.  CV_THREAD_SECONDS
# (default 10) and CV_ALL_DIFFS=1 (print every known difference, not the
# first per test) are the suite's own.
# Exit status: 0 when the TAP was produced (the TAP says what failed), 77
# when a program the target needs is missing (CV_SKIP_STATUS overrides it:
# meson's TAP protocol wants 0 with the skip plan), 1 when the world could
# not be made.
set -u

TARGET=${1:-}
SUITE=${2:-}
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

skip_all() {
	echo "1..0 # SKIP $*"
	exit "${CV_SKIP_STATUS:-77}"
}

bail() {
	echo "Bail out! $*"
	exit 1
}

need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip_all "$p missing"
	done
}

case $TARGET in
direct | proxy | softhsm) ;;
*) bail "usage: setup.sh direct|proxy|softhsm SUITE" ;;
esac
[ -n "$SUITE" ] && [ -x "$SUITE" ] || bail "SUITE does not name the suite program (${SUITE:-unset})"
SUITE=$(readlink -f "$SUITE")
need mktemp timeout openssl awk

# p11-kit reads no user config in a process running as root ("skipping
# user config in program running as root"), so as root the proxy target
# runs as nobody, the world included; the programs only need to be
# readable and executable by all.
if [ "$TARGET" = proxy ] && [ "$(id -u)" = 0 ] && [ -z "${CV_SETUP_UNPRIVILEGED:-}" ]; then
	command -v setpriv >/dev/null 2>&1 ||
		skip_all "as root p11-kit ignores user configs, and setpriv (to run as nobody) is missing"
	[ -n "${CERTVAULT:-}" ] && CERTVAULT=$(readlink -f "$CERTVAULT")
	[ -n "${CERTVAULT_MODULE:-}" ] && CERTVAULT_MODULE=$(readlink -f "$CERTVAULT_MODULE")
	export CERTVAULT CERTVAULT_MODULE CV_SETUP_UNPRIVILEGED=1 TMPDIR=/tmp
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SUITE" ||
		skip_all "as root p11-kit ignores user configs, and nobody cannot run $SUITE"
	exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash "$(readlink -f "$0")" "$TARGET" "$SUITE"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certvault-module.XXXXXX") || bail "mktemp failed"
SUITE_PID=
cleanup() {
	[ -n "$SUITE_PID" ] && kill -KILL "$SUITE_PID" 2>/dev/null
	chmod -R u+rwx "$WORK" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
cd "$WORK" || bail "cd $WORK"

# Nothing of the user's own setup leaks in: p11-kit reads HOME, the module
# and the tool CERTVAULT_CONF / XDG_CONFIG_HOME, SoftHSM SOFTHSM2_CONF.
# CERTVAULT_STRICT stays unset: the suite passes NULL pointers on purpose,
# and the spec's answer is CKR_ARGUMENTS_BAD, not an abort.
export HOME="$WORK/home"
export XDG_CONFIG_HOME="$HOME/.config"
mkdir -p "$XDG_CONFIG_HOME"
unset CERTVAULT_CONF CERTVAULT_VAULT CERTVAULT_PIN CERTVAULT_SO_PIN \
	CERTVAULT_NEW_PIN CERTVAULT_STRICT CERTVAULT_DEBUG OPENSSL_CONF SOFTHSM2_CONF
umask 022

# --- The test CA (t_ca_issue reads ca.key and ca.pem) -------------------------

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -days 30 -subj "/CN=certvault module test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1 ||
	bail "openssl could not make the test CA"

# --- Vault targets --------------------------------------------------------------

USER_PIN=user-pin-1234
SO_PIN=so-pin-5678

cv() {
	"$CERTVAULT" "$@"
}

# policy NAME KEY_PROPS ISSUER: a Key Vault policy file, p-NAME.json.
policy() {
	printf '{"key_props":%s,"x509_props":{"subject":"CN=%s","validity_months":12},"issuer":{"name":"%s"}}\n' \
		"$2" "$1" "$3" >"p-$1.json"
}

# create VAULT NAME KEY_PROPS [ISSUER]
create() {
	policy "$2" "$3" "${4:-Self}"
	CERTVAULT_PIN=$USER_PIN cv certificate create --vault "$1" --name "$2" \
		--policy "@p-$2.json" >"out-$2" 2>&1 || bail "certificate create $2: $(cat "out-$2")"
}

make_vaults() {
	local rsa='{"kty":"RSA","key_size":2048,"exportable":false}'
	local p256='{"kty":"EC","crv":"P-256","exportable":false}'
	local p384='{"kty":"EC","crv":"P-384","exportable":false}'
	local v="$WORK/vault" pv="$WORK/pinvault" fresh="$WORK/fresh" unsafe="$WORK/unsafe"

	[ -n "${CERTVAULT:-}" ] && [ -x "$CERTVAULT" ] ||
		bail "CERTVAULT does not name the certvault tool (${CERTVAULT:-unset})"
	[ -n "${CERTVAULT_MODULE:-}" ] && [ -f "$CERTVAULT_MODULE" ] ||
		bail "CERTVAULT_MODULE does not name certvault-pkcs11.so (${CERTVAULT_MODULE:-unset})"
	CERTVAULT=$(readlink -f "$CERTVAULT")
	MODULE=$(readlink -f "$CERTVAULT_MODULE")

	printf '%s' "$USER_PIN" >pin
	printf '%s' "$SO_PIN" >so-pin
	chmod 600 pin so-pin
	cv vault create --vault "$v" --name TestToken --pin-file pin --so-pin-file so-pin --no-register \
		>out 2>&1 || bail "vault create TestToken: $(cat out)"
	cv vault create --vault "$pv" --name PinToken --pin-file pin --so-pin-file so-pin --no-register \
		>out 2>&1 || bail "vault create PinToken: $(cat out)"
	mkdir -m 700 "$fresh"
	cv vault create --vault "$unsafe" --name Unsafe --pin-file pin --so-pin-file so-pin --no-register \
		>out 2>&1 || bail "vault create Unsafe: $(cat out)"
	chmod 0777 "$unsafe"

	create "$v" web-rsa "$rsa"
	create "$v" web-ec "$p256"
	create "$v" web-ec384 "$p384"
	create "$v" pending "$rsa" Unknown
	create "$v" disabled "$p256"
	CERTVAULT_PIN=$USER_PIN cv certificate set-attributes --vault "$v" --name disabled --enabled false >out 2>&1 ||
		bail "set-attributes disabled: $(cat out)"

	# merged: its CSR signed by the test CA; the chain is leaf then CA.
	create "$v" merged "$p256" Unknown
	cv certificate pending csr --vault "$v" --name merged --file merged.csr >out 2>&1 ||
		bail "pending csr merged: $(cat out)"
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' >leaf.ext
	openssl x509 -req -in merged.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-days 20 -sha256 -extfile leaf.ext -out merged.pem >out 2>&1 ||
		bail "openssl x509 -req: $(cat out)"
	cat merged.pem ca.pem >merged-chain.pem
	CERTVAULT_PIN=$USER_PIN cv certificate pending merge --vault "$v" --name merged \
		--file merged-chain.pem >out 2>&1 || bail "pending merge merged: $(cat out)"

	printf '# module suite: two vaults, a folder for C_InitToken, a vault to refuse\n' >certvault.conf
	printf 'vault = %s\n' "$v" "$pv" "$fresh" "$unsafe" >>certvault.conf
	chmod 644 certvault.conf
	export CERTVAULT_CONF="$WORK/certvault.conf"
	export CV_VAULT_DIR="$v" CV_PIN_VAULT_DIR="$pv" CV_FRESH_DIR="$fresh"
	export CV_TOKEN_LABEL=TestToken CV_PIN_TOKEN_LABEL=PinToken
	export CV_USER_PIN=$USER_PIN CV_SO_PIN=$SO_PIN
	export CERTVAULT
}

# --- Targets ----------------------------------------------------------------------

case $TARGET in
direct)
	make_vaults
	export CV_TEST_LIBRARY="$MODULE"
	;;
proxy)
	need pkg-config
	PROXY=$(pkg-config p11-kit-1 --variable=proxy_module 2>/dev/null)
	[ -n "$PROXY" ] && [ -f "$PROXY" ] || skip_all "p11-kit-proxy.so missing"
	make_vaults
	# The module in the user's p11-kit config; the system's other modules
	# are kept out of the proxy so that it shows certvault's slots only.
	mkdir -p "$XDG_CONFIG_HOME/pkcs11/modules"
	printf 'module: %s\n' "$MODULE" >"$XDG_CONFIG_HOME/pkcs11/modules/certvault.module"
	for m in /usr/share/p11-kit/modules/*.module /etc/pkcs11/modules/*.module; do
		[ -f "$m" ] || continue
		[ "$(basename "$m")" = certvault.module ] && continue
		printf 'disable-in: p11-kit-proxy\n' >"$XDG_CONFIG_HOME/pkcs11/modules/$(basename "$m")"
	done
	export CV_TEST_LIBRARY="$PROXY"
	;;
softhsm)
	need softhsm2-util
	[ -f "$SOFTHSM_MODULE" ] || skip_all "$SOFTHSM_MODULE missing"
	mkdir -p softhsm
	printf 'directories.tokendir = %s/softhsm\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$WORK" >softhsm2.conf
	export SOFTHSM2_CONF="$WORK/softhsm2.conf"
	for label in ref refpins; do
		softhsm2-util --init-token --free --label "$label" --pin 1234 --so-pin 12345678 \
			>out 2>&1 || bail "softhsm2-util --init-token $label: $(cat out)"
	done
	export CV_TOKEN_LABEL=ref CV_PIN_TOKEN_LABEL=refpins
	export CV_USER_PIN=1234 CV_SO_PIN=12345678
	export CV_TEST_LIBRARY="$SOFTHSM_MODULE"
	;;
esac
export CV_WORK="$WORK"
export CMOCKA_MESSAGE_OUTPUT=TAP

# --- The run ----------------------------------------------------------------------

# stdout through a FIFO, so that the suite's own status is known and a
# time limit can stop it; cmocka's failure texts (stderr) become TAP
# diagnostics.  cmocka's plan is moved to the end, one more than its count:
# the last test is that every known difference the run printed has its row
# in conformance/softhsm-differences.md.
DOC=$(cd "$(dirname "$(readlink -f "$0")")/../../conformance" 2>/dev/null && pwd)/softhsm-differences.md
mkfifo tap.fifo || bail "mkfifo failed"
# shellcheck disable=SC2086 # CV_SUITE_WRAPPER is words: "gdb -batch -ex run -ex bt --args"
timeout -k 5 "${CV_SUITE_TIMEOUT:-110}" ${CV_SUITE_WRAPPER:-} "$SUITE" "$TARGET" >tap.fifo 2>&1 &
SUITE_PID=$!
awk -v refs="$WORK/refs" -v planf="$WORK/plan" -v target="$TARGET" '
	/^# skip: / { reason = substr($0, 9); next }
	/^# (softhsm|p11-kit-proxy) differs: \[/ {
		r = $0; sub(/^[^[]*\[/, "", r); sub(/\].*$/, "", r)
		print r >> refs
		print; next
	}
	/^1\.\.[0-9]+$/ { next }
	/^not ok [0-9]+ # SKIP / {
		name = $0; sub(/^not ok [0-9]+ # SKIP /, "", name)
		printf "# not applicable to %s: %s (%s)\n", target, name,
		       reason != "" ? reason : "no reason given"
		reason = ""; next
	}
	/^(ok|not ok) [0-9]+/ {
		reason = ""
		line = $0; verdict = ($1 == "ok") ? "ok" : "not ok"
		sub(/^(ok|not ok) [0-9]+/, "", line)
		printf "%s %d%s\n", verdict, ++out, line
		next
	}
	/^(#|Bail out!)/ { print; next }
	{ print "# " $0 }
	END { print out + 0 > planf }
' <tap.fifo
wait "$SUITE_PID"
status=$?
SUITE_PID=
if [ "$status" -ge 124 ]; then
	echo "Bail out! the suite ended with status $status (124: time limit; 128+N: signal N)"
	exit 0
fi
plan=$(cat plan 2>/dev/null)
[ -n "$plan" ] && [ "$plan" -gt 0 ] || { echo "Bail out! the suite printed no plan"; exit 0; }
missing=
if [ -s refs ]; then
	for r in $(sort -u refs); do
		[ -f "$DOC" ] && grep -q -- "\`$r\`" "$DOC" || missing="$missing $r"
	done
fi
n=$((plan + 1))
if [ -z "$missing" ]; then
	echo "ok $n - every known difference is in conformance/softhsm-differences.md"
else
	echo "not ok $n - known differences without a row in conformance/softhsm-differences.md"
	echo "#$missing"
fi
if [ -n "${CV_SUITE_WRAPPER_ERROR:-}" ]; then
	n=$((n + 1))
	if [ "$status" = "$CV_SUITE_WRAPPER_ERROR" ]; then
		echo "not ok $n - ${CV_SUITE_WRAPPER%% *} reported errors (exit status $status; its reports are above)"
	else
		echo "ok $n - ${CV_SUITE_WRAPPER%% *} reported no errors"
	fi
fi
echo "1..$n"
exit 0
