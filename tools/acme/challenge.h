/* certvault ACME client: the challenger, the side of an order that proves
 * control of a name to the CA.
 *
 * An issuer has one challenge way (store.h, cv_issuer):
 *   http_listen "ADDR:PORT"  http-01 answered by a built-in responder
 *                            (libmicrohttpd) bound to ADDR:PORT only,
 *                            started on the first set and stopped at close;
 *   webroot DIR              http-01 answered by an existing web server
 *                            from DIR/.well-known/acme-challenge/TOKEN;
 *   dns_hook CMD             dns-01: CMD runs (no shell) as
 *                            CMD set|clear _acme-challenge.DOMAIN VALUE,
 *                            VALUE = base64url(SHA-256(key authorization)),
 *                            killed after a timeout (30 s;
 *                            CERTVAULT_HOOK_TIMEOUT seconds when set).
 * The ACME client (provider.c, authz.c) opens one challenger per pass, sets
 * a challenge before it tells the CA to validate, and clears it once the
 * authorization is decided.  A webroot file or a DNS record outlives the
 * challenger (a later pass clears it); the responder's answers do not.
 * Errors are one line in the caller's err buffer, naming what failed.
 */
#ifndef CV_ACME_CHALLENGE_H
#define CV_ACME_CHALLENGE_H

#include <stddef.h>

#include "store.h"

typedef struct acme_challenger acme_challenger;

/* Open the issuer's challenge way (http_listen: the responder starts lazily
 * on the first set; webroot; dns_hook).  *out is the caller's, to close.
 * Errors: -1 with err filled (no challenge way, an http_listen that is not
 * ADDR:PORT, out of memory). */
int acme_challenger_open(const cv_issuer *is, acme_challenger **out,
			 char *err, size_t n);

/* The ACME challenge type the way answers: "http-01" or "dns-01". */
const char *acme_challenger_type(const acme_challenger *c);

/* 1 when the answer lives only while this process does (the built-in
 * responder): the caller waits for the validation before it closes. */
int acme_challenger_needs_presence(const acme_challenger *c);

/* Put the answer for token up (again: a second set replaces the first).
 * token must be base64url (RFC 8555 section 8.1), domain a DNS name.
 * Returns 0, or -1 with err filled: a bad token or domain, a responder that
 * cannot listen, a webroot file that cannot be written (never through a
 * symbolic link; only a regular file is replaced), a hook that failed (its
 * exit status and what it wrote to stderr), timed out or did not start. */
int acme_challenger_set(acme_challenger *c, const char *domain,
			const char *token, const char *key_authorization,
			char *err, size_t n);

/* Take the answer for token down (the responder forgets it, the webroot
 * file is removed, the hook runs with "clear").  Returns 0, or -1 when that
 * failed (nothing to report: the CA has decided by then). */
int acme_challenger_clear(acme_challenger *c, const char *domain,
			  const char *token, const char *key_authorization);

/* Stop the responder (if it ran) and free c.  NULL is allowed. */
void acme_challenger_close(acme_challenger *c);

#endif
