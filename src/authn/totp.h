/*
 * Authenticator apps: TOTP (RFC 6238) with HMAC-SHA-1, 30-second steps and
 * 6 digits, the parameters every app (Microsoft and Google Authenticator,
 * FreeOTP, …) understands. The only user of liboath.
 *
 * A secret is 20 random bytes shown as RFC 4648 base32 (uppercase, no
 * padding: 32 characters). It is stored sealed (crypto_seal with the server's
 * seal key) in an `authenticators` row of kind "totp", method AUTHN_TOTP,
 * data {"secret": SEALED}. The row's `counter` is the last time step accepted
 * (steps count 30-second periods since the Unix epoch): a code is accepted
 * only for a step later than it, so no code works twice, including the one
 * that confirmed enrolment. A user may have several apps.
 *
 * Codes are accepted one step either side of `now` (clock drift and typing
 * time). Codes may be typed with spaces ("123 456"): spaces are ignored, and
 * what remains must be exactly 6 ASCII digits.
 *
 * No set-up call is needed: oath_init() is called where liboath is used (it is
 * stateless and idempotent in liboath 2.6, which uses its built-in crypto).
 * Every function may be called from any thread.
 */
#ifndef CAREID_AUTHN_TOTP_H
#define CAREID_AUTHN_TOTP_H

#include <stdint.h>

#include "store/store.h"

#define TOTP_DIGITS     6
#define TOTP_PERIOD     30
#define TOTP_SECRET_LEN 20  /* bytes */
#define TOTP_NAME_MAX   100 /* bytes of an authenticator's name */
#define TOTP_LABEL_MAX  200 /* bytes of an issuer label or account name */
/* Consecutive wrong codes after which a user's apps are locked (NIST SP
 * 800-63B §5.2.2 allows at most 100): throttling slows guessing down, this
 * bounds it. An administrator unlocks (directory_authenticator_unlock). */
#define TOTP_MAX_FAILURES 100

/* A new secret, base32: `*b32_out` is 32 characters; free() it. */
int totp_secret_new(char **b32_out);

/*
 * The Key URI an app scans (github.com/google/google-authenticator/wiki/
 * Key-Uri-Format):
 *   otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * with ISSUER and ACCOUNT percent-encoded (UTF-8 bytes, everything but
 * RFC 3986 unreserved characters). The app shows ISSUER and ACCOUNT to tell
 * entries apart. `*out` is the caller's to free().
 * CAREID_EINVALID when the issuer or account is empty, longer than
 * TOTP_LABEL_MAX or contains a colon (the Key URI format forbids one even
 * encoded), or when `b32` is not a base32 secret.
 */
int totp_uri(char **out, const char *issuer_label, const char *account, const char *b32);

/* The code for time `now` (Unix seconds) into `out` (6 digits and a NUL).
 * CAREID_EINVALID when `b32` is not a base32 secret or `now` is negative. */
int totp_code(char out[TOTP_DIGITS + 1], const char *b32, int64_t now);

/*
 * Checks `code` against secret `b32` at `now`, one step either side. On a
 * match returns 0 and the absolute time step it matched in `*step_out` (may
 * be NULL). CAREID_EINVALID when `code` is not 6 digits (spaces ignored) or
 * `b32` is not a secret, CAREID_EDENIED "the code is not correct" else.
 * Stateless: it does not refuse replays; totp_verify() does.
 */
int totp_check(int64_t *step_out, const char *b32, const char *code, int64_t now);

/*
 * Registers an authenticator app for user `uid` of `env`, once the user has
 * typed a code that totp_check() accepted at step `step`: the row's counter
 * is `step`, so that same code cannot then be used to sign in. `name` (1 to
 * TOTP_NAME_MAX bytes) is what the user calls the app. The secret is sealed
 * with `seal_key`. `*id_out` (may be NULL) receives the new authenticator's
 * id; free() it. created_at is clock_now().
 * CAREID_EINVALID on a bad name or secret, or when user `uid` does not exist
 * in `env` (the store's foreign key); CAREID_ESTORE when the store fails.
 */
int totp_enrol(char **id_out, store *s, const uint8_t seal_key[32], const char *env,
               const char *uid, const char *name, const char *b32, int64_t step);

/*
 * Signs in with an authenticator app: tries `code` at `now` against each
 * unrevoked TOTP authenticator of user `uid`. On a match at step S the
 * authenticator's counter moves to S (and last_used_at to `now`) in one
 * conditional UPDATE, so of two requests with the same code exactly one
 * succeeds. Returns 0 with the authenticator's id in `*id_out` (may be NULL;
 * free() it). Errors:
 *   CAREID_ENOTFOUND "no authenticator app is set up"
 *   CAREID_EINVALID  `code` is not 6 digits
 *   CAREID_EUSED     "this code has already been used; wait for the next one"
 *                    (this code or a later one was accepted before)
 *   CAREID_EDENIED   "the code is not correct" (counted: each wrong code adds one
 *                    to the user's apps' consecutive failures; a right one resets them)
 *   CAREID_ELOCKED   the apps saw TOTP_MAX_FAILURES wrong codes in a row: locked
 *   CAREID_ECRYPTO   a stored secret does not open with `seal_key`
 *   CAREID_ESTORE, CAREID_EBUSY from the store.
 */
int totp_verify(char **id_out, store *s, const uint8_t seal_key[32], const char *env,
                const char *uid, const char *code, int64_t now);

#endif
