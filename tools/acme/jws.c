/* certvault: the JWS of every ACME request, and the External Account
 * Binding's inner JWS (RFC 8555 sections 6.2 and 7.3.4).  The signature is
 * made by the store with the issuer's account key, the binding's MAC with its
 * sealed HMAC key: neither key is ever here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

/* "b64(protected).b64(payload)" and the two encodings. */
static enum acme_rc
signing_input(struct acme_ctx *ctx, json_t *protected, const char *payload,
	      char **prot_b64, char **payload_b64, char **input)
{
	char *prot = NULL, *in = NULL;
	size_t n;
	enum acme_rc rc = ACME_RC_LOCAL;

	*prot_b64 = *payload_b64 = *input = NULL;
	prot = json_dumps(protected, JSON_COMPACT);
	if (prot == NULL)
		goto done;
	*prot_b64 = acme_b64url((const unsigned char *)prot, strlen(prot));
	*payload_b64 = acme_b64url((const unsigned char *)payload, strlen(payload));
	if (*prot_b64 == NULL || *payload_b64 == NULL)
		goto done;
	n = strlen(*prot_b64) + 1 + strlen(*payload_b64) + 1;
	in = malloc(n);
	if (in == NULL)
		goto done;
	snprintf(in, n, "%s.%s", *prot_b64, *payload_b64);
	*input = in;
	in = NULL;
	rc = ACME_RC_OK;
done:
	free(prot);
	free(in);
	if (rc != ACME_RC_OK) {
		free(*prot_b64);
		free(*payload_b64);
		*prot_b64 = *payload_b64 = NULL;
		acme_fault(ctx, rc, NULL, "out of memory building a JWS");
	}
	return rc;
}

static enum acme_rc
store_fault(struct acme_ctx *ctx, cv_err err, const char *what)
{
	const char *d = cv_err_detail();

	return acme_fault(ctx, ACME_RC_LOCAL, NULL, "%s for issuer %s: %s", what,
			  ctx->issuer, d[0] != '\0' ? d : cv_strerror(err));
}

enum acme_rc
acme_jws_sign(struct acme_ctx *ctx, const char *url, const char *payload,
	      int with_jwk, char **out)
{
	json_t *prot = NULL, *jwk = NULL, *jws = NULL;
	char *prot_b64 = NULL, *payload_b64 = NULL, *input = NULL, *sig_b64 = NULL;
	unsigned char sig[64];
	enum acme_rc rc = ACME_RC_LOCAL;
	cv_err err;

	*out = NULL;
	prot = json_pack("{s:s, s:s, s:s}", "alg", "ES256", "nonce",
			 ctx->nonce ? ctx->nonce : "", "url", url);
	if (prot == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"out of memory building a JWS");
		goto done;
	}
	if (with_jwk) {
		jwk = json_loads(ctx->jwk, 0, NULL);
		if (jwk == NULL || json_object_set(prot, "jwk", jwk) != 0) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"out of memory building a JWS");
			goto done;
		}
	} else {
		if (ctx->account_url == NULL) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"no account to sign the request with");
			goto done;
		}
		if (json_object_set_new(prot, "kid",
					json_string(ctx->account_url)) != 0) {
			rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"out of memory building a JWS");
			goto done;
		}
	}
	rc = signing_input(ctx, prot, payload ? payload : "", &prot_b64,
			   &payload_b64, &input);
	if (rc != ACME_RC_OK)
		goto done;
	err = cv_issuer_account_sign(ctx->v, ctx->issuer,
				     (const unsigned char *)input, strlen(input), sig);
	if (err != CV_OK) {
		rc = store_fault(ctx, err, "cannot sign with the account key");
		goto done;
	}
	sig_b64 = acme_b64url(sig, sizeof(sig));
	if (sig_b64 == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"out of memory building a JWS");
		goto done;
	}
	jws = json_pack("{s:s, s:s, s:s}", "protected", prot_b64, "payload",
			payload_b64, "signature", sig_b64);
	if (jws == NULL || (*out = json_dumps(jws, JSON_COMPACT)) == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, url,
					"out of memory building a JWS");
		goto done;
	}
	rc = ACME_RC_OK;
done:
	json_decref(prot);
	json_decref(jwk);
	json_decref(jws);
	free(prot_b64);
	free(payload_b64);
	free(input);
	free(sig_b64);
	return rc;
}

enum acme_rc
acme_jws_eab(struct acme_ctx *ctx, const char *key_id, json_t **out)
{
	json_t *prot = NULL, *jws = NULL;
	char *prot_b64 = NULL, *payload_b64 = NULL, *input = NULL, *mac_b64 = NULL;
	unsigned char mac[32];
	enum acme_rc rc = ACME_RC_LOCAL;
	cv_err err;

	*out = NULL;
	if (key_id == NULL || key_id[0] == '\0') {
		rc = acme_fault(ctx, ACME_RC_REFUSED, ctx->dir.new_account,
				"issuer %s has no account id for the external "
				"account binding", ctx->issuer);
		goto done;
	}
	prot = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", key_id, "url",
			 ctx->dir.new_account);
	if (prot == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, NULL,
					"out of memory building a JWS");
		goto done;
	}
	rc = signing_input(ctx, prot, ctx->jwk, &prot_b64, &payload_b64, &input);
	if (rc != ACME_RC_OK)
		goto done;
	err = cv_issuer_eab_mac(ctx->v, ctx->issuer, (const unsigned char *)input,
				strlen(input), mac);
	if (err == CV_ERR_NO_PASSWORD || err == CV_ERR_INVALID) {
		const char *d = cv_err_detail();

		rc = acme_fault(ctx, ACME_RC_REFUSED, ctx->dir.new_account,
				"issuer %s: the external account binding's HMAC "
				"key: %s", ctx->issuer,
				d[0] != '\0' ? d : cv_strerror(err));
		goto done;
	}
	if (err != CV_OK) {
		rc = store_fault(ctx, err, "cannot compute the account binding");
		goto done;
	}
	mac_b64 = acme_b64url(mac, sizeof(mac));
	if (mac_b64 == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, NULL,
					"out of memory building a JWS");
		goto done;
	}
	jws = json_pack("{s:s, s:s, s:s}", "protected", prot_b64, "payload",
			payload_b64, "signature", mac_b64);
	if (jws == NULL) {
		rc = acme_fault(ctx, ACME_RC_LOCAL, NULL,
					"out of memory building a JWS");
		goto done;
	}
	*out = jws;
	jws = NULL;
	rc = ACME_RC_OK;
done:
	OPENSSL_cleanse(mac, sizeof(mac));
	json_decref(prot);
	json_decref(jws);
	free(prot_b64);
	free(payload_b64);
	free(input);
	free(mac_b64);
	return rc;
}
