/* certvault: running another program (a hook) and hearing how it ended.
 *
 * The program runs without a shell (argv[0] looked up in PATH when it has no
 * slash), in a process group of its own, with the default signal
 * dispositions and an empty signal mask.  Its standard output and error go
 * to one pipe the caller reads; what it said is kept bounded (the last 2 KiB)
 * and reported as one line.  Its standard input is the caller's bytes, written
 * without blocking, or /dev/null.  When it outlives the timeout the whole
 * group is killed (SIGKILL), so what it started goes with it.  It gets the
 * caller's environment less every CERTVAULT_*PIN* variable (CERTVAULT_PIN,
 * CERTVAULT_SO_PIN, ...): a hook never sees the vault's PINs.  Knows no
 * vault.
 */
#ifndef CV_PROC_SPAWN_H
#define CV_PROC_SPAWN_H

#include <stddef.h>

/* How a program ended (proc_run_outcome). */
enum proc_end {
	PROC_EXITED = 0,     /* code: its exit status */
	PROC_SIGNALLED = 1,  /* code: the signal that ended it */
	PROC_TIMED_OUT = 2,  /* code: the timeout in seconds (group killed) */
	PROC_NOT_STARTED = 3 /* code: errno of the failed start */
};

#define PROC_SAID_MAX 512 /* one line of what it said, with its NUL */

struct proc_outcome {
	enum proc_end end;
	int code;
	char said[PROC_SAID_MAX]; /* its output and errors as one line: newlines
				   * become "; ", control characters spaces,
				   * only the last 400 bytes kept */
};

/* Run argv (argv[0] looked up in PATH, no shell) with stdin_data on its
 * standard input (may be NULL: /dev/null), in a process group of its own,
 * killed with the group after timeout seconds.  Its stdout and stderr are
 * collected (bounded) into one line in out.  Returns 0 when it exited 0;
 * else -1 with out saying how it ended ("exit 3: <its output>", "killed
 * after 30 s", "cannot run X: reason").
 *
 * timeout <= 0 means 30 seconds; more than a day means a day.  On success out holds what it said (maybe
 * empty).  Standard input: the bytes are written as the program reads them;
 * a program that ends (or closes its input) before reading them all is not
 * an error, and one that never reads them is bounded by the timeout like any
 * other.  SIGPIPE from that write never reaches the caller.  The caller's
 * SIGCHLD disposition must not be SIG_IGN (the program is reaped here). */
int proc_run(char *const argv[], const void *stdin_data, size_t stdin_len,
	     long timeout, char *out, size_t outlen);

/* The same run, with how it ended given as parts, for a caller that words
 * its own report (the dns-01 hook).  Returns 0 when it exited 0, else -1;
 * *res is filled in either case (cleared on entry). */
int proc_run_outcome(char *const argv[], const void *stdin_data,
		     size_t stdin_len, long timeout, struct proc_outcome *res);

/* Split a command line on spaces and tabs (no quotes, no shell): argv
 * malloc'd, NULL-terminated; free with proc_argv_free. -1 when empty. */
int proc_split(const char *cmd, char ***argv);
void proc_argv_free(char **argv);

#endif
