/* certvault: --wait of `certificate create` and `certificate pending show`.
 *
 * The command advances the operation itself (run/pass.h), so it needs no
 * `certvault run` beside it; when another pass holds the operation it only
 * watches.  Every wait is bounded by --timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "run/pass.h"

int
cli_wait_timeout_arg(const struct cli_command *cmd, const char *arg, long *out)
{
	char *end;
	long t;

	errno = 0;
	t = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || t < 1 || t > CLI_WAIT_MAX)
		return cli_usage(cmd, "--timeout is seconds, 1 to %d, not '%s'",
				 CLI_WAIT_MAX, arg);
	*out = t;
	return CLI_EXIT_OK;
}

static void
sleep_seconds(int64_t s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = 0 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
cli_operation_wait(struct cli_ctx *ctx, cv_vault *v, const char *name,
		   long timeout)
{
	struct run_report r;
	cv_operation *op = NULL;
	int64_t start = (int64_t)time(NULL), deadline = start + timeout, now;
	int tty = isatty(STDERR_FILENO), shown = 0, rc = CLI_EXIT_FAIL;
	cv_err err;

	for (;;) {
		run_operation(v, name, &r);
		if (r.outcome == RUN_COMPLETED || r.outcome == RUN_FAILED ||
		    r.outcome == RUN_CANCELLED)
			break;
		if (r.outcome == RUN_ERROR &&
		    (r.err == CV_ERR_NO_OPERATION || r.err == CV_ERR_BAD_NAME ||
		     r.err == CV_ERR_NOT_LOGGED_IN)) {
			rc = cli_fail_store(r.err);
			goto done;
		}
		now = (int64_t)time(NULL);
		if (tty) {
			fprintf(stderr, "\r\033[K%s: %s (%llds)", name, r.line,
				(long long)(now - start));
			fflush(stderr);
			shown = 1;
		}
		if (now >= deadline)
			break;
		/* Until the provider's next attempt, else a short poll: a
		 * validation, another pass or a merge moves it on. */
		if (r.next_attempt > now)
			sleep_seconds(r.next_attempt - now < deadline - now ?
					      r.next_attempt - now : deadline - now);
		else
			sleep_seconds(1);
	}
	if (shown)
		fputs("\r\033[K", stderr);
	err = cv_pending_get(v, name, &op);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_operation(ctx->vault_name, op,
					       cli_form_of(ctx)));
	if (rc != CLI_EXIT_OK)
		goto done;
	switch (op->status) {
	case CV_OP_COMPLETED:
		rc = CLI_EXIT_OK;
		break;
	case CV_OP_FAILED:
		rc = cli_fail("the operation of %s failed: %s: %s", name,
			      op->error_code != NULL ? op->error_code : "unknown",
			      op->error_message != NULL ? op->error_message : "");
		break;
	case CV_OP_CANCELLED:
		rc = cli_fail("the operation of %s was cancelled", name);
		break;
	default:
		rc = cli_fail("the operation of %s is still in progress after %ld s "
			      "(%s)", name, timeout, r.line);
		break;
	}
done:
	cv_operation_free(op);
	return rc;
}
