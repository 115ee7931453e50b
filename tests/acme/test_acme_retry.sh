#!/bin/bash
# certvault ACME: a CA that answers "later".  503 with Retry-After as
# seconds and as an HTTP date leaves the operation in progress until then,
# the pass naming the URL and the CA's problem; 429 rateLimited with
# "Retry-After: 0" is retried at once, counted, and the 50th fault in a row
# fails the operation with the CA's problem.  The CA here is a small server
# on 127.0.0.1 that answers every request so.
ACME_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$ACME_DIR/../../conformance}/lib.sh"
. "$ACME_DIR/pebble.sh" # _free_ports
need jq /usr/bin/python3

export CERTVAULT_PIN=1234 CERTVAULT_SO_PIN=5678
VAULT="$WORK/vault"
export CERTVAULT_CONF="$WORK/certvault.conf"
printf 'vault = %s\n' "$VAULT" >"$CERTVAULT_CONF"
cv() { "$CERTVAULT" "$@"; }
cv vault create --vault "$VAULT" --name AcmeRetry --no-register >"$OUT" 2>"$ERR" ||
	{ echo "Bail out! vault create: $(cat "$ERR")"; exit 1; }
mkdir -p "$WORK/www"

# issuer NAME DIRECTORY
issuer() {
	printf '%s' zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W >"$WORK/hmac-$1"
	cv issuer create --name "$1" --provider ACME --directory-url "$2" --account-id kid-1 \
		--password-file "$WORK/hmac-$1" --webroot "$WORK/www" >"$OUT" 2>"$ERR" ||
		{ echo "Bail out! issuer create $1: $(cat "$ERR")"; exit 1; }
}

# order NAME ISSUER DNSNAME: a certificate create for that name.
order() {
	printf '{"key_props":{"kty":"EC","crv":"P-256","exportable":false},"x509_props":{"subject":"CN=%s","validity_months":3},"issuer":{"name":"%s"}}' \
		"$3" "$2" >"$WORK/policy-$1.json"
	cv certificate create --name "$1" --policy "@$WORK/policy-$1.json" >"$OUT" 2>"$ERR" ||
		{ echo "Bail out! certificate create $1: $(cat "$ERR")"; exit 1; }
}

status_of() { cv --json certificate pending show --name "$1" | jq -r .status; }

# --- 503 with Retry-After, in both forms -----------------------------------------
busy_port=$(_free_ports 1)
cat >"$WORK/busy.py" <<'PY'
import sys, http.server
status = int(sys.argv[3]) if len(sys.argv) > 3 else 503
ptype = sys.argv[4] if len(sys.argv) > 4 else "serverInternal"
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(status)
        self.send_header("Retry-After", sys.argv[2])
        self.send_header("Content-Type", "application/problem+json")
        self.end_headers()
        self.wfile.write(('{"type":"urn:ietf:params:acme:error:%s","detail":"come back later"}' % ptype).encode())
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
for form in seconds date; do
	later=$(( $(date +%s) + 7200 ))
	if [ $form = seconds ]; then
		ra=7200
		want=$(date -u -d "@$later" +%Y-%m-%dT%H:)
	else
		ra=$(date -u -d "@$later" '+%a, %d %b %Y %H:%M:%S GMT')
		want=$(date -u -d "@$later" +%Y-%m-%dT%H:%M:%SZ)
	fi
	/usr/bin/python3 "$WORK/busy.py" "$busy_port" "$ra" >/dev/null 2>&1 &
	bpid=$!
	track $bpid
	wait_port "$busy_port" $bpid || { echo "Bail out! the busy server did not start"; exit 1; }
	issuer "Busy$form" "http://127.0.0.1:$busy_port/dir"
	order "busy$form" "Busy$form" busy.example.com
	timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-busy" 2>&1
	check_grep "503 with Retry-After as $form: the pass waits until then" "$WORK/pass-busy" \
		"^busy$form: http://127.0.0.1:$busy_port/dir: serverInternal: come back later; waiting until $want"
	check_eq "503 with Retry-After as $form: the operation stays inProgress" "$(status_of "busy$form")" inProgress
	stop_pid $bpid
done

# --- A rate limit that never lifts: bounded ------------------------------------
# 429 rateLimited with "Retry-After: 0" (retry at once): the operation waits
# through 49 passes and fails at the 50th, with the CA's problem.
/usr/bin/python3 "$WORK/busy.py" "$busy_port" 0 429 rateLimited >/dev/null 2>&1 &
bpid=$!
track $bpid
wait_port "$busy_port" $bpid || { echo "Bail out! the busy server did not start"; exit 1; }
issuer Limited "http://127.0.0.1:$busy_port/dir"
order limited Limited limited.example.com
for i in $(seq 1 49); do
	timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-limited" 2>&1
done
check_grep "429 rateLimited: the pass waits, naming the URL and the problem" "$WORK/pass-limited" \
	"^limited: http://127.0.0.1:$busy_port/dir: rateLimited: come back later"
check_eq "429 rateLimited: in progress after 49 passes" "$(status_of limited)" inProgress
check_eq "... which it counts" "$(cv --json certificate pending show --name limited | jq .attempts)" 49
timeout -k 5 60 "$CERTVAULT" run --once >"$WORK/pass-limited" 2>&1
check_eq "... and the 50th fault in a row fails it" "$(status_of limited)" failed
check_eq "... with the CA's problem type" \
	"$(cv --json certificate pending show --name limited | jq -r .error.code)" rateLimited
stop_pid $bpid
done_testing
