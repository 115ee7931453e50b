/* certvault: certificate policies in Key Vault's JSON format.
 *
 * A policy is read from Key Vault's JSON in any of the spellings Key Vault's
 * tools write:
 *   - the REST form: key_props, secret_props, x509_props, lifetime_actions,
 *     issuer, attributes (snake_case members such as key_size, dns_names);
 *   - the az CLI form: keyProperties, secretProperties,
 *     x509CertificateProperties, lifetimeActions, issuerParameters,
 *     attributes (camelCase members such as keySize, dnsNames);
 *   - the older az CLI form: key_properties, secret_properties,
 *     x509_certificate_properties, issuer_parameters (snake_case).
 * One document uses one spelling; a member the format does not know is an
 * error that names it.  Members left out take Key Vault's defaults.
 *
 * The store keeps policies in the REST form (cv_policy_to_json with
 * CV_POLICY_JSON_REST).
 */
#ifndef CV_POLICY_H
#define CV_POLICY_H

#include <stddef.h>
#include <openssl/x509.h>

#include "error.h"

enum cv_key_type {
	CV_KEY_RSA = 1,
	CV_KEY_EC = 2,
};

enum cv_content_type {
	CV_CONTENT_PKCS12 = 1, /* "application/x-pkcs12" */
	CV_CONTENT_PEM = 2,    /* "application/x-pem-file" */
};

/* Key usage bits, named as Key Vault names them. */
enum cv_key_usage {
	CV_KU_DIGITAL_SIGNATURE = 1u << 0, /* digitalSignature */
	CV_KU_NON_REPUDIATION = 1u << 1,   /* nonRepudiation */
	CV_KU_KEY_ENCIPHERMENT = 1u << 2,  /* keyEncipherment */
	CV_KU_DATA_ENCIPHERMENT = 1u << 3, /* dataEncipherment */
	CV_KU_KEY_AGREEMENT = 1u << 4,     /* keyAgreement */
	CV_KU_KEY_CERT_SIGN = 1u << 5,     /* keyCertSign */
	CV_KU_CRL_SIGN = 1u << 6,          /* cRLSign */
	CV_KU_ENCIPHER_ONLY = 1u << 7,     /* encipherOnly */
	CV_KU_DECIPHER_ONLY = 1u << 8,     /* decipherOnly */
};

enum cv_trigger_type {
	CV_TRIGGER_LIFETIME_PERCENTAGE = 1, /* lifetime_percentage, 1..99 */
	CV_TRIGGER_DAYS_BEFORE_EXPIRY = 2,  /* days_before_expiry, 1..months*27 */
};

enum cv_action_type {
	CV_ACTION_AUTO_RENEW = 1,     /* "AutoRenew" */
	CV_ACTION_EMAIL_CONTACTS = 2, /* "EmailContacts" */
};

typedef struct cv_strlist {
	char **v;
	size_t n;
} cv_strlist;

typedef struct cv_lifetime_action {
	enum cv_trigger_type trigger;
	int value;
	enum cv_action_type action;
} cv_lifetime_action;

typedef struct cv_policy {
	/* key_props */
	int exportable;              /* 0 or 1 */
	int reuse_key;               /* 0 or 1 */
	enum cv_key_type kty;
	int hsm;                     /* kty was "RSA-HSM"/"EC-HSM" */
	int key_size;                /* RSA: 2048, 3072, 4096; EC: 0 */
	char curve[8];               /* EC: "P-256", "P-384", "P-521", "P-256K" */

	/* secret_props */
	enum cv_content_type content_type;

	/* x509_props */
	char *subject;               /* as given, at most 200 characters */
	cv_strlist dns_names;
	cv_strlist emails;
	cv_strlist upns;
	cv_strlist ip_addresses;     /* textual IPv4 or IPv6 */
	cv_strlist uris;
	unsigned key_usage;          /* enum cv_key_usage bits */
	cv_strlist ekus;             /* dotted OIDs */
	int validity_months;         /* 1..1200 */
	/* x509_props.basic_constraints, certvault's one addition to Key
	 * Vault's policy: {"ca": true, "path_length": 1}.  A CA policy has
	 * keyCertSign in key_usage. */
	int ca;                      /* 0 or 1 */
	int path_length;             /* CA only: 0..16; -1 for no limit */

	/* lifetime_actions */
	cv_lifetime_action *actions;
	size_t n_actions;

	/* issuer */
	char *issuer_name;           /* "Self", "Unknown", or an issuer record */
	char *cert_type;             /* issuer.cty, or NULL */
	int cert_transparency;       /* -1 unset, 0, 1 */

	/* attributes */
	int enabled;                 /* 0 or 1 */

	/* An import policy's members that the document left out, to be taken
	 * from the certificate (enum cv_from_cert bits); 0 for every policy
	 * but those of cv_policy_parse_import. */
	unsigned from_cert;
} cv_policy;

/* The members an import policy may leave to the certificate. */
enum cv_from_cert {
	CV_FROM_CERT_SUBJECT = 1u << 0,      /* x509_props.subject */
	CV_FROM_CERT_SANS = 1u << 1,         /* x509_props.sans */
	CV_FROM_CERT_KEY_USAGE = 1u << 2,    /* x509_props.key_usage */
	CV_FROM_CERT_EKUS = 1u << 3,         /* x509_props.ekus */
	CV_FROM_CERT_VALIDITY = 1u << 4,     /* x509_props.validity_months */
	CV_FROM_CERT_KEY_TYPE = 1u << 5,     /* key_props.kty */
	CV_FROM_CERT_KEY_SIZE = 1u << 6,     /* key_props.key_size and crv */
	CV_FROM_CERT_CONTENT_TYPE = 1u << 7, /* secret_props.contentType */
	CV_FROM_CERT_ISSUER = 1u << 8,       /* issuer: "Unknown" */
	CV_FROM_CERT_ACTIONS = 1u << 9,      /* lifetime_actions */
	CV_FROM_CERT_BASIC_CONSTRAINTS = 1u << 10, /* x509_props.basic_constraints */
};

enum cv_policy_style {
	CV_POLICY_JSON_REST = 0, /* key_props, x509_props, ... */
	CV_POLICY_JSON_AZ = 1,   /* keyProperties, x509CertificateProperties ... */
};

/* The policy `az keyvault certificate get-default-policy` prints: RSA 2048,
 * exportable, reuse_key, PKCS#12, subject CN=CLIGetDefaultPolicy, 12 months,
 * the six key usages, AutoRenew 90 days before expiry, issuer Self.
 * *out is owned by the caller (cv_policy_free).  Errors: CV_ERR_NOMEM. */
cv_err cv_policy_default(cv_policy **out);

/* Parse and validate a policy document of len bytes (need not be
 * NUL-terminated).  Members left out take Key Vault's defaults; a
 * document with no key usage gets digitalSignature and keyEncipherment.
 * Errors: CV_ERR_JSON (malformed; detail gives line and column),
 * CV_ERR_POLICY (unknown member, wrong type or out-of-range value; detail
 * names the member, e.g. "x509_props.validity_months: must be 1 to 1200"),
 * CV_ERR_BAD_SUBJECT, CV_ERR_NOMEM.  *out is NULL on failure. */
cv_err cv_policy_parse(const char *json, size_t len, cv_policy **out);

/* Parse the policy of an import: as cv_policy_parse, but the members the
 * document leaves out are marked in from_cert instead of taking Key Vault's
 * defaults, and a policy with neither subject nor SANs is not refused (az's
 * own import policy has no x509 properties).  cv_cert_import completes it
 * from the certificate (cv_policy_complete); cv_policy_validate refuses it
 * until then.  Errors as cv_policy_parse. */
cv_err cv_policy_parse_import(const char *json, size_t len, cv_policy **out);

/* An import policy completed from the certificate it comes with: each
 * member marked in given->from_cert is the one cv_policy_from_certificate
 * derives (with content type ct); the others are given's.  The key size
 * or curve is taken only when given's key type is the certificate's (a
 * different one is refused by cv_policy_check_certificate).  *out has
 * from_cert 0 and is not yet validated.  Errors: those of
 * cv_policy_from_certificate. */
cv_err cv_policy_complete(const cv_policy *given, X509 *cert,
			  enum cv_content_type ct, cv_policy **out);

/* A new policy: base with the members present in patch replaced (Key Vault's
 * PATCH of a policy).  Members absent from patch keep base's values.  The
 * result is validated as a whole.  Errors as cv_policy_parse. */
cv_err cv_policy_update(const cv_policy *base, const char *patch, size_t len,
			cv_policy **out);

/* Validate a policy built in memory (ranges, subject, issuer name).  A
 * policy with from_cert bits is CV_ERR_POLICY: only an import completes it. */
cv_err cv_policy_validate(const cv_policy *p);

/* Serialize as a NUL-terminated, two-space indented JSON document ending in
 * a newline.  *out is freed with free().  Errors: CV_ERR_NOMEM. */
cv_err cv_policy_to_json(const cv_policy *p, enum cv_policy_style style,
			 char **out);

/* A deep copy.  Errors: CV_ERR_NOMEM. */
cv_err cv_policy_copy(const cv_policy *p, cv_policy **out);

/* The policy Key Vault derives for an imported certificate: subject, SANs,
 * key type and size or curve, validity (rounded to whole months, at least
 * 1), key usage, EKUs, issuer "Unknown", exportable, content type as given;
 * and basic_constraints: a CA when the certificate says CA:TRUE and its key
 * usage has keyCertSign, with its path length (one over 16 read as 16).
 * Errors: CV_ERR_UNSUPPORTED (a key type certificates cannot use),
 * CV_ERR_NOMEM. */
cv_err cv_policy_from_certificate(X509 *cert, enum cv_content_type ct,
				  cv_policy **out);

/* Check that an imported certificate fits a given policy: key type, key size
 * or curve, the subject (compared as X.500 names), and a CA policy's
 * certificate saying CA:TRUE with no smaller path length.  Errors:
 * CV_ERR_POLICY with a detail naming the first member that differs. */
cv_err cv_policy_check_certificate(const cv_policy *p, X509 *cert);

void cv_policy_free(cv_policy *p);

/* Key Vault's names for key usage bits and content types, for printing. */
const char *cv_key_usage_name(unsigned bit);
const char *cv_content_type_name(enum cv_content_type ct);

/* Parse a subject written the way Key Vault accepts it (RFC 4514, `S` for
 * stateOrProvinceName, spaces around `=` and `,`, double quotes around a
 * value holding a comma, backslash escapes, '+' joining a multi-valued
 * RDN).  As RFC 4514, Key Vault and OpenSSL read it, the string lists the
 * RDNs most specific first: the last RDN written is the first in the
 * X509_NAME (and the DER), so "CN=a, O=b, C=US" begins with C.  Entries of
 * one RDN keep the order written.  Errors: CV_ERR_BAD_SUBJECT ("The subject
 * name provided is not a valid X500 name"), CV_ERR_NOMEM. */
cv_err cv_x500_parse(const char *subject, X509_NAME **out);

/* Compare two subjects as X.500 names: 1 if equal, 0 if not. */
int cv_x500_equal(const X509_NAME *a, const X509_NAME *b);

/* A name in Key Vault's display form, such as "CN=www.contoso.com,
 * O=Contoso, C=US": RFC 4514 order, the DER's last RDN first, as `openssl
 * x509 -nameopt RFC2253` prints it, so cv_x500_parse reads it back as the
 * same name.  Caller frees with free(); NULL on ENOMEM. */
char *cv_x500_format(const X509_NAME *name);

#endif
