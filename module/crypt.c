/* certvault-pkcs11: encrypt and decrypt (RSA PKCS #1 v1.5 and OAEP).
 *
 * Both mechanisms are single-part in the spec; C_EncryptUpdate and
 * C_DecryptUpdate are accepted by gathering the input (bounded by what one
 * RSA block can take) and answering in C_*Final.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "internal.h"

/* Largest input: plaintext for encryption, exactly k for decryption. */
static size_t
crypt_input_max(const cv_crypto_op *op, enum cv_op_kind kind)
{
	const EVP_MD *md = NULL;
	size_t k = op->out_len, h;

	if (kind == CV_OP_DECRYPT)
		return k;
	if (op->mech == CKM_RSA_PKCS)
		return k > 11 ? k - 11 : 0;
	if (EVP_PKEY_CTX_get_rsa_oaep_md(op->pctx, &md) <= 0 || md == NULL)
		return 0;
	h = (size_t)EVP_MD_get_size(md);
	return k > 2 * h + 2 ? k - 2 * h - 2 : 0;
}

static CK_RV
oaep_setup(EVP_PKEY_CTX *pctx, CK_MECHANISM_PTR m)
{
	const CK_RSA_PKCS_OAEP_PARAMS *op;
	const EVP_MD *md, *mgf;
	unsigned char *label = NULL;

	if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_RSA_PKCS_OAEP_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	op = m->pParameter;
	if ((md = cv_hash_md(op->hashAlg)) == NULL || (mgf = cv_mgf_md(op->mgf)) == NULL)
		return CKR_MECHANISM_PARAM_INVALID;
	/* CKZ_DATA_SPECIFIED is the only source; 0 with no data is what
	 * several callers send for "no label". */
	if ((op->source != CKZ_DATA_SPECIFIED &&
	     !(op->source == 0 && op->ulSourceDataLen == 0)) ||
	    (op->pSourceData == NULL && op->ulSourceDataLen > 0))
		return CKR_MECHANISM_PARAM_INVALID;
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf) <= 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if (op->ulSourceDataLen > 0) {
		if ((label = OPENSSL_memdup(op->pSourceData, op->ulSourceDataLen)) == NULL)
			return CKR_HOST_MEMORY;
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label,
						     (int)op->ulSourceDataLen) <= 0) {
			OPENSSL_free(label);
			return CKR_MECHANISM_PARAM_INVALID;
		}
	}
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
cv_crypt_init(cv_session *s, enum cv_op_kind kind, CK_MECHANISM_PTR m,
	      CK_OBJECT_HANDLE key)
{
	const cv_mech_desc *d;
	cv_crypto_op *op;
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	CK_KEY_TYPE kt;
	int enc = kind == CV_OP_ENCRYPT, bits;
	CK_RV rv;

	if (s == NULL || m == NULL || (kind != CV_OP_ENCRYPT && kind != CV_OP_DECRYPT))
		return CKR_ARGUMENTS_BAD;
	op = &s->ops[kind];
	cv_crypto_op_clear(op);
	if ((m->mechanism != CKM_RSA_PKCS && m->mechanism != CKM_RSA_PKCS_OAEP) ||
	    (d = cv_mech_find(m->mechanism)) == NULL ||
	    !(d->flags & (enc ? CKF_ENCRYPT : CKF_DECRYPT)))
		return CKR_MECHANISM_INVALID;
	if (m->mechanism == CKM_RSA_PKCS && m->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if ((rv = cv_object_key_for(s, key, enc ? CKA_ENCRYPT : CKA_DECRYPT, &kt,
				    &pkey)) != CKR_OK)
		return key_refused(s, key, CKK_RSA, rv);
	if (kt != CKK_RSA) {
		rv = CKR_KEY_TYPE_INCONSISTENT;
		goto done;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if ((d->min_bits != 0 && (CK_ULONG)bits < d->min_bits) ||
	    (d->max_bits != 0 && (CK_ULONG)bits > d->max_bits)) {
		rv = CKR_KEY_SIZE_RANGE;
		goto done;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	rv = CKR_FUNCTION_FAILED;
	if ((enc ? EVP_PKEY_encrypt_init(pctx) : EVP_PKEY_decrypt_init(pctx)) <= 0)
		goto done;
	if (m->mechanism == CKM_RSA_PKCS) {
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
			goto done;
	} else if ((rv = oaep_setup(pctx, m)) != CKR_OK) {
		goto done;
	}
	op->mech = m->mechanism;
	op->key = key;
	op->out_len = (size_t)EVP_PKEY_get_size(pkey);
	op->pctx = pctx;
	op->pkey = pkey;
	pctx = NULL;
	pkey = NULL;
	if (enc && crypt_input_max(op, kind) == 0) {
		/* OAEP with a hash too long for the modulus. */
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto done;
	}
	rv = CKR_OK;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(pkey);
	if (rv != CKR_OK)
		cv_crypto_op_clear(op);
	return rv;
}

/* The one RSA operation, with the length protocol around it. */
static CK_RV
crypt_finish(cv_session *s, enum cv_op_kind kind, const unsigned char *in,
	     size_t in_len, int final, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	cv_crypto_op *op = &s->ops[kind];
	unsigned char *tmp = NULL;
	size_t k = op->out_len, olen;
	CK_RV rv;
	int r;

	if (op->pctx == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto done;
	}
	if (final) {
		in = op->buf;
		in_len = op->buf_len;
	}
	if (kind == CV_OP_ENCRYPT && in_len > crypt_input_max(op, kind)) {
		rv = CKR_DATA_LEN_RANGE;
		goto done;
	}
	if (kind == CV_OP_DECRYPT && in_len != k) {
		rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
		goto done;
	}
	/* The length query and a short buffer keep the operation going.  For
	 * decryption k suffices, and the exact length is known only after
	 * decrypting (PKCS#11 3.0, section 5.2). */
	if (out == NULL) {
		*out_len = (CK_ULONG)k;
		return CKR_OK;
	}
	if (kind == CV_OP_ENCRYPT || *out_len >= k) {
		if (*out_len < k) {
			*out_len = (CK_ULONG)k;
			return CKR_BUFFER_TOO_SMALL;
		}
		olen = *out_len;
		r = kind == CV_OP_ENCRYPT
		    ? EVP_PKEY_encrypt(op->pctx, out, &olen, in != NULL ? in : (const unsigned char *)"", in_len)
		    : EVP_PKEY_decrypt(op->pctx, out, &olen, in, in_len);
		if (r <= 0) {
			rv = kind == CV_OP_ENCRYPT ? CKR_FUNCTION_FAILED
						   : CKR_ENCRYPTED_DATA_INVALID;
			goto done;
		}
		*out_len = (CK_ULONG)olen;
		rv = CKR_OK;
		goto done;
	}

	/* Decryption into a buffer shorter than k: decrypt aside, and hand
	 * the plaintext over only if it fits. */
	if ((tmp = OPENSSL_malloc(k)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	olen = k;
	if (EVP_PKEY_decrypt(op->pctx, tmp, &olen, in, in_len) <= 0) {
		rv = CKR_ENCRYPTED_DATA_INVALID;
		goto done;
	}
	if (olen > *out_len) {
		*out_len = (CK_ULONG)olen;
		OPENSSL_clear_free(tmp, k);
		ERR_clear_error();
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, tmp, olen);
	*out_len = (CK_ULONG)olen;
	rv = CKR_OK;
done:
	ERR_clear_error();
	OPENSSL_clear_free(tmp, k);
	return rv;
}

CK_RV
cv_crypt(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR in, CK_ULONG in_len,
	 CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	if (s == NULL || (kind != CV_OP_ENCRYPT && kind != CV_OP_DECRYPT) ||
	    out_len == NULL || (in == NULL && in_len > 0))
		return CKR_ARGUMENTS_BAD;
	/* C_Encrypt and C_Decrypt cannot end a multi-part operation. */
	if (s->ops[kind].multipart)
		return CKR_OPERATION_NOT_INITIALIZED;
	return crypt_finish(s, kind, in, in_len, 0, out, out_len);
}

CK_RV
cv_crypt_update(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR in,
		CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	cv_crypto_op *op;
	CK_RV rv;

	(void)out;
	if (s == NULL || (kind != CV_OP_ENCRYPT && kind != CV_OP_DECRYPT) ||
	    out_len == NULL || (in == NULL && in_len > 0))
		return CKR_ARGUMENTS_BAD;
	op = &s->ops[kind];
	if (op->pctx == NULL)
		return CKR_OPERATION_NOT_INITIALIZED;
	op->multipart = 1;
	rv = cv_crypto_op_append(op, in, in_len, crypt_input_max(op, kind));
	if (rv == CKR_DATA_LEN_RANGE && kind == CV_OP_DECRYPT)
		rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (rv == CKR_OK)
		*out_len = 0;   /* RSA answers only when it has the whole block */
	return rv;
}

CK_RV
cv_crypt_final(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR out,
	       CK_ULONG_PTR out_len)
{
	if (s == NULL || (kind != CV_OP_ENCRYPT && kind != CV_OP_DECRYPT) ||
	    out_len == NULL)
		return CKR_ARGUMENTS_BAD;
	return crypt_finish(s, kind, NULL, 0, 1, out, out_len);
}
