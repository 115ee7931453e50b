/* certvault: firing one due trigger, once, in one write transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "internal.h"

void
life_time_text(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, n, "@%lld", (long long)t);
}

cv_err
life_about_read(cv_vault *v, MDB_txn *txn, const char *name,
		const char *version, life_about_buf *out)
{
	cv_cert_rec cert = { 0 };
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_cert_rec_read(v, txn, name, &cert)) == CV_OK &&
	    (err = cv_cert_version_read(v, txn, &cert, version, &out->cv)) == CV_OK) {
		out->a.name = out->cv->name;
		out->a.version = out->cv->version;
		out->a.subject = out->cv->subject;
		out->a.nbf = out->cv->nbf;
		out->a.exp = out->cv->exp;
	}
	cv_cert_rec_clear(&cert);
	return err;
}

void
life_about_clear(life_about_buf *b)
{
	cv_cert_version_free(b->cv);
	cv_tags_clear(&b->tags);
	memset(b, 0, sizeof(*b));
}

/* The work of a notice, or the record of a renewal that failed. */
static cv_err
notice(cv_vault *v, MDB_txn *txn, const cv_life_due *due, int64_t now,
       const char *failure, cv_life_result *out)
{
	life_about_buf ab = { 0 };
	char exp[32], subject[256], what[1024];
	int queued = 0;
	cv_err err;

	if ((err = life_about_read(v, txn, due->name, due->version, &ab)) != CV_OK)
		goto done;
	life_time_text(ab.a.exp, exp, sizeof(exp));
	out->outcome = CV_LIFE_NOTICE;
	if (failure != NULL || due->kind == CV_LIFE_AUTO_RENEW) {
		const char *why = failure != NULL ? failure : "no renewal was made";

		if ((err = life_event_add(v, txn, CV_EVENT_RENEWAL_FAILED, &ab.a, now,
					  why)) != CV_OK)
			goto done;
		out->events++;
		snprintf(subject, sizeof(subject), "Certificate %s: renewal failed", ab.a.name);
		snprintf(what, sizeof(what),
			 "The vault could not renew certificate %s: %s\n"
			 "Its current version stays in service until it expires on %s; "
			 "renew it by hand before then.", ab.a.name, why, exp);
		out->outcome = CV_LIFE_FAILED;
		snprintf(out->message, sizeof(out->message), "renewal failed: %s", why);
	} else if (due->kind == CV_LIFE_EMAIL) {
		snprintf(subject, sizeof(subject), "Certificate %s expires on %s",
			 ab.a.name, exp);
		snprintf(what, sizeof(what),
			 "Certificate %s expires on %s and the vault will not renew it by "
			 "itself: renew it (certvault certificate create, or import a new "
			 "version) before then.", ab.a.name, exp);
		snprintf(out->message, sizeof(out->message), "expiry notice: expires %s", exp);
	} else {
		const char *type = due->kind == CV_LIFE_NEAR_EXPIRY ? CV_EVENT_NEAR_EXPIRY :
				   CV_EVENT_EXPIRED;

		if ((err = life_event_add(v, txn, type, &ab.a, now, NULL)) != CV_OK)
			goto done;
		out->events++;
		snprintf(out->message, sizeof(out->message), "event %s: expires %s", type, exp);
		subject[0] = '\0'; /* an event alone: no mail */
	}
	if (subject[0] != '\0' &&
	    (err = life_mail_add(v, txn, &ab.a, subject, what, now, &queued)) != CV_OK)
		goto done;
	out->mails += (size_t)queued;
	err = life_trigger_fire(v, txn, due, now);
done:
	life_about_clear(&ab);
	return err;
}

cv_err
life_fire_plain(cv_vault *v, const cv_life_due *due, int64_t now,
		const char *failure, cv_life_result *out)
{
	MDB_txn *txn = NULL;
	enum life_state state;
	cv_err err;

	memset(out, 0, sizeof(*out));
	if ((err = cv_txn_write(v, &txn)) != CV_OK)
		return err;
	if ((err = life_due_state(v, txn, due, &state)) != CV_OK)
		goto done;
	switch (state) {
	case LIFE_GONE:
		out->outcome = CV_LIFE_NOTHING;
		snprintf(out->message, sizeof(out->message), "nothing: fired before");
		goto done; /* nothing to write */
	case LIFE_FIRED:
		out->outcome = CV_LIFE_NOTHING;
		snprintf(out->message, sizeof(out->message), "nothing: fired before");
		err = life_trigger_fire(v, txn, due, now);
		break;
	case LIFE_STALE:
		/* Only the current version's triggers act: once a version is no
		 * longer current, its trigger is remembered as done. */
		out->outcome = CV_LIFE_DROPPED;
		snprintf(out->message, sizeof(out->message),
			 "dropped: version %s is no longer current", due->version);
		err = life_trigger_fire(v, txn, due, now);
		break;
	case LIFE_READY:
		err = notice(v, txn, due, now, failure, out);
		break;
	}
	if (err != CV_OK)
		goto done;
	err = cv_txn_write_commit(v, txn);
	txn = NULL;
done:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (err != CV_OK)
		memset(out, 0, sizeof(*out));
	return err;
}

cv_err
cv_life_fire(cv_vault *v, const cv_life_due *due, int64_t now,
	     cv_life_result *out)
{
	unsigned char probe[CV_MASTER_KEY_LEN];
	int64_t was;
	cv_err err;

	cv_err_clear();
	memset(out, 0, sizeof(*out));
	if (due == NULL || !cv_name_valid(due->name) || now <= 0 ||
	    due->kind < CV_LIFE_AUTO_RENEW || due->kind > CV_LIFE_EXPIRED)
		return cv_err_set(CV_ERR_INVALID, "cv_life_fire: bad arguments");
	if ((err = cv_vault_master(v, probe)) != CV_OK)
		return err;
	OPENSSL_cleanse(probe, sizeof(probe));
	if (!v->has_life)
		return CV_OK;
	/* What the trigger makes is made as at the pass's time. */
	was = cv_clock_set(now);
	if (due->kind == CV_LIFE_AUTO_RENEW)
		err = life_renew(v, due, now, out);
	else
		err = life_fire_plain(v, due, now, NULL, out);
	cv_clock_set(was);
	return err;
}
