/* certvault: keys by number, id and name, for the PKCS#11 face.
 *
 * Each lookup is one or two B-tree reads in a fresh read transaction, so a
 * running application sees what the tool wrote without a restart, and the
 * cost does not grow with the number of certificates.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"

void
cv_key_info_clear(cv_key_info *k)
{
	if (k == NULL)
		return;
	OPENSSL_free(k->spki.data);
	memset(k, 0, sizeof(*k));
}

/* Split a "name\0version" index value. */
static cv_err
split_vkey(const MDB_val *val, char name[CV_NAME_MAX + 1],
	   char version[CV_VERSION_LEN + 1])
{
	const char *p = val->mv_data;
	size_t n;

	if (val->mv_size < 2 + CV_VERSION_LEN ||
	    (n = strnlen(p, val->mv_size)) == val->mv_size || n == 0 ||
	    n > CV_NAME_MAX || val->mv_size - n - 1 != CV_VERSION_LEN)
		return cv_err_set(CV_ERR_CORRUPT, "a key index entry of %zu bytes",
				  val->mv_size);
	memcpy(name, p, n);
	name[n] = '\0';
	memcpy(version, p + n + 1, CV_VERSION_LEN);
	version[CV_VERSION_LEN] = '\0';
	return CV_OK;
}

/* The current version's id and the pending operation's (each "" if none),
 * and the certificate's name as written, without reading the policy. */
static cv_err
cert_state(cv_vault *v, MDB_txn *txn, const char *lname,
	   char name[CV_NAME_MAX + 1], char current[CV_VERSION_LEN + 1],
	   char pending[CV_VERSION_LEN + 1])
{
	cv_field f[CV_T__MAX];
	MDB_val val;
	uint64_t status;
	cv_err err;

	current[0] = pending[0] = '\0';
	if ((err = cv_db_get(v, txn, CV_DB_CERTS, lname, strlen(lname), &val)) != CV_OK)
		return err;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_CERT, NULL, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], name, CV_NAME_MAX + 1)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_CURRENT], current, CV_VERSION_LEN + 1)) != CV_OK)
		return err;
	err = cv_db_get(v, txn, CV_DB_PENDING, lname, strlen(lname), &val);
	if (err == CV_ERR_NOT_FOUND)
		return CV_OK;
	if (err != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_OPERATION, NULL, f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_STATUS], 0, &status)) != CV_OK)
		return err;
	if (status == CV_OP_IN_PROGRESS)
		return cv_field_strbuf(&f[CV_T_VERSION], pending, CV_VERSION_LEN + 1);
	return CV_OK;
}

/* Fill out for the key stored under lname/version. */
static cv_err
key_load(cv_vault *v, MDB_txn *txn, const char *lname, const char *version,
	 cv_key_info *out)
{
	cv_key_rec rec = { 0 };
	char current[CV_VERSION_LEN + 1], pending[CV_VERSION_LEN + 1];
	cv_field f[CV_T__MAX];
	cv_vkey k;
	MDB_val val;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cert_state(v, txn, lname, out->name, current, pending)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			err = cv_err_set(CV_ERR_CORRUPT, "a key of '%s' has no certificate", lname);
		return err;
	}
	if ((err = cv_key_rec_read_part(v, txn, lname, version, 0, &rec)) != CV_OK)
		return err;
	out->num = rec.num;
	memcpy(out->version, version, CV_VERSION_LEN + 1);
	memcpy(out->key_id, rec.key_id, sizeof(out->key_id));
	out->kty = (enum cv_key_type)rec.kty;
	memcpy(out->curve, rec.curve, sizeof(out->curve));
	out->key_usage = rec.key_usage;
	out->exportable = rec.exportable;
	out->imported = rec.imported;
	out->created = rec.created;
	out->spki = rec.spki;
	rec.spki.data = NULL;
	out->bits = rec.kty == CV_KEY_RSA ? rec.key_size
		    : strcmp(rec.curve, "P-384") == 0 ? 384
		    : strcmp(rec.curve, "P-521") == 0 ? 521 : 256;
	cv_key_rec_clear(&rec);

	if (strcmp(version, current) == 0) {
		uint64_t enabled, nbf, exp;

		out->state = CV_KEY_CURRENT;
		cv_vkey_make(&k, lname, version);
		if ((err = cv_db_get(v, txn, CV_DB_VERSIONS, k.b, k.len, &val)) != CV_OK ||
		    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_VERSION,
					(const unsigned[]){ CV_T_CHAIN, CV_T_TAG_NAME,
							    CV_T_TAG_VALUE, 0 }, f)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_NBF], 0, &nbf)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_EXP], 0, &exp)) != CV_OK) {
			cv_key_info_clear(out);
			return err == CV_ERR_NOT_FOUND ? CV_ERR_CORRUPT : err;
		}
		out->enabled = enabled != 0;
		out->nbf = (int64_t)nbf;
		out->exp = (int64_t)exp;
		{
			size_t off = 0, vlen;
			const unsigned char *p;
			unsigned tag;

			while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
				if (tag == CV_T_CHAIN)
					out->chain_len++;
		}
	} else if (strcmp(version, pending) == 0) {
		out->state = CV_KEY_PENDING;
		out->enabled = 1;
	} else {
		out->state = CV_KEY_RETIRED;
	}
	return CV_OK;
}

static cv_err
key_by_num(cv_vault *v, MDB_txn *txn, uint64_t num, cv_key_info *out)
{
	unsigned char nk[8];
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	MDB_val val;
	cv_err err;

	num_be(num, nk);
	if ((err = cv_db_get(v, txn, CV_DB_KEY_NUMS, nk, sizeof(nk), &val)) != CV_OK)
		return err;
	if ((err = split_vkey(&val, name, version)) != CV_OK)
		return err;
	return key_load(v, txn, name, version, out);
}

cv_err
cv_key_get(cv_vault *v, uint64_t num, cv_key_info *out)
{
	MDB_txn *txn = NULL;
	cv_err err;

	cv_err_clear();
	memset(out, 0, sizeof(*out));
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = key_by_num(v, txn, num, out);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_key_find_id(cv_vault *v, const unsigned char *id, size_t id_len,
	       uint64_t *nums, size_t max, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k = { .mv_size = id_len, .mv_data = (void *)id }, d;
	cv_key_info info;
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	*n = 0;
	if (id_len != 20)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &cur)) != 0) {
		err = cv_mdb_err(rc, "find a key id");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0 && *n < max;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP)) {
		if ((err = split_vkey(&d, name, version)) != CV_OK ||
		    (err = key_load(v, txn, name, version, &info)) != CV_OK)
			goto done;
		if (info.state != CV_KEY_RETIRED)
			nums[(*n)++] = info.num;
		cv_key_info_clear(&info);
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "find a key id");
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_key_find_name(cv_vault *v, const char *name, uint64_t nums[2], size_t *n)
{
	MDB_txn *txn = NULL;
	char lname[CV_NAME_MAX + 1], written[CV_NAME_MAX + 1];
	char current[CV_VERSION_LEN + 1], pending[CV_VERSION_LEN + 1];
	cv_err err;

	cv_err_clear();
	*n = 0;
	if (!cv_name_valid(name))
		return CV_OK;
	cv_name_key(name, lname);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cert_state(v, txn, lname, written, current, pending);
	if (err == CV_ERR_NOT_FOUND) {
		err = CV_OK;
		goto done;
	}
	if (err != CV_OK)
		goto done;
	if (current[0] != '\0') {
		if ((err = cv_key_rec_num(v, txn, lname, current, &nums[*n])) != CV_OK)
			goto done;
		(*n)++;
	}
	if (pending[0] != '\0' && strcmp(pending, current) != 0) {
		if ((err = cv_key_rec_num(v, txn, lname, pending, &nums[*n])) != CV_OK)
			goto done;
		(*n)++;
	}
done:
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_key_next(cv_vault *v, uint64_t after, cv_key_info *out)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	unsigned char nk[8];
	MDB_val k, d;
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_err err = CV_ERR_NOT_FOUND;
	int rc;

	cv_err_clear();
	memset(out, 0, sizeof(*out));
	if (after == UINT64_MAX)
		return CV_ERR_NOT_FOUND;
	num_be(after + 1, nk);
	k.mv_data = nk;
	k.mv_size = sizeof(nk);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_NUMS], &cur)) != 0) {
		err = cv_mdb_err(rc, "walk the keys");
		goto done;
	}
	err = CV_ERR_NOT_FOUND;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if ((err = split_vkey(&d, name, version)) != CV_OK ||
		    (err = key_load(v, txn, name, version, out)) != CV_OK)
			goto done;
		if (out->state != CV_KEY_RETIRED)
			goto done;
		cv_key_info_clear(out);
		err = CV_ERR_NOT_FOUND;
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "walk the keys");
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_key_private(cv_vault *v, uint64_t num, EVP_PKEY **out)
{
	MDB_txn *txn = NULL;
	unsigned char nk[8];
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_key_rec rec = { 0 };
	MDB_val val;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if (cv_vault_logged_in(v) == CV_USER_NONE)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN, "a private key needs the vault's PIN");
	num_be(num, nk);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_db_get(v, txn, CV_DB_KEY_NUMS, nk, sizeof(nk), &val)) != CV_OK ||
	    (err = split_vkey(&val, name, version)) != CV_OK ||
	    (err = cv_key_rec_read(v, txn, name, version, &rec)) != CV_OK ||
	    (err = cv_key_rec_check_use(v, txn, name, version, num, &rec)) != CV_OK)
		goto done;
	mdb_txn_abort(txn);
	txn = NULL;
	err = cv_key_rec_private(v, name, version, &rec, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_key_rec_clear(&rec);
	return err;
}
