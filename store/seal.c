/* certvault: AES-256-GCM sealing and scrypt PIN keys. */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "seal.h"

#define SEAL_FORMAT 1
#define NONCE_LEN 12
#define TAG_LEN 16

void
cv_kdf_default(cv_kdf_params *kp)
{
	kp->n = 1u << 15;
	kp->r = 8;
	kp->p = 1;
}

cv_err
cv_kdf_check(const cv_kdf_params *kp)
{
	/* Bounds keep a damaged header from asking for terabytes of memory or
	 * from silently weakening the PIN key. */
	if (kp->n < (1u << 14) || kp->n > (1u << 22) || (kp->n & (kp->n - 1)) != 0)
		return cv_err_set(CV_ERR_CORRUPT, "scrypt N=%llu is out of range",
				  (unsigned long long)kp->n);
	if (kp->r < 1 || kp->r > 32 || kp->p < 1 || kp->p > 16)
		return cv_err_set(CV_ERR_CORRUPT, "scrypt r=%u p=%u out of range",
				  kp->r, kp->p);
	return CV_OK;
}

cv_err
cv_kdf_derive(const char *pin, size_t pin_len,
	      const unsigned char salt[CV_SALT_LEN], const cv_kdf_params *kp,
	      unsigned char key[CV_MASTER_KEY_LEN])
{
	cv_err err = CV_ERR_CRYPTO;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	uint64_t n = kp->n;
	uint32_t r = kp->r, p = kp->p;
	uint64_t maxmem = 128ull * kp->r * (kp->n + kp->p + 2) + (1u << 20);
	OSSL_PARAM params[7];

	kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_SCRYPT, NULL);
	if (kdf == NULL || (ctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		err = cv_err_crypto("scrypt");
		goto done;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
						      (void *)pin, pin_len);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
						      (void *)salt, CV_SALT_LEN);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
						&maxmem);
	params[6] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, CV_MASTER_KEY_LEN, params) != 1) {
		OPENSSL_cleanse(key, CV_MASTER_KEY_LEN);
		err = cv_err_crypto("scrypt");
		goto done;
	}
	err = CV_OK;
done:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

cv_err
cv_seal(const unsigned char key[CV_MASTER_KEY_LEN], const unsigned char *aad,
	size_t aadlen, const unsigned char *pt, size_t ptlen,
	unsigned char **out, size_t *outlen)
{
	cv_err err = CV_ERR_CRYPTO;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t total;
	int n = 0, fin = 0;

	*out = NULL;
	*outlen = 0;
	if (ptlen > (size_t)INT32_MAX - CV_SEAL_OVERHEAD || aadlen > INT32_MAX)
		return cv_err_set(CV_ERR_INVALID, "value too large to seal");
	total = ptlen + CV_SEAL_OVERHEAD;
	if ((buf = OPENSSL_malloc(total)) == NULL)
		return CV_ERR_NOMEM;
	buf[0] = SEAL_FORMAT;
	if (RAND_bytes(buf + 1, NONCE_LEN) != 1) {
		err = cv_err_crypto("random nonce");
		goto done;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, buf + 1, NULL) != 1 ||
	    (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_EncryptUpdate(ctx, buf + 1 + NONCE_LEN, &n, pt, (int)ptlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + 1 + NONCE_LEN + n, &fin) != 1 ||
	    (size_t)(n + fin) != ptlen ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
				buf + 1 + NONCE_LEN + ptlen) != 1) {
		err = cv_err_crypto("AES-256-GCM seal");
		goto done;
	}
	*out = buf;
	*outlen = total;
	buf = NULL;
	err = CV_OK;
done:
	OPENSSL_free(buf);
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

cv_err
cv_unseal(const unsigned char key[CV_MASTER_KEY_LEN], const unsigned char *aad,
	  size_t aadlen, const unsigned char *ct, size_t ctlen,
	  unsigned char **out, size_t *outlen)
{
	cv_err err = CV_ERR_CORRUPT;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	unsigned char tag[TAG_LEN];
	size_t ptlen;
	int n = 0, fin = 0;

	*out = NULL;
	*outlen = 0;
	if (ctlen < CV_SEAL_OVERHEAD || ctlen > INT32_MAX || aadlen > INT32_MAX)
		return cv_err_set(CV_ERR_CORRUPT, "sealed value of %zu bytes", ctlen);
	if (ct[0] != SEAL_FORMAT)
		return cv_err_set(CV_ERR_FORMAT_VERSION,
				  "sealed value of format %u", ct[0]);
	ptlen = ctlen - CV_SEAL_OVERHEAD;
	/* One spare byte so an empty plaintext still gets a real allocation. */
	if ((buf = OPENSSL_malloc(ptlen + 1)) == NULL)
		return CV_ERR_NOMEM;
	memcpy(tag, ct + 1 + NONCE_LEN + ptlen, TAG_LEN);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, ct + 1, NULL) != 1 ||
	    (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1) ||
	    EVP_DecryptUpdate(ctx, buf, &n, ct + 1 + NONCE_LEN, (int)ptlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1) {
		err = cv_err_crypto("AES-256-GCM open");
		goto done;
	}
	if (EVP_DecryptFinal_ex(ctx, buf + n, &fin) != 1) {
		err = cv_err_set(CV_ERR_CORRUPT, "a sealed value failed authentication");
		goto done;
	}
	*out = buf;
	*outlen = ptlen;
	buf = NULL;
	err = CV_OK;
done:
	OPENSSL_clear_free(buf, ptlen + 1);
	OPENSSL_cleanse(tag, sizeof(tag));
	EVP_CIPHER_CTX_free(ctx);
	return err;
}
