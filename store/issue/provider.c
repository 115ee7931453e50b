/* certvault: the providers that finish a pending operation.
 *
 * Self and Vault sign inside cv_cert_create; Unknown waits for a merge;
 * ACME (and its presets DigiCert and GlobalSign) is worked on by passes
 * outside the store, through the state machine of operation.c. */
#include <string.h>
#include <strings.h>

#include "internal.h"

#define UNKNOWN_DETAILS \
	"Pending certificate created. Please Perform Merge to complete the request."
#define ACME_DETAILS \
	"Pending certificate created. The certificate is being ordered from the " \
	"issuer's ACME server."

static const cv_provider providers[] = {
	{ "Self", CV_PROVIDER_SIGNS_AT_CREATE, NULL },
	{ "Unknown", CV_PROVIDER_WAITS_FOR_MERGE, UNKNOWN_DETAILS },
	{ "Vault", CV_PROVIDER_SIGNS_AT_CREATE, NULL },
	{ "ACME", CV_PROVIDER_REMOTE, ACME_DETAILS },
};

const cv_provider *
cv_provider_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(providers) / sizeof(providers[0]); i++)
		if (strcasecmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

const cv_provider *
cv_provider_of_op(const cv_operation *op)
{
	const cv_provider *p = cv_provider_find(op->provider);

	if (p != NULL)
		return p;
	if (op->issuer_name != NULL && strcasecmp(op->issuer_name, "Self") == 0)
		return cv_provider_find("Self");
	return cv_provider_find("Unknown");
}

cv_err
cv_provider_for_policy(cv_vault *v, MDB_txn *txn, const cv_policy *p,
		       const cv_provider **out)
{
	static const unsigned repeats[] = {
		CV_T_ADMIN_FIRST, CV_T_ADMIN_LAST, CV_T_ADMIN_EMAIL, CV_T_ADMIN_PHONE, 0
	};
	char lname[CV_NAME_MAX + 1], provider[32];
	cv_field f[CV_T__MAX];
	MDB_val val;
	uint64_t enabled;
	cv_err err;

	*out = NULL;
	if (p->issuer_name != NULL &&
	    (strcasecmp(p->issuer_name, "Self") == 0 ||
	     strcasecmp(p->issuer_name, "Unknown") == 0)) {
		*out = cv_provider_find(p->issuer_name);
		return CV_OK;
	}
	if (!cv_name_valid(p->issuer_name))
		return cv_err_set(CV_ERR_POLICY, "issuer.name '%s' is not a valid issuer name",
				  p->issuer_name ? p->issuer_name : "");
	cv_name_key(p->issuer_name, lname);
	err = cv_db_get(v, txn, CV_DB_ISSUERS, lname, strlen(lname), &val);
	if (err == CV_ERR_NOT_FOUND)
		return cv_err_set(CV_ERR_NOT_FOUND,
				  "issuer '%s' was not found (create it with 'certvault issuer create')",
				  p->issuer_name);
	if (err != CV_OK)
		return err;
	if ((err = cv_rec_parse(val.mv_data, val.mv_size, CV_REC_ISSUER, repeats, f)) != CV_OK ||
	    (err = cv_field_strbuf(&f[CV_T_PROVIDER], provider, sizeof(provider))) != CV_OK ||
	    (err = cv_field_u64(&f[CV_T_ENABLED], 1, &enabled)) != CV_OK)
		return err;
	if (!enabled)
		return cv_err_set(CV_ERR_DISABLED,
				  "issuer '%s' is disabled; enable it with 'certvault issuer "
				  "update --name %s --enabled true'", p->issuer_name, p->issuer_name);
	if (cv_provider_is_acme(provider))
		*out = cv_provider_find("ACME");
	else
		*out = cv_provider_find(provider);
	if (*out == NULL)
		return cv_err_set(CV_ERR_CORRUPT, "issuer '%s' names provider '%s'",
				  p->issuer_name, provider);
	return CV_OK;
}
