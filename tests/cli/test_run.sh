#!/bin/bash
# certvault run and --wait without a CA: bad flags refused in one line with
# the vault as it was; a pass leaves an operation only a merge can end
# untouched (not even claimed); --wait is bounded by --timeout and says the
# operation is still in progress; a certificate signed at once needs no
# waiting.  (Against a CA: tests/acme/test_acme_run.sh.)
. "$(dirname "$0")/lib.sh"

make_vault
run_cv certificate create --name manual --policy "$(policy CN=manual Unknown)"
check_eq "an operation only a merge can end" "$RC" 0
P=$(policy CN=self)

expect_fail_with "run --interval 0" "--interval is seconds, 1 to 86400, not '0'" run --interval 0
expect_fail_with "run --interval abc" "--interval is seconds" run --interval abc
expect_fail_with "run with an argument" "unexpected argument 'now'" run --once now
expect_fail_with "create --timeout without --wait" "--timeout goes with --wait" \
	certificate create --name t --policy "$P" --timeout 5
expect_fail_with "create --wait --timeout too long" "--timeout is seconds, 1 to 86400" \
	certificate create --name t --policy "$P" --wait --timeout 86401
expect_fail_with "pending show --timeout without --wait" "--timeout goes with --wait" \
	certificate pending show --name manual --timeout 5
expect_fail_with "pending show --wait --timeout -1" "--timeout is seconds" \
	certificate pending show --name manual --wait --timeout -1
expect_fail_with "pending show --wait on a name with no operation" \
	"has no pending operation" certificate pending show --name nosuch --wait --timeout 5
check_eq "... exits 3 (not found)" "$RC" 3

# A pass has nothing to do for an operation a merge ends: it does not even
# claim it (the vault is byte for byte as it was).
before=$(vault_dump)
run_cv run --once
check_eq "run --once with only a merge to wait for exits 0" "$RC" 0
check_eq "... prints nothing" "$(cat "$OUT" "$ERR")" ""
check_eq "... and writes nothing" "$(vault_dump)" "$before"

# --wait on it is bounded, and says so.
before=$(vault_dump)
run_cv --json certificate pending show --name manual --wait --timeout 1
check_eq "pending show --wait past its timeout exits 1" "$RC" 1
check_eq "... with one line saying it is still in progress" \
	"$(cat "$ERR")" "certvault: the operation of manual is still in progress after 1 s (waiting for a merge)"
check_eq "... having printed the operation as pending show does" "$(jout .status)" inProgress
check_eq "... and the vault as it was" "$(vault_dump)" "$before"

# A wrong PIN: refused before any pass.
CERTVAULT_PIN=wrong-pin-0000 run_cv run --once
check_eq "run --once with a wrong PIN exits 1" "$RC" 1
check_eq "... in one line" "$(wc -l <"$ERR")" 1

# Signed at once (issuer Self): --wait has nothing to wait for.
run_cv --json certificate create --name self --policy "$P" --wait --timeout 5
check_eq "create --wait of a self-signed certificate exits 0" "$RC" 0
check_eq "... printing the operation completed" "$(jout .status)" completed

# An ACME operation whose issuer was deleted: the pass says so in one line
# and exits 1, and the operation waits, in progress, for the issuer to come
# back.  With it back and its CA not answering (nothing listens on port 1),
# the operation waits for its next attempt.
printf 'aGVsbG8' >"$WORK/hmac"
chmod 600 "$WORK/hmac"
acme_issuer() {
	run_cv issuer create --name Gone --provider ACME --directory-url https://127.0.0.1:1/dir \
		--account-id kid --password-file "$WORK/hmac" --http-listen 127.0.0.1:1
}
acme_issuer
check_eq "an ACME issuer whose CA is not there" "$RC" 0
run_cv certificate create --name acme --policy "$(policy CN=acme.example.com Gone)"
check_eq "... a certificate ordered through it" "$RC" 0
cv issuer delete --name Gone >/dev/null
run_cv run --once
check_eq "a pass over an operation whose issuer is gone exits 1" "$RC" 1
check_eq "... saying so in one line" "$(cat "$OUT")" "acme: error: issuer: issuer 'Gone' was not found"
check_eq "... the operation still in progress" \
	"$(cv --json certificate pending show --name acme | jq -r .status)" inProgress
acme_issuer
run_cv run --once
check_eq "with the issuer back and its CA down, a pass exits 0" "$RC" 0
check_grep_out() { grep -qE -- "$1" "$OUT"; }
check "... the operation waits for its next attempt" check_grep_out '^acme: .*waiting until [0-9T:-]+Z$'
check_eq "... still in progress" \
	"$(cv --json certificate pending show --name acme | jq -r .status)" inProgress

# A service pass with nothing to do, stopped by SIGTERM.
"$CERTVAULT" --vault "$VAULT" run --interval 1 >"$WORK/svc.out" 2>"$WORK/svc.err" &
pid=$!
sleep 1.5
kill -TERM "$pid"
for i in $(seq 1 50); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$pid" 2>/dev/null
wait "$pid"
check_eq "certvault run ends with status 0 on SIGTERM" "$?" 0
done_testing
