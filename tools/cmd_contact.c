/* certvault contact ...: the people told about certificate events. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_EMAIL = 1,
	OPT_NAME,
	OPT_PHONE,
};

static int
contact_add(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, OPT_EMAIL },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "phone", required_argument, NULL, OPT_PHONE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	cv_contact contact;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	memset(&contact, 0, sizeof(contact));
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		/* The store only reads the contact it is given. */
		switch (c) {
		case OPT_EMAIL:
			contact.email = (char *)o.arg;
			break;
		case OPT_NAME:
			contact.name = (char *)o.arg;
			break;
		case OPT_PHONE:
			contact.phone = (char *)o.arg;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (contact.email == NULL) {
		rc = cli_usage(cmd, "--email is required");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_contact_add(v, &contact);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_contacts(ctx->vault_name, &contact, 1,
					      cli_form_of(ctx)));
done:
	cv_vault_close(v);
	return rc;
}

static int
contact_list(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	struct cli_opts o;
	cv_contact *list = NULL;
	size_t n = 0, i;
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
	err = cv_contact_list(v, &list, &n);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_contacts(ctx->vault_name, list, n,
					      cli_form_of(ctx)));
done:
	for (i = 0; i < n; i++)
		cv_contact_clear(&list[i]);
	free(list);
	cv_vault_close(v);
	return rc;
}

static int
contact_delete(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	       char **argv)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, OPT_EMAIL },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *email = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_EMAIL) {
			rc = o.rc;
			goto done;
		}
		email = o.arg;
	}
	if (email == NULL) {
		rc = cli_usage(cmd, "--email is required");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = cv_contact_delete(v, email);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("deleted contact %s\n", email);
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

static const struct cli_command contact_commands[] = {
	{ "add", "contact add", "--email E [--name N] [--phone P]",
	  "Add a contact.", contact_add },
	{ "list", "contact list", "", "List the contacts.", contact_list },
	{ "delete", "contact delete", "--email E", "Delete a contact.",
	  contact_delete },
};

const struct cli_group cli_group_contact = {
	.name = "contact",
	.path = "contact",
	.summary = "Certificate contacts.",
	.commands = contact_commands,
	.n_commands = sizeof(contact_commands) / sizeof(contact_commands[0]),
};
