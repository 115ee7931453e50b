/* certvault benchmark: figures for the README, never a pass or fail.
 *
 *   bench keyid KEY.pem
 *       the CKA_ID certvault gives the key (SHA-1 of the RSA modulus or of
 *       the uncompressed EC point), in hex, for importing it elsewhere
 *   bench sign ...                          see sign.c
 *   bench find --module SO [--token L] --pin PIN --targets FILE
 *              [--seconds S] [--walk SECONDS] [--tag TEXT]
 *       complete finds (Init, FindObjects until empty, Final) by CKA_ID
 *       alone and by CKA_LABEL alone, for random targets drawn from FILE
 *       ("label hexid" lines), logged in as the user; then the process's
 *       memory; with --walk SECONDS, one pass over every private key
 *       object, then every certificate object (each cut at SECONDS)
 *   bench startup --module SO [--token L] [--reps N] [--fresh N] [--tag T]
 *       C_Initialize + C_GetSlotList + C_OpenSession, in this process with
 *       C_Finalize between (reps), and in fresh processes (dlopen included)
 *   bench p11populate --module SO --token L --pin PIN --cert CERT.pem
 *              --count N --targets FILE
 *       N token certificate objects with their own CKA_ID and CKA_LABEL
 *       (for SoftHSMv2, which has no faster way in)
 *
 * Every figure is one line "RESULT kind=... key=value ..." on stdout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "bench.h"

#define MAX_TARGETS 4096

typedef struct target {
	char label[64];
	unsigned char id[20];
} target;

/* --- small helpers ------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		bench_die("%s: %s", path, strerror(errno));
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		bench_die("%s: no private key", path);
	return k;
}

/* As store/keygen.c cv_key_id: SHA-1 of the modulus or the EC point. */
static void
key_id(EVP_PKEY *k, unsigned char out[20])
{
	unsigned char buf[1024];
	size_t len = 0;
	BIGNUM *n = NULL;

	if (EVP_PKEY_is_a(k, "RSA")) {
		if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
		    BN_num_bytes(n) > (int)sizeof(buf))
			bench_die("RSA modulus");
		len = (size_t)BN_bn2bin(n, buf);
		BN_free(n);
	} else if (!EVP_PKEY_get_octet_string_param(k,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len) ||
		   buf[0] != 0x04) {
		bench_die("EC point");
	}
	if (!EVP_Digest(buf, len, out, NULL, EVP_sha1(), NULL))
		bench_die("SHA-1");
}

static int
cmd_keyid(int argc, char **argv)
{
	unsigned char id[20];
	EVP_PKEY *k;
	int i;

	if (argc != 1)
		bench_die("usage: bench keyid KEY.pem");
	k = read_key(argv[0]);
	key_id(k, id);
	for (i = 0; i < 20; i++)
		printf("%02x", id[i]);
	printf("\n");
	EVP_PKEY_free(k);
	return 0;
}

/* A uniform sample of at most MAX_TARGETS lines of the targets file, so the
 * benchmark's own memory does not grow with the vault it measures. */
static size_t
read_targets(const char *path, target *out)
{
	FILE *f = fopen(path, "r");
	char line[256], label[64], hex[64];
	size_t seen = 0, n = 0, slot;
	target t;

	if (f == NULL)
		bench_die("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63s %63s", label, hex) != 2)
			continue;
		memset(&t, 0, sizeof(t));
		snprintf(t.label, sizeof(t.label), "%s", label);
		if (bench_unhex(hex, t.id, sizeof(t.id)) != 20)
			bench_die("%s: bad id %s", path, hex);
		seen++;
		if (n < MAX_TARGETS) {
			out[n++] = t;
		} else if ((slot = (size_t)(rng_next() % seen)) < MAX_TARGETS) {
			out[slot] = t;
		}
	}
	fclose(f);
	if (n == 0)
		bench_die("%s: no targets", path);
	return n;
}

/* --- memory --------------------------------------------------------------- */

static long
status_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void
print_memory(const char *impl, const char *tag, const char *phase)
{
	static char buf[1 << 16];
	char line[512];
	long mdb_rss = 0, mdb_size = 0, cur_rss = 0, cur_size = 0;
	int in_mdb = 0;
	size_t n;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	printf("RESULT kind=mem impl=%s tag=%s phase=%s vmhwm_kb=%ld vmrss_kb=%ld "
	       "rss_anon_kb=%ld rss_file_kb=%ld", impl, tag, phase,
	       status_kb(buf, "VmHWM:"), status_kb(buf, "VmRSS:"),
	       status_kb(buf, "RssAnon:"), status_kb(buf, "RssFile:"));

	/* The vault's pages: every mapping of an LMDB data.mdb. */
	if ((f = fopen("/proc/self/smaps", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			unsigned long lo, hi;

			if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ')) {
				in_mdb = strstr(line, "data.mdb") != NULL;
				continue;
			}
			if (in_mdb && sscanf(line, "Rss: %ld kB", &cur_rss) == 1)
				mdb_rss += cur_rss;
			if (in_mdb && sscanf(line, "Size: %ld kB", &cur_size) == 1)
				mdb_size += cur_size;
		}
		fclose(f);
	}
	printf(" mdb_rss_kb=%ld mdb_map_kb=%ld", mdb_rss, mdb_size);
	if ((f = fopen("/proc/self/smaps_rollup", "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		printf(" private_kb=%ld shared_kb=%ld",
		       status_kb(buf, "Private_Clean:") + status_kb(buf, "Private_Dirty:"),
		       status_kb(buf, "Shared_Clean:") + status_kb(buf, "Shared_Dirty:"));
	}
	printf("\n");
}

/* --- find ---------------------------------------------------------------- */

typedef struct find_stats {
	double mean_us, median_us, p99_us;
	double found;          /* objects per find, mean */
	unsigned long reps, misses;
} find_stats;

/* A uniform sample of the finds' times, for the median and the 99th
 * percentile; fixed in size and touched before the first memory reading,
 * so the benchmark's own memory does not depend on how many finds ran. */
#define SAMPLES 20000
static double times[SAMPLES];

static find_stats
find_loop(bench_p11 *p, CK_SESSION_HANDLE s, const target *tg, size_t ntg,
	  CK_ATTRIBUTE_TYPE by, double seconds)
{
	find_stats st = { 0 };
	double t_end = bench_now() + seconds, sum = 0, t0, dt;
	unsigned long found = 0, i, j, kept;
	CK_ATTRIBUTE a;

	for (i = 0;; i++) {
		const target *t = &tg[rng_next() % ntg];
		CK_ULONG n;

		a.type = by;
		if (by == CKA_ID) {
			a.pValue = (void *)t->id;
			a.ulValueLen = 20;
		} else {
			a.pValue = (void *)t->label;
			a.ulValueLen = (CK_ULONG)strlen(t->label);
		}
		t0 = bench_now();
		n = bench_p11_find(p, s, &a, 1, NULL, 0);
		dt = bench_now() - t0;
		if (i < SAMPLES)
			times[i] = dt;
		else if ((j = (unsigned long)(rng_next() % (i + 1))) < SAMPLES)
			times[j] = dt;
		sum += dt;
		found += n;
		if (n == 0)
			st.misses++;
		/* At least five finds, however slow. */
		if (i >= 4 && t0 + dt >= t_end)
			break;
	}
	st.reps = i + 1;
	kept = st.reps < SAMPLES ? st.reps : SAMPLES;
	qsort(times, kept, sizeof(double), cmp_double);
	st.mean_us = sum / (double)st.reps * 1e6;
	st.median_us = times[kept / 2] * 1e6;
	st.p99_us = times[(kept * 99) / 100] * 1e6;
	st.found = (double)found / (double)st.reps;
	return st;
}

/* One pass over every object of a class, as libp11 does when it loads a
 * key (it lists the token's private keys, then reads their attributes). */
static void
walk(bench_p11 *p, CK_SESSION_HANDLE s, const char *impl, const char *tag,
     CK_OBJECT_CLASS cls, double limit)
{
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE h[256];
	CK_ULONG got, objs = 0;
	double t0 = bench_now(), t;
	int complete = 1;

	bench_ck(p->f->C_FindObjectsInit(s, &a, 1), "C_FindObjectsInit");
	for (;;) {
		bench_ck(p->f->C_FindObjects(s, h, 256, &got), "C_FindObjects");
		objs += got;
		if (got == 0)
			break;
		if (bench_now() - t0 > limit) {
			complete = 0;
			break;
		}
	}
	bench_ck(p->f->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	t = bench_now() - t0;
	printf("RESULT kind=walk impl=%s tag=%s class=%s objects=%lu seconds=%.3f "
	       "us_per_object=%.2f complete=%d\n", impl, tag,
	       cls == CKO_CERTIFICATE ? "cert" : "priv", (unsigned long)objs, t,
	       objs ? t / (double)objs * 1e6 : 0, complete);
}

static int
cmd_find(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *pin = NULL, *targets = NULL,
		   *tag = "-", *impl = "p11";
	double seconds = 2, walk_limit = -1, t_login;
	static target tg[MAX_TARGETS];
	size_t ntg;
	bench_p11 p;
	CK_SESSION_HANDLE s;
	find_stats st;
	int i, k;

	for (i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--module") == 0)
			module = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			token = argv[i + 1];
		else if (strcmp(argv[i], "--pin") == 0)
			pin = argv[i + 1];
		else if (strcmp(argv[i], "--targets") == 0)
			targets = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--walk") == 0)
			walk_limit = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--tag") == 0)
			tag = argv[i + 1];
		else if (strcmp(argv[i], "--name") == 0)
			impl = argv[i + 1];
		else
			bench_die("find: unknown option %s", argv[i]);
	}
	if (i != argc || module == NULL || pin == NULL || targets == NULL)
		bench_die("find: needs --module, --pin and --targets");
	ntg = read_targets(targets, tg);
	memset(times, 1, sizeof(times));

	bench_p11_load(&p, module);
	print_memory(impl, tag, "loaded");
	bench_p11_init(&p, token);
	s = bench_p11_open(&p, 0);
	t_login = bench_now();
	bench_p11_login(&p, s, pin);
	printf("RESULT kind=login impl=%s tag=%s ms=%.1f\n", impl, tag,
	       (bench_now() - t_login) * 1e3);
	print_memory(impl, tag, "logged-in");
	for (k = 0; k < 2; k++) {
		CK_ATTRIBUTE_TYPE by = k == 0 ? CKA_ID : CKA_LABEL;

		/* A short warm-up: the first finds fault the index pages in. */
		find_loop(&p, s, tg, ntg, by, seconds / 10);
		st = find_loop(&p, s, tg, ntg, by, seconds);
		printf("RESULT kind=find impl=%s tag=%s by=%s reps=%lu mean_us=%.2f "
		       "median_us=%.2f p99_us=%.2f objects_per_find=%.2f misses=%lu\n",
		       impl, tag, k == 0 ? "id" : "label", st.reps, st.mean_us,
		       st.median_us, st.p99_us, st.found, st.misses);
		print_memory(impl, tag, k == 0 ? "after-id-finds" : "after-finds");
	}
	if (walk_limit > 0) {
		walk(&p, s, impl, tag, CKO_PRIVATE_KEY, walk_limit);
		walk(&p, s, impl, tag, CKO_CERTIFICATE, walk_limit);
		print_memory(impl, tag, "after-walk");
	}
	p.f->C_Logout(s);
	p.f->C_CloseSession(s);
	bench_p11_finalize(&p);
	return 0;
}

/* --- start-up -------------------------------------------------------------- */

static double
startup_once(bench_p11 *p, const char *token)
{
	CK_SESSION_HANDLE s;
	double t0 = bench_now(), t;

	bench_p11_init(p, token);
	s = bench_p11_open(p, 0);
	t = bench_now() - t0;
	p->f->C_CloseSession(s);
	bench_p11_finalize(p);
	return t;
}

/* A child: from before dlopen to an open session. */
static int
cmd_startup_once(int argc, char **argv)
{
	double t0 = bench_now();
	bench_p11 p;
	CK_SESSION_HANDLE s;

	if (argc < 1)
		bench_die("startup-once: needs the module");
	bench_p11_load(&p, argv[0]);
	bench_p11_init(&p, argc > 1 ? argv[1] : NULL);
	s = bench_p11_open(&p, 0);
	printf("%.9f\n", bench_now() - t0);
	p.f->C_CloseSession(s);
	bench_p11_finalize(&p);
	return 0;
}

static double
fresh_once(const char *module, const char *token)
{
	int fd[2], status;
	char out[64] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(fd) != 0)
		bench_die("pipe");
	if ((pid = fork()) < 0)
		bench_die("fork");
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/proc/self/exe", "bench", "startup-once", module, token,
		      (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	n = read(fd[0], out, sizeof(out) - 1);
	close(fd[0]);
	waitpid(pid, &status, 0);
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_die("startup-once failed");
	out[n] = '\0';
	return atof(out);
}

static int
cmd_startup(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *tag = "-", *impl = "p11";
	int reps = 20, fresh = 5, i;
	double t, sum = 0, first = 0, mn = 1e9, mx = 0, fsum = 0;
	bench_p11 p;

	for (i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--module") == 0)
			module = argv[i + 1];
		else if (strcmp(argv[i], "--token") == 0)
			token = argv[i + 1];
		else if (strcmp(argv[i], "--reps") == 0)
			reps = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--fresh") == 0)
			fresh = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--tag") == 0)
			tag = argv[i + 1];
		else if (strcmp(argv[i], "--name") == 0)
			impl = argv[i + 1];
		else
			bench_die("startup: unknown option %s", argv[i]);
	}
	if (i != argc || module == NULL || reps < 1)
		bench_die("startup: needs --module");
	/* token is passed to the child as argv[4]; NULL ends the list early. */
	for (i = 0; i < fresh; i++)
		fsum += fresh_once(module, token);

	bench_p11_load(&p, module);
	for (i = 0; i <= reps; i++) {
		t = startup_once(&p, token);
		if (i == 0) {
			first = t;
			continue;
		}
		sum += t;
		if (t < mn)
			mn = t;
		if (t > mx)
			mx = t;
	}
	printf("RESULT kind=startup impl=%s tag=%s reps=%d mean_ms=%.3f min_ms=%.3f "
	       "max_ms=%.3f first_ms=%.3f fresh=%d fresh_mean_ms=%.3f\n", impl, tag,
	       reps, sum / reps * 1e3, mn * 1e3, mx * 1e3, first * 1e3, fresh,
	       fresh ? fsum / fresh * 1e3 : 0);
	return 0;
}

/* --- token objects for SoftHSM ------------------------------------------------ */

static int
cmd_p11populate(int argc, char **argv)
{
	const char *module = NULL, *token = NULL, *pin = NULL, *cert = NULL,
		   *targets = NULL;
	long n = 0, i;
	int j;
	bench_p11 p;
	CK_SESSION_HANDLE s;
	X509 *x;
	FILE *f, *out;
	unsigned char *der = NULL, *subj = NULL, id[20];
	int der_len, subj_len;
	char label[32];
	double t0;

	for (j = 0; j + 1 < argc; j += 2) {
		if (strcmp(argv[j], "--module") == 0)
			module = argv[j + 1];
		else if (strcmp(argv[j], "--token") == 0)
			token = argv[j + 1];
		else if (strcmp(argv[j], "--pin") == 0)
			pin = argv[j + 1];
		else if (strcmp(argv[j], "--cert") == 0)
			cert = argv[j + 1];
		else if (strcmp(argv[j], "--count") == 0)
			n = atol(argv[j + 1]);
		else if (strcmp(argv[j], "--targets") == 0)
			targets = argv[j + 1];
		else
			bench_die("p11populate: unknown option %s", argv[j]);
	}
	if (j != argc || !module || !token || !pin || !cert || !targets)
		bench_die("p11populate: needs --module --token --pin --cert --count --targets");
	if ((f = fopen(cert, "r")) == NULL)
		bench_die("%s: %s", cert, strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || (der_len = i2d_X509(x, &der)) <= 0 ||
	    (subj_len = i2d_X509_NAME(X509_get_subject_name(x), &subj)) <= 0)
		bench_die("%s: no certificate", cert);
	if ((out = fopen(targets, "w")) == NULL)
		bench_die("%s: %s", targets, strerror(errno));

	bench_p11_load(&p, module);
	bench_p11_init(&p, token);
	s = bench_p11_open(&p, 1);
	bench_p11_login(&p, s, pin);
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE ct = CKC_X_509;
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &yes, sizeof(yes) },
			{ CKA_ID, id, sizeof(id) },
			{ CKA_LABEL, label, 0 },
			{ CKA_SUBJECT, subj, (CK_ULONG)subj_len },
			{ CKA_VALUE, der, (CK_ULONG)der_len },
		};
		CK_OBJECT_HANDLE h;

		if (RAND_bytes(id, sizeof(id)) != 1)
			bench_die("RAND_bytes");
		snprintf(label, sizeof(label), "c%07ld", i);
		t[4].ulValueLen = (CK_ULONG)strlen(label);
		bench_ck(p.f->C_CreateObject(s, t, sizeof(t) / sizeof(t[0]), &h),
			 "C_CreateObject");
		fprintf(out, "%s ", label);
		for (j = 0; j < 20; j++)
			fprintf(out, "%02x", id[j]);
		fputc('\n', out);
	}
	printf("p11populate: %ld certificate objects in %.2f s\n", n, bench_now() - t0);
	if (fclose(out) != 0)
		bench_die("%s: %s", targets, strerror(errno));
	p.f->C_Logout(s);
	p.f->C_CloseSession(s);
	bench_p11_finalize(&p);
	OPENSSL_free(der);
	OPENSSL_free(subj);
	X509_free(x);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		bench_die("usage: bench keyid|sign|find|startup|p11populate ...");
	if (strcmp(argv[1], "keyid") == 0)
		return cmd_keyid(argc - 2, argv + 2);
	if (strcmp(argv[1], "sign") == 0)
		return bench_sign_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "find") == 0)
		return cmd_find(argc - 2, argv + 2);
	if (strcmp(argv[1], "startup") == 0)
		return cmd_startup(argc - 2, argv + 2);
	if (strcmp(argv[1], "startup-once") == 0)
		return cmd_startup_once(argc - 2, argv + 2);
	if (strcmp(argv[1], "p11populate") == 0)
		return cmd_p11populate(argc - 2, argv + 2);
	bench_die("unknown command %s", argv[1]);
}
