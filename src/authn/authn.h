/*
 * One interface for every authenticator (password, authenticator app,
 * WebAuthn, smartcard): a sign-in step posts a form, the authenticator named
 * by the form's `method` verifies it and says who signed in and what was
 * proved. Throttling, challenges' single use, sessions and the audit trail
 * are the caller's (oidc/login.c), so each authenticator does one thing.
 */
#ifndef CAREID_AUTHN_AUTHN_H
#define CAREID_AUTHN_AUTHN_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/hash.h"
#include "http/form.h"
#include "store/store.h"

/* What a step gives its authenticator. Borrowed for the call. */
struct authn_input {
	store *store;
	const uint8_t *hash_key; /* CRYPTO_KEY_BYTES */
	const uint8_t *seal_key; /* CRYPTO_KEY_BYTES */
	const char *env;
	int64_t now;
	const struct form *form; /* the posted fields */
	const char *uid;         /* the user an earlier step proved (a password before a
	                            code), else NULL */
	const char *challenge;   /* the challenge the caller checked and used, or NULL */
	const char *origin;      /* the sign-in page's origin, e.g. "http://localhost:8080" */
	const char *rp_id;       /* WebAuthn relying party ID, e.g. "localhost" */
	bool require_uv;         /* WebAuthn: user verification needed */
};

/* What it found. Strings are malloc'd; authn_result_release() frees them. */
struct authn_result {
	char *uid;              /* who signed in; on failure, who was tried when known */
	char *authenticator_id; /* the authenticators row used, or NULL (password) */
	unsigned method;        /* the enum authn_method proved */
	char *removal_token;    /* smartcard: the agent's token for reporting removal */
	char *message;          /* on failure: a sentence for the person signing in */
	const char *reason;     /* on failure: a short code for the log and audit trail */
};

struct authenticator {
	const char *name; /* the form's `method` value: "password", "totp", … */
	unsigned methods; /* the methods it can prove */
	/*
	 * 0 when the step proves `out->uid` with `out->method`. A refused attempt
	 * returns CAREID_EDENIED (or EUSED, EEXPIRED, ENOTFOUND, EINVALID) with
	 * `message` and `reason` set; any other negative code is an internal
	 * failure.
	 */
	int (*verify)(struct authn_result *out, const struct authn_input *in);
};

extern const struct authenticator authn_password; /* username + password: AAL1 */
extern const struct authenticator authn_totp;     /* + a 6-digit code: AAL2 */
extern const struct authenticator authn_webauthn; /* security key, platform, passkey */
extern const struct authenticator authn_smartcard;

/* The authenticator called `name`, or NULL. */
const struct authenticator *authn_find(const char *name);

void authn_result_release(struct authn_result *r);

/* Longest username and password a form may carry. */
#define AUTHN_USERNAME_MAX 254

#endif
