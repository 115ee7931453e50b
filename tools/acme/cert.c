/* certvault: the certificate (RFC 8555 section 7.4.2): POST-as-GET of the
 * order's certificate URL, the chain as application/pem-certificate-chain. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

enum acme_rc
acme_cert_download(struct acme_ctx *ctx, const char *url, unsigned char **pem,
		   size_t *len)
{
	struct http_response resp;
	enum acme_rc rc;

	*pem = NULL;
	*len = 0;
	rc = acme_post(ctx, url, NULL, 0, "application/pem-certificate-chain",
		       &resp);
	if (rc != ACME_RC_OK)
		goto done;
	if (resp.body_len == 0 ||
	    strstr((const char *)resp.body, "-----BEGIN CERTIFICATE-----") == NULL) {
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, url, "the answer holds no "
				"PEM certificate (Content-Type %s)",
				resp.content_type ? resp.content_type : "none");
		goto done;
	}
	*pem = resp.body;
	*len = resp.body_len;
	resp.body = NULL;
done:
	http_response_clear(&resp);
	return rc;
}
