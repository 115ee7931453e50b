/* certvault run: the lifetime actions' part of a pass.
 *
 * After the pass has advanced the pending operations (pass.h), run_life
 * fires every lifetime trigger due at the pass's time (store.h,
 * cv_life_fire: one write transaction each, so nothing is done twice),
 * sends the outbox through the vault's mail relay (net/smtp.h), and runs
 * the vault's hook once per new event with the event's JSON on its
 * standard input (proc/spawn.h).  One line per action to out.  A mail the
 * relay refuses stays in the outbox for a later pass (bounded in the
 * store); a hook that fails or hangs is reported and killed after its
 * timeout, and the pass goes on.
 *
 * Environment: CERTVAULT_HOOK_TIMEOUT, seconds a hook may run (default
 * 30); CERTVAULT_SMTP_CA_FILE, PEM roots for the relay's TLS.
 */
#ifndef CV_RUN_LIFE_H
#define CV_RUN_LIFE_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

struct life_run {
	int64_t now;            /* the pass's clock */
	int dry_run;            /* print what would happen, change nothing */
	const char *vault_name; /* the events' topic */
};

/* One lifetime pass.  Needs a login unless dry_run.  Stops between
 * triggers once stop() returns non-zero (stop may be NULL).  Returns the
 * number of local faults (a trigger the store could not fire, a mail or
 * hook step that could not be recorded), or -1 when the due triggers
 * could not be read (a line to stderr). */
int run_life(cv_vault *v, const struct life_run *lr, FILE *out,
	     int (*stop)(void));

/* A time as --now and --since take it: RFC 3339 ("2027-01-02T03:04:05Z",
 * an offset "+01:00" instead of Z, a fraction ignored) or "@SECONDS".
 * 0 on success, -1 when it is neither. */
int run_time_parse(const char *s, int64_t *out);

#endif
