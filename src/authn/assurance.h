/*
 * Assurance: which authentication a request needs (acr_values, a client's
 * registered default, the environment's default) and what a sign-in achieved
 * (the "acr", "amr" and authentication_assurance_level claims).
 *
 * CIS2 classes (CIS2-PROFILE.md): AAL3_ANY, AAL2_OR_AAL3_ANY, AAL2_ANY,
 * AAL1_USERPASS, and method-specific AAL3_IOS, AAL3_FIDO2, AAL3_N3_SMARTCARD,
 * AAL3_CIS2_SMARTCARD, AAL3_SMARTCARD, AAL2_TOTP, AAL2_NHSMAIL.
 */
#ifndef CAREID_AUTHN_ASSURANCE_H
#define CAREID_AUTHN_ASSURANCE_H

#include <stdbool.h>
#include <stddef.h>

/* Authentication methods, as bits so a class can name several. */
enum authn_method {
	AUTHN_PWD = 1 << 0,       /* password alone: AAL1 */
	AUTHN_TOTP = 1 << 1,      /* password and authenticator app: AAL2 */
	AUTHN_NHSMAIL = 1 << 2,   /* AAL2 */
	AUTHN_PASSKEY = 1 << 3,   /* synced passkey: AAL2 */
	AUTHN_FIDO2 = 1 << 4,     /* security key or platform authenticator: AAL3 */
	AUTHN_IOS = 1 << 5,       /* iPad app: AAL3 */
	AUTHN_SMARTCARD = 1 << 6, /* CIS smartcard through the identity agent: AAL3 */
};

/* Largest length of a class name, with its NUL. */
#define ACR_MAX 24

#define AUTHN_AAL3_METHODS (AUTHN_FIDO2 | AUTHN_IOS | AUTHN_SMARTCARD)
#define AUTHN_AAL2_METHODS (AUTHN_TOTP | AUTHN_NHSMAIL | AUTHN_PASSKEY)

/* The level a method, or the strongest of a set of methods, reaches (1, 2 or 3). */
int authn_method_aal(unsigned m);

/* The "amr" value of a method ("pwd", "TOTP", "FIDO2", "N3_SMARTCARD", …). */
const char *authn_method_amr(enum authn_method m);

/* True when `name` is a class careid knows. */
bool acr_known(const char *name);

/* The methods that satisfy class `name` (0 when unknown). */
unsigned acr_methods(const char *name);

/*
 * Decides the classes a request accepts, as a set of methods.
 *
 * `acr_values` (space-separated, may be NULL) are voluntary: unknown values
 * are ignored. When it names known classes, the result is the union of their
 * methods; else the client's `client_default` class (may be NULL); else the
 * environment's default (`env_default` — NULL means any method the
 * environment offers). The result is intersected with `offered`, the methods
 * the environment offers. Returns the accepted set (0: nothing the
 * environment offers can satisfy the request: unmet_authentication_requirements).
 */
unsigned acr_accepted(const char *acr_values, const char *client_default, const char *env_default,
                      unsigned offered);

/*
 * The class to state in "acr" for a sign-in that proved the methods `m` (a
 * set): the first known class of `acr_values` (or the defaults, as above)
 * that `m` satisfies, else the most specific class the strongest method of
 * `m` meets (AAL1_USERPASS for a password). Writes at most ACR_MAX bytes.
 */
void acr_achieved(char out[ACR_MAX], unsigned m, const char *acr_values, const char *client_default,
                  const char *env_default);

/* The authentication_assurance_level to state with class `acr`: the level of
 * the strongest method of `m` that satisfies it. */
int acr_level(const char *acr, unsigned m);

/* The "amr" JSON array text of a set of methods ("[\"pwd\",\"TOTP\"]"); free(). */
char *authn_amr_json(unsigned m);

#endif
