/* certvault: whose files the store uses, and LMDB's data file checked
 * before it is mapped.
 *
 * The rule (README, "The vault"): the vault's folder, data.mdb and lock.mdb
 * belong to the caller or to root, are no symbolic links, and others (not
 * the group) may not write them; the folder's parent may not be written by
 * others unless it is sticky.  One exception serves a service that shares
 * a vault through its group: a caller other than root who may only read
 * data.mdb accepts a folder of another owner whose group is the caller's
 * own (primary) group, and files of that owner in it.  Such a caller can
 * write nothing in the vault, so it cannot be led to seal keys under a
 * master key someone else knows.  Config files follow the same rule,
 * without the exception, and may not be written by the group either.
 *
 * LMDB opens its files by name, so the folder is opened here without
 * following links and handed to LMDB as /proc/self/fd/N: what LMDB opens
 * is inside the folder that was checked.  Its data file is then compared
 * with the data.mdb checked here.
 */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* LMDB 0.9's data file: two meta pages, each a page header then MDB_meta
 * (lmdb's mdb.c).  pgno_t and size_t are pointer-sized here. */
#define MDB_MAGIC_WORD 0xBEEFC0DEu
#define MDB_DATA_FORMAT 1u
#define PTR sizeof(void *)
#define PAGE_FLAGS_OFF (PTR + 2)         /* mp_pgno, mp_pad, mp_flags */
#define PAGE_HDR (PTR + 8)
#define P_META_FLAG 0x08
#define META_MAGIC_OFF 0
#define META_VERSION_OFF 4
#define META_PSIZE_OFF (8 + 2 * PTR)     /* mm_dbs[0].md_pad */
#define META_DB_SIZE (8 + 5 * PTR)
#define META_LAST_PG_OFF (8 + 2 * PTR + 2 * META_DB_SIZE)
#define META_TXNID_OFF (META_LAST_PG_OFF + PTR)
#define META_END (META_TXNID_OFF + PTR)

static uint64_t
read_word(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	/* The file is in the machine's own byte order, as LMDB writes it. */
	if (n == 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		v = w;
	} else {
		memcpy(&v, p, 8);
	}
	return v;
}

typedef struct meta_page {
	int valid;
	uint64_t psize, last_pg, txnid;
} meta_page;

static void
meta_read(const unsigned char *page, size_t len, meta_page *m)
{
	const unsigned char *meta = page + PAGE_HDR;

	memset(m, 0, sizeof(*m));
	if (len < PAGE_HDR + META_END)
		return;
	if ((page[PAGE_FLAGS_OFF] & P_META_FLAG) == 0 ||
	    read_word(meta + META_MAGIC_OFF, 4) != MDB_MAGIC_WORD ||
	    read_word(meta + META_VERSION_OFF, 4) != MDB_DATA_FORMAT)
		return;
	m->psize = read_word(meta + META_PSIZE_OFF, 4);
	m->last_pg = read_word(meta + META_LAST_PG_OFF, PTR);
	m->txnid = read_word(meta + META_TXNID_OFF, PTR);
	m->valid = 1;
}

cv_err
cv_lmdb_data_check(int fd, const char *path, uint64_t *psize)
{
	unsigned char buf[PAGE_HDR + META_END];
	meta_page m0, m1, *newest;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
	meta_read(buf, (size_t)n, &m0);
	if (!m0.valid)
		return cv_err_set(CV_ERR_CORRUPT,
				  "%s is damaged or not an LMDB file: its first meta page is not valid",
				  path);
	if (m0.psize < 512 || m0.psize > 65536 || (m0.psize & (m0.psize - 1)) != 0)
		return cv_err_set(CV_ERR_CORRUPT, "%s is damaged: a page size of %llu bytes",
				  path, (unsigned long long)m0.psize);
	n = pread(fd, buf, sizeof(buf), (off_t)m0.psize);
	if (n < 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
	meta_read(buf, (size_t)n, &m1);
	if (!m1.valid)
		return cv_err_set(CV_ERR_CORRUPT,
				  "%s is damaged: its second meta page is not valid (%lld bytes)",
				  path, (long long)st.st_size);
	newest = m1.txnid > m0.txnid ? &m1 : &m0;
	/* Every page up to the newest meta's last page is in the file (the
	 * two meta pages at least); a shorter file would be mapped past its
	 * end (SIGBUS on reading). */
	if (newest->last_pg < 1 || newest->last_pg >= UINT64_MAX / m0.psize ||
	    (uint64_t)st.st_size < 2 * m0.psize ||
	    (uint64_t)st.st_size < (newest->last_pg + 1) * m0.psize)
		return cv_err_set(CV_ERR_CORRUPT,
				  "%s is damaged (truncated?): it holds %lld bytes, its pages need %llu",
				  path, (long long)st.st_size,
				  (unsigned long long)((newest->last_pg + 1) * m0.psize));
	*psize = m0.psize;
	return CV_OK;
}

/* --- Owners, links and modes ---------------------------------------------- */

cv_err
cv_parent_check(const char *path)
{
	char parent[4200];
	struct stat st;
	size_t n;
	char *slash;

	n = strlen(path);
	if (n >= sizeof(parent))
		return cv_err_set(CV_ERR_INVALID, "a path of %zu bytes is too long", n);
	memcpy(parent, path, n + 1);
	while (n > 1 && parent[n - 1] == '/')
		parent[--n] = '\0';
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &st) != 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", parent, strerror(errno));
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return cv_err_set(CV_ERR_PERMISSIONS,
				  "%s is in %s, which other users may write and is not sticky "
				  "(mode %04o): they could replace it",
				  path, parent, (unsigned)(st.st_mode & 07777));
	return CV_OK;
}

cv_err
cv_owner_check(const char *path, const struct stat *st, uid_t also)
{
	uid_t me = geteuid();

	if (st->st_uid == me || st->st_uid == 0 || st->st_uid == also)
		return CV_OK;
	return cv_err_set(CV_ERR_PERMISSIONS,
			  "%s belongs to another user (uid %u); it must be yours (uid %u) or root's",
			  path, (unsigned)st->st_uid, (unsigned)me);
}

/* A symbolic link named path, refused; errno is kept for other errors. */
static cv_err
refuse_link(int dir_fd, const char *name, const char *path)
{
	struct stat st;
	int saved = errno;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return cv_err_set(CV_ERR_PERMISSIONS,
				  "%s is a symbolic link; a vault's folder and files may not be",
				  path);
	errno = saved;
	return CV_OK;
}

static cv_err
mode_check(const char *path, const struct stat *st)
{
	if (st->st_mode & S_IWOTH)
		return cv_err_set(CV_ERR_PERMISSIONS,
				  "%s may be written by other users (mode %04o); "
				  "run chmod o-w on it", path, (unsigned)(st->st_mode & 07777));
	return CV_OK;
}

void
cv_vault_files_close(cv_vault_files *f)
{
	if (f->dir_fd >= 0)
		close(f->dir_fd);
	if (f->data_fd >= 0)
		close(f->data_fd);
	f->dir_fd = f->data_fd = -1;
}

cv_err
cv_vault_files_open(const char *dir, int creating, cv_vault_files *out)
{
	char path[4200], bare[4200];
	struct stat st, ours;
	uid_t vault_owner;
	int shared = 0;
	size_t n;
	cv_err err;

	memset(out, 0, sizeof(*out));
	out->dir_fd = out->data_fd = -1;
	if ((err = cv_parent_check(dir)) != CV_OK)
		return err;
	/* Without trailing slashes, which would make open and lstat follow
	 * a link. */
	n = strlen(dir);
	if (n >= sizeof(bare))
		return cv_err_set(CV_ERR_INVALID, "a path of %zu bytes is too long", n);
	memcpy(bare, dir, n + 1);
	while (n > 1 && bare[n - 1] == '/')
		bare[--n] = '\0';
	/* O_PATH: a folder the caller may search but not list (0711) is
	 * opened as it was by name. */
	out->dir_fd = open(bare, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (out->dir_fd < 0) {
		int e = errno;

		if (lstat(bare, &st) == 0 && S_ISLNK(st.st_mode))
			err = cv_err_set(CV_ERR_PERMISSIONS,
					 "%s is a symbolic link; a vault's folder and files may not be",
					 dir);
		else if (e == ENOENT)
			err = cv_err_set(CV_ERR_NOT_A_VAULT, "%s: %s", dir, strerror(e));
		else if (e == ENOTDIR)
			err = cv_err_set(CV_ERR_NOT_A_VAULT, "%s is not a folder", dir);
		else if (e == EACCES)
			err = cv_err_set(CV_ERR_PERMISSIONS, "%s: %s", dir, strerror(e));
		else
			err = cv_err_set(CV_ERR_IO, "%s: %s", dir, strerror(e));
		goto done;
	}
	if (fstat(out->dir_fd, &out->dir_st) != 0) {
		err = cv_err_set(CV_ERR_IO, "%s: %s", dir, strerror(errno));
		goto done;
	}
	if ((err = mode_check(dir, &out->dir_st)) != CV_OK)
		goto done;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	out->data_fd = openat(out->dir_fd, "data.mdb", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (out->data_fd < 0) {
		int e = errno;

		if ((err = refuse_link(out->dir_fd, "data.mdb", path)) != CV_OK)
			goto done;
		if (e == ENOENT && creating) {
			err = CV_OK;
		} else if (e == ENOENT) {
			err = cv_err_set(CV_ERR_NOT_A_VAULT,
					 "%s holds no vault (create one with 'certvault vault create')",
					 dir);
			goto done;
		} else if (e == EACCES) {
			/* A vault this user may not read: say so, never "no
			 * vault here". */
			err = cv_err_set(CV_ERR_PERMISSIONS, "%s: %s", path, strerror(e));
			goto done;
		} else {
			err = cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(e));
			goto done;
		}
	} else if (creating) {
		err = cv_err_set(CV_ERR_VAULT_EXISTS, "%s already holds a vault", dir);
		goto done;
	}
	if (out->data_fd >= 0) {
		if (fstat(out->data_fd, &out->data_st) != 0) {
			err = cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
			goto done;
		}
		if (!S_ISREG(out->data_st.st_mode)) {
			err = cv_err_set(CV_ERR_PERMISSIONS, "%s is not a regular file", path);
			goto done;
		}
		out->read_only = faccessat(out->dir_fd, "data.mdb", W_OK, AT_EACCESS) != 0;
	}

	/* The folder's owner: the caller or root, or, for a service that may
	 * only read, anyone who shared the folder with its own group. */
	vault_owner = out->dir_st.st_uid;
	shared = geteuid() != 0 && out->read_only && out->dir_st.st_gid == getegid();
	if (!shared && (err = cv_owner_check(dir, &out->dir_st, (uid_t)0)) != CV_OK)
		goto done;
	if (out->data_fd >= 0 &&
	    ((err = cv_owner_check(path, &out->data_st, vault_owner)) != CV_OK ||
	     (err = mode_check(path, &out->data_st)) != CV_OK))
		goto done;

	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if (fstatat(out->dir_fd, "lock.mdb", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			err = cv_err_set(CV_ERR_PERMISSIONS,
					 "%s is a symbolic link; a vault's folder and files may not be",
					 path);
			goto done;
		}
		if (!S_ISREG(st.st_mode)) {
			err = cv_err_set(CV_ERR_PERMISSIONS, "%s is not a regular file", path);
			goto done;
		}
		if ((err = cv_owner_check(path, &st, vault_owner)) != CV_OK ||
		    (err = mode_check(path, &st)) != CV_OK)
			goto done;
	} else if (errno != ENOENT) {
		err = cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
		goto done;
	}

	if (out->data_fd >= 0) {
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if ((err = cv_lmdb_data_check(out->data_fd, path, &out->psize)) != CV_OK)
			goto done;
	}

	/* Hand LMDB the folder opened here, where /proc has it. */
	snprintf(out->env_path, sizeof(out->env_path), "/proc/self/fd/%d", out->dir_fd);
	if (stat(out->env_path, &ours) != 0 || ours.st_dev != out->dir_st.st_dev ||
	    ours.st_ino != out->dir_st.st_ino)
		out->env_path[0] = '\0';
	err = CV_OK;
done:
	if (err != CV_OK)
		cv_vault_files_close(out);
	return err;
}

cv_err
cv_vault_files_verify(cv_vault_files *f, const char *dir, MDB_env *env)
{
	char path[4200];
	struct stat st;
	mdb_filehandle_t fd;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
	if (f->data_fd >= 0 &&
	    (st.st_dev != f->data_st.st_dev || st.st_ino != f->data_st.st_ino))
		return cv_err_set(CV_ERR_PERMISSIONS, "%s was replaced while it was opened", path);
	/* A data.mdb LMDB made just now is the caller's own. */
	if (f->data_fd < 0 && (!S_ISREG(st.st_mode) || st.st_uid != geteuid()))
		return cv_err_set(CV_ERR_PERMISSIONS, "%s was replaced while it was made", path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if (fstatat(f->dir_fd, "lock.mdb", &st, AT_SYMLINK_NOFOLLOW) != 0)
		return cv_err_set(CV_ERR_IO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cv_err_set(CV_ERR_PERMISSIONS, "%s is not a regular file", path);
	return cv_owner_check(path, &st, f->dir_st.st_uid);
}
