/* Running hooks (tools/proc/spawn.h) with real programs: scripts that
 * succeed, fail with words, hang with a child, die by a signal, read their
 * standard input, refuse to read it, flood their output, and programs that
 * are not there.  SIGPIPE keeps its default here on purpose: a write to a
 * hook that closed its input would end this test if it reached it.
 * Everything is made in a temporary folder. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "proc/spawn.h"

static char tmp[256];

static int
make_tmp(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/cv-spawn-XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmp) != NULL ? 0 : -1;
}

static int
remove_tmp(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* The whole file, malloc'd; *len its size.  NULL when it cannot be read. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, r;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A script in the test folder, made executable; its path in path. */
static void
script(char *path, size_t n, const char *name, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	snprintf(path, n, "%s/%s", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
}

/* pid runs (a zombie left for a reaper that does not come has ended). */
static int
alive(pid_t pid)
{
	char path[64], *p;
	unsigned char *s;
	size_t len;
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		s = slurp(path, &len);
		if (s == NULL)
			return 0;
		p = strrchr((char *)s, ')');
		if (p != NULL && (p[2] == 'Z' || p[2] == 'X')) {
			free(s);
			return 0;
		}
		free(s);
		usleep(100000);
	}
	return 1;
}

static void
exit_zero_is_success_with_its_words(void **state)
{
	char hook[300], out[512] = "x";
	char *argv[] = { hook, "one", "two words", NULL };

	(void)state;
	script(hook, sizeof(hook), "ok", "echo \"$# [$2]\"\n");
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), 0);
	/* No shell split "two words": two arguments. */
	assert_string_equal(out, "2 [two words]");
}

static void
exit_three_is_one_line_with_its_output(void **state)
{
	char hook[300], out[512] = "";
	char *argv[] = { hook, NULL };
	struct proc_outcome res;

	(void)state;
	script(hook, sizeof(hook), "refuse",
	       "echo 'first line'\necho 'zone locked' >&2\nexit 3\n");
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), -1);
	assert_string_equal(out, "exit 3: first line; zone locked");
	assert_int_equal(proc_run_outcome(argv, NULL, 0, 10, &res), -1);
	assert_int_equal(res.end, PROC_EXITED);
	assert_int_equal(res.code, 3);
	assert_string_equal(res.said, "first line; zone locked");
}

static void
hang_is_killed_after_the_timeout_with_its_child(void **state)
{
	char hook[300], pidfile[300], out[512] = "";
	char *argv[] = { hook, NULL };
	unsigned char *s;
	size_t len;
	long child;

	(void)state;
	snprintf(pidfile, sizeof(pidfile), "%s/hang.pid", tmp);
	script(hook, sizeof(hook), "hang",
	       "echo starting >&2\nsleep 300 &\necho $! > '%s'\nwait\n", pidfile);
	/* 3 s: time enough for a loaded machine to start the script. */
	assert_int_equal(proc_run(argv, NULL, 0, 3, out, sizeof(out)), -1);
	assert_string_equal(out, "killed after 3 s: starting");
	s = slurp(pidfile, &len);
	assert_non_null(s);
	child = strtol((char *)s, NULL, 10);
	free(s);
	assert_true(child > 1);
	/* The sleep it started went with it (its process group). */
	assert_false(alive((pid_t)child));
}

static void
death_by_signal_is_said(void **state)
{
	char hook[300], out[512] = "";
	char *argv[] = { hook, NULL };

	(void)state;
	script(hook, sizeof(hook), "dies", "echo bye\nkill -9 $$\n");
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), -1);
	assert_string_equal(out, "killed by signal 9: bye");
}

/* The event a hook gets: it must arrive byte for byte, even when it is far
 * larger than a pipe holds (the parent writes as the hook reads). */
static void
stdin_arrives_intact(void **state)
{
	char hook[300], file[300], out[512] = "";
	char *argv[] = { hook, NULL };
	const char json[] = "{\"eventType\":\"Microsoft.KeyVault.CertificateNearExpiry\","
			    "\"subject\":\"web\",\n\"data\":{\"x\":\"\xc3\xa9t\xc3\xa9\"}}\n";
	unsigned char *big, *got;
	size_t big_len = 1 << 20, len, i;

	(void)state;
	snprintf(file, sizeof(file), "%s/event.json", tmp);
	script(hook, sizeof(hook), "save", "cat > '%s'\necho saved\n", file);
	assert_int_equal(proc_run(argv, json, strlen(json), 10, out, sizeof(out)), 0);
	assert_string_equal(out, "saved");
	got = slurp(file, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen(json));
	assert_memory_equal(got, json, len);
	free(got);
	/* A megabyte of every byte value, NULs included. */
	big = malloc(big_len);
	assert_non_null(big);
	for (i = 0; i < big_len; i++)
		big[i] = (unsigned char)(i * 7 + i / 256);
	assert_int_equal(proc_run(argv, big, big_len, 30, out, sizeof(out)), 0);
	got = slurp(file, &len);
	assert_non_null(got);
	assert_int_equal(len, big_len);
	assert_memory_equal(got, big, big_len);
	free(got);
	/* Empty input given: the hook reads end of file at once. */
	assert_int_equal(proc_run(argv, "", 0, 10, out, sizeof(out)), 0);
	got = slurp(file, &len);
	assert_non_null(got);
	assert_int_equal(len, 0);
	free(got);
	/* No input given: /dev/null. */
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), 0);
	got = slurp(file, &len);
	assert_non_null(got);
	assert_int_equal(len, 0);
	free(got);
	free(big);
}

/* A hook that never reads its input: one that ends anyway is a success (the
 * rest of the input is dropped, and the SIGPIPE of writing it never reaches
 * this process), one that hangs is killed at the timeout, not waited for
 * behind a full pipe. */
static void
hook_that_never_reads_stdin_does_not_hang_the_caller(void **state)
{
	char hook[300], out[512] = "";
	char *argv[] = { hook, NULL };
	unsigned char *big;
	size_t big_len = 4 << 20;

	(void)state;
	big = calloc(1, big_len);
	assert_non_null(big);
	script(hook, sizeof(hook), "deaf", "echo not listening\n");
	assert_int_equal(proc_run(argv, big, big_len, 30, out, sizeof(out)), 0);
	assert_string_equal(out, "not listening");
	/* Closes its input first, then lives on: the write fails with EPIPE
	 * while it still runs. */
	script(hook, sizeof(hook), "closes", "exec 0<&-\nsleep 1\necho done\n");
	assert_int_equal(proc_run(argv, big, big_len, 30, out, sizeof(out)), 0);
	assert_string_equal(out, "done");
	script(hook, sizeof(hook), "deaf-hang", "echo waiting\nexec sleep 300\n");
	assert_int_equal(proc_run(argv, big, big_len, 2, out, sizeof(out)), -1);
	assert_string_equal(out, "killed after 2 s: waiting");
	free(big);
}

/* A hook that says a lot never blocks on its output; the end is kept. */
static void
flood_of_output_is_bounded_and_keeps_the_end(void **state)
{
	char hook[300], out[512] = "";
	char *argv[] = { hook, NULL };
	size_t len;

	(void)state;
	script(hook, sizeof(hook), "flood",
	       "head -c 3000000 /dev/zero | tr '\\000' x\necho\necho the end\nexit 5\n");
	assert_int_equal(proc_run(argv, NULL, 0, 30, out, sizeof(out)), -1);
	len = strlen(out);
	assert_true(len < sizeof(out));
	assert_non_null(strstr(out, "exit 5: "));
	assert_string_equal(out + len - strlen("x; the end"), "x; the end");
	assert_null(strchr(out, '\n'));
}

static void
missing_program_is_one_line(void **state)
{
	char hook[300], out[512] = "";
	char *argv[] = { hook, NULL };
	char *bare[] = { "certvault-no-such-hook", NULL };
	struct proc_outcome res;

	(void)state;
	snprintf(hook, sizeof(hook), "%s/no-such-hook", tmp);
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), -1);
	assert_non_null(strstr(out, "cannot run "));
	assert_non_null(strstr(out, "no-such-hook: No such file or directory"));
	/* Looked up in PATH when it has no slash. */
	assert_int_equal(proc_run(bare, NULL, 0, 10, out, sizeof(out)), -1);
	assert_string_equal(out, "cannot run certvault-no-such-hook: "
			    "No such file or directory");
	assert_int_equal(proc_run_outcome(bare, NULL, 0, 10, &res), -1);
	assert_int_equal(res.end, PROC_NOT_STARTED);
	assert_int_equal(res.code, ENOENT);
	/* There, but not executable. */
	script(hook, sizeof(hook), "not-executable", "exit 0\n");
	assert_int_equal(chmod(hook, 0644), 0);
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), -1);
	assert_non_null(strstr(out, "not-executable: Permission denied"));
}

/* A hook runs with the caller's environment, except the vault's PINs: a
 * service that reads CERTVAULT_PIN does not hand it to every hook. */
static void
hook_never_sees_the_pins(void **state)
{
	char hook[300], file[300], out[512] = "";
	char *argv[] = { hook, NULL };
	unsigned char *env;
	size_t len;

	(void)state;
	snprintf(file, sizeof(file), "%s/env", tmp);
	script(hook, sizeof(hook), "env", "env > '%s'\n", file);
	setenv("CERTVAULT_PIN", "user-pin-4242", 1);
	setenv("CERTVAULT_SO_PIN", "so-pin-4343", 1);
	setenv("CERTVAULT_NEW_PIN", "new-pin-4444", 1);
	setenv("CV_TEST_MARK", "kept", 1);
	setenv("CERTVAULT_CONF", "/etc/certvault/test.conf", 1);
	assert_int_equal(proc_run(argv, NULL, 0, 10, out, sizeof(out)), 0);
	env = slurp(file, &len);
	assert_non_null(env);
	assert_null(strstr((char *)env, "pin-4"));
	assert_null(strstr((char *)env, "_PIN="));
	assert_non_null(strstr((char *)env, "CV_TEST_MARK=kept\n"));
	assert_non_null(strstr((char *)env, "CERTVAULT_CONF=/etc/certvault/test.conf\n"));
	free(env);
	/* The caller's own environment is left as it was. */
	assert_string_equal(getenv("CERTVAULT_PIN"), "user-pin-4242");
	unsetenv("CERTVAULT_PIN");
	unsetenv("CERTVAULT_SO_PIN");
	unsetenv("CERTVAULT_NEW_PIN");
	unsetenv("CV_TEST_MARK");
	unsetenv("CERTVAULT_CONF");
}

static void
split_is_words_without_a_shell(void **state)
{
	char **argv = (char **)1;

	(void)state;
	assert_int_equal(proc_split(" systemctl\treload  nginx.service ", &argv), 0);
	assert_string_equal(argv[0], "systemctl");
	assert_string_equal(argv[1], "reload");
	assert_string_equal(argv[2], "nginx.service");
	assert_null(argv[3]);
	proc_argv_free(argv);
	/* Quotes and shell words are plain characters. */
	assert_int_equal(proc_split("echo 'a b' $HOME;x", &argv), 0);
	assert_string_equal(argv[1], "'a");
	assert_string_equal(argv[2], "b'");
	assert_string_equal(argv[3], "$HOME;x");
	assert_null(argv[4]);
	proc_argv_free(argv);
	argv = (char **)1;
	assert_int_equal(proc_split(" \t ", &argv), -1);
	assert_null(argv);
	argv = (char **)1;
	assert_int_equal(proc_split("", &argv), -1);
	assert_null(argv);
	proc_argv_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exit_zero_is_success_with_its_words),
		cmocka_unit_test(exit_three_is_one_line_with_its_output),
		cmocka_unit_test(hang_is_killed_after_the_timeout_with_its_child),
		cmocka_unit_test(death_by_signal_is_said),
		cmocka_unit_test(stdin_arrives_intact),
		cmocka_unit_test(hook_that_never_reads_stdin_does_not_hang_the_caller),
		cmocka_unit_test(flood_of_output_is_bounded_and_keeps_the_end),
		cmocka_unit_test(missing_program_is_one_line),
		cmocka_unit_test(hook_never_sees_the_pins),
		cmocka_unit_test(split_is_words_without_a_shell),
	};

	signal(SIGPIPE, SIG_DFL);
	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
