/* certvault: the vault's mail relay and hook command.  The relay's
 * password is sealed like issuer passwords, bound to its record. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"

#define MAIL_KEY "mail"
#define HOOK_MAX 4096

void
cv_mail_settings_free(cv_mail_settings *s)
{
	if (s == NULL)
		return;
	free(s->host);
	free(s->user);
	if (s->password != NULL)
		OPENSSL_clear_free(s->password, strlen(s->password));
	free(s->from);
	free(s);
}

static int
loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0;
}

static cv_err
check_settings(const cv_mail_settings *s)
{
	const char *p;

	if (s == NULL || s->host == NULL || s->host[0] == '\0')
		return cv_err_set(CV_ERR_INVALID, "the mail relay needs a host");
	if (strlen(s->host) > 255)
		return cv_err_set(CV_ERR_INVALID, "mail host: longer than 255 characters");
	for (p = s->host; *p; p++)
		if (!isgraph((unsigned char)*p) || *p == '/' || *p == '@' || *p == '?' ||
		    *p == '#')
			return cv_err_set(CV_ERR_INVALID, "mail host '%s' is not a host name "
					  "or address", s->host);
	if (s->port < 1 || s->port > 65535)
		return cv_err_set(CV_ERR_INVALID, "mail port %u is outside 1..65535", s->port);
	if (s->security != CV_MAIL_PLAIN && s->security != CV_MAIL_STARTTLS &&
	    s->security != CV_MAIL_TLS)
		return cv_err_set(CV_ERR_INVALID, "mail security: unknown value");
	if (s->security == CV_MAIL_PLAIN && !loopback(s->host))
		return cv_err_set(CV_ERR_INVALID, "mail relay %s without TLS: only 127.0.0.1 "
				  "or [::1] may be used without --starttls or --tls", s->host);
	if (s->password != NULL && (s->user == NULL || s->user[0] == '\0'))
		return cv_err_set(CV_ERR_INVALID, "a mail password needs a user");
	if (s->user != NULL && (s->user[0] == '\0' || strlen(s->user) > 255))
		return cv_err_set(CV_ERR_INVALID, "mail user: 1 to 255 characters");
	if (s->user != NULL && (s->password == NULL || s->password[0] == '\0'))
		return cv_err_set(CV_ERR_INVALID, "a mail user needs a password");
	if (s->password != NULL && strlen(s->password) > 1024)
		return cv_err_set(CV_ERR_INVALID, "mail password: longer than 1024 bytes");
	if (s->from == NULL || !cv_email_valid(s->from))
		return cv_err_set(CV_ERR_INVALID, "sender '%s' is not an email address",
				  s->from ? s->from : "");
	return CV_OK;
}

cv_err
cv_mail_settings_set(cv_vault *v, const cv_mail_settings *s)
{
	MDB_txn *txn = NULL;
	cv_wbuf w = { 0 };
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	cv_err err;

	cv_err_clear();
	if ((err = check_settings(s)) != CV_OK)
		return err;
	if (s->password != NULL &&
	    (err = cv_vault_seal(v, CV_DB_META, MAIL_KEY, strlen(MAIL_KEY),
				 (const unsigned char *)s->password, strlen(s->password),
				 &sealed, &sealed_len)) != CV_OK)
		return err;
	cv_rec_begin(&w, CV_REC_MAIL_SETTINGS);
	cv_rec_put_str(&w, CV_T_HOST, s->host);
	cv_rec_put_u64(&w, CV_T_PORT, s->port);
	cv_rec_put_u64(&w, CV_T_SECURITY, (uint64_t)s->security);
	cv_rec_put_str(&w, CV_T_USER, s->user);
	if (sealed != NULL)
		cv_rec_put(&w, CV_T_SEALED, sealed, sealed_len);
	cv_rec_put_str(&w, CV_T_FROM, s->from);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_txn_write(v, &txn)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, MAIL_KEY, strlen(MAIL_KEY), w.p, w.len,
			     0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	OPENSSL_free(sealed);
	cv_wbuf_free(&w);
	return err;
}

cv_err
cv_mail_settings_get(cv_vault *v, int with_password, cv_mail_settings **out)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	cv_mail_settings *s = NULL;
	unsigned char *pw = NULL;
	size_t pwlen = 0;
	uint64_t port, sec;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if (with_password && cv_vault_logged_in(v) != CV_USER_NORMAL)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN, "the mail password needs the user PIN");
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	err = cv_db_get(v, txn, CV_DB_META, MAIL_KEY, strlen(MAIL_KEY), &val);
	if (err == CV_ERR_NOT_FOUND) {
		err = cv_err_set(CV_ERR_NOT_FOUND, "the vault has no mail relay (certvault "
				 "vault set-mail)");
		goto done;
	}
	if (err != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_MAIL_SETTINGS, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_HOST], "the mail host")) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_HOST], &s->host)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_USER], &s->user)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_FROM], &s->from)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_PORT], 0, &port)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_SECURITY], 0, &sec)) != CV_OK)
		goto done;
	if (port < 1 || port > 65535 || sec > CV_MAIL_TLS || s->from == NULL) {
		err = cv_err_set(CV_ERR_CORRUPT, "the vault's mail relay record is damaged");
		goto done;
	}
	s->port = (unsigned)port;
	s->security = (enum cv_mail_security)sec;
	s->has_password = f[CV_T_SEALED].present;
	if (with_password && s->has_password) {
		if ((err = cv_vault_unseal(v, CV_DB_META, MAIL_KEY, strlen(MAIL_KEY),
					   f[CV_T_SEALED].p, f[CV_T_SEALED].len, &pw,
					   &pwlen)) != CV_OK)
			goto done;
		if (memchr(pw, '\0', pwlen) != NULL || (s->password = malloc(pwlen + 1)) == NULL) {
			err = memchr(pw, '\0', pwlen) != NULL ?
			      cv_err_set(CV_ERR_CORRUPT, "the mail password is damaged") : CV_ERR_NOMEM;
			goto done;
		}
		memcpy(s->password, pw, pwlen);
		s->password[pwlen] = '\0';
	}
	*out = s;
	s = NULL;
done:
	mdb_txn_abort(txn);
	OPENSSL_clear_free(pw, pwlen);
	cv_mail_settings_free(s);
	return err;
}

static cv_err
meta_delete(cv_vault *v, const char *key, const char *what)
{
	MDB_txn *txn = NULL;
	cv_err err;

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	err = cv_db_del(v, txn, CV_DB_META, key, strlen(key));
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_NOT_FOUND, "the vault has no %s", what);
	if (err != CV_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return cv_txn_write_commit(v, txn);
}

cv_err
cv_mail_settings_clear(cv_vault *v)
{
	cv_err_clear();
	return meta_delete(v, MAIL_KEY, "mail relay");
}

cv_err
cv_life_drop_sealed(cv_vault *v, MDB_txn *txn)
{
	cv_err err = cv_db_del(v, txn, CV_DB_META, MAIL_KEY, strlen(MAIL_KEY));

	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		err = CV_OK;
	}
	return err;
}

cv_err
cv_hook_set(cv_vault *v, const char *command)
{
	MDB_txn *txn = NULL;
	cv_wbuf w = { 0 };
	const char *p;
	int blank = 1;
	cv_err err;

	cv_err_clear();
	if (command == NULL)
		return meta_delete(v, LIFE_HOOK_KEY, "hook");
	if (strlen(command) > HOOK_MAX)
		return cv_err_set(CV_ERR_INVALID, "hook command: longer than %d bytes", HOOK_MAX);
	for (p = command; *p; p++) {
		if (iscntrl((unsigned char)*p) && *p != '\t')
			return cv_err_set(CV_ERR_INVALID, "hook command: a control character");
		if (*p != ' ' && *p != '\t')
			blank = 0;
	}
	if (blank)
		return cv_err_set(CV_ERR_INVALID, "hook command: empty");
	cv_rec_begin(&w, CV_REC_HOOK);
	cv_rec_put_str(&w, CV_T_COMMAND, command);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_txn_write(v, &txn)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, LIFE_HOOK_KEY, strlen(LIFE_HOOK_KEY), w.p, w.len,
			     0)) != CV_OK ||
	    (err = life_hook_cursor_to_last(v, txn)) != CV_OK)
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
cv_hook_get(cv_vault *v, char **out)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cv_db_get(v, txn, CV_DB_META, LIFE_HOOK_KEY, strlen(LIFE_HOOK_KEY), &val);
	if (err == CV_ERR_NOT_FOUND)
		err = cv_err_set(CV_ERR_NOT_FOUND, "the vault has no hook");
	if (err == CV_OK &&
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HOOK, NULL, f)) == CV_OK &&
	    (err = cv_field_need(&f[CV_T_COMMAND], "the hook command")) == CV_OK)
		err = cv_field_str(&f[CV_T_COMMAND], out);
	mdb_txn_abort(txn);
	return err;
}
