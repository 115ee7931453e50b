/* certvault: running a hook (spawn.h).
 *
 * One loop does everything the parent must do while the program runs: it
 * reads what the program says (so a chatty program never blocks on a full
 * pipe), feeds its standard input as far as the program takes it (so one
 * that never reads cannot block the parent), and reaps it; the deadline
 * bounds all three. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;

#define TIMEOUT_DEFAULT 30 /* seconds */
#define TIMEOUT_MAX 86400  /* a day: no deadline arithmetic overflows */
#define OUTPUT_KEPT 2048   /* bytes of what it says, the last ones */
#define LINE_KEPT 400      /* of those, the last ones in the line */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What it said, as one line: newlines become "; ", the tail kept. */
static void
one_line(const char *in, size_t len, char *out, size_t n)
{
	size_t i, k = 0;

	if (n == 0)
		return;
	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r' ||
			   in[len - 1] == ' '))
		len--;
	if (len > LINE_KEPT) {
		in += len - LINE_KEPT;
		len = LINE_KEPT;
	}
	for (i = 0; i < len && k + 3 < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == '\n') {
			out[k++] = ';';
			out[k++] = ' ';
		} else if (ch < 0x20 || ch == 0x7f) {
			out[k++] = ' ';
		} else {
			out[k++] = (char)ch;
		}
	}
	out[k] = '\0';
}

/* Keep the end of what it says: the last words say why. */
static void
keep_tail(char *kept, size_t *kept_len, const char *buf, size_t len)
{
	size_t take = len;

	if (*kept_len + take > OUTPUT_KEPT) {
		size_t drop = *kept_len + take - OUTPUT_KEPT;

		if (drop > *kept_len)
			drop = *kept_len;
		memmove(kept, kept + drop, *kept_len - drop);
		*kept_len -= drop;
		if (take > OUTPUT_KEPT)
			take = OUTPUT_KEPT;
	}
	memcpy(kept + *kept_len, buf + len - take, take);
	*kept_len += take;
}

/* Write what the program's standard input can take now.  A SIGPIPE from a
 * program that closed its input is held back and dropped here, so it never
 * ends the caller.  Returns 1 while there is more to write, 0 when the input
 * is done with (all written, or the program will not take more). */
static int
feed_stdin(int fd, const unsigned char *data, size_t len, size_t *done)
{
	sigset_t pipe_set, old, pending;
	struct timespec zero = { 0, 0 };
	int was_pending, more = 1;
	ssize_t w;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	w = write(fd, data + *done, len - *done);
	if (w > 0) {
		*done += (size_t)w;
		if (*done == len)
			more = 0;
	} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		more = 0;
		if (errno == EPIPE && !was_pending)
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
			       errno == EINTR)
				;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return more;
}

/* The caller's environment without the vault's PINs (CERTVAULT_PIN,
 * CERTVAULT_SO_PIN, CERTVAULT_NEW_PIN and any other CERTVAULT_*PIN*): a
 * service started with its PIN in the environment does not pass it on to
 * every hook.  The array is malloc'd; its strings are environ's. */
static int
names_a_pin(const char *var)
{
	size_t i;

	if (strncmp(var, "CERTVAULT_", 10) != 0)
		return 0;
	for (i = 10; var[i] != '\0' && var[i] != '='; i++)
		if (strncmp(var + i, "PIN", 3) == 0)
			return 1;
	return 0;
}

static char **
hook_environment(void)
{
	char **env;
	size_t n = 0, i, k = 0;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (!names_a_pin(environ[i]))
			env[k++] = environ[i];
	env[k] = NULL;
	return env;
}

static int
make_pipe(int fds[2], int parent_end_nonblocking)
{
	if (pipe(fds) != 0)
		return -1;
	if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 ||
	    (parent_end_nonblocking >= 0 &&
	     fcntl(fds[parent_end_nonblocking], F_SETFL, O_NONBLOCK) != 0)) {
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return -1;
	}
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int
proc_run_outcome(char *const argv[], const void *stdin_data,
		 size_t stdin_len, long timeout, struct proc_outcome *res)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	char *kept = NULL, **env = NULL;
	size_t kept_len = 0, fed = 0;
	int outp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	int status = 0, rc = -1, e, fa_made = 0, attr_made = 0;
	int reaped = 0, out_open = 1, in_open;
	pid_t pid = -1;
	int64_t deadline;

	memset(res, 0, sizeof(*res));
	res->end = PROC_NOT_STARTED;
	if (timeout <= 0)
		timeout = TIMEOUT_DEFAULT;
	if (timeout > TIMEOUT_MAX)
		timeout = TIMEOUT_MAX;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		res->code = EINVAL;
		goto done;
	}
	/* Said plainly before a spawn whose failure some systems only
	 * report as the child's exit status 127. */
	if (strchr(argv[0], '/') != NULL && access(argv[0], X_OK) != 0) {
		res->code = errno;
		goto done;
	}
	kept = malloc(OUTPUT_KEPT);
	env = hook_environment();
	if (kept == NULL || env == NULL) {
		res->code = ENOMEM;
		goto done;
	}
	if (make_pipe(outp, -1) != 0 ||
	    (stdin_data != NULL && make_pipe(inp, 1) != 0)) {
		res->code = errno;
		goto done;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		res->code = e;
		goto done;
	}
	fa_made = 1;
	if ((e = posix_spawnattr_init(&attr)) != 0) {
		res->code = e;
		goto done;
	}
	attr_made = 1;
	/* The program starts with the signals a shell would give it, not
	 * with what the caller ignores or blocks. */
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGHUP);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGCHLD);
	if ((stdin_data != NULL
	     ? (e = posix_spawn_file_actions_adddup2(&fa, inp[0], 0))
	     : (e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						      O_RDONLY, 0))) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, outp[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, outp[1], 2)) != 0 ||
	    (e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					  POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&attr, &deflt)) != 0) {
		res->code = e;
		goto done;
	}
	e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
	if (e != 0) {
		pid = -1;
		res->code = e;
		goto done;
	}
	close_fd(&outp[1]);
	close_fd(&inp[0]);
	in_open = inp[1] >= 0;
	if (in_open && stdin_len == 0) {
		close_fd(&inp[1]);
		in_open = 0;
	}
	deadline = now_ms() + (int64_t)timeout * 1000;
	while (!reaped || out_open) {
		struct pollfd p[2];
		int64_t left = deadline - now_ms();
		int nfds = 0, out_i = -1, in_i = -1, ready;
		char buf[512];

		if (left <= 0)
			break;
		if (out_open) {
			p[nfds] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
			out_i = nfds++;
		}
		if (in_open) {
			p[nfds] = (struct pollfd){ .fd = inp[1], .events = POLLOUT };
			in_i = nfds++;
		}
		ready = poll(p, (nfds_t)nfds, reaped ? 0 :
			     left > 100 ? 100 : (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0) {
			/* Once it has exited, what is there is all there is:
			 * something it left running may hold the pipe. */
			if (reaped)
				out_open = 0;
		} else {
			if (out_i >= 0 && p[out_i].revents != 0) {
				ssize_t r = read(outp[0], buf, sizeof(buf));

				if (r > 0)
					keep_tail(kept, &kept_len, buf, (size_t)r);
				else if (r == 0 || (errno != EINTR && errno != EAGAIN))
					out_open = 0;
			}
			if (in_i >= 0 && p[in_i].revents != 0 &&
			    !feed_stdin(inp[1], stdin_data, stdin_len, &fed)) {
				close_fd(&inp[1]);
				in_open = 0;
			}
		}
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
			reaped = 1;
			/* Nobody is left to take the rest of its input. */
			close_fd(&inp[1]);
			in_open = 0;
		}
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		res->end = PROC_TIMED_OUT;
		res->code = (int)timeout;
	} else if (WIFEXITED(status)) {
		res->end = PROC_EXITED;
		res->code = WEXITSTATUS(status);
		if (res->code == 0)
			rc = 0;
	} else {
		res->end = PROC_SIGNALLED;
		res->code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	}
	one_line(kept, kept_len, res->said, sizeof(res->said));
done:
	if (attr_made)
		posix_spawnattr_destroy(&attr);
	if (fa_made)
		posix_spawn_file_actions_destroy(&fa);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&inp[0]);
	close_fd(&inp[1]);
	free(kept);
	free(env);
	return rc;
}

int
proc_run(char *const argv[], const void *stdin_data, size_t stdin_len,
	 long timeout, char *out, size_t outlen)
{
	struct proc_outcome res;
	const char *sep;
	int rc;

	rc = proc_run_outcome(argv, stdin_data, stdin_len, timeout, &res);
	if (out == NULL || outlen == 0)
		return rc;
	sep = res.said[0] != '\0' ? ": " : "";
	switch (res.end) {
	case PROC_NOT_STARTED:
		snprintf(out, outlen, "cannot run %s: %s",
			 argv != NULL && argv[0] != NULL && argv[0][0] != '\0'
			 ? argv[0] : "(no program)", strerror(res.code));
		break;
	case PROC_TIMED_OUT:
		snprintf(out, outlen, "killed after %d s%s%s", res.code, sep,
			 res.said);
		break;
	case PROC_SIGNALLED:
		snprintf(out, outlen, "killed by signal %d%s%s", res.code, sep,
			 res.said);
		break;
	case PROC_EXITED:
		if (res.code == 0)
			snprintf(out, outlen, "%s", res.said);
		else
			snprintf(out, outlen, "exit %d%s%s", res.code, sep,
				 res.said);
		break;
	}
	return rc;
}

int
proc_split(const char *cmd, char ***argv)
{
	char **v = NULL, *copy = NULL, *save = NULL, *word;
	size_t count = 0, i;
	int rc = -1;

	*argv = NULL;
	if (cmd == NULL)
		goto done;
	copy = strdup(cmd);
	if (copy == NULL)
		goto done;
	/* At most one word for every two characters, plus the NULL. */
	v = calloc(strlen(cmd) / 2 + 2, sizeof(*v));
	if (v == NULL)
		goto done;
	for (word = strtok_r(copy, " \t", &save); word != NULL;
	     word = strtok_r(NULL, " \t", &save)) {
		v[count] = strdup(word);
		if (v[count] == NULL)
			goto done;
		count++;
	}
	if (count == 0)
		goto done;
	*argv = v;
	v = NULL;
	rc = 0;
done:
	if (v != NULL) {
		for (i = 0; i < count; i++)
			free(v[i]);
		free(v);
	}
	free(copy);
	return rc;
}

void
proc_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
