#!/bin/bash
# certificate backup and restore: a certificate backed up whole (every
# version, policy, tags, keys sealed) restores into a copy of the same
# vault with the login alone, and into another vault with its backup
# password; the restored key signs through the module under the same
# CKA_ID and a key that was not exportable stays so.  Every refusal is one
# line and leaves the vault as it was.
. "$(dirname "$0")/lib.sh"
need xxd

LOCKED='{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=locked.example.com","key_usage":["digitalSignature"]},"issuer":{"name":"Self"}}'
OPEN='{"key_props":{"kty":"RSA","key_size":2048,"exportable":true,"reuse_key":false},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=open.example.com"},"issuer":{"name":"Self"}}'
CONFLICT="Conflict while restoring certificate locked - certificate already exists or concurrent access"

make_vault source
VAULT_A=$VAULT
# A copy of the vault before its certificates: the same master key, the
# names still free (what a restore into the same vault finds after a
# certificate is gone).
expect_ok "copy the empty vault" vault backup --file "$WORK/empty.mdb"
mkdir -m 700 "$WORK/copy"
cp "$WORK/empty.mdb" "$WORK/copy/data.mdb"

expect_ok "create 'locked' (EC, not exportable)" certificate create --name locked --policy "$LOCKED"
expect_ok "a second version of 'locked'" certificate create --name locked --policy "$LOCKED"
run_cv certificate list-versions --name locked --json
first=$(jout '.[0].id' | sed 's|.*/||')
expect_ok "tag and disable the first version" certificate set-attributes --name locked \
	--version "$first" --enabled false --tags env=prod
expect_ok "create 'open' (RSA, exportable)" certificate create --name open --policy "$OPEN"
run_cv certificate list-versions --name locked --json
jq -c '[.[] | {x5t, enabled: .attributes.enabled, tags}]' <"$OUT" >"$WORK/locked-a.json"
run_cv certificate show --name locked --json
x5t_a=$(jout .x5t)

printf 'correct horse battery staple\n' >"$WORK/pw"
printf 'not the password at all\n' >"$WORK/wrong-pw"
printf 'short\n' >"$WORK/short-pw"
chmod 600 "$WORK/pw" "$WORK/wrong-pw" "$WORK/short-pw"

# --- backup: bad inputs, one line each, vault unchanged, nothing written ----
expect_fail_with "backup of a missing certificate" "A certificate with (name/id) nosuch was not found" \
	certificate backup --name nosuch --file "$WORK/nosuch.cvb"
check_eq "exits 3" "$RC" 3
check "and writes nothing" test ! -e "$WORK/nosuch.cvb"
expect_fail_with "a backup password under 8 characters" "a backup password has 8 to 1024 characters" \
	certificate backup --name locked --file "$WORK/x.cvb" --backup-password-file "$WORK/short-pw"
expect_fail_with "a missing password file" "$WORK/none" \
	certificate backup --name locked --file "$WORK/x.cvb" --backup-password-file "$WORK/none"
echo keep >"$WORK/existing"
expect_fail_with "an existing file" "already exists; use --overwrite" \
	certificate backup --name locked --file "$WORK/existing"
check_eq "and the existing file is untouched" "$(cat "$WORK/existing")" keep
# A FIFO made here stands for /dev/null and its kind (no test names
# /dev/null as an output file).
mkfifo "$WORK/fifo"
expect_fail_with "a FIFO, with --overwrite" "not a regular file" \
	certificate backup --name locked --file "$WORK/fifo" --overwrite
check "and the FIFO is still a FIFO" test -p "$WORK/fifo"
ln -s "$WORK/existing" "$WORK/link"
expect_fail_with "a symbolic link, with --overwrite" "symbolic link" \
	certificate backup --name locked --file "$WORK/link" --overwrite
check_eq "and the link's target is untouched" "$(cat "$WORK/existing")" keep
expect_usage "no --name" "--name and --file are required" certificate backup --file "$WORK/x.cvb"
check_eq "no temporary file is left behind" "$(find "$WORK" -name '*.tmp-*' | wc -l)" 0

# --- backups ------------------------------------------------------------------
expect_ok "backup of 'locked' for this vault" certificate backup --name locked \
	--file "$WORK/locked.cvb" --json
check_eq "it reports no backup password" "$(jout .backupPassword)" false
check_eq "the file is mode 0600" "$(stat -c %a "$WORK/locked.cvb")" 600
expect_ok "backup of 'locked' with a backup password" certificate backup --name locked \
	--file "$WORK/locked-pw.cvb" --backup-password-file "$WORK/pw"
expect_ok "backup of 'open' with a backup password" certificate backup --name open \
	--file "$WORK/open-pw.cvb" --backup-password-file "$WORK/pw"
echo stale >"$WORK/replace"
expect_ok "--overwrite replaces a regular file" certificate backup --name locked \
	--file "$WORK/replace" --overwrite
check_eq "which is then mode 0600" "$(stat -c %a "$WORK/replace")" 600
check "the blob starts with its magic" bash -c "head -c 8 '$WORK/locked.cvb' | grep -q CVCERTBK"
run_cv secret download --name open --format pem --file "$WORK/open-a.pem"
openssl pkey -in "$WORK/open-a.pem" -outform DER -out "$WORK/open-a.der" 2>/dev/null
check "the exportable private key is nowhere in its backup" \
	bash -c "! grep -qF \"\$(xxd -p '$WORK/open-a.der' | tr -d '\n' | cut -c 200-263)\" \
		<(xxd -p '$WORK/open-pw.cvb' | tr -d '\n')"

# --- restore into the same vault: the name is taken ------------------------------
expect_fail_with "restore over the certificate itself" "$CONFLICT" \
	certificate restore --file "$WORK/locked.cvb"

# --- into the copy of the same vault, with the login alone -------------------------
VAULT="$WORK/copy"
expect_ok "restore into the same vault (its earlier copy)" certificate restore \
	--file "$WORK/locked.cvb" --json
check_eq "it prints the certificate" "$(jout .x5t)" "$x5t_a"
check_eq "with its policy" "$(jout .policy.key_props.exportable)" false
run_cv certificate list-versions --name locked --json
check_eq "every version, with its tags and enabled flag" \
	"$(jq -c '[.[] | {x5t, enabled: .attributes.enabled, tags}]' <"$OUT")" "$(cat "$WORK/locked-a.json")"
expect_ok "vault verify passes after it" vault verify

# --- into another vault ----------------------------------------------------------
fresh_vault other
expect_fail_with "another vault's backup without its password" "made in another vault" \
	certificate restore --file "$WORK/locked-pw.cvb"
expect_fail_with "a wrong backup password" "the backup password is wrong" \
	certificate restore --file "$WORK/locked-pw.cvb" --backup-password-file "$WORK/wrong-pw"
expect_fail_with "a backup made without a password, given one" "has no backup password" \
	certificate restore --file "$WORK/locked.cvb" --backup-password-file "$WORK/pw"
size=$(stat -c %s "$WORK/locked-pw.cvb")
cp "$WORK/locked-pw.cvb" "$WORK/flipped.cvb"
printf '\xff' | dd of="$WORK/flipped.cvb" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
expect_fail_with "a byte changed" "does not authenticate" \
	certificate restore --file "$WORK/flipped.cvb" --backup-password-file "$WORK/pw"
head -c $((size - 1)) "$WORK/locked-pw.cvb" >"$WORK/cut.cvb"
expect_fail_with "cut short by one byte" "does not authenticate" \
	certificate restore --file "$WORK/cut.cvb" --backup-password-file "$WORK/pw"
head -c 100 "$WORK/locked-pw.cvb" >"$WORK/cut100.cvb"
expect_fail_with "cut inside its header" "cut short" \
	certificate restore --file "$WORK/cut100.cvb" --backup-password-file "$WORK/pw"
cp "$WORK/locked-pw.cvb" "$WORK/v2.cvb"
printf '\x02' | dd of="$WORK/v2.cvb" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_fail_with "a format this certvault does not read" "is of format 2" \
	certificate restore --file "$WORK/v2.cvb" --backup-password-file "$WORK/pw"
expect_fail_with "a file that is no backup" "not a certificate backup" \
	certificate restore --file "$WORK/open-a.pem"
expect_usage "no --file" "--file is required" certificate restore

expect_ok "restore 'locked' with its backup password" certificate restore \
	--file "$WORK/locked-pw.cvb" --backup-password-file "$WORK/pw" --json
check_eq "the same certificate" "$(jout .x5t)" "$x5t_a"
run_cv certificate list-versions --name locked --json
check_eq "every version, with its tags and enabled flag" \
	"$(jq -c '[.[] | {x5t, enabled: .attributes.enabled, tags}]' <"$OUT")" "$(cat "$WORK/locked-a.json")"
expect_ok "restore 'open' with its backup password" certificate restore \
	--file "$WORK/open-pw.cvb" --backup-password-file "$WORK/pw"
expect_ok "vault verify passes after both" vault verify
expect_fail_with "the same backup again" "$CONFLICT" \
	certificate restore --file "$WORK/locked-pw.cvb" --backup-password-file "$WORK/pw"

# Exportability is the backup's: the locked key stays in, the open one out.
expect_ok "secret download of the restored 'locked'" secret download --name locked --format pem \
	--file "$WORK/locked-b.pem"
check "holds no private key" bash -c "! grep -q 'PRIVATE KEY' '$WORK/locked-b.pem'"
expect_ok "secret download of the restored 'open'" secret download --name open --format pem \
	--file "$WORK/open-b.pem"
check_eq "holds the same private key" \
	"$(openssl pkey -in "$WORK/open-b.pem" -outform DER 2>/dev/null | sha256sum)" \
	"$(sha256sum <"$WORK/open-a.der")"

# A key another certificate holds: the same key imported under another name.
fresh_vault third
expect_ok "import 'open''s key under another name" certificate import --name holder \
	--file "$WORK/open-a.pem"
expect_fail_with "a restore of a key another certificate holds" "holder" \
	certificate restore --file "$WORK/open-pw.cvb" --backup-password-file "$WORK/pw"

# --- through the module ----------------------------------------------------------
MODULE=${CERTVAULT_MODULE:-}
if [ -n "$MODULE" ] && command -v pkcs11-tool >/dev/null 2>&1; then
	key_id() {
		echo "vault = $1" >"$WORK/p11.conf"
		env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
			--login --pin "$CERTVAULT_PIN" --list-objects --type privkey 2>/dev/null |
			awk '/^Private Key Object/{p=0} /label: +locked$/{p=1} p && /ID:/{print $2}'
	}
	id_a=$(key_id "$VAULT_A")
	id_b=$(key_id "$WORK/vault-other")
	check "the module shows the key in the source vault" test -n "$id_a"
	check_eq "the restored key has the same CKA_ID" "$id_b" "$id_a"
	echo "vault = $WORK/vault-other" >"$WORK/p11.conf"
	run_any env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
		--login --pin "$CERTVAULT_PIN" --list-objects --type privkey --label locked
	check "still never extractable" \
		grep -qF 'never extractable' "$OUT"
	openssl dgst -sha256 -binary "$WORK/pw" >"$WORK/digest.bin"
	run_any env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
		--login --pin "$CERTVAULT_PIN" --sign --mechanism ECDSA --id "$id_b" \
		--signature-format openssl -i "$WORK/digest.bin" -o "$WORK/locked.sig"
	VAULT="$WORK/vault-other" cert_pem locked "$WORK/locked-b-cert.pem"
	openssl x509 -in "$WORK/locked-b-cert.pem" -pubkey -noout >"$WORK/locked.pub"
	check "the restored key signs through the module, and its certificate verifies it" \
		openssl pkeyutl -verify -pubin -inkey "$WORK/locked.pub" -sigfile "$WORK/locked.sig" \
		-in "$WORK/digest.bin"

	# The same vault re-initialized (C_InitToken makes a new master key):
	# the backup without a password no longer opens, the one with it does.
	VAULT=$VAULT_A
	echo "vault = $VAULT_A" >"$WORK/p11.conf"
	run_any env CERTVAULT_CONF="$WORK/p11.conf" "${P11TOOL[@]}" --module "$MODULE" \
		--init-token --label source --so-pin "$CERTVAULT_SO_PIN"
	check "re-initialize the source vault through the module" test "$RC" -eq 0
	printf '%s\n' "$CERTVAULT_PIN" >"$WORK/user-pin"
	expect_ok "set the user PIN again" vault init-pin --new-pin-file "$WORK/user-pin"
	expect_fail_with "the vault's own backup after it was re-initialized" \
		"before this vault was re-initialized" certificate restore --file "$WORK/locked.cvb"
	expect_ok "the backup with its password restores" certificate restore \
		--file "$WORK/locked-pw.cvb" --backup-password-file "$WORK/pw"
	check_eq "the restored key has the same CKA_ID there" "$(key_id "$VAULT_A")" "$id_a"
	expect_ok "vault verify passes" vault verify
else
	skip "the restored key through the module" "needs pkcs11-tool and CERTVAULT_MODULE"
fi

done_testing
