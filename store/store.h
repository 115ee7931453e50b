/* certvault: the vault.
 *
 * A vault is a folder holding one LMDB environment.  It keeps certificates
 * the way Azure Key Vault does: one name links a policy, versions (each an
 * X.509 certificate with its chain), a key per version and a secret per
 * version, plus at most one pending operation.  Beside them it keeps issuers
 * and contacts.
 *
 * Private keys, secrets and issuer credentials are sealed with AES-256-GCM
 * under the vault's master key; the master key is stored wrapped under keys
 * derived from the user PIN and the SO PIN with scrypt.  Anything that reads
 * sealed data, and every change to a vault, needs the user's login
 * (cv_vault_login with CV_USER_NORMAL; otherwise CV_ERR_NOT_LOGGED_IN, and
 * the SO's login only sets PINs); public data (certificates, public keys,
 * policies, operations) is read without one.
 *
 * What a key may do and whose it is (exportable, key usage, public key,
 * its certificate, imported, key number) is bound to its sealed private key
 * and checked whenever the key is unsealed or, with the user logged in,
 * read: a record changed outside certvault is CV_ERR_CORRUPT naming it,
 * never used.  A key's exportability is fixed when it is made or imported.
 *
 * Threads: a cv_vault may be used from several threads at once; each call
 * runs its own LMDB transaction.  Processes: a cv_vault must not be used in a
 * child after fork(); the child calls cv_vault_abandon() and opens anew.
 *
 * Every function clears the thread's error detail on entry and returns a
 * cv_err (error.h); out-parameters are cleared on entry and set only on
 * success.  Strings are NUL-terminated UTF-8.  Times are Unix seconds.
 */
#ifndef CV_STORE_H
#define CV_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "error.h"
#include "policy.h"

typedef struct cv_vault cv_vault;

#define CV_NAME_MAX 127
#define CV_VERSION_LEN 32 /* lowercase hex */
#define CV_PIN_MIN 4
#define CV_PIN_MAX 255
#define CV_PIN_TRIES 10   /* wrong PINs before the PIN locks */

enum cv_user {
	CV_USER_NONE = 0,
	CV_USER_NORMAL = 1, /* the user PIN */
	CV_USER_SO = 2,     /* the security officer PIN */
};

/* This process's id without a system call per use: a fork handler keeps it
 * current in the child.  Vault handles are tied to the process that opened
 * them; the PKCS#11 face checks it on every call. */
pid_t cv_process_id(void);

/* 1 if name matches ^[0-9a-zA-Z-]{1,127}$, else 0. */
int cv_name_valid(const char *name);

/* --- The vault ---------------------------------------------------------- */

/* Create a new vault in dir (created 0700 if missing; an existing dir must
 * pass cv_vault_open's rule for files).  name is the vault's display name
 * (cv_name_valid).  PINs are 4 to 255 bytes; user_pin may be NULL, leaving
 * the user PIN to be set by the SO (cv_vault_init_pin), as C_InitToken
 * does.
 * Errors: CV_ERR_VAULT_EXISTS, CV_ERR_BAD_NAME, CV_ERR_PIN_INVALID,
 * CV_ERR_PERMISSIONS, CV_ERR_IO, CV_ERR_NOMEM. */
cv_err cv_vault_create(const char *dir, const char *name,
		       const char *user_pin, size_t user_pin_len,
		       const char *so_pin, size_t so_pin_len);

/* How long a deleted certificate stays recoverable, and whether it may be
 * purged before then (Key Vault's soft-delete retention and purge
 * protection).  A vault made before these were kept has 90 days and no
 * purge protection. */
#define CV_RETENTION_MIN 7
#define CV_RETENTION_MAX 90
#define CV_RETENTION_DEFAULT 90
typedef struct cv_vault_recovery {
	int retention_days;   /* CV_RETENTION_MIN..CV_RETENTION_MAX */
	int purge_protection; /* 1: no purge before the scheduled date */
} cv_vault_recovery;

/* cv_vault_create with recovery settings (NULL: 90 days, no protection).
 * Errors: as cv_vault_create, plus CV_ERR_INVALID for retention days
 * outside 7..90. */
cv_err cv_vault_create_with(const char *dir, const char *name,
			    const char *user_pin, size_t user_pin_len,
			    const char *so_pin, size_t so_pin_len,
			    const cv_vault_recovery *rec);

/* Turn purge protection on.  Nothing turns it off (not vault reinit).
 * Needs a login.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_READ_ONLY,
 * CV_ERR_CORRUPT, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_vault_enable_purge_protection(cv_vault *v);

/* Key Vault's recovery level for the settings: "Recoverable+Purgeable",
 * "Recoverable" (purge protection), and for fewer than 90 days
 * "CustomizedRecoverable+Purgeable" and "CustomizedRecoverable".
 * Static storage. */
const char *cv_recovery_level(const cv_vault_recovery *r);

/* Open the vault in dir.  The folder, data.mdb and lock.mdb must belong to
 * the caller or root, be no symbolic links and not be writable by others;
 * the folder's parent not writable by others unless sticky (a read-only
 * service may also use a folder shared with its group: store/files.c has
 * the rule).  data.mdb's meta pages are checked against its size before
 * LMDB maps it, and stale reader slots are cleared.  A caller who may not
 * write data.mdb gets a read-only handle.  *out is closed with
 * cv_vault_close.
 * Errors: CV_ERR_NOT_A_VAULT (no folder, or no data.mdb in it),
 * CV_ERR_PERMISSIONS (naming the path and the reason; also a file the
 * caller may not read), CV_ERR_CORRUPT (a damaged data.mdb),
 * CV_ERR_FORMAT_VERSION, CV_ERR_IO, CV_ERR_NOMEM. */
cv_err cv_vault_open(const char *dir, cv_vault **out);

/* Close a vault: wipe the master key, close LMDB.  NULL is a no-op. */
void cv_vault_close(cv_vault *v);

/* In a child after fork(): free the parent's handle without touching its
 * LMDB environment (LMDB forbids using it across fork).  NULL is a no-op. */
void cv_vault_abandon(cv_vault *v);

typedef struct cv_vault_info {
	char name[CV_NAME_MAX + 1];
	char serial[17];          /* 16 hex digits, fixed at creation */
	char dir[4096];
	int64_t created;
	unsigned user_pin_failures; /* since the last right user PIN */
	unsigned so_pin_failures;
	unsigned pin_tries;         /* CV_PIN_TRIES */
	int user_pin_locked;
	int so_pin_locked;
	int user_pin_initialized;
	int read_only;              /* this process may only read the vault */
	uint64_t generation;        /* grows with every committed change */
	cv_vault_recovery recovery;
} cv_vault_info;

/* Read the vault's header.  Errors: CV_ERR_IO, CV_ERR_CORRUPT. */
cv_err cv_vault_info_get(cv_vault *v, cv_vault_info *out);

/* The change counter alone, read cheaply: it grows by one or more with every
 * committed write, so a cache keyed on it is never stale. */
uint64_t cv_vault_generation(cv_vault *v);

/* 1 when this process may only read the vault (a service account given
 * read access to data.mdb): every write returns CV_ERR_READ_ONLY. */
int cv_vault_read_only(cv_vault *v);

/* Copy the whole vault into fd, an open regular file, empty and writable
 * (the caller makes it, mode 0600, and names it): LMDB's compacting copy,
 * taken in one read transaction, so it holds exactly the changes committed
 * before it began while applications and the tool go on reading and
 * writing.  The file is a data.mdb of its own, synced on success: put it
 * as data.mdb in a folder of its own that passes cv_vault_open's rule, and
 * it opens with the vault's PINs.  Needs no login: every key and secret in
 * it stays sealed under the master key.  On error the file holds a partial
 * copy, which the caller removes.
 * Errors: CV_ERR_INVALID (fd is not a regular file), CV_ERR_IO (with
 * LMDB's or the system's reason, such as a full file system). */
cv_err cv_vault_backup(cv_vault *v, int fd);

/* What cv_vault_verify read: records per table, sealed records opened. */
typedef struct cv_verify_counts {
	size_t certs, versions, keys, secrets, operations, issuers, contacts;
	size_t triggers, due, outbox, events, ops_active;
	size_t deleted;             /* deleted certificates */
	size_t key_ids, key_nums;   /* index entries, each followed to its key */
	size_t meta;                /* vault, PIN and counter records */
	size_t events_of_gone;      /* events of a certificate or version gone */
	uint64_t generation;        /* the vault's, as verify read it */
	size_t sealed;      /* sealed records opened under the master key */
	size_t problems;    /* damage found, each given to problem() */
	int logged_in;      /* the sealed records were opened */
} cv_verify_counts;

/* Read every record of the vault back in one read transaction: each
 * decodes (certificates, versions, keys, secrets, operations, issuers,
 * contacts, and the lifetime tables), each link holds (a version's
 * certificate, key and secret; a certificate's current version; an
 * operation's certificate; a due entry's trigger; ops_active lists exactly
 * the operations inProgress), and, with the user logged in, each sealed
 * record opens under the master key (keys, secrets, issuer passwords and
 * ACME account keys, the mail relay's password).  Each damage found is one
 * line "table/key: what is wrong" given to problem(arg, line) (valid during
 * the call) and counted in counts->problems; the walk goes on.  Needs no
 * login.
 * Errors (the walk could not finish): CV_ERR_INVALID, CV_ERR_NOMEM,
 * CV_ERR_IO, CV_ERR_CORRUPT (LMDB's pages themselves). */
cv_err cv_vault_verify(cv_vault *v, cv_verify_counts *counts,
		       void (*problem)(void *arg, const char *line), void *arg);

/* Keep unsealed keys out of core dumps: turn on OpenSSL's secure heap (a
 * mapping marked MADV_DONTDUMP and locked against swapping, where OpenSSL
 * then puts private keys' BIGNUMs and the store its key plaintext), or use
 * the one the process already has.  Call it once at start, before any key
 * is unsealed; later calls do nothing.  The heap is never taken down: it
 * belongs to the process, which may be someone else's program.  On error
 * keys go to ordinary memory and everything else works; the caller says
 * so.  Errors: CV_ERR_CRYPTO (no secure heap), CV_ERR_UNSUPPORTED (a
 * secure heap that could not be locked or marked; it is still used). */
cv_err cv_secmem_init(void);

/* key as the store keeps unsealed keys (keydecode.c): an RSA key copied
 * to an RSA object of the store's own method, its secret numbers in the
 * secure heap and no copies of its primes kept beside; any other key a new
 * reference.  For keys made elsewhere, say by cv_key_generate.  *out is the
 * caller's to EVP_PKEY_free.  Errors: CV_ERR_CRYPTO, CV_ERR_NOMEM,
 * CV_ERR_INVALID (key NULL). */
cv_err cv_key_own_copy(EVP_PKEY *key, EVP_PKEY **out);

/* Unlock the master key with a PIN.  Every attempt is counted in the vault
 * (one durable write) before the PIN is checked, and a right PIN then
 * clears the count, so no burst of processes, kill or wait for the write
 * lock gets more than CV_PIN_TRIES guesses.  A wrong PIN returns
 * CV_ERR_PIN_INCORRECT; after CV_PIN_TRIES wrong PINs in a row the PIN
 * locks (CV_ERR_PIN_LOCKED, even for the right PIN) until the SO sets a new
 * user PIN (cv_vault_init_pin).  A handle that may only read the vault
 * (cv_vault_read_only) checks PINs without counting them.
 * Errors: CV_ERR_PIN_INCORRECT, CV_ERR_PIN_LOCKED, CV_ERR_PIN_INVALID,
 * CV_ERR_IO, CV_ERR_CORRUPT. */
cv_err cv_vault_login(cv_vault *v, enum cv_user who, const char *pin,
		      size_t pin_len);

/* Forget the master key (wiped).  Safe when not logged in. */
void cv_vault_logout(cv_vault *v);

/* Who is logged in: CV_USER_NONE, CV_USER_NORMAL or CV_USER_SO. */
enum cv_user cv_vault_logged_in(cv_vault *v);

/* Change a PIN, proving the old one (counted as a login).
 * Errors: as cv_vault_login, plus CV_ERR_PIN_INVALID for the new PIN. */
cv_err cv_vault_set_pin(cv_vault *v, enum cv_user who, const char *old_pin,
			size_t old_len, const char *new_pin, size_t new_len);

/* Re-initialize the vault as C_InitToken does: prove the SO PIN (counted
 * as a login), then in one transaction make a new master key wrapped under
 * the SO PIN, destroy every certificate with its versions, keys, secrets
 * and operations, drop the user PIN record (the user PIN is unset) and
 * every issuer's sealed password, ACME account key and account URL (and the
 * mail relay, whose password was sealed, with the lifetime triggers, the
 * outbox and the events), and
 * give the vault the new name.  Nothing sealed under the old key, nor a
 * saved copy of the old user PIN record, opens what is sealed afterwards.
 * Issuers stay without their passwords and account keys (set the password
 * again with an update, which also makes a new account key for an ACME
 * issuer; the account registers anew); contacts stay.  Logs out.  Errors: as cv_vault_login
 * for the SO, CV_ERR_BAD_NAME, CV_ERR_CRYPTO, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_vault_reinit(cv_vault *v, const char *so_pin, size_t so_len,
		       const char *name);

/* Set a new user PIN and unlock it; needs an SO login.
 * Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_PIN_INVALID, CV_ERR_IO. */
cv_err cv_vault_init_pin(cv_vault *v, const char *new_pin, size_t new_len);

/* --- Tags ------------------------------------------------------------------ */

#define CV_TAGS_MAX 15
#define CV_TAG_NAME_MAX 512
#define CV_TAG_VALUE_MAX 256

typedef struct cv_tags {
	char **names;
	char **values;
	size_t n;
} cv_tags;

/* Check count and lengths.  Errors: CV_ERR_INVALID naming the tag. */
cv_err cv_tags_validate(const cv_tags *t);
void cv_tags_clear(cv_tags *t);

/* --- Certificates ------------------------------------------------------- */

typedef struct cv_blob {
	unsigned char *data;
	size_t len;
} cv_blob;

/* One version of a certificate, or, for a certificate whose first version is
 * still pending, a placeholder with version[0] == '\0', no DER, enabled 0. */
typedef struct cv_cert_version {
	char name[CV_NAME_MAX + 1];
	char version[CV_VERSION_LEN + 1];
	cv_blob der;                 /* the leaf */
	cv_blob *chain;              /* the rest of the chain, leaf's issuer first */
	size_t chain_len;
	char x5t[28];                /* base64url SHA-1 of der */
	unsigned char key_id[20];    /* CKA_ID: SHA-1 of modulus or EC point */
	char *subject;               /* display form */
	char *issuer;                /* display form */
	char *serial;                /* hex */
	int64_t nbf, exp;
	int64_t created, updated;
	uint64_t seq;                /* creation order within the certificate */
	int enabled;
	int pending;                 /* an operation is in progress for the name */
	int is_current;              /* the version in service */
	cv_tags tags;
} cv_cert_version;

void cv_cert_version_free(cv_cert_version *cv);
void cv_cert_version_list_free(cv_cert_version **list, size_t n);

enum cv_op_status {
	CV_OP_IN_PROGRESS = 1, /* "inProgress" */
	CV_OP_COMPLETED = 2,   /* "completed" */
	CV_OP_FAILED = 3,      /* "failed" */
	CV_OP_CANCELLED = 4,   /* "cancelled" */
};

const char *cv_op_status_name(enum cv_op_status s);

/* A certificate operation, as Key Vault's CertificateOperation. */
typedef struct cv_operation {
	char name[CV_NAME_MAX + 1];
	char version[CV_VERSION_LEN + 1]; /* the version being made */
	enum cv_op_status status;
	char *status_details;
	cv_blob csr;                      /* DER; empty when there is none */
	char *issuer_name;
	char *cert_type;                  /* may be NULL */
	char *error_code;                 /* failed only */
	char *error_message;
	char *request_id;                 /* 32 hex */
	int cancellation_requested;
	cv_tags tags;                     /* given at create; the merged version's */
	int64_t created, updated;

	/* The resumable state machine (store/issue/).  Records written before
	 * these fields existed read with provider derived from the issuer
	 * (Self, else Unknown) and the rest empty. */
	char *provider;        /* who works on it: "Self", "Unknown", "Vault",
				  "ACME" (DigiCert and GlobalSign issuers are
				  ACME); set at create */
	char *step;            /* the provider's step reached; NULL before the
				  first pass */
	char *provider_state;  /* the provider's own JSON text (ACME: account,
				  order, authorization, finalize and certificate
				  URLs); NULL at first */
	int64_t next_attempt;  /* no pass works on it before this time
				  (Retry-After); 0: now */
	unsigned attempts;     /* transient faults met in a row (the provider
				  bounds them) */
	char claim[33];        /* the claim token of the pass holding it (32
				  hex), "" when none */
	int64_t claim_until;   /* the claim lapses after this time, so a pass
				  that was killed frees it */
	int64_t claim_lease;   /* the claim's lease in seconds; each save
				  renews it for as long */
} cv_operation;

void cv_operation_free(cv_operation *op);

/* Create a certificate, or a new version of one, from a policy (which also
 * becomes the certificate's policy).  The key is generated in the vault (or
 * kept, per reuse_key).  The operation's provider says who finishes it:
 *   - issuer Self: the certificate is signed at once; the operation returned
 *     is completed and the new version is current.
 *   - issuer Unknown: the operation is inProgress with a CSR and Key Vault's
 *     status details; the current version (if any) stays in service.
 *   - an issuer record of provider ACME (or DigiCert, GlobalSign): as
 *     Unknown, with provider "ACME" and step NULL; a pass outside the store
 *     (certvault run) orders it and completes it with cv_op_complete.
 *   - an issuer record with provider Vault: signed at once inside the vault
 *     by the issuer's CA certificate (see cv_vault_ca_issue in internal.h),
 *     stored with the CA's chain; the operation is completed, its status
 *     details saying when the CA's expiry cut the validity.
 * A disabled issuer record is refused (CV_ERR_DISABLED).
 * tags may be NULL.  op_out may be NULL.  Needs a login (the key is sealed).
 * Errors: CV_ERR_BAD_NAME, CV_ERR_POLICY, CV_ERR_BAD_SUBJECT,
 * CV_ERR_POLICY also when reuse_key would keep a key whose exportability
 * is not the policy's (a key's exportability never changes),
 * CV_ERR_CONFLICT (an operation is inProgress), CV_ERR_NOT_LOGGED_IN,
 * CV_ERR_NOT_FOUND (an issuer record the policy names does not exist, or
 * its CA certificate or that CA's version), CV_ERR_DISABLED (the issuer or
 * its CA's current version is disabled), CV_ERR_EXPIRED (the CA is expired
 * or not yet valid), CV_ERR_INVALID (the issuer's CA is not a CA, or its key
 * was not made for keyCertSign), CV_ERR_POLICY also for a name outside a
 * Vault issuer's allowed names or a path length its CA does not allow,
 * CV_ERR_UNSUPPORTED (an issuer provider that cannot issue yet),
 * CV_ERR_DISABLED (the issuer record is disabled),
 * CV_ERR_CRYPTO, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_cert_create(cv_vault *v, const char *name, const cv_policy *policy,
		      const cv_tags *tags, cv_operation **op_out);

/* A version (version == NULL: the current one, or the pending placeholder).
 * Errors: CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND, CV_ERR_CORRUPT. */
cv_err cv_cert_get(cv_vault *v, const char *name, const char *version,
		   cv_cert_version **out);

/* Every certificate's current version (or pending placeholder), by name.
 * Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_cert_list(cv_vault *v, cv_cert_version ***out, size_t *n);

/* Every version of one certificate, oldest first.
 * Errors: CV_ERR_NOT_FOUND, CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_cert_list_versions(cv_vault *v, const char *name,
			     cv_cert_version ***out, size_t *n);

/* Enable or disable a version (enabled: 0, 1, or -1 to keep) and replace its
 * tags (tags NULL: keep).  version NULL: the current one.  out may be NULL.
 * Errors: CV_ERR_NOT_FOUND, CV_ERR_INVALID (tags), CV_ERR_IO. */
cv_err cv_cert_set_attributes(cv_vault *v, const char *name,
			      const char *version, int enabled,
			      const cv_tags *tags, cv_cert_version **out);

/* --- Deleted certificates (Key Vault's soft delete) ----------------------
 *
 * A delete moves a certificate with all its versions, policy, keys,
 * secrets and pending operation to the deleted state in one transaction.
 * Nothing that reads live certificates sees it any more (gets, lists, the
 * PKCS#11 face's finds and handles, lifetime triggers, the operation pass);
 * its name cannot be reused (CV_ERR_DELETED) until it is recovered, which
 * puts everything back as it was, or purged, which destroys it.  A vault
 * with purge protection refuses a purge before the scheduled date. */

typedef struct cv_deleted_cert {
	char name[CV_NAME_MAX + 1];      /* as written */
	char recovery_id[CV_NAME_MAX + 21]; /* "deletedcertificates/NAME" */
	int64_t deleted;                 /* deletion date */
	int64_t scheduled_purge;         /* deleted + the retention days */
	cv_cert_version *cert;           /* the current version as it was (a
					    placeholder, version "", when it
					    had none yet) */
} cv_deleted_cert;

void cv_deleted_cert_free(cv_deleted_cert *d);
void cv_deleted_cert_list_free(cv_deleted_cert **list, size_t n);

/* Delete name.  *out (may be NULL) is the deleted certificate, the
 * caller's.  Needs a login.  Errors: CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND,
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_READ_ONLY, CV_ERR_CORRUPT, CV_ERR_IO,
 * CV_ERR_FULL. */
cv_err cv_cert_delete(cv_vault *v, const char *name, cv_deleted_cert **out);

/* Put a deleted certificate back, every record and index entry as it was
 * (its key handles and CKA_IDs too).  *out (may be NULL) is its current
 * version.  Needs a login.  Errors: CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND
 * ("Deleted Certificate not found: NAME"), CV_ERR_EXISTS (another
 * certificate holds its key id or name: damage), CV_ERR_NOT_LOGGED_IN,
 * CV_ERR_CORRUPT, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_cert_recover(cv_vault *v, const char *name, cv_cert_version **out);

/* Destroy a deleted certificate: versions, keys, secrets, triggers.
 * Needs a login.  Errors: CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND,
 * CV_ERR_PURGE_PROTECTED (purge protection and the scheduled date not
 * reached), CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_cert_purge(cv_vault *v, const char *name);

/* A deleted certificate.  *out is the caller's.  Errors: CV_ERR_BAD_NAME,
 * CV_ERR_NOT_FOUND ("Deleted Certificate not found: NAME"),
 * CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_cert_get_deleted(cv_vault *v, const char *name,
			   cv_deleted_cert **out);

/* Every deleted certificate, by name.  *out is the caller's
 * (cv_deleted_cert_list_free).  Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM,
 * CV_ERR_IO. */
cv_err cv_cert_list_deleted(cv_vault *v, cv_deleted_cert ***out, size_t *n);

/* Purge every deleted certificate whose scheduled purge date is at or
 * before now (0: the present time), each in its own transaction; what
 * `certvault run` calls each pass.  *purged (may be NULL) counts them.
 * Needs a login.  Errors: as cv_cert_purge (the first failure stops the
 * walk). */
cv_err cv_vault_purge_due(cv_vault *v, int64_t now, size_t *purged);

/* The certificate's policy.  Errors: CV_ERR_NOT_FOUND, CV_ERR_CORRUPT. */
cv_err cv_cert_policy_get(cv_vault *v, const char *name, cv_policy **out);

/* Apply a policy patch (Key Vault's PATCH: only members given change) in one
 * transaction; *out (may be NULL) receives the stored result.
 * Errors: as cv_policy_update, CV_ERR_NOT_FOUND, CV_ERR_IO. */
cv_err cv_cert_policy_update(cv_vault *v, const char *name, const char *patch,
			     size_t len, cv_policy **out);

/* Import a certificate with its private key: PKCS#12 (password may be NULL)
 * or PEM (certificate, optional chain, unencrypted private key).  policy
 * NULL: derived from the certificate; else the content must fit it.
 * tags may be NULL.  The new version becomes current.  Needs a login.
 * Errors: CV_ERR_BAD_NAME, CV_ERR_CONFLICT, CV_ERR_BAD_PASSWORD,
 * CV_ERR_ENCRYPTED_KEY, CV_ERR_NO_KEY, CV_ERR_KEY_MISMATCH, CV_ERR_EXPIRED,
 * CV_ERR_BAD_PEM, CV_ERR_BAD_CERT, CV_ERR_POLICY, CV_ERR_UNSUPPORTED,
 * CV_ERR_INVALID (a PKCS#12 password over 200 characters),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_cert_import(cv_vault *v, const char *name, const unsigned char *data,
		      size_t len, const char *password, const cv_policy *policy,
		      const cv_tags *tags, cv_cert_version **out);

/* --- Backup and restore of one certificate (certbackup.c) ----------------
 *
 * A backup blob holds a whole certificate: every version (leaf, chain,
 * tags, enabled, dates), the policy, every key (current, older, pending,
 * retired) with what it may do, every secret, the lifetime triggers, and
 * the pending operation if any (a claim on it is left behind).  It is
 * encrypted and authenticated under a random blob key (AES-256-GCM, the
 * header as additional data), and inside it each private key and secret is
 * sealed once more, so no key is ever in the clear in a blob, even opened.
 * The blob key is wrapped under the vault's master key, and, when a backup
 * password is given, also under scrypt of it: the same vault restores with
 * the login alone, another vault (or this one after a re-initialization,
 * which makes a new master key) with the password.  The issuer the policy
 * names is not in it (issuers are the vault's).  store/certbackup.h has the
 * format. */

/* Back up certificate name.  password (NUL-terminated, 8 to 1024 bytes)
 * may be NULL: then only this vault restores it.  *blob is the caller's,
 * freed with OPENSSL_free (it holds nothing in the clear that needs
 * wiping).  Needs a login (keys and secrets are unsealed, checked and
 * sealed again).  Errors: CV_ERR_BAD_NAME, CV_ERR_INVALID (password
 * length), CV_ERR_NOT_LOGGED_IN, CV_ERR_NOT_FOUND, CV_ERR_CORRUPT (a record
 * of the certificate that does not decode or open), CV_ERR_CRYPTO,
 * CV_ERR_NOMEM, CV_ERR_IO. */
cv_err cv_cert_backup(cv_vault *v, const char *name, const char *password,
		      unsigned char **blob, size_t *len);

/* Restore a backup under its name, in one write transaction: the
 * certificate and operation records as backed up, each key sealed again
 * under this vault's master key with a new key number (its CKA_ID, what
 * it may do and its exportability are the backup's), each secret sealed
 * again, and the indexes (key ids, key numbers, due triggers, operations
 * in progress) made for them.  password NULL: the backup must be this
 * vault's.  *out (may be NULL) is the current version, or the pending
 * placeholder.  Needs a login.  On any error the vault is unchanged.
 * Errors: CV_ERR_EXISTS (the name is taken: Key Vault's "Conflict while
 * restoring certificate NAME - certificate already exists or concurrent
 * access"; also a key whose CKA_ID another certificate holds, naming it),
 * CV_ERR_CORRUPT (not a backup, cut short, changed, or not whole),
 * CV_ERR_FORMAT_VERSION (a format this certvault does not read),
 * CV_ERR_BAD_PASSWORD (a wrong backup password), CV_ERR_INVALID (the
 * backup is another vault's and no password was given, or it has no
 * password), CV_ERR_NOT_LOGGED_IN, CV_ERR_READ_ONLY, CV_ERR_CRYPTO,
 * CV_ERR_NOMEM, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_cert_restore(cv_vault *v, const unsigned char *blob, size_t len,
		       const char *password, cv_cert_version **out);

/* --- The pending operation -------------------------------------------- */

/* Errors: CV_ERR_BAD_NAME, CV_ERR_NO_OPERATION, CV_ERR_CORRUPT. */
cv_err cv_pending_get(cv_vault *v, const char *name, cv_operation **out);

/* Ask to cancel an inProgress operation.  When nothing but a merge can
 * finish it (provider Unknown), or a provider that works remotely has not
 * started on it yet (no step reached, no claim held), the cancellation takes
 * effect at once (status cancelled).  Otherwise it sets
 * cancellation_requested and the provider's next pass decides: cancelled
 * before the order is finalized, completed if the CA already issued ("the
 * cancel may or may not be effective").  *out shows which: status
 * cancelled, or inProgress with cancellation_requested.  out may be NULL.
 * Needs a login.  Errors: CV_ERR_NO_OPERATION, CV_ERR_NOT_IN_PROGRESS,
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_pending_cancel(cv_vault *v, const char *name, cv_operation **out);

/* Delete the operation.  When it never completed, the key made for it goes
 * with it, and a certificate left with no version and no operation is
 * removed whole.  Errors: CV_ERR_NO_OPERATION, CV_ERR_IO. */
cv_err cv_pending_delete(cv_vault *v, const char *name);

/* Merge the CA's answer into an inProgress operation: data is PEM (one or
 * more certificates), DER, or PKCS#7.  The leaf is the certificate whose
 * public key is the pending key; the whole chain is stored leaf first; the
 * new version becomes current and enabled, the operation completed.  tags
 * may be NULL.  Needs a login (the secret is sealed).  out may be NULL.
 * Errors: CV_ERR_NO_OPERATION, CV_ERR_NOT_IN_PROGRESS, CV_ERR_KEY_MISMATCH,
 * CV_ERR_CSR_REUSED (the leaf is for an older version's key),
 * CV_ERR_BAD_PEM, CV_ERR_BAD_CERT, CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_pending_merge(cv_vault *v, const char *name,
			const unsigned char *data, size_t len,
			const cv_tags *tags, cv_cert_version **out);

/* --- The operation as a state machine (store/issue/) --------------------
 *
 * A provider that works outside the store (ACME) advances an operation in
 * passes.  A pass claims the operation (a random token with a lease), works
 * on it, saves what it reached, and ends it (fail, cancelled, complete) or
 * gives the claim back.  Every save and end checks the claim inside its own
 * write transaction, so two passes never both work on one operation, and a
 * pass killed at any step leaves a claim that lapses after its lease; the
 * next pass resumes from the saved step and provider_state. */

/* Names of every certificate whose operation is inProgress, sorted, as
 * written.  Free each name and the array with free().  *n may be 0 (and
 * *names NULL).  No login needed.  It reads only the index of operations
 * in progress, not the operations that ended; on a vault made before that
 * index the first call by a logged-in user who may write the vault fills
 * it (one write transaction), and until then a call reads every operation.
 * Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM, CV_ERR_IO. */
cv_err cv_op_list_active(cv_vault *v, char ***names, size_t *n);

/* Claim an inProgress operation for one pass, for lease seconds (> 0), with
 * a fresh claim token.  *out is the operation as claimed (op->claim set);
 * free it with cv_operation_free.  Needs a login.
 * Errors: CV_ERR_BAD_NAME, CV_ERR_NO_OPERATION, CV_ERR_NOT_IN_PROGRESS,
 * CV_ERR_BUSY (another pass holds a claim that has not lapsed),
 * CV_ERR_INVALID (lease), CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_op_claim(cv_vault *v, const char *name, int64_t lease,
		   cv_operation **out);

/* Save a claimed operation's step, provider_state, status_details,
 * next_attempt and attempts in one write, renewing the lease (op->
 * claim_until is updated).  op->cancellation_requested is refreshed from
 * the store: a cancel may arrive during the pass.  Needs a login.
 * Errors: CV_ERR_CLAIM_LOST (the stored claim is no longer op->claim),
 * CV_ERR_NOT_IN_PROGRESS (the operation ended meanwhile),
 * CV_ERR_NO_OPERATION, CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_op_save(cv_vault *v, cv_operation *op);

/* End a claimed operation as failed, with an error code and message (for
 * ACME the CA's problem type and detail; message may be NULL), or as
 * cancelled (the cancellation took effect).  The pending key becomes
 * retired, as after a cancel; the claim is cleared.  Needs a login.
 * Errors: CV_ERR_CLAIM_LOST, CV_ERR_NOT_IN_PROGRESS, CV_ERR_NO_OPERATION,
 * CV_ERR_INVALID (code NULL or empty), CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_op_fail(cv_vault *v, const cv_operation *op, const char *code,
		  const char *message);
cv_err cv_op_cancelled(cv_vault *v, const cv_operation *op);

/* Complete a claimed operation with the CA's answer (PEM chain, DER or
 * PKCS#7, as cv_pending_merge takes): the new version, its key's
 * certificate, secret and the operation's status completed are written in
 * one write transaction, after the claim is checked inside it; the merge is
 * cv_pending_merge's own code.  out may be NULL.  Needs a login.
 * Errors: as cv_pending_merge, CV_ERR_CLAIM_LOST. */
cv_err cv_op_complete(cv_vault *v, const cv_operation *op,
		      const unsigned char *data, size_t len,
		      cv_cert_version **out);

/* Give a claim back with nothing else changed, so the next pass need not
 * wait for the lease.  A claim no longer held is left alone.  Needs a login.
 * Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_op_release(cv_vault *v, const cv_operation *op);

/* --- Keys as the PKCS#11 face sees them --------------------------------- */

/* Every key the vault holds has a number, unique in the vault and never
 * reused; the PKCS#11 face makes its object handles of it.
 *
 * Finds (by name, by key id, or walking) show the key of each certificate's
 * current version, and the key of an operation in progress: by name only
 * while the certificate has no version yet, by key id always.  An older
 * version's key is never found, but a handle already made of its number
 * keeps working while its version is enabled and valid (nbf..exp), so a new
 * version never breaks a running application.  Finds never show two keys
 * with one key id: a reuse_key version or renewal shares its key id with
 * the current key, and the current key is the one shown. */
enum cv_key_state {
	CV_KEY_CURRENT = 1, /* the key of the version in service */
	CV_KEY_PENDING = 2, /* the key of an operation in progress */
	CV_KEY_RETIRED = 3, /* a cancelled or failed operation's: no version */
	CV_KEY_OLDER = 4,   /* an older version's: usable by number, not found */
};

typedef struct cv_key_info {
	uint64_t num;
	char name[CV_NAME_MAX + 1];      /* the certificate's name as written */
	char version[CV_VERSION_LEN + 1];
	enum cv_key_state state;
	unsigned char key_id[20];        /* SHA-1 of the modulus or EC point */
	enum cv_key_type kty;
	int bits;                        /* RSA modulus bits; EC field bits */
	char curve[8];                   /* EC: "P-256" ... */
	cv_blob spki;                    /* SubjectPublicKeyInfo DER */
	unsigned key_usage;              /* policy's bits; 0 when none stated */
	int exportable;
	int imported;
	int enabled;                     /* of the version; pending: 1;
					    retired: 0 */
	int64_t nbf, exp;                /* of the version; else 0, 0 */
	size_t chain_len;                /* certificates after the leaf */
	int64_t created;
} cv_key_info;

/* Free what a cv_key_info owns; it may then be reused. */
void cv_key_info_clear(cv_key_info *k);

/* A key by number, in any state.  Errors: CV_ERR_NOT_FOUND, CV_ERR_CORRUPT. */
cv_err cv_key_get(cv_vault *v, uint64_t num, cv_key_info *out);

/* The numbers of the live (current or pending) keys whose key id is id, at
 * most max of them, the one finds show first: current keys before pending
 * ones, each kind by ascending number.  *n may be 0.
 * Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_key_find_id(cv_vault *v, const unsigned char *id, size_t id_len,
		      uint64_t *nums, size_t max, size_t *n);

/* The live keys of one certificate: its current key and its pending key,
 * at most two, in that order (a find by name shows the first only).  An
 * unknown name gives *n == 0. */
cv_err cv_key_find_name(cv_vault *v, const char *name, uint64_t nums[2],
			size_t *n);

/* The first key numbered above after that a find walking every key shows:
 * a current key, or the pending key of a certificate with no version yet,
 * and not when a key cv_key_find_id puts before it has the same key id.
 * Errors: CV_ERR_NOT_FOUND at the end, CV_ERR_CORRUPT. */
cv_err cv_key_next(cv_vault *v, uint64_t after, cv_key_info *out);

/* The private key of a key number.  Needs a login.  Errors:
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_NOT_FOUND, CV_ERR_CORRUPT (also: the key
 * record does not match its sealed key, the key number names another key,
 * or its version's certificate is not the key's). */
cv_err cv_key_private(cv_vault *v, uint64_t num, EVP_PKEY **out);

/* --- Secrets ------------------------------------------------------------ */

enum cv_secret_format {
	CV_SECRET_AS_STORED = 0,
	CV_SECRET_PEM = 1,
	CV_SECRET_PFX = 2,
};

/* The secret of a version (version NULL: current) in the format asked, the
 * private key included only when the policy is exportable.  password
 * protects a PFX (NULL: none).  *out must be freed with
 * OPENSSL_clear_free(*out, *len).  Needs a login.
 * Errors: CV_ERR_NOT_FOUND, CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT,
 * CV_ERR_INVALID (a password over 200 characters), CV_ERR_CRYPTO. */
cv_err cv_secret_get(cv_vault *v, const char *name, const char *version,
		     enum cv_secret_format fmt, const char *password,
		     unsigned char **out, size_t *len);

/* --- Issuers ------------------------------------------------------------ */

typedef struct cv_admin {
	char *first_name;
	char *last_name;
	char *email;
	char *phone;
} cv_admin;

typedef struct cv_issuer {
	char name[CV_NAME_MAX + 1];
	char *provider;          /* "DigiCert", "GlobalSign", "ACME", "Vault" */
	char *account_id;        /* ACME: the External Account Binding key id */
	char *password;          /* API key or password; for ACME the binding's
				    base64url HMAC key; sealed at rest */
	char *organization_id;
	char *directory_url;     /* ACME directory (presets fill it in) */
	char *ca_certificate;    /* provider Vault: the CA certificate's name */
	char **allowed_names;    /* provider Vault: DNS names or "*.suffix"
				    patterns a leaf may carry; none = any */
	size_t n_allowed_names;
	cv_admin *admins;
	size_t n_admins;
	int enabled;             /* 0 or 1; with CV_PUT_UPDATE, -1 keeps it */
	int has_password;        /* set on read even when password is withheld */
	int64_t created, updated;

	char *email;             /* ACME account contact (mailto:), optional */
	char *ca_file;           /* PEM file of the ACME server's TLS roots */
	char *http_listen;       /* "ADDR:PORT": http-01 by the built-in
				    responder */
	char *webroot;           /* DIR: http-01 by files under
				    DIR/.well-known/acme-challenge/ */
	char *dns_hook;          /* CMD: dns-01 by running CMD set|clear NAME
				    VALUE */
	char *account_url;       /* the ACME account once registered; NULL
				    before (read only: cv_issuer_account_set) */
	int has_account_key;     /* set on read: an ACME account key exists */
} cv_issuer;

/* 1 when a provider name (case-insensitive) speaks ACME: "ACME" and its
 * presets "DigiCert" and "GlobalSign". */
int cv_provider_is_acme(const char *provider);

void cv_issuer_free(cv_issuer *is);

enum cv_put_mode {
	CV_PUT_CREATE = 1, /* fail with CV_ERR_EXISTS if it exists */
	CV_PUT_UPDATE = 2, /* fail with CV_ERR_NOT_FOUND if it does not;
			      NULL members of the argument keep stored values */
};

/* Store an issuer.  A password needs a login (it is sealed).
 * An ACME issuer (ACME, DigiCert, GlobalSign) needs a directory URL (the
 * presets fill theirs in; one given overrides it): https://, or http:// to
 * 127.0.0.1 or [::1] only; and exactly one challenge way (http_listen as
 * ADDR:PORT, webroot, or dns_hook).  Creating one makes its account key (EC
 * P-256) in the vault, sealed and bound to the issuer's name, never
 * returned nor exportable: that needs a login.  An update replaces what is
 * given (Key Vault's set-issuer; a challenge way given replaces the other
 * ways); one that changes the directory URL, the account id or the password
 * (compared with the sealed one) forgets the account URL, so the next pass
 * registers anew (the key stays).
 * A Vault issuer must name a certificate of the vault whose policy is a CA.
 * Errors: CV_ERR_BAD_NAME, CV_ERR_INVALID (unknown provider, bad email, bad
 * URL, listen address, no or two challenge ways, an allowed name that is
 * not a DNS name or "*." and one, a Vault issuer with no CA certificate or
 * one that is not a CA...), CV_ERR_EXISTS, CV_ERR_NOT_FOUND (also the Vault
 * issuer's CA certificate), CV_ERR_NOT_LOGGED_IN, CV_ERR_CRYPTO,
 * CV_ERR_IO. */
cv_err cv_issuer_put(cv_vault *v, const cv_issuer *is, enum cv_put_mode mode,
		     cv_issuer **out);

/* Read an issuer; the password is filled in only when with_password and
 * logged in.  Errors: CV_ERR_NOT_FOUND, CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT. */
cv_err cv_issuer_get(cv_vault *v, const char *name, int with_password,
		     cv_issuer **out);

/* Every issuer, passwords withheld.  Free each with cv_issuer_free and the
 * array with free(). */
cv_err cv_issuer_list(cv_vault *v, cv_issuer ***out, size_t *n);

/* Errors: CV_ERR_NOT_FOUND, CV_ERR_IO. */
cv_err cv_issuer_delete(cv_vault *v, const char *name);

/* The ACME account key's public half as a JWK, members in lexicographic
 * order ({"crv":"P-256","kty":"EC","x":"...","y":"..."}, x and y 32 bytes
 * each, base64url), so it is also the RFC 7638 thumbprint input.  No login
 * needed.  *out is the caller's to free().
 * Errors: CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND, CV_ERR_NO_KEY (not an ACME
 * issuer, or one without a key), CV_ERR_CORRUPT. */
cv_err cv_issuer_account_jwk(cv_vault *v, const char *issuer, char **out);

/* ES256 signature of data with the issuer's account key, as JWS wants it:
 * r||s, 32 bytes each.  The key is unsealed, checked against the record's
 * public key, used and freed inside the call.  Needs a login.
 * Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND,
 * CV_ERR_NO_KEY, CV_ERR_CORRUPT (a sealed key that does not open for this
 * issuer, or is not its public key), CV_ERR_CRYPTO. */
cv_err cv_issuer_account_sign(cv_vault *v, const char *issuer,
			      const unsigned char *data, size_t len,
			      unsigned char sig[64]);

/* HMAC-SHA256 of data under the issuer's External Account Binding key (its
 * sealed password, base64url-decoded; the decoded key is wiped before
 * return), for the binding's JWS.  The key never leaves the store.  Needs a
 * login.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_BAD_NAME, CV_ERR_NOT_FOUND,
 * CV_ERR_NO_PASSWORD (no key stored), CV_ERR_INVALID (the key is not
 * base64url), CV_ERR_CORRUPT, CV_ERR_CRYPTO. */
cv_err cv_issuer_eab_mac(cv_vault *v, const char *issuer,
			 const unsigned char *data, size_t len,
			 unsigned char mac[32]);

/* Remember (account_url) or, with NULL, forget the ACME account URL.
 * Needs a login.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_BAD_NAME,
 * CV_ERR_NOT_FOUND, CV_ERR_NO_KEY (not an ACME issuer), CV_ERR_INVALID
 * (not an http(s) URL), CV_ERR_IO. */
cv_err cv_issuer_account_set(cv_vault *v, const char *issuer,
			     const char *account_url);

/* --- Contacts ----------------------------------------------------------- */

typedef struct cv_contact {
	char *email;
	char *name;   /* may be NULL */
	char *phone;  /* may be NULL */
} cv_contact;

void cv_contact_clear(cv_contact *c);

/* Add a contact (the email is its key).  Errors: CV_ERR_INVALID (email),
 * CV_ERR_EXISTS, CV_ERR_IO. */
cv_err cv_contact_add(cv_vault *v, const cv_contact *c);

/* Every contact, by email.  Free with cv_contact_clear each and free(). */
cv_err cv_contact_list(cv_vault *v, cv_contact **out, size_t *n);

/* Errors: CV_ERR_NOT_FOUND, CV_ERR_IO. */
cv_err cv_contact_delete(cv_vault *v, const char *email);

/* --- Lifetime actions (store/life/) --------------------------------------
 *
 * Design.  Every version written by cv_version_store (create Self or Vault,
 * merge, ACME completion, import) gets its triggers in the same write
 * transaction: one per lifetime action of the policy (AutoRenew and
 * EmailContacts, at lifetime_percentage of nbf..exp or days_before_expiry
 * before exp; a policy without actions gets Key Vault's default notice,
 * EmailContacts at 80%), CertificateNearExpiry 30 days before exp and
 * CertificateExpired at exp.  A trigger is a record keyed by name, version
 * and kind that remembers whether it fired, and an entry in the due index,
 * keyed by the big-endian due time first, so a pass reads only what is due:
 * a cursor from the start up to now (nothing due costs one positioning).
 * cv_cert_policy_update remakes the current version's unfired AutoRenew and
 * EmailContacts triggers.  A vault made before the index is indexed once
 * (cv_life_index_all).  cv_life_fire takes one due trigger and, in ONE write
 * transaction, removes the due entry, marks the trigger fired and does its
 * work (a new version or operation, mails in the outbox, events), so a pass
 * run twice, or killed and run again, does nothing twice.  Only the current
 * version's triggers act; another version's are dropped when due.
 *
 * Mail is made in the store (subject and body) and kept in an outbox until
 * the pass outside the store sends it; events are kept in the vault with a
 * sequence number, named as Key Vault's Event Grid names them.  No network
 * and no processes here: the pass (tools/run/life.c) sends and runs hooks. */

enum cv_life_kind {
	CV_LIFE_AUTO_RENEW = 1,   /* "AutoRenew" */
	CV_LIFE_EMAIL = 2,        /* "EmailContacts" */
	CV_LIFE_NEAR_EXPIRY = 3,  /* "NearExpiry": the Event Grid event */
	CV_LIFE_EXPIRED = 4,      /* "Expired": the Event Grid event */
};

/* "AutoRenew", "EmailContacts", "NearExpiry", "Expired"; "?" otherwise. */
const char *cv_life_kind_name(enum cv_life_kind k);

#define CV_LIFE_NEAR_EXPIRY_DAYS 30   /* Event Grid's CertificateNearExpiry */
#define CV_LIFE_DEFAULT_PERCENTAGE 80 /* Key Vault's default notice */

/* When a lifetime action falls for a version valid nbf..exp: at value % of
 * the lifetime, or value days before exp; never before nbf. */
int64_t cv_life_trigger_time(enum cv_trigger_type trigger, int value,
			     int64_t nbf, int64_t exp);

/* Index every certificate's current version that has no triggers yet, once
 * per vault (a marker in the vault remembers it was done, in the same
 * transaction); later calls only read the marker.  *indexed (may be NULL)
 * is the number of versions indexed now.  Needs a login when the index is
 * missing.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_READ_ONLY, CV_ERR_CORRUPT,
 * CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_life_index_all(cv_vault *v, size_t *indexed);

/* One entry of the due index. */
typedef struct cv_life_due {
	int64_t due;
	char name[CV_NAME_MAX + 1];        /* the certificate, as written */
	char version[CV_VERSION_LEN + 1];
	enum cv_life_kind kind;
} cv_life_due;

/* The triggers due at or before now, earliest first, at most max (> 0).
 * *out is the caller's to free() (NULL when *n is 0).  No login needed.
 * Errors: CV_ERR_INVALID (max 0), CV_ERR_CORRUPT, CV_ERR_NOMEM, CV_ERR_IO. */
cv_err cv_life_due_list(cv_vault *v, int64_t now, size_t max,
			cv_life_due **out, size_t *n);

enum cv_life_outcome {
	CV_LIFE_NOTHING = 0,  /* fired before, or no longer in the index */
	CV_LIFE_DROPPED = 1,  /* the version is no longer current */
	CV_LIFE_RENEWED = 2,  /* a new version is current (Self, Vault) */
	CV_LIFE_PENDING = 3,  /* a new operation: ACME order, or a CSR for
				 Unknown with a notice to the contacts */
	CV_LIFE_NOTICE = 4,   /* mail queued and/or an event recorded */
	CV_LIFE_FAILED = 5,   /* the renewal failed: the error is recorded as
				 an event and a mail to the contacts */
};

typedef struct cv_life_result {
	enum cv_life_outcome outcome;
	char version[CV_VERSION_LEN + 1]; /* the new version or operation's */
	size_t mails;                     /* mails put in the outbox */
	size_t events;                    /* events recorded */
	char message[512];                /* one line saying what was done */
} cv_life_result;

/* Fire one due trigger at now: in one write transaction the due entry is
 * removed, the trigger marked fired and its work done.  AutoRenew renews
 * through the certificate's issuer with the stored policy (reuse_key
 * obeyed) and the current version's tags: Self and Vault make the new
 * version at once (the old one stays until it expires), ACME makes an
 * inProgress operation for the pass to order, Unknown an inProgress
 * operation with a fresh CSR and a mail asking the contacts to have it
 * signed; each success or failure is mailed to the contacts.  A renewal
 * that fails (a CA refusing, an operation already in progress) marks the
 * trigger fired with CV_LIFE_FAILED, a Certvault.CertificateRenewalFailed
 * event and an error mail, and returns CV_OK.  A new key is made before the
 * write transaction, which checks again that the trigger has not fired.
 * Needs a login.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO,
 * CV_ERR_FULL, CV_ERR_NOMEM. */
cv_err cv_life_fire(cv_vault *v, const cv_life_due *due, int64_t now,
		    cv_life_result *out);

/* --- The outbox ---------------------------------------------------------- */

#define CV_MAIL_TRIES 5           /* attempts before a mail is dropped */
#define CV_MAIL_RETRY_FIRST 300   /* seconds; doubled after each failure */

typedef struct cv_mail {
	uint64_t id;
	char **to;                        /* every vault contact at queue time */
	size_t n_to;
	char *subject;
	char *body;
	char name[CV_NAME_MAX + 1];
	char version[CV_VERSION_LEN + 1];
	unsigned attempts;                /* failed sends so far */
	int64_t created, next_try;
	char *last_error;                 /* NULL before a failure */
} cv_mail;

void cv_mail_list_free(cv_mail *list, size_t n);

/* Mails whose next try is at or before now, oldest first.  *out is freed
 * with cv_mail_list_free.  No login needed.  Errors: CV_ERR_CORRUPT,
 * CV_ERR_NOMEM, CV_ERR_IO. */
cv_err cv_outbox_list(cv_vault *v, int64_t now, cv_mail **out, size_t *n);

/* Claim mail id for one send, for lease seconds (> 0): its next try moves
 * to now + lease, so another pass leaves it alone, and a pass killed while
 * sending frees it when the lease ends.  Needs a login.  Errors:
 * CV_ERR_BUSY (another pass holds it, or its next try is after now),
 * CV_ERR_NOT_FOUND (sent or dropped meanwhile), CV_ERR_INVALID (lease),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_outbox_claim(cv_vault *v, uint64_t id, int64_t now, int64_t lease);

/* The mail id was accepted by the relay: it leaves the outbox.  A mail no
 * longer there is CV_OK (another pass sent it).  Needs a login.
 * Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_outbox_sent(cv_vault *v, uint64_t id);

/* The relay refused mail id, or could not be reached: the attempt is
 * counted and the next try set CV_MAIL_RETRY_FIRST * 2^(attempts-1)
 * seconds after now.  When permanent, or at CV_MAIL_TRIES attempts, the
 * mail is dropped and a Certvault.NotificationFailed event records reason;
 * *dropped (may be NULL) says so.  Needs a login.  Errors:
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_outbox_failed(cv_vault *v, uint64_t id, int permanent,
			const char *reason, int64_t now, int *dropped);

/* --- Events -------------------------------------------------------------- */

#define CV_EVENT_NEW_VERSION "Microsoft.KeyVault.CertificateNewVersionCreated"
#define CV_EVENT_NEAR_EXPIRY "Microsoft.KeyVault.CertificateNearExpiry"
#define CV_EVENT_EXPIRED "Microsoft.KeyVault.CertificateExpired"
/* certvault's own: a renewal that failed, a mail given up. */
#define CV_EVENT_RENEWAL_FAILED "Certvault.CertificateRenewalFailed"
#define CV_EVENT_MAIL_FAILED "Certvault.NotificationFailed"

typedef struct cv_event {
	uint64_t seq;                     /* from 1, in the order recorded */
	char *type;                       /* one of CV_EVENT_* */
	char name[CV_NAME_MAX + 1];
	char version[CV_VERSION_LEN + 1];
	int64_t time;                     /* the pass's now */
	int64_t nbf, exp;                 /* the version's; 0 when unknown */
	char *message;                    /* one line; may be NULL */
} cv_event;

void cv_event_list_free(cv_event *list, size_t n);

/* Events recorded at or after since and with a sequence above after_seq,
 * in order.  No login needed.  Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM,
 * CV_ERR_IO. */
cv_err cv_event_list(cv_vault *v, int64_t since, uint64_t after_seq,
		     cv_event **out, size_t *n);

/* An event as Event Grid's schema shows it (id, topic, subject,
 * eventType, eventTime, data {Id, VaultName, ObjectType, ObjectName,
 * Version, NBF, EXP}, dataVersion, metadataVersion), one line of JSON;
 * vault_name is the topic.  *out is the caller's to free().
 * Errors: CV_ERR_NOMEM. */
cv_err cv_event_json(const cv_event *e, const char *vault_name, char **out);

/* How long `certvault run` keeps events, by the real clock: a year, one
 * whole lifetime of a certificate at Key Vault's default validity, so the
 * last renewal of each certificate can still be read with `events list`. */
#define CV_EVENT_KEEP_DAYS 365

/* Remove, oldest first, at most max (> 0) events recorded before before that
 * the hook, when one is set, has been run for; *pruned is how many went.
 * A pass with nothing old enough reads one event and writes nothing.  Needs
 * a login when something goes.  Errors: CV_ERR_INVALID (max 0),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_event_prune(cv_vault *v, int64_t before, size_t max, size_t *pruned);

/* The sequence of the last event the hook was run for (0: none), and
 * advancing it (never backwards; a smaller seq is ignored).  Set needs a
 * login.  Errors: CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_hook_cursor_get(cv_vault *v, uint64_t *seq);
cv_err cv_hook_cursor_set(cv_vault *v, uint64_t seq);

/* --- The vault's mail relay and hook ------------------------------------ */

enum cv_mail_security {
	CV_MAIL_PLAIN = 0,     /* no TLS: only to 127.0.0.1 or [::1] */
	CV_MAIL_STARTTLS = 1,
	CV_MAIL_TLS = 2,       /* implicit TLS */
};

typedef struct cv_mail_settings {
	char *host;               /* name, IPv4, or [IPv6] */
	unsigned port;            /* 1..65535 */
	enum cv_mail_security security;
	char *user;               /* NULL: no login */
	char *password;           /* with user; sealed at rest; filled in only
				     when asked for and logged in */
	int has_password;         /* set on read */
	char *from;               /* sender address */
} cv_mail_settings;

void cv_mail_settings_free(cv_mail_settings *s);

/* Store the relay (replacing any).  Needs a login (the password is sealed).
 * Errors: CV_ERR_INVALID (no host or a host with spaces or slashes, port
 * outside 1..65535, a plain relay that is not loopback, a password without
 * a user, a sender that is not an email address), CV_ERR_NOT_LOGGED_IN,
 * CV_ERR_CRYPTO, CV_ERR_IO. */
cv_err cv_mail_settings_set(cv_vault *v, const cv_mail_settings *s);

/* The relay; the password only when with_password and logged in.  *out is
 * freed with cv_mail_settings_free.  Errors: CV_ERR_NOT_FOUND (none set),
 * CV_ERR_NOT_LOGGED_IN (with_password), CV_ERR_CORRUPT. */
cv_err cv_mail_settings_get(cv_vault *v, int with_password,
			    cv_mail_settings **out);

/* Forget the relay.  Needs a login.  Errors: CV_ERR_NOT_FOUND (none set),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_mail_settings_clear(cv_vault *v);

/* The hook command run on each event (split on blanks, no shell), or NULL
 * to clear it.  A hook set hears of events from now on: the hook cursor
 * moves to the last event in the same write.  Needs a login.  Errors: CV_ERR_INVALID (empty, over 4096
 * bytes, a control character), CV_ERR_NOT_FOUND (clearing none),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_IO. */
cv_err cv_hook_set(cv_vault *v, const char *command);

/* *out is the caller's to free().  Errors: CV_ERR_NOT_FOUND (none set),
 * CV_ERR_CORRUPT. */
cv_err cv_hook_get(cv_vault *v, char **out);

#endif
