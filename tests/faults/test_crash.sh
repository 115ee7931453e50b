#!/bin/bash
# Crash safety: hundreds of certvault commands, each killed with SIGKILL
# after a random delay (some finish, some die), with a journal of which
# reported success (creates, imports, merges, tag and policy changes,
# renewal passes, vault backups, deletes, recovers, purges and restores).  Afterwards `vault verify` passes, every operation that
# reported success is there, and none that did not report is half there:
# links.py reads the tables itself and finds no version without its key or
# secret, no key without its version (or its operation in progress), no
# index entry without its key; each name is wholly there or wholly absent.
#
# The operations are a table (OPS) of kinds, each three functions:
#   prep_KIND I   makes, unkilled, what the command needs (a key, a CSR)
#   args_KIND I   sets ARGS to the one certvault command that is killed
#   check_KIND I RC   after the run, the checks of attempt I (RC its exit
#                 status, 0 when it reported success)
# CV_CRASH_ROUNDS (default 35) rounds of every kind (CV_CRASH_DEBUG=1 prints
# the journal and the state at the end).  With the module built
# (CERTVAULT_MODULE) the token is read too: what an application sees of each
# new certificate is whole (a certificate and its private key with one
# CKA_ID), pending (a private key alone) or nothing.
FAULTS=$(cd "$(dirname "$0")" && pwd)
. "$FAULTS/../cli/lib.sh"
need timeout xxd mdb_load /usr/bin/python3
LINKS=$FAULTS/links.py
ROUNDS=${CV_CRASH_ROUNDS:-35}

# The kinds of operation, in the order each round runs them.
OPS=(create import merge tags policy renew backup delete recover purge restore)

make_vault crashvault
printf '%s' "$CERTVAULT_PIN" >"$WORK/pin"
chmod 600 "$WORK/pin"
policy 'CN=crash' Self '{"kty":"EC","crv":"P-256"}' >"$WORK/self.json"
policy 'CN=crash' Unknown '{"kty":"EC","crv":"P-256"}' >"$WORK/unknown.json"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$WORK/ca.key" -out "$WORK/ca.pem" -subj /CN=crash-ca -days 3650 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
# One month of validity, renewed 27 days before expiry: due 3 or 4 days
# after each version is made.
policy 'CN=renewed' Self '{"kty":"EC","crv":"P-256"}' '{"validity_months":1}' |
	jq -c '. + {lifetime_actions: [{trigger: {days_before_expiry: 27},
		action: {action_type: "AutoRenew"}}]}' >"$WORK/renew.json"
for n in tagged policied renewed; do
	pol=self.json
	[ "$n" = renewed ] && pol=renew.json
	run_cv certificate create --name "$n" --policy "@$WORK/$pol"
	[ "$RC" -eq 0 ] || { fail "create $n" "$(cat "$ERR")"; done_testing; }
done
START=$(date +%s)

# --- the kinds -------------------------------------------------------------

# create: a new certificate, Self-signed at once.
prep_create() { :; }
args_create() { ARGS=(certificate create --name "cr-$1" --policy "@$WORK/self.json"); }

# import: a new certificate from a PEM file with its own key.
prep_import() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$WORK/im.key" -out "$WORK/im.pem" -subj "/CN=im-$1" -days 3650 2>/dev/null &&
		cat "$WORK/im.key" >>"$WORK/im.pem"
}
args_import() { ARGS=(certificate import --name "im-$1" --file "$WORK/im.pem"); }

# merge: the CA's certificate for a pending certificate's CSR.
prep_merge() {
	cv certificate create --name "mg-$1" --policy "@$WORK/unknown.json" >/dev/null 2>&1 &&
		rm -f "$WORK/mg.csr" &&
		cv certificate pending csr --name "mg-$1" --file "$WORK/mg.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$WORK/mg.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
			-CAcreateserial -days 3650 -out "$WORK/mg.cer" 2>/dev/null
}
args_merge() { ARGS=(certificate pending merge --name "mg-$1" --file "$WORK/mg.cer"); }

# tags: the tags of one certificate, replaced by round=I.
prep_tags() { :; }
args_tags() { ARGS=(certificate set-attributes --name tagged --tags "round=$1"); }

# policy: one certificate's policy, its subject replaced by CN=p-I.
prep_policy() { :; }
args_policy() { ARGS=(certificate policy update --name policied --policy "{\"x509_props\":{\"subject\":\"CN=p-$1\"}}"); }

# renew: the lifetime pass, its clock 5 days further each round, so that
# the version the last pass made is due again.  (Imported and merged
# certificates are valid for ten years and the others for a year: after
# 40 rounds, 200 days on, only "renewed" is due.)
prep_renew() { :; }
args_renew() { ARGS=(run --once --now "@$((START + $1 * 5 * 86400))"); }

# backup: the whole vault copied into a new file.
mkdir -m 700 "$WORK/backups"
prep_backup() { :; }
args_backup() { ARGS=(vault backup --file "$WORK/backups/b-$1.mdb"); }

# delete: a certificate made for it, moved to the deleted state.
prep_delete() { cv certificate create --name "dl-$1" --policy "@$WORK/self.json" >/dev/null 2>&1; }
args_delete() { ARGS=(certificate delete --name "dl-$1"); }

# recover: a certificate made and deleted for it, brought back.
prep_recover() {
	cv certificate create --name "rc-$1" --policy "@$WORK/self.json" >/dev/null 2>&1 &&
		cv certificate delete --name "rc-$1" >/dev/null 2>&1
}
args_recover() { ARGS=(certificate recover --name "rc-$1"); }

# purge: a certificate made and deleted for it, destroyed.
prep_purge() {
	cv certificate create --name "pg-$1" --policy "@$WORK/self.json" >/dev/null 2>&1 &&
		cv certificate delete --name "pg-$1" >/dev/null 2>&1
}
args_purge() { ARGS=(certificate purge --name "pg-$1"); }

# restore: a certificate made, backed up, deleted and purged for it, restored
# from its backup.
mkdir -m 700 "$WORK/certbackups"
prep_restore() {
	cv certificate create --name "rs-$1" --policy "@$WORK/self.json" >/dev/null 2>&1 &&
		cv certificate backup --name "rs-$1" --file "$WORK/certbackups/rs-$1.cvb" >/dev/null 2>&1 &&
		cv certificate delete --name "rs-$1" >/dev/null 2>&1 &&
		cv certificate purge --name "rs-$1" >/dev/null 2>&1
}
args_restore() { ARGS=(certificate restore --file "$WORK/certbackups/rs-$1.cvb"); }

# --- running and killing -----------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }

JOURNAL="$WORK/journal"
: >"$JOURNAL"
declare -A FINISHED KILLED OTHER
prep_failed=0
# Round 0 runs each kind unkilled and times it (T_MS, ms); afterwards a
# kill falls from 0.8 to 1.2 times T_MS after the start, and T_MS follows
# the machine's load: 5% more after a kill, 5% less after a command that
# finished.  So about half finish, and the kills crowd around the end of a
# command, where it writes.
declare -A T_MS
for ((i = 0; i <= ROUNDS; i++)); do
	for kind in "${OPS[@]}"; do
		if ! "prep_$kind" "$i"; then
			prep_failed=$((prep_failed + 1))
			echo "$kind $i prep-failed" >>"$JOURNAL"
			continue
		fi
		"args_$kind" "$i"
		if [ "$i" -eq 0 ]; then
			t0=$(now_ms)
			"$CERTVAULT" --vault "$VAULT" "${ARGS[@]}" >"$WORK/op.out" 2>"$WORK/op.err"
			rc=$?
			T_MS[$kind]=$(($(now_ms) - t0))
			echo "$kind $i $rc" >>"$JOURNAL"
			[ "$rc" -eq 0 ] || fail "$kind, unkilled, works" "$(cat "$WORK/op.err")"
			continue
		fi
		delay=$((T_MS[$kind] * (80 + RANDOM % 41) / 100))
		# The program itself, not the cv function: a function would run in
		# a subshell, and the kill would reach the subshell, not the tool.
		"$CERTVAULT" --vault "$VAULT" "${ARGS[@]}" >"$WORK/op.out" 2>"$WORK/op.err" &
		pid=$!
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rc=$?
		echo "$kind $i $rc" >>"$JOURNAL"
		case $rc in
		0) FINISHED[$kind]=$((${FINISHED[$kind]:-0} + 1))
		   T_MS[$kind]=$((T_MS[$kind] * 95 / 100)) ;;
		137) KILLED[$kind]=$((${KILLED[$kind]:-0} + 1))
		   T_MS[$kind]=$((T_MS[$kind] * 105 / 100)) ;;
		*) OTHER[$kind]=$((${OTHER[$kind]:-0} + 1))
		   diag "$kind $i: exit $rc: $(head -c 300 "$WORK/op.err")" ;;
		esac
		[ "${T_MS[$kind]}" -ge 5 ] || T_MS[$kind]=5
	done
done
total=0
for kind in "${OPS[@]}"; do
	diag "$kind (T_MS ${T_MS[$kind]} at the end): ${FINISHED[$kind]:-0} reported success, ${KILLED[$kind]:-0} killed, ${OTHER[$kind]:-0} refused"
	total=$((total + ${FINISHED[$kind]:-0} + ${KILLED[$kind]:-0} + ${OTHER[$kind]:-0}))
done
check_eq "every preparation worked" "$prep_failed" 0
refused=0
for kind in "${OPS[@]}"; do
	refused=$((refused + ${OTHER[$kind]:-0}))
done
check_eq "no command was refused: what a killed one left never stops the next" "$refused" 0
diag "$total commands run"

# --- afterwards ----------------------------------------------------------------

run_cv vault verify
if [ "$RC" -eq 0 ] && grep -q '^problems: *0$' "$OUT"; then
	pass "vault verify passes after $total commands, some killed"
else
	fail "vault verify passes after $total commands, some killed" "exit $RC" "$(cat "$OUT" "$ERR" | head -30)"
fi
if /usr/bin/python3 "$LINKS" "$VAULT" "$WORK/state" >"$WORK/links.out" 2>&1; then
	pass "no version, key, secret or index entry is half there"
else
	fail "no version, key, secret or index entry is half there" "$(head -30 "$WORK/links.out")"
fi

# The check above can fail: the same vault with the key record of
# "tagged" taken out (mdb_dump, drop it, mdb_load) is a version without
# its key.
mkdir -m 700 "$WORK/damaged"
tagged_hex=$(printf 'tagged' | xxd -p)00
mdb_dump -a "$VAULT" | awk -v k=" $tagged_hex" '
	/^database=/ { db = substr($0, 10) }
	db == "keys" && index($0, k) == 1 { skip = 1; next }
	skip == 1 { skip = 0; next }
	{ print }' | mdb_load "$WORK/damaged" 2>/dev/null
if /usr/bin/python3 "$LINKS" "$WORK/damaged" >"$WORK/links.out" 2>&1; then
	fail "a key taken out is found" "links.py passed a vault missing a key"
else
	check_grep_links=$(grep -c 'without its key' "$WORK/links.out")
	check_eq "a key taken out is found: one version without its key" "$check_grep_links" 1
fi

# STATE_OF NAME: "VERSIONS PENDING" from links.py, "deleted VERSIONS" when
# it is deleted, "absent" when the vault holds nothing of NAME.
state_of() {
	local s
	s=$(awk -v n="$1" '$1 == n { if ($4 == 1) print "deleted", $2; else print $2, $3 }' "$WORK/state")
	echo "${s:-absent}"
}

# What `certificate show` and `show-deleted` say agrees: show 0 when live,
# 3 otherwise; show-deleted 0 when deleted, 3 otherwise.
show_agrees() {
	local name=$1 st=$2 want=0 want_del=3
	cv certificate show --name "$name" >/dev/null 2>&1
	local got=$?
	cv certificate show-deleted --name "$name" >/dev/null 2>&1
	local got_del=$?
	case $st in
	absent) want=3 ;;
	deleted*) want=3 want_del=0 ;;
	esac
	[ "$got" -eq "$want" ] && [ "$got_del" -eq "$want_del" ]
}

BAD=()
bad() { BAD+=("$*"); }
KILLED_WHOLE=0   # killed after their commit, before they could report

# A new certificate (create, import): reported, it is there with one
# version; not reported, it is there whole or not at all.
check_new() {
	local name=$1 rc=$2 st
	st=$(state_of "$name")
	if [ "$rc" -eq 0 ]; then
		[ "$st" = "1 0" ] || bad "$name reported success but is: $st"
	else
		[ "$st" = "1 0" ] || [ "$st" = absent ] || bad "$name (exit $rc) is half there: $st"
		[ "$st" = "1 0" ] && KILLED_WHOLE=$((KILLED_WHOLE + 1))
	fi
	show_agrees "$name" "$st" || bad "$name: certificate show disagrees with the tables ($st)"
}
check_create() { check_new "cr-$1" "$2"; }
check_import() { check_new "im-$1" "$2"; }

# A merge: reported, one version and no operation; not reported, still
# pending or wholly merged.
check_merge() {
	local st
	st=$(state_of "mg-$1")
	if [ "$2" -eq 0 ]; then
		[ "$st" = "1 0" ] || bad "mg-$1 merge reported success but is: $st"
	else
		[ "$st" = "1 0" ] || [ "$st" = "0 1" ] || bad "mg-$1 merge (exit $2) is half there: $st"
		[ "$st" = "1 0" ] && KILLED_WHOLE=$((KILLED_WHOLE + 1))
	fi
}

# A backup: reported, the file is there and opens as a vault that verifies;
# not reported, the file is absent or it is such a copy, never a part.
check_backup() {
	local f=$WORK/backups/b-$1.mdb r=$WORK/restored
	if [ ! -e "$f" ]; then
		[ "$2" -ne 0 ] || bad "backup $1 reported success but its file is missing"
		return 0
	fi
	rm -rf "$r"
	mkdir -m 700 "$r" && cp "$f" "$r/data.mdb" &&
		"$CERTVAULT" --vault "$r" vault verify --no-login >"$WORK/restored.out" 2>&1 ||
		bad "backup $1 (exit $2): the copy does not verify: $(tail -3 "$WORK/restored.out")"
	BACKUPS_CHECKED=$((BACKUPS_CHECKED + 1))
	rm -rf "$r"
}
BACKUPS_CHECKED=0

# The soft delete kinds.  A certificate made for them is whole ("1 0") when
# live and "deleted 1" when deleted; killed, it is in the state before or
# the state after, never between.
# The renewal passes also purge: a pass whose clock is past a deleted
# certificate's scheduled purge date (90 days after its delete, which the
# real clock dates within minutes of START) destroys it.  PASSED_AFTER I:
# "reported" when a pass of a later round than I, its clock past 90 days,
# reported success; "ran" when such passes ran but were all killed (each
# may have purged or not); "none" otherwise.
RENEW_RAN=() RENEW_REPORTED=()
while read -r kind i rc; do
	[ "$kind" = renew ] || continue
	[ "$((i * 5))" -gt 90 ] || continue
	RENEW_RAN+=("$i")
	[ "$rc" = 0 ] && RENEW_REPORTED+=("$i")
done <"$JOURNAL"
passed_after() {
	local j got=none
	for j in "${RENEW_RAN[@]}"; do [ "$j" -gt "$1" ] && got=ran; done
	for j in "${RENEW_REPORTED[@]}"; do [ "$j" -gt "$1" ] && got=reported; done
	echo "$got"
}
PURGED_BY_PASS=0

# CHECK_STATE NAME I RC WANT BEFORE: reported (RC 0), the state is WANT;
# not reported, WANT or BEFORE.  A deleted state may have been purged by a
# later pass (absent), and must have been when such a pass reported.
check_state() {
	local name=$1 i=$2 rc=$3 want=$4 before=$5 st after ok=0 s
	local allowed=("$want")
	st=$(state_of "$name")
	[ "$rc" -eq 0 ] || allowed+=("$before")
	after=$(passed_after "$i")
	if [ "$after" != none ]; then
		for s in "${allowed[@]}"; do
			if [ "$s" = "deleted 1" ]; then
				allowed+=(absent)
				[ "$after" = reported ] && allowed=("${allowed[@]/#deleted 1/}")
			fi
		done
	fi
	for s in "${allowed[@]}"; do [ -n "$s" ] && [ "$st" = "$s" ] && ok=1; done
	if [ "$ok" -eq 0 ]; then
		bad "$name (exit $rc, later purging passes: $after) is $st, not one of: ${allowed[*]}"
	fi
	[ "$rc" -ne 0 ] && [ "$st" = "$want" ] && [ "$want" != "$before" ] &&
		KILLED_WHOLE=$((KILLED_WHOLE + 1))
	[ "$st" = absent ] && [ "$want" != absent ] && [ "$before" != absent ] &&
		PURGED_BY_PASS=$((PURGED_BY_PASS + 1))
	show_agrees "$name" "$st" || bad "$name: show or show-deleted disagrees with the tables ($st)"
}
check_delete() { check_state "dl-$1" "$1" "$2" "deleted 1" "1 0"; }
check_recover() { check_state "rc-$1" "$1" "$2" "1 0" "deleted 1"; }
check_purge() { check_state "pg-$1" "$1" "$2" absent "deleted 1"; }
check_restore() { check_state "rs-$1" "$1" "$2" "1 0" absent; }

# Tags and policy: the value left is the last one reported, or one
# attempted after it (a killed command may have committed).
LAST_OK_tags=0 LAST_OK_policy=0
check_tags() { [ "$2" -eq 0 ] && LAST_OK_tags=$1; :; }
# Renewal: one version more per pass that reported, at most one per pass.
RENEW_OK=0 RENEW_TRIED=0
# (Round 0 runs at the time of creation, when nothing is due yet.)
check_renew() {
	[ "$1" -eq 0 ] && return 0
	RENEW_TRIED=$((RENEW_TRIED + 1))
	[ "$2" -eq 0 ] && RENEW_OK=$((RENEW_OK + 1))
	:
}
check_policy() { [ "$2" -eq 0 ] && LAST_OK_policy=$1; :; }

while read -r kind i rc; do
	[ "$rc" = prep-failed ] && continue
	"check_$kind" "$i" "$rc"
done <"$JOURNAL"

run_cv certificate show --name tagged --json
tag=$(jout '.tags.round // "none"')
if [[ $tag =~ ^[0-9]+$ ]] && [ "$tag" -ge "$LAST_OK_tags" ] && [ "$tag" -le "$ROUNDS" ]; then
	:
else
	bad "tagged: tag round=$tag, the last reported success set round=$LAST_OK_tags"
fi
run_cv certificate policy show --name policied --style rest
subj=$(jout '.x509_props.subject')
p=${subj#CN=p-}
if [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge "$LAST_OK_policy" ] && [ "$p" -le "$ROUNDS" ]; then
	:
elif [ "$subj" = CN=crash ] && [ "$LAST_OK_policy" -eq 0 ]; then
	:
else
	bad "policied: subject $subj, the last reported success set CN=p-$LAST_OK_policy"
fi

diag "$BACKUPS_CHECKED backup files opened and verified"
# A killed backup leaves no part of the vault behind under another name.
check_eq "killed backups left no temporary file" \
	"$(find "$WORK/backups" -name '*.tmp-*' | wc -l)" 0
diag "$KILLED_WHOLE killed commands had committed (wholly) before they died"
diag "$PURGED_BY_PASS deleted certificates purged by a renewal pass past their date"
read -r rv rp <<<"$(state_of renewed)"
diag "renewed has $rv versions after $RENEW_OK reported passes of $RENEW_TRIED"
if [ "$rp" != 0 ] || [ "$rv" -lt $((1 + RENEW_OK)) ] || [ "$rv" -gt $((1 + RENEW_TRIED)) ]; then
	bad "renewed: $rv versions (pending $rp) after $RENEW_OK reported renewals of $RENEW_TRIED"
fi

# The token: each new certificate whole, pending, or not there.
if [ -n "${CERTVAULT_MODULE:-}" ] && command -v pkcs11-tool >/dev/null; then
	CERTVAULT_VAULT=$VAULT "${P11TOOL[@]}" --module "$CERTVAULT_MODULE" --login \
		--pin "$CERTVAULT_PIN" -O 2>/dev/null | awk '
		/^Certificate Object/ { k = "cert" } /^Private Key Object/ { k = "priv" }
		/^Public Key Object/ { k = "pub" } /^Data Object/ { k = "data" }
		/^  label:/ { l = $2 } /^  ID:/ { print k, l, $2 }' >"$WORK/token"
	tokens_checked=0
	while read -r name nver npend ndel; do
		case $name in cr-* | im-* | mg-* | dl-* | rc-* | pg-* | rs-*) ;; *) continue ;; esac
		st="$nver $npend"
		[ "$ndel" = 1 ] && st="deleted $nver"
		certs=$(awk -v n="$name" '$1 == "cert" && $2 == n { print $3 }' "$WORK/token" | sort -u)
		privs=$(awk -v n="$name" '$1 == "priv" && $2 == n { print $3 }' "$WORK/token" | sort -u)
		case $st in
		"1 0") [ -n "$certs" ] && [ "$certs" = "$privs" ] ||
			bad "$name: the token shows certificate [$certs] and private key [$privs]" ;;
		"0 1") [ -z "$certs" ] && [ "$(wc -w <<<"$privs")" -eq 1 ] ||
			bad "$name (pending): the token shows certificate [$certs] and private key [$privs]" ;;
		*) [ -z "$certs$privs" ] ||
			bad "$name ($st): the token shows certificate [$certs] and private key [$privs]" ;;
		esac
		tokens_checked=$((tokens_checked + 1))
	done <"$WORK/state"
	for n in $(awk '{ print $2 }' "$WORK/token" | sort -u); do
		case $n in cr-* | im-* | mg-* | dl-* | rc-* | pg-* | rs-*) ;; *) continue ;; esac
		grep -q "^$n " "$WORK/state" || bad "$n: the token shows objects of a certificate the vault does not hold"
	done
	diag "the token's objects of $tokens_checked certificates checked"
else
	diag "no module or no pkcs11-tool: the token is not read"
fi

if [ "${#BAD[@]}" -eq 0 ]; then
	pass "every reported success is there, nothing unreported is half there"
else
	fail "every reported success is there, nothing unreported is half there" "${BAD[@]:0:30}"
fi

# The vault still takes every kind of change.
for kind in "${OPS[@]}"; do
	i=$((ROUNDS + 1))
	if "prep_$kind" "$i"; then
		"args_$kind" "$i"
		expect_ok "after the kills, $kind works" "${ARGS[@]}"
	else
		fail "after the kills, $kind works: its preparation failed"
	fi
done
run_cv vault verify
check_eq "vault verify passes at the end" "$RC" 0

[ -n "${CV_CRASH_DEBUG:-}" ] && { cat "$JOURNAL"; cat "$WORK/state"; } | sed "s/^/# /"
done_testing
