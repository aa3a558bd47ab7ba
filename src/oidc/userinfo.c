/* /userinfo (OIDC Core §5.3, RFC 6750): GET or POST, token in the header or body. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "oidc/oidc_int.h"

static int bearer_error(struct oidc_req *r, int status, const char *error, const char *description)
{
	char *h = error ? arena_printf(r->a, "Bearer realm=\"careid\", error=\"%s\"", error)
	                : arena_strdup(r->a, "Bearer realm=\"careid\"");

	if (!h || http_add_header(r->res, "WWW-Authenticate", h))
		return CAREID_ENOMEM;
	return oidc_error_json(r, status, error ? error : "invalid_request", description);
}

/* The access token from exactly one of the places RFC 6750 allows. */
static int find_token(struct oidc_req *r, const char **out)
{
	const char *authz = http_header(r->req, "Authorization");
	const char *body = NULL;
	int found = 0;

	*out = NULL;
	if (r->req->has_form && strcmp(r->req->method, "POST") == 0) {
		if (r->req->form_error || form_count(&r->req->form, "access_token") > 1)
			return CAREID_EINVALID;
		body = form_get(&r->req->form, "access_token");
	}
	if (form_get(&r->req->query, "access_token"))
		return CAREID_EINVALID; /* tokens in URLs leak into logs */
	if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
		*out = authz + 7;
		while (**out == ' ')
			(*out)++;
		found++;
	} else if (authz) {
		return CAREID_EINVALID;
	}
	if (body) {
		*out = body;
		found++;
	}
	if (found > 1)
		return CAREID_EINVALID;
	return found ? 0 : CAREID_ENOTFOUND;
}

/*
 * The first successful call with an access token is conformance evidence
 * ("userinfo.served", docs/conformance-evidence.md). The conditional UPDATE
 * makes it once per token even when calls race; once the token is marked,
 * callers skip this and userinfo writes nothing.
 */
static int record_first_use(struct oidc_req *r, const char *hash, const char *client_id,
                            const struct grant *g)
{
	static const char sql[] =
	    "UPDATE tokens SET userinfo_at = $1 WHERE token_hash = $2 AND userinfo_at IS NULL";
	const char *subject = arena_printf(r->a, "user:%s", g->uid);
	json_t *detail = json_pack("{s:s, s:s, s:s}", "env", r->env->name, "client_id", client_id,
	                           "scope", g->scope);
	int rc;

	if (!detail || !subject) {
		json_decref(detail);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = store_begin(r->p->store);
	if (rc)
		goto out;
	rc = store_exec(r->p->store, sql, "it", clock_now(), hash);
	if (rc == 1)
		rc = audit_record(r->p->store, client_id, "userinfo.served", subject, detail);
	rc = rc < 0 ? (store_rollback(r->p->store), rc) : store_commit(r->p->store);
out:
	json_decref(detail);
	return rc;
}

/*
 * The cache key of a JSON answer: what it is computed from besides the
 * directory and the client's row (whose generations the entry carries).
 */
static char *answer_key(arena *a, const char *env, const char *client_id, const char *grant,
                        size_t *len_out)
{
	size_t ne = strlen(env), nc = strlen(client_id), ng = strlen(grant);
	char *k = arena_alloc(a, ne + nc + ng + 3);

	if (!k)
		return NULL;
	memcpy(k, env, ne);
	k[ne] = '\n';
	memcpy(k + ne + 1, client_id, nc);
	k[ne + 1 + nc] = '\n';
	memcpy(k + ne + nc + 2, grant, ng + 1);
	*len_out = ne + nc + ng + 2;
	return k;
}

int userinfo_handle(struct oidc_req *r)
{
	/* The generations are read with the token, in one snapshot: an answer
	 * cached under them is still right (cache.c). */
	static const char sql[] =
	    "SELECT grant_data, client_id, userinfo_at,"
	    " (SELECT n FROM generations WHERE kind = 'directory:' || $2),"
	    " (SELECT n FROM generations WHERE kind = 'clients:' || $2)"
	    " FROM tokens WHERE token_hash = $1 AND env = $2 AND kind = 'access' AND"
	    " revoked_at IS NULL AND expires_at > $3";
	const char *token;
	char hash[CRYPTO_HASH_HEX];
	struct client *c = NULL;
	store_stmt *st = NULL;
	json_t *claims = NULL;
	char *jwt = NULL, *key, *body = NULL;
	int64_t gen[OIDC_CACHE_GENS];
	size_t key_len = 0, body_len = 0;
	struct grant g;
	bool first_use, cacheable;
	int rc;

	r->res->route = "userinfo";
	if (strcmp(r->req->method, "GET") != 0 && strcmp(r->req->method, "POST") != 0) {
		if (http_add_header(r->res, "Allow", "GET, POST"))
			return CAREID_ENOMEM;
		return oidc_error_json(r, 405, "invalid_request", "use GET or POST");
	}
	rc = find_token(r, &token);
	if (rc == CAREID_ENOTFOUND)
		return bearer_error(r, 401, NULL, "an access token is required");
	if (rc)
		return bearer_error(r, 400, "invalid_request",
		                    "send the access token once, in the Authorization header or "
		                    "the form body");
	if (!*token || strlen(token) > 100)
		return bearer_error(r, 401, "invalid_token", "the access token is not valid");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	rc = store_query(r->p->store, &st, sql, "tti", hash, r->env->name, clock_now());
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc
		        : bearer_error(r, 401, "invalid_token", "the access token is not valid");
		goto out;
	}
	first_use = store_null(st, 2);
	/* No counter row (nothing written yet, or a row gone): nothing would
	 * ever move it, so no answer is kept. */
	cacheable = !store_null(st, 3) && !store_null(st, 4);
	gen[OIDC_GEN_DIRECTORY] = store_int(st, 3);
	gen[OIDC_GEN_CLIENTS] = store_int(st, 4);
	if (!store_text(st, 0) || !store_text(st, 1)) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	key = answer_key(r->a, r->env->name, store_text(st, 1), store_text(st, 0), &key_len);
	if (!key) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	/* Not on first use: that call writes the token's audit event. */
	rc = first_use || !cacheable
	         ? 0
	         : oidc_cache_get(r->p->userinfo, r->a, key, key_len, gen, &body, &body_len);
	if (rc == 1) {
		store_done(st);
		st = NULL;
		rc = oidc_no_store(r->res);
		if (!rc)
			rc = http_send(r->res, 200, "application/json", body, body_len);
		goto out;
	}
	if (rc)
		goto out;
	rc = grant_from_text(&g, r->a, store_text(st, 0));
	if (!rc)
		rc = client_get(&c, r->p->store, r->env->name, store_text(st, 1));
	store_done(st);
	st = NULL;
	if (rc == CAREID_ENOTFOUND) {
		rc = bearer_error(r, 401, "invalid_token", "the client no longer exists");
		goto out;
	}
	if (!rc)
		rc = claims_userinfo(&claims, r, &g);
	if (rc == CAREID_ENOTFOUND) {
		rc = bearer_error(r, 401, "invalid_token", "the user no longer exists");
		goto out;
	}
	if (rc)
		goto out;
	rc = oidc_no_store(r->res);
	if (rc)
		goto out;
	if (c->userinfo_alg) {
		const struct keyset *ks = keyring_get(r->env->keys);

		json_object_set_new(claims, "iss", json_string(r->env->issuer));
		json_object_set_new(claims, "aud", json_string(c->client_id));
		rc = jws_sign(&jwt, ks->signer, c->userinfo_alg, "JWT", claims);
		keyset_release(ks);
	}
	if (!rc && first_use)
		rc = record_first_use(r, hash, c->client_id, &g);
	if (rc)
		goto out;
	if (jwt) {
		rc = http_send(r->res, 200, "application/jwt", jwt, strlen(jwt));
		goto out;
	}
	/* what http_send_json() would send, kept for the token's next calls */
	body = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	body_len = strlen(body);
	/* failing to keep it (no memory) only costs the next call the work */
	if (cacheable)
		(void)oidc_cache_put(r->p->userinfo, key, key_len, gen, body, body_len);
	rc = http_send(r->res, 200, "application/json", body, body_len);
	free(body);
out:
	store_done(st);
	json_decref(claims);
	client_free(c);
	free(jwt);
	return rc;
}
