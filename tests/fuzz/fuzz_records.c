/* Fuzz target: every record decoder of the vault.
 *
 * One vault is made on first use.  Each input is written, as raw bytes, as
 * the value of one record in each table the store reads (the first byte
 * picks which key within a table), and then read back through the public
 * functions; the same bytes go to the decoder of unsealed private keys
 * (PKCS#8).  The operation's claim and an ACME issuer's account key and
 * binding are read from those records too.  Whatever the bytes, the store must answer with an error or a
 * value, never crash or read out of bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "internal.h"

static cv_vault *vault;
static char version[CV_VERSION_LEN + 1];

static void
cleanup(void)
{
	char cmd[300];
	const char *dir = vault ? vault->dir : NULL;

	if (dir == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cv_vault_close(vault);
	vault = NULL;
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the fuzz vault\n");
}

static void
init(void)
{
	char tmpl[] = "/tmp/cv-fuzz-XXXXXX";
	cv_policy *p = NULL;
	cv_cert_version *cv = NULL;

	if (mkdtemp(tmpl) == NULL ||
	    cv_vault_create(tmpl, "Fuzz", "1234", 4, "5678", 4) != CV_OK ||
	    cv_vault_open(tmpl, &vault) != CV_OK ||
	    cv_vault_login(vault, CV_USER_NORMAL, "1234", 4) != CV_OK ||
	    cv_policy_default(&p) != CV_OK ||
	    cv_cert_create(vault, "c", p, NULL, NULL) != CV_OK ||
	    cv_cert_get(vault, "c", NULL, &cv) != CV_OK)
		abort();
	memcpy(version, cv->version, sizeof(version));
	cv_cert_version_free(cv);
	cv_policy_free(p);
	atexit(cleanup);
}

static void
put_raw(enum cv_db db, const void *key, size_t klen, const uint8_t *data,
	size_t size)
{
	MDB_txn *txn = NULL;

	if (cv_txn_write(vault, &txn) != CV_OK)
		abort();
	if (cv_db_put(vault, txn, db, key, klen, data, size, 0) != CV_OK) {
		mdb_txn_abort(txn);
		return;
	}
	if (cv_txn_write_commit(vault, txn) != CV_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cv_vkey vk;
	cv_cert_version *cv = NULL, **list = NULL;
	cv_operation *op = NULL;
	cv_issuer *is = NULL, **issuers = NULL;
	cv_contact *contacts = NULL;
	cv_policy *p = NULL;
	cv_vault_info info;
	unsigned char *secret = NULL, mac[64];
	char **names = NULL, *jwk = NULL;
	EVP_PKEY *key = NULL;
	size_t n, slen, i;

	if (vault == NULL)
		init();
	if (cv_pkcs8_decode(data, size, &key) == CV_OK)
		EVP_PKEY_free(key);
	cv_vkey_make(&vk, "c", version);
	put_raw(CV_DB_CERTS, "c", 1, data, size);
	put_raw(CV_DB_VERSIONS, vk.b, vk.len, data, size);
	put_raw(CV_DB_SECRETS, vk.b, vk.len, data, size);
	put_raw(CV_DB_KEYS, vk.b, vk.len, data, size);
	put_raw(CV_DB_PENDING, "c", 1, data, size);
	put_raw(CV_DB_ISSUERS, "i", 1, data, size);
	put_raw(CV_DB_CONTACTS, "a@b", 3, data, size);
	put_raw(CV_DB_META, size > 0 && (data[0] & 1) ? "pin.user" : "header",
		size > 0 && (data[0] & 1) ? 8 : 6, data, size);

	if (cv_cert_get(vault, "c", NULL, &cv) == CV_OK)
		cv_cert_version_free(cv);
	if (cv_cert_get(vault, "c", version, &cv) == CV_OK)
		cv_cert_version_free(cv);
	if (cv_cert_list(vault, &list, &n) == CV_OK)
		cv_cert_version_list_free(list, n);
	if (cv_cert_list_versions(vault, "c", &list, &n) == CV_OK)
		cv_cert_version_list_free(list, n);
	if (cv_pending_get(vault, "c", &op) == CV_OK)
		cv_operation_free(op);
	if (cv_cert_policy_get(vault, "c", &p) == CV_OK)
		cv_policy_free(p);
	if (cv_secret_get(vault, "c", version, CV_SECRET_PEM, NULL, &secret, &slen) == CV_OK)
		OPENSSL_clear_free(secret, slen);
	if (cv_issuer_get(vault, "i", 1, &is) == CV_OK)
		cv_issuer_free(is);
	if (cv_issuer_list(vault, &issuers, &n) == CV_OK) {
		for (i = 0; i < n; i++)
			cv_issuer_free(issuers[i]);
		free(issuers);
	}
	if (cv_op_list_active(vault, &names, &n) == CV_OK) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (cv_op_claim(vault, "c", 60, &op) == CV_OK) {
		(void)cv_op_release(vault, op);
		cv_operation_free(op);
	}
	if (cv_issuer_account_jwk(vault, "i", &jwk) == CV_OK)
		free(jwk);
	(void)cv_issuer_account_sign(vault, "i", data, size, mac);
	(void)cv_issuer_eab_mac(vault, "i", data, size, mac);
	if (cv_contact_list(vault, &contacts, &n) == CV_OK) {
		for (i = 0; i < n; i++)
			cv_contact_clear(&contacts[i]);
		free(contacts);
	}
	(void)cv_vault_info_get(vault, &info);
	return 0;
}
