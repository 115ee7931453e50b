/* Unit tests: vault creation, PINs, locking, permissions, config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <lmdb.h>
#include <openssl/crypto.h>

#include "config.h"
#include "store.h"

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/cv-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
rmtree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static int
setup(void **state)
{
	char *dir = tmpdir();
	char path[600];

	snprintf(path, sizeof(path), "%s/v", dir);
	if (cv_vault_create(path, "TestKV", "1234", 4, "so-pin-1", 8) != CV_OK)
		return -1;
	*state = dir;
	return 0;
}

static int
teardown(void **state)
{
	rmtree(*state);
	free(*state);
	return 0;
}

static cv_vault *
open_vault(void **state)
{
	char path[600];
	cv_vault *v = NULL;

	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	assert_int_equal(cv_vault_open(path, &v), CV_OK);
	return v;
}

static void
create_sets_modes_and_header(void **state)
{
	char path[700];
	struct stat st;
	cv_vault *v = open_vault(state);
	cv_vault_info info;

	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/v/data.mdb", (char *)*state);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_string_equal(info.name, "TestKV");
	assert_int_equal(strlen(info.serial), 16);
	assert_int_equal(info.user_pin_failures, 0);
	assert_false(info.user_pin_locked);
	assert_int_equal(cv_vault_logged_in(v), CV_USER_NONE);
	cv_vault_close(v);
}

static void
create_refuses_bad_input(void **state)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	assert_int_equal(cv_vault_create(path, "Again", "1234", 4, "5678", 4), CV_ERR_VAULT_EXISTS);
	snprintf(path, sizeof(path), "%s/w", (char *)*state);
	assert_int_equal(cv_vault_create(path, "bad name", "1234", 4, "5678", 4), CV_ERR_BAD_NAME);
	assert_int_equal(cv_vault_create(path, "ok", "123", 3, "5678", 4), CV_ERR_PIN_INVALID);
	assert_int_equal(cv_vault_create(path, "ok", "1234", 4, "", 0), CV_ERR_PIN_INVALID);
	/* A refused create leaves no vault behind. */
	snprintf(path, sizeof(path), "%s/w/data.mdb", (char *)*state);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
open_refuses_missing_and_writable(void **state)
{
	char path[700];
	cv_vault *v = NULL;

	snprintf(path, sizeof(path), "%s/none", (char *)*state);
	assert_int_equal(cv_vault_open(path, &v), CV_ERR_NOT_A_VAULT);
	assert_null(v);
	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	assert_int_equal(chmod(path, 0707), 0);
	assert_int_equal(cv_vault_open(path, &v), CV_ERR_PERMISSIONS);
	assert_non_null(strstr(cv_err_detail(), "other users"));
	assert_int_equal(chmod(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/v/data.mdb", (char *)*state);
	assert_int_equal(chmod(path, 0606), 0);
	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	assert_int_equal(cv_vault_open(path, &v), CV_ERR_PERMISSIONS);
	snprintf(path, sizeof(path), "%s/v/data.mdb", (char *)*state);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
login_counts_and_locks(void **state)
{
	cv_vault *v = open_vault(state);
	cv_vault_info info;
	int i;

	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_vault_logged_in(v), CV_USER_NORMAL);
	cv_vault_logout(v);
	assert_int_equal(cv_vault_logged_in(v), CV_USER_NONE);

	for (i = 1; i < CV_PIN_TRIES; i++) {
		assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "9999", 4), CV_ERR_PIN_INCORRECT);
		assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
		assert_int_equal(info.user_pin_failures, (unsigned)i);
	}
	/* A right PIN before the limit resets the count. */
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_int_equal(info.user_pin_failures, 0);
	cv_vault_logout(v);

	for (i = 0; i < CV_PIN_TRIES; i++)
		assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "0000", 4), CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_LOCKED);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_true(info.user_pin_locked);
	assert_false(info.so_pin_locked);
	/* The count is in the vault, not the handle: a new handle sees it. */
	cv_vault_close(v);
	v = open_vault(state);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_LOCKED);

	/* The SO sets a new user PIN, which unlocks it. */
	assert_int_equal(cv_vault_init_pin(v, "4321", 4), CV_ERR_NOT_LOGGED_IN);
	assert_int_equal(cv_vault_login(v, CV_USER_SO, "so-pin-1", 8), CV_OK);
	assert_int_equal(cv_vault_init_pin(v, "12", 2), CV_ERR_PIN_INVALID);
	assert_int_equal(cv_vault_init_pin(v, "4321", 4), CV_OK);
	cv_vault_logout(v);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "4321", 4), CV_OK);
	cv_vault_close(v);
}

static void
set_pin_rewraps(void **state)
{
	cv_vault *v = open_vault(state);

	assert_int_equal(cv_vault_set_pin(v, CV_USER_NORMAL, "0000", 4, "abcdef", 6),
			 CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_vault_set_pin(v, CV_USER_NORMAL, "1234", 4, "ab", 2),
			 CV_ERR_PIN_INVALID);
	assert_int_equal(cv_vault_set_pin(v, CV_USER_NORMAL, "1234", 4, "abcdef", 6), CV_OK);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "abcdef", 6), CV_OK);
	assert_int_equal(cv_vault_set_pin(v, CV_USER_SO, "so-pin-1", 8, "so-pin-2", 8), CV_OK);
	assert_int_equal(cv_vault_login(v, CV_USER_SO, "so-pin-2", 8), CV_OK);
	assert_int_equal(cv_vault_logged_in(v), CV_USER_SO);
	cv_vault_close(v);
}

static void
names(void **state)
{
	char longname[200];

	(void)state;
	assert_true(cv_name_valid("a"));
	assert_true(cv_name_valid("Web-Server-01"));
	assert_false(cv_name_valid(""));
	assert_false(cv_name_valid("a_b"));
	assert_false(cv_name_valid("a b"));
	assert_false(cv_name_valid("caf\xc3\xa9"));
	memset(longname, 'a', 127);
	longname[127] = '\0';
	assert_true(cv_name_valid(longname));
	longname[127] = 'a';
	longname[128] = '\0';
	assert_false(cv_name_valid(longname));
}

static void
config_files(void **state)
{
	char path[700];
	FILE *f;
	cv_config *c = NULL;

	snprintf(path, sizeof(path), "%s/certvault.conf", (char *)*state);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# two vaults\n\nvault = /srv/a  \n  vault=/srv/b # second\n", f);
	fclose(f);
	chmod(path, 0644);
	assert_int_equal(cv_config_load(path, &c), CV_OK);
	assert_int_equal(c->n_vaults, 2);
	assert_string_equal(c->vaults[0], "/srv/a");
	assert_string_equal(c->vaults[1], "/srv/b");
	cv_config_free(c);

	setenv("CERTVAULT_CONF", path, 1);
	assert_int_equal(cv_config_load(NULL, &c), CV_OK);
	assert_int_equal(c->n_vaults, 2);
	cv_config_free(c);
	unsetenv("CERTVAULT_CONF");

	chmod(path, 0666);
	assert_int_equal(cv_config_load(path, &c), CV_ERR_PERMISSIONS);
	assert_null(c);
	chmod(path, 0644);

	f = fopen(path, "w");
	fputs("vault = /srv/a\nslot = 3\n", f);
	fclose(f);
	assert_int_equal(cv_config_load(path, &c), CV_ERR_INVALID);
	assert_non_null(strstr(cv_err_detail(), ":2:"));
	f = fopen(path, "w");
	fputs("just words\n", f);
	fclose(f);
	assert_int_equal(cv_config_load(path, &c), CV_ERR_INVALID);

	snprintf(path, sizeof(path), "%s/missing.conf", (char *)*state);
	assert_int_equal(cv_config_load(path, &c), CV_ERR_IO);

	/* No file anywhere: CERTVAULT_VAULT names one vault. */
	setenv("XDG_CONFIG_HOME", (char *)*state, 1);
	setenv("CERTVAULT_VAULT", "/srv/only", 1);
	assert_int_equal(cv_config_load(NULL, &c), CV_OK);
	if (access("/etc/certvault/certvault.conf", F_OK) != 0) {
		assert_int_equal(c->n_vaults, 1);
		assert_string_equal(c->vaults[0], "/srv/only");
		assert_null(c->path);
	}
	cv_config_free(c);
	unsetenv("CERTVAULT_VAULT");
}

static void
token_style_init(void **state)
{
	char path[700];
	cv_vault *v = NULL;
	cv_vault_info info;
	cv_policy *p = NULL;
	cv_cert_version **list = NULL;
	cv_contact c = { "ops@contoso.com", NULL, NULL };
	size_t n;

	/* A vault made with the SO PIN only: the user PIN waits for the SO. */
	snprintf(path, sizeof(path), "%s/t", (char *)*state);
	assert_int_equal(cv_vault_create(path, "Fresh", NULL, 0, "so-pin-1", 8), CV_OK);
	assert_int_equal(cv_vault_open(path, &v), CV_OK);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_false(info.user_pin_initialized);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_NOT_INITIALIZED);
	assert_int_equal(cv_vault_login(v, CV_USER_SO, "so-pin-1", 8), CV_OK);
	assert_int_equal(cv_vault_init_pin(v, "1234", 4), CV_OK);
	cv_vault_logout(v);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_true(info.user_pin_initialized);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_OK);

	/* Re-initializing destroys the certificates, keeps contacts, renames,
	 * and unsets the user PIN; a wrong SO PIN changes nothing. */
	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(v, "doomed", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_contact_add(v, &c), CV_OK);
	assert_int_equal(cv_vault_reinit(v, "wrong-so", 8, "Renamed"), CV_ERR_PIN_INCORRECT);
	assert_int_equal(cv_cert_list(v, &list, &n), CV_OK);
	assert_int_equal(n, 1);
	cv_cert_version_list_free(list, n);
	assert_int_equal(cv_vault_reinit(v, "so-pin-1", 8, "bad name"), CV_ERR_BAD_NAME);
	assert_int_equal(cv_vault_reinit(v, "so-pin-1", 8, "Renamed"), CV_OK);
	assert_int_equal(cv_vault_logged_in(v), CV_USER_NONE);
	assert_int_equal(cv_cert_list(v, &list, &n), CV_OK);
	assert_int_equal(n, 0);
	cv_cert_version_list_free(list, n);
	assert_int_equal(cv_vault_info_get(v, &info), CV_OK);
	assert_string_equal(info.name, "Renamed");
	assert_false(info.user_pin_initialized);
	assert_int_equal(info.so_pin_failures, 0);
	{
		cv_contact *cl = NULL;

		assert_int_equal(cv_contact_list(v, &cl, &n), CV_OK);
		assert_int_equal(n, 1);
		cv_contact_clear(&cl[0]);
		free(cl);
	}
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_ERR_PIN_NOT_INITIALIZED);
	cv_policy_free(p);
	cv_vault_close(v);
}

/* The raw bytes of meta/key in the closed vault at dir, or NULL. */
static unsigned char *
raw_meta_get(const char *dir, const char *key, size_t *len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key }, d;
	unsigned char *out = NULL;

	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	if (mdb_get(txn, dbi, &k, &d) == 0) {
		out = malloc(d.mv_size);
		assert_non_null(out);
		memcpy(out, d.mv_data, d.mv_size);
		*len = d.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return out;
}

/* Put raw bytes back under meta/key, as someone with write access to the
 * files could. */
static void
raw_meta_put(const char *dir, const char *key, const unsigned char *val, size_t len)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	MDB_val k = { strlen(key), (void *)key }, d = { len, (void *)val };

	assert_int_equal(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 16);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &d, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
reinit_makes_new_master_key(void **state)
{
	char path[700];
	cv_vault *v = NULL;
	cv_policy *p = NULL;
	cv_issuer is = { .name = "acme", .provider = "ACME",
			 .account_id = "acct", .password = "eab-secret",
			 .directory_url = "https://127.0.0.1/dir", .enabled = 1,
			 .http_listen = "127.0.0.1:5002" };
	cv_issuer *got = NULL;
	unsigned char *old_pin = NULL, *sec = NULL;
	size_t old_len = 0, sec_len = 0;

	snprintf(path, sizeof(path), "%s/v", (char *)*state);
	v = open_vault(state);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "1234", 4), CV_OK);
	assert_int_equal(cv_issuer_put(v, &is, CV_PUT_CREATE, NULL), CV_OK);
	cv_vault_close(v);
	old_pin = raw_meta_get(path, "pin.user", &old_len);
	assert_non_null(old_pin);

	/* C_InitToken, a new user PIN, and a key made after it. */
	v = open_vault(state);
	assert_int_equal(cv_vault_reinit(v, "so-pin-1", 8, "Fresh"), CV_OK);
	assert_int_equal(cv_vault_login(v, CV_USER_SO, "so-pin-1", 8), CV_OK);
	assert_int_equal(cv_vault_init_pin(v, "5555", 4), CV_OK);
	cv_vault_logout(v);
	assert_int_equal(cv_vault_login(v, CV_USER_NORMAL, "5555", 4), CV_OK);
	assert_int_equal(cv_policy_default(&p), CV_OK);
	assert_int_equal(cv_cert_create(v, "after", p, NULL, NULL), CV_OK);
	assert_int_equal(cv_secret_get(v, "after", NULL, CV_SECRET_PEM, NULL, &sec, &sec_len),
			 CV_OK);
	OPENSSL_clear_free(sec, sec_len);
	sec = NULL;
	cv_vault_close(v);

	/* The old user PIN with its saved record put back: it opens the old
	 * master key only, and the new key does not unseal under it. */
	raw_meta_put(path, "pin.user", old_pin, old_len);
	v = open_vault(state);
	if (cv_vault_login(v, CV_USER_NORMAL, "1234", 4) == CV_OK)
		assert_int_not_equal(cv_secret_get(v, "after", NULL, CV_SECRET_PEM, NULL,
						   &sec, &sec_len), CV_OK);
	assert_null(sec);
	/* The issuer stays, without its password: that was sealed under the
	 * old key. */
	assert_int_equal(cv_issuer_get(v, "acme", 0, &got), CV_OK);
	assert_false(got->has_password);
	cv_issuer_free(got);
	cv_vault_close(v);
	cv_policy_free(p);
	free(old_pin);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_sets_modes_and_header, setup, teardown),
		cmocka_unit_test_setup_teardown(create_refuses_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(open_refuses_missing_and_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(login_counts_and_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(set_pin_rewraps, setup, teardown),
		cmocka_unit_test(names),
		cmocka_unit_test_setup_teardown(config_files, setup, teardown),
		cmocka_unit_test_setup_teardown(token_style_init, setup, teardown),
		cmocka_unit_test_setup_teardown(reinit_makes_new_master_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
