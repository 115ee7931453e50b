/* certvault: reading the certificate content users hand to merge and import,
 * ordering chains, thumbprints and validity times.
 *
 * Everything here reads untrusted bytes: lengths come from the buffer, every
 * d2i must consume exactly its input, and OpenSSL's error queue is left as
 * it was found (trial decodes run between ERR_set_mark and ERR_pop_to_mark).
 */
#include <limits.h>
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509.h"

/* More than this many certificates in one file is not a chain. */
#define MAX_CERTS 1000
/* PKCS#12 SafeContents bags nest; real files use one level. */
#define P12_MAX_DEPTH 4
/* The most iterations one password-based key derivation may ask for.  Real
 * tools write 2000 to 600000 (Windows 2000, OpenSSL 2048, Java keytool 10000
 * or 100000, OWASP's 600000 for PBKDF2); a larger count only keeps the
 * importer busy (2^31-1 is minutes), so it is refused before anything is
 * derived. */
#define PBE_ITER_MAX 1000000
/* The most work an scrypt key derivation may ask for, as N*r*p: openssl
 * pkcs8 -scrypt writes 2^17 (N=16384, r=8, p=1).  OpenSSL bounds scrypt's
 * memory, not its time: within 32 MB, p can still ask for hours. */
#define SCRYPT_COST_MAX (1 << 20)
/* Encrypted parts of one PKCS#12, each one key derivation; real files have
 * one. */
#define P12_MAX_ENCRYPTED 8

/* The generic detail for content that is nothing this file reads. */
static cv_err
not_a_certificate(size_t len)
{
	return cv_err_set(CV_ERR_BAD_CERT,
			  "the content is not a PEM, DER or PKCS#7 certificate (%zu bytes)",
			  len);
}

static cv_err
bad_pem(void)
{
	ERR_clear_error();
	return cv_err_set(CV_ERR_BAD_PEM, "%s", cv_strerror(CV_ERR_BAD_PEM));
}

/* Like cv_err_crypto, for a code other than CV_ERR_CRYPTO. */
static cv_err
ossl_fail(cv_err code, const char *what)
{
	unsigned long e = ERR_peek_error();
	char reason[256] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (reason[0] != '\0')
		return cv_err_set(code, "%s: %s", what, reason);
	return cv_err_set(code, "%s", what);
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

/* Drop a UTF-8 byte order mark, which Windows editors put before PEM. */
static void
skip_bom(const unsigned char **data, size_t *len)
{
	if (*len >= 3 && (*data)[0] == 0xef && (*data)[1] == 0xbb &&
	    (*data)[2] == 0xbf) {
		*data += 3;
		*len -= 3;
	}
}

static int
all_space(const unsigned char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!is_space(data[i]))
			return 0;
	return 1;
}

/* 1 when a PEM BEGIN marker occurs anywhere in data (data may hold NULs,
 * so no strstr). */
static int
has_pem_marker(const unsigned char *data, size_t len)
{
	static const char marker[] = "-----BEGIN";
	const size_t mlen = sizeof(marker) - 1;
	size_t i;

	for (i = 0; i + mlen <= len; i++)
		if (data[i] == '-' && memcmp(data + i, marker, mlen) == 0)
			return 1;
	return 0;
}

static cv_err
push_cert(STACK_OF(X509) *certs, X509 *x)
{
	if (sk_X509_num(certs) >= MAX_CERTS)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the content holds more than %d certificates",
				  MAX_CERTS);
	if (!X509_up_ref(x))
		return cv_err_crypto("certificate reference");
	if (!sk_X509_push(certs, x)) {
		X509_free(x);
		return cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
	}
	return CV_OK;
}

/* The certificates of a PKCS#7 SignedData, in their order. */
static cv_err
pkcs7_certificates(PKCS7 *p7, STACK_OF(X509) *certs)
{
	STACK_OF(X509) *in;
	cv_err err;
	int i;

	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    (in = p7->d.sign->cert) == NULL || sk_X509_num(in) == 0)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the PKCS#7 content holds no certificates");
	for (i = 0; i < sk_X509_num(in); i++)
		if ((err = push_cert(certs, sk_X509_value(in, i))) != CV_OK)
			return err;
	return CV_OK;
}

/* A DER certificate or DER PKCS#7 SignedData that fills der exactly.
 * *recognized is set when der parses as one of them (so an error after
 * that, such as trailing bytes, is the real answer). */
static cv_err
der_certificates(const unsigned char *der, size_t len, STACK_OF(X509) *certs,
		 int *recognized)
{
	cv_err err = CV_ERR_BAD_CERT;
	X509 *x = NULL;
	PKCS7 *p7 = NULL;
	const unsigned char *p;
	long olen = 0;
	int tag = 0, cls = 0, ret;

	*recognized = 0;
	ERR_set_mark();
	p = der;
	if ((x = d2i_X509(NULL, &p, (long)len)) != NULL) {
		*recognized = 1;
		if (p != der + len) {
			err = cv_err_set(CV_ERR_BAD_CERT,
					 "%zu bytes follow the DER certificate",
					 (size_t)(der + len - p));
			goto done;
		}
		err = push_cert(certs, x);
		goto done;
	}
	p = der;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)len)) != NULL) {
		*recognized = 1;
		if (p != der + len) {
			err = cv_err_set(CV_ERR_BAD_CERT,
					 "%zu bytes follow the DER PKCS#7 content",
					 (size_t)(der + len - p));
			goto done;
		}
		err = pkcs7_certificates(p7, certs);
		goto done;
	}
	/* Name the commonest breakage: a download cut short. */
	p = der;
	ret = ASN1_get_object(&p, &olen, &tag, &cls, (long)len);
	if ((ret & 0x80) != 0 && p > der && olen > 0 && tag == V_ASN1_SEQUENCE &&
	    (size_t)(p - der) + (size_t)olen > len) {
		*recognized = 1;
		err = cv_err_set(CV_ERR_BAD_CERT,
				 "the DER content is truncated: %zu of %zu bytes",
				 len, (size_t)(p - der) + (size_t)olen);
		goto done;
	}
	err = CV_ERR_BAD_CERT;
done:
	ERR_pop_to_mark();
	PKCS7_free(p7);
	X509_free(x);
	return err;
}

/* Bare base64 (whitespace anywhere, padding optional) decoded into a new
 * buffer freed with OPENSSL_clear_free (it may be a PKCS#12 with a key).
 * *out is NULL, with CV_OK, when data is not base64. */
static cv_err
base64_decode(const unsigned char *data, size_t len, unsigned char **out,
	      size_t *outlen)
{
	cv_err err = CV_ERR_NOMEM;
	unsigned char *clean = NULL, *bin = NULL;
	size_t n = 0, pad = 0, binsize = 0, i;
	int got;

	*out = NULL;
	*outlen = 0;
	if ((clean = OPENSSL_malloc(len + 3)) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "base64: out of memory");
		goto done;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = data[i];

		if (is_space(c))
			continue;
		if (c == '=') {
			pad++;
		} else if (pad > 0 ||
			   !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/')) {
			err = CV_OK; /* not base64 */
			goto done;
		}
		clean[n++] = c;
	}
	if (n == 0 || pad > 2 || n % 4 == 1) {
		err = CV_OK;
		goto done;
	}
	while (n % 4 != 0) {
		clean[n++] = '=';
		pad++;
	}
	if (pad > 2 || n > INT_MAX) {
		err = CV_OK;
		goto done;
	}
	binsize = n / 4 * 3;
	if ((bin = OPENSSL_malloc(binsize)) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "base64: out of memory");
		goto done;
	}
	got = EVP_DecodeBlock(bin, clean, (int)n);
	if (got < 0 || (size_t)got < pad) {
		ERR_clear_error();
		err = CV_OK;
		goto done;
	}
	*out = bin;
	*outlen = (size_t)got - pad;
	bin = NULL;
	err = CV_OK;
done:
	OPENSSL_clear_free(bin, binsize);
	OPENSSL_clear_free(clean, len + 3);
	return err;
}

/* What the PEM blocks of a file held. */
struct pem_content {
	STACK_OF(X509) *certs;
	EVP_PKEY *key;   /* the first private key */
	int nkeys;
	int nblocks;
};

static int
is_cert_block(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 ||
	       strcmp(name, PEM_STRING_X509_OLD) == 0;
}

static int
is_pkcs7_block(const char *name)
{
	return strcmp(name, PEM_STRING_PKCS7) == 0 ||
	       strcmp(name, PEM_STRING_PKCS7_SIGNED) == 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* One unencrypted private key block: PKCS#8, or the traditional RSA and
 * EC forms. */
static cv_err
pem_private_key(const char *name, const unsigned char *der, long len,
		EVP_PKEY **out)
{
	cv_err err = CV_ERR_BAD_PEM;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *key = NULL;
	const unsigned char *p = der;

	*out = NULL;
	ERR_set_mark();
	if (strcmp(name, PEM_STRING_PKCS8INF) == 0) {
		if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len)) == NULL ||
		    p != der + len || (key = EVP_PKCS82PKEY(p8)) == NULL)
			goto done;
	} else if (strcmp(name, PEM_STRING_RSA) == 0) {
		if ((key = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len)) == NULL ||
		    p != der + len)
			goto done;
	} else if (strcmp(name, PEM_STRING_ECPRIVATEKEY) == 0) {
		if ((key = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, len)) == NULL ||
		    p != der + len)
			goto done;
	} else {
		err = cv_err_set(CV_ERR_BAD_CERT,
				 "a \"%s\" block is not a key certvault reads; give an unencrypted PKCS#8 PRIVATE KEY",
				 name);
		goto done;
	}
	*out = key;
	key = NULL;
	err = CV_OK;
done:
	ERR_pop_to_mark();
	if (err == CV_ERR_BAD_PEM)
		err = bad_pem();
	EVP_PKEY_free(key);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return err;
}

static cv_err pem_encrypted_key(const unsigned char *der, long len,
				const char *password, EVP_PKEY **out);
static cv_err pem_traditional_key(const char *name, const char *header,
				  const unsigned char *der, long len,
				  const char *password, EVP_PKEY **out);

/* One PEM block.  Key blocks are decoded only when want_keys is set; an
 * encrypted PKCS#8 key with password. */
static cv_err
pem_block(const char *name, const char *header, const unsigned char *der,
	  long len, int want_keys, const char *password, struct pem_content *c)
{
	cv_err err = CV_ERR_BAD_PEM;
	X509 *x = NULL;
	PKCS7 *p7 = NULL;
	EVP_PKEY *key = NULL;
	const unsigned char *p = der;

	ERR_set_mark();
	if (is_cert_block(name)) {
		if ((x = d2i_X509(NULL, &p, len)) == NULL || p != der + len) {
			err = bad_pem();
			goto done;
		}
		err = push_cert(c->certs, x);
	} else if (is_pkcs7_block(name)) {
		if ((p7 = d2i_PKCS7(NULL, &p, len)) == NULL || p != der + len) {
			err = bad_pem();
			goto done;
		}
		err = pkcs7_certificates(p7, c->certs);
	} else if (ends_with(name, "PRIVATE KEY") && want_keys) {
		if (header != NULL && strstr(header, "ENCRYPTED") != NULL)
			err = pem_traditional_key(name, header, der, len, password,
						  &key);
		else if (strcmp(name, PEM_STRING_PKCS8) == 0)
			err = pem_encrypted_key(der, len, password, &key);
		else
			err = pem_private_key(name, der, len, &key);
		if (err != CV_OK)
			goto done;
		if (++c->nkeys == 1) {
			c->key = key;
			key = NULL;
		}
	} else {
		err = CV_OK; /* EC PARAMETERS, CRLs, other keys when not wanted */
	}
done:
	ERR_pop_to_mark();
	EVP_PKEY_free(key);
	PKCS7_free(p7);
	X509_free(x);
	return err;
}

/* Every PEM block of data, in order.  A block whose framing or content is
 * broken is CV_ERR_BAD_PEM with Key Vault's text. */
static cv_err
pem_read_all(const unsigned char *data, size_t len, int want_keys,
	     const char *password, struct pem_content *c)
{
	cv_err err = CV_ERR_NOMEM;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long derlen = 0;
	unsigned long e;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "PEM: out of memory");
		goto done;
	}
	ERR_set_mark();
	for (;;) {
		/* PEM_FLAG_SECURE: the decoded bytes may be a private key, and
		 * the secure variants wipe them when freed. */
		if (!PEM_read_bio_ex(bio, &name, &header, &der, &derlen,
				     PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break; /* no more blocks */
			err = bad_pem();
			goto popped;
		}
		c->nblocks++;
		err = pem_block(name, header, der, derlen, want_keys, password, c);
		OPENSSL_secure_clear_free(der, (size_t)derlen);
		OPENSSL_secure_free(header);
		OPENSSL_secure_free(name);
		der = NULL;
		header = NULL;
		name = NULL;
		if (err != CV_OK)
			goto popped;
	}
	err = CV_OK;
popped:
	ERR_pop_to_mark();
done:
	BIO_free(bio);
	return err;
}

static void
pem_content_free(struct pem_content *c)
{
	sk_X509_pop_free(c->certs, X509_free);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof(*c));
}

cv_err
cv_x509_read_certificates(const unsigned char *data, size_t len,
			  STACK_OF(X509) **out)
{
	cv_err err = CV_ERR_BAD_CERT;
	struct pem_content c = { NULL, NULL, 0, 0 };
	unsigned char *bin = NULL;
	size_t binlen = 0, total = len;
	int recognized = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (data == NULL && len > 0)) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_read_certificates: no buffer");
		goto done;
	}
	skip_bom(&data, &len);
	if (len == 0 || all_space(data, len)) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the file is empty");
		goto done;
	}
	if (len > INT_MAX) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the content is too large (%zu bytes)",
				 total);
		goto done;
	}
	if ((c.certs = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
		goto done;
	}
	/* DER first: a DER file may hold "-----BEGIN" by chance, and a text
	 * file may start with '0' (0x30) by chance. */
	if (data[0] == 0x30) {
		err = der_certificates(data, len, c.certs, &recognized);
		if (err == CV_OK || (recognized && !has_pem_marker(data, len)))
			goto found;
	}
	if (has_pem_marker(data, len)) {
		if ((err = pem_read_all(data, len, 0, NULL, &c)) != CV_OK)
			goto done;
		if (c.nblocks == 0) {
			err = bad_pem();
			goto done;
		}
		if (sk_X509_num(c.certs) == 0) {
			err = cv_err_set(CV_ERR_BAD_CERT,
					 "the PEM content holds no CERTIFICATE or PKCS7 block");
			goto done;
		}
		err = CV_OK;
		goto found;
	}
	if ((err = base64_decode(data, len, &bin, &binlen)) != CV_OK)
		goto done;
	if (bin != NULL && binlen > 0 && bin[0] == 0x30) {
		err = der_certificates(bin, binlen, c.certs, &recognized);
		if (err == CV_OK || recognized)
			goto found;
	}
	err = not_a_certificate(total);
	goto done;
found:
	if (err != CV_OK)
		goto done;
	*out = c.certs;
	c.certs = NULL;
done:
	OPENSSL_clear_free(bin, binlen);
	pem_content_free(&c);
	return err;
}

/* A library context of its own for decrypting what users import: the
 * default provider and, where installed, the legacy one, for the RC2-40
 * certificate bags and DES keys of files made by OpenSSL 1.x, by `openssl
 * pkcs12 -legacy` and by older Windows.  It is the calling thread's default
 * context only between legacy_scope_enter and legacy_scope_restore, so no
 * other code in the process (nginx's own TLS, another thread) ever sees the
 * legacy algorithms.  Objects made inside the scope belong to its context:
 * they are moved out (reload_import) before legacy_scope_free. */
struct legacy_scope {
	OSSL_LIB_CTX *ctx, *prev;
	OSSL_PROVIDER *deflt, *legacy;
};

static cv_err
legacy_scope_enter(struct legacy_scope *s)
{
	memset(s, 0, sizeof(*s));
	if ((s->ctx = OSSL_LIB_CTX_new()) == NULL ||
	    (s->deflt = OSSL_PROVIDER_load(s->ctx, "default")) == NULL) {
		OSSL_LIB_CTX_free(s->ctx);
		s->ctx = NULL;
		return cv_err_crypto("a library context for reading PKCS#12");
	}
	/* Without the legacy module the modern files still read, and a
	 * legacy one fails naming the algorithm. */
	ERR_set_mark();
	s->legacy = OSSL_PROVIDER_load(s->ctx, "legacy");
	ERR_pop_to_mark();
	s->prev = OSSL_LIB_CTX_set0_default(s->ctx);
	if (s->prev == NULL) {
		OSSL_PROVIDER_unload(s->legacy);
		OSSL_PROVIDER_unload(s->deflt);
		OSSL_LIB_CTX_free(s->ctx);
		s->ctx = NULL;
		return cv_err_crypto("a library context for reading PKCS#12");
	}
	return CV_OK;
}

/* The thread's own default context again. */
static void
legacy_scope_restore(struct legacy_scope *s)
{
	if (s->prev != NULL)
		OSSL_LIB_CTX_set0_default(s->prev);
	s->prev = NULL;
}

static void
legacy_scope_free(struct legacy_scope *s)
{
	legacy_scope_restore(s);
	OSSL_PROVIDER_unload(s->legacy);
	OSSL_PROVIDER_unload(s->deflt);
	OSSL_LIB_CTX_free(s->ctx);
	memset(s, 0, sizeof(*s));
}

/* A certificate decoded again in the current default context. */
static cv_err
reload_cert(X509 *in, X509 **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;

	*out = NULL;
	if ((n = i2d_X509(in, &der)) <= 0)
		return cv_err_crypto("encode a certificate");
	p = der;
	*out = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	if (*out == NULL)
		return cv_err_crypto("decode a certificate");
	return CV_OK;
}

/* A private key decoded again in the current default context. */
static cv_err
reload_key(EVP_PKEY *in, EVP_PKEY **out)
{
	PKCS8_PRIV_KEY_INFO *p8;

	*out = NULL;
	if ((p8 = EVP_PKEY2PKCS8(in)) == NULL)
		return cv_err_crypto("encode the private key");
	*out = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key's bytes */
	if (*out == NULL)
		return cv_err_crypto("decode the private key");
	return CV_OK;
}

/* An import's results moved out of a legacy scope's context. */
static cv_err
reload_import(X509 *in_leaf, STACK_OF(X509) *in_chain, EVP_PKEY *in_key,
	      X509 **leaf, STACK_OF(X509) **chain, EVP_PKEY **key)
{
	cv_err err = CV_ERR_NOMEM;
	STACK_OF(X509) *c = NULL;
	X509 *x = NULL, *l = NULL;
	EVP_PKEY *k = NULL;
	int i;

	if ((c = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
		goto done;
	}
	for (i = 0; i < sk_X509_num(in_chain); i++) {
		if ((err = reload_cert(sk_X509_value(in_chain, i), &x)) != CV_OK)
			goto done;
		if (!sk_X509_push(c, x)) {
			err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
			goto done;
		}
		x = NULL;
	}
	if ((err = reload_cert(in_leaf, &l)) != CV_OK ||
	    (err = reload_key(in_key, &k)) != CV_OK)
		goto done;
	*leaf = l;
	*chain = c;
	*key = k;
	l = NULL;
	c = NULL;
	k = NULL;
	err = CV_OK;
done:
	X509_free(x);
	X509_free(l);
	sk_X509_pop_free(c, X509_free);
	EVP_PKEY_free(k);
	return err;
}

/* The shared end of an import: one key, at least one certificate, and the
 * certificate the key belongs to. */
static cv_err
import_finish(const char *form, STACK_OF(X509) *certs, EVP_PKEY **key,
	      int nkeys, X509 **leaf, STACK_OF(X509) **chain)
{
	int ncerts = sk_X509_num(certs);

	if (nkeys > 1)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the %s content holds %d private keys; give one",
				  form, nkeys);
	if (nkeys == 0 && ncerts > 0)
		return cv_err_set(CV_ERR_NO_KEY,
				  "the %s content holds %d certificate%s but no private key",
				  form, ncerts, ncerts == 1 ? "" : "s");
	if (nkeys == 0)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the %s content holds neither a certificate nor a private key",
				  form);
	if (ncerts == 0)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the %s content holds a private key but no certificate",
				  form);
	return cv_x509_order_chain(*key, certs, leaf, chain);
}

/* An iteration count within PBE_ITER_MAX; what names it ("the PKCS#12
 * MAC").  An absent count is 1, as the standards' DEFAULT says. */
static cv_err
check_iterations(const ASN1_INTEGER *iter, const char *what)
{
	int64_t n = 1;

	if (iter != NULL && !ASN1_INTEGER_get_int64(&n, iter)) {
		ERR_clear_error();
		if (ASN1_STRING_type(iter) == V_ASN1_NEG_INTEGER)
			return cv_err_set(CV_ERR_BAD_CERT,
					  "%s iteration count is negative", what);
		return cv_err_set(CV_ERR_BAD_CERT,
				  "%s iteration count is over certvault's limit of %d",
				  what, PBE_ITER_MAX);
	}
	if (n < 1)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "%s iteration count %lld is not a count", what,
				  (long long)n);
	if (n > PBE_ITER_MAX)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "%s iteration count %lld is over certvault's limit of %d",
				  what, (long long)n, PBE_ITER_MAX);
	return CV_OK;
}

/* The parameters of a password-based encryption algorithm, as OpenSSL reads
 * them; NULL when they are not a SEQUENCE of that shape. */
static void *
pbe_params(const X509_ALGOR *alg, const ASN1_ITEM *it)
{
	const ASN1_OBJECT *oid;
	const void *pval;
	void *params;
	int ptype;

	X509_ALGOR_get0(&oid, &ptype, &pval, alg);
	if (ptype != V_ASN1_SEQUENCE || pval == NULL)
		return NULL;
	ERR_set_mark();
	params = ASN1_item_unpack(pval, it);
	ERR_pop_to_mark();
	return params;
}

/* scrypt's cost N*r*p within SCRYPT_COST_MAX. */
static cv_err
check_scrypt(const SCRYPT_PARAMS *sp, const char *what)
{
	uint64_t n = 0, r = 0, p = 0;

	if (!ASN1_INTEGER_get_uint64(&n, sp->costParameter) ||
	    !ASN1_INTEGER_get_uint64(&r, sp->blockSize) ||
	    !ASN1_INTEGER_get_uint64(&p, sp->parallelizationParameter) ||
	    n == 0 || r == 0 || p == 0) {
		ERR_clear_error();
		return cv_err_set(CV_ERR_BAD_CERT, "%s parameters are damaged", what);
	}
	/* each factor at most 2^20, so the product fits */
	if (n > SCRYPT_COST_MAX || r > SCRYPT_COST_MAX || p > SCRYPT_COST_MAX ||
	    n * r * p > SCRYPT_COST_MAX) {
		if (n <= SCRYPT_COST_MAX && r <= SCRYPT_COST_MAX && p <= SCRYPT_COST_MAX)
			return cv_err_set(CV_ERR_BAD_CERT,
					  "%s scrypt cost N*r*p %llu is over certvault's limit of %d",
					  what, (unsigned long long)(n * r * p),
					  SCRYPT_COST_MAX);
		return cv_err_set(CV_ERR_BAD_CERT,
				  "%s scrypt cost N*r*p is over certvault's limit of %d",
				  what, SCRYPT_COST_MAX);
	}
	return CV_OK;
}

/* Refuse a password-based encryption whose key derivation would run longer
 * than real files ask for: PKCS#12's and PKCS#5 v1's PBEParameter and PBES2
 * with PBKDF2 within PBE_ITER_MAX iterations, PBES2 with scrypt within
 * SCRYPT_COST_MAX.  Other key derivations are refused. */
static cv_err
check_pbe(const X509_ALGOR *alg, const char *what)
{
	cv_err err = CV_ERR_BAD_CERT;
	const ASN1_OBJECT *oid = NULL;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	SCRYPT_PARAMS *scrypt = NULL;
	PBEPARAM *pbe = NULL;
	char name[80] = "";
	int nid;

	if (alg == NULL) {
		err = cv_err_set(CV_ERR_BAD_CERT, "%s algorithm is missing", what);
		goto done;
	}
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	nid = OBJ_obj2nid(oid);
	if (nid == NID_pbes2) {
		if ((pbe2 = pbe_params(alg, ASN1_ITEM_rptr(PBE2PARAM))) == NULL ||
		    pbe2->keyfunc == NULL) {
			err = cv_err_set(CV_ERR_BAD_CERT, "%s parameters are damaged", what);
			goto done;
		}
		X509_ALGOR_get0(&oid, NULL, NULL, pbe2->keyfunc);
		if (OBJ_obj2nid(oid) == NID_id_scrypt) {
			if ((scrypt = pbe_params(pbe2->keyfunc,
						 ASN1_ITEM_rptr(SCRYPT_PARAMS))) == NULL) {
				err = cv_err_set(CV_ERR_BAD_CERT, "%s parameters are damaged",
						 what);
				goto done;
			}
			err = check_scrypt(scrypt, what);
			goto done;
		}
		if (OBJ_obj2nid(oid) != NID_id_pbkdf2) {
			OBJ_obj2txt(name, sizeof(name), oid, 0);
			err = cv_err_set(CV_ERR_UNSUPPORTED,
					 "%s derives its key with %s; certvault reads PBKDF2 and scrypt",
					 what, name);
			goto done;
		}
		if ((kdf = pbe_params(pbe2->keyfunc, ASN1_ITEM_rptr(PBKDF2PARAM))) == NULL) {
			err = cv_err_set(CV_ERR_BAD_CERT, "%s parameters are damaged", what);
			goto done;
		}
		err = check_iterations(kdf->iter, what);
		goto done;
	}
	if ((pbe = pbe_params(alg, ASN1_ITEM_rptr(PBEPARAM))) == NULL) {
		OBJ_obj2txt(name, sizeof(name), oid, 0);
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "%s uses %s, which is not a password-based encryption certvault reads",
				 what, name);
		goto done;
	}
	err = check_iterations(pbe->iter, what);
done:
	PBEPARAM_free(pbe);
	SCRYPT_PARAMS_free(scrypt);
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	return err;
}

/* The encryption of a shrouded key bag. */
static cv_err
check_key_bag(const PKCS12_SAFEBAG *bag)
{
	const X509_SIG *sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
	const X509_ALGOR *alg = NULL;

	if (sig == NULL)
		return cv_err_set(CV_ERR_BAD_CERT, "a PKCS#12 key bag is damaged");
	X509_SIG_get0(sig, &alg, NULL);
	return check_pbe(alg, "the PKCS#12 encryption");
}

/* The key bags of a bag list that is not encrypted. */
static cv_err
p12_check_bags(const STACK_OF(PKCS12_SAFEBAG) *bags, int depth)
{
	const PKCS12_SAFEBAG *bag;
	cv_err err = CV_OK;
	int i;

	if (depth > P12_MAX_DEPTH)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the PKCS#12 bags nest deeper than %d", P12_MAX_DEPTH);
	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags) && err == CV_OK; i++) {
		bag = sk_PKCS12_SAFEBAG_value(bags, i);
		if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag)
			err = check_key_bag(bag);
		else if (PKCS12_SAFEBAG_get_nid(bag) == NID_safeContentsBag)
			err = p12_check_bags(PKCS12_SAFEBAG_get0_safes(bag), depth + 1);
	}
	return err;
}

/* What a PKCS#12 will cost to read, checked before the first key
 * derivation: the MAC's iteration count, each encrypted part's, and those
 * of the key bags that are not inside an encrypted part (the others are
 * checked before they are decrypted). */
static cv_err
p12_check_costs(PKCS12 *p12)
{
	cv_err err = CV_OK;
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	const ASN1_INTEGER *iter = NULL;
	PKCS7 *p7;
	int i, encrypted = 0;

	if (PKCS12_mac_present(p12)) {
		PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
		if ((err = check_iterations(iter, "the PKCS#12 MAC")) != CV_OK)
			goto done;
	}
	ERR_set_mark();
	safes = PKCS12_unpack_authsafes(p12);
	ERR_pop_to_mark();
	if (safes == NULL) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the PKCS#12 content is damaged");
		goto done;
	}
	for (i = 0; i < sk_PKCS7_num(safes) && err == CV_OK; i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_encrypted:
			if (++encrypted > P12_MAX_ENCRYPTED) {
				err = cv_err_set(CV_ERR_BAD_CERT,
						 "the PKCS#12 content has more than %d encrypted parts",
						 P12_MAX_ENCRYPTED);
				break;
			}
			if (p7->d.encrypted == NULL || p7->d.encrypted->enc_data == NULL) {
				err = cv_err_set(CV_ERR_BAD_CERT,
						 "the PKCS#12 content is damaged");
				break;
			}
			err = check_pbe(p7->d.encrypted->enc_data->algorithm,
					"the PKCS#12 encryption");
			break;
		case NID_pkcs7_data:
			ERR_set_mark();
			bags = PKCS12_unpack_p7data(p7);
			ERR_pop_to_mark();
			if (bags == NULL) {
				err = cv_err_set(CV_ERR_BAD_CERT,
						 "the PKCS#12 content is damaged");
				break;
			}
			err = p12_check_bags(bags, 0);
			sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
			bags = NULL;
			break;
		default:
			break; /* refused when the content is read */
		}
	}
done:
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return err;
}

/* A decryption failure: without a MAC to vouch for the password it is the
 * password; with a verified MAC the file is damaged or uses an algorithm
 * this OpenSSL lacks (RC2 when the legacy module is not installed). */
static cv_err
p12_decrypt_failure(int mac_ok)
{
	if (!mac_ok) {
		ERR_clear_error();
		return cv_err_set(CV_ERR_BAD_PASSWORD,
				  "the PKCS#12 content does not decrypt with this password");
	}
	return ossl_fail(CV_ERR_BAD_CERT,
			 "the PKCS#12 content does not decrypt although its MAC verifies");
}

static cv_err
p12_add_key(const PKCS8_PRIV_KEY_INFO *p8, struct pem_content *c)
{
	EVP_PKEY *key;

	if ((key = EVP_PKCS82PKEY(p8)) == NULL)
		return ossl_fail(CV_ERR_BAD_CERT, "the PKCS#12 private key");
	if (++c->nkeys == 1)
		c->key = key;
	else
		EVP_PKEY_free(key);
	return CV_OK;
}

static cv_err
p12_bags(const STACK_OF(PKCS12_SAFEBAG) *bags, const char *pass, int mac_ok,
	 int depth, struct pem_content *c)
{
	cv_err err = CV_OK;
	const PKCS12_SAFEBAG *bag;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	X509 *x = NULL;
	int i;

	if (depth > P12_MAX_DEPTH)
		return cv_err_set(CV_ERR_BAD_CERT,
				  "the PKCS#12 bags nest deeper than %d", P12_MAX_DEPTH);
	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		bag = sk_PKCS12_SAFEBAG_value(bags, i);
		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_keyBag:
			err = p12_add_key(PKCS12_SAFEBAG_get0_p8inf(bag), c);
			break;
		case NID_pkcs8ShroudedKeyBag:
			/* a second key is refused by import_finish: count it,
			 * never spend a key derivation on it */
			if (c->nkeys > 0) {
				c->nkeys++;
				break;
			}
			if ((err = check_key_bag(bag)) != CV_OK)
				break;
			if ((p8 = PKCS12_decrypt_skey(bag, pass, -1)) == NULL) {
				err = p12_decrypt_failure(mac_ok);
				break;
			}
			err = p12_add_key(p8, c);
			PKCS8_PRIV_KEY_INFO_free(p8);
			p8 = NULL;
			break;
		case NID_certBag:
			if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate)
				break;
			if ((x = PKCS12_SAFEBAG_get1_cert(bag)) == NULL) {
				err = ossl_fail(CV_ERR_BAD_CERT,
						"a PKCS#12 certificate is damaged");
				break;
			}
			err = push_cert(c->certs, x);
			X509_free(x);
			x = NULL;
			break;
		case NID_safeContentsBag:
			err = p12_bags(PKCS12_SAFEBAG_get0_safes(bag), pass, mac_ok,
				       depth + 1, c);
			break;
		default:
			break; /* CRLs, secrets: not ours */
		}
		if (err != CV_OK)
			break;
	}
	return err;
}

/* Every key and certificate of a PKCS#12 whose MAC (if any) was checked. */
static cv_err
p12_contents(PKCS12 *p12, const char *pass, int mac_ok, struct pem_content *c)
{
	cv_err err = CV_ERR_BAD_CERT;
	STACK_OF(PKCS7) *safes = NULL;
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS7 *p7;
	int i;

	if ((safes = PKCS12_unpack_authsafes(p12)) == NULL) {
		err = ossl_fail(CV_ERR_BAD_CERT, "the PKCS#12 content is damaged");
		goto done;
	}
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			if ((bags = PKCS12_unpack_p7data(p7)) == NULL) {
				err = ossl_fail(CV_ERR_BAD_CERT,
						"the PKCS#12 content is damaged");
				goto done;
			}
			break;
		case NID_pkcs7_encrypted:
			if ((bags = PKCS12_unpack_p7encdata(p7, pass, -1)) == NULL) {
				err = p12_decrypt_failure(mac_ok);
				goto done;
			}
			break;
		default:
			err = cv_err_set(CV_ERR_BAD_CERT,
					 "the PKCS#12 content uses public-key privacy, which certvault does not read");
			goto done;
		}
		err = p12_bags(bags, pass, mac_ok, 0, c);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
		bags = NULL;
		if (err != CV_OK)
			goto done;
	}
	err = CV_OK;
done:
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	return err;
}

/* A PKCS#12 import.  An empty password is tried as no password and as the
 * empty string, as PKCS12_parse does, since tools write either. */
static cv_err
p12_import_here(PKCS12 *p12, const char *password, X509 **leaf,
		STACK_OF(X509) **chain, EVP_PKEY **key)
{
	cv_err err = CV_ERR_BAD_PASSWORD;
	struct pem_content c = { NULL, NULL, 0, 0 };
	const char *pass = password;
	int empty = password == NULL || *password == '\0';
	unsigned long e;

	if ((c.certs = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
		goto done;
	}
	if ((err = p12_check_costs(p12)) != CV_OK)
		goto done;
	if (PKCS12_mac_present(p12)) {
		ERR_set_mark();
		if (empty && PKCS12_verify_mac(p12, NULL, 0)) {
			pass = NULL;
		} else if (PKCS12_verify_mac(p12, empty ? "" : password, -1)) {
			pass = empty ? "" : password;
		} else {
			/* A MAC that differs queues nothing; one that cannot be
			 * computed (unknown digest) queues a generation error. */
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PKCS12 &&
			    ERR_GET_REASON(e) == PKCS12_R_MAC_GENERATION_ERROR) {
				err = ossl_fail(CV_ERR_BAD_CERT,
						"the PKCS#12 MAC cannot be checked");
				ERR_pop_to_mark();
			} else {
				ERR_pop_to_mark();
				err = cv_err_set(CV_ERR_BAD_PASSWORD,
						 "the PKCS#12 MAC does not verify with this password");
			}
			goto done;
		}
		ERR_pop_to_mark();
		err = p12_contents(p12, pass, 1, &c);
	} else {
		err = p12_contents(p12, empty ? NULL : password, 0, &c);
		if (err == CV_ERR_BAD_PASSWORD && empty) {
			pem_content_free(&c);
			if ((c.certs = sk_X509_new_null()) == NULL) {
				err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
				goto done;
			}
			err = p12_contents(p12, "", 0, &c);
		}
	}
	if (err != CV_OK)
		goto done;
	if ((err = import_finish("PKCS#12", c.certs, &c.key, c.nkeys, leaf,
				 chain)) != CV_OK)
		goto done;
	*key = c.key;
	c.key = NULL;
done:
	pem_content_free(&c);
	return err;
}

/* An ENCRYPTED PRIVATE KEY block (PKCS#8 EncryptedPrivateKeyInfo): its
 * iteration count is checked before the key is derived, and the decryption
 * runs in a legacy scope (PKCS#5 v1.5 DES and RC2 keys of older tools). */
static cv_err
pem_encrypted_key(const unsigned char *der, long len, const char *password,
		  EVP_PKEY **out)
{
	cv_err err = CV_ERR_BAD_PEM;
	struct legacy_scope scope = { NULL, NULL, NULL, NULL };
	const unsigned char *p = der;
	const X509_ALGOR *alg = NULL;
	X509_SIG *sig = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	size_t plen;

	*out = NULL;
	if (password == NULL) {
		err = cv_err_set(CV_ERR_ENCRYPTED_KEY, "%s",
				 cv_strerror(CV_ERR_ENCRYPTED_KEY));
		goto done;
	}
	if ((sig = d2i_X509_SIG(NULL, &p, len)) == NULL || p != der + len) {
		err = bad_pem();
		goto done;
	}
	X509_SIG_get0(sig, &alg, NULL);
	if ((err = check_pbe(alg, "the PEM private key's encryption")) != CV_OK ||
	    (err = legacy_scope_enter(&scope)) != CV_OK)
		goto done;
	plen = strlen(password);
	p8 = PKCS8_decrypt(sig, password, plen > INT_MAX ? INT_MAX : (int)plen);
	legacy_scope_restore(&scope);
	if (p8 == NULL) {
		ERR_clear_error();
		err = cv_err_set(CV_ERR_BAD_PASSWORD,
				 "the PEM private key does not decrypt with this password");
		goto done;
	}
	if ((*out = EVP_PKCS82PKEY(p8)) == NULL) {
		err = bad_pem();
		goto done;
	}
	err = CV_OK;
done:
	PKCS8_PRIV_KEY_INFO_free(p8); /* cleanses the key's bytes */
	X509_SIG_free(sig);
	if (scope.ctx != NULL)
		legacy_scope_free(&scope);
	return err;
}

/* OpenSSL's password callback: u is the NUL-terminated password. */
static int
password_cb(char *buf, int size, int rwflag, void *u)
{
	size_t n = strlen(u);

	(void)rwflag;
	if (size <= 0 || n > (size_t)size)
		return -1;
	memcpy(buf, u, n);
	return (int)n;
}

/* A key block in the traditional encrypted form ("Proc-Type: 4,ENCRYPTED"
 * and "DEK-Info: cipher,iv"), as OpenSSL 1.x's genrsa -des3 wrote it.  Its
 * key derivation is one MD5 round, so there is no count to bound; the
 * decryption runs in a legacy scope for DES-CBC keys. */
static cv_err
pem_traditional_key(const char *name, const char *header,
		    const unsigned char *der, long len, const char *password,
		    EVP_PKEY **out)
{
	cv_err err = CV_ERR_BAD_PEM;
	struct legacy_scope scope = { NULL, NULL, NULL, NULL };
	EVP_CIPHER_INFO cipher;
	unsigned char *buf = NULL;
	char *hdr = NULL;
	long blen = len;
	int ok;

	*out = NULL;
	if (password == NULL) {
		err = cv_err_set(CV_ERR_ENCRYPTED_KEY, "%s",
				 cv_strerror(CV_ERR_ENCRYPTED_KEY));
		goto done;
	}
	if (len <= 0 || (buf = OPENSSL_secure_malloc((size_t)len)) == NULL ||
	    (hdr = OPENSSL_strdup(header)) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "PEM: out of memory");
		goto done;
	}
	memcpy(buf, der, (size_t)len);
	if ((err = legacy_scope_enter(&scope)) != CV_OK)
		goto done;
	if (!PEM_get_EVP_CIPHER_INFO(hdr, &cipher)) {
		legacy_scope_restore(&scope);
		ERR_clear_error();
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "the PEM private key's DEK-Info names no cipher certvault reads");
		goto done;
	}
	ok = PEM_do_header(&cipher, buf, &blen, password_cb, (void *)password);
	legacy_scope_restore(&scope);
	ERR_clear_error();
	if (!ok) {
		err = cv_err_set(CV_ERR_BAD_PASSWORD,
				 "the PEM private key does not decrypt with this password");
		goto done;
	}
	/* a wrong password that happens to leave valid padding gives bytes
	 * that are no key */
	if ((err = pem_private_key(name, buf, blen, out)) == CV_ERR_BAD_PEM)
		err = cv_err_set(CV_ERR_BAD_PASSWORD,
				 "the PEM private key does not decrypt with this password");
done:
	OPENSSL_secure_clear_free(buf, buf != NULL ? (size_t)len : 0);
	OPENSSL_free(hdr);
	if (scope.ctx != NULL)
		legacy_scope_free(&scope);
	return err;
}

/* A PKCS#12 decoded with the legacy algorithms available (see
 * legacy_scope_enter); what it hands out lives in the caller's library
 * context, as if read without the scope. */
static cv_err
p12_import(PKCS12 *p12, const char *password, X509 **leaf,
	   STACK_OF(X509) **chain, EVP_PKEY **key)
{
	struct legacy_scope scope;
	X509 *in_leaf = NULL;
	STACK_OF(X509) *in_chain = NULL;
	EVP_PKEY *in_key = NULL;
	cv_err err;

	if ((err = legacy_scope_enter(&scope)) != CV_OK)
		return err;
	err = p12_import_here(p12, password, &in_leaf, &in_chain, &in_key);
	legacy_scope_restore(&scope);
	if (err == CV_OK)
		err = reload_import(in_leaf, in_chain, in_key, leaf, chain, key);
	X509_free(in_leaf);
	sk_X509_pop_free(in_chain, X509_free);
	EVP_PKEY_free(in_key);
	legacy_scope_free(&scope);
	return err;
}

/* DER (or decoded base64) import content: a PKCS#12, else certificates
 * without a key.  *recognized tells whether der was either. */
static cv_err
import_binary(const unsigned char *der, size_t len, const char *password,
	      X509 **leaf, STACK_OF(X509) **chain, EVP_PKEY **key,
	      int *is_pkcs12, int *recognized)
{
	cv_err err = CV_ERR_BAD_CERT;
	PKCS12 *p12 = NULL;
	STACK_OF(X509) *certs = NULL;
	const unsigned char *p = der;

	*recognized = 0;
	ERR_set_mark();
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	ERR_pop_to_mark();
	if (p12 != NULL) {
		*recognized = 1;
		*is_pkcs12 = 1;
		if (p != der + len) {
			err = cv_err_set(CV_ERR_BAD_CERT,
					 "%zu bytes follow the PKCS#12 content",
					 (size_t)(der + len - p));
			goto done;
		}
		err = p12_import(p12, password, leaf, chain, key);
		goto done;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
		goto done;
	}
	err = der_certificates(der, len, certs, recognized);
	if (err == CV_OK)
		err = import_finish("DER", certs, NULL, 0, leaf, chain);
done:
	sk_X509_pop_free(certs, X509_free);
	PKCS12_free(p12);
	return err;
}

cv_err
cv_x509_read_import(const unsigned char *data, size_t len,
		    const char *password, X509 **leaf,
		    STACK_OF(X509) **chain, EVP_PKEY **key, int *is_pkcs12)
{
	cv_err err = CV_ERR_BAD_CERT;
	struct pem_content c = { NULL, NULL, 0, 0 };
	unsigned char *bin = NULL;
	size_t binlen = 0, total = len;
	int recognized = 0, p12 = 0;

	if (leaf != NULL)
		*leaf = NULL;
	if (chain != NULL)
		*chain = NULL;
	if (key != NULL)
		*key = NULL;
	if (is_pkcs12 != NULL)
		*is_pkcs12 = 0;
	if (leaf == NULL || chain == NULL || key == NULL || is_pkcs12 == NULL ||
	    (data == NULL && len > 0)) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_read_import: missing argument");
		goto done;
	}
	skip_bom(&data, &len);
	if (len == 0 || all_space(data, len)) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the file is empty");
		goto done;
	}
	if (len > INT_MAX) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the content is too large (%zu bytes)",
				 total);
		goto done;
	}
	if (data[0] == 0x30) {
		err = import_binary(data, len, password, leaf, chain, key, &p12,
				    &recognized);
		if (recognized || !has_pem_marker(data, len))
			goto binary_done;
	}
	if (has_pem_marker(data, len)) {
		if ((c.certs = sk_X509_new_null()) == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "certificates: out of memory");
			goto done;
		}
		if ((err = pem_read_all(data, len, 1, password, &c)) != CV_OK)
			goto done;
		if (c.nblocks == 0) {
			err = bad_pem();
			goto done;
		}
		if ((err = import_finish("PEM", c.certs, &c.key, c.nkeys, leaf,
					 chain)) != CV_OK)
			goto done;
		*key = c.key;
		c.key = NULL;
		goto done;
	}
	if ((err = base64_decode(data, len, &bin, &binlen)) != CV_OK)
		goto done;
	if (bin != NULL && binlen > 0 && bin[0] == 0x30) {
		err = import_binary(bin, binlen, password, leaf, chain, key, &p12,
				    &recognized);
		goto binary_done;
	}
	err = CV_ERR_BAD_CERT;
	recognized = 0;
binary_done:
	*is_pkcs12 = p12;
	if (err != CV_OK && !recognized)
		err = cv_err_set(CV_ERR_BAD_CERT,
				 "the content is not a PKCS#12 file or PEM certificates with their key (%zu bytes)",
				 total);
done:
	OPENSSL_clear_free(bin, binlen);
	pem_content_free(&c);
	return err;
}

/* Self-issued in RFC 5280's sense: subject and issuer names are equal. */
static int
self_issued(X509 *x)
{
	return X509_NAME_cmp(X509_get_subject_name(x),
			     X509_get_issuer_name(x)) == 0;
}

static int
already_in(STACK_OF(X509) *list, X509 *x)
{
	int i;

	for (i = 0; i < sk_X509_num(list); i++)
		if (X509_cmp(sk_X509_value(list, i), x) == 0)
			return 1;
	return 0;
}

cv_err
cv_x509_order_chain(EVP_PKEY *pub, STACK_OF(X509) *certs, X509 **leaf,
		    STACK_OF(X509) **rest)
{
	cv_err err = CV_ERR_KEY_MISMATCH;
	STACK_OF(X509) *out = NULL;
	unsigned char *used = NULL;
	X509 *first = NULL, *cur, *c;
	int n, i, found;

	if (leaf != NULL)
		*leaf = NULL;
	if (rest != NULL)
		*rest = NULL;
	if (pub == NULL || leaf == NULL || rest == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_order_chain: missing argument");
		goto done;
	}
	ERR_set_mark(); /* X509_check_issued and EVP_PKEY_eq may queue reasons */
	n = sk_X509_num(certs);
	for (i = 0; i < n && first == NULL; i++) {
		if (cv_x509_matches_key(sk_X509_value(certs, i), pub))
			first = sk_X509_value(certs, i);
	}
	if (first == NULL) {
		err = cv_err_set(CV_ERR_KEY_MISMATCH, "%s",
				 cv_strerror(CV_ERR_KEY_MISMATCH));
		goto done;
	}
	if ((used = OPENSSL_zalloc((size_t)n)) == NULL ||
	    (out = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "chain: out of memory");
		goto done;
	}
	/* Every copy of the leaf is the leaf. */
	for (i = 0; i < n; i++)
		if (X509_cmp(sk_X509_value(certs, i), first) == 0)
			used[i] = 1;
	for (cur = first; !self_issued(cur);) {
		found = -1;
		for (i = 0; i < n && found < 0; i++) {
			c = sk_X509_value(certs, i);
			if (!used[i] && X509_check_issued(c, cur) == X509_V_OK)
				found = i;
		}
		if (found < 0)
			break;
		cur = sk_X509_value(certs, found);
		for (i = 0; i < n; i++)
			if (X509_cmp(sk_X509_value(certs, i), cur) == 0)
				used[i] = 1;
		if ((err = push_cert(out, cur)) != CV_OK)
			goto done;
	}
	for (i = 0; i < n; i++) {
		c = sk_X509_value(certs, i);
		if (used[i] || already_in(out, c))
			continue;
		if ((err = push_cert(out, c)) != CV_OK)
			goto done;
	}
	if (!X509_up_ref(first)) {
		err = cv_err_crypto("certificate reference");
		goto done;
	}
	*leaf = first;
	*rest = out;
	out = NULL;
	err = CV_OK;
done:
	if (pub != NULL && leaf != NULL && rest != NULL)
		ERR_pop_to_mark();
	OPENSSL_free(used);
	sk_X509_pop_free(out, X509_free);
	return err;
}

int
cv_x509_matches_key(X509 *cert, EVP_PKEY *pub)
{
	EVP_PKEY *pk;
	int eq = 0;

	if (cert == NULL || pub == NULL)
		return 0;
	ERR_set_mark();
	if ((pk = X509_get0_pubkey(cert)) != NULL)
		eq = EVP_PKEY_eq(pk, pub) == 1;
	ERR_pop_to_mark();
	return eq;
}

void
cv_x509_thumbprint(const unsigned char *der, size_t len,
		   char out[CV_X5T_LEN + 1])
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	uint32_t v;
	size_t o = 0;

	out[0] = '\0';
	if (!EVP_Digest(der, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
		ERR_clear_error();
		return;
	}
	/* 20 bytes: six full groups of three, then two bytes -> 3 chars. */
	for (i = 0; i + 3 <= mdlen; i += 3) {
		v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8 | md[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	v = (uint32_t)md[i] << 16 | (uint32_t)md[i + 1] << 8;
	out[o++] = alphabet[v >> 18 & 63];
	out[o++] = alphabet[v >> 12 & 63];
	out[o++] = alphabet[v >> 6 & 63];
	out[o] = '\0';
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): right past 2038 and before 1970 alike. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static cv_err
time_to_posix(const ASN1_TIME *t, const char *which, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) {
		ERR_clear_error();
		return cv_err_set(CV_ERR_BAD_CERT, "the certificate's %s is not a valid time",
				  which);
	}
	*out = days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
			       (unsigned)tm.tm_mday) * 86400 +
	       (int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return CV_OK;
}

cv_err
cv_x509_validity(X509 *cert, int64_t *nbf, int64_t *exp)
{
	cv_err err;

	if (nbf != NULL)
		*nbf = 0;
	if (exp != NULL)
		*exp = 0;
	if (cert == NULL || nbf == NULL || exp == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_x509_validity: missing argument");
	if ((err = time_to_posix(X509_get0_notBefore(cert), "notBefore",
				 nbf)) != CV_OK ||
	    (err = time_to_posix(X509_get0_notAfter(cert), "notAfter",
				 exp)) != CV_OK) {
		*nbf = 0;
		*exp = 0;
	}
	return err;
}
