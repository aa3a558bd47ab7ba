/* Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9):
 * client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "http/fetch.h"
#include "oidc/oidc_int.h"

#define ASSERTION_TYPE    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ASSERTION_MAX_AGE 3600 /* an assertion may live at most an hour */
#define CLOCK_SKEW        60

static const char *const pk_algs[] = {"RS256", "RS384", "RS512", "PS256",
                                      "PS384", "PS512", "ES256", NULL};
static const char *const hs_algs[] = {"HS256", "HS384", "HS512", NULL};

static int deny(struct client_auth *ca, const char *description)
{
	ca->description = description;
	if (ca->reason)
		log_pack(LOG_INFO, "client_auth_failed", "{s:s, s:s}", "description", description,
		         "reason", ca->reason);
	return careid_error_set(CAREID_EDENIED, "%s", description);
}

/* "Basic base64(urlencode(id):urlencode(secret))" */
static int parse_basic(struct oidc_req *r, const char *header, const char **id, const char **secret)
{
	char raw[1024], *colon, *form;
	size_t len = 0, n;
	struct form f;
	char *b64;

	header += 6;
	while (*header == ' ')
		header++;
	n = strlen(header);
	if (n == 0 || n > 1300)
		return CAREID_EINVALID;
	b64 = arena_strdup(r->a, header);
	if (!b64)
		return CAREID_ENOMEM;
	for (char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	if (crypto_b64url_decode(raw, sizeof(raw) - 1, &len, b64, n))
		return CAREID_EINVALID;
	raw[len] = '\0';
	if (strlen(raw) != len)
		return CAREID_EINVALID;
	colon = strchr(raw, ':');
	if (!colon || strchr(raw, '&') || strchr(raw, '='))
		return CAREID_EINVALID;
	*colon = '\0';
	form = arena_printf(r->a, "i=%s&s=%s", raw, colon + 1);
	memset(raw, 0, sizeof(raw));
	if (!form || form_parse(&f, r->a, form, strlen(form)) || f.n != 2)
		return CAREID_EINVALID;
	*id = form_get(&f, "i");
	*secret = form_get(&f, "s");
	return 0;
}

static bool aud_ok(const json_t *aud, const char *token_endpoint, const char *issuer)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), token_endpoint) == 0 ||
		       strcmp(json_string_value(aud), issuer) == 0;
	if (!json_is_array(aud))
		return false;
	for (size_t i = 0; i < json_array_size(aud); i++)
		if (aud_ok(json_array_get(aud, i), token_endpoint, issuer))
			return true;
	return false;
}

/* The client's registered JWKS, or its jwks_uri document (cached). */
static int client_jwks(json_t **out, struct oidc_req *r, const struct client *c, bool refresh)
{
	*out = NULL;
	if (c->jwks) {
		*out = json_loads(c->jwks, 0, NULL);
		return *out ? 0 : careid_error_set(CAREID_EINVALID, "registered JWKS unreadable");
	}
	if (!c->jwks_uri)
		return careid_error_set(CAREID_EINVALID, "client has no keys");
	char *key = arena_printf(r->a, "%s %s", c->env, c->client_id);

	return key ? jwks_cache_get(r->p->jwks, key, c->jwks_uri, refresh, out) : CAREID_ENOMEM;
}

static int verify_assertion(struct oidc_req *r, struct client_auth *ca, const char *assertion)
{
	static const char sql_jti[] = "INSERT INTO client_assertion_jtis (env, client_id, jti, "
	                              "expires_at) VALUES ($1, $2, $3, $4)";
	static const char sql_purge[] = "DELETE FROM client_assertion_jtis WHERE expires_at < $1";
	const char *form_id = form_get(&r->req->form, "client_id");
	const char *iss, *sub, *jti, *token_endpoint;
	json_t *claims = NULL, *verified = NULL, *keys = NULL;
	json_int_t exp, iat;
	int64_t now = clock_now();
	int rc;

	rc = jws_peek(assertion, NULL, &claims);
	if (rc)
		return deny(ca, "JWT is not valid");
	iss = json_string_value(json_object_get(claims, "iss"));
	sub = json_string_value(json_object_get(claims, "sub"));
	jti = json_string_value(json_object_get(claims, "jti"));
	exp = json_integer_value(json_object_get(claims, "exp"));
	iat = json_integer_value(json_object_get(claims, "iat"));
	token_endpoint = arena_printf(r->a, "%s/access_token", r->env->issuer);
	if (!iss || !sub || strcmp(iss, sub) != 0 || (form_id && strcmp(form_id, iss) != 0) ||
	    !jti || !*jti || strlen(jti) > 256 ||
	    !json_is_integer(json_object_get(claims, "exp")) || exp < now - CLOCK_SKEW ||
	    exp > now + ASSERTION_MAX_AGE ||
	    (json_object_get(claims, "iat") && iat > now + CLOCK_SKEW) || !token_endpoint ||
	    !aud_ok(json_object_get(claims, "aud"), token_endpoint, r->env->issuer)) {
		ca->reason = "assertion claims (iss, sub, aud, exp, iat, jti) not acceptable";
		rc = deny(ca, "JWT is not valid");
		goto out;
	}
	rc = client_get(&ca->client, r->p->store, r->env->name, iss);
	if (rc) {
		rc = rc == CAREID_ENOTFOUND ? deny(ca, "JWT is not valid") : rc;
		goto out;
	}
	if (strcmp(ca->client->auth_method, "private_key_jwt") == 0) {
		rc = client_jwks(&keys, r, ca->client, false);
		if (!rc)
			rc = jws_verify_jwks(&verified, assertion, keys, pk_algs);
		if (rc == CAREID_EDENIED && ca->client->jwks_uri) {
			/* perhaps a key the client has just rotated in */
			json_decref(keys);
			keys = NULL;
			rc = client_jwks(&keys, r, ca->client, true);
			if (!rc)
				rc = jws_verify_jwks(&verified, assertion, keys, pk_algs);
		}
	} else if (strcmp(ca->client->auth_method, "client_secret_jwt") == 0 &&
	           ca->client->secret_sealed) {
		char *secret = NULL;

		rc = crypto_open(&secret, r->p->secrets.seal_key, ca->client->secret_sealed);
		if (!rc)
			rc = jws_verify_hmac(&verified, assertion, secret, hs_algs);
		if (secret) {
			memset(secret, 0, strlen(secret));
			free(secret);
		}
	} else {
		rc = CAREID_EDENIED;
	}
	if (rc) {
		ca->reason = careid_error_last()->message;
		rc = deny(ca, "JWT is not valid");
		goto out;
	}
	store_exec(r->p->store, sql_purge, "i", now - CLOCK_SKEW);
	rc = store_exec(r->p->store, sql_jti, "ttti", r->env->name, iss, jti, (int64_t)exp);
	if (rc == CAREID_EEXISTS) {
		ca->reason = "jti replayed";
		rc = deny(ca, "JWT is not valid");
	} else if (rc > 0)
		rc = 0;
out:
	json_decref(claims);
	json_decref(verified);
	json_decref(keys);
	return rc;
}

static int check_secret(struct oidc_req *r, struct client_auth *ca, const char *id,
                        const char *secret, const char *method)
{
	char hash[CRYPTO_HASH_HEX];
	int rc;

	if (!id || !secret || strlen(secret) > 512)
		return deny(ca, "client authentication failed");
	rc = client_get(&ca->client, r->p->store, r->env->name, id);
	if (rc)
		return rc == CAREID_ENOTFOUND ? deny(ca, "client authentication failed") : rc;
	crypto_keyed_hash(hash, r->p->secrets.hash_key, secret);
	if (strcmp(ca->client->auth_method, method) != 0 || !ca->client->secret_hash ||
	    !crypto_streq(hash, ca->client->secret_hash))
		return deny(ca, "client authentication failed");
	return 0;
}

int client_authenticate(struct client_auth *ca, struct oidc_req *r)
{
	const struct form *f = &r->req->form;
	const char *authz = http_header(r->req, "Authorization");
	const char *assertion = form_get(f, "client_assertion");
	const char *secret = form_get(f, "client_secret");
	int rc;

	memset(ca, 0, sizeof(*ca));
	if (authz && strncasecmp(authz, "Basic ", 6) == 0) {
		const char *id = NULL, *pw = NULL;

		ca->basic = true;
		if (assertion || secret)
			return deny(ca, "more than one client authentication method");
		rc = parse_basic(r, authz, &id, &pw);
		if (rc)
			return rc == CAREID_ENOMEM ? rc : deny(ca, "client authentication failed");
		if (form_get(f, "client_id") && strcmp(form_get(f, "client_id"), id) != 0)
			return deny(ca, "client_id does not match the credentials");
		return check_secret(r, ca, id, pw, "client_secret_basic");
	}
	if (assertion) {
		const char *type = form_get(f, "client_assertion_type");

		if (secret)
			return deny(ca, "more than one client authentication method");
		if (!type || strcmp(type, ASSERTION_TYPE) != 0)
			return deny(ca, "JWT is not valid");
		return verify_assertion(r, ca, assertion);
	}
	if (secret)
		return check_secret(r, ca, form_get(f, "client_id"), secret, "client_secret_post");
	return deny(ca, "client authentication is required");
}

void client_auth_release(struct client_auth *ca)
{
	client_free(ca->client);
	ca->client = NULL;
}

/* 1 for an answer sent, or the failure that kept it from being sent. */
static int answered(int rc)
{
	return rc ? rc : 1;
}

int client_request(struct client_auth *ca, struct oidc_req *r, const char *route,
                   const char *required)
{
	const char *dup;
	int rc;

	memset(ca, 0, sizeof(*ca));
	r->res->route = route;
	if (strcmp(r->req->method, "POST") != 0) {
		if (http_add_header(r->res, "Allow", "POST"))
			return CAREID_ENOMEM;
		return answered(oidc_error_json(r, 405, "invalid_request", "use POST"));
	}
	if (!r->req->has_form)
		return answered(
		    oidc_error_json(r, 400, "invalid_request",
		                    "the body must be application/x-www-form-urlencoded"));
	if (r->req->form_error)
		return answered(
		    oidc_error_json(r, 400, "invalid_request", "the body is malformed"));
	dup = form_first_duplicate(&r->req->form);
	if (dup)
		return answered(
		    oidc_error_json(r, 400, "invalid_request",
		                    arena_printf(r->a, "parameter %s is repeated", dup)));
	if (required && !form_get(&r->req->form, required))
		return answered(oidc_error_json(r, 400, "invalid_request",
		                                arena_printf(r->a, "%s is required", required)));
	rc = client_authenticate(ca, r);
	if (rc != CAREID_EDENIED)
		return rc;
	/* RFC 6749 §5.2: 401, with a Basic challenge when Basic was tried */
	if (ca->basic && http_add_header(r->res, "WWW-Authenticate",
	                                 "Basic realm=\"careid\", error=\"invalid_client\""))
		return CAREID_ENOMEM;
	return answered(oidc_error_json(r, 401, "invalid_client", ca->description));
}
