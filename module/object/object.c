/* certvault-pkcs11 objects: handles, and objects as the attribute code sees them.
 *
 * A token object is not stored in the module: its handle names a vault key
 * by number and the kind of object meant (see cv_object_handle), and
 * obj_open turns a handle, token or session, into an obj with the key's
 * information (keyctx) or the session object's values, loaded lazily.
 * Every other part of module/object/ works on an obj opened here, so the
 * rules of what a session may see (private objects, lapsed handles, older
 * versions' keys) live in this one file.
 */
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

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

/* --- Objects as the attribute code sees them -------------------------------- */

void
keyctx_clear(keyctx *k)
{
	cv_key_info_clear(&k->info);
	cv_certs_clear(&k->certs);
	EVP_PKEY_free(k->pub);
	memset(k, 0, sizeof(*k));
}

void
obj_clear(obj *o)
{
	if (o->key == &o->keybuf)
		keyctx_clear(&o->keybuf);
	EVP_PKEY_free(o->pub);
	EVP_PKEY_free(o->pair);
	X509_free(o->cert);
	attrs_free(o->attrs, o->n_attrs);
	memset(o, 0, sizeof(*o));
}

CK_RV
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
	if (k->pub == NULL && k->info.spki.len > 0)
		(void)cv_cache_public_key(k->slot, &k->info, &k->pub);
	return k->pub;
}

EVP_PKEY *
obj_pub(obj *o)
{
	return o->key != NULL ? keyctx_pub(o->key) : o->pub;
}

X509 *
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

CK_KEY_TYPE
obj_key_type(const obj *o)
{
	if (o->key != NULL)
		return o->key->info.kty == CV_KEY_RSA ? CKK_RSA : CKK_EC;
	return o->key_type;
}

/* Whether a key shows objects at all: the current and pending keys do;
 * an older version's key does while its version is enabled and valid, so
 * the handles an application already holds keep working through a new
 * version (finds never return it: find.c asks the store for current and
 * pending keys only); a cancelled operation's key never does. */
static int
key_shows(const cv_key_info *k)
{
	time_t now;

	if (k->state == CV_KEY_CURRENT || k->state == CV_KEY_PENDING)
		return 1;
	if (k->state != CV_KEY_OLDER || !k->enabled)
		return 0;
	now = time(NULL);
	return (k->nbf == 0 || now >= k->nbf) && (k->exp == 0 || now <= k->exp);
}

/* Make o the object `kind` of the key in o->key: class and visibility.
 * CKR_OBJECT_HANDLE_INVALID when the key does not show such an object. */
CK_RV
obj_set_kind(obj *o, unsigned kind, int see_private)
{
	const cv_key_info *k = &o->key->info;
	int has_version = k->state == CV_KEY_CURRENT || k->state == CV_KEY_OLDER;

	if (!key_shows(k))
		return CKR_OBJECT_HANDLE_INVALID;
	switch (kind) {
	case CV_OBJ_CERT:
		if (!has_version)
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
		    !has_version)
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

/* --- Opening an object by its handle ------------------------------------ */

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
		if (so->pair != NULL && EVP_PKEY_up_ref(so->pair))
			o->pair = so->pair;
		if (so->cert != NULL && X509_up_ref(so->cert))
			o->cert = so->cert;
		rv = attrs_dup(so->attrs, so->n_attrs, &o->attrs, &o->n_attrs);
		if (rv == CKR_OK && ((so->pub != NULL && o->pub == NULL) ||
				     (so->pair != NULL && o->pair == NULL) ||
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
CK_RV
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

int
obj_destroyable(const obj *o)
{
	if (!o->token)
		return 1;
	if (o->key->info.state == CV_KEY_PENDING)
		return o->cls != CKO_CERTIFICATE;
	return o->kind >= CV_OBJ_CERT && o->kind <= CV_OBJ_PRIVATE &&
	       o->key->info.state != CV_KEY_RETIRED;
}
