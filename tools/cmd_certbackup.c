/* certvault: certificate backup and certificate restore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_FILE,
	OPT_BACKUP_PASSWORD_FILE,
	OPT_OVERWRITE,
};

/* The backup password: the first line of its file. */
static int
backup_password(const char *path, char **out)
{
	size_t len = 0;
	int rc;

	*out = NULL;
	if (path == NULL)
		return CLI_EXIT_OK;
	if ((rc = cli_first_line(path, out, &len)) != CLI_EXIT_OK)
		return rc;
	if (strlen(*out) != len) {
		cli_buf_free(*out, len);
		*out = NULL;
		return cli_fail("the backup password in %s holds a NUL byte", path);
	}
	return CLI_EXIT_OK;
}

static void
password_free(char *p)
{
	if (p != NULL)
		cli_buf_free(p, strlen(p));
}

int
cli_cert_backup(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "backup-password-file", required_argument, NULL,
		  OPT_BACKUP_PASSWORD_FILE },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *file = NULL, *pw_file = NULL;
	char *password = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;
	cv_vault *v = NULL;
	json_t *j = NULL;
	cv_err err;
	int c, overwrite = 0, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_FILE:
			file = o.arg;
			break;
		case OPT_BACKUP_PASSWORD_FILE:
			pw_file = o.arg;
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
	if ((rc = backup_password(pw_file, &password)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_cert_backup(v, name, password, &blob, &len);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	if ((rc = cli_file_write_regular(file, blob, len, 0600, overwrite)) != CLI_EXIT_OK)
		goto done;
	j = json_pack("{s:s, s:s, s:s, s:I, s:b}", "vault", ctx->vault_name,
		      "name", name, "file", file, "bytes", (json_int_t)len,
		      "backupPassword", password != NULL);
	if (j == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	rc = cli_print(ctx, j);
done:
	password_free(password);
	OPENSSL_free(blob);
	cv_vault_close(v);
	return rc;
}

int
cli_cert_restore(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		 char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, OPT_FILE },
		{ "backup-password-file", required_argument, NULL,
		  OPT_BACKUP_PASSWORD_FILE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *file = NULL, *pw_file = NULL;
	char *password = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;
	cv_vault *v = NULL;
	cv_cert_version *cv = NULL;
	cv_policy *policy = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_FILE:
			file = o.arg;
			break;
		case OPT_BACKUP_PASSWORD_FILE:
			pw_file = o.arg;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (file == NULL) {
		rc = cli_usage(cmd, "--file is required");
		goto done;
	}
	if ((rc = backup_password(pw_file, &password)) != CLI_EXIT_OK ||
	    (rc = cli_file_read(file, &blob, &len)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_cert_restore(v, blob, len, password, &cv);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	/* As az prints it: the restored certificate with its policy. */
	err = cv_cert_policy_get(v, cv->name, &policy);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_cert(ctx->vault_name, cv, policy, 1,
					  cli_form_of(ctx)));
done:
	cv_policy_free(policy);
	cv_cert_version_free(cv);
	password_free(password);
	cli_buf_free(blob, len);
	cv_vault_close(v);
	return rc;
}
