/* certvault: deleted certificates (Key Vault's soft delete), recover, purge.
 *
 * A delete takes out of the live tables every entry through which a reader
 * finds the certificate: its record (certs), its operation (pending), and
 * the index entries of its operation (ops_active), its keys (key_ids,
 * key_nums) and its triggers (due).  They go, byte for byte, into one
 * record of the deleted table, so a recover puts back exactly what was
 * there, and a reader that knows nothing of deletion cannot reach a
 * deleted certificate.  Its versions, keys, secrets and triggers stay
 * where they are (sealed records are bound to their table and key), found
 * only through the deleted record, until a purge removes them.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"
#include "life/internal.h"

#define DAY 86400

static const unsigned moved_repeats[] = {
	CV_T_MOVED_DB, CV_T_MOVED_KEY, CV_T_MOVED_VALUE, 0
};

/* The tables a delete moves entries out of. */
static int
movable(uint64_t db)
{
	return db == CV_DB_CERTS || db == CV_DB_PENDING || db == CV_DB_OPS_ACTIVE ||
	       db == CV_DB_KEY_IDS || db == CV_DB_KEY_NUMS || db == CV_DB_DUE;
}

static cv_err
not_deleted(const char *name)
{
	return cv_err_set(CV_ERR_NOT_FOUND, "Deleted Certificate not found: %s", name);
}

static void
moved_put(cv_wbuf *w, enum cv_db db, const void *key, size_t klen,
	  const void *val, size_t vlen)
{
	cv_rec_put_u64(w, CV_T_MOVED_DB, (uint64_t)db);
	cv_rec_put(w, CV_T_MOVED_KEY, key, klen);
	cv_rec_put(w, CV_T_MOVED_VALUE, val, vlen);
}

typedef cv_deleted_entry_fn moved_fn;

/* Call fn for every moved entry of a deleted record, in order; a record
 * whose triples are out of order or name another table is damage. */
static cv_err
moved_walk(cv_vault *v, MDB_txn *txn, const unsigned char *rec, size_t len,
	   moved_fn fn, void *arg)
{
	size_t off = 0, vlen;
	const unsigned char *p;
	unsigned tag, want = CV_T_MOVED_DB;
	uint64_t db = 0;
	MDB_val key = { 0 }, val;
	cv_err err;
	int i;

	while (cv_rec_next(rec, len, &off, &tag, &p, &vlen)) {
		if (tag != CV_T_MOVED_DB && tag != CV_T_MOVED_KEY && tag != CV_T_MOVED_VALUE)
			continue;
		if (tag != want)
			return cv_err_set(CV_ERR_CORRUPT,
					  "a deleted certificate's moved entries are out of order");
		switch (tag) {
		case CV_T_MOVED_DB:
			if (vlen != 8)
				return cv_err_set(CV_ERR_CORRUPT,
						  "a deleted certificate names a table of %zu bytes",
						  vlen);
			for (db = 0, i = 0; i < 8; i++)
				db = db << 8 | p[i];
			if (!movable(db))
				return cv_err_set(CV_ERR_CORRUPT,
						  "a deleted certificate names table %llu",
						  (unsigned long long)db);
			want = CV_T_MOVED_KEY;
			break;
		case CV_T_MOVED_KEY:
			if (vlen == 0 || vlen > 511)
				return cv_err_set(CV_ERR_CORRUPT,
						  "a deleted certificate holds a key of %zu bytes",
						  vlen);
			key.mv_data = (void *)p;
			key.mv_size = vlen;
			want = CV_T_MOVED_VALUE;
			break;
		default:
			val.mv_data = (void *)p;
			val.mv_size = vlen;
			if ((err = fn(v, txn, (enum cv_db)db, &key, &val, arg)) != CV_OK)
				return err;
			want = CV_T_MOVED_DB;
			break;
		}
	}
	if (want != CV_T_MOVED_DB)
		return cv_err_set(CV_ERR_CORRUPT,
				  "a deleted certificate's moved entries are cut short");
	return CV_OK;
}

/* --- Reading the deleted table ------------------------------------------ */

typedef struct deleted_rec {
	char name[CV_NAME_MAX + 1];
	int64_t deleted, purge;
	unsigned char *rec;  /* the whole record, copied out of the map */
	size_t len;
} deleted_rec;

static void
deleted_rec_clear(deleted_rec *d)
{
	free(d->rec);
	memset(d, 0, sizeof(*d));
}

static cv_err
deleted_rec_decode(const void *p, size_t len, deleted_rec *out)
{
	cv_field f[CV_T__MAX];
	uint64_t deleted, purge;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_rec_parse(p, len, CV_REC_DELETED, moved_repeats, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_NAME], "name")) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], out->name, sizeof(out->name))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_DELETED_DATE], 0, &deleted)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_PURGE_DATE], 0, &purge)) != CV_OK)
		return err;
	if (!cv_name_valid(out->name))
		return cv_err_set(CV_ERR_CORRUPT, "a deleted certificate's name is not valid");
	if ((out->rec = malloc(len)) == NULL)
		return CV_ERR_NOMEM;
	memcpy(out->rec, p, len);
	out->len = len;
	out->deleted = (int64_t)deleted;
	out->purge = (int64_t)purge;
	return CV_OK;
}

/* Errors: CV_ERR_NOT_FOUND (no detail), CV_ERR_CORRUPT, CV_ERR_IO. */
static cv_err
deleted_rec_read(cv_vault *v, MDB_txn *txn, const char *lname, deleted_rec *out)
{
	MDB_val val;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if (!v->has_deleted)
		return CV_ERR_NOT_FOUND;
	if ((err = cv_db_get(v, txn, CV_DB_DELETED, lname, strlen(lname), &val)) != CV_OK)
		return err;
	return deleted_rec_decode(val.mv_data, val.mv_size, out);
}

cv_err
cv_deleted_walk(cv_vault *v, MDB_txn *txn, const void *rec, size_t len,
		char name[CV_NAME_MAX + 1], cv_deleted_entry_fn fn, void *arg)
{
	deleted_rec d;
	cv_err err;

	name[0] = '\0';
	if ((err = deleted_rec_decode(rec, len, &d)) == CV_OK) {
		memcpy(name, d.name, CV_NAME_MAX + 1);
		err = moved_walk(v, txn, d.rec, d.len, fn, arg);
	}
	deleted_rec_clear(&d);
	return err;
}

int
cv_deleted_exists(cv_vault *v, MDB_txn *txn, const char *lname)
{
	MDB_val val;

	return v->has_deleted &&
	       cv_db_get(v, txn, CV_DB_DELETED, lname, strlen(lname), &val) == CV_OK;
}

cv_err
cv_deleted_name_check(cv_vault *v, MDB_txn *txn, const char *name)
{
	char lname[CV_NAME_MAX + 1];

	cv_name_key(name, lname);
	if (!cv_deleted_exists(v, txn, lname))
		return CV_OK;
	return cv_err_set(CV_ERR_DELETED,
			  "Certificate %s is currently in a deleted but recoverable state, "
			  "and its name cannot be reused; in this state, the certificate can "
			  "only be recovered or purged.", name);
}

struct key_id_probe {
	const unsigned char *id;
	int found;
};

static cv_err
probe_key_id(cv_vault *v, MDB_txn *txn, enum cv_db db, const MDB_val *key,
	     const MDB_val *val, void *arg)
{
	struct key_id_probe *pr = arg;

	(void)v;
	(void)txn;
	(void)val;
	if (db == CV_DB_KEY_IDS && key->mv_size == 20 && memcmp(key->mv_data, pr->id, 20) == 0)
		pr->found = 1;
	return CV_OK;
}

cv_err
cv_deleted_key_id_check(cv_vault *v, MDB_txn *txn, const char *name,
			const unsigned char id[20])
{
	char lname[CV_NAME_MAX + 1];
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	deleted_rec rec = { 0 };
	struct key_id_probe pr = { .id = id };
	cv_err err = CV_OK;
	int rc;

	if (!v->has_deleted)
		return CV_OK;
	cv_name_key(name, lname);
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_DELETED], &cur)) != 0)
		return cv_mdb_err(rc, "read the deleted certificates");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size == strlen(lname) && memcmp(k.mv_data, lname, k.mv_size) == 0)
			continue;
		if ((err = deleted_rec_decode(d.mv_data, d.mv_size, &rec)) != CV_OK ||
		    (err = moved_walk(v, txn, rec.rec, rec.len, probe_key_id, &pr)) != CV_OK)
			goto done;
		if (pr.found) {
			err = cv_err_set(CV_ERR_EXISTS,
					 "the private key belongs to the deleted certificate '%s' "
					 "in this vault; recover it, or purge it first", rec.name);
			goto done;
		}
		deleted_rec_clear(&rec);
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "read the deleted certificates");
done:
	deleted_rec_clear(&rec);
	mdb_cursor_close(cur);
	return err;
}

void
cv_deleted_cert_free(cv_deleted_cert *d)
{
	if (d == NULL)
		return;
	cv_cert_version_free(d->cert);
	free(d);
}

void
cv_deleted_cert_list_free(cv_deleted_cert **list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		cv_deleted_cert_free(list[i]);
	free(list);
}

struct cert_find {
	cv_cert_rec cert;
	int found;
	cv_err err;
};

static cv_err
find_cert(cv_vault *v, MDB_txn *txn, enum cv_db db, const MDB_val *key,
	  const MDB_val *val, void *arg)
{
	struct cert_find *cf = arg;

	(void)v;
	(void)txn;
	(void)key;
	if (db != CV_DB_CERTS)
		return CV_OK;
	if (cf->found)
		return cv_err_set(CV_ERR_CORRUPT, "a deleted certificate holds two records");
	cf->found = 1;
	return cv_cert_rec_decode(val->mv_data, val->mv_size, &cf->cert);
}

/* What the deleted record d shows: dates and the current version as it
 * was, read in txn (its versions and keys are where they were). */
static cv_err
deleted_view(cv_vault *v, MDB_txn *txn, const deleted_rec *d, cv_deleted_cert **out)
{
	cv_deleted_cert *dc = NULL;
	struct cert_find cf = { 0 };
	cv_err err;

	*out = NULL;
	if ((err = moved_walk(v, txn, d->rec, d->len, find_cert, &cf)) != CV_OK)
		goto done;
	if (!cf.found) {
		err = cv_err_set(CV_ERR_CORRUPT, "the deleted certificate %s has no record",
				 d->name);
		goto done;
	}
	if ((dc = calloc(1, sizeof(*dc))) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	snprintf(dc->name, sizeof(dc->name), "%s", cf.cert.name);
	snprintf(dc->recovery_id, sizeof(dc->recovery_id), "deletedcertificates/%s",
		 cf.cert.name);
	dc->deleted = d->deleted;
	dc->scheduled_purge = d->purge;
	if ((err = cv_cert_version_read(v, txn, &cf.cert, cf.cert.current,
					&dc->cert)) != CV_OK)
		goto done;
	*out = dc;
	dc = NULL;
done:
	cv_deleted_cert_free(dc);
	cv_cert_rec_clear(&cf.cert);
	return err;
}

/* --- Delete ------------------------------------------------------------- */

/* 1 when k is a record of the certificate whose key prefix is "lname\0". */
static int
has_prefix(const MDB_val *k, const unsigned char *prefix, size_t plen)
{
	return k->mv_size > plen && memcmp(k->mv_data, prefix, plen) == 0;
}

/* Move out the key index entries of every key of lname. */
static cv_err
collect_keys(cv_vault *v, MDB_txn *txn, const char *lname, cv_wbuf *w)
{
	unsigned char prefix[CV_NAME_MAX + 1];
	size_t plen = strlen(lname) + 1;
	MDB_cursor *cur = NULL, *ids = NULL;
	MDB_val k, d, id, vk;
	char version[CV_VERSION_LEN + 1];
	unsigned char nk[8];
	cv_key_rec kr = { 0 };
	cv_err err = CV_OK;
	int rc;

	memcpy(prefix, lname, plen);
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEYS], &cur)) != 0 ||
	    (rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &ids)) != 0) {
		err = cv_mdb_err(rc, "read the keys");
		goto done;
	}
	k.mv_data = prefix;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, prefix, plen);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		size_t vlen = k.mv_size - plen;

		if (vlen != CV_VERSION_LEN) {
			err = cv_err_set(CV_ERR_CORRUPT, "a key of '%s' has a bad version", lname);
			goto done;
		}
		memcpy(version, (const char *)k.mv_data + plen, vlen);
		version[vlen] = '\0';
		if ((err = cv_key_rec_read_part(v, txn, lname, version, 0, &kr)) != CV_OK)
			goto done;
		/* the index values are this key's own key, "lname\0version" */
		vk = k;
		id.mv_data = kr.key_id;
		id.mv_size = sizeof(kr.key_id);
		if (mdb_cursor_get(ids, &id, &vk, MDB_GET_BOTH) == 0)
			moved_put(w, CV_DB_KEY_IDS, kr.key_id, sizeof(kr.key_id),
				  k.mv_data, k.mv_size);
		num_be(kr.num, nk);
		err = cv_db_get(v, txn, CV_DB_KEY_NUMS, nk, sizeof(nk), &vk);
		if (err == CV_OK && vk.mv_size == k.mv_size &&
		    memcmp(vk.mv_data, k.mv_data, k.mv_size) == 0)
			moved_put(w, CV_DB_KEY_NUMS, nk, sizeof(nk), k.mv_data, k.mv_size);
		else if (err != CV_OK && err != CV_ERR_NOT_FOUND)
			goto done;
		err = CV_OK;
		cv_err_clear();
		cv_key_rec_clear(&kr);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "read the keys");
done:
	cv_key_rec_clear(&kr);
	mdb_cursor_close(ids);
	mdb_cursor_close(cur);
	return err;
}

/* Move out the due entries of lname's triggers, so none fires. */
static cv_err
collect_due(cv_vault *v, MDB_txn *txn, const char *lname, cv_wbuf *w)
{
	unsigned char prefix[CV_NAME_MAX + 1];
	size_t plen = strlen(lname) + 1;
	MDB_cursor *cur = NULL;
	MDB_val k, d, dv;
	life_tkey tk;
	life_dkey dk;
	life_trigger t;
	cv_err err = CV_OK;
	int rc;

	if (!v->has_life)
		return CV_OK;
	memcpy(prefix, lname, plen);
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_TRIGGERS], &cur)) != 0)
		return cv_mdb_err(rc, "read the triggers");
	k.mv_data = prefix;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0 && has_prefix(&k, prefix, plen);
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size > sizeof(tk.b)) {
			err = cv_err_set(CV_ERR_CORRUPT, "a trigger of '%s' has a bad key", lname);
			goto done;
		}
		memcpy(tk.b, k.mv_data, k.mv_size);
		tk.len = k.mv_size;
		if ((err = life_trigger_read(v, txn, &tk, &t)) != CV_OK)
			goto done;
		life_dkey_make(&dk, t.due, &tk);
		err = cv_db_get(v, txn, CV_DB_DUE, dk.b, dk.len, &dv);
		if (err == CV_OK)
			moved_put(w, CV_DB_DUE, dk.b, dk.len, dv.mv_data, dv.mv_size);
		else if (err != CV_ERR_NOT_FOUND)
			goto done;
		err = CV_OK;
		cv_err_clear();
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "read the triggers");
done:
	mdb_cursor_close(cur);
	return err;
}

static cv_err
remove_moved(cv_vault *v, MDB_txn *txn, enum cv_db db, const MDB_val *key,
	     const MDB_val *val, void *arg)
{
	int rc;

	(void)arg;
	rc = mdb_del(txn, v->dbi[db], (MDB_val *)key,
		     db == CV_DB_KEY_IDS ? (MDB_val *)val : NULL);
	return cv_mdb_err(rc, "move a deleted certificate's entry");
}

cv_err
cv_cert_delete(cv_vault *v, const char *name, cv_deleted_cert **out)
{
	char lname[CV_NAME_MAX + 1];
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_wbuf w = { 0 };
	cv_cert_rec cert = { 0 };
	cv_vault_recovery rs;
	deleted_rec d = { 0 };
	cv_deleted_cert *view = NULL;
	int64_t now = cv_now();
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if (!v->has_deleted) {
		err = cv_err_set(CV_ERR_READ_ONLY, "the vault has no deleted table yet");
		goto done;
	}
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK ||
	    (err = cv_vault_recovery_read(v, txn, &rs)) != CV_OK ||
	    (err = cv_db_get(v, txn, CV_DB_CERTS, lname, strlen(lname), &val)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_DELETED);
	cv_rec_put_str(&w, CV_T_NAME, cert.name);
	cv_rec_put_u64(&w, CV_T_DELETED_DATE, (uint64_t)now);
	cv_rec_put_u64(&w, CV_T_PURGE_DATE, (uint64_t)(now + (int64_t)rs.retention_days * DAY));
	moved_put(&w, CV_DB_CERTS, lname, strlen(lname), val.mv_data, val.mv_size);
	err = cv_db_get(v, txn, CV_DB_PENDING, lname, strlen(lname), &val);
	if (err == CV_OK)
		moved_put(&w, CV_DB_PENDING, lname, strlen(lname), val.mv_data, val.mv_size);
	else if (err != CV_ERR_NOT_FOUND)
		goto done;
	if (v->has_op_index) {
		err = cv_db_get(v, txn, CV_DB_OPS_ACTIVE, lname, strlen(lname), &val);
		if (err == CV_OK)
			moved_put(&w, CV_DB_OPS_ACTIVE, lname, strlen(lname), val.mv_data,
				  val.mv_size);
		else if (err != CV_ERR_NOT_FOUND)
			goto done;
	}
	cv_err_clear();
	if ((err = collect_keys(v, txn, lname, &w)) != CV_OK ||
	    (err = collect_due(v, txn, lname, &w)) != CV_OK ||
	    (err = cv_rec_finish(&w)) != CV_OK ||
	    (err = deleted_rec_decode(w.p, w.len, &d)) != CV_OK ||
	    (err = moved_walk(v, txn, d.rec, d.len, remove_moved, NULL)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_DELETED, lname, strlen(lname), w.p, w.len,
			     MDB_NOOVERWRITE)) != CV_OK)
		goto done;
	if (out != NULL && (err = deleted_view(v, txn, &d, &view)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL) {
		*out = view;
		view = NULL;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_deleted_cert_free(view);
	deleted_rec_clear(&d);
	cv_cert_rec_clear(&cert);
	cv_wbuf_free(&w);
	return err;
}

/* --- Recover ------------------------------------------------------------ */

struct restore_arg {
	const char *name;
};

static cv_err
restore_moved(cv_vault *v, MDB_txn *txn, enum cv_db db, const MDB_val *key,
	      const MDB_val *val, void *arg)
{
	struct restore_arg *ra = arg;
	cv_err err;
	int rc;

	if (db == CV_DB_KEY_IDS) {
		if (key->mv_size != 20)
			return cv_err_set(CV_ERR_CORRUPT, "a deleted key id of %zu bytes",
					  key->mv_size);
		if ((err = cv_key_id_owner_check(v, txn, ra->name, key->mv_data)) != CV_OK)
			return err;
	}
	rc = mdb_put(txn, v->dbi[db], (MDB_val *)key, (MDB_val *)val,
		     db == CV_DB_KEY_IDS ? MDB_NODUPDATA : MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST)
		return cv_err_set(CV_ERR_EXISTS,
				  "an entry of the deleted certificate %s is taken in the "
				  "live tables", ra->name);
	return cv_mdb_err(rc, "put back a deleted certificate's entry");
}

cv_err
cv_cert_recover(cv_vault *v, const char *name, cv_cert_version **out)
{
	char lname[CV_NAME_MAX + 1];
	MDB_txn *txn = NULL;
	deleted_rec d = { 0 };
	cv_cert_rec cert = { 0 };
	cv_cert_version *cv = NULL;
	struct restore_arg ra = { .name = name };
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = deleted_rec_read(v, txn, lname, &d);
	if (err == CV_ERR_NOT_FOUND)
		err = not_deleted(name);
	if (err != CV_OK)
		goto done;
	if ((err = moved_walk(v, txn, d.rec, d.len, restore_moved, &ra)) != CV_OK ||
	    (err = cv_db_del(v, txn, CV_DB_DELETED, lname, strlen(lname))) != CV_OK ||
	    (err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	if (out != NULL &&
	    (err = cv_cert_version_read(v, txn, &cert, cert.current, &cv)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL) {
		*out = cv;
		cv = NULL;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_cert_version_free(cv);
	cv_cert_rec_clear(&cert);
	deleted_rec_clear(&d);
	return err;
}

/* --- Purge -------------------------------------------------------------- */

/* Remove every entry of db whose key starts with "lname\0". */
static cv_err
drop_prefix(cv_vault *v, MDB_txn *txn, enum cv_db db, const char *lname)
{
	unsigned char prefix[CV_NAME_MAX + 1];
	size_t plen = strlen(lname) + 1;
	MDB_cursor *cur = NULL;
	MDB_val k, d;
	cv_err err = CV_OK;
	int rc;

	memcpy(prefix, lname, plen);
	if ((rc = mdb_cursor_open(txn, v->dbi[db], &cur)) != 0)
		return cv_mdb_err(rc, "purge");
	for (;;) {
		k.mv_data = prefix;
		k.mv_size = plen;
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(&k, prefix, plen)))
			break;
		if (rc != 0 || (rc = mdb_cursor_del(cur, 0)) != 0) {
			err = cv_mdb_err(rc, "purge");
			break;
		}
	}
	mdb_cursor_close(cur);
	return err;
}

/* Purge name as at now; only_due: only when its date is past (a pass),
 * and then CV_ERR_NOT_FOUND quietly when it is not. */
static cv_err
purge_one(cv_vault *v, const char *name, int only_due, int64_t now)
{
	char lname[CV_NAME_MAX + 1];
	MDB_txn *txn = NULL;
	deleted_rec d = { 0 };
	cv_vault_recovery rs;
	cv_err err;

	cv_name_key(name, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = deleted_rec_read(v, txn, lname, &d);
	if (err == CV_ERR_NOT_FOUND)
		err = not_deleted(name);
	if (err != CV_OK || (err = cv_vault_recovery_read(v, txn, &rs)) != CV_OK)
		goto done;
	if (now < d.purge && (only_due || rs.purge_protection)) {
		err = only_due ? CV_ERR_NOT_FOUND
			       : cv_err_set(CV_ERR_PURGE_PROTECTED, "%s",
					    cv_strerror(CV_ERR_PURGE_PROTECTED));
		goto done;
	}
	if ((err = drop_prefix(v, txn, CV_DB_VERSIONS, lname)) != CV_OK ||
	    (err = drop_prefix(v, txn, CV_DB_KEYS, lname)) != CV_OK ||
	    (err = drop_prefix(v, txn, CV_DB_SECRETS, lname)) != CV_OK ||
	    (v->has_life && (err = drop_prefix(v, txn, CV_DB_TRIGGERS, lname)) != CV_OK) ||
	    (err = cv_db_del(v, txn, CV_DB_DELETED, lname, strlen(lname))) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	deleted_rec_clear(&d);
	return err;
}

cv_err
cv_cert_purge(cv_vault *v, const char *name)
{
	cv_err err;

	cv_err_clear();
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	return purge_one(v, name, 0, cv_now());
}

/* --- Listing ------------------------------------------------------------ */

cv_err
cv_cert_get_deleted(cv_vault *v, const char *name, cv_deleted_cert **out)
{
	char lname[CV_NAME_MAX + 1];
	MDB_txn *txn = NULL;
	deleted_rec d = { 0 };
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = deleted_rec_read(v, txn, lname, &d);
	if (err == CV_ERR_NOT_FOUND)
		err = not_deleted(name);
	if (err == CV_OK)
		err = deleted_view(v, txn, &d, out);
	deleted_rec_clear(&d);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_cert_list_deleted(cv_vault *v, cv_deleted_cert ***out, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, val;
	deleted_rec d = { 0 };
	cv_deleted_cert **list = NULL, **grown, *dc = NULL;
	size_t count = 0, cap = 0;
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if (!v->has_deleted)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_DELETED], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the deleted certificates");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		if ((err = deleted_rec_decode(val.mv_data, val.mv_size, &d)) != CV_OK ||
		    (err = deleted_view(v, txn, &d, &dc)) != CV_OK)
			goto done;
		deleted_rec_clear(&d);
		if (count == cap) {
			cap = cap ? 2 * cap : 8;
			if ((grown = realloc(list, cap * sizeof(*list))) == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			list = grown;
		}
		list[count++] = dc;
		dc = NULL;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the deleted certificates");
		goto done;
	}
	*out = list;
	*n = count;
	list = NULL;
	count = 0;
done:
	cv_deleted_cert_free(dc);
	cv_deleted_cert_list_free(list, count);
	deleted_rec_clear(&d);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_vault_purge_due(cv_vault *v, int64_t now, size_t *purged)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, val;
	deleted_rec d = { 0 };
	char **names = NULL, **grown;
	size_t count = 0, cap = 0, i, done_n = 0;
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	if (purged != NULL)
		*purged = 0;
	if (now == 0)
		now = cv_now();
	if (!v->has_deleted)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_DELETED], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the deleted certificates");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		if ((err = deleted_rec_decode(val.mv_data, val.mv_size, &d)) != CV_OK)
			goto done;
		if (d.purge <= now) {
			if (count == cap) {
				cap = cap ? 2 * cap : 8;
				if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
					err = CV_ERR_NOMEM;
					goto done;
				}
				names = grown;
			}
			if ((names[count] = strdup(d.name)) == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			count++;
		}
		deleted_rec_clear(&d);
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the deleted certificates");
		goto done;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	mdb_txn_abort(txn);
	txn = NULL;
	for (i = 0; i < count; i++) {
		err = purge_one(v, names[i], 1, now);
		if (err == CV_ERR_NOT_FOUND) {
			/* recovered or purged meanwhile */
			cv_err_clear();
			err = CV_OK;
			continue;
		}
		if (err != CV_OK)
			goto done;
		done_n++;
	}
done:
	if (purged != NULL)
		*purged = done_n;
	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
	deleted_rec_clear(&d);
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}
