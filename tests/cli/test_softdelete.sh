#!/bin/bash
# Soft delete as Key Vault has it: certificate delete, list-deleted,
# show-deleted, recover, purge; the vault's retention days and purge
# protection (vault create, vault update, vault show); certvault run
# purging what is past its date.  Every refusal is one line and leaves the
# vault as it was.
. "$(dirname "$0")/lib.sh"

DAY=86400
KV_DELETED="is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged."
KV_PROTECTED='Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.'

epoch() {
	date -u -d "$1" +%s
}

make_vault
run_cv vault show --json
check_eq "a vault keeps deleted certificates 90 days by default" \
	"$(jout '[.softDeleteRetentionInDays, .enablePurgeProtection, .recoveryLevel] | join(",")')" \
	"90,false,Recoverable+Purgeable"

# --- vault create's settings ---------------------------------------------------
for bad in 6 91 x; do
	run_any "$CERTVAULT" --vault "$WORK/v-bad" vault create --name Bad --no-register \
		--retention-days "$bad"
	if [ "$RC" -eq 2 ] && _refused_with "--retention-days is 7 to 90" && [ ! -e "$WORK/v-bad/data.mdb" ]; then
		pass "--retention-days $bad is a usage error and makes no vault"
	else
		fail "--retention-days $bad is a usage error and makes no vault" "exit $RC: $(cat "$ERR")"
	fi
done
run_any "$CERTVAULT" --vault "$WORK/v7" vault create --name Seven --no-register --json \
	--retention-days 7 --enable-purge-protection
check_eq "vault create --retention-days 7 --enable-purge-protection" \
	"$(jout '[.softDeleteRetentionInDays, .enablePurgeProtection, .recoveryLevel] | join(",")')" \
	"7,true,CustomizedRecoverable"
run_any "$CERTVAULT" --vault "$WORK/v30" vault create --name Thirty --no-register --json \
	--retention-days 30
check_eq "30 days without protection" "$(jout .recoveryLevel)" "CustomizedRecoverable+Purgeable"

# --- delete ----------------------------------------------------------------------
for n in web keep; do
	run_cv certificate create --name "$n" --policy "$(policy "CN=$n.example")"
done
run_cv certificate create --name csr --policy "$(policy CN=csr.example Unknown)"
cert_pem web "$WORK/web.pem"
run_cv secret download --name web --file "$WORK/web-secret.pem" --format pem
created=$(vault_dump)

run_cv certificate delete --name web --json
check_eq "certificate delete" "$RC" 0
check_eq "it prints the recovery id" "$(jout .recoveryId)" "deletedcertificates/web"
check_eq "and the certificate" "$(jout '.name + " " + (.x5t | length > 0 | tostring)')" "web true"
deleted=$(epoch "$(jout .deletedDate)")
purge_at=$(epoch "$(jout .scheduledPurgeDate)")
check_eq "the purge is scheduled 90 days after the deletion" $((purge_at - deleted)) $((90 * DAY))
check "the deletion date is now" test $((deleted - $(date +%s))) -le 0 -a $(($(date +%s) - deleted)) -le 60

run_cv certificate show --name web
check "the certificate is gone from show (exit 3)" test "$RC" -eq 3
check "with Key Vault's not-found text" grep -qF "A certificate with (name/id) web was not found" "$ERR"
run_cv certificate list --json
check_eq "and from list" "$(jout '[.[].name] | sort | join(",")')" "csr,keep"
run_cv certificate list-deleted --json
check_eq "list-deleted shows it" "$(jout '[.[] | .name + "=" + .recoveryId] | join(",")')" \
	"web=deletedcertificates/web"
expect_ok "show-deleted" certificate show-deleted --name WEB --json
check_eq "show-deleted prints its dates" "$(epoch "$(jout .scheduledPurgeDate)")" "$purge_at"

expect_fail_with "delete a deleted certificate" "A certificate with (name/id) web was not found" \
	certificate delete --name web
check_eq "... exit 3" "$RC" 3
expect_fail_with "delete a name never made" "A certificate with (name/id) nope was not found" \
	certificate delete --name nope
expect_fail_with "create under the deleted name" "Certificate web $KV_DELETED" \
	certificate create --name web --policy "$(policy CN=web.example)"
expect_fail_with "import under the deleted name" "Certificate Web $KV_DELETED" \
	certificate import --name Web --file "$WORK/web-secret.pem"
expect_fail_with "import its key under another name" "the deleted certificate 'web'" \
	certificate import --name other --file "$WORK/web-secret.pem"
for verb in recover purge show-deleted; do
	expect_fail_with "$verb a name that is not deleted" "Deleted Certificate not found: keep" \
		certificate "$verb" --name keep
	check_eq "... exit 3" "$RC" 3
done
expect_usage "delete needs --name" "--name is required" certificate delete
expect_usage "purge needs --name" "--name is required" certificate purge
expect_fail_with "a bad name" "names may only contain" certificate recover --name 'a b'

# --- recover -----------------------------------------------------------------------
run_cv certificate recover --name web --json
check_eq "certificate recover" "$RC" 0
check_eq "prints the certificate" "$(jout .name)" "web"
check_eq "the vault is byte for byte what it was before the delete" "$(vault_dump)" "$created"
rm -f "$WORK/web2.pem"
cert_pem web "$WORK/web2.pem"
check "the same certificate is back" cmp -s "$WORK/web.pem" "$WORK/web2.pem"
run_cv certificate delete --name csr
check_eq "a pending certificate is deleted with its operation" "$RC" 0
run_cv certificate pending show --name csr
check_eq "... which is gone" "$RC" 3
expect_ok "and recovered with it" certificate recover --name csr
expect_ok "... pending show again" certificate pending show --name csr
check_eq "the vault is again as it was" "$(vault_dump)" "$created"

# --- purge -------------------------------------------------------------------------
run_cv certificate delete --name web
expect_ok "purge (no purge protection)" certificate purge --name web
check_eq "purge prints nothing" "$(cat "$OUT")" ""
run_cv certificate show-deleted --name web
check_eq "the purged certificate is not deleted any more" "$RC" 3
run_cv certificate list-deleted --json
check_eq "list-deleted is empty" "$(jout length)" 0
expect_ok "the name is free again" certificate create --name web --policy "$(policy CN=web.example)"
expect_ok "a purged certificate's records are all gone (verify)" vault verify --json
check_eq "... no problem" "$(jout .problems)" 0

# --- certvault run purges what is past its date ------------------------------------
run_cv certificate delete --name keep --json
keep_at=$(epoch "$(jout .scheduledPurgeDate)")
sleep 2
run_cv certificate delete --name web --json
web_at=$(epoch "$(jout .scheduledPurgeDate)")
check "the second delete is scheduled later" test "$web_at" -gt "$keep_at"
expect_ok "run before any date" run --once --now "@$((keep_at - 1))"
run_cv certificate list-deleted --json
check_eq "... purges nothing" "$(jout '[.[].name] | join(",")')" "keep,web"
expect_ok "run at the first date" run --once --now "@$keep_at"
check "... says so" grep -qF "purged 1 deleted certificate" "$OUT"
run_cv certificate list-deleted --json
check_eq "... purges that one only" "$(jout '[.[].name] | join(",")')" "web"
before=$(vault_dump)
expect_ok "run --dry-run past every date" run --dry-run --now "@$((web_at + DAY))"
check_eq "... purges nothing" "$(vault_dump)" "$before"

# --- a deleted certificate's lifetime actions do not fire; recovered, they do ----------
run_cv certificate create --name renewme --policy "$(policy CN=renewme.example | jq -c \
	'. + {lifetime_actions: [{trigger: {days_before_expiry: 300}, action: {action_type: "AutoRenew"}}]}')"
check_eq "a certificate with AutoRenew 300 days before expiry" "$RC" 0
at=$(($(date +%s) + 70 * DAY))
run_cv certificate delete --name renewme
expect_ok "run past its AutoRenew while it is deleted" run --once --now "@$at"
expect_ok "recover it" certificate recover --name renewme
run_cv certificate list-versions --name renewme --json
check_eq "the deleted certificate was not renewed" "$(jout length)" 1
expect_ok "run past its AutoRenew after the recover" run --once --now "@$at"
run_cv certificate list-versions --name renewme --json
check_eq "the recovered certificate's trigger fires" "$(jout length)" 2

# --- certificate restore and the deleted state --------------------------------------
run_cv certificate create --name kept --policy "$(policy CN=kept.example)"
expect_ok "back up a certificate" certificate backup --name kept --file "$WORK/kept.cvb"
expect_ok "delete it" certificate delete --name kept
expect_fail_with "restore under a deleted name" "Certificate kept $KV_DELETED" \
	certificate restore --file "$WORK/kept.cvb"
check_eq "... exits 1" "$RC" 1
expect_fail_with "a backup of a deleted certificate is not found" "kept" \
	certificate backup --name kept --file "$WORK/kept2.cvb"
check_eq "... exits 3" "$RC" 3
check "... and writes no file" test ! -e "$WORK/kept2.cvb"
expect_ok "recover it" certificate recover --name kept
run_cv secret download --name kept --file "$WORK/kept-secret.pem" --format pem
expect_ok "delete it again" certificate delete --name kept
expect_ok "purge it" certificate purge --name kept
# Its key imported under another name, and that certificate deleted: the
# deleted one holds the key, so a restore of the first would leave the
# second unrecoverable.
expect_ok "its key imported as holder" certificate import --name holder --file "$WORK/kept-secret.pem"
expect_ok "holder deleted" certificate delete --name holder
expect_fail_with "restore of a key a deleted certificate holds" "the deleted certificate 'holder'" \
	certificate restore --file "$WORK/kept.cvb"
expect_ok "holder purged" certificate purge --name holder
expect_ok "after the purges, the restore brings it back" certificate restore --file "$WORK/kept.cvb"
run_cv certificate show --name kept --json
check_eq "... whole" "$(jout .name)" kept
expect_ok "... and the vault verifies" vault verify

# --- purge protection ----------------------------------------------------------------
expect_usage "--enable-purge-protection takes true or false" "takes true or false" \
	vault update --enable-purge-protection bogus
expect_ok "turning it off while it is off changes nothing" vault update --enable-purge-protection false
expect_usage "vault update with nothing to change" "nothing to change" vault update
run_cv vault update --enable-purge-protection --json
check_eq "vault update --enable-purge-protection" \
	"$(jout '[.enablePurgeProtection, .recoveryLevel] | join(",")')" "true,Recoverable"
expect_fail_with "it cannot be turned off" "purge protection cannot be turned off" \
	vault update --enable-purge-protection false
expect_fail_with "... nor with =false" "purge protection cannot be turned off" \
	vault update --enable-purge-protection=false
expect_fail_with "a purge before the date is refused" "$KV_PROTECTED" certificate purge --name web
check_eq "... exit 1" "$RC" 1
expect_ok "run a day before the date" run --once --now "@$((web_at - DAY))"
run_cv certificate list-deleted --json
check_eq "... purges nothing" "$(jout '[.[].name] | join(",")')" "web"
expect_ok "recover is still allowed" certificate recover --name web
run_cv vault show --json
check_eq "purge protection stays on" "$(jout .enablePurgeProtection)" "true"

# --- vault verify: the deleted state's links ------------------------------------------
# Damage made as tests/cli/test_vault_verify.sh makes it: a copy of the vault
# from its mdb_dump with one record edited, as someone with write access to
# data.mdb and no PIN can.  KEY is text with "/" for each NUL, or hex:HEX.
cat >"$WORK/edit.py" <<'PY'
import sys
path, op, table, key = sys.argv[1:5]
value = sys.argv[5] if len(sys.argv) > 5 else ""
kb = bytes.fromhex(key[4:]) if key.startswith("hex:") else key.replace("/", "\0").encode()
lines = open(path).read().split("\n")
out, db, data, i, found = [], None, False, 0, None
while i < len(lines):
    line = lines[i]
    if line.startswith("database="):
        db = line.split("=", 1)[1]
    if line == "HEADER=END":
        data = True
    elif line == "DATA=END":
        if db == table and op == "add":
            out += [" " + kb.hex(), " " + value]
            found = True
        data = False
    elif data and db == table and line.startswith(" "):
        k, v = bytes.fromhex(line.strip()), lines[i + 1]
        i += 2
        if op == "get" and k == kb:
            print(v.strip())
            sys.exit(0)
        if op == "keyof" and bytes.fromhex(v.strip()) == kb:
            print(k.hex())
            sys.exit(0)
        if k == kb and op in ("drop", "cut"):
            found = True
            if op == "drop":
                continue
            v = " " + bytes.fromhex(v.strip())[:-3].hex()
        out += [line, v]
        continue
    out.append(line)
    i += 1
if not found:
    sys.exit("no record %s in %s" % (key, table))
open(path, "w").write("\n".join(out))
PY
run_cv certificate create --name dmg --policy "$(policy CN=dmg.example)"
run_cv certificate show --name dmg --json
dver=$(jout .version)
mdb_dump -a "$VAULT" >"$WORK/live.dump"
cert_hex=$(/usr/bin/python3 "$WORK/edit.py" "$WORK/live.dump" get certs dmg)
num_hex=$(/usr/bin/python3 "$WORK/edit.py" "$WORK/live.dump" keyof key_nums "dmg/$dver")
check "the key number of dmg's key is read from the dump" test -n "$num_hex" -a -n "$cert_hex"
run_cv certificate delete --name dmg
expect_ok "a vault with deleted certificates verifies" vault verify --json
check_eq "... counting them" "$(jout '[.deletedCertificates, .problems] | join(",")')" "1,0"

V=0
damaged() {
	local text=$1 want=$2 dir
	shift 2
	V=$((V + 1))
	dir="$WORK/damaged-$V"
	rm -rf "$dir"
	if ! { mkdir -m 700 "$dir" && mdb_dump -a "$VAULT" >"$WORK/all.dump" &&
		/usr/bin/python3 "$WORK/edit.py" "$WORK/all.dump" "$@" &&
		mdb_load -f "$WORK/all.dump" "$dir"; } >"$WORK/rebuild.err" 2>&1; then
		fail "$text" "could not edit the copy: $(cat "$WORK/rebuild.err")"
		return
	fi
	run_any "$CERTVAULT" --vault "$dir" vault verify
	if [ "$RC" -eq 1 ] && grep -qF -- "certvault: damaged: $want" "$ERR" &&
		! grep -qv '^certvault: damaged: ' "$ERR"; then
		pass "$text: \"$want\""
	else
		fail "$text: \"$want\"" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
}
damaged "a deleted certificate's version gone" "deleted/dmg: its current version $dver does not exist" \
	drop versions "dmg/$dver"
damaged "a deleted certificate's key gone" "versions/dmg/$dver: its key does not exist" \
	drop keys "dmg/$dver"
damaged "a deleted certificate's secret gone" "versions/dmg/$dver: its secret does not exist" \
	drop secrets "dmg/$dver"
damaged "key_nums pointing at a deleted certificate's key" \
	"deleted/dmg: key_nums still points at its key $dver" \
	add key_nums "hex:$num_hex" "$(printf 'dmg\0%s' "$dver" | xxd -p | tr -d '\n')"
damaged "a certificate both live and deleted" "deleted/dmg: the certificate is both live and deleted" \
	add certs dmg "$cert_hex"
damaged "a deleted record cut short" "deleted/dmg: does not decode" cut deleted dmg
damaged "a deleted record under a key that is no name" "deleted//: the key is not a certificate name" \
	add deleted "hex:00" "$(/usr/bin/python3 "$WORK/edit.py" "$WORK/all.dump" get deleted dmg)"

done_testing
