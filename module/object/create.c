/* certvault-pkcs11 objects: C_CreateObject, C_CopyObject, C_DestroyObject.
 *
 * Created objects are session certificates, public keys and data objects
 * built from a template (a token certificate is a merge, handed to
 * keypair.c); copies are session objects that keep naming the vault object
 * they copy; destroy drops a session object or a pending key pair, and of
 * a certificate's own objects is a soft delete of the certificate.  The
 * vault never gains objects here except through its own lifecycle.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "internal.h"

/* --- C_CreateObject, C_CopyObject, C_DestroyObject ------------------------ */

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
	case CKA_MODIFIABLE:
	case CKA_COPYABLE:
	case CKA_DESTROYABLE:
		return 1;
	case CKA_ID:
	case CKA_START_DATE:
	case CKA_END_DATE:
		return cls != CKO_DATA;
	case CKA_APPLICATION:
	case CKA_OBJECT_ID:
	case CKA_VALUE:
		return cls == CKO_DATA;
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
		if (!cv_attr_bool(a, &b)) {
			rv = CKR_ATTRIBUTE_VALUE_INVALID;
			goto done;
		}
		so->priv = b;
	}
	if (cls == CKO_DATA) {
		/* Made of what it is given: nothing to derive. */
	} else if (cls == CKO_CERTIFICATE) {
		if ((a = attrs_find(tmpl, n, CKA_CERTIFICATE_TYPE)) == NULL ||
		    (a = attrs_find(tmpl, n, CKA_VALUE)) == NULL) {
			rv = CKR_TEMPLATE_INCOMPLETE;
			goto done;
		}
		if (!cv_attr_ulong(attrs_find(tmpl, n, CKA_CERTIFICATE_TYPE), &ul) ||
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
		if (!cv_attr_ulong(a, &so->key_type) ||
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

		/* What the object is made of, and the flag kept apart. */
		if (t == CKA_PRIVATE || (t == CKA_VALUE && cls == CKO_CERTIFICATE) ||
		    t == CKA_MODULUS || t == CKA_PUBLIC_EXPONENT || t == CKA_EC_PARAMS ||
		    t == CKA_EC_POINT)
			continue;
		if (attr_storable(cls, t)) {
			if (((t == CKA_MODIFIABLE || t == CKA_COPYABLE || t == CKA_DESTROYABLE) &&
			     !cv_attr_bool(&tmpl[i], &b)) ||
			    (t == CKA_CERTIFICATE_CATEGORY &&
			     (!cv_attr_ulong(&tmpl[i], &ul) || ul > 3)) ||
			    ((t == CKA_START_DATE || t == CKA_END_DATE) &&
			     tmpl[i].ulValueLen != 0 && tmpl[i].ulValueLen != sizeof(CK_DATE)) ||
			    ((t == CKA_VERIFY || t == CKA_ENCRYPT) && !cv_attr_bool(&tmpl[i], &b)) ||
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
	/* Private session objects follow the login rules (PKCS#11 3.0, 5.6);
	 * public ones need no login, in read-only sessions too. */
	if (so->priv && !cv_session_logged_in(s)) {
		rv = CKR_USER_NOT_LOGGED_IN;
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
	/* C_CreateObject refused a value claimed but not given, or longer
	 * than a DER reader takes, before any attribute is read
	 * (cv_object_template_check). */
	if ((a = attrs_find(tmpl, n, CKA_CLASS)) == NULL)
		return CKR_TEMPLATE_INCOMPLETE;
	if (!cv_attr_ulong(a, &cls))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if ((a = attrs_find(tmpl, n, CKA_TOKEN)) != NULL && !cv_attr_bool(a, &token))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (token) {
		/* The only token object PKCS#11 can create here is a
		 * certificate for a key the vault holds: a merge.  Keys come
		 * into the vault with the certvault tool (import). */
		if (cls == CKO_CERTIFICATE)
			return cv_keypair_merge_certificate(s, tmpl, n, out);
		return CKR_TEMPLATE_INCONSISTENT;
	}
	if (cls != CKO_CERTIFICATE && cls != CKO_PUBLIC_KEY && cls != CKO_DATA)
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
	if (attr_flag(&o, CKA_COPYABLE) == 0) {
		rv = CKR_ACTION_PROHIBITED;
		goto done;
	}
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
	so->pair = o.pair;
	so->cert = o.cert;
	o.pub = NULL;
	o.pair = NULL;
	o.cert = NULL;
	if ((rv = attrs_dup(o.attrs, o.n_attrs, &so->attrs, &so->n_attrs)) != CKR_OK)
		goto done;
	for (i = 0; i < n; i++) {
		switch (tmpl[i].type) {
		case CKA_TOKEN:
			/* Copies are session objects: the vault gets new
			 * objects only through its own lifecycle, so CKA_TOKEN
			 * is read-only here (PKCS#11 3.0, 4.1.1 rule 3). */
			if (!cv_attr_bool(&tmpl[i], &b)) {
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
	int pending;
	CK_RV rv;

	if (s == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = obj_open(s, h, &o, cv_session_logged_in(s))) != CKR_OK)
		return rv;
	if (!o.token) {
		if (attr_flag(&o, CKA_DESTROYABLE) == 0) {
			rv = CKR_ACTION_PROHIBITED;
			goto done;
		}
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
	/* A pending key pair goes with its operation.  A certificate's own
	 * objects are a soft delete of the certificate, as `certificate
	 * delete`: recoverable with the tool until its scheduled purge date
	 * (obj_destroyable says which). */
	if (!obj_destroyable(&o)) {
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
	pending = o.key->info.state == CV_KEY_PENDING;
	memcpy(name, o.key->info.name, sizeof(name));
	rv = cv_ckr(pending ? cv_pending_delete(s->slot->vault, name)
			    : cv_cert_delete(s->slot->vault, name, NULL));
done:
	obj_clear(&o);
	return rv;
}
