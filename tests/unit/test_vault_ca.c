/* Unit tests: the vault as a CA (store/issue/vault_ca.c) through store.h.
 *
 * A root made in the vault signs an intermediate through a Vault issuer,
 * which signs leaves through a second one; OpenSSL's own verifier accepts
 * them with the root alone as trust anchor.  Every refusal is checked to
 * leave the vault byte-for-byte as it was (digest of `mdb_dump -a`).  The
 * clock is the test's: the program is linked with --wrap=time, so the CA's
 * expiry is reached without waiting.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "store.h"
#include "fixture.h"

#define DAY (24 * 3600)

/* --- Fixtures ----------------------------------------------------------- */

typedef cvt_fixture fixture;

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || cvt_vault_make(fx, "CaKV") != 0) {
		free(fx);
		return -1;
	}
	cvt_clock_shift = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	int rc = cvt_vault_remove(fx);

	free(fx);
	cvt_clock_shift = 0;
	return rc;
}

/* An EC P-256 policy: subject, issuer, and more x509_props members. */
static cv_policy *
policy(const char *subject, const char *issuer, const char *x509_extra)
{
	char json[1024];
	cv_policy *p = NULL;
	cv_err err;

	snprintf(json, sizeof(json),
		 "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false,"
		 "\"reuse_key\":false},\"secret_props\":{\"contentType\":\"application/x-pem-file\"},"
		 "\"x509_props\":{\"subject\":\"%s\"%s%s},\"issuer\":{\"name\":\"%s\"}}",
		 subject, x509_extra[0] ? "," : "", x509_extra, issuer);
	err = cv_policy_parse(json, strlen(json), &p);
	if (err != CV_OK)
		fail_msg("policy %s: %s", json, cv_err_detail());
	return p;
}

#define CA_KU "\"key_usage\":[\"keyCertSign\",\"cRLSign\"]"

static cv_err
create(fixture *fx, const char *name, const char *subject, const char *issuer,
       const char *x509_extra)
{
	cv_policy *p = policy(subject, issuer, x509_extra);
	cv_err err = cv_cert_create(fx->v, name, p, NULL, NULL);

	cv_policy_free(p);
	return err;
}

static void
create_ok(fixture *fx, const char *name, const char *subject, const char *issuer,
	  const char *x509_extra)
{
	cv_err err = create(fx, name, subject, issuer, x509_extra);

	if (err != CV_OK)
		fail_msg("create %s: %s (%s)", name, cv_strerror(err), cv_err_detail());
}

/* A refused create: err, a detail holding needle, the vault unchanged. */
static void
create_refused(fixture *fx, const char *name, const char *subject, const char *issuer,
	       const char *x509_extra, cv_err want, const char *needle)
{
	char *before = cvt_vault_digest(fx);
	cv_err err = create(fx, name, subject, issuer, x509_extra);

	if (err != want || strstr(cv_err_detail(), needle) == NULL)
		fail_msg("create %s: got %s (%s), wanted %s holding '%s'", name,
			 cv_strerror(err), cv_err_detail(), cv_strerror(want), needle);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
}

static cv_err
vault_issuer(fixture *fx, const char *name, const char *ca, char **names, size_t n)
{
	cv_issuer is;

	memset(&is, 0, sizeof(is));
	snprintf(is.name, sizeof(is.name), "%s", name);
	is.provider = "Vault";
	is.ca_certificate = (char *)ca;
	is.allowed_names = names;
	is.n_allowed_names = n;
	is.enabled = 1;
	return cv_issuer_put(fx->v, &is, CV_PUT_CREATE, NULL);
}

static X509 *
cert_of(fixture *fx, const char *name, STACK_OF(X509) **chain)
{
	cv_cert_version *cv = NULL;
	const unsigned char *p;
	X509 *x, *link;
	size_t i;

	assert_int_equal(cv_cert_get(fx->v, name, NULL, &cv), CV_OK);
	p = cv->der.data;
	x = d2i_X509(NULL, &p, (long)cv->der.len);
	assert_non_null(x);
	if (chain != NULL) {
		*chain = sk_X509_new_null();
		for (i = 0; i < cv->chain_len; i++) {
			p = cv->chain[i].data;
			link = d2i_X509(NULL, &p, (long)cv->chain[i].len);
			assert_non_null(link);
			assert_true(sk_X509_push(*chain, link) > 0);
		}
	}
	cv_cert_version_free(cv);
	return x;
}

/* X509_verify_cert of leaf with root as the one trust anchor. */
static int
verify(X509 *root, X509 *leaf, STACK_OF(X509) *untrusted)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		print_message("# verify: %s\n",
			      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

/* root (path length 1) -> RootCA -> inter -> InterCA. */
static void
make_two_levels(fixture *fx, char **names, size_t n)
{
	create_ok(fx, "root", "CN=Unit Root", "Self",
		  CA_KU ",\"validity_months\":24,\"basic_constraints\":{\"ca\":true,\"path_length\":1}");
	assert_int_equal(vault_issuer(fx, "RootCA", "root", NULL, 0), CV_OK);
	create_ok(fx, "inter", "CN=Unit Intermediate", "RootCA",
		  CA_KU ",\"validity_months\":12,\"basic_constraints\":{\"ca\":true}");
	assert_int_equal(vault_issuer(fx, "InterCA", "inter", names, n), CV_OK);
}

/* --- Tests --------------------------------------------------------------- */

static void
test_two_level_chain(void **state)
{
	fixture *fx = *state;
	X509 *root, *inter, *leaf;
	STACK_OF(X509) *chain = NULL;
	BASIC_CONSTRAINTS *bc;
	cv_operation *op = NULL;
	const ASN1_INTEGER *serial;

	make_two_levels(fx, NULL, 0);
	create_ok(fx, "leaf", "CN=www.example.com", "InterCA",
		  "\"sans\":{\"dns_names\":[\"www.example.com\"]},\"ekus\":[\"1.3.6.1.5.5.7.3.1\"]");
	assert_int_equal(cv_pending_get(fx->v, "leaf", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_COMPLETED);
	assert_non_null(strstr(op->status_details, "Signed by the vault CA 'inter'"));
	cv_operation_free(op);

	root = cert_of(fx, "root", NULL);
	inter = cert_of(fx, "inter", NULL);
	leaf = cert_of(fx, "leaf", &chain);
	/* the stored chain: the intermediate, then the root */
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), root), 0);
	assert_int_equal(verify(root, leaf, chain), 1);
	assert_int_equal(X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0), 1);
	/* the intermediate alone is no trust anchor for it */
	assert_int_not_equal(verify(inter, leaf, NULL), 1);

	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_pathlen(inter), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf),
					       X509_get0_subject_key_id(inter)), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(inter),
					       X509_get0_subject_key_id(root)), 0);
	serial = X509_get0_serialNumber(leaf);
	assert_int_equal(ASN1_STRING_type(serial), V_ASN1_INTEGER);
	assert_int_equal(ASN1_STRING_length(serial), 20);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(inter)), 0);

	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	X509_free(inter);
	X509_free(root);
}

static void
test_path_length(void **state)
{
	fixture *fx = *state;
	X509 *x;

	make_two_levels(fx, NULL, 0);
	/* inter has path length 0: no CA below it */
	create_refused(fx, "sub", "CN=Sub", "InterCA",
		       CA_KU ",\"basic_constraints\":{\"ca\":true}", CV_ERR_POLICY,
		       "the CA 'inter' has path length 0 and signs no CA");
	/* a leaf is fine */
	create_ok(fx, "leaf", "CN=leaf", "InterCA", "");
	/* a CA asking more than the root leaves below it */
	create_refused(fx, "inter2", "CN=Inter2", "RootCA",
		       CA_KU ",\"basic_constraints\":{\"ca\":true,\"path_length\":1}", CV_ERR_POLICY,
		       "path_length: 1 is more than the CA 'root' allows below it (0)");

	/* a root without a limit passes none down; one with 3 passes 2 */
	create_ok(fx, "free", "CN=Free Root", "Self",
		  CA_KU ",\"basic_constraints\":{\"ca\":true}");
	assert_int_equal(vault_issuer(fx, "FreeCA", "free", NULL, 0), CV_OK);
	create_ok(fx, "freesub", "CN=Free Sub", "FreeCA", CA_KU ",\"basic_constraints\":{\"ca\":true}");
	x = cert_of(fx, "freesub", NULL);
	assert_int_equal(X509_get_pathlen(x), -1);
	X509_free(x);
	create_ok(fx, "three", "CN=Three", "Self",
		  CA_KU ",\"basic_constraints\":{\"ca\":true,\"path_length\":3}");
	assert_int_equal(vault_issuer(fx, "ThreeCA", "three", NULL, 0), CV_OK);
	create_ok(fx, "two", "CN=Two", "ThreeCA", CA_KU ",\"basic_constraints\":{\"ca\":true}");
	x = cert_of(fx, "two", NULL);
	assert_int_equal(X509_get_pathlen(x), 2);
	X509_free(x);
	create_ok(fx, "zero", "CN=Zero", "ThreeCA",
		  CA_KU ",\"basic_constraints\":{\"ca\":true,\"path_length\":0}");
	x = cert_of(fx, "zero", NULL);
	assert_int_equal(X509_get_pathlen(x), 0);
	X509_free(x);
}

static void
test_ca_expiry_bounds_validity(void **state)
{
	fixture *fx = *state;
	X509 *root, *leaf;
	cv_operation *op = NULL;

	create_ok(fx, "root", "CN=Short Root", "Self",
		  CA_KU ",\"validity_months\":2,\"basic_constraints\":{\"ca\":true}");
	assert_int_equal(vault_issuer(fx, "RootCA", "root", NULL, 0), CV_OK);
	create_ok(fx, "leaf", "CN=leaf", "RootCA", "\"validity_months\":12");
	root = cert_of(fx, "root", NULL);
	leaf = cert_of(fx, "leaf", NULL);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(leaf), X509_get0_notAfter(root)), 0);
	assert_int_equal(cv_pending_get(fx->v, "leaf", &op), CV_OK);
	assert_non_null(strstr(op->status_details, "cut to the CA's own expiry"));
	cv_operation_free(op);
	X509_free(leaf);

	/* shorter than the CA: as the policy says, and not said to be cut */
	create_ok(fx, "short", "CN=short", "RootCA", "\"validity_months\":1");
	leaf = cert_of(fx, "short", NULL);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(leaf), X509_get0_notAfter(root)) < 0);
	assert_int_equal(cv_pending_get(fx->v, "short", &op), CV_OK);
	assert_null(strstr(op->status_details, "cut"));
	cv_operation_free(op);
	X509_free(leaf);
	X509_free(root);

	/* three months on, the root has expired */
	cvt_clock_shift = 92 * DAY;
	create_refused(fx, "late", "CN=late", "RootCA", "", CV_ERR_EXPIRED,
		       "CA certificate 'root' expired on");
	/* and before it was made, it was not yet valid */
	cvt_clock_shift = -DAY;
	create_refused(fx, "early", "CN=early", "RootCA", "", CV_ERR_EXPIRED,
		       "CA certificate 'root' is not valid before");
}

static void
test_disabled_ca_refuses(void **state)
{
	fixture *fx = *state;

	make_two_levels(fx, NULL, 0);
	assert_int_equal(cv_cert_set_attributes(fx->v, "inter", NULL, 0, NULL, NULL), CV_OK);
	create_refused(fx, "leaf", "CN=leaf", "InterCA", "", CV_ERR_DISABLED,
		       "CA certificate 'inter' is disabled");
	assert_int_equal(cv_cert_set_attributes(fx->v, "inter", NULL, 1, NULL, NULL), CV_OK);
	create_ok(fx, "leaf", "CN=leaf", "InterCA", "");
}

static void
test_allowed_names(void **state)
{
	fixture *fx = *state;
	char *names[] = { "www.example.com", "*.svc.example.com" };

	make_two_levels(fx, names, 2);
	create_ok(fx, "a", "CN=a", "InterCA", "\"sans\":{\"dns_names\":[\"WWW.Example.COM\"]}");
	create_ok(fx, "b", "CN=b", "InterCA",
		  "\"sans\":{\"dns_names\":[\"x.svc.example.com\",\"y.z.svc.example.com\",\"*.svc.example.com\"]}");
	create_ok(fx, "c", "CN=www.example.com", "InterCA", "");
	create_refused(fx, "d", "CN=d", "InterCA",
		       "\"sans\":{\"dns_names\":[\"www.example.com\",\"evil.example.org\"]}", CV_ERR_POLICY,
		       "'evil.example.org' is not among the names issuer 'InterCA' allows");
	create_refused(fx, "e", "CN=e", "InterCA", "\"sans\":{\"dns_names\":[\"svc.example.com\"]}",
		       CV_ERR_POLICY, "'svc.example.com' is not among the names");
	create_refused(fx, "f", "CN=f", "InterCA", "\"sans\":{\"dns_names\":[\"*.example.com\"]}",
		       CV_ERR_POLICY, "'*.example.com' is not among the names");
	create_refused(fx, "g", "CN=evilsvc.example.com", "InterCA", "", CV_ERR_POLICY,
		       "the common name 'evilsvc.example.com' is not among the names");
	/* RootCA allows any name */
	create_ok(fx, "h", "CN=h", "RootCA", "\"sans\":{\"dns_names\":[\"evil.example.org\"]}");
}

static void
test_serials_differ(void **state)
{
	fixture *fx = *state;
	ASN1_INTEGER *seen[8];
	char name[16];
	X509 *x;
	size_t i, j;

	create_ok(fx, "root", "CN=Serial Root", "Self", CA_KU ",\"basic_constraints\":{\"ca\":true}");
	assert_int_equal(vault_issuer(fx, "RootCA", "root", NULL, 0), CV_OK);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		create_ok(fx, name, "CN=same subject", "RootCA", "");
		x = cert_of(fx, name, NULL);
		seen[i] = ASN1_INTEGER_dup(X509_get0_serialNumber(x));
		assert_int_equal(ASN1_STRING_length(seen[i]), 20);
		for (j = 0; j < i; j++)
			assert_int_not_equal(ASN1_INTEGER_cmp(seen[i], seen[j]), 0);
		X509_free(x);
	}
	for (i = 0; i < 8; i++)
		ASN1_INTEGER_free(seen[i]);
}

static void
test_issuer_needs_a_ca(void **state)
{
	fixture *fx = *state;
	char *before;
	char *bad[] = { "not a name" };
	const char *not_ca = "{\"x509_props\":{\"basic_constraints\":{\"ca\":false}}}";

	create_ok(fx, "plain", "CN=plain", "Self", "");
	create_ok(fx, "root", "CN=Root", "Self", CA_KU ",\"basic_constraints\":{\"ca\":true}");
	before = cvt_vault_digest(fx);
	assert_int_equal(vault_issuer(fx, "P", "plain", NULL, 0), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "certificate 'plain' is not a CA"));
	assert_int_equal(vault_issuer(fx, "M", "missing", NULL, 0), CV_ERR_NOT_FOUND);
	assert_int_equal(vault_issuer(fx, "N", NULL, NULL, 0), CV_ERR_INVALID);
	assert_int_equal(vault_issuer(fx, "B", "root", bad, 1), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), "allowed name 'not a name'"));
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	/* a policy patched away from CA after the issuer was made: refused */
	assert_int_equal(vault_issuer(fx, "RootCA", "root", NULL, 0), CV_OK);
	assert_int_equal(cv_cert_policy_update(fx->v, "root", not_ca, strlen(not_ca), NULL),
			 CV_OK);
	create_refused(fx, "leaf", "CN=leaf", "RootCA", "", CV_ERR_INVALID,
		       "certificate 'root' is not a CA");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_level_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_expiry_bounds_validity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled_ca_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowed_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serials_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issuer_needs_a_ca, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
