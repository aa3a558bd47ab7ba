/*
 * Internals shared by the files of oidc/. Not for other modules.
 */
#ifndef CAREID_OIDC_INT_H
#define CAREID_OIDC_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "authn/assurance.h"
#include "crypto/hash.h"
#include "crypto/jose.h"
#include "oidc/clients.h"
#include "oidc/provider.h"

#define ACCESS_TOKEN_TTL  3600
#define REFRESH_TOKEN_TTL (30 * 24 * 3600)
#define ID_TOKEN_TTL      3600
#define CODE_TTL          120
#define TX_TTL            1800
#define SESSION_IDLE_TTL  (8 * 3600)
#define SESSION_MAX_TTL   (12 * 3600)
#define PARAM_MAX         2048 /* state, nonce, login_hint, … */

typedef struct keyring keyring;

struct env_state {
	int index;
	const char *name;
	char *issuer;            /* full URL */
	char *issuer_path;       /* its path, e.g. "/realms/mock" */
	char *cookie_session;    /* "careid_session_<env>" */
	keyring *keys;           /* signing keys: keyring_get() */
	char *discovery;         /* prebuilt JSON document */
	unsigned offered;        /* authentication methods this environment offers */
	const char *default_acr; /* NULL: any offered method */
	int64_t session_idle;    /* seconds a session lives without use */
	int64_t session_max;     /* seconds a session lives at most */
};

/* jwks_cache.c: clients' jwks_uri documents, shared by the worker threads;
 * fetched from public addresses only unless careid's `public_url` is on
 * loopback (fetch_public_only()). */
typedef struct jwks_cache jwks_cache;
jwks_cache *jwks_cache_new(const char *public_url);
void jwks_cache_free(jwks_cache *c);
/* The JWKS of a client at `uri` (`key` names the client, e.g. "env client_id"):
 * cached for minutes; `refresh` asks for a fresh copy (a key not found),
 * which is fetched at most every 10 seconds. */
int jwks_cache_get(jwks_cache *c, const char *key, const char *uri, bool refresh, json_t **out);

/*
 * cache.c: answers computed from the store (userinfo bodies), shared by the
 * worker threads, bounded (`max_entries`, `max_bytes`; the least recently
 * used go first) and never stale: each entry carries the store generations
 * it was computed under (OIDC_GEN_*: the `generations` table, bumped by
 * triggers on every write to the tables of that kind, by any process), and a
 * lookup under other generations drops it. Callers read the generations in
 * the same query as the data that keys the entry.
 */
#define OIDC_CACHE_GENS    2
#define OIDC_GEN_DIRECTORY 0 /* users, role_profiles, organisations (per environment) */
#define OIDC_GEN_CLIENTS   1 /* clients, client_redirect_uris, client_post_logout_uris (same) */
#define OIDC_CACHE_ENTRIES 4096
#define OIDC_CACHE_BYTES   (8u << 20)
typedef struct oidc_cache oidc_cache;
#define OIDC_CACHE_MAX_ENTRIES ((size_t)1 << 20)
/* NULL when out of memory or max_entries > OIDC_CACHE_MAX_ENTRIES. */
oidc_cache *oidc_cache_new(size_t max_entries, size_t max_bytes);
/* Frees every entry. Accepts NULL. No thread may use the cache after. */
void oidc_cache_free(oidc_cache *c);
/*
 * 1 and `*out` (`*len_out` bytes plus a NUL, in `a`) when `key` is cached
 * under exactly `gen`; 0 when not (an entry under other generations is
 * dropped); CAREID_ENOMEM.
 */
int oidc_cache_get(oidc_cache *c, arena *a, const char *key, size_t key_len,
                   const int64_t gen[OIDC_CACHE_GENS], char **out, size_t *len_out);
/* Keeps a copy of `value` for `key` under `gen`, replacing what `key` had and
 * evicting the least recently used past the caps. A value over an eighth of
 * `max_bytes` is not kept. 0 or CAREID_ENOMEM. */
int oidc_cache_put(oidc_cache *c, const char *key, size_t key_len,
                   const int64_t gen[OIDC_CACHE_GENS], const char *value, size_t len);
struct oidc_cache_stats {
	size_t entries, bytes;
	uint64_t hits, misses, evictions, stale;
};
void oidc_cache_stats(oidc_cache *c, struct oidc_cache_stats *out);

struct provider {
	store *store;
	const templates *templates;
	metrics *metrics;
	char *public_url;
	char *origin;    /* scheme://host[:port] of public_url: WebAuthn's and the agent's origin */
	char *rp_id;     /* its host: the WebAuthn relying party ID */
	char *agent_url; /* the smartcard identity agent, as browsers reach it */
	int64_t id_token_ttl; /* seconds, at most ID_TOKEN_TTL */
	bool secure;
	struct secrets secrets;
	struct env_state envs[ENV_COUNT];
	jwks_cache *jwks;
	oidc_cache *userinfo; /* userinfo bodies by env, client and grant */
};

/* What one request to an issuer needs. */
struct oidc_req {
	provider *p;
	struct env_state *env;
	struct http_request *req;
	struct http_response *res;
	arena *a;
	const char *endpoint; /* path after the issuer path, e.g. "/authorize" */
};

/* A grant: what a sign-in produced and a code or token carries (JSON in the
 * store's grant_data columns). */
struct grant {
	const char *uid;
	const char *client_id;
	const char *scope;
	const char *nonce; /* may be NULL */
	const char *sid;
	const char *acr;
	json_t *amr; /* array of strings (borrowed from json) */
	int aal;
	int64_t auth_time;
	const char *selected_roleid; /* may be NULL */
	json_t *claims;              /* the "claims" request parameter, may be NULL */
	json_t *json;                /* owner of the strings above */
};

/* grant.c */
json_t *grant_to_json(const struct grant *g);
int grant_from_text(struct grant *out, arena *a, const char *text);
bool scope_has(const char *scope, const char *name);

/* errors.c: standard error answers */
int oidc_error_json(struct oidc_req *r, int status, const char *error, const char *description);
int oidc_error_redirect(struct oidc_req *r, const char *redirect_uri, const char *error,
                        const char *description, const char *state);
int oidc_error_page(struct oidc_req *r, int status, const char *title, const char *message);
/* Appends query parameters to a URI that may already have a query. */
char *oidc_uri_with_params(arena *a, const char *uri, const char *const *kv, size_t n);
/* Renders template `name` with `ctx` (consumed) as an HTML page. */
int oidc_render(struct oidc_req *r, int status, const char *name, json_t *ctx);
/* A data: URI (standard base64) of an SVG image, for an <img> the CSP allows. */
const char *oidc_svg_data_uri(arena *a, const char *svg);
/* no-store and no-cache headers for responses carrying tokens */
int oidc_no_store(struct http_response *res);

/*
 * keys.c: an environment's signing keys as the worker threads see them. A
 * keyset is an immutable snapshot: the key that signs and the JWKS published
 * with it, always consistent with each other. The keyring owns the current
 * snapshot and replaces it when the store's signing_keys change (a rotation
 * by the CLI or another node, a retired key dropping out of the JWKS): the
 * first keyring_get() a second or more after the last look at the store
 * looks again (two cheap columns; the keys are loaded only when they
 * changed), while other threads go on with the snapshot they get. Readers
 * hold a reference for as long as they use the keyset, so a swap never frees
 * keys in use.
 */
struct keyset {
	const signing_key *signer; /* signs everything issued now */
	const json_t *jwks;        /* {"keys": […]}: the signer and the retired keys still
	                              published (keys.h), to verify our own tokens */
	const char *jwks_text;     /* jwks, compact: the jwks_uri document */
};
/* Loads `env`'s keys from `s` (borrowed, outlives the keyring), generating
 * the first key when there is none, opening and sealing them with `kek`
 * (borrowed, outlives the keyring; see keys.h). ELOCKED when a key is sealed
 * with a key-encryption key not given. */
int keyring_new(keyring **out, store *s, const char *env, const struct kek *kek);
void keyring_free(keyring *kr);
/* The current keys, never NULL: a reference, given back with keyset_release(). */
const struct keyset *keyring_get(keyring *kr);
void keyset_release(const struct keyset *ks);
/* Looks at the store now (keyring_get() does when a look is due); on failure
 * the keys stay as they were. */
int keyring_refresh(keyring *kr);

/* discovery.c */
/* The scopes careid knows (CIS2's), NULL-terminated. */
extern const char *const oidc_scopes[];
int discovery_build(provider *p, struct env_state *e);
int discovery_handle(struct oidc_req *r);
int jwks_handle(struct oidc_req *r);

/* session.c: SSO sessions */
struct session {
	const char *sid;
	const char *uid;
	const char *acr;
	const char *amr; /* JSON array text */
	int aal;
	unsigned methods; /* every enum authn_method this session has proved */
	int64_t auth_time;
	const char *id_hash;
};
/* The live session named by this request's cookie, or ENOTFOUND. */
int session_current(struct session *out, struct oidc_req *r);
/*
 * Starts a session after a sign-in that proved `methods`, and sets its
 * cookie. When the browser already has a live session for the same user (a
 * step-up), that session keeps its sid and gains the methods. A smartcard
 * sign-in passes the agent's `removal_token` (else NULL): the agent reports a
 * removed card with it and the session ends (session_end_by_removal).
 */
int session_start(struct session *out, struct oidc_req *r, const char *uid, unsigned methods,
                  const char *acr, const char *removal_token);
/* Ends the sessions a smartcard signed in whose agent sent `removal_token`;
 * `*ended_out` counts them. */
int session_end_by_removal(struct oidc_req *r, const char *removal_token, int *ended_out);
int session_touch(struct oidc_req *r, const struct session *s);

/* authorize.c, login.c */
int authorize_handle(struct oidc_req *r);
int login_handle(struct oidc_req *r);
int select_role_handle(struct oidc_req *r);
/* How the role of a request with scope selectedrole was fixed ("role.selected"). */
#define ROLE_CHOSEN_USER      "user"      /* picked on the role-selection page */
#define ROLE_CHOSEN_ONLY_ROLE "only_role" /* the person has one role */
/* authorize_finish() with role `roleid`, in one transaction with its
 * "role.selected" audit event (docs/conformance-evidence.md). */
int select_role_finish(struct oidc_req *r, json_t *params, const struct session *s,
                       const char *roleid, const char *chosen);
/* Creates a code for the transaction's request and redirects to the client. */
int authorize_finish(struct oidc_req *r, json_t *params, const struct session *s,
                     const char *selected_roleid);
/* After a sign-in (or with a fitting session): the role page or the code.
 * `tx_id` names the transaction when there is one already. Returns 1 when
 * the browser was sent to the role page, 0 when the client got its answer. */
int authorize_continue(struct oidc_req *r, json_t *params, const struct session *s,
                       const char *tx_id);
/*
 * Transactions between /authorize and the redirect with a code, named by a
 * random id in the sign-in URL (stored hashed). A transaction is bound to a
 * session once the user has signed in (`s`, may be NULL until then).
 */
struct tx {
	const char *id;
	json_t *params;  /* new reference, or NULL */
	const char *uid; /* NULL until signed in */
	const char *session_hash;
};
int tx_create(char **id_out, struct oidc_req *r, json_t *params, const struct session *s);
int tx_load(struct tx *out, struct oidc_req *r, const char *id);
int tx_bind(struct oidc_req *r, const char *id, const struct session *s);
/* Records the user a first step proved (a password before a code) and saves
 * `t->params` with it; refused once the transaction is bound to a session. */
int tx_set_user(struct oidc_req *r, struct tx *t, const char *uid);
int tx_delete(struct oidc_req *r, const char *id);
/* CSRF token for a form bound to this browser and transaction. */
const char *csrf_token(struct oidc_req *r, const char *tx);
bool csrf_ok(struct oidc_req *r, const char *tx, const char *given);

/* clientauth.c: who is calling the token endpoint */
struct client_auth {
	struct client *client;   /* the authenticated client, owned */
	bool basic;              /* the attempt used HTTP Basic (answer with WWW-Authenticate) */
	const char *description; /* why it failed, for the client */
	const char *reason;      /* why it failed, for the log */
};
/* 0, or CAREID_EDENIED (invalid_client, with `description`), or another failure. */
int client_authenticate(struct client_auth *ca, struct oidc_req *r);
void client_auth_release(struct client_auth *ca);
/*
 * The preamble of every endpoint clients call with their credentials (token,
 * revocation, introspection): POST, an urlencoded body without repeated
 * parameters, parameter `required` (may be NULL) present, the client
 * authenticated. 0 with `ca` filled (client_auth_release() it); 1 when the
 * request was answered with the standard error (405, 400 invalid_request,
 * 401 invalid_client); negative on failure.
 */
int client_request(struct client_auth *ca, struct oidc_req *r, const char *route,
                   const char *required);

/* endsession.c: RP-initiated logout at /connect/endSession */
int endsession_handle(struct oidc_req *r);

/* cardremoved.c: the identity agent reports a removed smartcard */
int smartcard_removed_handle(struct oidc_req *r);

/* account.c: a signed-in user's authenticators ({issuer}/account) */
int account_handle(struct oidc_req *r);

/* token.c, userinfo.c */
int token_handle(struct oidc_req *r);
int userinfo_handle(struct oidc_req *r);

/* revoke.c (RFC 7009), introspect.c (RFC 7662): clients authenticate as at
 * the token endpoint and act on their own tokens only. */
int revoke_handle(struct oidc_req *r);
int introspect_handle(struct oidc_req *r);

/* claims.c */
int claims_id_token(json_t **out, struct oidc_req *r, const struct grant *g,
                    const char *access_token, const char *alg);
int claims_userinfo(json_t **out, struct oidc_req *r, const struct grant *g);

#endif
