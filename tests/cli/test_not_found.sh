#!/bin/bash
# A name that is not in the vault exits 3, as az does for a missing
# resource, with Key Vault's text where Key Vault has one; 2 stays a usage
# error and 1 every other refusal.  Each refusal leaves the vault as it was.
. "$(dirname "$0")/lib.sh"

KV_TAIL="was not found in this key vault. If you recently deleted this"

# expect_missing TEXT SUBSTRING CERTVAULT-ARGS...: exit 3, one line holding
# SUBSTRING, the vault unchanged.
expect_missing() {
	local text=$1 want=$2 before after
	shift 2
	before=$(vault_dump)
	run_cv "$@"
	after=$(vault_dump)
	if [ "$RC" -eq 3 ] && _refused_with "$want"; then
		pass "$text: exit 3 with \"$want\""
	else
		fail "$text: exit 3 with \"$want\"" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
	check_eq "$text: vault unchanged" "$after" "$before"
}

make_vault nf
expect_ok "create web" certificate create --name web --policy "$(policy CN=web)"
expect_ok "create csr (issuer Unknown)" certificate create --name csr \
	--policy "$(policy CN=csr Unknown)"

cert_text="A certificate with (name/id) ghost $KV_TAIL certificate you may be able to recover it using the correct recovery command."
expect_missing "certificate show" "$cert_text" certificate show --name ghost
check_eq "certificate show: Key Vault's whole text" "$(cat "$ERR")" "certvault: $cert_text"
expect_missing "certificate download" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate download --name ghost --file "$WORK/ghost.pem"
check "certificate download: no file made" test ! -e "$WORK/ghost.pem"
expect_missing "certificate list-versions" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate list-versions --name ghost
expect_missing "certificate set-attributes" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate set-attributes --name ghost --enabled false
expect_missing "certificate policy show" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate policy show --name ghost
expect_missing "certificate policy update" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate policy update --name ghost --policy '{"x509_props":{"validity_months":6}}'
expect_missing "certificate uri" "A certificate with (name/id) ghost $KV_TAIL" \
	certificate uri --name ghost

# A missing version: Key Vault names it NAME/VERSION.
v0=00000000000000000000000000000000
expect_missing "certificate show of a missing version" \
	"A certificate with (name/id) web/$v0 $KV_TAIL" \
	certificate show --name web --version "$v0"
expect_missing "certificate download of a missing version" \
	"A certificate with (name/id) web/$v0 $KV_TAIL" \
	certificate download --name web --version "$v0" --file "$WORK/v.pem"
expect_missing "set-attributes of a missing version" \
	"A certificate with (name/id) web/$v0 $KV_TAIL" \
	certificate set-attributes --name web --version "$v0" --enabled false

# The secret: az keyvault secret's words.
expect_missing "secret download" \
	"A secret with (name/id) ghost $KV_TAIL secret you may be able to recover it" \
	secret download --name ghost --file "$WORK/s.pem"
expect_missing "secret download of a missing version" \
	"A secret with (name/id) web/$v0 $KV_TAIL" \
	secret download --name web --version "$v0" --file "$WORK/s.pem"
check "secret download: no file made" test ! -e "$WORK/s.pem"

# Pending operations, issuers, contacts.  A self-signed certificate keeps
# its completed operation (as Key Vault does) until it is deleted.
expect_ok "create done" certificate create --name done --policy "$(policy CN=done)"
expect_ok "delete done's completed operation" certificate pending delete --name done
expect_missing "pending show without an operation" "no pending operation" \
	certificate pending show --name done
expect_missing "pending show of a missing certificate" "no pending operation" \
	certificate pending show --name ghost
expect_missing "pending csr without an operation" "no pending operation" \
	certificate pending csr --name done --file "$WORK/c.csr"
check "pending csr: no file made" test ! -e "$WORK/c.csr"
expect_missing "pending cancel without an operation" "no pending operation" \
	certificate pending cancel --name done
expect_missing "pending delete without an operation" "no pending operation" \
	certificate pending delete --name ghost
cert_pem done "$WORK/done.pem"
expect_missing "pending merge without an operation" "no pending operation" \
	certificate pending merge --name done --file "$WORK/done.pem"
run_cv certificate pending cancel --name web
check_eq "cancel of a completed operation stays exit 1" "$RC" 1
expect_missing "issuer show" "issuer 'nobody' was not found" issuer show --name nobody
expect_missing "issuer update" "issuer 'nobody' was not found" \
	issuer update --name nobody --account-id a
expect_missing "issuer delete" "issuer 'nobody' was not found" issuer delete --name nobody
expect_missing "contact delete" "contact 'x@example.com' was not found" \
	contact delete --email x@example.com

# What is found still works, and other refusals keep exit 1 and 2.
expect_ok "certificate show of what exists" certificate show --name web
expect_ok "pending show of what exists" certificate pending show --name csr
run_any env CERTVAULT_PIN=wrong-pin-0000 "$CERTVAULT" --vault "$VAULT" \
	secret download --name web --file "$WORK/w.pem"
check_eq "a wrong PIN stays exit 1" "$RC" 1
run_cv certificate create --name bad --policy '{"key_props":{"key_size":1000}}'
check_eq "a bad policy stays exit 1" "$RC" 1
run_cv certificate show --name 'bad_name!'
check_eq "a name Key Vault could never hold stays exit 1" "$RC" 1
run_cv certificate show
check_eq "a missing --name stays exit 2" "$RC" 2
run_any "$CERTVAULT" --vault "$WORK/nowhere" certificate show --name web
check_eq "a folder without a vault stays exit 1" "$RC" 1

done_testing
