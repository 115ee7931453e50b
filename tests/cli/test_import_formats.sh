#!/bin/bash
# certificate import of the files other tools write, and of hostile ones:
# PKCS#12 with iteration counts no real tool writes (refused before any key
# derivation, in one line); PKCS#12 made by OpenSSL 1.x and `-legacy`
# (RC2-40 certificate bags, 3DES key bags); encrypted PKCS#8 PEM keys.
. "$(dirname "$0")/lib.sh"
need timeout python3

# Every run is bounded: an import that spins on a hostile count fails here
# instead of hanging the suite.
cv() {
	timeout 20 "$CERTVAULT" --vault "$VAULT" "$@"
}
P12ITER="$CERTVAULT_TESTS/p12iter.py"
BIG=2147483647

make_vault

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/k.pem" -out "$WORK/c.pem" \
	-subj "/CN=formats.example" -days 30 2>/dev/null
check "a key and certificate made" test -s "$WORK/c.pem"

# The public key of the key a vault's secret holds, as PEM.
secret_pub() {
	rm -f "$WORK/secret.pem"
	cv secret download --name "$1" --file "$WORK/secret.pem" --format pem >/dev/null &&
		openssl pkey -in "$WORK/secret.pem" -pubout 2>/dev/null
}
KEY_PUB=$(openssl pkey -in "$WORK/k.pem" -pubout)

# --- Iteration counts no real tool writes ------------------------------------
openssl pkcs12 -export -inkey "$WORK/k.pem" -in "$WORK/c.pem" -passout pass:pw \
	-out "$WORK/ok.pfx"
python3 "$P12ITER" "$WORK/ok.pfx" "$WORK/mac-big.pfx" mac "$BIG"
check "a PFX with MAC iteration count 2^31-1 made" test -s "$WORK/mac-big.pfx"
expect_fail_with "a MAC iteration count of 2^31-1" \
	"the PKCS#12 MAC iteration count 2147483647 is over certvault's limit of 1000000" \
	certificate import --name macbig --file "$WORK/mac-big.pfx" --password pw
expect_fail_with "a MAC iteration count of 2^31-1, wrong password" \
	"the PKCS#12 MAC iteration count 2147483647 is over certvault's limit of 1000000" \
	certificate import --name macbig --file "$WORK/mac-big.pfx" --password not-it
python3 "$P12ITER" "$WORK/ok.pfx" "$WORK/mac-over.pfx" mac 1000001
expect_fail_with "a MAC iteration count one over the limit" \
	"iteration count 1000001 is over certvault's limit of 1000000" \
	certificate import --name macover --file "$WORK/mac-over.pfx" --password pw

# Without a MAC the counts of the encrypted bags are the ones to bound.
openssl pkcs12 -export -nomac -certpbe AES-256-CBC -inkey "$WORK/k.pem" -in "$WORK/c.pem" \
	-passout pass:pw -out "$WORK/nomac.pfx"
expect_ok "a PFX without a MAC imports" certificate import --name nomac \
	--file "$WORK/nomac.pfx" --password pw
python3 "$P12ITER" "$WORK/nomac.pfx" "$WORK/pbe-big.pfx" pbe "$BIG"
check "a PFX with PBKDF2 iteration counts of 2^31-1 made" test -s "$WORK/pbe-big.pfx"
expect_fail_with "PBKDF2 iteration counts of 2^31-1" \
	"the PKCS#12 encryption iteration count 2147483647 is over certvault's limit of 1000000" \
	certificate import --name pbebig --file "$WORK/pbe-big.pfx" --password pw
# Only the key bag's count: the certificates decrypt, the key would spin.
openssl pkcs12 -export -nomac -certpbe NONE -inkey "$WORK/k.pem" -in "$WORK/c.pem" \
	-passout pass:pw -out "$WORK/nomac-keyonly.pfx"
python3 "$P12ITER" "$WORK/nomac-keyonly.pfx" "$WORK/key-big.pfx" pbe "$BIG"
expect_fail_with "a key bag's PBKDF2 iteration count of 2^31-1" \
	"the PKCS#12 encryption iteration count 2147483647 is over certvault's limit of 1000000" \
	certificate import --name keybig --file "$WORK/key-big.pfx" --password pw

# What real tools write stays well inside the limit.
openssl pkcs12 -export -iter 100000 -inkey "$WORK/k.pem" -in "$WORK/c.pem" -passout pass:pw \
	-out "$WORK/iter100k.pfx"
fresh_vault java
expect_ok "iteration count 100000 (newer Java keytool) imports" certificate import \
	--name iter100k --file "$WORK/iter100k.pfx" --password pw

# --- Files made by OpenSSL 1.x and `-legacy` -------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
	-subj "/CN=Formats Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ec.key" \
	-subj "/CN=legacy-ec.example" -out "$WORK/ec.csr" 2>/dev/null
openssl x509 -req -in "$WORK/ec.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
	-days 30 -out "$WORK/ec.pem" 2>/dev/null
check "an EC leaf signed by a CA made" test -s "$WORK/ec.pem"

# legacy_check NAME FILE PASSWORD CERT KEY: the file is what OpenSSL 1.x
# wrote (RC2-40 certificate bags, 3DES key bags), imports, and the vault
# holds its certificate, chain and key.
legacy_check() {
	local name=$1 file=$2 pass=$3 cert=$4 key=$5 info
	info=$(openssl pkcs12 -legacy -in "$file" -info -noout -passin "pass:$pass" 2>&1)
	check "$name: the file has RC2-40 certificate bags" \
		grep -q "pbeWithSHA1And40BitRC2-CBC" <<<"$info"
	check "$name: the file has a 3DES key bag" \
		grep -q "pbeWithSHA1And3-KeyTripleDES-CBC" <<<"$info"
	fresh_vault "$name"
	expect_ok "$name: imports" certificate import --name "$name" --file "$file" \
		--password "$pass"
	run_cv certificate show --name "$name" --json
	check_eq "$name: the certificate is the file's" "$(jout .x5t)" "$(x5t_of "$cert")"
	check_eq "$name: the key is the file's" "$(secret_pub "$name")" \
		"$(openssl pkey -in "$key" -pubout)"
}

openssl pkcs12 -export -legacy -inkey "$WORK/k.pem" -in "$WORK/c.pem" -passout pass:pw \
	-out "$WORK/legacy-rsa.pfx"
legacy_check legacy-rsa "$WORK/legacy-rsa.pfx" pw "$WORK/c.pem" "$WORK/k.pem"
openssl pkcs12 -export -legacy -inkey "$WORK/ec.key" -in "$WORK/ec.pem" -certfile "$WORK/ca.pem" \
	-passout pass:legacy-pass -out "$WORK/legacy-ec.pfx"
legacy_check legacy-ec "$WORK/legacy-ec.pfx" legacy-pass "$WORK/ec.pem" "$WORK/ec.key"
rm -f "$WORK/legacy-chain.pem"
cv certificate download --name legacy-ec --file "$WORK/legacy-chain.pem" --chain >/dev/null
check_eq "legacy-ec: the CA certificate is stored as its chain" \
	"$(openssl crl2pkcs7 -nocrl -certfile "$WORK/legacy-chain.pem" | openssl pkcs7 -print_certs -noout | grep -c subject=)" 2
# The same algorithms named one by one, as OpenSSL 1.1's defaults.
openssl pkcs12 -export -legacy -certpbe PBE-SHA1-RC2-40 -keypbe PBE-SHA1-3DES -macalg sha1 \
	-inkey "$WORK/k.pem" -in "$WORK/c.pem" -passout pass:pw -out "$WORK/openssl11.pfx"
legacy_check openssl11 "$WORK/openssl11.pfx" pw "$WORK/c.pem" "$WORK/k.pem"
expect_fail_with "a -legacy file with a wrong password" "password" \
	certificate import --name legacy-bad --file "$WORK/legacy-rsa.pfx" --password not-it

# --- Encrypted PKCS#8 PEM keys ------------------------------------------------
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$WORK/k.pem" -passout pass:key-pass \
	-out "$WORK/enc.key"
check "an ENCRYPTED PRIVATE KEY made" grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$WORK/enc.key"
cat "$WORK/c.pem" "$WORK/enc.key" >"$WORK/enc-bundle.pem"
fresh_vault enc1
expect_ok "an encrypted PKCS#8 key imports with --password" certificate import --name enc1 \
	--file "$WORK/enc-bundle.pem" --password key-pass
check_eq "enc1: the key is the file's" "$(secret_pub enc1)" "$KEY_PUB"
printf 'key-pass\n' >"$WORK/key.pass"
fresh_vault enc2
expect_ok "an encrypted PKCS#8 key imports with --password-file" certificate import \
	--name enc2 --file "$WORK/enc-bundle.pem" --password-file "$WORK/key.pass"
check_eq "enc2: the key is the file's" "$(secret_pub enc2)" "$KEY_PUB"
openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in "$WORK/ec.key" -passout pass:key-pass \
	-out "$WORK/enc-v1.key"
cat "$WORK/enc-v1.key" "$WORK/ec.pem" "$WORK/ca.pem" >"$WORK/enc-v1-bundle.pem"
fresh_vault enc3
expect_ok "a PKCS#5 v1.5 (3DES) encrypted EC key imports" certificate import --name enc3 \
	--file "$WORK/enc-v1-bundle.pem" --password key-pass
check_eq "enc3: the key is the file's" "$(secret_pub enc3)" "$(openssl pkey -in "$WORK/ec.key" -pubout)"
expect_fail_with "an encrypted PKCS#8 key, wrong password" \
	"the PEM private key does not decrypt with this password" \
	certificate import --name encbad --file "$WORK/enc-bundle.pem" --password not-it
expect_fail_with "an encrypted PKCS#8 key, no password" "the PEM private key is encrypted" \
	certificate import --name encnone --file "$WORK/enc-bundle.pem"
# The key's PBKDF2 count raised to 2^31-1 in its DER.
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$WORK/k.pem" -passout pass:key-pass -outform DER \
	-out "$WORK/enc.der"
python3 "$P12ITER" "$WORK/enc.der" "$WORK/enc-big.der" pbe "$BIG"
{
	echo "-----BEGIN ENCRYPTED PRIVATE KEY-----"
	openssl base64 -in "$WORK/enc-big.der"
	echo "-----END ENCRYPTED PRIVATE KEY-----"
} >"$WORK/enc-big.key"
cat "$WORK/c.pem" "$WORK/enc-big.key" >"$WORK/enc-big-bundle.pem"
expect_fail_with "an encrypted PKCS#8 key with iteration count 2^31-1" \
	"the PEM private key's encryption iteration count 2147483647 is over certvault's limit of 1000000" \
	certificate import --name encbig --file "$WORK/enc-big-bundle.pem" --password key-pass

# The traditional encrypted forms (Proc-Type: 4,ENCRYPTED), as OpenSSL
# 1.x's genrsa -des3 and `openssl rsa -traditional` write them.
openssl rsa -in "$WORK/k.pem" -des3 -traditional -passout pass:key-pass \
	-out "$WORK/trad-rsa.key" 2>/dev/null
check "a traditional 3DES RSA key made" grep -q "Proc-Type: 4,ENCRYPTED" "$WORK/trad-rsa.key"
cat "$WORK/c.pem" "$WORK/trad-rsa.key" >"$WORK/trad-rsa-bundle.pem"
fresh_vault trad1
expect_ok "a traditional encrypted RSA key imports" certificate import --name trad1 \
	--file "$WORK/trad-rsa-bundle.pem" --password key-pass
check_eq "trad1: the key is the file's" "$(secret_pub trad1)" "$KEY_PUB"
openssl ec -in "$WORK/ec.key" -aes128 -passout pass:key-pass -out "$WORK/trad-ec.key" 2>/dev/null
check "a traditional AES EC key made" grep -q "BEGIN EC PRIVATE KEY" "$WORK/trad-ec.key"
cat "$WORK/ec.pem" "$WORK/trad-ec.key" >"$WORK/trad-ec-bundle.pem"
fresh_vault trad2
expect_ok "a traditional encrypted EC key imports" certificate import --name trad2 \
	--file "$WORK/trad-ec-bundle.pem" --password key-pass
check_eq "trad2: the key is the file's" "$(secret_pub trad2)" "$(openssl pkey -in "$WORK/ec.key" -pubout)"
expect_fail_with "a traditional encrypted key, wrong password" \
	"the PEM private key does not decrypt with this password" \
	certificate import --name tradbad --file "$WORK/trad-rsa-bundle.pem" --password not-it
expect_fail_with "a traditional encrypted key, no password" "the PEM private key is encrypted" \
	certificate import --name tradnone --file "$WORK/trad-rsa-bundle.pem"

# scrypt, as `openssl pkcs8 -scrypt` writes it; a cost N*r*p no tool
# writes is refused before the key is derived.
openssl pkcs8 -topk8 -scrypt -in "$WORK/k.pem" -passout pass:key-pass -out "$WORK/scrypt.key"
cat "$WORK/c.pem" "$WORK/scrypt.key" >"$WORK/scrypt-bundle.pem"
fresh_vault enc4
expect_ok "an scrypt-encrypted PKCS#8 key imports" certificate import --name enc4 \
	--file "$WORK/scrypt-bundle.pem" --password key-pass
check_eq "enc4: the key is the file's" "$(secret_pub enc4)" "$KEY_PUB"
openssl pkcs8 -topk8 -scrypt -in "$WORK/k.pem" -passout pass:key-pass -outform DER \
	-out "$WORK/scrypt.der"
# N=2^15, r=1, p=2^16: 12 MB, within OpenSSL's own memory bound, and
# hours of work.
python3 "$P12ITER" "$WORK/scrypt.der" "$WORK/scrypt-big.der" scrypt 32768
{
	echo "-----BEGIN ENCRYPTED PRIVATE KEY-----"
	openssl base64 -in "$WORK/scrypt-big.der"
	echo "-----END ENCRYPTED PRIVATE KEY-----"
} >"$WORK/scrypt-big.key"
cat "$WORK/c.pem" "$WORK/scrypt-big.key" >"$WORK/scrypt-big-bundle.pem"
expect_fail_with "an scrypt key with N*r*p 2^31" \
	"the PEM private key's encryption scrypt cost N*r*p 2147483648 is over certvault's limit of 1048576" \
	certificate import --name scryptbig --file "$WORK/scrypt-big-bundle.pem" --password key-pass

# --- Import policies with only some members --------------------------------------
# az's own import policy: issuer, key properties and content type, no
# x509 properties.  The rest comes from the certificate.
printf 'subjectAltName=DNS:part.example,DNS:www.part.example\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
	>"$WORK/part.ext"
openssl req -new -key "$WORK/k.pem" -subj "/C=US/O=Contoso/CN=part.example" \
	-out "$WORK/part.csr" 2>/dev/null
openssl x509 -req -in "$WORK/part.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
	-days 90 -extfile "$WORK/part.ext" -out "$WORK/part.pem" 2>/dev/null
cat "$WORK/part.pem" "$WORK/k.pem" >"$WORK/part-bundle.pem"
az_import_policy='{"issuerParameters":{"name":"Unknown"},
  "keyProperties":{"exportable":true,"keySize":2048,"keyType":"RSA","reuseKey":false},
  "secretProperties":{"contentType":"application/x-pem-file"}}'
fresh_vault part1
expect_ok "az's import policy (no x509 properties) imports" certificate import --name part1 \
	--file "$WORK/part-bundle.pem" --policy "$az_import_policy"
run_cv certificate policy show --name part1 --style rest
# What the certificate says, read by openssl.
PART_SUBJECT=$(openssl x509 -in "$WORK/part.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
check_eq "part1: the subject is the certificate's" "$(jout .x509_props.subject | sed 's/, /,/g')" \
	"$PART_SUBJECT"
check_eq "part1: the DNS names are the certificate's" "$(jout '.x509_props.sans.dns_names | join(",")')" \
	"$(openssl x509 -in "$WORK/part.pem" -noout -ext subjectAltName | sed -n 's/^ *//; s/DNS://g; s/, /,/gp' | tail -1)"
check_eq "part1: the key usage is the certificate's" "$(jout '.x509_props.key_usage | join(",")')" digitalSignature
check_eq "part1: the EKU is the certificate's" "$(jout '.x509_props.ekus | join(",")')" 1.3.6.1.5.5.7.3.2
check_eq "part1: 90 days are 3 months, not the default 12" "$(jout .x509_props.validity_months)" 3
check_eq "part1: the content type is the policy's" "$(jout .secret_props.contentType)" application/x-pem-file
check_eq "part1: the issuer is the policy's" "$(jout .issuer.name)" Unknown
check_eq "part1: the key is the policy's" \
	"$(jout '[.key_props.kty, .key_props.key_size, .key_props.exportable, .key_props.reuse_key] | map(tostring) | join(" ")')" \
	"RSA 2048 true false"

# Only a subject: the key's type and curve come from the certificate, not
# the RSA default; the content type from the file (PKCS#12).
openssl pkcs12 -export -inkey "$WORK/ec.key" -in "$WORK/ec.pem" -passout pass:pw \
	-out "$WORK/ec.pfx"
EC_SUBJECT=$(openssl x509 -in "$WORK/ec.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
fresh_vault part2
expect_ok "a policy with only a subject imports an EC certificate" certificate import \
	--name part2 --file "$WORK/ec.pfx" --password pw \
	--policy "{\"x509_props\":{\"subject\":\"$EC_SUBJECT\"}}"
run_cv certificate policy show --name part2 --style rest
check_eq "part2: EC P-256 from the certificate" "$(jout '.key_props.kty + " " + .key_props.crv')" "EC P-256"
check_eq "part2: the file's content type" "$(jout .secret_props.contentType)" application/x-pkcs12
check_eq "part2: 30 days are 1 month" "$(jout .x509_props.validity_months)" 1

# Key type without a size: the size is the certificate's.
openssl req -x509 -newkey rsa:3072 -nodes -keyout "$WORK/k3072.pem" -out "$WORK/c3072.pem" \
	-subj "/CN=rsa3072.example" -days 30 2>/dev/null
cat "$WORK/c3072.pem" "$WORK/k3072.pem" >"$WORK/rsa3072-bundle.pem"
expect_ok "a policy with kty RSA and no size imports an RSA-3072 certificate" certificate import \
	--name part3 --file "$WORK/rsa3072-bundle.pem" --policy '{"key_props":{"kty":"RSA"}}'
run_cv certificate policy show --name part3 --style rest
check_eq "part3: the size is the certificate's" "$(jout .key_props.key_size)" 3072

# What a policy does say must still fit.
expect_fail_with "a partial policy whose subject does not fit" "subject" \
	certificate import --name part4 --file "$WORK/part-bundle.pem" \
	--policy '{"x509_props":{"subject":"CN=other.example"}}'
expect_fail_with "a partial policy whose key type does not fit" "kty" \
	certificate import --name part5 --file "$WORK/ec.pfx" --password pw \
	--policy "$az_import_policy"
# A create still needs a subject or a SAN.
expect_fail_with "create with az's import policy" "subject" \
	certificate create --name part6 --policy "$az_import_policy"

done_testing
