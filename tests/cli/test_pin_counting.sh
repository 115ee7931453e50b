#!/bin/bash
# Wrong PINs are counted before they are checked: bursts of concurrent
# logins and a login killed inside the KDF never get more guesses than the
# limit (10), and the right PIN after a burst finds the PIN locked.
. "$(dirname "$0")/lib.sh"
need kill

LIMIT=10

# One login attempt: secret download logs in first, then finds no such
# certificate.  The answer goes to $WORK/burst/N.err.
guess() {
	CERTVAULT_PIN=$2 "$CERTVAULT" --vault "$VAULT" \
		secret download --name no-such-cert --file "$WORK/burst/$1.out" \
		>/dev/null 2>"$WORK/burst/$1.err"
}

# burst N: N wrong PINs at once; prints how many were checked (answered
# "incorrect") and how many were refused as locked.
burst() {
	local n=$1 i pids=()
	rm -rf "$WORK/burst"
	mkdir -p "$WORK/burst"
	for i in $(seq 1 "$n"); do
		guess "$i" "wrong-pin-$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	BURST_INCORRECT=$(cat "$WORK"/burst/*.err | grep -c 'incorrect')
	BURST_LOCKED=$(cat "$WORK"/burst/*.err | grep -c 'locked')
}

failed_tries() {
	cv vault show --json | jq -r .userPin.failedTries
}

right_pin_is_locked() {
	run_cv secret download --name no-such-cert --file "$WORK/probe.out"
	[ "$RC" -ne 0 ] && grep -q 'locked' "$ERR"
}

# --- 9 counted, then a burst of 40 ------------------------------------------
make_vault
mkdir -p "$WORK/burst"
for i in $(seq 1 $((LIMIT - 1))); do
	guess "s$i" "wrong-pin-s$i"
done
check_eq "nine wrong PINs counted one by one" "$(failed_tries)" $((LIMIT - 1))
burst 40
check "after 9 counted, a burst of 40 gets at most one more guess checked" \
	test "$BURST_INCORRECT" -le 1
diag "checked: $BURST_INCORRECT, refused as locked: $BURST_LOCKED"
check_eq "the others of the burst are refused as locked" "$BURST_LOCKED" $((40 - BURST_INCORRECT))
check_eq "the failure count is the limit" "$(failed_tries)" $LIMIT
check "the right PIN after the burst is refused as locked" right_pin_is_locked

# --- a burst of 100 from zero -------------------------------------------------
rm -rf "$VAULT"
make_vault
burst 100
check "from zero, a burst of 100 gets at most $LIMIT guesses checked" \
	test "$BURST_INCORRECT" -le $LIMIT
diag "checked: $BURST_INCORRECT, refused as locked: $BURST_LOCKED"
check_eq "the failure count is the limit" "$(failed_tries)" $LIMIT
check "the right PIN after the burst is refused as locked" right_pin_is_locked

# --- a guess killed inside the KDF ----------------------------------------------
# scrypt (N=2^15, r=8) fills 32 MiB as it runs, so a resident size past
# 20 MiB means the process is deriving the key from the PIN.
rm -rf "$VAULT"
make_vault
in_kdf() {
	local k v _
	while read -r k v _; do
		[ "$k" = VmRSS: ] && [ "$v" -gt 20000 ] && return 0
	done 2>/dev/null <"/proc/$1/status"
	return 1
}
killed=0
for attempt in 1 2 3 4 5; do
	mkdir -p "$WORK/burst"
	# exec: $! is then certvault itself.
	(exec env CERTVAULT_PIN="wrong-pin-kill-$attempt" "$CERTVAULT" --vault "$VAULT" \
		secret download --name no-such-cert --file "$WORK/burst/kill.out" \
		>/dev/null 2>&1) &
	pid=$!
	for i in $(seq 1 5000); do
		if in_kdf "$pid"; then
			kill -KILL "$pid" 2>/dev/null && killed=1
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
	done
	wait "$pid" 2>/dev/null
	[ "$killed" -eq 1 ] && break
	# The guess ended before it was caught in the KDF: start again
	# from a fresh vault.
	rm -rf "$VAULT"
	make_vault
done
if [ "$killed" -eq 1 ]; then
	check_eq "a guess killed with SIGKILL inside the KDF was counted" "$(failed_tries)" 1
else
	fail "a guess killed with SIGKILL inside the KDF was counted" \
		"no guess was caught inside the KDF in 5 attempts"
fi

done_testing
