/* Sign-in transactions (between /authorize and the answer to the client)
 * and the CSRF tokens of their forms. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "oidc/oidc_int.h"

#define CSRF_COOKIE "careid_csrf"

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

int tx_set_user(struct oidc_req *r, struct tx *t, const char *uid)
{
	static const char sql[] =
	    "UPDATE auth_requests SET uid = $1, params = $2 WHERE id_hash = $3 AND "
	    "session_hash IS NULL";
	char hash[CRYPTO_HASH_HEX];
	char *text = json_dumps(t->params, JSON_COMPACT);
	int rc;

	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	crypto_keyed_hash(hash, r->p->secrets.hash_key, t->id);
	rc = store_exec(r->p->store, sql, "ttt", uid, text, hash);
	free(text);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return careid_error_set(CAREID_ENOTFOUND, "no sign-in in progress");
	t->uid = uid ? arena_strdup(r->a, uid) : NULL;
	return (!uid || t->uid) ? 0 : CAREID_ENOMEM;
}
