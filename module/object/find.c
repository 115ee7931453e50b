/* certvault-pkcs11 objects: C_FindObjectsInit, C_FindObjects, C_FindObjectsFinal.
 *
 * A find matches session objects at once, then the vault: by CKA_ID or
 * CKA_LABEL through the store's indexes when the template gives one, else
 * by walking the keys one at a time as C_FindObjects asks for more.
 * Matching itself is obj_match (attribute.c), so a find sees exactly what
 * C_GetAttributeValue would return.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"
#include "x509.h"

/* --- Find ---------------------------------------------------------------- */

void
cv_find_clear(cv_find *f)
{
	if (f == NULL)
		return;
	attrs_free(f->tmpl, f->tmpl_len);
	free(f->ready);
	memset(f, 0, sizeof(*f));
}

static CK_RV
ready_push(cv_find *f, CK_OBJECT_HANDLE h)
{
	CK_OBJECT_HANDLE *r;
	CK_ULONG n = f->n_ready;

	/* The capacity is 16, then the next power of two above n_ready. */
	if (f->ready == NULL || (n >= 16 && (n & (n - 1)) == 0)) {
		if ((r = realloc(f->ready, (f->ready == NULL ? 16 : n * 2) *
					   sizeof(*r))) == NULL)
			return CKR_HOST_MEMORY;
		f->ready = r;
	}
	f->ready[f->n_ready++] = h;
	return CKR_OK;
}

/* The cheap attributes first, so most candidates fail before a
 * certificate is read. */
static int
attr_cost(CK_ATTRIBUTE_TYPE t)
{
	switch (t) {
	case CKA_CLASS:
	case CKA_TOKEN:
	case CKA_PRIVATE:
	case CKA_KEY_TYPE:
	case CKA_CERTIFICATE_TYPE:
	case CKA_CERTIFICATE_CATEGORY:
		return 0;
	case CKA_ID:
	case CKA_LABEL:
		return 1;
	default:
		return 2;
	}
}

/* Could the template match a chain certificate?  Saves reading the
 * certificate of every key when a find asks for keys only. */
static int
tmpl_may_match_chain(const cv_find *f)
{
	const CK_ATTRIBUTE *a;
	CK_ULONG v;

	if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_CLASS)) != NULL) {
		if (a->ulValueLen != sizeof(CK_ULONG))
			return 0;
		memcpy(&v, a->pValue, sizeof(v));
		if (v != CKO_CERTIFICATE)
			return 0;
	}
	if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_CERTIFICATE_CATEGORY)) != NULL) {
		if (a->ulValueLen != sizeof(CK_ULONG))
			return 0;
		memcpy(&v, a->pValue, sizeof(v));
		if (v != 2)
			return 0;
	}
	return 1;
}

/* Match the objects of one key (those in kinds, or all it shows when
 * kinds is 0) and queue the matches. */
static CK_RV
find_key_objects(cv_session *s, cv_find *f, keyctx *k, unsigned kinds_mask,
		 int logged_in)
{
	unsigned kind, last = CV_OBJ_PRIVATE;
	obj o;
	int match;
	CK_RV rv;

	/* The store counts the chain, so no certificate is parsed here. */
	if (k->info.state == CV_KEY_CURRENT && (kinds_mask & ~0xeu) != 0 &&
	    tmpl_may_match_chain(f) && k->info.chain_len > 0) {
		size_t n = k->info.chain_len < CV_OBJ_CHAIN_MAX ? k->info.chain_len
								 : CV_OBJ_CHAIN_MAX;

		last = CV_OBJ_CHAIN0 + (unsigned)n - 1;
	}
	(void)s;
	for (kind = CV_OBJ_CERT; kind <= last; kind++) {
		if (!(kinds_mask & (1u << kind)))
			continue;
		memset(&o, 0, sizeof(o));
		o.key = k;
		if (obj_set_kind(&o, kind, logged_in) != CKR_OK)
			continue;
		rv = obj_match(&o, f->tmpl, f->tmpl_len, &match);
		obj_clear(&o);         /* o does not own k */
		if (rv != CKR_OK)
			return rv;
		if (match && (rv = ready_push(f, cv_object_handle(k->slot, k->info.num,
								   (enum cv_obj_kind)kind))) != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

static CK_RV
find_key_num(cv_session *s, cv_find *f, uint64_t num, unsigned kinds_mask,
	     int logged_in)
{
	keyctx k;
	cv_err err;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	k.slot = s->slot;
	err = cv_cache_key_info(s->slot, num, &k.info);
	if (err == CV_ERR_NOT_FOUND)
		return CKR_OK;
	if (err != CV_OK)
		return cv_ckr(err);
	rv = find_key_objects(s, f, &k, kinds_mask, logged_in);
	keyctx_clear(&k);
	return rv;
}

#define KINDS_KEY ((1u << CV_OBJ_CERT) | (1u << CV_OBJ_PUBLIC) | (1u << CV_OBJ_PRIVATE))
#define KINDS_ALL 0xfffeu

/* A label "<name>/ca<n>" names the n-th chain certificate of name. */
static int
parse_chain_label(const char *label, char name[CV_NAME_MAX + 1], unsigned *idx)
{
	const char *slash = strrchr(label, '/');
	size_t nlen;
	unsigned n = 0;
	const char *p;

	if (slash == NULL || strncmp(slash, "/ca", 3) != 0)
		return 0;
	nlen = (size_t)(slash - label);
	p = slash + 3;
	if (*p < '1' || *p > '9' || nlen == 0 || nlen > CV_NAME_MAX)
		return 0;
	for (; *p >= '0' && *p <= '9' && n < 100; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (*p != '\0' || n > CV_OBJ_CHAIN_MAX)
		return 0;
	memcpy(name, label, nlen);
	name[nlen] = '\0';
	*idx = n;
	return cv_name_valid(name);
}

/* The token side of a find by label: at most two keys. */
static CK_RV
find_by_label(cv_session *s, cv_find *f, const CK_ATTRIBUTE *a, int logged_in)
{
	char label[CV_NAME_MAX + 8], name[CV_NAME_MAX + 1];
	uint64_t nums[2];
	size_t n = 0;
	unsigned idx;
	cv_err err;

	if (a->ulValueLen == 0 || a->ulValueLen >= sizeof(label) ||
	    memchr(a->pValue, '\0', a->ulValueLen) != NULL)
		return CKR_OK;
	memcpy(label, a->pValue, a->ulValueLen);
	label[a->ulValueLen] = '\0';
	if (parse_chain_label(label, name, &idx)) {
		if ((err = cv_key_find_name(s->slot->vault, name, nums, &n)) != CV_OK)
			return cv_ckr(err);
		/* The current key comes first when there is one; find_key_num
		 * shows chain objects of current keys only. */
		return n > 0 ? find_key_num(s, f, nums[0],
					    1u << (CV_OBJ_CHAIN0 + idx - 1), logged_in)
			     : CKR_OK;
	}
	if (!cv_name_valid(label))
		return CKR_OK;
	/* The current version's key, else (no version yet) the pending one: a
	 * renewal's key pair is not found by the label, so a client that picks
	 * a key by label never takes a key whose certificate does not exist. */
	if ((err = cv_key_find_name(s->slot->vault, label, nums, &n)) != CV_OK)
		return cv_ckr(err);
	return n > 0 ? find_key_num(s, f, nums[0], KINDS_KEY, logged_in) : CKR_OK;
}

static CK_RV
find_by_id(cv_session *s, cv_find *f, const CK_ATTRIBUTE *a, int logged_in)
{
	uint64_t nums[1];
	size_t n = 0;
	cv_err err;

	if (a->ulValueLen != CV_KEY_ID_LEN)
		return CKR_OK;
	/* The first key the store ranks for the id only: a renewal with the
	 * current key (reuse_key) shares its CKA_ID, and a token never shows
	 * two private keys with one CKA_ID. */
	if ((err = cv_key_find_id(s->slot->vault, a->pValue, a->ulValueLen, nums,
				  1, &n)) != CV_OK)
		return cv_ckr(err);
	return n > 0 ? find_key_num(s, f, nums[0], KINDS_KEY, logged_in) : CKR_OK;
}

static CK_RV
find_session_objects(cv_session *s, cv_find *f, int logged_in)
{
	CK_OBJECT_HANDLE *hs = NULL;
	size_t n = 0, cap = 0, i;
	sobj *so;
	obj o;
	int match;
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&sobj_lock);
	for (so = sobj_list; so != NULL; so = so->next) {
		if (so->slot != s->slot->id)
			continue;
		if (n == cap) {
			CK_OBJECT_HANDLE *nh = realloc(hs, (cap ? cap * 2 : 16) * sizeof(*nh));

			if (nh == NULL) {
				rv = CKR_HOST_MEMORY;
				break;
			}
			hs = nh;
			cap = cap ? cap * 2 : 16;
		}
		hs[n++] = so->handle;
	}
	pthread_mutex_unlock(&sobj_lock);
	/* The list is newest first; return the oldest first. */
	for (i = n; rv == CKR_OK && i > 0; i--) {
		if (obj_open(s, hs[i - 1], &o, logged_in) != CKR_OK)
			continue;
		rv = obj_match(&o, f->tmpl, f->tmpl_len, &match);
		obj_clear(&o);
		if (rv == CKR_OK && match)
			rv = ready_push(f, hs[i - 1]);
	}
	free(hs);
	return rv;
}

CK_RV
cv_object_find_init(cv_session *s, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	cv_find *f;
	const CK_ATTRIBUTE *a;
	CK_ULONG i;
	int cost, logged_in;
	CK_RV rv = CKR_OK;

	/* C_FindObjectsInit checked the template (cv_object_template_check). */
	if (s == NULL || (tmpl == NULL && n > 0))
		return CKR_ARGUMENTS_BAD;
	f = &s->find;
	cv_find_clear(f);
	for (cost = 0; cost <= 2; cost++)
		for (i = 0; i < n && rv == CKR_OK; i++)
			if (attr_cost(tmpl[i].type) == cost)
				rv = attrs_set(&f->tmpl, &f->tmpl_len, tmpl[i].type,
					       tmpl[i].pValue, tmpl[i].ulValueLen);
	/* A type given twice must match both values; attrs_set kept one, so
	 * keep the template as given in that rare case. */
	if (rv == CKR_OK && f->tmpl_len != n) {
		attrs_free(f->tmpl, f->tmpl_len);
		f->tmpl = NULL;
		f->tmpl_len = 0;
		if ((f->tmpl = calloc(n, sizeof(*f->tmpl))) == NULL)
			rv = CKR_HOST_MEMORY;
		for (i = 0; i < n && rv == CKR_OK; i++) {
			f->tmpl[i].type = tmpl[i].type;
			f->tmpl[i].ulValueLen = tmpl[i].ulValueLen;
			if ((f->tmpl[i].pValue = OPENSSL_malloc(tmpl[i].ulValueLen + 1)) == NULL)
				rv = CKR_HOST_MEMORY;
			else if (tmpl[i].ulValueLen > 0)
				memcpy(f->tmpl[i].pValue, tmpl[i].pValue, tmpl[i].ulValueLen);
			f->tmpl_len = i + 1;
		}
	}
	if (rv != CKR_OK)
		goto done;

	logged_in = cv_session_logged_in(s);
	if ((rv = find_session_objects(s, f, logged_in)) != CKR_OK)
		goto done;
	if (s->slot->vault != NULL) {
		if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_ID)) != NULL)
			rv = find_by_id(s, f, a, logged_in);
		else if ((a = attrs_find(f->tmpl, f->tmpl_len, CKA_LABEL)) != NULL)
			rv = find_by_label(s, f, a, logged_in);
		else
			f->walking = 1;
	}
	f->next_num = 0;
done:
	if (rv != CKR_OK)
		cv_find_clear(f);
	return rv;
}

/* Walk on to the next live key and queue its matching objects. */
static CK_RV
find_walk_one(cv_session *s, cv_find *f)
{
	keyctx k;
	cv_err err;
	CK_RV rv;

	memset(&k, 0, sizeof(k));
	k.slot = s->slot;
	if (s->slot->vault == NULL) {
		f->walking = 0;
		return CKR_OK;
	}
	err = cv_key_next(s->slot->vault, f->next_num, &k.info);
	if (err == CV_ERR_NOT_FOUND) {
		f->walking = 0;
		return CKR_OK;
	}
	if (err != CV_OK)
		return cv_ckr(err);
	f->next_num = k.info.num;
	rv = find_key_objects(s, f, &k, KINDS_ALL, cv_session_logged_in(s));
	keyctx_clear(&k);
	return rv;
}

CK_RV
cv_object_find(cv_session *s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
	       CK_ULONG_PTR count)
{
	cv_find *f;
	CK_RV rv = CKR_OK;

	if (s == NULL || count == NULL || (out == NULL && max > 0))
		return CKR_ARGUMENTS_BAD;
	*count = 0;
	f = &s->find;
	while (*count < max) {
		if (f->pos_ready < f->n_ready) {
			out[(*count)++] = f->ready[f->pos_ready++];
			continue;
		}
		if (!f->walking)
			break;
		f->n_ready = f->pos_ready = 0;
		if ((rv = find_walk_one(s, f)) != CKR_OK)
			break;
	}
	/* Matches already handed out stay handed out; a failure of the walk
	 * is reported only when nothing could be returned. */
	return *count > 0 ? CKR_OK : rv;
}

CK_RV
cv_object_find_final(cv_session *s)
{
	if (s == NULL)
		return CKR_ARGUMENTS_BAD;
	cv_find_clear(&s->find);
	return CKR_OK;
}
