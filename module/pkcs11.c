/* certvault-pkcs11: the exported PKCS#11 entry points.
 *
 * Each function does the same few steps and then one call into the files
 * below it: the init check (cv_module_check), the argument checks, the
 * slot or session lookup (cv_session_acquire holds the session's lock until
 * cv_session_release), the session-state checks, then the work.  The
 * operation bookkeeping (s->active[], and ending an operation when the
 * spec says a call ends it) lives here too, so the rules are in one place.
 *
 * Only C_GetFunctionList, C_GetInterfaceList and C_GetInterface leave the
 * library (certvault-pkcs11.map); the rest are reached through the lists.
 */
#include <string.h>
#include <openssl/rand.h>

#include "internal.h"

static const CK_FUNCTION_LIST function_list_2_40;
static const CK_FUNCTION_LIST_3_0 function_list_3_0;

/* --- Small shared checks ------------------------------------------------ */

/* CKA_TOKEN in a template: 1 true, 0 false, -1 absent (or malformed, which
 * the object code reports). */
static int
template_token(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_ULONG i;

	for (i = 0; i < n; i++)
		if (tmpl[i].type == CKA_TOKEN && tmpl[i].pValue != NULL &&
		    tmpl[i].ulValueLen == sizeof(CK_BBOOL))
			return *(const CK_BBOOL *)tmpl[i].pValue == CK_TRUE;
	return -1;
}

static int
is_token_object(CK_OBJECT_HANDLE h)
{
	return (h & CV_SESSION_OBJECT) == 0;
}

/* After a call that produces output: the spec ends the operation unless
 * the call returned CKR_BUFFER_TOO_SMALL or only told the length. */
static void
end_unless_length_query(cv_session *s, enum cv_op_kind k, CK_RV rv,
			const void *out)
{
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && out == NULL))
		return;
	cv_session_end_op(s, k);
}

/* C_*Init of a crypto operation. */
static CK_RV
crypto_init(CK_SESSION_HANDLE h, enum cv_op_kind k, CK_MECHANISM_PTR mech,
	    CK_OBJECT_HANDLE key)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(h, &s)) != CKR_OK)
		return rv;
	if (s->active[k]) {
		rv = CKR_OPERATION_ACTIVE;
		goto done;
	}
	switch (k) {
	case CV_OP_SIGN:
	case CV_OP_VERIFY:
		rv = cv_sign_init(s, k, mech, key);
		break;
	case CV_OP_ENCRYPT:
	case CV_OP_DECRYPT:
		rv = cv_crypt_init(s, k, mech, key);
		break;
	case CV_OP_DIGEST:
		rv = cv_digest_init(s, mech);
		break;
	case CV_OP_NONE:
	case CV_OP_FIND:
	case CV_OP__COUNT:
		rv = CKR_GENERAL_ERROR;
		break;
	}
	if (rv == CKR_OK) {
		s->active[k] = 1;
		s->op_kind = k;
	} else {
		cv_session_end_op(s, k);
	}
done:
	cv_session_release(s);
	return rv;
}

/* The session of h with an active operation of kind k, locked.  A call on
 * an operation that is not active answers CKR_OPERATION_NOT_INITIALIZED. */
static CK_RV
op_session(CK_SESSION_HANDLE h, enum cv_op_kind k, cv_session **out)
{
	cv_session *s;
	CK_RV rv;

	*out = NULL;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(h, &s)) != CKR_OK)
		return rv;
	if (!s->active[k]) {
		cv_session_release(s);
		return CKR_OPERATION_NOT_INITIALIZED;
	}
	*out = s;
	return CKR_OK;
}

/* Bad arguments to a call on an active operation end it: the spec says
 * such a call always ends the operation unless it returned
 * CKR_BUFFER_TOO_SMALL or answered a length query. */
static CK_RV
bad_arguments(cv_session *s, enum cv_op_kind k)
{
	cv_session_end_op(s, k);
	cv_session_release(s);
	return CKR_ARGUMENTS_BAD;
}

/* The session of h, for a call that works on the session itself. */
static CK_RV
session_of(CK_SESSION_HANDLE h, cv_session **out)
{
	CK_RV rv;

	*out = NULL;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	return cv_session_acquire(h, out);
}

/* The slot a session belongs to, without keeping the session locked:
 * login and PIN work must not hold a session's lock for the length of a
 * key derivation.  A slot stays valid until C_Finalize. */
static CK_RV
slot_of_session(CK_SESSION_HANDLE h, cv_slot **slot, int *rw)
{
	cv_session *s;
	CK_RV rv;

	*slot = NULL;
	if ((rv = session_of(h, &s)) != CKR_OK)
		return rv;
	*slot = s->slot;
	if (rw != NULL)
		*rw = cv_session_rw(s);
	cv_session_release(s);
	return CKR_OK;
}

/* --- General purpose ---------------------------------------------------- */

CK_RV
C_Initialize(CK_VOID_PTR pInitArgs)
{
	return cv_module_initialize(pInitArgs);
}

CK_RV
C_Finalize(CK_VOID_PTR pReserved)
{
	return cv_module_finalize(pReserved);
}

CK_RV
C_GetInfo(CK_INFO_PTR pInfo)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	return cv_module_info(pInfo);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (ppFunctionList == NULL)
		return CKR_ARGUMENTS_BAD;
	/* The spec: the caller must not write to it. */
	*ppFunctionList = (CK_FUNCTION_LIST_PTR)&function_list_2_40;
	return CKR_OK;
}

/* The 3.0 interface first: it is the default. */
static const CK_INTERFACE interfaces[] = {
	{ (CK_CHAR *)"PKCS 11", (CK_VOID_PTR)&function_list_3_0, 0 },
	{ (CK_CHAR *)"PKCS 11", (CK_VOID_PTR)&function_list_2_40, 0 },
};

#define N_INTERFACES (sizeof(interfaces) / sizeof(interfaces[0]))

CK_RV
C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	CK_ULONG i;

	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if (pInterfacesList == NULL) {
		*pulCount = N_INTERFACES;
		return CKR_OK;
	}
	if (*pulCount < N_INTERFACES) {
		*pulCount = N_INTERFACES;
		return CKR_BUFFER_TOO_SMALL;
	}
	for (i = 0; i < N_INTERFACES; i++)
		pInterfacesList[i] = interfaces[i];
	*pulCount = N_INTERFACES;
	return CKR_OK;
}

CK_RV
C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
	       CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	const CK_VERSION *v;
	CK_ULONG i;

	if (ppInterface == NULL)
		return CKR_ARGUMENTS_BAD;
	*ppInterface = NULL;
	for (i = 0; i < N_INTERFACES; i++) {
		if (pInterfaceName != NULL &&
		    strcmp((const char *)pInterfaceName,
			   (const char *)interfaces[i].pInterfaceName) != 0)
			continue;
		/* Every function list starts with its version. */
		v = interfaces[i].pFunctionList;
		if (pVersion != NULL && (pVersion->major != v->major ||
					 pVersion->minor != v->minor))
			continue;
		if ((interfaces[i].flags & flags) != flags)
			continue;
		*ppInterface = (CK_INTERFACE_PTR)&interfaces[i];
		return CKR_OK;
	}
	/* No interface of that name, version and flags. */
	return CKR_ARGUMENTS_BAD;
}

/* --- Slots and tokens --------------------------------------------------- */

CK_RV
C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
	      CK_ULONG_PTR pulCount)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	return cv_slot_list(tokenPresent, pSlotList, pulCount);
}

CK_RV
C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	return cv_slot_info(slot, pInfo);
}

CK_RV
C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	return cv_token_info(slot, pInfo);
}

CK_RV
C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pSlot == NULL || pReserved != NULL)
		return CKR_ARGUMENTS_BAD;
	return cv_module_wait_for_slot_event(flags, pSlot);
}

CK_RV
C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
		   CK_ULONG_PTR pulCount)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pulCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (!slot->present)
		return CKR_TOKEN_NOT_PRESENT;
	return cv_mech_list(pMechanismList, pulCount);
}

CK_RV
C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type,
		   CK_MECHANISM_INFO_PTR pInfo)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (!slot->present)
		return CKR_TOKEN_NOT_PRESENT;
	return cv_mech_info(type, pInfo);
}

CK_RV
C_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
	    CK_UTF8CHAR_PTR pLabel)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	/* No protected authentication path: the SO PIN comes through here. */
	if (pPin == NULL || pLabel == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	return cv_slot_init_token(slot, pPin, ulPinLen, pLabel);
}

CK_RV
C_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	cv_slot *slot;
	CK_RV rv;
	int rw;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pPin == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = slot_of_session(hSession, &slot, &rw)) != CKR_OK)
		return rv;
	/* Only from the "R/W SO Functions" state; the spec answers any other
	 * state, read-only ones included, with CKR_USER_NOT_LOGGED_IN. */
	if (!rw)
		return CKR_USER_NOT_LOGGED_IN;
	return cv_slot_init_pin(slot, pPin, ulPinLen);
}

CK_RV
C_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin,
	 CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	cv_slot *slot;
	CK_RV rv;
	int rw;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pOldPin == NULL || pNewPin == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = slot_of_session(hSession, &slot, &rw)) != CKR_OK)
		return rv;
	if (!rw)
		return CKR_SESSION_READ_ONLY;
	return cv_slot_set_pin(slot, pOldPin, ulOldLen, pNewPin, ulNewLen);
}

/* --- Sessions ----------------------------------------------------------- */

CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
	      CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	cv_slot *slot;
	CK_RV rv;

	/* The module never calls back: nothing it does surrenders. */
	(void)pApplication;
	(void)Notify;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (phSession == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	return cv_session_open(slot, flags, phSession);
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	return cv_session_close(hSession);
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = cv_slot_get(slotID, &slot)) != CKR_OK)
		return rv;
	if (!slot->present)
		return CKR_TOKEN_NOT_PRESENT;
	return cv_session_close_all(slot);
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pInfo == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	memset(pInfo, 0, sizeof(*pInfo));
	pInfo->slotID = s->slot->id;
	pInfo->state = cv_slot_session_state(s->slot, s->flags);
	pInfo->flags = s->flags;
	pInfo->ulDeviceError = 0;
	cv_session_release(s);
	return CKR_OK;
}

CK_RV
C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	static const struct {
		CK_FLAGS flag;
		enum cv_op_kind kind;
	} kinds[] = {
		{ CKF_FIND_OBJECTS, CV_OP_FIND },
		{ CKF_SIGN, CV_OP_SIGN },
		{ CKF_VERIFY, CV_OP_VERIFY },
		{ CKF_ENCRYPT, CV_OP_ENCRYPT },
		{ CKF_DECRYPT, CV_OP_DECRYPT },
		{ CKF_DIGEST, CV_OP_DIGEST },
	};
	cv_session *s;
	size_t i;
	CK_RV rv;

	if ((rv = session_of(hSession, &s)) != CKR_OK)
		return rv;
	/* A flag of an operation that is not active (or that this module
	 * never has, such as recovery) is ignored, as the spec says. */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((flags & kinds[i].flag) && s->active[kinds[i].kind])
			cv_session_end_op(s, kinds[i].kind);
	cv_session_release(s);
	return CKR_OK;
}

CK_RV
C_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
		    CK_ULONG_PTR pulOperationStateLen)
{
	cv_session *s;
	CK_RV rv;

	(void)pOperationState;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pulOperationStateLen == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	/* OpenSSL's contexts cannot be serialized, and a private key must
	 * not leave the vault in a saved state. */
	if (s->active[CV_OP_SIGN] || s->active[CV_OP_VERIFY] ||
	    s->active[CV_OP_ENCRYPT] || s->active[CV_OP_DECRYPT] ||
	    s->active[CV_OP_DIGEST])
		rv = CKR_STATE_UNSAVEABLE;
	else
		rv = CKR_OPERATION_NOT_INITIALIZED;
	cv_session_release(s);
	return rv;
}

CK_RV
C_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
		    CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
		    CK_OBJECT_HANDLE hAuthenticationKey)
{
	cv_session *s;
	CK_RV rv;

	(void)hEncryptionKey;
	(void)hAuthenticationKey;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pOperationState == NULL && ulOperationStateLen > 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	/* C_GetOperationState never hands out a state, so none is ours. */
	return CKR_SAVED_STATE_INVALID;
}

CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
	CK_ULONG ulPinLen)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	/* No protected authentication path: a PIN must come. */
	if (pPin == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = slot_of_session(hSession, &slot, NULL)) != CKR_OK)
		return rv;
	return cv_slot_login(slot, userType, pPin, ulPinLen);
}

CK_RV
C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType,
	    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername,
	    CK_ULONG ulUsernameLen)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	/* A vault has one user and one SO, neither with a name.  No name (or
	 * an empty one) is C_Login; a name the token cannot match must not
	 * log anyone in, and the spec's list has nothing nearer than
	 * CKR_ARGUMENTS_BAD for "this token has no named users". */
	if (pUsername == NULL && ulUsernameLen > 0)
		return CKR_ARGUMENTS_BAD;
	if (pUsername != NULL && ulUsernameLen > 0)
		return CKR_ARGUMENTS_BAD;
	return C_Login(hSession, userType, pPin, ulPinLen);
}

CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	cv_slot *slot;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = slot_of_session(hSession, &slot, NULL)) != CKR_OK)
		return rv;
	return cv_slot_logout(slot);
}

/* --- Objects ------------------------------------------------------------ */

CK_RV
C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
	       CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (phObject == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_object_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	if (template_token(pTemplate, ulCount) == 1 && !cv_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else
		rv = cv_object_create(s, pTemplate, ulCount, phObject);
	cv_session_release(s);
	return rv;
}

CK_RV
C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
	     CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
	     CK_OBJECT_HANDLE_PTR phNewObject)
{
	cv_session *s;
	CK_RV rv;
	int token;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (phNewObject == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_object_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	/* The copy is a token object if the template says so, or if it
	 * says nothing and the original is one. */
	token = template_token(pTemplate, ulCount);
	if (token == -1)
		token = is_token_object(hObject);
	if (token && !cv_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else
		rv = cv_object_copy(s, hObject, pTemplate, ulCount, phNewObject);
	cv_session_release(s);
	return rv;
}

CK_RV
C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	if (is_token_object(hObject) && !cv_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else
		rv = cv_object_destroy(s, hObject);
	cv_session_release(s);
	return rv;
}

CK_RV
C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		CK_ULONG_PTR pulSize)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pulSize == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	rv = cv_object_size(s, hObject, pulSize);
	cv_session_release(s);
	return rv;
}

CK_RV
C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pTemplate == NULL && ulCount > 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	rv = cv_object_get_attributes(s, hObject, pTemplate, ulCount);
	cv_session_release(s);
	return rv;
}

CK_RV
C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
		    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = cv_object_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	if (is_token_object(hObject) && !cv_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else
		rv = cv_object_set_attributes(s, hObject, pTemplate, ulCount);
	cv_session_release(s);
	return rv;
}

CK_RV
C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
		  CK_ULONG ulCount)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if ((rv = cv_object_template_check(pTemplate, ulCount)) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	if (s->active[CV_OP_FIND]) {
		rv = CKR_OPERATION_ACTIVE;
	} else if ((rv = cv_object_find_init(s, pTemplate, ulCount)) == CKR_OK) {
		s->active[CV_OP_FIND] = 1;
		s->op_kind = CV_OP_FIND;
	}
	cv_session_release(s);
	return rv;
}

CK_RV
C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
	      CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (phObject == NULL || pulObjectCount == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = op_session(hSession, CV_OP_FIND, &s)) != CKR_OK)
		return rv;
	rv = cv_object_find(s, phObject, ulMaxObjectCount, pulObjectCount);
	cv_session_release(s);
	return rv;
}

CK_RV
C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_FIND, &s)) != CKR_OK)
		return rv;
	rv = cv_object_find_final(s);
	s->active[CV_OP_FIND] = 0;
	cv_session_release(s);
	return rv;
}

/* --- Encryption and decryption ------------------------------------------ */

static CK_RV
crypt_single(CK_SESSION_HANDLE h, enum cv_op_kind k, CK_BYTE_PTR in,
	     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(h, k, &s)) != CKR_OK)
		return rv;
	if ((in == NULL && in_len > 0) || out_len == NULL)
		return bad_arguments(s, k);
	rv = cv_crypt(s, k, in, in_len, out, out_len);
	end_unless_length_query(s, k, rv, out);
	cv_session_release(s);
	return rv;
}

static CK_RV
crypt_update(CK_SESSION_HANDLE h, enum cv_op_kind k, CK_BYTE_PTR in,
	     CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(h, k, &s)) != CKR_OK)
		return rv;
	if ((in == NULL && in_len > 0) || out_len == NULL)
		return bad_arguments(s, k);
	rv = cv_crypt_update(s, k, in, in_len, out, out_len);
	/* An update that fails ends the operation; a short buffer does not. */
	if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
		cv_session_end_op(s, k);
	cv_session_release(s);
	return rv;
}

static CK_RV
crypt_final(CK_SESSION_HANDLE h, enum cv_op_kind k, CK_BYTE_PTR out,
	    CK_ULONG_PTR out_len)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(h, k, &s)) != CKR_OK)
		return rv;
	if (out_len == NULL)
		return bad_arguments(s, k);
	rv = cv_crypt_final(s, k, out, out_len);
	end_unless_length_query(s, k, rv, out);
	cv_session_release(s);
	return rv;
}

CK_RV
C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_OBJECT_HANDLE hKey)
{
	return crypto_init(hSession, CV_OP_ENCRYPT, pMechanism, hKey);
}

CK_RV
C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	  CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
	return crypt_single(hSession, CV_OP_ENCRYPT, pData, ulDataLen,
			    pEncryptedData, pulEncryptedDataLen);
}

CK_RV
C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
		CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
		CK_ULONG_PTR pulEncryptedPartLen)
{
	return crypt_update(hSession, CV_OP_ENCRYPT, pPart, ulPartLen,
			    pEncryptedPart, pulEncryptedPartLen);
}

CK_RV
C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
	       CK_ULONG_PTR pulLastEncryptedPartLen)
{
	return crypt_final(hSession, CV_OP_ENCRYPT, pLastEncryptedPart,
			   pulLastEncryptedPartLen);
}

CK_RV
C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_OBJECT_HANDLE hKey)
{
	return crypto_init(hSession, CV_OP_DECRYPT, pMechanism, hKey);
}

CK_RV
C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
	  CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData,
	  CK_ULONG_PTR pulDataLen)
{
	return crypt_single(hSession, CV_OP_DECRYPT, pEncryptedData,
			    ulEncryptedDataLen, pData, pulDataLen);
}

CK_RV
C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
		CK_ULONG_PTR pulPartLen)
{
	return crypt_update(hSession, CV_OP_DECRYPT, pEncryptedPart,
			    ulEncryptedPartLen, pPart, pulPartLen);
}

CK_RV
C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
	       CK_ULONG_PTR pulLastPartLen)
{
	return crypt_final(hSession, CV_OP_DECRYPT, pLastPart, pulLastPartLen);
}

/* --- Digests ------------------------------------------------------------ */

CK_RV
C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
	return crypto_init(hSession, CV_OP_DIGEST, pMechanism, CK_INVALID_HANDLE);
}

CK_RV
C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	 CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_DIGEST, &s)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) || pulDigestLen == NULL)
		return bad_arguments(s, CV_OP_DIGEST);
	rv = cv_digest(s, pData, ulDataLen, pDigest, pulDigestLen);
	end_unless_length_query(s, CV_OP_DIGEST, rv, pDigest);
	cv_session_release(s);
	return rv;
}

CK_RV
C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_DIGEST, &s)) != CKR_OK)
		return rv;
	if (pPart == NULL && ulPartLen > 0)
		return bad_arguments(s, CV_OP_DIGEST);
	if ((rv = cv_digest_update(s, pPart, ulPartLen)) != CKR_OK)
		cv_session_end_op(s, CV_OP_DIGEST);
	cv_session_release(s);
	return rv;
}

CK_RV
C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
	CK_OBJECT_CLASS cls = CK_UNAVAILABLE_INFORMATION;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_DIGEST, &s)) != CKR_OK)
		return rv;
	/* Only a secret key's value can be digested, and a certvault token
	 * holds none. */
	rv = cv_object_get_attributes(s, hKey, &a, 1);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		rv = CKR_KEY_HANDLE_INVALID;
	else if (rv == CKR_OK && (cls == CKO_PUBLIC_KEY ||
				  cls == CKO_PRIVATE_KEY ||
				  cls == CKO_SECRET_KEY))
		rv = CKR_KEY_INDIGESTIBLE;
	else if (rv == CKR_OK)
		rv = CKR_KEY_HANDLE_INVALID;   /* not a key */
	cv_session_end_op(s, CV_OP_DIGEST);
	cv_session_release(s);
	return rv;
}

CK_RV
C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest,
	      CK_ULONG_PTR pulDigestLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_DIGEST, &s)) != CKR_OK)
		return rv;
	if (pulDigestLen == NULL)
		return bad_arguments(s, CV_OP_DIGEST);
	rv = cv_digest_final(s, pDigest, pulDigestLen);
	end_unless_length_query(s, CV_OP_DIGEST, rv, pDigest);
	cv_session_release(s);
	return rv;
}

/* --- Signatures --------------------------------------------------------- */

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	   CK_OBJECT_HANDLE hKey)
{
	return crypto_init(hSession, CV_OP_SIGN, pMechanism, hKey);
}

CK_RV
C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_SIGN, &s)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) || pulSignatureLen == NULL)
		return bad_arguments(s, CV_OP_SIGN);
	rv = cv_sign(s, pData, ulDataLen, pSignature, pulSignatureLen);
	end_unless_length_query(s, CV_OP_SIGN, rv, pSignature);
	cv_session_release(s);
	return rv;
}

static CK_RV
sign_update(CK_SESSION_HANDLE h, enum cv_op_kind k, CK_BYTE_PTR part,
	    CK_ULONG len)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(h, k, &s)) != CKR_OK)
		return rv;
	if (part == NULL && len > 0)
		return bad_arguments(s, k);
	/* An update that fails ends the operation. */
	if ((rv = cv_sign_update(s, k, part, len)) != CKR_OK)
		cv_session_end_op(s, k);
	cv_session_release(s);
	return rv;
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	return sign_update(hSession, CV_OP_SIGN, pPart, ulPartLen);
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
	    CK_ULONG_PTR pulSignatureLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_SIGN, &s)) != CKR_OK)
		return rv;
	if (pulSignatureLen == NULL)
		return bad_arguments(s, CV_OP_SIGN);
	rv = cv_sign_final(s, pSignature, pulSignatureLen);
	end_unless_length_query(s, CV_OP_SIGN, rv, pSignature);
	cv_session_release(s);
	return rv;
}

/* No mechanism of the token recovers data from a signature (none has
 * CKF_SIGN_RECOVER or CKF_VERIFY_RECOVER), so a recovery never starts: its
 * init refuses the mechanism, and its calls find no operation. */
static CK_RV
recover_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (mech == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(h, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_MECHANISM_INVALID;
}

static CK_RV
no_operation(CK_SESSION_HANDLE h)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = session_of(h, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_OPERATION_NOT_INITIALIZED;
}

CK_RV
C_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_OBJECT_HANDLE hKey)
{
	(void)hKey;
	return recover_init(hSession, pMechanism);
}

CK_RV
C_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData,
	      CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
	      CK_ULONG_PTR pulSignatureLen)
{
	(void)pData;
	(void)ulDataLen;
	(void)pSignature;
	(void)pulSignatureLen;
	return no_operation(hSession);
}

CK_RV
C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	     CK_OBJECT_HANDLE hKey)
{
	return crypto_init(hSession, CV_OP_VERIFY, pMechanism, hKey);
}

CK_RV
C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	 CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_VERIFY, &s)) != CKR_OK)
		return rv;
	if ((pData == NULL && ulDataLen > 0) ||
	    (pSignature == NULL && ulSignatureLen > 0))
		return bad_arguments(s, CV_OP_VERIFY);
	rv = cv_verify(s, pData, ulDataLen, pSignature, ulSignatureLen);
	/* A verification produces no output: every call ends it. */
	cv_session_end_op(s, CV_OP_VERIFY);
	cv_session_release(s);
	return rv;
}

CK_RV
C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
	       CK_ULONG ulPartLen)
{
	return sign_update(hSession, CV_OP_VERIFY, pPart, ulPartLen);
}

CK_RV
C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
	      CK_ULONG ulSignatureLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = op_session(hSession, CV_OP_VERIFY, &s)) != CKR_OK)
		return rv;
	if (pSignature == NULL && ulSignatureLen > 0)
		return bad_arguments(s, CV_OP_VERIFY);
	rv = cv_verify_final(s, pSignature, ulSignatureLen);
	cv_session_end_op(s, CV_OP_VERIFY);
	cv_session_release(s);
	return rv;
}

CK_RV
C_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		    CK_OBJECT_HANDLE hKey)
{
	(void)hKey;
	return recover_init(hSession, pMechanism);
}

CK_RV
C_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
		CK_ULONG ulSignatureLen, CK_BYTE_PTR pData,
		CK_ULONG_PTR pulDataLen)
{
	(void)pSignature;
	(void)ulSignatureLen;
	(void)pData;
	(void)pulDataLen;
	return no_operation(hSession);
}

/* --- Dual-function operations ------------------------------------------- */

/* The token does not offer these (CKF_DUAL_CRYPTO_OPERATIONS is not set):
 * its only encryption mechanisms are single-part RSA. */
static CK_RV
not_supported(CK_SESSION_HANDLE h)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = session_of(h, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV
C_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
		      CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
		      CK_ULONG_PTR pulEncryptedPartLen)
{
	(void)pPart;
	(void)ulPartLen;
	(void)pEncryptedPart;
	(void)pulEncryptedPartLen;
	return not_supported(hSession);
}

CK_RV
C_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
		      CK_ULONG_PTR pulPartLen)
{
	(void)pEncryptedPart;
	(void)ulEncryptedPartLen;
	(void)pPart;
	(void)pulPartLen;
	return not_supported(hSession);
}

CK_RV
C_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
		    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
		    CK_ULONG_PTR pulEncryptedPartLen)
{
	(void)pPart;
	(void)ulPartLen;
	(void)pEncryptedPart;
	(void)pulEncryptedPartLen;
	return not_supported(hSession);
}

CK_RV
C_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
		      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
		      CK_ULONG_PTR pulPartLen)
{
	(void)pEncryptedPart;
	(void)ulEncryptedPartLen;
	(void)pPart;
	(void)pulPartLen;
	return not_supported(hSession);
}

/* --- Keys --------------------------------------------------------------- */

/* Secret-key generation, unwrapping and derivation: no mechanism of the
 * token has CKF_GENERATE, CKF_UNWRAP or CKF_DERIVE, so whichever the
 * application names is invalid for the call. */
static CK_RV
no_mechanism(CK_SESSION_HANDLE h)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = session_of(h, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_MECHANISM_INVALID;
}

CK_RV
C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	      CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
	      CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pMechanism == NULL || (pTemplate == NULL && ulCount > 0) ||
	    phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	return no_mechanism(hSession);
}

CK_RV
C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_ATTRIBUTE_PTR pPublicKeyTemplate,
		  CK_ULONG ulPublicKeyAttributeCount,
		  CK_ATTRIBUTE_PTR pPrivateKeyTemplate,
		  CK_ULONG ulPrivateKeyAttributeCount,
		  CK_OBJECT_HANDLE_PTR phPublicKey,
		  CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	const cv_mech_desc *m;
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pMechanism == NULL || phPublicKey == NULL || phPrivateKey == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_object_template_check(pPublicKeyTemplate,
					   ulPublicKeyAttributeCount)) != CKR_OK ||
	    (rv = cv_object_template_check(pPrivateKeyTemplate,
					   ulPrivateKeyAttributeCount)) != CKR_OK)
		return rv;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	m = cv_mech_find(pMechanism->mechanism);
	if (m == NULL || (m->flags & CKF_GENERATE_KEY_PAIR) == 0)
		rv = CKR_MECHANISM_INVALID;
	else if ((template_token(pPublicKeyTemplate, ulPublicKeyAttributeCount) == 1 ||
		  template_token(pPrivateKeyTemplate, ulPrivateKeyAttributeCount) == 1) &&
		 !cv_session_rw(s))
		rv = CKR_SESSION_READ_ONLY;
	else
		rv = cv_keypair_generate(s, pMechanism,
					 pPublicKeyTemplate, ulPublicKeyAttributeCount,
					 pPrivateKeyTemplate, ulPrivateKeyAttributeCount,
					 phPublicKey, phPrivateKey);
	cv_session_release(s);
	return rv;
}

CK_RV
C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	  CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
	  CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
	CK_OBJECT_CLASS cls = CK_UNAVAILABLE_INFORMATION;
	CK_BBOOL extractable = CK_TRUE;
	CK_ATTRIBUTE a[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_EXTRACTABLE, &extractable, sizeof(extractable) },
	};
	cv_session *s;
	CK_RV rv;

	(void)hWrappingKey;
	(void)pWrappedKey;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pMechanism == NULL || pulWrappedKeyLen == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	/* A key that may never leave gets that answer first; any other key
	 * could leave, but not by a mechanism this token has. */
	rv = cv_object_get_attributes(s, hKey, a, 2);
	if (rv == CKR_OBJECT_HANDLE_INVALID ||
	    (rv != CKR_OK && a[0].ulValueLen == CK_UNAVAILABLE_INFORMATION)) {
		rv = rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
	} else if (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY &&
		   cls != CKO_SECRET_KEY) {
		rv = CKR_KEY_HANDLE_INVALID;   /* not a key */
	} else if (a[1].ulValueLen == sizeof(CK_BBOOL) && extractable == CK_FALSE) {
		rv = CKR_KEY_UNEXTRACTABLE;
	} else {
		rv = CKR_MECHANISM_INVALID;
	}
	cv_session_release(s);
	return rv;
}

CK_RV
C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	    CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
	    CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	(void)hUnwrappingKey;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pMechanism == NULL || (pWrappedKey == NULL && ulWrappedKeyLen > 0) ||
	    (pTemplate == NULL && ulAttributeCount > 0) || phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	return no_mechanism(hSession);
}

CK_RV
C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
	    CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
	    CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	(void)hBaseKey;
	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pMechanism == NULL || (pTemplate == NULL && ulAttributeCount > 0) ||
	    phKey == NULL)
		return CKR_ARGUMENTS_BAD;
	return no_mechanism(hSession);
}

/* --- Random numbers ----------------------------------------------------- */

CK_RV
C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pSeed == NULL && ulSeedLen > 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	/* OpenSSL's generator seeds itself from the operating system. */
	return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

CK_RV
C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData,
		 CK_ULONG ulRandomLen)
{
	cv_session *s;
	CK_ULONG done = 0;
	int n;
	CK_RV rv;

	if ((rv = cv_module_check()) != CKR_OK)
		return rv;
	if (pRandomData == NULL && ulRandomLen > 0)
		return CKR_ARGUMENTS_BAD;
	if ((rv = cv_session_acquire(hSession, &s)) != CKR_OK)
		return rv;
	/* RAND_bytes takes an int: large requests go in pieces. */
	while (done < ulRandomLen) {
		n = ulRandomLen - done > (1U << 30) ? (1 << 30)
						     : (int)(ulRandomLen - done);
		if (RAND_bytes(pRandomData + done, n) != 1) {
			rv = CKR_FUNCTION_FAILED;
			break;
		}
		done += (CK_ULONG)n;
	}
	cv_session_release(s);
	return rv;
}

/* --- Parallel functions (legacy) ---------------------------------------- */

CK_RV
C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = session_of(hSession, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

CK_RV
C_CancelFunction(CK_SESSION_HANDLE hSession)
{
	cv_session *s;
	CK_RV rv;

	if ((rv = session_of(hSession, &s)) != CKR_OK)
		return rv;
	cv_session_release(s);
	return CKR_FUNCTION_NOT_PARALLEL;
}

/* --- Message-based functions (3.0) --------------------------------------
 * No mechanism of the token is message-based (no CKF_MESSAGE_* flags),
 * so each answers, after the usual checks, that it is not supported. */

CK_RV
C_MessageEncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey)
{
	(void)pMechanism;
	(void)hKey;
	return not_supported(hSession);
}

CK_RV
C_EncryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		 CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
		 CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext,
		 CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
		 CK_ULONG_PTR pulCiphertextLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pAssociatedData;
	(void)ulAssociatedDataLen;
	(void)pPlaintext;
	(void)ulPlaintextLen;
	(void)pCiphertext;
	(void)pulCiphertextLen;
	return not_supported(hSession);
}

CK_RV
C_EncryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		      CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
		      CK_ULONG ulAssociatedDataLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pAssociatedData;
	(void)ulAssociatedDataLen;
	return not_supported(hSession);
}

CK_RV
C_EncryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		     CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart,
		     CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart,
		     CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pPlaintextPart;
	(void)ulPlaintextPartLen;
	(void)pCiphertextPart;
	(void)pulCiphertextPartLen;
	(void)flags;
	return not_supported(hSession);
}

CK_RV
C_MessageEncryptFinal(CK_SESSION_HANDLE hSession)
{
	return not_supported(hSession);
}

CK_RV
C_MessageDecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		     CK_OBJECT_HANDLE hKey)
{
	(void)pMechanism;
	(void)hKey;
	return not_supported(hSession);
}

CK_RV
C_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		 CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
		 CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
		 CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
		 CK_ULONG_PTR pulPlaintextLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pAssociatedData;
	(void)ulAssociatedDataLen;
	(void)pCiphertext;
	(void)ulCiphertextLen;
	(void)pPlaintext;
	(void)pulPlaintextLen;
	return not_supported(hSession);
}

CK_RV
C_DecryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		      CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
		      CK_ULONG ulAssociatedDataLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pAssociatedData;
	(void)ulAssociatedDataLen;
	return not_supported(hSession);
}

CK_RV
C_DecryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		     CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
		     CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
		     CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pCiphertextPart;
	(void)ulCiphertextPartLen;
	(void)pPlaintextPart;
	(void)pulPlaintextPartLen;
	(void)flags;
	return not_supported(hSession);
}

CK_RV
C_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
	return not_supported(hSession);
}

CK_RV
C_MessageSignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		  CK_OBJECT_HANDLE hKey)
{
	(void)pMechanism;
	(void)hKey;
	return not_supported(hSession);
}

CK_RV
C_SignMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
	      CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
	      CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pData;
	(void)ulDataLen;
	(void)pSignature;
	(void)pulSignatureLen;
	return not_supported(hSession);
}

CK_RV
C_SignMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		   CK_ULONG ulParameterLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	return not_supported(hSession);
}

CK_RV
C_SignMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		  CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		  CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pData;
	(void)ulDataLen;
	(void)pSignature;
	(void)pulSignatureLen;
	return not_supported(hSession);
}

CK_RV
C_MessageSignFinal(CK_SESSION_HANDLE hSession)
{
	return not_supported(hSession);
}

CK_RV
C_MessageVerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
		    CK_OBJECT_HANDLE hKey)
{
	(void)pMechanism;
	(void)hKey;
	return not_supported(hSession);
}

CK_RV
C_VerifyMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
		CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pData;
	(void)ulDataLen;
	(void)pSignature;
	(void)ulSignatureLen;
	return not_supported(hSession);
}

CK_RV
C_VerifyMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		     CK_ULONG ulParameterLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	return not_supported(hSession);
}

CK_RV
C_VerifyMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
		    CK_ULONG ulParameterLen, CK_BYTE_PTR pData,
		    CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
		    CK_ULONG ulSignatureLen)
{
	(void)pParameter;
	(void)ulParameterLen;
	(void)pData;
	(void)ulDataLen;
	(void)pSignature;
	(void)ulSignatureLen;
	return not_supported(hSession);
}

CK_RV
C_MessageVerifyFinal(CK_SESSION_HANDLE hSession)
{
	return not_supported(hSession);
}

/* --- The function lists ------------------------------------------------- */

#define CV_FUNCTIONS_2_40 \
	.C_Initialize = C_Initialize, \
	.C_Finalize = C_Finalize, \
	.C_GetInfo = C_GetInfo, \
	.C_GetFunctionList = C_GetFunctionList, \
	.C_GetSlotList = C_GetSlotList, \
	.C_GetSlotInfo = C_GetSlotInfo, \
	.C_GetTokenInfo = C_GetTokenInfo, \
	.C_GetMechanismList = C_GetMechanismList, \
	.C_GetMechanismInfo = C_GetMechanismInfo, \
	.C_InitToken = C_InitToken, \
	.C_InitPIN = C_InitPIN, \
	.C_SetPIN = C_SetPIN, \
	.C_OpenSession = C_OpenSession, \
	.C_CloseSession = C_CloseSession, \
	.C_CloseAllSessions = C_CloseAllSessions, \
	.C_GetSessionInfo = C_GetSessionInfo, \
	.C_GetOperationState = C_GetOperationState, \
	.C_SetOperationState = C_SetOperationState, \
	.C_Login = C_Login, \
	.C_Logout = C_Logout, \
	.C_CreateObject = C_CreateObject, \
	.C_CopyObject = C_CopyObject, \
	.C_DestroyObject = C_DestroyObject, \
	.C_GetObjectSize = C_GetObjectSize, \
	.C_GetAttributeValue = C_GetAttributeValue, \
	.C_SetAttributeValue = C_SetAttributeValue, \
	.C_FindObjectsInit = C_FindObjectsInit, \
	.C_FindObjects = C_FindObjects, \
	.C_FindObjectsFinal = C_FindObjectsFinal, \
	.C_EncryptInit = C_EncryptInit, \
	.C_Encrypt = C_Encrypt, \
	.C_EncryptUpdate = C_EncryptUpdate, \
	.C_EncryptFinal = C_EncryptFinal, \
	.C_DecryptInit = C_DecryptInit, \
	.C_Decrypt = C_Decrypt, \
	.C_DecryptUpdate = C_DecryptUpdate, \
	.C_DecryptFinal = C_DecryptFinal, \
	.C_DigestInit = C_DigestInit, \
	.C_Digest = C_Digest, \
	.C_DigestUpdate = C_DigestUpdate, \
	.C_DigestKey = C_DigestKey, \
	.C_DigestFinal = C_DigestFinal, \
	.C_SignInit = C_SignInit, \
	.C_Sign = C_Sign, \
	.C_SignUpdate = C_SignUpdate, \
	.C_SignFinal = C_SignFinal, \
	.C_SignRecoverInit = C_SignRecoverInit, \
	.C_SignRecover = C_SignRecover, \
	.C_VerifyInit = C_VerifyInit, \
	.C_Verify = C_Verify, \
	.C_VerifyUpdate = C_VerifyUpdate, \
	.C_VerifyFinal = C_VerifyFinal, \
	.C_VerifyRecoverInit = C_VerifyRecoverInit, \
	.C_VerifyRecover = C_VerifyRecover, \
	.C_DigestEncryptUpdate = C_DigestEncryptUpdate, \
	.C_DecryptDigestUpdate = C_DecryptDigestUpdate, \
	.C_SignEncryptUpdate = C_SignEncryptUpdate, \
	.C_DecryptVerifyUpdate = C_DecryptVerifyUpdate, \
	.C_GenerateKey = C_GenerateKey, \
	.C_GenerateKeyPair = C_GenerateKeyPair, \
	.C_WrapKey = C_WrapKey, \
	.C_UnwrapKey = C_UnwrapKey, \
	.C_DeriveKey = C_DeriveKey, \
	.C_SeedRandom = C_SeedRandom, \
	.C_GenerateRandom = C_GenerateRandom, \
	.C_GetFunctionStatus = C_GetFunctionStatus, \
	.C_CancelFunction = C_CancelFunction, \
	.C_WaitForSlotEvent = C_WaitForSlotEvent

static const CK_FUNCTION_LIST function_list_2_40 = {
	.version = { 2, 40 },
	CV_FUNCTIONS_2_40,
};

static const CK_FUNCTION_LIST_3_0 function_list_3_0 = {
	.version = { 3, 0 },
	CV_FUNCTIONS_2_40,
	.C_GetInterfaceList = C_GetInterfaceList,
	.C_GetInterface = C_GetInterface,
	.C_LoginUser = C_LoginUser,
	.C_SessionCancel = C_SessionCancel,
	.C_MessageEncryptInit = C_MessageEncryptInit,
	.C_EncryptMessage = C_EncryptMessage,
	.C_EncryptMessageBegin = C_EncryptMessageBegin,
	.C_EncryptMessageNext = C_EncryptMessageNext,
	.C_MessageEncryptFinal = C_MessageEncryptFinal,
	.C_MessageDecryptInit = C_MessageDecryptInit,
	.C_DecryptMessage = C_DecryptMessage,
	.C_DecryptMessageBegin = C_DecryptMessageBegin,
	.C_DecryptMessageNext = C_DecryptMessageNext,
	.C_MessageDecryptFinal = C_MessageDecryptFinal,
	.C_MessageSignInit = C_MessageSignInit,
	.C_SignMessage = C_SignMessage,
	.C_SignMessageBegin = C_SignMessageBegin,
	.C_SignMessageNext = C_SignMessageNext,
	.C_MessageSignFinal = C_MessageSignFinal,
	.C_MessageVerifyInit = C_MessageVerifyInit,
	.C_VerifyMessage = C_VerifyMessage,
	.C_VerifyMessageBegin = C_VerifyMessageBegin,
	.C_VerifyMessageNext = C_VerifyMessageNext,
	.C_MessageVerifyFinal = C_MessageVerifyFinal,
};
