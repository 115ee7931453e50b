/* certvault-pkcs11: small helpers every file of the module uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
env_set(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

void
cv_module_precondition_failed(const char *func, const char *expr)
{
	fprintf(stderr, "certvault-pkcs11: %s: precondition failed: %s\n",
		func, expr);
	/* Tests set CERTVAULT_STRICT so that a broken precondition fails
	 * loudly; an application in production only gets the log line and
	 * the error code. */
	if (env_set("CERTVAULT_STRICT"))
		abort();
}

void
cv_module_debug(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!env_set("CERTVAULT_DEBUG"))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write per line, so lines of several threads do not mix. */
	fprintf(stderr, "certvault-pkcs11: %s\n", line);
}

CK_RV
cv_copy_out(const void *val, CK_ULONG val_len, CK_BYTE_PTR out,
	    CK_ULONG_PTR len)
{
	return_val_if_fail(len != NULL, CKR_ARGUMENTS_BAD);
	return_val_if_fail(val != NULL || val_len == 0, CKR_GENERAL_ERROR);

	if (out == NULL) {
		*len = val_len;
		return CKR_OK;
	}
	if (*len < val_len) {
		*len = val_len;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (val_len > 0)
		memcpy(out, val, val_len);
	*len = val_len;
	return CKR_OK;
}

void
cv_pad(unsigned char *field, size_t width, const char *text)
{
	size_t n;

	memset(field, ' ', width);
	if (text == NULL)
		return;
	n = strlen(text);
	if (n > width) {
		/* Cut at a character boundary: never leave half of a UTF-8
		 * sequence at the end of the field. */
		n = width;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(field, text, n);
}

int
cv_attr_bool(const CK_ATTRIBUTE *a, int *out)
{
	if (a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL))
		return 0;
	*out = *(const CK_BBOOL *)a->pValue != CK_FALSE;
	return 1;
}

int
cv_attr_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out)
{
	if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
		return 0;
	memcpy(out, a->pValue, sizeof(*out));
	return 1;
}
