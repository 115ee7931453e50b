/* certvault: finding the vaults (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
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

/* --- Registering a vault (vault create) ---------------------------------- */

#define SYSTEM_CONF "/etc/certvault/certvault.conf"

cv_err
cv_config_default_path(int system, char **out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char path[4200];

	cv_err_clear();
	*out = NULL;
	if (system)
		snprintf(path, sizeof(path), "%s", SYSTEM_CONF);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/certvault/certvault.conf", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(path, sizeof(path), "%s/.config/certvault/certvault.conf", home);
	else
		return cv_err_set(CV_ERR_INVALID,
				  "neither XDG_CONFIG_HOME nor HOME names a folder, so there is "
				  "no user config file to register the vault in");
	if ((*out = strdup(path)) == NULL)
		return CV_ERR_NOMEM;
	return CV_OK;
}

/* Make the folders above path that are missing, with mode. */
static cv_err
make_parents(const char *path, mode_t mode)
{
	char buf[4200];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return cv_err_set(CV_ERR_INVALID, "config file name too long");
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return cv_err_set(CV_ERR_IO, "cannot make %s: %s", buf, strerror(errno));
		*p = '/';
	}
	return CV_OK;
}

/* Whether a missing config file at path could be made: the nearest folder
 * above it that exists must be one the caller may write. */
static cv_err
check_creatable(const char *path)
{
	char buf[4200];
	struct stat st;
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return cv_err_set(CV_ERR_INVALID, "config file name too long");
	for (;;) {
		slash = strrchr(buf, '/');
		if (slash == NULL)
			snprintf(buf, sizeof(buf), ".");
		else if (slash == buf && buf[1] == '\0')
			return CV_OK;
		else if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(buf, &st) != 0) {
			if (slash == NULL)
				return CV_OK;
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			return cv_err_set(CV_ERR_IO, "cannot make config file %s: %s is not a "
					  "folder", path, buf);
		if (access(buf, W_OK | X_OK) != 0)
			return cv_err_set(CV_ERR_IO, "cannot make config file %s: %s: %s", path,
					  buf, strerror(errno));
		return CV_OK;
	}
}

/* The file a config file may be: a regular file of the caller or root that
 * no one else may write. */
static cv_err
check_conf_file(const char *path, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return cv_err_set(CV_ERR_PERMISSIONS, "config file %s is not a regular file", path);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return cv_err_set(CV_ERR_PERMISSIONS,
				  "config file %s belongs to another user (uid %u)", path,
				  (unsigned)st->st_uid);
	if ((st->st_mode & (S_IWOTH | S_IWGRP)) != 0)
		return cv_err_set(CV_ERR_PERMISSIONS,
				  "config file %s may be written by other users (mode %04o); "
				  "run chmod go-w on it", path, (unsigned)(st->st_mode & 07777));
	return CV_OK;
}

/* Whether the config's line val names dir: the same text, or the same
 * folder (device and inode) in another spelling. */
static int
same_folder(const char *val, const char *dir, const struct stat *dir_st, int have_st)
{
	struct stat st;
	size_t n = strlen(val);

	if (strcmp(val, dir) == 0)
		return 1;
	if (n == strlen(dir) + 1 && val[n - 1] == '/' && strncmp(val, dir, n - 1) == 0)
		return 1;
	return have_st && stat(val, &st) == 0 && st.st_dev == dir_st->st_dev &&
	       st.st_ino == dir_st->st_ino;
}

cv_err
cv_config_add_vault(const char *path, const char *dir, int check_only, int *added)
{
	int system = strcmp(path, SYSTEM_CONF) == 0;
	mode_t fmode = system ? 0644 : 0600, dmode = system ? 0755 : 0700;
	cv_config *c = NULL;
	struct stat st, dir_st;
	FILE *f = NULL;
	int fd = -1, fd2 = -1, have_st, lf = 0;
	size_t i;
	char last;
	cv_err err = CV_ERR_IO;

	cv_err_clear();
	*added = 0;
	if (dir[0] != '/')
		return cv_err_set(CV_ERR_INVALID, "%s: a config file names a vault by an absolute "
				  "path", dir);
	if (strpbrk(dir, "#\n\r") != NULL || isspace((unsigned char)dir[strlen(dir) - 1]))
		return cv_err_set(CV_ERR_INVALID,
				  "'%s' cannot be written in a config file ('#', a line break or a "
				  "trailing space); use --no-register and name the vault with --vault",
				  dir);
	if (check_only) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			return check_creatable(path);
		if (fd >= 0 && access(path, W_OK) != 0) {
			err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
			goto done;
		}
	} else {
		if ((err = make_parents(path, dmode)) != CV_OK)
			return err;
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, fmode);
	}
	if (fd < 0) {
		if (errno == ELOOP)
			return cv_err_set(CV_ERR_PERMISSIONS, "config file %s is a symbolic link; "
					  "register the vault in the file it names by hand", path);
		return cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
	}
	/* One writer at a time, so two creates never both miss the other's
	 * line. */
	if (!check_only && flock(fd, LOCK_EX) != 0) {
		err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) != 0) {
		err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
		goto done;
	}
	if ((err = check_conf_file(path, &st)) != CV_OK)
		goto done;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if ((fd2 = dup(fd)) < 0 || (f = fdopen(fd2, "r")) == NULL) {
		err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
		if (fd2 >= 0)
			close(fd2);
		goto done;
	}
	if ((err = parse_file(f, c)) != CV_OK)
		goto done;
	if (check_only)
		goto done;
	have_st = stat(dir, &dir_st) == 0;
	for (i = 0; i < c->n_vaults; i++)
		if (same_folder(c->vaults[i], dir, &dir_st, have_st))
			goto done;
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		lf = 1;
	if (dprintf(fd, "%svault = %s\n", lf ? "\n" : "", dir) < 0 || fsync(fd) != 0) {
		err = cv_err_set(CV_ERR_IO, "config file %s: %s", path, strerror(errno));
		goto done;
	}
	*added = 1;
done:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	cv_config_free(c);
	return err;
}
