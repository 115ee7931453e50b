#!/bin/bash
# certvault mail: one mail through tools/net/smtp.c (the send_mail program)
# to a real SMTP server on 127.0.0.1 (smtpd.py, python3-aiosmtpd), read back
# with Python's email parser: the envelope, the headers, a non-ASCII subject
# and body, several recipients; STARTTLS and TLS against the test's CA and a
# wrong one; a login right and wrong; a recipient refused (550, permanent)
# or deferred (451, not); a server down, then up; a server that never
# answers.  Every failure is one line and says whether a retry may help.
MAIL_DIR=$(cd "$(dirname "$0")" && pwd)
. "${CONFORMANCE_DIR:-$MAIL_DIR/../../conformance}/lib.sh"
. "$MAIL_DIR/smtpd.sh"
need jq

SEND_MAIL=${SEND_MAIL:-}
[ -x "$SEND_MAIL" ] || { echo "Bail out! SEND_MAIL does not name send_mail"; exit 1; }

FROM=vault@example.org

# send ARGS...: send_mail to 127.0.0.1, status in RC, its line in ERR.
send() {
	run "$SEND_MAIL" --host 127.0.0.1 --from "$FROM" "$@"
}

# field DIR N JQ: a field of the Nth mail DIR holds.
field() {
	jq -r "$3" "$1/$(printf %04d "$2").json"
}

# one_line_err TEXT: the failure said in exactly one line.
one_line_err() {
	check_eq "$1" "$(wc -l <"$ERR")" 1
}

smtpd_tls_cert "$WORK/tls" || { echo "Bail out! cannot make the TLS certificates"; exit 1; }

# --- a plain mail: envelope, headers, body -----------------------------------
smtpd_start "$WORK/box"
BOX=$SMTPD_DIR
PLAIN_PORT=$SMTPD_PORT
PLAIN_PID=$SMTPD_PID
printf 'Certificate web, version 3f2a, expires 2027-03-01.\n\n.\n.hidden behind a dot\n..two dots\nThe vault made a new version.\n' \
	>"$WORK/body1"
send --port "$PLAIN_PORT" --to ops@example.com \
	--subject "certvault: certificate web renewed" --body-file "$WORK/body1"
check_eq "a plain mail to loopback is accepted" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"
smtpd_wait_mails "$BOX" 1
check_eq "... the envelope sender" "$(field "$BOX" 1 .mail_from)" "$FROM"
check_eq "... the envelope recipient" "$(field "$BOX" 1 '.rcpt_tos|join(",")')" ops@example.com
check_eq "... From:" "$(field "$BOX" 1 .from)" "$FROM"
check_eq "... To:" "$(field "$BOX" 1 .to)" ops@example.com
check_eq "... Subject:" "$(field "$BOX" 1 .subject)" "certvault: certificate web renewed"
check_eq "... the body, dot lines included, as written" \
	"$(field "$BOX" 1 .body | tr -d '\r')" "$(cat "$WORK/body1")"
check_eq "... MIME-Version: 1.0" "$(field "$BOX" 1 .mime_version)" 1.0
check_eq "... Content-Type text/plain; charset=UTF-8" \
	"$(field "$BOX" 1 '.content_type + ";" + .charset')" "text/plain;utf-8"
check_grep "... a Message-ID in the sender's domain" <(field "$BOX" 1 .message_id) \
	'^<[0-9a-f]+\.[0-9]+@example\.org>$'
DATE=$(field "$BOX" 1 .date)
check_grep "... an RFC 5322 Date: in UTC" <(echo "$DATE") \
	'^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000$'
SKEW=$(($(date +%s) - $(date -d "$DATE" +%s)))
check "... the Date: is now (within 10 minutes)" test "${SKEW#-}" -le 600
check_eq "... the parser found no defect" "$(field "$BOX" 1 '.defects|length')" 0
check "... every line ends in CRLF" /usr/bin/python3 -c '
import sys
raw = open(sys.argv[1], "rb").read()
sys.exit(0 if raw.count(b"\n") == raw.count(b"\r\n") > 5 else 1)' "$BOX/0001.eml"

# --- non-ASCII subject and body ---------------------------------------------
SUBJ='Zertifikat „web“ läuft am 1. März ab — 証明書の有効期限が近づいています'
printf 'Grüße: the certificate for café.example expires soon.\n%s\nend  \n' \
	"$(printf 'x%.0s' $(seq 1 1200))" >"$WORK/body2"
send --port "$PLAIN_PORT" --to ops@example.com --subject "$SUBJ" --body-file "$WORK/body2"
check_eq "a mail with a non-ASCII subject and body is accepted" "$RC" 0
smtpd_wait_mails "$BOX" 2
check_eq "... the subject reads back as written" "$(field "$BOX" 2 .subject)" "$SUBJ"
check_grep "... sent as RFC 2047 UTF-8 encoded words" <(field "$BOX" 2 .raw_subject) \
	'^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?='
check "... the raw header is ASCII in lines of at most 78 characters" /usr/bin/python3 -c '
import sys
h = sys.argv[1]
sys.exit(0 if h.isascii() and all(len(l) <= 78 for l in h.split("\r\n")) and h.count("\r\n") >= 1 else 1)' \
	"$(field "$BOX" 2 .raw_subject)"
check_eq "... the body reads back as written (a line of 1200 characters too)" \
	"$(field "$BOX" 2 .body | tr -d '\r')" "$(cat "$WORK/body2")"
check_eq "... sent quoted-printable" "$(field "$BOX" 2 .transfer_encoding)" quoted-printable
check "... no line of the message is over 998 bytes" /usr/bin/python3 -c '
import sys
sys.exit(0 if max(map(len, open(sys.argv[1], "rb").read().split(b"\r\n"))) <= 998 else 1)' \
	"$BOX/0002.eml"
LONG="certvault: the certificate named web-frontend-production-eu-west in vault Main was renewed and its new version is in service"
send --port "$PLAIN_PORT" --to ops@example.com --subject "$LONG" --body-file "$WORK/body1" \
	--message-id '<notice-42@vault.example.org>'
check_eq "a long ASCII subject and a given Message-ID" "$RC" 0
smtpd_wait_mails "$BOX" 3
check_eq "... the subject reads back as written" "$(field "$BOX" 3 .subject)" "$LONG"
check_eq "... the Message-ID is the one given" "$(field "$BOX" 3 .message_id)" '<notice-42@vault.example.org>'

# ASCII that a reader would take for an encoded word, or a control
# character, is itself encoded: the subject reads back as written.
TRICK='price =?UTF-8?B?w6k=?= is literal'
send --port "$PLAIN_PORT" --to ops@example.com --subject "$TRICK" --body-file "$WORK/body1"
check_eq "a subject holding the text of an encoded word is accepted" "$RC" 0
smtpd_wait_mails "$BOX" 4
check_eq "... and reads back literally" "$(field "$BOX" 4 .subject)" "$TRICK"
ESCSUBJ=$'bell\a and escape\e[31m'
send --port "$PLAIN_PORT" --to ops@example.com --subject "$ESCSUBJ" --body-file "$WORK/body1"
check_eq "a subject with control characters is accepted" "$RC" 0
smtpd_wait_mails "$BOX" 5
check_eq "... and reads back as written" "$(field "$BOX" 5 .subject)" "$ESCSUBJ"
check "... while the header itself holds none" /usr/bin/python3 -c '
import sys
h = sys.argv[1]
sys.exit(0 if all(32 <= ord(c) < 127 or c in "\r\n" for c in h) else 1)' \
	"$(field "$BOX" 5 .raw_subject)"

SPACED="$(printf 'x%.0s' $(seq 1 70))$(printf ' %.0s' $(seq 1 90))end  "
send --port "$PLAIN_PORT" --to ops@example.com --subject "$SPACED" --body-file "$WORK/body1"
check_eq "a subject with runs of spaces and trailing ones is accepted" "$RC" 0
smtpd_wait_mails "$BOX" 6
check_eq "... and reads back with every space" "$(field "$BOX" 6 .subject)" "$SPACED"
check "... the header has no line of blanks alone (RFC 5322 section 3.2.2)" /usr/bin/python3 -c '
import sys
sys.exit(0 if all(l.strip() for l in sys.argv[1].split("\r\n")) else 1)' \
	"$(field "$BOX" 6 .raw_subject)"

# --- several recipients ------------------------------------------------------
send --port "$PLAIN_PORT" --to ops@example.com --to sec@example.com --to admin@example.net \
	--subject "to three" --body-file "$WORK/body1"
check_eq "a mail to three contacts is accepted" "$RC" 0
smtpd_wait_mails "$BOX" 7
check_eq "... every one in the envelope" "$(field "$BOX" 7 '.rcpt_tos|join(",")')" \
	ops@example.com,sec@example.com,admin@example.net
check_eq "... every one in To:" "$(field "$BOX" 7 .to)" \
	"ops@example.com, sec@example.com, admin@example.net"

# --- what is refused before any connection -----------------------------------
send --port "$PLAIN_PORT" --to ops@example.com --subject $'two\r\nBcc: victim@example.com' \
	--body-file "$WORK/body1"
check_eq "a subject with a line break is refused for good (exit 5)" "$RC" 5
one_line_err "... in one line"
send --port "$PLAIN_PORT" --to $'ops@example.com>\r\nRCPT TO:<victim@example.com' \
	--subject x --body-file "$WORK/body1"
check_eq "a recipient that is not one address is refused for good" "$RC" 5
check_grep "... naming it" "$ERR" 'recipient .* is not an address'
one_line_err "... in one line"
run "$SEND_MAIL" --host '127.0.0.1:1@evil.example/x' --port "$PLAIN_PORT" --from "$FROM" \
	--to ops@example.com --subject x --body-file "$WORK/body1"
check_eq "a host that would be read as more of a URL is refused for good" "$RC" 5
check_grep "... naming it" "$ERR" 'not a host name or address'
send --port 0 --to ops@example.com --subject x --body-file "$WORK/body1"
check_eq "port 0 is refused for good" "$RC" 5
send --port "$PLAIN_PORT" --to ops@example.com --subject x --body-file "$WORK/body1" \
	--message-id 'no-brackets@example.org'
check_eq "a Message-ID without its brackets is refused for good" "$RC" 5
send --port "$PLAIN_PORT" --subject x --body-file "$WORK/body1"
check_eq "no recipient is refused for good" "$RC" 5
check_grep "... saying so" "$ERR" ': no recipient$'
run "$SEND_MAIL" --host 127.0.0.1 --port "$PLAIN_PORT" --from 'vault@example.org> SIZE=1' \
	--to ops@example.com --subject x --body-file "$WORK/body1"
check_eq "a sender that is not one address is refused for good" "$RC" 5
# A name, even one that resolves to loopback, is not an address: this
# server would take the mail if it were sent.
run "$SEND_MAIL" --host localhost --port "$PLAIN_PORT" --from "$FROM" --to ops@example.com \
	--subject x --body-file "$WORK/body1"
check_eq "plain SMTP to a host that is not 127.0.0.1 or [::1] is refused for good" "$RC" 5
check_grep "... saying TLS is needed" "$ERR" "SMTP server localhost:$PLAIN_PORT: mail without TLS goes only to 127\.0\.0\.1 or \[::1\]"
one_line_err "... in one line"
check_eq "... nothing reached the server" "$(smtpd_count "$BOX")" 7
# STARTTLS or TLS asked for, and a server that offers neither: never in clear.
send --port "$PLAIN_PORT" --security starttls --ca-file "$WORK/tls/ca.pem" \
	--user relay-user --password-file "$WORK/body1" \
	--to ops@example.com --subject "must be TLS" --body-file "$WORK/body1"
check_eq "STARTTLS required and a server without it: not sent, may be retried (exit 4)" "$RC" 4
one_line_err "... in one line"
send --port "$PLAIN_PORT" --security tls --ca-file "$WORK/tls/ca.pem" \
	--to ops@example.com --subject "must be TLS" --body-file "$WORK/body1"
check_eq "implicit TLS to a server that speaks plain SMTP: not sent, may be retried (exit 4)" "$RC" 4
one_line_err "... in one line"
check_eq "... neither mail reached the server" "$(smtpd_count "$BOX")" 7
smtpd_stop "$PLAIN_PID"

# --- STARTTLS ----------------------------------------------------------------
smtpd_start "$WORK/box-starttls" --starttls "$WORK/tls/cert.pem" "$WORK/tls/key.pem"
STLS_PID=$SMTPD_PID
send --port "$SMTPD_PORT" --security starttls --ca-file "$WORK/tls/ca.pem" \
	--to ops@example.com --subject "over STARTTLS" --body-file "$WORK/body1"
check_eq "STARTTLS with the test CA: accepted" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"
smtpd_wait_mails "$SMTPD_DIR" 1
check_eq "... and it went over TLS" "$(field "$SMTPD_DIR" 1 .tls)" true
send --port "$SMTPD_PORT" --security starttls --ca-file "$WORK/tls/other-ca.pem" \
	--to ops@example.com --subject "wrong CA" --body-file "$WORK/body1"
check_eq "STARTTLS with a CA that did not sign the server: refused, may be retried (exit 4)" "$RC" 4
one_line_err "... in one line"
check_grep "... naming the server and the certificate" "$ERR" \
	"^SMTP server 127\.0\.0\.1:$SMTPD_PORT: .*(certificate|issuer)"
send --port "$SMTPD_PORT" --to ops@example.com --subject "no TLS" --body-file "$WORK/body1"
check_eq "plain SMTP to a server that wants STARTTLS: its 530, for good" "$RC" 5
check_grep "... with the server's code" "$ERR" "^SMTP server 127\.0\.0\.1:$SMTPD_PORT: 530 "
check_eq "... only the mail over verified TLS arrived" "$(smtpd_count "$SMTPD_DIR")" 1
smtpd_stop "$STLS_PID"

# --- implicit TLS (smtps) ----------------------------------------------------
smtpd_start "$WORK/box-tls" --tls "$WORK/tls/cert.pem" "$WORK/tls/key.pem"
TLS_PID=$SMTPD_PID
send --port "$SMTPD_PORT" --security tls --ca-file "$WORK/tls/ca.pem" \
	--to ops@example.com --subject "over TLS" --body-file "$WORK/body1"
check_eq "implicit TLS with the test CA: accepted" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"
smtpd_wait_mails "$SMTPD_DIR" 1
check_eq "... and it went over TLS" "$(field "$SMTPD_DIR" 1 .tls)" true
send --port "$SMTPD_PORT" --security tls --ca-file "$WORK/tls/other-ca.pem" \
	--to ops@example.com --subject "wrong CA" --body-file "$WORK/body1"
check_eq "implicit TLS with a wrong CA: refused, may be retried (exit 4)" "$RC" 4
one_line_err "... in one line"
smtpd_stop "$TLS_PID"

# --- login -------------------------------------------------------------------
printf 'right-secret\n' >"$WORK/pw-right"
printf 'wrong-secret\n' >"$WORK/pw-wrong"
smtpd_start "$WORK/box-auth" --auth relay-user:right-secret
AUTH_PID=$SMTPD_PID
send --port "$SMTPD_PORT" --user relay-user --password-file "$WORK/pw-right" \
	--to ops@example.com --subject "with login" --body-file "$WORK/body1"
check_eq "the right login: accepted" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"
smtpd_wait_mails "$SMTPD_DIR" 1
check_eq "... as that user" "$(field "$SMTPD_DIR" 1 .login)" relay-user
send --port "$SMTPD_PORT" --user relay-user --password-file "$WORK/pw-wrong" \
	--to ops@example.com --subject "wrong login" --body-file "$WORK/body1"
check_eq "a wrong password: refused for good (exit 5)" "$RC" 5
check_grep "... with the server's 535" "$ERR" "^SMTP server 127\.0\.0\.1:$SMTPD_PORT: 535 "
one_line_err "... in one line"
check "... that never shows the password" bash -c '! grep -q -e wrong-secret -e d3Jvbmctc2VjcmV0 "$1"' _ "$ERR"
send --port "$SMTPD_PORT" --to ops@example.com --subject "no login" --body-file "$WORK/body1"
check_eq "no login where one is required: refused for good" "$RC" 5
check_grep "... with the server's 530" "$ERR" ": 530 "
check_eq "... only the mail with the right login arrived" "$(smtpd_count "$SMTPD_DIR")" 1
smtpd_stop "$AUTH_PID"
smtpd_start "$WORK/box-stls-auth" --starttls "$WORK/tls/cert.pem" "$WORK/tls/key.pem" \
	--auth relay-user:right-secret
STLS_AUTH_PID=$SMTPD_PID
send --port "$SMTPD_PORT" --security starttls --ca-file "$WORK/tls/ca.pem" \
	--user relay-user --password-file "$WORK/pw-right" \
	--to ops@example.com --subject "login over STARTTLS" --body-file "$WORK/body1"
check_eq "a login over STARTTLS (offered only once TLS is up): accepted" "$RC" 0
[ "$RC" = 0 ] || diag "$(cat "$ERR")"
smtpd_wait_mails "$SMTPD_DIR" 1
check_eq "... over TLS, as that user" "$(field "$SMTPD_DIR" 1 '(.tls|tostring) + " " + .login')" \
	"true relay-user"
smtpd_stop "$STLS_AUTH_PID"

# --- refusals: 550 for good, 451 for now -------------------------------------
smtpd_start "$WORK/box-refuse" --refuse nobody@example.com --defer later@example.com
REFUSE_PID=$SMTPD_PID
send --port "$SMTPD_PORT" --to ops@example.com --to nobody@example.com \
	--subject "one refused" --body-file "$WORK/body1"
check_eq "a recipient refused with 550: for good (exit 5)" "$RC" 5
check_grep "... the server's code and words, naming the recipient" "$ERR" \
	"^SMTP server 127\.0\.0\.1:$SMTPD_PORT: 550 5\.1\.1 <nobody@example\.com>: recipient refused"
one_line_err "... in one line"
send --port "$SMTPD_PORT" --to ops@example.com --to later@example.com \
	--subject "one deferred" --body-file "$WORK/body1"
check_eq "a recipient deferred with 451: may be retried (exit 4)" "$RC" 4
check_grep "... the server's code and words" "$ERR" \
	"^SMTP server 127\.0\.0\.1:$SMTPD_PORT: 451 4\.3\.0 <later@example\.com>"
one_line_err "... in one line"
check_eq "... no mail was delivered to only some of the recipients" "$(smtpd_count "$SMTPD_DIR")" 0
send --port "$SMTPD_PORT" --to ops@example.com --subject "fine" --body-file "$WORK/body1"
check_eq "... while a mail to a recipient it takes still goes" "$RC" 0
smtpd_stop "$REFUSE_PID"

# --- a server down, then up --------------------------------------------------
smtpd_start "$WORK/box-flaky"
FLAKY_PORT=$SMTPD_PORT
smtpd_stop "$SMTPD_PID"
send --port "$FLAKY_PORT" --to ops@example.com --subject "while down" --body-file "$WORK/body1"
check_eq "a server that is down: may be retried (exit 4)" "$RC" 4
check_grep "... naming the server" "$ERR" "^SMTP server 127\.0\.0\.1:$FLAKY_PORT: "
one_line_err "... in one line"
smtpd_start "$WORK/box-flaky" --port "$FLAKY_PORT"
send --port "$FLAKY_PORT" --to ops@example.com --subject "once up" --body-file "$WORK/body1"
check_eq "... the same mail once it is up again: accepted" "$RC" 0
smtpd_wait_mails "$SMTPD_DIR" 1
check_eq "... one mail, the one sent once it was up" "$(field "$SMTPD_DIR" 1 .subject)" "once up"
smtpd_stop "$SMTPD_PID"

# --- IPv6 loopback -----------------------------------------------------------
if /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	smtpd_start "$WORK/box-v6" --bind ::1
	run "$SEND_MAIL" --host '[::1]' --port "$SMTPD_PORT" --from "$FROM" --to ops@example.com \
		--subject "over IPv6" --body-file "$WORK/body1"
	check_eq "plain SMTP to [::1]: accepted" "$RC" 0
	[ "$RC" = 0 ] || diag "$(cat "$ERR")"
	smtpd_wait_mails "$SMTPD_DIR" 1
	check_eq "... the mail arrived" "$(field "$SMTPD_DIR" 1 .subject)" "over IPv6"
	smtpd_stop "$SMTPD_PID"
else
	skip "plain SMTP to [::1]" "no IPv6 loopback here"
	skip "... the mail arrived" "no IPv6 loopback here"
fi

# --- a server that accepts and never answers ---------------------------------
smtpd_start "$WORK/box-silent" --silent
send --port "$SMTPD_PORT" --timeout 2 --to ops@example.com --subject "into the void" \
	--body-file "$WORK/body1"
check_eq "a server that never answers: given up at the timeout, may be retried (exit 4)" "$RC" 4
check_grep "... saying it timed out" "$ERR" "^SMTP server 127\.0\.0\.1:$SMTPD_PORT: .*timed out"
one_line_err "... in one line"
smtpd_stop "$SMTPD_PID"

done_testing
