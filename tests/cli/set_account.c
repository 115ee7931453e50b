/* set_account VAULT ISSUER URL: remember an ACME account URL for an issuer
 * as the ACME client does after it registers (cv_issuer_account_set), with
 * the PIN from CERTVAULT_PIN.  For the command-line tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int
main(int argc, char **argv)
{
	const char *pin = getenv("CERTVAULT_PIN");
	cv_vault *v = NULL;
	cv_err err;

	if (argc != 4 || pin == NULL) {
		fprintf(stderr, "usage: CERTVAULT_PIN=PIN set_account VAULT ISSUER URL\n");
		return 2;
	}
	if ((err = cv_vault_open(argv[1], &v)) != CV_OK ||
	    (err = cv_vault_login(v, CV_USER_NORMAL, pin, strlen(pin))) != CV_OK ||
	    (err = cv_issuer_account_set(v, argv[2], argv[3])) != CV_OK) {
		fprintf(stderr, "set_account: %s\n",
			cv_err_detail()[0] ? cv_err_detail() : cv_strerror(err));
		cv_vault_close(v);
		return 1;
	}
	cv_vault_close(v);
	return 0;
}
