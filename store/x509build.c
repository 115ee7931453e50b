/* certvault: CSRs and self-signed certificates from a policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "x509.h"

#define UPN_OID "1.3.6.1.4.1.311.20.2.3"
#define SERIAL_LEN 16
/* 159 random bits, as CAs issue (CA/Browser Forum: at least 64) */
#define ISSUED_SERIAL_LEN 20

/* The digest that matches the key's strength: SHA-256 for RSA and for the
 * 256-bit curves, SHA-384 for P-384, SHA-512 for P-521. */
static cv_err
signing_digest(EVP_PKEY *key, const EVP_MD **md)
{
	char group[64] = "";

	*md = NULL;
	if (EVP_PKEY_is_a(key, "RSA")) {
		*md = EVP_sha256();
		return CV_OK;
	}
	if (!EVP_PKEY_is_a(key, "EC"))
		return cv_err_set(CV_ERR_UNSUPPORTED,
				  "a certificate key must be RSA or EC, not %s",
				  EVP_PKEY_get0_type_name(key) != NULL ?
				  EVP_PKEY_get0_type_name(key) : "(unknown)");
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), NULL))
		return cv_err_crypto("EC key curve");
	if (strcmp(group, SN_secp384r1) == 0)
		*md = EVP_sha384();
	else if (strcmp(group, SN_secp521r1) == 0)
		*md = EVP_sha512();
	else
		*md = EVP_sha256();
	return CV_OK;
}

/* An IA5String SAN value: printable ASCII, no spaces. */
static int
ia5_ok(const char *s)
{
	const unsigned char *p;

	if (s == NULL || *s == '\0')
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

static cv_err
san_ia5(GENERAL_NAMES *gens, int type, const char *value, const char *member,
	size_t i)
{
	cv_err err = CV_ERR_NOMEM;
	GENERAL_NAME *gen = NULL;
	ASN1_IA5STRING *ia5 = NULL;

	if (!ia5_ok(value)) {
		err = cv_err_set(CV_ERR_POLICY,
				 "x509_props.sans.%s[%zu]: \"%s\" must be non-empty printable ASCII without spaces",
				 member, i, value != NULL ? value : "");
		goto done;
	}
	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(ia5, value, (int)strlen(value))) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	GENERAL_NAME_set0_value(gen, type, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	gen = NULL;
	err = CV_OK;
done:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	return err;
}

/* A user principal name: otherName 1.3.6.1.4.1.311.20.2.3 holding a
 * UTF8String, as Windows and Key Vault write it. */
static cv_err
san_upn(GENERAL_NAMES *gens, const char *value, size_t i)
{
	cv_err err = CV_ERR_NOMEM;
	GENERAL_NAME *gen = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_TYPE *val = NULL;
	ASN1_UTF8STRING *utf8 = NULL;
	size_t len = value != NULL ? strlen(value) : 0;

	if (len == 0 || len > 1024 ||
	    ASN1_mbstring_ncopy(NULL, (const unsigned char *)value, (int)len,
				MBSTRING_UTF8, B_ASN1_UTF8STRING, 1, 0) <= 0) {
		ERR_clear_error();
		err = cv_err_set(CV_ERR_POLICY,
				 "x509_props.sans.upns[%zu]: \"%s\" is not a UTF-8 name",
				 i, value != NULL ? value : "");
		goto done;
	}
	if ((gen = GENERAL_NAME_new()) == NULL ||
	    (oid = OBJ_txt2obj(UPN_OID, 1)) == NULL ||
	    (val = ASN1_TYPE_new()) == NULL ||
	    (utf8 = ASN1_UTF8STRING_new()) == NULL ||
	    !ASN1_STRING_set(utf8, value, (int)len)) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	ASN1_TYPE_set(val, V_ASN1_UTF8STRING, utf8);
	utf8 = NULL;
	if (!GENERAL_NAME_set0_othername(gen, oid, val)) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	oid = NULL;
	val = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	gen = NULL;
	err = CV_OK;
done:
	ASN1_UTF8STRING_free(utf8);
	ASN1_TYPE_free(val);
	ASN1_OBJECT_free(oid);
	GENERAL_NAME_free(gen);
	return err;
}

static cv_err
san_ip(GENERAL_NAMES *gens, const char *value, size_t i)
{
	cv_err err = CV_ERR_NOMEM;
	GENERAL_NAME *gen = NULL;
	ASN1_OCTET_STRING *ip = NULL;

	if (value == NULL || *value == '\0' ||
	    (ip = a2i_IPADDRESS(value)) == NULL) {
		ERR_clear_error();
		err = cv_err_set(CV_ERR_POLICY,
				 "x509_props.sans.ip_addresses[%zu]: \"%s\" is not an IPv4 or IPv6 address",
				 i, value != NULL ? value : "");
		goto done;
	}
	if ((gen = GENERAL_NAME_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
	ip = NULL;
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	gen = NULL;
	err = CV_OK;
done:
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAME_free(gen);
	return err;
}

static size_t
san_count(const cv_policy *p)
{
	return p->dns_names.n + p->emails.n + p->upns.n + p->ip_addresses.n +
	       p->uris.n;
}

/* Push ext onto exts, taking it; on failure ext is freed. */
static cv_err
ext_push(STACK_OF(X509_EXTENSION) *exts, X509_EXTENSION *ext, const char *what)
{
	if (ext == NULL)
		return cv_err_crypto(what);
	if (!sk_X509_EXTENSION_push(exts, ext)) {
		X509_EXTENSION_free(ext);
		return cv_err_set(CV_ERR_NOMEM, "%s: out of memory", what);
	}
	return CV_OK;
}

/* basicConstraints, critical: CA:TRUE with pathlen when path_length >= 0,
 * or CA:FALSE. */
static cv_err
ext_basic_constraints(int ca, int path_length, X509_EXTENSION **out)
{
	cv_err err = CV_ERR_NOMEM;
	BASIC_CONSTRAINTS *bc = NULL;

	*out = NULL;
	if ((bc = BASIC_CONSTRAINTS_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "basicConstraints: out of memory");
		goto done;
	}
	bc->ca = ca ? 0xff : 0;
	if (ca && path_length >= 0 &&
	    ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
	     !ASN1_INTEGER_set(bc->pathlen, path_length))) {
		err = cv_err_set(CV_ERR_NOMEM, "basicConstraints: out of memory");
		goto done;
	}
	if ((*out = X509V3_EXT_i2d(NID_basic_constraints, 1, bc)) == NULL) {
		err = cv_err_crypto("basicConstraints");
		goto done;
	}
	err = CV_OK;
done:
	BASIC_CONSTRAINTS_free(bc);
	return err;
}

/* The key identifier of a public key: SHA-1 of its bits (RFC 5280 4.2.1.2
 * method 1). */
static cv_err
key_identifier(X509_PUBKEY *pub, ASN1_OCTET_STRING **out)
{
	const unsigned char *pk = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int pklen = 0;

	*out = NULL;
	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, pub) || pklen <= 0 ||
	    !EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL))
		return cv_err_crypto("subjectKeyIdentifier");
	if ((*out = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(*out, md, (int)mdlen)) {
		ASN1_OCTET_STRING_free(*out);
		*out = NULL;
		return cv_err_set(CV_ERR_NOMEM, "key identifiers: out of memory");
	}
	return CV_OK;
}

static cv_err
ext_subject_alt_name(const cv_policy *p, int critical,
		     STACK_OF(X509_EXTENSION) *exts)
{
	cv_err err = CV_ERR_NOMEM;
	GENERAL_NAMES *gens = NULL;
	size_t i;

	if ((gens = GENERAL_NAMES_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "subjectAltName: out of memory");
		goto done;
	}
	for (i = 0; i < p->dns_names.n; i++)
		if ((err = san_ia5(gens, GEN_DNS, p->dns_names.v[i], "dns_names",
				   i)) != CV_OK)
			goto done;
	for (i = 0; i < p->emails.n; i++)
		if ((err = san_ia5(gens, GEN_EMAIL, p->emails.v[i], "emails",
				   i)) != CV_OK)
			goto done;
	for (i = 0; i < p->upns.n; i++)
		if ((err = san_upn(gens, p->upns.v[i], i)) != CV_OK)
			goto done;
	for (i = 0; i < p->ip_addresses.n; i++)
		if ((err = san_ip(gens, p->ip_addresses.v[i], i)) != CV_OK)
			goto done;
	for (i = 0; i < p->uris.n; i++)
		if ((err = san_ia5(gens, GEN_URI, p->uris.v[i], "uris",
				   i)) != CV_OK)
			goto done;
	err = ext_push(exts, X509V3_EXT_i2d(NID_subject_alt_name, critical, gens),
		       "subjectAltName");
done:
	GENERAL_NAMES_free(gens);
	return err;
}

static cv_err
ext_key_usage(unsigned usage, STACK_OF(X509_EXTENSION) *exts)
{
	cv_err err = CV_ERR_NOMEM;
	ASN1_BIT_STRING *bits = NULL;
	int bit;

	if ((bits = ASN1_BIT_STRING_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "keyUsage: out of memory");
		goto done;
	}
	/* enum cv_key_usage follows RFC 5280's bit numbering. */
	for (bit = 0; bit <= 8; bit++) {
		if ((usage & (1u << bit)) != 0 &&
		    !ASN1_BIT_STRING_set_bit(bits, bit, 1)) {
			err = cv_err_set(CV_ERR_NOMEM, "keyUsage: out of memory");
			goto done;
		}
	}
	err = ext_push(exts, X509V3_EXT_i2d(NID_key_usage, 1, bits), "keyUsage");
done:
	ASN1_BIT_STRING_free(bits);
	return err;
}

/* 1 when s is a dotted OID such as 1.3.6.1.5.5.7.3.1. */
static int
dotted_oid(const char *s)
{
	int dots = 0, digit = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9') {
			digit = 1;
		} else if (*s == '.' && digit) {
			dots++;
			digit = 0;
		} else {
			return 0;
		}
	}
	return digit && dots >= 1;
}

static cv_err
ext_extended_key_usage(const cv_strlist *ekus, STACK_OF(X509_EXTENSION) *exts)
{
	cv_err err = CV_ERR_NOMEM;
	EXTENDED_KEY_USAGE *eku = NULL;
	ASN1_OBJECT *oid = NULL;
	size_t i;

	if ((eku = EXTENDED_KEY_USAGE_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "extKeyUsage: out of memory");
		goto done;
	}
	for (i = 0; i < ekus->n; i++) {
		if (!dotted_oid(ekus->v[i]) ||
		    (oid = OBJ_txt2obj(ekus->v[i], 1)) == NULL) {
			ERR_clear_error();
			err = cv_err_set(CV_ERR_POLICY,
					 "x509_props.ekus[%zu]: \"%s\" is not a dotted OID",
					 i, ekus->v[i] != NULL ? ekus->v[i] : "");
			goto done;
		}
		if (!sk_ASN1_OBJECT_push(eku, oid)) {
			err = cv_err_set(CV_ERR_NOMEM, "extKeyUsage: out of memory");
			goto done;
		}
		oid = NULL;
	}
	err = ext_push(exts, X509V3_EXT_i2d(NID_ext_key_usage, 0, eku),
		       "extKeyUsage");
done:
	ASN1_OBJECT_free(oid);
	EXTENDED_KEY_USAGE_free(eku);
	return err;
}

/* The subject, and the extensions a CSR requests: subjectAltName (critical
 * when the subject is empty, RFC 5280 4.2.1.6), keyUsage (critical) and
 * extKeyUsage. */
static cv_err
policy_subject_and_extensions(const cv_policy *p, X509_NAME **subject,
			      STACK_OF(X509_EXTENSION) **exts)
{
	cv_err err = CV_ERR_NOMEM;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *list = NULL;
	const char *s = p->subject;
	int empty;

	*subject = NULL;
	*exts = NULL;
	while (s != NULL && (*s == ' ' || *s == '\t'))
		s++;
	if (s == NULL || *s == '\0') {
		if ((name = X509_NAME_new()) == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "subject: out of memory");
			goto done;
		}
	} else if ((err = cv_x500_parse(p->subject, &name)) != CV_OK) {
		goto done;
	}
	empty = X509_NAME_entry_count(name) == 0;
	if (empty && san_count(p) == 0) {
		err = cv_err_set(CV_ERR_BAD_SUBJECT,
				 "x509_props.subject: an empty subject needs at least one subject alternative name");
		goto done;
	}
	if ((list = sk_X509_EXTENSION_new_null()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "extensions: out of memory");
		goto done;
	}
	if (san_count(p) > 0 &&
	    (err = ext_subject_alt_name(p, empty, list)) != CV_OK)
		goto done;
	if (p->key_usage != 0 &&
	    (err = ext_key_usage(p->key_usage, list)) != CV_OK)
		goto done;
	if (p->ekus.n > 0 &&
	    (err = ext_extended_key_usage(&p->ekus, list)) != CV_OK)
		goto done;
	*subject = name;
	name = NULL;
	*exts = list;
	list = NULL;
	err = CV_OK;
done:
	sk_X509_EXTENSION_pop_free(list, X509_EXTENSION_free);
	X509_NAME_free(name);
	return err;
}

/* A subject common name that reads as a DNS name (labels of letters,
 * digits and hyphens, at least one dot, "*." allowed in front). */
static int
cn_is_dns_name(const ASN1_STRING *cn)
{
	const unsigned char *s = ASN1_STRING_get0_data(cn);
	int i, len = ASN1_STRING_length(cn), dot = 0;

	if (len <= 0 || len > 253)
		return 0;
	if (len > 2 && s[0] == '*' && s[1] == '.')
		s += 2, len -= 2;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && i > 0 && i < len - 1 && s[i - 1] != '.')
			dot = 1;
		else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return dot;
}

/* With CV_CSR_CN_IN_SAN, *view is p with the subject's DNS-name CN added to
 * dns_names when they lack it (*names is the array view borrows; free it
 * and *cn).  Else, or when nothing is added, *view is a plain copy. */
static cv_err
csr_view(const cv_policy *p, unsigned flags, cv_policy *view, char ***names,
	 char **cn)
{
	X509_NAME *subject = NULL;
	const ASN1_STRING *value;
	size_t i;
	int at;
	cv_err err = CV_OK;

	*view = *p;
	*names = NULL;
	*cn = NULL;
	if (!(flags & CV_CSR_CN_IN_SAN) || p->subject == NULL || p->subject[0] == '\0')
		return CV_OK;
	if ((err = cv_x500_parse(p->subject, &subject)) != CV_OK)
		return err;
	at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (at < 0 ||
	    !cn_is_dns_name(value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at))))
		goto done;
	for (i = 0; i < p->dns_names.n; i++)
		if (strlen(p->dns_names.v[i]) == (size_t)ASN1_STRING_length(value) &&
		    strncasecmp(p->dns_names.v[i], (const char *)ASN1_STRING_get0_data(value),
				(size_t)ASN1_STRING_length(value)) == 0)
			goto done;
	if ((*cn = strndup((const char *)ASN1_STRING_get0_data(value),
			   (size_t)ASN1_STRING_length(value))) == NULL ||
	    (*names = calloc(p->dns_names.n + 1, sizeof(char *))) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "CSR: out of memory");
		goto done;
	}
	(*names)[0] = *cn;
	for (i = 0; i < p->dns_names.n; i++)
		(*names)[i + 1] = p->dns_names.v[i];
	view->dns_names.v = *names;
	view->dns_names.n = p->dns_names.n + 1;
done:
	X509_NAME_free(subject);
	return err;
}

cv_err
cv_x509_build_csr(const cv_policy *p, EVP_PKEY *key, unsigned flags, X509_REQ **out)
{
	cv_err err = CV_ERR_CRYPTO;
	X509_REQ *req = NULL;
	X509_EXTENSION *bc = NULL;
	X509_NAME *subject = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const EVP_MD *md = NULL;
	cv_policy view;
	char **names = NULL, *cn = NULL;

	if (out != NULL)
		*out = NULL;
	if (p == NULL || key == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_build_csr: missing argument");
		goto done;
	}
	if ((err = signing_digest(key, &md)) != CV_OK ||
	    (err = csr_view(p, flags, &view, &names, &cn)) != CV_OK)
		goto done;
	if ((err = policy_subject_and_extensions(&view, &subject, &exts)) != CV_OK)
		goto done;
	/* a CA asks its parent for CA:TRUE and its path length */
	if (p->ca &&
	    ((err = ext_basic_constraints(1, p->path_length, &bc)) != CV_OK ||
	     (err = ext_push(exts, bc, "basicConstraints")) != CV_OK))
		goto done;
	if ((req = X509_REQ_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "CSR: out of memory");
		goto done;
	}
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    (sk_X509_EXTENSION_num(exts) > 0 &&
	     !X509_REQ_add_extensions(req, exts))) {
		err = cv_err_crypto("CSR");
		goto done;
	}
	if (X509_REQ_sign(req, key, md) <= 0) {
		err = cv_err_crypto("CSR signature");
		goto done;
	}
	*out = req;
	req = NULL;
	err = CV_OK;
done:
	X509_REQ_free(req);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	free(names);
	free(cn);
	return err;
}

static int
month_days(int64_t year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 1 && leap ? 29 : days[month];
}

/* Set t to a UTC calendar time (month 0-11): UTCTime through 2049,
 * GeneralizedTime after, as RFC 5280 asks. */
static cv_err
set_time(ASN1_TIME *t, int64_t year, int month, int day, int hour, int min,
	 int sec)
{
	char buf[32];

	if (year < 1950 || year > 9999)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.validity_months: the validity falls in year %lld",
				  (long long)year);
	snprintf(buf, sizeof(buf), "%04lld%02d%02d%02d%02d%02dZ",
		 (long long)year, month + 1, day, hour, min, sec);
	if (!ASN1_TIME_set_string_X509(t, buf))
		return cv_err_crypto("certificate validity");
	return CV_OK;
}

/* notBefore = now; notAfter = now plus whole calendar months, the day
 * clamped to the last day of the target month (Jan 31 + 1 month is the last
 * day of February). */
static cv_err
set_validity(X509 *x, time_t now, int months)
{
	struct tm tm;
	int64_t year, month0;
	int day;
	cv_err err;

	if (months < 1 || months > 1200)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.validity_months: %d is not 1 to 1200",
				  months);
	if (OPENSSL_gmtime(&now, &tm) == NULL)
		return cv_err_set(CV_ERR_INVALID, "the current time is not representable");
	if ((err = set_time(X509_getm_notBefore(x), (int64_t)tm.tm_year + 1900,
			    tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min,
			    tm.tm_sec)) != CV_OK)
		return err;
	month0 = (int64_t)tm.tm_mon + months;
	year = (int64_t)tm.tm_year + 1900 + month0 / 12;
	month0 %= 12;
	day = tm.tm_mday;
	if (day > month_days(year, (int)month0))
		day = month_days(year, (int)month0);
	return set_time(X509_getm_notAfter(x), year, (int)month0, day,
			tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A random positive serial of exactly len octets (at most ISSUED_SERIAL_LEN):
 * the top bit clear so the INTEGER is positive, the first octet non-zero so
 * DER keeps them all. */
static cv_err
set_random_serial(X509 *x, size_t len)
{
	cv_err err = CV_ERR_CRYPTO;
	unsigned char buf[ISSUED_SERIAL_LEN];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	if (len == 0 || len > sizeof(buf) || RAND_bytes(buf, (int)len) != 1) {
		err = cv_err_crypto("serial number");
		goto done;
	}
	buf[0] &= 0x7f;
	if (buf[0] == 0)
		buf[0] = 0x01;
	if ((bn = BN_bin2bn(buf, (int)len, NULL)) == NULL ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, serial)) {
		err = cv_err_crypto("serial number");
		goto done;
	}
	err = CV_OK;
done:
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return err;
}

/* basicConstraints (critical), subjectKeyIdentifier and
 * authorityKeyIdentifier: the issuer's key id, or the certificate's own when
 * issuer_ski is NULL (it signs itself). */
static cv_err
add_key_extensions(X509 *x, int ca, int path_length,
		   const ASN1_OCTET_STRING *issuer_ski)
{
	cv_err err = CV_ERR_NOMEM;
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = NULL;
	X509_EXTENSION *ext = NULL;

	if ((err = ext_basic_constraints(ca, path_length, &ext)) != CV_OK)
		goto done;
	if (!X509_add_ext(x, ext, -1)) {
		err = cv_err_crypto("basicConstraints");
		goto done;
	}
	X509_EXTENSION_free(ext);
	ext = NULL;

	if ((err = key_identifier(X509_get_X509_PUBKEY(x), &ski)) != CV_OK)
		goto done;
	if ((akid = AUTHORITY_KEYID_new()) == NULL ||
	    (akid->keyid = ASN1_OCTET_STRING_dup(issuer_ski != NULL ? issuer_ski : ski)) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "key identifiers: out of memory");
		goto done;
	}
	if ((ext = X509V3_EXT_i2d(NID_subject_key_identifier, 0, ski)) == NULL ||
	    !X509_add_ext(x, ext, -1)) {
		err = cv_err_crypto("subjectKeyIdentifier");
		goto done;
	}
	X509_EXTENSION_free(ext);
	ext = NULL;
	if ((ext = X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid)) == NULL ||
	    !X509_add_ext(x, ext, -1)) {
		err = cv_err_crypto("authorityKeyIdentifier");
		goto done;
	}
	err = CV_OK;
done:
	X509_EXTENSION_free(ext);
	AUTHORITY_KEYID_free(akid);
	ASN1_OCTET_STRING_free(ski);
	return err;
}

cv_err
cv_x509_self_sign(const cv_policy *p, EVP_PKEY *key, time_t now, X509 **out)
{
	cv_err err = CV_ERR_CRYPTO;
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	const EVP_MD *md = NULL;
	int i;

	if (out != NULL)
		*out = NULL;
	if (p == NULL || key == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_self_sign: missing argument");
		goto done;
	}
	if ((err = signing_digest(key, &md)) != CV_OK)
		goto done;
	if ((err = policy_subject_and_extensions(p, &subject, &exts)) != CV_OK)
		goto done;
	if ((x = X509_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificate: out of memory");
		goto done;
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, subject) ||
	    !X509_set_pubkey(x, key)) {
		err = cv_err_crypto("certificate");
		goto done;
	}
	if ((err = set_random_serial(x, SERIAL_LEN)) != CV_OK ||
	    (err = set_validity(x, now, p->validity_months)) != CV_OK)
		goto done;
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		if (!X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1)) {
			err = cv_err_crypto("certificate extensions");
			goto done;
		}
	}
	/* keyCertSign alone still makes a CA, as before basic_constraints */
	if ((err = add_key_extensions(x, p->ca || (p->key_usage & CV_KU_KEY_CERT_SIGN) != 0,
				      p->ca ? p->path_length : -1, NULL)) != CV_OK)
		goto done;
	if (X509_sign(x, key, md) <= 0) {
		err = cv_err_crypto("certificate signature");
		goto done;
	}
	*out = x;
	x = NULL;
	err = CV_OK;
done:
	X509_free(x);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	return err;
}

cv_err
cv_x509_issue(const cv_policy *p, EVP_PKEY *pub, int path_length, X509 *issuer,
	      EVP_PKEY *issuer_key, time_t now, X509 **out, int *cut)
{
	cv_err err = CV_ERR_CRYPTO;
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	ASN1_OCTET_STRING *issuer_ski = NULL;
	const ASN1_OCTET_STRING *own = NULL;
	const EVP_MD *md = NULL;
	int i;

	if (out != NULL)
		*out = NULL;
	if (cut != NULL)
		*cut = 0;
	if (p == NULL || pub == NULL || issuer == NULL || issuer_key == NULL ||
	    out == NULL || cut == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x509_issue: missing argument");
		goto done;
	}
	if ((err = signing_digest(issuer_key, &md)) != CV_OK ||
	    (err = policy_subject_and_extensions(p, &subject, &exts)) != CV_OK)
		goto done;
	if ((x = X509_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "certificate: out of memory");
		goto done;
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(issuer)) ||
	    !X509_set_pubkey(x, pub)) {
		err = cv_err_crypto("certificate");
		goto done;
	}
	if ((err = set_random_serial(x, ISSUED_SERIAL_LEN)) != CV_OK ||
	    (err = set_validity(x, now, p->validity_months)) != CV_OK)
		goto done;
	/* nothing the CA signs outlives the CA */
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0) {
		if (!X509_set1_notAfter(x, X509_get0_notAfter(issuer))) {
			err = cv_err_crypto("certificate validity");
			goto done;
		}
		*cut = 1;
	}
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		if (!X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1)) {
			err = cv_err_crypto("certificate extensions");
			goto done;
		}
	}
	if ((own = X509_get0_subject_key_id(issuer)) == NULL) {
		if ((err = key_identifier(X509_get_X509_PUBKEY(issuer), &issuer_ski)) != CV_OK)
			goto done;
		own = issuer_ski;
	}
	if ((err = add_key_extensions(x, p->ca, p->ca ? path_length : -1, own)) != CV_OK)
		goto done;
	if (X509_sign(x, issuer_key, md) <= 0) {
		err = cv_err_crypto("certificate signature");
		goto done;
	}
	*out = x;
	x = NULL;
	err = CV_OK;
done:
	X509_free(x);
	ASN1_OCTET_STRING_free(issuer_ski);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(subject);
	return err;
}
