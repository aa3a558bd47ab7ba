#include "oidc/provider.h"

#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "core/clock.h"
#include "core/error.h"
#include "oidc/oidc_int.h"
#include "oidc/sessions.h"

/* The path of an absolute URL ("" when it has none). */
static const char *url_path(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? strchr(p + 3, '/') : NULL;
	return p ? p : "";
}

static int env_init(provider *p, struct env_state *e, int i, const char *issuer,
                    const struct provider_opts *opts)
{
	int rc;

	e->index = i;
	e->name = env_names[i];
	if (issuer)
		e->issuer = strdup(issuer);
	else if (asprintf(&e->issuer, "%s/realms/%s", p->public_url, e->name) < 0)
		e->issuer = NULL;
	if (!e->issuer)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	e->issuer_path = strdup(url_path(e->issuer));
	if (asprintf(&e->cookie_session, "careid_session_%s", e->name) < 0)
		e->cookie_session = NULL;
	if (!e->issuer_path || !e->cookie_session)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!*e->issuer_path)
		return careid_error_set(CAREID_EINVALID, "issuer %s needs a path", e->issuer);
	/* mock is the development realm: every authenticator, passwords alone
	 * included (AAL1_USERPASS), and any of them when a request names no class.
	 * int, dep and live are CIS2's: no password alone, AAL3_ANY by default.
	 * The onboarding portal's developer accounts sign in with passwords. */
	if (i == ENV_PORTAL) {
		e->offered = AUTHN_PWD;
		e->default_acr = NULL;
	} else if (i == 0) {
		e->offered = AUTHN_PWD | AUTHN_TOTP | AUTHN_PASSKEY | AUTHN_FIDO2 | AUTHN_SMARTCARD;
		e->default_acr = NULL;
	} else {
		e->offered = AUTHN_TOTP | AUTHN_PASSKEY | AUTHN_FIDO2 | AUTHN_SMARTCARD;
		e->default_acr = "AAL3_ANY";
	}
	e->session_idle = opts->session_idle[i] > 0 ? opts->session_idle[i] : SESSION_IDLE_TTL;
	e->session_max = opts->session_max[i] > 0 ? opts->session_max[i] : SESSION_MAX_TTL;
	rc = keyring_new(&e->keys, p->store, e->name, &p->secrets.kek);
	if (!rc)
		rc = discovery_build(p, e);
	return rc;
}

/* True when `a` equals `b` or lies under it ("/x" and "/x/int"): routing is
 * by path, so such issuers would swallow each other's requests. */
static bool paths_overlap(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The origin and host of the public URL: WebAuthn binds credentials to them. */
static int origin_parts(provider *p)
{
	const char *host = strstr(p->public_url, "://");
	const char *end, *colon;

	if (!host)
		return careid_error_set(CAREID_EINVALID, "the public URL %s has no scheme",
		                        p->public_url);
	host += 3;
	end = host + strcspn(host, "/?#");
	p->origin = strndup(p->public_url, (size_t)(end - p->public_url));
	if (*host == '[') /* an IPv6 literal: no WebAuthn, but keep it whole */
		colon = memchr(host, ']', (size_t)(end - host));
	else
		colon = memchr(host, ':', (size_t)(end - host));
	if (colon && *host == '[')
		colon++;
	p->rp_id = strndup(host, (size_t)((colon && colon < end ? colon : end) - host));
	if (!p->origin || !p->rp_id)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

int provider_new(provider **out, const struct provider_opts *opts)
{
	provider *p = calloc(1, sizeof(*p));
	size_t n;
	int rc;

	*out = NULL;
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	p->store = opts->store;
	p->templates = opts->templates;
	p->metrics = opts->metrics;
	p->public_url = strdup(opts->public_url);
	if (!p->public_url) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	n = strlen(p->public_url);
	while (n && p->public_url[n - 1] == '/')
		p->public_url[--n] = '\0';
	p->secure = strncmp(p->public_url, "https://", 8) == 0;
	p->id_token_ttl = opts->id_token_ttl > 0 && opts->id_token_ttl < ID_TOKEN_TTL
	                      ? opts->id_token_ttl
	                      : ID_TOKEN_TTL;
	rc = origin_parts(p);
	if (rc)
		goto out;
	p->agent_url = strdup(opts->agent_url ? opts->agent_url : "http://127.0.0.1:8086");
	if (!p->agent_url) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	n = strlen(p->agent_url);
	while (n && p->agent_url[n - 1] == '/')
		p->agent_url[--n] = '\0';
	p->jwks = jwks_cache_new(p->public_url);
	if (!p->jwks) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	p->userinfo = oidc_cache_new(OIDC_CACHE_ENTRIES, OIDC_CACHE_BYTES);
	if (!p->userinfo) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = secrets_load(&p->secrets, p->store);
	for (int i = 0; !rc && i < ENV_COUNT; i++)
		rc = env_init(p, &p->envs[i], i, opts->issuers[i], opts);
	for (int i = 0; !rc && i < ENV_COUNT; i++)
		for (int j = 0; !rc && j < ENV_COUNT; j++)
			if (i != j && paths_overlap(p->envs[i].issuer_path, p->envs[j].issuer_path))
				rc = careid_error_set(CAREID_EINVALID,
				                      "the issuers of %s (%s) and %s (%s) overlap: "
				                      "requests could not tell them apart",
				                      env_names[i], p->envs[i].issuer, env_names[j],
				                      p->envs[j].issuer);
out:
	if (rc) {
		provider_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void provider_free(provider *p)
{
	if (!p)
		return;
	for (int i = 0; i < ENV_COUNT; i++) {
		struct env_state *e = &p->envs[i];

		free(e->issuer);
		free(e->issuer_path);
		free(e->cookie_session);
		keyring_free(e->keys);
		free(e->discovery);
	}
	explicit_bzero(&p->secrets, sizeof(p->secrets));
	jwks_cache_free(p->jwks);
	oidc_cache_free(p->userinfo);
	free(p->public_url);
	free(p->origin);
	free(p->rp_id);
	free(p->agent_url);
	free(p);
}

const char *provider_issuer(const provider *p, int env)
{
	return p->envs[env].issuer;
}

int provider_token_subject(provider *p, int env, const char *token, char **uid_out)
{
	static const char sql[] = "SELECT uid FROM tokens WHERE token_hash = $1 AND env = $2 AND "
	                          "kind = 'access' AND revoked_at IS NULL AND expires_at > $3";
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int rc;

	*uid_out = NULL;
	if (!token || !*token || strlen(token) > 100 || env < 0 || env >= ENV_COUNT)
		return careid_error_set(CAREID_EDENIED, "no valid access token");
	crypto_keyed_hash(hash, p->secrets.hash_key, token);
	rc = store_query(p->store, &st, sql, "tti", hash, env_names[env], clock_now());
	if (!rc) {
		rc = store_next(st);
		if (rc == 1)
			*uid_out = strdup(store_text(st, 0));
		rc = rc < 0     ? rc
		     : rc == 0  ? careid_error_set(CAREID_EDENIED, "no valid access token")
		     : *uid_out ? 0
		                : CAREID_ENOMEM;
	}
	store_done(st);
	return rc;
}

int provider_sweep(provider *p, int *ended_out)
{
	int64_t now = clock_now();
	int total = 0, rc = 0;

	for (int i = 0; !rc && i < ENV_COUNT; i++) {
		int n = 0;

		rc = sessions_expire(&n, p->store, p->envs[i].name, now,
		                     now - p->envs[i].session_idle);
		total += n;
	}
	if (ended_out)
		*ended_out = total;
	return rc;
}

const struct secrets *provider_secrets(const provider *p)
{
	return &p->secrets;
}

bool provider_secure_cookies(const provider *p)
{
	return p->secure;
}

static const struct route {
	const char *path;
	int (*fn)(struct oidc_req *r);
} routes[] = {
    {"/.well-known/openid-configuration", discovery_handle},
    {"/connect/jwk_uri", jwks_handle},
    {"/authorize", authorize_handle},
    {"/login", login_handle},
    {"/select-role", select_role_handle},
    {"/smartcard/removed", smartcard_removed_handle},
    {"/connect/endSession", endsession_handle},
    {"/account", account_handle},
    {"/access_token", token_handle},
    {"/userinfo", userinfo_handle},
    {"/token/revoke", revoke_handle},
    {"/introspect", introspect_handle},
};

int provider_handle(provider *p, struct http_request *req, struct http_response *res)
{
	for (int i = 0; i < ENV_COUNT; i++) {
		struct env_state *e = &p->envs[i];
		size_t n = strlen(e->issuer_path);
		struct oidc_req r = {p, e, req, res, req->arena, NULL};

		if (strncmp(req->path, e->issuer_path, n) != 0 || req->path[n] != '/')
			continue;
		r.endpoint = req->path + n;
		for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++)
			if (strcmp(r.endpoint, routes[k].path) == 0) {
				int rc = routes[k].fn(&r);

				return rc < 0 ? rc : 1;
			}
		return 0;
	}
	return 0;
}
