/* certvault ACME client: http-01 through an existing web server's folder,
 * DIR/.well-known/acme-challenge/TOKEN.
 *
 * The file is written as the tool writes every output file: made beside
 * its name, then linked into place (an existing name is refused
 * atomically) or renamed over a regular file; a symbolic link, a folder or
 * anything else at the name is refused and never followed.  The two
 * folders are made 0755 (a web server running as another user reads them)
 * and are never symbolic links either. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "challenge_way.h"

/* Open (making it 0755 when missing) the folder name under dfd, never
 * through a symbolic link.  Returns the fd or -1 (err). */
static int
open_folder(int dfd, const char *shown, const char *name, char *err, size_t n)
{
	int fd = -1, made = 0, rc = -1;

	if (mkdirat(dfd, name, 0755) == 0)
		made = 1;
	else if (errno != EEXIST)
		goto done;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto done;
	/* The umask does not decide who may read the answers. */
	if (made && fchmod(fd, 0755) != 0)
		goto done;
	rc = fd;
	fd = -1;
done:
	if (rc < 0)
		snprintf(err, n, "cannot use the folder %s/%s: %s", shown, name,
			 errno == ELOOP || errno == ENOTDIR ?
				 "not a folder (a symbolic link is not followed)" :
				 strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The challenge folder under dir, opened.  Returns the fd or -1 (err). */
static int
open_challenge_folder(const char *dir, char *err, size_t n)
{
	int root = -1, wk = -1, ch = -1;
	char shown[4096];

	root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		snprintf(err, n, "cannot use the webroot %s: %s", dir,
			 strerror(errno));
		goto done;
	}
	wk = open_folder(root, dir, ".well-known", err, n);
	if (wk < 0)
		goto done;
	snprintf(shown, sizeof(shown), "%s/.well-known", dir);
	ch = open_folder(wk, shown, "acme-challenge", err, n);
done:
	if (root >= 0)
		close(root);
	if (wk >= 0)
		close(wk);
	return ch;
}

int
acme_webroot_set(const char *dir, const char *token,
		 const char *key_authorization, char *err, size_t n)
{
	unsigned char rnd[6];
	char tmp[300];
	struct stat st;
	int ch = -1, fd = -1, made = 0, rc = -1, failed = 0;

	ch = open_challenge_folder(dir, err, n);
	if (ch < 0)
		goto done;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(err, n, "no random bytes for a temporary name");
		goto done;
	}
	snprintf(tmp, sizeof(tmp), ".%s.tmp-%02x%02x%02x%02x%02x%02x", token,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	fd = openat(ch, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		failed = 1;
		goto done;
	}
	made = 1;
	if (fchmod(fd, 0644) != 0 ||
	    write_all(fd, key_authorization, strlen(key_authorization)) != 0) {
		failed = 1;
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		failed = 1;
		goto done;
	}
	fd = -1;
	if (fstatat(ch, token, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode)) {
			snprintf(err, n, "cannot write %s/.well-known/acme-challenge/%s: "
				 "it is there and is not a regular file", dir, token);
			goto done;
		}
		/* rename() replaces the name itself, never a link's target. */
		if (renameat(ch, tmp, ch, token) != 0) {
			failed = 1;
			goto done;
		}
		made = 0;
	} else if (errno != ENOENT) {
		failed = 1;
		goto done;
	} else {
		/* linkat() refuses a name made since, where a rename would
		 * replace whatever it is. */
		if (linkat(ch, tmp, ch, token, 0) != 0) {
			failed = 1;
			goto done;
		}
	}
	rc = 0;
done:
	if (failed)
		snprintf(err, n, "cannot write %s/.well-known/acme-challenge/%s: %s",
			 dir, token, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (made)
		unlinkat(ch, tmp, 0);
	if (ch >= 0)
		close(ch);
	return rc;
}

int
acme_webroot_clear(const char *dir, const char *token)
{
	struct stat st;
	char err[256];
	int ch, rc = -1;

	ch = open_challenge_folder(dir, err, sizeof(err));
	if (ch < 0)
		return -1;
	if (fstatat(ch, token, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && unlinkat(ch, token, 0) == 0)
		rc = 0;
	close(ch);
	return rc;
}
