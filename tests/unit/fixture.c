/* The unit tests' common fixture (see fixture.h). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>

#include "fixture.h"

int
cvt_vault_make(cvt_fixture *fx, const char *label)
{
	return cvt_vault_make_with(fx, label, NULL);
}

int
cvt_vault_make_with(cvt_fixture *fx, const char *label,
		    const cv_vault_recovery *recovery)
{
	char tmpl[] = "/tmp/cv-unit-XXXXXX";

	memset(fx, 0, sizeof(*fx));
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s", tmpl);
	snprintf(fx->vault, sizeof(fx->vault), "%s/v", tmpl);
	if (cv_vault_create_with(fx->vault, label, CVT_USER_PIN, strlen(CVT_USER_PIN),
				 CVT_SO_PIN, strlen(CVT_SO_PIN), recovery) != CV_OK ||
	    cv_vault_open(fx->vault, &fx->v) != CV_OK ||
	    cv_vault_login(fx->v, CV_USER_NORMAL, CVT_USER_PIN,
			   strlen(CVT_USER_PIN)) != CV_OK) {
		cvt_vault_remove(fx);
		return -1;
	}
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

int
cvt_remove_tree(const char *dir)
{
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
cvt_vault_remove(cvt_fixture *fx)
{
	int rc = 0;

	if (fx->v != NULL)
		cv_vault_close(fx->v);
	fx->v = NULL;
	X509_free(fx->ca);
	fx->ca = NULL;
	EVP_PKEY_free(fx->ca_key);
	fx->ca_key = NULL;
	if (fx->dir[0] != '\0' && cvt_remove_tree(fx->dir) != 0)
		rc = -1;
	fx->dir[0] = '\0';
	return rc;
}

int
cvt_setup(void **state)
{
	cvt_fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || cvt_vault_make(fx, "UnitKV") != 0) {
		free(fx);
		return -1;
	}
	cvt_fail_commit_at = 0;
	cvt_clock_shift = 0;
	*state = fx;
	return 0;
}

int
cvt_teardown(void **state)
{
	cvt_fixture *fx = *state;
	int rc = cvt_vault_remove(fx);

	free(fx);
	cvt_fail_commit_at = 0;
	cvt_clock_shift = 0;
	return rc;
}

char *
cvt_vault_digest(const cvt_fixture *fx)
{
	return cvt_digest_of(fx->vault);
}

char *
cvt_digest_of(const char *dir)
{
	char cmd[512], line[200] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "mdb_dump -a '%s' | sha256sum", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof(line), p));
	assert_int_equal(pclose(p), 0);
	return strdup(line);
}

/* Defined here so that every program may reset it; only programs linked
 * with commit_fault.c and --wrap=mdb_txn_commit act on it. */
int cvt_fail_commit_at;
int cvt_fail_put_at;
int cvt_puts_seen;
time_t cvt_clock_shift;
