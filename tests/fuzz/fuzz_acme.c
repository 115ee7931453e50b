/* Fuzz target: the JSON the ACME client reads from a CA, parsed as the
 * client parses it, without the network.  The first byte picks the
 * document (mod 4): the directory, a problem document (with the status the
 * second byte gives), an order (its error, and whether its identifiers
 * match two names), an authorization (its failure); the rest is the body. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "fuzz.h"
#include "../../tools/acme/internal.h"

static const char url[] = "https://ca.example/acme/x";

/* What the problem texts promise: one line each, NUL-terminated. */
static void
check_problem(const struct acme_problem *p)
{
	if (memchr(p->type, '\0', sizeof(p->type)) == NULL ||
	    memchr(p->detail, '\0', sizeof(p->detail)) == NULL ||
	    strchr(p->type, '\n') != NULL || strchr(p->detail, '\n') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const names[] = { "a.example", "b.example" };
	struct acme_ctx ctx;
	struct acme_directory d;
	struct http_response resp;
	json_t *j;
	size_t i, k;

	if (size < 2)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	switch (data[0] % 4) {
	case 0:
		if (acme_directory_parse(&ctx, url, data + 1, size - 1, &d) == ACME_RC_OK) {
			if (d.new_nonce == NULL || d.new_account == NULL || d.new_order == NULL)
				abort();
			acme_directory_clear(&d);
		}
		break;
	case 1:
		memset(&resp, 0, sizeof(resp));
		resp.status = 400 + data[1];
		resp.body = malloc(size - 1);
		if (resp.body == NULL)
			return 0;
		memcpy(resp.body, data + 2, size - 2);
		resp.body[size - 2] = '\0';
		resp.body_len = size - 2;
		acme_problem_read(&ctx, url, &resp);
		free(resp.body);
		break;
	case 2:
		j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		acme_order_problem(&ctx, url, j);
		if (acme_order_names_match(j, names, 2)) {
			/* A match means each name is asked for, and nothing else. */
			json_t *ids = json_object_get(j, "identifiers"), *id;

			for (k = 0; k < 2; k++) {
				int seen = 0;

				json_array_foreach(ids, i, id) {
					const char *v = acme_json_str(id, "value");

					seen |= v != NULL && strcasecmp(v, names[k]) == 0;
				}
				if (!seen)
					abort();
			}
		}
		json_decref(j);
		break;
	default:
		j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		(void)acme_authz_problem(&ctx, url, j, "invalid");
		json_decref(j);
		break;
	}
	check_problem(&ctx.prob);
	return 0;
}
