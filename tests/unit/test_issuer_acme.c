/* Unit tests: ACME issuer records and their account key (store/issuer.c)
 * through store.h, checked against OpenSSL: the JWK is the sealed key's
 * public half, a signature verifies as ES256, the binding's MAC is OpenSSL's
 * HMAC of the decoded key, and no call hands the private key out. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "store.h"
#include "fixture.h"
#include "internal.h"

typedef cvt_fixture fixture;

/* The base64url of "binding-key-for-the-tests-0123456789", no padding. */
#define EAB_KEY "YmluZGluZy1rZXktZm9yLXRoZS10ZXN0cy0wMTIzNDU2Nzg5"

static void
acme_issuer(fixture *fx, const char *name, const char *password)
{
	cv_issuer in = { 0 };

	snprintf(in.name, sizeof(in.name), "%s", name);
	in.provider = "ACME";
	in.directory_url = "https://127.0.0.1:14000/dir";
	in.account_id = "kid-1";
	in.password = (char *)password;
	in.http_listen = "127.0.0.1:5002";
	in.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_OK);
}

/* Base64url (no padding) decoded by OpenSSL's base64 decoder. */
static size_t
b64url_decode(const char *in, unsigned char *out)
{
	char buf[256];
	size_t n = strlen(in), i;
	int len;

	assert_true(n + 4 < sizeof(buf));
	for (i = 0; i < n; i++)
		buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (i % 4 != 0)
		buf[i++] = '=';
	buf[i] = '\0';
	len = EVP_DecodeBlock(out, (unsigned char *)buf, (int)i);
	assert_true(len > 0);
	return (size_t)len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
}

/* The stored record's raw field tag of issuer lname, copied. */
static unsigned char *
record_field(fixture *fx, const char *lname, unsigned tag, size_t *len)
{
	static const unsigned repeats[] = {
		CV_T_ADMIN_FIRST, CV_T_ADMIN_LAST, CV_T_ADMIN_EMAIL, CV_T_ADMIN_PHONE, 0
	};
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	unsigned char *copy;

	assert_int_equal(cv_txn_read(fx->v, &txn), CV_OK);
	assert_int_equal(cv_db_get(fx->v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val), CV_OK);
	assert_int_equal(cv_rec_parse(val.mv_data, val.mv_size, CV_REC_ISSUER, repeats, f), CV_OK);
	assert_true(f[tag].present);
	copy = malloc(f[tag].len);
	memcpy(copy, f[tag].p, f[tag].len);
	*len = f[tag].len;
	mdb_txn_abort(txn);
	return copy;
}

static EVP_PKEY *
stored_public_key(fixture *fx, const char *lname)
{
	size_t len;
	unsigned char *spki = record_field(fx, lname, CV_T_SPKI, &len);
	const unsigned char *p = spki;
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, (long)len);

	assert_non_null(pub);
	free(spki);
	return pub;
}

/* An EC P-256 public key made from a JWK's x and y alone. */
static EVP_PKEY *
key_of_jwk(const char *jwk)
{
	json_t *j = json_loads(jwk, 0, NULL);
	unsigned char point[65], x[48], y[48];
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(j, "crv")), "P-256");
	assert_null(json_object_get(j, "d"));
	assert_int_equal(b64url_decode(json_string_value(json_object_get(j, "x")), x), 32);
	assert_int_equal(b64url_decode(json_string_value(json_object_get(j, "y")), y), 32);
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	json_decref(j);
	return pk;
}

static int
es256_verifies(EVP_PKEY *pub, const unsigned char sig[64], const char *data)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int derlen, ok;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
	derlen = i2d_ECDSA_SIG(es, &der);
	assert_true(derlen > 0);
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	ok = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)data,
			      strlen(data)) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	return ok;
}

/* --- Tests -------------------------------------------------------------- */

static void
jwk_is_the_stored_public_key(void **state)
{
	fixture *fx = *state;
	char *jwk = NULL;
	EVP_PKEY *stored, *fromjwk;
	cv_issuer *is = NULL;

	acme_issuer(fx, "Acme1", EAB_KEY);
	assert_int_equal(cv_issuer_get(fx->v, "acme1", 0, &is), CV_OK);
	assert_true(is->has_account_key);
	assert_null(is->account_url);
	cv_issuer_free(is);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "acme1", &jwk), CV_OK);
	/* RFC 7638 order: crv, kty, x, y. */
	assert_int_equal(strncmp(jwk, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"", 30), 0);
	assert_non_null(strstr(jwk, "\",\"y\":\""));
	stored = stored_public_key(fx, "acme1");
	fromjwk = key_of_jwk(jwk);
	assert_int_equal(EVP_PKEY_eq(stored, fromjwk), 1);
	/* Public: read without the PIN too. */
	cv_vault_logout(fx->v);
	free(jwk);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "acme1", &jwk), CV_OK);
	free(jwk);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "nobody", &jwk), CV_ERR_NOT_FOUND);
	assert_null(jwk);
	EVP_PKEY_free(stored);
	EVP_PKEY_free(fromjwk);
}

static void
signature_verifies_as_es256(void **state)
{
	fixture *fx = *state;
	unsigned char sig[64], sig2[64];
	const char *data = "eyJhbGciOiJFUzI1NiJ9.eyJ0ZXJtc09mU2VydmljZUFncmVlZCI6dHJ1ZX0";
	char *jwk = NULL;
	EVP_PKEY *pub;

	acme_issuer(fx, "Acme1", NULL);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Acme1", (const unsigned char *)data,
						strlen(data), sig), CV_OK);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "Acme1", &jwk), CV_OK);
	pub = key_of_jwk(jwk);
	assert_true(es256_verifies(pub, sig, data));
	assert_false(es256_verifies(pub, sig, "other data"));
	/* ECDSA: a fresh signature each time, both good. */
	assert_int_equal(cv_issuer_account_sign(fx->v, "Acme1", (const unsigned char *)data,
						strlen(data), sig2), CV_OK);
	assert_true(es256_verifies(pub, sig2, data));
	cv_vault_logout(fx->v);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Acme1", (const unsigned char *)data,
						strlen(data), sig), CV_ERR_NOT_LOGGED_IN);
	EVP_PKEY_free(pub);
	free(jwk);
}

static void
eab_mac_is_hmac_of_the_decoded_key(void **state)
{
	fixture *fx = *state;
	const char *data = "eyJhbGciOiJIUzI1NiJ9.eyJrdHkiOiJFQyJ9";
	unsigned char mac[32], want[32], key[64];
	unsigned int wlen = 0;
	size_t klen;
	cv_issuer up = { 0 };

	acme_issuer(fx, "Acme1", EAB_KEY);
	assert_int_equal(cv_issuer_eab_mac(fx->v, "Acme1", (const unsigned char *)data,
					   strlen(data), mac), CV_OK);
	klen = b64url_decode(EAB_KEY, key);
	assert_int_equal(klen, strlen("binding-key-for-the-tests-0123456789"));
	assert_non_null(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)data,
			     strlen(data), want, &wlen));
	assert_int_equal(wlen, 32);
	assert_memory_equal(mac, want, 32);

	/* A password that is not base64url, and none at all. */
	snprintf(up.name, sizeof(up.name), "Acme1");
	up.password = "not base64url!";
	up.enabled = -1;
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, NULL), CV_OK);
	assert_int_equal(cv_issuer_eab_mac(fx->v, "Acme1", (const unsigned char *)data,
					   strlen(data), mac), CV_ERR_INVALID);
	acme_issuer(fx, "Acme2", NULL);
	assert_int_equal(cv_issuer_eab_mac(fx->v, "Acme2", (const unsigned char *)data,
					   strlen(data), mac), CV_ERR_NO_PASSWORD);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_issuer_eab_mac(fx->v, "Acme1", (const unsigned char *)data,
					   strlen(data), mac), CV_ERR_NOT_LOGGED_IN);
}

/* The private scalar, recovered here only by unsealing the record as the
 * store does, is nowhere a caller can see: not in the vault file, not in
 * any issuer member read with the password, not in the JWK. */
static void
private_key_is_never_returned(void **state)
{
	fixture *fx = *state;
	unsigned char ad[200], *sealed, *der = NULL, d[32];
	char hex[65], cmd[600], *jwk = NULL;
	const unsigned char *p;
	size_t slen, derlen = 0, adlen, i;
	EVP_PKEY *key = NULL;
	BIGNUM *bn = NULL;
	cv_issuer *is = NULL, **list = NULL;
	FILE *f;

	acme_issuer(fx, "Acme1", EAB_KEY);
	sealed = record_field(fx, "acme1", CV_T_ACCOUNT_KEY, &slen);
	memcpy(ad, "acme1\0acme-account-key", 22);
	adlen = 22;
	assert_int_equal(cv_vault_unseal(fx->v, CV_DB_ISSUERS, ad, adlen, sealed, slen,
					 &der, &derlen), CV_OK);
	p = der;
	key = d2i_AutoPrivateKey(NULL, &p, (long)derlen);
	assert_non_null(key);
	assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &bn), 1);
	assert_int_equal(BN_bn2binpad(bn, d, 32), 32);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);

	/* Not in the file (raw, or as hex). */
	snprintf(cmd, sizeof(cmd), "%s/data.mdb", fx->vault);
	f = fopen(cmd, "rb");
	assert_non_null(f);
	{
		static unsigned char buf[1 << 20];
		size_t n = fread(buf, 1, sizeof(buf), f);

		assert_null(memmem(buf, n, d, sizeof(d)));
		assert_null(memmem(buf, n, hex, 64));
	}
	fclose(f);
	/* Not in what the issuer calls return. */
	assert_int_equal(cv_issuer_get(fx->v, "Acme1", 1, &is), CV_OK);
	assert_string_equal(is->password, EAB_KEY);
	{
		const char *members[] = { is->provider, is->account_id, is->password,
			is->organization_id, is->directory_url, is->email, is->ca_file,
			is->http_listen, is->webroot, is->dns_hook, is->account_url };

		for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
			assert_true(members[i] == NULL || strstr(members[i], hex) == NULL);
	}
	cv_issuer_free(is);
	assert_int_equal(cv_issuer_list(fx->v, &list, &i), CV_OK);
	assert_int_equal(i, 1);
	assert_null(list[0]->password);
	cv_issuer_free(list[0]);
	free(list);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "Acme1", &jwk), CV_OK);
	{
		json_t *j = json_loads(jwk, 0, NULL);

		assert_int_equal(json_object_size(j), 4);
		assert_null(json_object_get(j, "d"));
		json_decref(j);
	}
	free(jwk);
	free(sealed);
	OPENSSL_clear_free(der, derlen);
	BN_clear_free(bn);
	EVP_PKEY_free(key);
}

/* Issuer B's record given issuer A's sealed account key (and its public
 * half): the key does not open for B, so B cannot sign with it. */
static void
moved_account_key_does_not_open(void **state)
{
	fixture *fx = *state;
	unsigned char sig[64], *akey, *aspki;
	size_t aklen, aslen, off = 0, vlen;
	unsigned tag;
	const unsigned char *p;
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_wbuf w = { 0 };
	char *before;

	acme_issuer(fx, "Alpha", NULL);
	acme_issuer(fx, "Beta", NULL);
	akey = record_field(fx, "alpha", CV_T_ACCOUNT_KEY, &aklen);
	aspki = record_field(fx, "alpha", CV_T_SPKI, &aslen);
	assert_int_equal(cv_txn_write(fx->v, &txn), CV_OK);
	assert_int_equal(cv_db_get(fx->v, txn, CV_DB_ISSUERS, "beta", 4, &val), CV_OK);
	cv_rec_begin(&w, CV_REC_ISSUER);
	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
		if (tag != CV_T_ACCOUNT_KEY && tag != CV_T_SPKI)
			cv_rec_put(&w, tag, p, vlen);
	cv_rec_put(&w, CV_T_ACCOUNT_KEY, akey, aklen);
	cv_rec_put(&w, CV_T_SPKI, aspki, aslen);
	assert_int_equal(cv_rec_finish(&w), CV_OK);
	assert_int_equal(cv_db_put(fx->v, txn, CV_DB_ISSUERS, "beta", 4, w.p, w.len, 0), CV_OK);
	assert_int_equal(cv_txn_write_commit(fx->v, txn), CV_OK);
	cv_wbuf_free(&w);

	before = cvt_vault_digest(fx);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Beta", (const unsigned char *)"x", 1, sig),
			 CV_ERR_CORRUPT);
	CVT_ASSERT_UNCHANGED(fx, before);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Alpha", (const unsigned char *)"x", 1, sig),
			 CV_OK);
	free(before);
	free(akey);
	free(aspki);
}

static void
bad_issuers_are_refused(void **state)
{
	fixture *fx = *state;
	cv_issuer in = { 0 };
	char *before;
	char *names[] = { "web.contoso.com", "bad name" };

	acme_issuer(fx, "Acme1", NULL);
	before = cvt_vault_digest(fx);
	snprintf(in.name, sizeof(in.name), "Acme2");
	in.provider = "ACME";
	in.enabled = 1;
	in.directory_url = "https://acme.example/dir";
	/* no challenge way */
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "one way to answer challenges"));
	/* two */
	in.http_listen = "127.0.0.1:80";
	in.webroot = "/srv/www";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.webroot = NULL;
	/* URLs */
	in.directory_url = "http://acme.example/dir";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.directory_url = "http://localhost:14000/dir";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.directory_url = "https:///dir";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.directory_url = "ftp://acme.example/";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.directory_url = NULL;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "directory URL"));
	in.directory_url = "http://[::1]:14000/dir";
	/* listen addresses */
	in.http_listen = "127.0.0.1";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.http_listen = "127.0.0.1:0";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.http_listen = "127.0.0.1:65536";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.http_listen = "web:80";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.http_listen = "::1:80";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.http_listen = "[::1]:5002";
	in.webroot = NULL;
	/* other members */
	in.email = "not-an-email";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.email = NULL;
	in.ca_file = "relative/roots.pem";
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.ca_file = NULL;
	in.allowed_names = names;
	in.n_allowed_names = 2;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	in.allowed_names = NULL;
	in.n_allowed_names = 0;
	/* a challenge way on a Vault issuer */
	in.provider = "Vault";
	in.directory_url = NULL;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_INVALID);
	/* no PIN: no account key can be made */
	in.provider = "ACME";
	in.directory_url = "http://[::1]:14000/dir";
	cv_vault_logout(fx->v);
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	/* Now good: IPv6 loopback http, IPv6 listen. */
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_OK);
	free(before);
}

/* RootCA: a self-signed CA certificate, for a Vault issuer to name. */
static void
make_root_ca(fixture *fx)
{
	static const char ca_policy[] =
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},"
		"\"x509_props\":{\"subject\":\"CN=Root CA\","
		"\"key_usage\":[\"keyCertSign\",\"cRLSign\"],"
		"\"basic_constraints\":{\"ca\":true}},"
		"\"issuer\":{\"name\":\"Self\"}}";
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(ca_policy, strlen(ca_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "RootCA", p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

static void
update_replaces_given_and_forgets_the_account(void **state)
{
	fixture *fx = *state;
	cv_issuer up = { 0 }, *is = NULL;
	char *jwk1 = NULL, *jwk2 = NULL;
	char *names[] = { "*.contoso.com" };

	acme_issuer(fx, "Acme1", EAB_KEY);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "Acme1", &jwk1), CV_OK);
	assert_int_equal(cv_issuer_account_set(fx->v, "Acme1", "https://127.0.0.1:14000/my-account/1"),
			 CV_OK);
	assert_int_equal(cv_issuer_account_set(fx->v, "Acme1", "javascript:x"), CV_ERR_INVALID);
	/* A challenge way and an email: the account stays. */
	snprintf(up.name, sizeof(up.name), "Acme1");
	up.enabled = -1;
	up.webroot = "/srv/www";
	up.email = "ops@contoso.com";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_null(is->http_listen);
	assert_string_equal(is->webroot, "/srv/www");
	assert_string_equal(is->email, "ops@contoso.com");
	assert_string_equal(is->account_id, "kid-1");
	assert_string_equal(is->account_url, "https://127.0.0.1:14000/my-account/1");
	cv_issuer_free(is);
	/* Another directory: the account is forgotten, the key kept. */
	memset(&up, 0, sizeof(up));
	snprintf(up.name, sizeof(up.name), "Acme1");
	up.enabled = -1;
	up.directory_url = "https://127.0.0.1:14001/dir";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_null(is->account_url);
	assert_true(is->has_account_key);
	assert_string_equal(is->webroot, "/srv/www");
	cv_issuer_free(is);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "Acme1", &jwk2), CV_OK);
	assert_string_equal(jwk1, jwk2);
	free(jwk2);
	/* Another binding key id: forgotten too. */
	assert_int_equal(cv_issuer_account_set(fx->v, "Acme1", "https://127.0.0.1:14001/acct/2"),
			 CV_OK);
	up.directory_url = NULL;
	up.account_id = "kid-2";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_null(is->account_url);
	cv_issuer_free(is);
	/* Same directory, same id, same binding key: kept. */
	assert_int_equal(cv_issuer_account_set(fx->v, "Acme1", "https://127.0.0.1:14001/acct/3"),
			 CV_OK);
	up.directory_url = "https://127.0.0.1:14001/dir";
	up.password = EAB_KEY;
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_string_equal(is->account_url, "https://127.0.0.1:14001/acct/3");
	cv_issuer_free(is);
	/* Another binding key: forgotten. */
	up.password = EAB_KEY "AA";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_null(is->account_url);
	cv_issuer_free(is);
	up.password = NULL;

	/* Presets: DigiCert fills its directory; one given overrides it. */
	memset(&up, 0, sizeof(up));
	snprintf(up.name, sizeof(up.name), "Digi");
	up.provider = "DigiCert";
	up.enabled = 1;
	up.account_id = "dc-account";
	up.password = EAB_KEY;
	up.organization_id = "org-12";
	up.dns_hook = "/usr/local/bin/dns-hook";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_CREATE, &is), CV_OK);
	assert_string_equal(is->directory_url, "https://acme.digicert.com/v2/acme/directory/");
	assert_true(is->has_account_key);
	assert_string_equal(is->organization_id, "org-12");
	cv_issuer_free(is);
	snprintf(up.name, sizeof(up.name), "Glob");
	up.provider = "GlobalSign";
	up.directory_url = "https://127.0.0.1:14000/dir";
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_CREATE, &is), CV_OK);
	assert_string_equal(is->directory_url, "https://127.0.0.1:14000/dir");
	assert_string_equal(is->provider, "GlobalSign");
	cv_issuer_free(is);
	/* A Vault issuer keeps its allowed names; it has no account key. */
	make_root_ca(fx);
	memset(&up, 0, sizeof(up));
	snprintf(up.name, sizeof(up.name), "Internal");
	up.provider = "Vault";
	up.enabled = 1;
	up.ca_certificate = "RootCA";
	up.allowed_names = names;
	up.n_allowed_names = 1;
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_CREATE, &is), CV_OK);
	assert_int_equal(is->n_allowed_names, 1);
	assert_string_equal(is->allowed_names[0], "*.contoso.com");
	assert_false(is->has_account_key);
	cv_issuer_free(is);
	assert_int_equal(cv_issuer_account_jwk(fx->v, "Internal", &jwk2), CV_ERR_NO_KEY);
	assert_int_equal(cv_issuer_account_set(fx->v, "Internal", NULL), CV_ERR_NO_KEY);
	free(jwk1);
}

/* Re-initializing makes a new master key: the account keys and URLs go
 * with the passwords; an update with a password makes a new key. */
static void
reinit_drops_account_keys(void **state)
{
	fixture *fx = *state;
	cv_issuer *is = NULL, up = { 0 };
	unsigned char sig[64];

	acme_issuer(fx, "Acme1", EAB_KEY);
	assert_int_equal(cv_issuer_account_set(fx->v, "Acme1", "https://127.0.0.1:14000/acct/1"),
			 CV_OK);
	assert_int_equal(cv_vault_reinit(fx->v, "87654321", 8, "AcmeKV"), CV_OK);
	assert_int_equal(cv_issuer_get(fx->v, "Acme1", 0, &is), CV_OK);
	assert_false(is->has_account_key);
	assert_false(is->has_password);
	assert_null(is->account_url);
	cv_issuer_free(is);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_SO, "87654321", 8), CV_OK);
	assert_int_equal(cv_vault_init_pin(fx->v, "1234", 4), CV_OK);
	cv_vault_logout(fx->v);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Acme1", (const unsigned char *)"x", 1, sig),
			 CV_ERR_NO_KEY);
	snprintf(up.name, sizeof(up.name), "Acme1");
	up.enabled = -1;
	up.password = EAB_KEY;
	assert_int_equal(cv_issuer_put(fx->v, &up, CV_PUT_UPDATE, &is), CV_OK);
	assert_true(is->has_account_key);
	cv_issuer_free(is);
	assert_int_equal(cv_issuer_account_sign(fx->v, "Acme1", (const unsigned char *)"x", 1, sig),
			 CV_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(jwk_is_the_stored_public_key, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(signature_verifies_as_es256, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(eab_mac_is_hmac_of_the_decoded_key, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(private_key_is_never_returned, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(moved_account_key_does_not_open, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(bad_issuers_are_refused, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(update_replaces_given_and_forgets_the_account, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(reinit_drops_account_keys, cvt_setup, cvt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
