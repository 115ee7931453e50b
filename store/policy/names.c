/* certvault policy: Names and tables: key usages, key types, curves, content types, actions. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "policy.h"

#include "internal.h"

/* In the order az prints the default policy's key usages; the others
 * follow. */
const struct ku_name ku_names[] = {
	{ CV_KU_CRL_SIGN, "cRLSign" },
	{ CV_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
	{ CV_KU_DIGITAL_SIGNATURE, "digitalSignature" },
	{ CV_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
	{ CV_KU_KEY_AGREEMENT, "keyAgreement" },
	{ CV_KU_KEY_CERT_SIGN, "keyCertSign" },
	{ CV_KU_NON_REPUDIATION, "nonRepudiation" },
	{ CV_KU_ENCIPHER_ONLY, "encipherOnly" },
	{ CV_KU_DECIPHER_ONLY, "decipherOnly" },
};

static const struct key_type_name key_type_names[] = {
	{ "RSA", CV_KEY_RSA, 0 },
	{ "RSA-HSM", CV_KEY_RSA, 1 },
	{ "EC", CV_KEY_EC, 0 },
	{ "EC-HSM", CV_KEY_EC, 1 },
};
#define N_KEY_TYPES (sizeof(key_type_names) / sizeof(key_type_names[0]))

const struct curve curves[] = {
	{ "P-256", 256, NID_X9_62_prime256v1 },
	{ "P-384", 384, NID_secp384r1 },
	{ "P-521", 521, NID_secp521r1 },
	{ "P-256K", 256, NID_secp256k1 },
};

const char *const content_type_names[] = {
	[CV_CONTENT_PKCS12] = "application/x-pkcs12",
	[CV_CONTENT_PEM] = "application/x-pem-file",
};

const char *const action_names[] = {
	[CV_ACTION_AUTO_RENEW] = "AutoRenew",
	[CV_ACTION_EMAIL_CONTACTS] = "EmailContacts",
};

const char *
cv_key_usage_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < N_KU; i++) {
		if (ku_names[i].bit == bit)
			return ku_names[i].name;
	}
	return NULL;
}

const char *
cv_content_type_name(enum cv_content_type ct)
{
	if (ct == CV_CONTENT_PKCS12 || ct == CV_CONTENT_PEM)
		return content_type_names[ct];
	return NULL;
}

const char *
action_name(enum cv_action_type a)
{
	if (a == CV_ACTION_AUTO_RENEW || a == CV_ACTION_EMAIL_CONTACTS)
		return action_names[a];
	return NULL;
}

const char *
key_type_name(enum cv_key_type kty, int hsm)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		if (key_type_names[i].kty == kty &&
		    key_type_names[i].hsm == (hsm != 0))
			return key_type_names[i].name;
	}
	return NULL;
}

const struct key_type_name *
find_key_type(const char *s)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		if (strcmp(key_type_names[i].name, s) == 0)
			return &key_type_names[i];
	}
	return NULL;
}

const struct curve *
find_curve(const char *s)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		if (strcmp(curves[i].name, s) == 0)
			return &curves[i];
	}
	return NULL;
}

const struct curve *
find_curve_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		if (curves[i].nid == nid)
			return &curves[i];
	}
	return NULL;
}
