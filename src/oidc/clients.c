#include "oidc/clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authn/assurance.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "crypto/random.h"

#define CLIENT_NAME_MAX  200
#define REDIRECT_URI_MAX 2000
#define MAX_REDIRECTS    20

#define SECRET_AD_MAX 128

static int secret_ad(char ad[SECRET_AD_MAX], const char *name)
{
	int n = snprintf(ad, SECRET_AD_MAX, "careid-server-secret-v1|%s", name);

	return n > 0 && n < SECRET_AD_MAX
	           ? 0
	           : careid_error_set(CAREID_EINVALID, "server secret name too long");
}

static int load_secret(store *s, const struct kek *kek, const char *name,
                       uint8_t out[CRYPTO_KEY_BYTES])
{
	static const char sql_insert[] =
	    "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) "
	    "ON CONFLICT (name) DO NOTHING";
	static const char sql_select[] = "SELECT value FROM server_secrets WHERE name = $1";
	uint8_t fresh[CRYPTO_KEY_BYTES];
	char text[64], ad[SECRET_AD_MAX], what[96], *stored = NULL, *plain = NULL;
	store_stmt *st = NULL;
	size_t len = 0;
	int rc;

	crypto_random_bytes(fresh, sizeof(fresh));
	rc = crypto_b64url_encode(text, sizeof(text), fresh, sizeof(fresh));
	if (!rc)
		rc = secret_ad(ad, name);
	if (!rc)
		rc = kek_wrap(&stored, kek, ad, text);
	if (rc)
		goto out;
	rc = store_exec(s, sql_insert, "tti", name, stored, clock_now());
	if (rc < 0)
		goto out;
	rc = store_query(s, &st, sql_select, "t", name);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc : careid_error_set(CAREID_ESTORE, "server secret %s missing", name);
		goto out;
	}
	snprintf(what, sizeof(what), "server secret %s", name);
	rc = kek_open(&plain, kek, ad, store_text(st, 0), what);
	if (!rc)
		rc = crypto_b64url_decode(out, CRYPTO_KEY_BYTES, &len, plain, strlen(plain));
	if (!rc && len != CRYPTO_KEY_BYTES)
		rc = careid_error_set(CAREID_ECRYPTO, "server secret %s has the wrong size", name);
out:
	store_done(st);
	explicit_bzero(fresh, sizeof(fresh));
	explicit_bzero(text, sizeof(text));
	if (plain) {
		explicit_bzero(plain, strlen(plain));
		free(plain);
	}
	free(stored);
	return rc;
}

static const char *const secret_names[] = {"hash_key", "seal_key", "csrf_key"};

int secrets_load_kek(struct secrets *out, store *s, const struct kek *kek)
{
	uint8_t *const keys[] = {out->hash_key, out->seal_key, out->csrf_key};
	int rc = 0;

	out->kek = *kek;
	for (size_t i = 0; !rc && i < sizeof(keys) / sizeof(keys[0]); i++)
		rc = load_secret(s, kek, secret_names[i], keys[i]);
	return rc;
}

int secrets_load(struct secrets *out, store *s)
{
	struct kek kek;
	int rc = kek_from_env(&kek);

	if (!rc)
		rc = secrets_load_kek(out, s, &kek);
	kek_release(&kek);
	return rc;
}

int secrets_check(store *s, const struct kek *kek)
{
	static const char sql[] = "SELECT name, value FROM server_secrets ORDER BY name";
	char what[96];
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "");

	while (!rc && (rc = store_next(st)) == 1) {
		snprintf(what, sizeof(what), "server secret %s", store_text(st, 0));
		rc = kek_check(kek, store_text(st, 1), what);
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

int secrets_seal(json_t *sealed, int *already, store *s, const struct kek *kek)
{
	static const char sql_select[] = "SELECT value FROM server_secrets WHERE name = $1";
	static const char sql_update[] = "UPDATE server_secrets SET value = $1 WHERE name = $2";
	char ad[SECRET_AD_MAX], what[96];
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
		const char *name = secret_names[i];
		char *plain = NULL, *stored = NULL;
		enum kek_state state = KEK_PLAIN;
		store_stmt *st = NULL;

		rc = secret_ad(ad, name);
		if (!rc)
			rc = store_query(s, &st, sql_select, "t", name);
		if (!rc && (rc = store_next(st)) == 1) {
			snprintf(what, sizeof(what), "server secret %s", name);
			state = kek_state(kek, store_text(st, 0));
			rc = state == KEK_CURRENT
			         ? 0
			         : kek_open(&plain, kek, ad, store_text(st, 0), what);
		}
		store_done(st);
		if (!rc && state == KEK_CURRENT) {
			++*already;
		} else if (!rc && plain) {
			rc = kek_seal(&stored, kek, ad, plain);
			if (!rc)
				rc = store_exec(s, sql_update, "tt", stored, name);
			if (rc >= 0)
				rc = json_array_append_new(
				         sealed, json_pack("{s:s, s:s}", "name", name, "was",
				                           state == KEK_OLD ? "old_key" : "plain"))
				         ? careid_error_set(CAREID_ENOMEM, "out of memory")
				         : 0;
		}
		if (plain) {
			explicit_bzero(plain, strlen(plain));
			free(plain);
		}
		free(stored);
	}
	return rc < 0 ? rc : 0;
}

static char *dup_col(store_stmt *st, int col)
{
	const char *v = store_text(st, col);

	return v ? strdup(v) : NULL;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	free(c->env);
	free(c->client_id);
	free(c->name);
	free(c->auth_method);
	free(c->secret_hash);
	free(c->secret_sealed);
	free(c->jwks);
	free(c->jwks_uri);
	free(c->id_token_alg);
	free(c->userinfo_alg);
	free(c->backchannel_logout_uri);
	free(c->default_acr);
	for (size_t i = 0; i < c->nredirect; i++)
		free(c->redirect_uris[i]);
	free(c->redirect_uris);
	free(c);
}

int client_get(struct client **out, store *s, const char *env, const char *client_id)
{
	static const char sql_client[] =
	    "SELECT name, auth_method, secret_hash, secret_sealed, jwks, jwks_uri, "
	    "id_token_alg, userinfo_alg, backchannel_logout_uri, default_acr "
	    "FROM clients WHERE env = $1 AND client_id = $2";
	static const char sql_uris[] =
	    "SELECT uri FROM client_redirect_uris WHERE env = $1 AND client_id = $2";
	struct client *c = NULL;
	store_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (!client_id || strlen(client_id) > 200)
		return careid_error_set(CAREID_ENOTFOUND, "unknown client");
	rc = store_query(s, &st, sql_client, "tt", env, client_id);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc <= 0) {
		rc = rc ? rc : careid_error_set(CAREID_ENOTFOUND, "unknown client");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	c->env = strdup(env);
	c->client_id = strdup(client_id);
	c->name = dup_col(st, 0);
	c->auth_method = dup_col(st, 1);
	c->secret_hash = dup_col(st, 2);
	c->secret_sealed = dup_col(st, 3);
	c->jwks = dup_col(st, 4);
	c->jwks_uri = dup_col(st, 5);
	c->id_token_alg = dup_col(st, 6);
	c->userinfo_alg = dup_col(st, 7);
	c->backchannel_logout_uri = dup_col(st, 8);
	c->default_acr = dup_col(st, 9);
	store_done(st);
	st = NULL;
	if (!c->env || !c->client_id || !c->name || !c->auth_method || !c->id_token_alg) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	c->redirect_uris = calloc(MAX_REDIRECTS, sizeof(char *));
	if (!c->redirect_uris) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_query(s, &st, sql_uris, "tt", env, client_id);
	if (rc)
		goto out;
	while ((rc = store_next(st)) > 0 && c->nredirect < MAX_REDIRECTS) {
		c->redirect_uris[c->nredirect] = dup_col(st, 0);
		if (!c->redirect_uris[c->nredirect]) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto out;
		}
		c->nredirect++;
	}
	if (rc > 0)
		rc = 0;
out:
	store_done(st);
	if (rc) {
		client_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

bool client_redirect_registered(const struct client *c, const char *uri)
{
	for (size_t i = 0; uri && i < c->nredirect; i++)
		if (strcmp(c->redirect_uris[i], uri) == 0)
			return true;
	return false;
}

static bool is_loopback_authority(const char *host, size_t len)
{
	static const char *const hosts[] = {"127.0.0.1", "[::1]", "localhost"};

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strlen(hosts[i]) == len && strncasecmp(host, hosts[i], len) == 0)
			return true;
	return false;
}

int client_check_redirect_uri(const char *uri)
{
	const char *host, *end;
	size_t hostlen;

	if (!uri || !*uri || strlen(uri) > REDIRECT_URI_MAX)
		return careid_error_set(CAREID_EINVALID, "redirect URI missing or too long");
	for (const char *p = uri; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '"' ||
		    *p == '<' || *p == '>' || *p == '\\')
			return careid_error_set(CAREID_EINVALID,
			                        "redirect URI %s has a character that must be "
			                        "percent-encoded",
			                        uri);
	if (strchr(uri, '#'))
		return careid_error_set(CAREID_EINVALID, "redirect URI %s has a fragment", uri);
	if (strncmp(uri, "https://", 8) == 0)
		host = uri + 8;
	else if (strncmp(uri, "http://", 7) == 0)
		host = uri + 7;
	else
		return careid_error_set(CAREID_EINVALID, "redirect URI %s must be https", uri);
	end = host + strcspn(host, "/?");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return careid_error_set(CAREID_EINVALID, "redirect URI %s has no valid host", uri);
	if (uri[4] == 's')
		return 0;
	/* http: only loopback callbacks (RFC 8252 §7.3) */
	hostlen = (size_t)(end - host);
	if (*host == '[') {
		const char *close = memchr(host, ']', hostlen);

		hostlen = close ? (size_t)(close - host) + 1 : hostlen;
	} else {
		const char *colon = memchr(host, ':', hostlen);

		hostlen = colon ? (size_t)(colon - host) : hostlen;
	}
	if (!is_loopback_authority(host, hostlen))
		return careid_error_set(CAREID_EINVALID,
		                        "redirect URI %s must be https (plain http only for a "
		                        "loopback callback such as http://127.0.0.1:PORT/…)",
		                        uri);
	return 0;
}

bool client_alg_supported(const char *alg)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};

	for (size_t i = 0; alg && i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(alg, algs[i]) == 0)
			return true;
	return false;
}

static bool method_valid(const char *m)
{
	return strcmp(m, "client_secret_basic") == 0 || strcmp(m, "client_secret_post") == 0 ||
	       strcmp(m, "client_secret_jwt") == 0 || strcmp(m, "private_key_jwt") == 0;
}

static int check_jwks(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr), *keys;
	int rc = 0;

	keys = json_object_get(j, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 32)
		rc = careid_error_set(CAREID_EINVALID,
		                      "the JWKS must be a JSON object with 1 to 32 \"keys\"");
	for (size_t i = 0; !rc && i < json_array_size(keys); i++) {
		json_t *k = json_array_get(keys, i);

		if (json_object_get(k, "d") || json_object_get(k, "p") || json_object_get(k, "k"))
			rc = careid_error_set(CAREID_EINVALID,
			                      "the JWKS must hold public keys only");
		else if (!json_is_string(json_object_get(k, "kty")))
			rc = careid_error_set(CAREID_EINVALID, "a JWKS key has no kty");
	}
	json_decref(j);
	return rc;
}

static int validate(const struct client_new *c, const char *method, const char *alg)
{
	int rc;

	if (!env_valid(c->env))
		return careid_error_set(CAREID_EINVALID,
		                        "environment must be mock, int, dep, live or portal");
	if (!c->name || !*c->name || strlen(c->name) > CLIENT_NAME_MAX)
		return careid_error_set(CAREID_EINVALID,
		                        "a client name of 1 to %d characters is needed",
		                        CLIENT_NAME_MAX);
	if (!method_valid(method))
		return careid_error_set(CAREID_EINVALID,
		                        "--auth must be private_key_jwt, client_secret_post, "
		                        "client_secret_basic or client_secret_jwt");
	if (!client_alg_supported(alg))
		return careid_error_set(
		    CAREID_EINVALID,
		    "ID token algorithm %s is not supported (RS256, RS384, RS512, "
		    "PS256, PS384, PS512; never none)",
		    alg);
	if (c->userinfo_alg && !client_alg_supported(c->userinfo_alg))
		return careid_error_set(CAREID_EINVALID, "userinfo algorithm %s is not supported",
		                        c->userinfo_alg);
	if (c->nredirect == 0 || c->nredirect > MAX_REDIRECTS)
		return careid_error_set(CAREID_EINVALID, "1 to %d redirect URIs are needed",
		                        MAX_REDIRECTS);
	for (size_t i = 0; i < c->nredirect; i++) {
		rc = client_check_redirect_uri(c->redirect_uris[i]);
		if (rc)
			return rc;
	}
	if (strcmp(method, "private_key_jwt") == 0) {
		if (!!c->jwks == !!c->jwks_uri)
			return careid_error_set(CAREID_EINVALID,
			                        "private_key_jwt needs exactly one of a JWKS or a "
			                        "JWKS URI");
		if (c->jwks && (rc = check_jwks(c->jwks)))
			return rc;
		if (c->jwks_uri && strncmp(c->jwks_uri, "https://", 8) != 0 &&
		    client_check_redirect_uri(c->jwks_uri))
			return careid_error_set(CAREID_EINVALID,
			                        "the JWKS URI must be https (or a loopback URL)");
	} else if (c->jwks || c->jwks_uri) {
		return careid_error_set(CAREID_EINVALID, "a JWKS is only for private_key_jwt");
	}
	if (c->npost_logout > MAX_REDIRECTS)
		return careid_error_set(CAREID_EINVALID, "at most %d post-logout redirect URIs",
		                        MAX_REDIRECTS);
	for (size_t i = 0; i < c->npost_logout; i++) {
		rc = client_check_redirect_uri(c->post_logout_uris[i]);
		if (rc)
			return careid_error_set(CAREID_EINVALID,
			                        "post-logout redirect URI %s: https, or http on a "
			                        "loopback host, without a fragment",
			                        c->post_logout_uris[i]);
	}
	if (c->backchannel_logout_uri && client_check_redirect_uri(c->backchannel_logout_uri))
		return careid_error_set(CAREID_EINVALID,
		                        "the back-channel logout URI must be https (or loopback)");
	if (c->default_acr && !acr_known(c->default_acr))
		return careid_error_set(CAREID_EINVALID, "unknown assurance class %s",
		                        c->default_acr);
	return 0;
}

int client_add(json_t **out, store *s, const struct secrets *sec, const struct client_new *c)
{
	static const char sql_client[] =
	    "INSERT INTO clients (env, client_id, name, auth_method, secret_hash, "
	    "secret_sealed, jwks, jwks_uri, id_token_alg, userinfo_alg, "
	    "backchannel_logout_uri, default_acr, created_at) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
	/* A URI given twice is stored once. ON CONFLICT rather than ignoring the
	 * unique violation: a duplicate is not a failure, so it sets no error and,
	 * on PostgreSQL, costs no rollback to the savepoint the store puts around
	 * each write in a transaction. */
	static const char sql_uri[] = "INSERT INTO client_redirect_uris (env, client_id, uri) "
	                              "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
	static const char sql_logout_uri[] = "INSERT INTO client_post_logout_uris (env, client_id, "
	                                     "uri) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
	const char *method = c->auth_method ? c->auth_method : "client_secret_basic";
	const char *alg = c->id_token_alg ? c->id_token_alg : "RS256";
	char digits[13], client_id[64], secret[64], hash[CRYPTO_HASH_HEX];
	char *sealed = NULL;
	bool has_secret;
	int rc;

	*out = NULL;
	rc = validate(c, method, alg);
	if (rc)
		return rc;
	has_secret = strcmp(method, "private_key_jwt") != 0;
	crypto_random_digits(digits, 12);
	snprintf(client_id, sizeof(client_id), "%s.apps.supplier", digits);
	if (has_secret) {
		rc = crypto_random_token(secret, sizeof(secret), 32);
		if (rc)
			return rc;
		crypto_keyed_hash(hash, sec->hash_key, secret);
		if (strcmp(method, "client_secret_jwt") == 0) {
			rc = crypto_seal(&sealed, sec->seal_key, secret);
			if (rc)
				return rc;
		}
	}
	rc = store_begin(s);
	if (rc)
		goto out;
	rc = store_exec(s, sql_client, "tttttttttttti", c->env, client_id, c->name, method,
	                has_secret ? hash : NULL, sealed, c->jwks, c->jwks_uri, alg,
	                c->userinfo_alg, c->backchannel_logout_uri, c->default_acr, clock_now());
	for (size_t i = 0; rc >= 0 && i < c->nredirect; i++) {
		rc = store_exec(s, sql_uri, "ttt", c->env, client_id, c->redirect_uris[i]);
	}
	for (size_t i = 0; rc >= 0 && i < c->npost_logout; i++) {
		rc =
		    store_exec(s, sql_logout_uri, "ttt", c->env, client_id, c->post_logout_uris[i]);
	}
	if (rc < 0) {
		store_rollback(s);
		goto out;
	}
	rc = store_commit(s);
	if (rc)
		goto out;
	*out = json_pack("{s:s, s:s?, s:s, s:s, s:s}", "client_id", client_id, "client_secret",
	                 has_secret ? secret : NULL, "env", c->env, "token_endpoint_auth_method",
	                 method, "id_token_signed_response_alg", alg);
	if (!*out)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	free(sealed);
	memset(secret, 0, sizeof(secret));
	return rc;
}

int client_delete(store *s, const char *env, const char *client_id)
{
	static const char sql_uris[] =
	    "DELETE FROM client_redirect_uris WHERE env = $1 AND client_id = $2";
	static const char sql_logout_uris[] =
	    "DELETE FROM client_post_logout_uris WHERE env = $1 AND client_id = $2";
	static const char sql_client[] = "DELETE FROM clients WHERE env = $1 AND client_id = $2";
	int rc = store_begin(s);

	if (rc)
		return rc;
	rc = store_exec(s, sql_uris, "tt", env, client_id);
	if (rc >= 0)
		rc = store_exec(s, sql_logout_uris, "tt", env, client_id);
	if (rc >= 0)
		rc = store_exec(s, sql_client, "tt", env, client_id);
	if (rc <= 0) {
		store_rollback(s);
		return rc < 0 ? rc : careid_error_set(CAREID_ENOTFOUND, "unknown client");
	}
	return store_commit(s);
}

bool client_post_logout_registered(store *s, const char *env, const char *client_id,
                                   const char *uri)
{
	static const char sql[] = "SELECT 1 FROM client_post_logout_uris WHERE env = $1 AND "
	                          "client_id = $2 AND uri = $3";
	store_stmt *st = NULL;
	bool found;

	if (!env || !client_id || !uri)
		return false;
	found = store_query(s, &st, sql, "ttt", env, client_id, uri) == 0 && store_next(st) == 1;
	store_done(st);
	return found;
}

int client_rotate_secret(json_t **out, store *s, const struct secrets *sec, const char *env,
                         const char *client_id)
{
	static const char sql_method[] =
	    "SELECT auth_method FROM clients WHERE env = $1 AND client_id = $2";
	static const char sql_update[] =
	    "UPDATE clients SET secret_hash = $1, secret_sealed = $2 WHERE env = $3 AND "
	    "client_id = $4 AND auth_method = $5";
	char secret[64], hash[CRYPTO_HASH_HEX], method[32] = "";
	char *sealed = NULL;
	store_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (!env || !client_id || strlen(client_id) > 200)
		return careid_error_set(CAREID_ENOTFOUND, "unknown client");
	rc = store_query(s, &st, sql_method, "tt", env, client_id);
	if (!rc && (rc = store_next(st)) == 1)
		snprintf(method, sizeof(method), "%s", store_text(st, 0));
	store_done(st);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return careid_error_set(CAREID_ENOTFOUND, "unknown client");
	if (strcmp(method, "private_key_jwt") == 0 || !method_valid(method))
		return careid_error_set(CAREID_EINVALID,
		                        "client %s authenticates with %s: it has no secret",
		                        client_id, method);
	rc = crypto_random_token(secret, sizeof(secret), 32);
	if (rc)
		return rc;
	crypto_keyed_hash(hash, sec->hash_key, secret);
	if (strcmp(method, "client_secret_jwt") == 0 &&
	    (rc = crypto_seal(&sealed, sec->seal_key, secret)))
		goto out;
	/* the method is part of the condition: a client changed meanwhile keeps
	 * what it had */
	rc = store_exec(s, sql_update, "ttttt", hash, sealed, env, client_id, method);
	if (rc == 0)
		rc = careid_error_set(CAREID_ENOTFOUND, "client %s changed meanwhile", client_id);
	if (rc < 0)
		goto out;
	*out = json_pack("{s:s, s:s}", "client_id", client_id, "client_secret", secret);
	rc = *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	free(sealed);
	memset(secret, 0, sizeof(secret));
	return rc;
}

int client_post_logout_list(json_t **out, store *s, const char *env, const char *client_id)
{
	static const char sql[] = "SELECT uri FROM client_post_logout_uris WHERE env = $1 AND "
	                          "client_id = $2 ORDER BY uri";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tt", env, client_id);
	while (!rc && (rc = store_next(st)) == 1)
		rc = json_array_append_new(list, json_string(store_text(st, 0)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}
