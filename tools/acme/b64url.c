/* certvault: base64url without padding (RFC 7515 section 2). */
#include <stdlib.h>

#include "internal.h"

char *
acme_b64url(const unsigned char *data, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out, *p;
	size_t i;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	out = malloc(len / 3 * 4 + 4 + 1);
	if (out == NULL)
		return NULL;
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 |
			     data[i + 2];

		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
		*p++ = abc[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)data[i] << 16;

		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;

		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = abc[v >> 6 & 63];
	}
	*p = '\0';
	return out;
}
