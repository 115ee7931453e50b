#!/bin/bash
# The LMDB environment under faults: reader slots left taken by processes
# killed inside read transactions are cleared, and a truncated data.mdb is
# refused with one line (never mapped, which would die of SIGBUS), by the
# tool and by the PKCS#11 module.
. "$(dirname "$0")/lib.sh"
need truncate stat
[ -n "${CV_FILL_READERS:-}" ] && [ -x "$CV_FILL_READERS" ] ||
	skip_all "CV_FILL_READERS does not name the fill_readers helper"

make_vault
for n in one two three; do
	run_cv certificate create --name "$n" --policy "$(policy "CN=$n.example")"
	[ "$RC" -eq 0 ] || fail "create $n" "$(cat "$ERR")"
done

# --- stale reader slots ---------------------------------------------------------
# A running application keeps the vault open meanwhile (otherwise the next
# process to open it alone resets the reader table anyway).
"$CV_FILL_READERS" "$VAULT" hold 120 >"$WORK/holder.out" 2>&1 &
HOLDER=$!
stop_holder() {
	kill "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
}
trap 'stop_holder; cleanup' EXIT
for i in $(seq 1 100); do
	grep -q holding "$WORK/holder.out" 2>/dev/null && break
	sleep 0.05
done
run_any "$CV_FILL_READERS" "$VAULT"
check "a process died by SIGKILL holding reader slots" test "$RC" -eq 137
diag "reader slots taken: $(cat "$OUT")"
run_cv certificate list
check "the tool works after every reader slot was left taken" test "$RC" -eq 0
[ "$RC" -eq 0 ] || diag "$(cat "$ERR")"
check "and lists the certificates" grep -q three "$OUT"
# Twice more: the slots of each dead process are reclaimed every time.
"$CV_FILL_READERS" "$VAULT" >/dev/null 2>&1
"$CV_FILL_READERS" "$VAULT" >/dev/null 2>&1
run_cv certificate show --name two
check "and again after two more such processes" test "$RC" -eq 0
stop_holder

# A running application (the module in a process of its own) keeps finding
# its objects after a process died holding every reader slot.
MODULE=${CERTVAULT_MODULE:-}
if [ -n "${CV_P11_APP:-}" ] && [ -x "$CV_P11_APP" ] && [ -n "$MODULE" ] && [ -f "$MODULE" ]; then
	printf 'vault = %s\n' "$VAULT" >"$WORK/app.conf"
	# A crashed application's pipe must not end the test.
	trap '' PIPE
	coproc APP { CERTVAULT_CONF="$WORK/app.conf" exec "$CV_P11_APP" "$MODULE" 2>"$WORK/app.err"; }
	APP_IN=${APP[1]}
	APP_OUT=${APP[0]}
	APP_P=$APP_PID
	trap 'kill "$APP_P" 2>/dev/null; stop_holder; cleanup' EXIT
	ask() {
		echo "$1" 2>/dev/null >&"$APP_IN"
		read -r -t 60 ANSWER <&"$APP_OUT" || ANSWER="no answer"
	}
	read -r -t 60 ANSWER <&"$APP_OUT"
	ask count
	found=$ANSWER
	diag "the application finds $found objects"
	"$CV_FILL_READERS" "$VAULT" >/dev/null 2>&1
	ask count
	check_eq "a running application finds its objects after every reader slot was left taken" \
		"$ANSWER" "$found"
	run_cv certificate create --name four --policy "$(policy "CN=four.example")"
	"$CV_FILL_READERS" "$VAULT" >/dev/null 2>&1
	ask count
	check_eq "and sees a new certificate with the slots taken again" "$ANSWER" $((found + 2))
	echo quit 2>/dev/null >&"$APP_IN"
	wait "$APP_P" 2>/dev/null

	# data.mdb cut short under the running application: errors, no crash.
	cp -a "$VAULT" "$WORK/live"
	printf 'vault = %s\n' "$WORK/live" >"$WORK/app.conf"
	coproc APP { CERTVAULT_CONF="$WORK/app.conf" exec "$CV_P11_APP" "$MODULE" 2>"$WORK/app.err"; }
	APP_IN=${APP[1]}
	APP_OUT=${APP[0]}
	APP_P=$APP_PID
	read -r -t 60 ANSWER <&"$APP_OUT"
	ask count
	check_eq "an application finds the copy's objects" "$ANSWER" $((found + 2))
	truncate -s 12288 "$WORK/live/data.mdb"
	ask count
	check_eq "data.mdb cut short under it: CKR_DEVICE_ERROR" "$ANSWER" "error 0x30"
	check "and the application still runs" kill -0 "$APP_P"
	ask token
	check "and still answers" test "$ANSWER" != "no answer"
	echo quit 2>/dev/null >&"$APP_IN"
	wait "$APP_P" 2>/dev/null
else
	skip "a running application finds its objects" "needs CV_P11_APP and CERTVAULT_MODULE"
fi

# --- truncated data.mdb -------------------------------------------------------------
SIZE=$(stat -c %s "$VAULT/data.mdb")
diag "data.mdb holds $SIZE bytes"
have_p11tool=0
if command -v pkcs11-tool >/dev/null 2>&1 && [ -n "$MODULE" ] && [ -f "$MODULE" ]; then
	have_p11tool=1
fi
for cut in 8192 12288 $((SIZE / 2)); do
	copy="$WORK/cut-$cut"
	mkdir -m 700 "$copy"
	cp "$VAULT/data.mdb" "$copy/data.mdb"
	truncate -s "$cut" "$copy/data.mdb"
	before=$(sha256sum <"$copy/data.mdb")
	run_any "$CERTVAULT" --vault "$copy" certificate list
	if [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
		grep -qF "$copy" "$ERR"; then
		pass "data.mdb cut at $cut bytes: the tool refuses it in one line naming it"
	else
		fail "data.mdb cut at $cut bytes: the tool refuses it in one line naming it" \
			"exit $RC, stderr:" "$(cat "$ERR")"
	fi
	check "data.mdb cut at $cut bytes: left as it was" \
		test "$before" == "$(sha256sum <"$copy/data.mdb")"
	if [ "$have_p11tool" -eq 1 ]; then
		printf 'vault = %s\n' "$copy" >"$WORK/cut.conf"
		run_any env CERTVAULT_CONF="$WORK/cut.conf" CERTVAULT_DEBUG=1 \
			"${P11TOOL[@]}" --module "$MODULE" -L
		if [ "$RC" -lt 128 ] && grep -qF "$copy" "$ERR"; then
			pass "data.mdb cut at $cut bytes: the module lists the slot, logs why, no crash"
		else
			fail "data.mdb cut at $cut bytes: the module lists the slot, logs why, no crash" \
				"exit $RC, stderr:" "$(cat "$ERR")"
		fi
		run_any env CERTVAULT_CONF="$WORK/cut.conf" \
			"${P11TOOL[@]}" --module "$MODULE" --slot-index 0 -O
		check "data.mdb cut at $cut bytes: listing objects fails without a crash" \
			test "$RC" -ne 0 -a "$RC" -lt 128
	else
		skip "data.mdb cut at $cut bytes: the module" "needs pkcs11-tool and CERTVAULT_MODULE"
	fi
done

done_testing
