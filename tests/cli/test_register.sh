#!/bin/bash
# A new operator's first vault, tried as a new user would.  vault create
# looks at the folder before it asks for any PIN (a bad folder: one line,
# exit non-zero, no prompt), then registers the new vault in the user's
# config file ($XDG_CONFIG_HOME/certvault/certvault.conf, else
# ~/.config/certvault/certvault.conf; the file made 0600, its folder
# 0700) with one `vault = DIR` line (absolute, never twice) and says
# where, so that a program started elsewhere finds it.  --no-register
# skips it; --system (the system's /etc/certvault/certvault.conf) is
# refused to anyone but root.  HOME and XDG_CONFIG_HOME point into the
# test's folder (lib.sh): nothing outside it is written.
. "$(dirname "$0")/lib.sh"
need setsid stat setpriv

CONF="$XDG_CONFIG_HOME/certvault/certvault.conf"

# create_nopin TEXT WANT DIR [ARGS...]: vault create with no PIN anywhere
# and no terminal must stop at the folder: exit non-zero, one line holding
# WANT, never the PIN's line, no vault and no config written.
create_nopin() {
	local text=$1 want=$2 dir=$3
	shift 3
	run_any env -u CERTVAULT_PIN -u CERTVAULT_SO_PIN setsid -w "$CERTVAULT" \
		--vault "$dir" vault create --name early "$@"
	if [ "$RC" -ne 0 ] && _refused_with "$want" && ! grep -q 'PIN' "$ERR"; then
		pass "$text: refused before any PIN, with \"$want\""
	else
		fail "$text: refused before any PIN, with \"$want\"" "exit $RC:" "$(cat "$ERR")"
	fi
}

# --- A bad folder is refused before the PINs are asked for -----------------
echo plain >"$WORK/afile"
create_nopin "a regular file as the folder" "is not a folder" "$WORK/afile"
create_nopin "a folder whose parent is missing" "does not exist" "$WORK/no/such/parent"
mkdir -m 777 "$WORK/open"
create_nopin "a folder others may write" "other users" "$WORK/open"
ln -s "$WORK/open" "$WORK/linkdir"
create_nopin "a symbolic link as the folder" "symbolic link" "$WORK/linkdir"
make_vault first
create_nopin "a folder that holds a vault" "already holds a vault" "$VAULT"
create_nopin "a folder with a '#' the config file cannot hold" "#" "$WORK/has#hash"
check "no vault was made in the '#' folder" test ! -e "$WORK/has#hash/data.mdb"
run_any env -u CERTVAULT_PIN -u CERTVAULT_SO_PIN setsid -w "$CERTVAULT" \
	--vault "$WORK/fine" vault create --name fine
check "a good folder goes on to the PINs" \
	test "$RC" -ne 0 -a -n "$(grep -F 'no PIN given' "$ERR")"

# --- Registration ---------------------------------------------------------
# make_vault above registered $VAULT.
check_eq "the config file is 0600" "$(stat -c %a "$CONF")" 600
check_eq "its folder is 0700" "$(stat -c %a "$XDG_CONFIG_HOME/certvault")" 700
check_eq "the config names the vault once" "$(grep -c "^vault = $VAULT\$" "$CONF")" 1

mkdir "$WORK/rel"
(cd "$WORK/rel" && "$CERTVAULT" --vault ./second vault create --name second --json) \
	>"$OUT" 2>"$ERR"
RC=$?
check_eq "create in a relative folder: exit 0" "$RC" 0
check_eq "it says where it registered the vault" "$(jout .registeredIn)" "$CONF"
check_eq "the line holds the absolute folder" \
	"$(grep -c "^vault = $WORK/rel/second\$" "$CONF")" 1
check_eq "the first vault stays first" "$(sed -n 1p "$CONF")" "vault = $VAULT"

# A program started elsewhere, without --vault: the config's vaults.
run_any env -u CERTVAULT_VAULT "$CERTVAULT" vault show --json
check_eq "a command with no --vault finds the first registered vault" "$(jout .name)" first
run_any "$CERTVAULT" vault show --vault-name second --json
check_eq "--vault-name finds the second by its name" "$(jout .folder)" "$WORK/rel/second"

# Never twice: a line already naming the folder, in another spelling.
printf 'vault = %s/\n' "$WORK/third" >>"$CONF"
before=$(cat "$CONF")
expect_ok "create in a folder the config already names" \
	--vault "$WORK/./third" vault create --name third
check_eq "no second line for the same folder" "$(cat "$CONF")" "$before"
check "the human form says where too" grep -qE "^registeredIn: +$CONF\$" "$OUT"

# --no-register.
before=$(cat "$CONF")
expect_ok "create --no-register" --vault "$WORK/quiet" vault create --name quiet --no-register
check_eq "--no-register leaves the config as it was" "$(cat "$CONF")" "$before"

# Without XDG_CONFIG_HOME: ~/.config/certvault/certvault.conf.
run_any env -u XDG_CONFIG_HOME "$CERTVAULT" --vault "$WORK/home-v" vault create --name homev
check_eq "create without XDG_CONFIG_HOME: exit 0" "$RC" 0
check_eq "registered in ~/.config/certvault/certvault.conf" \
	"$(cat "$HOME/.config/certvault/certvault.conf")" "vault = $WORK/home-v"
check_eq "~/.config/certvault is 0700" "$(stat -c %a "$HOME/.config/certvault")" 700

# --config FILE is the file registered in.
: >"$WORK/named.conf"
chmod 600 "$WORK/named.conf"
run_any "$CERTVAULT" --config "$WORK/named.conf" --vault "$WORK/named-v" \
	vault create --name namedv
check_eq "--config FILE: registered in that file" "$(cat "$WORK/named.conf")" \
	"vault = $WORK/named-v"

# A config file others may write is refused before any PIN and any vault.
chmod 666 "$WORK/named.conf"
create_nopin "a config file others may write" "other users" "$WORK/unsafe-conf-v" \
	--config "$WORK/named.conf"
check "no vault was made for the unsafe config" test ! -e "$WORK/unsafe-conf-v/data.mdb"
chmod 600 "$WORK/named.conf"

# As nobody (the test runs as root): --system, and config files nobody
# may not write, are refused before the folder's vault and the PINs.
# (As root --system would write /etc/certvault/certvault.conf: never run.)
as_nobody() {
	run_any setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env -u CERTVAULT_PIN -u CERTVAULT_SO_PIN HOME=/nonexistent \
		setsid -w "$CERTVAULT" "$@"
}
if [ "$(id -u)" -eq 0 ]; then
	chmod 711 "$WORK"
	mkdir -m 755 "$WORK/pub"
	as_nobody --vault "$WORK/pub/sys-v" vault create --name sys --system
	check "--system as nobody: refused in one line naming root" \
		test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'root' "$ERR")"
	check "--system as nobody: nothing made" test ! -e "$WORK/pub/sys-v"

	mkdir -m 700 "$WORK/nob"
	: >"$WORK/nob/ro.conf"
	chmod 400 "$WORK/nob/ro.conf"
	chown nobody "$WORK/nob" "$WORK/nob/ro.conf"
	as_nobody --config "$WORK/nob/ro.conf" --vault "$WORK/nob/v" vault create --name ro
	check "a config file the user may not write: one line before any PIN" \
		test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'ro.conf' "$ERR")" \
		-a -z "$(grep PIN "$ERR")"
	check "a config file the user may not write: no vault made" test ! -e "$WORK/nob/v"
	as_nobody --config "$WORK/pub/sub/new.conf" --vault "$WORK/nob/v" vault create --name ro
	check "a config file that cannot be made: one line before any PIN" \
		test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'cannot make config file' "$ERR")" \
		-a -z "$(grep PIN "$ERR")"
	check "a config file that cannot be made: no vault made" test ! -e "$WORK/nob/v"
else
	for t in "--system as nobody: refused" "--system as nobody: nothing made" \
		"a config file the user may not write" "a config file the user may not write: no vault" \
		"a config file that cannot be made" "a config file that cannot be made: no vault"; do
		skip "$t" "needs root to run as nobody"
	done
fi
expect_usage "--system with --config" "give --system or --config" \
	--config "$WORK/named.conf" vault create --name sys --system
expect_usage "--system with --no-register" "give --system or --no-register" \
	vault create --name sys --system --no-register

done_testing
