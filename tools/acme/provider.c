/* certvault: the ACME provider: one pass over one pending operation.
 *
 * The pass reads the state saved by the last pass (provider_state: the
 * account the order was placed under, the order, its authorizations, its
 * finalize and certificate URLs), asks the CA where the order stands, and
 * takes the next step, saving each step reached before acting on the CA's
 * answer further.  The order object at the CA is the truth; the saved state
 * only says which order is this operation's, so a pass killed anywhere
 * resumes without a second newOrder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "internal.h"

#define ACME_ROUNDS 24            /* steps one pass takes at most */
#define ACME_BACKOFF_FIRST 2      /* seconds, doubled per fault in a row */
#define ACME_BACKOFF_MAX 600
#define ACME_VALIDATION_RECHECK 2 /* seconds before looking again at a
				     validation under way (no presence) */
#define ACME_PROCESSING_POLL 10   /* seconds spent waiting for issuance */
#define ACME_REORDERS_MAX 2       /* new orders after a validation no
				     responder was up for */

struct pass {
	struct acme_ctx ctx;
	cv_operation *op;
	cv_issuer *is;        /* the issuer record as stored now */
	acme_challenger *ch;
	json_t *st;           /* provider_state */
	int validated_here;   /* the CA validated while this pass's
				 challenger was up */
	char *msg;
	size_t msglen;
};

static long
env_seconds(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 0 && v <= 3600 ? v : dflt;
}

static const char *
st_str(struct pass *p, const char *key)
{
	return acme_json_str(p->st, key);
}

static int
st_set(struct pass *p, const char *key, const char *value)
{
	return json_object_set_new(p->st, key, json_string(value));
}


/* The challenge URLs this operation has POSTed (an array kept in the
 * state; NULL only when out of memory, which then posts as before). */
static json_t *
st_posted(struct pass *p)
{
	json_t *a = json_object_get(p->st, "posted");

	if (json_is_array(a))
		return a;
	a = json_array();
	if (a == NULL || json_object_set_new(p->st, "posted", a) != 0)
		return NULL;
	return a;
}

/* The problem as one line: "URL: TYPE: DETAIL". */
/* Drop the order from the state (the count of new orders stays). */
static void
st_reset(struct pass *p)
{
	json_int_t reorders = json_integer_value(json_object_get(p->st, "reorders"));

	json_object_clear(p->st);
	if (reorders > 0)
		json_object_set_new(p->st, "reorders", json_integer(reorders));
}

static void
say_problem(struct pass *p, const char *lead)
{
	const struct acme_problem *pr = &p->ctx.prob;

	snprintf(p->msg, p->msglen, "%s%s%s%s%s%s", lead,
		 pr->url[0] ? pr->url : "", pr->url[0] ? ": " : "",
		 pr->type[0] ? pr->type : "", pr->type[0] ? ": " : "", pr->detail);
}

/* Save the step reached and the state; the claim is renewed and a cancel
 * that arrived meanwhile is seen in op->cancellation_requested. */
static enum acme_result
save(struct pass *p, const char *step, const char *details)
{
	cv_operation *op = p->op;
	char *s = NULL, *text = NULL, *d = NULL;
	cv_err err;

	if ((step != NULL && (s = strdup(step)) == NULL) ||
	    (text = json_dumps(p->st, JSON_COMPACT)) == NULL ||
	    (details != NULL && (d = strdup(details)) == NULL)) {
		free(s);
		free(text);
		snprintf(p->msg, p->msglen, "out of memory saving the operation");
		return ACME_ERROR;
	}
	if (step != NULL) {
		free(op->step);
		op->step = s;
	}
	free(op->provider_state);
	op->provider_state = text;
	if (d != NULL) {
		free(op->status_details);
		op->status_details = d;
	}
	err = cv_op_save(p->ctx.v, op);
	if (err != CV_OK) {
		const char *detail = cv_err_detail();

		snprintf(p->msg, p->msglen, "cannot save the operation: %s",
			 detail[0] ? detail : cv_strerror(err));
		return ACME_ERROR;
	}
	return ACME_WAIT; /* saved: the caller goes on */
}

static enum acme_result
end_failed(struct pass *p)
{
	const struct acme_problem *pr = &p->ctx.prob;
	char message[ACME_URL_MAX + 600];
	cv_err err;

	snprintf(message, sizeof(message), "%s%s%s", pr->detail,
		 pr->url[0] ? " (" : "", pr->url[0] ? pr->url : "");
	if (pr->url[0])
		strncat(message, ")", sizeof(message) - strlen(message) - 1);
	err = cv_op_fail(p->ctx.v, p->op, pr->type[0] ? pr->type : "acmeError",
			 message);
	acme_authz_clear(&p->ctx, p->ch);
	if (err != CV_OK) {
		const char *d = cv_err_detail();

		snprintf(p->msg, p->msglen, "cannot mark the operation failed: %s",
			 d[0] ? d : cv_strerror(err));
		return ACME_ERROR;
	}
	say_problem(p, "failed: ");
	return ACME_DONE;
}

/* order: the order being cancelled, or NULL when none was placed. */
static enum acme_result
end_cancelled(struct pass *p, json_t *order)
{
	cv_err err;

	/* Answers an earlier pass left up (webroot files, DNS records) go;
	 * the order itself is left to expire at the CA. */
	if (order != NULL && !acme_challenger_needs_presence(p->ch))
		acme_authz_withdraw(&p->ctx, p->ch,
				    json_object_get(order, "authorizations"));
	err = cv_op_cancelled(p->ctx.v, p->op);

	acme_authz_clear(&p->ctx, p->ch);
	if (err != CV_OK) {
		const char *d = cv_err_detail();

		snprintf(p->msg, p->msglen, "cannot mark the operation cancelled: %s",
			 d[0] ? d : cv_strerror(err));
		return ACME_ERROR;
	}
	snprintf(p->msg, p->msglen, "cancelled");
	return ACME_DONE;
}

/* A fault to try again later: Retry-After, else a growing backoff; after
 * ACME_MAX_ATTEMPTS faults in a row the operation fails. */
static enum acme_result
wait_fault(struct pass *p)
{
	cv_operation *op = p->op;
	int64_t now = (int64_t)time(NULL), delay = ACME_BACKOFF_FIRST;
	enum acme_result r;
	unsigned i;

	op->attempts++;
	if (op->attempts >= ACME_MAX_ATTEMPTS) {
		if (p->ctx.prob.type[0] == '\0')
			snprintf(p->ctx.prob.type, sizeof(p->ctx.prob.type),
				 "serverUnavailable");
		return end_failed(p);
	}
	for (i = 1; i < op->attempts && delay < ACME_BACKOFF_MAX; i++)
		delay *= 2;
	if (delay > ACME_BACKOFF_MAX)
		delay = ACME_BACKOFF_MAX;
	/* The CA's Retry-After, even "now" (0 s), else the backoff. */
	if (p->ctx.prob.retry_after != 0)
		op->next_attempt = p->ctx.prob.retry_after > now ?
					   p->ctx.prob.retry_after : now;
	else
		op->next_attempt = now + delay;
	r = save(p, NULL, NULL);
	if (r == ACME_ERROR)
		return r;
	say_problem(p, "");
	return ACME_WAIT;
}

/* After an answer that is not a success. */
static enum acme_result
on_fault(struct pass *p, enum acme_rc rc)
{
	switch (rc) {
	case ACME_RC_TRANSIENT:
		return wait_fault(p);
	case ACME_RC_REFUSED:
	case ACME_RC_UNKNOWN:
		return end_failed(p);
	default:
		say_problem(p, "");
		return ACME_ERROR;
	}
}

/* The CA no longer knows the account (it was reset, or the account was
 * deactivated): forget it and the order placed under it, which went with
 * it, and register again. */
static enum acme_result
forget_account(struct pass *p)
{
	cv_err err = cv_issuer_account_set(p->ctx.v, p->is->name, NULL);

	if (err != CV_OK) {
		const char *d = cv_err_detail();

		snprintf(p->msg, p->msglen, "cannot forget the account of issuer "
			 "%s: %s", p->is->name, d[0] ? d : cv_strerror(err));
		return ACME_ERROR;
	}
	free(p->ctx.account_url);
	p->ctx.account_url = NULL;
	free(p->is->account_url);
	p->is->account_url = NULL;
	st_reset(p);
	return save(p, "account", NULL);
}

/* An order the CA forgot (404) while the account is known: order anew. */
static enum acme_result
forget_order(struct pass *p)
{
	st_reset(p);
	return save(p, "order", NULL);
}

static enum acme_result
pass_init(struct pass *p, cv_vault *v, cv_operation *op, const cv_issuer *is)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	enum acme_result r = ACME_ERROR;
	cv_err err = CV_OK;

	p->ctx.v = v;
	p->op = op;
	err = cv_issuer_get(v, is->name, 0, &p->is);
	if (err != CV_OK)
		goto done;
	p->ctx.issuer = p->is->name;
	p->ctx.ca_file = p->is->ca_file;
	err = cv_issuer_account_jwk(v, p->is->name, &p->ctx.jwk);
	if (err != CV_OK)
		goto done;
	err = CV_ERR_NOMEM;
	SHA256((const unsigned char *)p->ctx.jwk, strlen(p->ctx.jwk), digest);
	p->ctx.thumbprint = acme_b64url(digest, sizeof(digest));
	if (p->ctx.thumbprint == NULL)
		goto done;
	if (p->is->account_url != NULL &&
	    (p->ctx.account_url = strdup(p->is->account_url)) == NULL)
		goto done;
	p->st = op->provider_state ? json_loads(op->provider_state, 0, NULL) : NULL;
	if (!json_is_object(p->st)) {
		json_decref(p->st);
		p->st = json_object();
		if (p->st == NULL)
			goto done;
	}
	r = ACME_WAIT;
done:
	if (r == ACME_ERROR) {
		const char *d = err == CV_ERR_NOMEM ? "" : cv_err_detail();

		snprintf(p->msg, p->msglen, "issuer %s: %s", is->name,
			 d[0] ? d : cv_strerror(err));
	}
	return r;
}

static void
pass_clear(struct pass *p)
{
	acme_nonce_keep(&p->ctx);
	/* Answers stay up while the CA validates; a later pass, or the end
	 * of the operation, takes them down. */
	acme_authz_clear(&p->ctx, NULL);
	acme_directory_clear(&p->ctx.dir);
	free(p->ctx.nonce);
	free(p->ctx.jwk);
	free(p->ctx.thumbprint);
	free(p->ctx.account_url);
	cv_issuer_free(p->is);
	json_decref(p->st);
}

/* newOrder for the CSR's names (or the order a killed pass placed).  On
 * success *order is set and ACME_WAIT returned (saved, go on); else *order
 * is NULL and the result is the pass's.  *account_gone: the CA does not
 * know the account (nothing ended; the caller registers again). */
static enum acme_result
place_order(struct pass *p, json_t **order, int *account_gone)
{
	char **names = NULL, *url = NULL;
	size_t n = 0;
	enum acme_rc rc;
	enum acme_result r;

	*order = NULL;
	*account_gone = 0;
	rc = acme_csr_names(&p->ctx, p->op->csr.data, p->op->csr.len, &names, &n);
	/* A pass that saved "ordering" and stopped may have placed the order
	 * without saving its URL: find it rather than order twice. */
	if (rc == ACME_RC_OK && p->op->step != NULL &&
	    strcmp(p->op->step, "ordering") == 0)
		rc = acme_order_find(&p->ctx, names, n, order, &url);
	if (rc == ACME_RC_OK && *order == NULL) {
		st_reset(p);
		if (st_set(p, "account", p->ctx.account_url) != 0) {
			acme_names_free(names, n);
			snprintf(p->msg, p->msglen, "out of memory");
			return ACME_ERROR;
		}
		if ((r = save(p, "ordering", NULL)) == ACME_ERROR) {
			acme_names_free(names, n);
			return r;
		}
		rc = acme_order_new(&p->ctx, names, n, order, &url);
	}
	acme_names_free(names, n);
	if (rc == ACME_RC_UNKNOWN &&
	    strcmp(p->ctx.prob.type, "accountDoesNotExist") == 0) {
		*account_gone = 1;
		return ACME_WAIT;
	}
	if (rc != ACME_RC_OK)
		return on_fault(p, rc);
	st_reset(p);
	if (st_set(p, "account", p->ctx.account_url) != 0 ||
	    st_set(p, "order", url) != 0) {
		free(url);
		snprintf(p->msg, p->msglen, "out of memory");
		return ACME_ERROR;
	}
	free(url);
	p->op->attempts = 0;
	r = save(p, "order", "The order is placed with the issuer's ACME server.");
	return r;
}

/* Keep the order's authorization and finalize URLs in the state, for the
 * record (the order object itself is always read again). */
static void
state_from_order(struct pass *p, json_t *order)
{
	json_t *a = json_object_get(order, "authorizations");
	const char *f = acme_json_str(order, "finalize");
	const char *c = acme_json_str(order, "certificate");

	if (json_is_array(a))
		json_object_set(p->st, "authorizations", a);
	if (f != NULL)
		st_set(p, "finalize", f);
	if (c != NULL)
		st_set(p, "certificate", c);
}

/* The first invalid authorization says why an order became invalid. */
static enum acme_result
order_invalid(struct pass *p, const char *url, json_t *order)
{
	json_t *auths = json_object_get(order, "authorizations");
	int all_valid = 0;

	if (json_is_array(auths) && json_array_size(auths) > 0 &&
	    json_object_get(order, "error") == NULL &&
	    acme_authz_answer(&p->ctx, p->ch, auths, NULL, &all_valid) == ACME_RC_REFUSED)
		return end_failed(p);
	acme_order_problem(&p->ctx, url, order);
	return end_failed(p);
}

static enum acme_result
download(struct pass *p, json_t *order)
{
	const char *url = acme_json_str(order, "certificate");
	unsigned char *pem = NULL;
	size_t len = 0;
	cv_cert_version *cv = NULL;
	enum acme_result r;
	enum acme_rc rc;
	cv_err err;

	if (url == NULL) {
		acme_fault(&p->ctx, ACME_RC_TRANSIENT, st_str(p, "order"),
			   "the valid order names no certificate URL");
		return wait_fault(p);
	}
	state_from_order(p, order);
	r = save(p, "download", NULL);
	if (r == ACME_ERROR)
		return r;
	rc = acme_cert_download(&p->ctx, url, &pem, &len);
	if (rc != ACME_RC_OK)
		return on_fault(p, rc);
	err = cv_op_complete(p->ctx.v, p->op, pem, len, &cv);
	free(pem);
	if (err != CV_OK) {
		const char *d = cv_err_detail();

		/* The CA's answer does not merge (not the pending key, not a
		 * certificate): that will not change by asking again. */
		if (err == CV_ERR_CLAIM_LOST || err == CV_ERR_IO || err == CV_ERR_NOMEM ||
		    err == CV_ERR_NOT_LOGGED_IN || err == CV_ERR_FULL) {
			snprintf(p->msg, p->msglen, "%s: cannot merge the "
				 "certificate: %s", url, d[0] ? d : cv_strerror(err));
			return ACME_ERROR;
		}
		acme_fault(&p->ctx, ACME_RC_REFUSED, url, "the certificate does "
			   "not merge: %s", d[0] ? d : cv_strerror(err));
		snprintf(p->ctx.prob.type, sizeof(p->ctx.prob.type), "badCertificate");
		return end_failed(p);
	}
	acme_authz_clear(&p->ctx, p->ch);
	snprintf(p->msg, p->msglen, "completed, version %s", cv->version);
	cv_cert_version_free(cv);
	return ACME_DONE;
}

/* An order that failed validation while no responder was up (the built-in
 * responder lives only as long as a pass, and a pass may be killed between
 * telling the CA to validate and the validation) is ordered again, a
 * bounded number of times; a validation that failed while this pass
 * answered is final.  The invalid order is no longer live at the CA. */
static int
reorder_allowed(struct pass *p)
{
	return acme_challenger_needs_presence(p->ch) && !p->validated_here &&
	       json_integer_value(json_object_get(p->st, "reorders")) <
		       ACME_REORDERS_MAX;
}

static enum acme_result
reorder(struct pass *p)
{
	json_int_t n = json_integer_value(json_object_get(p->st, "reorders"));

	st_reset(p);
	json_object_set_new(p->st, "reorders", json_integer(n + 1));
	return save(p, "order", NULL);
}

static enum acme_result
advance(struct pass *p)
{
	json_t *order = NULL;
	enum acme_result r = ACME_ERROR;
	enum acme_rc rc;
	int round, restarted = 0, all_valid, account_gone, polls = 0;
	long poll = env_seconds("CERTVAULT_ACME_POLL", 60);
	time_t processing_until = 0;

	if (p->is->directory_url == NULL) {
		acme_fault(&p->ctx, ACME_RC_REFUSED, NULL, "issuer %s has no ACME "
			   "directory URL", p->is->name);
		snprintf(p->ctx.prob.type, sizeof(p->ctx.prob.type), "badIssuer");
		return end_failed(p);
	}
	rc = acme_directory_get(&p->ctx, p->is->directory_url);
	if (rc != ACME_RC_OK)
		return on_fault(p, rc);
	for (round = 0; round < ACME_ROUNDS; round++) {
		const char *status, *order_url;

		json_decref(order);
		order = NULL;
		/* An order placed under an account the issuer no longer
		 * uses went with that account. */
		if (st_str(p, "order") != NULL &&
		    (st_str(p, "account") == NULL || p->ctx.account_url == NULL ||
		     strcmp(st_str(p, "account"), p->ctx.account_url) != 0)) {
			if ((r = forget_order(p)) == ACME_ERROR)
				goto done;
		}
		if (p->ctx.account_url == NULL) {
			rc = acme_account_register(&p->ctx, p->is);
			if (rc != ACME_RC_OK) {
				r = on_fault(p, rc);
				goto done;
			}
			p->op->attempts = 0;
			if ((r = save(p, "account", NULL)) == ACME_ERROR)
				goto done;
		}
		order_url = st_str(p, "order");
		if (order_url == NULL) {
			if (p->op->cancellation_requested) {
				r = end_cancelled(p, order);
				goto done;
			}
			r = place_order(p, &order, &account_gone);
			if (account_gone) {
				if (restarted++) {
					r = end_failed(p);
					goto done;
				}
				if ((r = forget_account(p)) == ACME_ERROR)
					goto done;
				continue;
			}
			/* No order in hand: the pass ended, or waits
			 * after a fault (r says which). */
			if (r != ACME_WAIT || order == NULL)
				goto done;
			order_url = st_str(p, "order");
		} else {
			rc = acme_order_get(&p->ctx, order_url, &order);
			if (rc == ACME_RC_UNKNOWN && !restarted++) {
				r = strcmp(p->ctx.prob.type, "accountDoesNotExist") == 0
					? forget_account(p) : forget_order(p);
				if (r == ACME_ERROR)
					goto done;
				continue;
			}
			if (rc != ACME_RC_OK) {
				r = on_fault(p, rc);
				goto done;
			}
		}
		status = acme_json_str(order, "status");
		if (status == NULL)
			status = "";
		if (strcmp(status, "pending") == 0) {
			if (p->op->cancellation_requested) {
				r = end_cancelled(p, order);
				goto done;
			}
			state_from_order(p, order);
			if ((r = save(p, "authorize", "Validating the domains with "
				      "the issuer's ACME server.")) == ACME_ERROR)
				goto done;
			p->ctx.authz_invalid = 0;
			rc = acme_authz_answer(&p->ctx, p->ch,
					       json_object_get(order, "authorizations"),
					       st_posted(p), &all_valid);
			if (rc == ACME_RC_REFUSED && p->ctx.authz_invalid &&
			    reorder_allowed(p)) {
				if ((r = reorder(p)) == ACME_ERROR)
					goto done;
				continue;
			}
			if (rc == ACME_RC_OK && !all_valid &&
			    acme_challenger_needs_presence(p->ch)) {
				p->validated_here = 1;
				rc = acme_authz_wait(&p->ctx, p->ch,
						     json_object_get(order, "authorizations"),
						     poll, &all_valid);
			}
			if (rc != ACME_RC_OK) {
				r = on_fault(p, rc);
				goto done;
			}
			p->op->attempts = 0;
			if (!all_valid) {
				p->op->next_attempt = (int64_t)time(NULL) +
					(acme_challenger_needs_presence(p->ch) ? 0 :
					 ACME_VALIDATION_RECHECK);
				if ((r = save(p, NULL, NULL)) == ACME_ERROR)
					goto done;
				snprintf(p->msg, p->msglen, "%s: waiting for "
					 "validation", order_url);
				r = ACME_WAIT;
				goto done;
			}
		} else if (strcmp(status, "ready") == 0) {
			json_t *fin = NULL;
			const char *furl = acme_json_str(order, "finalize");

			state_from_order(p, order);
			/* Saved first: the save also reads a cancel that
			 * arrived during the pass. */
			if ((r = save(p, "finalize", "Finalizing the order with the "
				      "issuer's ACME server.")) == ACME_ERROR)
				goto done;
			if (p->op->cancellation_requested) {
				r = end_cancelled(p, order);
				goto done;
			}
			/* The domains are validated: a webroot file or DNS
			 * record left by an earlier pass goes now. */
			if (!acme_challenger_needs_presence(p->ch))
				acme_authz_withdraw(&p->ctx, p->ch,
						    json_object_get(order, "authorizations"));
			if (furl == NULL) {
				acme_fault(&p->ctx, ACME_RC_REFUSED, order_url,
					   "the ready order has no finalize URL");
				r = end_failed(p);
				goto done;
			}
			rc = acme_order_finalize(&p->ctx, furl, p->op->csr.data,
						 p->op->csr.len, &fin);
			json_decref(fin);
			if (rc != ACME_RC_OK) {
				r = on_fault(p, rc);
				goto done;
			}
			p->op->attempts = 0;
		} else if (strcmp(status, "processing") == 0) {
			time_t now = time(NULL);

			if (processing_until == 0)
				processing_until = now + ACME_PROCESSING_POLL;
			if (now >= processing_until) {
				p->op->next_attempt = now + ACME_VALIDATION_RECHECK;
				if ((r = save(p, "finalize", NULL)) == ACME_ERROR)
					goto done;
				snprintf(p->msg, p->msglen, "%s: waiting for the "
					 "certificate", order_url);
				r = ACME_WAIT;
				goto done;
			}
			acme_pause_ms(polls < 5 ? 50L << polls : 1000L);
			polls++;
		} else if (strcmp(status, "valid") == 0) {
			r = download(p, order);
			goto done;
		} else if (strcmp(status, "invalid") == 0) {
			if (reorder_allowed(p)) {
				if ((r = reorder(p)) == ACME_ERROR)
					goto done;
				continue;
			}
			r = order_invalid(p, order_url, order);
			goto done;
		} else {
			acme_fault(&p->ctx, ACME_RC_TRANSIENT, order_url,
				   "the order's status is \"%s\"", status);
			r = wait_fault(p);
			goto done;
		}
	}
	p->op->next_attempt = 0;
	if ((r = save(p, NULL, NULL)) != ACME_ERROR) {
		snprintf(p->msg, p->msglen, "%s: more steps than one pass takes",
			 st_str(p, "order") ? st_str(p, "order") : "");
		r = ACME_WAIT;
	}
done:
	json_decref(order);
	return r;
}

enum acme_result
acme_advance(cv_vault *v, cv_operation *op, const cv_issuer *is,
	     acme_challenger *ch, char *msg, size_t msglen)
{
	struct pass p;
	enum acme_result r;
	time_t now = time(NULL);

	memset(&p, 0, sizeof(p));
	p.msg = msg;
	p.msglen = msglen;
	p.ch = ch;
	if (msglen > 0)
		msg[0] = '\0';
	/* Not before next_attempt; the caller says until when. */
	if (op->next_attempt > (int64_t)now)
		return ACME_WAIT;
	op->next_attempt = 0;
	r = pass_init(&p, v, op, is);
	if (r != ACME_ERROR)
		r = advance(&p);
	pass_clear(&p);
	return r;
}
