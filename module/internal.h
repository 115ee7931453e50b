/* certvault-pkcs11: what the module's files share.
 *
 * The module presents each vault of the config as one slot with one token.
 * It keeps no table of the vault's objects: an object handle encodes the
 * vault's key number and the object's kind, so every lookup is a read of
 * the vault (store/token.c) in a fresh LMDB read transaction, and what the
 * certvault tool writes is seen at once.
 *
 * Layers, each calling only the ones below it:
 *   pkcs11.c     the exported C_* functions: init check, lookups, locks,
 *                state checks, then one call into the files below
 *   module.c     global state, C_Initialize/C_Finalize, fork, slot events
 *   slot.c       slots, tokens, login, PINs, C_InitToken
 *   session.c    sessions: table, states, reference counts
 *   object/      handles, attributes, find, session objects, create, copy,
 *                destroy, session key pairs (one file a topic;
 *                object/internal.h maps them)
 *   keypair.c    C_GenerateKeyPair (token key pairs: a pending
 *                certificate; session ones go to object/generate.c),
 *                C_CreateObject of a certificate (a merge)
 *   sign.c       sign and verify;  crypt.c  encrypt and decrypt;
 *   digest.c     digests;  mechanism.c  the mechanism table
 *   cache.c      key information and private keys kept between calls
 *   errors.c     the one place store errors become CKR_* values
 */
#ifndef CV_MODULE_INTERNAL_H
#define CV_MODULE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>

#include "pkcs11_3.h"
#include "store.h"

/* --- Preconditions (p11-kit's return_val_if_fail habit) ------------------ */

/* Log a caller's broken precondition; abort instead when CERTVAULT_STRICT is
 * set, so tests catch what production only logs. */
void cv_module_precondition_failed(const char *func, const char *expr);

#define return_val_if_fail(expr, val) do { \
		if (!(expr)) { \
			cv_module_precondition_failed(__func__, #expr); \
			return (val); \
		} \
	} while (0)

/* One-line diagnostics to stderr when CERTVAULT_DEBUG is set. */
void cv_module_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- Slots ------------------------------------------------------------- */

typedef struct cv_slot {
	CK_SLOT_ID id;                 /* index in the config, from 0 */
	char *dir;                     /* the vault folder */
	cv_vault *vault;               /* NULL: no vault there (token absent or
					  not initialized yet) */
	int initialized;               /* a vault exists in dir */
	unsigned sessions;             /* open sessions on this slot */
	unsigned ro_sessions;          /* of them, read-only */
	CK_USER_TYPE login;            /* CKU_USER, CKU_SO, or (CK_ULONG)-1 */
	_Atomic unsigned logouts;      /* grows at every logout: private-object
					  handles carry it, so a handle from
					  before a logout stays invalid after
					  the next login (spec, C_Logout) */
	int present;                   /* a token: a vault opened, or a folder
					  where C_InitToken can make one */
	int init_busy;                 /* C_InitToken at work: no session opens */
	pthread_mutex_t auth_lock;     /* one login, logout, PIN change or
					  C_InitToken at a time; taken before
					  cv_mod.lock, never while holding it */
} cv_slot;

#define CV_NOT_LOGGED_IN ((CK_USER_TYPE)-1)

/* --- Sessions ---------------------------------------------------------- */

enum cv_op_kind {
	CV_OP_NONE = 0,
	CV_OP_FIND,
	CV_OP_SIGN,
	CV_OP_VERIFY,
	CV_OP_ENCRYPT,
	CV_OP_DECRYPT,
	CV_OP_DIGEST,
	CV_OP__COUNT
};

/* The state of a find: the matches are produced lazily by walking the
 * vault's keys from `next_num`, or come from a short precomputed list (a
 * find by CKA_ID, by label, or of session objects). */
typedef struct cv_find {
	CK_ATTRIBUTE *tmpl;            /* a deep copy of the template */
	CK_ULONG tmpl_len;
	CK_OBJECT_HANDLE *ready;       /* precomputed matches not yet returned */
	CK_ULONG n_ready, pos_ready;
	int walking;                   /* walk every key after next_num */
	uint64_t next_num;
	CK_ULONG session_obj_pos;      /* session objects still to check */
} cv_find;

/* A sign, verify, encrypt, decrypt or digest in progress. */
typedef struct cv_crypto_op {
	CK_MECHANISM_TYPE mech;
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pkey;                /* a reference, freed when the op ends */
	EVP_MD_CTX *md;                /* hash-then-sign mechanisms, digests */
	EVP_PKEY_CTX *pctx;            /* raw and padding parameters */
	unsigned char *buf;            /* multi-part data of raw mechanisms;
					  malloc'd; cv_crypto_op_clear wipes
					  buf_cap bytes and frees it */
	size_t buf_len, buf_cap;
	int multipart;                 /* C_*Update was called */
	size_t out_len;                /* the size of the result, once known */
} cv_crypto_op;

typedef struct cv_session {
	CK_SESSION_HANDLE handle;
	cv_slot *slot;
	CK_FLAGS flags;                /* CKF_SERIAL_SESSION [| CKF_RW_SESSION] */
	unsigned refs;                 /* lookups in flight, plus one while open */
	int closed;
	pthread_mutex_t lock;          /* one call at a time on a session */
	enum cv_op_kind op_kind;       /* at most one of find and crypto ops... */
	int active[CV_OP__COUNT];      /* ...per kind, as the spec allows */
	cv_find find;
	cv_crypto_op ops[CV_OP__COUNT];
} cv_session;

/* --- Module state ------------------------------------------------------ */

typedef struct cv_module_state {
	pthread_mutex_t lock;          /* guards everything below */
	pthread_cond_t event;          /* C_WaitForSlotEvent sleeps here */
	int initialized;
	pid_t pid;                     /* the process that called C_Initialize */
	cv_slot *slots;
	CK_ULONG n_slots;
	cv_session **sessions;         /* by handle - 1; NULL for free slots */
	CK_ULONG n_sessions_cap;
} cv_module_state;

extern cv_module_state cv_mod;

/* --- module.c ---------------------------------------------------------- */

CK_RV cv_module_initialize(CK_VOID_PTR init_args);
CK_RV cv_module_finalize(CK_VOID_PTR reserved);
/* CKR_OK when initialized in this process, else
 * CKR_CRYPTOKI_NOT_INITIALIZED (also in a child after fork, until it calls
 * C_Initialize, which then starts afresh without touching the parent's
 * LMDB environments). */
CK_RV cv_module_check(void);
CK_RV cv_module_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot);
CK_RV cv_module_info(CK_INFO_PTR info);

/* --- slot.c ------------------------------------------------------------ */

/* A slot by id, looked up under cv_mod.lock (taken inside, so the caller
 * must not hold it); the slot stays valid until C_Finalize.
 * CKR_SLOT_ID_INVALID.  slot.c's functions take the locks they need; the
 * caller holds no session lock for login and logout. */
CK_RV cv_slot_get(CK_SLOT_ID id, cv_slot **out);
/* Log why the vault of slot id in dir cannot be used (the store's detail
 * for err): stderr under CERTVAULT_DEBUG, else syslog. */
void cv_slot_report(CK_SLOT_ID id, const char *dir, cv_err err);
/* C_GetSlotList's buffer protocol over the slots (present ones only when
 * token_present). */
CK_RV cv_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list,
		   CK_ULONG_PTR count);
CK_RV cv_slot_info(cv_slot *s, CK_SLOT_INFO_PTR info);
CK_RV cv_token_info(cv_slot *s, CK_TOKEN_INFO_PTR info);
CK_RV cv_slot_login(cv_slot *s, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin,
		    CK_ULONG len);
CK_RV cv_slot_logout(cv_slot *s);
CK_RV cv_slot_init_token(cv_slot *s, CK_UTF8CHAR_PTR so_pin, CK_ULONG len,
			 CK_UTF8CHAR_PTR label);
CK_RV cv_slot_init_pin(cv_slot *s, CK_UTF8CHAR_PTR pin, CK_ULONG len);
CK_RV cv_slot_set_pin(cv_slot *s, CK_UTF8CHAR_PTR old, CK_ULONG old_len,
		      CK_UTF8CHAR_PTR pin, CK_ULONG len);
/* The session state a session of this slot is in (CKS_*); takes
 * cv_mod.lock. */
CK_STATE cv_slot_session_state(const cv_slot *s, CK_FLAGS session_flags);

/* --- session.c --------------------------------------------------------- */

CK_RV cv_session_open(cv_slot *s, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out);
/* Take a reference to an open session: CKR_SESSION_HANDLE_INVALID.  The
 * session's lock is held on return; cv_session_release unlocks it. */
CK_RV cv_session_acquire(CK_SESSION_HANDLE h, cv_session **out);
void cv_session_release(cv_session *s);
CK_RV cv_session_close(CK_SESSION_HANDLE h);
CK_RV cv_session_close_all(cv_slot *s);
/* End every operation of a session (C_SessionCancel, close, logout). */
void cv_session_end_ops(cv_session *s);
/* End one operation: cv_find_clear or cv_crypto_op_clear, active[kind] = 0;
 * calling it again is harmless.  pkcs11.c keeps active[]: it sets
 * active[kind] when an *_init returns CKR_OK (and ends a crypto op whose
 * init failed), clears active[CV_OP_FIND] after cv_object_find_final (which
 * clears the find itself), and after each sign, verify, encrypt, decrypt
 * or digest call ends the operation when the spec says that call ends it
 * (success, or any error but CKR_BUFFER_TOO_SMALL and a length query).
 * The functions of sign.c, crypt.c and digest.c may end it too. */
void cv_session_end_op(cv_session *s, enum cv_op_kind kind);
/* After a logout: end the find, sign and decrypt operations of every
 * session of the slot.  Takes each session's lock in turn, so the caller
 * holds no session lock. */
void cv_session_end_private_ops(cv_slot *slot);
void cv_crypto_op_clear(cv_crypto_op *op);
/* Logged in as the user (reads the slot's state under cv_mod.lock). */
int cv_session_logged_in(const cv_session *s);
int cv_session_rw(const cv_session *s);

/* --- object/ ------------------------------------------------------------ */

/* Handles of token objects: key number << 4 | kind.  Session objects have
 * the top bit set and index the session object table. */
enum cv_obj_kind {
	CV_OBJ_CERT = 1,         /* the key's version's certificate */
	CV_OBJ_PUBLIC = 2,       /* the public key */
	CV_OBJ_PRIVATE = 3,      /* the private key */
	CV_OBJ_CHAIN0 = 4,       /* 4..15: the chain's certificates, leaf's
				    issuer first, as authority certificates */
};
#define CV_OBJ_KIND_BITS 4
#define CV_OBJ_CHAIN_MAX (16 - CV_OBJ_CHAIN0)
#define CV_SESSION_OBJECT ((CK_OBJECT_HANDLE)1 << 63)

/* Private-object handles also carry the slot's logout count in bits
 * 44..62 (key numbers stay below 2^40), so they lapse at each logout. */
#define CV_OBJ_EPOCH_SHIFT 44
#define CV_OBJ_EPOCH_MASK ((CK_OBJECT_HANDLE)0x7ffff)
CK_OBJECT_HANDLE cv_object_handle(cv_slot *slot, uint64_t num,
				  enum cv_obj_kind kind);
/* Count a logout of the slot: its private-object handles lapse. */
void cv_object_handles_lapse(cv_slot *slot);

/* The check every function that reads a caller's template makes first,
 * before any value is read (C_CreateObject, C_CopyObject,
 * C_SetAttributeValue, C_FindObjectsInit, both templates of
 * C_GenerateKeyPair): CKR_ARGUMENTS_BAD for a NULL template of n > 0
 * attributes; CKR_ATTRIBUTE_VALUE_INVALID for an attribute that claims a
 * length without a value (pValue NULL) or a length beyond LONG_MAX (no
 * buffer is that long, and the DER readers take a long).  Not for
 * C_GetAttributeValue, where a NULL value asks for the length. */
CK_RV cv_object_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* C_GetAttributeValue: the buffer protocol to the letter (NULL pValue
 * gives the length; a short buffer gives CKR_BUFFER_TOO_SMALL for that
 * attribute with ulValueLen CK_UNAVAILABLE_INFORMATION; sensitive values
 * CKR_ATTRIBUTE_SENSITIVE; unknown types CKR_ATTRIBUTE_TYPE_INVALID; every
 * attribute is processed and the worst of these is returned). */
CK_RV cv_object_get_attributes(cv_session *s, CK_OBJECT_HANDLE h,
			       CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV cv_object_set_attributes(cv_session *s, CK_OBJECT_HANDLE h,
			       CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV cv_object_size(cv_session *s, CK_OBJECT_HANDLE h, CK_ULONG_PTR size);
CK_RV cv_object_find_init(cv_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
CK_RV cv_object_find(cv_session *s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
		     CK_ULONG_PTR count);
CK_RV cv_object_find_final(cv_session *s);
void cv_find_clear(cv_find *f);
CK_RV cv_object_create(cv_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
		       CK_OBJECT_HANDLE_PTR out);
CK_RV cv_object_copy(cv_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
		     CK_ULONG n, CK_OBJECT_HANDLE_PTR out);
CK_RV cv_object_destroy(cv_session *s, CK_OBJECT_HANDLE h);
/* C_GenerateKeyPair of a session key pair (CKA_TOKEN FALSE in both
 * templates): two session objects in memory, never in the vault.  Errors:
 * the template's (CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
 * CKR_ATTRIBUTE_VALUE_INVALID, CKR_ATTRIBUTE_TYPE_INVALID,
 * CKR_ATTRIBUTE_READ_ONLY, CKR_KEY_SIZE_RANGE, CKR_CURVE_NOT_SUPPORTED),
 * CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID,
 * CKR_USER_NOT_LOGGED_IN (a private half without a login),
 * CKR_HOST_MEMORY. */
CK_RV cv_object_generate_pair(cv_session *s, CK_MECHANISM_PTR mech,
			      CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG n_pub,
			      CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
			      CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv);
/* Drop the session objects a closing session owns. */
void cv_object_session_closed(CK_SESSION_HANDLE h);
/* Destroy a slot's private session objects (C_Logout). */
void cv_object_logout(CK_SLOT_ID slot);
void cv_object_finalize(void);
/* Take and release the session-object table's lock around fork(). */
void cv_object_fork_lock(void);
void cv_object_fork_unlock(void);

/* What a crypto operation needs of a key object: the key type, whether the
 * operation is allowed (CKA_SIGN, CKA_DECRYPT ... and, for vault keys, the
 * version enabled and inside nbf..exp), and the EVP_PKEY (private keys need
 * a user login; *pkey is a new reference).  want is CKA_SIGN, CKA_VERIFY,
 * CKA_ENCRYPT or CKA_DECRYPT.  Errors: CKR_OBJECT_HANDLE_INVALID,
 * CKR_KEY_HANDLE_INVALID, CKR_KEY_FUNCTION_NOT_PERMITTED,
 * CKR_KEY_TYPE_INCONSISTENT, CKR_USER_NOT_LOGGED_IN. */
CK_RV cv_object_key_for(cv_session *s, CK_OBJECT_HANDLE h,
			CK_ATTRIBUTE_TYPE want, CK_KEY_TYPE *type,
			EVP_PKEY **pkey);

/* --- keypair.c --------------------------------------------------------- */

CK_RV cv_keypair_generate(cv_session *s, CK_MECHANISM_PTR mech,
			  CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG n_pub,
			  CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
			  CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv);
/* Key Vault's name of the curve a CKA_EC_PARAMS names (a named curve's
 * OID), or NULL with *rv CKR_ATTRIBUTE_VALUE_INVALID (not an OID) or
 * CKR_CURVE_NOT_SUPPORTED. */
const char *cv_keypair_curve_name(const CK_ATTRIBUTE *a, CK_RV *rv);
/* A token certificate whose public key is a pending key: merge it. */
CK_RV cv_keypair_merge_certificate(cv_session *s, CK_ATTRIBUTE_PTR tmpl,
				   CK_ULONG n, CK_OBJECT_HANDLE_PTR out);

/* --- mechanism.c ------------------------------------------------------- */

typedef struct cv_mech_desc {
	CK_MECHANISM_TYPE type;
	CK_ULONG min_bits, max_bits;
	CK_FLAGS flags;                /* CKF_SIGN, CKF_DECRYPT ... */
	CK_KEY_TYPE key_type;          /* CKK_RSA, CKK_EC, or (CK_ULONG)-1 */
	const char *digest;            /* OpenSSL name for hash-then-* mechs */
} cv_mech_desc;

const cv_mech_desc *cv_mech_find(CK_MECHANISM_TYPE type);
CK_RV cv_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);
CK_RV cv_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

/* --- sign.c, crypt.c, digest.c ------------------------------------------ */

CK_RV cv_sign_init(cv_session *s, enum cv_op_kind kind, CK_MECHANISM_PTR m,
		   CK_OBJECT_HANDLE key);   /* kind: CV_OP_SIGN or CV_OP_VERIFY */
CK_RV cv_sign(cv_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
	      CK_ULONG_PTR sig_len);
CK_RV cv_sign_update(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR part,
		     CK_ULONG len);
CK_RV cv_sign_final(cv_session *s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len);
CK_RV cv_verify(cv_session *s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
		CK_ULONG sig_len);
CK_RV cv_verify_final(cv_session *s, CK_BYTE_PTR sig, CK_ULONG sig_len);

CK_RV cv_crypt_init(cv_session *s, enum cv_op_kind kind, CK_MECHANISM_PTR m,
		    CK_OBJECT_HANDLE key); /* CV_OP_ENCRYPT or CV_OP_DECRYPT */
CK_RV cv_crypt(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR in,
	       CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV cv_crypt_update(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR in,
		      CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);
CK_RV cv_crypt_final(cv_session *s, enum cv_op_kind kind, CK_BYTE_PTR out,
		     CK_ULONG_PTR out_len);

/* Shared by sign.c and crypt.c (defined in sign.c).  The digest of a
 * CKM_SHA* or CKG_MGF1_* value, fetched once; NULL for others. */
const EVP_MD *cv_hash_md(CK_MECHANISM_TYPE hash);
const EVP_MD *cv_mgf_md(CK_RSA_PKCS_MGF_TYPE mgf);
/* Feed a single-part mechanism in parts: at most max bytes in all, else
 * CKR_DATA_LEN_RANGE. */
CK_RV cv_crypto_op_append(cv_crypto_op *op, const unsigned char *part,
			  size_t len, size_t max);

CK_RV cv_digest_init(cv_session *s, CK_MECHANISM_PTR m);
CK_RV cv_digest(cv_session *s, CK_BYTE_PTR in, CK_ULONG len, CK_BYTE_PTR out,
		CK_ULONG_PTR out_len);
CK_RV cv_digest_update(cv_session *s, CK_BYTE_PTR in, CK_ULONG len);
CK_RV cv_digest_final(cv_session *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/* --- cache.c ----------------------------------------------------------- */

/* Key information by (slot, key number), kept while the vault's generation
 * is unchanged; bounded, so memory does not grow with the vault.  *out is a
 * copy the caller clears with cv_key_info_clear.  Errors as cv_key_get. */
cv_err cv_cache_key_info(cv_slot *s, uint64_t num, cv_key_info *out);
/* The private key of a key number, unsealed once per login and kept until
 * logout; a new reference.  Errors as cv_key_private. */
cv_err cv_cache_private_key(cv_slot *s, uint64_t num, EVP_PKEY **out);
/* Forget a slot's private keys (logout, finalize), or everything. */
void cv_cache_forget_private(cv_slot *s);
void cv_cache_clear(void);
/* Take and release every cache lock around fork() (module.c's handlers). */
void cv_cache_fork_lock(void);
void cv_cache_fork_unlock(void);

/* The certificates of a key's version (a CURRENT or OLDER key), parsed
 * once and kept (a version's certificates never change): x509[0] is the
 * leaf, then the chain, leaf's issuer first, at most CV_OBJ_CHAIN_MAX of
 * it.  Each is a new reference; cv_certs_clear drops them.  Errors as
 * cv_cert_get; CV_ERR_NOT_FOUND for a key with no version. */
typedef struct cv_certs {
	size_t n;                          /* leaf plus the chain shown */
	size_t chain_len;                  /* the stored chain's length */
	X509 *x509[1 + CV_OBJ_CHAIN_MAX];
} cv_certs;

cv_err cv_cache_certs(cv_slot *s, const cv_key_info *k, cv_certs *out);

/* The public key of k (its spki, as cv_cache_key_info gave it), decoded
 * once and kept while the slot's public entries are; an entry is handed
 * out only for the same SubjectPublicKeyInfo bytes, so it never outlives
 * the key it was decoded from.  *out is a new reference.  CV_ERR_NOT_FOUND
 * for a key without spki; CV_ERR_CORRUPT for spki that does not decode. */
cv_err cv_cache_public_key(cv_slot *s, const cv_key_info *k, EVP_PKEY **out);
void cv_certs_clear(cv_certs *c);

/* Signing contexts prepared once per (private key, mechanism without
 * parameters), kept beside the private keys and forgotten with them.
 * cv_cache_sign_ctx gives a copy (exactly one of *pctx, *md set), or
 * CV_ERR_NOT_FOUND when none is kept; cv_cache_keep_sign_ctx takes
 * ownership of a prepared, unused context (one of pctx, md). */
cv_err cv_cache_sign_ctx(cv_slot *s, EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
			 EVP_PKEY_CTX **pctx, EVP_MD_CTX **md);
void cv_cache_keep_sign_ctx(cv_slot *s, EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
			    EVP_PKEY_CTX *pctx, EVP_MD_CTX *md);

/* --- errors.c ---------------------------------------------------------- */

/* The one place a store error becomes a CKR_* value. */
CK_RV cv_ckr(cv_err err);

/* --- Helpers shared by the files above ----------------------------------- */

/* Copy a value into a caller's buffer by the PKCS#11 rules: with out NULL,
 * set *len and return CKR_OK; with *len too small, set *len and return
 * CKR_BUFFER_TOO_SMALL; else copy, set *len, CKR_OK. */
CK_RV cv_copy_out(const void *val, CK_ULONG val_len, CK_BYTE_PTR out,
		  CK_ULONG_PTR len);

/* A template attribute's CK_BBOOL or CK_ULONG value: 1 with *out set, or 0
 * when the value is missing or of the wrong size. */
int cv_attr_bool(const CK_ATTRIBUTE *a, int *out);
int cv_attr_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out);

/* Blank-padded fixed-width fields of the info structures. */
void cv_pad(unsigned char *field, size_t width, const char *text);

#endif
