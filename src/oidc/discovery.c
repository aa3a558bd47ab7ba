/* /.well-known/openid-configuration (built once at start) and /connect/jwk_uri
 * (the keyring's current JWKS). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oidc/oidc_int.h"

const char *const oidc_scopes[] = {"openid",
                                   "profile",
                                   "email",
                                   "nhsperson",
                                   "associatedorgs",
                                   "organisationalmemberships",
                                   "professionalmemberships",
                                   "nationalrbacaccess",
                                   "selectedrole",
                                   NULL};

static const char *const claims[] = {"sub",
                                     "iss",
                                     "aud",
                                     "azp",
                                     "exp",
                                     "iat",
                                     "auth_time",
                                     "nonce",
                                     "acr",
                                     "amr",
                                     "sid",
                                     "at_hash",
                                     "id_assurance_level",
                                     "authentication_assurance_level",
                                     "name",
                                     "family_name",
                                     "given_name",
                                     "uid",
                                     "email",
                                     "nhsid_useruid",
                                     "title",
                                     "idassurancelevel",
                                     "initials",
                                     "middle_names",
                                     "display_name",
                                     "nhsid_user_orgs",
                                     "nhsid_org_memberships",
                                     "nhsid_professional_memberships",
                                     "nhsid_nrbac_roles",
                                     "selected_roleid",
                                     NULL};

static const char *const acrs[] = {
    "AAL3_ANY",       "AAL2_OR_AAL3_ANY", "AAL2_ANY",          "AAL1_USERPASS",
    "AAL3_IOS",       "AAL3_FIDO2",       "AAL3_N3_SMARTCARD", "AAL3_CIS2_SMARTCARD",
    "AAL3_SMARTCARD", "AAL2_TOTP",        "AAL2_NHSMAIL",      NULL};

static const char *const sign_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", NULL};
static const char *const assertion_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                             "ES256", "HS256", "HS384", "HS512", NULL};
static const char *const auth_methods[] = {"private_key_jwt", "client_secret_basic",
                                           "client_secret_post", "client_secret_jwt", NULL};

static json_t *strings(const char *const *list)
{
	json_t *a = json_array();

	for (; a && *list; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

static json_t *endpoint(const struct env_state *e, const char *path)
{
	size_t n = strlen(e->issuer) + strlen(path) + 1;
	char *s = malloc(n);
	json_t *j;

	if (!s)
		return NULL;
	snprintf(s, n, "%s%s", e->issuer, path);
	j = json_string(s);
	free(s);
	return j;
}

int discovery_build(provider *p, struct env_state *e)
{
	json_t *acr_list;
	json_t *d;

	(void)p;
	/* the classes something this environment offers can meet */
	acr_list = json_array();
	for (size_t i = 0; acr_list && acrs[i]; i++)
		if (acr_methods(acrs[i]) & e->offered)
			json_array_append_new(acr_list, json_string(acrs[i]));
	d = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "issuer", e->issuer,
	              "authorization_endpoint", endpoint(e, "/authorize"), "token_endpoint",
	              endpoint(e, "/access_token"), "userinfo_endpoint", endpoint(e, "/userinfo"),
	              "jwks_uri", endpoint(e, "/connect/jwk_uri"), "end_session_endpoint",
	              endpoint(e, "/connect/endSession"), "revocation_endpoint",
	              endpoint(e, "/token/revoke"), "introspection_endpoint",
	              endpoint(e, "/introspect"));
	if (!d || !acr_list) {
		json_decref(d);
		json_decref(acr_list);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	json_object_set_new(d, "scopes_supported", strings(oidc_scopes));
	json_object_set_new(d, "response_types_supported", json_pack("[s]", "code"));
	json_object_set_new(d, "response_modes_supported", json_pack("[s]", "query"));
	json_object_set_new(d, "grant_types_supported",
	                    json_pack("[s, s]", "authorization_code", "refresh_token"));
	json_object_set_new(d, "subject_types_supported", json_pack("[s]", "public"));
	json_object_set_new(d, "id_token_signing_alg_values_supported", strings(sign_algs));
	json_object_set_new(d, "userinfo_signing_alg_values_supported", strings(sign_algs));
	json_object_set_new(d, "token_endpoint_auth_methods_supported", strings(auth_methods));
	json_object_set_new(d, "token_endpoint_auth_signing_alg_values_supported",
	                    strings(assertion_algs));
	/* revocation and introspection authenticate clients as the token endpoint does */
	json_object_set_new(d, "revocation_endpoint_auth_methods_supported", strings(auth_methods));
	json_object_set_new(d, "introspection_endpoint_auth_methods_supported",
	                    strings(auth_methods));
	json_object_set_new(d, "backchannel_logout_supported", json_true());
	json_object_set_new(d, "backchannel_logout_session_supported", json_true());
	json_object_set_new(d, "frontchannel_logout_supported", json_false());
	json_object_set_new(d, "code_challenge_methods_supported", json_pack("[s]", "S256"));
	json_object_set_new(d, "claims_supported", strings(claims));
	json_object_set_new(d, "claim_types_supported", json_pack("[s]", "normal"));
	json_object_set_new(d, "claims_parameter_supported", json_true());
	json_object_set_new(d, "acr_values_supported", acr_list);
	json_object_set_new(d, "prompt_values_supported", json_pack("[s, s]", "none", "login"));
	json_object_set_new(d, "display_values_supported",
	                    json_pack("[s, s, s, s]", "page", "popup", "touch", "wap"));
	json_object_set_new(d, "ui_locales_supported", json_pack("[s]", "en-GB"));
	json_object_set_new(d, "claims_locales_supported", json_pack("[s]", "en-GB"));
	json_object_set_new(d, "request_parameter_supported", json_false());
	json_object_set_new(d, "request_uri_parameter_supported", json_false());
	json_object_set_new(d, "require_request_uri_registration", json_false());
	json_object_set_new(d, "authorization_response_iss_parameter_supported", json_true());
	e->discovery = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (!e->discovery)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

/* `cache_control`: how long caches may keep it. */
static int send_cached(struct oidc_req *r, const char *text, const char *cache_control)
{
	if (strcmp(r->req->method, "GET") != 0 && strcmp(r->req->method, "HEAD") != 0) {
		http_add_header(r->res, "Allow", "GET, HEAD");
		return oidc_error_json(r, 405, "invalid_request", "use GET");
	}
	if (http_add_header(r->res, "Cache-Control", cache_control) ||
	    http_add_header(r->res, "Access-Control-Allow-Origin", "*"))
		return CAREID_ENOMEM;
	return http_send(r->res, 200, "application/json", text, strlen(text));
}

int discovery_handle(struct oidc_req *r)
{
	r->res->route = "discovery";
	return send_cached(r, r->env->discovery, "public, max-age=300");
}

int jwks_handle(struct oidc_req *r)
{
	const struct keyset *ks = keyring_get(r->env->keys);
	int rc;

	r->res->route = "jwks";
	/* a rotated key signs at once: caches keep the JWKS for a minute only
	 * (relying parties also refetch it for an unknown kid) */
	rc = send_cached(r, ks->jwks_text, "public, max-age=60");
	keyset_release(ks);
	return rc;
}
