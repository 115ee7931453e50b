/* certvault: backup and restore of one certificate (certbackup.h has the
 * blob's format). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "certbackup.h"
#include "internal.h"
#include "life/internal.h"
#include "x509.h"

/* The payload's record type and its fields: they live only in a blob, so
 * their numbers are the blob format's own, not the vault's. */
#define CB_REC_PAYLOAD ((enum cv_rec_type)0xC1)
#define CB_REC_ITEM ((enum cv_rec_type)0xC2)

enum {
	CB_P_NAME = 1,
	CB_P_CERT = 2,
	CB_P_VERSION = 3,   /* repeats: an item */
	CB_P_SECRET = 4,    /* repeats */
	CB_P_KEY = 5,       /* repeats */
	CB_P_TRIGGER = 6,   /* repeats */
	CB_P_PENDING = 7,
	CB_P_CREATED = 8,   /* when the backup was made */
};

enum {
	CB_I_VERSION = 1,
	CB_I_KIND = 2,
	CB_I_REC = 3,
	CB_I_CONTENT_TYPE = 4,
	CB_I_CREATED = 5,
	CB_I_SEALED = 6,
};

static const char vault_id_label[] = "certvault backup vault id";
static const char password_check_label[] = "certvault backup password check";
static const char key_label[] = "certvault backup key";
static const char secret_label[] = "certvault backup secret";

/* --- Decoding ------------------------------------------------------------ */

static uint64_t
be_get(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void
be_put(uint64_t v, unsigned char *p, size_t n)
{
	size_t i;

	for (i = n; i > 0; i--) {
		p[i - 1] = (unsigned char)v;
		v >>= 8;
	}
}

cv_err
cv_cb_header_parse(const unsigned char *blob, size_t len, cv_cb_header *out)
{
	memset(out, 0, sizeof(*out));
	if (blob == NULL || len < CV_CB_MAGIC_LEN ||
	    memcmp(blob, CV_CB_MAGIC, CV_CB_MAGIC_LEN) != 0)
		return cv_err_set(CV_ERR_CORRUPT, "not a certificate backup");
	if (len < CV_CB_MAGIC_LEN + 1)
		return cv_err_set(CV_ERR_CORRUPT, "the certificate backup is cut short "
				  "(%zu bytes)", len);
	out->format = blob[CV_CB_MAGIC_LEN];
	if (out->format != CV_CB_FORMAT)
		return cv_err_set(CV_ERR_FORMAT_VERSION,
				  "the certificate backup is of format %u; this certvault "
				  "reads format %u", out->format, CV_CB_FORMAT);
	if (len < CV_CB_HEAD_VAULT + CV_SEAL_OVERHEAD)
		return cv_err_set(CV_ERR_CORRUPT, "the certificate backup is cut short "
				  "(%zu bytes)", len);
	out->flags = blob[CV_CB_MAGIC_LEN + 1];
	if ((out->flags & ~(unsigned)CV_CB_FLAG_PASSWORD) != 0)
		return cv_err_set(CV_ERR_CORRUPT, "the certificate backup is damaged "
				  "(unknown flags 0x%02x)", out->flags);
	out->vault_id = blob + CV_CB_MAGIC_LEN + 2;
	out->vault_wrap = blob + CV_CB_HEAD_ID;
	out->head_len = CV_CB_HEAD_VAULT;
	if (out->flags & CV_CB_FLAG_PASSWORD) {
		const unsigned char *p = blob + CV_CB_HEAD_VAULT;

		if (len < CV_CB_HEAD_PASSWORD + CV_SEAL_OVERHEAD)
			return cv_err_set(CV_ERR_CORRUPT, "the certificate backup is cut "
					  "short (%zu bytes)", len);
		out->salt = p;
		out->kdf.n = be_get(p + CV_SALT_LEN, 8);
		out->kdf.r = (uint32_t)be_get(p + CV_SALT_LEN + 8, 4);
		out->kdf.p = (uint32_t)be_get(p + CV_SALT_LEN + 12, 4);
		out->password_check = blob + CV_CB_HEAD_CHECK - CV_CB_ID_LEN;
		out->password_wrap = blob + CV_CB_HEAD_CHECK;
		out->head_len = CV_CB_HEAD_PASSWORD;
	}
	out->body = blob + out->head_len;
	out->body_len = len - out->head_len;
	return CV_OK;
}

void
cv_cb_payload_clear(cv_cb_payload *pl)
{
	free(pl->versions);
	free(pl->secrets);
	free(pl->keys);
	free(pl->triggers);
	memset(pl, 0, sizeof(*pl));
}

static int
version_id_valid(const unsigned char *p, size_t len)
{
	size_t i;

	if (len != CV_VERSION_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!isdigit(p[i]) && !(p[i] >= 'a' && p[i] <= 'f'))
			return 0;
	return 1;
}

static cv_err
damaged(const char *what)
{
	return cv_err_set(CV_ERR_CORRUPT, "the certificate backup is damaged: %s", what);
}

/* A record's CV_T_NAME must be the payload's name, exactly. */
static cv_err
names_it(const cv_field f[CV_T__MAX], const char *name, const char *what)
{
	char got[CV_NAME_MAX + 1];

	if (cv_field_strbuf(&f[CV_T_NAME], got, sizeof(got)) != CV_OK ||
	    strcmp(got, name) != 0)
		return damaged(what);
	return CV_OK;
}

static const unsigned payload_repeats[] = {
	CB_P_VERSION, CB_P_SECRET, CB_P_KEY, CB_P_TRIGGER, 0
};
static const unsigned version_repeats[] = { CV_T_CHAIN, CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };
static const unsigned op_repeats[] = { CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };

/* One item: the fields its kind has, each checked. */
static cv_err
item_parse(unsigned tag, const unsigned char *p, size_t len, const char *name,
	   cv_cb_item *it)
{
	cv_field f[CV_T__MAX], g[CV_T__MAX];
	uint64_t kind = 0;
	cv_err err;

	memset(it, 0, sizeof(*it));
	if ((err = cv_rec_parse(p, len, CB_REC_ITEM, NULL, f)) != CV_OK)
		return damaged("an item does not decode");
	if (!f[CB_I_VERSION].present ||
	    !version_id_valid(f[CB_I_VERSION].p, f[CB_I_VERSION].len))
		return damaged("an item has no valid version id");
	memcpy(it->version, f[CB_I_VERSION].p, CV_VERSION_LEN);
	it->version[CV_VERSION_LEN] = '\0';
	if (tag == CB_P_SECRET) {
		if (!f[CB_I_SEALED].present || f[CB_I_SEALED].len < CV_SEAL_OVERHEAD ||
		    cv_field_u64(&f[CB_I_CONTENT_TYPE], 0, &it->content_type) != CV_OK ||
		    cv_field_u64(&f[CB_I_CREATED], 0, &it->created) != CV_OK ||
		    (it->content_type != CV_CONTENT_PEM && it->content_type != CV_CONTENT_PKCS12))
			return damaged("a secret is not whole");
		it->sealed = f[CB_I_SEALED].p;
		it->sealed_len = f[CB_I_SEALED].len;
		return CV_OK;
	}
	if (!f[CB_I_REC].present)
		return damaged("an item has no record");
	it->rec = f[CB_I_REC].p;
	it->rec_len = f[CB_I_REC].len;
	switch (tag) {
	case CB_P_VERSION:
		if (cv_rec_parse(it->rec, it->rec_len, CV_REC_VERSION, version_repeats, g) != CV_OK ||
		    !g[CV_T_DER].present || g[CV_T_KEY_ID].len != CV_KEY_ID_LEN)
			return damaged("a version record does not decode");
		return CV_OK;
	case CB_P_KEY:
		if (cv_rec_parse(it->rec, it->rec_len, CV_REC_KEY, NULL, g) != CV_OK ||
		    !g[CV_T_SPKI].present || g[CV_T_SEALED].len < CV_SEAL_OVERHEAD ||
		    g[CV_T_KEY_ID].len != CV_KEY_ID_LEN ||
		    cv_field_u64(&g[CV_T_KTY], 0, &kind) != CV_OK ||
		    (kind != CV_KEY_RSA && kind != CV_KEY_EC))
			return damaged("a key record does not decode");
		return CV_OK;
	case CB_P_TRIGGER:
		if (cv_field_u64(&f[CB_I_KIND], 0, &kind) != CV_OK ||
		    kind < CV_LIFE_AUTO_RENEW || kind > CV_LIFE_EXPIRED ||
		    cv_rec_parse(it->rec, it->rec_len, CV_REC_TRIGGER, NULL, g) != CV_OK ||
		    names_it(g, name, "a trigger names another certificate") != CV_OK)
			return damaged("a trigger record does not decode");
		it->kind = (unsigned)kind;
		if (cv_field_u64(&g[CV_T_KIND], 0, &kind) != CV_OK || kind != it->kind)
			return damaged("a trigger's kind is not its record's");
		return CV_OK;
	}
	return damaged("an item of an unknown kind");
}

static const cv_cb_item *
find_item(const cv_cb_item *items, size_t n, const char *version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(items[i].version, version) == 0)
			return &items[i];
	return NULL;
}

static int
duplicates(const cv_cb_item *items, size_t n, int with_kind)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(items[i].version, items[j].version) == 0 &&
			    (!with_kind || items[i].kind == items[j].kind))
				return 1;
	return 0;
}

/* The certificate is whole: every version with its key and secret, the
 * current version among them, a pending operation's key there. */
static cv_err
payload_whole(const cv_cb_payload *pl)
{
	cv_field f[CV_T__MAX];
	char current[CV_VERSION_LEN + 1], opver[CV_VERSION_LEN + 1];
	uint64_t status = 0;
	size_t i;
	cv_err err;

	if (duplicates(pl->versions, pl->n_versions, 0) ||
	    duplicates(pl->secrets, pl->n_secrets, 0) ||
	    duplicates(pl->keys, pl->n_keys, 0) ||
	    duplicates(pl->triggers, pl->n_triggers, 1))
		return damaged("a version is in it twice");
	for (i = 0; i < pl->n_versions; i++)
		if (find_item(pl->keys, pl->n_keys, pl->versions[i].version) == NULL ||
		    find_item(pl->secrets, pl->n_secrets, pl->versions[i].version) == NULL)
			return damaged("a version has no key or no secret");
	for (i = 0; i < pl->n_secrets; i++)
		if (find_item(pl->versions, pl->n_versions, pl->secrets[i].version) == NULL)
			return damaged("a secret has no version");
	for (i = 0; i < pl->n_triggers; i++)
		if (find_item(pl->versions, pl->n_versions, pl->triggers[i].version) == NULL)
			return damaged("a trigger has no version");
	if ((err = cv_rec_parse(pl->cert, pl->cert_len, CV_REC_CERT, NULL, f)) != CV_OK ||
	    !f[CV_T_POLICY].present ||
	    names_it(f, pl->name, "its certificate record names another") != CV_OK ||
	    cv_field_strbuf(&f[CV_T_CURRENT], current, sizeof(current)) != CV_OK)
		return damaged("the certificate record does not decode");
	if (current[0] != '\0' && find_item(pl->versions, pl->n_versions, current) == NULL)
		return damaged("the current version is not in it");
	if (pl->pending != NULL) {
		if (cv_rec_parse(pl->pending, pl->pending_len, CV_REC_OPERATION, op_repeats,
				 f) != CV_OK ||
		    names_it(f, pl->name, "its operation names another") != CV_OK ||
		    cv_field_strbuf(&f[CV_T_VERSION], opver, sizeof(opver)) != CV_OK ||
		    !version_id_valid((const unsigned char *)opver, strlen(opver)) ||
		    cv_field_u64(&f[CV_T_STATUS], 0, &status) != CV_OK)
			return damaged("the operation record does not decode");
		if (status == CV_OP_IN_PROGRESS &&
		    find_item(pl->keys, pl->n_keys, opver) == NULL)
			return damaged("the operation in progress has no key");
	} else if (current[0] == '\0') {
		return damaged("a certificate with no version and no operation");
	}
	return CV_OK;
}

cv_err
cv_cb_payload_parse(const unsigned char *p, size_t len, cv_cb_payload *out)
{
	cv_field f[CV_T__MAX];
	size_t off, vlen, counts[CB_P_TRIGGER + 1] = { 0 };
	cv_cb_item **lists[CB_P_TRIGGER + 1] = { 0 };
	size_t *ns[CB_P_TRIGGER + 1] = { 0 };
	const unsigned char *val;
	unsigned tag;
	cv_err err;

	memset(out, 0, sizeof(*out));
	lists[CB_P_VERSION] = &out->versions;
	lists[CB_P_SECRET] = &out->secrets;
	lists[CB_P_KEY] = &out->keys;
	lists[CB_P_TRIGGER] = &out->triggers;
	ns[CB_P_VERSION] = &out->n_versions;
	ns[CB_P_SECRET] = &out->n_secrets;
	ns[CB_P_KEY] = &out->n_keys;
	ns[CB_P_TRIGGER] = &out->n_triggers;
	if (cv_rec_parse(p, len, CB_REC_PAYLOAD, payload_repeats, f) != CV_OK) {
		err = damaged("its contents do not decode");
		goto done;
	}
	if (cv_field_strbuf(&f[CB_P_NAME], out->name, sizeof(out->name)) != CV_OK ||
	    !cv_name_valid(out->name) || !f[CB_P_CERT].present) {
		err = damaged("it names no valid certificate");
		goto done;
	}
	out->cert = f[CB_P_CERT].p;
	out->cert_len = f[CB_P_CERT].len;
	if (f[CB_P_PENDING].present) {
		out->pending = f[CB_P_PENDING].p;
		out->pending_len = f[CB_P_PENDING].len;
	}
	off = 0;
	while (cv_rec_next(p, len, &off, &tag, &val, &vlen))
		if (tag >= CB_P_VERSION && tag <= CB_P_TRIGGER)
			counts[tag]++;
	for (tag = CB_P_VERSION; tag <= CB_P_TRIGGER; tag++)
		if (counts[tag] > 0 &&
		    (*lists[tag] = calloc(counts[tag], sizeof(cv_cb_item))) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
	off = 0;
	while (cv_rec_next(p, len, &off, &tag, &val, &vlen)) {
		if (tag < CB_P_VERSION || tag > CB_P_TRIGGER)
			continue;
		if ((err = item_parse(tag, val, vlen, out->name,
				      &(*lists[tag])[*ns[tag]])) != CV_OK)
			goto done;
		(*ns[tag])++;
	}
	err = payload_whole(out);
done:
	if (err != CV_OK)
		cv_cb_payload_clear(out);
	return err;
}

/* --- Keys of the blob ----------------------------------------------------- */

static cv_err
hmac_id(const unsigned char key[CV_MASTER_KEY_LEN], const char *label,
	unsigned char id[CV_CB_ID_LEN])
{
	unsigned char mac[32];
	size_t maclen = 0;
	cv_err err = CV_OK;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, CV_MASTER_KEY_LEN,
		      (const unsigned char *)label, strlen(label), mac, sizeof(mac),
		      &maclen) == NULL || maclen != sizeof(mac))
		err = cv_err_crypto("derive the backup's key check");
	else
		memcpy(id, mac, CV_CB_ID_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

/* The additional data of a key or secret sealed inside a payload. */
static void
item_aad(const char *label, const char *name, const char *version,
	 unsigned char *out, size_t *len)
{
	cv_vkey k;
	size_t n = strlen(label);

	cv_vkey_make(&k, name, version);
	memcpy(out, label, n);
	out[n] = '\0';
	memcpy(out + n + 1, k.b, k.len);
	*len = n + 1 + k.len;
}

#define ITEM_AAD_MAX (64 + sizeof(((cv_vkey *)0)->b))

/* --- Backup --------------------------------------------------------------- */

typedef struct backup_ctx {
	cv_vault *v;
	MDB_txn *txn;
	const char *name;        /* as written in the vault */
	unsigned char *blob_key; /* CV_CB_KEY_LEN, secure heap */
	cv_wbuf *w;
} backup_ctx;

typedef cv_err (*visit_fn)(backup_ctx *c, const char *version,
			   const unsigned char *key, size_t klen,
			   const MDB_val *val);

/* Every record of db whose key is lname \0 version [\0 kind]. */
static cv_err
walk_prefix(backup_ctx *c, enum cv_db db, size_t suffix, visit_fn visit)
{
	char lname[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	unsigned char prefix[CV_NAME_MAX + 2];
	MDB_cursor *cur = NULL;
	MDB_val k, val;
	size_t plen;
	int rc;
	cv_err err = CV_OK;

	cv_name_key(c->name, lname);
	plen = strlen(lname) + 1;
	memcpy(prefix, lname, plen);
	if ((rc = mdb_cursor_open(c->txn, c->v->dbi[db], &cur)) != 0)
		return cv_mdb_err(rc, "read the certificate's records");
	k.mv_data = prefix;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		const unsigned char *kb = k.mv_data;

		if (k.mv_size < plen || memcmp(kb, prefix, plen) != 0)
			break;
		if (k.mv_size != plen + CV_VERSION_LEN + suffix ||
		    !version_id_valid(kb + plen, CV_VERSION_LEN)) {
			err = cv_err_set(CV_ERR_CORRUPT, "a record of '%s' has a damaged key",
					 c->name);
			goto done;
		}
		memcpy(version, kb + plen, CV_VERSION_LEN);
		version[CV_VERSION_LEN] = '\0';
		if ((err = visit(c, version, kb, k.mv_size, &val)) != CV_OK)
			goto done;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "read the certificate's records");
done:
	mdb_cursor_close(cur);
	return err;
}

static cv_err
put_item(backup_ctx *c, unsigned tag, cv_wbuf *item)
{
	cv_err err;

	if ((err = cv_rec_finish(item)) == CV_OK)
		cv_rec_put(c->w, tag, item->p, item->len);
	cv_wbuf_free(item);
	return err;
}

static cv_err
visit_version(backup_ctx *c, const char *version, const unsigned char *key,
	      size_t klen, const MDB_val *val)
{
	cv_wbuf item = { 0 };

	(void)key;
	(void)klen;
	cv_rec_begin(&item, CB_REC_ITEM);
	cv_rec_put_str(&item, CB_I_VERSION, version);
	cv_rec_put(&item, CB_I_REC, val->mv_data, val->mv_size);
	return put_item(c, CB_P_VERSION, &item);
}

static cv_err
visit_trigger(backup_ctx *c, const char *version, const unsigned char *key,
	      size_t klen, const MDB_val *val)
{
	cv_wbuf item = { 0 };

	cv_rec_begin(&item, CB_REC_ITEM);
	cv_rec_put_str(&item, CB_I_VERSION, version);
	cv_rec_put_u64(&item, CB_I_KIND, key[klen - 1]);
	cv_rec_put(&item, CB_I_REC, val->mv_data, val->mv_size);
	return put_item(c, CB_P_TRIGGER, &item);
}

/* Seal pt under the blob key for name/version. */
static cv_err
blob_seal(backup_ctx *c, const char *label, const char *version,
	  const unsigned char *pt, size_t ptlen, unsigned char **out, size_t *outlen)
{
	unsigned char aad[ITEM_AAD_MAX];
	size_t aadlen;

	item_aad(label, c->name, version, aad, &aadlen);
	return cv_seal(c->blob_key, aad, aadlen, pt, ptlen, out, outlen);
}

static cv_err
visit_secret(backup_ctx *c, const char *version, const unsigned char *key,
	     size_t klen, const MDB_val *val)
{
	cv_field f[CV_T__MAX];
	uint64_t ctype = 0, created = 0;
	unsigned char *pt = NULL, *sealed = NULL;
	size_t ptlen = 0, sealed_len = 0;
	cv_wbuf item = { 0 };
	cv_err err;

	if ((err = cv_rec_parse(val->mv_data, val->mv_size, CV_REC_SECRET, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_SEALED], "secret")) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CONTENT_TYPE], 0, &ctype)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_vault_unseal(c->v, CV_DB_SECRETS, key, klen, f[CV_T_SEALED].p,
				   f[CV_T_SEALED].len, &pt, &ptlen)) != CV_OK ||
	    (err = blob_seal(c, secret_label, version, pt, ptlen, &sealed,
			     &sealed_len)) != CV_OK)
		goto done;
	cv_rec_begin(&item, CB_REC_ITEM);
	cv_rec_put_str(&item, CB_I_VERSION, version);
	cv_rec_put_u64(&item, CB_I_CONTENT_TYPE, ctype);
	cv_rec_put_u64(&item, CB_I_CREATED, created);
	cv_rec_put(&item, CB_I_SEALED, sealed, sealed_len);
	err = put_item(c, CB_P_SECRET, &item);
done:
	if (err == CV_ERR_CORRUPT && pt == NULL)
		err = cv_err_set(CV_ERR_CORRUPT, "the secret of %s/%s does not open",
				 c->name, version);
	cv_wbuf_free(&item);
	OPENSSL_clear_free(pt, ptlen);
	OPENSSL_free(sealed);
	return err;
}

static cv_err
visit_key(backup_ctx *c, const char *version, const unsigned char *key,
	  size_t klen, const MDB_val *val)
{
	cv_key_rec r = { 0 };
	EVP_PKEY *priv = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL, *sealed = NULL;
	int derlen = 0;
	size_t sealed_len = 0;
	cv_wbuf rec = { 0 }, item = { 0 };
	cv_err err;

	(void)key;
	(void)klen;
	(void)val;
	/* Read as every key is read: what the record says is checked against
	 * the sealed key before it goes into a backup. */
	if ((err = cv_key_rec_read(c->v, c->txn, c->name, version, &r)) != CV_OK ||
	    (err = cv_key_rec_private(c->v, c->name, version, &r, &priv)) != CV_OK)
		goto done;
	if ((p8 = EVP_PKEY2PKCS8(priv)) == NULL ||
	    (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		err = cv_err_crypto("encode a key for the backup");
		goto done;
	}
	if ((err = blob_seal(c, key_label, version, der, (size_t)derlen, &sealed,
			     &sealed_len)) != CV_OK)
		goto done;
	/* The key record as the vault keeps it, less its number. */
	cv_rec_begin(&rec, CV_REC_KEY);
	cv_rec_put_u64(&rec, CV_T_KTY, (uint64_t)r.kty);
	cv_rec_put_u64(&rec, CV_T_KEY_SIZE, (uint64_t)r.key_size);
	if (r.curve[0] != '\0')
		cv_rec_put_str(&rec, CV_T_CURVE, r.curve);
	cv_rec_put(&rec, CV_T_SPKI, r.spki.data, r.spki.len);
	cv_rec_put(&rec, CV_T_SEALED, sealed, sealed_len);
	cv_rec_put(&rec, CV_T_KEY_ID, r.key_id, sizeof(r.key_id));
	cv_rec_put_u64(&rec, CV_T_EXPORTABLE, r.exportable ? 1 : 0);
	cv_rec_put_u64(&rec, CV_T_IMPORTED, r.imported ? 1 : 0);
	cv_rec_put_u64(&rec, CV_T_KEY_USAGE, r.key_usage);
	cv_rec_put_u64(&rec, CV_T_CREATED, (uint64_t)r.created);
	if ((err = cv_rec_finish(&rec)) != CV_OK)
		goto done;
	cv_rec_begin(&item, CB_REC_ITEM);
	cv_rec_put_str(&item, CB_I_VERSION, version);
	cv_rec_put(&item, CB_I_REC, rec.p, rec.len);
	err = put_item(c, CB_P_KEY, &item);
done:
	cv_wbuf_free(&rec);
	cv_wbuf_free(&item);
	cv_key_rec_clear(&r);
	EVP_PKEY_free(priv);
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(der, derlen > 0 ? (size_t)derlen : 0);
	OPENSSL_free(sealed);
	return err;
}

/* The payload of name, read in one read transaction. */
static cv_err
payload_make(cv_vault *v, const char *name, unsigned char *blob_key, cv_wbuf *w)
{
	char lname[CV_NAME_MAX + 1];
	cv_cert_rec cert = { 0 };
	backup_ctx c = { 0 };
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_err err;

	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	cv_name_key(name, lname);
	c.v = v;
	c.txn = txn;
	c.name = cert.name;
	c.blob_key = blob_key;
	c.w = w;
	cv_rec_begin(w, CB_REC_PAYLOAD);
	cv_rec_put_str(w, CB_P_NAME, cert.name);
	cv_rec_put_u64(w, CB_P_CREATED, (uint64_t)cv_now());
	if ((err = cv_db_get(v, txn, CV_DB_CERTS, lname, strlen(lname), &val)) != CV_OK)
		goto done;
	cv_rec_put(w, CB_P_CERT, val.mv_data, val.mv_size);
	err = cv_db_get(v, txn, CV_DB_PENDING, lname, strlen(lname), &val);
	if (err == CV_OK)
		cv_rec_put(w, CB_P_PENDING, val.mv_data, val.mv_size);
	else if (err != CV_ERR_NOT_FOUND)
		goto done;
	cv_err_clear();
	if ((err = walk_prefix(&c, CV_DB_VERSIONS, 0, visit_version)) != CV_OK ||
	    (err = walk_prefix(&c, CV_DB_SECRETS, 0, visit_secret)) != CV_OK ||
	    (err = walk_prefix(&c, CV_DB_KEYS, 0, visit_key)) != CV_OK)
		goto done;
	if (v->has_life &&
	    (err = walk_prefix(&c, CV_DB_TRIGGERS, 2, visit_trigger)) != CV_OK)
		goto done;
	err = cv_rec_finish(w);
done:
	mdb_txn_abort(txn);
	cv_cert_rec_clear(&cert);
	return err;
}

cv_err
cv_cert_backup(cv_vault *v, const char *name, const char *password,
	       unsigned char **blob, size_t *len)
{
	unsigned char master[CV_MASTER_KEY_LEN], pwkey[CV_MASTER_KEY_LEN];
	unsigned char head[CV_CB_HEAD_PASSWORD];
	unsigned char *blob_key = NULL, *wrap = NULL, *body = NULL, *out = NULL;
	size_t wrap_len = 0, body_len = 0, head_len = CV_CB_HEAD_VAULT, pwlen = 0;
	cv_kdf_params kp;
	cv_wbuf w = { 0 };
	cv_err err;

	cv_err_clear();
	*blob = NULL;
	*len = 0;
	memset(master, 0, sizeof(master));
	memset(pwkey, 0, sizeof(pwkey));
	if (v == NULL || name == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "no vault or no certificate name");
		goto done;
	}
	if ((err = cv_check_cert_name(name)) != CV_OK)
		goto done;
	if (password != NULL) {
		pwlen = strlen(password);
		if (pwlen < CV_CB_PASSWORD_MIN || pwlen > CV_CB_PASSWORD_MAX) {
			err = cv_err_set(CV_ERR_INVALID, "a backup password has %d to %d "
					 "characters", CV_CB_PASSWORD_MIN,
					 CV_CB_PASSWORD_MAX);
			goto done;
		}
	}
	/* The keys are unsealed and sealed again: that needs the login. */
	if (cv_vault_logged_in(v) != CV_USER_NORMAL) {
		err = cv_err_set(CV_ERR_NOT_LOGGED_IN, "%s", cv_strerror(CV_ERR_NOT_LOGGED_IN));
		goto done;
	}
	if ((err = cv_vault_master(v, master)) != CV_OK)
		goto done;
	if ((blob_key = OPENSSL_secure_malloc(CV_CB_KEY_LEN)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if (RAND_priv_bytes(blob_key, CV_CB_KEY_LEN) != 1) {
		err = cv_err_crypto("make the backup's key");
		goto done;
	}
	if ((err = payload_make(v, name, blob_key, &w)) != CV_OK)
		goto done;

	memcpy(head, CV_CB_MAGIC, CV_CB_MAGIC_LEN);
	head[CV_CB_MAGIC_LEN] = CV_CB_FORMAT;
	head[CV_CB_MAGIC_LEN + 1] = password != NULL ? CV_CB_FLAG_PASSWORD : 0;
	if ((err = hmac_id(master, vault_id_label, head + CV_CB_MAGIC_LEN + 2)) != CV_OK ||
	    (err = cv_seal(master, head, CV_CB_HEAD_ID, blob_key, CV_CB_KEY_LEN, &wrap,
			   &wrap_len)) != CV_OK)
		goto done;
	memcpy(head + CV_CB_HEAD_ID, wrap, CV_CB_WRAP_LEN);
	OPENSSL_free(wrap);
	wrap = NULL;
	if (password != NULL) {
		unsigned char *p = head + CV_CB_HEAD_VAULT;

		cv_kdf_default(&kp);
		if (RAND_bytes(p, CV_SALT_LEN) != 1) {
			err = cv_err_crypto("make the backup password's salt");
			goto done;
		}
		be_put(kp.n, p + CV_SALT_LEN, 8);
		be_put(kp.r, p + CV_SALT_LEN + 8, 4);
		be_put(kp.p, p + CV_SALT_LEN + 12, 4);
		if ((err = cv_kdf_derive(password, pwlen, p, &kp, pwkey)) != CV_OK ||
		    (err = hmac_id(pwkey, password_check_label,
				   head + CV_CB_HEAD_CHECK - CV_CB_ID_LEN)) != CV_OK ||
		    (err = cv_seal(pwkey, head, CV_CB_HEAD_CHECK, blob_key, CV_CB_KEY_LEN,
				   &wrap, &wrap_len)) != CV_OK)
			goto done;
		memcpy(head + CV_CB_HEAD_CHECK, wrap, CV_CB_WRAP_LEN);
		head_len = CV_CB_HEAD_PASSWORD;
	}
	if ((err = cv_seal(blob_key, head, head_len, w.p, w.len, &body, &body_len)) != CV_OK)
		goto done;
	if ((out = OPENSSL_malloc(head_len + body_len)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	memcpy(out, head, head_len);
	memcpy(out + head_len, body, body_len);
	*blob = out;
	*len = head_len + body_len;
	out = NULL;
	err = CV_OK;
done:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(pwkey, sizeof(pwkey));
	OPENSSL_secure_clear_free(blob_key, CV_CB_KEY_LEN);
	OPENSSL_free(wrap);
	OPENSSL_free(body);
	OPENSSL_free(out);
	cv_wbuf_free(&w);
	return err;
}

/* --- Restore -------------------------------------------------------------- */

/* The blob key, from the vault's master key or from the password. */
static cv_err
blob_key_open(cv_vault *v, const unsigned char *blob, const cv_cb_header *h,
	      const char *password, unsigned char *blob_key)
{
	unsigned char master[CV_MASTER_KEY_LEN], pwkey[CV_MASTER_KEY_LEN];
	unsigned char id[CV_CB_ID_LEN];
	unsigned char *key = NULL;
	size_t keylen = 0;
	int same_vault;
	cv_err err;

	memset(pwkey, 0, sizeof(pwkey));
	if ((err = cv_vault_master(v, master)) != CV_OK)
		goto done;
	if ((err = hmac_id(master, vault_id_label, id)) != CV_OK)
		goto done;
	same_vault = CRYPTO_memcmp(id, h->vault_id, CV_CB_ID_LEN) == 0;
	if (password != NULL && h->salt != NULL) {
		size_t pwlen = strlen(password);

		if (pwlen > CV_CB_PASSWORD_MAX) {
			err = cv_err_set(CV_ERR_BAD_PASSWORD, "the backup password is wrong");
			goto done;
		}
		if ((err = cv_kdf_check(&h->kdf)) != CV_OK) {
			err = damaged("its password's scrypt parameters are not ones "
				      "certvault uses");
			goto done;
		}
		if ((err = cv_kdf_derive(password, pwlen, h->salt, &h->kdf, pwkey)) != CV_OK ||
		    (err = hmac_id(pwkey, password_check_label, id)) != CV_OK)
			goto done;
		if (CRYPTO_memcmp(id, h->password_check, CV_CB_ID_LEN) != 0) {
			err = cv_err_set(CV_ERR_BAD_PASSWORD, "the backup password is wrong");
			goto done;
		}
		err = cv_unseal(pwkey, blob, CV_CB_HEAD_CHECK, h->password_wrap,
				CV_CB_WRAP_LEN, &key, &keylen);
	} else if (same_vault) {
		err = cv_unseal(master, blob, CV_CB_HEAD_ID, h->vault_wrap, CV_CB_WRAP_LEN,
				&key, &keylen);
	} else if (password != NULL) {
		err = cv_err_set(CV_ERR_INVALID, "the certificate backup has no backup "
				 "password and was made in another vault (or before this "
				 "vault was re-initialized)");
		goto done;
	} else {
		err = cv_err_set(CV_ERR_INVALID, "the certificate backup was made in another "
				 "vault (or before this vault was re-initialized): restore "
				 "it with its backup password");
		goto done;
	}
	if (err == CV_OK && keylen != CV_CB_KEY_LEN)
		err = CV_ERR_CORRUPT;
	if (err != CV_OK) {
		if (err == CV_ERR_CORRUPT)
			err = damaged("its key does not open");
		goto done;
	}
	memcpy(blob_key, key, CV_CB_KEY_LEN);
done:
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(pwkey, sizeof(pwkey));
	OPENSSL_clear_free(key, keylen);
	return err;
}

/* The name must be free: no certificate and no operation hold it.  A
 * certificate deleted but not purged also holds its name (Key Vault's
 * deleted state); that check belongs here, with its own text. */
static cv_err
restore_name_free(cv_vault *v, MDB_txn *txn, const char *name)
{
	static const enum cv_db holders[] = { CV_DB_CERTS, CV_DB_PENDING };
	char lname[CV_NAME_MAX + 1];
	MDB_val val;
	size_t i;
	cv_err err;

	/* A deleted certificate keeps its name until it is recovered or purged. */
	if ((err = cv_deleted_name_check(v, txn, name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	for (i = 0; i < sizeof(holders) / sizeof(holders[0]); i++) {
		err = cv_db_get(v, txn, holders[i], lname, strlen(lname), &val);
		if (err == CV_OK)
			return cv_err_set(CV_ERR_EXISTS, "Conflict while restoring certificate "
					  "%s - certificate already exists or concurrent "
					  "access", name);
		if (err != CV_ERR_NOT_FOUND)
			return err;
	}
	cv_err_clear();
	return CV_OK;
}

static cv_err
blob_unseal(const unsigned char *blob_key, const char *label, const char *name,
	    const char *version, const unsigned char *ct, size_t ctlen,
	    unsigned char **out, size_t *outlen)
{
	unsigned char aad[ITEM_AAD_MAX];
	size_t aadlen;
	cv_err err;

	item_aad(label, name, version, aad, &aadlen);
	err = cv_unseal(blob_key, aad, aadlen, ct, ctlen, out, outlen);
	if (err == CV_ERR_CORRUPT)
		err = damaged("a sealed key or secret does not open");
	return err;
}

/* A key of the backup, sealed again under this vault's master key, with a
 * new key number and its key id entry (cv_key_rec_store's own code); what
 * it may do (exportable, key usage, imported) is the backup's. */
static cv_err
restore_key(cv_vault *v, MDB_txn *txn, const char *name, const cv_cb_item *it,
	    const unsigned char *blob_key)
{
	cv_field f[CV_T__MAX];
	cv_policy pol;
	uint64_t kty = 0, exportable = 0, imported = 0, usage = 0;
	unsigned char *der = NULL;
	unsigned char id[CV_KEY_ID_LEN];
	size_t derlen = 0;
	EVP_PKEY *priv = NULL;
	cv_err err;

	memset(&pol, 0, sizeof(pol));
	if ((err = cv_rec_parse(it->rec, it->rec_len, CV_REC_KEY, NULL, f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KTY], 0, &kty)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_EXPORTABLE], 0, &exportable)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_IMPORTED], 0, &imported)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KEY_USAGE], 0, &usage)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_CURVE], pol.curve, sizeof(pol.curve))) != CV_OK)
		goto done;
	if ((err = blob_unseal(blob_key, key_label, name, it->version, f[CV_T_SEALED].p,
			       f[CV_T_SEALED].len, &der, &derlen)) != CV_OK)
		goto done;
	if ((err = cv_pkcs8_decode(der, derlen, &priv)) != CV_OK ||
	    (err = cv_key_id(priv, id)) != CV_OK ||
	    (int)kty != (EVP_PKEY_get_base_id(priv) == EVP_PKEY_RSA ? CV_KEY_RSA : CV_KEY_EC) ||
	    memcmp(id, f[CV_T_KEY_ID].p, CV_KEY_ID_LEN) != 0) {
		err = damaged("a key is not its record's");
		goto done;
	}
	/* One key, one certificate: the token never shows two private keys
	 * with one CKA_ID. */
	if ((err = cv_key_id_owner_check(v, txn, name, id)) != CV_OK ||
	    (err = cv_deleted_key_id_check(v, txn, name, id)) != CV_OK)
		goto done;
	pol.kty = (enum cv_key_type)kty;
	pol.exportable = exportable != 0;
	pol.key_usage = (unsigned)(usage & 0x1ff);
	err = cv_key_rec_store(v, txn, name, it->version, priv, &pol, imported != 0);
done:
	EVP_PKEY_free(priv);
	OPENSSL_clear_free(der, derlen);
	return err;
}

static cv_err
restore_secret(cv_vault *v, MDB_txn *txn, const char *name, const cv_cb_item *it,
	       const unsigned char *blob_key)
{
	unsigned char *pt = NULL, *sealed = NULL;
	size_t ptlen = 0, sealed_len = 0;
	cv_vkey k;
	cv_wbuf w = { 0 };
	cv_err err;

	cv_vkey_make(&k, name, it->version);
	if ((err = blob_unseal(blob_key, secret_label, name, it->version, it->sealed,
			       it->sealed_len, &pt, &ptlen)) != CV_OK ||
	    (err = cv_vault_seal(v, CV_DB_SECRETS, k.b, k.len, pt, ptlen, &sealed,
				 &sealed_len)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_SECRET);
	cv_rec_put_u64(&w, CV_T_CONTENT_TYPE, it->content_type);
	cv_rec_put(&w, CV_T_SEALED, sealed, sealed_len);
	cv_rec_put_u64(&w, CV_T_CREATED, it->created);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_SECRETS, k.b, k.len, w.p, w.len, 0);
done:
	cv_wbuf_free(&w);
	OPENSSL_clear_free(pt, ptlen);
	OPENSSL_free(sealed);
	return err;
}

/* A trigger as kept, and its due entry while it has not fired. */
static cv_err
restore_trigger(cv_vault *v, MDB_txn *txn, const char *name, const cv_cb_item *it)
{
	life_tkey tk;
	life_dkey dk;
	life_trigger t;
	cv_err err;

	life_tkey_make(&tk, name, it->version, (enum cv_life_kind)it->kind);
	if ((err = cv_db_put(v, txn, CV_DB_TRIGGERS, tk.b, tk.len, it->rec, it->rec_len,
			     0)) != CV_OK ||
	    (err = life_trigger_read(v, txn, &tk, &t)) != CV_OK)
		return err;
	if (t.fired != 0)
		return CV_OK;
	life_dkey_make(&dk, t.due, &tk);
	return cv_db_put(v, txn, CV_DB_DUE, dk.b, dk.len, name, strlen(name), 0);
}

/* The operation as kept, through cv_op_write so ops_active follows it.  A
 * claim is the source vault's pass's: it does not come along. */
static cv_err
restore_operation(cv_vault *v, MDB_txn *txn, const cv_cb_payload *pl)
{
	char lname[CV_NAME_MAX + 1];
	cv_operation *op = NULL;
	cv_err err;

	cv_name_key(pl->name, lname);
	if ((err = cv_db_put(v, txn, CV_DB_PENDING, lname, strlen(lname), pl->pending,
			     pl->pending_len, 0)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, txn, pl->name, &op)) != CV_OK) {
		if (err != CV_ERR_NOMEM)
			err = damaged("the operation record does not decode");
		return err;
	}
	op->claim[0] = '\0';
	op->claim_until = 0;
	op->claim_lease = 0;
	err = cv_op_write(v, txn, op);
	cv_operation_free(op);
	return err;
}

static cv_err
restore_payload(cv_vault *v, const cv_cb_payload *pl, const unsigned char *blob_key)
{
	char lname[CV_NAME_MAX + 1];
	MDB_txn *txn = NULL;
	cv_vkey k;
	size_t i;
	cv_err err;

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = restore_name_free(v, txn, pl->name)) != CV_OK)
		goto done;
	cv_name_key(pl->name, lname);
	if ((err = cv_db_put(v, txn, CV_DB_CERTS, lname, strlen(lname), pl->cert,
			     pl->cert_len, 0)) != CV_OK)
		goto done;
	for (i = 0; i < pl->n_keys; i++)
		if ((err = restore_key(v, txn, pl->name, &pl->keys[i], blob_key)) != CV_OK)
			goto done;
	for (i = 0; i < pl->n_versions; i++) {
		cv_vkey_make(&k, pl->name, pl->versions[i].version);
		if ((err = cv_db_put(v, txn, CV_DB_VERSIONS, k.b, k.len, pl->versions[i].rec,
				     pl->versions[i].rec_len, 0)) != CV_OK)
			goto done;
	}
	for (i = 0; i < pl->n_secrets; i++)
		if ((err = restore_secret(v, txn, pl->name, &pl->secrets[i], blob_key)) != CV_OK)
			goto done;
	for (i = 0; v->has_life && i < pl->n_triggers; i++)
		if ((err = restore_trigger(v, txn, pl->name, &pl->triggers[i])) != CV_OK)
			goto done;
	if (pl->pending != NULL && (err = restore_operation(v, txn, pl)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}

cv_err
cv_cert_restore(cv_vault *v, const unsigned char *blob, size_t len,
		const char *password, cv_cert_version **out)
{
	cv_cb_header h;
	cv_cb_payload pl;
	unsigned char *blob_key = NULL, *payload = NULL;
	size_t payload_len = 0;
	cv_err err;

	cv_err_clear();
	memset(&pl, 0, sizeof(pl));
	if (out != NULL)
		*out = NULL;
	if (v == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "no vault");
		goto done;
	}
	if (cv_vault_logged_in(v) != CV_USER_NORMAL) {
		err = cv_err_set(CV_ERR_NOT_LOGGED_IN, "%s", cv_strerror(CV_ERR_NOT_LOGGED_IN));
		goto done;
	}
	if ((err = cv_cb_header_parse(blob, len, &h)) != CV_OK)
		goto done;
	if ((blob_key = OPENSSL_secure_malloc(CV_CB_KEY_LEN)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if ((err = blob_key_open(v, blob, &h, password, blob_key)) != CV_OK)
		goto done;
	err = cv_unseal(blob_key, blob, h.head_len, h.body, h.body_len, &payload,
			&payload_len);
	if (err != CV_OK) {
		if (err == CV_ERR_CORRUPT)
			err = damaged("it does not authenticate (changed or cut short)");
		goto done;
	}
	if ((err = cv_cb_payload_parse(payload, payload_len, &pl)) != CV_OK ||
	    (err = restore_payload(v, &pl, blob_key)) != CV_OK)
		goto done;
	if (out != NULL)
		err = cv_cert_get(v, pl.name, NULL, out);
done:
	cv_cb_payload_clear(&pl);
	OPENSSL_clear_free(payload, payload_len);
	OPENSSL_secure_clear_free(blob_key, CV_CB_KEY_LEN);
	return err;
}
