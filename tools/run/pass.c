/* certvault run: advancing one operation, and a pass over all of them
 * (pass.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acme/acme.h"
#include "acme/challenge.h"
#include "pass.h"

#define RUN_LEASE_DEFAULT 120 /* seconds */

static int64_t
lease_seconds(void)
{
	const char *s = getenv("CERTVAULT_RUN_LEASE");
	char *end;
	long t;

	if (s == NULL || s[0] == '\0')
		return RUN_LEASE_DEFAULT;
	t = strtol(s, &end, 10);
	if (*end != '\0' || t < 1 || t > 86400)
		return RUN_LEASE_DEFAULT;
	return t;
}

void
run_time_text(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ",
						   &tm) == 0)
		snprintf(out, n, "%lld", (long long)t);
}

/* The outcome and line of an operation that has ended. */
static void
report_ended(const cv_operation *op, struct run_report *r)
{
	r->acted = 1;
	switch (op->status) {
	case CV_OP_COMPLETED:
		r->outcome = RUN_COMPLETED;
		snprintf(r->line, sizeof(r->line), "completed, version %s",
			 op->version);
		break;
	case CV_OP_FAILED:
		r->outcome = RUN_FAILED;
		snprintf(r->line, sizeof(r->line), "failed: %s: %s",
			 op->error_code != NULL ? op->error_code : "unknown",
			 op->error_message != NULL ? op->error_message : "");
		break;
	case CV_OP_CANCELLED:
		r->outcome = RUN_CANCELLED;
		snprintf(r->line, sizeof(r->line), "cancelled");
		break;
	default:
		r->outcome = RUN_PROGRESS;
		snprintf(r->line, sizeof(r->line), "in progress");
		break;
	}
}

static void
report_error(struct run_report *r, const char *what, cv_err err)
{
	const char *detail = cv_err_detail();

	r->outcome = RUN_ERROR;
	r->err = err;
	r->acted = 1;
	snprintf(r->line, sizeof(r->line), "error: %s: %s", what,
		 detail != NULL && detail[0] != '\0' ? detail : cv_strerror(err));
}

/* The line of an operation still in progress after a pass worked on it. */
static void
report_waiting(const cv_operation *op, const char *msg, struct run_report *r)
{
	char when[32];

	r->outcome = RUN_PROGRESS;
	r->acted = 1;
	r->next_attempt = op->next_attempt;
	if (op->next_attempt > (int64_t)time(NULL)) {
		run_time_text(op->next_attempt, when, sizeof(when));
		if (msg != NULL && msg[0] != '\0')
			snprintf(r->line, sizeof(r->line), "%s; waiting until %s",
				 msg, when);
		else
			snprintf(r->line, sizeof(r->line), "waiting until %s",
				 when);
	} else if (msg != NULL && msg[0] != '\0') {
		snprintf(r->line, sizeof(r->line), "%s", msg);
	} else {
		snprintf(r->line, sizeof(r->line), "in progress (step %s)",
			 op->step != NULL ? op->step : "none");
	}
}

/* Steps of an ACME operation before its order exists at the CA. */
static int
step_before_order(const char *step)
{
	return strcmp(step, "account") == 0 || strcmp(step, "ordering") == 0;
}

/* A claimed ACME operation: one acme_advance with the issuer's
 * challenger.  The claim is given back unless the operation ended. */
static void
advance_acme(cv_vault *v, cv_operation *op, struct run_report *r)
{
	cv_issuer *is = NULL;
	acme_challenger *ch = NULL;
	cv_operation *now = NULL;
	enum acme_result res;
	char msg[900] = "";
	int ordered_before, ended = 0;
	cv_err err;

	err = cv_issuer_get(v, op->issuer_name, 0, &is);
	if (err != CV_OK) {
		report_error(r, "issuer", err);
		goto done;
	}
	if (acme_challenger_open(is, &ch, msg, sizeof(msg)) != 0) {
		r->outcome = RUN_ERROR;
		r->acted = 1;
		snprintf(r->line, sizeof(r->line), "error: %s", msg);
		goto done;
	}
	ordered_before = op->step != NULL && !step_before_order(op->step);
	res = acme_advance(v, op, is, ch, msg, sizeof(msg));
	/* The responder stops here: whatever it answered is decided. */
	acme_challenger_close(ch);
	ch = NULL;
	if (res == ACME_DONE) {
		ended = 1;
		err = cv_pending_get(v, op->name, &now);
		if (err != CV_OK) {
			report_error(r, "operation", err);
			goto done;
		}
		report_ended(now, r);
		goto done;
	}
	if (res == ACME_ERROR) {
		r->outcome = RUN_ERROR;
		r->acted = 1;
		snprintf(r->line, sizeof(r->line), "error: %s",
			 msg[0] != '\0' ? msg : "the ACME client stopped");
		goto done;
	}
	if (!ordered_before && op->step != NULL && !step_before_order(op->step) &&
	    strlen(msg) + sizeof("ordered; ") < sizeof(msg)) {
		/* The order was placed in this pass: say so first. */
		memmove(msg + strlen("ordered; "), msg, strlen(msg) + 1);
		memcpy(msg, "ordered; ", strlen("ordered; "));
	}
	report_waiting(op, msg, r);
done:
	/* Given back unless the operation ended; a claim already lost is
	 * left as it is. */
	if (!ended)
		cv_op_release(v, op);
	acme_challenger_close(ch);
	cv_operation_free(now);
	cv_issuer_free(is);
}

void
run_operation(cv_vault *v, const char *name, struct run_report *r)
{
	cv_operation *op = NULL, *claimed = NULL;
	char when[32], provider[64];
	cv_err err;

	memset(r, 0, sizeof(*r));
	r->outcome = RUN_IDLE;
	err = cv_pending_get(v, name, &op);
	if (err != CV_OK) {
		report_error(r, "operation", err);
		goto done;
	}
	if (op->status != CV_OP_IN_PROGRESS) {
		report_ended(op, r);
		goto done;
	}
	/* A merge finishes it: nothing for a pass to do. */
	if (op->provider == NULL || strcasecmp(op->provider, "Unknown") == 0) {
		snprintf(r->line, sizeof(r->line), "waiting for a merge");
		goto done;
	}
	/* A cancel is decided by the next pass, whenever the order was to
	 * be looked at again. */
	if (op->next_attempt > (int64_t)time(NULL) &&
	    !op->cancellation_requested) {
		r->acted = 1;
		r->next_attempt = op->next_attempt;
		run_time_text(op->next_attempt, when, sizeof(when));
		snprintf(r->line, sizeof(r->line), "waiting until %s", when);
		goto done;
	}
	err = cv_op_claim(v, name, lease_seconds(), &claimed);
	if (err == CV_ERR_BUSY) {
		r->busy = 1;
		snprintf(r->line, sizeof(r->line), "busy: another pass works on it");
		goto done;
	}
	if (err == CV_ERR_NOT_IN_PROGRESS) {
		/* It ended between the read and the claim. */
		cv_operation_free(op);
		op = NULL;
		err = cv_pending_get(v, name, &op);
		if (err == CV_OK) {
			report_ended(op, r);
			goto done;
		}
	}
	if (err != CV_OK) {
		report_error(r, "claim", err);
		goto done;
	}
	if (claimed->cancellation_requested)
		claimed->next_attempt = 0;
	if (cv_provider_is_acme(claimed->provider)) {
		advance_acme(v, claimed, r);
		goto done;
	}
	/* Self and Vault finish inside cv_cert_create; an operation of theirs
	 * still in progress, or of a provider this tool does not know, can
	 * never be advanced: it ends with a reason instead of waiting. */
	snprintf(provider, sizeof(provider), "%s",
		 claimed->provider != NULL ? claimed->provider : "none");
	err = cv_op_fail(v, claimed, "UnsupportedProvider",
			 "no pass advances an operation of this provider");
	if (err != CV_OK) {
		report_error(r, "fail", err);
		cv_op_release(v, claimed);
		goto done;
	}
	r->outcome = RUN_FAILED;
	r->acted = 1;
	snprintf(r->line, sizeof(r->line), "failed: UnsupportedProvider: no pass "
		 "advances an operation of provider %s", provider);
done:
	cv_operation_free(claimed);
	cv_operation_free(op);
}

int
run_pass(cv_vault *v, FILE *out, int (*stop)(void), int64_t *next)
{
	struct run_report r;
	char **names = NULL;
	size_t n = 0, i;
	int faults = 0;
	cv_err err;

	*next = 0;
	err = cv_op_list_active(v, &names, &n);
	if (err != CV_OK) {
		fprintf(stderr, "certvault: cannot list the operations: %s\n",
			cv_strerror(err));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (stop != NULL && stop())
			break;
		run_operation(v, names[i], &r);
		if (r.outcome == RUN_ERROR)
			faults++;
		if (r.outcome == RUN_PROGRESS || r.outcome == RUN_IDLE) {
			if (r.next_attempt > 0 &&
			    (*next == 0 || r.next_attempt < *next))
				*next = r.next_attempt;
		}
		if (r.acted) {
			fprintf(out, "%s: %s\n", names[i], r.line);
			fflush(out);
		}
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return faults;
}
