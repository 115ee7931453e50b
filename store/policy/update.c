/* certvault policy: Patching a policy (update), merged onto its REST form. */
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

/* RFC 7386 without deletion: a null in the patch means "not given", and
 * normalise_document has already left the nulls out. */
static cv_err
merge_object(json_t *target, json_t *patch)
{
	const char *key;
	json_t *pv, *tv;
	cv_err err;

	json_object_foreach(patch, key, pv) {
		tv = json_object_get(target, key);
		if (json_is_object(pv) && json_is_object(tv)) {
			err = merge_object(tv, pv);
			if (err != CV_OK)
				return err;
			continue;
		}
		if (json_object_set(target, key, pv) != 0)
			return cv_err_set(CV_ERR_NOMEM, "out of memory");
	}
	return CV_OK;
}

/* The base's key shape gives way to a patch that changes it: a new key
 * family drops the old size and curve, an HSM key type drops the old
 * exportable flag, a new curve drops the old size. */
static void
drop_replaced_key_shape(const cv_policy *base, json_t *merged, json_t *patch)
{
	json_t *bk = json_object_get(merged, "key_props");
	json_t *pk = json_object_get(patch, "key_props");
	const struct key_type_name *kt = NULL;
	json_t *kty;

	if (!json_is_object(bk) || !json_is_object(pk))
		return;
	kty = json_object_get(pk, "kty");
	if (json_is_string(kty))
		kt = find_key_type(json_string_value(kty));
	if (kt != NULL && kt->kty != base->kty) {
		if (json_object_get(pk, "key_size") == NULL)
			json_object_del(bk, "key_size");
		if (json_object_get(pk, "crv") == NULL)
			json_object_del(bk, "crv");
	}
	if (kt != NULL && kt->hsm && json_object_get(pk, "exportable") == NULL)
		json_object_del(bk, "exportable");
	if (json_object_get(pk, "crv") != NULL &&
	    json_object_get(pk, "key_size") == NULL)
		json_object_del(bk, "key_size");
}

/* basic_constraints is replaced as a whole: {"ca": false} drops the old
 * path length with the CA. */
static void
drop_replaced_basic_constraints(json_t *merged, json_t *patch)
{
	json_t *bx = json_object_get(merged, "x509_props");
	json_t *px = json_object_get(patch, "x509_props");

	if (json_is_object(bx) && json_is_object(px) &&
	    json_object_get(px, "basic_constraints") != NULL)
		json_object_del(bx, "basic_constraints");
}

cv_err
cv_policy_update(const cv_policy *base, const char *patch, size_t len,
		 cv_policy **out)
{
	json_t *doc = NULL, *rest_patch = NULL, *merged = NULL;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (base == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_policy_update: bad arguments");
		goto done;
	}
	if ((err = load_document(patch, len, &doc)) != CV_OK ||
	    (err = normalise_document(doc, &rest_patch)) != CV_OK)
		goto done;
	merged = rest_json(base);
	if (merged == NULL) {
		err = write_failure(base);
		goto done;
	}
	drop_replaced_key_shape(base, merged, rest_patch);
	drop_replaced_basic_constraints(merged, rest_patch);
	if ((err = merge_object(merged, rest_patch)) != CV_OK ||
	    (err = policy_from_rest(merged, 0, out)) != CV_OK)
		goto done;
done:
	json_decref(merged);
	json_decref(rest_patch);
	json_decref(doc);
	return err;
}
