/* certvault benchmark: leaves issued per second by the vault CA.
 *
 *   vault_ca [--seconds S] [--pin PIN] DIR
 *
 * Makes a vault in DIR (which must not exist yet) holding a self-signed EC
 * P-256 root CA and a Vault issuer over it, then, for EC P-256 and RSA-2048
 * leaves, for S seconds each (default 3):
 *   keygen    cv_cert_create with the Vault issuer: the leaf's key made in
 *             the vault, signed by the CA, stored (one durable commit each);
 *   sign      cv_vault_ca_issue alone on keys made beforehand: read the CA,
 *             unseal its key, check and sign, in a write transaction that is
 *             then aborted (nothing stored).
 * Prints "RESULT kind=vaultca impl=certvault key=ec|rsa mode=keygen|sign
 * count=N seconds=S per_s=R" lines.  Figures only: nothing passes or fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "x509.h"

#define DEFAULT_PIN "bench-pin-1234"
#define SO_PIN "bench-so-pin-5678"
#define PREPARED 64

#define ROOT_POLICY \
	"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false}," \
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"}," \
	"\"x509_props\":{\"subject\":\"CN=Bench Root CA\",\"validity_months\":24," \
	"\"key_usage\":[\"keyCertSign\",\"cRLSign\"],\"basic_constraints\":{\"ca\":true}}," \
	"\"issuer\":{\"name\":\"Self\"}}"

#define LEAF_POLICY \
	"{\"key_props\":{%s,\"exportable\":false,\"reuse_key\":false}," \
	"\"secret_props\":{\"contentType\":\"application/x-pem-file\"}," \
	"\"x509_props\":{\"subject\":\"CN=leaf.bench.example\",\"validity_months\":12," \
	"\"sans\":{\"dns_names\":[\"leaf.bench.example\"]},\"ekus\":[\"1.3.6.1.5.5.7.3.1\"]}," \
	"\"issuer\":{\"name\":\"BenchCA\"}}"

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

	fprintf(stderr, "vault_ca: %s: %s%s%s\n", what, cv_strerror(err),
		d[0] ? ": " : "", d);
	return 1;
}

static cv_policy *
parse(const char *json)
{
	cv_policy *p = NULL;

	if (cv_policy_parse(json, strlen(json), &p) != CV_OK) {
		fail("policy", CV_ERR_POLICY);
		exit(1);
	}
	return p;
}

static void
result(const char *key, const char *mode, long n, double secs)
{
	printf("RESULT kind=vaultca impl=certvault key=%s mode=%s count=%ld seconds=%.2f per_s=%.1f\n",
	       key, mode, n, secs, secs > 0 ? (double)n / secs : 0.0);
}

/* Leaves made with cv_cert_create for seconds: key generation included. */
static int
run_keygen(cv_vault *v, const cv_policy *leaf, const char *key, double seconds)
{
	char name[32];
	double t0 = now_s(), t;
	long n = 0;
	cv_err err;

	do {
		snprintf(name, sizeof(name), "%s-%ld", key, n);
		if ((err = cv_cert_create(v, name, leaf, NULL, NULL)) != CV_OK)
			return fail("cv_cert_create", err);
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	result(key, "keygen", n, t);
	return 0;
}

/* cv_vault_ca_issue alone on prepared keys: key generation excluded. */
static int
run_sign(cv_vault *v, const cv_policy *leaf, const char *key, double seconds)
{
	EVP_PKEY *keys[PREPARED] = { NULL };
	cv_issuer *issuer = NULL;
	MDB_txn *txn = NULL;
	X509 *x = NULL;
	STACK_OF(X509) *chain = NULL;
	double t0, t;
	long n = 0;
	cv_err err;
	int i, rc = 1;

	for (i = 0; i < PREPARED; i++)
		if ((err = cv_key_generate(leaf, &keys[i])) != CV_OK) {
			rc = fail("cv_key_generate", err);
			goto done;
		}
	if ((err = cv_issuer_get(v, "BenchCA", 0, &issuer)) != CV_OK) {
		rc = fail("cv_issuer_get", err);
		goto done;
	}
	t0 = now_s();
	do {
		if ((err = cv_txn_write(v, &txn)) != CV_OK ||
		    (err = cv_vault_ca_issue(v, txn, issuer, leaf, keys[n % PREPARED], &x,
					     &chain)) != CV_OK) {
			rc = fail("cv_vault_ca_issue", err);
			goto done;
		}
		mdb_txn_abort(txn);
		txn = NULL;
		X509_free(x);
		x = NULL;
		sk_X509_pop_free(chain, X509_free);
		chain = NULL;
		n++;
		t = now_s() - t0;
	} while (t < seconds);
	result(key, "sign", n, t);
	rc = 0;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_issuer_free(issuer);
	for (i = 0; i < PREPARED; i++)
		EVP_PKEY_free(keys[i]);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *pin = DEFAULT_PIN, *dir = NULL;
	static const struct { const char *key, *props; } kinds[] = {
		{ "ec", "\"kty\":\"EC\",\"crv\":\"P-256\"" },
		{ "rsa", "\"kty\":\"RSA\",\"key_size\":2048" },
	};
	double seconds = 3;
	cv_vault *v = NULL;
	cv_policy *root = NULL, *leaf = NULL;
	cv_issuer is;
	char json[1024];
	cv_err err;
	int i, rc = 1;
	size_t k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--pin") == 0 && i + 1 < argc)
			pin = argv[++i];
		else if (argv[i][0] != '-' && dir == NULL)
			dir = argv[i];
		else
			break;
	}
	if (dir == NULL || i < argc) {
		fprintf(stderr, "usage: vault_ca [--seconds S] [--pin PIN] DIR\n");
		return 2;
	}
	if ((err = cv_vault_create(dir, "bench-ca", pin, strlen(pin), SO_PIN,
				   strlen(SO_PIN))) != CV_OK)
		return fail("cv_vault_create", err);
	if ((err = cv_vault_open(dir, &v)) != CV_OK ||
	    (err = cv_vault_login(v, CV_USER_NORMAL, pin, strlen(pin))) != CV_OK) {
		rc = fail("open and log in", err);
		goto done;
	}
	root = parse(ROOT_POLICY);
	if ((err = cv_cert_create(v, "root", root, NULL, NULL)) != CV_OK) {
		rc = fail("root CA", err);
		goto done;
	}
	memset(&is, 0, sizeof(is));
	snprintf(is.name, sizeof(is.name), "BenchCA");
	is.provider = "Vault";
	is.ca_certificate = "root";
	is.enabled = 1;
	if ((err = cv_issuer_put(v, &is, CV_PUT_CREATE, NULL)) != CV_OK) {
		rc = fail("issuer", err);
		goto done;
	}
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		snprintf(json, sizeof(json), LEAF_POLICY, kinds[k].props);
		cv_policy_free(leaf);
		leaf = parse(json);
		if (run_sign(v, leaf, kinds[k].key, seconds) != 0 ||
		    run_keygen(v, leaf, kinds[k].key, seconds) != 0)
			goto done;
	}
	rc = 0;
done:
	cv_policy_free(leaf);
	cv_policy_free(root);
	cv_vault_close(v);
	return rc;
}
