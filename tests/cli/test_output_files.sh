#!/bin/bash
# Output and input files.  --overwrite replaces a regular file (through a
# temporary file and a rename) and nothing else: a FIFO or a character
# device is written in place and stays what it was; a symbolic link, a
# folder, a block device or a socket is refused.  `-` is standard output
# where a file is written and standard input where one is read.  Files that
# hold a secret are made 0600 whatever the umask.
#
# Every special file here is made inside the test's own folder: the FIFO
# with mkfifo, the character device with mknod as a copy of /dev/null's
# numbers (1,3).  Every command that could block on a FIFO runs under
# timeout, and every reader is bounded.
. "$(dirname "$0")/lib.sh"
need stat timeout mkfifo

make_vault files
expect_ok "create web" certificate create --name web --policy "$(policy CN=web)"

# A secret written to a FIFO: a bounded reader takes it, and the FIFO is
# still a FIFO afterwards.
mkfifo "$WORK/fifo"
timeout 20 cat "$WORK/fifo" >"$WORK/fifo.got" &
reader=$!
run_any timeout 20 "$CERTVAULT" --vault "$VAULT" secret download --name web \
	--file "$WORK/fifo" --overwrite
wait "$reader"
check_eq "secret download --overwrite to a FIFO: exit 0" "$RC" 0
check_eq "the FIFO is still a FIFO" "$(stat -c %F "$WORK/fifo")" "fifo"
check "the reader got the secret through the FIFO" \
	grep -q -- '-----BEGIN CERTIFICATE-----' "$WORK/fifo.got"

# Without --overwrite an existing FIFO is refused, without opening it.
run_any timeout 20 "$CERTVAULT" --vault "$VAULT" secret download --name web \
	--file "$WORK/fifo"
check "a FIFO without --overwrite is refused in one line" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'already exists' "$ERR")"
check_eq "the FIFO is still a FIFO after the refusal" "$(stat -c %F "$WORK/fifo")" "fifo"

# A character device: a copy of /dev/null made in the test's folder.
if [ "$(id -u)" -eq 0 ] && mknod "$WORK/null" c 1 3 2>/dev/null; then
	run_cv secret download --name web --file "$WORK/null" --overwrite
	check_eq "secret download --overwrite to a character device: exit 0" "$RC" 0
	check_eq "the device is still a character device" \
		"$(stat -c %F "$WORK/null")" "character special file"
	check_eq "the device keeps its numbers" "$(stat -c %t,%T "$WORK/null")" "1,3"
	run_cv certificate download --name web --file "$WORK/null" --overwrite
	check_eq "certificate download to it: still a character device" \
		"$(stat -c %F "$WORK/null")" "character special file"
else
	skip "secret download --overwrite to a character device" "needs root and mknod"
	skip "the device is still a character device" "needs root and mknod"
	skip "the device keeps its numbers" "needs root and mknod"
	skip "certificate download to it: still a character device" "needs root and mknod"
fi

# A symbolic link to another file of the test: refused, link and target
# left as they were.
echo "the target" >"$WORK/target.txt"
ln -s target.txt "$WORK/link.pem"
expect_fail_with "--overwrite of a symbolic link" "symbolic link" \
	secret download --name web --file "$WORK/link.pem" --overwrite
check "the link is still a link" test -L "$WORK/link.pem"
check_eq "the link's target is untouched" "$(cat "$WORK/target.txt")" "the target"
ln -s no-such-file "$WORK/dangling.pem"
expect_fail_with "--overwrite of a dangling symbolic link" "symbolic link" \
	certificate download --name web --file "$WORK/dangling.pem" --overwrite
check "nothing was made behind the dangling link" test ! -e "$WORK/no-such-file"

# A folder: refused, nothing written into or over it.
mkdir "$WORK/adir"
expect_fail_with "--overwrite of a folder" "folder" \
	secret download --name web --file "$WORK/adir" --overwrite
check "the folder is still a folder" test -d "$WORK/adir"

# A socket: refused.
if /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
	"$WORK/sock" 2>/dev/null; then
	expect_fail_with "--overwrite of a socket" "socket" \
		secret download --name web --file "$WORK/sock" --overwrite
	check "the socket is still a socket" test -S "$WORK/sock"
else
	skip "--overwrite of a socket" "python3 could not make a socket"
	skip "the socket is still a socket" "python3 could not make a socket"
fi

# A regular file: replaced, with the new mode.
echo old >"$WORK/old.pem"
chmod 644 "$WORK/old.pem"
expect_ok "--overwrite of a regular file" secret download --name web \
	--file "$WORK/old.pem" --overwrite
check "the file holds the secret now" grep -q -- '-----BEGIN CERTIFICATE-----' "$WORK/old.pem"
check_eq "the replaced secret file is 0600" "$(stat -c %a "$WORK/old.pem")" 600
check_eq "no temporary file is left" "$(find "$WORK" -maxdepth 1 -name '*.tmp-*' | wc -l)" 0

# Secrets are 0600 whatever the umask; certificates 0644.
(umask 000 && cv secret download --name web --file "$WORK/open.pem" >/dev/null 2>&1)
check_eq "a secret written under umask 000 is 0600" "$(stat -c %a "$WORK/open.pem")" 600
(umask 000 && cv certificate download --name web --file "$WORK/cert.pem" >/dev/null 2>&1)
check_eq "a certificate written under umask 000 is 0644" "$(stat -c %a "$WORK/cert.pem")" 644
expect_fail_with "an existing file without --overwrite" "already exists" \
	secret download --name web --file "$WORK/open.pem"

# `-` is standard output.
run_cv secret download --name web --file -
check_eq "secret download --file -: exit 0" "$RC" 0
check "secret download --file - prints the secret" \
	grep -q -- '-----BEGIN CERTIFICATE-----' "$OUT"
check "no file named - was made" test ! -e "$WORK/-"
run_cv certificate download --name web --file - --encoding DER
check "certificate download --file - --encoding DER prints DER" \
	openssl x509 -inform DER -in "$OUT" -noout

# `-` is standard input: an import, a policy, a password.
cv secret download --name web --file "$WORK/web.pfx" --format pfx \
	--password pfx-pass >/dev/null 2>&1
fresh_vault fromstdin
run_any "$CERTVAULT" --vault "$VAULT" certificate import --name fromstdin \
	--file - --password pfx-pass <"$WORK/web.pfx"
check_eq "certificate import --file - reads standard input" "$RC" 0
policy CN=stdinpolicy >"$WORK/p.json"
run_any "$CERTVAULT" --vault "$VAULT" certificate create --name stdinpolicy \
	--policy @- <"$WORK/p.json"
check_eq "certificate create --policy @- reads standard input" "$RC" 0
printf 'pfx-pass\n' >"$WORK/pw.txt"
fresh_vault pwstdin
run_any "$CERTVAULT" --vault "$VAULT" certificate import --name pwstdin \
	--file "$WORK/web.pfx" --password-file - <"$WORK/pw.txt"
check_eq "--password-file - reads standard input" "$RC" 0
printf '%s\n' "$CERTVAULT_PIN" >"$WORK/pin.txt"
run_any env -u CERTVAULT_PIN "$CERTVAULT" --vault "$VAULT" secret download --name pwstdin \
	--file "$WORK/pinstdin.pem" --pin-file - <"$WORK/pin.txt"
check_eq "--pin-file - reads the PIN from standard input" "$RC" 0
before=$(vault_dump)
run_any "$CERTVAULT" --vault "$VAULT" certificate import --name twice \
	--file - --password-file - <"$WORK/web.pfx"
check "standard input named twice is refused in one line" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'standard input' "$ERR")"
check_eq "standard input named twice: vault unchanged" "$(vault_dump)" "$before"

done_testing
