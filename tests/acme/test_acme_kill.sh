#!/bin/bash
# certvault ACME: the tool killed with SIGKILL in the middle of an order, at
# each step a pass reaches (found by watching the operation's step with
# `pending show --json`) and at random times; then `run --once` until the
# operation ends.  Each operation must end completed with exactly one order
# at Pebble, one certificate version, and the key its CSR was made with.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
. "$ACME_DIR/run_lib.sh"
need jq curl
[ -n "$CERTVAULT" ] && [ -x "$CERTVAULT" ] || skip_all "CERTVAULT does not name the tool"
cv() { "$CERTVAULT" "$@"; }

# A killed pass leaves its claim; it lapses after the lease.
export CERTVAULT_RUN_LEASE=2
# Validation takes Pebble up to 2 s, so the pass lingers in "authorize"
# with the responder up.
pebble_start PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=3
acme_vault
acme_issuer Kill --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
check_eq "an issuer answering through the built-in responder" "$RC" 0

# csr_key_id NAME: SHA-1 of the CSR's EC point, as CKA_ID is made.
csr_key_id() {
	cv certificate pending csr --name "$1" --file "$WORK/$1.csr" >/dev/null 2>&1 &&
		openssl req -in "$WORK/$1.csr" -noout -pubkey | openssl pkey -pubin -outform DER |
		tail -c 65 | openssl dgst -sha1 -r | cut -c1-40
}

# kill_at NAME STEP|@SECONDS: start a pass, SIGKILL it once the operation
# reached STEP (or after SECONDS); prints the step it was killed at.
kill_at() {
	local name=$1 at=$2 pid i step=
	"$CERTVAULT" run --once >>"$WORK/passes-$name" 2>&1 &
	pid=$!
	if [ "${at#@}" != "$at" ]; then
		sleep "${at#@}"
	else
		for i in $(seq 1 400); do
			step=$(op_field "$name" '.step // empty')
			[ "$step" = "$at" ] && break
			[ "$(op_field "$name" .status)" = inProgress ] || break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	op_field "$name" '(.step // "none") + " " + .status'
}

n=0
for at in account order authorize finalize download @0.2 @0.5 @0.9 @1.4; do
	n=$((n + 1))
	name="k$n"
	acme_policy "$name" "$name.example.com"
	cv certificate create --name "$name" --policy "@$WORK/policy-$name.json" >/dev/null 2>&1
	want_id=$(csr_key_id "$name")
	before=$(new_orders)
	killed=$(kill_at "$name" "$at")
	# The claim of the killed pass lapses; passes go on until it ends.
	status=inProgress
	for i in $(seq 1 15); do
		sleep 1
		pass_once "$name"
		status=$(op_field "$name" .status)
		[ "$status" = inProgress ] || break
	done
	check_eq "killed at $at (found: $killed), the operation completes" "$status" completed
	[ "$status" = completed ] || diag "$(tail -5 "$WORK/passes-$name")"
	check_eq "... with one order at Pebble" "$(($(new_orders) - before))" 1
	check_eq "... one certificate version" \
		"$(cv --json certificate list-versions --name "$name" | jq length)" 1
	cv certificate download --name "$name" --file "$WORK/$name.pem" >/dev/null 2>&1
	check_eq "... and the key of its CSR" "$(key_id "$WORK/$name.pem")" "$want_id"
done
done_testing
