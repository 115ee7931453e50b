#!/bin/bash
# What the help says is what the parser takes: every command listed by
# `certvault --help` is asked for its own --help, and every option named
# there (long, az's short forms, the common ones) is given to the command
# before a final --help, which must then print the usage and exit 0.  Then
# the az spellings at work: -n, -f, -v, -p, -e, --vault-name, and
# --pin-file on commands that log in.
. "$(dirname "$0")/lib.sh"
need setsid

# The options a usage text names, one "FLAG VALUE" per line (VALUE empty
# for a flag without one): the first choice of "a|b", a placeholder as is.
flags_of() {
	/usr/bin/python3 -c '
import re, sys
for line in sys.stdin:
    if not re.match(r"(usage|short options|common options):", line):
        continue
    toks = [t.strip("[](),") for t in line.split()]
    for i, t in enumerate(toks):
        if not re.fullmatch(r"--?[a-zA-Z][a-zA-Z0-9-]*", t) or t == "--help":
            continue
        v = toks[i + 1] if i + 1 < len(toks) else ""
        if v == "" or v.startswith("-") or v == "|" or v.endswith(":"):
            v = ""
        print(t, v.split("|")[0])
'
}

run_any "$CERTVAULT" --help
mapfile -t commands < <(sed -n 's/^  certvault \(\([a-z-]\+ \?\)\+\)\( .*\)\?$/\1/p' "$OUT" |
	sed 's/ *$//' | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^-/ || $i ~ /^\[/) break;
		out = $1; for (j = 2; j < i; j++) out = out " " $j; print out }')
check "the help lists at least twenty commands" test "${#commands[@]}" -ge 20

for c in "${commands[@]}"; do
	# shellcheck disable=SC2086
	run_any "$CERTVAULT" $c --help
	if [ "$RC" -ne 0 ] || ! grep -q '^usage: certvault' "$OUT"; then
		fail "$c --help prints its usage" "exit $RC: $(cat "$ERR")"
		continue
	fi
	cp "$OUT" "$WORK/help.txt"
	bad=()
	n=0
	while read -r flag value; do
		n=$((n + 1))
		args=("$flag")
		[ -n "$value" ] && args+=("$value")
		# shellcheck disable=SC2086
		run_any "$CERTVAULT" $c "${args[@]}" --help
		if [ "$RC" -ne 0 ] || ! grep -q '^usage: certvault' "$OUT"; then
			bad+=("$flag ${value}: exit $RC: $(head -1 "$ERR")")
		fi
	done < <(flags_of <"$WORK/help.txt")
	if [ "${#bad[@]}" -eq 0 ] && [ "$n" -ge 3 ]; then
		pass "$c: all $n options its help names are accepted"
	else
		fail "$c: all options its help names are accepted ($n named)" "${bad[@]}"
	fi
done

# --help anywhere prints the usage and runs nothing, even after every
# option a command needs.
make_vault flags
expect_ok "create pend (issuer Unknown)" certificate create --name pend \
	--policy "$(policy CN=pend Unknown)"
expect_ok "create an issuer" issuer create --name iss --provider DigiCert --account-id a --webroot /srv/www
expect_ok "add a contact" contact add --email ops@example.com
before=$(vault_dump)
for args in "certificate pending delete --name pend" \
	"certificate pending cancel --name pend" \
	"certificate pending show --name pend" \
	"certificate pending csr --name pend --file $WORK/h.csr" \
	"issuer delete --name iss" "issuer show --name iss" \
	"issuer update --name iss --account-id b" \
	"contact delete --email ops@example.com" \
	"certificate set-attributes --name pend --enabled false" \
	"certificate policy update --name pend --policy {\"x509_props\":{\"validity_months\":3}}" \
	"certificate create --name other --policy @$WORK/nope.json"; do
	# shellcheck disable=SC2086
	run_cv $args --help
	check "$args --help: exit 0, the usage, nothing else" \
		test "$RC" -eq 0 -a -n "$(grep '^usage: certvault' "$OUT")" -a ! -s "$ERR"
done
check "no CSR file was written" test ! -e "$WORK/h.csr"
check_eq "--help ran nothing: the vault is unchanged" "$(vault_dump)" "$before"

# The common options every command's help names.
run_any "$CERTVAULT" secret download --help
check "secret download --help names --pin-file" grep -qF -- '--pin-file' "$OUT"
check "secret download --help names --vault-name" grep -qF -- '--vault-name' "$OUT"
check "secret download --help names -n and -f" \
	test -n "$(grep -F -- '-n N' "$OUT")" -a -n "$(grep -F -- '-f F' "$OUT")"

# az's short options at work.
policy CN=short >"$WORK/p.json"
expect_ok "certificate create -n -p @file" certificate create -n short -p "@$WORK/p.json"
run_cv certificate show -n short --json
check_eq "certificate show -n" "$(jout .name)" short
ver=$(jout .version)
run_cv certificate download -n short -v "$ver" -e DER -f "$WORK/short.der"
check "certificate download -n -v -e DER -f" \
	openssl x509 -inform DER -in "$WORK/short.der" -noout

# --pin-file on a command that logs in, with no variable and no terminal.
printf '%s\n' "$CERTVAULT_PIN" >"$WORK/pin.txt"
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	secret download -n short -f "$WORK/s.pem" --pin-file "$WORK/pin.txt"
check_eq "secret download --pin-file logs in" "$RC" 0
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	certificate create -n byfile -p "@$WORK/p.json" --pin-file "$WORK/pin.txt"
check_eq "certificate create --pin-file logs in" "$RC" 0
printf 'not-the-pin\n' >"$WORK/wrong.txt"
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	certificate create -n wrongpin -p "@$WORK/p.json" --pin-file "$WORK/wrong.txt"
check "a wrong --pin-file is refused in one line, exit 1" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1
before=$(vault_dump)

# --vault-name: a vault registered in the config file, by its name, or a
# folder when the value holds a '/'.
run_any "$CERTVAULT" --vault "$WORK/second" vault create --name Second
printf 'vault = %s\nvault = %s\n' "$VAULT" "$WORK/second" >"$WORK/two.conf"
chmod 600 "$WORK/two.conf"
run_any "$CERTVAULT" --config "$WORK/two.conf" vault show --vault-name Second --json
check_eq "--vault-name finds the config's vault by its name" "$(jout .folder)" "$WORK/second"
run_any "$CERTVAULT" --config "$WORK/two.conf" --vault-name flags vault show --json
check_eq "--vault-name before the group" "$(jout .folder)" "$VAULT"
run_any "$CERTVAULT" vault show --vault-name "$WORK/second" --json
check_eq "--vault-name with a '/' is the folder" "$(jout .name)" Second
run_any "$CERTVAULT" --config "$WORK/two.conf" vault show --vault-name Nowhere
check "an unknown --vault-name exits 3 in one line" \
	test "$RC" -eq 3 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F "no vault named 'Nowhere'" "$ERR")"
run_any "$CERTVAULT" --config "$WORK/two.conf" vault show --vault "$VAULT" --vault-name Second
check "--vault with --vault-name is a usage error" \
	test "$RC" -eq 2 -a "$(wc -l <"$ERR")" -eq 1
check_eq "the vault is unchanged by it all" "$(vault_dump)" "$before"

done_testing
