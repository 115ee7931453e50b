/* certvault: AutoRenew, through the certificate's issuer.
 *
 * A renewal is cv_cert_create with the stored policy and the current
 * version's tags, run with two calls into its write transaction: the first
 * checks again that the trigger has not fired (the key was made before the
 * transaction began, and another pass may have fired it meanwhile), the
 * second marks it fired and queues the mail, so the new version or
 * operation and the record that the trigger fired commit together. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "internal.h"

typedef struct renewal {
	const cv_life_due *due;
	int64_t now;
	int stale;              /* the check found the trigger fired or gone */
	cv_life_result *out;
} renewal;

static cv_err
renewal_check(cv_vault *v, MDB_txn *txn, void *arg)
{
	renewal *r = arg;
	enum life_state state;
	cv_err err;

	if ((err = life_due_state(v, txn, r->due, &state)) != CV_OK)
		return err;
	if (state != LIFE_READY) {
		r->stale = 1;
		return cv_err_set(CV_ERR_CONFLICT, "the trigger fired meanwhile");
	}
	return CV_OK;
}

/* The CSR as PEM text, for a mail asking to have it signed. */
static char *
csr_pem(const cv_blob *csr)
{
	size_t b64len = 4 * ((csr->len + 2) / 3), i, o = 0;
	char *b64 = NULL, *pem = NULL;

	if (csr->len == 0 || (b64 = malloc(b64len + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, csr->data, (int)csr->len);
	if ((pem = malloc(b64len + b64len / 64 + 128)) == NULL)
		goto done;
	o = (size_t)sprintf(pem, "-----BEGIN CERTIFICATE REQUEST-----\n");
	for (i = 0; i < b64len; i += 64) {
		size_t l = b64len - i < 64 ? b64len - i : 64;

		memcpy(pem + o, b64 + i, l);
		o += l;
		pem[o++] = '\n';
	}
	sprintf(pem + o, "-----END CERTIFICATE REQUEST-----\n");
done:
	free(b64);
	return pem;
}

static cv_err
renewal_record(cv_vault *v, MDB_txn *txn, const cv_operation *op, void *arg)
{
	renewal *r = arg;
	life_about_buf ab = { 0 };
	char exp[32], subject[256], *what = NULL, *pem = NULL;
	size_t wlen = 2048;
	int queued = 0;
	cv_err err;

	if ((err = life_about_read(v, txn, r->due->name, r->due->version, &ab)) != CV_OK)
		goto done;
	life_time_text(ab.a.exp, exp, sizeof(exp));
	memcpy(r->out->version, op->version, sizeof(r->out->version));
	if (op->status == CV_OP_IN_PROGRESS && op->provider != NULL &&
	    strcmp(op->provider, "Unknown") == 0) {
		pem = csr_pem(&op->csr);
		wlen += pem != NULL ? strlen(pem) : 0;
	}
	if ((what = malloc(wlen)) == NULL) {
		err = CV_ERR_NOMEM;
		goto done;
	}
	if (op->status == CV_OP_COMPLETED) {
		r->out->outcome = CV_LIFE_RENEWED;
		r->out->events++; /* CertificateNewVersionCreated, by the schedule */
		snprintf(subject, sizeof(subject), "Certificate %s renewed", ab.a.name);
		snprintf(what, wlen,
			 "The vault renewed certificate %s: version %s is now current. "
			 "The version below stays valid until it expires on %s.",
			 ab.a.name, op->version, exp);
		snprintf(r->out->message, sizeof(r->out->message),
			 "renewed: new version %s", op->version);
	} else if (pem != NULL) {
		r->out->outcome = CV_LIFE_PENDING;
		snprintf(subject, sizeof(subject), "Certificate %s: renewal needs your CA",
			 ab.a.name);
		snprintf(what, wlen,
			 "Certificate %s expires on %s and its issuer is Unknown, so the vault "
			 "cannot renew it by itself.  A new key and this certificate signing "
			 "request were made (operation %s); have it signed by your CA and "
			 "merge the answer:\n  certvault pending merge %s --file SIGNED.pem\n\n%s",
			 ab.a.name, exp, op->request_id ? op->request_id : op->version,
			 ab.a.name, pem);
		snprintf(r->out->message, sizeof(r->out->message),
			 "pending: a CSR for version %s awaits a merge", op->version);
	} else {
		r->out->outcome = CV_LIFE_PENDING;
		snprintf(subject, sizeof(subject), "Certificate %s: renewal ordered",
			 ab.a.name);
		snprintf(what, wlen,
			 "The vault ordered a new version of certificate %s from issuer %s "
			 "(provider %s); certvault run completes the order.  The version "
			 "below stays in service until then.", ab.a.name,
			 op->issuer_name ? op->issuer_name : "?",
			 op->provider ? op->provider : "?");
		snprintf(r->out->message, sizeof(r->out->message),
			 "pending: version %s ordered from %s", op->version,
			 op->issuer_name ? op->issuer_name : "?");
	}
	if ((err = life_mail_add(v, txn, &ab.a, subject, what, r->now, &queued)) != CV_OK)
		goto done;
	r->out->mails += (size_t)queued;
	err = life_trigger_fire(v, txn, r->due, r->now);
done:
	free(what);
	free(pem);
	life_about_clear(&ab);
	return err;
}

/* Faults of the vault or the pass, not of the renewal: nothing is recorded
 * and the next pass tries again. */
static int
pass_fault(cv_err err)
{
	return err == CV_ERR_IO || err == CV_ERR_FULL || err == CV_ERR_NOMEM ||
	       err == CV_ERR_NOT_LOGGED_IN || err == CV_ERR_READ_ONLY ||
	       err == CV_ERR_CORRUPT;
}

cv_err
life_renew(cv_vault *v, const cv_life_due *due, int64_t now,
	   cv_life_result *out)
{
	MDB_txn *txn = NULL;
	enum life_state state = LIFE_GONE;
	cv_cert_rec cert = { 0 };
	cv_policy *policy = NULL;
	life_about_buf ab = { 0 };
	cv_tags tags = { 0 };
	renewal r = { .due = due, .now = now, .out = out };
	cv_create_hook hook = { renewal_check, renewal_record, &r };
	char why[512];
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_txn_read(v, &txn)) != CV_OK)
		return err;
	if ((err = life_due_state(v, txn, due, &state)) != CV_OK)
		goto done;
	if (state == LIFE_READY &&
	    ((err = cv_cert_rec_read(v, txn, due->name, &cert)) != CV_OK ||
	     (err = cv_cert_rec_policy(&cert, &policy)) != CV_OK ||
	     (err = life_about_read(v, txn, due->name, due->version, &ab)) != CV_OK ||
	     (err = cv_tags_copy(&ab.cv->tags, &tags)) != CV_OK))
		goto done;
	mdb_txn_abort(txn);
	txn = NULL;
	if (state != LIFE_READY) {
		err = life_fire_plain(v, due, now, NULL, out);
		goto done;
	}
	err = cv_cert_create_hooked(v, cert.name, policy, &tags, &hook, NULL);
	if (err == CV_OK)
		goto done;
	memset(out, 0, sizeof(*out));
	if (r.stale) {
		cv_err_clear();
		err = life_fire_plain(v, due, now, NULL, out);
		goto done;
	}
	if (pass_fault(err))
		goto done;
	snprintf(why, sizeof(why), "%s",
		 cv_err_detail()[0] != '\0' ? cv_err_detail() : cv_strerror(err));
	cv_err_clear();
	err = life_fire_plain(v, due, now, why, out);
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	cv_tags_clear(&tags);
	life_about_clear(&ab);
	cv_policy_free(policy);
	cv_cert_rec_clear(&cert);
	return err;
}

/* 1 when the AutoRenew trigger of name/version has fired. */
static cv_err
renew_fired(cv_vault *v, MDB_txn *txn, const char *name, const char *version,
	    int *fired)
{
	life_tkey tk;
	life_trigger t;
	cv_err err;

	*fired = 0;
	life_tkey_make(&tk, name, version, CV_LIFE_AUTO_RENEW);
	err = life_trigger_read(v, txn, &tk, &t);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err == CV_OK)
		*fired = t.fired != 0;
	return err;
}

cv_err
cv_life_renewed_later(cv_vault *v, MDB_txn *txn, const char *name,
		      const char *prev, const char *version)
{
	life_about_buf old = { 0 }, now = { 0 };
	char exp[32], subject[256], what[1024];
	int fired = 0, queued = 0;
	cv_err err;

	if (!v->has_life || prev[0] == '\0')
		return CV_OK;
	if ((err = renew_fired(v, txn, name, prev, &fired)) != CV_OK || !fired)
		return err;
	if ((err = life_about_read(v, txn, name, prev, &old)) != CV_OK ||
	    (err = life_about_read(v, txn, name, version, &now)) != CV_OK)
		goto done;
	life_time_text(old.a.exp, exp, sizeof(exp));
	snprintf(subject, sizeof(subject), "Certificate %s renewed", now.a.name);
	snprintf(what, sizeof(what),
		 "The renewal of certificate %s is complete: version %s is now current. "
		 "Version %s stays valid until it expires on %s.", now.a.name,
		 now.a.version, old.a.version, exp);
	err = life_mail_add(v, txn, &now.a, subject, what, cv_now(), &queued);
done:
	life_about_clear(&old);
	life_about_clear(&now);
	return err;
}

cv_err
cv_life_renewal_failed(cv_vault *v, MDB_txn *txn, const cv_operation *op)
{
	cv_cert_rec cert = { 0 };
	life_about_buf ab = { 0 };
	char exp[32], subject[256], what[1024], why[512];
	int fired = 0, queued = 0;
	cv_err err;

	if (!v->has_life)
		return CV_OK;
	err = cv_cert_rec_read(v, txn, op->name, &cert);
	if (err == CV_ERR_NOT_FOUND) {
		cv_err_clear();
		return CV_OK;
	}
	if (err != CV_OK || cert.current[0] == '\0' ||
	    (err = renew_fired(v, txn, cert.name, cert.current, &fired)) != CV_OK ||
	    !fired)
		goto done;
	if ((err = life_about_read(v, txn, cert.name, cert.current, &ab)) != CV_OK)
		goto done;
	snprintf(why, sizeof(why), "operation %s failed: %s%s%s", op->version,
		 op->error_code ? op->error_code : "failed",
		 op->error_message ? ": " : "", op->error_message ? op->error_message : "");
	life_time_text(ab.a.exp, exp, sizeof(exp));
	snprintf(subject, sizeof(subject), "Certificate %s: renewal failed", ab.a.name);
	snprintf(what, sizeof(what),
		 "The vault could not renew certificate %s: %s\n"
		 "Its current version stays in service until it expires on %s; "
		 "renew it by hand before then.", ab.a.name, why, exp);
	if ((err = life_event_add(v, txn, CV_EVENT_RENEWAL_FAILED, &ab.a, cv_now(),
				  why)) != CV_OK)
		goto done;
	err = life_mail_add(v, txn, &ab.a, subject, what, cv_now(), &queued);
done:
	life_about_clear(&ab);
	cv_cert_rec_clear(&cert);
	return err;
}
