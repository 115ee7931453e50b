/* certvault-pkcs11: slots, tokens, login and PINs.
 *
 * A slot is one vault folder of the config; its token is present when a
 * vault opened there, or when the folder holds none yet (C_InitToken makes
 * one).  The token's information is read from the vault at each call, so
 * PIN counters and the name are never stale.
 *
 * The login state belongs to the slot and is shared by all of the
 * application's sessions with it, as the spec has it.  A login runs the
 * vault's memory-hard KDF (a tenth of a second), so it holds only the
 * slot's auth_lock, never cv_mod.lock: other sessions keep signing.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <openssl/crypto.h>

#include "internal.h"

#define LABEL_LEN 32

static const CK_VERSION cv_version = { 0, 1 };

void
cv_slot_report(CK_SLOT_ID id, const char *dir, cv_err err)
{
	const char *why = cv_err_detail()[0] != '\0' ? cv_err_detail() : cv_strerror(err);
	const char *debug = getenv("CERTVAULT_DEBUG");

	if (debug != NULL && debug[0] != '\0' && strcmp(debug, "0") != 0)
		cv_module_debug("slot %lu: the vault %s cannot be used: %s", id, dir, why);
	else
		syslog(LOG_WARNING, "certvault-pkcs11: slot %lu: the vault %s cannot be used: %s",
		       id, dir, why);
}

/* A folder that held no vault may hold one now, made by the certvault
 * tool: look again, and show the token initialized if so.  Not an event:
 * the slot stays, its token only changes state. */
static void
probe(cv_slot *slot)
{
	cv_vault *v = NULL;
	cv_err err;

	/* Skip when a login or C_InitToken is at work on the slot. */
	if (pthread_mutex_trylock(&slot->auth_lock) != 0)
		return;
	pthread_mutex_lock(&cv_mod.lock);
	if (!slot->present || slot->vault != NULL || slot->init_busy) {
		pthread_mutex_unlock(&cv_mod.lock);
		goto done;
	}
	pthread_mutex_unlock(&cv_mod.lock);
	err = cv_vault_open(slot->dir, &v);
	if (err != CV_OK) {
		/* A vault is there now, but this process may not use it:
		 * no token, never an uninitialized one that C_InitToken
		 * would try to make again. */
		if (err != CV_ERR_NOT_A_VAULT && err != CV_ERR_NOMEM) {
			cv_slot_report(slot->id, slot->dir, err);
			pthread_mutex_lock(&cv_mod.lock);
			if (slot->vault == NULL && !slot->init_busy)
				slot->present = 0;
			pthread_mutex_unlock(&cv_mod.lock);
		}
		goto done;
	}
	pthread_mutex_lock(&cv_mod.lock);
	slot->vault = v;
	slot->initialized = 1;
	v = NULL;
	pthread_mutex_unlock(&cv_mod.lock);
done:
	cv_vault_close(v);
	pthread_mutex_unlock(&slot->auth_lock);
}

CK_RV
cv_slot_get(CK_SLOT_ID id, cv_slot **out)
{
	cv_slot *slot;
	int look_again;

	return_val_if_fail(out != NULL, CKR_GENERAL_ERROR);
	*out = NULL;

	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	}
	if (id >= cv_mod.n_slots) {
		pthread_mutex_unlock(&cv_mod.lock);
		return CKR_SLOT_ID_INVALID;
	}
	slot = &cv_mod.slots[id];
	look_again = slot->present && slot->vault == NULL && !slot->init_busy;
	pthread_mutex_unlock(&cv_mod.lock);

	if (look_again)
		probe(slot);
	*out = slot;
	return CKR_OK;
}

CK_RV
cv_slot_list(CK_BBOOL token_present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	CK_ULONG i, n = 0;
	CK_RV rv = CKR_OK;

	return_val_if_fail(count != NULL, CKR_ARGUMENTS_BAD);

	pthread_mutex_lock(&cv_mod.lock);
	if (!cv_mod.initialized) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto done;
	}
	for (i = 0; i < cv_mod.n_slots; i++)
		if (!token_present || cv_mod.slots[i].present)
			n++;
	if (list == NULL)
		goto done;
	if (*count < n) {
		rv = CKR_BUFFER_TOO_SMALL;
		goto done;
	}
	n = 0;
	for (i = 0; i < cv_mod.n_slots; i++)
		if (!token_present || cv_mod.slots[i].present)
			list[n++] = cv_mod.slots[i].id;
done:
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_CRYPTOKI_NOT_INITIALIZED)
		*count = n;
	return rv;
}

CK_RV
cv_slot_info(cv_slot *slot, CK_SLOT_INFO_PTR info)
{
	char desc[80];

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(info != NULL, CKR_ARGUMENTS_BAD);

	memset(info, 0, sizeof(*info));
	snprintf(desc, sizeof(desc), "certvault vault %s", slot->dir);
	cv_pad(info->slotDescription, sizeof(info->slotDescription), desc);
	cv_pad(info->manufacturerID, sizeof(info->manufacturerID), "certvault");
	/* Neither removable nor hardware: the set of slots is fixed by the
	 * config, and a vault is files. */
	info->flags = slot->present ? CKF_TOKEN_PRESENT : 0;
	info->hardwareVersion = cv_version;
	info->firmwareVersion = cv_version;
	return CKR_OK;
}

static CK_FLAGS
pin_flags(unsigned failures, unsigned tries, int locked, CK_FLAGS count_low,
	  CK_FLAGS final_try, CK_FLAGS lock_flag)
{
	CK_FLAGS f = 0;

	if (failures > 0)
		f |= count_low;
	if (tries > 0 && failures == tries - 1)
		f |= final_try;
	if (locked)
		f |= lock_flag;
	return f;
}

CK_RV
cv_token_info(cv_slot *slot, CK_TOKEN_INFO_PTR info)
{
	cv_vault_info vi;
	cv_vault *vault;
	unsigned sessions, ro;
	int present;
	cv_err err;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	return_val_if_fail(info != NULL, CKR_ARGUMENTS_BAD);

	pthread_mutex_lock(&cv_mod.lock);
	present = slot->present;
	vault = slot->init_busy ? NULL : slot->vault;
	sessions = slot->sessions;
	ro = slot->ro_sessions;
	pthread_mutex_unlock(&cv_mod.lock);
	if (!present)
		return CKR_TOKEN_NOT_PRESENT;

	memset(&vi, 0, sizeof(vi));
	if (vault != NULL && (err = cv_vault_info_get(vault, &vi)) != CV_OK) {
		cv_module_debug("slot %lu: %s", slot->id, cv_err_detail());
		return cv_ckr(err);
	}

	memset(info, 0, sizeof(*info));
	cv_pad(info->label, sizeof(info->label), vi.name);
	cv_pad(info->manufacturerID, sizeof(info->manufacturerID), "certvault");
	cv_pad(info->model, sizeof(info->model), "LMDB vault");
	cv_pad(info->serialNumber, sizeof(info->serialNumber), vi.serial);
	info->flags = CKF_RNG | CKF_LOGIN_REQUIRED;
	if (vault != NULL) {
		info->flags |= CKF_TOKEN_INITIALIZED;
		if (vi.read_only)
			info->flags |= CKF_WRITE_PROTECTED;
		if (vi.user_pin_initialized)
			info->flags |= CKF_USER_PIN_INITIALIZED;
		info->flags |= pin_flags(vi.user_pin_failures, vi.pin_tries,
					 vi.user_pin_locked,
					 CKF_USER_PIN_COUNT_LOW,
					 CKF_USER_PIN_FINAL_TRY,
					 CKF_USER_PIN_LOCKED);
		info->flags |= pin_flags(vi.so_pin_failures, vi.pin_tries,
					 vi.so_pin_locked,
					 CKF_SO_PIN_COUNT_LOW,
					 CKF_SO_PIN_FINAL_TRY,
					 CKF_SO_PIN_LOCKED);
	}
	info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulSessionCount = sessions;
	info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
	info->ulRwSessionCount = sessions - ro;
	info->ulMaxPinLen = CV_PIN_MAX;
	info->ulMinPinLen = CV_PIN_MIN;
	info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
	info->hardwareVersion = cv_version;
	info->firmwareVersion = cv_version;
	/* No clock on the token: blanks. */
	memset(info->utcTime, ' ', sizeof(info->utcTime));
	OPENSSL_cleanse(&vi, sizeof(vi));
	return CKR_OK;
}

CK_STATE
cv_slot_session_state(const cv_slot *slot, CK_FLAGS session_flags)
{
	CK_USER_TYPE login;
	int rw = (session_flags & CKF_RW_SESSION) != 0;

	pthread_mutex_lock(&cv_mod.lock);
	login = slot->login;
	pthread_mutex_unlock(&cv_mod.lock);

	if (login == CKU_SO)
		return CKS_RW_SO_FUNCTIONS;
	if (login == CKU_USER)
		return rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
	return rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
}

CK_RV
cv_slot_login(cv_slot *slot, CK_USER_TYPE who, CK_UTF8CHAR_PTR pin,
	      CK_ULONG len)
{
	CK_RV rv;
	cv_err err;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);

	/* No key of a certvault token has CKA_ALWAYS_AUTHENTICATE, so a
	 * context-specific login has no operation to apply to. */
	if (who == CKU_CONTEXT_SPECIFIC)
		return CKR_OPERATION_NOT_INITIALIZED;
	if (who != CKU_USER && who != CKU_SO)
		return CKR_USER_TYPE_INVALID;
	/* No protected authentication path: the PIN comes through here. */
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD;

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (slot->sessions == 0 || slot->vault == NULL)
		rv = CKR_SESSION_CLOSED;  /* closed while this call began */
	else if (slot->login == who)
		rv = CKR_USER_ALREADY_LOGGED_IN;
	else if (slot->login != CV_NOT_LOGGED_IN)
		rv = CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
	else if (who == CKU_SO && slot->ro_sessions > 0)
		rv = CKR_SESSION_READ_ONLY_EXISTS;
	else
		rv = CKR_OK;
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_OK)
		goto done;

	err = cv_vault_login(slot->vault, who == CKU_SO ? CV_USER_SO : CV_USER_NORMAL,
			     (const char *)pin, len);
	if (err != CV_OK) {
		cv_module_debug("slot %lu: login: %s", slot->id, cv_err_detail());
		/* A PIN of a length the vault never takes cannot be right;
		 * C_Login has no CKR_PIN_LEN_RANGE. */
		rv = err == CV_ERR_PIN_INVALID ? CKR_PIN_INCORRECT : cv_ckr(err);
		goto done;
	}

	pthread_mutex_lock(&cv_mod.lock);
	/* The slot may have changed during the KDF: its last session closed,
	 * or a read-only session opened beside a coming SO login. */
	if (slot->sessions == 0)
		rv = CKR_SESSION_CLOSED;
	else if (who == CKU_SO && slot->ro_sessions > 0)
		rv = CKR_SESSION_READ_ONLY_EXISTS;
	else
		slot->login = who;
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_OK)
		cv_vault_logout(slot->vault);
done:
	pthread_mutex_unlock(&slot->auth_lock);
	return rv;
}

CK_RV
cv_slot_logout(cv_slot *slot)
{
	CK_RV rv = CKR_OK;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (slot->login == CV_NOT_LOGGED_IN)
		rv = CKR_USER_NOT_LOGGED_IN;
	else {
		slot->login = CV_NOT_LOGGED_IN;
		cv_object_handles_lapse(slot);
	}
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv == CKR_OK && slot->vault != NULL)
		cv_vault_logout(slot->vault);
	pthread_mutex_unlock(&slot->auth_lock);
	if (rv != CKR_OK)
		return rv;

	cv_cache_forget_private(slot);
	cv_session_end_private_ops(slot);
	cv_object_logout(slot->id);
	return CKR_OK;
}

CK_RV
cv_slot_init_pin(cv_slot *slot, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	CK_RV rv = CKR_OK;
	cv_err err;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	if (pin == NULL)
		return CKR_ARGUMENTS_BAD;

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (slot->login != CKU_SO || slot->vault == NULL)
		rv = CKR_USER_NOT_LOGGED_IN;
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_OK)
		goto done;
	if (len < CV_PIN_MIN || len > CV_PIN_MAX) {
		rv = CKR_PIN_LEN_RANGE;
		goto done;
	}
	if ((err = cv_vault_init_pin(slot->vault, (const char *)pin, len)) != CV_OK) {
		cv_module_debug("slot %lu: init PIN: %s", slot->id, cv_err_detail());
		rv = cv_ckr(err);
	}
done:
	pthread_mutex_unlock(&slot->auth_lock);
	return rv;
}

CK_RV
cv_slot_set_pin(cv_slot *slot, CK_UTF8CHAR_PTR old, CK_ULONG old_len,
		CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	enum cv_user who;
	CK_RV rv = CKR_OK;
	cv_err err;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	if (old == NULL || pin == NULL)
		return CKR_ARGUMENTS_BAD;
	if (len < CV_PIN_MIN || len > CV_PIN_MAX)
		return CKR_PIN_LEN_RANGE;

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	/* The PIN of whoever is logged in; the user's when no one is. */
	who = slot->login == CKU_SO ? CV_USER_SO : CV_USER_NORMAL;
	if (slot->vault == NULL)
		rv = CKR_SESSION_CLOSED;
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_OK)
		goto done;
	err = cv_vault_set_pin(slot->vault, who, (const char *)old, old_len,
			       (const char *)pin, len);
	if (err != CV_OK) {
		cv_module_debug("slot %lu: set PIN: %s", slot->id, cv_err_detail());
		/* The new PIN's length was checked above, so a PIN the vault
		 * calls invalid is the old one, which cannot be right. */
		rv = err == CV_ERR_PIN_INVALID ? CKR_PIN_INCORRECT : cv_ckr(err);
	}
done:
	pthread_mutex_unlock(&slot->auth_lock);
	return rv;
}

/* The 32 blank-padded bytes of a C_InitToken label as a vault name: cut
 * at a NUL (some applications pass a C string) and trim trailing blanks. */
static void
label_name(const CK_UTF8CHAR *label, char name[LABEL_LEN + 1])
{
	size_t n = 0;

	while (n < LABEL_LEN && label[n] != '\0')
		n++;
	memcpy(name, label, n);
	while (n > 0 && name[n - 1] == ' ')
		n--;
	name[n] = '\0';
}

CK_RV
cv_slot_init_token(cv_slot *slot, CK_UTF8CHAR_PTR so_pin, CK_ULONG len,
		   CK_UTF8CHAR_PTR label)
{
	char name[LABEL_LEN + 1];
	cv_vault *v = NULL, *opened = NULL;
	CK_RV rv = CKR_OK;
	cv_err err = CV_OK;
	int created = 0;

	return_val_if_fail(slot != NULL, CKR_GENERAL_ERROR);
	/* No protected authentication path. */
	if (so_pin == NULL || label == NULL)
		return CKR_ARGUMENTS_BAD;
	label_name(label, name);
	/* The label becomes the vault's name, which Key Vault's rules bound
	 * (^[0-9a-zA-Z-]{1,127}$).  The spec has no code for a label a token
	 * refuses; CKR_ARGUMENTS_BAD is the nearest. */
	if (!cv_name_valid(name))
		return CKR_ARGUMENTS_BAD;

	pthread_mutex_lock(&slot->auth_lock);
	pthread_mutex_lock(&cv_mod.lock);
	if (!slot->present)
		rv = CKR_TOKEN_NOT_PRESENT;
	else if (slot->sessions > 0)
		rv = CKR_SESSION_EXISTS;
	else
		slot->init_busy = 1;
	v = slot->vault;
	pthread_mutex_unlock(&cv_mod.lock);
	if (rv != CKR_OK)
		goto done;

	if (v == NULL) {
		/* Another process may have made a vault since we looked. */
		err = cv_vault_open(slot->dir, &opened);
		if (err == CV_ERR_NOT_A_VAULT) {
			err = cv_vault_create(slot->dir, name, NULL, 0,
					      (const char *)so_pin, len);
			if (err == CV_OK)
				err = cv_vault_open(slot->dir, &opened);
			created = 1;
		}
		v = opened;
	}
	if (err == CV_OK && !created)
		err = cv_vault_reinit(v, (const char *)so_pin, len, name);
	if (err != CV_OK) {
		cv_module_debug("slot %lu: init token: %s", slot->id,
				cv_err_detail());
		/* C_InitToken has no CKR_PIN_LEN_RANGE: a PIN the vault
		 * refuses by its length is not the SO PIN. */
		if (err == CV_ERR_PIN_INVALID)
			rv = CKR_PIN_INCORRECT;
		else if (err == CV_ERR_BAD_NAME)
			rv = CKR_ARGUMENTS_BAD;
		else
			rv = cv_ckr(err);
	}

	pthread_mutex_lock(&cv_mod.lock);
	slot->init_busy = 0;
	if (opened != NULL) {
		slot->vault = opened;
		slot->initialized = 1;
		opened = NULL;
	}
	pthread_mutex_unlock(&cv_mod.lock);
	/* Keys unsealed before are gone from the vault now. */
	cv_cache_forget_private(slot);
done:
	pthread_mutex_unlock(&slot->auth_lock);
	return rv;
}
