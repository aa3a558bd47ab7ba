/* /authorize: validates the request, then signs in, selects a role or, within
 * an SSO session, answers at once with a code. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

struct authz {
	struct oidc_req *r;
	const struct form *f;
	struct client *client;
	const char *redirect_uri;
	const char *state;
};

static int fail(struct authz *z, const char *error, const char *description)
{
	return oidc_error_redirect(z->r, z->redirect_uri, error, description, z->state);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool pkce_challenge_valid(const char *c)
{
	size_t n = strlen(c);

	if (n < 43 || n > 128)
		return false;
	for (; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || strchr("-._~", *c)))
			return false;
	return true;
}

/* The subject of an ID token we issued (signature and issuer checked; an
 * expired hint is still a hint, OIDC Core §3.1.2.1). */
static int hint_subject(struct authz *z, const char *hint, const char **sub_out)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256",
	                                   "PS384", "PS512", NULL};
	const struct keyset *ks = keyring_get(z->r->env->keys);
	json_t *claims = NULL;
	const char *iss, *sub;
	int rc;

	rc = jws_verify_jwks(&claims, hint, ks->jwks, algs);
	keyset_release(ks);
	if (rc)
		return rc;
	iss = json_string_value(json_object_get(claims, "iss"));
	sub = json_string_value(json_object_get(claims, "sub"));
	if (!iss || !sub || strcmp(iss, z->r->env->issuer) != 0)
		rc = careid_error_set(CAREID_EDENIED, "id_token_hint is not from this issuer");
	else
		*sub_out = arena_strdup(z->r->a, sub);
	json_decref(claims);
	return rc;
}

/* The scopes careid grants: the request's, less those it does not know, each once. */
static const char *granted_scope(arena *a, const char *requested)
{
	struct buf b;
	char *out = NULL;
	int rc = 0;

	buf_init(&b, PARAM_MAX);
	for (size_t i = 0; !rc && oidc_scopes[i]; i++)
		if (scope_has(requested, oidc_scopes[i]))
			rc = buf_printf(&b, "%s%s", b.len ? " " : "", oidc_scopes[i]);
	if (!rc)
		out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

/* Checks every parameter; on success `*out` holds what the rest of the flow needs. */
static int validate(struct authz *z, json_t **out)
{
	const struct form *f = z->f;
	const char *rt = form_get(f, "response_type"), *scope = form_get(f, "scope");
	const char *nonce = form_get(f, "nonce"), *prompt = form_get(f, "prompt");
	const char *max_age = form_get(f, "max_age"), *cc = form_get(f, "code_challenge");
	const char *ccm = form_get(f, "code_challenge_method"), *claims = form_get(f, "claims");
	const char *hint = form_get(f, "id_token_hint"), *acr = form_get(f, "acr_values");
	const char *login_hint = form_get(f, "login_hint"), *dup = form_first_duplicate(f);
	const char *hint_sub = NULL;
	json_t *claims_json = NULL;
	long age = -1;

	*out = NULL;
	if (dup) {
		char *msg = arena_printf(z->r->a, "parameter %s is repeated", dup);

		return fail(z, "invalid_request", msg);
	}
	if (form_get(f, "request"))
		return fail(z, "request_not_supported", "request objects are not supported");
	if (form_get(f, "request_uri"))
		return fail(z, "request_uri_not_supported", "request_uri is not supported");
	if (!rt || !*rt)
		return fail(z, "invalid_request", "response_type is required");
	if (strcmp(rt, "code") != 0)
		return fail(z, "unsupported_response_type", "only response_type=code is supported");
	if (!scope_has(scope, "openid"))
		return fail(z, "invalid_scope", "scope must include openid");
	scope = granted_scope(z->r->a, scope);
	if (!scope)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->fields[i].value) > PARAM_MAX || !printable(f->fields[i].value))
			return fail(z, "invalid_request",
			            arena_printf(z->r->a,
			                         "parameter %s is too long or has control "
			                         "characters",
			                         f->fields[i].name));
	if (cc && !pkce_challenge_valid(cc))
		return fail(z, "invalid_request", "code_challenge must be 43 to 128 characters");
	if (ccm && (!cc || strcmp(ccm, "S256") != 0))
		return fail(z, "invalid_request",
		            cc ? "code_challenge_method must be S256"
		               : "code_challenge_method without code_challenge");
	if (cc && !ccm)
		return fail(z, "invalid_request", "code_challenge_method must be S256");
	if (prompt) {
		bool none = scope_has(prompt, "none");

		if (none && strcmp(prompt, "none") != 0)
			return fail(z, "invalid_request", "prompt=none cannot be combined");
		if (!none && !scope_has(prompt, "login") && !scope_has(prompt, "consent") &&
		    !scope_has(prompt, "select_account"))
			return fail(z, "invalid_request", "unknown prompt value");
	}
	if (max_age && parse_long(max_age, 0, 100L * 365 * 24 * 3600, &age))
		return fail(z, "invalid_request", "max_age must be a non-negative integer");
	if (claims) {
		json_error_t jerr;

		claims_json = json_loads(claims, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(claims_json)) {
			json_decref(claims_json);
			return fail(z, "invalid_request", "claims must be a JSON object");
		}
	}
	if (hint && hint_subject(z, hint, &hint_sub)) {
		json_decref(claims_json);
		return fail(z, "invalid_request",
		            "id_token_hint is not a valid ID token from this "
		            "issuer");
	}
	if (!acr_accepted(acr, z->client->default_acr, z->r->env->default_acr,
	                  z->r->env->offered)) {
		json_decref(claims_json);
		return fail(z, "unmet_authentication_requirements",
		            arena_printf(z->r->a,
		                         "no authenticator offered in %s meets the requested "
		                         "assurance",
		                         z->r->env->name));
	}
	*out = json_pack(
	    "{s:s, s:s, s:s, s:s*, s:s*, s:s*, s:s*, s:I, s:s*, s:o*, s:s*, s:s*, s:s*}",
	    "client_id", z->client->client_id, "redirect_uri", z->redirect_uri, "scope", scope,
	    "state", z->state, "nonce", nonce, "code_challenge", cc, "prompt", prompt, "max_age",
	    (json_int_t)age, "acr_values", acr, "claims", claims_json, "login_hint", login_hint,
	    "hint_sub", hint_sub, "default_acr", z->client->default_acr);
	if (!*out)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

static const char *pget(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

/* True when the session can answer this request without a new sign-in. */
static bool session_fits(struct oidc_req *r, const json_t *params, const struct session *s,
                         const struct client *c)
{
	json_int_t max_age = json_integer_value(json_object_get(params, "max_age"));
	const char *prompt = pget(params, "prompt"), *hint_sub = pget(params, "hint_sub");
	bool ok;

	ok = acr_accepted(pget(params, "acr_values"), c->default_acr, r->env->default_acr,
	                  r->env->offered) &
	     s->methods;
	if (prompt && scope_has(prompt, "login"))
		ok = false;
	/* max_age=0 asks for a fresh sign-in, like prompt=login (OIDC Core §3.1.2.1) */
	if (max_age == 0 || (max_age > 0 && clock_now() - s->auth_time > max_age))
		ok = false;
	if (hint_sub && strcmp(hint_sub, s->uid) != 0)
		ok = false;
	return ok;
}

/* True when the request asks for a role choice and the user has several. */
static int needs_role_choice(struct oidc_req *r, const json_t *params, const char *uid,
                             const char **only_role)
{
	struct dir_user *u = NULL;
	int rc;

	*only_role = NULL;
	if (!scope_has(pget(params, "scope"), "selectedrole"))
		return 0;
	rc = directory_user_get(&u, r->p->store, r->env->name, uid);
	if (rc)
		return rc;
	rc = u->nroles > 1;
	if (u->nroles == 1)
		*only_role = arena_strdup(r->a, u->roles[0].person_roleid);
	dir_user_free(u);
	return rc;
}

/* After a sign-in or with a fitting session: a role page or the code. */
static int proceed(struct oidc_req *r, json_t *params, const struct session *s, const char *tx_id)
{
	const char *only_role = NULL;
	int rc = needs_role_choice(r, params, s->uid, &only_role);
	char *loc;

	if (rc < 0)
		return rc;
	if (rc == 0)
		return only_role
		           ? select_role_finish(r, params, s, only_role, ROLE_CHOSEN_ONLY_ROLE)
		           : authorize_finish(r, params, s, NULL);
	if (pget(params, "prompt") && strcmp(pget(params, "prompt"), "none") == 0)
		return oidc_error_redirect(r, pget(params, "redirect_uri"), "interaction_required",
		                           "a role must be selected", pget(params, "state"));
	if (!tx_id) {
		char *id = NULL;

		rc = tx_create(&id, r, params, s);
		if (rc)
			return rc;
		tx_id = id;
	}
	loc = arena_printf(r->a, "%s/select-role?tx=%s", r->env->issuer_path, tx_id);
	if (!loc)
		return CAREID_ENOMEM;
	rc = http_redirect(r->res, 303, loc);
	return rc ? rc : 1;
}

int authorize_continue(struct oidc_req *r, json_t *params, const struct session *s,
                       const char *tx_id)
{
	return proceed(r, params, s, tx_id);
}

static void res_reset(struct http_response *res)
{
	res->status = 200;
	res->nheaders = 0;
	buf_reset(&res->body);
}

int authorize_handle(struct oidc_req *r)
{
	struct authz z = {r, NULL, NULL, NULL, NULL};
	const struct form *f = &r->req->query;
	const char *client_id, *prompt;
	json_t *params = NULL;
	struct session s;
	char *tx = NULL, *loc;
	int rc;

	r->res->route = "authorize";
	if (strcmp(r->req->method, "POST") == 0) {
		if (!r->req->has_form || r->req->form_error)
			return oidc_error_page(r, 400, "The request is not valid",
			                       "The authorization request could not be read.");
		f = &r->req->form;
	} else if (strcmp(r->req->method, "GET") != 0) {
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	} else if (r->req->query_error) {
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The authorization request's query string is malformed.");
	}
	z.f = f;
	client_id = form_get(f, "client_id");
	if (!client_id || form_count(f, "client_id") != 1)
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The request has no client_id, or more than one.");
	rc = client_get(&z.client, r->p->store, r->env->name, client_id);
	if (rc == CAREID_ENOTFOUND)
		return oidc_error_page(r, 400, "Unknown application",
		                       "The application that sent you here is not registered in "
		                       "this environment.");
	if (rc)
		return rc;
	z.redirect_uri = form_get(f, "redirect_uri");
	if (form_count(f, "redirect_uri") != 1 ||
	    !client_redirect_registered(z.client, z.redirect_uri)) {
		rc = oidc_error_page(r, 400, "The request is not valid",
		                     "The redirect_uri is missing or is not registered for this "
		                     "application, so careid cannot send you back to it.");
		goto out;
	}
	z.redirect_uri = arena_strdup(r->a, z.redirect_uri);
	/* A state too long to be valid is not echoed either. */
	z.state = form_count(f, "state") == 1 ? form_get(f, "state") : NULL;
	if (z.state && strlen(z.state) > PARAM_MAX)
		z.state = NULL;
	rc = validate(&z, &params);
	if (rc || !params)
		goto out;
	prompt = pget(params, "prompt");
	rc = session_current(&s, r);
	if (rc && rc != CAREID_ENOTFOUND)
		goto out;
	if (!rc && session_fits(r, params, &s, z.client)) {
		rc = session_touch(r, &s);
		if (!rc)
			rc = proceed(r, params, &s, NULL);
		if (rc > 0)
			rc = 0;
		if (rc != CAREID_ENOTFOUND)
			goto out;
		/* the session's user has left the directory: sign in afresh */
		res_reset(r->res);
	}
	if (prompt && strcmp(prompt, "none") == 0) {
		rc = fail(&z, "login_required",
		          s.uid ? "the session does not meet the request: a new sign-in is needed"
		                : "the user is not signed in");
		goto out;
	}
	/* A session that does not fit (a stronger class asked for, prompt=login,
	 * max_age): the same user signs in again, and the session is kept. */
	if (s.uid && json_object_set_new(params, "session_uid", json_string(s.uid))) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = tx_create(&tx, r, params, NULL);
	if (rc)
		goto out;
	loc = arena_printf(r->a, "%s/login?tx=%s", r->env->issuer_path, tx);
	rc = loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
out:
	json_decref(params);
	client_free(z.client);
	return rc;
}

int authorize_finish(struct oidc_req *r, json_t *params, const struct session *s,
                     const char *selected_roleid)
{
	static const char sql[] =
	    "INSERT INTO codes (code_hash, env, client_id, redirect_uri, grant_data, "
	    "code_challenge, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
	static const char sql_client[] =
	    "INSERT INTO session_clients (env, sid, client_id, first_at, last_at) VALUES ($1, $2, "
	    "$3, $4, $5) ON CONFLICT (env, sid, client_id) DO UPDATE SET last_at = "
	    "excluded.last_at";
	struct grant g = {0};
	char code[64], hash[CRYPTO_HASH_HEX], acr[ACR_MAX];
	const char *kv[6];
	char *data = NULL, *loc;
	int64_t now = clock_now();
	int rc;

	g.uid = s->uid;
	g.client_id = pget(params, "client_id");
	g.scope = pget(params, "scope");
	g.nonce = pget(params, "nonce");
	g.sid = s->sid;
	/* The class this request asked for that the session's methods meet. */
	acr_achieved(acr, s->methods, pget(params, "acr_values"), pget(params, "default_acr"),
	             r->env->default_acr);
	g.acr = acr;
	g.amr = json_loads(s->amr, 0, NULL);
	g.aal = acr_level(acr, s->methods);
	g.auth_time = s->auth_time;
	g.selected_roleid = selected_roleid;
	g.claims = json_object_get(params, "claims");
	g.json = grant_to_json(&g);
	json_decref(g.amr);
	if (!g.json)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	data = json_dumps(g.json, JSON_COMPACT);
	json_decref(g.json);
	if (!data)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = crypto_random_token(code, sizeof(code), 32);
	if (rc)
		goto out;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, code);
	rc = store_exec(r->p->store, sql, "ttttttii", hash, r->env->name, g.client_id,
	                pget(params, "redirect_uri"), data, pget(params, "code_challenge"), now,
	                now + CODE_TTL);
	/* the session has now signed in to this client: its logout will tell it */
	if (rc >= 0)
		rc = store_exec(r->p->store, sql_client, "tttii", r->env->name, s->sid, g.client_id,
		                now, now);
	if (rc < 0)
		goto out;
	kv[0] = "code", kv[1] = code, kv[2] = "state", kv[3] = pget(params, "state");
	kv[4] = "iss", kv[5] = r->env->issuer;
	loc = oidc_uri_with_params(r->a, pget(params, "redirect_uri"), kv, 3);
	rc = loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
	log_pack(LOG_INFO, "code_issued", "{s:s, s:s, s:s, s:s}", "request_id", r->req->request_id,
	         "env", r->env->name, "client_id", g.client_id, "uid", s->uid);
out:
	free(data);
	return rc;
}
