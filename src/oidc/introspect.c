/*
 * {issuer}/introspect: token introspection (RFC 7662) for registered clients.
 *
 * The caller authenticates as at the token endpoint; RFC 7662 §2.1 asks for
 * some authorization "to prevent token scanning attacks", and careid has no
 * resource servers apart from its clients, so client authentication is it.
 * A client learns about its own tokens only: anything else, like an unknown,
 * expired or revoked token, is {"active": false} and nothing more (§2.2: the
 * server "SHOULD NOT include any additional information about an inactive
 * token, including why the token is inactive").
 */
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "oidc/oidc_int.h"

#define TOKEN_MAX 100 /* careid's tokens are 43 characters: a longer one is not ours */

/* The answer carries who the user is and how they signed in: never cached. */
static int answer(struct oidc_req *r, json_t *body)
{
	int rc = oidc_no_store(r->res);

	if (rc) {
		json_decref(body);
		return rc;
	}
	return http_send_json(r->res, 200, body);
}

static int inactive(struct oidc_req *r)
{
	return answer(r, json_pack("{s:b}", "active", 0));
}

/*
 * What an active token's holder may know (RFC 7662 §2.2), from the grant the
 * token carries. token_type is "Bearer" for access tokens (RFC 6749 §7.1);
 * a refresh token has no OAuth token type, so it is named as its
 * token_type_hint names it, "refresh_token". aud is the client, as in the ID
 * token: careid's access tokens are for the client's own use at userinfo and
 * its APIs. No nbf: a token is valid from the moment it is issued (iat).
 */
static json_t *active(struct oidc_req *r, const char *kind, const struct grant *g,
                      const char *client_id, int64_t iat, int64_t exp)
{
	bool access = strcmp(kind, "access") == 0;

	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:I}", "active",
	                 1, "scope", g->scope, "client_id", client_id, "sub", g->uid, "token_type",
	                 access ? "Bearer" : "refresh_token", "exp", (json_int_t)exp, "iat",
	                 (json_int_t)iat, "aud", client_id, "iss", r->env->issuer, "sid", g->sid,
	                 "acr", g->acr, "auth_time", (json_int_t)g->auth_time);
}

static int introspect(struct oidc_req *r, const struct client *c, const char *token)
{
	static const char sql[] =
	    "SELECT kind, client_id, grant_data, created_at, expires_at FROM tokens WHERE "
	    "token_hash = $1 AND env = $2 AND revoked_at IS NULL AND expires_at > $3";
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	json_t *body = NULL;
	struct grant g;
	int rc;

	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	rc = store_query(r->p->store, &st, sql, "tti", hash, r->env->name, clock_now());
	if (!rc)
		rc = store_next(st);
	if (rc < 0)
		goto out;
	/* another client's token is "not allowed to introspect", hence inactive */
	if (rc == 0 || strcmp(store_text(st, 1), c->client_id) != 0) {
		rc = inactive(r);
		goto out;
	}
	rc = grant_from_text(&g, r->a, store_text(st, 2));
	if (rc)
		goto out;
	body = active(r, store_text(st, 0), &g, c->client_id, store_int(st, 3), store_int(st, 4));
	rc = body ? answer(r, body) : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	store_done(st);
	return rc;
}

int introspect_handle(struct oidc_req *r)
{
	struct client_auth ca;
	const char *token;
	int rc;

	rc = client_request(&ca, r, "introspect", NULL);
	if (rc)
		goto out;
	token = form_get(&r->req->form, "token");
	if (!token || !*token) {
		rc = oidc_error_json(r, 400, "invalid_request", "token is required");
		goto out;
	}
	/* token_type_hint is not read: one lookup finds either kind (§2.1 lets
	 * the server search every type it supports). */
	rc = strlen(token) > TOKEN_MAX ? inactive(r) : introspect(r, ca.client, token);
out:
	client_auth_release(&ca);
	return rc;
}
