/* Fuzz target: policy documents (as create and as import read them), and
 * policy patches onto the default. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cv_policy *p = NULL, *d = NULL, *u = NULL, *again = NULL, *imp = NULL;
	char *json = NULL;

	if (cv_policy_parse((const char *)data, size, &p) == CV_OK) {
		/* What parses must serialize and parse back. */
		if (cv_policy_to_json(p, CV_POLICY_JSON_REST, &json) != CV_OK ||
		    cv_policy_parse(json, strlen(json), &again) != CV_OK)
			abort();
		free(json);
		json = NULL;
		if (cv_policy_to_json(p, CV_POLICY_JSON_AZ, &json) != CV_OK)
			abort();
	}
	/* An import policy takes every document a create does, and more. */
	if (cv_policy_parse_import((const char *)data, size, &imp) != CV_OK &&
	    p != NULL)
		abort();
	if (cv_policy_default(&d) == CV_OK)
		(void)cv_policy_update(d, (const char *)data, size, &u);
	free(json);
	cv_policy_free(p);
	cv_policy_free(again);
	cv_policy_free(d);
	cv_policy_free(u);
	cv_policy_free(imp);
	return 0;
}
