/* certvault: issuer records.
 *
 * An issuer names a provider and the account the vault uses with it.  The
 * password (Key Vault's name for the API key or EAB HMAC key) is sealed;
 * everything else is public to a reader of the vault.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "internal.h"

static const struct provider {
	const char *name;
	const char *directory_url; /* ACME presets */
} providers[] = {
	{ "DigiCert", "https://acme.digicert.com/v2/acme/directory/" },
	{ "GlobalSign", "https://emea.acme.atlas.globalsign.com/directory" },
	{ "ACME", NULL },
	{ "Vault", NULL },
};

static const struct provider *
find_provider(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(providers) / sizeof(providers[0]); i++)
		if (strcasecmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

void
cv_issuer_free(cv_issuer *is)
{
	size_t i;

	if (is == NULL)
		return;
	free(is->provider);
	free(is->account_id);
	if (is->password != NULL) {
		OPENSSL_cleanse(is->password, strlen(is->password));
		free(is->password);
	}
	free(is->organization_id);
	free(is->directory_url);
	free(is->ca_certificate);
	for (i = 0; i < is->n_allowed_names; i++)
		free(is->allowed_names[i]);
	free(is->allowed_names);
	for (i = 0; i < is->n_admins; i++) {
		free(is->admins[i].first_name);
		free(is->admins[i].last_name);
		free(is->admins[i].email);
		free(is->admins[i].phone);
	}
	free(is->admins);
	free(is);
}

int
cv_email_valid(const char *e)
{
	const char *at;

	if (e == NULL || strlen(e) > 254)
		return 0;
	at = strchr(e, '@');
	return at != NULL && at != e && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(e, " \t\r\n<>,;\"") == NULL;
}

#define ALLOWED_NAMES_MAX 64

/* The allowed names of a Vault issuer, stored as one comma-separated
 * field. */
static cv_err
allowed_names_read(const cv_field *f, cv_issuer *is)
{
	char *all = NULL, *s, *save = NULL;
	size_t n = 1, i;
	cv_err err;

	if (!f->present)
		return CV_OK;
	if ((err = cv_field_str(f, &all)) != CV_OK)
		return err;
	for (i = 0; all[i] != '\0'; i++)
		n += all[i] == ',';
	if (n > ALLOWED_NAMES_MAX) {
		free(all);
		return cv_err_set(CV_ERR_CORRUPT, "issuer '%s' lists %zu allowed names", is->name, n);
	}
	if ((is->allowed_names = calloc(n, sizeof(char *))) == NULL) {
		free(all);
		return CV_ERR_NOMEM;
	}
	for (s = strtok_r(all, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save)) {
		if ((is->allowed_names[is->n_allowed_names] = strdup(s)) == NULL) {
			free(all);
			return CV_ERR_NOMEM;
		}
		is->n_allowed_names++;
	}
	free(all);
	return CV_OK;
}

/* A DNS name, or "*." and a DNS name for every name under it. */
static int
allowed_name_valid(const char *s)
{
	size_t i, label = 0;

	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= '0' && s[i] <= '9') || s[i] == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

static const unsigned issuer_repeats[] = {
	CV_T_ADMIN_FIRST, CV_T_ADMIN_LAST, CV_T_ADMIN_EMAIL, CV_T_ADMIN_PHONE, 0
};

static cv_err
issuer_read(cv_vault *v, MDB_txn *txn, const char *name, int with_password,
	    cv_issuer **out)
{
	char lname[CV_NAME_MAX + 1];
	cv_field f[CV_T__MAX];
	cv_issuer *is = NULL;
	MDB_val val;
	uint64_t enabled, created, updated;
	unsigned char *pw = NULL;
	size_t pwlen = 0, off = 0, vlen, n = 0, idx[4] = { 0 };
	const unsigned char *p;
	unsigned tag;
	cv_err err;

	*out = NULL;
	cv_name_key(name, lname);
	if ((err = cv_db_get(v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			return cv_err_set(CV_ERR_NOT_FOUND, "issuer '%s' was not found", name);
		return err;
	}
	if ((is = calloc(1, sizeof(*is))) == NULL)
		return CV_ERR_NOMEM;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_ISSUER, issuer_repeats, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], is->name, sizeof(is->name))) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_PROVIDER], &is->provider)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ACCOUNT_ID], &is->account_id)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ORG_ID], &is->organization_id)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_DIRECTORY_URL], &is->directory_url)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_CA_CERT], &is->ca_certificate)) != CV_OK ||
	    (err = allowed_names_read(&f[CV_T_ALLOWED_NAMES], is)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_UPDATED], 0, &updated)) != CV_OK)
		goto done;
	is->enabled = enabled != 0;
	is->created = (int64_t)created;
	is->updated = (int64_t)updated;
	is->has_password = f[CV_T_SEALED].present;

	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
		if (tag == CV_T_ADMIN_EMAIL)
			n++;
	if (n > 16) {
		err = cv_err_set(CV_ERR_CORRUPT, "issuer '%s' lists %zu administrators", name, n);
		goto done;
	}
	if (n > 0 && (is->admins = calloc(n, sizeof(cv_admin))) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	is->n_admins = n;
	off = 0;
	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen)) {
		char **slot = NULL;
		cv_admin *a;
		int which = -1;

		switch (tag) {
		case CV_T_ADMIN_FIRST: which = 0; break;
		case CV_T_ADMIN_LAST: which = 1; break;
		case CV_T_ADMIN_EMAIL: which = 2; break;
		case CV_T_ADMIN_PHONE: which = 3; break;
		default: continue;
		}
		if (idx[which] >= n) {
			err = cv_err_set(CV_ERR_CORRUPT, "issuer '%s' has uneven administrator fields",
					 name);
			goto done;
		}
		a = &is->admins[idx[which]++];
		slot = which == 0 ? &a->first_name : which == 1 ? &a->last_name
			: which == 2 ? &a->email : &a->phone;
		if (memchr(p, '\0', vlen) != NULL || (*slot = malloc(vlen + 1)) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
		memcpy(*slot, p, vlen);
		(*slot)[vlen] = '\0';
	}
	if (with_password && is->has_password) {
		if ((err = cv_vault_unseal(v, CV_DB_ISSUERS, lname, strlen(lname),
					   f[CV_T_SEALED].p, f[CV_T_SEALED].len,
					   &pw, &pwlen)) != CV_OK)
			goto done;
		if (memchr(pw, '\0', pwlen) != NULL || (is->password = malloc(pwlen + 1)) == NULL) {
			err = CV_ERR_CORRUPT;
			goto done;
		}
		memcpy(is->password, pw, pwlen);
		is->password[pwlen] = '\0';
	}
	*out = is;
	is = NULL;
	err = CV_OK;
done:
	OPENSSL_clear_free(pw, pwlen);
	cv_issuer_free(is);
	return err;
}

static cv_err
issuer_write(cv_vault *v, MDB_txn *txn, const cv_issuer *is,
	     const unsigned char *sealed, size_t sealed_len)
{
	char lname[CV_NAME_MAX + 1];
	cv_wbuf w = { 0 };
	size_t i;
	cv_err err;

	cv_name_key(is->name, lname);
	cv_rec_begin(&w, CV_REC_ISSUER);
	cv_rec_put_str(&w, CV_T_NAME, is->name);
	cv_rec_put_str(&w, CV_T_PROVIDER, is->provider);
	cv_rec_put_str(&w, CV_T_ACCOUNT_ID, is->account_id);
	cv_rec_put_str(&w, CV_T_ORG_ID, is->organization_id);
	cv_rec_put_str(&w, CV_T_DIRECTORY_URL, is->directory_url);
	cv_rec_put_str(&w, CV_T_CA_CERT, is->ca_certificate);
	if (is->n_allowed_names > 0) {
		size_t len = 0, at = 0;
		char *names;

		for (i = 0; i < is->n_allowed_names; i++)
			len += strlen(is->allowed_names[i]) + 1;
		if ((names = malloc(len)) == NULL) {
			w.failed = 1;
		} else {
			for (i = 0; i < is->n_allowed_names; i++)
				at += (size_t)sprintf(names + at, "%s%s", i > 0 ? "," : "",
						      is->allowed_names[i]);
			cv_rec_put(&w, CV_T_ALLOWED_NAMES, names, at);
			free(names);
		}
	}
	if (sealed != NULL)
		cv_rec_put(&w, CV_T_SEALED, sealed, sealed_len);
	for (i = 0; i < is->n_admins; i++) {
		cv_rec_put_str(&w, CV_T_ADMIN_FIRST, is->admins[i].first_name ? is->admins[i].first_name : "");
		cv_rec_put_str(&w, CV_T_ADMIN_LAST, is->admins[i].last_name ? is->admins[i].last_name : "");
		cv_rec_put_str(&w, CV_T_ADMIN_EMAIL, is->admins[i].email ? is->admins[i].email : "");
		cv_rec_put_str(&w, CV_T_ADMIN_PHONE, is->admins[i].phone ? is->admins[i].phone : "");
	}
	cv_rec_put_u64(&w, CV_T_ENABLED, is->enabled ? 1 : 0);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)is->created);
	cv_rec_put_u64(&w, CV_T_UPDATED, (uint64_t)is->updated);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_ISSUERS, lname, strlen(lname), w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

static cv_err
check_issuer_fields(const cv_issuer *is, const struct provider **prov)
{
	size_t i;

	*prov = NULL;
	if (is->provider != NULL && (*prov = find_provider(is->provider)) == NULL)
		return cv_err_set(CV_ERR_INVALID,
				  "unknown provider '%s' (known: DigiCert, GlobalSign, ACME, Vault)",
				  is->provider);
	for (i = 0; i < is->n_admins; i++)
		if (is->admins[i].email != NULL && !cv_email_valid(is->admins[i].email))
			return cv_err_set(CV_ERR_INVALID, "administrator email '%s' is not an email address",
					  is->admins[i].email);
	if (is->n_admins > 16)
		return cv_err_set(CV_ERR_INVALID, "at most 16 administrators");
	if (is->directory_url != NULL && strncmp(is->directory_url, "https://", 8) != 0 &&
	    strncmp(is->directory_url, "http://127.0.0.1", 16) != 0 &&
	    strncmp(is->directory_url, "http://localhost", 16) != 0 &&
	    strncmp(is->directory_url, "http://[::1]", 12) != 0)
		return cv_err_set(CV_ERR_INVALID,
				  "directory URL '%s' must be https:// (plain http only on loopback)",
				  is->directory_url);
	if (is->ca_certificate != NULL && !cv_name_valid(is->ca_certificate))
		return cv_err_set(CV_ERR_INVALID, "CA certificate name '%s': %s",
				  is->ca_certificate, cv_strerror(CV_ERR_BAD_NAME));
	if (is->n_allowed_names > ALLOWED_NAMES_MAX)
		return cv_err_set(CV_ERR_INVALID, "at most %d allowed names", ALLOWED_NAMES_MAX);
	for (i = 0; i < is->n_allowed_names; i++)
		if (!allowed_name_valid(is->allowed_names[i]))
			return cv_err_set(CV_ERR_INVALID,
					  "allowed name '%s' is not a DNS name or *. and a DNS name",
					  is->allowed_names[i]);
	return CV_OK;
}

static char *
take(char *mine, const char *given, int *ok)
{
	if (given == NULL)
		return mine;
	free(mine);
	return cv_strdup_or_null(given, ok);
}

cv_err
cv_issuer_put(cv_vault *v, const cv_issuer *is, enum cv_put_mode mode,
	      cv_issuer **out)
{
	MDB_txn *txn = NULL;
	cv_issuer *cur = NULL;
	const struct provider *prov = NULL;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0, i;
	char lname[CV_NAME_MAX + 1];
	MDB_val val;
	int ok = 1;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (!cv_name_valid(is->name))
		return cv_err_set(CV_ERR_BAD_NAME, "issuer name '%s': %s", is->name,
				  cv_strerror(CV_ERR_BAD_NAME));
	if (strcasecmp(is->name, "Self") == 0 || strcasecmp(is->name, "Unknown") == 0)
		return cv_err_set(CV_ERR_INVALID, "'%s' is a reserved issuer name", is->name);
	if ((err = check_issuer_fields(is, &prov)) != CV_OK)
		return err;
	if (mode == CV_PUT_CREATE && is->provider == NULL)
		return cv_err_set(CV_ERR_INVALID, "an issuer needs a provider");
	if (is->password != NULL && cv_vault_logged_in(v) == CV_USER_NONE)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN, "storing an issuer's password needs the vault's PIN");
	cv_name_key(is->name, lname);

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if (mode == CV_PUT_CREATE) {
		err = cv_db_get(v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val);
		if (err == CV_OK) {
			err = cv_err_set(CV_ERR_EXISTS, "issuer '%s' already exists", is->name);
			goto done;
		}
		if (err != CV_ERR_NOT_FOUND)
			goto done;
		cv_err_clear();
		if ((cur = calloc(1, sizeof(*cur))) == NULL) {
			err = CV_ERR_NOMEM;
			goto done;
		}
		snprintf(cur->name, sizeof(cur->name), "%s", is->name);
		cur->created = cv_now();
	} else {
		if ((err = issuer_read(v, txn, is->name, 0, &cur)) != CV_OK)
			goto done;
	}
	if (prov != NULL) {
		cur->provider = take(cur->provider, prov->name, &ok);
		if (cur->directory_url == NULL && is->directory_url == NULL && prov->directory_url)
			cur->directory_url = cv_strdup_or_null(prov->directory_url, &ok);
	}
	cur->account_id = take(cur->account_id, is->account_id, &ok);
	cur->organization_id = take(cur->organization_id, is->organization_id, &ok);
	cur->directory_url = take(cur->directory_url, is->directory_url, &ok);
	cur->ca_certificate = take(cur->ca_certificate, is->ca_certificate, &ok);
	if (is->allowed_names != NULL) {
		for (i = 0; i < cur->n_allowed_names; i++)
			free(cur->allowed_names[i]);
		free(cur->allowed_names);
		cur->n_allowed_names = 0;
		if ((cur->allowed_names = calloc(is->n_allowed_names + 1, sizeof(char *))) == NULL)
			ok = 0;
		for (i = 0; ok && i < is->n_allowed_names; i++) {
			cur->allowed_names[i] = cv_strdup_or_null(is->allowed_names[i], &ok);
			cur->n_allowed_names = ok ? i + 1 : i;
		}
	}
	if (is->admins != NULL) {
		for (i = 0; i < cur->n_admins; i++) {
			free(cur->admins[i].first_name);
			free(cur->admins[i].last_name);
			free(cur->admins[i].email);
			free(cur->admins[i].phone);
		}
		free(cur->admins);
		cur->admins = calloc(is->n_admins ? is->n_admins : 1, sizeof(cv_admin));
		cur->n_admins = cur->admins ? is->n_admins : 0;
		if (cur->admins == NULL)
			ok = 0;
		for (i = 0; i < cur->n_admins; i++) {
			cur->admins[i].first_name = cv_strdup_or_null(is->admins[i].first_name, &ok);
			cur->admins[i].last_name = cv_strdup_or_null(is->admins[i].last_name, &ok);
			cur->admins[i].email = cv_strdup_or_null(is->admins[i].email, &ok);
			cur->admins[i].phone = cv_strdup_or_null(is->admins[i].phone, &ok);
		}
	}
	if (mode == CV_PUT_CREATE || is->enabled >= 0)
		cur->enabled = is->enabled != 0;
	cur->updated = cv_now();
	if (!ok) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if (is->password != NULL) {
		if ((err = cv_vault_seal(v, CV_DB_ISSUERS, lname, strlen(lname),
					 (const unsigned char *)is->password,
					 strlen(is->password), &sealed, &sealed_len)) != CV_OK)
			goto done;
	} else if (mode == CV_PUT_UPDATE) {
		/* Keep the stored sealed password as it is. */
		cv_field f[CV_T__MAX];

		if ((err = cv_db_get(v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val)) != CV_OK ||
		    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_ISSUER,
					issuer_repeats, f)) != CV_OK)
			goto done;
		if (f[CV_T_SEALED].present) {
			if ((sealed = OPENSSL_memdup(f[CV_T_SEALED].p, f[CV_T_SEALED].len)) == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			sealed_len = f[CV_T_SEALED].len;
		}
	}
	if (cur->provider != NULL && strcmp(cur->provider, "Vault") == 0 &&
	    (err = cv_vault_ca_check_issuer(v, txn, cur)) != CV_OK)
		goto done;
	if ((err = issuer_write(v, txn, cur, sealed, sealed_len)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL)
		err = cv_issuer_get(v, is->name, 0, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	OPENSSL_free(sealed);
	cv_issuer_free(cur);
	return err;
}

cv_err
cv_issuer_read(cv_vault *v, MDB_txn *txn, const char *name, cv_issuer **out)
{
	return issuer_read(v, txn, name, 0, out);
}

cv_err
cv_issuer_get(cv_vault *v, const char *name, int with_password, cv_issuer **out)
{
	MDB_txn *txn = NULL;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if (!cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "issuer name '%s': %s", name,
				  cv_strerror(CV_ERR_BAD_NAME));
	if (with_password && cv_vault_logged_in(v) == CV_USER_NONE)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN, "reading an issuer's password needs the vault's PIN");
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = issuer_read(v, txn, name, with_password, out);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_issuer_drop_passwords(cv_vault *v, MDB_txn *txn)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	char (*names)[CV_NAME_MAX + 1] = NULL, (*grown)[CV_NAME_MAX + 1];
	size_t count = 0, cap = 0, i;
	cv_issuer *is = NULL;
	cv_err err = CV_OK;
	int rc;

	/* Names first, then the rewrites: no put while a cursor walks. */
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_ISSUERS], &cur)) != 0)
		return cv_mdb_err(rc, "walk the issuers");
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "an issuer key of %zu bytes", key.mv_size);
			goto done;
		}
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			if ((grown = realloc(names, cap * sizeof(*names))) == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			names = grown;
		}
		memcpy(names[count], key.mv_data, key.mv_size);
		names[count++][key.mv_size] = '\0';
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "walk the issuers");
		goto done;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	for (i = 0; i < count; i++) {
		if ((err = issuer_read(v, txn, names[i], 0, &is)) != CV_OK)
			goto done;
		if (is->has_password &&
		    (err = issuer_write(v, txn, is, NULL, 0)) != CV_OK)
			goto done;
		cv_issuer_free(is);
		is = NULL;
	}
done:
	cv_issuer_free(is);
	if (cur != NULL)
		mdb_cursor_close(cur);
	free(names);
	return err;
}

cv_err
cv_issuer_list(cv_vault *v, cv_issuer ***out, size_t *n)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	cv_issuer **arr = NULL, *is = NULL;
	size_t count = 0, cap = 0;
	char name[CV_NAME_MAX + 1];
	cv_err err;
	int rc;

	cv_err_clear();
	*out = NULL;
	*n = 0;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((rc = mdb_cursor_open(txn, v->dbi[CV_DB_ISSUERS], &cur)) != 0) {
		err = cv_mdb_err(rc, "list issuers");
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size == 0 || key.mv_size > CV_NAME_MAX) {
			err = cv_err_set(CV_ERR_CORRUPT, "an issuer key of %zu bytes", key.mv_size);
			goto done;
		}
		memcpy(name, key.mv_data, key.mv_size);
		name[key.mv_size] = '\0';
		if ((err = issuer_read(v, txn, name, 0, &is)) != CV_OK)
			goto done;
		if (count == cap) {
			size_t nc = cap ? cap * 2 : 8;
			cv_issuer **na = realloc(arr, nc * sizeof(*na));

			if (na == NULL) {
				err = CV_ERR_NOMEM;
				goto done;
			}
			arr = na;
			cap = nc;
		}
		arr[count++] = is;
		is = NULL;
	}
	if (rc != MDB_NOTFOUND) {
		err = cv_mdb_err(rc, "list issuers");
		goto done;
	}
	*out = arr;
	*n = count;
	arr = NULL;
	count = 0;
	err = CV_OK;
done:
	cv_issuer_free(is);
	while (count > 0)
		cv_issuer_free(arr[--count]);
	free(arr);
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_issuer_delete(cv_vault *v, const char *name)
{
	MDB_txn *txn = NULL;
	char lname[CV_NAME_MAX + 1];
	cv_err err;

	cv_err_clear();
	if (!cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "issuer name '%s': %s", name,
				  cv_strerror(CV_ERR_BAD_NAME));
	cv_name_key(name, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_del(v, txn, CV_DB_ISSUERS, lname, strlen(lname));
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_NOT_FOUND, "issuer '%s' was not found", name);
	if (err != CV_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return cv_txn_write_commit(v, txn);
}
