/* certvault: sealing values at rest, and keys from PINs.
 *
 * A sealed value is: format byte (1) | 12-byte random nonce | ciphertext |
 * 16-byte GCM tag, AES-256-GCM under a 32-byte key with caller-given
 * additional data.  PIN keys come from scrypt; its parameters are stored with
 * each wrapped master key so they can be raised later without a migration.
 */
#ifndef CV_SEAL_H
#define CV_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CV_MASTER_KEY_LEN 32
#define CV_SEAL_OVERHEAD (1 + 12 + 16)
#define CV_SALT_LEN 16

typedef struct cv_kdf_params {
	uint64_t n;  /* scrypt cost, a power of two */
	uint32_t r;
	uint32_t p;
} cv_kdf_params;

/* The parameters new PINs get: N=2^15, r=8, p=1 (32 MiB, about 0.1 s). */
void cv_kdf_default(cv_kdf_params *kp);

/* Reject parameters read from disk that are absurd or too weak. */
cv_err cv_kdf_check(const cv_kdf_params *kp);

/* key = scrypt(pin, salt).  Errors: CV_ERR_CRYPTO. */
cv_err cv_kdf_derive(const char *pin, size_t pin_len,
		     const unsigned char salt[CV_SALT_LEN],
		     const cv_kdf_params *kp,
		     unsigned char key[CV_MASTER_KEY_LEN]);

/* Seal pt; *out (ptlen + CV_SEAL_OVERHEAD bytes) is freed with
 * OPENSSL_free.  Errors: CV_ERR_CRYPTO, CV_ERR_NOMEM. */
cv_err cv_seal(const unsigned char key[CV_MASTER_KEY_LEN],
	       const unsigned char *aad, size_t aadlen,
	       const unsigned char *pt, size_t ptlen,
	       unsigned char **out, size_t *outlen);

/* Open a sealed value; *out is freed with OPENSSL_clear_free(*out, *outlen).
 * Errors: CV_ERR_CORRUPT (bad format or authentication failed: wrong key,
 * wrong additional data or tampering), CV_ERR_NOMEM. */
cv_err cv_unseal(const unsigned char key[CV_MASTER_KEY_LEN],
		 const unsigned char *aad, size_t aadlen,
		 const unsigned char *ct, size_t ctlen,
		 unsigned char **out, size_t *outlen);

#endif
