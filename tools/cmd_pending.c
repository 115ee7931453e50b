/* certvault certificate pending ...: the certificate operation: show it,
 * fetch its CSR, cancel, delete, and merge the CA's answer. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_FILE,
	OPT_ENCODING,
	OPT_OVERWRITE,
	OPT_TAGS,
	OPT_WAIT,
	OPT_TIMEOUT,
};

/* Parse the options every pending command shares; file/encoding/tags only
 * where the command's table has them. */
struct pending_args {
	const char *name;
	const char *file;
	int der;
	int overwrite;
	cv_tags tags;
	int tags_given;
	int wait;
	const char *timeout;
};

static int
parse_pending(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv, const struct option *opts, struct pending_args *a)
{
	struct cli_opts o;
	int c, rc = CLI_EXIT_OK;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			a->name = o.arg;
			break;
		case OPT_FILE:
			a->file = o.arg;
			break;
		case OPT_ENCODING:
			if (strcasecmp(o.arg, "PEM") == 0)
				a->der = 0;
			else if (strcasecmp(o.arg, "DER") == 0)
				a->der = 1;
			else
				return cli_usage(cmd, "--encoding is PEM or DER, "
						 "not '%s'", o.arg);
			break;
		case OPT_OVERWRITE:
			a->overwrite = 1;
			break;
		case OPT_TAGS:
			a->tags_given = 1;
			rc = cli_tags_opt(&o, &a->tags);
			if (rc != CLI_EXIT_OK)
				return rc;
			break;
		case OPT_WAIT:
			a->wait = 1;
			break;
		case OPT_TIMEOUT:
			a->timeout = o.arg;
			break;
		default:
			/* CLI_EXIT_HELP after --help: the caller stops. */
			return o.rc;
		}
	}
	if (a->name == NULL)
		return cli_usage(cmd, "--name is required");
	return rc;
}

static const struct option name_only[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ NULL, 0, NULL, 0 },
};

static int
pending_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct pending_args a = { 0 };
	cv_operation *op = NULL;
	cv_vault *v = NULL;
	long timeout = CLI_WAIT_DEFAULT;
	cv_err err;
	int rc;

	rc = parse_pending(ctx, cmd, argc, argv, opts, &a);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (a.timeout != NULL && !a.wait) {
		rc = cli_usage(cmd, "--timeout goes with --wait");
		goto done;
	}
	if (a.timeout != NULL &&
	    (rc = cli_wait_timeout_arg(cmd, a.timeout, &timeout)) != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (a.wait) {
		/* A name with no operation says so before any PIN is asked. */
		err = cv_pending_get(v, a.name, &op);
		if (err != CV_OK) {
			rc = cli_fail_store(err);
			goto done;
		}
		rc = cli_login(v, CV_USER_NORMAL, NULL);
		if (rc == CLI_EXIT_OK)
			rc = cli_operation_wait(ctx, v, a.name, timeout);
		goto done;
	}
	err = cv_pending_get(v, a.name, &op);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_operation(ctx->vault_name, op,
					       cli_form_of(ctx)));
done:
	cv_operation_free(op);
	cv_vault_close(v);
	return rc;
}

static int
pending_csr(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "encoding", required_argument, NULL, OPT_ENCODING },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 },
	};
	struct pending_args a = { 0 };
	cv_operation *op = NULL;
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = parse_pending(ctx, cmd, argc, argv, opts, &a);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (a.file == NULL) {
		rc = cli_usage(cmd, "--file is required");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_pending_get(v, a.name, &op);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (op->csr.data == NULL || op->csr.len == 0) {
		rc = cli_fail("the operation of %s has no CSR", a.name);
		goto done;
	}
	if (a.der) {
		rc = cli_file_write(a.file, op->csr.data, op->csr.len, 0644,
				    a.overwrite);
		goto done;
	}
	rc = cli_pem_encode("CERTIFICATE REQUEST", &op->csr, 1, &pem, &pem_len);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_file_write(a.file, pem, pem_len, 0644, a.overwrite);
done:
	free(pem);
	cv_operation_free(op);
	cv_vault_close(v);
	return rc;
}

static int
pending_cancel(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	       char **argv)
{
	struct pending_args a = { 0 };
	cv_operation *op = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = parse_pending(ctx, cmd, argc, argv, name_only, &a);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_pending_cancel(v, a.name, &op);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_operation(ctx->vault_name, op,
					       cli_form_of(ctx)));
	/* Key Vault's words: a cancel may or may not be effective.  Say
	 * which; in JSON the status and cancellationRequested say it. */
	if (rc == CLI_EXIT_OK && !ctx->json)
		printf(op->status == CV_OP_CANCELLED
		       ? "The cancellation took effect: the operation is cancelled.\n"
		       : "Cancellation requested: the issuer's next pass decides (an "
			 "order the CA already finalized completes anyway).\n");
done:
	cv_operation_free(op);
	cv_vault_close(v);
	return rc;
}

static int
pending_delete(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	       char **argv)
{
	struct pending_args a = { 0 };
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = parse_pending(ctx, cmd, argc, argv, name_only, &a);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_pending_delete(v, a.name);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("deleted the operation of %s\n", a.name);
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

static int
pending_merge(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "tags", required_argument, NULL, OPT_TAGS },
		{ NULL, 0, NULL, 0 },
	};
	struct pending_args a = { 0 };
	unsigned char *data = NULL;
	size_t len = 0;
	cv_cert_version *cv = NULL;
	cv_policy *policy = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = parse_pending(ctx, cmd, argc, argv, opts, &a);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (a.file == NULL) {
		rc = cli_usage(cmd, "--file is required");
		goto done;
	}
	if (a.tags_given && (err = cv_tags_validate(&a.tags)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_file_read(a.file, &data, &len);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_login(v, CV_USER_NORMAL, NULL);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_pending_merge(v, a.name, data, len,
			       a.tags_given ? &a.tags : NULL, &cv);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	err = cv_cert_policy_get(v, a.name, &policy);
	if (err != CV_OK && err != CV_ERR_NOT_FOUND) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_cert(ctx->vault_name, cv, policy, 1,
					  cli_form_of(ctx)));
done:
	cv_policy_free(policy);
	cv_cert_version_free(cv);
	cli_buf_free(data, len);
	cli_tags_free(&a.tags);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command pending_commands[] = {
	{ "show", "certificate pending show", "--name N [--wait [--timeout S]]",
	  "Show the certificate's operation (status, details, issuer); --wait "
	  "advances it until it ends (at most --timeout seconds, default 300; "
	  "needs the PIN).",
	  pending_show },
	{ "csr", "certificate pending csr",
	  "--name N --file F [--encoding PEM|DER] [--overwrite]",
	  "Write the operation's CSR to a file.", pending_csr },
	{ "cancel", "certificate pending cancel", "--name N",
	  "Ask to cancel an operation in progress.", pending_cancel },
	{ "delete", "certificate pending delete", "--name N",
	  "Delete the operation (and a key never issued).", pending_delete },
	{ "merge", "certificate pending merge", "--name N --file F [--tags K=V ...]",
	  "Merge the CA's certificate or chain (PEM, DER, PKCS#7); needs the PIN.",
	  pending_merge },
};

const struct cli_group cli_group_pending = {
	.name = "pending",
	.path = "certificate pending",
	.summary = "A certificate's pending operation.",
	.commands = pending_commands,
	.n_commands = sizeof(pending_commands) / sizeof(pending_commands[0]),
};
