/* certvault: what the policy files share, and nothing outside store/policy/
 * includes.
 *
 * Every input spelling is first renamed into the REST spelling
 * (normalise_document, schema.c), which is also where unknown members are
 * caught; the REST document is then read into a cv_policy (policy_from_rest,
 * parse.c) and checked by one validator (validate_policy, validate.c).
 * cv_policy_update (update.c) merges a patch onto the REST form of its base
 * and goes through the same reader, so a patched policy obeys exactly the
 * rules of a parsed one.
 */
#ifndef CV_POLICY_INTERNAL_H
#define CV_POLICY_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "error.h"
#include "policy.h"

#define KU_ALL 0x1ffu
#define SUBJECT_MAX_CHARS 200
#define VALIDITY_MAX_MONTHS 1200
#define DAYS_PER_MONTH_LIMIT 27
#define ISSUER_NAME_MAX 127
#define DNS_NAME_MAX 253
/* 30.44 days, the month Key Vault rounds an imported validity with */
#define MONTH_SECONDS 2630016LL
#define UPN_OID "1.3.6.1.4.1.311.20.2.3"
#define PATH_LENGTH_MAX 16

/* names.c */
struct ku_name {
	unsigned bit;
	const char *name;
};
#define N_KU 9
extern const struct ku_name ku_names[N_KU];

struct key_type_name {
	const char *name;
	enum cv_key_type kty;
	int hsm;
};

struct curve {
	const char *name;
	int bits;
	int nid;
};
#define N_CURVES 4
extern const struct curve curves[N_CURVES];

extern const char *const content_type_names[];
extern const char *const action_names[];

const char *action_name(enum cv_action_type a);
const char *key_type_name(enum cv_key_type kty, int hsm);
const struct key_type_name *find_key_type(const char *s);
const struct curve *find_curve(const char *s);
const struct curve *find_curve_by_nid(int nid);

/* object.c */
int utf8_valid(const unsigned char *s, size_t n);
size_t utf8_chars(const char *s);
int openssl_out_of_memory(void);
cv_err strlist_push(cv_strlist *l, const char *s, size_t len);
cv_err dup_string(const char *s, char **out);
cv_policy *policy_new(void);
cv_err set_one_action(cv_policy *p, enum cv_trigger_type trigger, int value,
		      enum cv_action_type action);

/* validate.c */
struct san_kind {
	size_t offset;        /* of the cv_strlist in cv_policy */
	const char *rest;     /* x509_props.sans member */
	int (*valid)(const char *);
	const char *what;
};
#define N_SAN_KINDS 5
extern const struct san_kind san_kinds[N_SAN_KINDS];

const cv_strlist *san_list(const cv_policy *p, const struct san_kind *k);
cv_err validate_policy(const cv_policy *p);

/* schema.c */
void join_path(char *buf, size_t n, const char *parent, const char *name);
cv_err normalise_document(json_t *doc, json_t **out);
cv_err load_document(const char *text, size_t len, json_t **out);

/* parse.c */
cv_err policy_from_rest(json_t *root, int import, cv_policy **out);

/* emit.c */
json_t *rest_json(const cv_policy *p);
cv_err write_failure(const cv_policy *p);

#endif
