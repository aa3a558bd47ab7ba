/*
 * The built-in demo relying party at /demo/: signs in through the mock
 * environment as any CIS2 integration would (authorization code flow with
 * PKCE, state and nonce, over HTTP to careid's own endpoints) and shows what
 * the integration receives: the ID token's header and claims, and userinfo.
 */
#ifndef CAREID_OIDC_DEMO_H
#define CAREID_OIDC_DEMO_H

#include <jansson.h>

#include "http/http.h"
#include "oidc/provider.h"

typedef struct demo_rp demo_rp;

/*
 * Registers (or re-registers, replacing the previous one) the demo client in
 * the mock environment, with redirect URI {public_url}/demo/callback.
 * `users` is the demo seed report shown on the start page (borrowed).
 */
int demo_rp_new(demo_rp **out, provider *p, store *s, const templates *t, const char *public_url,
                const json_t *users);
void demo_rp_free(demo_rp *d);

/* Answers requests under /demo/ (returns 1), else 0. */
int demo_rp_handle(demo_rp *d, struct http_request *req, struct http_response *res);

#endif
