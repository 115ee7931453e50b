#!/bin/bash
# nginx (master as root, two workers as www-data) serving HTTPS with keys in
# the vault through OpenSSL's pkcs11 engine: 500 requests, 8 at a time; a
# certificate added with the tool while nginx runs, served after a reload;
# then the PIN from a file (pin-source) instead of the URI.  The vault is
# shared with the workers' group as README's recipe says.
. "$(dirname "$0")/lib.sh"
need nginx curl xargs getent
[ "$TARGET" = certvault ] || skip_all "nginx runs against certvault only"
[ "$(id -u)" -eq 0 ] || skip_all "nginx needs root (its workers run as www-data)"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
make_target
engine_config 1 || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"

. "$(dirname "$0")/nginx_lib.sh"

# --- The vault, shared with www-data (README: "Sharing a vault with a service")

nginx_share_vault
run runuser -u www-data -- "$CERTVAULT" --config "$CERTVAULT_CONF" certificate list
check "www-data reads the shared vault (g+r data.mdb, g+rw lock.mdb) with the tool" \
	test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
run runuser -u www-data -- env CERTVAULT_PIN=1234 "$CERTVAULT" --config "$CERTVAULT_CONF" \
	contact add --email www@contoso.com
check "www-data may not write the shared vault: one clear line" \
	test "$RC" -ne 0 -a "$(wc -l <"$ERR")" -eq 1 -a -n "$(grep 'read-only for this user' "$ERR")"
run "$CERTVAULT" certificate list
check "the owner still opens the vault (group-writable lock.mdb accepted)" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
run runuser -u www-data -- pkcs11-tool --module "$MODULE" -O
check "www-data lists the token's objects through the module" \
	test "$RC" -eq 0 -a -n "$(grep "label: *$RSA_NAME\$" "$OUT")"
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"

# --- nginx ---------------------------------------------------------------------------

P1=$(free_port)
write_conf "$(server_block "$P1" "$RSA_PEM" "$RSA_URI?pin-value=$PIN")"
nginx_start
check "nginx starts with ssl_certificate_key engine:pkcs11:<URI>?pin-value" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$P1" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"
check_eq "a master and 2 workers as www-data" "$(workers)" 2

n=$(requests 500 "$P1" "$RSA_PEM")
check_eq "500 HTTPS requests, 8 at a time: all 200" "$n" 500
[ "$n" != 500 ] && diag "$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -10)"

# A new certificate, written by the tool while nginx runs, served after a reload.
cv_create web2 "$RSA_KEY_PROPS" &&
	cv certificate download --name web2 --file "$WORK/web2.pem" >/dev/null
check "certvault creates web2 while nginx runs" test -s "$WORK/web2.pem"
WEB2_URI=$(cv certificate uri --name web2)
P2=$(free_port)
while [ "$P2" = "$P1" ]; do P2=$((P2 + 1)); done
write_conf "$(server_block "$P1" "$RSA_PEM" "$RSA_URI?pin-value=$PIN")" \
	"$(server_block "$P2" "$WORK/web2.pem" "$WEB2_URI?pin-value=$PIN")"
old_workers=$(ps -o pid= --ppid "$(cat "$PIDFILE")" | tr -d ' ' | sort | tr '\n' ' ')
run env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}" -s reload
check "nginx -s reload with a server for web2" test "$RC" -eq 0
for i in $(seq 1 100); do
	port_in_use "$P2" && [ "$(ps -o pid= --ppid "$(cat "$PIDFILE")" | tr -d ' ' | sort | tr '\n' ' ')" != "$old_workers" ] && break
	sleep 0.1
done
n=$(requests 20 "$P2" "$WORK/web2.pem")
check_eq "after the reload web2 is served (20 requests, all 200)" "$n" 20
[ "$n" != 20 ] && diag "$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -10)"
run openssl s_client -connect "127.0.0.1:$P2" -servername localhost </dev/null
check_eq "the certificate served on the new port is web2's" \
	"$(openssl x509 -in "$OUT" -noout -fingerprint -sha256 2>/dev/null)" \
	"$(openssl x509 -in "$WORK/web2.pem" -noout -fingerprint -sha256)"
n=$(requests 20 "$P1" "$RSA_PEM")
check_eq "after the reload web is still served (20 requests, all 200)" "$n" 20
check_eq "after the reload: 2 workers as www-data" "$(workers)" 2
nginx_stop
check "nginx -s quit stops it" test ! -f "$PIDFILE"

# The PIN from a file (libp11's pin-source), readable by root only: the
# master loads the key; workers inherit the login.
P3=$(free_port)
write_conf "$(server_block "$P3" "$EC_PEM" "$EC_URI?pin-source=file:$PINFILE")"
nginx_start
check "nginx starts with an EC key and pin-source=file:" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$P3" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"
n=$(requests 100 "$P3" "$EC_PEM")
check_eq "100 HTTPS requests with the EC key (pin-source), all 200" "$n" 100
[ "$n" != 100 ] && diag "$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -10)"
nginx_stop

check "no worker crashed (no 'exited on signal' in the error log)" \
	test -z "$(grep 'exited on signal' "$NGX/logs/error.log")"

done_testing
