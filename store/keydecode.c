/* certvault: a sealed private key, decoded into the secure heap.
 *
 * OpenSSL 3.0's PKCS#8 decoder (EVP_PKCS82PKEY and the OSSL_DECODER behind
 * it) copies the encoded key into a buffer it frees without wiping, so the
 * whole PKCS#8 encoding stays in freed heap memory that a core dump holds.
 * The vault's own keys are plain RSA and named-curve EC keys, so the store
 * decodes them itself, straight out of the PKCS#8 structure (whose copy of
 * the key OpenSSL wipes when it is freed):
 *   - EC: the scalar into a BIGNUM of the secure heap (secmem.c), and the
 *     key built from it with EVP_PKEY_fromdata, whose EC import keeps the
 *     scalar in a secure BIGNUM of its own.
 *   - RSA: d2i_RSAPrivateKey, whose private BIGNUMs are secure; the key
 *     stays an RSA object of the store's own method (below), so OpenSSL
 *     never exports it to its provider, which would copy d and the primes
 *     into ordinary BIGNUMs, nor keeps copies of the primes beside it.
 * Anything else goes to OpenSSL's decoder.  The RSA calls are deprecated
 * in OpenSSL 3 and have no replacement that keeps the key in the secure
 * heap.
 */
/* The build hides OpenSSL's deprecated API everywhere else. */
#undef OPENSSL_NO_DEPRECATED
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 10101
#define OPENSSL_SUPPRESS_DEPRECATED
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

/* One DER element of tag `tag` at *p: its contents in *val, *len; *p moves
 * past it.  0 when the element is not there or does not fit. */
static int
der_next(const unsigned char **p, const unsigned char *end, unsigned char tag,
	 const unsigned char **val, size_t *len)
{
	const unsigned char *q = *p;
	size_t n, i, k;

	if (end - q < 2 || q[0] != tag)
		return 0;
	n = q[1];
	q += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - q) < k)
			return 0;
		for (n = 0, i = 0; i < k; i++)
			n = n << 8 | q[i];
		q += k;
	}
	if ((size_t)(end - q) < n)
		return 0;
	*val = q;
	*len = n;
	*p = q + n;
	return 1;
}

/* ECPrivateKey (RFC 5915) of a named curve, with its public key. */
static int
ec_params(OSSL_PARAM_BLD *bld, const unsigned char *der, size_t len,
	  const X509_ALGOR *alg, BIGNUM **priv)
{
	const unsigned char *p = der, *end = der + len, *v, *pub = NULL;
	const ASN1_OBJECT *curve;
	const void *pval;
	const char *group;
	size_t n, pub_len = 0;
	int ptype;

	*priv = NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT || (curve = pval) == NULL ||
	    (group = OBJ_nid2sn(OBJ_obj2nid(curve))) == NULL || OBJ_obj2nid(curve) == NID_undef)
		return 0;
	if (!der_next(&p, end, 0x30, &v, &n) || p != end)
		return 0;
	p = v;
	end = v + n;
	if (!der_next(&p, end, 0x02, &v, &n) || n != 1 || v[0] != 1 ||
	    !der_next(&p, end, 0x04, &v, &n) || n == 0 || n > 66)
		return 0;
	if ((*priv = BN_secure_new()) == NULL || BN_bin2bn(v, (int)n, *priv) == NULL)
		return 0;
	if (p < end && *p == 0xa0 && !der_next(&p, end, 0xa0, &v, &n))
		return 0;             /* the curve again: the algorithm's is used */
	if (p < end) {
		const unsigned char *bs, *bs_end;

		if (!der_next(&p, end, 0xa1, &v, &n) || p != end)
			return 0;
		bs = v;
		bs_end = v + n;
		if (!der_next(&bs, bs_end, 0x03, &v, &n) || bs != bs_end || n < 2 || v[0] != 0)
			return 0;
		pub = v + 1;
		pub_len = n - 1;
	}
	if (pub == NULL)
		return 0;             /* OpenSSL's decoder derives it */
	return OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	       OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, *priv) &&
	       OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
}

/* RSA keys of the store's own method: OpenSSL's, under another name (so
 * OpenSSL treats the keys as foreign and never exports them to its
 * provider), whose CRT exponentiation runs on a copy of the key made for
 * the one operation.  OpenSSL caches Montgomery contexts of p and q on the
 * key that exponentiates, with copies of the primes in ordinary memory,
 * until that key is freed; the copy takes them along when it is freed,
 * wiped, at the end of the operation, while the kept key keeps its
 * blinding, which is what is dear to make.  Made once, kept for the life
 * of the process. */
static RSA_METHOD *own_rsa;
static int (*ossl_mod_exp)(BIGNUM *r0, const BIGNUM *i, RSA *rsa, BN_CTX *ctx);
static pthread_once_t own_once = PTHREAD_ONCE_INIT;

/* A copy of rsa's numbers, of OpenSSL's method; BN_dup keeps the secure
 * heap's BIGNUMs there. */
static RSA *
rsa_numbers_copy(const RSA *from)
{
	const BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qi;
	BIGNUM *c[8] = { NULL };
	RSA *rsa = NULL;
	size_t i;

	RSA_get0_key(from, &n, &e, &d);
	RSA_get0_factors(from, &p, &q);
	RSA_get0_crt_params(from, &dp, &dq, &qi);
	if (n == NULL || e == NULL || d == NULL || p == NULL || q == NULL || dp == NULL ||
	    dq == NULL || qi == NULL ||
	    (c[0] = BN_dup(n)) == NULL || (c[1] = BN_dup(e)) == NULL ||
	    (c[2] = BN_dup(d)) == NULL || (c[3] = BN_dup(p)) == NULL ||
	    (c[4] = BN_dup(q)) == NULL || (c[5] = BN_dup(dp)) == NULL ||
	    (c[6] = BN_dup(dq)) == NULL || (c[7] = BN_dup(qi)) == NULL ||
	    (rsa = RSA_new()) == NULL)
		goto fail;
	if (!RSA_set0_key(rsa, c[0], c[1], c[2]))
		goto fail;
	c[0] = c[1] = c[2] = NULL;
	if (!RSA_set0_factors(rsa, c[3], c[4]))
		goto fail;
	c[3] = c[4] = NULL;
	if (!RSA_set0_crt_params(rsa, c[5], c[6], c[7]))
		goto fail;
	return rsa;
fail:
	RSA_free(rsa);
	for (i = 0; i < 8; i++)
		BN_clear_free(c[i]);
	return NULL;
}

static int
own_mod_exp(BIGNUM *r0, const BIGNUM *i, RSA *rsa, BN_CTX *ctx)
{
	RSA *once = rsa_numbers_copy(rsa);
	int ok = once != NULL && ossl_mod_exp(r0, i, once, ctx);

	RSA_free(once);                 /* its Montgomery contexts wiped */
	return ok;
}

static void
own_rsa_make(void)
{
	RSA_METHOD *m = RSA_meth_dup(RSA_PKCS1_OpenSSL());

	ossl_mod_exp = RSA_meth_get_mod_exp(RSA_PKCS1_OpenSSL());
	if (m != NULL && (ossl_mod_exp == NULL || !RSA_meth_set1_name(m, "certvault RSA") ||
			  !RSA_meth_set_mod_exp(m, own_mod_exp))) {
		RSA_meth_free(m);
		m = NULL;
	}
	own_rsa = m;
}

/* An EVP_PKEY of rsa, of the store's method; takes rsa, also on error. */
static EVP_PKEY *
rsa_wrap(RSA *rsa)
{
	EVP_PKEY *key = NULL;

	pthread_once(&own_once, own_rsa_make);
	if (rsa == NULL || own_rsa == NULL || !RSA_set_method(rsa, own_rsa) ||
	    (key = EVP_PKEY_new()) == NULL || !EVP_PKEY_assign_RSA(key, rsa)) {
		EVP_PKEY_free(key);
		RSA_free(rsa);
		return NULL;
	}
	return key;
}

cv_err
cv_key_own_copy(EVP_PKEY *key, EVP_PKEY **out)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
		OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
		OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
		OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	BIGNUM *plain = NULL, *c[8] = { NULL };
	RSA *rsa = NULL;
	size_t i;
	cv_err err = CV_ERR_CRYPTO;

	*out = NULL;
	if (key == NULL)
		return CV_ERR_INVALID;
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		/* OpenSSL keeps an EC key's scalar in a secure BIGNUM and no
		 * copy of it beside. */
		if (!EVP_PKEY_up_ref(key))
			return CV_ERR_NOMEM;
		*out = key;
		return CV_OK;
	}
	for (i = 0; i < 8; i++) {
		/* The value passes through an ordinary BIGNUM, wiped at once. */
		if (!EVP_PKEY_get_bn_param(key, names[i], &plain) ||
		    (c[i] = i < 2 ? BN_new() : BN_secure_new()) == NULL ||
		    BN_copy(c[i], plain) == NULL)
			goto done;
		BN_clear_free(plain);
		plain = NULL;
	}
	if ((rsa = RSA_new()) == NULL || !RSA_set0_key(rsa, c[0], c[1], c[2]))
		goto done;
	c[0] = c[1] = c[2] = NULL;
	if (!RSA_set0_factors(rsa, c[3], c[4]))
		goto done;
	c[3] = c[4] = NULL;
	if (!RSA_set0_crt_params(rsa, c[5], c[6], c[7]))
		goto done;
	c[5] = c[6] = c[7] = NULL;
	*out = rsa_wrap(rsa);
	rsa = NULL;
	if (*out != NULL)
		err = CV_OK;
done:
	ERR_clear_error();
	BN_clear_free(plain);
	RSA_free(rsa);
	for (i = 0; i < 8; i++)
		BN_clear_free(c[i]);
	return err;
}

/* RSAPrivateKey (RFC 8017, A.1.2) of two primes, of the store's method. */
static EVP_PKEY *
rsa_key(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	RSA *rsa = NULL;

	if (len > LONG_MAX || (rsa = d2i_RSAPrivateKey(NULL, &p, (long)len)) == NULL ||
	    p != der + len || RSA_get_multi_prime_extra_count(rsa) != 0) {
		RSA_free(rsa);
		return NULL;
	}
	return rsa_wrap(rsa);
}

/* The key of a PKCS#8 PrivateKeyInfo; NULL (and no error) when it is not a
 * plain RSA or named-curve EC key of the usual shape. */
static EVP_PKEY *
decode_own(const PKCS8_PRIV_KEY_INFO *p8)
{
	const ASN1_OBJECT *oid;
	const X509_ALGOR *alg;
	const unsigned char *pk;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *priv = NULL;
	int pklen, nid, ok = 0;

	if (!PKCS8_pkey_get0(&oid, &pk, &pklen, &alg, p8) || pklen <= 0 ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL)
		goto done;
	nid = OBJ_obj2nid(oid);
	if (nid == NID_rsaEncryption) {
		key = rsa_key(pk, (size_t)pklen);
		goto done;
	}
	if (nid == NID_X9_62_id_ecPublicKey)
		ok = ec_params(bld, pk, (size_t)pklen, alg, &priv);
	/* OSSL_PARAM_BLD puts the params of secure BIGNUMs in the secure
	 * heap (and OSSL_PARAM_free wipes them); the EC import copies the
	 * scalar into a secure BIGNUM of its own. */
	if (!ok || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) <= 0)
		key = NULL;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);     /* wipes the secure block */
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(priv);
	return key;
}

cv_err
cv_pkcs8_decode(const unsigned char *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	cv_err err = CV_ERR_CORRUPT;

	*out = NULL;
	if (len > LONG_MAX ||
	    (p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL || p != der + len)
		goto done;
	if ((*out = decode_own(p8)) == NULL)
		*out = EVP_PKCS82PKEY(p8);
	if (*out != NULL) {
		err = CV_OK;
	} else if (CRYPTO_secure_malloc_initialized()) {
		/* A secure heap with no room left is not a damaged key. */
		void *room = OPENSSL_secure_malloc(4096);

		if (room == NULL)
			err = cv_err_set(CV_ERR_NOMEM, "OpenSSL's secure heap is full: "
					 "no room to unseal a key");
		OPENSSL_secure_free(room);
	}
done:
	ERR_clear_error();
	/* Wipes the key inside it before freeing (OpenSSL's p8_pkey.c). */
	PKCS8_PRIV_KEY_INFO_free(p8);
	return err;
}
