/* Fuzz target: the module's template and attribute-buffer handling.  The
 * input is decoded into templates for C_CreateObject, C_FindObjectsInit and
 * C_GetAttributeValue (with buffers of the sizes the input asks for, so an
 * overrun lands outside an allocation), run against the module on a vault
 * that C_InitToken makes in a temporary folder once per process.
 *
 * Input: a sequence of operations, each one byte (op % 3: create, find,
 * get) and one template.  A template is one byte count (at most 16), then
 * per attribute: a type byte (an index into TYPES, or 0xff followed by a
 * raw 4-byte type), a length byte (0xff: pValue NULL, length the next
 * byte), and that many value bytes. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <p11-kit/pkcs11.h>

#include "fuzz.h"

#ifndef CKA_UNIQUE_ID
#define CKA_UNIQUE_ID 0x4UL   /* PKCS#11 3.0 */
#endif

static const CK_ATTRIBUTE_TYPE TYPES[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_APPLICATION,
	CKA_VALUE, CKA_OBJECT_ID, CKA_CERTIFICATE_TYPE, CKA_ISSUER,
	CKA_SERIAL_NUMBER, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
	CKA_CHECK_VALUE, CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE,
	CKA_ENCRYPT, CKA_DECRYPT, CKA_WRAP, CKA_UNWRAP, CKA_SIGN,
	CKA_SIGN_RECOVER, CKA_VERIFY, CKA_DERIVE, CKA_START_DATE,
	CKA_END_DATE, CKA_MODULUS, CKA_MODULUS_BITS, CKA_PUBLIC_EXPONENT,
	CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2, CKA_EXPONENT_1,
	CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_VALUE_LEN, CKA_EXTRACTABLE,
	CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
	CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE, CKA_COPYABLE, CKA_DESTROYABLE,
	CKA_EC_PARAMS, CKA_EC_POINT, CKA_ALWAYS_AUTHENTICATE,
	CKA_WRAP_WITH_TRUSTED, CKA_ALLOWED_MECHANISMS, CKA_PUBLIC_KEY_INFO,
	CKA_URL, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, CKA_HASH_OF_ISSUER_PUBLIC_KEY,
	CKA_NAME_HASH_ALGORITHM, CKA_UNIQUE_ID, CKA_VALUE_BITS,
	CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE, CKA_DERIVE_TEMPLATE,
};
#define N_TYPES (sizeof(TYPES) / sizeof(TYPES[0]))
#define MAX_ATTRS 16
#define MAX_OBJECTS 8

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static CK_SESSION_HANDLE login_session, session;

static void
die(const char *what, CK_RV rv)
{
	fprintf(stderr, "fuzz_pkcs11: %s: 0x%lx\n", what, (unsigned long)rv);
	abort();
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	const char *dir = getenv("CV_FUZZ_DIR");

	if (f != NULL)
		(void)f->C_Finalize(NULL);
	if (dir != NULL && strstr(dir, "/cv-fuzz-pkcs11-") != NULL)
		(void)nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Once per process: a vault in a temporary folder (removed at exit), its
 * token initialized, a user PIN set, and a logged-in read-write session. */
static void
setup(void)
{
	static char dir[512];
	static const char so[] = "so-pin-5678", user[] = "user-pin-1234";
	CK_SLOT_ID slots[4];
	CK_ULONG n = 4;
	CK_UTF8CHAR label[32];
	CK_SESSION_HANDLE so_s;
	CK_RV rv;

	const char *tmp = getenv("TMPDIR");
	char path[600];
	FILE *conf;

	/* Under TMPDIR when set: libFuzzer ends a run by _Exit, past the
	 * atexit removal, so tests/fuzz/run.sh points TMPDIR at its own
	 * folder. */
	snprintf(dir, sizeof(dir), "%s/cv-fuzz-pkcs11-XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", 0);
	setenv("CV_FUZZ_DIR", dir, 1);
	atexit(cleanup);
	/* A config of its own naming one empty folder, whatever the user's. */
	snprintf(path, sizeof(path), "%s/vault", dir);
	if (mkdir(path, 0700) != 0)
		die("mkdir", 0);
	snprintf(path, sizeof(path), "%s/certvault.conf", dir);
	if ((conf = fopen(path, "w")) == NULL)
		die("fopen", 0);
	fprintf(conf, "vault = %s/vault\n", dir);
	fclose(conf);
	setenv("CERTVAULT_CONF", path, 1);
	if ((rv = C_GetFunctionList(&f)) != CKR_OK)
		die("C_GetFunctionList", rv);
	if ((rv = f->C_Initialize(NULL)) != CKR_OK)
		die("C_Initialize", rv);
	if ((rv = f->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK || n < 1)
		die("C_GetSlotList", rv);
	memset(label, ' ', sizeof(label));
	memcpy(label, "Fuzz", 4);
	if ((rv = f->C_InitToken(slots[0], (CK_UTF8CHAR_PTR)so, strlen(so), label)) != CKR_OK)
		die("C_InitToken", rv);
	if ((rv = f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				   &so_s)) != CKR_OK)
		die("C_OpenSession", rv);
	if ((rv = f->C_Login(so_s, CKU_SO, (CK_UTF8CHAR_PTR)so, strlen(so))) != CKR_OK)
		die("C_Login SO", rv);
	if ((rv = f->C_InitPIN(so_s, (CK_UTF8CHAR_PTR)user, strlen(user))) != CKR_OK)
		die("C_InitPIN", rv);
	if ((rv = f->C_Logout(so_s)) != CKR_OK)
		die("C_Logout", rv);
	if ((rv = f->C_CloseSession(so_s)) != CKR_OK)
		die("C_CloseSession", rv);
	/* This session keeps the login; each input works in one of its own,
	 * whose closing takes the session objects it made, destroyable or
	 * not. */
	slot = slots[0];
	if ((rv = f->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				   &login_session)) != CKR_OK)
		die("C_OpenSession", rv);
	if ((rv = f->C_Login(login_session, CKU_USER, (CK_UTF8CHAR_PTR)user, strlen(user))) != CKR_OK)
		die("C_Login user", rv);
}

struct reader {
	const uint8_t *p;
	size_t left;
};

static int
take(struct reader *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return 0;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 1;
}

static int
byte(struct reader *r, uint8_t *b)
{
	const uint8_t *p;

	if (!take(r, 1, &p))
		return 0;
	*b = *p;
	return 1;
}

/* Decode one template; every pValue is a fresh allocation of exactly its
 * length (NULL for a zero length or when the input says NULL). */
static CK_ULONG
template(struct reader *r, CK_ATTRIBUTE *t, int fill)
{
	uint8_t count, tb, lb;
	CK_ULONG i, n = 0;

	if (!byte(r, &count))
		return 0;
	count %= MAX_ATTRS + 1;
	for (i = 0; i < count; i++) {
		const uint8_t *v;

		if (!byte(r, &tb))
			break;
		if (tb == 0xff) {
			if (!take(r, 4, &v))
				break;
			t[n].type = (CK_ULONG)v[0] << 24 | (CK_ULONG)v[1] << 16 |
				    (CK_ULONG)v[2] << 8 | v[3];
		} else {
			t[n].type = TYPES[tb % N_TYPES];
		}
		if (!byte(r, &lb))
			break;
		if (lb == 0xff) {
			if (!byte(r, &lb))
				break;
			t[n].pValue = NULL;
			t[n].ulValueLen = lb;
			n++;
			continue;
		}
		t[n].ulValueLen = lb;
		t[n].pValue = lb ? malloc(lb) : NULL;
		if (lb) {
			if (fill) {
				if (!take(r, lb, &v)) {
					free(t[n].pValue);
					break;
				}
				memcpy(t[n].pValue, v, lb);
			} else {
				memset(t[n].pValue, 0xa5, lb);
			}
		}
		n++;
	}
	return n;
}

static void
template_free(CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		free(t[i].pValue);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct reader r = { data, size };
	CK_OBJECT_HANDLE made[MAX_OBJECTS], found[MAX_OBJECTS];
	CK_ULONG n_made = 0, n_found = 0, i;
	uint8_t op;

	if (!ready) {
		setup();
		ready = 1;
	}
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
			     &session) != CKR_OK)
		abort();
	while (byte(&r, &op)) {
		CK_ATTRIBUTE t[MAX_ATTRS];
		CK_ULONG n;
		CK_OBJECT_HANDLE h;
		CK_RV rv;

		switch (op % 3) {
		case 0:
			n = template(&r, t, 1);
			if (n_made < MAX_OBJECTS &&
			    f->C_CreateObject(session, n ? t : NULL, n, &h) == CKR_OK)
				made[n_made++] = h;
			template_free(t, n);
			break;
		case 1: {
			CK_ULONG got = 0;

			n = template(&r, t, 1);
			if (f->C_FindObjectsInit(session, n ? t : NULL, n) == CKR_OK) {
				rv = f->C_FindObjects(session, found + n_found,
						      MAX_OBJECTS - n_found, &got);
				if (rv == CKR_OK)
					n_found += got;
				if (f->C_FindObjectsFinal(session) != CKR_OK)
					abort();
			}
			template_free(t, n);
			break;
		}
		default: {
			uint8_t which = 0;
			CK_ULONG all = n_made + n_found;

			(void)byte(&r, &which);
			n = template(&r, t, 0);
			h = all == 0 ? (CK_OBJECT_HANDLE)which :
			    which % all < n_made ? made[which % all] :
			    found[which % all - n_made];
			(void)f->C_GetAttributeValue(session, h, n ? t : NULL, n);
			template_free(t, n);
			break;
		}
		}
	}
	/* Leave the vault as it was: what this input made goes. */
	for (i = 0; i < n_made; i++)
		(void)f->C_DestroyObject(session, made[i]);
	if (f->C_CloseSession(session) != CKR_OK)
		abort();
	return 0;
}
