/* certvault-pkcs11 objects: attribute values and stored attribute lists.
 *
 * The two small containers every other part of module/object/ passes
 * around: attrval, one computed attribute value (inline, on the heap, or
 * borrowed from an open object), and the CK_ATTRIBUTE arrays in which
 * session objects, their copies and find templates keep the values they
 * were given.  They sit apart because attribute.c, find.c, create.c and
 * sobj.c all build on them and none of those owns them.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"

/* --- Attribute values ----------------------------------------------------- */

void
av_clear(attrval *v)
{
	OPENSSL_free(v->heap);
	v->heap = NULL;
	v->p = NULL;
	v->len = 0;
}

CK_RV
av_bool(attrval *v, int b)
{
	v->u.b = b ? CK_TRUE : CK_FALSE;
	v->p = &v->u.b;
	v->len = sizeof(CK_BBOOL);
	return CKR_OK;
}

CK_RV
av_ulong(attrval *v, CK_ULONG x)
{
	v->u.ul = x;
	v->p = &v->u.ul;
	v->len = sizeof(CK_ULONG);
	return CKR_OK;
}

CK_RV
av_ref(attrval *v, const void *p, size_t len)
{
	v->p = len > 0 ? p : "";
	v->len = (CK_ULONG)len;
	return CKR_OK;
}

CK_RV
av_empty(attrval *v)
{
	return av_ref(v, "", 0);
}

/* Take a buffer from an i2d_* call or OPENSSL_malloc (len < 0: failed). */
CK_RV
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

CK_RV
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

void
attrs_free(CK_ATTRIBUTE *a, CK_ULONG n)
{
	CK_ULONG i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++)
		OPENSSL_free(a[i].pValue);
	free(a);
}

const CK_ATTRIBUTE *
attrs_find(const CK_ATTRIBUTE *a, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (a[i].type == type)
			return &a[i];
	return NULL;
}

/* Set type to a copy of value in *a, replacing an earlier value. */
CK_RV
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

CK_RV
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

/* --- Templates from the caller ---------------------------------------------- */

CK_RV
cv_object_template_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	if (tmpl == NULL && n > 0)
		return CKR_ARGUMENTS_BAD;
	for (i = 0; i < n; i++)
		if ((tmpl[i].pValue == NULL && tmpl[i].ulValueLen > 0) ||
		    tmpl[i].ulValueLen > (CK_ULONG)LONG_MAX)
			return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}
