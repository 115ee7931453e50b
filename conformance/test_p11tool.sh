#!/bin/bash
# GnuTLS against the module: p11tool lists the token, certificates and
# private keys by RFC 7512 URI (those `certvault certificate uri` prints),
# signs with RSA, RSA-PSS and ECDSA keys, and gnutls-serv serves TLS with a
# key on the token to gnutls-cli.
. "$(dirname "$0")/lib.sh"
need p11tool gnutls-serv gnutls-cli
make_target

P11TOOL=(p11tool --provider "$MODULE")
export GNUTLS_PIN=$PIN

# The token part of a URI: everything before ;id= or ;object=.
token_part() {
	local t=${1%%;id=*}

	printf '%s' "${t%%;object=*}"
}

# check_url TEXT FILE URI: p11tool printed exactly URI as an URL.
check_url() {
	if sed -n 's/^[[:space:]]*URL: //p' "$2" | grep -qxF -- "$3"; then
		pass "$1"
	else
		fail "$1" "want URL: $3" "$(grep URL: "$2")"
	fi
}

# --- Listing -------------------------------------------------------------------

run "${P11TOOL[@]}" --list-tokens
cp "$OUT" "$WORK/tokens.out"
check_eq "--list-tokens exits 0" "$RC" 0
check_grep "--list-tokens: Label $TOKEN" "$WORK/tokens.out" "^[[:space:]]*Label: $TOKEN\$"
check_grep "--list-tokens: Manufacturer $TOKEN_MANUFACTURER" "$WORK/tokens.out" \
	"^[[:space:]]*Manufacturer: $TOKEN_MANUFACTURER\$"
check_grep "--list-tokens: Model $TOKEN_MODEL" "$WORK/tokens.out" "^[[:space:]]*Model: $TOKEN_MODEL\$"
check_grep "--list-tokens: Serial $TOKEN_SERIAL" "$WORK/tokens.out" "^[[:space:]]*Serial: $TOKEN_SERIAL\$"
check_url "--list-tokens: the token's URL is the token part of the key's URI" \
	"$WORK/tokens.out" "$(token_part "$RSA_URI")"

run "${P11TOOL[@]}" --list-all-certs "$(token_part "$RSA_URI")"
cp "$OUT" "$WORK/certs.out"
check_eq "--list-all-certs on the token exits 0" "$RC" 0
check "--list-all-certs on the token: $RSA_NAME and $EC_NAME" \
	test -n "$(grep -E "^[[:space:]]*Label: $RSA_NAME\$" "$WORK/certs.out")" \
	-a -n "$(grep -E "^[[:space:]]*Label: $EC_NAME\$" "$WORK/certs.out")"
if certvault_only "--list-all-certs: no certificate for the pending key pair"; then
	check "--list-all-certs: no certificate for the pending key pair" \
		test -z "$(grep -E "Label: $PENDING_NAME\$" "$WORK/certs.out")"
fi

run "${P11TOOL[@]}" --list-all-certs "$RSA_CERT_URI"
cp "$OUT" "$WORK/cert.out"
check "--list-all-certs by the certificate's URI finds exactly it" \
	test "$RC" -eq 0 -a "$(grep -c '^Object ' "$WORK/cert.out")" -eq 1 \
	-a -n "$(grep -E "Label: $RSA_NAME\$" "$WORK/cert.out")"
check_url "the certificate's URL is the URI (id, object, type=cert)" "$WORK/cert.out" \
	"$RSA_CERT_URI"
run "${P11TOOL[@]}" --export "$RSA_CERT_URI"
openssl x509 -in "$OUT" -outform DER -out "$WORK/exported.der" 2>/dev/null
openssl x509 -in "$RSA_PEM" -outform DER -out "$WORK/rsa.der"
check "--export by URI gives the certificate" cmp "$WORK/exported.der" "$WORK/rsa.der"

run "${P11TOOL[@]}" --list-privkeys "$(token_part "$RSA_URI")"
check "--list-privkeys without --login lists no private key" \
	test -z "$(grep -E 'Type: Private key' "$OUT")"
run "${P11TOOL[@]}" --login --list-privkeys "$RSA_URI"
cp "$OUT" "$WORK/priv.out"
check "--login --list-privkeys by the key's URI finds exactly it" \
	test "$RC" -eq 0 -a "$(grep -c '^Object ' "$WORK/priv.out")" -eq 1 \
	-a -n "$(grep -E "Type: Private key \(RSA-2048\)" "$WORK/priv.out")"
check "the private key is CKA_PRIVATE and CKA_SENSITIVE" \
	test -n "$(grep -E "Flags:.*CKA_PRIVATE;" "$WORK/priv.out")" -a -n "$(grep -E "Flags:.*CKA_SENSITIVE;" "$WORK/priv.out")"
if certvault_only "the private key is CKA_NEVER_EXTRACTABLE"; then
	check_grep "the private key is CKA_NEVER_EXTRACTABLE" "$WORK/priv.out" \
		"Flags:.*CKA_NEVER_EXTRACTABLE"
fi
run "${P11TOOL[@]}" --login --list-privkeys "$EC_URI"
check "--login --list-privkeys by the EC key's URI: EC/ECDSA-SECP256R1" \
	test "$RC" -eq 0 -a -n "$(grep -E 'Type: Private key \(EC/ECDSA-SECP256R1\)' "$OUT")"

# --- Signatures ----------------------------------------------------------------------

# test_sign TEXT URI [p11tool options]: p11tool signs, then verifies with the
# key's parameters and with the public key on the token.
test_sign() {
	local text=$1 uri=$2
	shift 2
	run "${P11TOOL[@]}" --login --test-sign "$@" "$uri"
	if [ "$RC" -eq 0 ] && cat "$OUT" "$ERR" | grep -q 'Verifying against public key in the token... ok'; then
		pass "$text"
	else
		fail "$text" "exit $RC" "$(cat "$OUT" "$ERR" | head -c 2000)"
	fi
}
test_sign "--test-sign RSA (RSA-SHA256)" "$RSA_URI"
test_sign "--test-sign --sign-params RSA-PSS (RSA-PSS-SHA256)" "$RSA_URI" --sign-params RSA-PSS
test_sign "--test-sign --sign-params RSA-PSS --hash SHA384" "$RSA_URI" --sign-params RSA-PSS --hash SHA384
test_sign "--test-sign ECDSA (ECDSA-SHA256)" "$EC_URI"
test_sign "--test-sign ECDSA --hash SHA384" "$EC_URI" --hash SHA384
run env -u GNUTLS_PIN GNUTLS_PIN=0000 "${P11TOOL[@]}" --login --test-sign "$RSA_URI"
check "--test-sign with a wrong PIN fails" test "$RC" -ne 0

# --- TLS: gnutls-serv with the key on the token ----------------------------------------

# gnutls-serv cannot be told to listen on loopback only; it runs in a network
# namespace that has nothing else.
# tls TEXT CERT URI: a handshake and an echoed line.
tls() {
	local text=$1 cert=$2 uri=$3 port srv
	if [ ${#NSRUN[@]} -eq 0 ]; then
		skip "$text" "no loopback-only network namespace (unshare -n)"
		return
	fi
	port=$(free_port)
	"${NSRUN[@]}" gnutls-serv --provider "$MODULE" --x509certfile "$cert" \
		--x509keyfile "$uri?pin-value=$PIN" -p "$port" --echo >"$WORK/serv.log" 2>&1 &
	srv=$!
	track "$srv"
	if ! wait_port "$port" "$srv"; then
		fail "$text" "gnutls-serv did not listen:" "$(tail -20 "$WORK/serv.log")"
		stop_pid "$srv"
		return
	fi
	(printf 'hello over the token\n'; sleep 2) |
		timeout -k 2 15 "${NSRUN[@]}" gnutls-cli --x509cafile "$cert" -p "$port" localhost \
		>"$WORK/cli.log" 2>&1
	stop_pid "$srv"
	if grep -q 'Handshake was completed' "$WORK/cli.log" &&
		grep -qx 'hello over the token' "$WORK/cli.log"; then
		pass "$text"
	else
		fail "$text" "client:" "$(tail -20 "$WORK/cli.log")" "server:" "$(tail -20 "$WORK/serv.log")"
	fi
}

netns_start
tls "gnutls-serv (RSA key by URI with pin-value) and gnutls-cli: handshake and echo" \
	"$RSA_PEM" "$RSA_URI"
tls "gnutls-serv (ECDSA key by URI) and gnutls-cli: handshake and echo" "$EC_PEM" "$EC_URI"

done_testing
