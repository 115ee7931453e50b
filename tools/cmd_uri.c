/* certvault certificate uri: the RFC 7512 PKCS#11 URI of a certificate's
 * objects, as applications (nginx, openssl, p11tool, gnutls-serv) take it.
 *
 * The token part must match what the module reports in C_GetTokenInfo, so a
 * URI printed here finds the token: manufacturer "certvault", model
 * "LMDB vault", serial the vault's serial, token the vault's name.  The
 * object part names the certificate by its CKA_LABEL (its name as written),
 * which the module answers with the current version's objects: the URI
 * follows the current version, so an application reloaded after a new
 * version takes the new key.  --pin-version adds the current key's CKA_ID,
 * so the URI finds this version's key only (with reuse_key the id stays the
 * same).  A certificate whose first version is still pending has only its
 * pending key; that key's URI is printed, so a client can find the key pair
 * to build its own CSR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* What the module puts in CK_TOKEN_INFO; module/slot.c must agree. */
#define URI_TOKEN_MODEL "LMDB vault"
#define URI_TOKEN_MANUFACTURER "certvault"

enum {
	OPT_NAME = 1,
	OPT_TYPE,
	OPT_PIN_VERSION,
};

/* CK_TOKEN_INFO's label is 32 bytes: a longer vault name is cut there by
 * the module, and so here. */
#define URI_TOKEN_LABEL_MAX 32

/* Room for the longest URI: every byte of every value %-encoded. */
struct uri_buf {
	char s[2048];
	size_t len;
};

/* RFC 7512 pk11-pchar: unreserved and pk11-path-res-avail go as they are;
 * every other byte is %-encoded. */
static int
uri_pchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~:[]@!$'()*+,=&", c) != NULL;
}

static void
uri_put(struct uri_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > sizeof(b->s) - 1 - b->len)
		n = sizeof(b->s) - 1 - b->len;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* attr=value, %-encoding what pk11-pchar does not allow, or every byte
 * when all (binary values: CKA_ID, as p11-kit writes them). */
static void
uri_attr(struct uri_buf *b, const char *attr, const unsigned char *val,
	 size_t len, int all)
{
	static const char hex[] = "0123456789ABCDEF";
	char enc[4];
	size_t i;

	if (b->len > sizeof("pkcs11:") - 1)
		uri_put(b, ";");
	uri_put(b, attr);
	uri_put(b, "=");
	for (i = 0; i < len; i++) {
		if (!all && uri_pchar(val[i])) {
			enc[0] = (char)val[i];
			enc[1] = '\0';
		} else {
			enc[0] = '%';
			enc[1] = hex[val[i] >> 4];
			enc[2] = hex[val[i] & 0x0f];
			enc[3] = '\0';
		}
		uri_put(b, enc);
	}
}

static void
uri_text(struct uri_buf *b, const char *attr, const char *val)
{
	uri_attr(b, attr, (const unsigned char *)val, strlen(val), 0);
}

int
cli_certificate_uri(struct cli_ctx *ctx, const struct cli_command *cmd,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "pin-version", no_argument, NULL, OPT_PIN_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *type = "private";
	struct uri_buf b = { "pkcs11:", sizeof("pkcs11:") - 1 };
	cv_vault_info info;
	cv_key_info key = { 0 };
	uint64_t nums[2];
	size_t n = 0;
	cv_vault *v = NULL;
	cv_err err;
	int c, pin_version = 0, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_TYPE:
			type = o.arg;
			break;
		case OPT_PIN_VERSION:
			pin_version = 1;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (name == NULL) {
		rc = cli_usage(cmd, "--name is required");
		goto done;
	}
	if (strcmp(type, "cert") != 0 && strcmp(type, "private") != 0 &&
	    strcmp(type, "public") != 0) {
		rc = cli_usage(cmd, "--type is cert, private or public, not '%s'",
			       type);
		goto done;
	}
	if (!cv_name_valid(name)) {
		rc = cli_fail_store(CV_ERR_BAD_NAME);
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	if ((err = cv_vault_info_get(v, &info)) != CV_OK ||
	    (err = cv_key_find_name(v, name, nums, &n)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (n == 0) {
		rc = cli_fail_cert(v, CV_ERR_NOT_FOUND, name, NULL,
				   CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	/* The current version's key, else the pending one. */
	if ((err = cv_key_get(v, nums[0], &key)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	uri_text(&b, "model", URI_TOKEN_MODEL);
	uri_text(&b, "manufacturer", URI_TOKEN_MANUFACTURER);
	uri_text(&b, "serial", info.serial);
	uri_attr(&b, "token", (const unsigned char *)info.name,
		 strnlen(info.name, URI_TOKEN_LABEL_MAX), 0);
	if (pin_version)
		uri_attr(&b, "id", key.key_id, sizeof(key.key_id), 1);
	uri_text(&b, "object", key.name);
	uri_text(&b, "type", type);
	printf("%s\n", b.s);
	rc = CLI_EXIT_OK;
done:
	cv_key_info_clear(&key);
	cv_vault_close(v);
	return rc;
}
