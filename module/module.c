/* certvault-pkcs11: the module's state, C_Initialize and C_Finalize, fork
 * and slot events.
 *
 * Fork: LMDB forbids using an environment in a child, so a child never
 * touches the parent's vaults.  Every call but C_Initialize and the
 * function-list calls answers CKR_CRYPTOKI_NOT_INITIALIZED there
 * (cv_module_check compares the pid), and C_Initialize drops the parent's
 * state with cv_vault_abandon and opens the vaults anew.  The only fork
 * handler keeps cv_mod.lock usable in the child; it touches no vault.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "internal.h"

#ifndef CV_VERSION_MAJOR
#define CV_VERSION_MAJOR 0
#endif
#ifndef CV_VERSION_MINOR
#define CV_VERSION_MINOR 1
#endif

cv_module_state cv_mod = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.event = PTHREAD_COND_INITIALIZER,
};

/* Moves with each C_Initialize and C_Finalize, so a C_WaitForSlotEvent
 * woken late sees that its module state is gone. */
static unsigned long lifetime;

/* One C_Initialize or C_Finalize at a time, held across the opening and
 * closing of the vaults (without cv_mod.lock, so other calls answer
 * meanwhile): LMDB forbids opening one environment twice in a process,
 * which two racing C_Initialize calls would do.  Taken before cv_mod.lock. */
static pthread_mutex_t lifecycle_lock = PTHREAD_MUTEX_INITIALIZER;

/* The process that initialized the module, or 0: what cv_module_check
 * compares, kept beside cv_mod.pid so the check needs no lock. */
static _Atomic long initialized_in;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Fork takes every lock of the module, outermost first, so the child
 * starts with none of them held by a thread it does not have. */
static void
atfork_prepare(void)
{
	pthread_mutex_lock(&lifecycle_lock);
	pthread_mutex_lock(&cv_mod.lock);
	cv_object_fork_lock();
	cv_cache_fork_lock();
}

static void
atfork_parent(void)
{
	cv_cache_fork_unlock();
	cv_object_fork_unlock();
	pthread_mutex_unlock(&cv_mod.lock);
	pthread_mutex_unlock(&lifecycle_lock);
}

static void
atfork_child(void)
{
	cv_cache_fork_unlock();
	cv_object_fork_unlock();
	pthread_mutex_unlock(&cv_mod.lock);
	pthread_mutex_unlock(&lifecycle_lock);
	/* The parent's waiters do not exist here; a condition variable that
	 * still counts them could stall a broadcast. */
	pthread_cond_init(&cv_mod.event, NULL);
}

static void
atfork_register(void)
{
	if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
		cv_module_debug("pthread_atfork failed");
}

/* Free slots.  In a child after fork (abandon), the vaults' LMDB
 * environments and any lock a parent's thread held are left alone. */
static void
slots_free(cv_slot *slots, CK_ULONG n, int abandon)
{
	CK_ULONG i;

	if (slots == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (abandon) {
			cv_vault_abandon(slots[i].vault);
		} else {
			cv_vault_close(slots[i].vault);
			pthread_mutex_destroy(&slots[i].auth_lock);
		}
		free(slots[i].dir);
	}
	free(slots);
}

static void
sessions_free(cv_session **sessions, CK_ULONG cap, int abandon)
{
	CK_ULONG i;

	if (sessions == NULL)
		return;
	for (i = 0; i < cap; i++) {
		if (sessions[i] == NULL)
			continue;
		cv_session_end_ops(sessions[i]);
		if (!abandon)
			pthread_mutex_destroy(&sessions[i]->lock);
		free(sessions[i]);
	}
	free(sessions);
}

/* Detach the whole state; the caller holds cv_mod.lock and frees what it
 * got once it has unlocked (freeing calls into object.c and cache.c). */
struct detached {
	cv_slot *slots;
	CK_ULONG n_slots;
	cv_session **sessions;
	CK_ULONG n_sessions_cap;
};

static void
detach_locked(struct detached *d)
{
	d->slots = cv_mod.slots;
	d->n_slots = cv_mod.n_slots;
	d->sessions = cv_mod.sessions;
	d->n_sessions_cap = cv_mod.n_sessions_cap;
	cv_mod.slots = NULL;
	cv_mod.n_slots = 0;
	cv_mod.sessions = NULL;
	cv_mod.n_sessions_cap = 0;
	cv_mod.initialized = 0;
	cv_mod.pid = 0;
	atomic_store(&initialized_in, 0);
	lifetime++;
	pthread_cond_broadcast(&cv_mod.event);
}

static void
detached_free(struct detached *d, int abandon)
{
	sessions_free(d->sessions, d->n_sessions_cap, abandon);
	cv_cache_clear();
	cv_object_finalize();
	slots_free(d->slots, d->n_slots, abandon);
	memset(d, 0, sizeof(*d));
}

/* Set up one slot for a vault folder; on failure the slot is left as
 * calloc made it. */
static CK_RV
slot_setup(cv_slot *slot, CK_SLOT_ID id, const char *dir)
{
	CK_RV rv = CKR_HOST_MEMORY;
	cv_err err;

	slot->id = id;
	slot->login = CV_NOT_LOGGED_IN;
	err = cv_vault_open(dir, &slot->vault);
	if (err == CV_OK) {
		slot->present = 1;
		slot->initialized = 1;
	} else if (err == CV_ERR_NOT_A_VAULT) {
		/* C_InitToken can make one here. */
		slot->present = 1;
	} else if (err == CV_ERR_NOMEM) {
		goto done;
	} else {
		/* A vault we must not or cannot use (another user's, others
		 * may write it, damaged, a newer format, unreadable): the
		 * slot stays, without a token, and the reason is logged. */
		cv_slot_report(id, dir, err);
	}
	if ((slot->dir = strdup(dir)) == NULL)
		goto done;
	if (pthread_mutex_init(&slot->auth_lock, NULL) != 0)
		goto done;
	rv = CKR_OK;
done:
	if (rv != CKR_OK) {
		cv_vault_close(slot->vault);
		free(slot->dir);
		memset(slot, 0, sizeof(*slot));
	}
	return rv;
}

/* Unsealed keys go to memory core dumps leave out (DESIGN: Encryption at
 * rest): OpenSSL's secure heap, the host program's if it has one.  Once
 * per process; without it the module still works, and says so. */
static pthread_once_t secmem_once = PTHREAD_ONCE_INIT;

static void
secmem_setup(void)
{
	if (cv_secmem_init() != CV_OK)
		fprintf(stderr, "certvault-pkcs11: unsealed keys may appear in core "
			"dumps: %s\n", cv_err_detail());
}

CK_RV
cv_module_initialize(CK_VOID_PTR init_args)
{
	CK_C_INITIALIZE_ARGS_PTR args = init_args;
	const char *conf_path = NULL;
	cv_config *conf = NULL;
	cv_slot *slots = NULL;
	CK_ULONG n_slots = 0, i;
	struct detached parent = { 0 };
	int given;
	cv_err err;
	CK_RV rv = CKR_OK;

	if (args != NULL) {
		given = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) +
			(args->LockMutex != NULL) + (args->UnlockMutex != NULL);
		if (given != 0 && given != 4)
			return CKR_ARGUMENTS_BAD;
		/* The module locks with the operating system's primitives
		 * and cannot use an application's mutex functions instead. */
		if (given == 4 && (args->flags & CKF_OS_LOCKING_OK) == 0)
			return CKR_CANT_LOCK;
		/* The spec reserves pReserved; certvault takes the config
		 * file's path there (DESIGN: Configuration). */
		conf_path = args->pReserved;
		/* CKF_LIBRARY_CANT_CREATE_OS_THREADS is fine: the module
		 * starts no thread. */
	}
	pthread_once(&atfork_once, atfork_register);
	pthread_once(&secmem_once, secmem_setup);

	pthread_mutex_lock(&lifecycle_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (cv_mod.initialized && cv_mod.pid == cv_process_id()) {
		pthread_mutex_unlock(&cv_mod.lock);
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto done;
	}
	if (cv_mod.initialized)
		detach_locked(&parent);   /* a child after fork */
	pthread_mutex_unlock(&cv_mod.lock);
	if (parent.slots != NULL || parent.sessions != NULL)
		detached_free(&parent, 1);

	if ((err = cv_config_load(conf_path, &conf)) != CV_OK) {
		/* Refused or unreadable: say why, whatever the debug setting,
		 * as DESIGN asks of a config others may write. */
		fprintf(stderr, "certvault-pkcs11: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		rv = err == CV_ERR_NOMEM ? CKR_HOST_MEMORY : CKR_FUNCTION_FAILED;
		goto done;
	}
	cv_module_debug("config %s: %zu vault(s)",
			conf->path ? conf->path : "(none; CERTVAULT_VAULT)",
			conf->n_vaults);
	if (conf->n_vaults > 0 &&
	    (slots = calloc(conf->n_vaults, sizeof(*slots))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto done;
	}
	for (i = 0; i < conf->n_vaults; i++) {
		if ((rv = slot_setup(&slots[i], i, conf->vaults[i])) != CKR_OK)
			goto done;
		n_slots = i + 1;
	}

	pthread_mutex_lock(&cv_mod.lock);
	cv_mod.slots = slots;
	cv_mod.n_slots = n_slots;
	cv_mod.sessions = NULL;
	cv_mod.n_sessions_cap = 0;
	cv_mod.pid = cv_process_id();
	cv_mod.initialized = 1;
	atomic_store(&initialized_in, (long)cv_mod.pid);
	lifetime++;
	pthread_mutex_unlock(&cv_mod.lock);
	slots = NULL;
	n_slots = 0;
done:
	slots_free(slots, n_slots, 0);
	cv_config_free(conf);
	pthread_mutex_unlock(&lifecycle_lock);
	return rv;
}

CK_RV
cv_module_check(void)
{
	/* Every call passes here: an atomic load and no lock, so threads
	 * signing at once do not queue on cv_mod.lock. */
	return atomic_load(&initialized_in) == (long)cv_process_id()
		? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
}

CK_RV
cv_module_finalize(CK_VOID_PTR reserved)
{
	struct detached d = { 0 };
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&lifecycle_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized || cv_mod.pid != cv_process_id())
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (reserved != NULL)
		rv = CKR_ARGUMENTS_BAD;
	else
		detach_locked(&d);   /* wakes C_WaitForSlotEvent */
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv == CKR_OK)
		detached_free(&d, 0);
	pthread_mutex_unlock(&lifecycle_lock);
	return rv;
}

CK_RV
cv_module_info(CK_INFO_PTR info)
{
	return_val_if_fail(info != NULL, CKR_ARGUMENTS_BAD);

	memset(info, 0, sizeof(*info));
	info->cryptokiVersion.major = 3;
	info->cryptokiVersion.minor = 0;
	cv_pad(info->manufacturerID, sizeof(info->manufacturerID), "certvault");
	info->flags = 0;
	cv_pad(info->libraryDescription, sizeof(info->libraryDescription),
	       "certvault PKCS#11 module");
	info->libraryVersion.major = CV_VERSION_MAJOR;
	info->libraryVersion.minor = CV_VERSION_MINOR;
	return CKR_OK;
}

CK_RV
cv_module_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot)
{
	unsigned long mine;

	return_val_if_fail(slot != NULL, CKR_ARGUMENTS_BAD);

	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized || cv_mod.pid != cv_process_id()) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	/* The slots are the config's, fixed from C_Initialize on, and no
	 * token is ever inserted or removed: there is never an event.  (A
	 * vault made in a folder by another process changes the token's
	 * state, not the slot.) */
	if (flags & CKF_DONT_BLOCK) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_NO_EVENT;
	}
	mine = lifetime;
	while (cv_mod.initialized && lifetime == mine)
		pthread_cond_wait(&cv_mod.event, &cv_mod.lock);
	pthread_mutex_unlock(&cv_mod.lock);
	return CKR_CRYPTOKI_NOT_INITIALIZED;
}
