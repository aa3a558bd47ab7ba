#include "authn/webauthn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/pubkey.h"

#define TIMEOUT_MS        120000
#define CBOR_DEPTH_MAX    16
#define CHALLENGE_MAX     512
#define X5C_MAX           8
#define TRANSPORTS_MAX    8
#define TRANSPORT_LEN_MAX 32

/* Authenticator data: rpIdHash (32), flags (1), signCount (4), then when AT
 * is set aaguid (16), credentialIdLength (2), credentialId, the COSE key. */
#define AUTH_DATA_MIN 37
#define ATTESTED_MIN  18
#define FLAG_UP       0x01
#define FLAG_UV       0x04
#define FLAG_BE       0x08
#define FLAG_BS       0x10
#define FLAG_AT       0x40
#define FLAG_ED       0x80

#define COSE_KTY_EC2 2
#define COSE_KTY_RSA 3
#define COSE_KTY     1
#define COSE_ALG     3
#define COSE_P1      (-1) /* EC2 crv, RSA n */
#define COSE_P2      (-2) /* EC2 x, RSA e */
#define COSE_P3      (-3) /* EC2 y */

_Static_assert(WEBAUTHN_ES256 == PUBKEY_ES256 && WEBAUTHN_RS256 == PUBKEY_RS256, "COSE algs");

struct auth_data {
	const uint8_t *rp_id_hash;
	uint8_t flags;
	uint32_t sign_count;
	/* attested credential data, when FLAG_AT */
	const uint8_t *aaguid;
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *cose_key;
	size_t cose_key_len;
	cbor_item_t *key; /* owned */
};

/* --- JSON and base64url ------------------------------------------------- */

static int load_json(json_t **out, const char *text)
{
	json_error_t jerr;

	*out = NULL;
	if (!text)
		return careid_error_set(CAREID_EINVALID, "no credential was sent");
	if (strnlen(text, WEBAUTHN_JSON_MAX + 1) > WEBAUTHN_JSON_MAX)
		return careid_error_set(CAREID_ETOOBIG, "the credential is over %d bytes",
		                        WEBAUTHN_JSON_MAX);
	*out = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return careid_error_set(CAREID_EINVALID, "the credential is not a JSON object");
	}
	return 0;
}

/* Decodes base64url text into a new buffer (with a NUL after the data) of at
 * most `max` bytes. `what` names it in messages. */
static int b64_decode(uint8_t **out, size_t *len_out, const char *s, size_t slen, const char *what,
                      size_t max)
{
	size_t cap;
	uint8_t *p;

	*out = NULL;
	*len_out = 0;
	if (slen > (max + 2) / 3 * 4)
		return careid_error_set(CAREID_ETOOBIG, "%s is over %zu bytes", what, max);
	cap = slen / 4 * 3 + 3;
	p = malloc(cap + 1);
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (crypto_b64url_decode(p, cap, len_out, s, slen) != 0) {
		free(p);
		*len_out = 0;
		return careid_error_set(CAREID_EINVALID, "%s is not valid base64url", what);
	}
	if (*len_out > max) {
		free(p);
		*len_out = 0;
		return careid_error_set(CAREID_ETOOBIG, "%s is over %zu bytes", what, max);
	}
	p[*len_out] = '\0';
	*out = p;
	return 0;
}

/* b64_decode() of the string member `key` of `obj`. A missing or null member
 * is an error when `required`, else *out is NULL. */
static int b64_member(uint8_t **out, size_t *len_out, const json_t *obj, const char *key,
                      const char *what, size_t max, bool required)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	*len_out = 0;
	if (!v || json_is_null(v)) {
		if (required)
			return careid_error_set(CAREID_EINVALID, "the credential has no %s", what);
		return 0;
	}
	if (!json_is_string(v))
		return careid_error_set(CAREID_EINVALID, "%s is not a string", what);
	return b64_decode(out, len_out, json_string_value(v), json_string_length(v), what, max);
}

static int b64_encode_alloc(char **out, const uint8_t *data, size_t len)
{
	size_t cap = len / 3 * 4 + 4;
	char *s = malloc(cap);

	*out = NULL;
	if (!s)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (crypto_b64url_encode(s, cap, data, len) != 0) {
		free(s);
		return careid_error_set(CAREID_ENOMEM, "cannot encode base64url");
	}
	*out = s;
	return 0;
}

/* Checks "type" and that "id" and "rawId" decode to the same credential id,
 * which is returned. */
static int credential_id(uint8_t **out, size_t *len_out, const json_t *root)
{
	const char *type = json_string_value(json_object_get(root, "type"));
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int rc;

	*out = NULL;
	*len_out = 0;
	if (!type || strcmp(type, "public-key") != 0)
		return careid_error_set(CAREID_EINVALID,
		                        "the credential's type is not \"public-key\"");
	rc = b64_member(out, len_out, root, "id", "credential id", WEBAUTHN_CRED_ID_MAX, true);
	if (rc)
		goto out;
	rc = b64_member(&raw, &rawlen, root, "rawId", "rawId", WEBAUTHN_CRED_ID_MAX, true);
	if (rc)
		goto out;
	if (*len_out == 0) {
		rc = careid_error_set(CAREID_EINVALID, "the credential id is empty");
		goto out;
	}
	if (rawlen != *len_out || memcmp(raw, *out, rawlen) != 0)
		rc = careid_error_set(CAREID_EINVALID, "the credential's id and rawId differ");
out:
	free(raw);
	if (rc) {
		free(*out);
		*out = NULL;
		*len_out = 0;
	}
	return rc;
}

/* The clientDataJSON checks of §7.1 steps 7-10 and §7.2 steps 11-14. */
static int client_data_check(const uint8_t *data, size_t len, const char *type,
                             const struct webauthn_expect *e)
{
	json_t *cd = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
	const char *got_type, *challenge, *origin;
	int rc = 0;

	if (!cd || !json_is_object(cd)) {
		rc = careid_error_set(CAREID_EINVALID, "clientDataJSON is not a JSON object");
		goto out;
	}
	got_type = json_string_value(json_object_get(cd, "type"));
	challenge = json_string_value(json_object_get(cd, "challenge"));
	origin = json_string_value(json_object_get(cd, "origin"));
	if (!got_type || !challenge || !origin) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "clientDataJSON lacks a type, challenge or origin string");
		goto out;
	}
	if (strcmp(got_type, type) != 0) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the response is of type \"%.40s\", not \"%s\"", got_type,
		                      type);
		goto out;
	}
	if (!crypto_streq(challenge, e->challenge)) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the response answers another challenge than the one issued");
		goto out;
	}
	if (strcmp(origin, e->origin) != 0) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the response came from origin %.100s, not %.100s", origin,
		                      e->origin);
		goto out;
	}
	if (json_is_true(json_object_get(cd, "crossOrigin")))
		rc = careid_error_set(
		    CAREID_EDENIED,
		    "the response came from a frame of another origin (crossOrigin)");
out:
	json_decref(cd);
	return rc;
}

/* --- CBOR ---------------------------------------------------------------- */

/*
 * Checks that p[0..len) starts with one well-formed CBOR item and sets *used
 * to its length. Refuses indefinite lengths (CTAP2 canonical CBOR has none),
 * reserved encodings, nesting over CBOR_DEPTH_MAX and counts or lengths that
 * cannot fit in what is left: libcbor would otherwise allocate whatever size
 * a header claims before seeing the items.
 */
static int cbor_scan(const uint8_t *p, size_t len, size_t *used, unsigned depth, const char **why)
{
	uint8_t major, ai;
	uint64_t arg = 0, n, i;
	size_t head, off, sub;

	if (depth > CBOR_DEPTH_MAX) {
		*why = "nested too deeply";
		return -1;
	}
	if (len == 0) {
		*why = "it ends early";
		return -1;
	}
	major = p[0] >> 5;
	ai = p[0] & 0x1f;
	if (ai < 24) {
		arg = ai;
		head = 1;
	} else if (ai <= 27) {
		head = 1 + ((size_t)1 << (ai - 24));
		if (len < head) {
			*why = "it ends early";
			return -1;
		}
		for (i = 1; i < head; i++)
			arg = (arg << 8) | p[i];
	} else {
		*why = ai == 31 ? "indefinite lengths are not allowed" : "a reserved encoding";
		return -1;
	}
	off = head;
	switch (major) {
	case 2: /* byte string */
	case 3: /* text string */
		if (arg > len - off) {
			*why = "it ends early";
			return -1;
		}
		off += (size_t)arg;
		break;
	case 4: /* array */
	case 5: /* map */
		/* every item takes at least one byte */
		if (arg > len - off || (major == 5 && arg > (len - off) / 2)) {
			*why = "it ends early";
			return -1;
		}
		n = major == 5 ? 2 * arg : arg;
		for (i = 0; i < n; i++) {
			if (cbor_scan(p + off, len - off, &sub, depth + 1, why) != 0)
				return -1;
			off += sub;
		}
		break;
	case 6: /* tag */
		if (cbor_scan(p + off, len - off, &sub, depth + 1, why) != 0)
			return -1;
		off += sub;
		break;
	case 7: /* simple values and floats */
		if (ai == 24 && arg < 32) {
			*why = "a reserved encoding";
			return -1;
		}
		break;
	default: /* integers */
		break;
	}
	*used = off;
	return 0;
}

/* Decodes the CBOR item at the start of p[0..len); *used gets its length. */
static int cbor_decode(cbor_item_t **out, size_t *used, const uint8_t *p, size_t len,
                       const char *what)
{
	struct cbor_load_result res;
	const char *why = "";
	size_t n = 0;

	*out = NULL;
	*used = 0;
	if (cbor_scan(p, len, &n, 0, &why) != 0)
		return careid_error_set(CAREID_EINVALID, "%s is not valid CBOR (%s)", what, why);
	*out = cbor_load(p, n, &res);
	if (!*out || res.error.code != CBOR_ERR_NONE || res.read != n) {
		if (*out)
			cbor_decref(out);
		*out = NULL;
		if (res.error.code == CBOR_ERR_MEMERROR)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		return careid_error_set(CAREID_EINVALID, "%s is not valid CBOR", what);
	}
	*used = res.read;
	return 0;
}

static bool cbor_text_is(const cbor_item_t *it, const char *s)
{
	size_t n = strlen(s);

	return cbor_isa_string(it) && cbor_string_is_definite(it) && cbor_string_length(it) == n &&
	       memcmp(cbor_string_handle(it), s, n) == 0;
}

static bool cbor_int(const cbor_item_t *it, int64_t *v)
{
	uint64_t n;

	if (!cbor_isa_uint(it) && !cbor_isa_negint(it))
		return false;
	n = cbor_get_int(it);
	if (n > INT64_MAX)
		return false;
	/* a negative integer is stored as its magnitude minus one */
	*v = cbor_isa_negint(it) ? -1 - (int64_t)n : (int64_t)n;
	return true;
}

static bool cbor_bytes(const cbor_item_t *it, const uint8_t **p, size_t *len)
{
	if (!cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return false;
	*p = cbor_bytestring_handle(it);
	*len = cbor_bytestring_length(it);
	return true;
}

/* --- authenticator data ------------------------------------------------- */

static void auth_data_release(struct auth_data *ad)
{
	if (ad->key)
		cbor_decref(&ad->key);
	memset(ad, 0, sizeof(*ad));
}

/* Parses authenticator data (§6.1); the pointers point into `p`. */
static int auth_data_parse(struct auth_data *ad, const uint8_t *p, size_t len)
{
	cbor_item_t *ext = NULL;
	size_t off = AUTH_DATA_MIN, used;
	int rc = 0;

	memset(ad, 0, sizeof(*ad));
	if (len < AUTH_DATA_MIN)
		return careid_error_set(CAREID_EINVALID,
		                        "the authenticator data is truncated (%zu bytes)", len);
	ad->rp_id_hash = p;
	ad->flags = p[32];
	ad->sign_count =
	    (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 | (uint32_t)p[35] << 8 | (uint32_t)p[36];
	if (ad->flags & FLAG_AT) {
		if (len - off < ATTESTED_MIN)
			return careid_error_set(CAREID_EINVALID,
			                        "the authenticator data is truncated "
			                        "in its attested credential data");
		ad->aaguid = p + off;
		ad->cred_id_len = (size_t)p[off + 16] << 8 | p[off + 17];
		off += ATTESTED_MIN;
		if (ad->cred_id_len == 0 || ad->cred_id_len > WEBAUTHN_CRED_ID_MAX)
			return careid_error_set(CAREID_EINVALID,
			                        "the credential id length %zu is out of range",
			                        ad->cred_id_len);
		if (len - off < ad->cred_id_len)
			return careid_error_set(CAREID_EINVALID,
			                        "the authenticator data is truncated "
			                        "in the credential id");
		ad->cred_id = p + off;
		off += ad->cred_id_len;
		/* The key is followed by extensions or nothing: its own length
		 * says where it ends. */
		rc = cbor_decode(&ad->key, &used, p + off, len - off, "the credential public key");
		if (rc)
			goto out;
		if (used > WEBAUTHN_COSE_KEY_MAX) {
			rc = careid_error_set(CAREID_ETOOBIG,
			                      "the credential public key is over %d bytes",
			                      WEBAUTHN_COSE_KEY_MAX);
			goto out;
		}
		ad->cose_key = p + off;
		ad->cose_key_len = used;
		off += used;
	}
	if (ad->flags & FLAG_ED) {
		rc = cbor_decode(&ext, &used, p + off, len - off,
		                 "the authenticator data's extension map");
		if (rc)
			goto out;
		if (!cbor_isa_map(ext)) {
			rc = careid_error_set(
			    CAREID_EINVALID,
			    "the authenticator data's extensions are not a CBOR map");
			goto out;
		}
		off += used;
	}
	if (off != len)
		rc = careid_error_set(CAREID_EINVALID,
		                      "the authenticator data has %zu unexpected bytes at its end",
		                      len - off);
out:
	if (ext)
		cbor_decref(&ext);
	if (rc)
		auth_data_release(ad);
	return rc;
}

/* rpIdHash, UP, UV and BE/BS (§7.1 steps 13-16, §7.2 steps 15-18). */
static int auth_data_check(const struct auth_data *ad, const struct webauthn_expect *e)
{
	uint8_t want[32];

	crypto_sha256(want, e->rp_id, strlen(e->rp_id));
	if (memcmp(want, ad->rp_id_hash, sizeof(want)) != 0)
		return careid_error_set(CAREID_EDENIED,
		                        "the response is for another relying party ID than %.100s",
		                        e->rp_id);
	if (!(ad->flags & FLAG_UP))
		return careid_error_set(CAREID_EDENIED,
		                        "the authenticator did not confirm the user was present");
	if (e->require_uv && !(ad->flags & FLAG_UV))
		return careid_error_set(
		    CAREID_EDENIED, "the authenticator did not verify the user (PIN or biometric)");
	if ((ad->flags & FLAG_BS) && !(ad->flags & FLAG_BE))
		return careid_error_set(CAREID_EINVALID, "the authenticator reports a backed-up "
		                                         "credential that cannot be backed up");
	return 0;
}

/* authData || SHA-256(clientDataJSON), the bytes both ceremonies sign. */
static int signed_bytes(uint8_t **out, size_t *len_out, const uint8_t *auth_data, size_t adlen,
                        const uint8_t *client_data, size_t cdlen)
{
	uint8_t *p = malloc(adlen + 32);

	*out = NULL;
	*len_out = 0;
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	memcpy(p, auth_data, adlen);
	crypto_sha256(p + adlen, client_data, cdlen);
	*out = p;
	*len_out = adlen + 32;
	return 0;
}

/* --- COSE keys ---------------------------------------------------------- */

/* The public key of a COSE_Key map (RFC 9052 §7, RFC 9053 §7), for ES256 or
 * RS256 only, with its key type and curve matching the algorithm. */
static int cose_key_parse(pubkey **out, int *alg_out, const cbor_item_t *key)
{
	const cbor_item_t *kty = NULL, *alg = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL;
	const struct cbor_pair *pairs;
	const uint8_t *a = NULL, *b = NULL;
	size_t i, alen = 0, blen = 0;
	int64_t label, kv, av, crv;

	*out = NULL;
	*alg_out = 0;
	if (!cbor_isa_map(key))
		return careid_error_set(CAREID_EINVALID, "the credential public key is not a map");
	pairs = cbor_map_handle(key);
	for (i = 0; i < cbor_map_size(key); i++) {
		const cbor_item_t **slot;

		if (!cbor_int(pairs[i].key, &label))
			continue; /* text labels: none that matter here */
		switch (label) {
		case COSE_KTY:
			slot = &kty;
			break;
		case COSE_ALG:
			slot = &alg;
			break;
		case COSE_P1:
			slot = &p1;
			break;
		case COSE_P2:
			slot = &p2;
			break;
		case COSE_P3:
			slot = &p3;
			break;
		default:
			continue;
		}
		if (*slot)
			return careid_error_set(
			    CAREID_EINVALID,
			    "the credential public key has label %" PRId64 " twice", label);
		*slot = pairs[i].value;
	}
	if (!kty || !cbor_int(kty, &kv) || !alg || !cbor_int(alg, &av))
		return careid_error_set(CAREID_EINVALID,
		                        "the credential public key lacks an integer kty or alg");
	if (av != WEBAUTHN_ES256 && av != WEBAUTHN_RS256)
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "the credential uses COSE algorithm %" PRId64
		                        "; only ES256 (-7) and RS256 (-257) are accepted",
		                        av);
	if (av == WEBAUTHN_ES256) {
		if (kv != COSE_KTY_EC2)
			return careid_error_set(CAREID_EINVALID,
			                        "the credential key type %" PRId64
			                        " does not match its algorithm ES256 (EC2 needed)",
			                        kv);
		if (!p1 || !cbor_int(p1, &crv) || crv != PUBKEY_CRV_P256)
			return careid_error_set(CAREID_EINVALID,
			                        "the credential key's curve does not "
			                        "match its algorithm ES256 (P-256)");
		if (!p2 || !p3 || !cbor_bytes(p2, &a, &alen) || !cbor_bytes(p3, &b, &blen))
			return careid_error_set(CAREID_EINVALID,
			                        "the credential key lacks its x and y coordinates");
		*alg_out = WEBAUTHN_ES256;
		return pubkey_from_ec2(out, PUBKEY_ES256, (int)crv, a, alen, b, blen);
	}
	if (kv != COSE_KTY_RSA)
		return careid_error_set(CAREID_EINVALID,
		                        "the credential key type %" PRId64
		                        " does not match its algorithm RS256 (RSA needed)",
		                        kv);
	if (!p1 || !p2 || !cbor_bytes(p1, &a, &alen) || !cbor_bytes(p2, &b, &blen))
		return careid_error_set(CAREID_EINVALID,
		                        "the credential key lacks its RSA modulus and exponent");
	*alg_out = WEBAUTHN_RS256;
	return pubkey_from_rsa(out, PUBKEY_RS256, a, alen, b, blen);
}

/* --- attestation -------------------------------------------------------- */

struct att_obj {
	cbor_item_t *root; /* owned; the members below are borrowed from it */
	const cbor_item_t *fmt;
	const cbor_item_t *stmt;
	const uint8_t *auth_data;
	size_t auth_data_len;
};

static int att_obj_parse(struct att_obj *ao, const uint8_t *p, size_t len)
{
	const struct cbor_pair *pairs;
	const cbor_item_t *ad = NULL;
	size_t i, used;
	int rc;

	memset(ao, 0, sizeof(*ao));
	rc = cbor_decode(&ao->root, &used, p, len, "the attestation object");
	if (rc)
		return rc;
	if (used != len)
		return careid_error_set(
		    CAREID_EINVALID, "the attestation object is followed by %zu unexpected bytes",
		    len - used);
	if (!cbor_isa_map(ao->root))
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation object is not a CBOR map");
	pairs = cbor_map_handle(ao->root);
	for (i = 0; i < cbor_map_size(ao->root); i++) {
		const cbor_item_t **slot;

		if (cbor_text_is(pairs[i].key, "fmt"))
			slot = &ao->fmt;
		else if (cbor_text_is(pairs[i].key, "attStmt"))
			slot = &ao->stmt;
		else if (cbor_text_is(pairs[i].key, "authData"))
			slot = &ad;
		else
			continue;
		if (*slot)
			return careid_error_set(CAREID_EINVALID,
			                        "the attestation object has a member twice");
		*slot = pairs[i].value;
	}
	if (!ao->fmt || !cbor_isa_string(ao->fmt) || !cbor_string_is_definite(ao->fmt))
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation object has no fmt text string");
	if (!ao->stmt || !cbor_isa_map(ao->stmt))
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation object has no attStmt map");
	if (!ad || !cbor_bytes(ad, &ao->auth_data, &ao->auth_data_len))
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation object has no authData byte string");
	return 0;
}

/* "packed" (§8.2): self attestation with the credential key, or x5c. */
static int att_packed(bool *self_out, const cbor_item_t *stmt, const pubkey *cred_key,
                      const uint8_t aaguid[16], const uint8_t *tbs, size_t tbslen)
{
	const cbor_item_t *alg = NULL, *sig = NULL, *x5c = NULL;
	const struct cbor_pair *pairs = cbor_map_handle(stmt);
	const uint8_t *s, *der = NULL;
	size_t i, slen, derlen = 0;
	pubkey_cert *cert = NULL;
	pubkey *att_key = NULL;
	int64_t av;
	int rc = 0;

	*self_out = false;
	for (i = 0; i < cbor_map_size(stmt); i++) {
		const cbor_item_t **slot;

		if (cbor_text_is(pairs[i].key, "alg"))
			slot = &alg;
		else if (cbor_text_is(pairs[i].key, "sig"))
			slot = &sig;
		else if (cbor_text_is(pairs[i].key, "x5c"))
			slot = &x5c;
		else if (cbor_text_is(pairs[i].key, "ecdaaKeyId"))
			return careid_error_set(CAREID_EUNSUPPORTED,
			                        "ECDAA attestation is not supported");
		else
			continue;
		if (*slot)
			return careid_error_set(CAREID_EINVALID,
			                        "the attestation statement has a member twice");
		*slot = pairs[i].value;
	}
	if (!alg || !cbor_int(alg, &av) || av < INT32_MIN || av > INT32_MAX)
		return careid_error_set(CAREID_EINVALID,
		                        "the packed attestation statement has no integer alg");
	if (!sig || !cbor_bytes(sig, &s, &slen))
		return careid_error_set(CAREID_EINVALID,
		                        "the packed attestation statement has no sig byte string");
	if (!x5c) {
		if (av != pubkey_alg(cred_key))
			return careid_error_set(CAREID_EINVALID,
			                        "the self attestation's alg %" PRId64
			                        " differs from the credential's %d",
			                        av, pubkey_alg(cred_key));
		rc = pubkey_verify(cred_key, tbs, tbslen, s, slen);
		if (rc == CAREID_EDENIED)
			rc = careid_error_set(CAREID_EDENIED,
			                      "the self attestation signature does not verify");
		*self_out = rc == 0;
		return rc;
	}
	if (!cbor_isa_array(x5c) || cbor_array_size(x5c) == 0 || cbor_array_size(x5c) > X5C_MAX)
		return careid_error_set(
		    CAREID_EINVALID, "the attestation statement's x5c is not 1 to %d certificates",
		    X5C_MAX);
	/* cbor_array_handle() lends the items (cbor_array_get() would take a
	 * reference). All must be bytes; counting down leaves der/derlen at the
	 * first, the only one used (no chain to a trust anchor is built). */
	for (i = cbor_array_size(x5c); i-- > 0;)
		if (!cbor_bytes(cbor_array_handle(x5c)[i], &der, &derlen))
			return careid_error_set(CAREID_EINVALID,
			                        "an x5c entry is not a byte string");
	rc = pubkey_cert_parse(&cert, der, derlen);
	if (rc == CAREID_EINVALID)
		rc = careid_error_set(CAREID_EINVALID,
		                      "the attestation certificate (x5c) is not valid DER X.509");
	if (rc)
		goto out;
	rc = pubkey_from_cert(&att_key, cert, (int)av);
	if (rc)
		goto out;
	rc = pubkey_verify(att_key, tbs, tbslen, s, slen);
	if (rc == CAREID_EDENIED)
		rc = careid_error_set(CAREID_EDENIED, "the attestation signature does not verify "
		                                      "with the attestation certificate");
	if (rc)
		goto out;
	rc = pubkey_cert_check_packed(cert, aaguid);
out:
	pubkey_free(att_key);
	pubkey_cert_free(cert);
	return rc;
}

/* Copies the fmt name when it is a short printable ASCII word. */
static bool fmt_name(char out[16], const cbor_item_t *fmt)
{
	size_t n = cbor_string_length(fmt), i;
	const uint8_t *p = cbor_string_handle(fmt);

	out[0] = '\0';
	if (n == 0 || n > 15)
		return false;
	for (i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static int transports_text(char **out, const json_t *resp)
{
	const json_t *v = json_object_get(resp, "transports"), *t;
	json_t *keep = NULL;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return careid_error_set(CAREID_EINVALID, "response.transports is not an array");
	keep = json_array();
	if (!keep)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	json_array_foreach(v, i, t)
	{
		if (json_array_size(keep) >= TRANSPORTS_MAX)
			break;
		if (!json_is_string(t) || json_string_length(t) == 0 ||
		    json_string_length(t) >= TRANSPORT_LEN_MAX)
			continue;
		if (json_array_append(keep, (json_t *)t) != 0) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto out;
		}
	}
	*out = json_dumps(keep, JSON_COMPACT);
	if (!*out)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	json_decref(keep);
	return rc;
}

void webauthn_credential_release(struct webauthn_credential *c)
{
	if (!c)
		return;
	free(c->credential_id);
	free(c->public_key);
	free(c->transports);
	memset(c, 0, sizeof(*c));
}

static void format_aaguid(char out[37], const uint8_t a[16])
{
	char hex[33];

	crypto_hex(hex, a, 16);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int webauthn_register(struct webauthn_credential *out, const struct webauthn_expect *e,
                      const char *credential_json)
{
	struct webauthn_credential c = {0};
	struct att_obj ao = {0};
	struct auth_data ad = {0};
	json_t *root = NULL;
	const json_t *resp;
	uint8_t *id = NULL, *cdata = NULL, *attobj = NULL, *tbs = NULL;
	size_t idlen = 0, cdlen = 0, aolen = 0, tbslen = 0;
	pubkey *key = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = load_json(&root, credential_json);
	if (rc)
		goto out;
	rc = credential_id(&id, &idlen, root);
	if (rc)
		goto out;
	resp = json_object_get(root, "response");
	if (!json_is_object(resp)) {
		rc = careid_error_set(CAREID_EINVALID, "the credential has no response object");
		goto out;
	}
	rc = b64_member(&cdata, &cdlen, resp, "clientDataJSON", "response.clientDataJSON",
	                WEBAUTHN_CLIENT_DATA_MAX, true);
	if (rc)
		goto out;
	rc = b64_member(&attobj, &aolen, resp, "attestationObject", "response.attestationObject",
	                WEBAUTHN_ATT_OBJ_MAX, true);
	if (rc)
		goto out;
	rc = client_data_check(cdata, cdlen, "webauthn.create", e);
	if (rc)
		goto out;
	rc = att_obj_parse(&ao, attobj, aolen);
	if (rc)
		goto out;
	rc = auth_data_parse(&ad, ao.auth_data, ao.auth_data_len);
	if (rc)
		goto out;
	rc = auth_data_check(&ad, e);
	if (rc)
		goto out;
	if (!(ad.flags & FLAG_AT)) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "the authenticator data holds no credential (AT flag clear)");
		goto out;
	}
	if (ad.cred_id_len != idlen || memcmp(ad.cred_id, id, idlen) != 0) {
		rc =
		    careid_error_set(CAREID_EINVALID, "the credential id in the authenticator data "
		                                      "differs from the credential's id");
		goto out;
	}
	rc = cose_key_parse(&key, &c.alg, ad.key);
	if (rc)
		goto out;
	if (!fmt_name(c.fmt, ao.fmt)) {
		rc = careid_error_set(CAREID_EUNSUPPORTED,
		                      "the attestation format is not one careid supports");
		goto out;
	}
	if (strcmp(c.fmt, "none") == 0) {
		if (cbor_map_size(ao.stmt) != 0) {
			rc = careid_error_set(CAREID_EINVALID,
			                      "a \"none\" attestation must have an empty attStmt");
			goto out;
		}
	} else if (strcmp(c.fmt, "packed") == 0) {
		rc = signed_bytes(&tbs, &tbslen, ao.auth_data, ao.auth_data_len, cdata, cdlen);
		if (rc)
			goto out;
		rc = att_packed(&c.self_attested, ao.stmt, key, ad.aaguid, tbs, tbslen);
		if (rc)
			goto out;
		c.attested = true;
	} else {
		rc = careid_error_set(CAREID_EUNSUPPORTED,
		                      "attestation format \"%s\" is not supported", c.fmt);
		goto out;
	}
	rc = b64_encode_alloc(&c.credential_id, id, idlen);
	if (rc)
		goto out;
	rc = b64_encode_alloc(&c.public_key, ad.cose_key, ad.cose_key_len);
	if (rc)
		goto out;
	rc = transports_text(&c.transports, resp);
	if (rc)
		goto out;
	format_aaguid(c.aaguid, ad.aaguid);
	c.sign_count = ad.sign_count;
	c.user_verified = ad.flags & FLAG_UV;
	c.backup_eligible = ad.flags & FLAG_BE;
	c.backup_state = ad.flags & FLAG_BS;
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	webauthn_credential_release(&c);
	auth_data_release(&ad);
	if (ao.root)
		cbor_decref(&ao.root);
	pubkey_free(key);
	free(tbs);
	free(attobj);
	free(cdata);
	free(id);
	json_decref(root);
	return rc;
}

/* --- assertions --------------------------------------------------------- */

void webauthn_assertion_release(struct webauthn_assertion *a)
{
	if (!a)
		return;
	free(a->credential_id);
	free(a->user_handle);
	free(a->challenge);
	free(a->client_data);
	free(a->auth_data);
	free(a->sig);
	memset(a, 0, sizeof(*a));
}

static int client_data_challenge(char **out, const uint8_t *data, size_t len)
{
	json_t *cd = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *ch = json_object_get(cd, "challenge");
	int rc = 0;

	*out = NULL;
	if (!json_is_object(cd) || !json_is_string(ch) || json_string_length(ch) == 0 ||
	    json_string_length(ch) > CHALLENGE_MAX) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "clientDataJSON is not a JSON object with a challenge");
		goto out;
	}
	*out = strdup(json_string_value(ch));
	if (!*out)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	json_decref(cd);
	return rc;
}

int webauthn_assertion_parse(struct webauthn_assertion *out, const char *credential_json)
{
	struct webauthn_assertion a = {0};
	json_t *root = NULL;
	const json_t *resp;
	uint8_t *id = NULL, *uh = NULL;
	size_t idlen = 0, uhlen = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = load_json(&root, credential_json);
	if (rc)
		goto out;
	rc = credential_id(&id, &idlen, root);
	if (rc)
		goto out;
	resp = json_object_get(root, "response");
	if (!json_is_object(resp)) {
		rc = careid_error_set(CAREID_EINVALID, "the credential has no response object");
		goto out;
	}
	rc = b64_member(&a.client_data, &a.client_data_len, resp, "clientDataJSON",
	                "response.clientDataJSON", WEBAUTHN_CLIENT_DATA_MAX, true);
	if (rc)
		goto out;
	rc = b64_member(&a.auth_data, &a.auth_data_len, resp, "authenticatorData",
	                "response.authenticatorData", WEBAUTHN_AUTH_DATA_MAX, true);
	if (rc)
		goto out;
	rc = b64_member(&a.sig, &a.sig_len, resp, "signature", "response.signature",
	                WEBAUTHN_SIG_MAX, true);
	if (rc)
		goto out;
	rc = b64_member(&uh, &uhlen, resp, "userHandle", "response.userHandle",
	                WEBAUTHN_USER_HANDLE_MAX, false);
	if (rc)
		goto out;
	if (uhlen > 0) {
		rc = b64_encode_alloc(&a.user_handle, uh, uhlen);
		if (rc)
			goto out;
	}
	rc = client_data_challenge(&a.challenge, a.client_data, a.client_data_len);
	if (rc)
		goto out;
	rc = b64_encode_alloc(&a.credential_id, id, idlen);
	if (rc)
		goto out;
	*out = a;
	memset(&a, 0, sizeof(a));
out:
	webauthn_assertion_release(&a);
	free(uh);
	free(id);
	json_decref(root);
	return rc;
}

/* The stored COSE key (base64url), which must be exactly one key for `alg`. */
static int stored_key(pubkey **out, const char *public_key, int alg)
{
	cbor_item_t *item = NULL;
	uint8_t *raw = NULL;
	size_t len = 0, used;
	int kalg = 0, rc;

	*out = NULL;
	if (!public_key)
		return careid_error_set(CAREID_EINVALID, "no stored public key");
	rc = b64_decode(&raw, &len, public_key, strnlen(public_key, WEBAUTHN_COSE_KEY_MAX * 2),
	                "the stored public key", WEBAUTHN_COSE_KEY_MAX);
	if (rc)
		goto out;
	rc = cbor_decode(&item, &used, raw, len, "the stored public key");
	if (rc)
		goto out;
	if (used != len) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "the stored public key is followed by unexpected bytes");
		goto out;
	}
	rc = cose_key_parse(out, &kalg, item);
	if (rc)
		goto out;
	if (kalg != alg) {
		pubkey_free(*out);
		*out = NULL;
		rc = careid_error_set(CAREID_EINVALID,
		                      "the stored public key is for COSE algorithm %d, not %d",
		                      kalg, alg);
	}
out:
	if (item)
		cbor_decref(&item);
	free(raw);
	return rc;
}

int webauthn_assertion_verify(uint32_t *sign_count_out, bool *uv_out,
                              const struct webauthn_assertion *a, const struct webauthn_expect *e,
                              const char *public_key, int alg, uint32_t stored_count)
{
	struct auth_data ad = {0};
	pubkey *key = NULL;
	uint8_t *tbs = NULL;
	size_t tbslen = 0;
	int rc;

	*sign_count_out = 0;
	*uv_out = false;
	if (!a->client_data || !a->auth_data || !a->sig)
		return careid_error_set(CAREID_EINVALID, "the assertion was not parsed");
	rc = client_data_check(a->client_data, a->client_data_len, "webauthn.get", e);
	if (rc)
		goto out;
	rc = auth_data_parse(&ad, a->auth_data, a->auth_data_len);
	if (rc)
		goto out;
	rc = auth_data_check(&ad, e);
	if (rc)
		goto out;
	rc = stored_key(&key, public_key, alg);
	if (rc)
		goto out;
	rc = signed_bytes(&tbs, &tbslen, a->auth_data, a->auth_data_len, a->client_data,
	                  a->client_data_len);
	if (rc)
		goto out;
	rc = pubkey_verify(key, tbs, tbslen, a->sig, a->sig_len);
	if (rc)
		goto out;
	if ((stored_count != 0 || ad.sign_count != 0) && ad.sign_count <= stored_count) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the signature counter went backwards (stored %" PRIu32
		                      ", received %" PRIu32
		                      "): the authenticator may have been cloned",
		                      stored_count, ad.sign_count);
		goto out;
	}
	*sign_count_out = ad.sign_count;
	*uv_out = ad.flags & FLAG_UV;
out:
	auth_data_release(&ad);
	pubkey_free(key);
	free(tbs);
	return rc;
}

/* --- options ------------------------------------------------------------ */

/* [{"type":"public-key","id":…}] from a JSON array of base64url ids (NULL: empty). */
static json_t *descriptors(const json_t *ids)
{
	json_t *list = json_array(), *d;
	const json_t *id;
	size_t i;

	if (!list) {
		careid_error_set(CAREID_ENOMEM, "out of memory");
		return NULL;
	}
	if (!ids)
		return list;
	if (!json_is_array(ids)) {
		json_decref(list);
		careid_error_set(CAREID_EINVALID, "the credential list is not an array");
		return NULL;
	}
	json_array_foreach(ids, i, id)
	{
		if (!json_is_string(id)) {
			json_decref(list);
			careid_error_set(CAREID_EINVALID, "a credential id is not a string");
			return NULL;
		}
		d = json_pack("{s:s,s:s}", "type", "public-key", "id", json_string_value(id));
		if (!d || json_array_append_new(list, d) != 0) {
			json_decref(list);
			careid_error_set(CAREID_ENOMEM, "out of memory");
			return NULL;
		}
	}
	return list;
}

json_t *webauthn_creation_options(const char *rp_id, const char *rp_name,
                                  const char *user_handle_b64url, const char *user_name,
                                  const char *display_name, const char *challenge, bool require_uv,
                                  const json_t *exclude)
{
	json_t *list, *o;

	if (!rp_id || !rp_name || !user_handle_b64url || !user_name || !display_name ||
	    !challenge) {
		careid_error_set(CAREID_EINVALID, "a WebAuthn creation option is missing");
		return NULL;
	}
	list = descriptors(exclude);
	if (!list)
		return NULL;
	/* "o" steals the reference to `list`, also on failure */
	o = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:s},s:s,s:[{s:s,s:i},{s:s,s:i}],s:i,s:s,"
	              "s:{s:s,s:b,s:s},s:o}",
	              "rp", "id", rp_id, "name", rp_name, "user", "id", user_handle_b64url, "name",
	              user_name, "displayName", display_name, "challenge", challenge,
	              "pubKeyCredParams", "type", "public-key", "alg", WEBAUTHN_ES256, "type",
	              "public-key", "alg", WEBAUTHN_RS256, "timeout", TIMEOUT_MS, "attestation",
	              "direct", "authenticatorSelection", "residentKey", "required",
	              "requireResidentKey", 1, "userVerification",
	              require_uv ? "required" : "preferred", "excludeCredentials", list);
	if (!o)
		careid_error_set(CAREID_EINVALID, "cannot build the WebAuthn creation options");
	return o;
}

json_t *webauthn_request_options(const char *rp_id, const char *challenge, bool require_uv,
                                 const json_t *allow)
{
	json_t *list, *o;

	if (!rp_id || !challenge) {
		careid_error_set(CAREID_EINVALID, "a WebAuthn request option is missing");
		return NULL;
	}
	list = descriptors(allow);
	if (!list)
		return NULL;
	o = json_pack("{s:s,s:s,s:i,s:s,s:o}", "challenge", challenge, "rpId", rp_id, "timeout",
	              TIMEOUT_MS, "userVerification", require_uv ? "required" : "preferred",
	              "allowCredentials", list);
	if (!o)
		careid_error_set(CAREID_EINVALID, "cannot build the WebAuthn request options");
	return o;
}
