/* signer MODULE TOKEN PIN LABEL THREADS STOPFILE SECONDS [--no-verify]: a PKCS#11
 * application of THREADS threads, each with its own session, signing with
 * the private key labelled LABEL on the token labelled TOKEN (CKM_ECDSA on a
 * SHA-256-sized digest, or CKM_SHA256_RSA_PKCS for an RSA key) and checking
 * every signature with C_Verify on the public key of the same label (not
 * with --no-verify, for a signing rate), until STOPFILE exists or SECONDS
 * have passed.  One login for the application;
 * each thread finds the key once and keeps its handle, as a server does.
 *
 * Prints one line: "signed N failed F bad B threads T seconds S" (F: calls
 * that did not return CKR_OK, the first few of them on stderr with their
 * CKR; B: signatures that did not verify; S: how long the threads ran, for
 * a rate) and exits 0 when it ran, 1 when it could
 * not start.  Links nothing but libdl and the PKCS#11 header: the module is
 * reached as any application reaches it.  For tests/faults and
 * conformance/test_concurrency.sh. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>

#define MAX_THREADS 64
#define REPORT_FIRST 5

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static const char *label, *stopfile;
static double deadline;
static int verify = 1;

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static int reported;

typedef struct worker {
	pthread_t tid;
	unsigned long signed_ok, failed, bad;
} worker;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
report(const char *what, CK_RV rv)
{
	pthread_mutex_lock(&report_lock);
	if (reported++ < REPORT_FIRST)
		fprintf(stderr, "signer: %s: CKR 0x%lx\n", what, (unsigned long)rv);
	pthread_mutex_unlock(&report_lock);
}

/* The one object of CLASS labelled label; CK_INVALID_HANDLE if none. */
static CK_OBJECT_HANDLE
find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	if (f->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return CK_INVALID_HANDLE;
	if (f->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
		h = CK_INVALID_HANDLE;
	f->C_FindObjectsFinal(s);
	return h;
}

static void *
sign_loop(void *arg)
{
	worker *w = arg;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub;
	CK_KEY_TYPE kt = 0;
	CK_ATTRIBUTE ka = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_BYTE data[32], sig[1024];
	CK_ULONG len, i;
	CK_RV rv;

	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		report("C_OpenSession", rv);
		w->failed++;
		return NULL;
	}
	priv = find(s, CKO_PRIVATE_KEY);
	pub = find(s, CKO_PUBLIC_KEY);
	if (priv == CK_INVALID_HANDLE || pub == CK_INVALID_HANDLE ||
	    f->C_GetAttributeValue(s, priv, &ka, 1) != CKR_OK) {
		report("find the key pair by its label", CKR_OBJECT_HANDLE_INVALID);
		w->failed++;
		goto done;
	}
	if (kt == CKK_RSA)
		mech.mechanism = CKM_SHA256_RSA_PKCS;
	for (i = 0;; i++) {
		if ((i & 15) == 0 && (now_s() > deadline || access(stopfile, F_OK) == 0))
			break;
		memset(data, (int)(i & 0xff), sizeof(data));
		memcpy(data, &w, sizeof(w) < sizeof(data) ? sizeof(w) : sizeof(data));
		len = sizeof(sig);
		if ((rv = f->C_SignInit(s, &mech, priv)) != CKR_OK ||
		    (rv = f->C_Sign(s, data, sizeof(data), sig, &len)) != CKR_OK) {
			report("C_SignInit/C_Sign", rv);
			w->failed++;
			continue;
		}
		if (!verify) {
			w->signed_ok++;
			continue;
		}
		if ((rv = f->C_VerifyInit(s, &mech, pub)) != CKR_OK) {
			report("C_VerifyInit", rv);
			w->failed++;
			continue;
		}
		if ((rv = f->C_Verify(s, data, sizeof(data), sig, len)) != CKR_OK) {
			report("C_Verify", rv);
			w->bad++;
			continue;
		}
		w->signed_ok++;
	}
done:
	f->C_CloseSession(s);
	return NULL;
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList gfl;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	CK_TOKEN_INFO ti;
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_SESSION_HANDLE login;
	worker w[MAX_THREADS];
	unsigned long total = 0, failed = 0, bad = 0;
	int threads, t, found = 0;
	double started;
	void *dl;
	CK_RV rv;

	if (argc == 9 && strcmp(argv[8], "--no-verify") == 0)
		verify = 0;
	if ((argc != 8 && verify) || (threads = atoi(argv[5])) < 1 || threads > MAX_THREADS) {
		fprintf(stderr, "usage: signer MODULE TOKEN PIN LABEL THREADS STOPFILE SECONDS [--no-verify]\n");
		return 1;
	}
	label = argv[4];
	stopfile = argv[6];
	deadline = now_s() + atof(argv[7]);
	if ((dl = dlopen(argv[1], RTLD_NOW)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&f) != CKR_OK || (rv = f->C_Initialize(&ia)) != CKR_OK) {
		fprintf(stderr, "signer: cannot load and initialize %s\n", argv[1]);
		return 1;
	}
	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		n = 0;
	for (i = 0; i < n && !found; i++) {
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		size_t l = strlen(argv[2]), k;

		if (l > sizeof(ti.label) || memcmp(ti.label, argv[2], l) != 0)
			continue;
		for (k = l; k < sizeof(ti.label) && ti.label[k] == ' '; k++)
			;
		if (k == sizeof(ti.label)) {
			slot = slots[i];
			found = 1;
		}
	}
	if (!found) {
		fprintf(stderr, "signer: no token labelled %s\n", argv[2]);
		return 1;
	}
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &login)) != CKR_OK ||
	    (rv = f->C_Login(login, CKU_USER, (CK_UTF8CHAR_PTR)argv[3], strlen(argv[3]))) != CKR_OK) {
		fprintf(stderr, "signer: login: CKR 0x%lx\n", (unsigned long)rv);
		return 1;
	}
	memset(w, 0, sizeof(w));
	started = now_s();
	for (t = 0; t < threads; t++)
		if (pthread_create(&w[t].tid, NULL, sign_loop, &w[t]) != 0) {
			fprintf(stderr, "signer: pthread_create\n");
			return 1;
		}
	for (t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		total += w[t].signed_ok;
		failed += w[t].failed;
		bad += w[t].bad;
	}
	printf("signed %lu failed %lu bad %lu threads %d seconds %.3f\n", total, failed,
	       bad, threads, now_s() - started);
	f->C_Logout(login);
	f->C_CloseSession(login);
	f->C_Finalize(NULL);
	return 0;
}
