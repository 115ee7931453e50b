/* certvault: one mail over libcurl's SMTP (smtp.h).
 *
 * The message is made whole in memory first (a notice is a few kilobytes),
 * then handed to libcurl through its read callback.  The server's replies
 * are heard through libcurl's debug callback (incoming header lines only:
 * what the client sends, AUTH included, is never looked at), so a refusal
 * is reported with the server's own code and words. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "smtp.h"

#define TIMEOUT_DEFAULT 30   /* seconds for the whole mail */
#define CONNECT_TIMEOUT_MAX 15
#define ADDRESS_MAX 254      /* RFC 5321 path limit, less the brackets */
#define LINE_MAX_OCTETS 998  /* RFC 5322 section 2.1.1 */
#define SUBJECT_MAX 900
#define REPLY_MAX 256

struct buf {
	char *data;
	size_t len, cap;
	int failed;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 4096 : b->cap;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->failed = 1;
		return;
	}
	buf_add(b, tmp, (size_t)n);
}

/* --- what the caller gave ------------------------------------------------ */

/* s, at most n - 1 bytes, with control characters as '?': what a refusal
 * quotes of a bad argument stays one line. */
static const char *
printable(const char *s, char *out, size_t n)
{
	size_t i;

	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && i + 1 < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

/* A plain ASCII local@domain: what goes between < and > in MAIL FROM and
 * RCPT TO, and in the From: and To: headers, without any quoting. */
static int
address_ok(const char *a)
{
	const char *at;
	size_t i, len;

	if (a == NULL)
		return 0;
	len = strlen(a);
	if (len < 3 || len > ADDRESS_MAX)
		return 0;
	at = strchr(a, '@');
	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)a[i];

		if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[],;:\"\\", ch) != NULL)
			return 0;
	}
	return 1;
}

static int
message_id_ok(const char *id)
{
	size_t len = strlen(id), i;

	if (len < 5 || len > 250 || id[0] != '<' || id[len - 1] != '>' ||
	    strchr(id, '@') == NULL)
		return 0;
	for (i = 1; i + 1 < len; i++) {
		unsigned char ch = (unsigned char)id[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '<' || ch == '>')
			return 0;
	}
	return 1;
}

/* A host name, an IPv4 address or a bracketed IPv6 address, and nothing a
 * URL would read as more (user, path, query). */
static int
host_ok(const char *h)
{
	size_t len, i;

	if (h == NULL)
		return 0;
	len = strlen(h);
	if (len == 0 || len > 253)
		return 0;
	if (h[0] == '[') {
		char inner[64];
		struct in6_addr a6;

		if (h[len - 1] != ']' || len - 2 >= sizeof(inner))
			return 0;
		memcpy(inner, h + 1, len - 2);
		inner[len - 2] = '\0';
		return inet_pton(AF_INET6, inner, &a6) == 1;
	}
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
			return 0;
	return 1;
}

static int
host_is_loopback(const char *h)
{
	return strcmp(h, "127.0.0.1") == 0 || strcmp(h, "[::1]") == 0;
}

/* --- the message ------------------------------------------------------- */

/* RFC 5322 date-time in UTC, without the locale's words. */
static void
add_date(struct buf *b, time_t now)
{
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					   "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
					   "Jun", "Jul", "Aug", "Sep", "Oct",
					   "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&now, &tm);
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
		   day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Text a header may carry as it is: printable ASCII, nothing a reader
 * would decode as an RFC 2047 encoded word, and words one space apart (so
 * folding before a space never leaves a line of blanks, and no reader
 * trims what was meant). */
static int
header_plain(const char *s)
{
	size_t len = strlen(s);

	if (strstr(s, "=?") != NULL || strstr(s, "  ") != NULL ||
	    (len > 0 && (s[0] == ' ' || s[len - 1] == ' ')))
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* Subject: as it is when plain (folded before a space to keep lines short),
 * else as RFC 2047 "B" encoded words of whole UTF-8 characters, each at
 * most 75 characters, one per folded line. */
static void
add_subject(struct buf *b, const char *s)
{
	size_t len = strlen(s), col, i;

	if (header_plain(s)) {
		buf_str(b, "Subject:");
		col = 8;
		i = 0;
		while (i < len) {
			size_t word = strcspn(s + i + 1, " ") + 1;

			if (i + word > len)
				word = len - i;
			if (i > 0 && s[i] == ' ' && col + word > 78) {
				buf_str(b, "\r\n");
				col = 0;
			} else if (i == 0) {
				buf_str(b, " ");
				col++;
			}
			buf_add(b, s + i, word);
			col += word;
			i += word;
		}
		buf_str(b, "\r\n");
		return;
	}
	buf_str(b, "Subject:");
	i = 0;
	while (i < len) {
		/* 39 bytes: 52 base64 characters, a 64-character word. */
		size_t take = len - i > 39 ? 39 : len - i;
		unsigned char b64[64];
		int n;

		/* Never split a character: back off continuation bytes. */
		while (take < len - i && take > 1 &&
		       ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		n = EVP_EncodeBlock(b64, (const unsigned char *)s + i, (int)take);
		buf_printf(b, "%s=?UTF-8?B?%.*s?=", i == 0 ? " " : "\r\n ", n,
			   (const char *)b64);
		i += take;
	}
	buf_str(b, "\r\n");
}

/* The body's line ends as CRLF (a lone CR or LF counts as one), ending in
 * one; *plain is 0 when it must be sent quoted-printable. */
static char *
body_crlf(const char *body, int *plain)
{
	struct buf b = { 0 };
	size_t line = 0;
	const char *p;

	*plain = 1;
	for (p = body; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n') {
			buf_str(&b, "\r\n");
			if (*p == '\r' && p[1] == '\n')
				p++;
			line = 0;
			continue;
		}
		if ((unsigned char)*p >= 0x80 || ++line > LINE_MAX_OCTETS)
			*plain = 0;
		buf_add(&b, p, 1);
	}
	if (b.len < 2 || memcmp(b.data + b.len - 2, "\r\n", 2) != 0)
		buf_str(&b, "\r\n");
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* RFC 2045 section 6.7 quoted-printable of CRLF text: soft breaks keep
 * every line under 77 characters; a space or tab before a line end is
 * encoded so no relay strips it. */
static void
add_quoted_printable(struct buf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	const char *p;

	for (p = text; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		char enc[4];
		size_t n;

		if (ch == '\r' && p[1] == '\n') {
			buf_str(b, "\r\n");
			p++;
			col = 0;
			continue;
		}
		if ((ch >= 33 && ch <= 126 && ch != '=') ||
		    ((ch == ' ' || ch == '\t') && p[1] != '\r' && p[1] != '\0')) {
			enc[0] = (char)ch;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[ch >> 4];
			enc[2] = hex[ch & 15];
			n = 3;
		}
		if (col + n > 75) {
			buf_str(b, "=\r\n");
			col = 0;
		}
		buf_add(b, enc, n);
		col += n;
	}
}

/* "<random.time@domain-of-from>" */
static int
make_message_id(const char *from, time_t now, char *out, size_t n)
{
	unsigned char rnd[12];
	char hex[sizeof(rnd) * 2 + 1];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(out, n, "<%s.%lld@%s>", hex, (long long)now,
		 strchr(from, '@') + 1);
	return 0;
}

static char *
build_message(const struct smtp_mail *mail, const char *message_id)
{
	struct buf b = { 0 };
	char *body;
	int plain, i;

	body = body_crlf(mail->body != NULL ? mail->body : "", &plain);
	if (body == NULL)
		return NULL;
	add_date(&b, time(NULL));
	buf_printf(&b, "From: %s\r\n", mail->from);
	buf_str(&b, "To: ");
	for (i = 0; mail->to[i] != NULL; i++)
		buf_printf(&b, "%s%s", i > 0 ? ",\r\n " : "", mail->to[i]);
	buf_str(&b, "\r\n");
	add_subject(&b, mail->subject != NULL ? mail->subject : "");
	buf_printf(&b, "Message-ID: %s\r\n", message_id);
	buf_str(&b, "MIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=UTF-8\r\n");
	buf_printf(&b, "Content-Transfer-Encoding: %s\r\n\r\n",
		   plain ? "7bit" : "quoted-printable");
	if (plain)
		buf_str(&b, body);
	else
		add_quoted_printable(&b, body);
	free(body);
	if (b.failed) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

/* --- libcurl ------------------------------------------------------------ */

struct upload {
	const char *data;
	size_t len, off;
};

static size_t
on_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(dst, u->data + u->off, n);
	u->off += n;
	return n;
}

/* The server's last reply line (its code and words), QUIT's excepted: a
 * refusal is followed by the client's QUIT, whose 221 says nothing. */
struct reply {
	int code;
	char text[REPLY_MAX];
};

static int
on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct reply *r = arg;
	size_t start = 0, end, i, k;

	(void)c;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	/* The last non-empty line of what arrived. */
	end = size;
	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	for (i = 0; i < end; i++)
		if (data[i] == '\n')
			start = i + 1;
	if (end - start < 3 || !isdigit((unsigned char)data[start]) ||
	    !isdigit((unsigned char)data[start + 1]) ||
	    !isdigit((unsigned char)data[start + 2]))
		return 0;
	if (memcmp(data + start, "221", 3) == 0)
		return 0;
	r->code = (data[start] - '0') * 100 + (data[start + 1] - '0') * 10 +
		  (data[start + 2] - '0');
	for (i = start, k = 0; i < end && k + 1 < sizeof(r->text); i++) {
		unsigned char ch = (unsigned char)data[i];

		r->text[k++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	/* "250-" and "250 " alike. */
	if (k > 3 && r->text[3] == '-')
		r->text[3] = ' ';
	r->text[k] = '\0';
	return 0;
}

/* libcurl's global state, once per process (as net/http.c does): the
 * command is one thread, and curl_global_init counts its calls. */
static int
smtp_global_init(void)
{
	static int ready;

	if (ready)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	ready = 1;
	return 0;
}

/* The part of the EHLO greeting libcurl takes from the URL's path: this
 * machine's name when it is a plain host name, else "localhost". */
static void
ehlo_name(char *out, size_t n)
{
	char name[256];
	size_t i;

	snprintf(out, n, "localhost");
	if (gethostname(name, sizeof(name) - 1) != 0)
		return;
	name[sizeof(name) - 1] = '\0';
	if (name[0] == '\0')
		return;
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '.')
			return;
	snprintf(out, n, "%s", name);
}

int
smtp_send(const struct smtp_server *srv, const struct smtp_mail *mail,
	  int *permanent, char *err, size_t errlen)
{
	char where[300], url[600], ehlo[256], id[300], cerr[CURL_ERROR_SIZE];
	char shown[101];
	struct curl_slist *rcpt = NULL;
	struct reply reply = { 0 };
	struct upload up = { 0 };
	char *message = NULL;
	CURL *c = NULL;
	CURLcode cr;
	long timeout;
	int rc = -1, i;

	*permanent = 1;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (srv == NULL || mail == NULL || !host_ok(srv->host)) {
		snprintf(err, errlen, "SMTP server %s: not a host name or address",
			 srv != NULL && srv->host != NULL
			 ? printable(srv->host, shown, sizeof(shown)) : "(none)");
		goto done;
	}
	snprintf(where, sizeof(where), "SMTP server %s:%u", srv->host, srv->port);
	if (srv->port < 1 || srv->port > 65535) {
		snprintf(err, errlen, "%s: port %u is not 1 to 65535", where,
			 srv->port);
		goto done;
	}
	if (srv->security == SMTP_PLAIN && !host_is_loopback(srv->host)) {
		snprintf(err, errlen, "%s: mail without TLS goes only to 127.0.0.1 "
			 "or [::1]; use STARTTLS or TLS", where);
		goto done;
	}
	if (srv->security != SMTP_PLAIN && srv->security != SMTP_STARTTLS &&
	    srv->security != SMTP_TLS) {
		snprintf(err, errlen, "%s: unknown security %d", where,
			 (int)srv->security);
		goto done;
	}
	if (!address_ok(mail->from)) {
		snprintf(err, errlen, "%s: sender \"%s\" is not an address "
			 "like name@example.org", where,
			 printable(mail->from, shown, sizeof(shown)));
		goto done;
	}
	if (mail->to == NULL || mail->to[0] == NULL) {
		snprintf(err, errlen, "%s: no recipient", where);
		goto done;
	}
	for (i = 0; mail->to[i] != NULL; i++) {
		if (!address_ok(mail->to[i])) {
			snprintf(err, errlen, "%s: recipient \"%s\" is not an "
				 "address like name@example.org", where,
				 printable(mail->to[i], shown, sizeof(shown)));
			goto done;
		}
	}
	if (mail->subject != NULL &&
	    (strpbrk(mail->subject, "\r\n") != NULL ||
	     strlen(mail->subject) > SUBJECT_MAX)) {
		snprintf(err, errlen, "%s: the subject must be one line of at "
			 "most %d bytes", where, SUBJECT_MAX);
		goto done;
	}
	if (mail->message_id != NULL) {
		if (!message_id_ok(mail->message_id)) {
			snprintf(err, errlen, "%s: message id \"%s\" is not "
				 "<...@...>", where,
				 printable(mail->message_id, shown, sizeof(shown)));
			goto done;
		}
		snprintf(id, sizeof(id), "%s", mail->message_id);
	} else if (make_message_id(mail->from, time(NULL), id, sizeof(id)) != 0) {
		*permanent = 0;
		snprintf(err, errlen, "%s: no random bytes for a message id", where);
		goto done;
	}
	message = build_message(mail, id);
	if (message == NULL) {
		*permanent = 0;
		snprintf(err, errlen, "%s: out of memory", where);
		goto done;
	}
	up.data = message;
	up.len = strlen(message);
	for (i = 0; mail->to[i] != NULL; i++) {
		struct curl_slist *next = curl_slist_append(rcpt, mail->to[i]);

		if (next == NULL) {
			*permanent = 0;
			snprintf(err, errlen, "%s: out of memory", where);
			goto done;
		}
		rcpt = next;
	}
	ehlo_name(ehlo, sizeof(ehlo));
	snprintf(url, sizeof(url), "%s://%s:%u/%s",
		 srv->security == SMTP_TLS ? "smtps" : "smtp", srv->host,
		 srv->port, ehlo);
	timeout = srv->timeout > 0 ? srv->timeout : TIMEOUT_DEFAULT;
	c = smtp_global_init() == 0 ? curl_easy_init() : NULL;
	if (c == NULL) {
		*permanent = 0;
		snprintf(err, errlen, "%s: cannot start libcurl", where);
		goto done;
	}
	cerr[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
			 srv->security == SMTP_TLS ? "smtps" : "smtp");
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 timeout < CONNECT_TIMEOUT_MAX ? timeout : CONNECT_TIMEOUT_MAX);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_USE_SSL, srv->security == SMTP_PLAIN ?
			 (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (srv->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, srv->ca_file);
	if (srv->user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, srv->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD,
				 srv->password != NULL ? srv->password : "");
	}
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail->from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
	/* Replies through the debug callback; nothing is printed. */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, &reply);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	cr = curl_easy_perform(c);
	if (cr == CURLE_OK) {
		*permanent = 0;
		rc = 0;
		goto done;
	}
	if (reply.code >= 400 && reply.code < 600) {
		/* The server said no: 5xx for good, 4xx for now. */
		*permanent = reply.code >= 500;
		snprintf(err, errlen, "%s: %s", where, reply.text);
		goto done;
	}
	/* No refusal: the connection, TLS or the clock ended it; a later
	 * try may get through. */
	*permanent = cr == CURLE_UNSUPPORTED_PROTOCOL ||
		     cr == CURLE_URL_MALFORMAT;
	snprintf(err, errlen, "%s: %s", where,
		 cerr[0] != '\0' ? cerr : curl_easy_strerror(cr));
done:
	if (c != NULL)
		curl_easy_cleanup(c);
	curl_slist_free_all(rcpt);
	free(message);
	if (rc == 0 && err != NULL && errlen > 0)
		err[0] = '\0';
	return rc;
}
