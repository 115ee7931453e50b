/* certvault run: the pass that advances pending operations.
 *
 * The command `certvault run` (cmd_run.c) and `--wait` (wait.c) both
 * advance an operation through run_operation: read it, claim it for a
 * lease, hand it to its provider (ACME: acme_advance), give the claim back
 * when it is still in progress, and say in one line what happened.  The
 * claim (store.h, cv_op_claim) makes two passes on one operation safe: the
 * second finds it busy and leaves it alone.
 *
 * Environment: CERTVAULT_RUN_LEASE, the claim's lease in seconds (default
 * 120; each step the provider saves renews it).  A pass killed while it
 * holds a claim blocks the operation until the lease lapses.
 */
#ifndef CV_RUN_PASS_H
#define CV_RUN_PASS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

enum run_outcome {
	RUN_IDLE,       /* nothing to do now: a merge finishes it (Unknown),
			   it waits for its next attempt, or another pass
			   holds it (busy) */
	RUN_PROGRESS,   /* advanced; still in progress */
	RUN_COMPLETED,  /* ended (now or before): completed */
	RUN_FAILED,     /* ended: failed, error kept in the operation */
	RUN_CANCELLED,  /* ended: cancelled */
	RUN_ERROR,      /* a local fault (the vault, the issuer, memory); the
			   operation is left as it was, to be resumed */
};

struct run_report {
	enum run_outcome outcome;
	int busy;               /* RUN_IDLE because another pass holds it */
	int acted;              /* a line worth printing for the pass */
	int64_t next_attempt;   /* in progress: not before this time (0: now) */
	cv_err err;             /* RUN_ERROR from the store: its code */
	char line[1024];        /* "ordered", "completed, version V",
				   "failed: TYPE: DETAIL", "waiting until TIME",
				   "error: ..." */
};

/* Advance the operation of certificate name as far as it goes now.  Needs a
 * login.  *r says what happened.  A store error that says the operation is
 * not there: RUN_ERROR with the store's words. */
void run_operation(cv_vault *v, const char *name, struct run_report *r);

/* One pass over every operation in progress, in name order: one line
 * "NAME: <line>" to out for each that acted, waits or failed.  Stops before
 * the next operation once stop() returns non-zero (stop may be NULL).
 * *next is the earliest next_attempt of those still in progress that wait
 * for a time (0 when none).  Returns the number of local faults (RUN_ERROR),
 * or -1 when the operations could not be listed (a line to stderr). */
int run_pass(cv_vault *v, FILE *out, int (*stop)(void), int64_t *next);

/* "2026-12-03T04:05:06Z" of t (UTC). */
void run_time_text(int64_t t, char *out, size_t n);

#endif
