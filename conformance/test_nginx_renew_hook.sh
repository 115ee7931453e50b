#!/bin/bash
# nginx follows a renewal the vault makes by itself, through the vault's
# hook.  nginx serves `renew` (issuer Self, AutoRenew at 50% of its life)
# with its key from the module by the label URI `certvault certificate uri`
# prints.  The vault's hook is a script here: it reads the event's JSON on
# its standard input and, for Microsoft.KeyVault.CertificateNewVersionCreated
# of `renew` only, writes the current chain with `certvault certificate
# download --chain --overwrite` and runs `nginx -s reload`.  `certvault run
# --once --now T` past the trigger renews it (and `other`, whose event the
# hook ignores), the hook runs, and nginx serves the new certificate (new
# serial, the key URI unchanged) while bounded curl loops over the pass and
# the reload all got their answers.  The same pass again makes no version
# and runs no hook.  A hook that fails is reported by the pass in one line,
# and the renewal it followed stays made (that version, dated at a --now
# ahead, does not sign before then: the module goes by the real clock).
. "$(dirname "$0")/lib.sh"
need nginx curl getent jq
[ "$TARGET" = certvault ] || skip_all "nginx runs against certvault only"
[ "$(id -u)" -eq 0 ] || skip_all "nginx needs root (its workers run as www-data)"
getent passwd www-data >/dev/null || skip_all "user www-data missing"
make_target
engine_config 1 || skip_all "libengine-pkcs11-openssl (engines-3/pkcs11.so) missing"

NGX="$WORK/nginx"
mkdir -p "$NGX/logs" "$NGX/tmp"
PIDFILE="$NGX/nginx.pid"
NGINX=(nginx -p "$NGX" -c "$NGX/nginx.conf" -g "daemon on; pid $PIDFILE;")
NAME=renew
OTHER=other
NEW_VERSION=Microsoft.KeyVault.CertificateNewVersionCreated
CLIENTS=3          # curl loops at a time
LOOP_REQUESTS=5000 # each loop's bound
LOOP_SECONDS=30    # and its time bound (they stop when told)

# The vault shared with the workers' group, as test_nginx.sh does.
chmod 711 "$WORK"
chgrp -R www-data "$VAULT"
chmod 750 "$VAULT"
chmod 640 "$VAULT/data.mdb"
chmod 660 "$VAULT/lock.mdb"

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

# One request.  The versions are self-signed and made inside the pass, so
# the loops cannot trust them ahead: --insecure skips the chain only; the
# TLS 1.3 handshake still checks the server's signature with the served
# certificate's key, so a certificate served with a key not its own fails.
get() {
	curl -s -k --tlsv1.3 -w '\n%{http_code}\n' --max-time 5 \
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

loops_running() {
	local p
	for p in "${LOOP_PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null || return 1
	done
}

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

# served: the certificate nginx sends (PEM).
served() {
	run openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null
	openssl x509 -in "$OUT" 2>/dev/null
}

serial() {
	openssl x509 -noout -serial 2>/dev/null
}

versions() {
	cv --json certificate list-versions --name "$1" | jq length
}

current_version() {
	cv --json certificate show --name "$1" | jq -r '.id | split("/") | last'
}

expires() {
	date -d "$(cv --json certificate show --name "$1" | jq -r .attributes.expires)" +%s
}

reloads() {
	grep -c 'signal 1 (SIGHUP) received' "$NGX/logs/error.log"
}

# wait_new_workers OLD: until the workers are others than OLD and OLD's
# have ended (so no connection reaches the old configuration); 10 s at most.
wait_new_workers() {
	local i p old_alive
	for i in $(seq 1 100); do
		old_alive=0
		for p in $1; do
			kill -0 "$p" 2>/dev/null && old_alive=1
		done
		[ "$old_alive" = 0 ] && [ -n "$(worker_pids)" ] && [ "$(worker_pids)" != "$1" ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# hook_script FILE SERVED: the vault's hook, as a user would write it; it
# keeps nginx's certificate file SERVED (SERVED in a folder that does not
# exist makes a hook that fails).
hook_script() {
	cat >"$1" <<EOF
#!/bin/bash
# certvault's hook: on a new version of $NAME, its certificate and chain
# into nginx's file, then nginx reloads.  Other events are left alone.
export CERTVAULT_CONF="$CERTVAULT_CONF" OPENSSL_CONF="$OPENSSL_CNF"
event=\$(cat)
type=\$(jq -r .eventType <<<"\$event") || exit 1
name=\$(jq -r .subject <<<"\$event") || exit 1
echo "\$type \$name \$(jq -r .data.Version <<<"\$event")" >>"$WORK/hook.log"
[ "\$type" = $NEW_VERSION ] && [ "\$name" = $NAME ] || exit 0
"$CERTVAULT" certificate download --name $NAME --chain --overwrite --file "$2" || exit 1
exec nginx -p "$NGX" -c "$NGX/nginx.conf" -g "daemon on; pid $PIDFILE;" -s reload
EOF
	chmod 755 "$1"
}

# A Self policy for localhost with AutoRenew at 50% of a version's life,
# a new key each time.
renew_policy() {
	jq -cn --arg s "CN=$1" '{key_props: {kty: "EC", crv: "P-256", exportable: false,
	    reuse_key: false},
	  x509_props: {subject: $s, sans: {dns_names: ["localhost"], ipAddresses: ["127.0.0.1"]},
	    ekus: ["1.3.6.1.5.5.7.3.1"], validity_months: 12},
	  lifetime_actions: [{trigger: {lifetime_percentage: 50}, action: {action_type: "AutoRenew"}}],
	  issuer: {name: "Self"}}'
}

# A version made now is valid from now, and the module signs only with a
# key whose version is valid by the real clock: a renewal made by a pass
# whose --now lies ahead could not be served yet.  So version 1 is imported,
# made 200 days ago for a year: its 50% trigger has passed, and a pass at
# the real time renews it.
mkdir -p "$WORK/ca"
touch "$WORK/ca/index.txt"
echo 01 >"$WORK/ca/serial"
cat >"$WORK/ca/ca.cnf" <<EOF
[ca]
default_ca = self
[self]
database = $WORK/ca/index.txt
new_certs_dir = $WORK/ca
serial = $WORK/ca/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[ext]
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
keyUsage = critical,digitalSignature
basicConstraints = critical,CA:FALSE
EOF

# backdated NAME: NAME in the vault, imported, valid from 200 days ago for
# 365 days, with renew_policy.
backdated() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$WORK/ca/$1.key" -out "$WORK/ca/$1.csr" >/dev/null 2>&1 &&
		openssl ca -batch -config "$WORK/ca/ca.cnf" -selfsign -keyfile "$WORK/ca/$1.key" \
			-in "$WORK/ca/$1.csr" -extensions ext -notext -out "$WORK/ca/$1.pem" \
			-startdate "$(date -u -d '-200 days' +%Y%m%d%H%M%SZ)" \
			-enddate "$(date -u -d '+165 days' +%Y%m%d%H%M%SZ)" >/dev/null 2>&1 &&
		cat "$WORK/ca/$1.pem" "$WORK/ca/$1.key" >"$WORK/ca/$1.import.pem" || return 1
	renew_policy "$1" >"$WORK/policy-$1.json"
	run env CERTVAULT_PIN="$PIN" "$CERTVAULT" certificate import --name "$1" \
		--file "$WORK/ca/$1.import.pem" --policy "@$WORK/policy-$1.json"
	rm -f "$WORK/ca/$1.key" "$WORK/ca/$1.import.pem"
	[ "$RC" -eq 0 ] || { cat "$ERR"; return 1; }
}

# --- nginx serves version 1 --------------------------------------------------------------

for n in "$NAME" "$OTHER"; do
	check "$n imported, made 200 days ago for a year (Self, AutoRenew at 50%)" backdated "$n"
done
cv certificate download --name "$NAME" --chain --file "$WORK/served.pem" >/dev/null
cp "$WORK/served.pem" "$WORK/v1.pem"
V1=$(current_version "$NAME")
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
        ssl_protocols TLSv1.2 TLSv1.3;
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
check_eq "version 1 is served" "$(served | serial)" "$(serial <"$WORK/v1.pem")"

hook_script "$WORK/hook.sh" "$WORK/served.pem"
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" vault set-hook --command "$WORK/hook.sh"
check "vault set-hook --command <the hook script>" test "$RC" -eq 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"

# --- The pass renews it, the hook reloads nginx, under load -------------------------------

NBF1=$(date -d "$(openssl x509 -in "$WORK/v1.pem" -noout -startdate | cut -d= -f2)" +%s)
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --dry-run --now "@$((NBF1 + 86400))"
check_eq "before the trigger a dry run has nothing for $NAME" "$(grep -c "^$NAME:" "$OUT")" 0
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --dry-run --now "@$(date +%s)"
check "now a dry run says its AutoRenew would fire" \
	grep -q "^$NAME: AutoRenew: would fire (version $V1" "$OUT"

loops_start pass
sleep 1
OLD_WORKERS=$(worker_pids)
RELOADS0=$(reloads)
check "the request loops are running when the pass starts" loops_running
AT=$(date +%s)
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --once --now "@$AT"
cp "$OUT" "$WORK/pass1.out"
check "the request loops ran through the whole pass" loops_running
check_eq "run --once past the trigger exits 0" "$RC" 0
[ "$RC" -ne 0 ] && diag "$(cat "$ERR")"
check "... renews $NAME" grep -q "^$NAME: AutoRenew: renewed: new version" "$WORK/pass1.out"
check "... and $OTHER" grep -q "^$OTHER: AutoRenew: renewed: new version" "$WORK/pass1.out"
check "... runs the hook for $NAME's new version" \
	grep -q "^$NAME: hook: $NEW_VERSION: ran" "$WORK/pass1.out"
check "... and for $OTHER's" grep -q "^$OTHER: hook: $NEW_VERSION: ran" "$WORK/pass1.out"
check_eq "... no hook failed" "$(grep -c ': hook: .*failed' "$WORK/pass1.out")" 0
[ "$(grep -c ': hook: .*failed' "$WORK/pass1.out")" != 0 ] && diag "$(cat "$WORK/pass1.out")"
V2=$(current_version "$NAME")
check "$NAME's current version is a new one" test -n "$V2" -a "$V2" != "$V1"
check_eq "... its second" "$(versions "$NAME")" 2
check_eq "the hook got $NAME's event with the new version" \
	"$(grep -c "^$NEW_VERSION $NAME $V2\$" "$WORK/hook.log")" 1
check_eq "... and $OTHER's" "$(grep -c "^$NEW_VERSION $OTHER " "$WORK/hook.log")" 1
check "the hook reloaded nginx: new workers, the old ones gone" wait_new_workers "$OLD_WORKERS"
check_eq "... once, for $NAME only" "$(($(reloads) - RELOADS0))" 1
check_eq "... with no [emerg]" "$(grep -c '\[emerg\]' "$NGX/logs/error.log")" 0
cv certificate download --name "$NAME" --chain --file "$WORK/v2.pem" >/dev/null
check "the hook wrote the new version into nginx's file" cmp "$WORK/v2.pem" "$WORK/served.pem"
served >"$WORK/served-now.pem"
check_eq "nginx serves the new version" "$(serial <"$WORK/served-now.pem")" "$(serial <"$WORK/v2.pem")"
check "... whose serial differs from version 1's" \
	test "$(serial <"$WORK/served-now.pem")" != "$(serial <"$WORK/v1.pem")"
check_eq "... with a new key (reuse_key false)" \
	"$(openssl x509 -in "$WORK/served-now.pem" -noout -pubkey)" \
	"$(openssl x509 -in "$WORK/v2.pem" -noout -pubkey)"
check "... not version 1's" test "$(openssl x509 -in "$WORK/v1.pem" -noout -pubkey)" != \
	"$(openssl x509 -in "$WORK/served-now.pem" -noout -pubkey)"
check_eq "the key's URI is unchanged" "$(cv certificate uri --name "$NAME")" "$URI"
check "a client that trusts only the new version verifies the server" \
	openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
	-CAfile "$WORK/v2.pem" -verify_return_error -verify_hostname localhost </dev/null
sleep 1
loops_stop pass
loops_check pass "over the pass, the hook and the reload"

# --- The same pass again: nothing -----------------------------------------------------------

HOOK_LINES=$(grep -c . "$WORK/hook.log")
RELOADS1=$(reloads)
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --once --now "@$AT"
check_eq "the same pass again exits 0" "$RC" 0
check_eq "... renews nothing" "$(grep -c renewed "$OUT")" 0
check_eq "... runs no hook" "$(grep -c ': hook: ' "$OUT")" 0
check_eq "... $NAME still has two versions" "$(versions "$NAME")" 2
check_eq "... the hook got nothing" "$(grep -c . "$WORK/hook.log")" "$HOOK_LINES"
check_eq "... nginx was not reloaded" "$(reloads)" "$RELOADS1"
check_eq "... and serves version 2" "$(served | serial)" "$(serial <"$WORK/v2.pem")"

# --- A hook that fails: one line, the renewal stays -------------------------------------------

# sign_current: the key by the label URI (the current version's) signs.
printf 'to sign\n' | openssl dgst -sha256 -binary >"$WORK/data.sha256"
sign_current() {
	run env OPENSSL_CONF="$OPENSSL_CNF" openssl pkeyutl -engine pkcs11 -keyform engine \
		-inkey "$URI?pin-value=$PIN" -sign -in "$WORK/data.sha256" -out "$WORK/sig"
}
sign_current
check_eq "version 2's key signs by the label URI" "$RC" 0
[ "$RC" -ne 0 ] && diag "$(tail -5 "$ERR")"

hook_script "$WORK/hook-fails.sh" "$WORK/no-such-folder/served.pem"
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" vault set-hook --command "$WORK/hook-fails.sh"
check "vault set-hook --command <a hook that cannot write nginx's file>" test "$RC" -eq 0
# Its trigger lies ahead: this pass's --now does (the version it makes is
# not served, so its date does not matter here).
AT2=$((AT + ($(expires "$NAME") - AT) / 2 + 600))
loops_start fails
sleep 1
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --once --now "@$AT2"
cp "$OUT" "$WORK/pass2.out"
check "the request loops ran through the whole pass" loops_running
check_eq "a pass whose hook fails exits 0" "$RC" 0
check "... renews $NAME" grep -q "^$NAME: AutoRenew: renewed: new version" "$WORK/pass2.out"
check_eq "... reports the failed hook in one line" \
	"$(grep -c ': hook: .*failed' "$WORK/pass2.out")" 1
check "... naming $NAME, the event and the hook's own error" \
	grep -qE "^$NAME: hook: $NEW_VERSION: failed: exit 1: .*no-such-folder" "$WORK/pass2.out"
check_eq "... which says nothing else about it" "$(grep -c "no-such-folder" "$WORK/pass2.out")" 1
check_eq "the renewal stays made: three versions" "$(versions "$NAME")" 3
V3=$(current_version "$NAME")
check "... the third current" test -n "$V3" -a "$V3" != "$V2" -a "$V3" != "$V1"
check_eq "the hook saw its event" "$(grep -c "^$NEW_VERSION $NAME $V3\$" "$WORK/hook.log")" 1
sign_current
check "version 3, dated at the pass's --now ahead, does not sign yet" \
	test "$RC" -ne 0 -a -n "$(grep 'Key function not permitted' "$ERR")"
[ "$RC" -eq 0 ] && diag "pkeyutl signed with version 3's key"
check_eq "nginx, not reloaded, still serves version 2" "$(served | serial)" \
	"$(serial <"$WORK/v2.pem")"
run env CERTVAULT_PIN="$PIN" "$CERTVAULT" run --once --now "@$AT2"
check_eq "the failed hook is not run again on the next pass" "$(grep -c ': hook: ' "$OUT")" 0
sleep 1
loops_stop fails
loops_check fails "over the pass with the failing hook"

nginx_stop
check "nginx -s quit stops it" test ! -f "$PIDFILE"
check "no worker crashed (no 'exited on signal' in the error log)" \
	test -z "$(grep 'exited on signal' "$NGX/logs/error.log")"

done_testing
