/* certvault: the command-line face, shared between its files.
 *
 * main.c parses the global options and dispatches `certvault GROUP COMMAND`
 * to a cli_command of one of the groups (cmd_*.c).  A command parses its own
 * options with cli_opts_next, calls the store, and returns the process exit
 * status: CLI_EXIT_OK, CLI_EXIT_FAIL (the store or a file said no),
 * CLI_EXIT_USAGE (the command line itself is wrong) or CLI_EXIT_NOT_FOUND
 * (a name that is not in the vault).  Every message for the
 * user goes through errors.c, every line of output through output.c.
 */
#ifndef CV_CLI_H
#define CV_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"
#include "error.h"
#include "policy.h"
#include "store.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_NOT_FOUND 3 /* az's status for a missing resource */

#define CLI_FILE_MAX (16u * 1024u * 1024u) /* the largest input file read */

/* What the global options and the vault selection decided. */
struct cli_ctx {
	const char *vault_opt;   /* --vault, or NULL */
	const char *vault_name_opt; /* --vault-name, or NULL */
	const char *config_path; /* --config, or NULL */
	int json;                /* --json */
	char *vault_dir;         /* the vault folder chosen; owned */
	char vault_name[CV_NAME_MAX + 1]; /* set by cli_vault_open */
};

struct cli_command;

typedef int (*cli_run_fn)(struct cli_ctx *ctx, const struct cli_command *cmd,
			  int argc, char **argv);

struct cli_command {
	const char *name;    /* "show" */
	const char *path;    /* "certificate pending show", for usage lines */
	const char *args;    /* "--name N [--version V]" */
	const char *summary;
	cli_run_fn run;
};

struct cli_group {
	const char *name;
	const char *path;
	const char *summary;
	const struct cli_command *commands;
	size_t n_commands;
	const struct cli_group *const *subgroups;
	size_t n_subgroups;
};

extern const struct cli_group cli_group_vault;
extern const struct cli_group cli_group_certificate;
extern const struct cli_group cli_group_policy;
extern const struct cli_group cli_group_pending;
extern const struct cli_group cli_group_secret;
extern const struct cli_group cli_group_issuer;
extern const struct cli_group cli_group_contact;
extern const struct cli_group cli_group_events;

/* The vault's mail relay and hook (cmd_life.c), commands of
 * cli_group_vault. */
int cli_vault_set_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
		       int argc, char **argv);
int cli_vault_show_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
			int argc, char **argv);
int cli_vault_clear_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
			 int argc, char **argv);
int cli_vault_set_hook(struct cli_ctx *ctx, const struct cli_command *cmd,
		       int argc, char **argv);
int cli_vault_clear_hook(struct cli_ctx *ctx, const struct cli_command *cmd,
			 int argc, char **argv);

/* `certificate uri` (cmd_uri.c), a command of cli_group_certificate. */
int cli_certificate_uri(struct cli_ctx *ctx, const struct cli_command *cmd,
			int argc, char **argv);

/* Soft delete (cmd_deleted.c), commands of cli_group_certificate. */
int cli_certificate_delete(struct cli_ctx *ctx, const struct cli_command *cmd,
			   int argc, char **argv);
int cli_certificate_list_deleted(struct cli_ctx *ctx, const struct cli_command *cmd,
				 int argc, char **argv);
int cli_certificate_show_deleted(struct cli_ctx *ctx, const struct cli_command *cmd,
				 int argc, char **argv);
int cli_certificate_recover(struct cli_ctx *ctx, const struct cli_command *cmd,
			    int argc, char **argv);
int cli_certificate_purge(struct cli_ctx *ctx, const struct cli_command *cmd,
			  int argc, char **argv);
/* A pass's purge of the deleted certificates past their date as at now
 * (0: the present), a line on out when it purged any; 1 on a failure
 * (reported), else 0. */
int cli_run_purge(cv_vault *v, int64_t now, FILE *out);

/* `certvault run` (cmd_run.c): a command of its own, not of a group. */
int cli_run(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv);

/* --wait of `certificate create` and `certificate pending show` (wait.c):
 * advance the operation of name (already logged in) until it ends or
 * timeout seconds pass, a progress line on stderr when it is a terminal;
 * then print it as `pending show` does.  Returns 0 completed, 1 failed or
 * cancelled (with the error line), or 1 still in progress (a line says
 * so). */
int cli_operation_wait(struct cli_ctx *ctx, cv_vault *v, const char *name,
		       long timeout);

/* --timeout S of a --wait: seconds, 1 to CLI_WAIT_MAX.  Returns an exit
 * status (a usage line on a bad value). */
#define CLI_WAIT_DEFAULT 300
#define CLI_WAIT_MAX 86400
int cli_wait_timeout_arg(const struct cli_command *cmd, const char *arg,
			 long *out);

/* --- Option parsing (main.c) -------------------------------------------- */

#define CLI_OPT_END (-1)
#define CLI_OPT_STOP 0x7ff0 /* stop parsing; exit with o->rc */
#define CLI_OPTS_MAX 40
#define CLI_SHORT_MAX 8

/* A command's run function returns this after --help printed its usage,
 * so that nothing after the parse runs; dispatch turns it into exit 0.
 * No exit status is 256, so it is never mistaken for one. */
#define CLI_EXIT_HELP 256

/* One command's option parser: the command's long options plus the common
 * ones (--vault, --vault-name, --config, --pin-file, --json, --help), which
 * it handles itself, and az's short options (-n for --name ...) where the
 * command has the long one. */
struct cli_opts {
	struct cli_ctx *ctx;
	const struct cli_command *cmd;
	int argc;
	char **argv;
	struct option all[CLI_OPTS_MAX];
	char shortopts[3 + 2 * CLI_SHORT_MAX];
	char short_c[CLI_SHORT_MAX];
	const char *short_name[CLI_SHORT_MAX];
	int short_val[CLI_SHORT_MAX];
	size_t n_short;
	const char *arg; /* the argument of the option just returned */
	int rc;          /* exit status when CLI_OPT_STOP is returned */
};

void cli_opts_init(struct cli_opts *o, struct cli_ctx *ctx,
		   const struct cli_command *cmd, int argc, char **argv,
		   const struct option *cmd_opts);

/* The next command option's val (a short option gives its long one's);
 * CLI_OPT_END after the last; CLI_OPT_STOP after --help (rc CLI_EXIT_HELP)
 * or a usage error already reported (rc 2). */
int cli_opts_next(struct cli_opts *o);

/* The next argument when it is not an option (for `--tags a=1 b=2`), or
 * NULL. */
const char *cli_opts_more(struct cli_opts *o);

/* Choose the vault folder (--vault; --vault-name, a vault of the config
 * by its name, or a folder when it holds a '/'; CERTVAULT_VAULT; the first
 * vault of the config) and open it; fills ctx->vault_dir and ctx->vault_name.  Returns an
 * exit status, having reported any failure. */
int cli_vault_open(struct cli_ctx *ctx, cv_vault **out);

/* Only choose the folder (vault create).  Returns an exit status. */
int cli_vault_choose(struct cli_ctx *ctx);

/* "true"/"false" (also yes/no, 1/0): 1, 0, or -1 when neither. */
int cli_parse_bool(const char *s);

/* --- Messages (errors.c) ------------------------------------------------ */

/* `certvault: <detail or cv_strerror(err)>`; returns the exit status of
 * err: CLI_EXIT_NOT_FOUND for CV_ERR_NOT_FOUND and CV_ERR_NO_OPERATION,
 * else CLI_EXIT_FAIL. */
int cli_fail_store(cv_err err);

enum cli_lookup {
	CLI_LOOKUP_CERTIFICATE, /* "A certificate with (name/id) ..." */
	CLI_LOOKUP_SECRET,      /* "A secret with (name/id) ..." */
};

/* A store call on certificate name (version may be NULL) failed with err.
 * When the certificate or that version is not in the vault: Key Vault's
 * "A certificate with (name/id) NAME[/VERSION] was not found in this key
 * vault. ..." and CLI_EXIT_NOT_FOUND.  Anything else as cli_fail_store. */
int cli_fail_cert(cv_vault *v, cv_err err, const char *name,
		  const char *version, enum cli_lookup what);

/* `certvault: <message>`; returns CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `certvault: <message>` for a name that is not there; returns
 * CLI_EXIT_NOT_FOUND. */
int cli_fail_missing(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* `certvault: <message> (usage: certvault <path> <args>)`; returns
 * CLI_EXIT_USAGE.  cmd may be NULL for errors before a command is known. */
int cli_usage(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --- PINs (pin.c) ------------------------------------------------------- */

typedef struct cli_pin {
	char v[CV_PIN_MAX + 2];
	size_t len;
} cli_pin;

/* A PIN from file (its first line), else the environment variable env,
 * else a prompt on /dev/tty (twice when confirm).  Returns an exit status;
 * out is wiped on failure. */
int cli_pin_get(cli_pin *out, const char *file, const char *env,
		const char *prompt, int confirm);

void cli_pin_wipe(cli_pin *p);

/* The file --pin-file named: cli_login reads the user PIN from it when
 * given no file of its own.  path must outlive the command (argv). */
void cli_pin_file_set(const char *path);

/* Log in as who with a PIN found as cli_pin_get does (env CERTVAULT_PIN for
 * the user, CERTVAULT_SO_PIN for the SO).  Returns an exit status. */
int cli_login(cv_vault *v, enum cv_user who, const char *pin_file);

/* --- Input (input.c) ---------------------------------------------------- */

/* The whole of path ("-": standard input, which one run reads once), at
 * most CLI_FILE_MAX bytes, NUL-terminated after len.  Free with
 * cli_buf_free(*out, *len).  Returns an exit status, having named the file
 * on failure. */
int cli_file_read(const char *path, unsigned char **out, size_t *len);

/* Wipe and free what cli_file_read or cli_first_line returned. */
void cli_buf_free(void *buf, size_t len);

/* The first line of path, without its line ending: *out is a NUL-terminated
 * copy, free with cli_buf_free(*out, *len). */
int cli_first_line(const char *path, char **out, size_t *len);

/* --policy: "@file" or the JSON itself, parsed by the store. */
int cli_policy_arg(const char *arg, cv_policy **out);

/* --policy of an import: as cli_policy_arg, but members left out are
 * taken from the imported certificate (cv_policy_parse_import). */
int cli_import_policy_arg(const char *arg, cv_policy **out);

/* --policy for an update: the raw JSON patch ("@file" or inline). */
int cli_policy_patch_arg(const char *arg, unsigned char **out, size_t *len);

/* Add "k=v" (or "k", an empty value) to tags; "" adds nothing.  A name
 * given twice keeps the last value. */
int cli_tags_add(cv_tags *t, const char *kv);
void cli_tags_free(cv_tags *t);

/* The values of one --tags option: o->arg and the arguments after it up to
 * the next option. */
int cli_tags_opt(struct cli_opts *o, cv_tags *t);

/* --password P or --password-file F (not both): *out is a copy or NULL.
 * Free with cli_secret_free. */
int cli_password_arg(const struct cli_command *cmd, const char *password,
		     const char *password_file, char **out);
void cli_secret_free(char *s);

/* --- Output (output.c) -------------------------------------------------- */

enum cli_form {
	CLI_FORM_JSON = 0,  /* the keys az prints */
	CLI_FORM_HUMAN = 1, /* what a person reads: aligned key: value */
};

enum cli_form cli_form_of(const struct cli_ctx *ctx);

json_t *cli_json_cert(const char *vault, const cv_cert_version *cv,
		      const cv_policy *policy, int full, enum cli_form form);
json_t *cli_json_operation(const char *vault, const cv_operation *op,
			   enum cli_form form);
json_t *cli_json_policy(const cv_policy *p, enum cv_policy_style style);
json_t *cli_json_issuer(const char *vault, const cv_issuer *is,
			enum cli_form form);
json_t *cli_json_contacts(const char *vault, const cv_contact *c, size_t n,
			  enum cli_form form);
json_t *cli_json_vault(const cv_vault_info *info, enum cli_form form);
/* A time as the other objects print it (RFC 3339 UTC). */
json_t *cli_json_time(int64_t t);

/* Print j (consumed) as JSON or as key: value lines by ctx->json.  NULL is
 * out of memory.  Returns an exit status. */
int cli_print(const struct cli_ctx *ctx, json_t *j);

/* Print j (consumed) as JSON whatever --json says (policies). */
int cli_print_json(json_t *j);

/* PEM of n DER blobs under one label ("CERTIFICATE"). */
int cli_pem_encode(const char *label, const cv_blob *blobs, size_t n,
		   unsigned char **out, size_t *len);

/* Write data to path ("-": standard output).  A new file is made with
 * mode, whatever the umask, through a temporary file and a link, so a
 * reader never sees half.  An existing path is refused unless overwrite;
 * with overwrite a regular file is replaced through a rename, a FIFO or a
 * character device is written in place (it stays what it was), and a
 * symbolic link (never followed), a folder, a block device or a socket is
 * refused.  Returns an exit status, having named the file on failure. */
int cli_file_write(const char *path, const void *data, size_t len,
		   mode_t mode, int overwrite);

/* Write a new regular file at path as cli_file_write does (mode, refusal
 * of an existing path without overwrite, a temporary file beside it, then
 * a link or rename), with fill(fd, arg) writing the content; fill prints
 * its own line and returns an exit code.  With overwrite only a regular
 * file is replaced; "-" is a file name like any other. */
int cli_file_write_with(const char *path, mode_t mode, int overwrite,
			int (*fill)(int fd, void *arg), void *arg);

/* cli_file_write for a file that must stay a regular file (a backup): as
 * cli_file_write_with, data its content. */
int cli_file_write_regular(const char *path, const void *data, size_t len,
			   mode_t mode, int overwrite);

/* certificate backup and restore (cmd_certbackup.c). */
int cli_cert_backup(struct cli_ctx *ctx, const struct cli_command *cmd,
		    int argc, char **argv);
int cli_cert_restore(struct cli_ctx *ctx, const struct cli_command *cmd,
		     int argc, char **argv);

#endif
