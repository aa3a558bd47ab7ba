#include "crypto/hash.h"

#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "core/error.h"
#include "crypto/crypto_int.h"

#define SEAL_PLAINTEXT_MAX 4096
#define SEAL_OVERHEAD      (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)

_Static_assert(CRYPTO_KEY_BYTES == crypto_secretbox_KEYBYTES, "secretbox key size");
_Static_assert(CRYPTO_KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
                   CRYPTO_KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
               "generichash key size");

int crypto_b64url_encode(char *out, size_t outsz, const void *data, size_t len)
{
	/* sodium_bin2base64() aborts the process on a short buffer: check first. */
	if (outsz < crypto_b64url_encoded_size(len))
		return careid_error_set(CAREID_ETOOBIG, "base64url output buffer too small");
	sodium_bin2base64(out, outsz, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

/* Length of `s` without its padding, or (size_t)-1 when the padding is wrong. */
static size_t b64url_unpadded_len(const char *s, size_t slen)
{
	size_t n = slen, pad = 0;

	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad == 0)
		return n;
	/* Padding must complete the last quantum exactly: "xx==" or "xxx=". */
	if (slen % 4 != 0 || (n % 4) + pad != 4)
		return (size_t)-1;
	return n;
}

int crypto_b64url_decode(void *out, size_t outsz, size_t *len_out, const char *s, size_t slen)
{
	size_t n, need, got = 0;

	*len_out = 0;
	n = b64url_unpadded_len(s, slen);
	if (n == (size_t)-1 || n % 4 == 1)
		return careid_error_set(CAREID_EINVALID, "bad base64url length or padding");
	need = (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (need > outsz)
		return careid_error_set(CAREID_ETOOBIG, "base64url data over %zu bytes", outsz);
	if (n == 0)
		return 0;
	/* Constant-time decoding; rejects any character outside the URL-safe
	 * alphabet (b64_end NULL: everything must be consumed) and non-zero
	 * trailing bits, so each value has exactly one encoding. */
	if (sodium_base642bin(out, outsz, s, n, NULL, &got, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    got != need)
		return careid_error_set(CAREID_EINVALID, "bad base64url text");
	*len_out = got;
	return 0;
}

int crypto_b64url_decode_alloc(uint8_t **out, size_t *len_out, const char *s, size_t slen)
{
	size_t i, cap;
	uint8_t *p;
	int rc;

	*out = NULL;
	*len_out = 0;
	for (i = 0; i < slen; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return careid_error_set(CAREID_EINVALID, "bad base64url character");
	}
	cap = (slen / 4) * 3 + 3;
	p = malloc(cap + 1);
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = crypto_b64url_decode(p, cap, len_out, s, slen);
	if (rc) {
		free(p);
		return rc;
	}
	p[*len_out] = '\0';
	*out = p;
	return 0;
}

void crypto_sha256(uint8_t out[32], const void *data, size_t len)
{
	crypto_hash_sha256(out, data, len);
}

/* The digest named by the last three characters of a JWS alg. */
static const EVP_MD *left_hash_md(const char *alg)
{
	static const char *const algs256[] = {"RS256", "PS256", "ES256", "HS256"};
	static const char *const algs384[] = {"RS384", "PS384", "ES384", "HS384"};
	static const char *const algs512[] = {"RS512", "PS512", "ES512", "HS512"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(alg, algs256[i]) == 0)
			return EVP_sha256();
		if (strcmp(alg, algs384[i]) == 0)
			return EVP_sha384();
		if (strcmp(alg, algs512[i]) == 0)
			return EVP_sha512();
	}
	return NULL;
}

int crypto_left_hash(char *out, size_t outsz, const char *alg, const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *type;

	if (!alg || !(type = left_hash_md(alg)))
		return careid_error_set(CAREID_EUNSUPPORTED, "no left hash for alg %s",
		                        alg ? alg : "(null)");
	if (EVP_Digest(data, len, md, &mdlen, type, NULL) != 1)
		return careid_error_set(CAREID_ECRYPTO, "digest failed");
	return crypto_b64url_encode(out, outsz, md, mdlen / 2);
}

void crypto_pkce_s256(char out[44], const char *verifier)
{
	uint8_t md[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(md, (const unsigned char *)verifier, strlen(verifier));
	sodium_bin2base64(out, 44, md, sizeof(md), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void crypto_keyed_hash(char out[CRYPTO_HASH_HEX], const uint8_t key[CRYPTO_KEY_BYTES],
                       const char *secret)
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret, strlen(secret), key,
	                   CRYPTO_KEY_BYTES);
	sodium_bin2hex(out, CRYPTO_HASH_HEX, h, sizeof(h));
}

_Static_assert(CRYPTO_SHORT_HASH_KEY == crypto_shorthash_KEYBYTES, "SipHash key size");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "SipHash output size");

uint64_t crypto_short_hash(const uint8_t key[CRYPTO_SHORT_HASH_KEY], const void *data, size_t len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, data, len, key);
	memcpy(&v, h, sizeof(v));
	return v;
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return true;
	return sodium_memcmp(a, b, len) == 0;
}

bool crypto_streq(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return false;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb)
		return false;
	return crypto_equal(a, b, la);
}

int crypto_seal(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *plaintext)
{
	size_t plen = strlen(plaintext), blen = SEAL_OVERHEAD + plen, tlen;
	uint8_t *box = NULL;
	char *text = NULL;
	int rc;

	*out = NULL;
	if (plen > SEAL_PLAINTEXT_MAX)
		return careid_error_set(CAREID_ETOOBIG, "secret to seal over %d bytes",
		                        SEAL_PLAINTEXT_MAX);
	box = malloc(blen);
	tlen = crypto_b64url_encoded_size(blen);
	text = malloc(tlen);
	if (!box || !text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext,
	                      plen, box, key);
	rc = crypto_b64url_encode(text, tlen, box, blen);
	if (rc)
		goto out;
	*out = text;
	text = NULL;
out:
	free(box);
	free(text);
	return rc;
}

int crypto_open(char **out, const uint8_t key[CRYPTO_KEY_BYTES], const char *sealed)
{
	size_t slen = strlen(sealed), blen = 0, plen = 0;
	uint8_t *box = NULL;
	char *plain = NULL;
	int rc;

	*out = NULL;
	if (slen > crypto_b64url_encoded_size(SEAL_OVERHEAD + SEAL_PLAINTEXT_MAX))
		return careid_error_set(CAREID_EINVALID, "sealed text too long");
	rc = crypto_b64url_decode_alloc(&box, &blen, sealed, slen);
	if (rc)
		goto out;
	if (blen < SEAL_OVERHEAD) {
		rc = careid_error_set(CAREID_EINVALID, "sealed text too short");
		goto out;
	}
	plen = blen - SEAL_OVERHEAD;
	plain = malloc(plen + 1);
	if (!plain) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
	                               blen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
		rc = careid_error_set(CAREID_ECRYPTO, "sealed secret failed authentication");
		goto out;
	}
	plain[plen] = '\0';
	if (memchr(plain, '\0', plen)) {
		rc = careid_error_set(CAREID_EINVALID, "sealed secret holds a NUL byte");
		goto out;
	}
	*out = plain;
	plain = NULL;
out:
	if (plain) {
		sodium_memzero(plain, plen + 1);
		free(plain);
	}
	free(box);
	return rc;
}

void crypto_hex(char *out, const void *data, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, data, len);
}
