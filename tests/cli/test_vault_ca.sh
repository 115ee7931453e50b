#!/bin/bash
# The vault as a CA: a root made in the vault signs an intermediate through a
# Vault issuer, the intermediate signs leaves through a second one, and
# `openssl verify` accepts the leaves with the root alone as trust anchor.
# Path length, the CA's expiry and state, and the issuer's allowed names
# are enforced; a refusal leaves the vault as it was; the CA key never
# leaves the vault.
. "$(dirname "$0")/lib.sh"
need openssl jq mdb_dump

make_vault ca

# capol SUBJECT ISSUER X509_JSON [KEY_JSON]: an EC P-256, not exportable,
# PEM policy with those x509 properties.
capol() {
	local key=${4:-}
	[ -n "$key" ] || key='{"kty":"EC","crv":"P-256"}'
	jq -cn --arg s "$1" --arg i "$2" --argjson x "$3" --argjson k "$key" \
		'{key_props: ({exportable: false, reuse_key: false} + $k),
		  secret_props: {contentType: "application/x-pem-file"},
		  x509_props: ({subject: $s, validity_months: 12} + $x),
		  issuer: {name: $i}}'
}
CA_KU='"key_usage":["keyCertSign","cRLSign"]'

# --- The root, self-signed ----------------------------------------------------------
expect_ok "root: Self with basic_constraints path_length 1" certificate create --name root \
	--policy "$(capol "CN=Vault Root CA" Self "{$CA_KU,\"validity_months\":24,\"basic_constraints\":{\"ca\":true,\"path_length\":1}}")"
cert_pem root "$WORK/root.pem"
openssl x509 -in "$WORK/root.pem" -noout -text >"$WORK/root.txt"
check "root: basicConstraints critical" grep -qA1 'Basic Constraints: critical' "$WORK/root.txt"
check "root: CA:TRUE, pathlen:1" grep -qF 'CA:TRUE, pathlen:1' "$WORK/root.txt"
run_cv --json certificate policy show --name root
check_eq "root: the policy shows basicConstraints" \
	"$(jq -c .x509CertificateProperties.basicConstraints <"$OUT")" '{"ca":true,"pathLength":1}'

# --- Vault issuers must name a CA of the vault ----------------------------------------
expect_ok "a leaf that is no CA" certificate create --name plain \
	--policy "$(capol "CN=plain" Self '{}')"
expect_fail_with "a Vault issuer over a certificate that is no CA" "certificate 'plain' is not a CA" \
	issuer create --name NotCA --provider Vault --ca-certificate plain
expect_fail_with "a Vault issuer over a missing certificate" "CA certificate 'nosuch' was not found" \
	issuer create --name Missing --provider Vault --ca-certificate nosuch
expect_fail_with "a Vault issuer naming no CA" "names no CA certificate" \
	issuer create --name NoCA --provider Vault
expect_fail_with "an allowed name that is not a DNS name" "allowed name 'bad name' is not a DNS name" \
	issuer create --name BadNames --provider Vault --ca-certificate root --allowed-names 'bad name'
expect_ok "issuer RootCA over the root" issuer create --name RootCA --provider Vault --ca-certificate root

# --- The intermediate, signed by the root --------------------------------------------
expect_ok "intermediate: issued by RootCA" certificate create --name inter \
	--policy "$(capol "CN=Vault Intermediate CA" RootCA "{$CA_KU,\"validity_months\":36,\"basic_constraints\":{\"ca\":true}}")"
run_cv --json certificate pending show --name inter
check_eq "intermediate: the operation completed at once" "$(jout .status)" completed
check "intermediate: the CA's expiry cut its validity, and the details say so" \
	grep -qF "cut to the CA's own expiry" "$OUT"
cert_pem inter "$WORK/inter.pem"
openssl x509 -in "$WORK/inter.pem" -noout -text >"$WORK/inter.txt"
check "intermediate: CA:TRUE with pathlen 0 (one below the root's)" grep -qF 'CA:TRUE, pathlen:0' "$WORK/inter.txt"
check_eq "intermediate: issuer is the root" \
	"$(openssl x509 -in "$WORK/inter.pem" -noout -issuer -nameopt RFC2253)" "issuer=CN=Vault Root CA"
check_eq "intermediate: notAfter is the root's (24 months, not 36)" \
	"$(openssl x509 -in "$WORK/inter.pem" -noout -enddate)" "$(openssl x509 -in "$WORK/root.pem" -noout -enddate)"
check "intermediate: verifies against the root" openssl verify -x509_strict -CAfile "$WORK/root.pem" "$WORK/inter.pem"
expect_fail_with "a CA asking more path length than the root allows below it" \
	"path_length: 1 is more than the CA 'root' allows below it (0)" \
	certificate create --name inter2 \
	--policy "$(capol "CN=Too Long" RootCA "{$CA_KU,\"basic_constraints\":{\"ca\":true,\"path_length\":1}}")"

expect_ok "issuer InterCA over the intermediate, with allowed names" issuer create --name InterCA \
	--provider Vault --ca-certificate inter --allowed-names 'www.example.com,*.svc.example.com'
run_cv --json issuer show --name InterCA
check_eq "issuer show lists the allowed names" "$(jq -c .allowedNames <"$OUT")" '["www.example.com","*.svc.example.com"]'

# --- Leaves -----------------------------------------------------------------------------
leafpol() {
	capol "CN=$1" InterCA "{\"sans\":{\"dns_names\":[\"$2\"]},\"key_usage\":[\"digitalSignature\",\"keyEncipherment\"],\"ekus\":[\"1.3.6.1.5.5.7.3.1\"]}" "${3:-}"
}
expect_ok "EC P-256 leaf" certificate create --name leaf-ec \
	--policy "$(leafpol a.svc.example.com a.svc.example.com '{"kty":"EC","crv":"P-256"}')"
expect_ok "RSA-2048 leaf" certificate create --name leaf-rsa \
	--policy "$(leafpol www.example.com www.example.com '{"kty":"RSA","key_size":2048}')"
for leaf in leaf-ec leaf-rsa; do
	cert_pem "$leaf" "$WORK/$leaf.pem"
	cert_pem "$leaf" "$WORK/$leaf-full.pem" --chain
	# the chain alone: every certificate after the leaf
	awk 'n>=1{print} /END CERTIFICATE/{n++}' "$WORK/$leaf-full.pem" >"$WORK/$leaf-chain.pem"
	check_eq "$leaf: the stored chain is the intermediate and the root" \
		"$(grep -c 'BEGIN CERTIFICATE' "$WORK/$leaf-chain.pem")" 2
	run_any openssl verify -x509_strict -purpose sslserver -CAfile "$WORK/root.pem" \
		-untrusted "$WORK/$leaf-chain.pem" "$WORK/$leaf.pem"
	check_eq "$leaf: openssl verify with the root alone as trust anchor" "$(cat "$OUT")" "$WORK/$leaf.pem: OK"
	run_any openssl verify -CAfile "$WORK/inter.pem" "$WORK/$leaf.pem"
	check "$leaf: and not without the root" test "$RC" -ne 0
	openssl x509 -in "$WORK/$leaf.pem" -noout -text >"$WORK/$leaf.txt"
	check "$leaf: CA:FALSE" grep -qF 'CA:FALSE' "$WORK/$leaf.txt"
	check "$leaf: key usage from the policy" grep -qE '^ +Digital Signature, Key Encipherment$' "$WORK/$leaf.txt"
	check "$leaf: EKU from the policy" grep -qF 'TLS Web Server Authentication' "$WORK/$leaf.txt"
	check_eq "$leaf: authorityKeyIdentifier is the intermediate's key id" \
		"$(grep -A1 'Authority Key Identifier' "$WORK/$leaf.txt" | tail -1 | tr -d ' ' | sed 's/^keyid://')" \
		"$(grep -A1 'Subject Key Identifier' "$WORK/inter.txt" | tail -1 | tr -d ' ')"
done
run_cv --json certificate pending show --name leaf-ec
check "a leaf inside the CA's validity is not cut" bash -c "! grep -qF 'cut to' '$OUT'"

# Serials: fresh and random, 159 bits, never repeated.
for i in 1 2 3 4 5; do
	cv certificate create --name "s$i" --policy "$(leafpol "s$i.svc.example.com" "s$i.svc.example.com")" >/dev/null 2>&1
	cert_pem "s$i" "$WORK/s$i.pem"
	openssl x509 -in "$WORK/s$i.pem" -noout -serial
done >"$WORK/serials"
check_eq "five leaves, five different serials" "$(sort -u "$WORK/serials" | grep -c serial=)" 5
check "serials are 20 octets, positive" bash -c "! grep -vqE '^serial=[0-7][0-9A-F]{39}$' '$WORK/serials'"

# --- Refusals leave the vault as it was ---------------------------------------------
expect_fail_with "a DNS name outside the issuer's allowed names" \
	"'evil.example.org' is not among the names issuer 'InterCA' allows" \
	certificate create --name evil --policy "$(leafpol evil evil.example.org)"
expect_fail_with "a pattern allows names under it, not the bare suffix" \
	"'svc.example.com' is not among the names" \
	certificate create --name bare --policy "$(leafpol bare svc.example.com)"
expect_fail_with "with no DNS name, the subject's common name is checked" \
	"the common name 'evil.example.org' is not among the names" \
	certificate create --name cnonly --policy "$(capol "CN=evil.example.org" InterCA '{}')"
expect_fail_with "a CA under a CA of path length 0" "the CA 'inter' has path length 0 and signs no CA" \
	certificate create --name sub --policy "$(capol "CN=Sub CA" InterCA \
	"{$CA_KU,\"sans\":{\"dns_names\":[\"www.example.com\"]},\"basic_constraints\":{\"ca\":true}}")"

expect_ok "disable the issuer InterCA" issuer update --name InterCA --enabled false
expect_fail_with "a disabled issuer issues nothing" "issuer 'InterCA' is disabled" \
	certificate create --name off --policy "$(leafpol off.svc.example.com off.svc.example.com)"
expect_ok "enable it again" issuer update --name InterCA --enabled true
expect_ok "disable the intermediate" certificate set-attributes --name inter --enabled false
expect_fail_with "a disabled CA refuses" "CA certificate 'inter' is disabled" \
	certificate create --name off --policy "$(leafpol off.svc.example.com off.svc.example.com)"
expect_ok "enable it again" certificate set-attributes --name inter --enabled true
expect_ok "and it signs again" certificate create --name on \
	--policy "$(leafpol on.svc.example.com on.svc.example.com)"

# A CA outside the vault, for certificates merged below.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/outside.key" \
	-subj "/CN=Outside CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -out "$WORK/outside.pem" 2>/dev/null

# A CA whose key is made in the vault and whose certificate an outside CA
# signs: its CSR asks for CA:TRUE, the merged chain goes on with its leaves.
expect_ok "a pending CA (issuer Unknown)" certificate create --name subca \
	--policy "$(capol "CN=Vault Sub CA" Unknown "{$CA_KU,\"basic_constraints\":{\"ca\":true,\"path_length\":0}}")"
cv certificate pending csr --name subca --file "$WORK/subca.csr" >/dev/null 2>&1
openssl req -in "$WORK/subca.csr" -noout -text >"$WORK/subca.csr.txt" 2>&1
check "its CSR asks for CA:TRUE, pathlen:0" grep -qF 'CA:TRUE, pathlen:0' "$WORK/subca.csr.txt"
openssl x509 -req -in "$WORK/subca.csr" -CA "$WORK/outside.pem" -CAkey "$WORK/outside.key" \
	-set_serial 9 -days 30 -copy_extensions copyall -out "$WORK/subca.pem" 2>/dev/null
cat "$WORK/subca.pem" "$WORK/outside.pem" >"$WORK/subca-chain.pem"
expect_ok "the outside CA's answer merged" certificate pending merge --name subca --file "$WORK/subca-chain.pem"
expect_ok "issuer over the merged CA" issuer create --name SubCA --provider Vault --ca-certificate subca
expect_ok "a leaf of the merged CA" certificate create --name subleaf \
	--policy "$(capol "CN=subleaf" SubCA '{"sans":{"dns_names":["subleaf.example"]}}')"
cert_pem subleaf "$WORK/subleaf.pem"
cert_pem subleaf "$WORK/subleaf-full.pem" --chain
awk 'n>=1{print} /END CERTIFICATE/{n++}' "$WORK/subleaf-full.pem" >"$WORK/subleaf-chain.pem"
run_any openssl verify -x509_strict -CAfile "$WORK/outside.pem" -untrusted "$WORK/subleaf-chain.pem" \
	"$WORK/subleaf.pem"
check_eq "its leaf verifies up to the outside root" "$(cat "$OUT")" "$WORK/subleaf.pem: OK"

# An expired CA: imported with its key while still valid (an expired
# certificate is not imported), valid for a few seconds (made by `openssl
# ca`, which takes exact dates), then waited out.
mkdir -p "$WORK/oldca"
: >"$WORK/oldca/index.txt"
echo 01 >"$WORK/oldca/serial"
cat >"$WORK/oldca/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
dir = $WORK/oldca
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = p
[p]
commonName = supplied
[ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/oldca/key.pem" \
	-subj "/CN=Short-lived CA" -out "$WORK/oldca/req.pem" 2>/dev/null
end=$(($(date +%s) + 6))
openssl ca -batch -config "$WORK/oldca/ca.cnf" -selfsign -keyfile "$WORK/oldca/key.pem" \
	-in "$WORK/oldca/req.pem" -startdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" \
	-enddate "$(date -u -d "@$end" +%Y%m%d%H%M%SZ)" \
	-extensions ext -notext -out "$WORK/oldca/cert.pem" >/dev/null 2>&1
cat "$WORK/oldca/key.pem" "$WORK/oldca/cert.pem" >"$WORK/oldca/bundle.pem"
expect_ok "import a CA valid for a few more seconds" certificate import --name oldca \
	--file "$WORK/oldca/bundle.pem"
run_cv --json certificate policy show --name oldca
check_eq "an imported CA reads back as a CA" \
	"$(jq -c .x509CertificateProperties.basicConstraints <"$OUT")" '{"ca":true}'
expect_ok "issuer over it" issuer create --name OldCA --provider Vault --ca-certificate oldca
for i in $(seq 1 20); do
	[ "$(date +%s)" -gt "$end" ] && break
	sleep 0.5
done
expect_fail_with "once expired, the CA refuses" \
	"CA certificate 'oldca' expired on $(date -u -d "@$end" +%Y-%m-%dT%H:%M:%SZ)" \
	certificate create --name late --policy "$(capol "CN=late" OldCA '{}')"

# A key made for a leaf does not become a CA's key: its policy turned CA
# later and a CA certificate merged for it, it still signs nothing.
expect_ok "a pending certificate whose key is made for digitalSignature only" \
	certificate create --name turned --policy "$(capol "CN=Turned CA" Unknown '{"key_usage":["digitalSignature"]}')"
expect_ok "its policy turned CA afterwards" certificate policy update --name turned \
	--policy "{\"x509_props\":{$CA_KU,\"basic_constraints\":{\"ca\":true}}}"
cv certificate pending csr --name turned --file "$WORK/turned.csr" >/dev/null 2>&1
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$WORK/turned.ext"
openssl x509 -req -in "$WORK/turned.csr" -CA "$WORK/outside.pem" -CAkey "$WORK/outside.key" \
	-set_serial 7 -days 30 -extfile "$WORK/turned.ext" -out "$WORK/turned.pem" 2>/dev/null
expect_ok "a CA certificate merged for it" certificate pending merge --name turned --file "$WORK/turned.pem"
expect_ok "issuer over it" issuer create --name Turned --provider Vault --ca-certificate turned
expect_fail_with "the key was not made for keyCertSign: refused" \
	"the key of CA certificate 'turned' was not made for keyCertSign" \
	certificate create --name viaturned --policy "$(capol "CN=x" Turned '{}')"

# --- The CA key stays in the vault ---------------------------------------------------
run_cv secret download --name root --file "$WORK/root-secret.pem"
check "the root's secret holds no private key" bash -c "! grep -q 'PRIVATE KEY' '$WORK/root-secret.pem'"
MODULE=${CERTVAULT_MODULE:-}
if [ -n "$MODULE" ] && command -v pkcs11-tool >/dev/null 2>&1; then
	echo "vault = $VAULT" >"$WORK/p11.conf"
	run_any env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
		--login --pin "$CERTVAULT_PIN" --list-objects --type privkey --label root
	awk '/^Private Key Object/{p=0} /label: +root$/{p=1} p' "$OUT" >"$WORK/root-p11.txt"
	check "the module shows the root's private key" grep -qE 'label: +root$' "$WORK/root-p11.txt"
	check "sensitive and never extractable" \
		grep -qF 'Access:     sensitive, always sensitive, never extractable, local' "$WORK/root-p11.txt"
	# The EC leaf serves: the module signs with its key, and the leaf
	# certificate's public key verifies the signature.
	awk '/^Private Key Object/{p=0} /label: +leaf-ec$/{p=1} p && /ID:/{print $2}' "$OUT" >"$WORK/leaf-ec.id"
	openssl dgst -sha256 -binary "$WORK/root.pem" >"$WORK/digest.bin"
	run_any env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
		--login --pin "$CERTVAULT_PIN" --sign --mechanism ECDSA --id "$(cat "$WORK/leaf-ec.id")" \
		--signature-format openssl -i "$WORK/digest.bin" -o "$WORK/leaf-ec.sig"
	openssl x509 -in "$WORK/leaf-ec.pem" -pubkey -noout >"$WORK/leaf-ec.pub"
	check "the EC leaf's key signs through the module, and its certificate verifies it" \
		openssl pkeyutl -verify -pubin -inkey "$WORK/leaf-ec.pub" -sigfile "$WORK/leaf-ec.sig" \
		-in "$WORK/digest.bin"
else
	skip "the CA key through the module" "needs pkcs11-tool and CERTVAULT_MODULE"
fi

done_testing
