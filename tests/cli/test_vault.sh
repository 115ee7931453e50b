#!/bin/bash
# The vault: create, permissions, show, wrong PINs counted and the lock after
# ten, init-pin by the SO, set-pin for the user and the SO.
. "$(dirname "$0")/lib.sh"
need stat setsid

# A cheap probe of a login: secret download logs in first, then finds no
# such certificate.  Right PIN: "not found"; wrong: "incorrect PIN".
WRONG_PIN='incorrect( user| SO)? PIN'
login_probe() {
	run_cv secret download --name no-such-cert --file "$WORK/probe.out"
}

# --- create ---------------------------------------------------------------
expect_ok "vault create" vault create --name alpha
check_eq "vault folder is 0700" "$(stat -c %a "$VAULT")" 700
check_eq "data.mdb is 0600" "$(stat -c %a "$VAULT/data.mdb")" 600
if [ -e "$VAULT/lock.mdb" ]; then
	check_eq "lock.mdb is 0600" "$(stat -c %a "$VAULT/lock.mdb")" 600
else
	skip "lock.mdb is 0600" "no lock file"
fi
expect_fail_with "create over an existing vault" "already" \
	vault create --name beta

run_any "$CERTVAULT" --vault "$WORK/v-badname" vault create --name 'bad_name!'
check "bad vault name refused in one line" \
	test "$RC" -ne 0 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'names may only contain' "$ERR")"
check "bad vault name: no vault made" test ! -e "$WORK/v-badname/data.mdb"
run_any env CERTVAULT_PIN=12 "$CERTVAULT" --vault "$WORK/v-short" vault create --name short
check "a 2-byte PIN is refused" \
	test "$RC" -ne 0 -a -n "$(grep -F '4 to 255' "$ERR")"
check "short PIN: no vault made" test ! -e "$WORK/v-short/data.mdb"
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$WORK/v-nopin" vault create --name nopin
check "no PIN and no terminal: one clear line, exit 1" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'no PIN given' "$ERR")"
check "no PIN: no vault made" test ! -e "$WORK/v-nopin/data.mdb"

# PIN files: first line, line ending stripped.
printf 'file-pin-0001\nsecond line ignored\n' >"$WORK/user.pin"
printf 'file-so-pin-02\r\n' >"$WORK/so.pin"
run_any env -u CERTVAULT_PIN -u CERTVAULT_SO_PIN "$CERTVAULT" --vault "$WORK/v-files" \
	vault create --name files --pin-file "$WORK/user.pin" --so-pin-file "$WORK/so.pin"
check "create with --pin-file and --so-pin-file" test "$RC" -eq 0
run_any env CERTVAULT_PIN=file-pin-0001 "$CERTVAULT" --vault "$WORK/v-files" \
	secret download --name none --file "$WORK/p.out"
check "the file's first line is the user PIN" grep -qF 'not found' "$ERR"
run_any env CERTVAULT_SO_PIN=file-so-pin-02 CERTVAULT_NEW_PIN=file-pin-0001 \
	"$CERTVAULT" --vault "$WORK/v-files" vault init-pin
check "CR LF is stripped from the SO PIN file" test "$RC" -eq 0

# --- show -------------------------------------------------------------------
expect_ok "vault show" vault show
check "vault show prints the name" grep -qE '^name: +alpha$' "$OUT"
run_cv vault show --json
check_eq "show --json: name" "$(jout .name)" alpha
check_eq "show --json: folder" "$(jout .folder)" "$VAULT"
check "show --json: 16 hex digit serial" bash -c "[[ '$(jout .serial)' =~ ^[0-9a-f]{16}$ ]]"
check "show --json: created is ISO 8601 UTC" \
	bash -c "[[ '$(jout .created)' =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\+00:00$ ]]"
check_eq "show --json: no failed tries" "$(jout .userPin.failedTries)" 0

# --- wrong PINs ---------------------------------------------------------------
login_probe
check "right PIN logs in" grep -qF 'not found' "$ERR"
CERTVAULT_PIN=wrong-pin-0 login_probe
check "wrong PIN: incorrect PIN, exit 1" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -E "$WRONG_PIN" "$ERR")"
run_cv vault show --json
check_eq "the wrong PIN was counted" "$(jout .userPin.failedTries)" 1
login_probe
run_cv vault show --json
check_eq "a right PIN resets the count" "$(jout .userPin.failedTries)" 0

for i in 1 2 3 4 5 6 7 8 9; do
	CERTVAULT_PIN=wrong-pin-$i login_probe
done
run_cv vault show --json
check_eq "nine wrong PINs counted" "$(jout .userPin.failedTries)" 9
check_eq "not locked after nine" "$(jout .userPin.locked)" false
CERTVAULT_PIN=wrong-pin-10 login_probe
run_cv vault show --json
check_eq "locked after ten wrong PINs" "$(jout .userPin.locked)" true
login_probe
check "a locked PIN refuses even the right PIN" \
	test "$RC" -eq 1 -a -n "$(grep -F 'locked' "$ERR")"

# --- init-pin -------------------------------------------------------------------
CERTVAULT_SO_PIN=wrong-so-pin CERTVAULT_NEW_PIN=new-user-pin-1 run_cv vault init-pin
check "init-pin with a wrong SO PIN is refused" \
	test "$RC" -eq 1 -a -n "$(grep -E "$WRONG_PIN" "$ERR")"
CERTVAULT_NEW_PIN=new-user-pin-1 run_cv vault init-pin
check "init-pin by the SO" test "$RC" -eq 0
run_cv vault show --json
check_eq "init-pin unlocks the user PIN" "$(jout .userPin.locked)" false
CERTVAULT_PIN=new-user-pin-1 login_probe
check "the new user PIN logs in" grep -qF 'not found' "$ERR"
login_probe
check "the old user PIN no longer does" grep -qE "$WRONG_PIN" "$ERR"

# --- set-pin ----------------------------------------------------------------------
printf 'new-user-pin-1\n' >"$WORK/old.pin"
printf 'new-user-pin-2\n' >"$WORK/new.pin"
run_cv vault set-pin --pin-file "$WORK/old.pin" --new-pin-file "$WORK/new.pin"
check "set-pin with --pin-file and --new-pin-file" test "$RC" -eq 0
CERTVAULT_PIN=new-user-pin-2 login_probe
check "set-pin: the new PIN logs in" grep -qF 'not found' "$ERR"
CERTVAULT_PIN=new-user-pin-1 login_probe
check "set-pin: the old PIN does not" grep -qE "$WRONG_PIN" "$ERR"
CERTVAULT_PIN=new-user-pin-2 CERTVAULT_NEW_PIN=new-user-pin-3 run_cv vault set-pin
check "set-pin with CERTVAULT_NEW_PIN" test "$RC" -eq 0
CERTVAULT_PIN=nope-nope CERTVAULT_NEW_PIN=new-user-pin-4 run_cv vault set-pin
check "set-pin with a wrong old PIN is refused" \
	test "$RC" -eq 1 -a -n "$(grep -E "$WRONG_PIN" "$ERR")"
CERTVAULT_PIN=new-user-pin-3 CERTVAULT_NEW_PIN=ab run_cv vault set-pin
check "set-pin to a 2-byte PIN is refused" \
	test "$RC" -eq 1 -a -n "$(grep -F '4 to 255' "$ERR")"
CERTVAULT_PIN=new-user-pin-3 login_probe
check "a refused set-pin keeps the PIN" grep -qF 'not found' "$ERR"

CERTVAULT_NEW_PIN=new-so-pin-9 run_cv vault set-pin --so
check "set-pin --so" test "$RC" -eq 0
CERTVAULT_SO_PIN=new-so-pin-9 CERTVAULT_NEW_PIN=new-user-pin-5 run_cv vault init-pin
check "the new SO PIN works for init-pin" test "$RC" -eq 0
CERTVAULT_NEW_PIN=new-user-pin-6 run_cv vault init-pin
check "the old SO PIN does not" grep -qE "$WRONG_PIN" "$ERR"

# --- permissions ------------------------------------------------------------------
chmod 0777 "$VAULT"
run_cv vault show
check "a vault folder others may write is refused" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1
chmod 0700 "$VAULT"
run_cv vault show
check "and opens again once 0700" test "$RC" -eq 0

done_testing
