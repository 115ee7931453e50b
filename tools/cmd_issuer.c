/* certvault issuer ...: certificate issuers (DigiCert, GlobalSign, ACME,
 * Vault).  The password (API key) goes in sealed and never comes out
 * through the tool. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_PROVIDER,
	OPT_ACCOUNT_ID,
	OPT_PASSWORD,
	OPT_PASSWORD_FILE,
	OPT_ORGANIZATION_ID,
	OPT_DIRECTORY_URL,
	OPT_CA_CERTIFICATE,
	OPT_ADMIN_FIRST_NAME,
	OPT_ADMIN_LAST_NAME,
	OPT_ADMIN_EMAIL,
	OPT_ADMIN_PHONE,
	OPT_DISABLED,
	OPT_ENABLED,
	OPT_ALLOWED_NAMES,
};

static const struct option issuer_opts[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "provider", required_argument, NULL, OPT_PROVIDER },
	{ "account-id", required_argument, NULL, OPT_ACCOUNT_ID },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "organization-id", required_argument, NULL, OPT_ORGANIZATION_ID },
	{ "directory-url", required_argument, NULL, OPT_DIRECTORY_URL },
	{ "ca-certificate", required_argument, NULL, OPT_CA_CERTIFICATE },
	{ "admin-first-name", required_argument, NULL, OPT_ADMIN_FIRST_NAME },
	{ "admin-last-name", required_argument, NULL, OPT_ADMIN_LAST_NAME },
	{ "admin-email", required_argument, NULL, OPT_ADMIN_EMAIL },
	{ "admin-phone", required_argument, NULL, OPT_ADMIN_PHONE },
	{ "disabled", no_argument, NULL, OPT_DISABLED },
	{ "enabled", required_argument, NULL, OPT_ENABLED },
	{ "allowed-names", required_argument, NULL, OPT_ALLOWED_NAMES },
	{ NULL, 0, NULL, 0 },
};

/* The store reads but never frees or changes what a cv_issuer argument
 * points to, so the command line's strings can be lent to it. */
static char *
lend(const char *s)
{
	return (char *)s;
}

/* --allowed-names a,b,*.c: *copy holds the names, *out points into it.
 * -1 when out of memory. */
static int
split_names(const char *arg, char **copy, char ***out, size_t *n)
{
	char *s, *save = NULL;
	size_t cap = 1, i;

	*out = NULL;
	*n = 0;
	for (i = 0; arg[i] != '\0'; i++)
		cap += arg[i] == ',';
	if ((*copy = strdup(arg)) == NULL ||
	    (*out = calloc(cap, sizeof(char *))) == NULL) {
		free(*copy);
		*copy = NULL;
		return -1;
	}
	for (s = strtok_r(*copy, ",", &save); s != NULL; s = strtok_r(NULL, ",", &save))
		(*out)[(*n)++] = s;
	return 0;
}

static int
issuer_put(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	   char **argv, enum cv_put_mode mode)
{
	struct cli_opts o;
	const char *password_opt = NULL, *password_file = NULL;
	const char *first = NULL, *last = NULL, *email = NULL, *phone = NULL;
	char *password = NULL;
	int enabled = -1;
	cv_issuer is, *old = NULL, *out = NULL;
	cv_admin admin;
	char **names = NULL, *names_copy = NULL;
	size_t n_names = 0;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	memset(&is, 0, sizeof(is));
	memset(&admin, 0, sizeof(admin));
	cli_opts_init(&o, ctx, cmd, argc, argv, issuer_opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			if (strlen(o.arg) > CV_NAME_MAX ||
			    !cv_name_valid(o.arg)) {
				rc = cli_fail_store(CV_ERR_BAD_NAME);
				goto done;
			}
			snprintf(is.name, sizeof(is.name), "%s", o.arg);
			break;
		case OPT_PROVIDER:
			is.provider = lend(o.arg);
			break;
		case OPT_ACCOUNT_ID:
			is.account_id = lend(o.arg);
			break;
		case OPT_PASSWORD:
			password_opt = o.arg;
			break;
		case OPT_PASSWORD_FILE:
			password_file = o.arg;
			break;
		case OPT_ORGANIZATION_ID:
			is.organization_id = lend(o.arg);
			break;
		case OPT_DIRECTORY_URL:
			is.directory_url = lend(o.arg);
			break;
		case OPT_CA_CERTIFICATE:
			is.ca_certificate = lend(o.arg);
			break;
		case OPT_ADMIN_FIRST_NAME:
			first = o.arg;
			break;
		case OPT_ADMIN_LAST_NAME:
			last = o.arg;
			break;
		case OPT_ADMIN_EMAIL:
			email = o.arg;
			break;
		case OPT_ADMIN_PHONE:
			phone = o.arg;
			break;
		case OPT_DISABLED:
			enabled = 0;
			break;
		case OPT_ALLOWED_NAMES:
			free(names);
			free(names_copy);
			if (split_names(o.arg, &names_copy, &names, &n_names) != 0) {
				rc = cli_fail_store(CV_ERR_NOMEM);
				goto done;
			}
			is.allowed_names = names;
			is.n_allowed_names = n_names;
			break;
		case OPT_ENABLED:
			enabled = cli_parse_bool(o.arg);
			if (enabled < 0) {
				rc = cli_usage(cmd, "--enabled is true or false, "
					       "not '%s'", o.arg);
				goto done;
			}
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (is.name[0] == '\0') {
		rc = cli_usage(cmd, "--name is required");
		goto done;
	}
	if (mode == CV_PUT_CREATE && is.provider == NULL) {
		rc = cli_usage(cmd, "--provider is required");
		goto done;
	}
	rc = cli_password_arg(cmd, password_opt, password_file, &password);
	if (rc != CLI_EXIT_OK)
		goto done;
	is.password = password;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (mode == CV_PUT_UPDATE) {
		/* Only what is given changes: the enabled flag and the admin
		 * fields not given are carried over from the stored issuer. */
		err = cv_issuer_get(v, is.name, 0, &old);
		if (err != CV_OK) {
			rc = cli_fail_store(err);
			goto done;
		}
		if (enabled < 0)
			enabled = old->enabled;
		if (old->n_admins > 0) {
			if (first == NULL)
				first = old->admins[0].first_name;
			if (last == NULL)
				last = old->admins[0].last_name;
			if (email == NULL)
				email = old->admins[0].email;
			if (phone == NULL)
				phone = old->admins[0].phone;
		}
	}
	is.enabled = enabled < 0 ? 1 : enabled;
	if (first != NULL || last != NULL || email != NULL || phone != NULL) {
		admin.first_name = lend(first);
		admin.last_name = lend(last);
		admin.email = lend(email);
		admin.phone = lend(phone);
		is.admins = &admin;
		is.n_admins = 1;
	}
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_issuer_put(v, &is, mode, &out);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_issuer(ctx->vault_name, out,
					    cli_form_of(ctx)));
done:
	cv_issuer_free(out);
	cv_issuer_free(old);
	free(names);
	free(names_copy);
	cli_secret_free(password);
	cv_vault_close(v);
	return rc;
}

static int
issuer_create(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	return issuer_put(ctx, cmd, argc, argv, CV_PUT_CREATE);
}

static int
issuer_update(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	return issuer_put(ctx, cmd, argc, argv, CV_PUT_UPDATE);
}

static int
issuer_name_only(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		 char **argv, const char **name)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	int c;

	*name = NULL;
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_NAME)
			return o.rc;
		*name = o.arg;
	}
	if (*name == NULL)
		return cli_usage(cmd, "--name is required");
	return CLI_EXIT_OK;
}

static int
issuer_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	const char *name;
	cv_issuer *is = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = issuer_name_only(ctx, cmd, argc, argv, &name);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_issuer_get(v, name, 0, &is);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_issuer(ctx->vault_name, is,
					    cli_form_of(ctx)));
done:
	cv_issuer_free(is);
	cv_vault_close(v);
	return rc;
}

static int
issuer_list(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	struct cli_opts o;
	cv_issuer **list = NULL;
	size_t n = 0, i;
	json_t *arr = NULL;
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
	err = cv_issuer_list(v, &list, &n);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		json_t *j = cli_json_issuer(ctx->vault_name, list[i],
					    cli_form_of(ctx));

		if (j == NULL || json_array_append_new(arr, j) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	rc = cli_print(ctx, arr);
done:
	for (i = 0; i < n; i++)
		cv_issuer_free(list[i]);
	free(list);
	cv_vault_close(v);
	return rc;
}

static int
issuer_delete(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	const char *name;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	rc = issuer_name_only(ctx, cmd, argc, argv, &name);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_issuer_delete(v, name);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("deleted issuer %s\n", name);
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

#define ISSUER_ARGS                                                          \
	"[--account-id A] [--password P | --password-file F] "               \
	"[--organization-id O] [--directory-url U] [--ca-certificate NAME] [--allowed-names N1,*.N2] "  \
	"[--admin-first-name F] [--admin-last-name L] [--admin-email E] "    \
	"[--admin-phone P] [--disabled | --enabled true|false]"

static const struct cli_command issuer_commands[] = {
	{ "create", "issuer create", "--name N --provider P " ISSUER_ARGS,
	  "Add an issuer (DigiCert, GlobalSign, ACME, Vault); a password "
	  "needs the PIN.", issuer_create },
	{ "update", "issuer update", "--name N [--provider P] " ISSUER_ARGS,
	  "Change the members of an issuer that are given.", issuer_update },
	{ "show", "issuer show", "--name N",
	  "Show an issuer (never its password).", issuer_show },
	{ "list", "issuer list", "", "List the issuers.", issuer_list },
	{ "delete", "issuer delete", "--name N", "Delete an issuer.",
	  issuer_delete },
};

const struct cli_group cli_group_issuer = {
	.name = "issuer",
	.path = "issuer",
	.summary = "Certificate issuers.",
	.commands = issuer_commands,
	.n_commands = sizeof(issuer_commands) / sizeof(issuer_commands[0]),
};
