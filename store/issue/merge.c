/* certvault: merging the CA's answer into a pending operation: one code
 * path for a merge by hand (cv_pending_merge) and for a provider's pass
 * (cv_op_complete). */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "internal.h"
#include "../x509.h"

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
cv_op_merge(cv_vault *v, const char *name, const char *claim,
	    const unsigned char *data, size_t len, const cv_tags *tags,
	    cv_cert_version **out)
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
	/* A pass completes only while it holds the claim, checked in the
	 * transaction that writes the version. */
	if (claim != NULL && (err = cv_op_claim_check(op, claim)) != CV_OK)
		goto done;
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
	op->claim[0] = '\0';
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

cv_err
cv_pending_merge(cv_vault *v, const char *name, const unsigned char *data,
		 size_t len, const cv_tags *tags, cv_cert_version **out)
{
	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	return cv_op_merge(v, name, NULL, data, len, tags, out);
}

cv_err
cv_op_complete(cv_vault *v, const cv_operation *op, const unsigned char *data,
	       size_t len, cv_cert_version **out)
{
	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (op == NULL)
		return cv_err_set(CV_ERR_INVALID, "no operation given");
	return cv_op_merge(v, op->name, op->claim, data, len, NULL, out);
}
