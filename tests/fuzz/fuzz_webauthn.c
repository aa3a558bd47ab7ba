/*
 * Fuzz target for WebAuthn response verification (src/authn/webauthn.c):
 * the JSON, base64url, CBOR (attestation objects, authenticator data, COSE
 * keys, extensions) and X.509 parsers behind webauthn_register(),
 * webauthn_assertion_parse() and webauthn_assertion_verify().
 *
 * The first byte selects what the rest is ('0' + n, or any byte modulo 5):
 *   0  registration JSON (PublicKeyCredential.toJSON()), also given to
 *      webauthn_assertion_parse();
 *   1  "<alg> <stored count> <COSE key base64url>\n" then assertion JSON,
 *      parsed and verified against that stored key;
 *   2  a raw attestation object, wrapped in registration JSON with a fixed
 *      valid clientDataJSON and the credential id below;
 *   3  raw authenticator data, wrapped in an assertion with a fixed
 *      clientDataJSON and verified against a fixed P-256 key;
 *   4  a raw COSE key, used as the stored key for a fixed assertion.
 * Expectations are those of tests/unit/authn/webauthn.c, which wrote the seed
 * corpus (CAREID_WEBAUTHN_CORPUS=dir), so its valid inputs verify here.
 * Any input must come back with a code, never a crash or a leak; a success
 * must keep the API's promises (else abort()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authn/webauthn.h"
#include "crypto/hash.h"
#include "crypto/random.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RP_ID     "localhost"
#define ORIGIN    "http://localhost:8080"
#define CHALLENGE "Y2FyZWlkLXdlYmF1dGhuLXRlc3QtY2hhbGxlbmdl"
#define CRED_ID   "we0AAQIDBAUGBwgJCgsMDQ" /* the test's 16-byte credential id */
#define INPUT_MAX (WEBAUTHN_JSON_MAX + 1024)

static const struct webauthn_expect EXPECT = {
    .rp_id = RP_ID, .origin = ORIGIN, .challenge = CHALLENGE, .require_uv = false};

/* A P-256 point (the EC key of fuzz_jws.c) as a COSE_Key, base64url. */
static const char EC_X[] = "oMG1NNgL6MZqRzirFa4G0ky0LPzHO5fRp-QluqtuCGs";
static const char EC_Y[] = "itnMl6OonpajhO7yXPxmpoMGpEqeXTW3lL6Rbj8aeqk";

/* Made on the first call and kept for the life of the process. */
static char *fixed_key;       /* COSE key above, base64url */
static char *cd_create;       /* clientDataJSON of a registration, base64url */
static char *cd_get;          /* clientDataJSON of an assertion, base64url */
static char *fixed_auth_data; /* rpIdHash of RP_ID, UP|UV, counter 1; base64url */
static bool ready;

static char *b64(const void *p, size_t len)
{
	size_t cap = len / 3 * 4 + 4;
	char *s = malloc(cap);

	if (!s || crypto_b64url_encode(s, cap, p, len) != 0)
		abort();
	return s;
}

static void fuzz_init(void)
{
	static const char create[] = "{\"type\":\"webauthn.create\",\"challenge\":\"" CHALLENGE
	                             "\",\"origin\":\"" ORIGIN "\",\"crossOrigin\":false}";
	static const char get[] = "{\"type\":\"webauthn.get\",\"challenge\":\"" CHALLENGE
	                          "\",\"origin\":\"" ORIGIN "\",\"crossOrigin\":false}";
	uint8_t key[77] = {0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20};
	uint8_t ad[37];
	size_t n = 0;

	if (crypto_init() != 0)
		abort();
	if (crypto_b64url_decode(key + 10, 32, &n, EC_X, strlen(EC_X)) != 0 || n != 32)
		abort();
	key[42] = 0x22;
	key[43] = 0x58;
	key[44] = 0x20;
	if (crypto_b64url_decode(key + 45, 32, &n, EC_Y, strlen(EC_Y)) != 0 || n != 32)
		abort();
	fixed_key = b64(key, sizeof(key));
	cd_create = b64(create, strlen(create));
	cd_get = b64(get, strlen(get));
	crypto_sha256(ad, RP_ID, strlen(RP_ID));
	ad[32] = 0x05;
	memset(ad + 33, 0, 3);
	ad[36] = 1;
	fixed_auth_data = b64(ad, sizeof(ad));
	ready = true;
}

static void check_credential(const struct webauthn_credential *c)
{
	if (!c->credential_id || !c->public_key || (c->alg != -7 && c->alg != -257))
		abort();
	if (strcmp(c->fmt, "none") != 0 && strcmp(c->fmt, "packed") != 0)
		abort();
	if (c->self_attested && !c->attested)
		abort();
	if (strlen(c->aaguid) != 36)
		abort();
}

static void do_register(const char *json)
{
	struct webauthn_credential c;
	struct webauthn_assertion a;

	if (webauthn_register(&c, &EXPECT, json) == 0)
		check_credential(&c);
	else if (c.credential_id || c.public_key || c.transports)
		abort();
	webauthn_credential_release(&c);
	if (webauthn_assertion_parse(&a, json) == 0 && (!a.credential_id || !a.challenge))
		abort();
	webauthn_assertion_release(&a);
}

static void do_assert(const char *json, const char *key, int alg, uint32_t stored)
{
	struct webauthn_assertion a;
	uint32_t count = 0;
	bool uv = false;

	if (webauthn_assertion_parse(&a, json) != 0)
		return;
	if (!a.credential_id || !a.challenge)
		abort();
	if (webauthn_assertion_verify(&count, &uv, &a, &EXPECT, key, alg, stored) == 0) {
		if ((count != 0 || stored != 0) && count <= stored)
			abort();
	} else if (count != 0 || uv) {
		abort();
	}
	webauthn_assertion_release(&a);
}

/* "<alg> <count> <key>\n<json>" */
static void mode_assertion(char *text)
{
	char *nl = strchr(text, '\n'), *end, *key;
	long alg;
	unsigned long stored;

	if (!nl)
		return;
	*nl = '\0';
	alg = strtol(text, &end, 10);
	if (*end != ' ')
		return;
	stored = strtoul(end + 1, &key, 10);
	if (*key != ' ' || stored > UINT32_MAX || alg < -100000 || alg > 100000)
		return;
	do_assert(nl + 1, key + 1, (int)alg, (uint32_t)stored);
}

static char *dump(json_t *j)
{
	char *s;

	if (!j)
		abort();
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		abort();
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *enc, *json;

	if (!ready)
		fuzz_init();
	if (size < 1 || size > INPUT_MAX)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch ((uint8_t)(data[0] - '0') % 5) {
	case 0:
		do_register(text);
		break;
	case 1:
		mode_assertion(text);
		break;
	case 2:
		enc = b64(data + 1, size - 1);
		json = dump(json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:[s]}}", "id", CRED_ID, "rawId",
		                      CRED_ID, "type", "public-key", "response", "clientDataJSON",
		                      cd_create, "attestationObject", enc, "transports", "usb"));
		do_register(json);
		free(json);
		free(enc);
		break;
	case 3:
		enc = b64(data + 1, size - 1);
		json =
		    dump(json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "id", CRED_ID, "rawId", CRED_ID,
		                   "type", "public-key", "response", "clientDataJSON", cd_get,
		                   "authenticatorData", enc, "signature", "MAYCAQECAQE"));
		do_assert(json, fixed_key, -7, 0);
		free(json);
		free(enc);
		break;
	case 4:
		enc = b64(data + 1, size - 1);
		json = dump(json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "id", CRED_ID, "rawId",
		                      CRED_ID, "type", "public-key", "response", "clientDataJSON",
		                      cd_get, "authenticatorData", fixed_auth_data, "signature",
		                      "MAYCAQECAQE"));
		do_assert(json, enc, -7, 0);
		do_assert(json, enc, -257, 0);
		free(json);
		free(enc);
		break;
	}
	free(text);
	return 0;
}
