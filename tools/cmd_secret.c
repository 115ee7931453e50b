/* certvault secret download: a certificate's secret (the certificate, its
 * chain, and the private key when the policy lets it out) as PEM or PFX,
 * written 0600 and never over an existing file unless asked. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_VERSION,
	OPT_FILE,
	OPT_FORMAT,
	OPT_PASSWORD,
	OPT_PASSWORD_FILE,
	OPT_OVERWRITE,
};

static int
secret_download(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "password", required_argument, NULL, OPT_PASSWORD },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *version = NULL, *file = NULL;
	const char *password_opt = NULL, *password_file = NULL;
	enum cv_secret_format fmt = CV_SECRET_AS_STORED;
	char *password = NULL;
	unsigned char *secret = NULL;
	size_t len = 0;
	int overwrite = 0;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_VERSION:
			version = o.arg;
			break;
		case OPT_FILE:
			file = o.arg;
			break;
		case OPT_FORMAT:
			if (strcasecmp(o.arg, "pem") == 0) {
				fmt = CV_SECRET_PEM;
			} else if (strcasecmp(o.arg, "pfx") == 0 ||
				   strcasecmp(o.arg, "pkcs12") == 0) {
				fmt = CV_SECRET_PFX;
			} else {
				rc = cli_usage(cmd, "--format is pem or pfx, not "
					       "'%s'", o.arg);
				goto done;
			}
			break;
		case OPT_PASSWORD:
			password_opt = o.arg;
			break;
		case OPT_PASSWORD_FILE:
			password_file = o.arg;
			break;
		case OPT_OVERWRITE:
			overwrite = 1;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (name == NULL || file == NULL) {
		rc = cli_usage(cmd, "--name and --file are required");
		goto done;
	}
	rc = cli_password_arg(cmd, password_opt, password_file, &password);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (password != NULL && fmt == CV_SECRET_PEM) {
		rc = cli_usage(cmd, "a password protects a PFX; PEM is written "
			       "unencrypted");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_login(v, CV_USER_NORMAL, NULL);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_secret_get(v, name, version, fmt, password, &secret, &len);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, version, CLI_LOOKUP_SECRET);
		goto done;
	}
	rc = cli_file_write(file, secret, len, 0600, overwrite);
done:
	if (secret != NULL)
		OPENSSL_clear_free(secret, len);
	cli_secret_free(password);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command secret_commands[] = {
	{ "download", "secret download",
	  "--name N [--version V] --file F [--format pem|pfx] "
	  "[--password P | --password-file F] [--overwrite]",
	  "Write a certificate's secret (with its key when exportable) to a "
	  "0600 file; needs the PIN.", secret_download },
};

const struct cli_group cli_group_secret = {
	.name = "secret",
	.path = "secret",
	.summary = "Certificates' secrets: the certificate with its private key.",
	.commands = secret_commands,
	.n_commands = sizeof(secret_commands) / sizeof(secret_commands[0]),
};
