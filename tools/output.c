/* certvault: everything the tool prints or writes.
 *
 * Each kind of record becomes a jansson object in one of two forms: the JSON
 * form carries the keys `az keyvault certificate ...` prints (az sorts keys
 * and indents by two, so does --json); the human form carries what a person
 * reads and is printed as aligned `key: value` lines.  Output files go
 * through a temporary file in the same folder and a rename (or a link when
 * an existing file must not be replaced), so a reader never sees half. */
/* O_TMPFILE (Linux): glibc declares it under _GNU_SOURCE only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"

/* --- Building blocks ------------------------------------------------------ */

/* A JSON string; bytes that are not UTF-8 become '?' so that a damaged
 * display name never makes the whole answer fail. */
static json_t *
jstr(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if (s == NULL)
		return json_null();
	j = json_string(s);
	if (j != NULL)
		return j;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Set o[k] = v, remembering any failure (v NULL is out of memory). */
static void
put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (o == NULL || v == NULL || json_object_set_new(o, k, v) != 0) {
		json_decref(v);
		*bad = 1;
	}
}

static void
append(json_t *a, json_t *v, int *bad)
{
	if (a == NULL || v == NULL || json_array_append_new(a, v) != 0) {
		json_decref(v);
		*bad = 1;
	}
}

/* ISO 8601 in UTC, the way az prints datetimes: 2024-05-01T10:00:00+00:00. */
static json_t *
jtime(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char buf[64];

	if (t == 0)
		return json_null();
	if (gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
	return json_string(buf);
}

static json_t *
jbase64(const unsigned char *data, size_t len)
{
	unsigned char *b64;
	json_t *j;

	if (data == NULL || len == 0)
		return json_null();
	if (len > INT32_MAX / 2)
		return NULL;
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (b64 == NULL)
		return NULL;
	EVP_EncodeBlock(b64, data, (int)len);
	j = json_string((const char *)b64);
	free(b64);
	return j;
}

static json_t *
jfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
jfmt(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return jstr(buf);
}

static json_t *
jtags(const cv_tags *t, enum cli_form form)
{
	json_t *o;
	size_t i;
	int bad = 0;

	if (t->n == 0)
		return form == CLI_FORM_HUMAN ? json_string("") : json_null();
	if (form == CLI_FORM_HUMAN) {
		size_t total = 1;
		char *line;
		json_t *j;

		for (i = 0; i < t->n; i++)
			total += strlen(t->names[i]) + strlen(t->values[i]) + 3;
		line = malloc(total);
		if (line == NULL)
			return NULL;
		line[0] = '\0';
		for (i = 0; i < t->n; i++) {
			if (i > 0)
				strcat(line, ", ");
			strcat(line, t->names[i]);
			strcat(line, "=");
			strcat(line, t->values[i]);
		}
		j = jstr(line);
		free(line);
		return j;
	}
	o = json_object();
	for (i = 0; i < t->n; i++)
		put(o, t->names[i], jstr(t->values[i]), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
done_object(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum cli_form
cli_form_of(const struct cli_ctx *ctx)
{
	return ctx->json ? CLI_FORM_JSON : CLI_FORM_HUMAN;
}

/* --- Records -------------------------------------------------------------- */

static json_t *
thumbprint_hex(const cv_blob *der)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int i;

	if (der->data == NULL || der->len == 0)
		return json_null();
	if (!EVP_Digest(der->data, der->len, md, &mdlen, EVP_sha1(), NULL))
		return json_null();
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02X", md[i]);
	hex[2 * mdlen] = '\0';
	return json_string(hex);
}

json_t *
cli_json_cert(const char *vault, const cv_cert_version *cv,
	      const cv_policy *policy, int full, enum cli_form form)
{
	json_t *o = json_object(), *attrs = json_object();
	int has_version = cv->version[0] != '\0';
	int has_der = cv->der.data != NULL && cv->der.len > 0;
	int bad = 0;

	if (has_version) {
		put(o, "id", jfmt("certvault://%s/certificates/%s/%s", vault,
				  cv->name, cv->version), &bad);
		put(o, "kid", jfmt("certvault://%s/keys/%s/%s", vault, cv->name,
				   cv->version), &bad);
		put(o, "sid", jfmt("certvault://%s/secrets/%s/%s", vault,
				   cv->name, cv->version), &bad);
	} else {
		put(o, "id", jfmt("certvault://%s/certificates/%s", vault,
				  cv->name), &bad);
	}
	put(o, "name", jstr(cv->name), &bad);
	put(o, "version", has_version ? jstr(cv->version) : json_null(), &bad);
	if (form == CLI_FORM_HUMAN) {
		put(o, "enabled", json_boolean(cv->enabled), &bad);
		put(o, "current", json_boolean(cv->is_current), &bad);
		put(o, "pending", json_boolean(cv->pending), &bad);
		put(o, "subject", jstr(cv->subject), &bad);
		put(o, "issuer", jstr(cv->issuer), &bad);
		put(o, "serialNumber", jstr(cv->serial), &bad);
		put(o, "x5t", has_der ? jstr(cv->x5t) : json_null(), &bad);
		put(o, "notBefore", jtime(cv->nbf), &bad);
		put(o, "expires", jtime(cv->exp), &bad);
		put(o, "created", jtime(cv->created), &bad);
		put(o, "updated", jtime(cv->updated), &bad);
		if (full)
			put(o, "chain", json_integer((json_int_t)cv->chain_len),
			    &bad);
		if (policy != NULL)
			put(o, "contentType",
			    jstr(cv_content_type_name(policy->content_type)), &bad);
		put(o, "tags", jtags(&cv->tags, form), &bad);
		json_decref(attrs);
		return done_object(o, bad);
	}
	put(o, "x5t", has_der ? jstr(cv->x5t) : json_null(), &bad);
	put(o, "x509ThumbprintHex", thumbprint_hex(&cv->der), &bad);
	put(attrs, "enabled", json_boolean(cv->enabled), &bad);
	put(attrs, "notBefore", has_der ? jtime(cv->nbf) : json_null(), &bad);
	put(attrs, "expires", has_der ? jtime(cv->exp) : json_null(), &bad);
	put(attrs, "created", jtime(cv->created), &bad);
	put(attrs, "updated", jtime(cv->updated), &bad);
	put(o, "attributes", attrs, &bad);
	put(o, "tags", jtags(&cv->tags, form), &bad);
	put(o, "pending", json_boolean(cv->pending), &bad);
	if (full) {
		put(o, "cer", jbase64(cv->der.data, cv->der.len), &bad);
		put(o, "policy", policy != NULL ?
				     cli_json_policy(policy, CV_POLICY_JSON_REST) :
				     json_null(), &bad);
		if (policy != NULL)
			put(o, "contentType",
			    jstr(cv_content_type_name(policy->content_type)), &bad);
	}
	return done_object(o, bad);
}

json_t *
cli_json_operation(const char *vault, const cv_operation *op,
		   enum cli_form form)
{
	json_t *o = json_object(), *ip = json_object(), *e;
	int bad = 0;

	put(o, "id", jfmt("certvault://%s/certificates/%s/pending", vault,
			  op->name), &bad);
	put(o, "name", jstr(op->name), &bad);
	put(o, "status", jstr(cv_op_status_name(op->status)), &bad);
	put(o, "statusDetails", jstr(op->status_details), &bad);
	put(ip, "name", jstr(op->issuer_name), &bad);
	put(ip, "certificateType", jstr(op->cert_type), &bad);
	put(o, "issuerParameters", ip, &bad);
	if (op->status == CV_OP_FAILED || op->error_code != NULL) {
		e = json_object();
		put(e, "code", jstr(op->error_code), &bad);
		put(e, "message", jstr(op->error_message), &bad);
		put(o, "error", e, &bad);
	} else {
		put(o, "error", json_null(), &bad);
	}
	put(o, "requestId", jstr(op->request_id), &bad);
	put(o, "cancellationRequested", json_boolean(op->cancellation_requested),
	    &bad);
	/* certvault's members: who finishes the operation and how far a
	 * pass got with it. */
	put(o, "provider", jstr(op->provider), &bad);
	put(o, "step", jstr(op->step), &bad);
	put(o, "attempts", json_integer((json_int_t)op->attempts), &bad);
	put(o, "nextAttempt", op->next_attempt != 0 ? jtime(op->next_attempt)
						    : json_null(), &bad);
	put(o, "target", op->status == CV_OP_COMPLETED ?
				 jfmt("certvault://%s/certificates/%s", vault,
				      op->name) : json_null(), &bad);
	if (form == CLI_FORM_HUMAN) {
		put(o, "version", jstr(op->version), &bad);
		put(o, "created", jtime(op->created), &bad);
		put(o, "updated", jtime(op->updated), &bad);
		put(o, "csr", jfmt("%zu bytes (certvault certificate pending csr)",
				   op->csr.len), &bad);
	} else {
		put(o, "csr", jbase64(op->csr.data, op->csr.len), &bad);
	}
	return done_object(o, bad);
}

json_t *
cli_json_policy(const cv_policy *p, enum cv_policy_style style)
{
	char *text = NULL;
	json_t *j = NULL;
	json_error_t jerr;

	if (cv_policy_to_json(p, style, &text) != CV_OK)
		return NULL;
	j = json_loads(text, 0, &jerr);
	free(text);
	return j;
}

json_t *
cli_json_issuer(const char *vault, const cv_issuer *is, enum cli_form form)
{
	json_t *o = json_object(), *cred = json_object(), *org = json_object();
	json_t *admins = json_array(), *attrs = json_object();
	size_t i;
	int bad = 0;

	put(o, "id", jfmt("certvault://%s/certificates/issuers/%s", vault,
			  is->name), &bad);
	put(o, "name", jstr(is->name), &bad);
	put(o, "provider", jstr(is->provider), &bad);
	put(cred, "accountId", jstr(is->account_id), &bad);
	/* The password never leaves the vault through the tool. */
	if (form == CLI_FORM_HUMAN)
		put(cred, "password", json_string(is->has_password ? "(set)" :
						  "(none)"), &bad);
	else
		put(cred, "password", json_null(), &bad);
	put(o, "credentials", cred, &bad);
	for (i = 0; i < is->n_admins; i++) {
		json_t *a = json_object();

		put(a, "firstName", jstr(is->admins[i].first_name), &bad);
		put(a, "lastName", jstr(is->admins[i].last_name), &bad);
		put(a, "emailAddress", jstr(is->admins[i].email), &bad);
		put(a, "phone", jstr(is->admins[i].phone), &bad);
		append(admins, a, &bad);
	}
	put(org, "id", jstr(is->organization_id), &bad);
	put(org, "adminDetails", admins, &bad);
	put(o, "organizationDetails", org, &bad);
	put(o, "directoryUrl", jstr(is->directory_url), &bad);
	put(o, "caCertificate", jstr(is->ca_certificate), &bad);
	if (is->n_allowed_names > 0) {
		json_t *names = json_array();

		for (i = 0; i < is->n_allowed_names; i++)
			append(names, jstr(is->allowed_names[i]), &bad);
		put(o, "allowedNames", names, &bad);
	}
	if (cv_provider_is_acme(is->provider)) {
		/* certvault's own members: the ACME account and how challenges
		 * are answered.  Whether an account key and account exist,
		 * never the key. */
		json_t *acme = json_object(), *ch = json_object();

		put(acme, "email", jstr(is->email), &bad);
		put(acme, "caFile", jstr(is->ca_file), &bad);
		if (is->http_listen != NULL)
			put(ch, "httpListen", jstr(is->http_listen), &bad);
		if (is->webroot != NULL)
			put(ch, "webroot", jstr(is->webroot), &bad);
		if (is->dns_hook != NULL)
			put(ch, "dnsHook", jstr(is->dns_hook), &bad);
		put(acme, "challenge", ch, &bad);
		put(acme, "accountKey", json_boolean(is->has_account_key), &bad);
		put(acme, "accountUrl", jstr(is->account_url), &bad);
		put(o, "acme", acme, &bad);
	}
	put(attrs, "enabled", json_boolean(is->enabled), &bad);
	put(attrs, "created", jtime(is->created), &bad);
	put(attrs, "updated", jtime(is->updated), &bad);
	put(o, "attributes", attrs, &bad);
	return done_object(o, bad);
}

json_t *
cli_json_contacts(const char *vault, const cv_contact *c, size_t n,
		  enum cli_form form)
{
	json_t *list = json_array(), *o;
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		json_t *e = json_object();

		put(e, "emailAddress", jstr(c[i].email), &bad);
		put(e, "name", jstr(c[i].name), &bad);
		put(e, "phone", jstr(c[i].phone), &bad);
		append(list, e, &bad);
	}
	if (form == CLI_FORM_HUMAN)
		return done_object(list, bad);
	o = json_object();
	put(o, "id", jfmt("certvault://%s/certificates/contacts", vault), &bad);
	put(o, "contactList", list, &bad);
	return done_object(o, bad);
}

json_t *
cli_json_time(int64_t t)
{
	return jtime(t);
}

json_t *
cli_json_vault(const cv_vault_info *info, enum cli_form form)
{
	json_t *o = json_object(), *user = json_object(), *so = json_object();
	int bad = 0;

	(void)form;
	put(o, "name", jstr(info->name), &bad);
	put(o, "serial", jstr(info->serial), &bad);
	put(o, "folder", jstr(info->dir), &bad);
	put(o, "created", jtime(info->created), &bad);
	put(user, "initialized", json_boolean(info->user_pin_initialized), &bad);
	put(user, "locked", json_boolean(info->user_pin_locked), &bad);
	put(user, "failedTries", json_integer(info->user_pin_failures), &bad);
	put(user, "maxTries", json_integer(info->pin_tries), &bad);
	put(o, "userPin", user, &bad);
	put(so, "locked", json_boolean(info->so_pin_locked), &bad);
	put(so, "failedTries", json_integer(info->so_pin_failures), &bad);
	put(so, "maxTries", json_integer(info->pin_tries), &bad);
	put(o, "soPin", so, &bad);
	put(o, "enableSoftDelete", json_true(), &bad);
	put(o, "softDeleteRetentionInDays",
	    json_integer(info->recovery.retention_days), &bad);
	put(o, "enablePurgeProtection", json_boolean(info->recovery.purge_protection),
	    &bad);
	put(o, "recoveryLevel", jstr(cv_recovery_level(&info->recovery)), &bad);
	return done_object(o, bad);
}

/* --- Printing --------------------------------------------------------------- */

static void
put_scalar(FILE *f, json_t *v)
{
	const char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (json_string_length(v) == 0) {
			fputs("-", f); /* as for none: no line ends in a blank */
			break;
		}
		for (s = json_string_value(v); *s != '\0'; s++) {
			unsigned char c = (unsigned char)*s;

			fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
		}
		break;
	case JSON_INTEGER:
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", f);
		break;
	case JSON_FALSE:
		fputs("false", f);
		break;
	default:
		fputs("-", f);
		break;
	}
}

static int
all_scalars(json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (json_is_object(v) || json_is_array(v))
			return 0;
	return 1;
}

static void print_human(FILE *f, json_t *o, int indent);

static void
print_array(FILE *f, json_t *a, int indent)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v) {
		if (json_is_object(v)) {
			if (i > 0 && indent == 0)
				fputc('\n', f);
			if (indent > 0)
				fprintf(f, "%*s-\n", indent, "");
			print_human(f, v, indent + (indent > 0 ? 2 : 0));
		} else {
			fprintf(f, "%*s", indent, "");
			put_scalar(f, v);
			fputc('\n', f);
		}
	}
}

static void
print_human(FILE *f, json_t *o, int indent)
{
	const char *k;
	json_t *v;
	size_t width = 0, i;

	json_object_foreach(o, k, v)
		if (strlen(k) > width)
			width = strlen(k);
	json_object_foreach(o, k, v) {
		if (json_is_object(v)) {
			fprintf(f, "%*s%s:\n", indent, "", k);
			print_human(f, v, indent + 2);
		} else if (json_is_array(v) && !all_scalars(v)) {
			fprintf(f, "%*s%s:\n", indent, "", k);
			print_array(f, v, indent + 2);
		} else if (json_is_array(v)) {
			fprintf(f, "%*s%s:%*s ", indent, "", k,
				(int)(width - strlen(k)), "");
			if (json_array_size(v) == 0)
				put_scalar(f, json_null()); /* "-", as for none */
			for (i = 0; i < json_array_size(v); i++) {
				if (i > 0)
					fputs(", ", f);
				put_scalar(f, json_array_get(v, i));
			}
			fputc('\n', f);
		} else {
			fprintf(f, "%*s%s:%*s ", indent, "", k,
				(int)(width - strlen(k)), "");
			put_scalar(f, v);
			fputc('\n', f);
		}
	}
}

int
cli_print_json(json_t *j)
{
	int rc = CLI_EXIT_OK;

	if (j == NULL)
		return cli_fail("out of memory");
	/* az: json.dumps(indent=2, sort_keys=True, ensure_ascii=False). */
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS |
			   JSON_ENCODE_ANY) != 0)
		rc = cli_fail("cannot write the output");
	else
		fputc('\n', stdout);
	json_decref(j);
	return rc;
}

int
cli_print(const struct cli_ctx *ctx, json_t *j)
{
	if (j == NULL)
		return cli_fail("out of memory");
	if (ctx->json)
		return cli_print_json(j);
	if (json_is_array(j))
		print_array(stdout, j, 0);
	else if (json_is_object(j))
		print_human(stdout, j, 0);
	json_decref(j);
	return CLI_EXIT_OK;
}

/* --- Files ------------------------------------------------------------------ */

int
cli_pem_encode(const char *label, const cv_blob *blobs, size_t n,
	       unsigned char **out, size_t *len)
{
	BIO *bio = NULL;
	char *mem = NULL;
	long mlen;
	size_t i;
	int rc = CLI_EXIT_FAIL;

	*out = NULL;
	*len = 0;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (blobs[i].len > INT32_MAX ||
		    !PEM_write_bio(bio, label, "", blobs[i].data,
				   (long)blobs[i].len)) {
			rc = cli_fail("could not write PEM");
			goto done;
		}
	}
	mlen = BIO_get_mem_data(bio, &mem);
	if (mlen < 0) {
		rc = cli_fail("could not write PEM");
		goto done;
	}
	*out = malloc((size_t)mlen + 1);
	if (*out == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	memcpy(*out, mem, (size_t)mlen);
	(*out)[mlen] = '\0';
	*len = (size_t)mlen;
	rc = CLI_EXIT_OK;
done:
	BIO_free(bio);
	return rc;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write into an existing FIFO or character device, in place: opened
 * without O_CREAT or O_TRUNC, and without following a symbolic link, and
 * checked to be the very file lstat saw. */
static int
write_in_place(const char *path, const struct stat *seen, const void *data,
	       size_t len)
{
	struct stat st;
	int fd, rc = CLI_EXIT_FAIL;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != seen->st_dev ||
	    st.st_ino != seen->st_ino ||
	    (st.st_mode & S_IFMT) != (seen->st_mode & S_IFMT)) {
		rc = cli_fail("cannot write %s: it changed while it was opened",
			      path);
		goto done;
	}
	if (write_all(fd, data, len) != 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	rc = CLI_EXIT_OK;
done:
	if (fd >= 0 && close(fd) != 0 && rc == CLI_EXIT_OK)
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
	return rc;
}

/* What --overwrite does with an existing path of each type: a regular file
 * is replaced, a FIFO or character device is written in place, anything
 * else is refused.  *in_place says which of the first two. */
static int
overwrite_rule(const char *path, const struct stat *st, int *in_place)
{
	*in_place = 0;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return CLI_EXIT_OK;
	case S_IFIFO:
	case S_IFCHR:
		*in_place = 1;
		return CLI_EXIT_OK;
	case S_IFLNK:
		return cli_fail("%s is a symbolic link; --overwrite replaces a "
				"regular file and never follows a link: name "
				"the file itself", path);
	case S_IFDIR:
		return cli_fail("%s is a folder; --overwrite replaces a regular "
				"file only", path);
	case S_IFBLK:
		return cli_fail("%s is a block device; --overwrite replaces a "
				"regular file only", path);
	case S_IFSOCK:
		return cli_fail("%s is a socket; --overwrite replaces a regular "
				"file only", path);
	default:
		return cli_fail("%s is not a regular file; --overwrite replaces "
				"a regular file only", path);
	}
}

/* How cli_file_write puts its bytes into the new file. */
struct bytes {
	const char *path;
	const void *data;
	size_t len;
};

static int
fill_bytes(int fd, void *arg)
{
	const struct bytes *b = arg;

	if (write_all(fd, b->data, b->len) != 0)
		return cli_fail("cannot write %s: %s", b->path, strerror(errno));
	return CLI_EXIT_OK;
}

/* Write a new file at path through a temporary file beside it: fill puts
 * the content into its descriptor and prints its own line on failure.  in
 * place, when not NULL, is what an existing FIFO or character device gets
 * written with --overwrite; without it only a regular file is replaced. */
/* An unnamed file in path's folder (Linux's O_TMPFILE), named by
 * name_unnamed() only once it is complete: a writer killed before then
 * leaves nothing behind, where a named temporary file would stay.  -1 when
 * the system or the file system has none (or /proc, through which it is
 * named, is missing): the caller then uses a named temporary file. */
static int
open_unnamed(const char *path, mode_t mode)
{
#ifdef O_TMPFILE
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (access("/proc/self/fd", X_OK) != 0)
		return -1;
	if (slash == NULL)
		return open(".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if ((dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))) == NULL)
		return -1;
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	free(dir);
	return fd;
#else
	(void)path;
	(void)mode;
	return -1;
#endif
}

/* Gives the unnamed file fd the name name, which must not exist (EEXIST). */
static int
name_unnamed(int fd, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* file_write through an unnamed file fd (closed here): filled, synced,
 * then named path, or with --overwrite (exists) named beside path and
 * renamed over it, so that a kill leaves either nothing or a whole copy. */
static int
write_unnamed(int fd, const char *path, mode_t mode, int exists,
	      int (*fill)(int fd, void *arg), void *arg)
{
	size_t plen = strlen(path);
	char *tmp = NULL;
	int rc = CLI_EXIT_FAIL, named = 0, t;

	if (fchmod(fd, mode) != 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if ((rc = fill(fd, arg)) != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	if (fsync(fd) != 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if (!exists) {
		/* linkat() refuses an existing name atomically. */
		if (name_unnamed(fd, path) != 0) {
			if (errno == EEXIST)
				rc = cli_fail("%s already exists; use --overwrite "
					      "to replace it", path);
			else
				rc = cli_fail("cannot write %s: %s", path,
					      strerror(errno));
			goto done;
		}
	} else {
		/* A regular file, as lstat saw it: a free name beside it, the
		 * whole file linked there, then rename() over the name itself. */
		if ((tmp = malloc(plen + sizeof(".tmp-XXXXXX"))) == NULL) {
			rc = cli_fail("out of memory");
			goto done;
		}
		memcpy(tmp, path, plen);
		memcpy(tmp + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
		if ((t = mkstemp(tmp)) < 0) {
			rc = cli_fail("cannot write %s: %s", path, strerror(errno));
			goto done;
		}
		close(t);
		unlink(tmp);
		if (name_unnamed(fd, tmp) != 0) {
			rc = cli_fail("cannot write %s: %s", path, strerror(errno));
			goto done;
		}
		named = 1;
		if (rename(tmp, path) != 0) {
			rc = cli_fail("cannot write %s: %s", path, strerror(errno));
			goto done;
		}
		named = 0;
	}
	rc = CLI_EXIT_OK;
done:
	close(fd);
	if (named)
		unlink(tmp);
	free(tmp);
	return rc;
}

static int
file_write(const char *path, const struct bytes *in_place_data, mode_t mode,
	   int overwrite, int (*fill)(int fd, void *arg), void *arg)
{
	char *tmp = NULL;
	size_t plen = strlen(path);
	struct stat st;
	int fd = -1, rc = CLI_EXIT_FAIL, made = 0, exists = 0, in_place = 0;

	if (plen == 0) {
		rc = cli_fail("an empty file name");
		goto done;
	}
	if (lstat(path, &st) == 0) {
		exists = 1;
	} else if (errno != ENOENT) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if (exists && !overwrite) {
		rc = cli_fail("%s already exists; use --overwrite to replace it",
			      path);
		goto done;
	}
	if (exists) {
		rc = overwrite_rule(path, &st, &in_place);
		if (rc != CLI_EXIT_OK)
			goto done;
		if (in_place && in_place_data == NULL) {
			rc = cli_fail("%s is not a regular file; --overwrite "
				      "replaces a regular file only", path);
			goto done;
		}
		if (in_place) {
			rc = write_in_place(path, &st, in_place_data->data,
					    in_place_data->len);
			goto done;
		}
		rc = CLI_EXIT_FAIL;
	}
	if ((fd = open_unnamed(path, 0600)) >= 0) {
		rc = write_unnamed(fd, path, mode, exists, fill, arg);
		fd = -1;
		goto done;
	}
	tmp = malloc(plen + sizeof(".tmp-XXXXXX"));
	if (tmp == NULL) {
		rc = cli_fail("out of memory");
		goto done;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	made = 1;
	if (fchmod(fd, mode) != 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if ((rc = fill(fd, arg)) != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_FAIL;
	if (fsync(fd) != 0) {
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = cli_fail("cannot write %s: %s", path, strerror(errno));
		goto done;
	}
	fd = -1;
	if (exists) {
		/* A regular file, as lstat saw it: rename() replaces the name
		 * itself and never follows a link put there since. */
		if (rename(tmp, path) != 0) {
			rc = cli_fail("cannot write %s: %s", path,
				      strerror(errno));
			goto done;
		}
		made = 0;
	} else if (link(tmp, path) != 0) {
		/* link() refuses an existing name atomically, where a check
		 * and a rename would race with another writer. */
		int e = errno;

		if (e == EEXIST) {
			rc = cli_fail("%s already exists; use --overwrite to "
				      "replace it", path);
			goto done;
		}
		if ((e != EPERM && e != EOPNOTSUPP) || lstat(path, &st) == 0) {
			rc = cli_fail("cannot write %s: %s", path, strerror(e));
			goto done;
		}
		/* A file system without hard links: the check made above is
		 * the best there is. */
		if (rename(tmp, path) != 0) {
			rc = cli_fail("cannot write %s: %s", path,
				      strerror(errno));
			goto done;
		}
		made = 0;
	}
	rc = CLI_EXIT_OK;
done:
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
cli_file_write(const char *path, const void *data, size_t len, mode_t mode,
	       int overwrite)
{
	struct bytes b = { path, data, len };

	if (strcmp(path, "-") == 0) {
		if (fflush(stdout) != 0 ||
		    write_all(STDOUT_FILENO, data, len) != 0)
			return cli_fail("cannot write to standard output: %s",
					strerror(errno));
		return CLI_EXIT_OK;
	}
	return file_write(path, &b, mode, overwrite, fill_bytes, &b);
}

int
cli_file_write_with(const char *path, mode_t mode, int overwrite,
		    int (*fill)(int fd, void *arg), void *arg)
{
	return file_write(path, NULL, mode, overwrite, fill, arg);
}

int
cli_file_write_regular(const char *path, const void *data, size_t len,
		       mode_t mode, int overwrite)
{
	struct bytes b = { path, data, len };

	return file_write(path, NULL, mode, overwrite, fill_bytes, &b);
}
