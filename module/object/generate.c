/* certvault-pkcs11 objects: session key pairs.
 *
 * C_GenerateKeyPair with CKA_TOKEN FALSE in both templates makes a key pair
 * that lives in memory only, as two session objects (PKCS#11 3.0, 4.4):
 * the vault is not read for it and never written, the pair is seen by every
 * session of the application on its slot, and both halves go when the
 * session that made them closes, at C_CloseAllSessions and C_Finalize, and
 * (private ones) at C_Logout.  Public key pairs need no login, in read-only
 * sessions too; a private key is private unless the template says
 * otherwise, and then needs the user's login.  The private key is
 * CKA_SENSITIVE: its values never leave the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "internal.h"
#include "x509.h"

/* What one template asks of its object. */
struct half {
	CK_OBJECT_CLASS cls;
	int priv;                      /* CKA_PRIVATE; -1: not given */
	int use1, use2;                /* pub: VERIFY, ENCRYPT; priv: SIGN,
					  DECRYPT; -1: not given */
	int extractable;               /* private key; -1: not given */
	CK_ATTRIBUTE *keep;            /* stored as given (labels, ids ...) */
	CK_ULONG n_keep;
};

/* What both templates say of the key. */
struct pair_request {
	int rsa;
	CK_ULONG bits;                 /* 0: not given */
	const char *curve;             /* Key Vault's name; NULL: not given */
};

/* Read one template into h and r: the template errors of PKCS#11 3.0,
 * 4.1.1, each for what it names. */
static CK_RV
half_parse(struct half *h, struct pair_request *r, const CK_ATTRIBUTE *t,
	   CK_ULONG n)
{
	const CK_ATTRIBUTE *a;
	const unsigned char *e;
	const char *c;
	int pub = h->cls == CKO_PUBLIC_KEY, b;
	CK_ULONG i, ul;
	size_t j;
	CK_RV rv;

	for (i = 0; i < n; i++) {
		a = &t[i];
		switch (a->type) {
		case CKA_CLASS:
			if (!cv_attr_ulong(a, &ul))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (ul != h->cls)
				return CKR_TEMPLATE_INCONSISTENT;
			continue;
		case CKA_KEY_TYPE:
			if (!cv_attr_ulong(a, &ul))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (ul != (r->rsa ? CKK_RSA : CKK_EC))
				return CKR_TEMPLATE_INCONSISTENT;
			continue;
		case CKA_TOKEN:
			if (!cv_attr_bool(a, &b))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (b)
				return CKR_TEMPLATE_INCONSISTENT;
			continue;
		case CKA_PRIVATE:
			if (!cv_attr_bool(a, &h->priv))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_MODIFIABLE:
		case CKA_COPYABLE:
		case CKA_DESTROYABLE:
			if (!cv_attr_bool(a, &b))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_LABEL:
		case CKA_ID:
		case CKA_SUBJECT:
			break;
		case CKA_START_DATE:
		case CKA_END_DATE:
			if (a->ulValueLen != 0 && a->ulValueLen != sizeof(CK_DATE))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_VERIFY:
		case CKA_SIGN:
			if ((a->type == CKA_VERIFY) != pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			if (!cv_attr_bool(a, &h->use1))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_ENCRYPT:
		case CKA_DECRYPT:
			if ((a->type == CKA_ENCRYPT) != pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			if (!cv_attr_bool(a, &h->use2) || (h->use2 && !r->rsa))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_SENSITIVE:
			/* The module never reveals a private key's values. */
			if (pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			if (!cv_attr_bool(a, &b) || !b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_EXTRACTABLE:
			if (pub)
				return CKR_ATTRIBUTE_TYPE_INVALID;
			if (!cv_attr_bool(a, &h->extractable))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_DERIVE:
		case CKA_WRAP:
		case CKA_UNWRAP:
		case CKA_SIGN_RECOVER:
		case CKA_VERIFY_RECOVER:
		case CKA_TRUSTED:
		case CKA_WRAP_WITH_TRUSTED:
		case CKA_ALWAYS_AUTHENTICATE:
			/* What the module cannot do with a key. */
			if (!cv_attr_bool(a, &b) || b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_MODULUS_BITS:
			if (!r->rsa || !pub)
				return CKR_TEMPLATE_INCONSISTENT;
			if (!cv_attr_ulong(a, &ul) || ul == 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (r->bits != 0 && r->bits != ul)
				return CKR_TEMPLATE_INCONSISTENT;
			r->bits = ul;
			continue;
		case CKA_PUBLIC_EXPONENT:
			if (!r->rsa || !pub)
				return CKR_TEMPLATE_INCONSISTENT;
			/* 65537, the one exponent the vault's keys have. */
			e = a->pValue;
			for (j = 0; j < a->ulValueLen && e[j] == 0; j++)
				;
			if (a->ulValueLen - j != 3 || e[j] != 1 || e[j + 1] != 0 || e[j + 2] != 1)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			continue;
		case CKA_EC_PARAMS:
			if (r->rsa)
				return CKR_TEMPLATE_INCONSISTENT;
			if ((c = cv_keypair_curve_name(a, &rv)) == NULL)
				return rv;
			if (r->curve != NULL && strcmp(r->curve, c) != 0)
				return CKR_TEMPLATE_INCONSISTENT;
			r->curve = c;
			continue;
		case CKA_LOCAL:
		case CKA_KEY_GEN_MECHANISM:
		case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE:
		case CKA_PUBLIC_KEY_INFO:
		case CKA_MODULUS:
		case CKA_EC_POINT:
		case CKA_VALUE:
		case CKA_PRIVATE_EXPONENT:
		case CKA_PRIME_1:
		case CKA_PRIME_2:
		case CKA_EXPONENT_1:
		case CKA_EXPONENT_2:
		case CKA_COEFFICIENT:
			/* The generation decides these (4.1.1, rule 3). */
			return CKR_ATTRIBUTE_READ_ONLY;
		default:
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
		if ((rv = attrs_set(&h->keep, &h->n_keep, a->type, a->pValue,
				    a->ulValueLen)) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

/* The attributes the generation decides, and the usage flags with their
 * defaults: sign and verify; encrypt and decrypt for RSA. */
static CK_RV
half_finish(struct half *h, const struct pair_request *r, CK_MECHANISM_TYPE mech)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG gen = mech;
	int pub = h->cls == CKO_PUBLIC_KEY, ext;
	CK_RV rv;

	if (h->use1 == -1)
		h->use1 = 1;
	if (h->use2 == -1)
		h->use2 = r->rsa;
	if ((rv = attrs_set(&h->keep, &h->n_keep, pub ? CKA_VERIFY : CKA_SIGN,
			    h->use1 ? &yes : &no, 1)) != CKR_OK ||
	    (rv = attrs_set(&h->keep, &h->n_keep, pub ? CKA_ENCRYPT : CKA_DECRYPT,
			    h->use2 ? &yes : &no, 1)) != CKR_OK ||
	    (rv = attrs_set(&h->keep, &h->n_keep, CKA_LOCAL, &yes, 1)) != CKR_OK ||
	    (rv = attrs_set(&h->keep, &h->n_keep, CKA_KEY_GEN_MECHANISM, &gen,
			    sizeof(gen))) != CKR_OK)
		return rv;
	if (pub)
		return CKR_OK;
	ext = h->extractable == 1;
	if ((rv = attrs_set(&h->keep, &h->n_keep, CKA_EXTRACTABLE, ext ? &yes : &no,
			    1)) != CKR_OK ||
	    (rv = attrs_set(&h->keep, &h->n_keep, CKA_NEVER_EXTRACTABLE, ext ? &no : &yes,
			    1)) != CKR_OK)
		return rv;
	return CKR_OK;
}

CK_RV
cv_object_generate_pair(cv_session *s, CK_MECHANISM_PTR mech,
			CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG n_pub,
			CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
			CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv)
{
	struct half hp = { CKO_PUBLIC_KEY, -1, -1, -1, -1, NULL, 0 };
	struct half hk = { CKO_PRIVATE_KEY, -1, -1, -1, -1, NULL, 0 };
	struct pair_request r = { 0, 0, NULL };
	cv_policy want;
	sobj *sp = NULL, *sk = NULL;
	EVP_PKEY *fresh = NULL, *key = NULL;
	cv_err err;
	CK_RV rv;

	if (s == NULL || mech == NULL || pub == NULL || priv == NULL ||
	    (pub_tmpl == NULL && n_pub > 0) || (priv_tmpl == NULL && n_priv > 0))
		return CKR_ARGUMENTS_BAD;
	*pub = *priv = CK_INVALID_HANDLE;
	if (mech->mechanism != CKM_RSA_PKCS_KEY_PAIR_GEN &&
	    mech->mechanism != CKM_EC_KEY_PAIR_GEN)
		return CKR_MECHANISM_INVALID;
	if (mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	r.rsa = mech->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN;
	if ((rv = half_parse(&hp, &r, pub_tmpl, n_pub)) != CKR_OK ||
	    (rv = half_parse(&hk, &r, priv_tmpl, n_priv)) != CKR_OK)
		goto done;
	/* The spec makes the size and the curve required. */
	if ((r.rsa && r.bits == 0) || (!r.rsa && r.curve == NULL)) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto done;
	}
	if (hp.priv == -1)
		hp.priv = 0;
	if (hk.priv == -1)
		hk.priv = 1;
	if ((hp.priv || hk.priv) && !cv_session_logged_in(s)) {
		rv = CKR_USER_NOT_LOGGED_IN;
		goto done;
	}
	if ((rv = half_finish(&hp, &r, mech->mechanism)) != CKR_OK ||
	    (rv = half_finish(&hk, &r, mech->mechanism)) != CKR_OK)
		goto done;

	/* The key sizes and curves the store generates, decided there once. */
	memset(&want, 0, sizeof(want));
	want.kty = r.rsa ? CV_KEY_RSA : CV_KEY_EC;
	want.key_size = r.rsa ? (int)r.bits : 0;
	if (!r.rsa)
		snprintf(want.curve, sizeof(want.curve), "%s", r.curve);
	if ((err = cv_key_generate(&want, &fresh)) != CV_OK) {
		rv = err == CV_ERR_UNSUPPORTED ? (r.rsa ? CKR_KEY_SIZE_RANGE
							: CKR_CURVE_NOT_SUPPORTED)
		     : err == CV_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_FUNCTION_FAILED;
		goto done;
	}
	/* Kept as the vault's unsealed keys are: out of core dumps. */
	if ((err = cv_key_own_copy(fresh, &key)) != CV_OK) {
		rv = err == CV_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_FUNCTION_FAILED;
		goto done;
	}
	rv = CKR_HOST_MEMORY;
	if ((sp = calloc(1, sizeof(*sp))) == NULL || (sk = calloc(1, sizeof(*sk))) == NULL)
		goto done;
	/* Three references: the public key's, and the private key's as its
	 * public half and as the key that signs. */
	if (!EVP_PKEY_up_ref(key))
		goto done;
	sp->pub = key;
	if (!EVP_PKEY_up_ref(key))
		goto done;
	sk->pub = key;
	sk->pair = key;
	key = NULL;
	sp->cls = CKO_PUBLIC_KEY;
	sk->cls = CKO_PRIVATE_KEY;
	sp->slot = sk->slot = s->slot->id;
	sp->owner = sk->owner = s->handle;
	sp->key_type = sk->key_type = r.rsa ? CKK_RSA : CKK_EC;
	sp->priv = hp.priv;
	sk->priv = hk.priv;
	sp->attrs = hp.keep;
	sp->n_attrs = hp.n_keep;
	hp.keep = NULL;
	hp.n_keep = 0;
	sk->attrs = hk.keep;
	sk->n_attrs = hk.n_keep;
	hk.keep = NULL;
	hk.n_keep = 0;
	*pub = sobj_insert(sp);
	*priv = sobj_insert(sk);
	sp = sk = NULL;
	rv = CKR_OK;
done:
	ERR_clear_error();
	sobj_free(sp);
	sobj_free(sk);
	EVP_PKEY_free(fresh);
	EVP_PKEY_free(key);
	attrs_free(hp.keep, hp.n_keep);
	attrs_free(hk.keep, hk.n_keep);
	return rv;
}
