/* certvault benchmark: fill a vault with many self-signed EC certificates.
 *
 *   populate [--api] [--batch N] [--pin PIN] [--targets FILE]
 *            [--due-every N] DIR COUNT
 *
 * Creates the vault in DIR when there is none, logs in once, and adds COUNT
 * certificates named c0000000, c0000001 ... with an EC P-256 self-signed
 * policy (content type PEM, not exportable).
 *
 * --due-every N gives every certificate the lifetime action AutoRenew 30
 * days before expiry, with 12 months of validity, except every Nth (c0000000,
 * cN, c2N ...), which gets 2 months: a lifetime pass at `--now` 45 days
 * ahead finds 1 in N due (N=100: 1%), and at the time of populating none.
 *
 * --api makes each certificate with cv_cert_create: one LMDB write
 * transaction, so one durable commit (fsync), per certificate.  Without it,
 * the records cv_cert_create writes (key, version, secret, certificate,
 * completed operation) are written through the store's internal API in one
 * transaction per N certificates (default 1000), which is what makes
 * 100,000 certificates take seconds instead of many minutes.
 *
 * --targets FILE receives one line per certificate: its name (the label the
 * token shows) and its CKA_ID in hex, for the find benchmark.
 *
 * Prints one line: "RESULT kind=populate mode=api|batched count=N ..."
 * with the seconds taken and certificates per second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "internal.h"
#include "x509.h"

#define POLICY_JSON \
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false," \
	"\"reuse_key\":false},\"secret_props\":{\"contentType\":" \
	"\"application/x-pem-file\"},\"x509_props\":{\"subject\":\"CN=bench\"," \
	"\"validity_months\":12},\"issuer\":{\"name\":\"Self\"}}"

/* The same with AutoRenew 30 days before expiry, for --due-every: months
 * of validity as the argument. */
#define DUE_POLICY_JSON(months) \
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false," \
	"\"reuse_key\":false},\"secret_props\":{\"contentType\":" \
	"\"application/x-pem-file\"},\"x509_props\":{\"subject\":\"CN=bench\"," \
	"\"validity_months\":" #months "},\"lifetime_actions\":[{\"trigger\":" \
	"{\"days_before_expiry\":30},\"action\":{\"action_type\":\"AutoRenew\"}}]," \
	"\"issuer\":{\"name\":\"Self\"}}"

#define DEFAULT_PIN "bench-pin-1234"
#define SO_PIN "bench-so-pin-5678"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fail(const char *what, cv_err err)
{
	const char *d = cv_err_detail();

	fprintf(stderr, "populate: %s: %s%s%s\n", what, cv_strerror(err),
		d[0] ? ": " : "", d);
	return 1;
}

static void
put_target(FILE *f, const char *name, const unsigned char id[20])
{
	int i;

	if (f == NULL)
		return;
	fprintf(f, "%s ", name);
	for (i = 0; i < 20; i++)
		fprintf(f, "%02x", id[i]);
	fputc('\n', f);
}

/* One certificate the way cv_cert_create writes it, inside txn. */
static cv_err
add_one(cv_vault *v, MDB_txn *txn, const cv_policy *policy,
	const char *policy_json, const char *name, unsigned char id[20])
{
	cv_cert_rec cert = { 0 };
	cv_operation op = { 0 };
	EVP_PKEY *key = NULL;
	X509 *self = NULL;
	char version[CV_VERSION_LEN + 1], request_id[CV_VERSION_LEN + 1];
	int64_t now = cv_now();
	cv_err err;

	if ((err = cv_key_generate(policy, &key)) != CV_OK ||
	    (err = cv_x509_self_sign(policy, key, (time_t)now, &self)) != CV_OK ||
	    (err = cv_key_id(key, id)) != CV_OK ||
	    (err = cv_random_version(version)) != CV_OK ||
	    (err = cv_random_version(request_id)) != CV_OK)
		goto done;
	snprintf(cert.name, sizeof(cert.name), "%s", name);
	cert.created = cert.updated = now;
	if ((cert.policy_json = strdup(policy_json)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if ((err = cv_key_rec_store(v, txn, name, version, key, policy, 0)) != CV_OK ||
	    (err = cv_version_store(v, txn, &cert, policy, version, self, NULL,
				    key, NULL)) != CV_OK)
		goto done;
	snprintf(op.name, sizeof(op.name), "%s", name);
	memcpy(op.version, version, sizeof(op.version));
	op.issuer_name = policy->issuer_name;
	op.cert_type = policy->cert_type;
	op.request_id = request_id;
	op.status = CV_OP_COMPLETED;
	op.created = op.updated = now;
	err = cv_op_write(v, txn, &op);
done:
	cv_cert_rec_clear(&cert);
	X509_free(self);
	EVP_PKEY_free(key);
	return err;
}

/* The policy of certificate i: the due one for every due_every-th. */
static const cv_policy *
policy_of(long i, long due_every, const cv_policy *policy, const cv_policy *due)
{
	return due_every > 0 && i % due_every == 0 ? due : policy;
}

static int
populate_batched(cv_vault *v, const cv_policy *policy, const cv_policy *due,
		 long due_every, long start, long count, long batch, FILE *targets)
{
	char *json = NULL, *due_json = NULL;
	const cv_policy *p;
	MDB_txn *txn = NULL;
	char name[32];
	unsigned char id[20];
	long i;
	cv_err err;
	int rc = 1;

	if ((err = cv_policy_to_json(policy, CV_POLICY_JSON_REST, &json)) != CV_OK ||
	    (err = cv_policy_to_json(due, CV_POLICY_JSON_REST, &due_json)) != CV_OK) {
		free(json);
		return fail("policy to JSON", err);
	}
	for (i = start; i < start + count; i++) {
		if (txn == NULL && (err = cv_txn_write(v, &txn)) != CV_OK) {
			fail("begin a write transaction", err);
			goto done;
		}
		snprintf(name, sizeof(name), "c%07ld", i);
		p = policy_of(i, due_every, policy, due);
		if ((err = add_one(v, txn, p, p == due ? due_json : json, name, id)) != CV_OK) {
			fail(name, err);
			goto done;
		}
		put_target(targets, name, id);
		if ((i - start + 1) % batch == 0 || i + 1 == start + count) {
			err = cv_txn_write_commit(v, txn);
			txn = NULL;
			if (err != CV_OK) {
				fail("commit", err);
				goto done;
			}
		}
	}
	rc = 0;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(json);
	free(due_json);
	return rc;
}

static int
populate_api(cv_vault *v, const cv_policy *policy, const cv_policy *due,
	     long due_every, long start, long count, FILE *targets)
{
	cv_cert_version *cv = NULL;
	char name[32];
	long i;
	cv_err err;

	for (i = start; i < start + count; i++) {
		snprintf(name, sizeof(name), "c%07ld", i);
		if ((err = cv_cert_create(v, name, policy_of(i, due_every, policy, due),
					  NULL, NULL)) != CV_OK)
			return fail(name, err);
		if (targets != NULL) {
			if ((err = cv_cert_get(v, name, NULL, &cv)) != CV_OK)
				return fail(name, err);
			put_target(targets, name, cv->key_id);
			cv_cert_version_free(cv);
			cv = NULL;
		}
	}
	return 0;
}

static void
usage(void)
{
	fputs("usage: populate [--api] [--batch N] [--start N] [--pin PIN] "
	      "[--targets FILE] [--due-every N] DIR COUNT\n", stderr);
}

int
main(int argc, char **argv)
{
	const char *pin = DEFAULT_PIN, *targets_path = NULL, *dir;
	long count, batch = 1000, start = 0, due_every = 0;
	int api = 0, i, rc = 1;
	cv_vault *v = NULL;
	cv_policy *policy = NULL, *due = NULL;
	const char *main_json = POLICY_JSON, *due_json = DUE_POLICY_JSON(2);
	FILE *targets = NULL;
	struct stat st;
	double t0, t1;
	cv_err err;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--api") == 0) {
			api = 1;
		} else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			batch = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--start") == 0 && i + 1 < argc) {
			start = strtol(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc) {
			pin = argv[++i];
		} else if (strcmp(argv[i], "--due-every") == 0 && i + 1 < argc) {
			due_every = strtol(argv[++i], NULL, 10);
			main_json = DUE_POLICY_JSON(12);
			if (due_every < 1) {
				usage();
				return 2;
			}
		} else if (strcmp(argv[i], "--targets") == 0 && i + 1 < argc) {
			targets_path = argv[++i];
		} else {
			usage();
			return 2;
		}
	}
	if (argc - i != 2 || batch < 1) {
		usage();
		return 2;
	}
	dir = argv[i];
	count = strtol(argv[i + 1], NULL, 10);
	if (count < 0) {
		usage();
		return 2;
	}

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    cv_vault_open(dir, &v) != CV_OK) {
		cv_err_clear();
		if ((err = cv_vault_create(dir, "bench", pin, strlen(pin), SO_PIN,
					   strlen(SO_PIN))) != CV_OK)
			return fail("create the vault", err);
		if ((err = cv_vault_open(dir, &v)) != CV_OK)
			return fail("open the vault", err);
	}
	if ((err = cv_vault_login(v, CV_USER_NORMAL, pin, strlen(pin))) != CV_OK) {
		fail("log in", err);
		goto done;
	}
	if ((err = cv_policy_parse(main_json, strlen(main_json), &policy)) != CV_OK ||
	    (err = cv_policy_parse(due_json, strlen(due_json), &due)) != CV_OK) {
		fail("parse the policy", err);
		goto done;
	}
	if (targets_path != NULL && (targets = fopen(targets_path, "a")) == NULL) {
		fprintf(stderr, "populate: %s: %s\n", targets_path, strerror(errno));
		goto done;
	}

	t0 = now_s();
	rc = api ? populate_api(v, policy, due, due_every, start, count, targets)
		 : populate_batched(v, policy, due, due_every, start, count, batch, targets);
	t1 = now_s();
	if (rc == 0)
		printf("RESULT kind=populate mode=%s count=%ld batch=%ld due_every=%ld "
		       "seconds=%.2f per_s=%.0f\n", api ? "api" : "batched", count,
		       api ? 1 : batch, due_every, t1 - t0,
		       count / (t1 - t0 > 0 ? t1 - t0 : 1e-9));
done:
	if (targets != NULL && fclose(targets) != 0 && rc == 0) {
		fprintf(stderr, "populate: %s: %s\n", targets_path, strerror(errno));
		rc = 1;
	}
	cv_policy_free(policy);
	cv_policy_free(due);
	cv_vault_close(v);
	return rc;
}
