/* certvault ACME client: dns-01 through the issuer's hook.
 *
 * The hook runs as HOOK set|clear _acme-challenge.DOMAIN VALUE, with VALUE
 * the TXT record's text, base64url(SHA-256(key authorization)) (RFC 8555
 * section 8.4).  No shell reads any of it.  It runs in a process group of
 * its own with the default signal dispositions, its standard output and
 * error go to a pipe the tool reads (the end of it is reported when it
 * fails), and the whole group is killed when it outlives the timeout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "challenge_way.h"

extern char **environ;

#define HOOK_TIMEOUT_DEFAULT 30 /* seconds */
#define HOOK_OUTPUT_MAX 2048    /* bytes of its words kept for the report */

static int
hook_timeout(void)
{
	const char *s = getenv("CERTVAULT_HOOK_TIMEOUT");
	char *end;
	long t;

	if (s == NULL || s[0] == '\0')
		return HOOK_TIMEOUT_DEFAULT;
	t = strtol(s, &end, 10);
	if (*end != '\0' || t < 1 || t > 3600)
		return HOOK_TIMEOUT_DEFAULT;
	return (int)t;
}

/* base64url without padding of SHA-256(text): 43 characters. */
static int
txt_value(const char *text, char out[64])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char b64[64];
	int len, i, k = 0;

	if (SHA256((const unsigned char *)text, strlen(text), md) == NULL)
		return -1;
	len = EVP_EncodeBlock(b64, md, sizeof(md));
	for (i = 0; i < len && b64[i] != '='; i++)
		out[k++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[k] = '\0';
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the hook said, as one line: newlines become "; ", the tail kept. */
static void
one_line(const char *in, size_t len, char *out, size_t n)
{
	size_t i, k = 0;

	while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r' ||
			   in[len - 1] == ' '))
		len--;
	if (len > 400) {
		in += len - 400;
		len = 400;
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

int
acme_dns_hook_run(const char *hook, const char *action, const char *domain,
		  const char *key_authorization, char *err, size_t n)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, deflt;
	char name[300], value[64], said[HOOK_OUTPUT_MAX], line[512];
	char *argv[5];
	size_t said_len = 0;
	int pipefd[2] = { -1, -1 }, status = 0, rc = -1, timeout, e;
	int fa_made = 0, attr_made = 0, reaped = 0, pipe_open = 1;
	pid_t pid = -1;
	int64_t deadline;

	if (txt_value(key_authorization, value) != 0) {
		snprintf(err, n, "cannot hash the key authorization");
		goto done;
	}
	/* Said plainly before a spawn whose failure some systems only
	 * report as the child's exit status 127. */
	if (strchr(hook, '/') != NULL && access(hook, X_OK) != 0) {
		snprintf(err, n, "cannot run the dns hook %s: %s", hook,
			 strerror(errno));
		goto done;
	}
	snprintf(name, sizeof(name), "_acme-challenge.%s", domain);
	argv[0] = (char *)hook;
	argv[1] = (char *)action;
	argv[2] = name;
	argv[3] = value;
	argv[4] = NULL;
	if (pipe(pipefd) != 0 || fcntl(pipefd[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(pipefd[1], F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, n, "cannot run the dns hook %s: %s", hook,
			 strerror(errno));
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    (fa_made = 1, posix_spawnattr_init(&attr)) != 0) {
		snprintf(err, n, "cannot run the dns hook %s: out of memory", hook);
		goto done;
	}
	attr_made = 1;
	/* Standard input empty, output and error into the pipe. */
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGHUP);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGCHLD);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				     POSIX_SPAWN_SETSIGMASK |
				     POSIX_SPAWN_SETSIGDEF) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &deflt) != 0) {
		snprintf(err, n, "cannot run the dns hook %s", hook);
		goto done;
	}
	e = posix_spawnp(&pid, hook, &fa, &attr, argv, environ);
	if (e != 0) {
		pid = -1;
		snprintf(err, n, "cannot run the dns hook %s: %s", hook, strerror(e));
		goto done;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	timeout = hook_timeout();
	deadline = now_ms() + (int64_t)timeout * 1000;
	/* Read what it says until it has exited and the pipe is drained, or
	 * until the deadline. */
	while (!reaped || pipe_open) {
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		char buf[512];
		ssize_t r;

		if (left <= 0)
			break;
		if (pipe_open && poll(&p, 1, reaped ? 0 :
				      left > 100 ? 100 : (int)left) <= 0) {
			/* Once it has exited, what is there is all there is:
			 * something it left running may hold the pipe. */
			if (reaped)
				pipe_open = 0;
		} else if (pipe_open) {
			r = read(pipefd[0], buf, sizeof(buf));
			if (r > 0) {
				size_t take = (size_t)r;

				/* Keep the end: the last words say why. */
				if (said_len + take > sizeof(said)) {
					size_t drop = said_len + take - sizeof(said);

					if (drop > said_len)
						drop = said_len;
					memmove(said, said + drop, said_len - drop);
					said_len -= drop;
					if (take > sizeof(said))
						take = sizeof(said);
				}
				memcpy(said + said_len, buf + (size_t)r - take, take);
				said_len += take;
			} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
				pipe_open = 0;
			}
		} else if (!pipe_open) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid)
			reaped = 1;
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		one_line(said, said_len, line, sizeof(line));
		snprintf(err, n, "dns hook %s %s %s: killed after %d s%s%s", hook,
			 action, name, timeout, line[0] != '\0' ? ": " : "", line);
		goto done;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = 0;
		goto done;
	}
	one_line(said, said_len, line, sizeof(line));
	if (WIFEXITED(status))
		snprintf(err, n, "dns hook %s %s %s: exit status %d%s%s", hook,
			 action, name, WEXITSTATUS(status),
			 line[0] != '\0' ? ": " : "", line);
	else
		snprintf(err, n, "dns hook %s %s %s: killed by signal %d%s%s", hook,
			 action, name, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			 line[0] != '\0' ? ": " : "", line);
done:
	if (attr_made)
		posix_spawnattr_destroy(&attr);
	if (fa_made)
		posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}
