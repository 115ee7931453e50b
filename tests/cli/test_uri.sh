#!/bin/bash
# certvault certificate uri: the RFC 7512 PKCS#11 URI of a certificate's
# objects, with the token fields the module reports in C_GetTokenInfo.
. "$(dirname "$0")/lib.sh"
need xxd

make_vault uri-vault
run_cv vault show --json
SERIAL=$(jout .serial)

# pct_decode: RFC 7512 %XX back to bytes, as hex.
pct_hex() {
	printf '%s' "$1" | sed 's/%//g' | tr 'A-F' 'a-f'
}

expect_ok "create an RSA certificate" certificate create --name web \
	--policy "$(policy CN=localhost)"
expect_ok "uri of it" certificate uri --name web
URI=$(cat "$OUT")
check "one line, starting pkcs11:" test "$(wc -l <"$OUT")" -eq 1 -a "${URI#pkcs11:}" != "$URI"
check_eq "the token fields, as C_GetTokenInfo gives them" \
	"$(printf '%s' "$URI" | cut -d';' -f1-4)" \
	"pkcs11:model=LMDB%20vault;manufacturer=certvault;serial=$SERIAL;token=uri-vault"
check_eq "the object is the certificate's name, type private, no id by default" \
	"$(printf '%s' "$URI" | cut -d';' -f5-)" "object=web;type=private"
# The default URI follows the current version: a new version with a new
# key leaves it as it was, so nginx -s reload takes the new key.
expect_ok "a new version of web with a new key" certificate create --name web \
	--policy "$(policy CN=localhost Self '{"kty":"RSA","key_size":2048,"reuse_key":false}')"
expect_ok "uri after a new version" certificate uri --name web
check_eq "the default URI is the same after a new version" "$(cat "$OUT")" "$URI"
# --pin-version: the URI names this version's key by its CKA_ID too.
expect_ok "uri --pin-version" certificate uri --name web --pin-version
check_eq "--pin-version adds id= before object=" \
	"$(sed 's/;id=[^;]*;/;/' "$OUT")" "$URI"
ID=$(sed -n 's/.*;id=\([^;]*\);.*/\1/p' "$OUT")
check "id is every byte %-encoded, 20 bytes" \
	grep -qE '^(%[0-9A-F]{2}){20}$' <<<"$ID"
cert_pem web "$WORK/web.pem"
want=$(openssl x509 -in "$WORK/web.pem" -noout -modulus | cut -d= -f2 |
	xxd -r -p | openssl dgst -sha1 -r | cut -d' ' -f1)
check_eq "id is the SHA-1 of the RSA modulus (CKA_ID)" "$(pct_hex "$ID")" "${want:-(no key read)}"

expect_ok "--type cert" certificate uri --name web --type cert
check "--type cert ends type=cert" grep -q ';object=web;type=cert$' "$OUT"
expect_ok "--type public" certificate uri --name web --type public
check "--type public ends type=public" grep -q ';object=web;type=public$' "$OUT"
expect_usage "--type other is a usage error" "--type is cert, private or public" \
	certificate uri --name web --type secret-key
expect_usage "--name is required" "--name is required" certificate uri
run_cv certificate uri --name nope
check "an unknown name exits 3 in one line" \
	test "$RC" -eq 3 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F "A certificate with (name/id) nope was not found" "$ERR")"
run_cv certificate uri --name 'bad name'
check "a bad name fails" test "$RC" -eq 1

# EC: the id is the SHA-1 of the EC point.
expect_ok "create an EC certificate" certificate create --name ec-web \
	--policy "$(policy CN=localhost Self '{"kty":"EC","crv":"P-256"}')"
expect_ok "uri of the EC certificate" certificate uri --name ec-web --pin-version
ID=$(sed -n 's/.*;id=\([^;]*\);.*/\1/p' "$OUT")
cert_pem ec-web "$WORK/ec.pem"
want=$(openssl x509 -in "$WORK/ec.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER | tail -c 65 | openssl dgst -sha1 -r | cut -d' ' -f1)
check_eq "EC id is the SHA-1 of the uncompressed point" "$(pct_hex "$ID")" "${want:-(no key read)}"

# A pending certificate has only its pending key: its URI names that key.
expect_ok "create a pending certificate" certificate create --name csr-only \
	--policy "$(policy CN=pending Unknown)"
expect_ok "uri of a pending certificate" certificate uri --name csr-only
check "the pending key's URI names it" grep -q ';object=csr-only;type=private$' "$OUT"
run_cv certificate pending show --name csr-only --json
jout .csr | base64 -d >"$WORK/csr.der" 2>/dev/null
ID=$(cv certificate uri --name csr-only --pin-version | sed -n 's/.*;id=\([^;]*\);.*/\1/p')
want=$(openssl req -inform DER -in "$WORK/csr.der" -noout -pubkey 2>/dev/null |
	openssl rsa -pubin -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p |
	openssl dgst -sha1 -r | cut -d' ' -f1)
check_eq "the pending key's id is its CSR's key's" "$(pct_hex "$ID")" "${want:-(no key read)}"

# A vault name longer than the 32 bytes of CK_TOKEN_INFO.label is cut there.
LONG=abcdefghij-abcdefghij-abcdefghij-abcdefghij
VAULT="$WORK/long"
make_vault "$LONG"
expect_ok "create in the long-named vault" certificate create --name a-b \
	--policy "$(policy CN=x)"
expect_ok "uri in the long-named vault" certificate uri --name a-b
check "token= holds the first 32 bytes of the name" \
	grep -q ";token=${LONG:0:32};object=" "$OUT"

done_testing
