/* certvault: finalize (RFC 8555 section 7.4): the operation's CSR, made and
 * signed inside the vault, sent as base64url DER. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum acme_rc
acme_order_finalize(struct acme_ctx *ctx, const char *url,
		    const unsigned char *csr, size_t len, json_t **order)
{
	struct http_response resp;
	json_t *payload = NULL;
	char *csr_b64 = NULL, *text = NULL;
	enum acme_rc rc = ACME_RC_LOCAL;

	*order = NULL;
	memset(&resp, 0, sizeof(resp));
	csr_b64 = acme_b64url(csr, len);
	if (csr_b64 == NULL || (payload = json_pack("{s:s}", "csr", csr_b64)) == NULL ||
	    (text = json_dumps(payload, JSON_COMPACT)) == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
		goto done;
	}
	rc = acme_post(ctx, url, text, 0, NULL, &resp);
	if (rc != ACME_RC_OK)
		goto done;
	*order = json_loadb((const char *)resp.body, resp.body_len, 0, NULL);
	if (!json_is_object(*order)) {
		json_decref(*order);
		*order = NULL;
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, url,
				"the finalized order is not a JSON object");
	}
done:
	json_decref(payload);
	free(csr_b64);
	free(text);
	http_response_clear(&resp);
	return rc;
}
