#!/bin/bash
# certvault benchmark: `vault backup` and `vault verify` of vaults of many
# certificates (default 10,000 and 100,000), and a PKCS#11 signer's rate
# beside the backup against its rate alone.  Figures only: nothing here
# passes or fails on time.
#
# usage: tests/bench/recovery.sh [--counts "N M ..."] [--reps N]
#            [--sign-seconds S] [--sign-threads T] [--fresh]
#
# Each vault is made once by populate (as lifetime.sh makes its vaults:
# EC P-256 self-signed certificates, 1,000 per LMDB commit) and cached in
# $BENCH_BUILDDIR/bench-cache/recovery-COUNT.  Measured, each --reps times
# (default 3), as /usr/bin/time sees the whole process (median and max of
# the wall time, the largest max RSS):
#   backup          vault backup --file F (LMDB's compacting copy)
#   verify-nologin  vault verify --no-login (every record and link)
#   verify          vault verify with the PIN (and every sealed record opened)
# and the signer (tests/faults/signer --no-verify: C_SignInit + C_Sign,
# CKM_ECDSA, with one certificate's key, --sign-threads threads, default 2) for --sign-seconds
# (default 10) alone, then as long again while backups run back to back:
# signatures per second in each, and the backups done meanwhile.
# Output: RESULT lines, then a markdown table.  Environment: BENCH_BUILDDIR
# (default: build beside this tree; certvault, populate, the signer and the
# module must be built there).
set -u
umask 077

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COUNTS="10000 100000" REPS=3 SIGN_S=10 SIGN_T=2 FRESH=0
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--counts) COUNTS=${1:-}; shift ;;
	--reps) REPS=${1:-}; shift ;;
	--sign-seconds) SIGN_S=${1:-}; shift ;;
	--sign-threads) SIGN_T=${1:-}; shift ;;
	--fresh) FRESH=1 ;;
	*) echo "usage: $0 [--counts \"N ...\"] [--reps N] [--sign-seconds S] [--sign-threads T] [--fresh]" >&2
	   exit 2 ;;
	esac
done
BUILD=$(cd "${BENCH_BUILDDIR:-$SRC/build}" && pwd) || exit 1
CERTVAULT=$BUILD/tools/certvault
POPULATE=$BUILD/tests/bench/populate
SIGNER=$BUILD/tests/faults/signer
MODULE=$BUILD/module/certvault-pkcs11.so
for p in "$CERTVAULT" "$POPULATE" "$SIGNER" "$MODULE" /usr/bin/time; do
	[ -e "$p" ] || { echo "$0: $p missing (build the tree first)" >&2; exit 1; }
done
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

CACHE=$BUILD/bench-cache
mkdir -p "$CACHE"
chmod 700 "$CACHE"
PIN=bench-pin-1234
PINFILE=$CACHE/recovery.pin
printf '%s\n' "$PIN" >"$PINFILE"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/certvault-recovery.XXXXXX") || exit 1
SIGNER_PID=
BACKUP_LOOP=
cleanup() {
	[ -n "$SIGNER_PID" ] && kill "$SIGNER_PID" 2>/dev/null
	[ -n "$BACKUP_LOOP" ] && kill "$BACKUP_LOOP" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# The module finds the vault by CERTVAULT_VAULT: no config file of the
# user's may name another.
export XDG_CONFIG_HOME=$SCRATCH/xdg HOME=$SCRATCH/home
mkdir -p "$XDG_CONFIG_HOME" "$HOME"
unset CERTVAULT_CONF CERTVAULT_PIN

# vault_made N: the cached vault's folder, populated when missing.
vault_made() {
	local v=$CACHE/recovery-$1
	if [ "$FRESH" = 1 ] || [ ! -f "$v.made" ]; then
		rm -rf "$v" "$v.made"
		log "populate $1 certificates into $v"
		"$POPULATE" "$v" "$1" >"$v.populate" || exit 1
		date +%s >"$v.made"
	fi
	echo "$v"
}

# timed NAME COUNT CMD...: CMD REPS times; one RESULT line.
timed() {
	local name=$1 count=$2 r out rc secs=() rss=()
	shift 2
	for r in $(seq 1 "$REPS"); do
		rm -f "$SCRATCH/backup.mdb"
		out=$(/usr/bin/time -f 'TIME %e %M' "$@" 2>&1 >"$SCRATCH/$name.out")
		rc=$?
		if [ "$rc" -ne 0 ]; then
			log "$name: exit $rc: $(grep -v '^TIME' <<<"$out" | head -3)"
			echo "RESULT kind=recovery what=$name count=$count failed=$rc"
			return 1
		fi
		secs+=("$(sed -n 's/^TIME \([^ ]*\) .*/\1/p' <<<"$out")")
		rss+=("$(sed -n 's/^TIME [^ ]* \(.*\)/\1/p' <<<"$out")")
	done
	printf 'RESULT kind=recovery what=%s count=%s reps=%s seconds_median=%s seconds_max=%s maxrss_kb=%s\n' \
		"$name" "$count" "$REPS" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | tail -1)" \
		"$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)"
}

# sign_rate NAME COUNT VAULT [backups]: the signer for SIGN_S seconds,
# alone or with backups back to back; one RESULT line.
sign_rate() {
	local name=$1 count=$2 vault=$3 beside=${4:-} signed failed bad secs backups=0
	rm -f "$SCRATCH/stop" "$SCRATCH/backups"
	CERTVAULT_VAULT=$vault "$SIGNER" "$MODULE" bench "$PIN" c0000000 "$SIGN_T" \
		"$SCRATCH/stop" "$SIGN_S" --no-verify >"$SCRATCH/signer.out" 2>"$SCRATCH/signer.err" &
	SIGNER_PID=$!
	if [ "$beside" = backups ]; then
		(
			n=0
			while [ ! -e "$SCRATCH/stop" ] && kill -0 "$SIGNER_PID" 2>/dev/null; do
				rm -f "$SCRATCH/beside.mdb"
				"$CERTVAULT" --vault "$vault" vault backup --file "$SCRATCH/beside.mdb" \
					>/dev/null 2>&1 && n=$((n + 1))
				echo "$n" >"$SCRATCH/backups"
			done
		) &
		BACKUP_LOOP=$!
	fi
	wait "$SIGNER_PID"
	SIGNER_PID=
	touch "$SCRATCH/stop"
	if [ -n "$BACKUP_LOOP" ]; then
		wait "$BACKUP_LOOP"
		BACKUP_LOOP=
		backups=$(cat "$SCRATCH/backups" 2>/dev/null || echo 0)
	fi
	read -r _ signed _ failed _ bad _ _ _ secs <"$SCRATCH/signer.out" || {
		log "$name: the signer did not run: $(head -3 "$SCRATCH/signer.err")"
		echo "RESULT kind=recovery_sign what=$name count=$count failed=1"
		return 1
	}
	printf 'RESULT kind=recovery_sign what=%s count=%s threads=%s seconds=%s signed=%s failed=%s bad=%s per_s=%.0f backups=%s\n' \
		"$name" "$count" "$SIGN_T" "$secs" "$signed" "$failed" "$bad" \
		"$(awk -v n="$signed" -v s="$secs" 'BEGIN { print n / s }')" "$backups"
}

RESULTS=$SCRATCH/results
for count in $COUNTS; do
	vault=$(vault_made "$count")
	cat "$vault/data.mdb" >/dev/null   # the page cache warm, as for a service
	log "$count certificates: vault backup"
	timed backup "$count" "$CERTVAULT" --vault "$vault" vault backup --file "$SCRATCH/backup.mdb"
	log "$count certificates: vault verify --no-login"
	timed verify-nologin "$count" "$CERTVAULT" --vault "$vault" vault verify --no-login
	log "$count certificates: vault verify (with the PIN)"
	timed verify "$count" "$CERTVAULT" --vault "$vault" vault verify --pin-file "$PINFILE"
	log "$count certificates: the signer alone, $SIGN_S s"
	sign_rate sign-alone "$count" "$vault"
	log "$count certificates: the signer beside backups, $SIGN_S s"
	sign_rate sign-beside-backup "$count" "$vault" backups
done | tee "$RESULTS"

echo
echo "| vault | what | median s | max s | max RSS MiB |"
echo "|---|---|---|---|---|"
awk '/^RESULT kind=recovery / && /seconds_median/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	printf "| %s | %s | %s | %s | %.1f |\n", f["count"], f["what"], f["seconds_median"],
	       f["seconds_max"], f["maxrss_kb"] / 1024
}' "$RESULTS"
echo
echo "| vault | signer ($SIGN_T threads) | signatures/s | backups meanwhile | failed |"
echo "|---|---|---|---|---|"
awk '/^RESULT kind=recovery_sign / && /per_s/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	printf "| %s | %s | %s | %s | %s |\n", f["count"], f["what"], f["per_s"],
	       f["what"] == "sign-alone" ? "-" : f["backups"], f["failed"] + f["bad"]
}' "$RESULTS"
