/* certvault: the ACME account (RFC 8555 section 7.3): newAccount, signed
 * with the account key's JWK, carrying the External Account Binding and the
 * contact.  The account URL the CA answers is remembered in the issuer
 * record, so each issuer registers once. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum acme_rc
acme_account_register(struct acme_ctx *ctx, const cv_issuer *is)
{
	struct http_response resp;
	json_t *payload = NULL, *eab = NULL, *contact;
	char *text = NULL, *url = NULL;
	enum acme_rc rc = ACME_RC_LOCAL;
	cv_err err;

	memset(&resp, 0, sizeof(resp));
	payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	if (payload == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
		goto done;
	}
	if (is->email != NULL && is->email[0] != '\0') {
		size_t n = strlen(is->email) + sizeof("mailto:");
		char *mailto = malloc(n);

		if (mailto == NULL) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
			goto done;
		}
		snprintf(mailto, n, "mailto:%s", is->email);
		contact = json_pack("[s]", mailto);
		free(mailto);
		if (contact == NULL || json_object_set_new(payload, "contact", contact) != 0) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
			goto done;
		}
	}
	if (is->account_id != NULL || ctx->dir.eab_required) {
		rc = acme_jws_eab(ctx, is->account_id, &eab);
		if (rc != ACME_RC_OK)
			goto done;
		if (json_object_set_new(payload, "externalAccountBinding", eab) != 0) {
			eab = NULL;
			rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
			goto done;
		}
		eab = NULL;
	}
	text = json_dumps(payload, JSON_COMPACT);
	if (text == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
		goto done;
	}
	rc = acme_post(ctx, ctx->dir.new_account, text, 1, NULL, &resp);
	if (rc != ACME_RC_OK)
		goto done;
	if (resp.location == NULL || !http_url_allowed(resp.location)) {
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, ctx->dir.new_account,
				"the new account has no usable Location");
		goto done;
	}
	url = strdup(resp.location);
	if (url == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, ctx->dir.new_account,
					"out of memory");
		goto done;
	}
	err = cv_issuer_account_set(ctx->v, ctx->issuer, url);
	if (err != CV_OK) {
		const char *d = cv_err_detail();

		rc = acme_fault(ctx, ACME_RC_LOCAL, url, "cannot remember the "
				"account of issuer %s: %s", ctx->issuer,
				d[0] != '\0' ? d : cv_strerror(err));
		goto done;
	}
	free(ctx->account_url);
	ctx->account_url = url;
	url = NULL;
	rc = ACME_RC_OK;
done:
	json_decref(payload);
	json_decref(eab);
	free(text);
	free(url);
	http_response_clear(&resp);
	return rc;
}
