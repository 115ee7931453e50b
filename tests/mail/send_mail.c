/* certvault mail tests: one mail through tools/net/smtp.c, as the lifetime
 * pass sends it, driven from test_mail_send.sh.
 *
 *   send_mail --host H --port P [--security plain|starttls|tls]
 *             [--user U --password-file F] [--ca-file F] [--timeout S]
 *             --from A --to A [--to A...] --subject S --body-file F
 *             [--message-id ID]
 *
 * Exit 0: sent.  Exit 5: refused for good (*permanent = 1), exit 4: may
 * succeed later (*permanent = 0); either way smtp_send's one line on
 * standard error.  Exit 2: usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "net/smtp.h"

#define TO_MAX 16

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long len;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)len + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static int
usage(const char *why)
{
	fprintf(stderr, "send_mail: %s\n", why);
	return 2;
}

int
main(int argc, char **argv)
{
	struct smtp_server srv = { .security = SMTP_PLAIN };
	struct smtp_mail mail = { 0 };
	const char *to[TO_MAX + 1] = { 0 };
	char *body = NULL, *password = NULL, err[1024] = "";
	int i, nto = 0, permanent = -1, rc;

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			return usage("an option without its value");
		i++;
		if (strcmp(opt, "--host") == 0) {
			srv.host = val;
		} else if (strcmp(opt, "--port") == 0) {
			srv.port = (unsigned)strtoul(val, NULL, 10);
		} else if (strcmp(opt, "--security") == 0) {
			if (strcmp(val, "plain") == 0)
				srv.security = SMTP_PLAIN;
			else if (strcmp(val, "starttls") == 0)
				srv.security = SMTP_STARTTLS;
			else if (strcmp(val, "tls") == 0)
				srv.security = SMTP_TLS;
			else
				return usage("--security plain|starttls|tls");
		} else if (strcmp(opt, "--user") == 0) {
			srv.user = val;
		} else if (strcmp(opt, "--password-file") == 0) {
			free(password);
			password = read_all(val);
			if (password == NULL)
				return usage("cannot read the password file");
			password[strcspn(password, "\n")] = '\0';
			srv.password = password;
		} else if (strcmp(opt, "--ca-file") == 0) {
			srv.ca_file = val;
		} else if (strcmp(opt, "--timeout") == 0) {
			srv.timeout = strtol(val, NULL, 10);
		} else if (strcmp(opt, "--from") == 0) {
			mail.from = val;
		} else if (strcmp(opt, "--to") == 0) {
			if (nto == TO_MAX)
				return usage("too many --to");
			to[nto++] = val;
		} else if (strcmp(opt, "--subject") == 0) {
			mail.subject = val;
		} else if (strcmp(opt, "--body-file") == 0) {
			free(body);
			body = read_all(val);
			if (body == NULL)
				return usage("cannot read the body file");
			mail.body = body;
		} else if (strcmp(opt, "--message-id") == 0) {
			mail.message_id = val;
		} else {
			return usage("unknown option");
		}
	}
	mail.to = to;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = smtp_send(&srv, &mail, &permanent, err, sizeof(err));
	curl_global_cleanup();
	free(body);
	free(password);
	if (rc == 0)
		return 0;
	fprintf(stderr, "%s\n", err);
	return permanent == 1 ? 5 : permanent == 0 ? 4 : 3;
}
