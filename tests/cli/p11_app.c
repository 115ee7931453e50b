/* p11_app MODULE: a long-running PKCS#11 application for the CLI tests.
 * It initializes the module once, then answers one line on stdout for each
 * command read from stdin, until "quit" or the end of input:
 *   token   the first slot's token: "none", "uninitialized" or
 *           "initialized", or "error CKR" from C_GetTokenInfo
 *   count   the objects a public session finds, or "error CKR"
 *   sign N PIN  logs in with PIN and signs N times with the first private
 *           key it finds (RSA, SHA-256): "signed N", or "error CKR after K"
 * The test drives it while it changes the vault underneath. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST_PTR f;

static void
token(void)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_RV rv;

	if ((rv = f->C_GetSlotList(CK_FALSE, slots, &n)) != CKR_OK || n == 0) {
		printf("error 0x%lx\n", rv);
		return;
	}
	if ((rv = f->C_GetSlotInfo(slots[0], &si)) != CKR_OK) {
		printf("error 0x%lx\n", rv);
		return;
	}
	if (!(si.flags & CKF_TOKEN_PRESENT)) {
		printf("none\n");
		return;
	}
	rv = f->C_GetTokenInfo(slots[0], &ti);
	if (rv == CKR_TOKEN_NOT_PRESENT)
		printf("none\n");
	else if (rv != CKR_OK)
		printf("error 0x%lx\n", rv);
	else
		printf("%s\n", ti.flags & CKF_TOKEN_INITIALIZED ? "initialized" : "uninitialized");
}

static void
count(void)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h[64];
	CK_ULONG n = 0, total = 0;
	CK_RV rv;

	if ((rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		printf("error 0x%lx\n", rv);
		return;
	}
	if ((rv = f->C_FindObjectsInit(s, NULL, 0)) == CKR_OK) {
		while ((rv = f->C_FindObjects(s, h, 64, &n)) == CKR_OK && n > 0)
			total += n;
		f->C_FindObjectsFinal(s);
	}
	f->C_CloseSession(s);
	if (rv != CKR_OK)
		printf("error 0x%lx\n", rv);
	else
		printf("%lu\n", total);
}

static void
sign(const char *args)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_BYTE data[] = "certvault p11_app", sig[1024];
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
	CK_ULONG n = 0, siglen;
	char pin[64];
	long want, done = 0;
	CK_RV rv;

	if (sscanf(args, "%ld %63s", &want, pin) != 2 || want < 0) {
		printf("usage: sign N PIN\n");
		return;
	}
	if ((rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		printf("error 0x%lx after 0\n", rv);
		return;
	}
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv == CKR_OK && (rv = f->C_FindObjectsInit(s, tmpl, 1)) == CKR_OK) {
		rv = f->C_FindObjects(s, &key, 1, &n);
		f->C_FindObjectsFinal(s);
		if (rv == CKR_OK && n == 0)
			rv = CKR_KEY_HANDLE_INVALID;
	}
	for (; rv == CKR_OK && done < want; done++) {
		siglen = sizeof(sig);
		if ((rv = f->C_SignInit(s, &mech, key)) == CKR_OK)
			rv = f->C_Sign(s, data, sizeof(data) - 1, sig, &siglen);
	}
	if (rv != CKR_OK)
		printf("error 0x%lx after %ld\n", rv, done > 0 ? done - 1 : 0);
	else
		printf("signed %ld\n", done);
	f->C_Logout(s);
	f->C_CloseSession(s);
}

int
main(int argc, char **argv)
{
	CK_C_GetFunctionList gfl;
	char line[64];
	void *dl;

	if (argc != 2) {
		fprintf(stderr, "usage: p11_app MODULE\n");
		return 2;
	}
	if ((dl = dlopen(argv[1], RTLD_NOW)) == NULL ||
	    (gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList")) == NULL ||
	    gfl(&f) != CKR_OK || f->C_Initialize(NULL) != CKR_OK) {
		fprintf(stderr, "p11_app: cannot load %s\n", argv[1]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strncmp(line, "token", 5) == 0)
			token();
		else if (strncmp(line, "count", 5) == 0)
			count();
		else if (strncmp(line, "sign ", 5) == 0)
			sign(line + 5);
		else if (strncmp(line, "quit", 4) == 0)
			break;
		else
			printf("unknown\n");
	}
	f->C_Finalize(NULL);
	return 0;
}
