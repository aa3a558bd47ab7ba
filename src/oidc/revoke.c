/*
 * {issuer}/token/revoke: token revocation (RFC 7009).
 *
 * The client authenticates as at the token endpoint. A refresh token takes
 * its whole family with it: every access and refresh token issued from the
 * same code (tokens.code_hash), as RFC 7009 §2.1 asks ("SHOULD also
 * invalidate all access tokens based on the same authorization grant"). An
 * access token goes alone: the RFC leaves its refresh token to us ("MAY"),
 * and a client that drops one access token (a narrowed one, say) must not
 * lose the user's grant.
 */
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "oidc/oidc_int.h"

#define TOKEN_MAX 100 /* careid's tokens are 43 characters: a longer one is not ours */

/* The answer to a request that was understood: 200 and no body (the client
 * ignores it, RFC 7009 §2.2), never cached. */
static int revoked_answer(struct oidc_req *r)
{
	int rc = oidc_no_store(r->res);

	return rc ? rc : http_send(r->res, 200, NULL, NULL, 0);
}

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
 * Revokes `token` for client `c` inside one write transaction, so the
 * revocation and its audit event commit together and a concurrent refresh
 * either sees the family revoked or has committed its new tokens before we
 * look (they share code_hash and go too).
 */
static int revoke(struct oidc_req *r, const struct client *c, const char *token)
{
	static const char sql_get[] = "SELECT kind, client_id, uid, grant_data, code_hash FROM "
	                              "tokens WHERE token_hash = $1 AND env = $2";
	static const char sql_one[] = "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND "
	                              "revoked_at IS NULL AND expires_at > $3";
	static const char sql_family[] = "UPDATE tokens SET revoked_at = $1 WHERE code_hash = $2 "
	                                 "AND revoked_at IS NULL AND expires_at > $3";
	const char *kind, *owner, *uid, *code_hash;
	char hash[CRYPTO_HASH_HEX];
	int64_t now = clock_now();
	store_stmt *st = NULL;
	bool refresh, has_code;
	struct grant g;
	int rc, n;

	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	rc = store_begin(r->p->store);
	if (rc)
		return rc;
	rc = store_query(r->p->store, &st, sql_get, "tt", hash, r->env->name);
	if (!rc)
		rc = store_next(st);
	if (rc <= 0) {
		/* unknown here: an invalid token is not an error (RFC 7009 §2.2) */
		store_done(st);
		store_rollback(r->p->store);
		return rc < 0 ? rc : revoked_answer(r);
	}
	kind = arena_strdup(r->a, store_text(st, 0));
	owner = arena_strdup(r->a, store_text(st, 1));
	uid = arena_strdup(r->a, store_text(st, 2));
	has_code = !store_null(st, 4);
	code_hash = has_code ? arena_strdup(r->a, store_text(st, 4)) : NULL;
	rc = grant_from_text(&g, r->a, store_text(st, 3));
	store_done(st);
	if (!rc && (!kind || !owner || !uid || (has_code && !code_hash)))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (rc)
		goto fail;
	refresh = strcmp(kind, "refresh") == 0;
	if (strcmp(owner, c->client_id) != 0) {
		/*
		 * Another client's token is not revoked. RFC 7009 §2.1: the server
		 * "verifies whether the token was issued to the client making the
		 * revocation request. If this validation fails, the request is
		 * refused and the client is informed of the error". The error is
		 * RFC 6749 §5.2's invalid_grant, whose definition names this case
		 * ("was issued to another client") and which the token endpoint
		 * gives for another client's refresh token. Refusing loudly rather
		 * than answering a quiet 200 protects users: a client that signs a
		 * user out with the wrong credentials learns that the token still
		 * works, instead of believing it dead. It tells the caller nothing
		 * it could not learn by using the token it already holds. The
		 * attempt goes on the audit trail: a client holding another
		 * client's token means a token has leaked.
		 */
		rc = audit(r, c->client_id, "token.revoke_refused", uid,
		           json_pack("{s:s, s:s, s:s, s:s}", "env", r->env->name, "client_id",
		                     c->client_id, "token_client_id", owner, "kind", kind));
		if (rc)
			goto fail;
		rc = store_commit(r->p->store);
		if (rc)
			return rc;
		log_pack(LOG_WARN, "revoke_refused", "{s:s, s:s, s:s, s:s}", "request_id",
		         r->req->request_id, "env", r->env->name, "client_id", c->client_id,
		         "token_client_id", owner);
		return oidc_error_json(r, 400, "invalid_grant",
		                       "the token was issued to another client");
	}
	/*
	 * A refresh token revokes its family even when it has been rotated
	 * already: the client asks for the grant to end, and a rotated token
	 * presented again is the replay the token endpoint also answers by
	 * revoking the family (RFC 9700 §4.14.2).
	 */
	if (refresh && code_hash)
		n = store_exec(r->p->store, sql_family, "iti", now, code_hash, now);
	else
		n = store_exec(r->p->store, sql_one, "iti", now, hash, now);
	if (n < 0) {
		rc = n;
		goto fail;
	}
	if (n > 0) {
		rc =
		    audit(r, c->client_id, "token.revoked", uid,
		          json_pack("{s:s, s:s, s:s, s:s, s:i}", "env", r->env->name, "client_id",
		                    c->client_id, "kind", kind, "sid", g.sid, "tokens_revoked", n));
		if (rc)
			goto fail;
	}
	rc = store_commit(r->p->store);
	if (rc)
		return rc;
	if (n > 0)
		log_pack(LOG_INFO, "token_revoked", "{s:s, s:s, s:s, s:s, s:i}", "request_id",
		         r->req->request_id, "env", r->env->name, "client_id", c->client_id, "kind",
		         kind, "tokens_revoked", n);
	/* an expired or already revoked token: nothing left to do, same answer */
	return revoked_answer(r);
fail:
	store_rollback(r->p->store);
	return rc;
}

int revoke_handle(struct oidc_req *r)
{
	struct client_auth ca;
	const char *token;
	int rc;

	rc = client_request(&ca, r, "revoke", NULL);
	if (rc)
		goto out;
	token = form_get(&r->req->form, "token");
	if (!token || !*token) {
		rc = oidc_error_json(r, 400, "invalid_request", "token is required");
		goto out;
	}
	/*
	 * token_type_hint is not read: one lookup finds either kind, which is
	 * what RFC 7009 §2.1 allows ("MAY ignore this parameter, particularly if
	 * it is able to detect the token type automatically"), and an invalid
	 * hint "does not influence the revocation response" (§2.2). careid
	 * revokes both kinds it issues, so unsupported_token_type (§2.2.1)
	 * never applies: an ID token or anything else is simply unknown (200).
	 */
	if (strlen(token) > TOKEN_MAX)
		rc = revoked_answer(r);
	else
		rc = revoke(r, ca.client, token);
out:
	client_auth_release(&ca);
	return rc;
}
