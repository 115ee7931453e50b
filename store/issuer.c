/* certvault: issuer records.
 *
 * An issuer names a provider and the account the vault uses with it.  The
 * password (Key Vault's name for the API key or EAB HMAC key) is sealed;
 * so is an ACME issuer's account key, made here and bound to the issuer's
 * name; everything else is public to a reader of the vault.  The account
 * key signs and the binding key MACs inside the store: neither is ever
 * returned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

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

int
cv_provider_is_acme(const char *provider)
{
	const struct provider *p = find_provider(provider);

	return p != NULL && strcmp(p->name, "Vault") != 0;
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
	free(is->email);
	free(is->ca_file);
	free(is->http_listen);
	free(is->webroot);
	free(is->dns_hook);
	free(is->account_url);
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

static const unsigned issuer_repeats[] = {
	CV_T_ADMIN_FIRST, CV_T_ADMIN_LAST, CV_T_ADMIN_EMAIL, CV_T_ADMIN_PHONE, 0
};

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

/* What an issuer record keeps sealed or binds to its seal, copied out as it
 * is stored, so that a rewrite keeps it without opening it. */
typedef struct issuer_sealed {
	cv_blob password;     /* sealed */
	cv_blob account_key;  /* sealed PKCS#8 */
	cv_blob account_spki; /* its public half */
} issuer_sealed;

static void
issuer_sealed_clear(issuer_sealed *s)
{
	OPENSSL_free(s->password.data);
	OPENSSL_free(s->account_key.data);
	OPENSSL_free(s->account_spki.data);
	memset(s, 0, sizeof(*s));
}

static cv_err
blob_copy(const cv_field *f, cv_blob *out)
{
	out->data = NULL;
	out->len = 0;
	if (!f->present)
		return CV_OK;
	if ((out->data = OPENSSL_memdup(f->p, f->len ? f->len : 1)) == NULL)
		return CV_ERR_NOMEM;
	out->len = f->len;
	return CV_OK;
}

/* The sealed members of the stored record of lname (none when there is no
 * record). */
static cv_err
issuer_sealed_read(cv_vault *v, MDB_txn *txn, const char *lname,
		   issuer_sealed *out)
{
	cv_field f[CV_T__MAX];
	MDB_val val;
	cv_err err;

	memset(out, 0, sizeof(*out));
	err = cv_db_get(v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_ISSUER, issuer_repeats,
				f)) != CV_OK)
		return err;
	if ((err = blob_copy(&f[CV_T_SEALED], &out->password)) != CV_OK ||
	    (err = blob_copy(&f[CV_T_ACCOUNT_KEY], &out->account_key)) != CV_OK ||
	    (err = blob_copy(&f[CV_T_SPKI], &out->account_spki)) != CV_OK)
		issuer_sealed_clear(out);
	return err;
}

/* The additional data the account key is sealed with: the issuer's record
 * key and what the sealed value is, so it opens for this issuer's account
 * key only (not as another issuer's, nor as a password). */
static void
account_key_ad(const char *lname, unsigned char *ad, size_t *adlen)
{
	static const char what[] = "acme-account-key";
	size_t n = strlen(lname);

	memcpy(ad, lname, n);
	ad[n] = '\0';
	memcpy(ad + n + 1, what, sizeof(what) - 1);
	*adlen = n + 1 + sizeof(what) - 1;
}

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
	    (err = cv_field_str(&f[CV_T_EMAIL], &is->email)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_CA_FILE], &is->ca_file)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_HTTP_LISTEN], &is->http_listen)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_WEBROOT], &is->webroot)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_DNS_HOOK], &is->dns_hook)) != CV_OK ||
	    (err = cv_field_str(&f[CV_T_ACCOUNT_URL], &is->account_url)) != CV_OK ||
	    (err = allowed_names_read(&f[CV_T_ALLOWED_NAMES], is)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_UPDATED], 0, &updated)) != CV_OK)
		goto done;
	is->enabled = enabled != 0;
	is->created = (int64_t)created;
	is->updated = (int64_t)updated;
	is->has_password = f[CV_T_SEALED].present;
	is->has_account_key = f[CV_T_ACCOUNT_KEY].present && f[CV_T_SPKI].present;

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
	     const issuer_sealed *sealed)
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
	cv_rec_put_str(&w, CV_T_EMAIL, is->email);
	cv_rec_put_str(&w, CV_T_CA_FILE, is->ca_file);
	cv_rec_put_str(&w, CV_T_HTTP_LISTEN, is->http_listen);
	cv_rec_put_str(&w, CV_T_WEBROOT, is->webroot);
	cv_rec_put_str(&w, CV_T_DNS_HOOK, is->dns_hook);
	cv_rec_put_str(&w, CV_T_ACCOUNT_URL, is->account_url);
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
	if (sealed != NULL && sealed->password.data != NULL)
		cv_rec_put(&w, CV_T_SEALED, sealed->password.data, sealed->password.len);
	if (sealed != NULL && sealed->account_key.data != NULL &&
	    sealed->account_spki.data != NULL) {
		cv_rec_put(&w, CV_T_ACCOUNT_KEY, sealed->account_key.data,
			   sealed->account_key.len);
		cv_rec_put(&w, CV_T_SPKI, sealed->account_spki.data, sealed->account_spki.len);
	}
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

/* 1 when s holds no control characters. */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* An ACME directory URL: https://HOST..., or http:// to a loopback address
 * (a test CA on this machine) only. */
static cv_err
check_directory_url(const char *url)
{
	const char *host;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://127.0.0.1", 16) == 0 &&
		 (url[16] == '\0' || url[16] == ':' || url[16] == '/'))
		host = url + 7;
	else if (strncmp(url, "http://[::1]", 12) == 0 &&
		 (url[12] == '\0' || url[12] == ':' || url[12] == '/'))
		host = url + 7;
	else
		return cv_err_set(CV_ERR_INVALID,
				  "directory URL '%s' must be https:// (plain http:// only to "
				  "127.0.0.1 or [::1])", url);
	if (host[0] == '\0' || host[0] == '/' || host[0] == ':' || !printable(url) ||
	    strpbrk(url, " \"<>\\^`{|}") != NULL || strlen(url) > 2048)
		return cv_err_set(CV_ERR_INVALID, "directory URL '%s' is not a URL", url);
	return CV_OK;
}

/* ADDR:PORT for the http-01 responder: an IPv4 address or a bracketed IPv6
 * address, and a port 1 to 65535. */
static cv_err
check_listen(const char *listen)
{
	char addr[64];
	const char *colon, *port;
	unsigned char buf[sizeof(struct in6_addr)];
	char *end;
	long n;
	int ok;

	colon = strrchr(listen, ':');
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(addr) || colon == listen)
		goto bad;
	port = colon + 1;
	memcpy(addr, listen, (size_t)(colon - listen));
	addr[colon - listen] = '\0';
	if (addr[0] == '[') {
		size_t al = strlen(addr);

		if (al < 3 || addr[al - 1] != ']')
			goto bad;
		addr[al - 1] = '\0';
		ok = inet_pton(AF_INET6, addr + 1, buf) == 1;
	} else {
		ok = inet_pton(AF_INET, addr, buf) == 1;
	}
	if (!ok || port[0] < '0' || port[0] > '9')
		goto bad;
	n = strtol(port, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535)
		goto bad;
	return CV_OK;
bad:
	return cv_err_set(CV_ERR_INVALID,
			  "HTTP listen address '%s' is not ADDR:PORT (an IPv4 address or "
			  "[IPv6] address and a port 1 to 65535)", listen);
}

/* A DNS name, or "*." and one, as a Vault issuer's allowed name. */
static int
allowed_name_valid(const char *n)
{
	const char *p = n;
	size_t label = 0;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || strlen(n) > 253)
		return 0;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0;
}

static cv_err
check_issuer_fields(const cv_issuer *is, const struct provider **prov)
{
	size_t i;
	cv_err err;

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
	if (is->directory_url != NULL && (err = check_directory_url(is->directory_url)) != CV_OK)
		return err;
	if (is->ca_certificate != NULL && !cv_name_valid(is->ca_certificate))
		return cv_err_set(CV_ERR_INVALID, "CA certificate name '%s': %s",
				  is->ca_certificate, cv_strerror(CV_ERR_BAD_NAME));
	if (is->email != NULL && !cv_email_valid(is->email))
		return cv_err_set(CV_ERR_INVALID, "account email '%s' is not an email address",
				  is->email);
	if (is->ca_file != NULL && (is->ca_file[0] != '/' || !printable(is->ca_file)))
		return cv_err_set(CV_ERR_INVALID, "CA file '%s' must be an absolute path",
				  is->ca_file);
	if (is->http_listen != NULL && (err = check_listen(is->http_listen)) != CV_OK)
		return err;
	if (is->webroot != NULL && (is->webroot[0] != '/' || !printable(is->webroot)))
		return cv_err_set(CV_ERR_INVALID, "webroot '%s' must be an absolute path",
				  is->webroot);
	if (is->dns_hook != NULL && (is->dns_hook[0] == '\0' || !printable(is->dns_hook)))
		return cv_err_set(CV_ERR_INVALID, "the DNS hook must be a command line");
	if ((is->http_listen != NULL) + (is->webroot != NULL) + (is->dns_hook != NULL) > 1)
		return cv_err_set(CV_ERR_INVALID,
				  "an issuer answers challenges one way: an HTTP listen address, "
				  "a webroot or a DNS hook, not two");
	if (is->n_allowed_names > ALLOWED_NAMES_MAX)
		return cv_err_set(CV_ERR_INVALID, "at most %d allowed names", ALLOWED_NAMES_MAX);
	for (i = 0; i < is->n_allowed_names; i++)
		if (is->allowed_names[i] == NULL || !allowed_name_valid(is->allowed_names[i]))
			return cv_err_set(CV_ERR_INVALID,
					  "allowed name '%s' is not a DNS name or *.suffix",
					  is->allowed_names[i] ? is->allowed_names[i] : "");
	return CV_OK;
}

/* What only the whole record can tell, after an update is applied. */
static cv_err
check_issuer_record(const cv_issuer *is)
{
	int ways = (is->http_listen != NULL) + (is->webroot != NULL) + (is->dns_hook != NULL);

	if (cv_provider_is_acme(is->provider)) {
		if (is->directory_url == NULL)
			return cv_err_set(CV_ERR_INVALID,
					  "an ACME issuer needs its directory URL");
		if (ways != 1)
			return cv_err_set(CV_ERR_INVALID,
					  "an ACME issuer needs one way to answer challenges: an "
					  "HTTP listen address, a webroot or a DNS hook");
	} else if (ways != 0) {
		return cv_err_set(CV_ERR_INVALID,
				  "challenge ways are for ACME issuers, not provider %s",
				  is->provider ? is->provider : "(none)");
	}
	return CV_OK;
}

/* Make an ACME account key (EC P-256): sealed for lname's account key
 * alone, with its public half beside. */
static cv_err
account_key_make(cv_vault *v, const char *lname, issuer_sealed *out)
{
	unsigned char ad[CV_NAME_MAX + 32];
	unsigned char *der = NULL, *spki = NULL;
	size_t adlen;
	int derlen = 0, spkilen;
	EVP_PKEY *key = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	cv_err err = CV_ERR_CRYPTO;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		err = cv_err_crypto("make the ACME account key");
		goto done;
	}
	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL ||
	    (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0 ||
	    (spkilen = i2d_PUBKEY(key, &spki)) <= 0) {
		err = cv_err_crypto("encode the ACME account key");
		goto done;
	}
	account_key_ad(lname, ad, &adlen);
	if ((err = cv_vault_seal(v, CV_DB_ISSUERS, ad, adlen, der, (size_t)derlen,
				 &out->account_key.data, &out->account_key.len)) != CV_OK)
		goto done;
	OPENSSL_free(out->account_spki.data);
	out->account_spki.data = spki;
	out->account_spki.len = (size_t)spkilen;
	spki = NULL;
	err = CV_OK;
done:
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)derlen);
	OPENSSL_free(spki);
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_PKEY_free(key);
	return err;
}

static char *
take(char *mine, const char *given, int *ok)
{
	if (given == NULL)
		return mine;
	free(mine);
	return cv_strdup_or_null(given, ok);
}

/* 1 when two optional strings differ. */
static int
differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Whether password differs from the sealed one (none stored: it does).
 * Compared in constant time; the opened copy is wiped. */
static cv_err
password_changes(cv_vault *v, const char *lname, const issuer_sealed *sealed,
		 const char *password, int *changed)
{
	unsigned char *old = NULL;
	size_t old_len = 0, len = strlen(password);
	cv_err err;

	*changed = 1;
	if (sealed->password.data == NULL)
		return CV_OK;
	if ((err = cv_vault_unseal(v, CV_DB_ISSUERS, lname, strlen(lname),
				   sealed->password.data, sealed->password.len, &old,
				   &old_len)) != CV_OK)
		return err;
	*changed = old_len != len || CRYPTO_memcmp(old, password, len) != 0;
	OPENSSL_clear_free(old, old_len);
	return CV_OK;
}

static void
strings_free(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

cv_err
cv_issuer_put(cv_vault *v, const cv_issuer *is, enum cv_put_mode mode,
	      cv_issuer **out)
{
	MDB_txn *txn = NULL;
	cv_issuer *cur = NULL;
	const struct provider *prov = NULL;
	issuer_sealed sealed = { 0 };
	char *old_url = NULL, *old_account = NULL;
	size_t i;
	char lname[CV_NAME_MAX + 1];
	MDB_val val;
	int ok = 1, changed = 0;
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
		if ((err = issuer_read(v, txn, is->name, 0, &cur)) != CV_OK ||
		    (err = issuer_sealed_read(v, txn, lname, &sealed)) != CV_OK)
			goto done;
	}
	old_url = cv_strdup_or_null(cur->directory_url, &ok);
	old_account = cv_strdup_or_null(cur->account_id, &ok);
	if (prov != NULL) {
		/* A preset named anew brings its directory unless one is given. */
		if (is->directory_url == NULL && prov->directory_url != NULL &&
		    (cur->directory_url == NULL || differs(cur->provider, prov->name)))
			cur->directory_url = take(cur->directory_url, prov->directory_url, &ok);
		cur->provider = take(cur->provider, prov->name, &ok);
	}
	cur->account_id = take(cur->account_id, is->account_id, &ok);
	cur->organization_id = take(cur->organization_id, is->organization_id, &ok);
	cur->directory_url = take(cur->directory_url, is->directory_url, &ok);
	cur->ca_certificate = take(cur->ca_certificate, is->ca_certificate, &ok);
	cur->email = take(cur->email, is->email, &ok);
	cur->ca_file = take(cur->ca_file, is->ca_file, &ok);
	/* A challenge way given replaces the issuer's way. */
	if (is->http_listen != NULL || is->webroot != NULL || is->dns_hook != NULL) {
		free(cur->http_listen);
		free(cur->webroot);
		free(cur->dns_hook);
		cur->http_listen = cv_strdup_or_null(is->http_listen, &ok);
		cur->webroot = cv_strdup_or_null(is->webroot, &ok);
		cur->dns_hook = cv_strdup_or_null(is->dns_hook, &ok);
	}
	if (is->allowed_names != NULL || mode == CV_PUT_CREATE) {
		strings_free(cur->allowed_names, cur->n_allowed_names);
		cur->allowed_names = NULL;
		cur->n_allowed_names = 0;
		if (is->n_allowed_names > 0 &&
		    (cur->allowed_names = calloc(is->n_allowed_names, sizeof(char *))) == NULL)
			ok = 0;
		for (i = 0; ok && i < is->n_allowed_names; i++) {
			cur->allowed_names[i] = cv_strdup_or_null(is->allowed_names[i], &ok);
			cur->n_allowed_names = i + 1;
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
	if ((err = check_issuer_record(cur)) != CV_OK)
		goto done;
	/* Another CA, or another binding to it: the account registered with
	 * the old one is not this one's; the next pass registers anew. */
	if (is->password != NULL &&
	    (err = password_changes(v, lname, &sealed, is->password, &changed)) != CV_OK)
		goto done;
	if (differs(old_url, cur->directory_url) || differs(old_account, cur->account_id) ||
	    changed || !cv_provider_is_acme(cur->provider)) {
		free(cur->account_url);
		cur->account_url = NULL;
	}
	if (is->password != NULL) {
		OPENSSL_free(sealed.password.data);
		sealed.password.data = NULL;
		if ((err = cv_vault_seal(v, CV_DB_ISSUERS, lname, strlen(lname),
					 (const unsigned char *)is->password,
					 strlen(is->password), &sealed.password.data,
					 &sealed.password.len)) != CV_OK)
			goto done;
	}
	if (cv_provider_is_acme(cur->provider) &&
	    (sealed.account_key.data == NULL || sealed.account_spki.data == NULL) &&
	    (err = account_key_make(v, lname, &sealed)) != CV_OK)
		goto done;
	if (cur->provider != NULL && strcmp(cur->provider, "Vault") == 0 &&
	    (err = cv_vault_ca_check_issuer(v, txn, cur)) != CV_OK)
		goto done;
	if ((err = issuer_write(v, txn, cur, &sealed)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL)
		err = cv_issuer_get(v, is->name, 0, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	issuer_sealed_clear(&sealed);
	free(old_url);
	free(old_account);
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
	int rc, had_url;

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
		had_url = is->account_url != NULL;
		free(is->account_url);
		is->account_url = NULL;
		if ((is->has_password || is->has_account_key || had_url) &&
		    (err = issuer_write(v, txn, is, NULL)) != CV_OK)
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

/* --- The ACME account key and binding ----------------------------------- */

static void
base64url(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		unsigned n = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = abc[n >> 18 & 63];
		out[o++] = abc[n >> 12 & 63];
		out[o++] = abc[n >> 6 & 63];
		out[o++] = abc[n & 63];
	}
	if (len - i == 1) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		out[o++] = abc[in[i] >> 2];
		out[o++] = abc[(in[i] & 3) << 4 | in[i + 1] >> 4];
		out[o++] = abc[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* base64url (padding optional) into out (at least len * 3 / 4 bytes).
 * Returns the length, or -1 when in is not base64url. */
static long
base64url_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned acc = 0;
	size_t i, bits = 0;
	long o = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len == 0 || len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];
		unsigned d;

		if (c >= 'A' && c <= 'Z')
			d = (unsigned)(c - 'A');
		else if (c >= 'a' && c <= 'z')
			d = (unsigned)(c - 'a') + 26;
		else if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0') + 52;
		else if (c == '-')
			d = 62;
		else if (c == '_')
			d = 63;
		else
			return -1;
		acc = (acc << 6 | d) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	acc = 0;
	return o;
}

/* The stored issuer of name for the account calls: *is (passwords
 * withheld) and its sealed members.  With need_key, an issuer without an
 * account key is CV_ERR_NO_KEY. */
static cv_err
account_read(cv_vault *v, const char *name, int need_key, cv_issuer **is,
	     issuer_sealed *sealed)
{
	MDB_txn *txn = NULL;
	char lname[CV_NAME_MAX + 1];
	cv_err err;

	*is = NULL;
	memset(sealed, 0, sizeof(*sealed));
	if (name == NULL || !cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "issuer name '%s': %s", name ? name : "",
				  cv_strerror(CV_ERR_BAD_NAME));
	cv_name_key(name, lname);
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = issuer_read(v, txn, name, 0, is)) == CV_OK)
		err = issuer_sealed_read(v, txn, lname, sealed);
	mdb_txn_abort(txn);
	if (err == CV_OK && need_key &&
	    (!cv_provider_is_acme((*is)->provider) || !(*is)->has_account_key))
		err = cv_err_set(CV_ERR_NO_KEY, "issuer '%s' has no ACME account key%s", name,
				 cv_provider_is_acme((*is)->provider)
				 ? " (the vault was re-initialized; update the issuer's password)"
				 : " (it is not an ACME issuer)");
	if (err != CV_OK) {
		cv_issuer_free(*is);
		*is = NULL;
		issuer_sealed_clear(sealed);
	}
	return err;
}

cv_err
cv_issuer_account_jwk(cv_vault *v, const char *issuer, char **out)
{
	cv_issuer *is = NULL;
	issuer_sealed sealed;
	EVP_PKEY *pub = NULL;
	const unsigned char *p;
	unsigned char point[65];
	char x[48], y[48], *json = NULL;
	size_t plen = 0;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = account_read(v, issuer, 1, &is, &sealed)) != CV_OK)
		return err;
	p = sealed.account_spki.data;
	if ((pub = d2i_PUBKEY(NULL, &p, (long)sealed.account_spki.len)) == NULL ||
	    !EVP_PKEY_is_a(pub, "EC") ||
	    EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point,
					    sizeof(point), &plen) != 1 ||
	    plen != sizeof(point) || point[0] != 0x04) {
		err = cv_err_set(CV_ERR_CORRUPT, "the ACME account key of issuer '%s' is damaged",
				 issuer);
		goto done;
	}
	base64url(point + 1, 32, x);
	base64url(point + 33, 32, y);
	if ((json = malloc(192)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	snprintf(json, 192, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		 x, y);
	*out = json;
	err = CV_OK;
done:
	EVP_PKEY_free(pub);
	issuer_sealed_clear(&sealed);
	cv_issuer_free(is);
	return err;
}

cv_err
cv_issuer_account_sign(cv_vault *v, const char *issuer, const unsigned char *data,
		       size_t len, unsigned char sig[64])
{
	cv_issuer *is = NULL;
	issuer_sealed sealed;
	char lname[CV_NAME_MAX + 1];
	unsigned char ad[CV_NAME_MAX + 32], *der = NULL, *dsig = NULL;
	size_t adlen, derlen = 0, dsiglen = 0;
	const unsigned char *p;
	EVP_PKEY *pub = NULL, *key = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	cv_err err;

	cv_err_clear();
	memset(sig, 0, 64);
	if (cv_vault_logged_in(v) != CV_USER_NORMAL)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN,
				  "signing with an ACME account key needs the vault's PIN");
	if ((err = account_read(v, issuer, 1, &is, &sealed)) != CV_OK)
		return err;
	cv_name_key(issuer, lname);
	account_key_ad(lname, ad, &adlen);
	/* Opened only as this issuer's account key: one moved here from
	 * another issuer, or a password put in its place, does not open. */
	if ((err = cv_vault_unseal(v, CV_DB_ISSUERS, ad, adlen, sealed.account_key.data,
				   sealed.account_key.len, &der, &derlen)) != CV_OK) {
		err = cv_err_set(CV_ERR_CORRUPT,
				 "the ACME account key of issuer '%s' does not open for it", issuer);
		goto done;
	}
	p = sealed.account_spki.data;
	if ((err = cv_pkcs8_decode(der, derlen, &key)) != CV_OK ||
	    (pub = d2i_PUBKEY(NULL, &p, (long)sealed.account_spki.len)) == NULL ||
	    !EVP_PKEY_is_a(key, "EC") || EVP_PKEY_eq(key, pub) != 1) {
		err = cv_err_set(CV_ERR_CORRUPT,
				 "the ACME account key of issuer '%s' is not its public key", issuer);
		goto done;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(md, NULL, &dsiglen, data, len) != 1 ||
	    (dsig = OPENSSL_malloc(dsiglen)) == NULL ||
	    EVP_DigestSign(md, dsig, &dsiglen, data, len) != 1) {
		err = cv_err_crypto("sign with the ACME account key");
		goto done;
	}
	p = dsig;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)dsiglen)) == NULL) {
		err = cv_err_crypto("read the ECDSA signature");
		goto done;
	}
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32) {
		memset(sig, 0, 64);
		err = cv_err_crypto("encode the ECDSA signature");
		goto done;
	}
	err = CV_OK;
done:
	ECDSA_SIG_free(es);
	OPENSSL_free(dsig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	OPENSSL_clear_free(der, derlen);
	issuer_sealed_clear(&sealed);
	cv_issuer_free(is);
	return err;
}

cv_err
cv_issuer_eab_mac(cv_vault *v, const char *issuer, const unsigned char *data,
		  size_t len, unsigned char mac[32])
{
	cv_issuer *is = NULL;
	unsigned char *key = NULL;
	size_t keycap = 0, maclen = 0;
	long keylen;
	cv_err err;

	cv_err_clear();
	memset(mac, 0, 32);
	if (cv_vault_logged_in(v) != CV_USER_NORMAL)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN,
				  "the account binding's key needs the vault's PIN");
	if ((err = cv_issuer_get(v, issuer, 1, &is)) != CV_OK)
		return err;
	if (is->password == NULL || is->password[0] == '\0') {
		err = cv_err_set(CV_ERR_NO_PASSWORD,
				 "issuer '%s' has no External Account Binding key (its password)",
				 issuer);
		goto done;
	}
	keycap = strlen(is->password);
	if ((key = OPENSSL_malloc(keycap)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if ((keylen = base64url_decode(is->password, keycap, key)) <= 0) {
		err = cv_err_set(CV_ERR_INVALID,
				 "the External Account Binding key of issuer '%s' is not base64url",
				 issuer);
		goto done;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, (size_t)keylen, data, len,
		      mac, 32, &maclen) == NULL || maclen != 32) {
		memset(mac, 0, 32);
		err = cv_err_crypto("HMAC with the account binding's key");
		goto done;
	}
	err = CV_OK;
done:
	if (key != NULL)
		OPENSSL_clear_free(key, keycap);
	cv_issuer_free(is);
	return err;
}

cv_err
cv_issuer_account_set(cv_vault *v, const char *issuer, const char *account_url)
{
	MDB_txn *txn = NULL;
	cv_issuer *is = NULL;
	issuer_sealed sealed = { 0 };
	char lname[CV_NAME_MAX + 1];
	cv_err err;

	cv_err_clear();
	if (issuer == NULL || !cv_name_valid(issuer))
		return cv_err_set(CV_ERR_BAD_NAME, "issuer name '%s': %s", issuer ? issuer : "",
				  cv_strerror(CV_ERR_BAD_NAME));
	if (account_url != NULL &&
	    ((strncmp(account_url, "https://", 8) != 0 && strncmp(account_url, "http://", 7) != 0) ||
	     !printable(account_url) || strlen(account_url) > 2048))
		return cv_err_set(CV_ERR_INVALID, "account URL '%s' is not an http(s) URL",
				  account_url);
	cv_name_key(issuer, lname);
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = issuer_read(v, txn, issuer, 0, &is)) != CV_OK ||
	    (err = issuer_sealed_read(v, txn, lname, &sealed)) != CV_OK)
		goto done;
	if (!cv_provider_is_acme(is->provider)) {
		err = cv_err_set(CV_ERR_NO_KEY, "issuer '%s' is not an ACME issuer", issuer);
		goto done;
	}
	free(is->account_url);
	is->account_url = NULL;
	if (account_url != NULL && (is->account_url = strdup(account_url)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	is->updated = cv_now();
	if ((err = issuer_write(v, txn, is, &sealed)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	issuer_sealed_clear(&sealed);
	cv_issuer_free(is);
	return err;
}
