/* certvault: events, named as Key Vault's Event Grid names them, and the
 * hook's cursor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "internal.h"

void
cv_event_list_free(cv_event *list, size_t n)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(list[i].type);
		free(list[i].message);
	}
	free(list);
}

cv_err
life_event_add(cv_vault *v, MDB_txn *txn, const char *type, const life_about *a,
	       int64_t when, const char *message)
{
	cv_wbuf w = { 0 };
	unsigned char k[8];
	uint64_t seq;
	cv_err err;

	cv_rec_begin(&w, CV_REC_EVENT);
	cv_rec_put_str(&w, CV_T_EVENT_TYPE, type);
	cv_rec_put_str(&w, CV_T_NAME, a->name);
	cv_rec_put_str(&w, CV_T_VERSION, a->version);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)when);
	cv_rec_put_u64(&w, CV_T_NBF, (uint64_t)a->nbf);
	cv_rec_put_u64(&w, CV_T_EXP, (uint64_t)a->exp);
	cv_rec_put_str(&w, CV_T_MESSAGE, message);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = life_counter_next(v, txn, "events.next", &seq)) != CV_OK)
		goto done;
	life_be64_put(seq, k);
	err = cv_db_put(v, txn, CV_DB_EVENTS, k, 8, w.p, w.len, 0);
done:
	cv_wbuf_free(&w);
	return err;
}

static cv_err
event_parse(const MDB_val *key, const MDB_val *val, cv_event *e)
{
	cv_field f[CV_T__MAX];
	uint64_t when, nbf, exp;
	cv_err err;

	memset(e, 0, sizeof(*e));
	if (key->mv_size != 8)
		return cv_err_set(CV_ERR_CORRUPT, "the vault's events hold a damaged entry");
	e->seq = life_be64_get(key->mv_data);
	if ((err = cv_rec_parse(val->mv_data, val->mv_size, CV_REC_EVENT, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_EVENT_TYPE], "an event's type")) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_EVENT_TYPE], &e->type)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_MESSAGE], &e->message)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], e->name, sizeof(e->name))) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_VERSION], e->version, sizeof(e->version))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &when)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NBF], 0, &nbf)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_EXP], 0, &exp)) != CV_OK)
		return err;
	e->time = (int64_t)when;
	e->nbf = (int64_t)nbf;
	e->exp = (int64_t)exp;
	return CV_OK;
}

cv_err
cv_event_list(cv_vault *v, int64_t since, uint64_t after_seq, cv_event **out,
	      size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	unsigned char k[8];
	cv_event *arr = NULL, *grown, e;
	size_t count = 0, cap = 0;
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if (!v->has_life || after_seq == UINT64_MAX)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_EVENTS], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the events");
		goto done;
	}
	life_be64_put(after_seq + 1, k);
	key.mv_data = k;
	key.mv_size = 8;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if ((err = event_parse(&key, &val, &e)) != CV_OK) {
			free(e.type);
			free(e.message);
			goto done;
		}
		if (e.time < since) {
			free(e.type);
			free(e.message);
			continue;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(arr, cap * sizeof(*arr))) == NULL) {
				free(e.type);
				free(e.message);
				err = CV_ERR_NOMEM;
				goto done;
			}
			arr = grown;
		}
		arr[count++] = e;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the events");
		goto done;
	}
	*out = arr;
	*n = count;
	arr = NULL;
	count = 0;
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	cv_event_list_free(arr, count);
	return err;
}

cv_err
cv_event_json(const cv_event *e, const char *vault_name, char **out)
{
	json_t *doc = NULL, *data = NULL;
	char when[32], id[64];
	cv_err err = CV_ERR_NOMEM;

	*out = NULL;
	life_time_text(e->time, when, sizeof(when));
	snprintf(id, sizeof(id), "%s-%llu", vault_name ? vault_name : "vault",
		 (unsigned long long)e->seq);
	data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
			 "Id", e->name, "VaultName", vault_name ? vault_name : "",
			 "ObjectType", "Certificate", "ObjectName", e->name,
			 "Version", e->version, "NBF", (json_int_t)e->nbf,
			 "EXP", (json_int_t)e->exp);
	if (data == NULL)
		goto done;
	if (e->message != NULL &&
	    json_object_set_new(data, "Message", json_string(e->message)) != 0)
		goto done;
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:I}",
			"id", id, "topic", vault_name ? vault_name : "",
			"subject", e->name, "eventType", e->type, "eventTime", when,
			"data", data, "dataVersion", "1", "metadataVersion", "1",
			"sequence", (json_int_t)e->seq);
	if (doc == NULL || (*out = json_dumps(doc, JSON_COMPACT)) == NULL)
		goto done;
	err = CV_OK;
done:
	json_decref(data);
	json_decref(doc);
	return err;
}

/* The hook cursor in txn: 0 when none is kept. */
static cv_err
cursor_in(cv_vault *v, MDB_txn *txn, uint64_t *seq)
{
	MDB_val val;
	cv_err err;

	*seq = 0;
	err = cv_db_get(v, txn, CV_DB_META, LIFE_HOOK_CURSOR_KEY,
			strlen(LIFE_HOOK_CURSOR_KEY), &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err == CV_OK && val.mv_size != 8)
		return cv_err_set(CV_ERR_CORRUPT, "the vault's hook cursor is damaged");
	if (err == CV_OK)
		*seq = life_be64_get(val.mv_data);
	return err;
}

cv_err
cv_hook_cursor_get(cv_vault *v, uint64_t *seq)
{
	MDB_txn *txn = NULL;
	cv_err err;

	cv_err_clear();
	*seq = 0;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cursor_in(v, txn, seq);
	mdb_txn_abort(txn);
	return err;
}

cv_err
life_hook_cursor_to_last(cv_vault *v, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	unsigned char b[8];
	int rc;

	if (!v->has_life)
		return CV_OK;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_EVENTS], &cur)) != 0)
		return cv_mdb_err(rc, "read the events");
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return CV_OK;
	if (rc != 0)
		return cv_mdb_err(rc, "read the events");
	if (key.mv_size != 8)
		return cv_err_set(CV_ERR_CORRUPT, "an event's key is damaged");
	memcpy(b, key.mv_data, 8);
	return cv_db_put(v, txn, CV_DB_META, LIFE_HOOK_CURSOR_KEY,
			 strlen(LIFE_HOOK_CURSOR_KEY), b, 8, 0);
}

cv_err
cv_hook_cursor_set(cv_vault *v, uint64_t seq)
{
	MDB_txn *txn = NULL;
	unsigned char b[8];
	uint64_t now_at;
	cv_err err;

	cv_err_clear();
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cursor_in(v, txn, &now_at)) != CV_OK || now_at >= seq) {
		mdb_txn_abort(txn);
		return err;
	}
	life_be64_put(seq, b);
	if ((err = cv_db_put(v, txn, CV_DB_META, LIFE_HOOK_CURSOR_KEY,
			     strlen(LIFE_HOOK_CURSOR_KEY), b, 8, 0)) != CV_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return cv_txn_write_commit(v, txn);
}

/* Whether the oldest event under cur may go: recorded before before, and,
 * when a hook is set, already given to it. */
static cv_err
oldest_prunable(MDB_cursor *cur, int64_t before, int hooked, uint64_t cursor,
		int *yes)
{
	MDB_val key, val;
	cv_event e;
	cv_err err;
	int rc;

	*yes = 0;
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	if (rc == MDB_NOTFOUND)
		return CV_OK;
	if (rc != 0)
		return cv_mdb_err(rc, "read the events");
	err = event_parse(&key, &val, &e);
	free(e.type);
	free(e.message);
	if (err != CV_OK)
		return err;
	*yes = e.time < before && (!hooked || e.seq <= cursor);
	return CV_OK;
}

/* The hook's state in txn: whether one is set, and its cursor. */
static cv_err
hook_state(cv_vault *v, MDB_txn *txn, int *hooked, uint64_t *cursor)
{
	MDB_val val;
	cv_err err;

	*hooked = 0;
	*cursor = 0;
	err = cv_db_get(v, txn, CV_DB_META, LIFE_HOOK_KEY, strlen(LIFE_HOOK_KEY), &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	*hooked = 1;
	return cursor_in(v, txn, cursor);
}

/* Looks in txn for the first prunable event; with del, removes up to max
 * of them, counting them in *pruned. */
static cv_err
prune_in(cv_vault *v, MDB_txn *txn, int64_t before, size_t max, int del,
	 size_t *pruned, int *any)
{
	MDB_cursor *cur = NULL;
	uint64_t cursor;
	int hooked, yes = 0, rc;
	cv_err err;

	*any = 0;
	if ((err = hook_state(v, txn, &hooked, &cursor)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_EVENTS], &cur)) != 0)
		return cv_mdb_err(rc, "read the events");
	while ((err = oldest_prunable(cur, before, hooked, cursor, &yes)) == CV_OK &&
	       yes) {
		*any = 1;
		if (!del || *pruned == max)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			err = cv_mdb_err(rc, "remove an old event");
			break;
		}
		(*pruned)++;
	}
	mdb_cursor_close(cur);
	return err;
}

cv_err
cv_event_prune(cv_vault *v, int64_t before, size_t max, size_t *pruned)
{
	MDB_txn *txn = NULL;
	int any = 0;
	cv_err err;

	cv_err_clear();
	*pruned = 0;
	if (max == 0)
		return cv_err_set(CV_ERR_INVALID, "pruning events needs a bound above 0");
	if (!v->has_life)
		return CV_OK;
	/* Most passes find nothing old enough: look without the writer's
	 * lock and without a commit. */
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = prune_in(v, txn, before, max, 0, pruned, &any);
	mdb_txn_abort(txn);
	txn = NULL;
	if (err != CV_OK || !any)
		return err;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = prune_in(v, txn, before, max, 1, pruned, &any)) != CV_OK) {
		mdb_txn_abort(txn);
		*pruned = 0;
		return err;
	}
	if ((err = cv_txn_write_commit(v, txn)) != CV_OK)
		*pruned = 0;
	return err;
}
