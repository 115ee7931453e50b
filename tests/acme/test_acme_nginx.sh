#!/bin/bash
# certvault ACME: a certificate ordered from Pebble (answering through the
# built-in responder) serves nginx through the PKCS#11 module, and a TLS
# client that trusts only Pebble's root accepts it (openssl s_client
# -verify_return_error).  nginx runs as conformance/test_nginx.sh runs it.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
. "$ACME_DIR/run_lib.sh"
need jq curl nginx getent runuser
[ -n "$CERTVAULT" ] && [ -x "$CERTVAULT" ] || skip_all "CERTVAULT does not name the tool"
[ -n "$CERTVAULT_MODULE" ] && [ -f "$CERTVAULT_MODULE" ] || skip_all "CERTVAULT_MODULE does not name the module"
[ "$(id -u)" -eq 0 ] || skip_all "nginx needs root (its workers run as www-data)"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
cv() { "$CERTVAULT" "$@"; }
MODULE=$(readlink -f "$CERTVAULT_MODULE")
CERTVAULT=$(readlink -f "$CERTVAULT")
engine_config 1 || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"

pebble_start
acme_vault
pebble_roots "$WORK/root.pem"
acme_issuer Pebble --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
acme_policy shop shop.example.com
run "$CERTVAULT" certificate create --name shop --policy "@$WORK/policy-shop.json" --wait --timeout 60
check_eq "create --wait orders the certificate from Pebble" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")" "$(tail -20 "$WORK/pebble/pebble.log")"
cv certificate download --name shop --chain --file "$WORK/shop-chain.pem" >/dev/null 2>&1
check "the chain verifies with Pebble's root alone" \
	openssl verify -CAfile "$WORK/root.pem" -untrusted "$WORK/shop-chain.pem" "$WORK/shop-chain.pem"
URI=$(cv certificate uri --name shop)

# The vault shared with nginx's workers (README: "Sharing a vault with a
# service").
chmod 711 "$WORK"
chgrp -R www-data "$VAULT"
chmod 750 "$VAULT"
chmod 640 "$VAULT/data.mdb"
chmod 660 "$VAULT/lock.mdb"

NGX="$WORK/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
PIDFILE="$NGX/nginx.pid"
NGINX=(nginx -p "$NGX" -c "$NGX/nginx.conf" -g "daemon on; pid $PIDFILE;")
nginx_stop() {
	local pid i
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE")
	env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}" -s quit \
		>/dev/null 2>&1 || kill -QUIT "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$pid"
	rm -f "$PIDFILE"
}
on_exit nginx_stop
PORT=$(free_port)
cat >"$NGX/nginx.conf" <<NGINX_CONF
user www-data;
worker_processes 1;
error_log $NGX/logs/error.log info;
env OPENSSL_CONF;
env CERTVAULT_CONF;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT ssl;
        server_name shop.example.com;
        ssl_certificate $WORK/shop-chain.pem;
        ssl_certificate_key "engine:pkcs11:$URI?pin-value=$PIN";
        location / { return 200 "ordered by the vault\n"; }
    }
}
NGINX_CONF
run env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}"
check_eq "nginx starts with the ordered certificate and its key in the vault" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$PORT" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"

run openssl s_client -connect "127.0.0.1:$PORT" -servername shop.example.com \
	-verify_return_error -CAfile "$WORK/root.pem" -verify_hostname shop.example.com </dev/null
check_eq "s_client trusting Pebble's root alone verifies nginx's certificate" "$RC" 0
[ "$RC" = 0 ] || diag "$(tail -5 "$ERR")"
check_grep "... Verify return code: 0 (ok)" "$OUT" 'Verify return code: 0 \(ok\)'
check_eq "nginx served the certificate from the vault" \
	"$(openssl x509 -in "$OUT" -noout -fingerprint -sha256 2>/dev/null)" \
	"$(openssl x509 -in "$WORK/shop-chain.pem" -noout -fingerprint -sha256)"
run curl -s --max-time 10 --cacert "$WORK/root.pem" \
	--resolve "shop.example.com:$PORT:127.0.0.1" "https://shop.example.com:$PORT/"
check_eq "an HTTPS request trusting Pebble's root is answered" "$(cat "$OUT")" "ordered by the vault"
run openssl s_client -connect "127.0.0.1:$PORT" -servername shop.example.com \
	-verify_return_error -CAfile "$PEBBLE_TLS_CA" </dev/null
check "a client trusting another root refuses it (the check can fail)" test "$RC" -ne 0
nginx_stop
done_testing
