/* certvault: one HTTP request over libcurl.
 *
 * This layer knows no vault and no ACME: it sends one request and hands back
 * the status, the few response headers a protocol client needs, and the body.
 * URLs are https, except http to 127.0.0.1 or [::1] (a CA or responder on
 * the same machine, as in tests); redirects are not followed.  Every request
 * has a connect and a total timeout, and the body is read up to a bound.
 */
#ifndef CV_NET_HTTP_H
#define CV_NET_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_request {
	const char *method;          /* "GET", "HEAD", "POST" */
	const char *url;
	const char *const *headers;  /* "Name: value" lines, NULL-terminated;
					may be NULL */
	const void *body;            /* POST body, may be NULL */
	size_t body_len;
	const char *ca_file;         /* PEM roots for TLS; NULL: the system's */
	long connect_timeout;        /* seconds; <= 0: 10 */
	long total_timeout;          /* seconds; <= 0: 30 */
	size_t max_body;             /* bytes; 0: 1 MiB */
};

struct http_response {
	long status;
	char *replay_nonce;          /* Replay-Nonce, or NULL */
	char *location;              /* Location, or NULL */
	char *content_type;          /* Content-Type, or NULL */
	char *link_up;               /* Link: <...>;rel="up", or NULL */
	char *link_alternate;        /* Link: <...>;rel="alternate" (the first) */
	char *link_next;             /* Link: <...>;rel="next" (a list's next page) */
	int64_t retry_after;         /* Retry-After as Unix time (either form);
					0: none */
	unsigned char *body;         /* NUL-terminated after body_len bytes */
	size_t body_len;
};

/* Send req and fill *resp (cleared on entry; the caller frees it with
 * http_response_clear, also after a failure).  Returns 0 when a response
 * arrived (any status), -1 when none did (refused URL, DNS, connection, TLS,
 * timeout, a body over the bound), with one line in err naming the URL and
 * the reason. */
int http_request_send(const struct http_request *req, struct http_response *resp,
		      char *err, size_t errlen);

void http_response_clear(struct http_response *resp);

/* 1 when url is one this layer may fetch (https, or http to a loopback
 * address), else 0. */
int http_url_allowed(const char *url);

#endif
