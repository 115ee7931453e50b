/* certvault benchmark: what the store reads for one `certvault run` pass,
 * timed inside one process (no start, no PIN login), so the figure is the
 * pass's own and can be held against the goal for a pass with nothing due.
 *
 *   pass_reads [--reps N] DIR
 *
 * Times cv_op_list_active, the read with which a pass finds its work
 * today (the certificates whose operation is inProgress), N times
 * (default 20) on the vault in DIR, and the vault's open and login apart.
 * Prints one line: "RESULT kind=pass_reads ..." with the median and the
 * largest time of the list in milliseconds and how many it found.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define PIN "bench-pin-1234"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	cv_vault *v = NULL;
	char **names = NULL;
	size_t n = 0, k;
	double *ms = NULL, t0, open_ms, login_ms;
	long reps = 20, i;
	int rc = 1, a = 1;
	cv_err err;

	if (argc == 4 && strcmp(argv[1], "--reps") == 0) {
		reps = strtol(argv[2], NULL, 10);
		a = 3;
	}
	if (argc - a != 1 || reps < 1) {
		fputs("usage: pass_reads [--reps N] DIR\n", stderr);
		return 2;
	}
	if ((ms = calloc((size_t)reps, sizeof(*ms))) == NULL)
		return 1;
	t0 = now_ms();
	if ((err = cv_vault_open(argv[a], &v)) != CV_OK) {
		fprintf(stderr, "pass_reads: %s: %s\n", argv[a], cv_strerror(err));
		goto done;
	}
	open_ms = now_ms() - t0;
	t0 = now_ms();
	if ((err = cv_vault_login(v, CV_USER_NORMAL, PIN, strlen(PIN))) != CV_OK) {
		fprintf(stderr, "pass_reads: log in: %s\n", cv_strerror(err));
		goto done;
	}
	login_ms = now_ms() - t0;
	for (i = 0; i < reps; i++) {
		t0 = now_ms();
		err = cv_op_list_active(v, &names, &n);
		ms[i] = now_ms() - t0;
		for (k = 0; k < n; k++)
			free(names[k]);
		free(names);
		names = NULL;
		if (err != CV_OK) {
			fprintf(stderr, "pass_reads: list the operations: %s\n", cv_strerror(err));
			goto done;
		}
	}
	qsort(ms, (size_t)reps, sizeof(*ms), cmp_double);
	printf("RESULT kind=pass_reads what=op_list_active reps=%ld found=%zu "
	       "median_ms=%.2f max_ms=%.2f open_ms=%.2f login_ms=%.2f\n",
	       reps, n, ms[reps / 2], ms[reps - 1], open_ms, login_ms);
	rc = 0;
done:
	free(ms);
	cv_vault_close(v);
	return rc;
}
