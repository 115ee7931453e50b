/* certvault-pkcs11 objects: computed attributes, C_GetAttributeValue,
 * C_SetAttributeValue and C_GetObjectSize.
 *
 * Every attribute of every object is computed by one function, attr_get,
 * which C_GetAttributeValue, find (template matching, through obj_match),
 * C_SetAttributeValue (the "same value" case) and C_CreateObject (given
 * values of derived attributes must agree) all use, so the four cannot
 * drift apart.  Values come from the key's record and its version's
 * certificate (through cache.c) when asked for.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "internal.h"
#include "x509.h"

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
		if (k == NULL || (k->state != CV_KEY_CURRENT && k->state != CV_KEY_OLDER))
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
		/* Session key pairs keep their flags as stored attributes. */
		return av_bool(v, k != NULL ? key_may_crypt(k) : kt == CKK_RSA);
	case CKA_SIGN:
		return av_bool(v, k == NULL || key_may_sign(k));
	case CKA_SIGN_RECOVER:
	case CKA_UNWRAP:
	case CKA_WRAP_WITH_TRUSTED:
	case CKA_ALWAYS_AUTHENTICATE:
		return av_bool(v, 0);
	case CKA_EXTRACTABLE:
		return av_bool(v, k != NULL && k->exportable);
	case CKA_NEVER_EXTRACTABLE:
		return av_bool(v, k == NULL || (!k->exportable && !k->imported));
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
}

/* A data object (CKO_DATA): what it was given, empty where nothing was. */
static CK_RV
data_attr(CK_ATTRIBUTE_TYPE t, attrval *v)
{
	switch (t) {
	case CKA_APPLICATION:
	case CKA_OBJECT_ID:
	case CKA_VALUE:
		return av_empty(v);
	default:
		return CKR_ATTRIBUTE_TYPE_INVALID;
	}
}

/* The value of one attribute of o: CKR_OK with v set, or
 * CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, or a failure. */
CK_RV
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
		return av_bool(v, obj_destroyable(o));
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
	if (o->cls == CKO_DATA)
		return data_attr(t, v);
	return key_attr(o, t, v);
}

int
attr_flag(obj *o, CK_ATTRIBUTE_TYPE t)
{
	attrval v;
	int b = -1;

	if (attr_get(o, t, &v) == CKR_OK && v.len == sizeof(CK_BBOOL))
		b = *(const CK_BBOOL *)v.p != CK_FALSE;
	av_clear(&v);
	return b;
}

/* 1 when every attribute of the template has the same value in o.  An
 * attribute o lacks or keeps secret does not match. */
CK_RV
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

/* May C_SetAttributeValue give a's value to session object o, whose value
 * differs?  PKCS#11 3.0's attribute tables: labels change, and a key's id,
 * dates, subject and usage flags (a data object's values do not);
 * CKA_SENSITIVE only to TRUE, CKA_EXTRACTABLE and CKA_COPYABLE only to
 * FALSE; what makes the object (class, key, CKA_PRIVATE, CKA_TOKEN ...)
 * never.  A copy of a vault object takes a new label or id only: its
 * rights are the vault's. */
static CK_RV
may_change(obj *o, const CK_ATTRIBUTE *a)
{
	int key = o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY;
	int pub = o->cls == CKO_PUBLIC_KEY, b;

	if (a->type == CKA_LABEL || (a->type == CKA_ID && o->cls != CKO_DATA))
		return CKR_OK;
	if (o->key != NULL)
		return CKR_ATTRIBUTE_READ_ONLY;
	switch (a->type) {
	case CKA_SUBJECT:
		return key ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_START_DATE:
	case CKA_END_DATE:
		if (!key)
			return CKR_ATTRIBUTE_READ_ONLY;
		return a->ulValueLen == 0 || a->ulValueLen == sizeof(CK_DATE)
		       ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	default:
		break;
	}
	switch (a->type) {
	case CKA_VERIFY:
	case CKA_ENCRYPT:
	case CKA_SIGN:
	case CKA_DECRYPT:
	case CKA_SENSITIVE:
	case CKA_EXTRACTABLE:
	case CKA_COPYABLE:
		break;
	default:
		return CKR_ATTRIBUTE_READ_ONLY;
	}
	if (a->ulValueLen != sizeof(CK_BBOOL))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	b = *(const CK_BBOOL *)a->pValue != CK_FALSE;
	switch (a->type) {
	case CKA_COPYABLE:
		return !b ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_VERIFY:
		return pub ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_SIGN:
		return key && !pub ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	case CKA_ENCRYPT:
	case CKA_DECRYPT:
		if (!key || pub != (a->type == CKA_ENCRYPT))
			return CKR_ATTRIBUTE_READ_ONLY;
		return !b || obj_key_type(o) == CKK_RSA ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
	case CKA_SENSITIVE:
		if (!key || pub)
			return CKR_ATTRIBUTE_READ_ONLY;
		return b ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	default:                        /* CKA_EXTRACTABLE */
		if (!key || pub)
			return CKR_ATTRIBUTE_READ_ONLY;
		return !b ? CKR_OK : CKR_ATTRIBUTE_READ_ONLY;
	}
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

	/* C_SetAttributeValue checked the template (cv_object_template_check). */
	if (s == NULL || (tmpl == NULL && n > 0))
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
		/* Token objects have CKA_MODIFIABLE FALSE; a session object
		 * may have been made so. */
		if (o.token || attr_flag(&o, CKA_MODIFIABLE) == 0) {
			rv = CKR_ACTION_PROHIBITED;
			goto done;
		}
		if ((rv = may_change(&o, &tmpl[i])) != CKR_OK)
			goto done;
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
