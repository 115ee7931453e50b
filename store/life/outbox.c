/* certvault: the outbox.  Mails are written in the same transaction as
 * what they tell of, and leave it when the relay accepted them, or after a
 * bounded number of failures, recorded as an event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_TO 256

static const unsigned mail_repeats[] = { CV_T_TO, 0 };

void
cv_mail_list_free(cv_mail *list, size_t n)
{
	size_t i, j;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < list[i].n_to; j++)
			free(list[i].to[j]);
		free(list[i].to);
		free(list[i].subject);
		free(list[i].body);
		free(list[i].last_error);
	}
	free(list);
}

cv_err
life_counter_next(cv_vault *v, MDB_txn *txn, const char *key, uint64_t *out)
{
	MDB_val val;
	unsigned char b[8];
	uint64_t n = 1;
	cv_err err;

	err = cv_db_get(v, txn, CV_DB_META, key, strlen(key), &val);
	if (err == CV_OK) {
		if (val.mv_size != 8)
			return cv_err_set(CV_ERR_CORRUPT, "the vault's counter '%s' is damaged", key);
		n = life_be64_get(val.mv_data);
	} else if (err != CV_ERR_NOT_FOUND) {
		return err;
	}
	cv_err_clear();
	life_be64_put(n + 1, b);
	if ((err = cv_db_put(v, txn, CV_DB_META, key, strlen(key), b, 8, 0)) != CV_OK)
		return err;
	*out = n;
	return CV_OK;
}

static cv_err
contacts_read(cv_vault *v, MDB_txn *txn, cv_wbuf *w, size_t *n)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_field f[CV_T__MAX];
	char *email = NULL;
	cv_err err = CV_OK;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_CONTACTS], &cur)) != 0)
		return cv_mdb_err(rc, "read the contacts");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0 && *n < MAX_TO;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_CONTACT, NULL, f)) != CV_OK ||
		    (err = cv_field_need(&f[CV_T_EMAIL], "a contact's email")) != CV_OK ||
		    (err = cv_field_str(&f[CV_T_EMAIL], &email)) != CV_OK)
			goto done;
		cv_rec_put_str(w, CV_T_TO, email);
		free(email);
		email = NULL;
		(*n)++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "read the contacts");
done:
	mdb_cursor_close(cur);
	return err;
}

cv_err
life_mail_add(cv_vault *v, MDB_txn *txn, const life_about *a,
	      const char *subject, const char *what, int64_t when, int *queued)
{
	cv_wbuf w = { 0 };
	char nbf[32], exp[32], *body = NULL;
	unsigned char id[8];
	uint64_t n;
	size_t to = 0, blen;
	cv_err err;

	*queued = 0;
	cv_rec_begin(&w, CV_REC_MAIL);
	if ((err = contacts_read(v, txn, &w, &to)) != CV_OK || to == 0)
		goto done;
	life_time_text(a->nbf, nbf, sizeof(nbf));
	life_time_text(a->exp, exp, sizeof(exp));
	blen = strlen(what) + strlen(a->name) + (a->subject ? strlen(a->subject) : 0) + 256;
	if ((body = malloc(blen)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	snprintf(body, blen,
		 "%s\n\nCertificate: %s\nVersion: %s\nSubject: %s\nValid from: %s\n"
		 "Expires: %s\n", what, a->name, a->version,
		 a->subject ? a->subject : "", nbf, exp);
	cv_rec_put_str(&w, CV_T_SUBJECT, subject);
	cv_rec_put_str(&w, CV_T_BODY, body);
	cv_rec_put_str(&w, CV_T_NAME, a->name);
	cv_rec_put_str(&w, CV_T_VERSION, a->version);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)when);
	cv_rec_put_u64(&w, CV_T_NEXT_TRY, 0);
	cv_rec_put_u64(&w, CV_T_ATTEMPTS, 0);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = life_counter_next(v, txn, "outbox.next", &n)) != CV_OK)
		goto done;
	life_be64_put(n, id);
	if ((err = cv_db_put(v, txn, CV_DB_OUTBOX, id, 8, w.p, w.len, 0)) != CV_OK)
		goto done;
	*queued = 1;
done:
	free(body);
	cv_wbuf_free(&w);
	return err;
}

static cv_err
mail_parse(const MDB_val *key, const MDB_val *val, cv_mail *m)
{
	cv_field f[CV_T__MAX];
	uint64_t attempts, created, next_try;
	size_t off = 0, vlen, i = 0;
	unsigned tag;
	const unsigned char *p;
	cv_err err;

	memset(m, 0, sizeof(*m));
	if (key->mv_size != 8)
		return cv_err_set(CV_ERR_CORRUPT, "the outbox holds a damaged entry");
	m->id = life_be64_get(key->mv_data);
	if ((err = cv_rec_parse(val->mv_data, val->mv_size, CV_REC_MAIL, mail_repeats,
				f)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_SUBJECT], &m->subject)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_BODY], &m->body)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_LAST_ERROR], &m->last_error)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], m->name, sizeof(m->name))) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_VERSION], m->version, sizeof(m->version))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ATTEMPTS], 0, &attempts)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NEXT_TRY], 0, &next_try)) != CV_OK)
		return err;
	if (m->subject == NULL || m->body == NULL)
		return cv_err_set(CV_ERR_CORRUPT, "mail %llu in the outbox lacks its text",
				  (unsigned long long)m->id);
	m->attempts = attempts > CV_MAIL_TRIES ? CV_MAIL_TRIES : (unsigned)attempts;
	m->created = (int64_t)created;
	m->next_try = (int64_t)next_try;
	while (cv_rec_next(val->mv_data, val->mv_size, &off, &tag, &p, &vlen))
		if (tag == CV_T_TO)
			m->n_to++;
	if (m->n_to == 0 || m->n_to > MAX_TO)
		return cv_err_set(CV_ERR_CORRUPT, "mail %llu in the outbox has no recipients",
				  (unsigned long long)m->id);
	if ((m->to = calloc(m->n_to + 1, sizeof(char *))) == NULL)
		return CV_ERR_NOMEM;
	off = 0;
	while (cv_rec_next(val->mv_data, val->mv_size, &off, &tag, &p, &vlen)) {
		cv_field one = { .p = p, .len = vlen, .present = 1 };

		if (tag != CV_T_TO)
			continue;
		if ((err = cv_field_str(&one, &m->to[i])) != CV_OK)
			return err;
		i++;
	}
	return CV_OK;
}

static void
mail_clear(cv_mail *m)
{
	size_t j;

	for (j = 0; j < m->n_to && m->to != NULL; j++)
		free(m->to[j]);
	free(m->to);
	free(m->subject);
	free(m->body);
	free(m->last_error);
	memset(m, 0, sizeof(*m));
}

/* Write m back as mail k, with its recipients, text, attempts, next try and
 * last error. */
static cv_err
mail_put(cv_vault *v, MDB_txn *txn, const unsigned char k[8], const cv_mail *m)
{
	cv_wbuf w = { 0 };
	size_t i;
	cv_err err;

	cv_rec_begin(&w, CV_REC_MAIL);
	for (i = 0; i < m->n_to; i++)
		cv_rec_put_str(&w, CV_T_TO, m->to[i]);
	cv_rec_put_str(&w, CV_T_SUBJECT, m->subject);
	cv_rec_put_str(&w, CV_T_BODY, m->body);
	cv_rec_put_str(&w, CV_T_NAME, m->name);
	cv_rec_put_str(&w, CV_T_VERSION, m->version);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)m->created);
	cv_rec_put_u64(&w, CV_T_NEXT_TRY, (uint64_t)m->next_try);
	cv_rec_put_u64(&w, CV_T_ATTEMPTS, m->attempts);
	cv_rec_put_str(&w, CV_T_LAST_ERROR, m->last_error);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_OUTBOX, k, 8, w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

cv_err
cv_outbox_list(cv_vault *v, int64_t now, cv_mail **out, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_mail *arr = NULL, *grown, m;
	size_t count = 0, cap = 0;
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if (!v->has_life)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_OUTBOX], &cur)) != 0) {
		err = cv_mdb_err(rc, "read the outbox");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if ((err = mail_parse(&key, &val, &m)) != CV_OK) {
			mail_clear(&m);
			goto done;
		}
		if (m.next_try > now) {
			mail_clear(&m);
			continue;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(arr, cap * sizeof(*arr))) == NULL) {
				mail_clear(&m);
				err = CV_ERR_NOMEM;
				goto done;
			}
			arr = grown;
		}
		arr[count++] = m;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "read the outbox");
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
	cv_mail_list_free(arr, count);
	return err;
}

cv_err
cv_outbox_sent(cv_vault *v, uint64_t id)
{
	MDB_txn *txn = NULL;
	unsigned char k[8];
	cv_err err;

	cv_err_clear();
	if (!v->has_life)
		return CV_OK;
	life_be64_put(id, k);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_del(v, txn, CV_DB_OUTBOX, k, 8);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		mdb_txn_abort(txn);
		return CV_OK;
	}
	if (err != CV_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return cv_txn_write_commit(v, txn);
}

cv_err
cv_outbox_failed(cv_vault *v, uint64_t id, int permanent, const char *reason,
		 int64_t now, int *dropped)
{
	MDB_txn *txn = NULL;
	MDB_val key = { .mv_size = 8 }, val;
	unsigned char k[8];
	cv_mail m = { 0 };
	char msg[768];
	cv_err err;

	cv_err_clear();
	if (dropped != NULL)
		*dropped = 0;
	if (!v->has_life)
		return CV_OK;
	life_be64_put(id, k);
	key.mv_data = k;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_get(v, txn, CV_DB_OUTBOX, k, 8, &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		err = CV_OK;
		goto done;
	}
	if (err != CV_OK || (err = mail_parse(&key, &val, &m)) != CV_OK)
		goto done;
	m.attempts++;
	if (permanent || m.attempts >= CV_MAIL_TRIES) {
		life_about a = { .name = m.name, .version = m.version };

		snprintf(msg, sizeof(msg), "mail '%s' given up after %u attempt%s: %s",
			 m.subject, m.attempts, m.attempts == 1 ? "" : "s",
			 reason ? reason : "refused");
		if ((err = cv_db_del(v, txn, CV_DB_OUTBOX, k, 8)) != CV_OK ||
		    (err = life_event_add(v, txn, CV_EVENT_MAIL_FAILED, &a, now, msg)) != CV_OK)
			goto done;
		if (dropped != NULL)
			*dropped = 1;
	} else {
		m.next_try = now + ((int64_t)CV_MAIL_RETRY_FIRST << (m.attempts - 1));
		free(m.last_error);
		if ((m.last_error = strdup(reason ? reason : "refused")) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
		if ((err = mail_put(v, txn, k, &m)) != CV_OK)
			goto done;
	}
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err != CV_OK && dropped != NULL)
		*dropped = 0;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mail_clear(&m);
	return err;
}

cv_err
cv_outbox_claim(cv_vault *v, uint64_t id, int64_t now, int64_t lease)
{
	MDB_txn *txn = NULL;
	MDB_val key = { .mv_size = 8 }, val;
	unsigned char k[8];
	cv_mail m = { 0 };
	cv_err err;

	cv_err_clear();
	if (lease <= 0)
		return cv_err_set(CV_ERR_INVALID, "cv_outbox_claim: the lease must be positive");
	if (!v->has_life)
		return cv_err_set(CV_ERR_NOT_FOUND, "mail %llu is not in the outbox",
				  (unsigned long long)id);
	life_be64_put(id, k);
	key.mv_data = k;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_get(v, txn, CV_DB_OUTBOX, k, 8, &val);
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_NOT_FOUND, "mail %llu is not in the outbox",
				 (unsigned long long)id);
	if (err != CV_OK || (err = mail_parse(&key, &val, &m)) != CV_OK)
		goto done;
	if (m.next_try > now) {
		err = cv_err_set(CV_ERR_BUSY, "mail %llu: another pass sends it, or its next "
				 "try is later", (unsigned long long)id);
		goto done;
	}
	m.next_try = now + lease;
	if ((err = mail_put(v, txn, k, &m)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mail_clear(&m);
	return err;
}
