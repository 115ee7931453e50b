/* certvault: where the vaults are.
 *
 * The config file is lines of `key = value`; `#` starts a comment; blank
 * lines are skipped.  `vault = DIR` names a vault, once per vault, in slot
 * order.  It is searched for, first found wins:
 *   1. the path given by the caller (C_Initialize's pReserved, --config),
 *   2. $CERTVAULT_CONF,
 *   3. $XDG_CONFIG_HOME/certvault/certvault.conf
 *      (or ~/.config/certvault/certvault.conf),
 *   4. /etc/certvault/certvault.conf.
 * With no file found, $CERTVAULT_VAULT names a single vault.  A config file
 * is refused when it is a symbolic link, belongs to anyone but the caller
 * or root, may be written by its group or others, or lies in a folder
 * others may write that is not sticky.
 */
#ifndef CV_CONFIG_H
#define CV_CONFIG_H

#include <stddef.h>

#include "error.h"

typedef struct cv_config {
	char *path;     /* the file read, or NULL when none was */
	char **vaults;  /* directories, in order */
	size_t n_vaults;
} cv_config;

/* Find and read the config.  explicit_path may be NULL.  A named file
 * (explicit_path or $CERTVAULT_CONF) that does not exist is an error; the
 * default locations are simply skipped when absent.  Finding no vault at all
 * is not an error: n_vaults is 0.
 * Errors: CV_ERR_IO (naming the file), CV_ERR_PERMISSIONS,
 * CV_ERR_INVALID (a malformed line or unknown key: detail gives file:line),
 * CV_ERR_NOMEM. */
cv_err cv_config_load(const char *explicit_path, cv_config **out);

void cv_config_free(cv_config *c);

/* The config file `vault create` registers a vault in: with system,
 * /etc/certvault/certvault.conf; else $XDG_CONFIG_HOME/certvault/
 * certvault.conf, else $HOME/.config/certvault/certvault.conf.  *out is
 * the caller's to free.  Errors: CV_ERR_INVALID (neither variable is an
 * absolute path), CV_ERR_NOMEM. */
cv_err cv_config_default_path(int system, char **out);

/* Add a `vault = dir` line to the config file at path, unless a line
 * already names that folder (the same text, with a trailing '/', or the
 * same device and inode).  dir must be absolute, without '#', line
 * breaks or a trailing space.  Missing folders above path are made 0700
 * and the file 0600 (0755 and 0644 for /etc/certvault/certvault.conf,
 * which services of other users read).  An existing file must be a
 * regular file, not a symbolic link, of the caller or root, that no one
 * else may write, and must parse.  Writers are serialized with flock.
 * With check_only, nothing is made or written: dir and an existing file
 * are only checked.  *added is 1 when a line was written.
 * Errors: CV_ERR_INVALID (dir; a malformed file, detail file:line),
 * CV_ERR_PERMISSIONS, CV_ERR_IO, CV_ERR_NOMEM. */
cv_err cv_config_add_vault(const char *path, const char *dir, int check_only,
			   int *added);

#endif
