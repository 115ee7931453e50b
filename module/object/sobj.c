/* certvault-pkcs11 objects: the session-object table.
 *
 * Session objects (certificates, public keys and data an application
 * creates, key pairs it generates, and copies of any object) live in one module-wide list under one lock,
 * each tagged with its slot and owning session.  This file keeps that list:
 * handing out handles, looking up, the fork lock, and dropping the objects
 * of a closing session, a logout, or C_Finalize.  The list and its lock are
 * shared with the parts that change entries in place (set, destroy, find).
 */
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "internal.h"

/* --- Session objects ----------------------------------------------------- */

pthread_mutex_t sobj_lock = PTHREAD_MUTEX_INITIALIZER;
sobj *sobj_list;
static uint64_t sobj_counter;

void
sobj_free(sobj *so)
{
	if (so == NULL)
		return;
	EVP_PKEY_free(so->pub);
	EVP_PKEY_free(so->pair);
	X509_free(so->cert);
	attrs_free(so->attrs, so->n_attrs);
	free(so);
}

void
cv_object_fork_lock(void)
{
	pthread_mutex_lock(&sobj_lock);
}

void
cv_object_fork_unlock(void)
{
	pthread_mutex_unlock(&sobj_lock);
}

/* Give so a handle and put it in the list; the list owns it afterwards. */
CK_OBJECT_HANDLE
sobj_insert(sobj *so)
{
	pthread_mutex_lock(&sobj_lock);
	so->handle = CV_SESSION_OBJECT | (CK_OBJECT_HANDLE)++sobj_counter;
	so->next = sobj_list;
	sobj_list = so;
	pthread_mutex_unlock(&sobj_lock);
	return so->handle;
}

sobj *
sobj_find_locked(CK_OBJECT_HANDLE h)
{
	sobj *so;

	for (so = sobj_list; so != NULL; so = so->next)
		if (so->handle == h)
			return so;
	return NULL;
}

/* Unlink the session objects a test picks, then free them outside the
 * lock (freeing calls into OpenSSL). */
static void
drop_where(int (*picked)(const sobj *so, const void *arg), const void *arg)
{
	sobj **pp, *gone, *list = NULL;

	pthread_mutex_lock(&sobj_lock);
	for (pp = &sobj_list; *pp != NULL;) {
		if (picked(*pp, arg)) {
			gone = *pp;
			*pp = gone->next;
			gone->next = list;
			list = gone;
		} else {
			pp = &(*pp)->next;
		}
	}
	pthread_mutex_unlock(&sobj_lock);
	while (list != NULL) {
		gone = list;
		list = list->next;
		sobj_free(gone);
	}
}

static int
owned_by(const sobj *so, const void *arg)
{
	return so->owner == *(const CK_SESSION_HANDLE *)arg;
}

static int
private_on(const sobj *so, const void *arg)
{
	return so->slot == *(const CK_SLOT_ID *)arg && so->priv;
}

void
cv_object_session_closed(CK_SESSION_HANDLE h)
{
	drop_where(owned_by, &h);
}

/* Spec, C_Logout: the application's private session objects are destroyed
 * (copies of private keys are such objects). */
void
cv_object_logout(CK_SLOT_ID slot)
{
	drop_where(private_on, &slot);
}

void
cv_object_finalize(void)
{
	sobj *list, *gone;

	pthread_mutex_lock(&sobj_lock);
	list = sobj_list;
	sobj_list = NULL;
	pthread_mutex_unlock(&sobj_lock);
	while (list != NULL) {
		gone = list;
		list = list->next;
		sobj_free(gone);
	}
}
