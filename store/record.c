/* certvault: the record format (see record.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "record.h"

static void
wbuf_reserve(cv_wbuf *w, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (w->failed)
		return;
	if (more > SIZE_MAX / 2 - w->len) {
		w->failed = 1;
		return;
	}
	if (w->len + more <= w->cap)
		return;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + more)
		cap *= 2;
	/* No realloc: the old buffer may hold secret bytes, and realloc would
	 * leave a copy behind unwiped. */
	if ((p = OPENSSL_malloc(cap)) == NULL) {
		w->failed = 1;
		return;
	}
	if (w->len > 0)
		memcpy(p, w->p, w->len);
	OPENSSL_clear_free(w->p, w->cap);
	w->p = p;
	w->cap = cap;
}

void
cv_rec_begin(cv_wbuf *w, enum cv_rec_type type)
{
	wbuf_reserve(w, 2);
	if (w->failed)
		return;
	w->p[w->len++] = CV_REC_FORMAT;
	w->p[w->len++] = (unsigned char)type;
}

void
cv_rec_put(cv_wbuf *w, unsigned tag, const void *val, size_t len)
{
	if (tag == 0 || tag >= CV_T__MAX || len > CV_REC_MAX_FIELD) {
		w->failed = 1;
		return;
	}
	wbuf_reserve(w, 5 + len);
	if (w->failed)
		return;
	w->p[w->len++] = (unsigned char)tag;
	w->p[w->len++] = (unsigned char)(len >> 24);
	w->p[w->len++] = (unsigned char)(len >> 16);
	w->p[w->len++] = (unsigned char)(len >> 8);
	w->p[w->len++] = (unsigned char)len;
	if (len > 0)
		memcpy(w->p + w->len, val, len);
	w->len += len;
}

void
cv_rec_put_str(cv_wbuf *w, unsigned tag, const char *s)
{
	if (s != NULL)
		cv_rec_put(w, tag, s, strlen(s));
}

void
cv_rec_put_u64(cv_wbuf *w, unsigned tag, uint64_t n)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)n;
		n >>= 8;
	}
	cv_rec_put(w, tag, b, sizeof(b));
}

cv_err
cv_rec_finish(cv_wbuf *w)
{
	return w->failed ? CV_ERR_NOMEM : CV_OK;
}

void
cv_wbuf_free(cv_wbuf *w)
{
	OPENSSL_clear_free(w->p, w->cap);
	memset(w, 0, sizeof(*w));
}

static int
is_repeat(unsigned tag, const unsigned *repeats)
{
	for (; repeats != NULL && *repeats != 0; repeats++)
		if (*repeats == tag)
			return 1;
	return 0;
}

cv_err
cv_rec_parse(const unsigned char *rec, size_t len, enum cv_rec_type type,
	     const unsigned *repeats, cv_field f[CV_T__MAX])
{
	size_t off = 2;

	memset(f, 0, sizeof(*f) * CV_T__MAX);
	if (rec == NULL || len < 2)
		return cv_err_set(CV_ERR_CORRUPT, "record of %zu bytes", len);
	if (rec[0] != CV_REC_FORMAT)
		return cv_err_set(CV_ERR_FORMAT_VERSION,
				  "record format %u (this certvault reads %u)",
				  rec[0], CV_REC_FORMAT);
	if (rec[1] != (unsigned char)type)
		return cv_err_set(CV_ERR_CORRUPT, "record of type %u where %u belongs",
				  rec[1], (unsigned)type);
	while (off < len) {
		unsigned tag;
		size_t flen;

		if (len - off < 5)
			return cv_err_set(CV_ERR_CORRUPT,
					  "record field header cut at byte %zu", off);
		tag = rec[off];
		flen = (size_t)rec[off + 1] << 24 | (size_t)rec[off + 2] << 16 |
		       (size_t)rec[off + 3] << 8 | (size_t)rec[off + 4];
		off += 5;
		if (tag == 0 || flen > len - off)
			return cv_err_set(CV_ERR_CORRUPT,
					  "record field %u of %zu bytes runs past the end",
					  tag, flen);
		if (tag < CV_T__MAX && !is_repeat(tag, repeats)) {
			if (f[tag].present)
				return cv_err_set(CV_ERR_CORRUPT,
						  "record field %u appears twice", tag);
			f[tag].p = rec + off;
			f[tag].len = flen;
			f[tag].present = 1;
		}
		off += flen;
	}
	return CV_OK;
}

int
cv_rec_next(const unsigned char *rec, size_t len, size_t *off, unsigned *tag,
	    const unsigned char **val, size_t *vlen)
{
	size_t o = *off < 2 ? 2 : *off;
	size_t flen;

	if (o >= len || len - o < 5)
		return 0;
	flen = (size_t)rec[o + 1] << 24 | (size_t)rec[o + 2] << 16 |
	       (size_t)rec[o + 3] << 8 | (size_t)rec[o + 4];
	if (flen > len - o - 5)
		return 0;
	*tag = rec[o];
	*val = rec + o + 5;
	*vlen = flen;
	*off = o + 5 + flen;
	return 1;
}

cv_err
cv_field_u64(const cv_field *f, uint64_t dflt, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	*out = dflt;
	if (!f->present)
		return CV_OK;
	if (f->len != 8)
		return cv_err_set(CV_ERR_CORRUPT, "number field of %zu bytes", f->len);
	for (i = 0; i < 8; i++)
		n = n << 8 | f->p[i];
	*out = n;
	return CV_OK;
}

cv_err
cv_field_str(const cv_field *f, char **out)
{
	char *s;

	*out = NULL;
	if (!f->present)
		return CV_OK;
	if (memchr(f->p, '\0', f->len) != NULL)
		return cv_err_set(CV_ERR_CORRUPT, "text field holds a NUL byte");
	if ((s = malloc(f->len + 1)) == NULL)
		return CV_ERR_NOMEM;
	memcpy(s, f->p, f->len);
	s[f->len] = '\0';
	*out = s;
	return CV_OK;
}

cv_err
cv_field_strbuf(const cv_field *f, char *out, size_t cap)
{
	out[0] = '\0';
	if (!f->present)
		return CV_OK;
	if (f->len >= cap || memchr(f->p, '\0', f->len) != NULL)
		return cv_err_set(CV_ERR_CORRUPT, "text field of %zu bytes (at most %zu)",
				  f->len, cap - 1);
	memcpy(out, f->p, f->len);
	out[f->len] = '\0';
	return CV_OK;
}

cv_err
cv_field_need(const cv_field *f, const char *what)
{
	if (!f->present)
		return cv_err_set(CV_ERR_CORRUPT, "record lacks its %s", what);
	return CV_OK;
}
