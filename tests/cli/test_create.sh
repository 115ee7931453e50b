#!/bin/bash
# certificate create: issuer Self for every key type and size, with SANs,
# key usage, EKUs and validity as the policy says; issuer Unknown gives a
# pending operation with a CSR; a create during an operation is refused.
. "$(dirname "$0")/lib.sh"

make_vault

# --- Self, every key ----------------------------------------------------------
for spec in "RSA 2048" "RSA 3072" "RSA 4096" "EC P-256" "EC P-384" "EC P-521"; do
	set -- $spec
	kty=$1 size=$2
	name="self-$(echo "$kty-$size" | tr -d 'P' | tr 'A-Z' 'a-z')"
	if [ "$kty" == RSA ]; then
		key="{\"kty\":\"RSA\",\"key_size\":$size}"
		want="Public-Key: ($size bit)"
	else
		key="{\"kty\":\"EC\",\"crv\":\"$size\"}"
		case $size in
		P-256) want="NIST CURVE: P-256" ;;
		P-384) want="NIST CURVE: P-384" ;;
		P-521) want="NIST CURVE: P-521" ;;
		esac
	fi
	expect_ok "Self $kty $size: create" certificate create --name "$name" \
		--policy "$(policy "CN=$name.example" Self "$key")"
	check_eq "Self $kty $size: operation completed" "$(cv --json certificate pending show --name "$name" | jq -r .status)" completed
	cert_pem "$name" "$WORK/$name.pem"
	openssl x509 -in "$WORK/$name.pem" -noout -text >"$WORK/$name.txt" 2>&1
	check "Self $kty $size: key as asked" grep -qF "$want" "$WORK/$name.txt"
	check_eq "Self $kty $size: subject" \
		"$(openssl x509 -in "$WORK/$name.pem" -noout -subject -nameopt RFC2253)" "subject=CN=$name.example"
	check_eq "Self $kty $size: self-signed (issuer = subject)" \
		"$(openssl x509 -in "$WORK/$name.pem" -noout -issuer -nameopt RFC2253)" "issuer=CN=$name.example"
	check "Self $kty $size: signature verifies with its own key" \
		openssl verify -CAfile "$WORK/$name.pem" -partial_chain "$WORK/$name.pem"
done

# --- Everything x509_props can say ---------------------------------------------
full='{"subject":"CN=www.contoso.com, O=Contoso, C=US","validity_months":6,
  "sans":{"dns_names":["www.contoso.com","api.contoso.com"],"emails":["admin@contoso.com"],
          "ipAddresses":["192.0.2.10","2001:db8::1"],"uris":["https://contoso.com/id"]},
  "key_usage":["digitalSignature","keyEncipherment"],
  "ekus":["1.3.6.1.5.5.7.3.1","1.3.6.1.5.5.7.3.2"]}'
full=$(jq -c . <<<"$full")
expect_ok "create with SANs, key usage, EKUs, 6 months" certificate create --name full \
	--policy "$(jq -cn --argjson x "$full" '{key_props:{kty:"RSA",key_size:2048,exportable:true},x509_props:$x,issuer:{name:"Self"}}')"
cert_pem full "$WORK/full.pem"
openssl x509 -in "$WORK/full.pem" -noout -text >"$WORK/full.txt"
check "SAN DNS names" grep -qE 'DNS:www.contoso.com, DNS:api.contoso.com' "$WORK/full.txt"
check "SAN email" grep -qF 'email:admin@contoso.com' "$WORK/full.txt"
check "SAN IPv4" grep -qF 'IP Address:192.0.2.10' "$WORK/full.txt"
check "SAN IPv6" grep -qiF 'IP Address:2001:DB8:0:0:0:0:0:1' "$WORK/full.txt"
check "SAN URI" grep -qF 'URI:https://contoso.com/id' "$WORK/full.txt"
check "key usage as asked" grep -qE '^ +Digital Signature, Key Encipherment$' "$WORK/full.txt"
check "EKUs as asked" grep -qF 'TLS Web Server Authentication, TLS Web Client Authentication' "$WORK/full.txt"
check_eq "subject as written (RFC 4514 order)" \
	"$(openssl x509 -in "$WORK/full.pem" -noout -subject -nameopt RFC2253)" \
	"subject=$(jq -r .subject <<<"$full" | sed 's/, /,/g')"
nb=$(date -d "$(openssl x509 -in "$WORK/full.pem" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$WORK/full.pem" -noout -enddate | cut -d= -f2)" +%s)
days=$(( (na - nb) / 86400 ))
check "validity of 6 months ($days days)" test "$days" -ge 180 -a "$days" -le 185
now=$(date +%s)
check "notBefore is now" test $((now - nb)) -ge -300 -a $((now - nb)) -le 300
run_cv certificate show --name full --json
check_eq "show: x5t is the base64url SHA-1 of the DER" "$(jout .x5t)" "$(x5t_of "$WORK/full.pem")"
check_eq "show: cer is the DER" "$(jout .cer)" "$(openssl x509 -in "$WORK/full.pem" -outform DER | base64 -w0)"
check_eq "show: expires matches the certificate" "$(date -d "$(jout .attributes.expires)" +%s)" "$na"
check_eq "show: id" "$(jout .id)" "certvault://testvault/certificates/full/$(jout .version)"

expect_ok "create without key_usage" certificate create --name no-ku --policy "$(policy CN=no-ku)"
expect_ok "show (human) of a certificate without tags" certificate show --name no-ku
check "... no line ends in a blank" bash -c "! grep -n '[[:blank:]]\$' '$OUT'"
check "... no tags read as -" grep -qE '^tags: +-$' "$OUT"
cert_pem no-ku "$WORK/no-ku.pem"
check "no key usage given: digitalSignature and keyEncipherment" \
	bash -c "openssl x509 -in '$WORK/no-ku.pem' -noout -text | grep -qE '^ +Digital Signature, Key Encipherment\$'"

# --- Unknown: a pending operation -----------------------------------------------
expect_ok "create with issuer Unknown" certificate create --name ext \
	--policy "$(policy 'CN=ext.contoso.com, O=Contoso' Unknown '{"kty":"RSA","key_size":2048}' '{"sans":{"dns_names":["ext.contoso.com"]}}')"
run_cv certificate pending show --name ext --json
check_eq "pending show: inProgress" "$(jout .status)" inProgress
check_eq "pending show: Key Vault's status details" "$(jout .statusDetails)" \
	"Pending certificate created. Please Perform Merge to complete the request."
check_eq "pending show: issuer Unknown" "$(jout .issuerParameters.name)" Unknown
check_eq "pending show: not cancelled" "$(jout .cancellationRequested)" false
check_eq "pending show: no target yet" "$(jout .target)" null
check "pending show: a 32 hex request id" bash -c "[[ '$(jout .requestId)' =~ ^[0-9a-f]{32}$ ]]"
jout .csr | base64 -d >"$WORK/ext-from-json.der" 2>/dev/null
expect_ok "pending csr (PEM)" certificate pending csr --name ext --file "$WORK/ext.csr"
check "the CSR is PEM" grep -q -- '-----BEGIN CERTIFICATE REQUEST-----' "$WORK/ext.csr"
check "the CSR verifies (openssl req -verify)" openssl req -in "$WORK/ext.csr" -verify -noout
check_eq "the CSR's subject (RFC 4514 order as written)" \
	"$(openssl req -in "$WORK/ext.csr" -noout -subject -nameopt RFC2253)" \
	'subject=CN=ext.contoso.com,O=Contoso'
check "the CSR asks for the SAN" bash -c "openssl req -in '$WORK/ext.csr' -noout -text | grep -qF 'DNS:ext.contoso.com'"
check_eq "the CSR file is 0644" "$(stat -c %a "$WORK/ext.csr")" 644
expect_ok "pending csr --encoding DER" certificate pending csr --name ext --file "$WORK/ext.der" --encoding DER
check "the DER CSR verifies" openssl req -inform DER -in "$WORK/ext.der" -verify -noout
check "--json csr is the same DER" cmp "$WORK/ext.der" "$WORK/ext-from-json.der"
expect_fail_with "pending csr will not overwrite" "already exists" \
	certificate pending csr --name ext --file "$WORK/ext.csr"

run_cv certificate show --name ext --json
check_eq "the pending certificate shows disabled" "$(jout .attributes.enabled)" false
check_eq "the pending certificate shows pending" "$(jout .pending)" true
check_eq "and has no certificate yet" "$(jout .cer)" null

expect_fail_with "create during the operation" \
	"A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress." \
	certificate create --name ext --policy "$(policy CN=ext.contoso.com)"

# --- The current version stays in service ----------------------------------------
expect_ok "create Self 'svc'" certificate create --name svc --policy "$(policy CN=svc)"
run_cv certificate show --name svc --json
v1=$(jout .version)
expect_ok "a new version with issuer Unknown" certificate create --name svc \
	--policy "$(policy CN=svc Unknown)"
run_cv certificate show --name svc --json
check_eq "the current version is still the first" "$(jout .version)" "$v1"
check_eq "and still enabled" "$(jout .attributes.enabled)" true
check_eq "and marked pending" "$(jout .pending)" true
expect_fail_with "a third create is a conflict" "status is inProgress" \
	certificate create --name svc --policy "$(policy CN=svc)"

# --- cancel and delete --------------------------------------------------------------
run_cv certificate pending cancel --name svc --json
check_eq "cancel: status cancelled" "$(jout .status)" cancelled
check_eq "cancel: cancellationRequested" "$(jout .cancellationRequested)" true
expect_fail_with "cancel of an operation not in progress" "in progress" \
	certificate pending cancel --name svc
expect_ok "pending delete" certificate pending delete --name svc
expect_fail_with "pending show after delete" "no pending operation" \
	certificate pending show --name svc
run_cv certificate show --name svc --json
check_eq "the first version survives the cancelled operation" "$(jout .version)" "$v1"
expect_ok "a new create after the delete" certificate create --name svc --policy "$(policy CN=svc)"
run_cv certificate list-versions --name svc --json
check_eq "two versions now" "$(jout length)" 2

expect_ok "delete an operation that never completed" certificate pending delete --name ext
expect_fail_with "its certificate is gone with it" "" certificate show --name ext

done_testing
