/* A team's products, and CIS2 Authentication for them: unlike the other APIs
 * and access modes in the catalogue it cannot be self-selected; the request
 * goes to the CIS2 team, who add it, and the team is told. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "onboarding/onboarding_int.h"

#define PRODUCT_NAME_MAX 100
#define PRODUCT_DESC_MAX 2000

struct product {
	const char *id, *team_id, *name, *description, *cis2_access;
};

static const char *access_words(const char *state)
{
	return strcmp(state, "granted") == 0     ? "CIS2 Authentication has been added"
	       : strcmp(state, "requested") == 0 ? "CIS2 Authentication has been requested"
	       : strcmp(state, "declined") == 0 ? "the request for CIS2 Authentication was declined"
	                                        : "CIS2 Authentication has not been added";
}

/* "WardView " and "wardview" are the same product name. */
static char *name_key(arena *a, const char *name)
{
	char *k = arena_strdup(a, name), *p;
	size_t n;

	if (!k)
		return NULL;
	for (p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = strlen(k);
	while (n && isspace((unsigned char)k[n - 1]))
		k[--n] = '\0';
	for (p = k; isspace((unsigned char)*p); p++)
		;
	return p;
}

/* The account's team, or an answer telling them what comes first (returns 1). */
static int team_context(struct ob_req *r, struct ob_team *t)
{
	int rc = ob_require_account(r);

	if (rc)
		return rc;
	if (!saq_approved(r, r->uid))
		return ob_error(r, 403, "saq_not_approved",
		                "Your Service Assessment Questionnaire must be approved first.")
		           ?: 1;
	rc = orgs_team_of(r, r->uid, t);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 403, "no_team",
		                "Register your organisation and team first, or accept an "
		                "invitation to one.")
		           ?: 1;
	return rc;
}

static int product_load(struct ob_req *r, const char *id, const struct ob_team *t,
                        struct product *out)
{
	static const char sql[] = "SELECT team_id, name, description, cis2_access FROM "
	                          "ob_products WHERE id = $1";
	store_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) > 64)
		return CAREID_ENOTFOUND;
	rc = store_query(r->o->s, &st, sql, "t", id);
	if (!rc && (rc = store_next(st)) == 1) {
		out->id = arena_strdup(r->a, id);
		out->team_id = arena_strdup(r->a, store_text(st, 0));
		out->name = arena_strdup(r->a, store_text(st, 1));
		out->description = arena_strdup(r->a, store_text(st, 2));
		out->cis2_access = arena_strdup(r->a, store_text(st, 3));
		rc = out->cis2_access ? 0 : CAREID_ENOMEM;
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	/* Another team's product does not exist, as far as this caller knows. */
	if (!rc && t && strcmp(out->team_id, t->team_id) != 0)
		rc = CAREID_ENOTFOUND;
	return rc;
}

/* A team member's product (after team_context's checks). */
static int product_ctx_team(struct ob_req *r, const char *id, struct ob_team *t, struct product *p,
                            struct ob_product *op)
{
	int rc = team_context(r, t);

	if (rc)
		return rc;
	rc = product_load(r, id, t, p);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such product in your team.") ?: 1;
	if (rc)
		return rc;
	*op = (struct ob_product){t, p->id, p->name, p->cis2_access, p->team_id, false};
	return 0;
}

/*
 * The product a request under /products/{id} is about: one of the caller's
 * team's, or, for the CIS2 onboarding team, any product (read by the module
 * that owns the page, which decides what a reviewer may do there). Returns 1
 * when an answer was sent (not signed in, no such product, …).
 */
static int product_context(struct ob_req *r, const char *id, struct ob_team *t, struct product *p,
                           struct ob_product *op)
{
	int rc = ob_require_account(r);
	bool in_team = false;

	if (rc)
		return rc;
	memset(op, 0, sizeof(*op));
	memset(t, 0, sizeof(*t));
	if (!r->reviewer)
		return product_ctx_team(r, id, t, p, op);
	rc = orgs_team_of(r, r->uid, t);
	if (rc && rc != CAREID_ENOTFOUND)
		return rc;
	rc = product_load(r, id, NULL, p);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such product.") ?: 1;
	if (rc)
		return rc;
	in_team = t->team_id && strcmp(t->team_id, p->team_id) == 0;
	*op = (struct ob_product){in_team ? t : NULL, p->id,      p->name,
	                          p->cis2_access,     p->team_id, !in_team};
	return 0;
}

static json_t *product_json(const struct product *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", p->id, "name", p->name, "description",
	                 p->description, "cis2_access", p->cis2_access, "cis2_access_text",
	                 access_words(p->cis2_access));
}

static int list(struct ob_req *r, const struct ob_team *t, json_t **out)
{
	static const char sql[] = "SELECT id, name, description, cis2_access FROM ob_products "
	                          "WHERE team_id = $1 ORDER BY created_at, name, id";
	store_stmt *st = NULL;
	json_t *a = json_array();
	int rc = store_query(r->o->s, &st, sql, "t", t->team_id);

	while (!rc && (rc = store_next(st)) == 1) {
		struct product p = {store_text(st, 0), t->team_id, store_text(st, 1),
		                    store_text(st, 2), store_text(st, 3)};

		json_array_append_new(a, product_json(&p));
		rc = 0;
	}
	store_done(st);
	if (rc < 0) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return 0;
}

/*
 * Adds a product to the team. `*errors` (new object) says what is wrong with
 * the input; CAREID_EEXISTS with `*exists` set when the name is taken.
 */
static int add(struct ob_req *r, const struct ob_team *t, const char *name, const char *desc,
               json_t **errors, char **id_out)
{
	static const char sql_find[] =
	    "SELECT name, cis2_access FROM ob_products WHERE name_key = $1";
	static const char sql_add[] =
	    "INSERT INTO ob_products (id, team_id, name, name_key, "
	    "description, created_by, created_at) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7)";
	const char *key;
	store_stmt *st = NULL;
	char *id;
	json_t *detail;
	int rc;

	*errors = json_object();
	*id_out = NULL;
	if (!name || !*name || strlen(name) > PRODUCT_NAME_MAX)
		json_object_set_new(*errors, "name",
		                    json_string("Enter the product's name (up to 100 characters)"));
	if (desc && strlen(desc) > PRODUCT_DESC_MAX)
		json_object_set_new(*errors, "description",
		                    json_string("Describe the product in up to 2,000 characters"));
	if (json_object_size(*errors))
		return 0;
	key = name_key(r->a, name);
	id = ob_random_id(r);
	if (!key || !id)
		return CAREID_ENOMEM;
	if (!*key) {
		json_object_set_new(*errors, "name", json_string("Enter the product's name"));
		return 0;
	}
	rc = store_query(r->o->s, &st, sql_find, "t", key);
	if (!rc && (rc = store_next(st)) == 1) {
		char *msg = arena_printf(r->a, "A product called %s is already registered, and %s",
		                         store_text(st, 0), access_words(store_text(st, 1)));

		json_object_set_new(*errors, "name", json_string(msg ? msg : "already registered"));
		rc = CAREID_EEXISTS;
	}
	store_done(st);
	if (rc)
		return rc;
	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = store_exec(r->o->s, sql_add, "tttttti", id, t->team_id, name, key, desc ? desc : "",
	                r->uid, clock_now());
	if (rc == CAREID_EEXISTS) { /* registered meanwhile */
		store_rollback(r->o->s);
		json_object_set_new(*errors, "name",
		                    json_string("A product with this name is already registered"));
		return CAREID_EEXISTS;
	}
	detail = json_pack("{s:s, s:s}", "name", name, "team", t->team_id);
	if (rc >= 0)
		rc = audit_record(r->o->s, r->uid, "product.registered",
		                  arena_printf(r->a, "product:%s", id), detail);
	json_decref(detail);
	if (rc < 0) {
		store_rollback(r->o->s);
		return rc;
	}
	rc = store_commit(r->o->s);
	*id_out = id;
	return rc;
}

/* Files the request for CIS2 Authentication with the CIS2 team. */
static int request_access(struct ob_req *r, const struct ob_team *t, const struct product *p,
                          char due[11])
{
	static const char sql[] = "UPDATE ob_products SET cis2_access = 'requested' WHERE id = $1 "
	                          "AND cis2_access IN ('none', 'declined')";
	static const char sql_count[] =
	    "SELECT COUNT(*) FROM reviews WHERE subject_kind = 'access' "
	    "AND subject_id = $1";
	json_t *answers =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "product", p->name, "organisation", t->org_name,
	              "ods_code", t->ods_code, "team", t->team_name, "requested_by", r->email);
	char *text = answers ? json_dumps(answers, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	store_stmt *st = NULL;
	int64_t n = 0;
	char *body;
	int rc;

	json_decref(answers);
	if (!text)
		return CAREID_ENOMEM;
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = store_exec(r->o->s, sql, "t", p->id);
	if (rc == 0)
		rc = CAREID_EUSED;
	if (rc < 0)
		goto fail;
	rc = store_query(r->o->s, &st, sql_count, "t", p->id);
	if (!rc && (rc = store_next(st)) == 1)
		n = store_int(st, 0);
	store_done(st);
	if (rc < 0)
		goto fail;
	rc = reviews_file(r, "access", p->id, (int)n + 1, text, due);
	body =
	    arena_printf(r->a,
	                 "Hello %s,\n\nYour request to add CIS2 Authentication to %s has gone to "
	                 "the CIS2 onboarding team, who will respond by %s.\n\n%s/onboarding/"
	                 "products/%s\n",
	                 r->name, p->name, due, r->o->public_url, p->id);
	if (!rc)
		rc = body ? notify_mail(r, r->email, "CIS2 Authentication requested", body)
		          : CAREID_ENOMEM;
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "product.access_requested",
		                  arena_printf(r->a, "product:%s", p->id), NULL);
	if (rc)
		goto fail;
	rc = store_commit(r->o->s);
	goto out;
fail:
	store_rollback(r->o->s);
out:
	free(text);
	return rc;
}

int products_access_decided(struct ob_req *r, const char *product_id, const char *decision)
{
	static const char sql_state[] = "UPDATE ob_products SET cis2_access = $1 WHERE id = $2";
	static const char sql_product[] = "SELECT name, team_id FROM ob_products WHERE id = $1";
	const char *state = strcmp(decision, "approve") == 0   ? "granted"
	                    : strcmp(decision, "decline") == 0 ? "declined"
	                                                       : "none";
	const char *name = NULL, *team = NULL;
	json_t *emails = NULL, *e;
	store_stmt *st = NULL;
	char *body;
	size_t i;
	int rc = store_exec(r->o->s, sql_state, "tt", state, product_id);

	if (rc < 0)
		return rc;
	rc = store_query(r->o->s, &st, sql_product, "t", product_id);
	if (!rc && (rc = store_next(st)) == 1) {
		name = arena_strdup(r->a, store_text(st, 0));
		team = arena_strdup(r->a, store_text(st, 1));
		rc = 0;
	}
	store_done(st);
	if (rc || !name)
		return rc < 0 ? rc : careid_error_set(CAREID_ENOTFOUND, "product gone");
	rc = orgs_team_emails(r, team, &emails);
	if (rc)
		return rc;
	body = arena_printf(r->a,
	                    "Hello,\n\nCIS2 Authentication for %s: %s.\n\n%s/onboarding/products/"
	                    "%s\n",
	                    name,
	                    strcmp(state, "granted") == 0
	                        ? "the CIS2 team has added it to your product; you can start "
	                          "the Setup and eligibility stage"
	                    : strcmp(state, "declined") == 0
	                        ? "the CIS2 team declined the request"
	                        : "the CIS2 team needs more information; you can request it "
	                          "again",
	                    r->o->public_url, product_id);
	json_array_foreach(emails, i, e)
	{
		if (!rc && body)
			rc = notify_mail(r, json_string_value(e),
			                 "CIS2 Authentication for your product", body);
	}
	json_decref(emails);
	return body ? rc : CAREID_ENOMEM;
}

/* The parts of a product's journey, each owned by its module. */
static const struct {
	const char *prefix;
	int (*page)(struct ob_req *r, const struct ob_product *p, const char *rest);
	int (*api)(struct ob_req *r, const struct ob_product *p, const char *rest);
} parts[] = {
    {"/setup", stage_handle, stage_api},
    {"/non-functional", stage_handle, stage_api},
    {"/plan", plan_handle, plan_api},
    {"/environments", envclients_handle, envclients_api},
    {"/conformance", conformance_handle, conformance_api},
    {"/agreement", agreement_handle, agreement_api},
    {"/golive", golive_handle, golive_api},
};

/* The part `rest` ("/plan/versions/2", …) belongs to, or -1. */
static int part_of(const char *rest)
{
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t n = strlen(parts[i].prefix);

		if (strncmp(rest, parts[i].prefix, n) == 0 && (rest[n] == '\0' || rest[n] == '/'))
			return (int)i;
	}
	return -1;
}

/* "/products/ID/rest" → ID (in the arena) and *rest. */
static char *product_id_of(struct ob_req *r, const char **rest)
{
	const char *start = r->path + 10;
	size_t n = strcspn(start, "/");

	*rest = start + n;
	return arena_strndup(r->a, start, n);
}

static int products_page(struct ob_req *r, int status, const struct ob_team *t, json_t *values,
                         json_t *errors)
{
	json_t *items = NULL;
	int rc = list(r, t, &items);

	if (rc) {
		json_decref(values);
		json_decref(errors);
		return rc;
	}
	return ob_page(r, status, "ob_products",
	               json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "title", "Products",
	                         "org_name", t->org_name, "team_name", t->team_name, "products",
	                         items, "values", values ? values : json_object(), "errors",
	                         errors ? errors : json_object(), "has_errors",
	                         errors && json_object_size(errors) > 0));
}

static int product_page(struct ob_req *r, int status, const struct product *p,
                        const struct ob_product *op, const char *notice)
{
	bool granted = strcmp(p->cis2_access, "granted") == 0;
	bool can_request = !op->as_reviewer && (strcmp(p->cis2_access, "none") == 0 ||
	                                        strcmp(p->cis2_access, "declined") == 0);
	json_t *tasks = NULL;
	int rc = granted ? journey_tasks(r, op, &tasks) : 0;

	if (rc)
		return rc;
	return ob_page(r, status, "ob_product",
	               json_pack("{s:s, s:o, s:b, s:b, s:b, s:o?, s:s?}", "title", p->name,
	                         "product", product_json(p), "can_request", can_request, "granted",
	                         granted, "as_reviewer", op->as_reviewer, "tasks", tasks, "notice",
	                         notice));
}

int products_handle(struct ob_req *r)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	struct ob_team t;
	struct product p;
	struct ob_product op;
	json_t *errors = NULL;
	char *id = NULL, due[11];
	const char *rest;
	int rc, part;

	if (strcmp(r->path, "/products") == 0) {
		const char *name = form_get(&r->req->form, "name");
		const char *desc = form_get(&r->req->form, "description");

		rc = team_context(r, &t);
		if (rc)
			return rc > 0 ? 0 : rc;
		if (post && !ob_csrf_ok(r))
			return ob_error(r, 403, "csrf",
			                "The form was not sent from this browser's page.");
		if (!post)
			return products_page(r, 200, &t, NULL, NULL);
		rc = add(r, &t, name, desc, &errors, &id);
		if (rc && rc != CAREID_EEXISTS) {
			json_decref(errors);
			return rc;
		}
		if (json_object_size(errors))
			return products_page(
			    r, rc == CAREID_EEXISTS ? 409 : 400, &t,
			    json_pack("{s:s?, s:s?}", "name", name, "description", desc), errors);
		json_decref(errors);
		return http_redirect(r->res, 303,
		                     arena_printf(r->a, "/onboarding/products/%s", id));
	}
	id = product_id_of(r, &rest);
	if (!id)
		return CAREID_ENOMEM;
	rc = product_context(r, id, &t, &p, &op);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (post && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	part = part_of(rest);
	if (part >= 0)
		return parts[part].page(r, &op, rest);
	if (strcmp(rest, "/access") == 0 && post && !op.as_reviewer) {
		rc = request_access(r, &t, &p, due);
		if (rc == CAREID_EUSED)
			return product_page(
			    r, 409, &p, &op,
			    "CIS2 Authentication has already been requested or added.");
		return rc ? rc
		          : http_redirect(r->res, 303,
		                          arena_printf(r->a, "/onboarding/products/%s", p.id));
	}
	if (*rest || post)
		return ob_error(r, 404, "not_found", "There is no such page.");
	return product_page(r, 200, &p, &op, NULL);
}

int products_api(struct ob_req *r)
{
	const char *m = r->req->method, *rest;
	struct ob_team t;
	struct product p;
	struct ob_product op;
	json_t *body, *errors = NULL, *items;
	char *id = NULL, due[11];
	int rc, part;

	if (strcmp(r->path, "/products") == 0) {
		rc = team_context(r, &t);
		if (rc)
			return rc > 0 ? 0 : rc;
		if (strcmp(m, "GET") != 0 && !ob_csrf_ok(r))
			return ob_error(r, 403, "csrf",
			                "Send the X-CSRF-Token header from /api/v1/me.");
		if (strcmp(m, "GET") == 0) {
			rc = list(r, &t, &items);
			return rc ? rc : ob_json(r, 200, items);
		}
		if (strcmp(m, "POST") != 0)
			return ob_error(r, 405, "method_not_allowed", "GET or POST /products.");
		body = ob_json_body(r, &rc);
		if (!body)
			return rc;
		rc = add(r, &t, json_string_value(json_object_get(body, "name")),
		         json_string_value(json_object_get(body, "description")), &errors, &id);
		json_decref(body);
		if (rc && rc != CAREID_EEXISTS) {
			json_decref(errors);
			return rc;
		}
		if (json_object_size(errors))
			return ob_json(
			    r, rc == CAREID_EEXISTS ? 409 : 400,
			    json_pack("{s:s, s:s, s:o}", "error",
			              rc == CAREID_EEXISTS ? "product_exists" : "invalid_product",
			              "message", "The product could not be registered.", "errors",
			              errors));
		json_decref(errors);
		rc = product_load(r, id, &t, &p);
		return rc ? rc : ob_json(r, 201, product_json(&p));
	}
	id = product_id_of(r, &rest);
	if (!id)
		return CAREID_ENOMEM;
	rc = product_context(r, id, &t, &p, &op);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(m, "GET") != 0 && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	part = part_of(rest);
	if (part >= 0)
		return parts[part].api(r, &op, rest);
	if (!*rest && strcmp(m, "GET") == 0)
		return ob_json(r, 200, product_json(&p));
	if (strcmp(rest, "/access") == 0 && strcmp(m, "POST") == 0 && !op.as_reviewer) {
		rc = request_access(r, &t, &p, due);
		if (rc == CAREID_EUSED)
			return ob_error(r, 409, "already_requested",
			                "CIS2 Authentication has already been requested or added.");
		if (rc)
			return rc;
		rc = product_load(r, p.id, &t, &p);
		return rc ? rc
		          : ob_json(r, 202,
		                    json_pack("{s:o, s:s}", "product", product_json(&p), "due_date",
		                              due));
	}
	return ob_error(r, 405, "method_not_allowed",
	                "GET /products/{id}, POST /products/{id}/access.");
}
