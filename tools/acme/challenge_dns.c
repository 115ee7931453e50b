/* certvault ACME client: dns-01 through the issuer's hook.
 *
 * The hook runs as HOOK set|clear _acme-challenge.DOMAIN VALUE, with VALUE
 * the TXT record's text, base64url(SHA-256(key authorization)) (RFC 8555
 * section 8.4).  No shell reads any of it.  It runs through proc_run
 * (tools/proc/spawn.h): a process group of its own, its standard output and
 * error read by the tool (the end of it is reported when it fails), the
 * whole group killed when it outlives the timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "challenge_way.h"
#include "../proc/spawn.h"

#define HOOK_TIMEOUT_DEFAULT 30 /* seconds */

static int
hook_timeout(void)
{
	const char *s = getenv("CERTVAULT_HOOK_TIMEOUT");
	char *end;
	long t;

	if (s == NULL || s[0] == '\0')
		return HOOK_TIMEOUT_DEFAULT;
	t = strtol(s, &end, 10);
	if (*end != '\0' || t < 1 || t > 3600)
		return HOOK_TIMEOUT_DEFAULT;
	return (int)t;
}

/* base64url without padding of SHA-256(text): 43 characters. */
static int
txt_value(const char *text, char out[64])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	unsigned char b64[64];
	int len, i, k = 0;

	if (SHA256((const unsigned char *)text, strlen(text), md) == NULL)
		return -1;
	len = EVP_EncodeBlock(b64, md, sizeof(md));
	for (i = 0; i < len && b64[i] != '='; i++)
		out[k++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : (char)b64[i];
	out[k] = '\0';
	return 0;
}

int
acme_dns_hook_run(const char *hook, const char *action, const char *domain,
		  const char *key_authorization, char *err, size_t n)
{
	struct proc_outcome res;
	char name[300], value[64];
	char *argv[5];
	const char *sep;

	if (txt_value(key_authorization, value) != 0) {
		snprintf(err, n, "cannot hash the key authorization");
		return -1;
	}
	snprintf(name, sizeof(name), "_acme-challenge.%s", domain);
	argv[0] = (char *)hook;
	argv[1] = (char *)action;
	argv[2] = name;
	argv[3] = value;
	argv[4] = NULL;
	if (proc_run_outcome(argv, NULL, 0, hook_timeout(), &res) == 0)
		return 0;
	sep = res.said[0] != '\0' ? ": " : "";
	switch (res.end) {
	case PROC_NOT_STARTED:
		snprintf(err, n, "cannot run the dns hook %s: %s", hook,
			 strerror(res.code));
		break;
	case PROC_TIMED_OUT:
		snprintf(err, n, "dns hook %s %s %s: killed after %d s%s%s", hook,
			 action, name, res.code, sep, res.said);
		break;
	case PROC_EXITED:
		snprintf(err, n, "dns hook %s %s %s: exit status %d%s%s", hook,
			 action, name, res.code, sep, res.said);
		break;
	case PROC_SIGNALLED:
		snprintf(err, n, "dns hook %s %s %s: killed by signal %d%s%s", hook,
			 action, name, res.code, sep, res.said);
		break;
	}
	return -1;
}
