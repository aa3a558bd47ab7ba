/*
 * The client registration form shared by the mock clients page
 * (mockclients.c) and a product's environment clients (envclients.c): the
 * fields as typed on a page or sent to the API, and the checks that give each
 * field its own message before anything is created. Nothing here touches the
 * store: oidc/clients.h creates the client.
 *
 * Field names are the same on the page and in the API: name, redirect_uris
 * (a textarea of one URI a line; a JSON array), auth_method, jwks_uri, and for
 * environment clients backchannel_logout_uri, post_logout_redirect_uris (like
 * redirect_uris), id_token_alg and default_acr.
 */
#ifndef CAREID_ONBOARDING_CLIENTFORM_H
#define CAREID_ONBOARDING_CLIENTFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "http/form.h"
#include "oidc/clients.h"

#define CLIENTFORM_MAX_URIS   10
#define CLIENTFORM_NAME_CHARS 100
#define CLIENTFORM_NAME_BYTES 200 /* what client_add() takes */

/* Which fields a form has. */
enum clientform_kind {
	CLIENTFORM_MOCK, /* name, redirect URIs, client authentication, JWKS URI */
	CLIENTFORM_ENV,  /* the same, logout URIs, ID token algorithm, default class */
};

/* A list of URIs: lines of a textarea or a JSON array of strings. */
struct clientform_uris {
	const char *v[CLIENTFORM_MAX_URIS];
	size_t n;
	bool too_many; /* more than CLIENTFORM_MAX_URIS were given */
	bool invalid;  /* API: not an array of strings */
};

/* Bits of clientform.wrong_type: an API member of the wrong JSON type. */
enum {
	CLIENTFORM_BAD_ID_TOKEN_ALG = 1 << 0,
	CLIENTFORM_BAD_DEFAULT_ACR = 1 << 1,
	CLIENTFORM_BAD_BACKCHANNEL = 1 << 2,
};

/* A registration as given. Strings are borrowed (from the form, the JSON
 * body or the arena) and NULL when absent. */
struct clientform {
	enum clientform_kind kind;
	const char *name;
	struct clientform_uris redirect;
	const char *auth_method; /* NULL: client_secret_basic */
	const char *jwks_uri;    /* used with private_key_jwt only */
	bool jwks_misplaced;     /* API: a JWKS URI with another method */
	/* CLIENTFORM_ENV only */
	const char *backchannel_logout_uri; /* NULL or blank: none */
	struct clientform_uris post_logout;
	const char *id_token_alg; /* NULL: RS256 */
	const char *default_acr;  /* NULL or "": the environment's default */
	unsigned wrong_type;
	/*
	 * CLIENTFORM_ENV: the JWKS and back-channel logout URIs, which careid
	 * calls itself, must be https URLs naming a public host
	 * (clientform_public_uri_problem()), as in a deployment not on loopback
	 * (fetch_public_only() of careid's public URL). The readers below leave
	 * it false (any host, http on loopback): the caller sets it. Redirect
	 * URIs, followed by browsers, and mock clients keep their rules.
	 */
	bool public_only;
};

/* The page's fields from the urlencoded body `f`. The URI textareas are split
 * into lines copied into `a`; other strings stay owned by `f`. */
int clientform_from_form(struct clientform *out, enum clientform_kind kind, arena *a,
                         const struct form *f);

/* The API's JSON body; strings stay owned by `body`. */
void clientform_from_json(struct clientform *out, enum clientform_kind kind, const json_t *body);

/*
 * Every problem with a registration, by field name ({"redirect_uris": "Redirect
 * URI http://… must be https (…)"}); an empty object when there is none. A new
 * object, NULL when out of memory. Messages are built in `a`.
 */
json_t *clientform_check(const struct clientform *in, arena *a);

/* The authentication method the form chose (client_secret_basic by default). */
const char *clientform_method(const struct clientform *in);

/* The client to create in `env` from a checked form (borrows its strings). */
void clientform_client_new(const struct clientform *in, const char *env, struct client_new *out);

/* What was typed, to fill the page's form again: {name, redirect_uris, …} (a
 * new object with the fields of `kind` that `f` has). */
json_t *clientform_values(const struct form *f, enum clientform_kind kind);

/* The error summary's links [{href: "#field", text}] in the order the page
 * shows the fields (a new array). */
json_t *clientform_error_list(arena *a, const json_t *errors);

/* Radios and options for the page, with the current choice marked (new
 * arrays): [{id, value, hint, checked}] for client authentication and the ID
 * token algorithm, [{value, text, selected}] for the default class. */
json_t *clientform_method_radios(const char *chosen);
json_t *clientform_alg_radios(const char *chosen);
json_t *clientform_acr_options(const char *chosen);

/*
 * What is wrong with `uri` as a `label` ("JWKS URI", "back-channel logout
 * URI"), a URL careid will call, where careid runs on loopback itself (and
 * for mock clients): NULL when it is a well-formed absolute https URL (or
 * http on a loopback host) without a fragment; else a message in `a` saying
 * what to enter, with `example` as an example.
 */
const char *clientform_uri_problem(arena *a, const char *uri, const char *label,
                                   const char *example);

/*
 * As clientform_uri_problem(), for a deployment not on loopback: the URL
 * must also be https and its host a public DNS name (clientform_host_public()),
 * else "Enter a JWKS URI that starts with https:// and names a public host,
 * not an IP address or localhost, for example …". careid still checks the
 * addresses the name resolves to when it connects (http/fetch.h).
 */
const char *clientform_public_uri_problem(arena *a, const char *uri, const char *label,
                                          const char *example);

/*
 * Whether `host` (`n` bytes, a URL's host without its port) is a DNS name
 * that may be public: letters, digits, '-', '_' and dots, a final dot
 * allowed, a top-level domain of letters (or xn--…); not an IP address in
 * any spelling (127.0.0.1, 2130706433, 0x7f.1, [::1]), not a single label,
 * not localhost, nor a name under .localhost, .localdomain, .local,
 * .internal or .home.arpa (any case).
 */
bool clientform_host_public(const char *host, size_t n);

#endif
