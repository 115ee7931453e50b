#!/bin/bash
# A full disk: the vault on a small tmpfs of its own (in a mount namespace
# of this script's own, so nothing outside sees it), the rest of the disk
# taken by a filler file, then certificates created until the tool refuses.
# The refusal is one line saying the disk is full, leaves the vault exactly
# as it was, everything committed before is still there and verify passes;
# with the filler removed, writes work again.
#
# LMDB's map is fixed at 16 GiB of address space, so a full map is not the
# way to fill a vault; a full disk is.  Without a mount namespace (unshare
# -m, or -rm as a user allowed user namespaces) the script skips, saying so.
FAULTS=$(cd "$(dirname "$0")" && pwd)
if [ -z "${CV_FULL_DISK_NS:-}" ]; then
	for u in "-m" "-rm"; do
		if unshare $u true 2>/dev/null; then
			CV_FULL_DISK_NS=1 exec unshare $u bash "$0" "$@"
		fi
	done
fi
. "$FAULTS/../cli/lib.sh"
[ -n "${CV_FULL_DISK_NS:-}" ] || skip_all "cannot make a mount namespace (unshare -m or -rm) for a small tmpfs"
need dd mount umount df

DISK="$WORK/disk"
mkdir -m 700 "$DISK"
mount -t tmpfs -o size=2m,mode=700 tmpfs "$DISK" 2>"$WORK/mount.err" ||
	skip_all "cannot mount a tmpfs: $(head -1 "$WORK/mount.err")"
trap 'umount "$DISK" 2>/dev/null; cleanup' EXIT

VAULT="$DISK/vault"
make_vault fullvault
policy 'CN=full' Self '{"kty":"EC","crv":"P-256"}' >"$WORK/self.json"
for n in before-1 before-2 before-3; do
	expect_ok "create $n on a disk with room" certificate create --name "$n" --policy "@$WORK/self.json"
done

# The rest of the disk goes to a filler file.
dd if=/dev/zero of="$DISK/filler" bs=16k 2>/dev/null
diag "disk after the filler: $(df -k "$DISK" | tail -1)"

# until_refused TEXT FUNC: runs FUNC 1, FUNC 2 ... (each one certvault
# command through run_cv) until the tool refuses, at most 40 times (LMDB
# reuses free pages first, so the first few may still fit); the refusal
# must be one line saying the disk is full and leave the vault as it was.
# Sets MADE to the number that still fitted.
until_refused() {
	local text=$1 fn=$2 i before after refused=0
	MADE=0
	for i in $(seq 1 40); do
		before=$(vault_dump)
		"$fn" "$i"
		if [ "$RC" -eq 0 ]; then
			MADE=$((MADE + 1))
			continue
		fi
		refused=1
		after=$(vault_dump)
		if _refused_with "disk holding the vault is full"; then
			pass "$text on a full disk is refused with one line: $(cat "$ERR")"
		else
			fail "$text on a full disk is refused with one line saying the disk is full" \
				"exit $RC, stderr:" "$(cat "$ERR")"
		fi
		if [ "$before" == "$after" ]; then
			pass "$text: the refusal left the vault as it was"
		else
			fail "$text: the refusal left the vault as it was" \
				"$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -20)"
		fi
		break
	done
	check_eq "$text: refused before 40 attempts on a full disk" "$refused" 1
	diag "$text: $MADE still fitted into free pages"
}

create_fill() { run_cv certificate create --name "fill-$1" --policy "@$WORK/self.json"; }
until_refused "a create" create_fill
made=$MADE
# (A change of tags is small enough to go on fitting into the pages LMDB
# frees as it goes, so it is not one of the refusals.)

# A backup onto the full disk: refused in one line, no file left behind.
before=$(vault_dump)
run_cv vault backup --file "$DISK/backup.mdb"
# (The copy's own write fails with ENOSPC, which says it plainly.)
if _refused_with "No space left on device"; then
	pass "a vault backup onto the full disk is refused in one line: $(cat "$ERR")"
else
	fail "a vault backup onto the full disk is refused in one line saying there is no space" \
		"exit $RC, stderr:" "$(cat "$ERR")"
fi
check_eq "the refused backup left no file on the disk" \
	"$(find "$DISK" -maxdepth 1 -name 'backup.mdb*' | wc -l)" 0
check_eq "the refused backup left the vault as it was" "$(vault_dump)" "$before"

run_cv vault verify --no-login
check_eq "vault verify --no-login passes on the full disk" "$RC" 0
run_cv certificate list --json
check_eq "every certificate committed before is listed" \
	"$(jout 'length')" "$((3 + made))"
for n in before-1 before-2 before-3; do
	run_cv certificate show --name "$n"
	check_eq "$n is still there" "$RC" 0
done

# Room again: writes work.
rm -f "$DISK/filler"
expect_ok "with room again, a create works" certificate create --name after-1 --policy "@$WORK/self.json"
expect_ok "with room again, set-attributes works" certificate set-attributes --name before-1 --tags k=v
run_cv vault verify
check_eq "vault verify (with the login) passes afterwards" "$RC" 0
run_cv certificate list --json
check_eq "every certificate is listed afterwards" "$(jout 'length')" "$((4 + made))"

done_testing
