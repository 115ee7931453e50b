/* certvault: one mail over libcurl's SMTP.  Knows no vault.
 *
 * The message is built here (RFC 5322: Date, From, To, Subject, Message-ID,
 * MIME-Version, Content-Type text/plain; charset=UTF-8, CRLF line ends; a
 * subject that is not printable ASCII, or that holds "=?", as RFC 2047
 * encoded words, so it reads back as written; a body that is not 7-bit
 * ASCII in lines of at most 998 bytes is sent quoted-printable).  libcurl
 * speaks the protocol, dot-stuffing included.  TLS is verified (peer and
 * name) against ca_file or the system's roots; plain SMTP, without TLS, only
 * to a loopback address; no proxy from the environment is used; credentials
 * go through libcurl's SASL (never in a URL).
 */
#ifndef CV_NET_SMTP_H
#define CV_NET_SMTP_H
#include <stddef.h>

enum smtp_security {
	SMTP_PLAIN = 0,     /* no TLS: only to 127.0.0.1 or [::1] */
	SMTP_STARTTLS = 1,  /* STARTTLS required (CURLUSESSL_ALL) */
	SMTP_TLS = 2,       /* implicit TLS (smtps://) */
};

struct smtp_server {
	const char *host;          /* name or address; [::1] style for IPv6 */
	unsigned port;             /* 1..65535 */
	enum smtp_security security;
	const char *user;          /* NULL: no login */
	const char *password;      /* with user */
	const char *ca_file;       /* PEM roots for TLS; NULL: the system's */
	long timeout;              /* seconds for the whole mail; <= 0: 30 */
};

struct smtp_mail {
	const char *from;          /* envelope and From: address */
	const char *const *to;     /* envelope and To: addresses, NULL-terminated */
	const char *subject;       /* one line, UTF-8 (encoded as RFC 2047 if not ASCII) */
	const char *body;          /* UTF-8 text, lines separated by \n */
	const char *message_id;    /* "<...@...>", or NULL to make one */
};

/* Send one mail.  0 when the server accepted it for every recipient.
 * Otherwise -1 with one line in err naming the server and the reason (the
 * server's reply code and text when it answered), and *permanent set to 1
 * when retrying cannot help (5xx), 0 when it may (connection refused,
 * timeout, 4xx, TLS).
 *
 * Also permanent, refused before any connection: a host or port that is not
 * one, SMTP_PLAIN to anything but 127.0.0.1 or [::1], an address that is
 * not a plain ASCII local@domain (no spaces, brackets, quotes, commas or
 * control characters), no recipient, a subject with a line break, a
 * message_id that is not "<...@...>".  Nothing is kept: the caller owns
 * every string, before and after. */
int smtp_send(const struct smtp_server *srv, const struct smtp_mail *mail,
	      int *permanent, char *err, size_t errlen);
#endif
