/* Unit tests: the certificate lifecycle through store.h.
 *
 * Every refused call is checked to leave the vault byte-for-byte as it was:
 * the digest of `mdb_dump -a` is compared before and after.  Failure
 * injection: the program is linked with --wrap=mdb_put,--wrap=mdb_txn_commit
 * so that the Nth write or commit can be made to fail.
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
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "store.h"
#include "fixture.h"

/* --- Fixtures ----------------------------------------------------------- */

typedef cvt_fixture fixture;

static EVP_PKEY *
new_rsa(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	assert_non_null(k);
	return k;
}

static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
	  int ca, long days_from, long days_to)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), days_from * 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), days_to * 86400);
	X509_set_pubkey(x, pub);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || cvt_vault_make(fx, "LifeKV") != 0) {
		free(fx);
		return -1;
	}
	fx->ca_key = new_rsa();
	fx->ca = make_cert("Throwaway Test CA", fx->ca_key, NULL, fx->ca_key, 1, 0, 365);
	cvt_fail_put_at = cvt_fail_commit_at = 0;
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

static const char *unknown_policy =
	"{\"key_props\":{\"kty\":\"RSA\",\"key_size\":2048,\"exportable\":true},"
	"\"x509_props\":{\"subject\":\"CN=web.contoso.com\","
	"\"sans\":{\"dns_names\":[\"web.contoso.com\"]},\"validity_months\":6},"
	"\"issuer\":{\"name\":\"Unknown\"}}";

/* Sign the pending CSR of a certificate with the fixture's CA. */
static X509 *
sign_pending(fixture *fx, const char *name)
{
	cv_operation *op = NULL;
	const unsigned char *p;
	X509_REQ *req;
	EVP_PKEY *pub;
	X509 *x;

	assert_int_equal(cv_pending_get(fx->v, name, &op), CV_OK);
	p = op->csr.data;
	req = d2i_X509_REQ(NULL, &p, (long)op->csr.len);
	assert_non_null(req);
	pub = X509_REQ_get0_pubkey(req);
	assert_int_equal(X509_REQ_verify(req, pub), 1);
	x = make_cert(name, pub, fx->ca, fx->ca_key, 0, 0, 90);
	X509_REQ_free(req);
	cv_operation_free(op);
	return x;
}

static char *
pem_of(X509 *a, X509 *b, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_X509(bio, a);
	if (b != NULL)
		PEM_write_bio_X509(bio, b);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

/* --- Tests -------------------------------------------------------------- */

static void
create_self_signed(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_operation *op = NULL;
	cv_cert_version *cv = NULL, **list = NULL;
	const unsigned char *d;
	X509 *x;
	size_t n;

	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "Default-Cert", p, NULL, &op), CV_OK);
	assert_int_equal(op->status, CV_OP_COMPLETED);
	assert_int_equal(strlen(op->version), CV_VERSION_LEN);
	assert_int_equal(cv_cert_get(fx->v, "default-cert", NULL, &cv), CV_OK);
	assert_string_equal(cv->name, "Default-Cert");
	assert_string_equal(cv->version, op->version);
	assert_true(cv->enabled);
	assert_true(cv->is_current);
	assert_false(cv->pending);
	assert_int_equal(strlen(cv->x5t), 27);
	assert_string_equal(cv->subject, "CN=CLIGetDefaultPolicy");
	assert_true(cv->exp - cv->nbf > 360LL * 86400 && cv->exp - cv->nbf < 370LL * 86400);
	d = cv->der.data;
	x = d2i_X509(NULL, &d, (long)cv->der.len);
	assert_non_null(x);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(x)), 1);
	X509_free(x);
	assert_int_equal(cv_cert_list(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 1);
	cv_cert_version_list_free(list, n);
	cv_cert_version_free(cv);
	cv_operation_free(op);
	cv_policy_free(p);
}

static void
create_needs_login_and_valid_name(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	char *before = cvt_vault_digest(fx);

	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "bad_name", p, NULL, NULL), CV_ERR_BAD_NAME);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_cert_create(fx->v, "ok", p, NULL, NULL), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	cv_policy_free(p);
}

static void
pending_then_merge(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(unknown_policy);
	cv_operation *op = NULL;
	cv_cert_version *cv = NULL, **list = NULL;
	X509 *signed_leaf, *stranger;
	EVP_PKEY *other = new_rsa();
	char *pem, *before;
	size_t len, n;

	assert_int_equal(cv_cert_create(fx->v, "web", p, NULL, &op), CV_OK);
	assert_int_equal(op->status, CV_OP_IN_PROGRESS);
	assert_string_equal(op->status_details,
			    "Pending certificate created. Please Perform Merge to complete the request.");
	assert_string_equal(op->issuer_name, "Unknown");
	assert_true(op->csr.len > 0);
	cv_operation_free(op);

	/* Until the merge: a disabled placeholder with no version. */
	assert_int_equal(cv_cert_get(fx->v, "web", NULL, &cv), CV_OK);
	assert_string_equal(cv->version, "");
	assert_false(cv->enabled);
	assert_true(cv->pending);
	cv_cert_version_free(cv);

	/* A second create is Key Vault's conflict, and changes nothing. */
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_create(fx->v, "WEB", p, NULL, NULL), CV_ERR_CONFLICT);
	assert_string_equal(cv_err_detail(),
			    "A new key vault certificate can not be created or imported while "
			    "a pending key vault certificate's status is inProgress.");
	CVT_ASSERT_UNCHANGED(fx, before);

	/* A certificate for another key: Key Vault's mismatch text. */
	stranger = make_cert("web", other, fx->ca, fx->ca_key, 0, 0, 90);
	pem = pem_of(stranger, NULL, &len);
	assert_int_equal(cv_pending_merge(fx->v, "web", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_KEY_MISMATCH);
	assert_string_equal(cv_strerror(CV_ERR_KEY_MISMATCH),
			    "The public key of the end-entity certificate in the specified X.509 "
			    "certificate content does not match the public part of the specified "
			    "private key. Please check if certificate is valid");
	free(pem);
	/* Garbage and truncation. */
	assert_int_equal(cv_pending_merge(fx->v, "web", (const unsigned char *)"garbage", 7,
					  NULL, NULL), CV_ERR_BAD_CERT);
	signed_leaf = sign_pending(fx, "web");
	pem = pem_of(signed_leaf, fx->ca, &len);
	assert_int_not_equal(cv_pending_merge(fx->v, "web", (unsigned char *)pem, len / 3,
					      NULL, NULL), CV_OK);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	/* The CA's answer, leaf and chain. */
	assert_int_equal(cv_pending_merge(fx->v, "web", (unsigned char *)pem, len, NULL, &cv),
			 CV_OK);
	assert_true(cv->enabled);
	assert_true(cv->is_current);
	assert_int_equal(cv->chain_len, 1);
	assert_string_equal(cv->issuer, "CN=Throwaway Test CA");
	cv_cert_version_free(cv);
	assert_int_equal(cv_pending_get(fx->v, "web", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_COMPLETED);
	cv_operation_free(op);
	/* A second merge is refused: the operation is over. */
	assert_int_equal(cv_pending_merge(fx->v, "web", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_NOT_IN_PROGRESS);
	assert_int_equal(cv_cert_list_versions(fx->v, "web", &list, &n), CV_OK);
	assert_int_equal(n, 1);
	cv_cert_version_list_free(list, n);

	free(pem);
	X509_free(stranger);
	X509_free(signed_leaf);
	EVP_PKEY_free(other);
	cv_policy_free(p);
}

static void
old_csr_answer_is_refused(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(unknown_policy);
	cv_cert_version *cv = NULL;
	X509 *first;
	char *pem, *before;
	size_t len;

	assert_int_equal(cv_cert_create(fx->v, "api", p, NULL, NULL), CV_OK);
	first = sign_pending(fx, "api");
	pem = pem_of(first, NULL, &len);
	assert_int_equal(cv_pending_merge(fx->v, "api", (unsigned char *)pem, len, NULL, NULL), CV_OK);
	/* A new version with a new key: the old answer no longer fits. */
	assert_int_equal(cv_cert_create(fx->v, "api", p, NULL, NULL), CV_OK);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_pending_merge(fx->v, "api", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_CSR_REUSED);
	CVT_ASSERT_UNCHANGED(fx, before);
	/* The first version stays in service meanwhile. */
	assert_int_equal(cv_cert_get(fx->v, "api", NULL, &cv), CV_OK);
	assert_true(cv->enabled);
	assert_true(cv->pending);
	assert_true(cv->der.len > 0);
	cv_cert_version_free(cv);
	free(before);
	free(pem);
	X509_free(first);
	cv_policy_free(p);
}

static void
cancel_and_delete(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(unknown_policy);
	cv_operation *op = NULL;
	cv_cert_version *cv = NULL;
	X509 *leaf;
	char *pem, *before;
	size_t len;

	assert_int_equal(cv_cert_create(fx->v, "tmp", p, NULL, NULL), CV_OK);
	leaf = sign_pending(fx, "tmp");
	pem = pem_of(leaf, NULL, &len);
	assert_int_equal(cv_pending_cancel(fx->v, "tmp", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_CANCELLED);
	assert_true(op->cancellation_requested);
	cv_operation_free(op);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_pending_cancel(fx->v, "tmp", NULL), CV_ERR_NOT_IN_PROGRESS);
	assert_int_equal(cv_pending_merge(fx->v, "tmp", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_NOT_IN_PROGRESS);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_pending_delete(fx->v, "tmp"), CV_OK);
	assert_int_equal(cv_pending_get(fx->v, "tmp", &op), CV_ERR_NO_OPERATION);
	/* Never completed, no version: the certificate goes with it. */
	assert_int_equal(cv_cert_get(fx->v, "tmp", NULL, &cv), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_pending_delete(fx->v, "tmp"), CV_ERR_NO_OPERATION);
	free(pem);
	X509_free(leaf);
	cv_policy_free(p);
}

static void
new_versions_and_reuse_key(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_cert_version *a = NULL, *b = NULL, *c = NULL, **list = NULL;
	size_t n;

	assert_int_equal(cv_policy_default(&p), CV_OK);
	p->reuse_key = 1;
	assert_int_equal(cv_cert_create(fx->v, "r", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "r", NULL, &a), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "r", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "r", NULL, &b), CV_OK);
	assert_string_not_equal(a->version, b->version);
	assert_memory_equal(a->key_id, b->key_id, 20);
	p->reuse_key = 0;
	assert_int_equal(cv_cert_create(fx->v, "r", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "r", NULL, &c), CV_OK);
	assert_memory_not_equal(b->key_id, c->key_id, 20);
	assert_int_equal(cv_cert_list_versions(fx->v, "r", &list, &n), CV_OK);
	assert_int_equal(n, 3);
	assert_string_equal(list[0]->version, a->version);
	assert_false(list[0]->is_current);
	assert_true(list[2]->is_current);
	cv_cert_version_list_free(list, n);
	cv_cert_version_free(a);
	cv_cert_version_free(b);
	cv_cert_version_free(c);
	cv_policy_free(p);
}

static char *
pem_with_key(X509 *x, EVP_PKEY *k, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL);
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n);
	memcpy(out, data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

static void
import_and_secret(void **state)
{
	fixture *fx = *state;
	EVP_PKEY *k = new_rsa();
	X509 *x = make_cert("import.contoso.com", k, fx->ca, fx->ca_key, 0, -1, 200);
	X509 *old = make_cert("old.contoso.com", k, fx->ca, fx->ca_key, 0, -30, -1);
	cv_cert_version *cv = NULL;
	cv_policy *p = NULL;
	unsigned char *secret = NULL;
	size_t len, slen;
	char *pem = pem_with_key(x, k, &len), *before;
	char *expired = NULL;
	size_t elen;

	assert_int_equal(cv_cert_import(fx->v, "imported", (unsigned char *)pem, len, NULL,
					NULL, NULL, &cv), CV_OK);
	assert_string_equal(cv->subject, "CN=import.contoso.com");
	cv_cert_version_free(cv);
	assert_int_equal(cv_cert_policy_get(fx->v, "imported", &p), CV_OK);
	assert_string_equal(p->issuer_name, "Unknown");
	assert_true(p->exportable);
	assert_int_equal(p->key_size, 2048);
	assert_int_equal(p->content_type, CV_CONTENT_PEM);
	cv_policy_free(p);

	/* The secret holds the key, since an imported key is exportable. */
	assert_int_equal(cv_secret_get(fx->v, "imported", NULL, CV_SECRET_PEM, NULL, &secret,
				       &slen), CV_OK);
	assert_non_null(memmem(secret, slen, "PRIVATE KEY", 11));
	assert_non_null(memmem(secret, slen, "BEGIN CERTIFICATE", 17));
	OPENSSL_clear_free(secret, slen);
	assert_int_equal(cv_secret_get(fx->v, "imported", NULL, CV_SECRET_PFX, "pfx-pass",
				       &secret, &slen), CV_OK);
	{
		const unsigned char *q = secret;
		PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)slen);
		EVP_PKEY *pk = NULL;
		X509 *px = NULL;

		assert_non_null(p12);
		assert_int_equal(PKCS12_parse(p12, "pfx-pass", &pk, &px, NULL), 1);
		assert_int_equal(EVP_PKEY_eq(pk, k), 1);
		EVP_PKEY_free(pk);
		X509_free(px);
		PKCS12_free(p12);
	}
	OPENSSL_clear_free(secret, slen);

	/* Refusals leave the vault as it was. */
	before = cvt_vault_digest(fx);
	{
		char longpw[202];

		memset(longpw, 'p', 201);
		longpw[201] = '\0';
		assert_int_equal(cv_cert_import(fx->v, "pw", (unsigned char *)pem, len, longpw,
						NULL, NULL, NULL), CV_ERR_INVALID);
		assert_int_equal(cv_secret_get(fx->v, "imported", NULL, CV_SECRET_PFX, longpw,
					       &secret, &slen), CV_ERR_INVALID);
		longpw[200] = '\0';
		assert_int_equal(cv_secret_get(fx->v, "imported", NULL, CV_SECRET_PFX, longpw,
					       &secret, &slen), CV_OK);
		OPENSSL_clear_free(secret, slen);
	}
	expired = pem_with_key(old, k, &elen);
	assert_int_equal(cv_cert_import(fx->v, "expired", (unsigned char *)expired, elen, NULL,
					NULL, NULL, NULL), CV_ERR_EXPIRED);
	assert_int_equal(cv_cert_import(fx->v, "half", (unsigned char *)pem, len / 2, NULL,
					NULL, NULL, NULL) != CV_OK, 1);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_secret_get(fx->v, "imported", NULL, CV_SECRET_PEM, NULL, &secret,
				       &slen), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_cert_import(fx->v, "x", (unsigned char *)pem, len, NULL, NULL, NULL,
					NULL), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	free(expired);
	free(pem);
	X509_free(x);
	X509_free(old);
	EVP_PKEY_free(k);
}

static void
not_exportable_secret_has_no_key(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	unsigned char *secret = NULL;
	size_t slen;

	assert_int_equal(cv_policy_default(&p), CV_OK);
	p->exportable = 0;
	p->content_type = CV_CONTENT_PEM;
	assert_int_equal(cv_cert_create(fx->v, "locked", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_secret_get(fx->v, "locked", NULL, CV_SECRET_AS_STORED, NULL,
				       &secret, &slen), CV_OK);
	assert_null(memmem(secret, slen, "PRIVATE KEY", 11));
	assert_non_null(memmem(secret, slen, "BEGIN CERTIFICATE", 17));
	OPENSSL_clear_free(secret, slen);
	cv_policy_free(p);
}

static void
attributes_and_policy_update(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL, *q = NULL;
	cv_cert_version *cv = NULL;
	cv_tags tags = { 0 };
	char *names[] = { "env", "owner" }, *values[] = { "prod", "web team" };
	char *before;
	const char *patch = "{\"x509_props\":{\"validity_months\":24}}";
	const char *bogus = "{\"x509_props\":{\"bogus\":1}}";

	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "attr", p, NULL, NULL), CV_OK);
	tags.names = names;
	tags.values = values;
	tags.n = 2;
	assert_int_equal(cv_cert_set_attributes(fx->v, "attr", NULL, 0, &tags, &cv), CV_OK);
	assert_false(cv->enabled);
	assert_int_equal(cv->tags.n, 2);
	assert_string_equal(cv->tags.values[1], "web team");
	cv_cert_version_free(cv);

	before = cvt_vault_digest(fx);
	tags.n = 16;
	assert_int_equal(cv_cert_set_attributes(fx->v, "attr", NULL, 1, &tags, NULL),
			 CV_ERR_INVALID);
	assert_int_equal(cv_cert_set_attributes(fx->v, "attr", "0123", 1, NULL, NULL),
			 CV_ERR_NOT_FOUND);
	assert_int_equal(cv_cert_policy_update(fx->v, "attr", bogus, strlen(bogus), NULL),
			 CV_ERR_POLICY);
	assert_int_equal(cv_cert_policy_update(fx->v, "attr", "{", 1, NULL), CV_ERR_JSON);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	assert_int_equal(cv_cert_policy_update(fx->v, "attr", patch, strlen(patch), &q), CV_OK);
	assert_int_equal(q->validity_months, 24);
	assert_int_equal(q->key_size, p->key_size);
	assert_string_equal(q->subject, p->subject);
	assert_int_equal(q->n_actions, p->n_actions);
	cv_policy_free(q);
	cv_policy_free(p);
}

static void
issuers_keep_passwords_sealed(void **state)
{
	fixture *fx = *state;
	cv_issuer in = { 0 }, *out = NULL, **list = NULL;
	cv_admin admin = { "Ada", "Lovelace", "ada@contoso.com", "+1 555 0100" };
	char cmd[400];
	size_t n;

	snprintf(in.name, sizeof(in.name), "DigiCertIssuer");
	in.provider = "digicert";
	in.account_id = "acct-77";
	in.password = "s3cr3t-api-key-Zq9";
	in.organization_id = "org-1";
	in.webroot = "/srv/www";
	in.admins = &admin;
	in.n_admins = 1;
	in.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, &out), CV_OK);
	assert_string_equal(out->provider, "DigiCert");
	assert_non_null(out->directory_url);
	assert_null(out->password);
	assert_true(out->has_password);
	cv_issuer_free(out);
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_EXISTS);

	snprintf(cmd, sizeof(cmd), "grep -c 's3cr3t-api' '%s/data.mdb' >/dev/null", fx->vault);
	assert_int_not_equal(system(cmd), 0);

	/* An update without a password keeps the sealed one. */
	memset(&in, 0, sizeof(in));
	snprintf(in.name, sizeof(in.name), "digicertissuer");
	in.account_id = "acct-78";
	in.enabled = -1;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_UPDATE, NULL), CV_OK);
	assert_int_equal(cv_issuer_get(fx->v, "DigiCertIssuer", 1, &out), CV_OK);
	assert_string_equal(out->password, "s3cr3t-api-key-Zq9");
	assert_string_equal(out->account_id, "acct-78");
	assert_true(out->enabled);
	assert_int_equal(out->n_admins, 1);
	assert_string_equal(out->admins[0].email, "ada@contoso.com");
	cv_issuer_free(out);

	in.provider = "NoSuchCA";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_UPDATE, NULL), CV_ERR_INVALID);
	assert_int_equal(cv_issuer_list(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_null(list[0]->password);
	cv_issuer_free(list[0]);
	free(list);
	assert_int_equal(cv_issuer_delete(fx->v, "DigiCertIssuer"), CV_OK);
	assert_int_equal(cv_issuer_delete(fx->v, "DigiCertIssuer"), CV_ERR_NOT_FOUND);
}

static void
contacts(void **state)
{
	fixture *fx = *state;
	cv_contact c = { "ops@contoso.com", "Ops", "+1 555 0101" }, bad = { "not-an-email", 0, 0 };
	cv_contact *list = NULL;
	size_t n, i;

	assert_int_equal(cv_contact_add(fx->v, &c), CV_OK);
	assert_int_equal(cv_contact_add(fx->v, &c), CV_ERR_EXISTS);
	assert_int_equal(cv_contact_add(fx->v, &bad), CV_ERR_INVALID);
	assert_int_equal(cv_contact_list(fx->v, &list, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].name, "Ops");
	for (i = 0; i < n; i++)
		cv_contact_clear(&list[i]);
	free(list);
	assert_int_equal(cv_contact_delete(fx->v, "OPS@contoso.com"), CV_OK);
	assert_int_equal(cv_contact_delete(fx->v, "ops@contoso.com"), CV_ERR_NOT_FOUND);
}

static void
failed_writes_change_nothing(void **state)
{
	fixture *fx = *state;
	cv_policy *p = policy_from(unknown_policy);
	cv_policy *d = NULL;
	X509 *leaf;
	char *pem, *before;
	size_t len;
	int i;

	assert_int_equal(cv_cert_create(fx->v, "inject", p, NULL, NULL), CV_OK);
	leaf = sign_pending(fx, "inject");
	pem = pem_of(leaf, fx->ca, &len);
	before = cvt_vault_digest(fx);
	/* A merge writes several records; fail each one in turn. */
	for (i = 1; i <= 4; i++) {
		cvt_fail_put_at = i;
		assert_int_not_equal(cv_pending_merge(fx->v, "inject", (unsigned char *)pem, len,
						      NULL, NULL), CV_OK);
		cvt_fail_put_at = 0;
		CVT_ASSERT_UNCHANGED(fx, before);
	}
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_pending_merge(fx->v, "inject", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_IO);
	cvt_fail_commit_at = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	/* And a create of a self-signed certificate. */
	assert_int_equal(cv_policy_default(&d), CV_OK);
	cvt_fail_put_at = 2;
	assert_int_not_equal(cv_cert_create(fx->v, "inject2", d, NULL, NULL), CV_OK);
	cvt_fail_put_at = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	/* With nothing injected the same calls succeed. */
	assert_int_equal(cv_pending_merge(fx->v, "inject", (unsigned char *)pem, len, NULL, NULL),
			 CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "inject2", d, NULL, NULL), CV_OK);
	free(before);
	free(pem);
	X509_free(leaf);
	cv_policy_free(d);
	cv_policy_free(p);
}

static void
survives_reopen(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_cert_version *a = NULL, *b = NULL;

	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "durable", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "durable", NULL, &a), CV_OK);
	cv_vault_close(fx->v);
	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	assert_int_equal(cv_cert_get(fx->v, "durable", NULL, &b), CV_OK);
	assert_string_equal(a->version, b->version);
	assert_string_equal(a->x5t, b->x5t);
	cv_cert_version_free(a);
	cv_cert_version_free(b);
	cv_policy_free(p);
}

static void
keys_for_the_token(void **state)
{
	fixture *fx = *state;
	cv_policy *self = NULL, *pend = policy_from(unknown_policy);
	cv_key_info a, b, walk;
	cv_cert_version *cv = NULL;
	uint64_t nums[4], first, after;
	size_t n, seen = 0;
	EVP_PKEY *priv = NULL;

	assert_int_equal(cv_policy_default(&self), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "tok", self, NULL, NULL), CV_OK);
	assert_int_equal(cv_key_find_name(fx->v, "TOK", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	first = nums[0];
	assert_int_equal(cv_key_get(fx->v, first, &a), CV_OK);
	assert_int_equal(a.state, CV_KEY_CURRENT);
	assert_string_equal(a.name, "tok");
	assert_int_equal(a.kty, CV_KEY_RSA);
	assert_int_equal(a.bits, 2048);
	assert_true(a.enabled);
	assert_true(a.exp > a.nbf && a.nbf > 0);
	assert_true(a.key_usage & CV_KU_DIGITAL_SIGNATURE);
	assert_int_equal(cv_cert_get(fx->v, "tok", NULL, &cv), CV_OK);
	assert_memory_equal(a.key_id, cv->key_id, 20);
	assert_int_equal(cv_key_find_id(fx->v, a.key_id, 20, nums, 4, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_true(nums[0] == first);
	assert_int_equal(cv_key_find_id(fx->v, a.key_id, 19, nums, 4, &n), CV_OK);
	assert_int_equal(n, 0);

	/* A new version pending: both keys are live, in that order. */
	assert_int_equal(cv_cert_create(fx->v, "tok", pend, NULL, NULL), CV_OK);
	assert_int_equal(cv_key_find_name(fx->v, "tok", nums, &n), CV_OK);
	assert_int_equal(n, 2);
	assert_true(nums[0] == first);
	assert_int_equal(cv_key_get(fx->v, nums[1], &b), CV_OK);
	assert_int_equal(b.state, CV_KEY_PENDING);
	assert_true(b.num > a.num);

	/* Walking shows the current key only: a renewal's pending key is
	 * found by its key id, never where a client picks keys by label. */
	for (after = 0; seen < 10 && cv_key_next(fx->v, after, &walk) == CV_OK;) {
		assert_int_equal(walk.state, CV_KEY_CURRENT);
		assert_true(walk.num > after);
		after = walk.num;
		seen++;
		cv_key_info_clear(&walk);
	}
	assert_int_equal(seen, 1);
	assert_int_equal(cv_key_find_id(fx->v, b.key_id, 20, nums, 4, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_true(nums[0] == b.num);

	/* The private key matches the public one, and needs a login. */
	assert_int_equal(cv_key_private(fx->v, first, &priv), CV_OK);
	{
		const unsigned char *p = a.spki.data;
		EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)a.spki.len);

		assert_int_equal(EVP_PKEY_eq(pub, priv), 1);
		EVP_PKEY_free(pub);
	}
	EVP_PKEY_free(priv);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_key_private(fx->v, first, &priv), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);

	/* Deleting the operation retires nothing else and drops its key. */
	assert_int_equal(cv_pending_delete(fx->v, "tok"), CV_OK);
	assert_int_equal(cv_key_get(fx->v, b.num, &walk), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_key_find_name(fx->v, "tok", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	/* A renewal makes the old key an older version's: still read by
	 * number with its version's validity, never found. */
	assert_int_equal(cv_cert_create(fx->v, "tok", self, NULL, NULL), CV_OK);
	assert_int_equal(cv_key_get(fx->v, first, &walk), CV_OK);
	assert_int_equal(walk.state, CV_KEY_OLDER);
	assert_true(walk.enabled);
	assert_true(walk.nbf == a.nbf && walk.exp == a.exp);
	cv_key_info_clear(&walk);
	/* reuse_key: the same key id lives on under the new version's number. */
	assert_int_equal(cv_key_find_id(fx->v, a.key_id, 20, nums, 4, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_true(nums[0] != first);
	/* A renewal pending with the same key: the current key ranks first,
	 * and the walk shows one key. */
	pend->reuse_key = 1;
	assert_int_equal(cv_cert_create(fx->v, "tok", pend, NULL, NULL), CV_OK);
	assert_int_equal(cv_key_find_id(fx->v, a.key_id, 20, nums, 4, &n), CV_OK);
	assert_int_equal(n, 2);
	assert_int_equal(cv_key_get(fx->v, nums[0], &walk), CV_OK);
	assert_int_equal(walk.state, CV_KEY_CURRENT);
	cv_key_info_clear(&walk);
	for (after = 0, seen = 0; seen < 10 && cv_key_next(fx->v, after, &walk) == CV_OK;) {
		after = walk.num;
		seen++;
		cv_key_info_clear(&walk);
	}
	assert_int_equal(seen, 1);
	assert_int_equal(cv_pending_delete(fx->v, "tok"), CV_OK);
	self->reuse_key = 0;
	assert_int_equal(cv_cert_create(fx->v, "tok", self, NULL, NULL), CV_OK);
	assert_int_equal(cv_key_find_id(fx->v, a.key_id, 20, nums, 4, &n), CV_OK);
	assert_int_equal(n, 0);
	assert_int_equal(cv_key_get(fx->v, 999999, &walk), CV_ERR_NOT_FOUND);

	cv_key_info_clear(&a);
	cv_key_info_clear(&b);
	cv_cert_version_free(cv);
	cv_policy_free(self);
	cv_policy_free(pend);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_self_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(create_needs_login_and_valid_name, setup, teardown),
		cmocka_unit_test_setup_teardown(pending_then_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(old_csr_answer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(new_versions_and_reuse_key, setup, teardown),
		cmocka_unit_test_setup_teardown(import_and_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(not_exportable_secret_has_no_key, setup, teardown),
		cmocka_unit_test_setup_teardown(attributes_and_policy_update, setup, teardown),
		cmocka_unit_test_setup_teardown(issuers_keep_passwords_sealed, setup, teardown),
		cmocka_unit_test_setup_teardown(contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_writes_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_for_the_token, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
