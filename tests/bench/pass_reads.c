/* certvault benchmark: one `certvault run` pass timed inside one process
 * (no start, no PIN login), so the figure is the pass's own and can be held
 * against the goal for a pass with nothing due.
 *
 *   pass_reads [--reps N] DIR
 *   pass_reads --pass TIME [--reps N] DIR
 *
 * The first form times cv_op_list_active, the read with which a pass finds
 * the operations in progress, N times (default 20).  The second times the
 * whole pass as `certvault run --once --now TIME` makes it after its login:
 * the operations (run_pass), then the lifetime actions, the outbox and the
 * hook's events (run_life), the same code the command runs, N times.  A
 * pass that fires changes the vault, so only the first repetition of a
 * pass with something due is that pass (first_ms); the later ones find
 * nothing due (last_ms: the last repetition).  TIME is RFC 3339 or
 * @SECONDS.  The pass's lines are counted and dropped.
 *
 * Prints one line: "RESULT kind=pass_reads ..." with the first, last, median
 * and largest time in milliseconds, the vault's open and login apart, the
 * process's largest resident set after the passes (login included), and
 * its own memory and the vault's mapped pages at the end.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "store.h"
#include "run/life.h"
#include "run/pass.h"

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

/* The pass's output: counted, not kept. */
static ssize_t
count_lines(void *cookie, const char *buf, size_t n)
{
	size_t *lines = cookie, i;

	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			(*lines)++;
	return (ssize_t)n;
}

/* One pass as cmd_run.c makes it with --once: the operations, then the
 * lifetime actions, the outbox and the hook's events. */
static int
whole_pass(cv_vault *v, int64_t now, FILE *out)
{
	struct life_run lr = { .now = now, .vault_name = "bench" };
	int64_t next = 0;
	int faults, lf;

	if ((faults = run_pass(v, out, NULL, &next)) < 0 ||
	    (lf = run_life(v, &lr, out, NULL)) < 0)
		return -1;
	return faults + lf;
}

/* The kB of one "Name:" line of /proc/self/status (0 if absent): RssAnon
 * is the process's own memory, RssFile the vault's pages it has mapped
 * (clean page cache, shared). */
static long
status_kb(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':')
			kb = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	cookie_io_functions_t sink = { .write = count_lines };
	cv_vault *v = NULL;
	char **names = NULL;
	const char *pass_at = NULL, *dir = NULL;
	size_t n = 0, k, lines = 0;
	double *ms = NULL, t0, open_ms, login_ms;
	struct rusage ru;
	int64_t now = 0;
	long reps = 20, i;
	int rc = 1, a, faults = 0, f;
	FILE *out = NULL;
	cv_err err;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--reps") == 0 && a + 1 < argc)
			reps = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--pass") == 0 && a + 1 < argc)
			pass_at = argv[++a];
		else if (dir == NULL && argv[a][0] != '-')
			dir = argv[a];
		else
			dir = NULL, reps = 0, a = argc;
	}
	if (dir == NULL || reps < 1 ||
	    (pass_at != NULL && run_time_parse(pass_at, &now) != 0)) {
		fputs("usage: pass_reads [--pass TIME] [--reps N] DIR\n", stderr);
		return 2;
	}
	if ((ms = calloc((size_t)reps, sizeof(*ms))) == NULL ||
	    (out = fopencookie(&lines, "w", sink)) == NULL)
		goto done;
	t0 = now_ms();
	if ((err = cv_vault_open(dir, &v)) != CV_OK) {
		fprintf(stderr, "pass_reads: %s: %s\n", dir, cv_strerror(err));
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
		if (pass_at != NULL) {
			f = whole_pass(v, now, out);
			fflush(out);
			ms[i] = now_ms() - t0;
			if (f < 0) {
				fprintf(stderr, "pass_reads: the pass stopped\n");
				goto done;
			}
			faults += f;
			continue;
		}
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
	getrusage(RUSAGE_SELF, &ru);
	if (pass_at != NULL)
		printf("RESULT kind=pass_reads what=whole_pass reps=%ld first_ms=%.2f ",
		       reps, ms[0]);
	else
		printf("RESULT kind=pass_reads what=op_list_active reps=%ld found=%zu "
		       "first_ms=%.2f ", reps, n, ms[0]);
	printf("last_ms=%.2f ", ms[reps - 1]);
	qsort(ms, (size_t)reps, sizeof(*ms), cmp_double);
	printf("median_ms=%.2f max_ms=%.2f open_ms=%.2f login_ms=%.2f lines=%zu "
	       "faults=%d maxrss_kb=%ld rss_anon_kb=%ld rss_file_kb=%ld\n", ms[reps / 2],
	       ms[reps - 1], open_ms, login_ms, lines, faults, ru.ru_maxrss,
	       status_kb("RssAnon"), status_kb("RssFile"));
	rc = 0;
done:
	if (out != NULL)
		fclose(out);
	free(ms);
	cv_vault_close(v);
	return rc;
}
