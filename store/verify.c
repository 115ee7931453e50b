/* certvault: vault verify, every record read back and every link followed.
 *
 * One read transaction sees one committed state, so a check never reports
 * a link that a writer was in the middle of making.  Records are read with
 * the readers the rest of the store uses where there is one, so a record
 * verify passes is a record the store can use. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "internal.h"

struct verify {
	cv_vault *v;
	MDB_txn *txn;
	cv_verify_counts *n;
	void (*problem)(void *arg, const char *line);
	void *arg;
	int sealed;              /* the user is logged in: open sealed records */
	/* Highest numbers seen, for the counters in meta (verify_meta). */
	uint64_t max_key_num, max_outbox_id, max_event_seq;
	int any_key_num, any_outbox, any_event;
};

static void damaged(struct verify *s, const char *table, const MDB_val *k,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A record's key as text: name/version/kind, other bytes as \xNN. */
static void
key_text(const MDB_val *k, char *out, size_t cap)
{
	const unsigned char *p = k->mv_data;
	size_t i, o = 0;

	for (i = 0; i < k->mv_size && o + 5 < cap; i++) {
		if (p[i] == '\0')
			out[o++] = '/';
		else if (isprint(p[i]) && p[i] != '\\')
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
	}
	out[o] = '\0';
}

static void
damaged(struct verify *s, const char *table, const MDB_val *k,
	const char *fmt, ...)
{
	char key[400], what[600], line[1100];
	va_list ap;

	key_text(k, key, sizeof(key));
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s/%s: %s", table, key, what);
	s->n->problems++;
	s->problem(s->arg, line);
}

/* The store's reason for a failed read, for a report line. */
static const char *
reason(cv_err err)
{
	const char *d = cv_err_detail();

	return d[0] != '\0' ? d : cv_strerror(err);
}

static int
exists(struct verify *s, enum cv_db db, const void *key, size_t len)
{
	MDB_val val;

	return cv_db_get(s->v, s->txn, db, key, len, &val) == CV_OK;
}

/* A "name\0version" key split into its two strings; 0 when it is not one. */
static int
split_vkey(const MDB_val *k, char name[CV_NAME_MAX + 1],
	   char version[CV_VERSION_LEN + 1])
{
	const char *p = k->mv_data, *nul;
	size_t nlen, vlen;

	nul = memchr(p, '\0', k->mv_size);
	if (nul == NULL)
		return 0;
	nlen = (size_t)(nul - p);
	vlen = k->mv_size - nlen - 1;
	if (nlen == 0 || nlen > CV_NAME_MAX || vlen == 0 || vlen > CV_VERSION_LEN ||
	    memchr(nul + 1, '\0', vlen) != NULL)
		return 0;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	memcpy(version, nul + 1, vlen);
	version[vlen] = '\0';
	return 1;
}

/* A key that is a name, as a string; 0 when it is not one. */
static int
name_key(const MDB_val *k, char name[CV_NAME_MAX + 1])
{
	if (k->mv_size == 0 || k->mv_size > CV_NAME_MAX ||
	    memchr(k->mv_data, '\0', k->mv_size) != NULL)
		return 0;
	memcpy(name, k->mv_data, k->mv_size);
	name[k->mv_size] = '\0';
	return 1;
}

typedef cv_err (*check_fn)(struct verify *s, const MDB_val *k, const MDB_val *val);

/* Run check on every record of db.  A read failure of LMDB itself ends
 * the walk with that error; damage found is reported and the walk goes on. */
static cv_err
walk(struct verify *s, enum cv_db db, size_t *count, check_fn check)
{
	MDB_cursor *c = NULL;
	MDB_val k, val;
	cv_err err = CV_OK;
	int rc;

	if ((rc = mdb_cursor_open(s->txn, s->v->dbi[db], &c)) != 0)
		return cv_mdb_err(rc, "verify");
	for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
		(*count)++;
		if ((err = check(s, &k, &val)) != CV_OK)
			goto done;
	}
	if (rc != MDB_NOTFOUND)
		err = cv_mdb_err(rc, "verify");
done:
	mdb_cursor_close(c);
	return err;
}

/* Decoding alone, for the kinds whose readers work on a record in hand. */
static int
decodes(struct verify *s, const char *table, const MDB_val *k, const MDB_val *val,
	enum cv_rec_type type, const unsigned *repeats, cv_field f[CV_T__MAX])
{
	cv_err err;

	cv_err_clear();
	err = cv_rec_parse(val->mv_data, val->mv_size, type, repeats, f);
	if (err != CV_OK) {
		damaged(s, table, k, "does not decode: %s", reason(err));
		return 0;
	}
	return 1;
}

/* --- The key indexes, both ways ---------------------------------------------------- */

static uint64_t
be64_max(uint64_t max, const void *p)
{
	const unsigned char *b = p;
	uint64_t x = 0;
	int i;

	for (i = 0; i < 8; i++)
		x = x << 8 | b[i];
	return x > max ? x : max;
}

/* The key an index entry names, read; 0 (and damage reported) when the
 * entry names none or one that does not exist.  A key that exists but does
 * not decode is reported under keys. */
static int
index_key(struct verify *s, const char *table, const MDB_val *k, const MDB_val *val,
	  cv_key_rec *kr, cv_err *err)
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];

	*err = CV_OK;
	if (!split_vkey(val, name, version)) {
		damaged(s, table, k, "does not name a key (name/version)");
		return 0;
	}
	cv_err_clear();
	*err = cv_key_rec_read_part(s->v, s->txn, name, version, 0, kr);
	if (*err == CV_ERR_NOT_FOUND)
		damaged(s, table, k, "names the key %s/%s, which does not exist", name, version);
	if (*err != CV_ERR_NOMEM)
		cv_err_clear();
	return *err == CV_OK;
}

/* key_ids: CKA_ID -> name/version, each naming a key with that CKA_ID. */
static cv_err
check_key_id(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	cv_key_rec kr;
	cv_err err;

	memset(&kr, 0, sizeof(kr));
	if (k->mv_size != sizeof(kr.key_id)) {
		damaged(s, "key_ids", k, "the key is not a %zu-byte key id", sizeof(kr.key_id));
		return CV_OK;
	}
	if (index_key(s, "key_ids", k, val, &kr, &err) &&
	    memcmp(kr.key_id, k->mv_data, sizeof(kr.key_id)) != 0) {
		char named[400];

		key_text(val, named, sizeof(named));
		damaged(s, "key_ids", k, "names the key %s, whose key id differs", named);
	}
	cv_key_rec_clear(&kr);
	return err == CV_ERR_NOMEM ? err : CV_OK;
}

/* key_nums: number -> name/version, each naming a key with that number. */
static cv_err
check_key_num(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	cv_key_rec kr;
	uint64_t num;
	cv_err err;

	memset(&kr, 0, sizeof(kr));
	if (k->mv_size != 8) {
		damaged(s, "key_nums", k, "the key is not an 8-byte key number");
		return CV_OK;
	}
	num = be64_max(0, k->mv_data);
	s->max_key_num = num > s->max_key_num ? num : s->max_key_num;
	s->any_key_num = 1;
	if (index_key(s, "key_nums", k, val, &kr, &err) && kr.num != num) {
		char named[400];

		key_text(val, named, sizeof(named));
		damaged(s, "key_nums", k, "names the key %s, whose number is %llu", named,
			(unsigned long long)kr.num);
	}
	cv_key_rec_clear(&kr);
	return err == CV_ERR_NOMEM ? err : CV_OK;
}

/* Every key has its entries: key_ids holds (its CKA_ID -> it) and key_nums
 * (its number -> it), so the token shows it and its handle finds it. */
static cv_err
check_key_indexed(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1], lname[CV_NAME_MAX + 1];
	unsigned char nk[8];
	MDB_cursor *c = NULL;
	MDB_val id, self, got;
	cv_key_rec kr;
	cv_err err;
	int i, rc;

	(void)val;
	memset(&kr, 0, sizeof(kr));
	if (!split_vkey(k, name, version))
		return CV_OK;           /* reported by check_key */
	cv_err_clear();
	if ((err = cv_key_rec_read_part(s->v, s->txn, name, version, 0, &kr)) != CV_OK) {
		cv_err_clear();
		return err == CV_ERR_NOMEM ? err : CV_OK;   /* likewise */
	}
	s->max_key_num = kr.num > s->max_key_num ? kr.num : s->max_key_num;
	s->any_key_num = 1;
	/* A deleted certificate's keys are out of both indexes on purpose
	 * (check_deleted reports an entry left behind). */
	cv_name_key(name, lname);
	if (s->v->has_deleted && cv_deleted_exists(s->v, s->txn, lname))
		goto done;
	id.mv_data = kr.key_id;
	id.mv_size = sizeof(kr.key_id);
	self = *k;
	if ((rc = mdb_cursor_open(s->txn, s->v->dbi[CV_DB_KEY_IDS], &c)) != 0) {
		err = cv_mdb_err(rc, "verify");
		goto done;
	}
	rc = mdb_cursor_get(c, &id, &self, MDB_GET_BOTH);
	if (rc == MDB_NOTFOUND)
		damaged(s, "keys", k, "is missing from key_ids");
	else if (rc != 0)
		err = cv_mdb_err(rc, "verify");
	for (i = 0; i < 8; i++)
		nk[i] = (unsigned char)(kr.num >> (56 - 8 * i));
	if (cv_db_get(s->v, s->txn, CV_DB_KEY_NUMS, nk, sizeof(nk), &got) != CV_OK)
		damaged(s, "keys", k, "its number %llu is missing from key_nums",
			(unsigned long long)kr.num);
	else if (got.mv_size != k->mv_size || memcmp(got.mv_data, k->mv_data, k->mv_size) != 0)
		damaged(s, "keys", k, "its number %llu names another key in key_nums",
			(unsigned long long)kr.num);
	cv_err_clear();
done:
	if (c != NULL)
		mdb_cursor_close(c);
	cv_key_rec_clear(&kr);
	return err;
}

/* --- The meta records ------------------------------------------------------------- */

/* A counter in meta: absent (0), or 8 bytes (1, *value set); damage
 * reported otherwise (-1). */
static int
meta_counter(struct verify *s, const char *key, uint64_t *value)
{
	MDB_val k = { strlen(key), (void *)key }, val;

	if (cv_db_get(s->v, s->txn, CV_DB_META, key, strlen(key), &val) != CV_OK) {
		cv_err_clear();
		return 0;
	}
	s->n->meta++;
	if (val.mv_size != 8) {
		damaged(s, "meta", &k, "is %zu bytes, not an 8-byte counter", val.mv_size);
		return -1;
	}
	*value = be64_max(0, val.mv_data);
	return 1;
}

/* The vault record (name, serial, creation time, format), the counters
 * that hand out numbers (each beyond every number given), and the
 * generation.  (A PIN record that does not decode or is missing refuses the
 * vault before verify: cv_vault_info_get reads them.) */
static void
verify_meta(struct verify *s)
{
	MDB_val hk = { 6, (void *)"header" }, val, pk;
	cv_field f[CV_T__MAX];
	char name[CV_NAME_MAX + 1], serial[17];
	uint64_t created = 0, format = 0, next;

	cv_err_clear();
	if (cv_db_get(s->v, s->txn, CV_DB_META, "header", 6, &val) != CV_OK) {
		damaged(s, "meta", &hk, "the vault record is missing");
	} else if (s->n->meta++, decodes(s, "meta", &hk, &val, CV_REC_HEADER, NULL, f)) {
		if (cv_field_strbuf(&f[CV_T_NAME], name, sizeof(name)) != CV_OK ||
		    name[0] == '\0')
			damaged(s, "meta", &hk, "the vault has no name");
		if (cv_field_strbuf(&f[CV_T_SERIAL], serial, sizeof(serial)) != CV_OK ||
		    strlen(serial) != 16 || strspn(serial, "0123456789abcdef") != 16)
			damaged(s, "meta", &hk, "the serial number is not 16 hex digits");
		if (cv_field_u64(&f[CV_T_CREATED], 0, &created) != CV_OK || created == 0 ||
		    created > (uint64_t)cv_now() + 86400)
			damaged(s, "meta", &hk, "the creation time is missing or in the future");
		if (cv_field_u64(&f[CV_T_VAULT_FORMAT], 0, &format) != CV_OK ||
		    format != CV_VAULT_FORMAT)
			damaged(s, "meta", &hk, "the format is %llu, not %d",
				(unsigned long long)format, CV_VAULT_FORMAT);
		cv_err_clear();
	}
	if (meta_counter(s, "next_key_num", &next) == 1 ? s->any_key_num && next <= s->max_key_num
						: s->any_key_num) {
		pk.mv_data = (void *)"next_key_num";
		pk.mv_size = 12;
		damaged(s, "meta", &pk, "does not lie beyond key number %llu",
			(unsigned long long)s->max_key_num);
	}
	if (meta_counter(s, "outbox.next", &next) == 1 ? s->any_outbox && next <= s->max_outbox_id
					       : s->any_outbox) {
		pk.mv_data = (void *)"outbox.next";
		pk.mv_size = 11;
		damaged(s, "meta", &pk, "does not lie beyond mail %llu",
			(unsigned long long)s->max_outbox_id);
	}
	if (meta_counter(s, "events.next", &next) == 1 ? s->any_event && next <= s->max_event_seq
					       : s->any_event) {
		pk.mv_data = (void *)"events.next";
		pk.mv_size = 11;
		damaged(s, "meta", &pk, "does not lie beyond event %llu",
			(unsigned long long)s->max_event_seq);
	}
	(void)meta_counter(s, "hook.cursor", &next);
	/* The generation is LMDB's last committed transaction: never behind
	 * the state this walk reads. */
	s->n->generation = cv_vault_generation(s->v);
	if (s->n->generation < (uint64_t)mdb_txn_id(s->txn)) {
		pk.mv_data = (void *)"generation";
		pk.mv_size = 10;
		damaged(s, "meta", &pk, "%llu is behind the transaction read (%llu)",
			(unsigned long long)s->n->generation,
			(unsigned long long)mdb_txn_id(s->txn));
	}
}

/* --- The lifetime records' links ------------------------------------------------ */

/* The record's name and version fields, as strings; 0 (and damage reported
 * under table) when either is missing or malformed. */
static int
record_version(struct verify *s, const char *table, const MDB_val *k,
	       const cv_field f[CV_T__MAX], char name[CV_NAME_MAX + 1],
	       char version[CV_VERSION_LEN + 1])
{
	cv_err_clear();
	if (cv_field_strbuf(&f[CV_T_NAME], name, CV_NAME_MAX + 1) != CV_OK ||
	    name[0] == '\0') {
		damaged(s, table, k, "names no certificate");
		return 0;
	}
	cv_err_clear();
	if (cv_field_strbuf(&f[CV_T_VERSION], version, CV_VERSION_LEN + 1) != CV_OK ||
	    version[0] == '\0') {
		damaged(s, table, k, "names no version of %s", name);
		return 0;
	}
	return 1;
}

/* name/version is a version of a certificate in the vault, live or
 * deleted (a deleted one keeps its versions, triggers and mail until it is
 * purged). */
static int
version_exists(struct verify *s, const char *name, const char *version)
{
	cv_vkey vk;
	const char *lname;

	cv_vkey_make(&vk, name, version);
	lname = (const char *)vk.b;
	return (exists(s, CV_DB_CERTS, lname, strlen(lname)) ||
		(s->v->has_deleted && cv_deleted_exists(s->v, s->txn, lname))) &&
	       exists(s, CV_DB_VERSIONS, vk.b, vk.len);
}

/* A trigger belongs to a version that exists, and its key says which. */
static void
trigger_links(struct verify *s, const MDB_val *k, const cv_field f[CV_T__MAX])
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_vkey vk;

	if (!record_version(s, "triggers", k, f, name, version))
		return;
	cv_vkey_make(&vk, name, version);
	if (k->mv_size <= vk.len || memcmp(k->mv_data, vk.b, vk.len) != 0 ||
	    ((const unsigned char *)k->mv_data)[vk.len] != '\0')
		damaged(s, "triggers", k, "its key is not its record's %s/%s", name, version);
	if (!version_exists(s, name, version))
		damaged(s, "triggers", k, "its version %s/%s does not exist", name, version);
}

/* A mail waiting in the outbox tells of a version that exists: a purge
 * takes a certificate's mail with it. */
static void
mail_links(struct verify *s, const MDB_val *k, const cv_field f[CV_T__MAX])
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];

	if (k->mv_size != 8) {
		damaged(s, "outbox", k, "the key is not an 8-byte id");
		return;
	}
	s->max_outbox_id = be64_max(s->max_outbox_id, k->mv_data);
	s->any_outbox = 1;
	if (record_version(s, "outbox", k, f, name, version) &&
	    !version_exists(s, name, version))
		damaged(s, "outbox", k, "its version %s/%s does not exist", name, version);
}

/* An event is history: it is delivered to the hook after what it tells of
 * happened, and a purge neither rewrites history nor drops an event not yet
 * delivered.  So an event may name a certificate or version that is gone
 * (counted, not damage); it must name one, and its sequence number must be
 * one the vault gave out. */
static void
event_links(struct verify *s, const MDB_val *k, const cv_field f[CV_T__MAX])
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];

	if (k->mv_size != 8) {
		damaged(s, "events", k, "the key is not an 8-byte sequence number");
		return;
	}
	s->max_event_seq = be64_max(s->max_event_seq, k->mv_data);
	s->any_event = 1;
	if (record_version(s, "events", k, f, name, version) &&
	    !version_exists(s, name, version))
		s->n->events_of_gone++;
}

static cv_err
check_cert(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1];
	cv_cert_rec cert;
	cv_policy *policy = NULL;
	cv_vkey vk;
	cv_err err;

	(void)val;
	memset(&cert, 0, sizeof(cert));
	if (!name_key(k, name)) {
		damaged(s, "certs", k, "the key is not a certificate name");
		return CV_OK;
	}
	cv_err_clear();
	if ((err = cv_cert_rec_read(s->v, s->txn, name, &cert)) != CV_OK) {
		damaged(s, "certs", k, "does not decode: %s", reason(err));
		goto done;
	}
	cv_err_clear();
	if ((err = cv_cert_rec_policy(&cert, &policy)) != CV_OK)
		damaged(s, "certs", k, "its policy does not parse: %s", reason(err));
	if (cert.current[0] != '\0') {
		cv_vkey_make(&vk, cert.name, cert.current);
		if (!exists(s, CV_DB_VERSIONS, vk.b, vk.len))
			damaged(s, "certs", k, "its current version %s does not exist",
				cert.current);
	}
done:
	cv_policy_free(policy);
	cv_cert_rec_clear(&cert);
	return err == CV_ERR_NOMEM ? err : CV_OK;
}

static cv_err
check_version(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	static const unsigned repeats[] = { CV_T_CHAIN, CV_T_TAG_NAME, CV_T_TAG_VALUE, 0 };
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_field f[CV_T__MAX];

	if (!split_vkey(k, name, version)) {
		damaged(s, "versions", k, "the key is not name/version");
		return CV_OK;
	}
	if (decodes(s, "versions", k, val, CV_REC_VERSION, repeats, f) &&
	    !f[CV_T_DER].present)
		damaged(s, "versions", k, "has no certificate");
	if (!exists(s, CV_DB_CERTS, name, strlen(name)) &&
	    !cv_deleted_exists(s->v, s->txn, name))
		damaged(s, "versions", k, "its certificate %s does not exist", name);
	if (!exists(s, CV_DB_KEYS, k->mv_data, k->mv_size))
		damaged(s, "versions", k, "its key does not exist");
	if (!exists(s, CV_DB_SECRETS, k->mv_data, k->mv_size))
		damaged(s, "versions", k, "its secret does not exist");
	return CV_OK;
}

static cv_err
check_key(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_key_rec kr;
	EVP_PKEY *priv = NULL;
	cv_err err;

	(void)val;
	memset(&kr, 0, sizeof(kr));
	if (!split_vkey(k, name, version)) {
		damaged(s, "keys", k, "the key is not name/version");
		return CV_OK;
	}
	cv_err_clear();
	if ((err = cv_key_rec_read(s->v, s->txn, name, version, &kr)) != CV_OK) {
		damaged(s, "keys", k, "does not decode: %s", reason(err));
		goto done;
	}
	if (s->sealed) {
		cv_err_clear();
		if ((err = cv_key_rec_private(s->v, name, version, &kr, &priv)) != CV_OK)
			damaged(s, "keys", k, "its private key does not open: %s",
				reason(err));
		else
			s->n->sealed++;
	}
done:
	EVP_PKEY_free(priv);
	cv_key_rec_clear(&kr);
	return err == CV_ERR_NOMEM ? err : CV_OK;
}

static cv_err
check_secret(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1], version[CV_VERSION_LEN + 1];
	cv_field f[CV_T__MAX];
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	cv_err err;

	if (!split_vkey(k, name, version)) {
		damaged(s, "secrets", k, "the key is not name/version");
		return CV_OK;
	}
	if (!decodes(s, "secrets", k, val, CV_REC_SECRET, NULL, f))
		return CV_OK;
	if (!f[CV_T_SEALED].present) {
		damaged(s, "secrets", k, "has no sealed secret");
		return CV_OK;
	}
	if (!exists(s, CV_DB_VERSIONS, k->mv_data, k->mv_size))
		damaged(s, "secrets", k, "its version does not exist");
	if (s->sealed) {
		cv_err_clear();
		err = cv_vault_unseal(s->v, CV_DB_SECRETS, k->mv_data, k->mv_size,
				      f[CV_T_SEALED].p, f[CV_T_SEALED].len,
				      &plain, &plain_len);
		if (err == CV_ERR_NOMEM)
			return err;
		if (err != CV_OK)
			damaged(s, "secrets", k, "does not open: %s", reason(err));
		else
			s->n->sealed++;
		OPENSSL_clear_free(plain, plain_len);
	}
	return CV_OK;
}

static cv_err
check_operation(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1];
	cv_operation *op = NULL;
	int active;
	cv_err err;

	(void)val;
	if (!name_key(k, name)) {
		damaged(s, "pending", k, "the key is not a certificate name");
		return CV_OK;
	}
	cv_err_clear();
	if ((err = cv_op_read(s->v, s->txn, name, &op)) != CV_OK) {
		damaged(s, "pending", k, "does not decode: %s", reason(err));
		return err == CV_ERR_NOMEM ? err : CV_OK;
	}
	if (!exists(s, CV_DB_CERTS, name, strlen(name)))
		damaged(s, "pending", k, "its certificate does not exist");
	/* Until the first listing fills ops_active ("ops.indexed"), an
	 * older vault's operations are not in it yet, which is no damage. */
	if (s->v->has_op_index && exists(s, CV_DB_META, "ops.indexed", 11)) {
		active = exists(s, CV_DB_OPS_ACTIVE, name, strlen(name));
		if (op->status == CV_OP_IN_PROGRESS && !active)
			damaged(s, "pending", k, "is inProgress but not in ops_active");
	}
	cv_operation_free(op);
	return CV_OK;
}

static cv_err
check_issuer(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1];
	cv_issuer *is = NULL;
	cv_err err;

	(void)val;
	if (!name_key(k, name)) {
		damaged(s, "issuers", k, "the key is not an issuer name");
		return CV_OK;
	}
	cv_err_clear();
	if ((err = cv_issuer_read(s->v, s->txn, name, &is)) != CV_OK) {
		damaged(s, "issuers", k, "does not decode: %s", reason(err));
		return err == CV_ERR_NOMEM ? err : CV_OK;
	}
	if (s->sealed && is->has_account_key) {
		unsigned char sig[64];

		/* Signing unseals the account key and checks it against the
		 * record's public key: the whole of what the ACME client uses. */
		cv_err_clear();
		err = cv_issuer_account_sign(s->v, name, (const unsigned char *)"verify",
					     6, sig);
		OPENSSL_cleanse(sig, sizeof(sig));
		if (err == CV_ERR_NOMEM)
			goto done;
		if (err != CV_OK)
			damaged(s, "issuers", k, "its ACME account key does not open: %s",
				reason(err));
		else
			s->n->sealed++;
		err = CV_OK;
	}
	if (s->sealed && is->has_password) {
		cv_issuer_free(is);
		is = NULL;
		cv_err_clear();
		if ((err = cv_issuer_get(s->v, name, 1, &is)) != CV_OK)
			damaged(s, "issuers", k, "its password does not open: %s",
				reason(err));
		else
			s->n->sealed++;
	}
done:
	cv_issuer_free(is);
	return err == CV_ERR_NOMEM ? err : CV_OK;
}

static cv_err
check_contact(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	cv_field f[CV_T__MAX];

	(void)decodes(s, "contacts", k, val, CV_REC_CONTACT, NULL, f);
	return CV_OK;
}

static cv_err
check_trigger(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	cv_field f[CV_T__MAX];

	if (decodes(s, "triggers", k, val, CV_REC_TRIGGER, NULL, f))
		trigger_links(s, k, f);
	return CV_OK;
}

static cv_err
check_due(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	MDB_val trigger;
	unsigned char when[8];
	uint64_t due = 0;
	int i;

	(void)val;
	if (k->mv_size <= 8) {
		damaged(s, "due", k, "the key is not a time and a trigger");
		return CV_OK;
	}
	trigger.mv_data = (unsigned char *)k->mv_data + 8;
	trigger.mv_size = k->mv_size - 8;
	memcpy(when, k->mv_data, 8);
	for (i = 0; i < 8; i++)
		due = due << 8 | when[i];
	if (!exists(s, CV_DB_TRIGGERS, trigger.mv_data, trigger.mv_size))
		damaged(s, "due", &trigger, "its trigger does not exist (due at %llu)",
			(unsigned long long)due);
	return CV_OK;
}

static cv_err
check_mail(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	static const unsigned repeats[] = { CV_T_TO, 0 };
	cv_field f[CV_T__MAX];

	if (decodes(s, "outbox", k, val, CV_REC_MAIL, repeats, f))
		mail_links(s, k, f);
	return CV_OK;
}

static cv_err
check_event(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	cv_field f[CV_T__MAX];

	if (decodes(s, "events", k, val, CV_REC_EVENT, NULL, f))
		event_links(s, k, f);
	return CV_OK;
}

static cv_err
check_active(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char name[CV_NAME_MAX + 1];
	cv_operation *op = NULL;
	cv_err err;

	(void)val;
	if (!name_key(k, name)) {
		damaged(s, "ops_active", k, "the key is not a certificate name");
		return CV_OK;
	}
	cv_err_clear();
	err = cv_op_read(s->v, s->txn, name, &op);
	if (err == CV_ERR_NOMEM)
		return err;
	if (err == CV_ERR_NO_OPERATION)
		damaged(s, "ops_active", k, "lists an operation that does not exist");
	else if (err == CV_OK && op->status != CV_OP_IN_PROGRESS)
		damaged(s, "ops_active", k, "lists an operation that is %s, not inProgress",
			cv_op_status_name(op->status));
	/* An operation that does not decode is reported under pending. */
	cv_operation_free(op);
	return CV_OK;
}

/* --- The deleted state ----------------------------------------------------- */

struct deleted_check {
	struct verify *s;
	const MDB_val *k;        /* the deleted record's key */
	const char *lname;
	int certs;               /* certificate records moved */
	cv_cert_rec cert;
};

/* One entry a delete moved out of the live tables: it names what is
 * still there (a key, a trigger) and is itself gone from the live table. */
static cv_err
deleted_entry(cv_vault *v, MDB_txn *txn, enum cv_db db, const MDB_val *key,
	      const MDB_val *val, void *arg)
{
	struct deleted_check *dc = arg;
	struct verify *s = dc->s;
	cv_err err;

	(void)v;
	(void)txn;
	switch (db) {
	case CV_DB_CERTS:
		dc->certs++;
		if (key->mv_size != strlen(dc->lname) ||
		    memcmp(key->mv_data, dc->lname, key->mv_size) != 0)
			damaged(s, "deleted", dc->k, "holds the record of another certificate");
		cv_cert_rec_clear(&dc->cert);
		cv_err_clear();
		if ((err = cv_cert_rec_decode(val->mv_data, val->mv_size, &dc->cert)) != CV_OK) {
			if (err == CV_ERR_NOMEM)
				return err;
			damaged(s, "deleted", dc->k, "its certificate record does not decode: %s",
				reason(err));
		}
		break;
	case CV_DB_KEY_IDS:
	case CV_DB_KEY_NUMS:
		/* whether the live index still has them: deleted_keys_unindexed */
		if (!exists(s, CV_DB_KEYS, val->mv_data, val->mv_size))
			damaged(s, "deleted", dc->k, "its %s entry names a key that does not exist",
				db == CV_DB_KEY_IDS ? "key id" : "key number");
		break;
	case CV_DB_DUE:
		if (key->mv_size <= 8 ||
		    !exists(s, CV_DB_TRIGGERS, (const unsigned char *)key->mv_data + 8,
			    key->mv_size - 8))
			damaged(s, "deleted", dc->k, "its due entry names a trigger that does not "
				"exist");
		else if (exists(s, db, key->mv_data, key->mv_size))
			damaged(s, "deleted", dc->k, "its trigger is still in the due index");
		break;
	default: /* pending, ops_active: checked by name below */
		break;
	}
	return CV_OK;
}

/* No live index entry points at a key of the deleted certificate lname. */
static cv_err
deleted_keys_unindexed(struct verify *s, const MDB_val *dk, const char *lname)
{
	unsigned char prefix[CV_NAME_MAX + 1], nk[8];
	size_t plen = strlen(lname) + 1;
	MDB_cursor *cur = NULL, *ids = NULL;
	MDB_val k, d, id, vk, got;
	char version[CV_VERSION_LEN + 1];
	cv_key_rec kr;
	cv_err err = CV_OK;
	int rc;

	memset(&kr, 0, sizeof(kr));
	memcpy(prefix, lname, plen);
	if ((rc = mdb_cursor_open(s->txn, s->v->dbi[CV_DB_KEYS], &cur)) != 0 ||
	    (rc = mdb_cursor_open(s->txn, s->v->dbi[CV_DB_KEY_IDS], &ids)) != 0) {
		err = cv_mdb_err(rc, "verify");
		goto done;
	}
	k.mv_data = prefix;
	k.mv_size = plen;
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == plen + CV_VERSION_LEN && memcmp(k.mv_data, prefix, plen) == 0;
	     rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		memcpy(version, (const char *)k.mv_data + plen, CV_VERSION_LEN);
		version[CV_VERSION_LEN] = '\0';
		cv_err_clear();
		if (cv_key_rec_read_part(s->v, s->txn, lname, version, 0, &kr) != CV_OK)
			continue; /* reported under keys */
		num_be(kr.num, nk);
		if (cv_db_get(s->v, s->txn, CV_DB_KEY_NUMS, nk, sizeof(nk), &got) == CV_OK &&
		    got.mv_size == k.mv_size && memcmp(got.mv_data, k.mv_data, k.mv_size) == 0)
			damaged(s, "deleted", dk, "key_nums still points at its key %s", version);
		id.mv_data = kr.key_id;
		id.mv_size = sizeof(kr.key_id);
		vk = k;
		if (mdb_cursor_get(ids, &id, &vk, MDB_GET_BOTH) == 0)
			damaged(s, "deleted", dk, "key_ids still points at its key %s", version);
		cv_key_rec_clear(&kr);
	}
	cv_err_clear();
done:
	cv_key_rec_clear(&kr);
	mdb_cursor_close(ids);
	mdb_cursor_close(cur);
	return err;
}

static cv_err
check_deleted(struct verify *s, const MDB_val *k, const MDB_val *val)
{
	char lname[CV_NAME_MAX + 1], written[CV_NAME_MAX + 1], wl[CV_NAME_MAX + 1];
	struct deleted_check dc;
	cv_vkey vk;
	cv_err err;

	memset(&dc, 0, sizeof(dc));
	if (!name_key(k, lname)) {
		damaged(s, "deleted", k, "the key is not a certificate name");
		return CV_OK;
	}
	dc.s = s;
	dc.k = k;
	dc.lname = lname;
	cv_err_clear();
	err = cv_deleted_walk(s->v, s->txn, val->mv_data, val->mv_size, written,
			      deleted_entry, &dc);
	if (err == CV_ERR_NOMEM || (err != CV_OK && err != CV_ERR_CORRUPT))
		goto done;
	if (err != CV_OK) {
		damaged(s, "deleted", k, "does not decode: %s", reason(err));
		err = CV_OK;
		goto done;
	}
	cv_name_key(written, wl);
	if (strcmp(wl, lname) != 0)
		damaged(s, "deleted", k, "names the certificate %s", written);
	if (dc.certs != 1)
		damaged(s, "deleted", k, "holds %d certificate records, not one", dc.certs);
	if (exists(s, CV_DB_CERTS, lname, strlen(lname)))
		damaged(s, "deleted", k, "the certificate is both live and deleted");
	if (exists(s, CV_DB_PENDING, lname, strlen(lname)) ||
	    (s->v->has_op_index && exists(s, CV_DB_OPS_ACTIVE, lname, strlen(lname))))
		damaged(s, "deleted", k, "its operation is still live");
	if ((err = deleted_keys_unindexed(s, k, lname)) != CV_OK)
		goto done;
	if (dc.certs == 1 && dc.cert.current[0] != '\0') {
		cv_vkey_make(&vk, lname, dc.cert.current);
		if (!exists(s, CV_DB_VERSIONS, vk.b, vk.len))
			damaged(s, "deleted", k, "its current version %s does not exist",
				dc.cert.current);
	}
done:
	cv_cert_rec_clear(&dc.cert);
	return err;
}

static cv_err
check_mail_settings(struct verify *s)
{
	cv_mail_settings *ms = NULL;
	MDB_val k = { 4, (void *)"mail" };
	cv_err err;

	cv_err_clear();
	err = cv_mail_settings_get(s->v, s->sealed, &ms);
	if (err == CV_ERR_NOT_FOUND || err == CV_ERR_NOMEM)
		return err == CV_ERR_NOMEM ? err : CV_OK;
	if (err != CV_OK)
		damaged(s, "meta", &k, "the mail relay does not %s: %s",
			s->sealed ? "open" : "decode", reason(err));
	else if (s->sealed && ms->has_password)
		s->n->sealed++;
	cv_mail_settings_free(ms);
	return CV_OK;
}

/* Both key indexes, then every key against them. */
static cv_err
verify_key_indexes(struct verify *s)
{
	size_t keys = 0;
	cv_err err;

	if ((err = walk(s, CV_DB_KEY_IDS, &s->n->key_ids, check_key_id)) != CV_OK ||
	    (err = walk(s, CV_DB_KEY_NUMS, &s->n->key_nums, check_key_num)) != CV_OK)
		return err;
	return walk(s, CV_DB_KEYS, &keys, check_key_indexed);
}

cv_err
cv_vault_verify(cv_vault *v, cv_verify_counts *counts,
		void (*problem)(void *arg, const char *line), void *arg)
{
	struct verify s;
	cv_err err;

	cv_err_clear();
	if (counts == NULL)
		return cv_err_set(CV_ERR_INVALID, "no counts to fill");
	memset(counts, 0, sizeof(*counts));
	if (v == NULL || problem == NULL)
		return cv_err_set(CV_ERR_INVALID, "no vault or no report to make");
	memset(&s, 0, sizeof(s));
	s.v = v;
	s.n = counts;
	s.problem = problem;
	s.arg = arg;
	s.sealed = cv_vault_logged_in(v) == CV_USER_NORMAL;
	counts->logged_in = s.sealed;
	if ((err = cv_txn_read(v, &s.txn)) != CV_OK)
		return err;
	if ((err = walk(&s, CV_DB_CERTS, &counts->certs, check_cert)) != CV_OK ||
	    (err = walk(&s, CV_DB_VERSIONS, &counts->versions, check_version)) != CV_OK ||
	    (err = walk(&s, CV_DB_KEYS, &counts->keys, check_key)) != CV_OK ||
	    (err = walk(&s, CV_DB_SECRETS, &counts->secrets, check_secret)) != CV_OK ||
	    (err = walk(&s, CV_DB_PENDING, &counts->operations, check_operation)) != CV_OK ||
	    (err = walk(&s, CV_DB_ISSUERS, &counts->issuers, check_issuer)) != CV_OK ||
	    (err = walk(&s, CV_DB_CONTACTS, &counts->contacts, check_contact)) != CV_OK)
		goto done;
	if (v->has_life &&
	    ((err = walk(&s, CV_DB_TRIGGERS, &counts->triggers, check_trigger)) != CV_OK ||
	     (err = walk(&s, CV_DB_DUE, &counts->due, check_due)) != CV_OK ||
	     (err = walk(&s, CV_DB_OUTBOX, &counts->outbox, check_mail)) != CV_OK ||
	     (err = walk(&s, CV_DB_EVENTS, &counts->events, check_event)) != CV_OK))
		goto done;
	if (v->has_op_index &&
	    (err = walk(&s, CV_DB_OPS_ACTIVE, &counts->ops_active, check_active)) != CV_OK)
		goto done;
	if (v->has_deleted &&
	    (err = walk(&s, CV_DB_DELETED, &counts->deleted, check_deleted)) != CV_OK)
		goto done;
	if ((err = verify_key_indexes(&s)) != CV_OK)
		goto done;
	verify_meta(&s);
	err = check_mail_settings(&s);
done:
	mdb_txn_abort(s.txn);
	return err;
}
