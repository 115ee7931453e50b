#!/bin/bash
# Secrets at rest: after certificates (generated and imported, PEM and
# PKCS#12 secrets) and an issuer with password "s3cr3t-api-key", the vault's
# data.mdb holds no PEM private key, no part of the API key, and none of the
# private keys' bytes (16-byte slices of each PKCS#8 DER are looked for in
# the file's hex).
. "$(dirname "$0")/lib.sh"
need strings xxd head

make_vault
API_KEY=s3cr3t-api-key

expect_ok "create an exportable RSA certificate (PEM secret)" certificate create --name rsa-pem \
	--policy "$(policy CN=rsa-pem.example.com)"
expect_ok "create an exportable EC certificate (PKCS#12 secret)" certificate create --name ec-pfx \
	--policy '{"key_props":{"kty":"EC","crv":"P-384","exportable":true},"secret_props":{"contentType":"application/x-pkcs12"},"x509_props":{"subject":"CN=ec-pfx.example.com"},"issuer":{"name":"Self"}}'
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/imp.key" -out "$WORK/imp.pem" \
	-subj "/CN=imported.example.com" -days 10 2>/dev/null
cat "$WORK/imp.pem" "$WORK/imp.key" >"$WORK/imp-bundle.pem"
expect_ok "import a PEM certificate with its key" certificate import --name imported \
	--file "$WORK/imp-bundle.pem"
expect_ok "create a pending certificate (key made, CSR out)" certificate create --name pending \
	--policy "$(policy CN=pending.example.com Unknown)"
expect_ok "an issuer with password $API_KEY" issuer create --name ca1 --provider DigiCert \
	--account-id acct --password "$API_KEY" --webroot /srv/www

DB="$VAULT/data.mdb"
strings -n 8 "$DB" >"$WORK/strings.txt"
check "no PEM private key marker in data.mdb" bash -c "! grep -q 'PRIVATE KEY' '$WORK/strings.txt'"
check "no raw private key marker either" bash -c "! grep -qa 'PRIVATE KEY' '$DB'"
for part in "$API_KEY" s3cr3t cr3t-api t-api-key api-key; do
	check "no '$part' in data.mdb" bash -c "! grep -qaF -- '$part' '$DB' && ! grep -qF -- '$part' '$WORK/strings.txt'"
done

DBHEX=$(hex_of "$DB")

# The private parts of a key, as hex: RSA's private exponent and primes,
# EC's private scalar.  (The rest of a PKCS#8 key is the public key, which
# the certificate rightly holds in the clear.)
private_hex() {
	openssl pkey -in "$1" -noout -text 2>/dev/null | awk '
		/^[A-Za-z]/ { keep = ($1 == "privateExponent:" || $1 == "prime1:" ||
				   $1 == "prime2:" || $1 == "priv:"); next }
		keep { gsub(/[ :]/, ""); printf "%s", $0 }'
}

# key_slices_absent PEM: neither the PKCS#8 DER nor any 16-byte slice of
# the key's private part is in data.mdb.
key_slices_absent() {
	local pem=$1 hex p8 off n=0
	p8=$(openssl pkcs8 -topk8 -nocrypt -in "$pem" -outform DER 2>/dev/null | xxd -p | tr -d '\n')
	hex=$(private_hex "$pem")
	[ "${#hex}" -ge 64 ] && [ "${#p8}" -ge 128 ] || return 1
	case $DBHEX in *"$p8"*) return 1 ;; esac
	for ((off = 0; off + 32 <= ${#hex}; off += 40)); do
		case $DBHEX in *"${hex:off:32}"*) return 1 ;; esac
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

for name in rsa-pem ec-pfx imported; do
	rm -f "$WORK/$name.secret.pem"
	cv secret download --name "$name" --file "$WORK/$name.secret.pem" --format pem >/dev/null
	check "$name: the exported secret holds the key" grep -q 'PRIVATE KEY' "$WORK/$name.secret.pem"
	check "$name: no 16-byte slice of the private key in data.mdb" \
		key_slices_absent "$WORK/$name.secret.pem"
done
check "the imported key file's private part is not in data.mdb" key_slices_absent "$WORK/imp.key"

# The checks above are only worth something if they can fail: the
# certificate, which is public, is found the same way.
cert_hex=$(openssl x509 -in "$WORK/imp.pem" -outform DER | xxd -p | tr -d '\n')
cert_found() {
	case $DBHEX in *"${cert_hex:200:32}"*) return 0 ;; esac
	return 1
}
check "the public certificate's bytes are found (the search works)" cert_found
own_key_found() {
	local hex p8
	hex=$(private_hex "$WORK/imp.key")
	p8=$(openssl pkcs8 -topk8 -nocrypt -in "$WORK/imp.key" -outform DER | xxd -p | tr -d '\n')
	case $p8 in *"${hex:40:32}"*) return 0 ;; esac
	return 1
}
check "a key's private slice is found in its own DER (the slices are right)" own_key_found

done_testing
