#!/bin/bash
# certificate import: PKCS#12 with a password (--password, --password-file),
# PEM with certificate, chain and PKCS#8 key; the policy Key Vault derives;
# a --policy that does not fit; and each bad content refused in one line
# with the vault left as it was.
. "$(dirname "$0")/lib.sh"
need head

make_vault

# A CA and leaves made with the openssl command.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
	-subj "/CN=Import Test CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
printf 'subjectAltName=DNS:imp.example.com,DNS:www.imp.example.com\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
	>"$WORK/leaf.ext"
# leaf NAME KEYALG...: a key (PKCS#8) and a CA-signed certificate.
leaf() {
	local name=$1 days=$2
	shift 2
	openssl genpkey "$@" -out "$WORK/$name.key" 2>/dev/null &&
		openssl req -new -key "$WORK/$name.key" -subj "/O=Contoso/CN=imp.example.com" \
			-out "$WORK/$name.csr" 2>/dev/null &&
		openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
			-CAcreateserial -days "$days" -extfile "$WORK/leaf.ext" -out "$WORK/$name.pem" 2>/dev/null
}
check "RSA leaf made" leaf rsa 30 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
# A key belongs to one certificate: each import under a new name has its own.
for n in pfx pfx2 fits; do
	check "RSA leaf $n made" leaf "$n" 30 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
done
check "EC leaf made" leaf ec 30 -algorithm EC -pkeyopt ec_paramgen_curve:P-256
check "expired leaf made (-days -1)" leaf old -1 -algorithm EC -pkeyopt ec_paramgen_curve:P-256
check "the expired leaf has expired" bash -c "! openssl x509 -in '$WORK/old.pem' -noout -checkend 0"

openssl pkcs12 -export -inkey "$WORK/pfx.key" -in "$WORK/pfx.pem" -certfile "$WORK/ca.pem" \
	-name imp -passout pass:pfx-pass-1 -out "$WORK/rsa.pfx"
openssl pkcs12 -export -inkey "$WORK/pfx2.key" -in "$WORK/pfx2.pem" -certfile "$WORK/ca.pem" \
	-name imp -passout pass:pfx-pass-1 -out "$WORK/rsa2.pfx"
cat "$WORK/fits.pem" "$WORK/ca.pem" "$WORK/fits.key" >"$WORK/fits-bundle.pem"
printf 'pfx-pass-1\n' >"$WORK/pfx.pass"
cat "$WORK/rsa.pem" "$WORK/ca.pem" "$WORK/rsa.key" >"$WORK/rsa-bundle.pem"
cat "$WORK/ec.key" "$WORK/ec.pem" >"$WORK/ec-bundle.pem"

# --- PKCS#12 ------------------------------------------------------------------
expect_ok "import PFX with --password" certificate import --name pfx1 \
	--file "$WORK/rsa.pfx" --password pfx-pass-1 --tags origin=pfx
run_cv certificate show --name pfx1 --json
check_eq "the imported certificate's x5t" "$(jout .x5t)" "$(x5t_of "$WORK/pfx.pem")"
check_eq "the imported certificate is enabled" "$(jout .attributes.enabled)" true
check_eq "import --tags kept" "$(jout .tags.origin)" pfx
rm -f "$WORK/chain.pem"
cv certificate download --name pfx1 --file "$WORK/chain.pem" --chain >/dev/null
check_eq "the PFX's chain is stored" "$(grep -c 'BEGIN CERTIFICATE' "$WORK/chain.pem")" 2
expect_ok "import PFX with --password-file" certificate import --name pfx2 \
	--file "$WORK/rsa2.pfx" --password-file "$WORK/pfx.pass"
# The same key under a second name would show two private keys with one
# CKA_ID, which Java's SunPKCS11 refuses for the whole token.
expect_fail_with "the key of pfx1 under another name" \
	"the private key already belongs to certificate 'pfx1'" \
	certificate import --name pfx1-again --file "$WORK/rsa.pfx" --password pfx-pass-1
expect_ok "the key of pfx1 as a new version of pfx1" certificate import --name pfx1 \
	--file "$WORK/rsa.pfx" --password pfx-pass-1 --tags origin=pfx

# The policy Key Vault derives.
run_cv certificate policy show --name pfx1 --style rest
check_eq "derived policy: issuer Unknown" "$(jout .issuer.name)" Unknown
check_eq "derived policy: RSA 2048" "$(jout '.key_props.kty + " " + (.key_props.key_size|tostring)')" "RSA 2048"
check_eq "derived policy: imported keys are exportable" "$(jout .key_props.exportable)" true
check "derived policy: the subject" bash -c "jq -r .x509_props.subject '$OUT' | grep -qF 'CN=imp.example.com'"
check_eq "derived policy: the DNS names" "$(jout '.x509_props.sans.dns_names | join(",")')" \
	"imp.example.com,www.imp.example.com"
check_eq "derived policy: the EKU" "$(jout '.x509_props.ekus | join(",")')" "1.3.6.1.5.5.7.3.1"
check_eq "derived policy: PKCS#12 content type" "$(jout .secret_props.contentType)" "application/x-pkcs12"

# --- PEM ---------------------------------------------------------------------
expect_ok "import PEM certificate + chain + PKCS#8 key" certificate import --name pem1 \
	--file "$WORK/rsa-bundle.pem"
run_cv certificate show --name pem1 --json
check_eq "PEM import: the leaf is the certificate" "$(jout .x5t)" "$(x5t_of "$WORK/rsa.pem")"
run_cv certificate policy show --name pem1 --style rest
check_eq "PEM import: content type PEM" "$(jout .secret_props.contentType)" "application/x-pem-file"
expect_ok "import EC PEM (key first)" certificate import --name ec1 --file "$WORK/ec-bundle.pem"
run_cv certificate policy show --name ec1 --style rest
check_eq "derived policy: EC P-256" "$(jout '.key_props.kty + " " + .key_props.crv')" "EC P-256"
rm -f "$WORK/ec1.secret.pem"
cv secret download --name ec1 --file "$WORK/ec1.secret.pem" --format pem >/dev/null
check_eq "the vault holds the imported key" \
	"$(openssl pkey -in "$WORK/ec1.secret.pem" -pubout 2>/dev/null)" "$(openssl pkey -in "$WORK/ec.key" -pubout)"
# The leaf's subject as OpenSSL prints it in RFC 2253 (and 4514) order.
LEAF_SUBJECT=$(openssl x509 -in "$WORK/fits.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
check_eq "the leaf's subject in RFC 4514 order" "$LEAF_SUBJECT" "CN=imp.example.com,O=Contoso"
expect_ok "import with a policy that fits" certificate import --name fits --file "$WORK/fits-bundle.pem" \
	--policy "$(policy "$LEAF_SUBJECT" Unknown '{"kty":"RSA","key_size":2048}')"

# --- Refusals -------------------------------------------------------------------
expect_fail_with "a policy whose key size does not fit" "key_size" \
	certificate import --name nofit1 --file "$WORK/rsa-bundle.pem" \
	--policy "$(policy "$LEAF_SUBJECT" Unknown '{"kty":"RSA","key_size":4096}')"
expect_fail_with "a policy whose key type does not fit" "kty" \
	certificate import --name nofit2 --file "$WORK/rsa-bundle.pem" \
	--policy "$(policy "$LEAF_SUBJECT" Unknown '{"kty":"EC","crv":"P-256"}')"
expect_fail_with "a policy whose subject does not fit" "subject" \
	certificate import --name nofit3 --file "$WORK/rsa-bundle.pem" \
	--policy "$(policy 'CN=other.example.com' Unknown)"

openssl pkey -in "$WORK/rsa.key" -aes256 -passout pass:keypass -out "$WORK/enc.key" 2>/dev/null
cat "$WORK/rsa.pem" "$WORK/enc.key" >"$WORK/enc-bundle.pem"
expect_fail_with "an encrypted PEM key" "encrypted" \
	certificate import --name enc --file "$WORK/enc-bundle.pem"
expect_fail_with "a certificate without its key" "private key" \
	certificate import --name nokey --file "$WORK/rsa.pem"
cat "$WORK/rsa.pem" "$WORK/ec.key" >"$WORK/mismatch.pem"
expect_fail_with "a key that is not the certificate's" "does not match the public part" \
	certificate import --name mismatch --file "$WORK/mismatch.pem"
cat "$WORK/old.pem" "$WORK/old.key" >"$WORK/old-bundle.pem"
expect_fail_with "an expired certificate" "expired" \
	certificate import --name old --file "$WORK/old-bundle.pem"
expect_fail_with "a wrong PFX password" "password" \
	certificate import --name badpw --file "$WORK/rsa.pfx" --password not-it
expect_fail_with "a PFX without its password" "password" \
	certificate import --name nopw --file "$WORK/rsa.pfx"
expect_fail_with "a PFX password over Key Vault's 200 characters" "at most 200 characters" \
	certificate import --name longpw --file "$WORK/rsa.pfx" --password "$(printf 'p%.0s' $(seq 201))"
head -c 700 "$WORK/rsa.pfx" >"$WORK/trunc.pfx"
expect_fail_with "a truncated PFX" "" \
	certificate import --name trunc --file "$WORK/trunc.pfx" --password pfx-pass-1
sed '3s/^..../****/' "$WORK/rsa.pem" >"$WORK/garbled.pem"
cat "$WORK/garbled.pem" "$WORK/rsa.key" >"$WORK/garbled-bundle.pem"
expect_fail_with "a damaged PEM certificate" \
	"The specified PEM X.509 certificate content is in an unexpected format. Check if certificate is in valid PEM format." \
	certificate import --name garbled --file "$WORK/garbled-bundle.pem"
head -c 1500 /dev/urandom >"$WORK/random.bin"
expect_fail_with "random bytes" "" certificate import --name random --file "$WORK/random.bin"
expect_fail_with "a bad name" "names may only contain" \
	certificate import --name 'no spaces' --file "$WORK/rsa-bundle.pem"

expect_ok "an operation in progress for 'busy'" certificate create --name busy \
	--policy "$(policy CN=imp.example.com Unknown)"
expect_fail_with "import during an operation" \
	"A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress." \
	certificate import --name busy --file "$WORK/rsa-bundle.pem"

done_testing
