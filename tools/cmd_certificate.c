/* certvault certificate ...: create, import, show, list, download,
 * set-attributes, and the policy commands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_VERSION,
	OPT_POLICY,
	OPT_TAGS,
	OPT_FILE,
	OPT_ENCODING,
	OPT_CHAIN,
	OPT_OVERWRITE,
	OPT_ENABLED,
	OPT_PASSWORD,
	OPT_PASSWORD_FILE,
	OPT_STYLE,
	OPT_WAIT,
	OPT_TIMEOUT,
};

static int
parse_style(const struct cli_command *cmd, const char *s,
	    enum cv_policy_style *out)
{
	if (strcasecmp(s, "az") == 0)
		*out = CV_POLICY_JSON_AZ;
	else if (strcasecmp(s, "rest") == 0)
		*out = CV_POLICY_JSON_REST;
	else
		return cli_usage(cmd, "--style is rest or az, not '%s'", s);
	return CLI_EXIT_OK;
}

/* A certificate version with its policy, as show/import/set-attributes
 * print it. */
static int
print_cert(struct cli_ctx *ctx, cv_vault *v, const cv_cert_version *cv)
{
	cv_policy *policy = NULL;
	cv_err err;
	int rc;

	err = cv_cert_policy_get(v, cv->name, &policy);
	if (err != CV_OK && err != CV_ERR_NOT_FOUND) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_cert(ctx->vault_name, cv, policy, 1,
					  cli_form_of(ctx)));
done:
	cv_policy_free(policy);
	return rc;
}

/* Lists for people: one line per certificate, newest state first in mind:
 * name, version (or "pending"), enabled, expiry date, subject.  --json
 * prints every field, as az does. */
static int
print_cert_table(cv_cert_version **list, size_t n)
{
	size_t i, w = 4;
	char when[16];

	for (i = 0; i < n; i++)
		if (strlen(list[i]->name) > w)
			w = strlen(list[i]->name);
	printf("%-*s  %-32s  %-7s  %-10s  %s\n", (int)w, "NAME", "VERSION", "ENABLED",
	       "EXPIRES", "SUBJECT");
	for (i = 0; i < n; i++) {
		const cv_cert_version *c = list[i];
		time_t t = (time_t)c->exp;
		struct tm tm;

		when[0] = '\0';
		if (c->exp != 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d", &tm);
		printf("%-*s  %-32s  %-7s  %-10s  %s%s\n", (int)w, c->name,
		       c->version[0] != '\0' ? c->version : "(pending)",
		       c->enabled ? "true" : "false", when[0] ? when : "-",
		       c->subject != NULL ? c->subject : "",
		       c->pending && c->version[0] != '\0' ? "  (new version pending)" : "");
	}
	return CLI_EXIT_OK;
}

static int
print_cert_list(struct cli_ctx *ctx, cv_cert_version **list, size_t n)
{
	json_t *arr;
	size_t i;

	if (!ctx->json)
		return print_cert_table(list, n);
	arr = json_array();

	for (i = 0; arr != NULL && i < n; i++) {
		json_t *j = cli_json_cert(ctx->vault_name, list[i], NULL, 0,
					  cli_form_of(ctx));

		if (j == NULL || json_array_append_new(arr, j) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return cli_print(ctx, arr);
}

static int
cert_get_default_policy(struct cli_ctx *ctx, const struct cli_command *cmd,
			int argc, char **argv)
{
	static const struct option opts[] = {
		{ "style", required_argument, NULL, OPT_STYLE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	enum cv_policy_style style = CV_POLICY_JSON_AZ;
	cv_policy *p = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_STYLE:
			rc = parse_style(cmd, o.arg, &style);
			if (rc != CLI_EXIT_OK)
				goto done;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	err = cv_policy_default(&p);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print_json(cli_json_policy(p, style));
done:
	cv_policy_free(p);
	return rc;
}

static int
cert_create(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "tags", required_argument, NULL, OPT_TAGS },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *policy_arg = NULL, *timeout_arg = NULL;
	cv_tags tags = { 0 };
	long timeout = CLI_WAIT_DEFAULT;
	int tags_given = 0, wait = 0;
	cv_policy *policy = NULL;
	cv_operation *op = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_POLICY:
			policy_arg = o.arg;
			break;
		case OPT_TAGS:
			tags_given = 1;
			rc = cli_tags_opt(&o, &tags);
			if (rc != CLI_EXIT_OK)
				goto done;
			break;
		case OPT_WAIT:
			wait = 1;
			break;
		case OPT_TIMEOUT:
			timeout_arg = o.arg;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (name == NULL || policy_arg == NULL) {
		rc = cli_usage(cmd, "--name and --policy are required");
		goto done;
	}
	if (timeout_arg != NULL && !wait) {
		rc = cli_usage(cmd, "--timeout goes with --wait");
		goto done;
	}
	if (timeout_arg != NULL &&
	    (rc = cli_wait_timeout_arg(cmd, timeout_arg, &timeout)) != CLI_EXIT_OK)
		goto done;
	if (!cv_name_valid(name)) {
		rc = cli_fail_store(CV_ERR_BAD_NAME);
		goto done;
	}
	rc = cli_policy_arg(policy_arg, &policy);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (tags_given && (err = cv_tags_validate(&tags)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_login(v, CV_USER_NORMAL, NULL);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_create(v, name, policy, tags_given ? &tags : NULL, &op);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (wait) {
		rc = cli_operation_wait(ctx, v, name, timeout);
		goto done;
	}
	rc = cli_print(ctx, cli_json_operation(ctx->vault_name, op,
					       cli_form_of(ctx)));
done:
	cv_operation_free(op);
	cv_policy_free(policy);
	cli_tags_free(&tags);
	cv_vault_close(v);
	return rc;
}

static int
cert_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	  char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *version = NULL;
	cv_cert_version *cv = NULL;
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
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (name == NULL) {
		rc = cli_usage(cmd, "--name is required");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_get(v, name, version, &cv);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, version, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = print_cert(ctx, v, cv);
done:
	cv_cert_version_free(cv);
	cv_vault_close(v);
	return rc;
}

static int
cert_list(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	  char **argv)
{
	struct cli_opts o;
	cv_cert_version **list = NULL;
	size_t n = 0;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, NULL);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		rc = o.rc;
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_list(v, &list, &n);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = print_cert_list(ctx, list, n);
done:
	cv_cert_version_list_free(list, n);
	cv_vault_close(v);
	return rc;
}

static int
cert_list_versions(struct cli_ctx *ctx, const struct cli_command *cmd,
		   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL;
	cv_cert_version **list = NULL;
	size_t n = 0;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
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
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_list_versions(v, name, &list, &n);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = print_cert_list(ctx, list, n);
done:
	cv_cert_version_list_free(list, n);
	cv_vault_close(v);
	return rc;
}

static int
cert_download(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "encoding", required_argument, NULL, OPT_ENCODING },
		{ "chain", no_argument, NULL, OPT_CHAIN },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *version = NULL, *file = NULL;
	int der = 0, chain = 0, overwrite = 0;
	cv_cert_version *cv = NULL;
	cv_blob *blobs = NULL;
	unsigned char *pem = NULL;
	size_t pem_len = 0, n, i;
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
		case OPT_ENCODING:
			if (strcasecmp(o.arg, "PEM") == 0) {
				der = 0;
			} else if (strcasecmp(o.arg, "DER") == 0) {
				der = 1;
			} else {
				rc = cli_usage(cmd, "--encoding is PEM or DER, "
					       "not '%s'", o.arg);
				goto done;
			}
			break;
		case OPT_CHAIN:
			chain = 1;
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
	if (der && chain) {
		rc = cli_usage(cmd, "a DER file holds one certificate: use "
			       "--encoding PEM with --chain");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_get(v, name, version, &cv);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, version, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	if (cv->der.data == NULL || cv->der.len == 0) {
		rc = cli_fail("certificate %s has no issued version yet: its "
			      "operation is pending", name);
		goto done;
	}
	if (der) {
		rc = cli_file_write(file, cv->der.data, cv->der.len, 0644,
				    overwrite);
		goto done;
	}
	n = 1 + (chain ? cv->chain_len : 0);
	blobs = calloc(n, sizeof(*blobs));
	if (blobs == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	blobs[0] = cv->der;
	for (i = 1; i < n; i++)
		blobs[i] = cv->chain[i - 1];
	rc = cli_pem_encode("CERTIFICATE", blobs, n, &pem, &pem_len);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_file_write(file, pem, pem_len, 0644, overwrite);
done:
	free(pem);
	free(blobs);
	cv_cert_version_free(cv);
	cv_vault_close(v);
	return rc;
}

static int
cert_set_attributes(struct cli_ctx *ctx, const struct cli_command *cmd,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "enabled", required_argument, NULL, OPT_ENABLED },
		{ "tags", required_argument, NULL, OPT_TAGS },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *version = NULL;
	cv_tags tags = { 0 };
	int tags_given = 0, enabled = -1;
	cv_cert_version *cv = NULL;
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
		case OPT_ENABLED:
			enabled = cli_parse_bool(o.arg);
			if (enabled < 0) {
				rc = cli_usage(cmd, "--enabled is true or false, "
					       "not '%s'", o.arg);
				goto done;
			}
			break;
		case OPT_TAGS:
			tags_given = 1;
			rc = cli_tags_opt(&o, &tags);
			if (rc != CLI_EXIT_OK)
				goto done;
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
	if (tags_given && (err = cv_tags_validate(&tags)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_cert_set_attributes(v, name, version, enabled,
				     tags_given ? &tags : NULL, &cv);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, version, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = print_cert(ctx, v, cv);
done:
	cv_cert_version_free(cv);
	cli_tags_free(&tags);
	cv_vault_close(v);
	return rc;
}

static int
cert_import(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "password", required_argument, NULL, OPT_PASSWORD },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "tags", required_argument, NULL, OPT_TAGS },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *file = NULL, *policy_arg = NULL;
	const char *password_opt = NULL, *password_file = NULL;
	char *password = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	cv_tags tags = { 0 };
	int tags_given = 0;
	cv_policy *policy = NULL;
	cv_cert_version *cv = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_FILE:
			file = o.arg;
			break;
		case OPT_PASSWORD:
			password_opt = o.arg;
			break;
		case OPT_PASSWORD_FILE:
			password_file = o.arg;
			break;
		case OPT_POLICY:
			policy_arg = o.arg;
			break;
		case OPT_TAGS:
			tags_given = 1;
			rc = cli_tags_opt(&o, &tags);
			if (rc != CLI_EXIT_OK)
				goto done;
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
	if (!cv_name_valid(name)) {
		rc = cli_fail_store(CV_ERR_BAD_NAME);
		goto done;
	}
	if (policy_arg != NULL) {
		rc = cli_import_policy_arg(policy_arg, &policy);
		if (rc != CLI_EXIT_OK)
			goto done;
	}
	if (tags_given && (err = cv_tags_validate(&tags)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_file_read(file, &data, &len);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_login(v, CV_USER_NORMAL, NULL);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_import(v, name, data, len, password, policy,
			     tags_given ? &tags : NULL, &cv);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = print_cert(ctx, v, cv);
done:
	cv_cert_version_free(cv);
	cv_policy_free(policy);
	cli_tags_free(&tags);
	cli_buf_free(data, len);
	cli_secret_free(password);
	cv_vault_close(v);
	return rc;
}

/* --- certvault certificate policy ... ------------------------------------- */

static int
policy_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "style", required_argument, NULL, OPT_STYLE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL;
	enum cv_policy_style style = CV_POLICY_JSON_AZ;
	cv_policy *p = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_STYLE:
			rc = parse_style(cmd, o.arg, &style);
			if (rc != CLI_EXIT_OK)
				goto done;
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
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_cert_policy_get(v, name, &p);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = cli_print_json(cli_json_policy(p, style));
done:
	cv_policy_free(p);
	cv_vault_close(v);
	return rc;
}

static int
policy_update(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "style", required_argument, NULL, OPT_STYLE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *policy_arg = NULL;
	enum cv_policy_style style = CV_POLICY_JSON_AZ;
	unsigned char *patch = NULL;
	size_t len = 0;
	cv_policy *p = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_POLICY:
			policy_arg = o.arg;
			break;
		case OPT_STYLE:
			rc = parse_style(cmd, o.arg, &style);
			if (rc != CLI_EXIT_OK)
				goto done;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (name == NULL || policy_arg == NULL) {
		rc = cli_usage(cmd, "--name and --policy are required");
		goto done;
	}
	rc = cli_policy_patch_arg(policy_arg, &patch, &len);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_cert_policy_update(v, name, (const char *)patch, len, &p);
	if (err != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = cli_print_json(cli_json_policy(p, style));
done:
	cv_policy_free(p);
	cli_buf_free(patch, len);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command policy_commands[] = {
	{ "show", "certificate policy show", "--name N [--style rest|az]",
	  "Print a certificate's policy as Key Vault JSON.", policy_show },
	{ "update", "certificate policy update",
	  "--name N --policy @FILE|JSON [--style rest|az]",
	  "Change the members of the policy that the JSON gives.",
	  policy_update },
};

const struct cli_group cli_group_policy = {
	.name = "policy",
	.path = "certificate policy",
	.summary = "A certificate's policy.",
	.commands = policy_commands,
	.n_commands = sizeof(policy_commands) / sizeof(policy_commands[0]),
};

static const struct cli_command certificate_commands[] = {
	{ "get-default-policy", "certificate get-default-policy",
	  "[--style rest|az]",
	  "Print the policy `az keyvault certificate get-default-policy` prints.",
	  cert_get_default_policy },
	{ "create", "certificate create",
	  "--name N --policy @FILE|JSON [--tags K=V ...] [--wait [--timeout S]]",
	  "Create a certificate (or a new version) from a policy; needs the PIN. "
	  "--wait advances the operation until it ends (at most --timeout "
	  "seconds, default 300).",
	  cert_create },
	{ "import", "certificate import",
	  "--name N --file F [--password P | --password-file F] "
	  "[--policy @FILE|JSON] [--tags K=V ...]",
	  "Import PKCS#12 or PEM (certificate, chain, key); needs the PIN.",
	  cert_import },
	{ "backup", "certificate backup",
	  "--name N --file F [--backup-password-file P] [--overwrite]",
	  "Back up a certificate whole (versions, policy, keys sealed); needs the "
	  "PIN.  With a backup password another vault can restore it.",
	  cli_cert_backup },
	{ "restore", "certificate restore", "--file F [--backup-password-file P]",
	  "Restore a certificate backup under its name; needs the PIN, and the "
	  "backup password in another vault.", cli_cert_restore },
	{ "show", "certificate show", "--name N [--version V]",
	  "Show a certificate version (default: the current one).", cert_show },
	{ "list", "certificate list", "",
	  "List the certificates, each by its current version.", cert_list },
	{ "list-versions", "certificate list-versions", "--name N",
	  "List every version of a certificate, oldest first.",
	  cert_list_versions },
	{ "download", "certificate download",
	  "--name N [--version V] --file F [--encoding PEM|DER] [--chain] "
	  "[--overwrite]",
	  "Write the certificate (and with --chain its chain) to a file.",
	  cert_download },
	{ "uri", "certificate uri", "--name N [--type cert|private|public] [--pin-version]",
	  "Print the RFC 7512 PKCS#11 URI of the certificate's key (or cert); it follows "
	  "the current version, --pin-version pins this version's key by its CKA_ID.",
	  cli_certificate_uri },
	{ "set-attributes", "certificate set-attributes",
	  "--name N [--version V] [--enabled true|false] [--tags K=V ...]",
	  "Enable or disable a version, replace its tags (--tags '' clears).",
	  cert_set_attributes },
	/* soft delete (cmd_deleted.c) */
	{ "delete", "certificate delete", "--name N",
	  "Delete a certificate with all its versions, policy, keys, secrets and "
	  "pending operation: it can be recovered until its scheduled purge date "
	  "(the vault's retention days); needs the PIN.", cli_certificate_delete },
	{ "list-deleted", "certificate list-deleted", "",
	  "List the deleted certificates, with their recovery ids and dates.",
	  cli_certificate_list_deleted },
	{ "show-deleted", "certificate show-deleted", "--name N",
	  "Show a deleted certificate.", cli_certificate_show_deleted },
	{ "recover", "certificate recover", "--name N",
	  "Put a deleted certificate back as it was; needs the PIN.",
	  cli_certificate_recover },
	{ "purge", "certificate purge", "--name N",
	  "Destroy a deleted certificate for good (refused before its scheduled "
	  "purge date when the vault has purge protection); needs the PIN.",
	  cli_certificate_purge },
};

static const struct cli_group *const certificate_subgroups[] = {
	&cli_group_policy,
	&cli_group_pending,
};

const struct cli_group cli_group_certificate = {
	.name = "certificate",
	.path = "certificate",
	.summary = "Certificates: policy, create, import, versions, download.",
	.commands = certificate_commands,
	.n_commands = sizeof(certificate_commands) /
		      sizeof(certificate_commands[0]),
	.subgroups = certificate_subgroups,
	.n_subgroups = sizeof(certificate_subgroups) /
		       sizeof(certificate_subgroups[0]),
};
