/* Environments (connection management): once CIS2 Authentication is added to
 * a product, its team registers the product's clients in int and dep itself,
 * and in live once technical conformance is achieved and the Connection
 * Agreement accepted (CIS2-PROFILE.md, "Design and build", "Go live"). The
 * clients belong to oidc/ (client_add, client_rotate_secret); this module
 * only remembers which product registered which client (ob_env_clients). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "http/fetch.h"
#include "onboarding/clientform.h"
#include "onboarding/onboarding_int.h"

#define ENV_MAX_CLIENTS 20
#define ENV_LIST_MAX    100 /* rows read back; above the cap only after a race */
#define CLIENT_ID_MAX   200
#define LIMIT_MESSAGE   "A product can have at most 20 clients in each environment."
#define NOT_GRANTED     "CIS2 Authentication must be added to this product first"
#define NO_SUCH_ENV                                                                                \
	"There is no such environment: a product's clients are registered in int, dep and live."
#define NOT_IN_TEAM "Only the product's team can register clients and generate secrets."

static const struct env_info {
	const char *name;
	const char *label;
	const char *about;
} envs[] = {
    {"int", "Integration (INT)",
     "Where you build and test your integration with test users, and show technical "
     "conformance."},
    {"dep", "Deployment (DEP)",
     "A path-to-live environment for testing how your product is deployed before it goes "
     "live."},
    {"live", "Live",
     "Production, with real users. Live clients can be registered once technical conformance "
     "is achieved and the Connection Agreement accepted."},
};
#define NENVS (sizeof(envs) / sizeof(envs[0]))

/* What a path under /products/{id} asks for. */
enum route_kind {
	ROUTE_NONE,    /* no such page */
	ROUTE_LIST,    /* /environments */
	ROUTE_ENV,     /* /environments/{env} */
	ROUTE_CLIENTS, /* /environments/{env}/clients */
	ROUTE_SECRET,  /* /environments/{env}/clients/{client_id}/secret */
};

struct route {
	enum route_kind kind;
	const struct env_info *env; /* NULL: unknown (or ROUTE_LIST) */
	const char *client_id;      /* ROUTE_SECRET */
};

static void decref(void *p)
{
	json_decref(p);
}

static const struct env_info *env_find(const char *name, size_t len)
{
	for (size_t i = 0; i < NENVS; i++)
		if (strlen(envs[i].name) == len && strncmp(name, envs[i].name, len) == 0)
			return &envs[i];
	return NULL;
}

/* `rest` is "/environments…" (products.c matched the prefix). */
static int route_parse(struct ob_req *r, const char *rest, struct route *out)
{
	const char *p = rest + strlen("/environments"), *id;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!*p) {
		out->kind = ROUTE_LIST;
		return 0;
	}
	if (*p++ != '/' || !(n = strcspn(p, "/")))
		return 0;
	out->env = env_find(p, n);
	p += n;
	if (!*p) {
		out->kind = ROUTE_ENV;
		return 0;
	}
	if (strcmp(p, "/clients") == 0) {
		out->kind = ROUTE_CLIENTS;
		return 0;
	}
	if (strncmp(p, "/clients/", 9) != 0)
		return 0;
	id = p + 9;
	n = strcspn(id, "/");
	if (n == 0 || n > CLIENT_ID_MAX || strcmp(id + n, "/secret") != 0)
		return 0;
	out->client_id = arena_strndup(r->a, id, n);
	if (!out->client_id)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	out->kind = ROUTE_SECRET;
	return 0;
}

static const char *issuer_of(struct ob_req *r, const struct env_info *e)
{
	return provider_issuer(r->o->p, env_index(e->name));
}

static char *discovery_of(struct ob_req *r, const struct env_info *e)
{
	return arena_printf(r->a, "%s/.well-known/openid-configuration", issuer_of(r, e));
}

static bool member(const struct ob_product *p)
{
	return !p->as_reviewer && p->t;
}

/* NULL when `e` takes the product's registrations now; else why not. Live
 * credentials exist only after conformance and the agreement. */
static const char *refusal(struct ob_req *r, const struct ob_product *p, const struct env_info *e)
{
	bool conformant, agreed;
	const char *missing;

	if (strcmp(e->name, "live") != 0)
		return NULL;
	conformant = conformance_achieved(r, p->id);
	agreed = agreement_accepted(r, p->id);
	if (conformant && agreed)
		return NULL;
	missing = !conformant && !agreed ? "technical conformance has not been achieved and the "
	                                   "Connection Agreement has not been accepted"
	          : !conformant          ? "technical conformance has not been achieved"
	                                 : "the Connection Agreement has not been accepted";
	return arena_printf(r->a,
	                    "You cannot register a Live client yet: %s. Live clients can be "
	                    "registered once technical conformance is achieved and the "
	                    "Connection Agreement accepted.",
	                    missing);
}

static int count_clients(struct ob_req *r, const char *product_id, const char *env, int64_t *out)
{
	static const char sql[] =
	    "SELECT COUNT(*) FROM ob_env_clients WHERE product_id = $1 AND env = $2";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, env);

	*out = 0;
	if (!rc && (rc = store_next(st)) == 1)
		*out = store_int(st, 0);
	store_done(st);
	return rc < 0 ? rc : 0;
}

static void iso8601(char out[21], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

static json_t *uri_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* One client as the list shows it (never a secret). */
static int client_json(struct ob_req *r, const char *env, const char *client_id, int64_t created,
                       int64_t rotated, bool rotated_set, json_t **out)
{
	struct client *c = NULL;
	json_t *logout = NULL, *j;
	char at[21], rot[21];
	int rc = client_get(&c, r->o->s, env, client_id);

	*out = NULL;
	if (rc)
		return rc;
	rc = client_post_logout_list(&logout, r->o->s, env, client_id);
	if (rc) {
		client_free(c);
		return rc;
	}
	iso8601(at, created);
	iso8601(rot, rotated);
	j = json_pack(
	    "{s:s, s:s, s:s, s:o, s:s*, s:s*, s:o, s:s, s:s*, s:b, s:s, s:s*}", "client_id",
	    c->client_id, "name", c->name, "auth_method", c->auth_method, "redirect_uris",
	    uri_array((const char *const *)c->redirect_uris, c->nredirect), "jwks_uri", c->jwks_uri,
	    "backchannel_logout_uri", c->backchannel_logout_uri, "post_logout_redirect_uris",
	    logout, "id_token_alg", c->id_token_alg, "default_acr", c->default_acr, "has_secret",
	    strcmp(c->auth_method, "private_key_jwt") != 0, "created_at", at, "secret_rotated_at",
	    rotated_set ? rot : NULL);
	client_free(c);
	if (!j)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	*out = j;
	return 0;
}

/* The product's clients in `env`, oldest first (a new array). */
static int list_clients(struct ob_req *r, const char *product_id, const char *env, json_t **out)
{
	static const char sql[] = "SELECT client_id, created_at, secret_rotated_at FROM "
	                          "ob_env_clients WHERE product_id = $1 AND env = $2 "
	                          "ORDER BY created_at, client_id";
	struct row {
		const char *id;
		int64_t created, rotated;
		bool rotated_set;
	} rows[ENV_LIST_MAX];
	size_t n = 0;
	store_stmt *st = NULL;
	json_t *list;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, env);

	*out = NULL;
	while (!rc && (rc = store_next(st)) == 1 && n < ENV_LIST_MAX) {
		rows[n] = (struct row){arena_strdup(r->a, store_text(st, 0)), store_int(st, 1),
		                       store_int(st, 2), !store_null(st, 2)};
		rc = rows[n++].id ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0)
		return rc;
	list = json_array();
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *c = NULL;

		rc = client_json(r, env, rows[i].id, rows[i].created, rows[i].rotated,
		                 rows[i].rotated_set, &c);
		if (rc == CAREID_ENOTFOUND) { /* removed from oidc/ since */
			rc = 0;
			continue;
		}
		if (rc || json_array_append_new(list, c)) {
			rc = rc ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
			break;
		}
	}
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

int envclients_list(struct ob_req *r, const char *product_id, const char *env, json_t **out)
{
	static const char sql[] = "SELECT client_id FROM ob_env_clients WHERE product_id = $1 "
	                          "AND env = $2 ORDER BY created_at, client_id";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(r->o->s, &st, sql, "tt", product_id, env);
	while (!rc && (rc = store_next(st)) == 1)
		rc = json_array_append_new(list, json_string(store_text(st, 0)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* One environment for the list page and the API: {env, label, about, issuer,
 * discovery, clients, can_register, at_limit, refusal?} (a new object). */
static int env_json(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                    json_t **out)
{
	const char *why = refusal(r, p, e);
	json_t *clients = NULL;
	bool at_limit;
	int rc = list_clients(r, p->id, e->name, &clients);

	*out = NULL;
	if (rc)
		return rc;
	at_limit = json_array_size(clients) >= ENV_MAX_CLIENTS;
	*out = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o, s:b, s:b, s:s?}", "env", e->name, "label",
	                 e->label, "about", e->about, "issuer", issuer_of(r, e), "discovery",
	                 discovery_of(r, e), "clients", clients, "can_register",
	                 member(p) && !why && !at_limit, "at_limit", at_limit, "refusal", why);
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/*
 * Registers the client: client_add() (its own transaction), then, in one
 * transaction, the product's row and the audit event. The limit is checked
 * again under the write lock so that racing requests cannot pass it; a client
 * refused there, or left behind by a failed insert, was never shown to anyone.
 * `*out` as client_add() gives it.
 */
static int create(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                  const struct clientform *in, json_t **out)
{
	static const char sql[] = "INSERT INTO ob_env_clients (env, client_id, product_id, "
	                          "created_by, created_at) VALUES ($1, $2, $3, $4, $5)";
	struct client_new cn;
	json_t *added = NULL, *detail = NULL;
	const char *client_id;
	int64_t n;
	int rc;

	*out = NULL;
	clientform_client_new(in, e->name, &cn);
	rc = client_add(&added, r->o->s, provider_secrets(r->o->p), &cn);
	if (rc)
		return rc;
	client_id = json_string_value(json_object_get(added, "client_id"));
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = count_clients(r, p->id, e->name, &n);
	if (!rc && n >= ENV_MAX_CLIENTS)
		rc = careid_error_set(CAREID_ETOOBIG, "at most %d clients per environment",
		                      ENV_MAX_CLIENTS);
	if (!rc)
		rc = store_exec(r->o->s, sql, "tttti", e->name, client_id, p->id, r->uid,
		                clock_now());
	detail = json_pack("{s:s, s:s, s:s, s:s}", "env", e->name, "product", p->id, "name",
	                   in->name, "auth_method", clientform_method(in));
	if (rc >= 0)
		rc = detail ? audit_record(r->o->s, r->uid, "env_client.registered",
		                           arena_printf(r->a, "client:%s", client_id), detail)
		            : CAREID_ENOMEM;
	if (rc < 0) {
		store_rollback(r->o->s);
		/* Not recorded as the product's: undo the registration, so no
		 * client is left that no team owns. */
		client_delete(r->o->s, e->name, client_id);
		goto out;
	}
	rc = store_commit(r->o->s);
	if (rc)
		client_delete(r->o->s, e->name, client_id);
out:
	json_decref(detail);
	if (rc)
		json_decref(added);
	else
		*out = added;
	return rc;
}

/* What the team sees once, right after registering (the API's 201 body too). */
static json_t *created_json(struct ob_req *r, const struct env_info *e, const struct clientform *in,
                            const json_t *added)
{
	const json_t *secret = json_object_get(added, "client_secret");
	const char *bc = in->backchannel_logout_uri;

	return json_pack(
	    "{s:O, s:O*, s:s, s:O, s:o, s:s*, s:s*, s:o, s:O, s:s*, s:s, s:s, s:s, "
	    "s:s}",
	    "client_id", json_object_get(added, "client_id"), "client_secret",
	    json_is_string(secret) ? secret : NULL, "name", in->name, "auth_method",
	    json_object_get(added, "token_endpoint_auth_method"), "redirect_uris",
	    uri_array(in->redirect.v, in->redirect.n), "jwks_uri",
	    strcmp(clientform_method(in), "private_key_jwt") == 0 ? in->jwks_uri : NULL,
	    "backchannel_logout_uri", bc && *bc ? bc : NULL, "post_logout_redirect_uris",
	    uri_array(in->post_logout.v, in->post_logout.n), "id_token_alg",
	    json_object_get(added, "id_token_signed_response_alg"), "default_acr",
	    in->default_acr && *in->default_acr ? in->default_acr : NULL, "env", e->name,
	    "env_label", e->label, "issuer", issuer_of(r, e), "discovery", discovery_of(r, e));
}

/* The client of the product in `env`: CAREID_ENOTFOUND when it is not one. */
static int owned(struct ob_req *r, const struct ob_product *p, const char *env,
                 const char *client_id)
{
	static const char sql[] = "SELECT 1 FROM ob_env_clients WHERE env = $1 AND client_id = $2 "
	                          "AND product_id = $3";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "ttt", env, client_id, p->id);

	if (!rc)
		rc = store_next(st);
	store_done(st);
	if (rc < 0)
		return rc;
	return rc ? 0 : careid_error_set(CAREID_ENOTFOUND, "not a client of this product");
}

/*
 * Replaces the client's secret: the new secret, the product's record of when
 * and the audit event in one transaction. `*out` is {client_id, client_secret,
 * env, issuer, secret_rotated_at}. CAREID_ENOTFOUND for a client that is not
 * the product's, CAREID_EINVALID for one without a secret.
 */
static int rotate(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                  const char *client_id, json_t **out)
{
	static const char sql[] = "UPDATE ob_env_clients SET secret_rotated_at = $1 WHERE env = "
	                          "$2 AND client_id = $3 AND product_id = $4";
	json_t *res = NULL, *detail = NULL;
	int64_t now = clock_now();
	char at[21];
	int rc;

	*out = NULL;
	rc = owned(r, p, e->name, client_id);
	if (rc)
		return rc;
	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = client_rotate_secret(&res, r->o->s, provider_secrets(r->o->p), e->name, client_id);
	if (!rc)
		rc = store_exec(r->o->s, sql, "ittt", now, e->name, client_id, p->id);
	if (rc == 0)
		rc = careid_error_set(CAREID_ENOTFOUND, "not a client of this product");
	detail = json_pack("{s:s, s:s}", "env", e->name, "product", p->id);
	if (rc >= 0)
		rc = detail ? audit_record(r->o->s, r->uid, "env_client.secret_rotated",
		                           arena_printf(r->a, "client:%s", client_id), detail)
		            : CAREID_ENOMEM;
	if (rc >= 0)
		rc = store_commit(r->o->s);
	else
		store_rollback(r->o->s);
	json_decref(detail);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	iso8601(at, now);
	json_object_set_new(res, "env", json_string(e->name));
	json_object_set_new(res, "issuer", json_string(issuer_of(r, e)));
	json_object_set_new(res, "secret_rotated_at", json_string(at));
	*out = res;
	return 0;
}

/* --- pages ------------------------------------------------------------- */

static json_t *product_json(const struct ob_product *p)
{
	return json_pack("{s:s, s:s}", "id", p->id, "name", p->name);
}

/* Adds what the list page needs to each client of `env` (form actions). */
static void page_clients(struct ob_req *r, const struct ob_product *p, json_t *env)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(env, "clients"), i, c)
	{
		const char *id = json_string_value(json_object_get(c, "client_id"));

		json_object_set_new(c, "has_post_logout",
		                    json_boolean(json_array_size(json_object_get(
		                                     c, "post_logout_redirect_uris")) > 0));
		json_object_set_new(
		    c, "can_rotate",
		    json_boolean(member(p) && json_is_true(json_object_get(c, "has_secret"))));
		json_object_set_new(
		    c, "rotate_action",
		    json_string(arena_printf(r->a,
		                             "/onboarding/products/%s/environments/%s/clients/%s/"
		                             "secret",
		                             p->id, json_string_value(json_object_get(env, "env")),
		                             id)));
	}
	json_object_set_new(
	    env, "register_href",
	    json_string(arena_printf(r->a, "/onboarding/products/%s/environments/%s", p->id,
	                             json_string_value(json_object_get(env, "env")))));
}

static int environments(struct ob_req *r, const struct ob_product *p, bool page, json_t **out)
{
	json_t *list = json_array(), *e = NULL;
	int rc = list ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");

	for (size_t i = 0; !rc && i < NENVS; i++) {
		rc = env_json(r, p, &envs[i], &e);
		if (!rc && page)
			page_clients(r, p, e);
		if (!rc && json_array_append_new(list, e))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

static int list_page(struct ob_req *r, const struct ob_product *p)
{
	json_t *list = NULL;
	int rc = environments(r, p, true, &list);

	if (rc)
		return rc;
	return ob_page(r, 200, "ob_environments",
	               json_pack("{s:s, s:o, s:o, s:b, s:b}", "title", "Environments", "product",
	                         product_json(p), "environments", list, "as_reviewer",
	                         p->as_reviewer, "member", member(p)));
}

/* The registration form; `values` (as typed) and `errors` are taken over
 * (either may be NULL). */
static int form_page(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                     int status, json_t *values, json_t *errors)
{
	bool has_errors = errors && json_object_size(errors) > 0;
	const json_t *v = values;
	json_t *ctx;

	if (!values)
		values = json_object();
	if (!errors)
		errors = json_object();
	ctx = json_pack(
	    "{s:s, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}, s:b}",
	    "title", arena_printf(r->a, "Register a client in %s", e->label), "product",
	    product_json(p), "form", "env", e->name, "env_label", e->label, "issuer",
	    issuer_of(r, e), "discovery", discovery_of(r, e), "action",
	    arena_printf(r->a, "/onboarding/products/%s/environments/%s", p->id, e->name),
	    "methods",
	    clientform_method_radios(json_string_value(json_object_get(v, "auth_method"))), "algs",
	    clientform_alg_radios(json_string_value(json_object_get(v, "id_token_alg"))), "acrs",
	    clientform_acr_options(json_string_value(json_object_get(v, "default_acr"))), "values",
	    values, "errors", errors, "error_list", clientform_error_list(r->a, errors),
	    "has_errors", json_boolean(has_errors), "error", has_errors);
	return ob_page(r, status, "ob_env_client", ctx);
}

static int page_register(struct ob_req *r, const struct ob_product *p, const struct env_info *e)
{
	struct clientform in;
	json_t *errors, *added = NULL, *created;
	int64_t n;
	int rc = count_clients(r, p->id, e->name, &n);

	if (rc)
		return rc;
	if (n >= ENV_MAX_CLIENTS)
		return ob_message(r, 409, "You have reached the limit", LIMIT_MESSAGE);
	if (strcmp(r->req->method, "POST") != 0)
		return form_page(r, p, e, 200, NULL, NULL);
	rc = clientform_from_form(&in, CLIENTFORM_ENV, r->a, &r->req->form);
	if (rc)
		return rc;
	in.public_only = fetch_public_only(r->o->public_url);
	errors = clientform_check(&in, r->a);
	if (!errors)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (json_object_size(errors))
		return form_page(r, p, e, 400, clientform_values(&r->req->form, CLIENTFORM_ENV),
		                 errors);
	json_decref(errors);
	rc = create(r, p, e, &in, &added);
	if (rc == CAREID_ETOOBIG)
		return ob_message(r, 409, "You have reached the limit", LIMIT_MESSAGE);
	if (rc)
		return rc;
	created = created_json(r, e, &in, added);
	json_decref(added);
	return ob_page(r, 200, "ob_env_client",
	               json_pack("{s:s, s:o, s:o}", "title",
	                         arena_printf(r->a, "Client registered in %s", e->label), "product",
	                         product_json(p), "created", created));
}

static int page_rotate(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                       const char *client_id)
{
	json_t *res = NULL;
	int rc = rotate(r, p, e, client_id, &res);

	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such client of this product.");
	if (rc == CAREID_EINVALID)
		return ob_message(r, 409, "This client has no secret",
		                  "It authenticates with private_key_jwt: careid reads its public "
		                  "keys from its JWKS URI.");
	if (rc)
		return rc;
	json_object_set_new(res, "env_label", json_string(e->label));
	json_object_set_new(
	    res, "back",
	    json_string(arena_printf(r->a, "/onboarding/products/%s/environments", p->id)));
	return ob_page(r, 200, "ob_env_client",
	               json_pack("{s:s, s:o, s:o}", "title", "New client secret", "product",
	                         product_json(p), "rotated", res));
}

static bool granted(const struct ob_product *p)
{
	return p->cis2_access && strcmp(p->cis2_access, "granted") == 0;
}

int envclients_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method, *why;
	bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	struct route rt;
	int rc = route_parse(r, rest, &rt);

	if (rc)
		return rc;
	if (rt.kind == ROUTE_NONE || rt.kind == ROUTE_CLIENTS)
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (rt.kind != ROUTE_LIST && !rt.env)
		return ob_error(r, 404, "not_found", NO_SUCH_ENV);
	if (!granted(p))
		return ob_error(r, 403, "cis2_not_granted", NOT_GRANTED);
	if (rt.kind == ROUTE_LIST)
		return get ? list_page(r, p)
		           : ob_error(r, 405, "method_not_allowed", "Use the forms on the page.");
	if (!member(p))
		return ob_error(r, 403, "not_in_team", NOT_IN_TEAM);
	if (rt.kind == ROUTE_SECRET)
		return strcmp(m, "POST") == 0
		           ? page_rotate(r, p, rt.env, rt.client_id)
		           : ob_error(r, 405, "method_not_allowed", "Use the button on the page.");
	if (!get && strcmp(m, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "Use the form on the page.");
	why = refusal(r, p, rt.env);
	if (why)
		return ob_message(r, 403, "You cannot register a Live client yet", why);
	return page_register(r, p, rt.env);
}

/* --- API --------------------------------------------------------------- */

static int api_register(struct ob_req *r, const struct ob_product *p, const struct env_info *e)
{
	struct clientform in;
	json_t *body, *errors, *added = NULL, *res;
	int64_t n;
	int rc = count_clients(r, p->id, e->name, &n);

	if (rc)
		return rc;
	if (n >= ENV_MAX_CLIENTS)
		return ob_error(r, 409, "limit_reached", LIMIT_MESSAGE);
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if (arena_defer(r->a, decref, body))
		return CAREID_ENOMEM;
	clientform_from_json(&in, CLIENTFORM_ENV, body);
	in.public_only = fetch_public_only(r->o->public_url);
	errors = clientform_check(&in, r->a);
	if (!errors)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (json_object_size(errors))
		return ob_json(r, 400,
		               json_pack("{s:s, s:s, s:o}", "error", "invalid_request", "message",
		                         "The client could not be registered.", "errors", errors));
	json_decref(errors);
	rc = create(r, p, e, &in, &added);
	if (rc == CAREID_ETOOBIG)
		return ob_error(r, 409, "limit_reached", LIMIT_MESSAGE);
	if (rc)
		return rc;
	res = created_json(r, e, &in, added);
	json_decref(added);
	if (res)
		json_object_del(res, "env_label");
	return ob_json(r, 201, res);
}

static int api_rotate(struct ob_req *r, const struct ob_product *p, const struct env_info *e,
                      const char *client_id)
{
	json_t *res = NULL;
	int rc = rotate(r, p, e, client_id, &res);

	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such client of this product.");
	if (rc == CAREID_EINVALID)
		return ob_error(
		    r, 409, "no_secret",
		    "This client authenticates with private_key_jwt: it has no secret.");
	return rc ? rc : ob_json(r, 200, res);
}

int envclients_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method, *why;
	bool get = strcmp(m, "GET") == 0;
	json_t *out = NULL;
	struct route rt;
	int rc = route_parse(r, rest, &rt);

	if (rc)
		return rc;
	if (rt.kind == ROUTE_NONE)
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (rt.kind != ROUTE_LIST && !rt.env)
		return ob_error(r, 404, "not_found", NO_SUCH_ENV);
	if (!granted(p))
		return ob_error(r, 403, "cis2_not_granted", NOT_GRANTED);
	if (get && rt.kind == ROUTE_LIST)
		rc = environments(r, p, false, &out);
	else if (get && rt.kind == ROUTE_ENV)
		rc = env_json(r, p, rt.env, &out);
	else if (get && rt.kind == ROUTE_CLIENTS)
		rc = list_clients(r, p->id, rt.env->name, &out);
	else if (strcmp(m, "POST") != 0 || (rt.kind != ROUTE_CLIENTS && rt.kind != ROUTE_SECRET))
		return ob_error(r, 405, "method_not_allowed",
		                "GET /environments, GET or POST /environments/{env}/clients, POST "
		                "/environments/{env}/clients/{client_id}/secret.");
	else if (!member(p))
		return ob_error(r, 403, "not_in_team", NOT_IN_TEAM);
	else if (rt.kind == ROUTE_SECRET)
		return api_rotate(r, p, rt.env, rt.client_id);
	else if ((why = refusal(r, p, rt.env)))
		return ob_error(r, 403, "live_not_allowed", why);
	else
		return api_register(r, p, rt.env);
	return rc ? rc : ob_json(r, 200, out);
}
