/* Unit tests: unsealed private keys decoded into the secure heap
 * (store/keydecode.c, store/secmem.c).
 *
 * The program sets up a small secure heap of its own before the store's
 * cv_secmem_init, as a host program might, so the store must use it; a
 * full secure heap must then be reported as out of memory, never as a
 * damaged key.
 */
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

#define HEAP_SIZE ((size_t)1 << 15)

/* A new key's PKCS#8 DER. */
static unsigned char *
new_pkcs8(const char *alg, const char *param, EVP_PKEY **key, int *len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;

	*key = strcmp(alg, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, alg, (size_t)atoi(param))
				       : EVP_PKEY_Q_keygen(NULL, NULL, alg, param);
	assert_non_null(*key);
	p8 = EVP_PKEY2PKCS8(*key);
	assert_non_null(p8);
	*len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
	assert_true(*len > 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return der;
}

/* The decoded key signs what the original's public key verifies, and its
 * secret values went to the secure heap. */
static void
round_trip(const char *alg, const char *param)
{
	EVP_PKEY *orig, *got = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[1024];
	size_t sig_len = sizeof(sig), used;
	static const unsigned char msg[] = "signed by the decoded key";
	unsigned char *der;
	int len;

	der = new_pkcs8(alg, param, &orig, &len);
	used = CRYPTO_secure_used();
	assert_int_equal(cv_pkcs8_decode(der, (size_t)len, &got), CV_OK);
	assert_true(CRYPTO_secure_used() > used);
	assert_int_equal(EVP_PKEY_eq(orig, got), 1);
	assert_true(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, got) == 1 &&
		    EVP_DigestSign(md, sig, &sig_len, msg, sizeof(msg)) == 1);
	assert_true(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, orig) == 1 &&
		    EVP_DigestVerify(md, sig, sig_len, msg, sizeof(msg)) == 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(got);
	EVP_PKEY_free(orig);
	OPENSSL_clear_free(der, (size_t)len);
}

static void
decode_rsa(void **state)
{
	(void)state;
	round_trip("RSA", "2048");
}

static void
decode_ec(void **state)
{
	(void)state;
	round_trip("EC", "P-256");
	round_trip("EC", "P-384");
}

static void
decode_bad(void **state)
{
	EVP_PKEY *orig, *got = NULL;
	unsigned char *der;
	int len;

	(void)state;
	der = new_pkcs8("EC", "P-256", &orig, &len);
	assert_int_equal(cv_pkcs8_decode(der, (size_t)len - 1, &got), CV_ERR_CORRUPT);
	assert_null(got);
	der[len / 2] ^= 0xff;
	(void)cv_pkcs8_decode(der, (size_t)len, &got);   /* anything but a crash */
	EVP_PKEY_free(got);
	EVP_PKEY_free(orig);
	OPENSSL_clear_free(der, (size_t)len);
}

/* A full secure heap is out of memory, not a damaged key. */
static void
decode_heap_full(void **state)
{
	void *fill[HEAP_SIZE / 16];
	EVP_PKEY *orig, *got = NULL;
	unsigned char *der;
	size_t n = 0, i;
	int len;

	(void)state;
	der = new_pkcs8("RSA", "2048", &orig, &len);
	while (n < sizeof(fill) / sizeof(fill[0]) && (fill[n] = OPENSSL_secure_malloc(16)) != NULL)
		n++;
	assert_int_equal(cv_pkcs8_decode(der, (size_t)len, &got), CV_ERR_NOMEM);
	assert_null(got);
	for (i = 0; i < n; i++)
		OPENSSL_secure_free(fill[i]);
	assert_int_equal(cv_pkcs8_decode(der, (size_t)len, &got), CV_OK);
	EVP_PKEY_free(got);
	EVP_PKEY_free(orig);
	OPENSSL_clear_free(der, (size_t)len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_rsa),
		cmocka_unit_test(decode_ec),
		cmocka_unit_test(decode_bad),
		cmocka_unit_test(decode_heap_full),
	};

	/* The host program's heap first; the store must take it as it is. */
	if (CRYPTO_secure_malloc_init(HEAP_SIZE, 16) == 0 || cv_secmem_init() != CV_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
