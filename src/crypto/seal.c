/* Private keys sealed at rest with the key-encryption key (libsodium). */
#include "crypto/seal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"
#include "crypto/crypto_int.h"
#include "crypto/hash.h"

#define KEK_PLAIN_MAX (16 * 1024)
#define KEK_AD_MAX    1024
#define KEK_PREFIX    "sealed:"
#define KEK_PREFIX_V1 "sealed:v1:"
#define KEK_ID_LABEL  "careid-kek-id-v1"
#define KEK_NONCE     crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define KEK_TAG       crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEK_VALUE_MAX                                                                              \
	(sizeof(KEK_PREFIX_V1) + KEK_ID_HEX + 4 * (KEK_NONCE + KEK_TAG + KEK_PLAIN_MAX) / 3 + 4)

_Static_assert(KEK_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "KEK size");

static void key_id(char out[KEK_ID_HEX], const uint8_t key[KEK_BYTES])
{
	uint8_t h[crypto_generichash_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)KEK_ID_LABEL,
	                   sizeof(KEK_ID_LABEL) - 1, key, KEK_BYTES);
	crypto_hex(out, h, (KEK_ID_HEX - 1) / 2);
	sodium_memzero(h, sizeof(h));
}

/* base64 or base64url, padded or not, whitespace ignored: exactly 32 bytes. */
static int parse_key(uint8_t out[KEK_BYTES], const char *value, const char *var)
{
	static const int variants[] = {
	    sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	uint8_t buf[192]; /* what 256 characters decode to */
	size_t len = 0, vlen = strnlen(value, 257);
	const char *end = NULL;
	bool decoded = false;
	int rc;

	for (size_t i = 0; vlen <= 256 && !decoded && i < sizeof(variants) / sizeof(variants[0]);
	     i++)
		decoded = sodium_base642bin(buf, sizeof(buf), value, vlen, " \t\r\n", &len, &end,
		                            variants[i]) == 0 &&
		          end == value + vlen;
	if (!decoded)
		rc = careid_error_set(CAREID_EINVALID,
		                      "%s is not base64 or base64url (make one with "
		                      "'openssl rand -base64 32')",
		                      var);
	else if (len != KEK_BYTES)
		rc = careid_error_set(CAREID_EINVALID,
		                      "%s must be 32 bytes, not %zu (make one with "
		                      "'openssl rand -base64 32')",
		                      var, len);
	else
		rc = 0;
	if (!rc)
		memcpy(out, buf, KEK_BYTES);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int kek_parse(struct kek *out, const char *current, const char *old)
{
	int rc = 0;

	sodium_memzero(out, sizeof(*out));
	if (current && *current) {
		rc = parse_key(out->key, current, KEK_ENV);
		if (!rc) {
			out->set = true;
			key_id(out->id, out->key);
		}
	}
	if (!rc && old && *old) {
		if (!out->set)
			rc = careid_error_set(CAREID_EINVALID,
			                      "%s is set but %s is not: the old key "
			                      "only opens, the current one seals",
			                      KEK_ENV_OLD, KEK_ENV);
		else
			rc = parse_key(out->old, old, KEK_ENV_OLD);
		if (!rc) {
			out->has_old = true;
			key_id(out->old_id, out->old);
		}
	}
	if (rc)
		sodium_memzero(out, sizeof(*out));
	return rc;
}

int kek_from_env(struct kek *out)
{
	return kek_parse(out, getenv(KEK_ENV), getenv(KEK_ENV_OLD));
}

void kek_release(struct kek *k)
{
	if (k)
		sodium_memzero(k, sizeof(*k));
}

/* The key id of a sealed v1 value: its 16 hex digits, or false. */
static bool sealed_id(const char *stored, char id[KEK_ID_HEX])
{
	const char *p = stored + sizeof(KEK_PREFIX_V1) - 1;

	if (strncmp(stored, KEK_PREFIX_V1, sizeof(KEK_PREFIX_V1) - 1) != 0)
		return false;
	for (size_t i = 0; i < KEK_ID_HEX - 1; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	if (p[KEK_ID_HEX - 1] != ':')
		return false;
	memcpy(id, p, KEK_ID_HEX - 1);
	id[KEK_ID_HEX - 1] = '\0';
	return true;
}

enum kek_state kek_state(const struct kek *k, const char *stored)
{
	char id[KEK_ID_HEX];

	if (strncmp(stored, KEK_PREFIX, sizeof(KEK_PREFIX) - 1) != 0)
		return KEK_PLAIN;
	if (!sealed_id(stored, id))
		return KEK_OTHER;
	if (k->set && strcmp(id, k->id) == 0)
		return KEK_CURRENT;
	if (k->has_old && strcmp(id, k->old_id) == 0)
		return KEK_OLD;
	return KEK_OTHER;
}

int kek_seal(char **out, const struct kek *k, const char *ad, const char *plain)
{
	size_t plen = strlen(plain), blen = KEK_NONCE + plen + KEK_TAG, tlen, head;
	unsigned long long clen = 0;
	uint8_t *box = NULL;
	char *text = NULL;
	int rc;

	*out = NULL;
	if (!k->set)
		return careid_error_set(CAREID_EINVALID, "%s is not set: nothing to seal with",
		                        KEK_ENV);
	if (plen > KEK_PLAIN_MAX || strlen(ad) > KEK_AD_MAX)
		return careid_error_set(CAREID_ETOOBIG, "a private key to seal over %d bytes",
		                        KEK_PLAIN_MAX);
	head = sizeof(KEK_PREFIX_V1) - 1 + KEK_ID_HEX; /* "sealed:v1:" id ":" */
	tlen = head + crypto_b64url_encoded_size(blen);
	box = malloc(blen);
	text = malloc(tlen);
	if (!box || !text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	randombytes_buf(box, KEK_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + KEK_NONCE, &clen, (const uint8_t *)plain,
	                                           plen, (const uint8_t *)ad, strlen(ad), NULL, box,
	                                           k->key);
	memcpy(text, KEK_PREFIX_V1, sizeof(KEK_PREFIX_V1) - 1);
	memcpy(text + sizeof(KEK_PREFIX_V1) - 1, k->id, KEK_ID_HEX - 1);
	text[head - 1] = ':';
	rc = crypto_b64url_encode(text + head, tlen - head, box, KEK_NONCE + (size_t)clen);
	if (rc)
		goto out;
	*out = text;
	text = NULL;
out:
	free(box);
	free(text);
	return rc;
}

int kek_wrap(char **out, const struct kek *k, const char *ad, const char *plain)
{
	if (k->set)
		return kek_seal(out, k, ad, plain);
	*out = strdup(plain);
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/* The KEK a sealed value names, or an ELOCKED error saying what to set. */
static int pick_key(const uint8_t **key, const struct kek *k, const char *id, const char *what)
{
	if (k->set && strcmp(id, k->id) == 0) {
		*key = k->key;
		return 0;
	}
	if (k->has_old && strcmp(id, k->old_id) == 0) {
		*key = k->old;
		return 0;
	}
	if (!k->set)
		return careid_error_set(CAREID_ELOCKED,
		                        "%s is sealed; set %s (to the key whose id is %s)", what,
		                        KEK_ENV, id);
	/* kept under the 256 bytes of an error message with a 43-character kid */
	return careid_error_set(CAREID_ELOCKED,
	                        "%s is sealed with another key (id %s; %s is id %s%s%s): set "
	                        "that key, or give it as %s",
	                        what, id, KEK_ENV, k->id, k->has_old ? ", the old key id " : "",
	                        k->has_old ? k->old_id : "", KEK_ENV_OLD);
}

int kek_check(const struct kek *k, const char *stored, const char *what)
{
	const uint8_t *key = NULL;
	char id[KEK_ID_HEX];

	if (strncmp(stored, KEK_PREFIX, sizeof(KEK_PREFIX) - 1) != 0)
		return 0;
	if (!sealed_id(stored, id))
		return careid_error_set(CAREID_EINVALID,
		                        "%s is not a sealed value this careid can read", what);
	return pick_key(&key, k, id, what);
}

int kek_open(char **out, const struct kek *k, const char *ad, const char *stored, const char *what)
{
	const char *body;
	const uint8_t *key = NULL;
	char id[KEK_ID_HEX];
	size_t blen = 0, plen = 0, slen;
	uint8_t *box = NULL;
	char *plain = NULL;
	unsigned long long mlen = 0;
	int rc;

	*out = NULL;
	if (strncmp(stored, KEK_PREFIX, sizeof(KEK_PREFIX) - 1) != 0) {
		*out = strdup(stored);
		return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	if (strncmp(stored, KEK_PREFIX_V1, sizeof(KEK_PREFIX_V1) - 1) != 0 &&
	    strncmp(stored, KEK_PREFIX "v", sizeof(KEK_PREFIX)) == 0)
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "%s is sealed in a format this careid does not know", what);
	if (!sealed_id(stored, id))
		return careid_error_set(CAREID_EINVALID, "%s is damaged (not a sealed value)",
		                        what);
	rc = pick_key(&key, k, id, what);
	if (rc)
		return rc;
	body = stored + sizeof(KEK_PREFIX_V1) - 1 + KEK_ID_HEX;
	slen = strnlen(body, KEK_VALUE_MAX + 1);
	if (slen > KEK_VALUE_MAX)
		return careid_error_set(CAREID_EINVALID, "%s is damaged (too long)", what);
	if (crypto_b64url_decode_alloc(&box, &blen, body, slen) || blen < KEK_NONCE + KEK_TAG) {
		rc = careid_error_set(CAREID_EINVALID, "%s is damaged (bad base64url)", what);
		goto out;
	}
	plen = blen - KEK_NONCE - KEK_TAG;
	plain = malloc(plen + 1);
	if (!plain) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        (uint8_t *)plain, &mlen, NULL, box + KEK_NONCE, blen - KEK_NONCE,
	        (const uint8_t *)ad, strlen(ad), box, key) != 0) {
		rc = careid_error_set(CAREID_ECRYPTO,
		                      "%s does not open with key %s: altered, or moved from "
		                      "another row",
		                      what, id);
		goto out;
	}
	plain[plen] = '\0';
	if (memchr(plain, '\0', plen)) {
		rc = careid_error_set(CAREID_EINVALID, "%s holds a NUL byte", what);
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
