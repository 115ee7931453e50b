/* The module test harness: loading, tokens, checks, helpers (harness.h). */
#include "harness.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

t_target T;

/* --- Checks ---------------------------------------------------------------- */

static struct {
	const char *name;
	int failures;
	const char *refs[64];          /* differences already printed */
	int n_refs;
} cur;

void
t_begin(const char *name)
{
	memset(&cur, 0, sizeof(cur));
	cur.name = name;
}

void
t_end(void)
{
	if (cur.failures > 0)
		fail_msg("%s: %d check(s) failed", cur.name, cur.failures);
}

void
t_diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void
t_fail_note(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	const char *base = strrchr(file, '/');

	printf("# %s:%d: ", base != NULL ? base + 1 : file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void
differs(const char *who, const char *ref, const char *fmt, va_list ap)
{
	int i;

	/* CV_ALL_DIFFS=1 prints every occurrence (for writing the table). */
	for (i = 0; i < cur.n_refs && getenv("CV_ALL_DIFFS") == NULL; i++)
		if (strcmp(cur.refs[i], ref) == 0)
			return;
	if (cur.n_refs < (int)(sizeof(cur.refs) / sizeof(cur.refs[0])))
		cur.refs[cur.n_refs++] = ref;
	printf("# %s differs: [%s] ", who, ref);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void
t_softhsm_differs(const char *ref, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	differs("softhsm", ref, fmt, ap);
	va_end(ap);
}

void
t_proxy_differs(const char *ref, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	differs("p11-kit-proxy", ref, fmt, ap);
	va_end(ap);
}

static void
known_difference(enum t_kind on, const char *ref, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
known_difference(enum t_kind on, const char *ref, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	differs(on == T_PROXY ? "p11-kit-proxy" : "softhsm", ref, fmt, ap);
	va_end(ap);
}

int
t_check_rv(const char *file, int line, const char *what, CK_RV got, CK_RV want,
	   CK_RV also, const char *ref, int fatal)
{
	return t_check_rv_on(file, line, what, got, want, also, ref, T_SOFTHSM, fatal);
}

int
t_check_rv_on(const char *file, int line, const char *what, CK_RV got,
	      CK_RV want, CK_RV also, const char *ref, enum t_kind on, int fatal)
{
	if (got == want || (also != T_NONE && got == also))
		return 1;
	if (ref != NULL && T.kind == on) {
		known_difference(on, ref, "%s returns %s; the spec wants %s%s%s",
				 what, t_rv_name(got), t_rv_name(want),
				 also != T_NONE ? " or " : "",
				 also != T_NONE ? t_rv_name(also) : "");
		return 0;
	}
	t_fail_note(file, line, "%s returned %s, want %s%s%s", what,
		    t_rv_name(got), t_rv_name(want),
		    also != T_NONE ? " or " : "",
		    also != T_NONE ? t_rv_name(also) : "");
	cur.failures++;
	if (fatal)
		_fail(file, line);
	return 0;
}

static int
check_msg(const char *file, int line, const char *ref, enum t_kind on,
	  int fatal, const char *msg)
{
	if (ref != NULL && T.kind == on) {
		known_difference(on, ref, "%s", msg);
		return 0;
	}
	t_fail_note(file, line, "%s", msg);
	cur.failures++;
	if (fatal)
		_fail(file, line);
	return 0;
}

int
t_check(const char *file, int line, int ok, const char *ref, int fatal,
	const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return check_msg(file, line, ref, T_SOFTHSM, fatal, msg);
}

int
t_check_on(const char *file, int line, int ok, const char *ref, enum t_kind on,
	   int fatal, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok)
		return 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return check_msg(file, line, ref, on, fatal, msg);
}

/* --- Names ------------------------------------------------------------------ */

#define N(x) { x, #x }
static const struct { CK_ULONG v; const char *n; } rv_names[] = {
	N(CKR_OK), N(CKR_CANCEL), N(CKR_HOST_MEMORY), N(CKR_SLOT_ID_INVALID),
	N(CKR_GENERAL_ERROR), N(CKR_FUNCTION_FAILED), N(CKR_ARGUMENTS_BAD),
	N(CKR_NO_EVENT), N(CKR_NEED_TO_CREATE_THREADS), N(CKR_CANT_LOCK),
	N(CKR_ATTRIBUTE_READ_ONLY), N(CKR_ATTRIBUTE_SENSITIVE),
	N(CKR_ATTRIBUTE_TYPE_INVALID), N(CKR_ATTRIBUTE_VALUE_INVALID),
	N(CKR_ACTION_PROHIBITED), N(CKR_DATA_INVALID), N(CKR_DATA_LEN_RANGE),
	N(CKR_DEVICE_ERROR), N(CKR_DEVICE_MEMORY), N(CKR_DEVICE_REMOVED),
	N(CKR_ENCRYPTED_DATA_INVALID), N(CKR_ENCRYPTED_DATA_LEN_RANGE),
	N(CKR_FUNCTION_CANCELED), N(CKR_FUNCTION_NOT_PARALLEL),
	N(CKR_FUNCTION_NOT_SUPPORTED), N(CKR_KEY_HANDLE_INVALID),
	N(CKR_KEY_SIZE_RANGE), N(CKR_KEY_TYPE_INCONSISTENT),
	N(CKR_KEY_NOT_NEEDED), N(CKR_KEY_CHANGED), N(CKR_KEY_NEEDED),
	N(CKR_KEY_INDIGESTIBLE), N(CKR_KEY_FUNCTION_NOT_PERMITTED),
	N(CKR_KEY_NOT_WRAPPABLE), N(CKR_KEY_UNEXTRACTABLE),
	N(CKR_MECHANISM_INVALID), N(CKR_MECHANISM_PARAM_INVALID),
	N(CKR_OBJECT_HANDLE_INVALID), N(CKR_OPERATION_ACTIVE),
	N(CKR_OPERATION_NOT_INITIALIZED), N(CKR_PIN_INCORRECT),
	N(CKR_PIN_INVALID), N(CKR_PIN_LEN_RANGE), N(CKR_PIN_EXPIRED),
	N(CKR_PIN_LOCKED), N(CKR_SESSION_CLOSED), N(CKR_SESSION_COUNT),
	N(CKR_SESSION_HANDLE_INVALID), N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	N(CKR_SESSION_READ_ONLY), N(CKR_SESSION_EXISTS),
	N(CKR_SESSION_READ_ONLY_EXISTS), N(CKR_SESSION_READ_WRITE_SO_EXISTS),
	N(CKR_SIGNATURE_INVALID), N(CKR_SIGNATURE_LEN_RANGE),
	N(CKR_TEMPLATE_INCOMPLETE), N(CKR_TEMPLATE_INCONSISTENT),
	N(CKR_TOKEN_NOT_PRESENT), N(CKR_TOKEN_NOT_RECOGNIZED),
	N(CKR_TOKEN_WRITE_PROTECTED), N(CKR_UNWRAPPING_KEY_HANDLE_INVALID),
	N(CKR_UNWRAPPING_KEY_SIZE_RANGE),
	N(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT), N(CKR_USER_ALREADY_LOGGED_IN),
	N(CKR_USER_NOT_LOGGED_IN), N(CKR_USER_PIN_NOT_INITIALIZED),
	N(CKR_USER_TYPE_INVALID), N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	N(CKR_USER_TOO_MANY_TYPES), N(CKR_WRAPPED_KEY_INVALID),
	N(CKR_WRAPPED_KEY_LEN_RANGE), N(CKR_WRAPPING_KEY_HANDLE_INVALID),
	N(CKR_WRAPPING_KEY_SIZE_RANGE), N(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
	N(CKR_RANDOM_SEED_NOT_SUPPORTED), N(CKR_RANDOM_NO_RNG),
	N(CKR_DOMAIN_PARAMS_INVALID), N(CKR_CURVE_NOT_SUPPORTED),
	N(CKR_BUFFER_TOO_SMALL), N(CKR_SAVED_STATE_INVALID),
	N(CKR_INFORMATION_SENSITIVE), N(CKR_STATE_UNSAVEABLE),
	N(CKR_CRYPTOKI_NOT_INITIALIZED), N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	N(CKR_MUTEX_BAD), N(CKR_MUTEX_NOT_LOCKED),
	N(CKR_FUNCTION_REJECTED),
	{ 0x1B5UL, "CKR_OPERATION_CANCEL_FAILED" },
	{ T_NONE, "(no answer)" },
};

static const struct { CK_ULONG v; const char *n; } mech_names[] = {
	N(CKM_RSA_PKCS_KEY_PAIR_GEN), N(CKM_RSA_PKCS), N(CKM_RSA_X_509),
	N(CKM_RSA_PKCS_OAEP), N(CKM_RSA_PKCS_PSS), N(CKM_SHA1_RSA_PKCS),
	N(CKM_SHA224_RSA_PKCS), N(CKM_SHA256_RSA_PKCS), N(CKM_SHA384_RSA_PKCS),
	N(CKM_SHA512_RSA_PKCS), N(CKM_SHA1_RSA_PKCS_PSS),
	N(CKM_SHA224_RSA_PKCS_PSS), N(CKM_SHA256_RSA_PKCS_PSS),
	N(CKM_SHA384_RSA_PKCS_PSS), N(CKM_SHA512_RSA_PKCS_PSS),
	N(CKM_EC_KEY_PAIR_GEN), N(CKM_ECDSA), N(CKM_ECDSA_SHA1),
	N(CKM_ECDSA_SHA224), N(CKM_ECDSA_SHA256), N(CKM_ECDSA_SHA384),
	N(CKM_ECDSA_SHA512), N(CKM_SHA_1), N(CKM_SHA224), N(CKM_SHA256),
	N(CKM_SHA384), N(CKM_SHA512),
};
#undef N

const char *
t_rv_name(CK_RV rv)
{
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].v == rv)
			return rv_names[i].n;
	snprintf(buf, sizeof(buf), "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

const char *
t_mech_name(CK_MECHANISM_TYPE m)
{
	static __thread char buf[32];
	size_t i;

	for (i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (mech_names[i].v == m)
			return mech_names[i].n;
	snprintf(buf, sizeof(buf), "CKM 0x%lx", (unsigned long)m);
	return buf;
}

/* --- Loading and tokens ------------------------------------------------------ */

static const char *
env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

CK_RV
t_initialize(void)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = T.f->C_Initialize(&args);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
		T.initialized = 1;
	return rv;
}

CK_RV
t_finalize(void)
{
	CK_RV rv = T.f->C_Finalize(NULL);

	if (rv == CKR_OK || rv == CKR_CRYPTOKI_NOT_INITIALIZED)
		T.initialized = 0;
	return rv;
}

int
t_padded_eq(const unsigned char *field, size_t width, const char *text)
{
	size_t n = strlen(text), i;

	if (n > width || memcmp(field, text, n) != 0)
		return 0;
	for (i = n; i < width; i++)
		if (field[i] != ' ')
			return 0;
	return 1;
}

int
t_padded_ok(const unsigned char *field, size_t width)
{
	size_t i;

	for (i = 0; i < width; i++)
		if (field[i] < 0x20 || field[i] == 0x7f)
			return 0;
	return 1;
}

void
t_find_slots(void)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = 64, i;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	int have_main = 0, have_pin = 0;

	T.have_fresh = 0;
	REQUIRE_OK(T.f->C_GetSlotList(CK_FALSE, slots, &n));
	for (i = 0; i < n; i++) {
		if (T.f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!have_main && t_padded_eq(ti.label, 32, T.label)) {
			T.slot = slots[i];
			have_main = 1;
			REQUIRE_OK(T.f->C_GetSlotInfo(slots[i], &si));
			memcpy(T.slot_manufacturer, si.manufacturerID, 32);
		} else if (!have_pin && t_padded_eq(ti.label, 32, T.pin_label)) {
			T.pin_slot = slots[i];
			have_pin = 1;
		}
	}
	REQUIRE(have_main, "no token labelled \"%s\" among %lu slots", T.label,
		(unsigned long)n);
	REQUIRE(have_pin, "no token labelled \"%s\" among %lu slots",
		T.pin_label, (unsigned long)n);
	/* The fresh token: one of the same library's slots (same slot
	 * manufacturer: the proxy shows other modules' slots too) with a
	 * token present but not initialized. */
	for (i = 0; i < n && !T.have_fresh; i++) {
		if (T.f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
		    memcmp(si.manufacturerID, T.slot_manufacturer, 32) != 0 ||
		    !(si.flags & CKF_TOKEN_PRESENT) ||
		    T.f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    (ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		T.fresh_slot = slots[i];
		T.have_fresh = 1;
	}
}

static void
softhsm_keys(void);

int
t_setup(const char *target_name)
{
	CK_C_GetFunctionList gfl;
	CK_RV rv;

	memset(&T, 0, sizeof(T));
	T.name = target_name;
	if (strcmp(target_name, "direct") == 0)
		T.kind = T_DIRECT;
	else if (strcmp(target_name, "proxy") == 0)
		T.kind = T_PROXY;
	else if (strcmp(target_name, "softhsm") == 0)
		T.kind = T_SOFTHSM;
	else {
		fprintf(stderr, "unknown target %s\n", target_name);
		return -1;
	}
	T.vault = T.kind != T_SOFTHSM;
	T.library = env_or("CV_TEST_LIBRARY", NULL);
	T.work = env_or("CV_WORK", NULL);
	T.certvault = env_or("CERTVAULT", NULL);
	T.label = env_or("CV_TOKEN_LABEL", T.vault ? "TestToken" : "ref");
	T.pin_label = env_or("CV_PIN_TOKEN_LABEL", T.vault ? "PinToken" : "refpins");
	T.user_pin = env_or("CV_USER_PIN", T.vault ? "user-pin-1234" : "1234");
	T.so_pin = env_or("CV_SO_PIN", T.vault ? "so-pin-5678" : "12345678");
	T.vault_dir = env_or("CV_VAULT_DIR", NULL);
	T.pin_vault_dir = env_or("CV_PIN_VAULT_DIR", NULL);
	T.fresh_dir = env_or("CV_FRESH_DIR", NULL);
	T.conf = env_or("CERTVAULT_CONF", NULL);
	if (T.library == NULL || T.work == NULL ||
	    (T.vault && (T.certvault == NULL || T.vault_dir == NULL))) {
		fprintf(stderr, "run the suite through setup.sh\n");
		return -1;
	}
	T.dl = dlopen(T.library, RTLD_NOW | RTLD_LOCAL);
	if (T.dl == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", T.library, dlerror());
		return -1;
	}
	*(void **)&gfl = dlsym(T.dl, "C_GetFunctionList");
	*(void **)&T.get_interface_list = dlsym(T.dl, "C_GetInterfaceList");
	*(void **)&T.get_interface = dlsym(T.dl, "C_GetInterface");
	if (gfl == NULL || gfl(&T.f) != CKR_OK || T.f == NULL) {
		fprintf(stderr, "%s: no C_GetFunctionList\n", T.library);
		return -1;
	}
	rv = t_initialize();
	if (rv != CKR_OK) {
		fprintf(stderr, "C_Initialize: %s\n", t_rv_name(rv));
		return -1;
	}
	return 0;
}

/* Tokens are looked up in a group setup (inside cmocka, so a REQUIRE there
 * fails the group, not the process). */
int
t_group_setup(void **state)
{
	(void)state;
	t_begin("group setup");
	t_find_slots();
	if (T.kind == T_SOFTHSM)
		softhsm_keys();
	return 0;
}

void
t_teardown(void)
{
	if (T.f != NULL && T.initialized)
		t_finalize();
	/* p11-kit's proxy and SoftHSM keep threads and atexit handlers that
	 * would run after dlclose; the process is ending anyway. */
}

void
t_reset(void)
{
	if (!T.initialized) {
		t_initialize();
		t_find_slots();
	}
	T.f->C_CloseAllSessions(T.slot);
	T.f->C_CloseAllSessions(T.pin_slot);
	if (T.have_fresh)
		T.f->C_CloseAllSessions(T.fresh_slot);
}

/* --- Sessions and objects ------------------------------------------------------ */

CK_SESSION_HANDLE
t_open(CK_SLOT_ID slot, int rw)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;

	REQUIRE_OK(T.f->C_OpenSession(slot, CKF_SERIAL_SESSION |
				      (rw ? CKF_RW_SESSION : 0), NULL, NULL, &h));
	REQUIRE(h != CK_INVALID_HANDLE, "C_OpenSession gave CK_INVALID_HANDLE");
	return h;
}

void
t_login(CK_SESSION_HANDLE s, CK_USER_TYPE who)
{
	const char *pin = who == CKU_SO ? T.so_pin : T.user_pin;

	REQUIRE_OK(T.f->C_Login(s, who, (CK_UTF8CHAR_PTR)pin, strlen(pin)));
}

CK_STATE
t_state(CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO si;

	REQUIRE_OK(T.f->C_GetSessionInfo(s, &si));
	return si.state;
}

CK_FLAGS
t_token_flags(CK_SLOT_ID slot)
{
	CK_TOKEN_INFO ti;

	REQUIRE_OK(T.f->C_GetTokenInfo(slot, &ti));
	return ti.flags;
}

CK_ULONG
t_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ULONG chunk,
       CK_OBJECT_HANDLE **out)
{
	CK_OBJECT_HANDLE *all = NULL, buf[64];
	CK_ULONG count = 0, got, i, rounds;

	if (chunk == 0 || chunk > 64)
		chunk = 64;
	REQUIRE_OK(T.f->C_FindObjectsInit(s, tmpl, n));
	for (rounds = 0; rounds < 4096; rounds++) {
		got = 0;
		REQUIRE_OK(T.f->C_FindObjects(s, buf, chunk, &got));
		REQUIRE(got <= chunk, "C_FindObjects returned %lu > max %lu",
			(unsigned long)got, (unsigned long)chunk);
		if (got == 0)
			break;
		all = realloc(all, (count + got) * sizeof(*all));
		REQUIRE(all != NULL, "out of memory");
		for (i = 0; i < got; i++)
			all[count++] = buf[i];
	}
	REQUIRE(rounds < 4096, "C_FindObjects never ends");
	REQUIRE_OK(T.f->C_FindObjectsFinal(s));
	if (out != NULL)
		*out = all;
	else
		free(all);
	return count;
}

CK_OBJECT_HANDLE
t_find_label(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
	CK_ATTRIBUTE tmpl[2] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	CK_OBJECT_HANDLE *found = NULL, h = 0;
	CK_ULONG n;

	n = t_find(s, tmpl, cls == CK_UNAVAILABLE_INFORMATION ? 1 : 2, 0, &found);
	REQUIRE(n <= 1, "%lu objects of class %lu labelled %s", (unsigned long)n,
		(unsigned long)cls, label);
	if (n == 1)
		h = found[0];
	free(found);
	return h;
}

CK_OBJECT_HANDLE
t_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *name)
{
	CK_OBJECT_HANDLE h, cert, *found = NULL;
	unsigned char *id = NULL;
	CK_ULONG id_len = 0, n;

	if ((h = t_find_label(s, cls, name)) != 0)
		return h;
	if ((cert = t_find_label(s, CKO_CERTIFICATE, name)) == 0 ||
	    t_attr(s, cert, CKA_ID, &id, &id_len) != CKR_OK)
		return 0;
	{
		CK_ATTRIBUTE tmpl[2] = {
			{ CKA_ID, id, id_len },
			{ CKA_CLASS, &cls, sizeof(cls) },
		};
		n = t_find(s, tmpl, 2, 0, &found);
	}
	h = n == 1 ? found[0] : 0;
	free(found);
	free(id);
	return h;
}

CK_RV
t_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
       unsigned char **val, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	*len = 0;
	if ((rv = T.f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > (1u << 20))
		return CKR_GENERAL_ERROR;
	a.pValue = calloc(1, a.ulValueLen + 1);
	if (a.pValue == NULL)
		return CKR_HOST_MEMORY;
	if ((rv = T.f->C_GetAttributeValue(s, o, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

CK_ULONG
t_attr_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_ULONG v = 0;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	REQUIRE_OK(T.f->C_GetAttributeValue(s, o, &a, 1));
	REQUIRE(a.ulValueLen == sizeof(v), "attribute 0x%lx: length %lu",
		(unsigned long)type, (unsigned long)a.ulValueLen);
	return v;
}

int
t_attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 0xAA;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	if (T.f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(v))
		return -1;
	return v == CK_TRUE ? 1 : v == CK_FALSE ? 0 : -2;
}

EVP_PKEY *
t_pkey_from_components(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	CK_KEY_TYPE kt = t_attr_ulong(s, o, CKA_KEY_TYPE);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG alen, blen;
	BIGNUM *n = NULL, *e = NULL;
	ASN1_OBJECT *oid = NULL;
	ASN1_OCTET_STRING *pt = NULL;
	const unsigned char *p;

	if (bld == NULL)
		goto done;
	if (kt == CKK_RSA) {
		if (t_attr(s, o, CKA_MODULUS, &a, &alen) != CKR_OK ||
		    t_attr(s, o, CKA_PUBLIC_EXPONENT, &b, &blen) != CKR_OK)
			goto done;
		n = BN_bin2bn(a, (int)alen, NULL);
		e = BN_bin2bn(b, (int)blen, NULL);
		if (n == NULL || e == NULL ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
		    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			goto done;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else if (kt == CKK_EC) {
		if (t_attr(s, o, CKA_EC_PARAMS, &a, &alen) != CKR_OK ||
		    t_attr(s, o, CKA_EC_POINT, &b, &blen) != CKR_OK)
			goto done;
		p = a;
		if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)alen)) == NULL)
			goto done;
		p = b;
		if ((pt = d2i_ASN1_OCTET_STRING(NULL, &p, (long)blen)) == NULL)
			goto done;
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
			OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(OBJ_obj2nid(oid)), 0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
			ASN1_STRING_get0_data(pt), (size_t)ASN1_STRING_length(pt)))
			goto done;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	if (ctx == NULL || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
done:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(pt);
	free(a);
	free(b);
	return pkey;
}

EVP_PKEY *
t_public_pkey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	unsigned char *der = NULL;
	CK_ULONG len = 0;
	const unsigned char *p;
	EVP_PKEY *pkey = NULL;

	if (t_attr(s, o, CKA_PUBLIC_KEY_INFO, &der, &len) == CKR_OK && len > 0) {
		p = der;
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
		free(der);
		return pkey;
	}
	free(der);
	return t_pkey_from_components(s, o);
}

void
t_key_id(EVP_PKEY *pkey, unsigned char id[20])
{
	unsigned char buf[1024];
	size_t len = 0;
	BIGNUM *n = NULL;

	memset(id, 0, 20);
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) &&
		    BN_num_bytes(n) <= (int)sizeof(buf))
			len = (size_t)BN_bn2bin(n, buf);
		BN_free(n);
	} else if (!EVP_PKEY_get_octet_string_param(pkey,
			OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len)) {
		len = 0;
	}
	if (len > 0)
		EVP_Digest(buf, len, id, NULL, EVP_sha1(), NULL);
}

/* --- Crypto helpers ---------------------------------------------------------- */

const EVP_MD *
t_md_of(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA_1: case CKM_SHA1_RSA_PKCS: case CKM_SHA1_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA1: case CKG_MGF1_SHA1 | 0x80000000UL:
		return EVP_sha1();
	case CKM_SHA224: case CKM_SHA224_RSA_PKCS: case CKM_SHA224_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA224:
		return EVP_sha224();
	case CKM_SHA256: case CKM_SHA256_RSA_PKCS: case CKM_SHA256_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA256:
		return EVP_sha256();
	case CKM_SHA384: case CKM_SHA384_RSA_PKCS: case CKM_SHA384_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA384:
		return EVP_sha384();
	case CKM_SHA512: case CKM_SHA512_RSA_PKCS: case CKM_SHA512_RSA_PKCS_PSS:
	case CKM_ECDSA_SHA512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

size_t
t_md_len(CK_MECHANISM_TYPE m)
{
	const EVP_MD *md = t_md_of(m);

	return md != NULL ? (size_t)EVP_MD_get_size(md) : 0;
}

static const EVP_MD *
mgf_md(CK_RSA_PKCS_MGF_TYPE mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1: return EVP_sha1();
	case CKG_MGF1_SHA224: return EVP_sha224();
	case CKG_MGF1_SHA256: return EVP_sha256();
	case CKG_MGF1_SHA384: return EVP_sha384();
	case CKG_MGF1_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

size_t
t_digest_info(const EVP_MD *md, const unsigned char *data, size_t len,
	      unsigned char *out, size_t cap)
{
	X509_SIG *sig = NULL;
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *dig;
	unsigned char h[EVP_MAX_MD_SIZE], *p = out;
	unsigned int hlen = 0;
	int n;

	if (!EVP_Digest(data, len, h, &hlen, md, NULL) ||
	    (sig = X509_SIG_new()) == NULL)
		return 0;
	X509_SIG_getm(sig, &alg, &dig);
	if (!X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
	    !ASN1_OCTET_STRING_set(dig, h, (int)hlen) ||
	    (n = i2d_X509_SIG(sig, NULL)) <= 0 || (size_t)n > cap) {
		X509_SIG_free(sig);
		return 0;
	}
	i2d_X509_SIG(sig, &p);
	X509_SIG_free(sig);
	return (size_t)n;
}

/* r||s to a DER ECDSA-Sig-Value. */
static size_t
ecdsa_der(const unsigned char *sig, size_t len, unsigned char *out, size_t cap)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	unsigned char *p = out;
	int n;

	if (es == NULL || len == 0 || len % 2 != 0)
		goto fail;
	r = BN_bin2bn(sig, (int)(len / 2), NULL);
	s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto fail;
	}
	if ((n = i2d_ECDSA_SIG(es, NULL)) <= 0 || (size_t)n > cap)
		goto fail;
	i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	return (size_t)n;
fail:
	ECDSA_SIG_free(es);
	return 0;
}

int
t_openssl_verify(EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
		 const CK_RSA_PKCS_PSS_PARAMS *pss, const unsigned char *data,
		 size_t len, const unsigned char *sig, size_t sig_len)
{
	unsigned char der[256], rec[1024];
	size_t der_len, rec_len = sizeof(rec);
	const EVP_MD *md = t_md_of(mech);
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *mctx = NULL;
	int ok = 0, ecdsa = mech == CKM_ECDSA || (mech >= CKM_ECDSA_SHA1 &&
						     mech <= CKM_ECDSA_SHA512);
	int is_pss = mech == CKM_RSA_PKCS_PSS || mech == CKM_SHA1_RSA_PKCS_PSS ||
		     (mech >= CKM_SHA256_RSA_PKCS_PSS && mech <= CKM_SHA512_RSA_PKCS_PSS) ||
		     mech == CKM_SHA224_RSA_PKCS_PSS;

	if (ecdsa) {
		if ((der_len = ecdsa_der(sig, sig_len, der, sizeof(der))) == 0)
			return 0;
		sig = der;
		sig_len = der_len;
	}
	if (md == NULL) {
		/* The data is what is signed: raw RSA, PSS over a hash, ECDSA
		 * over a hash. */
		if ((pctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL)
			return 0;
		if (mech == CKM_RSA_PKCS) {
			ok = EVP_PKEY_verify_recover_init(pctx) > 0 &&
			     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 &&
			     EVP_PKEY_verify_recover(pctx, rec, &rec_len, sig, sig_len) > 0 &&
			     rec_len == len && memcmp(rec, data, len) == 0;
		} else if (mech == CKM_RSA_PKCS_PSS) {
			ok = pss != NULL && EVP_PKEY_verify_init(pctx) > 0 &&
			     EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
			     EVP_PKEY_CTX_set_signature_md(pctx, t_md_of(pss->hashAlg)) > 0 &&
			     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf_md(pss->mgf)) > 0 &&
			     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)pss->sLen) > 0 &&
			     EVP_PKEY_verify(pctx, sig, sig_len, data, len) == 1;
		} else {
			ok = EVP_PKEY_verify_init(pctx) > 0 &&
			     EVP_PKEY_verify(pctx, sig, sig_len, data, len) == 1;
		}
		EVP_PKEY_CTX_free(pctx);
		return ok;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) <= 0)
		goto done;
	if (is_pss && (pss == NULL ||
		       EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf_md(pss->mgf)) <= 0 ||
		       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)pss->sLen) <= 0))
		goto done;
	ok = EVP_DigestVerify(mctx, sig, sig_len, data, len) == 1;
done:
	EVP_MD_CTX_free(mctx);
	return ok;
}

CK_ULONG
t_sign(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
       const unsigned char *data, CK_ULONG len, unsigned char *sig, CK_ULONG cap)
{
	CK_ULONG sig_len = cap;

	REQUIRE_OK(T.f->C_SignInit(s, m, key));
	REQUIRE_OK(T.f->C_Sign(s, (CK_BYTE_PTR)data, len, sig, &sig_len));
	return sig_len;
}

/* --- Outside programs ---------------------------------------------------------- */

int
t_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

char *
t_capture(const char *fmt, ...)
{
	char cmd[4096], *out = NULL, *tmp;
	size_t len = 0, cap = 0, n;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap * 2 + 4096 + 1;
			if ((tmp = realloc(out, cap)) == NULL)
				break;
			out = tmp;
		}
		if ((n = fread(out + len, 1, 4096, p)) == 0)
			break;
		len += n;
	}
	if (pclose(p) != 0 || out == NULL) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

int
t_json_string(const char *json, const char *key, char *out, size_t cap)
{
	char pat[128];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	if (json == NULL || (p = strstr(json, pat)) == NULL)
		return 0;
	p += strlen(pat);
	while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '"' || (q = strchr(p + 1, '"')) == NULL ||
	    (size_t)(q - p - 1) >= cap)
		return 0;
	memcpy(out, p + 1, (size_t)(q - p - 1));
	out[q - p - 1] = '\0';
	return 1;
}

int
t_ca_issue(const unsigned char *spki, size_t spki_len, const char *cn,
	   unsigned char **der, size_t *der_len)
{
	char path[4096];
	FILE *fp = NULL;
	EVP_PKEY *ca_key = NULL, *pub = NULL;
	X509 *ca = NULL, *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *serial = NULL;
	const unsigned char *p = spki;
	int ok = 0, n;

	*der = NULL;
	*der_len = 0;
	snprintf(path, sizeof(path), "%s/ca.key", T.work);
	if ((fp = fopen(path, "r")) == NULL ||
	    (ca_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL)) == NULL)
		goto done;
	fclose(fp);
	snprintf(path, sizeof(path), "%s/ca.pem", T.work);
	if ((fp = fopen(path, "r")) == NULL ||
	    (ca = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		goto done;
	fclose(fp);
	fp = NULL;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)spki_len)) == NULL ||
	    (x = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
	    (serial = BN_new()) == NULL)
		goto done;
	if (!X509_set_version(x, 2) ||
	    !BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 24 * 3600) == NULL ||
	    !X509_set_pubkey(x, pub) ||
	    X509_sign(x, ca_key, EVP_sha256()) <= 0 ||
	    (n = i2d_X509(x, der)) <= 0)
		goto done;
	*der_len = (size_t)n;
	ok = 1;
done:
	if (fp != NULL)
		fclose(fp);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(pub);
	X509_free(ca);
	X509_free(x);
	X509_NAME_free(name);
	BN_free(serial);
	return ok;
}

/* --- SoftHSM's test keys --------------------------------------------------------- */

/* SoftHSM holds no certificate vault, so the keys the crypto checks use are
 * generated there, with the names and CKA_IDs the vault would give them. */
static void
softhsm_keypair(CK_SESSION_HANDLE s, const char *label, CK_KEY_TYPE kt,
		const char *curve_oid_der, size_t oid_len)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 2048;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM m = { kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN :
			   CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 }, { CKA_ENCRYPT, &yes, 1 },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
	};
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 },
		{ CKA_EC_PARAMS, (void *)curve_oid_der, oid_len },
	};
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SENSITIVE, &yes, 1 }, { CKA_EXTRACTABLE, &no, 1 },
		{ CKA_SIGN, &yes, 1 }, { CKA_DECRYPT, &yes, 1 },
	};
	CK_OBJECT_HANDLE pub_h, priv_h;
	unsigned char id[20];
	CK_ATTRIBUTE ida = { CKA_ID, id, sizeof(id) };
	EVP_PKEY *pk;

	REQUIRE_OK(T.f->C_GenerateKeyPair(s, &m,
		kt == CKK_RSA ? pub_rsa : pub_ec,
		kt == CKK_RSA ? 6 : 4, priv, kt == CKK_RSA ? 7 : 6, &pub_h, &priv_h));
	pk = t_pkey_from_components(s, pub_h);
	REQUIRE(pk != NULL, "the public key of %s", label);
	t_key_id(pk, id);
	EVP_PKEY_free(pk);
	REQUIRE_OK(T.f->C_SetAttributeValue(s, pub_h, &ida, 1));
	REQUIRE_OK(T.f->C_SetAttributeValue(s, priv_h, &ida, 1));
}

static const char oid_p256[] = "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07";
static const char oid_p384[] = "\x06\x05\x2b\x81\x04\x00\x22";

static void
softhsm_keys(void)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);

	t_login(s, CKU_USER);
	if (t_find_label(s, CKO_PRIVATE_KEY, "web-rsa") == 0) {
		softhsm_keypair(s, "web-rsa", CKK_RSA, NULL, 0);
		softhsm_keypair(s, "web-ec", CKK_EC, oid_p256, sizeof(oid_p256) - 1);
		softhsm_keypair(s, "web-ec384", CKK_EC, oid_p384, sizeof(oid_p384) - 1);
	}
	T.f->C_CloseSession(s);
}
