/* certvault-pkcs11: what the parts of module/object/ share.
 *
 * Token objects are not stored anywhere in the module: a handle names a
 * vault key by number and says which of its objects is meant (the current
 * certificate, the public key, the private key, or a chain certificate),
 * and every attribute is computed from the key's record and its version's
 * certificate when asked for.  Session objects (certificates and public
 * keys and data an application creates, session key pairs it generates,
 * and copies) live in one module-wide list.
 *
 * Every attribute of every object is computed by one function, attr_get,
 * which C_GetAttributeValue, find (template matching), C_SetAttributeValue
 * (the "same value" case) and C_CreateObject (given values of derived
 * attributes must agree) all use, so the four cannot drift apart.
 *
 * The parts, each named after its topic:
 *   value.c      attribute values (attrval) and stored attribute lists
 *   object.c     handles, keyctx and obj, opening an object by its handle
 *   sobj.c       the session-object table
 *   attribute.c  computed attributes; C_GetAttributeValue,
 *                C_SetAttributeValue, C_GetObjectSize
 *   find.c       C_FindObjects*
 *   create.c     C_CreateObject, C_CopyObject, C_DestroyObject
 *   generate.c   session key pairs (C_GenerateKeyPair, CKA_TOKEN FALSE)
 *   keyfor.c     keys for crypto operations (cv_object_key_for)
 * The cv_object_* functions of ../internal.h are the only way in from the
 * rest of the module; what is declared here is for these files alone.
 */
#ifndef CV_MODULE_OBJECT_INTERNAL_H
#define CV_MODULE_OBJECT_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../internal.h"

/* --- value.c ----------------------------------------------------------- */

/* One computed value: small ones inline, large ones on the heap or borrowed
 * from the object (valid while the object is open).  Never copied by
 * value: p may point into u. */
typedef struct attrval {
	const void *p;
	CK_ULONG len;
	union {
		CK_ULONG ul;
		CK_BBOOL b;
		CK_DATE d;
		unsigned char bytes[48];
	} u;
	unsigned char *heap;           /* OPENSSL_free'd */
} attrval;

void av_clear(attrval *v);
CK_RV av_bool(attrval *v, int b);
CK_RV av_ulong(attrval *v, CK_ULONG x);
/* Borrow p (valid while the object is open). */
CK_RV av_ref(attrval *v, const void *p, size_t len);
CK_RV av_empty(attrval *v);
/* Take a buffer from an i2d_* call or OPENSSL_malloc (len < 0: failed). */
CK_RV av_heap(attrval *v, unsigned char *p, long len);
/* Copy p, inline when it fits. */
CK_RV av_bytes(attrval *v, const void *p, size_t len);

/* Stored attribute lists: malloc'd arrays of OPENSSL_malloc'd values. */
void attrs_free(CK_ATTRIBUTE *a, CK_ULONG n);
const CK_ATTRIBUTE *attrs_find(const CK_ATTRIBUTE *a, CK_ULONG n,
			       CK_ATTRIBUTE_TYPE type);
/* Set type to a copy of value in *a, replacing an earlier value. */
CK_RV attrs_set(CK_ATTRIBUTE **a, CK_ULONG *n, CK_ATTRIBUTE_TYPE type,
		const void *value, CK_ULONG len);
CK_RV attrs_dup(const CK_ATTRIBUTE *a, CK_ULONG n, CK_ATTRIBUTE **out,
		CK_ULONG *n_out);

/* --- object.c ---------------------------------------------------------- */

/* A vault key with what its objects need, loaded lazily and shared by the
 * objects of one key during a find. */
typedef struct keyctx {
	cv_slot *slot;
	cv_key_info info;
	int certs_tried;
	CK_RV certs_rv;
	cv_certs certs;
	EVP_PKEY *pub;
} keyctx;

typedef struct obj {
	CK_OBJECT_HANDLE handle;
	CK_OBJECT_CLASS cls;
	int token;
	int priv;                      /* CKA_PRIVATE */
	enum cv_obj_kind kind;         /* vault objects and copies; 0: created */
	keyctx *key;                   /* vault objects and copies */
	keyctx keybuf;                 /* key's storage when this object owns it */
	CK_KEY_TYPE key_type;          /* created and generated keys */
	EVP_PKEY *pub;                 /* created and generated keys */
	EVP_PKEY *pair;                /* a session key pair's private key */
	X509 *cert;                    /* created certificates */
	CK_ATTRIBUTE *attrs;           /* stored values, before derived ones */
	CK_ULONG n_attrs;
} obj;

void keyctx_clear(keyctx *k);
/* Load the key's certificates once; the result of that load. */
CK_RV keyctx_certs(keyctx *k);
void obj_clear(obj *o);
/* The object's public key, borrowed; NULL when it has none. */
EVP_PKEY *obj_pub(obj *o);
/* The object's certificate, borrowed; NULL when it cannot be read. */
X509 *obj_x509(obj *o);
CK_KEY_TYPE obj_key_type(const obj *o);
/* Make o the object `kind` of the key in o->key: class and visibility.
 * CKR_OBJECT_HANDLE_INVALID when the key does not show such an object. */
CK_RV obj_set_kind(obj *o, unsigned kind, int see_private);
/* Whether C_DestroyObject takes a token object (CKA_DESTROYABLE): a
 * pending key pair (its operation goes), a certificate's own certificate,
 * public and private key (a soft delete of the certificate); not a chain
 * certificate (its issuer's) nor a retired key (no certificate's). */
int obj_destroyable(const obj *o);
/* Open the object a handle names, as the session may see it (private
 * objects only when logged in as user, unless see_private); obj_clear it
 * afterwards.  On failure o is cleared. */
CK_RV obj_open(cv_session *s, CK_OBJECT_HANDLE h, obj *o, int see_private);

/* --- sobj.c ------------------------------------------------------------ */

typedef struct sobj {
	struct sobj *next;
	CK_OBJECT_HANDLE handle;
	CK_SESSION_HANDLE owner;
	CK_SLOT_ID slot;
	CK_OBJECT_CLASS cls;
	int priv;
	uint64_t num;                  /* kind != 0: a copy of a vault object */
	enum cv_obj_kind kind;
	CK_KEY_TYPE key_type;
	EVP_PKEY *pub;
	EVP_PKEY *pair;                /* the private key of a session key
					  pair (CKO_PRIVATE_KEY): never in
					  the vault, freed with the entry */
	X509 *cert;
	CK_ATTRIBUTE *attrs;
	CK_ULONG n_attrs;
} sobj;

/* The table: sobj_list, newest first, guarded by sobj_lock. */
extern pthread_mutex_t sobj_lock;
extern sobj *sobj_list;

void sobj_free(sobj *so);
/* Give so a handle and put it in the list; the list owns it afterwards. */
CK_OBJECT_HANDLE sobj_insert(sobj *so);
/* The entry with handle h, or NULL; the caller holds sobj_lock. */
sobj *sobj_find_locked(CK_OBJECT_HANDLE h);

/* --- attribute.c ------------------------------------------------------- */

/* The value of one attribute of o: CKR_OK with v set, or
 * CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, or a failure. */
CK_RV attr_get(obj *o, CK_ATTRIBUTE_TYPE t, attrval *v);
/* The boolean value of attribute t of o: 1, 0, or -1 when o has none. */
int attr_flag(obj *o, CK_ATTRIBUTE_TYPE t);
/* 1 in *match when every attribute of the template has the same value in
 * o.  An attribute o lacks or keeps secret does not match. */
CK_RV obj_match(obj *o, const CK_ATTRIBUTE *t, CK_ULONG n, int *match);

#endif
