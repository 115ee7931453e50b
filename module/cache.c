/* certvault-pkcs11: what is kept between calls.
 *
 * Three bounded, direct-mapped tables, each entry chosen by a hash of
 * (slot, key number) and guarded by one of a few striped mutexes, so that
 * threads working on different keys rarely meet and no lock is held across
 * an LMDB read or an unsealing:
 *   - key information, valid while the vault's generation is unchanged
 *     (the generation moves with every commit by any process, so what the
 *     certvault tool writes is seen at the next lookup);
 *   - private keys, unsealed once per login and dropped at logout;
 *   - parsed certificates of a version, which never change once written;
 *   - public keys, decoded once from a key's SubjectPublicKeyInfo (OpenSSL
 *     3's decoder costs more than a verification) and handed out only for
 *     the very bytes they were decoded from: should a key number ever
 *     come to name another key, it gets the new key, never the kept one.
 * A collision evicts the older entry: memory stays fixed however many
 * certificates the vault holds.
 *
 * Beside the private keys sit signing contexts prepared once per (key,
 * mechanism): copying one costs a tenth of setting one up, which takes
 * OpenSSL's method store lock besides.  Each holds a reference to its key,
 * so the key's address cannot come to mean another key while it is kept,
 * and each goes when the private keys of its slot go.
 */
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "internal.h"

#define KEY_ENTRIES 4096
#define PRIV_ENTRIES 1024
#define CERT_ENTRIES 1024
#define CTX_ENTRIES 256
#define PUB_ENTRIES 1024
#define STRIPES 64

struct key_entry {
	const cv_vault *vault;   /* NULL: empty */
	CK_SLOT_ID slot;
	uint64_t gen;
	cv_key_info info;
};

struct priv_entry {
	const cv_vault *vault;   /* NULL: empty */
	CK_SLOT_ID slot;
	uint64_t num;
	EVP_PKEY *pkey;
};

struct cert_entry {
	const cv_vault *vault;   /* NULL: empty */
	CK_SLOT_ID slot;
	uint64_t num;
	char version[CV_VERSION_LEN + 1];
	cv_certs certs;
};

struct pub_entry {
	const cv_vault *vault;   /* NULL: empty */
	CK_SLOT_ID slot;
	uint64_t num;
	unsigned char *spki;     /* what pkey was decoded from */
	size_t spki_len;
	EVP_PKEY *pkey;
};

struct ctx_entry {
	EVP_PKEY *pkey;          /* NULL: empty; a reference */
	CK_SLOT_ID slot;
	CK_MECHANISM_TYPE mech;
	EVP_PKEY_CTX *pctx;      /* one of the two */
	EVP_MD_CTX *md;
};

static struct key_entry key_table[KEY_ENTRIES];
static struct ctx_entry ctx_table[CTX_ENTRIES];
static struct priv_entry priv_table[PRIV_ENTRIES];
static struct cert_entry cert_table[CERT_ENTRIES];
static struct pub_entry pub_table[PUB_ENTRIES];
static pthread_mutex_t key_locks[STRIPES];
static pthread_mutex_t priv_locks[STRIPES];
static pthread_mutex_t cert_locks[STRIPES];
static pthread_mutex_t pub_locks[STRIPES];
static pthread_once_t locks_once = PTHREAD_ONCE_INIT;

static void
locks_init(void)
{
	size_t i;

	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&key_locks[i], NULL);
		pthread_mutex_init(&priv_locks[i], NULL);
		pthread_mutex_init(&cert_locks[i], NULL);
		pthread_mutex_init(&pub_locks[i], NULL);
	}
}

void
cv_cache_fork_lock(void)
{
	size_t i;

	pthread_once(&locks_once, locks_init);
	for (i = 0; i < STRIPES; i++) {
		pthread_mutex_lock(&key_locks[i]);
		pthread_mutex_lock(&priv_locks[i]);
		pthread_mutex_lock(&cert_locks[i]);
		pthread_mutex_lock(&pub_locks[i]);
	}
}

void
cv_cache_fork_unlock(void)
{
	size_t i;

	for (i = STRIPES; i-- > 0;) {
		pthread_mutex_unlock(&pub_locks[i]);
		pthread_mutex_unlock(&cert_locks[i]);
		pthread_mutex_unlock(&priv_locks[i]);
		pthread_mutex_unlock(&key_locks[i]);
	}
}

static size_t
slot_hash(CK_SLOT_ID slot, uint64_t num, size_t entries)
{
	uint64_t h = (num ^ ((uint64_t)slot << 48)) * UINT64_C(0x9E3779B97F4A7C15);

	return (size_t)(h >> 32) % entries;
}

static cv_err
key_info_copy(const cv_key_info *from, cv_key_info *to)
{
	*to = *from;
	to->spki.data = NULL;
	to->spki.len = 0;
	if (from->spki.len > 0) {
		if ((to->spki.data = OPENSSL_malloc(from->spki.len)) == NULL) {
			memset(to, 0, sizeof(*to));
			return CV_ERR_NOMEM;
		}
		memcpy(to->spki.data, from->spki.data, from->spki.len);
		to->spki.len = from->spki.len;
	}
	return CV_OK;
}

cv_err
cv_cache_key_info(cv_slot *s, uint64_t num, cv_key_info *out)
{
	struct key_entry *e;
	cv_key_info fresh;
	cv_vault *v;
	uint64_t gen;
	size_t i;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if (s == NULL || (v = s->vault) == NULL)
		return CV_ERR_NOT_FOUND;
	pthread_once(&locks_once, locks_init);
	i = slot_hash(s->id, num, KEY_ENTRIES);
	e = &key_table[i];

	/* Read the generation before the key, so that a write landing between
	 * the two leaves an entry that looks stale, never one that looks
	 * fresh. */
	gen = cv_vault_generation(v);
	if (gen != 0) {
		pthread_mutex_lock(&key_locks[i % STRIPES]);
		if (e->vault == v && e->slot == s->id && e->info.num == num &&
		    e->gen == gen) {
			err = key_info_copy(&e->info, out);
			pthread_mutex_unlock(&key_locks[i % STRIPES]);
			return err;
		}
		pthread_mutex_unlock(&key_locks[i % STRIPES]);
	}

	if ((err = cv_key_get(v, num, &fresh)) != CV_OK)
		return err;
	if ((err = key_info_copy(&fresh, out)) != CV_OK) {
		cv_key_info_clear(&fresh);
		return err;
	}
	if (gen == 0) {
		cv_key_info_clear(&fresh);
		return CV_OK;
	}
	pthread_mutex_lock(&key_locks[i % STRIPES]);
	cv_key_info_clear(&e->info);
	e->info = fresh;               /* the entry takes fresh's buffer */
	e->vault = v;
	e->slot = s->id;
	e->gen = gen;
	pthread_mutex_unlock(&key_locks[i % STRIPES]);
	return CV_OK;
}

cv_err
cv_cache_private_key(cv_slot *s, uint64_t num, EVP_PKEY **out)
{
	struct priv_entry *e;
	EVP_PKEY *pkey = NULL, *old = NULL;
	cv_vault *v;
	size_t i;
	cv_err err;

	*out = NULL;
	if (s == NULL || (v = s->vault) == NULL)
		return CV_ERR_NOT_FOUND;
	pthread_once(&locks_once, locks_init);
	i = slot_hash(s->id, num, PRIV_ENTRIES);
	e = &priv_table[i];

	pthread_mutex_lock(&priv_locks[i % STRIPES]);
	if (e->vault == v && e->slot == s->id && e->num == num &&
	    EVP_PKEY_up_ref(e->pkey)) {
		*out = e->pkey;
		pthread_mutex_unlock(&priv_locks[i % STRIPES]);
		return CV_OK;
	}
	pthread_mutex_unlock(&priv_locks[i % STRIPES]);

	if ((err = cv_key_private(v, num, &pkey)) != CV_OK)
		return err;

	pthread_mutex_lock(&priv_locks[i % STRIPES]);
	/* Keep it only while the user is logged in: a logout that ran while
	 * we were unsealing has already swept the table, and must not find the
	 * key back in it afterwards. */
	if (cv_vault_logged_in(v) == CV_USER_NORMAL && EVP_PKEY_up_ref(pkey)) {
		old = e->pkey;
		e->pkey = pkey;
		e->vault = v;
		e->slot = s->id;
		e->num = num;
	}
	pthread_mutex_unlock(&priv_locks[i % STRIPES]);
	EVP_PKEY_free(old);
	*out = pkey;
	return CV_OK;
}

static size_t
ctx_hash(const EVP_PKEY *pkey, CK_MECHANISM_TYPE mech)
{
	uint64_t h = ((uint64_t)(uintptr_t)pkey >> 4 ^ (uint64_t)mech << 40) *
		     UINT64_C(0x9E3779B97F4A7C15);

	return (size_t)(h >> 32) % CTX_ENTRIES;
}

static void
ctx_entry_clear(struct ctx_entry *e, struct ctx_entry *old)
{
	*old = *e;
	memset(e, 0, sizeof(*e));
}

static void
ctx_entry_free(struct ctx_entry *e)
{
	EVP_PKEY_CTX_free(e->pctx);
	EVP_MD_CTX_free(e->md);
	EVP_PKEY_free(e->pkey);
}

cv_err
cv_cache_sign_ctx(cv_slot *s, EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
		  EVP_PKEY_CTX **pctx, EVP_MD_CTX **md)
{
	struct ctx_entry *e;
	size_t i;
	cv_err err = CV_ERR_NOT_FOUND;

	*pctx = NULL;
	*md = NULL;
	if (s == NULL || pkey == NULL)
		return CV_ERR_NOT_FOUND;
	pthread_once(&locks_once, locks_init);
	i = ctx_hash(pkey, mech);
	e = &ctx_table[i];
	pthread_mutex_lock(&priv_locks[i % STRIPES]);
	if (e->pkey == pkey && e->slot == s->id && e->mech == mech) {
		if (e->pctx != NULL)
			*pctx = EVP_PKEY_CTX_dup(e->pctx);
		else if ((*md = EVP_MD_CTX_new()) != NULL &&
			 !EVP_MD_CTX_copy_ex(*md, e->md)) {
			EVP_MD_CTX_free(*md);
			*md = NULL;
		}
		err = *pctx != NULL || *md != NULL ? CV_OK : CV_ERR_NOMEM;
	}
	pthread_mutex_unlock(&priv_locks[i % STRIPES]);
	return err;
}

void
cv_cache_keep_sign_ctx(cv_slot *s, EVP_PKEY *pkey, CK_MECHANISM_TYPE mech,
		       EVP_PKEY_CTX *pctx, EVP_MD_CTX *md)
{
	struct ctx_entry *e, old = { 0 };
	size_t i;

	if (s == NULL || pkey == NULL || (pctx == NULL) == (md == NULL) ||
	    !EVP_PKEY_up_ref(pkey)) {
		EVP_PKEY_CTX_free(pctx);
		EVP_MD_CTX_free(md);
		return;
	}
	pthread_once(&locks_once, locks_init);
	i = ctx_hash(pkey, mech);
	e = &ctx_table[i];
	pthread_mutex_lock(&priv_locks[i % STRIPES]);
	/* Only while the user is logged in, as for the keys themselves. */
	if (s->vault != NULL && cv_vault_logged_in(s->vault) == CV_USER_NORMAL) {
		ctx_entry_clear(e, &old);
		e->pkey = pkey;
		e->slot = s->id;
		e->mech = mech;
		e->pctx = pctx;
		e->md = md;
	} else {
		old.pkey = pkey;
		old.pctx = pctx;
		old.md = md;
	}
	pthread_mutex_unlock(&priv_locks[i % STRIPES]);
	ctx_entry_free(&old);
}

/* Drop a slot's key information and certificates (or everyone's). */
static void
forget_public(cv_slot *s)
{
	size_t i;

	for (i = 0; i < KEY_ENTRIES; i++) {
		pthread_mutex_lock(&key_locks[i % STRIPES]);
		if (key_table[i].vault != NULL && (s == NULL || key_table[i].slot == s->id)) {
			cv_key_info_clear(&key_table[i].info);
			memset(&key_table[i], 0, sizeof(key_table[i]));
		}
		pthread_mutex_unlock(&key_locks[i % STRIPES]);
	}
	for (i = 0; i < CERT_ENTRIES; i++) {
		cv_certs old;

		memset(&old, 0, sizeof(old));
		pthread_mutex_lock(&cert_locks[i % STRIPES]);
		if (cert_table[i].vault != NULL && (s == NULL || cert_table[i].slot == s->id)) {
			old = cert_table[i].certs;
			memset(&cert_table[i], 0, sizeof(cert_table[i]));
		}
		pthread_mutex_unlock(&cert_locks[i % STRIPES]);
		cv_certs_clear(&old);
	}
	for (i = 0; i < PUB_ENTRIES; i++) {
		struct pub_entry old = { 0 };

		pthread_mutex_lock(&pub_locks[i % STRIPES]);
		if (pub_table[i].vault != NULL && (s == NULL || pub_table[i].slot == s->id)) {
			old = pub_table[i];
			memset(&pub_table[i], 0, sizeof(pub_table[i]));
		}
		pthread_mutex_unlock(&pub_locks[i % STRIPES]);
		OPENSSL_free(old.spki);
		EVP_PKEY_free(old.pkey);
	}
}

/* A logout, or a C_InitToken that replaced the slot's vault: the slot's
 * public entries go too, since a new vault may reuse the old one's address
 * and key numbers. */
void
cv_cache_forget_private(cv_slot *s)
{
	size_t i;

	pthread_once(&locks_once, locks_init);
	forget_public(s);
	for (i = 0; i < CTX_ENTRIES; i++) {
		struct ctx_entry old = { 0 };

		pthread_mutex_lock(&priv_locks[i % STRIPES]);
		if (ctx_table[i].pkey != NULL && (s == NULL || ctx_table[i].slot == s->id))
			ctx_entry_clear(&ctx_table[i], &old);
		pthread_mutex_unlock(&priv_locks[i % STRIPES]);
		ctx_entry_free(&old);
	}
	for (i = 0; i < PRIV_ENTRIES; i++) {
		struct priv_entry *e = &priv_table[i];
		EVP_PKEY *old = NULL;

		pthread_mutex_lock(&priv_locks[i % STRIPES]);
		if (e->vault != NULL && (s == NULL || e->slot == s->id)) {
			old = e->pkey;
			memset(e, 0, sizeof(*e));
		}
		pthread_mutex_unlock(&priv_locks[i % STRIPES]);
		EVP_PKEY_free(old);
	}
}

void
cv_certs_clear(cv_certs *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n && i < sizeof(c->x509) / sizeof(c->x509[0]); i++)
		X509_free(c->x509[i]);
	memset(c, 0, sizeof(*c));
}

/* New references to every certificate of c. */
static void
certs_ref(const cv_certs *from, cv_certs *to)
{
	size_t i;

	memset(to, 0, sizeof(*to));
	for (i = 0; i < from->n; i++) {
		if (!X509_up_ref(from->x509[i]))
			break;
		to->x509[i] = from->x509[i];
		to->n = i + 1;
	}
	to->chain_len = from->chain_len;
}

static cv_err
certs_load(cv_vault *v, const cv_key_info *k, cv_certs *out)
{
	cv_cert_version *cv = NULL;
	const unsigned char *p;
	size_t i, n;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_cert_get(v, k->name, k->version, &cv)) != CV_OK)
		return err;
	if (cv->der.len == 0) {
		err = CV_ERR_NOT_FOUND;
		goto done;
	}
	n = 1 + (cv->chain_len < CV_OBJ_CHAIN_MAX ? cv->chain_len : CV_OBJ_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		const cv_blob *b = i == 0 ? &cv->der : &cv->chain[i - 1];
		X509 *x;

		p = b->data;
		x = d2i_X509(NULL, &p, (long)b->len);
		if (x == NULL || p != b->data + b->len) {
			X509_free(x);
			err = CV_ERR_CORRUPT;
			goto done;
		}
		out->x509[i] = x;
		out->n = i + 1;
	}
	out->chain_len = cv->chain_len;
	err = CV_OK;
done:
	if (err != CV_OK)
		cv_certs_clear(out);
	cv_cert_version_free(cv);
	return err;
}

cv_err
cv_cache_certs(cv_slot *s, const cv_key_info *k, cv_certs *out)
{
	struct cert_entry *e;
	cv_certs fresh, old;
	cv_vault *v;
	size_t i;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if (s == NULL || (v = s->vault) == NULL ||
	    (k->state != CV_KEY_CURRENT && k->state != CV_KEY_OLDER))
		return CV_ERR_NOT_FOUND;
	pthread_once(&locks_once, locks_init);
	i = slot_hash(s->id, k->num, CERT_ENTRIES);
	e = &cert_table[i];

	pthread_mutex_lock(&cert_locks[i % STRIPES]);
	if (e->vault == v && e->slot == s->id && e->num == k->num &&
	    strcmp(e->version, k->version) == 0) {
		certs_ref(&e->certs, out);
		pthread_mutex_unlock(&cert_locks[i % STRIPES]);
		return out->n == e->certs.n ? CV_OK : (cv_certs_clear(out), CV_ERR_NOMEM);
	}
	pthread_mutex_unlock(&cert_locks[i % STRIPES]);

	if ((err = certs_load(v, k, &fresh)) != CV_OK)
		return err;
	certs_ref(&fresh, out);
	if (out->n != fresh.n) {
		cv_certs_clear(out);
		cv_certs_clear(&fresh);
		return CV_ERR_NOMEM;
	}
	pthread_mutex_lock(&cert_locks[i % STRIPES]);
	old = e->certs;
	e->certs = fresh;
	e->vault = v;
	e->slot = s->id;
	e->num = k->num;
	memcpy(e->version, k->version, sizeof(e->version));
	pthread_mutex_unlock(&cert_locks[i % STRIPES]);
	cv_certs_clear(&old);
	return CV_OK;
}

cv_err
cv_cache_public_key(cv_slot *s, const cv_key_info *k, EVP_PKEY **out)
{
	struct pub_entry *e, old = { 0 };
	const unsigned char *p;
	unsigned char *spki = NULL;
	EVP_PKEY *pkey = NULL;
	cv_vault *v;
	size_t i;

	*out = NULL;
	if (s == NULL || (v = s->vault) == NULL || k == NULL || k->spki.len == 0 ||
	    k->spki.len > LONG_MAX)
		return CV_ERR_NOT_FOUND;
	pthread_once(&locks_once, locks_init);
	i = slot_hash(s->id, k->num, PUB_ENTRIES);
	e = &pub_table[i];

	pthread_mutex_lock(&pub_locks[i % STRIPES]);
	if (e->vault == v && e->slot == s->id && e->num == k->num &&
	    e->spki_len == k->spki.len && memcmp(e->spki, k->spki.data, e->spki_len) == 0 &&
	    EVP_PKEY_up_ref(e->pkey)) {
		*out = e->pkey;
		pthread_mutex_unlock(&pub_locks[i % STRIPES]);
		return CV_OK;
	}
	pthread_mutex_unlock(&pub_locks[i % STRIPES]);

	p = k->spki.data;
	pkey = d2i_PUBKEY(NULL, &p, (long)k->spki.len);
	ERR_clear_error();
	if (pkey == NULL || p != k->spki.data + k->spki.len) {
		EVP_PKEY_free(pkey);
		return CV_ERR_CORRUPT;
	}
	/* Kept only when a copy of its bytes and a reference can be had; the
	 * caller gets the key either way. */
	if ((spki = OPENSSL_memdup(k->spki.data, k->spki.len)) != NULL &&
	    EVP_PKEY_up_ref(pkey)) {
		pthread_mutex_lock(&pub_locks[i % STRIPES]);
		old = *e;
		e->vault = v;
		e->slot = s->id;
		e->num = k->num;
		e->spki = spki;
		e->spki_len = k->spki.len;
		e->pkey = pkey;
		pthread_mutex_unlock(&pub_locks[i % STRIPES]);
		spki = NULL;
	}
	OPENSSL_free(spki);
	OPENSSL_free(old.spki);
	EVP_PKEY_free(old.pkey);
	*out = pkey;
	return CV_OK;
}

void
cv_cache_clear(void)
{
	cv_cache_forget_private(NULL);
}
