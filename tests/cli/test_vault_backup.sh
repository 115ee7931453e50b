#!/bin/bash
# vault backup: a consistent copy of the whole vault, taken while the tool
# writes and an application signs, that opens as a vault with the same PINs.
. "$(dirname "$0")/lib.sh"

make_vault
for n in 1 2 3; do
	run_cv certificate create --name "before-$n" --policy "$(policy "CN=before-$n.example")"
done

# --- bad inputs: one line, non-zero, vault unchanged, nothing written ----
echo keep >"$WORK/existing"
expect_fail_with "an existing file" "already exists; use --overwrite" \
	vault backup --file "$WORK/existing"
check_eq "and the existing file is untouched" "$(cat "$WORK/existing")" keep
mkdir "$WORK/folder"
expect_fail_with "a folder, with --overwrite" "is a folder" \
	vault backup --file "$WORK/folder" --overwrite
# A special file, made in the test's folder: a FIFO stands for /dev/null
# and its kind, which no test may name as an output file.
mkfifo "$WORK/fifo"
expect_fail_with "a FIFO" "already exists; use --overwrite" \
	vault backup --file "$WORK/fifo"
expect_fail_with "a FIFO, with --overwrite" "not a regular file" \
	vault backup --file "$WORK/fifo" --overwrite
check "and the FIFO is still a FIFO" test -p "$WORK/fifo"
expect_fail_with "a missing folder" "No such file or directory" \
	vault backup --file "$WORK/missing/backup"
check "and no folder was made" test ! -e "$WORK/missing"
ln -s "$WORK/existing" "$WORK/link"
expect_fail_with "a symbolic link, with --overwrite" "symbolic link" \
	vault backup --file "$WORK/link" --overwrite
check_eq "and the link's target is untouched" "$(cat "$WORK/existing")" keep
expect_fail_with "a file in the vault's own folder" "vault's own folder" \
	vault backup --file "$VAULT/copy.mdb"
expect_fail_with "data.mdb itself, with --overwrite" "vault's own folder" \
	vault backup --file "$VAULT/data.mdb" --overwrite
expect_usage "standard output" "not standard output" vault backup --file -
expect_usage "no --file" "--file is required" vault backup
check_eq "no temporary file is left behind" \
	"$(find "$WORK" "$VAULT" -name '*.tmp-*' | wc -l)" 0

# --- a quiet vault: the copy is the vault -----------------------------------
expect_ok "vault backup of a quiet vault" vault backup --file "$WORK/quiet.mdb" --json
check_eq "it reports the file" "$(jout .file)" "$WORK/quiet.mdb"
check_eq "the copy is mode 0600" "$(stat -c %a "$WORK/quiet.mdb")" 600
mkdir -m 700 "$WORK/quiet"
cp "$WORK/quiet.mdb" "$WORK/quiet/data.mdb"
# maxreaders comes from whichever process made lock.mdb, not from data.mdb.
records() {
	vault_dump "$1" | grep -v '^maxreaders='
}
check_eq "the copy holds every record of the vault (mdb_dump)" \
	"$(records "$WORK/quiet")" "$(records "$VAULT")"
echo stale >"$WORK/replace"
chmod 644 "$WORK/replace"
expect_ok "--overwrite replaces a regular file" \
	vault backup --file "$WORK/replace" --overwrite
check_eq "which is then mode 0600" "$(stat -c %a "$WORK/replace")" 600

# --- a busy vault: backup while certificates are created and a key signs ----
MODULE=${CERTVAULT_MODULE:-}
: >"$WORK/made"
(
	for n in $(seq 1 12); do
		if cv certificate create --name "loop-$n" \
			--policy "$(policy "CN=loop-$n.example")" >/dev/null 2>&1; then
			echo "loop-$n" >>"$WORK/made"
		fi
	done
) &
LOOP=$!
have_app=0
if [ -n "${CV_P11_APP:-}" ] && [ -x "$CV_P11_APP" ] && [ -n "$MODULE" ] && [ -f "$MODULE" ]; then
	have_app=1
	printf 'vault = %s\n' "$VAULT" >"$WORK/app.conf"
	trap '' PIPE
	coproc APP { CERTVAULT_CONF="$WORK/app.conf" exec "$CV_P11_APP" "$MODULE" 2>"$WORK/app.err"; }
	APP_IN=${APP[1]}
	APP_OUT=${APP[0]}
	APP_P=$APP_PID
	trap 'kill "$APP_P" "$LOOP" 2>/dev/null; cleanup' EXIT
	read -r -t 60 ANSWER <&"$APP_OUT"
fi
# Wait (bounded) until the loop has committed something, so the copy is
# taken with writers running.
for _ in $(seq 1 600); do
	[ -s "$WORK/made" ] && break
	sleep 0.1
done
[ "$have_app" -eq 1 ] && echo "sign 500 $CERTVAULT_PIN" >&"$APP_IN"
before=$(cv certificate list --json | jq -r '.[].name' | sort)
diag "before the backup: $(echo $before)"
run_cv vault backup --file "$WORK/busy.mdb"
check "vault backup while the tool writes and an application signs" test "$RC" -eq 0
kill -0 "$LOOP" 2>/dev/null && diag "the create loop was still running after the backup"
if [ "$have_app" -eq 1 ]; then
	read -r -t 120 ANSWER <&"$APP_OUT" || ANSWER="no answer"
	check_eq "every signature beside the backup succeeded" "$ANSWER" "signed 500"
fi
wait "$LOOP"
diag "the loop made $(wc -l <"$WORK/made") certificates"

mkdir -m 700 "$WORK/busy"
cp "$WORK/busy.mdb" "$WORK/busy/data.mdb"
check "mdb_dump reads every table of the copy" mdb_dump -a "$WORK/busy"
check "mdb_stat finds the copy consistent" mdb_stat -a "$WORK/busy"
copy=$("$CERTVAULT" --vault "$WORK/busy" certificate list --json | jq -r '.[].name' | sort)
missing=$(comm -23 <(printf '%s\n' "$before") <(printf '%s\n' "$copy"))
check_eq "the copy lists every certificate committed before the backup began" "$missing" ""
for name in $copy; do
	if ! "$CERTVAULT" --vault "$WORK/busy" certificate show --name "$name" >/dev/null 2>&1; then
		fail "every certificate the copy lists shows" "$name"
	fi
done
check "the copy logs in with the same PIN and takes a change" \
	"$CERTVAULT" --vault "$WORK/busy" certificate create --name after \
	--policy "$(policy "CN=after.example")"
if [ "$have_app" -eq 1 ]; then
	printf 'vault = %s\n' "$WORK/busy" >"$WORK/app.conf"
	echo quit >&"$APP_IN"
	wait "$APP_P" 2>/dev/null
	coproc APP { CERTVAULT_CONF="$WORK/app.conf" exec "$CV_P11_APP" "$MODULE" 2>"$WORK/app.err"; }
	APP_IN=${APP[1]}
	APP_OUT=${APP[0]}
	APP_P=$APP_PID
	read -r -t 60 ANSWER <&"$APP_OUT"
	echo "sign 1 $CERTVAULT_PIN" >&"$APP_IN"
	read -r -t 60 ANSWER <&"$APP_OUT" || ANSWER="no answer"
	check_eq "an application signs with the copy's keys after logging in with the same PIN" \
		"$ANSWER" "signed 1"
	echo quit >&"$APP_IN"
	wait "$APP_P" 2>/dev/null
else
	skip "an application signs with the copy's keys" "needs CV_P11_APP and CERTVAULT_MODULE"
fi
run_any "$CERTVAULT" --vault "$WORK/busy" certificate create --name wrong \
	--policy "$(policy "CN=wrong.example")" --pin-file <(echo not-the-pin-9)
check "and refuses another PIN" test "$RC" -ne 0

done_testing
