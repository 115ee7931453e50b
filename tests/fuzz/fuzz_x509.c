/* Fuzz target: certificate content handed to merge and import, and
 * subjects. */
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "policy.h"
#include "x509.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *certs = NULL, *chain = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	X509_NAME *name = NULL;
	char *subject;
	int p12 = 0;

	if (cv_x509_read_certificates(data, size, &certs) == CV_OK &&
	    sk_X509_num(certs) > 0) {
		int64_t nbf, exp;
		char x5t[CV_X5T_LEN + 1];
		cv_policy *p = NULL;

		(void)cv_x509_validity(sk_X509_value(certs, 0), &nbf, &exp);
		cv_x509_thumbprint(data, size, x5t);
		(void)cv_policy_from_certificate(sk_X509_value(certs, 0), CV_CONTENT_PEM, &p);
		cv_policy_free(p);
	}
	if (cv_x509_read_import(data, size, "password", &leaf, &chain, &key, &p12) == CV_OK) {
		X509_free(leaf);
		sk_X509_pop_free(chain, X509_free);
		EVP_PKEY_free(key);
	}
	if ((subject = malloc(size + 1)) != NULL) {
		memcpy(subject, data, size);
		subject[size] = '\0';
		if (cv_x500_parse(subject, &name) == CV_OK) {
			char *back = cv_x500_format(name);
			X509_NAME *again = NULL;

			/* What we print must read back as the same name. */
			if (back == NULL || cv_x500_parse(back, &again) != CV_OK ||
			    !cv_x500_equal(name, again))
				abort();
			X509_NAME_free(again);
			free(back);
			X509_NAME_free(name);
		}
		free(subject);
	}
	sk_X509_pop_free(certs, X509_free);
	return 0;
}
