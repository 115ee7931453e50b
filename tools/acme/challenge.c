/* certvault ACME client: the challenger (challenge.h), which hands each
 * challenge to the issuer's one way after checking what the CA sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"
#include "challenge_way.h"

enum challenge_way {
	WAY_HTTP_LISTEN,
	WAY_WEBROOT,
	WAY_DNS_HOOK,
};

struct acme_challenger {
	enum challenge_way way;
	char *arg;                 /* the webroot folder or the hook */
	acme_responder *responder; /* WAY_HTTP_LISTEN */
};

/* A token names a file and a URL path: base64url only (RFC 8555 8.1 asks
 * for at least 128 bits of entropy, so at least 22 characters), so that it
 * can never climb out of the webroot. */
static int
token_ok(const char *token)
{
	size_t i;

	if (token == NULL)
		return 0;
	for (i = 0; token[i] != '\0'; i++) {
		char ch = token[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
	}
	return i >= 22 && i <= 256;
}

/* A DNS name as the hook and the record name get it: letters, digits,
 * '-', '.', and a leading "*." is not one (a wildcard's dns-01 record is
 * the base name's, which the ACME client passes). */
static int
domain_ok(const char *domain)
{
	size_t i;

	if (domain == NULL || domain[0] == '\0' || domain[0] == '-' ||
	    domain[0] == '.' || strlen(domain) > 253)
		return 0;
	for (i = 0; domain[i] != '\0'; i++) {
		char ch = domain[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

int
acme_challenger_open(const cv_issuer *is, acme_challenger **out, char *err,
		     size_t n)
{
	acme_challenger *c = NULL;
	int ways, rc = -1;

	*out = NULL;
	ways = (is->http_listen != NULL && is->http_listen[0] != '\0') +
	       (is->webroot != NULL && is->webroot[0] != '\0') +
	       (is->dns_hook != NULL && is->dns_hook[0] != '\0');
	if (ways != 1) {
		snprintf(err, n, "issuer %s needs exactly one challenge way "
			 "(--http-listen, --webroot or --dns-hook)", is->name);
		goto done;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, n, "out of memory");
		goto done;
	}
	if (is->http_listen != NULL && is->http_listen[0] != '\0') {
		c->way = WAY_HTTP_LISTEN;
		if (acme_responder_new(is->http_listen, &c->responder, err, n) != 0)
			goto done;
	} else {
		c->way = is->webroot != NULL && is->webroot[0] != '\0' ?
				 WAY_WEBROOT : WAY_DNS_HOOK;
		c->arg = strdup(c->way == WAY_WEBROOT ? is->webroot : is->dns_hook);
		if (c->arg == NULL) {
			snprintf(err, n, "out of memory");
			goto done;
		}
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	acme_challenger_close(c);
	return rc;
}

const char *
acme_challenger_type(const acme_challenger *c)
{
	return c->way == WAY_DNS_HOOK ? "dns-01" : "http-01";
}

int
acme_challenger_needs_presence(const acme_challenger *c)
{
	return c->way == WAY_HTTP_LISTEN;
}

int
acme_challenger_set(acme_challenger *c, const char *domain, const char *token,
		    const char *key_authorization, char *err, size_t n)
{
	if (!domain_ok(domain)) {
		snprintf(err, n, "the CA asked to prove a name that is not a "
			 "DNS name: '%.80s'", domain != NULL ? domain : "");
		return -1;
	}
	if (!token_ok(token)) {
		snprintf(err, n, "the CA sent a challenge token that is not "
			 "base64url of 22 to 256 characters: '%.80s'",
			 token != NULL ? token : "");
		return -1;
	}
	if (key_authorization == NULL ||
	    strncmp(key_authorization, token, strlen(token)) != 0 ||
	    key_authorization[strlen(token)] != '.') {
		snprintf(err, n, "the key authorization is not TOKEN.THUMBPRINT");
		return -1;
	}
	switch (c->way) {
	case WAY_HTTP_LISTEN:
		return acme_responder_set(c->responder, token, key_authorization,
					  err, n);
	case WAY_WEBROOT:
		return acme_webroot_set(c->arg, token, key_authorization, err, n);
	case WAY_DNS_HOOK:
		return acme_dns_hook_run(c->arg, "set", domain,
					 key_authorization, err, n);
	}
	snprintf(err, n, "no challenge way");
	return -1;
}

int
acme_challenger_clear(acme_challenger *c, const char *domain,
		      const char *token, const char *key_authorization)
{
	char err[512];

	if (!domain_ok(domain) || !token_ok(token) || key_authorization == NULL)
		return -1;
	switch (c->way) {
	case WAY_HTTP_LISTEN:
		acme_responder_clear(c->responder, token);
		return 0;
	case WAY_WEBROOT:
		return acme_webroot_clear(c->arg, token);
	case WAY_DNS_HOOK:
		if (acme_dns_hook_run(c->arg, "clear", domain,
				      key_authorization, err, sizeof(err)) != 0) {
			/* Nothing waits on a clear; the owner of the hook
			 * still hears of a record left behind. */
			fprintf(stderr, "certvault: %s\n", err);
			return -1;
		}
		return 0;
	}
	return -1;
}

void
acme_challenger_close(acme_challenger *c)
{
	if (c == NULL)
		return;
	acme_responder_free(c->responder);
	free(c->arg);
	free(c);
}
