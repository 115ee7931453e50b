/* certvault benchmark: what bench.c, p11.c and sign.c share.
 *
 * The benchmark reaches every PKCS#11 module the same way: dlopen, then
 * C_GetFunctionList, so certvault-pkcs11.so and SoftHSMv2 run the very same
 * code.  Results are printed as "RESULT key=value ..." lines that run.sh
 * collects into the README table; nothing here judges a figure.
 */
#ifndef CV_BENCH_H
#define CV_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* A module loaded and initialized, with the slot of the token asked for. */
typedef struct bench_p11 {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	int initialized;
} bench_p11;

/* Seconds on the monotonic clock. */
double bench_now(void);

/* Print a failure and exit(1): the benchmark has no use for half a run. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Die with the CKR value when rv is not CKR_OK. */
void bench_ck(CK_RV rv, const char *what);

/* dlopen the module and take its function list. */
void bench_p11_load(bench_p11 *p, const char *path);
/* C_Initialize (OS locking) and pick the slot whose token label is token
 * (NULL: the first slot with a token). */
void bench_p11_init(bench_p11 *p, const char *token);
void bench_p11_finalize(bench_p11 *p);
CK_SESSION_HANDLE bench_p11_open(bench_p11 *p, int rw);
void bench_p11_login(bench_p11 *p, CK_SESSION_HANDLE s, const char *pin);

/* Complete find (Init, FindObjects until none, Final); returns the count,
 * with up to max handles in out (out may be NULL). */
CK_ULONG bench_p11_find(bench_p11 *p, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
			CK_ULONG n, CK_OBJECT_HANDLE *out, CK_ULONG max);

/* Hex to bytes; returns the length or -1. */
int bench_unhex(const char *hex, unsigned char *out, size_t max);

/* sign.c: the "sign" command. */
int bench_sign_main(int argc, char **argv);

#endif
