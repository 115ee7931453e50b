#!/bin/bash
# A key that may not leave never leaves, and every change needs the PIN.
#
# A key made not exportable stays so: re-creating its certificate with
# reuse_key and exportable true (given at once, or through a policy update)
# is refused with one line, and the secret still holds no private key.  Every
# command that changes the vault, run with no PIN to be had, is refused with
# one line and leaves the vault as it was; reading public data needs none.
# A key record edited in data.mdb without the PIN (mdb_dump, mdb_load) is
# refused by merge and secret download as a damaged vault, in one line.
. "$(dirname "$0")/lib.sh"
need setsid mdb_load /usr/bin/python3

make_vault

LOCKED='{"key_props":{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":true},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=locked.example.com"},"issuer":{"name":"Self"}}'
OPENED=$(jq -c '.key_props.exportable = true' <<<"$LOCKED")

# --- reuse_key never makes a key exportable -----------------------------------------
expect_ok "create 'locked' (not exportable, reuse_key)" certificate create --name locked --policy "$LOCKED"
run_cv certificate show --name locked --json
kid1=$(jout .kid)
x5t1=$(jout .x5t)
expect_fail_with "re-create with reuse_key and exportable true" "not exportable" \
	certificate create --name locked --policy "$OPENED"
expect_ok "policy update: exportable true (reuse_key stays)" \
	certificate policy update --name locked --style rest --policy '{"key_props":{"exportable":true}}'
check_eq "the stored policy keeps reuse_key" "$(jout .key_props.reuse_key)" true
run_cv certificate policy show --name locked --style rest
cp "$OUT" "$WORK/locked-policy.json"
expect_fail_with "a new version under that policy" "reuse_key to false" \
	certificate create --name locked --policy "@$WORK/locked-policy.json"
run_cv certificate show --name locked --json
check_eq "the version in service did not change" "$(jout .x5t)" "$x5t1"
expect_ok "secret download --format pem" secret download --name locked --format pem \
	--file "$WORK/locked.secret.pem"
check "the secret holds no private key" bash -c "! grep -q 'PRIVATE KEY' '$WORK/locked.secret.pem'"
check "the secret holds the certificate" grep -q 'BEGIN CERTIFICATE' "$WORK/locked.secret.pem"
NEWKEY=$(jq -c '.key_props.reuse_key = false' <"$WORK/locked-policy.json")
expect_ok "reuse_key false: a new key, exportable" certificate create --name locked --policy "$NEWKEY"
run_cv certificate show --name locked --json
check "the new version has a new key" test "$(jout .kid)" != "$kid1" -o "$(jout .x5t)" != "$x5t1"
expect_ok "secret download of the new version" secret download --name locked --format pem \
	--file "$WORK/new.secret.pem"
check "the new key is exportable" grep -q 'PRIVATE KEY' "$WORK/new.secret.pem"

# --- every change needs the PIN -----------------------------------------------------
expect_ok "a pending certificate" certificate create --name waiting \
	--policy "$(policy CN=waiting.example.com Unknown)"
expect_ok "a contact" contact add --email ops@example.com
expect_ok "an issuer" issuer create --name ca1 --provider DigiCert --account-id acct --webroot /srv/www

# no_pin TEXT ARGS...: run with no PIN in the environment and no terminal.
no_pin() {
	local text=$1 before after
	shift
	before=$(vault_dump)
	run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" "$@"
	after=$(vault_dump)
	if _refused_with "no PIN given" && [ "$RC" -eq 1 ]; then
		pass "$text without a PIN: refused"
	else
		fail "$text without a PIN: refused" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
	check_eq "$text without a PIN: vault unchanged" "$after" "$before"
}

no_pin "policy update" certificate policy update --name locked \
	--policy '{"key_props":{"reuse_key":true}}'
no_pin "set-attributes" certificate set-attributes --name locked --enabled false
no_pin "set-attributes --tags" certificate set-attributes --name locked --tags a=b
no_pin "pending cancel" certificate pending cancel --name waiting
no_pin "pending delete" certificate pending delete --name waiting
no_pin "issuer create" issuer create --name ca2 --provider DigiCert --webroot /srv/www
no_pin "issuer update" issuer update --name ca1 --account-id other
no_pin "issuer delete" issuer delete --name ca1
no_pin "contact add" contact add --email dev@example.com
no_pin "contact delete" contact delete --email ops@example.com
no_pin "certificate create" certificate create --name other \
	--policy "$(policy CN=other.example.com)"

# Reading public data needs no PIN.
for args in "certificate show --name locked" "certificate list" \
	"certificate policy show --name locked" "certificate pending show --name waiting" \
	"issuer list" "contact list"; do
	# shellcheck disable=SC2086
	run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" $args
	check "$args without a PIN" test "$RC" -eq 0
done

# --- data.mdb changed by someone without the PIN ----------------------------------------
# The attacker edits the keys table as text: mdb_dump, the exportable field
# (tag 54, length 8, value 0) set to 1 in every record, mdb_load.
flip_exportable() {
	mdb_dump -s keys "$VAULT" >"$WORK/keys.dump" &&
		/usr/bin/python3 -c '
import sys
off = bytes([54, 0, 0, 0, 8]) + bytes(8)
on = bytes([54, 0, 0, 0, 8]) + bytes(7) + bytes([1])
out, values = [], False
for line in open(sys.argv[1]):
    if line.startswith("HEADER=END"):
        values = True
    elif values and line.startswith(" "):
        rec = bytes.fromhex(line.strip())
        if rec[:2] == bytes([1, 5]):
            line = " " + rec.replace(off, on).hex() + "\n"
    out.append(line)
open(sys.argv[1], "w").write("".join(out))
' "$WORK/keys.dump" &&
		mdb_load -s keys -f "$WORK/keys.dump" "$VAULT"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" \
	-out "$WORK/ca.pem" -subj "/CN=Throwaway Test CA" -days 30 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
PENDING='{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"secret_props":{"contentType":"application/x-pem-file"},"x509_props":{"subject":"CN=flip.example.com"},"issuer":{"name":"Unknown"}}'
rm -rf "$VAULT"
make_vault
expect_ok "a pending certificate, its key not exportable" certificate create --name flip \
	--policy "$PENDING"
expect_ok "its CSR" certificate pending csr --name flip --file "$WORK/flip.csr"
openssl x509 -req -in "$WORK/flip.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
	-CAcreateserial -days 20 -out "$WORK/flip.leaf.pem" 2>/dev/null
check "the CA signed it" test -s "$WORK/flip.leaf.pem"
BEFORE=$(vault_dump)
check "the pending key's exportable flag flipped with mdb_load" flip_exportable
check "data.mdb now differs" test "$(vault_dump)" != "$BEFORE"
expect_fail_with "merge after the flip" "damaged" \
	certificate pending merge --name flip --file "$WORK/flip.leaf.pem"
run_cv certificate pending show --name flip --json
check_eq "the operation still waits" "$(jout .status)" inProgress

expect_ok "a certificate in service, its key not exportable" certificate create --name svc \
	--policy "$LOCKED"
check "its key's exportable flag flipped with mdb_load" flip_exportable
expect_fail_with "secret download after the flip" "damaged" \
	secret download --name svc --format pem --file "$WORK/svc.pem"
check "no secret file was written" test ! -e "$WORK/svc.pem"

done_testing
