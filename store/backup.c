/* certvault: a consistent copy of the whole vault (vault backup). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

cv_err
cv_vault_backup(cv_vault *v, int fd)
{
	struct stat st;
	int rc;

	cv_err_clear();
	if (v == NULL || fd < 0)
		return cv_err_set(CV_ERR_INVALID, "no vault or no file to copy into");
	if (fstat(fd, &st) != 0)
		return cv_err_set(CV_ERR_IO, "the backup file: %s", strerror(errno));
	/* The copy is a data.mdb of its own: only a regular file holds one
	 * that can be opened again. */
	if (!S_ISREG(st.st_mode))
		return cv_err_set(CV_ERR_INVALID,
				  "a vault backup is written to a regular file only");
	/* MDB_CP_COMPACT copies inside one read transaction, so it is one
	 * committed state of the vault while writers go on, with free pages
	 * left out; the reader slot it takes holds no writer back. */
	rc = mdb_env_copyfd2(v->env, fd, MDB_CP_COMPACT);
	if (rc != 0)
		return cv_mdb_err(rc, "copy the vault");
	if (fsync(fd) != 0)
		return cv_err_set(CV_ERR_IO, "the backup file: %s", strerror(errno));
	return CV_OK;
}
