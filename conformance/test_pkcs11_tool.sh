#!/bin/bash
# OpenSC pkcs11-tool against the module: listing slots, tokens, mechanisms
# and objects, its own --test and --test-fork, signatures verified by
# openssl, OAEP decryption of what openssl encrypted, and key pair
# generation (a pending certificate in the vault).
. "$(dirname "$0")/lib.sh"
need pkcs11-tool
make_target

P11=(pkcs11-tool --module "$MODULE" --token-label "$TOKEN")

# p11 ARGS...: pkcs11-tool on the token, output in $OUT/$ERR, status in $RC.
p11() {
	run "${P11[@]}" "$@"
}

# --- Slots, tokens, mechanisms ---------------------------------------------

p11 -L
check_eq "-L exits 0" "$RC" 0
cp "$OUT" "$WORK/L.out"
check_grep "-L: token label $TOKEN" "$WORK/L.out" "^ *token label *: $TOKEN *\$"
check_grep "-L: token manufacturer $TOKEN_MANUFACTURER" "$WORK/L.out" \
	"^ *token manufacturer *: $TOKEN_MANUFACTURER *\$"
check_grep "-L: token model $TOKEN_MODEL" "$WORK/L.out" "^ *token model *: $TOKEN_MODEL *\$"
check_grep "-L: serial num is the token's serial" "$WORK/L.out" "^ *serial num *: $TOKEN_SERIAL *\$"
check_grep "-L: token initialized, PIN initialized, login required" "$WORK/L.out" \
	"token flags *:.*login required.*token initialized, PIN initialized"

p11 -T
check "-T exits 0 and lists the token" \
	test "$RC" -eq 0 -a -n "$(grep -E "token label *: $TOKEN" "$OUT")"

p11 -M
cp "$OUT" "$WORK/M.out"
check_eq "-M exits 0" "$RC" 0
for m in RSA-PKCS SHA256-RSA-PKCS RSA-PKCS-PSS SHA256-RSA-PKCS-PSS RSA-PKCS-OAEP \
	ECDSA ECDSA-SHA256 RSA-PKCS-KEY-PAIR-GEN; do
	[ "$m" = ECDSA-SHA256 ] && softhsm_differs "SoftHSMv2 2.6 has no ECDSA-SHA* mechanisms"
	check_grep "-M lists $m" "$WORK/M.out" "^ *$m[ ,]"
done
check_grep "-M lists EC key pair generation" "$WORK/M.out" "^ *(EC|ECDSA)-KEY-PAIR-GEN[ ,]"
range=$(sed -n 's/^ *ECDSA, keySize={\([0-9]*\),\([0-9]*\)}, .*sign.*/\1 \2/p' "$WORK/M.out")
check "-M: ECDSA signs with keys of 256 bits (P-256 in keySize)" \
	test -n "$range" -a "${range% *}" -le 256 -a "${range#* }" -ge 256

# --- Objects --------------------------------------------------------------

# objects FILE: one line per object of pkcs11-tool -O output:
# "<kind>|<label>|<id>|<access>".
objects() {
	awk '
	/^[A-Z][a-z]* (Key )?Object;/ { if (kind != "") print kind "|" label "|" id "|" access;
		kind = $1; label = id = access = "" }
	/^ *label: / { sub(/^ *label: */, ""); label = $0 }
	/^ *ID: / { sub(/^ *ID: */, ""); id = $0 }
	/^ *Access: / { sub(/^ *Access: */, ""); access = $0 }
	END { if (kind != "") print kind "|" label "|" id "|" access }' "$1"
}

p11 -O
check_eq "-O without login exits 0" "$RC" 0
objects "$OUT" >"$WORK/O.pub"
check_grep "-O: certificate $RSA_NAME with CKA_ID $RSA_ID" "$WORK/O.pub" \
	"^Certificate\|$RSA_NAME\|$RSA_ID\|"
check_grep "-O: certificate $EC_NAME with CKA_ID $EC_ID" "$WORK/O.pub" \
	"^Certificate\|$EC_NAME\|$EC_ID\|"
check_grep "-O: public key $RSA_NAME" "$WORK/O.pub" "^Public\|$RSA_NAME\|$RSA_ID\|"
check_grep "-O: public key $EC_NAME" "$WORK/O.pub" "^Public\|$EC_NAME\|$EC_ID\|"
check "-O without login shows no private key" \
	test -z "$(grep '^Private' "$WORK/O.pub")"

p11 -O --login --pin "$PIN"
check_eq "-O --login exits 0" "$RC" 0
objects "$OUT" >"$WORK/O.all"
check_grep "-O --login: private key $RSA_NAME with the certificate's CKA_ID" "$WORK/O.all" \
	"^Private\|$RSA_NAME\|$RSA_ID\|"
check_grep "-O --login: private key $EC_NAME with the certificate's CKA_ID" "$WORK/O.all" \
	"^Private\|$EC_NAME\|$EC_ID\|"
if certvault_only "-O --login: the private key is sensitive, never extractable, local"; then
	check_grep "-O --login: the private key is sensitive, never extractable, local" \
		"$WORK/O.all" "^Private\|$RSA_NAME\|$RSA_ID\|sensitive, always sensitive, never extractable, local"
fi
if certvault_only "-O --login: the pending certificate shows its key pair only"; then
	check "-O --login: the pending certificate shows its key pair only" \
		test -n "$(grep "^Private|$PENDING_NAME|" "$WORK/O.all")" \
		-a -n "$(grep "^Public|$PENDING_NAME|" "$WORK/O.all")" \
		-a -z "$(grep "^Certificate|$PENDING_NAME|" "$WORK/O.all")"
fi
check "-O --login: three objects per certificate, one CKA_ID each" \
	test "$(grep -c "|$RSA_ID|" "$WORK/O.all")" -eq 3 -a "$(grep -c "|$EC_ID|" "$WORK/O.all")" -eq 3

# --- pkcs11-tool's own tests ---------------------------------------------------

p11 --test --login --pin "$PIN"
cp "$OUT" "$WORK/test.out"
OAEP_SHA1_ONLY="SoftHSMv2 2.6 decrypts RSA-PKCS-OAEP with SHA-1 only: C_DecryptInit gives CKR_ARGUMENTS_BAD for SHA-256"
softhsm_differs "$OAEP_SHA1_ONLY"
check_eq "--test --login returns 0" "$RC" 0
diag "pkcs11-tool --test ran:" "$(grep -E '^[A-Z]|^ +(testing|[A-Z0-9-]+:)' "$WORK/test.out" | head -60)"
softhsm_differs "$OAEP_SHA1_ONLY"
check "--test reports no errors" test -z "$(grep -v '^No errors$' "$WORK/test.out" "$ERR" | grep -iE 'error|failed|CKR_')"

p11 --test-fork
softhsm_differs "C_Initialize in a forked child gives CKR_CRYPTOKI_ALREADY_INITIALIZED"
check_eq "--test-fork (C_Initialize in a forked child) returns 0" "$RC" 0 
[ "$RC" -ne 0 ] && diag "$(tail -5 "$ERR")"

# --- Signatures, verified by openssl ---------------------------------------------

# sign TEXT ID MECH IN OUT [pkcs11-tool options...]
sign() {
	local text=$1 id=$2 mech=$3 in=$4 sig=$5
	shift 5
	rm -f "$sig"
	p11 --login --pin "$PIN" --sign --id "$id" -m "$mech" -i "$in" -o "$sig" "$@"
	if [ "$RC" -eq 0 ] && [ -s "$sig" ]; then
		return 0
	fi
	fail "$text" "pkcs11-tool --sign -m $mech: exit $RC" "$(head -c 2000 "$ERR")"
	return 1
}

T="sign RSA-PKCS (raw data), openssl recovers the data"
if sign "$T" "$RSA_ID" RSA-PKCS "$WORK/data" "$WORK/sig"; then
	openssl pkeyutl -verifyrecover -pubin -inkey "$RSA_PUB" -in "$WORK/sig" \
		-pkeyopt rsa_padding_mode:pkcs1 -out "$WORK/recovered" >/dev/null 2>&1
	check "$T" cmp "$WORK/data" "$WORK/recovered"
fi

T="sign SHA256-RSA-PKCS, openssl dgst -verify accepts"
if sign "$T" "$RSA_ID" SHA256-RSA-PKCS "$WORK/data" "$WORK/sig"; then
	check "$T" openssl dgst -sha256 -verify "$RSA_PUB" -signature "$WORK/sig" "$WORK/data"
fi

T="sign RSA-PKCS-PSS (SHA-256 hash, MGF1-SHA256, salt 32), openssl verifies"
if sign "$T" "$RSA_ID" RSA-PKCS-PSS "$WORK/data.sha256" "$WORK/sig" \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 --salt-len 32; then
	check "$T" openssl pkeyutl -verify -pubin -inkey "$RSA_PUB" -in "$WORK/data.sha256" \
		-sigfile "$WORK/sig" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
		-pkeyopt rsa_pss_saltlen:32 -pkeyopt rsa_mgf1_md:sha256
fi

T="sign RSA-PKCS-PSS (SHA-384 hash, MGF1-SHA384, salt 0), openssl verifies"
openssl dgst -sha384 -binary "$WORK/data" >"$WORK/data.sha384"
if sign "$T" "$RSA_ID" RSA-PKCS-PSS "$WORK/data.sha384" "$WORK/sig" \
	--hash-algorithm SHA384 --mgf MGF1-SHA384 --salt-len 0; then
	check "$T" openssl pkeyutl -verify -pubin -inkey "$RSA_PUB" -in "$WORK/data.sha384" \
		-sigfile "$WORK/sig" -pkeyopt digest:sha384 -pkeyopt rsa_padding_mode:pss \
		-pkeyopt rsa_pss_saltlen:0 -pkeyopt rsa_mgf1_md:sha384
fi

T="sign SHA256-RSA-PKCS-PSS, openssl dgst -verify (PSS, salt 32) accepts"
if sign "$T" "$RSA_ID" SHA256-RSA-PKCS-PSS "$WORK/data" "$WORK/sig"; then
	check "$T" openssl dgst -sha256 -verify "$RSA_PUB" -signature "$WORK/sig" \
		-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 "$WORK/data"
fi

T="sign ECDSA (a SHA-256 hash, DER), openssl verifies"
if sign "$T" "$EC_ID" ECDSA "$WORK/data.sha256" "$WORK/sig" --signature-format openssl; then
	check "$T" openssl pkeyutl -verify -pubin -inkey "$EC_PUB" -in "$WORK/data.sha256" \
		-sigfile "$WORK/sig"
fi

T="sign ECDSA-SHA256 (DER), openssl dgst -verify accepts"
softhsm_differs "SoftHSMv2 2.6 has no ECDSA-SHA* mechanisms"
if sign "$T" "$EC_ID" ECDSA-SHA256 "$WORK/data" "$WORK/sig" --signature-format openssl; then
	check "$T" openssl dgst -sha256 -verify "$EC_PUB" -signature "$WORK/sig" "$WORK/data"
fi

T="sign ECDSA-SHA256 (r||s, 64 bytes)"
softhsm_differs "SoftHSMv2 2.6 has no ECDSA-SHA* mechanisms"
if sign "$T" "$EC_ID" ECDSA-SHA256 "$WORK/data" "$WORK/sig"; then
	check_eq "$T" "$(stat -c %s "$WORK/sig")" 64
fi

p11 --login --pin "$PIN" --sign --id "$EC_ID" -m SHA256-RSA-PKCS -i "$WORK/data" -o "$WORK/sig"
check "an RSA mechanism on the EC key is refused" test "$RC" -ne 0

# --- Decryption of what openssl encrypted ------------------------------------------

printf 'a session key, say\n' >"$WORK/secret"

# decrypt TEXT MECH [pkcs11-tool options...] -- [openssl pkeyopts...]
decrypt() {
	local text=$1 mech=$2 p11opts=() sslopts=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do p11opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	while [ $# -gt 0 ]; do sslopts+=(-pkeyopt "$1"); shift; done
	rm -f "$WORK/enc" "$WORK/dec"
	if ! openssl pkeyutl -encrypt -pubin -inkey "$RSA_PUB" -in "$WORK/secret" \
		-out "$WORK/enc" "${sslopts[@]}" 2>"$ERR"; then
		fail "$text" "openssl pkeyutl -encrypt: $(cat "$ERR")"
		return
	fi
	p11 --login --pin "$PIN" --decrypt --id "$RSA_ID" -m "$mech" -i "$WORK/enc" \
		-o "$WORK/dec" "${p11opts[@]}"
	if [ "$RC" -ne 0 ]; then
		fail "$text" "pkcs11-tool --decrypt: exit $RC" "$(head -c 2000 "$ERR")"
		return
	fi
	check "$text" cmp "$WORK/secret" "$WORK/dec"
}

softhsm_differs "$OAEP_SHA1_ONLY"
decrypt "decrypt RSA-PKCS-OAEP (SHA-256, MGF1-SHA256) of openssl's encryption" \
	RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 -- \
	rsa_padding_mode:oaep rsa_oaep_md:sha256 rsa_mgf1_md:sha256
decrypt "decrypt RSA-PKCS-OAEP (SHA-1) of openssl's encryption" \
	RSA-PKCS-OAEP --hash-algorithm SHA-1 --mgf MGF1-SHA1 -- \
	rsa_padding_mode:oaep rsa_oaep_md:sha1 rsa_mgf1_md:sha1
decrypt "decrypt RSA-PKCS (v1.5) of openssl's encryption" RSA-PKCS -- rsa_padding_mode:pkcs1

# --- Key pair generation ----------------------------------------------------------

p11 --login --pin "$PIN" --keypairgen --key-type EC:prime256v1 --label gen1 --usage-sign
check "--keypairgen --key-type EC:prime256v1 --label gen1 --usage-sign" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(head -c 2000 "$ERR")"
p11 -O --login --pin "$PIN"
cp "$OUT" "$WORK/O.gen.raw"
objects "$OUT" >"$WORK/O.gen"
check_grep "the generated private key is listed as gen1" "$WORK/O.gen" "^Private\|gen1\|"
check_grep "the generated public key is listed as gen1" "$WORK/O.gen" "^Public\|gen1\|"
if certvault_only "certvault certificate pending show --name gen1 sees it"; then
	run "$CERTVAULT" certificate pending show --name gen1
	check "certvault certificate pending show --name gen1 sees it" \
		test "$RC" -eq 0 -a -n "$(grep -i inProgress "$OUT")"
	[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
fi
# pkcs11-tool --sign selects a key by --id only (without one it takes the
# first private key that signs), so the generated pair needs its CKA_ID.
# The public key from the EC_POINT -O prints (pkcs11-tool 0.23's
# --read-object of an EC public key reads freed memory: see README).
point=$(awk '/^Public Key Object; EC/ { p = 1 } p && /EC_POINT:/ { pt = $2 }
	p && /label: *gen1$/ { print pt; exit }' "$WORK/O.gen.raw" | sed 's/^0441//')
printf '3059301306072a8648ce3d020106082a8648ce3d030107034200%s' "$point" | xxd -r -p |
	openssl pkey -pubin -inform DER -out "$WORK/gen1.pub.pem" 2>/dev/null
gen_id=$(sed -n 's/^Private|gen1|\([^|]*\)|.*/\1/p' "$WORK/O.gen")
if certvault_only "the generated key pair's CKA_ID is the SHA-1 of its EC point"; then
	want=$(openssl pkey -pubin -in "$WORK/gen1.pub.pem" -outform DER 2>/dev/null | tail -c 65 |
		openssl dgst -sha1 -r | cut -c1-40)
	check_eq "the generated key pair's CKA_ID is the SHA-1 of its EC point" "$gen_id" "$want"
fi
# The public point above is read from -O's listing in the vault's order;
# pkcs11-tool 0.23 cannot read an EC public key object itself.
T="the generated key signs ECDSA, openssl verifies with its public key"
if certvault_only "$T"; then
	rm -f "$WORK/sig"
	p11 --login --pin "$PIN" --sign --id "$gen_id" -m ECDSA -i "$WORK/data.sha256" \
		-o "$WORK/sig" --signature-format openssl
	if [ "$RC" -ne 0 ]; then
		fail "$T" "pkcs11-tool --sign --id $gen_id: exit $RC" "$(cat "$ERR")"
	else
		check "$T" openssl pkeyutl -verify -pubin -inkey "$WORK/gen1.pub.pem" \
			-in "$WORK/data.sha256" -sigfile "$WORK/sig"
	fi
fi

done_testing
