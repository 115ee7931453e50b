/* certvault benchmark: signatures per second.
 *
 *   bench sign --impl IMPL --key KEY.pem --mech MECH [--threads N]
 *              [--seconds S] [--warmup S] [--verify]
 *              [--module SO --token LABEL --pin PIN --id HEX --label NAME]
 *
 * MECH is what every implementation does to the same 32-byte SHA-256 digest:
 *   rsa-pkcs  PKCS#1 v1.5: CKM_RSA_PKCS over the DigestInfo (51 bytes);
 *             OpenSSL: RSA_PKCS1_PADDING with signature md SHA-256, which
 *             builds the same DigestInfo (the signatures are compared
 *             byte for byte, so the same key is proven to be used)
 *   rsa-pss   CKM_RSA_PKCS_PSS, SHA-256, MGF1-SHA-256, 32-byte salt
 *   ecdsa     CKM_ECDSA on the digest (PKCS#11 answers r||s, OpenSSL DER)
 * IMPL:
 *   p11            C_SignInit + C_Sign per signature, each thread its own
 *                  session, one login
 *   openssl        the baseline: an EVP_PKEY_CTX made once per thread; per
 *                  signature EVP_PKEY_sign_init, the padding parameters,
 *                  EVP_PKEY_sign (what a module must at least do per
 *                  C_SignInit + C_Sign)
 *   openssl-new    per signature EVP_PKEY_CTX_new_from_pkey as well
 *   openssl-ready  init and parameters once; per signature EVP_PKEY_sign
 *                  only (an upper bound)
 * With --verify one operation is a sign+verify pair: the signature is checked
 * at once, p11 with C_VerifyInit + C_Verify on the public key object of the
 * same CKA_ID (as tests/faults/signer does), openssl with the key of the
 * file (EVP_PKEY_verify_init, the padding parameters, EVP_PKEY_verify: for a
 * digest already made, what EVP_DigestVerify does after its hashing; the
 * openssl-new impl makes the EVP_PKEY_CTX per verification as well).  A
 * signature that does not verify ends the run.
 * Each thread signs for --warmup seconds, then all count for --seconds in
 * the same window; the figure is the sum of the threads' ops/s.  Also
 * printed: signatures per CPU second of the signing threads, and how much
 * of the window they had a CPU (cpu_util; below 1 when other processes or
 * lock waits took it).
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "bench.h"

enum impl { IMPL_P11, IMPL_OPENSSL, IMPL_OPENSSL_NEW, IMPL_OPENSSL_READY };
enum mech { MECH_RSA_PKCS, MECH_RSA_PSS, MECH_ECDSA };

/* DER prefix of a SHA-256 DigestInfo (RFC 8017, 9.2 note 1). */
static const unsigned char sha256_prefix[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
	0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};

typedef struct sign_job {
	enum impl impl;
	enum mech mech;
	EVP_PKEY *pkey;
	bench_p11 *p11;
	CK_OBJECT_HANDLE key;
	CK_OBJECT_HANDLE pub;          /* --verify with p11 */
	int verify;
	unsigned char digest[32];
	double t_start, t_end;
	/* out */
	unsigned long ops;
	double secs;
	double cpu;            /* the thread's CPU seconds in the window */
	unsigned char first_sig[512];
	size_t first_len;
} sign_job;

static int
set_params(EVP_PKEY_CTX *ctx, enum mech m)
{
	switch (m) {
	case MECH_RSA_PKCS:
		return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
		       EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0;
	case MECH_RSA_PSS:
		return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		       EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
		       EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 &&
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) > 0;
	case MECH_ECDSA:
		return 1;
	}
	return 0;
}

static void
openssl_once(sign_job *j, EVP_PKEY_CTX **ctxp, unsigned char *sig, size_t *len)
{
	EVP_PKEY_CTX *ctx = *ctxp;

	if (j->impl == IMPL_OPENSSL_NEW) {
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL)) == NULL)
			bench_die("EVP_PKEY_CTX_new_from_pkey");
	}
	if (j->impl != IMPL_OPENSSL_READY &&
	    (EVP_PKEY_sign_init(ctx) <= 0 || !set_params(ctx, j->mech)))
		bench_die("EVP_PKEY_sign_init");
	*len = 512;
	if (EVP_PKEY_sign(ctx, sig, len, j->digest, sizeof(j->digest)) <= 0)
		bench_die("EVP_PKEY_sign");
	if (j->impl == IMPL_OPENSSL_NEW)
		EVP_PKEY_CTX_free(ctx);
}

/* The signature just made, checked as --verify asks. */
static void
openssl_verify_once(sign_job *j, EVP_PKEY_CTX **vctxp, const unsigned char *sig,
		    size_t len)
{
	EVP_PKEY_CTX *ctx = *vctxp;

	if (ctx == NULL || j->impl == IMPL_OPENSSL_NEW) {
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL)) == NULL)
			bench_die("EVP_PKEY_CTX_new_from_pkey");
	}
	if (EVP_PKEY_verify_init(ctx) <= 0 || !set_params(ctx, j->mech))
		bench_die("EVP_PKEY_verify_init");
	if (EVP_PKEY_verify(ctx, sig, len, j->digest, sizeof(j->digest)) != 1)
		bench_die("EVP_PKEY_verify: a signature just made does not verify");
	if (j->impl == IMPL_OPENSSL_NEW)
		EVP_PKEY_CTX_free(ctx);
	else
		*vctxp = ctx;
}

static void
p11_once(sign_job *j, CK_SESSION_HANDLE s, unsigned char *sig, size_t *len)
{
	CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { 0, NULL, 0 };
	unsigned char di[sizeof(sha256_prefix) + 32];
	const unsigned char *in = j->digest;
	CK_ULONG in_len = 32, sig_len = 512;

	switch (j->mech) {
	case MECH_RSA_PKCS:
		m.mechanism = CKM_RSA_PKCS;
		memcpy(di, sha256_prefix, sizeof(sha256_prefix));
		memcpy(di + sizeof(sha256_prefix), j->digest, 32);
		in = di;
		in_len = sizeof(di);
		break;
	case MECH_RSA_PSS:
		m.mechanism = CKM_RSA_PKCS_PSS;
		m.pParameter = &pss;
		m.ulParameterLen = sizeof(pss);
		break;
	case MECH_ECDSA:
		m.mechanism = CKM_ECDSA;
		break;
	}
	bench_ck(j->p11->f->C_SignInit(s, &m, j->key), "C_SignInit");
	bench_ck(j->p11->f->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &sig_len), "C_Sign");
	*len = sig_len;
	if (j->verify) {
		bench_ck(j->p11->f->C_VerifyInit(s, &m, j->pub), "C_VerifyInit");
		bench_ck(j->p11->f->C_Verify(s, (CK_BYTE_PTR)in, in_len, sig, sig_len),
			 "C_Verify");
	}
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
sign_thread(void *arg)
{
	sign_job *j = arg;
	EVP_PKEY_CTX *ctx = NULL, *vctx = NULL;
	CK_SESSION_HANDLE s = 0;
	unsigned char sig[512];
	size_t len;
	unsigned long ops = 0;
	double t, t0 = 0, c0 = 0;

	if (j->impl == IMPL_P11) {
		s = bench_p11_open(j->p11, 0);
	} else if (j->impl != IMPL_OPENSSL_NEW) {
		if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL)) == NULL)
			bench_die("EVP_PKEY_CTX_new_from_pkey");
		if (j->impl == IMPL_OPENSSL_READY &&
		    (EVP_PKEY_sign_init(ctx) <= 0 || !set_params(ctx, j->mech)))
			bench_die("EVP_PKEY_sign_init");
	}
	for (;;) {
		if (j->impl == IMPL_P11)
			p11_once(j, s, sig, &len);
		else
			openssl_once(j, &ctx, sig, &len);
		if (j->verify && j->impl != IMPL_P11)
			openssl_verify_once(j, &vctx, sig, len);
		if (j->first_len == 0) {
			memcpy(j->first_sig, sig, len);
			j->first_len = len;
		}
		t = bench_now();
		if (t >= j->t_end)
			break;
		if (t >= j->t_start) {
			if (t0 == 0) {
				t0 = t;
				c0 = thread_cpu();
			} else
				ops++;
		}
	}
	/* ops counts the signatures that both started and ended in the window
	 * opened at t0 and closed at the last clock reading before t_end. */
	j->ops = ops;
	j->secs = t0 > 0 ? t - t0 : 0;
	j->cpu = t0 > 0 ? thread_cpu() - c0 : 0;
	if (s != 0)
		j->p11->f->C_CloseSession(s);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(vctx);
	return NULL;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		bench_die("%s: cannot open", path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		bench_die("%s: no private key", path);
	return k;
}

/* Check a signature with OpenSSL and the key from the file, so a module
 * that signed with another key shows up as an error, not a figure. */
static void
verify(const sign_job *j, const unsigned char *sig, size_t len)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL);
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL;
	int der_len, ok;

	if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0 || !set_params(ctx, j->mech))
		bench_die("verify init");
	if (j->mech == MECH_ECDSA && j->impl == IMPL_P11) {
		BIGNUM *r, *s;

		if (len != 64)
			bench_die("ECDSA P-256 signature of %zu bytes", len);
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, 32, NULL);
		s = BN_bin2bn(sig + 32, 32, NULL);
		if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s))
			bench_die("ECDSA_SIG");
		if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
			bench_die("i2d_ECDSA_SIG");
		ok = EVP_PKEY_verify(ctx, der, (size_t)der_len, j->digest, 32);
	} else {
		ok = EVP_PKEY_verify(ctx, sig, len, j->digest, 32);
	}
	if (ok != 1)
		bench_die("the signature does not verify with the key of the file");
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	EVP_PKEY_CTX_free(ctx);
}

/* PKCS#1 v1.5 is deterministic: the module must give OpenSSL's bytes. */
static void
compare_pkcs1(sign_job *j, const unsigned char *sig, size_t len)
{
	sign_job ref = *j;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, j->pkey, NULL);
	unsigned char want[512];
	size_t want_len;

	ref.impl = IMPL_OPENSSL;
	openssl_once(&ref, &ctx, want, &want_len);
	EVP_PKEY_CTX_free(ctx);
	if (want_len != len || memcmp(want, sig, len) != 0)
		bench_die("PKCS#1 v1.5 signature differs from OpenSSL's with the same key");
}

static CK_OBJECT_HANDLE
find_key(bench_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *id_hex,
	 const char *label)
{
	unsigned char id[64];
	CK_ATTRIBUTE t[2] = { { CKA_CLASS, &cls, sizeof(cls) }, { 0, NULL, 0 } };
	CK_OBJECT_HANDLE h[4];
	CK_ULONG n = 0;
	int id_len;

	if (id_hex != NULL) {
		if ((id_len = bench_unhex(id_hex, id, sizeof(id))) < 0)
			bench_die("--id: not hex");
		t[1].type = CKA_ID;
		t[1].pValue = id;
		t[1].ulValueLen = (CK_ULONG)id_len;
		n = bench_p11_find(p, s, t, 2, h, 4);
	}
	if (n == 0 && label != NULL) {
		t[1].type = CKA_LABEL;
		t[1].pValue = (void *)label;
		t[1].ulValueLen = (CK_ULONG)strlen(label);
		n = bench_p11_find(p, s, t, 2, h, 4);
	}
	if (n == 0)
		bench_die("no %s key with id %s or label %s",
			  cls == CKO_PRIVATE_KEY ? "private" : "public",
			  id_hex ? id_hex : "-", label ? label : "-");
	return h[0];
}

static const char *
mech_name(enum mech m)
{
	return m == MECH_RSA_PKCS ? "rsa-pkcs" : m == MECH_RSA_PSS ? "rsa-pss" : "ecdsa";
}

static const char *
impl_name(enum impl i)
{
	return i == IMPL_P11 ? "p11" : i == IMPL_OPENSSL ? "openssl"
	       : i == IMPL_OPENSSL_NEW ? "openssl-new" : "openssl-ready";
}

int
bench_sign_main(int argc, char **argv)
{
	const char *key_path = NULL, *module = NULL, *token = NULL,
		   *pin = NULL, *id = NULL, *label = NULL, *name = NULL,
		   *tag = "-";
	enum impl impl = IMPL_OPENSSL;
	enum mech mech = MECH_RSA_PKCS;
	int threads = 1, i, verify_too = 0;
	double seconds = 3, warmup = 0.5, total = 0, cpu = 0, t;
	sign_job jobs[16];
	pthread_t tids[16];
	bench_p11 p11;
	CK_SESSION_HANDLE login_s = 0;
	CK_OBJECT_HANDLE key = 0, pub = 0;
	EVP_PKEY *pkey;
	unsigned long ops = 0;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--verify") == 0) {
			verify_too = 1;
			continue;
		}
		if (v == NULL)
			bench_die("sign: %s needs a value", a);
		i++;
		if (strcmp(a, "--impl") == 0) {
			if (strcmp(v, "p11") == 0)
				impl = IMPL_P11;
			else if (strcmp(v, "openssl") == 0)
				impl = IMPL_OPENSSL;
			else if (strcmp(v, "openssl-new") == 0)
				impl = IMPL_OPENSSL_NEW;
			else if (strcmp(v, "openssl-ready") == 0)
				impl = IMPL_OPENSSL_READY;
			else
				bench_die("sign: --impl %s", v);
		} else if (strcmp(a, "--mech") == 0) {
			if (strcmp(v, "rsa-pkcs") == 0)
				mech = MECH_RSA_PKCS;
			else if (strcmp(v, "rsa-pss") == 0)
				mech = MECH_RSA_PSS;
			else if (strcmp(v, "ecdsa") == 0)
				mech = MECH_ECDSA;
			else
				bench_die("sign: --mech %s", v);
		} else if (strcmp(a, "--key") == 0) {
			key_path = v;
		} else if (strcmp(a, "--threads") == 0) {
			threads = atoi(v);
		} else if (strcmp(a, "--seconds") == 0) {
			seconds = atof(v);
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = atof(v);
		} else if (strcmp(a, "--module") == 0) {
			module = v;
		} else if (strcmp(a, "--token") == 0) {
			token = v;
		} else if (strcmp(a, "--pin") == 0) {
			pin = v;
		} else if (strcmp(a, "--id") == 0) {
			id = v;
		} else if (strcmp(a, "--label") == 0) {
			label = v;
		} else if (strcmp(a, "--tag") == 0) {
			tag = v;
		} else if (strcmp(a, "--name") == 0) {
			name = v;   /* how run.sh names the implementation */
		} else {
			bench_die("sign: unknown option %s", a);
		}
	}
	if (key_path == NULL || threads < 1 || threads > 16 || seconds <= 0)
		bench_die("sign: needs --key, 1..16 --threads, --seconds > 0");
	if (impl == IMPL_P11 && (module == NULL || pin == NULL))
		bench_die("sign: --impl p11 needs --module and --pin");
	pkey = load_key(key_path);

	if (impl == IMPL_P11) {
		bench_p11_load(&p11, module);
		bench_p11_init(&p11, token);
		login_s = bench_p11_open(&p11, 0);
		bench_p11_login(&p11, login_s, pin);
		key = find_key(&p11, login_s, CKO_PRIVATE_KEY, id, label);
		if (verify_too)
			pub = find_key(&p11, login_s, CKO_PUBLIC_KEY, id, label);
	}

	memset(jobs, 0, sizeof(jobs));
	t = bench_now();
	for (i = 0; i < threads; i++) {
		jobs[i].impl = impl;
		jobs[i].mech = mech;
		jobs[i].pkey = pkey;
		jobs[i].p11 = &p11;
		jobs[i].key = key;
		jobs[i].pub = pub;
		jobs[i].verify = verify_too;
		memset(jobs[i].digest, 0x5a, 32);
		jobs[i].digest[0] = (unsigned char)i;
		/* Threads start within microseconds of each other; the window
		 * opens after everyone's warm-up. */
		jobs[i].t_start = t + warmup;
		jobs[i].t_end = t + warmup + seconds;
		if (pthread_create(&tids[i], NULL, sign_thread, &jobs[i]) != 0)
			bench_die("pthread_create");
	}
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);

	for (i = 0; i < threads; i++) {
		verify(&jobs[i], jobs[i].first_sig, jobs[i].first_len);
		if (mech == MECH_RSA_PKCS && impl == IMPL_P11)
			compare_pkcs1(&jobs[i], jobs[i].first_sig, jobs[i].first_len);
		if (jobs[i].secs > 0)
			total += (double)jobs[i].ops / jobs[i].secs;
		ops += jobs[i].ops;
		cpu += jobs[i].cpu;
	}
	/* ops per CPU second and the share of the window the threads ran show
	 * how much other processes took from this one: a figure measured on a
	 * busy machine shows it here. */
	printf("RESULT kind=%s impl=%s mech=%s threads=%d tag=%s ops=%lu seconds=%.2f "
	       "ops_per_s=%.1f ops_per_cpu_s=%.1f cpu_util=%.2f",
	       verify_too ? "signverify" : "sign", name ? name : impl_name(impl), mech_name(mech), threads, tag, ops,
	       seconds, total, cpu > 0 ? (double)ops / cpu : 0,
	       cpu / (seconds * threads));
	for (i = 0; i < threads; i++)
		printf(" t%d=%.1f", i, jobs[i].secs > 0 ? (double)jobs[i].ops / jobs[i].secs : 0);
	printf("\n");

	if (impl == IMPL_P11) {
		p11.f->C_Logout(login_s);
		p11.f->C_CloseSession(login_s);
		bench_p11_finalize(&p11);
	}
	EVP_PKEY_free(pkey);
	return 0;
}
