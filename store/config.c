/* certvault: finding the vaults (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"

#define LINE_MAX_LEN 4096

void
cv_config_free(cv_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_vaults; i++)
		free(c->vaults[i]);
	free(c->vaults);
	free(c->path);
	free(c);
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static cv_err
add_vault(cv_config *c, const char *dir)
{
	char **nv;

	if (c->n_vaults >= 64)
		return cv_err_set(CV_ERR_INVALID, "%s: at most 64 vaults", c->path);
	if ((nv = realloc(c->vaults, (c->n_vaults + 1) * sizeof(*nv))) == NULL)
		return CV_ERR_NOMEM;
	c->vaults = nv;
	if ((c->vaults[c->n_vaults] = strdup(dir)) == NULL)
		return CV_ERR_NOMEM;
	c->n_vaults++;
	return CV_OK;
}

static cv_err
parse_file(FILE *f, cv_config *c)
{
	char line[LINE_MAX_LEN + 2];
	unsigned lineno = 0;
	cv_err err;

	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val, *hash;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f))
			return cv_err_set(CV_ERR_INVALID, "%s:%u: line longer than %d bytes",
					  c->path, lineno, LINE_MAX_LEN);
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		s = trim(line);
		if (*s == '\0')
			continue;
		if ((eq = strchr(s, '=')) == NULL)
			return cv_err_set(CV_ERR_INVALID, "%s:%u: expected 'key = value'",
					  c->path, lineno);
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (strcmp(key, "vault") != 0)
			return cv_err_set(CV_ERR_INVALID, "%s:%u: unknown key '%s' (known: vault)",
					  c->path, lineno, key);
		if (*val == '\0')
			return cv_err_set(CV_ERR_INVALID, "%s:%u: 'vault' needs a folder",
					  c->path, lineno);
		if ((err = add_vault(c, val)) != CV_OK)
			return err;
	}
	if (ferror(f))
		return cv_err_set(CV_ERR_IO, "%s: read error", c->path);
	return CV_OK;
}

/* Try one path.  *found is set when the file exists (and was read). */
static cv_err
try_file(const char *path, int must_exist, cv_config *c, int *found)
{
	struct stat st;
	FILE *f = NULL;
	cv_err err = CV_OK;
	int fd;

	*found = 0;
	/* The vault files' rule (files.c): no link, the caller's or root's,
	 * in a folder others may not write unless sticky. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		int e = errno;

		if (e == ENOENT && !must_exist)
			return CV_OK;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return cv_err_set(CV_ERR_PERMISSIONS,
					  "config file %s is a symbolic link; it may not be", path);
		return cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(e));
	}
	*found = 1;
	if (fstat(fd, &st) != 0) {
		err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode))
		err = cv_err_set(CV_ERR_INVALID, "config file %s is not a regular file", path);
	else if ((st.st_mode & (S_IWOTH | S_IWGRP)) != 0)
		err = cv_err_set(CV_ERR_PERMISSIONS,
				 "config file %s may be written by other users (mode %04o); "
				 "run chmod go-w on it", path, (unsigned)(st.st_mode & 07777));
	else if ((err = cv_owner_check(path, &st, 0)) == CV_OK)
		err = cv_parent_check(path);
	if (err != CV_OK || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return err != CV_OK ? err : CV_ERR_NOMEM;
	}
	if ((c->path = strdup(path)) == NULL) {
		fclose(f);
		return CV_ERR_NOMEM;
	}
	err = parse_file(f, c);
	fclose(f);
	return err;
}

cv_err
cv_config_load(const char *explicit_path, cv_config **out)
{
	cv_config *c = NULL;
	const char *env, *xdg, *home;
	char path[4200];
	int found = 0;
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return CV_ERR_NOMEM;
	if (explicit_path != NULL && explicit_path[0] != '\0') {
		err = try_file(explicit_path, 1, c, &found);
		goto done;
	}
	if ((env = getenv("CERTVAULT_CONF")) != NULL && env[0] != '\0') {
		err = try_file(env, 1, c, &found);
		goto done;
	}
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	path[0] = '\0';
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/certvault/certvault.conf", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.config/certvault/certvault.conf", home);
	if (path[0] != '\0' && ((err = try_file(path, 0, c, &found)) != CV_OK || found))
		goto done;
	if ((err = try_file("/etc/certvault/certvault.conf", 0, c, &found)) != CV_OK || found)
		goto done;
	if ((env = getenv("CERTVAULT_VAULT")) != NULL && env[0] != '\0')
		err = add_vault(c, env);
done:
	if (err != CV_OK) {
		cv_config_free(c);
		return err;
	}
	*out = c;
	return CV_OK;
}
