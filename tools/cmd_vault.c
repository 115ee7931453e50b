/* certvault vault ...: create a vault, show it, change its PINs, back it
 * up, verify it. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
	OPT_PIN_FILE,
	OPT_SO_PIN_FILE,
	OPT_NEW_PIN_FILE,
	OPT_SO,
	OPT_SYSTEM,
	OPT_NO_REGISTER,
	OPT_FILE,
	OPT_OVERWRITE,
	OPT_NO_LOGIN,
	OPT_RETENTION_DAYS,
	OPT_PURGE_PROTECTION,
};

/* --enable-purge-protection alone, or with true/false (as its own argument
 * or after '='): the value, checked after the whole line is read (so that
 * --help still wins). */
static const char *
purge_protection_arg(struct cli_opts *o)
{
	const char *arg = o->arg != NULL ? o->arg : cli_opts_more(o);

	return arg != NULL ? arg : "true";
}

/* 1, 0, or -1 after a usage line. */
static int
purge_protection_value(const struct cli_command *cmd, const char *arg)
{
	int b = cli_parse_bool(arg);

	if (b < 0)
		cli_usage(cmd, "--enable-purge-protection takes true or false, not '%s'", arg);
	return b;
}

/* What vault create looks at before it asks for any PIN, so that a bad
 * folder costs no typing.  The store checks the folder again as it makes
 * the vault; this only says no sooner. */
static int
check_new_folder(const char *dir)
{
	struct stat st;
	cv_vault *v = NULL;
	char *copy = NULL;
	const char *parent;
	cv_err err;
	int rc = CLI_EXIT_FAIL;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT) {
			rc = cli_fail("%s: %s", dir, strerror(errno));
			goto done;
		}
		copy = strdup(dir);
		if (copy == NULL) {
			rc = cli_fail("out of memory");
			goto done;
		}
		parent = dirname(copy);
		if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
			rc = cli_fail("cannot make the vault folder %s: its parent "
				      "folder %s does not exist", dir, parent);
			goto done;
		}
		if (access(parent, W_OK | X_OK) != 0) {
			rc = cli_fail("cannot make the vault folder %s: %s", dir,
				      strerror(errno));
			goto done;
		}
		rc = CLI_EXIT_OK;
		goto done;
	}
	if (S_ISLNK(st.st_mode)) {
		rc = cli_fail("%s is a symbolic link; name the vault's folder "
			      "itself", dir);
		goto done;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = cli_fail("%s is not a folder", dir);
		goto done;
	}
	err = cv_vault_open(dir, &v);
	if (err == CV_OK) {
		rc = cli_fail("%s already holds a vault", dir);
		goto done;
	}
	if (err != CV_ERR_NOT_A_VAULT) {
		rc = cli_fail_store(err);
		goto done;
	}
	if ((st.st_mode & S_IWOTH) != 0) {
		rc = cli_fail("%s may be written by other users (mode %04o); run "
			      "chmod o-w on it or choose another folder", dir,
			      (unsigned)(st.st_mode & 07777));
		goto done;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		rc = cli_fail("cannot make a vault in %s: %s", dir,
			      strerror(errno));
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	free(copy);
	return rc;
}

/* dir made absolute without touching the disk: the folder may not exist
 * yet.  NULL when out of memory. */
static char *
absolute_guess(const char *dir)
{
	char cwd[PATH_MAX];
	char *out;
	size_t n;

	if (dir[0] == '/')
		return strdup(dir);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(dir);
	n = strlen(cwd) + strlen(dir) + 2;
	out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s/%s", cwd, dir);
	return out;
}

/* The config file a new vault is registered in: --config, else
 * $CERTVAULT_CONF (the file this environment reads first), else the
 * user's, or with --system the system's.  Then check that the vault's
 * line can go there, before any PIN is asked for. */
static int
register_target(struct cli_ctx *ctx, int system, char **out)
{
	const char *env = getenv("CERTVAULT_CONF");
	char *guess = NULL;
	int added;
	cv_err err;
	int rc = CLI_EXIT_FAIL;

	*out = NULL;
	if (!system && ctx->config_path != NULL && ctx->config_path[0] != '\0')
		*out = strdup(ctx->config_path);
	else if (!system && env != NULL && env[0] != '\0')
		*out = strdup(env);
	else if ((err = cv_config_default_path(system, out)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	guess = absolute_guess(ctx->vault_dir);
	if (*out == NULL || guess == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	err = cv_config_add_vault(*out, guess, 1, &added);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	free(guess);
	if (rc != CLI_EXIT_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Register the new vault (by its real path) in conf.  Returns an exit
 * status; the vault itself stays made either way. */
static int
register_vault(const char *dir, const char *conf)
{
	char *abs = realpath(dir, NULL);
	int added, rc = CLI_EXIT_FAIL;
	cv_err err;

	if (abs == NULL) {
		rc = cli_fail("the vault was made in %s, but not registered in "
			      "%s: %s", dir, conf, strerror(errno));
		goto done;
	}
	err = cv_config_add_vault(conf, abs, 0, &added);
	if (err != CV_OK) {
		rc = cli_fail("the vault was made in %s, but not registered in "
			      "%s: %s", abs, conf, cv_err_detail()[0] != '\0' ?
			      cv_err_detail() : cv_strerror(err));
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	free(abs);
	return rc;
}

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
		{ "system", no_argument, NULL, OPT_SYSTEM },
		{ "no-register", no_argument, NULL, OPT_NO_REGISTER },
		{ "retention-days", required_argument, NULL, OPT_RETENTION_DAYS },
		{ "enable-purge-protection", optional_argument, NULL,
		  OPT_PURGE_PROTECTION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *name = NULL, *pin_file = NULL, *so_pin_file = NULL;
	int system = 0, no_register = 0;
	cv_vault_recovery recovery = { .retention_days = CV_RETENTION_DEFAULT };
	const char *days_arg = NULL, *protect_arg = NULL;
	char *end;
	long days;
	char *conf = NULL;
	cv_vault_info info;
	json_t *j = NULL;
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
		case OPT_SYSTEM:
			system = 1;
			break;
		case OPT_NO_REGISTER:
			no_register = 1;
			break;
		case OPT_RETENTION_DAYS:
			days_arg = o.arg;
			break;
		case OPT_PURGE_PROTECTION:
			protect_arg = purge_protection_arg(&o);
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
	if (days_arg != NULL) {
		days = strtol(days_arg, &end, 10);
		if (end == days_arg || *end != '\0' || days < CV_RETENTION_MIN ||
		    days > CV_RETENTION_MAX) {
			rc = cli_usage(cmd, "--retention-days is %d to %d, not '%s'",
				       CV_RETENTION_MIN, CV_RETENTION_MAX, days_arg);
			goto done;
		}
		recovery.retention_days = (int)days;
	}
	if (protect_arg != NULL &&
	    (recovery.purge_protection = purge_protection_value(cmd, protect_arg)) < 0) {
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (system && no_register) {
		rc = cli_usage(cmd, "give --system or --no-register, not both");
		goto done;
	}
	if (system && ctx->config_path != NULL) {
		rc = cli_usage(cmd, "give --system or --config, not both");
		goto done;
	}
	if (!cv_name_valid(name)) {
		rc = cli_fail_store(CV_ERR_BAD_NAME);
		goto done;
	}
	if (system && geteuid() != 0) {
		rc = cli_fail("--system registers the vault in "
			      "/etc/certvault/certvault.conf, which only root "
			      "may write; leave --system out to use your own "
			      "config file");
		goto done;
	}
	rc = cli_vault_choose(ctx);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = check_new_folder(ctx->vault_dir);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (!no_register) {
		rc = register_target(ctx, system, &conf);
		if (rc != CLI_EXIT_OK)
			goto done;
	}
	rc = cli_pin_get(&user, pin_file, "CERTVAULT_PIN", "New user PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_pin_get(&so, so_pin_file, "CERTVAULT_SO_PIN", "New SO PIN: ", 1);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	err = cv_vault_create_with(ctx->vault_dir, name, user.v, user.len, so.v,
				   so.len, &recovery);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (conf != NULL) {
		rc = register_vault(ctx->vault_dir, conf);
		if (rc != CLI_EXIT_OK)
			goto done;
	}
	rc = CLI_EXIT_FAIL;
	err = cv_vault_open(ctx->vault_dir, &v);
	if (err == CV_OK)
		err = cv_vault_info_get(v, &info);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	/* Where the vault was registered, so that the user knows which file
	 * a program started elsewhere reads it from. */
	j = cli_json_vault(&info, cli_form_of(ctx));
	if (j != NULL && json_object_set_new(j, "registeredIn", conf != NULL ?
					     json_string(conf) :
					     json_null()) != 0) {
		json_decref(j);
		j = NULL;
	}
	rc = cli_print(ctx, j);
done:
	cli_pin_wipe(&user);
	cli_pin_wipe(&so);
	free(conf);
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
vault_update(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "enable-purge-protection", optional_argument, NULL,
		  OPT_PURGE_PROTECTION },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	cv_vault_info info;
	cv_vault *v = NULL;
	const char *protect_arg = NULL;
	cv_err err;
	int c, protect, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_PURGE_PROTECTION) {
			rc = o.rc;
			goto done;
		}
		protect_arg = purge_protection_arg(&o);
	}
	if (protect_arg == NULL) {
		rc = cli_usage(cmd, "nothing to change: give --enable-purge-protection");
		goto done;
	}
	if ((protect = purge_protection_value(cmd, protect_arg)) < 0) {
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if ((rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	if ((err = cv_vault_info_get(v, &info)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (protect == 0) {
		rc = info.recovery.purge_protection
		     ? cli_fail("purge protection cannot be turned off once it is enabled")
		     : show_info(ctx, v);
		goto done;
	}
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_vault_enable_purge_protection(v)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
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

static int
fill_backup(int fd, void *arg)
{
	cv_err err = cv_vault_backup(arg, fd);

	return err == CV_OK ? CLI_EXIT_OK : cli_fail_store(err);
}

/* The backup must not land in the vault's own folder: --overwrite of
 * data.mdb there would put an older state under running applications. */
static int
outside_vault(const char *vault_dir, const char *file)
{
	struct stat vst, fst;
	char *copy = NULL;
	int rc = CLI_EXIT_FAIL;

	if ((copy = strdup(file)) == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	if (stat(vault_dir, &vst) != 0 || stat(dirname(copy), &fst) != 0) {
		/* A missing folder is named by the write itself. */
		rc = CLI_EXIT_OK;
		goto done;
	}
	if (vst.st_dev == fst.st_dev && vst.st_ino == fst.st_ino) {
		rc = cli_fail("%s is in the vault's own folder; write the backup "
			      "outside it", file);
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	free(copy);
	return rc;
}

static int
vault_backup(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, OPT_FILE },
		{ "overwrite", no_argument, NULL, OPT_OVERWRITE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *file = NULL;
	cv_vault *v = NULL;
	struct stat st;
	json_t *j = NULL;
	int c, overwrite = 0, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_FILE:
			file = o.arg;
			break;
		case OPT_OVERWRITE:
			overwrite = 1;
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
	if (strcmp(file, "-") == 0) {
		rc = cli_usage(cmd, "a vault backup is a file that opens as a "
			       "vault: name one, not standard output");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = outside_vault(ctx->vault_dir, file);
	if (rc != CLI_EXIT_OK)
		goto done;
	rc = cli_file_write_with(file, 0600, overwrite, fill_backup, v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (lstat(file, &st) != 0) {
		rc = cli_fail("cannot read %s back: %s", file, strerror(errno));
		goto done;
	}
	j = json_pack("{s:s, s:s, s:I}", "vault", ctx->vault_name,
		      "file", file, "bytes", (json_int_t)st.st_size);
	if (j == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	rc = cli_print(ctx, j);
	j = NULL;
done:
	json_decref(j);
	cv_vault_close(v);
	return rc;
}

static void
report_damage(void *arg, const char *line)
{
	(void)arg;
	(void)cli_fail("damaged: %s", line);
}

static int
vault_verify(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	static const struct option opts[] = {
		{ "no-login", no_argument, NULL, OPT_NO_LOGIN },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	cv_verify_counts n;
	cv_vault *v = NULL;
	cv_err err;
	json_t *j = NULL;
	int c, login = 1, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_NO_LOGIN:
			login = 0;
			break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if (login && (rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_vault_verify(v, &n, report_damage, NULL)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:b, s:I}",
		      "vault", ctx->vault_name,
		      "certificates", (json_int_t)n.certs,
		      "versions", (json_int_t)n.versions,
		      "keys", (json_int_t)n.keys,
		      "secrets", (json_int_t)n.secrets,
		      "operations", (json_int_t)n.operations,
		      "issuers", (json_int_t)n.issuers,
		      "contacts", (json_int_t)n.contacts,
		      "triggers", (json_int_t)n.triggers,
		      "due", (json_int_t)n.due,
		      "outbox", (json_int_t)n.outbox,
		      "events", (json_int_t)n.events,
		      "opsActive", (json_int_t)n.ops_active,
		      "sealedOpened", (json_int_t)n.sealed,
		      "loggedIn", n.logged_in,
		      "problems", (json_int_t)n.problems);
	/* Deleted certificates, the key indexes followed both ways, the meta
	 * records, and events of certificates gone (no damage: history). */
	if (j != NULL &&
	    (json_object_set_new(j, "deletedCertificates",
				 json_integer((json_int_t)n.deleted)) != 0 ||
	     json_object_set_new(j, "keyIds", json_integer((json_int_t)n.key_ids)) != 0 ||
	     json_object_set_new(j, "keyNums", json_integer((json_int_t)n.key_nums)) != 0 ||
	     json_object_set_new(j, "metaRecords", json_integer((json_int_t)n.meta)) != 0 ||
	     json_object_set_new(j, "eventsOfGoneCertificates",
				 json_integer((json_int_t)n.events_of_gone)) != 0 ||
	     json_object_set_new(j, "generation",
				 json_integer((json_int_t)n.generation)) != 0)) {
		json_decref(j);
		j = NULL;
	}
	rc = cli_print(ctx, j);
	j = NULL;
	if (rc == CLI_EXIT_OK && n.problems > 0)
		rc = CLI_EXIT_FAIL;
done:
	json_decref(j);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command vault_commands[] = {
	{ "create", "vault create",
	  "--name NAME [--pin-file F] [--so-pin-file F] [--system | --no-register] "
	  "[--retention-days N] [--enable-purge-protection [true|false]]",
	  "Create a vault in the chosen folder (PINs from the files, "
	  "CERTVAULT_PIN/CERTVAULT_SO_PIN, or asked twice; the folder is "
	  "checked first) and register it with a `vault = DIR` line in the "
	  "config file (--config, $CERTVAULT_CONF, else "
	  "$XDG_CONFIG_HOME/certvault/certvault.conf or "
	  "~/.config/certvault/certvault.conf; --system: "
	  "/etc/certvault/certvault.conf, as root).  A deleted certificate "
	  "stays recoverable for --retention-days (7 to 90, default 90); "
	  "--enable-purge-protection refuses any purge before that.", vault_create },
	{ "show", "vault show", "[--json]",
	  "Show the vault's name, serial, folder, creation time, PIN state, "
	  "retention days, purge protection and recovery level.",
	  vault_show },
	{ "update", "vault update", "--enable-purge-protection [true]",
	  "Turn purge protection on; nothing turns it off.", vault_update },
	{ "backup", "vault backup", "--file F [--overwrite]",
	  "Copy the whole vault into the new file F (mode 0600) while "
	  "applications and the tool go on using it: one consistent, compacted "
	  "state.  F is a data.mdb: to restore, make a folder of your own "
	  "(mkdir -m 700 DIR), copy F into it as DIR/data.mdb (cp F "
	  "DIR/data.mdb) and use DIR as the vault; it opens with the same "
	  "PINs.", vault_backup },
	{ "verify", "vault verify", "[--no-login] [--json]",
	  "Read every record back: each decodes, each link holds (a version's "
	  "certificate, key and secret, a certificate's current version, an "
	  "operation's certificate, the lifetime index, ops_active) and, after a "
	  "login, each sealed key, secret and password opens.  Prints the counts; "
	  "each damage is one line \"damaged: TABLE/KEY: what\" and exit 1.  "
	  "--no-login skips the sealed records.", vault_verify },
	{ "set-pin", "vault set-pin",
	  "[--so] [--pin-file OLD] [--so-pin-file OLD] [--new-pin-file NEW]",
	  "Change the user PIN (or the SO PIN with --so); new PIN also from "
	  "CERTVAULT_NEW_PIN.", vault_set_pin },
	{ "init-pin", "vault init-pin", "[--so-pin-file F] [--new-pin-file NEW]",
	  "As the SO, set a new user PIN and unlock it.", vault_init_pin },
	{ "set-mail", "vault set-mail",
	  "--host H --port P [--starttls | --tls] [--user U --password-file F] "
	  "--from ADDR",
	  "Set the SMTP relay the contacts are mailed through (without TLS only "
	  "to 127.0.0.1 or [::1]; the password is sealed).", cli_vault_set_mail },
	{ "show-mail", "vault show-mail", "[--json]",
	  "Show the mail relay (never its password).", cli_vault_show_mail },
	{ "clear-mail", "vault clear-mail", "", "Forget the mail relay.",
	  cli_vault_clear_mail },
	{ "set-hook", "vault set-hook", "--command CMD",
	  "Run CMD (no shell) on each new event, the event's JSON on its "
	  "standard input.", cli_vault_set_hook },
	{ "clear-hook", "vault clear-hook", "", "Stop running the hook.",
	  cli_vault_clear_hook },
};

const struct cli_group cli_group_vault = {
	.name = "vault",
	.path = "vault",
	.summary = "The vault itself: create, show, PINs, backup, verify.",
	.commands = vault_commands,
	.n_commands = sizeof(vault_commands) / sizeof(vault_commands[0]),
};
