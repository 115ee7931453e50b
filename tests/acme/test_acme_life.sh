#!/bin/bash
# certvault ACME: a certificate ordered from Pebble renews by itself.  Its
# policy names no lifetime actions, so Key Vault's default applies
# (AutoRenew at 80%); a pass at that time (--now) orders a new version as an
# operation, the next passes complete it through the same issuer, the old
# version stays until it expires, and the same pass run again orders
# nothing.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
. "$ACME_DIR/run_lib.sh"
need jq curl /usr/bin/python3
[ -n "$CERTVAULT" ] && [ -x "$CERTVAULT" ] || skip_all "CERTVAULT does not name the tool"
cv() { "$CERTVAULT" "$@"; }

pebble_start
acme_vault

acme_issuer Life --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
check_eq "an ACME issuer" "$RC" 0
acme_policy life life.example.com
run "$CERTVAULT" certificate create --name life --policy "@$WORK/policy-life.json"
check_eq "create with the ACME issuer" "$RC" 0
check_eq "the first order completes" "$(passes_until_done life 5)" completed

show() { cv --json certificate show --name life ${1:+--version "$1"}; }
secs() { date -d "$1" +%s; }
V1=$(show | jq -r '.id | split("/") | last')
NBF1=$(secs "$(show | jq -r .attributes.notBefore)")
EXP1=$(secs "$(show | jq -r .attributes.expires)")
T1=$((NBF1 + (EXP1 - NBF1) * 80 / 100))
check_eq "the policy carries Key Vault's default lifetime action" \
	"$(cv --json certificate policy show --name life | jq -c '.lifetimeActions')" \
	'[{"action":{"actionType":"AutoRenew"},"trigger":{"lifetimePercentage":80}}]'

run "$CERTVAULT" run --once --now "@$((T1 - 60))"
check_eq "a pass before 80% orders nothing" "$(grep -c AutoRenew "$OUT")" 0
sleep 2
run "$CERTVAULT" run --once --now "@$((T1 + 1))"
check_eq "a pass at 80% exits 0" "$RC" 0
check_grep "... orders the renewal from the issuer" "$OUT" \
	'^life: AutoRenew: pending: version [0-9a-f]{32} ordered from Life$'
check_eq "... as an operation in progress" "$(op_field life .status)" inProgress
check_eq "... while version 1 stays current" "$(show | jq -r '.id | split("/") | last')" "$V1"
check_eq "the next passes complete it" "$(passes_until_done life 5)" completed
V2=$(show | jq -r '.id | split("/") | last')
check "... a new version is current" test "$V2" != "$V1"
check_eq "... two versions" "$(cv --json certificate list-versions --name life | jq length)" 2
run "$CERTVAULT" --json certificate show --name life --version "$V1"
check_eq "... the old one still there" "$RC" 0

NBF2=$(secs "$(show | jq -r .attributes.notBefore)")
EXP2=$(secs "$(show | jq -r .attributes.expires)")
T2=$((NBF2 + (EXP2 - NBF2) * 80 / 100))
check "the new version comes due later than the old" test "$T2" -gt "$((T1 + 1))"
run "$CERTVAULT" run --once --now "@$((T1 + 1))"
check_eq "the same pass again orders nothing" "$(grep -c AutoRenew "$OUT")" 0
run "$CERTVAULT" run --once --now "@$((T2 - 1))"
check_eq "... nor one just before the new version's time" "$(grep -c AutoRenew "$OUT")" 0
run "$CERTVAULT" --json events list
check_eq "two NewVersionCreated events" \
	"$(jq '[.[] | select(.eventType == "Microsoft.KeyVault.CertificateNewVersionCreated")] | length' "$OUT")" 2

done_testing
