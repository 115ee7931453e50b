/* certvault: the certificate, version, key and secret records. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "internal.h"
#include "x509.h"

cv_err
cv_check_cert_name(const char *name)
{
	if (!cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "certificate name '%s': %s",
				  name ? name : "", cv_strerror(CV_ERR_BAD_NAME));
	return CV_OK;
}

/* --- Tags --------------------------------------------------------------- */

void
cv_tags_clear(cv_tags *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->names[i]);
		free(t->values[i]);
	}
	free(t->names);
	free(t->values);
	memset(t, 0, sizeof(*t));
}

cv_err
cv_tags_validate(const cv_tags *t)
{
	size_t i, j;

	if (t == NULL)
		return CV_OK;
	if (t->n > CV_TAGS_MAX)
		return cv_err_set(CV_ERR_INVALID, "at most %d tags are allowed (%zu given)",
				  CV_TAGS_MAX, t->n);
	for (i = 0; i < t->n; i++) {
		if (t->names[i] == NULL || t->names[i][0] == '\0')
			return cv_err_set(CV_ERR_INVALID, "a tag has an empty name");
		if (strlen(t->names[i]) > CV_TAG_NAME_MAX)
			return cv_err_set(CV_ERR_INVALID, "tag name '%.40s...' is over %d characters",
					  t->names[i], CV_TAG_NAME_MAX);
		if (t->values[i] != NULL && strlen(t->values[i]) > CV_TAG_VALUE_MAX)
			return cv_err_set(CV_ERR_INVALID, "tag '%s': the value is over %d characters",
					  t->names[i], CV_TAG_VALUE_MAX);
		for (j = 0; j < i; j++)
			if (strcmp(t->names[i], t->names[j]) == 0)
				return cv_err_set(CV_ERR_INVALID, "tag '%s' is given twice",
						  t->names[i]);
	}
	return CV_OK;
}

cv_err
cv_tags_copy(const cv_tags *src, cv_tags *dst)
{
	size_t i;
	int ok = 1;

	memset(dst, 0, sizeof(*dst));
	if (src == NULL || src->n == 0)
		return CV_OK;
	dst->names = calloc(src->n, sizeof(char *));
	dst->values = calloc(src->n, sizeof(char *));
	if (dst->names == NULL || dst->values == NULL) {
		free(dst->names);
		free(dst->values);
		memset(dst, 0, sizeof(*dst));
		return CV_ERR_NOMEM;
	}
	dst->n = src->n;
	for (i = 0; i < src->n; i++) {
		dst->names[i] = cv_strdup_or_null(src->names[i], &ok);
		dst->values[i] = cv_strdup_or_null(src->values[i] ? src->values[i] : "", &ok);
	}
	if (!ok) {
		cv_tags_clear(dst);
		return CV_ERR_NOMEM;
	}
	return CV_OK;
}

void
cv_rec_put_tags(cv_wbuf *w, const cv_tags *t)
{
	size_t i;

	for (i = 0; t != NULL && i < t->n; i++) {
		cv_rec_put_str(w, CV_T_TAG_NAME, t->names[i]);
		cv_rec_put_str(w, CV_T_TAG_VALUE, t->values[i] ? t->values[i] : "");
	}
}

static char *
dup_field(const unsigned char *p, size_t len)
{
	char *s;

	if (memchr(p, '\0', len) != NULL || (s = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

cv_err
cv_rec_get_tags(const unsigned char *rec, size_t len, cv_tags *out)
{
	size_t off = 0, vlen, names = 0, values = 0;
	const unsigned char *val;
	unsigned tag;
	char **slot;
	cv_err err = CV_OK;

	memset(out, 0, sizeof(*out));
	while (cv_rec_next(rec, len, &off, &tag, &val, &vlen)) {
		if (tag == CV_T_TAG_NAME)
			names++;
		else if (tag == CV_T_TAG_VALUE)
			values++;
	}
	if (names != values || names > CV_TAGS_MAX)
		return cv_err_set(CV_ERR_CORRUPT, "a record holds %zu tag names and %zu values",
				  names, values);
	if (names == 0)
		return CV_OK;
	/* n is the capacity from the start: cv_tags_clear frees what was
	 * filled and skips the NULLs. */
	out->names = calloc(names, sizeof(char *));
	out->values = calloc(names, sizeof(char *));
	out->n = names;
	if (out->names == NULL || out->values == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	off = 0;
	names = values = 0;
	while (cv_rec_next(rec, len, &off, &tag, &val, &vlen)) {
		if (tag == CV_T_TAG_NAME)
			slot = &out->names[names++];
		else if (tag == CV_T_TAG_VALUE)
			slot = &out->values[values++];
		else
			continue;
		if (memchr(val, '\0', vlen) != NULL) {
			err = cv_err_set(CV_ERR_CORRUPT, "a tag holds a NUL byte");
			goto done;
		}
		if ((*slot = dup_field(val, vlen)) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
	}
done:
	if (err != CV_OK) {
		if (out->names == NULL || out->values == NULL) {
			free(out->names);
			free(out->values);
			memset(out, 0, sizeof(*out));
		} else {
			cv_tags_clear(out);
		}
	}
	return err;
}

/* --- Certificate record ------------------------------------------------- */

void
cv_cert_rec_clear(cv_cert_rec *r)
{
	free(r->policy_json);
	memset(r, 0, sizeof(*r));
}

cv_err
cv_cert_rec_decode(const void *rec, size_t len, cv_cert_rec *out)
{
	cv_field f[CV_T__MAX];
	uint64_t created, updated;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_rec_parse(rec, len, CV_REC_CERT, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_POLICY], "policy")) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], out->name, sizeof(out->name))) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_CURRENT], out->current, sizeof(out->current))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NEXT_SEQ], 0, &out->next_seq)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_UPDATED], 0, &updated)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_POLICY], &out->policy_json)) != CV_OK) {
		cv_cert_rec_clear(out);
		return err;
	}
	out->created = (int64_t)created;
	out->updated = (int64_t)updated;
	return CV_OK;
}

cv_err
cv_cert_rec_read(cv_vault *v, MDB_txn *txn, const char *name, cv_cert_rec *out)
{
	char lname[CV_NAME_MAX + 1];
	MDB_val val;
	cv_err err;

	memset(out, 0, sizeof(*out));
	cv_name_key(name, lname);
	if ((err = cv_db_get(v, txn, CV_DB_CERTS, lname, strlen(lname), &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			return cv_err_set(CV_ERR_NOT_FOUND, "certificate '%s' was not found",
					  name);
		return err;
	}
	return cv_cert_rec_decode(val.mv_data, val.mv_size, out);
}

cv_err
cv_cert_rec_policy(const cv_cert_rec *r, cv_policy **out)
{
	cv_err err;

	*out = NULL;
	err = cv_policy_parse(r->policy_json, strlen(r->policy_json), out);
	if (err != CV_OK)
		err = cv_err_set(CV_ERR_CORRUPT, "the stored policy of '%s' does not parse: %s",
				 r->name, cv_err_detail());
	return err;
}

cv_err
cv_cert_rec_write(cv_vault *v, MDB_txn *txn, const cv_cert_rec *r)
{
	char lname[CV_NAME_MAX + 1];
	cv_wbuf w = { 0 };
	cv_err err;

	cv_name_key(r->name, lname);
	cv_rec_begin(&w, CV_REC_CERT);
	cv_rec_put_str(&w, CV_T_NAME, r->name);
	cv_rec_put_str(&w, CV_T_POLICY, r->policy_json);
	if (r->current[0] != '\0')
		cv_rec_put_str(&w, CV_T_CURRENT, r->current);
	cv_rec_put_u64(&w, CV_T_NEXT_SEQ, r->next_seq);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)r->created);
	cv_rec_put_u64(&w, CV_T_UPDATED, (uint64_t)r->updated);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_CERTS, lname, strlen(lname), w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

/* --- Key record --------------------------------------------------------- */

void
cv_key_rec_clear(cv_key_rec *r)
{
	OPENSSL_free(r->spki.data);
	OPENSSL_free(r->sealed.data);
	memset(r, 0, sizeof(*r));
}

/* The additional data a key's sealed private key is bound to: the record's
 * identity (name and version), then everything in the record that decides
 * what the key may do or whose it is, in one fixed encoding.  A key record
 * whose type, size, curve, public key, key id, exportable or imported flag,
 * key usage or key number was changed outside certvault no longer opens. */
static cv_err
key_binding(const char *name, const char *version, const cv_key_rec *r,
	    unsigned char **out, size_t *len)
{
	cv_vkey k;
	cv_wbuf w = { 0 };
	cv_err err;

	*out = NULL;
	*len = 0;
	cv_vkey_make(&k, name, version);
	cv_rec_begin(&w, CV_REC_KEY);
	cv_rec_put(&w, CV_T_VERSION, k.b, k.len);
	cv_rec_put_u64(&w, CV_T_KTY, (uint64_t)r->kty);
	cv_rec_put_u64(&w, CV_T_KEY_SIZE, (uint64_t)r->key_size);
	cv_rec_put_str(&w, CV_T_CURVE, r->curve);
	cv_rec_put(&w, CV_T_SPKI, r->spki.data, r->spki.len);
	cv_rec_put(&w, CV_T_KEY_ID, r->key_id, sizeof(r->key_id));
	cv_rec_put_u64(&w, CV_T_EXPORTABLE, r->exportable ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_IMPORTED, r->imported ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_KEY_USAGE, r->key_usage);
	cv_rec_put_u64(&w, CV_T_KEY_NUM, r->num);
	if ((err = cv_rec_finish(&w)) != CV_OK) {
		cv_wbuf_free(&w);
		return err;
	}
	*out = w.p;
	*len = w.len;
	return CV_OK;
}

static cv_err
key_damaged(const char *name, const char *version, const char *what)
{
	return cv_err_set(CV_ERR_CORRUPT,
			  "the key of %s/%s is damaged: %s (the vault was changed "
			  "outside certvault)", name, version, what);
}

/* Open the sealed private key of r, bound to what r says of it.  *der is
 * freed with OPENSSL_clear_free(*der, *derlen).  Errors: CV_ERR_CORRUPT
 * naming the record, CV_ERR_NOT_LOGGED_IN, CV_ERR_NOMEM. */
static cv_err
key_rec_open(cv_vault *v, const char *name, const char *version,
	     const cv_key_rec *r, const unsigned char *sealed, size_t sealed_len,
	     unsigned char **der, size_t *derlen)
{
	unsigned char *aad = NULL;
	size_t aad_len = 0;
	cv_err err;

	*der = NULL;
	*derlen = 0;
	if ((err = key_binding(name, version, r, &aad, &aad_len)) != CV_OK)
		return err;
	err = cv_vault_unseal(v, CV_DB_KEYS, aad, aad_len, sealed, sealed_len, der, derlen);
	if (err == CV_ERR_CORRUPT)
		err = key_damaged(name, version,
				  "its record does not match its sealed private key");
	OPENSSL_free(aad);
	return err;
}

cv_err
cv_key_rec_read(cv_vault *v, MDB_txn *txn, const char *name,
		const char *version, cv_key_rec *out)
{
	return cv_key_rec_read_part(v, txn, name, version, 1, out);
}

cv_err
cv_key_rec_read_part(cv_vault *v, MDB_txn *txn, const char *name,
		     const char *version, int with_sealed, cv_key_rec *out)
{
	cv_vkey k;
	cv_field f[CV_T__MAX];
	MDB_val val;
	uint64_t kty, size, exportable, imported, created, usage, num;
	cv_err err;

	memset(out, 0, sizeof(*out));
	cv_vkey_make(&k, name, version);
	if ((err = cv_db_get(v, txn, CV_DB_KEYS, k.b, k.len, &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			return cv_err_set(CV_ERR_NOT_FOUND, "certificate '%s' has no key for version %s",
					  name, version);
		return err;
	}
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_KEY, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_SPKI], "public key")) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_SEALED], "private key")) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_KEY_ID], "key id")) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KTY], 0, &kty)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KEY_SIZE], 0, &size)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_EXPORTABLE], 0, &exportable)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_IMPORTED], 0, &imported)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KEY_USAGE], 0, &usage)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KEY_NUM], 0, &num)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_CURVE], out->curve, sizeof(out->curve))) != CV_OK)
		return err;
	if ((kty != CV_KEY_RSA && kty != CV_KEY_EC) || size > 16384 ||
	    f[CV_T_KEY_ID].len != sizeof(out->key_id))
		return cv_err_set(CV_ERR_CORRUPT, "the key record of %s/%s is damaged",
				  name, version);
	out->kty = (int)kty;
	out->key_size = (int)size;
	out->exportable = exportable != 0;
	out->imported = imported != 0;
	out->created = (int64_t)created;
	out->key_usage = (unsigned)(usage & 0x1ff);
	out->num = num;
	memcpy(out->key_id, f[CV_T_KEY_ID].p, sizeof(out->key_id));
	out->spki.data = OPENSSL_memdup(f[CV_T_SPKI].p, f[CV_T_SPKI].len);
	if (with_sealed)
		out->sealed.data = OPENSSL_memdup(f[CV_T_SEALED].p, f[CV_T_SEALED].len);
	if (out->spki.data == NULL || (with_sealed && out->sealed.data == NULL)) {
		cv_key_rec_clear(out);
		return CV_ERR_NOMEM;
	}
	out->spki.len = f[CV_T_SPKI].len;
	out->sealed.len = with_sealed ? f[CV_T_SEALED].len : 0;
	/* With the user logged in, what the record says is checked against
	 * the sealed key before anyone acts on it. */
	if (cv_vault_logged_in(v) == CV_USER_NORMAL) {
		unsigned char *der = NULL;
		size_t derlen = 0;

		err = key_rec_open(v, name, version, out, f[CV_T_SEALED].p, f[CV_T_SEALED].len,
				   &der, &derlen);
		OPENSSL_clear_free(der, derlen);
		if (err != CV_OK) {
			cv_key_rec_clear(out);
			return err;
		}
	}
	return CV_OK;
}

cv_err
cv_key_rec_num(cv_vault *v, MDB_txn *txn, const char *name,
	       const char *version, uint64_t *num)
{
	cv_vkey k;
	cv_field f[CV_T__MAX];
	MDB_val val;
	cv_err err;

	*num = 0;
	cv_vkey_make(&k, name, version);
	if ((err = cv_db_get(v, txn, CV_DB_KEYS, k.b, k.len, &val)) != CV_OK)
		return err;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_KEY, NULL, f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KEY_NUM], 0, num)) != CV_OK)
		return err;
	if (*num == 0)
		return cv_err_set(CV_ERR_CORRUPT, "the key of %s/%s has no number", name, version);
	return CV_OK;
}

cv_err
cv_key_rec_public(const cv_key_rec *r, EVP_PKEY **out)
{
	const unsigned char *p = r->spki.data;

	*out = d2i_PUBKEY(NULL, &p, (long)r->spki.len);
	if (*out == NULL || p != r->spki.data + r->spki.len) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return cv_err_set(CV_ERR_CORRUPT, "a stored public key does not decode");
	}
	return CV_OK;
}

/* Whether a public key (its SubjectPublicKeyInfo DER, and the key itself)
 * is the key of record r.  The DER is compared first: OpenSSL need not
 * decode anything, which matters in applications that loaded an engine
 * taking over EC keys.  Then the key ids (SHA-1 of the modulus or the
 * uncompressed point), for the same key encoded another way. */
static int
is_public_key(const unsigned char *spki, size_t spki_len, EVP_PKEY *pub,
	      const cv_key_rec *r)
{
	unsigned char id[CV_KEY_ID_LEN];
	int same;

	same = spki_len == r->spki.len && memcmp(spki, r->spki.data, spki_len) == 0;
	if (!same)
		same = pub != NULL && cv_key_id(pub, id) == CV_OK &&
		       memcmp(id, r->key_id, sizeof(id)) == 0;
	ERR_clear_error();
	cv_err_clear();
	return same;
}

cv_err
cv_key_rec_private(cv_vault *v, const char *name, const char *version,
		   const cv_key_rec *r, EVP_PKEY **out)
{
	unsigned char *der = NULL, *spki = NULL;
	size_t derlen = 0;
	int spki_len = 0;
	EVP_PKEY *priv = NULL;
	cv_err err;

	*out = NULL;
	if ((err = key_rec_open(v, name, version, r, r->sealed.data, r->sealed.len,
				&der, &derlen)) != CV_OK)
		goto done;
	if ((err = cv_pkcs8_decode(der, derlen, &priv)) != CV_OK) {
		if (err == CV_ERR_CORRUPT)
			err = key_damaged(name, version, "its private key does not decode");
		goto done;
	}
	/* The record's public key must be the private key's own. */
	if ((spki_len = i2d_PUBKEY(priv, &spki)) <= 0 ||
	    !is_public_key(spki, (size_t)spki_len, priv, r)) {
		err = key_damaged(name, version, "its public key is not its private key's");
		goto done;
	}
	*out = priv;
	priv = NULL;
done:
	EVP_PKEY_free(priv);
	OPENSSL_free(spki);
	OPENSSL_clear_free(der, derlen);
	return err;
}

void
num_be(uint64_t n, unsigned char out[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)n;
		n >>= 8;
	}
}

/* Hand out the next key number; numbers start at 1 and are never reused,
 * so a PKCS#11 handle never comes to mean another key. */
static cv_err
next_key_num(cv_vault *v, MDB_txn *txn, uint64_t *num)
{
	MDB_val val;
	unsigned char b[8];
	uint64_t n = 1;
	size_t i;
	cv_err err;

	err = cv_db_get(v, txn, CV_DB_META, "next_key_num", 12, &val);
	if (err == CV_OK) {
		if (val.mv_size != 8)
			return cv_err_set(CV_ERR_CORRUPT, "next_key_num has %zu bytes", val.mv_size);
		n = 0;
		for (i = 0; i < 8; i++)
			n = n << 8 | ((unsigned char *)val.mv_data)[i];
	} else if (err != CV_ERR_NOT_FOUND) {
		return err;
	}
	cv_err_clear();
	if (n == 0 || n >= ((uint64_t)1 << 40))
		return cv_err_set(CV_ERR_FULL, "the vault has used up its key numbers");
	*num = n;
	num_be(n + 1, b);
	return cv_db_put(v, txn, CV_DB_META, "next_key_num", 12, b, sizeof(b), 0);
}

cv_err
cv_key_rec_store(cv_vault *v, MDB_txn *txn, const char *name,
		 const char *version, EVP_PKEY *key, const cv_policy *policy,
		 int imported)
{
	cv_vkey k;
	cv_wbuf w = { 0 };
	cv_key_rec r = { 0 };
	unsigned char *pkcs8 = NULL, *spki = NULL, *sealed = NULL, *aad = NULL;
	int pkcs8_len = 0, spki_len;
	size_t sealed_len = 0, aad_len = 0;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char num_key[8];
	int bits = EVP_PKEY_get_bits(key);
	cv_err err;

	cv_vkey_make(&k, name, version);
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (pkcs8_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &pkcs8)) <= 0 ||
	    (spki_len = i2d_PUBKEY(key, &spki)) <= 0) {
		err = cv_err_crypto("encode the key");
		goto done;
	}
	/* The record as it will read back, so that what is bound to the
	 * sealed key is exactly what cv_key_rec_read gives. */
	r.kty = (int)policy->kty;
	r.key_size = policy->kty == CV_KEY_RSA ? bits : 0;
	if (policy->kty == CV_KEY_EC)
		snprintf(r.curve, sizeof(r.curve), "%s", policy->curve);
	r.spki.data = spki;
	r.spki.len = (size_t)spki_len;
	r.exportable = policy->exportable != 0;
	r.imported = imported != 0;
	r.key_usage = policy->key_usage & 0x1ff;
	if ((err = cv_key_id(key, r.key_id)) != CV_OK ||
	    (err = next_key_num(v, txn, &r.num)) != CV_OK)
		goto done;
	num_be(r.num, num_key);
	if ((err = key_binding(name, version, &r, &aad, &aad_len)) != CV_OK ||
	    (err = cv_vault_seal(v, CV_DB_KEYS, aad, aad_len, pkcs8,
				 (size_t)pkcs8_len, &sealed, &sealed_len)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_KEY);
	cv_rec_put_u64(&w, CV_T_KTY, (uint64_t)r.kty);
	cv_rec_put_u64(&w, CV_T_KEY_SIZE, (uint64_t)r.key_size);
	if (r.curve[0] != '\0')
		cv_rec_put_str(&w, CV_T_CURVE, r.curve);
	cv_rec_put(&w, CV_T_SPKI, spki, (size_t)spki_len);
	cv_rec_put(&w, CV_T_SEALED, sealed, sealed_len);
	cv_rec_put(&w, CV_T_KEY_ID, r.key_id, sizeof(r.key_id));
	cv_rec_put_u64(&w, CV_T_EXPORTABLE, r.exportable ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_IMPORTED, r.imported ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_KEY_USAGE, r.key_usage);
	cv_rec_put_u64(&w, CV_T_KEY_NUM, r.num);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)cv_now());
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_KEYS, k.b, k.len, w.p, w.len, 0)) != CV_OK)
		goto done;
	if ((err = cv_db_put(v, txn, CV_DB_KEY_IDS, r.key_id, sizeof(r.key_id), k.b, k.len,
			     0)) != CV_OK)
		goto done;
	err = cv_db_put(v, txn, CV_DB_KEY_NUMS, num_key, sizeof(num_key), k.b, k.len,
			MDB_NOOVERWRITE);
done:
	cv_wbuf_free(&w);
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(pkcs8, pkcs8_len > 0 ? (size_t)pkcs8_len : 0);
	OPENSSL_free(spki);
	OPENSSL_free(sealed);
	OPENSSL_free(aad);
	return err;
}

/* --- Version record ----------------------------------------------------- */

typedef struct version_rec {
	cv_blob der;
	cv_blob *chain;
	size_t chain_len;
	uint64_t seq;
	unsigned char key_id[CV_KEY_ID_LEN];
	int64_t created, updated;
	int64_t nbf, exp;            /* copied from the certificate when stored */
	int enabled;
	cv_tags tags;
} version_rec;

static void
version_rec_clear(version_rec *r)
{
	size_t i;

	free(r->der.data);
	for (i = 0; i < r->chain_len; i++)
		free(r->chain[i].data);
	free(r->chain);
	cv_tags_clear(&r->tags);
	memset(r, 0, sizeof(*r));
}

static const unsigned version_repeats[] = { CV_T_CHAIN, CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };

static cv_err
blob_dup(cv_blob *b, const unsigned char *p, size_t len)
{
	if ((b->data = malloc(len ? len : 1)) == NULL)
		return CV_ERR_NOMEM;
	memcpy(b->data, p, len);
	b->len = len;
	return CV_OK;
}

static cv_err
version_rec_read(cv_vault *v, MDB_txn *txn, const char *name,
		 const char *version, version_rec *out)
{
	cv_vkey k;
	cv_field f[CV_T__MAX];
	MDB_val val;
	uint64_t created, updated, enabled, nbf, exp;
	size_t off = 0, vlen, n = 0;
	const unsigned char *p;
	unsigned tag;
	cv_err err;

	memset(out, 0, sizeof(*out));
	cv_vkey_make(&k, name, version);
	if ((err = cv_db_get(v, txn, CV_DB_VERSIONS, k.b, k.len, &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			return cv_err_set(CV_ERR_NOT_FOUND,
					  "certificate '%s' has no version '%s'", name, version);
		return err;
	}
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_VERSION,
				version_repeats, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_DER], "certificate")) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_KEY_ID], "key id")) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_SEQ], 0, &out->seq)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_UPDATED], 0, &updated)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NBF], 0, &nbf)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_EXP], 0, &exp)) != CV_OK)
		goto fail;
	out->nbf = (int64_t)nbf;
	out->exp = (int64_t)exp;
	if (f[CV_T_KEY_ID].len != CV_KEY_ID_LEN) {
		err = cv_err_set(CV_ERR_CORRUPT, "version %s of %s has a bad key id",
				 version, name);
		goto fail;
	}
	memcpy(out->key_id, f[CV_T_KEY_ID].p, CV_KEY_ID_LEN);
	out->created = (int64_t)created;
	out->updated = (int64_t)updated;
	out->enabled = enabled != 0;
	if ((err = blob_dup(&out->der, f[CV_T_DER].p, f[CV_T_DER].len)) != CV_OK)
		goto fail;
	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
		if (tag == CV_T_CHAIN)
			n++;
	if (n > 0) {
		if ((out->chain = calloc(n, sizeof(cv_blob))) == NULL) {
			err = CV_ERR_NOMEM;
			goto fail;
		}
		off = 0;
		while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen)) {
			if (tag != CV_T_CHAIN)
				continue;
			if ((err = blob_dup(&out->chain[out->chain_len], p, vlen)) != CV_OK)
				goto fail;
			out->chain_len++;
		}
	}
	if ((err = cv_rec_get_tags(val.mv_data, val.mv_size, &out->tags)) != CV_OK)
		goto fail;
	return CV_OK;
fail:
	version_rec_clear(out);
	return err;
}

static cv_err
version_rec_write(cv_vault *v, MDB_txn *txn, const char *name,
		  const char *version, const version_rec *r)
{
	cv_vkey k;
	cv_wbuf w = { 0 };
	size_t i;
	cv_err err;

	cv_vkey_make(&k, name, version);
	cv_rec_begin(&w, CV_REC_VERSION);
	cv_rec_put(&w, CV_T_DER, r->der.data, r->der.len);
	for (i = 0; i < r->chain_len; i++)
		cv_rec_put(&w, CV_T_CHAIN, r->chain[i].data, r->chain[i].len);
	cv_rec_put_u64(&w, CV_T_SEQ, r->seq);
	cv_rec_put(&w, CV_T_KEY_ID, r->key_id, CV_KEY_ID_LEN);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)r->created);
	cv_rec_put_u64(&w, CV_T_UPDATED, (uint64_t)r->updated);
	cv_rec_put_u64(&w, CV_T_ENABLED, r->enabled ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_NBF, (uint64_t)r->nbf);
	cv_rec_put_u64(&w, CV_T_EXP, (uint64_t)r->exp);
	cv_rec_put_tags(&w, &r->tags);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_VERSIONS, k.b, k.len, w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

static cv_err
x509_der(X509 *x, cv_blob *out)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	out->data = NULL;
	out->len = 0;
	if (n <= 0)
		return cv_err_crypto("encode a certificate");
	out->data = malloc((size_t)n);
	if (out->data == NULL) {
		OPENSSL_free(p);
		return CV_ERR_NOMEM;
	}
	memcpy(out->data, p, (size_t)n);
	out->len = (size_t)n;
	OPENSSL_free(p);
	return CV_OK;
}

cv_err
cv_version_store(cv_vault *v, MDB_txn *txn, cv_cert_rec *cert,
		 const cv_policy *policy, const char *version, X509 *leaf,
		 STACK_OF(X509) *chain, EVP_PKEY *priv, const cv_tags *tags)
{
	version_rec r = { 0 };
	cv_vkey k;
	cv_wbuf w = { 0 };
	char prev[CV_VERSION_LEN + 1];
	unsigned char *secret = NULL, *sealed = NULL;
	size_t secret_len = 0, sealed_len = 0;
	EVP_PKEY *pub;
	int i, n = chain ? sk_X509_num(chain) : 0;
	cv_err err;

	if ((err = x509_der(leaf, &r.der)) != CV_OK)
		goto done;
	if (n > 0 && (r.chain = calloc((size_t)n, sizeof(cv_blob))) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((err = x509_der(sk_X509_value(chain, i), &r.chain[i])) != CV_OK)
			goto done;
		r.chain_len++;
	}
	if ((pub = X509_get0_pubkey(leaf)) == NULL) {
		err = cv_err_set(CV_ERR_BAD_CERT, "the certificate's public key does not decode");
		goto done;
	}
	if ((err = cv_key_id(pub, r.key_id)) != CV_OK ||
	    (err = cv_x509_validity(leaf, &r.nbf, &r.exp)) != CV_OK ||
	    (err = cv_tags_copy(tags, &r.tags)) != CV_OK)
		goto done;
	r.seq = cert->next_seq++;
	r.created = r.updated = cv_now();
	r.enabled = policy->enabled;
	if ((err = version_rec_write(v, txn, cert->name, version, &r)) != CV_OK)
		goto done;

	/* The secret: the chain, and the key only when the policy allows it
	 * out.  Sealed even without a key, since it is a secret in Key Vault's
	 * model and its reader must be logged in. */
	if ((err = cv_secret_encode(policy->content_type, cert->name, leaf, chain,
				    policy->exportable ? priv : NULL, NULL,
				    &secret, &secret_len)) != CV_OK)
		goto done;
	cv_vkey_make(&k, cert->name, version);
	if ((err = cv_vault_seal(v, CV_DB_SECRETS, k.b, k.len, secret, secret_len,
				 &sealed, &sealed_len)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_SECRET);
	cv_rec_put_u64(&w, CV_T_CONTENT_TYPE, (uint64_t)policy->content_type);
	cv_rec_put(&w, CV_T_SEALED, sealed, sealed_len);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)r.created);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_SECRETS, k.b, k.len, w.p, w.len, 0)) != CV_OK)
		goto done;

	memcpy(prev, cert->current, sizeof(prev));
	memcpy(cert->current, version, CV_VERSION_LEN + 1);
	cert->updated = r.created;
	if ((err = cv_cert_rec_write(v, txn, cert)) != CV_OK ||
	    (err = cv_life_schedule(v, txn, cert->name, version, policy, r.nbf,
				    r.exp)) != CV_OK)
		goto done;
	err = cv_life_renewed_later(v, txn, cert->name, prev, version);
done:
	version_rec_clear(&r);
	cv_wbuf_free(&w);
	OPENSSL_clear_free(secret, secret_len);
	OPENSSL_free(sealed);
	return err;
}

/* A version's certificate must certify its key: a certificate moved to
 * another version record is never shown with, or signs for, a key it does
 * not certify.  ver_key_id is the key id the version record holds. */
static cv_err
version_matches_key(const char *name, const char *version, X509 *x,
		    const unsigned char ver_key_id[CV_KEY_ID_LEN], const cv_key_rec *key)
{
	unsigned char *spki = NULL;
	int spki_len, same;

	/* The certificate's own encoding of its public key. */
	spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	same = memcmp(ver_key_id, key->key_id, CV_KEY_ID_LEN) == 0 && spki_len > 0 &&
	       is_public_key(spki, (size_t)spki_len, X509_get0_pubkey(x), key);
	OPENSSL_free(spki);
	ERR_clear_error();
	if (!same)
		return cv_err_set(CV_ERR_CORRUPT,
				  "version %s of %s is damaged: its certificate is not its key's "
				  "(the vault was changed outside certvault)", version, name);
	return CV_OK;
}

cv_err
cv_key_rec_check_use(cv_vault *v, MDB_txn *txn, const char *name,
		     const char *version, uint64_t num, const cv_key_rec *r)
{
	version_rec vr = { 0 };
	const unsigned char *p;
	X509 *x = NULL;
	cv_err err;

	if (r->num != num)
		return key_damaged(name, version, "its key number is another key's");
	err = version_rec_read(v, txn, name, version, &vr);
	if (err == CV_ERR_NOT_FOUND) {
		/* A pending key: no certificate yet. */
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	p = vr.der.data;
	x = d2i_X509(NULL, &p, (long)vr.der.len);
	if (x == NULL || p != vr.der.data + vr.der.len)
		err = cv_err_set(CV_ERR_CORRUPT, "version %s of %s holds a damaged certificate",
				 version, name);
	else
		err = version_matches_key(name, version, x, vr.key_id, r);
	X509_free(x);
	ERR_clear_error();
	version_rec_clear(&vr);
	return err;
}

/* --- Reading versions for the faces --------------------------------------- */

void
cv_cert_version_free(cv_cert_version *cv)
{
	size_t i;

	if (cv == NULL)
		return;
	free(cv->der.data);
	for (i = 0; i < cv->chain_len; i++)
		free(cv->chain[i].data);
	free(cv->chain);
	free(cv->subject);
	free(cv->issuer);
	free(cv->serial);
	cv_tags_clear(&cv->tags);
	free(cv);
}

void
cv_cert_version_list_free(cv_cert_version **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		cv_cert_version_free(list[i]);
	free(list);
}

static int
pending_in_progress(cv_vault *v, MDB_txn *txn, const char *name)
{
	cv_operation *op = NULL;
	int r = 0;

	if (cv_op_read(v, txn, name, &op) == CV_OK)
		r = op->status == CV_OP_IN_PROGRESS;
	cv_operation_free(op);
	cv_err_clear();
	return r;
}

/* Fill a cv_cert_version for name/version (version "" = placeholder). */
static cv_err
version_load(cv_vault *v, MDB_txn *txn, const cv_cert_rec *cert,
	     const char *version, cv_cert_version **out)
{
	cv_cert_version *cv = NULL;
	version_rec r = { 0 };
	cv_key_rec key = { 0 };
	const unsigned char *p;
	X509 *x = NULL;
	BIGNUM *bn = NULL;
	char *hex = NULL;
	cv_err err;

	*out = NULL;
	if ((cv = calloc(1, sizeof(*cv))) == NULL)
		return CV_ERR_NOMEM;
	snprintf(cv->name, sizeof(cv->name), "%s", cert->name);
	cv->pending = pending_in_progress(v, txn, cert->name);
	if (version[0] == '\0') {
		cv_operation *op = NULL;

		cv->created = cert->created;
		cv->updated = cert->updated;
		if (cv_op_read(v, txn, cert->name, &op) == CV_OK) {
			cv->tags = op->tags;
			memset(&op->tags, 0, sizeof(op->tags));
		}
		cv_operation_free(op);
		cv_err_clear();
		*out = cv;
		return CV_OK;
	}
	if ((err = version_rec_read(v, txn, cert->name, version, &r)) != CV_OK)
		goto done;
	snprintf(cv->version, sizeof(cv->version), "%s", version);
	cv->der = r.der;
	cv->chain = r.chain;
	cv->chain_len = r.chain_len;
	cv->tags = r.tags;
	memset(&r.der, 0, sizeof(r.der));
	r.chain = NULL;
	r.chain_len = 0;
	memset(&r.tags, 0, sizeof(r.tags));
	memcpy(cv->key_id, r.key_id, sizeof(cv->key_id));
	cv->created = r.created;
	cv->updated = r.updated;
	cv->seq = r.seq;
	cv->enabled = r.enabled;
	cv->is_current = strcmp(cert->current, version) == 0;
	cv_x509_thumbprint(cv->der.data, cv->der.len, cv->x5t);

	p = cv->der.data;
	x = d2i_X509(NULL, &p, (long)cv->der.len);
	if (x == NULL || p != cv->der.data + cv->der.len) {
		err = cv_err_set(CV_ERR_CORRUPT, "version %s of %s holds a damaged certificate",
				 version, cert->name);
		goto done;
	}
	err = cv_key_rec_read_part(v, txn, cert->name, version, 0, &key);
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_CORRUPT, "version %s of %s has no key", version,
				 cert->name);
	if (err != CV_OK ||
	    (err = version_matches_key(cert->name, version, x, r.key_id, &key)) != CV_OK ||
	    (err = cv_x509_validity(x, &cv->nbf, &cv->exp)) != CV_OK)
		goto done;
	cv->subject = cv_x500_format(X509_get_subject_name(x));
	cv->issuer = cv_x500_format(X509_get_issuer_name(x));
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	hex = bn ? BN_bn2hex(bn) : NULL;
	cv->serial = hex ? strdup(hex) : NULL;
	if (cv->subject == NULL || cv->issuer == NULL || cv->serial == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	*out = cv;
	cv = NULL;
	err = CV_OK;
done:
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	version_rec_clear(&r);
	cv_key_rec_clear(&key);
	cv_cert_version_free(cv);
	return err;
}

cv_err
cv_cert_version_read(cv_vault *v, MDB_txn *txn, const cv_cert_rec *cert,
		     const char *version, cv_cert_version **out)
{
	return version_load(v, txn, cert, version, out);
}

cv_err
cv_cert_get(cv_vault *v, const char *name, const char *version,
	    cv_cert_version **out)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if (version != NULL && (strlen(version) != CV_VERSION_LEN ||
				strspn(version, "0123456789abcdef") != CV_VERSION_LEN))
		return cv_err_set(CV_ERR_NOT_FOUND, "certificate '%s' has no version '%s'",
				  name, version);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	err = version_load(v, txn, &cert, version ? version : cert.current, out);
done:
	cv_cert_rec_clear(&cert);
	mdb_txn_abort(txn);
	return err;
}

static cv_err
list_push(cv_cert_version ***arr, size_t *n, size_t *cap, cv_cert_version *cv)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		cv_cert_version **na = realloc(*arr, nc * sizeof(*na));

		if (na == NULL)
			return CV_ERR_NOMEM;
		*arr = na;
		*cap = nc;
	}
	(*arr)[(*n)++] = cv;
	return CV_OK;
}

cv_err
cv_cert_list(cv_vault *v, cv_cert_version ***out, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_cert_version **arr = NULL, *cv = NULL;
	size_t count = 0, cap = 0;
	char name[CV_NAME_MAX + 1];
	cv_err err;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_CERTS], &cur)) != 0) {
		err = cv_mdb_err(rc, "list certificates");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		cv_cert_rec cert = { 0 };

		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "a certificate key of %zu bytes",
					 key.mv_size);
			goto done;
		}
		memcpy(name, key.mv_data, key.mv_size);
		name[key.mv_size] = '\0';
		if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
			goto done;
		err = version_load(v, txn, &cert, cert.current, &cv);
		cv_cert_rec_clear(&cert);
		if (err != CV_OK || (err = list_push(&arr, &count, &cap, cv)) != CV_OK)
			goto done;
		cv = NULL;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "list certificates");
		goto done;
	}
	*out = arr;
	*n = count;
	arr = NULL;
	count = 0;
	err = CV_OK;
done:
	cv_cert_version_free(cv);
	cv_cert_version_list_free(arr, count);
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

static int
by_seq(const void *a, const void *b)
{
	const cv_cert_version *x = *(cv_cert_version *const *)a;
	const cv_cert_version *y = *(cv_cert_version *const *)b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

cv_err
cv_cert_list_versions(cv_vault *v, const char *name, cv_cert_version ***out,
		      size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_cert_rec cert = { 0 };
	cv_cert_version **arr = NULL, *cv = NULL;
	size_t count = 0, cap = 0;
	char lname[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	size_t plen;
	cv_err err;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	plen = strlen(lname) + 1; /* the name and its NUL */
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_VERSIONS], &cur)) != 0) {
		err = cv_mdb_err(rc, "list versions");
		goto done;
	}
	key.mv_data = lname;
	key.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size <= plen || memcmp(key.mv_data, lname, plen) != 0)
			break;
		if (key.mv_size - plen != CV_VERSION_LEN) {
			err = cv_err_set(CV_ERR_CORRUPT, "a version key of %zu bytes",
					 key.mv_size);
			goto done;
		}
		memcpy(version, (char *)key.mv_data + plen, CV_VERSION_LEN);
		version[CV_VERSION_LEN] = '\0';
		if ((err = version_load(v, txn, &cert, version, &cv)) != CV_OK ||
		    (err = list_push(&arr, &count, &cap, cv)) != CV_OK)
			goto done;
		cv = NULL;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "list versions");
		goto done;
	}
	if (count > 1)
		qsort(arr, count, sizeof(*arr), by_seq);
	*out = arr;
	*n = count;
	arr = NULL;
	count = 0;
	err = CV_OK;
done:
	cv_cert_version_free(cv);
	cv_cert_version_list_free(arr, count);
	if (cur != NULL)
		mdb_cursor_close(cur);
	cv_cert_rec_clear(&cert);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_cert_set_attributes(cv_vault *v, const char *name, const char *version,
		       int enabled, const cv_tags *tags, cv_cert_version **out)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	version_rec r = { 0 };
	const char *ver;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if ((err = cv_tags_validate(tags)) != CV_OK)
		return err;
	if (enabled < -1 || enabled > 1)
		return cv_err_set(CV_ERR_INVALID, "enabled must be true or false");
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	ver = version ? version : cert.current;
	if (ver[0] == '\0') {
		err = cv_err_set(CV_ERR_NOT_FOUND,
				 "certificate '%s' has no version yet (its operation is pending)",
				 name);
		goto done;
	}
	if (strlen(ver) != CV_VERSION_LEN) {
		err = cv_err_set(CV_ERR_NOT_FOUND, "certificate '%s' has no version '%s'",
				 name, ver);
		goto done;
	}
	if ((err = version_rec_read(v, txn, name, ver, &r)) != CV_OK)
		goto done;
	if (enabled >= 0)
		r.enabled = enabled;
	if (tags != NULL) {
		cv_tags_clear(&r.tags);
		if ((err = cv_tags_copy(tags, &r.tags)) != CV_OK)
			goto done;
	}
	r.updated = cv_now();
	if ((err = version_rec_write(v, txn, name, ver, &r)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL)
		err = cv_cert_get(v, name, ver, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	version_rec_clear(&r);
	cv_cert_rec_clear(&cert);
	return err;
}
