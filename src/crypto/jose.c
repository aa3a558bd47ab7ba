#include "crypto/jose.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjose/cjose.h>
#include <sodium.h>

#include "core/error.h"
#include "crypto/crypto_int.h"
#include "crypto/hash.h"

#define SIGNING_KEY_KID_MAX  128
#define SIGNING_KEY_JSON_MAX 16384
#define RSA_MIN_BITS         2048
#define RSA_MAX_BITS         8192
/* base64url length of an 8192-bit modulus, with room for a leading zero */
#define RSA_N_B64_MAX 1368
#define JWKS_MAX_KEYS 32
#define ES256_SIG_LEN 64

struct signing_key {
	cjose_jwk_t *jwk; /* RSA, private */
	char kid[SIGNING_KEY_KID_MAX];
};

enum alg_family { ALG_NONE, ALG_RSA, ALG_EC256, ALG_HMAC };

static enum alg_family alg_family(const char *alg)
{
	static const char *const rsa[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
	static const char *const hmac[] = {"HS256", "HS384", "HS512"};
	size_t i;

	for (i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
		if (strcmp(alg, rsa[i]) == 0)
			return ALG_RSA;
	for (i = 0; i < sizeof(hmac) / sizeof(hmac[0]); i++)
		if (strcmp(alg, hmac[i]) == 0)
			return ALG_HMAC;
	if (strcmp(alg, "ES256") == 0)
		return ALG_EC256;
	return ALG_NONE;
}

size_t crypto_bignum_bits(const uint8_t *be, size_t len)
{
	size_t bits;
	uint8_t top;

	while (len > 0 && be[0] == 0) {
		be++;
		len--;
	}
	if (len == 0)
		return 0;
	bits = (len - 1) * 8;
	for (top = be[0]; top; top >>= 1)
		bits++;
	return bits;
}

/* Bits of the RSA modulus in the JWK member "n"; 0 when absent or bad. */
static size_t jwk_rsa_bits(const json_t *jwk)
{
	const char *n = json_string_value(json_object_get(jwk, "n"));
	uint8_t *raw = NULL;
	size_t len = 0, bits;

	if (!n || strlen(n) > RSA_N_B64_MAX)
		return 0;
	if (crypto_b64url_decode_alloc(&raw, &len, n, strlen(n)) != 0)
		return 0;
	bits = crypto_bignum_bits(raw, len);
	free(raw);
	return bits;
}

int crypto_jwk_thumbprint(char out[44], const json_t *jwk)
{
	static const char *const rsa[] = {"e", "kty", "n", NULL};
	static const char *const ec[] = {"crv", "kty", "x", "y", NULL};
	static const char *const oct[] = {"k", "kty", NULL};
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *const *members;
	uint8_t md[32];
	json_t *canon = NULL;
	char *text = NULL;
	size_t i;
	int rc = 0;

	out[0] = '\0';
	if (!kty)
		return careid_error_set(CAREID_EINVALID, "JWK without kty");
	if (strcmp(kty, "RSA") == 0)
		members = rsa;
	else if (strcmp(kty, "EC") == 0)
		members = ec;
	else if (strcmp(kty, "oct") == 0)
		members = oct;
	else
		return careid_error_set(CAREID_EUNSUPPORTED, "no thumbprint for kty %.16s", kty);
	canon = json_object();
	if (!canon)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	/* RFC 7638: the required members only, sorted, no whitespace. */
	for (i = 0; members[i]; i++) {
		json_t *v = json_object_get(jwk, members[i]);

		if (!json_is_string(v)) {
			rc = careid_error_set(CAREID_EINVALID, "JWK without %s", members[i]);
			goto out;
		}
		if (json_object_set_new(canon, members[i], json_string(json_string_value(v)))) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto out;
		}
	}
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	crypto_sha256(md, text, strlen(text));
	rc = crypto_b64url_encode(out, 44, md, sizeof(md));
out:
	free(text);
	json_decref(canon);
	return rc;
}

/* The public members of a cjose key as a JSON object (new reference). */
static json_t *jwk_public_json(const cjose_jwk_t *jwk)
{
	cjose_err err;
	char *text = cjose_jwk_to_json(jwk, false, &err);
	json_t *j;

	if (!text)
		return NULL;
	j = json_loads(text, 0, NULL);
	cjose_get_dealloc()(text);
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Takes ownership of `jwk` (released on failure) and makes the signing key,
 * with `kid` or, when NULL, the RFC 7638 thumbprint. */
static int signing_key_wrap(signing_key **out, cjose_jwk_t *jwk, const char *kid)
{
	char thumb[44];
	signing_key *k = NULL;
	json_t *pub = NULL;
	cjose_err err;
	int rc = 0;

	*out = NULL;
	if (!kid) {
		pub = jwk_public_json(jwk);
		if (!pub) {
			rc = careid_error_set(CAREID_ENOMEM, "cannot export the public key");
			goto out;
		}
		rc = crypto_jwk_thumbprint(thumb, pub);
		if (rc)
			goto out;
		kid = thumb;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(k->kid, sizeof(k->kid), "%s", kid);
	if (!cjose_jwk_set_kid(jwk, k->kid, strlen(k->kid), &err)) {
		rc = careid_error_set(CAREID_ENOMEM, "cannot set the key id");
		goto out;
	}
	k->jwk = jwk;
	jwk = NULL;
	*out = k;
	k = NULL;
out:
	json_decref(pub);
	if (jwk)
		cjose_jwk_release(jwk);
	free(k);
	return rc;
}

int signing_key_generate_rsa(signing_key **out)
{
	static const uint8_t e65537[] = {0x01, 0x00, 0x01};
	cjose_jwk_t *jwk;
	cjose_err err;

	*out = NULL;
	jwk = cjose_jwk_create_RSA_random(RSA_MIN_BITS, e65537, sizeof(e65537), &err);
	if (!jwk)
		return careid_error_set(CAREID_ECRYPTO, "RSA key generation failed (%s)",
		                        err.function ? err.function : "cjose");
	return signing_key_wrap(out, jwk, NULL);
}

/* Signs and verifies a fixed message, to catch private parts that do not
 * belong to the public key before the key signs anything real. */
static int signing_key_selftest(const cjose_jwk_t *jwk)
{
	static const uint8_t msg[] = "careid signing key self-test";
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL, *back = NULL;
	const char *compact = NULL;
	cjose_err err;
	bool ok;

	hdr = cjose_header_new(&err);
	ok = hdr && cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &err);
	if (ok)
		jws = cjose_jws_sign(jwk, hdr, msg, sizeof(msg) - 1, &err);
	ok = ok && jws && cjose_jws_export(jws, &compact, &err) && compact;
	if (ok)
		back = cjose_jws_import(compact, strlen(compact), &err);
	ok = ok && back && cjose_jws_verify(back, jwk, &err);
	cjose_jws_release(back);
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	if (!ok)
		return careid_error_set(CAREID_EINVALID, "private JWK does not sign correctly");
	return 0;
}

int signing_key_from_json(signing_key **out, const char *private_jwk)
{
	json_t *j = NULL, *kidj;
	cjose_jwk_t *jwk = NULL;
	const char *kty, *kid = NULL;
	json_error_t jerr;
	size_t bits;
	cjose_err err;
	int rc;

	*out = NULL;
	if (!private_jwk || strnlen(private_jwk, SIGNING_KEY_JSON_MAX + 1) > SIGNING_KEY_JSON_MAX)
		return careid_error_set(CAREID_EINVALID, "private JWK missing or too long");
	j = json_loads(private_jwk, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		rc = careid_error_set(CAREID_EINVALID, "private JWK is not a JSON object");
		goto out;
	}
	kty = json_string_value(json_object_get(j, "kty"));
	if (!kty || strcmp(kty, "RSA") != 0) {
		rc = careid_error_set(CAREID_EUNSUPPORTED, "signing key must be an RSA JWK");
		goto out;
	}
	if (!json_is_string(json_object_get(j, "d"))) {
		rc = careid_error_set(CAREID_EINVALID, "JWK has no private part");
		goto out;
	}
	bits = jwk_rsa_bits(j);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
		rc = careid_error_set(CAREID_EINVALID, "RSA key of %zu bits (need %d to %d)", bits,
		                      RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	kidj = json_object_get(j, "kid");
	if (kidj) {
		kid = json_string_value(kidj);
		if (!kid || kid[0] == '\0' || strlen(kid) >= SIGNING_KEY_KID_MAX) {
			rc = careid_error_set(CAREID_EINVALID, "bad kid in private JWK");
			goto out;
		}
	}
	jwk = cjose_jwk_import_json((cjose_header_t *)j, &err);
	if (!jwk || cjose_jwk_get_kty(jwk, &err) != CJOSE_JWK_KTY_RSA) {
		rc = careid_error_set(CAREID_EINVALID, "private JWK not importable");
		goto out;
	}
	rc = signing_key_selftest(jwk);
	if (rc)
		goto out;
	rc = signing_key_wrap(out, jwk, kid);
	jwk = NULL; /* owned by signing_key_wrap() now */
out:
	if (jwk)
		cjose_jwk_release(jwk);
	json_decref(j);
	return rc;
}

int signing_key_to_json(const signing_key *k, char **out)
{
	cjose_err err;
	char *text;

	*out = NULL;
	text = cjose_jwk_to_json(k->jwk, true, &err);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "cannot export the private key");
	/* cjose writes "kid" (set at creation); copy so that free() is right
	 * whatever allocator cjose was given, and wipe its copy. */
	*out = strdup(text);
	sodium_memzero(text, strlen(text));
	cjose_get_dealloc()(text);
	if (!*out)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

const char *signing_key_kid(const signing_key *k)
{
	return k->kid;
}

bool signing_key_supports(const signing_key *k, const char *alg)
{
	return k && alg && alg_family(alg) == ALG_RSA;
}

json_t *signing_key_public_jwk(const signing_key *k, const char *alg)
{
	json_t *pub = jwk_public_json(k->jwk);

	if (!pub)
		return NULL;
	if (json_object_set_new(pub, "kid", json_string(k->kid)) ||
	    json_object_set_new(pub, "use", json_string("sig")) ||
	    (alg && json_object_set_new(pub, "alg", json_string(alg)))) {
		json_decref(pub);
		return NULL;
	}
	return pub;
}

void signing_key_free(signing_key *k)
{
	if (!k)
		return;
	cjose_jwk_release(k->jwk);
	free(k);
}

int jws_sign(char **out, const signing_key *k, const char *alg, const char *typ,
             const json_t *claims)
{
	cjose_header_t *hdr = NULL;
	cjose_jws_t *jws = NULL;
	const char *compact = NULL;
	char *payload = NULL;
	cjose_err err;
	int rc = 0;

	*out = NULL;
	if (!k || !alg || !json_is_object(claims))
		return careid_error_set(CAREID_EINVALID, "jws_sign needs a key, an alg and claims");
	if (!signing_key_supports(k, alg))
		return careid_error_set(CAREID_EUNSUPPORTED, "cannot sign with alg %.16s", alg);
	hdr = cjose_header_new(&err);
	if (!hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err) ||
	    !cjose_header_set(hdr, CJOSE_HDR_KID, k->kid, &err) ||
	    (typ && !cjose_header_set(hdr, "typ", typ, &err))) {
		rc = careid_error_set(CAREID_ENOMEM, "cannot build the JWS header");
		goto out;
	}
	payload = json_dumps(claims, JSON_COMPACT);
	if (!payload) {
		rc = careid_error_set(CAREID_ENOMEM, "cannot serialise the claims");
		goto out;
	}
	jws = cjose_jws_sign(k->jwk, hdr, (const uint8_t *)payload, strlen(payload), &err);
	if (!jws || !cjose_jws_export(jws, &compact, &err) || !compact) {
		rc = careid_error_set(CAREID_ECRYPTO, "signing failed (%s:%d)",
		                      err.function ? err.function : "cjose", (int)err.code);
		goto out;
	}
	/* The exported string belongs to the JWS. */
	*out = strdup(compact);
	if (!*out)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	cjose_jws_release(jws);
	cjose_header_release(hdr);
	free(payload);
	return rc;
}

/* A decoded compact JWS, before verification. */
struct jws_parts {
	json_t *header;
	json_t *claims;
	const char *alg; /* borrowed from header */
	size_t len;      /* of the compact text */
	size_t sig_len;  /* decoded signature bytes */
};

static void jws_parts_release(struct jws_parts *p)
{
	json_decref(p->header);
	json_decref(p->claims);
	memset(p, 0, sizeof(*p));
}

/* Decodes one base64url part holding a JSON object. */
static int jws_json_part(json_t **out, const char *s, size_t slen, const char *what)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	json_t *j;

	*out = NULL;
	if (crypto_b64url_decode_alloc(&raw, &len, s, slen) != 0)
		return careid_error_set(CAREID_EINVALID, "JWS %s is not base64url", what);
	/* Duplicate members are refused: two "alg" members must not let us and
	 * another library read different values. */
	j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!j)
		return careid_error_set(CAREID_EINVALID, "JWS %s is not JSON or repeats a member",
		                        what);
	if (!json_is_object(j)) {
		json_decref(j);
		return careid_error_set(CAREID_EINVALID, "JWS %s is not a JSON object", what);
	}
	*out = j;
	return 0;
}

static int jws_parse(struct jws_parts *p, const char *compact)
{
	const char *d1, *d2;
	uint8_t *sig = NULL;
	json_t *alg;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!compact)
		return careid_error_set(CAREID_EINVALID, "no JWS");
	p->len = strnlen(compact, JWS_MAX_LEN + 1);
	if (p->len > JWS_MAX_LEN)
		return careid_error_set(CAREID_EINVALID, "JWS longer than %d bytes", JWS_MAX_LEN);
	d1 = memchr(compact, '.', p->len);
	d2 = d1 ? memchr(d1 + 1, '.', p->len - (size_t)(d1 + 1 - compact)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', p->len - (size_t)(d2 + 1 - compact)))
		return careid_error_set(CAREID_EINVALID, "JWS is not three dot-separated parts");
	if (d1 == compact || d2 == d1 + 1 || (size_t)(d2 + 1 - compact) == p->len)
		return careid_error_set(CAREID_EINVALID, "JWS has an empty part");
	rc = jws_json_part(&p->header, compact, (size_t)(d1 - compact), "header");
	if (rc)
		goto out;
	alg = json_object_get(p->header, "alg");
	if (!json_is_string(alg)) {
		rc = careid_error_set(CAREID_EINVALID, "JWS header has no string alg");
		goto out;
	}
	p->alg = json_string_value(alg);
	if (strcasecmp(p->alg, "none") == 0) {
		rc = careid_error_set(CAREID_EINVALID, "JWS alg none refused");
		goto out;
	}
	/* RFC 7515 4.1.11: a recipient must refuse extensions it does not
	 * understand, and we understand none. */
	if (json_object_get(p->header, "crit")) {
		rc = careid_error_set(CAREID_EINVALID, "JWS crit header not supported");
		goto out;
	}
	rc = jws_json_part(&p->claims, d1 + 1, (size_t)(d2 - d1 - 1), "payload");
	if (rc)
		goto out;
	if (crypto_b64url_decode_alloc(&sig, &p->sig_len, d2 + 1,
	                               p->len - (size_t)(d2 + 1 - compact)) != 0) {
		rc = careid_error_set(CAREID_EINVALID, "JWS signature is not base64url");
		goto out;
	}
	free(sig);
out:
	if (rc)
		jws_parts_release(p);
	return rc;
}

int jws_peek(const char *compact, json_t **header_out, json_t **claims_out)
{
	struct jws_parts p;
	int rc;

	if (header_out)
		*header_out = NULL;
	if (claims_out)
		*claims_out = NULL;
	rc = jws_parse(&p, compact);
	if (rc)
		return rc;
	if (header_out) {
		*header_out = p.header;
		p.header = NULL;
	}
	if (claims_out) {
		*claims_out = p.claims;
		p.claims = NULL;
	}
	jws_parts_release(&p);
	return 0;
}

static bool jws_alg_allowed(const char *alg, const char *const *algs)
{
	size_t i;

	for (i = 0; algs && algs[i]; i++)
		if (strcmp(alg, algs[i]) == 0)
			return true;
	return false;
}

/* The payload of a verified JWS as a JSON object (the plaintext cjose hands
 * back is not NUL-terminated: json_loadb() takes its length). */
static int jws_verified_claims(json_t **claims_out, cjose_jws_t *jws)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	cjose_err err;
	json_t *j;

	if (!claims_out)
		return 0;
	*claims_out = NULL;
	if (!cjose_jws_get_plaintext(jws, &plain, &len, &err) || !plain)
		return careid_error_set(CAREID_EINVALID, "JWS has no payload");
	j = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return careid_error_set(CAREID_EINVALID, "JWS payload is not a JSON object");
	}
	*claims_out = j;
	return 0;
}

/* Checks the header alg against the allowed list and the family the caller can
 * verify, and imports the JWS for cjose. */
static int jws_prepare(struct jws_parts *p, cjose_jws_t **jws, const char *compact,
                       const char *const *algs, enum alg_family want, enum alg_family *family)
{
	cjose_err err;
	int rc;

	*jws = NULL;
	rc = jws_parse(p, compact);
	if (rc)
		return rc;
	if (!jws_alg_allowed(p->alg, algs))
		return careid_error_set(CAREID_EDENIED, "alg not allowed: %.16s", p->alg);
	*family = alg_family(p->alg);
	if (*family == ALG_NONE || (want == ALG_HMAC) != (*family == ALG_HMAC))
		return careid_error_set(CAREID_EDENIED, "alg %.16s not usable here", p->alg);
	if (*family == ALG_EC256 && p->sig_len != ES256_SIG_LEN)
		return careid_error_set(CAREID_EDENIED, "ES256 signature of %zu bytes", p->sig_len);
	*jws = cjose_jws_import(compact, p->len, &err);
	if (!*jws)
		return careid_error_set(CAREID_EINVALID, "JWS not importable");
	return 0;
}

static bool json_str_eq(const json_t *j, const char *s)
{
	const char *v = json_string_value(j);

	return v && strcmp(v, s) == 0;
}

/* Whether the JWK `key` may verify `alg`, judged from its JSON members. */
static bool jwk_fits(const json_t *key, const char *alg, enum alg_family family)
{
	const json_t *use = json_object_get(key, "use");
	const json_t *kalg = json_object_get(key, "alg");
	const json_t *ops = json_object_get(key, "key_ops");
	size_t bits;

	if (use && !json_str_eq(use, "sig"))
		return false;
	if (kalg && !json_str_eq(kalg, alg))
		return false;
	if (ops) {
		size_t i;
		bool verify = false;

		for (i = 0; i < json_array_size(ops); i++)
			if (json_str_eq(json_array_get(ops, i), "verify"))
				verify = true;
		if (!verify)
			return false;
	}
	switch (family) {
	case ALG_RSA:
		if (!json_str_eq(json_object_get(key, "kty"), "RSA"))
			return false;
		bits = jwk_rsa_bits(key);
		return bits >= RSA_MIN_BITS && bits <= RSA_MAX_BITS;
	case ALG_EC256:
		return json_str_eq(json_object_get(key, "kty"), "EC") &&
		       json_str_eq(json_object_get(key, "crv"), "P-256");
	default:
		return false;
	}
}

/* Imports `key` for cjose when its type, curve and size fit the family. */
static cjose_jwk_t *jwk_import_checked(const json_t *key, enum alg_family family)
{
	cjose_jwk_t *jwk;
	cjose_err err;
	bool ok = false;

	/* cjose_jwk_import_json() only reads the object. */
	jwk = cjose_jwk_import_json((cjose_header_t *)key, &err);
	if (!jwk)
		return NULL;
	switch (family) {
	case ALG_RSA:
		ok = cjose_jwk_get_kty(jwk, &err) == CJOSE_JWK_KTY_RSA &&
		     cjose_jwk_get_keysize(jwk, &err) >= RSA_MIN_BITS;
		break;
	case ALG_EC256:
		ok = cjose_jwk_get_kty(jwk, &err) == CJOSE_JWK_KTY_EC &&
		     cjose_jwk_EC_get_curve(jwk, &err) == CJOSE_JWK_EC_P_256;
		break;
	default:
		break;
	}
	if (!ok) {
		cjose_jwk_release(jwk);
		return NULL;
	}
	return jwk;
}

int jws_verify_jwks(json_t **claims_out, const char *compact, const json_t *jwks,
                    const char *const *algs)
{
	struct jws_parts p;
	cjose_jws_t *jws = NULL;
	enum alg_family family = ALG_NONE;
	const json_t *keys, *kidj;
	const char *kid = NULL;
	size_t i, nkeys, kid_matches = 0, usable = 0;
	bool verified = false;
	cjose_err err;
	int rc;

	if (claims_out)
		*claims_out = NULL;
	rc = jws_prepare(&p, &jws, compact, algs, ALG_RSA, &family);
	if (rc)
		goto out;
	kidj = json_object_get(p.header, "kid");
	if (kidj) {
		kid = json_string_value(kidj);
		if (!kid) {
			rc = careid_error_set(CAREID_EINVALID, "JWS kid is not a string");
			goto out;
		}
	}
	keys = json_object_get(jwks, "keys");
	if (!json_is_array(keys)) {
		rc = careid_error_set(CAREID_EINVALID, "JWKS has no keys array");
		goto out;
	}
	nkeys = json_array_size(keys);
	if (nkeys > JWKS_MAX_KEYS)
		nkeys = JWKS_MAX_KEYS;
	for (i = 0; i < nkeys && !verified; i++) {
		const json_t *key = json_array_get(keys, i);
		cjose_jwk_t *jwk;

		if (!json_is_object(key))
			continue;
		if (kid) {
			if (!json_str_eq(json_object_get(key, "kid"), kid))
				continue;
			kid_matches++;
		}
		if (!jwk_fits(key, p.alg, family))
			continue;
		jwk = jwk_import_checked(key, family);
		if (!jwk)
			continue;
		usable++;
		verified = cjose_jws_verify(jws, jwk, &err);
		cjose_jwk_release(jwk);
	}
	if (!verified) {
		if (kid && kid_matches == 0)
			rc = careid_error_set(CAREID_EDENIED, "no key with the JWS kid");
		else if (usable == 0)
			rc = careid_error_set(CAREID_EDENIED, "no usable key for alg %.16s", p.alg);
		else
			rc = careid_error_set(CAREID_EDENIED, "JWS signature does not verify");
		goto out;
	}
	rc = jws_verified_claims(claims_out, jws);
out:
	cjose_jws_release(jws);
	jws_parts_release(&p);
	return rc;
}

int jws_verify_hmac(json_t **claims_out, const char *compact, const char *secret,
                    const char *const *algs)
{
	struct jws_parts p;
	cjose_jws_t *jws = NULL;
	cjose_jwk_t *jwk = NULL;
	enum alg_family family = ALG_NONE;
	cjose_err err;
	int rc;

	if (claims_out)
		*claims_out = NULL;
	rc = jws_prepare(&p, &jws, compact, algs, ALG_HMAC, &family);
	if (rc)
		goto out;
	if (!secret || secret[0] == '\0') {
		rc = careid_error_set(CAREID_EINVALID, "no HMAC secret");
		goto out;
	}
	jwk = cjose_jwk_create_oct_spec((const uint8_t *)secret, strlen(secret), &err);
	if (!jwk) {
		rc = careid_error_set(CAREID_ENOMEM, "cannot make the HMAC key");
		goto out;
	}
	if (!cjose_jws_verify(jws, jwk, &err)) {
		rc = careid_error_set(CAREID_EDENIED, "JWS signature does not verify");
		goto out;
	}
	rc = jws_verified_claims(claims_out, jws);
out:
	if (jwk)
		cjose_jwk_release(jwk);
	cjose_jws_release(jws);
	jws_parts_release(&p);
	return rc;
}
