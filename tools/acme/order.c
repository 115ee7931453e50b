/* certvault: the order (RFC 8555 section 7.4): the names it asks for, read
 * from the operation's CSR; newOrder; and the order object. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define ACME_NAMES_MAX 100
#define ACME_ORDER_PAGES 20   /* pages of the account's order list read */
#define ACME_ORDER_LOOKS 200  /* orders looked at */

void
acme_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* A subject CN is ordered only when it reads as a DNS name. */
static int
looks_like_dns(const unsigned char *s, int len)
{
	int i, dot = 0;

	if (len <= 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dot = 1;
		else if (!isalnum(s[i]) && s[i] != '-' && !(s[i] == '*' && i == 0))
			return 0;
	}
	return dot;
}

static int
names_add(char **names, size_t *n, const unsigned char *s, int len)
{
	char *name;
	size_t i;
	int k;

	if (len <= 0 || *n >= ACME_NAMES_MAX)
		return *n >= ACME_NAMES_MAX ? -1 : 0;
	name = malloc((size_t)len + 1);
	if (name == NULL)
		return -1;
	for (k = 0; k < len; k++)
		name[k] = (char)tolower(s[k]);
	name[len] = '\0';
	if (strlen(name) != (size_t)len) { /* a NUL inside: not a name */
		free(name);
		return 0;
	}
	for (i = 0; i < *n; i++) {
		if (strcmp(names[i], name) == 0) {
			free(name);
			return 0;
		}
	}
	names[(*n)++] = name;
	return 0;
}

static enum acme_rc
names_fault(struct acme_ctx *ctx)
{
	return acme_fault(ctx, ACME_RC_LOCAL, NULL, "cannot read the CSR's names "
			  "(out of memory, or more than %d)", ACME_NAMES_MAX);
}

enum acme_rc
acme_csr_names(struct acme_ctx *ctx, const unsigned char *der, size_t len,
	       char ***names_out, size_t *n_out)
{
	const unsigned char *p = der;
	X509_REQ *req = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *san = NULL;
	char **names = NULL;
	size_t n = 0;
	enum acme_rc rc = ACME_RC_LOCAL;
	int i;

	*names_out = NULL;
	*n_out = 0;
	if (der == NULL || len == 0 || len > (size_t)INT32_MAX ||
	    (req = d2i_X509_REQ(NULL, &p, (long)len)) == NULL) {
		rc = acme_fault(ctx, ACME_RC_REFUSED, NULL,
				"the operation has no readable CSR");
		goto done;
	}
	names = calloc(ACME_NAMES_MAX, sizeof(*names));
	if (names == NULL) {
		rc = names_fault(ctx);
		goto done;
	}
	for (i = -1; (i = X509_NAME_get_index_by_NID(X509_REQ_get_subject_name(req),
						     NID_commonName, i)) >= 0;) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(X509_REQ_get_subject_name(req), i));

		if (looks_like_dns(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn)) &&
		    names_add(names, &n, ASN1_STRING_get0_data(cn),
			      ASN1_STRING_length(cn)) != 0) {
			rc = names_fault(ctx);
			goto done;
		}
	}
	exts = X509_REQ_get_extensions(req);
	san = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL) : NULL;
	for (i = 0; san != NULL && i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);

		if (g->type == GEN_DNS &&
		    names_add(names, &n, ASN1_STRING_get0_data(g->d.dNSName),
			      ASN1_STRING_length(g->d.dNSName)) != 0) {
			rc = names_fault(ctx);
			goto done;
		}
	}
	if (n == 0) {
		rc = acme_fault(ctx, ACME_RC_REFUSED, NULL, "the certificate's "
				"policy names no DNS name to order (subject CN "
				"or DNS subject alternative names)");
		goto done;
	}
	*names_out = names;
	*n_out = n;
	names = NULL;
	rc = ACME_RC_OK;
done:
	acme_names_free(names, n);
	GENERAL_NAMES_free(san);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return rc;
}

enum acme_rc
acme_order_new(struct acme_ctx *ctx, char *const *names, size_t n,
	       json_t **order, char **order_url)
{
	struct http_response resp;
	json_t *payload = NULL, *ids, *j = NULL;
	char *text = NULL;
	enum acme_rc rc = ACME_RC_LOCAL;
	size_t i;

	*order = NULL;
	*order_url = NULL;
	memset(&resp, 0, sizeof(resp));
	ids = json_array();
	payload = json_pack("{s:o}", "identifiers", ids);
	if (ids == NULL || payload == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_order,
				"out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (json_array_append_new(ids, json_pack("{s:s, s:s}", "type", "dns",
							 "value", names[i])) != 0) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_order,
					"out of memory");
			goto done;
		}
	}
	text = json_dumps(payload, JSON_COMPACT);
	if (text == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_order,
				"out of memory");
		goto done;
	}
	rc = acme_post(ctx, ctx->dir.new_order, text, 0, NULL, &resp);
	if (rc != ACME_RC_OK)
		goto done;
	j = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
	if (!json_is_object(j) || resp.location == NULL ||
	    !http_url_allowed(resp.location)) {
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, ctx->dir.new_order,
				"the new order has no Location or no object");
		goto done;
	}
	*order_url = strdup(resp.location);
	if (*order_url == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_order,
				"out of memory");
		goto done;
	}
	*order = j;
	j = NULL;
	rc = ACME_RC_OK;
done:
	json_decref(payload);
	json_decref(j);
	free(text);
	http_response_clear(&resp);
	return rc;
}

enum acme_rc
acme_order_get(struct acme_ctx *ctx, const char *url, json_t **order)
{
	return acme_post_get_json(ctx, url, order);
}

void
acme_order_problem(struct acme_ctx *ctx, const char *url, json_t *order)
{
	json_t *e = json_object_get(order, "error");
	const char *type = acme_json_str(e, "type"), *detail = acme_json_str(e, "detail");
	static const char prefix[] = "urn:ietf:params:acme:error:";

	acme_fault(ctx, ACME_RC_REFUSED, url, "%s",
		   detail ? detail : "the order became invalid");
	if (type != NULL && strncmp(type, prefix, sizeof(prefix) - 1) == 0)
		type += sizeof(prefix) - 1;
	snprintf(ctx->prob.type, sizeof(ctx->prob.type), "%s",
		 type ? type : "orderInvalid");
	acme_one_line(ctx->prob.type);
}

int
acme_order_names_match(json_t *order, char *const *names, size_t n)
{
	json_t *ids = json_object_get(order, "identifiers"), *id;
	size_t i, k, matched = 0;
	unsigned char *used = NULL;

	if (!json_is_array(ids) || json_array_size(ids) != n ||
	    (used = calloc(n ? n : 1, 1)) == NULL)
		return 0;
	/* Each name answers one identifier: an order that names one twice
	 * and another not at all is not these names. */
	json_array_foreach(ids, i, id) {
		const char *t = acme_json_str(id, "type"), *v = acme_json_str(id, "value");

		if (t == NULL || v == NULL || strcmp(t, "dns") != 0)
			goto done;
		for (k = 0; k < n; k++) {
			if (!used[k] && strcasecmp(names[k], v) == 0) {
				used[k] = 1;
				matched++;
				break;
			}
		}
	}
done:
	free(used);
	return matched == n;
}

enum acme_rc
acme_order_find(struct acme_ctx *ctx, char *const *names, size_t n,
		json_t **order, char **order_url)
{
	json_t *acct = NULL, *list = NULL, *u, *o = NULL;
	char *page = NULL;
	enum acme_rc rc;
	int pages, looked = 0;
	size_t i;

	*order = NULL;
	*order_url = NULL;
	rc = acme_post_get_json(ctx, ctx->account_url, &acct);
	if (rc != ACME_RC_OK)
		goto done;
	if (acme_json_str(acct, "orders") == NULL)
		goto done; /* the CA lists no orders: nothing to find */
	page = strdup(acme_json_str(acct, "orders"));
	for (pages = 0; page != NULL && pages < ACME_ORDER_PAGES; pages++) {
		struct http_response resp;

		rc = acme_post(ctx, page, NULL, 0, NULL, &resp);
		free(page);
		page = NULL;
		if (rc != ACME_RC_OK) {
			http_response_clear(&resp);
			goto done;
		}
		if (resp.link_next != NULL && http_url_allowed(resp.link_next))
			page = strdup(resp.link_next);
		json_decref(list);
		list = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
		http_response_clear(&resp);
		json_array_foreach(json_object_get(list, "orders"), i, u) {
			const char *url = json_string_value(u), *status;

			if (url == NULL || looked++ >= ACME_ORDER_LOOKS)
				goto done;
			json_decref(o);
			o = NULL;
			rc = acme_post_get_json(ctx, url, &o);
			if (rc != ACME_RC_OK)
				goto done;
			status = acme_json_str(o, "status");
			/* Only an order no certificate came from yet: a valid
			 * one may be an earlier version's. */
			if (status == NULL || (strcmp(status, "pending") != 0 &&
					       strcmp(status, "ready") != 0) ||
			    !acme_order_names_match(o, names, n))
				continue;
			*order_url = strdup(url);
			if (*order_url == NULL) {
				rc = acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
				goto done;
			}
			*order = o;
			o = NULL;
			goto done;
		}
	}
done:
	json_decref(acct);
	json_decref(list);
	json_decref(o);
	free(page);
	return rc;
}
