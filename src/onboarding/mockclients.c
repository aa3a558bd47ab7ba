/* Build while you wait: any verified developer account registers clients in
 * the mock environment itself, with no review, and gets a sign-in working
 * while its SAQ is reviewed (CIS2-PROFILE.md, "Engage with us"). The clients
 * belong to oidc/ (client_add, client_get); this module only remembers which
 * account registered which client (ob_mock_clients). */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "onboarding/clientform.h"
#include "onboarding/onboarding_int.h"

#define MOCK_ENV         "mock"
#define MOCK_MAX_CLIENTS 20
#define MOCK_LIST_MAX    100 /* rows read back; above the cap only after a race */
#define LIMIT_MESSAGE    "An account can register at most 20 mock clients."

static void decref(void *p)
{
	json_decref(p);
}

static const char *mock_issuer(struct ob_req *r)
{
	return provider_issuer(r->o->p, env_index(MOCK_ENV));
}

static char *mock_discovery(struct ob_req *r)
{
	return arena_printf(r->a, "%s/.well-known/openid-configuration", mock_issuer(r));
}

static int count_clients(struct ob_req *r, int64_t *out)
{
	static const char sql[] = "SELECT COUNT(*) FROM ob_mock_clients WHERE uid = $1";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "t", r->uid);

	*out = 0;
	if (!rc && (rc = store_next(st)) == 1)
		*out = store_int(st, 0);
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The account's clients, oldest first: [{client_id, name, auth_method,
 * redirect_uris, jwks_uri?}] (a new array). */
static int list_clients(struct ob_req *r, json_t **out)
{
	static const char sql[] = "SELECT client_id FROM ob_mock_clients WHERE uid = $1 "
	                          "ORDER BY created_at, client_id";
	const char *ids[MOCK_LIST_MAX];
	size_t n = 0;
	store_stmt *st = NULL;
	json_t *list = NULL;
	int rc = store_query(r->o->s, &st, sql, "t", r->uid);

	*out = NULL;
	while (!rc && (rc = store_next(st)) == 1 && n < MOCK_LIST_MAX) {
		ids[n] = arena_strdup(r->a, store_text(st, 0));
		rc = ids[n++] ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0)
		return rc;
	list = json_array();
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct client *c = NULL;
		json_t *uris = json_array();

		rc = client_get(&c, r->o->s, MOCK_ENV, ids[i]);
		if (rc == CAREID_ENOTFOUND) { /* removed from oidc/ since */
			json_decref(uris);
			continue;
		}
		for (size_t k = 0; !rc && k < c->nredirect; k++)
			json_array_append_new(uris, json_string(c->redirect_uris[k]));
		if (!rc &&
		    json_array_append_new(
		        list, json_pack("{s:s, s:s, s:s, s:o, s:s*}", "client_id", c->client_id,
		                        "name", c->name, "auth_method", c->auth_method,
		                        "redirect_uris", uris, "jwks_uri", c->jwks_uri)))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		else if (rc)
			json_decref(uris);
		client_free(c);
		if (rc)
			break;
	}
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/*
 * Registers the client: client_add() (its own transaction), then, in one
 * transaction, the account's row and the audit event. The limit is checked
 * again under the write lock so that racing requests cannot pass it; a client
 * refused there, or left behind by a failed insert, was never shown to anyone.
 * `*out` as client_add() gives it.
 */
static int create(struct ob_req *r, const struct clientform *in, json_t **out)
{
	static const char sql[] = "INSERT INTO ob_mock_clients (client_id, uid, created_at) "
	                          "VALUES ($1, $2, $3)";
	const char *method = clientform_method(in);
	struct client_new cn;
	json_t *added = NULL, *detail = NULL;
	const char *client_id;
	int64_t n;
	int rc;

	*out = NULL;
	clientform_client_new(in, MOCK_ENV, &cn);
	rc = client_add(&added, r->o->s, provider_secrets(r->o->p), &cn);
	if (rc)
		return rc;
	client_id = json_string_value(json_object_get(added, "client_id"));
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = count_clients(r, &n);
	if (!rc && n >= MOCK_MAX_CLIENTS)
		rc = careid_error_set(CAREID_ETOOBIG, "at most %d mock clients per account",
		                      MOCK_MAX_CLIENTS);
	if (!rc)
		rc = store_exec(r->o->s, sql, "tti", client_id, r->uid, clock_now());
	detail =
	    json_pack("{s:s, s:s, s:s}", "env", MOCK_ENV, "name", in->name, "auth_method", method);
	if (rc >= 0)
		rc = detail ? audit_record(r->o->s, r->uid, "mock_client.created",
		                           arena_printf(r->a, "client:%s", client_id), detail)
		            : CAREID_ENOMEM;
	if (rc < 0) {
		store_rollback(r->o->s);
		/* Not recorded as this account's: undo the registration, so no
		 * client is left that nobody owns. */
		client_delete(r->o->s, MOCK_ENV, client_id);
		goto out;
	}
	rc = store_commit(r->o->s);
out:
	json_decref(detail);
	if (rc)
		json_decref(added);
	else
		*out = added;
	return rc;
}

/* The list and the form; `values` (form fields as typed) and `errors` are
 * taken over (either may be NULL). */
static int list_page(struct ob_req *r, int status, json_t *values, json_t *errors)
{
	bool has_errors = errors && json_object_size(errors) > 0;
	json_t *clients = NULL, *ctx;
	int rc = list_clients(r, &clients);

	if (rc) {
		json_decref(values);
		json_decref(errors);
		return rc;
	}
	ctx = json_pack(
	    "{s:s, s:s, s:s?, s:o, s:b, s:i, s:o, s:o, s:o, s:b, s:b, s:o}", "title",
	    "Your mock clients", "issuer", mock_issuer(r), "discovery", mock_discovery(r),
	    "clients", clients, "at_limit", json_array_size(clients) >= MOCK_MAX_CLIENTS,
	    "max_clients", MOCK_MAX_CLIENTS, "methods",
	    clientform_method_radios(json_string_value(json_object_get(values, "auth_method"))),
	    "values", values ? values : json_object(), "errors", errors ? errors : json_object(),
	    "has_errors", has_errors, "error", has_errors, "error_list",
	    clientform_error_list(r->a, errors));
	return ob_page(r, status, "ob_mock_clients", ctx);
}

static json_t *created_json(struct ob_req *r, const struct clientform *in, json_t *added)
{
	const json_t *secret = json_object_get(added, "client_secret");
	json_t *uris = json_array();

	for (size_t i = 0; uris && i < in->redirect.n; i++)
		json_array_append_new(uris, json_string(in->redirect.v[i]));
	return json_pack("{s:O, s:O*, s:s, s:O, s:o, s:s, s:s?}", "client_id",
	                 json_object_get(added, "client_id"), "client_secret",
	                 json_is_string(secret) ? secret : NULL, "name", in->name, "auth_method",
	                 json_object_get(added, "token_endpoint_auth_method"), "redirect_uris",
	                 uris, "issuer", mock_issuer(r), "discovery", mock_discovery(r));
}

static int page_post(struct ob_req *r)
{
	struct clientform in;
	json_t *errors = NULL, *added = NULL;
	int64_t n;
	int rc;

	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	rc = count_clients(r, &n);
	if (rc)
		return rc;
	if (n >= MOCK_MAX_CLIENTS)
		return ob_message(r, 409, "You have reached the limit", LIMIT_MESSAGE);
	rc = clientform_from_form(&in, CLIENTFORM_MOCK, r->a, &r->req->form);
	if (rc)
		return rc;
	errors = clientform_check(&in, r->a);
	if (!errors)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (json_object_size(errors))
		return list_page(r, 400, clientform_values(&r->req->form, CLIENTFORM_MOCK), errors);
	json_decref(errors);
	rc = create(r, &in, &added);
	if (rc == CAREID_ETOOBIG)
		return ob_message(r, 409, "You have reached the limit", LIMIT_MESSAGE);
	if (rc)
		return rc;
	rc = ob_page(r, 200, "ob_mock_clients",
	             json_pack("{s:s, s:s, s:o}", "title", "Mock client registered", "issuer",
	                       mock_issuer(r), "created", created_json(r, &in, added)));
	json_decref(added);
	return rc;
}

int mockclients_handle(struct ob_req *r)
{
	int rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->req->method, "POST") == 0)
		return page_post(r);
	if (strcmp(r->req->method, "GET") != 0 && strcmp(r->req->method, "HEAD") != 0)
		return ob_error(r, 405, "method_not_allowed", "Use the form on the page.");
	return list_page(r, 200, NULL, NULL);
}

static int api_post(struct ob_req *r)
{
	struct clientform in;
	json_t *body, *errors, *added = NULL, *res;
	int64_t n;
	int rc;

	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	rc = count_clients(r, &n);
	if (rc)
		return rc;
	if (n >= MOCK_MAX_CLIENTS)
		return ob_error(r, 409, "limit_reached", LIMIT_MESSAGE);
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if (arena_defer(r->a, decref, body)) /* which released it */
		return CAREID_ENOMEM;
	clientform_from_json(&in, CLIENTFORM_MOCK, body);
	errors = clientform_check(&in, r->a);
	if (!errors || json_object_size(errors))
		return errors ? ob_json(r, 400,
		                        json_pack("{s:s, s:s, s:o}", "error", "invalid_request",
		                                  "message", "The client could not be registered.",
		                                  "errors", errors))
		              : CAREID_ENOMEM;
	json_decref(errors);
	rc = create(r, &in, &added);
	if (rc == CAREID_ETOOBIG)
		return ob_error(r, 409, "limit_reached", LIMIT_MESSAGE);
	if (rc)
		return rc;
	res = created_json(r, &in, added);
	json_decref(added);
	return ob_json(r, 201, res);
}

int mockclients_api(struct ob_req *r)
{
	json_t *list = NULL;
	int rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->req->method, "POST") == 0)
		return api_post(r);
	if (strcmp(r->req->method, "GET") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET or POST /mock-clients.");
	rc = list_clients(r, &list);
	return rc ? rc : ob_json(r, 200, list);
}
