/* certvault-pkcs11: objects.
 *
 * Token objects are not stored anywhere in the module: a handle names a
 * vault key by number and says which of its objects is meant (the current
 * certificate, the public key, the private key, or a chain certificate),
 * and every attribute is computed from the key's record and its version's
 * certificate when asked for.  Session objects (certificates and public
 * keys an application creates, and copies) live in one module-wide list.
 *
 * Every attribute of every object is computed by one function, attr_get,
 * which C_GetAttributeValue, find (template matching), C_SetAttributeValue
 * (the "same value" case) and C_CreateObject (given values of derived
 * attributes must agree) all use, so the four cannot drift apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "internal.h"
#include "x509.h"

CK_OBJECT_HANDLE
cv_object_handle(cv_slot *slot, uint64_t num, enum cv_obj_kind kind)
{
	CK_OBJECT_HANDLE h = (CK_OBJECT_HANDLE)(num << CV_OBJ_KIND_BITS | (uint64_t)kind);

	if (kind == CV_OBJ_PRIVATE)
		h |= ((CK_OBJECT_HANDLE)atomic_load(&slot->logouts) & CV_OBJ_EPOCH_MASK)
		     << CV_OBJ_EPOCH_SHIFT;
	return h;
}

void
cv_object_handles_lapse(cv_slot *slot)
{
	atomic_fetch_add(&slot->logouts, 1);
}

/* --- Attribute values ----------------------------------------------------- */

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

static void
av_clear(attrval *v)
{
	OPENSSL_free(v->heap);
	v->heap = NULL;
	v->p = NULL;
	v->len = 0;
}

static CK_RV
av_bool(attrval *v, int b)
{
	v->u.b = b ? CK_TRUE : CK_FALSE;
	v->p = &v->u.b;
	v->len = sizeof(CK_BBOOL);
	return CKR_OK;
}

static CK_RV
av_ulong(attrval *v, CK_ULONG x)
{
	v->u.ul = x;
	v->p = &v->u.ul;
	v->len = sizeof(CK_ULONG);
	return CKR_OK;
}

static CK_RV
av_ref(attrval *v, const void *p, size_t len)
{
	v->p = len > 0 ? p : "";
	v->len = (CK_ULONG)len;
	return CKR_OK;
}

static CK_RV
av_empty(attrval *v)
{
	return av_ref(v, "", 0);
}

/* Take a buffer from an i2d_* call or OPENSSL_malloc (len < 0: failed). */
static CK_RV
av_heap(attrval *v, unsigned char *p, long len)
{
	if (p == NULL || len < 0) {
		OPENSSL_free(p);
		return CKR_HOST_MEMORY;
	}
	v->heap = p;
	v->p = p;
	v->len = (CK_ULONG)len;
	return CKR_OK;
}

static CK_RV
av_bytes(attrval *v, const void *p, size_t len)
{
	if (len <= sizeof(v->u.bytes)) {
		memcpy(v->u.bytes, p, len);
		v->p = v->u.bytes;
		v->len = (CK_ULONG)len;
		return CKR_OK;
	}
	if ((v->heap = OPENSSL_malloc(len)) == NULL)
		return CKR_HOST_MEMORY;
	memcpy(v->heap, p, len);
	v->p = v->heap;
	v->len = (CK_ULONG)len;
	return CKR_OK;
}

/* --- Stored attribute lists (session objects) ------------------------------ */

static void
attrs_free(CK_ATTRIBUTE *a, CK_ULONG n)
{
	CK_ULONG i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		OPENSSL_free(a[i].pValue);
	free(a);
}

static const CK_ATTRIBUTE *
attrs_find(const CK_ATTRIBUTE *a, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (a[i].type == type)
			return &a[i];
	return NULL;
}

/* Set type to a copy of value in *a, replacing an earlier value. */
static CK_RV
attrs_set(CK_ATTRIBUTE **a, CK_ULONG *n, CK_ATTRIBUTE_TYPE type,
	  const void *value, CK_ULONG len)
{
	CK_ATTRIBUTE *na;
	void *copy;
	CK_ULONG i;

	if ((copy = OPENSSL_malloc(len > 0 ? len : 1)) == NULL)
		return CKR_HOST_MEMORY;
	if (len > 0)
		memcpy(copy, value, len);
	for (i = 0; i < *n; i++) {
		if ((*a)[i].type == type) {
			OPENSSL_free((*a)[i].pValue);
			(*a)[i].pValue = copy;
			(*a)[i].ulValueLen = len;
			return CKR_OK;
		}
	}
	if ((na = realloc(*a, (*n + 1) * sizeof(*na))) == NULL) {
		OPENSSL_free(copy);
		return CKR_HOST_MEMORY;
	}
	na[*n].type = type;
	na[*n].pValue = copy;
	na[*n].ulValueLen = len;
	*a = na;
	(*n)++;
	return CKR_OK;
}

static CK_RV
attrs_dup(const CK_ATTRIBUTE *a, CK_ULONG n, CK_ATTRIBUTE **out, CK_ULONG *n_out)
{
	CK_ULONG i;
	CK_RV rv;

	*out = NULL;
	*n_out = 0;
	for (i = 0; i < n; i++) {
		if ((rv = attrs_set(out, n_out, a[i].type, a[i].pValue,
				    a[i].ulValueLen)) != CKR_OK) {
			attrs_free(*out, *n_out);
			*out = NULL;
			*n_out = 0;
			return rv;
		}
	}
	return CKR_OK;
}

/* --- Objects as the attribute code sees them -------------------------------- */

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
	CK_KEY_TYPE key_type;          /* created public keys */
	EVP_PKEY *pub;                 /* created public keys */
	X509 *cert;                    /* created certificates */
	CK_ATTRIBUTE *attrs;           /* stored values, before derived ones */
	CK_ULONG n_attrs;
} obj;

static void
keyctx_clear(keyctx *k)
{
	cv_key_info_clear(&k->info);
	cv_certs_clear(&k->certs);
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}

static void
obj_clear(obj *o)
{
	if (o->key == &o->keybuf)
		keyctx_clear(&o->keybuf);
	EVP_PKEY_free(o->pub);
	X509_free(o->cert);
	attrs_free(o->attrs, o->n_attrs);
	memset(o, 0, sizeof(*o));
}

static CK_RV
keyctx_certs(keyctx *k)
{
	cv_err err;

	if (!k->certs_tried) {
		k->certs_tried = 1;
		err = cv_cache_certs(k->slot, &k->info, &k->certs);
		k->certs_rv = err == CV_OK ? CKR_OK
			    : err == CV_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_DEVICE_ERROR;
	}
	return k->certs_rv;
}

static EVP_PKEY *
keyctx_pub(keyctx *k)
{
	const unsigned char *p;

	if (k->pub == NULL && k->info.spki.len > 0) {
		p = k->info.spki.data;
		k->pub = d2i_PUBKEY(NULL, &p, (long)k->info.spki.len);
		ERR_clear_error();
	}
	return k->pub;
}

static EVP_PKEY *
obj_pub(obj *o)
{
	return o->key != NULL ? keyctx_pub(o->key) : o->pub;
}

static X509 *
obj_x509(obj *o)
{
	size_t i;

	if (o->key == NULL)
		return o->cert;
	if (keyctx_certs(o->key) != CKR_OK)
		return NULL;
	i = o->kind == CV_OBJ_CERT ? 0 : (size_t)o->kind - CV_OBJ_CHAIN0 + 1;
	return i < o->key->certs.n ? o->key->certs.x509[i] : NULL;
}

static CK_KEY_TYPE
obj_key_type(const obj *o)
{
	if (o->key != NULL)
		return o->key->info.kty == CV_KEY_RSA ? CKK_RSA : CKK_EC;
	return o->key_type;
}

/* Make o the object `kind` of the key in o->key: class and visibility.
 * CKR_OBJECT_HANDLE_INVALID when the key does not show such an object. */
static CK_RV
obj_set_kind(obj *o, unsigned kind, int see_private)
{
	const cv_key_info *k = &o->key->info;

	if (k->state != CV_KEY_CURRENT && k->state != CV_KEY_PENDING)
		return CKR_OBJECT_HANDLE_INVALID;
	switch (kind) {
	case CV_OBJ_CERT:
		if (k->state != CV_KEY_CURRENT)
			return CKR_OBJECT_HANDLE_INVALID;
		o->cls = CKO_CERTIFICATE;
		break;
	case CV_OBJ_PUBLIC:
		o->cls = CKO_PUBLIC_KEY;
		break;
	case CV_OBJ_PRIVATE:
		if (!see_private)
			return CKR_OBJECT_HANDLE_INVALID;
		o->cls = CKO_PRIVATE_KEY;
		o->priv = 1;
		break;
	default:
		if (kind < CV_OBJ_CHAIN0 || kind >= CV_OBJ_CHAIN0 + CV_OBJ_CHAIN_MAX ||
		    k->state != CV_KEY_CURRENT)
			return CKR_OBJECT_HANDLE_INVALID;
		if ((size_t)kind - CV_OBJ_CHAIN0 >= k->chain_len)
			return CKR_OBJECT_HANDLE_INVALID;
		o->cls = CKO_CERTIFICATE;
		break;
	}
	o->kind = (enum cv_obj_kind)kind;
	o->token = 1;
	o->handle = cv_object_handle(o->key->slot, k->num, (enum cv_obj_kind)kind);
	return CKR_OK;
}

/* --- Session objects ----------------------------------------------------- */

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
	X509 *cert;
	CK_ATTRIBUTE *attrs;
	CK_ULONG n_attrs;
} sobj;

static pthread_mutex_t sobj_lock = PTHREAD_MUTEX_INITIALIZER;
static sobj *sobj_list;
static uint64_t sobj_counter;

static void
sobj_free(sobj *so)
{
	if (so == NULL)
		return;
	EVP_PKEY_free(so->pub);
	X509_free(so->cert);
	attrs_free(so->attrs, so->n_attrs);
	free(so);
}

void
cv_object_fork_lock(void)
{
	pthread_mutex_lock(&sobj_lock);
}

void
cv_object_fork_unlock(void)
{
	pthread_mutex_unlock(&sobj_lock);
}

/* Give so a handle and put it in the list; the list owns it afterwards. */
static CK_OBJECT_HANDLE
sobj_insert(sobj *so)
{
	pthread_mutex_lock(&sobj_lock);
	so->handle = CV_SESSION_OBJECT | (CK_OBJECT_HANDLE)++sobj_counter;
	so->next = sobj_list;
	sobj_list = so;
	pthread_mutex_unlock(&sobj_lock);
	return so->handle;
}

static sobj *
sobj_find_locked(CK_OBJECT_HANDLE h)
{
	sobj *so;

	for (so = sobj_list; so != NULL; so = so->next)
		if (so->handle == h)
			return so;
	return NULL;
}

static CK_RV
session_obj_open(cv_session *s, CK_OBJECT_HANDLE h, obj *o, int see_private)
{
	sobj *so;
	uint64_t num = 0;
	unsigned kind = 0;
	cv_err err;
	CK_RV rv = CKR_OBJECT_HANDLE_INVALID;

	pthread_mutex_lock(&sobj_lock);
	so = sobj_find_locked(h);
	if (so != NULL && so->slot == s->slot->id) {
		o->handle = h;
		o->cls = so->cls;
		o->priv = so->priv;
		o->key_type = so->key_type;
		num = so->num;
		kind = so->kind;
		if (so->pub != NULL && EVP_PKEY_up_ref(so->pub))
			o->pub = so->pub;
		if (so->cert != NULL && X509_up_ref(so->cert))
			o->cert = so->cert;
		rv = attrs_dup(so->attrs, so->n_attrs, &o->attrs, &o->n_attrs);
		if (rv == CKR_OK && ((so->pub != NULL && o->pub == NULL) ||
				     (so->cert != NULL && o->cert == NULL)))
			rv = CKR_HOST_MEMORY;
	}
	pthread_mutex_unlock(&sobj_lock);
	if (rv != CKR_OK)
		return rv;
	if (o->priv && !see_private)
		return CKR_OBJECT_HANDLE_INVALID;
	if (kind != 0) {
		/* A copy lives as long as the vault object it copies. */
		o->keybuf.slot = s->slot;
		o->key = &o->keybuf;
		err = cv_cache_key_info(s->slot, num, &o->keybuf.info);
		if (err == CV_ERR_NOT_FOUND)
			return CKR_OBJECT_HANDLE_INVALID;
		if (err != CV_OK)
			return cv_ckr(err);
		if ((rv = obj_set_kind(o, kind, see_private)) != CKR_OK)
			return rv;
		o->handle = h;
	}
	o->token = 0;
	return CKR_OK;
}

static CK_RV
token_obj_open(cv_session *s, CK_OBJECT_HANDLE h, obj *o, int see_private)
{
	CK_OBJECT_HANDLE epoch = (h >> CV_OBJ_EPOCH_SHIFT) & CV_OBJ_EPOCH_MASK;
	uint64_t num = ((uint64_t)h & (((uint64_t)1 << CV_OBJ_EPOCH_SHIFT) - 1)) >>
		       CV_OBJ_KIND_BITS;
	unsigned kind = (unsigned)(h & ((1u << CV_OBJ_KIND_BITS) - 1));
	cv_err err;

	if (kind == 0 || s->slot->vault == NULL)
		return CKR_OBJECT_HANDLE_INVALID;
	/* Only private-key handles carry a logout count, and only the
	 * current one. */
	if (kind == CV_OBJ_PRIVATE
	    ? epoch != ((CK_OBJECT_HANDLE)atomic_load(&s->slot->logouts) & CV_OBJ_EPOCH_MASK)
	    : epoch != 0)
		return CKR_OBJECT_HANDLE_INVALID;
	o->keybuf.slot = s->slot;
	o->key = &o->keybuf;
	err = cv_cache_key_info(s->slot, num, &o->keybuf.info);
	if (err == CV_ERR_NOT_FOUND)
		return CKR_OBJECT_HANDLE_INVALID;
	if (err != CV_OK)
		return cv_ckr(err);
	return obj_set_kind(o, kind, see_private);
}

/* Open the object a handle names, as the session may see it (private
 * objects only when logged in as user, unless see_private). */
static CK_RV
obj_open(cv_session *s, CK_OBJECT_HANDLE h, obj *o, int see_private)
{
	CK_RV rv;

	memset(o, 0, sizeof(*o));
	if (s->slot == NULL || h == CK_INVALID_HANDLE)
		return CKR_OBJECT_HANDLE_INVALID;
	rv = (h & CV_SESSION_OBJECT) ? session_obj_open(s, h, o, see_private)
				     : token_obj_open(s, h, o, see_private);
	if (rv != CKR_OK)
		obj_clear(o);
	return rv;
}

/* --- Computed attributes ----------------------------------------------------- */

#define KU_SIGN (CV_KU_DIGITAL_SIGNATURE | CV_KU_NON_REPUDIATION | \
		 CV_KU_KEY_CERT_SIGN | CV_KU_CRL_SIGN)
#define KU_CRYPT (CV_KU_KEY_ENCIPHERMENT | CV_KU_DATA_ENCIPHERMENT)

static int
key_may_sign(const cv_key_info *k)
{
	return k->key_usage == 0 || (k->key_usage & KU_SIGN) != 0;
}

static int
key_may_crypt(const cv_key_info *k)
{
	return k->kty == CV_KEY_RSA && (k->key_usage == 0 || (k->key_usage & KU_CRYPT) != 0);
}

static CK_RV
av_bn(attrval *v, EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *buf;
	int len;

	if (pkey == NULL || !EVP_PKEY_get_bn_param(pkey, param, &bn)) {
		ERR_clear_error();
		return CKR_FUNCTION_FAILED;
	}
	len = BN_num_bytes(bn);
	if ((buf = OPENSSL_malloc(len > 0 ? (size_t)len : 1)) == NULL) {
		BN_free(bn);
		return CKR_HOST_MEMORY;
	}
	len = BN_bn2bin(bn, buf);
	BN_free(bn);
	return av_heap(v, buf, len);
}

/* The DER OID of an EC key's named curve. */
static CK_RV
av_ec_params(attrval *v, EVP_PKEY *pkey)
{
	char group[64];
	unsigned char *der = NULL;
	ASN1_OBJECT *oid;
	int nid, len;

	if (pkey == NULL ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL) ||
	    (nid = OBJ_txt2nid(group)) == NID_undef ||
	    (oid = OBJ_nid2obj(nid)) == NULL) {
		ERR_clear_error();
		return CKR_FUNCTION_FAILED;
	}
	len = i2d_ASN1_OBJECT(oid, &der);
	return av_heap(v, der, len);
}

/* The uncompressed point of an EC key, converting a compressed one. */
static CK_RV
ec_point_octets(EVP_PKEY *pkey, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL, *conv = NULL;
	char group[64];
	EC_GROUP *g = NULL;
	EC_POINT *pt = NULL;
	size_t len = 0, clen;
	CK_RV rv = CKR_FUNCTION_FAILED;

	*out = NULL;
	*out_len = 0;
	if (pkey == NULL ||
	    !EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, NULL, 0, &len) ||
	    len == 0)
		goto done;
	if ((buf = OPENSSL_malloc(len)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, len, &len))
		goto done;
	if (buf[0] != 0x04) {
		if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), NULL) ||
		    (g = EC_GROUP_new_by_curve_name(OBJ_txt2nid(group))) == NULL ||
		    (pt = EC_POINT_new(g)) == NULL ||
		    !EC_POINT_oct2point(g, pt, buf, len, NULL) ||
		    (clen = EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED,
					       NULL, 0, NULL)) == 0 ||
		    (conv = OPENSSL_malloc(clen)) == NULL ||
		    EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, conv,
				       clen, NULL) != clen)
			goto done;
		OPENSSL_free(buf);
		buf = conv;
		conv = NULL;
		len = clen;
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	rv = CKR_OK;
done:
	ERR_clear_error();
	OPENSSL_free(buf);
	OPENSSL_free(conv);
	EC_POINT_free(pt);
	EC_GROUP_free(g);
	return rv;
}

/* CKA_EC_POINT: the DER OCTET STRING around the uncompressed point, which
 * is what OpenSC, NSS and the spec expect. */
static CK_RV
av_ec_point(attrval *v, EVP_PKEY *pkey)
{
	unsigned char *pt = NULL, *der;
	size_t len, hdr, i;
	CK_RV rv;

	if ((rv = ec_point_octets(pkey, &pt, &len)) != CKR_OK)
		return rv;
	hdr = len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
	if ((der = OPENSSL_malloc(hdr + len)) == NULL) {
		OPENSSL_free(pt);
		return CKR_HOST_MEMORY;
	}
	der[0] = 0x04;
	if (hdr == 2) {
		der[1] = (unsigned char)len;
	} else {
		der[1] = (unsigned char)(0x80 | (hdr - 2));
		for (i = 0; i < hdr - 2; i++)
			der[2 + i] = (unsigned char)(len >> (8 * (hdr - 3 - i)));
	}
	memcpy(der + hdr, pt, len);
	OPENSSL_free(pt);
	return av_heap(v, der, (long)(hdr + len));
}

static CK_RV
av_date(attrval *v, const ASN1_TIME *t)
{
	struct tm tm;
	char buf[16];

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return CKR_FUNCTION_FAILED;
	snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
	memcpy(v->u.d.year, buf, 4);
	memcpy(v->u.d.month, buf + 4, 2);
	memcpy(v->u.d.day, buf + 6, 2);
	v->p = &v->u.d;
	v->len = sizeof(CK_DATE);
	return CKR_OK;
}

static CK_RV
av_spki(attrval *v, EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	int len;

	if (pkey == NULL)
		return CKR_FUNCTION_FAILED;
	len = i2d_PUBKEY(pkey, &der);
	return av_heap(v, der, len);
}

/* CKA_ALLOWED_MECHANISMS: the mechanisms of the table for this key type
 * that do what the key may do. */
static CK_RV
av_mechanisms(attrval *v, obj *o, CK_FLAGS want)
{
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG n = 0, i, kept = 0;
	CK_KEY_TYPE kt = obj_key_type(o);
	const cv_mech_desc *d;
	CK_RV rv;

	if ((rv = cv_mech_list(NULL, &n)) != CKR_OK)
		return rv;
	if ((list = OPENSSL_malloc((n > 0 ? n : 1) * sizeof(*list))) == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = cv_mech_list(list, &n)) != CKR_OK) {
		OPENSSL_free(list);
		return rv;
	}
	for (i = 0; i < n; i++) {
		d = cv_mech_find(list[i]);
		if (d != NULL && d->key_type == kt && (d->flags & want) != 0)
			list[kept++] = list[i];
	}
	return av_heap(v, (unsigned char *)list, (long)(kept * sizeof(*list)));
}

static CK_RV
cert_attr(obj *o, CK_ATTRIBUTE_TYPE t, attrval *v)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	uint8_t id[CV_KEY_ID_LEN];
	unsigned int mdlen = 0;
	X509 *x;
	int len;

	switch (t) {
	case CKA_CERTIFICATE_TYPE:
		return av_ulong(v, CKC_X_509);
	case CKA_TRUSTED:
		return av_bool(v, 0);
	case CKA_CERTIFICATE_CATEGORY:
		return av_ulong(v, o->key == NULL ? 0 : o->kind == CV_OBJ_CERT ? 1 : 2);
	case CKA_URL:
	case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
	case CKA_HASH_OF_ISSUER_PUBLIC_KEY:
		return av_empty(v);
	case CKA_NAME_HASH_ALGORITHM:
		return av_ulong(v, CKM_SHA_1);
	case CKA_JAVA_MIDP_SECURITY_DOMAIN:
		return av_ulong(v, 0);
	case CKA_ID:
		if (o->key == NULL)
			return av_empty(v);
		if (o->kind == CV_OBJ_CERT)
			return av_ref(v, o->key->info.key_id, sizeof(o->key->info.key_id));
		break;
	case CKA_CHECK_VALUE:
	case CKA_START_DATE:
	case CKA_END_DATE:
	case CKA_PUBLIC_KEY_INFO:
	case CKA_SUBJECT:
	case CKA_ISSUER:
	case CKA_SERIAL_NUMBER:
	case CKA_VALUE:
		break;
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}

	if ((x = obj_x509(o)) == NULL)
		return o->key != NULL && o->key->certs_rv != CKR_OK ? o->key->certs_rv
								     : CKR_FUNCTION_FAILED;
	switch (t) {
	case CKA_ID:
		/* A chain certificate's id follows the same rule as a key's, so
		 * it matches the CA's own key objects when the vault has them. */
		if (cv_key_id(X509_get0_pubkey(x), id) != CV_OK) {
			X509_pubkey_digest(x, EVP_sha1(), md, &mdlen);
			ERR_clear_error();
			return mdlen == CV_KEY_ID_LEN ? av_bytes(v, md, mdlen)
						      : CKR_FUNCTION_FAILED;
		}
		return av_bytes(v, id, sizeof(id));
	case CKA_CHECK_VALUE:
		if (!X509_digest(x, EVP_sha1(), md, &mdlen) || mdlen < 3)
			return CKR_FUNCTION_FAILED;
		return av_bytes(v, md, 3);
	case CKA_START_DATE:
		return av_date(v, X509_get0_notBefore(x));
	case CKA_END_DATE:
		return av_date(v, X509_get0_notAfter(x));
	case CKA_PUBLIC_KEY_INFO:
		len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
		return av_heap(v, der, len);
	case CKA_SUBJECT:
		len = i2d_X509_NAME(X509_get_subject_name(x), &der);
		return av_heap(v, der, len);
	case CKA_ISSUER:
		len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
		return av_heap(v, der, len);
	case CKA_SERIAL_NUMBER:
		len = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x), &der);
		return av_heap(v, der, len);
	default:
		len = i2d_X509(x, &der);
		return av_heap(v, der, len);
	}
}

static CK_RV
key_attr(obj *o, CK_ATTRIBUTE_TYPE t, attrval *v)
{
	const cv_key_info *k = o->key != NULL ? &o->key->info : NULL;
	CK_KEY_TYPE kt = obj_key_type(o);
	int pub = o->cls == CKO_PUBLIC_KEY;
	unsigned char *der = NULL;
	X509 *x;
	int len;

	switch (t) {
	case CKA_KEY_TYPE:
		return av_ulong(v, kt);
	case CKA_ID:
		return k != NULL ? av_ref(v, k->key_id, sizeof(k->key_id)) : av_empty(v);
	case CKA_START_DATE:
	case CKA_END_DATE:
		return av_empty(v);
	case CKA_DERIVE:
		return av_bool(v, 0);
	case CKA_LOCAL:
		return av_bool(v, k != NULL && !k->imported);
	case CKA_KEY_GEN_MECHANISM:
		if (k == NULL || k->imported)
			return av_ulong(v, CK_UNAVAILABLE_INFORMATION);
		return av_ulong(v, kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN
						 : CKM_EC_KEY_PAIR_GEN);
	case CKA_ALLOWED_MECHANISMS:
		if (k == NULL)
			return av_mechanisms(v, o, CKF_VERIFY | (kt == CKK_RSA ? CKF_ENCRYPT : 0));
		if (pub)
			return av_mechanisms(v, o, CKF_VERIFY | (key_may_crypt(k) ? CKF_ENCRYPT : 0));
		return av_mechanisms(v, o, (key_may_sign(k) ? CKF_SIGN : 0) |
					   (key_may_crypt(k) ? CKF_DECRYPT : 0));
	case CKA_SUBJECT:
		if (k == NULL || k->state != CV_KEY_CURRENT)
			return av_empty(v);
		if (keyctx_certs(o->key) != CKR_OK || o->key->certs.n == 0)
			return o->key->certs_rv != CKR_OK ? o->key->certs_rv
							  : CKR_FUNCTION_FAILED;
		x = o->key->certs.x509[0];
		len = i2d_X509_NAME(X509_get_subject_name(x), &der);
		return av_heap(v, der, len);
	case CKA_PUBLIC_KEY_INFO:
		if (k != NULL)
			return av_ref(v, k->spki.data, k->spki.len);
		return av_spki(v, obj_pub(o));
	default:
		break;
	}

	if (kt == CKK_RSA) {
		switch (t) {
		case CKA_MODULUS:
			return av_bn(v, obj_pub(o), OSSL_PKEY_PARAM_RSA_N);
		case CKA_PUBLIC_EXPONENT:
			return av_bn(v, obj_pub(o), OSSL_PKEY_PARAM_RSA_E);
		case CKA_MODULUS_BITS:
			if (!pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			if (obj_pub(o) == NULL)
				return CKR_FUNCTION_FAILED;
			return av_ulong(v, (CK_ULONG)EVP_PKEY_get_bits(obj_pub(o)));
		case CKA_PRIVATE_EXPONENT:
		case CKA_PRIME_1:
		case CKA_PRIME_2:
		case CKA_EXPONENT_1:
		case CKA_EXPONENT_2:
		case CKA_COEFFICIENT:
			return pub ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_ATTRIBUTE_SENSITIVE;
		default:
			break;
		}
	} else {
		switch (t) {
		case CKA_EC_PARAMS:
			return av_ec_params(v, obj_pub(o));
		case CKA_EC_POINT:
			if (!pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			return av_ec_point(v, obj_pub(o));
		case CKA_VALUE:
			return pub ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_ATTRIBUTE_SENSITIVE;
		default:
			break;
		}
	}

	if (pub) {
		switch (t) {
		case CKA_ENCRYPT:
			return av_bool(v, k != NULL ? key_may_crypt(k) : kt == CKK_RSA);
		case CKA_VERIFY:
			return av_bool(v, 1);
		case CKA_VERIFY_RECOVER:
		case CKA_WRAP:
		case CKA_TRUSTED:
			return av_bool(v, 0);
		default:
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}
	switch (t) {
	case CKA_SENSITIVE:
	case CKA_ALWAYS_SENSITIVE:
		return av_bool(v, 1);
	case CKA_DECRYPT:
		return av_bool(v, key_may_crypt(k));
	case CKA_SIGN:
		return av_bool(v, key_may_sign(k));
	case CKA_SIGN_RECOVER:
	case CKA_UNWRAP:
	case CKA_WRAP_WITH_TRUSTED:
	case CKA_ALWAYS_AUTHENTICATE:
		return av_bool(v, 0);
	case CKA_EXTRACTABLE:
		return av_bool(v, k->exportable);
	case CKA_NEVER_EXTRACTABLE:
		return av_bool(v, !k->exportable && !k->imported);
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
}

/* The value of one attribute of o: CKR_OK with v set, or
 * CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, or a failure. */
static CK_RV
attr_get(obj *o, CK_ATTRIBUTE_TYPE t, attrval *v)
{
	const CK_ATTRIBUTE *a;
	char label[CV_NAME_MAX + 8];
	int n;

	memset(v, 0, sizeof(*v));
	if ((a = attrs_find(o->attrs, o->n_attrs, t)) != NULL)
		return av_ref(v, a->pValue, a->ulValueLen);
	switch (t) {
	case CKA_CLASS:
		return av_ulong(v, o->cls);
	case CKA_TOKEN:
		return av_bool(v, o->token);
	case CKA_PRIVATE:
		return av_bool(v, o->priv);
	case CKA_MODIFIABLE:
		return av_bool(v, !o->token);
	case CKA_COPYABLE:
		return av_bool(v, 1);
	case CKA_DESTROYABLE:
		return av_bool(v, !o->token ||
				  (o->cls != CKO_CERTIFICATE &&
				   o->key->info.state == CV_KEY_PENDING));
	case CKA_LABEL:
		if (o->key == NULL)
			return av_empty(v);
		if (o->kind >= CV_OBJ_CHAIN0) {
			n = snprintf(label, sizeof(label), "%s/ca%u", o->key->info.name,
				     (unsigned)(o->kind - CV_OBJ_CHAIN0 + 1));
			return av_bytes(v, label, (size_t)n);
		}
		return av_ref(v, o->key->info.name, strlen(o->key->info.name));
#ifdef CKA_UNIQUE_ID
	case CKA_UNIQUE_ID:
		n = snprintf(label, sizeof(label), "%s%llu",
			     (o->handle & CV_SESSION_OBJECT) ? "s" : "",
			     (unsigned long long)(o->handle & ~CV_SESSION_OBJECT));
		return av_bytes(v, label, (size_t)n);
#endif
	default:
		break;
	}
	if (o->cls == CKO_CERTIFICATE)
		return cert_attr(o, t, v);
	return key_attr(o, t, v);
}

/* 1 when every attribute of the template has the same value in o.  An
 * attribute o lacks or keeps secret does not match. */
static CK_RV
obj_match(obj *o, const CK_ATTRIBUTE *t, CK_ULONG n, int *match)
{
	attrval v;
	CK_ULONG i;
	CK_RV rv;
	int eq;

	*match = 0;
	for (i = 0; i < n; i++) {
		rv = attr_get(o, t[i].type, &v);
		if (rv == CKR_HOST_MEMORY)
			return rv;
		if (rv != CKR_OK)
			return CKR_OK;
		eq = v.len == t[i].ulValueLen &&
		     (v.len == 0 || memcmp(v.p, t[i].pValue, v.len) == 0);
		av_clear(&v);
		if (!eq)
			return CKR_OK;
	}
	*match = 1;
	return CKR_OK;
}

/* --- C_GetAttributeValue, C_SetAttributeValue, C_GetObjectSize ------------ */

CK_RV
cv_object_get_attributes(cv_session *s, CK_OBJECT_HANDLE h,
			 CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	obj o;
	attrval v;
	CK_ULONG i;
	CK_RV rv, fail = CKR_OK;
	int sensitive = 0, invalid = 0, small = 0;

	if (s == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	/* Every attribute is processed, whatever happens to the others
	 * (PKCS#11 3.0, C_GetAttributeValue). */
	for (i = 0; i < n; i++) {
		rv = attr_get(&o, tmpl[i].type, &v);
		if (rv == CKR_OK) {
			if (tmpl[i].pValue == NULL) {
				tmpl[i].ulValueLen = v.len;
			} else if (tmpl[i].ulValueLen >= v.len) {
				if (v.len > 0)
					memcpy(tmpl[i].pValue, v.p, v.len);
				tmpl[i].ulValueLen = v.len;
			} else {
				tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
				small = 1;
			}
		} else {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			if (rv == CKR_ATTRIBUTE_SENSITIVE)
				sensitive = 1;
			else if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
				invalid = 1;
			else if (fail == CKR_OK)
				fail = rv;
		}
		av_clear(&v);
	}
	obj_clear(&o);
	/* The spec lets any of the applicable codes be returned; the most
	 * telling goes first. */
	return fail != CKR_OK ? fail
	       : sensitive ? CKR_ATTRIBUTE_SENSITIVE
	       : invalid ? CKR_ATTRIBUTE_TYPE_INVALID
	       : small ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

CK_RV
cv_object_set_attributes(cv_session *s, CK_OBJECT_HANDLE h,
			 CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	CK_ATTRIBUTE *changes = NULL;
	CK_ULONG n_changes = 0, i, j;
	attrval v;
	sobj *so;
	obj o;
	CK_RV rv;
	int same;

	if (s == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++)
		if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0)
			return CKR_ARGUMENTS_BAD;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	if (o.token && !cv_session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
		goto done;
	}
	/* Check everything before changing anything. */
	for (i = 0; i < n; i++) {
		rv = attr_get(&o, tmpl[i].type, &v);
		if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_HOST_MEMORY)
			goto done;
		same = rv == CKR_OK && v.len == tmpl[i].ulValueLen &&
		       (v.len == 0 || memcmp(v.p, tmpl[i].pValue, v.len) == 0);
		av_clear(&v);
		/* Setting a value to what it is already is no change (NSS sets
		 * CKA_ID after generating a key pair). */
		if (same)
			continue;
		if (o.token) {
			/* Token objects have CKA_MODIFIABLE FALSE. */
			rv = CKR_ACTION_PROHIBITED;
			goto done;
		}
		if (tmpl[i].type != CKA_LABEL && tmpl[i].type != CKA_ID) {
			rv = CKR_ATTRIBUTE_READ_ONLY;
			goto done;
		}
		if ((rv = attrs_set(&changes, &n_changes, tmpl[i].type,
				    tmpl[i].pValue, tmpl[i].ulValueLen)) != CKR_OK)
			goto done;
	}
	rv = CKR_OK;
	if (n_changes == 0)
		goto done;
	pthread_mutex_lock(&sobj_lock);
	so = sobj_find_locked(h);
	for (j = 0; so != NULL && j < n_changes && rv == CKR_OK; j++)
		rv = attrs_set(&so->attrs, &so->n_attrs, changes[j].type,
			       changes[j].pValue, changes[j].ulValueLen);
	pthread_mutex_unlock(&sobj_lock);
	if (so == NULL)
		rv = CKR_OBJECT_HANDLE_INVALID;
done:
	attrs_free(changes, n_changes);
	obj_clear(&o);
	return rv;
}

CK_RV
cv_object_size(cv_session *s, CK_OBJECT_HANDLE h, CK_ULONG_PTR size)
{
	attrval v;
	obj o;
	CK_RV rv;

	if (s == NULL || size == NULL)
		return CKR_ARGUMENTS_BAD;
	*size = CK_UNAVAILABLE_INFORMATION;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	/* The DER of a certificate, the SubjectPublicKeyInfo of a key: what
	 * the object would take to store. */
	rv = attr_get(&o, o.cls == CKO_CERTIFICATE ? CKA_VALUE : CKA_PUBLIC_KEY_INFO, &v);
	if (rv == CKR_OK)
		*size = v.len;
	av_clear(&v);
	obj_clear(&o);
	return rv == CKR_HOST_MEMORY ? rv : CKR_OK;
}

/* --- Find ---------------------------------------------------------------- */

void
cv_find_clear(cv_find *f)
{
	if (f == NULL)
		return;
	attrs_free(f->tmpl, f->tmpl_len);
	free(f->ready);
	memset(f, 0, sizeof(*f));
}

static CK_RV
ready_push(cv_find *f, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_HANDLE *r;
	CK_ULONG n = f->n_ready;

	/* The capacity is 16, then the next power of two above n_ready. */
	if (f->ready == NULL || (n >= 16 && (n & (n - 1)) == 0)) {
		if ((r = realloc(f->ready, (f->ready == NULL ? 16 : n * 2) *
					   sizeof(*r))) == NULL)
			return CKR_HOST_MEMORY;
		f->ready = r;
	}
	f->ready[f->n_ready++] = h;
	return CKR_OK;
}

/* The cheap attributes first, so most candidates fail before a
 * certificate is read. */
static int
attr_cost(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_CLASS:
	case CKA_TOKEN:
	case CKA_PRIVATE:
	case CKA_KEY_TYPE:
	case CKA_CERTIFICATE_TYPE:
	case CKA_CERTIFICATE_CATEGORY:
		return 0;
	case CKA_ID:
	case CKA_LABEL:
		return 1;
	default:
		return 2;
	}
}

/* Could the template match a chain certificate?  Saves reading the
 * certificate of every key when a find asks for keys only. */
static int
tmpl_may_match_chain(const cv_find *f)
{
	const CK_ATTRIBUTE *a;
	CK_ULONG v;

	if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_CLASS)) != NULL) {
		if (a->ulValueLen != sizeof(CK_ULONG))
			return 0;
		memcpy(&v, a->pValue, sizeof(v));
		if (v != CKO_CERTIFICATE)
			return 0;
	}
	if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_CERTIFICATE_CATEGORY)) != NULL) {
		if (a->ulValueLen != sizeof(CK_ULONG))
			return 0;
		memcpy(&v, a->pValue, sizeof(v));
		if (v != 2)
			return 0;
	}
	return 1;
}

/* Match the objects of one key (those in kinds, or all it shows when
 * kinds is 0) and queue the matches. */
static CK_RV
find_key_objects(cv_session *s, cv_find *f, keyctx *k, unsigned kinds_mask,
		 int logged_in)
{
	unsigned kind, last = CV_OBJ_PRIVATE;
	obj o;
	int match;
	CK_RV rv;

	/* The store counts the chain, so no certificate is parsed here. */
	if (k->info.state == CV_KEY_CURRENT && (kinds_mask & ~0xeu) != 0 &&
	    tmpl_may_match_chain(f) && k->info.chain_len > 0) {
		size_t n = k->info.chain_len < CV_OBJ_CHAIN_MAX ? k->info.chain_len
								 : CV_OBJ_CHAIN_MAX;

		last = CV_OBJ_CHAIN0 + (unsigned)n - 1;
	}
	(void)s;
	for (kind = CV_OBJ_CERT; kind <= last; kind++) {
		if (!(kinds_mask & (1u << kind)))
			continue;
		memset(&o, 0, sizeof(o));
		o.key = k;
		if (obj_set_kind(&o, kind, logged_in) != CKR_OK)
			continue;
		rv = obj_match(&o, f->tmpl, f->tmpl_len, &match);
		obj_clear(&o);         /* o does not own k */
		if (rv != CKR_OK)
			return rv;
		if (match && (rv = ready_push(f, cv_object_handle(k->slot, k->info.num,
								   (enum cv_obj_kind)kind))) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

static CK_RV
find_key_num(cv_session *s, cv_find *f, uint64_t num, unsigned kinds_mask,
	     int logged_in)
{
	keyctx k;
	cv_err err;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	k.slot = s->slot;
	err = cv_cache_key_info(s->slot, num, &k.info);
	if (err == CV_ERR_NOT_FOUND)
		return CKR_OK;
	if (err != CV_OK)
		return cv_ckr(err);
	rv = find_key_objects(s, f, &k, kinds_mask, logged_in);
	keyctx_clear(&k);
	return rv;
}

#define KINDS_KEY ((1u << CV_OBJ_CERT) | (1u << CV_OBJ_PUBLIC) | (1u << CV_OBJ_PRIVATE))
#define KINDS_ALL 0xfffeu

/* A label "<name>/ca<n>" names the n-th chain certificate of name. */
static int
parse_chain_label(const char *label, char name[CV_NAME_MAX + 1], unsigned *idx)
{
	const char *slash = strrchr(label, '/');
	size_t nlen;
	unsigned n = 0;
	const char *p;

	if (slash == NULL || strncmp(slash, "/ca", 3) != 0)
		return 0;
	nlen = (size_t)(slash - label);
	p = slash + 3;
	if (*p < '1' || *p > '9' || nlen == 0 || nlen > CV_NAME_MAX)
		return 0;
	for (; *p >= '0' && *p <= '9' && n < 100; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (*p != '\0' || n > CV_OBJ_CHAIN_MAX)
		return 0;
	memcpy(name, label, nlen);
	name[nlen] = '\0';
	*idx = n;
	return cv_name_valid(name);
}

/* The token side of a find by label: at most two keys. */
static CK_RV
find_by_label(cv_session *s, cv_find *f, const CK_ATTRIBUTE *a, int logged_in)
{
	char label[CV_NAME_MAX + 8], name[CV_NAME_MAX + 1];
	uint64_t nums[2];
	size_t n = 0, i;
	unsigned idx;
	cv_err err;
	CK_RV rv;

	if (a->ulValueLen == 0 || a->ulValueLen >= sizeof(label) ||
	    memchr(a->pValue, '\0', a->ulValueLen) != NULL)
		return CKR_OK;
	memcpy(label, a->pValue, a->ulValueLen);
	label[a->ulValueLen] = '\0';
	if (parse_chain_label(label, name, &idx)) {
		if ((err = cv_key_find_name(s->slot->vault, name, nums, &n)) != CV_OK)
			return cv_ckr(err);
		/* The current key comes first when there is one; find_key_num
		 * shows chain objects of current keys only. */
		return n > 0 ? find_key_num(s, f, nums[0],
					    1u << (CV_OBJ_CHAIN0 + idx - 1), logged_in)
			     : CKR_OK;
	}
	if (!cv_name_valid(label))
		return CKR_OK;
	if ((err = cv_key_find_name(s->slot->vault, label, nums, &n)) != CV_OK)
		return cv_ckr(err);
	for (i = 0; i < n; i++)
		if ((rv = find_key_num(s, f, nums[i], KINDS_KEY, logged_in)) != CKR_OK)
			return rv;
	return CKR_OK;
}

#define FIND_ID_MAX 64

static CK_RV
find_by_id(cv_session *s, cv_find *f, const CK_ATTRIBUTE *a, int logged_in)
{
	uint64_t nums[FIND_ID_MAX];
	size_t n = 0, i;
	cv_err err;
	CK_RV rv;

	if (a->ulValueLen != CV_KEY_ID_LEN)
		return CKR_OK;
	if ((err = cv_key_find_id(s->slot->vault, a->pValue, a->ulValueLen, nums,
				  FIND_ID_MAX, &n)) != CV_OK)
		return cv_ckr(err);
	for (i = 0; i < n; i++)
		if ((rv = find_key_num(s, f, nums[i], KINDS_KEY, logged_in)) != CKR_OK)
			return rv;
	return CKR_OK;
}

static CK_RV
find_session_objects(cv_session *s, cv_find *f, int logged_in)
{
	CK_OBJECT_HANDLE *hs = NULL;
	size_t n = 0, cap = 0, i;
	sobj *so;
	obj o;
	int match;
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&sobj_lock);
	for (so = sobj_list; so != NULL; so = so->next) {
		if (so->slot != s->slot->id)
			continue;
		if (n == cap) {
			CK_OBJECT_HANDLE *nh = realloc(hs, (cap ? cap * 2 : 16) * sizeof(*nh));

			if (nh == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			hs = nh;
			cap = cap ? cap * 2 : 16;
		}
		hs[n++] = so->handle;
	}
	pthread_mutex_unlock(&sobj_lock);
	/* The list is newest first; return the oldest first. */
	for (i = n; rv == CKR_OK && i > 0; i--) {
		if (obj_open(s, hs[i - 1], &o, logged_in) != CKR_OK)
			continue;
		rv = obj_match(&o, f->tmpl, f->tmpl_len, &match);
		obj_clear(&o);
		if (rv == CKR_OK && match)
			rv = ready_push(f, hs[i - 1]);
	}
	free(hs);
	return rv;
}

CK_RV
cv_object_find_init(cv_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	cv_find *f;
	const CK_ATTRIBUTE *a;
	CK_ULONG i;
	int cost, logged_in;
	CK_RV rv = CKR_OK;

	if (s == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++)
		if (tmpl[i].ulValueLen == CK_UNAVAILABLE_INFORMATION ||
		    (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0))
			return CKR_ARGUMENTS_BAD;
	f = &s->find;
	cv_find_clear(f);
	for (cost = 0; cost <= 2; cost++)
		for (i = 0; i < n && rv == CKR_OK; i++)
			if (attr_cost(tmpl[i].type) == cost)
				rv = attrs_set(&f->tmpl, &f->tmpl_len, tmpl[i].type,
					       tmpl[i].pValue, tmpl[i].ulValueLen);
	/* A type given twice must match both values; attrs_set kept one, so
	 * keep the template as given in that rare case. */
	if (rv == CKR_OK && f->tmpl_len != n) {
		attrs_free(f->tmpl, f->tmpl_len);
		f->tmpl = NULL;
		f->tmpl_len = 0;
		if ((f->tmpl = calloc(n, sizeof(*f->tmpl))) == NULL)
			rv = CKR_HOST_MEMORY;
		for (i = 0; i < n && rv == CKR_OK; i++) {
			f->tmpl[i].type = tmpl[i].type;
			f->tmpl[i].ulValueLen = tmpl[i].ulValueLen;
			if ((f->tmpl[i].pValue = OPENSSL_malloc(tmpl[i].ulValueLen + 1)) == NULL)
				rv = CKR_HOST_MEMORY;
			else if (tmpl[i].ulValueLen > 0)
				memcpy(f->tmpl[i].pValue, tmpl[i].pValue, tmpl[i].ulValueLen);
			f->tmpl_len = i + 1;
		}
	}
	if (rv != CKR_OK)
		goto done;

	logged_in = cv_session_logged_in(s);
	if ((rv = find_session_objects(s, f, logged_in)) != CKR_OK)
		goto done;
	if (s->slot->vault != NULL) {
		if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_ID)) != NULL)
			rv = find_by_id(s, f, a, logged_in);
		else if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_LABEL)) != NULL)
			rv = find_by_label(s, f, a, logged_in);
		else
			f->walking = 1;
	}
	f->next_num = 0;
done:
	if (rv != CKR_OK)
		cv_find_clear(f);
	return rv;
}

/* Walk on to the next live key and queue its matching objects. */
static CK_RV
find_walk_one(cv_session *s, cv_find *f)
{
	keyctx k;
	cv_err err;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	k.slot = s->slot;
	if (s->slot->vault == NULL) {
		f->walking = 0;
		return CKR_OK;
	}
	err = cv_key_next(s->slot->vault, f->next_num, &k.info);
	if (err == CV_ERR_NOT_FOUND) {
		f->walking = 0;
		return CKR_OK;
	}
	if (err != CV_OK)
		return cv_ckr(err);
	f->next_num = k.info.num;
	rv = find_key_objects(s, f, &k, KINDS_ALL, cv_session_logged_in(s));
	keyctx_clear(&k);
	return rv;
}

CK_RV
cv_object_find(cv_session *s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
	       CK_ULONG_PTR count)
{
	cv_find *f;
	CK_RV rv = CKR_OK;

	if (s == NULL || count == NULL || (out == NULL && max > 0))
		return CKR_ARGUMENTS_BAD;
	*count = 0;
	f = &s->find;
	while (*count < max) {
		if (f->pos_ready < f->n_ready) {
			out[(*count)++] = f->ready[f->pos_ready++];
			continue;
		}
		if (!f->walking)
			break;
		f->n_ready = f->pos_ready = 0;
		if ((rv = find_walk_one(s, f)) != CKR_OK)
			break;
	}
	/* Matches already handed out stay handed out; a failure of the walk
	 * is reported only when nothing could be returned. */
	return *count > 0 ? CKR_OK : rv;
}

CK_RV
cv_object_find_final(cv_session *s)
{
	if (s == NULL)
		return CKR_ARGUMENTS_BAD;
	cv_find_clear(&s->find);
	return CKR_OK;
}

/* --- C_CreateObject, C_CopyObject, C_DestroyObject ------------------------ */

static int
attr_bool(const CK_ATTRIBUTE *a, int *out)
{
	if (a->ulValueLen != sizeof(CK_BBOOL) || a->pValue == NULL)
		return 0;
	*out = *(const CK_BBOOL *)a->pValue != CK_FALSE;
	return 1;
}

static int
attr_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out)
{
	if (a->ulValueLen != sizeof(CK_ULONG) || a->pValue == NULL)
		return 0;
	memcpy(out, a->pValue, sizeof(*out));
	return 1;
}

/* A public key from CKA_MODULUS and CKA_PUBLIC_EXPONENT. */
static CK_RV
rsa_from_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, EVP_PKEY **out)
{
	const CK_ATTRIBUTE *mod = attrs_find(tmpl, n, CKA_MODULUS);
	const CK_ATTRIBUTE *exp = attrs_find(tmpl, n, CKA_PUBLIC_EXPONENT);
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	*out = NULL;
	if (mod == NULL || exp == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (mod->ulValueLen == 0 || exp->ulValueLen == 0 ||
	    mod->ulValueLen > 2048 || exp->ulValueLen > 64)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((bn_n = BN_bin2bn(mod->pValue, (int)mod->ulValueLen, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(exp->pValue, (int)exp->ulValueLen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if (BN_num_bits(bn_n) < 512 || !BN_is_odd(bn_e) || BN_is_one(bn_e) ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto done;
	rv = CKR_OK;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return rv;
}

/* A public key from CKA_EC_PARAMS (a named curve's OID) and CKA_EC_POINT
 * (the point in an OCTET STRING, or bare, as some callers send it). */
static CK_RV
ec_from_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, EVP_PKEY **out)
{
	const CK_ATTRIBUTE *par = attrs_find(tmpl, n, CKA_EC_PARAMS);
	const CK_ATTRIBUTE *pt = attrs_find(tmpl, n, CKA_EC_POINT);
	const unsigned char *p;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *os = NULL;
	const unsigned char *point;
	size_t point_len;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	const char *group;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	*out = NULL;
	if (par == NULL || pt == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	p = par->pValue;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)par->ulValueLen)) == NULL ||
	    p != (const unsigned char *)par->pValue + par->ulValueLen ||
	    (group = OBJ_nid2sn(OBJ_obj2nid(oid))) == NULL ||
	    OBJ_obj2nid(oid) == NID_undef) {
		rv = CKR_CURVE_NOT_SUPPORTED;
		goto done;
	}
	p = pt->pValue;
	os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)pt->ulValueLen);
	if (os != NULL && p == (const unsigned char *)pt->pValue + pt->ulValueLen) {
		point = ASN1_STRING_get0_data(os);
		point_len = (size_t)ASN1_STRING_length(os);
	} else {
		point = pt->pValue;
		point_len = pt->ulValueLen;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
						     (char *)group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						      (void *)point, point_len);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if (point_len == 0 || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto done;
	rv = CKR_OK;
done:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	return rv;
}

/* Attributes an application may give a created object, kept as given. */
static int
attr_storable(CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_LABEL:
	case CKA_ID:
	case CKA_START_DATE:
	case CKA_END_DATE:
		return 1;
	case CKA_CERTIFICATE_CATEGORY:
		return cls == CKO_CERTIFICATE;
	case CKA_SUBJECT:
	case CKA_VERIFY:
	case CKA_ENCRYPT:
		return cls == CKO_PUBLIC_KEY;
	default:
		return 0;
	}
}

static CK_RV
create_session_object(cv_session *s, CK_OBJECT_CLASS cls,
		      CK_ATTRIBUTE_PTR tmpl, CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
	const CK_ATTRIBUTE *a;
	const unsigned char *p;
	sobj *so = NULL;
	obj o;
	attrval v;
	CK_ULONG i, ul;
	CK_RV rv;
	int b;

	memset(&o, 0, sizeof(o));
	if ((so = calloc(1, sizeof(*so))) == NULL)
		return CKR_HOST_MEMORY;
	so->cls = cls;
	so->slot = s->slot->id;
	so->owner = s->handle;
	if ((a = attrs_find(tmpl, n, CKA_PRIVATE)) != NULL) {
		if (!attr_bool(a, &b)) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto done;
		}
		so->priv = b;
	}
	if (cls == CKO_CERTIFICATE) {
		if ((a = attrs_find(tmpl, n, CKA_CERTIFICATE_TYPE)) == NULL ||
		    (a = attrs_find(tmpl, n, CKA_VALUE)) == NULL) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto done;
		}
		if (!attr_ulong(attrs_find(tmpl, n, CKA_CERTIFICATE_TYPE), &ul) ||
		    ul != CKC_X_509) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto done;
		}
		p = a->pValue;
		so->cert = d2i_X509(NULL, &p, (long)a->ulValueLen);
		ERR_clear_error();
		if (so->cert == NULL || p != (const unsigned char *)a->pValue + a->ulValueLen) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto done;
		}
	} else {
		if ((a = attrs_find(tmpl, n, CKA_KEY_TYPE)) == NULL) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto done;
		}
		if (!attr_ulong(a, &so->key_type) ||
		    (so->key_type != CKK_RSA && so->key_type != CKK_EC)) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto done;
		}
		rv = so->key_type == CKK_RSA ? rsa_from_template(tmpl, n, &so->pub)
					     : ec_from_template(tmpl, n, &so->pub);
		if (rv != CKR_OK)
			goto done;
	}

	/* The object as derived, to check what the template says of it. */
	o.cls = so->cls;
	o.priv = so->priv;
	o.key_type = so->key_type;
	o.pub = so->pub;
	o.cert = so->cert;
	for (i = 0; i < n; i++) {
		CK_ATTRIBUTE_TYPE t = tmpl[i].type;

		if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0) {
			rv = CKR_ARGUMENTS_BAD;
			goto done;
		}
		/* What the object is made of, and the flag kept apart. */
		if (t == CKA_PRIVATE || t == CKA_VALUE || t == CKA_MODULUS ||
		    t == CKA_PUBLIC_EXPONENT || t == CKA_EC_PARAMS || t == CKA_EC_POINT)
			continue;
		if (attr_storable(cls, t)) {
			if ((t == CKA_CERTIFICATE_CATEGORY &&
			     (!attr_ulong(&tmpl[i], &ul) || ul > 3)) ||
			    ((t == CKA_START_DATE || t == CKA_END_DATE) &&
			     tmpl[i].ulValueLen != 0 && tmpl[i].ulValueLen != sizeof(CK_DATE)) ||
			    ((t == CKA_VERIFY || t == CKA_ENCRYPT) && !attr_bool(&tmpl[i], &b)) ||
			    (t == CKA_ENCRYPT && b && so->key_type != CKK_RSA)) {
				rv = CKR_ATTRIBUTE_VALUE_INVALID;
				goto done;
			}
			if ((rv = attrs_set(&so->attrs, &so->n_attrs, t, tmpl[i].pValue,
					    tmpl[i].ulValueLen)) != CKR_OK)
				goto done;
			continue;
		}
		/* Anything else is derived: a given value must agree. */
		rv = attr_get(&o, t, &v);
		if (rv == CKR_OK && (v.len != tmpl[i].ulValueLen ||
				     (v.len > 0 && memcmp(v.p, tmpl[i].pValue, v.len) != 0)))
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
		else if (rv == CKR_ATTRIBUTE_SENSITIVE)
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
		av_clear(&v);
		if (rv != CKR_OK)
			goto done;
	}
	*out = sobj_insert(so);
	so = NULL;
	rv = CKR_OK;
done:
	o.pub = NULL;
	o.cert = NULL;
	obj_clear(&o);
	sobj_free(so);
	return rv;
}

CK_RV
cv_object_create(cv_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n,
		 CK_OBJECT_HANDLE_PTR out)
{
	const CK_ATTRIBUTE *a;
	CK_OBJECT_CLASS cls;
	int token = 0;

	if (s == NULL || out == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	*out = CK_INVALID_HANDLE;
	if ((a = attrs_find(tmpl, n, CKA_CLASS)) == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!attr_ulong(a, &cls))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((a = attrs_find(tmpl, n, CKA_TOKEN)) != NULL && !attr_bool(a, &token))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (token) {
		/* The only token object PKCS#11 can create here is a
		 * certificate for a key the vault holds: a merge.  Keys come
		 * into the vault with the certvault tool (import). */
		if (cls == CKO_CERTIFICATE)
			return cv_keypair_merge_certificate(s, tmpl, n, out);
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (cls != CKO_CERTIFICATE && cls != CKO_PUBLIC_KEY)
		return CKR_ATTRIBUTE_VALUE_INVALID;
	return create_session_object(s, cls, tmpl, n, out);
}

CK_RV
cv_object_copy(cv_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR tmpl,
	       CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
	sobj *so = NULL;
	obj o;
	CK_ULONG i;
	CK_RV rv;
	int b;

	if (s == NULL || out == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	*out = CK_INVALID_HANDLE;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	if ((so = calloc(1, sizeof(*so))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	so->cls = o.cls;
	so->priv = o.priv;
	so->slot = s->slot->id;
	so->owner = s->handle;
	so->key_type = o.key_type;
	if (o.key != NULL) {
		so->num = o.key->info.num;
		so->kind = o.kind;
	}
	so->pub = o.pub;
	so->cert = o.cert;
	o.pub = NULL;
	o.cert = NULL;
	if ((rv = attrs_dup(o.attrs, o.n_attrs, &so->attrs, &so->n_attrs)) != CKR_OK)
		goto done;
	for (i = 0; i < n; i++) {
		if (tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0) {
			rv = CKR_ARGUMENTS_BAD;
			goto done;
		}
		switch (tmpl[i].type) {
		case CKA_TOKEN:
			/* Copies are session objects: the vault gets new
			 * objects only through its own lifecycle, so CKA_TOKEN
			 * is read-only here (PKCS#11 3.0, 4.1.1 rule 3). */
			if (!attr_bool(&tmpl[i], &b)) {
				rv = CKR_ATTRIBUTE_VALUE_INVALID;
				goto done;
			}
			if (b) {
				rv = CKR_ATTRIBUTE_READ_ONLY;
				goto done;
			}
			break;
		case CKA_LABEL:
		case CKA_ID:
			if ((rv = attrs_set(&so->attrs, &so->n_attrs, tmpl[i].type,
					    tmpl[i].pValue, tmpl[i].ulValueLen)) != CKR_OK)
				goto done;
			break;
		default:
			rv = CKR_ATTRIBUTE_READ_ONLY;
			goto done;
		}
	}
	*out = sobj_insert(so);
	so = NULL;
	rv = CKR_OK;
done:
	sobj_free(so);
	obj_clear(&o);
	return rv;
}

CK_RV
cv_object_destroy(cv_session *s, CK_OBJECT_HANDLE h)
{
	sobj **pp, *gone = NULL;
	char name[CV_NAME_MAX + 1];
	obj o;
	CK_RV rv;

	if (s == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	if (!o.token) {
		pthread_mutex_lock(&sobj_lock);
		for (pp = &sobj_list; *pp != NULL; pp = &(*pp)->next) {
			if ((*pp)->handle == h) {
				gone = *pp;
				*pp = gone->next;
				break;
			}
		}
		pthread_mutex_unlock(&sobj_lock);
		rv = gone != NULL ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
		sobj_free(gone);
		goto done;
	}
	/* A pending key pair goes with its operation; certificates and
	 * current keys wait for soft delete. */
	if (o.cls == CKO_CERTIFICATE || o.key->info.state != CV_KEY_PENDING) {
		rv = CKR_ACTION_PROHIBITED;
		goto done;
	}
	if (!cv_session_rw(s)) {
		rv = CKR_SESSION_READ_ONLY;
		goto done;
	}
	if (!cv_session_logged_in(s)) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	memcpy(name, o.key->info.name, sizeof(name));
	rv = cv_ckr(cv_pending_delete(s->slot->vault, name));
done:
	obj_clear(&o);
	return rv;
}

void
cv_object_session_closed(CK_SESSION_HANDLE h)
{
	sobj **pp, *gone, *list = NULL;

	pthread_mutex_lock(&sobj_lock);
	for (pp = &sobj_list; *pp != NULL;) {
		if ((*pp)->owner == h) {
			gone = *pp;
			*pp = gone->next;
			gone->next = list;
			list = gone;
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&sobj_lock);
	while (list != NULL) {
		gone = list;
		list = list->next;
		sobj_free(gone);
	}
}

void
cv_object_logout(CK_SLOT_ID slot)
{
	sobj **pp, *gone, *list = NULL;

	/* Spec, C_Logout: the application's private session objects are
	 * destroyed (copies of private keys are such objects). */
	pthread_mutex_lock(&sobj_lock);
	for (pp = &sobj_list; *pp != NULL;) {
		if ((*pp)->slot == slot && (*pp)->priv) {
			gone = *pp;
			*pp = gone->next;
			gone->next = list;
			list = gone;
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&sobj_lock);
	while (list != NULL) {
		gone = list;
		list = list->next;
		sobj_free(gone);
	}
}

void
cv_object_finalize(void)
{
	sobj *list, *gone;

	pthread_mutex_lock(&sobj_lock);
	list = sobj_list;
	sobj_list = NULL;
	pthread_mutex_unlock(&sobj_lock);
	while (list != NULL) {
		gone = list;
		list = list->next;
		sobj_free(gone);
	}
}

/* --- Keys for crypto operations ------------------------------------------- */

CK_RV
cv_object_key_for(cv_session *s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE want,
		  CK_KEY_TYPE *type, EVP_PKEY **pkey)
{
	const cv_key_info *k;
	int need_private, logged_in, allowed;
	time_t now;
	attrval v;
	obj o;
	cv_err err;
	CK_RV rv;

	if (s == NULL || type == NULL || pkey == NULL)
		return CKR_ARGUMENTS_BAD;
	*pkey = NULL;
	*type = CK_UNAVAILABLE_INFORMATION;
	logged_in = cv_session_logged_in(s);
	if ((rv = obj_open(s, h, &o, 1)) != CKR_OK)
		return rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
	if (o.cls != CKO_PUBLIC_KEY && o.cls != CKO_PRIVATE_KEY) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto done;
	}
	if (o.priv && !logged_in) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	need_private = want == CKA_SIGN || want == CKA_DECRYPT;
	if (need_private != (o.cls == CKO_PRIVATE_KEY)) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto done;
	}
	if (o.key != NULL && need_private) {
		/* A disabled or expired certificate does not sign or decrypt. */
		k = &o.key->info;
		now = time(NULL);
		if (!k->enabled || (k->state == CV_KEY_CURRENT &&
				    ((k->nbf != 0 && now < k->nbf) ||
				     (k->exp != 0 && now > k->exp)))) {
			rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
			goto done;
		}
	}
	rv = attr_get(&o, want, &v);
	allowed = rv == CKR_OK && v.len == sizeof(CK_BBOOL) &&
		  *(const CK_BBOOL *)v.p != CK_FALSE;
	av_clear(&v);
	if (rv == CKR_HOST_MEMORY)
		goto done;
	if (!allowed) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
		goto done;
	}
	*type = obj_key_type(&o);
	if (o.cls == CKO_PRIVATE_KEY) {
		if ((err = cv_cache_private_key(s->slot, o.key->info.num, pkey)) != CV_OK) {
			rv = err == CV_ERR_NOT_FOUND ? CKR_KEY_HANDLE_INVALID : cv_ckr(err);
			goto done;
		}
	} else {
		EVP_PKEY *pub = obj_pub(&o);

		if (pub == NULL || !EVP_PKEY_up_ref(pub)) {
			rv = CKR_FUNCTION_FAILED;
			goto done;
		}
		*pkey = pub;
	}
	rv = CKR_OK;
done:
	if (rv != CKR_OK)
		*type = CK_UNAVAILABLE_INFORMATION;
	obj_clear(&o);
	return rv;
}
