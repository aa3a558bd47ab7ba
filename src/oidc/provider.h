/*
 * The OpenID Connect provider: one per process, serving every environment
 * under its issuer. Read-only after provider_new() except for what lives in
 * the store, so every worker thread shares it without locks.
 */
#ifndef CAREID_OIDC_PROVIDER_H
#define CAREID_OIDC_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/env.h"
#include "core/metrics.h"
#include "crypto/hash.h"
#include "http/http.h"
#include "http/template.h"
#include "oidc/clients.h"
#include "store/store.h"

typedef struct provider provider;

struct provider_opts {
	store *store;               /* borrowed; outlives the provider */
	const templates *templates; /* borrowed */
	metrics *metrics;           /* borrowed, may be NULL */
	const char *public_url;     /* e.g. "http://127.0.0.1:8080", no trailing slash */
	/* Issuer per environment; NULL entries default to {public_url}/realms/{env}. */
	const char *issuers[ENV_COUNT];
	/* Lifetime of ID tokens in seconds, 1 to 3600; 0: 3600 (the longest, which
	 * a retired signing key stays published for). */
	int64_t id_token_ttl;
	/* Session timeouts per environment in seconds; 0: 8 hours idle, 12 at most. */
	int64_t session_idle[ENV_COUNT];
	int64_t session_max[ENV_COUNT];
	/* Where sign-in pages find the smartcard identity agent (careid agent);
	 * NULL: http://127.0.0.1:8086. */
	const char *agent_url;
};

/* Loads (or creates on first start) the server secrets and every
 * environment's signing key, and prepares the discovery documents. */
int provider_new(provider **out, const struct provider_opts *opts);
void provider_free(provider *p);

/*
 * Answers a request when its path is under one of the issuers (returns 1),
 * or leaves it alone (returns 0). A negative code means a server error.
 */
int provider_handle(provider *p, struct http_request *req, struct http_response *res);

/* The issuer of environment `env` (an index in env_names). */
const char *provider_issuer(const provider *p, int env);

/*
 * The user an access token issued in environment `env` speaks for: `*uid_out`
 * (malloc'd, free() it). CAREID_EDENIED for an unknown, expired or revoked
 * token. Lets careid's own APIs accept the bearer tokens of its environments.
 */
int provider_token_subject(provider *p, int env, const char *token, char **uid_out);

/*
 * Ends the sessions of every environment that were idle or past their
 * absolute timeout (their clients are told by back-channel logout). For a
 * periodic sweep; `*ended_out` (may be NULL) counts them.
 */
int provider_sweep(provider *p, int *ended_out);

/* The keys shared by careid's services (CSRF, keyed hashes). Borrowed. */
const struct secrets *provider_secrets(const provider *p);

/* True when cookies must carry Secure (the public URL is https). */
bool provider_secure_cookies(const provider *p);

#endif
