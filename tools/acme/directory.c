/* certvault: the ACME directory (RFC 8555 section 7.1.1).  It is fetched
 * once per pass and kept for the operations that follow in the same
 * process, for a few minutes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define DIRECTORY_KEEP 300 /* seconds a fetched directory is reused */

static struct acme_directory cached;
static time_t cached_at;

void
acme_directory_clear(struct acme_directory *d)
{
	free(d->url);
	free(d->new_nonce);
	free(d->new_account);
	free(d->new_order);
	memset(d, 0, sizeof(*d));
}

static int
directory_copy(struct acme_directory *to, const struct acme_directory *from)
{
	memset(to, 0, sizeof(*to));
	to->url = strdup(from->url);
	to->new_nonce = strdup(from->new_nonce);
	to->new_account = strdup(from->new_account);
	to->new_order = strdup(from->new_order);
	to->eab_required = from->eab_required;
	if (to->url == NULL || to->new_nonce == NULL || to->new_account == NULL ||
	    to->new_order == NULL) {
		acme_directory_clear(to);
		return -1;
	}
	return 0;
}

enum acme_rc
acme_directory_parse(struct acme_ctx *ctx, const char *url,
		     const unsigned char *body, size_t len, struct acme_directory *d)
{
	json_t *j = NULL, *meta;
	enum acme_rc rc;
	const char *nn, *na, *no;

	memset(d, 0, sizeof(*d));
	j = json_loadb((const char *)body, len, 0, NULL);
	nn = acme_json_str(j, "newNonce");
	na = acme_json_str(j, "newAccount");
	no = acme_json_str(j, "newOrder");
	if (nn == NULL || na == NULL || no == NULL) {
		rc = acme_fault(ctx, ACME_RC_TRANSIENT, url, "not an ACME directory "
				"(no newNonce, newAccount and newOrder URLs)");
		goto done;
	}
	d->url = strdup(url);
	d->new_nonce = strdup(nn);
	d->new_account = strdup(na);
	d->new_order = strdup(no);
	meta = json_object_get(j, "meta");
	d->eab_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
	if (d->url == NULL || d->new_nonce == NULL || d->new_account == NULL ||
	    d->new_order == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
		goto done;
	}
	rc = ACME_RC_OK;
done:
	if (rc != ACME_RC_OK)
		acme_directory_clear(d);
	json_decref(j);
	return rc;
}

enum acme_rc
acme_directory_get(struct acme_ctx *ctx, const char *url)
{
	struct http_response resp;
	struct acme_directory d;
	enum acme_rc rc;

	memset(&d, 0, sizeof(d));
	acme_directory_clear(&ctx->dir);
	if (cached.url != NULL && strcmp(cached.url, url) == 0 &&
	    time(NULL) - cached_at < DIRECTORY_KEEP) {
		if (directory_copy(&ctx->dir, &cached) != 0)
			return acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
		return ACME_RC_OK;
	}
	rc = acme_http_get(ctx, url, &resp);
	if (rc != ACME_RC_OK)
		goto done;
	if ((rc = acme_directory_parse(ctx, url, resp.body, resp.body_len, &d)) != ACME_RC_OK)
		goto done;
	if (directory_copy(&ctx->dir, &d) != 0) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url, "out of memory");
		goto done;
	}
	acme_directory_clear(&cached);
	cached = d;
	memset(&d, 0, sizeof(d));
	cached_at = time(NULL);
	rc = ACME_RC_OK;
done:
	acme_directory_clear(&d);
	http_response_clear(&resp);
	return rc;
}
