#include "oidc/demo.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "http/fetch.h"
#include "oidc/oidc_int.h"

#define DEMO_NAME   "careid demo relying party"
#define DEMO_COOKIE "careid_demo"
#define DEMO_SCOPE  "openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole"

struct demo_rp {
	provider *p;
	const templates *t;
	char *client_id;
	char *client_secret;
	char *redirect_uri;
	json_t *users;
};

static int remove_previous(store *s)
{
	static const char sql_uris[] =
	    "DELETE FROM client_redirect_uris WHERE env = 'mock' AND client_id IN "
	    "(SELECT client_id FROM clients WHERE env = 'mock' AND name = $1)";
	static const char sql_clients[] = "DELETE FROM clients WHERE env = 'mock' AND name = $1";
	int rc = store_exec(s, sql_uris, "t", DEMO_NAME);

	if (rc >= 0)
		rc = store_exec(s, sql_clients, "t", DEMO_NAME);
	return rc < 0 ? rc : 0;
}

int demo_rp_new(demo_rp **out, provider *p, store *s, const templates *t, const char *public_url,
                const json_t *users)
{
	demo_rp *d = calloc(1, sizeof(*d));
	json_t *reg = NULL;
	const char *uris[1];
	struct client_new cn = {
	    .env = "mock", .name = DEMO_NAME, .auth_method = "client_secret_post", .nredirect = 1};
	int rc;

	*out = NULL;
	if (!d)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	d->p = p;
	d->t = t;
	d->users = json_deep_copy(users);
	if (asprintf(&d->redirect_uri, "%s/demo/callback", public_url) < 0) {
		d->redirect_uri = NULL;
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	uris[0] = d->redirect_uri;
	cn.redirect_uris = uris;
	rc = remove_previous(s);
	if (!rc)
		rc = client_add(&reg, s, &p->secrets, &cn);
	if (rc)
		goto out;
	d->client_id = strdup(json_string_value(json_object_get(reg, "client_id")));
	d->client_secret = strdup(json_string_value(json_object_get(reg, "client_secret")));
	if (!d->client_id || !d->client_secret)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	json_decref(reg);
	if (rc) {
		demo_rp_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void demo_rp_free(demo_rp *d)
{
	if (!d)
		return;
	free(d->client_id);
	if (d->client_secret) {
		memset(d->client_secret, 0, strlen(d->client_secret));
		free(d->client_secret);
	}
	free(d->redirect_uri);
	json_decref(d->users);
	free(d);
}

static int render(demo_rp *d, struct http_response *res, int status, const char *name, json_t *ctx)
{
	struct buf b;
	int rc;

	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	buf_init(&b, 1 << 20);
	rc = templates_render(d->t, name, ctx, &b);
	json_decref(ctx);
	if (!rc)
		rc = http_send_page(res, status, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

static int start_page(demo_rp *d, struct http_response *res)
{
	return render(d, res, 200, "demo",
	              json_pack("{s:s, s:O?, s:s}", "title", "Demo relying party", "users",
	                        d->users, "scope", DEMO_SCOPE));
}

/* /demo/login: state, nonce and a PKCE verifier in a cookie, then /authorize. */
static int login(demo_rp *d, struct http_request *req, struct http_response *res)
{
	struct cookie_attrs attrs = {.path = "/demo/",
	                             .max_age = 1800,
	                             .secure = provider_secure_cookies(d->p),
	                             .same_site = "Lax"};
	char state[32], nonce[32], verifier[64], challenge[44];
	const char *kv[16];
	char *value, *loc, *authz;

	if (crypto_random_token(state, sizeof(state), 16) ||
	    crypto_random_token(nonce, sizeof(nonce), 16) ||
	    crypto_random_token(verifier, sizeof(verifier), 32))
		return CAREID_ECRYPTO;
	crypto_pkce_s256(challenge, verifier);
	value = arena_printf(req->arena, "%s.%s.%s", state, nonce, verifier);
	authz = arena_printf(req->arena, "%s/authorize", provider_issuer(d->p, 0));
	if (!value || !authz)
		return CAREID_ENOMEM;
	kv[0] = "response_type", kv[1] = "code", kv[2] = "client_id", kv[3] = d->client_id;
	kv[4] = "redirect_uri", kv[5] = d->redirect_uri, kv[6] = "scope", kv[7] = DEMO_SCOPE;
	kv[8] = "state", kv[9] = state, kv[10] = "nonce", kv[11] = nonce;
	kv[12] = "code_challenge", kv[13] = challenge, kv[14] = "code_challenge_method";
	kv[15] = "S256";
	loc = oidc_uri_with_params(req->arena, authz, kv, 8);
	if (!loc || http_set_cookie(res, DEMO_COOKIE, value, &attrs))
		return CAREID_ENOMEM;
	return http_redirect(res, 303, loc);
}

static int failure(demo_rp *d, struct http_response *res, const char *what, const char *detail)
{
	return render(d, res, 400, "demo_result",
	              json_pack("{s:s, s:s, s:s?}", "title", "Sign-in failed", "failure", what,
	                        "detail", detail));
}

static json_t *pretty(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_t *out = json_string(s ? s : "");

	free(s);
	return out;
}

static int callback(demo_rp *d, struct http_request *req, struct http_response *res)
{
	static const char *const algs[] = {"RS256", NULL};
	const char *cookie = http_cookie(req, DEMO_COOKIE), *code = form_get(&req->query, "code");
	const char *state = form_get(&req->query, "state"), *err = form_get(&req->query, "error");
	struct env_state *env = &d->p->envs[0];
	struct fetch_result tr = {0}, ur = {0};
	json_t *tokens = NULL, *header = NULL, *claims = NULL, *userinfo = NULL;
	char *saved, *nonce, *verifier, *body, *url;
	const char *id_token, *access;
	struct cookie_attrs clear = {
	    .path = "/demo/", .max_age = -1, .secure = provider_secure_cookies(d->p)};
	int rc;

	if (err)
		return failure(d, res, err, form_get(&req->query, "error_description"));
	if (!cookie || !code || !state || strlen(cookie) > 200)
		return failure(d, res, "missing_state", "start again from the demo page");
	saved = arena_strdup(req->arena, cookie);
	nonce = saved ? strchr(saved, '.') : NULL;
	verifier = nonce ? strchr(nonce + 1, '.') : NULL;
	if (!verifier)
		return failure(d, res, "missing_state", "start again from the demo page");
	*nonce++ = '\0';
	*verifier++ = '\0';
	if (!crypto_streq(saved, state))
		return failure(d, res, "state_mismatch", "the state does not match this browser's");
	http_set_cookie(res, DEMO_COOKIE, "", &clear);
	body = arena_printf(req->arena,
	                    "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&"
	                    "client_secret=%s&code_verifier=%s",
	                    form_encode(req->arena, code), form_encode(req->arena, d->redirect_uri),
	                    form_encode(req->arena, d->client_id),
	                    form_encode(req->arena, d->client_secret), verifier);
	url = arena_printf(req->arena, "%s/access_token", env->issuer);
	if (!body || !url)
		return CAREID_ENOMEM;
	rc = fetch_post_form(&tr, url, body, 10);
	if (rc || tr.status != 200) {
		rc = failure(d, res, "token_request_failed",
		             rc ? "careid did not answer" : tr.body.ptr);
		goto out;
	}
	tokens = json_loads(tr.body.ptr, 0, NULL);
	id_token = json_string_value(json_object_get(tokens, "id_token"));
	access = json_string_value(json_object_get(tokens, "access_token"));
	if (!id_token || !access || jws_verify_jwks(&claims, id_token, env->jwks, algs) ||
	    jws_peek(id_token, &header, NULL)) {
		rc = failure(d, res, "invalid_id_token", "the ID token did not verify");
		goto out;
	}
	if (!json_string_value(json_object_get(claims, "nonce")) ||
	    strcmp(json_string_value(json_object_get(claims, "nonce")), nonce) != 0) {
		rc = failure(d, res, "nonce_mismatch", "the ID token's nonce is not ours");
		goto out;
	}
	body = arena_printf(req->arena, "access_token=%s", form_encode(req->arena, access));
	url = arena_printf(req->arena, "%s/userinfo", env->issuer);
	rc = body && url ? fetch_post_form(&ur, url, body, 10) : CAREID_ENOMEM;
	if (!rc && ur.status == 200)
		userinfo = json_loads(ur.body.ptr, 0, NULL);
	rc = render(d, res, 200, "demo_result",
	            json_pack("{s:s, s:o, s:o, s:o, s:O?, s:O?, s:O?}", "title",
	                      "What the relying party received", "id_token_header", pretty(header),
	                      "id_token_claims", pretty(claims), "userinfo",
	                      pretty(userinfo ? userinfo : json_null()), "selected_roleid",
	                      json_object_get(claims, "selected_roleid"), "roles",
	                      json_object_get(userinfo, "nhsid_nrbac_roles"), "name",
	                      json_object_get(userinfo, "name")));
out:
	buf_release(&tr.body);
	buf_release(&ur.body);
	json_decref(tokens);
	json_decref(header);
	json_decref(claims);
	json_decref(userinfo);
	return rc;
}

int demo_rp_handle(demo_rp *d, struct http_request *req, struct http_response *res)
{
	int rc;

	if (strncmp(req->path, "/demo", 5) != 0 || (req->path[5] && req->path[5] != '/'))
		return 0;
	res->route = "demo";
	if (strcmp(req->method, "GET") != 0)
		rc = http_send(res, 405, "text/plain; charset=utf-8", "use GET\n", 8);
	else if (strcmp(req->path, "/demo") == 0)
		rc = http_redirect(res, 302, "/demo/");
	else if (strcmp(req->path, "/demo/") == 0)
		rc = start_page(d, res);
	else if (strcmp(req->path, "/demo/login") == 0)
		rc = login(d, req, res);
	else if (strcmp(req->path, "/demo/callback") == 0)
		rc = callback(d, req, res);
	else
		rc = http_send(res, 404, "text/plain; charset=utf-8", "not found\n", 10);
	return rc < 0 ? rc : 1;
}
