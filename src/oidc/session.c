/* SSO sessions: one per browser per environment, named by a cookie whose
 * value is a random token; the store keeps only its keyed hash. */
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "oidc/oidc_int.h"

int session_current(struct session *out, struct oidc_req *r)
{
	static const char sql[] =
	    "SELECT sid, uid, acr, amr, aal, auth_time FROM sessions WHERE id_hash = $1 AND "
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
	                 now - SESSION_IDLE_TTL);
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
	out->id_hash = arena_strdup(r->a, hash);
	rc = (out->sid && out->uid && out->acr && out->amr && out->id_hash) ? 0 : CAREID_ENOMEM;
out:
	store_done(st);
	return rc;
}

int session_start(struct session *out, struct oidc_req *r, const char *uid, enum authn_method m,
                  const char *acr)
{
	static const char sql[] =
	    "INSERT INTO sessions (id_hash, env, sid, uid, auth_time, acr, amr, aal, "
	    "created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
	    "$10, $11)";
	static const char sql_end[] =
	    "UPDATE sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL";
	const char *old = http_cookie(r->req, r->env->cookie_session);
	char token[64], sid[64], hash[CRYPTO_HASH_HEX];
	struct cookie_attrs attrs = {
	    .path = r->env->issuer_path, .secure = r->p->secure, .same_site = "Lax"};
	int64_t now = clock_now();
	char *amr;
	int rc;

	memset(out, 0, sizeof(*out));
	/* A new sign-in replaces the browser's previous session in this environment. */
	if (old && strlen(old) <= 100) {
		crypto_keyed_hash(hash, r->p->secrets.hash_key, old);
		rc = store_exec(r->p->store, sql_end, "it", now, hash);
		if (rc < 0)
			return rc;
	}
	rc = crypto_random_token(token, sizeof(token), 32);
	if (!rc)
		rc = crypto_random_token(sid, sizeof(sid), 16);
	if (rc)
		return rc;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, token);
	amr = arena_printf(r->a, "[\"%s\"]", authn_method_amr(m));
	if (!amr)
		return CAREID_ENOMEM;
	rc = store_exec(r->p->store, sql, "ttttittiiii", hash, r->env->name, sid, uid, now, acr,
	                amr, (int64_t)authn_method_aal(m), now, now, now + SESSION_MAX_TTL);
	if (rc < 0)
		return rc;
	rc = http_set_cookie(r->res, r->env->cookie_session, token, &attrs);
	if (rc)
		return rc;
	out->sid = arena_strdup(r->a, sid);
	out->uid = arena_strdup(r->a, uid);
	out->acr = arena_strdup(r->a, acr);
	out->amr = amr;
	out->aal = authn_method_aal(m);
	out->auth_time = now;
	out->id_hash = arena_strdup(r->a, hash);
	log_pack(LOG_INFO, "session_started", "{s:s, s:s, s:s, s:s, s:s}", "request_id",
	         r->req->request_id, "env", r->env->name, "sid", sid, "uid", uid, "acr", acr);
	return (out->sid && out->uid && out->acr && out->id_hash) ? 0 : CAREID_ENOMEM;
}

int session_touch(struct oidc_req *r, const struct session *s)
{
	static const char sql[] = "UPDATE sessions SET last_seen = $1 WHERE id_hash = $2";
	int rc = store_exec(r->p->store, sql, "it", clock_now(), s->id_hash);

	return rc < 0 ? rc : 0;
}
