/* certvault events ... and vault set-mail/show-mail/clear-mail/set-hook/
 * clear-hook: what lifetime actions left in the vault, and how they reach
 * people and programs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run/life.h"
#include "run/pass.h"

enum {
	OPT_HOST = 1,
	OPT_PORT,
	OPT_STARTTLS,
	OPT_TLS,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_FROM,
	OPT_COMMAND,
	OPT_SINCE,
};

/* Commands that take no option of their own. */
static int
no_options(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	   char **argv)
{
	struct cli_opts o;

	cli_opts_init(&o, ctx, cmd, argc, argv, NULL);
	if (cli_opts_next(&o) != CLI_OPT_END)
		return o.rc;
	return CLI_EXIT_OK;
}

int
cli_vault_set_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
		   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, OPT_HOST },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "starttls", no_argument, NULL, OPT_STARTTLS },
		{ "tls", no_argument, NULL, OPT_TLS },
		{ "user", required_argument, NULL, OPT_USER },
		{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	cv_mail_settings s;
	const char *port_arg = NULL, *pw_file = NULL;
	char *pw = NULL, *end;
	size_t pw_len = 0;
	cv_vault *v = NULL;
	long port;
	int c, starttls = 0, tls = 0, rc = CLI_EXIT_FAIL;
	cv_err err;

	memset(&s, 0, sizeof(s));
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		switch (c) {
		case OPT_HOST: s.host = (char *)o.arg; break;
		case OPT_PORT: port_arg = o.arg; break;
		case OPT_STARTTLS: starttls = 1; break;
		case OPT_TLS: tls = 1; break;
		case OPT_USER: s.user = (char *)o.arg; break;
		case OPT_PASSWORD_FILE: pw_file = o.arg; break;
		case OPT_FROM: s.from = (char *)o.arg; break;
		default:
			rc = o.rc;
			goto done;
		}
	}
	if (s.host == NULL || port_arg == NULL || s.from == NULL) {
		rc = cli_usage(cmd, "--host, --port and --from are required");
		goto done;
	}
	if (starttls && tls) {
		rc = cli_usage(cmd, "give --starttls or --tls, not both");
		goto done;
	}
	if ((s.user == NULL) != (pw_file == NULL)) {
		rc = cli_usage(cmd, "--user and --password-file go together");
		goto done;
	}
	errno = 0;
	port = strtol(port_arg, &end, 10);
	if (errno != 0 || end == port_arg || *end != '\0' || port < 1 || port > 65535) {
		rc = cli_usage(cmd, "--port is 1 to 65535, not '%s'", port_arg);
		goto done;
	}
	s.port = (unsigned)port;
	s.security = tls ? CV_MAIL_TLS : starttls ? CV_MAIL_STARTTLS : CV_MAIL_PLAIN;
	if (pw_file != NULL) {
		if ((rc = cli_first_line(pw_file, &pw, &pw_len)) != CLI_EXIT_OK)
			goto done;
		s.password = pw;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_mail_settings_set(v, &s)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("mail relay set: %s:%u (%s), from %s\n", s.host, s.port,
		       tls ? "TLS" : starttls ? "STARTTLS" : "no TLS", s.from);
	rc = CLI_EXIT_OK;
done:
	if (pw != NULL)
		cli_buf_free(pw, pw_len);
	cv_vault_close(v);
	return rc;
}

int
cli_vault_show_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
		    int argc, char **argv)
{
	cv_mail_settings *s = NULL;
	cv_vault *v = NULL;
	json_t *j;
	int rc;
	cv_err err;

	if ((rc = no_options(ctx, cmd, argc, argv)) != CLI_EXIT_OK)
		return rc;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((err = cv_mail_settings_get(v, 0, &s)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	j = json_pack("{s:s, s:i, s:s, s:s?, s:b, s:s}", "host", s->host,
		      "port", (int)s->port, "security",
		      s->security == CV_MAIL_TLS ? "tls" :
		      s->security == CV_MAIL_STARTTLS ? "starttls" : "none",
		      "user", s->user, "password", s->has_password, "from", s->from);
	rc = cli_print(ctx, j);
done:
	cv_mail_settings_free(s);
	cv_vault_close(v);
	return rc;
}

static int
clear_setting(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	      char **argv, int mail)
{
	cv_vault *v = NULL;
	int rc;
	cv_err err;

	if ((rc = no_options(ctx, cmd, argc, argv)) != CLI_EXIT_OK)
		return rc;
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	err = mail ? cv_mail_settings_clear(v) : cv_hook_set(v, NULL);
	if (err != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("%s cleared\n", mail ? "mail relay" : "hook");
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

int
cli_vault_clear_mail(struct cli_ctx *ctx, const struct cli_command *cmd,
		     int argc, char **argv)
{
	return clear_setting(ctx, cmd, argc, argv, 1);
}

int
cli_vault_clear_hook(struct cli_ctx *ctx, const struct cli_command *cmd,
		     int argc, char **argv)
{
	return clear_setting(ctx, cmd, argc, argv, 0);
}

int
cli_vault_set_hook(struct cli_ctx *ctx, const struct cli_command *cmd,
		   int argc, char **argv)
{
	static const struct option opts[] = {
		{ "command", required_argument, NULL, OPT_COMMAND },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *command = NULL;
	cv_vault *v = NULL;
	int c, rc = CLI_EXIT_FAIL;
	cv_err err;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_COMMAND) {
			rc = o.rc;
			goto done;
		}
		command = o.arg;
	}
	if (command == NULL) {
		rc = cli_usage(cmd, "--command is required");
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	/* A new hook hears of what happens from now on, not of the past. */
	if ((err = cv_hook_set(v, command)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json)
		printf("hook set: %s\n", command);
	rc = CLI_EXIT_OK;
done:
	cv_vault_close(v);
	return rc;
}

static int
events_list(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, OPT_SINCE },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	const char *since_arg = NULL;
	int64_t since = 0;
	cv_event *ev = NULL;
	size_t n = 0, i;
	cv_vault *v = NULL;
	json_t *arr = NULL, *one;
	json_error_t jerr;
	char *text = NULL, when[32];
	int c, rc = CLI_EXIT_FAIL;
	cv_err err;

	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_SINCE) {
			rc = o.rc;
			goto done;
		}
		since_arg = o.arg;
	}
	if (since_arg != NULL && run_time_parse(since_arg, &since) != 0) {
		rc = cli_usage(cmd, "--since is an RFC 3339 time (2027-01-02T03:04:05Z) "
			       "or @SECONDS, not '%s'", since_arg);
		goto done;
	}
	rc = cli_vault_open(ctx, &v);
	if (rc != CLI_EXIT_OK)
		goto done;
	if ((err = cv_event_list(v, since, 0, &ev, &n)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if (!ctx->json) {
		for (i = 0; i < n; i++) {
			run_time_text(ev[i].time, when, sizeof(when));
			printf("%llu %s %s %s %s%s%s\n", (unsigned long long)ev[i].seq, when,
			       ev[i].type, ev[i].name, ev[i].version,
			       ev[i].message ? " " : "", ev[i].message ? ev[i].message : "");
		}
		rc = CLI_EXIT_OK;
		goto done;
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		one = NULL;
		if (cv_event_json(&ev[i], ctx->vault_name, &text) == CV_OK)
			one = json_loads(text, 0, &jerr);
		free(text);
		text = NULL;
		if (one == NULL || json_array_append_new(arr, one) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr == NULL) {
		rc = cli_fail_store(CV_ERR_NOMEM);
		goto done;
	}
	rc = cli_print_json(arr);
	arr = NULL;
done:
	free(text);
	json_decref(arr);
	cv_event_list_free(ev, n);
	cv_vault_close(v);
	return rc;
}

static const struct cli_command events_commands[] = {
	{ "list", "events list", "[--json] [--since TIME]",
	  "List the vault's events (Event Grid's names: "
	  "Microsoft.KeyVault.CertificateNewVersionCreated, CertificateNearExpiry, "
	  "CertificateExpired; certvault's Certvault.CertificateRenewalFailed and "
	  "Certvault.NotificationFailed), oldest first; --since TIME (RFC 3339 or "
	  "@SECONDS) from then on.", events_list },
};

const struct cli_group cli_group_events = {
	.name = "events",
	.path = "events",
	.summary = "What lifetime actions did: renewals, notices, failures.",
	.commands = events_commands,
	.n_commands = sizeof(events_commands) / sizeof(events_commands[0]),
};
