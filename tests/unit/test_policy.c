/* certvault: unit tests for store/policy/ and store/x500.c.
 *
 * Policies are written with single quotes for readability; jq() turns them
 * into JSON.  Each limit of the policy format has a test on both sides of
 * the limit, so removing a check makes a test fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "policy.h"

#define BAD_SUBJECT_TEXT "The subject name provided is not a valid X500 name"

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

/* s with every ' turned into ". */
static char *
jq(const char *s)
{
	char *out = strdup(s), *c;

	assert_non_null(out);
	for (c = out; *c != '\0'; c++) {
		if (*c == '\'')
			*c = '"';
	}
	return out;
}

static cv_policy *
parse_ok(const char *single_quoted)
{
	char *json = jq(single_quoted);
	cv_policy *p = NULL;
	cv_err err = cv_policy_parse(json, strlen(json), &p);

	if (err != CV_OK)
		fail_msg("parse of %s failed: %s (%s)", json, cv_strerror(err),
			 cv_err_detail());
	free(json);
	assert_non_null(p);
	return p;
}

static void
expect_parse_err(const char *single_quoted, cv_err code, const char *needle)
{
	char *json = jq(single_quoted);
	cv_policy *p = (cv_policy *)&p; /* must come back NULL */
	cv_err err = cv_policy_parse(json, strlen(json), &p);

	if (err != code || p != NULL)
		fail_msg("parse of %s: got %d (%s), wanted %d", json, err,
			 cv_err_detail(), code);
	if (cv_err_detail()[0] == '\0' || strstr(cv_err_detail(), needle) == NULL)
		fail_msg("parse of %s: detail '%s' does not hold '%s'", json,
			 cv_err_detail(), needle);
	free(json);
}

/* A minimal valid x509_props wrapped around extra members. */
#define WITH_SUBJECT(extra) "{'x509_props':{'subject':'CN=a'" extra "}}"

static void
assert_str_or_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_list_equal(const cv_strlist *a, const cv_strlist *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void
assert_policy_equal(const cv_policy *a, const cv_policy *b)
{
	size_t i;

	assert_int_equal(a->exportable, b->exportable);
	assert_int_equal(a->reuse_key, b->reuse_key);
	assert_int_equal(a->kty, b->kty);
	assert_int_equal(a->hsm, b->hsm);
	assert_int_equal(a->key_size, b->key_size);
	assert_string_equal(a->curve, b->curve);
	assert_int_equal(a->content_type, b->content_type);
	assert_str_or_null(a->subject, b->subject);
	assert_list_equal(&a->dns_names, &b->dns_names);
	assert_list_equal(&a->emails, &b->emails);
	assert_list_equal(&a->upns, &b->upns);
	assert_list_equal(&a->ip_addresses, &b->ip_addresses);
	assert_list_equal(&a->uris, &b->uris);
	assert_int_equal(a->key_usage, b->key_usage);
	assert_list_equal(&a->ekus, &b->ekus);
	assert_int_equal(a->validity_months, b->validity_months);
	assert_int_equal(a->n_actions, b->n_actions);
	for (i = 0; i < a->n_actions; i++) {
		assert_int_equal(a->actions[i].trigger, b->actions[i].trigger);
		assert_int_equal(a->actions[i].value, b->actions[i].value);
		assert_int_equal(a->actions[i].action, b->actions[i].action);
	}
	assert_str_or_null(a->issuer_name, b->issuer_name);
	assert_str_or_null(a->cert_type, b->cert_type);
	assert_int_equal(a->cert_transparency, b->cert_transparency);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->ca, b->ca);
	assert_int_equal(a->path_length, b->path_length);
}

static void
assert_round_trip(const cv_policy *p)
{
	enum cv_policy_style styles[] = { CV_POLICY_JSON_REST, CV_POLICY_JSON_AZ };
	cv_policy *back;
	char *text, *again;
	size_t i, len;

	for (i = 0; i < 2; i++) {
		text = NULL;
		back = NULL;
		assert_int_equal(cv_policy_to_json(p, styles[i], &text), CV_OK);
		len = strlen(text);
		assert_true(len > 2);
		assert_int_equal(text[len - 1], '\n');
		assert_int_not_equal(text[len - 2], '\n');
		if (cv_policy_parse(text, len, &back) != CV_OK)
			fail_msg("round trip of\n%s failed: %s", text,
				 cv_err_detail());
		assert_policy_equal(p, back);
		/* and the text is stable */
		assert_int_equal(cv_policy_to_json(back, styles[i], &again), CV_OK);
		assert_string_equal(text, again);
		free(again);
		free(text);
		cv_policy_free(back);
	}
}

static cv_policy *
update_ok(const cv_policy *base, const char *single_quoted)
{
	char *json = jq(single_quoted);
	cv_policy *p = NULL;
	cv_err err = cv_policy_update(base, json, strlen(json), &p);

	if (err != CV_OK)
		fail_msg("update with %s failed: %s", json, cv_err_detail());
	free(json);
	return p;
}

static void
expect_update_err(const cv_policy *base, const char *single_quoted,
		  cv_err code, const char *needle)
{
	char *json = jq(single_quoted);
	cv_policy *p = (cv_policy *)&p;
	cv_err err = cv_policy_update(base, json, strlen(json), &p);

	if (err != code || p != NULL)
		fail_msg("update with %s: got %d (%s), wanted %d", json, err,
			 cv_err_detail(), code);
	if (strstr(cv_err_detail(), needle) == NULL)
		fail_msg("update with %s: detail '%s' lacks '%s'", json,
			 cv_err_detail(), needle);
	free(json);
}

static X509_NAME *
x500_ok(const char *s)
{
	X509_NAME *n = NULL;
	cv_err err = cv_x500_parse(s, &n);

	if (err != CV_OK)
		fail_msg("subject '%s' did not parse: %s", s, cv_err_detail());
	assert_non_null(n);
	return n;
}

static char *
entry_text(const X509_NAME *n, int i)
{
	unsigned char *u = NULL;
	int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
						  X509_NAME_get_entry(n, i)));
	char *s;

	assert_true(len >= 0);
	s = malloc((size_t)len + 1);
	assert_non_null(s);
	memcpy(s, u, (size_t)len);
	s[len] = '\0';
	OPENSSL_free(u);
	return s;
}

static int
entry_nid(const X509_NAME *n, int i)
{
	return OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(n, i)));
}

static void
assert_entry(const X509_NAME *n, int i, int nid, const char *value)
{
	char *s = entry_text(n, i);

	assert_int_equal(entry_nid(n, i), nid);
	assert_string_equal(s, value);
	free(s);
}

/* The name as OpenSSL's own RFC 2253 printer writes it. */
static void
assert_rfc2253(const X509_NAME *n, const char *want)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *text;
	long len;

	assert_non_null(bio);
	assert_true(X509_NAME_print_ex(bio, n, 0, XN_FLAG_RFC2253) >= 0);
	assert_int_equal(BIO_write(bio, "", 1), 1);
	len = BIO_get_mem_data(bio, &text);
	assert_true(len > 0);
	if (strcmp(text, want) != 0)
		fail_msg("OpenSSL prints '%s', wanted '%s'", text, want);
	BIO_free(bio);
}

/* ------------------------------------------------------------------ */
/* Certificates built for the tests                                   */
/* ------------------------------------------------------------------ */

static EVP_PKEY *
rsa_key(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	assert_non_null(k);
	return k;
}

static EVP_PKEY *
ec_key(const char *group)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);

	assert_non_null(k);
	return k;
}

static void
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A self-signed certificate valid from nbf for secs seconds. */
static X509 *
make_cert(EVP_PKEY *key, const char *subject, int64_t secs, const char *san,
	  const char *ku, const char *eku)
{
	const time_t nbf = 1700000000;
	X509 *x = X509_new();
	X509_NAME *name = NULL;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), nbf));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x),
				      (time_t)(nbf + secs)));
	if (subject != NULL) {
		name = x500_ok(subject);
		assert_int_equal(X509_set_subject_name(x, name), 1);
		assert_int_equal(X509_set_issuer_name(x, name), 1);
		X509_NAME_free(name);
	}
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (san != NULL)
		add_ext(x, NID_subject_alt_name, san);
	if (ku != NULL)
		add_ext(x, NID_key_usage, ku);
	if (eku != NULL)
		add_ext(x, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, key, EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ?
					   NULL : EVP_sha256()) > 0);
	return x;
}

#define DAY 86400LL
#define YEAR (365 * DAY)

/* ------------------------------------------------------------------ */
/* X.500 subjects                                                     */
/* ------------------------------------------------------------------ */

static void
test_x500_seed_contoso(void **state)
{
	X509_NAME *n;
	char *f;

	(void)state;
	n = x500_ok("DC=Contoso,OU=\"Docs,Contoso\",CN=www.contosoHRApp.com");
	assert_int_equal(X509_NAME_entry_count(n), 3);
	/* RFC 4514: the last RDN written is the first in the name */
	assert_entry(n, 0, NID_commonName, "www.contosoHRApp.com");
	assert_entry(n, 1, NID_organizationalUnitName, "Docs,Contoso");
	assert_entry(n, 2, NID_domainComponent, "Contoso");
	assert_rfc2253(n, "DC=Contoso,OU=Docs\\,Contoso,CN=www.contosoHRApp.com");
	/* three RDNs, not one */
	assert_int_not_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)),
			     X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)));
	f = cv_x500_format(n);
	assert_string_equal(f, "DC=Contoso, OU=\"Docs,Contoso\", CN=www.contosoHRApp.com");
	free(f);
	X509_NAME_free(n);
}

static void
test_x500_seed_microsoft(void **state)
{
	X509_NAME *n;
	char *f;

	(void)state;
	n = x500_ok("CN = learn.microsoft.com, OU = Microsoft Corporation, "
		    "O = Microsoft Corporation, L = Redmond, S = WA, C = US");
	assert_int_equal(X509_NAME_entry_count(n), 6);
	assert_entry(n, 0, NID_countryName, "US");
	assert_entry(n, 1, NID_stateOrProvinceName, "WA");
	assert_entry(n, 2, NID_localityName, "Redmond");
	assert_entry(n, 3, NID_organizationName, "Microsoft Corporation");
	assert_entry(n, 4, NID_organizationalUnitName, "Microsoft Corporation");
	assert_entry(n, 5, NID_commonName, "learn.microsoft.com");
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(
				 X509_NAME_get_entry(n, 0))),
			 V_ASN1_PRINTABLESTRING);
	assert_rfc2253(n, "CN=learn.microsoft.com,OU=Microsoft Corporation,"
			  "O=Microsoft Corporation,L=Redmond,ST=WA,C=US");
	f = cv_x500_format(n);
	assert_string_equal(f, "CN=learn.microsoft.com, OU=Microsoft Corporation, "
			       "O=Microsoft Corporation, L=Redmond, S=WA, C=US");
	free(f);
	X509_NAME_free(n);
}

static void
test_x500_accepted_forms(void **state)
{
	static const struct {
		const char *in, *formatted;
	} cases[] = {
		{ "cn=a", "CN=a" },
		{ "Cn = a ; o = b", "CN=a, O=b" },
		{ "CN=a;O=b", "CN=a, O=b" },
		{ "  CN=a  ,  O=b  ", "CN=a, O=b" },
		{ "ST=WA", "S=WA" },
		{ "stateOrProvinceName=WA", "S=WA" },
		{ "E=a@contoso.com", "E=a@contoso.com" },
		{ "EMAIL=a@contoso.com", "E=a@contoso.com" },
		{ "emailAddress=a@contoso.com", "E=a@contoso.com" },
		{ "STREET=1 Microsoft Way", "STREET=1 Microsoft Way" },
		{ "SERIALNUMBER=1234", "SERIALNUMBER=1234" },
		{ "T=Boss", "T=Boss" },
		{ "title=Boss", "T=Boss" },
		{ "G=Ann", "G=Ann" },
		{ "GN=Ann", "G=Ann" },
		{ "givenName=Ann", "G=Ann" },
		{ "SN=Lee", "SN=Lee" },
		{ "surname=Lee", "SN=Lee" },
		{ "UID=jdoe", "UID=jdoe" },
		{ "postalCode=98052", "postalCode=98052" },
		{ "DC=contoso,DC=com", "DC=contoso, DC=com" },
		{ "2.5.4.3=x", "CN=x" },
		{ "OID.2.5.4.3=x", "CN=x" },
		{ "1.2.3.4=x", "1.2.3.4=x" },
		{ "CN=a\\,b", "CN=\"a,b\"" },
		{ "CN=a\\2Cb", "CN=\"a,b\"" },
		{ "CN=a\\+b\\;c", "CN=\"a+b;c\"" },
		{ "CN=\"a \\\"q\\\" b\"", "CN=\"a \\\"q\\\" b\"" },
		{ "CN=\"x;y+z\"", "CN=\"x;y+z\"" },
		{ "CN=  padded value  ", "CN=padded value" },
		{ "CN=x\\ ", "CN=\"x \"" },
		{ "CN=\\ x", "CN=\" x\"" },
		{ "CN=caf\\C3\\A9", "CN=caf\xc3\xa9" },
		{ "CN=caf\xc3\xa9", "CN=caf\xc3\xa9" },
		{ "CN=a=b", "CN=\"a=b\"" },
		{ "CN=a\\=b", "CN=\"a=b\"" },
		{ "CN=#x", "CN=#x" },
		{ "CN=a\\\\b", "CN=\"a\\\\b\"" },
		{ "CN=a\\<b\\>", "CN=a<b>" },
		{ "CN=a+O=b,C=US", "CN=a+O=b, C=US" },
		{ "CN=a + O=b", "CN=a+O=b" },
	};
	X509_NAME *n, *again;
	char *f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = x500_ok(cases[i].in);
		f = cv_x500_format(n);
		assert_non_null(f);
		if (strcmp(f, cases[i].formatted) != 0)
			fail_msg("'%s' formatted as '%s', wanted '%s'",
				 cases[i].in, f, cases[i].formatted);
		/* what format writes, parse reads back as the same name */
		again = x500_ok(f);
		assert_true(cv_x500_equal(n, again));
		free(f);
		X509_NAME_free(again);
		X509_NAME_free(n);
	}
}

static void
test_x500_rejected(void **state)
{
	static const char *const bad[] = {
		"", "   ", "CN", "=x", "CN=", "CN=   ", "FOO=bar",
		"CN=a,,O=b", "CN=a,", "CN=a;", "CN=a+", ",CN=a", "CN=a,O",
		"CN=\"abc", "CN=\"a\"b", "CN=\"a\" b", "CN=\"\"",
		"CN=a\\zb", "CN=a\\4", "CN=a\\4x", "CN=a\\", "CN=a\"b",
		"C=USA", "OID.CN=x", "1..2=x", "1.=x", "CN:x", "CN=x=y, FOO=z",
		"DC=caf\xc3\xa9", "CN=\xff\xfe", "C N=x", "CN=\"a\"xO=b",
		"1.2.3.4=", "1.2.3.4=\"\"", "1.2.3.4=  ", "UID=",
	};
	X509_NAME *n;
	size_t i;
	cv_err err;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (X509_NAME *)&n;
		cv_err_clear();
		err = cv_x500_parse(bad[i], &n);
		if (err != CV_ERR_BAD_SUBJECT)
			fail_msg("'%s' gave %d, wanted CV_ERR_BAD_SUBJECT", bad[i],
				 err);
		assert_null(n);
		assert_string_equal(cv_err_detail(), BAD_SUBJECT_TEXT);
	}
	assert_int_equal(cv_x500_parse(NULL, &n), CV_ERR_INVALID);
	assert_int_equal(cv_x500_parse("CN=a", NULL), CV_ERR_INVALID);

	/* X.520's upper bounds, as OpenSSL keeps them: CN at most 64 */
	{
		char cn[80] = "CN=";

		memset(cn + 3, 'a', 64);
		cn[67] = '\0';
		n = x500_ok(cn);
		X509_NAME_free(n);
		strcat(cn, "a");
		assert_int_equal(cv_x500_parse(cn, &n), CV_ERR_BAD_SUBJECT);
		assert_null(n);
	}
}

static void
test_x500_multivalued_and_order(void **state)
{
	X509_NAME *n;

	(void)state;
	n = x500_ok("CN=a+O=b, C=US");
	assert_int_equal(X509_NAME_entry_count(n), 3);
	/* C=US is the first RDN; CN and O share the second, in the order
	 * written */
	assert_entry(n, 0, NID_countryName, "US");
	assert_int_not_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)),
			     X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)));
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)),
			 X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)));
	assert_entry(n, 1, NID_commonName, "a");
	assert_entry(n, 2, NID_organizationName, "b");
	X509_NAME_free(n);

	/* RFC 4514 order: the last RDN written is the first in the name */
	n = x500_ok("C=US, O=Org, CN=x");
	assert_entry(n, 0, NID_commonName, "x");
	assert_entry(n, 2, NID_countryName, "US");
	X509_NAME_free(n);

	/* an OID OpenSSL has no name for */
	n = x500_ok("1.3.6.1.4.1.99999.1=v");
	assert_int_equal(entry_nid(n, 0), NID_undef);
	X509_NAME_free(n);
}

/* A subject goes string -> name -> string unchanged, and the name is the
 * one OpenSSL reads from that string: its RFC 2253 printer gives back the
 * string (OpenSSL spells S as ST and writes no spaces). */
static void
test_x500_rfc4514_round_trip(void **state)
{
	static const struct {
		const char *subject, *openssl;
	} cases[] = {
		{ "CN=a.example, O=Contoso, C=US", "CN=a.example,O=Contoso,C=US" },
		{ "CN=x, OU=Web, O=Contoso, L=Redmond, S=WA, C=US",
		  "CN=x,OU=Web,O=Contoso,L=Redmond,ST=WA,C=US" },
		{ "CN=host.corp.example, DC=corp, DC=example",
		  "CN=host.corp.example,DC=corp,DC=example" },
		{ "C=US, O=Contoso, CN=reversed", "C=US,O=Contoso,CN=reversed" },
		{ "CN=only", "CN=only" },
		{ "UID=u1, O=Contoso", "UID=u1,O=Contoso" },
	};
	X509_NAME *n, *back;
	unsigned char *der = NULL;
	const unsigned char *p;
	char *f;
	size_t i;
	int len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = x500_ok(cases[i].subject);
		assert_rfc2253(n, cases[i].openssl);
		/* through the DER, as a certificate carries it */
		len = i2d_X509_NAME(n, &der);
		assert_true(len > 0);
		p = der;
		back = d2i_X509_NAME(NULL, &p, len);
		assert_non_null(back);
		f = cv_x500_format(back);
		assert_non_null(f);
		assert_string_equal(f, cases[i].subject);
		free(f);
		OPENSSL_free(der);
		der = NULL;
		X509_NAME_free(back);
		X509_NAME_free(n);
	}
}

static void
test_x500_equal(void **state)
{
	X509_NAME *a, *b, *c, *d;

	(void)state;
	a = x500_ok("CN=Foo, O=Bar");
	b = x500_ok("cn = foo ; o =  bar");
	c = x500_ok("O=Bar, CN=Foo");
	d = x500_ok("CN=Foo, O=Baz");
	assert_true(cv_x500_equal(a, b));
	assert_true(cv_x500_equal(a, a));
	assert_false(cv_x500_equal(a, c));
	assert_false(cv_x500_equal(a, d));
	assert_false(cv_x500_equal(a, NULL));
	assert_true(cv_x500_equal(NULL, NULL));
	X509_NAME_free(a);
	X509_NAME_free(b);
	X509_NAME_free(c);
	X509_NAME_free(d);
}

static void
test_x500_format_built_names(void **state)
{
	X509_NAME *n = X509_NAME_new(), *back;
	char *f;

	(void)state;
	assert_non_null(n);
	f = cv_x500_format(n);
	assert_string_equal(f, "");
	free(f);
	assert_null(cv_x500_format(NULL));

	assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
					       (const unsigned char *)"a\"b", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_NID(n, NID_organizationName,
					       MBSTRING_UTF8,
					       (const unsigned char *)" lead", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_NID(n, NID_organizationalUnitName,
					       MBSTRING_UTF8,
					       (const unsigned char *)"line\nbreak", -1, -1, 0));
	assert_true(X509_NAME_add_entry_by_NID(n, NID_pseudonym, MBSTRING_UTF8,
					       (const unsigned char *)"p", -1, -1, 0));
	f = cv_x500_format(n);
	/* printed as RFC 4514 says: the name's last RDN first */
	assert_string_equal(f, "2.5.4.65=p, OU=line\\0Abreak, O=\" lead\", CN=\"a\\\"b\"");
	back = x500_ok(f);
	assert_true(cv_x500_equal(n, back));
	free(f);
	X509_NAME_free(back);
	X509_NAME_free(n);
}

/* ------------------------------------------------------------------ */
/* Defaults and output                                                */
/* ------------------------------------------------------------------ */

static const char az_default_text[] =
	"{\n"
	"  \"issuerParameters\": {\n"
	"    \"certificateTransparency\": null,\n"
	"    \"name\": \"Self\"\n"
	"  },\n"
	"  \"keyProperties\": {\n"
	"    \"curve\": null,\n"
	"    \"exportable\": true,\n"
	"    \"keySize\": 2048,\n"
	"    \"keyType\": \"RSA\",\n"
	"    \"reuseKey\": true\n"
	"  },\n"
	"  \"lifetimeActions\": [\n"
	"    {\n"
	"      \"action\": {\n"
	"        \"actionType\": \"AutoRenew\"\n"
	"      },\n"
	"      \"trigger\": {\n"
	"        \"daysBeforeExpiry\": 90\n"
	"      }\n"
	"    }\n"
	"  ],\n"
	"  \"secretProperties\": {\n"
	"    \"contentType\": \"application/x-pkcs12\"\n"
	"  },\n"
	"  \"x509CertificateProperties\": {\n"
	"    \"keyUsage\": [\n"
	"      \"cRLSign\",\n"
	"      \"dataEncipherment\",\n"
	"      \"digitalSignature\",\n"
	"      \"keyEncipherment\",\n"
	"      \"keyAgreement\",\n"
	"      \"keyCertSign\"\n"
	"    ],\n"
	"    \"subject\": \"CN=CLIGetDefaultPolicy\",\n"
	"    \"validityInMonths\": 12\n"
	"  }\n"
	"}\n";

static const char rest_default_text[] =
	"{\n"
	"  \"key_props\": {\n"
	"    \"exportable\": true,\n"
	"    \"kty\": \"RSA\",\n"
	"    \"key_size\": 2048,\n"
	"    \"reuse_key\": true\n"
	"  },\n"
	"  \"secret_props\": {\n"
	"    \"contentType\": \"application/x-pkcs12\"\n"
	"  },\n"
	"  \"x509_props\": {\n"
	"    \"subject\": \"CN=CLIGetDefaultPolicy\",\n"
	"    \"key_usage\": [\n"
	"      \"cRLSign\",\n"
	"      \"dataEncipherment\",\n"
	"      \"digitalSignature\",\n"
	"      \"keyEncipherment\",\n"
	"      \"keyAgreement\",\n"
	"      \"keyCertSign\"\n"
	"    ],\n"
	"    \"validity_months\": 12\n"
	"  },\n"
	"  \"lifetime_actions\": [\n"
	"    {\n"
	"      \"trigger\": {\n"
	"        \"days_before_expiry\": 90\n"
	"      },\n"
	"      \"action\": {\n"
	"        \"action_type\": \"AutoRenew\"\n"
	"      }\n"
	"    }\n"
	"  ],\n"
	"  \"issuer\": {\n"
	"    \"name\": \"Self\"\n"
	"  },\n"
	"  \"attributes\": {\n"
	"    \"enabled\": true\n"
	"  }\n"
	"}\n";

static void
test_default_values(void **state)
{
	cv_policy *p = NULL;

	(void)state;
	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->hsm, 0);
	assert_int_equal(p->key_size, 2048);
	assert_string_equal(p->curve, "");
	assert_int_equal(p->exportable, 1);
	assert_int_equal(p->reuse_key, 1);
	assert_int_equal(p->content_type, CV_CONTENT_PKCS12);
	assert_int_equal(p->key_usage,
			 CV_KU_CRL_SIGN | CV_KU_DATA_ENCIPHERMENT |
				 CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT |
				 CV_KU_KEY_AGREEMENT | CV_KU_KEY_CERT_SIGN);
	assert_string_equal(p->subject, "CN=CLIGetDefaultPolicy");
	assert_int_equal(p->validity_months, 12);
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].trigger, CV_TRIGGER_DAYS_BEFORE_EXPIRY);
	assert_int_equal(p->actions[0].value, 90);
	assert_int_equal(p->actions[0].action, CV_ACTION_AUTO_RENEW);
	assert_string_equal(p->issuer_name, "Self");
	assert_null(p->cert_type);
	assert_int_equal(p->cert_transparency, -1);
	assert_int_equal(p->enabled, 1);
	assert_int_equal(cv_policy_validate(p), CV_OK);
	cv_policy_free(p);
	assert_int_equal(cv_policy_default(NULL), CV_ERR_INVALID);
}

static void
test_default_text(void **state)
{
	cv_policy *p = NULL;
	char *text = NULL;

	(void)state;
	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_policy_to_json(p, CV_POLICY_JSON_AZ, &text), CV_OK);
	assert_string_equal(text, az_default_text);
	free(text);
	assert_int_equal(cv_policy_to_json(p, CV_POLICY_JSON_REST, &text), CV_OK);
	assert_string_equal(text, rest_default_text);
	free(text);
	assert_int_equal(cv_policy_to_json(p, (enum cv_policy_style)7, &text),
			 CV_ERR_INVALID);
	assert_null(text);
	assert_int_equal(cv_policy_to_json(NULL, CV_POLICY_JSON_AZ, &text),
			 CV_ERR_INVALID);
	cv_policy_free(p);
}

static const char snake_default_text[] =
	"{'attributes':{'created':null,'enabled':true,'expires':null,"
	"'not_before':null,'recovery_level':null,'updated':null},"
	"'id':null,"
	"'issuer_parameters':{'certificate_transparency':null,"
	"'certificate_type':null,'name':'Self'},"
	"'key_properties':{'curve':null,'exportable':true,'key_size':2048,"
	"'key_type':'RSA','reuse_key':true},"
	"'lifetime_actions':[{'action':{'action_type':'AutoRenew'},"
	"'trigger':{'days_before_expiry':90,'lifetime_percentage':null}}],"
	"'secret_properties':{'content_type':'application/x-pkcs12'},"
	"'x509_certificate_properties':{'ekus':null,'key_usage':['cRLSign',"
	"'dataEncipherment','digitalSignature','keyEncipherment','keyAgreement',"
	"'keyCertSign'],'subject':'CN=CLIGetDefaultPolicy',"
	"'subject_alternative_names':null,'validity_in_months':12}}";

static void
test_three_spellings_of_default(void **state)
{
	cv_policy *def = NULL, *rest, *az, *snake;
	cv_err err;

	(void)state;
	assert_int_equal(cv_policy_default(&def), CV_OK);
	rest = NULL;
	err = cv_policy_parse(rest_default_text, strlen(rest_default_text), &rest);
	assert_int_equal(err, CV_OK);
	az = NULL;
	err = cv_policy_parse(az_default_text, strlen(az_default_text), &az);
	assert_int_equal(err, CV_OK);
	snake = parse_ok(snake_default_text);
	assert_policy_equal(def, rest);
	assert_policy_equal(def, az);
	assert_policy_equal(def, snake);
	cv_policy_free(def);
	cv_policy_free(rest);
	cv_policy_free(az);
	cv_policy_free(snake);
}

static void
test_parse_defaults(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'x509_props':{'subject':'CN=a'}}");
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->hsm, 0);
	assert_int_equal(p->key_size, 2048);
	assert_string_equal(p->curve, "");
	assert_int_equal(p->exportable, 1);
	assert_int_equal(p->reuse_key, 0);
	assert_int_equal(p->content_type, CV_CONTENT_PKCS12);
	assert_int_equal(p->key_usage,
			 CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT);
	assert_int_equal(p->validity_months, 12);
	assert_string_equal(p->issuer_name, "Self");
	assert_null(p->cert_type);
	assert_int_equal(p->cert_transparency, -1);
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].trigger, CV_TRIGGER_LIFETIME_PERCENTAGE);
	assert_int_equal(p->actions[0].value, 80);
	assert_int_equal(p->actions[0].action, CV_ACTION_AUTO_RENEW);
	assert_int_equal(p->enabled, 1);
	assert_int_equal(p->dns_names.n + p->emails.n + p->upns.n +
				 p->ip_addresses.n + p->uris.n + p->ekus.n, 0);
	cv_policy_free(p);

	/* Unknown: the contacts are mailed instead */
	p = parse_ok("{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Unknown'}}");
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].trigger, CV_TRIGGER_LIFETIME_PERCENTAGE);
	assert_int_equal(p->actions[0].value, 80);
	assert_int_equal(p->actions[0].action, CV_ACTION_EMAIL_CONTACTS);
	cv_policy_free(p);

	/* an explicit empty list is no action at all */
	p = parse_ok("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[]}");
	assert_int_equal(p->n_actions, 0);
	cv_policy_free(p);

	/* an explicit empty key usage list states none */
	p = parse_ok(WITH_SUBJECT(",'key_usage':[]"));
	assert_int_equal(p->key_usage, 0);
	cv_policy_free(p);

	/* az and REST read-only members are accepted and ignored */
	p = parse_ok("{'id':'https://v.vault.azure.net/certificates/c/policy',"
		     "'x509_props':{'subject':'CN=a'},'attributes':{'enabled':false,"
		     "'created':1,'updated':2,'nbf':3,'exp':4,'recoveryLevel':'x',"
		     "'recoverableDays':90}}");
	assert_int_equal(p->enabled, 0);
	cv_policy_free(p);
}

static void
test_parse_nulls_are_not_given(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'key_props':{'kty':null,'key_size':null,'exportable':null,"
		     "'reuse_key':null,'crv':null},'secret_props':null,"
		     "'x509_props':{'subject':'CN=a','ekus':null,'sans':null,"
		     "'key_usage':null,'validity_months':null},"
		     "'lifetime_actions':null,'issuer':null,'attributes':{'enabled':null}}");
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->key_size, 2048);
	assert_int_equal(p->exportable, 1);
	assert_int_equal(p->key_usage,
			 CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT);
	assert_int_equal(p->validity_months, 12);
	assert_int_equal(p->n_actions, 1);
	assert_string_equal(p->issuer_name, "Self");
	assert_int_equal(p->enabled, 1);
	cv_policy_free(p);

	p = parse_ok("{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Self',"
		     "'cty':null,'cert_transparency':null}}");
	assert_null(p->cert_type);
	assert_int_equal(p->cert_transparency, -1);
	cv_policy_free(p);
}

static void
test_parse_full_policies(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'key_props':{'exportable':false,'kty':'EC','reuse_key':true,"
		     "'crv':'P-384'},'secret_props':{'contentType':'application/x-pem-file'},"
		     "'x509_props':{'subject':'CN=*.contoso.com','sans':{'dns_names':"
		     "['*.contoso.com','contoso.com'],'emails':['admin@contoso.com'],"
		     "'upns':['user@contoso.com'],'ipAddresses':['10.0.0.1','2001:db8::1'],"
		     "'uris':['https://contoso.com/x']},'ekus':['1.3.6.1.5.5.7.3.1',"
		     "'1.3.6.1.5.5.7.3.2'],'key_usage':['digitalSignature','keyAgreement'],"
		     "'validity_months':24},'lifetime_actions':[{'trigger':"
		     "{'lifetime_percentage':75},'action':{'action_type':'AutoRenew'}},"
		     "{'trigger':{'days_before_expiry':30},'action':{'action_type':"
		     "'EmailContacts'}}],'issuer':{'name':'my-acme','cty':'OV-SSL',"
		     "'cert_transparency':true},'attributes':{'enabled':true}}");
	assert_int_equal(p->kty, CV_KEY_EC);
	assert_string_equal(p->curve, "P-384");
	assert_int_equal(p->key_size, 0);
	assert_int_equal(p->exportable, 0);
	assert_int_equal(p->reuse_key, 1);
	assert_int_equal(p->content_type, CV_CONTENT_PEM);
	assert_int_equal(p->dns_names.n, 2);
	assert_string_equal(p->dns_names.v[0], "*.contoso.com");
	assert_string_equal(p->emails.v[0], "admin@contoso.com");
	assert_string_equal(p->upns.v[0], "user@contoso.com");
	assert_string_equal(p->ip_addresses.v[1], "2001:db8::1");
	assert_string_equal(p->uris.v[0], "https://contoso.com/x");
	assert_string_equal(p->ekus.v[1], "1.3.6.1.5.5.7.3.2");
	assert_int_equal(p->key_usage, CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_AGREEMENT);
	assert_int_equal(p->validity_months, 24);
	assert_int_equal(p->n_actions, 2);
	assert_int_equal(p->actions[1].trigger, CV_TRIGGER_DAYS_BEFORE_EXPIRY);
	assert_int_equal(p->actions[1].value, 30);
	assert_int_equal(p->actions[1].action, CV_ACTION_EMAIL_CONTACTS);
	assert_string_equal(p->issuer_name, "my-acme");
	assert_string_equal(p->cert_type, "OV-SSL");
	assert_int_equal(p->cert_transparency, 1);
	assert_round_trip(p);
	cv_policy_free(p);

	/* the same in az's camelCase */
	p = parse_ok("{'keyProperties':{'exportable':true,'keyType':'RSA','keySize':4096,"
		     "'reuseKey':false,'curve':null},'secretProperties':{'contentType':"
		     "'application/x-pkcs12'},'x509CertificateProperties':{'subject':"
		     "'CN=a','subjectAlternativeNames':{'dnsNames':['a.contoso.com'],"
		     "'emails':['a@contoso.com'],'upns':['u@contoso.com'],'ipAddresses':"
		     "['::1'],'uris':['urn:x']},'ekus':['1.3.6.1.5.5.7.3.1'],'keyUsage':"
		     "['nonRepudiation'],'validityInMonths':6},'lifetimeActions':"
		     "[{'trigger':{'lifetimePercentage':50},'action':{'actionType':"
		     "'EmailContacts'}}],'issuerParameters':{'name':'unknown',"
		     "'certificateType':'EV-SSL','certificateTransparency':false},"
		     "'attributes':{'enabled':true,'notBefore':null,'expires':null}}");
	assert_int_equal(p->key_size, 4096);
	assert_string_equal(p->dns_names.v[0], "a.contoso.com");
	assert_string_equal(p->ip_addresses.v[0], "::1");
	assert_string_equal(p->uris.v[0], "urn:x");
	assert_int_equal(p->key_usage, CV_KU_NON_REPUDIATION);
	assert_int_equal(p->validity_months, 6);
	assert_int_equal(p->actions[0].value, 50);
	assert_string_equal(p->issuer_name, "Unknown");
	assert_string_equal(p->cert_type, "EV-SSL");
	assert_int_equal(p->cert_transparency, 0);
	assert_round_trip(p);
	cv_policy_free(p);

	/* the older az snake_case */
	p = parse_ok("{'key_properties':{'key_type':'EC-HSM','curve':'P-521'},"
		     "'secret_properties':{'content_type':'application/x-pem-file'},"
		     "'x509_certificate_properties':{'subject_alternative_names':"
		     "{'dns_names':['x.contoso.com'],'emails':['e@x.com'],'upns':['u@x']},"
		     "'validity_in_months':3},'issuer_parameters':{'name':'Self',"
		     "'certificate_type':'OV-SSL','certificate_transparency':true}}");
	assert_int_equal(p->kty, CV_KEY_EC);
	assert_int_equal(p->hsm, 1);
	assert_int_equal(p->exportable, 0);
	assert_string_equal(p->curve, "P-521");
	assert_null(p->subject);
	assert_int_equal(p->dns_names.n, 1);
	assert_int_equal(p->validity_months, 3);
	assert_string_equal(p->cert_type, "OV-SSL");
	assert_round_trip(p);
	cv_policy_free(p);
}

static void
test_round_trips(void **state)
{
	static const char *const docs[] = {
		WITH_SUBJECT(""),
		"{'key_props':{'kty':'RSA-HSM','key_size':3072},'x509_props':"
		"{'subject':'CN=a','key_usage':['cRLSign','dataEncipherment',"
		"'digitalSignature','keyEncipherment','keyAgreement','keyCertSign',"
		"'nonRepudiation','encipherOnly','decipherOnly']}}",
		"{'key_props':{'kty':'EC','crv':'P-256K'},'x509_props':{'subject':"
		"'DC=Contoso,OU=\\'Docs,Contoso\\',CN=www.contosoHRApp.com','key_usage':[]},"
		"'lifetime_actions':[],'attributes':{'enabled':false}}",
		"{'key_props':{'kty':'EC','crv':'P-256'},'x509_props':{'sans':"
		"{'upns':['u@contoso.com']}},'issuer':{'name':'Unknown'}}",
		"{'x509_props':{'subject':'CN = learn.microsoft.com, OU = Microsoft "
		"Corporation, O = Microsoft Corporation, L = Redmond, S = WA, C = US'},"
		"'issuer':{'name':'Self','cert_transparency':false}}",
	};
	cv_policy *p;
	size_t i;

	(void)state;
	/* the default itself */
	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_round_trip(p);
	cv_policy_free(p);

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		p = parse_ok(docs[i]);
		assert_round_trip(p);
		cv_policy_free(p);
	}
}

static void
test_quoted_subject_survives_json(void **state)
{
	cv_policy *p;

	(void)state;
	/* \\' in the C literal is \" in JSON: a quote inside the subject */
	p = parse_ok("{'x509_props':{'subject':'DC=Contoso,OU=\\'Docs,Contoso\\',"
		     "CN=www.contosoHRApp.com'}}");
	assert_string_equal(p->subject,
			    "DC=Contoso,OU=\"Docs,Contoso\",CN=www.contosoHRApp.com");
	assert_round_trip(p);
	cv_policy_free(p);
}

/* ------------------------------------------------------------------ */
/* Limits                                                             */
/* ------------------------------------------------------------------ */

static void
test_limit_key_type(void **state)
{
	cv_policy *p;

	(void)state;
	expect_parse_err("{'key_props':{'kty':'DSA'},'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "key_props.kty");
	expect_parse_err("{'key_props':{'kty':'rsa'},'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "'rsa'");
	expect_parse_err("{'key_props':{'kty':'oct'},'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "key_props.kty");

	p = parse_ok("{'key_props':{'kty':'RSA-HSM'},'x509_props':{'subject':'CN=a'}}");
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->hsm, 1);
	assert_int_equal(p->exportable, 0);
	assert_int_equal(p->key_size, 2048);
	cv_policy_free(p);
	p = parse_ok("{'key_props':{'kty':'EC-HSM','exportable':false},"
		     "'x509_props':{'subject':'CN=a'}}");
	assert_int_equal(p->kty, CV_KEY_EC);
	assert_int_equal(p->hsm, 1);
	assert_string_equal(p->curve, "P-256");
	cv_policy_free(p);

	/* an HSM key never leaves the HSM */
	expect_parse_err("{'key_props':{'kty':'RSA-HSM','exportable':true},"
			 "'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "key_props.exportable");
	expect_parse_err("{'key_props':{'kty':'EC-HSM','exportable':true},"
			 "'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "key_props.exportable");
}

static void
test_limit_rsa_key_size(void **state)
{
	static const int good[] = { 2048, 3072, 4096 };
	static const int bad[] = { 0, 1024, 2047, 2049, 4095, 8192, -2048 };
	char doc[160], needle[32];
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{'key_props':{'key_size':%d},'x509_props':{'subject':'CN=a'}}",
			 good[i]);
		p = parse_ok(doc);
		assert_int_equal(p->key_size, good[i]);
		cv_policy_free(p);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{'key_props':{'kty':'RSA','key_size':%d},'x509_props':"
			 "{'subject':'CN=a'}}", bad[i]);
		snprintf(needle, sizeof(needle), "key_props.key_size: %d", bad[i]);
		expect_parse_err(doc, CV_ERR_POLICY, needle);
	}
	expect_parse_err("{'key_props':{'key_size':99999999999},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.key_size");
}

static void
test_limit_curves(void **state)
{
	static const struct {
		const char *crv;
		int bits;
	} good[] = {
		{ "P-256", 256 }, { "P-384", 384 }, { "P-521", 521 }, { "P-256K", 256 },
	};
	char doc[200];
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{'key_props':{'kty':'EC','crv':'%s'},'x509_props':"
			 "{'subject':'CN=a'}}", good[i].crv);
		p = parse_ok(doc);
		assert_string_equal(p->curve, good[i].crv);
		assert_int_equal(p->key_size, 0);
		cv_policy_free(p);
		/* a key_size that matches the curve is accepted */
		snprintf(doc, sizeof(doc),
			 "{'key_props':{'kty':'EC','crv':'%s','key_size':%d},"
			 "'x509_props':{'subject':'CN=a'}}", good[i].crv, good[i].bits);
		p = parse_ok(doc);
		assert_string_equal(p->curve, good[i].crv);
		assert_int_equal(p->key_size, 0);
		cv_policy_free(p);
	}
	expect_parse_err("{'key_props':{'kty':'EC','crv':'P-224'},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.crv");
	expect_parse_err("{'key_props':{'kty':'EC','crv':'secp256k1-too-long'},"
			 "'x509_props':{'subject':'CN=a'}}", CV_ERR_POLICY,
			 "key_props.crv");
	expect_parse_err("{'key_props':{'kty':'EC','crv':'p-256'},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.crv");
	/* a curve is for EC keys only */
	expect_parse_err("{'key_props':{'kty':'RSA','crv':'P-256'},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.crv");
	expect_parse_err("{'key_props':{'crv':'P-256'},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.crv");
	/* the size must match the curve */
	expect_parse_err("{'key_props':{'kty':'EC','crv':'P-256','key_size':384},"
			 "'x509_props':{'subject':'CN=a'}}", CV_ERR_POLICY,
			 "key_props.key_size");
	expect_parse_err("{'key_props':{'kty':'EC','crv':'P-521','key_size':512},"
			 "'x509_props':{'subject':'CN=a'}}", CV_ERR_POLICY,
			 "key_props.key_size");
	/* without crv the size names the curve; other sizes are refused */
	p = parse_ok("{'key_props':{'kty':'EC','key_size':384},'x509_props':"
		     "{'subject':'CN=a'}}");
	assert_string_equal(p->curve, "P-384");
	cv_policy_free(p);
	p = parse_ok("{'key_props':{'kty':'EC'},'x509_props':{'subject':'CN=a'}}");
	assert_string_equal(p->curve, "P-256");
	assert_int_equal(p->key_size, 0);
	cv_policy_free(p);
	expect_parse_err("{'key_props':{'kty':'EC','key_size':2048},'x509_props':"
			 "{'subject':'CN=a'}}", CV_ERR_POLICY, "key_props.key_size");
}

static void
test_limit_lifetime_percentage(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		     "{'lifetime_percentage':1},'action':{'action_type':'AutoRenew'}}]}");
	assert_int_equal(p->actions[0].value, 1);
	cv_policy_free(p);
	p = parse_ok("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		     "{'lifetime_percentage':99},'action':{'action_type':'AutoRenew'}}]}");
	assert_int_equal(p->actions[0].value, 99);
	cv_policy_free(p);
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
			 "{'lifetime_percentage':0},'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger.lifetime_percentage");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
			 "{'lifetime_percentage':100},'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger.lifetime_percentage");
}

static void
test_limit_days_before_expiry(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'x509_props':{'subject':'CN=a','validity_months':12},"
		     "'lifetime_actions':[{'trigger':{'days_before_expiry':324},"
		     "'action':{'action_type':'EmailContacts'}}]}");
	assert_int_equal(p->actions[0].trigger, CV_TRIGGER_DAYS_BEFORE_EXPIRY);
	assert_int_equal(p->actions[0].value, 324);
	cv_policy_free(p);
	p = parse_ok("{'x509_props':{'subject':'CN=a','validity_months':1},"
		     "'lifetime_actions':[{'trigger':{'days_before_expiry':1},"
		     "'action':{'action_type':'EmailContacts'}}]}");
	cv_policy_free(p);
	expect_parse_err("{'x509_props':{'subject':'CN=a','validity_months':12},"
			 "'lifetime_actions':[{'trigger':{'days_before_expiry':325},"
			 "'action':{'action_type':'EmailContacts'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger.days_before_expiry");
	expect_parse_err("{'x509_props':{'subject':'CN=a','validity_months':1},"
			 "'lifetime_actions':[{'trigger':{'days_before_expiry':28},"
			 "'action':{'action_type':'EmailContacts'}}]}",
			 CV_ERR_POLICY, "must be 1 to 27");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},"
			 "'lifetime_actions':[{'trigger':{'days_before_expiry':0},"
			 "'action':{'action_type':'EmailContacts'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger.days_before_expiry");
}

static void
test_limit_actions(void **state)
{
	cv_policy *p;

	(void)state;
	/* one of each type is fine */
	p = parse_ok("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
		     "{'trigger':{'lifetime_percentage':80},'action':{'action_type':'AutoRenew'}},"
		     "{'trigger':{'days_before_expiry':10},'action':{'action_type':'EmailContacts'}}]}");
	assert_int_equal(p->n_actions, 2);
	cv_policy_free(p);
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80},'action':{'action_type':'AutoRenew'}},"
			 "{'trigger':{'days_before_expiry':10},'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[1].action.action_type");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80},'action':{'action_type':'EmailContacts'}},"
			 "{'trigger':{'lifetime_percentage':90},'action':{'action_type':'EmailContacts'}}]}",
			 CV_ERR_POLICY, "only one EmailContacts");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80},'action':{'action_type':'Renew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].action.action_type");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80},'action':{'action_type':'autorenew'}}]}",
			 CV_ERR_POLICY, "'autorenew'");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80},'action':{}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].action.action_type is required");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].action is required");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger is required");
	/* exactly one trigger */
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':80,'days_before_expiry':10},"
			 "'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger: give exactly one");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{},'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "lifetime_actions[0].trigger: give exactly one");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':["
			 "{'trigger':{'lifetime_percentage':null,'days_before_expiry':null},"
			 "'action':{'action_type':'AutoRenew'}}]}",
			 CV_ERR_POLICY, "give exactly one");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'lifetime_actions':[5]}",
			 CV_ERR_POLICY, "lifetime_actions[0]: must be an object");
}

static void
test_limit_validity(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok(WITH_SUBJECT(",'validity_months':1"));
	assert_int_equal(p->validity_months, 1);
	cv_policy_free(p);
	p = parse_ok(WITH_SUBJECT(",'validity_months':1200"));
	assert_int_equal(p->validity_months, 1200);
	cv_policy_free(p);
	expect_parse_err(WITH_SUBJECT(",'validity_months':0"), CV_ERR_POLICY,
			 "x509_props.validity_months: must be 1 to 1200");
	expect_parse_err(WITH_SUBJECT(",'validity_months':1201"), CV_ERR_POLICY,
			 "x509_props.validity_months");
	expect_parse_err(WITH_SUBJECT(",'validity_months':-5"), CV_ERR_POLICY,
			 "x509_props.validity_months");
}

static void
test_limit_subject(void **state)
{
	char doc[600], subject[256];
	cv_policy *p;

	(void)state;
	/* 200 characters: "CN=" and 197 letters */
	memset(subject, 0, sizeof(subject));
	memcpy(subject, "CN=", 3);
	memset(subject + 3, 'a', 60);
	memcpy(subject + 63, ", O=", 4);
	memset(subject + 67, 'b', 60);
	memcpy(subject + 127, ", OU=", 5);
	memset(subject + 132, 'c', 60);
	memcpy(subject + 192, ", L=", 4);
	memset(subject + 196, 'd', 4);
	assert_int_equal(strlen(subject), 200);
	snprintf(doc, sizeof(doc), "{'x509_props':{'subject':'%s'}}", subject);
	p = parse_ok(doc);
	cv_policy_free(p);
	strcat(subject, "e");
	snprintf(doc, sizeof(doc), "{'x509_props':{'subject':'%s'}}", subject);
	expect_parse_err(doc, CV_ERR_POLICY, "x509_props.subject");

	/* characters, not bytes: 200 two-byte characters are allowed */
	memset(subject, 0, sizeof(subject));
	{
		char big[400] = "CN=";
		size_t i;

		for (i = 0; i < 60; i++)
			strcat(big, "\xc3\xa9");
		strcat(big, ", O=");
		for (i = 0; i < 60; i++)
			strcat(big, "\xc3\xa9");
		strcat(big, ", OU=");
		for (i = 0; i < 60; i++)
			strcat(big, "\xc3\xa9");
		strcat(big, ", L=abcd");
		snprintf(doc, sizeof(doc), "{'x509_props':{'subject':'%s'}}", big);
		p = parse_ok(doc);
		cv_policy_free(p);
	}

	/* not an X.500 name: Key Vault's words, exactly */
	expect_parse_err("{'x509_props':{'subject':'FOO=bar'}}", CV_ERR_BAD_SUBJECT,
			 BAD_SUBJECT_TEXT);
	expect_parse_err("{'x509_props':{'subject':'CN'}}", CV_ERR_BAD_SUBJECT,
			 BAD_SUBJECT_TEXT);
	expect_parse_err("{'x509_props':{'subject':''}}", CV_ERR_BAD_SUBJECT,
			 BAD_SUBJECT_TEXT);
	assert_string_equal(cv_err_detail(), BAD_SUBJECT_TEXT);

	/* a subject or a SAN */
	expect_parse_err("{}", CV_ERR_POLICY,
			 "x509_props.subject: a subject or a subject alternative name is required");
	expect_parse_err("{'x509_props':{'sans':{'dns_names':[]}}}", CV_ERR_POLICY,
			 "x509_props.subject");
	p = parse_ok("{'x509_props':{'sans':{'dns_names':['a.contoso.com']}}}");
	assert_null(p->subject);
	cv_policy_free(p);
	p = parse_ok("{'x509_props':{'sans':{'ipAddresses':['10.1.2.3']}}}");
	cv_policy_free(p);
}

static void
test_limit_key_usage(void **state)
{
	static const char *const names[] = {
		"digitalSignature", "nonRepudiation", "keyEncipherment",
		"dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly",
	};
	char doc[160];
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(doc, sizeof(doc), WITH_SUBJECT(",'key_usage':['%s']"), names[i]);
		p = parse_ok(doc);
		assert_int_equal(p->key_usage, 1u << i);
		assert_string_equal(cv_key_usage_name(1u << i), names[i]);
		cv_policy_free(p);
	}
	expect_parse_err(WITH_SUBJECT(",'key_usage':['digitalSignature','serverAuth']"),
			 CV_ERR_POLICY, "x509_props.key_usage[1]: 'serverAuth'");
	expect_parse_err(WITH_SUBJECT(",'key_usage':['DigitalSignature']"), CV_ERR_POLICY,
			 "'DigitalSignature'");
	expect_parse_err(WITH_SUBJECT(",'key_usage':['crlSign']"), CV_ERR_POLICY, "'crlSign'");
}

static void
test_limit_ekus(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok(WITH_SUBJECT(",'ekus':['1.3.6.1.5.5.7.3.1','1.3.6.1.4.1.311.10.3.12']"));
	assert_int_equal(p->ekus.n, 2);
	cv_policy_free(p);
	expect_parse_err(WITH_SUBJECT(",'ekus':['serverAuth']"), CV_ERR_POLICY,
			 "x509_props.ekus[0]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['1.3.6.1.5.5.7.3.1','1..2']"), CV_ERR_POLICY,
			 "x509_props.ekus[1]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['']"), CV_ERR_POLICY, "x509_props.ekus[0]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['1']"), CV_ERR_POLICY, "x509_props.ekus[0]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['1.2.x']"), CV_ERR_POLICY, "x509_props.ekus[0]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['1.2.']"), CV_ERR_POLICY, "x509_props.ekus[0]");
	expect_parse_err(WITH_SUBJECT(",'ekus':['.1.2']"), CV_ERR_POLICY, "x509_props.ekus[0]");
	/* the first arc is 0, 1 or 2 (OpenSSL refuses to encode others) */
	expect_parse_err(WITH_SUBJECT(",'ekus':['7.1']"), CV_ERR_POLICY, "x509_props.ekus[0]");
}

static void
test_limit_sans(void **state)
{
	static const struct {
		const char *kind, *value;
		int ok;
	} cases[] = {
		{ "dns_names", "contoso.com", 1 },
		{ "dns_names", "*.contoso.com", 1 },
		{ "dns_names", "a-b.c0.io", 1 },
		{ "dns_names", "localhost", 1 },
		{ "dns_names", "", 0 },
		{ "dns_names", "a b.com", 0 },
		{ "dns_names", "_sip._tls.contoso.com", 1 },
		{ "dns_names", "a/b.com", 0 },
		{ "dns_names", "a.*.com", 0 },
		{ "dns_names", "*", 0 },
		{ "dns_names", "*.", 0 },
		{ "dns_names", "*xa.contoso.com", 0 },
		{ "dns_names", "w*.contoso.com", 0 },
		{ "dns_names", "a..com", 0 },
		{ "dns_names", ".a.com", 0 },
		{ "dns_names", "a@b.com", 0 },
		{ "emails", "a@contoso.com", 1 },
		{ "emails", "contoso.com", 0 },
		{ "emails", "a@b@contoso.com", 0 },
		{ "emails", "@contoso.com", 0 },
		{ "emails", "a@", 0 },
		{ "ipAddresses", "192.168.0.1", 1 },
		{ "ipAddresses", "2001:db8::1", 1 },
		{ "ipAddresses", "::", 1 },
		{ "ipAddresses", "256.1.1.1", 0 },
		{ "ipAddresses", "10.0.0", 0 },
		{ "ipAddresses", "contoso.com", 0 },
		{ "ipAddresses", "2001:db8:::1", 0 },
		{ "uris", "https://contoso.com/a", 1 },
		{ "uris", "urn:ietf:rfc:3986", 1 },
		{ "uris", "spiffe://contoso.com/w", 1 },
		{ "uris", "contoso.com/a", 0 },
		{ "uris", "://x", 0 },
		{ "uris", "1http://x", 0 },
		{ "uris", "http:", 0 },
		{ "upns", "user@contoso.com", 1 },
		{ "upns", "", 0 },
	};
	char doc[512], needle[64];
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{'x509_props':{'sans':{'%s':['%s']}}}", cases[i].kind,
			 cases[i].value);
		if (cases[i].ok) {
			p = parse_ok(doc);
			cv_policy_free(p);
		} else {
			snprintf(needle, sizeof(needle), "x509_props.sans.%s[0]",
				 cases[i].kind);
			expect_parse_err(doc, CV_ERR_POLICY, needle);
		}
	}
	/* DNS names up to 253 characters */
	{
		char name[300] = "";
		size_t k;

		for (k = 0; k < 4; k++)
			strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
		strcat(name, "abcdefghi"); /* 4 x 62 + 5 = 253 */
		name[253] = '\0';
		assert_int_equal(strlen(name), 253);
		snprintf(doc, sizeof(doc), "{'x509_props':{'sans':{'dns_names':['%s']}}}",
			 name);
		p = parse_ok(doc);
		cv_policy_free(p);
		strcat(name, "x");
		snprintf(doc, sizeof(doc), "{'x509_props':{'sans':{'dns_names':['%s']}}}",
			 name);
		expect_parse_err(doc, CV_ERR_POLICY, "x509_props.sans.dns_names[0]");
	}
	/* a label longer than 63 characters */
	expect_parse_err("{'x509_props':{'sans':{'dns_names':['aaaaaaaaaaaaaaaaaaaa"
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com']}}}",
			 CV_ERR_POLICY, "x509_props.sans.dns_names[0]");
}

static void
test_limit_content_type(void **state)
{
	cv_policy *p;

	(void)state;
	p = parse_ok("{'secret_props':{'contentType':'application/x-pem-file'},"
		     "'x509_props':{'subject':'CN=a'}}");
	assert_int_equal(p->content_type, CV_CONTENT_PEM);
	cv_policy_free(p);
	p = parse_ok("{'secret_props':{'contentType':'application/x-pkcs12'},"
		     "'x509_props':{'subject':'CN=a'}}");
	assert_int_equal(p->content_type, CV_CONTENT_PKCS12);
	cv_policy_free(p);
	expect_parse_err("{'secret_props':{'contentType':'application/json'},"
			 "'x509_props':{'subject':'CN=a'}}", CV_ERR_POLICY,
			 "secret_props.contentType");
	expect_parse_err("{'secret_props':{'contentType':''},"
			 "'x509_props':{'subject':'CN=a'}}", CV_ERR_POLICY,
			 "secret_props.contentType");
	assert_string_equal(cv_content_type_name(CV_CONTENT_PKCS12),
			    "application/x-pkcs12");
	assert_string_equal(cv_content_type_name(CV_CONTENT_PEM),
			    "application/x-pem-file");
	assert_null(cv_content_type_name((enum cv_content_type)0));
	assert_null(cv_content_type_name((enum cv_content_type)3));
	assert_null(cv_key_usage_name(0));
	assert_null(cv_key_usage_name(3));
	assert_null(cv_key_usage_name(1u << 9));
}

static void
test_limit_issuer(void **state)
{
	static const struct {
		const char *given, *stored;
	} good[] = {
		{ "Self", "Self" }, { "self", "Self" }, { "SELF", "Self" },
		{ "Unknown", "Unknown" }, { "unKnown", "Unknown" },
		{ "my-acme-1", "my-acme-1" }, { "DigiCert", "DigiCert" },
	};
	char doc[400], name[140];
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(doc, sizeof(doc),
			 "{'x509_props':{'subject':'CN=a'},'issuer':{'name':'%s'}}",
			 good[i].given);
		p = parse_ok(doc);
		assert_string_equal(p->issuer_name, good[i].stored);
		cv_policy_free(p);
	}
	memset(name, 'n', 127);
	name[127] = '\0';
	snprintf(doc, sizeof(doc),
		 "{'x509_props':{'subject':'CN=a'},'issuer':{'name':'%s'}}", name);
	p = parse_ok(doc);
	cv_policy_free(p);
	strcat(name, "n");
	snprintf(doc, sizeof(doc),
		 "{'x509_props':{'subject':'CN=a'},'issuer':{'name':'%s'}}", name);
	expect_parse_err(doc, CV_ERR_POLICY, "issuer.name");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'name':'my acme'}}",
			 CV_ERR_POLICY, "issuer.name: 'my acme'");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'name':''}}",
			 CV_ERR_POLICY, "issuer.name");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{}}",
			 CV_ERR_POLICY, "issuer.name is required");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'cty':'OV-SSL'}}",
			 CV_ERR_POLICY, "issuer.name is required");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'name':null}}",
			 CV_ERR_POLICY, "issuer.name is required");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Self',"
			 "'cert_transparency':'yes'}}", CV_ERR_POLICY,
			 "issuer.cert_transparency: must be true or false");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Self',"
			 "'cert_transparency':1}}", CV_ERR_POLICY,
			 "issuer.cert_transparency");
}

/* ------------------------------------------------------------------ */
/* Document errors                                                    */
/* ------------------------------------------------------------------ */

static void
test_unknown_members(void **state)
{
	static const struct {
		const char *doc, *path;
	} cases[] = {
		{ "{'x509_props':{'subject':'CN=a','foo':1}}", "'x509_props.foo'" },
		{ "{'x509_props':{'subject':'CN=a'},'foo':1}", "'foo'" },
		{ "{'key_props':{'keySize':2048},'x509_props':{'subject':'CN=a'}}",
		  "'key_props.keySize'" },
		{ "{'x509_props':{'subject':'CN=a','sans':{'dnsNames':['a.com']}}}",
		  "'x509_props.sans.dnsNames'" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		  "{'percent':5},'action':{'action_type':'AutoRenew'}}]}",
		  "'lifetime_actions[0].trigger.percent'" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		  "{'lifetime_percentage':5},'action':{'action_type':'AutoRenew'},'x':1}]}",
		  "'lifetime_actions[0].x'" },
		{ "{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Self','type':'x'}}",
		  "'issuer.type'" },
		{ "{'x509_props':{'subject':'CN=a'},'attributes':{'enabled':true,'tags':{}}}",
		  "'attributes.tags'" },
		{ "{'x509_props':{'subject':'CN=a'},'secret_props':{'content_type':'x'}}",
		  "'secret_props.content_type'" },
		/* az spelling: the path as written */
		{ "{'x509CertificateProperties':{'subject':'CN=a','validity_months':3}}",
		  "'x509CertificateProperties.validity_months'" },
		{ "{'keyProperties':{'kty':'RSA'},'x509CertificateProperties':"
		  "{'subject':'CN=a'}}", "'keyProperties.kty'" },
		{ "{'issuerParameters':{'name':'Self','cty':'x'},"
		  "'x509CertificateProperties':{'subject':'CN=a'}}",
		  "'issuerParameters.cty'" },
		/* older az spelling has no ipAddresses */
		{ "{'x509_certificate_properties':{'subject_alternative_names':"
		  "{'ipAddresses':['1.2.3.4']}}}",
		  "'x509_certificate_properties.subject_alternative_names.ipAddresses'" },
		{ "{'key_properties':{'keyType':'RSA'},'x509_certificate_properties':"
		  "{'subject':'CN=a'}}", "'key_properties.keyType'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char needle[160];

		snprintf(needle, sizeof(needle), "unknown policy member %s",
			 cases[i].path);
		expect_parse_err(cases[i].doc, CV_ERR_POLICY, needle);
	}
	/* one spelling per document */
	expect_parse_err("{'key_props':{},'x509CertificateProperties':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "'x509CertificateProperties'");
	expect_parse_err("{'keyProperties':{},'x509_props':{'subject':'CN=a'}}",
			 CV_ERR_POLICY, "use one spelling");
	expect_parse_err("{'lifetime_actions':[],'keyProperties':{}}",
			 CV_ERR_POLICY, "use one spelling");
}

static void
test_wrong_types(void **state)
{
	static const struct {
		const char *doc, *needle;
	} cases[] = {
		{ "{'key_props':5,'x509_props':{'subject':'CN=a'}}",
		  "key_props: must be an object" },
		{ "{'key_props':{'exportable':'true'},'x509_props':{'subject':'CN=a'}}",
		  "key_props.exportable: must be true or false" },
		{ "{'key_props':{'reuse_key':0},'x509_props':{'subject':'CN=a'}}",
		  "key_props.reuse_key: must be true or false" },
		{ "{'key_props':{'key_size':'2048'},'x509_props':{'subject':'CN=a'}}",
		  "key_props.key_size: must be an integer" },
		{ "{'key_props':{'key_size':2048.0},'x509_props':{'subject':'CN=a'}}",
		  "key_props.key_size: must be an integer" },
		{ "{'key_props':{'kty':1},'x509_props':{'subject':'CN=a'}}",
		  "key_props.kty: must be a string" },
		{ "{'key_props':{'kty':'EC','crv':256},'x509_props':{'subject':'CN=a'}}",
		  "key_props.crv: must be a string" },
		{ "{'secret_props':[],'x509_props':{'subject':'CN=a'}}",
		  "secret_props: must be an object" },
		{ "{'secret_props':{'contentType':true},'x509_props':{'subject':'CN=a'}}",
		  "secret_props.contentType: must be a string" },
		{ "{'x509_props':'CN=a'}", "x509_props: must be an object" },
		{ "{'x509_props':{'subject':['CN=a']}}", "x509_props.subject: must be a string" },
		{ "{'x509_props':{'subject':'CN=a','sans':[]}}",
		  "x509_props.sans: must be an object" },
		{ "{'x509_props':{'subject':'CN=a','sans':{'dns_names':'a.com'}}}",
		  "x509_props.sans.dns_names: must be an array" },
		{ "{'x509_props':{'subject':'CN=a','sans':{'emails':[1]}}}",
		  "x509_props.sans.emails[0]: must be a string" },
		{ "{'x509_props':{'subject':'CN=a','ekus':'1.2.3'}}",
		  "x509_props.ekus: must be an array" },
		{ "{'x509_props':{'subject':'CN=a','key_usage':'cRLSign'}}",
		  "x509_props.key_usage: must be an array" },
		{ "{'x509_props':{'subject':'CN=a','key_usage':[null]}}",
		  "x509_props.key_usage[0]: must be a string" },
		{ "{'x509_props':{'subject':'CN=a','validity_months':'12'}}",
		  "x509_props.validity_months: must be an integer" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':{}}",
		  "lifetime_actions: must be an array" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':[],"
		  "'action':{'action_type':'AutoRenew'}}]}",
		  "lifetime_actions[0].trigger: must be an object" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		  "{'lifetime_percentage':'80'},'action':{'action_type':'AutoRenew'}}]}",
		  "lifetime_actions[0].trigger.lifetime_percentage: must be an integer" },
		{ "{'x509_props':{'subject':'CN=a'},'lifetime_actions':[{'trigger':"
		  "{'lifetime_percentage':80},'action':{'action_type':1}}]}",
		  "lifetime_actions[0].action.action_type: must be a string" },
		{ "{'x509_props':{'subject':'CN=a'},'issuer':'Self'}",
		  "issuer: must be an object" },
		{ "{'x509_props':{'subject':'CN=a'},'issuer':{'name':1}}",
		  "issuer.name: must be a string" },
		{ "{'x509_props':{'subject':'CN=a'},'issuer':{'name':'Self','cty':1}}",
		  "issuer.cty: must be a string" },
		{ "{'x509_props':{'subject':'CN=a'},'attributes':{'enabled':'yes'}}",
		  "attributes.enabled: must be true or false" },
		{ "{'x509_props':{'subject':'CN=a'},'attributes':true}",
		  "attributes: must be an object" },
		/* az spelling: details use the REST names */
		{ "{'keyProperties':{'keySize':'big'},'x509CertificateProperties':"
		  "{'subject':'CN=a'}}", "key_props.key_size: must be an integer" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_parse_err(cases[i].doc, CV_ERR_POLICY, cases[i].needle);
}

static void
test_document_errors(void **state)
{
	cv_policy *p = (cv_policy *)&p;
	const char *bad = "{\n  \"x509_props\": {\n    \"subject\": \"CN=a\",\n  }\n}";
	cv_err err;

	(void)state;
	err = cv_policy_parse(bad, strlen(bad), &p);
	assert_int_equal(err, CV_ERR_JSON);
	assert_null(p);
	assert_true(strncmp(cv_err_detail(), "malformed JSON at line 4, column ", 33) == 0);
	assert_non_null(strstr(cv_err_detail(), ": "));

	expect_parse_err("{'x509_props':", CV_ERR_JSON, "malformed JSON at line 1, column");
	expect_parse_err("{'a':1} x", CV_ERR_JSON, "malformed JSON at line 1");
	expect_parse_err("{'x509_props':{'subject':'CN=a'},'x509_props':{}}",
			 CV_ERR_JSON, "duplicate");
	expect_parse_err("", CV_ERR_JSON, "empty");
	expect_parse_err("  \n\t ", CV_ERR_JSON, "empty");
	expect_parse_err("[]", CV_ERR_POLICY, "must be a JSON object");
	expect_parse_err("'policy'", CV_ERR_POLICY, "must be a JSON object");
	expect_parse_err("42", CV_ERR_POLICY, "must be a JSON object");
	expect_parse_err("null", CV_ERR_POLICY, "must be a JSON object");
	/* a \u0000 in a string is refused by the reader */
	expect_parse_err("{'x509_props':{'subject':'CN=a\\u0000b'}}", CV_ERR_JSON,
			 "malformed JSON");

	/* len bounds the document; no NUL needed */
	{
		const char *doc = "{\"x509_props\":{\"subject\":\"CN=a\"}}garbage";

		p = NULL;
		assert_int_equal(cv_policy_parse(doc, strlen(doc) - strlen("garbage"),
						 &p), CV_OK);
	}
	cv_policy_free(p);

	assert_int_equal(cv_policy_parse("{}", 2, NULL), CV_ERR_INVALID);
	p = (cv_policy *)&p;
	assert_int_equal(cv_policy_parse(NULL, 5, &p), CV_ERR_INVALID);
	assert_null(p);
	assert_int_equal(cv_policy_parse(NULL, 0, &p), CV_ERR_JSON);
}

/* ------------------------------------------------------------------ */
/* Validate, copy, free                                               */
/* ------------------------------------------------------------------ */

typedef void (*mutation)(cv_policy *);

static void m_kty(cv_policy *p) { p->kty = 9; }
static void m_hsm_export(cv_policy *p) { p->hsm = 1; p->exportable = 1; }
static void m_rsa_size(cv_policy *p) { p->key_size = 1024; }
static void m_rsa_curve(cv_policy *p) { strcpy(p->curve, "P-256"); }
static void m_ec_curve(cv_policy *p) { p->kty = CV_KEY_EC; p->key_size = 0; strcpy(p->curve, "P-999"); }
static void m_ec_size(cv_policy *p) { p->kty = CV_KEY_EC; strcpy(p->curve, "P-256"); }
static void m_ct(cv_policy *p) { p->content_type = 0; }
static void m_subject(cv_policy *p) { free(p->subject); p->subject = strdup("CN=a,,O=b"); }
static void m_no_subject(cv_policy *p) { free(p->subject); p->subject = NULL; }
static void m_ku(cv_policy *p) { p->key_usage = 1u << 12; }
static void m_validity(cv_policy *p) { p->validity_months = 1201; }
static void m_days(cv_policy *p) { p->validity_months = 3; /* 90 > 81 */ }
static void m_pct(cv_policy *p) { p->actions[0].trigger = CV_TRIGGER_LIFETIME_PERCENTAGE; p->actions[0].value = 100; }
static void m_trigger(cv_policy *p) { p->actions[0].trigger = 0; }
static void m_action(cv_policy *p) { p->actions[0].action = 7; }
static void m_issuer(cv_policy *p) { free(p->issuer_name); p->issuer_name = NULL; }
static void m_issuer_name(cv_policy *p) { free(p->issuer_name); p->issuer_name = strdup("a/b"); }
static void m_ct_flag(cv_policy *p) { p->cert_transparency = 2; }
static void m_enabled(cv_policy *p) { p->enabled = 5; }
static void m_export_flag(cv_policy *p) { p->exportable = 2; }

static void
test_validate_in_memory(void **state)
{
	static const struct {
		mutation m;
		cv_err code;
		const char *needle;
	} cases[] = {
		{ m_kty, CV_ERR_POLICY, "key_props.kty" },
		{ m_hsm_export, CV_ERR_POLICY, "key_props.exportable" },
		{ m_rsa_size, CV_ERR_POLICY, "key_props.key_size: 1024" },
		{ m_rsa_curve, CV_ERR_POLICY, "key_props.crv" },
		{ m_ec_curve, CV_ERR_POLICY, "key_props.crv" },
		{ m_ec_size, CV_ERR_POLICY, "key_props.key_size" },
		{ m_ct, CV_ERR_POLICY, "secret_props.contentType" },
		{ m_subject, CV_ERR_BAD_SUBJECT, BAD_SUBJECT_TEXT },
		{ m_no_subject, CV_ERR_POLICY, "x509_props.subject" },
		{ m_ku, CV_ERR_POLICY, "x509_props.key_usage" },
		{ m_validity, CV_ERR_POLICY, "x509_props.validity_months" },
		{ m_days, CV_ERR_POLICY, "lifetime_actions[0].trigger.days_before_expiry: must be 1 to 81" },
		{ m_pct, CV_ERR_POLICY, "lifetime_actions[0].trigger.lifetime_percentage" },
		{ m_trigger, CV_ERR_POLICY, "lifetime_actions[0].trigger" },
		{ m_action, CV_ERR_POLICY, "lifetime_actions[0].action.action_type" },
		{ m_issuer, CV_ERR_POLICY, "issuer.name is required" },
		{ m_issuer_name, CV_ERR_POLICY, "issuer.name" },
		{ m_ct_flag, CV_ERR_POLICY, "issuer.cert_transparency" },
		{ m_enabled, CV_ERR_POLICY, "attributes.enabled" },
		{ m_export_flag, CV_ERR_POLICY, "key_props.exportable" },
	};
	cv_policy *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cv_policy_default(&p), CV_OK);
		assert_int_equal(cv_policy_validate(p), CV_OK);
		cases[i].m(p);
		if (cv_policy_validate(p) != cases[i].code ||
		    strstr(cv_err_detail(), cases[i].needle) == NULL)
			fail_msg("mutation %zu: got '%s', wanted '%s'", i,
				 cv_err_detail(), cases[i].needle);
		cv_policy_free(p);
	}
	assert_int_equal(cv_policy_validate(NULL), CV_ERR_INVALID);
}

static void
test_copy_and_free(void **state)
{
	cv_policy *p, *c = NULL;

	(void)state;
	p = parse_ok("{'x509_props':{'subject':'CN=a','sans':{'dns_names':['a.com',"
		     "'b.com'],'emails':['x@a.com'],'upns':['u@a'],'ipAddresses':"
		     "['1.2.3.4'],'uris':['urn:a']},'ekus':['1.2.3.4']},'issuer':"
		     "{'name':'Self','cty':'OV-SSL','cert_transparency':true},"
		     "'lifetime_actions':[{'trigger':{'lifetime_percentage':10},"
		     "'action':{'action_type':'AutoRenew'}},{'trigger':"
		     "{'days_before_expiry':10},'action':{'action_type':'EmailContacts'}}]}");
	assert_int_equal(cv_policy_copy(p, &c), CV_OK);
	assert_policy_equal(p, c);
	/* deep: nothing shared */
	assert_ptr_not_equal(p->subject, c->subject);
	assert_ptr_not_equal(p->dns_names.v, c->dns_names.v);
	assert_ptr_not_equal(p->dns_names.v[0], c->dns_names.v[0]);
	assert_ptr_not_equal(p->actions, c->actions);
	assert_ptr_not_equal(p->cert_type, c->cert_type);
	cv_policy_free(p);
	assert_string_equal(c->dns_names.v[1], "b.com");
	assert_int_equal(cv_policy_validate(c), CV_OK);
	cv_policy_free(c);

	cv_policy_free(NULL);
	assert_int_equal(cv_policy_copy(NULL, &c), CV_ERR_INVALID);
	assert_null(c);
}

/* ------------------------------------------------------------------ */
/* Update                                                             */
/* ------------------------------------------------------------------ */

static void
test_update_changes_only_given(void **state)
{
	cv_policy *base = NULL, *p, *want = NULL;

	(void)state;
	assert_int_equal(cv_policy_default(&base), CV_OK);

	p = update_ok(base, "{'x509_props':{'validity_months':24}}");
	assert_int_equal(cv_policy_copy(base, &want), CV_OK);
	want->validity_months = 24;
	assert_policy_equal(p, want);
	cv_policy_free(want);
	cv_policy_free(p);

	/* the same in az's spelling, and the older one */
	p = update_ok(base, "{'x509CertificateProperties':{'validityInMonths':24},"
			    "'keyProperties':{'reuseKey':false}}");
	assert_int_equal(cv_policy_copy(base, &want), CV_OK);
	want->validity_months = 24;
	want->reuse_key = 0;
	assert_policy_equal(p, want);
	cv_policy_free(want);
	cv_policy_free(p);
	p = update_ok(base, "{'x509_certificate_properties':{'validity_in_months':24},"
			    "'secret_properties':{'content_type':'application/x-pem-file'}}");
	assert_int_equal(cv_policy_copy(base, &want), CV_OK);
	want->validity_months = 24;
	want->content_type = CV_CONTENT_PEM;
	assert_policy_equal(p, want);
	cv_policy_free(want);
	cv_policy_free(p);

	/* nested objects merge: a SAN added keeps the subject */
	p = update_ok(base, "{'x509_props':{'sans':{'dns_names':['a.contoso.com']}}}");
	assert_string_equal(p->subject, "CN=CLIGetDefaultPolicy");
	assert_int_equal(p->dns_names.n, 1);
	assert_int_equal(p->validity_months, 12);
	cv_policy_free(p);

	/* arrays are replaced whole */
	p = update_ok(base, "{'x509_props':{'key_usage':['digitalSignature']},"
			    "'lifetime_actions':[{'trigger':{'lifetime_percentage':50},"
			    "'action':{'action_type':'EmailContacts'}}]}");
	assert_int_equal(p->key_usage, CV_KU_DIGITAL_SIGNATURE);
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].action, CV_ACTION_EMAIL_CONTACTS);
	assert_int_equal(p->actions[0].value, 50);
	cv_policy_free(p);
	p = update_ok(base, "{'lifetime_actions':[]}");
	assert_int_equal(p->n_actions, 0);
	cv_policy_free(p);

	/* null and {} change nothing */
	p = update_ok(base, "{'x509_props':{'subject':null},'issuer':null}");
	assert_policy_equal(p, base);
	cv_policy_free(p);
	p = update_ok(base, "{}");
	assert_policy_equal(p, base);
	cv_policy_free(p);

	/* issuer members merge, name kept */
	p = update_ok(base, "{'issuer':{'cty':'OV-SSL'},'attributes':{'enabled':false}}");
	assert_string_equal(p->issuer_name, "Self");
	assert_string_equal(p->cert_type, "OV-SSL");
	assert_int_equal(p->enabled, 0);
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].value, 90);
	cv_policy_free(p);

	cv_policy_free(base);
}

static void
test_update_key_shape(void **state)
{
	cv_policy *base = NULL, *p, *q;

	(void)state;
	assert_int_equal(cv_policy_default(&base), CV_OK);
	/* RSA to EC: the RSA size goes */
	p = update_ok(base, "{'key_props':{'kty':'EC','crv':'P-384'}}");
	assert_int_equal(p->kty, CV_KEY_EC);
	assert_string_equal(p->curve, "P-384");
	assert_int_equal(p->key_size, 0);
	assert_int_equal(p->exportable, 1);
	assert_int_equal(p->reuse_key, 1);
	/* EC to another curve, then back to RSA */
	q = update_ok(p, "{'key_props':{'crv':'P-521'}}");
	assert_string_equal(q->curve, "P-521");
	cv_policy_free(q);
	q = update_ok(p, "{'key_props':{'kty':'RSA','key_size':3072}}");
	assert_int_equal(q->kty, CV_KEY_RSA);
	assert_int_equal(q->key_size, 3072);
	assert_string_equal(q->curve, "");
	cv_policy_free(q);
	q = update_ok(p, "{'keyProperties':{'keyType':'RSA'}}");
	assert_int_equal(q->key_size, 2048);
	cv_policy_free(q);
	cv_policy_free(p);

	/* to an HSM key: no longer exportable */
	p = update_ok(base, "{'key_props':{'kty':'RSA-HSM'}}");
	assert_int_equal(p->hsm, 1);
	assert_int_equal(p->exportable, 0);
	assert_int_equal(p->key_size, 2048);
	cv_policy_free(p);
	expect_update_err(base, "{'key_props':{'kty':'RSA-HSM','exportable':true}}",
			  CV_ERR_POLICY, "key_props.exportable");

	/* the merged policy is validated as a whole */
	expect_update_err(base, "{'x509_props':{'validity_months':3}}", CV_ERR_POLICY,
			  "lifetime_actions[0].trigger.days_before_expiry");
	expect_update_err(base, "{'key_props':{'key_size':1024}}", CV_ERR_POLICY,
			  "key_props.key_size");
	expect_update_err(base, "{'key_props':{'crv':'P-256'}}", CV_ERR_POLICY,
			  "key_props.crv");
	expect_update_err(base, "{'x509_props':{'subject':'FOO=x'}}",
			  CV_ERR_BAD_SUBJECT, BAD_SUBJECT_TEXT);
	expect_update_err(base, "{'x509_props':{'foo':1}}", CV_ERR_POLICY,
			  "unknown policy member 'x509_props.foo'");
	expect_update_err(base, "{'x509_props':", CV_ERR_JSON, "malformed JSON at line 1");
	expect_update_err(base, "", CV_ERR_JSON, "empty");
	expect_update_err(base, "[1]", CV_ERR_POLICY, "JSON object");
	expect_update_err(base, "{'issuer':{'name':'bad name'}}", CV_ERR_POLICY,
			  "issuer.name");
	assert_int_equal(cv_policy_update(NULL, "{}", 2, &p), CV_ERR_INVALID);
	assert_null(p);
	assert_int_equal(cv_policy_update(base, "{}", 2, NULL), CV_ERR_INVALID);
	cv_policy_free(base);
}

/* ------------------------------------------------------------------ */
/* Certificates                                                       */
/* ------------------------------------------------------------------ */

static void
test_from_certificate_rsa(void **state)
{
	EVP_PKEY *key = rsa_key(2048);
	X509 *x;
	cv_policy *p = NULL;

	(void)state;
	x = make_cert(key, "CN=www.contoso.com, O=Contoso, C=US", YEAR,
		      "DNS:www.contoso.com, DNS:*.contoso.com, email:admin@contoso.com, "
		      "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:user@contoso.com, "
		      "otherName:1.3.6.1.4.1.99999.1;UTF8:not-a-upn, "
		      "IP:10.0.0.1, IP:2001:db8::1, URI:https://contoso.com/x",
		      "critical,digitalSignature,keyEncipherment,nonRepudiation,decipherOnly",
		      "serverAuth,clientAuth,1.3.6.1.4.1.311.10.3.12");
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p), CV_OK);
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->hsm, 0);
	assert_int_equal(p->key_size, 2048);
	assert_string_equal(p->curve, "");
	assert_string_equal(p->subject, "CN=www.contoso.com, O=Contoso, C=US");
	assert_int_equal(p->dns_names.n, 2);
	assert_string_equal(p->dns_names.v[0], "www.contoso.com");
	assert_string_equal(p->dns_names.v[1], "*.contoso.com");
	assert_int_equal(p->emails.n, 1);
	assert_string_equal(p->emails.v[0], "admin@contoso.com");
	assert_int_equal(p->upns.n, 1);
	assert_string_equal(p->upns.v[0], "user@contoso.com");
	assert_int_equal(p->ip_addresses.n, 2);
	assert_string_equal(p->ip_addresses.v[0], "10.0.0.1");
	assert_string_equal(p->ip_addresses.v[1], "2001:db8::1");
	assert_int_equal(p->uris.n, 1);
	assert_string_equal(p->uris.v[0], "https://contoso.com/x");
	assert_int_equal(p->key_usage, CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT |
					       CV_KU_NON_REPUDIATION | CV_KU_DECIPHER_ONLY);
	assert_int_equal(p->ekus.n, 3);
	assert_string_equal(p->ekus.v[0], "1.3.6.1.5.5.7.3.1");
	assert_string_equal(p->ekus.v[1], "1.3.6.1.5.5.7.3.2");
	assert_string_equal(p->ekus.v[2], "1.3.6.1.4.1.311.10.3.12");
	assert_int_equal(p->validity_months, 12);
	assert_string_equal(p->issuer_name, "Unknown");
	assert_int_equal(p->exportable, 1);
	assert_int_equal(p->reuse_key, 0);
	assert_int_equal(p->content_type, CV_CONTENT_PEM);
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].trigger, CV_TRIGGER_LIFETIME_PERCENTAGE);
	assert_int_equal(p->actions[0].value, 80);
	assert_int_equal(p->actions[0].action, CV_ACTION_EMAIL_CONTACTS);
	assert_int_equal(p->enabled, 1);
	assert_int_equal(p->cert_transparency, -1);
	assert_null(p->cert_type);
	/* a derived policy is a valid one, and it fits its certificate */
	assert_int_equal(cv_policy_validate(p), CV_OK);
	assert_round_trip(p);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
	cv_policy_free(p);
	X509_free(x);

	/* no extensions: no key usage stated, no SANs */
	x = make_cert(key, "CN=plain", 2 * YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PKCS12, &p), CV_OK);
	assert_int_equal(p->key_usage, 0);
	assert_int_equal(p->dns_names.n + p->emails.n + p->upns.n +
				 p->ip_addresses.n + p->uris.n + p->ekus.n, 0);
	assert_int_equal(p->validity_months, 24);
	assert_int_equal(p->content_type, CV_CONTENT_PKCS12);
	assert_round_trip(p);
	cv_policy_free(p);
	X509_free(x);

	/* no subject: only SANs */
	x = make_cert(key, NULL, YEAR, "DNS:only.contoso.com", NULL, NULL);
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PKCS12, &p), CV_OK);
	assert_null(p->subject);
	assert_int_equal(cv_policy_validate(p), CV_OK);
	assert_round_trip(p);
	cv_policy_free(p);

	p = (cv_policy *)&p;
	assert_int_equal(cv_policy_from_certificate(x, (enum cv_content_type)9, &p),
			 CV_ERR_INVALID);
	assert_null(p);
	assert_int_equal(cv_policy_from_certificate(NULL, CV_CONTENT_PEM, &p),
			 CV_ERR_INVALID);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_from_certificate_ec(void **state)
{
	static const struct {
		const char *group, *curve;
	} cases[] = {
		{ "P-256", "P-256" },
		{ "P-384", "P-384" },
		{ "P-521", "P-521" },
		{ "secp256k1", "P-256K" },
	};
	EVP_PKEY *key;
	X509 *x;
	cv_policy *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key = ec_key(cases[i].group);
		x = make_cert(key, "CN=ec, O=\"Contoso, Ltd\"", 90 * DAY,
			      "DNS:ec.contoso.com, IP:192.168.1.1, "
			      "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:ec@contoso.com",
			      "digitalSignature,keyAgreement", "codeSigning");
		assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PKCS12, &p),
				 CV_OK);
		assert_int_equal(p->kty, CV_KEY_EC);
		assert_string_equal(p->curve, cases[i].curve);
		assert_int_equal(p->key_size, 0);
		assert_string_equal(p->subject, "CN=ec, O=\"Contoso, Ltd\"");
		assert_string_equal(p->ip_addresses.v[0], "192.168.1.1");
		assert_string_equal(p->upns.v[0], "ec@contoso.com");
		assert_int_equal(p->key_usage,
				 CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_AGREEMENT);
		assert_string_equal(p->ekus.v[0], "1.3.6.1.5.5.7.3.3");
		assert_int_equal(p->validity_months, 3);
		assert_int_equal(cv_policy_validate(p), CV_OK);
		assert_round_trip(p);
		assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
		cv_policy_free(p);
		X509_free(x);
		EVP_PKEY_free(key);
	}

	/* curves Key Vault does not take, and keys that are not RSA or EC */
	key = ec_key("P-224");
	x = make_cert(key, "CN=x", YEAR, NULL, NULL, NULL);
	p = (cv_policy *)&p;
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p),
			 CV_ERR_UNSUPPORTED);
	assert_null(p);
	assert_non_null(strstr(cv_err_detail(), "curve"));
	X509_free(x);
	EVP_PKEY_free(key);

	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(key);
	x = make_cert(key, "CN=x", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p),
			 CV_ERR_UNSUPPORTED);
	assert_null(p);
	assert_non_null(strstr(cv_err_detail(), "ED25519"));
	X509_free(x);
	EVP_PKEY_free(key);
}

static void
test_from_certificate_validity(void **state)
{
	static const struct {
		int64_t secs;
		int months;
	} cases[] = {
		{ 1, 1 },                 /* at least one month */
		{ DAY, 1 },
		{ 45 * DAY, 1 },
		{ 3945023, 1 },           /* just under 1.5 x 30.44 days */
		{ 3945024, 2 },           /* 1.5 months rounds up */
		{ 365 * DAY, 12 },
		{ 397 * DAY, 13 },
		{ 100 * YEAR, 1199 },
		{ 150 * YEAR, 1200 },     /* at most 1200 */
		{ -DAY, 1 },
	};
	EVP_PKEY *key = ec_key("P-256");
	cv_policy *p = NULL;
	X509 *x;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		x = make_cert(key, "CN=v", cases[i].secs, NULL, NULL, NULL);
		assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p),
				 CV_OK);
		if (p->validity_months != cases[i].months)
			fail_msg("%lld seconds gave %d months, wanted %d",
				 (long long)cases[i].secs, p->validity_months,
				 cases[i].months);
		cv_policy_free(p);
		X509_free(x);
	}
	EVP_PKEY_free(key);
}

/* az's own import policy names issuer, key properties and content type
 * only; the rest comes from the certificate, never from defaults that
 * contradict it. */
static void
test_import_policy_completed(void **state)
{
	static const char az_import[] =
		"{\"issuerParameters\":{\"name\":\"Unknown\"},"
		"\"keyProperties\":{\"exportable\":true,\"keySize\":2048,"
		"\"keyType\":\"RSA\",\"reuseKey\":false},"
		"\"secretProperties\":{\"contentType\":\"application/x-pem-file\"}}";
	EVP_PKEY *rsa = rsa_key(2048), *ec = ec_key("P-384");
	X509 *x, *y;
	cv_policy *given = NULL, *p = NULL, *d = NULL;
	size_t i;

	(void)state;
	x = make_cert(rsa, "CN=part.example, O=Contoso, C=US", 90 * DAY,
		      "DNS:part.example, DNS:www.part.example",
		      "critical,digitalSignature", "clientAuth");
	/* the plain parse refuses it, as Key Vault's create does */
	assert_int_equal(cv_policy_parse(az_import, strlen(az_import), &given),
			 CV_ERR_POLICY);
	assert_int_equal(cv_policy_parse_import(az_import, strlen(az_import), &given),
			 CV_OK);
	assert_true(given->from_cert & CV_FROM_CERT_SUBJECT);
	assert_true(given->from_cert & CV_FROM_CERT_VALIDITY);
	assert_false(given->from_cert & CV_FROM_CERT_KEY_TYPE);
	assert_false(given->from_cert & CV_FROM_CERT_CONTENT_TYPE);
	/* unfinished, it is no policy to create with */
	assert_int_equal(cv_policy_validate(given), CV_ERR_POLICY);

	assert_int_equal(cv_policy_complete(given, x, CV_CONTENT_PKCS12, &p), CV_OK);
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PKCS12, &d), CV_OK);
	assert_int_equal(p->from_cert, 0);
	assert_int_equal(cv_policy_validate(p), CV_OK);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
	/* from the certificate */
	assert_string_equal(p->subject, d->subject);
	assert_string_equal(p->subject, "CN=part.example, O=Contoso, C=US");
	assert_int_equal(p->dns_names.n, 2);
	for (i = 0; i < p->dns_names.n; i++)
		assert_string_equal(p->dns_names.v[i], d->dns_names.v[i]);
	assert_int_equal(p->key_usage, d->key_usage);
	assert_int_equal(p->key_usage, CV_KU_DIGITAL_SIGNATURE);
	assert_int_equal(p->ekus.n, 1);
	assert_string_equal(p->ekus.v[0], "1.3.6.1.5.5.7.3.2");
	assert_int_equal(p->validity_months, d->validity_months);
	assert_int_equal(p->validity_months, 3);
	/* from the policy */
	assert_int_equal(p->content_type, CV_CONTENT_PEM);
	assert_string_equal(p->issuer_name, "Unknown");
	assert_int_equal(p->reuse_key, 0);
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(p->key_size, 2048);
	cv_policy_free(p);
	cv_policy_free(d);
	p = d = NULL;

	/* a key type the certificate's key is not: kept, so the check names it */
	y = make_cert(ec, "CN=ec.example", 30 * DAY, NULL, NULL, NULL);
	assert_int_equal(cv_policy_complete(given, y, CV_CONTENT_PKCS12, &p), CV_OK);
	assert_int_equal(p->kty, CV_KEY_RSA);
	assert_int_equal(cv_policy_check_certificate(p, y), CV_ERR_POLICY);
	cv_policy_free(p);
	cv_policy_free(given);
	given = p = NULL;

	/* nothing said about the key: the certificate's type and curve */
	assert_int_equal(cv_policy_parse_import("{}", 2, &given), CV_OK);
	assert_int_equal(cv_policy_complete(given, y, CV_CONTENT_PKCS12, &p), CV_OK);
	assert_int_equal(p->kty, CV_KEY_EC);
	assert_string_equal(p->curve, "P-384");
	assert_string_equal(p->subject, "CN=ec.example");
	assert_int_equal(p->validity_months, 1);
	assert_string_equal(p->issuer_name, "Unknown");
	assert_int_equal(p->n_actions, 1);
	assert_int_equal(p->actions[0].action, CV_ACTION_EMAIL_CONTACTS);
	assert_int_equal(cv_policy_validate(p), CV_OK);
	assert_int_equal(cv_policy_check_certificate(p, y), CV_OK);
	cv_policy_free(p);
	cv_policy_free(given);

	X509_free(x);
	X509_free(y);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void
test_check_certificate(void **state)
{
	EVP_PKEY *rsa2048 = rsa_key(2048), *rsa3072 = rsa_key(3072);
	EVP_PKEY *p256 = ec_key("P-256"), *p384 = ec_key("P-384");
	X509 *x;
	cv_policy *p;

	(void)state;
	p = parse_ok("{'x509_props':{'subject':'CN=www.contoso.com, O=Contoso'}}");

	/* fits, subject compared as a name (case and spacing aside) */
	x = make_cert(rsa2048, "cn = WWW.contoso.com ; o = contoso", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
	X509_free(x);

	x = make_cert(rsa3072, "CN=www.contoso.com, O=Contoso", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_string_equal(cv_err_detail(),
			    "the certificate does not fit the policy: key_props.key_size "
			    "is 2048, the certificate's key has 3072 bits");
	X509_free(x);

	x = make_cert(p256, "CN=www.contoso.com, O=Contoso", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "key_props.kty is RSA"));
	X509_free(x);

	x = make_cert(rsa2048, "CN=www.contoso.com, O=Fabrikam", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "x509_props.subject"));
	assert_non_null(strstr(cv_err_detail(), "O=Fabrikam"));
	X509_free(x);

	/* the order of the RDNs matters */
	x = make_cert(rsa2048, "O=Contoso, CN=www.contoso.com", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	X509_free(x);
	cv_policy_free(p);

	p = parse_ok("{'key_props':{'kty':'EC','crv':'P-256'},'x509_props':"
		     "{'subject':'CN=ec'}}");
	x = make_cert(p256, "CN=ec", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
	X509_free(x);
	x = make_cert(p384, "CN=ec", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "key_props.crv is P-256"));
	assert_non_null(strstr(cv_err_detail(), "P-384"));
	X509_free(x);
	x = make_cert(rsa2048, "CN=ec", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "key_props.kty is EC"));
	X509_free(x);
	cv_policy_free(p);

	/* a SAN-only policy checks no subject */
	p = parse_ok("{'x509_props':{'sans':{'dns_names':['a.contoso.com']}}}");
	x = make_cert(rsa2048, "CN=anything", YEAR, NULL, NULL, NULL);
	assert_int_equal(cv_policy_check_certificate(p, x), CV_OK);
	assert_int_equal(cv_policy_check_certificate(NULL, x), CV_ERR_INVALID);
	assert_int_equal(cv_policy_check_certificate(p, NULL), CV_ERR_INVALID);
	X509_free(x);
	cv_policy_free(p);

	/* an unusable key does not fit */
	{
		EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

		assert_non_null(ed);
		assert_int_equal(cv_policy_default(&p), CV_OK);
		x = make_cert(ed, "CN=CLIGetDefaultPolicy", YEAR, NULL, NULL, NULL);
		assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
		assert_non_null(strstr(cv_err_detail(), "key_props.kty is RSA"));
		assert_non_null(strstr(cv_err_detail(), "ED25519"));
		X509_free(x);
		cv_policy_free(p);
		EVP_PKEY_free(ed);
	}

	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa3072);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
}

/* ------------------------------------------------------------------ */
/* basic_constraints, certvault's addition                            */
/* ------------------------------------------------------------------ */

#define CA_KU "'key_usage':['keyCertSign','cRLSign']"

static void
test_basic_constraints_parse_and_emit(void **state)
{
	cv_policy *p;
	char *text = NULL;

	(void)state;
	/* absent: no CA, and nothing written */
	p = parse_ok(WITH_SUBJECT(""));
	assert_int_equal(p->ca, 0);
	assert_int_equal(p->path_length, -1);
	assert_int_equal(cv_policy_to_json(p, CV_POLICY_JSON_REST, &text), CV_OK);
	assert_null(strstr(text, "basic_constraints"));
	free(text);
	cv_policy_free(p);

	p = parse_ok(WITH_SUBJECT(",'basic_constraints':{'ca':true,'path_length':1}," CA_KU));
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, 1);
	assert_round_trip(p);
	assert_int_equal(cv_policy_to_json(p, CV_POLICY_JSON_REST, &text), CV_OK);
	assert_non_null(strstr(text, "\"basic_constraints\": {\n      \"ca\": true,\n      \"path_length\": 1\n    }"));
	free(text);
	assert_int_equal(cv_policy_to_json(p, CV_POLICY_JSON_AZ, &text), CV_OK);
	assert_non_null(strstr(text, "\"basicConstraints\": {\n      \"ca\": true,\n      \"pathLength\": 1\n    }"));
	free(text);
	cv_policy_free(p);

	/* path length optional: no limit */
	p = parse_ok(WITH_SUBJECT(",'basic_constraints':{'ca':true}," CA_KU));
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, -1);
	assert_round_trip(p);
	cv_policy_free(p);

	/* the az and older az spellings */
	p = parse_ok("{'x509CertificateProperties':{'subject':'CN=a','keyUsage':['keyCertSign'],"
		     "'basicConstraints':{'ca':true,'pathLength':0}}}");
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, 0);
	cv_policy_free(p);
	p = parse_ok("{'x509_certificate_properties':{'subject':'CN=a','key_usage':['keyCertSign'],"
		     "'basic_constraints':{'ca':true,'path_length':16}}}");
	assert_int_equal(p->path_length, 16);
	cv_policy_free(p);

	/* ca false is no CA */
	p = parse_ok(WITH_SUBJECT(",'basic_constraints':{'ca':false}"));
	assert_int_equal(p->ca, 0);
	cv_policy_free(p);
}

static void
test_limit_basic_constraints(void **state)
{
	(void)state;
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':true}"), CV_ERR_POLICY,
			 "x509_props.basic_constraints: a CA policy needs keyCertSign in x509_props.key_usage");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':true},'key_usage':['digitalSignature']"),
			 CV_ERR_POLICY, "needs keyCertSign");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':true,'path_length':17}," CA_KU),
			 CV_ERR_POLICY, "x509_props.basic_constraints.path_length: must be 0 to 16, not 17");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':true,'path_length':-1}," CA_KU),
			 CV_ERR_POLICY, "x509_props.basic_constraints.path_length: must be 0 to 16, not -1");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'path_length':1}," CA_KU),
			 CV_ERR_POLICY, "only a CA");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':'yes'}," CA_KU),
			 CV_ERR_POLICY, "x509_props.basic_constraints.ca: must be true or false");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':{'ca':true,'pathlen':1}," CA_KU),
			 CV_ERR_POLICY, "pathlen");
	expect_parse_err(WITH_SUBJECT(",'basic_constraints':true"), CV_ERR_POLICY,
			 "x509_props.basic_constraints: must be an object");
}

static void
test_update_basic_constraints(void **state)
{
	cv_policy *base, *p, *q;

	(void)state;
	base = parse_ok(WITH_SUBJECT("," CA_KU));
	p = update_ok(base, "{'x509_props':{'basic_constraints':{'ca':true,'path_length':2}}}");
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, 2);
	/* replaced as a whole: ca false drops the path length */
	q = update_ok(p, "{'x509_props':{'basic_constraints':{'ca':false}}}");
	assert_int_equal(q->ca, 0);
	assert_int_equal(q->path_length, -1);
	cv_policy_free(q);
	/* a patch elsewhere keeps it */
	q = update_ok(p, "{'x509_props':{'validity_months':6}}");
	assert_int_equal(q->ca, 1);
	assert_int_equal(q->path_length, 2);
	cv_policy_free(q);
	cv_policy_free(p);
	cv_policy_free(base);
}

/* x with basicConstraints value added, signed again by key. */
static void
add_basic_constraints(X509 *x, EVP_PKEY *key, const char *value)
{
	add_ext(x, NID_basic_constraints, value);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
}

static void
test_from_certificate_basic_constraints(void **state)
{
	EVP_PKEY *key = ec_key("P-256");
	cv_policy *p = NULL, *given = NULL, *done = NULL;
	X509 *x;
	char *json;

	(void)state;
	x = make_cert(key, "CN=CA", YEAR, NULL, "critical,keyCertSign,cRLSign", NULL);
	add_basic_constraints(x, key, "critical,CA:TRUE,pathlen:2");
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p), CV_OK);
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, 2);
	assert_int_equal(cv_policy_validate(p), CV_OK);
	cv_policy_free(p);

	/* an import policy that leaves it out takes it from the certificate */
	json = jq("{'x509_props':{'subject':'CN=CA'}}");
	assert_int_equal(cv_policy_parse_import(json, strlen(json), &given), CV_OK);
	free(json);
	assert_true(given->from_cert & CV_FROM_CERT_BASIC_CONSTRAINTS);
	assert_int_equal(cv_policy_complete(given, x, CV_CONTENT_PEM, &done), CV_OK);
	assert_int_equal(done->ca, 1);
	assert_int_equal(done->path_length, 2);
	assert_int_equal(cv_policy_check_certificate(done, x), CV_OK);
	cv_policy_free(done);
	cv_policy_free(given);

	/* a policy that asks more than the certificate allows does not fit */
	p = parse_ok("{'x509_props':{'subject':'CN=CA','basic_constraints':{'ca':true,'path_length':3},"
		     CA_KU "},'key_props':{'kty':'EC','crv':'P-256'}}");
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_string_equal(cv_err_detail(), "the certificate does not fit the policy: "
			    "x509_props.basic_constraints.path_length is 3, the certificate's is 2");
	cv_policy_free(p);
	p = parse_ok("{'x509_props':{'subject':'CN=CA','basic_constraints':{'ca':true},"
		     CA_KU "},'key_props':{'kty':'EC','crv':'P-256'}}");
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "path_length is not set (no limit), the certificate's is 2"));
	X509_free(x);

	/* CA:TRUE without keyCertSign cannot sign certificates: not a CA */
	x = make_cert(key, "CN=CA", YEAR, NULL, "critical,digitalSignature", NULL);
	add_basic_constraints(x, key, "critical,CA:TRUE");
	assert_int_equal(cv_policy_check_certificate(p, x), CV_ERR_POLICY);
	assert_non_null(strstr(cv_err_detail(), "the certificate is not a CA"));
	cv_policy_free(p);
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p), CV_OK);
	assert_int_equal(p->ca, 0);
	cv_policy_free(p);
	X509_free(x);

	/* a path length over 16 reads as 16: only stricter */
	x = make_cert(key, "CN=CA", YEAR, NULL, "critical,keyCertSign", NULL);
	add_basic_constraints(x, key, "critical,CA:TRUE,pathlen:40");
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p), CV_OK);
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->path_length, 16);
	cv_policy_free(p);
	X509_free(x);

	/* CA:FALSE */
	x = make_cert(key, "CN=leaf", YEAR, NULL, "critical,keyCertSign", NULL);
	add_basic_constraints(x, key, "critical,CA:FALSE");
	assert_int_equal(cv_policy_from_certificate(x, CV_CONTENT_PEM, &p), CV_OK);
	assert_int_equal(p->ca, 0);
	assert_int_equal(p->path_length, -1);
	cv_policy_free(p);
	X509_free(x);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x500_seed_contoso),
		cmocka_unit_test(test_x500_seed_microsoft),
		cmocka_unit_test(test_x500_accepted_forms),
		cmocka_unit_test(test_x500_rejected),
		cmocka_unit_test(test_x500_multivalued_and_order),
		cmocka_unit_test(test_x500_rfc4514_round_trip),
		cmocka_unit_test(test_x500_equal),
		cmocka_unit_test(test_x500_format_built_names),
		cmocka_unit_test(test_default_values),
		cmocka_unit_test(test_default_text),
		cmocka_unit_test(test_three_spellings_of_default),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_parse_nulls_are_not_given),
		cmocka_unit_test(test_parse_full_policies),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_quoted_subject_survives_json),
		cmocka_unit_test(test_limit_key_type),
		cmocka_unit_test(test_limit_rsa_key_size),
		cmocka_unit_test(test_limit_curves),
		cmocka_unit_test(test_limit_lifetime_percentage),
		cmocka_unit_test(test_limit_days_before_expiry),
		cmocka_unit_test(test_limit_actions),
		cmocka_unit_test(test_limit_validity),
		cmocka_unit_test(test_limit_subject),
		cmocka_unit_test(test_limit_key_usage),
		cmocka_unit_test(test_limit_ekus),
		cmocka_unit_test(test_limit_sans),
		cmocka_unit_test(test_limit_content_type),
		cmocka_unit_test(test_limit_issuer),
		cmocka_unit_test(test_unknown_members),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_document_errors),
		cmocka_unit_test(test_validate_in_memory),
		cmocka_unit_test(test_copy_and_free),
		cmocka_unit_test(test_update_changes_only_given),
		cmocka_unit_test(test_update_key_shape),
		cmocka_unit_test(test_from_certificate_rsa),
		cmocka_unit_test(test_from_certificate_ec),
		cmocka_unit_test(test_from_certificate_validity),
		cmocka_unit_test(test_import_policy_completed),
		cmocka_unit_test(test_check_certificate),
		cmocka_unit_test(test_basic_constraints_parse_and_emit),
		cmocka_unit_test(test_limit_basic_constraints),
		cmocka_unit_test(test_update_basic_constraints),
		cmocka_unit_test(test_from_certificate_basic_constraints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
