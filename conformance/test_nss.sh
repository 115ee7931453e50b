#!/bin/bash
# NSS against the module: modutil adds it to a fresh database, certutil
# lists the vault's certificates and keys as TOKEN:name, and selfserv serves
# TLS with the keys on the token to tstclnt, which trusts the certificate.
. "$(dirname "$0")/lib.sh"
need certutil modutil selfserv tstclnt
make_target

DB="$WORK/nssdb"
CDB="$WORK/clientdb"
mkdir -p "$DB" "$CDB"
MODNAME=certvault
[ "$TARGET" = softhsm ] && MODNAME=softhsm

run certutil -N -d "sql:$DB" --empty-password
check_eq "certutil -N --empty-password makes a fresh database" "$RC" 0
run modutil -dbdir "sql:$DB" -add "$MODNAME" -libfile "$MODULE" -force
check "modutil -add $MODNAME -libfile <module>" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$OUT" "$ERR")"

run modutil -dbdir "sql:$DB" -list "$MODNAME"
cp "$OUT" "$WORK/list.out"
check_eq "modutil -list $MODNAME exits 0" "$RC" 0
check_grep "modutil -list: the module is loaded" "$WORK/list.out" "^[[:space:]]*Status: Enabled|status: loaded"
check_grep "modutil -list: token $TOKEN" "$WORK/list.out" "^[[:space:]]*Token Name: $TOKEN *\$|^[[:space:]]*token: $TOKEN\$"
run modutil -dbdir "sql:$DB" -list
check_grep "modutil -list: the token's URI has its manufacturer, serial and model" "$OUT" \
	"uri: pkcs11:token=$TOKEN;manufacturer=$(pct "$TOKEN_MANUFACTURER");serial=$TOKEN_SERIAL;model=$(pct "$TOKEN_MODEL")\$"

run certutil -d "sql:$DB" -L -h all -f "$PINFILE"
cp "$OUT" "$WORK/L.out"
check_eq "certutil -L -h all exits 0" "$RC" 0
check_grep "certutil -L -h all: $TOKEN:$RSA_NAME" "$WORK/L.out" "^$TOKEN:$RSA_NAME  +u,u,u\$"
check_grep "certutil -L -h all: $TOKEN:$EC_NAME" "$WORK/L.out" "^$TOKEN:$EC_NAME  +u,u,u\$"
run certutil -d "sql:$DB" -L -h "$TOKEN" -n "$TOKEN:$RSA_NAME" -a -f "$PINFILE"
# NSS resolves a nickname through the certificate's subject and answers with
# the best certificate of that subject; the RSA and EC certificates share
# CN=localhost, so either is NSS's right answer.
got=$(openssl x509 -in "$OUT" -outform DER 2>/dev/null | openssl dgst -sha256 -r)
T="certutil -L -h $TOKEN -n $TOKEN:$RSA_NAME -a gives a token certificate of that subject"
if [ "$got" = "$(openssl x509 -in "$RSA_PEM" -outform DER | openssl dgst -sha256 -r)" ] ||
   [ "$got" = "$(openssl x509 -in "$EC_PEM" -outform DER | openssl dgst -sha256 -r)" ]; then
	pass "$T"
else
	fail "$T" "got: $got" "$(head -c 2000 "$OUT")"
fi

run certutil -d "sql:$DB" -K -h "$TOKEN" -f "$PINFILE"
cp "$OUT" "$WORK/K.out"
check_eq "certutil -K -h $TOKEN -f pinfile exits 0" "$RC" 0
check_grep "certutil -K: the RSA key, by CKA_ID, named $RSA_NAME" "$WORK/K.out" \
	"^< *[0-9]+> rsa +$RSA_ID +$RSA_NAME\$"
check_grep "certutil -K: the EC key, by CKA_ID, named $EC_NAME" "$WORK/K.out" \
	"^< *[0-9]+> ec +$EC_ID +$EC_NAME\$"
printf '0000' >"$WORK/badpin"
run certutil -d "sql:$DB" -K -h "$TOKEN" -f "$WORK/badpin"
check "certutil -K with a wrong PIN fails" test "$RC" -ne 0

# --- TLS: selfserv with the keys on the token --------------------------------------

run certutil -N -d "sql:$CDB" --empty-password
certutil -A -d "sql:$CDB" -n "$RSA_NAME" -t "P,," -i "$RSA_PEM" &&
	certutil -A -d "sql:$CDB" -n "$EC_NAME" -t "P,," -i "$EC_PEM"
check_eq "the client database trusts both certificates as peers (P,,)" "$?" 0
printf 'GET / HTTP/1.0\r\n\r\n' >"$WORK/request"

# selfserv has no option to listen on loopback only: it runs in a network
# namespace that has nothing else.
# tls TEXT SELFSERV-KEY-OPTIONS VERSION
tls() {
	local text=$1 keyopt=$2 version=$3 port srv
	if [ ${#NSRUN[@]} -eq 0 ]; then
		skip "$text" "no loopback-only network namespace (unshare -n)"
		return
	fi
	port=$(free_port)
	# shellcheck disable=SC2086
	"${NSRUN[@]}" selfserv -d "sql:$DB" $keyopt -p "$port" -f "$PINFILE" -V "$version" \
		>"$WORK/serv.log" 2>&1 &
	srv=$!
	track "$srv"
	if ! wait_port "$port" "$srv"; then
		fail "$text" "selfserv did not listen:" "$(tail -20 "$WORK/serv.log")"
		stop_pid "$srv"
		return
	fi
	# tstclnt does not stop after the answer: the server's reply, then a
	# bounded wait.
	timeout -k 2 5 "${NSRUN[@]}" tstclnt -h localhost -p "$port" -d "sql:$CDB" -V "$version" \
		-A "$WORK/request" -v >"$WORK/cli.log" 2>&1
	stop_pid "$srv"
	if grep -q '^HTTP/1.0 200 OK' "$WORK/cli.log" &&
		! grep -qE 'authentication of server cert failed|error' "$WORK/cli.log"; then
		pass "$text"
	else
		fail "$text" "client:" "$(tail -15 "$WORK/cli.log")" "server:" "$(tail -15 "$WORK/serv.log")"
	fi
}

netns_start
softhsm_differs "selfserv: SSL_ConfigServerCert gives SEC_ERROR_NO_MEMORY (-8173) for RSA keys on SoftHSMv2"
tls "selfserv -n $TOKEN:$RSA_NAME (RSA on the token), tstclnt -V tls1.2: completes" \
	"-n $TOKEN:$RSA_NAME" tls1.2:
softhsm_differs "selfserv: SSL_ConfigServerCert gives SEC_ERROR_NO_MEMORY (-8173) for RSA keys on SoftHSMv2"
tls "selfserv -n $TOKEN:$RSA_NAME, tstclnt -V tls1.2:tls1.2 (RSA PKCS#1)" \
	"-n $TOKEN:$RSA_NAME" tls1.2:tls1.2
tls "selfserv -e $TOKEN:$EC_NAME (ECDSA on the token), tstclnt -V tls1.2: completes" \
	"-e $TOKEN:$EC_NAME" tls1.2:
tls "selfserv -e $TOKEN:$EC_NAME, tstclnt -V tls1.2:tls1.2" "-e $TOKEN:$EC_NAME" tls1.2:tls1.2

done_testing
