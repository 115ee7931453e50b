/* certvault: when lifetime actions fall, and the due index that finds them.
 *
 * A pass reads the due index from its start up to now and no further: the
 * index is keyed by the big-endian due time, so a vault where nothing is
 * due costs the pass one cursor positioning whatever its size. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DAY 86400

const char *
cv_life_kind_name(enum cv_life_kind k)
{
	switch (k) {
	case CV_LIFE_AUTO_RENEW:
		return "AutoRenew";
	case CV_LIFE_EMAIL:
		return "EmailContacts";
	case CV_LIFE_NEAR_EXPIRY:
		return "NearExpiry";
	case CV_LIFE_EXPIRED:
		return "Expired";
	}
	return "?";
}

int64_t
cv_life_trigger_time(enum cv_trigger_type trigger, int value, int64_t nbf,
		     int64_t exp)
{
	int64_t t;

	if (exp < nbf)
		exp = nbf;
	if (trigger == CV_TRIGGER_LIFETIME_PERCENTAGE)
		t = nbf + (int64_t)(((__int128)(exp - nbf) * value) / 100);
	else
		t = exp - (int64_t)value * DAY;
	return t < nbf ? nbf : t;
}

uint64_t
life_be64_get(const unsigned char b[8])
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < 8; i++)
		n = (n << 8) | b[i];
	return n;
}

void
life_be64_put(uint64_t n, unsigned char b[8])
{
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
}

void
life_tkey_make(life_tkey *k, const char *name, const char *version,
	       enum cv_life_kind kind)
{
	char lower[CV_NAME_MAX + 1];
	size_t nl, vl;

	cv_name_key(name, lower);
	nl = strlen(lower);
	vl = strnlen(version, CV_VERSION_LEN);
	memcpy(k->b, lower, nl);
	k->b[nl] = '\0';
	memcpy(k->b + nl + 1, version, vl);
	k->b[nl + 1 + vl] = '\0';
	k->b[nl + 2 + vl] = (unsigned char)kind;
	k->len = nl + 3 + vl;
}

void
life_dkey_make(life_dkey *k, int64_t due, const life_tkey *t)
{
	/* Times before 1970 sort first: the index is unsigned. */
	life_be64_put(due < 0 ? 0 : (uint64_t)due, k->b);
	memcpy(k->b + 8, t->b, t->len);
	k->len = 8 + t->len;
}

cv_err
life_dkey_parse(const void *key, size_t len, cv_life_due *out)
{
	const unsigned char *p = key, *name, *ver = NULL, *end;
	size_t nl, vl;
	cv_err err = CV_ERR_CORRUPT;

	memset(out, 0, sizeof(*out));
	if (len < 8 + 1 + 1 + 1 + 1 || len > sizeof(((life_dkey *)0)->b))
		goto done;
	name = p + 8;
	end = p + len;
	if ((ver = memchr(name, '\0', (size_t)(end - name))) == NULL)
		goto done;
	nl = (size_t)(ver - name);
	ver++;
	if (ver >= end || memchr(ver, '\0', (size_t)(end - ver)) == NULL)
		goto done;
	vl = strnlen((const char *)ver, (size_t)(end - ver));
	if (nl == 0 || nl > CV_NAME_MAX || vl != CV_VERSION_LEN || ver + vl + 2 != end ||
	    ver[vl + 1] < CV_LIFE_AUTO_RENEW || ver[vl + 1] > CV_LIFE_EXPIRED)
		goto done;
	out->due = (int64_t)life_be64_get(p);
	memcpy(out->name, name, nl);
	memcpy(out->version, ver, vl);
	out->kind = (enum cv_life_kind)ver[vl + 1];
	err = CV_OK;
done:
	if (err != CV_OK)
		err = cv_err_set(err, "the vault's due index holds a damaged entry");
	return err;
}

cv_err
life_trigger_read(cv_vault *v, MDB_txn *txn, const life_tkey *k,
		  life_trigger *out)
{
	MDB_val val;
	cv_field f[CV_T__MAX];
	uint64_t kind, due, fired;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_db_get(v, txn, CV_DB_TRIGGERS, k->b, k->len, &val)) != CV_OK)
		return err;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_TRIGGER, NULL, f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_KIND], 0, &kind)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_DUE], 0, &due)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_FIRED], 0, &fired)) != CV_OK)
		return err;
	out->kind = (enum cv_life_kind)kind;
	out->due = (int64_t)due;
	out->fired = (int64_t)fired;
	return CV_OK;
}

cv_err
life_trigger_write(cv_vault *v, MDB_txn *txn, const life_tkey *k,
		   const char *name, const char *version, const life_trigger *t)
{
	cv_wbuf w = { 0 };
	cv_err err;

	cv_rec_begin(&w, CV_REC_TRIGGER);
	cv_rec_put_str(&w, CV_T_NAME, name);
	cv_rec_put_str(&w, CV_T_VERSION, version);
	cv_rec_put_u64(&w, CV_T_KIND, (uint64_t)t->kind);
	cv_rec_put_u64(&w, CV_T_DUE, (uint64_t)t->due);
	cv_rec_put_u64(&w, CV_T_FIRED, (uint64_t)t->fired);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_TRIGGERS, k->b, k->len, w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

/* Write a trigger and its due entry, unless the trigger exists (an index
 * made twice makes nothing twice). */
static cv_err
schedule_one(cv_vault *v, MDB_txn *txn, const char *name, const char *version,
	     enum cv_life_kind kind, int64_t due)
{
	life_tkey tk;
	life_dkey dk;
	life_trigger t = { .kind = kind, .due = due };
	cv_err err;

	life_tkey_make(&tk, name, version, kind);
	err = life_trigger_read(v, txn, &tk, &t);
	if (err == CV_OK)
		return CV_OK;
	if (err != CV_ERR_NOT_FOUND)
		return err;
	cv_err_clear();
	t.kind = kind;
	t.due = due;
	t.fired = 0;
	life_dkey_make(&dk, due, &tk);
	if ((err = life_trigger_write(v, txn, &tk, name, version, &t)) != CV_OK)
		return err;
	return cv_db_put(v, txn, CV_DB_DUE, dk.b, dk.len, name, strlen(name), 0);
}

/* The earliest time a policy's actions of one kind fall (a policy with
 * none gets Key Vault's default notice); 0 with *any cleared when none. */
static int64_t
action_due(const cv_policy *p, enum cv_life_kind kind, int64_t nbf, int64_t exp,
	   int *any)
{
	int64_t best = 0, t;
	size_t i;

	*any = 0;
	if (p->n_actions == 0) {
		if (kind != CV_LIFE_EMAIL)
			return 0;
		*any = 1;
		return cv_life_trigger_time(CV_TRIGGER_LIFETIME_PERCENTAGE,
					    CV_LIFE_DEFAULT_PERCENTAGE, nbf, exp);
	}
	for (i = 0; i < p->n_actions; i++) {
		enum cv_life_kind k = p->actions[i].action == CV_ACTION_AUTO_RENEW ?
				      CV_LIFE_AUTO_RENEW : CV_LIFE_EMAIL;

		if (k != kind)
			continue;
		t = cv_life_trigger_time(p->actions[i].trigger, p->actions[i].value,
					 nbf, exp);
		if (!*any || t < best)
			best = t;
		*any = 1;
	}
	return best;
}

static cv_err
schedule_version(cv_vault *v, MDB_txn *txn, const char *name,
		 const char *version, const cv_policy *policy, int64_t nbf,
		 int64_t exp)
{
	static const enum cv_life_kind acts[] = { CV_LIFE_AUTO_RENEW, CV_LIFE_EMAIL };
	int64_t near = exp - (int64_t)CV_LIFE_NEAR_EXPIRY_DAYS * DAY, t;
	size_t i;
	int any;
	cv_err err;

	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		t = action_due(policy, acts[i], nbf, exp, &any);
		if (any && (err = schedule_one(v, txn, name, version, acts[i], t)) != CV_OK)
			return err;
	}
	if ((err = schedule_one(v, txn, name, version, CV_LIFE_NEAR_EXPIRY,
				near < nbf ? nbf : near)) != CV_OK)
		return err;
	return schedule_one(v, txn, name, version, CV_LIFE_EXPIRED, exp);
}

cv_err
cv_life_schedule(cv_vault *v, MDB_txn *txn, const char *name,
		 const char *version, const cv_policy *policy, int64_t nbf,
		 int64_t exp)
{
	life_about a = { .name = name, .version = version, .nbf = nbf, .exp = exp };
	cv_err err;

	if (!v->has_life)
		return CV_OK;
	if ((err = schedule_version(v, txn, name, version, policy, nbf, exp)) != CV_OK)
		return err;
	return life_event_add(v, txn, CV_EVENT_NEW_VERSION, &a, cv_now(), NULL);
}

cv_err
cv_life_reschedule(cv_vault *v, MDB_txn *txn, const cv_cert_rec *cert,
		   const cv_policy *policy)
{
	static const enum cv_life_kind acts[] = { CV_LIFE_AUTO_RENEW, CV_LIFE_EMAIL };
	life_about_buf ab = { 0 };
	life_tkey tk;
	life_dkey dk;
	life_trigger t;
	int64_t due;
	size_t i;
	int any;
	cv_err err = CV_OK;

	if (!v->has_life || cert->current[0] == '\0')
		return CV_OK;
	if ((err = life_about_read(v, txn, cert->name, cert->current, &ab)) != CV_OK)
		goto done;
	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		life_tkey_make(&tk, cert->name, cert->current, acts[i]);
		err = life_trigger_read(v, txn, &tk, &t);
		if (err == CV_OK && t.fired != 0)
			continue; /* once per version, whatever the policy says now */
		if (err == CV_OK) {
			life_dkey_make(&dk, t.due, &tk);
			err = cv_db_del(v, txn, CV_DB_DUE, dk.b, dk.len);
			if (err == CV_ERR_NOT_FOUND)
				err = CV_OK;
			if (err == CV_OK)
				err = cv_db_del(v, txn, CV_DB_TRIGGERS, tk.b, tk.len);
		} else if (err == CV_ERR_NOT_FOUND) {
			err = CV_OK;
		}
		if (err != CV_OK)
			goto done;
		cv_err_clear();
		due = action_due(policy, acts[i], ab.a.nbf, ab.a.exp, &any);
		if (any && (err = schedule_one(v, txn, cert->name, cert->current,
					       acts[i], due)) != CV_OK)
			goto done;
	}
done:
	life_about_clear(&ab);
	return err;
}

static cv_err
index_cert(cv_vault *v, MDB_txn *txn, const MDB_val *key, size_t *count)
{
	char name[CV_NAME_MAX + 1];
	cv_cert_rec cert = { 0 };
	cv_policy *policy = NULL;
	life_about_buf ab = { 0 };
	cv_err err;

	if (key->mv_size == 0 || key->mv_size > CV_NAME_MAX)
		return cv_err_set(CV_ERR_CORRUPT, "a certificate's key in the vault is damaged");
	memcpy(name, key->mv_data, key->mv_size);
	name[key->mv_size] = '\0';
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	if (cert.current[0] == '\0')
		goto done;
	if ((err = cv_cert_rec_policy(&cert, &policy)) != CV_OK ||
	    (err = life_about_read(v, txn, cert.name, cert.current, &ab)) != CV_OK ||
	    (err = schedule_version(v, txn, cert.name, cert.current, policy,
				    ab.a.nbf, ab.a.exp)) != CV_OK)
		goto done;
	(*count)++;
done:
	life_about_clear(&ab);
	cv_policy_free(policy);
	cv_cert_rec_clear(&cert);
	return err;
}

cv_err
cv_life_index_all(cv_vault *v, size_t *indexed)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	size_t count = 0;
	cv_err err;
	int rc;

	cv_err_clear();
	if (indexed != NULL)
		*indexed = 0;
	if (!v->has_life) {
		if (v->read_only)
			return CV_OK; /* an older vault nobody here may index */
		return cv_err_set(CV_ERR_CORRUPT, "the vault lacks its lifetime tables");
	}
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cv_db_get(v, txn, CV_DB_META, "life.indexed", 12, &val);
	mdb_txn_abort(txn);
	txn = NULL;
	if (err == CV_OK || err != CV_ERR_NOT_FOUND)
		return err;
	cv_err_clear();

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	/* Again inside: another pass may have indexed it meanwhile. */
	err = cv_db_get(v, txn, CV_DB_META, "life.indexed", 12, &val);
	if (err == CV_OK)
		goto done;
	if (err != CV_ERR_NOT_FOUND)
		goto done;
	cv_err_clear();
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_CERTS], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the certificates");
		goto done;
	}
	err = CV_OK;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if ((err = index_cert(v, txn, &key, &count)) != CV_OK)
			goto done;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the certificates");
		goto done;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((err = cv_db_put(v, txn, CV_DB_META, "life.indexed", 12, "", 0, 0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && indexed != NULL)
		*indexed = count;
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}

cv_err
cv_life_due_list(cv_vault *v, int64_t now, size_t max, cv_life_due **out,
		 size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_life_due *arr = NULL, *grown;
	size_t count = 0, cap = 0;
	cv_err err;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if (max == 0)
		return cv_err_set(CV_ERR_INVALID, "cv_life_due_list: max is 0");
	if (!v->has_life || now < 0)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_DUE], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the due index");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0 && count < max;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		cv_life_due d;

		if ((err = life_dkey_parse(key.mv_data, key.mv_size, &d)) != CV_OK)
			goto done;
		if (d.due > now)
			break;
		if (val.mv_size == 0 || val.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "the vault's due index holds a damaged entry");
			goto done;
		}
		memcpy(d.name, val.mv_data, val.mv_size);
		d.name[val.mv_size] = '\0';
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(arr, cap * sizeof(*arr))) == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			arr = grown;
		}
		arr[count++] = d;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the due index");
		goto done;
	}
	*out = arr;
	*n = count;
	arr = NULL;
	err = CV_OK;
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	free(arr);
	return err;
}

cv_err
life_due_state(cv_vault *v, MDB_txn *txn, const cv_life_due *due,
	       enum life_state *out)
{
	life_tkey tk;
	life_dkey dk;
	life_trigger t;
	cv_cert_rec cert = { 0 };
	MDB_val val;
	cv_err err;

	*out = LIFE_GONE;
	life_tkey_make(&tk, due->name, due->version, due->kind);
	life_dkey_make(&dk, due->due, &tk);
	err = cv_db_get(v, txn, CV_DB_DUE, dk.b, dk.len, &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	err = life_trigger_read(v, txn, &tk, &t);
	if (err == CV_OK && t.fired != 0) {
		*out = LIFE_FIRED;
		return CV_OK;
	}
	if (err != CV_OK && err != CV_ERR_NOT_FOUND)
		return err;
	err = cv_cert_rec_read(v, txn, due->name, &cert);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		*out = LIFE_STALE;
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	*out = strcmp(cert.current, due->version) == 0 ? LIFE_READY : LIFE_STALE;
	cv_cert_rec_clear(&cert);
	return CV_OK;
}

cv_err
life_trigger_fire(cv_vault *v, MDB_txn *txn, const cv_life_due *due, int64_t now)
{
	life_tkey tk;
	life_dkey dk;
	life_trigger t;
	cv_err err;

	life_tkey_make(&tk, due->name, due->version, due->kind);
	life_dkey_make(&dk, due->due, &tk);
	err = life_trigger_read(v, txn, &tk, &t);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		t.kind = due->kind;
		t.due = due->due;
	} else if (err != CV_OK) {
		return err;
	}
	if (t.fired == 0) /* when it first fired stays */
		t.fired = now > 0 ? now : 1;
	if ((err = life_trigger_write(v, txn, &tk, due->name, due->version, &t)) != CV_OK)
		return err;
	err = cv_db_del(v, txn, CV_DB_DUE, dk.b, dk.len);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		err = CV_OK;
	}
	return err;
}
