/* certvault vault ...: create a vault, show it, change its PINs. */
#include <string.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_PIN_FILE,
	OPT_SO_PIN_FILE,
	OPT_NEW_PIN_FILE,
	OPT_SO,
};

static int
show_info(struct cli_ctx *ctx, cv_vault *v)
{
	cv_vault_info info;
	cv_err err;

	err = cv_vault_info_get(v, &info);
	if (err != CV_OK)
		return cli_fail_store(err);
	return cli_print(ctx, cli_json_vault(&info, cli_form_of(ctx)));
}

static int
vault_create(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
		{ "so-pin-file", required_argument, NULL, OPT_SO_PIN_FILE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *pin_file = NULL, *so_pin_file = NULL;
	cli_pin user, so;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	memset(&user, 0, sizeof(user));
	memset(&so, 0, sizeof(so));
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NAME:
			name = o.arg;
			break;
		case OPT_PIN_FILE:
			pin_file = o.arg;
			break;
		case OPT_SO_PIN_FILE:
			so_pin_file = o.arg;
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
	if (!cv_name_valid(name)) {
		rc = cli_fail_store(CV_ERR_BAD_NAME);
		goto done;
	}
	rc = cli_vault_choose(ctx);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_pin_get(&user, pin_file, "CERTVAULT_PIN", "New user PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_pin_get(&so, so_pin_file, "CERTVAULT_SO_PIN", "New SO PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	err = cv_vault_create(ctx->vault_dir, name, user.v, user.len, so.v,
			      so.len);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	err = cv_vault_open(ctx->vault_dir, &v);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = show_info(ctx, v);
done:
	cli_pin_wipe(&user);
	cli_pin_wipe(&so);
	cv_vault_close(v);
	return rc;
}

static int
vault_show(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	   char **argv)
{
	struct cli_opts o;
	cv_vault *v = NULL;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, NULL);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		rc = o.rc;
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = show_info(ctx, v);
done:
	cv_vault_close(v);
	return rc;
}

static int
vault_set_pin(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv)
{
	static const struct option opts[] = {
		{ "so", no_argument, NULL, OPT_SO },
		{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
		{ "so-pin-file", required_argument, NULL, OPT_SO_PIN_FILE },
		{ "new-pin-file", required_argument, NULL, OPT_NEW_PIN_FILE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *pin_file = NULL, *so_pin_file = NULL, *new_file = NULL;
	enum cv_user who = CV_USER_NORMAL;
	cli_pin old_pin, new_pin;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	memset(&old_pin, 0, sizeof(old_pin));
	memset(&new_pin, 0, sizeof(new_pin));
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_SO:
			who = CV_USER_SO;
			break;
		case OPT_PIN_FILE:
			pin_file = o.arg;
			break;
		case OPT_SO_PIN_FILE:
			so_pin_file = o.arg;
			break;
		case OPT_NEW_PIN_FILE:
			new_file = o.arg;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (who == CV_USER_SO)
		rc = cli_pin_get(&old_pin, so_pin_file != NULL ? so_pin_file :
				 pin_file, "CERTVAULT_SO_PIN", "SO PIN: ", 0);
	else
		rc = cli_pin_get(&old_pin, pin_file, "CERTVAULT_PIN", "PIN: ", 0);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_pin_get(&new_pin, new_file, "CERTVAULT_NEW_PIN",
			 who == CV_USER_SO ? "New SO PIN: " : "New PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_vault_set_pin(v, who, old_pin.v, old_pin.len, new_pin.v,
			       new_pin.len);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("%s PIN changed\n", who == CV_USER_SO ? "SO" : "user");
	rc = CLI_EXIT_OK;
done:
	cli_pin_wipe(&old_pin);
	cli_pin_wipe(&new_pin);
	cv_vault_close(v);
	return rc;
}

static int
vault_init_pin(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	       char **argv)
{
	static const struct option opts[] = {
		{ "so-pin-file", required_argument, NULL, OPT_SO_PIN_FILE },
		{ "new-pin-file", required_argument, NULL, OPT_NEW_PIN_FILE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *so_pin_file = NULL, *new_file = NULL;
	cli_pin new_pin;
	cv_vault *v = NULL;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	memset(&new_pin, 0, sizeof(new_pin));
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_SO_PIN_FILE:
			so_pin_file = o.arg;
			break;
		case OPT_NEW_PIN_FILE:
			new_file = o.arg;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_login(v, CV_USER_SO, so_pin_file);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_pin_get(&new_pin, new_file, "CERTVAULT_NEW_PIN",
			 "New user PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = cv_vault_init_pin(v, new_pin.v, new_pin.len);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("user PIN set\n");
	rc = CLI_EXIT_OK;
done:
	cli_pin_wipe(&new_pin);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command vault_commands[] = {
	{ "create", "vault create", "--name NAME [--pin-file F] [--so-pin-file F]",
	  "Create a vault in the chosen folder (PINs from the files, "
	  "CERTVAULT_PIN/CERTVAULT_SO_PIN, or asked twice).", vault_create },
	{ "show", "vault show", "[--json]",
	  "Show the vault's name, serial, folder, creation time and PIN state.",
	  vault_show },
	{ "set-pin", "vault set-pin",
	  "[--so] [--pin-file OLD] [--so-pin-file OLD] [--new-pin-file NEW]",
	  "Change the user PIN (or the SO PIN with --so); new PIN also from "
	  "CERTVAULT_NEW_PIN.", vault_set_pin },
	{ "init-pin", "vault init-pin", "[--so-pin-file F] [--new-pin-file NEW]",
	  "As the SO, set a new user PIN and unlock it.", vault_init_pin },
};

const struct cli_group cli_group_vault = {
	.name = "vault",
	.path = "vault",
	.summary = "The vault itself: create, show, PINs.",
	.commands = vault_commands,
	.n_commands = sizeof(vault_commands) / sizeof(vault_commands[0]),
};
