/* certvault: what the files of store/life/ share.
 *
 * schedule.c  trigger times, the due index, indexing an older vault
 * fire.c      firing one due trigger in one write transaction
 * renew.c     AutoRenew through the certificate's issuer
 * outbox.c    mails made in the store, kept until the pass sends them
 * events.c    events with Event Grid's names, the hook's cursor
 * settings.c  the vault's mail relay and hook command
 */
#ifndef CV_LIFE_INTERNAL_H
#define CV_LIFE_INTERNAL_H

#include "../internal.h"

/* The key of a trigger: lowercase name \0 version \0 kind. */
typedef struct life_tkey {
	unsigned char b[CV_NAME_MAX + 1 + CV_VERSION_LEN + 1 + 1];
	size_t len;
} life_tkey;

/* The key of a due entry: due (8 bytes BE) then the trigger's key. */
typedef struct life_dkey {
	unsigned char b[8 + sizeof(((life_tkey *)0)->b)];
	size_t len;
} life_dkey;

void life_tkey_make(life_tkey *k, const char *name, const char *version,
		    enum cv_life_kind kind);
void life_dkey_make(life_dkey *k, int64_t due, const life_tkey *t);
/* A due key read from the index, back to its parts (the name's case is
 * the key's; the value holds it as written).  Errors: CV_ERR_CORRUPT. */
cv_err life_dkey_parse(const void *key, size_t len, cv_life_due *out);

uint64_t life_be64_get(const unsigned char b[8]);
void life_be64_put(uint64_t n, unsigned char b[8]);

/* A trigger record. */
typedef struct life_trigger {
	enum cv_life_kind kind;
	int64_t due;
	int64_t fired;      /* 0: not yet */
} life_trigger;

/* Errors: CV_ERR_NOT_FOUND, CV_ERR_CORRUPT. */
cv_err life_trigger_read(cv_vault *v, MDB_txn *txn, const life_tkey *k,
			 life_trigger *out);
cv_err life_trigger_write(cv_vault *v, MDB_txn *txn, const life_tkey *k,
			  const char *name, const char *version,
			  const life_trigger *t);

/* Mark the trigger of due fired at now and remove its due entry, in txn. */
cv_err life_trigger_fire(cv_vault *v, MDB_txn *txn, const cv_life_due *due,
			 int64_t now);

/* Where a due trigger stands, read in txn: LIFE_GONE (no due entry: fired
 * or remade), LIFE_FIRED (entry left but the trigger fired), LIFE_STALE
 * (its version is not current), LIFE_READY. */
enum life_state { LIFE_GONE, LIFE_FIRED, LIFE_STALE, LIFE_READY };
cv_err life_due_state(cv_vault *v, MDB_txn *txn, const cv_life_due *due,
		      enum life_state *out);

/* What mails and events say of a version. */
typedef struct life_about {
	const char *name;       /* as written */
	const char *version;
	const char *subject;    /* the certificate's subject; may be NULL */
	int64_t nbf, exp;
} life_about;

/* Append an event in txn (the next sequence number); message may be
 * NULL. */
/* Move the hook's cursor to the last event (none: left as it is), in txn:
 * a hook set now hears of what happens from now on. */
cv_err life_hook_cursor_to_last(cv_vault *v, MDB_txn *txn);
cv_err life_event_add(cv_vault *v, MDB_txn *txn, const char *type,
		      const life_about *a, int64_t when, const char *message);

/* Put one mail in the outbox, addressed to every contact of the vault, in
 * txn; *queued is 1 when there was someone to send it to, else 0 and
 * nothing is written.  The body is made of what (one paragraph saying what
 * was done or what to do) and the version's particulars. */
cv_err life_mail_add(cv_vault *v, MDB_txn *txn, const life_about *a,
		     const char *subject, const char *what, int64_t when,
		     int *queued);

/* The meta keys of the hook command and of the last event it was run for. */
#define LIFE_HOOK_KEY "hook"
#define LIFE_HOOK_CURSOR_KEY "hook.cursor"

/* The next number of a counter in meta (from 1), advanced in txn. */
cv_err life_counter_next(cv_vault *v, MDB_txn *txn, const char *key,
			 uint64_t *out);

/* RFC 3339 UTC of t into buf (at least 21 bytes). */
void life_time_text(int64_t t, char *buf, size_t n);

/* AutoRenew (renew.c): renew the certificate of due; *out as
 * cv_life_fire says. */
cv_err life_renew(cv_vault *v, const cv_life_due *due, int64_t now,
		  cv_life_result *out);

/* The plain work of a due trigger (fire.c): in one write transaction. */
cv_err life_fire_plain(cv_vault *v, const cv_life_due *due, int64_t now,
		       const char *failure, cv_life_result *out);

/* The version of due as mails and events describe it, read in txn.  Free
 * with life_about_clear. */
typedef struct life_about_buf {
	life_about a;
	cv_cert_version *cv;
	cv_tags tags;
} life_about_buf;
cv_err life_about_read(cv_vault *v, MDB_txn *txn, const char *name,
		       const char *version, life_about_buf *out);
void life_about_clear(life_about_buf *b);

#endif
