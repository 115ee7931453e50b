/* certvault: the certificate backup blob, decoded (store/certbackup.c).
 *
 * cv_cert_backup and cv_cert_restore (store.h) are the API; this header
 * shows the two decoders of a blob, for the fuzz target and the unit test.
 * Both read untrusted bytes: every length is checked, nothing is trusted
 * before it is authenticated, and neither needs a vault.
 *
 * The blob (format 1), all integers big-endian:
 *   magic "CVCERTBK" (8) | format (1) | flags (1, bit 0: a backup password
 *   wraps the blob key too) | vault id (16) | vault wrap (61)
 *   [with the password: salt (16) | scrypt N (8) r (4) p (4) |
 *    password check (16) | password wrap (61)]
 *   body: the payload sealed under the blob key, the whole header above as
 *   additional data.
 * A wrap is the 32-byte blob key sealed (store/seal.h) under the vault's
 * master key, or under scrypt(password, salt), with the header before it as
 * additional data.  The vault id is HMAC-SHA256(master key, "certvault
 * backup vault id"), the password check HMAC-SHA256(password key,
 * "certvault backup password check"), each cut to 16 bytes: they tell a
 * backup of another vault and a wrong password from damage, and give away
 * nothing of either key.
 *
 * The payload is a record (record.h's encoding, type CV_CB_REC_PAYLOAD,
 * outside the vault's own record types): the certificate's name as
 * written, its certificate record as the vault keeps it (policy, current
 * version, creation order), and, repeated, its versions (record as kept:
 * leaf, chain, tags, enabled, dates), secrets and keys (each private key
 * and each secret sealed again under the blob key, bound to its name and
 * version, so the decrypted payload holds no key in the clear either), its
 * lifetime triggers (fired or not) and its pending operation (record as
 * kept).  Not in it: key numbers (a restore numbers the keys anew), the
 * due and key-id indexes (rebuilt from the records), issuers (the policy
 * names its issuer; the issuer record, with its sealed credentials, is the
 * vault's), events and mail. */
#ifndef CV_CERTBACKUP_H
#define CV_CERTBACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "seal.h"
#include "store.h"

#define CV_CB_MAGIC "CVCERTBK"
#define CV_CB_MAGIC_LEN 8
#define CV_CB_FORMAT 1
#define CV_CB_FLAG_PASSWORD 0x01
#define CV_CB_ID_LEN 16
#define CV_CB_KEY_LEN 32
#define CV_CB_WRAP_LEN (CV_CB_KEY_LEN + CV_SEAL_OVERHEAD)
/* The header up to the vault wrap (its additional data). */
#define CV_CB_HEAD_ID (CV_CB_MAGIC_LEN + 1 + 1 + CV_CB_ID_LEN)
#define CV_CB_HEAD_VAULT (CV_CB_HEAD_ID + CV_CB_WRAP_LEN)
/* The header up to the password wrap (its additional data). */
#define CV_CB_HEAD_CHECK (CV_CB_HEAD_VAULT + CV_SALT_LEN + 8 + 4 + 4 + CV_CB_ID_LEN)
#define CV_CB_HEAD_PASSWORD (CV_CB_HEAD_CHECK + CV_CB_WRAP_LEN)
#define CV_CB_PASSWORD_MIN 8
#define CV_CB_PASSWORD_MAX 1024

typedef struct cv_cb_header {
	unsigned format;
	unsigned flags;
	const unsigned char *vault_id;     /* CV_CB_ID_LEN bytes */
	const unsigned char *vault_wrap;   /* CV_CB_WRAP_LEN bytes */
	const unsigned char *salt;         /* with the password, else NULL */
	cv_kdf_params kdf;
	const unsigned char *password_check;
	const unsigned char *password_wrap;
	size_t head_len;                   /* the body's additional data */
	const unsigned char *body;
	size_t body_len;
} cv_cb_header;

/* Split a blob into its header and body; pointers point into blob.
 * Errors: CV_ERR_CORRUPT (not a certificate backup, or cut short, naming
 * what), CV_ERR_FORMAT_VERSION (a format this certvault does not read). */
cv_err cv_cb_header_parse(const unsigned char *blob, size_t len,
			  cv_cb_header *out);

/* One repeated item of a payload; pointers point into the payload. */
typedef struct cv_cb_item {
	char version[CV_VERSION_LEN + 1];
	unsigned kind;                      /* triggers: enum cv_life_kind */
	const unsigned char *rec;           /* versions, keys, triggers */
	size_t rec_len;
	uint64_t content_type, created;     /* secrets */
	const unsigned char *sealed;        /* secrets: under the blob key */
	size_t sealed_len;
} cv_cb_item;

typedef struct cv_cb_payload {
	char name[CV_NAME_MAX + 1];
	const unsigned char *cert;          /* CV_REC_CERT as kept */
	size_t cert_len;
	const unsigned char *pending;       /* CV_REC_OPERATION, or NULL */
	size_t pending_len;
	cv_cb_item *versions, *secrets, *keys, *triggers;
	size_t n_versions, n_secrets, n_keys, n_triggers;
} cv_cb_payload;

/* Decode a payload (the body once opened) and check that it makes one
 * whole certificate: a valid name, which every record names; version ids
 * of 32 lowercase hex digits, none twice; each version with its key and
 * secret; the current version among them; a pending operation's key
 * there.  Free with cv_cb_payload_clear.  Errors: CV_ERR_CORRUPT naming
 * what is wrong, CV_ERR_NOMEM. */
cv_err cv_cb_payload_parse(const unsigned char *p, size_t len,
			   cv_cb_payload *out);
void cv_cb_payload_clear(cv_cb_payload *pl);

#endif
