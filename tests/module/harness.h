/* The module test harness: what suite.c's checks stand on.
 *
 * One semantic suite runs against every way a PKCS#11 module is reached:
 * certvault-pkcs11.so loaded directly, the same module behind
 * p11-kit-proxy.so, and SoftHSMv2 as the reference (p11-kit's habit:
 * test-mock.c's checks included by test-proxy.c).  setup.sh prepares the
 * target's world (vaults, a test CA, a SoftHSM token, a p11-kit user
 * config) in a temporary folder, exports where things are, runs the suite
 * and removes the folder.
 *
 * Checks come in two strengths.  REQUIRE* stops the test at once (a
 * prerequisite failed, going on would only cascade).  CHECK* records a
 * failure, prints why as a TAP diagnostic and goes on, so one run shows
 * every deviation of a test; the test fails at its end.  The *_REF forms
 * name a known difference of SoftHSMv2 from the spec: on the SoftHSM target
 * a mismatch there prints "# softhsm differs: ..." and is not a failure;
 * on every other target it is one.  The *_PROXY_REF forms do the same for
 * p11-kit-proxy's own answers on the proxy target ("# p11-kit-proxy
 * differs: ...").  conformance/softhsm-differences.md lists both.
 */
#ifndef CV_TEST_HARNESS_H
#define CV_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

/* --- PKCS#11 3.0 declarations p11-kit 0.24's header lacks ---------------- */

typedef struct t_interface {
	CK_UTF8CHAR *pInterfaceName;   /* the spec's CK_CHAR_PTR */
	void *pFunctionList;
	CK_FLAGS flags;
} t_interface;

#define T_CKF_INTERFACE_FORK_SAFE 0x00000001UL

typedef CK_RV (*t_get_interface_list_fn)(t_interface *list, CK_ULONG *count);
typedef CK_RV (*t_get_interface_fn)(CK_UTF8CHAR *name, CK_VERSION *version,
				    t_interface **iface, CK_FLAGS flags);
typedef CK_RV (*t_session_cancel_fn)(CK_SESSION_HANDLE session, CK_FLAGS flags);
typedef void (*t_any_fn)(void);

/* CK_FUNCTION_LIST_3_0: the 2.40 list, then the 24 functions of 3.0. */
typedef struct t_function_list_3_0 {
	CK_FUNCTION_LIST v2;           /* (p11-kit's header #undefs its
					  struct tag at its end) */
	t_get_interface_list_fn C_GetInterfaceList;
	t_get_interface_fn C_GetInterface;
	t_any_fn C_LoginUser;
	t_session_cancel_fn C_SessionCancel;
	t_any_fn message[20];          /* C_MessageEncryptInit ... C_MessageVerifyFinal */
} t_function_list_3_0;

#define T_FUNCTIONS_2_40 68            /* entries of CK_FUNCTION_LIST */
#define T_FUNCTIONS_3_0 92             /* entries of CK_FUNCTION_LIST_3_0 */

/* --- The target ------------------------------------------------------------ */

enum t_kind { T_DIRECT, T_PROXY, T_SOFTHSM };

typedef struct t_target {
	enum t_kind kind;
	const char *name;              /* direct, proxy, softhsm */
	int vault;                     /* our module is behind it */
	const char *library;           /* what is dlopen()ed */
	const char *work;              /* setup.sh's folder */
	const char *certvault;         /* the certvault tool (vault targets) */
	void *dl;
	CK_FUNCTION_LIST_PTR f;        /* from C_GetFunctionList */
	t_get_interface_list_fn get_interface_list;   /* NULL: a 2.40 library */
	t_get_interface_fn get_interface;
	int initialized;               /* as far as the suite knows */

	/* Tokens, found by label among the slots the library shows. */
	const char *label;             /* the token with the test keys */
	const char *pin_label;         /* the token whose PINs tests change */
	const char *user_pin, *so_pin;
	CK_SLOT_ID slot, pin_slot;
	CK_SLOT_ID fresh_slot;         /* a present, uninitialized token */
	int have_fresh;
	unsigned char slot_manufacturer[32];  /* our module's slots share it */

	/* Vault folders (vault targets). */
	const char *vault_dir, *pin_vault_dir, *fresh_dir, *conf;
} t_target;

extern t_target T;

/* Load the library, resolve the entry points, C_Initialize, find the
 * tokens, and on SoftHSM generate the test keys.  Fails the run on error. */
int t_setup(const char *target_name);
void t_teardown(void);
/* cmocka group setup: find the tokens (a REQUIRE there fails the group, not
 * the process) and, on SoftHSM, make the test keys. */
int t_group_setup(void **state);

/* C_Initialize(NULL) unless initialized; C_CloseAllSessions on the test
 * slots.  Every test starts and ends this way. */
void t_reset(void);
/* C_Initialize with the OS-locking flag the suite normally uses. */
CK_RV t_initialize(void);
CK_RV t_finalize(void);
/* Find the test slots again (slot ids change through C_Finalize in the
 * proxy). */
void t_find_slots(void);

/* --- Checks ---------------------------------------------------------------- */

void t_begin(const char *name);
void t_end(void);
void t_fail_note(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int t_check_rv(const char *file, int line, const char *what, CK_RV got,
	       CK_RV want, CK_RV also, const char *ref, int fatal);
int t_check(const char *file, int line, int ok, const char *ref, int fatal,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The same, with the target whose known difference ref names. */
int t_check_rv_on(const char *file, int line, const char *what, CK_RV got,
		  CK_RV want, CK_RV also, const char *ref, enum t_kind on,
		  int fatal);
int t_check_on(const char *file, int line, int ok, const char *ref,
	       enum t_kind on, int fatal, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Print "# softhsm differs: ..." once per test and difference. */
void t_softhsm_differs(const char *ref, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "# p11-kit-proxy differs: ..." once per test and difference. */
void t_proxy_differs(const char *ref, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void t_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define T_NONE ((CK_RV)-1)

#define CHECK_RV(expr, want) \
	t_check_rv(__FILE__, __LINE__, #expr, (expr), (want), T_NONE, NULL, 0)
#define CHECK_RV2(expr, want, also) \
	t_check_rv(__FILE__, __LINE__, #expr, (expr), (want), (also), NULL, 0)
#define CHECK_RV_REF(expr, want, ref) \
	t_check_rv(__FILE__, __LINE__, #expr, (expr), (want), T_NONE, (ref), 0)
#define CHECK_RV_PROXY_REF(expr, want, ref) \
	t_check_rv_on(__FILE__, __LINE__, #expr, (expr), (want), T_NONE, (ref), \
		      T_PROXY, 0)
#define REQUIRE_RV(expr, want) \
	t_check_rv(__FILE__, __LINE__, #expr, (expr), (want), T_NONE, NULL, 1)
#define REQUIRE_OK(expr) REQUIRE_RV(expr, CKR_OK)

#define CHECK(cond, ...) \
	t_check(__FILE__, __LINE__, !!(cond), NULL, 0, __VA_ARGS__)
#define CHECK_REF(cond, ref, ...) \
	t_check(__FILE__, __LINE__, !!(cond), (ref), 0, __VA_ARGS__)
#define CHECK_PROXY_REF(cond, ref, ...) \
	t_check_on(__FILE__, __LINE__, !!(cond), (ref), T_PROXY, 0, __VA_ARGS__)
#define REQUIRE(cond, ...) \
	t_check(__FILE__, __LINE__, !!(cond), NULL, 1, __VA_ARGS__)

/* A test body: t_begin/t_end around it, so CHECK failures are counted. */
#define TEST(name) \
	static void name##_body(void); \
	static void name(void **state) \
	{ \
		(void)state; \
		t_begin(#name); \
		name##_body(); \
		t_end(); \
	} \
	static void name##_body(void)

/* Skip the rest of a test, with the reason as a diagnostic (setup.sh puts
 * it on the TAP line). */
#define T_SKIP(...) do { \
		t_diag("skip: " __VA_ARGS__); \
		skip(); \
	} while (0)
#define VAULT_ONLY() do { \
		if (!T.vault) \
			T_SKIP("vault-specific: needs certvault content"); \
	} while (0)

/* --- Names ------------------------------------------------------------------ */

const char *t_rv_name(CK_RV rv);
const char *t_mech_name(CK_MECHANISM_TYPE m);

/* --- Sessions and objects ------------------------------------------------------ */

CK_SESSION_HANDLE t_open(CK_SLOT_ID slot, int rw);
void t_login(CK_SESSION_HANDLE s, CK_USER_TYPE who);
CK_STATE t_state(CK_SESSION_HANDLE s);
CK_FLAGS t_token_flags(CK_SLOT_ID slot);

/* Every match of a template, by C_FindObjects calls of `chunk` handles
 * (bounded).  Returns the count; *out (may be NULL) gets a malloc()ed
 * array the caller frees. */
CK_ULONG t_find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
		CK_ULONG chunk, CK_OBJECT_HANDLE **out);
/* The one object of a class (CK_UNAVAILABLE_INFORMATION: any) with a
 * label; 0 when none.  More than one is a failure. */
CK_OBJECT_HANDLE t_find_label(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
			      const char *label);
/* A key of the test keys by certificate name: by label, else through the
 * certificate's CKA_ID. */
CK_OBJECT_HANDLE t_key(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
		       const char *name);

/* One attribute, malloc()ed; returns the C_GetAttributeValue code. */
CK_RV t_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	     unsigned char **val, CK_ULONG *len);
CK_ULONG t_attr_ulong(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		      CK_ATTRIBUTE_TYPE type);     /* REQUIREs success */
int t_attr_bool(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
		CK_ATTRIBUTE_TYPE type);           /* -1 when not readable */

/* The public key of a key or certificate object for OpenSSL: from
 * CKA_PUBLIC_KEY_INFO, else (2.40 libraries) from the key's components. */
EVP_PKEY *t_public_pkey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o);
/* From CKA_MODULUS/CKA_PUBLIC_EXPONENT or CKA_EC_PARAMS/CKA_EC_POINT. */
EVP_PKEY *t_pkey_from_components(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o);
/* SHA-1 of the RSA modulus or the uncompressed EC point of pkey. */
void t_key_id(EVP_PKEY *pkey, unsigned char id[20]);

/* --- Crypto helpers ---------------------------------------------------------- */

/* Verify a PKCS#11 signature of data with OpenSSL: mech says how (raw
 * RSA, PSS with params, hash-then-sign, ECDSA r||s).  1 when valid. */
int t_openssl_verify(EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
		     const CK_RSA_PKCS_PSS_PARAMS *pss,
		     const unsigned char *data, size_t len,
		     const unsigned char *sig, size_t sig_len);
const EVP_MD *t_md_of(CK_MECHANISM_TYPE hash_mech);
size_t t_md_len(CK_MECHANISM_TYPE hash_mech);
/* The DigestInfo (RFC 8017 9.2) of data for a raw CKM_RSA_PKCS signature. */
size_t t_digest_info(const EVP_MD *md, const unsigned char *data, size_t len,
		     unsigned char *out, size_t cap);

/* Sign with one call; REQUIREs success; returns the signature length. */
CK_ULONG t_sign(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
		const unsigned char *data, CK_ULONG len,
		unsigned char *sig, CK_ULONG cap);

/* --- Outside programs ---------------------------------------------------------- */

/* Run a shell command (printf format); returns its exit status, or -1. */
int t_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run and capture stdout (malloc()ed, NUL-terminated); NULL on failure. */
char *t_capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The string value of "key" in a JSON text (first occurrence), into out. */
int t_json_string(const char *json, const char *key, char *out, size_t cap);

/* A certificate for spki (DER SubjectPublicKeyInfo) with subject CN=cn,
 * signed by setup.sh's test CA.  *der is OPENSSL_malloc()ed. */
int t_ca_issue(const unsigned char *spki, size_t spki_len, const char *cn,
	       unsigned char **der, size_t *der_len);

/* Blank-padded field equal to text. */
int t_padded_eq(const unsigned char *field, size_t width, const char *text);
/* A blank-padded field: printable characters only, no NUL. */
int t_padded_ok(const unsigned char *field, size_t width);

#endif
