/* certvault: the Vault provider, the vault as a CA.
 *
 * A certificate of the vault whose policy and certificate say CA signs
 * leaves (and intermediates) inside the vault: its key is unsealed only for
 * the signature and never leaves the store.  Everything is read in the
 * caller's write transaction, so the CA cannot be disabled or renewed half
 * way through an issue.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../internal.h"
#include "../x509.h"

/* name is pattern, or pattern is "*.suffix" and name lies under suffix. */
static int
name_matches(const char *name, const char *pattern)
{
	size_t nl = strlen(name), sl;

	if (strncmp(pattern, "*.", 2) != 0)
		return strcasecmp(name, pattern) == 0;
	sl = strlen(pattern + 1); /* ".suffix" */
	return nl > sl && strcasecmp(name + nl - sl, pattern + 1) == 0;
}

static int
name_allowed(const cv_issuer *is, const char *name)
{
	size_t i;

	for (i = 0; i < is->n_allowed_names; i++)
		if (name_matches(name, is->allowed_names[i]))
			return 1;
	return 0;
}

/* Every DNS name of the policy must be allowed; a policy without DNS names
 * has its subject's common names checked, since clients then match those. */
static cv_err
check_allowed_names(const cv_issuer *is, const cv_policy *p)
{
	X509_NAME *subject = NULL;
	const ASN1_STRING *cn;
	unsigned char *text = NULL;
	size_t i;
	int at = -1;
	cv_err err = CV_OK;

	if (is->n_allowed_names == 0)
		return CV_OK;
	for (i = 0; i < p->dns_names.n; i++)
		if (!name_allowed(is, p->dns_names.v[i]))
			return cv_err_set(CV_ERR_POLICY,
					  "x509_props.sans.dns_names: '%s' is not among the names issuer '%s' allows",
					  p->dns_names.v[i], is->name);
	if (p->dns_names.n > 0 || p->subject == NULL)
		return CV_OK;
	if ((err = cv_x500_parse(p->subject, &subject)) != CV_OK)
		return err;
	while ((at = X509_NAME_get_index_by_NID(subject, NID_commonName, at)) >= 0) {
		cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
		if (ASN1_STRING_to_UTF8(&text, cn) < 0) {
			err = cv_err_crypto("subject common name");
			goto done;
		}
		if (!name_allowed(is, (const char *)text)) {
			err = cv_err_set(CV_ERR_POLICY,
					 "x509_props.subject: the common name '%s' is not among the names issuer '%s' allows",
					 text, is->name);
			goto done;
		}
		OPENSSL_free(text);
		text = NULL;
	}
done:
	OPENSSL_free(text);
	X509_NAME_free(subject);
	return err;
}

/* The CA certificate's record and policy; the policy must say CA. */
static cv_err
ca_record(cv_vault *v, MDB_txn *txn, const cv_issuer *is, cv_cert_rec *cert,
	  cv_policy **policy)
{
	cv_err err;

	*policy = NULL;
	memset(cert, 0, sizeof(*cert));
	if (is->ca_certificate == NULL)
		return cv_err_set(CV_ERR_INVALID,
				  "issuer '%s' has provider Vault but names no CA certificate",
				  is->name);
	err = cv_cert_rec_read(v, txn, is->ca_certificate, cert);
	if (err == CV_ERR_NOT_FOUND)
		return cv_err_set(CV_ERR_NOT_FOUND,
				  "issuer '%s': CA certificate '%s' was not found in this vault",
				  is->name, is->ca_certificate);
	if (err != CV_OK || (err = cv_cert_rec_policy(cert, policy)) != CV_OK)
		goto fail;
	if (!(*policy)->ca) {
		err = cv_err_set(CV_ERR_INVALID,
				 "issuer '%s': certificate '%s' is not a CA (its policy has no "
				 "x509_props.basic_constraints with \"ca\": true)",
				 is->name, cert->name);
		goto fail;
	}
	return CV_OK;
fail:
	cv_policy_free(*policy);
	*policy = NULL;
	cv_cert_rec_clear(cert);
	return err;
}

cv_err
cv_vault_ca_check_issuer(cv_vault *v, MDB_txn *txn, const cv_issuer *is)
{
	cv_cert_rec cert;
	cv_policy *policy = NULL;
	cv_err err;

	err = ca_record(v, txn, is, &cert, &policy);
	cv_policy_free(policy);
	cv_cert_rec_clear(&cert);
	return err;
}

static void
utc_date(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "%lld", (long long)t);
}

/* The path length the issued certificate carries: -1 for a leaf; for a CA
 * policy one below what the CA allows, or the policy's own when smaller. */
static cv_err
issued_path_length(const char *ca_name, const cv_policy *ca_policy, X509 *ca,
		   const cv_policy *p, int *out)
{
	long cert_len = X509_get_pathlen(ca);
	int allowed = ca_policy->path_length;

	*out = -1;
	if (!p->ca)
		return CV_OK;
	if (cert_len >= 0 && (allowed < 0 || cert_len < allowed))
		allowed = (int)cert_len;
	if (allowed == 0)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints: the CA '%s' has path length 0 and signs no CA",
				  ca_name);
	if (allowed < 0) {
		*out = p->path_length;
		return CV_OK;
	}
	if (p->path_length > allowed - 1)
		return cv_err_set(CV_ERR_POLICY,
				  "x509_props.basic_constraints.path_length: %d is more than the CA '%s' allows below it (%d)",
				  p->path_length, ca_name, allowed - 1);
	*out = p->path_length >= 0 ? p->path_length : allowed - 1;
	return CV_OK;
}

cv_err
cv_vault_ca_issue(cv_vault *v, MDB_txn *txn, const cv_issuer *issuer,
		  const cv_policy *policy, EVP_PKEY *pub, X509 **leaf,
		  STACK_OF(X509) **chain)
{
	cv_err err = CV_ERR_INVALID;
	cv_cert_rec cert = { 0 };
	cv_policy *ca_policy = NULL;
	cv_cert_version *ver = NULL;
	cv_key_rec key = { 0 };
	EVP_PKEY *ca_key = NULL;
	X509 *ca = NULL, *x = NULL, *link = NULL;
	STACK_OF(X509) *ch = NULL;
	const unsigned char *p;
	int64_t now = cv_now();
	char when[32];
	int path_length = -1, cut = 0;
	size_t i;

	if (leaf != NULL)
		*leaf = NULL;
	if (chain != NULL)
		*chain = NULL;
	if (v == NULL || txn == NULL || issuer == NULL || policy == NULL ||
	    pub == NULL || leaf == NULL || chain == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_vault_ca_issue: missing argument");
		goto done;
	}
	if ((err = check_allowed_names(issuer, policy)) != CV_OK ||
	    (err = ca_record(v, txn, issuer, &cert, &ca_policy)) != CV_OK)
		goto done;
	if (cert.current[0] == '\0') {
		err = cv_err_set(CV_ERR_NOT_FOUND,
				 "CA certificate '%s' has no version yet (merge its signed certificate first)",
				 cert.name);
		goto done;
	}
	if ((err = cv_cert_version_read(v, txn, &cert, cert.current, &ver)) != CV_OK)
		goto done;
	if (!ver->enabled) {
		err = cv_err_set(CV_ERR_DISABLED, "CA certificate '%s' is disabled", cert.name);
		goto done;
	}
	if (now < ver->nbf || now > ver->exp) {
		utc_date(now < ver->nbf ? ver->nbf : ver->exp, when, sizeof(when));
		err = cv_err_set(CV_ERR_EXPIRED, now < ver->nbf ?
				 "CA certificate '%s' is not valid before %s" :
				 "CA certificate '%s' expired on %s", cert.name, when);
		goto done;
	}
	p = ver->der.data;
	if ((ca = d2i_X509(NULL, &p, (long)ver->der.len)) == NULL) {
		err = cv_err_set(CV_ERR_CORRUPT, "CA certificate '%s' holds a damaged certificate",
				 cert.name);
		goto done;
	}
	if ((X509_get_extension_flags(ca) & EXFLAG_CA) == 0 ||
	    (X509_get_key_usage(ca) & KU_KEY_CERT_SIGN) == 0) {
		err = cv_err_set(CV_ERR_INVALID,
				 "certificate '%s' is not a CA certificate (basicConstraints CA:TRUE and keyUsage keyCertSign)",
				 cert.name);
		goto done;
	}
	if ((err = issued_path_length(cert.name, ca_policy, ca, policy, &path_length)) != CV_OK)
		goto done;
	/* what the key may do was fixed when it was made */
	if ((err = cv_key_rec_read(v, txn, cert.name, cert.current, &key)) != CV_OK)
		goto done;
	if ((key.key_usage & CV_KU_KEY_CERT_SIGN) == 0) {
		err = cv_err_set(CV_ERR_INVALID,
				 "the key of CA certificate '%s' was not made for keyCertSign",
				 cert.name);
		goto done;
	}
	if ((err = cv_key_rec_private(v, cert.name, cert.current, &key, &ca_key)) != CV_OK ||
	    (err = cv_x509_issue(policy, pub, path_length, ca, ca_key, (time_t)now, &x,
				 &cut)) != CV_OK)
		goto done;
	if ((ch = sk_X509_new_null()) == NULL || !sk_X509_push(ch, ca)) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory");
		goto done;
	}
	ca = NULL;
	for (i = 0; i < ver->chain_len; i++) {
		p = ver->chain[i].data;
		if ((link = d2i_X509(NULL, &p, (long)ver->chain[i].len)) == NULL) {
			err = cv_err_set(CV_ERR_CORRUPT, "the chain of CA certificate '%s' is damaged",
					 cert.name);
			goto done;
		}
		if (!sk_X509_push(ch, link)) {
			err = cv_err_set(CV_ERR_NOMEM, "out of memory");
			goto done;
		}
		link = NULL;
	}
	*leaf = x;
	x = NULL;
	*chain = ch;
	ch = NULL;
	err = CV_OK;
done:
	sk_X509_pop_free(ch, X509_free);
	X509_free(link);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	cv_key_rec_clear(&key);
	cv_cert_version_free(ver);
	cv_policy_free(ca_policy);
	cv_cert_rec_clear(&cert);
	return err;
}
