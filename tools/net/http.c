/* certvault: one HTTP request over libcurl (http.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "http.h"

#define HTTP_MAX_BODY_DEFAULT (1024u * 1024u)
#define HTTP_MAX_HEADER 8192u
#define HTTP_RETRY_AFTER_MAX (7 * 86400) /* a later date is read as this */

struct reader {
	struct http_response *resp;
	size_t max_body;
	size_t cap;
	int too_large;
};

static int curl_ready;

static int
http_global_init(void)
{
	if (curl_ready)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	curl_ready = 1;
	return 0;
}

int
http_url_allowed(const char *url)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (url == NULL || http_global_init() != 0)
		return 0;
	u = curl_url();
	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto done;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto done;
	if (strcasecmp(scheme, "https") == 0)
		ok = 1;
	else if (strcasecmp(scheme, "http") == 0)
		ok = strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0;
done:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

void
http_response_clear(struct http_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->replay_nonce);
	free(resp->location);
	free(resp->content_type);
	free(resp->link_up);
	free(resp->link_alternate);
	free(resp->link_next);
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static char *
dup_trimmed(const char *s, size_t n)
{
	char *out;

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* Retry-After is delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static int64_t
parse_retry_after(const char *v)
{
	time_t now = time(NULL), t;
	const char *p;
	long long secs = 0;

	for (p = v; *p != '\0' && isdigit((unsigned char)*p); p++) {
		if (secs < HTTP_RETRY_AFTER_MAX)
			secs = secs * 10 + (*p - '0');
	}
	if (p != v && *p == '\0') {
		if (secs > HTTP_RETRY_AFTER_MAX)
			secs = HTTP_RETRY_AFTER_MAX;
		return (int64_t)now + secs;
	}
	t = curl_getdate(v, NULL);
	if (t == (time_t)-1)
		return 0;
	if (t < now)
		return (int64_t)now;
	if (t - now > HTTP_RETRY_AFTER_MAX)
		return (int64_t)now + HTTP_RETRY_AFTER_MAX;
	return (int64_t)t;
}

/* One Link header value: "<url>; rel=\"up\", <url2>; rel=alternate". */
static void
parse_link(struct http_response *resp, const char *v)
{
	const char *p = v;

	while (*p != '\0') {
		const char *lt = strchr(p, '<'), *gt, *end, *rel;
		char **slot = NULL;

		if (lt == NULL)
			return;
		gt = strchr(lt, '>');
		if (gt == NULL)
			return;
		end = strchr(gt, ',');
		if (end == NULL)
			end = gt + strlen(gt);
		for (rel = gt; rel + 4 <= end; rel++) {
			if (strncasecmp(rel, "rel=", 4) != 0)
				continue;
			rel += 4;
			if (*rel == '"')
				rel++;
			if (strncasecmp(rel, "up", 2) == 0 &&
			    (rel[2] == '"' || rel[2] == ';' || rel[2] == ',' ||
			     rel[2] == '\0' || isspace((unsigned char)rel[2])))
				slot = &resp->link_up;
			else if (strncasecmp(rel, "alternate", 9) == 0)
				slot = &resp->link_alternate;
			else if (strncasecmp(rel, "next", 4) == 0)
				slot = &resp->link_next;
			break;
		}
		if (slot != NULL && *slot == NULL)
			*slot = dup_trimmed(lt + 1, (size_t)(gt - lt - 1));
		p = *end == ',' ? end + 1 : end;
	}
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct reader *r = userdata;
	struct http_response *resp = r->resp;
	size_t len = size * nitems, nlen;
	char line[HTTP_MAX_HEADER];
	char *colon, *value;

	if (len >= sizeof(line))
		return len; /* no header this client reads is that long */
	memcpy(line, buf, len);
	line[len] = '\0';
	/* A new status line (after a 100 Continue) starts a new header set. */
	if (strncmp(line, "HTTP/", 5) == 0) {
		free(resp->replay_nonce);
		free(resp->location);
		free(resp->content_type);
		free(resp->link_up);
		free(resp->link_alternate);
		free(resp->link_next);
		resp->replay_nonce = resp->location = resp->content_type = NULL;
		resp->link_up = resp->link_alternate = resp->link_next = NULL;
		resp->retry_after = 0;
		return len;
	}
	colon = strchr(line, ':');
	if (colon == NULL)
		return len;
	nlen = (size_t)(colon - line);
	value = dup_trimmed(colon + 1, strlen(colon + 1));
	if (value == NULL)
		return 0;
#define HEADER_IS(n) (nlen == sizeof(n) - 1 && strncasecmp(line, n, nlen) == 0)
	if (HEADER_IS("Replay-Nonce")) {
		free(resp->replay_nonce);
		resp->replay_nonce = value;
	} else if (HEADER_IS("Location")) {
		free(resp->location);
		resp->location = value;
	} else if (HEADER_IS("Content-Type")) {
		free(resp->content_type);
		resp->content_type = value;
	} else if (HEADER_IS("Retry-After")) {
		resp->retry_after = parse_retry_after(value);
		free(value);
	} else if (HEADER_IS("Link")) {
		parse_link(resp, value);
		free(value);
	} else {
		free(value);
	}
#undef HEADER_IS
	return len;
}

static size_t
on_body(char *buf, size_t size, size_t nmemb, void *userdata)
{
	struct reader *r = userdata;
	struct http_response *resp = r->resp;
	size_t len = size * nmemb;

	if (len > r->max_body - resp->body_len) {
		r->too_large = 1;
		return 0;
	}
	if (resp->body_len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		unsigned char *nb;

		while (cap < resp->body_len + len + 1)
			cap *= 2;
		nb = realloc(resp->body, cap);
		if (nb == NULL)
			return 0;
		resp->body = nb;
		r->cap = cap;
	}
	memcpy(resp->body + resp->body_len, buf, len);
	resp->body_len += len;
	resp->body[resp->body_len] = '\0';
	return len;
}

int
http_request_send(const struct http_request *req, struct http_response *resp,
		  char *err, size_t errlen)
{
	CURL *c = NULL;
	struct curl_slist *hdrs = NULL;
	struct reader r;
	char cerr[CURL_ERROR_SIZE];
	CURLcode cc;
	int rc = -1;
	size_t i;

	memset(resp, 0, sizeof(*resp));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!http_url_allowed(req->url)) {
		snprintf(err, errlen, "%s: not an https URL (plain http only "
			 "to 127.0.0.1 or [::1])", req->url ? req->url : "(none)");
		goto done;
	}
	c = curl_easy_init();
	if (c == NULL) {
		snprintf(err, errlen, "%s: cannot start libcurl", req->url);
		goto done;
	}
	memset(&r, 0, sizeof(r));
	r.resp = resp;
	r.max_body = req->max_body ? req->max_body : HTTP_MAX_BODY_DEFAULT;
	cerr[0] = '\0';
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);

		if (n == NULL) {
			snprintf(err, errlen, "%s: out of memory", req->url);
			goto done;
		}
		hdrs = n;
	}
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 req->connect_timeout > 0 ? req->connect_timeout : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 req->total_timeout > 0 ? req->total_timeout : 30L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "certvault-acme");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	if (req->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(req->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 req->body != NULL ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		snprintf(err, errlen, "%s: method %s is not supported", req->url,
			 req->method);
		goto done;
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		if (r.too_large)
			snprintf(err, errlen, "%s: the response is larger than %zu "
				 "bytes", req->url, r.max_body);
		else
			snprintf(err, errlen, "%s: %s", req->url,
				 cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->body == NULL) {
		resp->body = calloc(1, 1);
		if (resp->body == NULL) {
			snprintf(err, errlen, "%s: out of memory", req->url);
			goto done;
		}
	}
	rc = 0;
done:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}
