#!/bin/bash
# The systemd units `meson install` installs for certvault run: the service,
# the timer and the one-pass service it starts, the user (sysusers.d) and
# the vault's folder (tmpfiles.d).  They are copied into a DESTDIR in the
# test folder where meson's install plan (meson-info/intro-installed.json,
# read only) puts them, with the certvault program, and checked there:
# `systemd-analyze verify` finds nothing to say, `systemd-analyze security`
# rates the sandbox, and the one-pass service's command, run as its user
# would be (a user other than root, in the vault's group, the PIN from a
# credential copied out of a root-only file), works on a vault that belongs
# to root and is shared with that group, which root's tool keeps using.
. "$(dirname "$0")/lib.sh"
need systemd-analyze setpriv
BUILD=${CERTVAULT_BUILD_ROOT:-}
[ -n "$BUILD" ] && [ -f "$BUILD/meson-info/intro-installed.json" ] ||
	skip_all "CERTVAULT_BUILD_ROOT does not name the meson build folder"

DEST="$WORK/destdir"
PLAN="$BUILD/meson-info/intro-installed.json"

# --- Install: what meson installs from systemd/, and the program ------------------

mkdir -p "$DEST"
jq -r 'to_entries[] | "\(.key)\t\(.value)"' "$PLAN" >"$WORK/plan"
UNITDIR=
while IFS=$'\t' read -r from to; do
	case $to in
	*/certvault-run.service | */certvault-run-once.service | */certvault-run.timer | \
		*/sysusers.d/certvault.conf | */tmpfiles.d/certvault.conf | */bin/certvault)
		mkdir -p "$DEST$(dirname "$to")" && cp "$from" "$DEST$to"
		case $to in */certvault-run.service) UNITDIR=$(dirname "$to") ;; esac
		;;
	esac
done <"$WORK/plan"
for u in certvault-run.service certvault-run-once.service certvault-run.timer; do
	check "meson installs $u" test -n "$UNITDIR" -a -f "$DEST$UNITDIR/$u"
done
check "meson installs a sysusers.d file" test -n "$(ls "$DEST"/*/lib/sysusers.d/certvault.conf \
	"$DEST"/*/*/lib/sysusers.d/certvault.conf 2>/dev/null)"
check "meson installs a tmpfiles.d file" test -n "$(ls "$DEST"/*/lib/tmpfiles.d/certvault.conf \
	"$DEST"/*/*/lib/tmpfiles.d/certvault.conf 2>/dev/null)"
SERVICE="$DEST$UNITDIR/certvault-run.service"
ONCE="$DEST$UNITDIR/certvault-run-once.service"
TIMER="$DEST$UNITDIR/certvault-run.timer"

# unit_value FILE KEY: the value of the first KEY= line.
unit_value() {
	sed -n "s/^$2=//p" "$1" | head -1
}

# --- What the units say ---------------------------------------------------------------

check_eq "the service is Type=simple" "$(unit_value "$SERVICE" Type)" simple
check_eq "the one-pass service is Type=oneshot" "$(unit_value "$ONCE" Type)" oneshot
check_eq "the timer starts the one-pass service" "$(unit_value "$TIMER" Unit)" \
	certvault-run-once.service
for f in "$SERVICE" "$ONCE"; do
	u=$(basename "$f")
	check_eq "$u runs as the user certvault" "$(unit_value "$f" User)" certvault
	check_eq "$u runs with the group certvault" "$(unit_value "$f" Group)" certvault
	for h in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes ProtectHome=yes \
		"ReadWritePaths=$(unit_value "$f" Environment | sed 's/^CERTVAULT_VAULT=//')"; do
		check "$u: $h" grep -qxF "$h" "$f"
	done
	check "$u reads the PIN from a credential (--pin-file %d/pin)" \
		grep -qE "^ExecStart=.*/certvault run .*--pin-file %d/pin$" "$f"
	check "$u loads the credential pin from a file" grep -qE '^LoadCredential=pin:/' "$f"
done
check "the service passes again and again (no --once)" \
	test -z "$(unit_value "$SERVICE" ExecStart | grep -e --once)"
check "the one-pass service makes one pass (--once)" \
	test -n "$(unit_value "$ONCE" ExecStart | grep -e ' --once ')"

# --- systemd-analyze ------------------------------------------------------------------

# verify needs the units systemd's own depend on (sysinit.target ...) in the
# root it is given: the machine's, copied.
for d in /lib/systemd/system /usr/lib/systemd/system; do
	if [ -d "$d" ] && [ ! -e "$DEST$d" ]; then
		mkdir -p "$DEST$(dirname "$d")" && cp -a "$d" "$DEST$d"
		break
	fi
done
run_any systemd-analyze verify --root="$DEST" "${SERVICE#$DEST/}" "${ONCE#$DEST/}" "${TIMER#$DEST/}"
check "systemd-analyze verify accepts the three units, and says nothing" \
	test "$RC" -eq 0 -a ! -s "$OUT" -a ! -s "$ERR"
[ "$RC" -ne 0 ] || [ -s "$ERR" ] && diag "$(cat "$OUT" "$ERR")"

# An attack on the check itself: a unit systemd cannot read is refused.
sed 's/^NoNewPrivileges=yes$/NoNewPrivileges=maybe/' "$ONCE" >"$DEST$UNITDIR/certvault-bad.service"
run_any systemd-analyze verify --root="$DEST" "${UNITDIR#/}/certvault-bad.service"
check "systemd-analyze verify speaks up for a bad value" test -s "$OUT" -o -s "$ERR"
rm -f "$DEST$UNITDIR/certvault-bad.service"

for f in "$SERVICE" "$ONCE"; do
	run_any systemd-analyze security --offline=yes --root="$DEST" --threshold=25 "${f#$DEST/}"
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$OUT")
	check "systemd-analyze security rates $(basename "$f") 2.5 or less (it says ${score:-nothing})" \
		test "$RC" -eq 0 -a -n "$score"
done

# sysusers.d and tmpfiles.d in the DESTDIR's own /etc: the user certvault
# in the group certvault, and the vault's folder root's, shared with it.
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
	mkdir -p "$DEST/etc"
	touch "$DEST/etc/passwd" "$DEST/etc/group" "$DEST/etc/shadow" "$DEST/etc/gshadow"
	run_any systemd-sysusers --root="$DEST"
	check "systemd-sysusers makes the user certvault in the group certvault" \
		test "$RC" -eq 0 -a "$(cut -d: -f1,4 "$DEST/etc/passwd")" = \
		"certvault:$(grep '^certvault:' "$DEST/etc/group" | cut -d: -f3)"
	vaultdir=$(unit_value "$ONCE" Environment | sed 's/^CERTVAULT_VAULT=//')
	run_any systemd-tmpfiles --root="$DEST" --create
	check_eq "systemd-tmpfiles makes the vault's folder: mode, owner, group" \
		"$(stat -c '%a %u %g' "$DEST$vaultdir" 2>&1)" \
		"770 0 $(grep '^certvault:' "$DEST/etc/group" | cut -d: -f3)"
else
	skip "sysusers.d and tmpfiles.d applied" "systemd-sysusers or systemd-tmpfiles missing"
fi

# --- The one-pass service's command as its user would run it --------------------------

if [ "$(id -u)" -ne 0 ]; then
	skip "the one-pass service's command as a user in the vault's group" "needs root"
	done_testing
fi
# The machine's nobody:nogroup stand for certvault:certvault; a group
# nobody is not in stands for any other.
SVC_UID=$(id -u nobody 2>/dev/null) || skip_all "user nobody missing"
SVC_GID=$(getent group nogroup | cut -d: -f3)
[ -n "$SVC_GID" ] || skip_all "group nogroup missing"
OTHER_GID=$(getent group daemon | cut -d: -f3)
[ -n "$OTHER_GID" ] || skip_all "group daemon missing"

chmod 711 "$WORK"
make_vault
chgrp -R "$SVC_GID" "$VAULT"
chmod 770 "$VAULT"
chmod 660 "$VAULT"/*.mdb
printf '%s\n' "$CERTVAULT_PIN" >"$WORK/pin"
chmod 600 "$WORK/pin"
# What systemd does for LoadCredential=: a copy only the service may read.
mkdir -p "$WORK/creds"
cp "$WORK/pin" "$WORK/creds/pin"
chown -R "$SVC_UID" "$WORK/creds"
chmod 500 "$WORK/creds"
chmod 400 "$WORK/creds/pin"

# as_service GID ARGS...: the installed certvault as the service's user with
# group GID, the one-pass unit's environment, no PIN in the environment.
as_service() {
	local gid=$1
	shift
	run_any env -u CERTVAULT_PIN -u CERTVAULT_SO_PIN CERTVAULT_VAULT="$VAULT" HOME="$WORK/creds" \
		setpriv --reuid="$SVC_UID" --regid="$gid" --clear-groups \
		"$DEST$(unit_value "$ONCE" ExecStart | sed 's/^\([^ ]*\).*/\1/')" "$@"
}

ARGS=$(unit_value "$ONCE" ExecStart | sed 's/^[^ ]* //; s|%d|'"$WORK/creds"'|g')
read -r -a ARGV <<<"$ARGS"
before=$(vault_dump | sha256sum)
as_service "$OTHER_GID" "${ARGV[@]}"
check "outside the vault's group the one-pass command is refused (exit 1)" test "$RC" -eq 1
check_eq "... with one line" "$(wc -l <"$ERR")" 1
check_eq "... and the vault is as it was" "$(vault_dump | sha256sum)" "$before"
as_service "$SVC_GID" "${ARGV[@]}"
check "in the vault's group the one-pass command ($ARGS) passes" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"

# The units' SystemCallFilter= lines, expanded: a system call the pass
# makes outside them would fail (EPERM) under systemd.
# expand_calls @GROUP: its system calls, nested groups expanded.
expand_calls() {
	local g
	systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//; /^#/d; /^$/d' |
		while read -r g; do
			case $g in
			@*) expand_calls "$g" ;;
			*) echo "$g" ;;
			esac
		done
}
if [ -n "${CV_ASAN_PRELOAD:-}" ]; then
	# The sanitizers' runtime makes system calls of its own (and its leak
	# check cannot run under ptrace): the release build's run checks this.
	skip "the pass's system calls against the units' filter" "an AddressSanitizer build"
elif command -v strace >/dev/null; then
	allow=$(sed -n 's/^SystemCallFilter=\(@[^ ]*\)$/\1/p' "$ONCE")
	deny=$(sed -n 's/^SystemCallFilter=~//p' "$ONCE")
	expand_calls "$allow" | sort -u >"$WORK/calls.allowed"
	for g in $deny; do expand_calls "$g"; done | sort -u >"$WORK/calls.denied"
	comm -23 "$WORK/calls.allowed" "$WORK/calls.denied" >"$WORK/calls.ok"
	# strace started by the service's user, so only certvault is traced.
	mkdir -p "$WORK/trace"
	chown "$SVC_UID" "$WORK/trace"
	run_any env -u CERTVAULT_PIN CERTVAULT_VAULT="$VAULT" HOME="$WORK/creds" \
		setpriv --reuid="$SVC_UID" --regid="$SVC_GID" --clear-groups \
		strace -f -qq -o "$WORK/trace/calls" \
		"$DEST$(unit_value "$ONCE" ExecStart | sed 's/^\([^ ]*\).*/\1/')" "${ARGV[@]}"
	sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$WORK/trace/calls" | sort -u >"$WORK/calls.made"
	outside=$(comm -23 "$WORK/calls.made" "$WORK/calls.ok" | tr '\n' ' ')
	check "the pass makes $(wc -l <"$WORK/calls.made") kinds of system call, none outside the units' filter ($allow ~$deny)" \
		test "$RC" -eq 0 -a -s "$WORK/calls.made" -a -s "$WORK/calls.ok" -a -z "$outside"
	[ -n "$outside" ] && diag "outside the filter: $outside"
else
	skip "the pass's system calls against the units' filter" "strace missing"
fi

# The service's user writes the root-owned vault, and root's tool goes on.
policy CN=by-service Self '{"kty":"EC","crv":"P-256"}' >"$WORK/p.json"
chmod 644 "$WORK/p.json"
as_service "$SVC_GID" certificate create --name by-service --policy "@$WORK/p.json" \
	--pin-file "$WORK/creds/pin"
check "the service's user writes the vault shared with its group" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
run_cv certificate show --name by-service
check "root's tool reads what the service's user wrote" test "$RC" -eq 0
check "the vault's files still belong to root" test -z "$(find "$VAULT" ! -user root)"

done_testing
