/* certvault policy: Reading a policy from a certificate, and checking one against it. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "policy.h"

#include "internal.h"

/* A string from the certificate as a C string, when it is one: no NUL
 * inside and valid UTF-8.  Others are not names a policy can hold. */
static cv_err
push_asn1_string(cv_strlist *l, const ASN1_STRING *s)
{
	const unsigned char *d = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);

	if (d == NULL || n <= 0 || !utf8_valid(d, (size_t)n))
		return CV_OK;
	return strlist_push(l, (const char *)d, (size_t)n);
}

static cv_err
read_sans(X509 *cert, cv_policy *p)
{
	GENERAL_NAMES *names = NULL;
	const GENERAL_NAME *gn;
	ASN1_OBJECT *upn = NULL;
	char ip[INET6_ADDRSTRLEN];
	cv_err err = CV_OK;
	int crit = -1, i;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (names == NULL) {
		if (openssl_out_of_memory())
			err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		else if (crit >= 0 || crit == -2)
			err = cv_err_set(CV_ERR_UNSUPPORTED,
					 "the certificate's subjectAltName extension cannot be read");
		goto done;
	}
	upn = OBJ_txt2obj(UPN_OID, 1);
	if (upn == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(names) && err == CV_OK; i++) {
		gn = sk_GENERAL_NAME_value(names, i);
		switch (gn->type) {
		case GEN_DNS:
			err = push_asn1_string(&p->dns_names, gn->d.dNSName);
			break;
		case GEN_EMAIL:
			err = push_asn1_string(&p->emails, gn->d.rfc822Name);
			break;
		case GEN_URI:
			err = push_asn1_string(&p->uris,
					       gn->d.uniformResourceIdentifier);
			break;
		case GEN_IPADD: {
			const ASN1_OCTET_STRING *o = gn->d.iPAddress;
			int af = ASN1_STRING_length(o) == 4 ? AF_INET :
				 ASN1_STRING_length(o) == 16 ? AF_INET6 : 0;

			if (af != 0 && inet_ntop(af, ASN1_STRING_get0_data(o), ip,
						 sizeof(ip)) != NULL)
				err = strlist_push(&p->ip_addresses, ip,
						   strlen(ip));
			break;
		}
		case GEN_OTHERNAME:
			if (OBJ_cmp(gn->d.otherName->type_id, upn) == 0 &&
			    gn->d.otherName->value != NULL &&
			    gn->d.otherName->value->type == V_ASN1_UTF8STRING)
				err = push_asn1_string(&p->upns,
						       gn->d.otherName->value->value.utf8string);
			break;
		default:
			break;
		}
	}
done:
	ASN1_OBJECT_free(upn);
	GENERAL_NAMES_free(names);
	return err;
}

static cv_err
read_key_usage(X509 *cert, cv_policy *p)
{
	/* KeyUsage bit n (RFC 5280) against our bits */
	static const unsigned bits[] = {
		CV_KU_DIGITAL_SIGNATURE, CV_KU_NON_REPUDIATION,
		CV_KU_KEY_ENCIPHERMENT, CV_KU_DATA_ENCIPHERMENT,
		CV_KU_KEY_AGREEMENT, CV_KU_KEY_CERT_SIGN, CV_KU_CRL_SIGN,
		CV_KU_ENCIPHER_ONLY, CV_KU_DECIPHER_ONLY,
	};
	ASN1_BIT_STRING *ku;
	int crit = -1;
	size_t i;

	p->key_usage = 0;
	ku = X509_get_ext_d2i(cert, NID_key_usage, &crit, NULL);
	if (ku == NULL) {
		if (openssl_out_of_memory())
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
		if (crit >= 0 || crit == -2)
			return cv_err_set(CV_ERR_UNSUPPORTED,
					  "the certificate's keyUsage extension cannot be read");
		return CV_OK;
	}
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (ASN1_BIT_STRING_get_bit(ku, (int)i))
			p->key_usage |= bits[i];
	}
	ASN1_BIT_STRING_free(ku);
	return CV_OK;
}

/* A CA when the certificate says CA:TRUE and may sign certificates (key
 * usage read first); a path length over the policy's limit reads as the
 * limit, which is only stricter. */
static cv_err
read_basic_constraints(X509 *cert, cv_policy *p)
{
	BASIC_CONSTRAINTS *bc;
	int crit = -1;
	long len;

	p->ca = 0;
	p->path_length = -1;
	bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
	if (bc == NULL) {
		if (openssl_out_of_memory())
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
		if (crit >= 0 || crit == -2)
			return cv_err_set(CV_ERR_UNSUPPORTED,
					  "the certificate's basicConstraints extension cannot be read");
		return CV_OK;
	}
	if (bc->ca && (p->key_usage & CV_KU_KEY_CERT_SIGN) != 0) {
		p->ca = 1;
		if (bc->pathlen != NULL) {
			len = ASN1_INTEGER_get(bc->pathlen);
			p->path_length = len < 0 || len > PATH_LENGTH_MAX ?
						 PATH_LENGTH_MAX : (int)len;
		}
	}
	BASIC_CONSTRAINTS_free(bc);
	return CV_OK;
}

static cv_err
read_ekus(X509 *cert, cv_policy *p)
{
	EXTENDED_KEY_USAGE *eku;
	char *oid = NULL;
	cv_err err = CV_OK;
	int crit = -1, i, n;

	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
	if (eku == NULL) {
		if (openssl_out_of_memory())
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
		if (crit >= 0 || crit == -2)
			return cv_err_set(CV_ERR_UNSUPPORTED,
					  "the certificate's extKeyUsage extension cannot be read");
		return CV_OK;
	}
	for (i = 0; i < sk_ASN1_OBJECT_num(eku) && err == CV_OK; i++) {
		const ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);

		n = OBJ_obj2txt(NULL, 0, obj, 1);
		if (n <= 0)
			continue;
		oid = malloc((size_t)n + 1);
		if (oid == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "out of memory");
			break;
		}
		if (OBJ_obj2txt(oid, n + 1, obj, 1) == n)
			err = strlist_push(&p->ekus, oid, (size_t)n);
		free(oid);
		oid = NULL;
	}
	ERR_clear_error();
	EXTENDED_KEY_USAGE_free(eku);
	return err;
}

/* The key's type and its size (RSA) or curve (EC). */
static cv_err
read_key(EVP_PKEY *pkey, enum cv_key_type *kty, int *bits, char *curve,
	 size_t curve_len)
{
	const struct curve *c;
	char group[64];
	size_t glen = 0;
	int id, nid;

	if (pkey == NULL)
		return cv_err_set(CV_ERR_UNSUPPORTED,
				  "the certificate's public key cannot be read");
	id = EVP_PKEY_get_base_id(pkey);
	if (id == EVP_PKEY_RSA) {
		*kty = CV_KEY_RSA;
		*bits = EVP_PKEY_get_bits(pkey);
		curve[0] = '\0';
		return CV_OK;
	}
	if (id == EVP_PKEY_EC) {
		if (!EVP_PKEY_get_utf8_string_param(pkey,
						    OSSL_PKEY_PARAM_GROUP_NAME,
						    group, sizeof(group), &glen)) {
			if (openssl_out_of_memory())
				return cv_err_set(CV_ERR_NOMEM, "out of memory");
			return cv_err_set(CV_ERR_UNSUPPORTED,
					  "the certificate's EC key has no named curve");
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		c = find_curve_by_nid(nid);
		if (c == NULL)
			return cv_err_set(CV_ERR_UNSUPPORTED,
					  "the certificate's key is on curve %s; Key Vault takes P-256, P-384, P-521 and P-256K",
					  group);
		*kty = CV_KEY_EC;
		*bits = 0;
		snprintf(curve, curve_len, "%s", c->name);
		return CV_OK;
	}
	return cv_err_set(CV_ERR_UNSUPPORTED,
			  "the certificate's key is of type %s; Key Vault takes RSA and EC keys",
			  OBJ_nid2sn(id) != NULL ? OBJ_nid2sn(id) : "unknown");
}

static cv_err
read_validity(X509 *cert, int *months)
{
	int days = 0, secs = 0;
	long long total, m;

	if (!ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert),
			    X509_get0_notAfter(cert))) {
		ERR_clear_error();
		return cv_err_set(CV_ERR_UNSUPPORTED,
				  "the certificate's validity cannot be read");
	}
	total = (long long)days * 86400 + secs;
	m = total <= 0 ? 0 : (total + MONTH_SECONDS / 2) / MONTH_SECONDS;
	if (m < 1)
		m = 1;
	if (m > VALIDITY_MAX_MONTHS)
		m = VALIDITY_MAX_MONTHS;
	*months = (int)m;
	return CV_OK;
}

cv_err
cv_policy_from_certificate(X509 *cert, enum cv_content_type ct,
			   cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL;
	char *subject = NULL;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (cert == NULL || out == NULL || cv_content_type_name(ct) == NULL) {
		err = cv_err_set(CV_ERR_INVALID,
				 "cv_policy_from_certificate: bad arguments");
		goto done;
	}
	p = policy_new();
	if (p == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	err = read_key(X509_get0_pubkey(cert), &p->kty, &p->key_size, p->curve,
		       sizeof(p->curve));
	if (err != CV_OK)
		goto done;
	subject = cv_x500_format(X509_get_subject_name(cert));
	if (subject == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (subject[0] != '\0') {
		p->subject = subject;
		subject = NULL;
	}
	if ((err = read_sans(cert, p)) != CV_OK ||
	    (err = read_key_usage(cert, p)) != CV_OK ||
	    (err = read_basic_constraints(cert, p)) != CV_OK ||
	    (err = read_ekus(cert, p)) != CV_OK ||
	    (err = read_validity(cert, &p->validity_months)) != CV_OK ||
	    (err = dup_string("Unknown", &p->issuer_name)) != CV_OK ||
	    (err = set_one_action(p, CV_TRIGGER_LIFETIME_PERCENTAGE, 80,
				  CV_ACTION_EMAIL_CONTACTS)) != CV_OK)
		goto done;
	p->exportable = 1;
	p->reuse_key = 0;
	p->hsm = 0;
	p->content_type = ct;
	p->enabled = 1;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	free(subject);
	cv_policy_free(p);
	return err;
}

static void
strlist_swap(cv_strlist *a, cv_strlist *b)
{
	cv_strlist t = *a;

	*a = *b;
	*b = t;
}

static void
string_swap(char **a, char **b)
{
	char *t = *a;

	*a = *b;
	*b = t;
}

cv_err
cv_policy_complete(const cv_policy *given, X509 *cert, enum cv_content_type ct,
		   cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL, *d = NULL;
	cv_lifetime_action *actions;
	unsigned f;
	size_t n;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (given == NULL || cert == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_policy_complete: bad arguments");
		goto done;
	}
	if ((err = cv_policy_copy(given, &p)) != CV_OK ||
	    (err = cv_policy_from_certificate(cert, ct, &d)) != CV_OK)
		goto done;
	f = given->from_cert;
	if (f & CV_FROM_CERT_KEY_TYPE) {
		p->kty = d->kty;
		p->hsm = 0;
	}
	if ((f & CV_FROM_CERT_KEY_SIZE) && p->kty == d->kty) {
		p->key_size = d->key_size;
		memcpy(p->curve, d->curve, sizeof(p->curve));
	}
	if (f & CV_FROM_CERT_CONTENT_TYPE)
		p->content_type = d->content_type;
	if (f & CV_FROM_CERT_SUBJECT)
		string_swap(&p->subject, &d->subject);
	if (f & CV_FROM_CERT_SANS) {
		strlist_swap(&p->dns_names, &d->dns_names);
		strlist_swap(&p->emails, &d->emails);
		strlist_swap(&p->upns, &d->upns);
		strlist_swap(&p->ip_addresses, &d->ip_addresses);
		strlist_swap(&p->uris, &d->uris);
	}
	if (f & CV_FROM_CERT_KEY_USAGE)
		p->key_usage = d->key_usage;
	if (f & CV_FROM_CERT_EKUS)
		strlist_swap(&p->ekus, &d->ekus);
	if (f & CV_FROM_CERT_VALIDITY)
		p->validity_months = d->validity_months;
	if (f & CV_FROM_CERT_BASIC_CONSTRAINTS) {
		p->ca = d->ca;
		p->path_length = d->path_length;
	}
	if (f & CV_FROM_CERT_ISSUER) {
		string_swap(&p->issuer_name, &d->issuer_name);
		string_swap(&p->cert_type, &d->cert_type);
	}
	/* the default actions follow the issuer: mail where the vault cannot
	 * renew, renew where it can */
	if ((f & CV_FROM_CERT_ACTIONS) && strcmp(p->issuer_name, "Unknown") == 0) {
		actions = p->actions;
		n = p->n_actions;
		p->actions = d->actions;
		p->n_actions = d->n_actions;
		d->actions = actions;
		d->n_actions = n;
	}
	p->from_cert = 0;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	cv_policy_free(d);
	cv_policy_free(p);
	return err;
}

cv_err
cv_policy_check_certificate(const cv_policy *p, X509 *cert)
{
	static const char *const prefix = "the certificate does not fit the policy";
	cv_policy have_bc = { 0 };
	enum cv_key_type kty = 0;
	X509_NAME *want = NULL;
	char curve[8] = "", *have = NULL, why[256];
	int bits = 0;
	cv_err err;

	cv_err_clear();
	if (p == NULL || cert == NULL) {
		err = cv_err_set(CV_ERR_INVALID,
				 "cv_policy_check_certificate: bad arguments");
		goto done;
	}
	err = read_key(X509_get0_pubkey(cert), &kty, &bits, curve,
		       sizeof(curve));
	if (err == CV_ERR_NOMEM)
		goto done;
	if (err != CV_OK) {
		/* the detail is rewritten from itself: copy it out first */
		snprintf(why, sizeof(why), "%s", cv_err_detail());
		err = cv_err_set(CV_ERR_POLICY, "%s: key_props.kty is %s, but %s",
				 prefix,
				 key_type_name(p->kty, p->hsm) ?
					 key_type_name(p->kty, p->hsm) : "unset",
				 why);
		goto done;
	}
	if (kty != p->kty) {
		err = cv_err_set(CV_ERR_POLICY,
				 "%s: key_props.kty is %s, the certificate's key is %s",
				 prefix,
				 key_type_name(p->kty, p->hsm) ?
					 key_type_name(p->kty, p->hsm) : "unset",
				 kty == CV_KEY_RSA ? "RSA" : "EC");
		goto done;
	}
	if (kty == CV_KEY_RSA && bits != p->key_size) {
		err = cv_err_set(CV_ERR_POLICY,
				 "%s: key_props.key_size is %d, the certificate's key has %d bits",
				 prefix, p->key_size, bits);
		goto done;
	}
	if (kty == CV_KEY_EC &&
	    strncmp(curve, p->curve, sizeof(p->curve)) != 0) {
		err = cv_err_set(CV_ERR_POLICY,
				 "%s: key_props.crv is %.8s, the certificate's key is on %s",
				 prefix, p->curve, curve);
		goto done;
	}
	if (p->ca) {
		if ((err = read_key_usage(cert, &have_bc)) != CV_OK ||
		    (err = read_basic_constraints(cert, &have_bc)) != CV_OK)
			goto done;
		if (!have_bc.ca) {
			err = cv_err_set(CV_ERR_POLICY,
					 "%s: x509_props.basic_constraints says CA, the certificate is not a CA (CA:TRUE with keyCertSign)",
					 prefix);
			goto done;
		}
		if (have_bc.path_length >= 0 && p->path_length < 0) {
			err = cv_err_set(CV_ERR_POLICY,
					 "%s: x509_props.basic_constraints.path_length is not set (no limit), the certificate's is %d",
					 prefix, have_bc.path_length);
			goto done;
		}
		if (have_bc.path_length >= 0 && p->path_length > have_bc.path_length) {
			err = cv_err_set(CV_ERR_POLICY,
					 "%s: x509_props.basic_constraints.path_length is %d, the certificate's is %d",
					 prefix, p->path_length, have_bc.path_length);
			goto done;
		}
	}
	if (p->subject != NULL) {
		err = cv_x500_parse(p->subject, &want);
		if (err != CV_OK)
			goto done;
		/* encode both first, so a failure to encode is not taken for
		 * a different subject */
		if (i2d_X509_NAME(want, NULL) < 0 ||
		    i2d_X509_NAME(X509_get_subject_name(cert), NULL) < 0) {
			err = openssl_out_of_memory() ?
				      cv_err_set(CV_ERR_NOMEM, "out of memory") :
				      cv_err_set(CV_ERR_CRYPTO,
						 "the subjects could not be encoded");
			goto done;
		}
		if (!cv_x500_equal(want, X509_get_subject_name(cert))) {
			have = cv_x500_format(X509_get_subject_name(cert));
			err = cv_err_set(CV_ERR_POLICY,
					 "%s: x509_props.subject is '%s', the certificate's subject is '%s'",
					 prefix, p->subject,
					 have != NULL ? have : "?");
			goto done;
		}
	}
	err = CV_OK;
done:
	free(have);
	X509_NAME_free(want);
	return err;
}
