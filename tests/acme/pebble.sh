# certvault ACME tests: Pebble, the ACME server they order from.
#
# A script sources conformance/lib.sh (TAP, work folder, servers that are
# stopped at exit), then this file, and calls pebble_start.  Everything
# listens on 127.0.0.1 only, on free ports:
#   pebble_start [VAR=VALUE...]  start pebble-challtestsrv (the DNS Pebble
#                asks: every name is 127.0.0.1) and Pebble with account
#                binding required, under the given environment
#                (PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=90, ...).
#                PEBBLE_VA_NOSLEEP=1 and PEBBLE_WFE_NONCEREJECT=0 unless
#                given; a restart keeps the ports and the TLS certificate.
#   pebble_stop  stop Pebble (not its DNS); Pebble forgets every account and
#                order when it stops.
# What it leaves for the checks:
#   PEBBLE_DIRECTORY   the ACME directory URL (https)
#   PEBBLE_TLS_CA      PEM of the CA that signed Pebble's TLS certificate
#   PEBBLE_HTTP_PORT   where Pebble looks for http-01 answers (127.0.0.1)
#   PEBBLE_EAB_KID PEBBLE_EAB_HMAC         a binding Pebble accepts
#   PEBBLE_EAB_KID2 PEBBLE_EAB_HMAC2       a second one
#   PEBBLE_MGMT        Pebble's management URL (roots, intermediates)
#   CHALLTEST_MGMT     pebble-challtestsrv's management URL (TXT records)
#   pebble_roots FILE  Pebble's current issuing root (PEM) into FILE

need pebble pebble-challtestsrv curl

PEBBLE_EAB_KID=kid-1
PEBBLE_EAB_HMAC=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
PEBBLE_EAB_KID2=kid-2
PEBBLE_EAB_HMAC2=b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH
PEBBLE_PID=
CHALLTEST_PID=

# The TLS certificate Pebble serves, for 127.0.0.1 and localhost, from a CA
# the test makes (PEBBLE_TLS_CA is what certvault's --ca-file gets).
_pebble_tls() {
	local d="$WORK/pebble"
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=Pebble TLS test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		>/dev/null 2>&1 &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/key.pem" -out "$d/tls.csr" -subj "/CN=localhost" >/dev/null 2>&1 &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
		>"$d/ext.cnf" &&
	openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/cert.pem" >/dev/null 2>&1
}

# _free_ports N: N distinct free TCP ports on one line, from a random start
# (scripts that run side by side must not walk the same ports).
_free_ports() {
	local want=$1 p=$((20000 + (RANDOM * 32768 + RANDOM) % 20000)) i got=()
	for i in $(seq 1 400); do
		p=$((20000 + (p - 20000 + 13) % 20000))
		port_in_use "$p" || got+=("$p")
		[ ${#got[@]} -eq "$want" ] && break
	done
	echo "${got[@]}"
}

# Ports are picked free but another program may take one before Pebble
# binds it (tests run side by side): a first start that lost a port picks
# new ones, at most three times.
pebble_start() {
	local try
	for try in 1 2 3; do
		_pebble_start_once "$@" && return 0
		[ "$_PEBBLE_FRESH" = 1 ] && grep -q 'address already in use' \
			"$WORK/pebble/pebble.log" "$WORK/pebble/challtestsrv.log" 2>/dev/null || break
		[ -n "$PEBBLE_PID" ] && stop_pid "$PEBBLE_PID"
		[ -n "$CHALLTEST_PID" ] && stop_pid "$CHALLTEST_PID"
		PEBBLE_PID= CHALLTEST_PID= PEBBLE_PORT=
		: >"$WORK/pebble/pebble.log"
		: >"$WORK/pebble/challtestsrv.log"
	done
	echo "Bail out! $_PEBBLE_WHY"
	exit 1
}

_pebble_start_once() {
	local d="$WORK/pebble" i
	_PEBBLE_FRESH=0
	if [ -z "${PEBBLE_PORT:-}" ]; then
		_PEBBLE_FRESH=1
		[ -f "$d/ca.pem" ] || _pebble_tls ||
			{ echo "Bail out! cannot make Pebble's TLS certificate"; exit 1; }
		PEBBLE_TLS_CA="$d/ca.pem"
		read -r PEBBLE_PORT PEBBLE_MGMT_PORT PEBBLE_HTTP_PORT PEBBLE_TLS_PORT \
			CHALLTEST_DNS_PORT CHALLTEST_MGMT_PORT < <(_free_ports 6)
		[ -n "$CHALLTEST_MGMT_PORT" ] || { echo "Bail out! no free ports"; exit 1; }
		cat >"$d/config.json" <<JSON
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$d/cert.pem",
    "privateKey": "$d/key.pem",
    "httpPort": $PEBBLE_HTTP_PORT,
    "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": true,
    "externalAccountMACKeys": {
      "$PEBBLE_EAB_KID": "$PEBBLE_EAB_HMAC",
      "$PEBBLE_EAB_KID2": "$PEBBLE_EAB_HMAC2"
    }
  }
}
JSON
		PEBBLE_DIRECTORY="https://127.0.0.1:$PEBBLE_PORT/dir"
		PEBBLE_MGMT="https://127.0.0.1:$PEBBLE_MGMT_PORT"
		CHALLTEST_MGMT="http://127.0.0.1:$CHALLTEST_MGMT_PORT"
	fi
	if [ -z "$CHALLTEST_PID" ]; then
		pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
			-dns01 "127.0.0.1:$CHALLTEST_DNS_PORT" -http01 "" -https01 "" -tlsalpn01 "" \
			-management "127.0.0.1:$CHALLTEST_MGMT_PORT" >"$d/challtestsrv.log" 2>&1 &
		CHALLTEST_PID=$!
		track "$CHALLTEST_PID"
		wait_port "$CHALLTEST_MGMT_PORT" "$CHALLTEST_PID" ||
			{ _PEBBLE_WHY="pebble-challtestsrv did not start: $(tail -3 "$d/challtestsrv.log")"; return 1; }
	fi
	env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 "$@" \
		pebble -config "$d/config.json" -dnsserver "127.0.0.1:$CHALLTEST_DNS_PORT" \
		>>"$d/pebble.log" 2>&1 &
	PEBBLE_PID=$!
	track "$PEBBLE_PID"
	wait_port "$PEBBLE_PORT" "$PEBBLE_PID" && wait_port "$PEBBLE_MGMT_PORT" "$PEBBLE_PID" ||
		{ _PEBBLE_WHY="pebble did not start: $(tail -3 "$d/pebble.log")"; return 1; }
	for i in $(seq 1 50); do
		curl -s --cacert "$PEBBLE_TLS_CA" "$PEBBLE_DIRECTORY" >/dev/null && return 0
		sleep 0.1
	done
	_PEBBLE_WHY="Pebble's directory does not answer"
	return 1
}

pebble_stop() {
	[ -n "$PEBBLE_PID" ] && stop_pid "$PEBBLE_PID"
	PEBBLE_PID=
}

pebble_roots() {
	curl -s --cacert "$PEBBLE_TLS_CA" -o "$1" "$PEBBLE_MGMT/roots/0"
}
