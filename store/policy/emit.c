/* certvault policy: Emitting JSON in the REST and az CLI styles. */
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

/* Each adder returns 0 or -1 (out of memory or a string that is not
 * UTF-8); json_object_set_new takes NULL values as failures. */

static int
add(json_t *obj, const char *key, json_t *value)
{
	return json_object_set_new(obj, key, value);
}

static json_t *
string_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
string_array(const cv_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < l->n; i++) {
		if (json_array_append_new(a, json_string(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
key_usage_array(unsigned ku)
{
	json_t *a = json_array();
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < N_KU; i++) {
		if ((ku & ku_names[i].bit) &&
		    json_array_append_new(a, json_string(ku_names[i].name)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int
add_nonempty_list(json_t *obj, const char *key, const cv_strlist *l)
{
	return l->n == 0 ? 0 : add(obj, key, string_array(l));
}

static json_t *
actions_json(const cv_policy *p, enum cv_policy_style style)
{
	int az = style == CV_POLICY_JSON_AZ;
	json_t *arr = json_array(), *elem = NULL, *trigger = NULL,
	       *action = NULL;
	const cv_lifetime_action *a;
	const char *tname;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < p->n_actions && p->actions != NULL; i++) {
		a = &p->actions[i];
		elem = json_object();
		trigger = json_object();
		action = json_object();
		if (elem == NULL || trigger == NULL || action == NULL)
			goto fail;
		tname = NULL;
		if (a->trigger == CV_TRIGGER_LIFETIME_PERCENTAGE)
			tname = az ? "lifetimePercentage" : "lifetime_percentage";
		else if (a->trigger == CV_TRIGGER_DAYS_BEFORE_EXPIRY)
			tname = az ? "daysBeforeExpiry" : "days_before_expiry";
		if (tname != NULL &&
		    add(trigger, tname, json_integer(a->value)) != 0)
			goto fail;
		if (add(action, az ? "actionType" : "action_type",
			string_or_null(action_name(a->action))) != 0)
			goto fail;
		/* az sorts its keys; Key Vault writes the trigger first */
		if (az) {
			if (add(elem, "action", action) != 0) {
				action = NULL;
				goto fail;
			}
			action = NULL;
		}
		if (add(elem, "trigger", trigger) != 0) {
			trigger = NULL;
			goto fail;
		}
		trigger = NULL;
		if (!az) {
			if (add(elem, "action", action) != 0) {
				action = NULL;
				goto fail;
			}
			action = NULL;
		}
		if (json_array_append_new(arr, elem) != 0) {
			elem = NULL;
			goto fail;
		}
		elem = NULL;
	}
	return arr;
fail:
	json_decref(elem);
	json_decref(trigger);
	json_decref(action);
	json_decref(arr);
	return NULL;
}

/* A CA policy's basic_constraints into x509 properties o, with the style's
 * member name for the path length; nothing for other policies.  Nonzero
 * when out of memory. */
static int
add_basic_constraints(json_t *o, const char *key, const char *path_length,
		      const cv_policy *p)
{
	json_t *bc;

	if (!p->ca)
		return 0;
	bc = json_object();
	if (bc == NULL || add(bc, "ca", json_true()) ||
	    (p->path_length >= 0 &&
	     add(bc, path_length, json_integer(p->path_length)))) {
		json_decref(bc);
		return 1;
	}
	return add(o, key, bc);
}

json_t *
rest_json(const cv_policy *p)
{
	json_t *root = json_object(), *o = NULL, *sans = NULL;
	const cv_strlist *l;
	size_t i;
	int has_sans = 0;

	if (root == NULL)
		return NULL;

	o = json_object();
	if (o == NULL || add(o, "exportable", json_boolean(p->exportable)) ||
	    add(o, "kty", string_or_null(key_type_name(p->kty, p->hsm))) ||
	    (p->kty != CV_KEY_EC &&
	     add(o, "key_size", json_integer(p->key_size))) ||
	    add(o, "reuse_key", json_boolean(p->reuse_key)) ||
	    (p->kty == CV_KEY_EC && add(o, "crv", json_string(p->curve))))
		goto fail;
	if (add(root, "key_props", o) != 0)
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    add(o, "contentType",
		string_or_null(cv_content_type_name(p->content_type))))
		goto fail;
	if (add(root, "secret_props", o) != 0)
		goto fail_owned;

	o = json_object();
	sans = json_object();
	if (o == NULL || sans == NULL ||
	    (p->subject != NULL && add(o, "subject", json_string(p->subject))) ||
	    add_nonempty_list(o, "ekus", &p->ekus))
		goto fail;
	for (i = 0; i < N_SAN_KINDS; i++) {
		l = san_list(p, &san_kinds[i]);
		has_sans |= l->n > 0;
		if (add_nonempty_list(sans, san_kinds[i].rest, l))
			goto fail;
	}
	if (has_sans) {
		if (add(o, "sans", sans) != 0) {
			sans = NULL;
			goto fail;
		}
		sans = NULL;
	}
	if (add(o, "key_usage", key_usage_array(p->key_usage)) ||
	    add(o, "validity_months", json_integer(p->validity_months)) ||
	    add_basic_constraints(o, "basic_constraints", "path_length", p))
		goto fail;
	if (add(root, "x509_props", o) != 0)
		goto fail_owned;

	if (add(root, "lifetime_actions", actions_json(p, CV_POLICY_JSON_REST)))
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    (p->issuer_name != NULL &&
	     add(o, "name", json_string(p->issuer_name))) ||
	    (p->cert_type != NULL && add(o, "cty", json_string(p->cert_type))) ||
	    (p->cert_transparency >= 0 &&
	     add(o, "cert_transparency", json_boolean(p->cert_transparency))))
		goto fail;
	if (add(root, "issuer", o) != 0)
		goto fail_owned;

	o = json_object();
	if (o == NULL || add(o, "enabled", json_boolean(p->enabled)))
		goto fail;
	if (add(root, "attributes", o) != 0)
		goto fail_owned;
	json_decref(sans);
	return root;

fail_owned:
	o = NULL;
fail:
	json_decref(o);
	json_decref(sans);
	json_decref(root);
	return NULL;
}

static json_t *
az_json(const cv_policy *p)
{
	json_t *root = json_object(), *o = NULL, *sans = NULL;
	const struct curve *c;
	int has_sans = 0, key_size = p->key_size;

	if (root == NULL)
		return NULL;

	/* az prints no attributes; a disabled policy still says so */
	if (p->enabled != 1) {
		o = json_object();
		if (o == NULL || add(o, "enabled", json_boolean(p->enabled)))
			goto fail;
		if (add(root, "attributes", o) != 0)
			goto fail_owned;
	}

	o = json_object();
	if (o == NULL ||
	    add(o, "certificateTransparency",
		p->cert_transparency >= 0 ?
			json_boolean(p->cert_transparency) : json_null()) ||
	    /* az leaves certificateType out when it is not set. */
	    (p->cert_type != NULL &&
	     add(o, "certificateType", json_string(p->cert_type))) ||
	    add(o, "name", string_or_null(p->issuer_name)))
		goto fail;
	if (add(root, "issuerParameters", o) != 0)
		goto fail_owned;

	if (p->kty == CV_KEY_EC) {
		c = find_curve(p->curve);
		key_size = c != NULL ? c->bits : 0;
	}
	o = json_object();
	if (o == NULL ||
	    add(o, "curve", p->kty == CV_KEY_EC && p->curve[0] != '\0' ?
				json_string(p->curve) : json_null()) ||
	    add(o, "exportable", json_boolean(p->exportable)) ||
	    add(o, "keySize", key_size != 0 ? json_integer(key_size) :
					      json_null()) ||
	    add(o, "keyType", string_or_null(key_type_name(p->kty, p->hsm))) ||
	    add(o, "reuseKey", json_boolean(p->reuse_key)))
		goto fail;
	if (add(root, "keyProperties", o) != 0)
		goto fail_owned;

	if (add(root, "lifetimeActions", actions_json(p, CV_POLICY_JSON_AZ)))
		goto fail_owned;

	o = json_object();
	if (o == NULL ||
	    add(o, "contentType",
		string_or_null(cv_content_type_name(p->content_type))))
		goto fail;
	if (add(root, "secretProperties", o) != 0)
		goto fail_owned;

	o = json_object();
	sans = json_object();
	if (o == NULL || sans == NULL ||
	    add_basic_constraints(o, "basicConstraints", "pathLength", p) ||
	    add_nonempty_list(o, "ekus", &p->ekus) ||
	    add(o, "keyUsage", key_usage_array(p->key_usage)) ||
	    (p->subject != NULL && add(o, "subject", json_string(p->subject))))
		goto fail;
	/* az's sorted order */
	if (add_nonempty_list(sans, "dnsNames", &p->dns_names) ||
	    add_nonempty_list(sans, "emails", &p->emails) ||
	    add_nonempty_list(sans, "ipAddresses", &p->ip_addresses) ||
	    add_nonempty_list(sans, "upns", &p->upns) ||
	    add_nonempty_list(sans, "uris", &p->uris))
		goto fail;
	has_sans = json_object_size(sans) > 0;
	if (has_sans) {
		if (add(o, "subjectAlternativeNames", sans) != 0) {
			sans = NULL;
			goto fail;
		}
		sans = NULL;
	}
	if (add(o, "validityInMonths", json_integer(p->validity_months)))
		goto fail;
	if (add(root, "x509CertificateProperties", o) != 0)
		goto fail_owned;
	json_decref(sans);
	return root;

fail_owned:
	o = NULL;
fail:
	json_decref(o);
	json_decref(sans);
	json_decref(root);
	return NULL;
}

/* Why a policy could not be written: jansson refuses strings that are
 * not UTF-8, which only a policy built in memory can hold. */
cv_err
write_failure(const cv_policy *p)
{
	const char *bad = NULL;
	size_t i, j;

	if (p->subject != NULL &&
	    !utf8_valid((const unsigned char *)p->subject, strlen(p->subject)))
		bad = "x509_props.subject";
	for (i = 0; i < N_SAN_KINDS && bad == NULL; i++) {
		const cv_strlist *l = san_list(p, &san_kinds[i]);

		for (j = 0; j < l->n; j++) {
			if (l->v[j] == NULL ||
			    !utf8_valid((const unsigned char *)l->v[j],
					strlen(l->v[j])))
				bad = san_kinds[i].rest;
		}
	}
	for (j = 0; j < p->ekus.n && bad == NULL; j++) {
		if (p->ekus.v[j] == NULL ||
		    !utf8_valid((const unsigned char *)p->ekus.v[j],
				strlen(p->ekus.v[j])))
			bad = "x509_props.ekus";
	}
	if (bad == NULL && p->issuer_name != NULL &&
	    !utf8_valid((const unsigned char *)p->issuer_name,
			strlen(p->issuer_name)))
		bad = "issuer.name";
	if (bad == NULL && p->cert_type != NULL &&
	    !utf8_valid((const unsigned char *)p->cert_type,
			strlen(p->cert_type)))
		bad = "issuer.cty";
	if (bad != NULL)
		return cv_err_set(CV_ERR_INVALID, "%s: not valid UTF-8", bad);
	return cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
}

cv_err
cv_policy_to_json(const cv_policy *p, enum cv_policy_style style, char **out)
{
	cv_err err = CV_ERR_NOMEM;
	json_t *root = NULL;
	json_malloc_t jmalloc;
	json_free_t jfree;
	char *text = NULL, *result = NULL;
	size_t len;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (p == NULL || out == NULL ||
	    (style != CV_POLICY_JSON_REST && style != CV_POLICY_JSON_AZ)) {
		err = cv_err_set(CV_ERR_INVALID,
				 "cv_policy_to_json: bad arguments");
		goto done;
	}
	root = style == CV_POLICY_JSON_AZ ? az_json(p) : rest_json(p);
	if (root == NULL) {
		err = write_failure(p);
		goto done;
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (text == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
		goto done;
	}
	len = strlen(text);
	result = malloc(len + 2);
	if (result == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory writing a policy");
		goto done;
	}
	memcpy(result, text, len);
	result[len] = '\n';
	result[len + 1] = '\0';
	*out = result;
	result = NULL;
	err = CV_OK;
done:
	if (text != NULL) {
		json_get_alloc_funcs(&jmalloc, &jfree);
		jfree(text);
	}
	json_decref(root);
	return err;
}
