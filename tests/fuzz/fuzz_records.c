/* Fuzz target: every record decoder of the vault.
 *
 * One vault is made on first use.  Each input is written, as raw bytes, as
 * the value of one record in each table the store reads (the first byte
 * picks which key within a table), and then read back through the public
 * functions; the same bytes go to the decoder of unsealed private keys
 * (PKCS#8).  The operation's claim and an ACME issuer's account key and
 * binding are read from those records too, and the lifetime tables'
 * records (a trigger, a due entry, the outbox, events, the mail relay and
 * hook, fired as a pass fires them), and a deleted certificate's record
 * (read, listed, recovered, purged).  Whatever the bytes, the store must answer with an error or a
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
	cv_life_due *due = NULL;
	cv_life_result lr;
	cv_mail *mails = NULL;
	cv_event *events = NULL;
	cv_mail_settings *ms = NULL;
	cv_deleted_cert *del = NULL, **dels = NULL;
	unsigned char tkey[CV_NAME_MAX + CV_VERSION_LEN + 16], dkey[sizeof(tkey) + 8];
	unsigned char one[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	size_t tlen;
	uint64_t seq;
	char *text = NULL;
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

	/* The lifetime tables: a trigger of kind 2 to 4 (AutoRenew would make
	 * a key per input) due at 0, the outbox, events and settings. */
	tlen = (size_t)snprintf((char *)tkey, sizeof(tkey), "c%c%s%c", 0, version, 0);
	tkey[tlen++] = (unsigned char)(size > 0 ? 2 + data[0] % 3 : 2);
	memset(dkey, 0, 8);
	memcpy(dkey + 8, tkey, tlen);
	put_raw(CV_DB_TRIGGERS, tkey, tlen, data, size);
	put_raw(CV_DB_DUE, dkey, tlen + 8, (const uint8_t *)"c", 1);
	if (size > 0 && size < 400)
		put_raw(CV_DB_DUE, data, size, (const uint8_t *)"c", 1);
	put_raw(CV_DB_OUTBOX, one, 8, data, size);
	put_raw(CV_DB_EVENTS, one, 8, data, size);
	put_raw(CV_DB_META, size > 0 && (data[0] & 2) ? "mail" : "hook", 4, data, size);
	put_raw(CV_DB_META, size > 0 && (data[0] & 4) ? "hook.cursor" : "events.next",
		11, data, size);
	put_raw(CV_DB_DELETED, "d", 1, data, size);

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

	if (cv_life_due_list(vault, INT64_MAX / 2, 16, &due, &n) == CV_OK) {
		for (i = 0; i < n; i++)
			if (due[i].kind != CV_LIFE_AUTO_RENEW)
				(void)cv_life_fire(vault, &due[i], 1, &lr);
		free(due);
	}
	if (cv_outbox_list(vault, INT64_MAX, &mails, &n) == CV_OK)
		cv_mail_list_free(mails, n);
	(void)cv_outbox_failed(vault, 1, 0, "fuzz", 1, NULL);
	if (cv_event_list(vault, 0, 0, &events, &n) == CV_OK) {
		for (i = 0; i < n; i++)
			if (cv_event_json(&events[i], "Fuzz", &text) == CV_OK)
				free(text);
		cv_event_list_free(events, n);
	}
	if (cv_mail_settings_get(vault, 1, &ms) == CV_OK)
		cv_mail_settings_free(ms);
	if (cv_hook_get(vault, &text) == CV_OK)
		free(text);
	(void)cv_hook_cursor_get(vault, &seq);

	if (cv_cert_get_deleted(vault, "d", &del) == CV_OK)
		cv_deleted_cert_free(del);
	if (cv_cert_list_deleted(vault, &dels, &n) == CV_OK)
		cv_deleted_cert_list_free(dels, n);
	if (cv_cert_recover(vault, "d", &cv) == CV_OK) {
		cv_cert_version_free(cv);
		(void)cv_cert_delete(vault, "d", &del);
		cv_deleted_cert_free(del);
		del = NULL;
	}
	(void)cv_vault_purge_due(vault, INT64_MAX / 2, &n);
	return 0;
}
