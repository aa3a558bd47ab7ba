/*
 * Throttling of failed sign-ins: guessing must be slow, yet an attacker must
 * never be able to lock a user out for good.
 *
 * Three counters of failures are kept in `signin_throttle`, each under a
 * keyed hash (crypto_keyed_hash with the server's hash key) of
 *
 *   "ENV|pair|USER|ADDR"  one user from one address: an attacker guessing
 *                         one user's password;
 *   "ENV|addr|ADDR"       any user from one address: password spraying;
 *   "ENV|user|USER"       one user from any address: a distributed attack.
 *
 * USER is the user's uid when the username is known, else the username as
 * typed (so unknown usernames are throttled too, and alike); throttle/
 * lowercases ASCII letters itself. ADDR is the client's address as the HTTP
 * layer established it (whether a proxy's X-Forwarded-For is trusted is
 * decided there).
 *
 * After n failures a counter blocks further attempts for a delay after its
 * last failure:
 *
 *   counter  free failures  delay after the n-th failure      cap
 *   pair     3              2^(n-3) s (2 s, 4 s, 8 s, …)      15 min
 *   addr     20             2^(n-20) s                        15 min
 *   user     10             2^(n-10) s                        60 s
 *
 * The user counter's cap of 60 s is what stops a lockout: whatever an
 * attacker does from other addresses, the real user signing in from their
 * own address waits at most a minute before each attempt (a persistent
 * distributed attacker can keep imposing that minute, never more). The
 * pair and address counters only slow down the address that failed (and
 * anyone behind the same NAT, up to 15 minutes). At the caps one address
 * gets about 4 guesses an hour at one user, and all addresses together about
 * 60 an hour.
 *
 * Counters decay: a counter whose last failure is more than an hour old
 * starts again from 0 at the next failure (and blocks nothing meanwhile, as
 * every delay is shorter than an hour). Rows older than a day are deleted by
 * throttle_prune(), which throttle_failure() calls about once in 100 calls.
 *
 * Use: throttle_check() BEFORE computing the password hash (a blocked attempt
 * costs no hash and must count nothing, so hammering during a block does not
 * extend it); throttle_failure() after a wrong password (or TOTP code), and
 * only then; throttle_success() after a right one.
 *
 * Arguments: `hash_key` is the 32-byte key for crypto_keyed_hash; `env` is
 * 1 to 32 bytes; `addr` is 1 to THROTTLE_ADDR_MAX bytes; `user` is at most
 * THROTTLE_USER_MAX bytes, or NULL when there is none (a passkey or smartcard
 * attempt before the user is known): only the address counter applies then.
 * Pass NULL rather than a placeholder such as "-", which would be one user
 * shared by all such attempts, whose counter anyone could keep at its cap.
 * Longer or missing values are CAREID_EINVALID. `now` is Unix seconds.
 * Callable from any thread; each call uses that thread's store connection.
 */
#ifndef CAREID_AUTHN_THROTTLE_H
#define CAREID_AUTHN_THROTTLE_H

#include <stdint.h>

#include "store/store.h"

#define THROTTLE_USER_MAX 512
#define THROTTLE_ADDR_MAX 128

#define THROTTLE_PAIR_FREE 3
#define THROTTLE_PAIR_CAP  900
#define THROTTLE_ADDR_FREE 20
#define THROTTLE_ADDR_CAP  900
#define THROTTLE_USER_FREE 10
#define THROTTLE_USER_CAP  60
#define THROTTLE_DECAY     3600  /* a counter idle this long starts again */
#define THROTTLE_KEEP      86400 /* rows idle this long are pruned */

/*
 * 0 when an attempt may go ahead (`*retry_after_out` = 0). CAREID_EBUSY
 * "too many failed sign-ins; try again in N seconds" when one of the three
 * counters blocks, with the number of seconds to wait (the largest of the
 * three, at least 1) in `*retry_after_out`. Store errors as store_query().
 */
int throttle_check(int64_t *retry_after_out, store *s, const uint8_t hash_key[32], const char *env,
                   const char *user, const char *addr, int64_t now);

/*
 * Counts a failed attempt at `now` on the three counters and sets when each
 * next allows an attempt; now and then prunes old rows. It opens no
 * transaction: inside one of the caller's (with the audit record, say) the
 * counters change together; outside, each statement is atomic on its own.
 *
 * Never call it for an attempt that throttle_check() refused: counting those
 * would let anyone keep a user blocked for ever by asking once a minute.
 */
int throttle_failure(store *s, const uint8_t hash_key[32], const char *env, const char *user,
                     const char *addr, int64_t now);

/*
 * A successful sign-in: clears the pair and user counters. The address
 * counter stays: one good password from an address does not excuse its
 * spraying of others.
 */
int throttle_success(store *s, const uint8_t hash_key[32], const char *env, const char *user,
                     const char *addr);

/* Deletes counters whose last failure is more than THROTTLE_KEEP seconds
 * before `now`. `deleted_out` (may be NULL) receives how many. */
int throttle_prune(int *deleted_out, store *s, int64_t now);

#endif
