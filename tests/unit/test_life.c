/* Unit tests: lifetime actions through store.h.
 *
 * Trigger times, a pass before and after a trigger's time, each trigger
 * firing once per version, a commit that fails at each point (the program is
 * linked with --wrap=mdb_txn_commit) leaving the vault as it was, renewal
 * per issuer, reuse_key, tags, the outbox's retry bound, events, the mail
 * relay settings and the one-time index of an older vault.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "store.h"
#include "fixture.h"

#define DAY 86400

typedef cvt_fixture fixture;

/* An EC P-256 policy of 12 months with one lifetime action (action NULL:
 * none) and an issuer. */
static cv_policy *
policy(const char *issuer, const char *trigger, int value, const char *action,
       int reuse_key)
{
	char json[1024], actions[256] = "";
	cv_policy *p = NULL;

	if (action == NULL) /* none at all: Key Vault's default notice */
		snprintf(actions, sizeof(actions), ",\"lifetime_actions\":[]");
	else
		snprintf(actions, sizeof(actions),
			 ",\"lifetime_actions\":[{\"trigger\":{\"%s\":%d},"
			 "\"action\":{\"action_type\":\"%s\"}}]", trigger, value, action);
	snprintf(json, sizeof(json),
		 "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false,"
		 "\"reuse_key\":%s},\"x509_props\":{\"subject\":\"CN=web.contoso.com\","
		 "\"sans\":{\"dns_names\":[\"web.contoso.com\"]},\"validity_months\":12}"
		 "%s,\"issuer\":{\"name\":\"%s\"}}", reuse_key ? "true" : "false", actions,
		 issuer);
	if (cv_policy_parse(json, strlen(json), &p) != CV_OK)
		fail_msg("policy %s: %s", json, cv_err_detail());
	return p;
}

static void
create(fixture *fx, const char *name, cv_policy *p, const cv_tags *tags)
{
	cv_err err = cv_cert_create(fx->v, name, p, tags, NULL);

	if (err != CV_OK)
		fail_msg("create %s: %s (%s)", name, cv_strerror(err), cv_err_detail());
	cv_policy_free(p);
}

static void
update(fixture *fx, const char *name, const char *patch)
{
	cv_err err = cv_cert_policy_update(fx->v, name, patch, strlen(patch), NULL);

	if (err != CV_OK)
		fail_msg("update %s: %s (%s)", name, cv_strerror(err), cv_err_detail());
}

static cv_cert_version *
current(fixture *fx, const char *name)
{
	cv_cert_version *cv = NULL;

	assert_int_equal(cv_cert_get(fx->v, name, NULL, &cv), CV_OK);
	return cv;
}

static size_t
count_versions(fixture *fx, const char *name)
{
	cv_cert_version **list = NULL;
	size_t n = 0;

	assert_int_equal(cv_cert_list_versions(fx->v, name, &list, &n), CV_OK);
	cv_cert_version_list_free(list, n);
	return n;
}

/* Fire everything due at now; counts of each outcome into got[6]. */
static void
pass(fixture *fx, int64_t now, size_t got[6])
{
	cv_life_due *due = NULL;
	cv_life_result r;
	size_t n = 0, i;

	memset(got, 0, 6 * sizeof(size_t));
	assert_int_equal(cv_life_index_all(fx->v, NULL), CV_OK);
	assert_int_equal(cv_life_due_list(fx->v, now, 1000, &due, &n), CV_OK);
	for (i = 0; i < n; i++) {
		cv_err err = cv_life_fire(fx->v, &due[i], now, &r);

		if (err != CV_OK)
			fail_msg("fire %s %s: %s (%s)", due[i].name,
				 cv_life_kind_name(due[i].kind), cv_strerror(err), cv_err_detail());
		got[r.outcome]++;
	}
	free(due);
}

static size_t
count_due(fixture *fx, int64_t now, enum cv_life_kind kind)
{
	cv_life_due *due = NULL;
	size_t n = 0, i, k = 0;

	assert_int_equal(cv_life_due_list(fx->v, now, 1000, &due, &n), CV_OK);
	for (i = 0; i < n; i++)
		k += due[i].kind == kind;
	free(due);
	return k;
}

static void
add_contact(fixture *fx, const char *email)
{
	cv_contact c = { .email = (char *)email };

	assert_int_equal(cv_contact_add(fx->v, &c), CV_OK);
}

static size_t
count_events(fixture *fx, const char *type)
{
	cv_event *ev = NULL;
	size_t n = 0, i, k = 0;

	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	for (i = 0; i < n; i++)
		k += strcmp(ev[i].type, type) == 0;
	cv_event_list_free(ev, n);
	return k;
}

/* --- Trigger times -------------------------------------------------------- */

static void
test_trigger_times(void **state)
{
	int64_t nbf = 1000000, exp = nbf + 100 * DAY;

	(void)state;
	assert_int_equal(cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE, 80, nbf, exp),
			 nbf + 80 * DAY);
	assert_int_equal(cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE, 1, nbf, exp),
			 nbf + DAY);
	assert_int_equal(cv_life_trigger_time(CV_TRIGGER_DAYS_BEFORE_EXPIRY, 30, nbf, exp),
			 exp - 30 * DAY);
	/* Never before the version is valid. */
	assert_int_equal(cv_life_trigger_time(CV_TRIGGER_DAYS_BEFORE_EXPIRY, 300, nbf, exp),
			 nbf);
}

/* The index holds each version's triggers at the times the policy says. */
static void
test_due_times_follow_policy(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	int64_t renew;

	create(fx, "pct", policy("Self", "lifetime_percentage", 70, "AutoRenew", 0), NULL);
	cv = current(fx, "pct");
	renew = cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE, 70, cv->nbf, cv->exp);
	assert_int_equal(count_due(fx, renew - 1, CV_LIFE_AUTO_RENEW), 0);
	assert_int_equal(count_due(fx, renew, CV_LIFE_AUTO_RENEW), 1);
	assert_int_equal(count_due(fx, cv->exp - 30 * DAY - 1, CV_LIFE_NEAR_EXPIRY), 0);
	assert_int_equal(count_due(fx, cv->exp - 30 * DAY, CV_LIFE_NEAR_EXPIRY), 1);
	assert_int_equal(count_due(fx, cv->exp - 1, CV_LIFE_EXPIRED), 0);
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_EXPIRED), 1);
	/* No lifetime action: Key Vault's default notice at 80%. */
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_EMAIL), 0);
	cv_cert_version_free(cv);

	create(fx, "none", policy("Self", NULL, 0, NULL, 0), NULL);
	cv = current(fx, "none");
	assert_int_equal(count_due(fx, cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE, 80,
							    cv->nbf, cv->exp) - 1,
				   CV_LIFE_EMAIL), 0);
	assert_int_equal(count_due(fx, cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE, 80,
							    cv->nbf, cv->exp),
				   CV_LIFE_EMAIL), 1);
	cv_cert_version_free(cv);

	/* A policy update remakes the unfired trigger. */
	update(fx, "pct",
	       "{\"lifetime_actions\":[{\"trigger\":{\"days_before_expiry\":60},"
		"\"action\":{\"action_type\":\"AutoRenew\"}}]}");
	cv = current(fx, "pct");
	assert_int_equal(count_due(fx, cv->exp - 60 * DAY - 1, CV_LIFE_AUTO_RENEW), 0);
	assert_int_equal(count_due(fx, cv->exp - 60 * DAY, CV_LIFE_AUTO_RENEW), 1);
	cv_cert_version_free(cv);
}

/* --- A pass before and after ---------------------------------------------- */

static void
test_self_renewal_once(void **state)
{
	fixture *fx = *state;
	char *names[] = { "team" }, *values[] = { "web" };
	cv_tags tags = { names, values, 1 };
	cv_cert_version *old, *now_cv, *again;
	size_t got[6];
	int64_t at;

	add_contact(fx, "ops@contoso.com");
	create(fx, "web", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), &tags);
	old = current(fx, "web");
	at = old->exp - 40 * DAY;

	pass(fx, at - 1, got);          /* before: nothing */
	assert_int_equal(got[CV_LIFE_RENEWED], 0);
	assert_int_equal(count_versions(fx, "web"), 1);

	pass(fx, at, got);              /* at the time: renewed once */
	assert_int_equal(got[CV_LIFE_RENEWED], 1);
	now_cv = current(fx, "web");
	assert_string_not_equal(now_cv->version, old->version);
	assert_int_equal(now_cv->nbf <= at && at - now_cv->nbf < 3 * DAY, 1);
	assert_int_equal(now_cv->tags.n, 1);
	assert_string_equal(now_cv->tags.names[0], "team");
	assert_string_equal(now_cv->tags.values[0], "web");
	assert_memory_not_equal(now_cv->key_id, old->key_id, 20); /* reuse_key false */
	/* The old version is still there, by its id. */
	assert_int_equal(cv_cert_get(fx->v, "web", old->version, &again), CV_OK);
	cv_cert_version_free(again);
	assert_int_equal(count_events(fx, CV_EVENT_NEW_VERSION), 2);

	pass(fx, at, got);              /* again: nothing */
	assert_int_equal(got[CV_LIFE_RENEWED] + got[CV_LIFE_NOTICE] + got[CV_LIFE_FAILED], 0);
	pass(fx, at + DAY, got);
	assert_int_equal(got[CV_LIFE_RENEWED], 0);
	assert_int_equal(count_versions(fx, "web"), 2);

	/* The old version's near-expiry trigger is dropped when due. */
	pass(fx, old->exp - 30 * DAY, got);
	assert_int_equal(got[CV_LIFE_DROPPED], 1);
	assert_int_equal(count_events(fx, CV_EVENT_NEAR_EXPIRY), 0);
	cv_cert_version_free(old);
	cv_cert_version_free(now_cv);
}

static void
test_reuse_key(void **state)
{
	fixture *fx = *state;
	cv_cert_version *old, *cur;
	size_t got[6];

	create(fx, "same", policy("Self", "lifetime_percentage", 50, "AutoRenew", 1), NULL);
	old = current(fx, "same");
	pass(fx, old->nbf + (old->exp - old->nbf) / 2 + 1, got);
	assert_int_equal(got[CV_LIFE_RENEWED], 1);
	cur = current(fx, "same");
	assert_string_not_equal(cur->version, old->version);
	assert_memory_equal(cur->key_id, old->key_id, 20);
	cv_cert_version_free(old);
	cv_cert_version_free(cur);
}

/* A commit that fails at any point leaves the vault as it was; the next
 * pass then does the work once. */
static void
test_commit_failure_then_once(void **state)
{
	fixture *fx = *state;
	cv_cert_version *old;
	cv_life_due *due = NULL;
	cv_life_result r;
	size_t n = 0, i, got[6];
	char *before;
	int64_t at;
	int k, failed = 0;

	add_contact(fx, "ops@contoso.com");
	create(fx, "kill", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	old = current(fx, "kill");
	at = old->exp - 40 * DAY;
	assert_int_equal(cv_life_due_list(fx->v, at, 100, &due, &n), CV_OK);
	assert_int_equal(n, 1);
	for (k = 1; k <= 3; k++) {
		before = cvt_vault_digest(fx);
		cvt_fail_commit_at = k;
		if (cv_life_fire(fx->v, &due[0], at, &r) != CV_OK) {
			failed++;
			CVT_ASSERT_UNCHANGED(fx, before);
			assert_int_equal(count_versions(fx, "kill"), 1);
		}
		free(before);
		cvt_fail_commit_at = 0;
		if (failed == 0)
			break;
		if (count_versions(fx, "kill") == 2)
			break;
	}
	assert_true(failed >= 1);
	pass(fx, at, got);
	for (i = 0; i < 2; i++)
		pass(fx, at, got);
	assert_int_equal(count_versions(fx, "kill"), 2);
	free(due);

	/* A notice: the mail is queued once. */
	{
		cv_mail *m = NULL;
		size_t nm = 0;

		before = cvt_vault_digest(fx);
		create(fx, "note", policy("Self", "lifetime_percentage", 10, "EmailContacts", 0),
		       NULL);
		free(before);
		cv_cert_version_free(old);
		old = current(fx, "note");
		at = old->nbf + (old->exp - old->nbf) / 10 + 1;
		assert_int_equal(cv_life_due_list(fx->v, at, 100, &due, &n), CV_OK);
		for (i = 0; i < n; i++) {
			if (strcmp(due[i].name, "note") != 0 || due[i].kind != CV_LIFE_EMAIL)
				continue;
			before = cvt_vault_digest(fx);
			cvt_fail_commit_at = 1;
			assert_int_not_equal(cv_life_fire(fx->v, &due[i], at, &r), CV_OK);
			CVT_ASSERT_UNCHANGED(fx, before);
			free(before);
			cvt_fail_commit_at = 0;
			assert_int_equal(cv_life_fire(fx->v, &due[i], at, &r), CV_OK);
			assert_int_equal(r.outcome, CV_LIFE_NOTICE);
			assert_int_equal(r.mails, 1);
			assert_int_equal(cv_life_fire(fx->v, &due[i], at, &r), CV_OK);
			assert_int_equal(r.outcome, CV_LIFE_NOTHING);
		}
		free(due);
		assert_int_equal(cv_outbox_list(fx->v, at, &m, &nm), CV_OK);
		for (i = 0, k = 0; i < nm; i++)
			k += strcmp(m[i].name, "note") == 0;
		assert_int_equal(k, 1);
		cv_mail_list_free(m, nm);
	}
	cv_cert_version_free(old);
}

/* --- Renewal per issuer ----------------------------------------------------- */

static void
test_renew_vault_ca(void **state)
{
	fixture *fx = *state;
	cv_issuer is;
	cv_policy *ca;
	cv_cert_version *old, *cur;
	size_t got[6];
	const char *ca_json =
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
		"\"x509_props\":{\"subject\":\"CN=Life Root\",\"validity_months\":60,"
		"\"key_usage\":[\"keyCertSign\",\"cRLSign\"],"
		"\"basic_constraints\":{\"ca\":true}},\"issuer\":{\"name\":\"Self\"}}";

	assert_int_equal(cv_policy_parse(ca_json, strlen(ca_json), &ca), CV_OK);
	create(fx, "root", ca, NULL);
	memset(&is, 0, sizeof(is));
	snprintf(is.name, sizeof(is.name), "LocalCA");
	is.provider = "Vault";
	is.ca_certificate = "root";
	is.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &is, CV_PUT_CREATE, NULL), CV_OK);
	create(fx, "leaf", policy("LocalCA", "days_before_expiry", 20, "AutoRenew", 0), NULL);
	old = current(fx, "leaf");
	pass(fx, old->exp - 20 * DAY, got);
	assert_int_equal(got[CV_LIFE_RENEWED], 1);
	cur = current(fx, "leaf");
	assert_string_not_equal(cur->version, old->version);
	assert_int_equal(cur->chain_len, 1);
	assert_string_equal(cur->issuer, old->issuer);
	cv_cert_version_free(old);
	cv_cert_version_free(cur);
}

static void
test_renew_unknown_makes_csr_and_mail(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL;
	cv_cert_version *old;
	cv_mail *m = NULL;
	size_t nm = 0, got[6], i;
	int seen = 0;

	add_contact(fx, "pki@contoso.com");
	add_contact(fx, "ops@contoso.com");
	/* Made Self, then given to Unknown: the renewal cannot be signed here. */
	create(fx, "ext", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	update(fx, "ext",
	       "{\"issuer\":{\"name\":\"Unknown\"}}");
	old = current(fx, "ext");
	pass(fx, old->exp - 40 * DAY, got);
	assert_int_equal(got[CV_LIFE_PENDING], 1);
	assert_int_equal(cv_pending_get(fx->v, "ext", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_IN_PROGRESS);
	assert_true(op->csr.len > 0);
	/* The current version stays in service. */
	cv_cert_version_free(old);
	old = current(fx, "ext");
	assert_string_not_equal(old->version, op->version);
	assert_int_equal(cv_outbox_list(fx->v, old->exp, &m, &nm), CV_OK);
	for (i = 0; i < nm; i++) {
		if (strcmp(m[i].name, "ext") != 0 || strstr(m[i].subject, "needs your CA") == NULL)
			continue;
		seen++;
		assert_int_equal(m[i].n_to, 2);
		assert_non_null(strstr(m[i].body, "BEGIN CERTIFICATE REQUEST"));
		assert_non_null(strstr(m[i].body, "certvault pending merge ext"));
	}
	assert_int_equal(seen, 1);
	cv_mail_list_free(m, nm);
	cv_operation_free(op);
	cv_cert_version_free(old);
}

static void
test_renew_acme_makes_operation(void **state)
{
	fixture *fx = *state;
	cv_issuer in;
	cv_operation *op = NULL;
	cv_cert_version *old;
	size_t got[6];

	memset(&in, 0, sizeof(in));
	snprintf(in.name, sizeof(in.name), "Pebble");
	in.provider = "ACME";
	in.directory_url = "https://127.0.0.1:14000/dir";
	in.http_listen = "127.0.0.1:5002";
	in.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_OK);
	create(fx, "acme", policy("Self", "lifetime_percentage", 60, "AutoRenew", 0), NULL);
	update(fx, "acme",
	       "{\"issuer\":{\"name\":\"Pebble\"}}");
	old = current(fx, "acme");
	pass(fx, old->nbf + (old->exp - old->nbf) * 6 / 10 + 1, got);
	assert_int_equal(got[CV_LIFE_PENDING], 1);
	assert_int_equal(cv_pending_get(fx->v, "acme", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_IN_PROGRESS);
	assert_string_equal(op->provider, "ACME");
	assert_null(op->step);
	cv_operation_free(op);
	cv_cert_version_free(old);
}

/* A renewal that cannot be made (an operation already in progress) is
 * recorded as failed, once: an event and an error mail. */
static void
test_renew_failure_recorded(void **state)
{
	fixture *fx = *state;
	cv_cert_version *old;
	cv_policy *p;
	size_t got[6];

	add_contact(fx, "ops@contoso.com");
	create(fx, "busy", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	old = current(fx, "busy");
	p = policy("Unknown", "days_before_expiry", 40, "AutoRenew", 0);
	assert_int_equal(cv_cert_create(fx->v, "busy", p, NULL, NULL), CV_OK);
	cv_policy_free(p);
	pass(fx, old->exp - 40 * DAY, got);
	assert_int_equal(got[CV_LIFE_FAILED], 1);
	assert_int_equal(count_events(fx, CV_EVENT_RENEWAL_FAILED), 1);
	pass(fx, old->exp - 40 * DAY, got);
	assert_int_equal(got[CV_LIFE_FAILED], 0);
	assert_int_equal(count_events(fx, CV_EVENT_RENEWAL_FAILED), 1);
	cv_cert_version_free(old);
}

/* The pending CSR of name signed by a throwaway CA, as PEM. */
static char *
sign_pending(fixture *fx, const char *name, size_t *len)
{
	cv_operation *op = NULL;
	const unsigned char *p;
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_REQ *req;
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *pem, *data;
	long l;

	assert_non_null(ca_key);
	assert_int_equal(cv_pending_get(fx->v, name, &op), CV_OK);
	p = op->csr.data;
	req = d2i_X509_REQ(NULL, &p, (long)op->csr.len);
	assert_non_null(req);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"Life CA",
				   -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 90L * DAY);
	X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	l = BIO_get_mem_data(b, &data);
	pem = malloc((size_t)l + 1);
	memcpy(pem, data, (size_t)l);
	pem[l] = '\0';
	*len = (size_t)l;
	BIO_free(b);
	X509_NAME_free(n);
	X509_free(x);
	X509_REQ_free(req);
	EVP_PKEY_free(ca_key);
	cv_operation_free(op);
	return pem;
}

static size_t
count_mails(fixture *fx, const char *name, const char *subject_part)
{
	cv_mail *m = NULL;
	size_t n = 0, i, k = 0;

	assert_int_equal(cv_outbox_list(fx->v, INT64_MAX, &m, &n), CV_OK);
	for (i = 0; i < n; i++)
		k += strcmp(m[i].name, name) == 0 && strstr(m[i].subject, subject_part) != NULL;
	cv_mail_list_free(m, n);
	return k;
}

/* A renewal that ends later (a merge of Unknown's CSR) is mailed as done,
 * once; one whose operation fails (the CA refusing) records an event and
 * an error mail. */
static void
test_renewal_ends_later(void **state)
{
	fixture *fx = *state;
	cv_issuer in;
	cv_operation *op = NULL;
	cv_cert_version *old;
	size_t got[6], len;
	char *pem;

	add_contact(fx, "ops@contoso.com");
	create(fx, "later", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	update(fx, "later", "{\"issuer\":{\"name\":\"Unknown\"}}");
	old = current(fx, "later");
	pass(fx, old->exp - 40 * DAY, got);
	assert_int_equal(got[CV_LIFE_PENDING], 1);
	assert_int_equal(count_mails(fx, "later", "renewed"), 0);
	pem = sign_pending(fx, "later", &len);
	assert_int_equal(cv_pending_merge(fx->v, "later", (unsigned char *)pem, len, NULL,
					  NULL), CV_OK);
	free(pem);
	assert_int_equal(count_mails(fx, "later", "renewed"), 1);
	assert_int_equal(count_versions(fx, "later"), 2);
	cv_cert_version_free(old);

	memset(&in, 0, sizeof(in));
	snprintf(in.name, sizeof(in.name), "Refusing");
	in.provider = "ACME";
	in.directory_url = "https://127.0.0.1:14000/dir";
	in.http_listen = "127.0.0.1:5002";
	in.enabled = 1;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_OK);
	create(fx, "refused", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	update(fx, "refused", "{\"issuer\":{\"name\":\"Refusing\"}}");
	old = current(fx, "refused");
	/* (later's merged version, of 90 days, comes due again here too) */
	pass(fx, old->exp - 40 * DAY, got);
	assert_int_equal(got[CV_LIFE_PENDING], 2);
	assert_int_equal(count_events(fx, CV_EVENT_RENEWAL_FAILED), 0);
	assert_int_equal(cv_op_claim(fx->v, "refused", 60, &op), CV_OK);
	assert_int_equal(cv_op_fail(fx->v, op, "urn:ietf:params:acme:error:rejectedIdentifier",
				    "not for this account"), CV_OK);
	cv_operation_free(op);
	assert_int_equal(count_events(fx, CV_EVENT_RENEWAL_FAILED), 1);
	assert_int_equal(count_mails(fx, "refused", "renewal failed"), 1);
	cv_cert_version_free(old);
}

/* --- Outbox and events ------------------------------------------------------ */

static uint64_t
only_mail(fixture *fx, int64_t now, size_t *n)
{
	cv_mail *m = NULL;
	uint64_t id = 0;

	assert_int_equal(cv_outbox_list(fx->v, now, &m, n), CV_OK);
	if (*n > 0)
		id = m[0].id;
	cv_mail_list_free(m, *n);
	return id;
}

static void
test_outbox_retry_bound(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	size_t got[6], n;
	uint64_t id;
	int64_t t;
	int dropped = 0, i;

	add_contact(fx, "ops@contoso.com");
	create(fx, "mail", policy("Self", "lifetime_percentage", 10, "EmailContacts", 0), NULL);
	cv = current(fx, "mail");
	t = cv->nbf + (cv->exp - cv->nbf) / 10 + 1;
	pass(fx, t, got);
	assert_int_equal(got[CV_LIFE_NOTICE], 1);
	id = only_mail(fx, t, &n);
	assert_int_equal(n, 1);
	for (i = 1; i < CV_MAIL_TRIES; i++) {
		assert_int_equal(cv_outbox_failed(fx->v, id, 0, "421 try later", t, &dropped),
				 CV_OK);
		assert_int_equal(dropped, 0);
		only_mail(fx, t, &n);
		assert_int_equal(n, 0); /* not before its retry time */
		t += (int64_t)CV_MAIL_RETRY_FIRST << (i - 1);
		assert_int_equal(only_mail(fx, t, &n), id);
	}
	assert_int_equal(count_events(fx, CV_EVENT_MAIL_FAILED), 0);
	assert_int_equal(cv_outbox_failed(fx->v, id, 0, "421 try later", t, &dropped), CV_OK);
	assert_int_equal(dropped, 1);
	only_mail(fx, t + 365 * DAY, &n);
	assert_int_equal(n, 0);
	assert_int_equal(count_events(fx, CV_EVENT_MAIL_FAILED), 1);
	cv_cert_version_free(cv);
}

/* Two passes never both send one mail: a claim holds it for its lease; a
 * pass killed while sending frees it when the lease ends. */
static void
test_outbox_claim(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	size_t got[6], n;
	uint64_t id;
	int64_t t;

	add_contact(fx, "ops@contoso.com");
	create(fx, "claim", policy("Self", "lifetime_percentage", 10, "EmailContacts", 0), NULL);
	cv = current(fx, "claim");
	t = cv->nbf + (cv->exp - cv->nbf) / 10 + 1;
	pass(fx, t, got);
	id = only_mail(fx, t, &n);
	assert_int_equal(n, 1);
	assert_int_equal(cv_outbox_claim(fx->v, id, t, 120), CV_OK);
	assert_int_equal(cv_outbox_claim(fx->v, id, t, 120), CV_ERR_BUSY);
	assert_int_equal(cv_outbox_claim(fx->v, id, t + 119, 120), CV_ERR_BUSY);
	only_mail(fx, t + 119, &n);
	assert_int_equal(n, 0);
	assert_int_equal(only_mail(fx, t + 120, &n), id); /* the lease ended */
	assert_int_equal(cv_outbox_claim(fx->v, id, t + 120, 120), CV_OK);
	assert_int_equal(cv_outbox_sent(fx->v, id), CV_OK);
	assert_int_equal(cv_outbox_claim(fx->v, id, t + 500, 120), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_outbox_claim(fx->v, id, t + 500, 0), CV_ERR_INVALID);
	cv_cert_version_free(cv);
}

static void
test_outbox_sent_and_permanent(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	size_t got[6], n;
	uint64_t id;
	int dropped = 0;

	add_contact(fx, "ops@contoso.com");
	create(fx, "a", policy("Self", "lifetime_percentage", 10, "EmailContacts", 0), NULL);
	create(fx, "b", policy("Self", "lifetime_percentage", 10, "EmailContacts", 0), NULL);
	cv = current(fx, "b");
	pass(fx, cv->exp - 100 * DAY, got);
	assert_int_equal(got[CV_LIFE_NOTICE] >= 2, 1);
	id = only_mail(fx, cv->exp, &n);
	assert_int_equal(n, 2);
	assert_int_equal(cv_outbox_sent(fx->v, id), CV_OK);
	assert_int_equal(cv_outbox_sent(fx->v, id), CV_OK); /* twice: nothing */
	id = only_mail(fx, cv->exp, &n);
	assert_int_equal(n, 1);
	assert_int_equal(cv_outbox_failed(fx->v, id, 1, "550 no such user", cv->exp, &dropped),
			 CV_OK);
	assert_int_equal(dropped, 1);
	only_mail(fx, cv->exp, &n);
	assert_int_equal(n, 0);
	cv_cert_version_free(cv);
}

static void
test_events_since(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	cv_event *ev = NULL;
	size_t got[6], n = 0, i;
	char *json = NULL;
	uint64_t seq = 0;

	create(fx, "ev", policy("Self", NULL, 0, NULL, 0), NULL);
	cv = current(fx, "ev");
	pass(fx, cv->exp - 30 * DAY, got);
	pass(fx, cv->exp, got);
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 3);
	assert_string_equal(ev[0].type, CV_EVENT_NEW_VERSION);
	assert_string_equal(ev[1].type, CV_EVENT_NEAR_EXPIRY);
	assert_int_equal(ev[1].time, cv->exp - 30 * DAY);
	assert_string_equal(ev[2].type, CV_EVENT_EXPIRED);
	assert_int_equal(cv_event_json(&ev[2], "LifeKV", &json), CV_OK);
	assert_non_null(strstr(json, "\"eventType\":\"Microsoft.KeyVault.CertificateExpired\""));
	assert_non_null(strstr(json, "\"ObjectName\":\"ev\""));
	assert_non_null(strstr(json, cv->version));
	free(json);
	for (i = 0; i < n; i++)
		assert_int_equal(ev[i].seq, i + 1);
	cv_event_list_free(ev, n);
	assert_int_equal(cv_event_list(fx->v, cv->exp - 30 * DAY, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 2);
	cv_event_list_free(ev, n);
	assert_int_equal(cv_event_list(fx->v, 0, 2, &ev, &n), CV_OK);
	assert_int_equal(n, 1);
	cv_event_list_free(ev, n);

	assert_int_equal(cv_hook_cursor_get(fx->v, &seq), CV_OK);
	assert_int_equal(seq, 0);
	assert_int_equal(cv_hook_cursor_set(fx->v, 2), CV_OK);
	assert_int_equal(cv_hook_cursor_set(fx->v, 1), CV_OK); /* never backwards */
	assert_int_equal(cv_hook_cursor_get(fx->v, &seq), CV_OK);
	assert_int_equal(seq, 2);
	/* A hook set now hears of what happens from now on: the cursor moves
	 * to the last event in the same write as the hook, so no kill between
	 * two writes can leave a new hook to be run for the past. */
	assert_int_equal(cv_hook_set(fx->v, "/bin/true"), CV_OK);
	assert_int_equal(cv_hook_cursor_get(fx->v, &seq), CV_OK);
	assert_int_equal(seq, 3);
	cv_cert_version_free(cv);
}

/* Old events go, oldest first and a bounded number at a time, and never
 * one the hook has not been run for; a call with nothing old writes nothing. */
static void
test_events_pruned(void **state)
{
	fixture *fx = *state;
	cv_cert_version *cv;
	cv_event *ev = NULL;
	size_t got[6], n = 0, pruned = 9;
	char *before;

	/* A hook set before any event: it has heard none of them. */
	assert_int_equal(cv_hook_set(fx->v, "/bin/true"), CV_OK);
	create(fx, "ev", policy("Self", NULL, 0, NULL, 0), NULL);
	cv = current(fx, "ev");
	pass(fx, cv->exp - 30 * DAY, got);
	pass(fx, cv->exp, got);
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 3);
	cv_event_list_free(ev, n);

	before = cvt_vault_digest(fx);
	assert_int_equal(cv_event_prune(fx->v, 1, 10, &pruned), CV_OK);
	assert_int_equal(pruned, 0);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 0, &pruned), CV_ERR_INVALID);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 10, &pruned), CV_OK);
	assert_int_equal(pruned, 0); /* the hook has heard none */
	cv_vault_logout(fx->v);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 10, &pruned), CV_OK);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, CVT_USER_PIN,
					strlen(CVT_USER_PIN)), CV_OK);

	assert_int_equal(cv_hook_cursor_set(fx->v, 2), CV_OK);
	cv_vault_logout(fx->v);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 10, &pruned), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(pruned, 0);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, CVT_USER_PIN,
					strlen(CVT_USER_PIN)), CV_OK);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 1, &pruned), CV_OK);
	assert_int_equal(pruned, 1); /* the bound */
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 10, &pruned), CV_OK);
	assert_int_equal(pruned, 1); /* up to the hook's cursor */
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].seq, 3);
	cv_event_list_free(ev, n);

	/* Without a hook, only the age counts: seq 3 is at exp, kept before exp. */
	assert_int_equal(cv_hook_set(fx->v, NULL), CV_OK);
	assert_int_equal(cv_event_prune(fx->v, cv->exp, 10, &pruned), CV_OK);
	assert_int_equal(pruned, 0);
	assert_int_equal(cv_event_prune(fx->v, cv->exp + 1, 10, &pruned), CV_OK);
	assert_int_equal(pruned, 1);
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 0);
	cv_cert_version_free(cv);
}

/* --- Settings ----------------------------------------------------------------- */

static void
test_mail_settings(void **state)
{
	fixture *fx = *state;
	cv_mail_settings in = { .host = "127.0.0.1", .port = 2525, .security = CV_MAIL_PLAIN,
				.user = "relayuser", .password = "Sekrit-relay-pw",
				.from = "vault@contoso.com" };
	cv_mail_settings bad, *out = NULL;
	char cmd[600], *before, *hook = NULL;

	assert_int_equal(cv_mail_settings_get(fx->v, 0, &out), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_mail_settings_set(fx->v, &in), CV_OK);
	assert_int_equal(cv_mail_settings_get(fx->v, 0, &out), CV_OK);
	assert_string_equal(out->host, "127.0.0.1");
	assert_int_equal(out->port, 2525);
	assert_null(out->password);
	assert_int_equal(out->has_password, 1);
	cv_mail_settings_free(out);
	assert_int_equal(cv_mail_settings_get(fx->v, 1, &out), CV_OK);
	assert_string_equal(out->password, "Sekrit-relay-pw");
	cv_mail_settings_free(out);
	/* Sealed at rest. */
	snprintf(cmd, sizeof(cmd), "mdb_dump -a -p '%s' | grep -q Sekrit-relay", fx->vault);
	assert_int_not_equal(system(cmd), 0);

	before = cvt_vault_digest(fx);
	bad = in;
	bad.host = "mail.contoso.com"; /* plain off loopback */
	assert_int_equal(cv_mail_settings_set(fx->v, &bad), CV_ERR_INVALID);
	bad = in;
	bad.port = 70000;
	assert_int_equal(cv_mail_settings_set(fx->v, &bad), CV_ERR_INVALID);
	bad = in;
	bad.from = "not an address";
	assert_int_equal(cv_mail_settings_set(fx->v, &bad), CV_ERR_INVALID);
	bad = in;
	bad.user = NULL;
	assert_int_equal(cv_mail_settings_set(fx->v, &bad), CV_ERR_INVALID);
	assert_int_equal(cv_hook_set(fx->v, "  "), CV_ERR_INVALID);
	assert_int_equal(cv_hook_set(fx->v, "a\nb"), CV_ERR_INVALID);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);

	assert_int_equal(cv_hook_set(fx->v, "/usr/sbin/nginx -s reload"), CV_OK);
	assert_int_equal(cv_hook_get(fx->v, &hook), CV_OK);
	assert_string_equal(hook, "/usr/sbin/nginx -s reload");
	free(hook);
	assert_int_equal(cv_hook_set(fx->v, NULL), CV_OK);
	assert_int_equal(cv_hook_get(fx->v, &hook), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_mail_settings_clear(fx->v), CV_OK);
	assert_int_equal(cv_mail_settings_clear(fx->v), CV_ERR_NOT_FOUND);

	/* Setting needs the login. */
	cv_vault_logout(fx->v);
	assert_int_equal(cv_mail_settings_set(fx->v, &in), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_hook_set(fx->v, "true"), CV_ERR_NOT_LOGGED_IN);
}

/* Re-initializing makes a new master key: the relay's sealed password would
 * no longer open, so the relay goes, with the triggers, outbox and events. */
static void
test_reinit_drops_relay(void **state)
{
	fixture *fx = *state;
	cv_mail_settings in = { .host = "127.0.0.1", .port = 2525, .security = CV_MAIL_PLAIN,
				.user = "relayuser", .password = "pw-relay",
				.from = "vault@contoso.com" };
	cv_mail_settings *out = NULL;
	cv_event *ev = NULL;
	cv_life_due *due = NULL;
	size_t n = 0;

	create(fx, "gone", policy("Self", NULL, 0, NULL, 0), NULL);
	assert_int_equal(cv_mail_settings_set(fx->v, &in), CV_OK);
	assert_int_equal(cv_vault_reinit(fx->v, "87654321", 8, "Fresh"), CV_OK);
	assert_int_equal(cv_mail_settings_get(fx->v, 0, &out), CV_ERR_NOT_FOUND);
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_int_equal(n, 0);
	cv_event_list_free(ev, n);
	assert_int_equal(cv_life_due_list(fx->v, INT64_MAX / 2, 10, &due, &n), CV_OK);
	assert_int_equal(n, 0);
	free(due);
}

/* A vault made before the index: its triggers and marker are taken away
 * behind the store's back, and the first pass indexes it, once. */
static void
test_index_older_vault(void **state)
{
	fixture *fx = *state;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = { 12, "life.indexed" };
	cv_cert_version *cv;
	size_t indexed = 99;

	create(fx, "old1", policy("Self", "days_before_expiry", 40, "AutoRenew", 0), NULL);
	create(fx, "old2", policy("Self", NULL, 0, NULL, 0), NULL);
	cv = current(fx, "old1");
	cv_vault_close(fx->v);
	fx->v = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, fx->vault, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "triggers", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "due", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(__real_mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_AUTO_RENEW), 0);
	assert_int_equal(cv_life_index_all(fx->v, &indexed), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_life_index_all(fx->v, &indexed), CV_OK);
	assert_int_equal(indexed, 2);
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_AUTO_RENEW), 1);
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_EMAIL), 1);
	assert_int_equal(cv_life_index_all(fx->v, &indexed), CV_OK);
	assert_int_equal(indexed, 0);
	assert_int_equal(count_due(fx, cv->exp, CV_LIFE_AUTO_RENEW), 1);
	cv_cert_version_free(cv);
}

/* Overwrite every record of the named table with bytes no decoder accepts
 * (those of the events only up to seq), behind the store's back. */
static void
damage_table(MDB_txn *txn, const char *table, uint64_t events_upto)
{
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, d, junk = { 7, "damaged" };
	unsigned char key[512];
	int rc;

	assert_int_equal(mdb_dbi_open(txn, table, 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (strcmp(table, "events") == 0) {
			const unsigned char *b = k.mv_data;
			uint64_t seq = 0;
			size_t i;

			for (i = 0; i < 8 && i < k.mv_size; i++)
				seq = seq << 8 | b[i];
			if (seq > events_upto)
				break;
		}
		/* The key as a copy: LMDB copies the key it is given over the
		 * one in its page, and the two must not overlap. */
		assert_true(k.mv_size <= sizeof(key));
		memcpy(key, k.mv_data, k.mv_size);
		k.mv_data = key;
		assert_int_equal(mdb_cursor_put(cur, &k, &junk, MDB_CURRENT), 0);
	}
	mdb_cursor_close(cur);
}

/* A pass with nothing due reads only the operations in progress, what is
 * due, the outbox and the events after the hook's cursor: with every certificate, version,
 * trigger and operation record damaged, and the events the hook has seen,
 * all of it still answers, and finds nothing.  The damage is real: the
 * trigger that comes due cannot be fired. */
static void
test_nothing_due_reads_nothing_else(void **state)
{
	fixture *fx = *state;
	static const char *const tables[] = { "certs", "versions", "keys", "secrets",
					      "triggers", "pending", "key_nums" };
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	cv_cert_version *cv;
	cv_life_due *due = NULL;
	cv_life_result r;
	cv_mail *m = NULL;
	cv_event *ev = NULL;
	char *cmd = NULL;
	uint64_t seq = 0;
	size_t n = 99, i, indexed = 99;
	int64_t now;

	create(fx, "a", policy("Self", "days_before_expiry", 30, "AutoRenew", 0), NULL);
	create(fx, "b", policy("Self", NULL, 0, NULL, 0), NULL);
	cv = current(fx, "a");
	now = cv->nbf + DAY;
	assert_int_equal(cv_hook_set(fx->v, "/bin/true"), CV_OK);
	assert_int_equal(cv_event_list(fx->v, 0, 0, &ev, &n), CV_OK);
	assert_true(n >= 2);
	assert_int_equal(cv_hook_cursor_set(fx->v, ev[n - 1].seq), CV_OK);
	cv_event_list_free(ev, n);
	ev = NULL;
	assert_int_equal(cv_hook_cursor_get(fx->v, &seq), CV_OK);
	cv_vault_close(fx->v);
	fx->v = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, fx->vault, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		damage_table(txn, tables[i], 0);
	damage_table(txn, "events", seq);
	assert_int_equal(__real_mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);

	{
		char **names = NULL;

		/* The operations part of the pass, too. */
		assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
		assert_int_equal(n, 0);
		free(names);
	}
	assert_int_equal(cv_life_index_all(fx->v, &indexed), CV_OK);
	assert_int_equal(indexed, 0);
	assert_int_equal(cv_life_due_list(fx->v, now, 256, &due, &n), CV_OK);
	assert_int_equal(n, 0);
	free(due);
	assert_int_equal(cv_outbox_list(fx->v, now, &m, &n), CV_OK);
	assert_int_equal(n, 0);
	cv_mail_list_free(m, n);
	assert_int_equal(cv_hook_get(fx->v, &cmd), CV_OK);
	free(cmd);
	assert_int_equal(cv_event_list(fx->v, 0, seq, &ev, &n), CV_OK);
	assert_int_equal(n, 0);
	cv_event_list_free(ev, n);

	assert_int_equal(cv_life_due_list(fx->v, cv->exp - 30 * DAY, 256, &due, &n), CV_OK);
	assert_true(n >= 1);
	assert_int_not_equal(cv_life_fire(fx->v, &due[0], cv->exp - 30 * DAY, &r), CV_OK);
	free(due);
	cv_cert_version_free(cv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trigger_times),
		cmocka_unit_test_setup_teardown(test_due_times_follow_policy, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_self_renewal_once, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_reuse_key, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_commit_failure_then_once, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_renew_vault_ca, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_renew_unknown_makes_csr_and_mail, cvt_setup,
						cvt_teardown),
		cmocka_unit_test_setup_teardown(test_renew_acme_makes_operation, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_renew_failure_recorded, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_renewal_ends_later, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_retry_bound, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_sent_and_permanent, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_outbox_claim, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_events_since, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_events_pruned, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_mail_settings, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_reinit_drops_relay, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_index_older_vault, cvt_setup, cvt_teardown),
		cmocka_unit_test_setup_teardown(test_nothing_due_reads_nothing_else, cvt_setup, cvt_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
