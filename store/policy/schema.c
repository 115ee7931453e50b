/* certvault policy: Schema normalisation: every input spelling renamed into the REST spelling. */
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

/* A member as one spelling writes it and its REST name.  rest == NULL
 * marks a read-only member that is accepted and dropped. */
struct schema {
	const char *name;
	const char *rest;
	const struct schema *members; /* an object's (or array element's) */
	int array;                    /* an array of such objects */
};

#define VALUE(n, r) { (n), (r), NULL, 0 }
#define OBJECT(n, r, m) { (n), (r), (m), 0 }
#define ARRAY(n, r, m) { (n), (r), (m), 1 }
#define END { NULL, NULL, NULL, 0 }

/* REST */
static const struct schema rest_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("kty", "kty"),
	VALUE("key_size", "key_size"), VALUE("reuse_key", "reuse_key"),
	VALUE("crv", "crv"), END,
};
static const struct schema rest_secret_props[] = {
	VALUE("contentType", "contentType"), END,
};
static const struct schema rest_sans[] = {
	VALUE("emails", "emails"), VALUE("dns_names", "dns_names"),
	VALUE("upns", "upns"), VALUE("ipAddresses", "ipAddresses"),
	VALUE("uris", "uris"), END,
};
static const struct schema rest_basic_constraints[] = {
	VALUE("ca", "ca"), VALUE("path_length", "path_length"), END,
};
static const struct schema rest_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("sans", "sans", rest_sans), VALUE("key_usage", "key_usage"),
	VALUE("validity_months", "validity_months"),
	OBJECT("basic_constraints", "basic_constraints",
	       rest_basic_constraints), END,
};
static const struct schema rest_trigger[] = {
	VALUE("lifetime_percentage", "lifetime_percentage"),
	VALUE("days_before_expiry", "days_before_expiry"), END,
};
static const struct schema rest_action[] = {
	VALUE("action_type", "action_type"), END,
};
static const struct schema rest_lifetime_action[] = {
	OBJECT("trigger", "trigger", rest_trigger),
	OBJECT("action", "action", rest_action), END,
};
static const struct schema rest_issuer[] = {
	VALUE("name", "name"), VALUE("cty", "cty"),
	VALUE("cert_transparency", "cert_transparency"), END,
};
static const struct schema rest_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("nbf", NULL), VALUE("exp", NULL),
	VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recoveryLevel", NULL), VALUE("recoverableDays", NULL), END,
};
static const struct schema rest_policy[] = {
	VALUE("id", NULL),
	OBJECT("key_props", "key_props", rest_key_props),
	OBJECT("secret_props", "secret_props", rest_secret_props),
	OBJECT("x509_props", "x509_props", rest_x509_props),
	ARRAY("lifetime_actions", "lifetime_actions", rest_lifetime_action),
	OBJECT("issuer", "issuer", rest_issuer),
	OBJECT("attributes", "attributes", rest_attributes), END,
};

/* az CLI, camelCase */
static const struct schema az_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("keyType", "kty"),
	VALUE("keySize", "key_size"), VALUE("reuseKey", "reuse_key"),
	VALUE("curve", "crv"), END,
};
static const struct schema az_secret_props[] = {
	VALUE("contentType", "contentType"), END,
};
static const struct schema az_sans[] = {
	VALUE("emails", "emails"), VALUE("dnsNames", "dns_names"),
	VALUE("upns", "upns"), VALUE("ipAddresses", "ipAddresses"),
	VALUE("uris", "uris"), END,
};
static const struct schema az_basic_constraints[] = {
	VALUE("ca", "ca"), VALUE("pathLength", "path_length"), END,
};
static const struct schema az_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("subjectAlternativeNames", "sans", az_sans),
	VALUE("keyUsage", "key_usage"),
	VALUE("validityInMonths", "validity_months"),
	OBJECT("basicConstraints", "basic_constraints", az_basic_constraints),
	END,
};
static const struct schema az_trigger[] = {
	VALUE("lifetimePercentage", "lifetime_percentage"),
	VALUE("daysBeforeExpiry", "days_before_expiry"), END,
};
static const struct schema az_action[] = {
	VALUE("actionType", "action_type"), END,
};
static const struct schema az_lifetime_action[] = {
	OBJECT("trigger", "trigger", az_trigger),
	OBJECT("action", "action", az_action), END,
};
static const struct schema az_issuer[] = {
	VALUE("name", "name"), VALUE("certificateType", "cty"),
	VALUE("certificateTransparency", "cert_transparency"), END,
};
static const struct schema az_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("notBefore", NULL),
	VALUE("expires", NULL), VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recoveryLevel", NULL), VALUE("recoverableDays", NULL), END,
};
static const struct schema az_policy[] = {
	VALUE("id", NULL),
	OBJECT("keyProperties", "key_props", az_key_props),
	OBJECT("secretProperties", "secret_props", az_secret_props),
	OBJECT("x509CertificateProperties", "x509_props", az_x509_props),
	ARRAY("lifetimeActions", "lifetime_actions", az_lifetime_action),
	OBJECT("issuerParameters", "issuer", az_issuer),
	OBJECT("attributes", "attributes", az_attributes), END,
};

/* the older az CLI, snake_case */
static const struct schema snake_key_props[] = {
	VALUE("exportable", "exportable"), VALUE("key_type", "kty"),
	VALUE("key_size", "key_size"), VALUE("reuse_key", "reuse_key"),
	VALUE("curve", "crv"), END,
};
static const struct schema snake_secret_props[] = {
	VALUE("content_type", "contentType"), END,
};
static const struct schema snake_sans[] = {
	VALUE("emails", "emails"), VALUE("dns_names", "dns_names"),
	VALUE("upns", "upns"), END,
};
static const struct schema snake_x509_props[] = {
	VALUE("subject", "subject"), VALUE("ekus", "ekus"),
	OBJECT("subject_alternative_names", "sans", snake_sans),
	VALUE("key_usage", "key_usage"),
	VALUE("validity_in_months", "validity_months"),
	OBJECT("basic_constraints", "basic_constraints",
	       rest_basic_constraints), END,
};
static const struct schema snake_issuer[] = {
	VALUE("name", "name"), VALUE("certificate_type", "cty"),
	VALUE("certificate_transparency", "cert_transparency"), END,
};
static const struct schema snake_attributes[] = {
	VALUE("enabled", "enabled"), VALUE("not_before", NULL),
	VALUE("expires", NULL), VALUE("created", NULL), VALUE("updated", NULL),
	VALUE("recovery_level", NULL), VALUE("recoverable_days", NULL), END,
};
static const struct schema snake_policy[] = {
	VALUE("id", NULL),
	OBJECT("key_properties", "key_props", snake_key_props),
	OBJECT("secret_properties", "secret_props", snake_secret_props),
	OBJECT("x509_certificate_properties", "x509_props", snake_x509_props),
	ARRAY("lifetime_actions", "lifetime_actions", rest_lifetime_action),
	OBJECT("issuer_parameters", "issuer", snake_issuer),
	OBJECT("attributes", "attributes", snake_attributes), END,
};

/* In the order a document matching several (only shared members) is
 * read as. */
static const struct spelling {
	const char *name;
	const struct schema *schema;
} spellings[] = {
	{ "REST", rest_policy },
	{ "az CLI", az_policy },
	{ "older az CLI", snake_policy },
};
#define N_SPELLINGS (sizeof(spellings) / sizeof(spellings[0]))

static const struct schema *
find_member(const struct schema *s, const char *name)
{
	for (; s->name != NULL; s++) {
		if (strcmp(s->name, name) == 0)
			return s;
	}
	return NULL;
}

/* Member paths for details; a path too long for buf is cut, which only
 * shortens a detail. */
void
join_path(char *buf, size_t n, const char *parent, const char *name)
{
	snprintf(buf, n, "%s%s%s", parent, parent[0] ? "." : "", name);
}

static void
index_path(char *buf, size_t n, const char *parent, size_t i)
{
	snprintf(buf, n, "%s[%zu]", parent, i);
}

/* Copy in's members into out under their REST names, recursing into
 * known objects; nulls and read-only members are left out.  A value of
 * the wrong JSON type is copied as it is, for policy_from_rest to name. */
static cv_err
normalise_object(json_t *in, const struct schema *schema, const char *path,
		 json_t *out)
{
	const struct schema *m;
	json_t *value, *copy = NULL, *elem, *ecopy;
	const char *key;
	char sub[160], idx[200];
	cv_err err = CV_OK;
	size_t i;

	json_object_foreach(in, key, value) {
		m = find_member(schema, key);
		if (m == NULL)
			return cv_err_set(CV_ERR_POLICY,
					  "unknown policy member '%s%s%s'", path,
					  path[0] ? "." : "", key);
		if (m->rest == NULL || json_is_null(value))
			continue;
		join_path(sub, sizeof(sub), path, m->name);
		if (m->members != NULL && !m->array && json_is_object(value)) {
			copy = json_object();
			if (copy == NULL)
				goto nomem;
			err = normalise_object(value, m->members, sub, copy);
			if (err != CV_OK)
				goto done;
		} else if (m->array && json_is_array(value)) {
			copy = json_array();
			if (copy == NULL)
				goto nomem;
			json_array_foreach(value, i, elem) {
				if (json_is_object(elem)) {
					index_path(idx, sizeof(idx), sub, i);
					ecopy = json_object();
					if (ecopy == NULL)
						goto nomem;
					err = normalise_object(elem, m->members, idx,
							       ecopy);
					if (err != CV_OK) {
						json_decref(ecopy);
						goto done;
					}
				} else {
					ecopy = json_incref(elem);
				}
				if (json_array_append_new(copy, ecopy) != 0)
					goto nomem;
			}
		} else {
			copy = json_incref(value);
		}
		if (json_object_set_new(out, m->rest, copy) != 0) {
			copy = NULL;
			goto nomem;
		}
		copy = NULL;
	}
	return CV_OK;

nomem:
	err = cv_err_set(CV_ERR_NOMEM, "out of memory");
done:
	json_decref(copy);
	return err;
}

/* Which spelling the top-level members are in, then the document renamed
 * into the REST spelling. */
cv_err
normalise_document(json_t *doc, json_t **out)
{
	unsigned mask = (1u << N_SPELLINGS) - 1, key_mask, before;
	const char *key, *first_key = NULL;
	json_t *value, *rest = NULL;
	cv_err err;
	size_t i, spell;

	*out = NULL;
	json_object_foreach(doc, key, value) {
		key_mask = 0;
		for (i = 0; i < N_SPELLINGS; i++) {
			if (find_member(spellings[i].schema, key) != NULL)
				key_mask |= 1u << i;
		}
		if (key_mask == 0)
			return cv_err_set(CV_ERR_POLICY,
					  "unknown policy member '%s'", key);
		before = mask;
		mask &= key_mask;
		if (mask == 0) {
			size_t a = 0, b = 0;

			while (!(before & (1u << a)))
				a++;
			while (!(key_mask & (1u << b)))
				b++;
			return cv_err_set(CV_ERR_POLICY,
					  "policy member '%s' is %s spelling but '%s' is %s spelling; use one spelling",
					  key, spellings[b].name,
					  first_key ? first_key : "?",
					  spellings[a].name);
		}
		if (key_mask != (1u << N_SPELLINGS) - 1 && first_key == NULL)
			first_key = key;
	}
	for (spell = 0; !(mask & (1u << spell)); spell++)
		;
	rest = json_object();
	if (rest == NULL)
		return cv_err_set(CV_ERR_NOMEM, "out of memory");
	err = normalise_object(doc, spellings[spell].schema, "", rest);
	if (err != CV_OK) {
		json_decref(rest);
		return err;
	}
	*out = rest;
	return CV_OK;
}

/* The document as an object, with Key Vault's words for what is wrong. */
cv_err
load_document(const char *text, size_t len, json_t **out)
{
	json_error_t jerr;
	json_t *doc;
	size_t i;

	*out = NULL;
	if (text == NULL && len > 0)
		return cv_err_set(CV_ERR_INVALID, "no policy document");
	for (i = 0; i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
		    text[i] != '\r')
			break;
	}
	if (i == len)
		return cv_err_set(CV_ERR_JSON, "the policy document is empty");
	memset(&jerr, 0, sizeof(jerr));
	doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			 &jerr);
	if (doc == NULL) {
		/* jansson leaves the text empty when an allocation fails */
		if (json_error_code(&jerr) == json_error_out_of_memory ||
		    jerr.text[0] == '\0')
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
		return cv_err_set(CV_ERR_JSON,
				  "malformed JSON at line %d, column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return cv_err_set(CV_ERR_POLICY,
				  "the policy document must be a JSON object");
	}
	*out = doc;
	return CV_OK;
}
