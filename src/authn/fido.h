/*
 * WebAuthn credentials in the store: registering one to a user and signing
 * in with one (the `authn_webauthn` authenticator). webauthn.c verifies the
 * ceremonies; this file keeps what they prove.
 *
 * A credential whose authenticator says it may be backed up (the BE flag: a
 * synced passkey) proves AUTHN_PASSKEY (AAL2); any other, a security key or a
 * platform authenticator such as Windows Hello, AUTHN_FIDO2 (AAL3).
 */
#ifndef CAREID_AUTHN_FIDO_H
#define CAREID_AUTHN_FIDO_H

#include <jansson.h>

#include "authn/webauthn.h"
#include "store/store.h"

/* Saves a verified registration as the user's authenticator called `name`;
 * `*id_out` (malloc'd) names the row. It proves AUTHN_FIDO2 (AAL3) only when
 * `aal3` — the caller decided the registration was made with AAL3 assurance —
 * and the credential is not a synced passkey; else AUTHN_PASSKEY (AAL2).
 * `*method_out` (may be NULL) gets which. CAREID_EEXISTS when the credential
 * is registered already (to anyone). */
int fido_save(char **id_out, unsigned *method_out, store *s, const char *env, const char *uid,
              const char *name, const struct webauthn_credential *c, bool aal3);

/* The credential ids (base64url strings) the user has registered, as a new
 * JSON array: webauthn_creation_options()' `exclude`. */
int fido_credentials(json_t **out, store *s, const char *env, const char *uid);

#endif
