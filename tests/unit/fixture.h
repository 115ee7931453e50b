/* The unit tests' common fixture: a fresh vault in a temporary folder,
 * logged in as the user, and the digest that proves a refusal left the
 * vault byte for byte as it was.
 *
 * A test file names its own fixture type as cvt_fixture and passes
 * cvt_setup/cvt_teardown (or its own functions that call them) to cmocka.
 */
#ifndef CERTVAULT_TESTS_FIXTURE_H
#define CERTVAULT_TESTS_FIXTURE_H

#include <time.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store.h"

/* The user PIN and SO PIN every fixture vault is made with. */
#define CVT_USER_PIN "1234"
#define CVT_SO_PIN "87654321"

typedef struct cvt_fixture {
	char dir[256];   /* the temporary folder, removed by teardown */
	char vault[300]; /* the vault's folder, inside dir */
	cv_vault *v;     /* open, logged in as CV_USER_NORMAL */
	EVP_PKEY *ca_key; /* for tests that sign with a throwaway CA; freed */
	X509 *ca;        /* by teardown when set */
} cvt_fixture;

/* Makes a vault labelled label in a new temporary folder, opens it and logs
 * the user in.  Returns 0, or -1 with nothing left behind. */
int cvt_vault_make(cvt_fixture *fx, const char *label);
/* The same with the vault's recovery settings (NULL: the defaults). */
int cvt_vault_make_with(cvt_fixture *fx, const char *label,
			const cv_vault_recovery *recovery);

/* Closes the vault, frees ca and ca_key and removes the temporary folder.
 * Returns 0, or -1 when the folder could not be removed. */
int cvt_vault_remove(cvt_fixture *fx);

/* cmocka setup and teardown with a vault labelled "UnitKV": *state is a
 * calloc'd cvt_fixture. */
int cvt_setup(void **state);
int cvt_teardown(void **state);

/* The sha256 of `mdb_dump -a` of the vault in dir (of the fixture's vault),
 * as a string the caller frees.  Fails the test when mdb_dump cannot run. */
char *cvt_digest_of(const char *dir);
char *cvt_vault_digest(const cvt_fixture *fx);

/* Removes dir and everything under it, following no links.  0 or -1. */
int cvt_remove_tree(const char *dir);

/* Fails the test unless the vault's digest still equals before. */
#define CVT_ASSERT_DIR_UNCHANGED(dir, before) do { \
		char *after_ = cvt_digest_of(dir); \
		assert_string_equal(before, after_); \
		free(after_); \
	} while (0)
#define CVT_ASSERT_UNCHANGED(fx, before) CVT_ASSERT_DIR_UNCHANGED((fx)->vault, before)

/* In programs linked with -Wl,--wrap=mdb_txn_commit and commit_fault.c:
 * when set to n > 0, the nth commit from now aborts its transaction and
 * fails with EIO.  0: commits never fail. */
extern int cvt_fail_commit_at;

/* In those programs, LMDB's own commit, which the wrapper calls. */
int __real_mdb_txn_commit(MDB_txn *txn);

/* In programs linked with -Wl,--wrap=mdb_put and put_fault.c: when set to
 * n > 0, the nth mdb_put from now fails with MDB_MAP_FULL; cvt_puts_seen
 * counts every call. */
extern int cvt_fail_put_at;
extern int cvt_puts_seen;

/* In programs linked with -Wl,--wrap=time and clock_fault.c: seconds added
 * to the real time the store reads. */
extern time_t cvt_clock_shift;

#endif
