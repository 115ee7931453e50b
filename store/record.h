/* certvault: the record format.
 *
 * Every value in the vault is a record:
 *   byte 0   format version (CV_REC_FORMAT)
 *   byte 1   record type (enum cv_rec_type)
 *   then fields, each: tag (1 byte) | length (4 bytes, big-endian) | bytes.
 * A tag appears once unless the type says it repeats (chains, tags, lists).
 * Readers skip tags they do not know, so fields can be added without a new
 * format version; a field whose length runs past the end, a record of
 * another type, or a repeated single field is damage (CV_ERR_CORRUPT).
 * Records read from disk are untrusted: every accessor checks lengths.
 */
#ifndef CV_RECORD_H
#define CV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define CV_REC_FORMAT 1
#define CV_REC_MAX_FIELD (64u << 20)

enum cv_rec_type {
	CV_REC_HEADER = 1,
	CV_REC_PIN = 2,
	CV_REC_CERT = 3,
	CV_REC_VERSION = 4,
	CV_REC_KEY = 5,
	CV_REC_SECRET = 6,
	CV_REC_OPERATION = 7,
	CV_REC_ISSUER = 8,
	CV_REC_CONTACT = 9,
	CV_REC_TRIGGER = 10,   /* store/life/: a version's trigger */
	CV_REC_MAIL = 11,      /* the outbox */
	CV_REC_EVENT = 12,
	CV_REC_MAIL_SETTINGS = 13,
	CV_REC_HOOK = 14,
	CV_REC_DELETED = 15,   /* a deleted certificate (softdelete.c) */
};

/* Field tags.  Numbers are part of the format: never reuse one. */
enum cv_rec_tag {
	/* shared */
	CV_T_NAME = 1,
	CV_T_CREATED = 2,
	CV_T_UPDATED = 3,
	CV_T_ENABLED = 4,
	CV_T_TAG_NAME = 5,     /* repeats, paired with CV_T_TAG_VALUE */
	CV_T_TAG_VALUE = 6,    /* repeats */
	CV_T_VERSION = 7,
	CV_T_SEALED = 8,

	/* header */
	CV_T_SERIAL = 10,
	CV_T_VAULT_FORMAT = 11,
	CV_T_RETENTION_DAYS = 12,  /* absent: 90 */
	CV_T_PURGE_PROTECTION = 13, /* absent: 0 */

	/* pin */
	CV_T_SALT = 20,
	CV_T_KDF_N = 21,
	CV_T_KDF_R = 22,
	CV_T_KDF_P = 23,
	CV_T_FAILURES = 24,
	CV_T_WRAPPED = 25,

	/* certificate */
	CV_T_POLICY = 30,
	CV_T_CURRENT = 31,
	CV_T_NEXT_SEQ = 32,

	/* deleted certificate: its name is CV_T_NAME; the entries moved out
	 * of the live tables repeat as triples, in order */
	CV_T_DELETED_DATE = 33,
	CV_T_PURGE_DATE = 34,
	CV_T_MOVED_DB = 35,      /* repeats: enum cv_db */
	CV_T_MOVED_KEY = 36,     /* repeats */
	CV_T_MOVED_VALUE = 37,   /* repeats */

	/* version */
	CV_T_DER = 40,
	CV_T_CHAIN = 41,       /* repeats, leaf's issuer first */
	CV_T_SEQ = 42,
	CV_T_KEY_ID = 43,
	CV_T_NBF = 44,
	CV_T_EXP = 45,

	/* key */
	CV_T_KTY = 50,
	CV_T_KEY_SIZE = 51,
	CV_T_CURVE = 52,
	CV_T_SPKI = 53,
	CV_T_EXPORTABLE = 54,
	CV_T_IMPORTED = 55,
	CV_T_KEY_NUM = 56,
	CV_T_KEY_USAGE = 57,

	/* secret */
	CV_T_CONTENT_TYPE = 60,

	/* operation */
	CV_T_STATUS = 70,
	CV_T_STATUS_DETAILS = 71,
	CV_T_CSR = 72,
	CV_T_ISSUER_NAME = 73,
	CV_T_CERT_TYPE = 74,
	CV_T_ERROR_CODE = 75,
	CV_T_ERROR_MESSAGE = 76,
	CV_T_REQUEST_ID = 77,
	CV_T_CANCEL = 78,
	CV_T_PROVIDER_STATE = 79,
	CV_T_STEP = 80,
	CV_T_NEXT_ATTEMPT = 81,
	CV_T_ATTEMPTS = 82,
	CV_T_CLAIM = 83,
	CV_T_CLAIM_UNTIL = 84,
	CV_T_CLAIM_LEASE = 85,
	/* an operation's provider is CV_T_PROVIDER */

	/* issuer and contact */
	CV_T_PROVIDER = 90,
	CV_T_ACCOUNT_ID = 91,
	CV_T_ORG_ID = 92,
	CV_T_DIRECTORY_URL = 93,
	CV_T_CA_CERT = 94,
	CV_T_ADMIN_FIRST = 95, /* repeats, one per administrator */
	CV_T_ADMIN_LAST = 96,  /* repeats */
	CV_T_ADMIN_EMAIL = 97, /* repeats */
	CV_T_ADMIN_PHONE = 98, /* repeats */
	CV_T_EMAIL = 99,
	CV_T_PHONE = 100,
	CV_T_ALLOWED_NAMES = 101, /* comma-separated */
	CV_T_CA_FILE = 102,
	CV_T_HTTP_LISTEN = 103,
	CV_T_WEBROOT = 104,
	CV_T_DNS_HOOK = 105,
	CV_T_ACCOUNT_URL = 106,
	CV_T_ACCOUNT_KEY = 107,  /* sealed PKCS#8 of the ACME account key; its
				    public half is CV_T_SPKI; an issuer's email
				    is CV_T_EMAIL */

	/* lifetime actions (store/life/) */
	CV_T_KIND = 110,         /* trigger: enum cv_life_kind */
	CV_T_DUE = 111,          /* trigger: when it falls */
	CV_T_FIRED = 112,        /* trigger: when it fired (0: not yet) */
	CV_T_TO = 113,           /* mail: repeats, one per recipient */
	CV_T_SUBJECT = 114,      /* mail subject */
	CV_T_BODY = 115,
	CV_T_NEXT_TRY = 116,
	CV_T_LAST_ERROR = 117,
	CV_T_EVENT_TYPE = 118,
	CV_T_MESSAGE = 119,
	CV_T_HOST = 120,         /* mail settings */
	CV_T_PORT = 121,
	CV_T_SECURITY = 122,
	CV_T_USER = 123,
	CV_T_FROM = 124,
	CV_T_COMMAND = 125,      /* hook */
	/* a mail's or event's certificate is CV_T_NAME and CV_T_VERSION, its
	 * time CV_T_CREATED, its attempts CV_T_ATTEMPTS; an event's validity
	 * CV_T_NBF and CV_T_EXP; a trigger's CV_T_NAME and CV_T_VERSION; the
	 * relay's sealed password CV_T_SEALED */

	CV_T__MAX = 128
};

/* --- Writing ---------------------------------------------------------- */

typedef struct cv_wbuf {
	unsigned char *p;
	size_t len, cap;
	int failed;     /* an allocation failed; cv_rec_finish reports it */
} cv_wbuf;

/* Start a record of a type in w (which must be zeroed). */
void cv_rec_begin(cv_wbuf *w, enum cv_rec_type type);
void cv_rec_put(cv_wbuf *w, unsigned tag, const void *val, size_t len);
/* A NULL string is left out. */
void cv_rec_put_str(cv_wbuf *w, unsigned tag, const char *s);
void cv_rec_put_u64(cv_wbuf *w, unsigned tag, uint64_t n);
/* Errors: CV_ERR_NOMEM when any put failed. */
cv_err cv_rec_finish(cv_wbuf *w);
/* Free (wiping: records may hold sealed values' plaintext before sealing). */
void cv_wbuf_free(cv_wbuf *w);

/* --- Reading ---------------------------------------------------------- */

typedef struct cv_field {
	const unsigned char *p;
	size_t len;
	int present;
} cv_field;

/* Check the whole record and index its single fields.  f has CV_T__MAX
 * entries.  Repeating tags listed in repeats (terminated by 0) are not
 * indexed; walk them with cv_rec_next.  Errors: CV_ERR_CORRUPT,
 * CV_ERR_FORMAT_VERSION. */
cv_err cv_rec_parse(const unsigned char *rec, size_t len,
		    enum cv_rec_type type, const unsigned *repeats,
		    cv_field f[CV_T__MAX]);

/* Iterate fields: *off starts at 0; returns 1 with the next field, 0 at the
 * end.  Call only on a record cv_rec_parse accepted. */
int cv_rec_next(const unsigned char *rec, size_t len, size_t *off,
		unsigned *tag, const unsigned char **val, size_t *vlen);

/* Typed reads of an indexed field.  A missing optional field gives the
 * default; a wrong length is damage. */
cv_err cv_field_u64(const cv_field *f, uint64_t dflt, uint64_t *out);
/* A fresh NUL-terminated copy (NULL when absent); embedded NULs are
 * damage.  Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_field_str(const cv_field *f, char **out);
/* Copy into a fixed buffer of cap bytes incl. the NUL; too long is damage. */
cv_err cv_field_strbuf(const cv_field *f, char *out, size_t cap);
/* A field that must be present, else CV_ERR_CORRUPT naming it. */
cv_err cv_field_need(const cv_field *f, const char *what);

#endif
