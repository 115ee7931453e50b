/* certvault-pkcs11: the mechanisms a certvault token offers.
 *
 * Key sizes, in bits as the specification counts them (RSA modulus, EC
 * field):
 *   - key pair generation makes what Key Vault makes: RSA 2048 to 4096,
 *     EC P-256 (and P-256K), P-384, P-521;
 *   - RSA operations take 1024 to 16384: vault keys are 2048 to 4096, but
 *     verify and encrypt also run on public keys an application brings as
 *     session objects, which may be as old as 1024 bits, and 16384 is the
 *     largest modulus OpenSSL accepts (OPENSSL_RSA_MAX_MODULUS_BITS);
 *   - EC operations take the curves the vault knows, 256 to 521.
 * Digests take no key, so their sizes are 0.
 */
#include <string.h>

#include "internal.h"

#define RSA_GEN_MIN 2048
#define RSA_GEN_MAX 4096
#define RSA_OP_MIN 1024
#define RSA_OP_MAX 16384
#define EC_MIN 256
#define EC_MAX 521
#define EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define NO_KEY ((CK_KEY_TYPE)-1)

static const cv_mech_desc mechs[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, RSA_GEN_MIN, RSA_GEN_MAX,
	  CKF_GENERATE_KEY_PAIR, CKK_RSA, NULL },
	{ CKM_EC_KEY_PAIR_GEN, EC_MIN, EC_MAX,
	  CKF_GENERATE_KEY_PAIR | EC_FLAGS, CKK_EC, NULL },

	{ CKM_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY | CKF_ENCRYPT | CKF_DECRYPT, CKK_RSA, NULL },
	{ CKM_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, NULL },
	{ CKM_RSA_PKCS_OAEP, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_ENCRYPT | CKF_DECRYPT, CKK_RSA, NULL },
	{ CKM_SHA1_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA1" },
	{ CKM_SHA224_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA224" },
	{ CKM_SHA256_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA256" },
	{ CKM_SHA384_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA384" },
	{ CKM_SHA512_RSA_PKCS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA512" },
	{ CKM_SHA1_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA1" },
	{ CKM_SHA224_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA224" },
	{ CKM_SHA256_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA256" },
	{ CKM_SHA384_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA384" },
	{ CKM_SHA512_RSA_PKCS_PSS, RSA_OP_MIN, RSA_OP_MAX,
	  CKF_SIGN | CKF_VERIFY, CKK_RSA, "SHA512" },

	{ CKM_ECDSA, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, NULL },
	{ CKM_ECDSA_SHA1, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, "SHA1" },
	{ CKM_ECDSA_SHA224, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, "SHA224" },
	{ CKM_ECDSA_SHA256, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, "SHA256" },
	{ CKM_ECDSA_SHA384, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, "SHA384" },
	{ CKM_ECDSA_SHA512, EC_MIN, EC_MAX,
	  CKF_SIGN | CKF_VERIFY | EC_FLAGS, CKK_EC, "SHA512" },

	{ CKM_SHA_1, 0, 0, CKF_DIGEST, NO_KEY, "SHA1" },
	{ CKM_SHA224, 0, 0, CKF_DIGEST, NO_KEY, "SHA224" },
	{ CKM_SHA256, 0, 0, CKF_DIGEST, NO_KEY, "SHA256" },
	{ CKM_SHA384, 0, 0, CKF_DIGEST, NO_KEY, "SHA384" },
	{ CKM_SHA512, 0, 0, CKF_DIGEST, NO_KEY, "SHA512" },
};

#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

const cv_mech_desc *
cv_mech_find(CK_MECHANISM_TYPE type)
{
	size_t i;

	for (i = 0; i < N_MECHS; i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

CK_RV
cv_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	size_t i;

	return_val_if_fail(count != NULL, CKR_ARGUMENTS_BAD);

	if (list == NULL) {
		*count = N_MECHS;
		return CKR_OK;
	}
	if (*count < N_MECHS) {
		*count = N_MECHS;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < N_MECHS; i++)
		list[i] = mechs[i].type;
	*count = N_MECHS;
	return CKR_OK;
}

CK_RV
cv_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
	const cv_mech_desc *m;

	return_val_if_fail(info != NULL, CKR_ARGUMENTS_BAD);

	if ((m = cv_mech_find(type)) == NULL)
		return CKR_MECHANISM_INVALID;
	memset(info, 0, sizeof(*info));
	info->ulMinKeySize = m->min_bits;
	info->ulMaxKeySize = m->max_bits;
	info->flags = m->flags;
	return CKR_OK;
}
