/* certvault: key pairs for a policy, and the key id NSS expects (CKA_ID). */
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "x509.h"

/* Key Vault's curve names and OpenSSL's group names for them. */
static const struct {
	const char *kv;
	const char *group;
	int nid;
} curves[] = {
	{ "P-256", SN_X9_62_prime256v1, NID_X9_62_prime256v1 },
	{ "P-384", SN_secp384r1, NID_secp384r1 },
	{ "P-521", SN_secp521r1, NID_secp521r1 },
	{ "P-256K", SN_secp256k1, NID_secp256k1 },
};

/* 1 when this libcrypto has the curve built in (P-256K may be left out of
 * a distribution's build). */
static int
curve_available(int nid)
{
	EC_builtin_curve *all = NULL;
	size_t n, i;
	int found = 0;

	n = EC_get_builtin_curves(NULL, 0);
	if (n == 0 || (all = OPENSSL_malloc(n * sizeof(*all))) == NULL)
		return 0;
	n = EC_get_builtin_curves(all, n);
	for (i = 0; i < n; i++)
		if (all[i].nid == nid)
			found = 1;
	OPENSSL_free(all);
	return found;
}

static cv_err
rsa_generate(int bits, EVP_PKEY **out)
{
	cv_err err = CV_ERR_CRYPTO;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *e = NULL;

	if (bits != 2048 && bits != 3072 && bits != 4096) {
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "key_props.key_size: %d is not 2048, 3072 or 4096",
				 bits);
		goto done;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    (e = BN_new()) == NULL || !BN_set_word(e, 65537) ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 ||
	    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) <= 0 ||
	    EVP_PKEY_generate(ctx, out) <= 0) {
		err = cv_err_crypto("RSA key generation");
		goto done;
	}
	err = CV_OK;
done:
	BN_free(e);
	EVP_PKEY_CTX_free(ctx);
	return err;
}

static cv_err
ec_generate(const char *curve, EVP_PKEY **out)
{
	cv_err err = CV_ERR_CRYPTO;
	EVP_PKEY_CTX *ctx = NULL;
	const char *group = NULL;
	int nid = NID_undef;
	size_t i;

	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (strcmp(curve, curves[i].kv) == 0) {
			group = curves[i].group;
			nid = curves[i].nid;
		}
	}
	if (group == NULL) {
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "key_props.crv: \"%s\" is not P-256, P-384, P-521 or P-256K",
				 curve);
		goto done;
	}
	if (!curve_available(nid)) {
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "key_props.crv: this OpenSSL has no curve %s (%s)",
				 curve, group);
		goto done;
	}
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_group_name(ctx, group) <= 0 ||
	    EVP_PKEY_CTX_set_ec_param_enc(ctx, OPENSSL_EC_NAMED_CURVE) <= 0 ||
	    EVP_PKEY_generate(ctx, out) <= 0) {
		err = cv_err_crypto("EC key generation");
		goto done;
	}
	err = CV_OK;
done:
	EVP_PKEY_CTX_free(ctx);
	return err;
}

cv_err
cv_key_generate(const cv_policy *p, EVP_PKEY **out)
{
	cv_err err = CV_ERR_INVALID;
	EVP_PKEY *key = NULL;

	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_key_generate: no policy");
		goto done;
	}
	switch (p->kty) {
	case CV_KEY_RSA:
		err = rsa_generate(p->key_size, &key);
		break;
	case CV_KEY_EC:
		err = ec_generate(p->curve, &key);
		break;
	default:
		err = cv_err_set(CV_ERR_UNSUPPORTED, "key_props.kty: unknown key type %d",
				 (int)p->kty);
		break;
	}
	if (err != CV_OK)
		goto done;
	*out = key;
	key = NULL;
done:
	EVP_PKEY_free(key);
	return err;
}

/* The encoded EC public point of key into a new buffer. */
static cv_err
ec_point(EVP_PKEY *key, unsigned char **pt, size_t *ptlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;

	*pt = NULL;
	*ptlen = 0;
	if (!EVP_PKEY_get_octet_string_param(key,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0, &len) ||
	    len == 0)
		return cv_err_crypto("EC public point");
	if ((buf = OPENSSL_malloc(len)) == NULL)
		return cv_err_set(CV_ERR_NOMEM, "EC public point: out of memory");
	if (!EVP_PKEY_get_octet_string_param(key,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, len, &len) ||
	    len == 0) {
		OPENSSL_free(buf);
		return cv_err_crypto("EC public point");
	}
	*pt = buf;
	*ptlen = len;
	return CV_OK;
}

/* The EC public point as uncompressed octets, whatever conversion form the
 * key carries: NSS hashes the uncompressed point, and a key read from a
 * compressed SubjectPublicKeyInfo must get the same id.  OpenSSL 3.0's
 * built-in EC keys encode uncompressed already; the second path is for key
 * managers that follow the key's conversion form. */
static cv_err
ec_point_uncompressed(EVP_PKEY *pub, unsigned char **pt, size_t *ptlen)
{
	cv_err err;
	EVP_PKEY *copy = NULL;

	if ((err = ec_point(pub, pt, ptlen)) != CV_OK || (*pt)[0] == 0x04)
		goto done;
	OPENSSL_free(*pt);
	*pt = NULL;
	*ptlen = 0;
	if ((copy = EVP_PKEY_dup(pub)) == NULL ||
	    !EVP_PKEY_set_utf8_string_param(copy,
			OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
			OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED)) {
		err = cv_err_crypto("EC public point");
		goto done;
	}
	if ((err = ec_point(copy, pt, ptlen)) != CV_OK)
		goto done;
	if ((*pt)[0] != 0x04) {
		OPENSSL_free(*pt);
		*pt = NULL;
		*ptlen = 0;
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "the EC public point cannot be had uncompressed");
	}
done:
	EVP_PKEY_free(copy);
	return err;
}

cv_err
cv_key_id(EVP_PKEY *pub, uint8_t out[CV_KEY_ID_LEN])
{
	cv_err err = CV_ERR_CRYPTO;
	BIGNUM *n = NULL;
	unsigned char *bytes = NULL;
	size_t len = 0;
	unsigned int mdlen = 0;
	int nlen;

	memset(out, 0, CV_KEY_ID_LEN);
	if (pub == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_key_id: no key");
		goto done;
	}
	if (EVP_PKEY_is_a(pub, "RSA") || EVP_PKEY_is_a(pub, "RSA-PSS")) {
		if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    (nlen = BN_num_bytes(n)) <= 0) {
			err = cv_err_crypto("RSA modulus");
			goto done;
		}
		if ((bytes = OPENSSL_malloc((size_t)nlen)) == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "RSA modulus: out of memory");
			goto done;
		}
		len = (size_t)BN_bn2bin(n, bytes);
	} else if (EVP_PKEY_is_a(pub, "EC")) {
		if ((err = ec_point_uncompressed(pub, &bytes, &len)) != CV_OK)
			goto done;
	} else {
		err = cv_err_set(CV_ERR_UNSUPPORTED,
				 "key id: key type %s is neither RSA nor EC",
				 EVP_PKEY_get0_type_name(pub) != NULL ?
				 EVP_PKEY_get0_type_name(pub) : "(unknown)");
		goto done;
	}
	if (!EVP_Digest(bytes, len, out, &mdlen, EVP_sha1(), NULL) ||
	    mdlen != CV_KEY_ID_LEN) {
		memset(out, 0, CV_KEY_ID_LEN);
		err = cv_err_crypto("SHA-1 of the public key");
		goto done;
	}
	err = CV_OK;
done:
	OPENSSL_free(bytes);
	BN_free(n);
	return err;
}
