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

/* The enabled flag, validity and chain length of a version, from its
 * record.  Errors: CV_ERR_NOT_FOUND when the version has no record. */
static cv_err
version_state(cv_vault *v, MDB_txn *txn, const char *lname, const char *version,
	      cv_key_info *out)
{
	static const unsigned repeats[] = { CV_T_CHAIN, CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };
	cv_field f[CV_T__MAX];
	cv_vkey k;
	MDB_val val;
	uint64_t enabled, nbf, exp;
	size_t off = 0, vlen;
	const unsigned char *p;
	unsigned tag;
	cv_err err;

	cv_vkey_make(&k, lname, version);
	if ((err = cv_db_get(v, txn, CV_DB_VERSIONS, k.b, k.len, &val)) != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_VERSION, repeats,
				f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_NBF], 0, &nbf)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_EXP], 0, &exp)) != CV_OK)
		return err;
	out->enabled = enabled != 0;
	out->nbf = (int64_t)nbf;
	out->exp = (int64_t)exp;
	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
		if (tag == CV_T_CHAIN)
			out->chain_len++;
	return CV_OK;
}

/* Fill out for the key stored under lname/version; *has_current (may be
 * NULL) tells whether its certificate has a current version. */
static cv_err
key_load(cv_vault *v, MDB_txn *txn, const char *lname, const char *version,
	 cv_key_info *out, int *has_current)
{
	cv_key_rec rec = { 0 };
	char current[CV_VERSION_LEN + 1], pending[CV_VERSION_LEN + 1];
	cv_err err;

	memset(out, 0, sizeof(*out));
	if (has_current != NULL)
		*has_current = 0;
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

	if (strcmp(version, pending) == 0) {
		out->state = CV_KEY_PENDING;
		out->enabled = 1;
	} else if ((err = version_state(v, txn, lname, version, out)) == CV_OK) {
		out->state = strcmp(version, current) == 0 ? CV_KEY_CURRENT : CV_KEY_OLDER;
	} else if (err == CV_ERR_NOT_FOUND && strcmp(version, current) != 0) {
		/* A key whose operation was cancelled or failed: no version. */
		cv_err_clear();
		out->state = CV_KEY_RETIRED;
	} else {
		cv_key_info_clear(out);
		return err == CV_ERR_NOT_FOUND
		       ? cv_err_set(CV_ERR_CORRUPT, "the current version of '%s' has no record",
				    lname)
		       : err;
	}
	if (has_current != NULL)
		*has_current = current[0] != '\0';
	return CV_OK;
}

/* Whether a live key of state sa and number na comes before one of sb, nb
 * among keys sharing a key id: current keys first, then by number. */
static int
key_before(enum cv_key_state sa, uint64_t na, enum cv_key_state sb, uint64_t nb)
{
	if (sa != sb)
		return sa == CV_KEY_CURRENT;
	return na < nb;
}

/* The state and number of the key a key_ids entry names, reading no more
 * than the certificate record and the key's number: *live is 0 unless the
 * key is current or pending. */
static cv_err
entry_live(cv_vault *v, MDB_txn *txn, const MDB_val *entry, int *live,
	   enum cv_key_state *state, uint64_t *num)
{
	char lname[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	char written[CV_NAME_MAX + 1];
	char current[CV_VERSION_LEN + 1], pending[CV_VERSION_LEN + 1];
	cv_err err;

	*live = 0;
	*num = 0;
	if ((err = split_vkey(entry, lname, version)) != CV_OK)
		return err;
	if ((err = cert_state(v, txn, lname, written, current, pending)) != CV_OK)
		return err == CV_ERR_NOT_FOUND
		       ? cv_err_set(CV_ERR_CORRUPT, "a key of '%s' has no certificate", lname)
		       : err;
	if (strcmp(version, current) == 0)
		*state = CV_KEY_CURRENT;
	else if (strcmp(version, pending) == 0)
		*state = CV_KEY_PENDING;
	else
		return CV_OK;
	if ((err = cv_key_rec_num(v, txn, lname, version, num)) != CV_OK)
		return err;
	*live = 1;
	return CV_OK;
}

/* 1 in *first unless another live key with k's key id comes before k. */
static cv_err
key_first_for_id(cv_vault *v, MDB_txn *txn, const cv_key_info *k, int *first)
{
	MDB_cursor *cur = NULL;
	MDB_val id = { .mv_size = sizeof(k->key_id), .mv_data = (void *)k->key_id }, d;
	enum cv_key_state state = CV_KEY_RETIRED;
	uint64_t num;
	cv_vkey self;
	int live, rc;
	cv_err err = CV_OK;

	*first = 1;
	cv_vkey_make(&self, k->name, k->version);
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &cur)) != 0)
		return cv_mdb_err(rc, "find a key id");
	for (rc = mdb_cursor_get(cur, &id, &d, MDB_SET_KEY); rc == 0 && *first;
	     rc = mdb_cursor_get(cur, &id, &d, MDB_NEXT_DUP)) {
		if (d.mv_size == self.len && memcmp(d.mv_data, self.b, self.len) == 0)
			continue;
		if ((err = entry_live(v, txn, &d, &live, &state, &num)) != CV_OK)
			goto done;
		if (live && num != k->num && key_before(state, num, k->state, k->num))
			*first = 0;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "find a key id");
done:
	mdb_cursor_close(cur);
	return err;
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
	return key_load(v, txn, name, version, out, NULL);
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
	enum cv_key_state state = CV_KEY_RETIRED, *states = NULL;
	uint64_t num;
	size_t pos, i;
	int live;
	cv_err err = CV_OK;
	int rc;

	cv_err_clear();
	*n = 0;
	if (id_len != 20 || max == 0)
		return CV_OK;
	if ((states = calloc(max, sizeof(*states))) == NULL)
		return CV_ERR_NOMEM;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		goto done;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &cur)) != 0) {
		err = cv_mdb_err(rc, "find a key id");
		goto done;
	}
	/* Keep the best max in order: the index sorts by name, not rank. */
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP)) {
		if ((err = entry_live(v, txn, &d, &live, &state, &num)) != CV_OK)
			goto done;
		if (!live)
			continue;
		for (pos = 0; pos < *n && !key_before(state, num, states[pos], nums[pos]); pos++)
			;
		if (pos == max)
			continue;
		if (*n < max)
			(*n)++;
		for (i = *n - 1; i > pos; i--) {
			states[i] = states[i - 1];
			nums[i] = nums[i - 1];
		}
		states[pos] = state;
		nums[pos] = num;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "find a key id");
done:
	if (err != CV_OK)
		*n = 0;
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	free(states);
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
	int rc, has_current, first;

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
		    (err = key_load(v, txn, name, version, out, &has_current)) != CV_OK)
			goto done;
		first = 0;
		if ((out->state == CV_KEY_CURRENT ||
		     (out->state == CV_KEY_PENDING && !has_current)) &&
		    (err = key_first_for_id(v, txn, out, &first)) != CV_OK) {
			cv_key_info_clear(out);
			goto done;
		}
		if (first)
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

cv_err
cv_key_id_owner_check(cv_vault *v, MDB_txn *txn, const char *name,
		      const unsigned char id[20])
{
	MDB_cursor *cur = NULL;
	MDB_val k = { .mv_size = 20, .mv_data = (void *)id }, d;
	char lname[CV_NAME_MAX + 1], other[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	char written[CV_NAME_MAX + 1];
	char current[CV_VERSION_LEN + 1], pending[CV_VERSION_LEN + 1];
	cv_err err = CV_OK;
	int rc;

	cv_name_key(name, lname);
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_KEY_IDS], &cur)) != 0)
		return cv_mdb_err(rc, "find a key id");
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_DUP)) {
		if ((err = split_vkey(&d, other, version)) != CV_OK)
			goto done;
		if (strcmp(other, lname) == 0)
			continue;
		if (cert_state(v, txn, other, written, current, pending) != CV_OK)
			snprintf(written, sizeof(written), "%s", other);
		err = cv_err_set(CV_ERR_EXISTS,
				 "the private key already belongs to certificate '%s' in "
				 "this vault; a key belongs to one certificate (import it as "
				 "a new version of '%s')", written, written);
		goto done;
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "find a key id");
done:
	mdb_cursor_close(cur);
	return err;
}
