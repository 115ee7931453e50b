#!/bin/bash
# certvault benchmark: the time and memory of one `certvault run --once`
# pass over a vault of many certificates (default 100,000), of which 1 in
# --due-every (default 100: 1%) is due for its lifetime action.  Figures
# only: nothing here passes or fails on time.
#
# usage: tests/bench/lifetime.sh [--count N] [--due-every N] [--reps N] [--fresh]
#
# The vault is made once by populate (--due-every: every certificate has
# AutoRenew 30 days before expiry; 12 months of validity, 2 months for every
# Nth) and cached in $BENCH_BUILDDIR/bench-cache/lifetime-COUNT; each timed
# pass runs on a fresh copy, so a pass that renews leaves the cache as it
# was.  The passes, each --reps times (default 3), as /usr/bin/time sees the
# whole process (start, PIN login, pass, exit):
#   empty      run --once on a vault with no certificate: the fixed cost
#   ops        run --once on the big vault: today's pass (pending operations)
#   op-list    inside one process (pass_reads): the store read with which
#              a pass finds the operations in progress, without start and login
# and, once `certvault run` takes --now (the lifetime pass):
#   none-due   run --once --now (populate time + 1 day): nothing is due
#   due        run --once --now (populate time + 45 days): 1 in N is due
#   again      the same pass again on the copy the due pass changed:
#              everything fired, nothing is due
# and inside one process after the login (pass_reads --pass: run_pass and
# run_life, the code `run --once` runs), in milliseconds:
#   none-due   20 passes with nothing due
#   due        on --reps fresh copies, the pass with 1 in N due (first),
#              then one more on the same copy (nothing left)
# Output: one RESULT line per pass (median and max of the reps), then a
# markdown table.  Environment: BENCH_BUILDDIR (default: build beside this
# tree; the tool and populate must be built there).
set -u
umask 077

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COUNT=100000 DUE_EVERY=100 REPS=3 FRESH=0
while [ $# -gt 0 ]; do
	a=$1
	shift
	case $a in
	--count) COUNT=${1:-}; shift ;;
	--due-every) DUE_EVERY=${1:-}; shift ;;
	--reps) REPS=${1:-}; shift ;;
	--fresh) FRESH=1 ;;
	*) echo "usage: $0 [--count N] [--due-every N] [--reps N] [--fresh]" >&2; exit 2 ;;
	esac
done
BUILD=$(cd "${BENCH_BUILDDIR:-$SRC/build}" && pwd) || exit 1
CERTVAULT=$BUILD/tools/certvault
POPULATE=$BUILD/tests/bench/populate
PASS_READS=$BUILD/tests/bench/pass_reads
for p in "$CERTVAULT" "$POPULATE" "$PASS_READS" /usr/bin/time; do
	[ -x "$p" ] || { echo "$0: $p missing (build the tree first)" >&2; exit 1; }
done
log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

CACHE=$BUILD/bench-cache
mkdir -p "$CACHE"
chmod 700 "$CACHE"
PIN=bench-pin-1234
PINFILE=$CACHE/lifetime.pin
printf '%s\n' "$PIN" >"$PINFILE"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/certvault-lifetime.XXXXXX") || exit 1
trap 'rm -rf "$SCRATCH"' EXIT

# vault_made N DUE_EVERY: the cached vault's folder, populated when missing;
# its populate time (seconds since the epoch) in DIR.made.
vault_made() {
	local v=$CACHE/lifetime-$1
	[ "$1" != 0 ] && v=$v-every$2
	if [ "$FRESH" = 1 ] || [ ! -f "$v.made" ]; then
		rm -rf "$v" "$v.made"
		log "populate $1 certificates (1 in $2 due at +45 days) into $v"
		date +%s >"$v.time"
		"$POPULATE" --due-every "$2" "$v" "$1" >"$v.populate" || exit 1
		mv "$v.time" "$v.made"
	fi
	echo "$v"
}

iso() {
	date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
}

# pass NAME VAULT [ARGS...]: run --once ARGS on a copy of VAULT (the copy
# kept in $SCRATCH/NAME for a later pass), REPS times; prints a RESULT line.
pass() {
	local name=$1 vault=$2 r out secs=() rss=() rc
	shift 2
	for r in $(seq 1 "$REPS"); do
		rm -rf "$SCRATCH/$name"
		cp -a "$vault" "$SCRATCH/$name"
		# On disk, as a service's vault is: else the pass's first commit
		# pays for writing out the fresh copy.
		sync "$SCRATCH/$name/data.mdb"
		cat "$SCRATCH/$name/data.mdb" >/dev/null   # the page cache warm, as for a service
		out=$(/usr/bin/time -f 'TIME %e %M' "$CERTVAULT" --vault "$SCRATCH/$name" run --once \
			"$@" --pin-file "$PINFILE" 2>&1 >"$SCRATCH/$name.out")
		rc=$?
		if [ "$rc" -ne 0 ]; then
			log "$name: exit $rc: $(grep -v '^TIME' <<<"$out" | head -3)"
			echo "RESULT kind=lifetime pass=$name count=$COUNT failed=$rc"
			return 1
		fi
		secs+=("$(sed -n 's/^TIME \([^ ]*\) .*/\1/p' <<<"$out")")
		rss+=("$(sed -n 's/^TIME [^ ]* \(.*\)/\1/p' <<<"$out")")
	done
	printf 'RESULT kind=lifetime pass=%s count=%s due_every=%s reps=%s seconds_median=%s seconds_max=%s maxrss_kb=%s lines=%s\n' \
		"$name" "$COUNT" "$DUE_EVERY" "$REPS" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(((REPS + 1) / 2))p")" \
		"$(printf '%s\n' "${secs[@]}" | sort -n | tail -1)" \
		"$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)" \
		"$(wc -l <"$SCRATCH/$name.out")"
}

EMPTY=$(vault_made 0 "$DUE_EVERY")
BIG=$(vault_made "$COUNT" "$DUE_EVERY")
MADE=$(cat "$BIG.made")
# A cache made before the index of operations in progress gets it here,
# once (the first listing after a login fills it), not in every timed pass.
"$PASS_READS" --reps 1 "$BIG" >/dev/null || exit 1

# inproc NAME VAULT TIME REPS: pass_reads --pass TIME on VAULT, its RESULT
# line named NAME.
inproc() {
	"$PASS_READS" --pass "$3" --reps "$4" "$2" |
		sed "s/^RESULT kind=pass_reads /RESULT kind=pass_reads pass=$1 /"
}
RESULTS=$SCRATCH/results
{
	log "pass: empty vault"
	pass empty "$EMPTY"
	log "pass: $COUNT certificates, today's pass"
	pass ops "$BIG"
	log "inside one process: the operations list of $COUNT certificates"
	"$PASS_READS" --reps 20 "$SCRATCH/ops"   # the copy the ops pass used: login writes
	if "$CERTVAULT" run --help 2>&1 | grep -q -e '--now'; then
		log "pass: nothing due"
		pass none-due "$BIG" --now "$(iso $((MADE + 86400)))"
		log "pass: 1 in $DUE_EVERY due"
		pass due "$BIG" --now "$(iso $((MADE + 45 * 86400)))"
		# The copy the last due pass changed, once more: nothing left to fire.
		REPS_SAVED=$REPS
		REPS=1
		cp -a "$SCRATCH/due" "$SCRATCH/due-done"
		log "pass: again, after the due pass"
		pass again "$SCRATCH/due-done" --now "$(iso $((MADE + 45 * 86400)))"
		REPS=$REPS_SAVED
		log "inside one process: the whole pass, nothing due"
		inproc none-due "$SCRATCH/none-due" "$(iso $((MADE + 86400)))" 20
		for r in $(seq 1 "$REPS"); do
			log "inside one process: the whole pass, 1 in $DUE_EVERY due ($r of $REPS)"
			rm -rf "$SCRATCH/due-inproc"
			cp -a "$BIG" "$SCRATCH/due-inproc"
			sync "$SCRATCH/due-inproc/data.mdb"
			cat "$SCRATCH/due-inproc/data.mdb" >/dev/null
			inproc due "$SCRATCH/due-inproc" "$(iso $((MADE + 45 * 86400)))" 2
		done
	else
		log "certvault run takes no --now yet: the lifetime passes are not measured"
		echo "RESULT kind=lifetime pass=none-due count=$COUNT unavailable=no-now-option"
	fi
} | tee "$RESULTS"

echo
echo "| pass ($COUNT certificates, 1 in $DUE_EVERY due) | median s | max s | max RSS MiB |"
echo "|---|---|---|---|"
awk '/^RESULT kind=pass_reads what=op_list_active/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	printf "| op-list (in process; login %.0f ms apart) | %.3f | %.3f | n/a |\n",
	       f["login_ms"], f["median_ms"] / 1000, f["max_ms"] / 1000
}
/^RESULT kind=lifetime/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	if ("seconds_median" in f)
		printf "| %s | %s | %s | %.1f |\n", f["pass"], f["seconds_median"],
		       f["seconds_max"], f["maxrss_kb"] / 1024
	else
		printf "| %s | n/a | n/a | n/a |\n", f["pass"]
}' "$RESULTS"
echo
echo "| whole pass in one process, after login | first ms | last ms | median ms | max ms | max RSS MiB | own (RssAnon) MiB |"
echo "|---|---|---|---|---|---|---|"
awk '/^RESULT kind=pass_reads pass=/ {
	delete f
	for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", f["pass"], f["first_ms"],
	       f["last_ms"], f["median_ms"], f["max_ms"], f["maxrss_kb"] / 1024,
	       f["rss_anon_kb"] / 1024
}' "$RESULTS"
