/* /access_token: the authorization code and refresh token grants. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "oidc/oidc_int.h"

static int store_token(struct oidc_req *r, const char *kind, const char *token,
                       const struct client *c, const struct grant *g, const char *grant_text,
                       const char *code_hash, int64_t ttl)
{
	static const char sql[] =
	    "INSERT INTO tokens (token_hash, env, kind, client_id, uid, grant_data, code_hash, "
	    "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
	char hash[CRYPTO_HASH_HEX];
	int64_t now = clock_now();
	int rc;

	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	rc = store_exec(r->p->store, sql, "tttttttii", hash, r->env->name, kind, c->client_id,
	                g->uid, grant_text, code_hash, now, now + ttl);
	return rc < 0 ? rc : 0;
}

/* The audit event of a change to user `uid`'s tokens; `detail` is consumed.
 * Runs inside the caller's transaction. */
static int audit(struct oidc_req *r, const char *actor, const char *action, const char *uid,
                 json_t *detail)
{
	const char *subject = arena_printf(r->a, "user:%s", uid);
	int rc;

	if (!detail || !subject)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	else
		rc = audit_record(r->p->store, actor, action, subject, detail);
	json_decref(detail);
	return rc;
}

/*
 * Issues an access token (for grant `g`), a refresh token (for `rg`, the
 * grant a later refresh starts from) and an ID token. `g_text` is `g` as the
 * store holds it when unchanged (a code's grant), else NULL. Runs inside the
 * caller's transaction, which it commits once the tokens are stored, so the
 * step that made them valid (a code or refresh token used up), the tokens
 * themselves and their audit event ("token.issued" for a code,
 * "token.refreshed" for a refresh token) commit together: a concurrent
 * replay either sees neither or finds the tokens to revoke.
 */
static int issue(struct oidc_req *r, const struct client *c, const struct grant *g,
                 const char *g_text, const struct grant *rg, const char *code_hash,
                 const char *grant_type)
{
	bool refreshed = strcmp(grant_type, "refresh_token") == 0;
	char access[64], refresh[64];
	char *dumped = NULL, *dumped_refresh = NULL, *id_token = NULL;
	const char *grant_text = g_text, *refresh_text;
	json_t *claims = NULL, *body;
	int rc;

	if (!grant_text)
		grant_text = dumped = json_dumps(g->json, JSON_COMPACT);
	/* a code's tokens share one grant: one text for both */
	refresh_text = rg == g ? grant_text : (dumped_refresh = json_dumps(rg->json, JSON_COMPACT));
	if (!grant_text || !refresh_text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto fail;
	}
	rc = crypto_random_token(access, sizeof(access), 32);
	if (!rc)
		rc = crypto_random_token(refresh, sizeof(refresh), 32);
	if (!rc)
		rc =
		    store_token(r, "access", access, c, g, grant_text, code_hash, ACCESS_TOKEN_TTL);
	if (!rc)
		rc = store_token(r, "refresh", refresh, c, rg, refresh_text, code_hash,
		                 REFRESH_TOKEN_TTL);
	if (!rc)
		rc = audit(r, c->client_id, refreshed ? "token.refreshed" : "token.issued", g->uid,
		           json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "env", r->env->name,
		                     "grant_type", grant_type, "client_id", c->client_id, "sid",
		                     g->sid, "scope", g->scope, "auth_method", c->auth_method));
	if (rc)
		goto fail;
	rc = store_commit(r->p->store);
	if (rc)
		goto fail;
	rc = claims_id_token(&claims, r, g, access, c->id_token_alg);
	if (rc == CAREID_ENOTFOUND) {
		rc = oidc_error_json(r, 400, "invalid_grant", "the user no longer exists");
		goto out;
	}
	if (!rc) {
		const struct keyset *ks = keyring_get(r->env->keys);

		rc = jws_sign(&id_token, ks->signer, c->id_token_alg, "JWT", claims);
		keyset_release(ks);
	}
	if (rc)
		goto out;
	body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "access_token", access, "token_type",
	                 "Bearer", "expires_in", ACCESS_TOKEN_TTL - 1, "refresh_token", refresh,
	                 "id_token", id_token, "scope", g->scope);
	rc = oidc_no_store(r->res);
	if (!rc)
		rc = body ? http_send_json(r->res, 200, body) : CAREID_ENOMEM;
	log_pack(LOG_INFO, "tokens_issued", "{s:s, s:s, s:s, s:s, s:s}", "request_id",
	         r->req->request_id, "env", r->env->name, "client_id", c->client_id, "uid", g->uid,
	         "grant_type", grant_type);
	goto out;
fail:
	store_rollback(r->p->store);
out:
	json_decref(claims);
	free(id_token);
	free(dumped);
	free(dumped_refresh);
	return rc;
}

/* Revokes every token a code issued, and every token refreshed from them (a
 * replayed code, RFC 6749 §4.1.2; a replayed refresh token, RFC 9700 §4.14.2).
 * `g` is the grant of the code or token replayed, `reason` "code_replayed" or
 * "refresh_token_replayed"; the revocation is audited as
 * "token.family_revoked" when it revoked anything. */
static int revoke_by_code(struct oidc_req *r, const char *code_hash, const struct grant *g,
                          const char *reason)
{
	static const char sql[] = "UPDATE tokens SET revoked_at = $1 WHERE code_hash = $2 AND "
	                          "revoked_at IS NULL";
	/* In its own write transaction: it takes the write lock first, so it
	 * sees every token a concurrent winner committed. Callers hold none. */
	int n, rc = store_begin(r->p->store);

	if (rc)
		return rc;
	n = store_exec(r->p->store, sql, "it", clock_now(), code_hash);
	rc = n < 0 ? n : 0;
	if (n > 0)
		rc = audit(r, "system", "token.family_revoked", g->uid,
		           json_pack("{s:s, s:s, s:s, s:s, s:i}", "env", r->env->name, "reason",
		                     reason, "client_id", g->client_id, "sid", g->sid,
		                     "tokens_revoked", n));
	if (rc) {
		store_rollback(r->p->store);
		return rc;
	}
	rc = store_commit(r->p->store);
	if (!rc && n > 0)
		log_pack(LOG_WARN, reason, "{s:s, s:s, s:i}", "request_id", r->req->request_id,
		         "env", r->env->name, "tokens_revoked", n);
	return rc;
}

static int code_grant(struct oidc_req *r, const struct client *c)
{
	static const char sql_get[] =
	    "SELECT client_id, redirect_uri, grant_data, code_challenge, expires_at, used_at "
	    "FROM codes WHERE code_hash = $1 AND env = $2";
	static const char sql_use[] =
	    "UPDATE codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL";
	const struct form *f = &r->req->form;
	const char *code = form_get(f, "code"), *redirect_uri = form_get(f, "redirect_uri");
	const char *verifier = form_get(f, "code_verifier");
	const char *client_id, *stored_uri, *challenge, *grant_text;
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	struct grant g;
	bool used;
	int rc;

	if (!code || !redirect_uri)
		return oidc_error_json(r, 400, "invalid_request",
		                       "code and redirect_uri are required");
	if (strlen(code) > 100)
		return oidc_error_json(r, 400, "invalid_grant", "the code is not valid");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, code);
	rc = store_query(r->p->store, &st, sql_get, "tt", hash, r->env->name);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc : oidc_error_json(r, 400, "invalid_grant", "the code is not valid");
		goto out;
	}
	client_id = arena_strdup(r->a, store_text(st, 0));
	stored_uri = arena_strdup(r->a, store_text(st, 1));
	grant_text = arena_strdup(r->a, store_text(st, 2));
	challenge = store_null(st, 3) ? NULL : arena_strdup(r->a, store_text(st, 3));
	used = !store_null(st, 5);
	rc = grant_from_text(&g, r->a, store_text(st, 2));
	if (!rc && (!client_id || !stored_uri || !grant_text))
		rc = CAREID_ENOMEM;
	if (rc)
		goto out;
	if (strcmp(client_id, c->client_id) != 0) {
		rc = oidc_error_json(r, 400, "invalid_grant",
		                     "the code was issued to another client");
		goto out;
	}
	if (used) {
		store_done(st); /* its read snapshot would block the write */
		st = NULL;
		rc = revoke_by_code(r, hash, &g, "code_replayed");
		if (!rc)
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     "the code has already been used");
		goto out;
	}
	if (store_int(st, 4) <= clock_now()) {
		rc = oidc_error_json(r, 400, "invalid_grant", "the code has expired");
		goto out;
	}
	if (strcmp(stored_uri, redirect_uri) != 0) {
		rc = oidc_error_json(r, 400, "invalid_grant",
		                     "redirect_uri differs from the authorization request's");
		goto out;
	}
	if (challenge || verifier) {
		char computed[44];

		if (!challenge || !verifier || strlen(verifier) < 43 || strlen(verifier) > 128) {
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     challenge
			                         ? "code_verifier is missing or malformed"
			                         : "code_verifier sent without a code_challenge");
			goto out;
		}
		crypto_pkce_s256(computed, verifier);
		if (!crypto_streq(computed, challenge)) {
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     "code_verifier does not match");
			goto out;
		}
	}
	store_done(st);
	st = NULL;
	rc = store_begin(r->p->store);
	if (rc)
		goto out;
	rc = store_exec(r->p->store, sql_use, "it", clock_now(), hash);
	if (rc <= 0) {
		store_rollback(r->p->store);
		if (rc < 0)
			goto out;
		/* another request used it first; its tokens are committed by now */
		rc = revoke_by_code(r, hash, &g, "code_replayed");
		if (!rc)
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     "the code has already been used");
		goto out;
	}
	/* the code's grant as stored: the tokens carry it unchanged */
	rc = issue(r, c, &g, grant_text, &g, hash, "authorization_code");
out:
	store_done(st);
	return rc;
}

static int refresh_grant(struct oidc_req *r, const struct client *c)
{
	static const char sql_get[] =
	    "SELECT client_id, grant_data, code_hash, revoked_at, expires_at FROM tokens WHERE "
	    "token_hash = $1 AND env = $2 AND kind = 'refresh'";
	static const char sql_revoke[] =
	    "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL";
	const char *token = form_get(&r->req->form, "refresh_token");
	const char *scope = form_get(&r->req->form, "scope");
	const char *code_hash;
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	struct grant g, access;
	bool revoked;
	int rc;

	if (!token)
		return oidc_error_json(r, 400, "invalid_request", "refresh_token is required");
	if (strlen(token) > 100)
		return oidc_error_json(r, 400, "invalid_grant", "the refresh token is not valid");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	rc = store_query(r->p->store, &st, sql_get, "tt", hash, r->env->name);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc =
		    rc ? rc
		       : oidc_error_json(r, 400, "invalid_grant", "the refresh token is not valid");
		goto out;
	}
	if (strcmp(store_text(st, 0), c->client_id) != 0) {
		rc = oidc_error_json(r, 400, "invalid_grant",
		                     "the refresh token was issued to another client");
		goto out;
	}
	code_hash = store_null(st, 2) ? NULL : arena_strdup(r->a, store_text(st, 2));
	revoked = !store_null(st, 3);
	rc = grant_from_text(&g, r->a, store_text(st, 1));
	if (!rc && !store_null(st, 2) && !code_hash)
		rc = CAREID_ENOMEM;
	if (rc)
		goto out;
	if (revoked || store_int(st, 4) <= clock_now()) {
		store_done(st);
		st = NULL;
		/* A rotated refresh token used again: whoever holds the current one
		 * may be an attacker, so the whole family goes. */
		rc = revoked && code_hash
		         ? revoke_by_code(r, code_hash, &g, "refresh_token_replayed")
		         : 0;
		if (!rc)
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     revoked ? "the refresh token has been used already"
			                             : "the refresh token has expired");
		goto out;
	}
	rc = grant_from_text(&access, r->a, store_text(st, 1));
	if (rc)
		goto out;
	store_done(st);
	st = NULL;
	if (scope) {
		/* The access token may get a narrower scope, never a wider one, and
		 * the new refresh token keeps the original (RFC 6749 §6). */
		char *copy = arena_strdup(r->a, scope), *save = NULL;

		if (!copy)
			return CAREID_ENOMEM;
		if (!scope_has(scope, "openid"))
			return oidc_error_json(r, 400, "invalid_scope",
			                       "scope must include openid");
		for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save))
			if (!scope_has(g.scope, s))
				return oidc_error_json(r, 400, "invalid_scope",
				                       "scope exceeds the original grant");
		json_object_set_new(access.json, "scope", json_string(scope));
		access.scope = json_string_value(json_object_get(access.json, "scope"));
	}
	/* The nonce belongs to the original authentication only (OIDC Core §12.2). */
	json_object_del(access.json, "nonce");
	access.nonce = NULL;
	rc = store_begin(r->p->store);
	if (rc)
		goto out;
	rc = store_exec(r->p->store, sql_revoke, "it", clock_now(), hash);
	if (rc <= 0) {
		store_rollback(r->p->store);
		if (rc == 0) /* used by a concurrent request: a replay */
			rc = code_hash ? revoke_by_code(r, code_hash, &g, "refresh_token_replayed")
			               : 0;
		if (!rc)
			rc = oidc_error_json(r, 400, "invalid_grant",
			                     "the refresh token has been used already");
		goto out;
	}
	rc = issue(r, c, &access, NULL, &g, code_hash, "refresh_token");
out:
	store_done(st);
	return rc;
}

int token_handle(struct oidc_req *r)
{
	struct client_auth ca;
	const char *grant_type;
	int rc;

	rc = client_request(&ca, r, "token", "grant_type");
	if (rc)
		goto out;
	grant_type = form_get(&r->req->form, "grant_type");
	if (strcmp(grant_type, "authorization_code") == 0)
		rc = code_grant(r, ca.client);
	else if (strcmp(grant_type, "refresh_token") == 0)
		rc = refresh_grant(r, ca.client);
	else
		rc = oidc_error_json(r, 400, "unsupported_grant_type",
		                     "grant_type must be authorization_code or refresh_token");
out:
	client_auth_release(&ca);
	return rc;
}
