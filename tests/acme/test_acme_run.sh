#!/bin/bash
# certvault ACME: `certvault run` and --wait against Pebble, through each
# challenge way: the built-in responder answering Pebble's real http-01
# validation, --webroot served by a web server the test starts, --dns-hook
# setting the TXT record in Pebble's DNS; then with Pebble's validation
# sleep: the operation visibly inProgress across passes, a cancel in the
# middle, `pending show --wait`, and `certvault run` as a service stopped
# by SIGTERM.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
. "$ACME_DIR/run_lib.sh"
need jq curl /usr/bin/python3
[ -n "$CERTVAULT" ] && [ -x "$CERTVAULT" ] || skip_all "CERTVAULT does not name the tool"
cv() { "$CERTVAULT" "$@"; }

pebble_start
acme_vault
pebble_roots "$WORK/root.pem"

# --- http-01 through the built-in responder ----------------------------------
acme_issuer Listen --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
check_eq "an issuer answering http-01 with the built-in responder" "$RC" 0
acme_policy listen listen.example.com www.listen.example.com
run "$CERTVAULT" certificate create --name listen --policy "@$WORK/policy-listen.json"
check_eq "create with the ACME issuer returns at once" "$RC" 0
check_eq "the operation waits for a pass" "$(op_field listen .status)" inProgress
check "nothing answers http-01 before a pass" bash -c "! curl -s http://127.0.0.1:$PEBBLE_HTTP_PORT/ >/dev/null"
status=$(passes_until_done listen 5)
check_eq "run --once passes complete the order, Pebble fetching the responder's answers" \
	"$status" completed
[ "$status" = completed ] || diag "$(cat "$WORK/passes-listen")" "$(tail -20 "$WORK/pebble/pebble.log")"
check_grep "the pass says: completed, with the version" "$WORK/passes-listen" \
	'^listen: completed, version [0-9a-f]{32}$'
check "the responder stopped with the pass" bash -c "! curl -s http://127.0.0.1:$PEBBLE_HTTP_PORT/ >/dev/null"
cv certificate download --name listen --file "$WORK/listen.pem" >/dev/null 2>&1
cv certificate download --name listen --chain --file "$WORK/listen-chain.pem" >/dev/null 2>&1
check "the certificate verifies up to Pebble's root" \
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/listen-chain.pem" "$WORK/listen.pem"
check_eq "one version" "$(cv --json certificate list-versions --name listen | jq length)" 1
run "$CERTVAULT" run --once
check_eq "a pass with nothing to do exits 0" "$RC" 0
check_eq "... and says nothing" "$(cat "$OUT")" ""

# --- http-01 through --webroot, and create --wait ----------------------------
mkdir -p "$WORK/www"
web_start "$WORK/www"
acme_issuer Web --webroot "$WORK/www"
check_eq "an issuer answering http-01 through a webroot" "$RC" 0
acme_policy web web.example.com
run "$CERTVAULT" --json certificate create --name web --policy "@$WORK/policy-web.json" --wait --timeout 60
check_eq "create --wait exits 0 once the order completed" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")" "$(tail -20 "$WORK/pebble/pebble.log")"
check_eq "create --wait prints the operation as pending show does: completed" \
	"$(jq -r .status "$OUT")" completed
check_eq "create --wait with stderr not a terminal prints no progress line" "$(cat "$ERR")" ""
check_grep "Pebble fetched the answer from the web server" "$WORK/www.log" \
	'GET /.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1.1" 200'
check_eq "the webroot answer is removed once decided" \
	"$(find "$WORK/www/.well-known/acme-challenge" -type f | wc -l)" 0
check_eq "the webroot folders are 0755" \
	"$(stat -c %a "$WORK/www/.well-known" "$WORK/www/.well-known/acme-challenge" | sort -u)" 755
web_stop

# --- dns-01 through --dns-hook ------------------------------------------------
cat >"$WORK/dns-hook" <<EOF
#!/bin/sh
# set|clear _acme-challenge.NAME VALUE, into pebble-challtestsrv.
echo "\$1 \$2 \$3" >>"$WORK/hook.log"
case "\$1" in
set) curl -sf -d "{\"host\":\"\$2.\",\"value\":\"\$3\"}" "$CHALLTEST_MGMT/set-txt" ;;
clear) curl -sf -d "{\"host\":\"\$2.\"}" "$CHALLTEST_MGMT/clear-txt" ;;
*) echo "unknown action \$1" >&2; exit 2 ;;
esac
EOF
chmod 755 "$WORK/dns-hook"
acme_issuer Dns --dns-hook "$WORK/dns-hook"
check_eq "an issuer answering dns-01 through a hook" "$RC" 0
acme_policy dns dns.example.com
run "$CERTVAULT" certificate create --name dns --policy "@$WORK/policy-dns.json"
status=$(passes_until_done dns 10)
check_eq "the dns-01 order completes" "$status" completed
[ "$status" = completed ] || diag "$(cat "$WORK/passes-dns")" "$(cat "$WORK/hook.log" 2>/dev/null)"
check_grep "the hook set the TXT record of _acme-challenge.NAME" "$WORK/hook.log" \
	'^set _acme-challenge\.dns\.example\.com [A-Za-z0-9_-]{43}$'
check_grep "the hook cleared it" "$WORK/hook.log" '^clear _acme-challenge\.dns\.example\.com '

# A hook that refuses: its exit status and its words end up in the
# operation's error, on one line.
printf '#!/bin/sh\necho "zone example.com is locked" >&2\nexit 3\n' >"$WORK/bad-hook"
chmod 755 "$WORK/bad-hook"
acme_issuer BadDns --dns-hook "$WORK/bad-hook"
acme_policy dnsfail dnsfail.example.com
cv certificate create --name dnsfail --policy "@$WORK/policy-dnsfail.json" >/dev/null 2>&1
status=$(passes_until_done dnsfail 3)
check_eq "an operation whose hook refuses ends failed" "$status" failed
check_grep "... its error naming the hook's exit status and words" \
	<(op_field dnsfail .error.message) \
	'bad-hook set _acme-challenge\.dnsfail\.example\.com: exit status 3: zone example\.com is locked'

# --- Pebble's validation sleep ------------------------------------------------
# Pebble sleeps a random 0..N-1 seconds before each validation.  The
# operation stays inProgress for every pass in between; a certificate whose
# validation Pebble hardly delayed is tried again with another (at most 3).
pebble_stop
pebble_start PEBBLE_VA_NOSLEEP=0 PEBBLE_VA_SLEEPTIME=8
web_start "$WORK/www"
acme_issuer Slow --webroot "$WORK/www"
challenges=$(grep -c 'POST /chalZ/' "$WORK/pebble/pebble.log")
seen=0
for try in 1 2 3; do
	acme_policy "slow$try" "slow$try.example.com"
	cv certificate create --name "slow$try" --policy "@$WORK/policy-slow$try.json" >/dev/null 2>&1
	seen=0
	for i in $(seq 1 60); do
		pass_once "slow$try"
		status=$(op_field "slow$try" .status)
		[ "$status" = inProgress ] || break
		[ "$i" -gt 1 ] && seen=$((seen + 1))
		sleep 0.3
	done
	[ "$seen" -ge 3 ] && break
done
check "the operation stays inProgress across several run --once passes" test "$seen" -ge 3
check_eq "... and then completes" "$status" completed
[ "$status" = completed ] || diag "$(cat "$WORK/passes-slow$try")"
# Pebble shows a challenge "pending" all through its validation; a pass
# that POSTed it again would start a second validation (which fails once
# the first one's answer is taken down) or be refused once it is valid.
check_eq "... each challenge POSTed once, by the pass that answered it, not by the passes after" \
	"$(($(grep -c 'POST /chalZ/' "$WORK/pebble/pebble.log") - challenges))" "$try"

# A cancel in the middle: the order is placed and its challenge answered,
# not yet finalized; the next pass makes the cancel take effect.
acme_policy cancelme cancelme.example.com
cv certificate create --name cancelme --policy "@$WORK/policy-cancelme.json" >/dev/null 2>&1
pass_once cancelme
check_eq "after one pass the order is in progress" "$(op_field cancelme .status)" inProgress
check_grep "... and the pass said it ordered" "$WORK/passes-cancelme" '^cancelme: ordered; .*waiting'
run "$CERTVAULT" --json certificate pending cancel --name cancelme
check_eq "pending cancel during an order exits 0" "$RC" 0
check_eq "... and the cancel is requested, not yet in effect" \
	"$(jq -r '.status + " " + (.cancellationRequested|tostring)' "$OUT")" "inProgress true"
orders=$(new_orders)
pass_once cancelme
check_eq "the next pass cancels it" "$(op_field cancelme .status)" cancelled
check_grep "... and says so" "$WORK/passes-cancelme" '^cancelme: cancelled$'
check_eq "... without ordering again" "$(new_orders)" "$orders"
n=$(cv --json certificate list-versions --name cancelme 2>/dev/null | jq length 2>/dev/null)
check_eq "no certificate version was made" "${n:-0}" 0

# A cancel before any pass takes effect at once, and no pass orders it.
acme_policy cancel0 cancel0.example.com
cv certificate create --name cancel0 --policy "@$WORK/policy-cancel0.json" >/dev/null 2>&1
run "$CERTVAULT" certificate pending cancel --name cancel0
check_grep "a cancel before any pass says it took effect" "$OUT" '^The cancellation took effect'
orders=$(new_orders)
pass_once cancel0
check_eq "... and no pass orders it" "$(new_orders)" "$orders"
check_eq "... it stays cancelled" "$(op_field cancel0 .status)" cancelled

# pending show --wait advances an operation no pass works on.
acme_policy waitme waitme.example.com
cv certificate create --name waitme --policy "@$WORK/policy-waitme.json" >/dev/null 2>&1
run "$CERTVAULT" --json certificate pending show --name waitme --wait --timeout 60
check_eq "pending show --wait exits 0 once completed" "$RC" 0
check_eq "... printing the operation completed" "$(jq -r .status "$OUT")" completed
check_eq "... and one version" "$(cv --json certificate list-versions --name waitme | jq length)" 1

# --wait on an operation only a merge can end: bounded by --timeout.
printf '{"key_props":{"kty":"EC","crv":"P-256"},"x509_props":{"subject":"CN=manual"},"issuer":{"name":"Unknown"}}' \
	>"$WORK/policy-manual.json"
run "$CERTVAULT" --json certificate create --name manual --policy "@$WORK/policy-manual.json" --wait --timeout 2
check_eq "create --wait that times out exits 1" "$RC" 1
check_grep "... with a line saying it is still in progress" "$ERR" \
	'^certvault: the operation of manual is still in progress after 2 s'
check_eq "... the status printed" "$(jq -r .status "$OUT")" inProgress
# The progress line is for a person: only when stderr is a terminal.
if command -v script >/dev/null; then
	script -qec "'$CERTVAULT' certificate pending show --name manual --wait --timeout 2 >'$WORK/tty.out'" \
		"$WORK/typescript" >/dev/null 2>&1
	check_grep "--wait on a terminal shows a progress line" "$WORK/typescript" \
		'manual: waiting for a merge \([0-9]+s\)'
	script -qec "'$CERTVAULT' certificate pending show --name manual --wait --timeout 1 2>'$WORK/tty.err'" \
		"$WORK/typescript2" >/dev/null 2>&1
	check "... and none when stderr is not one" \
		bash -c "! grep -qE 'waiting for a merge \([0-9]+s\)' '$WORK/typescript2' '$WORK/tty.err'"
else
	skip "--wait on a terminal shows a progress line" "script (util-linux) missing"
fi
run "$CERTVAULT" certificate pending show --name manual --timeout 5
check_eq "--timeout without --wait is a usage error" "$RC" 2
run "$CERTVAULT" certificate pending show --name manual --wait --timeout 0
check_eq "--timeout 0 is a usage error" "$RC" 2
run "$CERTVAULT" certificate pending show --name nosuch --wait --timeout 5
check_eq "--wait on a name with no operation: not found" "$RC" 3
run "$CERTVAULT" run --interval 0
check_eq "run --interval 0 is a usage error" "$RC" 2

# certvault run as a service, with an interval far longer than the test:
# it wakes for the operation's next attempt (the CA's validation is looked
# at again), and SIGTERM ends its wait at once.
acme_policy svc svc.example.com
cv certificate create --name svc --policy "@$WORK/policy-svc.json" >/dev/null 2>&1
"$CERTVAULT" run --interval 3600 >"$WORK/service.out" 2>"$WORK/service.err" &
svc=$!
track "$svc"
for i in $(seq 1 120); do
	[ "$(op_field svc .status)" = inProgress ] || break
	sleep 0.5
done
check_eq "certvault run completes the operation by itself, woken by its next attempt" \
	"$(op_field svc .status)" completed
check_grep "... and says so" "$WORK/service.out" '^svc: completed, version [0-9a-f]{32}$'
# Two --wait at once on one operation: whichever claims it works on it,
# the other finds it busy and only watches; one order between them.
acme_policy both both.example.com
cv certificate create --name both --policy "@$WORK/policy-both.json" >/dev/null 2>&1
orders=$(new_orders)
"$CERTVAULT" --json certificate pending show --name both --wait --timeout 25 \
	>"$WORK/both1.out" 2>"$WORK/both1.err" &
both=$!
run "$CERTVAULT" --json certificate pending show --name both --wait --timeout 25
wait "$both"
rc=$?
check_eq "two pending show --wait at once both exit 0" "$RC $rc" "0 0"
check_eq "... both print it completed" \
	"$(jq -r .status "$OUT") $(jq -r .status "$WORK/both1.out")" "completed completed"
check_eq "... with one order between them" "$(($(new_orders) - orders))" 1
kill -TERM "$svc"
for i in $(seq 1 100); do
	kill -0 "$svc" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$svc" 2>/dev/null
wait "$svc"
rc=$?
check_eq "SIGTERM ends certvault run with status 0" "$rc" 0
[ "$rc" = 0 ] || diag "$(cat "$WORK/service.err")"
web_stop

# SIGTERM while a pass waits for the CA's validation with the responder up:
# the step at hand is finished (the order completes), then the service ends.
acme_issuer Term --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
acme_policy term term.example.com
cv certificate create --name term --policy "@$WORK/policy-term.json" >/dev/null 2>&1
"$CERTVAULT" run --interval 3600 >"$WORK/term.out" 2>"$WORK/term.err" &
svc=$!
track "$svc"
for i in $(seq 1 200); do
	[ "$(op_field term '.step // empty')" = authorize ] && break
	sleep 0.05
done
kill -TERM "$svc"
for i in $(seq 1 300); do
	kill -0 "$svc" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$svc" 2>/dev/null
wait "$svc"
rc=$?
check_eq "SIGTERM during a validation: the service ends with status 0" "$rc" 0
check_eq "... after finishing the step at hand: the order completed" "$(op_field term .status)" completed
check_grep "... and said so" "$WORK/term.out" '^term: completed, version [0-9a-f]{32}$'
done_testing
