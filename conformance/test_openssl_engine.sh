#!/bin/bash
# OpenSSL through libp11's pkcs11 engine: CSRs and self-signed certificates
# made with a key on the token, pkeyutl and dgst signatures verified with the
# certificate, decryption, and s_server serving TLS 1.2 and 1.3 with the key
# to s_client on 127.0.0.1.
. "$(dirname "$0")/lib.sh"
make_target
engine_config || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"
export OPENSSL_CONF=$OPENSSL_CNF

ENG=(-engine pkcs11 -keyform engine)

# pin-value and pin-source are RFC 7512 query attributes.
RSA_KEY="$RSA_URI?pin-value=$PIN"
EC_KEY="$EC_URI?pin-value=$PIN"

# --- Certificate requests ------------------------------------------------------------

for k in RSA EC; do
	if [ $k = RSA ]; then key=$RSA_KEY pub=$RSA_PUB; else key=$EC_KEY pub=$EC_PUB; fi
	run openssl req -new "${ENG[@]}" -key "$key" -subj /CN=test -out "$WORK/$k.csr"
	check "openssl req -new with the $k key on the token makes a CSR" test "$RC" -eq 0 -a -s "$WORK/$k.csr"
	[ "$RC" -ne 0 ] && diag "$(tail -5 "$ERR")"
	run openssl req -verify -in "$WORK/$k.csr" -noout
	check "openssl req -verify accepts the $k CSR" test "$RC" -eq 0
	check_eq "the $k CSR holds the certificate's public key" \
		"$(openssl req -in "$WORK/$k.csr" -noout -pubkey 2>/dev/null)" "$(cat "$pub")"
done
run openssl req -new "${ENG[@]}" -key "$RSA_KEY" -subj /CN=pss -sigopt rsa_padding_mode:pss \
	-sigopt rsa_pss_saltlen:32 -out "$WORK/pss.csr"
run openssl req -verify -in "$WORK/pss.csr" -noout
check "an RSA-PSS signed CSR verifies" test "$RC" -eq 0
run openssl req -new -x509 "${ENG[@]}" -key "$EC_KEY" -subj /CN=selfsigned -days 1 -out "$WORK/self.pem"
check "openssl req -x509 self-signs with the EC key" \
	openssl verify -CAfile "$WORK/self.pem" "$WORK/self.pem"

# --- pkeyutl and dgst ------------------------------------------------------------------

# sign_verify TEXT KEY PUB [pkeyopt...]: pkeyutl -sign with the engine key,
# pkeyutl -verify with the certificate's public key.
sign_verify() {
	local text=$1 key=$2 pub=$3 opts=() o
	shift 3
	for o in "$@"; do opts+=(-pkeyopt "$o"); done
	rm -f "$WORK/sig"
	run openssl pkeyutl "${ENG[@]}" -inkey "$key" -sign -in "$WORK/data.sha256" \
		-out "$WORK/sig" "${opts[@]}"
	if [ "$RC" -ne 0 ]; then
		fail "$text" "pkeyutl -sign: exit $RC" "$(tail -5 "$ERR")"
		return
	fi
	check "$text" openssl pkeyutl -verify -pubin -inkey "$pub" -in "$WORK/data.sha256" \
		-sigfile "$WORK/sig" "${opts[@]}"
}
sign_verify "pkeyutl -sign RSA PKCS#1 v1.5 (SHA-256), openssl verifies" "$RSA_KEY" "$RSA_PUB" \
	digest:sha256
sign_verify "pkeyutl -sign RSA-PSS (SHA-256, salt 32), openssl verifies" "$RSA_KEY" "$RSA_PUB" \
	digest:sha256 rsa_padding_mode:pss rsa_pss_saltlen:32
sign_verify "pkeyutl -sign ECDSA, openssl verifies" "$EC_KEY" "$EC_PUB"
sign_verify "pkeyutl -sign ECDSA with pin-source=file:, openssl verifies" \
	"$EC_URI?pin-source=file:$PINFILE" "$EC_PUB"

run openssl dgst -sha256 "${ENG[@]}" -sign "$RSA_KEY" -out "$WORK/dsig" "$WORK/data"
check "dgst -sha256 -sign with the RSA key, openssl dgst -verify accepts" \
	openssl dgst -sha256 -verify "$RSA_PUB" -signature "$WORK/dsig" "$WORK/data"

printf 'a session key, say\n' >"$WORK/secret"
openssl pkeyutl -encrypt -pubin -inkey "$RSA_PUB" -in "$WORK/secret" -out "$WORK/enc" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
run openssl pkeyutl "${ENG[@]}" -inkey "$RSA_KEY" -decrypt -in "$WORK/enc" -out "$WORK/dec" \
	-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
check "pkeyutl -decrypt OAEP (SHA-256) with the RSA key" cmp "$WORK/secret" "$WORK/dec"

# --- TLS: s_server with the key on the token -------------------------------------------

# tls TEXT CERT KEY [s_client options]: s_server -rev answers a line reversed.
tls() {
	local text=$1 cert=$2 key=$3 port srv
	shift 3
	port=$(free_port)
	openssl s_server "${ENG[@]}" -key "$key" -cert "$cert" -accept "127.0.0.1:$port" \
		-rev -naccept 1 >"$WORK/serv.log" 2>&1 </dev/null &
	srv=$!
	track "$srv"
	if ! wait_port "$port" "$srv"; then
		fail "$text" "s_server did not listen:" "$(tail -20 "$WORK/serv.log")"
		stop_pid "$srv"
		return
	fi
	(printf 'hello over the token\n'; sleep 2) |
		timeout -k 2 15 openssl s_client -connect "127.0.0.1:$port" -CAfile "$cert" \
		-verify_return_error -verify_hostname localhost "$@" >"$WORK/cli.log" 2>&1
	stop_pid "$srv"
	if grep -q 'Verify return code: 0 (ok)' "$WORK/cli.log" &&
		grep -qx 'nekot eht revo olleh' "$WORK/cli.log"; then
		pass "$text"
	else
		fail "$text" "client:" "$(tail -15 "$WORK/cli.log")" "server:" "$(tail -15 "$WORK/serv.log")"
	fi
}

tls "s_server (RSA key on the token) to s_client, TLS 1.3 (RSA-PSS): a line exchanged" \
	"$RSA_PEM" "$RSA_KEY" -tls1_3
tls "s_server (RSA key on the token) to s_client, TLS 1.2 (RSA PKCS#1 v1.5)" \
	"$RSA_PEM" "$RSA_KEY" -tls1_2 -sigalgs RSA+SHA256
tls "s_server (EC key on the token) to s_client, TLS 1.3 (ECDSA)" "$EC_PEM" "$EC_KEY" -tls1_3
tls "s_server (EC key on the token) to s_client, TLS 1.2 (ECDSA)" "$EC_PEM" "$EC_KEY" -tls1_2

done_testing
