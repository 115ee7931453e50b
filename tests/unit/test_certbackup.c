/* Unit tests: backup and restore of one certificate (store/certbackup.c).
 *
 * Each restore that must be refused is checked to leave the target vault
 * as it was: its change counter in the loops (a restore is one write
 * transaction, so nothing committed means nothing changed), and the digest
 * of `mdb_dump -a` around them.  Failure injection: linked with
 * --wrap=mdb_put,--wrap=mdb_txn_commit so the Nth write or the commit of a
 * restore fails.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certbackup.h"
#include "store.h"
#include "fixture.h"

/* --- Fixtures ----------------------------------------------------------- */

#define PASSWORD "correct horse battery"

typedef struct fixture {
	char dir[256];
	char a[300], b[300], a2[300];
	cv_vault *va;   /* where certificates are made and backed up */
	cv_vault *vb;   /* another vault */
	cv_vault *va2;  /* a copy of va taken before the certificates: the same
			   master key, the names still free */
} fixture;

static cv_policy *
policy_from(const char *json)
{
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(json, strlen(json), &p), CV_OK);
	return p;
}

static const char *ec_locked =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"},"
	"\"x509_props\":{\"subject\":\"CN=locked\",\"key_usage\":[\"digitalSignature\"]},"
	"\"issuer\":{\"name\":\"Self\"}}";

static const char *rsa_open =
	"{\"key_props\":{\"kty\":\"RSA\",\"key_size\":2048,\"exportable\":true,"
	"\"reuse_key\":false},"
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"},"
	"\"x509_props\":{\"subject\":\"CN=open\"},"
	"\"issuer\":{\"name\":\"Self\"}}";

static const char *ec_unknown =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	"\"x509_props\":{\"subject\":\"CN=waiting\"},"
	"\"issuer\":{\"name\":\"Unknown\"}}";

static void
vault_copy(cv_vault *from, const char *dir)
{
	char path[400];
	int fd;

	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(cv_vault_backup(from, fd), CV_OK);
	close(fd);
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/cv-certbackup-XXXXXX";

	if (fx == NULL || mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s", tmpl);
	snprintf(fx->a, sizeof(fx->a), "%s/a", tmpl);
	snprintf(fx->b, sizeof(fx->b), "%s/b", tmpl);
	snprintf(fx->a2, sizeof(fx->a2), "%s/a2", tmpl);
	if (cv_vault_create(fx->a, "KVA", "1234", 4, "87654321", 8) != CV_OK ||
	    cv_vault_create(fx->b, "KVB", "5678", 4, "87654321", 8) != CV_OK ||
	    cv_vault_open(fx->a, &fx->va) != CV_OK ||
	    cv_vault_open(fx->b, &fx->vb) != CV_OK)
		return -1;
	vault_copy(fx->va, fx->a2);
	if (cv_vault_open(fx->a2, &fx->va2) != CV_OK ||
	    cv_vault_login(fx->va, CV_USER_NORMAL, "1234", 4) != CV_OK ||
	    cv_vault_login(fx->va2, CV_USER_NORMAL, "1234", 4) != CV_OK ||
	    cv_vault_login(fx->vb, CV_USER_NORMAL, "5678", 4) != CV_OK)
		return -1;
	cvt_fail_put_at = cvt_fail_commit_at = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	int rc;

	cv_vault_close(fx->va);
	cv_vault_close(fx->va2);
	cv_vault_close(fx->vb);
	rc = cvt_remove_tree(fx->dir);
	free(fx);
	return rc;
}

static void
create(cv_vault *v, const char *name, const char *json)
{
	cv_policy *p = policy_from(json);

	assert_int_equal(cv_cert_create(v, name, p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

static void
count_problem(void *arg, const char *line)
{
	(void)line;
	(*(size_t *)arg)++;
}

static void
assert_verifies(cv_vault *v)
{
	cv_verify_counts c;
	size_t problems = 0;

	memset(&c, 0, sizeof(c));
	assert_int_equal(cv_vault_verify(v, &c, count_problem, &problems), CV_OK);
	assert_int_equal(problems, 0);
	assert_int_equal(c.problems, 0);
}

/* What a certificate is, to compare two vaults: every version's id, x5t,
 * key id, enabled flag and tags, and the live keys' exportability. */
static char *
describe(cv_vault *v, const char *name)
{
	cv_cert_version **list = NULL;
	char *out = calloc(1, 8192);
	size_t n = 0, i, j, len = 0;
	uint64_t nums[2];
	cv_key_info info;

	assert_non_null(out);
	assert_int_equal(cv_cert_list_versions(v, name, &list, &n), CV_OK);
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, 8192 - len, "%s %s %d %d ", list[i]->version,
					list[i]->x5t, list[i]->enabled, list[i]->is_current);
		for (j = 0; j < 20; j++)
			len += (size_t)snprintf(out + len, 8192 - len, "%02x", list[i]->key_id[j]);
		for (j = 0; j < list[i]->tags.n; j++)
			len += (size_t)snprintf(out + len, 8192 - len, " %s=%s",
						list[i]->tags.names[j], list[i]->tags.values[j]);
		len += (size_t)snprintf(out + len, 8192 - len, "\n");
	}
	cv_cert_version_list_free(list, n);
	assert_int_equal(cv_key_find_name(v, name, nums, &n), CV_OK);
	for (i = 0; i < n; i++) {
		memset(&info, 0, sizeof(info));
		assert_int_equal(cv_key_get(v, nums[i], &info), CV_OK);
		len += (size_t)snprintf(out + len, 8192 - len, "key %d exportable %d usage %u\n",
					(int)info.state, info.exportable, info.key_usage);
		cv_key_info_clear(&info);
	}
	return out;
}

/* How many of name's triggers the due index holds, due any time in the
 * next twenty years. */
static size_t
due_count(cv_vault *v, const char *name)
{
	cv_life_due *due = NULL;
	size_t n = 0, i, count = 0;

	assert_int_equal(cv_life_due_list(v, (int64_t)time(NULL) + 20 * 366 * 86400LL, 1000,
					  &due, &n), CV_OK);
	for (i = 0; i < n; i++)
		count += strcmp(due[i].name, name) == 0;
	free(due);
	return count;
}

/* --- Round trips -------------------------------------------------------- */

/* Two versions, tags, a disabled older version, a non-exportable EC key:
 * restored into another vault with the password, and into a copy of the
 * same vault with the login alone, each is the same certificate, the
 * vault verifies, the key signs, and stays non-exportable. */
static void
test_round_trip(void **state)
{
	fixture *fx = *state;
	cv_tags tags = { 0 };
	char *tn[] = { "env" }, *tv[] = { "prod" };
	unsigned char *blob = NULL, *blob_pw = NULL, *secret = NULL;
	size_t len = 0, len_pw = 0, slen = 0;
	cv_cert_version *cv = NULL, *first = NULL;
	char *want, *got;
	uint64_t nums[2];
	size_t n = 0;
	EVP_PKEY *priv = NULL;

	tags.names = tn;
	tags.values = tv;
	tags.n = 1;
	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_get(fx->va, "locked", NULL, &first), CV_OK);
	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_set_attributes(fx->va, "locked", first->version, 0, &tags,
						NULL), CV_OK);
	want = describe(fx->va, "locked");

	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	assert_int_equal(cv_cert_backup(fx->va, "locked", PASSWORD, &blob_pw, &len_pw), CV_OK);
	assert_memory_equal(blob, CV_CB_MAGIC, CV_CB_MAGIC_LEN);

	/* Another vault, with the password. */
	assert_int_equal(cv_cert_restore(fx->vb, blob_pw, len_pw, PASSWORD, &cv), CV_OK);
	assert_string_equal(cv->name, "locked");
	cv_cert_version_free(cv);
	got = describe(fx->vb, "locked");
	assert_string_equal(want, got);
	free(got);
	assert_verifies(fx->vb);
	/* The lifetime triggers are due again in the target, as in the source. */
	assert_true(due_count(fx->va, "locked") > 0);
	assert_int_equal(due_count(fx->vb, "locked"), due_count(fx->va, "locked"));
	/* The key opens under this vault's master key, and stays locked. */
	assert_int_equal(cv_key_find_name(fx->vb, "locked", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cv_key_private(fx->vb, nums[0], &priv), CV_OK);
	EVP_PKEY_free(priv);
	assert_int_equal(cv_secret_get(fx->vb, "locked", NULL, CV_SECRET_PEM, NULL, &secret,
				       &slen), CV_OK);
	assert_null(memmem(secret, slen, "PRIVATE KEY", 11));
	OPENSSL_clear_free(secret, slen);

	/* The same vault (a copy of it), with the login alone. */
	assert_int_equal(cv_cert_restore(fx->va2, blob, len, NULL, NULL), CV_OK);
	got = describe(fx->va2, "locked");
	assert_string_equal(want, got);
	free(got);
	assert_verifies(fx->va2);

	cv_cert_version_free(first);
	free(want);
	OPENSSL_free(blob);
	OPENSSL_free(blob_pw);
}

/* An exportable RSA key: restored exportable, the same private key, and
 * never in the clear in the blob. */
static void
test_exportable_key_sealed(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL, *secret = NULL, *der = NULL;
	size_t len = 0, slen = 0;
	uint64_t na[2], nb[2];
	size_t n = 0;
	EVP_PKEY *ka = NULL, *kb = NULL;
	int derlen;

	create(fx->va, "open", rsa_open);
	assert_int_equal(cv_cert_backup(fx->va, "open", PASSWORD, &blob, &len), CV_OK);
	assert_int_equal(cv_key_find_name(fx->va, "open", na, &n), CV_OK);
	assert_int_equal(cv_key_private(fx->va, na[0], &ka), CV_OK);
	derlen = i2d_PrivateKey(ka, &der);
	assert_true(derlen > 0);
	assert_null(memmem(blob, len, der, (size_t)derlen));
	/* Nor its private exponent's bytes alone (the first 32). */
	assert_null(memmem(blob, len, der + derlen - 64, 32));

	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_OK);
	assert_int_equal(cv_key_find_name(fx->vb, "open", nb, &n), CV_OK);
	assert_int_equal(cv_key_private(fx->vb, nb[0], &kb), CV_OK);
	assert_int_equal(EVP_PKEY_eq(ka, kb), 1);
	assert_int_equal(cv_secret_get(fx->vb, "open", NULL, CV_SECRET_PEM, NULL, &secret,
				       &slen), CV_OK);
	assert_non_null(memmem(secret, slen, "PRIVATE KEY", 11));
	assert_verifies(fx->vb);
	OPENSSL_clear_free(secret, slen);
	OPENSSL_clear_free(der, (size_t)derlen);
	EVP_PKEY_free(ka);
	EVP_PKEY_free(kb);
	OPENSSL_free(blob);
}

/* A pending operation comes along with its key and CSR, is listed as in
 * progress in the target, and a merge there completes it. */
static void
test_pending_operation(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL;
	size_t len = 0, n = 0, i;
	cv_operation *op = NULL, *op2 = NULL;
	char **names = NULL;
	int listed = 0;

	create(fx->va, "waiting", ec_unknown);
	assert_int_equal(cv_cert_backup(fx->va, "waiting", PASSWORD, &blob, &len), CV_OK);
	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_OK);
	assert_int_equal(cv_pending_get(fx->va, "waiting", &op), CV_OK);
	assert_int_equal(cv_pending_get(fx->vb, "waiting", &op2), CV_OK);
	assert_int_equal(op2->status, CV_OP_IN_PROGRESS);
	assert_string_equal(op->version, op2->version);
	assert_int_equal(op->csr.len, op2->csr.len);
	assert_memory_equal(op->csr.data, op2->csr.data, op->csr.len);
	assert_int_equal(cv_op_list_active(fx->vb, &names, &n), CV_OK);
	for (i = 0; i < n; i++) {
		listed |= strcmp(names[i], "waiting") == 0;
		free(names[i]);
	}
	free(names);
	assert_true(listed);
	assert_verifies(fx->vb);
	cv_operation_free(op);
	cv_operation_free(op2);
	OPENSSL_free(blob);
}

/* --- Refusals ----------------------------------------------------------- */

static void
test_name_exists(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL;
	size_t len = 0;
	char *before;

	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	before = cvt_digest_of(fx->a);
	assert_int_equal(cv_cert_restore(fx->va, blob, len, NULL, NULL), CV_ERR_EXISTS);
	assert_string_equal(cv_err_detail(),
			    "Conflict while restoring certificate locked - certificate "
			    "already exists or concurrent access");
	CVT_ASSERT_DIR_UNCHANGED(fx->a, before);
	free(before);
	OPENSSL_free(blob);
}

/* A key that another certificate of the target holds (the same key
 * imported there under another name) refuses the restore. */
static void
test_key_held_elsewhere(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL, *pfx = NULL;
	size_t len = 0, plen = 0;
	char *before;

	create(fx->va, "open", rsa_open);
	assert_int_equal(cv_cert_backup(fx->va, "open", PASSWORD, &blob, &len), CV_OK);
	assert_int_equal(cv_secret_get(fx->va, "open", NULL, CV_SECRET_PFX, NULL, &pfx, &plen),
			 CV_OK);
	assert_int_equal(cv_cert_import(fx->vb, "other", pfx, plen, NULL, NULL, NULL, NULL),
			 CV_OK);
	before = cvt_digest_of(fx->b);
	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_ERR_EXISTS);
	assert_non_null(strstr(cv_err_detail(), "other"));
	CVT_ASSERT_DIR_UNCHANGED(fx->b, before);
	free(before);
	OPENSSL_clear_free(pfx, plen);
	OPENSSL_free(blob);
}

static void
test_wrong_password_vault_version(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL, *blob_pw = NULL;
	size_t len = 0, len_pw = 0;
	char *before;

	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	assert_int_equal(cv_cert_backup(fx->va, "locked", PASSWORD, &blob_pw, &len_pw), CV_OK);
	before = cvt_digest_of(fx->b);
	assert_int_equal(cv_cert_restore(fx->vb, blob_pw, len_pw, "not the password", NULL),
			 CV_ERR_BAD_PASSWORD);
	assert_string_equal(cv_err_detail(), "the backup password is wrong");
	/* Another vault's backup without the password. */
	assert_int_equal(cv_cert_restore(fx->vb, blob_pw, len_pw, NULL, NULL), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "made in another vault"));
	/* A backup with no password cannot go to another vault at all. */
	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "has no backup password"));
	/* A format this certvault does not read. */
	blob_pw[CV_CB_MAGIC_LEN] = CV_CB_FORMAT + 1;
	assert_int_equal(cv_cert_restore(fx->vb, blob_pw, len_pw, PASSWORD, NULL),
			 CV_ERR_FORMAT_VERSION);
	assert_non_null(strstr(cv_err_detail(), "format 2"));
	CVT_ASSERT_DIR_UNCHANGED(fx->b, before);
	/* A short password is refused at backup. */
	OPENSSL_free(blob_pw);
	blob_pw = NULL;
	assert_int_equal(cv_cert_backup(fx->va, "locked", "short", &blob_pw, &len_pw),
			 CV_ERR_INVALID);
	assert_null(blob_pw);
	free(before);
	OPENSSL_free(blob);
}

static void
test_needs_login(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL, *none = NULL;
	size_t len = 0, nlen = 0;

	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	assert_int_equal(cv_cert_backup(fx->va, "missing", NULL, &none, &nlen),
			 CV_ERR_NOT_FOUND);
	cv_vault_logout(fx->va);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &none, &nlen),
			 CV_ERR_NOT_LOGGED_IN);
	cv_vault_logout(fx->va2);
	assert_int_equal(cv_cert_restore(fx->va2, blob, len, NULL, NULL),
			 CV_ERR_NOT_LOGGED_IN);
	assert_null(none);
	OPENSSL_free(blob);
}

/* Every byte of a small backup flipped in turn: each refused, nothing
 * committed.  The blob of the same vault (no password: no scrypt per try)
 * in full; the password's part of a password blob at each field's ends
 * (a flip elsewhere in it meets the same checks). */
static void
test_flip_every_byte(void **state)
{
	fixture *fx = *state;
	static const size_t ends[] = {
		CV_CB_HEAD_VAULT, CV_CB_HEAD_VAULT + CV_SALT_LEN - 1,    /* salt */
		CV_CB_HEAD_VAULT + CV_SALT_LEN + 7,                       /* N */
		CV_CB_HEAD_VAULT + CV_SALT_LEN + 11,                      /* r */
		CV_CB_HEAD_VAULT + CV_SALT_LEN + 15,                      /* p */
		CV_CB_HEAD_CHECK - CV_CB_ID_LEN, CV_CB_HEAD_CHECK - 1,    /* check */
		CV_CB_HEAD_CHECK, CV_CB_HEAD_PASSWORD - 1,                /* wrap */
		CV_CB_HEAD_PASSWORD,                                      /* body */
	};
	unsigned char *blob = NULL, *blob_pw = NULL;
	size_t len = 0, len_pw = 0, i, k;
	uint64_t gen;
	char *before;

	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	assert_int_equal(cv_cert_backup(fx->va, "locked", PASSWORD, &blob_pw, &len_pw), CV_OK);
	assert_true(len < 16384);
	before = cvt_digest_of(fx->a2);
	gen = cv_vault_generation(fx->va2);
	for (i = 0; i < len; i++) {
		blob[i] ^= 0x01;
		assert_int_not_equal(cv_cert_restore(fx->va2, blob, len, NULL, NULL), CV_OK);
		blob[i] ^= 0x01;
		assert_int_equal(cv_vault_generation(fx->va2), gen);
	}
	/* Each field of the password's part at both ends (a scrypt per try). */
	for (k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
		i = ends[k];
		blob_pw[i] ^= 0x80;
		assert_int_not_equal(cv_cert_restore(fx->va2, blob_pw, len_pw, PASSWORD, NULL),
				     CV_OK);
		blob_pw[i] ^= 0x80;
		assert_int_equal(cv_vault_generation(fx->va2), gen);
	}
	CVT_ASSERT_DIR_UNCHANGED(fx->a2, before);
	/* Untouched, both restore. */
	assert_int_equal(cv_cert_restore(fx->va2, blob, len, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_restore(fx->vb, blob_pw, len_pw, PASSWORD, NULL), CV_OK);
	free(before);
	OPENSSL_free(blob);
	OPENSSL_free(blob_pw);
}

/* Cut at every length: each refused, nothing committed. */
static void
test_truncate_every_length(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL, *cut;
	size_t len = 0, i;
	uint64_t gen;
	char *before;

	create(fx->va, "locked", ec_locked);
	assert_int_equal(cv_cert_backup(fx->va, "locked", NULL, &blob, &len), CV_OK);
	assert_true(len < 16384);
	before = cvt_digest_of(fx->a2);
	gen = cv_vault_generation(fx->va2);
	for (i = 0; i < len; i++) {
		/* A copy of exactly i bytes, so a read past it is caught. */
		cut = malloc(i ? i : 1);
		assert_non_null(cut);
		memcpy(cut, blob, i);
		assert_int_not_equal(cv_cert_restore(fx->va2, cut, i, NULL, NULL), CV_OK);
		free(cut);
		assert_int_equal(cv_vault_generation(fx->va2), gen);
	}
	CVT_ASSERT_DIR_UNCHANGED(fx->a2, before);
	free(before);
	OPENSSL_free(blob);
}

/* Each write of a restore failing in turn, then its commit: refused, the
 * vault as it was; with nothing failing it goes through. */
static void
test_failed_writes(void **state)
{
	fixture *fx = *state;
	unsigned char *blob = NULL;
	size_t len = 0;
	int i, total;
	char *before;

	create(fx->va, "open", rsa_open);
	create(fx->va, "open", rsa_open);
	assert_int_equal(cv_cert_backup(fx->va, "open", PASSWORD, &blob, &len), CV_OK);
	before = cvt_digest_of(fx->b);
	/* Count the writes of a restore that fails only at its commit. */
	cvt_puts_seen = 0;
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_ERR_IO);
	cvt_fail_commit_at = 0;
	total = cvt_puts_seen;
	assert_true(total > 8);
	CVT_ASSERT_DIR_UNCHANGED(fx->b, before);
	for (i = 1; i <= total; i++) {
		cvt_fail_put_at = i;
		assert_int_not_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_OK);
		cvt_fail_put_at = 0;
		CVT_ASSERT_DIR_UNCHANGED(fx->b, before);
	}
	assert_int_equal(cv_cert_restore(fx->vb, blob, len, PASSWORD, NULL), CV_OK);
	assert_verifies(fx->vb);
	free(before);
	OPENSSL_free(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exportable_key_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_operation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_held_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password_vault_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_needs_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_every_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_writes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
