/* certvault: reading what the user hands in: files, policies, tags and
 * passwords.  File contents may be keys or passwords, so every buffer is
 * wiped before it is freed, and a growing buffer is copied and wiped rather
 * than realloc'd (realloc would leave the old copy behind). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

void
cli_buf_free(void *buf, size_t len)
{
	if (buf != NULL)
		OPENSSL_clear_free(buf, len + 1);
}

void
cli_secret_free(char *s)
{
	if (s != NULL)
		OPENSSL_clear_free(s, strlen(s) + 1);
}

/* Grow *buf (holding used bytes, capacity *cap) to at least want+1. */
static int
grow(unsigned char **buf, size_t *cap, size_t used, size_t want)
{
	unsigned char *nb;
	size_t ncap = *cap;

	while (ncap < want + 1)
		ncap = ncap < 4096 ? 4096 : ncap * 2;
	nb = malloc(ncap);
	if (nb == NULL)
		return -1;
	if (*buf != NULL) {
		memcpy(nb, *buf, used);
		OPENSSL_clear_free(*buf, *cap);
	}
	*buf = nb;
	*cap = ncap;
	return 0;
}

/* Whether standard input was read already: "-" names it once per run. */
static int stdin_taken;

int
cli_file_read(const char *path, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL, *exact = NULL;
	size_t cap = 0, used = 0;
	struct stat st;
	int fd = -1, rc = CLI_EXIT_FAIL;

	*out = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0) {
		/* A second "-" would read the rest of a stream the first one
		 * already drained, and take an empty password for a real
		 * one. */
		if (stdin_taken) {
			rc = cli_fail("standard input (-) was already read for "
				      "another option; name a file for one of "
				      "them");
			goto done;
		}
		stdin_taken = 1;
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = cli_fail("cannot read %s: %s", path, strerror(errno));
			goto done;
		}
	}
	if (fstat(fd, &st) != 0) {
		rc = cli_fail("cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = cli_fail("cannot read %s: it is a folder", path);
		goto done;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > CLI_FILE_MAX) {
		rc = cli_fail("%s is larger than 16 MiB", path);
		goto done;
	}
	if (grow(&buf, &cap, 0, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0) != 0) {
		rc = cli_fail("out of memory reading %s", path);
		goto done;
	}
	for (;;) {
		size_t room;
		ssize_t n;

		if (used == CLI_FILE_MAX) {
			/* One byte past the cap tells a file at the cap from
			 * a larger one. */
			unsigned char probe;

			n = read(fd, &probe, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n > 0) {
				rc = cli_fail("%s is larger than 16 MiB", path);
				goto done;
			}
			if (n < 0) {
				rc = cli_fail("cannot read %s: %s", path,
					      strerror(errno));
				goto done;
			}
			break;
		}
		if (used + 1 >= cap && grow(&buf, &cap, used, used + 1) != 0) {
			rc = cli_fail("out of memory reading %s", path);
			goto done;
		}
		room = cap - 1 - used;
		if (room > CLI_FILE_MAX - used)
			room = CLI_FILE_MAX - used;
		n = read(fd, buf + used, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cli_fail("cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	/* Hand out a buffer of exactly used + 1 bytes, so that the caller's
	 * wipe of len + 1 covers all of it. */
	exact = malloc(used + 1);
	if (exact == NULL) {
		rc = cli_fail("out of memory reading %s", path);
		goto done;
	}
	memcpy(exact, buf, used);
	exact[used] = '\0';
	*out = exact;
	*len = used;
	rc = CLI_EXIT_OK;
done:
	if (buf != NULL)
		OPENSSL_clear_free(buf, cap);
	if (fd >= 0 && fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int
cli_first_line(const char *path, char **out, size_t *len)
{
	unsigned char *buf = NULL;
	size_t n = 0, line = 0;
	char *copy = NULL;
	int rc;

	*out = NULL;
	*len = 0;
	rc = cli_file_read(path, &buf, &n);
	if (rc != CLI_EXIT_OK)
		goto done;
	while (line < n && buf[line] != '\n')
		line++;
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	copy = malloc(line + 1);
	if (copy == NULL) {
		rc = cli_fail("out of memory reading %s", path);
		goto done;
	}
	memcpy(copy, buf, line);
	copy[line] = '\0';
	*out = copy;
	*len = line;
	rc = CLI_EXIT_OK;
done:
	cli_buf_free(buf, n);
	return rc;
}

static int
json_arg(const char *arg, unsigned char **out, size_t *len)
{
	size_t n;

	*out = NULL;
	*len = 0;
	if (arg[0] == '@')
		return cli_file_read(arg + 1, out, len);
	n = strlen(arg);
	*out = malloc(n + 1);
	if (*out == NULL)
		return cli_fail("out of memory");
	memcpy(*out, arg, n + 1);
	*len = n;
	return CLI_EXIT_OK;
}

/* A policy argument read and handed to one of the store's parsers. */
static int
policy_arg(const char *arg,
	   cv_err (*parse)(const char *, size_t, cv_policy **),
	   cv_policy **out)
{
	unsigned char *doc = NULL;
	size_t len = 0;
	cv_err err;
	int rc;

	*out = NULL;
	rc = json_arg(arg, &doc, &len);
	if (rc != CLI_EXIT_OK)
		goto done;
	err = parse((const char *)doc, len, out);
	if (err != CV_OK)
		rc = cli_fail_store(err);
done:
	cli_buf_free(doc, len);
	return rc;
}

int
cli_policy_arg(const char *arg, cv_policy **out)
{
	return policy_arg(arg, cv_policy_parse, out);
}

int
cli_import_policy_arg(const char *arg, cv_policy **out)
{
	return policy_arg(arg, cv_policy_parse_import, out);
}

int
cli_policy_patch_arg(const char *arg, unsigned char **out, size_t *len)
{
	return json_arg(arg, out, len);
}

void
cli_tags_free(cv_tags *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->names[i]);
		free(t->values[i]);
	}
	free(t->names);
	free(t->values);
	memset(t, 0, sizeof(*t));
}

int
cli_tags_add(cv_tags *t, const char *kv)
{
	const char *eq;
	char *name = NULL, *value = NULL, **names = NULL, **values = NULL;
	size_t nlen, i;
	int rc = CLI_EXIT_FAIL;

	if (kv[0] == '\0')
		return CLI_EXIT_OK;
	eq = strchr(kv, '=');
	nlen = eq != NULL ? (size_t)(eq - kv) : strlen(kv);
	if (nlen == 0) {
		rc = cli_fail("tag '%s' has no name: write --tags name=value", kv);
		goto done;
	}
	name = strndup(kv, nlen);
	value = strdup(eq != NULL ? eq + 1 : "");
	if (name == NULL || value == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->names[i], name) == 0) {
			free(t->values[i]);
			t->values[i] = value;
			value = NULL;
			rc = CLI_EXIT_OK;
			goto done;
		}
	}
	names = realloc(t->names, (t->n + 1) * sizeof(*names));
	if (names == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	t->names = names;
	values = realloc(t->values, (t->n + 1) * sizeof(*values));
	if (values == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	t->values = values;
	t->names[t->n] = name;
	t->values[t->n] = value;
	t->n++;
	name = NULL;
	value = NULL;
	rc = CLI_EXIT_OK;
done:
	free(name);
	free(value);
	return rc;
}

int
cli_tags_opt(struct cli_opts *o, cv_tags *t)
{
	const char *more;
	int rc;

	rc = cli_tags_add(t, o->arg);
	while (rc == CLI_EXIT_OK && (more = cli_opts_more(o)) != NULL)
		rc = cli_tags_add(t, more);
	return rc;
}

int
cli_password_arg(const struct cli_command *cmd, const char *password,
		 const char *password_file, char **out)
{
	size_t len = 0;

	*out = NULL;
	if (password != NULL && password_file != NULL)
		return cli_usage(cmd, "give --password or --password-file, not both");
	if (password_file != NULL)
		return cli_first_line(password_file, out, &len);
	if (password != NULL) {
		*out = strdup(password);
		if (*out == NULL)
			return cli_fail("out of memory");
	}
	return CLI_EXIT_OK;
}
