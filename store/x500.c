/* certvault: X.500 subjects written the way Key Vault accepts and shows them.
 *
 * The grammar is RFC 4514's with Key Vault's habits: `S` for state, spaces
 * around `=` and the separators, `;` as well as `,` between RDNs, and double
 * quotes around a value that holds a separator.  As RFC 4514 says, and as
 * Key Vault and OpenSSL read it, the string starts with the most specific
 * RDN: the last RDN written is the first in the DER, so "CN=a, O=b, C=US"
 * is the name C=US / O=b / CN=a.  cv_x500_format prints in that same order
 * (as `openssl x509 -nameopt RFC2253` does), so format(parse(s)) gives back
 * s up to spacing, quoting and the order inside a multi-valued RDN (a SET,
 * which DER sorts).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "error.h"
#include "policy.h"

#define BAD_SUBJECT_TEXT "The subject name provided is not a valid X500 name"

/* Attribute type keywords.  The first row for a NID is the name
 * cv_x500_format prints. */
static const struct attr_type {
	const char *name;
	int nid;
} attr_types[] = {
	{ "CN", NID_commonName },
	{ "O", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "L", NID_localityName },
	{ "S", NID_stateOrProvinceName },
	{ "C", NID_countryName },
	{ "DC", NID_domainComponent },
	{ "E", NID_pkcs9_emailAddress },
	{ "STREET", NID_streetAddress },
	{ "SERIALNUMBER", NID_serialNumber },
	{ "T", NID_title },
	{ "G", NID_givenName },
	{ "SN", NID_surname },
	{ "UID", NID_userId },
	{ "postalCode", NID_postalCode },
	/* other spellings, accepted on input only */
	{ "ST", NID_stateOrProvinceName },
	{ "EMAIL", NID_pkcs9_emailAddress },
	{ "emailAddress", NID_pkcs9_emailAddress },
	{ "title", NID_title },
	{ "GN", NID_givenName },
	{ "givenName", NID_givenName },
	{ "surname", NID_surname },
	{ "commonName", NID_commonName },
	{ "organizationName", NID_organizationName },
	{ "organizationalUnitName", NID_organizationalUnitName },
	{ "localityName", NID_localityName },
	{ "stateOrProvinceName", NID_stateOrProvinceName },
	{ "countryName", NID_countryName },
	{ "domainComponent", NID_domainComponent },
	{ "streetAddress", NID_streetAddress },
	{ "userId", NID_userId },
};

static int
is_space(char c)
{
	return c == ' ';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The characters RFC 4514 lets a backslash escape, plus the separators
 * Key Vault adds. */
static int
is_escapable(char c)
{
	return c != '\0' && strchr(",+\"\\;<>=# ", c) != NULL;
}

/* An OpenSSL failure while building the name: out of memory if the queue
 * says so, else the value did not fit its attribute (a two-letter C, an
 * ASCII-only DC or E, an upper bound). */
static cv_err
openssl_failure(void)
{
	unsigned long e;
	int nomem = 0;

	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = 1;
	}
	if (nomem)
		return cv_err_set(CV_ERR_NOMEM, "out of memory building a subject");
	return cv_err_set(CV_ERR_BAD_SUBJECT, BAD_SUBJECT_TEXT);
}

/* A dotted OID such as 2.5.4.3: digits in arcs separated by single dots. */
static int
is_dotted_oid(const char *s, size_t len)
{
	size_t i, arcs = 0, digits = 0;

	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			digits++;
		} else if (s[i] == '.' && digits > 0) {
			arcs++;
			digits = 0;
		} else {
			return 0;
		}
	}
	return digits > 0 && arcs >= 1;
}

/* The attribute type at s[*pos]: a keyword, a dotted OID, or OID.<dotted>.
 * *obj is a new object owned by the caller. */
static cv_err
parse_type(const char *s, size_t *pos, ASN1_OBJECT **obj)
{
	cv_err err = CV_ERR_BAD_SUBJECT;
	size_t start = *pos, len, i;
	char oid[128];
	const char *t;

	*obj = NULL;
	while ((s[*pos] >= 'a' && s[*pos] <= 'z') ||
	       (s[*pos] >= 'A' && s[*pos] <= 'Z') ||
	       (s[*pos] >= '0' && s[*pos] <= '9') || s[*pos] == '.' ||
	       s[*pos] == '-')
		(*pos)++;
	len = *pos - start;
	t = s + start;

	if (len > 4 && strncasecmp(t, "OID.", 4) == 0) {
		t += 4;
		len -= 4;
		if (t[0] < '0' || t[0] > '9')
			goto done;
	}
	if (t[0] >= '0' && t[0] <= '9') {
		if (!is_dotted_oid(t, len) || len >= sizeof(oid))
			goto done;
		memcpy(oid, t, len);
		oid[len] = '\0';
		*obj = OBJ_txt2obj(oid, 1);
		if (*obj == NULL) {
			err = openssl_failure();
			goto done;
		}
		err = CV_OK;
		goto done;
	}
	for (i = 0; i < sizeof(attr_types) / sizeof(attr_types[0]); i++) {
		if (strlen(attr_types[i].name) == len &&
		    strncasecmp(attr_types[i].name, t, len) == 0) {
			*obj = OBJ_nid2obj(attr_types[i].nid);
			if (*obj == NULL) {
				err = openssl_failure();
				goto done;
			}
			err = CV_OK;
			goto done;
		}
	}

done:
	if (err == CV_ERR_BAD_SUBJECT)
		cv_err_set(err, BAD_SUBJECT_TEXT);
	return err;
}

/* One backslash escape at s[*pos] (the backslash): a special character or
 * two hex digits.  The byte goes to *out. */
static int
parse_escape(const char *s, size_t *pos, unsigned char *out)
{
	int hi, lo;

	hi = hex_value(s[*pos + 1]);
	if (hi >= 0) {
		lo = hex_value(s[*pos + 2]);
		if (lo < 0)
			return 0;
		*out = (unsigned char)(hi << 4 | lo);
		*pos += 3;
		return 1;
	}
	if (!is_escapable(s[*pos + 1]))
		return 0;
	*out = (unsigned char)s[*pos + 1];
	*pos += 2;
	return 1;
}

/* The value at s[*pos], quoted or not, into buf; *len is its length.
 * On return s[*pos] is the separator, '+' or the end. */
static int
parse_value(const char *s, size_t *pos, unsigned char *buf, size_t *len)
{
	size_t n = 0, kept = 0;
	unsigned char c;

	if (s[*pos] == '"') {
		(*pos)++;
		for (;;) {
			if (s[*pos] == '\0')
				return 0; /* unterminated quote */
			if (s[*pos] == '"') {
				(*pos)++;
				break;
			}
			if (s[*pos] == '\\') {
				if (!parse_escape(s, pos, &c))
					return 0;
			} else {
				c = (unsigned char)s[(*pos)++];
			}
			buf[n++] = c;
		}
		kept = n;
		while (is_space(s[*pos]))
			(*pos)++;
		if (s[*pos] != '\0' && s[*pos] != ',' && s[*pos] != ';' &&
		    s[*pos] != '+')
			return 0; /* something after the closing quote */
	} else {
		while (s[*pos] != '\0' && s[*pos] != ',' && s[*pos] != ';' &&
		       s[*pos] != '+') {
			if (s[*pos] == '"')
				return 0;
			if (s[*pos] == '\\') {
				if (!parse_escape(s, pos, &c))
					return 0;
				buf[n++] = c;
				kept = n; /* an escaped space is kept */
				continue;
			}
			c = (unsigned char)s[(*pos)++];
			buf[n++] = c;
			if (!is_space((char)c))
				kept = n;
		}
	}
	*len = kept;
	return kept > 0;
}

/* The first entry of the RDN whose entries end before index end (> 0). */
static int
rdn_start(const X509_NAME *name, int end)
{
	int start = end - 1, set;

	set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, start));
	while (start > 0 &&
	       X509_NAME_ENTRY_set(X509_NAME_get_entry(name, start - 1)) == set)
		start--;
	return start;
}

/* written's RDNs in reverse order, each RDN's entries kept in order. */
static cv_err
reverse_rdns(const X509_NAME *written, X509_NAME **out)
{
	cv_err err = CV_ERR_NOMEM;
	X509_NAME *name = NULL;
	int start, end, k;

	*out = NULL;
	if ((name = X509_NAME_new()) == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory parsing a subject");
		goto done;
	}
	for (end = X509_NAME_entry_count(written); end > 0; end = start) {
		start = rdn_start(written, end);
		for (k = start; k < end; k++) {
			if (!X509_NAME_add_entry(name, X509_NAME_get_entry(written, k),
						 -1, k == start ? 0 : -1)) {
				err = openssl_failure();
				goto done;
			}
		}
	}
	*out = name;
	name = NULL;
	err = CV_OK;
done:
	X509_NAME_free(name);
	return err;
}

cv_err
cv_x500_parse(const char *subject, X509_NAME **out)
{
	cv_err err = CV_ERR_BAD_SUBJECT;
	X509_NAME *name = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *buf = NULL;
	size_t pos = 0, vlen, slen;
	int set = 0;

	cv_err_clear();
	if (out != NULL)
		*out = NULL;
	if (subject == NULL || out == NULL) {
		err = cv_err_set(CV_ERR_INVALID, "cv_x500_parse: no subject");
		goto done;
	}
	slen = strlen(subject);
	if (slen > INT_MAX)
		goto bad;
	buf = malloc(slen + 1);
	name = X509_NAME_new();
	if (buf == NULL || name == NULL) {
		err = cv_err_set(CV_ERR_NOMEM, "out of memory parsing a subject");
		goto done;
	}

	/* an empty subject, or a separator with nothing after it, ends in
	 * parse_type finding no attribute type */
	while (is_space(subject[pos]))
		pos++;
	for (;;) {
		err = parse_type(subject, &pos, &obj);
		if (err != CV_OK)
			goto done;
		while (is_space(subject[pos]))
			pos++;
		if (subject[pos] != '=')
			goto bad;
		pos++;
		while (is_space(subject[pos]))
			pos++;
		if (!parse_value(subject, &pos, buf, &vlen))
			goto bad;
		if (!X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8, buf,
						(int)vlen, -1, set)) {
			err = openssl_failure();
			goto done;
		}
		ASN1_OBJECT_free(obj);
		obj = NULL;

		if (subject[pos] == '\0')
			break;
		/* a separator or '+': another attribute must follow */
		set = subject[pos] == '+' ? -1 : 0;
		pos++;
		while (is_space(subject[pos]))
			pos++;
	}

	/* RFC 4514: the string lists the RDNs last to first */
	err = reverse_rdns(name, out);
	goto done;

bad:
	err = cv_err_set(CV_ERR_BAD_SUBJECT, BAD_SUBJECT_TEXT);
done:
	ERR_clear_error();
	ASN1_OBJECT_free(obj);
	X509_NAME_free(name);
	free(buf);
	return err;
}

int
cv_x500_equal(const X509_NAME *a, const X509_NAME *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* X509_NAME_cmp compares the canonical encodings (case folded,
	 * spaces collapsed); -2 means an encoding failed. */
	return X509_NAME_cmp(a, b) == 0;
}

/* A growing NUL-terminated string; failed sticks after an allocation error. */
struct text {
	char *s;
	size_t len, cap;
	int failed;
};

static void
text_add(struct text *t, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = t->cap ? t->cap : 64;
		while (cap < t->len + n + 1)
			cap *= 2;
		p = realloc(t->s, cap);
		if (p == NULL) {
			t->failed = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void
text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void
text_hex_byte(struct text *t, unsigned char c)
{
	static const char digits[] = "0123456789ABCDEF";
	char h[3] = { '\\', digits[c >> 4], digits[c & 15] };

	text_add(t, h, 3);
}

/* A value as cv_x500_parse reads it back: double-quoted when it holds a
 * separator, quote, '=', backslash, or edge spaces; control bytes as \XX. */
static void
text_value(struct text *t, const unsigned char *v, size_t n)
{
	int quote = n == 0 || v[0] == ' ' || v[n - 1] == ' ';
	size_t i;

	for (i = 0; i < n && !quote; i++) {
		if (strchr(",\"+;=\\", v[i]) != NULL && v[i] != '\0')
			quote = 1;
	}
	if (quote)
		text_add(t, "\"", 1);
	for (i = 0; i < n; i++) {
		if (v[i] < 0x20 || v[i] == 0x7f) {
			text_hex_byte(t, v[i]);
		} else if (quote && (v[i] == '"' || v[i] == '\\')) {
			text_add(t, "\\", 1);
			text_add(t, (const char *)&v[i], 1);
		} else {
			text_add(t, (const char *)&v[i], 1);
		}
	}
	if (quote)
		text_add(t, "\"", 1);
}

static void
text_type(struct text *t, const ASN1_OBJECT *obj)
{
	int nid = OBJ_obj2nid(obj), n;
	char *oid;
	size_t i;

	for (i = 0; i < sizeof(attr_types) / sizeof(attr_types[0]); i++) {
		if (attr_types[i].nid == nid && nid != NID_undef) {
			text_str(t, attr_types[i].name);
			return;
		}
	}
	n = OBJ_obj2txt(NULL, 0, obj, 1);
	oid = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (oid == NULL || OBJ_obj2txt(oid, n + 1, obj, 1) != n) {
		t->failed = 1;
		free(oid);
		return;
	}
	text_str(t, oid);
	free(oid);
}

/* One attribute: type=value. */
static void
text_entry(struct text *t, const X509_NAME_ENTRY *ne)
{
	const ASN1_STRING *data = X509_NAME_ENTRY_get_data(ne);
	const unsigned char *raw;
	unsigned char *utf8 = NULL;
	int k, len, rlen;

	text_type(t, X509_NAME_ENTRY_get_object(ne));
	text_add(t, "=", 1);
	len = ASN1_STRING_to_UTF8(&utf8, data);
	if (len >= 0) {
		text_value(t, utf8, (size_t)len);
		OPENSSL_free(utf8);
		return;
	}
	/* not convertible (a malformed BMPString, say): the raw bytes, each
	 * escaped, so nothing is lost */
	ERR_clear_error();
	raw = ASN1_STRING_get0_data(data);
	rlen = ASN1_STRING_length(data);
	text_add(t, "\"", 1);
	for (k = 0; k < rlen; k++)
		text_hex_byte(t, raw[k]);
	text_add(t, "\"", 1);
}

char *
cv_x500_format(const X509_NAME *name)
{
	struct text t = { NULL, 0, 0, 0 };
	int i, start, end, n;

	if (name == NULL)
		return NULL;
	text_add(&t, "", 0);
	/* RFC 4514: the DER's last RDN first; inside a multi-valued RDN the
	 * entries in their own order */
	n = X509_NAME_entry_count(name);
	for (end = n; end > 0; end = start) {
		start = rdn_start(name, end);
		if (end < n)
			text_str(&t, ", ");
		for (i = start; i < end; i++) {
			if (i > start)
				text_add(&t, "+", 1);
			text_entry(&t, X509_NAME_get_entry(name, i));
		}
	}
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	return t.s;
}
