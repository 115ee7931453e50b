/* certvault-pkcs11: the one place a store error becomes a CKR_* value.
 *
 * The switch has no default, so a new cv_err is a -Wswitch warning here
 * until someone decides what an application should see for it.  A caller
 * that knows better for its own function (C_Login cannot return
 * CKR_PIN_LEN_RANGE, for one) translates before or after calling this.
 */
#include "internal.h"

CK_RV
cv_ckr(cv_err err)
{
	switch (err) {
	case CV_OK:
		return CKR_OK;
	case CV_ERR_NOMEM:
		return CKR_HOST_MEMORY;
	/* The vault's files: nothing the application did, and nothing it can
	 * fix by calling again differently. */
	case CV_ERR_IO:
	case CV_ERR_CORRUPT:
	case CV_ERR_FORMAT_VERSION:
	case CV_ERR_PERMISSIONS:
		return CKR_DEVICE_ERROR;
	case CV_ERR_FULL:
		/* The LMDB map is full: the token's memory. */
		return CKR_DEVICE_MEMORY;
	case CV_ERR_NOT_A_VAULT:
		/* The folder holds no vault (any more). */
		return CKR_TOKEN_NOT_RECOGNIZED;
	case CV_ERR_VAULT_EXISTS:
		/* Only vault creation returns it, and C_InitToken creates
		 * only where it found no vault: another process was faster. */
		return CKR_FUNCTION_FAILED;
	case CV_ERR_INVALID:
		/* An argument the store refused (the detail names it). */
		return CKR_ARGUMENTS_BAD;
	case CV_ERR_BAD_NAME:
		/* A CKA_LABEL that is not a Key Vault name. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_NOT_FOUND:
		/* The object's records went away (deleted by the tool). */
		return CKR_OBJECT_HANDLE_INVALID;
	case CV_ERR_EXISTS:
		/* A name an application asked for is taken. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_CONFLICT:
		/* A new version while one is pending.  CKR_ACTION_PROHIBITED
		 * would say it best, but the specification allows it only
		 * from C_CopyObject, C_SetAttributeValue and C_DestroyObject,
		 * and this comes from C_GenerateKeyPair. */
		return CKR_FUNCTION_FAILED;
	case CV_ERR_POLICY:
		/* The template as a whole makes a policy Key Vault refuses
		 * (a key size, a curve, a key usage). */
		return CKR_TEMPLATE_INCONSISTENT;
	case CV_ERR_BAD_SUBJECT:
	case CV_ERR_JSON:
		/* One attribute's value cannot be parsed. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_PIN_INCORRECT:
		return CKR_PIN_INCORRECT;
	case CV_ERR_PIN_LOCKED:
		return CKR_PIN_LOCKED;
	case CV_ERR_PIN_INVALID:
		/* The store refuses PINs by length only. */
		return CKR_PIN_LEN_RANGE;
	case CV_ERR_PIN_NOT_INITIALIZED:
		return CKR_USER_PIN_NOT_INITIALIZED;
	case CV_ERR_READ_ONLY:
		return CKR_TOKEN_WRITE_PROTECTED;
	case CV_ERR_NOT_LOGGED_IN:
		return CKR_USER_NOT_LOGGED_IN;
	case CV_ERR_CRYPTO:
		return CKR_FUNCTION_FAILED;
	case CV_ERR_KEY_MISMATCH:
	case CV_ERR_CSR_REUSED:
	case CV_ERR_BAD_PEM:
	case CV_ERR_BAD_CERT:
	case CV_ERR_EXPIRED:
	case CV_ERR_BAD_PASSWORD:
	case CV_ERR_ENCRYPTED_KEY:
		/* A certificate's CKA_VALUE (or what came with it) that the
		 * vault cannot take: not for this key, not a certificate, out
		 * of date, or not readable. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_NO_OPERATION:
	case CV_ERR_NOT_IN_PROGRESS:
		/* A certificate created as a merge, but no operation waits
		 * for it: its CKA_VALUE answers nothing. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_NO_KEY:
		/* Content that lacks the private key it must carry. */
		return CKR_TEMPLATE_INCOMPLETE;
	case CV_ERR_UNSUPPORTED:
		/* A key type or format a certificate cannot use: a value the
		 * application gave, not a mechanism it asked for. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_DISABLED:
		/* The key's certificate version is disabled. */
		return CKR_KEY_FUNCTION_NOT_PERMITTED;
	case CV_ERR_NOT_EXPORTABLE:
		return CKR_KEY_UNEXTRACTABLE;
	case CV_ERR_BUSY:
	case CV_ERR_CLAIM_LOST:
	case CV_ERR_NO_PASSWORD:
		/* The operation pass and ACME issuers are the tool's; the
		 * module never calls what returns these. */
		return CKR_FUNCTION_FAILED;
	case CV_ERR_DELETED:
		/* A name an application asked for is held by a deleted
		 * certificate, until it is recovered or purged. */
		return CKR_ATTRIBUTE_VALUE_INVALID;
	case CV_ERR_PURGE_PROTECTED:
		/* Purging is the tool's; the module never purges. */
		return CKR_FUNCTION_FAILED;
	case CV_ERR__COUNT:
		break;
	}
	return CKR_GENERAL_ERROR;
}
