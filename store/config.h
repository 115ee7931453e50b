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

#endif
