#!/bin/bash
# certvault ACME: the faults a CA throws at a client.  A wrong binding key
# fails the operation with the CA's problem and leaves nothing half-made;
# nonces rejected at a high rate still end in a certificate; a name the CA
# refuses fails with its problem kept; a CA that does not answer leaves the
# operation in progress until its next attempt, and a CA that was reset
# meanwhile (Pebble forgets accounts and orders) gets a new registration and
# one new order; a newOrder answer lost after the CA placed the order does
# not make a second order.  (Retry-After and the bound on faults:
# test_acme_retry.sh.)
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh"
need jq /usr/bin/python3

export CERTVAULT_PIN=1234 CERTVAULT_SO_PIN=5678
VAULT="$WORK/vault"
export CERTVAULT_CONF="$WORK/certvault.conf"
printf 'vault = %s\n' "$VAULT" >"$CERTVAULT_CONF"
cv() { "$CERTVAULT" "$@"; }

pebble_start
cv vault create --vault "$VAULT" --name AcmeFaults --no-register >"$OUT" 2>"$ERR" ||
	{ echo "Bail out! vault create: $(cat "$ERR")"; exit 1; }
mkdir -p "$WORK/www"
/usr/bin/python3 -m http.server "$PEBBLE_HTTP_PORT" --bind 127.0.0.1 \
	--directory "$WORK/www" >"$WORK/www.log" 2>&1 &
track $!
wait_port "$PEBBLE_HTTP_PORT" $! || { echo "Bail out! the web server did not start"; exit 1; }

# issuer NAME KID HMAC [DIRECTORY]
issuer() {
	printf '%s' "$3" >"$WORK/hmac-$1"
	cv issuer create --name "$1" --provider ACME --directory-url "${4:-$PEBBLE_DIRECTORY}" \
		--account-id "$2" --password-file "$WORK/hmac-$1" --ca-file "$PEBBLE_TLS_CA" \
		--webroot "$WORK/www" >"$OUT" 2>"$ERR" ||
		{ echo "Bail out! issuer create $1: $(cat "$ERR")"; exit 1; }
}

# order NAME ISSUER DNSNAME...: a certificate create for those names.
order() {
	local name=$1 iss=$2 sans
	shift 2
	sans=$(printf '"%s",' "$@")
	printf '{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"x509_props":{"subject":"CN=%s","sans":{"dns_names":[%s]},"validity_months":3},"issuer":{"name":"%s"}}' \
		"$1" "${sans%,}" "$iss" >"$WORK/policy-$name.json"
	cv certificate create --name "$name" --policy "@$WORK/policy-$name.json" >"$OUT" 2>"$ERR" ||
		{ echo "Bail out! certificate create $name: $(cat "$ERR")"; exit 1; }
}

status_of() { cv --json certificate pending show --name "$1" | jq -r .status; }

# passes NAME MAX: passes over NAME until it leaves inProgress (at most MAX).
passes() {
	local i s
	for i in $(seq 1 "$2"); do
		timeout -k 5 60 "$CERTVAULT" run --once >>"$WORK/passes-$1" 2>&1
		s=$(status_of "$1")
		[ "$s" = inProgress ] || break
		sleep 1
	done
}

orders_at_pebble() { grep -c 'POST /order-plz' "$WORK/pebble/pebble.log"; }

# --- A binding with the wrong HMAC key ---------------------------------------
issuer WrongKey "$PEBBLE_EAB_KID" "$PEBBLE_EAB_HMAC2"
order wrongkey WrongKey wrongkey.example.com
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-wrongkey" 2>&1
check_eq "a wrong binding key: the operation failed" "$(status_of wrongkey)" failed
cv --json certificate pending show --name wrongkey >"$WORK/op-wrongkey"
check_grep "the CA's problem type is the error code" "$WORK/op-wrongkey" \
	'"code": "(unauthorized|malformed|externalAccountRequired)"'
check_grep "the CA's detail is the error message, with the URL" "$WORK/op-wrongkey" \
	"\"message\": \".+\(https://127.0.0.1:$PEBBLE_PORT/"
check_grep "the pass says failed, naming the problem and the URL" "$WORK/pass-wrongkey" \
	"^wrongkey: failed: [a-zA-Z]+: .+ \(https://127.0.0.1:$PEBBLE_PORT/[^ ]+\)$"
check_eq "no certificate version was made" \
	"$(cv --json certificate list-versions --name wrongkey 2>/dev/null | jq 'length')" 0
check_eq "the issuer has no account URL" \
	"$(cv --json issuer show --name WrongKey | jq -r '.accountUrl // "none"')" none
check_eq "no order was placed" "$(orders_at_pebble)" 0

# --- A name the CA refuses ------------------------------------------------------
issuer Pebble "$PEBBLE_EAB_KID" "$PEBBLE_EAB_HMAC"
# Pebble refuses an IP address as a DNS identifier (the store lets it
# through as a DNS name).
order refused Pebble refused.example.com 10.0.0.1
passes refused 3
check_eq "a refused name: the operation failed" "$(status_of refused)" failed
cv --json certificate pending show --name refused >"$WORK/op-refused"
check_grep "the refusal's problem type is kept" "$WORK/op-refused" \
	'"code": "(rejectedIdentifier|malformed|unsupportedIdentifier)"'
check_grep "the refusal's detail is kept" "$WORK/op-refused" '"message": ".+"'

# --- Nonces rejected at a high rate --------------------------------------------
pebble_stop
pebble_start PEBBLE_WFE_NONCEREJECT=60
order nonces Pebble nonces.example.com
passes nonces 10
check_eq "60% of nonces rejected: the order still completes" "$(status_of nonces)" completed
[ "$(status_of nonces)" = completed ] || diag "$(cat "$WORK/passes-nonces")"
# Ten or more signed requests with 60% of nonces refused: the order could
# not have completed without retrying badNonce (0.4^10 by chance).
check_grep "Pebble refused 60% of the nonces meanwhile" "$WORK/pebble/pebble.log" \
	'reject 60% of good nonces'
check_eq "... and the order took at least ten signed requests" \
	"$(sed -n '/reject 60% of good nonces/,$p' "$WORK/pebble/pebble.log" | grep -c 'POST /' | awk '{print ($1 >= 10)}')" 1

# --- Pebble stopped mid-order, then started again (it forgets everything) ---
pebble_stop
pebble_start
order resume Pebble resume.example.com
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-resume1" 2>&1
check_grep "the first pass places the order" <(cv --json certificate pending show --name resume) '"status": "inProgress"'
pebble_stop
sleep 3 # past the validation recheck the first pass set
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-resume2" 2>&1
check_grep "Pebble down: the pass waits, naming the URL" "$WORK/pass-resume2" \
	"^resume: https://127.0.0.1:$PEBBLE_PORT/[^ ]*: .+; waiting until [0-9T:-]+Z$"
check_eq "Pebble down: the operation stays inProgress" "$(status_of resume)" inProgress
next=$(date -d "$(cv --json certificate pending show --name resume | jq -r .nextAttempt)" +%s 2>/dev/null)
check "Pebble down: the operation has a next attempt" test -n "$next"
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-resume3" 2>&1
if [ "$(date +%s)" -lt "${next:-0}" ]; then
	check_grep "a pass before next_attempt does not try" "$WORK/pass-resume3" \
		'^resume: waiting until [0-9T:-]+Z$'
else
	skip "a pass before next_attempt does not try" "this machine was too slow to pass before it"
fi
echo "--- restarted ---" >>"$WORK/pebble/pebble.log"
pebble_start
sleep 2
passes resume 10
check_eq "after the restart the operation resumes and completes" "$(status_of resume)" completed
[ "$(status_of resume)" = completed ] || diag "$(cat "$WORK/passes-resume")"
check_eq "one new order at the restarted CA" \
	"$(sed -n '/^--- restarted ---$/,$p' "$WORK/pebble/pebble.log" | grep -c 'POST /order-plz')" 1
check_eq "one new registration at the restarted CA" \
	"$(sed -n '/^--- restarted ---$/,$p' "$WORK/pebble/pebble.log" | grep -c 'POST /sign-me-up')" 1

# --- The answer to newOrder lost after the CA placed the order -----------------
# A proxy in front of Pebble holds back the first newOrder answer past the
# client's timeout; Pebble builds its URLs from the Host the client sent, so
# every URL leads through the proxy.  The next pass must find the order the
# CA placed (the account's order list) rather than order a second time.
proxy_port=$(_free_ports 1)
cat >"$WORK/slow.py" <<'PY'
import base64, http.client, http.server, json, socketserver, ssl, sys, time
port, upstream, cert, key, cafile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
held = []
def payload(body):
    p = json.loads(body)["payload"]
    return base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        ctx = ssl.create_default_context(cafile=cafile)
        c = http.client.HTTPSConnection("127.0.0.1", upstream, context=ctx, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        c.request(self.command, self.path, body=body if self.command == "POST" else None, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        if self.command == "POST" and self.path == "/order-plz" and not held and b"lost." in payload(body):
            held.append(1)
            time.sleep(6)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_POST = do_HEAD = forward
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", port), H)
sc = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sc.load_cert_chain(cert, key)
s.socket = sc.wrap_socket(s.socket, server_side=True)
s.serve_forever()
PY
/usr/bin/python3 "$WORK/slow.py" "$proxy_port" "$PEBBLE_PORT" "$WORK/pebble/cert.pem" \
	"$WORK/pebble/key.pem" "$PEBBLE_TLS_CA" >"$WORK/slow.log" 2>&1 &
ppid=$!
track $ppid
wait_port "$proxy_port" $ppid || { echo "Bail out! the proxy did not start: $(cat "$WORK/slow.log")"; exit 1; }
issuer Slow "$PEBBLE_EAB_KID" "$PEBBLE_EAB_HMAC" "https://127.0.0.1:$proxy_port/dir"
# Four earlier orders of the account come first in its order list, which
# Pebble pages three at a time: the lost order is on a later page.
for i in 1 2 3 4; do
	order "early$i" Slow "early$i.example.com"
done
for i in $(seq 1 10); do
	timeout -k 5 60 "$CERTVAULT" run --once >>"$WORK/passes-early" 2>&1
	[ "$(grep -c ': completed, version' "$WORK/passes-early")" -ge 4 ] && break
	sleep 1
done
check_eq "four orders through the proxy complete" \
	"$(grep -c '^early[1-4]: completed, version' "$WORK/passes-early")" 4
order lost Slow lost.example.com
echo "--- lost answer ---" >>"$WORK/pebble/pebble.log"
CERTVAULT_ACME_TIMEOUT=3 timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-lost1" 2>&1
check_grep "newOrder's answer lost: the pass waits, naming the URL" "$WORK/pass-lost1" \
	"^lost: https://127.0.0.1:$proxy_port/order-plz: .+; waiting until [0-9T:-]+Z$"
sleep 3
passes lost 10
check_eq "newOrder's answer lost: the operation still completes" "$(status_of lost)" completed
[ "$(status_of lost)" = completed ] || diag "$(cat "$WORK/pass-lost1" "$WORK/passes-lost")"
check_eq "newOrder's answer lost: one order at the CA, not two" \
	"$(sed -n '/^--- lost answer ---$/,$p' "$WORK/pebble/pebble.log" | grep -c 'POST /order-plz')" 1
check_eq "... found on the second page of the account's order list" \
	"$(sed -n '/^--- lost answer ---$/,$p' "$WORK/pebble/pebble.log" | grep -c 'POST /list-orderz/')" 2
stop_pid $ppid

done_testing
