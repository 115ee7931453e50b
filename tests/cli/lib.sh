# certvault command-line tests: what every test script shares.
#
# A test script does `. "$(dirname "$0")/lib.sh"`, then `need` for the
# programs it uses, `make_vault`, its checks, and `done_testing`.  Output is
# TAP: one `ok N - text` or `not ok N - text` per check and the plan
# `1..N` at the end.  Failures are reported, never fatal: the script always
# runs to the end and exits 0, so meson counts every check.
#
# Environment: CERTVAULT names the certvault binary (meson sets it);
# CERTVAULT_TESTS names this folder.  A missing external program skips the
# whole script: `1..0 # SKIP` and exit status 77 (meson's TAP protocol wants
# 0 with the skip plan, so meson.build sets CERTVAULT_SKIP_STATUS=0).

set -u

CERTVAULT=${CERTVAULT:-}
CERTVAULT_TESTS=${CERTVAULT_TESTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

TAP_N=0
TAP_FAILED=0
RC=0

skip_all() {
	echo "1..0 # SKIP $*"
	exit "${CERTVAULT_SKIP_STATUS:-77}"
}

need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip_all "needs $p"
	done
}

if [ -z "$CERTVAULT" ] || [ ! -x "$CERTVAULT" ]; then
	skip_all "CERTVAULT does not name the certvault program"
fi
need mktemp mdb_dump jq openssl

WORK=$(mktemp -d "${TMPDIR:-/tmp}/certvault-cli.XXXXXX") || exit 1
cleanup() {
	chmod -R u+rwx "$WORK" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK" || exit 1

# Nothing from the user's own setup leaks in.
export XDG_CONFIG_HOME="$WORK/xdg"
export HOME="$WORK/home"
mkdir -p "$HOME"
unset CERTVAULT_CONF CERTVAULT_VAULT CERTVAULT_NEW_PIN
export CERTVAULT_PIN=user-pin-1234
export CERTVAULT_SO_PIN=so-pin-5678
umask 022

VAULT="$WORK/vault"
OUT="$WORK/out"
ERR="$WORK/err"

# --- TAP -------------------------------------------------------------------

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

pass() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

# fail TEXT [DIAGNOSTIC...]
fail() {
	local text=$1
	shift
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $text"
	local l
	for l in "$@"; do
		diag "$l"
	done
}

skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 # SKIP $2"
}

# check TEXT COMMAND...: the command's exit status decides.
check() {
	local text=$1
	shift
	if "$@" >"$WORK/check.out" 2>&1; then
		pass "$text"
	else
		fail "$text" "$(head -c 2000 "$WORK/check.out")"
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

done_testing() {
	echo "1..$TAP_N"
	exit 0
}

# pkcs11-tool, as a command to run (also behind env or as_user).  In a build
# with AddressSanitizer the module needs ASan's runtime loaded first.
if [ -n "${CV_ASAN_PRELOAD:-}" ]; then
	P11TOOL=(env "LD_PRELOAD=$CV_ASAN_PRELOAD" "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" pkcs11-tool)
else
	P11TOOL=(pkcs11-tool)
fi

# --- Running certvault ------------------------------------------------------

# certvault on the test's vault.
cv() {
	"$CERTVAULT" --vault "$VAULT" "$@"
}

# Run certvault, stdout to $OUT, stderr to $ERR, exit status to $RC.
run_cv() {
	cv "$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# Run anything the same way.
run_any() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
}

# A JSON value from the last output.
jout() {
	jq -r "$1" <"$OUT"
}

make_vault() {
	run_cv vault create --name "${1:-testvault}"
	if [ "$RC" -ne 0 ]; then
		fail "make the test vault" "$(cat "$ERR")"
		done_testing
	fi
}

# Move on to a new, empty vault named after $1.  A key belongs to one
# certificate in a vault, so a test that imports one key under several
# names gives each of those imports a vault of its own.
fresh_vault() {
	VAULT="$WORK/vault-$1"
	make_vault
}

# The vault's whole content, every database, as text.
vault_dump() {
	mdb_dump -a "${1:-$VAULT}" 2>&1
}

expect_ok() {
	local text=$1
	shift
	run_cv "$@"
	if [ "$RC" -eq 0 ]; then
		pass "$text"
	else
		fail "$text" "exit $RC: $(cat "$ERR")"
	fi
}

# The last run failed with exactly one line on stderr holding WANT.
_refused_with() {
	local want=$1 lines
	lines=$(wc -l <"$ERR")
	[ "$RC" -ne 0 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$ERR"
}

# expect_fail_with TEXT SUBSTRING CERTVAULT-ARGS...
# Two checks: a non-zero exit with exactly one line on stderr holding
# SUBSTRING, and a vault left exactly as it was (mdb_dump before and after).
expect_fail_with() {
	local text=$1 want=$2 before after
	shift 2
	before=$(vault_dump)
	run_cv "$@"
	after=$(vault_dump)
	if _refused_with "$want"; then
		pass "$text: refused with \"$want\""
	else
		fail "$text: refused with \"$want\"" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
	if [ "$before" == "$after" ]; then
		pass "$text: vault unchanged"
	else
		fail "$text: vault unchanged" \
			"$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -20)"
	fi
}

# expect_usage TEXT SUBSTRING CERTVAULT-ARGS...: exit 2, one line.
expect_usage() {
	local text=$1 want=$2
	shift 2
	run_cv "$@"
	if [ "$RC" -eq 2 ] && _refused_with "$want"; then
		pass "$text"
	else
		fail "$text" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
}

# --- Policies and certificates ----------------------------------------------

# policy SUBJECT [ISSUER] [KEY_PROPS_JSON] [EXTRA_X509_JSON]: a REST policy.
policy() {
	local subject=$1 issuer=${2:-Self}
	local key=${3:-'{"kty":"RSA","key_size":2048}'} extra=${4:-'{}'}
	jq -cn --arg s "$subject" --arg i "$issuer" --argjson k "$key" \
		--argjson x "$extra" \
		'{key_props: ({exportable: true} + $k),
		  secret_props: {contentType: "application/x-pem-file"},
		  x509_props: ({subject: $s, validity_months: 12} + $x),
		  issuer: {name: $i}}'
}

# The current (or given) version's certificate as PEM in FILE.
cert_pem() {
	local name=$1 file=$2
	shift 2
	rm -f "$file"
	cv certificate download --name "$name" --file "$file" "$@" >/dev/null
}

# base64url SHA-1 of a PEM certificate's DER: Key Vault's x5t.
x5t_of() {
	openssl x509 -in "$1" -outform DER | openssl dgst -sha1 -binary |
		base64 | tr '+/' '-_' | tr -d '=\n'
}

# hex of a file, one line.
hex_of() {
	xxd -p "$1" | tr -d '\n'
}
