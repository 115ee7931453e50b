/* certvault-pkcs11: sessions.
 *
 * The table cv_mod.sessions holds a session at index handle - 1, so a
 * handle is never 0, and a handle is reused only after its session closed.
 * A session is freed by whoever drops its last reference: the table holds
 * one while it is open, and each call in flight one more
 * (cv_session_acquire), so closing a session another thread is using is
 * safe: that thread finishes, and its release frees it.
 *
 * Lock order: a session's lock, then a slot's auth_lock, then cv_mod.lock.
 * Nothing here takes a session lock while holding cv_mod.lock.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

void
cv_crypto_op_clear(cv_crypto_op *op)
{
	if (op == NULL)
		return;
	EVP_PKEY_free(op->pkey);
	EVP_MD_CTX_free(op->md);
	EVP_PKEY_CTX_free(op->pctx);
	if (op->buf != NULL) {
		OPENSSL_cleanse(op->buf, op->buf_cap);
		free(op->buf);
	}
	memset(op, 0, sizeof(*op));
}

static void
end_op(cv_session *s, enum cv_op_kind kind)
{
	int i;

	if (kind == CV_OP_FIND) {
		cv_find_clear(&s->find);
		memset(&s->find, 0, sizeof(s->find));
	} else if (kind > CV_OP_NONE && kind < CV_OP__COUNT)
		cv_crypto_op_clear(&s->ops[kind]);
	s->active[kind] = 0;
	for (i = CV_OP_NONE + 1; i < CV_OP__COUNT; i++)
		if (s->active[i])
			return;
	s->op_kind = CV_OP_NONE;
}

void
cv_session_end_op(cv_session *s, enum cv_op_kind kind)
{
	if (s == NULL || kind <= CV_OP_NONE || kind >= CV_OP__COUNT) {
		cv_module_precondition_failed(__func__, "a session and an operation kind");
		return;
	}
	end_op(s, kind);
}

void
cv_session_end_ops(cv_session *s)
{
	int k;

	if (s == NULL)
		return;
	/* Every kind, active or not: an op half set up by a failed init
	 * still owns memory. */
	for (k = CV_OP_NONE + 1; k < CV_OP__COUNT; k++)
		end_op(s, (enum cv_op_kind)k);
}

static void
session_free(cv_session *s)
{
	cv_session_end_ops(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Drop a reference; the caller holds cv_mod.lock.  Returns the session if
 * that was the last one, for the caller to free once it has unlocked. */
static cv_session *
unref_locked(cv_session *s)
{
	if (--s->refs > 0)
		return NULL;
	return s;
}

int
cv_session_rw(const cv_session *s)
{
	return_val_if_fail(s != NULL, 0);
	return (s->flags & CKF_RW_SESSION) != 0;
}

int
cv_session_logged_in(const cv_session *s)
{
	int yes;

	return_val_if_fail(s != NULL, 0);
	pthread_mutex_lock(&cv_mod.lock);
	yes = s->slot->login == CKU_USER;
	pthread_mutex_unlock(&cv_mod.lock);
	return yes;
}

CK_RV
cv_session_open(cv_slot *slot, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out)
{
	cv_session *s = NULL;
	cv_session **grown;
	CK_ULONG i, cap;
	CK_RV rv = CKR_HOST_MEMORY;
	int locked = 0, mutex_made = 0;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(out != NULL, CKR_ARGUMENTS_BAD);
	*out = CK_INVALID_HANDLE;

	if ((flags & CKF_SERIAL_SESSION) == 0)
		return CKR_SESSION_PARALLEL_NOT_SUPPORTED;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto done;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto done;
	mutex_made = 1;
	s->slot = slot;
	s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
	s->refs = 1;

	pthread_mutex_lock(&cv_mod.lock);
	locked = 1;
	if (!cv_mod.initialized) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto done;
	}
	if (!slot->present) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto done;
	}
	if (slot->vault == NULL || slot->init_busy) {
		rv = CKR_TOKEN_NOT_RECOGNIZED;
		goto done;
	}
	if ((flags & CKF_RW_SESSION) != 0 && cv_vault_read_only(slot->vault)) {
		rv = CKR_TOKEN_WRITE_PROTECTED;
		goto done;
	}
	if ((flags & CKF_RW_SESSION) == 0 && slot->login == CKU_SO) {
		rv = CKR_SESSION_READ_WRITE_SO_EXISTS;
		goto done;
	}
	for (i = 0; i < cv_mod.n_sessions_cap; i++)
		if (cv_mod.sessions[i] == NULL)
			break;
	if (i == cv_mod.n_sessions_cap) {
		cap = cv_mod.n_sessions_cap ? 2 * cv_mod.n_sessions_cap : 16;
		if (cap < cv_mod.n_sessions_cap ||
		    cap > SIZE_MAX / sizeof(*grown))
			goto done;
		if ((grown = realloc(cv_mod.sessions, cap * sizeof(*grown))) == NULL)
			goto done;
		memset(grown + cv_mod.n_sessions_cap, 0,
		       (cap - cv_mod.n_sessions_cap) * sizeof(*grown));
		cv_mod.sessions = grown;
		cv_mod.n_sessions_cap = cap;
	}
	s->handle = i + 1;
	cv_mod.sessions[i] = s;
	slot->sessions++;
	if ((flags & CKF_RW_SESSION) == 0)
		slot->ro_sessions++;
	*out = s->handle;
	s = NULL;
	rv = CKR_OK;
done:
	if (locked)
		pthread_mutex_unlock(&cv_mod.lock);
	if (s != NULL) {
		if (mutex_made)
			pthread_mutex_destroy(&s->lock);
		free(s);
	}
	return rv;
}

/* The open session of a handle; the caller holds cv_mod.lock. */
static cv_session *
lookup_locked(CK_SESSION_HANDLE h)
{
	cv_session *s;

	if (h == CK_INVALID_HANDLE || h > cv_mod.n_sessions_cap)
		return NULL;
	s = cv_mod.sessions[h - 1];
	if (s == NULL || s->closed)
		return NULL;
	return s;
}

CK_RV
cv_session_acquire(CK_SESSION_HANDLE h, cv_session **out)
{
	cv_session *s;
	int closed;

	return_val_if_fail(out != NULL, CKR_GENERAL_ERROR);
	*out = NULL;

	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	if ((s = lookup_locked(h)) == NULL) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_SESSION_HANDLE_INVALID;
	}
	s->refs++;
	pthread_mutex_unlock(&cv_mod.lock);

	pthread_mutex_lock(&s->lock);
	/* closed is written under cv_mod.lock. */
	pthread_mutex_lock(&cv_mod.lock);
	closed = s->closed;
	pthread_mutex_unlock(&cv_mod.lock);
	if (closed) {
		/* Closed by another thread while this one waited. */
		cv_session_release(s);
		return CKR_SESSION_CLOSED;
	}
	*out = s;
	return CKR_OK;
}

void
cv_session_release(cv_session *s)
{
	cv_session *dead;

	if (s == NULL)
		return;
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&cv_mod.lock);
	dead = unref_locked(s);
	pthread_mutex_unlock(&cv_mod.lock);
	if (dead != NULL)
		session_free(dead);
}

/* The last session of a slot closed: the application's login ends (the
 * spec: its login state returns to public sessions). */
static void
logout_if_idle(cv_slot *slot)
{
	int was_in = 0;

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (slot->sessions == 0 && slot->login != CV_NOT_LOGGED_IN) {
		slot->login = CV_NOT_LOGGED_IN;
		cv_object_handles_lapse(slot);
		was_in = 1;
	}
	pthread_mutex_unlock(&cv_mod.lock);
	if (was_in && slot->vault != NULL)
		cv_vault_logout(slot->vault);
	pthread_mutex_unlock(&slot->auth_lock);
	if (was_in)
		cv_cache_forget_private(slot);
}

CK_RV
cv_session_close(CK_SESSION_HANDLE h)
{
	cv_session *s, *dead = NULL;
	cv_slot *slot;
	int last;

	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	if ((s = lookup_locked(h)) == NULL) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_SESSION_HANDLE_INVALID;
	}
	/* Closed, but still in the table: the handle is not handed out again
	 * before the session's objects are gone. */
	s->closed = 1;
	slot = s->slot;
	slot->sessions--;
	if ((s->flags & CKF_RW_SESSION) == 0)
		slot->ro_sessions--;
	last = slot->sessions == 0;
	pthread_mutex_unlock(&cv_mod.lock);

	cv_object_session_closed(h);
	if (last)
		logout_if_idle(slot);

	pthread_mutex_lock(&cv_mod.lock);
	if (h <= cv_mod.n_sessions_cap && cv_mod.sessions[h - 1] == s)
		cv_mod.sessions[h - 1] = NULL;
	dead = unref_locked(s);
	pthread_mutex_unlock(&cv_mod.lock);
	if (dead != NULL)
		session_free(dead);
	return CKR_OK;
}

CK_RV
cv_session_close_all(cv_slot *slot)
{
	CK_SESSION_HANDLE h;
	CK_ULONG i;
	CK_RV rv;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);

	/* One at a time, so that closing needs no list (and no memory). */
	for (;;) {
		h = CK_INVALID_HANDLE;
		pthread_mutex_lock(&cv_mod.lock);
		if (!cv_mod.initialized) {
			pthread_mutex_unlock(&cv_mod.lock);
			return CKR_CRYPTOKI_NOT_INITIALIZED;
		}
		for (i = 0; i < cv_mod.n_sessions_cap; i++) {
			cv_session *s = cv_mod.sessions[i];

			if (s != NULL && !s->closed && s->slot == slot) {
				h = s->handle;
				break;
			}
		}
		pthread_mutex_unlock(&cv_mod.lock);
		if (h == CK_INVALID_HANDLE)
			break;
		rv = cv_session_close(h);
		/* Another thread closing the same session is no failure. */
		if (rv != CKR_OK && rv != CKR_SESSION_HANDLE_INVALID)
			return rv;
	}
	/* Nothing was open, yet a login may linger; the spec says the
	 * application's login state is public afterwards. */
	logout_if_idle(slot);
	return CKR_OK;
}

void
cv_session_end_private_ops(cv_slot *slot)
{
	CK_ULONG i, cap;
	cv_session *s;

	if (slot == NULL) {
		cv_module_precondition_failed(__func__, "slot != NULL");
		return;
	}

	pthread_mutex_lock(&cv_mod.lock);
	cap = cv_mod.n_sessions_cap;
	pthread_mutex_unlock(&cv_mod.lock);

	for (i = 0; i < cap; i++) {
		pthread_mutex_lock(&cv_mod.lock);
		s = i < cv_mod.n_sessions_cap ? cv_mod.sessions[i] : NULL;
		if (s == NULL || s->closed || s->slot != slot) {
			pthread_mutex_unlock(&cv_mod.lock);
			continue;
		}
		s->refs++;
		pthread_mutex_unlock(&cv_mod.lock);

		pthread_mutex_lock(&s->lock);
		/* A find may hold handles of private objects; a sign or
		 * decrypt holds a private key. */
		if (s->active[CV_OP_FIND])
			end_op(s, CV_OP_FIND);
		if (s->active[CV_OP_SIGN])
			end_op(s, CV_OP_SIGN);
		if (s->active[CV_OP_DECRYPT])
			end_op(s, CV_OP_DECRYPT);
		cv_session_release(s);
	}
}
