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
#include "onboarding/onboarding_int.h"

#define MOCK_ENV         "mock"
#define MOCK_MAX_CLIENTS 20
#define MOCK_MAX_URIS    10
#define MOCK_NAME_CHARS  100
#define MOCK_NAME_BYTES  200 /* what client_add() takes */
#define MOCK_LIST_MAX    100 /* rows read back; above the cap only after a race */
#define LIMIT_MESSAGE    "An account can register at most 20 mock clients."

static const struct {
	const char *value;
	const char *hint;
} methods[] = {
    {"client_secret_basic", "A client secret sent in the Authorization header (the default)"},
    {"client_secret_post", "A client secret sent in the body of the token request"},
    {"private_key_jwt", "A JWT signed with your private key; careid reads your public keys "
                        "from your JWKS URI"},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* The fields in the order the page shows them (and its error summary lists). */
static const char *const fields[] = {"name", "redirect_uris", "auth_method", "jwks_uri"};

/* A registration as sent by the page or the API. */
struct mock_input {
	const char *name;
	const char *uris[MOCK_MAX_URIS];
	size_t nuris;
	bool too_many;
	bool uris_invalid;       /* API: not an array of strings */
	const char *auth_method; /* NULL: client_secret_basic */
	const char *jwks_uri;    /* only with private_key_jwt */
};

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

static bool method_known(const char *m)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (strcmp(m, methods[i].value) == 0)
			return true;
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool blank(const char *s)
{
	return !s || s[strspn(s, " \t\r\n")] == '\0';
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* The textarea: one URI a line, surrounding blanks and empty lines ignored. */
static int parse_uri_lines(struct ob_req *r, const char *text, struct mock_input *in)
{
	const char *p = text ? text : "";

	while (*p) {
		size_t len = strcspn(p, "\n"), start = 0, end = len;

		while (start < end && strchr(" \t\r", p[start]))
			start++;
		while (end > start && strchr(" \t\r", p[end - 1]))
			end--;
		if (end > start) {
			if (in->nuris == MOCK_MAX_URIS) {
				in->too_many = true;
				break;
			}
			in->uris[in->nuris] = arena_strndup(r->a, p + start, end - start);
			if (!in->uris[in->nuris++])
				return careid_error_set(CAREID_ENOMEM, "out of memory");
		}
		p += len + (p[len] == '\n');
	}
	return 0;
}

static void set_error(json_t *errors, const char *field, const char *message)
{
	if (!json_object_get(errors, field))
		json_object_set_new(errors, field, json_string(message));
}

/* Every problem with a registration, by field; an empty object when none. */
static json_t *check(struct ob_req *r, const struct mock_input *in)
{
	json_t *e = json_object();
	const char *m = in->auth_method ? in->auth_method : "client_secret_basic";

	if (!e)
		return NULL;
	if (blank(in->name))
		set_error(e, "name", "Enter a name for your client");
	else if (utf8_chars(in->name) > MOCK_NAME_CHARS || strlen(in->name) > MOCK_NAME_BYTES)
		set_error(e, "name", "Enter a name of up to 100 characters");
	else if (has_control(in->name))
		set_error(e, "name", "Enter the name on one line, without control characters");
	if (in->uris_invalid)
		set_error(e, "redirect_uris", "Give redirect_uris as an array of 1 to 10 strings");
	else if (in->too_many)
		set_error(e, "redirect_uris", "Enter at most 10 redirect URIs");
	else if (in->nuris == 0)
		set_error(e, "redirect_uris", "Enter at least one redirect URI");
	for (size_t i = 0; !json_object_get(e, "redirect_uris") && i < in->nuris; i++) {
		char *msg;

		if (client_check_redirect_uri(in->uris[i]) == 0)
			continue;
		/* "redirect URI X must be https (…)": names the URI and the rule */
		msg = arena_strdup(r->a, careid_error_last()->message);
		if (msg && msg[0] >= 'a' && msg[0] <= 'z')
			msg[0] = (char)(msg[0] - 'a' + 'A');
		set_error(e, "redirect_uris", msg ? msg : "A redirect URI is not valid");
	}
	if (!method_known(m)) {
		set_error(e, "auth_method",
		          "Choose how your client authenticates: client_secret_basic, "
		          "client_secret_post or private_key_jwt");
	} else if (strcmp(m, "private_key_jwt") == 0) {
		if (blank(in->jwks_uri))
			set_error(e, "jwks_uri",
			          "Enter the JWKS URI where careid can fetch your public keys");
		else if (client_check_redirect_uri(in->jwks_uri))
			set_error(
			    e, "jwks_uri",
			    "Enter a JWKS URI that starts with https:// (plain http only on a "
			    "loopback address such as http://127.0.0.1:3000/jwks.json)");
	}
	return e;
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
static int create(struct ob_req *r, const struct mock_input *in, json_t **out)
{
	static const char sql[] = "INSERT INTO ob_mock_clients (client_id, uid, created_at) "
	                          "VALUES ($1, $2, $3)";
	const char *method = in->auth_method ? in->auth_method : "client_secret_basic";
	bool pkjwt = strcmp(method, "private_key_jwt") == 0;
	struct client_new cn = {.env = MOCK_ENV,
	                        .name = in->name,
	                        .auth_method = method,
	                        .redirect_uris = in->uris,
	                        .nredirect = in->nuris,
	                        .jwks_uri = pkjwt ? in->jwks_uri : NULL};
	json_t *added = NULL, *detail = NULL;
	const char *client_id;
	int64_t n;
	int rc;

	*out = NULL;
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

static json_t *error_list(struct ob_req *r, const json_t *errors)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < sizeof(fields) / sizeof(fields[0]); i++) {
		json_t *msg = json_object_get(errors, fields[i]);

		if (msg)
			json_array_append_new(list, json_pack("{s:s, s:O}", "href",
			                                      arena_printf(r->a, "#%s", fields[i]),
			                                      "text", msg));
	}
	return list;
}

static json_t *method_radios(const char *chosen)
{
	json_t *list = json_array();

	if (!chosen || !method_known(chosen))
		chosen = "client_secret_basic";
	for (size_t i = 0; list && i < NMETHODS; i++)
		json_array_append_new(list,
		                      json_pack("{s:s, s:s, s:s, s:b}", "id",
		                                i == 0 ? "auth_method" : methods[i].value, "value",
		                                methods[i].value, "hint", methods[i].hint,
		                                "checked", strcmp(chosen, methods[i].value) == 0));
	return list;
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
	    method_radios(json_string_value(json_object_get(values, "auth_method"))), "values",
	    values ? values : json_object(), "errors", errors ? errors : json_object(),
	    "has_errors", has_errors, "error", has_errors, "error_list", error_list(r, errors));
	return ob_page(r, status, "ob_mock_clients", ctx);
}

static json_t *created_json(struct ob_req *r, const struct mock_input *in, json_t *added)
{
	const json_t *secret = json_object_get(added, "client_secret");
	json_t *uris = json_array();

	for (size_t i = 0; uris && i < in->nuris; i++)
		json_array_append_new(uris, json_string(in->uris[i]));
	return json_pack("{s:O, s:O*, s:s, s:O, s:o, s:s, s:s?}", "client_id",
	                 json_object_get(added, "client_id"), "client_secret",
	                 json_is_string(secret) ? secret : NULL, "name", in->name, "auth_method",
	                 json_object_get(added, "token_endpoint_auth_method"), "redirect_uris",
	                 uris, "issuer", mock_issuer(r), "discovery", mock_discovery(r));
}

static int page_post(struct ob_req *r)
{
	const struct form *f = &r->req->form;
	const char *uris = form_get(f, "redirect_uris");
	struct mock_input in = {.name = form_get(f, "name"),
	                        .auth_method = form_get(f, "auth_method"),
	                        .jwks_uri = form_get(f, "jwks_uri")};
	json_t *values = NULL, *errors = NULL, *added = NULL;
	int64_t n;
	int rc;

	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	if (in.auth_method && !*in.auth_method)
		in.auth_method = NULL;
	rc = count_clients(r, &n);
	if (rc)
		return rc;
	if (n >= MOCK_MAX_CLIENTS)
		return ob_message(r, 409, "You have reached the limit", LIMIT_MESSAGE);
	rc = parse_uri_lines(r, uris, &in);
	if (rc)
		return rc;
	errors = check(r, &in);
	if (!errors)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (json_object_size(errors)) {
		values = json_pack("{s:s?, s:s?, s:s?, s:s?}", "name", in.name, "redirect_uris",
		                   uris, "auth_method", in.auth_method, "jwks_uri", in.jwks_uri);
		return list_page(r, 400, values, errors);
	}
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

/* The API body into `in`; strings stay owned by `body`. */
static void input_from_json(const json_t *body, struct mock_input *in, bool *jwks_misplaced)
{
	const json_t *uris = json_object_get(body, "redirect_uris"), *v;
	const json_t *m = json_object_get(body, "auth_method");
	size_t i;

	in->name = json_string_value(json_object_get(body, "name"));
	in->jwks_uri = json_string_value(json_object_get(body, "jwks_uri"));
	in->auth_method = json_is_null(m) || !m ? NULL
	                  : json_is_string(m)   ? json_string_value(m)
	                                        : "";
	in->uris_invalid = uris && !json_is_array(uris);
	json_array_foreach(uris, i, v)
	{
		if (!json_is_string(v)) {
			in->uris_invalid = true;
		} else if (in->nuris == MOCK_MAX_URIS) {
			in->too_many = true;
		} else {
			in->uris[in->nuris++] = json_string_value(v);
		}
	}
	*jwks_misplaced = json_object_get(body, "jwks_uri") &&
	                  !json_is_null(json_object_get(body, "jwks_uri")) &&
	                  (!in->auth_method || strcmp(in->auth_method, "private_key_jwt") != 0);
}

static int api_post(struct ob_req *r)
{
	struct mock_input in = {0};
	json_t *body, *errors, *added = NULL, *res;
	bool misplaced;
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
	if (arena_defer(r->a, decref, body)) {
		json_decref(body);
		return CAREID_ENOMEM;
	}
	input_from_json(body, &in, &misplaced);
	errors = check(r, &in);
	if (errors && misplaced)
		set_error(errors, "jwks_uri", "A JWKS URI is only for private_key_jwt");
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
