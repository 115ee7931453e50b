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
	OPT_VAULT_NAME,
	OPT_PIN_FILE,
};

/* Every command takes these; a command's own option of the same name
 * (vault create's --pin-file, the new user PIN) comes first and wins. */
static const struct option common_opts[] = {
	{ "vault", required_argument, NULL, OPT_VAULT },
	{ "vault-name", required_argument, NULL, OPT_VAULT_NAME },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))
#define COMMON_HELP "common options: --vault DIR | --vault-name NAME, " \
	"--config FILE, --pin-file F, --json, --help"

/* az's short options, each given to a command that has the long one. */
static const struct {
	char c;
	const char *name;
} az_short[CLI_SHORT_MAX] = {
	{ 'n', "name" },
	{ 'f', "file" },
	{ 'v', "version" },
	{ 'p', "policy" },
	{ 'e', "encoding" },
};

/* Commands of their own, not of a group. */
static const struct cli_command top_commands[] = {
	{ "run", "run", "[--once] [--interval S] [--now TIME] [--dry-run]",
	  "Advance every pending operation (ACME orders), then act on the "
	  "lifetime actions due (renew, mail the contacts, record events, run "
	  "the hook): one pass with --once, else a pass every --interval seconds "
	  "(default 60) until SIGTERM or SIGINT; needs the PIN.  --now TIME "
	  "(RFC 3339 or @SECONDS, with --once) sets the lifetime actions' clock; "
	  "--dry-run prints what would happen and changes nothing.", cli_run },
};

static const struct cli_group *const top_groups[] = {
	&cli_group_vault,
	&cli_group_certificate,
	&cli_group_secret,
	&cli_group_issuer,
	&cli_group_contact,
	&cli_group_events,
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

	fputs("usage: certvault [--vault DIR | --vault-name NAME] [--config FILE] [--json]\n"
	      "                 GROUP COMMAND [options]\n"
	      "       certvault --help | --version\n\n"
	      "The vault is --vault DIR, else $CERTVAULT_VAULT, else the first vault of\n"
	      "the config file (--config, $CERTVAULT_CONF, ~/.config/certvault/certvault.conf).\n"
	      "--vault-name NAME is the config file's vault of that name (a NAME holding\n"
	      "a '/' is a folder, as --vault).\n"
	      "PINs come from --pin-file (the SO's: --so-pin-file where a command names it),\n"
	      "else $CERTVAULT_PIN / $CERTVAULT_SO_PIN, else the terminal.\n"
	      "Every command takes --vault, --vault-name, --config, --pin-file, --json and\n"
	      "--help; az's short options where az has them: -n --name, -f --file,\n"
	      "-v --version, -p --policy, -e --encoding.\n"
	      "Exit status: 0 done, 1 refused, 2 a usage error, 3 a name not in the vault.\n"
	      "Files: --file F makes a new file (a secret's 0600) and refuses an existing\n"
	      "one; with --overwrite a regular file is replaced, a FIFO or character device\n"
	      "is written in place, and a symbolic link (never followed), a folder, a block\n"
	      "device or a socket is refused.  --file - is standard output, or standard\n"
	      "input where a file is read (also @- for a policy, --password-file - and\n"
	      "--pin-file -); one run reads standard input once.\n\n"
	      "commands:\n", f);
	for (i = 0; i < sizeof(top_groups) / sizeof(top_groups[0]); i++)
		print_group(f, top_groups[i]);
	for (i = 0; i < sizeof(top_commands) / sizeof(top_commands[0]); i++)
		print_command_line(f, &top_commands[i]);
}

static void
print_group_help(FILE *f, const struct cli_group *g)
{
	fprintf(f, "usage: certvault %s COMMAND [options]\n%s\n\ncommands:\n",
		g->path, g->summary);
	print_group(f, g);
}

/* --- The per-command parser -------------------------------------------- */

/* The value a usage line writes after --long ("N", "PEM|DER"), or "X". */
static void
usage_value(const char *args, const char *lng, char *out, size_t size)
{
	char key[64];
	const char *p;
	size_t n = 0;

	snprintf(key, sizeof(key), "--%s ", lng);
	p = strstr(args, key);
	if (p != NULL) {
		p += strlen(key);
		while (p[n] != '\0' && p[n] != ' ' && p[n] != ']' && n + 1 < size)
			n++;
	}
	if (n == 0) {
		snprintf(out, size, "X");
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void
print_command_help(const struct cli_opts *o)
{
	char value[64];
	size_t i;

	printf("usage: certvault %s %s\n%s\n", o->cmd->path, o->cmd->args,
	       o->cmd->summary);
	if (o->n_short > 0) {
		fputs("short options:", stdout);
		for (i = 0; i < o->n_short; i++) {
			usage_value(o->cmd->args, o->short_name[i], value,
				    sizeof(value));
			printf("%s -%c %s (--%s %s)", i > 0 ? "," : "",
			       o->short_c[i], value, o->short_name[i], value);
		}
		fputc('\n', stdout);
	}
	puts(COMMON_HELP);
}

void
cli_opts_init(struct cli_opts *o, struct cli_ctx *ctx,
	      const struct cli_command *cmd, int argc, char **argv,
	      const struct option *cmd_opts)
{
	size_t n = 0, k = 0, i, j;

	memset(o, 0, sizeof(*o));
	o->ctx = ctx;
	o->cmd = cmd;
	o->argc = argc;
	o->argv = argv;
	for (i = 0; cmd_opts != NULL && cmd_opts[i].name != NULL &&
		    n < CLI_OPTS_MAX - N_COMMON; i++)
		o->all[n++] = cmd_opts[i];
	for (i = 0; common_opts[i].name != NULL; i++)
		o->all[n++] = common_opts[i];
	memset(&o->all[n], 0, sizeof(o->all[n]));
	/* "+:" stops at the first argument that is not an option and reports
	 * a missing value as ':'; then each short option this command has. */
	memcpy(o->shortopts, "+:", 3);
	for (i = 0; i < CLI_SHORT_MAX && az_short[i].name != NULL; i++) {
		for (j = 0; cmd_opts != NULL && cmd_opts[j].name != NULL; j++) {
			if (strcmp(cmd_opts[j].name, az_short[i].name) != 0 ||
			    cmd_opts[j].has_arg != required_argument)
				continue;
			o->short_c[k] = az_short[i].c;
			o->short_name[k] = az_short[i].name;
			o->short_val[k] = cmd_opts[j].val;
			o->shortopts[2 + 2 * k] = az_short[i].c;
			o->shortopts[3 + 2 * k] = ':';
			o->shortopts[4 + 2 * k] = '\0';
			k++;
			break;
		}
	}
	o->n_short = k;
	/* 0 makes glibc start over: each command is a fresh parse. */
	optind = 0;
	opterr = 0;
}

int
cli_opts_next(struct cli_opts *o)
{
	for (;;) {
		int c = getopt_long(o->argc, o->argv, o->shortopts, o->all, NULL);
		size_t i;

		o->arg = optarg;
		for (i = 0; i < o->n_short; i++)
			if (c == o->short_c[i])
				return o->short_val[i];
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
		case OPT_VAULT_NAME:
			o->ctx->vault_name_opt = optarg;
			break;
		case OPT_PIN_FILE:
			cli_pin_file_set(optarg);
			break;
		case OPT_CONFIG:
			o->ctx->config_path = optarg;
			break;
		case OPT_JSON:
			o->ctx->json = 1;
			break;
		case OPT_HELP:
			print_command_help(o);
			o->rc = CLI_EXIT_HELP;
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

/* --vault-name NAME: the vault of the config file whose name is NAME, as
 * Key Vault's names are, without regard to case.  A listed vault that does
 * not open is passed over. */
static int
vault_by_name(struct cli_ctx *ctx)
{
	const char *want = ctx->vault_name_opt;
	cv_config *cfg = NULL;
	cv_vault_info info;
	cv_vault *v = NULL;
	cv_err err;
	size_t i;
	int rc = CLI_EXIT_FAIL;

	err = cv_config_load(ctx->config_path, &cfg);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	for (i = 0; i < cfg->n_vaults; i++) {
		if (cv_vault_open(cfg->vaults[i], &v) != CV_OK)
			continue;
		err = cv_vault_info_get(v, &info);
		cv_vault_close(v);
		v = NULL;
		if (err == CV_OK && strcasecmp(info.name, want) == 0) {
			ctx->vault_dir = strdup(cfg->vaults[i]);
			rc = ctx->vault_dir != NULL ? CLI_EXIT_OK :
						      cli_fail("out of memory");
			goto done;
		}
	}
	rc = cli_fail_missing("no vault named '%s' in %s", want,
			      cfg->path != NULL ? cfg->path :
						  "the config file (there is none)");
done:
	cv_config_free(cfg);
	return rc;
}

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
	if (ctx->vault_opt != NULL && ctx->vault_name_opt != NULL) {
		rc = cli_usage(NULL, "give --vault DIR or --vault-name NAME, "
			       "not both");
		goto done;
	}
	if (ctx->vault_name_opt != NULL && strchr(ctx->vault_name_opt, '/') == NULL) {
		rc = vault_by_name(ctx);
		goto done;
	}
	if (ctx->vault_name_opt != NULL) {
		dir = ctx->vault_name_opt;
	} else if (ctx->vault_opt != NULL && ctx->vault_opt[0] != '\0') {
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
	for (i = 0; i < g->n_commands; i++) {
		if (strcmp(word, g->commands[i].name) == 0) {
			int rc = g->commands[i].run(ctx, &g->commands[i],
						    argc - 1, argv + 1);

			return rc == CLI_EXIT_HELP ? CLI_EXIT_OK : rc;
		}
	}
	return cli_usage(NULL, "unknown command '%s' for 'certvault %s'", word,
			 g->path);
}

int
main(int argc, char **argv)
{
	static const struct option global_opts[] = {
		{ "vault", required_argument, NULL, OPT_VAULT },
		{ "vault-name", required_argument, NULL, OPT_VAULT_NAME },
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
	/* Keys the tool unseals stay out of core dumps (DESIGN: Encryption
	 * at rest).  A secure heap that could not be locked or marked is used
	 * as it is; without any, say so once and go on. */
	if (cv_secmem_init() == CV_ERR_CRYPTO)
		fprintf(stderr, "certvault: warning: unsealed keys may appear in core "
			"dumps: %s\n", cv_err_detail());
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:", global_opts, NULL)) != -1) {
		switch (c) {
		case OPT_VAULT:
			ctx.vault_opt = optarg;
			break;
		case OPT_VAULT_NAME:
			ctx.vault_name_opt = optarg;
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
	for (i = 0; i < sizeof(top_commands) / sizeof(top_commands[0]); i++) {
		if (strcmp(argv[optind], top_commands[i].name) == 0) {
			rc = top_commands[i].run(&ctx, &top_commands[i],
						 argc - optind, argv + optind);
			if (rc == CLI_EXIT_HELP)
				rc = CLI_EXIT_OK;
			goto done;
		}
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
