/* Fuzz target: import content with a password the input gives, so the
 * PKCS#12 MAC and decryption, and encrypted PKCS#8 and traditional PEM
 * keys, are reached past the password check.
 *
 * Input: one length byte n, n bytes of password (n 0xff: no password at
 * all), then the content as `certificate import` reads it. */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "x509.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *chain = NULL, *rest = NULL;
	X509 *leaf = NULL, *again = NULL;
	EVP_PKEY *key = NULL;
	char *password = NULL;
	size_t n;
	int p12 = 0;

	if (size < 1)
		return 0;
	n = data[0];
	if (n != 0xff) {
		if (size - 1 < n)
			return 0;
		if ((password = malloc(n + 1)) == NULL)
			return 0;
		memcpy(password, data + 1, n);
		password[n] = '\0';
		data += 1 + n;
		size -= 1 + n;
	} else {
		data++;
		size--;
	}
	if (cv_x509_read_import(data, size, password, &leaf, &chain, &key, &p12) == CV_OK) {
		/* What import accepts has a leaf that matches its key, and the
		 * chain orders again from it. */
		if (leaf == NULL || key == NULL || !cv_x509_matches_key(leaf, key))
			abort();
		if (chain != NULL && sk_X509_push(chain, X509_dup(leaf)) > 0 &&
		    cv_x509_order_chain(key, chain, &again, &rest) != CV_OK)
			abort();
	}
	X509_free(leaf);
	X509_free(again);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(rest, X509_free);
	EVP_PKEY_free(key);
	if (password != NULL) {
		memset(password, 0, n);
		free(password);
	}
	return 0;
}
