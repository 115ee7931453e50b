/* certvault: memory for unsealed keys that core dumps leave out.
 *
 * OpenSSL's secure heap is one mapping that OpenSSL marks MADV_DONTDUMP
 * and locks against swapping; once it is on, OpenSSL puts the BIGNUMs of
 * private keys there (RSA's d, primes and CRT values and EC private
 * scalars, decoded from PKCS#8 or generated), and OPENSSL_secure_malloc
 * gives the store's own buffers of key plaintext the same home.  There is
 * one secure heap per process and it cannot be resized, so a program that
 * set one up first keeps its own and the store uses it.
 */
#include <openssl/crypto.h>

#include "internal.h"

/* Room for the module's private-key cache full of RSA-4096 keys (about
 * 1.8 MiB of BIGNUMs), generated session keys and the values in flight.
 * Only what is used is touched; the size must be a power of two. */
#define SECURE_HEAP_SIZE ((size_t)4 << 20)
#define SECURE_HEAP_MIN 16

cv_err
cv_secmem_init(void)
{
	int rc;

	cv_err_clear();
	if (CRYPTO_secure_malloc_initialized())
		return CV_OK;
	/* 1: locked and left out of dumps; 2: one of mlock or madvise
	 * failed (RLIMIT_MEMLOCK, say), which OpenSSL lets pass. */
	rc = CRYPTO_secure_malloc_init(SECURE_HEAP_SIZE, SECURE_HEAP_MIN);
	if (rc == 0)
		return cv_err_crypto("OpenSSL's secure heap");
	if (rc == 2)
		return cv_err_set(CV_ERR_UNSUPPORTED, "OpenSSL's secure heap is on, but "
				  "could not be locked in memory or left out of core dumps");
	return CV_OK;
}
