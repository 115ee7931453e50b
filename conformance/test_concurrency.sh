#!/bin/bash
# Concurrency: the tool creates, retags, deletes, recovers and purges certificates (up to 150 rounds) while
# nginx's workers serve TLS from the token (two server blocks: the RSA and
# the EC certificate, through the pkcs11 engine) to bounded curl loops, and
# a 16-thread PKCS#11 application (tests/faults/signer.c) signs and verifies
# with the EC key.  Those certificates are never changed: not one handshake
# may fail and not one signature.  Counts are printed.
#
# What the tool does is a table (WRITES), each kind a function write_KIND I
# running one certvault command: create churn-I, retag it, delete it, and
# recover it (even rounds) or purge it (odd ones).  Bounds: CV_CONC_WRITES rounds
# (default 150) and CV_CONC_SECONDS (default 90), whichever comes first.
# The signer runs niced: sixteen threads that never wait would otherwise
# take two cores from the tool, and the point is what happens while they
# sign, not how fast the tool writes beside them.
. "$(dirname "$0")/lib.sh"
need nginx curl getent pkcs11-tool
[ "$TARGET" = certvault ] || skip_all "the concurrency test runs against certvault only"
[ "$(id -u)" -eq 0 ] || skip_all "nginx needs root (its workers run as www-data)"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
[ -n "${CV_SIGNER:-}" ] && [ -x "$CV_SIGNER" ] || skip_all "CV_SIGNER does not name tests/faults/signer"
make_target
engine_config 1 || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"
. "$(dirname "$0")/nginx_lib.sh"
nginx_share_vault

ROUNDS=${CV_CONC_WRITES:-150}
WRITE_SECONDS=${CV_CONC_SECONDS:-90}
CLIENTS=2          # curl loops
LOOP_SECONDS=$((WRITE_SECONDS + 30))
SIGN_THREADS=16

# --- what the tool writes -----------------------------------------------------

printf '{"key_props":%s,"x509_props":{"subject":"CN=churn","validity_months":12},"issuer":{"name":"Self"}}' \
	'{"kty":"EC","crv":"P-256","exportable":false}' >"$WORK/churn.json"

WRITES=(create tags delete settle)

write_create() { CERTVAULT_PIN=$PIN cv certificate create --name "churn-$1" --policy "@$WORK/churn.json"; }
write_tags() { CERTVAULT_PIN=$PIN cv certificate set-attributes --name "churn-$1" --tags "round=$1"; }
write_delete() { CERTVAULT_PIN=$PIN cv certificate delete --name "churn-$1"; }
# Even rounds recover what they deleted, odd ones purge it.
write_settle() {
	if [ $(($1 % 2)) -eq 0 ]; then
		CERTVAULT_PIN=$PIN cv certificate recover --name "churn-$1"
	else
		CERTVAULT_PIN=$PIN cv certificate purge --name "churn-$1"
	fi
}

# --- nginx and the clients ------------------------------------------------------

P1=$(free_port)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$((P2 + 1)); done
write_conf "$(server_block "$P1" "$RSA_PEM" "$RSA_URI?pin-value=$PIN")" \
	"$(server_block "$P2" "$EC_PEM" "$EC_URI?pin-value=$PIN")"
nginx_start
check "nginx starts with the RSA and the EC key from the token" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$P1" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"
wait_port "$P2" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"

# Each loop alternates the two servers until told to stop (bounded by
# LOOP_SECONDS); one HTTP code a line (000: no TLS session at all).
LOOP_PIDS=()
for c in $(seq 1 "$CLIENTS"); do
	(
		end=$((SECONDS + LOOP_SECONDS))
		while [ ! -e "$WORK/stop" ] && [ "$SECONDS" -lt "$end" ]; do
			curl -s -w '\n%{http_code}\n' --max-time 10 --cacert "$RSA_PEM" \
				--resolve "localhost:$P1:127.0.0.1" "https://localhost:$P1/" | tail -n 1
			curl -s -w '\n%{http_code}\n' --max-time 10 --cacert "$EC_PEM" \
				--resolve "localhost:$P2:127.0.0.1" "https://localhost:$P2/" | tail -n 1
		done >"$WORK/loop.$c"
	) &
	LOOP_PIDS+=("$!")
	track "$!"
done

nice -n 19 "$CV_SIGNER" "$MODULE" "$TOKEN" "$PIN" "$EC_NAME" "$SIGN_THREADS" "$WORK/stop" \
	"$LOOP_SECONDS" >"$WORK/signer.out" 2>"$WORK/signer.err" &
SIGNER=$!
track "$SIGNER"

# --- the writes -------------------------------------------------------------------

declare -A W_OK W_FAILED
end=$((SECONDS + WRITE_SECONDS))
rounds=0
for ((i = 1; i <= ROUNDS && SECONDS < end; i++)); do
	for kind in "${WRITES[@]}"; do
		if "write_$kind" "$i" >/dev/null 2>"$WORK/write.err"; then
			W_OK[$kind]=$((${W_OK[$kind]:-0} + 1))
		else
			W_FAILED[$kind]=$((${W_FAILED[$kind]:-0} + 1))
			diag "$kind $i: $(head -c 300 "$WORK/write.err")"
		fi
	done
	rounds=$i
done
signer_alive=0
kill -0 "$SIGNER" 2>/dev/null && signer_alive=1
loops_alive=0
for p in "${LOOP_PIDS[@]}"; do
	kill -0 "$p" 2>/dev/null && loops_alive=$((loops_alive + 1))
done

touch "$WORK/stop"
for p in "$SIGNER" "${LOOP_PIDS[@]}"; do
	for t in $(seq 1 300); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$p"
done

# --- counts -----------------------------------------------------------------------

failed_writes=0
for kind in "${WRITES[@]}"; do
	diag "tool: $kind ${W_OK[$kind]:-0} done, ${W_FAILED[$kind]:-0} failed"
	failed_writes=$((failed_writes + ${W_FAILED[$kind]:-0}))
done
diag "$rounds rounds of writes in at most $WRITE_SECONDS s"
check_eq "every write of the tool succeeded" "$failed_writes" 0
check "the tool wrote certificates (${W_OK[create]:-0})" test "${W_OK[create]:-0}" -gt 0
check_eq "the signer and both request loops were still running when the writes ended" \
	"$signer_alive $loops_alive" "1 $CLIENTS"

requests=$(cat "$WORK"/loop.* | grep -c .)
good=$(cat "$WORK"/loop.* | grep -c '^200$')
diag "nginx: $requests requests, $good answered 200, $((requests - good)) failed"
check "the request loops ran" test "$requests" -gt 0
check_eq "no failed handshake or request on the untouched certificates" "$((requests - good))" 0
[ "$requests" != "$good" ] &&
	diag "codes: $(cat "$WORK"/loop.* | sort | uniq -c | tr '\n' ' ')" \
		"$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -5)"

read -r _ signed _ sfailed _ sbad _ sthreads _ <"$WORK/signer.out"
diag "signer: ${signed:-?} signatures verified, ${sfailed:-?} failed, ${sbad:-?} did not verify, ${sthreads:-?} threads"
[ -s "$WORK/signer.err" ] && diag "$(head -5 "$WORK/signer.err")"
check "the 16 signing threads signed" test "${signed:-0}" -gt 0
check_eq "no failed signature on the untouched key" "${sfailed:-x} ${sbad:-x}" "0 0"

nginx_stop
check "no worker crashed (no 'exited on signal' in the error log)" \
	test -z "$(grep 'exited on signal' "$NGX/logs/error.log")"

run "$CERTVAULT" vault verify --pin-file "$PINFILE"
check_eq "vault verify passes after the writes" "$RC" 0
[ "$RC" -ne 0 ] && diag "$(head -20 "$OUT" "$ERR")"
run pkcs11-tool --module "$MODULE" --token-label "$TOKEN" -O --type cert
check_eq "the token shows the recovered certificates, not the purged ones" \
	"$(grep 'label: *churn-' "$OUT" | sed 's/.*churn-//' | sort -n | tr '\n' ' ')" \
	"$(seq 2 2 "$rounds" | tr '\n' ' ')"

done_testing
