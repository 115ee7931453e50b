/* certvault: error texts and the per-thread detail. */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

#include "error.h"

static const char *const texts[CV_ERR__COUNT] = {
	[CV_OK] = "success",
	[CV_ERR_NOMEM] = "out of memory",
	[CV_ERR_IO] = "the vault could not be read or written",
	[CV_ERR_FULL] = "the vault is full",
	[CV_ERR_CORRUPT] = "a vault record is damaged",
	[CV_ERR_FORMAT_VERSION] = "the vault was written by a newer certvault",
	[CV_ERR_PERMISSIONS] = "a vault or config file may be written by other users",
	[CV_ERR_NOT_A_VAULT] = "the folder holds no vault",
	[CV_ERR_VAULT_EXISTS] = "a vault already exists in that folder",
	[CV_ERR_INVALID] = "invalid argument",
	[CV_ERR_BAD_NAME] = "names may only contain 0-9, a-z, A-Z and -, and hold 1 to 127 characters",
	[CV_ERR_NOT_FOUND] = "not found",
	[CV_ERR_EXISTS] = "already exists",
	[CV_ERR_CONFLICT] = "A new key vault certificate can not be created or imported while a pending key vault certificate's status is inProgress.",
	[CV_ERR_POLICY] = "the policy is not valid",
	[CV_ERR_BAD_SUBJECT] = "The subject name provided is not a valid X500 name",
	[CV_ERR_JSON] = "the JSON document is malformed",
	[CV_ERR_PIN_INCORRECT] = "incorrect PIN",
	[CV_ERR_PIN_LOCKED] = "the PIN is locked after too many wrong tries",
	[CV_ERR_PIN_INVALID] = "a PIN must hold 4 to 255 bytes",
	[CV_ERR_NOT_LOGGED_IN] = "this needs the vault's PIN",
	[CV_ERR_CRYPTO] = "a cryptographic operation failed",
	[CV_ERR_KEY_MISMATCH] = "The public key of the end-entity certificate in the specified X.509 certificate content does not match the public part of the specified private key. Please check if certificate is valid",
	[CV_ERR_CSR_REUSED] = "The CSR used to get your certificate has already been used. Please try to generate a new certificate with a new CSR.",
	[CV_ERR_NO_OPERATION] = "the certificate has no pending operation",
	[CV_ERR_NOT_IN_PROGRESS] = "the pending operation is not in progress",
	[CV_ERR_BAD_PEM] = "The specified PEM X.509 certificate content is in an unexpected format. Check if certificate is in valid PEM format.",
	[CV_ERR_BAD_CERT] = "the content is not an X.509 certificate or chain",
	[CV_ERR_BAD_PASSWORD] = "the PKCS#12 password is wrong",
	[CV_ERR_ENCRYPTED_KEY] = "the PEM private key is encrypted; give its password",
	[CV_ERR_NO_KEY] = "the content holds a certificate but not its private key",
	[CV_ERR_EXPIRED] = "the certificate has expired",
	[CV_ERR_DISABLED] = "the certificate is disabled",
	[CV_ERR_NOT_EXPORTABLE] = "the policy does not allow the private key to be exported",
	[CV_ERR_UNSUPPORTED] = "unsupported key type or format",
	[CV_ERR_READ_ONLY] = "the vault is read-only for this user",
	[CV_ERR_BUSY] = "another pass is working on the operation; try again when its claim lapses",
	[CV_ERR_CLAIM_LOST] = "the operation's claim lapsed and another pass took it",
	[CV_ERR_NO_PASSWORD] = "the issuer has no password (External Account Binding key) stored",
	[CV_ERR_DELETED] = "the certificate is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.",
	[CV_ERR_PURGE_PROTECTED] = "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.",
	[CV_ERR_PIN_NOT_INITIALIZED] = "the user PIN has not been set; the SO sets it first",
};

const char *
cv_strerror(cv_err err)
{
	if ((unsigned)err >= CV_ERR__COUNT || texts[err] == NULL)
		return "unknown error";
	return texts[err];
}

static _Thread_local char detail[512];

const char *
cv_err_detail(void)
{
	return detail;
}

void
cv_err_clear(void)
{
	detail[0] = '\0';
}

cv_err
cv_err_set(cv_err err, const char *fmt, ...)
{
	char next[sizeof(detail)];
	va_list ap;

	/* Format aside first: callers may pass the current detail in, to
	 * wrap it with more context. */
	va_start(ap, fmt);
	vsnprintf(next, sizeof(next), fmt, ap);
	va_end(ap);
	memcpy(detail, next, sizeof(detail));
	return err;
}

cv_err
cv_err_crypto(const char *what)
{
	unsigned long e = ERR_peek_error();
	char reason[256] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (reason[0] != '\0')
		return cv_err_set(CV_ERR_CRYPTO, "%s: %s", what, reason);
	return cv_err_set(CV_ERR_CRYPTO, "%s failed", what);
}
