/* certvault benchmark: loading a PKCS#11 module and the calls every
 * benchmark makes. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
bench_ck(CK_RV rv, const char *what)
{
	if (rv != CKR_OK)
		bench_die("%s: CKR 0x%lx", what, (unsigned long)rv);
}

void
bench_p11_load(bench_p11 *p, const char *path)
{
	CK_C_GetFunctionList get;

	memset(p, 0, sizeof(*p));
	if ((p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		bench_die("dlopen %s: %s", path, dlerror());
	*(void **)&get = dlsym(p->dl, "C_GetFunctionList");
	if (get == NULL)
		bench_die("%s has no C_GetFunctionList", path);
	bench_ck(get(&p->f), "C_GetFunctionList");
}

static int
label_is(const unsigned char field[32], const char *want)
{
	size_t n = strlen(want), i;

	if (n > 32 || memcmp(field, want, n) != 0)
		return 0;
	for (i = n; i < 32; i++)
		if (field[i] != ' ')
			return 0;
	return 1;
}

void
bench_p11_init(bench_p11 *p, const char *token)
{
	CK_C_INITIALIZE_ARGS args;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	bench_ck(p->f->C_Initialize(&args), "C_Initialize");
	p->initialized = 1;
	bench_ck(p->f->C_GetSlotList(CK_TRUE, slots, &n), "C_GetSlotList");
	for (i = 0; i < n; i++) {
		if (token == NULL) {
			p->slot = slots[i];
			return;
		}
		if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    label_is(ti.label, token)) {
			p->slot = slots[i];
			return;
		}
	}
	bench_die("no token%s%s among %lu slots with a token",
		  token ? " labelled " : "", token ? token : "", (unsigned long)n);
}

void
bench_p11_finalize(bench_p11 *p)
{
	if (p->initialized)
		p->f->C_Finalize(NULL);
	p->initialized = 0;
}

CK_SESSION_HANDLE
bench_p11_open(bench_p11 *p, int rw)
{
	CK_SESSION_HANDLE s;
	CK_FLAGS fl = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);

	bench_ck(p->f->C_OpenSession(p->slot, fl, NULL, NULL, &s), "C_OpenSession");
	return s;
}

void
bench_p11_login(bench_p11 *p, CK_SESSION_HANDLE s, const char *pin)
{
	CK_RV rv = p->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin,
				 (CK_ULONG)strlen(pin));

	if (rv != CKR_USER_ALREADY_LOGGED_IN)
		bench_ck(rv, "C_Login");
}

CK_ULONG
bench_p11_find(bench_p11 *p, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
	       CK_ULONG n, CK_OBJECT_HANDLE *out, CK_ULONG max)
{
	CK_OBJECT_HANDLE h[64];
	CK_ULONG got, total = 0, i;

	bench_ck(p->f->C_FindObjectsInit(s, tmpl, n), "C_FindObjectsInit");
	for (;;) {
		bench_ck(p->f->C_FindObjects(s, h, 64, &got), "C_FindObjects");
		if (got == 0)
			break;
		for (i = 0; i < got; i++, total++)
			if (out != NULL && total < max)
				out[total] = h[i];
	}
	bench_ck(p->f->C_FindObjectsFinal(s), "C_FindObjectsFinal");
	return total;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
bench_unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(n / 2);
}
