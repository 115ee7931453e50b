/* certvault: the pending operation of a certificate as a state machine.
 *
 * inProgress -> completed | failed | cancelled.  A provider that works
 * outside the store advances it in passes: each claims the operation (a
 * random token with a lease), saves the step it reached and its own state,
 * and ends it or gives the claim back.  The claim is checked inside every
 * write transaction that changes the operation, so two passes never both
 * work on it, and a killed pass leaves only a claim that lapses. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "internal.h"

const char *
cv_op_status_name(enum cv_op_status s)
{
	switch (s) {
	case CV_OP_IN_PROGRESS:
		return "inProgress";
	case CV_OP_COMPLETED:
		return "completed";
	case CV_OP_FAILED:
		return "failed";
	case CV_OP_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

void
cv_operation_free(cv_operation *op)
{
	if (op == NULL)
		return;
	free(op->status_details);
	free(op->csr.data);
	free(op->issuer_name);
	free(op->cert_type);
	free(op->error_code);
	free(op->error_message);
	free(op->request_id);
	free(op->provider);
	free(op->step);
	free(op->provider_state);
	cv_tags_clear(&op->tags);
	free(op);
}

static const unsigned op_repeats[] = { CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };

cv_err
cv_op_read(cv_vault *v, MDB_txn *txn, const char *name, cv_operation **out)
{
	char lname[CV_NAME_MAX + 1];
	cv_field f[CV_T__MAX];
	cv_operation *op = NULL;
	MDB_val val;
	uint64_t status, cancel, created, updated, next_attempt, attempts;
	uint64_t claim_until, claim_lease;
	cv_err err;

	*out = NULL;
	cv_name_key(name, lname);
	if ((err = cv_db_get(v, txn, CV_DB_PENDING, lname, strlen(lname), &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			return cv_err_set(CV_ERR_NO_OPERATION,
					  "certificate '%s' has no pending operation", name);
		return err;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL)
		return CV_ERR_NOMEM;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_OPERATION, op_repeats, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], op->name, sizeof(op->name))) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_VERSION], op->version, sizeof(op->version))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_STATUS], 0, &status)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CANCEL], 0, &cancel)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_UPDATED], 0, &updated)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_STATUS_DETAILS], &op->status_details)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ISSUER_NAME], &op->issuer_name)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_CERT_TYPE], &op->cert_type)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ERROR_CODE], &op->error_code)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ERROR_MESSAGE], &op->error_message)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_REQUEST_ID], &op->request_id)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_PROVIDER], &op->provider)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_STEP], &op->step)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_PROVIDER_STATE], &op->provider_state)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_CLAIM], op->claim, sizeof(op->claim))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NEXT_ATTEMPT], 0, &next_attempt)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ATTEMPTS], 0, &attempts)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CLAIM_UNTIL], 0, &claim_until)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CLAIM_LEASE], 0, &claim_lease)) != CV_OK ||
	    (err = cv_rec_get_tags(val.mv_data, val.mv_size, &op->tags)) != CV_OK)
		goto done;
	if (status < CV_OP_IN_PROGRESS || status > CV_OP_CANCELLED ||
	    strlen(op->version) != CV_VERSION_LEN || attempts > UINT32_MAX ||
	    (op->claim[0] != '\0' && strlen(op->claim) != CV_VERSION_LEN)) {
		err = cv_err_set(CV_ERR_CORRUPT, "the operation record of '%s' is damaged", name);
		goto done;
	}
	if (f[CV_T_CSR].present) {
		if ((op->csr.data = malloc(f[CV_T_CSR].len + 1)) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
		memcpy(op->csr.data, f[CV_T_CSR].p, f[CV_T_CSR].len);
		op->csr.len = f[CV_T_CSR].len;
	}
	op->status = (enum cv_op_status)status;
	op->cancellation_requested = cancel != 0;
	op->created = (int64_t)created;
	op->updated = (int64_t)updated;
	op->next_attempt = (int64_t)next_attempt;
	op->attempts = (unsigned)attempts;
	op->claim_until = (int64_t)claim_until;
	op->claim_lease = (int64_t)claim_lease;
	if (op->provider == NULL &&
	    (op->provider = strdup(cv_provider_of_op(op)->name)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	*out = op;
	op = NULL;
	err = CV_OK;
done:
	cv_operation_free(op);
	return err;
}

/* Keep ops_active in step with the record being written or deleted, in
 * the same transaction: an operation inProgress is listed, any other is
 * not (active 0 also for a deleted record). */
static cv_err
op_index_set(cv_vault *v, MDB_txn *txn, const char *lname, const char *name,
	     int active)
{
	cv_err err;

	if (!v->has_op_index)
		return CV_OK; /* a read-only handle on an older vault */
	if (active)
		return cv_db_put(v, txn, CV_DB_OPS_ACTIVE, lname, strlen(lname), name,
				 strlen(name), 0);
	err = cv_db_del(v, txn, CV_DB_OPS_ACTIVE, lname, strlen(lname));
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		err = CV_OK;
	}
	return err;
}

cv_err
cv_op_write(cv_vault *v, MDB_txn *txn, const cv_operation *op)
{
	char lname[CV_NAME_MAX + 1];
	cv_wbuf w = { 0 };
	cv_err err;

	cv_name_key(op->name, lname);
	cv_rec_begin(&w, CV_REC_OPERATION);
	cv_rec_put_str(&w, CV_T_NAME, op->name);
	cv_rec_put_str(&w, CV_T_VERSION, op->version);
	cv_rec_put_u64(&w, CV_T_STATUS, (uint64_t)op->status);
	cv_rec_put_str(&w, CV_T_STATUS_DETAILS, op->status_details);
	if (op->csr.len > 0)
		cv_rec_put(&w, CV_T_CSR, op->csr.data, op->csr.len);
	cv_rec_put_str(&w, CV_T_ISSUER_NAME, op->issuer_name);
	cv_rec_put_str(&w, CV_T_CERT_TYPE, op->cert_type);
	cv_rec_put_str(&w, CV_T_ERROR_CODE, op->error_code);
	cv_rec_put_str(&w, CV_T_ERROR_MESSAGE, op->error_message);
	cv_rec_put_str(&w, CV_T_REQUEST_ID, op->request_id);
	cv_rec_put_u64(&w, CV_T_CANCEL, op->cancellation_requested ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)op->created);
	cv_rec_put_u64(&w, CV_T_UPDATED, (uint64_t)op->updated);
	cv_rec_put_str(&w, CV_T_PROVIDER, op->provider);
	cv_rec_put_str(&w, CV_T_STEP, op->step);
	cv_rec_put_str(&w, CV_T_PROVIDER_STATE, op->provider_state);
	if (op->next_attempt != 0)
		cv_rec_put_u64(&w, CV_T_NEXT_ATTEMPT, (uint64_t)op->next_attempt);
	if (op->attempts != 0)
		cv_rec_put_u64(&w, CV_T_ATTEMPTS, op->attempts);
	if (op->claim[0] != '\0') {
		cv_rec_put_str(&w, CV_T_CLAIM, op->claim);
		cv_rec_put_u64(&w, CV_T_CLAIM_UNTIL, (uint64_t)op->claim_until);
		cv_rec_put_u64(&w, CV_T_CLAIM_LEASE, (uint64_t)op->claim_lease);
	}
	cv_rec_put_tags(&w, &op->tags);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_PENDING, lname, strlen(lname), w.p, w.len, 0);
	if (err == CV_OK)
		err = op_index_set(v, txn, lname, op->name, op->status == CV_OP_IN_PROGRESS);
	cv_wbuf_free(&w);
	return err;
}

cv_err
cv_pending_get(cv_vault *v, const char *name, cv_operation **out)
{
	MDB_txn *txn = NULL;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cv_op_read(v, txn, name, out);
	mdb_txn_abort(txn);
	return err;
}

/* Whether a pass holds op's claim at time now. */
static int
claim_live(const cv_operation *op, int64_t now)
{
	return op->claim[0] != '\0' && op->claim_until >= now;
}

cv_err
cv_pending_cancel(cv_vault *v, const char *name, cv_operation **out)
{
	MDB_txn *txn = NULL;
	cv_operation *op = NULL;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, txn, name, &op)) != CV_OK)
		goto done;
	if (op->status != CV_OP_IN_PROGRESS) {
		err = cv_err_set(CV_ERR_NOT_IN_PROGRESS,
				 "the operation of '%s' is %s, not inProgress; only an "
				 "operation in progress can be cancelled",
				 name, cv_op_status_name(op->status));
		goto done;
	}
	op->cancellation_requested = 1;
	op->updated = cv_now();
	/* With issuer Unknown nothing but a merge can finish the operation,
	 * and a remote provider that has not started on it has ordered
	 * nothing: the request takes effect now, and a later merge is refused.
	 * Otherwise the provider's next pass sees the request (cv_op_save) and
	 * decides: an order already finalized completes anyway. */
	if (cv_provider_of_op(op)->way != CV_PROVIDER_REMOTE ||
	    (op->step == NULL && !claim_live(op, op->updated))) {
		op->status = CV_OP_CANCELLED;
		op->claim[0] = '\0';
		free(op->status_details);
		if ((op->status_details = strdup("The operation was cancelled.")) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
	}
	if ((err = cv_op_write(v, txn, op)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL) {
		*out = op;
		op = NULL;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(op);
	return err;
}

/* Remove the key made for an operation that never completed, with its
 * key-id index entry. */
static cv_err
drop_pending_key(cv_vault *v, MDB_txn *txn, const char *name,
		 const char *version)
{
	cv_key_rec key = { 0 };
	cv_vkey k;
	MDB_val kk, dv;
	cv_err err;
	int rc;

	err = cv_key_rec_read(v, txn, name, version, &key);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	cv_vkey_make(&k, name, version);
	kk.mv_data = key.key_id;
	kk.mv_size = sizeof(key.key_id);
	dv.mv_data = k.b;
	dv.mv_size = k.len;
	rc = mdb_del(txn, v->dbi[CV_DB_KEY_IDS], &kk, &dv);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "delete a key id");
	} else {
		unsigned char nk[8];

		num_be(key.num, nk);
		err = cv_db_del(v, txn, CV_DB_KEY_NUMS, nk, sizeof(nk));
		if (err == CV_ERR_NOT_FOUND)
			err = CV_OK;
		if (err == CV_OK)
			err = cv_db_del(v, txn, CV_DB_KEYS, k.b, k.len);
	}
	cv_key_rec_clear(&key);
	return err;
}

cv_err
cv_pending_delete(cv_vault *v, const char *name)
{
	MDB_txn *txn = NULL;
	cv_operation *op = NULL;
	cv_cert_rec cert = { 0 };
	char lname[CV_NAME_MAX + 1];
	cv_err err;

	cv_err_clear();
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	cv_name_key(name, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, txn, name, &op)) != CV_OK)
		goto done;
	if (op->status != CV_OP_COMPLETED) {
		if ((err = drop_pending_key(v, txn, name, op->version)) != CV_OK)
			goto done;
		if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
			goto done;
		if (cert.current[0] == '\0' &&
		    (err = cv_db_del(v, txn, CV_DB_CERTS, lname, strlen(lname))) != CV_OK)
			goto done;
	}
	if ((err = cv_db_del(v, txn, CV_DB_PENDING, lname, strlen(lname))) != CV_OK ||
	    (err = op_index_set(v, txn, lname, op->name, 0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_cert_rec_clear(&cert);
	cv_operation_free(op);
	return err;
}


cv_err
cv_op_claim_check(const cv_operation *stored, const char *mine)
{
	if (stored->status != CV_OP_IN_PROGRESS)
		return cv_err_set(CV_ERR_NOT_IN_PROGRESS,
				  "the operation of '%s' is %s now, not inProgress",
				  stored->name, cv_op_status_name(stored->status));
	if (mine == NULL || strlen(mine) != CV_VERSION_LEN ||
	    strlen(stored->claim) != CV_VERSION_LEN ||
	    CRYPTO_memcmp(stored->claim, mine, CV_VERSION_LEN) != 0)
		return cv_err_set(CV_ERR_CLAIM_LOST,
				  "the claim on the operation of '%s' lapsed and another "
				  "pass took it", stored->name);
	return CV_OK;
}

/* Append a copy of name (len bytes, not terminated) to *arr. */
static cv_err
names_add(char ***arr, size_t *count, size_t *cap, const char *name, size_t len)
{
	char **grown, *copy;

	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;

		if ((grown = realloc(*arr, ncap * sizeof(**arr))) == NULL)
			return CV_ERR_NOMEM;
		*arr = grown;
		*cap = ncap;
	}
	if ((copy = strndup(name, len)) == NULL)
		return CV_ERR_NOMEM;
	(*arr)[(*count)++] = copy;
	return CV_OK;
}

/* The names of the operations inProgress, by decoding every operation
 * record: for a vault whose ops_active is not filled yet. */
static cv_err
list_by_records(cv_vault *v, MDB_txn *txn, char ***arr, size_t *count,
		size_t *cap)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_operation *op = NULL;
	char lname[CV_NAME_MAX + 1];
	cv_err err = CV_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_PENDING], &cur)) != 0)
		return cv_mdb_err(rc, "list the operations");
	/* Keys are the lowercase names, so the walk is already sorted. */
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "an operation key of %zu bytes",
					 key.mv_size);
			goto done;
		}
		memcpy(lname, key.mv_data, key.mv_size);
		lname[key.mv_size] = '\0';
		if ((err = cv_op_read(v, txn, lname, &op)) != CV_OK)
			goto done;
		if (op->status == CV_OP_IN_PROGRESS &&
		    (err = names_add(arr, count, cap, op->name, strlen(op->name))) != CV_OK)
			goto done;
		cv_operation_free(op);
		op = NULL;
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "list the operations");
done:
	cv_operation_free(op);
	mdb_cursor_close(cur);
	return err;
}

/* The names of the operations inProgress, from ops_active alone. */
static cv_err
list_by_index(cv_vault *v, MDB_txn *txn, char ***arr, size_t *count,
	      size_t *cap)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_err err = CV_OK;
	int rc;

	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_OPS_ACTIVE], &cur)) != 0)
		return cv_mdb_err(rc, "list the operations");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX ||
		    val.mv_size != key.mv_size ||
		    memchr(val.mv_data, '\0', val.mv_size) != NULL) {
			err = cv_err_set(CV_ERR_CORRUPT,
					 "the vault's index of operations holds a damaged entry");
			goto done;
		}
		if ((err = names_add(arr, count, cap, val.mv_data, val.mv_size)) != CV_OK)
			goto done;
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "list the operations");
done:
	mdb_cursor_close(cur);
	return err;
}

/* Whether ops_active is filled (meta "ops.indexed"), in txn. */
static cv_err
op_index_ready(cv_vault *v, MDB_txn *txn, int *ready)
{
	MDB_val val;
	cv_err err;

	*ready = 0;
	if (!v->has_op_index)
		return CV_OK;
	err = cv_db_get(v, txn, CV_DB_META, "ops.indexed", 11, &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err == CV_OK)
		*ready = 1;
	return err;
}

/* Fill ops_active of a vault made before it, once, in one write
 * transaction with its marker. */
static cv_err
op_index_build(cv_vault *v)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_operation *op = NULL;
	char lname[CV_NAME_MAX + 1];
	int ready, rc;
	cv_err err;

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	/* Again inside: another pass may have filled it meanwhile. */
	if ((err = op_index_ready(v, txn, &ready)) != CV_OK || ready)
		goto done;
	if ((rc = mdb_drop(txn, v->dbi[CV_DB_OPS_ACTIVE], 0)) != 0 ||
	    (rc = mdb_cursor_open(txn, v->dbi[CV_DB_PENDING], &cur)) != 0) {
		err = cv_mdb_err(rc, "index the operations");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "an operation key of %zu bytes",
					 key.mv_size);
			goto done;
		}
		memcpy(lname, key.mv_data, key.mv_size);
		lname[key.mv_size] = '\0';
		if ((err = cv_op_read(v, txn, lname, &op)) != CV_OK ||
		    (op->status == CV_OP_IN_PROGRESS &&
		     (err = op_index_set(v, txn, lname, op->name, 1)) != CV_OK))
			goto done;
		cv_operation_free(op);
		op = NULL;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "index the operations");
		goto done;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((err = cv_db_put(v, txn, CV_DB_META, "ops.indexed", 11, "", 0, 0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	cv_operation_free(op);
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}

cv_err
cv_op_list_active(cv_vault *v, char ***names, size_t *n)
{
	MDB_txn *txn = NULL;
	char **arr = NULL;
	size_t count = 0, cap = 0;
	int ready = 0;
	cv_err err;

	cv_err_clear();
	*names = NULL;
	*n = 0;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = op_index_ready(v, txn, &ready)) != CV_OK)
		goto done;
	if (!ready && v->has_op_index && !v->read_only &&
	    cv_vault_logged_in(v) == CV_USER_NORMAL) {
		/* An older vault, and a user who may write it: fill the index
		 * now, so this and every later pass reads only it. */
		mdb_txn_abort(txn);
		txn = NULL;
		if ((err = op_index_build(v)) != CV_OK ||
		    (err = cv_txn_read(v, &txn)) != CV_OK ||
		    (err = op_index_ready(v, txn, &ready)) != CV_OK)
			goto done;
	}
	if (ready)
		err = list_by_index(v, txn, &arr, &count, &cap);
	else
		err = list_by_records(v, txn, &arr, &count, &cap);
	if (err != CV_OK)
		goto done;
	*names = arr;
	*n = count;
	arr = NULL;
	count = 0;
done:
	while (count > 0)
		free(arr[--count]);
	free(arr);
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}

cv_err
cv_op_claim(cv_vault *v, const char *name, int64_t lease, cv_operation **out)
{
	MDB_txn *txn = NULL;
	cv_operation *op = NULL;
	int64_t now;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if (lease <= 0 || lease > 86400)
		return cv_err_set(CV_ERR_INVALID, "a claim's lease is 1 to 86400 seconds, not %lld",
				  (long long)lease);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, txn, name, &op)) != CV_OK)
		goto done;
	if (op->status != CV_OP_IN_PROGRESS) {
		err = cv_err_set(CV_ERR_NOT_IN_PROGRESS,
				 "the operation of '%s' is %s, not inProgress", name,
				 cv_op_status_name(op->status));
		goto done;
	}
	now = cv_now();
	if (claim_live(op, now)) {
		err = cv_err_set(CV_ERR_BUSY,
				 "another pass is working on the operation of '%s' (its claim "
				 "lapses in %lld s)", name, (long long)(op->claim_until - now + 1));
		goto done;
	}
	if ((err = cv_random_version(op->claim)) != CV_OK)
		goto done;
	op->claim_lease = lease;
	op->claim_until = now + lease;
	if ((err = cv_op_write(v, txn, op)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK) {
		*out = op;
		op = NULL;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(op);
	return err;
}

/* Read name's operation in a new write transaction and check that the
 * caller's claim still holds it.  On success *txn and *stored are the
 * caller's. */
static cv_err
claimed_begin(cv_vault *v, const cv_operation *mine, MDB_txn **txn,
	      cv_operation **stored)
{
	cv_err err;

	*txn = NULL;
	*stored = NULL;
	if (mine == NULL)
		return cv_err_set(CV_ERR_INVALID, "no operation given");
	if ((err = cv_check_cert_name(mine->name)) != CV_OK)
		return err;
	if ((err = cv_txn_write(v, txn)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, *txn, mine->name, stored)) != CV_OK ||
	    (err = cv_op_claim_check(*stored, mine->claim)) != CV_OK) {
		mdb_txn_abort(*txn);
		*txn = NULL;
		cv_operation_free(*stored);
		*stored = NULL;
	}
	return err;
}

/* Replace *dst with a copy of src (NULL allowed). */
static int
set_str(char **dst, const char *src)
{
	char *copy = NULL;

	if (src != NULL && (copy = strdup(src)) == NULL)
		return 0;
	free(*dst);
	*dst = copy;
	return 1;
}

cv_err
cv_op_save(cv_vault *v, cv_operation *op)
{
	MDB_txn *txn = NULL;
	cv_operation *stored = NULL;
	cv_err err;

	cv_err_clear();
	if ((err = claimed_begin(v, op, &txn, &stored)) != CV_OK)
		return err;
	if (!set_str(&stored->step, op->step) ||
	    !set_str(&stored->provider_state, op->provider_state) ||
	    !set_str(&stored->status_details, op->status_details)) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	stored->next_attempt = op->next_attempt;
	stored->attempts = op->attempts;
	stored->updated = cv_now();
	stored->claim_until = stored->updated + (stored->claim_lease > 0 ? stored->claim_lease : 1);
	if ((err = cv_op_write(v, txn, stored)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK) {
		op->cancellation_requested = stored->cancellation_requested;
		op->claim_until = stored->claim_until;
		op->updated = stored->updated;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(stored);
	return err;
}

/* End a claimed operation as failed or cancelled.  Its key has no version,
 * so it reads as retired from now on. */
static cv_err
op_end(cv_vault *v, const cv_operation *op, enum cv_op_status status,
       const char *code, const char *message)
{
	MDB_txn *txn = NULL;
	cv_operation *stored = NULL;
	cv_err err;

	if ((err = claimed_begin(v, op, &txn, &stored)) != CV_OK)
		return err;
	stored->status = status;
	stored->claim[0] = '\0';
	stored->next_attempt = 0;
	stored->updated = cv_now();
	if (status == CV_OP_CANCELLED)
		stored->cancellation_requested = 1;
	if (!set_str(&stored->status_details, status == CV_OP_CANCELLED
					      ? "The operation was cancelled." : message) ||
	    !set_str(&stored->error_code, code) ||
	    !set_str(&stored->error_message, message) ||
	    !set_str(&stored->step, op->step) ||
	    !set_str(&stored->provider_state, op->provider_state)) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if ((err = cv_op_write(v, txn, stored)) != CV_OK ||
	    (status == CV_OP_FAILED &&
	     (err = cv_life_renewal_failed(v, txn, stored)) != CV_OK))
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(stored);
	return err;
}

cv_err
cv_op_fail(cv_vault *v, const cv_operation *op, const char *code,
	   const char *message)
{
	cv_err_clear();
	if (code == NULL || code[0] == '\0')
		return cv_err_set(CV_ERR_INVALID, "a failed operation needs an error code");
	return op_end(v, op, CV_OP_FAILED, code, message);
}

cv_err
cv_op_cancelled(cv_vault *v, const cv_operation *op)
{
	cv_err_clear();
	return op_end(v, op, CV_OP_CANCELLED, NULL, NULL);
}

cv_err
cv_op_release(cv_vault *v, const cv_operation *op)
{
	MDB_txn *txn = NULL;
	cv_operation *stored = NULL;
	cv_err err;

	cv_err_clear();
	err = claimed_begin(v, op, &txn, &stored);
	if (err == CV_ERR_CLAIM_LOST || err == CV_ERR_NOT_IN_PROGRESS ||
	    err == CV_ERR_NO_OPERATION) {
		/* Not ours any more: nothing to give back. */
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	stored->claim[0] = '\0';
	stored->claim_until = 0;
	if ((err = cv_op_write(v, txn, stored)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(stored);
	return err;
}
