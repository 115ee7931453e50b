/* certvault certificate delete, list-deleted, show-deleted, recover, purge:
 * Key Vault's soft delete, with az's verbs and output shapes; and the
 * purge of what is past its date that `certvault run` makes each pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_NAME = 1,
};

/* A deleted certificate as az prints one: the certificate with its
 * recoveryId, deletedDate and scheduledPurgeDate. */
static json_t *
json_deleted(struct cli_ctx *ctx, const cv_deleted_cert *d)
{
	json_t *o = cli_json_cert(ctx->vault_name, d->cert, NULL, 0, cli_form_of(ctx));
	json_t *rid = json_string(d->recovery_id);
	json_t *dd = cli_json_time(d->deleted), *pd = cli_json_time(d->scheduled_purge);

	if (o == NULL || rid == NULL || dd == NULL || pd == NULL ||
	    json_object_set_new(o, "recoveryId", rid) != 0 ||
	    json_object_set_new(o, "deletedDate", dd) != 0 ||
	    json_object_set_new(o, "scheduledPurgeDate", pd) != 0) {
		/* set_new takes its value even when it fails */
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Parse `--name N` alone.  Returns an exit status; *name set on success. */
static int
name_only(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	  char **argv, const char **name)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o;
	int c;

	*name = NULL;
	cli_opts_init(&o, ctx, cmd, argc, argv, opts);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		if (c != OPT_NAME)
			return o.rc;
		*name = o.arg;
	}
	if (*name == NULL)
		return cli_usage(cmd, "--name is required");
	return CLI_EXIT_OK;
}

int
cli_certificate_delete(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	    char **argv)
{
	const char *name;
	cv_deleted_cert *d = NULL;
	cv_cert_version *cv = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	if ((rc = name_only(ctx, cmd, argc, argv, &name)) != CLI_EXIT_OK ||
	    (rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	/* A name not in the vault is said so before the PIN is asked for. */
	if ((err = cv_cert_get(v, name, NULL, &cv)) != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	if ((rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_cert_delete(v, name, &d)) != CV_OK) {
		rc = cli_fail_cert(v, err, name, NULL, CLI_LOOKUP_CERTIFICATE);
		goto done;
	}
	rc = cli_print(ctx, json_deleted(ctx, d));
done:
	cv_cert_version_free(cv);
	cv_deleted_cert_free(d);
	cv_vault_close(v);
	return rc;
}

int
cli_certificate_show_deleted(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		  char **argv)
{
	const char *name;
	cv_deleted_cert *d = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	if ((rc = name_only(ctx, cmd, argc, argv, &name)) != CLI_EXIT_OK ||
	    (rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_cert_get_deleted(v, name, &d)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, json_deleted(ctx, d));
done:
	cv_deleted_cert_free(d);
	cv_vault_close(v);
	return rc;
}

int
cli_certificate_list_deleted(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
		  char **argv)
{
	struct cli_opts o;
	cv_deleted_cert **list = NULL;
	size_t n = 0, i;
	cv_vault *v = NULL;
	json_t *a = NULL, *one;
	cv_err err;
	int c, rc = CLI_EXIT_FAIL;

	cli_opts_init(&o, ctx, cmd, argc, argv, NULL);
	while ((c = cli_opts_next(&o)) != CLI_OPT_END) {
		rc = o.rc;
		goto done;
	}
	if ((rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_cert_list_deleted(v, &list, &n)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	if ((a = json_array()) == NULL) {
		rc = cli_fail_store(CV_ERR_NOMEM);
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((one = json_deleted(ctx, list[i])) == NULL ||
		    json_array_append_new(a, one) != 0) {
			rc = cli_fail_store(CV_ERR_NOMEM);
			goto done;
		}
	}
	rc = cli_print(ctx, a);
	a = NULL;
done:
	json_decref(a);
	cv_deleted_cert_list_free(list, n);
	cv_vault_close(v);
	return rc;
}

/* A deleted name, checked before the PIN is asked for. */
static int
deleted_first(cv_vault *v, const char *name)
{
	cv_deleted_cert *d = NULL;
	cv_err err;

	err = cv_cert_get_deleted(v, name, &d);
	cv_deleted_cert_free(d);
	return err == CV_OK ? CLI_EXIT_OK : cli_fail_store(err);
}

int
cli_certificate_recover(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	     char **argv)
{
	const char *name;
	cv_cert_version *cv = NULL;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	if ((rc = name_only(ctx, cmd, argc, argv, &name)) != CLI_EXIT_OK ||
	    (rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK ||
	    (rc = deleted_first(v, name)) != CLI_EXIT_OK ||
	    (rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_cert_recover(v, name, &cv)) != CV_OK) {
		rc = cli_fail_store(err);
		goto done;
	}
	rc = cli_print(ctx, cli_json_cert(ctx->vault_name, cv, NULL, 0, cli_form_of(ctx)));
done:
	cv_cert_version_free(cv);
	cv_vault_close(v);
	return rc;
}

int
cli_certificate_purge(struct cli_ctx *ctx, const struct cli_command *cmd, int argc,
	   char **argv)
{
	const char *name;
	cv_vault *v = NULL;
	cv_err err;
	int rc;

	if ((rc = name_only(ctx, cmd, argc, argv, &name)) != CLI_EXIT_OK ||
	    (rc = cli_vault_open(ctx, &v)) != CLI_EXIT_OK ||
	    (rc = deleted_first(v, name)) != CLI_EXIT_OK ||
	    (rc = cli_login(v, CV_USER_NORMAL, NULL)) != CLI_EXIT_OK)
		goto done;
	if ((err = cv_cert_purge(v, name)) != CV_OK)
		rc = cli_fail_store(err);
done:
	cv_vault_close(v);
	return rc;
}

int
cli_run_purge(cv_vault *v, int64_t now, FILE *out)
{
	size_t purged = 0;
	cv_err err;

	err = cv_vault_purge_due(v, now, &purged);
	if (purged > 0)
		fprintf(out, "purged %zu deleted certificate%s past %s scheduled purge date\n",
			purged, purged == 1 ? "" : "s", purged == 1 ? "its" : "their");
	if (err != CV_OK) {
		cli_fail_store(err);
		return 1;
	}
	return 0;
}
