/* certvault ACME client: the three challenge ways behind challenge.h, each
 * in a file of its own (challenge_http.c, challenge_webroot.c,
 * challenge_dns.c).  challenge.c checks tokens and names before a way sees
 * them. */
#ifndef CV_ACME_CHALLENGE_WAY_H
#define CV_ACME_CHALLENGE_WAY_H

#include <stddef.h>

/* The built-in http-01 responder (libmicrohttpd). */
typedef struct acme_responder acme_responder;

/* Parse listen ("ADDR:PORT", "[ADDR6]:PORT"); nothing is bound yet.
 * Returns 0, or -1 with err filled. */
int acme_responder_new(const char *listen, acme_responder **out, char *err,
		       size_t n);
/* Answer GET /.well-known/acme-challenge/TOKEN with key_authorization,
 * starting the responder on the first call.  Returns 0 or -1 (err). */
int acme_responder_set(acme_responder *r, const char *token,
		       const char *key_authorization, char *err, size_t n);
void acme_responder_clear(acme_responder *r, const char *token);
void acme_responder_free(acme_responder *r);

/* DIR/.well-known/acme-challenge/TOKEN holding key_authorization: folders
 * made 0755, the file 0644, written beside and linked or renamed into
 * place, never through a symbolic link, replacing only a regular file.
 * Returns 0 or -1 (err). */
int acme_webroot_set(const char *dir, const char *token,
		     const char *key_authorization, char *err, size_t n);
/* Remove that file (a regular file only).  Returns 0 or -1. */
int acme_webroot_clear(const char *dir, const char *token);

/* Run hook ACTION _acme-challenge.DOMAIN base64url(SHA-256(key_auth)),
 * without a shell, killed after the timeout.  Returns 0, or -1 with err
 * naming the exit status and the hook's last words on stderr. */
int acme_dns_hook_run(const char *hook, const char *action,
		      const char *domain, const char *key_authorization,
		      char *err, size_t n);

#endif
