# certvault ACME tests of `certvault run`, --wait and the challenge ways:
# what test_acme_run.sh, test_acme_kill.sh and test_acme_nginx.sh share.
# Sourced after conformance/lib.sh and pebble.sh.
#   acme_vault               a vault (token AcmeToken) in $VAULT, the config
#                            naming it, the PINs in the environment
#   acme_issuer NAME ARGS..  an ACME issuer on Pebble with its binding and
#                            TLS roots, and ARGS (the challenge way); $RC
#   acme_policy NAME DNS..   $WORK/policy-NAME.json: EC P-256, CN = the first
#                            name, every name a SAN, issuer $ISSUER
#   op_field NAME JQ         a field of `pending show --json`
#   pass_once [NAME]         one `certvault run --once`, its lines appended
#                            to $WORK/passes(-NAME)
#   passes_until_done NAME N run --once until NAME's operation ends, at most
#                            N passes; prints the status
#   web_start DIR / web_stop python's http.server serving DIR where Pebble
#                            looks for http-01 answers
#   new_orders               how many newOrder requests Pebble has taken

PIN=1234
export CERTVAULT_PIN=$PIN CERTVAULT_SO_PIN=5678
VAULT="$WORK/vault"
export CERTVAULT_CONF="$WORK/certvault.conf"
ISSUER=
WEB_PID=

acme_vault() {
	printf 'vault = %s\n' "$VAULT" >"$CERTVAULT_CONF"
	cv vault create --vault "$VAULT" --name AcmeToken --no-register >"$OUT" 2>"$ERR" ||
		{ echo "Bail out! vault create: $(cat "$ERR")"; exit 1; }
	printf '%s' "$PEBBLE_EAB_HMAC" >"$WORK/hmac"
	chmod 600 "$WORK/hmac"
}

acme_issuer() {
	local name=$1
	shift
	run "$CERTVAULT" issuer create --name "$name" --provider ACME \
		--directory-url "$PEBBLE_DIRECTORY" --account-id "$PEBBLE_EAB_KID" \
		--password-file "$WORK/hmac" --email admin@example.com \
		--ca-file "$PEBBLE_TLS_CA" "$@"
	ISSUER=$name
	[ "$RC" = 0 ] || diag "issuer create $name: $(cat "$ERR")"
}

acme_policy() {
	local name=$1 sans
	shift
	sans=$(printf '"%s",' "$@")
	printf '{"key_props":{"kty":"EC","crv":"P-256","exportable":false,"reuse_key":false},"x509_props":{"subject":"CN=%s","sans":{"dns_names":[%s]},"ekus":["1.3.6.1.5.5.7.3.1"],"validity_months":3},"issuer":{"name":"%s"}}' \
		"$1" "${sans%,}" "$ISSUER" >"$WORK/policy-$name.json"
}

op_field() {
	cv --json certificate pending show --name "$1" 2>/dev/null | jq -r "$2"
}

pass_once() {
	local log="$WORK/passes${1:+-$1}"
	timeout -k 5 90 "$CERTVAULT" run --once >>"$log" 2>&1
}

passes_until_done() {
	local name=$1 max=$2 i status=inProgress
	for i in $(seq 1 "$max"); do
		pass_once "$name"
		status=$(op_field "$name" .status)
		[ "$status" = inProgress ] || break
		sleep 0.5
	done
	echo "$status"
}

web_start() {
	/usr/bin/python3 -m http.server "$PEBBLE_HTTP_PORT" --bind 127.0.0.1 \
		--directory "$1" >"$WORK/www.log" 2>&1 &
	WEB_PID=$!
	track "$WEB_PID"
	wait_port "$PEBBLE_HTTP_PORT" "$WEB_PID" ||
		{ echo "Bail out! the web server did not start: $(cat "$WORK/www.log")"; exit 1; }
}

web_stop() {
	[ -n "$WEB_PID" ] && stop_pid "$WEB_PID"
	WEB_PID=
	local i
	for i in $(seq 1 50); do
		port_in_use "$PEBBLE_HTTP_PORT" || return 0
		sleep 0.1
	done
}

new_orders() {
	grep -c 'POST /order-plz' "$WORK/pebble/pebble.log"
}
