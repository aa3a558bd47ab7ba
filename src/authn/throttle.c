/* Throttling of failed sign-ins: see throttle.h. */
#include "authn/throttle.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/buf.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#define THROTTLE_ENV_MAX   32
#define THROTTLE_PRUNE_ONE 100 /* throttle_failure() prunes once in this many calls */

enum throttle_kind { THROTTLE_PAIR, THROTTLE_ADDR, THROTTLE_USER, THROTTLE_KINDS };

static const struct {
	const char *name;
	int64_t free, cap;
} throttle_rules[THROTTLE_KINDS] = {
    [THROTTLE_PAIR] = {"pair", THROTTLE_PAIR_FREE, THROTTLE_PAIR_CAP},
    [THROTTLE_ADDR] = {"addr", THROTTLE_ADDR_FREE, THROTTLE_ADDR_CAP},
    [THROTTLE_USER] = {"user", THROTTLE_USER_FREE, THROTTLE_USER_CAP},
};

/* The keyed hashes of the three counters; `used[k]` is false for the pair
 * and user counters when no user is given. */
struct throttle_keys {
	char hash[THROTTLE_KINDS][CRYPTO_HASH_HEX];
	bool used[THROTTLE_KINDS];
};

/* The address as counted: an IPv6 client by its /64 (one subscriber gets a
 * whole /64, so a /128 key would give an attacker 2^64 fresh addresses), an
 * IPv4-mapped one as IPv4; anything else as given. */
static const char *throttle_addr(char out[INET6_ADDRSTRLEN + 4], const char *addr)
{
	struct in6_addr a6;

	if (!addr || !strchr(addr, ':') || inet_pton(AF_INET6, addr, &a6) != 1)
		return addr;
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return inet_ntop(AF_INET, &a6.s6_addr[12], out, INET6_ADDRSTRLEN) ? out : addr;
	memset(&a6.s6_addr[8], 0, 8);
	if (!inet_ntop(AF_INET6, &a6, out, INET6_ADDRSTRLEN))
		return addr;
	memcpy(out + strlen(out), "/64", 4);
	return out;
}

static int throttle_keys_make(struct throttle_keys *k, const uint8_t hash_key[32], const char *env,
                              const char *user, const char *given_addr)
{
	char addr_buf[INET6_ADDRSTRLEN + 4];
	const char *addr = throttle_addr(addr_buf, given_addr);
	size_t env_len = env ? strlen(env) : 0, addr_len = addr ? strlen(addr) : 0;
	char lower[THROTTLE_USER_MAX + 1];
	struct buf b;
	int rc = 0;

	memset(k, 0, sizeof(*k));
	if (env_len == 0 || env_len > THROTTLE_ENV_MAX)
		return careid_error_set(CAREID_EINVALID, "throttle: bad environment");
	if (addr_len == 0 || addr_len > THROTTLE_ADDR_MAX)
		return careid_error_set(CAREID_EINVALID, "throttle: bad client address");
	if (user) {
		size_t n = strlen(user);

		if (n > THROTTLE_USER_MAX)
			return careid_error_set(CAREID_EINVALID, "the username is too long");
		for (size_t i = 0; i <= n; i++)
			lower[i] = (user[i] >= 'A' && user[i] <= 'Z') ? (char)(user[i] - 'A' + 'a')
			                                              : user[i];
	}
	buf_init(&b, THROTTLE_ENV_MAX + THROTTLE_USER_MAX + THROTTLE_ADDR_MAX + 16);
	for (int kind = 0; kind < THROTTLE_KINDS && rc == 0; kind++) {
		if (kind != THROTTLE_ADDR && !user)
			continue;
		buf_reset(&b);
		if (kind == THROTTLE_PAIR)
			rc = buf_printf(&b, "%s|%s|%s|%s", env, throttle_rules[kind].name, lower,
			                addr);
		else
			rc = buf_printf(&b, "%s|%s|%s", env, throttle_rules[kind].name,
			                kind == THROTTLE_ADDR ? addr : lower);
		if (rc == 0) {
			crypto_keyed_hash(k->hash[kind], hash_key, b.ptr);
			k->used[kind] = true;
		}
	}
	buf_release(&b);
	return rc;
}

/* The hash of counter `kind`, or NULL (binds SQL NULL, which matches no row). */
static const char *throttle_key(const struct throttle_keys *k, int kind)
{
	return k->used[kind] ? k->hash[kind] : NULL;
}

/* Seconds a counter of `kind` blocks after its `n`-th failure. */
static int64_t throttle_delay(int kind, int64_t n)
{
	int64_t over = n - throttle_rules[kind].free, cap = throttle_rules[kind].cap;

	if (over <= 0)
		return 0;
	if (over >= 30 || ((int64_t)1 << over) > cap)
		return cap;
	return (int64_t)1 << over;
}

int throttle_check(int64_t *retry_after_out, store *s, const uint8_t hash_key[32], const char *env,
                   const char *user, const char *addr, int64_t now)
{
	static const char sql[] = "SELECT MAX(blocked_until) FROM signin_throttle "
	                          "WHERE key_hash IN ($1, $2, $3)";
	struct throttle_keys k;
	store_stmt *st = NULL;
	int64_t until = 0;
	int rc;

	*retry_after_out = 0;
	if ((rc = throttle_keys_make(&k, hash_key, env, user, addr)) < 0)
		return rc;
	rc = store_query(s, &st, sql, "ttt", throttle_key(&k, THROTTLE_PAIR),
	                 throttle_key(&k, THROTTLE_ADDR), throttle_key(&k, THROTTLE_USER));
	if (rc == 0 && (rc = store_next(st)) == 1) {
		if (!store_null(st, 0))
			until = store_int(st, 0);
		rc = 0;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (until <= now)
		return 0;
	*retry_after_out = until - now;
	return careid_error_set(CAREID_EBUSY, "too many failed sign-ins; try again in %lld seconds",
	                        (long long)(until - now));
}

/*
 * Counts one failure on counter `hash` and moves its blocked_until. Two
 * statements, each atomic; the second never moves blocked_until back, so a
 * concurrent failure that counted less cannot shorten the block. (A block
 * from before a decay ended long ago: the new one is always later.)
 */
static int throttle_count(store *s, int kind, const char *hash, int64_t now)
{
	static const char upsert[] =
	    "INSERT INTO signin_throttle (key_hash, failures, last_failure, blocked_until) "
	    "VALUES ($1, 1, $2, $3) ON CONFLICT (key_hash) DO UPDATE SET "
	    "failures = CASE WHEN signin_throttle.last_failure < $4 THEN 1 "
	    "ELSE signin_throttle.failures + 1 END, last_failure = $5 RETURNING failures";
	static const char block[] = "UPDATE signin_throttle SET blocked_until = $1 "
	                            "WHERE key_hash = $2 AND blocked_until < $3";
	store_stmt *st = NULL;
	int64_t n = 0, until;
	int rc;

	rc = store_query(s, &st, upsert, "tiiii", hash, now, now, now - THROTTLE_DECAY, now);
	if (rc == 0) {
		while ((rc = store_next(st)) == 1)
			n = store_int(st, 0);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (n <= 0)
		return careid_error_set(CAREID_ESTORE, "throttle: the counter was not returned");
	until = now + throttle_delay(kind, n);
	rc = store_exec(s, block, "iti", until, hash, until);
	return rc < 0 ? rc : 0;
}

int throttle_failure(store *s, const uint8_t hash_key[32], const char *env, const char *user,
                     const char *addr, int64_t now)
{
	struct throttle_keys k;
	uint32_t dice;
	int rc;

	if ((rc = throttle_keys_make(&k, hash_key, env, user, addr)) < 0)
		return rc;
	for (int kind = 0; kind < THROTTLE_KINDS; kind++)
		if (k.used[kind] && (rc = throttle_count(s, kind, k.hash[kind], now)) < 0)
			return rc;
	crypto_random_bytes(&dice, sizeof(dice));
	/* Pruning is housekeeping: its failure is not the caller's. */
	if (dice % THROTTLE_PRUNE_ONE == 0 && throttle_prune(NULL, s, now) < 0)
		careid_error_clear();
	return 0;
}

int throttle_success(store *s, const uint8_t hash_key[32], const char *env, const char *user,
                     const char *addr)
{
	static const char sql[] = "DELETE FROM signin_throttle WHERE key_hash IN ($1, $2)";
	struct throttle_keys k;
	int rc;

	if ((rc = throttle_keys_make(&k, hash_key, env, user, addr)) < 0)
		return rc;
	if (!user)
		return 0;
	rc = store_exec(s, sql, "tt", k.hash[THROTTLE_PAIR], k.hash[THROTTLE_USER]);
	return rc < 0 ? rc : 0;
}

int throttle_prune(int *deleted_out, store *s, int64_t now)
{
	static const char sql[] = "DELETE FROM signin_throttle WHERE last_failure < $1";
	int rc = store_exec(s, sql, "i", now - THROTTLE_KEEP);

	if (deleted_out)
		*deleted_out = rc < 0 ? 0 : rc;
	return rc < 0 ? rc : 0;
}
