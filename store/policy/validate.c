/* certvault policy: Validation: the one validator every parsed or patched policy goes through. */
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

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Letters, digits, hyphens and dots in labels of 1 to 63 characters, with
 * an optional leading "*." wildcard label.  Underscores are allowed too:
 * service names (_sip._tls) and many internal hosts carry them, and an
 * imported certificate naming one must keep a policy that reads back. */
static int
dns_name_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len > DNS_NAME_MAX)
		return 0;
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (is_alnum(*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

/* One '@' with something on each side. */
static int
email_valid(const char *s)
{
	const char *at = strchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' &&
	       strchr(at + 1, '@') == NULL;
}

static int
ip_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" and more. */
static int
uri_valid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; s[i] != ':'; i++) {
		if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	}
	return s[i + 1] != '\0';
}

/* A dotted OID: two or more arcs of digits, single dots between them, and
 * one OpenSSL can encode.  CV_ERR_POLICY names the entry. */
static cv_err
check_eku(const char *s, size_t j)
{
	ASN1_OBJECT *obj;
	size_t i, arcs = 1, digits = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digits++;
		} else if (s[i] == '.' && digits > 0) {
			arcs++;
			digits = 0;
		} else {
			break;
		}
	}
	if (s[i] == '\0' && digits > 0 && arcs >= 2) {
		obj = OBJ_txt2obj(s, 1);
		if (obj != NULL) {
			ASN1_OBJECT_free(obj);
			return CV_OK;
		}
		if (openssl_out_of_memory())
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
	}
	return cv_err_set(CV_ERR_POLICY,
			  "x509_props.ekus[%zu]: '%s' is not a dotted OID", j, s);
}

/* "Self" and "Unknown" in any case, or an issuer record's name. */
static int
issuer_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return 0;
	}
	return i >= 1 && i <= ISSUER_NAME_MAX;
}

static int
is_bool(int v)
{
	return v == 0 || v == 1;
}

static int
upn_valid(const char *s)
{
	return s[0] != '\0';
}

const struct san_kind san_kinds[] = {
	{ offsetof(cv_policy, emails), "emails", email_valid,
	  "is not an email address" },
	{ offsetof(cv_policy, dns_names), "dns_names", dns_name_valid,
	  "is not a DNS name" },
	{ offsetof(cv_policy, upns), "upns", upn_valid,
	  "is not a user principal name" },
	{ offsetof(cv_policy, ip_addresses), "ipAddresses", ip_valid,
	  "is not an IPv4 or IPv6 address" },
	{ offsetof(cv_policy, uris), "uris", uri_valid,
	  "is not a URI with a scheme" },
};

const cv_strlist *
san_list(const cv_policy *p, const struct san_kind *k)
{
	return (const cv_strlist *)((const char *)p + k->offset);
}

static cv_err
validate_key(const cv_policy *p)
{
	const struct curve *c;
	const char *kty;

	if (p->kty != CV_KEY_RSA && p->kty != CV_KEY_EC)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.kty: must be RSA, RSA-HSM, EC or EC-HSM");
	if (!is_bool(p->hsm))
		return cv_err_set(CV_ERR_POLICY, "key_props.kty: bad HSM flag");
	if (!is_bool(p->exportable))
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.exportable: must be true or false");
	if (!is_bool(p->reuse_key))
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.reuse_key: must be true or false");
	kty = key_type_name(p->kty, p->hsm);
	if (p->hsm && p->exportable)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.exportable: a key of type %s is kept in the HSM and cannot be exportable",
				  kty);
	if (p->kty == CV_KEY_RSA) {
		if (p->curve[0] != '\0')
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.crv: a curve is only for EC keys, not %s",
					  kty);
		if (p->key_size != 2048 && p->key_size != 3072 &&
		    p->key_size != 4096)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.key_size: %d is not an RSA key size (2048, 3072 or 4096)",
					  p->key_size);
		return CV_OK;
	}
	if (memchr(p->curve, '\0', sizeof(p->curve)) == NULL ||
	    (c = find_curve(p->curve)) == NULL)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.crv: must be P-256, P-384, P-521 or P-256K");
	if (p->key_size != 0)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.key_size: must be 0 for %s keys (the curve %s sets the size)",
				  kty, c->name);
	return CV_OK;
}

/* An import that leaves key usage or basic constraints to the certificate
 * is checked once they are taken from it. */
static cv_err
validate_basic_constraints(const cv_policy *p)
{
	if (!is_bool(p->ca))
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints.ca: must be true or false");
	if (p->path_length != -1 &&
	    (p->path_length < 0 || p->path_length > PATH_LENGTH_MAX))
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints.path_length: must be 0 to %d, not %d",
				  PATH_LENGTH_MAX, p->path_length);
	if (!p->ca && p->path_length != -1)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints.path_length: only a CA (\"ca\": true) has a path length");
	if (p->ca && (p->key_usage & CV_KU_KEY_CERT_SIGN) == 0 &&
	    (p->from_cert & CV_FROM_CERT_KEY_USAGE) == 0)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints: a CA policy needs keyCertSign in x509_props.key_usage");
	return CV_OK;
}

static cv_err
validate_x509(const cv_policy *p)
{
	const struct san_kind *k;
	const cv_strlist *l;
	X509_NAME *name = NULL;
	size_t i, j, n_sans = 0;
	cv_err err;

	for (i = 0; i < N_SAN_KINDS; i++) {
		k = &san_kinds[i];
		l = san_list(p, k);
		if (l->n > 0 && l->v == NULL)
			return cv_err_set(CV_ERR_POLICY, "x509_props.sans.%s: no list",
					  k->rest);
		for (j = 0; j < l->n; j++) {
			if (l->v[j] == NULL)
				return cv_err_set(CV_ERR_POLICY,
						  "x509_props.sans.%s[%zu]: missing",
						  k->rest, j);
			if (!utf8_valid((const unsigned char *)l->v[j],
					strlen(l->v[j])) || !k->valid(l->v[j]))
				return cv_err_set(CV_ERR_POLICY,
						  "x509_props.sans.%s[%zu]: '%s' %s",
						  k->rest, j, l->v[j], k->what);
		}
		n_sans += l->n;
	}

	/* an import policy may leave both to the certificate */
	if (p->subject == NULL && n_sans == 0 &&
	    (p->from_cert & CV_FROM_CERT_SUBJECT) == 0)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.subject: a subject or a subject alternative name is required");
	if (p->subject != NULL) {
		if (utf8_chars(p->subject) > SUBJECT_MAX_CHARS)
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.subject: at most %d characters, not %zu",
					  SUBJECT_MAX_CHARS, utf8_chars(p->subject));
		err = cv_x500_parse(p->subject, &name);
		X509_NAME_free(name);
		if (err != CV_OK)
			return err;
	}

	if ((p->key_usage & ~KU_ALL) != 0)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.key_usage: unknown key usage bits 0x%x",
				  p->key_usage & ~KU_ALL);
	if (p->ekus.n > 0 && p->ekus.v == NULL)
		return cv_err_set(CV_ERR_POLICY, "x509_props.ekus: no list");
	for (j = 0; j < p->ekus.n; j++) {
		err = check_eku(p->ekus.v[j] != NULL ? p->ekus.v[j] : "", j);
		if (err != CV_OK)
			return err;
	}
	if (p->validity_months < 1 || p->validity_months > VALIDITY_MAX_MONTHS)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.validity_months: must be 1 to %d, not %d",
				  VALIDITY_MAX_MONTHS, p->validity_months);
	return validate_basic_constraints(p);
}

static cv_err
validate_actions(const cv_policy *p)
{
	const cv_lifetime_action *a;
	int seen[3] = { 0, 0, 0 };
	int max_days = p->validity_months * DAYS_PER_MONTH_LIMIT;
	size_t i;

	if (p->n_actions > 0 && p->actions == NULL)
		return cv_err_set(CV_ERR_POLICY, "lifetime_actions: no list");
	for (i = 0; i < p->n_actions; i++) {
		a = &p->actions[i];
		if (action_name(a->action) == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "lifetime_actions[%zu].action.action_type: must be AutoRenew or EmailContacts",
					  i);
		if (seen[a->action])
			return cv_err_set(CV_ERR_POLICY,
					  "lifetime_actions[%zu].action.action_type: only one %s action is allowed",
					  i, action_name(a->action));
		seen[a->action] = 1;
		switch (a->trigger) {
		case CV_TRIGGER_LIFETIME_PERCENTAGE:
			if (a->value < 1 || a->value > 99)
				return cv_err_set(CV_ERR_POLICY,
						  "lifetime_actions[%zu].trigger.lifetime_percentage: must be 1 to 99, not %d",
						  i, a->value);
			break;
		case CV_TRIGGER_DAYS_BEFORE_EXPIRY:
			if (a->value < 1 || a->value > max_days)
				return cv_err_set(CV_ERR_POLICY,
						  "lifetime_actions[%zu].trigger.days_before_expiry: must be 1 to %d (validity_months x %d), not %d",
						  i, max_days, DAYS_PER_MONTH_LIMIT,
						  a->value);
			break;
		default:
			return cv_err_set(CV_ERR_POLICY,
					  "lifetime_actions[%zu].trigger: give exactly one of lifetime_percentage and days_before_expiry",
					  i);
		}
	}
	return CV_OK;
}

cv_err
validate_policy(const cv_policy *p)
{
	cv_err err;

	if ((err = validate_key(p)) != CV_OK)
		return err;
	if (cv_content_type_name(p->content_type) == NULL)
		return cv_err_set(CV_ERR_POLICY,
				  "secret_props.contentType: must be application/x-pkcs12 or application/x-pem-file");
	if ((err = validate_x509(p)) != CV_OK)
		return err;
	if ((err = validate_actions(p)) != CV_OK)
		return err;
	if (p->issuer_name == NULL)
		return cv_err_set(CV_ERR_POLICY, "issuer.name is required");
	if (!issuer_name_valid(p->issuer_name))
		return cv_err_set(CV_ERR_POLICY,
				  "issuer.name: '%s' is not Self, Unknown or an issuer name (1 to 127 of 0-9, a-z, A-Z and -)",
				  p->issuer_name);
	if (p->cert_type != NULL &&
	    !utf8_valid((const unsigned char *)p->cert_type,
			strlen(p->cert_type)))
		return cv_err_set(CV_ERR_POLICY, "issuer.cty: not valid UTF-8");
	if (p->cert_transparency < -1 || p->cert_transparency > 1)
		return cv_err_set(CV_ERR_POLICY,
				  "issuer.cert_transparency: must be true or false");
	if (!is_bool(p->enabled))
		return cv_err_set(CV_ERR_POLICY,
				  "attributes.enabled: must be true or false");
	return CV_OK;
}

cv_err
cv_policy_validate(const cv_policy *p)
{
	cv_err_clear();
	if (p == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_policy_validate: no policy");
	if (p->from_cert != 0)
		return cv_err_set(CV_ERR_POLICY,
				  "the policy leaves members to the certificate, which only an import has%s",
				  (p->from_cert & CV_FROM_CERT_SUBJECT) != 0 &&
					  (p->from_cert & CV_FROM_CERT_SANS) != 0 ?
					  " (x509_props.subject: a subject or a subject alternative name is required)" :
					  "");
	return validate_policy(p);
}
