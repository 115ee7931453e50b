/* certvault: certificate policies in Key Vault's JSON.
 *
 * Every input spelling is first renamed into the REST spelling
 * (normalise_document), which is also where unknown members are caught; the
 * REST document is then read into a cv_policy (policy_from_rest) and checked
 * by one validator (validate_policy).  cv_policy_update merges a patch onto
 * the REST form of its base and goes through the same reader, so a patched
 * policy obeys exactly the rules of a parsed one.
 */
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

#define KU_ALL 0x1ffu
#define SUBJECT_MAX_CHARS 200
#define VALIDITY_MAX_MONTHS 1200
#define DAYS_PER_MONTH_LIMIT 27
#define ISSUER_NAME_MAX 127
#define DNS_NAME_MAX 253
/* 30.44 days, the month Key Vault rounds an imported validity with */
#define MONTH_SECONDS 2630016LL
#define UPN_OID "1.3.6.1.4.1.311.20.2.3"

/* ------------------------------------------------------------------ */
/* Names                                                              */
/* ------------------------------------------------------------------ */

/* In the order az prints the default policy's key usages; the others
 * follow. */
static const struct ku_name {
	unsigned bit;
	const char *name;
} ku_names[] = {
	{ CV_KU_CRL_SIGN, "cRLSign" },
	{ CV_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
	{ CV_KU_DIGITAL_SIGNATURE, "digitalSignature" },
	{ CV_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
	{ CV_KU_KEY_AGREEMENT, "keyAgreement" },
	{ CV_KU_KEY_CERT_SIGN, "keyCertSign" },
	{ CV_KU_NON_REPUDIATION, "nonRepudiation" },
	{ CV_KU_ENCIPHER_ONLY, "encipherOnly" },
	{ CV_KU_DECIPHER_ONLY, "decipherOnly" },
};
#define N_KU (sizeof(ku_names) / sizeof(ku_names[0]))

static const struct key_type_name {
	const char *name;
	enum cv_key_type kty;
	int hsm;
} key_type_names[] = {
	{ "RSA", CV_KEY_RSA, 0 },
	{ "RSA-HSM", CV_KEY_RSA, 1 },
	{ "EC", CV_KEY_EC, 0 },
	{ "EC-HSM", CV_KEY_EC, 1 },
};
#define N_KEY_TYPES (sizeof(key_type_names) / sizeof(key_type_names[0]))

static const struct curve {
	const char *name;
	int bits;
	int nid;
} curves[] = {
	{ "P-256", 256, NID_X9_62_prime256v1 },
	{ "P-384", 384, NID_secp384r1 },
	{ "P-521", 521, NID_secp521r1 },
	{ "P-256K", 256, NID_secp256k1 },
};
#define N_CURVES (sizeof(curves) / sizeof(curves[0]))

static const char *const content_type_names[] = {
	[CV_CONTENT_PKCS12] = "application/x-pkcs12",
	[CV_CONTENT_PEM] = "application/x-pem-file",
};

static const char *const action_names[] = {
	[CV_ACTION_AUTO_RENEW] = "AutoRenew",
	[CV_ACTION_EMAIL_CONTACTS] = "EmailContacts",
};

const char *
cv_key_usage_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < N_KU; i++) {
		if (ku_names[i].bit == bit)
			return ku_names[i].name;
	}
	return NULL;
}

const char *
cv_content_type_name(enum cv_content_type ct)
{
	if (ct == CV_CONTENT_PKCS12 || ct == CV_CONTENT_PEM)
		return content_type_names[ct];
	return NULL;
}

static const char *
action_name(enum cv_action_type a)
{
	if (a == CV_ACTION_AUTO_RENEW || a == CV_ACTION_EMAIL_CONTACTS)
		return action_names[a];
	return NULL;
}

static const char *
key_type_name(enum cv_key_type kty, int hsm)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		if (key_type_names[i].kty == kty &&
		    key_type_names[i].hsm == (hsm != 0))
			return key_type_names[i].name;
	}
	return NULL;
}

static const struct key_type_name *
find_key_type(const char *s)
{
	size_t i;

	for (i = 0; i < N_KEY_TYPES; i++) {
		if (strcmp(key_type_names[i].name, s) == 0)
			return &key_type_names[i];
	}
	return NULL;
}

static const struct curve *
find_curve(const char *s)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		if (strcmp(curves[i].name, s) == 0)
			return &curves[i];
	}
	return NULL;
}

static const struct curve *
find_curve_by_nid(int nid)
{
	size_t i;

	for (i = 0; i < N_CURVES; i++) {
		if (curves[i].nid == nid)
			return &curves[i];
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */
/* ------------------------------------------------------------------ */

/* Well-formed UTF-8 without NUL: what JSON strings and the X.500 parser
 * can carry. */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* After an OpenSSL call failed: 1 if it ran out of memory (it says so in
 * its error queue), else 0.  Empties the queue either way. */
static int
openssl_out_of_memory(void)
{
	unsigned long e;
	int nomem = 0;

	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = 1;
	}
	return nomem;
}

static void
strlist_free(cv_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Append a copy of s[0..len). */
static cv_err
strlist_push(cv_strlist *l, const char *s, size_t len)
{
	char **v, *copy;

	copy = malloc(len + 1);
	if (copy == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	}
	v[l->n++] = copy;
	l->v = v;
	return CV_OK;
}

static cv_err
strlist_copy(cv_strlist *dst, const cv_strlist *src)
{
	cv_err err;
	size_t i;

	for (i = 0; i < src->n; i++) {
		err = strlist_push(dst, src->v[i], strlen(src->v[i]));
		if (err != CV_OK)
			return err;
	}
	return CV_OK;
}

static cv_err
dup_string(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return CV_OK;
	*out = strdup(s);
	if (*out == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	return CV_OK;
}

static cv_policy *
policy_new(void)
{
	cv_policy *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->cert_transparency = -1;
	return p;
}

void
cv_policy_free(cv_policy *p)
{
	if (p == NULL)
		return;
	free(p->subject);
	strlist_free(&p->dns_names);
	strlist_free(&p->emails);
	strlist_free(&p->upns);
	strlist_free(&p->ip_addresses);
	strlist_free(&p->uris);
	strlist_free(&p->ekus);
	free(p->actions);
	free(p->issuer_name);
	free(p->cert_type);
	free(p);
}

cv_err
cv_policy_copy(const cv_policy *p, cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *c = NULL;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_policy_copy: no policy");
		goto done;
	}
	c = policy_new();
	if (c == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	c->exportable = p->exportable;
	c->reuse_key = p->reuse_key;
	c->kty = p->kty;
	c->hsm = p->hsm;
	c->key_size = p->key_size;
	memcpy(c->curve, p->curve, sizeof(c->curve));
	c->content_type = p->content_type;
	c->key_usage = p->key_usage;
	c->validity_months = p->validity_months;
	c->cert_transparency = p->cert_transparency;
	c->enabled = p->enabled;
	c->from_cert = p->from_cert;
	if ((err = dup_string(p->subject, &c->subject)) != CV_OK ||
	    (err = dup_string(p->issuer_name, &c->issuer_name)) != CV_OK ||
	    (err = dup_string(p->cert_type, &c->cert_type)) != CV_OK ||
	    (err = strlist_copy(&c->dns_names, &p->dns_names)) != CV_OK ||
	    (err = strlist_copy(&c->emails, &p->emails)) != CV_OK ||
	    (err = strlist_copy(&c->upns, &p->upns)) != CV_OK ||
	    (err = strlist_copy(&c->ip_addresses, &p->ip_addresses)) != CV_OK ||
	    (err = strlist_copy(&c->uris, &p->uris)) != CV_OK ||
	    (err = strlist_copy(&c->ekus, &p->ekus)) != CV_OK)
		goto done;
	if (p->n_actions > 0 && p->actions != NULL) {
		c->actions = calloc(p->n_actions, sizeof(*c->actions));
		if (c->actions == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "out of memory");
			goto done;
		}
		memcpy(c->actions, p->actions,
		       p->n_actions * sizeof(*c->actions));
		c->n_actions = p->n_actions;
	}
	*out = c;
	c = NULL;
	err = CV_OK;
done:
	cv_policy_free(c);
	return err;
}

static cv_err
set_one_action(cv_policy *p, enum cv_trigger_type trigger, int value,
	       enum cv_action_type action)
{
	p->actions = calloc(1, sizeof(*p->actions));
	if (p->actions == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	p->actions[0].trigger = trigger;
	p->actions[0].value = value;
	p->actions[0].action = action;
	p->n_actions = 1;
	return CV_OK;
}

cv_err
cv_policy_default(cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL;

	cv_err_clear();
	if (out == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_policy_default: no out");
	*out = NULL;
	p = policy_new();
	if (p == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	p->kty = CV_KEY_RSA;
	p->key_size = 2048;
	p->exportable = 1;
	p->reuse_key = 1;
	p->content_type = CV_CONTENT_PKCS12;
	p->key_usage = CV_KU_CRL_SIGN | CV_KU_DATA_ENCIPHERMENT |
		       CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT |
		       CV_KU_KEY_AGREEMENT | CV_KU_KEY_CERT_SIGN;
	p->validity_months = 12;
	p->enabled = 1;
	if ((err = dup_string("CN=CLIGetDefaultPolicy", &p->subject)) != CV_OK ||
	    (err = dup_string("Self", &p->issuer_name)) != CV_OK ||
	    (err = set_one_action(p, CV_TRIGGER_DAYS_BEFORE_EXPIRY, 90,
				  CV_ACTION_AUTO_RENEW)) != CV_OK)
		goto done;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	cv_policy_free(p);
	return err;
}

/* ------------------------------------------------------------------ */
/* Validation                                                         */
/* ------------------------------------------------------------------ */

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

struct san_kind {
	size_t offset;        /* of the cv_strlist in cv_policy */
	const char *rest;     /* x509_props.sans member */
	int (*valid)(const char *);
	const char *what;
};

static int
upn_valid(const char *s)
{
	return s[0] != '\0';
}

static const struct san_kind san_kinds[] = {
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
#define N_SAN_KINDS (sizeof(san_kinds) / sizeof(san_kinds[0]))

static const cv_strlist *
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
	return CV_OK;
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

static cv_err
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

/* ------------------------------------------------------------------ */
/* Spellings                                                          */
/* ------------------------------------------------------------------ */

/* A member as one spelling writes it and its REST name.  rest == NULL
 * marks a read-only member that is accepted and dropped. */
struct schema {
	const char *name;
	const char *rest;
	const struct schema *members; /* an object's (or array element's) */
	int array;                    /* an array of such objects */
};

#define VALUE(n, r) { (n), (r), NULL, 0 }
#define OBJECT(n, r, m) { (n), (r), (m), 0 }
#define ARRAY(n, r, m) { (n), (r), (m), 1 }
#define END { NULL, NULL, NULL, 0 }

/* REST */
static const struct schema rest_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("kty", "kty"),
	VALUE("key_size", "key_size"), VALUE("reuse_key", "reuse_key"),
	VALUE("crv", "crv"), END,
};
static const struct schema rest_secret_props[] = {
	VALUE("contentType", "contentType"), END,
};
static const struct schema rest_sans[] = {
	VALUE("emails", "emails"), VALUE("dns_names", "dns_names"),
	VALUE("upns", "upns"), VALUE("ipAddresses", "ipAddresses"),
	VALUE("uris", "uris"), END,
};
static const struct schema rest_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("sans", "sans", rest_sans), VALUE("key_usage", "key_usage"),
	VALUE("validity_months", "validity_months"), END,
};
static const struct schema rest_trigger[] = {
	VALUE("lifetime_percentage", "lifetime_percentage"),
	VALUE("days_before_expiry", "days_before_expiry"), END,
};
static const struct schema rest_action[] = {
	VALUE("action_type", "action_type"), END,
};
static const struct schema rest_lifetime_action[] = {
	OBJECT("trigger", "trigger", rest_trigger),
	OBJECT("action", "action", rest_action), END,
};
static const struct schema rest_issuer[] = {
	VALUE("name", "name"), VALUE("cty", "cty"),
	VALUE("cert_transparency", "cert_transparency"), END,
};
static const struct schema rest_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("nbf", NULL), VALUE("exp", NULL),
	VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recoveryLevel", NULL), VALUE("recoverableDays", NULL), END,
};
static const struct schema rest_policy[] = {
	VALUE("id", NULL),
	OBJECT("key_props", "key_props", rest_key_props),
	OBJECT("secret_props", "secret_props", rest_secret_props),
	OBJECT("x509_props", "x509_props", rest_x509_props),
	ARRAY("lifetime_actions", "lifetime_actions", rest_lifetime_action),
	OBJECT("issuer", "issuer", rest_issuer),
	OBJECT("attributes", "attributes", rest_attributes), END,
};

/* az CLI, camelCase */
static const struct schema az_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("keyType", "kty"),
	VALUE("keySize", "key_size"), VALUE("reuseKey", "reuse_key"),
	VALUE("curve", "crv"), END,
};
static const struct schema az_secret_props[] = {
	VALUE("contentType", "contentType"), END,
};
static const struct schema az_sans[] = {
	VALUE("emails", "emails"), VALUE("dnsNames", "dns_names"),
	VALUE("upns", "upns"), VALUE("ipAddresses", "ipAddresses"),
	VALUE("uris", "uris"), END,
};
static const struct schema az_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("subjectAlternativeNames", "sans", az_sans),
	VALUE("keyUsage", "key_usage"),
	VALUE("validityInMonths", "validity_months"), END,
};
static const struct schema az_trigger[] = {
	VALUE("lifetimePercentage", "lifetime_percentage"),
	VALUE("daysBeforeExpiry", "days_before_expiry"), END,
};
static const struct schema az_action[] = {
	VALUE("actionType", "action_type"), END,
};
static const struct schema az_lifetime_action[] = {
	OBJECT("trigger", "trigger", az_trigger),
	OBJECT("action", "action", az_action), END,
};
static const struct schema az_issuer[] = {
	VALUE("name", "name"), VALUE("certificateType", "cty"),
	VALUE("certificateTransparency", "cert_transparency"), END,
};
static const struct schema az_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("notBefore", NULL),
	VALUE("expires", NULL), VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recoveryLevel", NULL), VALUE("recoverableDays", NULL), END,
};
static const struct schema az_policy[] = {
	VALUE("id", NULL),
	OBJECT("keyProperties", "key_props", az_key_props),
	OBJECT("secretProperties", "secret_props", az_secret_props),
	OBJECT("x509CertificateProperties", "x509_props", az_x509_props),
	ARRAY("lifetimeActions", "lifetime_actions", az_lifetime_action),
	OBJECT("issuerParameters", "issuer", az_issuer),
	OBJECT("attributes", "attributes", az_attributes), END,
};

/* the older az CLI, snake_case */
static const struct schema snake_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("key_type", "kty"),
	VALUE("key_size", "key_size"), VALUE("reuse_key", "reuse_key"),
	VALUE("curve", "crv"), END,
};
static const struct schema snake_secret_props[] = {
	VALUE("content_type", "contentType"), END,
};
static const struct schema snake_sans[] = {
	VALUE("emails", "emails"), VALUE("dns_names", "dns_names"),
	VALUE("upns", "upns"), END,
};
static const struct schema snake_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("subject_alternative_names", "sans", snake_sans),
	VALUE("key_usage", "key_usage"),
	VALUE("validity_in_months", "validity_months"), END,
};
static const struct schema snake_issuer[] = {
	VALUE("name", "name"), VALUE("certificate_type", "cty"),
	VALUE("certificate_transparency", "cert_transparency"), END,
};
static const struct schema snake_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("not_before", NULL),
	VALUE("expires", NULL), VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recovery_level", NULL), VALUE("recoverable_days", NULL), END,
};
static const struct schema snake_policy[] = {
	VALUE("id", NULL),
	OBJECT("key_properties", "key_props", snake_key_props),
	OBJECT("secret_properties", "secret_props", snake_secret_props),
	OBJECT("x509_certificate_properties", "x509_props", snake_x509_props),
	ARRAY("lifetime_actions", "lifetime_actions", rest_lifetime_action),
	OBJECT("issuer_parameters", "issuer", snake_issuer),
	OBJECT("attributes", "attributes", snake_attributes), END,
};

/* In the order a document matching several (only shared members) is
 * read as. */
static const struct spelling {
	const char *name;
	const struct schema *schema;
} spellings[] = {
	{ "REST", rest_policy },
	{ "az CLI", az_policy },
	{ "older az CLI", snake_policy },
};
#define N_SPELLINGS (sizeof(spellings) / sizeof(spellings[0]))

static const struct schema *
find_member(const struct schema *s, const char *name)
{
	for (; s->name != NULL; s++) {
		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* Member paths for details; a path too long for buf is cut, which only
 * shortens a detail. */
static void
join_path(char *buf, size_t n, const char *parent, const char *name)
{
	snprintf(buf, n, "%s%s%s", parent, parent[0] ? "." : "", name);
}

static void
index_path(char *buf, size_t n, const char *parent, size_t i)
{
	snprintf(buf, n, "%s[%zu]", parent, i);
}

/* Copy in's members into out under their REST names, recursing into
 * known objects; nulls and read-only members are left out.  A value of
 * the wrong JSON type is copied as it is, for policy_from_rest to name. */
static cv_err
normalise_object(json_t *in, const struct schema *schema, const char *path,
		 json_t *out)
{
	const struct schema *m;
	json_t *value, *copy = NULL, *elem, *ecopy;
	const char *key;
	char sub[160], idx[200];
	cv_err err = CV_OK;
	size_t i;

	json_object_foreach(in, key, value) {
		m = find_member(schema, key);
		if (m == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "unknown policy member '%s%s%s'", path,
					  path[0] ? "." : "", key);
		if (m->rest == NULL || json_is_null(value))
			continue;
		join_path(sub, sizeof(sub), path, m->name);
		if (m->members != NULL && !m->array && json_is_object(value)) {
			copy = json_object();
			if (copy == NULL)
				goto nomem;
			err = normalise_object(value, m->members, sub, copy);
			if (err != CV_OK)
				goto done;
		} else if (m->array && json_is_array(value)) {
			copy = json_array();
			if (copy == NULL)
				goto nomem;
			json_array_foreach(value, i, elem) {
				if (json_is_object(elem)) {
					index_path(idx, sizeof(idx), sub, i);
					ecopy = json_object();
					if (ecopy == NULL)
						goto nomem;
					err = normalise_object(elem, m->members, idx,
							       ecopy);
					if (err != CV_OK) {
						json_decref(ecopy);
						goto done;
					}
				} else {
					ecopy = json_incref(elem);
				}
				if (json_array_append_new(copy, ecopy) != 0)
					goto nomem;
			}
		} else {
			copy = json_incref(value);
		}
		if (json_object_set_new(out, m->rest, copy) != 0) {
			copy = NULL;
			goto nomem;
		}
		copy = NULL;
	}
	return CV_OK;

nomem:
	err = cv_err_set(CV_ERR_NOMEM, "out of memory");
done:
	json_decref(copy);
	return err;
}

/* Which spelling the top-level members are in, then the document renamed
 * into the REST spelling. */
static cv_err
normalise_document(json_t *doc, json_t **out)
{
	unsigned mask = (1u << N_SPELLINGS) - 1, key_mask, before;
	const char *key, *first_key = NULL;
	json_t *value, *rest = NULL;
	cv_err err;
	size_t i, spell;

	*out = NULL;
	json_object_foreach(doc, key, value) {
		key_mask = 0;
		for (i = 0; i < N_SPELLINGS; i++) {
			if (find_member(spellings[i].schema, key) != NULL)
				key_mask |= 1u << i;
		}
		if (key_mask == 0)
			return cv_err_set(CV_ERR_POLICY,
					  "unknown policy member '%s'", key);
		before = mask;
		mask &= key_mask;
		if (mask == 0) {
			size_t a = 0, b = 0;

			while (!(before & (1u << a)))
				a++;
			while (!(key_mask & (1u << b)))
				b++;
			return cv_err_set(CV_ERR_POLICY,
					  "policy member '%s' is %s spelling but '%s' is %s spelling; use one spelling",
					  key, spellings[b].name,
					  first_key ? first_key : "?",
					  spellings[a].name);
		}
		if (key_mask != (1u << N_SPELLINGS) - 1 && first_key == NULL)
			first_key = key;
	}
	for (spell = 0; !(mask & (1u << spell)); spell++)
		;
	rest = json_object();
	if (rest == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	err = normalise_object(doc, spellings[spell].schema, "", rest);
	if (err != CV_OK) {
		json_decref(rest);
		return err;
	}
	*out = rest;
	return CV_OK;
}

/* The document as an object, with Key Vault's words for what is wrong. */
static cv_err
load_document(const char *text, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *doc;
	size_t i;

	*out = NULL;
	if (text == NULL && len > 0)
		return cv_err_set(CV_ERR_INVALID, "no policy document");
	for (i = 0; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
		    text[i] != '\r')
			break;
	}
	if (i == len)
		return cv_err_set(CV_ERR_JSON, "the policy document is empty");
	memset(&jerr, 0, sizeof(jerr));
	doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			 &jerr);
	if (doc == NULL) {
		/* jansson leaves the text empty when an allocation fails */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    jerr.text[0] == '\0')
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
		return cv_err_set(CV_ERR_JSON,
				  "malformed JSON at line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return cv_err_set(CV_ERR_POLICY,
				  "the policy document must be a JSON object");
	}
	*out = doc;
	return CV_OK;
}

/* ------------------------------------------------------------------ */
/* Reading the REST form                                              */
/* ------------------------------------------------------------------ */

/* Each getter treats an absent member and a null alike: not given. */

static json_t *
member(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static cv_err
get_object(json_t *obj, const char *path, const char *key, json_t **out)
{
	json_t *v = member(obj, key);
	char name[160];

	*out = NULL;
	if (v == NULL)
		return CV_OK;
	join_path(name, sizeof(name), path, key);
	if (!json_is_object(v))
		return cv_err_set(CV_ERR_POLICY, "%s: must be an object", name);
	*out = v;
	return CV_OK;
}

static cv_err
get_bool(json_t *obj, const char *path, const char *key, int *val, int *given)
{
	json_t *v = member(obj, key);

	*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_boolean(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be true or false",
				  path, key);
	*val = json_is_true(v);
	*given = 1;
	return CV_OK;
}

static cv_err
get_int(json_t *obj, const char *path, const char *key, int *val, int *given)
{
	json_t *v = member(obj, key);
	json_int_t n;

	*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_integer(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be an integer",
				  path, key);
	n = json_integer_value(v);
	if (n < INT_MIN || n > INT_MAX)
		return cv_err_set(CV_ERR_POLICY, "%s.%s: %" JSON_INTEGER_FORMAT
				  " is out of range", path, key, n);
	*val = (int)n;
	*given = 1;
	return CV_OK;
}

static cv_err
get_string(json_t *obj, const char *path, const char *key, const char **val)
{
	json_t *v = member(obj, key);

	*val = NULL;
	if (v == NULL)
		return CV_OK;
	if (!json_is_string(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be a string", path,
				  key);
	*val = json_string_value(v);
	return CV_OK;
}

/* An array of strings; *given tells an empty array from an absent one. */
static cv_err
get_strings(json_t *obj, const char *path, const char *key, cv_strlist *out,
	    int *given)
{
	json_t *v = member(obj, key), *e;
	cv_err err;
	size_t i;

	if (given != NULL)
		*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_array(v))
		return cv_err_set(CV_ERR_POLICY,
				  "%s.%s: must be an array of strings", path, key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return cv_err_set(CV_ERR_POLICY,
					  "%s.%s[%zu]: must be a string", path,
					  key, i);
		err = strlist_push(out, json_string_value(e),
				   json_string_length(e));
		if (err != CV_OK)
			return err;
	}
	if (given != NULL)
		*given = 1;
	return CV_OK;
}

static cv_err
read_key_props(json_t *root, cv_policy *p)
{
	const struct key_type_name *kt = NULL;
	const struct curve *c = NULL;
	const char *kty, *crv;
	json_t *kp;
	int given, size = 0, size_given;
	cv_err err;
	size_t i;

	p->kty = CV_KEY_RSA;
	p->exportable = 1;
	if ((err = get_object(root, "", "key_props", &kp)) != CV_OK ||
	    (err = get_string(kp, "key_props", "kty", &kty)) != CV_OK ||
	    (err = get_string(kp, "key_props", "crv", &crv)) != CV_OK ||
	    (err = get_int(kp, "key_props", "key_size", &size,
			   &size_given)) != CV_OK)
		return err;
	if (kty == NULL)
		p->from_cert |= CV_FROM_CERT_KEY_TYPE;
	if (!size_given && crv == NULL)
		p->from_cert |= CV_FROM_CERT_KEY_SIZE;
	if (kty != NULL) {
		kt = find_key_type(kty);
		if (kt == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.kty: '%s' is not a key type (RSA, RSA-HSM, EC or EC-HSM)",
					  kty);
		p->kty = kt->kty;
		p->hsm = kt->hsm;
		p->exportable = !kt->hsm;
	}
	if ((err = get_bool(kp, "key_props", "exportable", &p->exportable,
			    &given)) != CV_OK ||
	    (err = get_bool(kp, "key_props", "reuse_key", &p->reuse_key,
			    &given)) != CV_OK)
		return err;
	if (crv != NULL) {
		c = find_curve(crv);
		if (c == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.crv: '%s' is not a curve (P-256, P-384, P-521 or P-256K)",
					  crv);
		if (p->kty != CV_KEY_EC)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.crv: a curve is only for EC keys, not %s",
					  kty != NULL ? kty : "RSA");
	}
	if (p->kty == CV_KEY_RSA) {
		p->key_size = size_given ? size : 2048;
		return CV_OK;
	}
	if (c == NULL && size_given) {
		/* no crv: the size names the curve, as before crv existed */
		for (i = 0; i < N_CURVES && c == NULL; i++) {
			if (curves[i].bits == size)
				c = &curves[i];
		}
		if (c == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.key_size: %d is not an EC key size (256, 384 or 521)",
					  size);
	}
	if (c == NULL)
		c = &curves[0];
	if (size_given && size != c->bits)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.key_size: %d does not match curve %s (%d bits)",
				  size, c->name, c->bits);
	snprintf(p->curve, sizeof(p->curve), "%s", c->name);
	p->key_size = 0;
	return CV_OK;
}

static cv_err
read_secret_props(json_t *root, cv_policy *p)
{
	const char *ct;
	json_t *sp;
	cv_err err;

	p->content_type = CV_CONTENT_PKCS12;
	if ((err = get_object(root, "", "secret_props", &sp)) != CV_OK ||
	    (err = get_string(sp, "secret_props", "contentType", &ct)) != CV_OK)
		return err;
	if (ct == NULL) {
		p->from_cert |= CV_FROM_CERT_CONTENT_TYPE;
		return CV_OK;
	}
	if (strcmp(ct, content_type_names[CV_CONTENT_PKCS12]) == 0)
		p->content_type = CV_CONTENT_PKCS12;
	else if (strcmp(ct, content_type_names[CV_CONTENT_PEM]) == 0)
		p->content_type = CV_CONTENT_PEM;
	else
		return cv_err_set(CV_ERR_POLICY,
				  "secret_props.contentType: '%s' is not application/x-pkcs12 or application/x-pem-file",
				  ct);
	return CV_OK;
}

static cv_err
read_x509_props(json_t *root, cv_policy *p)
{
	json_t *xp, *sans, *ku, *e;
	const char *subject;
	int given;
	cv_err err;
	size_t i, k;

	p->validity_months = 12;
	p->key_usage = CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT;
	if ((err = get_object(root, "", "x509_props", &xp)) != CV_OK ||
	    (err = get_string(xp, "x509_props", "subject", &subject)) != CV_OK ||
	    (err = dup_string(subject, &p->subject)) != CV_OK ||
	    (err = get_object(xp, "x509_props", "sans", &sans)) != CV_OK ||
	    (err = get_strings(xp, "x509_props", "ekus", &p->ekus,
			       NULL)) != CV_OK ||
	    (err = get_int(xp, "x509_props", "validity_months",
			   &p->validity_months, &given)) != CV_OK)
		return err;
	for (i = 0; i < N_SAN_KINDS; i++) {
		cv_strlist *l = (cv_strlist *)((char *)p + san_kinds[i].offset);

		err = get_strings(sans, "x509_props.sans", san_kinds[i].rest, l,
				  NULL);
		if (err != CV_OK)
			return err;
	}
	if (subject == NULL)
		p->from_cert |= CV_FROM_CERT_SUBJECT;
	if (sans == NULL)
		p->from_cert |= CV_FROM_CERT_SANS;
	if (member(xp, "ekus") == NULL)
		p->from_cert |= CV_FROM_CERT_EKUS;
	if (!given)
		p->from_cert |= CV_FROM_CERT_VALIDITY;

	ku = member(xp, "key_usage");
	if (ku == NULL) {
		p->from_cert |= CV_FROM_CERT_KEY_USAGE;
		return CV_OK;
	}
	if (!json_is_array(ku))
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.key_usage: must be an array of strings");
	/* an explicit empty list states no key usage at all */
	p->key_usage = 0;
	json_array_foreach(ku, i, e) {
		if (!json_is_string(e))
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.key_usage[%zu]: must be a string",
					  i);
		for (k = 0; k < N_KU; k++) {
			if (strcmp(ku_names[k].name, json_string_value(e)) == 0)
				break;
		}
		if (k == N_KU)
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.key_usage[%zu]: '%s' is not a key usage",
					  i, json_string_value(e));
		p->key_usage |= ku_names[k].bit;
	}
	return CV_OK;
}

static cv_err
read_action(json_t *elem, size_t i, cv_lifetime_action *a)
{
	json_t *trigger, *action;
	const char *type;
	char path[64];
	int pct = 0, days = 0, pct_given, days_given;
	cv_err err;

	snprintf(path, sizeof(path), "lifetime_actions[%zu]", i);
	if (!json_is_object(elem))
		return cv_err_set(CV_ERR_POLICY, "%s: must be an object", path);
	if ((err = get_object(elem, path, "trigger", &trigger)) != CV_OK ||
	    (err = get_object(elem, path, "action", &action)) != CV_OK)
		return err;
	if (trigger == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.trigger is required", path);
	if (action == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.action is required", path);

	snprintf(path, sizeof(path), "lifetime_actions[%zu].trigger", i);
	if ((err = get_int(trigger, path, "lifetime_percentage", &pct,
			   &pct_given)) != CV_OK ||
	    (err = get_int(trigger, path, "days_before_expiry", &days,
			   &days_given)) != CV_OK)
		return err;
	if (pct_given == days_given)
		return cv_err_set(CV_ERR_POLICY,
				  "%s: give exactly one of lifetime_percentage and days_before_expiry",
				  path);
	a->trigger = pct_given ? CV_TRIGGER_LIFETIME_PERCENTAGE :
				 CV_TRIGGER_DAYS_BEFORE_EXPIRY;
	a->value = pct_given ? pct : days;

	snprintf(path, sizeof(path), "lifetime_actions[%zu].action", i);
	if ((err = get_string(action, path, "action_type", &type)) != CV_OK)
		return err;
	if (type == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.action_type is required",
				  path);
	if (strcmp(type, action_names[CV_ACTION_AUTO_RENEW]) == 0)
		a->action = CV_ACTION_AUTO_RENEW;
	else if (strcmp(type, action_names[CV_ACTION_EMAIL_CONTACTS]) == 0)
		a->action = CV_ACTION_EMAIL_CONTACTS;
	else
		return cv_err_set(CV_ERR_POLICY,
				  "%s.action_type: '%s' is not AutoRenew or EmailContacts",
				  path, type);
	return CV_OK;
}

static cv_err
read_issuer(json_t *root, cv_policy *p)
{
	const char *name, *cty;
	json_t *is;
	int given;
	cv_err err;

	if ((err = get_object(root, "", "issuer", &is)) != CV_OK)
		return err;
	if (is == NULL) {
		p->from_cert |= CV_FROM_CERT_ISSUER;
		return dup_string("Self", &p->issuer_name);
	}
	if ((err = get_string(is, "issuer", "name", &name)) != CV_OK ||
	    (err = get_string(is, "issuer", "cty", &cty)) != CV_OK ||
	    (err = get_bool(is, "issuer", "cert_transparency",
			    &p->cert_transparency, &given)) != CV_OK)
		return err;
	if (name == NULL)
		return cv_err_set(CV_ERR_POLICY, "issuer.name is required");
	if (strcasecmp(name, "Self") == 0)
		name = "Self";
	else if (strcasecmp(name, "Unknown") == 0)
		name = "Unknown";
	if ((err = dup_string(name, &p->issuer_name)) != CV_OK ||
	    (err = dup_string(cty, &p->cert_type)) != CV_OK)
		return err;
	return CV_OK;
}

static cv_err
read_actions(json_t *root, cv_policy *p)
{
	json_t *la = member(root, "lifetime_actions"), *e;
	cv_err err;
	size_t i;

	if (la == NULL) {
		p->from_cert |= CV_FROM_CERT_ACTIONS;
		/* Key Vault's default: renew at 80% where the vault can renew,
		 * mail the contacts where it cannot */
		return set_one_action(p, CV_TRIGGER_LIFETIME_PERCENTAGE, 80,
				      strcmp(p->issuer_name, "Unknown") == 0 ?
					      CV_ACTION_EMAIL_CONTACTS :
					      CV_ACTION_AUTO_RENEW);
	}
	if (!json_is_array(la))
		return cv_err_set(CV_ERR_POLICY,
				  "lifetime_actions: must be an array");
	if (json_array_size(la) == 0)
		return CV_OK;
	p->actions = calloc(json_array_size(la), sizeof(*p->actions));
	if (p->actions == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	json_array_foreach(la, i, e) {
		err = read_action(e, i, &p->actions[i]);
		if (err != CV_OK)
			return err;
		p->n_actions = i + 1;
	}
	return CV_OK;
}

/* A REST document (normalised) into a validated policy; for an import
 * (cv_policy_parse_import) the members left out stay marked in from_cert. */
static cv_err
policy_from_rest(json_t *root, int import, cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL;
	json_t *attrs;
	int given;

	*out = NULL;
	p = policy_new();
	if (p == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	p->enabled = 1;
	if ((err = read_key_props(root, p)) != CV_OK ||
	    (err = read_secret_props(root, p)) != CV_OK ||
	    (err = read_x509_props(root, p)) != CV_OK ||
	    (err = read_issuer(root, p)) != CV_OK ||
	    (err = read_actions(root, p)) != CV_OK ||
	    (err = get_object(root, "", "attributes", &attrs)) != CV_OK ||
	    (err = get_bool(attrs, "attributes", "enabled", &p->enabled,
			    &given)) != CV_OK)
		goto done;
	if (!import)
		p->from_cert = 0;
	if ((err = validate_policy(p)) != CV_OK)
		goto done;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	cv_policy_free(p);
	return err;
}

static cv_err
parse_document(const char *json, size_t len, int import, cv_policy **out)
{
	json_t *doc = NULL, *rest = NULL;
	cv_err err;

	cv_err_clear();
	if (out == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_policy_parse: no out");
	*out = NULL;
	if ((err = load_document(json, len, &doc)) != CV_OK ||
	    (err = normalise_document(doc, &rest)) != CV_OK ||
	    (err = policy_from_rest(rest, import, out)) != CV_OK)
		goto done;
done:
	json_decref(rest);
	json_decref(doc);
	return err;
}

cv_err
cv_policy_parse(const char *json, size_t len, cv_policy **out)
{
	return parse_document(json, len, 0, out);
}

cv_err
cv_policy_parse_import(const char *json, size_t len, cv_policy **out)
{
	return parse_document(json, len, 1, out);
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */
/* ------------------------------------------------------------------ */

/* Each adder returns 0 or -1 (out of memory or a string that is not
 * UTF-8); json_object_set_new takes NULL values as failures. */

static int
add(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value);
}

static json_t *
string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
string_array(const cv_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		if (json_array_append_new(a, json_string(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
key_usage_array(unsigned ku)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < N_KU; i++) {
		if ((ku & ku_names[i].bit) &&
		    json_array_append_new(a, json_string(ku_names[i].name)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
add_nonempty_list(json_t *obj, const char *key, const cv_strlist *l)
{
	return l->n == 0 ? 0 : add(obj, key, string_array(l));
}

static json_t *
actions_json(const cv_policy *p, enum cv_policy_style style)
{
	int az = style == CV_POLICY_JSON_AZ;
	json_t *arr = json_array(), *elem = NULL, *trigger = NULL,
	       *action = NULL;
	const cv_lifetime_action *a;
	const char *tname;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < p->n_actions && p->actions != NULL; i++) {
		a = &p->actions[i];
		elem = json_object();
		trigger = json_object();
		action = json_object();
		if (elem == NULL || trigger == NULL || action == NULL)
			goto fail;
		tname = NULL;
		if (a->trigger == CV_TRIGGER_LIFETIME_PERCENTAGE)
			tname = az ? "lifetimePercentage" : "lifetime_percentage";
		else if (a->trigger == CV_TRIGGER_DAYS_BEFORE_EXPIRY)
			tname = az ? "daysBeforeExpiry" : "days_before_expiry";
		if (tname != NULL &&
		    add(trigger, tname, json_integer(a->value)) != 0)
			goto fail;
		if (add(action, az ? "actionType" : "action_type",
			string_or_null(action_name(a->action))) != 0)
			goto fail;
		/* az sorts its keys; Key Vault writes the trigger first */
		if (az) {
			if (add(elem, "action", action) != 0) {
				action = NULL;
				goto fail;
			}
			action = NULL;
		}
		if (add(elem, "trigger", trigger) != 0) {
			trigger = NULL;
			goto fail;
		}
		trigger = NULL;
		if (!az) {
			if (add(elem, "action", action) != 0) {
				action = NULL;
				goto fail;
			}
			action = NULL;
		}
		if (json_array_append_new(arr, elem) != 0) {
			elem = NULL;
			goto fail;
		}
		elem = NULL;
	}
	return arr;
fail:
	json_decref(elem);
	json_decref(trigger);
	json_decref(action);
	json_decref(arr);
	return NULL;
}

static json_t *
rest_json(const cv_policy *p)
{
	json_t *root = json_object(), *o = NULL, *sans = NULL;
	const cv_strlist *l;
	size_t i;
	int has_sans = 0;

	if (root == NULL)
		return NULL;

	o = json_object();
	if (o == NULL || add(o, "exportable", json_boolean(p->exportable)) ||
	    add(o, "kty", string_or_null(key_type_name(p->kty, p->hsm))) ||
	    (p->kty != CV_KEY_EC &&
	     add(o, "key_size", json_integer(p->key_size))) ||
	    add(o, "reuse_key", json_boolean(p->reuse_key)) ||
	    (p->kty == CV_KEY_EC && add(o, "crv", json_string(p->curve))))
		goto fail;
	if (add(root, "key_props", o) != 0)
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    add(o, "contentType",
		string_or_null(cv_content_type_name(p->content_type))))
		goto fail;
	if (add(root, "secret_props", o) != 0)
		goto fail_owned;

	o = json_object();
	sans = json_object();
	if (o == NULL || sans == NULL ||
	    (p->subject != NULL && add(o, "subject", json_string(p->subject))) ||
	    add_nonempty_list(o, "ekus", &p->ekus))
		goto fail;
	for (i = 0; i < N_SAN_KINDS; i++) {
		l = san_list(p, &san_kinds[i]);
		has_sans |= l->n > 0;
		if (add_nonempty_list(sans, san_kinds[i].rest, l))
			goto fail;
	}
	if (has_sans) {
		if (add(o, "sans", sans) != 0) {
			sans = NULL;
			goto fail;
		}
		sans = NULL;
	}
	if (add(o, "key_usage", key_usage_array(p->key_usage)) ||
	    add(o, "validity_months", json_integer(p->validity_months)))
		goto fail;
	if (add(root, "x509_props", o) != 0)
		goto fail_owned;

	if (add(root, "lifetime_actions", actions_json(p, CV_POLICY_JSON_REST)))
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    (p->issuer_name != NULL &&
	     add(o, "name", json_string(p->issuer_name))) ||
	    (p->cert_type != NULL && add(o, "cty", json_string(p->cert_type))) ||
	    (p->cert_transparency >= 0 &&
	     add(o, "cert_transparency", json_boolean(p->cert_transparency))))
		goto fail;
	if (add(root, "issuer", o) != 0)
		goto fail_owned;

	o = json_object();
	if (o == NULL || add(o, "enabled", json_boolean(p->enabled)))
		goto fail;
	if (add(root, "attributes", o) != 0)
		goto fail_owned;
	json_decref(sans);
	return root;

fail_owned:
	o = NULL;
fail:
	json_decref(o);
	json_decref(sans);
	json_decref(root);
	return NULL;
}

static json_t *
az_json(const cv_policy *p)
{
	json_t *root = json_object(), *o = NULL, *sans = NULL;
	const struct curve *c;
	int has_sans = 0, key_size = p->key_size;

	if (root == NULL)
		return NULL;

	/* az prints no attributes; a disabled policy still says so */
	if (p->enabled != 1) {
		o = json_object();
		if (o == NULL || add(o, "enabled", json_boolean(p->enabled)))
			goto fail;
		if (add(root, "attributes", o) != 0)
			goto fail_owned;
	}

	o = json_object();
	if (o == NULL ||
	    add(o, "certificateTransparency",
		p->cert_transparency >= 0 ?
			json_boolean(p->cert_transparency) : json_null()) ||
	    /* az leaves certificateType out when it is not set. */
	    (p->cert_type != NULL &&
	     add(o, "certificateType", json_string(p->cert_type))) ||
	    add(o, "name", string_or_null(p->issuer_name)))
		goto fail;
	if (add(root, "issuerParameters", o) != 0)
		goto fail_owned;

	if (p->kty == CV_KEY_EC) {
		c = find_curve(p->curve);
		key_size = c != NULL ? c->bits : 0;
	}
	o = json_object();
	if (o == NULL ||
	    add(o, "curve", p->kty == CV_KEY_EC && p->curve[0] != '\0' ?
				json_string(p->curve) : json_null()) ||
	    add(o, "exportable", json_boolean(p->exportable)) ||
	    add(o, "keySize", key_size != 0 ? json_integer(key_size) :
					      json_null()) ||
	    add(o, "keyType", string_or_null(key_type_name(p->kty, p->hsm))) ||
	    add(o, "reuseKey", json_boolean(p->reuse_key)))
		goto fail;
	if (add(root, "keyProperties", o) != 0)
		goto fail_owned;

	if (add(root, "lifetimeActions", actions_json(p, CV_POLICY_JSON_AZ)))
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    add(o, "contentType",
		string_or_null(cv_content_type_name(p->content_type))))
		goto fail;
	if (add(root, "secretProperties", o) != 0)
		goto fail_owned;

	o = json_object();
	sans = json_object();
	if (o == NULL || sans == NULL ||
	    add_nonempty_list(o, "ekus", &p->ekus) ||
	    add(o, "keyUsage", key_usage_array(p->key_usage)) ||
	    (p->subject != NULL && add(o, "subject", json_string(p->subject))))
		goto fail;
	/* az's sorted order */
	if (add_nonempty_list(sans, "dnsNames", &p->dns_names) ||
	    add_nonempty_list(sans, "emails", &p->emails) ||
	    add_nonempty_list(sans, "ipAddresses", &p->ip_addresses) ||
	    add_nonempty_list(sans, "upns", &p->upns) ||
	    add_nonempty_list(sans, "uris", &p->uris))
		goto fail;
	has_sans = json_object_size(sans) > 0;
	if (has_sans) {
		if (add(o, "subjectAlternativeNames", sans) != 0) {
			sans = NULL;
			goto fail;
		}
		sans = NULL;
	}
	if (add(o, "validityInMonths", json_integer(p->validity_months)))
		goto fail;
	if (add(root, "x509CertificateProperties", o) != 0)
		goto fail_owned;
	json_decref(sans);
	return root;

fail_owned:
	o = NULL;
fail:
	json_decref(o);
	json_decref(sans);
	json_decref(root);
	return NULL;
}

/* Why a policy could not be written: jansson refuses strings that are
 * not UTF-8, which only a policy built in memory can hold. */
static cv_err
write_failure(const cv_policy *p)
{
	const char *bad = NULL;
	size_t i, j;

	if (p->subject != NULL &&
	    !utf8_valid((const unsigned char *)p->subject, strlen(p->subject)))
		bad = "x509_props.subject";
	for (i = 0; i < N_SAN_KINDS && bad == NULL; i++) {
		const cv_strlist *l = san_list(p, &san_kinds[i]);

		for (j = 0; j < l->n; j++) {
			if (l->v[j] == NULL ||
			    !utf8_valid((const unsigned char *)l->v[j],
					strlen(l->v[j])))
				bad = san_kinds[i].rest;
		}
	}
	for (j = 0; j < p->ekus.n && bad == NULL; j++) {
		if (p->ekus.v[j] == NULL ||
		    !utf8_valid((const unsigned char *)p->ekus.v[j],
				strlen(p->ekus.v[j])))
			bad = "x509_props.ekus";
	}
	if (bad == NULL && p->issuer_name != NULL &&
	    !utf8_valid((const unsigned char *)p->issuer_name,
			strlen(p->issuer_name)))
		bad = "issuer.name";
	if (bad == NULL && p->cert_type != NULL &&
	    !utf8_valid((const unsigned char *)p->cert_type,
			strlen(p->cert_type)))
		bad = "issuer.cty";
	if (bad != NULL)
		return cv_err_set(CV_ERR_INVALID, "%s: not valid UTF-8", bad);
	return cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
}

cv_err
cv_policy_to_json(const cv_policy *p, enum cv_policy_style style, char **out)
{
	cv_err err = CV_ERR_NOMEM;
	json_t *root = NULL;
	json_malloc_t jmalloc;
	json_free_t jfree;
	char *text = NULL, *result = NULL;
	size_t len;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL ||
	    (style != CV_POLICY_JSON_REST && style != CV_POLICY_JSON_AZ)) {
		err = cv_err_set(CV_ERR_INVALID,
				 "cv_policy_to_json: bad arguments");
		goto done;
	}
	root = style == CV_POLICY_JSON_AZ ? az_json(p) : rest_json(p);
	if (root == NULL) {
		err = write_failure(p);
		goto done;
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (text == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
		goto done;
	}
	len = strlen(text);
	result = malloc(len + 2);
	if (result == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
		goto done;
	}
	memcpy(result, text, len);
	result[len] = '\n';
	result[len + 1] = '\0';
	*out = result;
	result = NULL;
	err = CV_OK;
done:
	if (text != NULL) {
		json_get_alloc_funcs(&jmalloc, &jfree);
		jfree(text);
	}
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------------ */
/* Update                                                             */
/* ------------------------------------------------------------------ */

/* RFC 7386 without deletion: a null in the patch means "not given", and
 * normalise_document has already left the nulls out. */
static cv_err
merge_object(json_t *target, json_t *patch)
{
	const char *key;
	json_t *pv, *tv;
	cv_err err;

	json_object_foreach(patch, key, pv) {
		tv = json_object_get(target, key);
		if (json_is_object(pv) && json_is_object(tv)) {
			err = merge_object(tv, pv);
			if (err != CV_OK)
				return err;
			continue;
		}
		if (json_object_set(target, key, pv) != 0)
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
	}
	return CV_OK;
}

/* The base's key shape gives way to a patch that changes it: a new key
 * family drops the old size and curve, an HSM key type drops the old
 * exportable flag, a new curve drops the old size. */
static void
drop_replaced_key_shape(const cv_policy *base, json_t *merged, json_t *patch)
{
	json_t *bk = json_object_get(merged, "key_props");
	json_t *pk = json_object_get(patch, "key_props");
	const struct key_type_name *kt = NULL;
	json_t *kty;

	if (!json_is_object(bk) || !json_is_object(pk))
		return;
	kty = json_object_get(pk, "kty");
	if (json_is_string(kty))
		kt = find_key_type(json_string_value(kty));
	if (kt != NULL && kt->kty != base->kty) {
		if (json_object_get(pk, "key_size") == NULL)
			json_object_del(bk, "key_size");
		if (json_object_get(pk, "crv") == NULL)
			json_object_del(bk, "crv");
	}
	if (kt != NULL && kt->hsm && json_object_get(pk, "exportable") == NULL)
		json_object_del(bk, "exportable");
	if (json_object_get(pk, "crv") != NULL &&
	    json_object_get(pk, "key_size") == NULL)
		json_object_del(bk, "key_size");
}

cv_err
cv_policy_update(const cv_policy *base, const char *patch, size_t len,
		 cv_policy **out)
{
	json_t *doc = NULL, *rest_patch = NULL, *merged = NULL;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (base == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_policy_update: bad arguments");
		goto done;
	}
	if ((err = load_document(patch, len, &doc)) != CV_OK ||
	    (err = normalise_document(doc, &rest_patch)) != CV_OK)
		goto done;
	merged = rest_json(base);
	if (merged == NULL) {
		err = write_failure(base);
		goto done;
	}
	drop_replaced_key_shape(base, merged, rest_patch);
	if ((err = merge_object(merged, rest_patch)) != CV_OK ||
	    (err = policy_from_rest(merged, 0, out)) != CV_OK)
		goto done;
done:
	json_decref(merged);
	json_decref(rest_patch);
	json_decref(doc);
	return err;
}

/* ------------------------------------------------------------------ */
/* Certificates                                                       */
/* ------------------------------------------------------------------ */

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
