/* certvault policy: Parsing: the REST document read into a cv_policy. */
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

/* Each getter treats an absent member and a null alike: not given. */

static json_t *
member(json_t *obj, const char *key)
{
	json_t *v = obj != NULL ? json_object_get(obj, key) : NULL;

	return json_is_null(v) ? NULL : v;
}

static cv_err
get_object(json_t *obj, const char *path, const char *key, json_t **out)
{
	json_t *v = member(obj, key);
	char name[160];

	*out = NULL;
	if (v == NULL)
		return CV_OK;
	join_path(name, sizeof(name), path, key);
	if (!json_is_object(v))
		return cv_err_set(CV_ERR_POLICY, "%s: must be an object", name);
	*out = v;
	return CV_OK;
}

static cv_err
get_bool(json_t *obj, const char *path, const char *key, int *val, int *given)
{
	json_t *v = member(obj, key);

	*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_boolean(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be true or false",
				  path, key);
	*val = json_is_true(v);
	*given = 1;
	return CV_OK;
}

static cv_err
get_int(json_t *obj, const char *path, const char *key, int *val, int *given)
{
	json_t *v = member(obj, key);
	json_int_t n;

	*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_integer(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be an integer",
				  path, key);
	n = json_integer_value(v);
	if (n < INT_MIN || n > INT_MAX)
		return cv_err_set(CV_ERR_POLICY, "%s.%s: %" JSON_INTEGER_FORMAT
				  " is out of range", path, key, n);
	*val = (int)n;
	*given = 1;
	return CV_OK;
}

static cv_err
get_string(json_t *obj, const char *path, const char *key, const char **val)
{
	json_t *v = member(obj, key);

	*val = NULL;
	if (v == NULL)
		return CV_OK;
	if (!json_is_string(v))
		return cv_err_set(CV_ERR_POLICY, "%s.%s: must be a string", path,
				  key);
	*val = json_string_value(v);
	return CV_OK;
}

/* An array of strings; *given tells an empty array from an absent one. */
static cv_err
get_strings(json_t *obj, const char *path, const char *key, cv_strlist *out,
	    int *given)
{
	json_t *v = member(obj, key), *e;
	cv_err err;
	size_t i;

	if (given != NULL)
		*given = 0;
	if (v == NULL)
		return CV_OK;
	if (!json_is_array(v))
		return cv_err_set(CV_ERR_POLICY,
				  "%s.%s: must be an array of strings", path, key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return cv_err_set(CV_ERR_POLICY,
					  "%s.%s[%zu]: must be a string", path,
					  key, i);
		err = strlist_push(out, json_string_value(e),
				   json_string_length(e));
		if (err != CV_OK)
			return err;
	}
	if (given != NULL)
		*given = 1;
	return CV_OK;
}

static cv_err
read_key_props(json_t *root, cv_policy *p)
{
	const struct key_type_name *kt = NULL;
	const struct curve *c = NULL;
	const char *kty, *crv;
	json_t *kp;
	int given, size = 0, size_given;
	cv_err err;
	size_t i;

	p->kty = CV_KEY_RSA;
	p->exportable = 1;
	if ((err = get_object(root, "", "key_props", &kp)) != CV_OK ||
	    (err = get_string(kp, "key_props", "kty", &kty)) != CV_OK ||
	    (err = get_string(kp, "key_props", "crv", &crv)) != CV_OK ||
	    (err = get_int(kp, "key_props", "key_size", &size,
			   &size_given)) != CV_OK)
		return err;
	if (kty == NULL)
		p->from_cert |= CV_FROM_CERT_KEY_TYPE;
	if (!size_given && crv == NULL)
		p->from_cert |= CV_FROM_CERT_KEY_SIZE;
	if (kty != NULL) {
		kt = find_key_type(kty);
		if (kt == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.kty: '%s' is not a key type (RSA, RSA-HSM, EC or EC-HSM)",
					  kty);
		p->kty = kt->kty;
		p->hsm = kt->hsm;
		p->exportable = !kt->hsm;
	}
	if ((err = get_bool(kp, "key_props", "exportable", &p->exportable,
			    &given)) != CV_OK ||
	    (err = get_bool(kp, "key_props", "reuse_key", &p->reuse_key,
			    &given)) != CV_OK)
		return err;
	if (crv != NULL) {
		c = find_curve(crv);
		if (c == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.crv: '%s' is not a curve (P-256, P-384, P-521 or P-256K)",
					  crv);
		if (p->kty != CV_KEY_EC)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.crv: a curve is only for EC keys, not %s",
					  kty != NULL ? kty : "RSA");
	}
	if (p->kty == CV_KEY_RSA) {
		p->key_size = size_given ? size : 2048;
		return CV_OK;
	}
	if (c == NULL && size_given) {
		/* no crv: the size names the curve, as before crv existed */
		for (i = 0; i < N_CURVES && c == NULL; i++) {
			if (curves[i].bits == size)
				c = &curves[i];
		}
		if (c == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "key_props.key_size: %d is not an EC key size (256, 384 or 521)",
					  size);
	}
	if (c == NULL)
		c = &curves[0];
	if (size_given && size != c->bits)
		return cv_err_set(CV_ERR_POLICY,
				  "key_props.key_size: %d does not match curve %s (%d bits)",
				  size, c->name, c->bits);
	snprintf(p->curve, sizeof(p->curve), "%s", c->name);
	p->key_size = 0;
	return CV_OK;
}

static cv_err
read_secret_props(json_t *root, cv_policy *p)
{
	const char *ct;
	json_t *sp;
	cv_err err;

	p->content_type = CV_CONTENT_PKCS12;
	if ((err = get_object(root, "", "secret_props", &sp)) != CV_OK ||
	    (err = get_string(sp, "secret_props", "contentType", &ct)) != CV_OK)
		return err;
	if (ct == NULL) {
		p->from_cert |= CV_FROM_CERT_CONTENT_TYPE;
		return CV_OK;
	}
	if (strcmp(ct, content_type_names[CV_CONTENT_PKCS12]) == 0)
		p->content_type = CV_CONTENT_PKCS12;
	else if (strcmp(ct, content_type_names[CV_CONTENT_PEM]) == 0)
		p->content_type = CV_CONTENT_PEM;
	else
		return cv_err_set(CV_ERR_POLICY,
				  "secret_props.contentType: '%s' is not application/x-pkcs12 or application/x-pem-file",
				  ct);
	return CV_OK;
}

/* x509_props.basic_constraints: {"ca": true, "path_length": 1}; path_length
 * optional; ca false or absent is no CA. */
static cv_err
read_basic_constraints(json_t *xp, cv_policy *p)
{
	json_t *bc;
	int given;
	cv_err err;

	if ((err = get_object(xp, "x509_props", "basic_constraints", &bc)) != CV_OK)
		return err;
	if (bc == NULL) {
		p->from_cert |= CV_FROM_CERT_BASIC_CONSTRAINTS;
		return CV_OK;
	}
	if ((err = get_bool(bc, "x509_props.basic_constraints", "ca", &p->ca,
			    &given)) != CV_OK ||
	    (err = get_int(bc, "x509_props.basic_constraints", "path_length",
			   &p->path_length, &given)) != CV_OK)
		return err;
	/* -1 is how the policy says "no limit", never how a document says it */
	if (given && p->path_length < 0)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints.path_length: must be 0 to %d, not %d",
				  PATH_LENGTH_MAX, p->path_length);
	return CV_OK;
}

static cv_err
read_x509_props(json_t *root, cv_policy *p)
{
	json_t *xp, *sans, *ku, *e;
	const char *subject;
	int given;
	cv_err err;
	size_t i, k;

	p->validity_months = 12;
	p->key_usage = CV_KU_DIGITAL_SIGNATURE | CV_KU_KEY_ENCIPHERMENT;
	if ((err = get_object(root, "", "x509_props", &xp)) != CV_OK ||
	    (err = get_string(xp, "x509_props", "subject", &subject)) != CV_OK ||
	    (err = dup_string(subject, &p->subject)) != CV_OK ||
	    (err = get_object(xp, "x509_props", "sans", &sans)) != CV_OK ||
	    (err = get_strings(xp, "x509_props", "ekus", &p->ekus,
			       NULL)) != CV_OK ||
	    (err = get_int(xp, "x509_props", "validity_months",
			   &p->validity_months, &given)) != CV_OK ||
	    (err = read_basic_constraints(xp, p)) != CV_OK)
		return err;
	for (i = 0; i < N_SAN_KINDS; i++) {
		cv_strlist *l = (cv_strlist *)((char *)p + san_kinds[i].offset);

		err = get_strings(sans, "x509_props.sans", san_kinds[i].rest, l,
				  NULL);
		if (err != CV_OK)
			return err;
	}
	if (subject == NULL)
		p->from_cert |= CV_FROM_CERT_SUBJECT;
	if (sans == NULL)
		p->from_cert |= CV_FROM_CERT_SANS;
	if (member(xp, "ekus") == NULL)
		p->from_cert |= CV_FROM_CERT_EKUS;
	if (!given)
		p->from_cert |= CV_FROM_CERT_VALIDITY;

	ku = member(xp, "key_usage");
	if (ku == NULL) {
		p->from_cert |= CV_FROM_CERT_KEY_USAGE;
		return CV_OK;
	}
	if (!json_is_array(ku))
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.key_usage: must be an array of strings");
	/* an explicit empty list states no key usage at all */
	p->key_usage = 0;
	json_array_foreach(ku, i, e) {
		if (!json_is_string(e))
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.key_usage[%zu]: must be a string",
					  i);
		for (k = 0; k < N_KU; k++) {
			if (strcmp(ku_names[k].name, json_string_value(e)) == 0)
				break;
		}
		if (k == N_KU)
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.key_usage[%zu]: '%s' is not a key usage",
					  i, json_string_value(e));
		p->key_usage |= ku_names[k].bit;
	}
	return CV_OK;
}

static cv_err
read_action(json_t *elem, size_t i, cv_lifetime_action *a)
{
	json_t *trigger, *action;
	const char *type;
	char path[64];
	int pct = 0, days = 0, pct_given, days_given;
	cv_err err;

	snprintf(path, sizeof(path), "lifetime_actions[%zu]", i);
	if (!json_is_object(elem))
		return cv_err_set(CV_ERR_POLICY, "%s: must be an object", path);
	if ((err = get_object(elem, path, "trigger", &trigger)) != CV_OK ||
	    (err = get_object(elem, path, "action", &action)) != CV_OK)
		return err;
	if (trigger == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.trigger is required", path);
	if (action == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.action is required", path);

	snprintf(path, sizeof(path), "lifetime_actions[%zu].trigger", i);
	if ((err = get_int(trigger, path, "lifetime_percentage", &pct,
			   &pct_given)) != CV_OK ||
	    (err = get_int(trigger, path, "days_before_expiry", &days,
			   &days_given)) != CV_OK)
		return err;
	if (pct_given == days_given)
		return cv_err_set(CV_ERR_POLICY,
				  "%s: give exactly one of lifetime_percentage and days_before_expiry",
				  path);
	a->trigger = pct_given ? CV_TRIGGER_LIFETIME_PERCENTAGE :
				 CV_TRIGGER_DAYS_BEFORE_EXPIRY;
	a->value = pct_given ? pct : days;

	snprintf(path, sizeof(path), "lifetime_actions[%zu].action", i);
	if ((err = get_string(action, path, "action_type", &type)) != CV_OK)
		return err;
	if (type == NULL)
		return cv_err_set(CV_ERR_POLICY, "%s.action_type is required",
				  path);
	if (strcmp(type, action_names[CV_ACTION_AUTO_RENEW]) == 0)
		a->action = CV_ACTION_AUTO_RENEW;
	else if (strcmp(type, action_names[CV_ACTION_EMAIL_CONTACTS]) == 0)
		a->action = CV_ACTION_EMAIL_CONTACTS;
	else
		return cv_err_set(CV_ERR_POLICY,
				  "%s.action_type: '%s' is not AutoRenew or EmailContacts",
				  path, type);
	return CV_OK;
}

static cv_err
read_issuer(json_t *root, cv_policy *p)
{
	const char *name, *cty;
	json_t *is;
	int given;
	cv_err err;

	if ((err = get_object(root, "", "issuer", &is)) != CV_OK)
		return err;
	if (is == NULL) {
		p->from_cert |= CV_FROM_CERT_ISSUER;
		return dup_string("Self", &p->issuer_name);
	}
	if ((err = get_string(is, "issuer", "name", &name)) != CV_OK ||
	    (err = get_string(is, "issuer", "cty", &cty)) != CV_OK ||
	    (err = get_bool(is, "issuer", "cert_transparency",
			    &p->cert_transparency, &given)) != CV_OK)
		return err;
	if (name == NULL)
		return cv_err_set(CV_ERR_POLICY, "issuer.name is required");
	if (strcasecmp(name, "Self") == 0)
		name = "Self";
	else if (strcasecmp(name, "Unknown") == 0)
		name = "Unknown";
	if ((err = dup_string(name, &p->issuer_name)) != CV_OK ||
	    (err = dup_string(cty, &p->cert_type)) != CV_OK)
		return err;
	return CV_OK;
}

static cv_err
read_actions(json_t *root, cv_policy *p)
{
	json_t *la = member(root, "lifetime_actions"), *e;
	cv_err err;
	size_t i;

	if (la == NULL) {
		p->from_cert |= CV_FROM_CERT_ACTIONS;
		/* Key Vault's default: renew at 80% where the vault can renew,
		 * mail the contacts where it cannot */
		return set_one_action(p, CV_TRIGGER_LIFETIME_PERCENTAGE, 80,
				      strcmp(p->issuer_name, "Unknown") == 0 ?
					      CV_ACTION_EMAIL_CONTACTS :
					      CV_ACTION_AUTO_RENEW);
	}
	if (!json_is_array(la))
		return cv_err_set(CV_ERR_POLICY,
				  "lifetime_actions: must be an array");
	if (json_array_size(la) == 0)
		return CV_OK;
	p->actions = calloc(json_array_size(la), sizeof(*p->actions));
	if (p->actions == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	json_array_foreach(la, i, e) {
		err = read_action(e, i, &p->actions[i]);
		if (err != CV_OK)
			return err;
		p->n_actions = i + 1;
	}
	return CV_OK;
}

/* A REST document (normalised) into a validated policy; for an import
 * (cv_policy_parse_import) the members left out stay marked in from_cert. */
cv_err
policy_from_rest(json_t *root, int import, cv_policy **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_policy *p = NULL;
	json_t *attrs;
	int given;

	*out = NULL;
	p = policy_new();
	if (p == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	p->enabled = 1;
	if ((err = read_key_props(root, p)) != CV_OK ||
	    (err = read_secret_props(root, p)) != CV_OK ||
	    (err = read_x509_props(root, p)) != CV_OK ||
	    (err = read_issuer(root, p)) != CV_OK ||
	    (err = read_actions(root, p)) != CV_OK ||
	    (err = get_object(root, "", "attributes", &attrs)) != CV_OK ||
	    (err = get_bool(attrs, "attributes", "enabled", &p->enabled,
			    &given)) != CV_OK)
		goto done;
	if (!import)
		p->from_cert = 0;
	if ((err = validate_policy(p)) != CV_OK)
		goto done;
	*out = p;
	p = NULL;
	err = CV_OK;
done:
	cv_policy_free(p);
	return err;
}

static cv_err
parse_document(const char *json, size_t len, int import, cv_policy **out)
{
	json_t *doc = NULL, *rest = NULL;
	cv_err err;

	cv_err_clear();
	if (out == NULL)
		return cv_err_set(CV_ERR_INVALID, "cv_policy_parse: no out");
	*out = NULL;
	if ((err = load_document(json, len, &doc)) != CV_OK ||
	    (err = normalise_document(doc, &rest)) != CV_OK ||
	    (err = policy_from_rest(rest, import, out)) != CV_OK)
		goto done;
done:
	json_decref(rest);
	json_decref(doc);
	return err;
}

cv_err
cv_policy_parse(const char *json, size_t len, cv_policy **out)
{
	return parse_document(json, len, 0, out);
}

cv_err
cv_policy_parse_import(const char *json, size_t len, cv_policy **out)
{
	return parse_document(json, len, 1, out);
}
