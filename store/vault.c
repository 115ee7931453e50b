/* certvault: the vault's environment, PINs and master key. */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#define MAP_SIZE ((size_t)1 << 34) /* 16 GiB of address space, not of disk */

static const char *const db_names[CV_DB__COUNT] = {
	[CV_DB_META] = "meta",
	[CV_DB_CERTS] = "certs",
	[CV_DB_VERSIONS] = "versions",
	[CV_DB_KEYS] = "keys",
	[CV_DB_SECRETS] = "secrets",
	[CV_DB_PENDING] = "pending",
	[CV_DB_ISSUERS] = "issuers",
	[CV_DB_CONTACTS] = "contacts",
	[CV_DB_KEY_IDS] = "key_ids",
	[CV_DB_KEY_NUMS] = "key_nums",
	[CV_DB_TRIGGERS] = "triggers",
	[CV_DB_DUE] = "due",
	[CV_DB_OUTBOX] = "outbox",
	[CV_DB_EVENTS] = "events",
	[CV_DB_OPS_ACTIVE] = "ops_active",
	[CV_DB_DELETED] = "deleted",
};

static const char *const pin_keys[] = {
	[CV_USER_NORMAL] = "pin.user",
	[CV_USER_SO] = "pin.so",
};

/* The environments a child after fork() inherited and may not close
 * (mdb_env_close there would release the parent's reader slots): held for
 * the life of the process, one per vault and fork, so that what the child
 * cannot free is still its own and not lost.  A list without a lock: a
 * thread of the parent may have held any lock at the fork. */
struct abandoned_env {
	MDB_env *env;
	struct abandoned_env *next;
};
static struct abandoned_env *_Atomic abandoned_envs;

static _Atomic pid_t process_id;
static pthread_once_t process_id_once = PTHREAD_ONCE_INIT;

static void
process_id_after_fork(void)
{
	atomic_store_explicit(&process_id, getpid(), memory_order_relaxed);
}

static void
process_id_init(void)
{
	atomic_store_explicit(&process_id, getpid(), memory_order_relaxed);
	pthread_atfork(NULL, NULL, process_id_after_fork);
}

pid_t
cv_process_id(void)
{
	pthread_once(&process_id_once, process_id_init);
	return atomic_load_explicit(&process_id, memory_order_relaxed);
}

/* A lifetime pass may act as at another time (certvault run --now): the
 * clock is then set for its thread only, for the length of one call. */
static __thread int64_t clock_set;

int64_t
cv_now(void)
{
	return clock_set != 0 ? clock_set : (int64_t)time(NULL);
}

int64_t
cv_clock_set(int64_t now)
{
	int64_t was = clock_set;

	clock_set = now;
	return was;
}

int
cv_name_valid(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i >= CV_NAME_MAX)
			return 0;
		if (!(isascii(c) && (isalnum(c) || c == '-')))
			return 0;
	}
	return i > 0;
}

void
cv_name_key(const char *name, char out[CV_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; i < CV_NAME_MAX && name[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[i] = '\0';
}

void
cv_vkey_make(cv_vkey *k, const char *name, const char *version)
{
	char lname[CV_NAME_MAX + 1];
	size_t n, m;

	cv_name_key(name, lname);
	n = strlen(lname);
	m = strnlen(version, CV_VERSION_LEN);
	memcpy(k->b, lname, n);
	k->b[n] = '\0';
	memcpy(k->b + n + 1, version, m);
	k->len = n + 1 + m;
}

cv_err
cv_random_version(char out[CV_VERSION_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[CV_VERSION_LEN / 2];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return cv_err_crypto("random version id");
	for (i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[CV_VERSION_LEN] = '\0';
	return CV_OK;
}

char *
cv_strdup_or_null(const char *s, int *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = 0;
	return d;
}

/* --- LMDB plumbing ------------------------------------------------------ */

cv_err
cv_mdb_err(int rc, const char *what)
{
	switch (rc) {
	case 0:
		return CV_OK;
	case MDB_NOTFOUND:
		return CV_ERR_NOT_FOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return cv_err_set(CV_ERR_FULL, "%s: %s", what, mdb_strerror(rc));
	case MDB_VERSION_MISMATCH:
	case MDB_INVALID:
		return cv_err_set(CV_ERR_NOT_A_VAULT, "%s: %s", what, mdb_strerror(rc));
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
		return cv_err_set(CV_ERR_CORRUPT, "%s: %s", what, mdb_strerror(rc));
	case ENOMEM:
		return CV_ERR_NOMEM;
	case EACCES:
	case EPERM:
		return cv_err_set(CV_ERR_PERMISSIONS, "%s: %s", what, mdb_strerror(rc));
	default:
		return cv_err_set(CV_ERR_IO, "%s: %s", what, mdb_strerror(rc));
	}
}

static cv_err
check_pid(cv_vault *v)
{
	if (v->pid != cv_process_id())
		return cv_err_set(CV_ERR_IO,
				  "a vault handle was used in a child process after fork()");
	return CV_OK;
}

/* data.mdb cut short under a running process would be read past its end
 * (SIGBUS in LMDB): before a read transaction, compare the file's size with
 * the pages the newest meta page uses.  The two meta pages are checked
 * first, since reading the newest one touches them. */
static cv_err
check_data_size(cv_vault *v)
{
	mdb_filehandle_t fd;
	MDB_envinfo info;
	struct stat st;

	if (mdb_env_get_fd(v->env, &fd) != 0 || fstat(fd, &st) != 0)
		return cv_err_set(CV_ERR_IO, "%s/data.mdb: %s", v->dir, strerror(errno));
	if ((uint64_t)st.st_size >= 2 * v->psize && mdb_env_info(v->env, &info) == 0 &&
	    (uint64_t)st.st_size >= ((uint64_t)info.me_last_pgno + 1) * v->psize)
		return CV_OK;
	return cv_err_set(CV_ERR_CORRUPT,
			  "%s/data.mdb is damaged (truncated?): it holds %lld bytes",
			  v->dir, (long long)st.st_size);
}

cv_err
cv_txn_read(cv_vault *v, MDB_txn **txn)
{
	cv_err err;
	int rc, dead = 0;

	*txn = NULL;
	if ((err = check_pid(v)) != CV_OK || (err = check_data_size(v)) != CV_OK)
		return err;
	rc = mdb_txn_begin(v->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_READERS_FULL) {
		/* Processes that died inside read transactions keep their
		 * reader slots until someone clears them: clear, retry once. */
		(void)mdb_reader_check(v->env, &dead);
		rc = mdb_txn_begin(v->env, NULL, MDB_RDONLY, txn);
	}
	return cv_mdb_err(rc, "begin a read transaction");
}

/* A write transaction whoever is logged in, for the few writes that must
 * work without the user's login: counting PIN failures, creating a vault,
 * re-initializing it with the SO PIN, and setting PINs (the SO's init-pin,
 * or a change proven with the old PIN).  Everything else goes through
 * cv_txn_write. */
static cv_err
txn_write_any_user(cv_vault *v, MDB_txn **txn)
{
	cv_err err;

	*txn = NULL;
	if ((err = check_pid(v)) != CV_OK)
		return err;
	if (v->read_only)
		return cv_err_set(CV_ERR_READ_ONLY, "%s: %s", v->dir,
				  cv_strerror(CV_ERR_READ_ONLY));
	return cv_mdb_err(mdb_txn_begin(v->env, NULL, 0, txn),
			  "begin a write transaction");
}

/* Every change to a vault's contents needs the user's login: the one place
 * that rule is kept. */
cv_err
cv_txn_write(cv_vault *v, MDB_txn **txn)
{
	*txn = NULL;
	if (cv_vault_logged_in(v) != CV_USER_NORMAL)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN,
				  "changing the vault needs the user PIN (log in first)");
	return txn_write_any_user(v, txn);
}

/* Below this much room for the caller on the vault's file system, a failed
 * write is taken for a full disk: LMDB writes at most 64 pages at a time,
 * and what did not fit of them is what is missing. */
#define DISK_FULL_ROOM ((unsigned long long)1 << 20)

/* A commit's failure as an error.  A full disk shows as ENOSPC or EDQUOT,
 * or, when a write came up short, as EIO (LMDB's word for a short write):
 * EIO on a file system with next to no room left is said as a full disk,
 * since "Input/output error" would send the user after a failing drive. */
static cv_err
commit_err(const cv_vault *v, int rc, const char *what)
{
	struct statvfs fs;
	int full = rc == ENOSPC || rc == EDQUOT;

	if (rc == EIO && statvfs(v->dir, &fs) == 0 &&
	    (unsigned long long)fs.f_bavail * fs.f_frsize < DISK_FULL_ROOM)
		full = 1;
	if (full)
		return cv_err_set(CV_ERR_FULL,
				  "%s: the disk holding the vault is full (%s); "
				  "nothing was changed",
				  what, v->dir);
	return cv_mdb_err(rc, what);
}

cv_err
cv_txn_write_commit(cv_vault *v, MDB_txn *txn)
{
	return commit_err(v, mdb_txn_commit(txn), "commit");
}

cv_err
cv_db_get(cv_vault *v, MDB_txn *txn, enum cv_db db, const void *key,
	  size_t klen, MDB_val *val)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	int rc;

	val->mv_size = 0;
	val->mv_data = NULL;
	rc = mdb_get(txn, v->dbi[db], &k, val);
	if (rc == MDB_NOTFOUND)
		return CV_ERR_NOT_FOUND;
	return cv_mdb_err(rc, "read");
}

cv_err
cv_db_put(cv_vault *v, MDB_txn *txn, enum cv_db db, const void *key,
	  size_t klen, const void *val, size_t vlen, unsigned flags)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	MDB_val d = { .mv_size = vlen, .mv_data = (void *)val };
	int rc;

	rc = mdb_put(txn, v->dbi[db], &k, &d, flags);
	if (rc == MDB_KEYEXIST)
		return CV_ERR_EXISTS;
	return cv_mdb_err(rc, "write");
}

cv_err
cv_db_del(cv_vault *v, MDB_txn *txn, enum cv_db db, const void *key,
	  size_t klen)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key };
	int rc;

	rc = mdb_del(txn, v->dbi[db], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return CV_ERR_NOT_FOUND;
	return cv_mdb_err(rc, "delete");
}

/* Open the LMDB environment of dir, checked and pinned by files
 * (cv_vault_files_open): LMDB opens the files by name under the pinned
 * folder, and its data file is then compared with the one checked. */
static cv_err
env_open(const char *dir, cv_vault_files *files, unsigned flags, cv_vault **out)
{
	cv_err err = CV_ERR_NOMEM;
	cv_vault *v = NULL;
	int rc, dead = 0;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return CV_ERR_NOMEM;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v);
		return CV_ERR_NOMEM;
	}
	v->pid = cv_process_id();
	if ((v->dir = strdup(dir)) == NULL)
		goto done;
	if ((rc = mdb_env_create(&v->env)) != 0) {
		err = cv_mdb_err(rc, "create the LMDB environment");
		goto done;
	}
	mdb_env_set_maxdbs(v->env, 16);
	mdb_env_set_maxreaders(v->env, 254);
	if ((rc = mdb_env_set_mapsize(v->env, MAP_SIZE)) != 0) {
		err = cv_mdb_err(rc, "size the map");
		goto done;
	}
	/* MDB_NOTLS: read transactions are not tied to a thread, so the
	 * PKCS#11 face may run them on whatever thread the application uses. */
	if ((rc = mdb_env_open(v->env, files->env_path[0] ? files->env_path : dir,
			       MDB_NOTLS | flags, 0600)) != 0) {
		err = cv_mdb_err(rc, dir);
		goto done;
	}
	if ((err = cv_vault_files_verify(files, dir, v->env)) != CV_OK)
		goto done;
	v->psize = files->psize;
	if (v->psize == 0) {
		MDB_stat ms;

		/* A vault made just now: LMDB wrote its own page size. */
		if ((rc = mdb_env_stat(v->env, &ms)) != 0) {
			err = cv_mdb_err(rc, dir);
			goto done;
		}
		v->psize = ms.ms_psize;
	}
	/* Reader slots left by processes that died inside read
	 * transactions stay taken while any other process has the vault
	 * open; clear them. */
	(void)mdb_reader_check(v->env, &dead);
	v->read_only = (flags & MDB_RDONLY) != 0;
	*out = v;
	v = NULL;
	err = CV_OK;
done:
	if (v != NULL) {
		if (v->env != NULL)
			mdb_env_close(v->env);
		pthread_mutex_destroy(&v->lock);
		free(v->dir);
		free(v);
	}
	return err;
}

/* The tables from CV_DB_TRIGGERS on came with lifetime actions, and
 * CV_DB_OPS_ACTIVE after them: a vault made before them lacks them, which
 * is no damage (*missing says so: MISSING_LIFE, MISSING_OP_INDEX). */
#define MISSING_LIFE 1
#define MISSING_OP_INDEX 2
#define MISSING_DELETED 4

static cv_err
open_dbis(cv_vault *v, MDB_txn *txn, unsigned flags, int *missing)
{
	int i, rc;

	*missing = 0;
	for (i = 0; i < CV_DB__COUNT; i++) {
		unsigned f = flags;

		if (i == CV_DB_KEY_IDS)
			f |= MDB_DUPSORT;
		rc = mdb_dbi_open(txn, db_names[i], f, &v->dbi[i]);
		if (rc == MDB_NOTFOUND && i >= CV_DB_TRIGGERS) {
			*missing |= i == CV_DB_OPS_ACTIVE ? MISSING_OP_INDEX :
				    i == CV_DB_DELETED ? MISSING_DELETED : MISSING_LIFE;
			continue;
		}
		if (rc == MDB_NOTFOUND)
			return cv_err_set(CV_ERR_NOT_A_VAULT,
					  "%s: the vault lacks its '%s' table",
					  v->dir, db_names[i]);
		if (rc != 0)
			return cv_mdb_err(rc, db_names[i]);
	}
	return CV_OK;
}

/* --- PIN records -------------------------------------------------------- */

typedef struct pin_rec {
	unsigned char salt[CV_SALT_LEN];
	cv_kdf_params kdf;
	uint64_t failures;
	cv_blob wrapped;
} pin_rec;

static void
pin_rec_clear(pin_rec *p)
{
	OPENSSL_free(p->wrapped.data);
	memset(p, 0, sizeof(*p));
}

static const char *
pin_aad(enum cv_user who)
{
	return who == CV_USER_SO ? "certvault/pin/so" : "certvault/pin/user";
}

static cv_err
pin_rec_read(cv_vault *v, MDB_txn *txn, enum cv_user who, pin_rec *out)
{
	cv_field f[CV_T__MAX];
	MDB_val val;
	cv_err err;

	memset(out, 0, sizeof(*out));
	err = cv_db_get(v, txn, CV_DB_META, pin_keys[who], strlen(pin_keys[who]),
			&val);
	if (err == CV_ERR_NOT_FOUND && who == CV_USER_NORMAL)
		return cv_err_set(CV_ERR_PIN_NOT_INITIALIZED, "%s",
				  cv_strerror(CV_ERR_PIN_NOT_INITIALIZED));
	if (err == CV_ERR_NOT_FOUND)
		return cv_err_set(CV_ERR_CORRUPT, "the vault has no %s record",
				  pin_keys[who]);
	if (err != CV_OK)
		return err;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_PIN, NULL, f)) != CV_OK)
		return err == CV_ERR_NOMEM ? err :
		       cv_err_set(CV_ERR_CORRUPT, "the vault's %s record does not decode",
				  pin_keys[who]);
	if ((err = cv_field_need(&f[CV_T_SALT], "salt")) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_WRAPPED], "wrapped key")) != CV_OK)
		return err;
	if (f[CV_T_SALT].len != CV_SALT_LEN ||
	    f[CV_T_WRAPPED].len != CV_MASTER_KEY_LEN + CV_SEAL_OVERHEAD)
		return cv_err_set(CV_ERR_CORRUPT, "%s has fields of wrong size",
				  pin_keys[who]);
	{
		uint64_t r, p;

		if ((err = cv_field_u64(&f[CV_T_KDF_N], 0, &out->kdf.n)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_KDF_R], 0, &r)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_KDF_P], 0, &p)) != CV_OK ||
		    (err = cv_field_u64(&f[CV_T_FAILURES], 0, &out->failures)) != CV_OK)
			return err;
		if (r > UINT32_MAX || p > UINT32_MAX)
			return cv_err_set(CV_ERR_CORRUPT, "scrypt parameters out of range");
		out->kdf.r = (uint32_t)r;
		out->kdf.p = (uint32_t)p;
	}
	if ((err = cv_kdf_check(&out->kdf)) != CV_OK)
		return err;
	memcpy(out->salt, f[CV_T_SALT].p, CV_SALT_LEN);
	if ((out->wrapped.data = OPENSSL_memdup(f[CV_T_WRAPPED].p,
						f[CV_T_WRAPPED].len)) == NULL)
		return CV_ERR_NOMEM;
	out->wrapped.len = f[CV_T_WRAPPED].len;
	return CV_OK;
}

static cv_err
pin_rec_write(cv_vault *v, MDB_txn *txn, enum cv_user who, const pin_rec *p)
{
	cv_wbuf w = { 0 };
	cv_err err;

	cv_rec_begin(&w, CV_REC_PIN);
	cv_rec_put(&w, CV_T_SALT, p->salt, CV_SALT_LEN);
	cv_rec_put_u64(&w, CV_T_KDF_N, p->kdf.n);
	cv_rec_put_u64(&w, CV_T_KDF_R, p->kdf.r);
	cv_rec_put_u64(&w, CV_T_KDF_P, p->kdf.p);
	cv_rec_put_u64(&w, CV_T_FAILURES, p->failures);
	cv_rec_put(&w, CV_T_WRAPPED, p->wrapped.data, p->wrapped.len);
	if ((err = cv_rec_finish(&w)) == CV_OK)
		err = cv_db_put(v, txn, CV_DB_META, pin_keys[who],
				strlen(pin_keys[who]), w.p, w.len, 0);
	cv_wbuf_free(&w);
	return err;
}

/* A new PIN record wrapping master under pin. */
static cv_err
pin_rec_make(enum cv_user who, const char *pin, size_t pin_len,
	     const unsigned char master[CV_MASTER_KEY_LEN], pin_rec *out)
{
	unsigned char kek[CV_MASTER_KEY_LEN];
	const char *aad = pin_aad(who);
	cv_err err;

	memset(out, 0, sizeof(*out));
	cv_kdf_default(&out->kdf);
	if (RAND_bytes(out->salt, CV_SALT_LEN) != 1)
		return cv_err_crypto("random salt");
	if ((err = cv_kdf_derive(pin, pin_len, out->salt, &out->kdf, kek)) != CV_OK)
		goto done;
	err = cv_seal(kek, (const unsigned char *)aad, strlen(aad), master,
		      CV_MASTER_KEY_LEN, &out->wrapped.data, &out->wrapped.len);
done:
	OPENSSL_cleanse(kek, sizeof(kek));
	return err;
}

static cv_err
pin_check(const char *pin, size_t len)
{
	if (pin == NULL || len < CV_PIN_MIN || len > CV_PIN_MAX)
		return cv_err_set(CV_ERR_PIN_INVALID,
				  "a PIN must hold %d to %d bytes (this one has %zu)",
				  CV_PIN_MIN, CV_PIN_MAX, pin == NULL ? 0 : len);
	return CV_OK;
}

/* --- Create, open, close ------------------------------------------------ */

cv_err
cv_vault_create(const char *dir, const char *name, const char *user_pin,
		size_t user_pin_len, const char *so_pin, size_t so_pin_len)
{
	return cv_vault_create_with(dir, name, user_pin, user_pin_len, so_pin,
				    so_pin_len, NULL);
}

cv_err
cv_vault_create_with(const char *dir, const char *name, const char *user_pin,
		     size_t user_pin_len, const char *so_pin, size_t so_pin_len,
		     const cv_vault_recovery *rec)
{
	cv_err err;
	cv_vault *v = NULL;
	MDB_txn *txn = NULL;
	unsigned char master[CV_MASTER_KEY_LEN];
	unsigned char serial_raw[8];
	char serial[17];
	pin_rec user = { 0 }, so = { 0 };
	cv_wbuf w = { 0 };
	cv_vault_files files = { .dir_fd = -1, .data_fd = -1 };
	int i, made = 0, missing = 0;

	cv_err_clear();
	if (!cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "vault name '%s': %s",
				  name ? name : "", cv_strerror(CV_ERR_BAD_NAME));
	if ((user_pin != NULL && (err = pin_check(user_pin, user_pin_len)) != CV_OK) ||
	    (err = pin_check(so_pin, so_pin_len)) != CV_OK)
		return err;
	if (rec != NULL && (rec->retention_days < CV_RETENTION_MIN ||
			    rec->retention_days > CV_RETENTION_MAX))
		return cv_err_set(CV_ERR_INVALID,
				  "retention days must be %d to %d, not %d",
				  CV_RETENTION_MIN, CV_RETENTION_MAX, rec->retention_days);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return cv_err_set(CV_ERR_IO, "%s: %s", dir, strerror(errno));
	if ((err = cv_vault_files_open(dir, 1, &files)) != CV_OK)
		return err;
	made = 1;
	if ((err = env_open(dir, &files, 0, &v)) != CV_OK)
		goto done;

	if (RAND_priv_bytes(master, sizeof(master)) != 1 ||
	    RAND_bytes(serial_raw, sizeof(serial_raw)) != 1) {
		err = cv_err_crypto("random master key");
		goto done;
	}
	for (i = 0; i < 8; i++)
		snprintf(serial + 2 * i, 3, "%02x", serial_raw[i]);
	if ((user_pin != NULL &&
	     (err = pin_rec_make(CV_USER_NORMAL, user_pin, user_pin_len, master,
				 &user)) != CV_OK) ||
	    (err = pin_rec_make(CV_USER_SO, so_pin, so_pin_len, master, &so)) != CV_OK)
		goto done;

	if ((err = txn_write_any_user(v, &txn)) != CV_OK)
		goto done;
	if ((err = open_dbis(v, txn, MDB_CREATE, &missing)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, "life.indexed", 12, "", 0, 0)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, "ops.indexed", 11, "", 0, 0)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_HEADER);
	cv_rec_put_str(&w, CV_T_NAME, name);
	cv_rec_put_str(&w, CV_T_SERIAL, serial);
	cv_rec_put_u64(&w, CV_T_CREATED, (uint64_t)cv_now());
	cv_rec_put_u64(&w, CV_T_VAULT_FORMAT, CV_VAULT_FORMAT);
	if (rec != NULL) {
		cv_rec_put_u64(&w, CV_T_RETENTION_DAYS, (uint64_t)rec->retention_days);
		cv_rec_put_u64(&w, CV_T_PURGE_PROTECTION, rec->purge_protection ? 1 : 0);
	}
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, "header", 6, w.p, w.len,
			     MDB_NOOVERWRITE)) != CV_OK ||
	    (user_pin != NULL &&
	     (err = pin_rec_write(v, txn, CV_USER_NORMAL, &user)) != CV_OK) ||
	    (err = pin_rec_write(v, txn, CV_USER_SO, &so)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	OPENSSL_cleanse(master, sizeof(master));
	pin_rec_clear(&user);
	pin_rec_clear(&so);
	cv_wbuf_free(&w);
	cv_vault_close(v);
	if (err != CV_OK && made) {
		/* Leave no half-made vault behind: a later create must work. */
		unlinkat(files.dir_fd, "data.mdb", 0);
		unlinkat(files.dir_fd, "lock.mdb", 0);
	}
	cv_vault_files_close(&files);
	return err;
}

cv_err
cv_vault_open(const char *dir, cv_vault **out)
{
	cv_err err;
	cv_vault *v = NULL;
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	uint64_t format;
	int missing = 0;
	cv_vault_files files;

	cv_err_clear();
	*out = NULL;
	if (dir == NULL || dir[0] == '\0')
		return cv_err_set(CV_ERR_INVALID, "no vault folder given");
	if ((err = cv_vault_files_open(dir, 0, &files)) != CV_OK)
		return err;
	/* A service account given read access to data.mdb (and write access
	 * to lock.mdb, which every LMDB reader needs) opens it read-only. */
	err = env_open(dir, &files, files.read_only ? MDB_RDONLY : 0, &v);
	cv_vault_files_close(&files);
	if (err != CV_OK)
		return err;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		goto done;
	if ((err = open_dbis(v, txn, 0, &missing)) != CV_OK)
		goto done;
	if ((err = cv_db_get(v, txn, CV_DB_META, "header", 6, &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			err = cv_err_set(CV_ERR_NOT_A_VAULT, "%s: no vault header", dir);
		goto done;
	}
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HEADER, NULL, f)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_VAULT_FORMAT], 0, &format)) != CV_OK)
		goto done;
	if (format != CV_VAULT_FORMAT) {
		err = cv_err_set(CV_ERR_FORMAT_VERSION,
				 "%s is a vault of format %llu; this certvault reads %d",
				 dir, (unsigned long long)format, CV_VAULT_FORMAT);
		goto done;
	}
	/* Commit, not abort: DBI handles opened in a transaction survive only
	 * if it commits. */
	err = commit_err(v, mdb_txn_commit(txn), "open the vault's tables");
	txn = NULL;
	if (err != CV_OK)
		goto done;
	if (missing && !v->read_only) {
		/* A vault older than lifetime actions gets their tables, empty;
		 * the first pass indexes its versions (no "life.indexed").  One
		 * older than ops_active gets it, filled by the first listing
		 * after a login (no "ops.indexed"). */
		if ((err = txn_write_any_user(v, &txn)) != CV_OK ||
		    (err = open_dbis(v, txn, MDB_CREATE, &missing)) != CV_OK)
			goto done;
		err = cv_txn_write_commit(v, txn);
		txn = NULL;
		if (err != CV_OK)
			goto done;
	}
	v->has_life = !(missing & MISSING_LIFE);
	v->has_op_index = !(missing & MISSING_OP_INDEX);
	v->has_deleted = !(missing & MISSING_DELETED);
	*out = v;
	v = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_vault_close(v);
	return err;
}

static void
forget_master(cv_vault *v)
{
	if (v->master != NULL) {
		OPENSSL_cleanse(v->master, CV_MASTER_KEY_LEN);
		/* munlock would unlock the secure heap's page for others. */
		if (!CRYPTO_secure_allocated(v->master))
			munlock(v->master, CV_MASTER_KEY_LEN);
		OPENSSL_secure_clear_free(v->master, CV_MASTER_KEY_LEN);
		v->master = NULL;
	}
	v->who = CV_USER_NONE;
}

void
cv_vault_close(cv_vault *v)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	forget_master(v);
	pthread_mutex_unlock(&v->lock);
	if (v->env != NULL && v->pid == cv_process_id())
		mdb_env_close(v->env);
	pthread_mutex_destroy(&v->lock);
	free(v->dir);
	free(v);
}

void
cv_vault_abandon(cv_vault *v)
{
	struct abandoned_env *a;

	if (v == NULL)
		return;
	/* The environment's memory and lock file belong to the parent's LMDB
	 * state: leave them, as LMDB's caveats require, but held (see
	 * abandoned_envs), not lost. */
	forget_master(v);
	if (v->env != NULL && (a = malloc(sizeof(*a))) != NULL) {
		a->env = v->env;
		a->next = atomic_load(&abandoned_envs);
		while (!atomic_compare_exchange_weak(&abandoned_envs, &a->next, a))
			;
	}
	free(v->dir);
	free(v);
}

/* The recovery settings of a parsed header; a vault made before them
 * has 90 days and no purge protection. */
static cv_err
header_recovery(const cv_field f[CV_T__MAX], cv_vault_recovery *out)
{
	uint64_t days, protect;
	cv_err err;

	if ((err = cv_field_u64(&f[CV_T_RETENTION_DAYS], CV_RETENTION_DEFAULT,
				&days)) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_PURGE_PROTECTION], 0, &protect)) != CV_OK)
		return err;
	if (days < CV_RETENTION_MIN || days > CV_RETENTION_MAX || protect > 1)
		return cv_err_set(CV_ERR_CORRUPT,
				  "the vault header's recovery settings are damaged");
	out->retention_days = (int)days;
	out->purge_protection = (int)protect;
	return CV_OK;
}

cv_err
cv_vault_recovery_read(cv_vault *v, MDB_txn *txn, cv_vault_recovery *out)
{
	MDB_val val;
	cv_field f[CV_T__MAX];
	cv_err err;

	if ((err = cv_db_get(v, txn, CV_DB_META, "header", 6, &val)) != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HEADER, NULL, f)) != CV_OK)
		return err;
	return header_recovery(f, out);
}

cv_err
cv_vault_enable_purge_protection(cv_vault *v)
{
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	cv_wbuf w = { 0 };
	size_t off = 0, vlen;
	unsigned tag;
	const unsigned char *p;
	cv_err err;

	cv_err_clear();
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_db_get(v, txn, CV_DB_META, "header", 6, &val)) != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HEADER, NULL, f)) != CV_OK)
		goto done;
	/* Every field as it was, and the flag on: a field this certvault
	 * does not know stays. */
	cv_rec_begin(&w, CV_REC_HEADER);
	while (cv_rec_next(val.mv_data, val.mv_size, &off, &tag, &p, &vlen))
		if (tag != CV_T_PURGE_PROTECTION)
			cv_rec_put(&w, tag, p, vlen);
	cv_rec_put_u64(&w, CV_T_PURGE_PROTECTION, 1);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, "header", 6, w.p, w.len, 0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_wbuf_free(&w);
	return err;
}

const char *
cv_recovery_level(const cv_vault_recovery *r)
{
	if (r->retention_days < CV_RETENTION_DEFAULT)
		return r->purge_protection ? "CustomizedRecoverable"
					   : "CustomizedRecoverable+Purgeable";
	return r->purge_protection ? "Recoverable" : "Recoverable+Purgeable";
}

cv_err
cv_vault_info_get(cv_vault *v, cv_vault_info *out)
{
	cv_err err;
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	pin_rec user = { 0 }, so = { 0 };
	uint64_t created;

	cv_err_clear();
	memset(out, 0, sizeof(*out));
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_db_get(v, txn, CV_DB_META, "header", 6, &val)) != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HEADER, NULL, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_NAME], out->name, sizeof(out->name))) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_SERIAL], out->serial, sizeof(out->serial))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = header_recovery(f, &out->recovery)) != CV_OK)
		goto done;
	err = pin_rec_read(v, txn, CV_USER_NORMAL, &user);
	out->user_pin_initialized = err == CV_OK;
	/* A PIN not set yet is no error; a damaged record keeps its detail. */
	if (err == CV_ERR_PIN_NOT_INITIALIZED) {
		err = CV_OK;
		cv_err_clear();
	}
	if (err != CV_OK || (err = pin_rec_read(v, txn, CV_USER_SO, &so)) != CV_OK)
		goto done;
	out->created = (int64_t)created;
	snprintf(out->dir, sizeof(out->dir), "%s", v->dir);
	out->pin_tries = CV_PIN_TRIES;
	out->user_pin_failures = (unsigned)(user.failures > CV_PIN_TRIES ? CV_PIN_TRIES : user.failures);
	out->so_pin_failures = (unsigned)(so.failures > CV_PIN_TRIES ? CV_PIN_TRIES : so.failures);
	out->user_pin_locked = user.failures >= CV_PIN_TRIES;
	out->so_pin_locked = so.failures >= CV_PIN_TRIES;
	out->read_only = v->read_only;
	out->generation = cv_vault_generation(v);
done:
	pin_rec_clear(&user);
	pin_rec_clear(&so);
	mdb_txn_abort(txn);
	return err;
}

int
cv_vault_read_only(cv_vault *v)
{
	return v->read_only;
}

uint64_t
cv_vault_generation(cv_vault *v)
{
	MDB_envinfo info;

	/* LMDB's last committed transaction id lives in the shared lock file,
	 * so it moves with every commit by any process. */
	if (v->pid != cv_process_id() || mdb_env_info(v->env, &info) != 0)
		return 0;
	return (uint64_t)info.me_last_txnid;
}

/* --- Login -------------------------------------------------------------- */

static cv_err
pin_locked(enum cv_user who)
{
	return cv_err_set(CV_ERR_PIN_LOCKED, "the %s PIN is locked after %d wrong tries",
			  who == CV_USER_SO ? "SO" : "user", CV_PIN_TRIES);
}

/* Count an attempt before its PIN is checked, as smart cards do: in one
 * write transaction read the PIN record, refuse a locked PIN, add one to
 * its count and commit (durably: LMDB syncs on commit).  The caller checks
 * the PIN against the record read here and clears the count on success.
 * So a guess is counted before the KDF runs: no burst of processes, kill
 * or wait for the write lock gets more guesses than CV_PIN_TRIES.  A user
 * who may only read the vault cannot write a count; see unwrap_master. */
static cv_err
pin_attempt_count(cv_vault *v, enum cv_user who, pin_rec *out)
{
	MDB_txn *txn = NULL;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if (v->read_only) {
		if ((err = cv_txn_read(v, &txn)) != CV_OK)
			return err;
		err = pin_rec_read(v, txn, who, out);
		mdb_txn_abort(txn);
		if (err == CV_OK && out->failures >= CV_PIN_TRIES)
			err = pin_locked(who);
		return err;
	}
	if ((err = txn_write_any_user(v, &txn)) != CV_OK)
		return err;
	if ((err = pin_rec_read(v, txn, who, out)) != CV_OK)
		goto done;
	if (out->failures >= CV_PIN_TRIES) {
		err = pin_locked(who);
		goto done;
	}
	out->failures++;
	if ((err = pin_rec_write(v, txn, who, out)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	return err;
}

/* A right PIN clears the count its attempt added (and any before it). */
static cv_err
pin_attempt_clear(cv_vault *v, enum cv_user who)
{
	MDB_txn *txn = NULL;
	pin_rec p = { 0 };
	cv_err err;

	if ((err = txn_write_any_user(v, &txn)) != CV_OK)
		return err;
	if ((err = pin_rec_read(v, txn, who, &p)) != CV_OK)
		goto done;
	if (p.failures == 0)
		goto done;
	p.failures = 0;
	if ((err = pin_rec_write(v, txn, who, &p)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	pin_rec_clear(&p);
	return err;
}

/* Check a PIN and hand out the master key it unwraps (a fresh allocation
 * the caller wipes and frees).  The attempt is counted first
 * (pin_attempt_count); a user who may only read the vault is not counted,
 * since a reader of data.mdb can copy it and try PINs offline against
 * scrypt anyway. */
static cv_err
unwrap_master(cv_vault *v, enum cv_user who, const char *pin, size_t pin_len,
	      unsigned char **master)
{
	cv_err err;
	pin_rec p = { 0 };
	unsigned char kek[CV_MASTER_KEY_LEN];
	unsigned char *mk = NULL;
	size_t mklen = 0;
	const char *aad = pin_aad(who);

	*master = NULL;
	if (who != CV_USER_NORMAL && who != CV_USER_SO)
		return cv_err_set(CV_ERR_INVALID, "unknown user type");
	if ((err = pin_check(pin, pin_len)) != CV_OK)
		return err;
	if ((err = pin_attempt_count(v, who, &p)) != CV_OK)
		goto done;
	if ((err = cv_kdf_derive(pin, pin_len, p.salt, &p.kdf, kek)) != CV_OK)
		goto done;
	err = cv_unseal(kek, (const unsigned char *)aad, strlen(aad),
			p.wrapped.data, p.wrapped.len, &mk, &mklen);
	if (err == CV_ERR_CORRUPT && v->read_only) {
		err = cv_err_set(CV_ERR_PIN_INCORRECT,
				 "incorrect %s PIN (not counted: the vault is read-only for this user)",
				 who == CV_USER_SO ? "SO" : "user");
		goto done;
	}
	if (err == CV_ERR_CORRUPT) {
		err = cv_err_set(CV_ERR_PIN_INCORRECT, "incorrect %s PIN (%llu of %d tries used)",
				 who == CV_USER_SO ? "SO" : "user",
				 (unsigned long long)p.failures, CV_PIN_TRIES);
		goto done;
	}
	if (err != CV_OK)
		goto done;
	if (mklen != CV_MASTER_KEY_LEN) {
		err = cv_err_set(CV_ERR_CORRUPT, "the master key has %zu bytes", mklen);
		goto done;
	}
	if (!v->read_only && (err = pin_attempt_clear(v, who)) != CV_OK)
		goto done;
	*master = mk;
	mk = NULL;
done:
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_clear_free(mk, mklen);
	pin_rec_clear(&p);
	return err;
}

cv_err
cv_vault_login(cv_vault *v, enum cv_user who, const char *pin, size_t pin_len)
{
	unsigned char *mk = NULL;
	unsigned char *kept = NULL;
	cv_err err;

	cv_err_clear();
	if ((err = unwrap_master(v, who, pin, pin_len, &mk)) != CV_OK)
		return err;
	/* The key lives in OpenSSL's secure heap (cv_secmem_init: left out of
	 * core dumps, locked), else in plain memory locked so it is not
	 * swapped; mlock failing (RLIMIT_MEMLOCK) is not fatal. */
	if ((kept = OPENSSL_secure_malloc(CV_MASTER_KEY_LEN)) == NULL) {
		OPENSSL_clear_free(mk, CV_MASTER_KEY_LEN);
		return CV_ERR_NOMEM;
	}
	if (!CRYPTO_secure_allocated(kept))
		(void)mlock(kept, CV_MASTER_KEY_LEN);
	memcpy(kept, mk, CV_MASTER_KEY_LEN);
	OPENSSL_clear_free(mk, CV_MASTER_KEY_LEN);
	pthread_mutex_lock(&v->lock);
	forget_master(v);
	v->master = kept;
	v->who = who;
	pthread_mutex_unlock(&v->lock);
	return CV_OK;
}

void
cv_vault_logout(cv_vault *v)
{
	pthread_mutex_lock(&v->lock);
	forget_master(v);
	pthread_mutex_unlock(&v->lock);
}

enum cv_user
cv_vault_logged_in(cv_vault *v)
{
	enum cv_user who;

	pthread_mutex_lock(&v->lock);
	who = v->who;
	pthread_mutex_unlock(&v->lock);
	return who;
}

cv_err
cv_vault_master(cv_vault *v, unsigned char out[CV_MASTER_KEY_LEN])
{
	cv_err err = CV_OK;

	pthread_mutex_lock(&v->lock);
	if (v->master == NULL)
		err = cv_err_set(CV_ERR_NOT_LOGGED_IN,
				 "this needs the vault's PIN (log in first)");
	else
		memcpy(out, v->master, CV_MASTER_KEY_LEN);
	pthread_mutex_unlock(&v->lock);
	return err;
}

static cv_err
write_pin(cv_vault *v, enum cv_user who, const char *pin, size_t len,
	  const unsigned char master[CV_MASTER_KEY_LEN])
{
	pin_rec p = { 0 };
	MDB_txn *txn = NULL;
	cv_err err;

	if ((err = pin_rec_make(who, pin, len, master, &p)) != CV_OK)
		goto done;
	if ((err = txn_write_any_user(v, &txn)) != CV_OK)
		goto done;
	if ((err = pin_rec_write(v, txn, who, &p)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	pin_rec_clear(&p);
	return err;
}

cv_err
cv_vault_set_pin(cv_vault *v, enum cv_user who, const char *old_pin,
		 size_t old_len, const char *new_pin, size_t new_len)
{
	unsigned char *mk = NULL;
	cv_err err;

	cv_err_clear();
	if ((err = pin_check(new_pin, new_len)) != CV_OK)
		return err;
	if ((err = unwrap_master(v, who, old_pin, old_len, &mk)) != CV_OK)
		return err;
	err = write_pin(v, who, new_pin, new_len, mk);
	OPENSSL_clear_free(mk, CV_MASTER_KEY_LEN);
	return err;
}

cv_err
cv_vault_init_pin(cv_vault *v, const char *new_pin, size_t new_len)
{
	unsigned char mk[CV_MASTER_KEY_LEN];
	cv_err err;

	cv_err_clear();
	if (cv_vault_logged_in(v) != CV_USER_SO)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN,
				  "setting the user PIN needs the SO PIN");
	if ((err = pin_check(new_pin, new_len)) != CV_OK)
		return err;
	if ((err = cv_vault_master(v, mk)) != CV_OK)
		return err;
	err = write_pin(v, CV_USER_NORMAL, new_pin, new_len, mk);
	OPENSSL_cleanse(mk, sizeof(mk));
	return err;
}

cv_err
cv_vault_reinit(cv_vault *v, const char *so_pin, size_t so_len, const char *name)
{
	static const enum cv_db wiped[] = {
		CV_DB_CERTS, CV_DB_VERSIONS, CV_DB_KEYS, CV_DB_SECRETS,
		CV_DB_PENDING, CV_DB_KEY_IDS, CV_DB_KEY_NUMS,
		CV_DB_TRIGGERS, CV_DB_DUE, CV_DB_OUTBOX, CV_DB_EVENTS,
		CV_DB_OPS_ACTIVE, CV_DB_DELETED,
	};
	unsigned char *mk = NULL;
	unsigned char fresh[CV_MASTER_KEY_LEN];
	pin_rec so = { 0 };
	MDB_txn *txn = NULL;
	MDB_val val;
	cv_field f[CV_T__MAX];
	cv_wbuf w = { 0 };
	uint64_t created = 0;
	char serial[17];
	cv_vault_recovery rec;
	size_t i;
	int rc;
	cv_err err;

	cv_err_clear();
	if (!cv_name_valid(name))
		return cv_err_set(CV_ERR_BAD_NAME, "vault name '%s': %s", name ? name : "",
				  cv_strerror(CV_ERR_BAD_NAME));
	if ((err = unwrap_master(v, CV_USER_SO, so_pin, so_len, &mk)) != CV_OK)
		return err;
	cv_vault_logout(v);
	/* A new master key, so nothing sealed before (and no saved copy of
	 * an old user PIN record) opens what is sealed from now on. */
	if (RAND_priv_bytes(fresh, sizeof(fresh)) != 1) {
		err = cv_err_crypto("random master key");
		goto done;
	}
	if ((err = pin_rec_make(CV_USER_SO, so_pin, so_len, fresh, &so)) != CV_OK)
		goto done;
	if ((err = txn_write_any_user(v, &txn)) != CV_OK)
		goto done;
	for (i = 0; i < sizeof(wiped) / sizeof(wiped[0]); i++) {
		if (wiped[i] == CV_DB_DELETED ? !v->has_deleted :
		    wiped[i] == CV_DB_OPS_ACTIVE ? !v->has_op_index :
		    wiped[i] >= CV_DB_TRIGGERS && !v->has_life)
			continue;
		if ((rc = mdb_drop(txn, v->dbi[wiped[i]], 0)) != 0) {
			err = cv_mdb_err(rc, "empty a table");
			goto done;
		}
	}
	if ((err = cv_issuer_drop_passwords(v, txn)) != CV_OK ||
	    (err = cv_life_drop_sealed(v, txn)) != CV_OK)
		goto done;
	err = cv_db_del(v, txn, CV_DB_META, pin_keys[CV_USER_NORMAL],
			strlen(pin_keys[CV_USER_NORMAL]));
	if (err != CV_OK && err != CV_ERR_NOT_FOUND)
		goto done;
	cv_err_clear();
	if ((err = pin_rec_write(v, txn, CV_USER_SO, &so)) != CV_OK)
		goto done;
	if ((err = cv_db_get(v, txn, CV_DB_META, "header", 6, &val)) != CV_OK ||
	    (err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_HEADER, NULL, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_SERIAL], serial, sizeof(serial))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CREATED], 0, &created)) != CV_OK ||
	    (err = header_recovery(f, &rec)) != CV_OK)
		goto done;
	cv_rec_begin(&w, CV_REC_HEADER);
	cv_rec_put_str(&w, CV_T_NAME, name);
	cv_rec_put_str(&w, CV_T_SERIAL, serial);
	cv_rec_put_u64(&w, CV_T_CREATED, created);
	cv_rec_put_u64(&w, CV_T_VAULT_FORMAT, CV_VAULT_FORMAT);
	/* The vault's recovery settings outlive its contents: purge
	 * protection, once on, stays on. */
	cv_rec_put_u64(&w, CV_T_RETENTION_DAYS, (uint64_t)rec.retention_days);
	cv_rec_put_u64(&w, CV_T_PURGE_PROTECTION, rec.purge_protection ? 1 : 0);
	if ((err = cv_rec_finish(&w)) != CV_OK ||
	    (err = cv_db_put(v, txn, CV_DB_META, "header", 6, w.p, w.len, 0)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_wbuf_free(&w);
	pin_rec_clear(&so);
	OPENSSL_cleanse(fresh, sizeof(fresh));
	OPENSSL_clear_free(mk, CV_MASTER_KEY_LEN);
	return err;
}

/* --- Sealing records ---------------------------------------------------- */

static cv_err
record_aad(enum cv_db db, const void *key, size_t klen, unsigned char **aad,
	   size_t *aadlen)
{
	const char *prefix = "certvault/v1/";
	const char *dbn = db_names[db];
	size_t n = strlen(prefix) + strlen(dbn) + 1 + klen;
	unsigned char *p;

	if ((p = malloc(n)) == NULL)
		return CV_ERR_NOMEM;
	memcpy(p, prefix, strlen(prefix));
	memcpy(p + strlen(prefix), dbn, strlen(dbn));
	p[strlen(prefix) + strlen(dbn)] = '/';
	memcpy(p + strlen(prefix) + strlen(dbn) + 1, key, klen);
	*aad = p;
	*aadlen = n;
	return CV_OK;
}

cv_err
cv_vault_seal(cv_vault *v, enum cv_db db, const void *key, size_t klen,
	      const unsigned char *pt, size_t ptlen, unsigned char **out,
	      size_t *outlen)
{
	unsigned char mk[CV_MASTER_KEY_LEN];
	unsigned char *aad = NULL;
	size_t aadlen = 0;
	cv_err err;

	*out = NULL;
	*outlen = 0;
	if ((err = cv_vault_master(v, mk)) != CV_OK)
		return err;
	if ((err = record_aad(db, key, klen, &aad, &aadlen)) == CV_OK)
		err = cv_seal(mk, aad, aadlen, pt, ptlen, out, outlen);
	OPENSSL_cleanse(mk, sizeof(mk));
	free(aad);
	return err;
}

cv_err
cv_vault_unseal(cv_vault *v, enum cv_db db, const void *key, size_t klen,
		const unsigned char *ct, size_t ctlen, unsigned char **out,
		size_t *outlen)
{
	unsigned char mk[CV_MASTER_KEY_LEN];
	unsigned char *aad = NULL;
	size_t aadlen = 0;
	cv_err err;

	*out = NULL;
	*outlen = 0;
	if ((err = cv_vault_master(v, mk)) != CV_OK)
		return err;
	if ((err = record_aad(db, key, klen, &aad, &aadlen)) == CV_OK)
		err = cv_unseal(mk, aad, aadlen, ct, ctlen, out, outlen);
	OPENSSL_cleanse(mk, sizeof(mk));
	free(aad);
	return err;
}
