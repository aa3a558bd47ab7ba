/*
 * careid's own relying parties: the demo at /demo/ and the onboarding portal.
 *
 * Each signs in through one of careid's environments exactly as an outside
 * integration would: the authorization code flow with PKCE, state and nonce,
 * the code exchanged over HTTP at the environment's token endpoint
 * (client_secret_post), the ID token verified against the environment's keys,
 * and userinfo fetched over HTTP. Nothing is short-circuited in-process.
 */
#ifndef CAREID_OIDC_RP_H
#define CAREID_OIDC_RP_H

#include <jansson.h>

#include "http/http.h"
#include "oidc/provider.h"

typedef struct rp rp;

struct rp_opts {
	int env;                  /* index in env_names */
	const char *name;         /* client name; a client of this name is replaced at start */
	const char *redirect_uri; /* absolute callback URL */
	const char *scope;
	const char *cookie;      /* name of the cookie holding state, nonce and verifier */
	const char *cookie_path; /* e.g. "/demo/" */
};

/* Registers (or re-registers) the client in the environment. */
int rp_new(rp **out, provider *p, store *s, const struct rp_opts *o);
void rp_free(rp *r);

/*
 * Starts a sign-in: sets the flow cookie and redirects (303) to /authorize.
 * `return_to` (a local path starting with "/", may be NULL) comes back from
 * rp_callback(). `prompt` may be NULL.
 */
int rp_login(rp *r, struct http_request *req, struct http_response *res, const char *return_to,
             const char *prompt);

struct rp_result {
	json_t *header;    /* the ID token's JOSE header */
	json_t *claims;    /* the verified ID token claims */
	json_t *userinfo;  /* the userinfo answer, or NULL */
	char *return_to;   /* as given to rp_login(), or NULL */
	const char *error; /* on failure: a short code ("access_denied", "state_mismatch", …) */
	const char *error_detail; /* on failure: a sentence */
};

/*
 * Finishes a sign-in at the callback: checks state against the flow cookie,
 * exchanges the code, verifies the ID token (signature, iss, aud, nonce) and
 * fetches userinfo. Returns 0 with either the result or `error` set (a
 * failed sign-in is not an internal error); negative on internal failure.
 * rp_result_release() frees what it holds.
 */
int rp_callback(rp *r, struct http_request *req, struct http_response *res, struct rp_result *out);
void rp_result_release(struct rp_result *res);

#endif
