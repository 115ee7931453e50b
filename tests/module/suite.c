/* The module suite: one body of PKCS#11 checks, run against every way the
 * module is reached (certvault-pkcs11.so directly, behind p11-kit-proxy)
 * and against SoftHSMv2 as the reference (harness.h says how).
 *
 *   suite direct|proxy|softhsm      (setup.sh makes the world first)
 *
 * Tests run in one cmocka group, in the order of main()'s table: the ones
 * that change tokens (key generation, PINs, C_InitToken) come last, each
 * on objects or a token of its own, so that earlier tests see the world
 * setup.sh made.  Each test starts and ends with t_reset().
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define CKF_FIND_OBJECTS_3_0 0x00000040UL   /* C_SessionCancel's flag (3.0) */

static const char *const CERT_NAMES[] = { "web-rsa", "web-ec", "web-ec384" };
static const unsigned char OID_P256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char MSG[] =
	"certvault module suite: the quick brown fox signs over the lazy dog, "
	"in more than one part, so that C_SignUpdate is fed three pieces.";

/* The test token's mechanisms (group setup), and the ECDSA mechanism the
 * suite signs with where any would do: CKM_ECDSA_SHA256 over MSG, else
 * (SoftHSM builds without it) CKM_ECDSA over MSG's SHA-256. */
static CK_MECHANISM_TYPE MECHS[256];
static CK_ULONG N_MECHS;
static CK_MECHANISM_TYPE EC_MECH = CKM_ECDSA_SHA256;
static unsigned char MSG_SHA256[32];

/* --- Small helpers --------------------------------------------------------- */

/* The environment the configuration test changes, as setup.sh left it. */
static char *ENV_CONF, *ENV_XDG;

static void
env_restore(void)
{
	if (ENV_CONF != NULL)
		setenv("CERTVAULT_CONF", ENV_CONF, 1);
	else
		unsetenv("CERTVAULT_CONF");
	if (ENV_XDG != NULL)
		setenv("XDG_CONFIG_HOME", ENV_XDG, 1);
	else
		unsetenv("XDG_CONFIG_HOME");
	unsetenv("CERTVAULT_VAULT");
}

static int
each(void **state)
{
	(void)state;
	env_restore();
	t_reset();
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
has(const CK_OBJECT_HANDLE *list, CK_ULONG n, CK_OBJECT_HANDLE h)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (list[i] == h)
			return 1;
	return 0;
}

static int
has_mech(const CK_MECHANISM_TYPE *list, CK_ULONG n, CK_MECHANISM_TYPE m)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (list[i] == m)
			return 1;
	return 0;
}

/* What EC_MECH signs for MSG. */
static const unsigned char *
ec_input(CK_ULONG *len)
{
	if (EC_MECH == CKM_ECDSA) {
		*len = sizeof(MSG_SHA256);
		return MSG_SHA256;
	}
	*len = sizeof(MSG);
	return MSG;
}

static int
group_setup(void **state)
{
	int rc = t_group_setup(state);

	N_MECHS = COUNT(MECHS);
	if (T.f->C_GetMechanismList(T.slot, MECHS, &N_MECHS) != CKR_OK)
		N_MECHS = 0;
	if (!has_mech(MECHS, N_MECHS, CKM_ECDSA_SHA256))
		EC_MECH = CKM_ECDSA;
	EVP_Digest(MSG, sizeof(MSG), MSG_SHA256, NULL, EVP_sha256(), NULL);
	return rc;
}

/* C_Login that takes an existing login of the same user as done. */
static void
login_user(CK_SESSION_HANDLE s)
{
	CK_RV rv = T.f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)T.user_pin,
				strlen(T.user_pin));

	REQUIRE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN,
		"C_Login(CKU_USER) returned %s", t_rv_name(rv));
}

static CK_ULONG
find_count(CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	return t_find(s, tmpl, n, 0, NULL);
}

/* The classes of the objects labelled `label`, as a bit set. */
#define CLS_BIT(c) (1u << (c))
static unsigned
classes_of_label(CK_SESSION_HANDLE s, const char *label, CK_ULONG *count)
{
	CK_ATTRIBUTE t = { CKA_LABEL, (void *)label, strlen(label) };
	CK_OBJECT_HANDLE *found = NULL;
	CK_ULONG n, i;
	unsigned bits = 0;

	n = t_find(s, &t, 1, 0, &found);
	for (i = 0; i < n; i++) {
		CK_ULONG c = t_attr_ulong(s, found[i], CKA_CLASS);

		if (c < 16)
			bits |= CLS_BIT(c);
	}
	free(found);
	if (count != NULL)
		*count = n;
	return bits;
}

/* CKA_ID as it should be: the SHA-1 of the RSA modulus (no leading zero
 * bytes) or of the EC point inside CKA_EC_POINT's DER OCTET STRING. */
static int
id_from_components(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, unsigned char id[20])
{
	CK_KEY_TYPE kt = t_attr_ulong(s, pub, CKA_KEY_TYPE);
	unsigned char *v = NULL;
	const unsigned char *p;
	CK_ULONG len = 0, off = 0;
	ASN1_OCTET_STRING *os = NULL;
	int ok = 0;

	if (kt == CKK_RSA) {
		if (t_attr(s, pub, CKA_MODULUS, &v, &len) != CKR_OK || len == 0)
			goto done;
		while (off < len - 1 && v[off] == 0)
			off++;
		ok = EVP_Digest(v + off, len - off, id, NULL, EVP_sha1(), NULL);
	} else if (kt == CKK_EC) {
		if (t_attr(s, pub, CKA_EC_POINT, &v, &len) != CKR_OK)
			goto done;
		p = v;
		os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
		CHECK(os != NULL && p == v + len,
		      "CKA_EC_POINT is not a DER OCTET STRING (%lu bytes)",
		      (unsigned long)len);
		if (os == NULL)
			goto done;
		ok = EVP_Digest(ASN1_STRING_get0_data(os),
				(size_t)ASN1_STRING_length(os), id, NULL,
				EVP_sha1(), NULL);
	}
done:
	ASN1_OCTET_STRING_free(os);
	free(v);
	return ok;
}

static int
attr_eq(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
	const void *want, size_t want_len)
{
	unsigned char *v = NULL;
	CK_ULONG len = 0;
	int eq;

	if (t_attr(s, o, type, &v, &len) != CKR_OK)
		return 0;
	eq = len == want_len && (want_len == 0 || memcmp(v, want, want_len) == 0);
	free(v);
	return eq;
}

static void
pad32(unsigned char out[32], const char *text)
{
	size_t n = strlen(text);

	memset(out, ' ', 32);
	memcpy(out, text, n < 32 ? n : 32);
}

/* Every slot of our library (same slot manufacturer as the test token's),
 * in the order C_GetSlotList gives them. */
static CK_ULONG
own_slots(CK_SLOT_ID *out, CK_ULONG cap)
{
	CK_SLOT_ID all[64];
	CK_ULONG n = 64, i, k = 0;
	CK_SLOT_INFO si;
	CK_RV rv;

	if ((rv = T.f->C_GetSlotList(CK_FALSE, all, &n)) != CKR_OK) {
		t_diag("C_GetSlotList: %s", t_rv_name(rv));
		return 0;
	}
	for (i = 0; i < n && k < cap; i++)
		if (T.f->C_GetSlotInfo(all[i], &si) == CKR_OK &&
		    memcmp(si.manufacturerID, T.slot_manufacturer, 32) == 0)
			out[k++] = all[i];
	return k;
}

/* A slot id no library here hands out. */
static CK_SLOT_ID
bad_slot(void)
{
	CK_SLOT_ID all[64], cand = 0x7fff1234UL;
	CK_ULONG n = 64, i;

	REQUIRE_OK(T.f->C_GetSlotList(CK_FALSE, all, &n));
	for (i = 0; i < n; i++)
		if (all[i] == cand) {
			cand++;
			i = (CK_ULONG)-1;
		}
	return cand;
}

/* The certificate object of a vault certificate (category 1, or the one
 * whose CKA_ID is the key's): chain certificates may share the label. */
static CK_OBJECT_HANDLE
leaf_cert(CK_SESSION_HANDLE s, const char *name)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ATTRIBUTE t[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)name, strlen(name) },
	};
	CK_OBJECT_HANDLE *found = NULL, h = 0;
	CK_ULONG n, i, cat, leaves = 0;
	CK_ATTRIBUTE a = { CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat) };

	n = t_find(s, t, 2, 0, &found);
	for (i = 0; i < n; i++) {
		cat = 0;
		if (T.f->C_GetAttributeValue(s, found[i], &a, 1) == CKR_OK && cat == 2)
			continue;
		h = found[i];
		leaves++;
	}
	free(found);
	CHECK(leaves <= 1, "%lu leaf certificates labelled %s", (unsigned long)leaves, name);
	return h;
}

static CK_RSA_PKCS_MGF_TYPE
mgf_of(CK_MECHANISM_TYPE hash)
{
	switch (hash) {
	case CKM_SHA_1: return CKG_MGF1_SHA1;
	case CKM_SHA224: return CKG_MGF1_SHA224;
	case CKM_SHA256: return CKG_MGF1_SHA256;
	case CKM_SHA384: return CKG_MGF1_SHA384;
	default: return CKG_MGF1_SHA512;
	}
}

/* The hash a hash-then-sign mechanism uses (CKM_SHA256 for raw ones: the
 * suite hashes the input itself with it). */
static CK_MECHANISM_TYPE
hash_of(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_SHA1_RSA_PKCS: case CKM_SHA1_RSA_PKCS_PSS: case CKM_ECDSA_SHA1:
		return CKM_SHA_1;
	case CKM_SHA224_RSA_PKCS: case CKM_SHA224_RSA_PKCS_PSS: case CKM_ECDSA_SHA224:
		return CKM_SHA224;
	case CKM_SHA384_RSA_PKCS: case CKM_SHA384_RSA_PKCS_PSS: case CKM_ECDSA_SHA384:
		return CKM_SHA384;
	case CKM_SHA512_RSA_PKCS: case CKM_SHA512_RSA_PKCS_PSS: case CKM_ECDSA_SHA512:
		return CKM_SHA512;
	default:
		return CKM_SHA256;
	}
}

static int
is_raw(CK_MECHANISM_TYPE m)
{
	return m == CKM_RSA_PKCS || m == CKM_RSA_PKCS_PSS || m == CKM_ECDSA;
}

static int
is_pss(CK_MECHANISM_TYPE m)
{
	return m == CKM_RSA_PKCS_PSS || m == CKM_SHA1_RSA_PKCS_PSS ||
	       m == CKM_SHA224_RSA_PKCS_PSS || m == CKM_SHA256_RSA_PKCS_PSS ||
	       m == CKM_SHA384_RSA_PKCS_PSS || m == CKM_SHA512_RSA_PKCS_PSS;
}

/* The mechanism and the input the token signs for MSG. */
static void
sign_input(CK_MECHANISM_TYPE mech, CK_RSA_PKCS_PSS_PARAMS *pss, CK_MECHANISM *m,
	   unsigned char *in, CK_ULONG *in_len)
{
	CK_MECHANISM_TYPE h = hash_of(mech);
	unsigned int n = 0;

	m->mechanism = mech;
	m->pParameter = NULL;
	m->ulParameterLen = 0;
	if (is_pss(mech)) {
		pss->hashAlg = h;
		pss->mgf = mgf_of(h);
		pss->sLen = t_md_len(h);
		m->pParameter = pss;
		m->ulParameterLen = sizeof(*pss);
	}
	if (mech == CKM_RSA_PKCS) {
		*in_len = t_digest_info(t_md_of(h), MSG, sizeof(MSG), in, 128);
	} else if (is_raw(mech)) {
		EVP_Digest(MSG, sizeof(MSG), in, &n, t_md_of(h), NULL);
		*in_len = n;
	} else {
		memcpy(in, MSG, sizeof(MSG));
		*in_len = sizeof(MSG);
	}
}

/* Sign MSG single-part and (for hashing mechanisms) multi-part with priv;
 * verify each with OpenSSL and with C_Verify on pub; a changed signature
 * must fail C_Verify.  sig_want: the exact signature length. */
static void
sign_verify(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub,
	    EVP_PKEY *pkey, CK_MECHANISM_TYPE mech, CK_ULONG sig_want)
{
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM m;
	unsigned char in[sizeof(MSG) + 64], sig[1024];
	CK_ULONG in_len = 0, sig_len = sizeof(sig), l;
	const char *mn = t_mech_name(mech);
	CK_RV rv;

	sign_input(mech, &pss, &m, in, &in_len);
	if ((rv = T.f->C_SignInit(s, &m, priv)) != CKR_OK) {
		CHECK(0, "%s: C_SignInit returned %s", mn, t_rv_name(rv));
		return;
	}
	rv = T.f->C_Sign(s, in, in_len, sig, &sig_len);
	if (!CHECK(rv == CKR_OK, "%s: C_Sign returned %s", mn, t_rv_name(rv)))
		return;
	CHECK(sig_len == sig_want, "%s: signature of %lu bytes, want %lu", mn,
	      (unsigned long)sig_len, (unsigned long)sig_want);
	CHECK(t_openssl_verify(pkey, mech, m.pParameter, in, in_len, sig, sig_len),
	      "%s: OpenSSL does not verify the signature", mn);
	if (pub != 0) {
		rv = T.f->C_VerifyInit(s, &m, pub);
		CHECK(rv == CKR_OK, "%s: C_VerifyInit returned %s", mn, t_rv_name(rv));
		if (rv == CKR_OK) {
			rv = T.f->C_Verify(s, in, in_len, sig, sig_len);
			CHECK(rv == CKR_OK, "%s: C_Verify returned %s", mn, t_rv_name(rv));
		}
		sig[sig_len / 2] ^= 0x01;
		if (T.f->C_VerifyInit(s, &m, pub) == CKR_OK) {
			rv = T.f->C_Verify(s, in, in_len, sig, sig_len);
			CHECK(rv == CKR_SIGNATURE_INVALID,
			      "%s: C_Verify of a changed signature returned %s", mn,
			      t_rv_name(rv));
			/* That ended the operation. */
			rv = T.f->C_Verify(s, in, in_len, sig, sig_len);
			CHECK(rv == CKR_OPERATION_NOT_INITIALIZED,
			      "%s: C_Verify after CKR_SIGNATURE_INVALID returned %s", mn,
			      t_rv_name(rv));
		}
		sig[sig_len / 2] ^= 0x01;
	}
	if (is_raw(mech))
		return;

	/* Multi-part, with C_SignFinal's length query. */
	if ((rv = T.f->C_SignInit(s, &m, priv)) != CKR_OK) {
		CHECK(0, "%s: C_SignInit returned %s", mn, t_rv_name(rv));
		return;
	}
	rv = T.f->C_SignUpdate(s, in, 10);
	if (rv == CKR_OK)
		rv = T.f->C_SignUpdate(s, in + 10, 0);
	if (rv == CKR_OK)
		rv = T.f->C_SignUpdate(s, in + 10, in_len - 10);
	if (!CHECK(rv == CKR_OK, "%s: C_SignUpdate returned %s", mn, t_rv_name(rv)))
		return;
	l = 0;
	rv = T.f->C_SignFinal(s, NULL, &l);
	CHECK(rv == CKR_OK && l >= sig_want,
	      "%s: C_SignFinal(NULL) returned %s, length %lu", mn, t_rv_name(rv),
	      (unsigned long)l);
	sig_len = sizeof(sig);
	rv = T.f->C_SignFinal(s, sig, &sig_len);
	if (!CHECK(rv == CKR_OK, "%s: C_SignFinal returned %s", mn, t_rv_name(rv)))
		return;
	CHECK(t_openssl_verify(pkey, mech, m.pParameter, in, in_len, sig, sig_len),
	      "%s: OpenSSL does not verify the multi-part signature", mn);
	if (pub != 0 && T.f->C_VerifyInit(s, &m, pub) == CKR_OK) {
		rv = T.f->C_VerifyUpdate(s, in, 7);
		if (rv == CKR_OK)
			rv = T.f->C_VerifyUpdate(s, in + 7, in_len - 7);
		if (rv == CKR_OK)
			rv = T.f->C_VerifyFinal(s, sig, sig_len);
		CHECK(rv == CKR_OK, "%s: multi-part C_Verify* returned %s", mn,
		      t_rv_name(rv));
	}
	if (pub != 0 && T.f->C_VerifyInit(s, &m, pub) == CKR_OK) {
		sig[0] ^= 0x80;
		rv = T.f->C_VerifyUpdate(s, in, in_len);
		if (rv == CKR_OK)
			rv = T.f->C_VerifyFinal(s, sig, sig_len);
		CHECK(rv == CKR_SIGNATURE_INVALID, "%s: C_VerifyFinal of a changed signature "
		      "returned %s", mn, t_rv_name(rv));
	}
}

/* A logged-in session with the test keys of one certificate name. */
typedef struct keyset {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE priv, pub, cert;
	EVP_PKEY *pkey;
	CK_ULONG sig_len;              /* RSA: modulus bytes; EC: 2 * field */
} keyset;

static void
keyset_open(keyset *k, const char *name, int rw)
{
	memset(k, 0, sizeof(*k));
	k->s = t_open(T.slot, rw);
	login_user(k->s);
	k->priv = t_key(k->s, CKO_PRIVATE_KEY, name);
	k->pub = t_key(k->s, CKO_PUBLIC_KEY, name);
	REQUIRE(k->priv != 0, "no private key of %s", name);
	REQUIRE(k->pub != 0, "no public key of %s", name);
	if (T.vault)
		k->cert = leaf_cert(k->s, name);
	k->pkey = t_public_pkey(k->s, k->pub);
	REQUIRE(k->pkey != NULL, "the public key of %s for OpenSSL", name);
	if (EVP_PKEY_is_a(k->pkey, "RSA"))
		k->sig_len = (CK_ULONG)EVP_PKEY_get_size(k->pkey);
	else
		k->sig_len = 2 * (CK_ULONG)((EVP_PKEY_get_bits(k->pkey) + 7) / 8);
}

static void
keyset_close(keyset *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
	T.f->C_CloseSession(k->s);
}

/* The certvault tool, with the user PIN in its environment. */
static int
tool(const char *args)
{
	return t_run("CERTVAULT_PIN='%s' '%s' --vault '%s' %s >>'%s/tool.log' 2>&1",
		     T.user_pin, T.certvault, T.vault_dir, args, T.work);
}

static int
tool_status(const char *name, char *status, size_t cap)
{
	char *out = t_capture("'%s' --vault '%s' --json certificate pending show "
			      "--name '%s' 2>/dev/null", T.certvault, T.vault_dir, name);
	int ok = t_json_string(out, "status", status, cap);

	free(out);
	return ok;
}

/* --- Library, interfaces, initialization ----------------------------------- */

TEST(function_list)
{
	CK_FUNCTION_LIST_PTR f = NULL;
	t_any_fn fns[T_FUNCTIONS_2_40];
	size_t i, missing = 0;

	CHECK_RV(T.f->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
	REQUIRE_OK(T.f->C_GetFunctionList(&f));
	CHECK(f == T.f, "C_GetFunctionList gives another list the second time");
	CHECK(f->version.major == 2 && f->version.minor == 40,
	      "the 2.x function list says version %u.%u", f->version.major,
	      f->version.minor);
	/* 68 pointers from C_Initialize to C_WaitForSlotEvent, every one set
	 * (an unsupported function answers CKR_FUNCTION_NOT_SUPPORTED). */
	REQUIRE((offsetof(CK_FUNCTION_LIST, C_WaitForSlotEvent) -
		 offsetof(CK_FUNCTION_LIST, C_Initialize)) / sizeof(void *) ==
		T_FUNCTIONS_2_40 - 1, "CK_FUNCTION_LIST layout");
	memcpy(fns, &f->C_Initialize, sizeof(fns));
	for (i = 0; i < T_FUNCTIONS_2_40; i++)
		if (fns[i] == NULL) {
			t_diag("function list entry %zu is NULL", i);
			missing++;
		}
	CHECK(missing == 0, "%zu NULL entries in the function list", missing);
}

TEST(interfaces)
{
	t_interface list[8], *iface = NULL, *dflt = NULL;
	CK_ULONG n = 0, i, n3 = 0, n2 = 0;
	CK_VERSION v240 = { 2, 40 }, v30 = { 3, 0 }, v99 = { 9, 9 };
	const CK_VERSION *lv;
	t_function_list_3_0 *l3;
	t_any_fn fns[T_FUNCTIONS_3_0];
	int fork_safe = 0;
	size_t k, missing = 0;

	if (T.get_interface_list == NULL || T.get_interface == NULL) {
		REQUIRE(T.kind != T_DIRECT,
			"certvault-pkcs11.so exports no C_GetInterfaceList/C_GetInterface");
		T_SKIP("a PKCS#11 2.40 library: no C_GetInterfaceList");
	}
	CHECK_RV(T.get_interface_list(NULL, NULL), CKR_ARGUMENTS_BAD);
	REQUIRE_OK(T.get_interface_list(NULL, &n));
	REQUIRE(n >= 2 && n <= 8, "C_GetInterfaceList counts %lu interfaces",
		(unsigned long)n);
	i = n - 1;
	CHECK_RV(T.get_interface_list(list, &i), CKR_BUFFER_TOO_SMALL);
	CHECK(i == n, "C_GetInterfaceList with a short list sets the count to %lu, want %lu",
	      (unsigned long)i, (unsigned long)n);
	i = 0;
	CHECK_RV(T.get_interface_list(list, &i), CKR_BUFFER_TOO_SMALL);
	i = 8;
	REQUIRE_OK(T.get_interface_list(list, &i));
	CHECK(i == n, "C_GetInterfaceList returned %lu, counted %lu",
	      (unsigned long)i, (unsigned long)n);
	for (i = 0; i < n; i++) {
		CHECK(list[i].pInterfaceName != NULL &&
		      strcmp((char *)list[i].pInterfaceName, "PKCS 11") == 0,
		      "interface %lu is named %s", (unsigned long)i,
		      list[i].pInterfaceName ? (char *)list[i].pInterfaceName : "NULL");
		REQUIRE(list[i].pFunctionList != NULL, "interface %lu: no function list",
			(unsigned long)i);
		lv = list[i].pFunctionList;
		if (lv->major == 3 && lv->minor == 0)
			n3++;
		else if (lv->major == 2 && lv->minor == 40)
			n2++;
		if (list[i].flags & T_CKF_INTERFACE_FORK_SAFE)
			fork_safe = 1;
	}
	CHECK(n3 == 1 && n2 == 1, "%lu interfaces of version 3.0 and %lu of 2.40, want one each",
	      (unsigned long)n3, (unsigned long)n2);

	/* The default interface: NULL name and version. */
	REQUIRE_OK(T.get_interface(NULL, NULL, &dflt, 0));
	REQUIRE(dflt != NULL, "C_GetInterface(NULL, NULL) gave no interface");
	REQUIRE_OK(T.get_interface((CK_UTF8CHAR *)"PKCS 11", NULL, &iface, 0));
	REQUIRE(iface != NULL, "C_GetInterface(\"PKCS 11\", NULL) gave no interface");
	lv = iface->pFunctionList;
	CHECK(lv->major == 3 && lv->minor == 0,
	      "C_GetInterface(\"PKCS 11\", NULL) gives version %u.%u, want 3.0",
	      lv->major, lv->minor);
	l3 = iface->pFunctionList;
	CHECK((void *)l3->C_GetInterfaceList == (void *)T.get_interface_list &&
	      (void *)l3->C_GetInterface == (void *)T.get_interface,
	      "the 3.0 list's C_GetInterface* are not the exported ones");
	memcpy(fns, &l3->v2.C_Initialize, sizeof(fns));
	for (k = 0; k < T_FUNCTIONS_3_0; k++)
		if (fns[k] == NULL) {
			t_diag("3.0 function list entry %zu is NULL", k);
			missing++;
		}
	CHECK(missing == 0, "%zu NULL entries in the 3.0 function list", missing);
	CHECK_RV(l3->C_SessionCancel(0xdead1234UL, CKF_SIGN), CKR_SESSION_HANDLE_INVALID);

	iface = NULL;
	REQUIRE_OK(T.get_interface((CK_UTF8CHAR *)"PKCS 11", &v240, &iface, 0));
	REQUIRE(iface != NULL, "no 2.40 interface");
	lv = iface->pFunctionList;
	CHECK(lv->major == 2 && lv->minor == 40,
	      "C_GetInterface(\"PKCS 11\", {2,40}) gives version %u.%u", lv->major,
	      lv->minor);
	iface = NULL;
	CHECK_RV(T.get_interface((CK_UTF8CHAR *)"PKCS 11", &v30, &iface, 0), CKR_OK);
	iface = (t_interface *)1;
	CHECK_RV(T.get_interface((CK_UTF8CHAR *)"PKCS 12", NULL, &iface, 0),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(T.get_interface((CK_UTF8CHAR *)"PKCS 11", &v99, &iface, 0),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(T.get_interface((CK_UTF8CHAR *)"PKCS 11", NULL, NULL, 0),
		 CKR_ARGUMENTS_BAD);
	/* Asking for fork safety finds an interface exactly when one has it. */
	CHECK_RV(T.get_interface((CK_UTF8CHAR *)"PKCS 11", NULL, &iface,
				 T_CKF_INTERFACE_FORK_SAFE),
		 fork_safe ? CKR_OK : CKR_ARGUMENTS_BAD);
}

TEST(get_info)
{
	CK_INFO info;

	CHECK_RV(T.f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	memset(&info, 0, sizeof(info));
	REQUIRE_OK(T.f->C_GetInfo(&info));
	if (T.kind == T_PROXY) {
		/* p11-kit-proxy answers for itself. */
		t_diag("p11-kit-proxy says cryptoki %u.%u", info.cryptokiVersion.major,
		       info.cryptokiVersion.minor);
		CHECK(info.cryptokiVersion.major == T.f->version.major &&
		      info.cryptokiVersion.minor == T.f->version.minor,
		      "the proxy's C_GetInfo and function list disagree");
	} else {
		CHECK_REF(info.cryptokiVersion.major == 3 && info.cryptokiVersion.minor == 0,
			  "cryptoki-version",
			  "C_GetInfo: cryptokiVersion %u.%u, want 3.0",
			  info.cryptokiVersion.major, info.cryptokiVersion.minor);
	}
	CHECK(t_padded_ok(info.manufacturerID, 32), "manufacturerID not blank-padded");
	CHECK(t_padded_ok(info.libraryDescription, 32), "libraryDescription not blank-padded");
	CHECK(info.flags == 0, "C_GetInfo flags 0x%lx, the spec reserves them (0)",
	      (unsigned long)info.flags);
}

static CK_RV
mx_create(CK_VOID_PTR_PTR m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));

	if (p == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	return CKR_OK;
}

static CK_RV
mx_destroy(CK_VOID_PTR m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV
mx_lock(CK_VOID_PTR m)
{
	return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV
mx_unlock(CK_VOID_PTR m)
{
	return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_MUTEX_NOT_LOCKED;
}

TEST(initialize_finalize)
{
	CK_C_INITIALIZE_ARGS args;
	CK_INFO info;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h, old;
	CK_SESSION_INFO si;
	CK_ULONG n;
	int i;
	CK_RV rv;

	old = t_open(T.slot, 0);
	t_login(old, CKU_USER);
	REQUIRE_OK(t_finalize());
	CHECK_RV(T.f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(T.f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(T.f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(T.f->C_GetTokenInfo(T.slot, &ti), CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_CRYPTOKI_NOT_INITIALIZED);
	CHECK_RV(T.f->C_CloseAllSessions(T.slot), CKR_CRYPTOKI_NOT_INITIALIZED);
	if (T.kind == T_PROXY)
		t_proxy_differs("wait-uninitialized", "C_WaitForSlotEvent before "
				"C_Initialize crashes p11-kit-proxy 0.24 (SIGSEGV); not called");
	else
		CHECK_RV(T.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL),
			 CKR_CRYPTOKI_NOT_INITIALIZED);

	for (i = 0; i < 5; i++) {
		rv = T.f->C_Initialize(NULL);
		if (!CHECK(rv == CKR_OK, "cycle %d: C_Initialize(NULL) returned %s", i,
			   t_rv_name(rv)))
			break;
		n = 0;
		rv = T.f->C_GetSlotList(CK_TRUE, NULL, &n);
		CHECK(rv == CKR_OK && n >= 2, "cycle %d: C_GetSlotList: %s, %lu slots", i,
		      t_rv_name(rv), (unsigned long)n);
		rv = T.f->C_Finalize(NULL);
		CHECK(rv == CKR_OK, "cycle %d: C_Finalize returned %s", i, t_rv_name(rv));
	}

	/* Some mutex callbacks but not all (C_Initialize: CKR_ARGUMENTS_BAD).  A
	 * wrong success is undone at once: p11-kit-proxy counts its
	 * initializations, and each needs its C_Finalize. */
	memset(&args, 0, sizeof(args));
	args.CreateMutex = mx_create;
	rv = T.f->C_Initialize(&args);
	CHECK_PROXY_REF(rv == CKR_ARGUMENTS_BAD, "init-args", "C_Initialize with CreateMutex "
			"only: %s, want CKR_ARGUMENTS_BAD", t_rv_name(rv));
	if (rv == CKR_OK)
		T.f->C_Finalize(NULL);
	args.DestroyMutex = mx_destroy;
	args.LockMutex = mx_lock;
	args.flags = CKF_OS_LOCKING_OK;
	rv = T.f->C_Initialize(&args);
	CHECK_PROXY_REF(rv == CKR_ARGUMENTS_BAD, "init-args", "C_Initialize with three mutex "
			"functions of four: %s, want CKR_ARGUMENTS_BAD", t_rv_name(rv));
	if (rv == CKR_OK)
		T.f->C_Finalize(NULL);
	CHECK_RV(T.f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);

	/* All four and the OS locking flag: fine. */
	args.UnlockMutex = mx_unlock;
	CHECK_RV(T.f->C_Initialize(&args), CKR_OK);
	CHECK_RV(T.f->C_Finalize(NULL), CKR_OK);

	CHECK_RV(t_initialize(), CKR_OK);
	for (i = 0; i < 2; i++) {
		rv = i == 0 ? T.f->C_Initialize(NULL) : t_initialize();
		CHECK_PROXY_REF(rv == CKR_CRYPTOKI_ALREADY_INITIALIZED, "init-twice",
				"C_Initialize(%s) when initialized: %s, want "
				"CKR_CRYPTOKI_ALREADY_INITIALIZED", i == 0 ? "NULL" : "&args",
				t_rv_name(rv));
		if (rv == CKR_OK)
			T.f->C_Finalize(NULL);
	}
	CHECK_RV(T.f->C_Finalize(&info), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetSlotList(CK_FALSE, NULL, &n), CKR_OK);
	T.initialized = 1;
	t_find_slots();
	/* Nothing of the old life survives: its session is gone, and with it
	 * the login. */
	CHECK_RV(T.f->C_GetSessionInfo(old, &si), CKR_SESSION_HANDLE_INVALID);
	h = t_open(T.slot, 0);
	CHECK(t_state(h) == CKS_RO_PUBLIC_SESSION, "after C_Finalize and C_Initialize a new "
	      "session is in state %lu", (unsigned long)t_state(h));
}

/* The labels of our library's tokens, in slot order ("-" for no token). */
static void
own_labels(char *out, size_t cap)
{
	CK_SLOT_ID own[16];
	CK_ULONG n = own_slots(own, 16), i;
	CK_TOKEN_INFO ti;
	size_t len = 0;
	int k;

	out[0] = '\0';
	for (i = 0; i < n && len + 34 < cap; i++) {
		if (T.f->C_GetTokenInfo(own[i], &ti) != CKR_OK) {
			len += (size_t)snprintf(out + len, cap - len, "%s-", i ? " " : "");
			continue;
		}
		for (k = 32; k > 0 && ti.label[k - 1] == ' '; k--)
			;
		len += (size_t)snprintf(out + len, cap - len, "%s%.*s", i ? " " : "", k,
					(char *)ti.label);
	}
}

static void
write_file(const char *path, const char *text, int mode)
{
	FILE *fp = fopen(path, "w");

	REQUIRE(fp != NULL, "%s: %s", path, strerror(errno));
	fputs(text, fp);
	fclose(fp);
	REQUIRE(chmod(path, (mode_t)mode) == 0, "chmod %s", path);
}

/* DESIGN, Configuration: pReserved of C_Initialize, else CERTVAULT_CONF,
 * else $XDG_CONFIG_HOME/certvault/certvault.conf; with no config file,
 * CERTVAULT_VAULT names one vault; a config others may write is refused. */
TEST(configuration)
{
	char conf[4096], xdg[4096], xdg_conf[8192], empty[4096], text[8192], labels[512];
	const char *old_conf = ENV_CONF, *old_xdg = ENV_XDG;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	VAULT_ONLY();
	/* each() puts the environment back, whatever happens here. */
	REQUIRE(old_conf != NULL && old_xdg != NULL, "setup.sh sets CERTVAULT_CONF and "
		"XDG_CONFIG_HOME");
	snprintf(conf, sizeof(conf), "%s/reversed.conf", T.work);
	snprintf(text, sizeof(text), "# reversed\nvault = %s\nvault = %s\n",
		 T.pin_vault_dir, T.vault_dir);
	write_file(conf, text, 0644);
	/* An XDG_CONFIG_HOME of its own; p11-kit-proxy finds its module
	 * config there too. */
	snprintf(xdg, sizeof(xdg), "%s/xdg", T.work);
	snprintf(empty, sizeof(empty), "%s/xdg-empty", T.work);
	REQUIRE(t_run("mkdir -p '%s/certvault' '%s' && ln -sf '%s/pkcs11' '%s/pkcs11' && "
		      "ln -sf '%s/pkcs11' '%s/pkcs11'", xdg, empty, old_xdg, xdg, old_xdg,
		      empty) == 0, "the XDG folders");
	snprintf(xdg_conf, sizeof(xdg_conf), "%s/certvault/certvault.conf", xdg);
	snprintf(text, sizeof(text), "vault = %s\n", T.vault_dir);
	write_file(xdg_conf, text, 0644);

	REQUIRE_OK(t_finalize());
	setenv("CERTVAULT_CONF", conf, 1);
	rv = t_initialize();
	CHECK(rv == CKR_OK, "C_Initialize with CERTVAULT_CONF=reversed.conf: %s", t_rv_name(rv));
	own_labels(labels, sizeof(labels));
	CHECK(strcmp(labels, "PinToken TestToken") == 0, "CERTVAULT_CONF listing PinToken, "
	      "TestToken gives the tokens \"%s\"", labels);
	t_finalize();

	if (T.kind == T_DIRECT) {
		setenv("CERTVAULT_CONF", old_conf, 1);
		memset(&args, 0, sizeof(args));
		args.flags = CKF_OS_LOCKING_OK;
		args.pReserved = conf;
		rv = T.f->C_Initialize(&args);
		CHECK(rv == CKR_OK, "C_Initialize with pReserved=reversed.conf: %s",
		      t_rv_name(rv));
		if (rv == CKR_OK)
			T.initialized = 1;
		own_labels(labels, sizeof(labels));
		CHECK(strcmp(labels, "PinToken TestToken") == 0, "pReserved naming a config "
		      "(over CERTVAULT_CONF) gives the tokens \"%s\"", labels);
		t_finalize();
	}

	unsetenv("CERTVAULT_CONF");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	rv = t_initialize();
	CHECK(rv == CKR_OK, "C_Initialize with $XDG_CONFIG_HOME/certvault/certvault.conf: %s",
	      t_rv_name(rv));
	own_labels(labels, sizeof(labels));
	CHECK(strcmp(labels, "TestToken") == 0, "$XDG_CONFIG_HOME/certvault/certvault.conf "
	      "gives the tokens \"%s\"", labels);
	t_finalize();

	if (access("/etc/certvault/certvault.conf", F_OK) != 0) {
		setenv("XDG_CONFIG_HOME", empty, 1);
		setenv("CERTVAULT_VAULT", T.pin_vault_dir, 1);
		rv = t_initialize();
		CHECK(rv == CKR_OK, "C_Initialize with CERTVAULT_VAULT only: %s", t_rv_name(rv));
		own_labels(labels, sizeof(labels));
		CHECK(strcmp(labels, "PinToken") == 0, "CERTVAULT_VAULT with no config file "
		      "gives the tokens \"%s\"", labels);
		t_finalize();
		unsetenv("CERTVAULT_VAULT");
	}

	/* A config others may write is refused. */
	setenv("XDG_CONFIG_HOME", old_xdg, 1);
	REQUIRE(chmod(conf, 0666) == 0, "chmod %s", conf);
	setenv("CERTVAULT_CONF", conf, 1);
	rv = t_initialize();
	own_labels(labels, sizeof(labels));
	if (T.kind == T_DIRECT)
		CHECK(rv != CKR_OK, "C_Initialize with a config of mode 0666 returned CKR_OK "
		      "(tokens \"%s\")", labels);
	else    /* the proxy leaves out a module whose C_Initialize fails */
		CHECK(rv != CKR_OK || labels[0] == '\0', "a config of mode 0666 is used "
		      "(tokens \"%s\")", labels);
	if (rv == CKR_OK)
		t_finalize();
	T.initialized = 0;

	env_restore();
	REQUIRE_OK(t_initialize());
	t_find_slots();
}

/* --- Slots and tokens ---------------------------------------------------------- */

static void
check_slot_list(CK_BBOOL present, CK_SLOT_ID *out, CK_ULONG *out_n)
{
	CK_SLOT_ID list[64];
	CK_ULONG n = 0, m;

	REQUIRE_OK(T.f->C_GetSlotList(present, NULL, &n));
	REQUIRE(n >= 1 && n <= 63, "C_GetSlotList(%d) counts %lu slots", present,
		(unsigned long)n);
	m = n - 1;
	CHECK_RV(T.f->C_GetSlotList(present, list, &m), CKR_BUFFER_TOO_SMALL);
	CHECK(m == n, "C_GetSlotList(%d) with a short list sets %lu, want %lu", present,
	      (unsigned long)m, (unsigned long)n);
	m = 64;
	REQUIRE_OK(T.f->C_GetSlotList(present, list, &m));
	CHECK(m == n, "C_GetSlotList(%d) gave %lu slots, counted %lu", present,
	      (unsigned long)m, (unsigned long)n);
	memcpy(out, list, m * sizeof(*list));
	*out_n = m;
}

TEST(slot_list)
{
	CK_SLOT_ID all[64], present[64];
	CK_ULONG n_all, n_present, i;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID bad = bad_slot();

	check_slot_list(CK_FALSE, all, &n_all);
	check_slot_list(CK_TRUE, present, &n_present);
	CHECK_RV(T.f->C_GetSlotList(CK_FALSE, all, NULL), CKR_ARGUMENTS_BAD);
	CHECK(n_present <= n_all, "more slots with tokens than slots");
	for (i = 0; i < n_present; i++) {
		CHECK(has(all, n_all, present[i]), "slot %lu has a token but is not a slot",
		      (unsigned long)present[i]);
		REQUIRE_OK(T.f->C_GetSlotInfo(present[i], &si));
		CHECK(si.flags & CKF_TOKEN_PRESENT, "slot %lu in the present list without "
		      "CKF_TOKEN_PRESENT", (unsigned long)present[i]);
	}
	for (i = 0; i < n_all; i++) {
		REQUIRE_OK(T.f->C_GetSlotInfo(all[i], &si));
		CHECK(t_padded_ok(si.slotDescription, 64) &&
		      t_padded_ok(si.manufacturerID, 32),
		      "slot %lu: description or manufacturer not blank-padded",
		      (unsigned long)all[i]);
		if (si.flags & CKF_TOKEN_PRESENT)
			CHECK(has(present, n_present, all[i]),
			      "slot %lu has CKF_TOKEN_PRESENT but is not in the present list",
			      (unsigned long)all[i]);
	}
	CHECK(has(present, n_present, T.slot) && has(present, n_present, T.pin_slot),
	      "the test tokens are not in the present list");
	CHECK_RV(T.f->C_GetSlotInfo(bad, &si), CKR_SLOT_ID_INVALID);
	CHECK_RV(T.f->C_GetTokenInfo(bad, &ti), CKR_SLOT_ID_INVALID);
}

static int
hex16(const unsigned char serial[16])
{
	int i;

	for (i = 0; i < 16; i++)
		if (!((serial[i] >= '0' && serial[i] <= '9') ||
		      (serial[i] >= 'a' && serial[i] <= 'f') ||
		      (serial[i] >= 'A' && serial[i] <= 'F')))
			return 0;
	return 1;
}

TEST(token_info)
{
	CK_TOKEN_INFO ti;
	CK_FLAGS want = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED |
			CKF_LOGIN_REQUIRED | CKF_RNG;
	CK_SESSION_HANDLE s1, s2;
	char serial[64], *out;

	REQUIRE_OK(T.f->C_GetTokenInfo(T.slot, &ti));
	CHECK(t_padded_eq(ti.label, 32, T.label), "token label \"%.32s\", want \"%s\" padded",
	      ti.label, T.label);
	CHECK(t_padded_ok(ti.manufacturerID, 32) && t_padded_ok(ti.model, 16),
	      "manufacturerID or model not blank-padded");
	CHECK(hex16(ti.serialNumber), "serial \"%.16s\" is not 16 hex digits", ti.serialNumber);
	CHECK((ti.flags & want) == want, "token flags 0x%lx lack 0x%lx",
	      (unsigned long)ti.flags, (unsigned long)(want & ~ti.flags));
	CHECK(!(ti.flags & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY |
			    CKF_WRITE_PROTECTED)),
	      "token flags 0x%lx: locked, final try or write-protected", (unsigned long)ti.flags);
	CHECK(ti.ulMinPinLen <= ti.ulMaxPinLen && ti.ulMaxPinLen > 0,
	      "PIN lengths %lu..%lu", (unsigned long)ti.ulMinPinLen,
	      (unsigned long)ti.ulMaxPinLen);
	CHECK(ti.ulMaxSessionCount == CK_EFFECTIVELY_INFINITE ||
	      ti.ulMaxSessionCount == CK_UNAVAILABLE_INFORMATION ||
	      ti.ulMaxSessionCount >= 16, "ulMaxSessionCount %lu",
	      (unsigned long)ti.ulMaxSessionCount);
	CHECK_RV(T.f->C_GetTokenInfo(T.slot, NULL), CKR_ARGUMENTS_BAD);

	/* The session counts are this application's. */
	s1 = t_open(T.slot, 0);
	s2 = t_open(T.slot, 1);
	REQUIRE_OK(T.f->C_GetTokenInfo(T.slot, &ti));
	CHECK(ti.ulSessionCount == 2 || ti.ulSessionCount == CK_UNAVAILABLE_INFORMATION,
	      "ulSessionCount %lu with two sessions open", (unsigned long)ti.ulSessionCount);
	CHECK(ti.ulRwSessionCount == 1 || ti.ulRwSessionCount == CK_UNAVAILABLE_INFORMATION,
	      "ulRwSessionCount %lu with one R/W session open",
	      (unsigned long)ti.ulRwSessionCount);
	T.f->C_CloseSession(s1);
	T.f->C_CloseSession(s2);

	if (!T.vault)
		return;
	/* The token's serial is the vault's. */
	out = t_capture("'%s' --vault '%s' --json vault show", T.certvault, T.vault_dir);
	REQUIRE(t_json_string(out, "serial", serial, sizeof(serial)),
		"certvault vault show gave no serial");
	free(out);
	CHECK(strlen(serial) == 16 && memcmp(serial, ti.serialNumber, 16) == 0,
	      "token serial %.16s, the vault's %s", ti.serialNumber, serial);
}

TEST(vault_slots_in_order)
{
	CK_SLOT_ID own[16];
	CK_ULONG n;
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;

	VAULT_ONLY();
	/* The config lists TestToken, PinToken, an empty folder and a vault
	 * others may write. */
	n = own_slots(own, 16);
	REQUIRE(n == 4, "%lu slots of the module, the config lists 4 folders",
		(unsigned long)n);
	REQUIRE_OK(T.f->C_GetTokenInfo(own[0], &ti));
	CHECK(t_padded_eq(ti.label, 32, "TestToken"), "slot 1's token is \"%.32s\"", ti.label);
	REQUIRE_OK(T.f->C_GetTokenInfo(own[1], &ti));
	CHECK(t_padded_eq(ti.label, 32, "PinToken"), "slot 2's token is \"%.32s\"", ti.label);
	REQUIRE_OK(T.f->C_GetSlotInfo(own[2], &si));
	CHECK(si.flags & CKF_TOKEN_PRESENT, "the empty folder's slot has no token");
	REQUIRE_OK(T.f->C_GetTokenInfo(own[2], &ti));
	CHECK(!(ti.flags & CKF_TOKEN_INITIALIZED),
	      "the empty folder's token says CKF_TOKEN_INITIALIZED");
	if (T.kind == T_DIRECT)
		CHECK(own[0] == 0 && own[1] == 1 && own[2] == 2 && own[3] == 3,
		      "slot ids %lu %lu %lu %lu, want the config's order 0 1 2 3",
		      (unsigned long)own[0], (unsigned long)own[1], (unsigned long)own[2],
		      (unsigned long)own[3]);

	/* The vault others may write: a slot without a token. */
	REQUIRE_OK(T.f->C_GetSlotInfo(own[3], &si));
	CHECK(!(si.flags & CKF_TOKEN_PRESENT), "a vault others may write shows a token "
	      "(slot flags 0x%lx)", (unsigned long)si.flags);
	CHECK_RV(T.f->C_GetTokenInfo(own[3], &ti), CKR_TOKEN_NOT_PRESENT);
	{
		CK_SESSION_HANDLE h;
		unsigned char label[32];
		CK_MECHANISM_TYPE m[64];
		CK_ULONG mn = 64;

		CHECK_RV(T.f->C_OpenSession(own[3], CKF_SERIAL_SESSION, NULL, NULL, &h),
			 CKR_TOKEN_NOT_PRESENT);
		pad32(label, "Unsafe");
		CHECK_RV(T.f->C_InitToken(own[3], (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin),
					  label), CKR_TOKEN_NOT_PRESENT);
		CHECK_RV(T.f->C_GetMechanismList(own[3], m, &mn), CKR_TOKEN_NOT_PRESENT);
	}
}

/* --- Mechanisms ------------------------------------------------------------------- */

static const CK_MECHANISM_TYPE REQUIRED_MECHS[] = {
	CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP,
	CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS, CKM_SHA256_RSA_PKCS,
	CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
	CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS,
	CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
	CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
	CKM_ECDSA_SHA384, CKM_ECDSA_SHA512,
	CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_EC_KEY_PAIR_GEN,
};

TEST(mechanism_list)
{
	CK_MECHANISM_TYPE list[256];
	CK_ULONG n = 0, m, i;

	REQUIRE_OK(T.f->C_GetMechanismList(T.slot, NULL, &n));
	REQUIRE(n > 0 && n <= 256, "C_GetMechanismList counts %lu", (unsigned long)n);
	m = n - 1;
	CHECK_RV(T.f->C_GetMechanismList(T.slot, list, &m), CKR_BUFFER_TOO_SMALL);
	CHECK(m == n, "C_GetMechanismList with a short list sets %lu, want %lu",
	      (unsigned long)m, (unsigned long)n);
	m = 256;
	REQUIRE_OK(T.f->C_GetMechanismList(T.slot, list, &m));
	CHECK(m == n, "C_GetMechanismList gave %lu, counted %lu", (unsigned long)m,
	      (unsigned long)n);
	for (i = 0; i < COUNT(REQUIRED_MECHS); i++) {
		CK_MECHANISM_TYPE r = REQUIRED_MECHS[i];

		if (r >= CKM_ECDSA_SHA224 && r <= CKM_ECDSA_SHA512)
			CHECK_REF(has_mech(list, m, r), "ecdsa-hash-mechanisms",
				  "%s is not in the list", t_mech_name(r));
		else if (r == CKM_ECDSA_SHA1)
			CHECK_REF(has_mech(list, m, r), "ecdsa-hash-mechanisms",
				  "%s is not in the list", t_mech_name(r));
		else
			CHECK(has_mech(list, m, r), "%s is not in the list", t_mech_name(r));
	}
	CHECK_RV(T.f->C_GetMechanismList(bad_slot(), NULL, &n), CKR_SLOT_ID_INVALID);
	CHECK_RV(T.f->C_GetMechanismList(T.slot, list, NULL), CKR_ARGUMENTS_BAD);
}

static CK_FLAGS
want_flags(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_RSA_PKCS:
		return CKF_SIGN | CKF_VERIFY | CKF_DECRYPT;
	case CKM_RSA_PKCS_OAEP:
		return CKF_DECRYPT;
	case CKM_RSA_PKCS_KEY_PAIR_GEN:
	case CKM_EC_KEY_PAIR_GEN:
		return CKF_GENERATE_KEY_PAIR;
	default:
		return CKF_SIGN | CKF_VERIFY;
	}
}

TEST(mechanism_info)
{
	CK_MECHANISM_TYPE list[256];
	CK_MECHANISM_INFO mi;
	CK_ULONG n = 256, i;
	CK_MECHANISM_TYPE m;
	CK_RV rv;
	int ec;

	REQUIRE_OK(T.f->C_GetMechanismList(T.slot, list, &n));
	for (i = 0; i < n; i++) {
		rv = T.f->C_GetMechanismInfo(T.slot, list[i], &mi);
		CHECK(rv == CKR_OK, "%s is listed but C_GetMechanismInfo returns %s",
		      t_mech_name(list[i]), t_rv_name(rv));
		if (rv == CKR_OK)
			CHECK(mi.ulMinKeySize <= mi.ulMaxKeySize && mi.flags != 0,
			      "%s: key sizes %lu..%lu, flags 0x%lx", t_mech_name(list[i]),
			      (unsigned long)mi.ulMinKeySize, (unsigned long)mi.ulMaxKeySize,
			      (unsigned long)mi.flags);
	}
	for (i = 0; i < COUNT(REQUIRED_MECHS); i++) {
		m = REQUIRED_MECHS[i];
		if (T.f->C_GetMechanismInfo(T.slot, m, &mi) != CKR_OK)
			continue;       /* mechanism_list reports it */
		CHECK((mi.flags & want_flags(m)) == want_flags(m),
		      "%s: flags 0x%lx lack 0x%lx", t_mech_name(m), (unsigned long)mi.flags,
		      (unsigned long)(want_flags(m) & ~mi.flags));
		ec = m == CKM_EC_KEY_PAIR_GEN || (m >= CKM_ECDSA && m <= CKM_ECDSA_SHA512);
		if (ec)
			CHECK(mi.ulMinKeySize <= 256 && mi.ulMaxKeySize >= 384,
			      "%s: key sizes %lu..%lu bits leave out P-256 or P-384",
			      t_mech_name(m), (unsigned long)mi.ulMinKeySize,
			      (unsigned long)mi.ulMaxKeySize);
		else
			CHECK(mi.ulMinKeySize <= 2048 && mi.ulMaxKeySize >= 2048,
			      "%s: key sizes %lu..%lu bits leave out RSA-2048", t_mech_name(m),
			      (unsigned long)mi.ulMinKeySize, (unsigned long)mi.ulMaxKeySize);
	}
	CHECK_RV(T.f->C_GetMechanismInfo(T.slot, CKM_VENDOR_DEFINED | 0x4242UL, &mi),
		 CKR_MECHANISM_INVALID);
	CHECK_RV(T.f->C_GetMechanismInfo(T.slot, 0x7ffeUL, &mi), CKR_MECHANISM_INVALID);
	CHECK_RV(T.f->C_GetMechanismInfo(bad_slot(), CKM_RSA_PKCS, &mi), CKR_SLOT_ID_INVALID);
	CHECK_RV(T.f->C_GetMechanismInfo(T.slot, CKM_RSA_PKCS, NULL), CKR_ARGUMENTS_BAD);
}

/* --- Sessions --------------------------------------------------------------------- */

TEST(session_states)
{
	CK_SESSION_HANDLE ro, rw, ro2, h = CK_INVALID_HANDLE;
	CK_SESSION_INFO si;

	CHECK_RV(T.f->C_OpenSession(T.slot, CKF_RW_SESSION, NULL, NULL, &h),
		 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	CHECK_RV(T.f->C_OpenSession(T.slot, 0, NULL, NULL, &h),
		 CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	ro = t_open(T.slot, 0);
	rw = t_open(T.slot, 1);
	CHECK(ro != rw, "two sessions share handle %lu", (unsigned long)ro);
	REQUIRE_OK(T.f->C_GetSessionInfo(ro, &si));
	CHECK(si.slotID == T.slot && si.state == CKS_RO_PUBLIC_SESSION &&
	      si.flags == CKF_SERIAL_SESSION,
	      "R/O session: slot %lu state %lu flags 0x%lx", (unsigned long)si.slotID,
	      (unsigned long)si.state, (unsigned long)si.flags);
	REQUIRE_OK(T.f->C_GetSessionInfo(rw, &si));
	CHECK(si.state == CKS_RW_PUBLIC_SESSION &&
	      si.flags == (CKF_SERIAL_SESSION | CKF_RW_SESSION),
	      "R/W session: state %lu flags 0x%lx", (unsigned long)si.state,
	      (unsigned long)si.flags);

	/* A login is the application's, shared by all its sessions. */
	t_login(ro, CKU_USER);
	CHECK(t_state(ro) == CKS_RO_USER_FUNCTIONS, "R/O session after login: state %lu",
	      (unsigned long)t_state(ro));
	CHECK(t_state(rw) == CKS_RW_USER_FUNCTIONS,
	      "the other (R/W) session after login: state %lu", (unsigned long)t_state(rw));
	ro2 = t_open(T.slot, 0);
	CHECK(t_state(ro2) == CKS_RO_USER_FUNCTIONS,
	      "a session opened after login: state %lu", (unsigned long)t_state(ro2));
	CHECK_RV(T.f->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)T.user_pin,
			      strlen(T.user_pin)), CKR_USER_ALREADY_LOGGED_IN);
	/* (R/O sessions exist too: either answer is right.) */
	CHECK_RV2(T.f->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin)),
		  CKR_USER_ANOTHER_ALREADY_LOGGED_IN, CKR_SESSION_READ_ONLY_EXISTS);
	CHECK_RV(T.f->C_Logout(ro2), CKR_OK);
	CHECK(t_state(ro) == CKS_RO_PUBLIC_SESSION && t_state(rw) == CKS_RW_PUBLIC_SESSION,
	      "after C_Logout in another session: states %lu, %lu",
	      (unsigned long)t_state(ro), (unsigned long)t_state(rw));
	CHECK_RV_REF(T.f->C_Logout(rw), CKR_USER_NOT_LOGGED_IN, "logout-twice");
	CHECK_RV(T.f->C_Login(rw, 7, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin)),
		 CKR_USER_TYPE_INVALID);

	/* The SO needs every session R/W. */
	CHECK_RV(T.f->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin)),
		 CKR_SESSION_READ_ONLY_EXISTS);
	REQUIRE_OK(T.f->C_CloseSession(ro));
	REQUIRE_OK(T.f->C_CloseSession(ro2));
	t_login(rw, CKU_SO);
	CHECK(t_state(rw) == CKS_RW_SO_FUNCTIONS, "SO session: state %lu",
	      (unsigned long)t_state(rw));
	CHECK_RV(T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_SESSION_READ_WRITE_SO_EXISTS);
	CHECK_RV(T.f->C_Login(rw, CKU_USER, (CK_UTF8CHAR_PTR)T.user_pin,
			      strlen(T.user_pin)), CKR_USER_ANOTHER_ALREADY_LOGGED_IN);
	CHECK_RV(T.f->C_Logout(rw), CKR_OK);
	CHECK_RV_REF(T.f->C_Logout(rw), CKR_USER_NOT_LOGGED_IN, "logout-twice");

	/* The user logged in, R/W sessions only: the SO is refused. */
	t_login(rw, CKU_USER);
	CHECK_RV(T.f->C_Login(rw, CKU_SO, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin)),
		 CKR_USER_ANOTHER_ALREADY_LOGGED_IN);

	/* A login is the token's: the PIN token's sessions stay public, and
	 * C_CloseAllSessions of one slot leaves the other's sessions. */
	{
		CK_SESSION_HANDLE other = t_open(T.pin_slot, 0);

		CHECK(other != rw, "sessions of two slots share handle %lu", (unsigned long)rw);
		CHECK(t_state(other) == CKS_RO_PUBLIC_SESSION, "a session of the PIN token is "
		      "in state %lu while the test token is logged in",
		      (unsigned long)t_state(other));
		REQUIRE_OK(T.f->C_CloseAllSessions(T.slot));
		CHECK_RV(T.f->C_GetSessionInfo(other, &si), CKR_OK);
		CHECK(si.slotID == T.pin_slot, "the PIN token's session says slot %lu",
		      (unsigned long)si.slotID);
		T.f->C_CloseSession(other);
		rw = t_open(T.slot, 1);
		t_login(rw, CKU_USER);
	}

	/* C_CloseAllSessions ends the login. */
	REQUIRE_OK(T.f->C_CloseAllSessions(T.slot));
	CHECK_RV(T.f->C_GetSessionInfo(rw, &si), CKR_SESSION_HANDLE_INVALID);
	ro = t_open(T.slot, 0);
	CHECK(t_state(ro) == CKS_RO_PUBLIC_SESSION,
	      "after C_CloseAllSessions a new session is in state %lu, want public",
	      (unsigned long)t_state(ro));
	/* So does closing the last session. */
	t_login(ro, CKU_USER);
	REQUIRE_OK(T.f->C_CloseSession(ro));
	ro = t_open(T.slot, 0);
	CHECK(t_state(ro) == CKS_RO_PUBLIC_SESSION,
	      "after closing the last session a new one is in state %lu, want public",
	      (unsigned long)t_state(ro));
}

/* Many sessions at once: distinct handles, each valid until closed. */
TEST(many_sessions)
{
	enum { N = 300 };
	CK_SESSION_HANDLE h[N];
	CK_SESSION_INFO si;
	CK_ULONG n = 0, i, bad = 0;
	CK_RV rv = CKR_OK;

	for (n = 0; n < N; n++) {
		rv = T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION | (n % 2 ? CKF_RW_SESSION : 0),
					NULL, NULL, &h[n]);
		if (rv != CKR_OK)
			break;
	}
	CHECK(rv == CKR_OK || rv == CKR_SESSION_COUNT, "session %lu: C_OpenSession %s",
	      (unsigned long)n, t_rv_name(rv));
	CHECK(n >= 64, "only %lu sessions could be opened", (unsigned long)n);
	for (i = 0; i < n; i++)
		if (has(h, i, h[i]) || h[i] == CK_INVALID_HANDLE)
			bad++;
	CHECK(bad == 0, "%lu session handles repeat or are 0", (unsigned long)bad);
	t_login(h[0], CKU_USER);
	/* Close every other one; the rest stay as they were. */
	for (i = 0; i < n; i += 2)
		CHECK_RV(T.f->C_CloseSession(h[i]), CKR_OK);
	for (i = 0, bad = 0; i < n; i++) {
		rv = T.f->C_GetSessionInfo(h[i], &si);
		if (i % 2 == 0 ? rv != CKR_SESSION_HANDLE_INVALID :
		    (rv != CKR_OK || si.state != CKS_RW_USER_FUNCTIONS))
			bad++;
	}
	CHECK(bad == 0, "%lu sessions in the wrong state after closing every other one",
	      (unsigned long)bad);
	REQUIRE_OK(T.f->C_CloseAllSessions(T.slot));
	for (i = 0, bad = 0; i < n; i++)
		if (T.f->C_GetSessionInfo(h[i], &si) != CKR_SESSION_HANDLE_INVALID)
			bad++;
	CHECK(bad == 0, "%lu sessions survive C_CloseAllSessions", (unsigned long)bad);
}

TEST(bad_handles)
{
	CK_SESSION_HANDLE s, gone;
	CK_SESSION_INFO si;
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_MECHANISM sm = { CKM_ECDSA, NULL, 0 };
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	CK_BYTE buf[16];
	CK_SESSION_HANDLE bad[3], h;
	CK_ULONG i;

	gone = t_open(T.slot, 0);
	REQUIRE_OK(T.f->C_CloseSession(gone));
	s = t_open(T.slot, 0);
	CHECK(s != 0, "session handle 0 (CK_INVALID_HANDLE)");
	bad[0] = CK_INVALID_HANDLE;
	bad[1] = 0xdead1234UL;
	bad[2] = gone;          /* closed: unless the library reuses it at once */
	for (i = 0; i < 3; i++) {
		h = bad[i];
		if (h == s)
			continue;
		CHECK_RV(T.f->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_CloseSession(h), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)T.user_pin,
				      strlen(T.user_pin)), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_Logout(h), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_FindObjectsInit(h, NULL, 0), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_GetAttributeValue(h, 1, &a, 1), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_DigestInit(h, &m), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_SignInit(h, &sm, 1), CKR_SESSION_HANDLE_INVALID);
		CHECK_RV(T.f->C_GenerateRandom(h, buf, sizeof(buf)),
			 CKR_SESSION_HANDLE_INVALID);
	}
	CHECK_RV(T.f->C_OpenSession(bad_slot(), CKF_SERIAL_SESSION, NULL, NULL, &h),
		 CKR_SLOT_ID_INVALID);
	CHECK_RV_PROXY_REF(T.f->C_CloseAllSessions(bad_slot()), CKR_SLOT_ID_INVALID,
			   "close-all-bad-slot");
	/* Object handles nobody gave out. */
	CHECK_RV(T.f->C_GetAttributeValue(s, 0x7ead0001UL, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CHECK_RV(T.f->C_GetAttributeValue(s, CK_INVALID_HANDLE, &a, 1),
		 CKR_OBJECT_HANDLE_INVALID);
	t_login(s, CKU_USER);
	CHECK_RV_REF(T.f->C_SignInit(s, &sm, 0x7ead0001UL), CKR_KEY_HANDLE_INVALID,
		     "key-handle-invalid");
}

/* --- Objects ---------------------------------------------------------------------- */

TEST(objects_per_certificate)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE pub, *found = NULL;
	unsigned char id[20], *got = NULL;
	CK_ULONG n, len, i, k;
	unsigned bits, want_pub, want_all;
	size_t c;

	want_pub = CLS_BIT(CKO_PUBLIC_KEY) | (T.vault ? CLS_BIT(CKO_CERTIFICATE) : 0);
	want_all = want_pub | CLS_BIT(CKO_PRIVATE_KEY);
	s = t_open(T.slot, 0);
	for (c = 0; c < COUNT(CERT_NAMES); c++) {
		bits = classes_of_label(s, CERT_NAMES[c], &n);
		CHECK(bits == want_pub && n == (T.vault ? 2u : 1u),
		      "%s in a public session: %lu objects, classes 0x%x, want 0x%x",
		      CERT_NAMES[c], (unsigned long)n, bits, want_pub);
	}
	t_login(s, CKU_USER);
	for (c = 0; c < COUNT(CERT_NAMES); c++) {
		const char *name = CERT_NAMES[c];

		bits = classes_of_label(s, name, &n);
		CHECK(bits == want_all && n == (T.vault ? 3u : 2u),
		      "%s logged in: %lu objects, classes 0x%x, want 0x%x", name,
		      (unsigned long)n, bits, want_all);
		pub = t_key(s, CKO_PUBLIC_KEY, name);
		if (!CHECK(pub != 0, "no public key of %s", name))
			continue;
		REQUIRE(id_from_components(s, pub, id), "%s: no modulus or EC point", name);
		{
			CK_ATTRIBUTE t = { CKA_ID, id, sizeof(id) };

			n = t_find(s, &t, 1, 0, &found);
		}
		CHECK(n == (T.vault ? 3u : 2u),
		      "%s: %lu objects have CKA_ID = SHA-1 of the public key, want %u", name,
		      (unsigned long)n, T.vault ? 3u : 2u);
		for (i = 0; i < n; i++) {
			k = t_attr_ulong(s, found[i], CKA_CLASS);
			REQUIRE_OK(t_attr(s, found[i], CKA_ID, &got, &len));
			CHECK(len == 20 && memcmp(got, id, 20) == 0, "%s: class %lu CKA_ID differs",
			      name, (unsigned long)k);
			free(got);
			got = NULL;
		}
		free(found);
		found = NULL;
	}
}

TEST(private_key_attributes)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE h;
	size_t c;
	struct { CK_ATTRIBUTE_TYPE t; int want; const char *n; } flags[] = {
		{ CKA_SENSITIVE, 1, "CKA_SENSITIVE" },
		{ CKA_EXTRACTABLE, 0, "CKA_EXTRACTABLE" },
		{ CKA_NEVER_EXTRACTABLE, 1, "CKA_NEVER_EXTRACTABLE" },
		{ CKA_ALWAYS_SENSITIVE, 1, "CKA_ALWAYS_SENSITIVE" },
		{ CKA_PRIVATE, 1, "CKA_PRIVATE" },
		{ CKA_TOKEN, 1, "CKA_TOKEN" },
		{ CKA_SIGN, 1, "CKA_SIGN" },
	};
	size_t i;
	int v;

	t_login(s, CKU_USER);
	for (c = 0; c < COUNT(CERT_NAMES); c++) {
		h = t_key(s, CKO_PRIVATE_KEY, CERT_NAMES[c]);
		if (!CHECK(h != 0, "no private key of %s", CERT_NAMES[c]))
			continue;
		for (i = 0; i < COUNT(flags); i++) {
			v = t_attr_bool(s, h, flags[i].t);
			CHECK(v == flags[i].want, "%s private key: %s is %d, want %d",
			      CERT_NAMES[c], flags[i].n, v, flags[i].want);
		}
		CHECK(t_attr_ulong(s, h, CKA_KEY_TYPE) == (c == 0 ? CKK_RSA : CKK_EC),
		      "%s: CKA_KEY_TYPE", CERT_NAMES[c]);
	}
}

static const unsigned char OID_P384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

TEST(public_key_attributes)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE pub, priv;
	unsigned char *a = NULL, *b = NULL;
	CK_ULONG al = 0, bl = 0;
	size_t c;
	int v;

	t_login(s, CKU_USER);
	for (c = 0; c < COUNT(CERT_NAMES); c++) {
		const char *name = CERT_NAMES[c];

		pub = t_key(s, CKO_PUBLIC_KEY, name);
		priv = t_key(s, CKO_PRIVATE_KEY, name);
		if (!CHECK(pub != 0 && priv != 0, "the keys of %s", name))
			continue;
		v = t_attr_bool(s, pub, CKA_PRIVATE);
		CHECK(v == 0, "%s public key: CKA_PRIVATE %d", name, v);
		v = t_attr_bool(s, pub, CKA_TOKEN);
		CHECK(v == 1, "%s public key: CKA_TOKEN %d", name, v);
		v = t_attr_bool(s, pub, CKA_VERIFY);
		CHECK(v == 1, "%s public key: CKA_VERIFY %d", name, v);
		v = t_attr_bool(s, priv, CKA_ALWAYS_AUTHENTICATE);
		CHECK(v == 0 || v == -1, "%s private key: CKA_ALWAYS_AUTHENTICATE %d", name, v);
		if (c == 0) {
			CHECK(t_attr_ulong(s, pub, CKA_MODULUS_BITS) == 2048,
			      "%s: CKA_MODULUS_BITS %lu", name,
			      (unsigned long)t_attr_ulong(s, pub, CKA_MODULUS_BITS));
			CHECK(attr_eq(s, pub, CKA_PUBLIC_EXPONENT, "\x01\x00\x01", 3),
			      "%s: CKA_PUBLIC_EXPONENT is not 01 00 01", name);
			/* The private key's public parts are the public key's. */
			if (t_attr(s, pub, CKA_MODULUS, &a, &al) == CKR_OK &&
			    t_attr(s, priv, CKA_MODULUS, &b, &bl) == CKR_OK)
				CHECK(al == bl && memcmp(a, b, al) == 0,
				      "%s: the private key's CKA_MODULUS differs", name);
			else
				CHECK(0, "%s: CKA_MODULUS not readable on both keys", name);
		} else {
			const unsigned char *oid = c == 1 ? OID_P256 : OID_P384;
			size_t oid_len = c == 1 ? sizeof(OID_P256) : sizeof(OID_P384);

			CHECK(attr_eq(s, pub, CKA_EC_PARAMS, oid, oid_len) &&
			      attr_eq(s, priv, CKA_EC_PARAMS, oid, oid_len),
			      "%s: CKA_EC_PARAMS of the keys is not the curve's OID", name);
		}
		free(a);
		free(b);
		a = b = NULL;
		/* CKA_PUBLIC_KEY_INFO (3.0: private keys have it too). */
		if (T.vault && t_attr(s, pub, CKA_PUBLIC_KEY_INFO, &a, &al) == CKR_OK &&
		    t_attr(s, priv, CKA_PUBLIC_KEY_INFO, &b, &bl) == CKR_OK && bl > 0)
			CHECK(al == bl && memcmp(a, b, al) == 0, "%s: the private key's "
			      "CKA_PUBLIC_KEY_INFO differs from the public key's", name);
		free(a);
		free(b);
		a = b = NULL;
	}
}

/* C_Logout: the application's handles to private objects become
 * invalid, and stay invalid after a later login; its private session
 * objects are destroyed. */
TEST(private_handles_after_logout)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE priv, pub, again, scopy = CK_INVALID_HANDLE;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE st = { CKA_TOKEN, &no, sizeof(no) };
	CK_OBJECT_CLASS cls = 0;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pt = { CKA_PRIVATE, &yes, sizeof(yes) };
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_RV rv;

	t_login(s, CKU_USER);
	priv = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	pub = t_key(s, CKO_PUBLIC_KEY, "web-ec");
	REQUIRE(priv != 0 && pub != 0, "web-ec's keys");
	rv = T.f->C_CopyObject(s, priv, &st, 1, &scopy);
	CHECK(rv == CKR_OK, "C_CopyObject(CKA_TOKEN FALSE) of web-ec's private key: %s",
	      t_rv_name(rv));
	REQUIRE_OK(T.f->C_Logout(s));
	CHECK_RV(T.f->C_GetAttributeValue(s, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	rv = T.f->C_SignInit(s, &m, priv);
	CHECK_REF(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_USER_NOT_LOGGED_IN,
		  "key-handle-invalid", "C_SignInit with a private key handle after "
		  "C_Logout returned %s", t_rv_name(rv));
	CHECK(find_count(s, &pt, 1) == 0, "a public session finds CKA_PRIVATE objects");
	CHECK_RV(T.f->C_GetAttributeValue(s, pub, &a, 1), CKR_OK);
	t_login(s, CKU_USER);
	if (scopy != CK_INVALID_HANDLE) {
		CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_LABEL, "web-ec", 6 } };

		CHECK_RV(T.f->C_GetAttributeValue(s, scopy, &a, 1), CKR_OBJECT_HANDLE_INVALID);
		CHECK(find_count(s, t, 2) == 1, "the private session copy made before "
		      "C_Logout outlives it (%lu private keys labelled web-ec)",
		      (unsigned long)find_count(s, t, 2));
	}
	again = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	CHECK(again != 0, "web-ec's private key is not found after a new login");
	rv = T.f->C_GetAttributeValue(s, priv, &a, 1);
	CHECK(rv == CKR_OBJECT_HANDLE_INVALID, "the private key handle from before "
	      "C_Logout works again after a new login (C_GetAttributeValue: %s; spec, "
	      "C_Logout: it stays invalid)", t_rv_name(rv));
}

/* What a R/O session may not do to token objects, and what a public
 * session may not create. */
TEST(read_only_session_rules)
{
	CK_SESSION_HANDLE ro = t_open(T.slot, 0), rw;
	CK_OBJECT_HANDLE priv, h = CK_INVALID_HANDLE, pk = 0, sk = 0;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tok = { CKA_TOKEN, &yes, sizeof(yes) };
	CK_MECHANISM gm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE pub_t[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "ro-gen", 6 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE prv_t[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_LABEL, "ro-gen", 6 },
		{ CKA_SIGN, &yes, 1 },
	};
	CK_RV rv;

	t_login(ro, CKU_USER);
	priv = t_key(ro, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(priv != 0, "web-ec's private key");
	rv = T.f->C_GenerateKeyPair(ro, &gm, pub_t, COUNT(pub_t), prv_t, COUNT(prv_t), &pk, &sk);
	CHECK(rv == CKR_SESSION_READ_ONLY, "C_GenerateKeyPair of token keys in a R/O "
	      "session returned %s", t_rv_name(rv));
	rv = T.f->C_CopyObject(ro, priv, &tok, 1, &h);
	CHECK(rv == CKR_SESSION_READ_ONLY, "C_CopyObject to a token object in a R/O "
	      "session returned %s", t_rv_name(rv));
	if (rv == CKR_OK)
		T.f->C_DestroyObject(ro, h);
	if (T.vault) {
		/* A pending key pair may be destroyed, but not from a R/O session. */
		CK_OBJECT_HANDLE pend = t_find_label(ro, CKO_PRIVATE_KEY, "pending");

		if (CHECK(pend != 0, "pending's private key"))
			CHECK_RV(T.f->C_DestroyObject(ro, pend), CKR_SESSION_READ_ONLY);
	}
	T.f->C_Logout(ro);
	T.f->C_CloseSession(ro);
	/* Not logged in: no private objects can be made. */
	rw = t_open(T.slot, 1);
	rv = T.f->C_GenerateKeyPair(rw, &gm, pub_t, COUNT(pub_t), prv_t, COUNT(prv_t), &pk, &sk);
	CHECK(rv == CKR_USER_NOT_LOGGED_IN, "C_GenerateKeyPair of a private key, not logged "
	      "in, returned %s", t_rv_name(rv));
	if (rv == CKR_OK) {
		T.f->C_DestroyObject(rw, sk);
		T.f->C_DestroyObject(rw, pk);
	}
}

TEST(attribute_buffer_protocol)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE rsa, ec;
	CK_OBJECT_CLASS cls = 0;
	CK_KEY_TYPE kt = 0;
	unsigned char big1[1024], big2[1024], small[4];
	CK_RV rv;

	t_login(s, CKU_USER);
	rsa = t_key(s, CKO_PRIVATE_KEY, "web-rsa");
	ec = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(rsa != 0 && ec != 0, "the private keys of web-rsa and web-ec");

	/* A sensitive value among readable ones: the others still come. */
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_PRIVATE_EXPONENT, big1, sizeof(big1) },
			{ CKA_MODULUS, big2, sizeof(big2) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		};
		rv = T.f->C_GetAttributeValue(s, rsa, t, COUNT(t));
		CHECK(rv == CKR_ATTRIBUTE_SENSITIVE, "CKA_PRIVATE_EXPONENT with others: %s",
		      t_rv_name(rv));
		CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "CKA_PRIVATE_EXPONENT: ulValueLen %lu, want CK_UNAVAILABLE_INFORMATION",
		      (unsigned long)t[1].ulValueLen);
		CHECK(cls == CKO_PRIVATE_KEY && t[0].ulValueLen == sizeof(cls),
		      "CKA_CLASS not returned beside a sensitive attribute");
		CHECK(t[2].ulValueLen == 256, "CKA_MODULUS beside a sensitive attribute: "
		      "length %lu", (unsigned long)t[2].ulValueLen);
		CHECK(kt == CKK_RSA && t[3].ulValueLen == sizeof(kt),
		      "CKA_KEY_TYPE not returned beside a sensitive attribute");
	}
	{
		const CK_ATTRIBUTE_TYPE secret[] = { CKA_PRIME_1, CKA_PRIME_2,
			CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
		size_t i;

		for (i = 0; i < COUNT(secret); i++) {
			CK_ATTRIBUTE a = { secret[i], big1, sizeof(big1) };

			rv = T.f->C_GetAttributeValue(s, rsa, &a, 1);
			CHECK(rv == CKR_ATTRIBUTE_SENSITIVE &&
			      a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
			      "RSA private attribute 0x%lx: %s, length %lu",
			      (unsigned long)secret[i], t_rv_name(rv), (unsigned long)a.ulValueLen);
		}
	}
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_VALUE, big1, sizeof(big1) },
			{ CKA_EC_PARAMS, big2, sizeof(big2) },
		};
		cls = 0;
		rv = T.f->C_GetAttributeValue(s, ec, t, COUNT(t));
		CHECK(rv == CKR_ATTRIBUTE_SENSITIVE, "EC CKA_VALUE with others: %s",
		      t_rv_name(rv));
		CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "EC CKA_VALUE: ulValueLen %lu", (unsigned long)t[1].ulValueLen);
		CHECK(cls == CKO_PRIVATE_KEY, "CKA_CLASS not returned beside EC CKA_VALUE");
		CHECK(t[2].ulValueLen == sizeof(OID_P256) &&
		      memcmp(big2, OID_P256, sizeof(OID_P256)) == 0,
		      "CKA_EC_PARAMS of web-ec is not the P-256 OID (%lu bytes)",
		      (unsigned long)t[2].ulValueLen);
	}
	/* An attribute the object does not have. */
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ 0x0ffff00dUL, big1, sizeof(big1) },
			{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		};
		cls = 0;
		kt = 0;
		rv = T.f->C_GetAttributeValue(s, rsa, t, COUNT(t));
		CHECK(rv == CKR_ATTRIBUTE_TYPE_INVALID, "unknown attribute: %s", t_rv_name(rv));
		CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "unknown attribute: ulValueLen %lu", (unsigned long)t[1].ulValueLen);
		CHECK(cls == CKO_PRIVATE_KEY && kt == CKK_RSA,
		      "the known attributes beside an unknown one were not returned");
	}
	{
		CK_ATTRIBUTE a = { CKA_CERTIFICATE_TYPE, big1, sizeof(big1) };

		rv = T.f->C_GetAttributeValue(s, rsa, &a, 1);
		CHECK(rv == CKR_ATTRIBUTE_TYPE_INVALID && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "CKA_CERTIFICATE_TYPE of a key: %s, length %lu", t_rv_name(rv),
		      (unsigned long)a.ulValueLen);
	}
	/* Length queries and short buffers. */
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_MODULUS, NULL, 0 },
			{ CKA_LABEL, NULL, 12345 },
			{ CKA_CLASS, &cls, sizeof(cls) },
		};
		rv = T.f->C_GetAttributeValue(s, rsa, t, COUNT(t));
		CHECK(rv == CKR_OK, "length query: %s", t_rv_name(rv));
		CHECK(t[0].ulValueLen == 256, "CKA_MODULUS length %lu, want 256",
		      (unsigned long)t[0].ulValueLen);
		CHECK(t[1].ulValueLen == strlen("web-rsa"), "CKA_LABEL length %lu, want 7",
		      (unsigned long)t[1].ulValueLen);
	}
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_MODULUS, small, sizeof(small) },
			{ CKA_LABEL, big1, sizeof(big1) },
		};
		cls = 0;
		rv = T.f->C_GetAttributeValue(s, rsa, t, COUNT(t));
		CHECK(rv == CKR_BUFFER_TOO_SMALL, "short buffer: %s", t_rv_name(rv));
		CHECK(t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "short buffer: ulValueLen %lu, want CK_UNAVAILABLE_INFORMATION",
		      (unsigned long)t[1].ulValueLen);
		CHECK(cls == CKO_PRIVATE_KEY && t[2].ulValueLen == strlen("web-rsa") &&
		      memcmp(big1, "web-rsa", 7) == 0,
		      "the attributes beside a short buffer were not returned");
	}
	{
		CK_ATTRIBUTE a = { CKA_CLASS, small, 2 };

		rv = T.f->C_GetAttributeValue(s, rsa, &a, 1);
		CHECK(rv == CKR_BUFFER_TOO_SMALL && a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
		      "CKA_CLASS into 2 bytes: %s, length %lu", t_rv_name(rv),
		      (unsigned long)a.ulValueLen);
	}
	CHECK_RV(T.f->C_GetAttributeValue(s, rsa, NULL, 1), CKR_ARGUMENTS_BAD);
}

/* Every standard attribute of every object: the answer is a value, or
 * CKR_ATTRIBUTE_SENSITIVE / CKR_ATTRIBUTE_TYPE_INVALID with
 * CK_UNAVAILABLE_INFORMATION; lengths agree between the length query, an
 * exact and a larger buffer; a buffer one byte short is too small; one call
 * for all of them gives what the single calls gave; and the attributes the
 * spec gives every object of the class are there. */
static const CK_ATTRIBUTE_TYPE SWEEP[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_LABEL, CKA_APPLICATION, CKA_VALUE,
	CKA_OBJECT_ID, CKA_CERTIFICATE_TYPE, CKA_ISSUER, CKA_SERIAL_NUMBER,
	CKA_AC_ISSUER, CKA_OWNER, CKA_ATTR_TYPES, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY,
	CKA_JAVA_MIDP_SECURITY_DOMAIN, CKA_URL, CKA_HASH_OF_SUBJECT_PUBLIC_KEY,
	CKA_HASH_OF_ISSUER_PUBLIC_KEY, CKA_NAME_HASH_ALGORITHM, CKA_CHECK_VALUE,
	CKA_KEY_TYPE, CKA_SUBJECT, CKA_ID, CKA_SENSITIVE, CKA_ENCRYPT, CKA_DECRYPT,
	CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_SIGN_RECOVER, CKA_VERIFY, CKA_VERIFY_RECOVER,
	CKA_DERIVE, CKA_START_DATE, CKA_END_DATE, CKA_MODULUS, CKA_MODULUS_BITS,
	CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
	CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT, CKA_PUBLIC_KEY_INFO,
	CKA_VALUE_LEN, CKA_EXTRACTABLE, CKA_LOCAL, CKA_NEVER_EXTRACTABLE,
	CKA_ALWAYS_SENSITIVE, CKA_KEY_GEN_MECHANISM, CKA_MODIFIABLE, CKA_COPYABLE,
	CKA_DESTROYABLE, CKA_EC_PARAMS, CKA_EC_POINT, CKA_ALWAYS_AUTHENTICATE,
	CKA_WRAP_WITH_TRUSTED, CKA_WRAP_TEMPLATE, CKA_UNWRAP_TEMPLATE,
	CKA_ALLOWED_MECHANISMS,
};

static int
is_bool_attr(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_TOKEN: case CKA_PRIVATE: case CKA_TRUSTED: case CKA_SENSITIVE:
	case CKA_ENCRYPT: case CKA_DECRYPT: case CKA_WRAP: case CKA_UNWRAP:
	case CKA_SIGN: case CKA_SIGN_RECOVER: case CKA_VERIFY: case CKA_VERIFY_RECOVER:
	case CKA_DERIVE: case CKA_EXTRACTABLE: case CKA_LOCAL: case CKA_NEVER_EXTRACTABLE:
	case CKA_ALWAYS_SENSITIVE: case CKA_MODIFIABLE: case CKA_COPYABLE:
	case CKA_DESTROYABLE: case CKA_ALWAYS_AUTHENTICATE: case CKA_WRAP_WITH_TRUSTED:
		return 1;
	default:
		return 0;
	}
}

static int
is_ulong_attr(CK_ATTRIBUTE_TYPE t)
{
	return t == CKA_CLASS || t == CKA_CERTIFICATE_TYPE || t == CKA_CERTIFICATE_CATEGORY ||
	       t == CKA_JAVA_MIDP_SECURITY_DOMAIN || t == CKA_NAME_HASH_ALGORITHM ||
	       t == CKA_KEY_TYPE || t == CKA_MODULUS_BITS || t == CKA_KEY_GEN_MECHANISM;
}

/* What the spec gives every object of a class (2.40/3.0 sections 4.4-4.9). */
static const CK_ATTRIBUTE_TYPE REQ_ALL[] = {
	CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_MODIFIABLE, CKA_LABEL, CKA_COPYABLE,
	CKA_DESTROYABLE,
};
static const CK_ATTRIBUTE_TYPE REQ_CERT[] = {
	CKA_CERTIFICATE_TYPE, CKA_TRUSTED, CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE,
	CKA_START_DATE, CKA_END_DATE, CKA_SUBJECT, CKA_ID, CKA_ISSUER, CKA_SERIAL_NUMBER,
	CKA_VALUE,
};
static const CK_ATTRIBUTE_TYPE REQ_KEY[] = {
	CKA_KEY_TYPE, CKA_ID, CKA_START_DATE, CKA_END_DATE, CKA_DERIVE, CKA_LOCAL,
	CKA_KEY_GEN_MECHANISM, CKA_SUBJECT,
};
static const CK_ATTRIBUTE_TYPE REQ_PUB[] = {
	CKA_ENCRYPT, CKA_VERIFY, CKA_VERIFY_RECOVER, CKA_WRAP, CKA_TRUSTED,
};
static const CK_ATTRIBUTE_TYPE REQ_PRIV[] = {
	CKA_SENSITIVE, CKA_DECRYPT, CKA_SIGN, CKA_SIGN_RECOVER, CKA_UNWRAP,
	CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
	CKA_WRAP_WITH_TRUSTED, CKA_ALWAYS_AUTHENTICATE,
};

static void
require_attrs(CK_OBJECT_HANDLE o, const char *what, const CK_ATTRIBUTE_TYPE *types,
	      size_t n, const CK_RV *rvs)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < COUNT(SWEEP); k++)
			if (SWEEP[k] == types[i])
				CHECK_REF(rvs[k] != CKR_ATTRIBUTE_TYPE_INVALID, "required-attributes",
					  "%s %lu has no attribute 0x%lx", what,
					  (unsigned long)o, (unsigned long)types[i]);
}

TEST(attribute_sweep)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE *objs = NULL;
	CK_ULONG n_objs, i, k, len;
	CK_RV rvs[COUNT(SWEEP)], rv, want;
	CK_ULONG lens[COUNT(SWEEP)];
	CK_ATTRIBUTE all[COUNT(SWEEP)];
	unsigned char *buf = malloc(COUNT(SWEEP) * 4096), one[4096 + 16];
	CK_OBJECT_CLASS cls;
	int bad;

	REQUIRE(buf != NULL, "out of memory");
	t_login(s, CKU_USER);
	n_objs = t_find(s, NULL, 0, 0, &objs);
	for (i = 0; i < n_objs; i++) {
		CK_OBJECT_HANDLE o = objs[i];

		cls = t_attr_ulong(s, o, CKA_CLASS);
		for (k = 0; k < COUNT(SWEEP); k++) {
			CK_ATTRIBUTE a = { SWEEP[k], NULL, 0 };

			rv = T.f->C_GetAttributeValue(s, o, &a, 1);
			rvs[k] = rv;
			lens[k] = a.ulValueLen;
			if (!CHECK(rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE ||
				   rv == CKR_ATTRIBUTE_TYPE_INVALID,
				   "object %lu (class %lu) attribute 0x%lx: length query %s",
				   (unsigned long)o, (unsigned long)cls, (unsigned long)SWEEP[k],
				   t_rv_name(rv)))
				continue;
			if (rv != CKR_OK) {
				CHECK(a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
				      "object %lu attribute 0x%lx: %s with length %lu",
				      (unsigned long)o, (unsigned long)SWEEP[k], t_rv_name(rv),
				      (unsigned long)a.ulValueLen);
				continue;
			}
			len = a.ulValueLen;
			if (!CHECK(len <= 4096, "object %lu attribute 0x%lx: %lu bytes",
				   (unsigned long)o, (unsigned long)SWEEP[k], (unsigned long)len))
				continue;
			if (is_bool_attr(SWEEP[k]))
				CHECK(len == sizeof(CK_BBOOL), "object %lu attribute 0x%lx (CK_BBOOL): "
				      "%lu bytes", (unsigned long)o, (unsigned long)SWEEP[k],
				      (unsigned long)len);
			if (is_ulong_attr(SWEEP[k]))
				CHECK(len == sizeof(CK_ULONG), "object %lu attribute 0x%lx (CK_ULONG): "
				      "%lu bytes", (unsigned long)o, (unsigned long)SWEEP[k],
				      (unsigned long)len);
			a.pValue = one;
			a.ulValueLen = len + 16;
			rv = T.f->C_GetAttributeValue(s, o, &a, 1);
			CHECK(rv == CKR_OK && a.ulValueLen == len, "object %lu attribute 0x%lx: "
			      "%s, %lu bytes into a larger buffer, %lu by the length query",
			      (unsigned long)o, (unsigned long)SWEEP[k], t_rv_name(rv),
			      (unsigned long)a.ulValueLen, (unsigned long)len);
			if (is_bool_attr(SWEEP[k]) && rv == CKR_OK)
				CHECK(one[0] == CK_TRUE || one[0] == CK_FALSE, "object %lu "
				      "attribute 0x%lx: CK_BBOOL %u", (unsigned long)o,
				      (unsigned long)SWEEP[k], one[0]);
			a.ulValueLen = len;
			rv = T.f->C_GetAttributeValue(s, o, &a, 1);
			CHECK(rv == CKR_OK && a.ulValueLen == len, "object %lu attribute 0x%lx: "
			      "exact buffer: %s, %lu", (unsigned long)o, (unsigned long)SWEEP[k],
			      t_rv_name(rv), (unsigned long)a.ulValueLen);
			if (len > 0) {
				a.ulValueLen = len - 1;
				rv = T.f->C_GetAttributeValue(s, o, &a, 1);
				CHECK(rv == CKR_BUFFER_TOO_SMALL &&
				      a.ulValueLen == CK_UNAVAILABLE_INFORMATION,
				      "object %lu attribute 0x%lx: one byte short: %s, %lu",
				      (unsigned long)o, (unsigned long)SWEEP[k], t_rv_name(rv),
				      (unsigned long)a.ulValueLen);
			}
		}
		/* All at once. */
		for (k = 0; k < COUNT(SWEEP); k++) {
			all[k].type = SWEEP[k];
			all[k].pValue = buf + k * 4096;
			all[k].ulValueLen = 4096;
		}
		rv = T.f->C_GetAttributeValue(s, o, all, COUNT(SWEEP));
		want = CKR_OK;
		for (k = 0, bad = 0; k < COUNT(SWEEP); k++) {
			if (rvs[k] != CKR_OK && want == CKR_OK)
				want = rvs[k];
			if (rvs[k] != CKR_OK && rv == rvs[k])
				want = rv;
			if (all[k].ulValueLen != lens[k] && bad++ == 0)
				CHECK(0, "object %lu: attribute 0x%lx is %lu bytes among all, %lu "
				      "alone", (unsigned long)o, (unsigned long)SWEEP[k],
				      (unsigned long)all[k].ulValueLen, (unsigned long)lens[k]);
		}
		CHECK(rv == want, "object %lu: all attributes at once: %s, the single calls "
		      "had %s", (unsigned long)o, t_rv_name(rv), t_rv_name(want));
		require_attrs(o, "object", REQ_ALL, COUNT(REQ_ALL), rvs);
		if (cls == CKO_CERTIFICATE)
			require_attrs(o, "certificate", REQ_CERT, COUNT(REQ_CERT), rvs);
		if (cls == CKO_PUBLIC_KEY || cls == CKO_PRIVATE_KEY)
			require_attrs(o, "key", REQ_KEY, COUNT(REQ_KEY), rvs);
		if (cls == CKO_PUBLIC_KEY)
			require_attrs(o, "public key", REQ_PUB, COUNT(REQ_PUB), rvs);
		if (cls == CKO_PRIVATE_KEY)
			require_attrs(o, "private key", REQ_PRIV, COUNT(REQ_PRIV), rvs);
	}
	t_diag("%lu objects, %zu attributes each", (unsigned long)n_objs, COUNT(SWEEP));
	free(objs);
	free(buf);
}

TEST(set_attribute_refused)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE h;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE ext = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
	CK_ATTRIBUTE sens = { CKA_SENSITIVE, &no, sizeof(no) };
	CK_RV rv;

	t_login(s, CKU_USER);
	h = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(h != 0, "no private key of web-ec");
	rv = T.f->C_SetAttributeValue(s, h, &ext, 1);
	CHECK(rv == CKR_ATTRIBUTE_READ_ONLY || rv == CKR_ACTION_PROHIBITED,
	      "C_SetAttributeValue(CKA_EXTRACTABLE TRUE) returned %s, want "
	      "CKR_ATTRIBUTE_READ_ONLY", t_rv_name(rv));
	CHECK(t_attr_bool(s, h, CKA_EXTRACTABLE) == 0, "CKA_EXTRACTABLE is no longer FALSE");
	rv = T.f->C_SetAttributeValue(s, h, &sens, 1);
	CHECK(rv == CKR_ATTRIBUTE_READ_ONLY || rv == CKR_ACTION_PROHIBITED,
	      "C_SetAttributeValue(CKA_SENSITIVE FALSE) returned %s", t_rv_name(rv));
	CHECK(t_attr_bool(s, h, CKA_SENSITIVE) == 1, "CKA_SENSITIVE is no longer TRUE");

	/* A label change: done and seen, or refused as CKA_MODIFIABLE says. */
	{
		CK_OBJECT_HANDLE pub = t_key(s, CKO_PUBLIC_KEY, "web-ec384");
		CK_ATTRIBUTE nl = { CKA_LABEL, "relabelled", 10 };
		CK_ATTRIBUTE ol = { CKA_LABEL, "web-ec384", 9 };
		int mod;

		REQUIRE(pub != 0, "web-ec384's public key");
		mod = t_attr_bool(s, pub, CKA_MODIFIABLE);
		rv = T.f->C_SetAttributeValue(s, pub, &nl, 1);
		if (rv == CKR_OK) {
			CHECK(attr_eq(s, pub, CKA_LABEL, "relabelled", 10),
			      "C_SetAttributeValue(CKA_LABEL) returned CKR_OK, the label did not "
			      "change");
			CHECK(mod != 0, "CKA_MODIFIABLE FALSE, yet CKA_LABEL changed");
			CHECK_RV(T.f->C_SetAttributeValue(s, pub, &ol, 1), CKR_OK);
		} else {
			CHECK(rv == CKR_ACTION_PROHIBITED || rv == CKR_ATTRIBUTE_READ_ONLY,
			      "C_SetAttributeValue(CKA_LABEL) of a public key: %s", t_rv_name(rv));
			if (rv == CKR_ACTION_PROHIBITED)
				CHECK(mod == 0, "C_SetAttributeValue is prohibited, yet "
				      "CKA_MODIFIABLE is %d", mod);
		}
	}
}

TEST(copy_object)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE h, copy = CK_INVALID_HANDLE, copy2 = CK_INVALID_HANDLE;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE ext = { CKA_EXTRACTABLE, &yes, sizeof(yes) };
	CK_RV rv;
	int v;

	t_login(s, CKU_USER);
	h = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(h != 0, "no private key of web-ec");
	v = t_attr_bool(s, h, CKA_COPYABLE);
	CHECK(v != 0, "web-ec's private key says CKA_COPYABLE FALSE");
	rv = T.f->C_CopyObject(s, h, NULL, 0, &copy);
	CHECK_REF(rv == CKR_OK, "copy-null-template",
		  "C_CopyObject(web-ec private key, NULL, 0) returned %s", t_rv_name(rv));
	if (rv != CKR_OK && T.kind == T_SOFTHSM)
		rv = T.f->C_CopyObject(s, h, &ext, 0, &copy);
	REQUIRE(rv == CKR_OK, "C_CopyObject of web-ec's private key: %s", t_rv_name(rv));
	CHECK(copy != h && copy != CK_INVALID_HANDLE, "the copy has handle %lu",
	      (unsigned long)copy);
	v = t_attr_bool(s, copy, CKA_SENSITIVE);
	CHECK(v == 1, "copy: CKA_SENSITIVE %d", v);
	v = t_attr_bool(s, copy, CKA_EXTRACTABLE);
	CHECK(v == 0, "copy: CKA_EXTRACTABLE %d", v);
	v = t_attr_bool(s, copy, CKA_NEVER_EXTRACTABLE);
	CHECK(v == 1,
	      "copy: CKA_NEVER_EXTRACTABLE %d", v);
	v = t_attr_bool(s, copy, CKA_ALWAYS_SENSITIVE);
	CHECK(v == 1,
	      "copy: CKA_ALWAYS_SENSITIVE %d", v);
	{
		CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };

		rv = T.f->C_GetAttributeValue(s, copy, &a, 1);
		CHECK(rv == CKR_ATTRIBUTE_SENSITIVE, "copy: CKA_VALUE gives %s", t_rv_name(rv));
	}
	/* Making a copy extractable is refused too. */
	rv = T.f->C_CopyObject(s, h, &ext, 1, &copy2);
	CHECK(rv != CKR_OK, "C_CopyObject(CKA_EXTRACTABLE TRUE) of an unextractable key "
	      "succeeded");
	if (rv == CKR_OK) {
		CHECK(t_attr_bool(s, copy2, CKA_EXTRACTABLE) == 0,
		      "the copy made with CKA_EXTRACTABLE TRUE is extractable");
		T.f->C_DestroyObject(s, copy2);
	}
	{
		/* The copy is found with the original. */
		CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE t[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_LABEL, "web-ec", 6 } };
		CK_OBJECT_HANDLE *found = NULL;
		CK_ULONG n = t_find(s, t, 2, 0, &found);

		CHECK(n == 2 && has(found, n, h) && has(found, n, copy),
		      "a find by label gives %lu private keys, want the key and its copy",
		      (unsigned long)n);
		free(found);
	}
	rv = T.f->C_DestroyObject(s, copy);
	CHECK(rv == CKR_OK, "C_DestroyObject of the copy returned %s", t_rv_name(rv));
	CHECK(t_key(s, CKO_PRIVATE_KEY, "web-ec") == h,
	      "web-ec's private key is not the one object labelled web-ec after the copy");

	/* A session copy lives as long as its session. */
	{
		CK_BBOOL no = CK_FALSE;
		CK_ATTRIBUTE st = { CKA_TOKEN, &no, sizeof(no) };
		CK_SESSION_HANDLE s2 = t_open(T.slot, 0);
		CK_OBJECT_CLASS cls;
		CK_ATTRIBUTE ca = { CKA_CLASS, &cls, sizeof(cls) };

		copy = CK_INVALID_HANDLE;
		rv = T.f->C_CopyObject(s2, h, &st, 1, &copy);
		CHECK(rv == CKR_OK, "C_CopyObject(CKA_TOKEN FALSE) returned %s", t_rv_name(rv));
		if (rv == CKR_OK) {
			v = t_attr_bool(s, copy, CKA_TOKEN);
			CHECK(v == 0, "the session copy says CKA_TOKEN %d", v);
			v = t_attr_bool(s, copy, CKA_EXTRACTABLE);
			CHECK(v == 0, "the session copy says CKA_EXTRACTABLE %d", v);
			REQUIRE_OK(T.f->C_CloseSession(s2));
			CHECK_RV(T.f->C_GetAttributeValue(s, copy, &ca, 1),
				 CKR_OBJECT_HANDLE_INVALID);
		}
	}
}

TEST(wrap_unextractable)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE h, wrapping = 0;
	CK_MECHANISM m = { CKM_RSA_PKCS_OAEP, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS oaep = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
	unsigned char out[4096];
	CK_ULONG len = sizeof(out);

	t_login(s, CKU_USER);
	h = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(h != 0, "no private key of web-ec");
	if (T.vault) {
		/* The only wrapping key a vault has: an RSA public key. */
		wrapping = t_key(s, CKO_PUBLIC_KEY, "web-rsa");
		m.pParameter = &oaep;
		m.ulParameterLen = sizeof(oaep);
	} else {
		CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_AES;
		CK_ULONG vl = 32;
		CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cls, sizeof(cls) }, { CKA_KEY_TYPE, &kt, sizeof(kt) },
			{ CKA_VALUE_LEN, &vl, sizeof(vl) }, { CKA_WRAP, &yes, 1 },
			{ CKA_TOKEN, &no, 1 },
		};
		CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };

		REQUIRE_OK(T.f->C_GenerateKey(s, &gen, t, COUNT(t), &wrapping));
		m.mechanism = CKM_AES_KEY_WRAP_PAD;
	}
	REQUIRE(wrapping != 0, "no wrapping key");
	CHECK_RV(T.f->C_WrapKey(s, &m, wrapping, h, out, &len), CKR_KEY_UNEXTRACTABLE);
	len = 0;
	CHECK_RV(T.f->C_WrapKey(s, &m, wrapping, h, NULL, &len), CKR_KEY_UNEXTRACTABLE);
}

TEST(certificate_attributes)
{
	const char *names[] = { "web-rsa", "web-ec", "web-ec384", "merged" };
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert, pub;
	unsigned char *der = NULL, *spki = NULL, *pki = NULL, *buf = NULL, *p;
	const unsigned char *cp;
	unsigned char id[20], sha[20];
	CK_ULONG len = 0, pki_len = 0;
	X509 *x = NULL;
	size_t i;
	int n, v;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	for (i = 0; i < COUNT(names); i++) {
		const char *name = names[i];

		cert = leaf_cert(s, name);
		if (!CHECK(cert != 0, "no certificate object labelled %s", name))
			continue;
		REQUIRE_OK(t_attr(s, cert, CKA_VALUE, &der, &len));
		cp = der;
		x = d2i_X509(NULL, &cp, (long)len);
		if (!CHECK(x != NULL && cp == der + len, "%s: CKA_VALUE is not one DER "
			   "certificate", name))
			goto next;
		CHECK(t_attr_ulong(s, cert, CKA_CERTIFICATE_TYPE) == CKC_X_509,
		      "%s: CKA_CERTIFICATE_TYPE", name);
		CHECK(t_attr_ulong(s, cert, CKA_CERTIFICATE_CATEGORY) == 1,
		      "%s: CKA_CERTIFICATE_CATEGORY %lu, want 1 (token user)", name,
		      (unsigned long)t_attr_ulong(s, cert, CKA_CERTIFICATE_CATEGORY));
		CHECK(attr_eq(s, cert, CKA_LABEL, name, strlen(name)),
		      "%s: CKA_LABEL is not the certificate name", name);
		v = t_attr_bool(s, cert, CKA_TOKEN);
		CHECK(v == 1, "%s: CKA_TOKEN %d", name, v);
		v = t_attr_bool(s, cert, CKA_PRIVATE);
		CHECK(v == 0, "%s: CKA_PRIVATE %d", name, v);
		/* Subject, issuer, serial: OpenSSL's DER of each. */
		n = i2d_X509_NAME(X509_get_subject_name(x), NULL);
		buf = OPENSSL_malloc((size_t)n);
		p = buf;
		i2d_X509_NAME(X509_get_subject_name(x), &p);
		CHECK(attr_eq(s, cert, CKA_SUBJECT, buf, (size_t)n), "%s: CKA_SUBJECT "
		      "differs from the certificate's", name);
		OPENSSL_free(buf);
		n = i2d_X509_NAME(X509_get_issuer_name(x), NULL);
		buf = OPENSSL_malloc((size_t)n);
		p = buf;
		i2d_X509_NAME(X509_get_issuer_name(x), &p);
		CHECK(attr_eq(s, cert, CKA_ISSUER, buf, (size_t)n), "%s: CKA_ISSUER "
		      "differs from the certificate's", name);
		OPENSSL_free(buf);
		n = i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x), NULL);
		buf = OPENSSL_malloc((size_t)n);
		p = buf;
		i2d_ASN1_INTEGER((ASN1_INTEGER *)X509_get0_serialNumber(x), &p);
		CHECK(attr_eq(s, cert, CKA_SERIAL_NUMBER, buf, (size_t)n),
		      "%s: CKA_SERIAL_NUMBER is not the DER INTEGER of the serial", name);
		OPENSSL_free(buf);
		buf = NULL;
		/* The certificate's key is CKA_PUBLIC_KEY_INFO, of the
		 * certificate and of the public key object. */
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
		if (CHECK(t_attr(s, cert, CKA_PUBLIC_KEY_INFO, &pki, &pki_len) == CKR_OK,
			  "%s: no CKA_PUBLIC_KEY_INFO on the certificate", name))
			CHECK(pki_len == (CK_ULONG)n && memcmp(pki, spki, (size_t)n) == 0,
			      "%s: the certificate's CKA_PUBLIC_KEY_INFO is not its key", name);
		free(pki);
		pki = NULL;
		pub = t_key(s, CKO_PUBLIC_KEY, name);
		if (CHECK(pub != 0, "%s: no public key object", name)) {
			CHECK(attr_eq(s, pub, CKA_PUBLIC_KEY_INFO, spki, (size_t)n),
			      "%s: the public key's CKA_PUBLIC_KEY_INFO is not the "
			      "certificate's key", name);
			if (id_from_components(s, pub, id))
				CHECK(attr_eq(s, cert, CKA_ID, id, 20),
				      "%s: the certificate's CKA_ID is not the key's", name);
		}
		/* CKA_CHECK_VALUE, when there: SHA-1 of CKA_VALUE, 3 bytes. */
		{
			unsigned char cv[8];
			CK_ATTRIBUTE a = { CKA_CHECK_VALUE, cv, sizeof(cv) };

			if (T.f->C_GetAttributeValue(s, cert, &a, 1) == CKR_OK &&
			    a.ulValueLen != 0) {
				EVP_Digest(der, len, sha, NULL, EVP_sha1(), NULL);
				CHECK(a.ulValueLen == 3 && memcmp(cv, sha, 3) == 0,
				      "%s: CKA_CHECK_VALUE is not SHA-1(CKA_VALUE)[0..2]", name);
			}
		}
next:
		OPENSSL_free(spki);
		spki = NULL;
		X509_free(x);
		x = NULL;
		free(der);
		der = NULL;
	}
}

TEST(chain_certificates)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_ULONG cat = 2, n, i, len;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat) },
	};
	CK_OBJECT_HANDLE *found = NULL, leaf;
	unsigned char *ca_der = NULL, *v = NULL, *iss = NULL;
	CK_ULONG iss_len = 0;
	char path[4096];
	FILE *fp;
	X509 *ca;
	int ca_len, seen = 0;

	VAULT_ONLY();
	snprintf(path, sizeof(path), "%s/ca.pem", T.work);
	REQUIRE((fp = fopen(path, "r")) != NULL, "%s", path);
	ca = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	REQUIRE(ca != NULL, "ca.pem");
	ca_len = i2d_X509(ca, &ca_der);
	X509_free(ca);

	s = t_open(T.slot, 0);
	n = t_find(s, t, COUNT(t), 0, &found);
	CHECK(n >= 1, "no certificate of category 2 (authority): merged's chain is "
	      "not shown");
	for (i = 0; i < n; i++) {
		REQUIRE_OK(t_attr(s, found[i], CKA_VALUE, &v, &len));
		if (len == (CK_ULONG)ca_len && memcmp(v, ca_der, len) == 0) {
			seen = 1;
			CHECK(t_attr_ulong(s, found[i], CKA_CERTIFICATE_CATEGORY) == 2,
			      "the CA certificate's category");
			leaf = leaf_cert(s, "merged");
			if (leaf != 0 && t_attr(s, leaf, CKA_ISSUER, &iss, &iss_len) == CKR_OK)
				CHECK(attr_eq(s, found[i], CKA_SUBJECT, iss, iss_len),
				      "the chain certificate's CKA_SUBJECT is not merged's "
				      "CKA_ISSUER");
			free(iss);
			iss = NULL;
		}
		free(v);
		v = NULL;
	}
	CHECK(seen, "the test CA's certificate (merged's chain) is not among %lu "
	      "authority certificates", (unsigned long)n);
	free(found);
	OPENSSL_free(ca_der);
}

TEST(find_objects)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE pub, *all = NULL, *ones = NULL, *by_cls = NULL;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE ct = { CKA_CLASS, &cls, sizeof(cls) };
	unsigned char id[20];
	CK_ULONG n_all, n_ones, n, i, sum = 0;
	const CK_OBJECT_CLASS classes[] = { CKO_CERTIFICATE, CKO_PUBLIC_KEY,
					    CKO_PRIVATE_KEY };
	size_t c;
	int round;

	for (round = 0; round < 2; round++) {
		if (round == 1)
			t_login(s, CKU_USER);
		n_all = t_find(s, NULL, 0, 0, &all);
		n_ones = t_find(s, NULL, 0, 1, &ones);
		CHECK(n_all == n_ones, "the empty template finds %lu objects at once, %lu one "
		      "by one", (unsigned long)n_all, (unsigned long)n_ones);
		for (i = 0; i < n_ones; i++) {
			CHECK(has(all, n_all, ones[i]), "object %lu found one by one only",
			      (unsigned long)ones[i]);
			CHECK(!has(ones + i + 1, n_ones - i - 1, ones[i]),
			      "object %lu found twice", (unsigned long)ones[i]);
		}
		/* Finding by class partitions them. */
		sum = 0;
		for (c = 0; c < COUNT(classes); c++) {
			cls = classes[c];
			n = t_find(s, &ct, 1, 2, &by_cls);
			for (i = 0; i < n; i++) {
				CHECK(has(all, n_all, by_cls[i]), "class %lu object %lu not in "
				      "the empty template's result", (unsigned long)cls,
				      (unsigned long)by_cls[i]);
				CHECK(t_attr_ulong(s, by_cls[i], CKA_CLASS) == cls,
				      "a find by class %lu gave an object of class %lu",
				      (unsigned long)cls,
				      (unsigned long)t_attr_ulong(s, by_cls[i], CKA_CLASS));
			}
			if (cls == CKO_PRIVATE_KEY)
				CHECK(round == 1 ? n >= 3 : n == 0,
				      "%lu private keys found %s", (unsigned long)n,
				      round == 1 ? "logged in" : "in a public session");
			if (cls == CKO_CERTIFICATE && T.vault)
				CHECK(n >= 5, "%lu certificates, the vault shows at least 5",
				      (unsigned long)n);
			sum += n;
			free(by_cls);
			by_cls = NULL;
		}
		CHECK(sum <= n_all, "%lu objects by class, %lu in all", (unsigned long)sum,
		      (unsigned long)n_all);
		if (!T.vault)
			CHECK(sum == n_all, "%lu objects by class, %lu in all",
			      (unsigned long)sum, (unsigned long)n_all);
		free(all);
		free(ones);
		all = ones = NULL;
	}

	/* By CKA_ID and by label. */
	pub = t_key(s, CKO_PUBLIC_KEY, "web-ec");
	REQUIRE(pub != 0 && id_from_components(s, pub, id), "web-ec's public key");
	{
		CK_ATTRIBUTE t[] = { { CKA_ID, id, sizeof(id) } };
		CK_ATTRIBUTE l[] = { { CKA_LABEL, "web-ec", 6 } };
		CK_ATTRIBUTE none[] = { { CKA_LABEL, "no-such-name", 12 } };
		CK_ULONG bits = 2048;
		CK_ATTRIBUTE mismatch[] = {
			{ CKA_LABEL, "web-ec", 6 },
			{ CKA_MODULUS_BITS, &bits, sizeof(bits) },
		};

		n = find_count(s, t, 1);
		CHECK(n == (T.vault ? 3u : 2u), "a find by web-ec's CKA_ID: %lu objects",
		      (unsigned long)n);
		n = t_find(s, l, 1, 1, NULL);
		CHECK(n == (T.vault ? 3u : 2u), "a find by label web-ec: %lu objects",
		      (unsigned long)n);
		CHECK(find_count(s, none, 1) == 0, "a label nobody has finds something");
		CHECK(find_count(s, mismatch, 2) == 0,
		      "web-ec objects with CKA_MODULUS_BITS 2048 were found");
	}
	{
		CK_BBOOL no = CK_FALSE;
		CK_ATTRIBUTE t = { CKA_TOKEN, &no, sizeof(no) };

		CHECK(find_count(s, &t, 1) == 0, "objects with CKA_TOKEN FALSE in a session "
		      "that made none");
	}
	if (T.vault) {
		/* As NSS and p11-kit look certificates up: by issuer and serial,
		 * by subject, by value. */
		CK_OBJECT_HANDLE cert = leaf_cert(s, "web-ec");
		unsigned char *iss = NULL, *ser = NULL, *val = NULL, *sub = NULL;
		CK_ULONG il = 0, sl = 0, vl = 0, ul = 0;
		CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
		CK_CERTIFICATE_TYPE x509 = CKC_X_509;

		REQUIRE(cert != 0, "web-ec's certificate");
		REQUIRE_OK(t_attr(s, cert, CKA_ISSUER, &iss, &il));
		REQUIRE_OK(t_attr(s, cert, CKA_SERIAL_NUMBER, &ser, &sl));
		REQUIRE_OK(t_attr(s, cert, CKA_VALUE, &val, &vl));
		REQUIRE_OK(t_attr(s, cert, CKA_SUBJECT, &sub, &ul));
		{
			CK_ATTRIBUTE t[] = {
				{ CKA_CLASS, &cc, sizeof(cc) }, { CKA_ISSUER, iss, il },
				{ CKA_SERIAL_NUMBER, ser, sl },
			};
			CK_OBJECT_HANDLE *f = NULL;

			n = t_find(s, t, COUNT(t), 0, &f);

			CHECK(n == 1 && f[0] == cert, "a find by issuer and serial gives %lu "
			      "objects", (unsigned long)n);
			free(f);
		}
		{
			CK_ATTRIBUTE t[] = {
				{ CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &x509, sizeof(x509) },
				{ CKA_VALUE, val, vl },
			};
			CK_OBJECT_HANDLE *f = NULL;

			n = t_find(s, t, COUNT(t), 0, &f);

			CHECK(n == 1 && f[0] == cert, "a find by CKA_VALUE gives %lu objects",
			      (unsigned long)n);
			free(f);
		}
		{
			CK_ATTRIBUTE t[] = { { CKA_CLASS, &cc, sizeof(cc) }, { CKA_SUBJECT, sub, ul } };
			CK_OBJECT_HANDLE *f = NULL;

			n = t_find(s, t, COUNT(t), 0, &f);

			CHECK(n >= 1 && has(f, n, cert), "a find by subject gives %lu objects, "
			      "not the certificate", (unsigned long)n);
			free(f);
		}
		/* A value one byte short matches nothing. */
		{
			CK_ATTRIBUTE t[] = { { CKA_VALUE, val, vl - 1 } };

			CHECK(find_count(s, t, 1) == 0, "a find by a truncated CKA_VALUE matches");
		}
		free(iss);
		free(ser);
		free(val);
		free(sub);
	}
}

TEST(find_operation_rules)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0), s2 = t_open(T.slot, 0);
	CK_OBJECT_HANDLE buf[4];
	CK_ULONG n = 0, total = 0, rounds = 0;
	CK_RV rv;

	CHECK_RV(T.f->C_FindObjects(s, buf, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(T.f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	REQUIRE_OK(T.f->C_FindObjectsInit(s, NULL, 0));
	CHECK_RV(T.f->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
	/* Another session's find is its own. */
	CHECK_RV(T.f->C_FindObjectsInit(s2, NULL, 0), CKR_OK);
	CHECK_RV(T.f->C_FindObjectsFinal(s2), CKR_OK);
	/* The first find goes on as if nothing happened. */
	do {
		n = 0;
		rv = T.f->C_FindObjects(s, buf, 1, &n);
		total += n;
	} while (rv == CKR_OK && n > 0 && ++rounds < 1000);
	CHECK(rv == CKR_OK && total > 0, "C_FindObjects after a refused second init: %s, "
	      "%lu objects", t_rv_name(rv), (unsigned long)total);
	CHECK_RV(T.f->C_FindObjects(s, buf, 4, &n), CKR_OK);
	CHECK(n == 0, "C_FindObjects after the end gave %lu more", (unsigned long)n);
	CHECK_RV(T.f->C_FindObjectsFinal(s), CKR_OK);
	CHECK_RV(T.f->C_FindObjects(s, buf, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(T.f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	/* A CKA_CLASS of 2 bytes matches nothing (or is refused). */
	{
		CK_OBJECT_CLASS c = CKO_CERTIFICATE;
		CK_ATTRIBUTE t = { CKA_CLASS, &c, 2 };
		CK_OBJECT_HANDLE f[4];
		CK_ULONG fn = 0;

		rv = T.f->C_FindObjectsInit(s, &t, 1);
		if (rv == CKR_OK) {
			rv = T.f->C_FindObjects(s, f, 4, &fn);
			CHECK(rv == CKR_OK && fn == 0, "a 2-byte CKA_CLASS in a template "
			      "matches %lu objects (%s)", (unsigned long)fn, t_rv_name(rv));
			T.f->C_FindObjectsFinal(s);
		} else {
			CHECK(rv == CKR_ATTRIBUTE_VALUE_INVALID, "C_FindObjectsInit with a "
			      "2-byte CKA_CLASS: %s", t_rv_name(rv));
		}
	}
	/* A template with a NULL value pointer and a length is bad (SoftHSM
	 * reads through it and crashes). */
	if (T.kind == T_SOFTHSM) {
		t_softhsm_differs("find-null-value", "C_FindObjectsInit({CKA_LABEL, NULL, 6}) "
				  "crashes SoftHSMv2; not called");
	} else {
		CK_ATTRIBUTE t = { CKA_LABEL, NULL, 6 };

		rv = T.f->C_FindObjectsInit(s, &t, 1);
		t_diag("C_FindObjectsInit({CKA_LABEL, NULL, 6}): %s", t_rv_name(rv));
		CHECK(rv == CKR_ARGUMENTS_BAD || rv == CKR_ATTRIBUTE_VALUE_INVALID,
		      "C_FindObjectsInit({CKA_LABEL, NULL, 6}) returned %s", t_rv_name(rv));
		if (rv == CKR_OK)
			T.f->C_FindObjectsFinal(s);
	}
}

/* Logged in, the empty template finds every object; any other handle near
 * theirs (or far) must be invalid, not a phantom object. */
TEST(unlisted_handles)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE *all = NULL, c;
	CK_ULONG n, i, k, tried = 0;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	CK_RV rv;
	int phantoms = 0;

	t_login(s, CKU_USER);
	n = t_find(s, NULL, 0, 0, &all);
	REQUIRE(n > 0, "no objects");
	for (i = 0; i < n; i++) {
		for (k = 0; k < 40; k++) {
			switch (k % 4) {
			case 0: c = all[i] + 1 + k / 4; break;
			case 1: c = all[i] - 1 - k / 4; break;
			case 2: c = all[i] ^ ((CK_OBJECT_HANDLE)1 << (k / 4 + 4)); break;
			default: c = all[i] | ((CK_OBJECT_HANDLE)1 << (63 - k / 4)); break;
			}
			if (c == CK_INVALID_HANDLE || has(all, n, c))
				continue;
			tried++;
			cls = (CK_OBJECT_CLASS)-1;
			rv = T.f->C_GetAttributeValue(s, c, &a, 1);
			if (rv != CKR_OBJECT_HANDLE_INVALID && phantoms++ < 5)
				CHECK(0, "handle 0x%lx, which no find gave, answers %s (class %ld)",
				      (unsigned long)c, t_rv_name(rv), (long)cls);
		}
	}
	CHECK(phantoms == 0, "%d handles no find gave answer C_GetAttributeValue", phantoms);
	t_diag("%lu handles tried beside %lu objects", (unsigned long)tried, (unsigned long)n);
	free(all);
}

TEST(pending_certificate)
{
	CK_SESSION_HANDLE s;
	unsigned bits;
	CK_ULONG n;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	bits = classes_of_label(s, "pending", &n);
	CHECK(bits == CLS_BIT(CKO_PUBLIC_KEY) && n == 1,
	      "pending, public session: %lu objects, classes 0x%x, want its public key",
	      (unsigned long)n, bits);
	t_login(s, CKU_USER);
	bits = classes_of_label(s, "pending", &n);
	CHECK(bits == (CLS_BIT(CKO_PUBLIC_KEY) | CLS_BIT(CKO_PRIVATE_KEY)) && n == 2,
	      "pending, logged in: %lu objects, classes 0x%x, want a key pair and no "
	      "certificate", (unsigned long)n, bits);
}

TEST(disabled_certificate)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE h;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	CK_RV rv;
	unsigned char sig[128];
	CK_ULONG len = sizeof(sig);

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	h = t_find_label(s, CKO_PRIVATE_KEY, "disabled");
	REQUIRE(h != 0, "the disabled certificate's private key is not shown");
	rv = T.f->C_SignInit(s, &m, h);
	if (rv == CKR_OK) {
		rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len);
		CHECK(rv == CKR_KEY_FUNCTION_NOT_PERMITTED,
		      "a disabled certificate's key: C_SignInit OK, C_Sign %s, want "
		      "CKR_KEY_FUNCTION_NOT_PERMITTED", t_rv_name(rv));
	} else {
		CHECK(rv == CKR_KEY_FUNCTION_NOT_PERMITTED,
		      "a disabled certificate's key: C_SignInit %s, want "
		      "CKR_KEY_FUNCTION_NOT_PERMITTED", t_rv_name(rv));
	}
}

TEST(tool_writes_seen_live)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert, priv;
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	char path[4096];
	FILE *fp;
	unsigned char sig[128];
	CK_ULONG len;
	CK_RV rv;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	CHECK(t_find_label(s, CKO_CERTIFICATE, "live") == 0, "live exists already");
	snprintf(path, sizeof(path), "%s/p-live.json", T.work);
	REQUIRE((fp = fopen(path, "w")) != NULL, "%s", path);
	fputs("{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	      "\"x509_props\":{\"subject\":\"CN=live\"},\"issuer\":{\"name\":\"Self\"}}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "certificate create --name live --policy @'%s/p-live.json'",
		 T.work);
	REQUIRE(tool(path) == 0, "certvault certificate create live failed (tool.log)");
	cert = t_find_label(s, CKO_CERTIFICATE, "live");
	CHECK(cert != 0, "a certificate the tool made while the module is loaded is not "
	      "found by the next C_FindObjects");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "live");
	REQUIRE(priv != 0, "live's private key is not found");
	len = sizeof(sig);
	REQUIRE_OK(T.f->C_SignInit(s, &m, priv));
	CHECK_RV(T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len), CKR_OK);

	/* Disabled by the tool: the key refuses at once. */
	REQUIRE(tool("certificate set-attributes --name live --enabled false") == 0,
		"certvault certificate set-attributes failed (tool.log)");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "live");
	REQUIRE(priv != 0, "live's private key vanished when disabled");
	rv = T.f->C_SignInit(s, &m, priv);
	if (rv == CKR_OK) {
		len = sizeof(sig);
		rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len);
	}
	CHECK(rv == CKR_KEY_FUNCTION_NOT_PERMITTED, "a key the tool disabled while the "
	      "module is loaded signs: %s", t_rv_name(rv));

	/* A new version: the objects are the new version's, three of them,
	 * and its key signs. */
	{
		unsigned char *old_der = NULL, *new_der = NULL, id[20];
		CK_ULONG old_len = 0, new_len = 0, n;
		CK_OBJECT_HANDLE pub, *found = NULL;
		EVP_PKEY *pk;
		CK_ATTRIBUTE lt = { CKA_LABEL, "live", 4 };

		REQUIRE(cert != 0, "live's certificate");
		REQUIRE_OK(t_attr(s, cert, CKA_VALUE, &old_der, &old_len));
		REQUIRE(tool(path) == 0, "certvault certificate create live (a new version) "
			"failed (tool.log)");
		n = t_find(s, &lt, 1, 0, &found);
		CHECK(n == 3, "after a new version %lu objects are labelled live, want 3",
		      (unsigned long)n);
		free(found);
		cert = leaf_cert(s, "live");
		if (CHECK(cert != 0, "live's certificate is gone after a new version") &&
		    t_attr(s, cert, CKA_VALUE, &new_der, &new_len) == CKR_OK)
			CHECK(new_len != old_len || memcmp(new_der, old_der, new_len) != 0,
			      "live's certificate object still shows the old version");
		pub = t_find_label(s, CKO_PUBLIC_KEY, "live");
		priv = t_find_label(s, CKO_PRIVATE_KEY, "live");
		REQUIRE(pub != 0 && priv != 0, "live's new keys");
		if (id_from_components(s, pub, id)) {
			CHECK(attr_eq(s, cert, CKA_ID, id, 20) && attr_eq(s, priv, CKA_ID, id, 20),
			      "the new version's objects do not share its key's CKA_ID");
		}
		pk = t_public_pkey(s, cert);
		len = sizeof(sig);
		rv = T.f->C_SignInit(s, &m, priv);
		if (rv == CKR_OK)
			rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len);
		CHECK(rv == CKR_OK && pk != NULL &&
		      t_openssl_verify(pk, CKM_ECDSA_SHA256, NULL, MSG, sizeof(MSG), sig, len),
		      "the new version's key: C_Sign %s, or the signature does not verify with "
		      "the new certificate", t_rv_name(rv));
		EVP_PKEY_free(pk);
		free(old_der);
		free(new_der);
	}
}

/* DESIGN and issue 9: a certificate the tool deletes vanishes from the
 * token at once (a handle an application holds is then invalid, by design),
 * a recovered one comes back with the same CKA_ID, and C_DestroyObject of a
 * certificate's object is a soft delete the tool can undo. */
static int
sign_with(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_RV *init_rv)
{
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	unsigned char sig[128];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	rv = T.f->C_SignInit(s, &m, priv);
	*init_rv = rv;
	if (rv == CKR_OK)
		rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len);
	return rv == CKR_OK;
}

TEST(deleted_certificate_vanishes)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cert, pub, priv, again;
	unsigned char *id = NULL, *id2 = NULL, label[16];
	CK_ULONG id_len = 0, id2_len = 0;
	CK_ATTRIBUTE a = { CKA_LABEL, label, sizeof(label) };
	char path[4096];
	FILE *fp;
	CK_RV rv = CKR_OK;

	VAULT_ONLY();
	s = t_open(T.slot, 1);
	t_login(s, CKU_USER);
	snprintf(path, sizeof(path), "%s/p-gone.json", T.work);
	REQUIRE((fp = fopen(path, "w")) != NULL, "%s", path);
	fputs("{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	      "\"x509_props\":{\"subject\":\"CN=gone\"},\"issuer\":{\"name\":\"Self\"}}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "certificate create --name gone --policy @'%s/p-gone.json'",
		 T.work);
	REQUIRE(tool(path) == 0, "certvault certificate create gone failed (tool.log)");
	cert = t_find_label(s, CKO_CERTIFICATE, "gone");
	pub = t_find_label(s, CKO_PUBLIC_KEY, "gone");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "gone");
	REQUIRE(cert != 0 && pub != 0 && priv != 0, "gone's three objects");
	REQUIRE_OK(t_attr(s, priv, CKA_ID, &id, &id_len));
	REQUIRE(sign_with(s, priv, &rv), "gone's key signs before the delete: %s",
		t_rv_name(rv));

	REQUIRE(tool("certificate delete --name gone") == 0,
		"certvault certificate delete gone failed (tool.log)");
	(void)sign_with(s, priv, &rv);
	CHECK(rv == CKR_KEY_HANDLE_INVALID, "a deleted certificate's key handle: C_SignInit "
	      "%s, want CKR_KEY_HANDLE_INVALID", t_rv_name(rv));
	CHECK_RV(T.f->C_GetAttributeValue(s, cert, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	a.ulValueLen = sizeof(label);
	CHECK_RV(T.f->C_GetAttributeValue(s, pub, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CHECK(t_find_label(s, CKO_CERTIFICATE, "gone") == 0 &&
	      t_find_label(s, CKO_PRIVATE_KEY, "gone") == 0 &&
	      t_find_label(s, CKO_PUBLIC_KEY, "gone") == 0,
	      "a deleted certificate's objects are still found by label");
	{
		CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE by_id[2] = {
			{ CKA_CLASS, &pk, sizeof(pk) }, { CKA_ID, id, id_len },
		};

		CHECK(t_find(s, by_id, 2, 0, NULL) == 0,
		      "a deleted certificate's private key is still found by CKA_ID");
	}

	REQUIRE(tool("certificate recover --name gone") == 0,
		"certvault certificate recover gone failed (tool.log)");
	again = t_find_label(s, CKO_PRIVATE_KEY, "gone");
	REQUIRE(again != 0, "a recovered certificate's private key is not found");
	REQUIRE_OK(t_attr(s, again, CKA_ID, &id2, &id2_len));
	CHECK(id2_len == id_len && memcmp(id, id2, id_len) == 0,
	      "a recovered certificate's key has another CKA_ID");
	CHECK(sign_with(s, again, &rv), "a recovered certificate's key: %s", t_rv_name(rv));
	CHECK(sign_with(s, priv, &rv), "the handle held from before the delete, after the "
	      "recover: %s", t_rv_name(rv));

	/* C_DestroyObject of its certificate object: a soft delete. */
	cert = t_find_label(s, CKO_CERTIFICATE, "gone");
	REQUIRE(cert != 0, "gone's certificate after the recover");
	CHECK_RV(T.f->C_DestroyObject(s, cert), CKR_OK);
	CHECK(t_find_label(s, CKO_PRIVATE_KEY, "gone") == 0,
	      "C_DestroyObject of the certificate left its private key");
	CHECK(tool("certificate show-deleted --name gone") == 0,
	      "after C_DestroyObject gone is not a deleted certificate the tool can recover");
	REQUIRE(tool("certificate recover --name gone") == 0,
		"certvault certificate recover gone (after C_DestroyObject) failed");
	/* ... and of its private key: the same. */
	priv = t_find_label(s, CKO_PRIVATE_KEY, "gone");
	REQUIRE(priv != 0, "gone's private key after the second recover");
	CHECK_RV(T.f->C_DestroyObject(s, priv), CKR_OK);
	CHECK(t_find_label(s, CKO_CERTIFICATE, "gone") == 0,
	      "C_DestroyObject of the private key left its certificate");
	CHECK(tool("certificate purge --name gone") == 0, "purge gone failed (tool.log)");
	free(id);
	free(id2);
}

/* --- Crypto ------------------------------------------------------------------------ */

/* CKA_ALLOWED_MECHANISMS, when a key has a list: what it may be used with. */
static int
allowed(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE m)
{
	unsigned char *v = NULL;
	CK_ULONG len = 0, i;
	CK_MECHANISM_TYPE t;
	int ok = 1;

	if (t_attr(s, key, CKA_ALLOWED_MECHANISMS, &v, &len) == CKR_OK && len > 0) {
		ok = 0;
		for (i = 0; i + sizeof(t) <= len; i += sizeof(t)) {
			memcpy(&t, v + i, sizeof(t));
			if (t == m)
				ok = 1;
		}
	}
	free(v);
	return ok;
}

static void
sign_all(const char *name, const CK_MECHANISM_TYPE *mechs, size_t n)
{
	keyset k;
	size_t i;

	keyset_open(&k, name, 0);
	for (i = 0; i < n; i++) {
		if (!has_mech(MECHS, N_MECHS, mechs[i])) {
			CHECK_REF(0, "ecdsa-hash-mechanisms", "%s: %s is not offered", name,
				  t_mech_name(mechs[i]));
			continue;
		}
		CHECK(allowed(k.s, k.priv, mechs[i]), "%s: %s is not in the private key's "
		      "CKA_ALLOWED_MECHANISMS, yet the suite signs with it", name,
		      t_mech_name(mechs[i]));
		sign_verify(k.s, k.priv, k.pub, k.pkey, mechs[i], k.sig_len);
	}
	if (k.cert != 0) {
		/* The certificate's key is the key that signs. */
		EVP_PKEY *cp = t_public_pkey(k.s, k.cert);

		CHECK(cp != NULL && EVP_PKEY_eq(cp, k.pkey) == 1,
		      "%s: the certificate's key is not the public key object's", name);
		EVP_PKEY_free(cp);
	}
	keyset_close(&k);
}

TEST(sign_rsa)
{
	static const CK_MECHANISM_TYPE mechs[] = {
		CKM_RSA_PKCS, CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS,
		CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
		CKM_RSA_PKCS_PSS, CKM_SHA1_RSA_PKCS_PSS, CKM_SHA224_RSA_PKCS_PSS,
		CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS, CKM_SHA512_RSA_PKCS_PSS,
	};

	sign_all("web-rsa", mechs, COUNT(mechs));
}

static const CK_MECHANISM_TYPE ECDSA_MECHS[] = {
	CKM_ECDSA, CKM_ECDSA_SHA1, CKM_ECDSA_SHA224, CKM_ECDSA_SHA256,
	CKM_ECDSA_SHA384, CKM_ECDSA_SHA512,
};

TEST(sign_ec_p256)
{
	sign_all("web-ec", ECDSA_MECHS, COUNT(ECDSA_MECHS));
}

TEST(sign_ec_p384)
{
	sign_all("web-ec384", ECDSA_MECHS, COUNT(ECDSA_MECHS));
}

static size_t
ossl_encrypt(EVP_PKEY *pkey, int pad, const EVP_MD *md, const unsigned char *in,
	     size_t in_len, unsigned char *out, size_t cap)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	size_t len = cap;
	int ok;

	ok = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, pad) > 0 &&
	     (md == NULL || (EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0 &&
			     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0)) &&
	     EVP_PKEY_encrypt(ctx, out, &len, in, in_len) > 0;
	EVP_PKEY_CTX_free(ctx);
	return ok ? len : 0;
}

static void
decrypt_case(keyset *k, CK_MECHANISM *m, const unsigned char *ct, size_t ct_len,
	     const char *what, const char *ref)
{
	unsigned char pt[512];
	CK_ULONG len;
	CK_RV rv;

	rv = T.f->C_DecryptInit(k->s, m, k->priv);
	if (rv != CKR_OK) {
		if (ref != NULL)
			CHECK_REF(0, ref, "%s: C_DecryptInit returned %s", what, t_rv_name(rv));
		else
			CHECK(0, "%s: C_DecryptInit returned %s", what, t_rv_name(rv));
		return;
	}
	len = 0;
	rv = T.f->C_Decrypt(k->s, (CK_BYTE_PTR)ct, ct_len, NULL, &len);
	CHECK(rv == CKR_OK && len >= sizeof(MSG) - 100,
	      "%s: C_Decrypt(NULL) returned %s, length %lu", what, t_rv_name(rv),
	      (unsigned long)len);
	len = sizeof(pt);
	rv = T.f->C_Decrypt(k->s, (CK_BYTE_PTR)ct, ct_len, pt, &len);
	CHECK(rv == CKR_OK && len == 32 && memcmp(pt, MSG, 32) == 0,
	      "%s: C_Decrypt returned %s, %lu bytes%s", what, t_rv_name(rv),
	      (unsigned long)len, rv == CKR_OK ? " (not the plaintext)" : "");
}

TEST(decrypt_rsa)
{
	keyset k;
	unsigned char ct[512];
	size_t ct_len;
	CK_RSA_PKCS_OAEP_PARAMS o1 = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS o256 = { CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED,
					 NULL, 0 };
	CK_MECHANISM m1 = { CKM_RSA_PKCS_OAEP, &o1, sizeof(o1) };
	CK_MECHANISM m256 = { CKM_RSA_PKCS_OAEP, &o256, sizeof(o256) };
	CK_MECHANISM pk = { CKM_RSA_PKCS, NULL, 0 };

	keyset_open(&k, "web-rsa", 0);
	CHECK(allowed(k.s, k.priv, CKM_RSA_PKCS_OAEP) && allowed(k.s, k.priv, CKM_RSA_PKCS),
	      "web-rsa: CKA_ALLOWED_MECHANISMS leaves out the decryption mechanisms");
	ct_len = ossl_encrypt(k.pkey, RSA_PKCS1_OAEP_PADDING, EVP_sha1(), MSG, 32, ct,
			      sizeof(ct));
	REQUIRE(ct_len == 256, "OpenSSL OAEP encryption");
	decrypt_case(&k, &m1, ct, ct_len, "OAEP SHA-1", NULL);
	ct_len = ossl_encrypt(k.pkey, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), MSG, 32, ct,
			      sizeof(ct));
	REQUIRE(ct_len == 256, "OpenSSL OAEP-SHA256 encryption");
	decrypt_case(&k, &m256, ct, ct_len, "OAEP SHA-256", "oaep-sha256");
	ct_len = ossl_encrypt(k.pkey, RSA_PKCS1_PADDING, NULL, MSG, 32, ct, sizeof(ct));
	REQUIRE(ct_len == 256, "OpenSSL PKCS#1 v1.5 encryption");
	decrypt_case(&k, &pk, ct, ct_len, "CKM_RSA_PKCS", NULL);
	keyset_close(&k);
}

/* Parameters beyond the defaults: PSS salt lengths and MGF hashes, an OAEP
 * label, ECDSA input longer than the curve, raw RSA on any bytes. */
TEST(mechanism_variants)
{
	static const struct {
		CK_MECHANISM_TYPE mech;
		CK_RSA_PKCS_PSS_PARAMS p;
	} pss[] = {
		{ CKM_SHA256_RSA_PKCS_PSS, { CKM_SHA256, CKG_MGF1_SHA256, 0 } },
		{ CKM_SHA256_RSA_PKCS_PSS, { CKM_SHA256, CKG_MGF1_SHA1, 32 } },
		{ CKM_SHA384_RSA_PKCS_PSS, { CKM_SHA384, CKG_MGF1_SHA384, 48 } },
		{ CKM_RSA_PKCS_PSS, { CKM_SHA512, CKG_MGF1_SHA512, 64 } },
	};
	keyset k, e;
	CK_MECHANISM m;
	CK_RSA_PKCS_PSS_PARAMS p;
	unsigned char in[64], sig[512], ct[512], pt[512];
	CK_ULONG in_len, len;
	size_t i, ct_len;
	unsigned int hl;
	CK_RV rv;

	keyset_open(&k, "web-rsa", 0);
	for (i = 0; i < COUNT(pss); i++) {
		p = pss[i].p;
		m.mechanism = pss[i].mech;
		m.pParameter = &p;
		m.ulParameterLen = sizeof(p);
		if (pss[i].mech == CKM_RSA_PKCS_PSS) {
			EVP_Digest(MSG, sizeof(MSG), in, &hl, t_md_of(p.hashAlg), NULL);
			in_len = hl;
		} else {
			memcpy(in, MSG, 64);
			in_len = 64;
		}
		len = sizeof(sig);
		rv = T.f->C_SignInit(k.s, &m, k.priv);
		if (rv == CKR_OK)
			rv = T.f->C_Sign(k.s, in, in_len, sig, &len);
		if (!CHECK_REF(rv == CKR_OK, "pss-mgf", "%s hash 0x%lx mgf %lu sLen %lu: %s",
			       t_mech_name(m.mechanism), (unsigned long)p.hashAlg,
			       (unsigned long)p.mgf, (unsigned long)p.sLen, t_rv_name(rv)))
			continue;
		CHECK(t_openssl_verify(k.pkey, m.mechanism, &p, in, in_len, sig, len),
		      "%s hash 0x%lx mgf %lu sLen %lu: OpenSSL does not verify",
		      t_mech_name(m.mechanism), (unsigned long)p.hashAlg,
		      (unsigned long)p.mgf, (unsigned long)p.sLen);
	}
	/* Raw PKCS#1 v1.5 over bytes that are no DigestInfo. */
	m.mechanism = CKM_RSA_PKCS;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	len = sizeof(sig);
	rv = T.f->C_SignInit(k.s, &m, k.priv);
	if (rv == CKR_OK)
		rv = T.f->C_Sign(k.s, (CK_BYTE_PTR)MSG, 36, sig, &len);
	CHECK(rv == CKR_OK && t_openssl_verify(k.pkey, CKM_RSA_PKCS, NULL, MSG, 36, sig, len),
	      "CKM_RSA_PKCS over 36 plain bytes: %s", t_rv_name(rv));
	/* OAEP with a label. */
	{
		static const char label[] = "certvault";
		CK_RSA_PKCS_OAEP_PARAMS o = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED,
					      (void *)label, sizeof(label) - 1 };
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k.pkey, NULL);
		unsigned char *l = OPENSSL_memdup(label, sizeof(label) - 1);

		ct_len = sizeof(ct);
		REQUIRE(c != NULL && l != NULL && EVP_PKEY_encrypt_init(c) > 0 &&
			EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0 &&
			EVP_PKEY_CTX_set0_rsa_oaep_label(c, l, (int)sizeof(label) - 1) > 0 &&
			EVP_PKEY_encrypt(c, ct, &ct_len, MSG, 32) > 0, "OpenSSL OAEP with a label");
		EVP_PKEY_CTX_free(c);
		m.mechanism = CKM_RSA_PKCS_OAEP;
		m.pParameter = &o;
		m.ulParameterLen = sizeof(o);
		len = sizeof(pt);
		rv = T.f->C_DecryptInit(k.s, &m, k.priv);
		if (rv == CKR_OK)
			rv = T.f->C_Decrypt(k.s, ct, ct_len, pt, &len);
		CHECK_REF(rv == CKR_OK && len == 32 && memcmp(pt, MSG, 32) == 0, "oaep-label",
			  "OAEP with the label \"certvault\": %s, %lu bytes", t_rv_name(rv),
			  (unsigned long)len);
		/* Without the label the same ciphertext is invalid. */
		o.pSourceData = NULL;
		o.ulSourceDataLen = 0;
		len = sizeof(pt);
		rv = T.f->C_DecryptInit(k.s, &m, k.priv);
		if (rv == CKR_OK)
			rv = T.f->C_Decrypt(k.s, ct, ct_len, pt, &len);
		CHECK_REF(rv == CKR_ENCRYPTED_DATA_INVALID, "oaep-label", "OAEP with a "
			  "label, decrypted without it: %s", t_rv_name(rv));
	}
	keyset_close(&k);

	/* ECDSA over more bytes than the order has: the leftmost bits count. */
	keyset_open(&e, "web-ec", 0);
	EVP_Digest(MSG, sizeof(MSG), in, &hl, EVP_sha512(), NULL);
	m.mechanism = CKM_ECDSA;
	m.pParameter = NULL;
	m.ulParameterLen = 0;
	len = sizeof(sig);
	rv = T.f->C_SignInit(e.s, &m, e.priv);
	if (rv == CKR_OK)
		rv = T.f->C_Sign(e.s, in, hl, sig, &len);
	CHECK(rv == CKR_OK && len == 64 &&
	      t_openssl_verify(e.pkey, CKM_ECDSA, NULL, in, hl, sig, len),
	      "CKM_ECDSA over a 64-byte SHA-512 digest with P-256: %s, %lu bytes",
	      t_rv_name(rv), (unsigned long)len);
	keyset_close(&e);
}

TEST(sign_buffer_protocol)
{
	const char *names[] = { "web-rsa", "web-ec" };
	CK_MECHANISM m;
	unsigned char sig[1024];
	const unsigned char *in;
	CK_ULONG len, in_len;
	keyset k;
	size_t i;
	CK_RV rv;

	for (i = 0; i < COUNT(names); i++) {
		keyset_open(&k, names[i], 0);
		m.mechanism = i == 0 ? CKM_SHA256_RSA_PKCS : EC_MECH;
		m.pParameter = NULL;
		m.ulParameterLen = 0;
		in = i == 0 ? MSG : ec_input(&in_len);
		if (i == 0)
			in_len = sizeof(MSG);
		REQUIRE_OK(T.f->C_SignInit(k.s, &m, k.priv));
		len = 0;
		rv = T.f->C_Sign(k.s, (CK_BYTE_PTR)in, in_len, NULL, &len);
		CHECK(rv == CKR_OK && len >= k.sig_len, "%s: C_Sign(NULL) returned %s, %lu",
		      names[i], t_rv_name(rv), (unsigned long)len);
		/* Still active: a second init is refused. */
		CHECK_RV(T.f->C_SignInit(k.s, &m, k.priv), CKR_OPERATION_ACTIVE);
		len = 10;
		rv = T.f->C_Sign(k.s, (CK_BYTE_PTR)in, in_len, sig, &len);
		CHECK(rv == CKR_BUFFER_TOO_SMALL && len >= k.sig_len,
		      "%s: C_Sign into 10 bytes returned %s, length %lu", names[i],
		      t_rv_name(rv), (unsigned long)len);
		len = sizeof(sig);
		rv = T.f->C_Sign(k.s, (CK_BYTE_PTR)in, in_len, sig, &len);
		CHECK(rv == CKR_OK && len == k.sig_len, "%s: C_Sign after the length "
		      "queries returned %s, %lu bytes", names[i], t_rv_name(rv),
		      (unsigned long)len);
		if (rv == CKR_OK)
			CHECK(t_openssl_verify(k.pkey, m.mechanism, NULL, in, in_len,
					       sig, len),
			      "%s: the signature does not verify", names[i]);
		/* The operation ended with the signature. */
		len = sizeof(sig);
		CHECK_RV(T.f->C_Sign(k.s, (CK_BYTE_PTR)in, in_len, sig, &len),
			 CKR_OPERATION_NOT_INITIALIZED);
		/* The same for C_SignFinal (hashing mechanisms). */
		if (m.mechanism != CKM_ECDSA) {
			REQUIRE_OK(T.f->C_SignInit(k.s, &m, k.priv));
			CHECK_RV(T.f->C_SignUpdate(k.s, (CK_BYTE_PTR)in, in_len), CKR_OK);
			len = 10;
			rv = T.f->C_SignFinal(k.s, sig, &len);
			CHECK(rv == CKR_BUFFER_TOO_SMALL && len >= k.sig_len,
			      "%s: C_SignFinal into 10 bytes returned %s, length %lu", names[i],
			      t_rv_name(rv), (unsigned long)len);
			len = sizeof(sig);
			rv = T.f->C_SignFinal(k.s, sig, &len);
			CHECK(rv == CKR_OK && len == k.sig_len &&
			      t_openssl_verify(k.pkey, m.mechanism, NULL, in, in_len, sig, len),
			      "%s: C_SignFinal after a short buffer: %s, %lu bytes", names[i],
			      t_rv_name(rv), (unsigned long)len);
			len = sizeof(sig);
			CHECK_RV(T.f->C_SignFinal(k.s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
		}
		keyset_close(&k);
	}
}

TEST(operation_rules)
{
	keyset k;
	CK_MECHANISM m = { EC_MECH, NULL, 0 };
	unsigned char sig[256];
	CK_ULONG len = sizeof(sig), in_len;
	const unsigned char *in = ec_input(&in_len);

	keyset_open(&k, "web-ec", 0);
	CHECK_RV(T.f->C_Sign(k.s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len),
		 CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(T.f->C_SignUpdate(k.s, (CK_BYTE_PTR)MSG, sizeof(MSG)),
		 CKR_OPERATION_NOT_INITIALIZED);
	len = sizeof(sig);
	CHECK_RV(T.f->C_SignFinal(k.s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(T.f->C_Verify(k.s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, 64),
		 CKR_OPERATION_NOT_INITIALIZED);
	len = sizeof(sig);
	CHECK_RV(T.f->C_Decrypt(k.s, sig, 64, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
	len = sizeof(sig);
	CHECK_RV(T.f->C_Digest(k.s, (CK_BYTE_PTR)MSG, 8, sig, &len),
		 CKR_OPERATION_NOT_INITIALIZED);

	REQUIRE_OK(T.f->C_SignInit(k.s, &m, k.priv));
	CHECK_RV(T.f->C_SignInit(k.s, &m, k.priv), CKR_OPERATION_ACTIVE);
	/* The refused init left the first one as it was. */
	len = sizeof(sig);
	CHECK_RV(T.f->C_Sign(k.s, (CK_BYTE_PTR)in, in_len, sig, &len), CKR_OK);
	CHECK(t_openssl_verify(k.pkey, EC_MECH, NULL, in, in_len, sig, len),
	      "the signature after a refused C_SignInit does not verify");


	keyset_close(&k);
}

/* An init the token must refuse, in a session of its own (a wrong
 * success leaves an operation active). */
static void
init_refused2(CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE),
	      const char *what, CK_MECHANISM *m, CK_OBJECT_HANDLE key, CK_RV want,
	      CK_RV also, const char *ref)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_RV rv = init(s, m, key);
	int ok = rv == want || (also != T_NONE && rv == also);

	if (ref != NULL)
		CHECK_REF(ok, ref, "%s returned %s, want %s", what, t_rv_name(rv),
			  t_rv_name(want));
	else
		CHECK(ok, "%s returned %s, want %s", what, t_rv_name(rv), t_rv_name(want));
	T.f->C_CloseSession(s);
}

static void
init_refused(CK_RV (*init)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE),
	     const char *what, CK_MECHANISM *m, CK_OBJECT_HANDLE key, CK_RV want,
	     const char *ref)
{
	init_refused2(init, what, m, key, want, T_NONE, ref);
}

TEST(length_errors)
{
	keyset k, e;
	CK_MECHANISM pk = { CKM_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS o1 = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &o1, sizeof(o1) };
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	unsigned char big[512], out[512], ct[512];
	CK_ULONG len;
	size_t ct_len;
	CK_RV rv;

	memset(big, 0x5a, sizeof(big));
	keyset_open(&k, "web-rsa", 0);
	/* PKCS#1 v1.5 signs at most k - 11 bytes. */
	REQUIRE_OK(T.f->C_SignInit(k.s, &pk, k.priv));
	len = sizeof(out);
	CHECK_RV_REF(T.f->C_Sign(k.s, big, 246, out, &len), CKR_DATA_LEN_RANGE,
		     "length-errors");
	len = sizeof(out);
	CHECK_RV(T.f->C_Sign(k.s, big, 20, out, &len), CKR_OPERATION_NOT_INITIALIZED);
	/* A signature of the wrong length. */
	REQUIRE_OK(T.f->C_VerifyInit(k.s, &pk, k.pub));
	CHECK_RV(T.f->C_Verify(k.s, big, 20, big, 255), CKR_SIGNATURE_LEN_RANGE);
	/* Ciphertext of the wrong length, and garbage. */
	REQUIRE_OK(T.f->C_DecryptInit(k.s, &pk, k.priv));
	len = sizeof(out);
	CHECK_RV_REF(T.f->C_Decrypt(k.s, big, 255, out, &len), CKR_ENCRYPTED_DATA_LEN_RANGE,
		     "length-errors");
	REQUIRE_OK(T.f->C_DecryptInit(k.s, &oaep, k.priv));
	big[0] = 0;
	len = sizeof(out);
	CHECK_RV_REF(T.f->C_Decrypt(k.s, big, 256, out, &len), CKR_ENCRYPTED_DATA_INVALID,
		     "length-errors");
	/* C_Decrypt's short buffer keeps the operation. */
	ct_len = ossl_encrypt(k.pkey, RSA_PKCS1_OAEP_PADDING, EVP_sha1(), MSG, 32, ct,
			      sizeof(ct));
	REQUIRE(ct_len == 256, "OpenSSL OAEP encryption");
	REQUIRE_OK(T.f->C_DecryptInit(k.s, &oaep, k.priv));
	len = 8;
	rv = T.f->C_Decrypt(k.s, ct, ct_len, out, &len);
	CHECK(rv == CKR_BUFFER_TOO_SMALL && len >= 32, "C_Decrypt into 8 bytes: %s, "
	      "length %lu", t_rv_name(rv), (unsigned long)len);
	len = sizeof(out);
	rv = T.f->C_Decrypt(k.s, ct, ct_len, out, &len);
	CHECK(rv == CKR_OK && len == 32 && memcmp(out, MSG, 32) == 0,
	      "C_Decrypt after a short buffer: %s, %lu bytes", t_rv_name(rv),
	      (unsigned long)len);
	keyset_close(&k);

	keyset_open(&e, "web-ec", 0);
	REQUIRE_OK(T.f->C_VerifyInit(e.s, &ecdsa, e.pub));
	CHECK_RV(T.f->C_Verify(e.s, MSG_SHA256, 32, big, 63), CKR_SIGNATURE_LEN_RANGE);
	keyset_close(&e);
}

/* CKU_CONTEXT_SPECIFIC with no operation active (C_Login). */
TEST(context_specific_login)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);

	t_login(s, CKU_USER);
	CHECK_RV(T.f->C_Login(s, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)T.user_pin,
			      strlen(T.user_pin)), CKR_OPERATION_NOT_INITIALIZED);
	CHECK(t_state(s) == CKS_RO_USER_FUNCTIONS, "the session left the user state");
}

TEST(wrong_key_type)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE rsa, ec, rsa_pub;
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_MECHANISM rsam = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_RSA_PKCS_OAEP_PARAMS o1 = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0 };
	CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &o1, sizeof(o1) };

	t_login(s, CKU_USER);   /* held by s while the checks use sessions of their own */
	rsa = t_key(s, CKO_PRIVATE_KEY, "web-rsa");
	ec = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	rsa_pub = t_key(s, CKO_PUBLIC_KEY, "web-rsa");
	REQUIRE(rsa != 0 && ec != 0 && rsa_pub != 0, "the keys of web-rsa and web-ec");
	init_refused(T.f->C_SignInit, "C_SignInit(CKM_ECDSA, RSA key)", &ecdsa, rsa,
		     CKR_KEY_TYPE_INCONSISTENT, "key-type-check");
	init_refused(T.f->C_SignInit, "C_SignInit(CKM_SHA256_RSA_PKCS, EC key)", &rsam, ec,
		     CKR_KEY_TYPE_INCONSISTENT, "key-type-check");
	{
		/* EC keys have no CKA_DECRYPT either: both answers are right. */
		CK_SESSION_HANDLE s2 = t_open(T.slot, 0);

		CHECK_RV2(T.f->C_DecryptInit(s2, &oaep, ec), CKR_KEY_TYPE_INCONSISTENT,
			  CKR_KEY_FUNCTION_NOT_PERMITTED);
		T.f->C_CloseSession(s2);
	}
	init_refused(T.f->C_VerifyInit, "C_VerifyInit(CKM_ECDSA, RSA public key)", &ecdsa,
		     rsa_pub, CKR_KEY_TYPE_INCONSISTENT, "key-type-check");
	/* The wrong class of key: either answer fits. */
	init_refused2(T.f->C_SignInit, "C_SignInit(CKM_SHA256_RSA_PKCS, RSA public key)",
		      &rsam, rsa_pub, CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED,
		      "key-type-check");
	init_refused2(T.f->C_DecryptInit, "C_DecryptInit(CKM_RSA_PKCS_OAEP, RSA public key)",
		      &oaep, rsa_pub, CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED,
		      "key-type-check");
	/* Mechanisms of another operation. */
	{
		CK_MECHANISM sha = { CKM_SHA256, NULL, 0 };

		init_refused(T.f->C_SignInit, "C_SignInit(CKM_SHA256)", &sha, ec,
			     CKR_MECHANISM_INVALID, NULL);
		init_refused(T.f->C_SignInit, "C_SignInit(CKM_RSA_PKCS_OAEP)", &oaep, rsa,
			     CKR_MECHANISM_INVALID, NULL);
		init_refused(T.f->C_DecryptInit, "C_DecryptInit(CKM_ECDSA)", &ecdsa, ec,
			     CKR_MECHANISM_INVALID, NULL);
		init_refused(T.f->C_DecryptInit, "C_DecryptInit(CKM_SHA256_RSA_PKCS)", &rsam, rsa,
			     CKR_MECHANISM_INVALID, NULL);
	}
	/* Not a key at all. */
	if (T.vault) {
		CK_OBJECT_HANDLE cert = leaf_cert(s, "web-ec");

		REQUIRE(cert != 0, "web-ec's certificate");
		init_refused(T.f->C_SignInit, "C_SignInit(CKM_ECDSA, a certificate)", &ecdsa,
			     cert, CKR_KEY_HANDLE_INVALID, NULL);
	}
}

TEST(bad_pss_params)
{
	keyset k;
	CK_RSA_PKCS_PSS_PARAMS good = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_RSA_PKCS_PSS_PARAMS badmgf = { CKM_SHA256, 0x7777UL, 32 };
	CK_RSA_PKCS_PSS_PARAMS badhash = { CKM_RSA_PKCS, CKG_MGF1_SHA256, 32 };
	struct {
		CK_MECHANISM m;
		const char *what;
	} cases[] = {
		{ { CKM_RSA_PKCS_PSS, NULL, 0 }, "CKM_RSA_PKCS_PSS without parameters" },
		{ { CKM_SHA256_RSA_PKCS_PSS, NULL, 0 },
		  "CKM_SHA256_RSA_PKCS_PSS without parameters" },
		{ { CKM_SHA256_RSA_PKCS_PSS, &good, 5 }, "PSS parameters of 5 bytes" },
		{ { CKM_SHA256_RSA_PKCS_PSS, &badmgf, sizeof(badmgf) }, "PSS mgf 0x7777" },
		{ { CKM_RSA_PKCS_PSS, &badhash, sizeof(badhash) },
		  "PSS hashAlg CKM_RSA_PKCS" },
	};
	size_t i;
	CK_RV rv;

	keyset_open(&k, "web-rsa", 0);
	for (i = 0; i < COUNT(cases); i++) {
		rv = T.f->C_SignInit(k.s, &cases[i].m, k.priv);
		CHECK_REF(rv == CKR_MECHANISM_PARAM_INVALID, "pss-params",
			  "C_SignInit with %s returned %s, want CKR_MECHANISM_PARAM_INVALID",
			  cases[i].what, t_rv_name(rv));
		if (rv == CKR_OK) {
			unsigned char sig[512];
			CK_ULONG len = sizeof(sig);

			T.f->C_Sign(k.s, (CK_BYTE_PTR)MSG, 32, sig, &len);
		}
	}
	/* A refused init leaves no operation behind. */
	{
		CK_RSA_PKCS_PSS_PARAMS p = good;
		CK_MECHANISM m = { CKM_SHA256_RSA_PKCS_PSS, &p, sizeof(p) };
		unsigned char sig[512];
		CK_ULONG len = sizeof(sig);

		CHECK_RV(T.f->C_SignInit(k.s, &m, k.priv), CKR_OK);
		CHECK_RV(T.f->C_Sign(k.s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len), CKR_OK);
	}
	keyset_close(&k);
}

/* C_SessionCancel (3.0) ends the operations its flags name, no others. */
TEST(session_cancel)
{
	t_interface *iface = NULL;
	t_function_list_3_0 *l3;
	keyset k;
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	CK_MECHANISM sm = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_OBJECT_HANDLE buf[2];
	unsigned char out[512];
	CK_ULONG n, len;

	if (T.get_interface == NULL ||
	    T.get_interface((CK_UTF8CHAR *)"PKCS 11", NULL, &iface, 0) != CKR_OK ||
	    iface == NULL || ((CK_VERSION *)iface->pFunctionList)->major < 3)
		T_SKIP("a PKCS#11 2.40 library: no C_SessionCancel");
	l3 = iface->pFunctionList;
	keyset_open(&k, "web-rsa", 0);
	REQUIRE_OK(T.f->C_FindObjectsInit(k.s, NULL, 0));
	REQUIRE_OK(T.f->C_DigestInit(k.s, &m));
	REQUIRE_OK(T.f->C_SignInit(k.s, &sm, k.priv));
	CHECK_RV(l3->C_SessionCancel(k.s, CKF_SIGN), CKR_OK);
	len = sizeof(out);
	CHECK_RV(T.f->C_Sign(k.s, (CK_BYTE_PTR)MSG, 8, out, &len), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(T.f->C_FindObjects(k.s, buf, 2, &n), CKR_OK);
	CHECK_RV(l3->C_SessionCancel(k.s, CKF_FIND_OBJECTS_3_0 | CKF_DIGEST), CKR_OK);
	CHECK_RV(T.f->C_FindObjects(k.s, buf, 2, &n), CKR_OPERATION_NOT_INITIALIZED);
	len = sizeof(out);
	CHECK_RV(T.f->C_Digest(k.s, (CK_BYTE_PTR)MSG, 8, out, &len),
		 CKR_OPERATION_NOT_INITIALIZED);
	/* Nothing active: still CKR_OK. */
	CHECK_RV(l3->C_SessionCancel(k.s, CKF_SIGN | CKF_DECRYPT), CKR_OK);
	CHECK_RV(l3->C_SessionCancel(0xdead1234UL, CKF_SIGN), CKR_SESSION_HANDLE_INVALID);
	keyset_close(&k);
}

TEST(random_bytes)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	unsigned char a[64], b[64];
	CK_BYTE seed[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	CHECK_RV(T.f->C_GenerateRandom(s, a, sizeof(a)), CKR_OK);
	CHECK_RV(T.f->C_GenerateRandom(s, b, sizeof(b)), CKR_OK);
	CHECK(memcmp(a, b, sizeof(a)) != 0, "two C_GenerateRandom calls gave the same bytes");
	CHECK_RV2(T.f->C_SeedRandom(s, seed, sizeof(seed)), CKR_OK,
		  CKR_RANDOM_SEED_NOT_SUPPORTED);
}

TEST(digest)
{
	static const struct { CK_MECHANISM_TYPE m; const char *n; } mds[] = {
		{ CKM_SHA_1, "SHA1" }, { CKM_SHA256, "SHA256" }, { CKM_SHA384, "SHA384" },
		{ CKM_SHA512, "SHA512" },
	};
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_MECHANISM m = { CKM_SHA256, NULL, 0 };
	unsigned char want[64], got[64];
	unsigned int wl = 0;
	CK_ULONG len;
	size_t i;
	CK_RV rv;

	EVP_Digest(MSG, sizeof(MSG), want, &wl, EVP_sha256(), NULL);
	REQUIRE_OK(T.f->C_DigestInit(s, &m));
	CHECK_RV(T.f->C_DigestInit(s, &m), CKR_OPERATION_ACTIVE);
	len = 0;
	CHECK_RV(T.f->C_Digest(s, (CK_BYTE_PTR)MSG, sizeof(MSG), NULL, &len), CKR_OK);
	CHECK(len == 32, "C_Digest(NULL): %lu", (unsigned long)len);
	len = 31;
	CHECK_RV(T.f->C_Digest(s, (CK_BYTE_PTR)MSG, sizeof(MSG), got, &len),
		 CKR_BUFFER_TOO_SMALL);
	len = sizeof(got);
	CHECK_RV(T.f->C_Digest(s, (CK_BYTE_PTR)MSG, sizeof(MSG), got, &len), CKR_OK);
	CHECK(len == 32 && memcmp(got, want, 32) == 0, "C_Digest SHA-256 differs from "
	      "OpenSSL's");
	REQUIRE_OK(T.f->C_DigestInit(s, &m));
	CHECK_RV(T.f->C_DigestUpdate(s, (CK_BYTE_PTR)MSG, 5), CKR_OK);
	CHECK_RV(T.f->C_DigestUpdate(s, (CK_BYTE_PTR)MSG + 5, sizeof(MSG) - 5), CKR_OK);
	len = 0;
	CHECK_RV(T.f->C_DigestFinal(s, NULL, &len), CKR_OK);
	CHECK(len == 32, "C_DigestFinal(NULL): %lu", (unsigned long)len);
	len = 16;
	CHECK_RV(T.f->C_DigestFinal(s, got, &len), CKR_BUFFER_TOO_SMALL);
	len = sizeof(got);
	CHECK_RV(T.f->C_DigestFinal(s, got, &len), CKR_OK);
	CHECK(len == 32 && memcmp(got, want, 32) == 0, "multi-part SHA-256 differs");
	len = sizeof(got);
	CHECK_RV(T.f->C_DigestFinal(s, got, &len), CKR_OPERATION_NOT_INITIALIZED);
	for (i = 0; i < COUNT(mds); i++) {
		m.mechanism = mds[i].m;
		EVP_Digest(MSG, sizeof(MSG), want, &wl, t_md_of(mds[i].m), NULL);
		len = sizeof(got);
		rv = T.f->C_DigestInit(s, &m);
		if (rv == CKR_OK)
			rv = T.f->C_Digest(s, (CK_BYTE_PTR)MSG, sizeof(MSG), got, &len);
		CHECK(rv == CKR_OK && len == wl && memcmp(got, want, wl) == 0,
		      "%s: %s, %lu bytes", mds[i].n, t_rv_name(rv), (unsigned long)len);
	}
}

/* --- Key generation, merge, destroy --------------------------------------------- */

static void
generate(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const char *label,
	 CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 2048;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM m = { kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
			   NULL, 0 };
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 }, { CKA_MODULUS_BITS, &bits, sizeof(bits) },
		{ CKA_PUBLIC_EXPONENT, e, sizeof(e) },
	};
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE prv[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SIGN, &yes, 1 }, { CKA_SENSITIVE, &yes, 1 },
		{ CKA_EXTRACTABLE, &no, 1 },
	};
	CK_RV rv;

	*pub = *priv = CK_INVALID_HANDLE;
	rv = T.f->C_GenerateKeyPair(s, &m, kt == CKK_RSA ? pub_rsa : pub_ec,
				    kt == CKK_RSA ? COUNT(pub_rsa) : COUNT(pub_ec),
				    prv, COUNT(prv), pub, priv);
	REQUIRE(rv == CKR_OK, "C_GenerateKeyPair(%s, %s) returned %s", t_mech_name(m.mechanism),
		label, t_rv_name(rv));
	REQUIRE(*pub != CK_INVALID_HANDLE && *priv != CK_INVALID_HANDLE && *pub != *priv,
		"C_GenerateKeyPair handles %lu, %lu", (unsigned long)*pub,
		(unsigned long)*priv);
}

static void
generate_and_merge(CK_KEY_TYPE kt, const char *label)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE pub, priv, cert = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_BBOOL yes = CK_TRUE;
	EVP_PKEY *pkey;
	unsigned char id[20], *spki = NULL, *der = NULL, *subj = NULL;
	size_t der_len = 0;
	char status[64];
	const X509_NAME *xn;
	X509 *x;
	const unsigned char *cp;
	int spki_len, subj_len, v;
	CK_ULONG n;
	CK_RV rv;

	t_login(s, CKU_USER);
	generate(s, kt, label, &pub, &priv);
	CHECK(attr_eq(s, pub, CKA_LABEL, label, strlen(label)) &&
	      attr_eq(s, priv, CKA_LABEL, label, strlen(label)),
	      "%s: the key pair's CKA_LABEL", label);
	v = t_attr_bool(s, priv, CKA_SENSITIVE);
	CHECK(v == 1, "%s: CKA_SENSITIVE %d", label, v);
	v = t_attr_bool(s, priv, CKA_EXTRACTABLE);
	CHECK(v == 0, "%s: CKA_EXTRACTABLE %d",
	      label, v);
	v = t_attr_bool(s, priv, CKA_NEVER_EXTRACTABLE);
	CHECK(v == 1,
	      "%s: CKA_NEVER_EXTRACTABLE %d", label, v);
	v = t_attr_bool(s, priv, CKA_LOCAL);
	CHECK(v == 1, "%s: CKA_LOCAL %d", label, v);
	CHECK(t_attr_ulong(s, priv, CKA_KEY_TYPE) == kt, "%s: CKA_KEY_TYPE", label);
	if (kt == CKK_RSA)
		CHECK(t_attr_ulong(s, pub, CKA_MODULUS_BITS) == 2048,
		      "%s: CKA_MODULUS_BITS %lu", label,
		      (unsigned long)t_attr_ulong(s, pub, CKA_MODULUS_BITS));
	else
		CHECK(attr_eq(s, pub, CKA_EC_PARAMS, OID_P256, sizeof(OID_P256)),
		      "%s: CKA_EC_PARAMS is not P-256's OID", label);

	/* The private key signs. */
	pkey = t_public_pkey(s, pub);
	REQUIRE(pkey != NULL, "%s: the public key for OpenSSL", label);
	sign_verify(s, priv, pub, pkey, kt == CKK_RSA ? CKM_SHA256_RSA_PKCS : EC_MECH,
		    kt == CKK_RSA ? 256 : 64);

	if (!T.vault) {
		/* SoftHSM keeps plain key pairs; nothing to merge. */
		T.f->C_DestroyObject(s, priv);
		T.f->C_DestroyObject(s, pub);
		EVP_PKEY_free(pkey);
		return;
	}
	REQUIRE(id_from_components(s, pub, id), "%s: CKA_ID from the components", label);
	CHECK(attr_eq(s, pub, CKA_ID, id, 20) && attr_eq(s, priv, CKA_ID, id, 20),
	      "%s: CKA_ID of the key pair is not the SHA-1 of the public key", label);
	CHECK(tool_status(label, status, sizeof(status)) && strcmp(status, "inProgress") == 0,
	      "%s: certvault certificate pending show says \"%s\", want inProgress", label,
	      status);

	/* The CA signs a certificate for the key; C_CreateObject merges it. */
	spki_len = i2d_PUBKEY(pkey, &spki);
	REQUIRE(spki_len > 0 && t_ca_issue(spki, (size_t)spki_len, label, &der, &der_len),
		"%s: the test CA did not issue", label);
	cp = der;
	x = d2i_X509(NULL, &cp, (long)der_len);
	xn = X509_get_subject_name(x);
	subj_len = i2d_X509_NAME(xn, &subj);
	{
		/* Without CKA_CERTIFICATE_TYPE and CKA_SUBJECT (required for
		 * C_CreateObject of an X.509 certificate: the spec's certificate tables). */
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cc, sizeof(cc) }, { CKA_TOKEN, &yes, 1 },
			{ CKA_VALUE, der, der_len },
		};
		rv = T.f->C_CreateObject(s, t, COUNT(t), &cert);
		CHECK(rv == CKR_TEMPLATE_INCOMPLETE, "%s: C_CreateObject of a certificate "
		      "without CKA_CERTIFICATE_TYPE and CKA_SUBJECT returned %s, want "
		      "CKR_TEMPLATE_INCOMPLETE", label, t_rv_name(rv));
	}
	if (rv != CKR_OK) {
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &cc, sizeof(cc) },
			{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &yes, 1 },
			{ CKA_SUBJECT, subj, (CK_ULONG)subj_len },
			{ CKA_VALUE, der, der_len },
		};
		cert = CK_INVALID_HANDLE;
		rv = T.f->C_CreateObject(s, t, COUNT(t), &cert);
		CHECK(rv == CKR_OK, "%s: C_CreateObject(the CA's certificate) returned %s",
		      label, t_rv_name(rv));
	}
	X509_free(x);
	OPENSSL_free(subj);
	OPENSSL_free(spki);
	if (rv == CKR_OK) {
		CHECK(cert != CK_INVALID_HANDLE && attr_eq(s, cert, CKA_VALUE, der, der_len),
		      "%s: the merged certificate's handle does not give its CKA_VALUE", label);
		CHECK(attr_eq(s, cert, CKA_ID, id, 20), "%s: the merged certificate's CKA_ID "
		      "is not the key's", label);
		CHECK(leaf_cert(s, label) == cert, "%s: a find by label does not give the "
		      "merged certificate", label);
		{
			CK_ATTRIBUTE t = { CKA_ID, id, 20 };

			n = find_count(s, &t, 1);
			CHECK(n == 3, "%s: %lu objects share the CKA_ID after the merge, want 3",
			      label, (unsigned long)n);
		}
		CHECK(tool_status(label, status, sizeof(status)) &&
		      strcmp(status, "completed") == 0,
		      "%s: certvault certificate pending show says \"%s\" after the merge, "
		      "want completed", label, status);
		CHECK(t_run("'%s' --vault '%s' certificate show --name '%s' >/dev/null 2>&1",
			    T.certvault, T.vault_dir, label) == 0,
		      "%s: certvault certificate show fails after the merge", label);
		/* A completed certificate's C_DestroyObject is a soft delete,
		 * and CKA_DESTROYABLE says so; the tool recovers it. */
		v = t_attr_bool(s, cert, CKA_DESTROYABLE);
		CHECK(v == 1, "%s: a certificate's CKA_DESTROYABLE is %d, want 1 (its "
		      "C_DestroyObject is a soft delete)", label, v);
		CHECK_RV(T.f->C_DestroyObject(s, cert), CKR_OK);
		CHECK(leaf_cert(s, label) == 0, "%s: the destroyed certificate is still found",
		      label);
		{
			char args[256];

			snprintf(args, sizeof(args), "certificate recover --name '%s'", label);
			CHECK(tool(args) == 0, "%s: certvault certificate recover after "
			      "C_DestroyObject failed (tool.log)", label);
		}
		CHECK(leaf_cert(s, label) != 0, "%s: the recovered certificate is not found",
		      label);
		/* The key still signs, now that it has its certificate. */
		sign_verify(s, priv, pub, pkey, kt == CKK_RSA ? CKM_SHA256_RSA_PKCS :
			    EC_MECH, kt == CKK_RSA ? 256 : 64);
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
}

TEST(generate_rsa)
{
	generate_and_merge(CKK_RSA, "gen-rsa");
}

TEST(generate_ec)
{
	generate_and_merge(CKK_EC, "gen-ec");
}

static void
destroy_pair(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE priv)
{
	T.f->C_DestroyObject(s, priv);
	T.f->C_DestroyObject(s, pub);
}

/* What C_GenerateKeyPair's templates must say, and that what they say is
 * what the keys get (C_GenerateKeyPair; CKA_MODULUS_BITS and CKA_EC_PARAMS are
 * required, CKA_ID and CKA_LABEL are the application's). */
TEST(generate_templates)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_BBOOL yes = CK_TRUE;
	CK_ULONG bits = 1024;
	CK_MECHANISM rm = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM em = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM_INFO mi;
	CK_OBJECT_HANDLE pub = 0, priv = 0;
	static const unsigned char my_id[] = { 0xc0, 0xff, 0xee, 0x01 };
	CK_ATTRIBUTE rsa_nobits[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "gen-t1", 6 } };
	CK_ATTRIBUTE ec_noparams[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "gen-t2", 6 } };
	CK_ATTRIBUTE prv[] = { { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
			       { CKA_SIGN, &yes, 1 } };
	CK_ATTRIBUTE rsa1024[] = { { CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "gen-t3", 6 },
				   { CKA_MODULUS_BITS, &bits, sizeof(bits) } };
	CK_ATTRIBUTE ec_id_pub[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "gen-id", 6 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
		{ CKA_ID, (void *)my_id, sizeof(my_id) },
	};
	CK_ATTRIBUTE ec_id_prv[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SIGN, &yes, 1 },
		{ CKA_LABEL, "gen-id", 6 }, { CKA_ID, (void *)my_id, sizeof(my_id) },
	};
	CK_ATTRIBUTE ec_nolabel[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_RV rv;

	t_login(s, CKU_USER);
	rv = T.f->C_GenerateKeyPair(s, &rm, rsa_nobits, COUNT(rsa_nobits), prv, COUNT(prv),
				    &pub, &priv);
	CHECK(rv == CKR_TEMPLATE_INCOMPLETE, "RSA key pair without CKA_MODULUS_BITS: %s",
	      t_rv_name(rv));
	if (rv == CKR_OK)
		destroy_pair(s, pub, priv);
	rv = T.f->C_GenerateKeyPair(s, &em, ec_noparams, COUNT(ec_noparams), prv, COUNT(prv),
				    &pub, &priv);
	CHECK(rv == CKR_TEMPLATE_INCOMPLETE, "EC key pair without CKA_EC_PARAMS: %s",
	      t_rv_name(rv));
	if (rv == CKR_OK)
		destroy_pair(s, pub, priv);
	if (T.f->C_GetMechanismInfo(T.slot, CKM_RSA_PKCS_KEY_PAIR_GEN, &mi) == CKR_OK &&
	    mi.ulMinKeySize > 1024) {
		rv = T.f->C_GenerateKeyPair(s, &rm, rsa1024, COUNT(rsa1024), prv, COUNT(prv),
					    &pub, &priv);
		CHECK(rv == CKR_KEY_SIZE_RANGE || rv == CKR_ATTRIBUTE_VALUE_INVALID,
		      "RSA-1024 below the mechanism's %lu bits: %s", (unsigned long)mi.ulMinKeySize,
		      t_rv_name(rv));
		if (rv == CKR_OK)
			destroy_pair(s, pub, priv);
	}
	/* The application's CKA_ID is the keys' CKA_ID, or the call fails. */
	rv = T.f->C_GenerateKeyPair(s, &em, ec_id_pub, COUNT(ec_id_pub), ec_id_prv,
				    COUNT(ec_id_prv), &pub, &priv);
	if (rv == CKR_OK) {
		CHECK(attr_eq(s, pub, CKA_ID, my_id, sizeof(my_id)) &&
		      attr_eq(s, priv, CKA_ID, my_id, sizeof(my_id)),
		      "C_GenerateKeyPair with CKA_ID c0ffee01 succeeded but the keys have "
		      "another CKA_ID");
		destroy_pair(s, pub, priv);
	} else {
		CHECK(rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT ||
		      rv == CKR_ATTRIBUTE_READ_ONLY, "C_GenerateKeyPair with a CKA_ID: %s",
		      t_rv_name(rv));
	}
	/* CKA_LABEL is optional. */
	rv = T.f->C_GenerateKeyPair(s, &em, ec_nolabel, COUNT(ec_nolabel), prv, COUNT(prv),
				    &pub, &priv);
	CHECK(rv == CKR_OK, "C_GenerateKeyPair without CKA_LABEL: %s", t_rv_name(rv));
	if (rv == CKR_OK) {
		unsigned char *l = NULL;
		CK_ULONG ll = 0;

		if (t_attr(s, priv, CKA_LABEL, &l, &ll) == CKR_OK)
			t_diag("a key pair made without CKA_LABEL is labelled \"%.*s\"", (int)ll,
			       (char *)l);
		free(l);
		rv = T.f->C_DestroyObject(s, priv);
		CHECK(rv == CKR_OK, "C_DestroyObject of the unlabelled pending key: %s",
		      t_rv_name(rv));
		T.f->C_DestroyObject(s, pub);
	}
}

TEST(destroy_pending)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE pub, priv;
	char status[64];
	CK_ULONG n;
	CK_RV rv;

	t_login(s, CKU_USER);
	generate(s, CKK_EC, "gen-del", &pub, &priv);
	if (T.vault)
		CHECK(tool_status("gen-del", status, sizeof(status)) &&
		      strcmp(status, "inProgress") == 0, "gen-del is not pending (\"%s\")",
		      status);
	CHECK_RV(T.f->C_DestroyObject(s, priv), CKR_OK);
	{
		CK_OBJECT_CLASS cls;
		CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

		CHECK_RV(T.f->C_GetAttributeValue(s, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	}
	rv = T.f->C_DestroyObject(s, pub);
	CHECK(rv == CKR_OK || rv == CKR_OBJECT_HANDLE_INVALID,
	      "C_DestroyObject of the public key returned %s", t_rv_name(rv));
	classes_of_label(s, "gen-del", &n);
	CHECK(n == 0, "%lu objects labelled gen-del remain", (unsigned long)n);
	if (T.vault)
		CHECK(t_run("'%s' --vault '%s' certificate pending show --name gen-del "
			    ">/dev/null 2>&1", T.certvault, T.vault_dir) != 0,
		      "the tool still shows gen-del's pending operation");
}

/* --- Threads and fork ------------------------------------------------------------- */

typedef struct worker {
	pthread_t th;
	int churn;                     /* open, find, close instead of signing */
	CK_OBJECT_HANDLE ec, rsa;
	EVP_PKEY *ec_pub, *rsa_pub;
	double deadline;
	unsigned long n_ec, n_rsa, n_find;
	CK_RV err;
	const char *where;
	int bad_sig;
} worker;

static void *
worker_run(void *arg)
{
	worker *w = arg;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_MECHANISM me = { EC_MECH, NULL, 0 };
	CK_MECHANISM mr = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_ATTRIBUTE lt = { CKA_LABEL, "web-ec", 6 };
	unsigned char sig[512];
	CK_ULONG len, in_len;
	const unsigned char *in = ec_input(&in_len);
	CK_RV rv;

	if (w->churn) {
		while (now_s() < w->deadline) {
			CK_OBJECT_HANDLE found[4];
			CK_ULONG n = 0;

			if ((rv = T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION, NULL, NULL,
						     &s)) != CKR_OK) {
				w->where = "C_OpenSession (churn)";
				s = CK_INVALID_HANDLE;
				goto fail;
			}
			if ((rv = T.f->C_FindObjectsInit(s, &lt, 1)) != CKR_OK ||
			    (rv = T.f->C_FindObjects(s, found, 4, &n)) != CKR_OK ||
			    (rv = T.f->C_FindObjectsFinal(s)) != CKR_OK ||
			    (rv = T.f->C_CloseSession(s)) != CKR_OK) {
				w->where = "find/close (churn)";
				goto fail;
			}
			s = CK_INVALID_HANDLE;
			if (n != (T.vault ? 3u : 2u)) {
				w->where = "a find by label in a new session (wrong count)";
				rv = CKR_GENERAL_ERROR;
				goto fail;
			}
			w->n_find++;
		}
		return NULL;
	}
	if ((rv = T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		w->where = "C_OpenSession";
		goto fail;
	}
	while (now_s() < w->deadline) {
		len = sizeof(sig);
		if ((rv = T.f->C_SignInit(s, &me, w->ec)) != CKR_OK ||
		    (rv = T.f->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len)) != CKR_OK) {
			w->where = "ECDSA";
			goto fail;
		}
		if (w->n_ec++ % 64 == 0 &&
		    !t_openssl_verify(w->ec_pub, EC_MECH, NULL, in, in_len, sig, len))
			w->bad_sig++;
		len = sizeof(sig);
		if ((rv = T.f->C_SignInit(s, &mr, w->rsa)) != CKR_OK ||
		    (rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len)) != CKR_OK) {
			w->where = "RSA";
			goto fail;
		}
		if (w->n_rsa++ % 64 == 0 &&
		    !t_openssl_verify(w->rsa_pub, CKM_SHA256_RSA_PKCS, NULL, MSG, sizeof(MSG),
				      sig, len))
			w->bad_sig++;
		/* Now and then a find, beside the other threads' signing. */
		if (w->n_rsa % 16 == 0) {
			CK_OBJECT_HANDLE found[4];
			CK_ULONG n = 0;

			if ((rv = T.f->C_FindObjectsInit(s, &lt, 1)) != CKR_OK ||
			    (rv = T.f->C_FindObjects(s, found, 4, &n)) != CKR_OK ||
			    (rv = T.f->C_FindObjectsFinal(s)) != CKR_OK) {
				w->where = "C_FindObjects*";
				goto fail;
			}
			if (n != (T.vault ? 3u : 2u)) {
				w->where = "a find by label (wrong count)";
				rv = CKR_GENERAL_ERROR;
				goto fail;
			}
			w->n_find++;
		}
	}
	T.f->C_CloseSession(s);
	return NULL;
fail:
	w->err = rv;
	if (s != CK_INVALID_HANDLE)
		T.f->C_CloseSession(s);
	return NULL;
}

TEST(threads)
{
	enum { N = 16, CHURN = 2 };
	worker w[N + CHURN];
	keyset ec, rsa;
	const char *env = getenv("CV_THREAD_SECONDS");
	double secs = env != NULL ? atof(env) : 10.0, start;
	unsigned long tot_ec = 0, tot_rsa = 0, tot_find = 0;
	int i, started = 0;

	if (secs <= 0 || secs > 60)
		secs = 10.0;
	keyset_open(&ec, "web-ec", 0);
	keyset_open(&rsa, "web-rsa", 0);   /* the login is shared: ec.s's */
	start = now_s();
	memset(w, 0, sizeof(w));
	for (i = 0; i < N + CHURN; i++) {
		w[i].churn = i >= N;
		w[i].ec = ec.priv;
		w[i].rsa = rsa.priv;
		w[i].ec_pub = ec.pkey;
		w[i].rsa_pub = rsa.pkey;
		w[i].deadline = start + secs;
		if (pthread_create(&w[i].th, NULL, worker_run, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].th, NULL);
	CHECK(started == N + CHURN, "only %d threads started", started);
	for (i = 0; i < started; i++) {
		CHECK(w[i].err == CKR_OK, "thread %d: %s failed with %s after %lu ECDSA and "
		      "%lu RSA signatures", i, w[i].where, t_rv_name(w[i].err), w[i].n_ec,
		      w[i].n_rsa);
		CHECK(w[i].bad_sig == 0, "thread %d: %d signatures do not verify", i,
		      w[i].bad_sig);
		CHECK(w[i].churn || (w[i].n_ec > 0 && w[i].n_rsa > 0),
		      "thread %d signed nothing", i);
		tot_ec += w[i].n_ec;
		tot_rsa += w[i].n_rsa;
		tot_find += w[i].n_find;
	}
	t_diag("%d threads (%d opening and closing sessions), %.1f s: %lu ECDSA P-256 and "
	       "%lu RSA-2048 signatures (%.0f/s), %lu finds", started, CHURN,
	       now_s() - start, tot_ec, tot_rsa,
	       (double)(tot_ec + tot_rsa) / (now_s() - start), tot_find);
	keyset_close(&ec);
	keyset_close(&rsa);
}

/* Fork: what the child found, as bits of its exit status. */
enum {
	CHILD_SLOTLIST = 1,     /* C_GetSlotList was not CKR_CRYPTOKI_NOT_INITIALIZED */
	CHILD_INIT = 2,         /* C_Initialize was not CKR_OK */
	CHILD_TOKEN = 4,        /* the token, a session or the login failed */
	CHILD_SIGN = 8,         /* signing failed */
	CHILD_VERIFY = 16,      /* the signature does not verify */
};

static int
child_body(EVP_PKEY *pub)
{
	CK_C_INITIALIZE_ARGS args;
	CK_SLOT_ID slots[64];
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_LABEL, "web-ec", 6 } };
	CK_MECHANISM m = { EC_MECH, NULL, 0 };
	unsigned char sig[128];
	CK_ULONG len = sizeof(sig), in_len;
	const unsigned char *in = ec_input(&in_len);
	int found = 0, st = 0;
	CK_RV rv;

	rv = T.f->C_GetSlotList(CK_FALSE, NULL, &n);
	if (rv != CKR_CRYPTOKI_NOT_INITIALIZED) {
		st |= CHILD_SLOTLIST;
		printf("# fork child: C_GetSlotList before C_Initialize: %s\n", t_rv_name(rv));
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = T.f->C_Initialize(&args);
	if (rv != CKR_OK)
		printf("# fork child: C_Initialize: %s\n", t_rv_name(rv));
	if (rv != CKR_OK) {
		st |= CHILD_INIT;
		if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
			return st | CHILD_TOKEN | CHILD_SIGN;
	}
	n = 64;
	if (T.f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return st | CHILD_TOKEN | CHILD_SIGN;
	for (i = 0; i < n && !found; i++)
		if (T.f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    t_padded_eq(ti.label, 32, T.label))
			found = 1;
	if (!found || T.f->C_OpenSession(slots[i - 1], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
		return st | CHILD_TOKEN | CHILD_SIGN;
	rv = T.f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return st | CHILD_TOKEN | CHILD_SIGN;
	n = 0;
	if (T.f->C_FindObjectsInit(s, t, 2) != CKR_OK ||
	    T.f->C_FindObjects(s, &key, 1, &n) != CKR_OK || n != 1 ||
	    T.f->C_FindObjectsFinal(s) != CKR_OK)
		return st | CHILD_TOKEN | CHILD_SIGN;
	if (T.f->C_SignInit(s, &m, key) != CKR_OK ||
	    T.f->C_Sign(s, (CK_BYTE_PTR)in, in_len, sig, &len) != CKR_OK)
		return st | CHILD_SIGN;
	if (!t_openssl_verify(pub, EC_MECH, NULL, in, in_len, sig, len))
		st |= CHILD_VERIFY;
	T.f->C_Finalize(NULL);
	return st;
}

static int
wait_child(pid_t pid, double limit)
{
	double end = now_s() + limit;
	int st = 0;
	pid_t r;

	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_s() < end)
		usleep(20000);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -1;
	}
	return r == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(fork_child)
{
	keyset k;
	pid_t pid;
	int st;

	keyset_open(&k, "web-ec", 0);
	sign_verify(k.s, k.priv, 0, k.pkey, EC_MECH, k.sig_len);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	REQUIRE(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(child_body(k.pkey));
	st = wait_child(pid, 30);
	REQUIRE(st >= 0, "the child did not end by itself within 30 s");
	CHECK_REF(!(st & CHILD_SLOTLIST), "fork-not-initialized",
		  "in the child, C_GetSlotList before C_Initialize is not "
		  "CKR_CRYPTOKI_NOT_INITIALIZED");
	CHECK_REF(!(st & CHILD_INIT), "fork-initialize",
		  "in the child, C_Initialize does not return CKR_OK");
	CHECK(!(st & CHILD_TOKEN), "in the child, the token, a session or the login failed");
	CHECK(!(st & CHILD_SIGN), "in the child, signing failed");
	CHECK(!(st & CHILD_VERIFY), "in the child, the signature does not verify");
	/* The parent goes on, in the same session. */
	sign_verify(k.s, k.priv, k.pub, k.pkey, EC_MECH, k.sig_len);
	keyset_close(&k);
}

TEST(pkcs11_tool_fork)
{
	char *help = t_capture("pkcs11-tool --help 2>&1; true");
	int has_opt = help != NULL && strstr(help, "--test-fork") != NULL;
	int st;

	free(help);
	if (!has_opt)
		T_SKIP("this pkcs11-tool has no --test-fork");
	/* pkcs11-tool is not built with AddressSanitizer: when the module
	 * is (CV_ASAN_PRELOAD), its runtime goes in first, its leak check
	 * off (the client's leaks are not the module's). */
	if (getenv("CV_ASAN_PRELOAD") != NULL)
		st = t_run("timeout 60 env LD_PRELOAD='%s' ASAN_OPTIONS=\"$ASAN_OPTIONS:detect_leaks=0\" "
			   "pkcs11-tool --module '%s' --test-fork >'%s/fork.out' 2>&1",
			   getenv("CV_ASAN_PRELOAD"), T.library, T.work);
	else
		st = t_run("timeout 60 pkcs11-tool --module '%s' --test-fork >'%s/fork.out' 2>&1",
			   T.library, T.work);
	if (st != 0) {
		char *out = t_capture("cat '%s/fork.out'", T.work);

		t_diag("pkcs11-tool --test-fork: %s", out != NULL ? out : "");
		free(out);
	}
	CHECK_REF(st == 0, "fork-initialize", "pkcs11-tool --module %s --test-fork exited %d",
		  T.library, st);
}

TEST(wait_for_slot_event)
{
	CK_SLOT_ID slot = 0;

	CHECK_RV_REF(T.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, NULL), CKR_NO_EVENT,
		     "wait-for-slot-event");
}

/* --- NULL pointers ------------------------------------------------------------------ */

TEST(null_arguments)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 1);
	CK_OBJECT_HANDLE pub, priv, h;
	CK_MECHANISM dm = { CKM_SHA256, NULL, 0 };
	CK_MECHANISM sm = { EC_MECH, NULL, 0 };
	CK_MECHANISM gm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_ATTRIBUTE ec[] = { { CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) } };
	CK_OBJECT_HANDLE buf[4];
	CK_ULONG n;

	t_login(s, CKU_USER);
	pub = t_key(s, CKO_PUBLIC_KEY, "web-ec");
	priv = t_key(s, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(pub != 0 && priv != 0, "web-ec's keys");
	CHECK_RV(T.f->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetSlotList(CK_TRUE, NULL, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetSlotInfo(T.slot, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetTokenInfo(T.slot, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetMechanismList(T.slot, NULL, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetMechanismInfo(T.slot, CKM_ECDSA, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_OpenSession(T.slot, CKF_SERIAL_SESSION, NULL, NULL, NULL),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetSessionInfo(s, NULL), CKR_ARGUMENTS_BAD);
	if (T.kind == T_PROXY)
		CHECK_RV_PROXY_REF(T.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL),
				   CKR_ARGUMENTS_BAD, "wait-null-slot");
	else
		CHECK_RV_REF(T.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL),
			     CKR_ARGUMENTS_BAD, "wait-null-slot");
	CHECK_RV(T.f->C_FindObjectsInit(s, NULL, 1), CKR_ARGUMENTS_BAD);
	if (T.f->C_FindObjectsInit(s, NULL, 0) == CKR_OK) {
		CHECK_RV(T.f->C_FindObjects(s, NULL, 4, &n), CKR_ARGUMENTS_BAD);
		CHECK_RV(T.f->C_FindObjects(s, buf, 4, NULL), CKR_ARGUMENTS_BAD);
		T.f->C_FindObjectsFinal(s);
	}
	CHECK_RV(T.f->C_GetAttributeValue(s, pub, NULL, 1), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_SetAttributeValue(s, pub, NULL, 1), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GetObjectSize(s, pub, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GenerateRandom(s, NULL, 16), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_CreateObject(s, &t, 1, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_CreateObject(s, NULL, 1, &h), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_CopyObject(s, pub, NULL, 0, NULL), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GenerateKeyPair(s, &gm, ec, 1, NULL, 0, NULL, NULL),
		 CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_GenerateKeyPair(s, NULL, ec, 1, NULL, 0, &h, &h), CKR_ARGUMENTS_BAD);
	CHECK_RV(T.f->C_DigestInit(s, NULL), CKR_ARGUMENTS_BAD);
	if (T.f->C_DigestInit(s, &dm) == CKR_OK) {
		CHECK_RV(T.f->C_Digest(s, (CK_BYTE_PTR)MSG, 8, NULL, NULL), CKR_ARGUMENTS_BAD);
		T.f->C_CloseSession(s);
		s = t_open(T.slot, 1);
	}
	CHECK_RV(T.f->C_SignInit(s, NULL, priv), CKR_ARGUMENTS_BAD);
	if (T.f->C_SignInit(s, &sm, priv) == CKR_OK) {
		unsigned char sig[128];

		CHECK_RV(T.f->C_Sign(s, (CK_BYTE_PTR)MSG, 8, sig, NULL), CKR_ARGUMENTS_BAD);
		T.f->C_CloseSession(s);
		s = t_open(T.slot, 1);
	}
	if (T.f->C_SignInit(s, &sm, priv) == CKR_OK) {
		CHECK_RV(T.f->C_SignUpdate(s, NULL, 8), CKR_ARGUMENTS_BAD);
		T.f->C_CloseSession(s);
		s = t_open(T.slot, 1);
	}
	if (T.f->C_SignInit(s, &sm, priv) == CKR_OK) {
		T.f->C_SignUpdate(s, (CK_BYTE_PTR)MSG, 8);
		CHECK_RV(T.f->C_SignFinal(s, NULL, NULL), CKR_ARGUMENTS_BAD);
		T.f->C_CloseSession(s);
		s = t_open(T.slot, 1);
	}
	CHECK_RV(T.f->C_VerifyInit(s, NULL, pub), CKR_ARGUMENTS_BAD);
	if (T.f->C_VerifyInit(s, &sm, pub) == CKR_OK) {
		CHECK_RV(T.f->C_Verify(s, (CK_BYTE_PTR)MSG, 8, NULL, 64), CKR_ARGUMENTS_BAD);
		T.f->C_CloseSession(s);
		s = t_open(T.slot, 1);
	}
	{
		CK_MECHANISM pk = { CKM_RSA_PKCS, NULL, 0 };
		CK_OBJECT_HANDLE rsa = t_key(s, CKO_PRIVATE_KEY, "web-rsa");

		CHECK_RV(T.f->C_DecryptInit(s, NULL, rsa), CKR_ARGUMENTS_BAD);
		if (T.f->C_DecryptInit(s, &pk, rsa) == CKR_OK) {
			unsigned char ct[256] = { 0 };

			CHECK_RV(T.f->C_Decrypt(s, ct, sizeof(ct), NULL, NULL), CKR_ARGUMENTS_BAD);
		}
	}
	if (T.get_interface_list != NULL)
		CHECK_RV(T.get_interface_list(NULL, NULL), CKR_ARGUMENTS_BAD);
}

/* --- PINs and token initialization (the PIN token and the fresh one) ---------------- */

static CK_RV
login_pin(CK_SESSION_HANDLE s, CK_USER_TYPE who, const char *pin)
{
	return T.f->C_Login(s, who, (CK_UTF8CHAR_PTR)pin, strlen(pin));
}

TEST(pin_lock_and_unlock)
{
	CK_SESSION_HANDLE s = t_open(T.pin_slot, 1);
	CK_FLAGS f;
	CK_RV rv;
	int i;
	char *out;
	char wrong[32];

	f = t_token_flags(T.pin_slot);
	REQUIRE(!(f & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)),
		"the PIN token starts with flags 0x%lx", (unsigned long)f);
	for (i = 1; i <= 9; i++) {
		snprintf(wrong, sizeof(wrong), "wrong-pin-%d", i);
		rv = login_pin(s, CKU_USER, wrong);
		CHECK(rv == CKR_PIN_INCORRECT, "wrong PIN %d: %s", i, t_rv_name(rv));
		f = t_token_flags(T.pin_slot);
		CHECK(f & CKF_USER_PIN_COUNT_LOW, "after %d wrong PIN(s) no CKF_USER_PIN_COUNT_LOW "
		      "(flags 0x%lx)", i, (unsigned long)f);
		CHECK(!(f & CKF_USER_PIN_LOCKED), "locked after %d wrong PINs", i);
		if (i < 9)
			CHECK(!(f & CKF_USER_PIN_FINAL_TRY), "CKF_USER_PIN_FINAL_TRY after only "
			      "%d wrong PINs", i);
		else
			CHECK_REF(f & CKF_USER_PIN_FINAL_TRY, "pin-final-try",
				  "after 9 wrong PINs of 10 no CKF_USER_PIN_FINAL_TRY "
				  "(flags 0x%lx)", (unsigned long)f);
	}
	rv = login_pin(s, CKU_USER, "wrong-pin-10");
	CHECK_REF(rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED, "pin-lock",
		  "the 10th wrong PIN: %s", t_rv_name(rv));
	f = t_token_flags(T.pin_slot);
	CHECK_REF(f & CKF_USER_PIN_LOCKED, "pin-lock",
		  "after 10 wrong PINs no CKF_USER_PIN_LOCKED (flags 0x%lx)", (unsigned long)f);
	rv = login_pin(s, CKU_USER, T.user_pin);
	CHECK_REF(rv == CKR_PIN_LOCKED, "pin-lock",
		  "the right PIN on a locked token: %s, want CKR_PIN_LOCKED", t_rv_name(rv));
	if (rv == CKR_OK)
		T.f->C_Logout(s);
	rv = T.f->C_SetPIN(s, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin),
			   (CK_UTF8CHAR_PTR)"other-pin-42", 12);
	CHECK_REF(rv == CKR_PIN_LOCKED, "pin-lock",
		  "C_SetPIN with the right PIN on a locked token: %s, want CKR_PIN_LOCKED",
		  t_rv_name(rv));
	if (rv == CKR_OK)   /* put it back */
		T.f->C_SetPIN(s, (CK_UTF8CHAR_PTR)"other-pin-42", 12,
			      (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin));
	if (T.vault) {
		out = t_capture("'%s' --vault '%s' --json vault show", T.certvault,
				T.pin_vault_dir);
		CHECK(out != NULL && strstr(out, "\"locked\": true") != NULL,
		      "certvault vault show does not say the user PIN is locked");
		free(out);
	}

	/* The SO unlocks with C_InitPIN. */
	REQUIRE_OK(login_pin(s, CKU_SO, T.so_pin));
	CHECK_RV(T.f->C_InitPIN(s, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin)), CKR_OK);
	REQUIRE_OK(T.f->C_Logout(s));
	f = t_token_flags(T.pin_slot);
	CHECK(!(f & (CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY)),
	      "after C_InitPIN flags 0x%lx still say locked or final try", (unsigned long)f);
	CHECK_RV(login_pin(s, CKU_USER, T.user_pin), CKR_OK);
	f = t_token_flags(T.pin_slot);
	CHECK(!(f & (CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED)),
	      "after a good login flags 0x%lx", (unsigned long)f);
	T.f->C_Logout(s);

	/* The SO PIN counts too. */
	CHECK_RV(login_pin(s, CKU_SO, "wrong-so-pin"), CKR_PIN_INCORRECT);
	f = t_token_flags(T.pin_slot);
	CHECK(f & CKF_SO_PIN_COUNT_LOW, "after a wrong SO PIN no CKF_SO_PIN_COUNT_LOW "
	      "(flags 0x%lx)", (unsigned long)f);
	CHECK_RV(login_pin(s, CKU_SO, T.so_pin), CKR_OK);
	T.f->C_Logout(s);
	f = t_token_flags(T.pin_slot);
	CHECK(!(f & CKF_SO_PIN_COUNT_LOW), "after a good SO login CKF_SO_PIN_COUNT_LOW stays "
	      "(flags 0x%lx)", (unsigned long)f);
}

TEST(set_pin)
{
	CK_SESSION_HANDLE ro = t_open(T.pin_slot, 0), rw;
	const char *np = "new-user-pin-99", *nso = "new-so-pin-99";
	CK_RV rv;

	CHECK_RV(T.f->C_SetPIN(ro, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin),
			       (CK_UTF8CHAR_PTR)np, strlen(np)), CKR_SESSION_READ_ONLY);
	T.f->C_CloseSession(ro);
	rw = t_open(T.pin_slot, 1);
	CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)"not-the-pin", 11,
			       (CK_UTF8CHAR_PTR)np, strlen(np)), CKR_PIN_INCORRECT);
	/* C_InitPIN is the SO's (spec: else CKR_USER_NOT_LOGGED_IN). */
	CHECK_RV(T.f->C_InitPIN(rw, (CK_UTF8CHAR_PTR)np, strlen(np)), CKR_USER_NOT_LOGGED_IN);
	REQUIRE_OK(login_pin(rw, CKU_USER, T.user_pin));
	CHECK_RV(T.f->C_InitPIN(rw, (CK_UTF8CHAR_PTR)np, strlen(np)), CKR_USER_NOT_LOGGED_IN);
	T.f->C_Logout(rw);
	{
		CK_TOKEN_INFO ti;

		REQUIRE_OK(T.f->C_GetTokenInfo(T.pin_slot, &ti));
		if (ti.ulMinPinLen > 1)
			CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)T.user_pin,
					       strlen(T.user_pin), (CK_UTF8CHAR_PTR)"1", 1),
				 CKR_PIN_LEN_RANGE);
		if (ti.ulMaxPinLen < 200) {
			char longpin[256];

			memset(longpin, 'x', sizeof(longpin));
			CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)T.user_pin,
					       strlen(T.user_pin), (CK_UTF8CHAR_PTR)longpin,
					       ti.ulMaxPinLen + 1), CKR_PIN_LEN_RANGE);
		}
	}
	/* In a public session C_SetPIN changes the user's PIN. */
	rv = T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin),
			   (CK_UTF8CHAR_PTR)np, strlen(np));
	REQUIRE(rv == CKR_OK, "C_SetPIN in a R/W public session returned %s", t_rv_name(rv));
	CHECK_RV(login_pin(rw, CKU_USER, T.user_pin), CKR_PIN_INCORRECT);
	CHECK_RV(login_pin(rw, CKU_USER, np), CKR_OK);
	/* Logged in, back to the old one. */
	CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)np, strlen(np),
			       (CK_UTF8CHAR_PTR)T.user_pin, strlen(T.user_pin)), CKR_OK);
	T.f->C_Logout(rw);
	CHECK_RV(login_pin(rw, CKU_USER, T.user_pin), CKR_OK);
	T.f->C_Logout(rw);
	/* The SO's PIN, as the SO. */
	REQUIRE_OK(login_pin(rw, CKU_SO, T.so_pin));
	CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin),
			       (CK_UTF8CHAR_PTR)nso, strlen(nso)), CKR_OK);
	T.f->C_Logout(rw);
	CHECK_RV(login_pin(rw, CKU_SO, T.so_pin), CKR_PIN_INCORRECT);
	REQUIRE_OK(login_pin(rw, CKU_SO, nso));
	CHECK_RV(T.f->C_SetPIN(rw, (CK_UTF8CHAR_PTR)nso, strlen(nso),
			       (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin)), CKR_OK);
	T.f->C_Logout(rw);
	CHECK_RV(login_pin(rw, CKU_SO, T.so_pin), CKR_OK);
	T.f->C_Logout(rw);
}

TEST(init_token_session_exists)
{
	CK_SESSION_HANDLE s = t_open(T.pin_slot, 0);
	unsigned char label[32];

	pad32(label, T.pin_label);
	CHECK_RV(T.f->C_InitToken(T.pin_slot, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin),
				  label), CKR_SESSION_EXISTS);
	T.f->C_CloseSession(s);
	CHECK_RV(T.f->C_InitToken(T.pin_slot, (CK_UTF8CHAR_PTR)"not-the-so-pin", 14, label),
		 CKR_PIN_INCORRECT);
	s = t_open(T.pin_slot, 1);
	CHECK_RV(login_pin(s, CKU_USER, T.user_pin), CKR_OK);
}

TEST(init_token_fresh)
{
	unsigned char label[32];
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE s;
	const char *up = "fresh-user-pin";
	char *out;
	CK_RV rv;

	if (!T.have_fresh)
		REQUIRE(0, "no slot with an uninitialized token");
	pad32(label, "FreshToken");
	rv = T.f->C_InitToken(T.fresh_slot, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin), label);
	REQUIRE(rv == CKR_OK, "C_InitToken on the empty folder's slot returned %s",
		t_rv_name(rv));
	REQUIRE_OK(T.f->C_GetTokenInfo(T.fresh_slot, &ti));
	CHECK(t_padded_eq(ti.label, 32, "FreshToken"), "the new token is labelled \"%.32s\"",
	      ti.label);
	CHECK(ti.flags & CKF_TOKEN_INITIALIZED, "the new token lacks CKF_TOKEN_INITIALIZED");
	CHECK(!(ti.flags & CKF_USER_PIN_INITIALIZED),
	      "the new token says CKF_USER_PIN_INITIALIZED before C_InitPIN");
	s = t_open(T.fresh_slot, 1);
	CHECK_RV(login_pin(s, CKU_USER, up), CKR_USER_PIN_NOT_INITIALIZED);
	REQUIRE_OK(login_pin(s, CKU_SO, T.so_pin));
	CHECK_RV(T.f->C_InitPIN(s, (CK_UTF8CHAR_PTR)up, strlen(up)), CKR_OK);
	REQUIRE_OK(T.f->C_Logout(s));
	CHECK(t_token_flags(T.fresh_slot) & CKF_USER_PIN_INITIALIZED,
	      "after C_InitPIN no CKF_USER_PIN_INITIALIZED");
	CHECK_RV(login_pin(s, CKU_USER, up), CKR_OK);
	CHECK(t_find(s, NULL, 0, 0, NULL) == 0, "the new token holds objects");
	if (T.vault) {
		out = t_capture("'%s' --vault '%s' --json vault show 2>&1", T.certvault,
				T.fresh_dir);
		CHECK(out != NULL && strstr(out, "FreshToken") != NULL,
		      "certvault vault show on the folder does not show FreshToken");
		free(out);
	}
	/* Initialized again: a new label, the user PIN gone (C_InitToken). */
	REQUIRE_OK(T.f->C_CloseAllSessions(T.fresh_slot));
	pad32(label, "FreshAgain");
	rv = T.f->C_InitToken(T.fresh_slot, (CK_UTF8CHAR_PTR)T.so_pin, strlen(T.so_pin), label);
	CHECK(rv == CKR_OK, "C_InitToken of an initialized token (no sessions, the SO PIN): %s",
	      t_rv_name(rv));
	if (rv == CKR_OK) {
		REQUIRE_OK(T.f->C_GetTokenInfo(T.fresh_slot, &ti));
		CHECK(t_padded_eq(ti.label, 32, "FreshAgain"), "initialized again, the token is "
		      "labelled \"%.32s\"", ti.label);
		CHECK(!(ti.flags & CKF_USER_PIN_INITIALIZED), "initialized again, the token "
		      "keeps CKF_USER_PIN_INITIALIZED");
	}
	if (T.vault && rv == CKR_OK) {
		out = t_capture("'%s' --vault '%s' --json vault show 2>&1", T.certvault,
				T.fresh_dir);
		CHECK(out != NULL && strstr(out, "FreshAgain") != NULL,
		      "certvault vault show on the folder does not show FreshAgain");
		free(out);
	}
}

/* What the verify tests sign: CKM_ECDSA over a SHA-256-sized digest, which
 * SoftHSMv2 offers too. */
static const unsigned char VDIGEST[32] = { 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05 };

/* C_VerifyInit + C_Verify of s with the public key handle pub over VDIGEST:
 * the C_Verify result, or the C_VerifyInit one when that failed. */
static CK_RV
verify_with(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, const unsigned char *sig,
	    CK_ULONG len)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_RV rv;

	if ((rv = T.f->C_VerifyInit(s, &m, pub)) != CKR_OK)
		return rv;
	return T.f->C_Verify(s, (CK_BYTE_PTR)VDIGEST, sizeof(VDIGEST), (CK_BYTE_PTR)sig, len);
}

/* A new EC P-256 token key pair labelled "vkey" on a logged-in session,
 * and its signature of VDIGEST. */
static void
vkey_pair_signs(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *pub, unsigned char *sig,
		CK_ULONG *len)
{
	CK_MECHANISM em = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "vkey", 4 }, { CKA_VERIFY, &yes, 1 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE kt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SIGN, &yes, 1 },
		{ CKA_LABEL, "vkey", 4 },
	};
	CK_OBJECT_HANDLE priv = 0;

	*pub = 0;
	REQUIRE_OK(T.f->C_GenerateKeyPair(s, &em, pt, COUNT(pt), kt, COUNT(kt), pub, &priv));
	REQUIRE_OK(T.f->C_SignInit(s, &m, priv));
	REQUIRE_OK(T.f->C_Sign(s, (CK_BYTE_PTR)VDIGEST, sizeof(VDIGEST), sig, len));
}

/* A token initialized anew holds new keys, which may come to carry the
 * handles of the old ones: a public key handle held from before verifies
 * with the new key or not at all, never with the old one (public keys are
 * kept decoded between calls, whoever is logged in). */
TEST(verify_after_init_token)
{
	unsigned char label[32], sig_a[128], sig_b[128];
	CK_ULONG len_a = sizeof(sig_a), len_b = sizeof(sig_b);
	CK_OBJECT_HANDLE pub_a, pub_b;
	CK_SESSION_HANDLE s;
	const char *up = "verify-user-pin";
	int round;
	CK_RV rv;

	if (!T.have_fresh)
		REQUIRE(0, "no slot with an uninitialized token");
	for (round = 0; round < 2; round++) {
		REQUIRE_OK(T.f->C_CloseAllSessions(T.fresh_slot));
		pad32(label, round == 0 ? "VerifyOne" : "VerifyTwo");
		REQUIRE_OK(T.f->C_InitToken(T.fresh_slot, (CK_UTF8CHAR_PTR)T.so_pin,
					    strlen(T.so_pin), label));
		s = t_open(T.fresh_slot, 1);
		REQUIRE_OK(login_pin(s, CKU_SO, T.so_pin));
		REQUIRE_OK(T.f->C_InitPIN(s, (CK_UTF8CHAR_PTR)up, strlen(up)));
		REQUIRE_OK(T.f->C_Logout(s));
		REQUIRE_OK(login_pin(s, CKU_USER, up));
		if (round == 0) {
			vkey_pair_signs(s, &pub_a, sig_a, &len_a);
			/* Twice: the second C_VerifyInit finds what the first kept. */
			CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_OK);
			CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_OK);
			/* Logged out, the public key still verifies. */
			REQUIRE_OK(T.f->C_Logout(s));
			CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_OK);
		} else {
			vkey_pair_signs(s, &pub_b, sig_b, &len_b);
		}
	}
	/* The held handle: the new key's or none. */
	/* A handle gone: CKR_KEY_HANDLE_INVALID, or SoftHSMv2's
	 * CKR_OBJECT_HANDLE_INVALID. */
	rv = verify_with(s, pub_a, sig_a, len_a);
	CHECK(rv == CKR_SIGNATURE_INVALID || rv == CKR_KEY_HANDLE_INVALID ||
	      rv == CKR_OBJECT_HANDLE_INVALID,
	      "after C_InitToken and a new key pair, the old public key handle (%s the new "
	      "one's) verifies the old key's signature: %s, want CKR_SIGNATURE_INVALID or "
	      "the handle gone", pub_a == pub_b ? "now" : "not", t_rv_name(rv));
	if (rv == CKR_SIGNATURE_INVALID)
		CHECK_RV(verify_with(s, pub_a, sig_b, len_b), CKR_OK);
	CHECK_RV(verify_with(s, pub_b, sig_b, len_b), CKR_OK);
	CHECK_RV(verify_with(s, pub_b, sig_a, len_a), CKR_SIGNATURE_INVALID);
	T.f->C_CloseAllSessions(T.fresh_slot);
}

/* A certificate deleted and purged, and another made under its name: a
 * public key handle held from before never verifies with the old key, and
 * a recovered certificate's key verifies again through the held handle. */
TEST(verify_after_delete)
{
	unsigned char sig_a[128], sig_b[128];
	CK_ULONG len_a = sizeof(sig_a), len_b = sizeof(sig_b);
	CK_OBJECT_HANDLE pub_a, pub_b, priv;
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_SESSION_HANDLE s;
	char path[4096];
	FILE *fp;
	CK_RV rv;

	VAULT_ONLY();
	s = t_open(T.slot, 1);
	t_login(s, CKU_USER);
	snprintf(path, sizeof(path), "%s/p-vdel.json", T.work);
	REQUIRE((fp = fopen(path, "w")) != NULL, "%s", path);
	fputs("{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
	      "\"x509_props\":{\"subject\":\"CN=vdel\"},\"issuer\":{\"name\":\"Self\"}}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "certificate create --name vdel --policy @'%s/p-vdel.json'",
		 T.work);
	REQUIRE(tool(path) == 0, "certvault certificate create vdel failed (tool.log)");
	pub_a = t_find_label(s, CKO_PUBLIC_KEY, "vdel");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "vdel");
	REQUIRE(pub_a != 0 && priv != 0, "vdel's keys");
	REQUIRE_OK(T.f->C_SignInit(s, &m, priv));
	REQUIRE_OK(T.f->C_Sign(s, (CK_BYTE_PTR)VDIGEST, sizeof(VDIGEST), sig_a, &len_a));
	CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_OK);

	/* Deleted: the held handle is gone; recovered: it verifies again. */
	REQUIRE(tool("certificate delete --name vdel") == 0, "delete vdel failed (tool.log)");
	CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_KEY_HANDLE_INVALID);
	REQUIRE(tool("certificate recover --name vdel") == 0, "recover vdel failed (tool.log)");
	CHECK_RV(verify_with(s, pub_a, sig_a, len_a), CKR_OK);

	/* Deleted, purged and made again under the same name. */
	REQUIRE(tool("certificate delete --name vdel") == 0, "delete vdel failed (tool.log)");
	REQUIRE(tool("certificate purge --name vdel") == 0, "purge vdel failed (tool.log)");
	REQUIRE(tool(path) == 0, "certvault certificate create vdel (again) failed (tool.log)");
	pub_b = t_find_label(s, CKO_PUBLIC_KEY, "vdel");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "vdel");
	REQUIRE(pub_b != 0 && priv != 0, "the new vdel's keys");
	REQUIRE_OK(T.f->C_SignInit(s, &m, priv));
	REQUIRE_OK(T.f->C_Sign(s, (CK_BYTE_PTR)VDIGEST, sizeof(VDIGEST), sig_b, &len_b));
	rv = verify_with(s, pub_a, sig_a, len_a);
	CHECK(rv == CKR_KEY_HANDLE_INVALID || rv == CKR_SIGNATURE_INVALID,
	      "the purged certificate's public key handle verifies its old signature: %s",
	      t_rv_name(rv));
	CHECK_RV(verify_with(s, pub_b, sig_a, len_a), CKR_SIGNATURE_INVALID);
	CHECK_RV(verify_with(s, pub_b, sig_b, len_b), CKR_OK);
	CHECK(tool("certificate delete --name vdel") == 0 &&
	      tool("certificate purge --name vdel") == 0, "removing vdel failed (tool.log)");
}

/* --- A key that may not leave never leaves ------------------------------------------ */

/* A certificate whose key is not extractable, given reuse_key by a policy
 * update: a new key pair asked for with CKA_EXTRACTABLE=TRUE on its label
 * must not hand back the old key, now extractable. */
TEST(reuse_key_never_extractable)
{
	CK_SESSION_HANDLE s;
	CK_BBOOL yes = CK_TRUE;
	CK_MECHANISM em = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE priv, pub = 0, npriv = 0;
	unsigned char *old_id = NULL, *new_id = NULL;
	CK_ULONG old_len = 0, new_len = 0;
	CK_ATTRIBUTE pt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "keep", 4 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE kt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 }, { CKA_SIGN, &yes, 1 },
		{ CKA_LABEL, "keep", 4 }, { CKA_EXTRACTABLE, &yes, 1 },
	};
	char path[4096];
	FILE *fp;
	CK_RV rv;

	VAULT_ONLY();
	s = t_open(T.slot, 1);
	t_login(s, CKU_USER);
	snprintf(path, sizeof(path), "%s/p-keep.json", T.work);
	REQUIRE((fp = fopen(path, "w")) != NULL, "%s", path);
	fputs("{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false,"
	      "\"reuse_key\":false},\"secret_props\":{\"contentType\":"
	      "\"application/x-pem-file\"},\"x509_props\":{\"subject\":\"CN=keep\"},"
	      "\"issuer\":{\"name\":\"Self\"}}\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "certificate create --name keep --policy @'%s/p-keep.json'",
		 T.work);
	REQUIRE(tool(path) == 0, "certvault certificate create keep failed (tool.log)");
	REQUIRE(tool("certificate policy update --name keep --style rest "
		     "--policy '{\"key_props\":{\"reuse_key\":true}}'") == 0,
		"certvault certificate policy update keep failed (tool.log)");
	priv = t_find_label(s, CKO_PRIVATE_KEY, "keep");
	REQUIRE(priv != 0, "keep's private key is not found");
	REQUIRE_OK(t_attr(s, priv, CKA_ID, &old_id, &old_len));
	CHECK(t_attr_bool(s, priv, CKA_EXTRACTABLE) == 0, "keep's key is extractable");

	rv = T.f->C_GenerateKeyPair(s, &em, pt, COUNT(pt), kt, COUNT(kt), &pub, &npriv);
	if (rv == CKR_OK) {
		/* A new key is the other honest answer. */
		if (t_attr(s, npriv, CKA_ID, &new_id, &new_len) == CKR_OK)
			CHECK(new_len != old_len || memcmp(new_id, old_id, old_len) != 0,
			      "C_GenerateKeyPair with CKA_EXTRACTABLE=TRUE handed back keep's "
			      "non-extractable key (same CKA_ID), now extractable: %d",
			      t_attr_bool(s, npriv, CKA_EXTRACTABLE));
	} else {
		CHECK(rv == CKR_TEMPLATE_INCONSISTENT,
		      "C_GenerateKeyPair with CKA_EXTRACTABLE=TRUE on a reused non-extractable "
		      "key: %s, want CKR_TEMPLATE_INCONSISTENT or a new key", t_rv_name(rv));
	}
	/* The old key, wherever it is found, is as it was. */
	{
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE ft[] = { { CKA_CLASS, &cls, sizeof(cls) },
				      { CKA_ID, old_id, old_len } };
		CK_OBJECT_HANDLE *found = NULL;
		CK_ULONG n = t_find(s, ft, COUNT(ft), 0, &found), i;

		for (i = 0; i < n; i++) {
			CHECK(t_attr_bool(s, found[i], CKA_EXTRACTABLE) == 0,
			      "keep's old key became CKA_EXTRACTABLE=TRUE");
			CHECK(t_attr_bool(s, found[i], CKA_NEVER_EXTRACTABLE) == 1,
			      "keep's old key lost CKA_NEVER_EXTRACTABLE");
		}
		free(found);
	}
	snprintf(path, sizeof(path), "secret download --name keep --format pem --file '%s/keep.pem'",
		 T.work);
	if (CHECK(tool(path) == 0, "certvault secret download keep failed (tool.log)")) {
		snprintf(path, sizeof(path), "%s/keep.pem", T.work);
		CHECK(t_run("grep -q 'PRIVATE KEY' '%s'", path) != 0,
		      "keep's secret holds a private key");
	}
	free(old_id);
	free(new_id);
}

/* Every change to a token needs C_Login. */
TEST(changes_need_login)
{
	CK_SESSION_HANDLE s;
	CK_BBOOL yes = CK_TRUE;
	CK_MECHANISM em = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE pub = 0, priv = 0, pend, made = 0;
	CK_OBJECT_CLASS cc = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_ATTRIBUTE pt[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_LABEL, "nologin", 7 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE kt[] = { { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
			      { CKA_SIGN, &yes, 1 }, { CKA_LABEL, "nologin", 7 } };
	unsigned char *spki = NULL, *der = NULL;
	size_t der_len = 0;
	CK_ULONG spki_len = 0;

	VAULT_ONLY();
	s = t_open(T.slot, 1);
	CHECK_RV(T.f->C_GenerateKeyPair(s, &em, pt, COUNT(pt), kt, COUNT(kt), &pub, &priv),
		 CKR_USER_NOT_LOGGED_IN);
	CHECK(t_run("'%s' --vault '%s' certificate show --name nologin >/dev/null 2>&1",
		    T.certvault, T.vault_dir) != 0,
	      "a key pair generated without C_Login is in the vault");
	/* A merge (C_CreateObject of the certificate a CA issued for the
	 * pending key) is a change too. */
	pend = t_find_label(s, CKO_PUBLIC_KEY, "pending");
	REQUIRE(pend != 0, "the pending key's public key is not found");
	REQUIRE_OK(t_attr(s, pend, CKA_PUBLIC_KEY_INFO, &spki, &spki_len));
	REQUIRE(t_ca_issue(spki, spki_len, "pending", &der, &der_len),
		"the test CA did not issue");
	{
		CK_ATTRIBUTE ct_tmpl[] = {
			{ CKA_CLASS, &cc, sizeof(cc) }, { CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
			{ CKA_TOKEN, &yes, 1 }, { CKA_VALUE, der, der_len },
		};

		CHECK_RV(T.f->C_CreateObject(s, ct_tmpl, COUNT(ct_tmpl), &made),
			 CKR_USER_NOT_LOGGED_IN);
	}
	CHECK(t_find_label(s, CKO_CERTIFICATE, "pending") == 0,
	      "the pending key got a certificate without C_Login");
	free(spki);
	OPENSSL_free(der);
}

/* --- Versions: a new version never breaks a running application ----------- */

/* Write an EC P-256 policy for cn, issued by issuer, into the work folder,
 * keeping the current key when reuse. */
static void
ver_policy(const char *file, const char *cn, const char *issuer, int reuse)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", T.work, file);
	REQUIRE((fp = fopen(path, "w")) != NULL, "%s", path);
	fprintf(fp, "{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false,"
		"\"reuse_key\":%s},\"x509_props\":{\"subject\":\"CN=%s\"},"
		"\"issuer\":{\"name\":\"%s\"}}\n", reuse ? "true" : "false", cn, issuer);
	fclose(fp);
}

/* certificate create NAME from a policy file of the work folder. */
static int
ver_create(const char *name, const char *file)
{
	char args[4096];

	snprintf(args, sizeof(args), "certificate create --name %s --policy @'%s/%s'",
		 name, T.work, file);
	return tool(args);
}

/* The current version's id of a certificate, as the tool shows it. */
static void
ver_current(const char *name, char version[33])
{
	char *out = t_capture("'%s' --vault '%s' --json certificate show --name '%s' "
			      "2>/dev/null", T.certvault, T.vault_dir, name);
	int ok = t_json_string(out, "version", version, 33);

	free(out);
	REQUIRE(ok && strlen(version) == 32, "certificate show %s gave no version", name);
}

/* Sign MSG with a held key handle: the C_SignInit or C_Sign code, and on
 * success whether the signature verifies with pub. */
static CK_RV
ver_sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, EVP_PKEY *pub, int *verified)
{
	CK_MECHANISM m = { CKM_ECDSA_SHA256, NULL, 0 };
	unsigned char sig[128];
	CK_ULONG len = sizeof(sig);
	CK_RV rv;

	*verified = 0;
	if ((rv = T.f->C_SignInit(s, &m, priv)) != CKR_OK)
		return rv;
	if ((rv = T.f->C_Sign(s, (CK_BYTE_PTR)MSG, sizeof(MSG), sig, &len)) == CKR_OK)
		*verified = pub != NULL &&
			    t_openssl_verify(pub, CKM_ECDSA_SHA256, NULL, MSG, sizeof(MSG),
					     sig, len);
	return rv;
}

/* How many private keys a find by CKA_ID (and class) returns. */
static CK_ULONG
ver_private_by_id(CK_SESSION_HANDLE s, const unsigned char id[20])
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t[2] = {
		{ CKA_ID, (void *)id, 20 },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};

	return t_find(s, t, 2, 0, NULL);
}

/* Every private key the token lists (the walk Java's SunPKCS11 and libp11
 * make): 1 when no two share a CKA_ID; the count of those labelled label
 * (may be NULL) in *labelled. */
static int
ver_private_ids_unique(CK_SESSION_HANDLE s, const char *label, CK_ULONG *labelled)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof(cls) };
	CK_OBJECT_HANDLE *all = NULL;
	unsigned char *ids = NULL, *id, *lab;
	CK_ULONG n, i, k, len;
	int unique = 1;

	*labelled = 0;
	n = t_find(s, &t, 1, 0, &all);
	ids = calloc(n ? n : 1, 20);
	REQUIRE(ids != NULL, "out of memory");
	for (i = 0; i < n; i++) {
		id = lab = NULL;
		if (t_attr(s, all[i], CKA_ID, &id, &len) == CKR_OK && len == 20)
			memcpy(ids + 20 * i, id, 20);
		free(id);
		for (k = 0; k < i; k++)
			if (memcmp(ids + 20 * k, ids + 20 * i, 20) == 0)
				unique = 0;
		if (label != NULL && t_attr(s, all[i], CKA_LABEL, &lab, &len) == CKR_OK &&
		    len == strlen(label) && memcmp(lab, label, len) == 0)
			(*labelled)++;
		free(lab);
	}
	free(ids);
	free(all);
	return unique;
}

/* nginx holds a private key handle; the tool makes new versions (a new
 * key, then the same key) and the handle signs throughout, while finds by
 * label and CKA_ID see only the current version.  Disabling the held key's
 * version ends its handle: C_SignInit returns CKR_KEY_HANDLE_INVALID (the
 * object is gone for this application, as after C_DestroyObject), not
 * CKR_KEY_FUNCTION_NOT_PERMITTED, which would mean the object is there. */
TEST(version_keeps_held_handles)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE held, held_pub, now, reused;
	unsigned char id0[20], id1[20], *v = NULL;
	CK_ULONG len = 0, labelled;
	int unique;
	char first[33], second[33], args[256];
	EVP_PKEY *pub0 = NULL, *pub1 = NULL;
	CK_ATTRIBUTE a = { CKA_CLASS, NULL, 0 };
	int ok;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	ver_policy("p-held.json", "held", "Self", 0);
	REQUIRE(ver_create("held", "p-held.json") == 0, "create held (tool.log)");
	ver_current("held", first);
	held = t_find_label(s, CKO_PRIVATE_KEY, "held");
	held_pub = t_find_label(s, CKO_PUBLIC_KEY, "held");
	REQUIRE(held != 0 && held_pub != 0, "held's key pair is not found");
	REQUIRE(id_from_components(s, held_pub, id0), "held's public key");
	pub0 = t_public_pkey(s, held_pub);
	REQUIRE(ver_sign(s, held, pub0, &ok) == CKR_OK && ok, "held's key does not sign");

	/* A new version with a new key. */
	REQUIRE(ver_create("held", "p-held.json") == 0, "new version of held (tool.log)");
	ver_current("held", second);
	CHECK(strcmp(first, second) != 0, "the tool made no new version");
	CHECK_RV(ver_sign(s, held, pub0, &ok), CKR_OK);
	CHECK(ok, "after a new version the held handle's signature does not verify "
	      "with the old key");
	CHECK(attr_eq(s, held, CKA_ID, id0, 20) && attr_eq(s, held, CKA_LABEL, "held", 4),
	      "after a new version the held handle shows other attributes");
	now = t_find_label(s, CKO_PRIVATE_KEY, "held");
	REQUIRE(now != 0 && now != held, "a find by label after a new version gives %s",
		now == 0 ? "nothing" : "the old version's key");
	REQUIRE(t_attr(s, now, CKA_ID, &v, &len) == CKR_OK && len == 20, "CKA_ID");
	memcpy(id1, v, 20);
	free(v);
	CHECK(memcmp(id0, id1, 20) != 0, "the new version kept the old key");
	CHECK(ver_private_by_id(s, id0) == 0,
	      "a find by the old version's CKA_ID still finds its private key");
	CHECK(ver_private_by_id(s, id1) == 1, "a find by the new CKA_ID");
	pub1 = t_public_pkey(s, t_find_label(s, CKO_PUBLIC_KEY, "held"));

	/* A new version with the same key (reuse_key): both handles sign, and
	 * the token shows one private key with that CKA_ID. */
	ver_policy("p-held-reuse.json", "held", "Self", 1);
	REQUIRE(ver_create("held", "p-held-reuse.json") == 0, "reuse_key version (tool.log)");
	CHECK_RV(ver_sign(s, now, pub1, &ok), CKR_OK);
	CHECK(ok, "after a reuse_key version the held handle's signature does not verify");
	reused = t_find_label(s, CKO_PRIVATE_KEY, "held");
	CHECK(reused != 0 && attr_eq(s, reused, CKA_ID, id1, 20),
	      "after a reuse_key version the label finds no key with the same CKA_ID");
	CHECK(ver_private_by_id(s, id1) == 1,
	      "a find by CKA_ID after a reuse_key version gives %lu private keys, want 1",
	      (unsigned long)ver_private_by_id(s, id1));
	unique = ver_private_ids_unique(s, "held", &labelled);
	CHECK(unique && labelled == 1,
	      "listing every private key gives %lu labelled held, or two share a CKA_ID",
	      (unsigned long)labelled);
	CHECK_RV(ver_sign(s, held, pub0, &ok), CKR_OK);

	/* The first version disabled: its handle is gone. */
	snprintf(args, sizeof(args),
		 "certificate set-attributes --name held --version %s --enabled false", first);
	REQUIRE(tool(args) == 0, "disable held's first version (tool.log)");
	CHECK_RV(ver_sign(s, held, pub0, &ok), CKR_KEY_HANDLE_INVALID);
	CHECK_RV(T.f->C_GetAttributeValue(s, held, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CHECK_RV(ver_sign(s, now, pub1, &ok), CKR_OK);
	snprintf(args, sizeof(args),
		 "certificate set-attributes --name held --version %s --enabled true", first);
	REQUIRE(tool(args) == 0, "enable held's first version (tool.log)");
	CHECK_RV(ver_sign(s, held, pub0, &ok), CKR_OK);
	EVP_PKEY_free(pub0);
	EVP_PKEY_free(pub1);
}


/* An application that loaded the module once follows every new version of
 * a certificate by its name: after `certificate create` again, a merge and
 * an import on the same name, a find by CKA_LABEL (in a session opened
 * before the change, too) gives the certificate the tool calls current and
 * the key pair of its public key (CKA_ID is that key's), while the handles
 * found before still show and sign for the version they were found for. */

/* The DER of a certificate's current version, as the tool writes it. */
static X509 *
follow_tool_cert(const char *name)
{
	char args[8192], path[4096];
	X509 *x = NULL;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s-current.pem", T.work, name);
	snprintf(args, sizeof(args), "certificate download --name %s --file '%s' --overwrite",
		 name, path);
	REQUIRE(tool(args) == 0, "certificate download %s (tool.log)", name);
	REQUIRE((fp = fopen(path, "r")) != NULL, "%s", path);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	REQUIRE(x != NULL, "the downloaded certificate of %s does not read", name);
	return x;
}

/* 1 when object o's CKA_VALUE is x's DER. */
static int
follow_value_is(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, X509 *x)
{
	unsigned char *der = NULL, *v = NULL;
	CK_ULONG len = 0;
	int n, same;

	n = i2d_X509(x, &der);
	same = n > 0 && t_attr(s, o, CKA_VALUE, &v, &len) == CKR_OK &&
	       len == (CK_ULONG)n && memcmp(v, der, len) == 0;
	free(v);
	OPENSSL_free(der);
	return same;
}

/* What a find by label gives in session s must be the tool's current
 * version: the certificate, and a key pair with the certificate's key id.
 * The handles found are returned for later. */
static void
follow_check(CK_SESSION_HANDLE s, const char *name, const char *when, X509 *want,
	     CK_OBJECT_HANDLE *cert, CK_OBJECT_HANDLE *priv)
{
	unsigned char id[20];
	CK_OBJECT_HANDLE pub;
	CK_ULONG labelled = 0;
	int ok = 0;

	t_key_id(X509_get0_pubkey(want), id);
	*cert = leaf_cert(s, name);
	pub = t_find_label(s, CKO_PUBLIC_KEY, name);
	*priv = t_find_label(s, CKO_PRIVATE_KEY, name);
	CHECK(*cert != 0 && follow_value_is(s, *cert, want),
	      "%s: a find by the label gives %s, not the current version's certificate",
	      when, *cert == 0 ? "no certificate" : "another certificate");
	CHECK(*cert != 0 && attr_eq(s, *cert, CKA_ID, id, 20),
	      "%s: the certificate's CKA_ID is not its key's", when);
	CHECK(pub != 0 && attr_eq(s, pub, CKA_ID, id, 20),
	      "%s: the public key a find by the label gives is not the current version's", when);
	CHECK(*priv != 0 && attr_eq(s, *priv, CKA_ID, id, 20),
	      "%s: the private key a find by the label gives is not the current version's",
	      when);
	CHECK(ver_private_by_id(s, id) == 1, "%s: a find by the current CKA_ID gives %lu "
	      "private keys, want 1", when, (unsigned long)ver_private_by_id(s, id));
	CHECK(ver_private_ids_unique(s, name, &labelled) && labelled == 1,
	      "%s: %lu private keys are labelled %s, or two share a CKA_ID", when,
	      (unsigned long)labelled, name);
	CHECK(*priv != 0 && ver_sign(s, *priv, X509_get0_pubkey(want), &ok) == CKR_OK && ok,
	      "%s: the label's private key does not sign for the current certificate", when);
}

/* A handle found for an earlier version: its certificate is still that
 * version's and its key still signs for it. */
static void
follow_held(CK_SESSION_HANDLE s, const char *when, CK_OBJECT_HANDLE cert,
	    CK_OBJECT_HANDLE priv, X509 *was)
{
	CK_RV rv;
	int ok;

	CHECK(follow_value_is(s, cert, was), "%s: a certificate handle found before no "
	      "longer shows the certificate it was found for", when);
	rv = ver_sign(s, priv, X509_get0_pubkey(was), &ok);
	CHECK(rv == CKR_OK && ok, "%s: a private key handle found before: C_Sign %s, or "
	      "the signature does not verify with its certificate", when, t_rv_name(rv));
}

TEST(labels_follow_new_versions)
{
	CK_SESSION_HANDLE s, early;
	CK_OBJECT_HANDLE c0, p0, c1, p1, c2, p2, c3, p3, cur, now;
	X509 *x0 = NULL, *x1 = NULL, *x2 = NULL, *x3 = NULL, *x4 = NULL;
	unsigned char *spki = NULL, *der = NULL;
	size_t der_len = 0;
	int spki_len;
	char path[4096], args[8192];
	X509_REQ *req = NULL;
	FILE *fp;

	VAULT_ONLY();
	/* A session opened before the certificate exists, and kept. */
	early = t_open(T.slot, 0);
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	ver_policy("p-follow.json", "follow", "Self", 0);
	ver_policy("p-follow-csr.json", "follow", "Unknown", 0);
	REQUIRE(ver_create("follow", "p-follow.json") == 0, "create follow (tool.log)");
	x0 = follow_tool_cert("follow");
	follow_check(s, "follow", "the first version", x0, &c0, &p0);

	/* certificate create again with issuer Self. */
	REQUIRE(ver_create("follow", "p-follow.json") == 0, "new version of follow (tool.log)");
	x1 = follow_tool_cert("follow");
	CHECK(X509_cmp(x0, x1) != 0, "the tool made no new version");
	follow_check(s, "follow", "a new Self version", x1, &c1, &p1);
	follow_check(early, "follow", "a new Self version, a session opened before", x1,
		     &cur, &now);
	CHECK(c1 != c0 && p1 != p0, "a new version with a new key kept the old handles");
	follow_held(s, "a new Self version", c0, p0, x0);

	/* A renewal through a CA outside the vault: pending, then a merge. */
	REQUIRE(ver_create("follow", "p-follow-csr.json") == 0, "pending follow (tool.log)");
	follow_check(s, "follow", "while a renewal is pending", x1, &cur, &now);
	CHECK(cur == c1 && now == p1, "while a renewal is pending the label's handles changed");
	snprintf(path, sizeof(path), "%s/follow.csr", T.work);
	snprintf(args, sizeof(args), "certificate pending csr --name follow --file '%s'", path);
	REQUIRE(tool(args) == 0, "pending csr (tool.log)");
	REQUIRE((fp = fopen(path, "r")) != NULL, "%s", path);
	req = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
	fclose(fp);
	REQUIRE(req != NULL, "the CSR does not read");
	spki_len = i2d_PUBKEY(X509_REQ_get0_pubkey(req), &spki);
	REQUIRE(spki_len > 0 && t_ca_issue(spki, (size_t)spki_len, "follow", &der, &der_len),
		"the test CA did not issue");
	snprintf(path, sizeof(path), "%s/follow-signed.der", T.work);
	REQUIRE((fp = fopen(path, "wb")) != NULL && fwrite(der, 1, der_len, fp) == der_len,
		"%s", path);
	fclose(fp);
	snprintf(args, sizeof(args), "certificate pending merge --name follow --file '%s'", path);
	REQUIRE(tool(args) == 0, "pending merge (tool.log)");
	x2 = follow_tool_cert("follow");
	{
		const unsigned char *p = der;
		X509 *signed_x = d2i_X509(NULL, &p, (long)der_len);

		CHECK(signed_x != NULL && X509_cmp(signed_x, x2) == 0,
		      "after the merge the tool's current version is not the merged certificate");
		X509_free(signed_x);
	}
	follow_check(s, "follow", "after a merge", x2, &c2, &p2);
	follow_check(early, "follow", "after a merge, a session opened before", x2, &cur, &now);
	follow_held(s, "after a merge (first version)", c0, p0, x0);
	follow_held(s, "after a merge (second version)", c1, p1, x1);

	/* A renewal with the same key (reuse_key) through the CA: the label
	 * gives the new certificate with the same key, and the handles of the
	 * version before keep showing and signing for it. */
	ver_policy("p-follow-reuse.json", "follow", "Unknown", 1);
	REQUIRE(ver_create("follow", "p-follow-reuse.json") == 0, "pending reuse (tool.log)");
	snprintf(path, sizeof(path), "%s/follow-reuse.csr", T.work);
	snprintf(args, sizeof(args), "certificate pending csr --name follow --file '%s'", path);
	REQUIRE(tool(args) == 0, "pending csr (tool.log)");
	REQUIRE((fp = fopen(path, "r")) != NULL, "%s", path);
	X509_REQ_free(req);
	req = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
	fclose(fp);
	REQUIRE(req != NULL, "the CSR does not read");
	OPENSSL_free(spki);
	spki = NULL;
	OPENSSL_free(der);
	der = NULL;
	spki_len = i2d_PUBKEY(X509_REQ_get0_pubkey(req), &spki);
	REQUIRE(spki_len > 0 && t_ca_issue(spki, (size_t)spki_len, "follow", &der, &der_len),
		"the test CA did not issue");
	snprintf(path, sizeof(path), "%s/follow-reuse.der", T.work);
	REQUIRE((fp = fopen(path, "wb")) != NULL && fwrite(der, 1, der_len, fp) == der_len,
		"%s", path);
	fclose(fp);
	snprintf(args, sizeof(args), "certificate pending merge --name follow --file '%s'", path);
	REQUIRE(tool(args) == 0, "pending merge with the same key (tool.log)");
	x4 = follow_tool_cert("follow");
	CHECK(X509_cmp(x2, x4) != 0, "the merge with the same key made no new version");
	follow_check(s, "follow", "after a merge with the same key", x4, &cur, &now);
	CHECK(EVP_PKEY_eq(X509_get0_pubkey(x2), X509_get0_pubkey(x4)) == 1,
	      "the merge with the same key has another key");
	follow_held(s, "after a merge with the same key (version before)", c2, p2, x2);
	follow_held(s, "after a merge with the same key (second version)", c1, p1, x1);
	follow_held(s, "after a merge with the same key (first version)", c0, p0, x0);

	/* An import on the same name. */
	REQUIRE(t_run("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		      "-nodes -subj /CN=follow -days 30 -keyout follow-imp.key -out follow-imp.crt "
		      ">/dev/null 2>&1 && cat follow-imp.crt follow-imp.key >follow-imp.pem",
		      T.work) == 0, "openssl req");
	snprintf(args, sizeof(args), "certificate import --name follow --file '%s/follow-imp.pem'",
		 T.work);
	REQUIRE(tool(args) == 0, "import a new version of follow (tool.log)");
	x3 = follow_tool_cert("follow");
	follow_check(s, "follow", "after an import", x3, &c3, &p3);
	follow_held(s, "after an import (merged with the same key)", cur, now, x4);
	follow_held(s, "after an import (merged)", c2, p2, x2);
	follow_held(s, "after an import (first version)", c0, p0, x0);

	T.f->C_CloseSession(early);
	X509_REQ_free(req);
	OPENSSL_free(spki);
	OPENSSL_free(der);
	X509_free(x0);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
	X509_free(x4);
}
/* A renewal waiting for its CA (issuer Unknown): the label finds the
 * current version's key pair only, and so does a client that lists every
 * private key and picks by label (libp11); the pending key pair is found
 * by its own CKA_ID, so a client can build its CSR. */
TEST(pending_renewal_label)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cur, pend_pub;
	unsigned char id[20], pid[20];
	CK_ULONG n, labelled;
	int unique;
	char path[4096];
	EVP_PKEY *pub = NULL;
	X509_REQ *req = NULL;
	FILE *fp;
	int ok;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	ver_policy("p-renew.json", "renew", "Self", 0);
	ver_policy("p-renew-csr.json", "renew", "Unknown", 0);
	REQUIRE(ver_create("renew", "p-renew.json") == 0, "create renew (tool.log)");
	cur = t_find_label(s, CKO_PRIVATE_KEY, "renew");
	REQUIRE(cur != 0 && id_from_components(s, t_find_label(s, CKO_PUBLIC_KEY, "renew"), id),
		"renew's keys");
	pub = t_public_pkey(s, t_find_label(s, CKO_PUBLIC_KEY, "renew"));
	REQUIRE(ver_create("renew", "p-renew-csr.json") == 0, "pending renewal (tool.log)");

	CHECK(t_find_label(s, CKO_PRIVATE_KEY, "renew") == cur,
	      "during a pending renewal the label finds another private key");
	CHECK(t_find_label(s, CKO_PUBLIC_KEY, "renew") != 0, "the current public key");
	(void)classes_of_label(s, "renew", &n);
	CHECK(n == 3, "during a pending renewal %lu objects are labelled renew, want 3",
	      (unsigned long)n);
	unique = ver_private_ids_unique(s, "renew", &labelled);
	CHECK(unique && labelled == 1,
	      "listing every private key gives %lu labelled renew, want the current one",
	      (unsigned long)labelled);
	CHECK_RV(ver_sign(s, cur, pub, &ok), CKR_OK);
	CHECK(ok, "the current key's signature does not verify");

	/* The pending key pair by its own CKA_ID, from the CSR's public key. */
	snprintf(path, sizeof(path), "certificate pending csr --name renew --file '%s/renew.csr'",
		 T.work);
	REQUIRE(tool(path) == 0, "pending csr (tool.log)");
	snprintf(path, sizeof(path), "%s/renew.csr", T.work);
	REQUIRE((fp = fopen(path, "r")) != NULL, "%s", path);
	req = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
	fclose(fp);
	REQUIRE(req != NULL && X509_REQ_get0_pubkey(req) != NULL, "the CSR does not read");
	t_key_id(X509_REQ_get0_pubkey(req), pid);
	X509_REQ_free(req);
	CHECK(ver_private_by_id(s, pid) == 1, "the pending private key by its CKA_ID");
	{
		CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE t[2] = { { CKA_ID, pid, 20 }, { CKA_CLASS, &cls, sizeof(cls) } };
		CK_OBJECT_HANDLE *found = NULL;

		n = t_find(s, t, 2, 0, &found);
		pend_pub = n == 1 ? found[0] : 0;
		free(found);
		CHECK(pend_pub != 0 && attr_eq(s, pend_pub, CKA_LABEL, "renew", 5),
		      "the pending public key by its CKA_ID");
	}
	REQUIRE(tool("certificate pending delete --name renew") == 0, "pending delete");
	EVP_PKEY_free(pub);
}

/* Never two private keys with one CKA_ID: the same key cannot be imported
 * under a second name, and a renewal pending with the current key
 * (reuse_key) does not show a second private key. */
TEST(one_private_key_per_id)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE cur;
	unsigned char id[20];
	CK_ULONG labelled;
	int unique;

	VAULT_ONLY();
	s = t_open(T.slot, 0);
	t_login(s, CKU_USER);
	REQUIRE(t_run("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
		      "-nodes -subj /CN=twice -days 30 -keyout twice.key -out twice.crt "
		      ">/dev/null 2>&1 && cat twice.crt twice.key >twice.pem", T.work) == 0,
		"openssl req");
	{
		char args[4096];

		snprintf(args, sizeof(args), "certificate import --name twice-a --file '%s/twice.pem'",
			 T.work);
		REQUIRE(tool(args) == 0, "import twice-a (tool.log)");
		snprintf(args, sizeof(args), "certificate import --name twice-b --file '%s/twice.pem'",
			 T.work);
		CHECK(tool(args) != 0, "the same key imported under a second name");
	}
	cur = t_find_label(s, CKO_PRIVATE_KEY, "twice-a");
	REQUIRE(cur != 0 && id_from_components(s, t_find_label(s, CKO_PUBLIC_KEY, "twice-a"), id),
		"twice-a's keys");
	CHECK(ver_private_by_id(s, id) == 1, "a find by the imported key's CKA_ID gives %lu "
	      "private keys, want 1", (unsigned long)ver_private_by_id(s, id));

	ver_policy("p-same.json", "same", "Self", 1);
	ver_policy("p-same-csr.json", "same", "Unknown", 1);
	REQUIRE(ver_create("same", "p-same.json") == 0, "create same (tool.log)");
	REQUIRE(ver_create("same", "p-same-csr.json") == 0, "pending same (tool.log)");
	REQUIRE(id_from_components(s, t_find_label(s, CKO_PUBLIC_KEY, "same"), id), "same's key");
	CHECK(ver_private_by_id(s, id) == 1, "a renewal pending with the same key: a find "
	      "by CKA_ID gives %lu private keys, want 1", (unsigned long)ver_private_by_id(s, id));
	unique = ver_private_ids_unique(s, "same", &labelled);
	CHECK(unique && labelled == 1,
	      "listing every private key: two share a CKA_ID, or %lu are labelled same",
	      (unsigned long)labelled);
	REQUIRE(tool("certificate pending delete --name same") == 0, "pending delete");
}

/* --- Session objects: key pairs, public keys and data in memory ----------------- */

/* PKCS#11 3.0 sections 4.4 and 5.6: a session object lives in memory, is
 * seen by every session of the application on its slot, and is destroyed
 * when the session that made it closes (C_CloseSession, C_CloseAllSessions,
 * C_Finalize).  Public session objects need no login, in read-only sessions
 * too; private ones follow the login rules and go at C_Logout. */

/* SHA-256 of a file, to show the vault was not written. */
static int
file_digest(const char *path, unsigned char md[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	size_t n;
	int ok = c != NULL && f != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL);

	while (ok && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ok = EVP_DigestUpdate(c, buf, n);
	ok = ok && f != NULL && !ferror(f) && EVP_DigestFinal_ex(c, md, NULL);
	if (f != NULL)
		fclose(f);
	EVP_MD_CTX_free(c);
	return ok;
}

static int
vault_digest(unsigned char md[32])
{
	char path[4096];

	memset(md, 0, 32);
	if (!T.vault)
		return 1;
	snprintf(path, sizeof(path), "%s/data.mdb", T.vault_dir);
	return file_digest(path, md);
}

/* A session key pair: CKA_TOKEN FALSE in both templates; priv_private is
 * the private key's CKA_PRIVATE (-1: not given). */
static CK_RV
session_pair(CK_SESSION_HANDLE s, CK_KEY_TYPE kt, const char *label, int priv_private,
	     CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE, pp = priv_private == 1 ? CK_TRUE : CK_FALSE;
	CK_ULONG bits = 2048;
	CK_BYTE e[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM m = { kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
			   NULL, 0 };
	CK_ATTRIBUTE pub_rsa[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 }, { CKA_ENCRYPT, &yes, 1 },
		{ CKA_MODULUS_BITS, &bits, sizeof(bits) }, { CKA_PUBLIC_EXPONENT, e, sizeof(e) },
	};
	CK_ATTRIBUTE pub_ec[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_VERIFY, &yes, 1 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE prv[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_SIGN, &yes, 1 }, { CKA_DECRYPT, kt == CKK_RSA ? &yes : &no, 1 },
		{ CKA_SENSITIVE, &yes, 1 }, { CKA_PRIVATE, &pp, 1 },
	};

	*pub = *priv = CK_INVALID_HANDLE;
	return T.f->C_GenerateKeyPair(s, &m, kt == CKK_RSA ? pub_rsa : pub_ec,
				      kt == CKK_RSA ? COUNT(pub_rsa) : COUNT(pub_ec),
				      prv, priv_private == -1 ? COUNT(prv) - 1 : COUNT(prv),
				      pub, priv);
}

static CK_ULONG
count_label(CK_SESSION_HANDLE s, const char *label)
{
	CK_ULONG n = 0;

	classes_of_label(s, label, &n);
	return n;
}

static void
session_pair_case(CK_KEY_TYPE kt, const char *label)
{
	CK_SESSION_HANDLE ro = t_open(T.slot, 0), other = t_open(T.slot, 0);
	CK_OBJECT_HANDLE pub, priv;
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	unsigned char before[32], after[32], ct[512], pt[512];
	CK_MECHANISM dm = { CKM_RSA_PKCS, NULL, 0 };
	CK_ULONG len;
	size_t ct_len;
	EVP_PKEY *pkey;
	CK_RV rv;

	/* A private session key needs a login, also in a read-only session. */
	rv = session_pair(ro, kt, label, 1, &pub, &priv);
	CHECK(rv == CKR_USER_NOT_LOGGED_IN, "%s: a private session key pair before C_Login: "
	      "%s, want CKR_USER_NOT_LOGGED_IN", label, t_rv_name(rv));
	t_login(ro, CKU_USER);
	/* After the login, which writes its count of attempts to the vault. */
	REQUIRE(vault_digest(before), "the vault's data.mdb cannot be read");
	rv = session_pair(ro, kt, label, 1, &pub, &priv);
	REQUIRE(rv == CKR_OK, "%s: C_GenerateKeyPair(CKA_TOKEN FALSE) in a read-only "
		"session returned %s", label, t_rv_name(rv));
	CHECK(t_attr_bool(ro, pub, CKA_TOKEN) == 0 && t_attr_bool(ro, priv, CKA_TOKEN) == 0,
	      "%s: the session key pair says CKA_TOKEN TRUE", label);
	CHECK(t_attr_bool(ro, priv, CKA_PRIVATE) == 1, "%s: CKA_PRIVATE of the private key",
	      label);
	CHECK(t_attr_bool(ro, priv, CKA_SENSITIVE) == 1, "%s: CKA_SENSITIVE", label);
	CHECK(t_attr_bool(ro, priv, CKA_LOCAL) == 1 && t_attr_bool(ro, pub, CKA_LOCAL) == 1,
	      "%s: CKA_LOCAL of a generated key pair", label);
	CHECK(t_attr_ulong(ro, priv, CKA_KEY_TYPE) == kt, "%s: CKA_KEY_TYPE", label);
	CHECK(t_attr_ulong(ro, priv, CKA_CLASS) == CKO_PRIVATE_KEY &&
	      t_attr_ulong(ro, pub, CKA_CLASS) == CKO_PUBLIC_KEY, "%s: CKA_CLASS", label);
	if (kt == CKK_RSA)
		CHECK(t_attr_ulong(ro, pub, CKA_MODULUS_BITS) == 2048, "%s: CKA_MODULUS_BITS",
		      label);
	else
		CHECK(attr_eq(ro, pub, CKA_EC_PARAMS, OID_P256, sizeof(OID_P256)) &&
		      attr_eq(ro, priv, CKA_EC_PARAMS, OID_P256, sizeof(OID_P256)),
		      "%s: CKA_EC_PARAMS", label);
	{
		CK_ATTRIBUTE v = { kt == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, NULL, 0 };

		CHECK_RV(T.f->C_GetAttributeValue(ro, priv, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
	}

	pkey = t_public_pkey(ro, pub);
	REQUIRE(pkey != NULL, "%s: the session public key for OpenSSL", label);
	if (kt == CKK_RSA) {
		sign_verify(ro, priv, pub, pkey, CKM_SHA256_RSA_PKCS, 256);
		sign_verify(ro, priv, pub, pkey, CKM_RSA_PKCS, 256);
		sign_verify(ro, priv, pub, pkey, CKM_SHA256_RSA_PKCS_PSS, 256);
		ct_len = ossl_encrypt(pkey, RSA_PKCS1_PADDING, NULL, MSG, 32, ct, sizeof(ct));
		REQUIRE(ct_len > 0, "OpenSSL encryption to the session key");
		rv = T.f->C_DecryptInit(ro, &dm, priv);
		if (CHECK(rv == CKR_OK, "%s: C_DecryptInit returned %s", label, t_rv_name(rv))) {
			len = sizeof(pt);
			rv = T.f->C_Decrypt(ro, ct, ct_len, pt, &len);
			CHECK(rv == CKR_OK && len == 32 && memcmp(pt, MSG, 32) == 0,
			      "%s: C_Decrypt returned %s, %lu bytes", label, t_rv_name(rv),
			      (unsigned long)len);
		}
	} else {
		sign_verify(ro, priv, pub, pkey, EC_MECH, 64);
	}
	EVP_PKEY_free(pkey);

	/* Every session of the application sees them. */
	CHECK_RV(T.f->C_GetAttributeValue(other, pub, &a, 1), CKR_OK);
	CHECK_RV(T.f->C_GetAttributeValue(other, priv, &a, 1), CKR_OK);
	CHECK(count_label(other, label) == 2, "%s: another session finds %lu objects, want 2",
	      label, (unsigned long)count_label(other, label));
	REQUIRE(vault_digest(after), "the vault's data.mdb cannot be read");
	CHECK(memcmp(before, after, 32) == 0, "%s: a session key pair changed the vault's "
	      "data.mdb", label);

	/* They go with the session that made them. */
	REQUIRE_OK(T.f->C_CloseSession(ro));
	CHECK_RV(T.f->C_GetAttributeValue(other, pub, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CHECK_RV(T.f->C_GetAttributeValue(other, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
	CHECK(count_label(other, label) == 0, "%s: %lu objects outlive the session that made "
	      "them", label, (unsigned long)count_label(other, label));
}

TEST(session_keypair_rsa)
{
	session_pair_case(CKK_RSA, "sess-rsa");
}

TEST(session_keypair_ec)
{
	session_pair_case(CKK_EC, "sess-ec");
}

/* Public session key pairs need no login; C_CloseAllSessions and C_Finalize
 * destroy session objects; a token key pair from a read-only session is
 * CKR_SESSION_READ_ONLY; template errors are template errors. */
TEST(session_keypair_lifetime)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0), s2;
	CK_OBJECT_HANDLE pub, priv;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS wrong = CKO_SECRET_KEY;
	CK_MECHANISM em = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM rm = { CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE ec_pub[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE ec_pub_tok[] = {
		{ CKA_TOKEN, &yes, 1 }, { CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE ec_pub_noparams[] = { { CKA_TOKEN, &no, 1 } };
	CK_ATTRIBUTE ec_pub_class[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_CLASS, &wrong, sizeof(wrong) },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE ec_pub_badbool[] = {
		{ CKA_TOKEN, &no, 1 }, { CKA_VERIFY, &yes, 4 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
	};
	CK_ATTRIBUTE prv[] = { { CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &no, 1 },
			       { CKA_SIGN, &yes, 1 } };
	CK_ATTRIBUTE prv_tok[] = { { CKA_TOKEN, &yes, 1 }, { CKA_PRIVATE, &yes, 1 },
				   { CKA_SIGN, &yes, 1 } };
	CK_ATTRIBUTE rsa_pub[] = { { CKA_TOKEN, &no, 1 } };
	EVP_PKEY *pkey;
	CK_RV rv;

	/* No login: a public session key pair. */
	rv = T.f->C_GenerateKeyPair(s, &em, ec_pub, COUNT(ec_pub), prv, COUNT(prv), &pub, &priv);
	REQUIRE(rv == CKR_OK, "a public session key pair without C_Login: %s", t_rv_name(rv));
	CHECK(t_attr_bool(s, priv, CKA_PRIVATE) == 0, "CKA_PRIVATE FALSE was not kept");
	pkey = t_public_pkey(s, pub);
	REQUIRE(pkey != NULL, "the session public key for OpenSSL");
	sign_verify(s, priv, pub, pkey, EC_MECH, 64);
	EVP_PKEY_free(pkey);
	CHECK_RV(T.f->C_DestroyObject(s, priv), CKR_OK);
	{
		CK_OBJECT_CLASS cls;
		CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

		CHECK_RV(T.f->C_GetAttributeValue(s, priv, &a, 1), CKR_OBJECT_HANDLE_INVALID);
		CHECK_RV(T.f->C_GetAttributeValue(s, pub, &a, 1), CKR_OK);
	}

	/* C_CloseAllSessions. */
	rv = T.f->C_GenerateKeyPair(s, &em, ec_pub, COUNT(ec_pub), prv, COUNT(prv), &pub, &priv);
	REQUIRE(rv == CKR_OK, "a second public session key pair: %s", t_rv_name(rv));
	REQUIRE_OK(T.f->C_CloseAllSessions(T.slot));
	s = t_open(T.slot, 0);
	{
		CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE tt[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_TOKEN, &no, 1 } };

		CHECK(find_count(s, tt, COUNT(tt)) == 0, "session private keys outlive "
		      "C_CloseAllSessions");
	}

	/* C_Finalize. */
	rv = T.f->C_GenerateKeyPair(s, &em, ec_pub, COUNT(ec_pub), prv, COUNT(prv), &pub, &priv);
	REQUIRE(rv == CKR_OK, "a third public session key pair: %s", t_rv_name(rv));
	REQUIRE_OK(t_finalize());
	REQUIRE_OK(t_initialize());
	t_find_slots();
	s2 = t_open(T.slot, 0);
	{
		CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY;
		CK_ATTRIBUTE tt[] = { { CKA_CLASS, &pc, sizeof(pc) }, { CKA_TOKEN, &no, 1 } };

		CHECK(find_count(s2, tt, COUNT(tt)) == 0, "session private keys outlive "
		      "C_Finalize");
	}

	/* A token key pair from a read-only session. */
	rv = T.f->C_GenerateKeyPair(s2, &em, ec_pub_tok, COUNT(ec_pub_tok), prv_tok,
				    COUNT(prv_tok), &pub, &priv);
	CHECK(rv == CKR_SESSION_READ_ONLY, "a token key pair from a read-only session: %s, "
	      "want CKR_SESSION_READ_ONLY", t_rv_name(rv));
	/* Template errors, not login errors. */
	rv = T.f->C_GenerateKeyPair(s2, &em, ec_pub_noparams, COUNT(ec_pub_noparams), prv,
				    COUNT(prv), &pub, &priv);
	CHECK(rv == CKR_TEMPLATE_INCOMPLETE, "a session EC key pair without CKA_EC_PARAMS: "
	      "%s, want CKR_TEMPLATE_INCOMPLETE", t_rv_name(rv));
	rv = T.f->C_GenerateKeyPair(s2, &rm, rsa_pub, COUNT(rsa_pub), prv, COUNT(prv), &pub,
				    &priv);
	CHECK(rv == CKR_TEMPLATE_INCOMPLETE, "a session RSA key pair without "
	      "CKA_MODULUS_BITS: %s, want CKR_TEMPLATE_INCOMPLETE", t_rv_name(rv));
	rv = T.f->C_GenerateKeyPair(s2, &em, ec_pub_class, COUNT(ec_pub_class), prv,
				    COUNT(prv), &pub, &priv);
	CHECK(rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_ATTRIBUTE_VALUE_INVALID,
	      "a public key template of CKA_CLASS CKO_SECRET_KEY: %s", t_rv_name(rv));
	rv = T.f->C_GenerateKeyPair(s2, &em, ec_pub_badbool, COUNT(ec_pub_badbool), prv,
				    COUNT(prv), &pub, &priv);
	CHECK(rv == CKR_ATTRIBUTE_VALUE_INVALID, "a 4-byte CKA_VERIFY: %s, want "
	      "CKR_ATTRIBUTE_VALUE_INVALID", t_rv_name(rv));
	if (T.vault) {
		/* The vault holds key pairs whole: one half on the token and
		 * the other in the session is not a key pair it can make. */
		CK_SESSION_HANDLE rw = t_open(T.slot, 1);

		t_login(rw, CKU_USER);
		rv = T.f->C_GenerateKeyPair(rw, &em, ec_pub, COUNT(ec_pub), prv_tok,
					    COUNT(prv_tok), &pub, &priv);
		CHECK(rv == CKR_TEMPLATE_INCONSISTENT, "a session public key with a token "
		      "private key: %s, want CKR_TEMPLATE_INCONSISTENT", t_rv_name(rv));
	}
}

/* Verification with session public keys made by C_CreateObject, in a
 * read-only public session, of what the vault's keys sign. */
TEST(session_public_key_verify)
{
	static const CK_MECHANISM_TYPE rsa_mechs[] = {
		CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
	};
	CK_SESSION_HANDLE ro = t_open(T.slot, 0), signer = t_open(T.slot, 0);
	CK_OBJECT_CLASS pc = CKO_PUBLIC_KEY;
	CK_KEY_TYPE rsa = CKK_RSA, ec = CKK_EC;
	CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
	CK_OBJECT_HANDLE tok, priv, sp = CK_INVALID_HANDLE;
	unsigned char *n = NULL, *e = NULL, *par = NULL, *pt = NULL;
	CK_ULONG nl = 0, el = 0, parl = 0, ptl = 0;
	EVP_PKEY *pkey;
	size_t i;
	CK_RV rv;

	t_login(signer, CKU_USER);
	tok = t_key(ro, CKO_PUBLIC_KEY, "web-rsa");
	priv = t_key(signer, CKO_PRIVATE_KEY, "web-rsa");
	REQUIRE(tok != 0 && priv != 0, "web-rsa's keys");
	REQUIRE_OK(t_attr(ro, tok, CKA_MODULUS, &n, &nl));
	REQUIRE_OK(t_attr(ro, tok, CKA_PUBLIC_EXPONENT, &e, &el));
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &pc, sizeof(pc) }, { CKA_KEY_TYPE, &rsa, sizeof(rsa) },
			{ CKA_TOKEN, &no, 1 }, { CKA_VERIFY, &yes, 1 },
			{ CKA_LABEL, "sess-verify-rsa", 15 },
			{ CKA_MODULUS, n, nl }, { CKA_PUBLIC_EXPONENT, e, el },
		};

		rv = T.f->C_CreateObject(ro, t, COUNT(t), &sp);
		REQUIRE(rv == CKR_OK, "C_CreateObject of a session RSA public key in a "
			"read-only public session: %s", t_rv_name(rv));
	}
	pkey = t_public_pkey(ro, tok);
	REQUIRE(pkey != NULL, "web-rsa's public key for OpenSSL");
	for (i = 0; i < COUNT(rsa_mechs); i++)
		sign_verify(signer, priv, 0, pkey, rsa_mechs[i], 256);
	/* sign_verify verifies with C_Verify in the signing session; here the
	 * read-only public session verifies with its own object. */
	for (i = 0; i < COUNT(rsa_mechs); i++) {
		CK_RSA_PKCS_PSS_PARAMS pss;
		CK_MECHANISM m;
		unsigned char in[sizeof(MSG) + 64], sig[1024];
		CK_ULONG in_len = 0, sig_len;

		sign_input(rsa_mechs[i], &pss, &m, in, &in_len);
		sig_len = t_sign(signer, &m, priv, in, in_len, sig, sizeof(sig));
		rv = T.f->C_VerifyInit(ro, &m, sp);
		if (!CHECK(rv == CKR_OK, "%s: C_VerifyInit with the session key: %s",
			   t_mech_name(rsa_mechs[i]), t_rv_name(rv)))
			continue;
		rv = T.f->C_Verify(ro, in, in_len, sig, sig_len);
		CHECK(rv == CKR_OK, "%s: C_Verify with the session key: %s",
		      t_mech_name(rsa_mechs[i]), t_rv_name(rv));
		sig[3] ^= 0x10;
		if (T.f->C_VerifyInit(ro, &m, sp) == CKR_OK) {
			rv = T.f->C_Verify(ro, in, in_len, sig, sig_len);
			CHECK(rv == CKR_SIGNATURE_INVALID, "%s: C_Verify of a changed "
			      "signature with the session key: %s", t_mech_name(rsa_mechs[i]),
			      t_rv_name(rv));
		}
	}
	/* A session public key does not sign. */
	{
		CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };

		CHECK_RV(T.f->C_SignInit(ro, &m, sp), CKR_KEY_FUNCTION_NOT_PERMITTED);
	}
	EVP_PKEY_free(pkey);

	/* ECDSA. */
	tok = t_key(ro, CKO_PUBLIC_KEY, "web-ec");
	priv = t_key(signer, CKO_PRIVATE_KEY, "web-ec");
	REQUIRE(tok != 0 && priv != 0, "web-ec's keys");
	REQUIRE_OK(t_attr(ro, tok, CKA_EC_PARAMS, &par, &parl));
	REQUIRE_OK(t_attr(ro, tok, CKA_EC_POINT, &pt, &ptl));
	{
		CK_ATTRIBUTE t[] = {
			{ CKA_CLASS, &pc, sizeof(pc) }, { CKA_KEY_TYPE, &ec, sizeof(ec) },
			{ CKA_TOKEN, &no, 1 }, { CKA_VERIFY, &yes, 1 },
			{ CKA_EC_PARAMS, par, parl }, { CKA_EC_POINT, pt, ptl },
		};

		rv = T.f->C_CreateObject(ro, t, COUNT(t), &sp);
		REQUIRE(rv == CKR_OK, "C_CreateObject of a session EC public key: %s",
			t_rv_name(rv));
	}
	{
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
		unsigned char sig[256];
		CK_ULONG sig_len;

		sig_len = t_sign(signer, &m, priv, MSG_SHA256, 32, sig, sizeof(sig));
		rv = T.f->C_VerifyInit(ro, &m, sp);
		if (CHECK(rv == CKR_OK, "CKM_ECDSA: C_VerifyInit with the session key: %s",
			  t_rv_name(rv))) {
			rv = T.f->C_Verify(ro, MSG_SHA256, 32, sig, sig_len);
			CHECK(rv == CKR_OK, "CKM_ECDSA: C_Verify with the session key: %s",
			      t_rv_name(rv));
		}
		sig[1] ^= 0x01;
		if (T.f->C_VerifyInit(ro, &m, sp) == CKR_OK) {
			rv = T.f->C_Verify(ro, MSG_SHA256, 32, sig, sig_len);
			CHECK(rv == CKR_SIGNATURE_INVALID, "CKM_ECDSA: C_Verify of a changed "
			      "signature: %s", t_rv_name(rv));
		}
	}
	free(n);
	free(e);
	free(par);
	free(pt);
}

/* Data objects (CKO_DATA) as session objects; CKA_MODIFIABLE and
 * CKA_DESTROYABLE; what C_SetAttributeValue may change. */
TEST(session_data_objects)
{
	CK_SESSION_HANDLE ro = t_open(T.slot, 0), other = t_open(T.slot, 0);
	CK_OBJECT_CLASS dc = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE d = CK_INVALID_HANDLE, fixed = CK_INVALID_HANDLE,
			 keep = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE, h;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &no, 1 },
		{ CKA_LABEL, "sess-data", 9 }, { CKA_APPLICATION, "suite", 5 },
		{ CKA_VALUE, "first value", 11 },
	};
	CK_ATTRIBUTE fixed_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_PRIVATE, &no, 1 },
		{ CKA_LABEL, "sess-data-fixed", 15 },
		{ CKA_VALUE, "fixed", 5 }, { CKA_MODIFIABLE, &no, 1 },
	};
	CK_ATTRIBUTE keep_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_PRIVATE, &no, 1 },
		{ CKA_LABEL, "sess-data-keep", 14 },
		{ CKA_DESTROYABLE, &no, 1 },
	};
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_LABEL, "sess-data-priv", 14 },
		{ CKA_PRIVATE, &yes, 1 }, { CKA_VALUE, "secret", 6 },
	};
	CK_ATTRIBUTE tok_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_TOKEN, &yes, 1 },
		{ CKA_LABEL, "tok-data", 8 }, { CKA_VALUE, "x", 1 },
	};
	CK_ATTRIBUTE bad_bool[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_PRIVATE, &no, 4 },
	};
	CK_ATTRIBUTE foreign[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_PRIVATE, &no, 1 },
		{ CKA_MODULUS_BITS, &dc, sizeof(dc) },
	};
	CK_ATTRIBUTE no_class[] = { { CKA_VALUE, "x", 1 } };
	CK_ATTRIBUTE set_v = { CKA_VALUE, "second value!", 13 };
	CK_ATTRIBUTE set_l = { CKA_LABEL, "sess-data-2", 11 };
	CK_RV rv;

	rv = T.f->C_CreateObject(ro, tmpl, COUNT(tmpl), &d);
	REQUIRE(rv == CKR_OK, "C_CreateObject of a session data object in a read-only "
		"public session: %s", t_rv_name(rv));
	CHECK(attr_eq(ro, d, CKA_VALUE, "first value", 11), "CKA_VALUE of the data object");
	CHECK(attr_eq(ro, d, CKA_APPLICATION, "suite", 5), "CKA_APPLICATION");
	CHECK(attr_eq(other, d, CKA_LABEL, "sess-data", 9), "another session reads the label");
	CHECK(t_attr_ulong(ro, d, CKA_CLASS) == CKO_DATA, "CKA_CLASS");
	CHECK(t_attr_bool(ro, d, CKA_TOKEN) == 0 && t_attr_bool(ro, d, CKA_PRIVATE) == 0,
	      "CKA_TOKEN or CKA_PRIVATE of a public session data object");
	CHECK(t_attr_bool(ro, d, CKA_MODIFIABLE) == 1, "CKA_MODIFIABLE default");
	CHECK(count_label(other, "sess-data") == 1, "another session's find");
	/* The label changes; a data object's value is fixed (the spec's
	 * data object table marks none of its own attributes modifiable). */
	CHECK_RV(T.f->C_SetAttributeValue(ro, d, &set_l, 1), CKR_OK);
	CHECK(attr_eq(other, d, CKA_LABEL, "sess-data-2", 11), "CKA_LABEL after "
	      "C_SetAttributeValue");
	CHECK_RV(T.f->C_SetAttributeValue(ro, d, &set_v, 1), CKR_ATTRIBUTE_READ_ONLY);
	CHECK(attr_eq(other, d, CKA_VALUE, "first value", 11), "CKA_VALUE changed");
	{
		CK_BBOOL t = CK_TRUE;
		CK_ATTRIBUTE tok = { CKA_TOKEN, &t, 1 };

		CHECK_RV(T.f->C_SetAttributeValue(ro, d, &tok, 1), CKR_ATTRIBUTE_READ_ONLY);
	}

	/* CKA_MODIFIABLE FALSE. */
	rv = T.f->C_CreateObject(ro, fixed_t, COUNT(fixed_t), &fixed);
	REQUIRE(rv == CKR_OK, "a data object with CKA_MODIFIABLE FALSE: %s", t_rv_name(rv));
	CHECK(t_attr_bool(ro, fixed, CKA_MODIFIABLE) == 0, "CKA_MODIFIABLE FALSE not kept");
	rv = T.f->C_SetAttributeValue(ro, fixed, &set_l, 1);
	CHECK(rv == CKR_ACTION_PROHIBITED, "C_SetAttributeValue(CKA_LABEL) of an "
	      "unmodifiable object: %s, want CKR_ACTION_PROHIBITED", t_rv_name(rv));
	CHECK(attr_eq(ro, fixed, CKA_LABEL, "sess-data-fixed", 15), "the unmodifiable "
	      "object's label changed");

	/* CKA_DESTROYABLE FALSE. */
	rv = T.f->C_CreateObject(ro, keep_t, COUNT(keep_t), &keep);
	REQUIRE(rv == CKR_OK, "a data object with CKA_DESTROYABLE FALSE: %s", t_rv_name(rv));
	CHECK_RV(T.f->C_DestroyObject(ro, keep), CKR_ACTION_PROHIBITED);
	CHECK_RV(T.f->C_DestroyObject(ro, d), CKR_OK);
	CHECK(count_label(other, "sess-data-2") == 0, "the destroyed data object is found");

	/* A private data object needs a login, and goes at C_Logout. */
	rv = T.f->C_CreateObject(ro, priv_t, COUNT(priv_t), &priv);
	CHECK(rv == CKR_USER_NOT_LOGGED_IN, "a private data object before C_Login: %s, want "
	      "CKR_USER_NOT_LOGGED_IN", t_rv_name(rv));
	t_login(ro, CKU_USER);
	rv = T.f->C_CreateObject(ro, priv_t, COUNT(priv_t), &priv);
	REQUIRE(rv == CKR_OK, "a private data object after C_Login: %s", t_rv_name(rv));
	CHECK(attr_eq(other, priv, CKA_VALUE, "secret", 6), "the private data object "
	      "in another session of the logged-in application");
	REQUIRE_OK(T.f->C_Logout(ro));
	CHECK(count_label(other, "sess-data-priv") == 0, "a public session finds the private "
	      "data object");
	t_login(ro, CKU_USER);
	CHECK(count_label(other, "sess-data-priv") == 0, "the private data object outlives "
	      "C_Logout");

	/* Token objects: CKR_SESSION_READ_ONLY from a read-only session; the
	 * vault holds no data objects, which is a template error. */
	rv = T.f->C_CreateObject(ro, tok_t, COUNT(tok_t), &h);
	CHECK(rv == CKR_SESSION_READ_ONLY, "a token data object from a read-only session: "
	      "%s, want CKR_SESSION_READ_ONLY", t_rv_name(rv));
	if (T.vault) {
		CK_SESSION_HANDLE rw = t_open(T.slot, 1);

		rv = T.f->C_CreateObject(rw, tok_t, COUNT(tok_t), &h);
		CHECK(rv == CKR_TEMPLATE_INCONSISTENT, "a token data object in the vault: %s, "
		      "want CKR_TEMPLATE_INCONSISTENT", t_rv_name(rv));
	}
	CHECK_RV(T.f->C_CreateObject(ro, bad_bool, COUNT(bad_bool), &h),
		 CKR_ATTRIBUTE_VALUE_INVALID);
	CHECK_RV(T.f->C_CreateObject(ro, no_class, COUNT(no_class), &h),
		 CKR_TEMPLATE_INCOMPLETE);
	rv = T.f->C_CreateObject(ro, foreign, COUNT(foreign), &h);
	CHECK(rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT,
	      "a data object with CKA_MODULUS_BITS: %s", t_rv_name(rv));
}

/* What C_SetAttributeValue may change on a session key, by the spec's
 * tables: usage flags yes, CKA_SENSITIVE only to TRUE, CKA_EXTRACTABLE only
 * to FALSE, the key itself never. */
TEST(session_key_attributes)
{
	CK_SESSION_HANDLE s = t_open(T.slot, 0);
	CK_OBJECT_HANDLE pub, priv;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE lab = { CKA_LABEL, "sess-renamed", 12 };
	CK_ATTRIBUTE id = { CKA_ID, "\x01\x02\x03", 3 };
	CK_ATTRIBUTE nosign = { CKA_SIGN, &no, 1 };
	CK_ATTRIBUTE insens = { CKA_SENSITIVE, &no, 1 };
	CK_ATTRIBUTE noext = { CKA_EXTRACTABLE, &no, 1 };
	CK_ATTRIBUTE ext = { CKA_EXTRACTABLE, &yes, 1 };
	CK_ATTRIBUTE par = { CKA_EC_PARAMS, (void *)OID_P256, 3 };
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	CK_RV rv;

	t_login(s, CKU_USER);
	REQUIRE_OK(session_pair(s, CKK_EC, "sess-attrs", -1, &pub, &priv));
	CHECK(t_attr_bool(s, priv, CKA_PRIVATE) == 1, "a session private key without "
	      "CKA_PRIVATE in its template is not private");
	CHECK_RV(T.f->C_SetAttributeValue(s, priv, &lab, 1), CKR_OK);
	CHECK(attr_eq(s, priv, CKA_LABEL, "sess-renamed", 12), "the new label");
	CHECK_RV(T.f->C_SetAttributeValue(s, pub, &id, 1), CKR_OK);
	CHECK(attr_eq(s, pub, CKA_ID, "\x01\x02\x03", 3), "the new CKA_ID");
	rv = T.f->C_SetAttributeValue(s, priv, &insens, 1);
	CHECK(rv == CKR_ATTRIBUTE_READ_ONLY, "CKA_SENSITIVE TRUE to FALSE: %s, want "
	      "CKR_ATTRIBUTE_READ_ONLY", t_rv_name(rv));
	CHECK(t_attr_bool(s, priv, CKA_SENSITIVE) == 1, "CKA_SENSITIVE changed");
	if (t_attr_bool(s, priv, CKA_EXTRACTABLE) == 0) {
		rv = T.f->C_SetAttributeValue(s, priv, &ext, 1);
		CHECK(rv == CKR_ATTRIBUTE_READ_ONLY, "CKA_EXTRACTABLE FALSE to TRUE: %s",
		      t_rv_name(rv));
	} else {
		CHECK_RV(T.f->C_SetAttributeValue(s, priv, &noext, 1), CKR_OK);
		CHECK(t_attr_bool(s, priv, CKA_EXTRACTABLE) == 0, "CKA_EXTRACTABLE stays TRUE");
		rv = T.f->C_SetAttributeValue(s, priv, &ext, 1);
		CHECK(rv == CKR_ATTRIBUTE_READ_ONLY, "CKA_EXTRACTABLE FALSE to TRUE: %s",
		      t_rv_name(rv));
	}
	rv = T.f->C_SetAttributeValue(s, pub, &par, 1);
	CHECK(rv == CKR_ATTRIBUTE_READ_ONLY, "changing CKA_EC_PARAMS: %s", t_rv_name(rv));
	CHECK_RV(T.f->C_SetAttributeValue(s, priv, &nosign, 1), CKR_OK);
	CHECK(t_attr_bool(s, priv, CKA_SIGN) == 0, "CKA_SIGN FALSE was not kept");
	rv = T.f->C_SignInit(s, &m, priv);
	CHECK(rv == CKR_KEY_FUNCTION_NOT_PERMITTED, "C_SignInit after CKA_SIGN FALSE: %s",
	      t_rv_name(rv));
	/* A copy of a session private key signs as the key does. */
	{
		CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
		CK_ATTRIBUTE sign = { CKA_SIGN, &yes, 1 };
		CK_ATTRIBUTE name = { CKA_LABEL, "sess-copy", 9 };
		EVP_PKEY *pkey;

		CHECK_RV(T.f->C_SetAttributeValue(s, priv, &sign, 1), CKR_OK);
		rv = T.f->C_CopyObject(s, priv, &name, 1, &copy);
		CHECK(rv == CKR_OK, "C_CopyObject of a session private key: %s",
		      t_rv_name(rv));
		pkey = t_public_pkey(s, pub);
		if (rv == CKR_OK && pkey != NULL)
			sign_verify(s, copy, pub, pkey, EC_MECH, 64);
		EVP_PKEY_free(pkey);
	}
}

/* --- Template values at the entry ------------------------------------------------- */

/* Every function that reads a caller's template refuses, before reading a
 * value, one that claims a length with no value (pValue NULL) or a length
 * no buffer has (beyond LONG_MAX, where the DER readers' long turns
 * negative): CKR_ATTRIBUTE_VALUE_INVALID, nothing made, no operation left
 * active.  (C_GetAttributeValue is not among them: there NULL asks for the
 * length.)  SoftHSMv2 reads through such values and crashes; not called. */
static CK_RV
bad_value_call(int fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE data,
	       const CK_ATTRIBUTE *bad)
{
	CK_OBJECT_CLASS dc = CKO_DATA;
	CK_BBOOL no = CK_FALSE;
	CK_MECHANISM gm = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE create_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &no, 1 },
		*bad,
	};
	CK_ATTRIBUTE pub_t[] = {
		{ CKA_TOKEN, &no, 1 },
		{ CKA_EC_PARAMS, (void *)OID_P256, sizeof(OID_P256) },
		*bad,
	};
	CK_ATTRIBUTE priv_t[] = { { CKA_TOKEN, &no, 1 }, { CKA_SIGN, &no, 1 }, *bad };
	CK_ATTRIBUTE one = *bad;
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE, h2 = CK_INVALID_HANDLE;
	CK_RV rv;

	switch (fn) {
	case 0:
		rv = T.f->C_CreateObject(s, create_t, COUNT(create_t), &h);
		break;
	case 1:
		rv = T.f->C_FindObjectsInit(s, &one, 1);
		if (rv == CKR_OK)
			T.f->C_FindObjectsFinal(s);
		break;
	case 2:
		rv = T.f->C_SetAttributeValue(s, data, &one, 1);
		break;
	case 3:
		rv = T.f->C_CopyObject(s, data, &one, 1, &h);
		break;
	case 4:
		rv = T.f->C_GenerateKeyPair(s, &gm, pub_t, COUNT(pub_t), priv_t, 2, &h, &h2);
		break;
	default:
		rv = T.f->C_GenerateKeyPair(s, &gm, pub_t, 2, priv_t, COUNT(priv_t), &h, &h2);
		break;
	}
	if (h != CK_INVALID_HANDLE)
		T.f->C_DestroyObject(s, h);
	if (h2 != CK_INVALID_HANDLE)
		T.f->C_DestroyObject(s, h2);
	return rv;
}

TEST(template_values_checked)
{
	static const char *const FN[] = {
		"C_CreateObject", "C_FindObjectsInit", "C_SetAttributeValue",
		"C_CopyObject", "C_GenerateKeyPair (public template)",
		"C_GenerateKeyPair (private template)",
	};
	char small[8] = "label";
	CK_OBJECT_CLASS dc = CKO_DATA;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE data_t[] = {
		{ CKA_CLASS, &dc, sizeof(dc) }, { CKA_TOKEN, &no, 1 }, { CKA_PRIVATE, &no, 1 },
		{ CKA_LABEL, "entry-checks", 12 }, { CKA_VALUE, "x", 1 },
	};
	CK_ATTRIBUTE bad[] = {
		{ CKA_LABEL, NULL, 6 },
		{ CKA_LABEL, small, (CK_ULONG)LONG_MAX + 1 },
		{ CKA_LABEL, small, ~(CK_ULONG)0 - 1 },
	};
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE data = CK_INVALID_HANDLE, left[4];
	CK_ATTRIBUTE find_t = { CKA_LABEL, "entry-checks", 12 };
	CK_ULONG i, j, n_left = 0;
	CK_RV rv;

	VAULT_ONLY();
	s = t_open(T.slot, 1);
	t_login(s, CKU_USER);
	REQUIRE_OK(T.f->C_CreateObject(s, data_t, COUNT(data_t), &data));
	for (i = 0; i < COUNT(FN); i++)
		for (j = 0; j < COUNT(bad); j++) {
			rv = bad_value_call((int)i, s, data, &bad[j]);
			CHECK(rv == CKR_ATTRIBUTE_VALUE_INVALID,
			      "%s with {CKA_LABEL, %s, %lu}: %s, want CKR_ATTRIBUTE_VALUE_INVALID",
			      FN[i], bad[j].pValue == NULL ? "NULL" : "8 bytes",
			      (unsigned long)bad[j].ulValueLen, t_rv_name(rv));
		}
	/* Nothing was made or changed, and no find is left active. */
	REQUIRE_OK(T.f->C_FindObjectsInit(s, &find_t, 1));
	REQUIRE_OK(T.f->C_FindObjects(s, left, COUNT(left), &n_left));
	REQUIRE_OK(T.f->C_FindObjectsFinal(s));
	CHECK(n_left == 1 && left[0] == data, "%lu objects labelled entry-checks, want the one",
	      (unsigned long)n_left);
	T.f->C_DestroyObject(s, data);
}

/* --- The run ---------------------------------------------------------------------- */

#define T_(name) cmocka_unit_test_setup_teardown(name, each, each)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T_(function_list),
		T_(interfaces),
		T_(get_info),
		T_(initialize_finalize),
		T_(configuration),
		T_(slot_list),
		T_(token_info),
		T_(vault_slots_in_order),
		T_(mechanism_list),
		T_(mechanism_info),
		T_(session_states),
		T_(many_sessions),
		T_(bad_handles),
		T_(objects_per_certificate),
		T_(private_key_attributes),
		T_(public_key_attributes),
		T_(private_handles_after_logout),
		T_(read_only_session_rules),
		T_(attribute_buffer_protocol),
		T_(attribute_sweep),
		T_(set_attribute_refused),
		T_(copy_object),
		T_(wrap_unextractable),
		T_(certificate_attributes),
		T_(chain_certificates),
		T_(find_objects),
		T_(find_operation_rules),
		T_(unlisted_handles),
		T_(pending_certificate),
		T_(disabled_certificate),
		T_(tool_writes_seen_live),
		T_(deleted_certificate_vanishes),
		T_(verify_after_delete),
		T_(sign_rsa),
		T_(sign_ec_p256),
		T_(sign_ec_p384),
		T_(decrypt_rsa),
		T_(mechanism_variants),
		T_(sign_buffer_protocol),
		T_(operation_rules),
		T_(length_errors),
		T_(context_specific_login),
		T_(wrong_key_type),
		T_(bad_pss_params),
		T_(session_cancel),
		T_(random_bytes),
		T_(digest),
		T_(generate_rsa),
		T_(generate_ec),
		T_(generate_templates),
		T_(destroy_pending),
		T_(threads),
		T_(fork_child),
		T_(pkcs11_tool_fork),
		T_(wait_for_slot_event),
		T_(null_arguments),
		T_(version_keeps_held_handles),
		T_(labels_follow_new_versions),
		T_(pending_renewal_label),
		T_(one_private_key_per_id),
		T_(pin_lock_and_unlock),
		T_(set_pin),
		T_(init_token_session_exists),
		T_(init_token_fresh),
		T_(verify_after_init_token),
		T_(reuse_key_never_extractable),
		T_(changes_need_login),
		T_(session_keypair_rsa),
		T_(session_keypair_ec),
		T_(session_keypair_lifetime),
		T_(session_public_key_verify),
		T_(session_data_objects),
		T_(session_key_attributes),
		T_(template_values_checked),
	};
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("CERTVAULT_CONF") != NULL)
		ENV_CONF = strdup(getenv("CERTVAULT_CONF"));
	if (getenv("XDG_CONFIG_HOME") != NULL)
		ENV_XDG = strdup(getenv("XDG_CONFIG_HOME"));
	if (argc != 2) {
		fprintf(stderr, "usage: %s direct|proxy|softhsm (run it through setup.sh)\n",
			argv[0]);
		return 2;
	}
	if (t_setup(argv[1]) != 0) {
		printf("Bail out! the %s target could not be set up\n", argv[1]);
		return 1;
	}
	/* CV_SUITE_SKIP: a cmocka pattern of tests not to run (module-valgrind
	 * leaves out the 16 signers, which under memcheck's one thread at a
	 * time sign a few times a second in all). */
	if (getenv("CV_SUITE_SKIP") != NULL && getenv("CV_SUITE_SKIP")[0] != '\0')
		cmocka_set_skip_filter(getenv("CV_SUITE_SKIP"));
	rc = cmocka_run_group_tests_name(argv[1], tests, group_setup, NULL);
	t_teardown();
	return rc;
}
