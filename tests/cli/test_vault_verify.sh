#!/bin/bash
# vault verify: every record decodes, every link holds, every sealed record
# opens; each kind of damage is named, one line each, and exits 1.
. "$(dirname "$0")/lib.sh"
need mdb_load /usr/bin/python3

make_vault
for n in 1 2; do
	run_cv certificate create --name "self-$n" --policy "$(policy "CN=self-$n.example")"
done
run_cv certificate create --name pending --policy "$(policy "CN=pending.example" Unknown)"
mkdir -p "$WORK/www"
echo "issuer-secret-1" >"$WORK/issuer.pass"
run_cv issuer create --name digi --provider DigiCert --account-id a --webroot "$WORK/www" \
	--password-file "$WORK/issuer.pass"
run_cv contact add --email ops@example.com
# An ACME issuer gets its account key, sealed, when it is made (no CA is
# asked).
run_cv issuer create --name acme --provider ACME --directory-url https://127.0.0.1:14000/dir \
	--http-listen 127.0.0.1:5002

# --- a clean vault ------------------------------------------------------------
before=$(vault_dump)
expect_ok "a clean vault verifies" vault verify --json
check_eq "verify changes nothing" "$(vault_dump)" "$before"
check_eq "it counts the certificates" "$(jout .certificates)" 3
check_eq "and the versions" "$(jout .versions)" 2
check_eq "and the keys (the pending one too)" "$(jout .keys)" 3
check_eq "and the operations" "$(jout .operations)" 3
check_eq "and ops_active (the one in progress)" "$(jout .opsActive)" 1
check_eq "and the issuers and contacts" "$(jout '[.issuers, .contacts] | join(",")')" "2,1"
check "and the lifetime tables" test "$(jout .triggers)" -gt 0 -a "$(jout .due)" -eq "$(jout .triggers)"
# DigiCert is an ACME preset: digi has an account key besides its password.
check_eq "it opened keys, secrets, the issuer's password and both ACME account keys" \
	"$(jout .sealedOpened)" $((3 + 2 + 1 + 2))
check_eq "and found nothing wrong" "$(jout .problems)" 0
check_eq "it follows every key_ids entry (one per key)" "$(jout .keyIds)" 3
check_eq "and every key_nums entry" "$(jout .keyNums)" 3
# header, next_key_num, events.next (the two events of the new versions).
check_eq "and reads the meta records" "$(jout .metaRecords)" 3
check "and the generation" test "$(jout .generation)" -gt 0
check_eq "no event names a certificate that is gone" "$(jout .eventsOfGoneCertificates)" 0
diag "events $(jout .events), outbox $(jout .outbox)"
before=$(vault_dump)
expect_ok "without a login it checks the rest" vault verify --no-login --json
check_eq "and opens nothing sealed" "$(jout .sealedOpened)" 0
check_eq "the vault is as it was" "$(vault_dump)" "$before"

# --- damage ---------------------------------------------------------------------
# rebuild DIR OP TABLE KEY [VALUE]: a copy of the vault in DIR made from its
# mdb_dump with one record edited (cut: its value cut short by 3 bytes,
# flip: its middle byte changed, seal: the
# middle byte of its sealed field changed, sealacct: of its sealed ACME
# account key, drop: removed, dropval: the record whose value is VALUE
# removed, field: the field TAG of its record set to TEXT, VALUE being
# "TAG=TEXT", add: added with VALUE), as someone with write access to
# data.mdb and no PIN can.  KEY and VALUE are text, "/" for each NUL; the
# first 16 hex digits of KEY may be given as "T:" (a due time), or all of
# it as "H:" and hex digits.
cat >"$WORK/edit.py" <<'PY'
import sys
path, op, table, key = sys.argv[1:5]
value = sys.argv[5] if len(sys.argv) > 5 else ""
kb = key.replace("/", "\0").encode()
if key.startswith("T:"):
    kb = bytes(8) + key[2:].replace("/", "\0").encode()
if key.startswith("H:"):
    kb = bytes.fromhex(key[2:])
vb = value.replace("/", "\0").encode()
if value.startswith("H:"):
    vb = bytes.fromhex(value[2:])
out, db, values, pending_key, done = [], None, False, None, False
for line in open(path):
    if line.startswith("database="):
        db = line.strip().split("=", 1)[1]
    if line.startswith("HEADER=END"):
        values, pending_key = True, None
        out.append(line)
        continue
    if line.startswith("DATA=END"):
        if db == table and op == "add" and not done:
            out.append(" " + kb.hex() + "\n")
            out.append(" " + vb.hex() + "\n")
            done = True
        values = False
    if values and db == table and line.startswith(" "):
        if pending_key is None:
            pending_key = bytes.fromhex(line.strip())
            held = line
            continue
        k, pending_key = pending_key, None
        v = bytes.fromhex(line.strip())
        if (k == kb and op not in ("add", "dropval")) or (op == "dropval" and v == vb):
            done = True
            if op in ("drop", "dropval"):
                continue
            if op == "field":
                tag, text = value.split("=", 1)
                off = 2
                while off + 5 <= len(v):
                    t, n = v[off], int.from_bytes(v[off + 1:off + 5], "big")
                    if t == int(tag):
                        new = text.encode()
                        v = v[:off + 1] + len(new).to_bytes(4, "big") + new + v[off + 5 + n:]
                        break
                    off += 5 + n
                else:
                    sys.exit("no field %s in %s" % (tag, key))
            if op == "cut":
                v = v[:-3]
            if op == "flip":
                m = len(v) // 2
                v = v[:m] + bytes([v[m] ^ 1]) + v[m + 1:]
            if op in ("seal", "sealacct"):
                want = 8 if op == "seal" else 107
                off = 2
                while off + 5 <= len(v):
                    tag, n = v[off], int.from_bytes(v[off + 1:off + 5], "big")
                    if tag == want:
                        m = off + 5 + n // 2
                        v = v[:m] + bytes([v[m] ^ 1]) + v[m + 1:]
                        break
                    off += 5 + n
                else:
                    sys.exit("no sealed field in %s" % key)
            out.append(held)
            out.append(" " + v.hex() + "\n")
            continue
        out.append(held)
    out.append(line)
if not done:
    sys.exit("no record %s in %s" % (key, table))
open(path, "w").write("".join(out))
PY
N=0
rebuild() {
	local dir=$1
	shift
	rm -rf "$dir"
	mkdir -m 700 "$dir" &&
		mdb_dump -a "$VAULT" >"$WORK/all.dump" &&
		/usr/bin/python3 "$WORK/edit.py" "$WORK/all.dump" "$@" &&
		mdb_load -f "$WORK/all.dump" "$dir"
}

# damaged TEXT WANT OP TABLE KEY [VALUE]: verify of the edited copy exits 1
# and names the damage in a line of its own; every line it prints on
# stderr is one damage.
damaged() {
	local text=$1 want=$2 dir
	shift 2
	N=$((N + 1))
	dir="$WORK/damaged-$N"
	if ! rebuild "$dir" "$@" >"$WORK/rebuild.err" 2>&1; then
		fail "$text" "could not edit the copy: $(cat "$WORK/rebuild.err")"
		return
	fi
	before=$(vault_dump "$dir")
	run_any "$CERTVAULT" --vault "$dir" vault verify
	if [ "$RC" -eq 1 ] && grep -qF -- "certvault: damaged: $want" "$ERR" &&
		! grep -qv '^certvault: damaged: ' "$ERR"; then
		pass "$text: \"$want\""
	else
		fail "$text: \"$want\"" "exit $RC, stderr:" "$(cat "$ERR")"
	fi
	check_eq "$text: verify leaves the copy as it was" "$(vault_dump "$dir")" "$before"
}

VER1=$(cv certificate show --name self-1 --json | jq -r '.id | split("/") | last')
VER2=$(cv certificate show --name self-2 --json | jq -r '.id | split("/") | last')
diag "self-1 is version $VER1, self-2 $VER2"

mkdir -m 700 "$WORK/same" && mdb_dump -a "$VAULT" >"$WORK/same.dump" &&
	mdb_load -f "$WORK/same.dump" "$WORK/same"
run_any "$CERTVAULT" --vault "$WORK/same" vault verify
check "a copy made by mdb_dump and mdb_load, unedited, verifies" test "$RC" -eq 0

damaged "a version record cut short" \
	"versions/self-1/$VER1: does not decode" cut versions "self-1/$VER1"
damaged "a certificate record cut short" \
	"certs/self-2: does not decode" cut certs self-2
damaged "a key record with its middle byte changed" \
	"keys/self-1/$VER1: does not decode" flip keys "self-1/$VER1"
damaged "a secret whose sealed bytes were changed" \
	"secrets/self-2/$VER2: does not open" seal secrets "self-2/$VER2"
damaged "an operation record cut short" \
	"pending/self-1: does not decode" cut pending self-1
damaged "an issuer whose sealed password was changed" \
	"issuers/digi: its password does not open" seal issuers digi
damaged "an ACME account key whose sealed bytes were changed" \
	"issuers/acme: its ACME account key does not open" sealacct issuers acme
damaged "a contact record cut short" \
	"contacts/ops@example.com: does not decode" cut contacts ops@example.com
damaged "a deleted key record" \
	"versions/self-2/$VER2: its key does not exist" drop keys "self-2/$VER2"
damaged "a deleted secret" \
	"versions/self-1/$VER1: its secret does not exist" drop secrets "self-1/$VER1"
damaged "a deleted current version" \
	"certs/self-1: its current version $VER1 does not exist" drop versions "self-1/$VER1"
damaged "an operation without its certificate" \
	"pending/self-2: its certificate does not exist" drop certs self-2
damaged "a dangling due entry" \
	"due/ghost/$VER1/\\x01: its trigger does not exist (due at 0)" \
	add due "T:ghost/$VER1/"$'\x01' ghost
damaged "ops_active naming no operation" \
	"ops_active/ghost: lists an operation that does not exist" add ops_active ghost ghost
damaged "ops_active naming a completed operation" \
	"ops_active/self-1: lists an operation that is completed, not inProgress" \
	add ops_active self-1 self-1
damaged "an operation in progress missing from ops_active" \
	"pending/pending: is inProgress but not in ops_active" drop ops_active pending

# The key indexes, both ways: every entry names a key that exists and has
# that CKA_ID or number, every key has its entries.
damaged "a key_ids entry naming a key that does not exist" \
	"key_ids/AAAAAAAAAAAAAAAAAAAA: names the key ghost/$VER1, which does not exist" \
	add key_ids AAAAAAAAAAAAAAAAAAAA "ghost/$VER1"
damaged "a key_ids entry naming a key of another CKA_ID" \
	"key_ids/BBBBBBBBBBBBBBBBBBBB: names the key self-1/$VER1, whose key id differs" \
	add key_ids BBBBBBBBBBBBBBBBBBBB "self-1/$VER1"
damaged "a key missing from key_ids" \
	"keys/self-2/$VER2: is missing from key_ids" dropval key_ids x "self-2/$VER2"
damaged "a key missing from key_nums" \
	"keys/self-1/$VER1: its number" dropval key_nums x "self-1/$VER1"
damaged "a key_nums entry naming a key of another number" \
	"key_nums///////\x03\xe7: names the key self-1/$VER1, whose number is" \
	add key_nums H:00000000000003e7 "self-1/$VER1"
damaged "a key_nums entry naming a key that does not exist" \
	"key_nums/////////: names the key ghost/$VER1, which does not exist" \
	add key_nums H:0000000000000000 "ghost/$VER1"
damaged "next_key_num not beyond every key number" \
	"meta/next_key_num: does not lie beyond key number 999" \
	add key_nums H:00000000000003e7 "self-1/$VER1"

# The meta records: the vault record's fields, the PIN records, the
# counters.
damaged "a vault record whose serial is not 16 hex digits" \
	"meta/header: the serial number is not 16 hex digits" field meta header "10=not-hex-serial!"
damaged "a vault record without a name" \
	"meta/header: the vault has no name" field meta header "1="
# A PIN record missing or damaged refuses the vault before verify, with one
# line naming the record, and changes nothing.
for pin_case in "drop pin.so:the vault has no pin.so record" \
	"cut pin.user:the vault's pin.user record does not decode"; do
	op=${pin_case%% *}
	rest=${pin_case#* }
	rebuild "$WORK/pins" "$op" meta "${rest%%:*}" >"$WORK/rebuild.err" 2>&1
	before=$(vault_dump "$WORK/pins")
	run_any "$CERTVAULT" --vault "$WORK/pins" vault verify --no-login
	check "$op ${rest%%:*}: refused with one line, exit 1: \"${rest#*:}\"" \
		test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1 -a \
		"$(cat "$ERR")" = "certvault: ${rest#*:}"
	[ "$RC" -eq 1 ] && [ "$(cat "$ERR")" = "certvault: ${rest#*:}" ] || diag "exit $RC: $(cat "$ERR")"
	check_eq "$op ${rest%%:*}: the copy is as it was" "$(vault_dump "$WORK/pins")" "$before"
done
damaged "next_key_num not 8 bytes" \
	"meta/next_key_num: is 5 bytes, not an 8-byte counter" cut meta next_key_num

# The lifetime records point at a version that exists: a trigger (its
# version gone; the other lines name the rest of the damage).
rebuild "$WORK/trigger" drop versions "self-2/$VER2" >"$WORK/rebuild.err" 2>&1
run_any "$CERTVAULT" --vault "$WORK/trigger" vault verify
check "a trigger of a version gone: exit 1" test "$RC" -eq 1
check "and one line naming it" grep -qE "^certvault: damaged: triggers/self-2/$VER2/.*: its version self-2/$VER2 does not exist\$" "$ERR"
check "an event of that version is no damage: events are history" \
	sh -c "! grep -q '^certvault: damaged: events/' '$ERR'"
run_any "$CERTVAULT" --vault "$WORK/trigger" vault verify --json
check_eq "it is counted as an event of a certificate gone" \
	"$(jq -r .eventsOfGoneCertificates "$OUT")" 1

# An outbox mail (a record of the store's format: NAME and VERSION fields)
# names a version that exists, and outbox.next lies beyond its id.
mail_record() {
	/usr/bin/python3 -c 'import sys
f = lambda t, v: bytes([t]) + len(v).to_bytes(4, "big") + v
print((bytes([1, 11]) + f(1, sys.argv[1].encode()) + f(7, sys.argv[2].encode())).hex())' "$1" "$2"
}
damaged "an outbox mail of a version that does not exist" \
	"outbox///////\x03\xe7: its version ghost/$VER1 does not exist" \
	add outbox H:00000000000003e7 "H:$(mail_record ghost "$VER1")"
rebuild "$WORK/mail" add outbox H:0000000000000001 "H:$(mail_record self-1 "$VER1")" \
	>"$WORK/rebuild.err" 2>&1
run_any "$CERTVAULT" --vault "$WORK/mail" vault verify
check_eq "a mail of a version that exists, without outbox.next: that one line" \
	"$(cat "$ERR")" "certvault: damaged: meta/outbox.next: does not lie beyond mail 1"
damaged "events.next gone while events exist" \
	"meta/events.next: does not lie beyond event 2" drop meta events.next

# Without a login the sealed bytes are not opened, and a record that only
# fails to open passes; everything else is still found.
rebuild "$WORK/nologin" seal secrets "self-2/$VER2" >/dev/null 2>&1
run_any "$CERTVAULT" --vault "$WORK/nologin" vault verify --no-login
check "--no-login does not open secrets" test "$RC" -eq 0
rebuild "$WORK/nologin" drop keys "self-2/$VER2" >/dev/null 2>&1
run_any "$CERTVAULT" --vault "$WORK/nologin" vault verify --no-login
check "but still finds a missing key" grep -qF "versions/self-2/$VER2: its key does not exist" "$ERR"

# A wrong PIN is counted (as every PIN attempt is), so here the vault does
# change: the check is the refusal alone.
run_cv vault verify --pin-file <(echo wrong-pin-0000)
check "a wrong PIN is refused with one line" _refused_with "PIN"

done_testing
