#!/bin/bash
# Unsealed keys stay out of core dumps: a program loads certvault-pkcs11.so,
# logs in, signs with an imported RSA key and an imported EC key and with a
# session RSA key pair, has gdb's gcore dump it while it is still logged
# in, and searches the dump for every secret value of the two vault keys,
# which it reads from their PEM files only after the dump, and for a prime
# factor of the session key's modulus (see coredump.c).
. "$(dirname "$0")/../cli/lib.sh"
need gcore

PROBE=${CERTVAULT_COREDUMP:-}
MODULE=${CERTVAULT_MODULE:-}
if [ ! -x "$PROBE" ] || [ ! -f "$MODULE" ]; then
	skip_all "CERTVAULT_COREDUMP and CERTVAULT_MODULE must name the probe and the module"
fi

make_vault
for k in rsa ec; do
	case $k in
	rsa) alg=(-newkey rsa:2048) ;;
	ec) alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
	esac
	openssl req -x509 "${alg[@]}" -nodes -keyout "$WORK/$k.key" -out "$WORK/$k.pem" \
		-subj "/CN=core-$k" -days 30 2>/dev/null
	cat "$WORK/$k.pem" "$WORK/$k.key" >"$WORK/$k-bundle.pem"
	expect_ok "import core-$k" certificate import --name "core-$k" --file "$WORK/$k-bundle.pem"
done

export CERTVAULT_VAULT="$VAULT"
"$PROBE" "$MODULE" "$WORK/core" core-rsa core-ec -- "$WORK/rsa.key" "$WORK/ec.key" \
	>"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" -ne 0 ] || grep -q '^Bail out' "$OUT"; then
	fail "the probe ran" "exit $RC" "$(cat "$OUT" "$ERR" | head -40)"
else
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "${line#ok * - }" ;;
		"not ok "*)
			text=${line#not ok * - }
			fail "$text" "$(grep -F "# ${text%%:*}: " "$OUT" | sed 's/^# //')" ;;
		esac
	done <"$OUT"
fi
rm -f "$WORK"/core.*
done_testing
