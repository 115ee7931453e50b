# certvault mail tests: the SMTP server they send to (tests/mail/smtpd.py,
# Debian's python3-aiosmtpd), on 127.0.0.1 only, on a free port the kernel
# picks.
#
# A script sources a lib that gives $WORK and TAP (conformance/lib.sh or
# tests/cli/lib.sh), then this file.  Every server started is stopped when
# the script ends: through the lib's `track` (conformance/lib.sh), else by
# this file's own stop run before the lib's EXIT trap (tests/cli/lib.sh).
#   smtpd_start DIR [SWITCH...]  start a server that saves every mail it
#                accepts in DIR (made if missing): DIR/N.eml as it arrived
#                and DIR/N.json, the envelope and the headers as Python's
#                email parser reads them (see smtpd.py).  Switches:
#                --refuse ADDR|'*' (550), --defer ADDR|'*' (451),
#                --starttls CERT KEY (required), --tls CERT KEY (smtps),
#                --auth USER:PASSWORD (required), --silent (never answers),
#                --port N (this port, e.g. the one of a server stopped
#                before: a server down, then up again), --bind ::1 (IPv6's
#                loopback instead of 127.0.0.1).
#                Sets SMTPD_PORT, SMTPD_PID and SMTPD_DIR; bails out when
#                it does not listen within 15 s.
#   smtpd_stop [PID]  stop it (TERM, then KILL after 5 s): SMTPD_PID or PID.
#   smtpd_wait_mails DIR N  until DIR holds N mails (at most 15 s); 1 if not.
#   smtpd_count DIR   how many mails DIR holds.
#   smtpd_tls_cert DIR   make a test CA (DIR/ca.pem) and a certificate for
#                127.0.0.1 and localhost it signed (DIR/cert.pem, DIR/key.pem),
#                plus a second CA that signed nothing (DIR/other-ca.pem).

need /usr/bin/python3 openssl
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
	skip_all "needs python3-aiosmtpd"

SMTPD_PY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/smtpd.py"
SMTPD_PORT=
SMTPD_PID=
SMTPD_DIR=
_SMTPD_N=0
_SMTPD_PIDS=()

_smtpd_stop_all() {
	local p
	for p in "${_SMTPD_PIDS[@]}"; do
		smtpd_stop "$p"
	done
}

# Without the lib's `track`, stop the servers first, then run the lib's own
# EXIT trap (tests/cli/lib.sh's removes $WORK).
if ! declare -F track >/dev/null; then
	_SMTPD_PREV_EXIT=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	trap "_smtpd_stop_all; $_SMTPD_PREV_EXIT" EXIT
fi

smtpd_start() {
	local dir=$1 i portfile log
	shift
	_SMTPD_N=$((_SMTPD_N + 1))
	portfile="$WORK/smtpd.$_SMTPD_N.port"
	log="$WORK/smtpd.$_SMTPD_N.log"
	mkdir -p "$dir"
	rm -f "$portfile"
	/usr/bin/python3 "$SMTPD_PY" --dir "$dir" --port-file "$portfile" "$@" \
		>"$log" 2>&1 &
	SMTPD_PID=$!
	SMTPD_DIR=$dir
	if declare -F track >/dev/null; then
		track "$SMTPD_PID"
	else
		_SMTPD_PIDS+=("$SMTPD_PID")
	fi
	for i in $(seq 1 150); do
		if [ -s "$portfile" ]; then
			SMTPD_PORT=$(cat "$portfile")
			return 0
		fi
		kill -0 "$SMTPD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "Bail out! the SMTP server did not start: $(tail -3 "$log")"
	exit 1
}

smtpd_stop() {
	local pid=${1:-$SMTPD_PID} i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$pid" = "$SMTPD_PID" ] && SMTPD_PID=
	return 0
}

smtpd_count() {
	local f n=0
	for f in "$1"/*.json; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

smtpd_wait_mails() {
	local i
	for i in $(seq 1 150); do
		[ "$(smtpd_count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

smtpd_tls_cert() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=SMTP test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		>/dev/null 2>&1 &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/other-ca.key" -out "$d/other-ca.pem" -days 2 \
		-subj "/CN=SMTP other test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		>/dev/null 2>&1 &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/key.pem" -out "$d/tls.csr" -subj "/CN=localhost" >/dev/null 2>&1 &&
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
		>"$d/ext.cnf" &&
	openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/cert.pem" >/dev/null 2>&1
}
