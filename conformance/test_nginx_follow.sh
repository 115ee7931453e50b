#!/bin/bash
# nginx follows a certificate's versions by its name, as a renewal hook
# makes it: `certvault certificate download --name NAME --chain --overwrite`
# writes the file nginx serves, the key is the URI `certvault certificate
# uri` prints (label, no id=), and `nginx -s reload` is run with requests in
# flight.  Two renewals: one through a CA outside the vault (issuer Unknown,
# its CSR signed by a test CA, the answer merged with the CA as its chain)
# and one issued by Self.  After each reload the new certificate (and chain)
# is served with its new key, and every request of the bounded curl loops
# that ran over the change and the reload was answered 200.
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
NAME=follow
KEY_NEW='{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":false}'
CLIENTS=3          # curl loops at a time
LOOP_REQUESTS=5000 # each loop's bound
LOOP_SECONDS=40    # and its time bound (they stop when told)

# The vault shared with the workers' group, as test_nginx.sh does.
chmod 711 "$WORK"
chgrp -R www-data "$VAULT"
chmod 750 "$VAULT"
chmod 640 "$VAULT/data.mdb"
chmod 660 "$VAULT/lock.mdb"

# nginx's environment, as a command that run's timeout can start.
NGINX_ENV=(env OPENSSL_CONF="$OPENSSL_CNF" CERTVAULT_CONF="$CERTVAULT_CONF")

nginx_stop() {
	local pid i
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE")
	"${NGINX_ENV[@]}" "${NGINX[@]}" -s quit >/dev/null 2>&1 || kill -QUIT "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	stop_pid "$pid"
	rm -f "$PIDFILE"
}
on_exit nginx_stop

worker_pids() {
	ps -o pid= --ppid "$(cat "$PIDFILE" 2>/dev/null || echo 1)" 2>/dev/null | tr -d ' ' | sort |
		tr '\n' ' '
}

# The test CA for the renewal through a CA outside the vault.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Follow Test CA" \
	-days 30 -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
	>/dev/null 2>&1
check "a test CA" test -s "$WORK/ca.pem"

# curl trusts the test CA and every self-signed version; the bundle is
# replaced in one rename, since the loops read it meanwhile.
cp "$WORK/ca.pem" "$WORK/trust.pem"
trust_add() {
	cat "$WORK/trust.pem" "$1" >"$WORK/trust.new" && mv "$WORK/trust.new" "$WORK/trust.pem"
}

get() {
	curl -s -w '\n%{http_code}\n' --max-time 5 --cacert "$WORK/trust.pem" \
		--resolve "localhost:$PORT:127.0.0.1" "https://localhost:$PORT/" | tail -n 1
}

# loops_start TAG: CLIENTS loops, each until loops_stop (at most
# LOOP_REQUESTS requests and LOOP_SECONDS), every code written to loop.TAG.N.
LOOP_PIDS=()
loops_start() {
	local c
	LOOP_PIDS=()
	for c in $(seq 1 "$CLIENTS"); do
		(
			end=$((SECONDS + LOOP_SECONDS))
			n=0
			while [ ! -e "$WORK/stop.$1" ] && [ "$SECONDS" -lt "$end" ] &&
				[ "$n" -lt "$LOOP_REQUESTS" ]; do
				get
				n=$((n + 1))
			done >"$WORK/loop.$1.$c"
		) &
		LOOP_PIDS+=("$!")
		track "$!"
	done
}

# loops_running: every loop is still going.
loops_running() {
	local p
	for p in "${LOOP_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || return 1
	done
}

# loops_stop TAG: ask the loops to end, and wait for them.
loops_stop() {
	local p i
	touch "$WORK/stop.$1"
	for p in "${LOOP_PIDS[@]}"; do
		for i in $(seq 1 $(((LOOP_SECONDS + 15) * 10))); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$p"
	done
}

# loops_check TAG WHAT: every request of the loops was answered 200.
loops_check() {
	local total ok
	total=$(cat "$WORK"/loop."$1".* 2>/dev/null | grep -c .)
	ok=$(cat "$WORK"/loop."$1".* 2>/dev/null | grep -c '^200$')
	check "$2: the loops ran ($total requests, $CLIENTS at a time)" test "$total" -gt 0
	check_eq "$2: every request in flight was answered ($total requests)" "$((total - ok))" 0
	[ "$total" != "$ok" ] &&
		diag "codes: $(cat "$WORK"/loop."$1".* | sort | uniq -c | tr '\n' ' ')" \
			"$(grep -E 'emerg|alert|crit|error' "$NGX/logs/error.log" | tail -5)"
}

# served: the certificates nginx sends, one fingerprint a line.
served() {
	run openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -showcerts </dev/null
	awk '/-----BEGIN CERTIFICATE-----/{f=1; c++} f{print > ("'"$WORK"'/served." c ".pem")}
	     /-----END CERTIFICATE-----/{f=0}' "$OUT"
	for f in "$WORK"/served.*.pem; do
		[ -f "$f" ] && openssl x509 -in "$f" -noout -fingerprint -sha256
	done
	rm -f "$WORK"/served.*.pem
}

# fingerprints PEM: those of every certificate in the file.
fingerprints() {
	openssl crl2pkcs7 -nocrl -certfile "$1" | openssl pkcs7 -print_certs |
		awk '/-----BEGIN CERTIFICATE-----/{f=1; c++} f{print > ("'"$WORK"'/fp." c ".pem")}
		     /-----END CERTIFICATE-----/{f=0}'
	for f in "$WORK"/fp.*.pem; do
		[ -f "$f" ] && openssl x509 -in "$f" -noout -fingerprint -sha256
	done
	rm -f "$WORK"/fp.*.pem
}

# hook: what a renewal hook does: the current version's certificate and
# chain into nginx's file, then a reload; waits for the new workers.
hook() {
	local old i
	run "$CERTVAULT" certificate download --name "$NAME" --chain --overwrite --file "$WORK/served.pem"
	check "$1: certificate download --chain --overwrite writes nginx's file" test "$RC" -eq 0
	old=$(worker_pids)
	check "$1: the request loops are running when nginx reloads" loops_running
	run "${NGINX_ENV[@]}" "${NGINX[@]}" -s reload
	check "$1: nginx -s reload" test "$RC" -eq 0
	for i in $(seq 1 100); do
		[ -n "$(worker_pids)" ] && [ "$(worker_pids)" != "$old" ] && break
		sleep 0.1
	done
	check "$1: the reload made new workers, with no [emerg]" \
		test "$(worker_pids)" != "$old" -a -z "$(grep '\[emerg\]' "$NGX/logs/error.log")"
}

# --- Version 1, issued by Self ----------------------------------------------------------

cv_create "$NAME" "$KEY_NEW" &&
	cv certificate download --name "$NAME" --chain --file "$WORK/served.pem" >/dev/null
check "certvault creates $NAME" test -s "$WORK/served.pem"
cp "$WORK/served.pem" "$WORK/v1.pem"
trust_add "$WORK/v1.pem"
URI=$(cv certificate uri --name "$NAME")
check "the key's URI names the label, not a version's id" \
	test -n "$(grep -F ";object=$NAME;type=private" <<<"$URI")" -a -z "$(grep -F ';id=' <<<"$URI")"
PORT=$(free_port)
cat >"$NGX/nginx.conf" <<EOF
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
        listen 127.0.0.1:$PORT ssl;
        server_name localhost;
        ssl_certificate $WORK/served.pem;
        ssl_certificate_key "engine:pkcs11:$URI?pin-value=$PIN";
        location / { return 200 "served by the vault\n"; }
    }
}
EOF
run "${NGINX_ENV[@]}" "${NGINX[@]}"
check "nginx starts with $NAME's key from the module" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")" "$(tail -20 "$NGX/logs/error.log" 2>/dev/null)"
wait_port "$PORT" "$(cat "$PIDFILE" 2>/dev/null || echo 0)"
check_eq "version 1 is served" "$(served)" "$(fingerprints "$WORK/v1.pem")"

# --- A renewal through a CA outside the vault: CSR, signed, merged with its chain --------------

loops_start merge
sleep 1
cv_create "$NAME" "$KEY_NEW" Unknown
run "$CERTVAULT" certificate pending csr --name "$NAME" --file "$WORK/v2.csr"
check "the renewal's CSR" test "$RC" -eq 0
openssl x509 -req -in "$WORK/v2.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" \
	-CAcreateserial -days 20 -copy_extensions copyall -out "$WORK/v2.leaf.pem" >/dev/null 2>&1
cat "$WORK/v2.leaf.pem" "$WORK/ca.pem" >"$WORK/v2.pem"
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" certificate pending merge --name "$NAME" \
	--file "$WORK/v2.pem"
check "the test CA's answer is merged while nginx serves" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
check "the merged version has a new key" \
	test "$(key_id "$WORK/v2.leaf.pem")" != "$(key_id "$WORK/v1.pem")"
check_eq "before the reload version 1 is still served" "$(served)" "$(fingerprints "$WORK/v1.pem")"
hook "after the merge"
check_eq "after the merge and the reload the merged certificate and its CA are served" \
	"$(served)" "$(fingerprints "$WORK/v2.pem")"
sleep 1
loops_stop merge
loops_check merge "over the merge and the reload"

# --- A renewal issued by Self ------------------------------------------------------------

loops_start self
sleep 1
cv_create "$NAME" "$KEY_NEW" &&
	cv certificate download --name "$NAME" --file "$WORK/v3.pem" >/dev/null
check "a Self version while nginx serves" test -s "$WORK/v3.pem"
trust_add "$WORK/v3.pem"
hook "after a Self version"
check_eq "after the Self version and the reload its certificate is served" \
	"$(served)" "$(fingerprints "$WORK/v3.pem")"
sleep 1
loops_stop self
loops_check self "over the Self version and the reload"

nginx_stop
check "nginx -s quit stops it" test ! -f "$PIDFILE"
check "no worker crashed (no 'exited on signal' in the error log)" \
	test -z "$(grep 'exited on signal' "$NGX/logs/error.log")"

done_testing
