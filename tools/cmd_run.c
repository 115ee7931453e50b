/* certvault run: advance every pending operation, then act on the lifetime
 * actions that are due (run/life.h), once (--once) or as a service until
 * SIGTERM or SIGINT.  --now TIME sets the lifetime actions' clock; --dry-run
 * prints what would happen and changes nothing (it advances no operation).
 *
 * SIGTERM and SIGINT are held blocked while a pass works, so a step is
 * never cut in half (an ACME request, a hook, a write); the pass looks at
 * them between operations, and the wait between passes takes them at
 * once. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "run/life.h"
#include "run/pass.h"

enum {
	OPT_ONCE = 1,
	OPT_INTERVAL,
	OPT_NOW,
	OPT_DRY_RUN,
};

#define RUN_INTERVAL_DEFAULT 60
#define RUN_INTERVAL_MAX 86400

static sigset_t stop_signals;

/* A stop signal is waiting to be taken. */
static int
stop_pending(void)
{
	sigset_t pending;

	if (sigpending(&pending) != 0)
		return 0;
	return sigismember(&pending, SIGTERM) == 1 ||
	       sigismember(&pending, SIGINT) == 1;
}

/* Wait up to seconds for a stop signal.  1 when one came. */
static int
wait_for_stop(int64_t seconds)
{
	struct timespec ts = { .tv_sec = (time_t)seconds, .tv_nsec = 0 };
	int64_t deadline = (int64_t)time(NULL) + seconds;

	for (;;) {
		if (sigtimedwait(&stop_signals, NULL, &ts) > 0)
			return 1;
		if (errno != EINTR)
			return 0;
		/* Another signal: wait for what is left. */
		ts.tv_sec = (time_t)(deadline - (int64_t)time(NULL));
		if (ts.tv_sec <= 0)
			return 0;
	}
}

int
cli_run(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *interval_arg = NULL, *now_arg = NULL;
	struct life_run lr = { 0 };
	cv_vault *v = NULL;
	sigset_t old;
	int64_t next, wait;
	long interval = RUN_INTERVAL_DEFAULT;
	char *end;
	int c, once = 0, dry = 0, faults, lf, blocked = 0, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_INTERVAL:
			interval_arg = o.arg;
			break;
		case OPT_NOW:
			now_arg = o.arg;
			break;
		case OPT_DRY_RUN:
			dry = 1;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (interval_arg != NULL) {
		errno = 0;
		interval = strtol(interval_arg, &end, 10);
		if (errno != 0 || end == interval_arg || *end != '\0' ||
		    interval < 1 || interval > RUN_INTERVAL_MAX) {
			rc = cli_usage(cmd, "--interval is seconds, 1 to %d, not '%s'",
				       RUN_INTERVAL_MAX, interval_arg);
			goto done;
		}
	}
	if (now_arg != NULL && run_time_parse(now_arg, &lr.now) != 0) {
		rc = cli_usage(cmd, "--now is an RFC 3339 time (2027-01-02T03:04:05Z) "
			       "or @SECONDS, not '%s'", now_arg);
		goto done;
	}
	if (now_arg != NULL && !once && !dry) {
		rc = cli_usage(cmd, "--now needs --once or --dry-run");
		goto done;
	}
	if (dry && interval_arg != NULL) {
		rc = cli_usage(cmd, "--dry-run makes one pass; --interval does not go with it");
		goto done;
	}
	lr.dry_run = dry;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	lr.vault_name = ctx->vault_name;
	if (dry) {
		/* Nothing is changed, so nothing needs the PIN. */
		if (lr.now == 0)
			lr.now = (int64_t)time(NULL);
		lf = run_life(v, &lr, stdout, NULL);
		rc = lf == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		goto done;
	}
	rc = cli_login(v, CV_USER_NORMAL, NULL);
	if (rc != CLI_EXIT_OK)
		goto done;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop_signals, &old) != 0) {
		rc = cli_fail("cannot hold SIGTERM and SIGINT: %s",
			      strerror(errno));
		goto done;
	}
	blocked = 1;
	for (;;) {
		faults = run_pass(v, stdout, stop_pending, &next);
		if (faults < 0) {
			rc = CLI_EXIT_FAIL;
			goto done;
		}
		if (!stop_pending()) {
			struct life_run now_lr = lr;

			if (now_lr.now == 0)
				now_lr.now = (int64_t)time(NULL);
			lf = run_life(v, &now_lr, stdout, stop_pending);
			if (lf < 0) {
				rc = CLI_EXIT_FAIL;
				goto done;
			}
			faults += lf;
			if (!stop_pending())
				faults += cli_run_purge(v, now_lr.now, stdout);
		}
		if (once) {
			rc = faults == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
			goto done;
		}
		if (stop_pending())
			break;
		wait = interval;
		if (next > 0) {
			int64_t until = next - (int64_t)time(NULL);

			if (until < wait)
				wait = until < 1 ? 1 : until;
		}
		if (wait_for_stop(wait))
			break;
	}
	rc = CLI_EXIT_OK;
done:
	if (blocked) {
		struct timespec now = { 0, 0 };

		/* A stop signal taken between the steps is answered: it is
		 * not delivered again once the mask is given back. */
		while (sigtimedwait(&stop_signals, NULL, &now) > 0)
			;
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	cv_vault_close(v);
	return rc;
}
