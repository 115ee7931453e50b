/* certvault: authorizations and challenges (RFC 8555 sections 7.5 and 8).
 * For each authorization the client picks the challenge its issuer's way
 * answers (http-01 or dns-01), has the challenger publish the key
 * authorization, and tells the CA to validate by POSTing {} to the
 * challenge, once: a challenge already processing is only waited for. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define ACME_ANSWERS_MAX 100

/* The challenge of type in authz, or NULL. */
static json_t *
challenge_of_type(json_t *authz, const char *type)
{
	json_t *chs = json_object_get(authz, "challenges"), *c;
	size_t i;

	json_array_foreach(chs, i, c) {
		const char *t = acme_json_str(c, "type");

		if (t != NULL && strcmp(t, type) == 0)
			return c;
	}
	return NULL;
}

static const char *
authz_domain(json_t *authz)
{
	const char *d = acme_json_str(json_object_get(authz, "identifier"), "value");

	return d ? d : "(no identifier)";
}

enum acme_rc
acme_authz_problem(struct acme_ctx *ctx, const char *url, json_t *authz,
	      const char *status)
{
	static const char prefix[] = "urn:ietf:params:acme:error:";
	json_t *chs = json_object_get(authz, "challenges"), *c;
	const char *type = NULL, *detail = NULL;
	size_t i;

	json_array_foreach(chs, i, c) {
		json_t *e = json_object_get(c, "error");

		if (e != NULL) {
			type = acme_json_str(e, "type");
			detail = acme_json_str(e, "detail");
			break;
		}
	}
	ctx->authz_invalid = 1;
	acme_fault(ctx, ACME_RC_REFUSED, url, "authorization for %s is %s%s%s",
		   authz_domain(authz), status, detail ? ": " : "",
		   detail ? detail : "");
	if (type != NULL && strncmp(type, prefix, sizeof(prefix) - 1) == 0)
		type += sizeof(prefix) - 1;
	snprintf(ctx->prob.type, sizeof(ctx->prob.type), "%s",
		 type ? type : "unauthorized");
	acme_one_line(ctx->prob.type);
	return ACME_RC_REFUSED;
}

static char *
key_authorization(struct acme_ctx *ctx, const char *token)
{
	size_t n = strlen(token) + 1 + strlen(ctx->thumbprint) + 1;
	char *ka = malloc(n);

	if (ka != NULL)
		snprintf(ka, n, "%s.%s", token, ctx->thumbprint);
	return ka;
}

static int
answer_remember(struct acme_ctx *ctx, const char *domain, const char *token,
		const char *ka)
{
	struct acme_answer *a;
	size_t i;

	for (i = 0; i < ctx->n_answers; i++) {
		if (strcmp(ctx->answers[i].token, token) == 0 &&
		    strcmp(ctx->answers[i].domain, domain) == 0)
			return 0;
	}
	if (ctx->answers == NULL) {
		ctx->answers = calloc(ACME_ANSWERS_MAX, sizeof(*ctx->answers));
		if (ctx->answers == NULL)
			return -1;
	}
	if (ctx->n_answers >= ACME_ANSWERS_MAX)
		return -1;
	a = &ctx->answers[ctx->n_answers];
	a->domain = strdup(domain);
	a->token = strdup(token);
	a->key_authorization = strdup(ka);
	if (a->domain == NULL || a->token == NULL || a->key_authorization == NULL) {
		free(a->domain);
		free(a->token);
		free(a->key_authorization);
		memset(a, 0, sizeof(*a));
		return -1;
	}
	ctx->n_answers++;
	return 0;
}

void
acme_authz_clear(struct acme_ctx *ctx, acme_challenger *ch)
{
	size_t i;

	for (i = 0; i < ctx->n_answers; i++) {
		struct acme_answer *a = &ctx->answers[i];

		if (ch != NULL && a->domain[0] != '\0')
			acme_challenger_clear(ch, a->domain, a->token,
					      a->key_authorization);
		free(a->domain);
		free(a->token);
		free(a->key_authorization);
	}
	free(ctx->answers);
	ctx->answers = NULL;
	ctx->n_answers = 0;
}

/* An authorization the CA decided needs no answer any more: take down what
 * an earlier pass may have left up (a webroot file, a DNS record). */
static void
answer_withdraw(struct acme_ctx *ctx, acme_challenger *ch, json_t *authz)
{
	json_t *c = challenge_of_type(authz, acme_challenger_type(ch));
	const char *token = acme_json_str(c, "token");
	char *ka;
	size_t i;

	if (token == NULL || (ka = key_authorization(ctx, token)) == NULL)
		return;
	acme_challenger_clear(ch, authz_domain(authz), token, ka);
	for (i = 0; i < ctx->n_answers; i++) {
		/* taken down already: the end of the pass need not */
		if (strcmp(ctx->answers[i].token, token) == 0)
			ctx->answers[i].domain[0] = '\0';
	}
	free(ka);
}

static int
url_listed(json_t *list, const char *url)
{
	json_t *u;
	size_t i;

	json_array_foreach(list, i, u)
		if (json_is_string(u) && strcmp(json_string_value(u), url) == 0)
			return 1;
	return 0;
}

/* The CA refused the POST of a challenge that an earlier pass had told it
 * to validate (that pass was killed before it could save so): when the
 * challenge is no longer pending, its validation is under way or over, and
 * the refusal changes nothing. */
static enum acme_rc
post_refused(struct acme_ctx *ctx, const char *curl, enum acme_rc rc)
{
	struct acme_problem saved = ctx->prob;
	json_t *c = NULL;
	const char *status;

	if (rc != ACME_RC_REFUSED || acme_post_get_json(ctx, curl, &c) != ACME_RC_OK) {
		ctx->prob = saved;
		json_decref(c);
		return rc;
	}
	status = acme_json_str(c, "status");
	if (status != NULL && strcmp(status, "pending") != 0) {
		memset(&ctx->prob, 0, sizeof(ctx->prob));
		rc = ACME_RC_OK;
	} else {
		ctx->prob = saved;
	}
	json_decref(c);
	return rc;
}

/* Answer one pending authorization. */
static enum acme_rc
authz_answer_one(struct acme_ctx *ctx, acme_challenger *ch, const char *url,
		 json_t *authz, json_t *posted)
{
	const char *type = acme_challenger_type(ch), *token, *curl, *cstatus;
	const char *domain = authz_domain(authz);
	json_t *c = challenge_of_type(authz, type);
	struct http_response resp;
	char err[512], *ka = NULL;
	enum acme_rc rc;

	memset(&resp, 0, sizeof(resp));
	token = acme_json_str(c, "token");
	curl = acme_json_str(c, "url");
	cstatus = acme_json_str(c, "status");
	if (c == NULL || token == NULL || curl == NULL || cstatus == NULL) {
		rc = acme_fault(ctx, ACME_RC_REFUSED, url, "the CA offers no usable "
				"%s challenge for %s", type, domain);
		snprintf(ctx->prob.type, sizeof(ctx->prob.type), "%s",
			 "unsupportedChallenge");
		goto done;
	}
	ka = key_authorization(ctx, token);
	if (ka == NULL || answer_remember(ctx, domain, token, ka) != 0) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
		goto done;
	}
	/* Published again on every pass: the built-in responder lives only
	 * as long as this process.  The CA is not told to validate before the
	 * answer is up.  A responder that cannot listen now (another pass
	 * holds its port) is tried again later, a bounded number of times; a
	 * webroot or hook that refuses is the issuer's setup, and final. */
	if (acme_challenger_set(ch, domain, token, ka, err, sizeof(err)) != 0) {
		rc = acme_fault(ctx, acme_challenger_needs_presence(ch) ?
				ACME_RC_TRANSIENT : ACME_RC_REFUSED, curl,
				"cannot answer the %s challenge for %s: %s", type,
				domain, err);
		snprintf(ctx->prob.type, sizeof(ctx->prob.type), "%s", "challenge");
		goto done;
	}
	rc = ACME_RC_OK;
	if (strcmp(cstatus, "pending") == 0 && !url_listed(posted, curl)) {
		rc = acme_post(ctx, curl, "{}", 0, NULL, &resp);
		if (rc != ACME_RC_OK)
			rc = post_refused(ctx, curl, rc);
		else if (posted != NULL && json_array_append_new(posted, json_string(curl)) != 0)
			rc = acme_fault(ctx, ACME_RC_LOCAL, curl, "out of memory");
	}
done:
	free(ka);
	http_response_clear(&resp);
	return rc;
}

enum acme_rc
acme_authz_answer(struct acme_ctx *ctx, acme_challenger *ch, json_t *authz_urls,
		  json_t *posted, int *all_valid)
{
	json_t *u, *authz = NULL;
	enum acme_rc rc = ACME_RC_OK;
	size_t i;

	*all_valid = 1;
	json_array_foreach(authz_urls, i, u) {
		const char *url = json_string_value(u), *status;

		json_decref(authz);
		authz = NULL;
		if (url == NULL)
			continue;
		rc = acme_post_get_json(ctx, url, &authz);
		if (rc != ACME_RC_OK)
			goto done;
		status = acme_json_str(authz, "status");
		if (status != NULL && strcmp(status, "pending") != 0)
			answer_withdraw(ctx, ch, authz);
		if (status != NULL && strcmp(status, "valid") == 0)
			continue;
		*all_valid = 0;
		if (status != NULL && strcmp(status, "pending") == 0) {
			rc = authz_answer_one(ctx, ch, url, authz, posted);
			if (rc != ACME_RC_OK)
				goto done;
			continue;
		}
		rc = acme_authz_problem(ctx, url, authz, status ? status : "unknown");
		goto done;
	}
done:
	json_decref(authz);
	return rc;
}

enum acme_rc
acme_authz_wait(struct acme_ctx *ctx, acme_challenger *ch, json_t *authz_urls,
		long seconds, int *all_valid)
{
	time_t deadline = time(NULL) + seconds;
	json_t *u, *authz = NULL;
	enum acme_rc rc = ACME_RC_OK;
	size_t i;
	int round;

	(void)ch;
	*all_valid = 0;
	for (round = 0; round < 3600 && !*all_valid; round++) {
		int64_t next = 0;

		*all_valid = 1;
		json_array_foreach(authz_urls, i, u) {
			const char *url = json_string_value(u), *status;
			struct http_response resp;

			json_decref(authz);
			authz = NULL;
			if (url == NULL)
				continue;
			rc = acme_post(ctx, url, NULL, 0, NULL, &resp);
			if (rc == ACME_RC_OK) {
				authz = json_loadb((const char *)resp.body,
						   resp.body_len, 0, NULL);
				if (resp.retry_after > next)
					next = resp.retry_after;
			}
			http_response_clear(&resp);
			if (rc != ACME_RC_OK)
				goto done;
			status = acme_json_str(authz, "status");
			if (status != NULL && strcmp(status, "valid") == 0)
				continue;
			*all_valid = 0;
			if (status == NULL || (strcmp(status, "pending") != 0 &&
					       strcmp(status, "processing") != 0)) {
				rc = acme_authz_problem(ctx, url, authz,
						   status ? status : "unknown");
				goto done;
			}
		}
		if (!*all_valid) {
			time_t now = time(NULL);
			long pause_ms = round < 5 ? 50L << round : 1000L;

			if (next > now)
				pause_ms = (long)(next - now) * 1000;
			if (now + pause_ms / 1000 > deadline)
				pause_ms = (long)(deadline - now) * 1000;
			if (pause_ms <= 0)
				break;
			acme_pause_ms(pause_ms);
		}
	}
done:
	json_decref(authz);
	return rc;
}

void
acme_authz_withdraw(struct acme_ctx *ctx, acme_challenger *ch, json_t *authz_urls)
{
	struct acme_problem saved = ctx->prob;
	json_t *u, *authz = NULL;
	size_t i;

	json_array_foreach(authz_urls, i, u) {
		const char *url = json_string_value(u);

		json_decref(authz);
		authz = NULL;
		if (url != NULL && acme_post_get_json(ctx, url, &authz) == ACME_RC_OK)
			answer_withdraw(ctx, ch, authz);
	}
	json_decref(authz);
	ctx->prob = saved;
}
