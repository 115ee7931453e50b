#!/bin/bash
# certvault run and lifetime actions, with --now: AutoRenew at a percentage
# and at days before expiry, for Self and for the vault CA, each once (a
# second pass renews nothing); Unknown making a fresh CSR instead; --dry-run
# printing what would happen and changing nothing; events listed, --since
# honoured; the mail relay and hook settings; bad inputs refused in one line
# with the vault as it was.
. "$(dirname "$0")/lib.sh"

DAY=86400
NOW=$(date +%s)

# An EC policy of 12 months with one lifetime action.
lpol() {
	local subject=$1 issuer=$2 trigger=$3 value=$4 action=${5:-AutoRenew} extra=${6:-'{}'}
	jq -cn --arg s "$subject" --arg i "$issuer" --arg t "$trigger" --argjson v "$value" \
		--arg a "$action" --argjson x "$extra" \
		'{key_props: {kty: "EC", crv: "P-256", exportable: true, reuse_key: false},
		  secret_props: {contentType: "application/x-pem-file"},
		  x509_props: ({subject: $s, validity_months: 12} + $x),
		  lifetime_actions: [{trigger: {($t): $v}, action: {action_type: $a}}],
		  issuer: {name: $i}}'
}

versions() {
	cv --json certificate list-versions --name "$1" | jq length
}

current_version() {
	cv --json certificate show --name "$1" | jq -r '.id | split("/") | last'
}

expires() {
	date -d "$(cv --json certificate show --name "$1" | jq -r .attributes.expires)" +%s
}

make_vault lifekv
expect_ok "a contact" contact add --email ops@contoso.com
expect_ok "Self, AutoRenew at 60%" certificate create --name pct \
	--policy "$(lpol CN=pct.contoso.com Self lifetime_percentage 60)" --tags team=web
expect_ok "a CA in the vault" certificate create --name root --policy "$(jq -cn \
	'{key_props: {kty: "EC", crv: "P-256", exportable: false},
	  x509_props: {subject: "CN=Life Root", validity_months: 60,
	    key_usage: ["keyCertSign", "cRLSign"], basic_constraints: {ca: true}},
	  lifetime_actions: [], issuer: {name: "Self"}}')"
expect_ok "the vault CA as an issuer" issuer create --name LocalCA --provider Vault \
	--ca-certificate root
expect_ok "vault CA, AutoRenew 30 days before expiry" certificate create --name days \
	--policy "$(lpol CN=days.contoso.com LocalCA days_before_expiry 30)"
expect_ok "Unknown, AutoRenew 45 days before expiry" certificate create --name ext \
	--policy "$(lpol CN=ext.contoso.com Self days_before_expiry 45)"
expect_ok "... its issuer then Unknown" certificate policy update --name ext \
	--policy '{"issuer":{"name":"Unknown"}}'

PCT_EXP=$(expires pct)
PCT_V=$(current_version pct)
DAYS_V=$(current_version days)
LIFE=$((PCT_EXP - NOW))
AT_PCT=$((NOW + LIFE * 60 / 100 + 120))
AT_DAYS=$(($(expires days) - 30 * DAY + 120))

# Before the triggers: nothing to do.
before=$(vault_dump)
run_cv run --once --now "@$((NOW + 10 * DAY))"
check_eq "a pass before any trigger exits 0" "$RC" 0
check_eq "... renews nothing" "$(grep -c renewed "$OUT")" 0
check_eq "... and writes nothing" "$(vault_dump)" "$before"

# A dry look ahead: says what would happen, changes nothing.
before=$(vault_dump)
run_cv run --dry-run --now "@$AT_DAYS"
check_eq "run --dry-run exits 0" "$RC" 0
check "... names the percentage renewal" grep -q "^pct: AutoRenew: would fire (version $PCT_V" "$OUT"
check "... and the vault CA's" grep -q "^days: AutoRenew: would fire (version $DAYS_V" "$OUT"
check_eq "... and changes nothing" "$(vault_dump)" "$before"
check_eq "... no version made" "$(versions pct)" 1

# At 60% of its life the Self certificate renews; the vault CA's not yet.
run_cv run --once --now "@$AT_PCT"
check_eq "a pass at 60% exits 0" "$RC" 0
check "... renews pct" grep -q "^pct: AutoRenew: renewed: new version" "$OUT"
check_eq "... not days" "$(grep -c '^days: AutoRenew' "$OUT")" 0
check_eq "pct has two versions" "$(versions pct)" 2
NEW_V=$(current_version pct)
check "... the new one current" test "$NEW_V" != "$PCT_V"
check_eq "... tags carried over" "$(cv --json certificate show --name pct | jq -r .tags.team)" web
run_cv --json certificate show --name pct --version "$PCT_V"
check_eq "... the old version still there" "$RC" 0

# Again at the same time: nothing twice.
before=$(vault_dump)
run_cv run --once --now "@$AT_PCT"
check_eq "the same pass again exits 0" "$RC" 0
check_eq "... renews nothing" "$(grep -c renewed "$OUT")" 0
check_eq "... pct still has two versions" "$(versions pct)" 2

# 30 days before expiry: the vault CA signs the new version at once.
run_cv run --once --now "@$AT_DAYS"
check_eq "a pass 30 days before expiry exits 0" "$RC" 0
check "... renews days through the vault CA" grep -q "^days: AutoRenew: renewed: new version" "$OUT"
check_eq "days has two versions" "$(versions days)" 2
check_eq "... signed by the vault CA" \
	"$(cv --json certificate show --name days | jq -r .policy.issuer.name)" LocalCA
check "... Unknown made a CSR instead" grep -q "^ext: AutoRenew: pending: a CSR for version" "$OUT"
run_cv --json certificate pending show --name ext
check_eq "... its operation is in progress" "$(jout .status)" inProgress
check "... with a CSR" test -n "$(jout .csr)"
check_eq "... ext still has one version" "$(versions ext)" 1
run_cv run --once --now "@$AT_DAYS"
check_eq "that pass again renews nothing" "$(grep -c -e renewed -e pending "$OUT")" 0
check_eq "... days still has two versions" "$(versions days)" 2
run_cv run --dry-run --now "@$((PCT_EXP + 60))"
check "a dry run says an old version's trigger would be dropped" \
	grep -q "^pct: Expired: would drop it, not current (version $PCT_V" "$OUT"

# Events.
NV=Microsoft.KeyVault.CertificateNewVersionCreated
run_cv --json events list
check_eq "events list --json exits 0" "$RC" 0
check_eq "... a NewVersionCreated per version made" \
	"$(jout '[.[] | select(.eventType == "Microsoft.KeyVault.CertificateNewVersionCreated")] | length')" 6
check_eq "... the renewal's event names its version" \
	"$(jout "[.[] | select(.data.Version == \"$NEW_V\")] | .[0].subject")" pct
run_cv events list --since "@$((AT_PCT - 60))"
check_eq "events list --since exits 0" "$RC" 0
check_eq "... only what happened since then: two renewals, ext near expiry" \
	"$(cut -d" " -f3,4 "$OUT" | tr "\n" ,)" \
	"$NV pct,$NV days,Microsoft.KeyVault.CertificateNearExpiry ext,"
run_cv events list --since "$(date -u -d "@$((AT_DAYS + DAY))" +%Y-%m-%dT%H:%M:%SZ)"
check_eq "events list --since an RFC 3339 time after them: none" "$(cat "$OUT")" ""

# A renewal the vault CA refuses (its certificate disabled): recorded once,
# as an event, and the current version stays.
expect_ok "a leaf of the vault CA" certificate create --name refused \
	--policy "$(lpol CN=refused.contoso.com LocalCA days_before_expiry 30)"
REF_V=$(current_version refused)
REF_AT=$(($(expires refused) - 30 * DAY + 120))
expect_ok "the CA disabled" certificate set-attributes --name root --enabled false
run_cv run --once --now "@$REF_AT"
check_eq "a pass whose renewal fails exits 0" "$RC" 0
check "... says the renewal failed" grep -q "^refused: AutoRenew: renewal failed: " "$OUT"
check_eq "... refused keeps its version" "$(current_version refused)" "$REF_V"
run_cv --json events list
check_eq "... one CertificateRenewalFailed event" \
	"$(jout '[.[] | select(.eventType == "Certvault.CertificateRenewalFailed") | .subject] | join(",")')" \
	refused
run_cv run --once --now "@$REF_AT"
check_eq "... not again on the next pass" "$(grep -c 'renewal failed' "$OUT")" 0
expect_ok "the CA enabled again" certificate set-attributes --name root --enabled true

# The mail relay and the hook.
printf 'relay-Sekrit-9\n' >"$WORK/relay.pw"
expect_ok "vault set-mail" vault set-mail --host 127.0.0.1 --port 2525 --user relay \
	--password-file "$WORK/relay.pw" --from vault@contoso.com
run_cv --json vault show-mail
check_eq "vault show-mail: the host" "$(jout .host)" 127.0.0.1
check_eq "... says a password is set" "$(jout .password)" true
check_eq "... never shows it" "$(grep -c Sekrit "$OUT")" 0
check_eq "the relay's password is sealed at rest" \
	"$(mdb_dump -a -p "$VAULT" | grep -c Sekrit)" 0
expect_ok "vault set-hook" vault set-hook --command "/bin/true reload"
expect_ok "vault clear-hook" vault clear-hook
expect_ok "vault clear-mail" vault clear-mail
run_cv vault show-mail
check_eq "vault show-mail with none exits 3" "$RC" 3

# Events are kept a year by the real clock: a pass rehearsed more than a
# year ahead with --now removes none of them (the removal itself is the
# unit test's test_events_pruned).
LATE=$((PCT_EXP + 400 * DAY))
run_cv --json events list
BEFORE_LATE=$(jout '[.[] | .sequence] | join(",")')
run_cv run --once --now "@$LATE"
check_eq "a pass a year ahead removes no event" "$(grep -c '^events:' "$OUT")" 0
run_cv --json events list
check_eq "... every event is still there" \
	"$(jout "[.[] | select(.eventTime < \"$(date -u -d "@$LATE" +%Y-%m-%dT%H:%M:%SZ)\") | .sequence] | join(\",\")")" \
	"$BEFORE_LATE"

# Bad inputs: one line, the vault as it was.
expect_fail_with "run --now garbage" "--now is an RFC 3339 time" run --once --now yesterday
check_eq "... exits 2" "$RC" 2
expect_fail_with "run --now without --once" "--now needs --once or --dry-run" run --now @1
expect_fail_with "run --dry-run --interval" "--dry-run makes one pass" run --dry-run --interval 5
expect_fail_with "events list --since garbage" "--since is an RFC 3339 time" \
	events list --since 2027-13-45
expect_fail_with "set-mail without --from" "--host, --port and --from are required" \
	vault set-mail --host 127.0.0.1 --port 25
expect_fail_with "set-mail port 0" "--port is 1 to 65535" \
	vault set-mail --host 127.0.0.1 --port 0 --from a@b.example
expect_fail_with "set-mail plain to a remote relay" "only 127.0.0.1 or [::1] may be used" \
	vault set-mail --host mail.contoso.com --port 25 --from vault@contoso.com
check_eq "... exits 1" "$RC" 1
expect_fail_with "set-mail --starttls --tls" "give --starttls or --tls, not both" \
	vault set-mail --host mail.contoso.com --port 25 --starttls --tls --from a@b.example
expect_fail_with "set-mail --user without a password" "--user and --password-file go together" \
	vault set-mail --host 127.0.0.1 --port 25 --user u --from a@b.example
expect_fail_with "set-mail with a bad sender" "is not an email address" \
	vault set-mail --host 127.0.0.1 --port 25 --from nobody
expect_fail_with "set-hook with a blank command" "hook command: empty" \
	vault set-hook --command "   "
expect_fail_with "clear-hook with none" "the vault has no hook" vault clear-hook
check_eq "... exits 3" "$RC" 3
check_eq "... in one line" "$(wc -l <"$ERR")" 1

done_testing
