#!/bin/bash
# The module registered with p11-kit the way it is installed
# (certvault.module), here in a private user config: p11-kit list-modules
# shows the token, pkcs11-tool works through p11-kit-proxy, and GnuTLS's
# p11tool finds the token without --provider.
. "$(dirname "$0")/lib.sh"
need p11-kit pkg-config pkcs11-tool
[ "$TARGET" = certvault ] || skip_all "p11-kit registration is certvault's"
make_target

PROXY=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null)
[ -n "$PROXY" ] && [ -f "$PROXY" ] || skip_all "p11-kit-proxy.so missing"

# p11-kit skips the user config of a program running as root, and the
# system config is not ours to change: as root, the clients run as nobody,
# who then owns the test's files (the vault included).
AS=()
if [ "$(id -u)" -eq 0 ]; then
	need runuser
	getent passwd nobody >/dev/null || skip_all "user nobody missing"
	chmod 711 "$WORK"
	chown -R nobody "$WORK"/*
	AS=(runuser -u nobody -- env HOME="$HOME" XDG_CONFIG_HOME="$XDG_CONFIG_HOME"
		CERTVAULT_CONF="$CERTVAULT_CONF")
fi

# The shipped registration file with the module's absolute path (installed,
# a relative name is looked up in p11-kit's module directory).
mkdir -p "$HOME/.config/pkcs11/modules"
REG="$HOME/.config/pkcs11/modules/certvault.module"
SHIPPED="$CONFORMANCE_DIR/../module/certvault.module"
if [ -f "$SHIPPED" ]; then
	sed "s|^module:.*|module: $MODULE|" "$SHIPPED" >"$REG"
else
	printf 'module: %s\n' "$MODULE" >"$REG"
fi
check_grep "the registration names the module by absolute path" "$REG" "^module: /"

run "${AS[@]}" p11-kit list-modules
cp "$OUT" "$WORK/modules.out"
check_eq "p11-kit list-modules exits 0" "$RC" 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
check_grep "p11-kit list-modules shows module certvault" "$WORK/modules.out" "^certvault: $MODULE\$"
# The lines of the certvault module only.
awk '/^[^ ]/ { m = ($1 == "certvault:") } m' "$WORK/modules.out" >"$WORK/cv.out"
check_grep "... with library-manufacturer certvault" "$WORK/cv.out" "library-manufacturer: certvault"
check_grep "... and token $TOKEN" "$WORK/cv.out" "^ *token: $TOKEN\$"
check_grep "... whose manufacturer is $TOKEN_MANUFACTURER" "$WORK/cv.out" "^ *manufacturer: $TOKEN_MANUFACTURER\$"
check_grep "... model $TOKEN_MODEL" "$WORK/cv.out" "^ *model: $TOKEN_MODEL\$"
check_grep "... serial $TOKEN_SERIAL" "$WORK/cv.out" "^ *serial-number: $TOKEN_SERIAL\$"

P11=("${AS[@]}" pkcs11-tool --module "$PROXY" --token-label "$TOKEN")
run "${P11[@]}" -L
check "pkcs11-tool through p11-kit-proxy -L lists $TOKEN" \
	test "$RC" -eq 0 -a -n "$(grep -E "token label *: $TOKEN *\$" "$OUT")"
run "${P11[@]}" -O
check "through the proxy -O shows the certificates, no private key" \
	test "$RC" -eq 0 -a -n "$(grep -E "label: *$RSA_NAME\$" "$OUT")" -a -z "$(grep '^Private Key' "$OUT")"
run "${P11[@]}" -O --login --pin "$PIN"
check "through the proxy -O --login shows the private keys" \
	test "$RC" -eq 0 -a "$(grep -c '^Private Key Object' "$OUT")" -ge 2
run "${P11[@]}" --login --pin "$PIN" --sign --id "$RSA_ID" -m SHA256-RSA-PKCS-PSS \
	-i "$WORK/data" -o "$HOME/sig"
check "through the proxy: SHA256-RSA-PKCS-PSS signature, openssl verifies" \
	openssl dgst -sha256 -verify "$RSA_PUB" -signature "$HOME/sig" \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "$WORK/data"
run "${P11[@]}" --login --pin "$PIN" --sign --id "$EC_ID" -m ECDSA-SHA256 \
	--signature-format openssl -i "$WORK/data" -o "$HOME/sig"
check "through the proxy: ECDSA-SHA256 signature, openssl verifies" \
	openssl dgst -sha256 -verify "$EC_PUB" -signature "$HOME/sig" "$WORK/data"
run "${P11[@]}" --test-fork
check "through the proxy: --test-fork" test "$RC" -eq 0

if command -v p11tool >/dev/null; then
	run "${AS[@]}" p11tool --list-tokens
	check "p11tool without --provider (p11-kit's modules) lists $TOKEN" \
		test -n "$(grep -E "^[[:space:]]*Label: $TOKEN\$" "$OUT")"
	run "${AS[@]}" env GNUTLS_PIN="$PIN" p11tool --login --test-sign "$EC_URI"
	check "p11tool --test-sign through p11-kit by URI alone" \
		test -n "$(cat "$OUT" "$ERR" | grep 'Verifying against public key in the token... ok')"
else
	skip "p11tool without --provider (p11-kit's modules) lists $TOKEN" "p11tool missing"
	skip "p11tool --test-sign through p11-kit by URI alone" "p11tool missing"
fi

done_testing
