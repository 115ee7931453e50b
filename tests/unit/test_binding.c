/* Unit tests: what a key may do is decided once, and every change needs
 * a login.
 *
 * The attacks here are the ones a user who can write data.mdb (but knows no
 * PIN) can make: with the vault closed, records are rewritten straight
 * through LMDB, field by field with the store's own record functions, and
 * the vault is then opened and used as its owner would.  Whatever was
 * changed, the store must refuse the key as a damaged vault
 * (CV_ERR_CORRUPT), never hand it out, merge it or show it with another
 * key's certificate.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "store.h"
#include "fixture.h"
#include "record.h"

typedef cvt_fixture fixture;

/* --- Helpers ------------------------------------------------------------ */

static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
	X509_set_pubkey(x, pub);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || cvt_vault_make(fx, "BindKV") != 0) {
		free(fx);
		return -1;
	}
	fx->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (fx->ca_key == NULL)
		return -1;
	fx->ca = make_cert("Throwaway Test CA", fx->ca_key, NULL, fx->ca_key);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	int rc = cvt_vault_remove(fx);

	free(fx);
	return rc;
}

static cv_policy *
policy_from(const char *json)
{
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(json, strlen(json), &p), CV_OK);
	return p;
}

static const char *self_locked =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false,"
	"\"reuse_key\":true},"
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"},"
	"\"x509_props\":{\"subject\":\"CN=locked\",\"key_usage\":[\"digitalSignature\"]},"
	"\"issuer\":{\"name\":\"Self\"}}";

static const char *unknown_locked =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"},"
	"\"x509_props\":{\"subject\":\"CN=pending\"},"
	"\"issuer\":{\"name\":\"Unknown\"}}";

static const char *to_exportable = "{\"key_props\":{\"exportable\":true}}";

/* The "name\0version" key of a certificate's current version. */
static size_t
vkey_of(fixture *fx, const char *name, unsigned char *out, char version[CV_VERSION_LEN + 1])
{
	cv_cert_version *cv = NULL;
	size_t n = strlen(name);

	assert_int_equal(cv_cert_get(fx->v, name, NULL, &cv), CV_OK);
	memcpy(version, cv->version, CV_VERSION_LEN + 1);
	cv_cert_version_free(cv);
	memcpy(out, name, n + 1);
	memcpy(out + n + 1, version, CV_VERSION_LEN);
	return n + 1 + CV_VERSION_LEN;
}

/* The key numbers of a certificate (current first, then pending). */
static uint64_t
num_of(fixture *fx, const char *name)
{
	uint64_t nums[2] = { 0, 0 };
	size_t n = 0;

	assert_int_equal(cv_key_find_name(fx->v, name, nums, &n), CV_OK);
	assert_true(n >= 1);
	return nums[0];
}

/* --- The attacker: raw LMDB with the vault closed -------------------------- */

typedef struct raw {
	MDB_env *env;
	MDB_txn *txn;
} raw;

static void
raw_open(fixture *fx, raw *r)
{
	cv_vault_close(fx->v);
	fx->v = NULL;
	assert_int_equal(mdb_env_create(&r->env), 0);
	mdb_env_set_maxdbs(r->env, 16);
	assert_int_equal(mdb_env_open(r->env, fx->vault, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
}

static void
raw_close(fixture *fx, raw *r)
{
	assert_int_equal(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
}

static MDB_dbi
raw_dbi(raw *r, const char *table)
{
	MDB_dbi dbi;

	assert_int_equal(mdb_dbi_open(r->txn, table, 0, &dbi), 0);
	return dbi;
}

/* A copy of one field of a record (NULL if absent). */
static unsigned char *
raw_field(raw *r, const char *table, const void *key, size_t klen, unsigned tag,
	  size_t *len)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, d;
	size_t off = 0, vlen;
	const unsigned char *val;
	unsigned t;
	unsigned char *out = NULL;

	assert_int_equal(mdb_get(r->txn, raw_dbi(r, table), &k, &d), 0);
	while (cv_rec_next(d.mv_data, d.mv_size, &off, &t, &val, &vlen)) {
		if (t == tag) {
			out = malloc(vlen ? vlen : 1);
			memcpy(out, val, vlen);
			*len = vlen;
		}
	}
	return out;
}

/* Rewrite one field of a record, keeping every other field as it was. */
static void
raw_set(raw *r, const char *table, const void *key, size_t klen, unsigned tag,
	const void *nv, size_t nlen)
{
	MDB_dbi dbi = raw_dbi(r, table);
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, d;
	cv_wbuf w = { 0 };
	size_t off = 0, vlen;
	const unsigned char *val;
	unsigned t;
	int seen = 0;

	assert_int_equal(mdb_get(r->txn, dbi, &k, &d), 0);
	cv_rec_begin(&w, ((const unsigned char *)d.mv_data)[1]);
	while (cv_rec_next(d.mv_data, d.mv_size, &off, &t, &val, &vlen)) {
		if (t == tag) {
			cv_rec_put(&w, t, nv, nlen);
			seen = 1;
		} else {
			cv_rec_put(&w, t, val, vlen);
		}
	}
	if (!seen)
		cv_rec_put(&w, tag, nv, nlen);
	assert_int_equal(cv_rec_finish(&w), CV_OK);
	d.mv_data = w.p;
	d.mv_size = w.len;
	assert_int_equal(mdb_put(r->txn, dbi, &k, &d, 0), 0);
	cv_wbuf_free(&w);
}

static void
raw_set_u64(raw *r, const char *table, const void *key, size_t klen, unsigned tag,
	    uint64_t n)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)n;
		n >>= 8;
	}
	raw_set(r, table, key, klen, tag, b, sizeof(b));
}

static void
raw_swap(raw *r, const char *table, const void *ka, size_t kalen, const void *kb,
	 size_t kblen, unsigned tag)
{
	size_t la = 0, lb = 0;
	unsigned char *a = raw_field(r, table, ka, kalen, tag, &la);
	unsigned char *b = raw_field(r, table, kb, kblen, tag, &lb);

	assert_non_null(a);
	assert_non_null(b);
	assert_true(la != lb || memcmp(a, b, la) != 0);
	raw_set(r, table, ka, kalen, tag, b, lb);
	raw_set(r, table, kb, kblen, tag, a, la);
	free(a);
	free(b);
}

static void
assert_corrupt_key(fixture *fx, uint64_t num)
{
	EVP_PKEY *k = NULL;

	assert_int_equal(cv_key_private(fx->v, num, &k), CV_ERR_CORRUPT);
	assert_null(k);
	assert_non_null(strstr(cv_err_detail(), "damaged"));
}

/* --- Exportability is fixed when the key is made ------------------------- */

static void
reuse_key_never_makes_a_key_exportable(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked);
	cv_cert_version *a = NULL, *b = NULL;
	unsigned char *secret = NULL;
	size_t slen;
	char *before;

	assert_int_equal(cv_cert_create(fx->v, "locked", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "locked", NULL, &a), CV_OK);

	/* Asking for the same key, now exportable: refused, naming why. */
	before = cvt_vault_digest(fx);
	p->exportable = 1;
	assert_int_equal(cv_cert_create(fx->v, "locked", p, NULL, NULL), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "not exportable"));
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	/* The same through a policy update, then a new version. */
	assert_int_equal(cv_cert_policy_update(fx->v, "locked", to_exportable,
					       strlen(to_exportable), NULL), CV_OK);
	cv_policy_free(p);
	assert_int_equal(cv_cert_policy_get(fx->v, "locked", &p), CV_OK);
	assert_true(p->reuse_key);
	assert_int_equal(cv_cert_create(fx->v, "locked", p, NULL, NULL), CV_ERR_POLICY);

	assert_int_equal(cv_secret_get(fx->v, "locked", NULL, CV_SECRET_PEM, NULL,
				       &secret, &slen), CV_OK);
	assert_null(memmem(secret, slen, "PRIVATE KEY", 11));
	OPENSSL_clear_free(secret, slen);

	/* Without reuse_key a new key is made, and it may be exportable. */
	p->reuse_key = 0;
	assert_int_equal(cv_cert_create(fx->v, "locked", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "locked", NULL, &b), CV_OK);
	assert_memory_not_equal(a->key_id, b->key_id, 20);
	assert_int_equal(cv_secret_get(fx->v, "locked", NULL, CV_SECRET_PEM, NULL,
				       &secret, &slen), CV_OK);
	assert_non_null(memmem(secret, slen, "PRIVATE KEY", 11));
	OPENSSL_clear_free(secret, slen);
	cv_cert_version_free(a);
	cv_cert_version_free(b);
	cv_policy_free(p);
}

/* --- Every change needs a login ---------------------------------------- */

static void
changes_need_a_login(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked), *q = policy_from(unknown_locked);
	cv_issuer is = { 0 };
	cv_contact c = { "ops@contoso.com", "Ops", NULL };
	cv_cert_version *cv = NULL, **list = NULL;
	cv_operation *op = NULL;
	cv_key_info info;
	size_t n;
	char *before;

	assert_int_equal(cv_cert_create(fx->v, "live", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "waiting", q, NULL, NULL), CV_OK);
	assert_int_equal(cv_contact_add(fx->v, &c), CV_OK);
	snprintf(is.name, sizeof(is.name), "ca1");
	is.provider = "DigiCert";
	is.account_id = "acct";
	is.dns_hook = "/usr/local/bin/dns-hook";
	is.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &is, CV_PUT_CREATE, NULL), CV_OK);

	cv_vault_logout(fx->v);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_policy_update(fx->v, "live", to_exportable,
					       strlen(to_exportable), NULL), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_cert_set_attributes(fx->v, "live", NULL, 0, NULL, NULL),
			 CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_pending_cancel(fx->v, "waiting", NULL), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_pending_delete(fx->v, "waiting"), CV_ERR_NOT_LOGGED_IN);
	snprintf(is.name, sizeof(is.name), "ca2");
	assert_int_equal(cv_issuer_put(fx->v, &is, CV_PUT_CREATE, NULL), CV_ERR_NOT_LOGGED_IN);
	is.account_id = "other";
	snprintf(is.name, sizeof(is.name), "ca1");
	assert_int_equal(cv_issuer_put(fx->v, &is, CV_PUT_UPDATE, NULL), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_issuer_delete(fx->v, "ca1"), CV_ERR_NOT_LOGGED_IN);
	c.email = "dev@contoso.com";
	assert_int_equal(cv_contact_add(fx->v, &c), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_contact_delete(fx->v, "ops@contoso.com"), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);

	/* The SO PIN opens the token's PINs, not its certificates. */
	assert_int_equal(cv_vault_login(fx->v, CV_USER_SO, "87654321", 8), CV_OK);
	assert_int_equal(cv_cert_set_attributes(fx->v, "live", NULL, 0, NULL, NULL),
			 CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_contact_delete(fx->v, "ops@contoso.com"), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);
	cv_vault_logout(fx->v);

	/* Public data stays readable without a PIN. */
	assert_int_equal(cv_cert_get(fx->v, "live", NULL, &cv), CV_OK);
	cv_cert_version_free(cv);
	assert_int_equal(cv_cert_list(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 2);
	cv_cert_version_list_free(list, n);
	assert_int_equal(cv_pending_get(fx->v, "waiting", &op), CV_OK);
	cv_operation_free(op);
	cv_policy_free(p);
	assert_int_equal(cv_cert_policy_get(fx->v, "live", &p), CV_OK);
	assert_int_equal(cv_key_get(fx->v, num_of(fx, "live"), &info), CV_OK);
	cv_key_info_clear(&info);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	/* A wrong PIN is still counted without a login. */
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "9999", 4), CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_cert_set_attributes(fx->v, "live", NULL, 0, NULL, NULL), CV_OK);
	cv_policy_free(p);
	cv_policy_free(q);
}

/* --- Tampering with data.mdb ------------------------------------------------ */

/* A pending key made exportable behind the owner's back: the owner's merge
 * would put the private key into the secret. */
static void
flipped_exportable_of_a_pending_key(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(unknown_locked);
	cv_operation *op = NULL;
	unsigned char vk[CV_NAME_MAX + 1 + CV_VERSION_LEN];
	uint64_t num;
	size_t vklen, len;
	X509_REQ *req;
	X509 *leaf;
	BIO *bio;
	char *pem, *before;
	long plen;
	raw r;

	assert_int_equal(cv_cert_create(fx->v, "pend", p, NULL, &op), CV_OK);
	{
		const unsigned char *q = op->csr.data;

		req = d2i_X509_REQ(NULL, &q, (long)op->csr.len);
		assert_non_null(req);
	}
	vklen = strlen("pend") + 1 + CV_VERSION_LEN;
	memcpy(vk, "pend", 5);
	memcpy(vk + 5, op->version, CV_VERSION_LEN);
	leaf = make_cert("pend", X509_REQ_get0_pubkey(req), fx->ca, fx->ca_key);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, leaf);
	plen = BIO_get_mem_data(bio, &pem);
	len = (size_t)plen;
	num = num_of(fx, "pend");

	raw_open(fx, &r);
	raw_set_u64(&r, "keys", vk, vklen, CV_T_EXPORTABLE, 1);
	raw_close(fx, &r);

	before = cvt_vault_digest(fx);
	assert_int_equal(cv_pending_merge(fx->v, "pend", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_CORRUPT);
	assert_non_null(strstr(cv_err_detail(), "pend/"));
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_corrupt_key(fx, num);

	BIO_free(bio);
	X509_free(leaf);
	X509_REQ_free(req);
	cv_operation_free(op);
	cv_policy_free(p);
}

/* The exportable flag of a version in service, and its key usage. */
static void
flipped_flags_of_a_key_in_service(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked);
	unsigned char vk[CV_NAME_MAX + 1 + CV_VERSION_LEN], *secret = NULL;
	char version[CV_VERSION_LEN + 1];
	size_t vklen, slen = 0;
	uint64_t num;
	raw r;

	assert_int_equal(cv_cert_create(fx->v, "svc", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "use", p, NULL, NULL), CV_OK);

	vklen = vkey_of(fx, "svc", vk, version);
	num = num_of(fx, "svc");
	raw_open(fx, &r);
	raw_set_u64(&r, "keys", vk, vklen, CV_T_EXPORTABLE, 1);
	raw_close(fx, &r);
	assert_corrupt_key(fx, num);
	assert_int_equal(cv_secret_get(fx->v, "svc", NULL, CV_SECRET_PEM, NULL, &secret, &slen),
			 CV_ERR_CORRUPT);
	assert_null(secret);

	/* digitalSignature only, widened to every use (0). */
	vklen = vkey_of(fx, "use", vk, version);
	num = num_of(fx, "use");
	raw_open(fx, &r);
	raw_set_u64(&r, "keys", vk, vklen, CV_T_KEY_USAGE, 0);
	raw_close(fx, &r);
	assert_corrupt_key(fx, num);
	cv_policy_free(p);
}

/* Public keys swapped between two key records: the module would sign with
 * one key while showing the other's public key. */
static void
swapped_public_keys(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked);
	unsigned char ka[CV_NAME_MAX + 1 + CV_VERSION_LEN], kb[CV_NAME_MAX + 1 + CV_VERSION_LEN];
	char va[CV_VERSION_LEN + 1], vb[CV_VERSION_LEN + 1];
	cv_cert_version *cv = NULL;
	cv_key_info info;
	size_t la, lb;
	uint64_t na, nb;
	raw r;

	assert_int_equal(cv_cert_create(fx->v, "aa", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "bb", p, NULL, NULL), CV_OK);
	la = vkey_of(fx, "aa", ka, va);
	lb = vkey_of(fx, "bb", kb, vb);
	na = num_of(fx, "aa");
	nb = num_of(fx, "bb");

	raw_open(fx, &r);
	raw_swap(&r, "keys", ka, la, kb, lb, CV_T_SPKI);
	raw_close(fx, &r);
	assert_corrupt_key(fx, na);
	assert_corrupt_key(fx, nb);
	assert_int_equal(cv_key_get(fx->v, na, &info), CV_ERR_CORRUPT);
	assert_int_equal(cv_cert_get(fx->v, "aa", NULL, &cv), CV_ERR_CORRUPT);
	assert_null(cv);

	/* The key ids too, so that the records look whole. */
	raw_open(fx, &r);
	raw_swap(&r, "keys", ka, la, kb, lb, CV_T_KEY_ID);
	raw_close(fx, &r);
	assert_corrupt_key(fx, na);
	assert_corrupt_key(fx, nb);
	assert_int_equal(cv_cert_get(fx->v, "bb", NULL, &cv), CV_ERR_CORRUPT);
	cv_policy_free(p);
}

/* Certificates swapped between two version records: a certificate shown
 * for, or signing with, a key it does not certify. */
static void
swapped_certificates(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked);
	unsigned char ka[CV_NAME_MAX + 1 + CV_VERSION_LEN], kb[CV_NAME_MAX + 1 + CV_VERSION_LEN];
	char va[CV_VERSION_LEN + 1], vb[CV_VERSION_LEN + 1];
	cv_cert_version *cv = NULL, **list = NULL;
	size_t la, lb, n = 0;
	uint64_t na;
	raw r;

	assert_int_equal(cv_cert_create(fx->v, "c1", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "c2", p, NULL, NULL), CV_OK);
	la = vkey_of(fx, "c1", ka, va);
	lb = vkey_of(fx, "c2", kb, vb);
	na = num_of(fx, "c1");

	raw_open(fx, &r);
	raw_swap(&r, "versions", ka, la, kb, lb, CV_T_DER);
	raw_swap(&r, "versions", ka, la, kb, lb, CV_T_KEY_ID);
	raw_close(fx, &r);
	assert_int_equal(cv_cert_get(fx->v, "c1", NULL, &cv), CV_ERR_CORRUPT);
	assert_null(cv);
	assert_non_null(strstr(cv_err_detail(), "c1"));
	assert_int_equal(cv_cert_list(fx->v, &list, &n), CV_ERR_CORRUPT);
	assert_corrupt_key(fx, na);
	cv_policy_free(p);
}

/* A key number pointed at another certificate's key: a handle to one key
 * must not sign with another. */
static void
redirected_key_number(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(self_locked);
	unsigned char kb[CV_NAME_MAX + 1 + CV_VERSION_LEN], nk[8];
	char vb[CV_VERSION_LEN + 1];
	MDB_val k, d;
	uint64_t na, n;
	size_t lb;
	int i;
	raw r;

	assert_int_equal(cv_cert_create(fx->v, "n1", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "n2", p, NULL, NULL), CV_OK);
	na = num_of(fx, "n1");
	lb = vkey_of(fx, "n2", kb, vb);

	raw_open(fx, &r);
	for (n = na, i = 7; i >= 0; i--, n >>= 8)
		nk[i] = (unsigned char)n;
	k.mv_data = nk;
	k.mv_size = sizeof(nk);
	d.mv_data = kb;
	d.mv_size = lb;
	assert_int_equal(mdb_put(r.txn, raw_dbi(&r, "key_nums"), &k, &d, 0), 0);
	raw_close(fx, &r);
	assert_corrupt_key(fx, na);
	cv_policy_free(p);
}

/* A vault of the format before keys were bound is refused with a line
 * saying so, never read with unbound keys. */
static void
old_format_is_refused(void **state)
{
	fixture *fx = *state;
	raw r;

	raw_open(fx, &r);
	raw_set_u64(&r, "meta", "header", 6, CV_T_VAULT_FORMAT, 1);
	assert_int_equal(mdb_txn_commit(r.txn), 0);
	mdb_env_close(r.env);
	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_ERR_FORMAT_VERSION);
	assert_non_null(strstr(cv_err_detail(), "format 1"));
	assert_null(fx->v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reuse_key_never_makes_a_key_exportable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(changes_need_a_login, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_exportable_of_a_pending_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(flipped_flags_of_a_key_in_service, setup,
						teardown),
		cmocka_unit_test_setup_teardown(swapped_public_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(swapped_certificates, setup, teardown),
		cmocka_unit_test_setup_teardown(redirected_key_number, setup, teardown),
		cmocka_unit_test_setup_teardown(old_format_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
