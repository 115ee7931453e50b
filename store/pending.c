/* certvault: the pending operation of a certificate, and merge. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "internal.h"
#include "x509.h"

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
	uint64_t status, cancel, created, updated;
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
	    (err = cv_rec_get_tags(val.mv_data, val.mv_size, &op->tags)) != CV_OK)
		goto done;
	if (status < CV_OP_IN_PROGRESS || status > CV_OP_CANCELLED ||
	    strlen(op->version) != CV_VERSION_LEN) {
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
	*out = op;
	op = NULL;
	err = CV_OK;
done:
	cv_operation_free(op);
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
	cv_rec_put_tags(&w, &op->tags);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_PENDING, lname, strlen(lname), w.p, w.len, 0);
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
	/* With issuer Unknown nothing but a merge can finish the operation, so
	 * the request takes effect now: a later merge is refused. */
	op->status = CV_OP_CANCELLED;
	free(op->status_details);
	if ((op->status_details = strdup("The operation was cancelled.")) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	op->updated = cv_now();
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
	if ((err = cv_db_del(v, txn, CV_DB_PENDING, lname, strlen(lname))) != CV_OK)
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

/* Whether any certificate in certs answers an older version's key of this
 * certificate: Key Vault's "CSR already used". */
static int
answers_older_csr(cv_vault *v, MDB_txn *txn, const char *name,
		  const char *pending_version, STACK_OF(X509) *certs)
{
	char lname[CV_NAME_MAX + 1];
	size_t plen;
	int i, found = 0;

	cv_name_key(name, lname);
	plen = strlen(lname) + 1;
	for (i = 0; i < sk_X509_num(certs) && !found; i++) {
		unsigned char id[CV_KEY_ID_LEN];
		MDB_cursor *cur = NULL;
		MDB_val k = { .mv_size = sizeof(id), .mv_data = id }, d;
		EVP_PKEY *pub = X509_get0_pubkey(sk_X509_value(certs, i));
		int rc;

		if (pub == NULL || cv_key_id(pub, id) != CV_OK)
			continue;
		if (mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &cur) != 0)
			continue;
		for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0 && !found;
		     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP)) {
			if (d.mv_size == plen + CV_VERSION_LEN &&
			    memcmp(d.mv_data, lname, plen) == 0 &&
			    memcmp((char *)d.mv_data + plen, pending_version,
				   CV_VERSION_LEN) != 0)
				found = 1;
		}
		mdb_cursor_close(cur);
	}
	cv_err_clear();
	return found;
}

cv_err
cv_pending_merge(cv_vault *v, const char *name, const unsigned char *data,
		 size_t len, const cv_tags *tags, cv_cert_version **out)
{
	unsigned char probe[CV_MASTER_KEY_LEN];
	MDB_txn *txn = NULL;
	cv_operation *op = NULL;
	cv_cert_rec cert = { 0 };
	cv_key_rec key = { 0 };
	cv_policy *policy = NULL;
	STACK_OF(X509) *certs = NULL, *rest = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *pub = NULL, *priv = NULL;
	char version[CV_VERSION_LEN + 1];
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK || (err = cv_tags_validate(tags)) != CV_OK)
		return err;
	if ((err = cv_vault_master(v, probe)) != CV_OK)
		return err;
	OPENSSL_cleanse(probe, sizeof(probe));

	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_op_read(v, txn, name, &op)) != CV_OK)
		goto done;
	if (op->status != CV_OP_IN_PROGRESS) {
		err = cv_err_set(CV_ERR_NOT_IN_PROGRESS,
				 "the operation of '%s' is %s; only an operation in "
				 "progress takes a merge", name,
				 cv_op_status_name(op->status));
		goto done;
	}
	memcpy(version, op->version, sizeof(version));
	if ((err = cv_key_rec_read(v, txn, name, version, &key)) != CV_OK ||
	    (err = cv_key_rec_public(&key, &pub)) != CV_OK)
		goto done;
	if ((err = cv_x509_read_certificates(data, len, &certs)) != CV_OK)
		goto done;
	err = cv_x509_order_chain(pub, certs, &leaf, &rest);
	if (err == CV_ERR_KEY_MISMATCH) {
		if (answers_older_csr(v, txn, name, version, certs))
			err = cv_err_set(CV_ERR_CSR_REUSED, "%s", cv_strerror(CV_ERR_CSR_REUSED));
		else
			err = cv_err_set(CV_ERR_KEY_MISMATCH, "%s", cv_strerror(CV_ERR_KEY_MISMATCH));
		goto done;
	}
	if (err != CV_OK)
		goto done;
	mdb_txn_abort(txn);
	txn = NULL;

	if ((err = cv_key_rec_private(v, name, version, &key, &priv)) != CV_OK)
		goto done;

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		goto done;
	/* Re-read under the write lock: a cancel or another merge may have
	 * landed since. */
	cv_operation_free(op);
	op = NULL;
	if ((err = cv_op_read(v, txn, name, &op)) != CV_OK)
		goto done;
	if (op->status != CV_OP_IN_PROGRESS || strcmp(op->version, version) != 0) {
		err = cv_err_set(CV_ERR_NOT_IN_PROGRESS,
				 "the operation of '%s' changed while merging; try again", name);
		goto done;
	}
	/* The key once more, under the write lock, just before its secret is
	 * written: read logged in, a record changed since is refused. */
	cv_key_rec_clear(&key);
	if ((err = cv_key_rec_read(v, txn, name, version, &key)) != CV_OK ||
	    (err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	if ((err = cv_cert_rec_policy(&cert, &policy)) != CV_OK)
		goto done;
	/* A merged certificate is put in service enabled, whatever the policy's
	 * attributes said of the pending one. */
	policy->enabled = 1;
	policy->exportable = key.exportable;
	if ((err = cv_version_store(v, txn, &cert, policy, version, leaf, rest, priv,
				    tags != NULL ? tags : &op->tags)) != CV_OK)
		goto done;
	op->status = CV_OP_COMPLETED;
	free(op->status_details);
	op->status_details = NULL;
	op->updated = cv_now();
	if ((err = cv_op_write(v, txn, op)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL)
		err = cv_cert_get(v, name, version, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_operation_free(op);
	cv_cert_rec_clear(&cert);
	cv_key_rec_clear(&key);
	cv_policy_free(policy);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(rest, X509_free);
	X509_free(leaf);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(priv);
	return err;
}
