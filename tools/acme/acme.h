/* certvault: the ACME client (RFC 8555, with External Account Binding).
 *
 * One call advances one pending operation whose issuer speaks ACME.  The
 * client never holds a key: JWS signatures, the binding's MAC and the CSR
 * come from the store (cv_issuer_account_sign, cv_issuer_eab_mac, the
 * operation's CSR).  Everything it learns from the CA is saved in the
 * operation (cv_op_save) before it acts on it, so a pass killed anywhere
 * resumes where it stopped and never orders twice.
 *
 * Not thread-safe: a process keeps the directory and a spare nonce between
 * calls, for the operations of one pass after another.
 *
 * Environment: CERTVAULT_ACME_TIMEOUT (seconds, each HTTP request's total
 * timeout; default 30, connect 10 or less), CERTVAULT_ACME_POLL (seconds
 * spent polling a validation the built-in responder must stay up for;
 * default 60).
 */
#ifndef CV_ACME_H
#define CV_ACME_H

#include <stddef.h>

#include "challenge.h"
#include "store.h"

enum acme_result {
	ACME_DONE,  /* the operation ended: completed, failed or cancelled */
	ACME_WAIT,  /* saved; try again at op->next_attempt (0: at once) */
	ACME_ERROR, /* a local fault (the vault, memory, a lost claim); msg says */
};

/* Advance one ACME operation as far as it can go now.  op is claimed by the
 * caller (cv_op_claim) and updated in place; is is its issuer as read with
 * cv_issuer_get; ch is the issuer's challenger (acme_challenger_open).
 *
 * Every step reached is saved with cv_op_save (step names: "account",
 * "order", "authorize", "finalize", "download"; provider_state holds the
 * account, order, authorization, finalize and certificate URLs).  The
 * operation ends with cv_op_complete (the downloaded chain), cv_op_fail (the
 * CA's problem type as error code, its detail as message: an identifier or
 * a binding refused, an order or authorization that became invalid) or
 * cv_op_cancelled (cancellation requested before the order was finalized; a
 * finalized order completes anyway).  A CA that does not answer, answers
 * 5xx or limits the rate sets op->next_attempt from Retry-After (else a
 * growing backoff), counts op->attempts, saves and returns ACME_WAIT; after
 * ACME_MAX_ATTEMPTS such passes in a row the operation fails.  A CA that no
 * longer knows the account or the order (it was reset) makes the client
 * register again and order anew, once the old order is known to be gone.
 *
 * msg receives one line for the user: "completed, version V", "failed:
 * URL: TYPE: DETAIL", "cancelled"; on ACME_WAIT what is waited for ("URL:
 * TYPE: DETAIL" after a fault, "URL: waiting for validation"), or nothing
 * when op->next_attempt has not come yet (the caller says until when).  The
 * claim is kept: the caller releases it (ACME_WAIT, ACME_ERROR) or it ended
 * with the operation. */
enum acme_result acme_advance(cv_vault *v, cv_operation *op, const cv_issuer *is,
			      acme_challenger *ch, char *msg, size_t msglen);

#define ACME_MAX_ATTEMPTS 50

#endif
