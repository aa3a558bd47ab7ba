#include "authn/webauthn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/webauthn_int.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/pubkey.h"

#define TIMEOUT_MS        120000
#define CHALLENGE_MAX     512
#define TRANSPORTS_MAX    8
#define TRANSPORT_LEN_MAX 32

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

/* --- checks and registration -------------------------------------------- */

/* rpIdHash, UP, UV and BE/BS (§7.1 steps 13-16, §7.2 steps 15-18). */
static int auth_data_check(const struct webauthn_auth_data *ad, const struct webauthn_expect *e)
{
	uint8_t want[32];

	crypto_sha256(want, e->rp_id, strlen(e->rp_id));
	if (memcmp(want, ad->rp_id_hash, sizeof(want)) != 0)
		return careid_error_set(CAREID_EDENIED,
		                        "the response is for another relying party ID than %.100s",
		                        e->rp_id);
	if (!(ad->flags & WEBAUTHN_FLAG_UP))
		return careid_error_set(CAREID_EDENIED,
		                        "the authenticator did not confirm the user was present");
	if (e->require_uv && !(ad->flags & WEBAUTHN_FLAG_UV))
		return careid_error_set(
		    CAREID_EDENIED, "the authenticator did not verify the user (PIN or biometric)");
	if ((ad->flags & WEBAUTHN_FLAG_BS) && !(ad->flags & WEBAUTHN_FLAG_BE))
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
	struct webauthn_att_obj ao = {0};
	struct webauthn_auth_data ad = {0};
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
	rc = webauthn_att_obj_parse(&ao, attobj, aolen);
	if (rc)
		goto out;
	rc = webauthn_auth_data_parse(&ad, ao.auth_data, ao.auth_data_len);
	if (rc)
		goto out;
	rc = auth_data_check(&ad, e);
	if (rc)
		goto out;
	if (!(ad.flags & WEBAUTHN_FLAG_AT)) {
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
	rc = webauthn_cose_key_parse(&key, &c.alg, ad.key);
	if (rc)
		goto out;
	if (!webauthn_att_fmt(c.fmt, &ao)) {
		rc = careid_error_set(CAREID_EUNSUPPORTED,
		                      "the attestation format is not one careid supports");
		goto out;
	}
	if (strcmp(c.fmt, "none") == 0) {
		if (!webauthn_att_stmt_empty(&ao)) {
			rc = careid_error_set(CAREID_EINVALID,
			                      "a \"none\" attestation must have an empty attStmt");
			goto out;
		}
	} else if (strcmp(c.fmt, "packed") == 0) {
		rc = signed_bytes(&tbs, &tbslen, ao.auth_data, ao.auth_data_len, cdata, cdlen);
		if (rc)
			goto out;
		rc = webauthn_att_packed(&c.self_attested, &ao, key, ad.aaguid, tbs, tbslen);
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
	c.user_verified = ad.flags & WEBAUTHN_FLAG_UV;
	c.backup_eligible = ad.flags & WEBAUTHN_FLAG_BE;
	c.backup_state = ad.flags & WEBAUTHN_FLAG_BS;
	*out = c;
	memset(&c, 0, sizeof(c));
out:
	webauthn_credential_release(&c);
	webauthn_auth_data_release(&ad);
	webauthn_att_obj_release(&ao);
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
	uint8_t *raw = NULL;
	size_t len = 0;
	int kalg = 0, rc;

	*out = NULL;
	if (!public_key)
		return careid_error_set(CAREID_EINVALID, "no stored public key");
	rc = b64_decode(&raw, &len, public_key, strnlen(public_key, WEBAUTHN_COSE_KEY_MAX * 2),
	                "the stored public key", WEBAUTHN_COSE_KEY_MAX);
	if (rc)
		goto out;
	rc = webauthn_cose_key_decode(out, &kalg, raw, len, "the stored public key");
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
	free(raw);
	return rc;
}

int webauthn_assertion_verify(uint32_t *sign_count_out, bool *uv_out,
                              const struct webauthn_assertion *a, const struct webauthn_expect *e,
                              const char *public_key, int alg, uint32_t stored_count)
{
	struct webauthn_auth_data ad = {0};
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
	rc = webauthn_auth_data_parse(&ad, a->auth_data, a->auth_data_len);
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
	if ((e->backup_eligible == WEBAUTHN_BE_UNSET && (ad.flags & WEBAUTHN_FLAG_BE)) ||
	    (e->backup_eligible == WEBAUTHN_BE_SET && !(ad.flags & WEBAUTHN_FLAG_BE))) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the authenticator's backup eligibility changed since it was "
		                      "registered");
		goto out;
	}
	if ((stored_count != 0 || ad.sign_count != 0) && ad.sign_count <= stored_count) {
		rc = careid_error_set(CAREID_EDENIED,
		                      "the signature counter went backwards (stored %" PRIu32
		                      ", received %" PRIu32
		                      "): the authenticator may have been cloned",
		                      stored_count, ad.sign_count);
		goto out;
	}
	*sign_count_out = ad.sign_count;
	*uv_out = ad.flags & WEBAUTHN_FLAG_UV;
out:
	webauthn_auth_data_release(&ad);
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
