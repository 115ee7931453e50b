/* certvault-pkcs11: C_GenerateKeyPair and the merge of a certificate.
 *
 * A token key pair (CKA_TOKEN TRUE) generated through PKCS#11 is a
 * certificate in the making, as in Key Vault: the vault creates a certificate with issuer "Unknown", whose
 * operation holds a CSR and whose key shows as a PENDING key pair.  A client
 * may sign its own CSR with it; C_CreateObject of the certificate a CA
 * issued for that key is the merge that puts the certificate in service.
 * A session key pair (CKA_TOKEN FALSE, the spec's default) is no part of
 * the vault: object/generate.c makes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "internal.h"
#include "x509.h"

/* What the two templates ask for, gathered. */
struct gen_request {
	int rsa;                       /* else EC */
	CK_ULONG bits;                 /* RSA; 0: not given */
	const char *curve;             /* EC: Key Vault's curve name */
	char name[CV_NAME_MAX + 1];    /* "" until a label is seen */
	int exportable;                /* -1: not given */
	int sign;                      /* -1: not given */
	int crypt;                     /* -1: not given (CKA_DECRYPT/ENCRYPT) */
	unsigned char *subject;        /* CKA_SUBJECT DER, OPENSSL_malloc'd */
	size_t subject_len;
};

/* Set *flag from a boolean attribute; a value that contradicts an earlier
 * one (the other template) is CKR_TEMPLATE_INCONSISTENT. */
static CK_RV
merge_flag(const CK_ATTRIBUTE *a, int *flag)
{
	int b;

	if (!cv_attr_bool(a, &b))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	if (*flag != -1 && *flag != b)
		return CKR_TEMPLATE_INCONSISTENT;
	*flag = b;
	return CKR_OK;
}

/* Key Vault's name of the curve an EC_PARAMS OID names, or NULL. */
const char *
cv_keypair_curve_name(const CK_ATTRIBUTE *a, CK_RV *rv)
{
	const unsigned char *p = a->pValue;
	ASN1_OBJECT *oid;
	int nid;

	*rv = CKR_OK;
	if (p == NULL || a->ulValueLen == 0 ||
	    (oid = d2i_ASN1_OBJECT(NULL, &p, (long)a->ulValueLen)) == NULL) {
		ERR_clear_error();
		*rv = CKR_ATTRIBUTE_VALUE_INVALID;
		return NULL;
	}
	nid = p == (const unsigned char *)a->pValue + a->ulValueLen ? OBJ_obj2nid(oid)
								    : NID_undef;
	ASN1_OBJECT_free(oid);
	switch (nid) {
	case NID_X9_62_prime256v1:
		return "P-256";
	case NID_secp384r1:
		return "P-384";
	case NID_secp521r1:
		return "P-521";
	case NID_secp256k1:
		return "P-256K";
	default:
		*rv = CKR_CURVE_NOT_SUPPORTED;
		return NULL;
	}
}

/* CKA_TOKEN of a template: 0 when absent (the spec's default). */
static CK_RV
template_on_token(const CK_ATTRIBUTE *tmpl, CK_ULONG n, int *on_token)
{
	CK_ULONG i;

	*on_token = 0;
	for (i = 0; i < n; i++)
		if (tmpl[i].type == CKA_TOKEN && !cv_attr_bool(&tmpl[i], on_token))
			return CKR_ATTRIBUTE_VALUE_INVALID;
	return CKR_OK;
}

static CK_RV
gen_parse(struct gen_request *g, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
	  CK_OBJECT_CLASS cls)
{
	const CK_ATTRIBUTE *a;
	const unsigned char *e;
	CK_ULONG i, ul;
	size_t j;
	CK_RV rv;
	int b;

	for (i = 0; i < n; i++) {
		a = &tmpl[i];
		switch (a->type) {
		case CKA_CLASS:
			if (!cv_attr_ulong(a, &ul))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (ul != cls)
				return CKR_TEMPLATE_INCONSISTENT;
			break;
		case CKA_KEY_TYPE:
			if (!cv_attr_ulong(a, &ul))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (ul != (g->rsa ? CKK_RSA : CKK_EC))
				return CKR_TEMPLATE_INCONSISTENT;
			break;
		case CKA_TOKEN:
			/* Key pairs are pending certificates, which live in
			 * the vault: there are no session key pairs. */
			if (!cv_attr_bool(a, &b) || !b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_PRIVATE:
			if (!cv_attr_bool(a, &b) || b != (cls == CKO_PRIVATE_KEY))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_LABEL:
			if (a->ulValueLen == 0 || a->ulValueLen > CV_NAME_MAX)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			{
				char label[CV_NAME_MAX + 1];

				memcpy(label, a->pValue, a->ulValueLen);
				label[a->ulValueLen] = '\0';
				if (!cv_name_valid(label))
					return CKR_ATTRIBUTE_VALUE_INVALID;
				if (g->name[0] != '\0' && strcmp(g->name, label) != 0)
					return CKR_TEMPLATE_INCONSISTENT;
				memcpy(g->name, label, sizeof(label));
			}
			break;
		case CKA_ID:
		case CKA_ALLOWED_MECHANISMS:
		case CKA_LOCAL:
		case CKA_KEY_GEN_MECHANISM:
		case CKA_ALWAYS_SENSITIVE:
		case CKA_NEVER_EXTRACTABLE:
		case CKA_PUBLIC_KEY_INFO:
		case CKA_MODULUS:
		case CKA_EC_POINT:
			/* The vault derives these (CKA_ID is the SHA-1 of the
			 * public key, unknown until the key exists): read-only
			 * here (PKCS#11 3.0 section 4.1.1, rule 3). */
			return CKR_ATTRIBUTE_READ_ONLY;
		case CKA_MODULUS_BITS:
			if (!g->rsa)
				return CKR_TEMPLATE_INCONSISTENT;
			if (!cv_attr_ulong(a, &ul))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (ul != 2048 && ul != 3072 && ul != 4096)
				return CKR_KEY_SIZE_RANGE;
			if (g->bits != 0 && g->bits != ul)
				return CKR_TEMPLATE_INCONSISTENT;
			g->bits = ul;
			break;
		case CKA_PUBLIC_EXPONENT:
			if (!g->rsa)
				return CKR_TEMPLATE_INCONSISTENT;
			e = a->pValue;
			for (j = 0; j < a->ulValueLen && e[j] == 0; j++)
				;
			if (a->ulValueLen - j != 3 || e[j] != 1 || e[j + 1] != 0 || e[j + 2] != 1)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_EC_PARAMS:
			if (g->rsa)
				return CKR_TEMPLATE_INCONSISTENT;
			{
				const char *c = cv_keypair_curve_name(a, &rv);

				if (c == NULL)
					return rv;
				if (g->curve != NULL && strcmp(g->curve, c) != 0)
					return CKR_TEMPLATE_INCONSISTENT;
				g->curve = c;
			}
			break;
		case CKA_EXTRACTABLE:
			if ((rv = merge_flag(a, &g->exportable)) != CKR_OK)
				return rv;
			break;
		case CKA_SENSITIVE:
			if (!cv_attr_bool(a, &b) || !b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_SIGN:
			if ((rv = merge_flag(a, &g->sign)) != CKR_OK)
				return rv;
			break;
		case CKA_VERIFY:
			/* A public key always verifies what its private key
			 * signs. */
			if (!cv_attr_bool(a, &b) || !b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_DECRYPT:
		case CKA_ENCRYPT:
			if (!cv_attr_bool(a, &b))
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if (b && !g->rsa)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			if ((rv = merge_flag(a, &g->crypt)) != CKR_OK)
				return rv;
			break;
		case CKA_DERIVE:
		case CKA_WRAP:
		case CKA_UNWRAP:
		case CKA_SIGN_RECOVER:
		case CKA_VERIFY_RECOVER:
		case CKA_TRUSTED:
		case CKA_WRAP_WITH_TRUSTED:
		case CKA_ALWAYS_AUTHENTICATE:
		case CKA_MODIFIABLE:
			if (!cv_attr_bool(a, &b) || b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_COPYABLE:
		case CKA_DESTROYABLE:
			if (!cv_attr_bool(a, &b) || !b)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_START_DATE:
		case CKA_END_DATE:
			if (a->ulValueLen != 0)
				return CKR_ATTRIBUTE_VALUE_INVALID;
			break;
		case CKA_SUBJECT:
			if (a->ulValueLen == 0)
				break;
			if (g->subject != NULL &&
			    (g->subject_len != a->ulValueLen ||
			     memcmp(g->subject, a->pValue, a->ulValueLen) != 0))
				return CKR_TEMPLATE_INCONSISTENT;
			if (g->subject == NULL) {
				if ((g->subject = OPENSSL_malloc(a->ulValueLen)) == NULL)
					return CKR_HOST_MEMORY;
				memcpy(g->subject, a->pValue, a->ulValueLen);
				g->subject_len = a->ulValueLen;
			}
			break;
		default:
			return CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}
	return CKR_OK;
}

/* The subject a CKA_SUBJECT names, in the form policies take.  It must
 * read back as the same name, or the CSR would not carry what was asked. */
static CK_RV
subject_text(const struct gen_request *g, char **out)
{
	const unsigned char *p = g->subject;
	X509_NAME *name = NULL, *back = NULL;
	char *text = NULL;
	CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;

	*out = NULL;
	if ((name = d2i_X509_NAME(NULL, &p, (long)g->subject_len)) == NULL ||
	    p != g->subject + g->subject_len || X509_NAME_entry_count(name) == 0)
		goto done;
	if ((text = cv_x500_format(name)) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	if (cv_x500_parse(text, &back) != CV_OK || !cv_x500_equal(name, back))
		goto done;
	*out = text;
	text = NULL;
	rv = CKR_OK;
done:
	ERR_clear_error();
	free(text);
	X509_NAME_free(name);
	X509_NAME_free(back);
	return rv;
}

/* Append s to a JSON document as a string. */
static int
json_string(char *buf, size_t size, size_t *pos, const char *s)
{
	int n;

	if (*pos >= size)
		return 0;
	buf[(*pos)++] = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			n = snprintf(buf + *pos, size - *pos, "\\%c", c);
		else if (c < 0x20)
			n = snprintf(buf + *pos, size - *pos, "\\u%04x", c);
		else
			n = snprintf(buf + *pos, size - *pos, "%c", c);
		if (n < 0 || (size_t)n >= size - *pos)
			return 0;
		*pos += (size_t)n;
	}
	if (*pos + 1 >= size)
		return 0;
	buf[(*pos)++] = '"';
	buf[*pos] = '\0';
	return 1;
}

/* The policy of a new certificate: issuer Unknown (a CSR), Key Vault's
 * defaults for the rest, which cv_policy_parse applies. */
static CK_RV
new_policy(const struct gen_request *g, const char *subject, cv_policy **out)
{
	char json[1024], usage[96];
	size_t pos;
	int n;
	cv_err err;

	snprintf(usage, sizeof(usage), "%s%s%s",
		 g->sign ? "\"digitalSignature\"" : "",
		 g->sign && g->crypt ? "," : "",
		 g->crypt ? "\"keyEncipherment\"" : "");
	if (g->rsa)
		n = snprintf(json, sizeof(json),
			     "{\"key_props\":{\"kty\":\"RSA\",\"key_size\":%lu,",
			     (unsigned long)g->bits);
	else
		n = snprintf(json, sizeof(json),
			     "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"%s\",", g->curve);
	if (n < 0 || (size_t)n >= sizeof(json))
		return CKR_GENERAL_ERROR;
	pos = (size_t)n;
	n = snprintf(json + pos, sizeof(json) - pos,
		     "\"exportable\":%s,\"reuse_key\":false},"
		     "\"x509_props\":{\"key_usage\":[%s],\"subject\":",
		     g->exportable == 1 ? "true" : "false", usage);
	if (n < 0 || (size_t)n >= sizeof(json) - pos)
		return CKR_GENERAL_ERROR;
	pos += (size_t)n;
	if (!json_string(json, sizeof(json), &pos, subject))
		return CKR_ATTRIBUTE_VALUE_INVALID;
	n = snprintf(json + pos, sizeof(json) - pos, "},\"issuer\":{\"name\":\"Unknown\"}}");
	if (n < 0 || (size_t)n >= sizeof(json) - pos)
		return CKR_GENERAL_ERROR;
	pos += (size_t)n;
	if ((err = cv_policy_parse(json, pos, out)) != CV_OK)
		return err == CV_ERR_NOMEM ? CKR_HOST_MEMORY
		       : err == CV_ERR_BAD_SUBJECT ? CKR_ATTRIBUTE_VALUE_INVALID
		       : cv_ckr(err);
	return CKR_OK;
}

/* A new version of an existing certificate keeps its policy (subject,
 * names, issuer, lifetime actions) and changes only what the templates
 * said of the key. */
static CK_RV
renewal_policy(cv_vault *v, const struct gen_request *g, const char *subject,
	       cv_policy **out)
{
	cv_policy *p = NULL;
	char *dup;
	cv_err err;

	*out = NULL;
	if ((err = cv_cert_policy_get(v, g->name, &p)) != CV_OK)
		return cv_ckr(err);
	p->kty = g->rsa ? CV_KEY_RSA : CV_KEY_EC;
	p->hsm = 0;
	p->key_size = g->rsa ? (int)g->bits : 0;
	memset(p->curve, 0, sizeof(p->curve));
	if (!g->rsa)
		snprintf(p->curve, sizeof(p->curve), "%s", g->curve);
	if (g->exportable != -1)
		p->exportable = g->exportable;
	if (g->sign != -1 || g->crypt != -1) {
		p->key_usage &= ~(unsigned)(CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT);
		if (g->sign == 1)
			p->key_usage |= CV_KU_DIGITAL_SIGNATURE;
		if (g->crypt == 1)
			p->key_usage |= CV_KU_KEY_ENCIPHERMENT;
	}
	if (subject != NULL) {
		if ((dup = strdup(subject)) == NULL) {
			cv_policy_free(p);
			return CKR_HOST_MEMORY;
		}
		free(p->subject);
		p->subject = dup;
	}
	if ((err = cv_policy_validate(p)) != CV_OK) {
		cv_policy_free(p);
		return err == CV_ERR_BAD_SUBJECT ? CKR_ATTRIBUTE_VALUE_INVALID
						 : CKR_TEMPLATE_INCONSISTENT;
	}
	*out = p;
	return CKR_OK;
}

CK_RV
cv_keypair_generate(cv_session *s, CK_MECHANISM_PTR mech,
		    CK_ATTRIBUTE_PTR pub_tmpl, CK_ULONG n_pub,
		    CK_ATTRIBUTE_PTR priv_tmpl, CK_ULONG n_priv,
		    CK_OBJECT_HANDLE_PTR pub, CK_OBJECT_HANDLE_PTR priv)
{
	struct gen_request g;
	const cv_mech_desc *d;
	cv_policy *policy = NULL;
	cv_operation *op = NULL;
	cv_key_info info;
	char *subject = NULL, deflt[CV_NAME_MAX + 4];
	unsigned char rnd[6];
	uint64_t nums[2];
	size_t n = 0, i;
	int exists, on_token, priv_on_token;
	cv_vault *v;
	cv_err err;
	CK_RV rv;

	memset(&g, 0, sizeof(g));
	memset(&info, 0, sizeof(info));
	if (s == NULL || mech == NULL || pub == NULL || priv == NULL ||
	    (pub_tmpl == NULL && n_pub > 0) || (priv_tmpl == NULL && n_priv > 0))
		return CKR_ARGUMENTS_BAD;
	*pub = *priv = CK_INVALID_HANDLE;
	/* CKA_TOKEN is FALSE unless a template says otherwise (PKCS#11 3.0,
	 * 4.4): such a key pair is two session objects, in memory only.  The
	 * vault keeps key pairs whole, so one half on the token and the other
	 * in the session is not a pair it can make. */
	if ((rv = template_on_token(pub_tmpl, n_pub, &on_token)) != CKR_OK ||
	    (rv = template_on_token(priv_tmpl, n_priv, &priv_on_token)) != CKR_OK)
		return rv;
	if (on_token != priv_on_token)
		return CKR_TEMPLATE_INCONSISTENT;
	if (!on_token)
		return cv_object_generate_pair(s, mech, pub_tmpl, n_pub, priv_tmpl, n_priv,
					       pub, priv);
	if ((mech->mechanism != CKM_RSA_PKCS_KEY_PAIR_GEN &&
	     mech->mechanism != CKM_EC_KEY_PAIR_GEN) ||
	    (d = cv_mech_find(mech->mechanism)) == NULL ||
	    !(d->flags & CKF_GENERATE_KEY_PAIR))
		return CKR_MECHANISM_INVALID;
	if (mech->ulParameterLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	if (!cv_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!cv_session_logged_in(s))
		return CKR_USER_NOT_LOGGED_IN;
	if ((v = s->slot->vault) == NULL)
		return CKR_TOKEN_NOT_RECOGNIZED;

	g.rsa = mech->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN;
	g.exportable = g.sign = g.crypt = -1;
	if ((rv = gen_parse(&g, pub_tmpl, n_pub, CKO_PUBLIC_KEY)) != CKR_OK ||
	    (rv = gen_parse(&g, priv_tmpl, n_priv, CKO_PRIVATE_KEY)) != CKR_OK)
		goto done;
	if (g.rsa && g.bits == 0) {
		rv = CKR_TEMPLATE_INCOMPLETE;   /* the spec makes it required */
		goto done;
	}
	if (!g.rsa && g.curve == NULL) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto done;
	}
	if (g.sign == -1 && g.crypt == -1) {
		g.sign = 1;
		g.crypt = g.rsa;
	}
	if (g.sign == -1)
		g.sign = 0;
	if (g.crypt == -1)
		g.crypt = 0;
	if (!g.sign && !g.crypt) {
		rv = CKR_TEMPLATE_INCONSISTENT;  /* a key that may do nothing */
		goto done;
	}
	if (g.name[0] == '\0') {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			rv = CKR_FUNCTION_FAILED;
			goto done;
		}
		snprintf(g.name, sizeof(g.name), "key-%02x%02x%02x%02x%02x%02x",
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	}
	if (g.subject != NULL && (rv = subject_text(&g, &subject)) != CKR_OK)
		goto done;

	if ((err = cv_key_find_name(v, g.name, nums, &n)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}
	exists = n > 0;
	if (!exists) {
		cv_policy *probe = NULL;

		/* A certificate whose versions have all gone may still have
		 * its policy. */
		exists = cv_cert_policy_get(v, g.name, &probe) == CV_OK;
		cv_policy_free(probe);
	}
	if (exists) {
		rv = renewal_policy(v, &g, subject, &policy);
	} else {
		snprintf(deflt, sizeof(deflt), "CN=%s", g.name);
		rv = new_policy(&g, subject != NULL ? subject : deflt, &policy);
	}
	if (rv != CKR_OK)
		goto done;
	if ((err = cv_cert_create(v, g.name, policy, NULL, &op)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}

	/* The new key: pending (issuer Unknown), or already current when an
	 * existing certificate's issuer signed at once (Self). */
	if ((err = cv_key_find_name(v, g.name, nums, &n)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}
	rv = CKR_GENERAL_ERROR;
	for (i = 0; i < n; i++) {
		if (cv_key_get(v, nums[i], &info) == CV_OK &&
		    strcmp(info.version, op->version) == 0) {
			*pub = cv_object_handle(s->slot, info.num, CV_OBJ_PUBLIC);
			*priv = cv_object_handle(s->slot, info.num, CV_OBJ_PRIVATE);
			rv = CKR_OK;
		}
		cv_key_info_clear(&info);
	}
done:
	OPENSSL_free(g.subject);
	free(subject);
	cv_policy_free(policy);
	cv_operation_free(op);
	return rv;
}

CK_RV
cv_keypair_merge_certificate(cv_session *s, CK_ATTRIBUTE_PTR tmpl,
			     CK_ULONG n, CK_OBJECT_HANDLE_PTR out)
{
	const CK_ATTRIBUTE *value = NULL, *a;
	const unsigned char *p;
	unsigned char *der = NULL;
	uint8_t id[CV_KEY_ID_LEN];
	uint64_t nums[16], names[2];
	char name[CV_NAME_MAX + 1];
	cv_key_info info;
	X509 *x = NULL;
	CK_ULONG i, ul;
	size_t found = 0, k, m = 0;
	cv_vault *v;
	cv_err err;
	CK_RV rv;
	int b, len, have_type = 0;

	memset(&info, 0, sizeof(info));
	if (s == NULL || out == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	*out = CK_INVALID_HANDLE;
	if (!cv_session_rw(s))
		return CKR_SESSION_READ_ONLY;
	if (!cv_session_logged_in(s))
		return CKR_USER_NOT_LOGGED_IN;
	if ((v = s->slot->vault) == NULL)
		return CKR_TOKEN_NOT_RECOGNIZED;

	for (i = 0; i < n; i++)
		if (tmpl[i].type == CKA_VALUE)
			value = &tmpl[i];
	if (value == NULL || value->pValue == NULL || value->ulValueLen == 0)
		return value == NULL ? CKR_TEMPLATE_INCOMPLETE : CKR_ATTRIBUTE_VALUE_INVALID;
	p = value->pValue;
	x = d2i_X509(NULL, &p, (long)value->ulValueLen);
	ERR_clear_error();
	if (x == NULL || p != (const unsigned char *)value->pValue + value->ulValueLen) {
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto done;
	}
	if (cv_key_id(X509_get0_pubkey(x), id) != CV_OK) {
		ERR_clear_error();
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto done;
	}

	for (i = 0; i < n; i++) {
		a = &tmpl[i];
		if (a->pValue == NULL && a->ulValueLen > 0) {
			rv = CKR_ARGUMENTS_BAD;
			goto done;
		}
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		switch (a->type) {
		case CKA_CLASS:
		case CKA_TOKEN:
		case CKA_VALUE:
			continue;
		case CKA_CERTIFICATE_TYPE:
			if (!cv_attr_ulong(a, &ul) || ul != CKC_X_509)
				goto done;
			have_type = 1;
			continue;
		case CKA_LABEL:
			/* The certificate's objects are labelled with its
			 * name; NSS passes its nickname here. */
			continue;
		case CKA_ID:
			if (a->ulValueLen != sizeof(id) || memcmp(a->pValue, id, sizeof(id)) != 0)
				goto done;
			continue;
		case CKA_SUBJECT:
			len = i2d_X509_NAME(X509_get_subject_name(x), &der);
			break;
		case CKA_ISSUER:
			len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
			break;
		case CKA_SERIAL_NUMBER:
			len = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x), &der);
			break;
		case CKA_CERTIFICATE_CATEGORY:
			if (!cv_attr_ulong(a, &ul) || ul > 1)
				goto done;
			continue;
		case CKA_PRIVATE:
		case CKA_TRUSTED:
		case CKA_MODIFIABLE:
		case CKA_DESTROYABLE:
			if (!cv_attr_bool(a, &b) || b)
				goto done;
			continue;
		case CKA_COPYABLE:
			if (!cv_attr_bool(a, &b) || !b)
				goto done;
			continue;
		default:
			/* NSS adds vendor attributes (its e-mail address). */
			if (a->type & CKA_VENDOR_DEFINED)
				continue;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
			goto done;
		}
		if (len < 0 || der == NULL) {
			rv = CKR_HOST_MEMORY;
			goto done;
		}
		b = (size_t)len == a->ulValueLen && memcmp(der, a->pValue, (size_t)len) == 0;
		OPENSSL_free(der);
		der = NULL;
		if (!b)
			goto done;
	}
	if (!have_type) {
		rv = CKR_TEMPLATE_INCOMPLETE;
		goto done;
	}

	/* The pending key this certificate was issued for. */
	if ((err = cv_key_find_id(v, id, sizeof(id), nums, 16, &found)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}
	name[0] = '\0';
	for (k = 0; k < found && name[0] == '\0'; k++) {
		if (cv_key_get(v, nums[k], &info) == CV_OK && info.state == CV_KEY_PENDING)
			memcpy(name, info.name, sizeof(name));
		cv_key_info_clear(&info);
	}
	if (name[0] == '\0') {
		/* A certificate needs its key in the vault. */
		rv = CKR_ATTRIBUTE_VALUE_INVALID;
		goto done;
	}
	if ((err = cv_pending_merge(v, name, value->pValue, value->ulValueLen,
				    NULL, NULL)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}
	if ((err = cv_key_find_name(v, name, names, &m)) != CV_OK) {
		rv = cv_ckr(err);
		goto done;
	}
	rv = CKR_GENERAL_ERROR;
	for (k = 0; k < m; k++) {
		if (cv_key_get(v, names[k], &info) == CV_OK &&
		    info.state == CV_KEY_CURRENT &&
		    memcmp(info.key_id, id, sizeof(id)) == 0) {
			*out = cv_object_handle(s->slot, info.num, CV_OBJ_CERT);
			rv = CKR_OK;
		}
		cv_key_info_clear(&info);
	}
done:
	OPENSSL_free(der);
	X509_free(x);
	return rv;
}
