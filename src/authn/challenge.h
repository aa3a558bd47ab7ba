/*
 * Challenges for authenticators that sign one (WebAuthn, smartcards): random,
 * shown to one browser for one sign-in transaction, usable once, for a few
 * minutes. The store keeps only a keyed hash.
 */
#ifndef CAREID_AUTHN_CHALLENGE_H
#define CAREID_AUTHN_CHALLENGE_H

#include <stdint.h>

#include "crypto/hash.h"
#include "store/store.h"

#define CHALLENGE_TTL 300
/* A challenge as text: base64url of 32 random bytes, with its NUL. */
#define CHALLENGE_MAX 48

/* What a challenge is for; a challenge of one purpose never passes for another. */
#define CHALLENGE_WEBAUTHN_GET    "webauthn.get"
#define CHALLENGE_WEBAUTHN_CREATE "webauthn.create"
#define CHALLENGE_SMARTCARD       "smartcard"

/*
 * Issues a challenge for `purpose`, bound to `binding` (the sign-in
 * transaction id, or for a registration the session's id hash) and, for a
 * registration, the user `uid` (may be NULL). Also removes expired ones.
 */
int challenge_new(char out[CHALLENGE_MAX], store *s, const uint8_t key[CRYPTO_KEY_BYTES],
                  const char *env, const char *purpose, const char *binding, const char *uid,
                  int64_t now);

/*
 * Uses a challenge: 0 when `challenge` was issued for this purpose, binding
 * and environment, is not expired and was not used (it is now); CAREID_EUSED
 * when it was used before; CAREID_ENOTFOUND when it was never issued here or
 * has expired. `uid_out` (may be NULL) gets the registration's user, or NULL;
 * free() it.
 */
int challenge_use(char **uid_out, store *s, const uint8_t key[CRYPTO_KEY_BYTES], const char *env,
                  const char *purpose, const char *binding, const char *challenge, int64_t now);

#endif
