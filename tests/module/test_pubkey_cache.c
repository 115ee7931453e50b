/* The module's kept public keys (module/cache.c cv_cache_public_key): a
 * public key is decoded once and handed out again only for the very
 * SubjectPublicKeyInfo it came from.  Here a key number of a real vault is
 * made to name another key (the store does not reuse numbers today; the
 * cache must not depend on it): the next lookup must give the new key,
 * never the one kept.
 * The module's sources are built into this program (the shared module
 * hides all but its entry points). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../module/internal.h"
#include "../unit/fixture.h"

/* A new EC P-256 key and its SubjectPublicKeyInfo DER. */
static EVP_PKEY *
new_key(cv_blob *spki)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	int len;

	assert_non_null(k);
	spki->data = NULL;
	len = i2d_PUBKEY(k, &spki->data);
	assert_true(len > 0);
	spki->len = (size_t)len;
	return k;
}

static cv_slot *
slot_of(cvt_fixture *fx)
{
	static cv_slot s;

	memset(&s, 0, sizeof(s));
	s.id = 0;
	s.vault = fx->v;
	return &s;
}

static void
number_names_another_key(void **state)
{
	cvt_fixture *fx = *state;
	cv_slot *s = slot_of(fx);
	cv_blob a_spki, b_spki;
	EVP_PKEY *a = new_key(&a_spki), *b = new_key(&b_spki), *got = NULL, *again = NULL;
	cv_key_info k;

	memset(&k, 0, sizeof(k));
	k.num = 7;
	k.spki = a_spki;
	assert_int_equal(cv_cache_public_key(s, &k, &got), CV_OK);
	assert_int_equal(EVP_PKEY_eq(got, a), 1);
	/* Kept: the same key object comes back. */
	assert_int_equal(cv_cache_public_key(s, &k, &again), CV_OK);
	assert_ptr_equal(again, got);
	EVP_PKEY_free(again);
	again = NULL;

	/* Key number 7 now names b: b, not the kept a. */
	k.spki = b_spki;
	assert_int_equal(cv_cache_public_key(s, &k, &again), CV_OK);
	assert_int_equal(EVP_PKEY_eq(again, b), 1);
	EVP_PKEY_free(again);
	again = NULL;
	/* ... and back to a. */
	k.spki = a_spki;
	assert_int_equal(cv_cache_public_key(s, &k, &again), CV_OK);
	assert_int_equal(EVP_PKEY_eq(again, a), 1);

	/* The reference handed out outlives the cache's. */
	cv_cache_clear();
	assert_int_equal(EVP_PKEY_eq(got, a), 1);
	EVP_PKEY_free(again);
	EVP_PKEY_free(got);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	OPENSSL_free(a_spki.data);
	OPENSSL_free(b_spki.data);
}

/* Public keys need no login: a logged-out vault's are kept as well. */
static void
no_login_needed(void **state)
{
	cvt_fixture *fx = *state;
	cv_slot *s = slot_of(fx);
	cv_blob spki;
	EVP_PKEY *a = new_key(&spki), *got = NULL, *again = NULL;
	cv_key_info k;

	cv_vault_logout(fx->v);
	memset(&k, 0, sizeof(k));
	k.num = 9;
	k.spki = spki;
	assert_int_equal(cv_cache_public_key(s, &k, &got), CV_OK);
	assert_int_equal(cv_cache_public_key(s, &k, &again), CV_OK);
	assert_ptr_equal(again, got);
	assert_int_equal(EVP_PKEY_eq(got, a), 1);
	EVP_PKEY_free(again);
	EVP_PKEY_free(got);
	EVP_PKEY_free(a);
	OPENSSL_free(spki.data);
	cv_cache_clear();
}

/* Bytes that are not one whole SubjectPublicKeyInfo are refused. */
static void
bad_spki_refused(void **state)
{
	cvt_fixture *fx = *state;
	cv_slot *s = slot_of(fx);
	cv_blob spki;
	EVP_PKEY *a = new_key(&spki), *got = (EVP_PKEY *)1;
	unsigned char *longer;
	cv_key_info k;

	memset(&k, 0, sizeof(k));
	k.num = 11;
	k.spki.data = spki.data;
	k.spki.len = spki.len - 1;
	assert_int_equal(cv_cache_public_key(s, &k, &got), CV_ERR_CORRUPT);
	assert_null(got);
	longer = OPENSSL_malloc(spki.len + 1);
	assert_non_null(longer);
	memcpy(longer, spki.data, spki.len);
	longer[spki.len] = 0;
	k.spki.data = longer;
	k.spki.len = spki.len + 1;
	assert_int_equal(cv_cache_public_key(s, &k, &got), CV_ERR_CORRUPT);
	k.spki.len = 0;
	assert_int_equal(cv_cache_public_key(s, &k, &got), CV_ERR_NOT_FOUND);
	OPENSSL_free(longer);
	OPENSSL_free(spki.data);
	EVP_PKEY_free(a);
	cv_cache_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(number_names_another_key, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(no_login_needed, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(bad_spki_refused, cvt_setup, cvt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
