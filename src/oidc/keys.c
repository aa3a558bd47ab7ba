/* Signing keys per environment: generated on first start, kept in the store. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "oidc/oidc_int.h"

static int load_active(signing_key **out, store *s, const char *env)
{
	static const char sql[] = "SELECT private_jwk FROM signing_keys WHERE env = $1 AND "
	                          "active = 1 ORDER BY created_at DESC, kid LIMIT 1";
	store_stmt *st = NULL;
	int rc;

	*out = NULL;
	rc = store_query(s, &st, sql, "t", env);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc < 0)
		goto out;
	rc = rc ? signing_key_from_json(out, store_text(st, 0))
	        : careid_error_set(CAREID_ENOTFOUND, "no signing key");
out:
	store_done(st);
	return rc;
}

static int generate(store *s, const char *env)
{
	static const char sql[] = "INSERT INTO signing_keys (env, kid, private_jwk, created_at, "
	                          "active) VALUES ($1, $2, $3, $4, 1)";
	signing_key *k = NULL;
	char *jwk = NULL;
	int rc;

	rc = signing_key_generate_rsa(&k);
	if (rc)
		goto out;
	rc = signing_key_to_json(k, &jwk);
	if (rc)
		goto out;
	rc = store_exec(s, sql, "ttti", env, signing_key_kid(k), jwk, clock_now());
	if (rc >= 0) {
		rc = 0;
		log_pack(LOG_INFO, "signing_key_generated", "{s:s, s:s}", "env", env, "kid",
		         signing_key_kid(k));
	}
out:
	if (jwk) {
		memset(jwk, 0, strlen(jwk));
		free(jwk);
	}
	signing_key_free(k);
	return rc;
}

int keys_load_env(provider *p, struct env_state *e)
{
	int rc = load_active(&e->key, p->store, e->name);

	if (rc == CAREID_ENOTFOUND) {
		/* Two processes starting at once may both generate: both keys are
		 * kept and the newest signs, which is harmless. */
		rc = generate(p->store, e->name);
		if (!rc)
			rc = load_active(&e->key, p->store, e->name);
	}
	if (rc)
		return rc;
	e->jwks = json_pack("{s:[o]}", "keys", signing_key_public_jwk(e->key, NULL));
	if (!e->jwks)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}
