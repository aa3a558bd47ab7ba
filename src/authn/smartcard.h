/*
 * Smartcards: each environment's test certificate authority, the cards it
 * issues to users of that environment's directory, their revocation, and the
 * check of a sign-in answered by the identity agent (`careid agent`).
 *
 * The module owns the table `card_authorities` and the `authenticators` rows
 * of kind "smartcard" (method AUTHN_SMARTCARD, credential_id the certificate
 * serial in lowercase hex, data {"fingerprint", "subject", "not_after"}).
 *
 * A CA is made on first use (smartcard_ca_ensure()); its private key is kept
 * sealed with the server's seal key, so making a CA, issuing and revoking
 * need the `struct secrets` of oidc/clients.h (secrets_load()), while
 * verifying needs only public data.
 *
 * The protocol between a careid page, the agent and the server:
 *   1. the page gets a challenge (base64url) from the server and POSTs
 *      {"challenge", "origin": the page's origin, "issuer"} to the agent;
 *   2. the agent signs smartcard_signed_text(origin, challenge) with the
 *      card's key and answers {"certificate": base64url DER, "signature":
 *      base64url, "alg": "RS256", "removal_token"};
 *   3. the page hands that answer to the server, which rebuilds the same text
 *      from its own origin and the challenge it issued (single use is the
 *      caller's business) and calls smartcard_verify().
 * When the card is removed, the agent POSTs removal_token=TOKEN to
 * ISSUER/smartcard/removed for every answer it gave.
 *
 * Functions that write run their own transaction, so they must not be called
 * inside one. Unknown environments are CAREID_EINVALID.
 */
#ifndef CAREID_AUTHN_SMARTCARD_H
#define CAREID_AUTHN_SMARTCARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "crypto/x509.h"
#include "store/store.h"

struct secrets; /* oidc/clients.h: the server's keys */

#define SMARTCARD_SIGNED_PREFIX "careid-smartcard-v1\n"
#define SMARTCARD_ORIGIN_MAX    256 /* bytes of an origin */
#define SMARTCARD_CHALLENGE_MIN 16  /* base64url characters of a challenge */
#define SMARTCARD_CHALLENGE_MAX 128
#define SMARTCARD_SIGNED_TEXT_MAX                                                                  \
	(sizeof(SMARTCARD_SIGNED_PREFIX) + SMARTCARD_ORIGIN_MAX + 1 + SMARTCARD_CHALLENGE_MAX)
#define SMARTCARD_ID_LEN         22 /* characters of an authenticator id (16 random bytes) */
#define SMARTCARD_VALIDITY_MAX_S (10LL * 366 * 86400) /* longest validity of a card */

/*
 * Appends the text a card signs to `out`:
 *     "careid-smartcard-v1\n" ORIGIN "\n" CHALLENGE
 * `origin` is the careid page's origin ("https://host[:port]", 1 to
 * SMARTCARD_ORIGIN_MAX printable ASCII characters, no spaces) and `challenge`
 * the server's challenge (SMARTCARD_CHALLENGE_MIN to _MAX base64url
 * characters). EINVALID otherwise; ETOOBIG when `out` is full.
 */
int smartcard_signed_text(struct buf *out, const char *origin, const char *challenge);

/*
 * Makes sure environment `env` has its CA: creates it on first use (P-256,
 * ten years, key sealed with `sec->seal_key`, an empty CRL numbered 1). When
 * several processes or threads get here at once, one CA wins and all of them
 * use it. `cert_pem` (may be NULL) receives the CA certificate as PEM, the
 * caller's to free().
 */
int smartcard_ca_ensure(char **cert_pem, store *s, const struct secrets *sec, const char *env);

/* The CKA_LABEL of a card's key pair and certificate on a PKCS#11 token
 * (crypto/pkcs11.h), written by `careid card issue` and read by the agent. */
#define SMARTCARD_TOKEN_LABEL "careid smartcard"

/* A card to issue. */
struct smartcard_new {
	const char *env;
	const char *uid;        /* a user in env's directory */
	int64_t not_before;     /* Unix seconds */
	int64_t not_after;      /* after not_before, at most SMARTCARD_VALIDITY_MAX_S on */
	const char *passphrase; /* of the PKCS#12 file; "" for none */
};

/* An issued card: a PKCS#12 file holding its private key, or (for a key on
 * a token) the certificate alone. */
struct smartcard_issued {
	uint8_t *p12; /* the PKCS#12 file: smartcard_issued_release() wipes and frees it */
	size_t p12_len;
	uint8_t *cert_der; /* smartcard_issue_key(): the certificate's DER */
	size_t cert_der_len;
	char id[SMARTCARD_ID_LEN + 1]; /* the authenticator's id */
	struct x509_info cert;         /* serial, uid, subject, fingerprint, dates */
};

/*
 * Issues a card to user `n->uid` of `n->env` (CN their display name,
 * serialNumber their UID) from the environment's CA (made when missing) and
 * registers it as an authenticator named "Smartcard <first 8 hex digits of
 * the serial>". CAREID_ENOTFOUND when there is no such user, EINVALID for bad
 * dates. On success the caller writes out->p12 to the card file and calls
 * smartcard_issued_release().
 */
int smartcard_issue(struct smartcard_issued *out, store *s, const struct secrets *sec,
                    const struct smartcard_new *n);

/*
 * The same for a card whose RSA key was made on a PKCS#11 token: certifies
 * `key` (x509_card_certify(); EINVALID for an unusable key) instead of making
 * a key and a PKCS#12 file (`n->passphrase` is not used). On success the
 * caller stores out->cert_der on the token and calls
 * smartcard_issued_release().
 */
int smartcard_issue_key(struct smartcard_issued *out, store *s, const struct secrets *sec,
                        const struct smartcard_new *n, const struct x509_rsa_public *key);

/* Wipes and frees the PKCS#12 bytes and frees the certificate. Accepts a zeroed struct. */
void smartcard_issued_release(struct smartcard_issued *c);

/*
 * Revokes the card with serial `serial` (hex; case and a "0x" prefix do not
 * matter), or with smartcard_revoke_user() every unrevoked card of user
 * `uid`: sets revoked_at and reissues the environment's CRL with the next
 * CRL number, in one transaction. `revoked` (may be NULL) receives a new JSON
 * array of the serials revoked. CAREID_ENOTFOUND when no unrevoked card
 * matches.
 */
int smartcard_revoke(json_t **revoked, store *s, const struct secrets *sec, const char *env,
                     const char *serial);
int smartcard_revoke_user(json_t **revoked, store *s, const struct secrets *sec, const char *env,
                          const char *uid);

/*
 * The cards of `env` (of user `uid` only, when not NULL), newest first: a new
 * JSON array of {"id", "uid", "serial", "name", "subject", "fingerprint",
 * "not_after", "created_at", "last_used_at", "revoked_at"} (times in Unix
 * seconds or null).
 */
int smartcard_list(json_t **out, store *s, const char *env, const char *uid);

/* What the agent answered and what it must have signed. */
struct smartcard_answer {
	const char *env;
	const char *certificate; /* base64url (or base64) DER, as the agent answered */
	const char *signature;   /* base64url */
	const char *alg;         /* "RS256" or "ES256"; NULL means RS256 */
	const void *signed_text; /* smartcard_signed_text() of the server's own origin and the
	                            challenge it issued */
	size_t signed_len;
	int64_t now; /* Unix seconds */
};

/* Who signed in. */
struct smartcard_identity {
	char uid[X509_UID_MAX];
	char authenticator_id[SMARTCARD_ID_LEN + 1];
	char serial[X509_SERIAL_HEX];
};

/*
 * Checks an agent's answer: the certificate chains to env's CA, is valid at
 * `now` and not on env's CRL (x509_cert_verify() errors: EEXPIRED, EDENIED),
 * the signature over `signed_text` is the certificate key's (EDENIED "the
 * challenge was not signed by the card's key"), an unrevoked smartcard
 * authenticator of env has this serial and its user is the certificate's
 * serialNumber (EDENIED "this smartcard is not registered in <env>" / "…has
 * been revoked"). Then sets the authenticator's last_used_at and fills `out`.
 * EINVALID for a malformed answer. An environment without a CA yet refuses
 * every card (EDENIED, as a foreign CA).
 */
int smartcard_verify(struct smartcard_identity *out, store *s, const struct smartcard_answer *a);

#endif
