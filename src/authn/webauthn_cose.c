#include "authn/webauthn_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "core/error.h"
#include "crypto/hash.h"

#define CBOR_DEPTH_MAX 16
#define X5C_MAX        8

/* Authenticator data: rpIdHash (32), flags (1), signCount (4), then when AT
 * is set aaguid (16), credentialIdLength (2), credentialId, the COSE key. */
#define AUTH_DATA_MIN 37
#define ATTESTED_MIN  18

#define COSE_KTY_EC2 2
#define COSE_KTY_RSA 3
#define COSE_KTY     1
#define COSE_ALG     3
#define COSE_P1      (-1) /* EC2 crv, RSA n */
#define COSE_P2      (-2) /* EC2 x, RSA e */
#define COSE_P3      (-3) /* EC2 y */

_Static_assert(WEBAUTHN_ES256 == PUBKEY_ES256 && WEBAUTHN_RS256 == PUBKEY_RS256, "COSE algs");

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

void webauthn_auth_data_release(struct webauthn_auth_data *ad)
{
	if (ad->key)
		cbor_decref(&ad->key);
	memset(ad, 0, sizeof(*ad));
}

/* Parses authenticator data (§6.1); the pointers point into `p`. */
int webauthn_auth_data_parse(struct webauthn_auth_data *ad, const uint8_t *p, size_t len)
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
	if (ad->flags & WEBAUTHN_FLAG_AT) {
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
	if (ad->flags & WEBAUTHN_FLAG_ED) {
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
		webauthn_auth_data_release(ad);
	return rc;
}

/* --- COSE keys ---------------------------------------------------------- */

/* The public key of a COSE_Key map (RFC 9052 §7, RFC 9053 §7), for ES256 or
 * RS256 only, with its key type and curve matching the algorithm. */
int webauthn_cose_key_parse(pubkey **out, int *alg_out, const cbor_item_t *key)
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

int webauthn_cose_key_decode(pubkey **out, int *alg_out, const uint8_t *p, size_t len,
                             const char *what)
{
	cbor_item_t *item = NULL;
	size_t used;
	int rc;

	*out = NULL;
	*alg_out = 0;
	rc = cbor_decode(&item, &used, p, len, what);
	if (rc)
		return rc;
	if (used != len)
		rc = careid_error_set(CAREID_EINVALID, "%s is followed by unexpected bytes", what);
	else
		rc = webauthn_cose_key_parse(out, alg_out, item);
	cbor_decref(&item);
	return rc;
}

/* --- attestation -------------------------------------------------------- */

int webauthn_att_obj_parse(struct webauthn_att_obj *ao, const uint8_t *p, size_t len)
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

void webauthn_att_obj_release(struct webauthn_att_obj *ao)
{
	if (ao->root)
		cbor_decref(&ao->root);
	memset(ao, 0, sizeof(*ao));
}

bool webauthn_att_stmt_empty(const struct webauthn_att_obj *ao)
{
	return ao->stmt && cbor_map_size(ao->stmt) == 0;
}

/* "packed" (§8.2): self attestation with the credential key, or x5c. */
int webauthn_att_packed(bool *self_out, const struct webauthn_att_obj *ao, const pubkey *cred_key,
                        const uint8_t aaguid[16], const uint8_t *tbs, size_t tbslen)
{
	const cbor_item_t *stmt = ao->stmt;
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
bool webauthn_att_fmt(char out[16], const struct webauthn_att_obj *ao)
{
	const cbor_item_t *fmt = ao->fmt;
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

int webauthn_cose_es256(char **out, const uint8_t x[32], const uint8_t y[32])
{
	cbor_item_t *map = cbor_new_definite_map(5);
	unsigned char *bytes = NULL;
	size_t size = 0, len;
	bool ok = map != NULL;
	int rc = 0;

	*out = NULL;
	ok = ok && cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_uint8(1)),
	                                                cbor_move(cbor_build_uint8(2))});
	ok = ok && cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_uint8(3)),
	                                                cbor_move(cbor_build_negint8(6))});
	ok = ok && cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_negint8(0)),
	                                                cbor_move(cbor_build_uint8(1))});
	ok = ok && cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_negint8(1)),
	                                                cbor_move(cbor_build_bytestring(x, 32))});
	ok = ok && cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_negint8(2)),
	                                                cbor_move(cbor_build_bytestring(y, 32))});
	len = ok ? cbor_serialize_alloc(map, &bytes, &size) : 0;
	if (map)
		cbor_decref(&map);
	if (!len)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	*out = malloc(4 * len / 3 + 4);
	if (!*out)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	else
		rc = crypto_b64url_encode(*out, 4 * len / 3 + 4, bytes, len);
	free(bytes);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}
