#!/bin/bash
# pending merge: a throwaway CA made with the openssl command signs the
# vault's CSR; the answer is merged as PEM (leaf, leaf + chain), DER, PKCS#7
# PEM and DER, and bare base64 PKCS#7.  Wrong keys, reused CSRs and damaged
# content are refused in one line and leave the vault as it was.
. "$(dirname "$0")/lib.sh"
need base64 head

make_vault

# The CA: a root and an intermediate, so a chain has something to hold.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/root.key" -out "$WORK/root.pem" \
	-subj "/CN=Test Root CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.csr" \
	-subj "/CN=Test Issuing CA" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$WORK/ca.ext"
openssl x509 -req -in "$WORK/ca.csr" -CA "$WORK/root.pem" -CAkey "$WORK/root.key" \
	-CAcreateserial -days 30 -extfile "$WORK/ca.ext" -out "$WORK/ca.pem" 2>/dev/null
check "the test CA is ready" openssl verify -CAfile "$WORK/root.pem" "$WORK/ca.pem"

# pending_for NAME: create NAME (or its new version) with issuer Unknown and
# sign its CSR; the leaf lands in $WORK/NAME.leaf.pem.
pending_for() {
	local name=$1
	cv certificate create --name "$name" --policy "$(policy "CN=$name.example.com" Unknown)" >/dev/null &&
		rm -f "$WORK/$name.csr" &&
		cv certificate pending csr --name "$name" --file "$WORK/$name.csr" >/dev/null &&
		openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
			-CAcreateserial -days 20 -copy_extensions copy \
			-out "$WORK/$name.leaf.pem" 2>/dev/null
}

# merged NAME: the merge left a current, enabled version and a completed
# operation.
merged() {
	local name=$1 what=$2
	run_cv certificate show --name "$name" --json
	check_eq "$what: the new version is enabled" "$(jout .attributes.enabled)" true
	check_eq "$what: the certificate is the CA's" "$(jout .x5t)" "$(x5t_of "$WORK/$name.leaf.pem")"
	run_cv certificate pending show --name "$name" --json
	check_eq "$what: the operation completed" "$(jout .status)" completed
	check_eq "$what: the operation's target" "$(jout .target)" "certvault://testvault/certificates/$name"
}

# --- Each format --------------------------------------------------------------
check "pending operation for pem-leaf" pending_for pem-leaf
expect_ok "merge a PEM leaf" certificate pending merge --name pem-leaf --file "$WORK/pem-leaf.leaf.pem"
merged pem-leaf "PEM leaf"

check "pending operation for pem-chain" pending_for pem-chain
# The file's order need not be the chain's.
cat "$WORK/root.pem" "$WORK/pem-chain.leaf.pem" "$WORK/ca.pem" >"$WORK/pem-chain.bundle"
expect_ok "merge PEM leaf + chain (out of order)" certificate pending merge --name pem-chain \
	--file "$WORK/pem-chain.bundle" --tags source=ca
merged pem-chain "PEM chain"
rm -f "$WORK/chain.out"
expect_ok "download --chain" certificate download --name pem-chain --file "$WORK/chain.out" --chain
check_eq "the chain is stored leaf first" \
	"$(openssl crl2pkcs7 -nocrl -certfile "$WORK/chain.out" | openssl pkcs7 -print_certs -noout | grep '^subject' | tr '\n' '|')" \
	'subject=CN = pem-chain.example.com|subject=CN = Test Issuing CA|subject=CN = Test Root CA|'
run_cv certificate show --name pem-chain --json
check_eq "merge --tags are kept" "$(jout .tags.source)" ca

check "pending operation for der" pending_for der
openssl x509 -in "$WORK/der.leaf.pem" -outform DER -out "$WORK/der.cer"
expect_ok "merge a DER leaf" certificate pending merge --name der --file "$WORK/der.cer"
merged der "DER"

check "pending operation for p7b-pem" pending_for p7b-pem
openssl crl2pkcs7 -nocrl -certfile "$WORK/p7b-pem.leaf.pem" -certfile "$WORK/ca.pem" -out "$WORK/p7b-pem.p7b"
expect_ok "merge PKCS#7 PEM" certificate pending merge --name p7b-pem --file "$WORK/p7b-pem.p7b"
merged p7b-pem "PKCS#7 PEM"

check "pending operation for p7b-der" pending_for p7b-der
openssl crl2pkcs7 -nocrl -certfile "$WORK/p7b-der.leaf.pem" -certfile "$WORK/ca.pem" -outform DER -out "$WORK/p7b-der.p7b"
expect_ok "merge PKCS#7 DER" certificate pending merge --name p7b-der --file "$WORK/p7b-der.p7b"
merged p7b-der "PKCS#7 DER"

check "pending operation for p7b-b64" pending_for p7b-b64
openssl crl2pkcs7 -nocrl -certfile "$WORK/p7b-b64.leaf.pem" -certfile "$WORK/ca.pem" -outform DER |
	base64 -w 76 >"$WORK/p7b-b64.txt"
expect_ok "merge bare base64 PKCS#7" certificate pending merge --name p7b-b64 --file "$WORK/p7b-b64.txt"
merged p7b-b64 "bare base64 PKCS#7"

# Tags given to create are the certificate's, before and after the merge.
expect_ok "create 'tagged' with issuer Unknown and --tags" certificate create --name tagged \
	--policy "$(policy CN=tagged.example.com Unknown)" --tags stage=create
run_cv certificate show --name tagged --json
check_eq "the pending certificate shows the create's tags" "$(jout .tags.stage)" create
rm -f "$WORK/tagged.csr"
cv certificate pending csr --name tagged --file "$WORK/tagged.csr" >/dev/null
openssl x509 -req -in "$WORK/tagged.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
	-CAcreateserial -days 20 -out "$WORK/tagged.leaf.pem" 2>/dev/null
expect_ok "merge without --tags" certificate pending merge --name tagged --file "$WORK/tagged.leaf.pem"
run_cv certificate show --name tagged --json
check_eq "the merged version keeps the create's tags" "$(jout .tags.stage)" create

# --- Versions --------------------------------------------------------------------
expect_ok "create Self 'multi'" certificate create --name multi --policy "$(policy CN=multi.example.com)"
run_cv certificate show --name multi --json
v1=$(jout .version)
check "pending operation for a second version of multi" pending_for multi
expect_ok "merge the second version" certificate pending merge --name multi --file "$WORK/multi.leaf.pem"
merged multi "second version"
run_cv certificate show --name multi --json
v2=$(jout .version)
check "the merged version is a new one" test "$v2" != "$v1" -a -n "$v2"
run_cv certificate list-versions --name multi --json
check_eq "both versions are listed" "$(jout 'map(.version) | sort | join(" ")')" \
	"$(printf '%s\n' "$v1" "$v2" | sort | tr '\n' ' ' | sed 's/ $//')"
run_cv certificate show --name multi --version "$v1" --json
check_eq "the earlier version is kept, still enabled" "$(jout .attributes.enabled)" true
check_eq "the earlier version is self-signed" "$(jout .version)" "$v1"

# --- Refusals ------------------------------------------------------------------------
expect_ok "create 'wk' with issuer Unknown" certificate create --name wk \
	--policy "$(policy CN=wk.example.com Unknown)"
openssl req -newkey rsa:2048 -nodes -keyout "$WORK/other.key" -out "$WORK/other.csr" \
	-subj "/CN=wk.example.com" 2>/dev/null
openssl x509 -req -in "$WORK/other.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
	-CAcreateserial -days 20 -out "$WORK/other.pem" 2>/dev/null
expect_fail_with "a certificate for another key" \
	"The public key of the end-entity certificate in the specified X.509 certificate content does not match the public part of the specified private key. Please check if certificate is valid" \
	certificate pending merge --name wk --file "$WORK/other.pem"
run_cv certificate pending show --name wk --json
check_eq "the refused merge left the operation in progress" "$(jout .status)" inProgress

# CSR reuse: the leaf of pem-leaf's first version into a new operation.
expect_ok "a new operation for pem-leaf" certificate create --name pem-leaf \
	--policy "$(policy CN=pem-leaf.example.com Unknown)"
expect_fail_with "a certificate answering an older CSR" \
	"The CSR used to get your certificate has already been used. Please try to generate a new certificate with a new CSR." \
	certificate pending merge --name pem-leaf --file "$WORK/pem-leaf.leaf.pem"

# Damaged content, for the operation of 'wk'.
head -c 600 "$WORK/der.leaf.pem" >"$WORK/trunc.pem"
expect_fail_with "truncated PEM" "The specified PEM X.509 certificate content is in an unexpected format" \
	certificate pending merge --name wk --file "$WORK/trunc.pem"
sed '2s/^..../!!!!/' "$WORK/der.leaf.pem" >"$WORK/garbled.pem"
expect_fail_with "PEM with garbage inside" "The specified PEM X.509 certificate content is in an unexpected format" \
	certificate pending merge --name wk --file "$WORK/garbled.pem"
head -c 300 "$WORK/der.cer" >"$WORK/trunc.cer"
expect_fail_with "truncated DER" "" certificate pending merge --name wk --file "$WORK/trunc.cer"
head -c 500 "$WORK/p7b-der.p7b" >"$WORK/trunc.p7b"
expect_fail_with "truncated PKCS#7 DER" "" certificate pending merge --name wk --file "$WORK/trunc.p7b"
head -n 8 "$WORK/p7b-pem.p7b" >"$WORK/trunc-pem.p7b"
expect_fail_with "truncated PKCS#7 PEM" "" certificate pending merge --name wk --file "$WORK/trunc-pem.p7b"
head -c 2048 /dev/urandom >"$WORK/random.bin"
expect_fail_with "random bytes" "" certificate pending merge --name wk --file "$WORK/random.bin"
: >"$WORK/empty.pem"
expect_fail_with "an empty file" "" certificate pending merge --name wk --file "$WORK/empty.pem"
expect_fail_with "a CA certificate alone" "" certificate pending merge --name wk --file "$WORK/ca.pem"
expect_fail_with "merge without an operation" "no pending operation" \
	certificate pending merge --name no-such --file "$WORK/der.cer"
expect_fail_with "merge into a completed operation" "" \
	certificate pending merge --name der --file "$WORK/der.cer"

done_testing
