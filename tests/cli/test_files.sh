#!/bin/bash
# Whose files a vault may be made of: the folder, data.mdb and lock.mdb
# belong to the caller or root, are no symbolic links and are not writable
# by others; the folder's parent is not writable by others unless sticky;
# config files likewise.  README's group-shared recipe keeps working.  Each
# refusal is one line naming the path and why, and leaves everything as it
# was.  Acting as other users (nobody, www-data) needs root.
. "$(dirname "$0")/lib.sh"
need setpriv sha256sum getent
[ "$(id -u)" -eq 0 ] || skip_all "acting as another user needs root"
getent passwd nobody >/dev/null || skip_all "user nobody missing"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
NOGROUP=$(id -gn nobody)

# Others must reach the test's folder to act in it.
chmod 711 "$WORK"
make_vault
run_cv certificate create --name web --policy "$(policy CN=web.example)"
[ "$RC" -eq 0 ] || fail "create web" "$(cat "$ERR")"

as_user() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
}

sum_of() {
	sha256sum <"$1"
}

# A fresh copy of the test vault in DIR (made by root, 0700).
copy_vault() {
	rm -rf "$1"
	mkdir -p "$(dirname "$1")"
	cp -a "$VAULT" "$1"
}

# refused TEXT WANT PATH CMD...: non-zero exit (no signal), one line on
# stderr naming PATH and holding WANT.
refused() {
	local text=$1 want=$2 path=$3
	shift 3
	run_any "$@"
	if [ "$RC" -ne 0 ] && [ "$RC" -lt 128 ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
		grep -qF -- "$path" "$ERR" && grep -qF -- "$want" "$ERR"; then
		pass "$text: refused in one line naming $path"
	else
		fail "$text: refused in one line naming $path" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
}

# --- another user's folder and files, opened as root ----------------------------
V="$WORK/others/v1"
copy_vault "$V"
chown -R nobody:"$NOGROUP" "$V"
before=$(sum_of "$V/data.mdb")
refused "a vault folder of another user" "another user" "$V" \
	"$CERTVAULT" --vault "$V" certificate list
check_eq "that vault is left as it was" "$(sum_of "$V/data.mdb")" "$before"

V="$WORK/others/v2"
copy_vault "$V"
chown nobody:"$NOGROUP" "$V/data.mdb"
before=$(sum_of "$V/data.mdb")
refused "a data.mdb of another user" "another user" "$V/data.mdb" \
	"$CERTVAULT" --vault "$V" certificate list
check_eq "that data.mdb is left as it was" "$(sum_of "$V/data.mdb")" "$before"

V="$WORK/others/v3"
copy_vault "$V"
chown nobody:"$NOGROUP" "$V/lock.mdb"
refused "a lock.mdb of another user" "another user" "$V/lock.mdb" \
	"$CERTVAULT" --vault "$V" certificate list

# --- a folder anyone may write ------------------------------------------------------
mkdir -p "$WORK/public"
chmod 0777 "$WORK/public"
V="$WORK/public/v"
copy_vault "$V"
refused "a vault in a folder anyone may write" "not sticky" "$V" \
	"$CERTVAULT" --vault "$V" certificate list
chmod 1777 "$WORK/public"
run_any "$CERTVAULT" --vault "$V" certificate list
check "the same in a sticky folder (as /tmp) opens" test "$RC" -eq 0
run_any "$CERTVAULT" --vault "$WORK/public/w" vault create --name w
check "vault create in a sticky folder works" test "$RC" -eq 0
chmod 0777 "$WORK/public"
refused "vault create in a folder anyone may write" "not sticky" "$WORK/public/x" \
	"$CERTVAULT" --vault "$WORK/public/x" vault create --name x
check "and makes nothing there" test ! -e "$WORK/public/x/data.mdb"
chmod 0755 "$WORK/public"

# --- symbolic links ---------------------------------------------------------------------
V="$WORK/links/v1"
copy_vault "$V"
mv "$V/data.mdb" "$WORK/links/real.mdb"
ln -s "$WORK/links/real.mdb" "$V/data.mdb"
before=$(sum_of "$WORK/links/real.mdb")
refused "a symbolic link as data.mdb" "symbolic link" "$V/data.mdb" \
	"$CERTVAULT" --vault "$V" certificate list
check_eq "its target is left as it was" "$(sum_of "$WORK/links/real.mdb")" "$before"

ln -s "$VAULT" "$WORK/links/v2"
refused "a symbolic link as the vault folder" "symbolic link" "$WORK/links/v2" \
	"$CERTVAULT" --vault "$WORK/links/v2" certificate list
refused "the same named with a trailing slash" "symbolic link" "$WORK/links/v2" \
	"$CERTVAULT" --vault "$WORK/links/v2/" certificate list

# Another user's folder whose lock.mdb points at a file of root's: opening
# it as root must not write through the link.
printf 'a file of root, not to be overwritten\n' >"$WORK/root-file"
chmod 600 "$WORK/root-file"
before=$(sum_of "$WORK/root-file")
V="$WORK/links/v3"
copy_vault "$V"
rm -f "$V/lock.mdb"
ln -s "$WORK/root-file" "$V/lock.mdb"
chown -R -h nobody:"$NOGROUP" "$V"
refused "certificate list as root on another user's folder" "another user" "$V" \
	"$CERTVAULT" --vault "$V" certificate list
check_eq "the symlinked lock.mdb's target is unchanged" "$(sum_of "$WORK/root-file")" "$before"
# The same link in root's own folder.
chown -R -h root:root "$V"
refused "a symbolic link as lock.mdb" "symbolic link" "$V/lock.mdb" \
	"$CERTVAULT" --vault "$V" certificate list
check_eq "its target is unchanged" "$(sum_of "$WORK/root-file")" "$before"
check_eq "a file of root is what it was" "$(stat -c %U "$WORK/root-file")" root

# --- config files -------------------------------------------------------------------------
mkdir -p "$WORK/conf"
printf 'vault = %s\n' "$VAULT" >"$WORK/conf/ok.conf"
run_any "$CERTVAULT" --config "$WORK/conf/ok.conf" certificate list
check "a config file of root's opens" test "$RC" -eq 0
cp "$WORK/conf/ok.conf" "$WORK/conf/other.conf"
chown nobody "$WORK/conf/other.conf"
refused "a config file of another user" "another user" "$WORK/conf/other.conf" \
	"$CERTVAULT" --config "$WORK/conf/other.conf" certificate list
ln -s "$WORK/conf/ok.conf" "$WORK/conf/link.conf"
refused "a symbolic link as config file" "symbolic link" "$WORK/conf/link.conf" \
	"$CERTVAULT" --config "$WORK/conf/link.conf" certificate list
mkdir -p "$WORK/pubconf"
cp "$WORK/conf/ok.conf" "$WORK/pubconf/c.conf"
chmod 0777 "$WORK/pubconf"
refused "a config file in a folder anyone may write" "not sticky" "$WORK/pubconf/c.conf" \
	"$CERTVAULT" --config "$WORK/pubconf/c.conf" certificate list
chmod 0755 "$WORK/pubconf"

# --- README's "Sharing a vault with a service" -----------------------------------------------
# Owned by root, group www-data: www-data reads it, read-only.
V="$WORK/shared/root-owned"
copy_vault "$V"
chmod 711 "$WORK/shared"
chgrp -R www-data "$V"
chmod 750 "$V"
chmod 640 "$V/data.mdb"
chmod 660 "$V/lock.mdb"
run_any as_user www-data "$CERTVAULT" --vault "$V" certificate list
check "www-data lists a root-owned vault shared with its group" \
	test "$RC" -eq 0 -a -n "$(grep web "$OUT")"
[ "$RC" -eq 0 ] || diag "$(cat "$ERR")"
run_any "$CERTVAULT" --vault "$V" certificate list
check "and root still opens it" test "$RC" -eq 0
# Owned by its user (here nobody), group www-data: the same.
V="$WORK/shared/user-owned"
copy_vault "$V"
chown -R nobody:www-data "$V"
chmod 750 "$V"
chmod 640 "$V/data.mdb"
chmod 660 "$V/lock.mdb"
run_any as_user www-data "$CERTVAULT" --vault "$V" certificate list
check "www-data lists its user's vault shared with www-data's group" \
	test "$RC" -eq 0 -a -n "$(grep web "$OUT")"
[ "$RC" -eq 0 ] || diag "$(cat "$ERR")"
run_any as_user nobody "$CERTVAULT" --vault "$V" certificate list
check "and its owner still opens it" test "$RC" -eq 0
[ "$RC" -eq 0 ] || diag "$(cat "$ERR")"
# Given write access to data.mdb, www-data could seal keys under a master
# key its owner knows: then the folder must be www-data's own or root's.
chmod 660 "$V/data.mdb"
refused "another user's vault that www-data may write" "another user" "$V" \
	as_user www-data "$CERTVAULT" --vault "$V" certificate list

# --- a vault the user cannot read (the PKCS#11 module) -------------------------------------
MODULE=${CERTVAULT_MODULE:-}
if command -v pkcs11-tool >/dev/null 2>&1 && [ -n "$MODULE" ] && [ -f "$MODULE" ]; then
	V="$WORK/private/v"
	copy_vault "$V"
	chmod 711 "$WORK/private"
	printf 'vault = %s\n' "$V" >"$WORK/private/c.conf"
	chmod 644 "$WORK/private/c.conf"
	run_any as_user nobody env CERTVAULT_CONF="$WORK/private/c.conf" CERTVAULT_DEBUG=1 \
		"${P11TOOL[@]}" --module "$MODULE" -L
	check "a vault nobody may not read: the module runs" test "$RC" -lt 128
	check "and never calls its token uninitialized" \
		test -z "$(grep -i 'uninitialized' "$OUT")"
	check "a log line names the folder and the reason" \
		grep -E "$V.*(Permission denied|another user)" "$ERR"
	[ "$RC" -lt 128 ] && diag "$(cat "$OUT")"
else
	skip "a vault nobody may not read: the module" "needs pkcs11-tool and CERTVAULT_MODULE"
fi

# A vault made, after the application started, where nobody may not read it.
if [ -n "${CV_P11_APP:-}" ] && [ -x "$CV_P11_APP" ] && [ -n "$MODULE" ] && [ -f "$MODULE" ]; then
	mkdir -p "$WORK/later"
	chmod 711 "$WORK/later"
	printf 'vault = %s\n' "$WORK/later/v" >"$WORK/later/c.conf"
	chmod 644 "$WORK/later/c.conf"
	# A crashed application's pipe must not end the test.
	trap '' PIPE
	coproc APP { exec setpriv --reuid=nobody --regid="$(id -g nobody)" --init-groups -- \
		env CERTVAULT_CONF="$WORK/later/c.conf" CERTVAULT_DEBUG=1 \
		"$CV_P11_APP" "$MODULE" 2>"$WORK/later/app.err"; }
	APP_IN=${APP[1]}
	APP_OUT=${APP[0]}
	APP_P=$APP_PID
	trap 'kill "$APP_P" 2>/dev/null; cleanup' EXIT
	ask() {
		echo "$1" 2>/dev/null >&"$APP_IN"
		read -r -t 60 ANSWER <&"$APP_OUT" || ANSWER="no answer"
	}
	read -r -t 60 ANSWER <&"$APP_OUT"
	ask token
	check_eq "an empty slot shows an uninitialized token" "$ANSWER" uninitialized
	run_any "$CERTVAULT" --vault "$WORK/later/v" vault create --name later
	ask token
	check_eq "a vault made there that nobody may not read: no token" "$ANSWER" none
	check "and a log line names the folder and the reason" \
		grep -E "$WORK/later/v.*Permission denied" "$WORK/later/app.err"
	echo quit 2>/dev/null >&"$APP_IN"
	wait "$APP_P" 2>/dev/null
else
	skip "a vault made later that nobody may not read" "needs CV_P11_APP and CERTVAULT_MODULE"
fi

done_testing
