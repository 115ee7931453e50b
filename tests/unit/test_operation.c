/* Unit tests: the pending operation as a claimed state machine
 * (store/issue/operation.c, merge.c) through store.h.
 *
 * Each refusal is checked to leave the vault byte-for-byte as it was (the
 * digest of `mdb_dump -a`).  The program is linked with
 * --wrap=mdb_txn_commit so that a commit can be made to fail, and a pass is
 * killed with SIGKILL in a child process to leave its claim behind.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "store.h"
#include "fixture.h"
#include "internal.h"

/* --- Failure injection -------------------------------------------------- */




/* --- Fixtures ----------------------------------------------------------- */

typedef cvt_fixture fixture;

static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(random() & 0xffffff) + 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
	X509_set_pubkey(x, pub);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
				  ca ? "critical,CA:TRUE" : "CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL || cvt_vault_make(fx, "OpKV") != 0) {
		free(fx);
		return -1;
	}
	fx->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (fx->ca_key == NULL)
		return -1;
	fx->ca = make_cert("Throwaway Test CA", fx->ca_key, NULL, fx->ca_key, 1);
	cvt_fail_commit_at = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	int rc = cvt_vault_remove(fx);

	free(fx);
	return rc;
}

static const char *unknown_policy =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	"\"x509_props\":{\"subject\":\"CN=web.contoso.com\","
	"\"sans\":{\"dns_names\":[\"web.contoso.com\"]},\"validity_months\":6},"
	"\"issuer\":{\"name\":\"Unknown\"}}";

static void
create_pending(fixture *fx, const char *name)
{
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(unknown_policy, strlen(unknown_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, name, p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

/* The CA's answer to name's CSR, as PEM (leaf and CA). */
static char *
answer_pending(fixture *fx, const char *name, size_t *len)
{
	cv_operation *op = NULL;
	const unsigned char *p;
	X509_REQ *req;
	X509 *x;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	assert_int_equal(cv_pending_get(fx->v, name, &op), CV_OK);
	p = op->csr.data;
	req = d2i_X509_REQ(NULL, &p, (long)op->csr.len);
	assert_non_null(req);
	x = make_cert(name, X509_REQ_get0_pubkey(req), fx->ca, fx->ca_key, 0);
	PEM_write_bio_X509(bio, x);
	PEM_write_bio_X509(bio, fx->ca);
	n = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	X509_free(x);
	X509_REQ_free(req);
	cv_operation_free(op);
	return out;
}

/* --- Tests -------------------------------------------------------------- */

static void
claim_twice_is_busy(void **state)
{
	fixture *fx = *state;
	cv_operation *a = NULL, *b = NULL;
	char *before;

	create_pending(fx, "web");
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &a), CV_OK);
	assert_int_equal(strlen(a->claim), 32);
	assert_true(a->claim_until > 0);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &b), CV_ERR_BUSY);
	assert_null(b);
	assert_int_equal(cv_op_claim(fx->v, "web", 0, &b), CV_ERR_INVALID);
	assert_int_equal(cv_op_claim(fx->v, "nothere", 300, &b), CV_ERR_NO_OPERATION);
	CVT_ASSERT_UNCHANGED(fx, before);
	/* Given back, it is free at once. */
	assert_int_equal(cv_op_release(fx->v, a), CV_OK);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &b), CV_OK);
	assert_string_not_equal(a->claim, b->claim);
	/* A released claim gives nothing back twice, and changes nothing. */
	free(before);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_op_release(fx->v, a), CV_OK);
	CVT_ASSERT_UNCHANGED(fx, before);
	/* A claim changes the vault: it needs the PIN. */
	cv_vault_logout(fx->v);
	cv_operation_free(a);
	a = NULL;
	assert_int_equal(cv_op_release(fx->v, b), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &a), CV_ERR_NOT_LOGGED_IN);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	cv_operation_free(b);
}

/* A pass killed with SIGKILL after it claimed and saved a step: its claim
 * holds until the lease passes, then the next pass takes the operation and
 * finds the step saved. */
static void
killed_pass_claim_lapses(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL;
	pid_t pid;
	int st, i;
	cv_err err = CV_ERR_BUSY;

	create_pending(fx, "web");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cv_vault *cv = NULL;
		cv_operation *mine = NULL;

		cv_vault_abandon(fx->v);
		if (cv_vault_open(fx->vault, &cv) != CV_OK ||
		    cv_vault_login(cv, CV_USER_NORMAL, "1234", 4) != CV_OK ||
		    cv_op_claim(cv, "web", 2, &mine) != CV_OK)
			_exit(1);
		mine->step = strdup("order");
		mine->provider_state = strdup("{\"order\":\"https://ca.test/order/1\"}");
		if (cv_op_save(cv, mine) != CV_OK)
			_exit(2);
		raise(SIGKILL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	assert_int_equal(cv_op_claim(fx->v, "web", 60, &op), CV_ERR_BUSY);
	/* Bounded wait for the lease of 2 s to pass. */
	for (i = 0; i < 50 && err == CV_ERR_BUSY; i++) {
		usleep(200000);
		err = cv_op_claim(fx->v, "web", 60, &op);
	}
	assert_int_equal(err, CV_OK);
	assert_string_equal(op->step, "order");
	assert_string_equal(op->provider_state, "{\"order\":\"https://ca.test/order/1\"}");
	cv_operation_free(op);
}

/* Passes in four processes claim one operation at the same moment: one
 * gets it, the others are told it is busy. */
static void
racing_passes_one_claim(void **state)
{
	fixture *fx = *state;
	int go[2], i, st, won = 0, busy = 0;
	pid_t pids[4];

	create_pending(fx, "web");
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < 4; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			cv_vault *cv = NULL;
			cv_operation *mine = NULL;
			char b;
			cv_err err;

			cv_vault_abandon(fx->v);
			close(go[1]);
			if (cv_vault_open(fx->vault, &cv) != CV_OK ||
			    cv_vault_login(cv, CV_USER_NORMAL, "1234", 4) != CV_OK)
				_exit(3);
			if (read(go[0], &b, 1) != 0)
				_exit(4);
			err = cv_op_claim(cv, "web", 300, &mine);
			cv_operation_free(mine);
			cv_vault_close(cv);
			_exit(err == CV_OK ? 0 : err == CV_ERR_BUSY ? 1 : 2);
		}
	}
	close(go[0]);
	close(go[1]); /* every child reads end-of-file at once: go */
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			won++;
		else if (WEXITSTATUS(st) == 1)
			busy++;
	}
	assert_int_equal(won, 1);
	assert_int_equal(busy, 3);
}

static void
save_after_another_claimed_is_lost(void **state)
{
	fixture *fx = *state;
	cv_operation *a = NULL, *b = NULL, *got = NULL;
	char *before, *pem;
	size_t len;
	int i;
	cv_err err = CV_ERR_BUSY;

	create_pending(fx, "web");
	pem = answer_pending(fx, "web", &len);
	assert_int_equal(cv_op_claim(fx->v, "web", 1, &a), CV_OK);
	for (i = 0; i < 50 && err == CV_ERR_BUSY; i++) {
		usleep(200000);
		err = cv_op_claim(fx->v, "web", 300, &b);
	}
	assert_int_equal(err, CV_OK);
	before = cvt_vault_digest(fx);
	a->step = strdup("stale");
	assert_int_equal(cv_op_save(fx->v, a), CV_ERR_CLAIM_LOST);
	assert_string_equal(cv_strerror(CV_ERR_CLAIM_LOST),
			    "the operation's claim lapsed and another pass took it");
	assert_int_equal(cv_op_fail(fx->v, a, "urn:x", "stale"), CV_ERR_CLAIM_LOST);
	assert_int_equal(cv_op_cancelled(fx->v, a), CV_ERR_CLAIM_LOST);
	assert_int_equal(cv_op_complete(fx->v, a, (unsigned char *)pem, len, NULL),
			 CV_ERR_CLAIM_LOST);
	/* A token never given out does not hold it either. */
	memset(a->claim, '0', 32);
	assert_int_equal(cv_op_save(fx->v, a), CV_ERR_CLAIM_LOST);
	a->claim[0] = '\0';
	assert_int_equal(cv_op_save(fx->v, a), CV_ERR_CLAIM_LOST);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	/* The holder's save lands, and renews the lease. */
	b->step = strdup("authorize");
	b->attempts = 2;
	b->next_attempt = 12345;
	assert_int_equal(cv_op_save(fx->v, b), CV_OK);
	assert_int_equal(cv_pending_get(fx->v, "web", &got), CV_OK);
	assert_string_equal(got->step, "authorize");
	assert_int_equal(got->attempts, 2);
	assert_int_equal(got->next_attempt, 12345);
	assert_string_equal(got->claim, b->claim);
	cv_operation_free(got);
	free(pem);
	cv_operation_free(a);
	cv_operation_free(b);
}

/* Complete is one write transaction: a failed commit leaves the vault as
 * it was (no version, no secret, the operation inProgress and still
 * claimed), and the same pass then completes it. */
static void
complete_is_one_transaction(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL, *got = NULL;
	cv_cert_version *cv = NULL;
	uint64_t nums[2];
	size_t n;
	char *before, *pem;
	size_t len;

	create_pending(fx, "web");
	pem = answer_pending(fx, "web", &len);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	before = cvt_vault_digest(fx);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)pem, len, &cv),
			 CV_ERR_IO);
	assert_null(cv);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)pem, len, &cv), CV_OK);
	assert_non_null(cv);
	assert_true(cv->is_current);
	assert_int_equal(cv->chain_len, 1);
	assert_int_equal(cv_pending_get(fx->v, "web", &got), CV_OK);
	assert_int_equal(got->status, CV_OP_COMPLETED);
	assert_string_equal(got->claim, "");
	/* The key made at create is the version's key. */
	{
		cv_key_info k = { 0 };

		assert_int_equal(cv_key_get(fx->v, nums[0], &k), CV_OK);
		assert_int_equal(k.state, CV_KEY_CURRENT);
		cv_key_info_clear(&k);
	}
	/* Completed, nothing more can be saved or completed. */
	assert_int_equal(cv_op_save(fx->v, op), CV_ERR_NOT_IN_PROGRESS);
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)pem, len, NULL),
			 CV_ERR_NOT_IN_PROGRESS);
	cv_operation_free(got);
	cv_cert_version_free(cv);
	cv_operation_free(op);
	free(pem);
}

/* A completing pass whose answer is not for the pending key is refused
 * like a merge by hand: the same code path. */
static void
complete_checks_as_merge_does(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL;
	char *before;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	create_pending(fx, "web");
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	PEM_write_bio_X509(bio, fx->ca);
	n = BIO_get_mem_data(bio, &data);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)data, (size_t)n, NULL),
			 CV_ERR_KEY_MISMATCH);
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)"junk", 4, NULL),
			 CV_ERR_BAD_CERT);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	BIO_free(bio);
	cv_operation_free(op);
}

static void
fail_keeps_the_error_and_retires_the_key(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL, *got = NULL;
	cv_key_info k = { 0 };
	uint64_t nums[2];
	size_t n;
	char **names = NULL;

	create_pending(fx, "web");
	create_pending(fx, "api");
	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "api");
	assert_string_equal(names[1], "web");
	free(names[0]);
	free(names[1]);
	free(names);
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	assert_int_equal(cv_op_fail(fx->v, op, "", "no code"), CV_ERR_INVALID);
	assert_int_equal(cv_op_fail(fx->v, op, "urn:ietf:params:acme:error:rejectedIdentifier",
				    "The CA will not issue for web.contoso.com"), CV_OK);
	assert_int_equal(cv_pending_get(fx->v, "web", &got), CV_OK);
	assert_int_equal(got->status, CV_OP_FAILED);
	assert_string_equal(got->error_code, "urn:ietf:params:acme:error:rejectedIdentifier");
	assert_string_equal(got->error_message, "The CA will not issue for web.contoso.com");
	assert_string_equal(got->claim, "");
	assert_int_equal(cv_key_get(fx->v, nums[0], &k), CV_OK);
	assert_int_equal(k.state, CV_KEY_RETIRED);
	cv_key_info_clear(&k);
	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "api");
	free(names[0]);
	free(names);
	/* Ended: no pass claims it again. */
	cv_operation_free(op);
	op = NULL;
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_ERR_NOT_IN_PROGRESS);
	/* cancelled ends an operation the same way. */
	assert_int_equal(cv_op_claim(fx->v, "api", 300, &op), CV_OK);
	assert_int_equal(cv_op_cancelled(fx->v, op), CV_OK);
	cv_operation_free(got);
	assert_int_equal(cv_pending_get(fx->v, "api", &got), CV_OK);
	assert_int_equal(got->status, CV_OP_CANCELLED);
	assert_true(got->cancellation_requested);
	cv_operation_free(got);
	cv_operation_free(op);
}

/* An Unknown operation is cancelled at once; the pass working on it sees
 * so at its next save. */
static void
cancel_during_a_pass_is_seen(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL, *c = NULL;

	create_pending(fx, "web");
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	assert_int_equal(cv_pending_cancel(fx->v, "web", &c), CV_OK);
	assert_int_equal(c->status, CV_OP_CANCELLED);
	assert_int_equal(cv_op_save(fx->v, op), CV_ERR_NOT_IN_PROGRESS);
	cv_operation_free(c);
	cv_operation_free(op);
}

/* An operation record as certvault wrote it before operations had a
 * provider, a step or a claim still reads, and can be claimed. */
static void
old_format_record_reads(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL;
	cv_wbuf w = { 0 };
	MDB_txn *txn = NULL;

	create_pending(fx, "web");
	assert_int_equal(cv_pending_get(fx->v, "web", &op), CV_OK);
	cv_rec_begin(&w, CV_REC_OPERATION);
	cv_rec_put_str(&w, CV_T_NAME, op->name);
	cv_rec_put_str(&w, CV_T_VERSION, op->version);
	cv_rec_put_u64(&w, CV_T_STATUS, CV_OP_IN_PROGRESS);
	cv_rec_put_str(&w, CV_T_STATUS_DETAILS, op->status_details);
	cv_rec_put(&w, CV_T_CSR, op->csr.data, op->csr.len);
	cv_rec_put_str(&w, CV_T_ISSUER_NAME, "Unknown");
	cv_rec_put_str(&w, CV_T_REQUEST_ID, op->request_id);
	cv_rec_put_u64(&w, CV_T_CANCEL, 0);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)op->created);
	cv_rec_put_u64(&w, CV_T_UPDATED, (uint64_t)op->updated);
	assert_int_equal(cv_rec_finish(&w), CV_OK);
	assert_int_equal(cv_txn_write(fx->v, &txn), CV_OK);
	assert_int_equal(cv_db_put(fx->v, txn, CV_DB_PENDING, "web", 3, w.p, w.len, 0), CV_OK);
	assert_int_equal(cv_txn_write_commit(fx->v, txn), CV_OK);
	cv_wbuf_free(&w);
	cv_operation_free(op);

	assert_int_equal(cv_pending_get(fx->v, "web", &op), CV_OK);
	assert_string_equal(op->provider, "Unknown");
	assert_null(op->step);
	assert_null(op->provider_state);
	assert_string_equal(op->claim, "");
	assert_int_equal(op->attempts, 0);
	assert_int_equal(op->next_attempt, 0);
	cv_operation_free(op);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	assert_string_equal(op->provider, "Unknown");
	cv_operation_free(op);
}

/* --- Operations of an ACME issuer ------------------------------------------ */

static const char *acme_policy =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	"\"x509_props\":{\"subject\":\"CN=web.contoso.com\","
	"\"sans\":{\"dns_names\":[\"web.contoso.com\"]},\"validity_months\":3},"
	"\"issuer\":{\"name\":\"Pebble\"}}";

/* RootCA: a self-signed CA certificate, for a Vault issuer to name. */
static void
make_root_ca(fixture *fx)
{
	static const char ca_policy[] =
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},"
		"\"x509_props\":{\"subject\":\"CN=Root CA\","
		"\"key_usage\":[\"keyCertSign\",\"cRLSign\"],"
		"\"basic_constraints\":{\"ca\":true}},"
		"\"issuer\":{\"name\":\"Self\"}}";
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(ca_policy, strlen(ca_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "RootCA", p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

static void
acme_issuer(fixture *fx, const char *name, const char *provider, int enabled)
{
	cv_issuer in = { 0 };

	snprintf(in.name, sizeof(in.name), "%s", name);
	in.provider = (char *)provider;
	in.directory_url = strcmp(provider, "Vault") == 0 ? NULL : "https://127.0.0.1:14000/dir";
	in.ca_certificate = strcmp(provider, "Vault") == 0 ? "RootCA" : NULL;
	in.http_listen = strcmp(provider, "Vault") == 0 ? NULL : "127.0.0.1:5002";
	in.enabled = enabled;
	assert_int_equal(cv_issuer_put(fx->v, &in, CV_PUT_CREATE, NULL), CV_OK);
}

static void
create_acme(fixture *fx, const char *name)
{
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(acme_policy, strlen(acme_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, name, p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

static void
acme_create_waits_for_a_pass(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_operation *op = NULL;
	uint64_t nums[2];
	size_t n;

	acme_issuer(fx, "Pebble", "ACME", 1);
	assert_int_equal(cv_policy_parse(acme_policy, strlen(acme_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "web", p, NULL, &op), CV_OK);
	assert_int_equal(op->status, CV_OP_IN_PROGRESS);
	assert_string_equal(op->provider, "ACME");
	assert_string_equal(op->issuer_name, "Pebble");
	assert_null(op->step);
	assert_null(op->provider_state);
	assert_string_equal(op->claim, "");
	assert_non_null(strstr(op->status_details, "ACME server"));
	assert_true(op->csr.len > 0);
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(n, 1);
	/* A second create while it is in progress: Key Vault's 409. */
	assert_int_equal(cv_cert_create(fx->v, "web", p, NULL, NULL), CV_ERR_CONFLICT);
	cv_operation_free(op);
	cv_policy_free(p);
}

static void
disabled_issuer_refused_vault_signs_at_once(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_operation *op = NULL;
	char *before;
	static const char *vault_policy =
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},"
		"\"x509_props\":{\"subject\":\"CN=in.contoso.com\"},"
		"\"issuer\":{\"name\":\"Inside\"}}";

	make_root_ca(fx);
	acme_issuer(fx, "Pebble", "ACME", 0);
	acme_issuer(fx, "Inside", "Vault", 1);
	assert_int_equal(cv_policy_parse(acme_policy, strlen(acme_policy), &p), CV_OK);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_cert_create(fx->v, "web", p, NULL, NULL), CV_ERR_DISABLED);
	assert_non_null(strstr(cv_err_detail(), "issuer 'Pebble' is disabled"));
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	cv_policy_free(p);
	/* A Vault issuer signs inside cv_cert_create: completed at once, with
	 * no operation left for a pass. */
	assert_int_equal(cv_policy_parse(vault_policy, strlen(vault_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, "in", p, NULL, &op), CV_OK);
	assert_int_equal(op->status, CV_OP_COMPLETED);
	assert_string_equal(op->provider, "Vault");
	cv_operation_free(op);
	cv_policy_free(p);
}

/* Before any pass the CA has seen nothing: a cancel takes effect at once. */
static void
acme_cancel_before_a_pass_takes_effect(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL;

	acme_issuer(fx, "Pebble", "ACME", 1);
	create_acme(fx, "web");
	assert_int_equal(cv_pending_cancel(fx->v, "web", &op), CV_OK);
	assert_int_equal(op->status, CV_OP_CANCELLED);
	assert_true(op->cancellation_requested);
	cv_operation_free(op);
}

/* During a pass a cancel is only requested; the pass sees it at its next
 * save and decides.  After a pass that reached a step, too. */
static void
acme_cancel_during_a_pass_is_requested(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL, *c = NULL;
	cv_key_info k = { 0 };
	uint64_t nums[2];
	size_t n;

	acme_issuer(fx, "Pebble", "ACME", 1);
	create_acme(fx, "web");
	assert_int_equal(cv_key_find_name(fx->v, "web", nums, &n), CV_OK);
	assert_int_equal(cv_op_claim(fx->v, "web", 300, &op), CV_OK);
	assert_int_equal(cv_pending_cancel(fx->v, "web", &c), CV_OK);
	assert_int_equal(c->status, CV_OP_IN_PROGRESS);
	assert_true(c->cancellation_requested);
	cv_operation_free(c);
	assert_false(op->cancellation_requested);
	op->step = strdup("order");
	assert_int_equal(cv_op_save(fx->v, op), CV_OK);
	assert_true(op->cancellation_requested);
	assert_int_equal(cv_op_cancelled(fx->v, op), CV_OK);
	assert_int_equal(cv_pending_get(fx->v, "web", &c), CV_OK);
	assert_int_equal(c->status, CV_OP_CANCELLED);
	cv_operation_free(c);
	assert_int_equal(cv_key_get(fx->v, nums[0], &k), CV_OK);
	assert_int_equal(k.state, CV_KEY_RETIRED);
	cv_key_info_clear(&k);
	cv_operation_free(op);

	/* A step reached and the claim given back: still only requested, the
	 * order may be on its way at the CA. */
	create_acme(fx, "api");
	assert_int_equal(cv_op_claim(fx->v, "api", 300, &op), CV_OK);
	op->step = strdup("finalize");
	assert_int_equal(cv_op_save(fx->v, op), CV_OK);
	assert_int_equal(cv_op_release(fx->v, op), CV_OK);
	assert_int_equal(cv_pending_cancel(fx->v, "api", &c), CV_OK);
	assert_int_equal(c->status, CV_OP_IN_PROGRESS);
	assert_true(c->cancellation_requested);
	cv_operation_free(c);
	cv_operation_free(op);
}

/* --- The index of operations in progress ------------------------------------ */

static const char *self_policy =
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\"},"
	"\"x509_props\":{\"subject\":\"CN=self.contoso.com\"},"
	"\"issuer\":{\"name\":\"Self\"}}";

static void
create_self(fixture *fx, const char *name)
{
	cv_policy *p = NULL;

	assert_int_equal(cv_policy_parse(self_policy, strlen(self_policy), &p), CV_OK);
	assert_int_equal(cv_cert_create(fx->v, name, p, NULL, NULL), CV_OK);
	cv_policy_free(p);
}

/* Replace name's operation record with bytes no decoder accepts. */
static void
damage_operation(fixture *fx, const char *name)
{
	MDB_txn *txn = NULL;
	char lname[CV_NAME_MAX + 1];

	cv_name_key(name, lname);
	assert_int_equal(cv_txn_write(fx->v, &txn), CV_OK);
	assert_int_equal(cv_db_put(fx->v, txn, CV_DB_PENDING, lname, strlen(lname),
				   "damaged", 7, 0), CV_OK);
	assert_int_equal(cv_txn_write_commit(fx->v, txn), CV_OK);
}

/* A listing reads the operations in progress and nothing else: an ended
 * operation whose record is damaged is not read, so it cannot stop the
 * listing (a listing that decoded every record would fail on it). */
static void
list_reads_only_operations_in_progress(void **state)
{
	fixture *fx = *state;
	char **names = NULL;
	size_t n = 0;

	create_self(fx, "done");
	create_pending(fx, "Web");
	damage_operation(fx, "done");
	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "Web");
	free(names[0]);
	free(names);
	/* The damage is still refused where the record is read. */
	{
		cv_operation *op = NULL;

		assert_int_not_equal(cv_pending_get(fx->v, "done", &op), CV_OK);
		assert_null(op);
	}
}

/* The index as stored, "lname=name;" per entry, and the truth it must
 * match: every operation record decoded, those inProgress, by the same
 * notation.  Both into buffers of size n. */
static void
index_and_truth(fixture *fx, char *index, char *truth, size_t n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	cv_operation *op = NULL;
	char lname[CV_NAME_MAX + 1];
	int rc;

	index[0] = truth[0] = '\0';
	assert_int_equal(cv_txn_read(fx->v, &txn), CV_OK);
	assert_int_equal(mdb_cursor_open(txn, fx->v->dbi[CV_DB_OPS_ACTIVE], &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		snprintf(index + strlen(index), n - strlen(index), "%.*s=%.*s;",
			 (int)k.mv_size, (char *)k.mv_data, (int)d.mv_size, (char *)d.mv_data);
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	assert_int_equal(mdb_cursor_open(txn, fx->v->dbi[CV_DB_PENDING], &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		snprintf(lname, sizeof(lname), "%.*s", (int)k.mv_size, (char *)k.mv_data);
		assert_int_equal(cv_op_read(fx->v, txn, lname, &op), CV_OK);
		if (op->status == CV_OP_IN_PROGRESS)
			snprintf(truth + strlen(truth), n - strlen(truth), "%s=%s;", lname,
				 op->name);
		cv_operation_free(op);
		op = NULL;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
}

/* A listing returns exactly want ("lname=name;" ...), which is also what
 * the index holds and what the records say. */
static void
assert_index(fixture *fx, const char *want)
{
	char index[1024], truth[1024], listed[1024] = "", lname[CV_NAME_MAX + 1];
	char **names = NULL;
	size_t n = 0, i;

	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	for (i = 0; i < n; i++) {
		cv_name_key(names[i], lname);
		snprintf(listed + strlen(listed), sizeof(listed) - strlen(listed), "%s=%s;",
			 lname, names[i]);
		free(names[i]);
	}
	free(names);
	assert_string_equal(listed, want);
	/* After the listing: on an older vault it is what fills the index. */
	index_and_truth(fx, index, truth, sizeof(index));
	assert_string_equal(truth, want);
	assert_string_equal(index, want);
}

/* Every way an operation begins or ends changes the index in the same
 * transaction: create, merge, complete, fail, cancel (at once and as a
 * pass decides), delete; a Self certificate's operation is never in it. */
static void
op_index_follows_every_change(void **state)
{
	fixture *fx = *state;
	cv_operation *op = NULL, *c = NULL;
	char *pem;
	size_t len;

	assert_index(fx, "");
	create_self(fx, "Self1");
	assert_index(fx, "");
	create_pending(fx, "Web");
	create_pending(fx, "mail");
	acme_issuer(fx, "Pebble", "ACME", 1);
	create_acme(fx, "Api");
	create_acme(fx, "shop");
	create_acme(fx, "blog");
	assert_index(fx, "api=Api;blog=blog;mail=mail;shop=shop;web=Web;");
	/* A merge by hand. */
	pem = answer_pending(fx, "Web", &len);
	assert_int_equal(cv_pending_merge(fx->v, "Web", (unsigned char *)pem, len, NULL, NULL),
			 CV_OK);
	free(pem);
	assert_index(fx, "api=Api;blog=blog;mail=mail;shop=shop;");
	/* A claim, a save and a release keep it listed. */
	assert_int_equal(cv_op_claim(fx->v, "Api", 300, &op), CV_OK);
	op->step = strdup("order");
	assert_int_equal(cv_op_save(fx->v, op), CV_OK);
	assert_int_equal(cv_op_release(fx->v, op), CV_OK);
	assert_index(fx, "api=Api;blog=blog;mail=mail;shop=shop;");
	cv_operation_free(op);
	/* A pass fails one. */
	assert_int_equal(cv_op_claim(fx->v, "Api", 300, &op), CV_OK);
	assert_int_equal(cv_op_fail(fx->v, op, "Refused", "the CA said no"), CV_OK);
	cv_operation_free(op);
	assert_index(fx, "blog=blog;mail=mail;shop=shop;");
	/* A cancel that takes effect at once; one only requested stays
	 * listed until the pass decides. */
	assert_int_equal(cv_pending_cancel(fx->v, "mail", NULL), CV_OK);
	assert_index(fx, "blog=blog;shop=shop;");
	assert_int_equal(cv_op_claim(fx->v, "shop", 300, &op), CV_OK);
	assert_int_equal(cv_pending_cancel(fx->v, "shop", &c), CV_OK);
	assert_int_equal(c->status, CV_OP_IN_PROGRESS);
	cv_operation_free(c);
	assert_index(fx, "blog=blog;shop=shop;");
	assert_int_equal(cv_op_save(fx->v, op), CV_OK);
	assert_int_equal(cv_op_cancelled(fx->v, op), CV_OK);
	cv_operation_free(op);
	assert_index(fx, "blog=blog;");
	/* A pass completes one. */
	pem = answer_pending(fx, "blog", &len);
	assert_int_equal(cv_op_claim(fx->v, "blog", 300, &op), CV_OK);
	assert_int_equal(cv_op_complete(fx->v, op, (unsigned char *)pem, len, NULL), CV_OK);
	cv_operation_free(op);
	free(pem);
	assert_index(fx, "");
	/* A new operation of a name whose last one ended, then deleted. */
	create_pending(fx, "mail");
	assert_index(fx, "mail=mail;");
	assert_int_equal(cv_pending_delete(fx->v, "mail"), CV_OK);
	assert_index(fx, "");
}

/* A commit that fails leaves the index as it was with the records: after
 * a failed create, merge, cancel and fail the vault is byte for byte what
 * it was (ops_active included), and the index still matches. */
static void
op_index_failed_commit_changes_nothing(void **state)
{
	fixture *fx = *state;
	cv_policy *p = NULL;
	cv_operation *op = NULL;
	char *before, *pem;
	size_t len;

	create_pending(fx, "web");
	acme_issuer(fx, "Pebble", "ACME", 1);
	create_acme(fx, "api");
	assert_int_equal(cv_op_claim(fx->v, "api", 300, &op), CV_OK);
	pem = answer_pending(fx, "web", &len);
	before = cvt_vault_digest(fx);
	assert_int_equal(cv_policy_parse(unknown_policy, strlen(unknown_policy), &p), CV_OK);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_cert_create(fx->v, "mail", p, NULL, NULL), CV_ERR_IO);
	cv_policy_free(p);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_pending_merge(fx->v, "web", (unsigned char *)pem, len, NULL, NULL),
			 CV_ERR_IO);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_pending_cancel(fx->v, "web", NULL), CV_ERR_IO);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_op_fail(fx->v, op, "Refused", "no"), CV_ERR_IO);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_pending_delete(fx->v, "web"), CV_ERR_IO);
	cvt_fail_commit_at = 0;
	CVT_ASSERT_UNCHANGED(fx, before);
	assert_index(fx, "api=api;web=web;");
	free(before);
	free(pem);
	cv_operation_free(op);
}

/* Make fx's vault look as one made before ops_active: the table and its
 * marker gone. */
static void
make_older_vault(fixture *fx)
{
	MDB_txn *txn = NULL;

	assert_int_equal(cv_txn_write(fx->v, &txn), CV_OK);
	assert_int_equal(mdb_drop(txn, fx->v->dbi[CV_DB_OPS_ACTIVE], 1), 0);
	assert_int_equal(cv_db_del(fx->v, txn, CV_DB_META, "ops.indexed", 11), CV_OK);
	assert_int_equal(cv_txn_write_commit(fx->v, txn), CV_OK);
	cv_vault_close(fx->v);
	fx->v = NULL;
}

static int
ops_marker(fixture *fx)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_err err;

	assert_int_equal(cv_txn_read(fx->v, &txn), CV_OK);
	err = cv_db_get(fx->v, txn, CV_DB_META, "ops.indexed", 11, &val);
	mdb_txn_abort(txn);
	assert_true(err == CV_OK || err == CV_ERR_NOT_FOUND);
	return err == CV_OK;
}

/* A vault made before the index: its operations are listed by reading
 * them all until a logged-in user lists them; that listing fills the index
 * once, and from then on it follows every change. */
static void
op_index_older_vault_is_indexed_once(void **state)
{
	fixture *fx = *state;
	char **names = NULL;
	size_t n = 0;
	char *before;

	create_self(fx, "Self1");
	create_pending(fx, "Web");
	create_pending(fx, "mail");
	assert_int_equal(cv_pending_cancel(fx->v, "mail", NULL), CV_OK);
	create_pending(fx, "api");
	make_older_vault(fx);
	assert_int_equal(cv_vault_open(fx->vault, &fx->v), CV_OK);
	/* Opened, it has the table, empty and not marked filled. */
	assert_false(ops_marker(fx));
	before = cvt_vault_digest(fx);
	/* Without a login: the records are read, nothing is written. */
	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "api");
	assert_string_equal(names[1], "Web");
	free(names[0]);
	free(names[1]);
	free(names);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	/* A failed commit of the filling: the listing says so, and the vault
	 * is as it was. */
	assert_int_equal(cv_vault_login(fx->v, CV_USER_NORMAL, "1234", 4), CV_OK);
	before = cvt_vault_digest(fx);
	cvt_fail_commit_at = 1;
	assert_int_equal(cv_op_list_active(fx->v, &names, &n), CV_ERR_IO);
	assert_null(names);
	assert_int_equal(n, 0);
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_false(ops_marker(fx));
	/* Logged in: the first listing fills it. */
	assert_index(fx, "api=api;web=Web;");
	assert_true(ops_marker(fx));
	/* Filled once: a second listing writes nothing. */
	before = cvt_vault_digest(fx);
	assert_index(fx, "api=api;web=Web;");
	CVT_ASSERT_UNCHANGED(fx, before);
	free(before);
	assert_int_equal(cv_pending_cancel(fx->v, "Web", NULL), CV_OK);
	assert_index(fx, "api=api;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(claim_twice_is_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_pass_claim_lapses, setup, teardown),
		cmocka_unit_test_setup_teardown(racing_passes_one_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(save_after_another_claimed_is_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(complete_is_one_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(complete_checks_as_merge_does, setup, teardown),
		cmocka_unit_test_setup_teardown(fail_keeps_the_error_and_retires_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(cancel_during_a_pass_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(old_format_record_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(acme_create_waits_for_a_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled_issuer_refused_vault_signs_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(acme_cancel_before_a_pass_takes_effect, setup, teardown),
		cmocka_unit_test_setup_teardown(acme_cancel_during_a_pass_is_requested, setup, teardown),
		cmocka_unit_test_setup_teardown(list_reads_only_operations_in_progress, setup, teardown),
		cmocka_unit_test_setup_teardown(op_index_follows_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(op_index_failed_commit_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(op_index_older_vault_is_indexed_once, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
