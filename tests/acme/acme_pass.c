/* certvault ACME tests: one pass over a vault's pending ACME operations,
 * through the client's own acme_advance and the issuer's real challenger:
 * what `certvault run --once` does, for the tests of the client itself.
 *
 *   acme_pass VAULT_DIR [NAME]     (the user PIN in CERTVAULT_PIN)
 *
 * Prints "NAME: MESSAGE" per operation worked on.  Exit status: 0 when every
 * operation ended or waits, 1 on a local fault (the line says), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "store.h"

static int
advance_one(cv_vault *v, const char *name)
{
	cv_operation *op = NULL;
	cv_issuer *is = NULL;
	acme_challenger *ch = NULL;
	char msg[4096], err[512];
	enum acme_result r = ACME_ERROR;
	cv_err e;
	int rc = 1;

	e = cv_op_claim(v, name, 300, &op);
	if (e == CV_ERR_BUSY || e == CV_ERR_NOT_IN_PROGRESS) {
		printf("%s: %s\n", name, cv_strerror(e));
		return 0;
	}
	if (e != CV_OK) {
		fprintf(stderr, "%s: cannot claim: %s\n", name, cv_strerror(e));
		return 1;
	}
	if (op->provider == NULL || strcmp(op->provider, "ACME") != 0) {
		printf("%s: not an ACME operation\n", name);
		rc = 0;
		goto done;
	}
	e = cv_issuer_get(v, op->issuer_name, 0, &is);
	if (e != CV_OK) {
		fprintf(stderr, "%s: issuer %s: %s\n", name, op->issuer_name,
			cv_strerror(e));
		goto done;
	}
	if (acme_challenger_open(is, &ch, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		goto done;
	}
	r = acme_advance(v, op, is, ch, msg, sizeof(msg));
	printf("%s: %s\n", name, msg);
	rc = r == ACME_ERROR;
done:
	if (r != ACME_DONE)
		cv_op_release(v, op);
	acme_challenger_close(ch);
	cv_issuer_free(is);
	cv_operation_free(op);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *pin = getenv("CERTVAULT_PIN");
	cv_vault *v = NULL;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 1;

	if (argc < 2 || argc > 3 || pin == NULL) {
		fprintf(stderr, "usage: CERTVAULT_PIN=PIN acme_pass VAULT_DIR [NAME]\n");
		return 2;
	}
	if (cv_vault_open(argv[1], &v) != CV_OK ||
	    cv_vault_login(v, CV_USER_NORMAL, pin, strlen(pin)) != CV_OK) {
		fprintf(stderr, "acme_pass: cannot open and log in to %s: %s\n",
			argv[1], cv_err_detail());
		goto done;
	}
	if (argc == 3) {
		rc = advance_one(v, argv[2]);
		goto done;
	}
	if (cv_op_list_active(v, &names, &n) != CV_OK) {
		fprintf(stderr, "acme_pass: cannot list operations\n");
		goto done;
	}
	rc = 0;
	for (i = 0; i < n; i++)
		rc |= advance_one(v, names[i]);
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	cv_vault_close(v);
	return rc;
}
