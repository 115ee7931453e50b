/* certvault: what store/ files share and nobody else sees. */
#ifndef CV_STORE_INTERNAL_H
#define CV_STORE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store.h"
#include "record.h"
#include "seal.h"

/* The vault's on-disk format; bumped when records change incompatibly.
 * 2: a key's sealed private key is bound to what its record says of it. */
#define CV_VAULT_FORMAT 2

/* The sub-databases.  Keys are lowercase names ("name" below), since Key
 * Vault names are case-insensitive; records keep the name as written.
 *   meta      "header", "pin.user", "pin.so", "generation"
 *   certs     name                   -> CV_REC_CERT
 *   versions  name \0 version        -> CV_REC_VERSION
 *   keys      name \0 version        -> CV_REC_KEY (private key sealed)
 *   secrets   name \0 version        -> CV_REC_SECRET (sealed)
 *   pending   name                   -> CV_REC_OPERATION
 *   issuers   name                   -> CV_REC_ISSUER (password sealed)
 *   contacts  email                  -> CV_REC_CONTACT
 *   key_ids   key id (20 bytes)      -> name \0 version (duplicates sorted)
 *   key_nums  key number (8 bytes BE)-> name \0 version
 *   triggers  name \0 version \0 kind -> CV_REC_TRIGGER (store/life/)
 *   due       due (8 bytes BE) name \0 version \0 kind -> name as written
 *   outbox    id (8 bytes BE)        -> CV_REC_MAIL
 *   events    seq (8 bytes BE)       -> CV_REC_EVENT
 *   ops_active lowercase name        -> name as written: the operations
 *             inProgress, changed with every operation record
 *             (store/issue/operation.c), so a pass reads only them
 * The four before ops_active came with lifetime actions: a vault made before them gets
 * them (empty) when it is first opened by a user who may write it, and its
 * versions are indexed by the first pass (meta "life.indexed" marks it).
 * meta also holds "mail" (CV_REC_MAIL_SETTINGS), "hook" (CV_REC_HOOK),
 * "hook.cursor", "outbox.next" and "events.next" (8 bytes BE each).
 * ops_active came later: an older vault gets it (empty) on the same first
 * open, and the first listing after a login fills it from the operation
 * records (meta "ops.indexed" marks it; until then a listing reads them all).
 * meta also holds "next_key_num": every key gets a vault-wide number, never
 * reused, which the PKCS#11 face turns into object handles.
 *   deleted   lowercase name        -> CV_REC_DELETED (softdelete.c): a
 *             deleted certificate's record, operation and index entries,
 *             moved out of the live tables; its versions, keys, secrets
 *             and triggers stay where they are until it is purged
 * deleted came later still: an older vault gets it (empty) on the same
 * first open.
 */
enum cv_db {
	CV_DB_META,
	CV_DB_CERTS,
	CV_DB_VERSIONS,
	CV_DB_KEYS,
	CV_DB_SECRETS,
	CV_DB_PENDING,
	CV_DB_ISSUERS,
	CV_DB_CONTACTS,
	CV_DB_KEY_IDS,
	CV_DB_KEY_NUMS,
	CV_DB_TRIGGERS,
	CV_DB_DUE,
	CV_DB_OUTBOX,
	CV_DB_EVENTS,
	CV_DB_OPS_ACTIVE,
	CV_DB_DELETED,
	CV_DB__COUNT
};

struct cv_vault {
	MDB_env *env;
	MDB_dbi dbi[CV_DB__COUNT];
	char *dir;
	pid_t pid;
	int read_only;         /* opened MDB_RDONLY: this user may not write */
	uint64_t psize;        /* LMDB's page size in data.mdb */
	int has_life;          /* the lifetime tables exist (a read-only
				  handle on an older vault has none) */
	int has_op_index;      /* the ops_active table exists (likewise) */
	int has_deleted;       /* the deleted table exists (likewise) */

	pthread_mutex_t lock;  /* guards the fields below */
	unsigned char *master; /* CV_MASTER_KEY_LEN bytes while logged in */
	enum cv_user who;
};

/* --- The vault's files (files.c) --------------------------------------- */

/* A vault folder opened for LMDB, after the checks of files.c's rule. */
typedef struct cv_vault_files {
	int dir_fd;            /* the folder, opened without following links */
	int data_fd;           /* data.mdb, or -1 when it does not exist yet */
	struct stat dir_st, data_st;
	int read_only;         /* the caller may not write data.mdb */
	uint64_t psize;        /* data.mdb's page size, 0 before it exists */
	char env_path[64];     /* the pinned folder for mdb_env_open, or "" */
} cv_vault_files;

/* Check and open dir: owners, links, modes, the parent, and data.mdb's meta
 * pages against its size.  creating: data.mdb must not exist yet.  On
 * failure nothing stays open.  Errors: CV_ERR_NOT_A_VAULT (no folder or no
 * data.mdb), CV_ERR_VAULT_EXISTS (creating), CV_ERR_PERMISSIONS (naming the
 * path and the reason), CV_ERR_CORRUPT (a damaged data.mdb), CV_ERR_IO. */
cv_err cv_vault_files_open(const char *dir, int creating, cv_vault_files *out);
/* After mdb_env_open: LMDB's data file is the one checked, lock.mdb a
 * regular file of an accepted owner.  Errors: CV_ERR_PERMISSIONS, CV_ERR_IO. */
cv_err cv_vault_files_verify(cv_vault_files *f, const char *dir, MDB_env *env);
void cv_vault_files_close(cv_vault_files *f);
/* data.mdb's two meta pages (magic, version, page size) and its size
 * against the newest meta's last page; *psize is the page size.
 * Errors: CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_lmdb_data_check(int fd, const char *path, uint64_t *psize);
/* path's folder may not be written by others unless sticky.
 * Errors: CV_ERR_PERMISSIONS, CV_ERR_IO. */
cv_err cv_parent_check(const char *path);
/* st (of path) belongs to the caller, root or also.  CV_ERR_PERMISSIONS. */
cv_err cv_owner_check(const char *path, const struct stat *st, uid_t also);

/* Transactions.  cv_txn_write refuses CV_ERR_NOT_LOGGED_IN unless the user
 * is logged in: every change to a vault goes through it (the few writes that
 * need no login are vault.c's own).  cv_txn_write_commit bumps the
 * generation counter first, so readers can tell something changed; on any
 * failure the transaction is gone (LMDB frees it), and the caller must not
 * touch it again. */
cv_err cv_txn_read(cv_vault *v, MDB_txn **txn);
cv_err cv_txn_write(cv_vault *v, MDB_txn **txn);
cv_err cv_txn_write_commit(cv_vault *v, MDB_txn *txn);

/* An LMDB return code as a cv_err with a detail naming what was done. */
cv_err cv_mdb_err(int rc, const char *what);

/* get/put/del on one sub-database; get returns CV_ERR_NOT_FOUND for
 * MDB_NOTFOUND.  The value of get points into the map: copy it before the
 * transaction ends. */
cv_err cv_db_get(cv_vault *v, MDB_txn *txn, enum cv_db db,
		 const void *key, size_t klen, MDB_val *val);
cv_err cv_db_put(cv_vault *v, MDB_txn *txn, enum cv_db db,
		 const void *key, size_t klen, const void *val, size_t vlen,
		 unsigned flags);
cv_err cv_db_del(cv_vault *v, MDB_txn *txn, enum cv_db db,
		 const void *key, size_t klen);

/* CV_OK for a valid certificate name, else CV_ERR_BAD_NAME naming it. */
cv_err cv_check_cert_name(const char *name);

/* Lower-cased key for a name (Key Vault names are case-insensitive). */
void cv_name_key(const char *name, char out[CV_NAME_MAX + 1]);

/* "name\0version" keys for versions, keys and secrets. */
typedef struct cv_vkey {
	unsigned char b[CV_NAME_MAX + 1 + CV_VERSION_LEN];
	size_t len;
} cv_vkey;
void cv_vkey_make(cv_vkey *k, const char *name, const char *version);

/* The master key, copied under the lock, for one sealing operation.
 * Errors: CV_ERR_NOT_LOGGED_IN.  Wipe the copy with OPENSSL_cleanse. */
cv_err cv_vault_master(cv_vault *v, unsigned char out[CV_MASTER_KEY_LEN]);

/* Seal or open a value for one record of one sub-database: the database
 * name and the record's key are the additional data, so a sealed value
 * moved to another record no longer opens. */
cv_err cv_vault_seal(cv_vault *v, enum cv_db db, const void *key, size_t klen,
		     const unsigned char *pt, size_t ptlen, unsigned char **out,
		     size_t *outlen);
cv_err cv_vault_unseal(cv_vault *v, enum cv_db db, const void *key,
		       size_t klen, const unsigned char *ct, size_t ctlen,
		       unsigned char **out, size_t *outlen);

/* A fresh random version id, 32 lowercase hex digits. */
cv_err cv_random_version(char out[CV_VERSION_LEN + 1]);

int64_t cv_now(void);
/* Make cv_now() return now (0: the real time again) on this thread; returns
 * the setting it replaced, to be put back.  Only a lifetime pass sets it,
 * around one call, so what it makes is made as at the pass's time. */
int64_t cv_clock_set(int64_t now);

/* The certificate record (CV_REC_CERT) in memory. */
typedef struct cv_cert_rec {
	char name[CV_NAME_MAX + 1];
	char *policy_json;           /* REST form */
	char current[CV_VERSION_LEN + 1];
	uint64_t next_seq;
	int64_t created, updated;
} cv_cert_rec;

cv_err cv_cert_rec_read(cv_vault *v, MDB_txn *txn, const char *name,
			cv_cert_rec *out);
cv_err cv_cert_rec_write(cv_vault *v, MDB_txn *txn, const cv_cert_rec *r);
void cv_cert_rec_clear(cv_cert_rec *r);
/* The certificate's stored policy, parsed.  *out is the caller's.  Errors:
 * CV_ERR_CORRUPT naming the certificate (a stored policy that does not
 * parse), CV_ERR_NOMEM. */
cv_err cv_cert_rec_policy(const cv_cert_rec *r, cv_policy **out);

/* The key record (CV_REC_KEY) in memory; the private key stays sealed. */
typedef struct cv_key_rec {
	int kty;                     /* enum cv_key_type */
	int key_size;
	char curve[8];
	cv_blob spki;                /* SubjectPublicKeyInfo DER */
	cv_blob sealed;              /* sealed PKCS#8 DER */
	unsigned char key_id[20];
	int exportable;
	int imported;
	unsigned key_usage;          /* the policy's, when the key was made */
	uint64_t num;
	int64_t created;
} cv_key_rec;

/* Errors: CV_ERR_NOT_FOUND, CV_ERR_CORRUPT (also, while the user is logged
 * in, a record that does not match its sealed key), CV_ERR_NOMEM. */
cv_err cv_key_rec_read(cv_vault *v, MDB_txn *txn, const char *name,
		       const char *version, cv_key_rec *out);
/* The same, leaving the sealed private key out unless with_sealed: lookups
 * that only show a key need not copy it. */
cv_err cv_key_rec_read_part(cv_vault *v, MDB_txn *txn, const char *name,
			    const char *version, int with_sealed,
			    cv_key_rec *out);
/* Only the key number of name/version.  Errors: CV_ERR_NOT_FOUND,
 * CV_ERR_CORRUPT. */
cv_err cv_key_rec_num(cv_vault *v, MDB_txn *txn, const char *name,
		      const char *version, uint64_t *num);
void cv_key_rec_clear(cv_key_rec *r);

/* Seal and write a private key as the key of name/version, with its key id
 * index entry.  Needs a login. */
cv_err cv_key_rec_store(cv_vault *v, MDB_txn *txn, const char *name,
			const char *version, EVP_PKEY *key,
			const cv_policy *policy, int imported);

/* CV_ERR_EXISTS, naming the certificate, when a certificate other than
 * name holds a key (in any version) whose key id is id: a key belongs to
 * one certificate, so a token never shows two private keys with one
 * CKA_ID.  Errors: CV_ERR_EXISTS, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_key_id_owner_check(cv_vault *v, MDB_txn *txn, const char *name,
			     const unsigned char id[20]);

/* A key number as the 8-byte big-endian key of the key_nums table. */
void num_be(uint64_t n, unsigned char out[8]);

/* The public key of a key record.  Errors: CV_ERR_CORRUPT. */
cv_err cv_key_rec_public(const cv_key_rec *r, EVP_PKEY **out);

/* The private key of a PKCS#8 PrivateKeyInfo, its secret values in the
 * secure heap where OpenSSL's has one (keydecode.c).  Errors:
 * CV_ERR_CORRUPT (not a PKCS#8 key OpenSSL can read), CV_ERR_NOMEM (the
 * secure heap is full). */
cv_err cv_pkcs8_decode(const unsigned char *der, size_t len, EVP_PKEY **out);

/* Unseal the private key of a key record.  Needs a login.  What the record
 * says of the key (type, size, curve, public key, key id, exportable,
 * imported, key usage, number) is bound to the sealed key as additional
 * data, and the private key must be the record's public key.  Errors:
 * CV_ERR_CORRUPT naming the record on any mismatch, CV_ERR_NOT_LOGGED_IN,
 * CV_ERR_NOMEM. */
cv_err cv_key_rec_private(cv_vault *v, const char *name, const char *version,
			  const cv_key_rec *r, EVP_PKEY **out);

/* Before a key read as key number num is used: it must be that key, and
 * its version's certificate (if the version exists yet) must certify it.
 * Errors: CV_ERR_CORRUPT naming the record, CV_ERR_NOMEM, CV_ERR_IO. */
cv_err cv_key_rec_check_use(cv_vault *v, MDB_txn *txn, const char *name,
			    const char *version, uint64_t num,
			    const cv_key_rec *r);

/* Write a new version: version record (leaf, chain), secret (sealed, key
 * included when the policy is exportable), and make it current.  The key
 * record of name/version must already be written in txn. */
cv_err cv_version_store(cv_vault *v, MDB_txn *txn, cv_cert_rec *cert,
			const cv_policy *policy, const char *version,
			X509 *leaf, STACK_OF(X509) *chain, EVP_PKEY *priv,
			const cv_tags *tags);

/* A version of cert as cv_cert_get shows it, read in txn (its key record
 * checked against its certificate).  Errors: as cv_cert_get. */
cv_err cv_cert_version_read(cv_vault *v, MDB_txn *txn, const cv_cert_rec *cert,
			    const char *version, cv_cert_version **out);

/* Lifetime actions (store/life/).  The triggers of a version just written
 * in txn: its policy's lifetime actions (or the default notice), near
 * expiry and expired, each in the due index; and the event that a new
 * version was created.  A no-op on a vault without the lifetime tables
 * (a read-only handle cannot write anyway). */
cv_err cv_life_schedule(cv_vault *v, MDB_txn *txn, const char *name,
			const char *version, const cv_policy *policy,
			int64_t nbf, int64_t exp);
/* A version that ends a renewal ordered earlier (the AutoRenew of prev, the
 * version it replaces, fired before this transaction: ACME, or a merge of
 * Unknown's CSR): the contacts hear of it.  prev may be "" (none). */
cv_err cv_life_renewed_later(cv_vault *v, MDB_txn *txn, const char *name,
			     const char *prev, const char *version);
/* An operation ended failed in txn: when it was a renewal (the current
 * version's AutoRenew fired), an event and a mail say so. */
cv_err cv_life_renewal_failed(cv_vault *v, MDB_txn *txn, const cv_operation *op);
/* The current version's unfired AutoRenew and EmailContacts triggers
 * remade for a changed policy. */
cv_err cv_life_reschedule(cv_vault *v, MDB_txn *txn, const cv_cert_rec *cert,
			  const cv_policy *policy);
/* Re-initializing: the relay's password was sealed under the old key. */
cv_err cv_life_drop_sealed(cv_vault *v, MDB_txn *txn);

/* cv_cert_create with two calls into the write transaction, for a renewal:
 * check right after it begins (a refusal aborts the create, nothing
 * written), record just before it commits, given the operation made.
 * Either may be NULL. */
typedef struct cv_create_hook {
	cv_err (*check)(cv_vault *v, MDB_txn *txn, void *arg);
	cv_err (*record)(cv_vault *v, MDB_txn *txn, const cv_operation *op,
			 void *arg);
	void *arg;
} cv_create_hook;
cv_err cv_cert_create_hooked(cv_vault *v, const char *name,
			     const cv_policy *policy, const cv_tags *tags,
			     const cv_create_hook *hook, cv_operation **op_out);

/* An issuer record read in txn, password withheld.  Errors: as
 * cv_issuer_get. */
cv_err cv_issuer_read(cv_vault *v, MDB_txn *txn, const char *name, cv_issuer **out);

/* The vault CA (issue/vault_ca.c). */

/* A Vault issuer's CA certificate is a certificate of the vault whose
 * policy makes it a CA.  Errors: CV_ERR_INVALID (no CA certificate named,
 * or not a CA), CV_ERR_NOT_FOUND, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_vault_ca_check_issuer(cv_vault *v, MDB_txn *txn, const cv_issuer *is);

/* Sign a leaf for policy with the key pub inside the vault, by the CA
 * certificate the issuer names, read in txn (cv_cert_create's write
 * transaction).  The CA's current version must be enabled and valid now, its
 * policy and certificate must say CA (CA:TRUE, keyCertSign) and its key must
 * have been made for keyCertSign.  The leaf gets the policy's subject, SANs,
 * key usage and EKUs; validity from the policy, cut to the CA's notAfter; a
 * fresh random 159-bit serial; CA:FALSE, or for a CA policy CA:TRUE with a
 * path length below the CA's (a CA with path length 0 signs no CA); key
 * identifiers.  The policy's DNS names (its subject's common names when it
 * has none) must be among the issuer's allowed_names.  *leaf and *chain
 * (the CA's certificate and its chain, CA first) are the caller's.  Needs a
 * login.  Errors: CV_ERR_POLICY (naming the name or the path length),
 * CV_ERR_INVALID (the CA is not a CA), CV_ERR_DISABLED, CV_ERR_EXPIRED
 * (also not yet valid), CV_ERR_NOT_FOUND (no CA certificate or no version),
 * CV_ERR_NOT_LOGGED_IN, CV_ERR_CORRUPT, CV_ERR_CRYPTO, CV_ERR_NOMEM. */
cv_err cv_vault_ca_issue(cv_vault *v, MDB_txn *txn, const cv_issuer *issuer,
			 const cv_policy *policy, EVP_PKEY *pub, X509 **leaf,
			 STACK_OF(X509) **chain);

/* The operation record (CV_REC_OPERATION). */
cv_err cv_op_read(cv_vault *v, MDB_txn *txn, const char *name,
		  cv_operation **out);
cv_err cv_op_write(cv_vault *v, MDB_txn *txn, const cv_operation *op);

/* Remove the sealed password, the ACME account key and the account URL
 * from every issuer in txn (re-initializing makes a new master key, under
 * which the old ones do not open; a new account key registers anew).
 * Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM, CV_ERR_IO, CV_ERR_FULL. */
cv_err cv_issuer_drop_passwords(cv_vault *v, MDB_txn *txn);

/* Tags in records: repeated CV_T_TAG_NAME/CV_T_TAG_VALUE pairs. */
void cv_rec_put_tags(cv_wbuf *w, const cv_tags *t);
cv_err cv_rec_get_tags(const unsigned char *rec, size_t len, cv_tags *out);
cv_err cv_tags_copy(const cv_tags *src, cv_tags *dst);

/* 1 for a plausible email address (one @, no spaces or separators). */
int cv_email_valid(const char *e);

/* Soft delete (softdelete.c). */

/* CV_ERR_DELETED, with Key Vault's text naming it, when name is a deleted
 * certificate's: create, import and restore refuse such a name until it is
 * recovered or purged.  Errors: CV_ERR_DELETED, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_deleted_name_check(cv_vault *v, MDB_txn *txn, const char *name);
/* CV_ERR_EXISTS naming the deleted certificate, other than name, that
 * held a key with key id id when it was deleted: recovering it must find
 * its key id free.  Errors: CV_ERR_EXISTS, CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_deleted_key_id_check(cv_vault *v, MDB_txn *txn, const char *name,
			       const unsigned char id[20]);
/* The vault header's recovery settings, read in txn.  Errors:
 * CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_vault_recovery_read(cv_vault *v, MDB_txn *txn, cv_vault_recovery *out);
/* Decode a deleted record (the deleted table's value rec) and call fn for
 * each entry its delete moved out of the live tables (db one of certs,
 * pending, ops_active, key_ids, key_nums, due), in order; *name is the
 * certificate's name as written.  Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM, or
 * fn's. */
typedef cv_err (*cv_deleted_entry_fn)(cv_vault *v, MDB_txn *txn, enum cv_db db,
				      const MDB_val *key, const MDB_val *val,
				      void *arg);
cv_err cv_deleted_walk(cv_vault *v, MDB_txn *txn, const void *rec, size_t len,
		       char name[CV_NAME_MAX + 1], cv_deleted_entry_fn fn, void *arg);
/* 1 when a deleted certificate of this (lowercase) name exists in txn. */
int cv_deleted_exists(cv_vault *v, MDB_txn *txn, const char *lname);

/* A certificate record read from bytes (cv_cert_rec_read's decoding).
 * Errors: CV_ERR_CORRUPT, CV_ERR_NOMEM. */
cv_err cv_cert_rec_decode(const void *rec, size_t len, cv_cert_rec *out);

/* Small owned-string helpers: NULL in, NULL out; on ENOMEM *ok is cleared. */
char *cv_strdup_or_null(const char *s, int *ok);

#endif
