/* The sign-in and role-selection pages, and the transactions behind them. */
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

#define CSRF_COOKIE  "careid_csrf"
#define USERNAME_MAX 254

int tx_create(char **id_out, struct oidc_req *r, json_t *params, const struct session *s)
{
	static const char sql[] =
	    "INSERT INTO auth_requests (id_hash, env, client_id, params, uid, session_hash, "
	    "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	char id[64], hash[CRYPTO_HASH_HEX];
	char *text;
	int64_t now = clock_now();
	int rc;

	*id_out = NULL;
	rc = crypto_random_token(id, sizeof(id), 24);
	if (rc)
		return rc;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, id);
	text = json_dumps(params, JSON_COMPACT);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_exec(r->p->store, sql, "ttttttii", hash, r->env->name,
	                json_string_value(json_object_get(params, "client_id")), text,
	                s ? s->uid : NULL, s ? s->id_hash : NULL, now, now + TX_TTL);
	free(text);
	if (rc < 0)
		return rc;
	*id_out = arena_strdup(r->a, id);
	return *id_out ? 0 : CAREID_ENOMEM;
}

static void decref(void *p)
{
	json_decref(p);
}

int tx_load(struct tx *out, struct oidc_req *r, const char *id)
{
	static const char sql[] = "SELECT params, uid, session_hash FROM auth_requests WHERE "
	                          "id_hash = $1 AND env = $2 AND expires_at > $3";
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id || !*id || strlen(id) > 64)
		return careid_error_set(CAREID_ENOTFOUND, "no sign-in in progress");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, id);
	rc = store_query(r->p->store, &st, sql, "tti", hash, r->env->name, clock_now());
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc : careid_error_set(CAREID_ENOTFOUND, "no sign-in in progress");
		goto out;
	}
	out->id = arena_strdup(r->a, id);
	out->params = json_loads(store_text(st, 0), 0, NULL);
	out->uid = arena_strdup(r->a, store_text(st, 1));
	out->session_hash = arena_strdup(r->a, store_text(st, 2));
	if (!out->params || !out->id)
		rc = careid_error_set(CAREID_ESTORE, "transaction unreadable");
	else
		rc = arena_defer(r->a, decref, out->params);
out:
	store_done(st);
	return rc;
}

int tx_bind(struct oidc_req *r, const char *id, const struct session *s)
{
	static const char sql[] =
	    "UPDATE auth_requests SET uid = $1, session_hash = $2 WHERE id_hash = $3";
	char hash[CRYPTO_HASH_HEX];
	int rc;

	crypto_keyed_hash(hash, r->p->secrets.hash_key, id);
	rc = store_exec(r->p->store, sql, "ttt", s->uid, s->id_hash, hash);
	return rc < 0 ? rc : 0;
}

int tx_delete(struct oidc_req *r, const char *id)
{
	static const char sql[] = "DELETE FROM auth_requests WHERE id_hash = $1 OR expires_at < $2";
	char hash[CRYPTO_HASH_HEX];
	int rc;

	crypto_keyed_hash(hash, r->p->secrets.hash_key, id);
	rc = store_exec(r->p->store, sql, "ti", hash, clock_now());
	return rc < 0 ? rc : 0;
}

/* The browser's CSRF cookie, set now when it has none. */
static const char *csrf_cookie(struct oidc_req *r)
{
	const char *c = http_cookie(r->req, CSRF_COOKIE);
	struct cookie_attrs attrs = {.path = "/", .secure = r->p->secure, .same_site = "Lax"};
	char fresh[64];

	if (c && strlen(c) >= 32 && strlen(c) <= 64)
		return c;
	if (crypto_random_token(fresh, sizeof(fresh), 32) ||
	    http_set_cookie(r->res, CSRF_COOKIE, fresh, &attrs))
		return NULL;
	return arena_strdup(r->a, fresh);
}

static const char *csrf_for(struct oidc_req *r, const char *cookie, const char *tx)
{
	char hash[CRYPTO_HASH_HEX];
	char *input = arena_printf(r->a, "%s|%s|%s", r->env->name, cookie, tx);

	if (!input)
		return NULL;
	crypto_keyed_hash(hash, r->p->secrets.csrf_key, input);
	return arena_strdup(r->a, hash);
}

const char *csrf_token(struct oidc_req *r, const char *tx)
{
	const char *cookie = csrf_cookie(r);

	return cookie ? csrf_for(r, cookie, tx) : NULL;
}

bool csrf_ok(struct oidc_req *r, const char *tx, const char *given)
{
	const char *cookie = http_cookie(r->req, CSRF_COOKIE);
	const char *want;

	if (!cookie || !given || strlen(cookie) > 64)
		return false;
	want = csrf_for(r, cookie, tx);
	return want && crypto_streq(want, given);
}

static const char *pget(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

static int expired_page(struct oidc_req *r)
{
	return oidc_error_page(r, 400, "This sign-in has expired",
	                       "Go back to the service you were using and sign in again.");
}

static int render_signin(struct oidc_req *r, int status, const struct tx *t, const char *username,
                         const char *error)
{
	const char *csrf = csrf_token(r, t->id);
	struct client *c = NULL;
	json_t *ctx;

	if (!csrf)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	client_get(&c, r->p->store, r->env->name, pget(t->params, "client_id"));
	ctx =
	    json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s}", "title", "Sign in", "action",
	              arena_printf(r->a, "%s/login", r->env->issuer_path), "tx", t->id, "csrf",
	              csrf, "username", username, "error", error, "client_name", c ? c->name : "");
	client_free(c);
	return oidc_render(r, status, "signin", ctx);
}

static int signin_post(struct oidc_req *r)
{
	const struct form *f = &r->req->form;
	const char *txid = form_get(f, "tx"), *username = form_get(f, "username");
	const char *password = form_get(f, "password");
	struct dir_user *u = NULL;
	struct session s;
	struct tx t;
	char acr[ACR_MAX];
	int rc;

	if (!r->req->has_form || r->req->form_error || form_first_duplicate(f))
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The sign-in form could not be read.");
	rc = tx_load(&t, r, txid);
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		return rc;
	if (!csrf_ok(r, t.id, form_get(f, "csrf")))
		return oidc_error_page(r, 403, "The request is not valid",
		                       "The sign-in form was not sent from this browser's page. "
		                       "Go back to the service and sign in again.");
	if (!username || !*username || !password || !*password)
		return render_signin(r, 200, &t, username, "Enter your username and password.");
	if (strlen(username) > USERNAME_MAX || strlen(password) > PASSWORD_MAX_LEN)
		return render_signin(r, 200, &t, NULL, "The username or password is incorrect.");
	rc = directory_user_find_login(&u, r->p->store, r->env->name, username);
	if (rc && rc != CAREID_ENOTFOUND)
		return rc;
	if (rc || !u->password_hash) {
		password_verify_dummy(password);
		rc = CAREID_EDENIED;
	} else {
		rc = password_verify(u->password_hash, password);
	}
	if (rc) {
		metrics_signin(r->p->metrics, u ? "bad_credentials" : "unknown_user");
		log_pack(LOG_INFO, "signin_failed", "{s:s, s:s, s:s, s:s}", "request_id",
		         r->req->request_id, "env", r->env->name, "method", "pwd", "reason",
		         u ? "bad_password" : "unknown_user");
		dir_user_free(u);
		return render_signin(r, 200, &t, username,
		                     "The username or password is incorrect.");
	}
	/* The client named who should sign in (id_token_hint): nobody else may. */
	if (pget(t.params, "hint_sub") && strcmp(pget(t.params, "hint_sub"), u->uid) != 0) {
		char *msg =
		    arena_printf(r->a, "The service asked for user %s. Sign in as that user.",
		                 pget(t.params, "hint_sub"));

		dir_user_free(u);
		return msg ? render_signin(r, 200, &t, pget(t.params, "hint_sub"), msg)
		           : CAREID_ENOMEM;
	}
	acr_achieved(acr, AUTHN_PWD, pget(t.params, "acr_values"), NULL, r->env->default_acr);
	rc = session_start(&s, r, u->uid, AUTHN_PWD, acr);
	dir_user_free(u);
	if (rc)
		return rc;
	metrics_signin(r->p->metrics, "success");
	rc = tx_bind(r, t.id, &s);
	if (!rc)
		rc = authorize_continue(r, t.params, &s, t.id);
	if (rc == 0)
		rc = tx_delete(r, t.id); /* done: a code or an error went to the client */
	return rc > 0 ? 0 : rc;
}

int login_handle(struct oidc_req *r)
{
	struct tx t;
	int rc;

	r->res->route = "login";
	if (strcmp(r->req->method, "POST") == 0)
		return signin_post(r);
	if (strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	rc = tx_load(&t, r, form_get(&r->req->query, "tx"));
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		return rc;
	return render_signin(r, 200, &t,
	                     pget(t.params, "login_hint") ? pget(t.params, "login_hint")
	                                                  : pget(t.params, "hint_sub"),
	                     NULL);
}

/* The signed-in user of a transaction, checked against this browser's session. */
static int role_context(struct oidc_req *r, const char *txid, struct tx *t, struct session *s,
                        struct dir_user **u)
{
	int rc = tx_load(t, r, txid);

	if (rc)
		return rc;
	rc = session_current(s, r);
	if (rc)
		return rc;
	if (!t->uid || !t->session_hash || strcmp(t->session_hash, s->id_hash) != 0)
		return careid_error_set(CAREID_ENOTFOUND, "transaction not bound to this session");
	return directory_user_get(u, r->p->store, r->env->name, t->uid);
}

/* The part of an NRD role name people read: "Nurse Access Role" of
 * "\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\"". */
static const char *role_label(arena *a, const char *role_name)
{
	size_t n = strlen(role_name);
	const char *start;

	if (n < 2 || role_name[n - 1] != '"')
		return role_name;
	start = role_name + n - 1;
	while (start > role_name && start[-1] != '"')
		start--;
	if (start == role_name || start == role_name + n - 1)
		return role_name;
	return arena_strndup(a, start, (size_t)(role_name + n - 1 - start));
}

static int render_roles(struct oidc_req *r, int status, const struct tx *t,
                        const struct dir_user *u, const char *error)
{
	const char *csrf = csrf_token(r, t->id);
	json_t *roles = json_array();

	if (!csrf || !roles) {
		json_decref(roles);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < u->nroles; i++) {
		const struct dir_role *role = &u->roles[i];
		const char *label = role_label(r->a, role->role_name);

		json_array_append_new(
		    roles,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", role->person_roleid,
		              "role_name", label ? label : role->role_name, "role_code",
		              role->role_code, "org_code", role->org_code, "org_name",
		              role->org_name ? role->org_name : role->org_code, "first", i == 0));
	}
	return oidc_render(r, status, "select_role",
	                   json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s?}", "title",
	                             "Select your role", "action",
	                             arena_printf(r->a, "%s/select-role", r->env->issuer_path),
	                             "tx", t->id, "csrf", csrf, "display_name", u->display_name,
	                             "roles", roles, "error", error));
}

int select_role_handle(struct oidc_req *r)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	const struct form *f = post ? &r->req->form : &r->req->query;
	const char *chosen = NULL;
	struct dir_user *u = NULL;
	struct session s;
	struct tx t;
	int rc;

	r->res->route = "select_role";
	if (!post && strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	if ((post && (!r->req->has_form || r->req->form_error)) || form_first_duplicate(f))
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The role form could not be read.");
	rc = role_context(r, form_get(f, "tx"), &t, &s, &u);
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		goto out;
	if (!post) {
		rc = render_roles(r, 200, &t, u, NULL);
		goto out;
	}
	if (!csrf_ok(r, t.id, form_get(f, "csrf"))) {
		rc = oidc_error_page(r, 403, "The request is not valid",
		                     "The role form was not sent from this browser's page.");
		goto out;
	}
	for (size_t i = 0; i < u->nroles; i++)
		if (form_get(f, "role") &&
		    strcmp(form_get(f, "role"), u->roles[i].person_roleid) == 0)
			chosen = u->roles[i].person_roleid;
	if (!chosen) {
		rc = render_roles(r, 200, &t, u, "Select a role.");
		goto out;
	}
	rc = authorize_finish(r, t.params, &s, chosen);
	if (!rc)
		rc = tx_delete(r, t.id);
out:
	dir_user_free(u);
	return rc;
}
