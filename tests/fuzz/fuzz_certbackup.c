/* Fuzz target: the certificate backup blob (store/certbackup.c).
 *
 * The first byte picks what the rest is:
 *   0  a blob's header, split by cv_cb_header_parse;
 *   1  an opened payload, decoded by cv_cb_payload_parse;
 *   2  an opened payload, sealed here into a blob of the fuzz vault (its
 *      vault id and a wrap under its master key, as a backup of it has) and
 *      restored: the payload decoder and the whole restore behind it;
 *   3  a whole blob, restored into the fuzz vault with the backup password
 *      "fuzz backup password", and without one.
 * Whatever the bytes, the store answers with an error or a restore, never
 * a crash or a read out of bounds; and a restore that succeeds leaves a
 * vault that `vault verify` finds whole (else the target aborts).
 *
 * With CV_FUZZ_SEEDS_OUT=DIR set, the target first writes seeds of each
 * kind into DIR from backups of certificates it makes (tests/fuzz/
 * make-certbackup-seeds.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "certbackup.h"
#include "fuzz.h"
#include "internal.h"

#define FUZZ_PASSWORD "fuzz backup password"

static cv_vault *vault;
static char vault_dir[64];

static void
cleanup(void)
{
	char cmd[200];

	if (vault == NULL)
		return;
	cv_vault_close(vault);
	vault = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vault_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the fuzz vault\n");
}

/* A blob of the fuzz vault around payload, with blob_key. */
static unsigned char *
seal_blob(const unsigned char *payload, size_t len, const unsigned char *blob_key,
	  size_t *blob_len)
{
	unsigned char master[CV_MASTER_KEY_LEN], mac[32];
	unsigned char head[CV_CB_HEAD_VAULT];
	unsigned char *wrap = NULL, *body = NULL, *blob = NULL;
	size_t wrap_len = 0, body_len = 0, maclen = 0;
	static const char label[] = "certvault backup vault id";

	if (cv_vault_master(vault, master) != CV_OK)
		abort();
	memcpy(head, CV_CB_MAGIC, CV_CB_MAGIC_LEN);
	head[CV_CB_MAGIC_LEN] = CV_CB_FORMAT;
	head[CV_CB_MAGIC_LEN + 1] = 0;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, master, sizeof(master),
		      (const unsigned char *)label, strlen(label), mac, sizeof(mac),
		      &maclen) == NULL)
		abort();
	memcpy(head + CV_CB_MAGIC_LEN + 2, mac, CV_CB_ID_LEN);
	if (cv_seal(master, head, CV_CB_HEAD_ID, blob_key, CV_CB_KEY_LEN, &wrap,
		    &wrap_len) != CV_OK)
		abort();
	memcpy(head + CV_CB_HEAD_ID, wrap, CV_CB_WRAP_LEN);
	if (cv_seal(blob_key, head, sizeof(head), payload, len, &body, &body_len) != CV_OK ||
	    (blob = malloc(sizeof(head) + body_len)) == NULL)
		abort();
	memcpy(blob, head, sizeof(head));
	memcpy(blob + sizeof(head), body, body_len);
	*blob_len = sizeof(head) + body_len;
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_free(wrap);
	OPENSSL_free(body);
	return blob;
}

/* The payload of a blob of the fuzz vault. */
static unsigned char *
open_blob(const unsigned char *blob, size_t len, size_t *out_len)
{
	unsigned char master[CV_MASTER_KEY_LEN];
	unsigned char *key = NULL, *payload = NULL;
	size_t keylen = 0;
	cv_cb_header h;

	if (cv_vault_master(vault, master) != CV_OK ||
	    cv_cb_header_parse(blob, len, &h) != CV_OK ||
	    cv_unseal(master, blob, CV_CB_HEAD_ID, h.vault_wrap, CV_CB_WRAP_LEN, &key,
		      &keylen) != CV_OK ||
	    cv_unseal(key, blob, h.head_len, h.body, h.body_len, &payload, out_len) != CV_OK)
		abort();
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_clear_free(key, keylen);
	return payload;
}

static void
write_seed(const char *dir, const char *name, unsigned char mode,
	   const unsigned char *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || fputc(mode, f) == EOF ||
	    fwrite(p, 1, len, f) != len || fclose(f) != 0)
		abort();
}

static void
make_seeds(const char *dir)
{
	static const char *names[] = { "ec", "rsa", "pending" };
	static const char *policies[] = {
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
		"\"x509_props\":{\"subject\":\"CN=ec\"},\"issuer\":{\"name\":\"Self\"}}",
		"{\"key_props\":{\"kty\":\"RSA\",\"key_size\":2048,\"exportable\":true},"
		"\"x509_props\":{\"subject\":\"CN=rsa\"},\"issuer\":{\"name\":\"Self\"}}",
		"{\"key_props\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"exportable\":false},"
		"\"x509_props\":{\"subject\":\"CN=pending\"},\"issuer\":{\"name\":\"Unknown\"}}",
	};
	char seed[64];
	size_t i, len, plen;
	unsigned char *blob, *payload;
	cv_policy *p;

	for (i = 0; i < 3; i++) {
		p = NULL;
		if (cv_policy_parse(policies[i], strlen(policies[i]), &p) != CV_OK ||
		    cv_cert_create(vault, names[i], p, NULL, NULL) != CV_OK)
			abort();
		if (i == 0 && cv_cert_create(vault, names[i], p, NULL, NULL) != CV_OK)
			abort();
		cv_policy_free(p);
		blob = NULL;
		if (cv_cert_backup(vault, names[i], NULL, &blob, &len) != CV_OK)
			abort();
		payload = open_blob(blob, len, &plen);
		snprintf(seed, sizeof(seed), "header-%s", names[i]);
		write_seed(dir, seed, 0, blob, len);
		snprintf(seed, sizeof(seed), "payload-%s", names[i]);
		write_seed(dir, seed, 1, payload, plen);
		snprintf(seed, sizeof(seed), "restore-payload-%s", names[i]);
		write_seed(dir, seed, 2, payload, plen);
		OPENSSL_free(blob);
		OPENSSL_clear_free(payload, plen);
		if (cv_cert_backup(vault, names[i], FUZZ_PASSWORD, &blob, &len) != CV_OK)
			abort();
		snprintf(seed, sizeof(seed), "header-password-%s", names[i]);
		write_seed(dir, seed, 0, blob, len);
		snprintf(seed, sizeof(seed), "restore-blob-%s", names[i]);
		write_seed(dir, seed, 3, blob, len);
		OPENSSL_free(blob);
	}
}

static void
init(void)
{
	char tmpl[] = "/tmp/cv-fuzz-cb-XXXXXX";
	const char *seeds = getenv("CV_FUZZ_SEEDS_OUT");

	if (mkdtemp(tmpl) == NULL ||
	    cv_vault_create(tmpl, "FuzzBackup", "1234", 4, "5678", 4) != CV_OK ||
	    cv_vault_open(tmpl, &vault) != CV_OK ||
	    cv_vault_login(vault, CV_USER_NORMAL, "1234", 4) != CV_OK)
		abort();
	snprintf(vault_dir, sizeof(vault_dir), "%s", tmpl);
	atexit(cleanup);
	if (seeds != NULL)
		make_seeds(seeds);
}

static void
no_problem(void *arg, const char *line)
{
	(void)arg;
	fprintf(stderr, "a restore left the vault damaged: %s\n", line);
	abort();
}

static void
restored(cv_err err)
{
	cv_verify_counts c;

	if (err != CV_OK)
		return;
	memset(&c, 0, sizeof(c));
	if (cv_vault_verify(vault, &c, no_problem, NULL) != CV_OK || c.problems != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char fixed_key[CV_CB_KEY_LEN] = { 0x5a };
	cv_cb_header h;
	cv_cb_payload pl;
	unsigned char *blob;
	size_t blob_len;

	if (vault == NULL)
		init();
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		(void)cv_cb_header_parse(data + 1, size - 1, &h);
		break;
	case 1:
		if (cv_cb_payload_parse(data + 1, size - 1, &pl) == CV_OK)
			cv_cb_payload_clear(&pl);
		break;
	case 2:
		blob = seal_blob(data + 1, size - 1, fixed_key, &blob_len);
		restored(cv_cert_restore(vault, blob, blob_len, NULL, NULL));
		free(blob);
		break;
	case 3:
		restored(cv_cert_restore(vault, data + 1, size - 1, FUZZ_PASSWORD, NULL));
		restored(cv_cert_restore(vault, data + 1, size - 1, NULL, NULL));
		break;
	}
	cv_err_clear();
	return 0;
}
