/* SSO sessions: one per browser per environment, named by a cookie whose
 * value is a random token; the store keeps only its keyed hash. */
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "oidc/oidc_int.h"
#include "oidc/sessions.h"

int session_current(struct session *out, struct oidc_req *r)
{
	static const char sql[] =
	    "SELECT sid, uid, acr, amr, aal, auth_time, methods FROM sessions WHERE id_hash = $1 "
	    "AND "
	    "env = $2 AND ended_at IS NULL AND expires_at > $3 AND last_seen > $4";
	const char *cookie = http_cookie(r->req, r->env->cookie_session);
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int64_t now = clock_now();
	int rc;

	memset(out, 0, sizeof(*out));
	if (!cookie || strlen(cookie) > 100)
		return CAREID_ENOTFOUND;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, cookie);
	rc = store_query(r->p->store, &st, sql, "ttii", hash, r->env->name, now,
	                 now - r->env->session_idle);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc : CAREID_ENOTFOUND;
		goto out;
	}
	out->sid = arena_strdup(r->a, store_text(st, 0));
	out->uid = arena_strdup(r->a, store_text(st, 1));
	out->acr = arena_strdup(r->a, store_text(st, 2));
	out->amr = arena_strdup(r->a, store_text(st, 3));
	out->aal = (int)store_int(st, 4);
	out->auth_time = store_int(st, 5);
	out->methods = (unsigned)store_int(st, 6);
	out->id_hash = arena_strdup(r->a, hash);
	rc = (out->sid && out->uid && out->acr && out->amr && out->id_hash) ? 0 : CAREID_ENOMEM;
out:
	store_done(st);
	return rc;
}

/* Step-up: the browser's live session for the same user gains the methods
 * just proved and keeps its sid; the cookie is replaced all the same, so a
 * token planted before the stronger sign-in is worth nothing after it. */
static int session_upgrade(struct session *out, struct oidc_req *r, const char *old_hash,
                           const char *new_hash, const char *uid, unsigned methods, const char *acr,
                           const char *amr, const char *removal_hash)
{
	static const char sql[] =
	    "UPDATE sessions SET id_hash = $1, methods = $2, acr = $3, amr = $4, aal = $5, "
	    "auth_time = $6, last_seen = $6, removal_hash = COALESCE($7, removal_hash) "
	    "WHERE id_hash = $8 AND env = $9 AND uid = $10 AND ended_at IS NULL AND "
	    "expires_at > $6 AND last_seen > $11";
	struct session cur;
	int64_t now = clock_now();
	int rc;

	memset(out, 0, sizeof(*out));
	rc = session_current(&cur, r);
	if (rc)
		return rc == CAREID_ENOTFOUND ? 1 : rc;
	if (strcmp(cur.uid, uid) != 0 || strcmp(cur.id_hash, old_hash) != 0)
		return 1;
	methods |= cur.methods;
	rc = store_exec(r->p->store, sql, "tittiitttti", new_hash, (int64_t)methods, acr, amr,
	                (int64_t)authn_method_aal(methods), now, removal_hash, old_hash,
	                r->env->name, uid, now - r->env->session_idle);
	if (rc <= 0)
		return rc < 0 ? rc : 1;
	*out = cur;
	out->acr = arena_strdup(r->a, acr);
	out->amr = arena_strdup(r->a, amr);
	out->methods = methods;
	out->aal = authn_method_aal(methods);
	out->auth_time = now;
	out->id_hash = arena_strdup(r->a, new_hash);
	log_pack(LOG_INFO, "session_stepped_up", "{s:s, s:s, s:s, s:s, s:s}", "request_id",
	         r->req->request_id, "env", r->env->name, "sid", cur.sid, "uid", uid, "acr", acr);
	return (out->acr && out->amr && out->id_hash) ? 0 : CAREID_ENOMEM;
}

/* Ends this browser's live session (another user signs in over it). */
static int session_end_current(struct oidc_req *r, const char *new_uid)
{
	struct session cur;
	int rc = session_current(&cur, r);

	if (rc == CAREID_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	return sessions_end(NULL, NULL, r->p->store, r->env->name, cur.sid, SESSION_END_REPLACED,
	                    new_uid);
}

int session_start(struct session *out, struct oidc_req *r, const char *uid, unsigned methods,
                  const char *acr, const char *removal_token)
{
	static const char sql[] =
	    "INSERT INTO sessions (id_hash, env, sid, uid, auth_time, acr, amr, aal, "
	    "created_at, last_seen, expires_at, methods, removal_hash) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7, $8, $9, $10, $11, $12, $13)";
	const char *old = http_cookie(r->req, r->env->cookie_session);
	char token[64], sid[64], hash[CRYPTO_HASH_HEX], old_hash[CRYPTO_HASH_HEX];
	char removal_hash[CRYPTO_HASH_HEX];
	struct cookie_attrs attrs = {
	    .path = r->env->issuer_path, .secure = r->p->secure, .same_site = "Lax"};
	int64_t now = clock_now();
	char *amr_text = authn_amr_json(methods);
	const char *amr = amr_text ? arena_strdup(r->a, amr_text) : NULL;
	int rc;

	free(amr_text);
	memset(out, 0, sizeof(*out));
	if (!amr)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (removal_token)
		crypto_keyed_hash(removal_hash, r->p->secrets.hash_key, removal_token);
	rc = crypto_random_token(token, sizeof(token), 32);
	if (!rc)
		rc = crypto_random_token(sid, sizeof(sid), 16);
	if (rc)
		return rc;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	if (old && strlen(old) <= 100) {
		crypto_keyed_hash(old_hash, r->p->secrets.hash_key, old);
		rc = session_upgrade(out, r, old_hash, hash, uid, methods, acr, amr,
		                     removal_token ? removal_hash : NULL);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return http_set_cookie(r->res, r->env->cookie_session, token, &attrs);
		/* A new sign-in replaces the browser's previous session in this
		 * environment: it ends, and its clients are told. */
		rc = session_end_current(r, uid);
		if (rc < 0)
			return rc;
	}
	rc =
	    store_exec(r->p->store, sql, "ttttittiiiiit", hash, r->env->name, sid, uid, now, acr,
	               amr, (int64_t)authn_method_aal(methods), now, now, now + r->env->session_max,
	               (int64_t)methods, removal_token ? removal_hash : NULL);
	if (rc < 0)
		return rc;
	rc = http_set_cookie(r->res, r->env->cookie_session, token, &attrs);
	if (rc)
		return rc;
	out->sid = arena_strdup(r->a, sid);
	out->uid = arena_strdup(r->a, uid);
	out->acr = arena_strdup(r->a, acr);
	out->amr = amr;
	out->methods = methods;
	out->aal = authn_method_aal(methods);
	out->auth_time = now;
	out->id_hash = arena_strdup(r->a, hash);
	log_pack(LOG_INFO, "session_started", "{s:s, s:s, s:s, s:s, s:s}", "request_id",
	         r->req->request_id, "env", r->env->name, "sid", sid, "uid", uid, "acr", acr);
	return (out->sid && out->uid && out->acr && out->id_hash) ? 0 : CAREID_ENOMEM;
}

int session_end_by_removal(struct oidc_req *r, const char *removal_token, int *ended_out)
{
	static const char sql[] = "SELECT sid FROM sessions WHERE removal_hash = $1 AND env = $2 "
	                          "AND ended_at IS NULL LIMIT 100";
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	json_t *sids = json_array();
	int rc;

	*ended_out = 0;
	if (!sids)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, removal_token);
	rc = store_query(r->p->store, &st, sql, "tt", hash, r->env->name);
	while (!rc && (rc = store_next(st)) == 1)
		rc = json_array_append_new(sids, json_string(store_text(st, 0)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	for (size_t i = 0; rc >= 0 && i < json_array_size(sids); i++) {
		int one = 0;

		rc = sessions_end(&one, NULL, r->p->store, r->env->name,
		                  json_string_value(json_array_get(sids, i)),
		                  SESSION_END_CARD_REMOVED, "agent");
		*ended_out += one;
	}
	json_decref(sids);
	return rc < 0 ? rc : 0;
}

int session_touch(struct oidc_req *r, const struct session *s)
{
	static const char sql[] = "UPDATE sessions SET last_seen = $1 WHERE id_hash = $2";
	int rc = store_exec(r->p->store, sql, "it", clock_now(), s->id_hash);

	return rc < 0 ? rc : 0;
}
