/* coredump: are a logged-in module's unsealed keys in a core dump?
 *
 * usage: coredump MODULE PREFIX LABEL... -- KEYFILE...
 *
 * Loads the PKCS#11 module, logs in with $CERTVAULT_PIN, signs with the
 * private key of each LABEL (so the module has unsealed and used it), and
 * stays logged in while gdb's gcore writes this process's core to
 * PREFIX.PID.  Only then does it read each KEYFILE (the PEM private keys
 * the vault imported, made with the openssl command), so the dump cannot
 * hold a copy of its own making, and searches the dump for every secret
 * value of each key as OpenSSL or a DER encoder could hold it: RSA d, p,
 * q, dP, dQ, qInv and EC private scalars, big-endian and as little-endian
 * BIGNUM limbs, and the PKCS#8 and bare private-key DER.  gcore leaves out
 * mappings marked MADV_DONTDUMP (VmFlags "dd"), as the kernel does.
 *
 * It also generates a session RSA key pair (CKA_TOKEN FALSE) and signs with
 * it.  Its private values never leave the module, so the dump is searched
 * for a prime factor of its modulus instead: every 8-byte aligned run of
 * 128 bytes that, read as BIGNUM limbs, divides the modulus.
 *
 * Output is TAP, one test per key file; exit 0 when the run itself worked.
 */
#define _GNU_SOURCE /* memmem */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define GCORE_SECONDS 120

static CK_FUNCTION_LIST_PTR F;

static int
die(const char *what, CK_RV rv)
{
	printf("Bail out! %s: 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

/* Sign a short message with the private key labelled label. */
static int
sign_with(CK_SESSION_HANDLE s, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0, kt = 0, sig_len;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[1024];
	static unsigned char msg[] = "a message the unsealed key signs";
	int i;

	if (F->C_FindObjectsInit(s, t, 2) != CKR_OK)
		return 0;
	F->C_FindObjects(s, &key, 1, &n);
	F->C_FindObjectsFinal(s);
	if (n != 1 || F->C_GetAttributeValue(s, key, &a, 1) != CKR_OK)
		return 0;
	if (kt == CKK_EC)
		m.mechanism = CKM_ECDSA_SHA256;
	/* A few times: the module's caches fill on the first. */
	for (i = 0; i < 3; i++) {
		sig_len = sizeof(sig);
		if (F->C_SignInit(s, &m, key) != CKR_OK ||
		    F->C_Sign(s, msg, sizeof(msg), sig, &sig_len) != CKR_OK)
			return 0;
	}
	return 1;
}

/* A session RSA-2048 key pair that signs once; its modulus in *n. */
static int
session_rsa(CK_SESSION_HANDLE s, BIGNUM **n)
{
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_ULONG bits = 2048, len, sig_len;
	CK_MECHANISM gen = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_ATTRIBUTE pt[] = {
		{ CKA_TOKEN, &no, sizeof(no) }, { CKA_MODULUS_BITS, &bits, sizeof(bits) },
	};
	CK_ATTRIBUTE kt[] = { { CKA_TOKEN, &no, sizeof(no) }, { CKA_SIGN, &yes, sizeof(yes) } };
	CK_OBJECT_HANDLE pub, priv;
	unsigned char mod[512], sig[512];
	CK_ATTRIBUTE a = { CKA_MODULUS, mod, sizeof(mod) };
	static unsigned char msg[] = "a message the session key signs";

	*n = NULL;
	if (F->C_GenerateKeyPair(s, &gen, pt, 2, kt, 2, &pub, &priv) != CKR_OK ||
	    F->C_GetAttributeValue(s, pub, &a, 1) != CKR_OK)
		return 0;
	len = a.ulValueLen;
	sig_len = sizeof(sig);
	if (F->C_SignInit(s, &m, priv) != CKR_OK ||
	    F->C_Sign(s, msg, sizeof(msg), sig, &sig_len) != CKR_OK)
		return 0;
	*n = BN_bin2bn(mod, (int)len, NULL);
	return *n != NULL;
}

/* The offset of a factor of n in the dump (1024-bit, as BIGNUM limbs), or
 * -1. */
static long
find_factor(const unsigned char *map, size_t size, const BIGNUM *n)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *f = BN_new(), *r = BN_new();
	size_t off;
	long at = -1;

	for (off = 0; ctx != NULL && f != NULL && r != NULL && off + 128 <= size;
	     off += 8) {
		/* A prime of 1024 bits: odd, top bit set. */
		if (!(map[off] & 1) || !(map[off + 127] & 0x80))
			continue;
		if (BN_lebin2bn(map + off, 128, f) != NULL && BN_mod(r, n, f, ctx) &&
		    BN_is_zero(r)) {
			at = (long)off;
			break;
		}
	}
	BN_free(f);
	BN_free(r);
	BN_CTX_free(ctx);
	return at;
}

/* Run gcore on this process; bounded. */
static int
dump_self(const char *prefix)
{
	char pid[32];
	pid_t child, got;
	int status, waited;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	/* Under Yama's ptrace_scope 1 a child may not trace its parent
	 * unless the parent allows it (fails harmlessly without Yama). */
	(void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
	child = fork();
	if (child < 0)
		return 0;
	if (child == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execlp("gcore", "gcore", "-o", prefix, pid, (char *)NULL);
		_exit(127);
	}
	for (waited = 0; waited < GCORE_SECONDS * 10; waited++) {
		got = waitpid(child, &status, WNOHANG);
		if (got == child)
			break;
		usleep(100000);
	}
	if (waited == GCORE_SECONDS * 10) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	(void)prctl(PR_SET_PTRACER, 0, 0, 0, 0);
	return waited < GCORE_SECONDS * 10 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* --- The secrets, and the search ---------------------------------------- */

typedef struct pattern {
	char name[64];
	unsigned char *b;
	size_t len;
} pattern;

static pattern pats[64];
static size_t n_pats;

static void
add(const char *name, const unsigned char *b, size_t len)
{
	if (n_pats == sizeof(pats) / sizeof(pats[0]) || len < 16)
		return;
	pats[n_pats].b = OPENSSL_memdup(b, len);
	pats[n_pats].len = len;
	snprintf(pats[n_pats].name, sizeof(pats[n_pats].name), "%s", name);
	n_pats++;
}

/* A BIGNUM as big-endian bytes and as little-endian limbs (how a BIGNUM
 * holds it in memory on this machine). */
static void
add_bn(EVP_PKEY *pkey, const char *param, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024], rev[1024];
	char n2[64];
	int len, i;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return;
	len = BN_num_bytes(bn);
	if (len > 0 && len <= (int)sizeof(buf) && BN_bn2bin(bn, buf) == len) {
		snprintf(n2, sizeof(n2), "%s (big-endian)", name);
		add(n2, buf, (size_t)len);
		for (i = 0; i < len; i++)
			rev[i] = buf[len - 1 - i];
		snprintf(n2, sizeof(n2), "%s (BIGNUM limbs)", name);
		add(n2, rev, (size_t)len);
	}
	BN_clear_free(bn);
}

static void
add_key(EVP_PKEY *pkey)
{
	PKCS8_PRIV_KEY_INFO *p8;
	unsigned char *der = NULL;
	int len;

	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_D, "RSA d");
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, "RSA p");
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, "RSA q");
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, "RSA dP");
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, "RSA dQ");
		add_bn(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, "RSA qInv");
	} else {
		add_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, "EC private scalar");
	}
	if ((p8 = EVP_PKEY2PKCS8(pkey)) != NULL &&
	    (len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) > 0) {
		add("PKCS#8 DER", der, (size_t)len);
		OPENSSL_clear_free(der, (size_t)len);
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	der = NULL;
	if ((len = i2d_PrivateKey(pkey, &der)) > 0) {
		add("private key DER", der, (size_t)len);
		OPENSSL_clear_free(der, (size_t)len);
	}
}

static const unsigned char *
find(const unsigned char *hay, size_t hay_len, const pattern *p)
{
	return memmem(hay, hay_len, p->b, p->len);
}

int
main(int argc, char **argv)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	CK_SLOT_ID slots[8];
	CK_ULONG n_slots = 8;
	CK_SESSION_HANDLE s;
	BIGNUM *sess_n = NULL;
	long at;
	const char *pin = getenv("CERTVAULT_PIN");
	char core[4096];
	const unsigned char *map, *hit;
	struct stat st;
	void *dl;
	int i, k, keys, fd, tap = 0, found;
	size_t j;
	CK_RV rv;

	for (keys = 3; keys < argc && strcmp(argv[keys], "--") != 0; keys++)
		;
	if (argc < 5 || keys >= argc - 1 || pin == NULL) {
		fprintf(stderr, "usage: CERTVAULT_PIN=... %s MODULE PREFIX LABEL... -- "
			"KEYFILE...\n", argv[0]);
		return 2;
	}
	if ((dl = dlopen(argv[1], RTLD_NOW)) == NULL) {
		printf("Bail out! %s\n", dlerror());
		return 1;
	}
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (get == NULL || get(&F) != CKR_OK)
		return die("C_GetFunctionList", CKR_GENERAL_ERROR);
	if ((rv = F->C_Initialize(NULL)) != CKR_OK)
		return die("C_Initialize", rv);
	if ((rv = F->C_GetSlotList(CK_TRUE, slots, &n_slots)) != CKR_OK || n_slots == 0)
		return die("C_GetSlotList", rv);
	if ((rv = F->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
		return die("C_OpenSession", rv);
	if ((rv = F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK)
		return die("C_Login", rv);
	for (i = 3; i < keys; i++) {
		if (!sign_with(s, argv[i])) {
			printf("Bail out! signing with %s failed\n", argv[i]);
			return 1;
		}
	}
	if (!session_rsa(s, &sess_n)) {
		printf("Bail out! a session RSA key pair did not sign\n");
		return 1;
	}
	if (!dump_self(argv[2])) {
		printf("Bail out! gcore did not write the core\n");
		return 1;
	}
	snprintf(core, sizeof(core), "%s.%ld", argv[2], (long)getpid());

	/* Only now the keys, from their files. */
	for (k = keys + 1; k < argc; k++) {
		FILE *f = fopen(argv[k], "r");
		EVP_PKEY *pkey = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

		if (f != NULL)
			fclose(f);
		if (pkey == NULL) {
			printf("Bail out! %s holds no private key\n", argv[k]);
			return 1;
		}
		n_pats = 0;
		add_key(pkey);
		EVP_PKEY_free(pkey);
		if ((fd = open(core, O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size == 0 ||
		    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
		    MAP_FAILED) {
			printf("Bail out! %s: %s\n", core, strerror(errno));
			return 1;
		}
		found = 0;
		for (j = 0; j < n_pats; j++) {
			hit = find(map, (size_t)st.st_size, &pats[j]);
			if (hit != NULL) {
				printf("# %s: %s (%zu bytes) at offset %zu of the core\n", argv[k],
				       pats[j].name, pats[j].len, (size_t)(hit - map));
				found++;
			}
			OPENSSL_clear_free(pats[j].b, pats[j].len);
		}
		munmap((void *)map, (size_t)st.st_size);
		close(fd);
		printf("%sok %d - %s: none of %zu secret values in the core dump of a "
		       "logged-in module that signed with it\n", found ? "not " : "", ++tap,
		       argv[k], n_pats);
	}
	if ((fd = open(core, O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size == 0 ||
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) ==
	    MAP_FAILED) {
		printf("Bail out! %s: %s\n", core, strerror(errno));
		return 1;
	}
	at = find_factor(map, (size_t)st.st_size, sess_n);
	munmap((void *)map, (size_t)st.st_size);
	close(fd);
	if (at >= 0)
		printf("# session RSA key: a prime factor of its modulus at offset %ld of "
		       "the core\n", at);
	printf("%sok %d - session RSA key: no prime factor of its modulus in the core "
	       "dump\n", at >= 0 ? "not " : "", ++tap);
	BN_free(sess_n);
	F->C_Logout(s);
	F->C_Finalize(NULL);
	printf("1..%d\n", tap);
	return 0;
}
