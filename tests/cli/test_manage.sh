#!/bin/bash
# Living with certificates: show, list, list-versions, download (PEM, DER,
# chain), set-attributes, policy show and update, and secret download as PEM
# and PFX with the key only when the policy lets it out.
. "$(dirname "$0")/lib.sh"
need stat cmp

make_vault

expect_ok "create 'app' (PEM secret, exportable)" certificate create --name app \
	--policy "$(policy CN=app.example.com)" --tags env=test
run_cv certificate show --name app --json
v1=$(jout .version)
expect_ok "a second version of 'app'" certificate create --name app \
	--policy "$(policy CN=app.example.com)"
run_cv certificate show --name app --json
v2=$(jout .version)
check "the second version is current" test -n "$v2" -a "$v2" != "$v1"
expect_ok "create 'locked' (not exportable, PKCS#12 secret)" certificate create --name locked \
	--policy '{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"secret_props":{"contentType":"application/x-pkcs12"},"x509_props":{"subject":"CN=locked.example.com"},"issuer":{"name":"Self"}}'

# --- show, list ---------------------------------------------------------------
expect_ok "show (human)" certificate show --name app
check "human show: aligned key: value lines" grep -qE '^subject: +CN=app.example.com$' "$OUT"
check "human show: no base64 blob" bash -c "! grep -q '^cer' '$OUT'"
run_cv certificate show --name app --json
check_eq "show --json: name" "$(jout .name)" app
check_eq "show --json: the az keys" "$(jout 'keys | map(select(. == "id" or . == "x5t" or . == "cer" or . == "attributes" or . == "tags" or . == "policy")) | length')" 6
check_eq "show --json: attributes" "$(jout '.attributes | keys | join(",")')" "created,enabled,expires,notBefore,updated"
check_eq "show --json: policy is the REST form" "$(jout .policy.x509_props.subject)" CN=app.example.com
run_cv certificate show --name app --version "$v1" --json
check_eq "show --version" "$(jout .version)" "$v1"
check_eq "the first version kept its tags" "$(jout .tags.env)" test
expect_fail_with "show of a missing certificate" "" certificate show --name nothing-here
expect_fail_with "show of a missing version" "" certificate show --name app --version 0123456789abcdef0123456789abcdef
run_cv certificate list --json
check_eq "list: every certificate by name" "$(jout 'map(.name) | sort | join(",")')" "app,locked"
check_eq "list: the current version" "$(jout 'map(select(.name == "app"))[0].version')" "$v2"
run_cv certificate list-versions --name app --json
check_eq "list-versions: both, oldest first" "$(jout 'map(.version) | join(",")')" "$v1,$v2"
expect_ok "list (human)" certificate list
check "list (human): a header and one line per certificate" \
	test "$(head -1 "$OUT" | tr -s ' ')" = "NAME VERSION ENABLED EXPIRES SUBJECT" \
	-a "$(grep -c "^app  *$v2 " "$OUT")" -eq 1
check_eq "human list: one line per certificate" "$(($(wc -l <"$OUT") - 1))" 2

# --- download ---------------------------------------------------------------------
expect_ok "download PEM" certificate download --name app --file "$WORK/app.pem"
check "the PEM parses" openssl x509 -in "$WORK/app.pem" -noout
check_eq "certificate files are 0644" "$(stat -c %a "$WORK/app.pem")" 644
check_eq "downloaded is the current version" "$(x5t_of "$WORK/app.pem")" "$(cv certificate show --name app --json | jq -r .x5t)"
expect_ok "download DER" certificate download --name app --file "$WORK/app.cer" --encoding DER
openssl x509 -in "$WORK/app.pem" -outform DER -out "$WORK/app-from-pem.cer"
check "DER is the PEM's content" cmp "$WORK/app.cer" "$WORK/app-from-pem.cer"
expect_ok "download --version" certificate download --name app --version "$v1" --file "$WORK/app-v1.pem"
check "the old version differs" bash -c "! cmp -s '$WORK/app.pem' '$WORK/app-v1.pem'"
expect_ok "download --chain of a self-signed certificate" certificate download --name app --chain --file "$WORK/app-chain.pem"
check_eq "a self-signed chain is the one certificate" "$(grep -c 'BEGIN CERTIFICATE' "$WORK/app-chain.pem")" 1
run_cv certificate download --name app --file "$WORK/app.pem"
check "an existing file is not overwritten" \
	test "$RC" -eq 1 -a -n "$(grep -F 'already exists' "$ERR")"
expect_ok "--overwrite replaces it" certificate download --name app --version "$v1" --file "$WORK/app.pem" --overwrite
check "the file is the one asked for now" cmp "$WORK/app.pem" "$WORK/app-v1.pem"
expect_usage "DER with --chain is refused" "DER" \
	certificate download --name app --file "$WORK/x.cer" --encoding DER --chain
check "no temporary files left behind" bash -c "! ls '$WORK' | grep -q '\.tmp-'"

# --- set-attributes ------------------------------------------------------------------
run_cv certificate set-attributes --name app --enabled false --json
check_eq "disable" "$(jout .attributes.enabled)" false
run_cv certificate show --name app --json
check_eq "disabled stays disabled" "$(jout .attributes.enabled)" false
run_cv certificate set-attributes --name app --enabled true --json
check_eq "enable" "$(jout .attributes.enabled)" true
run_cv certificate set-attributes --name app --tags team=pki owner=ops --json
check_eq "tags replaced" "$(jout '.tags | to_entries | map("\(.key)=\(.value)") | sort | join(",")')" "owner=ops,team=pki"
run_cv certificate set-attributes --name app --version "$v1" --enabled false --json
check_eq "set-attributes --version touches that version" "$(jout '.version + " " + (.attributes.enabled|tostring)')" "$v1 false"
run_cv certificate show --name app --json
check_eq "the current version is untouched" "$(jout .attributes.enabled)" true
run_cv certificate set-attributes --name app --tags '' --json
check_eq "--tags '' clears the tags" "$(jout .tags)" null
expect_fail_with "set-attributes of a missing certificate" "" \
	certificate set-attributes --name nothing-here --enabled false
expect_fail_with "sixteen tags are too many" "" certificate set-attributes --name app --tags \
	t1=1 t2=2 t3=3 t4=4 t5=5 t6=6 t7=7 t8=8 t9=9 t10=10 t11=11 t12=12 t13=13 t14=14 t15=15 t16=16

# --- policy show and update -------------------------------------------------------------
run_any cv certificate policy show --name app
check_eq "policy show: az form by default" "$(jout .x509CertificateProperties.subject)" CN=app.example.com
run_any cv certificate policy show --name app --style rest
cp "$OUT" "$WORK/policy-before.json"
check_eq "policy show --style rest" "$(jout .x509_props.validity_months)" 12
run_any cv certificate policy update --name app --style rest \
	--policy '{"x509_props":{"validity_months":24},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"EmailContacts"}}]}'
check "policy update" test "$RC" -eq 0
cp "$OUT" "$WORK/policy-after.json"
check_eq "the given member changed" "$(jout .x509_props.validity_months)" 24
check_eq "the given lifetime action replaced" "$(jout '.lifetime_actions[0].trigger.lifetime_percentage')" 80
check_eq "the subject did not" "$(jout .x509_props.subject)" CN=app.example.com
check_eq "key_props did not" "$(jq -S .key_props "$WORK/policy-after.json")" "$(jq -S .key_props "$WORK/policy-before.json")"
check_eq "secret_props did not" "$(jq -S .secret_props "$WORK/policy-after.json")" "$(jq -S .secret_props "$WORK/policy-before.json")"
run_any cv certificate policy show --name app --style rest
check_eq "policy show sees the update" "$(jout .x509_props.validity_months)" 24
printf '{"x509CertificateProperties":{"validityInMonths":6}}' >"$WORK/patch.json"
run_any cv certificate policy update --name app --policy "@$WORK/patch.json"
check_eq "policy update from @file in az form" "$(jout .x509CertificateProperties.validityInMonths)" 6
expect_fail_with "policy update with malformed JSON" "" \
	certificate policy update --name app --policy '{"x509_props":'
expect_fail_with "policy update with an unknown member" "nope" \
	certificate policy update --name app --policy '{"x509_props":{"nope":1}}'
expect_fail_with "policy update out of range" "validity_months" \
	certificate policy update --name app --policy '{"x509_props":{"validity_months":0}}'
expect_fail_with "policy update with a bad subject" "The subject name provided is not a valid X500 name" \
	certificate policy update --name app --policy '{"x509_props":{"subject":"CN=a,\"b"}}'

# --- secret download -----------------------------------------------------------------------
expect_ok "secret download as PEM" secret download --name app --file "$WORK/app.secret.pem" --format pem
check_eq "secret files are 0600" "$(stat -c %a "$WORK/app.secret.pem")" 600
check "the PEM secret holds the private key" grep -q 'PRIVATE KEY' "$WORK/app.secret.pem"
check_eq "the key is the certificate's" \
	"$(openssl pkey -in "$WORK/app.secret.pem" -pubout 2>&1)" \
	"$(openssl x509 -in "$WORK/app.secret.pem" -noout -pubkey 2>&1)"
check_eq "the PEM secret's certificate is the current version" "$(x5t_of "$WORK/app.secret.pem")" \
	"$(cv certificate show --name app --json | jq -r .x5t)"
expect_ok "secret download as PFX with a password" secret download --name app \
	--file "$WORK/app.pfx" --format pfx --password pfx-pw
check_eq "the PFX is 0600" "$(stat -c %a "$WORK/app.pfx")" 600
check "openssl pkcs12 opens the PFX with the password" \
	openssl pkcs12 -in "$WORK/app.pfx" -passin pass:pfx-pw -nodes -out "$WORK/app.pfx.pem"
check_eq "the PFX holds the same key" \
	"$(openssl pkey -in "$WORK/app.pfx.pem" -pubout 2>&1)" "$(openssl pkey -in "$WORK/app.secret.pem" -pubout 2>&1)"
check "the PFX refuses a wrong password" \
	bash -c "! openssl pkcs12 -in '$WORK/app.pfx' -passin pass:wrong -nodes -noout 2>/dev/null"
printf 'pfx-pw-2\n' >"$WORK/pfx.pass"
expect_ok "secret download --password-file" secret download --name app \
	--file "$WORK/app2.pfx" --format pfx --password-file "$WORK/pfx.pass"
check "the PFX opens with the file's password" \
	openssl pkcs12 -in "$WORK/app2.pfx" -passin pass:pfx-pw-2 -nodes -noout
expect_ok "secret download --version" secret download --name app --version "$v1" \
	--file "$WORK/app-v1.secret.pem" --format pem
check_eq "the old version's secret has the old certificate" "$(x5t_of "$WORK/app-v1.secret.pem")" "$(x5t_of "$WORK/app-v1.pem")"
run_cv secret download --name app --file "$WORK/app.secret.pem" --format pem
check "secret download never overwrites" \
	test "$RC" -eq 1 -a -n "$(grep -F 'already exists' "$ERR")"
expect_ok "secret download --overwrite" secret download --name app \
	--file "$WORK/app.secret.pem" --format pem --overwrite
expect_ok "secret download as stored (PEM for 'app')" secret download --name app --file "$WORK/app.stored"
check "as stored is PEM" grep -q 'BEGIN CERTIFICATE' "$WORK/app.stored"

expect_ok "secret download of a non-exportable certificate (PEM)" secret download --name locked \
	--file "$WORK/locked.pem" --format pem
check "it holds the certificate" grep -q 'BEGIN CERTIFICATE' "$WORK/locked.pem"
check "and no private key" bash -c "! grep -q 'PRIVATE KEY' '$WORK/locked.pem'"
expect_ok "secret download of a non-exportable certificate (PFX)" secret download --name locked \
	--file "$WORK/locked.pfx" --format pfx --password x
check "the PFX holds no key" \
	bash -c "openssl pkcs12 -in '$WORK/locked.pfx' -passin pass:x -nodes -nocerts 2>/dev/null | grep -q 'PRIVATE KEY'; test \$? -ne 0"
expect_ok "secret download as stored (PKCS#12 for 'locked')" secret download --name locked --file "$WORK/locked.stored"
check "as stored is PKCS#12" openssl pkcs12 -in "$WORK/locked.stored" -passin pass: -nokeys -noout
expect_fail_with "secret download of a missing certificate" "" \
	secret download --name nothing-here --file "$WORK/none.pem"
check "a refused download leaves no file" test ! -e "$WORK/none.pem"
expect_usage "a password with PEM is refused" "PFX" \
	secret download --name app --file "$WORK/x.pem" --format pem --password p

done_testing
