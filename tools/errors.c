/* certvault: the one place where a failure becomes a message and an exit
 * status.  Every message is one line on stderr starting `certvault: `; a
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

int
cli_fail_store(cv_err err)
{
	const char *detail = cv_err_detail();

	fputs("certvault: ", stderr);
	put_text(detail != NULL && detail[0] != '\0' ? detail : cv_strerror(err));
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
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
