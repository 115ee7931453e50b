/* certvault-pkcs11 objects: keys for crypto operations.
 *
 * cv_object_key_for is what sign.c and crypt.c ask of a key handle: its
 * type, whether the operation is allowed (the same CKA_SIGN, CKA_DECRYPT ...
 * values C_GetAttributeValue shows, plus the version's enabled flag and
 * validity), and the EVP_PKEY.  It sits apart because it is the one place
 * the object code hands out key material rather than attributes.
 */
#include <time.h>
#include <openssl/evp.h>

#include "internal.h"

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
		if (!k->enabled || (k->state != CV_KEY_PENDING &&
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
	if (o.cls == CKO_PRIVATE_KEY && o.key == NULL) {
		/* A session key pair's: in memory, never in the vault. */
		if (o.pair == NULL || !EVP_PKEY_up_ref(o.pair)) {
			rv = CKR_KEY_HANDLE_INVALID;
			goto done;
		}
		*pkey = o.pair;
	} else if (o.cls == CKO_PRIVATE_KEY) {
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
