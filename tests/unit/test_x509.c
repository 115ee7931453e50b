/* certvault: unit tests for store/x509.h (keys, CSRs, self-signed
 * certificates, reading merge and import content, chains, thumbprints,
 * validity, and the secret's content types).
 *
 * Expected values are computed here by other routes than the code under
 * test (the SubjectPublicKeyInfo bits for key ids, timegm for dates, a fixed
 * certificate's `openssl x509 -fingerprint -sha1` for thumbprints). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "policy.h"
#include "x509.h"

/* ---- fixtures ---------------------------------------------------------- */

/* A three-level chain (root -> intermediate -> leaf) of EC keys, an
 * unrelated self-signed certificate, and an RSA leaf signed by the root. */
struct pki {
	EVP_PKEY *root_key, *inter_key, *leaf_key, *other_key, *rsa_key;
	X509 *root, *inter, *leaf, *other, *rsa_leaf;
};

static struct pki pki;
static long next_serial = 1;

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(ext);
	assert_true(X509_add_ext(x, ext, -1));
	X509_EXTENSION_free(ext);
}

/* A certificate built without the code under test. */
static X509 *
make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
	  int ca)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;

	assert_non_null(x);
	assert_non_null(name);
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), next_serial++));
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					       (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, name));
	assert_true(X509_set_issuer_name(x, issuer != NULL ?
					 X509_get_subject_name(issuer) : name));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (ca)
		add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key,
			      EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static int
pki_setup(void **state)
{
	(void)state;
	pki.root_key = EVP_EC_gen("P-256");
	pki.inter_key = EVP_EC_gen("P-256");
	pki.leaf_key = EVP_EC_gen("P-256");
	pki.other_key = EVP_EC_gen("P-256");
	pki.rsa_key = EVP_RSA_gen(2048);
	if (pki.root_key == NULL || pki.inter_key == NULL ||
	    pki.leaf_key == NULL || pki.other_key == NULL || pki.rsa_key == NULL)
		return -1;
	pki.root = make_cert("Test Root", pki.root_key, NULL, NULL, 1);
	pki.inter = make_cert("Test Intermediate", pki.inter_key, pki.root,
			      pki.root_key, 1);
	pki.leaf = make_cert("leaf.example", pki.leaf_key, pki.inter,
			     pki.inter_key, 0);
	pki.other = make_cert("other.example", pki.other_key, NULL, NULL, 0);
	pki.rsa_leaf = make_cert("rsa.example", pki.rsa_key, pki.root,
				 pki.root_key, 0);
	return 0;
}

static int
pki_teardown(void **state)
{
	(void)state;
	X509_free(pki.root);
	X509_free(pki.inter);
	X509_free(pki.leaf);
	X509_free(pki.other);
	X509_free(pki.rsa_leaf);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.inter_key);
	EVP_PKEY_free(pki.leaf_key);
	EVP_PKEY_free(pki.other_key);
	EVP_PKEY_free(pki.rsa_key);
	return 0;
}

/* Growable byte buffer for building test input. */
struct buf {
	unsigned char *p;
	size_t n;
};

static void
buf_add(struct buf *b, const void *data, size_t n)
{
	unsigned char *q = realloc(b->p, b->n + n + 1);

	assert_non_null(q);
	memcpy(q + b->n, data, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_bio(struct buf *b, BIO *bio)
{
	char *data = NULL;
	long n = BIO_get_mem_data(bio, &data);

	assert_true(n >= 0);
	buf_add(b, data, (size_t)n);
}

static void
buf_free(struct buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->n);
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static void
buf_pem_cert(struct buf *b, X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_true(PEM_write_bio_X509(bio, x));
	buf_bio(b, bio);
	BIO_free(bio);
}

static void
buf_pem_key(struct buf *b, EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());

	assert_true(PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL,
						  NULL));
	buf_bio(b, bio);
	BIO_free(bio);
}

static void
buf_der_cert(struct buf *b, X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	buf_add(b, der, (size_t)n);
	OPENSSL_free(der);
}

static PKCS7 *
make_pkcs7(X509 **certs, int n)
{
	PKCS7 *p7 = PKCS7_new();
	int i;

	assert_non_null(p7);
	assert_true(PKCS7_set_type(p7, NID_pkcs7_signed));
	assert_true(PKCS7_content_new(p7, NID_pkcs7_data));
	for (i = 0; i < n; i++)
		assert_true(PKCS7_add_certificate(p7, certs[i]));
	return p7;
}

/* Base64 with a line break every 64 characters. */
static void
buf_base64(struct buf *b, const unsigned char *der, size_t n)
{
	unsigned char *b64 = malloc(n / 3 * 4 + 8);
	int len, i;

	assert_non_null(b64);
	len = EVP_EncodeBlock(b64, der, (int)n);
	for (i = 0; i < len; i += 64) {
		buf_add(b, b64 + i, (size_t)(len - i < 64 ? len - i : 64));
		buf_str(b, "\r\n");
	}
	free(b64);
}

/* 1 when the bytes hold the string (the bytes need not end in NUL). */
static int
mem_has(const unsigned char *p, size_t n, const char *str)
{
	size_t m = strlen(str), i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(p + i, str, m) == 0)
			return 1;
	return 0;
}

static void
assert_same_cert(X509 *a, X509 *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(X509_cmp(a, b), 0);
}

static void
assert_stack(STACK_OF(X509) *got, X509 **want, int n)
{
	int i;

	assert_non_null(got);
	assert_int_equal(sk_X509_num(got), n);
	for (i = 0; i < n; i++)
		assert_same_cert(sk_X509_value(got, i), want[i]);
}

/* ---- policies built in memory ------------------------------------------ */

static char *dns_v[] = { "www.contoso.com", "*.contoso.com" };
static char *email_v[] = { "admin@contoso.com" };
static char *upn_v[] = { "jürgen@contoso.com" };
static char *ip_v[] = { "192.0.2.10", "2001:db8::1" };
static char *uri_v[] = { "https://contoso.com/id" };
static char *eku_v[] = { "1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2" };

static cv_policy
policy_rsa(void)
{
	cv_policy p;

	memset(&p, 0, sizeof(p));
	p.exportable = 1;
	p.kty = CV_KEY_RSA;
	p.key_size = 2048;
	p.content_type = CV_CONTENT_PKCS12;
	p.subject = "CN=www.contoso.com, O=Contoso, C=US";
	p.key_usage = CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT;
	p.validity_months = 12;
	p.enabled = 1;
	return p;
}

static cv_policy
policy_ec(const char *curve)
{
	cv_policy p = policy_rsa();

	p.kty = CV_KEY_EC;
	p.key_size = 0;
	snprintf(p.curve, sizeof(p.curve), "%s", curve);
	p.key_usage = CV_KU_DIGITAL_SIGNATURE;
	return p;
}

static void
policy_all_sans(cv_policy *p)
{
	p->dns_names = (cv_strlist){ dns_v, 2 };
	p->emails = (cv_strlist){ email_v, 1 };
	p->upns = (cv_strlist){ upn_v, 1 };
	p->ip_addresses = (cv_strlist){ ip_v, 2 };
	p->uris = (cv_strlist){ uri_v, 1 };
	p->ekus = (cv_strlist){ eku_v, 2 };
}

static EVP_PKEY *
gen(const cv_policy *p)
{
	EVP_PKEY *key = NULL;

	assert_int_equal(cv_key_generate(p, &key), CV_OK);
	assert_non_null(key);
	return key;
}

/* ---- key generation and key ids ---------------------------------------- */

static void
test_keygen_rsa(void **state)
{
	static const int sizes[] = { 2048, 3072, 4096 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cv_policy p = policy_rsa();
		EVP_PKEY *key;
		BIGNUM *e = NULL;

		p.key_size = sizes[i];
		key = gen(&p);
		assert_true(EVP_PKEY_is_a(key, "RSA"));
		assert_int_equal(EVP_PKEY_get_bits(key), sizes[i]);
		assert_true(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e));
		assert_true(BN_is_word(e, 65537));
		BN_free(e);
		EVP_PKEY_free(key);
	}
}

static void
test_keygen_ec(void **state)
{
	static const struct {
		const char *curve, *group;
		int bits;
	} c[] = {
		{ "P-256", "prime256v1", 256 },
		{ "P-384", "secp384r1", 384 },
		{ "P-521", "secp521r1", 521 },
		{ "P-256K", "secp256k1", 256 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cv_policy p = policy_ec(c[i].curve);
		EVP_PKEY *key = gen(&p);
		char group[64];

		assert_true(EVP_PKEY_is_a(key, "EC"));
		assert_true(EVP_PKEY_get_utf8_string_param(key,
				OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL));
		assert_string_equal(group, c[i].group);
		assert_int_equal(EVP_PKEY_get_bits(key), c[i].bits);
		EVP_PKEY_free(key);
	}
}

static void
test_keygen_unsupported(void **state)
{
	cv_policy p = policy_rsa();
	EVP_PKEY *key = (EVP_PKEY *)&p; /* must be cleared */

	(void)state;
	p.key_size = 1024;
	assert_int_equal(cv_key_generate(&p, &key), CV_ERR_UNSUPPORTED);
	assert_null(key);
	assert_non_null(strstr(cv_err_detail(), "1024"));
	p = policy_ec("P-999");
	assert_int_equal(cv_key_generate(&p, &key), CV_ERR_UNSUPPORTED);
	assert_null(key);
	p.kty = (enum cv_key_type)7;
	assert_int_equal(cv_key_generate(&p, &key), CV_ERR_UNSUPPORTED);
	assert_null(key);
}

/* The BIT STRING content of the key's SubjectPublicKeyInfo. */
static void
spki_bits(EVP_PKEY *key, const unsigned char **bits, int *len,
	  X509_PUBKEY **hold)
{
	*hold = NULL;
	assert_true(X509_PUBKEY_set(hold, key));
	assert_true(X509_PUBKEY_get0_param(NULL, bits, len, NULL, *hold));
}

static void
sha1(const unsigned char *data, size_t len, unsigned char out[20])
{
	unsigned int n = 0;

	assert_true(EVP_Digest(data, len, out, &n, EVP_sha1(), NULL));
	assert_int_equal(n, 20);
}

static void
test_key_id_rsa(void **state)
{
	static const int sizes[] = { 2048, 3072 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cv_policy p = policy_rsa();
		EVP_PKEY *key;
		X509_PUBKEY *hold;
		const unsigned char *bits, *q;
		int len;
		ASN1_SEQUENCE_ANY *seq;
		ASN1_TYPE *n;
		unsigned char want[20], got[CV_KEY_ID_LEN];

		p.key_size = sizes[i];
		key = gen(&p);
		/* SPKI bits are RSAPublicKey { modulus INTEGER, exponent }. */
		spki_bits(key, &bits, &len, &hold);
		q = bits;
		seq = d2i_ASN1_SEQUENCE_ANY(NULL, &q, len);
		assert_non_null(seq);
		n = sk_ASN1_TYPE_value(seq, 0);
		assert_int_equal(n->type, V_ASN1_INTEGER);
		assert_int_equal(ASN1_STRING_length(n->value.integer), sizes[i] / 8);
		sha1(ASN1_STRING_get0_data(n->value.integer),
		     (size_t)ASN1_STRING_length(n->value.integer), want);
		assert_int_equal(cv_key_id(key, got), CV_OK);
		assert_memory_equal(got, want, 20);
		sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
		X509_PUBKEY_free(hold);
		EVP_PKEY_free(key);
	}
}

static void
test_key_id_ec(void **state)
{
	static const char *curves[] = { "P-256", "P-384", "P-521", "P-256K" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		cv_policy p = policy_ec(curves[i]);
		EVP_PKEY *key = gen(&p);
		X509_PUBKEY *hold;
		const unsigned char *bits;
		int len;
		unsigned char want[20], got[CV_KEY_ID_LEN], pt[200];
		unsigned char *spki_der;
		const unsigned char *q;
		EVP_PKEY *comp;
		size_t ptlen = 0;
		int spki_len;

		spki_bits(key, &bits, &len, &hold);
		assert_int_equal(bits[0], 0x04); /* uncompressed point */
		sha1(bits, (size_t)len, want);
		X509_PUBKEY_free(hold);
		assert_int_equal(cv_key_id(key, got), CV_OK);
		assert_memory_equal(got, want, 20);

		/* A key read from a compressed SubjectPublicKeyInfo (as some
		 * certificates carry it) keeps its id. */
		assert_true(EVP_PKEY_set_utf8_string_param(key,
				OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
				OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED));
		assert_true(EVP_PKEY_get_octet_string_param(key,
				OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen));
		assert_true(pt[0] == 0x02 || pt[0] == 0x03);
		spki_der = NULL;
		spki_len = i2d_PUBKEY(key, &spki_der);
		assert_true(spki_len > 0);
		q = spki_der;
		comp = d2i_PUBKEY(NULL, &q, spki_len);
		assert_non_null(comp);
		spki_bits(comp, &bits, &len, &hold);
		assert_true(bits[0] == 0x02 || bits[0] == 0x03);
		X509_PUBKEY_free(hold);
		memset(got, 0, sizeof(got));
		assert_int_equal(cv_key_id(comp, got), CV_OK);
		assert_memory_equal(got, want, 20);
		memset(got, 0, sizeof(got));
		assert_int_equal(cv_key_id(key, got), CV_OK);
		assert_memory_equal(got, want, 20);
		OPENSSL_free(spki_der);
		EVP_PKEY_free(comp);
		EVP_PKEY_free(key);
	}
}

static void
test_key_id_unsupported(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t id[CV_KEY_ID_LEN];

	(void)state;
	assert_non_null(ed);
	assert_int_equal(cv_key_id(ed, id), CV_ERR_UNSUPPORTED);
	EVP_PKEY_free(ed);
}

/* ---- CSR ---------------------------------------------------------------- */

static X509_EXTENSION *
find_ext(const STACK_OF(X509_EXTENSION) *exts, int nid)
{
	int i;

	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == nid)
			return e;
	}
	return NULL;
}

static void
assert_ia5(const GENERAL_NAME *g, int type, const char *want)
{
	int t;
	ASN1_STRING *s = GENERAL_NAME_get0_value(g, &t);

	assert_int_equal(t, type);
	assert_int_equal(ASN1_STRING_length(s), (int)strlen(want));
	assert_memory_equal(ASN1_STRING_get0_data(s), want, strlen(want));
}

/* SANs, keyUsage and extKeyUsage as policy_all_sans asks. */
static void
check_policy_extensions(const STACK_OF(X509_EXTENSION) *exts, int san_critical,
			unsigned ku)
{
	X509_EXTENSION *e;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	ASN1_OBJECT *oid = NULL;
	ASN1_TYPE *val = NULL;
	ASN1_BIT_STRING *bits;
	EXTENDED_KEY_USAGE *eku;
	ASN1_OCTET_STRING *ip;
	char txt[64];
	int t, bit;

	e = find_ext(exts, NID_subject_alt_name);
	assert_non_null(e);
	assert_int_equal(X509_EXTENSION_get_critical(e), san_critical);
	gens = X509V3_EXT_d2i(e);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 7);
	assert_ia5(sk_GENERAL_NAME_value(gens, 0), GEN_DNS, "www.contoso.com");
	assert_ia5(sk_GENERAL_NAME_value(gens, 1), GEN_DNS, "*.contoso.com");
	assert_ia5(sk_GENERAL_NAME_value(gens, 2), GEN_EMAIL, "admin@contoso.com");
	g = sk_GENERAL_NAME_value(gens, 3);
	assert_true(GENERAL_NAME_get0_otherName(g, &oid, &val));
	OBJ_obj2txt(txt, sizeof(txt), oid, 1);
	assert_string_equal(txt, "1.3.6.1.4.1.311.20.2.3");
	assert_int_equal(val->type, V_ASN1_UTF8STRING);
	assert_int_equal(ASN1_STRING_length(val->value.utf8string),
			 (int)strlen(upn_v[0]));
	assert_memory_equal(ASN1_STRING_get0_data(val->value.utf8string), upn_v[0],
			    strlen(upn_v[0]));
	ip = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, 4), &t);
	assert_int_equal(t, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(ip), 4);
	assert_memory_equal(ASN1_STRING_get0_data(ip), "\xc0\x00\x02\x0a", 4);
	ip = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, 5), &t);
	assert_int_equal(t, GEN_IPADD);
	assert_int_equal(ASN1_STRING_length(ip), 16);
	assert_memory_equal(ASN1_STRING_get0_data(ip),
			    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	assert_ia5(sk_GENERAL_NAME_value(gens, 6), GEN_URI, "https://contoso.com/id");
	GENERAL_NAMES_free(gens);

	e = find_ext(exts, NID_key_usage);
	assert_non_null(e);
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	bits = X509V3_EXT_d2i(e);
	assert_non_null(bits);
	for (bit = 0; bit <= 8; bit++)
		assert_int_equal(ASN1_BIT_STRING_get_bit(bits, bit),
				 (ku >> bit) & 1);
	ASN1_BIT_STRING_free(bits);

	e = find_ext(exts, NID_ext_key_usage);
	assert_non_null(e);
	assert_int_equal(X509_EXTENSION_get_critical(e), 0);
	eku = X509V3_EXT_d2i(e);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
	EXTENDED_KEY_USAGE_free(eku);
}

static void
test_csr_contents(void **state)
{
	cv_policy p = policy_rsa();
	EVP_PKEY *key;
	X509_REQ *req = NULL;
	X509_NAME *want = NULL;
	STACK_OF(X509_EXTENSION) *exts;

	(void)state;
	policy_all_sans(&p);
	key = gen(&p);
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_OK);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_version(req), 0);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_sha256WithRSAEncryption);
	assert_true(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key) == 1);
	assert_int_equal(cv_x500_parse(p.subject, &want), CV_OK);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), want), 0);
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 3);
	exts = X509_REQ_get_extensions(req);
	check_policy_extensions(exts, 0, p.key_usage);
	assert_null(find_ext(exts, NID_basic_constraints));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(want);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

/* The DNS names of a CSR's subjectAltName, comma-joined, in order. */
static void
csr_dns_names(X509_REQ *req, char *buf, size_t n)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	X509_EXTENSION *e = find_ext(exts, NID_subject_alt_name);
	GENERAL_NAMES *gens = e != NULL ? X509V3_EXT_d2i(e) : NULL;
	int i;

	buf[0] = '\0';
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", buf[0] ? "," : "",
				 (const char *)ASN1_STRING_get0_data(g->d.dNSName));
	}
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

/* For an ACME CA, a DNS-name CN goes into subjectAltName, once, first;
 * a CN that is not a DNS name does not, nor without the flag. */
static void
test_csr_cn_in_san(void **state)
{
	static const struct {
		const char *subject;
		const char *dns;   /* the policy's one DNS name, or NULL */
		unsigned flags;
		const char *want;  /* the CSR's DNS SANs */
	} c[] = {
		{ "CN=www.contoso.com", NULL, CV_CSR_CN_IN_SAN, "www.contoso.com" },
		{ "CN=www.contoso.com", NULL, 0, "" },
		{ "CN=www.contoso.com", "api.contoso.com", CV_CSR_CN_IN_SAN,
		  "www.contoso.com,api.contoso.com" },
		{ "CN=WWW.Contoso.com", "www.contoso.com", CV_CSR_CN_IN_SAN, "www.contoso.com" },
		{ "CN=*.contoso.com, O=Contoso", NULL, CV_CSR_CN_IN_SAN, "*.contoso.com" },
		{ "CN=Contoso Web Server", NULL, CV_CSR_CN_IN_SAN, "" },
		{ "CN=localhost", NULL, CV_CSR_CN_IN_SAN, "" },
		{ "CN=a..b", NULL, CV_CSR_CN_IN_SAN, "" },
		{ "O=Contoso", "www.contoso.com", CV_CSR_CN_IN_SAN, "www.contoso.com" },
	};
	cv_policy p0 = policy_ec("P-256");
	EVP_PKEY *key = gen(&p0);
	char got[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cv_policy p = policy_ec("P-256");
		char *dns[1] = { (char *)c[i].dns };
		X509_REQ *req = NULL;

		p.subject = (char *)c[i].subject;
		p.dns_names.v = c[i].dns != NULL ? dns : NULL;
		p.dns_names.n = c[i].dns != NULL ? 1 : 0;
		assert_int_equal(cv_x509_build_csr(&p, key, c[i].flags, &req), CV_OK);
		assert_int_equal(X509_REQ_verify(req, key), 1);
		csr_dns_names(req, got, sizeof(got));
		if (strcmp(got, c[i].want) != 0)
			fail_msg("%s with %s: SANs '%s', want '%s'", c[i].subject,
				 c[i].dns ? c[i].dns : "no DNS name", got, c[i].want);
		/* the policy itself is left as it was */
		assert_int_equal(p.dns_names.n, c[i].dns != NULL ? 1 : 0);
		X509_REQ_free(req);
	}
	EVP_PKEY_free(key);
}

static void
test_csr_digest_per_curve(void **state)
{
	static const struct {
		const char *curve;
		int sig;
	} c[] = {
		{ "P-256", NID_ecdsa_with_SHA256 },
		{ "P-384", NID_ecdsa_with_SHA384 },
		{ "P-521", NID_ecdsa_with_SHA512 },
		{ "P-256K", NID_ecdsa_with_SHA256 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cv_policy p = policy_ec(c[i].curve);
		EVP_PKEY *key = gen(&p);
		X509_REQ *req = NULL;

		assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_OK);
		assert_int_equal(X509_REQ_verify(req, key), 1);
		assert_int_equal(X509_REQ_get_signature_nid(req), c[i].sig);
		X509_REQ_free(req);
		EVP_PKEY_free(key);
	}
}

static void
test_csr_empty_subject(void **state)
{
	cv_policy p = policy_ec("P-256");
	EVP_PKEY *key = gen(&p);
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts;

	(void)state;
	p.subject = "";
	policy_all_sans(&p);
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_OK);
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
	exts = X509_REQ_get_extensions(req);
	check_policy_extensions(exts, 1, p.key_usage);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);

	/* No subject and no SANs names nothing. */
	p = policy_ec("P-256");
	p.subject = NULL;
	req = (X509_REQ *)&p;
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_BAD_SUBJECT);
	assert_null(req);
	EVP_PKEY_free(key);
}

static void
test_csr_bad_values(void **state)
{
	static char *bad_ip[] = { "192.0.2.300" };
	static char *bad_eku[] = { "serverAuth" };
	static char *bad_eku2[] = { "1..3" };
	static char *bad_dns[] = { "www contoso.com" };
	static char *empty[] = { "" };
	cv_policy p = policy_ec("P-256");
	EVP_PKEY *key = gen(&p);
	X509_REQ *req = NULL;
	X509 *x = NULL;

	(void)state;
	p.ip_addresses = (cv_strlist){ bad_ip, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "192.0.2.300"));
	assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_ERR_POLICY);
	assert_null(x);
	p = policy_ec("P-256");
	p.ekus = (cv_strlist){ bad_eku, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "ekus[0]"));
	p.ekus = (cv_strlist){ bad_eku2, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	p = policy_ec("P-256");
	p.dns_names = (cv_strlist){ bad_dns, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	p.dns_names = (cv_strlist){ empty, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	p = policy_ec("P-256");
	p.upns = (cv_strlist){ empty, 1 };
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_POLICY);
	p = policy_ec("P-256");
	p.subject = "CN=a,,=b";
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_ERR_BAD_SUBJECT);
	assert_null(req);
	assert_int_equal(ERR_peek_error(), 0);
	EVP_PKEY_free(key);
}

/* ---- self-signed certificates ------------------------------------------ */

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static void
check_self_signed(X509 *x, EVP_PKEY *key, int ca)
{
	const ASN1_INTEGER *serial;
	BASIC_CONSTRAINTS *bc;
	ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID *akid;
	X509_EXTENSION *e;
	int crit = -1;

	assert_int_equal(X509_verify(x, key), 1);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x),
				       X509_get_issuer_name(x)), 0);
	serial = X509_get0_serialNumber(x);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER); /* positive */
	assert_int_equal(ASN1_STRING_length(serial), 16);
	assert_true(ASN1_STRING_get0_data(serial)[0] != 0);
	assert_true((ASN1_STRING_get0_data(serial)[0] & 0x80) == 0);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_int_equal(bc->ca != 0, ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	e = X509_get_ext(x, X509_get_ext_by_NID(x, NID_basic_constraints, -1));
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	assert_int_equal(X509_check_ca(x) != 0, ca);

	ski = X509_get_ext_d2i(x, NID_subject_key_identifier, &crit, NULL);
	assert_non_null(ski);
	assert_int_equal(crit, 0);
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);
	assert_non_null(akid);
	assert_non_null(akid->keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(ski, akid->keyid), 0);
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(ski);
	/* X509_check_issued compares the key identifiers as well. */
	assert_int_equal(X509_check_issued(x, x), ca ? X509_V_OK :
			 X509_V_ERR_KEYUSAGE_NO_CERTSIGN);
}

static void
test_self_signed_rsa(void **state)
{
	cv_policy p = policy_rsa();
	EVP_PKEY *key;
	X509 *x = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int i;

	(void)state;
	policy_all_sans(&p);
	key = gen(&p);
	assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_OK);
	check_self_signed(x, key, 0);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	exts = sk_X509_EXTENSION_new_null();
	for (i = 0; i < X509_get_ext_count(x); i++)
		sk_X509_EXTENSION_push(exts, X509_get_ext(x, i));
	check_policy_extensions(exts, 0, p.key_usage);
	sk_X509_EXTENSION_free(exts);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_self_signed_ca(void **state)
{
	cv_policy p = policy_ec("P-256");
	EVP_PKEY *key = gen(&p);
	X509 *x = NULL;

	(void)state;
	/* Key Vault's default policy: the six usages, keyCertSign among them. */
	p.key_usage = CV_KU_CRL_SIGN | CV_KU_DATA_ENCIPHERMENT |
		      CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT |
		      CV_KU_KEY_AGREEMENT | CV_KU_KEY_CERT_SIGN;
	assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_OK);
	check_self_signed(x, key, 1);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* basic_constraints in the policy: CA:TRUE with its path length, in the
 * self-signed root and in the CSR a parent CA signs. */
static void
test_basic_constraints_path_length(void **state)
{
	cv_policy p = policy_ec("P-256");
	EVP_PKEY *key = gen(&p);
	X509 *x = NULL;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts;
	X509_EXTENSION *e;
	BASIC_CONSTRAINTS *bc;
	int crit = -1;

	(void)state;
	p.key_usage = CV_KU_KEY_CERT_SIGN | CV_KU_CRL_SIGN;
	p.ca = 1;
	p.path_length = 1;
	assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_OK);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_true(bc->ca != 0);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_pathlen(x), 1);
	X509_free(x);

	/* no path length: no limit written */
	p.path_length = -1;
	assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_OK);
	check_self_signed(x, key, 1);
	X509_free(x);

	p.path_length = 0;
	assert_int_equal(cv_x509_build_csr(&p, key, 0, &req), CV_OK);
	exts = X509_REQ_get_extensions(req);
	e = find_ext(exts, NID_basic_constraints);
	assert_non_null(e);
	assert_int_equal(X509_EXTENSION_get_critical(e), 1);
	bc = X509V3_EXT_d2i(e);
	assert_non_null(bc);
	assert_true(bc->ca != 0);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static void
test_self_signed_each_key_type(void **state)
{
	static const struct {
		int rsa;
		int size;
		const char *curve;
		int sig;
	} c[] = {
		{ 1, 3072, "", NID_sha256WithRSAEncryption },
		{ 0, 0, "P-256", NID_ecdsa_with_SHA256 },
		{ 0, 0, "P-384", NID_ecdsa_with_SHA384 },
		{ 0, 0, "P-521", NID_ecdsa_with_SHA512 },
		{ 0, 0, "P-256K", NID_ecdsa_with_SHA256 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cv_policy p = c[i].rsa ? policy_rsa() : policy_ec(c[i].curve);
		EVP_PKEY *key;
		X509 *x = NULL;
		uint8_t a[CV_KEY_ID_LEN], b[CV_KEY_ID_LEN];

		if (c[i].rsa)
			p.key_size = c[i].size;
		key = gen(&p);
		assert_int_equal(cv_x509_self_sign(&p, key, time(NULL), &x), CV_OK);
		check_self_signed(x, key, 0);
		assert_int_equal(X509_get_signature_nid(x), c[i].sig);
		assert_true(cv_x509_matches_key(x, key));
		/* The certificate's public key has the key's id. */
		assert_int_equal(cv_key_id(key, a), CV_OK);
		assert_int_equal(cv_key_id(X509_get0_pubkey(x), b), CV_OK);
		assert_memory_equal(a, b, CV_KEY_ID_LEN);
		X509_free(x);
		EVP_PKEY_free(key);
	}
}

static void
test_self_signed_validity_months(void **state)
{
	static const struct {
		int y, mo, d, h, mi, s, months;
		int ey, emo, ed;
	} c[] = {
		{ 2023, 1, 31, 12, 0, 0, 1, 2023, 2, 28 },
		{ 2024, 1, 31, 12, 0, 0, 1, 2024, 2, 29 },
		{ 2023, 3, 31, 8, 30, 15, 1, 2023, 4, 30 },
		{ 2023, 5, 15, 0, 0, 0, 12, 2024, 5, 15 },
		{ 2024, 2, 29, 6, 0, 0, 12, 2025, 2, 28 },
		{ 2023, 12, 31, 23, 59, 59, 2, 2024, 2, 29 },
		{ 2023, 8, 31, 1, 2, 3, 6, 2024, 2, 29 },
		{ 2023, 11, 30, 10, 0, 0, 3, 2024, 2, 29 },
		{ 2024, 2, 29, 9, 0, 0, 1200, 2124, 2, 29 },
		{ 2049, 6, 1, 0, 0, 0, 7, 2050, 1, 1 },
	};
	EVP_PKEY *key = pki.leaf_key;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		cv_policy p = policy_ec("P-256");
		time_t now = utc(c[i].y, c[i].mo, c[i].d, c[i].h, c[i].mi, c[i].s);
		time_t want = utc(c[i].ey, c[i].emo, c[i].ed, c[i].h, c[i].mi,
				  c[i].s);
		X509 *x = NULL;
		int64_t nbf = 0, exp = 0;

		p.validity_months = c[i].months;
		assert_int_equal(cv_x509_self_sign(&p, key, now, &x), CV_OK);
		assert_int_equal(cv_x509_validity(x, &nbf, &exp), CV_OK);
		assert_int_equal(nbf, (int64_t)now);
		assert_int_equal(exp, (int64_t)want);
		assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)),
				 c[i].ey >= 2050 ? V_ASN1_GENERALIZEDTIME : V_ASN1_UTCTIME);
		assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), &want), -1);
		want--;
		assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), &want), 1);
		X509_free(x);
	}
}

/* ---- validity ------------------------------------------------------------ */

static void
test_validity_far_dates(void **state)
{
	static const struct {
		const char *nbf, *exp;
		int64_t want_nbf, want_exp;
	} c[] = {
		{ "20200101000000Z", "21000101000000Z", 1577836800, 4102444800LL },
		{ "19700101000000Z", "99991231235959Z", 0, 253402300799LL },
		{ "19600229120000Z", "20380119031408Z", -310478400LL, 2147483648LL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		X509 *x = X509_dup(pki.other);
		int64_t nbf = 1, exp = 1;

		assert_true(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), c[i].nbf));
		assert_true(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), c[i].exp));
		assert_int_equal(cv_x509_validity(x, &nbf, &exp), CV_OK);
		assert_int_equal(nbf, c[i].want_nbf);
		assert_int_equal(exp, c[i].want_exp);
		X509_free(x);
	}
	/* Cross-check one with timegm. */
	assert_int_equal((int64_t)utc(1960, 2, 29, 12, 0, 0), -310478400LL);
	assert_int_equal((int64_t)utc(9999, 12, 31, 23, 59, 59), 253402300799LL);
}

/* ---- reading certificates ----------------------------------------------- */

static void
read_ok(const struct buf *b, X509 **want, int n)
{
	STACK_OF(X509) *got = NULL;

	assert_int_equal(cv_x509_read_certificates(b->p, b->n, &got), CV_OK);
	assert_stack(got, want, n);
	sk_X509_pop_free(got, X509_free);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
read_fails(const void *data, size_t len, cv_err want, const char *detail)
{
	STACK_OF(X509) *got = (STACK_OF(X509) *)&got;

	assert_int_equal(cv_x509_read_certificates(data, len, &got), want);
	assert_null(got);
	if (detail != NULL)
		assert_string_equal(cv_err_detail(), detail);
}

static void
test_read_pem(void **state)
{
	X509 *one[] = { pki.leaf };
	X509 *three[] = { pki.leaf, pki.root, pki.inter };
	struct buf b = { 0 };
	char *s;

	(void)state;
	buf_pem_cert(&b, pki.leaf);
	read_ok(&b, one, 1);
	buf_free(&b);

	/* Text around the blocks, as `openssl x509 -text` and pkcs12 write. */
	buf_str(&b, "Bag Attributes\n    localKeyID: 01 02\nsubject=CN = leaf\n");
	buf_pem_cert(&b, pki.leaf);
	buf_str(&b, "\n");
	buf_pem_cert(&b, pki.root);
	buf_pem_cert(&b, pki.inter);
	buf_str(&b, "trailing words\n");
	read_ok(&b, three, 3);
	buf_free(&b);

	/* Windows: a byte order mark and CRLF line ends. */
	buf_str(&b, "\xef\xbb\xbf");
	{
		struct buf pem = { 0 };
		size_t i;

		buf_pem_cert(&pem, pki.leaf);
		for (i = 0; i < pem.n; i++) {
			if (pem.p[i] == '\n')
				buf_str(&b, "\r\n");
			else
				buf_add(&b, pem.p + i, 1);
		}
		buf_free(&pem);
	}
	read_ok(&b, one, 1);
	buf_free(&b);

	/* A text file whose first byte happens to be '0' (0x30). */
	buf_str(&b, "0 s:CN = leaf.example\n");
	buf_pem_cert(&b, pki.leaf);
	read_ok(&b, one, 1);
	buf_free(&b);

	/* The old "X509 CERTIFICATE" label. */
	buf_pem_cert(&b, pki.leaf);
	s = strstr((char *)b.p, "CERTIFICATE");
	assert_non_null(s);
	{
		struct buf old = { 0 };

		buf_str(&old, "-----BEGIN X509 CERTIFICATE-----");
		s = strchr((char *)b.p, '\n');
		buf_add(&old, s, strlen(s));
		s = strstr((char *)old.p, "-----END CERTIFICATE-----");
		assert_non_null(s);
		*s = '\0';
		old.n = strlen((char *)old.p);
		buf_str(&old, "-----END X509 CERTIFICATE-----\n");
		read_ok(&old, one, 1);
		buf_free(&old);
	}
	buf_free(&b);
}

static void
test_read_der(void **state)
{
	X509 *one[] = { pki.inter };
	struct buf b = { 0 };

	(void)state;
	buf_der_cert(&b, pki.inter);
	read_ok(&b, one, 1);

	/* Cut short. */
	read_fails(b.p, b.n - 10, CV_ERR_BAD_CERT, NULL);
	assert_non_null(strstr(cv_err_detail(), "truncated"));
	read_fails(b.p, 2, CV_ERR_BAD_CERT, NULL);
	/* Trailing garbage. */
	buf_str(&b, "xyz");
	read_fails(b.p, b.n, CV_ERR_BAD_CERT, "3 bytes follow the DER certificate");
	assert_int_equal(ERR_peek_error(), 0);
	buf_free(&b);
}

static void
test_read_pkcs7(void **state)
{
	X509 *chain[] = { pki.leaf, pki.inter, pki.root };
	PKCS7 *p7 = make_pkcs7(chain, 3);
	unsigned char *der = NULL;
	int derlen = i2d_PKCS7(p7, &der);
	struct buf b = { 0 };
	BIO *bio;

	(void)state;
	assert_true(derlen > 0);

	/* DER */
	buf_add(&b, der, (size_t)derlen);
	read_ok(&b, chain, 3);
	buf_str(&b, "\n");
	read_fails(b.p, b.n, CV_ERR_BAD_CERT, "1 bytes follow the DER PKCS#7 content");
	buf_free(&b);

	/* PEM */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PKCS7(bio, p7));
	buf_bio(&b, bio);
	BIO_free(bio);
	assert_non_null(strstr((char *)b.p, "-----BEGIN PKCS7-----"));
	read_ok(&b, chain, 3);
	buf_free(&b);

	/* Bare base64 of the DER, with line breaks and a leading blank line. */
	buf_str(&b, "\n  ");
	buf_base64(&b, der, (size_t)derlen);
	read_ok(&b, chain, 3);
	buf_free(&b);

	/* Bare base64 of a DER certificate, unpadded, on one line. */
	{
		struct buf d = { 0 };
		unsigned char *b64;
		int n;
		X509 *one[] = { pki.root };

		buf_der_cert(&d, pki.root);
		b64 = malloc(d.n * 2 + 4);
		n = EVP_EncodeBlock(b64, d.p, (int)d.n);
		while (n > 0 && b64[n - 1] == '=')
			n--;
		buf_add(&b, b64, (size_t)n);
		read_ok(&b, one, 1);
		free(b64);
		buf_free(&d);
		buf_free(&b);
	}

	/* A PKCS#7 without certificates. */
	{
		PKCS7 *none = make_pkcs7(NULL, 0);
		unsigned char *nd = NULL;
		int nlen = i2d_PKCS7(none, &nd);

		read_fails(nd, (size_t)nlen, CV_ERR_BAD_CERT,
			   "the PKCS#7 content holds no certificates");
		OPENSSL_free(nd);
		PKCS7_free(none);
	}
	OPENSSL_free(der);
	PKCS7_free(p7);
}

static void
test_read_bad(void **state)
{
	static const char *kv = "The specified PEM X.509 certificate content is "
		"in an unexpected format. Check if certificate is in valid PEM format.";
	static const unsigned char garbage[] = "this is not a certificate at all";
	static const unsigned char zeros[16] = { 0 };
	struct buf b = { 0 }, good = { 0 };
	char *mid;

	(void)state;
	read_fails("", 0, CV_ERR_BAD_CERT, "the file is empty");
	read_fails(NULL, 0, CV_ERR_BAD_CERT, "the file is empty");
	read_fails(" \n\r\n\t", 5, CV_ERR_BAD_CERT, "the file is empty");
	read_fails(garbage, sizeof(garbage) - 1, CV_ERR_BAD_CERT,
		   "the content is not a PEM, DER or PKCS#7 certificate (32 bytes)");
	read_fails(zeros, sizeof(zeros), CV_ERR_BAD_CERT,
		   "the content is not a PEM, DER or PKCS#7 certificate (16 bytes)");
	/* Base64 that decodes to something else. */
	read_fails("QUJDREVGRw==", 12, CV_ERR_BAD_CERT,
		   "the content is not a PEM, DER or PKCS#7 certificate (12 bytes)");

	/* Broken base64 inside the block. */
	buf_str(&b, "-----BEGIN CERTIFICATE-----\nMIIB!!!!notbase64\n"
		    "-----END CERTIFICATE-----\n");
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* Base64 that is not a certificate. */
	buf_str(&b, "-----BEGIN CERTIFICATE-----\nQUJDREVGRw==\n"
		    "-----END CERTIFICATE-----\n");
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* A certificate body cut in half. */
	buf_pem_cert(&good, pki.leaf);
	mid = (char *)good.p + good.n / 2;
	mid = strchr(mid, '\n');
	buf_add(&b, good.p, (size_t)((unsigned char *)mid + 1 - good.p));
	buf_str(&b, "-----END CERTIFICATE-----\n");
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* No END line. */
	buf_add(&b, good.p, good.n - strlen("-----END CERTIFICATE-----\n"));
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* A good certificate followed by a broken one. */
	buf_add(&b, good.p, good.n);
	buf_str(&b, "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n");
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* A BEGIN marker with the body on the same line. */
	buf_str(&b, "-----BEGIN CERTIFICATE-----MIIBjzCCATWgAwIBAgIU-----END CERTIFICATE-----");
	read_fails(b.p, b.n, CV_ERR_BAD_PEM, kv);
	buf_free(&b);
	/* Well-formed PEM without certificates. */
	buf_pem_key(&b, pki.leaf_key);
	read_fails(b.p, b.n, CV_ERR_BAD_CERT,
		   "the PEM content holds no CERTIFICATE or PKCS7 block");
	buf_free(&b);
	buf_free(&good);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- import ---------------------------------------------------------------- */

struct imported {
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
	int is_pkcs12;
};

static cv_err
import(const struct buf *b, const char *password, struct imported *im)
{
	memset(im, 0xa5, sizeof(*im)); /* outputs must be cleared */
	return cv_x509_read_import(b->p, b->n, password, &im->leaf, &im->chain,
				   &im->key, &im->is_pkcs12);
}

static void
imported_free(struct imported *im)
{
	X509_free(im->leaf);
	sk_X509_pop_free(im->chain, X509_free);
	EVP_PKEY_free(im->key);
	memset(im, 0, sizeof(*im));
}

static void
assert_import_failed(const struct imported *im)
{
	assert_null(im->leaf);
	assert_null(im->chain);
	assert_null(im->key);
}

/* A PKCS#12 made with OpenSSL's own PKCS12_create_ex; the chain is given
 * root first so that the import must order it. */
static void
buf_pkcs12(struct buf *b, const char *pass, int nid, int mac_iter, int with_key)
{
	STACK_OF(X509) *ca = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;

	sk_X509_push(ca, pki.root);
	sk_X509_push(ca, pki.inter);
	p12 = PKCS12_create_ex(pass, "imported", with_key ? pki.leaf_key : NULL,
			       pki.leaf, ca, nid, nid, PKCS12_DEFAULT_ITER, mac_iter,
			       0, NULL, NULL);
	assert_non_null(p12);
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	buf_add(b, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	PKCS12_free(p12);
	sk_X509_free(ca);
}

static void
check_leaf_import(const struct imported *im, int is_pkcs12)
{
	X509 *chain[] = { pki.inter, pki.root };

	assert_same_cert(im->leaf, pki.leaf);
	assert_stack(im->chain, chain, 2);
	assert_non_null(im->key);
	assert_true(EVP_PKEY_eq(im->key, pki.leaf_key) == 1);
	assert_int_equal(im->is_pkcs12, is_pkcs12);
}

static void
test_import_pkcs12(void **state)
{
	struct buf b = { 0 };
	struct imported im;

	(void)state;
	/* OpenSSL 3 defaults: PBES2 AES-256-CBC, SHA-256 MAC. */
	buf_pkcs12(&b, "s3cret", 0, PKCS12_DEFAULT_ITER, 1);
	assert_int_equal(import(&b, "s3cret", &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	assert_int_equal(import(&b, "wrong", &im), CV_ERR_BAD_PASSWORD);
	assert_import_failed(&im);
	assert_int_equal(im.is_pkcs12, 1);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_PASSWORD);
	assert_import_failed(&im);
	/* Truncated */
	{
		struct buf cut = { 0 };

		buf_add(&cut, b.p, b.n - 40);
		assert_int_equal(import(&cut, "s3cret", &im), CV_ERR_BAD_CERT);
		assert_import_failed(&im);
		buf_free(&cut);
	}
	/* Bare base64 of the PFX, as Key Vault's REST API carries it. */
	{
		struct buf b64 = { 0 };

		buf_base64(&b64, b.p, b.n);
		assert_int_equal(import(&b64, "s3cret", &im), CV_OK);
		check_leaf_import(&im, 1);
		imported_free(&im);
		buf_free(&b64);
	}
	buf_free(&b);

	/* Windows' older 3DES form. */
	buf_pkcs12(&b, "s3cret", NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
		   PKCS12_DEFAULT_ITER, 1);
	assert_int_equal(import(&b, "s3cret", &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	assert_int_equal(import(&b, "s3cre", &im), CV_ERR_BAD_PASSWORD);
	buf_free(&b);

	/* No MAC: the wrong password shows when the bags do not decrypt. */
	buf_pkcs12(&b, "s3cret", 0, -1, 1);
	assert_int_equal(import(&b, "s3cret", &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	assert_int_equal(import(&b, "nope", &im), CV_ERR_BAD_PASSWORD);
	assert_import_failed(&im);
	buf_free(&b);

	/* No password at all. */
	buf_pkcs12(&b, NULL, -1, PKCS12_DEFAULT_ITER, 1);
	assert_int_equal(import(&b, NULL, &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	assert_int_equal(import(&b, "", &im), CV_OK);
	imported_free(&im);
	buf_free(&b);

	/* Certificates only. */
	buf_pkcs12(&b, "s3cret", 0, PKCS12_DEFAULT_ITER, 0);
	assert_int_equal(import(&b, "s3cret", &im), CV_ERR_NO_KEY);
	assert_import_failed(&im);
	buf_free(&b);
	assert_int_equal(ERR_peek_error(), 0);
}

/* A PKCS#12 as OpenSSL 1.x wrote it: RC2-40 certificate bags, a 3DES key
 * bag, a SHA-1 MAC.  Made in a library context of the test's own, since
 * the default one has no RC2. */
static void
buf_pkcs12_legacy(struct buf *b, const char *pass)
{
	OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *deflt, *legacy;
	STACK_OF(X509) *ca = sk_X509_new_null();
	PKCS12 *p12;
	unsigned char *der = NULL;
	int n;

	assert_non_null(ctx);
	deflt = OSSL_PROVIDER_load(ctx, "default");
	legacy = OSSL_PROVIDER_load(ctx, "legacy");
	assert_non_null(deflt);
	assert_non_null(legacy);
	sk_X509_push(ca, pki.root);
	sk_X509_push(ca, pki.inter);
	p12 = PKCS12_create_ex(pass, "imported", pki.leaf_key, pki.leaf, ca,
			       NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
			       NID_pbe_WithSHA1And40BitRC2_CBC, PKCS12_DEFAULT_ITER,
			       -1, 0, ctx, NULL);
	assert_non_null(p12);
	assert_true(PKCS12_set_mac(p12, pass, -1, NULL, 0, PKCS12_DEFAULT_ITER,
				   EVP_sha1()));
	n = i2d_PKCS12(p12, &der);
	assert_true(n > 0);
	buf_add(b, der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	PKCS12_free(p12);
	sk_X509_free(ca);
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	OSSL_LIB_CTX_free(ctx);
}

/* 1 when the default library context can fetch RC2 (the legacy provider). */
static int
default_has_rc2(void)
{
	EVP_CIPHER *c;

	ERR_set_mark();
	c = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL);
	ERR_pop_to_mark();
	EVP_CIPHER_free(c);
	return c != NULL;
}

static void
test_import_pkcs12_legacy(void **state)
{
	struct buf b = { 0 };
	struct imported im;
	unsigned char sig[256];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *pctx;

	(void)state;
	assert_false(default_has_rc2());
	buf_pkcs12_legacy(&b, "s3cret");
	assert_false(default_has_rc2());
	assert_int_equal(import(&b, "s3cret", &im), CV_OK);
	check_leaf_import(&im, 1);
	/* The key works in the process's own context once the import's
	 * context is gone. */
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, im.key, NULL);
	assert_non_null(pctx);
	assert_int_equal(EVP_PKEY_sign_init(pctx), 1);
	assert_int_equal(EVP_PKEY_sign(pctx, sig, &siglen,
				       (const unsigned char *)"0123456789abcdef0123456789abcdef",
				       32), 1);
	EVP_PKEY_CTX_free(pctx);
	imported_free(&im);
	/* Nothing outside the import sees the legacy algorithms. */
	assert_false(default_has_rc2());
	assert_int_equal(import(&b, "wrong", &im), CV_ERR_BAD_PASSWORD);
	assert_import_failed(&im);
	buf_free(&b);
	assert_int_equal(ERR_peek_error(), 0);
}

/* A PKCS#12 whose certificates sit in n encrypted parts (the leaf in the
 * first, the chain repeated over the others) and whose key is in a plain
 * one. */
static void
buf_pkcs12_parts(struct buf *b, const char *pass, int n)
{
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS12 *p12;
	unsigned char *der = NULL;
	int i, len;

	for (i = 0; i < n; i++) {
		assert_non_null(PKCS12_add_cert(&bags, i == 0 ? pki.leaf :
						 i % 2 ? pki.inter : pki.root));
		assert_non_null(PKCS12_add_safe(&safes, bags, NID_aes_256_cbc,
						PKCS12_DEFAULT_ITER, pass));
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		bags = NULL;
	}
	assert_non_null(PKCS12_add_key(&bags, pki.leaf_key, 0, PKCS12_DEFAULT_ITER,
				       NID_aes_256_cbc, pass));
	assert_non_null(PKCS12_add_safe(&safes, bags, -1, 0, NULL));
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	p12 = PKCS12_add_safes(safes, 0);
	assert_non_null(p12);
	assert_true(PKCS12_set_mac(p12, pass, -1, NULL, 0, PKCS12_DEFAULT_ITER, NULL));
	len = i2d_PKCS12(p12, &der);
	assert_true(len > 0);
	buf_add(b, der, (size_t)len);
	OPENSSL_clear_free(der, (size_t)len);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

/* Each encrypted part costs a key derivation: eight are read, a ninth is
 * refused before any is derived. */
static void
test_import_pkcs12_parts(void **state)
{
	struct buf b = { 0 };
	struct imported im;

	(void)state;
	buf_pkcs12_parts(&b, "s3cret", 8);
	assert_int_equal(import(&b, "s3cret", &im), CV_OK);
	assert_same_cert(im.leaf, pki.leaf);
	assert_true(EVP_PKEY_eq(im.key, pki.leaf_key) == 1);
	imported_free(&im);
	buf_free(&b);
	buf_pkcs12_parts(&b, "s3cret", 9);
	assert_int_equal(import(&b, "s3cret", &im), CV_ERR_BAD_CERT);
	assert_string_equal(cv_err_detail(),
			    "the PKCS#12 content has more than 8 encrypted parts");
	assert_import_failed(&im);
	buf_free(&b);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_import_pem(void **state)
{
	struct buf b = { 0 };
	struct imported im;
	BIO *bio;

	(void)state;
	/* PKCS#8 key after the certificates, chain shuffled. */
	buf_pem_cert(&b, pki.root);
	buf_pem_cert(&b, pki.leaf);
	buf_pem_cert(&b, pki.inter);
	buf_pem_key(&b, pki.leaf_key);
	assert_int_equal(import(&b, NULL, &im), CV_OK);
	check_leaf_import(&im, 0);
	imported_free(&im);
	buf_free(&b);

	/* Traditional "EC PRIVATE KEY" with its "EC PARAMETERS" block. */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_Parameters(bio, pki.leaf_key));
	assert_true(PEM_write_bio_PrivateKey_traditional(bio, pki.leaf_key, NULL,
							 NULL, 0, NULL, NULL));
	buf_bio(&b, bio);
	BIO_free(bio);
	assert_non_null(strstr((char *)b.p, "BEGIN EC PRIVATE KEY"));
	buf_pem_cert(&b, pki.leaf);
	buf_pem_cert(&b, pki.inter);
	buf_pem_cert(&b, pki.root);
	assert_int_equal(import(&b, "ignored", &im), CV_OK);
	check_leaf_import(&im, 0);
	imported_free(&im);
	buf_free(&b);

	/* Traditional "RSA PRIVATE KEY". */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey_traditional(bio, pki.rsa_key, NULL,
							 NULL, 0, NULL, NULL));
	buf_bio(&b, bio);
	BIO_free(bio);
	assert_non_null(strstr((char *)b.p, "BEGIN RSA PRIVATE KEY"));
	buf_pem_cert(&b, pki.rsa_leaf);
	buf_pem_cert(&b, pki.root);
	assert_int_equal(import(&b, NULL, &im), CV_OK);
	assert_same_cert(im.leaf, pki.rsa_leaf);
	assert_int_equal(sk_X509_num(im.chain), 1);
	assert_true(EVP_PKEY_eq(im.key, pki.rsa_key) == 1);
	imported_free(&im);
	buf_free(&b);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_import_pem_errors(void **state)
{
	struct buf b = { 0 };
	struct imported im;
	BIO *bio;

	(void)state;
	/* Encrypted PKCS#8: read with its password, refused without it or
	 * with another. */
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PKCS8PrivateKey(bio, pki.leaf_key,
						  EVP_aes_256_cbc(), "pw", 2,
						  NULL, NULL));
	buf_bio(&b, bio);
	BIO_free(bio);
	assert_non_null(strstr((char *)b.p, "ENCRYPTED PRIVATE KEY"));
	buf_pem_cert(&b, pki.leaf);
	buf_pem_cert(&b, pki.root);
	buf_pem_cert(&b, pki.inter);
	assert_int_equal(import(&b, "pw", &im), CV_OK);
	check_leaf_import(&im, 0);
	imported_free(&im);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_ENCRYPTED_KEY);
	assert_import_failed(&im);
	assert_int_equal(import(&b, "wrong", &im), CV_ERR_BAD_PASSWORD);
	assert_string_equal(cv_err_detail(),
			    "the PEM private key does not decrypt with this password");
	assert_import_failed(&im);
	buf_free(&b);

	/* Traditional key with Proc-Type: 4,ENCRYPTED. */
	buf_pem_cert(&b, pki.leaf);
	bio = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_PrivateKey_traditional(bio, pki.leaf_key,
			EVP_aes_128_cbc(), (unsigned char *)"pw", 2, NULL, NULL));
	buf_bio(&b, bio);
	BIO_free(bio);
	assert_non_null(strstr((char *)b.p, "Proc-Type: 4,ENCRYPTED"));
	assert_int_equal(import(&b, NULL, &im), CV_ERR_ENCRYPTED_KEY);
	assert_import_failed(&im);
	assert_int_equal(import(&b, "wrong", &im), CV_ERR_BAD_PASSWORD);
	assert_import_failed(&im);
	assert_int_equal(import(&b, "pw", &im), CV_OK);
	assert_same_cert(im.leaf, pki.leaf);
	assert_true(EVP_PKEY_eq(im.key, pki.leaf_key) == 1);
	imported_free(&im);
	buf_free(&b);

	/* A certificate without its key (PEM and DER). */
	buf_pem_cert(&b, pki.leaf);
	buf_pem_cert(&b, pki.inter);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_NO_KEY);
	assert_import_failed(&im);
	assert_int_equal(im.is_pkcs12, 0);
	buf_free(&b);
	buf_der_cert(&b, pki.leaf);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_NO_KEY);
	buf_free(&b);

	/* The key of another certificate. */
	buf_pem_cert(&b, pki.leaf);
	buf_pem_cert(&b, pki.inter);
	buf_pem_key(&b, pki.other_key);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_KEY_MISMATCH);
	assert_import_failed(&im);
	assert_string_equal(cv_err_detail(), cv_strerror(CV_ERR_KEY_MISMATCH));
	buf_free(&b);

	/* Two keys. */
	buf_pem_key(&b, pki.leaf_key);
	buf_pem_cert(&b, pki.leaf);
	buf_pem_key(&b, pki.other_key);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_CERT);
	assert_string_equal(cv_err_detail(),
			    "the PEM content holds 2 private keys; give one");
	assert_import_failed(&im);
	buf_free(&b);

	/* A key without certificates. */
	buf_pem_key(&b, pki.leaf_key);
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_CERT);
	buf_free(&b);

	/* Broken key block. */
	buf_pem_cert(&b, pki.leaf);
	buf_str(&b, "-----BEGIN PRIVATE KEY-----\nQUJDREVGRw==\n-----END PRIVATE KEY-----\n");
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_PEM);
	buf_free(&b);

	/* An OpenSSH key. */
	buf_pem_cert(&b, pki.leaf);
	buf_str(&b, "-----BEGIN OPENSSH PRIVATE KEY-----\nQUJDREVGRw==\n-----END OPENSSH PRIVATE KEY-----\n");
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_CERT);
	assert_non_null(strstr(cv_err_detail(), "OPENSSH PRIVATE KEY"));
	buf_free(&b);

	/* Garbage and nothing. */
	buf_str(&b, "garbage garbage garbage");
	assert_int_equal(import(&b, NULL, &im), CV_ERR_BAD_CERT);
	assert_import_failed(&im);
	buf_free(&b);
	assert_int_equal(cv_x509_read_import((const unsigned char *)"", 0, NULL,
					     &im.leaf, &im.chain, &im.key,
					     &im.is_pkcs12), CV_ERR_BAD_CERT);
	assert_string_equal(cv_err_detail(), "the file is empty");
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- chains ------------------------------------------------------------- */

static void
test_order_chain(void **state)
{
	STACK_OF(X509) *in = sk_X509_new_null();
	STACK_OF(X509) *rest = NULL;
	X509 *leaf = NULL;
	X509 *want[] = { pki.inter, pki.root, pki.other };

	(void)state;
	sk_X509_push(in, pki.root);
	sk_X509_push(in, pki.other);
	sk_X509_push(in, pki.leaf);
	sk_X509_push(in, pki.inter);
	sk_X509_push(in, pki.leaf); /* a copy of the leaf is dropped */
	assert_int_equal(cv_x509_order_chain(pki.leaf_key, in, &leaf, &rest), CV_OK);
	assert_same_cert(leaf, pki.leaf);
	assert_stack(rest, want, 3);
	X509_free(leaf);
	sk_X509_pop_free(rest, X509_free);

	/* The key of the intermediate: its issuer follows, the rest keep order. */
	{
		X509 *w2[] = { pki.root, pki.other, pki.leaf };

		assert_int_equal(cv_x509_order_chain(pki.inter_key, in, &leaf, &rest),
				 CV_OK);
		assert_same_cert(leaf, pki.inter);
		assert_stack(rest, w2, 3);
		X509_free(leaf);
		sk_X509_pop_free(rest, X509_free);
	}

	/* The leaf alone. */
	{
		STACK_OF(X509) *one = sk_X509_new_null();

		sk_X509_push(one, pki.leaf);
		assert_int_equal(cv_x509_order_chain(pki.leaf_key, one, &leaf, &rest),
				 CV_OK);
		assert_same_cert(leaf, pki.leaf);
		assert_int_equal(sk_X509_num(rest), 0);
		X509_free(leaf);
		sk_X509_pop_free(rest, X509_free);
		sk_X509_free(one);
	}

	assert_int_equal(cv_x509_order_chain(pki.rsa_key, in, &leaf, &rest),
			 CV_ERR_KEY_MISMATCH);
	assert_null(leaf);
	assert_null(rest);
	assert_false(cv_x509_matches_key(pki.leaf, pki.other_key));
	assert_true(cv_x509_matches_key(pki.leaf, pki.leaf_key));
	assert_false(cv_x509_matches_key(pki.leaf, pki.rsa_key));
	sk_X509_free(in);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- thumbprints -------------------------------------------------------- */

/* `openssl x509 -noout -fingerprint -sha1` of this certificate printed
 * 97:BA:FB:F4:BC:98:CB:AD:7D:5F:E7:04:6A:15:CD:52:77:DB:D3:EF. */
static const char fixed_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBjzCCATWgAwIBAgIUQrpQEKmdKB71zfOCadkktjS8PhswCgYIKoZIzj0EAwIw\n"
	"HTEbMBkGA1UEAwwSdGh1bWJwcmludC5leGFtcGxlMB4XDTI2MTEyMjA5MzQxNVoX\n"
	"DTM2MTExOTA5MzQxNVowHTEbMBkGA1UEAwwSdGh1bWJwcmludC5leGFtcGxlMFkw\n"
	"EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAES99RPAHYd+nhIMdoJUWgO4OdjnsoN74o\n"
	"y0eo8IE869OIdIMruIDTmLuniFlFGgamTjEUwm1pO7g4RNJHYhQk+aNTMFEwHQYD\n"
	"VR0OBBYEFATb/wA2sXMM/QiofTxcHE8dDWqcMB8GA1UdIwQYMBaAFATb/wA2sXMM\n"
	"/QiofTxcHE8dDWqcMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIg\n"
	"N9HRwo7ePaf76TdT8anlvIxJv8rlVKq43jbKmzH90LwCIQDTuSlOE43gguvKf31s\n"
	"ENvLBhouPHUC+GqvrphiMJneJg==\n"
	"-----END CERTIFICATE-----\n";
static const char fixed_sha1_hex[] =
	"97:BA:FB:F4:BC:98:CB:AD:7D:5F:E7:04:6A:15:CD:52:77:DB:D3:EF";

/* base64url without padding, from standard base64. */
static void
x5t_from_sha1(const unsigned char md[20], char out[CV_X5T_LEN + 1])
{
	unsigned char b64[32];
	int n = EVP_EncodeBlock(b64, md, 20), i;

	assert_int_equal(n, 28);
	assert_int_equal(b64[27], '=');
	for (i = 0; i < 27; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[27] = '\0';
}

static void
test_thumbprint(void **state)
{
	STACK_OF(X509) *certs = NULL;
	unsigned char md[20], *der = NULL;
	char want[CV_X5T_LEN + 1], got[CV_X5T_LEN + 1];
	int n, i;
	unsigned v;

	(void)state;
	for (i = 0; i < 20; i++) {
		assert_int_equal(sscanf(fixed_sha1_hex + 3 * i, "%2X", &v), 1);
		md[i] = (unsigned char)v;
	}
	x5t_from_sha1(md, want);
	assert_string_equal(want, "l7r79LyYy619X-cEahXNUnfb0-8");
	assert_int_equal(cv_x509_read_certificates((const unsigned char *)fixed_pem,
						   strlen(fixed_pem), &certs), CV_OK);
	n = i2d_X509(sk_X509_value(certs, 0), &der);
	assert_true(n > 0);
	memset(got, 'x', sizeof(got));
	cv_x509_thumbprint(der, (size_t)n, got);
	assert_string_equal(got, want);
	OPENSSL_free(der);
	der = NULL;
	sk_X509_pop_free(certs, X509_free);

	/* Every generated certificate agrees with X509_digest. */
	{
		X509 *all[] = { pki.root, pki.inter, pki.leaf, pki.other, pki.rsa_leaf };
		unsigned int mdlen = 0;

		for (i = 0; i < 5; i++) {
			assert_true(X509_digest(all[i], EVP_sha1(), md, &mdlen));
			x5t_from_sha1(md, want);
			n = i2d_X509(all[i], &der);
			cv_x509_thumbprint(der, (size_t)n, got);
			assert_int_equal(strlen(got), CV_X5T_LEN);
			assert_string_equal(got, want);
			OPENSSL_free(der);
			der = NULL;
		}
	}
}

/* ---- the secret's content types ---------------------------------------- */

static STACK_OF(X509) *
chain_of_two(void)
{
	STACK_OF(X509) *chain = sk_X509_new_null();

	assert_non_null(chain);
	sk_X509_push(chain, pki.inter);
	sk_X509_push(chain, pki.root);
	return chain;
}

static void
decode_check(enum cv_content_type ct, const unsigned char *data, size_t len,
	     const char *password, EVP_PKEY *want_key)
{
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *want[] = { pki.inter, pki.root };

	assert_int_equal(cv_secret_decode(ct, data, len, password, &leaf, &chain,
					  &key), CV_OK);
	assert_same_cert(leaf, pki.leaf);
	assert_stack(chain, want, 2);
	if (want_key == NULL) {
		assert_null(key);
	} else {
		assert_non_null(key);
		assert_true(EVP_PKEY_eq(key, want_key) == 1);
	}
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
}

static void
test_secret_pem(void **state)
{
	STACK_OF(X509) *chain = chain_of_two();
	unsigned char *out = NULL;
	size_t len = 0;
	X509 *leaf = NULL;
	STACK_OF(X509) *c2 = NULL;
	EVP_PKEY *key = NULL;
	struct buf b = { 0 };
	struct imported im;

	(void)state;
	assert_int_equal(cv_secret_encode(CV_CONTENT_PEM, "web", pki.leaf, chain,
					  pki.leaf_key, NULL, &out, &len), CV_OK);
	assert_true(len > 27);
	assert_memory_equal(out, "-----BEGIN PRIVATE KEY-----\n", 28);
	decode_check(CV_CONTENT_PEM, out, len, NULL, pki.leaf_key);
	/* The same bytes import. */
	buf_add(&b, out, len);
	assert_int_equal(import(&b, NULL, &im), CV_OK);
	check_leaf_import(&im, 0);
	imported_free(&im);
	buf_free(&b);
	/* A damaged secret. */
	out[40] ^= 0x55;
	assert_int_equal(cv_secret_decode(CV_CONTENT_PEM, out, len, NULL, &leaf,
					  &c2, &key), CV_ERR_CORRUPT);
	assert_null(leaf);
	assert_null(c2);
	assert_null(key);
	OPENSSL_clear_free(out, len);

	assert_int_equal(cv_secret_encode(CV_CONTENT_PEM, "web", pki.leaf, chain,
					  NULL, NULL, &out, &len), CV_OK);
	assert_memory_equal(out, "-----BEGIN CERTIFICATE-----\n", 28);
	assert_false(mem_has(out, len, "PRIVATE"));
	decode_check(CV_CONTENT_PEM, out, len, NULL, NULL);
	OPENSSL_clear_free(out, len);

	/* Leaf only, no chain. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PEM, "web", pki.leaf, NULL,
					  pki.leaf_key, NULL, &out, &len), CV_OK);
	assert_int_equal(cv_secret_decode(CV_CONTENT_PEM, out, len, NULL, &leaf,
					  &c2, &key), CV_OK);
	assert_same_cert(leaf, pki.leaf);
	assert_int_equal(sk_X509_num(c2), 0);
	X509_free(leaf);
	sk_X509_pop_free(c2, X509_free);
	EVP_PKEY_free(key);
	OPENSSL_clear_free(out, len);
	sk_X509_free(chain);
	assert_int_equal(ERR_peek_error(), 0);
}

/* The PKCS#12's MAC digest and the PBES2 cipher of its encrypted parts. */
static void
check_pkcs12_algorithms(const unsigned char *der, size_t len, int encrypted)
{
	const unsigned char *p = der;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	const ASN1_OCTET_STRING *mac = NULL, *salt = NULL;
	const X509_ALGOR *macalg = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj = NULL;
	STACK_OF(PKCS7) *safes;
	int i, n_enc = 0;

	assert_non_null(p12);
	assert_true(PKCS12_mac_present(p12));
	PKCS12_get0_mac(&mac, &macalg, &salt, &iter, p12);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	assert_int_equal(OBJ_obj2nid(obj), NID_sha256);
	assert_int_equal(ASN1_INTEGER_get(iter), PKCS12_DEFAULT_ITER);
	safes = PKCS12_unpack_authsafes(p12);
	assert_non_null(safes);
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (OBJ_obj2nid(p7->type) == NID_pkcs7_encrypted) {
			X509_ALGOR *alg = p7->d.encrypted->enc_data->algorithm;
			PBE2PARAM *pbe2;

			n_enc++;
			assert_int_equal(OBJ_obj2nid(alg->algorithm), NID_pbes2);
			pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
							 alg->parameter);
			assert_non_null(pbe2);
			assert_int_equal(OBJ_obj2nid(pbe2->encryption->algorithm),
					 NID_aes_256_cbc);
			PBE2PARAM_free(pbe2);
		}
	}
	assert_int_equal(n_enc > 0, encrypted);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
}

/* `openssl pkcs12 -info -nodes -passin pass:` on the bytes; 77-style skip
 * when the program is not installed. */
static void
check_openssl_cli_reads(const unsigned char *der, size_t len)
{
	char path[] = "/tmp/test_x509_p12_XXXXXX";
	char cmd[256], line[512];
	int fd, saw_key = 0, saw_cert = 0, saw_name = 0;
	FILE *f;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		skip();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, der, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "openssl pkcs12 -in %s -info -nodes -passin pass: 2>&1", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "-----BEGIN PRIVATE KEY-----"))
			saw_key = 1;
		if (strstr(line, "-----BEGIN CERTIFICATE-----"))
			saw_cert++;
		if (strstr(line, "friendlyName: web"))
			saw_name = 1;
	}
	assert_int_equal(pclose(f), 0);
	unlink(path);
	assert_true(saw_key);
	assert_int_equal(saw_cert, 3);
	assert_true(saw_name);
}

static void
test_secret_pkcs12(void **state)
{
	STACK_OF(X509) *chain = chain_of_two();
	unsigned char *out = NULL;
	size_t len = 0;
	X509 *leaf = NULL;
	STACK_OF(X509) *c2 = NULL;
	EVP_PKEY *key = NULL;
	struct buf b = { 0 };
	struct imported im;

	(void)state;
	/* With a password. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  pki.leaf_key, "pfx-pass", &out, &len), CV_OK);
	check_pkcs12_algorithms(out, len, 1);
	decode_check(CV_CONTENT_PKCS12, out, len, "pfx-pass", pki.leaf_key);
	assert_int_equal(cv_secret_decode(CV_CONTENT_PKCS12, out, len, "wrong",
					  &leaf, &c2, &key), CV_ERR_CORRUPT);
	assert_null(leaf);
	assert_null(c2);
	assert_null(key);
	buf_add(&b, out, len);
	assert_int_equal(import(&b, "pfx-pass", &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	assert_int_equal(import(&b, "wrong", &im), CV_ERR_BAD_PASSWORD);
	buf_free(&b);
	OPENSSL_clear_free(out, len);

	/* Without a password: unencrypted, read by NULL and "" alike. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  pki.leaf_key, NULL, &out, &len), CV_OK);
	check_pkcs12_algorithms(out, len, 0);
	decode_check(CV_CONTENT_PKCS12, out, len, NULL, pki.leaf_key);
	decode_check(CV_CONTENT_PKCS12, out, len, "", pki.leaf_key);
	buf_add(&b, out, len);
	assert_int_equal(import(&b, NULL, &im), CV_OK);
	check_leaf_import(&im, 1);
	imported_free(&im);
	buf_free(&b);
	check_openssl_cli_reads(out, len);
	OPENSSL_clear_free(out, len);

	/* "" is the same as no password. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  pki.leaf_key, "", &out, &len), CV_OK);
	check_pkcs12_algorithms(out, len, 0);
	decode_check(CV_CONTENT_PKCS12, out, len, NULL, pki.leaf_key);
	OPENSSL_clear_free(out, len);

	/* Without a key, with and without a password. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  NULL, "pfx-pass", &out, &len), CV_OK);
	decode_check(CV_CONTENT_PKCS12, out, len, "pfx-pass", NULL);
	OPENSSL_clear_free(out, len);
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  NULL, NULL, &out, &len), CV_OK);
	decode_check(CV_CONTENT_PKCS12, out, len, NULL, NULL);
	/* Damaged. */
	assert_int_equal(cv_secret_decode(CV_CONTENT_PKCS12, out, len - 1, NULL,
					  &leaf, &c2, &key), CV_ERR_CORRUPT);
	OPENSSL_clear_free(out, len);

	/* A key that is not the leaf's. */
	assert_int_equal(cv_secret_encode(CV_CONTENT_PKCS12, "web", pki.leaf, chain,
					  pki.other_key, NULL, &out, &len),
			 CV_ERR_CRYPTO);
	assert_null(out);
	assert_int_equal(len, 0);
	sk_X509_free(chain);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_secret_decode_garbage(void **state)
{
	static const unsigned char junk[] = "-----BEGIN NOTHING-----\n";
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;

	(void)state;
	assert_int_equal(cv_secret_decode(CV_CONTENT_PEM, junk, sizeof(junk) - 1,
					  NULL, &leaf, &chain, &key), CV_ERR_CORRUPT);
	assert_int_equal(cv_secret_decode(CV_CONTENT_PKCS12, junk, sizeof(junk) - 1,
					  NULL, &leaf, &chain, &key), CV_ERR_CORRUPT);
	assert_int_equal(cv_secret_decode(CV_CONTENT_PEM, junk, 0, NULL, &leaf,
					  &chain, &key), CV_ERR_CORRUPT);
	assert_null(leaf);
	assert_null(chain);
	assert_null(key);
	assert_int_equal(ERR_peek_error(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keygen_rsa),
		cmocka_unit_test(test_keygen_ec),
		cmocka_unit_test(test_keygen_unsupported),
		cmocka_unit_test(test_key_id_rsa),
		cmocka_unit_test(test_key_id_ec),
		cmocka_unit_test(test_key_id_unsupported),
		cmocka_unit_test(test_csr_contents),
		cmocka_unit_test(test_csr_digest_per_curve),
		cmocka_unit_test(test_csr_cn_in_san),
		cmocka_unit_test(test_csr_empty_subject),
		cmocka_unit_test(test_csr_bad_values),
		cmocka_unit_test(test_self_signed_rsa),
		cmocka_unit_test(test_self_signed_ca),
		cmocka_unit_test(test_self_signed_each_key_type),
		cmocka_unit_test(test_self_signed_validity_months),
		cmocka_unit_test(test_validity_far_dates),
		cmocka_unit_test(test_read_pem),
		cmocka_unit_test(test_read_der),
		cmocka_unit_test(test_read_pkcs7),
		cmocka_unit_test(test_read_bad),
		cmocka_unit_test(test_import_pkcs12),
		cmocka_unit_test(test_import_pkcs12_legacy),
		cmocka_unit_test(test_import_pkcs12_parts),
		cmocka_unit_test(test_import_pem),
		cmocka_unit_test(test_import_pem_errors),
		cmocka_unit_test(test_order_chain),
		cmocka_unit_test(test_thumbprint),
		cmocka_unit_test(test_secret_pem),
		cmocka_unit_test(test_secret_pkcs12),
		cmocka_unit_test(test_secret_decode_garbage),
		cmocka_unit_test(test_basic_constraints_path_length),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
