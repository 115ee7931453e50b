/* certvault policy: The policy object: small helpers, create, copy, free, the default policy. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "error.h"
#include "policy.h"

#include "internal.h"

/* Well-formed UTF-8 without NUL: what JSON strings and the X.500 parser
 * can carry. */
int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		unsigned char c = s[i];

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* After an OpenSSL call failed: 1 if it ran out of memory (it says so in
 * its error queue), else 0.  Empties the queue either way. */
int
openssl_out_of_memory(void)
{
	unsigned long e;
	int nomem = 0;

	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = 1;
	}
	return nomem;
}

static void
strlist_free(cv_strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Append a copy of s[0..len). */
cv_err
strlist_push(cv_strlist *l, const char *s, size_t len)
{
	char **v, *copy;

	copy = malloc(len + 1);
	if (copy == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(copy);
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	}
	v[l->n++] = copy;
	l->v = v;
	return CV_OK;
}

static cv_err
strlist_copy(cv_strlist *dst, const cv_strlist *src)
{
	cv_err err;
	size_t i;

	for (i = 0; i < src->n; i++) {
		err = strlist_push(dst, src->v[i], strlen(src->v[i]));
		if (err != CV_OK)
			return err;
	}
	return CV_OK;
}

cv_err
dup_string(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return CV_OK;
	*out = strdup(s);
	if (*out == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	return CV_OK;
}

cv_policy *
policy_new(void)
{
	cv_policy *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		p->cert_transparency = -1;
		p->path_length = -1;
	}
	return p;
}

void
cv_policy_free(cv_policy *p)
{
	if (p == NULL)
		return;
	free(p->subject);
	strlist_free(&p->dns_names);
	strlist_free(&p->emails);
	strlist_free(&p->upns);
	strlist_free(&p->ip_addresses);
	strlist_free(&p->uris);
	strlist_free(&p->ekus);
	free(p->actions);
	free(p->issuer_name);
	free(p->cert_type);
	free(p);
}

cv_err
cv_policy_copy(const cv_policy *p, cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *c = NULL;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_policy_copy: no policy");
		goto done;
	}
	c = policy_new();
	if (c == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	c->exportable = p->exportable;
	c->reuse_key = p->reuse_key;
	c->kty = p->kty;
	c->hsm = p->hsm;
	c->key_size = p->key_size;
	memcpy(c->curve, p->curve, sizeof(c->curve));
	c->content_type = p->content_type;
	c->key_usage = p->key_usage;
	c->validity_months = p->validity_months;
	c->ca = p->ca;
	c->path_length = p->path_length;
	c->cert_transparency = p->cert_transparency;
	c->enabled = p->enabled;
	c->from_cert = p->from_cert;
	if ((err = dup_string(p->subject, &c->subject)) != CV_OK ||
	    (err = dup_string(p->issuer_name, &c->issuer_name)) != CV_OK ||
	    (err = dup_string(p->cert_type, &c->cert_type)) != CV_OK ||
	    (err = strlist_copy(&c->dns_names, &p->dns_names)) != CV_OK ||
	    (err = strlist_copy(&c->emails, &p->emails)) != CV_OK ||
	    (err = strlist_copy(&c->upns, &p->upns)) != CV_OK ||
	    (err = strlist_copy(&c->ip_addresses, &p->ip_addresses)) != CV_OK ||
	    (err = strlist_copy(&c->uris, &p->uris)) != CV_OK ||
	    (err = strlist_copy(&c->ekus, &p->ekus)) != CV_OK)
		goto done;
	if (p->n_actions > 0 && p->actions != NULL) {
		c->actions = calloc(p->n_actions, sizeof(*c->actions));
		if (c->actions == NULL) {
			err = cv_err_set(CV_ERR_NOMEM, "out of memory");
			goto done;
		}
		memcpy(c->actions, p->actions,
		       p->n_actions * sizeof(*c->actions));
		c->n_actions = p->n_actions;
	}
	*out = c;
	c = NULL;
	err = CV_OK;
done:
	cv_policy_free(c);
	return err;
}

cv_err
set_one_action(cv_policy *p, enum cv_trigger_type trigger, int value,
	       enum cv_action_type action)
{
	p->actions = calloc(1, sizeof(*p->actions));
	if (p->actions == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	p->actions[0].trigger = trigger;
	p->actions[0].value = value;
	p->actions[0].action = action;
	p->n_actions = 1;
	return CV_OK;
}

cv_err
cv_policy_default(cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL;

	cv_err_clear();
	if (out == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_policy_default: no out");
	*out = NULL;
	p = policy_new();
	if (p == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	p->kty = CV_KEY_RSA;
	p->key_size = 2048;
	p->exportable = 1;
	p->reuse_key = 1;
	p->content_type = CV_CONTENT_PKCS12;
	p->key_usage = CV_KU_CRL_SIGN | CV_KU_DATA_ENCIPHERMENT |
		       CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT |
		       CV_KU_KEY_AGREEMENT | CV_KU_KEY_CERT_SIGN;
	p->validity_months = 12;
	p->enabled = 1;
	if ((err = dup_string("CN=CLIGetDefaultPolicy", &p->subject)) != CV_OK ||
	    (err = dup_string("Self", &p->issuer_name)) != CV_OK ||
	    (err = set_one_action(p, CV_TRIGGER_DAYS_BEFORE_EXPIRY, 90,
				  CV_ACTION_AUTO_RENEW)) != CV_OK)
		goto done;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	cv_policy_free(p);
	return err;
}
