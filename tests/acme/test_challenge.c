/* ACME challenge side (tools/acme/challenge.h), each way against what a CA
 * or a hostile folder would do to it: the built-in responder read with
 * libcurl over loopback, the webroot file beside symbolic links and
 * foreign files, the dns hook as real scripts that fail, hang and check
 * their own arguments.  Everything is made in a temporary folder. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "acme/challenge.h"

static char tmp[256];
static const char TOKEN[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
static const char TOKEN2[] = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
static const char THUMB[] = ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

static int
make_tmp(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/cv-challenge-XXXXXX",
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

static char *
slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static char *
keyauth(const char *token)
{
	static char buf[2][200];
	static int i;

	i ^= 1;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", token, THUMB);
	return buf[i];
}

/* --- The built-in responder ---------------------------------------------- */

/* A loopback port nothing listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

struct body {
	char data[4096];
	size_t len;
};

static size_t
collect(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;

	if (b->len + n >= sizeof(b->data))
		return 0;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* HTTP status of METHOD http://HOST:PORT/PATH (the body into b), or -1
 * when nothing answers. */
static long
http(const char *method, const char *host, int port, const char *path,
     struct body *b)
{
	char url[512];
	CURL *c = curl_easy_init();
	long status = -1;

	assert_non_null(c);
	memset(b, 0, sizeof(*b));
	snprintf(url, sizeof(url), "http://%s:%d%s", host, port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static acme_challenger *
open_way(const char *listen, const char *webroot, const char *hook)
{
	cv_issuer is;
	acme_challenger *c = NULL;
	char err[512] = "";

	memset(&is, 0, sizeof(is));
	snprintf(is.name, sizeof(is.name), "Test");
	is.http_listen = (char *)listen;
	is.webroot = (char *)webroot;
	is.dns_hook = (char *)hook;
	if (acme_challenger_open(&is, &c, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	return c;
}

static void
responder_answers_only_its_tokens(void **state)
{
	char laddr[64], path[256], err[512] = "";
	struct body b;
	int port = free_port();
	acme_challenger *c;

	(void)state;
	snprintf(laddr, sizeof(laddr), "127.0.0.1:%d", port);
	c = open_way(laddr, NULL, NULL);
	assert_string_equal(acme_challenger_type(c), "http-01");
	assert_int_equal(acme_challenger_needs_presence(c), 1);
	/* Nothing listens before the first challenge. */
	assert_int_equal(http("GET", "127.0.0.1", port, "/", &b), -1);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), 0);
	assert_int_equal(acme_challenger_set(c, "b.example", TOKEN2,
					     keyauth(TOKEN2), err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", TOKEN);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 200);
	assert_string_equal(b.data, keyauth(TOKEN));
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", TOKEN2);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 200);
	assert_string_equal(b.data, keyauth(TOKEN2));
	/* Anything else is not found: another token, a prefix of one, a
	 * path around it, another method. */
	assert_int_equal(http("GET", "127.0.0.1", port,
			      "/.well-known/acme-challenge/unknown", &b), 404);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%.10s", TOKEN);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 404);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s/x", TOKEN);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 404);
	snprintf(path, sizeof(path), "/x/.well-known/acme-challenge/%s", TOKEN);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 404);
	assert_int_equal(http("GET", "127.0.0.1", port, "/", &b), 404);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", TOKEN);
	assert_int_equal(http("POST", "127.0.0.1", port, path, &b), 404);
	/* Bound to the address given, not to every address: 127.0.0.2 is
	 * loopback too, and finds nothing. */
	assert_int_equal(http("GET", "127.0.0.2", port, path, &b), -1);
	/* A cleared token is gone, the other stays. */
	assert_int_equal(acme_challenger_clear(c, "a.example", TOKEN,
					       keyauth(TOKEN)), 0);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 404);
	snprintf(path, sizeof(path), "/.well-known/acme-challenge/%s", TOKEN2);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 200);
	/* Set again: answered again (a resumed pass sets what it set). */
	assert_int_equal(acme_challenger_set(c, "b.example", TOKEN2,
					     keyauth(TOKEN2), err, sizeof(err)), 0);
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), 200);
	acme_challenger_close(c);
	/* Closed: nothing listens. */
	assert_int_equal(http("GET", "127.0.0.1", port, path, &b), -1);
}

static void
responder_port_taken_is_one_clear_line(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	char laddr[64], err[512] = "";
	int fd, port = free_port();
	acme_challenger *c;

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	snprintf(laddr, sizeof(laddr), "127.0.0.1:%d", port);
	c = open_way(laddr, NULL, NULL);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot listen on 127.0.0.1:"));
	assert_non_null(strstr(err, "in use"));
	assert_null(strchr(err, '\n'));
	acme_challenger_close(c);
	close(fd);
}

static void
open_refuses_what_is_not_one_way(void **state)
{
	cv_issuer is;
	acme_challenger *c = (acme_challenger *)&is;
	char err[512] = "";

	(void)state;
	memset(&is, 0, sizeof(is));
	snprintf(is.name, sizeof(is.name), "Test");
	assert_int_equal(acme_challenger_open(&is, &c, err, sizeof(err)), -1);
	assert_null(c);
	assert_non_null(strstr(err, "exactly one challenge way"));
	is.http_listen = (char *)"127.0.0.1:80";
	is.webroot = (char *)"/srv";
	assert_int_equal(acme_challenger_open(&is, &c, err, sizeof(err)), -1);
	is.webroot = NULL;
	is.http_listen = (char *)"localhost:80";
	assert_int_equal(acme_challenger_open(&is, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "localhost:80"));
	is.http_listen = (char *)"127.0.0.1";
	assert_int_equal(acme_challenger_open(&is, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not ADDR:PORT"));
	is.http_listen = (char *)"[::1]:8080";
	assert_int_equal(acme_challenger_open(&is, &c, err, sizeof(err)), 0);
	acme_challenger_close(c);
}

/* --- webroot --------------------------------------------------------------- */

static void
webroot_writes_and_removes_the_answer(void **state)
{
	char root[300], path[600], err[512] = "";
	struct stat st;
	acme_challenger *c;
	mode_t old;

	(void)state;
	snprintf(root, sizeof(root), "%s/www", tmp);
	assert_int_equal(mkdir(root, 0755), 0);
	c = open_way(NULL, root, NULL);
	assert_string_equal(acme_challenger_type(c), "http-01");
	assert_int_equal(acme_challenger_needs_presence(c), 0);
	/* A tight umask does not keep the web server out. */
	old = umask(077);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/.well-known", root);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", root);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", root, TOKEN);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_string_equal(slurp(path), keyauth(TOKEN));
	/* A regular file at the name (a pass before) is replaced. */
	write_file(path, "stale", 0600);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), 0);
	assert_string_equal(slurp(path), keyauth(TOKEN));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* Cleared: gone, and no temporary file is left beside it. */
	assert_int_equal(acme_challenger_clear(c, "a.example", TOKEN,
					       keyauth(TOKEN)), 0);
	assert_int_equal(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "rmdir '%s/.well-known/acme-challenge'", root);
	assert_int_equal(system(path), 0);
	acme_challenger_close(c);
}

static void
webroot_never_writes_through_a_link(void **state)
{
	char root[300], path[600], victim[300], err[512] = "";
	struct stat st;
	acme_challenger *c;

	(void)state;
	snprintf(root, sizeof(root), "%s/www2", tmp);
	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	write_file(victim, "precious", 0600);
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge", root);
	assert_int_equal(mkdir(root, 0755), 0);
	c = open_way(NULL, root, NULL);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN2,
					     keyauth(TOKEN2), err, sizeof(err)), 0);
	/* A symbolic link at the token's name: refused, its target kept. */
	snprintf(path, sizeof(path), "%s/.well-known/acme-challenge/%s", root, TOKEN);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_string_equal(slurp(victim), "precious");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* Clear leaves a link alone. */
	assert_int_equal(acme_challenger_clear(c, "a.example", TOKEN,
					       keyauth(TOKEN)), -1);
	assert_int_equal(lstat(path, &st), 0);
	unlink(path);
	/* A folder at the name: refused. */
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), -1);
	rmdir(path);
	acme_challenger_close(c);

	/* .well-known itself a link to elsewhere: refused, nothing written
	 * there. */
	snprintf(root, sizeof(root), "%s/www3", tmp);
	assert_int_equal(mkdir(root, 0755), 0);
	snprintf(victim, sizeof(victim), "%s/elsewhere", tmp);
	assert_int_equal(mkdir(victim, 0755), 0);
	snprintf(path, sizeof(path), "%s/.well-known", root);
	assert_int_equal(symlink(victim, path), 0);
	c = open_way(NULL, root, NULL);
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, ".well-known"));
	snprintf(path, sizeof(path), "%s/acme-challenge", victim);
	assert_int_equal(lstat(path, &st), -1);
	acme_challenger_close(c);
}

static void
tokens_and_names_the_ca_sends_are_checked(void **state)
{
	char root[300], path[600], err[512] = "";
	struct stat st;
	acme_challenger *c;

	(void)state;
	snprintf(root, sizeof(root), "%s/www4", tmp);
	assert_int_equal(mkdir(root, 0755), 0);
	c = open_way(NULL, root, NULL);
	/* A token that climbs out of the folder, or is too short. */
	assert_int_equal(acme_challenger_set(c, "a.example",
					     "../../../../escaped-token-xxxxxxxx",
					     "../../../../escaped-token-xxxxxxxx.x",
					     err, sizeof(err)), -1);
	assert_non_null(strstr(err, "base64url"));
	snprintf(path, sizeof(path), "%s/escaped-token-xxxxxxxx", tmp);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(acme_challenger_set(c, "a.example", "short", "short.x",
					     err, sizeof(err)), -1);
	/* A key authorization for another token. */
	assert_int_equal(acme_challenger_set(c, "a.example", TOKEN, keyauth(TOKEN2),
					     err, sizeof(err)), -1);
	/* A name that is not a DNS name. */
	assert_int_equal(acme_challenger_set(c, "a.example/../x", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_int_equal(acme_challenger_set(c, "-rf", TOKEN, keyauth(TOKEN),
					     err, sizeof(err)), -1);
	acme_challenger_close(c);
}

/* --- dns hook -------------------------------------------------------------- */

static void
dns_hook_gets_the_record_and_its_value(void **state)
{
	char hook[300], log[300], script[2048], err[512] = "";
	acme_challenger *c;

	(void)state;
	/* The hook checks VALUE itself, with openssl: base64url of the
	 * SHA-256 of the key authorization it is told out of band. */
	snprintf(hook, sizeof(hook), "%s/my hook", tmp); /* no shell splits it */
	snprintf(log, sizeof(log), "%s/hook.log", tmp);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "want=$(printf %%s \"$CV_TEST_KEYAUTH\" | openssl dgst -sha256 -binary |"
		 " openssl base64 -A | tr '+/' '-_' | tr -d '=')\n"
		 "[ \"$3\" = \"$want\" ] || { echo \"value $3 is not $want\" >&2; exit 4; }\n"
		 "printf '%%s|%%s|%%s|%%s\\n' \"$#\" \"$1\" \"$2\" \"$3\" >> '%s'\n",
		 log);
	write_file(hook, script, 0755);
	setenv("CV_TEST_KEYAUTH", keyauth(TOKEN), 1);
	c = open_way(NULL, NULL, hook);
	assert_string_equal(acme_challenger_type(c), "dns-01");
	assert_int_equal(acme_challenger_needs_presence(c), 0);
	if (acme_challenger_set(c, "www.example", TOKEN, keyauth(TOKEN), err,
				sizeof(err)) != 0)
		fail_msg("set: %s", err);
	assert_int_equal(acme_challenger_clear(c, "www.example", TOKEN,
					       keyauth(TOKEN)), 0);
	assert_non_null(strstr(slurp(log), "3|set|_acme-challenge.www.example|"));
	assert_non_null(strstr(slurp(log), "3|clear|_acme-challenge.www.example|"));
	/* The hook's refusal is one line: its status and its words. */
	setenv("CV_TEST_KEYAUTH", "something else", 1);
	assert_int_equal(acme_challenger_set(c, "www.example", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exit status 4"));
	assert_non_null(strstr(err, "is not"));
	assert_non_null(strstr(err, "_acme-challenge.www.example"));
	assert_null(strchr(err, '\n'));
	acme_challenger_close(c);
	unsetenv("CV_TEST_KEYAUTH");
}

/* pid runs (a zombie left for a reaper that does not come has ended). */
static int
alive(pid_t pid)
{
	char path[64], *s, *p;
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		s = slurp(path);
		if (s == NULL)
			return 0;
		p = strrchr(s, ')');
		if (p != NULL && (p[2] == 'Z' || p[2] == 'X'))
			return 0;
		usleep(100000);
	}
	return 1;
}

static void
dns_hook_that_hangs_is_killed_with_its_children(void **state)
{
	char hook[300], pidfile[300], script[1024], err[512] = "";
	acme_challenger *c;
	char *s;
	long child;

	(void)state;
	snprintf(hook, sizeof(hook), "%s/hang", tmp);
	snprintf(pidfile, sizeof(pidfile), "%s/hang.pid", tmp);
	snprintf(script, sizeof(script),
		 "#!/bin/sh\necho starting >&2\nsleep 300 &\necho $! > '%s'\nwait\n",
		 pidfile);
	write_file(hook, script, 0755);
	setenv("CERTVAULT_HOOK_TIMEOUT", "1", 1);
	c = open_way(NULL, NULL, hook);
	assert_int_equal(acme_challenger_set(c, "www.example", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "killed after 1 s"));
	assert_non_null(strstr(err, "starting"));
	s = slurp(pidfile);
	assert_non_null(s);
	child = strtol(s, NULL, 10);
	assert_true(child > 1);
	/* The sleep it started went with it (its process group). */
	assert_false(alive((pid_t)child));
	acme_challenger_close(c);
	unsetenv("CERTVAULT_HOOK_TIMEOUT");
}

static void
dns_hook_missing_or_dying(void **state)
{
	char hook[300], err[512] = "";
	acme_challenger *c;

	(void)state;
	snprintf(hook, sizeof(hook), "%s/no-such-hook", tmp);
	c = open_way(NULL, NULL, hook);
	assert_int_equal(acme_challenger_set(c, "www.example", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot run the dns hook"));
	assert_non_null(strstr(err, "No such file"));
	acme_challenger_close(c);
	/* There, but not executable. */
	snprintf(hook, sizeof(hook), "%s/not-executable", tmp);
	write_file(hook, "#!/bin/sh\nexit 0\n", 0644);
	c = open_way(NULL, NULL, hook);
	assert_int_equal(acme_challenger_set(c, "www.example", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot run the dns hook"));
	assert_non_null(strstr(err, "not-executable"));
	acme_challenger_close(c);
	snprintf(hook, sizeof(hook), "%s/dies", tmp);
	write_file(hook, "#!/bin/sh\nkill -9 $$\n", 0755);
	c = open_way(NULL, NULL, hook);
	assert_int_equal(acme_challenger_set(c, "www.example", TOKEN,
					     keyauth(TOKEN), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "killed by signal 9"));
	acme_challenger_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(responder_answers_only_its_tokens),
		cmocka_unit_test(responder_port_taken_is_one_clear_line),
		cmocka_unit_test(open_refuses_what_is_not_one_way),
		cmocka_unit_test(webroot_writes_and_removes_the_answer),
		cmocka_unit_test(webroot_never_writes_through_a_link),
		cmocka_unit_test(tokens_and_names_the_ca_sends_are_checked),
		cmocka_unit_test(dns_hook_gets_the_record_and_its_value),
		cmocka_unit_test(dns_hook_that_hangs_is_killed_with_its_children),
		cmocka_unit_test(dns_hook_missing_or_dying),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, make_tmp, remove_tmp);
	curl_global_cleanup();
	return rc;
}
