/* certvault: global options, dispatch of `certvault GROUP COMMAND`, the
 * per-command option parser and the choice of vault. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#ifndef CV_VERSION_STRING
#define CV_VERSION_STRING "0.1.0"
#endif

enum {
	OPT_VAULT = 0x7f00,
	OPT_CONFIG,
	OPT_JSON,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option common_opts[] = {
	{ "vault", required_argument, NULL, OPT_VAULT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_group *const top_groups[] = {
	&cli_group_vault,
	&cli_group_certificate,
	&cli_group_secret,
	&cli_group_issuer,
	&cli_group_contact,
};

/* --- Help ---------------------------------------------------------------- */

static void
print_command_line(FILE *f, const struct cli_command *c)
{
	fprintf(f, "  certvault %s %s\n", c->path, c->args);
	fprintf(f, "      %s\n", c->summary);
}

static void
print_group(FILE *f, const struct cli_group *g)
{
	size_t i;

	for (i = 0; i < g->n_commands; i++)
		print_command_line(f, &g->commands[i]);
	for (i = 0; i < g->n_subgroups; i++)
		print_group(f, g->subgroups[i]);
}

static void
print_help(FILE *f)
{
	size_t i;

	fputs("usage: certvault [--vault DIR] [--config FILE] [--json] GROUP COMMAND [options]\n"
	      "       certvault --help | --version\n\n"
	      "The vault is --vault DIR, else $CERTVAULT_VAULT, else the first vault of\n"
	      "the config file (--config, $CERTVAULT_CONF, ~/.config/certvault/certvault.conf).\n"
	      "PINs come from --pin-file, else $CERTVAULT_PIN / $CERTVAULT_SO_PIN, else the terminal.\n"
	      "Every command takes --json, --vault, --config and --help.\n"
	      "Files: --file F makes a new file (a secret's 0600) and refuses an existing\n"
	      "one; with --overwrite a regular file is replaced, a FIFO or character device\n"
	      "is written in place, and a symbolic link (never followed), a folder, a block\n"
	      "device or a socket is refused.  --file - is standard output, or standard\n"
	      "input where a file is read (also @- for a policy, --password-file -).\n\n"
	      "commands:\n", f);
	for (i = 0; i < sizeof(top_groups) / sizeof(top_groups[0]); i++)
		print_group(f, top_groups[i]);
}

static void
print_group_help(FILE *f, const struct cli_group *g)
{
	fprintf(f, "usage: certvault %s COMMAND [options]\n%s\n\ncommands:\n",
		g->path, g->summary);
	print_group(f, g);
}

/* --- The per-command parser -------------------------------------------- */

void
cli_opts_init(struct cli_opts *o, struct cli_ctx *ctx,
	      const struct cli_command *cmd, int argc, char **argv,
	      const struct option *cmd_opts)
{
	size_t n = 0, i;

	memset(o, 0, sizeof(*o));
	o->ctx = ctx;
	o->cmd = cmd;
	o->argc = argc;
	o->argv = argv;
	for (i = 0; cmd_opts != NULL && cmd_opts[i].name != NULL &&
		    n < CLI_OPTS_MAX - 5; i++)
		o->all[n++] = cmd_opts[i];
	for (i = 0; common_opts[i].name != NULL; i++)
		o->all[n++] = common_opts[i];
	memset(&o->all[n], 0, sizeof(o->all[n]));
	/* 0 makes glibc start over: each command is a fresh parse. */
	optind = 0;
	opterr = 0;
}

int
cli_opts_next(struct cli_opts *o)
{
	for (;;) {
		int c = getopt_long(o->argc, o->argv, "+:", o->all, NULL);

		o->arg = optarg;
		switch (c) {
		case -1:
			if (optind < o->argc) {
				o->rc = cli_usage(o->cmd, "unexpected argument '%s'",
						  o->argv[optind]);
				return CLI_OPT_STOP;
			}
			return CLI_OPT_END;
		case '?':
			o->rc = cli_usage(o->cmd, "unknown option '%s'",
					  o->argv[optind - 1]);
			return CLI_OPT_STOP;
		case ':':
			o->rc = cli_usage(o->cmd, "option '%s' needs a value",
					  o->argv[optind - 1]);
			return CLI_OPT_STOP;
		case OPT_VAULT:
			o->ctx->vault_opt = optarg;
			break;
		case OPT_CONFIG:
			o->ctx->config_path = optarg;
			break;
		case OPT_JSON:
			o->ctx->json = 1;
			break;
		case OPT_HELP:
			printf("usage: certvault %s %s\n%s\n", o->cmd->path,
			       o->cmd->args, o->cmd->summary);
			o->rc = CLI_EXIT_OK;
			return CLI_OPT_STOP;
		default:
			return c;
		}
	}
}

const char *
cli_opts_more(struct cli_opts *o)
{
	const char *s;

	if (optind >= o->argc)
		return NULL;
	s = o->argv[optind];
	if (s[0] == '-' && s[1] != '\0')
		return NULL;
	optind++;
	return s;
}

int
cli_parse_bool(const char *s)
{
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 ||
	    strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0 ||
	    strcmp(s, "0") == 0)
		return 0;
	return -1;
}

/* --- The vault ---------------------------------------------------------- */

int
cli_vault_choose(struct cli_ctx *ctx)
{
	const char *env = getenv("CERTVAULT_VAULT");
	cv_config *cfg = NULL;
	const char *dir = NULL;
	cv_err err;
	int rc = CLI_EXIT_FAIL;

	if (ctx->vault_dir != NULL)
		return CLI_EXIT_OK;
	if (ctx->vault_opt != NULL && ctx->vault_opt[0] != '\0') {
		dir = ctx->vault_opt;
	} else if (env != NULL && env[0] != '\0') {
		dir = env;
	} else {
		err = cv_config_load(ctx->config_path, &cfg);
		if (err != CV_OK) {
			rc = cli_fail_store(err);
			goto done;
		}
		if (cfg->n_vaults == 0) {
			rc = cli_usage(NULL, "no vault given: use --vault DIR, "
				       "CERTVAULT_VAULT or a `vault = DIR` line "
				       "in the config file");
			goto done;
		}
		dir = cfg->vaults[0];
	}
	ctx->vault_dir = strdup(dir);
	if (ctx->vault_dir == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	cv_config_free(cfg);
	return rc;
}

int
cli_vault_open(struct cli_ctx *ctx, cv_vault **out)
{
	cv_vault *v = NULL;
	cv_vault_info info;
	cv_err err;
	int rc;

	*out = NULL;
	rc = cli_vault_choose(ctx);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	err = cv_vault_open(ctx->vault_dir, &v);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	err = cv_vault_info_get(v, &info);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	snprintf(ctx->vault_name, sizeof(ctx->vault_name), "%s", info.name);
	*out = v;
	v = NULL;
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

/* --- Dispatch ------------------------------------------------------------ */

static int
dispatch(struct cli_ctx *ctx, const struct cli_group *g, int argc, char **argv)
{
	const char *word;
	size_t i;

	/* argv[0] is the group's own name. */
	if (argc < 2) {
		print_group_help(stderr, g);
		return CLI_EXIT_USAGE;
	}
	word = argv[1];
	if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 ||
	    strcmp(word, "help") == 0) {
		print_group_help(stdout, g);
		return CLI_EXIT_OK;
	}
	for (i = 0; i < g->n_subgroups; i++)
		if (strcmp(word, g->subgroups[i]->name) == 0)
			return dispatch(ctx, g->subgroups[i], argc - 1, argv + 1);
	for (i = 0; i < g->n_commands; i++)
		if (strcmp(word, g->commands[i].name) == 0)
			return g->commands[i].run(ctx, &g->commands[i], argc - 1,
						  argv + 1);
	return cli_usage(NULL, "unknown command '%s' for 'certvault %s'", word,
			 g->path);
}

int
main(int argc, char **argv)
{
	static const struct option global_opts[] = {
		{ "vault", required_argument, NULL, OPT_VAULT },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_ctx ctx;
	int c, rc = CLI_EXIT_USAGE;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_VAULT:
			ctx.vault_opt = optarg;
			break;
		case OPT_CONFIG:
			ctx.config_path = optarg;
			break;
		case OPT_JSON:
			ctx.json = 1;
			break;
		case OPT_HELP:
			print_help(stdout);
			rc = CLI_EXIT_OK;
			goto done;
		case OPT_VERSION:
			printf("certvault %s\n", CV_VERSION_STRING);
			rc = CLI_EXIT_OK;
			goto done;
		case ':':
			rc = cli_usage(NULL, "option '%s' needs a value",
				       argv[optind - 1]);
			goto done;
		default:
			rc = cli_usage(NULL, "unknown option '%s'",
				       argv[optind - 1]);
			goto done;
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	for (i = 0; i < sizeof(top_groups) / sizeof(top_groups[0]); i++) {
		if (strcmp(argv[optind], top_groups[i]->name) == 0) {
			rc = dispatch(&ctx, top_groups[i], argc - optind,
				      argv + optind);
			goto done;
		}
	}
	rc = cli_usage(NULL, "unknown command group '%s'", argv[optind]);
done:
	free(ctx.vault_dir);
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail("cannot write the output");
	return rc;
}
