#!/bin/bash
# certvault run's mail and hooks, against the SMTP server of tests/mail
# (Debian's python3-aiosmtpd on 127.0.0.1, started and stopped here): the
# renewal's mail reaches every contact with the certificate, version and
# expiry; a second pass sends nothing; a relay that is down keeps the mail
# for a later pass, which sends it once the relay is up; an imported
# certificate gets Key Vault's default expiry notice; the hook gets each
# event's JSON on its standard input, once; a hook that fails or hangs is
# reported, timed out, and the pass goes on.
. "$(dirname "$0")/lib.sh"

. "$CERTVAULT_TESTS/../mail/smtpd.sh"

DAY=86400
NOW=$(date +%s)

lpol() {
	local subject=$1 trigger=$2 value=$3 action=${4:-AutoRenew}
	jq -cn --arg s "$subject" --arg t "$trigger" --argjson v "$value" --arg a "$action" \
		'{key_props: {kty: "EC", crv: "P-256", exportable: true, reuse_key: false},
		  secret_props: {contentType: "application/x-pem-file"},
		  x509_props: {subject: $s, validity_months: 12},
		  lifetime_actions: [{trigger: {($t): $v}, action: {action_type: $a}}],
		  issuer: {name: "Self"}}'
}

expires() {
	date -d "$(cv --json certificate show --name "$1" | jq -r .attributes.expires)" +%s
}

make_vault mailkv

expect_ok "contact one" contact add --email ops@contoso.com
expect_ok "contact two" contact add --email pki@contoso.com
expect_ok "Self, AutoRenew 40 days before expiry" certificate create --name web \
	--policy "$(lpol CN=web.contoso.com days_before_expiry 40)"
OLD_V=$(cv --json certificate show --name web | jq -r '.id | split("/") | last')
AT=$(($(expires web) - 40 * DAY + 60))

# A relay that is down: the mail stays for a later pass.
smtpd_start "$WORK/mail1"
PORT=$SMTPD_PORT
smtpd_stop
expect_ok "vault set-mail" vault set-mail --host 127.0.0.1 --port "$PORT" \
	--from vault@contoso.com
run_cv run --once --now "@$AT"
check_eq "a pass with the relay down exits 0" "$RC" 0
check "... renews web" grep -q "^web: AutoRenew: renewed" "$OUT"
check "... says the mail was kept" grep -q "^web: mail: .*kept for a later pass" "$OUT"

# The relay up again: the next pass after the retry time sends it, once.
smtpd_start "$WORK/mail1" --port "$PORT"
run_cv run --once --now "@$((AT + 60))"
check_eq "... not before its retry time" "$(smtpd_count "$WORK/mail1")" 0
run_cv run --once --now "@$((AT + 400))"
check "the pass after the retry time sends it" grep -q "^web: mail: sent 'Certificate web renewed' to 2 recipients" "$OUT"
smtpd_wait_mails "$WORK/mail1" 1
check_eq "... one mail arrived" "$(smtpd_count "$WORK/mail1")" 1
M="$WORK/mail1/0001.json"
check_eq "... to both contacts" "$(jq -c '.rcpt_tos | sort' "$M")" '["ops@contoso.com","pki@contoso.com"]'
check_eq "... from the vault's sender" "$(jq -r .mail_from "$M")" vault@contoso.com
check_eq "... its subject" "$(jq -r .subject "$M")" "Certificate web renewed"
check "... the body names the old version" grep -q "$OLD_V" <(jq -r .body "$M")
check "... and the certificate's subject" grep -q "CN=web.contoso.com" <(jq -r .body "$M")
run_cv run --once --now "@$((AT + 4000))"
sleep 1
check_eq "a second pass sends nothing" "$(smtpd_count "$WORK/mail1")" 1
check_eq "... and renews nothing" "$(grep -c renewed "$OUT")" 0

# A pass killed at random points, then run to the end: one new version,
# one renewal mail (a pass killed after the relay took the mail but before
# the vault heard so sends it again under the same Message-ID).
smtpd_start "$WORK/mail2"
expect_ok "the relay for the kill test" vault set-mail --host 127.0.0.1 \
	--port "$SMTPD_PORT" --from vault@contoso.com
expect_ok "Self, AutoRenew 40 days before expiry, to be killed" certificate create \
	--name kill --policy "$(lpol CN=kill.contoso.com days_before_expiry 40)"
KAT=$(($(expires kill) - 40 * DAY + 60))
for i in 1 2 3 4 5 6 7 8; do
	(timeout -s KILL "0.$((RANDOM % 9 + 1))" "$CERTVAULT" --vault "$VAULT" run --once \
		--now "@$KAT") >/dev/null 2>&1
done 2>/dev/null
run_cv run --once --now "@$KAT"
check_eq "after the killed passes, a pass exits 0" "$RC" 0
run_cv run --once --now "@$((KAT + 4000))"
check_eq "... kill has exactly two versions" \
	"$(cv --json certificate list-versions --name kill | jq length)" 2
sleep 1
check_eq "... and one renewal mail" \
	"$(jq -r 'select(.subject == "Certificate kill renewed") | .message_id' "$WORK"/mail2/*.json |
		sort -u | wc -l)" 1
smtpd_stop
expect_ok "the first relay again" vault set-mail --host 127.0.0.1 --port "$PORT" \
	--from vault@contoso.com

# The hook: each new event's JSON on its standard input, once.
cat >"$WORK/hook.sh" <<EOF
#!/bin/sh
cat >>"$WORK/hook.out"
echo >>"$WORK/hook.out"
EOF
chmod +x "$WORK/hook.sh"
expect_ok "vault set-hook" vault set-hook --command "$WORK/hook.sh"

# An imported certificate gets the default notice (EmailContacts at 80%).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 100 \
	-subj "/CN=imported.contoso.com" -keyout "$WORK/imp.key" -out "$WORK/imp.crt" \
	>/dev/null 2>&1
cat "$WORK/imp.crt" "$WORK/imp.key" >"$WORK/imp.pem"
expect_ok "import a certificate" certificate import --name imp --file "$WORK/imp.pem"
IMP_AT=$(($(expires imp) - 20 * DAY + 60))
run_cv run --once --now "@$IMP_AT"
check "a pass at 80% mails the expiry notice" grep -q "^imp: mail: sent 'Certificate imp expires on" "$OUT"
smtpd_wait_mails "$WORK/mail1" 2
check "... that tells the reader to renew it" grep -q "renew it" <(jq -r .body "$WORK/mail1/0002.json")
check "... and runs the hook for the near expiry" \
	grep -q "^imp: hook: Microsoft.KeyVault.CertificateNearExpiry: ran" "$OUT"
check_eq "... which got the events as JSON" \
	"$(jq -r '.eventType + " " + .subject' "$WORK/hook.out" | tr '\n' ,)" \
	"Microsoft.KeyVault.CertificateNewVersionCreated imp,Microsoft.KeyVault.CertificateNearExpiry imp,"
N1=$(grep -c . "$WORK/hook.out")
run_cv run --once --now "@$IMP_AT"
check_eq "... and not again" "$(grep -c . "$WORK/hook.out")" "$N1"

# A hook that fails, then one that hangs: reported, the pass goes on.
expect_ok "a hook that fails" vault set-hook --command "/bin/false"
run_cv run --once --now "@$(($(expires imp) + 60))"
check_eq "a failing hook: the pass exits 0" "$RC" 0
check "... says the hook failed" grep -q "^imp: hook: Microsoft.KeyVault.CertificateExpired: failed" "$OUT"
printf '#!/bin/sh\nsleep 60\n' >"$WORK/hang.sh"
chmod +x "$WORK/hang.sh"
expect_ok "a hook that hangs" vault set-hook --command "$WORK/hang.sh"
expect_ok "Self, notice at 10%" certificate create --name note \
	--policy "$(lpol CN=note.contoso.com lifetime_percentage 10 EmailContacts)"
start=$(date +%s)
CERTVAULT_HOOK_TIMEOUT=2 run_cv run --once
check_eq "a hanging hook: the pass exits 0" "$RC" 0
check "... says it was killed" grep -q "^note: hook: .*: failed: killed after" "$OUT"
check "... well before the hook's minute" test $(($(date +%s) - start)) -lt 30

done_testing
