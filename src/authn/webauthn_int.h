/*
 * Internals of the webauthn module, shared by its two files and by nothing
 * else:
 *   webauthn.c       the ceremonies: credential JSON, clientDataJSON, the
 *                    checks of §7.1 and §7.2, options for the browser;
 *   webauthn_cose.c  the binary formats: CBOR, authenticator data (§6.1),
 *                    COSE keys and attestation objects and statements (§8).
 * libcbor is used by webauthn_cose.c only; its items appear here as opaque
 * pointers, owned by the structs that hold them.
 *
 * Errors follow webauthn.h: CAREID_EINVALID (malformed, the message says
 * what), CAREID_ETOOBIG, CAREID_EDENIED (a signature that does not verify),
 * CAREID_EUNSUPPORTED (another algorithm or attestation), CAREID_ENOMEM.
 */
#ifndef CAREID_AUTHN_WEBAUTHN_INT_H
#define CAREID_AUTHN_WEBAUTHN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authn/webauthn.h"
#include "crypto/pubkey.h"

/* Authenticator data flags (§6.1). */
#define WEBAUTHN_FLAG_UP 0x01 /* user present */
#define WEBAUTHN_FLAG_UV 0x04 /* user verified */
#define WEBAUTHN_FLAG_BE 0x08 /* backup eligible */
#define WEBAUTHN_FLAG_BS 0x10 /* backed up */
#define WEBAUTHN_FLAG_AT 0x40 /* attested credential data included */
#define WEBAUTHN_FLAG_ED 0x80 /* extension data included */

struct cbor_item_t;

/*
 * Parsed authenticator data. The pointers point into the bytes given to
 * webauthn_auth_data_parse(), which must outlive the struct; `key` is owned
 * (webauthn_auth_data_release()).
 */
struct webauthn_auth_data {
	const uint8_t *rp_id_hash; /* 32 bytes */
	uint8_t flags;
	uint32_t sign_count;
	/* attested credential data, when WEBAUTHN_FLAG_AT */
	const uint8_t *aaguid; /* 16 bytes */
	const uint8_t *cred_id;
	size_t cred_id_len;      /* 1..WEBAUTHN_CRED_ID_MAX */
	const uint8_t *cose_key; /* the COSE_Key's bytes, at most WEBAUTHN_COSE_KEY_MAX */
	size_t cose_key_len;
	struct cbor_item_t *key; /* the COSE_Key decoded */
};

/*
 * Parses p[0..len) as authenticator data: the fixed 37 bytes, the attested
 * credential data when AT is set (its COSE key's own CBOR length says where
 * it ends), an extension map when ED is set, and nothing after. Checks only
 * the structure (webauthn.c checks rpIdHash and the flags). On failure `*ad`
 * is zeroed.
 */
int webauthn_auth_data_parse(struct webauthn_auth_data *ad, const uint8_t *p, size_t len);

/* Frees `key` and zeroes `ad`; accepts a zeroed struct. */
void webauthn_auth_data_release(struct webauthn_auth_data *ad);

/*
 * The public key of a decoded COSE_Key map (RFC 9052 §7, RFC 9053 §7): ES256
 * (EC2, P-256) or RS256 (RSA) only, the key type and curve matching the
 * algorithm. `*out` is new (pubkey_free()); `*alg_out` gets the algorithm.
 */
int webauthn_cose_key_parse(pubkey **out, int *alg_out, const struct cbor_item_t *key);

/* webauthn_cose_key_parse() of p[0..len), which must be exactly one CBOR
 * item; `what` names the bytes in messages ("the stored public key"). */
int webauthn_cose_key_decode(pubkey **out, int *alg_out, const uint8_t *p, size_t len,
                             const char *what);

/*
 * A parsed attestation object (§6.5): `root` is owned; `fmt` (a definite
 * text string), `stmt` (a map) and `auth_data` are borrowed from it.
 */
struct webauthn_att_obj {
	struct cbor_item_t *root;
	const struct cbor_item_t *fmt;
	const struct cbor_item_t *stmt;
	const uint8_t *auth_data;
	size_t auth_data_len;
};

/*
 * Parses p[0..len) as exactly one CBOR map (no indefinite lengths, nothing
 * after it) with text "fmt", map "attStmt" and bytes "authData", each once.
 * Release `*ao` with webauthn_att_obj_release(), also after a failure.
 */
int webauthn_att_obj_parse(struct webauthn_att_obj *ao, const uint8_t *p, size_t len);

/* Frees `root` and zeroes `ao`; accepts a zeroed struct. */
void webauthn_att_obj_release(struct webauthn_att_obj *ao);

/* Copies the format name into `out` when it is a printable ASCII word of 1
 * to 15 characters (no quote or backslash); else false and `out` is "". */
bool webauthn_att_fmt(char out[16], const struct webauthn_att_obj *ao);

/* True when attStmt is the empty map (what fmt "none" requires). */
bool webauthn_att_stmt_empty(const struct webauthn_att_obj *ao);

/*
 * Verifies a "packed" attestation statement (§8.2) over `tbs` (authData ||
 * SHA-256(clientDataJSON)): self attestation (alg equal to the credential
 * key's, signed by `cred_key`; `*self_out` true) or x5c (signed by the first
 * certificate, which must meet §8.2.1 for `aaguid`; no chain is built).
 * ECDAA is CAREID_EUNSUPPORTED.
 */
int webauthn_att_packed(bool *self_out, const struct webauthn_att_obj *ao, const pubkey *cred_key,
                        const uint8_t aaguid[16], const uint8_t *tbs, size_t tbslen);

#endif
