/* Unit tests: where vault create registers a vault (cv_config_default_path)
 * and how the line is added (cv_config_add_vault).  Every file is made in a
 * temporary folder; --system's /etc/certvault/certvault.conf is only named,
 * never opened. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char tmp[256];

static int
make_tmp(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/cv-config-XXXXXX",
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
	static char buf[4096];
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
default_path_choice(void **state)
{
	char *p = NULL;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/h/user", 1);
	assert_int_equal(cv_config_default_path(1, &p), CV_OK);
	assert_string_equal(p, "/etc/certvault/certvault.conf");
	free(p);
	assert_int_equal(cv_config_default_path(0, &p), CV_OK);
	assert_string_equal(p, "/x/cfg/certvault/certvault.conf");
	free(p);
	/* A relative XDG_CONFIG_HOME is not one (the XDG rule): HOME. */
	setenv("XDG_CONFIG_HOME", "cfg", 1);
	assert_int_equal(cv_config_default_path(0, &p), CV_OK);
	assert_string_equal(p, "/h/user/.config/certvault/certvault.conf");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	p = (char *)"not cleared";
	assert_int_equal(cv_config_default_path(0, &p), CV_ERR_INVALID);
	assert_null(p);
}

static void
add_once_and_modes(void **state)
{
	char conf[512], dir[512], other[512];
	struct stat st;
	int added = -1;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/a/b/certvault.conf", tmp);
	snprintf(dir, sizeof(dir), "%s/v1", tmp);
	snprintf(other, sizeof(other), "%s/./v1/", tmp);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* check_only makes nothing. */
	assert_int_equal(cv_config_add_vault(conf, dir, 1, &added), CV_OK);
	assert_int_equal(added, 0);
	assert_int_not_equal(stat(conf, &st), 0);
	assert_int_equal(cv_config_add_vault(conf, dir, 0, &added), CV_OK);
	assert_int_equal(added, 1);
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(other, sizeof(other), "%s/a", tmp);
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	/* The same folder, spelt three ways: one line. */
	assert_int_equal(cv_config_add_vault(conf, dir, 0, &added), CV_OK);
	assert_int_equal(added, 0);
	snprintf(other, sizeof(other), "%s/./v1", tmp);
	assert_int_equal(cv_config_add_vault(conf, other, 0, &added), CV_OK);
	assert_int_equal(added, 0);
	snprintf(other, sizeof(other), "%s/v1/", tmp);
	assert_int_equal(cv_config_add_vault(conf, other, 0, &added), CV_OK);
	assert_int_equal(added, 0);
	snprintf(other, sizeof(other), "vault = %s/v1\n", tmp);
	assert_string_equal(slurp(conf), other);
}

static void
add_refusals(void **state)
{
	char conf[512], dir[512], link[512];
	int added = -1, fd;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/r.conf", tmp);
	snprintf(dir, sizeof(dir), "%s/v#2", tmp);
	assert_int_equal(cv_config_add_vault(conf, "relative/v", 0, &added), CV_ERR_INVALID);
	assert_int_equal(cv_config_add_vault(conf, dir, 0, &added), CV_ERR_INVALID);
	assert_int_equal(cv_config_add_vault(conf, "/v\nvault = /evil", 0, &added),
			 CV_ERR_INVALID);
	assert_int_equal(added, 0);
	assert_int_not_equal(access(conf, F_OK), 0);
	/* A file others may write, a malformed one, a symbolic link. */
	fd = open(conf, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "vault = /a\n", 11), 11);
	close(fd);
	assert_int_equal(chmod(conf, 0666), 0);
	assert_int_equal(cv_config_add_vault(conf, "/b", 1, &added), CV_ERR_PERMISSIONS);
	assert_int_equal(cv_config_add_vault(conf, "/b", 0, &added), CV_ERR_PERMISSIONS);
	assert_int_equal(chmod(conf, 0600), 0);
	fd = open(conf, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "nonsense\n", 9), 9);
	close(fd);
	assert_int_equal(cv_config_add_vault(conf, "/b", 0, &added), CV_ERR_INVALID);
	assert_string_equal(slurp(conf), "vault = /a\nnonsense\n");
	snprintf(link, sizeof(link), "%s/l.conf", tmp);
	assert_int_equal(symlink(conf, link), 0);
	assert_int_equal(cv_config_add_vault(link, "/b", 0, &added), CV_ERR_PERMISSIONS);
	assert_int_equal(added, 0);
}

static void
add_after_a_last_line_without_newline(void **state)
{
	char conf[512];
	int added = 0, fd;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/n.conf", tmp);
	fd = open(conf, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "vault = /a", 10), 10);
	close(fd);
	assert_int_equal(cv_config_add_vault(conf, "/b", 0, &added), CV_OK);
	assert_int_equal(added, 1);
	assert_string_equal(slurp(conf), "vault = /a\nvault = /b\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_path_choice),
		cmocka_unit_test(add_once_and_modes),
		cmocka_unit_test(add_refusals),
		cmocka_unit_test(add_after_a_last_line_without_newline),
	};

	return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
