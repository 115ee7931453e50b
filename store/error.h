/* certvault: the store's error codes.
 *
 * Every store function returns a cv_err.  CV_OK is zero; every other value is
 * a distinct failure with a fixed English text from cv_strerror().  Where
 * Key Vault has a documented message for a failure, cv_strerror() returns
 * exactly that message.
 *
 * A failing function may also leave a one-line detail for the calling thread
 * (cv_err_detail()), naming the field, file offset or value that was wrong.
 * The command-line face prints the detail when there is one, else the
 * cv_strerror() text; the PKCS#11 face maps the code to a CKR_* value.
 */
#ifndef CV_ERROR_H
#define CV_ERROR_H

#include <stdarg.h>

typedef enum cv_err {
	CV_OK = 0,
	CV_ERR_NOMEM,              /* out of memory */
	CV_ERR_IO,                 /* a file or LMDB call failed */
	CV_ERR_FULL,               /* the vault's map is full */
	CV_ERR_CORRUPT,            /* a record read from disk is malformed */
	CV_ERR_FORMAT_VERSION,     /* a record or vault of a newer format */
	CV_ERR_PERMISSIONS,        /* a vault or config file others may write */
	CV_ERR_NOT_A_VAULT,        /* the folder holds no vault */
	CV_ERR_VAULT_EXISTS,       /* vault create over an existing vault */
	CV_ERR_INVALID,            /* a bad argument; the detail says which */
	CV_ERR_BAD_NAME,           /* a name outside ^[0-9a-zA-Z-]{1,127}$ */
	CV_ERR_NOT_FOUND,          /* no such certificate, version, issuer ... */
	CV_ERR_EXISTS,             /* an issuer or contact that already exists */
	CV_ERR_CONFLICT,           /* create while an operation is in progress */
	CV_ERR_POLICY,             /* a policy that is not valid; detail names it */
	CV_ERR_BAD_SUBJECT,        /* a subject that is not an X.500 name */
	CV_ERR_JSON,               /* malformed JSON; detail has line and column */
	CV_ERR_PIN_INCORRECT,      /* wrong PIN; the failure was counted */
	CV_ERR_PIN_LOCKED,         /* too many wrong PINs */
	CV_ERR_PIN_INVALID,        /* a PIN of bad length or characters */
	CV_ERR_NOT_LOGGED_IN,      /* the operation needs the vault's key */
	CV_ERR_CRYPTO,             /* an OpenSSL operation failed */
	CV_ERR_KEY_MISMATCH,       /* merged/imported certificate is not the key's */
	CV_ERR_CSR_REUSED,         /* merged certificate answers an older CSR */
	CV_ERR_NO_OPERATION,       /* no pending operation for the certificate */
	CV_ERR_NOT_IN_PROGRESS,    /* cancel/merge of an operation that ended */
	CV_ERR_BAD_PEM,            /* PEM certificate content in a bad format */
	CV_ERR_BAD_CERT,           /* content that is not a certificate or chain */
	CV_ERR_BAD_PASSWORD,       /* wrong PKCS#12 password */
	CV_ERR_ENCRYPTED_KEY,      /* an encrypted PEM private key */
	CV_ERR_NO_KEY,             /* certificate without its private key */
	CV_ERR_EXPIRED,            /* an expired certificate */
	CV_ERR_DISABLED,           /* the certificate version is disabled */
	CV_ERR_NOT_EXPORTABLE,     /* the policy does not allow the key out */
	CV_ERR_UNSUPPORTED,        /* a key type or format certificate cannot use */
	CV_ERR_PIN_NOT_INITIALIZED, /* the user PIN has not been set yet */
	CV_ERR_READ_ONLY,          /* this user may only read the vault */
	CV_ERR_BUSY,               /* another pass holds the operation's claim */
	CV_ERR_CLAIM_LOST,         /* the operation's claim lapsed and was taken */
	CV_ERR_NO_PASSWORD,        /* the issuer has no sealed password (EAB key) */
	CV_ERR_DELETED,            /* the name is deleted but recoverable */
	CV_ERR_PURGE_PROTECTED,    /* purge before the date under purge protection */
	CV_ERR__COUNT
} cv_err;

/* The fixed text for an error code; never NULL, static storage. */
const char *cv_strerror(cv_err err);

/* The detail left by the last failing store call on this thread, or "" when
 * that call left none.  Valid until the next store call on the thread. */
const char *cv_err_detail(void);

/* Clear this thread's detail.  Store entry points call it on entry. */
void cv_err_clear(void);

/* Record a detail for this thread and return err, so that a failure reads
 * `return cv_err_set(CV_ERR_POLICY, "key_props.key_size: %d", n);`.
 * The detail is cut at 511 bytes. */
cv_err cv_err_set(cv_err err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record the code's own text as the detail, with the OpenSSL error queue's
 * first reason appended for CV_ERR_CRYPTO; drains the OpenSSL queue. */
cv_err cv_err_crypto(const char *what);

#endif
