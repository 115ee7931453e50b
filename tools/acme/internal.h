/* certvault: the ACME client's files, shared between them.
 *
 * One function per protocol step, as OpenBSD acme-client's netproc.c: the
 * directory (directory.c), nonces and the signed POST every step goes
 * through (nonce.c), the JWS itself (jws.c), newAccount with the binding
 * (account.c), newOrder and the order object (order.c), authorizations and
 * challenges (authz.c), finalize (finalize.c), the certificate (cert.c), and
 * the pass that strings them together (provider.c).  None of them holds a
 * key: signatures and the binding's MAC are made by the store.
 */
#ifndef CV_ACME_INTERNAL_H
#define CV_ACME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../net/http.h"
#include "acme.h"
#include "store.h"

#define ACME_NONCE_TRIES 16      /* badNonce answers one request survives */
#define ACME_URL_MAX 2048
#define ACME_MAX_RESPONSE (1024u * 1024u)

struct acme_directory {
	char *url;
	char *new_nonce;
	char *new_account;
	char *new_order;
	int eab_required;        /* meta.externalAccountRequired */
};

/* Why a step did not succeed.  type is the problem type without the
 * "urn:ietf:params:acme:error:" prefix for the RFC's own types. */
struct acme_problem {
	long status;             /* HTTP status; 0: no answer */
	char type[160];
	char detail[512];
	char url[ACME_URL_MAX];
	int64_t retry_after;     /* Unix time, 0: none */
};

enum acme_rc {
	ACME_RC_OK = 0,
	ACME_RC_TRANSIENT,  /* no answer, 5xx, 429 or rateLimited: later */
	ACME_RC_REFUSED,    /* the CA said no (problem filled); final */
	ACME_RC_UNKNOWN,    /* the CA does not know the account or the object
			       (accountDoesNotExist, 404): it was reset */
	ACME_RC_LOCAL,      /* a local fault (vault, memory); detail says */
};

struct acme_ctx {
	cv_vault *v;
	const char *issuer;      /* the issuer's name */
	const char *ca_file;     /* TLS roots, or NULL */
	long connect_timeout, total_timeout;
	struct acme_directory dir;
	char *nonce;             /* the next request's nonce, or NULL */
	char *jwk;               /* account public key (RFC 7638 member order) */
	char *thumbprint;        /* base64url SHA-256 of jwk */
	char *account_url;       /* the JWS kid once registered */
	struct acme_problem prob;
	int authz_invalid;       /* ctx->prob is an authorization found invalid */
	struct acme_answer *answers; /* challenge answers set in this pass */
	size_t n_answers;
};

struct acme_answer {
	char *domain;
	char *token;
	char *key_authorization;
};

/* b64url.c: base64url without padding.  NULL on allocation failure. */
char *acme_b64url(const unsigned char *data, size_t len);

/* jws.c: the flattened JWS JSON for one request (RFC 8555 6.2): protected
 * header alg ES256, nonce, url, and jwk (with_jwk) or kid; payload NULL is
 * POST-as-GET (empty payload).  *out is the caller's. */
enum acme_rc acme_jws_sign(struct acme_ctx *ctx, const char *url,
			   const char *payload, int with_jwk, char **out);
/* The External Account Binding (RFC 8555 7.3.4): a JWS with alg HS256, kid
 * the binding's key id, url newAccount, payload the account JWK. */
enum acme_rc acme_jws_eab(struct acme_ctx *ctx, const char *key_id,
			  json_t **out);

/* directory.c */
enum acme_rc acme_directory_get(struct acme_ctx *ctx, const char *url);
/* The directory document body (from url) into *d (cleared on entry; the
 * caller clears it).  Errors: ACME_RC_TRANSIENT (not a directory: ctx->prob
 * says so), ACME_RC_LOCAL (memory). */
enum acme_rc acme_directory_parse(struct acme_ctx *ctx, const char *url,
				  const unsigned char *body, size_t len,
				  struct acme_directory *d);
void acme_directory_clear(struct acme_directory *d);

/* nonce.c: an unsigned GET (the directory), and the signed POST every step
 * makes, retrying badNonce with the fresh nonce each answer carries.  A 2xx
 * is ACME_RC_OK with *resp the answer; everything else fills ctx->prob.
 * accept may be NULL. */
enum acme_rc acme_http_get(struct acme_ctx *ctx, const char *url,
			   struct http_response *resp);
enum acme_rc acme_post(struct acme_ctx *ctx, const char *url, const char *payload,
		       int with_jwk, const char *accept, struct http_response *resp);
/* POST-as-GET of an ACME object, parsed.  *out is the caller's. */
enum acme_rc acme_post_get_json(struct acme_ctx *ctx, const char *url,
				json_t **out);
/* Keep the last unused nonce for the next pass at the same directory. */
void acme_nonce_keep(struct acme_ctx *ctx);
/* A CA's text becomes part of one line: control characters become spaces,
 * and trailing space goes. */
void acme_one_line(char *s);
/* An answer that is not a success (a problem document, RFC 7807, or any
 * body) into ctx->prob. */
void acme_problem_read(struct acme_ctx *ctx, const char *url,
		       const struct http_response *resp);
/* Fill ctx->prob for a fault found here (a local fault or the CA's
 * answer making no sense), and return rc. */
enum acme_rc acme_fault(struct acme_ctx *ctx, enum acme_rc rc, const char *url,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* account.c: newAccount with the binding and contact; sets ctx->account_url
 * (and remembers it in the issuer record). */
enum acme_rc acme_account_register(struct acme_ctx *ctx, const cv_issuer *is);

/* order.c */
/* The DNS names to order: the CSR's subject CN and SAN DNS names, each once,
 * lower-case.  Free with acme_names_free. */
enum acme_rc acme_csr_names(struct acme_ctx *ctx, const unsigned char *der,
			    size_t len, char ***names, size_t *n);
void acme_names_free(char **names, size_t n);
enum acme_rc acme_order_new(struct acme_ctx *ctx, char *const *names, size_t n,
			    json_t **order, char **order_url);
/* A pending or ready order of this account for exactly these names, from
 * the account's order list: the order a pass killed between newOrder and
 * saving its URL placed.  ACME_RC_OK with *order NULL when there is none. */
enum acme_rc acme_order_find(struct acme_ctx *ctx, char *const *names, size_t n,
			     json_t **order, char **order_url);
enum acme_rc acme_order_get(struct acme_ctx *ctx, const char *url,
			    json_t **order);
/* The order's problem (its "error" member), into ctx->prob. */
void acme_order_problem(struct acme_ctx *ctx, const char *url, json_t *order);
/* 1 when the order's identifiers are exactly these DNS names, else 0. */
int acme_order_names_match(json_t *order, char *const *names, size_t n);
/* An authorization's failure into ctx->prob: the error of a challenge that
 * has one, else its status.  Returns ACME_RC_REFUSED. */
enum acme_rc acme_authz_problem(struct acme_ctx *ctx, const char *url, json_t *authz,
				const char *status);

/* authz.c: work on every authorization of an order.  Returns ACME_RC_OK with
 * *all_valid 1 when they are all valid, 0 when validation is under way.
 * posted (an array in the operation's saved state, or NULL) lists the
 * challenge URLs this operation has told the CA to validate: a challenge is
 * POSTed once, since a CA may show it "pending" all through its validation
 * and a second POST then starts a second validation, or is refused once
 * the first is done.  The URLs POSTed here are appended. */
enum acme_rc acme_authz_answer(struct acme_ctx *ctx, acme_challenger *ch,
			       json_t *authz_urls, json_t *posted, int *all_valid);
/* Poll the authorizations until they are all valid (ACME_RC_OK, *all_valid
 * 1), one is invalid (ACME_RC_REFUSED), or seconds pass (*all_valid 0). */
enum acme_rc acme_authz_wait(struct acme_ctx *ctx, acme_challenger *ch,
			     json_t *authz_urls, long seconds, int *all_valid);
/* Take down what answers outlive a pass (webroot files, DNS records) for
 * authorizations the CA decided; best effort, ctx->prob untouched. */
void acme_authz_withdraw(struct acme_ctx *ctx, acme_challenger *ch,
			 json_t *authz_urls);
/* Withdraw every answer set in this pass (best effort) and forget them. */
void acme_authz_clear(struct acme_ctx *ctx, acme_challenger *ch);

/* finalize.c: POST the CSR (base64url DER) to the order's finalize URL. */
enum acme_rc acme_order_finalize(struct acme_ctx *ctx, const char *url,
				 const unsigned char *csr, size_t len,
				 json_t **order);

/* cert.c: the certificate chain, PEM (application/pem-certificate-chain). */
enum acme_rc acme_cert_download(struct acme_ctx *ctx, const char *url,
				unsigned char **pem, size_t *len);

/* Sleep ms milliseconds (nonce.c). */
void acme_pause_ms(long ms);

/* A JSON member as a string, or NULL. */
const char *acme_json_str(json_t *obj, const char *key);

#endif
