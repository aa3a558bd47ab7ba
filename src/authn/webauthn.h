/*
 * WebAuthn (FIDO2) ceremonies, server side: options for the browser, and
 * verification of what navigator.credentials.create() and .get() return
 * (WebAuthn Level 2 §7.1 and §7.2). A pure library: it keeps no state, so
 * the caller issues challenges, checks each is used once, and stores
 * credentials and their signature counters.
 *
 * Inputs are the PublicKeyCredential objects serialised as JSON the way
 * PublicKeyCredential.toJSON() does it (binary members as base64url without
 * padding). Accepted: COSE algorithms ES256 (-7, EC2 P-256) and RS256 (-257,
 * RSA 2048..8192 bits); attestation formats "none" and "packed" (self or
 * x5c). An x5c attestation is checked for a valid signature and the
 * certificate requirements of §8.2.1, but not chained to a trust anchor (no
 * FIDO metadata service): `attested` says the statement is consistent, not
 * that the authenticator model is genuine.
 *
 * Errors (the messages are meant for users and are asserted by tests):
 *   CAREID_EINVALID      malformed JSON, base64url, CBOR, authenticator data,
 *                        COSE key or attestation statement (the message says
 *                        which), or a key that does not match its algorithm;
 *   CAREID_ETOOBIG       an input over its cap (WEBAUTHN_JSON_MAX and the
 *                        per-field caps below);
 *   CAREID_EDENIED       a well-formed response that must be refused: wrong
 *                        type, challenge, origin or relying party ID, user
 *                        presence or verification missing, a signature that
 *                        does not verify, a counter that did not increase;
 *   CAREID_EUNSUPPORTED  another COSE algorithm or attestation format;
 *   CAREID_ENOMEM, CAREID_ECRYPTO.
 */
#ifndef CAREID_AUTHN_WEBAUTHN_H
#define CAREID_AUTHN_WEBAUTHN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest credential JSON accepted (bytes, without the NUL). */
#define WEBAUTHN_JSON_MAX (64 * 1024)
/* Largest decoded members: clientDataJSON, attestationObject,
 * authenticatorData, signature, credential id (§5.8.3 allows 1023 bytes),
 * user handle (§5.4.3: 64 bytes) and stored COSE key. */
#define WEBAUTHN_CLIENT_DATA_MAX 16384
#define WEBAUTHN_ATT_OBJ_MAX     (48 * 1024)
#define WEBAUTHN_AUTH_DATA_MAX   16384
#define WEBAUTHN_SIG_MAX         1024
#define WEBAUTHN_CRED_ID_MAX     1023
#define WEBAUTHN_USER_HANDLE_MAX 64
#define WEBAUTHN_COSE_KEY_MAX    2048

/* COSE algorithm identifiers accepted. */
#define WEBAUTHN_ES256 (-7)
#define WEBAUTHN_RS256 (-257)

/* What the relying party expects of a response. All strings NUL-terminated
 * and not NULL. */
struct webauthn_expect {
	/* e.g. "localhost": its SHA-256 must equal authData's rpIdHash */
	const char *rp_id;
	/* e.g. "http://localhost:8080": clientData.origin must equal it exactly */
	const char *origin;
	/* base64url (no padding) of the challenge bytes the server issued;
	 * compared exactly with clientData.challenge */
	const char *challenge;
	/* the user verification (UV) flag is required */
	bool require_uv;
	/* assertions: the backup eligibility (BE) flag the credential registered
	 * with; it never changes for a credential (WebAuthn L3 §6.1.3), so a change
	 * is refused. WEBAUTHN_BE_ANY (0) does not check. */
	enum { WEBAUTHN_BE_ANY = 0, WEBAUTHN_BE_UNSET, WEBAUTHN_BE_SET } backup_eligible;
};

/*
 * A registered credential (result of a registration ceremony). Strings are
 * malloc'd and owned by the struct; webauthn_credential_release() frees them.
 */
struct webauthn_credential {
	char *credential_id;  /* base64url of the credential id (equals id and rawId) */
	char *public_key;     /* the COSE_Key bytes, base64url (stored, passed back to
	                         webauthn_assertion_verify()) */
	int alg;              /* -7 (ES256) or -257 (RS256) */
	char aaguid[37];      /* 8-4-4-4-12 lowercase hex */
	char fmt[16];         /* "none" or "packed" */
	bool attested;        /* packed: the attestation signature verified (self or x5c) */
	bool self_attested;   /* packed without x5c: signed by the credential key itself */
	uint32_t sign_count;  /* the authenticator's signature counter (often 0) */
	bool user_verified;   /* UV flag */
	bool backup_eligible; /* BE flag (bit 3): a synced passkey -> AAL2, not AAL3 */
	bool backup_state;    /* BS flag (bit 4): currently backed up */
	char *transports;     /* compact JSON array text of the strings of
	                         response.transports (at most 8, each under 32 bytes,
	                         others dropped), or NULL when absent */
};

/* Frees the strings and zeroes `c`; accepts a zeroed or NULL struct. */
void webauthn_credential_release(struct webauthn_credential *c);

/*
 * Verifies navigator.credentials.create()'s result. `credential_json` is the
 * PublicKeyCredential serialised as JSON the way PublicKeyCredential.toJSON()
 * does it: {"id","rawId","type":"public-key","response":{"clientDataJSON":b64url,
 * "attestationObject":b64url,"transports":[...]}, ...} (other members ignored).
 *
 * Checks, in the order of §7.1: type "public-key", id equal to rawId;
 * clientData type "webauthn.create", challenge, origin, crossOrigin not true;
 * the attestation object is exactly one CBOR map (nothing after it, no
 * indefinite lengths) with text "fmt", map "attStmt" and bytes "authData";
 * rpIdHash; UP flag set; UV if required; BS not set without BE; AT flag and
 * attested credential data present, credential id equal to id/rawId; COSE key
 * alg in {-7,-257} with the matching key type and curve; extensions (ED flag)
 * are a CBOR map and are skipped; nothing follows them in authData. Then fmt
 * "none" (empty attStmt) or "packed" (self attestation: alg equals the
 * credential's and sig verifies over authData || SHA-256(clientDataJSON) with
 * the credential key; x5c: sig verifies with the first certificate, which
 * meets §8.2.1 (crypto/pubkey.h)); any other fmt is CAREID_EUNSUPPORTED.
 *
 * On success `*out` is filled (release it with webauthn_credential_release());
 * on failure it is left zeroed. `out` is overwritten without being released.
 */
int webauthn_register(struct webauthn_credential *out, const struct webauthn_expect *e,
                      const char *credential_json);

/*
 * An assertion (navigator.credentials.get()'s result as JSON:
 * {"id","rawId","type","response":{"clientDataJSON","authenticatorData",
 * "signature","userHandle"}}), parsed so the caller can find the credential
 * and check the challenge is unused before verifying. All members are owned
 * by the struct (webauthn_assertion_release()); those after `challenge` are
 * private to webauthn.c.
 */
struct webauthn_assertion {
	char *credential_id; /* base64url, from id (must equal rawId) */
	char *user_handle;   /* base64url or NULL (absent, null or empty) */
	char *challenge;     /* base64url, from clientDataJSON */
	/* private: the decoded response */
	uint8_t *client_data;
	size_t client_data_len;
	uint8_t *auth_data;
	size_t auth_data_len;
	uint8_t *sig;
	size_t sig_len;
};

/*
 * Parses an assertion: type "public-key", id equal to rawId, base64url
 * clientDataJSON (a JSON object with a string "challenge"),
 * authenticatorData and signature, and userHandle when present. Nothing is
 * verified yet. On success `*out` is filled (release it with
 * webauthn_assertion_release()); on failure it is left zeroed.
 */
int webauthn_assertion_parse(struct webauthn_assertion *out, const char *credential_json);

/* Frees the members and zeroes `a`; accepts a zeroed or NULL struct. */
void webauthn_assertion_release(struct webauthn_assertion *a);

/*
 * Verifies a parsed assertion against a stored credential (§7.2): clientData
 * type "webauthn.get", challenge, origin, crossOrigin not true; rpIdHash, UP,
 * UV if required, BS not set without BE; the signature over
 * authData || SHA-256(clientDataJSON) with `public_key` (the stored COSE key,
 * base64url, whose alg must equal `alg`); and the counter: when either the
 * stored or the new count is non-zero the new one must be greater (else
 * CAREID_EDENIED "the signature counter went backwards …": a cloned
 * authenticator). The counter is checked after the signature, so a forged
 * response cannot make the caller believe a key was cloned.
 *
 * On success writes the new counter to `*sign_count_out` and the UV flag to
 * `*uv_out` (the caller stores the counter); on failure both are zeroed.
 */
int webauthn_assertion_verify(uint32_t *sign_count_out, bool *uv_out,
                              const struct webauthn_assertion *a, const struct webauthn_expect *e,
                              const char *public_key, int alg, uint32_t stored_count);

/*
 * Options for navigator.credentials.create() / .get(), as JSON the page's
 * script turns into the binary form (challenge, user.id and credential ids
 * are base64url). New references, or NULL with the error set (ENOMEM;
 * EINVALID when an argument is NULL or a list member is not a string).
 *
 * creation: rp {id, name}, user {id (base64url of the user handle), name,
 * displayName}, challenge, pubKeyCredParams [ES256, RS256], timeout 120000,
 * attestation "direct", authenticatorSelection {residentKey "required",
 * requireResidentKey true, userVerification "required" or "preferred"},
 * excludeCredentials [{type, id}] from `exclude` (a JSON array of base64url
 * ids, or NULL for none).
 *
 * request: challenge, rpId, timeout 120000, userVerification,
 * allowCredentials [{type, id}] from `allow` (NULL or empty: any
 * discoverable credential).
 */
json_t *webauthn_creation_options(const char *rp_id, const char *rp_name,
                                  const char *user_handle_b64url, const char *user_name,
                                  const char *display_name, const char *challenge, bool require_uv,
                                  const json_t *exclude);
json_t *webauthn_request_options(const char *rp_id, const char *challenge, bool require_uv,
                                 const json_t *allow);

/*
 * The COSE_Key (RFC 9053 §7.1: kty EC2, alg ES256, crv P-256) of a public key
 * with affine coordinates `x` and `y`, base64url, into `*out` (malloc'd):
 * what webauthn_credential.public_key holds for a credential made outside a
 * ceremony (the demo data's software security key).
 */
int webauthn_cose_es256(char **out, const uint8_t x[32], const uint8_t y[32]);

#endif
