/* certvault: the one place where a failure becomes a message and an exit
 * status (0 done, 1 refused, 2 a usage error, 3 not in the vault, as az
 * exits).  Every message is one line on stderr starting `certvault: `; a
 * line break inside a store detail or a file name is printed as a space so
 * that scripts can rely on the one line. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
put_text(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		fputc(c < 0x20 || c == 0x7f ? ' ' : c, stderr);
	}
}

static void
put_vtext(const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	put_text(line);
}

/* The exit status of a store error, as az exits: 3 for what is not in the
 * vault (a certificate, version, issuer, contact or pending operation),
 * 1 for every other refusal.  The one place a cv_err becomes a status. */
static int
exit_status(cv_err err)
{
	switch (err) {
	case CV_ERR_NOT_FOUND:
	case CV_ERR_NO_OPERATION:
		return CLI_EXIT_NOT_FOUND;
	case CV_ERR_BUSY:       /* another pass works on the operation */
	case CV_ERR_CLAIM_LOST: /* the pass's claim was taken */
	case CV_ERR_NO_PASSWORD:
		return CLI_EXIT_FAIL;
	default:
		return CLI_EXIT_FAIL;
	}
}

int
cli_fail_store(cv_err err)
{
	const char *detail = cv_err_detail();

	fputs("certvault: ", stderr);
	put_text(detail != NULL && detail[0] != '\0' ? detail : cv_strerror(err));
	fputc('\n', stderr);
	return exit_status(err);
}

int
cli_fail_cert(cv_vault *v, cv_err err, const char *name, const char *version,
	      enum cli_lookup what)
{
	const char *noun = what == CLI_LOOKUP_SECRET ? "secret" : "certificate";
	const char *detail = cv_err_detail();
	cv_cert_version *cv = NULL;
	char saved[512];
	cv_err probe;

	if (err != CV_ERR_NOT_FOUND)
		return cli_fail_store(err);
	/* A call that touches more than the certificate (an issuer a policy
	 * names, a key) may miss something else: ask for the certificate
	 * itself, and keep the first detail for when it is there. */
	snprintf(saved, sizeof(saved), "%s", detail != NULL ? detail : "");
	probe = cv_cert_get(v, name, version, &cv);
	cv_cert_version_free(cv);
	if (probe != CV_ERR_NOT_FOUND) {
		fputs("certvault: ", stderr);
		put_text(saved[0] != '\0' ? saved : cv_strerror(err));
		fputc('\n', stderr);
		return exit_status(err);
	}
	/* Key Vault's words; a version is named as NAME/VERSION. */
	fprintf(stderr, "certvault: A %s with (name/id) ", noun);
	put_text(name);
	if (version != NULL) {
		fputc('/', stderr);
		put_text(version);
	}
	fprintf(stderr, " was not found in this key vault. If you recently "
		"deleted this %s you may be able to recover it using the "
		"correct recovery command.\n", noun);
	return exit_status(err);
}

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("certvault: ", stderr);
	va_start(ap, fmt);
	put_vtext(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int
cli_fail_missing(const char *fmt, ...)
{
	va_list ap;

	fputs("certvault: ", stderr);
	va_start(ap, fmt);
	put_vtext(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_NOT_FOUND;
}

int
cli_usage(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("certvault: ", stderr);
	va_start(ap, fmt);
	put_vtext(fmt, ap);
	va_end(ap);
	if (cmd != NULL) {
		fputs(" (usage: certvault ", stderr);
		put_text(cmd->path);
		if (cmd->args[0] != '\0') {
			fputc(' ', stderr);
			put_text(cmd->args);
		}
		fputc(')', stderr);
	} else {
		fputs(" (see certvault --help)", stderr);
	}
	fputc('\n', stderr);
	return CLI_EXIT_USAGE;
}
