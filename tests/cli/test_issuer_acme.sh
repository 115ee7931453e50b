#!/bin/bash
# ACME issuers from the command line: every bad input refused in one line
# with its exit status (2 usage, 1 refusal, 3 not found) and the vault left
# as it was; update replaces what is given and forgets the ACME account when
# the directory changes; show prints the ACME members but never the
# password or the account key.
. "$(dirname "$0")/lib.sh"
need jq

make_vault
printf 'YmluZGluZy1rZXktZm9yLXRoZS10ZXN0cy0wMTIzNDU2Nzg5\n' >"$WORK/eab.key"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=roots \
	-keyout "$WORK/roots.key" -out "$WORK/roots.pem" -days 2 >/dev/null 2>&1

# expect_refused STATUS TEXT SUBSTRING CERTVAULT-ARGS...: exit STATUS, one
# line on stderr holding SUBSTRING, the vault unchanged.
expect_refused() {
	local status=$1 text=$2 want=$3 before after
	shift 3
	before=$(vault_dump)
	run_cv "$@"
	after=$(vault_dump)
	if [ "$RC" -eq "$status" ] && _refused_with "$want"; then
		pass "$text: exit $status, one line naming it"
	else
		fail "$text: exit $status, one line naming it" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
	check_eq "$text: vault unchanged" "$after" "$before"
}

ACME=(issuer create --name pebble --provider ACME --directory-url https://127.0.0.1:14000/dir
      --account-id kid-1 --password-file "$WORK/eab.key")

expect_refused 1 "no challenge way" "one way to answer challenges" "${ACME[@]}"
expect_refused 2 "two challenge ways" "give one of --http-listen, --webroot and --dns-hook" \
	"${ACME[@]}" --http-listen 127.0.0.1:5002 --webroot "$WORK/www"
expect_refused 2 "three challenge ways" "give one of --http-listen" \
	"${ACME[@]}" --http-listen 127.0.0.1:5002 --webroot "$WORK/www" --dns-hook /bin/true
expect_refused 1 "plain http to another host" "must be https://" \
	issuer create --name pebble --provider ACME --directory-url http://acme.example/dir \
	--http-listen 127.0.0.1:5002
expect_refused 1 "http to localhost by name" "must be https://" \
	issuer create --name pebble --provider ACME --directory-url http://localhost:14000/dir \
	--http-listen 127.0.0.1:5002
expect_refused 1 "not a URL" "is not a URL" \
	issuer create --name pebble --provider ACME --directory-url 'https://' \
	--http-listen 127.0.0.1:5002
expect_refused 1 "no directory URL" "needs its directory URL" \
	issuer create --name pebble --provider ACME --http-listen 127.0.0.1:5002
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:70000 web.example:80 '::1:80' '[::1]' 1.2.3:80; do
	expect_refused 1 "listen address '$bad'" "HTTP listen address '$bad'" \
		"${ACME[@]}" --http-listen "$bad"
done
expect_refused 1 "a missing password file" "$WORK/missing.key" \
	issuer create --name pebble --provider ACME --directory-url https://127.0.0.1:14000/dir \
	--password-file "$WORK/missing.key" --http-listen 127.0.0.1:5002
expect_refused 1 "a missing CA file" "--ca-file $WORK/missing.pem cannot be read" \
	"${ACME[@]}" --http-listen 127.0.0.1:5002 --ca-file "$WORK/missing.pem"
expect_refused 2 "a relative webroot" "--webroot must be an absolute path" \
	"${ACME[@]}" --webroot www
expect_refused 1 "a bad account email" "account email 'nobody' is not an email address" \
	"${ACME[@]}" --http-listen 127.0.0.1:5002 --email nobody
expect_refused 1 "a preset with a bad directory override" "must be https://" \
	issuer create --name digi --provider DigiCert --directory-url http://acme.example/ \
	--webroot /srv/www
expect_refused 1 "a challenge way on a Vault issuer" "challenge ways are for ACME issuers" \
	issuer create --name inside --provider Vault --ca-certificate RootCA --webroot /srv/www
expect_refused 2 "empty allowed names" "--allowed-names is a list of names" \
	issuer create --name inside --provider Vault --ca-certificate RootCA --allowed-names a,,b
expect_refused 1 "a bad allowed name" "allowed name 'a b' is not a DNS name" \
	issuer create --name inside --provider Vault --ca-certificate RootCA --allowed-names 'x.com,a b'
expect_refused 3 "update of an issuer that is not there" "issuer 'nobody' was not found" \
	issuer update --name nobody --webroot /srv/www

# --- good ones ---------------------------------------------------------------------------
expect_ok "an ACME issuer" "${ACME[@]}" --http-listen 127.0.0.1:5002 \
	--email ops@example.com --ca-file "$WORK/roots.pem"
check "create prints no key material" \
	bash -c "! grep -qiE 'YmluZGluZy1rZXkt|PRIVATE' '$OUT' '$ERR'"
run_cv issuer show --name pebble --json
check_eq "show: provider" "$(jout .provider)" "ACME"
check_eq "show: directory" "$(jout .directoryUrl)" "https://127.0.0.1:14000/dir"
check_eq "show: binding key id" "$(jout .credentials.accountId)" "kid-1"
check_eq "show: never the password" "$(jout .credentials.password)" "null"
check_eq "show: email" "$(jout .acme.email)" "ops@example.com"
check_eq "show: the CA file, as an absolute path" "$(jout .acme.caFile)" "$(realpath "$WORK/roots.pem")"
check_eq "show: the challenge way" "$(jout '.acme.challenge | to_entries | map("\(.key)=\(.value)") | join(",")')" \
	"httpListen=127.0.0.1:5002"
check_eq "show: an account key exists" "$(jout .acme.accountKey)" "true"
check_eq "show: no account yet" "$(jout .acme.accountUrl)" "null"
check "show --json holds no key" bash -c "! grep -qiE 'YmluZGluZy1rZXkt|\"d\"|PRIVATE' '$OUT'"
expect_ok "show (human)" issuer show --name pebble
check "human show says whether an account key exists" grep -q 'accountKey' "$OUT"
check "human show never prints the password" bash -c "! grep -qF 'YmluZGluZy1rZXkt' '$OUT'"

# update: what is given replaces; the challenge way as a whole.
expect_ok "update --webroot" issuer update --name pebble --webroot "$WORK/www"
run_cv issuer show --name pebble --json
check_eq "update: the webroot replaced the listener" \
	"$(jout '.acme.challenge | keys | join(",")')" "webroot"
check_eq "update: the rest kept" "$(jout '[.directoryUrl, .credentials.accountId, .acme.email] | join(" ")')" \
	"https://127.0.0.1:14000/dir kid-1 ops@example.com"
expect_refused 2 "update with two ways" "give one of --http-listen" \
	issuer update --name pebble --webroot "$WORK/www" --dns-hook /bin/true

# The account URL is set when the ACME client registers; CV_SET_ACCOUNT
# calls the store's cv_issuer_account_set as it does.
run_any env CERTVAULT_PIN="$CERTVAULT_PIN" "$CV_SET_ACCOUNT" "$VAULT" pebble \
	https://127.0.0.1:14000/my-account/1
check "an account URL is remembered" test "$RC" -eq 0
run_cv issuer show --name pebble --json
check_eq "show: the account" "$(jout .acme.accountUrl)" "https://127.0.0.1:14000/my-account/1"
expect_ok "update the email" issuer update --name pebble --email dev@example.com
run_cv issuer show --name pebble --json
check_eq "an update of the email keeps the account" "$(jout .acme.accountUrl)" \
	"https://127.0.0.1:14000/my-account/1"
expect_ok "update the directory" issuer update --name pebble \
	--directory-url https://127.0.0.1:14001/dir
run_cv issuer show --name pebble --json
check_eq "a changed directory forgets the account" "$(jout .acme.accountUrl)" "null"
check_eq "and keeps the account key" "$(jout .acme.accountKey)" "true"
run_any env CERTVAULT_PIN="$CERTVAULT_PIN" "$CV_SET_ACCOUNT" "$VAULT" pebble \
	https://127.0.0.1:14001/my-account/2
expect_ok "update the binding key id" issuer update --name pebble --account-id kid-2
run_cv issuer show --name pebble --json
check_eq "a changed binding forgets the account" "$(jout .acme.accountUrl)" "null"

# Presets: the directory filled in, overridable; organization and admin kept.
expect_ok "a DigiCert preset" issuer create --name digi --provider DigiCert --account-id dc-1 \
	--password-file "$WORK/eab.key" --organization-id org-42 --admin-email ann@example.com \
	--dns-hook /bin/true
run_cv issuer show --name digi --json
check_eq "DigiCert: its directory" "$(jout .directoryUrl)" "https://acme.digicert.com/v2/acme/directory/"
check_eq "DigiCert: organization and admin" \
	"$(jout '[.organizationDetails.id, .organizationDetails.adminDetails[0].emailAddress] | join(" ")')" \
	"org-42 ann@example.com"
check_eq "DigiCert: an account key" "$(jout .acme.accountKey)" "true"
expect_ok "a GlobalSign preset with its directory overridden" issuer create --name gs \
	--provider GlobalSign --directory-url https://127.0.0.1:14000/dir --webroot /srv/www
run_cv issuer show --name gs --json
check_eq "GlobalSign: the directory given" "$(jout .directoryUrl)" "https://127.0.0.1:14000/dir"
check_eq "GlobalSign: the provider kept" "$(jout .provider)" "GlobalSign"
expect_ok "RootCA: a CA certificate for a Vault issuer" certificate create --name RootCA \
	--policy '{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=Root CA","key_usage":["keyCertSign","cRLSign"],"basic_constraints":{"ca":true}},"issuer":{"name":"Self"}}'
expect_ok "a Vault issuer with allowed names" issuer create --name inside --provider Vault \
	--ca-certificate RootCA --allowed-names 'web.contoso.com,*.api.contoso.com'
run_cv issuer show --name inside --json
check_eq "Vault: allowed names" "$(jout '.allowedNames | join(",")')" "web.contoso.com,*.api.contoso.com"
check_eq "Vault: no ACME members" "$(jout .acme)" "null"

# --- certificates through an ACME issuer ------------------------------------------------
EC='{"kty":"EC","crv":"P-256"}'
expect_ok "create through the ACME issuer" certificate create --name web \
	--policy "$(policy CN=web.example.com pebble "$EC")"
run_cv certificate pending show --name web --json
check_eq "pending: inProgress, ordered by ACME, no step yet" \
	"$(jout '[.status, .provider, (.step // "none"), .issuerParameters.name] | join(" ")')" \
	"inProgress ACME none pebble"
check "pending: status details say it is being ordered" grep -q "ACME server" "$OUT"
check_eq "pending: the error is empty" "$(jout .error)" "null"
check "pending: a CSR" test -n "$(jout .csr)"
run_cv certificate pending cancel --name web
check "cancel before any pass takes effect, and says so" \
	grep -q "The cancellation took effect" "$OUT"
run_cv certificate pending show --name web --json
check_eq "cancelled" "$(jout '[.status, .cancellationRequested] | join(" ")')" "cancelled true"
expect_ok "disable the issuer" issuer update --name pebble --disabled
expect_refused 1 "create through a disabled issuer" "issuer 'pebble' is disabled" \
	certificate create --name web2 --policy "$(policy CN=web2.example.com pebble "$EC")"

done_testing
