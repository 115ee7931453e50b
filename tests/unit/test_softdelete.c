/* Unit tests: deleted certificates through store.h.
 *
 * A delete hides a certificate from every live reader (gets, lists, key
 * numbers and ids, due triggers, active operations) and keeps its name; a
 * recover puts the vault back byte for byte (mdb_dump digest); a purge
 * removes every record; purge protection refuses an early purge and never
 * turns off; the retention days give the scheduled purge date; a pass
 * purges only what is past its date; and a commit that fails at each write
 * leaves the vault as it was.  The program is linked with
 * --wrap=mdb_txn_commit (to fail a commit) and --wrap=time (the store's
 * clock moved forward).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "store.h"
#include "fixture.h"

#define DAY 86400

typedef cvt_fixture fixture;

static int
setup_protected(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	cv_vault_recovery rec = { .retention_days = 7, .purge_protection = 1 };

	cvt_fail_commit_at = 0;
	cvt_clock_shift = 0;
	if (fx == NULL || cvt_vault_make_with(fx, "DelKV", &rec) != 0) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

/* issuer Self (a version at once) or Unknown (a pending operation);
 * exportable so that its PEM can be imported again. */
static void
create(fixture *fx, const char *name, const char *issuer)
{
	char json[1024];
	cv_policy *p = NULL;
	cv_err err;

	snprintf(json, sizeof(json),
		 "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":true,"
		 "\"reuse_key\":false},\"secret_props\":{\"contentType\":"
		 "\"application/x-pem-file\"},\"x509_props\":{\"subject\":\"CN=%s\","
		 "\"validity_months\":12},\"lifetime_actions\":[{\"trigger\":"
		 "{\"days_before_expiry\":30},\"action\":{\"action_type\":\"AutoRenew\"}}],"
		 "\"issuer\":{\"name\":\"%s\"}}", name, issuer);
	if (cv_policy_parse(json, strlen(json), &p) != CV_OK)
		fail_msg("policy: %s", cv_err_detail());
	err = cv_cert_create(fx->v, name, p, NULL, NULL);
	cv_policy_free(p);
	if (err != CV_OK)
		fail_msg("create %s: %s (%s)", name, cv_strerror(err), cv_err_detail());
}

static void
count_problem(void *arg, const char *line)
{
	size_t *n = arg;

	print_message("# verify: %s\n", line);
	(*n)++;
}

static void
verify_clean(fixture *fx, cv_verify_counts *n)
{
	size_t problems = 0;

	assert_int_equal(cv_vault_verify(fx->v, n, count_problem, &problems), CV_OK);
	assert_int_equal(problems, 0);
	assert_int_equal(n->problems, 0);
}

static int
in_list(fixture *fx, const char *name)
{
	cv_cert_version **list = NULL;
	size_t n = 0, i;
	int found = 0;

	assert_int_equal(cv_cert_list(fx->v, &list, &n), CV_OK);
	for (i = 0; i < n; i++)
		found |= strcmp(list[i]->name, name) == 0;
	cv_cert_version_list_free(list, n);
	return found;
}

static int
due_for(fixture *fx, const char *name)
{
	cv_life_due *due = NULL;
	size_t n = 0, i;
	int k = 0;

	assert_int_equal(cv_life_due_list(fx->v, INT64_MAX / 2, 1000, &due, &n), CV_OK);
	for (i = 0; i < n; i++)
		k += strcmp(due[i].name, name) == 0;
	free(due);
	return k;
}

static int
active_op(fixture *fx, const char *name)
{
	char **names = NULL;
	size_t n = 0, i;
	int k = 0;

	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	for (i = 0; i < n; i++) {
		k += strcmp(names[i], name) == 0;
		free(names[i]);
	}
	free(names);
	return k;
}

/* A deleted certificate is out of every live reader's sight, at once. */
static void
test_delete_hides(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv = NULL;
	cv_deleted_cert *d = NULL;
	cv_key_info ki;
	uint64_t nums[2], found[4];
	size_t n = 0, nf = 0;
	cv_operation *op = NULL;
	unsigned char id[20];

	create(fx, "web", "Self");
	create(fx, "csr", "Unknown");
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cv_key_get(fx->v, nums[0], &ki), CV_OK);
	memcpy(id, ki.key_id, sizeof(id));
	cv_key_info_clear(&ki);
	assert_true(due_for(fx, "web") > 0);
	assert_int_equal(active_op(fx, "csr"), 1);

	assert_int_equal(cv_cert_delete(fx->v, "web", &d), CV_OK);
	assert_non_null(d);
	assert_string_equal(d->name, "web");
	assert_string_equal(d->recovery_id, "deletedcertificates/web");
	assert_int_equal(d->scheduled_purge - d->deleted, 90 * DAY);
	assert_true(d->deleted >= time(NULL) - 5 && d->deleted <= time(NULL));
	assert_non_null(d->cert);
	assert_int_equal(strlen(d->cert->version), 32);
	cv_deleted_cert_free(d);

	assert_int_equal(cv_cert_get(fx->v, "web", NULL, &cv), CV_ERR_NOT_FOUND);
	assert_false(in_list(fx, "web"));
	assert_int_equal(cv_key_get(fx->v, nums[0], &ki), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_key_find_id(fx->v, id, sizeof(id), found, 4, &nf), CV_OK);
	assert_int_equal(nf, 0);
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(due_for(fx, "web"), 0);

	/* the pending operation goes with its certificate */
	assert_int_equal(cv_cert_delete(fx->v, "CSR", NULL), CV_OK);
	assert_int_equal(active_op(fx, "csr"), 0);
	assert_int_equal(cv_pending_get(fx->v, "csr", &op), CV_ERR_NO_OPERATION);
	assert_int_equal(cv_cert_get_deleted(fx->v, "csr", &d), CV_OK);
	assert_string_equal(d->cert->version, "");
	cv_deleted_cert_free(d);

	/* a name never deleted, and a deleted one deleted again */
	assert_int_equal(cv_cert_delete(fx->v, "nope", NULL), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_get_deleted(fx->v, "nope", &d), CV_ERR_NOT_FOUND);
	assert_string_equal(cv_err_detail(), "Deleted Certificate not found: nope");
}

/* Recover puts back every record and index entry: the vault's dump equals
 * the dump before the delete, and the key keeps its number and id. */
static void
test_recover_exact(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv = NULL;
	cv_deleted_cert **list = NULL;
	cv_key_info ki;
	uint64_t nums[2];
	size_t n = 0;
	char *before;

	create(fx, "web", "Self");
	create(fx, "csr", "Unknown");
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	assert_int_equal(cv_cert_delete(fx->v, "csr", NULL), CV_OK);
	assert_int_equal(cv_cert_list_deleted(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->name, "csr");
	assert_string_equal(list[1]->name, "web");
	cv_deleted_cert_list_free(list, n);

	assert_int_equal(cv_cert_recover(fx->v, "nope", NULL), CV_ERR_NOT_FOUND);
	assert_string_equal(cv_err_detail(), "Deleted Certificate not found: nope");
	assert_int_equal(cv_cert_recover(fx->v, "WEB", &cv), CV_OK);
	assert_non_null(cv);
	assert_string_equal(cv->name, "web");
	cv_cert_version_free(cv);
	assert_int_equal(cv_cert_recover(fx->v, "csr", NULL), CV_OK);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	assert_int_equal(cv_key_get(fx->v, nums[0], &ki), CV_OK);
	assert_int_equal(ki.state, CV_KEY_CURRENT);
	cv_key_info_clear(&ki);
	assert_int_equal(active_op(fx, "csr"), 1);
	assert_true(due_for(fx, "web") > 0);
	assert_int_equal(cv_cert_recover(fx->v, "web", NULL), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_list_deleted(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 0);
}

/* A deleted name refuses create and import with Key Vault's text, and a
 * deleted certificate's key cannot be imported under another name. */
static void
test_name_kept(void **state)
{
	fixture *fx = *state;
	char json[512];
	cv_policy *p = NULL;
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	char *before;

	create(fx, "web", "Self");
	assert_int_equal(cv_secret_get(fx->v, "web", NULL, CV_SECRET_PEM, NULL, &pem,
				       &pem_len), CV_OK);
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	before = cvt_vault_digest(fx);
	snprintf(json, sizeof(json),
		 "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},\"x509_props\":"
		 "{\"subject\":\"CN=web\"},\"issuer\":{\"name\":\"Self\"}}");
	assert_int_equal(cv_policy_parse(json, strlen(json), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "Web", p, NULL, NULL), CV_ERR_DELETED);
	assert_string_equal(cv_err_detail(),
			    "Certificate Web is currently in a deleted but recoverable state, "
			    "and its name cannot be reused; in this state, the certificate can "
			    "only be recovered or purged.");
	assert_int_equal(cv_cert_import(fx->v, "web", pem, pem_len, NULL, NULL, NULL, NULL),
			 CV_ERR_DELETED);
	assert_int_equal(cv_cert_import(fx->v, "other", pem, pem_len, NULL, NULL, NULL, NULL),
			 CV_ERR_EXISTS);
	assert_non_null(strstr(cv_err_detail(), "deleted certificate 'web'"));
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	/* purged, the name and the key are free again */
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_OK);
	assert_int_equal(cv_cert_import(fx->v, "other", pem, pem_len, NULL, NULL, NULL, NULL),
			 CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "web", p, NULL, NULL), CV_OK);
	cv_policy_free(p);
	OPENSSL_clear_free(pem, pem_len);
}

/* A purge removes every record of the certificate and every index entry:
 * verify's counts go back to what they were before it was made. */
static void
test_purge_all(void **state)
{
	fixture *fx = *state;
	cv_verify_counts before, after;
	cv_deleted_cert *d = NULL;

	create(fx, "keep", "Self");
	verify_clean(fx, &before);
	create(fx, "web", "Self");
	create(fx, "csr", "Unknown");
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	assert_int_equal(cv_cert_delete(fx->v, "csr", NULL), CV_OK);
	verify_clean(fx, &after);
	assert_int_equal(after.certs, before.certs);
	assert_int_equal(after.operations, before.operations);
	assert_int_equal(after.ops_active, before.ops_active);
	assert_int_equal(after.due, before.due);
	assert_true(after.versions > before.versions);

	assert_int_equal(cv_cert_purge(fx->v, "nope"), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_purge(fx->v, "keep"), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_OK);
	assert_int_equal(cv_cert_purge(fx->v, "csr"), CV_OK);
	verify_clean(fx, &after);
	assert_int_equal(after.certs, before.certs);
	assert_int_equal(after.versions, before.versions);
	assert_int_equal(after.keys, before.keys);
	assert_int_equal(after.secrets, before.secrets);
	assert_int_equal(after.triggers, before.triggers);
	assert_int_equal(after.due, before.due);
	assert_int_equal(cv_cert_get_deleted(fx->v, "web", &d), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_recover(fx->v, "web", NULL), CV_ERR_NOT_FOUND);
}

/* Purge protection: no purge before the date, by anyone; once on, on; the
 * retention days set the date. */
static void
test_purge_protection(void **state)
{
	fixture *fx = *state;
	cv_vault_info info;
	cv_deleted_cert *d = NULL;
	char *before;
	size_t purged = 9;

	assert_int_equal(cv_vault_info_get(fx->v, &info), CV_OK);
	assert_int_equal(info.recovery.retention_days, 7);
	assert_int_equal(info.recovery.purge_protection, 1);
	assert_string_equal(cv_recovery_level(&info.recovery), "CustomizedRecoverable");

	create(fx, "web", "Self");
	assert_int_equal(cv_cert_delete(fx->v, "web", &d), CV_OK);
	assert_int_equal(d->scheduled_purge - d->deleted, 7 * DAY);
	cv_deleted_cert_free(d);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_ERR_PURGE_PROTECTED);
	assert_string_equal(cv_err_detail(),
			    "Operation \"purge\" is not allowed because purge protection is "
			    "enabled for this vault. Key Vault service will automatically "
			    "purge it after the retention period has passed.");
	/* the SO's login is no way round it either */
	cv_vault_logout(fx->v);
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_SO, "87654321", 8), CV_OK);
	assert_int_not_equal(cv_cert_purge(fx->v, "web"), CV_OK);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	/* a pass before the date purges nothing */
	cvt_clock_shift = 7 * DAY - 60;
	assert_int_equal(cv_vault_purge_due(fx->v, 0, &purged), CV_OK);
	assert_int_equal(purged, 0);
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_ERR_PURGE_PROTECTED);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	/* after it, a purge is allowed */
	cvt_clock_shift = 7 * DAY + 1;
	assert_int_equal(cv_cert_purge(fx->v, "web"), CV_OK);

	/* reinit keeps the settings: purge protection never turns off */
	assert_int_equal(cv_vault_reinit(fx->v, "87654321", 8, "DelKV"), CV_OK);
	assert_int_equal(cv_vault_info_get(fx->v, &info), CV_OK);
	assert_int_equal(info.recovery.retention_days, 7);
	assert_int_equal(info.recovery.purge_protection, 1);
}

/* Retention days are 7 to 90; a vault made without settings reads as 90
 * days, no protection; enabling protection is kept. */
static void
test_retention_settings(void **state)
{
	fixture *fx = *state;
	cv_vault_info info;
	cv_vault_recovery r;
	char path[400];
	char *before;

	r.purge_protection = 0;
	r.retention_days = 6;
	snprintf(path, sizeof(path), "%s/bad", fx->dir);
	assert_int_equal(cv_vault_create_with(path, "Bad", "1234", 4, "87654321", 8, &r),
			 CV_ERR_INVALID);
	r.retention_days = 91;
	assert_int_equal(cv_vault_create_with(path, "Bad", "1234", 4, "87654321", 8, &r),
			 CV_ERR_INVALID);

	assert_int_equal(cv_vault_info_get(fx->v, &info), CV_OK);
	assert_int_equal(info.recovery.retention_days, 90);
	assert_int_equal(info.recovery.purge_protection, 0);
	assert_string_equal(cv_recovery_level(&info.recovery), "Recoverable+Purgeable");
	r.retention_days = 30;
	assert_string_equal(cv_recovery_level(&r), "CustomizedRecoverable+Purgeable");

	before = cvt_vault_digest(fx);
	cvt_fail_commit_at = 1;
	assert_int_not_equal(cv_vault_enable_purge_protection(fx->v), CV_OK);
	cvt_fail_commit_at = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_vault_enable_purge_protection(fx->v), CV_OK);
	assert_int_equal(cv_vault_info_get(fx->v, &info), CV_OK);
	assert_int_equal(info.recovery.purge_protection, 1);
	assert_string_equal(cv_recovery_level(&info.recovery), "Recoverable");
	assert_string_equal(info.name, "UnitKV");
	cv_vault_logout(fx->v);
	assert_int_equal(cv_vault_enable_purge_protection(fx->v), CV_ERR_NOT_LOGGED_IN);
}

/* A pass purges what is past its date and nothing else. */
static void
test_purge_due(void **state)
{
	fixture *fx = *state;
	cv_deleted_cert **list = NULL;
	size_t n = 0, purged = 0;

	create(fx, "old", "Self");
	create(fx, "new", "Self");
	assert_int_equal(cv_cert_delete(fx->v, "old", NULL), CV_OK);
	cvt_clock_shift = 2 * DAY;
	assert_int_equal(cv_cert_delete(fx->v, "new", NULL), CV_OK);
	cvt_clock_shift = 90 * DAY + 60;
	assert_int_equal(cv_vault_purge_due(fx->v, 0, &purged), CV_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(cv_cert_list_deleted(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->name, "new");
	cv_deleted_cert_list_free(list, n);
	assert_int_equal(cv_vault_purge_due(fx->v, 0, &purged), CV_OK);
	assert_int_equal(purged, 0);
	cvt_clock_shift = 92 * DAY + 60;
	assert_int_equal(cv_vault_purge_due(fx->v, 0, &purged), CV_OK);
	assert_int_equal(purged, 1);
}

/* A commit that fails at each write leaves the vault as it was. */
static void
test_failed_commits(void **state)
{
	fixture *fx = *state;
	char *before;

	create(fx, "web", "Self");
	create(fx, "csr", "Unknown");

	before = cvt_vault_digest(fx);
	cvt_fail_commit_at = 1;
	assert_int_not_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	cvt_fail_commit_at = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_true(in_list(fx, "web"));

	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	assert_int_equal(cv_cert_delete(fx->v, "csr", NULL), CV_OK);
	before = cvt_vault_digest(fx);
	cvt_fail_commit_at = 1;
	assert_int_not_equal(cv_cert_recover(fx->v, "web", NULL), CV_OK);
	cvt_fail_commit_at = 1;
	assert_int_not_equal(cv_cert_purge(fx->v, "csr"), CV_OK);
	cvt_clock_shift = 91 * DAY;
	cvt_fail_commit_at = 1;
	assert_int_not_equal(cv_vault_purge_due(fx->v, 0, NULL), CV_OK);
	cvt_fail_commit_at = 0;
	cvt_clock_shift = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_false(in_list(fx, "web"));
	assert_int_equal(cv_cert_recover(fx->v, "web", NULL), CV_OK);
	assert_true(in_list(fx, "web"));
}

/* Without a login nothing changes. */
static void
test_needs_login(void **state)
{
	fixture *fx = *state;
	char *before;

	create(fx, "web", "Self");
	create(fx, "gone", "Self");
	assert_int_equal(cv_cert_delete(fx->v, "gone", NULL), CV_OK);
	cv_vault_logout(fx->v);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_cert_recover(fx->v, "gone", NULL), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_cert_purge(fx->v, "gone"), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_cert_delete(fx->v, "bad name", NULL), CV_ERR_BAD_NAME);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
}

/* A vault made before soft delete (no deleted table, no recovery fields)
 * opens, reads as 90 days without protection, and gets the table on its
 * first writable open. */
static void
test_older_vault(void **state)
{
	fixture *fx = *state;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	cv_vault_info info;
	cv_deleted_cert **list = NULL;
	size_t n = 9;

	create(fx, "web", "Self");
	cv_vault_close(fx->v);
	fx->v = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 34), 0);
	assert_int_equal(mdb_env_open(env, fx->vault, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "deleted", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(__real_mdb_txn_commit(txn), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "deleted", 0, &dbi), MDB_NOTFOUND);
	mdb_txn_abort(txn);
	mdb_env_close(env);

	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	assert_int_equal(cv_vault_info_get(fx->v, &info), CV_OK);
	assert_int_equal(info.recovery.retention_days, 90);
	assert_int_equal(info.recovery.purge_protection, 0);
	assert_int_equal(cv_cert_list_deleted(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_cert_delete(fx->v, "web", NULL), CV_OK);
	assert_int_equal(cv_cert_recover(fx->v, "web", NULL), CV_OK);
	assert_true(in_list(fx, "web"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delete_hides, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_recover_exact, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_name_kept, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_purge_all, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_purge_protection, setup_protected,
						cvt_teardown),
		cmocka_unit_test_setup_teardown(test_retention_settings, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_purge_due, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_failed_commits, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_needs_login, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_older_vault, cvt_setup, cvt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
