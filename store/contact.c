/* certvault: contacts, who hear of certificate lifetime events. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void
cv_contact_clear(cv_contact *c)
{
	if (c == NULL)
		return;
	free(c->email);
	free(c->name);
	free(c->phone);
	memset(c, 0, sizeof(*c));
}

static void
email_key(const char *email, char out[256])
{
	size_t i;

	for (i = 0; i < 255 && email[i] != '\0'; i++)
		out[i] = (char)((email[i] >= 'A' && email[i] <= 'Z') ? email[i] + 32 : email[i]);
	out[i] = '\0';
}

cv_err
cv_contact_add(cv_vault *v, const cv_contact *c)
{
	MDB_txn *txn = NULL;
	cv_wbuf w = { 0 };
	char key[256];
	cv_err err;

	cv_err_clear();
	if (c == NULL || !cv_email_valid(c->email))
		return cv_err_set(CV_ERR_INVALID, "'%s' is not an email address",
				  c && c->email ? c->email : "");
	if ((c->name && strlen(c->name) > 256) || (c->phone && strlen(c->phone) > 64))
		return cv_err_set(CV_ERR_INVALID, "a contact's name or phone is too long");
	email_key(c->email, key);
	cv_rec_begin(&w, CV_REC_CONTACT);
	cv_rec_put_str(&w, CV_T_EMAIL, c->email);
	cv_rec_put_str(&w, CV_T_NAME, c->name);
	cv_rec_put_str(&w, CV_T_PHONE, c->phone);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)cv_now());
	if ((err = cv_rec_finish(&w)) != CV_OK)
		goto done;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		goto done;
	err = cv_db_put(v, txn, CV_DB_CONTACTS, key, strlen(key), w.p, w.len, MDB_NOOVERWRITE);
	if (err == CV_ERR_EXISTS)
		err = cv_err_set(CV_ERR_EXISTS, "contact '%s' already exists", c->email);
	if (err != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_wbuf_free(&w);
	return err;
}

cv_err
cv_contact_list(cv_vault *v, cv_contact **out, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_contact *arr = NULL;
	size_t count = 0, cap = 0;
	cv_err err;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_CONTACTS], &cur)) != 0) {
		err = cv_mdb_err(rc, "list contacts");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		cv_field f[CV_T__MAX];
		cv_contact c = { 0 };

		if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_CONTACT, NULL, f)) != CV_OK ||
		    (err = cv_field_need(&f[CV_T_EMAIL], "email")) != CV_OK)
			goto done;
		if (count == cap) {
			size_t nc = cap ? cap * 2 : 8;
			cv_contact *na = realloc(arr, nc * sizeof(*na));

			if (na == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			arr = na;
			cap = nc;
		}
		if ((err = cv_field_str(&f[CV_T_EMAIL], &c.email)) != CV_OK ||
		    (err = cv_field_str(&f[CV_T_NAME], &c.name)) != CV_OK ||
		    (err = cv_field_str(&f[CV_T_PHONE], &c.phone)) != CV_OK) {
			cv_contact_clear(&c);
			goto done;
		}
		arr[count++] = c;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "list contacts");
		goto done;
	}
	*out = arr;
	*n = count;
	arr = NULL;
	count = 0;
	err = CV_OK;
done:
	while (count > 0)
		cv_contact_clear(&arr[--count]);
	free(arr);
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_contact_delete(cv_vault *v, const char *email)
{
	MDB_txn *txn = NULL;
	char key[256];
	cv_err err;

	cv_err_clear();
	if (email == NULL || email[0] == '\0' || strlen(email) > 254)
		return cv_err_set(CV_ERR_INVALID, "'%s' is not an email address",
				  email ? email : "");
	email_key(email, key);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_del(v, txn, CV_DB_CONTACTS, key, strlen(key));
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_NOT_FOUND, "contact '%s' was not found", email);
	if (err != CV_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return cv_txn_write_commit(v, txn);
}
