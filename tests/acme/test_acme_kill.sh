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
need jq curl /usr/bin/python3
[ -n "$CERTVAULT" ] && [ -x "$CERTVAULT" ] || skip_all "CERTVAULT does not name the tool"
cv() { "$CERTVAULT" "$@"; }

# A killed pass leaves its claim; it lapses after the lease.
export CERTVAULT_RUN_LEASE=1
LEASE_LAPSE=1.2
# Pebble validates up to 2 s after the challenge is posted, so passes find
# the operation in "authorize" too.  The answers are files a web server
# serves: they outlive a killed pass, as the CA needs.  (The built-in
# responder dies with the pass: a kill between the challenge and the CA's
# fetch fails the authorization, which is the CA's decision to make.)
pebble_start PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=3
acme_vault
mkdir -p "$WORK/www"
web_start "$WORK/www"
acme_issuer Kill --webroot "$WORK/www"
check_eq "an issuer answering through a webroot" "$RC" 0

# csr_key_id NAME: SHA-1 of the CSR's EC point, as CKA_ID is made.
csr_key_id() {
	cv certificate pending csr --name "$1" --file "$WORK/$1.csr" >/dev/null 2>&1 &&
		openssl req -in "$WORK/$1.csr" -noout -pubkey | openssl pkey -pubin -outform DER |
		tail -c 65 | openssl dgst -sha1 -r | cut -c1-40
}

# kill_at NAME STEP: passes, one after another, until one is seen working
# on the operation at STEP; that pass is killed (SIGKILL).  A step lasts
# milliseconds, so the pass is held (SIGSTOP) while the step is read and
# let go on (SIGCONT) in between.  Prints the step it was killed at ("-"
# when the operation ended before a pass was seen at STEP).
kill_at() {
	local name=$1 at=$2 pid i try step
	for try in $(seq 1 10); do
		"$CERTVAULT" run --once >>"$WORK/passes-$name" 2>&1 &
		pid=$!
		for i in $(seq 1 1500); do
			kill -STOP "$pid" 2>/dev/null || break
			# The pass may be held inside LMDB's reader-table lock,
			# which the read then waits for: bounded, and let go.
			step=$(timeout 1 "$CERTVAULT" --json certificate pending show \
				--name "$name" 2>/dev/null | jq -r '.step // "none"' 2>/dev/null)
			if [ "$step" = "$at" ]; then
				kill -KILL "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				echo "$step"
				sleep "$LEASE_LAPSE"
				return
			fi
			kill -CONT "$pid" 2>/dev/null
			sleep 0.002
		done
		kill -CONT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		[ "$(op_field "$name" .status)" = inProgress ] || break
		sleep 0.3
	done
	echo "-"
}

# kill_randomly NAME KILLS: that many passes, each killed after a random
# 0.02 to 0.6 s; prints the steps they were killed at.
kill_randomly() {
	local name=$1 k pid steps=
	for k in $(seq 1 "$2"); do
		[ "$(op_field "$name" .status)" = inProgress ] || break
		"$CERTVAULT" run --once >>"$WORK/passes-$name" 2>&1 &
		pid=$!
		sleep "0.$(printf '%02d' $((2 + RANDOM % 59)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		steps="$steps $(op_field "$name" '.step // "none"')"
		sleep "$LEASE_LAPSE"
	done
	echo "${steps# }"
}

n=0
all_killed=
ids=
for at in account ordering order authorize finalize download random random; do
	n=$((n + 1))
	name="k$n"
	acme_policy "$name" "$name.example.com"
	cv certificate create --name "$name" --policy "@$WORK/policy-$name.json" >/dev/null 2>&1
	want_id=$(csr_key_id "$name")
	before=$(new_orders)
	if [ "$at" = random ]; then
		killed=$(kill_randomly "$name" 4)
	else
		killed=$(kill_at "$name" "$at")
	fi
	# Passes go on until it ends.
	status=inProgress
	for i in $(seq 1 20); do
		pass_once "$name"
		status=$(op_field "$name" .status)
		[ "$status" = inProgress ] || break
		sleep 0.5
	done
	all_killed="$all_killed $killed"
	check_eq "killed at $at (killed at: $killed), the operation completes" "$status" completed
	[ "$status" = completed ] || diag "$(tail -5 "$WORK/passes-$name")"
	check_eq "... with one order at Pebble" "$(($(new_orders) - before))" 1
	check_eq "... one certificate version" \
		"$(cv --json certificate list-versions --name "$name" | jq length)" 1
	cv certificate download --name "$name" --file "$WORK/$name.pem" >/dev/null 2>&1
	check_eq "... and the key of its CSR" "$(key_id "$WORK/$name.pem")" "$want_id"
	ids="$ids $want_id"
done

# The built-in responder dies with a killed pass: the CA's validation then
# finds no answer and the order becomes invalid.  The operation still
# completes, with the same key and one version, the order placed again
# (at most twice: never more than three orders).
web_stop
acme_issuer KillListen --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
check_eq "an issuer answering through the built-in responder" "$RC" 0
for n in 1 2; do
	name="r$n"
	acme_policy "$name" "$name.example.com"
	cv certificate create --name "$name" --policy "@$WORK/policy-$name.json" >/dev/null 2>&1
	want_id=$(csr_key_id "$name")
	before=$(new_orders)
	killed=$(kill_at "$name" authorize)
	status=inProgress
	for i in $(seq 1 20); do
		pass_once "$name"
		status=$(op_field "$name" .status)
		[ "$status" = inProgress ] || break
		sleep 0.5
	done
	check_eq "responder killed at authorize (killed at: $killed), the operation completes" \
		"$status" completed
	[ "$status" = completed ] || diag "$(tail -5 "$WORK/passes-$name")"
	orders=$(($(new_orders) - before))
	check "... with one to three orders at Pebble ($orders)" test "$orders" -ge 1 -a "$orders" -le 3
	check_eq "... one certificate version" \
		"$(cv --json certificate list-versions --name "$name" | jq length)" 1
	cv certificate download --name "$name" --file "$WORK/$name.pem" >/dev/null 2>&1
	check_eq "... and the key of its CSR" "$(key_id "$WORK/$name.pem")" "$want_id"
	ids="$ids $want_id"
done

# The token: each certificate, its public key and its one private key under
# the CKA_ID of the CSR's key.
if command -v pkcs11-tool >/dev/null && [ -f "${CERTVAULT_MODULE:-}" ]; then
	pkcs11-tool --module "$CERTVAULT_MODULE" --token-label AcmeToken --login --pin "$PIN" \
		--list-objects >"$WORK/objects" 2>&1
	bad=
	for id in $ids; do
		[ "$(grep -cE "^ *ID: +$id\$" "$WORK/objects")" = 3 ] || bad="$bad $id"
	done
	check_eq "in the token every CSR key's CKA_ID holds a certificate and one key pair" "$bad" ""
	check_eq "... and one private key each" "$(grep -c '^Private Key Object' "$WORK/objects")" \
		"$(echo $ids | wc -w)"
else
	skip "the token's CKA_IDs" "pkcs11-tool or the module missing"
fi
distinct=$(printf '%s\n' $all_killed | grep -v '^-$' | sort -u | wc -l)
check "passes were killed at 3 or more different steps (killed at:$all_killed)" test "$distinct" -ge 3
done_testing
