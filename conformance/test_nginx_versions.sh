#!/bin/bash
# nginx under steady load while the tool makes new versions of the
# certificate it serves: a new version with a new key, one with the same
# key (reuse_key), a pending renewal (issuer Unknown), then nginx -s reload.
# Not one request may fail from start to end: the key handle nginx holds
# keeps signing while its version is enabled and valid, and the URI
# `certvault certificate uri` prints follows the current version, so after
# the reload the new certificate is served with its key.
. "$(dirname "$0")/lib.sh"
need nginx curl getent
[ "$TARGET" = certvault ] || skip_all "nginx runs against certvault only"
[ "$(id -u)" -eq 0 ] || skip_all "nginx needs root (its workers run as www-data)"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
make_target
engine_config 1 || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"

NGX="$WORK/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
PIDFILE="$NGX/nginx.pid"
NGINX=(nginx -p "$NGX" -c "$NGX/nginx.conf" -g "daemon on; pid $PIDFILE;")
NAME=live
KEY_NEW='{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":false}'
KEY_SAME='{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":true}'
CLIENTS=4      # curl loops at a time
LOAD_SECONDS=30

# The vault shared with the workers' group, as test_nginx.sh does.
chmod 711 "$WORK"
chgrp -R www-data "$VAULT"
chmod 750 "$VAULT"
chmod 640 "$VAULT/data.mdb"
chmod 660 "$VAULT/lock.mdb"

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

# write_conf PORT KEY-URI: one server with $WORK/served.pem and the key.
write_conf() {
	cat >"$NGX/nginx.conf" <<-EOF
	user www-data;
	worker_processes 2;
	error_log $NGX/logs/error.log info;
	env OPENSSL_CONF;
	env CERTVAULT_CONF;
	events { worker_connections 256; }
	http {
	    access_log off;
	    client_body_temp_path $NGX/tmp/body;
	    proxy_temp_path $NGX/tmp/proxy;
	    fastcgi_temp_path $NGX/tmp/fastcgi;
	    uwsgi_temp_path $NGX/tmp/uwsgi;
	    scgi_temp_path $NGX/tmp/scgi;
	    server {
	        listen 127.0.0.1:$1 ssl;
	        server_name localhost;
	        ssl_certificate $WORK/served.pem;
	        ssl_certificate_key "engine:pkcs11:$2";
	        location / { return 200 "served by the vault\n"; }
	    }
	}
	EOF
}

worker_pids() {
	ps -o pid= --ppid "$(cat "$PIDFILE" 2>/dev/null || echo 1)" 2>/dev/null | tr -d ' ' | sort |
		tr '\n' ' '
}

# trust_add PEM: curl trusts every version served (self-signed leaves); the
# bundle is replaced in one rename, since the clients read it meanwhile.
trust_add() {
	cat "$WORK/trust.pem" "$1" >"$WORK/trust.new" && mv "$WORK/trust.new" "$WORK/trust.pem"
}

# get: one request; prints the HTTP code (000 when the handshake failed).
get() {
	curl -s -w '\n%{http_code}\n' --max-time 5 --cacert "$WORK/trust.pem" \
		--resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/" | tail -n 1
}

# requests N: N requests one after another; prints how many gave 200.
requests() {
	local i
	for i in $(seq 1 "$1"); do get; done | grep -c '^200$'
}

# The load: CLIENTS loops, each requesting until LOAD_SECONDS have passed
# (at most 20000 requests each), every code written to load.N.
LOAD_PIDS=()
load_start() {
	local c
	for c in $(seq 1 "$CLIENTS"); do
		(
			end=$((SECONDS + LOAD_SECONDS))
			n=0
			while [ "$SECONDS" -lt "$end" ] && [ "$n" -lt 20000 ]; do
				get
				n=$((n + 1))
			done >"$WORK/load.$c"
		) &
		LOAD_PIDS+=("$!")
		track "$!"
	done
}

load_wait() {
	local p i
	for p in "${LOAD_PIDS[@]}"; do
		for i in $(seq 1 $(((LOAD_SECONDS + 30) * 10))); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$p"
	done
}

# new_version KEY-PROPS [ISSUER]: a new version by the tool while nginx runs.
new_version() {
	cv_create "$NAME" "$1" "${2:-Self}"
}

fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null
}

served_fingerprint() {
	run openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null
	fingerprint "$OUT"
}

# --- Start: version 1 ---------------------------------------------------------------

cv_create "$NAME" "$KEY_NEW" && cv certificate download --name "$NAME" --file "$WORK/v1.pem" >/dev/null
check "certvault creates $NAME" test -s "$WORK/v1.pem"
cp "$WORK/v1.pem" "$WORK/served.pem"
cp "$WORK/v1.pem" "$WORK/trust.pem"
URI=$(cv certificate uri --name "$NAME")
check "certificate uri follows the current version: object=$NAME, no id=" \
	test -n "$(grep -F ";object=$NAME;type=private" <<<"$URI")" -a -z "$(grep -F ';id=' <<<"$URI")"
PORT=$(free_port)
write_conf "$PORT" "$URI?pin-value=$PIN"
run env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}"
check "nginx starts with the key by the printed URI" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$PORT" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"
check_eq "version 1 served: 10 requests, all 200" "$(requests 10)" 10
check_eq "version 1's certificate is served" "$(served_fingerprint)" "$(fingerprint "$WORK/v1.pem")"

load_start
sleep 2

# --- A new version with a new key ------------------------------------------------------

new_version "$KEY_NEW" && cv certificate download --name "$NAME" --file "$WORK/v2.pem" >/dev/null
check "a new version with a new key while nginx runs" test -s "$WORK/v2.pem"
trust_add "$WORK/v2.pem"
check "version 2 has a new key" test "$(key_id "$WORK/v2.pem")" != "$(key_id "$WORK/v1.pem")"
check_eq "after a new key, before a reload: 10 requests, all 200" "$(requests 10)" 10
sleep 2

# --- A new version with the same key (reuse_key) ------------------------------------------

new_version "$KEY_SAME" && cv certificate download --name "$NAME" --file "$WORK/v3.pem" >/dev/null
check "a new version with the same key while nginx runs" test -s "$WORK/v3.pem"
trust_add "$WORK/v3.pem"
check_eq "version 3 kept version 2's key" "$(key_id "$WORK/v3.pem")" "$(key_id "$WORK/v2.pem")"
check_eq "after a reuse_key version: 10 requests, all 200" "$(requests 10)" 10
sleep 2

# --- A pending renewal (issuer Unknown): a new key with no certificate yet -------------------

new_version "$KEY_NEW" Unknown
run "$CERTVAULT" --json certificate pending show --name "$NAME"
check "a pending renewal while nginx runs" test -n "$(grep -F '"inProgress"' "$OUT")"
check_eq "during the pending renewal: 10 requests, all 200" "$(requests 10)" 10
sleep 2

# --- nginx -s reload: the current version (3) with its key, through the same URI --------------

cp "$WORK/v3.pem" "$WORK/served.new" && mv "$WORK/served.new" "$WORK/served.pem"
old_workers=$(worker_pids)
run env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF" "${NGINX[@]}" -s reload
check "nginx -s reload during the pending renewal" test "$RC" -eq 0
for i in $(seq 1 100); do
	[ -n "$(worker_pids)" ] && [ "$(worker_pids)" != "$old_workers" ] && break
	sleep 0.1
done
check "the reload took the new configuration (new workers, no [emerg])" \
	test "$(worker_pids)" != "$old_workers" -a -z "$(grep '\[emerg\]' "$NGX/logs/error.log")"
[ -n "$(grep '\[emerg\]' "$NGX/logs/error.log")" ] &&
	diag "$(grep -E 'emerg|alert|crit' "$NGX/logs/error.log" | tail -5)"
check_eq "after the reload version 3's certificate is served" \
	"$(served_fingerprint)" "$(fingerprint "$WORK/v3.pem")"
check_eq "after the reload: 10 requests, all 200" "$(requests 10)" 10

load_wait
total=$(cat "$WORK"/load.* 2>/dev/null | grep -c .)
ok=$(cat "$WORK"/load.* 2>/dev/null | grep -c '^200$')
check "the load ran ($total requests, $CLIENTS at a time)" test "$total" -gt 0
check_eq "not one request failed from start to end ($total requests)" "$((total - ok))" 0
[ "$total" != "$ok" ] && diag "codes: $(cat "$WORK"/load.* | sort | uniq -c | tr '\n' ' ')" \
	"$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -5)"

run env CERTVAULT_PIN="$PIN" "$CERTVAULT" certificate pending delete --name "$NAME"
check "the pending renewal is deleted" test "$RC" -eq 0
nginx_stop
check "nginx -s quit stops it" test ! -f "$PIDFILE"
check "no worker crashed (no 'exited on signal' in the error log)" \
	test -z "$(grep 'exited on signal' "$NGX/logs/error.log")"

done_testing
