/*
 * The environments' signing keys (the signing_keys table, owned by oidc/keys.c):
 * what `careid keys rotate|list` uses. The keyring the provider's threads read
 * is in oidc_int.h.
 *
 * Each environment has one key that signs what careid issues (ID tokens,
 * signed userinfo, logout tokens): the newest key with `active` = 1 and no
 * `retired_at`. A rotation makes a new RSA-2048 key the signer and retires the
 * previous one. A retired key signs nothing more but stays in the
 * environment's JWKS until everything it signed has expired: for
 * KEYS_RETIRED_PUBLISHED seconds after its retirement, the ID token lifetime
 * (one hour) plus five minutes for clock skew and for servers that have not
 * yet noticed the rotation. Then it drops out of the JWKS; its row stays, for
 * the record. A key with `active` = 0 is withdrawn: never published.
 *
 * Running servers, on this node or others sharing the store, follow a
 * rotation within about a second, without a restart.
 *
 * Private keys are stored as JWK text, sealed with the key-encryption key
 * when one is given (crypto/seal.h; additional data
 * "careid-signing-key-v1|ENV|KID"), else plain. Both are read, so a store
 * written before sealing keeps working; `careid keys seal` seals what is
 * plain or sealed with the old KEK.
 */
#ifndef CAREID_OIDC_KEYS_H
#define CAREID_OIDC_KEYS_H

#include <jansson.h>

#include "crypto/seal.h"
#include "store/store.h"

/* How long a retired key stays published: ID_TOKEN_TTL (oidc_int.h) + 300. */
#define KEYS_RETIRED_PUBLISHED (3600 + 300)

/*
 * Rotates environment `env`'s keys in one transaction: generates an RSA-2048
 * key (kid: its RFC 7638 thumbprint) that signs from now on, sets retired_at
 * to now on every key that was signing, and records an audit event
 * "keys.rotated" (actor "operator"). `*out` (new reference) is
 * {"env", "kid", "created_at", "retired": [{"kid", "retired_at",
 * "published_until"}]} (Unix seconds). The first rotation of an environment
 * that has no key yet simply makes one. The new key is stored sealed with
 * `kek` when it has a current KEK. Without one, EINVALID when `env` already
 * has sealed keys (a plain key among sealed ones would be a mistake). With
 * one, ELOCKED when a published signing key of any environment or a server
 * secret is sealed with a KEK `kek` holds neither as current nor as old: a
 * stale or another deployment's KEK, whose key the servers could not open.
 * Nothing is written on either refusal.
 */
int keys_rotate(json_t **out, store *s, const struct kek *kek, const char *env);

/*
 * Every key of environment `env`, newest first: `*out` (new reference) is an
 * array of {"kid", "state", "created_at", "retired_at", "published_until"}
 * (Unix seconds or null) where state is "signing", "published" (retired, still
 * in the JWKS), "expired" (retired, out of the JWKS) or "withdrawn".
 */
int keys_list(json_t **out, store *s, const char *env);

/*
 * Seals with `kek`'s current KEK every private key stored plain or sealed
 * with its old KEK: the signing keys of environment `env` (NULL: of every
 * environment, and then the server secrets too, see secrets_seal() in
 * oidc/clients.h), in one transaction audited as "keys.sealed" (actor
 * "operator") when anything changed. Idempotent: keys already sealed with the
 * current KEK are left alone. Nothing is written when one key cannot be
 * opened (ELOCKED: sealed with a KEK not given). EINVALID without a current
 * KEK. `*out` (new reference) is {"key_id", "env" (or null), "sealed":
 * [{"env", "kid", "was"}], "server_secrets": [{"name", "was"}],
 * "already_sealed": N} where "was" is "plain" or "old_key".
 */
int keys_seal(json_t **out, store *s, const struct kek *kek, const char *env);

#endif
