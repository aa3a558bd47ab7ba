/*
 * Relying parties registered in an environment, and how they authenticate at
 * the token endpoint. Used by the provider and by `careid client add`.
 */
#ifndef CAREID_OIDC_CLIENTS_H
#define CAREID_OIDC_CLIENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "crypto/seal.h"
#include "store/store.h"

/* Process-wide keys kept in the store (table server_secrets), created on
 * first use, and the key-encryption key from the environment. */
struct secrets {
	uint8_t hash_key[CRYPTO_KEY_BYTES]; /* keyed hashes of secrets and tokens */
	uint8_t seal_key[CRYPTO_KEY_BYTES]; /* recoverable secrets (client_secret_jwt, TOTP
	                                       secrets, the smartcard test CAs' keys) */
	uint8_t csrf_key[CRYPTO_KEY_BYTES]; /* CSRF tokens */
	struct kek kek; /* seals private keys at rest (crypto/seal.h); may be unset */
};

/*
 * Reads the key-encryption key from the environment (kek_from_env(), once,
 * at start) and loads the server secrets with it: secrets_load_kek(). The
 * caller wipes `out` when done.
 */
int secrets_load(struct secrets *out, store *s);

/*
 * Loads the server secrets, creating those missing. With a current KEK in
 * `kek` (copied into out->kek), new ones are stored sealed (additional data
 * "careid-server-secret-v1|NAME"): the seal key protects the smartcard CAs'
 * private keys and other recoverable secrets, so it must not lie in the
 * clear next to them. Stored ones open whether plain or sealed (kek_open()
 * errors: ELOCKED when sealed and the KEK is not given).
 */
int secrets_load_kek(struct secrets *out, store *s, const struct kek *kek);

/*
 * kek_check() of each stored server secret: ELOCKED (naming the key ids) when
 * one is sealed with a KEK `kek` does not hold. Opens nothing.
 */
int secrets_check(store *s, const struct kek *kek);

/*
 * For `careid keys seal` (inside its transaction): seals with `kek`'s current
 * KEK each server secret stored plain or sealed with the old KEK. Appends
 * {"name", "was": "plain"|"old_key"} to `sealed` per secret sealed; adds the
 * secrets already sealed with the current KEK to `*already`.
 */
int secrets_seal(json_t *sealed, int *already, store *s, const struct kek *kek);

struct client {
	char *env;
	char *client_id;
	char *name;
	char *auth_method;   /* client_secret_basic, client_secret_post, client_secret_jwt,
	                        private_key_jwt */
	char *secret_hash;   /* keyed hash; NULL for private_key_jwt */
	char *secret_sealed; /* client_secret_jwt only */
	char *jwks;          /* private_key_jwt: registered JWKS text, or NULL */
	char *jwks_uri;      /* or a URI to fetch it from */
	char *id_token_alg;
	char *userinfo_alg; /* NULL: userinfo as JSON */
	char *backchannel_logout_uri;
	char *default_acr;
	char **redirect_uris;
	size_t nredirect;
};

/* Loads a client with its redirect URIs. CAREID_ENOTFOUND when unknown. */
int client_get(struct client **out, store *s, const char *env, const char *client_id);
void client_free(struct client *c);

/* Exact string comparison against the registered redirect URIs. */
bool client_redirect_registered(const struct client *c, const char *uri);

/* Checks a redirect URI for registration: https, or http on a loopback host
 * (127.0.0.1, [::1], localhost) for native apps and tests; no fragment. */
int client_check_redirect_uri(const char *uri);

/* True for the ID token/userinfo signing algorithms careid offers. */
bool client_alg_supported(const char *alg);

struct client_new {
	const char *env;
	const char *name;
	const char *auth_method; /* default client_secret_basic */
	const char *const *redirect_uris;
	size_t nredirect;
	const char *jwks; /* JSON text */
	const char *jwks_uri;
	const char *id_token_alg; /* default RS256 */
	const char *userinfo_alg;
	const char *backchannel_logout_uri;
	const char *default_acr;
	const char *const *post_logout_uris; /* RP-initiated logout, may be 0 of them */
	size_t npost_logout;
};

/*
 * Registers a client. `*out` is {"client_id", "client_secret"} (the secret is
 * shown once and stored hashed or sealed; absent for private_key_jwt).
 * CAREID_EINVALID with a message for anything unacceptable.
 */
int client_add(json_t **out, store *s, const struct secrets *sec, const struct client_new *c);

/* True when `uri` is registered (exactly) as a post-logout redirect URI of
 * client `client_id` in `env`. */
bool client_post_logout_registered(store *s, const char *env, const char *client_id,
                                   const char *uri);

/* Removes a client and its redirect URIs (its own transaction). Used to undo
 * a registration whose caller could not record it; CAREID_ENOTFOUND when
 * there is no such client. */
int client_delete(store *s, const char *env, const char *client_id);

/*
 * Replaces the secret of a client that authenticates with one
 * (client_secret_basic, client_secret_post, client_secret_jwt): the old
 * secret stops working at once. `*out` is {"client_id", "client_secret"} (the
 * new secret, shown once; stored hashed, or sealed for client_secret_jwt).
 * One UPDATE and no transaction of its own, so a caller can record the
 * rotation in the same transaction as its own rows. CAREID_ENOTFOUND for an
 * unknown client, CAREID_EINVALID for a private_key_jwt client (it has no
 * secret).
 */
int client_rotate_secret(json_t **out, store *s, const struct secrets *sec, const char *env,
                         const char *client_id);

/* The post-logout redirect URIs of a client, in registration order: a new
 * array of strings (empty when it has none or does not exist). */
int client_post_logout_list(json_t **out, store *s, const char *env, const char *client_id);

#endif
