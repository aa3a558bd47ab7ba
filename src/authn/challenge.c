#include "authn/challenge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "crypto/random.h"

/* The hash covers the binding too, so a challenge is worth nothing elsewhere. */
static int challenge_hash(char out[CRYPTO_HASH_HEX], const uint8_t key[CRYPTO_KEY_BYTES],
                          const char *env, const char *purpose, const char *binding,
                          const char *challenge)
{
	char input[512];
	int n = snprintf(input, sizeof(input), "%s|%s|%s|%s", env, purpose, binding, challenge);

	if (n < 0 || (size_t)n >= sizeof(input))
		return careid_error_set(CAREID_ETOOBIG, "challenge binding too long");
	crypto_keyed_hash(out, key, input);
	return 0;
}

int challenge_new(char out[CHALLENGE_MAX], store *s, const uint8_t key[CRYPTO_KEY_BYTES],
                  const char *env, const char *purpose, const char *binding, const char *uid,
                  int64_t now)
{
	static const char sql[] =
	    "INSERT INTO authn_challenges (challenge_hash, env, purpose, tx_hash, uid, "
	    "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
	static const char sql_prune[] = "DELETE FROM authn_challenges WHERE expires_at < $1";
	char hash[CRYPTO_HASH_HEX], bhash[CRYPTO_HASH_HEX];
	int rc;

	rc = crypto_random_token(out, CHALLENGE_MAX, 32);
	if (!rc)
		rc = challenge_hash(hash, key, env, purpose, binding, out);
	if (rc)
		return rc;
	crypto_keyed_hash(bhash, key, binding);
	rc = store_exec(s, sql_prune, "i", now - CHALLENGE_TTL);
	if (rc >= 0)
		rc = store_exec(s, sql, "tttttii", hash, env, purpose, bhash, uid, now,
		                now + CHALLENGE_TTL);
	return rc < 0 ? rc : 0;
}

int challenge_use(char **uid_out, store *s, const uint8_t key[CRYPTO_KEY_BYTES], const char *env,
                  const char *purpose, const char *binding, const char *challenge, int64_t now)
{
	static const char sql_use[] = "UPDATE authn_challenges SET used_at = $1 WHERE "
	                              "challenge_hash = $2 AND used_at IS NULL AND expires_at > $1";
	static const char sql_get[] =
	    "SELECT uid, used_at FROM authn_challenges WHERE challenge_hash = $1";
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	bool used;
	int rc;

	if (uid_out)
		*uid_out = NULL;
	if (!challenge || !*challenge || strlen(challenge) >= CHALLENGE_MAX)
		return careid_error_set(CAREID_ENOTFOUND, "the challenge was not issued here");
	rc = challenge_hash(hash, key, env, purpose, binding, challenge);
	if (rc)
		return rc;
	rc = store_exec(s, sql_use, "it", now, hash);
	if (rc < 0)
		return rc;
	used = rc == 1;
	rc = store_query(s, &st, sql_get, "t", hash);
	if (!rc)
		rc = store_next(st);
	if (rc == 0)
		rc = careid_error_set(
		    CAREID_ENOTFOUND,
		    "the challenge was not issued for this sign-in, or has expired");
	else if (rc == 1 && !used && store_null(st, 1))
		rc = careid_error_set(CAREID_ENOTFOUND, "the challenge has expired");
	else if (rc == 1 && !used)
		rc = careid_error_set(CAREID_EUSED, "the challenge has already been used");
	else if (rc == 1) {
		rc = 0;
		if (uid_out && !store_null(st, 0)) {
			*uid_out = strdup(store_text(st, 0));
			if (!*uid_out)
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		}
	}
	store_done(st);
	return rc;
}
