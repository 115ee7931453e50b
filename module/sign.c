/* certvault-pkcs11: sign and verify.
 *
 * Everything that costs is done in C_SignInit: the key lookup (from
 * cache.c, so no LMDB read and no unsealing per signature) and the OpenSSL
 * context, copied from one prepared by an earlier C_SignInit with the same
 * key and mechanism.  C_Sign then is one OpenSSL call, plus the conversion
 * of an ECDSA signature from DER to r || s.  No lock is held while
 * signing: each session has its own contexts, and an EVP_PKEY may be used
 * by many threads at once.
 *
 * pkcs11.c ends operations (the spec's rule: every return but a length
 * query and CKR_BUFFER_TOO_SMALL); the functions here only report.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "internal.h"

/* --- Shared with crypt.c --------------------------------------------------- */

struct hash_alg {
	CK_MECHANISM_TYPE mech;
	CK_RSA_PKCS_MGF_TYPE mgf;
	const char *name;
};

static const struct hash_alg hashes[] = {
	{ CKM_SHA_1, CKG_MGF1_SHA1, "SHA1" },
	{ CKM_SHA224, CKG_MGF1_SHA224, "SHA224" },
	{ CKM_SHA256, CKG_MGF1_SHA256, "SHA256" },
	{ CKM_SHA384, CKG_MGF1_SHA384, "SHA384" },
	{ CKM_SHA512, CKG_MGF1_SHA512, "SHA512" },
#if defined(CKM_SHA3_256) && defined(CKG_MGF1_SHA3_256)
	{ CKM_SHA3_224, CKG_MGF1_SHA3_224, "SHA3-224" },
	{ CKM_SHA3_256, CKG_MGF1_SHA3_256, "SHA3-256" },
	{ CKM_SHA3_384, CKG_MGF1_SHA3_384, "SHA3-384" },
	{ CKM_SHA3_512, CKG_MGF1_SHA3_512, "SHA3-512" },
#endif
};
#define N_HASHES (sizeof(hashes) / sizeof(hashes[0]))

/* Fetched once: an implicit fetch per operation takes OpenSSL's global
 * store lock, which 16 signing threads would queue on. */
static EVP_MD *hash_md[N_HASHES];
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void
hash_fetch(void)
{
	size_t i;

	for (i = 0; i < N_HASHES; i++)
		hash_md[i] = EVP_MD_fetch(NULL, hashes[i].name, NULL);
	ERR_clear_error();
}

const EVP_MD *
cv_hash_md(CK_MECHANISM_TYPE hash)
{
	size_t i;

	pthread_once(&hash_once, hash_fetch);
	for (i = 0; i < N_HASHES; i++)
		if (hashes[i].mech == hash)
			return hash_md[i];
	return NULL;
}

const EVP_MD *
cv_mgf_md(CK_RSA_PKCS_MGF_TYPE mgf)
{
	size_t i;

	pthread_once(&hash_once, hash_fetch);
	for (i = 0; i < N_HASHES; i++)
		if (hashes[i].mgf == mgf)
			return hash_md[i];
	return NULL;
}

/* Append to the input of a single-part mechanism used in parts. */
CK_RV
cv_crypto_op_append(cv_crypto_op *op, const unsigned char *part, size_t len,
		    size_t max)
{
	if (len > max || op->buf_len > max - len)
		return CKR_DATA_LEN_RANGE;
	if (op->buf == NULL) {
		if ((op->buf = malloc(max > 0 ? max : 1)) == NULL)
			return CKR_HOST_MEMORY;
		op->buf_cap = max > 0 ? max : 1;
	}
	if (len > 0)
		memcpy(op->buf + op->buf_len, part, len);
	op->buf_len += len;
	return CKR_OK;
}

/* --- Mechanisms ------------------------------------------------------------ */

enum family {
	F_RSA_PKCS,        /* raw: DigestInfo or data up to k - 11 bytes */
	F_RSA_PSS,         /* raw: a hash */
	F_HASH_RSA_PKCS,
	F_HASH_RSA_PSS,
	F_ECDSA,           /* raw: a hash, any length */
	F_HASH_ECDSA,
};

struct sign_mech {
	CK_MECHANISM_TYPE mech;
	enum family fam;
	CK_MECHANISM_TYPE hash;
};

static const struct sign_mech sign_mechs[] = {
	{ CKM_RSA_PKCS, F_RSA_PKCS, 0 },
	{ CKM_RSA_PKCS_PSS, F_RSA_PSS, 0 },
	{ CKM_SHA1_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA_1 },
	{ CKM_SHA224_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA224 },
	{ CKM_SHA256_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA256 },
	{ CKM_SHA384_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA384 },
	{ CKM_SHA512_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA512 },
	{ CKM_SHA1_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA_1 },
	{ CKM_SHA224_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA224 },
	{ CKM_SHA256_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA256 },
	{ CKM_SHA384_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA384 },
	{ CKM_SHA512_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA512 },
	{ CKM_ECDSA, F_ECDSA, 0 },
	{ CKM_ECDSA_SHA1, F_HASH_ECDSA, CKM_SHA_1 },
	{ CKM_ECDSA_SHA224, F_HASH_ECDSA, CKM_SHA224 },
	{ CKM_ECDSA_SHA256, F_HASH_ECDSA, CKM_SHA256 },
	{ CKM_ECDSA_SHA384, F_HASH_ECDSA, CKM_SHA384 },
	{ CKM_ECDSA_SHA512, F_HASH_ECDSA, CKM_SHA512 },
#if defined(CKM_SHA3_256_RSA_PKCS) && defined(CKM_SHA3_256)
	{ CKM_SHA3_224_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA3_224 },
	{ CKM_SHA3_256_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA3_256 },
	{ CKM_SHA3_384_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA3_384 },
	{ CKM_SHA3_512_RSA_PKCS, F_HASH_RSA_PKCS, CKM_SHA3_512 },
	{ CKM_SHA3_224_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA3_224 },
	{ CKM_SHA3_256_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA3_256 },
	{ CKM_SHA3_384_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA3_384 },
	{ CKM_SHA3_512_RSA_PKCS_PSS, F_HASH_RSA_PSS, CKM_SHA3_512 },
#endif
#if defined(CKM_ECDSA_SHA3_256) && defined(CKM_SHA3_256)
	{ CKM_ECDSA_SHA3_224, F_HASH_ECDSA, CKM_SHA3_224 },
	{ CKM_ECDSA_SHA3_256, F_HASH_ECDSA, CKM_SHA3_256 },
	{ CKM_ECDSA_SHA3_384, F_HASH_ECDSA, CKM_SHA3_384 },
	{ CKM_ECDSA_SHA3_512, F_HASH_ECDSA, CKM_SHA3_512 },
#endif
};

static const struct sign_mech *
sign_mech_find(CK_MECHANISM_TYPE m)
{
	size_t i;

	for (i = 0; i < sizeof(sign_mechs) / sizeof(sign_mechs[0]); i++)
		if (sign_mechs[i].mech == m)
			return &sign_mechs[i];
	return NULL;
}

static int
is_ec(const struct sign_mech *sm)
{
	return sm->fam == F_ECDSA || sm->fam == F_HASH_ECDSA;
}

/* The byte length of r and of s: the group order's. */
static size_t
ec_half(EVP_PKEY *pkey)
{
	return ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
}

/* Largest raw input: a DigestInfo for RSA PKCS #1 v1.5, one hash for PSS,
 * a hash of any usual length for ECDSA. */
#define ECDSA_INPUT_MAX 1024

static size_t
raw_input_max(const cv_crypto_op *op, const struct sign_mech *sm)
{
	const EVP_MD *md = NULL;
	size_t k = op->out_len;

	switch (sm->fam) {
	case F_RSA_PKCS:
		return k > 11 ? k - 11 : 0;
	case F_RSA_PSS:
		if (EVP_PKEY_CTX_get_signature_md(op->pctx, &md) <= 0 || md == NULL)
			return 0;
		return (size_t)EVP_MD_get_size(md);
	default:
		return ECDSA_INPUT_MAX;
	}
}

/* Check CK_RSA_PKCS_PSS_PARAMS and set them on a context. */
static CK_RV
pss_setup(EVP_PKEY_CTX *pctx, EVP_PKEY *pkey, CK_MECHANISM_PTR m,
	  const struct sign_mech *sm)
{
	const CK_RSA_PKCS_PSS_PARAMS *pp;
	const EVP_MD *md, *mgf;
	size_t k = (size_t)EVP_PKEY_get_size(pkey);

	if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	pp = m->pParameter;
	if ((md = cv_hash_md(pp->hashAlg)) == NULL || (mgf = cv_mgf_md(pp->mgf)) == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	if (sm->fam == F_HASH_RSA_PSS && pp->hashAlg != sm->hash)
		return CKR_MECHANISM_PARAM_INVALID;
	/* emLen >= hLen + sLen + 2 (RFC 8017, 9.1.1). */
	if (pp->sLen > k || (size_t)EVP_MD_get_size(md) + pp->sLen + 2 > k)
		return CKR_MECHANISM_PARAM_INVALID;
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    (sm->fam == F_RSA_PSS && EVP_PKEY_CTX_set_signature_md(pctx, md) <= 0) ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)pp->sLen) <= 0)
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

/* A key refused for the operation may be of the wrong type altogether,
 * which the spec reports first (CKR_KEY_TYPE_INCONSISTENT). */
static CK_RV
key_refused(cv_session *s, CK_OBJECT_HANDLE key, CK_KEY_TYPE want, CK_RV rv)
{
	CK_KEY_TYPE kt = CK_UNAVAILABLE_INFORMATION;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };

	if (rv == CKR_KEY_FUNCTION_NOT_PERMITTED &&
	    cv_object_get_attributes(s, key, &a, 1) == CKR_OK && kt != want)
		return CKR_KEY_TYPE_INCONSISTENT;
	return rv;
}

CK_RV
cv_sign_init(cv_session *s, enum cv_op_kind kind, CK_MECHANISM_PTR m,
	     CK_OBJECT_HANDLE key)
{
	const struct sign_mech *sm;
	const cv_mech_desc *d;
	cv_crypto_op *op;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	CK_KEY_TYPE kt;
	int signing = kind == CV_OP_SIGN, bits, r, keep;
	CK_RV rv;

	if (s == NULL || m == NULL || (kind != CV_OP_SIGN && kind != CV_OP_VERIFY))
		return CKR_ARGUMENTS_BAD;
	op = &s->ops[kind];
	cv_crypto_op_clear(op);
	if ((d = cv_mech_find(m->mechanism)) == NULL ||
	    !(d->flags & (signing ? CKF_SIGN : CKF_VERIFY)) ||
	    (sm = sign_mech_find(m->mechanism)) == NULL)
		return CKR_MECHANISM_INVALID;
	if (sm->fam != F_RSA_PSS && sm->fam != F_HASH_RSA_PSS && m->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = cv_object_key_for(s, key, signing ? CKA_SIGN : CKA_VERIFY, &kt,
				    &pkey)) != CKR_OK)
		return key_refused(s, key, is_ec(sm) ? CKK_EC : CKK_RSA, rv);
	if (kt != (is_ec(sm) ? CKK_EC : CKK_RSA) ||
	    (d->key_type != (CK_KEY_TYPE)-1 && kt != d->key_type)) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto done;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if ((d->min_bits != 0 && (CK_ULONG)bits < d->min_bits) ||
	    (d->max_bits != 0 && (CK_ULONG)bits > d->max_bits)) {
		rv = CKR_KEY_SIZE_RANGE;
		goto done;
	}
	op->out_len = is_ec(sm) ? 2 * ec_half(pkey) : (size_t)EVP_PKEY_get_size(pkey);

	/* A context prepared by an earlier C_SignInit with this key.  Not for
	 * session keys: a kept context would keep the key past its session. */
	keep = signing && sm->fam != F_RSA_PSS && sm->fam != F_HASH_RSA_PSS &&
	       !(key & CV_SESSION_OBJECT);
	if (keep && cv_cache_sign_ctx(s->slot, pkey, m->mechanism, &op->pctx,
				      &op->md) == CV_OK)
		goto ready;

	rv = CKR_FUNCTION_FAILED;
	if (sm->fam == F_RSA_PKCS || sm->fam == F_RSA_PSS || sm->fam == F_ECDSA) {
		if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
			rv = CKR_HOST_MEMORY;
			goto done;
		}
		r = signing ? EVP_PKEY_sign_init(pctx) : EVP_PKEY_verify_init(pctx);
		if (r <= 0)
			goto done;
		if (sm->fam == F_RSA_PKCS &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			goto done;
		if (sm->fam == F_RSA_PSS && (rv = pss_setup(pctx, pkey, m, sm)) != CKR_OK)
			goto done;
		op->pctx = pctx;
		pctx = NULL;
	} else {
		const EVP_MD *md = cv_hash_md(sm->hash);
		EVP_PKEY_CTX *inner = NULL;   /* owned by the digest context */

		if (md == NULL) {
			rv = CKR_MECHANISM_INVALID;
			goto done;
		}
		if ((op->md = EVP_MD_CTX_new()) == NULL) {
			rv = CKR_HOST_MEMORY;
			goto done;
		}
		r = signing ? EVP_DigestSignInit(op->md, &inner, md, NULL, pkey)
			    : EVP_DigestVerifyInit(op->md, &inner, md, NULL, pkey);
		if (r <= 0)
			goto done;
		if (sm->fam == F_HASH_RSA_PKCS &&
		    EVP_PKEY_CTX_set_rsa_padding(inner, RSA_PKCS1_PADDING) <= 0)
			goto done;
		if (sm->fam == F_HASH_RSA_PSS && (rv = pss_setup(inner, pkey, m, sm)) != CKR_OK)
			goto done;
	}
	if (keep) {
		/* Keep an unused copy for the next C_SignInit. */
		EVP_PKEY_CTX *kp = NULL;
		EVP_MD_CTX *km = NULL;

		if (op->pctx != NULL)
			kp = EVP_PKEY_CTX_dup(op->pctx);
		else if ((km = EVP_MD_CTX_new()) != NULL && !EVP_MD_CTX_copy_ex(km, op->md)) {
			EVP_MD_CTX_free(km);
			km = NULL;
		}
		if (kp != NULL || km != NULL)
			cv_cache_keep_sign_ctx(s->slot, pkey, m->mechanism, kp, km);
	}
ready:
	op->mech = m->mechanism;
	op->key = key;
	op->pkey = pkey;
	pkey = NULL;
	rv = CKR_OK;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	if (rv != CKR_OK)
		cv_crypto_op_clear(op);
	return rv;
}

/* DER ECDSA-Sig-Value to r || s, each n bytes. */
static CK_RV
ecdsa_der_to_raw(const unsigned char *der, size_t der_len, unsigned char *out,
		 size_t n)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	CK_RV rv = CKR_FUNCTION_FAILED;

	if ((sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL)
		return rv;
	ECDSA_SIG_get0(sig, &r, &s);
	if (BN_bn2binpad(r, out, (int)n) == (int)n &&
	    BN_bn2binpad(s, out + n, (int)n) == (int)n)
		rv = CKR_OK;
	ECDSA_SIG_free(sig);
	return rv;
}

/* r || s to DER; *der is OPENSSL_free'd by the caller. */
static CK_RV
ecdsa_raw_to_der(const unsigned char *raw, size_t n, unsigned char **der,
		 size_t *der_len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int len;
	CK_RV rv = CKR_HOST_MEMORY;

	*der = NULL;
	*der_len = 0;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)n, NULL)) == NULL ||
	    (s = BN_bin2bn(raw + n, (int)n, NULL)) == NULL ||
	    !ECDSA_SIG_set0(sig, r, s))
		goto done;
	r = s = NULL;
	if ((len = i2d_ECDSA_SIG(sig, der)) <= 0)
		goto done;
	*der_len = (size_t)len;
	rv = CKR_OK;
done:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return rv;
}

/* Produce the signature of data (one-shot), or of what the updates fed
 * (data == NULL and final).  sig holds at least op->out_len bytes. */
static CK_RV
sign_now(cv_crypto_op *op, const struct sign_mech *sm, const unsigned char *data,
	 size_t len, int final, unsigned char *sig, CK_ULONG_PTR sig_len)
{
	unsigned char der[256];
	size_t slen;
	int ec = is_ec(sm), r;

	slen = ec ? sizeof(der) : op->out_len;
	if (op->md != NULL) {
		r = final ? EVP_DigestSignFinal(op->md, ec ? der : sig, &slen)
			  : EVP_DigestSign(op->md, ec ? der : sig, &slen, data, len);
	} else {
		if (final) {
			data = op->buf;
			len = op->buf_len;
		}
		if (len > raw_input_max(op, sm) ||
		    (sm->fam == F_RSA_PSS && len != raw_input_max(op, sm)))
			return CKR_DATA_LEN_RANGE;
		r = EVP_PKEY_sign(op->pctx, ec ? der : sig, &slen,
				  data != NULL ? data : (const unsigned char *)"", len);
	}
	if (r <= 0)
		return CKR_FUNCTION_FAILED;
	if (ec) {
		if (ecdsa_der_to_raw(der, slen, sig, op->out_len / 2) != CKR_OK)
			return CKR_FUNCTION_FAILED;
		slen = op->out_len;
	}
	*sig_len = (CK_ULONG)slen;
	return CKR_OK;
}

/* The end of a signature: the length protocol, then sign_now. */
static CK_RV
sign_finish(cv_session *s, const unsigned char *data, size_t len, int final,
	    CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	cv_crypto_op *op = &s->ops[CV_OP_SIGN];
	const struct sign_mech *sm = sign_mech_find(op->mech);
	CK_RV rv;

	if (sm == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto done;
	}
	/* Input of a raw mechanism that can never be signed fails now, not
	 * after the caller has sized its buffer. */
	if (op->md == NULL && !final &&
	    (len > raw_input_max(op, sm) ||
	     (sm->fam == F_RSA_PSS && len != raw_input_max(op, sm)))) {
		rv = CKR_DATA_LEN_RANGE;
		goto done;
	}
	/* The length query and a short buffer keep the operation going
	 * (PKCS#11 3.0, section 5.2). */
	if (sig == NULL) {
		*sig_len = (CK_ULONG)op->out_len;
		return CKR_OK;
	}
	if (*sig_len < op->out_len) {
		*sig_len = (CK_ULONG)op->out_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	rv = sign_now(op, sm, data, len, final, sig, sig_len);
done:
	ERR_clear_error();
	return rv;
}

CK_RV
cv_sign(cv_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
	CK_ULONG_PTR sig_len)
{
	if (s == NULL || sig_len == NULL || (data == NULL && len > 0))
		return CKR_ARGUMENTS_BAD;
	/* C_Sign cannot end a multi-part operation. */
	if (s->ops[CV_OP_SIGN].multipart)
		return CKR_OPERATION_NOT_INITIALIZED;
	return sign_finish(s, data, len, 0, sig, sig_len);
}

CK_RV
cv_sign_update(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR part,
	       CK_ULONG len)
{
	const struct sign_mech *sm;
	cv_crypto_op *op;
	CK_RV rv = CKR_OK;
	int r;

	if (s == NULL || (kind != CV_OP_SIGN && kind != CV_OP_VERIFY))
		return CKR_ARGUMENTS_BAD;
	op = &s->ops[kind];
	if (part == NULL && len > 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto done;
	}
	if ((sm = sign_mech_find(op->mech)) == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto done;
	}
	op->multipart = 1;
	if (op->md != NULL) {
		r = kind == CV_OP_SIGN ? EVP_DigestSignUpdate(op->md, part, len)
				       : EVP_DigestVerifyUpdate(op->md, part, len);
		if (r <= 0)
			rv = CKR_FUNCTION_FAILED;
	} else {
		rv = cv_crypto_op_append(op, part, len, raw_input_max(op, sm));
	}
done:
	ERR_clear_error();
	return rv;
}

CK_RV
cv_sign_final(cv_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	if (s == NULL || sig_len == NULL)
		return CKR_ARGUMENTS_BAD;
	return sign_finish(s, NULL, 0, 1, sig, sig_len);
}

/* Check a signature of data (one-shot) or of what the updates fed. */
static CK_RV
verify_now(cv_session *s, const unsigned char *data, size_t len, int final,
	   const unsigned char *sig, size_t sig_len)
{
	cv_crypto_op *op = &s->ops[CV_OP_VERIFY];
	const struct sign_mech *sm = sign_mech_find(op->mech);
	unsigned char *der = NULL;
	size_t der_len = 0;
	CK_RV rv;
	int r;

	if (sm == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto done;
	}
	if (op->md == NULL) {
		if (final) {
			data = op->buf;
			len = op->buf_len;
		}
		if (len > raw_input_max(op, sm) ||
		    (sm->fam == F_RSA_PSS && len != raw_input_max(op, sm))) {
			rv = CKR_DATA_LEN_RANGE;
			goto done;
		}
	}
	if (sig_len != op->out_len) {
		rv = CKR_SIGNATURE_LEN_RANGE;
		goto done;
	}
	if (is_ec(sm)) {
		if ((rv = ecdsa_raw_to_der(sig, sig_len / 2, &der, &der_len)) != CKR_OK)
			goto done;
		sig = der;
		sig_len = der_len;
	}
	if (op->md != NULL)
		r = final ? EVP_DigestVerifyFinal(op->md, sig, sig_len)
			  : EVP_DigestVerify(op->md, sig, sig_len, data, len);
	else
		r = EVP_PKEY_verify(op->pctx, sig, sig_len,
				    data != NULL ? data : (const unsigned char *)"", len);
	rv = r == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
done:
	ERR_clear_error();
	OPENSSL_free(der);
	return rv;
}

CK_RV
cv_verify(cv_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
	  CK_ULONG sig_len)
{
	if (s == NULL || (data == NULL && len > 0) || (sig == NULL && sig_len > 0))
		return CKR_ARGUMENTS_BAD;
	if (s->ops[CV_OP_VERIFY].multipart)
		return CKR_OPERATION_NOT_INITIALIZED;
	return verify_now(s, data, len, 0, sig, sig_len);
}

CK_RV
cv_verify_final(cv_session *s, CK_BYTE_PTR sig, CK_ULONG sig_len)
{
	if (s == NULL || (sig == NULL && sig_len > 0))
		return CKR_ARGUMENTS_BAD;
	return verify_now(s, NULL, 0, 1, sig, sig_len);
}
