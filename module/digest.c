/* certvault-pkcs11: message digests (CKM_SHA_1, CKM_SHA224 ... CKM_SHA512).
 *
 * The operation lives in the session's ops[CV_OP_DIGEST]: md is the
 * EVP_MD_CTX, out_len the digest's size.  pkcs11.c checks that the
 * operation is active and ends it by the spec's rules after each call; the
 * functions here only digest.
 */
#include <openssl/evp.h>

#include "internal.h"

CK_RV
cv_digest_init(cv_session *s, CK_MECHANISM_PTR m)
{
	cv_crypto_op *op;
	const cv_mech_desc *d;
	EVP_MD *md = NULL;
	CK_RV rv = CKR_MECHANISM_INVALID;
	int size;

	return_val_if_fail(s != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(m != NULL, CKR_ARGUMENTS_BAD);
	op = &s->ops[CV_OP_DIGEST];
	cv_crypto_op_clear(op);

	d = cv_mech_find(m->mechanism);
	if (d == NULL || (d->flags & CKF_DIGEST) == 0 || d->digest == NULL)
		goto done;
	/* The SHA mechanisms take no parameter. */
	if (m->pParameter != NULL || m->ulParameterLen != 0) {
		rv = CKR_MECHANISM_PARAM_INVALID;
		goto done;
	}
	rv = CKR_HOST_MEMORY;
	if ((md = EVP_MD_fetch(NULL, d->digest, NULL)) == NULL) {
		cv_module_debug("digest %s unavailable", d->digest);
		rv = CKR_FUNCTION_FAILED;
		goto done;
	}
	if ((op->md = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestInit_ex2(op->md, md, NULL) != 1 ||
	    (size = EVP_MD_get_size(md)) <= 0) {
		rv = CKR_FUNCTION_FAILED;
		goto done;
	}
	op->mech = m->mechanism;
	op->key = CK_INVALID_HANDLE;
	op->out_len = (size_t)size;
	rv = CKR_OK;
done:
	EVP_MD_free(md);
	if (rv != CKR_OK)
		cv_crypto_op_clear(op);
	return rv;
}

static CK_RV
digest_finish(cv_crypto_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(op->md, out, &n) != 1)
		return CKR_FUNCTION_FAILED;
	*out_len = n;
	return CKR_OK;
}

CK_RV
cv_digest(cv_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
	  CK_ULONG_PTR out_len)
{
	cv_crypto_op *op;

	return_val_if_fail(s != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(out_len != NULL, CKR_ARGUMENTS_BAD);
	return_val_if_fail(in != NULL || len == 0, CKR_ARGUMENTS_BAD);
	op = &s->ops[CV_OP_DIGEST];
	return_val_if_fail(op->md != NULL, CKR_OPERATION_NOT_INITIALIZED);

	/* C_Digest must not end a multi-part digest. */
	if (op->multipart)
		return CKR_OPERATION_ACTIVE;
	if (out == NULL) {
		*out_len = op->out_len;
		return CKR_OK;
	}
	if (*out_len < op->out_len) {
		*out_len = op->out_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (len > 0 && EVP_DigestUpdate(op->md, in, len) != 1)
		return CKR_FUNCTION_FAILED;
	return digest_finish(op, out, out_len);
}

CK_RV
cv_digest_update(cv_session *s, CK_BYTE_PTR in, CK_ULONG len)
{
	cv_crypto_op *op;

	return_val_if_fail(s != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(in != NULL || len == 0, CKR_ARGUMENTS_BAD);
	op = &s->ops[CV_OP_DIGEST];
	return_val_if_fail(op->md != NULL, CKR_OPERATION_NOT_INITIALIZED);

	op->multipart = 1;
	if (len > 0 && EVP_DigestUpdate(op->md, in, len) != 1)
		return CKR_FUNCTION_FAILED;
	return CKR_OK;
}

CK_RV
cv_digest_final(cv_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	cv_crypto_op *op;

	return_val_if_fail(s != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(out_len != NULL, CKR_ARGUMENTS_BAD);
	op = &s->ops[CV_OP_DIGEST];
	return_val_if_fail(op->md != NULL, CKR_OPERATION_NOT_INITIALIZED);

	if (out == NULL) {
		*out_len = op->out_len;
		return CKR_OK;
	}
	if (*out_len < op->out_len) {
		*out_len = op->out_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	return digest_finish(op, out, out_len);
}
