/* certvault: nonces, and the one way every ACME request is sent
 * (RFC 8555 sections 6.3 to 6.7).  A request takes the nonce the last answer
 * carried, else asks newNonce; a badNonce answer carries a fresh nonce, and
 * the request is signed anew with it, a bounded number of times.  An answer
 * that is not a success becomes a problem (type, detail, URL, Retry-After)
 * and is sorted: later (no answer, 5xx, rate limits), unknown (the CA forgot
 * the account or the object), or refused. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define ACME_ERROR_PREFIX "urn:ietf:params:acme:error:"

/* The last unused nonce of a finished pass, for the next pass at the same
 * directory in this process: it saves a newNonce round trip. */
static char *spare_nonce;
static char *spare_dir;

const char *
acme_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

void
acme_one_line(char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			s[n] = ' ';
	}
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

void
acme_pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

enum acme_rc
acme_fault(struct acme_ctx *ctx, enum acme_rc rc, const char *url,
	   const char *fmt, ...)
{
	va_list ap;

	memset(&ctx->prob, 0, sizeof(ctx->prob));
	snprintf(ctx->prob.url, sizeof(ctx->prob.url), "%s", url ? url : "");
	va_start(ap, fmt);
	vsnprintf(ctx->prob.detail, sizeof(ctx->prob.detail), fmt, ap);
	va_end(ap);
	acme_one_line(ctx->prob.detail);
	return rc;
}

/* A request that got no answer: the HTTP layer's line already names the
 * URL, which ctx->prob.url holds apart. */
static enum acme_rc
transport_fault(struct acme_ctx *ctx, const char *url, const char *err)
{
	size_t n = strlen(url);

	if (strncmp(err, url, n) == 0 && strncmp(err + n, ": ", 2) == 0)
		err += n + 2;
	return acme_fault(ctx, ACME_RC_TRANSIENT, url, "%s", err);
}

static long
timeout_env(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 && v <= 3600 ? v : dflt;
}

static void
request_init(struct acme_ctx *ctx, struct http_request *req, const char *method,
	     const char *url)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->url = url;
	req->ca_file = ctx->ca_file;
	req->total_timeout = timeout_env("CERTVAULT_ACME_TIMEOUT", 30);
	req->connect_timeout = req->total_timeout < 10 ? req->total_timeout : 10;
	req->max_body = ACME_MAX_RESPONSE;
}

void
acme_problem_read(struct acme_ctx *ctx, const char *url,
	     const struct http_response *resp)
{
	json_t *j = json_loadb((const char *)resp->body, resp->body_len, 0, NULL);
	const char *type = acme_json_str(j, "type"), *detail = acme_json_str(j, "detail");
	struct acme_problem *p = &ctx->prob;

	memset(p, 0, sizeof(*p));
	p->status = resp->status;
	p->retry_after = resp->retry_after;
	snprintf(p->url, sizeof(p->url), "%s", url);
	if (type != NULL && strncmp(type, ACME_ERROR_PREFIX,
				    strlen(ACME_ERROR_PREFIX)) == 0)
		type += strlen(ACME_ERROR_PREFIX);
	snprintf(p->type, sizeof(p->type), "%s", type ? type : "");
	if (detail != NULL)
		snprintf(p->detail, sizeof(p->detail), "%s", detail);
	else
		snprintf(p->detail, sizeof(p->detail), "HTTP status %ld",
			 resp->status);
	acme_one_line(p->type);
	acme_one_line(p->detail);
	json_decref(j);
}

static enum acme_rc
problem_sort(const struct acme_problem *p)
{
	if (p->status >= 500 || p->status == 429 ||
	    strcmp(p->type, "rateLimited") == 0)
		return ACME_RC_TRANSIENT;
	if (strcmp(p->type, "accountDoesNotExist") == 0 || p->status == 404)
		return ACME_RC_UNKNOWN;
	return ACME_RC_REFUSED;
}

enum acme_rc
acme_http_get(struct acme_ctx *ctx, const char *url, struct http_response *resp)
{
	struct http_request req;
	char err[ACME_URL_MAX + 256];
	enum acme_rc rc;

	request_init(ctx, &req, "GET", url);
	if (http_request_send(&req, resp, err, sizeof(err)) != 0)
		return transport_fault(ctx, url, err);
	if (resp->status >= 200 && resp->status < 300)
		return ACME_RC_OK;
	acme_problem_read(ctx, url, resp);
	rc = problem_sort(&ctx->prob);
	return rc == ACME_RC_UNKNOWN ? ACME_RC_REFUSED : rc;
}

static enum acme_rc
nonce_fetch(struct acme_ctx *ctx)
{
	struct http_request req;
	struct http_response resp;
	char err[ACME_URL_MAX + 256];
	enum acme_rc rc = ACME_RC_TRANSIENT;

	if (spare_nonce != NULL && spare_dir != NULL && ctx->dir.url != NULL &&
	    strcmp(spare_dir, ctx->dir.url) == 0) {
		ctx->nonce = spare_nonce;
		spare_nonce = NULL;
		return ACME_RC_OK;
	}
	request_init(ctx, &req, "HEAD", ctx->dir.new_nonce);
	if (http_request_send(&req, &resp, err, sizeof(err)) != 0) {
		rc = transport_fault(ctx, ctx->dir.new_nonce, err);
		goto done;
	}
	if (resp.status < 200 || resp.status >= 300) {
		acme_problem_read(ctx, ctx->dir.new_nonce, &resp);
		rc = problem_sort(&ctx->prob);
		goto done;
	}
	if (resp.replay_nonce == NULL) {
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, ctx->dir.new_nonce,
				"no Replay-Nonce in the answer");
		goto done;
	}
	ctx->nonce = resp.replay_nonce;
	resp.replay_nonce = NULL;
	rc = ACME_RC_OK;
done:
	http_response_clear(&resp);
	return rc;
}

void
acme_nonce_keep(struct acme_ctx *ctx)
{
	char *dir;

	if (ctx->nonce == NULL || ctx->dir.url == NULL)
		return;
	dir = strdup(ctx->dir.url);
	if (dir == NULL)
		return;
	free(spare_nonce);
	free(spare_dir);
	spare_nonce = ctx->nonce;
	spare_dir = dir;
	ctx->nonce = NULL;
}

enum acme_rc
acme_post(struct acme_ctx *ctx, const char *url, const char *payload,
	  int with_jwk, const char *accept, struct http_response *resp)
{
	struct http_request req;
	char err[ACME_URL_MAX + 256], accept_line[128];
	const char *headers[3];
	char *jws = NULL;
	enum acme_rc rc = ACME_RC_TRANSIENT;
	int try;

	memset(resp, 0, sizeof(*resp));
	snprintf(accept_line, sizeof(accept_line), "Accept: %s",
		 accept ? accept : "application/json");
	headers[0] = "Content-Type: application/jose+json";
	headers[1] = accept_line;
	headers[2] = NULL;
	for (try = 0; try < ACME_NONCE_TRIES; try++) {
		http_response_clear(resp);
		free(jws);
		jws = NULL;
		if (ctx->nonce == NULL && (rc = nonce_fetch(ctx)) != ACME_RC_OK)
			goto done;
		rc = acme_jws_sign(ctx, url, payload, with_jwk, &jws);
		free(ctx->nonce); /* a nonce is good for one request */
		ctx->nonce = NULL;
		if (rc != ACME_RC_OK)
			goto done;
		request_init(ctx, &req, "POST", url);
		req.headers = headers;
		req.body = jws;
		req.body_len = strlen(jws);
		if (http_request_send(&req, resp, err, sizeof(err)) != 0) {
			rc = transport_fault(ctx, url, err);
			goto done;
		}
		ctx->nonce = resp->replay_nonce;
		resp->replay_nonce = NULL;
		if (resp->status >= 200 && resp->status < 300) {
			rc = ACME_RC_OK;
			goto done;
		}
		acme_problem_read(ctx, url, resp);
		if (strcmp(ctx->prob.type, "badNonce") != 0) {
			rc = problem_sort(&ctx->prob);
			goto done;
		}
	}
	/* Every nonce refused: the CA is not well now; try again later. */
	rc = ACME_RC_TRANSIENT;
done:
	free(jws);
	return rc;
}

enum acme_rc
acme_post_get_json(struct acme_ctx *ctx, const char *url, json_t **out)
{
	struct http_response resp;
	enum acme_rc rc;

	*out = NULL;
	rc = acme_post(ctx, url, NULL, 0, NULL, &resp);
	if (rc == ACME_RC_OK) {
		*out = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			rc = acme_fault(ctx, ACME_RC_TRANSIENT, url,
					"the answer is not a JSON object");
		}
	}
	http_response_clear(&resp);
	return rc;
}
