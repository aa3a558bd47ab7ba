/*
 * Private keys at rest: sealed with a key-encryption key (KEK) that the
 * operator keeps outside the store, so a copy of the store (a backup, a
 * replica, a stolen disk) holds no usable private key.
 *
 * The KEK comes from the environment, read once at start:
 *   CAREID_KEY_ENCRYPTION_KEY      32 random bytes in base64 or base64url
 *                                  (`openssl rand -base64 32`): seals what
 *                                  careid writes and opens what it reads;
 *   CAREID_KEY_ENCRYPTION_KEY_OLD  the previous KEK while it is being rotated
 *                                  out: opens only, never seals.
 * Unset (or empty), private keys are written plain, as before.
 *
 * A sealed value is self-describing text:
 *   sealed:v1:<key id>:<base64url(nonce || ciphertext)>
 * XChaCha20-Poly1305 (IETF) with a fresh random 24-byte nonce and additional
 * data naming the row it belongs to ("careid-signing-key-v1|mock|<kid>"), so
 * a value copied into another row does not open. The key id is 16 hex digits:
 * the first 8 bytes of BLAKE2b keyed with the KEK over a fixed label. It names
 * the KEK without revealing it, so a value sealed with another KEK is reported
 * as such rather than as damage.
 */
#ifndef CAREID_CRYPTO_SEAL_H
#define CAREID_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#define KEK_BYTES  32
#define KEK_ID_HEX 17 /* 16 hex digits and a NUL */

#define KEK_ENV     "CAREID_KEY_ENCRYPTION_KEY"
#define KEK_ENV_OLD "CAREID_KEY_ENCRYPTION_KEY_OLD"

/* Read-only after kek_parse(); wiped by kek_release(). A zeroed struct is
 * "no KEK": private keys stored plain. */
struct kek {
	bool set;     /* a current KEK: seals and opens */
	bool has_old; /* an old KEK: opens only */
	uint8_t key[KEK_BYTES];
	uint8_t old[KEK_BYTES];
	char id[KEK_ID_HEX];
	char old_id[KEK_ID_HEX];
};

/*
 * Parses the values of the two variables (either may be NULL or empty:
 * unset). EINVALID, naming the variable but never echoing its value, when a
 * value is not base64/base64url of exactly 32 bytes, or when an old KEK is
 * given without a current one. `*out` is zeroed first, and again on failure.
 */
int kek_parse(struct kek *out, const char *current, const char *old);

/* kek_parse() of KEK_ENV and KEK_ENV_OLD from the process environment. */
int kek_from_env(struct kek *out);

/* Wipes the keys (sodium_memzero). Accepts NULL. */
void kek_release(struct kek *k);

/* The sealed value kinds kek_state() tells apart. */
enum kek_state {
	KEK_PLAIN,   /* not sealed */
	KEK_CURRENT, /* sealed with the current KEK */
	KEK_OLD,     /* sealed with the old KEK */
	KEK_OTHER,   /* sealed with a KEK not given, or not a valid sealed value */
};
enum kek_state kek_state(const struct kek *k, const char *stored);

/*
 * Whether kek_open() would find the key `stored` names, without opening it:
 * 0 when it is plain or sealed with the current or the old KEK; ELOCKED
 * (naming the value's key id and the KEKs' ids) when sealed with another key
 * or with none given; EINVALID when not a sealed value this careid reads.
 */
int kek_check(const struct kek *k, const char *stored, const char *what);

/*
 * Seals `plain` (up to 16 KiB) bound to the additional data `ad`: `*out`
 * (malloc'd, free() it) is the sealed text. EINVALID when no current KEK is
 * set, ETOOBIG over the size cap.
 */
int kek_seal(char **out, const struct kek *k, const char *ad, const char *plain);

/* What to store: kek_seal() when a current KEK is set, else a copy of `plain`. */
int kek_wrap(char **out, const struct kek *k, const char *ad, const char *plain);

/*
 * What was stored, in the clear: `*out` (malloc'd; wipe and free() it). A
 * plain value is returned as it is (stores written before sealing, or with no
 * KEK). `what` names the value in error messages ("signing key mock/KID").
 *   ELOCKED       sealed, and the KEK it was sealed with is not given (no
 *                 KEK at all: "… is sealed; set CAREID_KEY_ENCRYPTION_KEY")
 *   ECRYPTO       the right KEK, but it does not open: altered, or moved from
 *                 another row (other additional data)
 *   EINVALID      not a well-formed sealed value
 *   EUNSUPPORTED  a sealed format newer than this careid
 */
int kek_open(char **out, const struct kek *k, const char *ad, const char *stored, const char *what);

#endif
