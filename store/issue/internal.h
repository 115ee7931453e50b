/* certvault: what the files of store/issue/ (the pending operation, its
 * merge and its providers) share with the rest of the store. */
#ifndef CV_STORE_ISSUE_INTERNAL_H
#define CV_STORE_ISSUE_INTERNAL_H

#include "../internal.h"

/* --- Providers (provider.c) ---------------------------------------------
 * Who finishes an operation once cv_cert_create has stored it. */
enum cv_provider_way {
	CV_PROVIDER_SIGNS_AT_CREATE = 1, /* Self, Vault: completed at create */
	CV_PROVIDER_WAITS_FOR_MERGE = 2, /* Unknown: only a merge finishes it */
	CV_PROVIDER_REMOTE = 3,          /* ACME: passes outside the store */
};

typedef struct cv_provider {
	const char *name;          /* the operation's provider */
	enum cv_provider_way way;
	const char *pending_details; /* status_details of a new operation */
} cv_provider;

/* The provider of an operation's record name ("Self", "Unknown", "Vault",
 * "ACME"), or NULL for one not known. */
const cv_provider *cv_provider_find(const char *name);

/* The provider a policy's issuer names: Self and Unknown by name, else the
 * issuer record's (DigiCert and GlobalSign are ACME).  Read in txn.
 * Errors: CV_ERR_POLICY (not a valid issuer name), CV_ERR_NOT_FOUND (no
 * such issuer record), CV_ERR_DISABLED (the issuer is disabled),
 * CV_ERR_CORRUPT, CV_ERR_IO. */
cv_err cv_provider_for_policy(cv_vault *v, MDB_txn *txn, const cv_policy *p,
			      const cv_provider **out);

/* The provider of a stored operation; records written before operations
 * named theirs are Self or Unknown, by issuer. */
const cv_provider *cv_provider_of_op(const cv_operation *op);

/* --- The merge (merge.c) --------------------------------------------------
 * Merge the CA's answer into name's inProgress operation, all in one write
 * transaction: cv_pending_merge (claim NULL) and cv_op_complete (the
 * claim the pass holds, checked inside that transaction).  Errors: as
 * cv_pending_merge, CV_ERR_CLAIM_LOST. */
cv_err cv_op_merge(cv_vault *v, const char *name, const char *claim,
		   const unsigned char *data, size_t len, const cv_tags *tags,
		   cv_cert_version **out);

/* --- The state machine (operation.c) ------------------------------------- */

/* CV_OK when stored is in progress and holds the claim mine (constant-time
 * compare); else CV_ERR_NOT_IN_PROGRESS or CV_ERR_CLAIM_LOST naming it. */
cv_err cv_op_claim_check(const cv_operation *stored, const char *mine);

#endif
