/* certvault: creating and importing certificates, their policy and secret. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "internal.h"
#include "issue/internal.h"
#include "x509.h"

static int
issuer_is(const cv_policy *p, const char *what)
{
	return p->issuer_name != NULL && strcasecmp(p->issuer_name, what) == 0;
}

/* Refuse while an operation is in progress, or while the name is a
 * deleted certificate's; Key Vault's 409s. */
static cv_err
check_no_operation(cv_vault *v, MDB_txn *txn, const char *name)
{
	cv_operation *op = NULL;
	cv_err err;

	if ((err = cv_deleted_name_check(v, txn, name)) != CV_OK)
		return err;
	err = cv_op_read(v, txn, name, &op);
	if (err == CV_ERR_NO_OPERATION) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK)
		return err;
	if (op->status == CV_OP_IN_PROGRESS)
		err = cv_err_set(CV_ERR_CONFLICT, "%s", cv_strerror(CV_ERR_CONFLICT));
	cv_operation_free(op);
	return err;
}

/* The issuer a policy names must be Self, Unknown, or a stored issuer
 * that is enabled and whose provider can issue; *prov is the provider that
 * will finish the operation.  For a Vault issuer, *is (when is is not NULL)
 * is the issuer's record, read in txn; else NULL. */
static cv_err
check_issuer(cv_vault *v, MDB_txn *txn, const cv_policy *p,
	     const cv_provider **prov, cv_issuer **is)
{
	const cv_provider *found = NULL;
	cv_err err;

	*prov = NULL;
	if (is != NULL) {
		cv_issuer_free(*is);
		*is = NULL;
	}
	if ((err = cv_provider_for_policy(v, txn, p, &found)) != CV_OK)
		return err;
	if (is != NULL && strcmp(found->name, "Vault") == 0 &&
	    (err = cv_issuer_read(v, txn, p->issuer_name, is)) != CV_OK)
		return err;
	*prov = found;
	return CV_OK;
}

/* Start or load the certificate record for a create or import. */
static cv_err
cert_rec_start(cv_vault *v, MDB_txn *txn, const char *name,
	       const cv_policy *policy, cv_cert_rec *cert)
{
	cv_err err;

	err = cv_cert_rec_read(v, txn, name, cert);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		memset(cert, 0, sizeof(*cert));
		snprintf(cert->name, sizeof(cert->name), "%s", name);
		cert->created = cert->updated = cv_now();
	} else if (err != CV_OK) {
		return err;
	}
	free(cert->policy_json);
	cert->policy_json = NULL;
	if ((err = cv_policy_to_json(policy, CV_POLICY_JSON_REST,
				     &cert->policy_json)) != CV_OK)
		return err;
	cert->updated = cv_now();
	return CV_OK;
}

/* With reuse_key, a new version keeps the current version's key when that
 * key has the type and size the policy asks for.  Its exportability is the
 * key's own, fixed when it was made or imported: a policy that asks for
 * another is refused rather than followed (a key that was kept in could
 * otherwise be let out) or quietly given a new key.  *imported says where
 * the kept key came from. */
static cv_err
reusable_key(cv_vault *v, const char *name, const cv_policy *policy,
	     EVP_PKEY **out, int *imported)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_key_rec key = { 0 };
	cv_err err;

	*out = NULL;
	*imported = 0;
	if (!policy->reuse_key)
		return CV_OK;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	err = cv_cert_rec_read(v, txn, name, &cert);
	if (err == CV_ERR_NOT_FOUND || (err == CV_OK && cert.current[0] == '\0')) {
		err = CV_OK;
		goto done;
	}
	if (err != CV_OK || (err = cv_key_rec_read(v, txn, name, cert.current, &key)) != CV_OK)
		goto done;
	if (key.kty != (int)policy->kty ||
	    (policy->kty == CV_KEY_RSA && key.key_size != policy->key_size) ||
	    (policy->kty == CV_KEY_EC && strcmp(key.curve, policy->curve) != 0))
		goto done;
	if (key.exportable != (policy->exportable != 0)) {
		err = cv_err_set(CV_ERR_POLICY,
				 "certificate '%s': reuse_key keeps the current key, which is %s; "
				 "a key's exportability is fixed when it is made (set "
				 "key_props.reuse_key to false for a new key that is %s)",
				 name, key.exportable ? "exportable" : "not exportable",
				 policy->exportable ? "exportable" : "not exportable");
		goto done;
	}
	if ((err = cv_key_rec_private(v, name, cert.current, &key, out)) == CV_OK)
		*imported = key.imported;
done:
	cv_key_rec_clear(&key);
	cv_cert_rec_clear(&cert);
	mdb_txn_abort(txn);
	if (err == CV_OK)
		cv_err_clear();
	return err;
}

/* The completed operation's words for a Vault issue, saying so when the
 * CA's expiry cut the validity the policy asked for. */
static char *
vault_details(const cv_issuer *is, X509 *leaf, STACK_OF(X509) *chain, char *buf,
	      size_t n)
{
	X509 *ca = sk_X509_value(chain, 0);
	int cut = ca != NULL && ASN1_TIME_compare(X509_get0_notAfter(leaf),
						   X509_get0_notAfter(ca)) == 0;

	snprintf(buf, n, "Signed by the vault CA '%s' of issuer '%s'.%s", is->ca_certificate,
		 is->name, cut ? " The validity was cut to the CA's own expiry." : "");
	return buf;
}

/* The DER of the CSR for key under policy, as prov's CA wants it (an ACME CA
 * wants the common name among the SAN too).  *der is the caller's to
 * OPENSSL_free. */
static cv_err
csr_for(const cv_policy *policy, EVP_PKEY *key, const cv_provider *prov,
	unsigned char **der, int *len)
{
	X509_REQ *csr = NULL;
	cv_err err;

	*der = NULL;
	*len = 0;
	if ((err = cv_x509_build_csr(policy, key,
				     prov->way == CV_PROVIDER_REMOTE ? CV_CSR_CN_IN_SAN : 0,
				     &csr)) != CV_OK)
		return err;
	if ((*len = i2d_X509_REQ(csr, der)) <= 0) {
		*der = NULL;
		*len = 0;
		err = cv_err_crypto("encode the CSR");
	}
	X509_REQ_free(csr);
	return err;
}

cv_err
cv_cert_create(cv_vault *v, const char *name, const cv_policy *policy,
	       const cv_tags *tags, cv_operation **op_out)
{
	return cv_cert_create_hooked(v, name, policy, tags, NULL, op_out);
}

cv_err
cv_cert_create_hooked(cv_vault *v, const char *name, const cv_policy *policy,
		      const cv_tags *tags, const cv_create_hook *hook,
		      cv_operation **op_out)
{
	unsigned char probe[CV_MASTER_KEY_LEN];
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_operation op = { 0 };
	EVP_PKEY *key = NULL;
	X509 *self = NULL;
	unsigned char *csr_der = NULL;
	int csr_len = 0;
	char version[CV_VERSION_LEN + 1], request_id[CV_VERSION_LEN + 1];
	const cv_provider *prov = NULL;
	int is_self, imported = 0;
	cv_issuer *issuer = NULL;
	STACK_OF(X509) *chain = NULL;
	char details[256];
	cv_err err;

	cv_err_clear();
	if (op_out != NULL)
		*op_out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK ||
	    (err = cv_policy_validate(policy)) != CV_OK ||
	    (err = cv_tags_validate(tags)) != CV_OK)
		return err;
	/* Fail before the slow key generation when the PIN was not given. */
	if ((err = cv_vault_master(v, probe)) != CV_OK)
		return err;
	OPENSSL_cleanse(probe, sizeof(probe));
	is_self = issuer_is(policy, "Self");

	/* Checks that need no key, so a refused create costs nothing. */
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = check_no_operation(v, txn, name)) == CV_OK)
		err = check_issuer(v, txn, policy, &prov, &issuer);
	mdb_txn_abort(txn);
	txn = NULL;
	if (err != CV_OK)
		return err;

	if ((err = reusable_key(v, name, policy, &key, &imported)) != CV_OK)
		goto done;
	if (key == NULL && (err = cv_key_generate(policy, &key)) != CV_OK)
		goto done;
	if (is_self) {
		if ((err = cv_x509_self_sign(policy, key, (time_t)cv_now(), &self)) != CV_OK)
			goto done;
	} else if (prov->way != CV_PROVIDER_SIGNS_AT_CREATE &&
		   (err = csr_for(policy, key, prov, &csr_der, &csr_len)) != CV_OK) {
		/* A Vault issuer signs at once: its leaf needs no CSR. */
		goto done;
	}
	if ((err = cv_random_version(version)) != CV_OK ||
	    (err = cv_random_version(request_id)) != CV_OK)
		goto done;

	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		goto done;
	if (hook != NULL && hook->check != NULL &&
	    (err = hook->check(v, txn, hook->arg)) != CV_OK)
		goto done;
	/* Again inside the write transaction: another writer may have started
	 * an operation while the key was being made. */
	if ((err = check_no_operation(v, txn, name)) != CV_OK ||
	    (err = check_issuer(v, txn, policy, &prov, &issuer)) != CV_OK ||
	    (err = cert_rec_start(v, txn, name, policy, &cert)) != CV_OK ||
	    (err = cv_key_rec_store(v, txn, cert.name, version, key, policy,
				    imported)) != CV_OK)
		goto done;

	snprintf(op.name, sizeof(op.name), "%s", cert.name);
	memcpy(op.version, version, sizeof(op.version));
	op.issuer_name = policy->issuer_name;
	op.cert_type = policy->cert_type;
	op.request_id = request_id;
	op.provider = (char *)prov->name;
	if (tags != NULL)
		op.tags = *tags;
	op.created = op.updated = cv_now();
	if (is_self) {
		if ((err = cv_version_store(v, txn, &cert, policy, version, self,
					    NULL, key, tags)) != CV_OK)
			goto done;
		op.status = CV_OP_COMPLETED;
	} else if (issuer != NULL) {
		/* Vault: signed at once inside the vault */
		if ((err = cv_vault_ca_issue(v, txn, issuer, policy, key, &self,
					     &chain)) != CV_OK ||
		    (err = cv_version_store(v, txn, &cert, policy, version, self,
					    chain, key, tags)) != CV_OK)
			goto done;
		op.status = CV_OP_COMPLETED;
		op.status_details = vault_details(issuer, self, chain, details,
						  sizeof(details));
	} else {
		/* The issuer may have changed kind while the key was made. */
		if ((csr_der == NULL &&
		     (err = csr_for(policy, key, prov, &csr_der, &csr_len)) != CV_OK) ||
		    (err = cv_cert_rec_write(v, txn, &cert)) != CV_OK)
			goto done;
		op.status = CV_OP_IN_PROGRESS;
		op.status_details = (char *)prov->pending_details;
		op.csr.data = csr_der;
		op.csr.len = (size_t)csr_len;
	}
	if ((err = cv_op_write(v, txn, &op)) != CV_OK)
		goto done;
	if (hook != NULL && hook->record != NULL &&
	    (err = hook->record(v, txn, &op, hook->arg)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && op_out != NULL)
		err = cv_pending_get(v, name, op_out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_cert_rec_clear(&cert);
	OPENSSL_free(csr_der);
	X509_free(self);
	sk_X509_pop_free(chain, X509_free);
	cv_issuer_free(issuer);
	EVP_PKEY_free(key);
	return err;
}

cv_err
cv_cert_policy_get(cv_vault *v, const char *name, cv_policy **out)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_err err;

	cv_err_clear();
	*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) == CV_OK)
		err = cv_cert_rec_policy(&cert, out);
	cv_cert_rec_clear(&cert);
	mdb_txn_abort(txn);
	return err;
}

cv_err
cv_cert_policy_update(cv_vault *v, const char *name, const char *patch,
		      size_t len, cv_policy **out)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_policy *base = NULL, *next = NULL;
	const cv_provider *prov = NULL;
	char *json = NULL;
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK)
		return err;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	if ((err = cv_cert_rec_policy(&cert, &base)) != CV_OK)
		goto done;
	if ((err = cv_policy_update(base, patch, len, &next)) != CV_OK ||
	    (err = check_issuer(v, txn, next, &prov, NULL)) != CV_OK ||
	    (err = cv_policy_to_json(next, CV_POLICY_JSON_REST, &json)) != CV_OK)
		goto done;
	free(cert.policy_json);
	cert.policy_json = json;
	json = NULL;
	cert.updated = cv_now();
	if ((err = cv_cert_rec_write(v, txn, &cert)) != CV_OK ||
	    (err = cv_life_reschedule(v, txn, &cert, next)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL) {
		*out = next;
		next = NULL;
	}
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	free(json);
	cv_policy_free(base);
	cv_policy_free(next);
	cv_cert_rec_clear(&cert);
	return err;
}

/* Key Vault's limit on a PKCS#12 password: 200 characters (UTF-8 code
 * points, not bytes). */
#define PFX_PASSWORD_MAX 200

static cv_err
check_pfx_password(const char *password)
{
	size_t chars = 0;
	const unsigned char *p;

	if (password == NULL)
		return CV_OK;
	for (p = (const unsigned char *)password; *p != '\0'; p++)
		if ((*p & 0xc0) != 0x80)
			chars++;
	if (chars > PFX_PASSWORD_MAX)
		return cv_err_set(CV_ERR_INVALID,
				  "a PKCS#12 password holds at most %d characters (this one has %zu)",
				  PFX_PASSWORD_MAX, chars);
	return CV_OK;
}

static cv_err
expired(int64_t exp)
{
	char when[32] = "an earlier date";
	time_t t = (time_t)exp;
	struct tm tm;

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return cv_err_set(CV_ERR_EXPIRED, "the certificate expired on %s; "
			  "an expired certificate cannot be imported", when);
}

cv_err
cv_cert_import(cv_vault *v, const char *name, const unsigned char *data,
	       size_t len, const char *password, const cv_policy *policy,
	       const cv_tags *tags, cv_cert_version **out)
{
	unsigned char probe[CV_MASTER_KEY_LEN];
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_policy *derived = NULL;
	const cv_policy *use;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	int is_pkcs12 = 0;
	enum cv_content_type ct;
	int64_t nbf, exp;
	unsigned char key_id[CV_KEY_ID_LEN];
	char version[CV_VERSION_LEN + 1];
	cv_err err;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if ((err = cv_check_cert_name(name)) != CV_OK ||
	    (err = cv_tags_validate(tags)) != CV_OK ||
	    (err = check_pfx_password(password)) != CV_OK)
		return err;
	/* a policy that leaves members to the certificate is validated once
	 * they are filled in */
	if (policy != NULL && policy->from_cert == 0 &&
	    (err = cv_policy_validate(policy)) != CV_OK)
		return err;
	if ((err = cv_vault_master(v, probe)) != CV_OK)
		return err;
	OPENSSL_cleanse(probe, sizeof(probe));
	if ((err = cv_x509_read_import(data, len, password, &leaf, &chain, &key,
				       &is_pkcs12)) != CV_OK)
		goto done;
	if ((err = cv_x509_validity(leaf, &nbf, &exp)) != CV_OK)
		goto done;
	if (exp < cv_now()) {
		err = expired(exp);
		goto done;
	}
	ct = is_pkcs12 ? CV_CONTENT_PKCS12 : CV_CONTENT_PEM;
	if (policy != NULL && policy->from_cert == 0) {
		use = policy;
	} else {
		if (policy != NULL)
			err = cv_policy_complete(policy, leaf, ct, &derived);
		else
			err = cv_policy_from_certificate(leaf, ct, &derived);
		if (err != CV_OK)
			goto done;
		/* What is stored must read back: a certificate Key Vault's
		 * limits refuse (an RSA-1024 key, a long subject) is refused
		 * now, naming the limit, instead of being kept unreadable. */
		if ((err = cv_policy_validate(derived)) != CV_OK) {
			err = cv_err_set(err, "the certificate does not fit a Key Vault policy: %s",
					 cv_err_detail()[0] != '\0' ? cv_err_detail()
								     : cv_strerror(err));
			goto done;
		}
		use = derived;
	}
	if (policy != NULL &&
	    (err = cv_policy_check_certificate(use, leaf)) != CV_OK)
		goto done;
	if ((err = cv_random_version(version)) != CV_OK)
		goto done;
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		goto done;
	if ((err = check_no_operation(v, txn, name)) != CV_OK ||
	    (err = cv_key_id(key, key_id)) != CV_OK ||
	    (err = cv_key_id_owner_check(v, txn, name, key_id)) != CV_OK ||
	    (err = cv_deleted_key_id_check(v, txn, name, key_id)) != CV_OK ||
	    (err = cert_rec_start(v, txn, name, use, &cert)) != CV_OK ||
	    (err = cv_key_rec_store(v, txn, cert.name, version, key, use, 1)) != CV_OK ||
	    (err = cv_version_store(v, txn, &cert, use, version, leaf, chain, key,
				    tags)) != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
	if (err == CV_OK && out != NULL)
		err = cv_cert_get(v, name, version, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_cert_rec_clear(&cert);
	cv_policy_free(derived);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return err;
}

cv_err
cv_secret_get(cv_vault *v, const char *name, const char *version,
	      enum cv_secret_format fmt, const char *password,
	      unsigned char **out, size_t *len)
{
	MDB_txn *txn = NULL;
	cv_cert_rec cert = { 0 };
	cv_key_rec key_rec = { 0 };
	cv_field f[CV_T__MAX];
	MDB_val val;
	cv_vkey k;
	unsigned char *sealed = NULL, *plain = NULL;
	size_t sealed_len = 0, plain_len = 0;
	uint64_t ct;
	enum cv_content_type want;
	X509 *leaf = NULL;
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	char ver[CV_VERSION_LEN + 1];
	cv_err err;

	cv_err_clear();
	*out = NULL;
	*len = 0;
	if ((err = cv_check_cert_name(name)) != CV_OK ||
	    (err = check_pfx_password(password)) != CV_OK)
		return err;
	if (cv_vault_logged_in(v) == CV_USER_NONE)
		return cv_err_set(CV_ERR_NOT_LOGGED_IN, "reading a secret needs the vault's PIN");
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) != CV_OK)
		goto done;
	snprintf(ver, sizeof(ver), "%s", version ? version : cert.current);
	if (ver[0] == '\0') {
		err = cv_err_set(CV_ERR_NOT_FOUND,
				 "certificate '%s' has no version yet (its operation is pending)",
				 name);
		goto done;
	}
	cv_vkey_make(&k, cert.name, ver);
	if ((err = cv_db_get(v, txn, CV_DB_SECRETS, k.b, k.len, &val)) != CV_OK) {
		if (err == CV_ERR_NOT_FOUND)
			err = cv_err_set(CV_ERR_NOT_FOUND, "certificate '%s' has no version '%s'",
					 name, ver);
		goto done;
	}
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_SECRET, NULL, f)) != CV_OK ||
	    (err = cv_field_need(&f[CV_T_SEALED], "sealed secret")) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_CONTENT_TYPE], CV_CONTENT_PKCS12, &ct)) != CV_OK)
		goto done;
	if (ct != CV_CONTENT_PKCS12 && ct != CV_CONTENT_PEM) {
		err = cv_err_set(CV_ERR_CORRUPT, "secret of content type %llu",
				 (unsigned long long)ct);
		goto done;
	}
	if ((sealed = OPENSSL_memdup(f[CV_T_SEALED].p, f[CV_T_SEALED].len)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	sealed_len = f[CV_T_SEALED].len;
	/* Read with the user logged in, the key record is checked against its
	 * sealed key: a damaged key's secret is not handed out either. */
	if ((err = cv_key_rec_read_part(v, txn, cert.name, ver, 0, &key_rec)) != CV_OK)
		goto done;
	mdb_txn_abort(txn);
	txn = NULL;

	if ((err = cv_vault_unseal(v, CV_DB_SECRETS, k.b, k.len, sealed, sealed_len,
				   &plain, &plain_len)) != CV_OK)
		goto done;
	want = fmt == CV_SECRET_PEM ? CV_CONTENT_PEM
	       : fmt == CV_SECRET_PFX ? CV_CONTENT_PKCS12
				      : (enum cv_content_type)ct;
	if (want == (enum cv_content_type)ct && (password == NULL || password[0] == '\0')) {
		*out = plain;
		*len = plain_len;
		plain = NULL;
		goto done;
	}
	if ((err = cv_secret_decode((enum cv_content_type)ct, plain, plain_len, NULL,
				    &leaf, &chain, &key)) != CV_OK ||
	    (err = cv_secret_encode(want, cert.name, leaf, chain, key, password,
				    out, len)) != CV_OK)
		goto done;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_cert_rec_clear(&cert);
	cv_key_rec_clear(&key_rec);
	OPENSSL_free(sealed);
	OPENSSL_clear_free(plain, plain_len);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	return err;
}
