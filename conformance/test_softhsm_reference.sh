#!/bin/bash
# The reference run: the client checks of test_pkcs11_tool.sh,
# test_p11tool.sh and test_openssl_engine.sh against SoftHSMv2, on a token
# of the same label and PINs holding the same kinds of keys and
# certificates.  Checks that depend on what only a vault holds are skipped;
# where SoftHSMv2 is known to answer otherwise the check asserts the recorded
# difference (README.md, "Conformance table").  A difference not known yet
# fails here: add it to the table, and to the check as softhsm_differs.
. "$(dirname "$0")/lib.sh"
need softhsm2-util pkcs11-tool
[ -f "$SOFTHSM_MODULE" ] || skip_all "$SOFTHSM_MODULE missing"

for script in test_pkcs11_tool.sh test_p11tool.sh test_openssl_engine.sh; do
	name=${script#test_}
	name=${name%.sh}
	CONFORMANCE_TARGET=softhsm CONFORMANCE_SKIP_STATUS=0 \
		timeout -k 5 50 bash "$CONFORMANCE_DIR/$script" >"$WORK/$name.tap" 2>"$WORK/$name.err"
	rc=$?
	if grep -q '^1\.\.0 # SKIP' "$WORK/$name.tap"; then
		skip "$name" "$(sed -n 's/^1\.\.0 # SKIP //p' "$WORK/$name.tap")"
		continue
	fi
	if [ "$rc" -ne 0 ] || ! grep -q '^1\.\.[1-9]' "$WORK/$name.tap"; then
		fail "$name: the script ran to its plan" "exit $rc" "$(tail -5 "$WORK/$name.tap" "$WORK/$name.err")"
	fi
	# Renumber: "ok N - text[ # directive]" becomes this script's own.
	while IFS= read -r line; do
		case $line in
		"ok "*|"not ok "*)
			TAP_N=$((TAP_N + 1))
			status=${line%% [0-9]*}
			rest=${line#* [0-9]* - }
			[ "$status" = ok ] || TAP_FAILED=$((TAP_FAILED + 1))
			echo "$status $TAP_N - $name: $rest"
			;;
		"#"*) echo "$line" ;;
		esac
	done <"$WORK/$name.tap"
done

done_testing
