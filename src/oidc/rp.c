#include "oidc/rp.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "http/fetch.h"
#include "oidc/oidc_int.h"

#define RETURN_TO_MAX 512

struct rp {
	provider *p;
	int env;
	char *client_id;
	char *client_secret;
	char *redirect_uri;
	char *scope;
	char *cookie;
	char *cookie_path;
};

static int remove_previous(store *s, const char *env, const char *name)
{
	static const char sql_uris[] =
	    "DELETE FROM client_redirect_uris WHERE env = $1 AND client_id IN "
	    "(SELECT client_id FROM clients WHERE env = $2 AND name = $3)";
	static const char sql_clients[] = "DELETE FROM clients WHERE env = $1 AND name = $2";
	int rc = store_exec(s, sql_uris, "ttt", env, env, name);

	if (rc >= 0)
		rc = store_exec(s, sql_clients, "tt", env, name);
	return rc < 0 ? rc : 0;
}

int rp_new(rp **out, provider *p, store *s, const struct rp_opts *o)
{
	rp *r = calloc(1, sizeof(*r));
	const char *uris[1] = {o->redirect_uri};
	struct client_new cn = {.env = env_names[o->env],
	                        .name = o->name,
	                        .auth_method = "client_secret_post",
	                        .redirect_uris = uris,
	                        .nredirect = 1};
	json_t *reg = NULL;
	int rc;

	*out = NULL;
	if (!r)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	r->p = p;
	r->env = o->env;
	r->redirect_uri = strdup(o->redirect_uri);
	r->scope = strdup(o->scope);
	r->cookie = strdup(o->cookie);
	r->cookie_path = strdup(o->cookie_path);
	if (!r->redirect_uri || !r->scope || !r->cookie || !r->cookie_path) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = remove_previous(s, env_names[o->env], o->name);
	if (!rc)
		rc = client_add(&reg, s, &p->secrets, &cn);
	if (rc)
		goto out;
	r->client_id = strdup(json_string_value(json_object_get(reg, "client_id")));
	r->client_secret = strdup(json_string_value(json_object_get(reg, "client_secret")));
	if (!r->client_id || !r->client_secret)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	json_decref(reg);
	if (rc) {
		rp_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void rp_free(rp *r)
{
	if (!r)
		return;
	free(r->client_id);
	if (r->client_secret) {
		memset(r->client_secret, 0, strlen(r->client_secret));
		free(r->client_secret);
	}
	free(r->redirect_uri);
	free(r->scope);
	free(r->cookie);
	free(r->cookie_path);
	free(r);
}

static bool local_path(const char *s)
{
	if (!s || s[0] != '/' || s[1] == '/' || s[1] == '\\' || strlen(s) > RETURN_TO_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    (*s == '.' && s[1] == '.'))
			return false;
	return true;
}

int rp_login(rp *r, struct http_request *req, struct http_response *res, const char *return_to,
             const char *prompt)
{
	struct cookie_attrs attrs = {.path = r->cookie_path,
	                             .max_age = TX_TTL,
	                             .secure = provider_secure_cookies(r->p),
	                             .same_site = "Lax"};
	char state[32], nonce[32], verifier[64], challenge[44], back[700];
	const char *kv[18];
	char *value, *loc, *authz;

	if (crypto_random_token(state, sizeof(state), 16) ||
	    crypto_random_token(nonce, sizeof(nonce), 16) ||
	    crypto_random_token(verifier, sizeof(verifier), 32))
		return CAREID_ECRYPTO;
	crypto_pkce_s256(challenge, verifier);
	back[0] = '\0';
	if (local_path(return_to) &&
	    crypto_b64url_encode(back, sizeof(back), return_to, strlen(return_to)))
		back[0] = '\0';
	value = arena_printf(req->arena, "%s.%s.%s.%s", state, nonce, verifier, back);
	authz = arena_printf(req->arena, "%s/authorize", provider_issuer(r->p, r->env));
	if (!value || !authz)
		return CAREID_ENOMEM;
	kv[0] = "response_type", kv[1] = "code", kv[2] = "client_id", kv[3] = r->client_id;
	kv[4] = "redirect_uri", kv[5] = r->redirect_uri, kv[6] = "scope", kv[7] = r->scope;
	kv[8] = "state", kv[9] = state, kv[10] = "nonce", kv[11] = nonce;
	kv[12] = "code_challenge", kv[13] = challenge, kv[14] = "code_challenge_method";
	kv[15] = "S256", kv[16] = "prompt", kv[17] = prompt;
	loc = oidc_uri_with_params(req->arena, authz, kv, 9);
	if (!loc || http_set_cookie(res, r->cookie, value, &attrs))
		return CAREID_ENOMEM;
	return http_redirect(res, 303, loc);
}

static int fail(struct rp_result *out, const char *error, const char *detail)
{
	out->error = error;
	out->error_detail = detail;
	return 0;
}

int rp_callback(rp *r, struct http_request *req, struct http_response *res, struct rp_result *out)
{
	static const char *const algs[] = {"RS256", NULL};
	const char *cookie = http_cookie(req, r->cookie), *code = form_get(&req->query, "code");
	const char *state = form_get(&req->query, "state"), *err = form_get(&req->query, "error");
	struct env_state *env = &r->p->envs[r->env];
	const struct keyset *ks;
	struct fetch_result tr = {0}, ur = {0};
	struct cookie_attrs clear = {
	    .path = r->cookie_path, .max_age = -1, .secure = provider_secure_cookies(r->p)};
	json_t *tokens = NULL;
	char *parts[4], *body, *url;
	const char *id_token, *access, *nonce;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (err)
		return fail(out, err, form_get(&req->query, "error_description"));
	if (!cookie || !code || !state || strlen(cookie) > 1200)
		return fail(out, "missing_state", "Start again: the sign-in was not started here.");
	parts[0] = arena_strdup(req->arena, cookie);
	for (int i = 1; i < 4; i++) {
		parts[i] = parts[i - 1] ? strchr(parts[i - 1], '.') : NULL;
		if (parts[i])
			*parts[i]++ = '\0';
	}
	if (!parts[3])
		return fail(out, "missing_state", "Start again: the sign-in was not started here.");
	if (!crypto_streq(parts[0], state))
		return fail(out, "state_mismatch",
		            "The sign-in answer does not belong to this browser.");
	http_set_cookie(res, r->cookie, "", &clear);
	if (*parts[3]) {
		char back[RETURN_TO_MAX + 1];
		size_t n = 0;

		if (!crypto_b64url_decode(back, sizeof(back) - 1, &n, parts[3], strlen(parts[3]))) {
			back[n] = '\0';
			if (strlen(back) == n && local_path(back))
				out->return_to = strdup(back);
		}
	}
	body = arena_printf(req->arena,
	                    "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&"
	                    "client_secret=%s&code_verifier=%s",
	                    form_encode(req->arena, code), form_encode(req->arena, r->redirect_uri),
	                    form_encode(req->arena, r->client_id),
	                    form_encode(req->arena, r->client_secret), parts[2]);
	url = arena_printf(req->arena, "%s/access_token", env->issuer);
	if (!body || !url)
		return CAREID_ENOMEM;
	rc = fetch_post_form(&tr, url, body, 10);
	if (rc || tr.status != 200) {
		rc = fail(out, "token_request_failed",
		          rc ? "careid's token endpoint did not answer"
		             : "the token request failed");
		goto out;
	}
	tokens = json_loads(tr.body.ptr, 0, NULL);
	id_token = json_string_value(json_object_get(tokens, "id_token"));
	access = json_string_value(json_object_get(tokens, "access_token"));
	ks = keyring_get(env->keys);
	rc = id_token && access ? jws_verify_jwks(&out->claims, id_token, ks->jwks, algs)
	                        : CAREID_EINVALID;
	keyset_release(ks);
	if (rc || jws_peek(id_token, &out->header, NULL)) {
		rc = fail(out, "invalid_id_token", "The ID token did not verify.");
		goto out;
	}
	nonce = json_string_value(json_object_get(out->claims, "nonce"));
	if (!nonce || strcmp(nonce, parts[1]) != 0 ||
	    !json_string_value(json_object_get(out->claims, "iss")) ||
	    strcmp(json_string_value(json_object_get(out->claims, "iss")), env->issuer) != 0 ||
	    !json_string_value(json_object_get(out->claims, "aud")) ||
	    strcmp(json_string_value(json_object_get(out->claims, "aud")), r->client_id) != 0 ||
	    json_integer_value(json_object_get(out->claims, "exp")) <= clock_now()) {
		rc = fail(out, "invalid_id_token", "The ID token is not for this sign-in.");
		goto out;
	}
	body = arena_printf(req->arena, "access_token=%s", form_encode(req->arena, access));
	url = arena_printf(req->arena, "%s/userinfo", env->issuer);
	rc = body && url ? fetch_post_form(&ur, url, body, 10) : CAREID_ENOMEM;
	if (!rc && ur.status == 200)
		out->userinfo = json_loads(ur.body.ptr, 0, NULL);
	rc = rc == CAREID_ENOMEM ? rc : 0;
out:
	buf_release(&tr.body);
	buf_release(&ur.body);
	json_decref(tokens);
	if (out->error) {
		json_decref(out->claims);
		json_decref(out->header);
		out->claims = out->header = NULL;
	}
	return rc;
}

void rp_result_release(struct rp_result *res)
{
	json_decref(res->header);
	json_decref(res->claims);
	json_decref(res->userinfo);
	free(res->return_to);
	memset(res, 0, sizeof(*res));
}
