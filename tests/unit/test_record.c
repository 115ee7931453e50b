/* Unit tests: the record format and sealing. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/crypto.h>

#include "record.h"
#include "seal.h"

static void
record_round_trip(void **state)
{
	cv_wbuf w = { 0 };
	cv_field f[CV_T__MAX];
	uint64_t n;
	char buf[16];
	char *s = NULL;
	static const unsigned rep[] = { CV_T_CHAIN, 0 };
	size_t off = 0, vlen, chains = 0;
	const unsigned char *val;
	unsigned tag;

	(void)state;
	cv_rec_begin(&w, CV_REC_VERSION);
	cv_rec_put_str(&w, CV_T_NAME, "web-1");
	cv_rec_put_u64(&w, CV_T_SEQ, 0x0102030405060708ull);
	cv_rec_put(&w, CV_T_CHAIN, "a", 1);
	cv_rec_put(&w, CV_T_CHAIN, "bb", 2);
	cv_rec_put(&w, CV_T_DER, "", 0);
	assert_int_equal(cv_rec_finish(&w), CV_OK);
	assert_int_equal(cv_rec_parse(w.p, w.len, CV_REC_VERSION, rep, f), CV_OK);
	assert_int_equal(cv_field_u64(&f[CV_T_SEQ], 0, &n), CV_OK);
	assert_true(n == 0x0102030405060708ull);
	assert_int_equal(cv_field_strbuf(&f[CV_T_NAME], buf, sizeof(buf)), CV_OK);
	assert_string_equal(buf, "web-1");
	assert_int_equal(cv_field_str(&f[CV_T_NAME], &s), CV_OK);
	assert_string_equal(s, "web-1");
	free(s);
	assert_true(f[CV_T_DER].present);
	assert_int_equal(f[CV_T_DER].len, 0);
	assert_false(f[CV_T_CHAIN].present);
	while (cv_rec_next(w.p, w.len, &off, &tag, &val, &vlen))
		if (tag == CV_T_CHAIN)
			chains++;
	assert_int_equal(chains, 2);
	/* Absent fields take the default. */
	assert_int_equal(cv_field_u64(&f[CV_T_CREATED], 42, &n), CV_OK);
	assert_int_equal(n, 42);
	cv_wbuf_free(&w);
}

static void
record_damage(void **state)
{
	cv_wbuf w = { 0 };
	cv_field f[CV_T__MAX];
	unsigned char bad[64];
	char small[4];
	size_t cut;

	(void)state;
	cv_rec_begin(&w, CV_REC_CERT);
	cv_rec_put_str(&w, CV_T_NAME, "abcdefgh");
	cv_rec_put_u64(&w, CV_T_CREATED, 7);
	assert_int_equal(cv_rec_finish(&w), CV_OK);

	/* Every truncation of a valid record is refused or parses a prefix
	 * that ends on a field boundary; none reads past the end. */
	for (cut = 0; cut < w.len; cut++) {
		cv_err e = cv_rec_parse(w.p, cut, CV_REC_CERT, NULL, f);
		if (cut == 2 || cut == 2 + 5 + 8)
			assert_int_equal(e, CV_OK);
		else
			assert_int_equal(e, CV_ERR_CORRUPT);
	}
	/* Wrong type, newer format. */
	assert_int_equal(cv_rec_parse(w.p, w.len, CV_REC_KEY, NULL, f), CV_ERR_CORRUPT);
	memcpy(bad, w.p, w.len);
	bad[0] = 2;
	assert_int_equal(cv_rec_parse(bad, w.len, CV_REC_CERT, NULL, f), CV_ERR_FORMAT_VERSION);
	/* A length that runs past the end. */
	memcpy(bad, w.p, w.len);
	bad[2 + 1] = 0x7f;
	assert_int_equal(cv_rec_parse(bad, w.len, CV_REC_CERT, NULL, f), CV_ERR_CORRUPT);
	/* Tag zero. */
	memcpy(bad, w.p, w.len);
	bad[2] = 0;
	assert_int_equal(cv_rec_parse(bad, w.len, CV_REC_CERT, NULL, f), CV_ERR_CORRUPT);
	/* A single field twice. */
	cv_rec_put_str(&w, CV_T_NAME, "again");
	assert_int_equal(cv_rec_parse(w.p, w.len, CV_REC_CERT, NULL, f), CV_ERR_CORRUPT);
	assert_true(strlen(cv_err_detail()) > 0);
	cv_wbuf_free(&w);

	/* A number of the wrong width, a text too long for its buffer, a NUL
	 * inside text. */
	cv_rec_begin(&w, CV_REC_CERT);
	cv_rec_put(&w, CV_T_CREATED, "\0\0\0\1", 4);
	cv_rec_put(&w, CV_T_NAME, "ab\0c", 4);
	cv_rec_put_str(&w, CV_T_SERIAL, "toolong");
	assert_int_equal(cv_rec_parse(w.p, w.len, CV_REC_CERT, NULL, f), CV_OK);
	{
		uint64_t n;
		char *s = NULL;

		assert_int_equal(cv_field_u64(&f[CV_T_CREATED], 0, &n), CV_ERR_CORRUPT);
		assert_int_equal(cv_field_str(&f[CV_T_NAME], &s), CV_ERR_CORRUPT);
		assert_null(s);
		assert_int_equal(cv_field_strbuf(&f[CV_T_SERIAL], small, sizeof(small)),
				 CV_ERR_CORRUPT);
		assert_int_equal(cv_field_need(&f[CV_T_POLICY], "policy"), CV_ERR_CORRUPT);
	}
	cv_wbuf_free(&w);
	/* Unknown tags are skipped, so later formats can add fields. */
	cv_rec_begin(&w, CV_REC_CERT);
	cv_rec_put(&w, 127, "future", 6);
	cv_rec_put_str(&w, CV_T_NAME, "x");
	assert_int_equal(cv_rec_parse(w.p, w.len, CV_REC_CERT, NULL, f), CV_OK);
	assert_true(f[CV_T_NAME].present);
	cv_wbuf_free(&w);
}

static void
seal_round_trip_and_tamper(void **state)
{
	unsigned char key[CV_MASTER_KEY_LEN], other[CV_MASTER_KEY_LEN];
	const unsigned char aad[] = "certvault/v1/keys/web\0001";
	const unsigned char pt[] = "-----BEGIN PRIVATE KEY----- not really";
	unsigned char *ct = NULL, *back = NULL;
	size_t ctlen = 0, backlen = 0, i;

	(void)state;
	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	assert_int_equal(cv_seal(key, aad, sizeof(aad), pt, sizeof(pt), &ct, &ctlen), CV_OK);
	assert_int_equal(ctlen, sizeof(pt) + CV_SEAL_OVERHEAD);
	assert_null(memmem(ct, ctlen, "PRIVATE", 7));
	assert_int_equal(cv_unseal(key, aad, sizeof(aad), ct, ctlen, &back, &backlen), CV_OK);
	assert_int_equal(backlen, sizeof(pt));
	assert_memory_equal(back, pt, sizeof(pt));
	OPENSSL_clear_free(back, backlen);

	/* Wrong key, wrong additional data, any flipped byte: refused. */
	assert_int_equal(cv_unseal(other, aad, sizeof(aad), ct, ctlen, &back, &backlen),
			 CV_ERR_CORRUPT);
	assert_null(back);
	assert_int_equal(cv_unseal(key, aad, sizeof(aad) - 1, ct, ctlen, &back, &backlen),
			 CV_ERR_CORRUPT);
	for (i = 1; i < ctlen; i++) {
		ct[i] ^= 0x01;
		assert_int_not_equal(cv_unseal(key, aad, sizeof(aad), ct, ctlen, &back, &backlen),
				     CV_OK);
		ct[i] ^= 0x01;
	}
	/* Truncated and unknown format. */
	assert_int_equal(cv_unseal(key, aad, sizeof(aad), ct, CV_SEAL_OVERHEAD - 1, &back,
				   &backlen), CV_ERR_CORRUPT);
	ct[0] = 9;
	assert_int_equal(cv_unseal(key, aad, sizeof(aad), ct, ctlen, &back, &backlen),
			 CV_ERR_FORMAT_VERSION);
	OPENSSL_free(ct);
}

static void
seal_nonces_differ(void **state)
{
	unsigned char key[CV_MASTER_KEY_LEN] = { 0 };
	unsigned char *a = NULL, *b = NULL;
	size_t al, bl;

	(void)state;
	assert_int_equal(cv_seal(key, NULL, 0, (const unsigned char *)"x", 1, &a, &al), CV_OK);
	assert_int_equal(cv_seal(key, NULL, 0, (const unsigned char *)"x", 1, &b, &bl), CV_OK);
	assert_memory_not_equal(a + 1, b + 1, 12);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

static void
kdf_is_deterministic_and_bounded(void **state)
{
	cv_kdf_params kp;
	unsigned char salt[CV_SALT_LEN] = { 1, 2, 3 };
	unsigned char k1[CV_MASTER_KEY_LEN], k2[CV_MASTER_KEY_LEN], k3[CV_MASTER_KEY_LEN];

	(void)state;
	cv_kdf_default(&kp);
	assert_int_equal(cv_kdf_check(&kp), CV_OK);
	assert_int_equal(cv_kdf_derive("1234", 4, salt, &kp, k1), CV_OK);
	assert_int_equal(cv_kdf_derive("1234", 4, salt, &kp, k2), CV_OK);
	assert_int_equal(cv_kdf_derive("1235", 4, salt, &kp, k3), CV_OK);
	assert_memory_equal(k1, k2, sizeof(k1));
	assert_memory_not_equal(k1, k3, sizeof(k1));
	kp.n = 1024;
	assert_int_equal(cv_kdf_check(&kp), CV_ERR_CORRUPT);
	kp.n = (1u << 15) + 1;
	assert_int_equal(cv_kdf_check(&kp), CV_ERR_CORRUPT);
	cv_kdf_default(&kp);
	kp.r = 0;
	assert_int_equal(cv_kdf_check(&kp), CV_ERR_CORRUPT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_round_trip),
		cmocka_unit_test(record_damage),
		cmocka_unit_test(seal_round_trip_and_tamper),
		cmocka_unit_test(seal_nonces_differ),
		cmocka_unit_test(kdf_is_deterministic_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
