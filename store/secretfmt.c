/* certvault: the secret's content types (PEM and PKCS#12).
 *
 * The bytes written here may hold a private key: every buffer is wiped
 * before it is freed, on every path.
 */
#include <limits.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "x509.h"

/* Copy a memory BIO's bytes out, then wipe the BIO's own buffer. */
static cv_err
bio_take(BIO *bio, unsigned char **out, size_t *len)
{
	char *data = NULL;
	long n;

	n = BIO_get_mem_data(bio, &data);
	if (n <= 0 || data == NULL)
		return cv_err_crypto("secret encoding");
	if ((*out = OPENSSL_malloc((size_t)n)) == NULL) {
		OPENSSL_cleanse(data, (size_t)n);
		return cv_err_set(CV_ERR_NOMEM, "secret: out of memory");
	}
	memcpy(*out, data, (size_t)n);
	*len = (size_t)n;
	OPENSSL_cleanse(data, (size_t)n);
	return CV_OK;
}

static cv_err
encode_pem(X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *key,
	   unsigned char **out, size_t *len)
{
	cv_err err = CV_ERR_CRYPTO;
	BIO *bio = NULL;
	int i;

	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "secret: out of memory");
		goto done;
	}
	if (key != NULL &&
	    !PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		err = cv_err_crypto("PEM private key");
		goto done;
	}
	if (!PEM_write_bio_X509(bio, leaf)) {
		err = cv_err_crypto("PEM certificate");
		goto done;
	}
	for (i = 0; i < sk_X509_num(chain); i++) {
		if (!PEM_write_bio_X509(bio, sk_X509_value(chain, i))) {
			err = cv_err_crypto("PEM chain certificate");
			goto done;
		}
	}
	err = bio_take(bio, out, len);
done:
	if (bio != NULL && err != CV_OK) {
		char *data = NULL;
		long n = BIO_get_mem_data(bio, &data);

		if (n > 0 && data != NULL)
			OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(bio);
	return err;
}

static cv_err
encode_pkcs12(const char *name, X509 *leaf, STACK_OF(X509) *chain,
	      EVP_PKEY *key, const char *password, unsigned char **out,
	      size_t *len)
{
	cv_err err = CV_ERR_CRYPTO;
	PKCS12 *p12 = NULL;
	unsigned char *der = NULL;
	int n = 0;
	int plain = password == NULL || *password == '\0';
	int nid = plain ? -1 : NID_aes_256_cbc;
	/* No password: no encryption, and a MAC under the empty password,
	 * the form `openssl pkcs12 -passin pass:` and Windows both read. */
	const char *pass = plain ? "" : password;

	/* mac_iter -1: no SHA-1 MAC here; PKCS12_set_mac adds SHA-256. */
	if ((p12 = PKCS12_create_ex(pass, name, key, leaf, chain,
				    nid, nid, PKCS12_DEFAULT_ITER, -1, 0, NULL,
				    NULL)) == NULL) {
		err = cv_err_crypto("PKCS#12 creation");
		goto done;
	}
	if (!PKCS12_set_mac(p12, pass, -1, NULL, 0, PKCS12_DEFAULT_ITER,
			    EVP_sha256())) {
		err = cv_err_crypto("PKCS#12 MAC");
		goto done;
	}
	if ((n = i2d_PKCS12(p12, &der)) <= 0 || der == NULL) {
		n = 0;
		err = cv_err_crypto("PKCS#12 encoding");
		goto done;
	}
	*out = der;
	*len = (size_t)n;
	der = NULL;
	err = CV_OK;
done:
	OPENSSL_clear_free(der, (size_t)n);
	PKCS12_free(p12);
	return err;
}

cv_err
cv_secret_encode(enum cv_content_type ct, const char *name, X509 *leaf,
		 STACK_OF(X509) *chain, EVP_PKEY *key,
		 const char *password, unsigned char **out, size_t *len)
{
	cv_err err = CV_ERR_INVALID;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (leaf == NULL || out == NULL || len == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_secret_encode: missing argument");
		goto done;
	}
	switch (ct) {
	case CV_CONTENT_PEM:
		err = encode_pem(leaf, chain, key, out, len);
		break;
	case CV_CONTENT_PKCS12:
		err = encode_pkcs12(name, leaf, chain, key, password, out, len);
		break;
	default:
		err = cv_err_set(CV_ERR_INVALID, "unknown content type %d", (int)ct);
		break;
	}
done:
	return err;
}

static cv_err
corrupt(const char *what)
{
	ERR_clear_error();
	return cv_err_set(CV_ERR_CORRUPT, "the secret's %s is damaged", what);
}

/* A PEM secret: an optional PRIVATE KEY block first, then the leaf, then
 * the chain; nothing else. */
static cv_err
decode_pem(const unsigned char *data, size_t len, X509 **leaf,
	   STACK_OF(X509) **chain, EVP_PKEY **key)
{
	cv_err err = CV_ERR_CORRUPT;
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long derlen = 0;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL, *first = NULL;
	STACK_OF(X509) *rest = NULL;
	unsigned long e;
	int blocks = 0;

	if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL ||
	    (rest = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "secret: out of memory");
		goto done;
	}
	for (;; blocks++) {
		if (!PEM_read_bio_ex(bio, &name, &header, &der, &derlen,
				     PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE)) {
			e = ERR_peek_last_error();
			if (blocks > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
				ERR_clear_error();
				break;
			}
			err = corrupt("PEM framing");
			goto done;
		}
		p = der;
		if (strcmp(name, PEM_STRING_PKCS8INF) == 0) {
			if (blocks != 0 ||
			    (p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, derlen)) == NULL ||
			    p != der + derlen ||
			    (pkey = EVP_PKCS82PKEY(p8)) == NULL) {
				err = corrupt("private key");
				goto done;
			}
			PKCS8_PRIV_KEY_INFO_free(p8);
			p8 = NULL;
		} else if (strcmp(name, PEM_STRING_X509) == 0) {
			if ((x = d2i_X509(NULL, &p, derlen)) == NULL ||
			    p != der + derlen) {
				err = corrupt("certificate");
				goto done;
			}
			if (first == NULL) {
				first = x;
			} else if (!sk_X509_push(rest, x)) {
				err = cv_err_set(CV_ERR_NOMEM, "secret: out of memory");
				goto done;
			}
			x = NULL;
		} else {
			err = cv_err_set(CV_ERR_CORRUPT,
					 "the secret holds an unexpected \"%s\" block",
					 name);
			goto done;
		}
		OPENSSL_secure_clear_free(der, (size_t)derlen);
		OPENSSL_secure_free(header);
		OPENSSL_secure_free(name);
		der = NULL;
		header = NULL;
		name = NULL;
	}
	if (first == NULL) {
		err = cv_err_set(CV_ERR_CORRUPT, "the secret holds no certificate");
		goto done;
	}
	*leaf = first;
	first = NULL;
	*chain = rest;
	rest = NULL;
	*key = pkey;
	pkey = NULL;
	err = CV_OK;
done:
	OPENSSL_secure_clear_free(der, (size_t)derlen);
	OPENSSL_secure_free(header);
	OPENSSL_secure_free(name);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(pkey);
	X509_free(x);
	X509_free(first);
	sk_X509_pop_free(rest, X509_free);
	BIO_free(bio);
	return err;
}

/* A PKCS#12 secret: the leaf is the key's certificate, or the first
 * certificate when there is no key (cv_secret_encode writes it first). */
static cv_err
decode_pkcs12(const unsigned char *data, size_t len, const char *password,
	      X509 **leaf, STACK_OF(X509) **chain, EVP_PKEY **key)
{
	cv_err err = CV_ERR_CORRUPT;
	PKCS12 *p12 = NULL;
	const unsigned char *p = data;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;

	if ((p12 = d2i_PKCS12(NULL, &p, (long)len)) == NULL ||
	    p != data + len) {
		err = corrupt("PKCS#12 encoding");
		goto done;
	}
	if (!PKCS12_parse(p12, password, &pkey, &cert, &ca)) {
		err = corrupt("PKCS#12 content or password");
		goto done;
	}
	if (ca == NULL && (ca = sk_X509_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "secret: out of memory");
		goto done;
	}
	if (cert == NULL) {
		if (pkey != NULL || sk_X509_num(ca) == 0) {
			err = cv_err_set(CV_ERR_CORRUPT,
					 "the secret's PKCS#12 has no certificate for its key");
			goto done;
		}
		cert = sk_X509_shift(ca);
	}
	*leaf = cert;
	cert = NULL;
	*chain = ca;
	ca = NULL;
	*key = pkey;
	pkey = NULL;
	err = CV_OK;
done:
	EVP_PKEY_free(pkey);
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	return err;
}

cv_err
cv_secret_decode(enum cv_content_type ct, const unsigned char *data,
		 size_t len, const char *password, X509 **leaf,
		 STACK_OF(X509) **chain, EVP_PKEY **key)
{
	cv_err err = CV_ERR_CORRUPT;

	if (leaf != NULL)
		*leaf = NULL;
	if (chain != NULL)
		*chain = NULL;
	if (key != NULL)
		*key = NULL;
	if (leaf == NULL || chain == NULL || key == NULL ||
	    (data == NULL && len > 0)) {
		err = cv_err_set(CV_ERR_INVALID, "cv_secret_decode: missing argument");
		goto done;
	}
	if (len == 0 || len > INT_MAX) {
		err = cv_err_set(CV_ERR_CORRUPT, "the secret has %zu bytes", len);
		goto done;
	}
	switch (ct) {
	case CV_CONTENT_PEM:
		err = decode_pem(data, len, leaf, chain, key);
		break;
	case CV_CONTENT_PKCS12:
		err = decode_pkcs12(data, len, password, leaf, chain, key);
		break;
	default:
		err = cv_err_set(CV_ERR_INVALID, "unknown content type %d", (int)ct);
		break;
	}
done:
	return err;
}
