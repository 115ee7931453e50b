/* certvault run: lifetime actions, mail and hooks (life.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "life.h"
#include "pass.h"

#include "net/smtp.h"
#include "proc/spawn.h"

#define LIFE_BATCH 256
#define LIFE_BATCHES_MAX 4096       /* a pass fires at most a million */
#define LIFE_DRY_MAX (1u << 20)
#define HOOK_TIMEOUT_DEFAULT 30
#define MAIL_LEASE 120              /* seconds: the send's timeout and more */
#define EVENT_PRUNE_MAX 10000       /* old events removed per pass */

int
run_time_parse(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	char *end;
	long long n;
	int64_t t, off = 0;

	*out = 0;
	if (s == NULL || s[0] == '\0')
		return -1;
	if (s[0] == '@') {
		errno = 0;
		n = strtoll(s + 1, &end, 10);
		if (errno != 0 || end == s + 1 || *end != '\0' || n <= 0 ||
		    n > 253402300799LL)
			return -1;
		*out = (int64_t)n;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		p = strptime(s, "%Y-%m-%dt%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
		   isdigit((unsigned char)p[2]) && p[3] == ':' &&
		   isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '+')
			off = -off;
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0' || tm.tm_year + 1900 < 1971 || tm.tm_year + 1900 > 9999)
		return -1;
	t = (int64_t)timegm(&tm) + off;
	if (t <= 0)
		return -1;
	*out = t;
	return 0;
}

/* --- Triggers ------------------------------------------------------------- */

static int
dry_triggers(cv_vault *v, const struct life_run *lr, FILE *out)
{
	cv_life_due *due = NULL;
	size_t n = 0, i;
	char when[32];
	cv_err err;

	err = cv_life_due_list(v, lr->now, LIFE_DRY_MAX, &due, &n);
	if (err != CV_OK) {
		fprintf(stderr, "certvault: cannot read the due triggers: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		return -1;
	}
	for (i = 0; i < n; i++) {
		cv_cert_version *cur = NULL;
		int current;

		/* Only the current version's triggers act; the rest are
		 * dropped when due. */
		current = cv_cert_get(v, due[i].name, NULL, &cur) == CV_OK &&
			  strcmp(cur->version, due[i].version) == 0;
		cv_cert_version_free(cur);
		cv_err_clear();
		run_time_text(due[i].due, when, sizeof(when));
		fprintf(out, "%s: %s: would %s (version %s, due %s)\n", due[i].name,
			cv_life_kind_name(due[i].kind), current ? "fire" : "drop it, not current",
			due[i].version, when);
	}
	free(due);
	return 0;
}

static int
fire_triggers(cv_vault *v, const struct life_run *lr, FILE *out,
	      int (*stop)(void))
{
	cv_life_due *due = NULL;
	cv_life_result r;
	size_t n = 0, i, done_now, batches;
	size_t indexed = 0;
	int faults = 0;
	cv_err err;

	err = cv_life_index_all(v, &indexed);
	if (err != CV_OK) {
		fprintf(stderr, "certvault: cannot index the vault's lifetime actions: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		return -1;
	}
	if (indexed > 0)
		fprintf(out, "index: %zu version%s indexed for lifetime actions\n",
			indexed, indexed == 1 ? "" : "s");
	for (batches = 0; batches < LIFE_BATCHES_MAX; batches++) {
		err = cv_life_due_list(v, lr->now, LIFE_BATCH, &due, &n);
		if (err != CV_OK) {
			fprintf(stderr, "certvault: cannot read the due triggers: %s\n",
				cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
			return -1;
		}
		done_now = 0;
		for (i = 0; i < n; i++) {
			if (stop != NULL && stop())
				break;
			err = cv_life_fire(v, &due[i], lr->now, &r);
			if (err != CV_OK) {
				faults++;
				fprintf(out, "%s: %s: error: %s\n", due[i].name,
					cv_life_kind_name(due[i].kind),
					cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
				continue;
			}
			done_now++;
			if (r.outcome == CV_LIFE_NOTHING)
				continue;
			fprintf(out, "%s: %s: %s%s\n", due[i].name,
				cv_life_kind_name(due[i].kind), r.message,
				r.mails > 0 ? " (mail queued)" : "");
		}
		free(due);
		due = NULL;
		fflush(out);
		/* The last batch, a stop, or one where nothing could be fired
		 * (it would come back the same). */
		if (n < LIFE_BATCH || done_now == 0 || (stop != NULL && stop()))
			break;
	}
	return faults;
}

/* --- Mail ----------------------------------------------------------------- */

static int
send_outbox(cv_vault *v, const struct life_run *lr, FILE *out, cv_mail *m,
	    size_t n)
{
	cv_mail_settings *s = NULL;
	struct smtp_server srv;
	struct smtp_mail mail;
	char errline[1024], mid[256];
	size_t i;
	int permanent, dropped, faults = 0;
	cv_err err;

	err = cv_mail_settings_get(v, 1, &s);
	if (err == CV_ERR_NOT_FOUND) {
		fprintf(out, "mail: %zu waiting in the outbox: the vault has no mail "
			"relay (certvault vault set-mail)\n", n);
		return 0;
	}
	if (err != CV_OK) {
		fprintf(out, "mail: error: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		return 1;
	}
	memset(&srv, 0, sizeof(srv));
	srv.host = s->host;
	srv.port = s->port;
	srv.security = s->security == CV_MAIL_TLS ? SMTP_TLS :
		       s->security == CV_MAIL_STARTTLS ? SMTP_STARTTLS : SMTP_PLAIN;
	srv.user = s->user;
	srv.password = s->password;
	srv.ca_file = getenv("CERTVAULT_SMTP_CA_FILE");
	srv.timeout = 30;
	for (i = 0; i < n; i++) {
		/* Two passes never both send one mail. */
		err = cv_outbox_claim(v, m[i].id, lr->now, MAIL_LEASE);
		if (err == CV_ERR_BUSY || err == CV_ERR_NOT_FOUND) {
			cv_err_clear();
			continue;
		}
		if (err != CV_OK) {
			faults++;
			fprintf(out, "%s: mail: error: %s\n", m[i].name,
				cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
			continue;
		}
		memset(&mail, 0, sizeof(mail));
		mail.from = s->from;
		mail.to = (const char *const *)m[i].to;
		mail.subject = m[i].subject;
		mail.body = m[i].body;
		/* One Message-ID per mail of the outbox, the same on every try:
		 * a pass killed after the relay took it but before the store
		 * heard so sends it again, and the reader sees one mail. */
		snprintf(mid, sizeof(mid), "<%llu.%lld@%s.certvault>",
			 (unsigned long long)m[i].id, (long long)m[i].created,
			 lr->vault_name != NULL && lr->vault_name[0] ? lr->vault_name : "vault");
		mail.message_id = mid;
		permanent = 0;
		errline[0] = '\0';
		if (smtp_send(&srv, &mail, &permanent, errline, sizeof(errline)) == 0) {
			err = cv_outbox_sent(v, m[i].id);
			if (err != CV_OK)
				faults++;
			fprintf(out, "%s: mail: sent '%s' to %zu recipient%s\n", m[i].name,
				m[i].subject, m[i].n_to, m[i].n_to == 1 ? "" : "s");
			continue;
		}
		dropped = 0;
		err = cv_outbox_failed(v, m[i].id, permanent, errline, lr->now, &dropped);
		if (err != CV_OK)
			faults++;
		fprintf(out, "%s: mail: '%s' not sent: %s%s\n", m[i].name, m[i].subject,
			errline, dropped ? " (given up)" : " (kept for a later pass)");
	}
	cv_mail_settings_free(s);
	return faults;
}

static int
mail_step(cv_vault *v, const struct life_run *lr, FILE *out)
{
	cv_mail *m = NULL;
	size_t n = 0;
	int faults = 0;
	cv_err err;

	err = cv_outbox_list(v, lr->now, &m, &n);
	if (err != CV_OK) {
		fprintf(out, "mail: error: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		return 1;
	}
	if (n == 0)
		goto done;
	if (lr->dry_run) {
		fprintf(out, "mail: would send %zu mail%s from the outbox\n", n,
			n == 1 ? "" : "s");
		goto done;
	}
	faults = send_outbox(v, lr, out, m, n);
done:
	fflush(out);
	cv_mail_list_free(m, n);
	return faults;
}

/* --- Hooks ---------------------------------------------------------------- */

static long
hook_timeout(void)
{
	const char *s = getenv("CERTVAULT_HOOK_TIMEOUT");
	char *end;
	long t;

	if (s == NULL || s[0] == '\0')
		return HOOK_TIMEOUT_DEFAULT;
	t = strtol(s, &end, 10);
	if (*end != '\0' || t < 1 || t > 3600)
		return HOOK_TIMEOUT_DEFAULT;
	return t;
}

static int
run_hooks(cv_vault *v, const struct life_run *lr, FILE *out, const char *cmd,
	  cv_event *ev, size_t n, int (*stop)(void))
{
	char **argv = NULL, *json = NULL, result[1024];
	size_t i;
	int faults = 0;
	cv_err err;

	if (proc_split(cmd, &argv) != 0) {
		fprintf(out, "hook: error: the hook command is empty\n");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (stop != NULL && stop())
			break;
		if (cv_event_json(&ev[i], lr->vault_name, &json) != CV_OK) {
			faults++;
			break;
		}
		result[0] = '\0';
		if (proc_run(argv, json, strlen(json), hook_timeout(), result,
			     sizeof(result)) == 0)
			fprintf(out, "%s: hook: %s: ran\n", ev[i].name, ev[i].type);
		else
			fprintf(out, "%s: hook: %s: failed: %s\n", ev[i].name, ev[i].type,
				result);
		fflush(out);
		free(json);
		json = NULL;
		/* Run once per event, whatever its outcome: a failing hook
		 * is reported, not run again and again. */
		if ((err = cv_hook_cursor_set(v, ev[i].seq)) != CV_OK) {
			faults++;
			break;
		}
	}
	proc_argv_free(argv);
	return faults;
}

static int
hook_step(cv_vault *v, const struct life_run *lr, FILE *out, int (*stop)(void))
{
	char *cmd = NULL;
	cv_event *ev = NULL;
	uint64_t seq = 0;
	size_t n = 0;
	int faults = 0;
	cv_err err;

	err = cv_hook_get(v, &cmd);
	if (err == CV_ERR_NOT_FOUND)
		return 0;
	if (err != CV_OK || (err = cv_hook_cursor_get(v, &seq)) != CV_OK ||
	    (err = cv_event_list(v, 0, seq, &ev, &n)) != CV_OK) {
		fprintf(out, "hook: error: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		faults = 1;
		goto done;
	}
	if (n == 0)
		goto done;
	if (lr->dry_run) {
		fprintf(out, "hook: would run for %zu event%s\n", n, n == 1 ? "" : "s");
		goto done;
	}
	faults = run_hooks(v, lr, out, cmd, ev, n, stop);
done:
	fflush(out);
	cv_event_list_free(ev, n);
	free(cmd);
	return faults;
}

/* Events older than CV_EVENT_KEEP_DAYS that the hook has heard go, a
 * bounded number per pass.  Age is counted to the pass's clock or the real
 * one, whichever is earlier: a pass rehearsed ahead with --now never drops
 * the history that the real clock still keeps. */
static int
prune_events(cv_vault *v, const struct life_run *lr, FILE *out)
{
	int64_t real = (int64_t)time(NULL), now = lr->now < real ? lr->now : real;
	size_t pruned = 0;
	cv_err err;

	if (lr->dry_run)
		return 0;
	err = cv_event_prune(v, now - (int64_t)CV_EVENT_KEEP_DAYS * 86400,
			     EVENT_PRUNE_MAX, &pruned);
	if (err != CV_OK) {
		fprintf(out, "events: error: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		return 1;
	}
	if (pruned > 0)
		fprintf(out, "events: %zu older than %d days removed\n", pruned,
			CV_EVENT_KEEP_DAYS);
	return 0;
}

int
run_life(cv_vault *v, const struct life_run *lr, FILE *out, int (*stop)(void))
{
	int faults, f;

	if (lr->dry_run)
		faults = dry_triggers(v, lr, out);
	else
		faults = fire_triggers(v, lr, out, stop);
	if (faults < 0)
		return -1;
	if (stop != NULL && stop())
		return faults;
	if ((f = mail_step(v, lr, out)) > 0)
		faults += f;
	if ((f = hook_step(v, lr, out, stop)) > 0)
		faults += f;
	if (stop == NULL || !stop())
		faults += prune_events(v, lr, out);
	return faults;
}
