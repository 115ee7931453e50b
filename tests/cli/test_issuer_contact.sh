#!/bin/bash
# Issuers and contacts: create, update (only what is given changes), show,
# list, delete; the issuer's password is never printed and never readable in
# the vault's file; bad input refused in one line, the vault unchanged.
. "$(dirname "$0")/lib.sh"
need strings setsid

make_vault
PW='Api-Key-7f3a9c1e5b'

# --- issuers ----------------------------------------------------------------------
expect_ok "issuer create with everything" issuer create --name digi --provider DigiCert \
	--account-id acct-001 --password "$PW" --organization-id org-42 --http-listen 127.0.0.1:5002 \
	--admin-first-name Ann --admin-last-name Lee --admin-email ann@example.com --admin-phone 555-0100
check "create does not print the password" bash -c "! grep -qF '$PW' '$OUT' '$ERR'"
run_cv issuer show --name digi --json
check_eq "show: provider" "$(jout .provider)" DigiCert
check_eq "show: account id" "$(jout .credentials.accountId)" acct-001
check_eq "show: the password is null" "$(jout .credentials.password)" null
check_eq "show: organization id" "$(jout .organizationDetails.id)" org-42
check_eq "show: the admin" "$(jout '.organizationDetails.adminDetails[0] | [.firstName,.lastName,.emailAddress,.phone] | join(" ")')" \
	"Ann Lee ann@example.com 555-0100"
check_eq "show: enabled" "$(jout .attributes.enabled)" true
check_eq "show: id" "$(jout .id)" "certvault://testvault/certificates/issuers/digi"
check "show --json never holds the password" bash -c "! grep -qF '$PW' '$OUT'"
expect_ok "show (human)" issuer show --name digi
check "human show says a password is set, not what" \
	bash -c "grep -qE 'password: +\(set\)' '$OUT' && ! grep -qF '$PW' '$OUT'"
check "the password is not in data.mdb (strings)" \
	bash -c "! strings -n 6 '$VAULT/data.mdb' | grep -qF -e '${PW:0:10}' -e '${PW: -10}'"
check "the password is not in data.mdb (raw bytes)" bash -c "! grep -qaF '$PW' '$VAULT/data.mdb'"

expect_ok "issuer create with no administrators" issuer create --name bare --provider DigiCert \
	--account-id acct-009 --password "$PW" --http-listen 127.0.0.1:5003
expect_ok "show (human) with no administrators" issuer show --name bare
check "human show: no line ends in a space" bash -c "! grep -n ' \$' '$OUT'"
check "human show: no administrators read as -" grep -qE '^ *adminDetails: +-$' "$OUT"
expect_ok "delete the issuer with no administrators" issuer delete --name bare

run_cv issuer update --name digi --account-id acct-002 --json
check "update --account-id" test "$RC" -eq 0
run_cv issuer show --name digi --json
check_eq "update: the account id changed" "$(jout .credentials.accountId)" acct-002
check_eq "update: the provider did not" "$(jout .provider)" DigiCert
check_eq "update: the organization id did not" "$(jout .organizationDetails.id)" org-42
check_eq "update: the admin did not" "$(jout '.organizationDetails.adminDetails[0].emailAddress')" ann@example.com
check_eq "update: still enabled" "$(jout .attributes.enabled)" true
run_cv issuer update --name digi --admin-phone 555-0199 --disabled --json
run_cv issuer show --name digi --json
check_eq "update --admin-phone keeps the admin's other fields" \
	"$(jout '.organizationDetails.adminDetails[0] | [.firstName,.emailAddress,.phone] | join(" ")')" "Ann ann@example.com 555-0199"
check_eq "update --disabled" "$(jout .attributes.enabled)" false
run_cv issuer update --name digi --enabled true --json
check_eq "update --enabled true" "$(jout .attributes.enabled)" true
printf 'Rotated-Key-0000\n' >"$WORK/issuer.pass"
expect_ok "update --password-file" issuer update --name digi --password-file "$WORK/issuer.pass"
check "the new password is not in data.mdb" bash -c "! grep -qaF 'Rotated-Key-0000' '$VAULT/data.mdb'"

# Every change needs the PIN, a password or not.
BEFORE=$(vault_dump)
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	issuer create --name acme1 --provider ACME --directory-url https://127.0.0.1:14000/dir \
	--webroot /srv/www
check "an issuer without a password needs the PIN too" \
	test "$RC" -eq 1 -a -n "$(grep -F 'no PIN given' "$ERR")"
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	issuer create --name acme2 --provider ACME --password secret-x --dns-hook /bin/true
check "an issuer with a password needs the PIN" \
	test "$RC" -eq 1 -a -n "$(grep -F 'no PIN given' "$ERR")"
check_eq "issuers refused for want of a PIN leave the vault as it was" "$(vault_dump)" "$BEFORE"
CERTVAULT_PIN=wrong-pin run_cv issuer create --name acme3 --provider ACME --password secret-x
check "and refuses a wrong PIN" test "$RC" -eq 1
expect_ok "an issuer without a password, with the PIN" \
	issuer create --name acme1 --provider ACME --directory-url https://127.0.0.1:14000/dir \
	--webroot /srv/www
run_cv issuer list --json
check_eq "list: both issuers" "$(jout 'map(.name) | sort | join(",")')" "acme1,digi"
check "list never holds a password" bash -c "! grep -qF -e '$PW' -e Rotated-Key '$OUT'"

expect_fail_with "create an issuer that exists" "" issuer create --name digi --provider DigiCert
expect_fail_with "update an issuer that does not exist" "" issuer update --name nope --account-id x
expect_fail_with "an unknown provider" "" issuer create --name bad1 --provider NotACA
expect_fail_with "a bad issuer name" "names may only contain" issuer create --name 'bad name' --provider DigiCert
expect_fail_with "a bad admin email" "" issuer create --name bad2 --provider DigiCert --admin-email not-an-email
expect_usage "issuer create without --provider" "--provider is required" issuer create --name x

expect_ok "issuer delete" issuer delete --name acme1
run_cv issuer list --json
check_eq "list after delete" "$(jout 'map(.name) | join(",")')" digi
expect_fail_with "delete again" "" issuer delete --name acme1
expect_fail_with "show a deleted issuer" "" issuer show --name acme1

# --- contacts ----------------------------------------------------------------------
expect_ok "contact add" contact add --email ops@example.com --name "Ops Team" --phone 555-0111
expect_ok "contact add (email only)" contact add --email sec@example.com
run_cv contact list --json
check_eq "contact list: both, by email" "$(jout '.contactList | map(.emailAddress) | join(",")')" \
	"ops@example.com,sec@example.com"
check_eq "contact list: name and phone" "$(jout '.contactList[0] | .name + " " + .phone')" "Ops Team 555-0111"
check_eq "contact list: az's id" "$(jout .id)" "certvault://testvault/certificates/contacts"
expect_ok "contact list (human)" contact list
check "human list shows the emails" grep -qE '^emailAddress: +ops@example.com$' "$OUT"
expect_fail_with "add a contact twice" "" contact add --email ops@example.com
expect_fail_with "a bad email" "" contact add --email not-an-email
expect_fail_with "an email with a space" "" contact add --email 'a b@example.com'
expect_usage "contact add without --email" "--email is required" contact add --name x
expect_ok "contact delete" contact delete --email ops@example.com
run_cv contact list --json
check_eq "contact list after delete" "$(jout '.contactList | map(.emailAddress) | join(",")')" sec@example.com
expect_fail_with "delete a missing contact" "" contact delete --email ops@example.com

done_testing
