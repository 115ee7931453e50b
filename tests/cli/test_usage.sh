#!/bin/bash
# The command line itself: help, version, usage errors (exit 2, one line),
# the choice of vault, PINs without a terminal, input files.
. "$(dirname "$0")/lib.sh"
need setsid truncate

run_any "$CERTVAULT" --help
check "--help exits 0 and lists the commands" \
	test "$RC" -eq 0 -a -n "$(grep -F 'certificate pending merge' "$OUT")"
run_any "$CERTVAULT" --version
check "--version prints the version" grep -qE '^certvault [0-9]+\.[0-9]+' "$OUT"
run_any "$CERTVAULT" certificate --help
check "certificate --help lists its commands" \
	test "$RC" -eq 0 -a -n "$(grep -F 'certificate import' "$OUT")"
run_any "$CERTVAULT" certificate show --help
check "certificate show --help prints its usage" \
	test "$RC" -eq 0 -a -n "$(grep -F -- '--name N' "$OUT")"
run_any "$CERTVAULT"
check_eq "no arguments: exit 2" "$RC" 2

expect_usage "unknown group" "unknown command group 'frobnicate'" frobnicate
expect_usage "unknown command" "unknown command 'frob'" certificate frob
expect_usage "unknown option" "unknown option '--bogus'" certificate show --name a --bogus
expect_usage "option without its value" "needs a value" certificate show --name
expect_usage "missing --name" "--name is required" certificate show
expect_usage "stray argument" "unexpected argument 'extra'" certificate list extra
expect_usage "bad --style" "--style is rest or az" certificate get-default-policy --style yaml
expect_usage "bad --encoding" "--encoding is PEM or DER" \
	certificate download --name a --file x --encoding BER
expect_usage "DER with --chain" "DER" \
	certificate download --name a --file x --encoding DER --chain
expect_usage "--password and --password-file together" "not both" \
	certificate import --name a --file x --password p --password-file f
expect_usage "bad --enabled" "--enabled is true or false" \
	certificate set-attributes --name a --enabled maybe
expect_usage "bad secret --format" "--format is pem or pfx" \
	secret download --name a --file x --format jks

# The choice of vault.
: >"$WORK/empty.conf"
chmod 600 "$WORK/empty.conf"
run_any "$CERTVAULT" --config "$WORK/empty.conf" certificate list
check "no vault anywhere: exit 2 with one line" \
	test "$RC" -eq 2 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'no vault given' "$ERR")"

make_vault cli
printf 'vault = %s\n' "$VAULT" >"$WORK/one.conf"
chmod 600 "$WORK/one.conf"
run_any "$CERTVAULT" --config "$WORK/one.conf" vault show --json
check_eq "the config's first vault is used" "$(jout .name)" cli
run_any env CERTVAULT_VAULT="$VAULT" "$CERTVAULT" vault show --json
check_eq "CERTVAULT_VAULT names the vault" "$(jout .name)" cli
run_any "$CERTVAULT" vault show --vault "$VAULT" --json
check_eq "--vault and --json after the command" "$(jout .folder)" "$VAULT"
chmod 666 "$WORK/one.conf"
run_any "$CERTVAULT" --config "$WORK/one.conf" vault show
check "a config others may write is refused in one line" \
	test "$RC" -eq 1 -a "$(wc -l <"$ERR")" -eq 1
chmod 600 "$WORK/one.conf"

# PINs: no file, no variable, no terminal.
before=$(vault_dump)
run_any env -u CERTVAULT_PIN setsid -w "$CERTVAULT" --vault "$VAULT" \
	certificate create --name nopin --policy "$(policy CN=nopin)"
check "no PIN and no terminal: exit 1" test "$RC" -eq 1
check "no PIN and no terminal: one clear line" \
	test "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep -F 'no PIN given' "$ERR")"
check_eq "no PIN and no terminal: vault unchanged" "$(vault_dump)" "$before"

# Input files.
expect_fail_with "a missing policy file is named" "cannot read $WORK/nope.json" \
	certificate create --name a --policy "@$WORK/nope.json"
expect_fail_with "a missing import file is named" "cannot read $WORK/nope.pfx" \
	certificate import --name a --file "$WORK/nope.pfx"
truncate -s 17M "$WORK/big.pfx"
expect_fail_with "a file over 16 MiB is refused by name" \
	"$WORK/big.pfx is larger than 16 MiB" \
	certificate import --name a --file "$WORK/big.pfx"
expect_fail_with "a folder given as a file" "cannot read $WORK" \
	certificate import --name a --file "$WORK"

# Tags: repeated and space separated.
expect_ok "create with --tags a=1 b=2 --tags c=3" certificate create --name tagged \
	--policy "$(policy CN=tagged)" --tags a=1 b=2 --tags c=3
run_cv certificate show --name tagged --json
check_eq "all three tags kept" "$(jout '.tags | to_entries | map("\(.key)=\(.value)") | join(",")')" \
	"a=1,b=2,c=3"
expect_fail_with "a tag without a name" "has no name" \
	certificate create --name t2 --policy "$(policy CN=t2)" --tags =x

done_testing
