/* The claims of ID tokens and userinfo, by scope (CIS2-PROFILE.md). */
#include <ctype.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

static void set_str(json_t *o, const char *name, const char *value)
{
	if (value)
		json_object_set_new(o, name, json_string(value));
}

/* "JRS" for "John Robert Smith": the initials of given and middle names. */
static json_t *initials(const struct dir_user *u)
{
	char out[32];
	size_t n = 0;
	const char *parts[] = {u->given_name, u->middle_names};

	for (size_t i = 0; i < 2; i++) {
		bool start = true;

		for (const char *p = parts[i]; p && *p && n + 1 < sizeof(out); p++) {
			if (start && isalpha((unsigned char)*p))
				out[n++] = (char)toupper((unsigned char)*p);
			start = *p == ' ' || *p == '-';
		}
	}
	out[n] = '\0';
	return json_string(out);
}

static char *level(arena *a, int aal)
{
	return arena_printf(a, "%d", aal);
}

int claims_id_token(json_t **out, struct oidc_req *r, const struct grant *g,
                    const char *access_token, const char *alg)
{
	char at_hash[100];
	int64_t now = clock_now();
	json_t *c;
	int ial, rc;

	*out = NULL;
	/* the only thing the ID token needs of the user: no roles read */
	rc = directory_user_ial(&ial, r->p->store, r->env->name, g->uid);
	if (rc)
		return rc;
	rc = crypto_left_hash(at_hash, sizeof(at_hash), alg, access_token, strlen(access_token));
	if (rc)
		return rc;
	c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:O, s:s, s:s, s:s, s:s}", "iss",
	              r->env->issuer, "sub", g->uid, "aud", g->client_id, "azp", g->client_id,
	              "exp", (json_int_t)(now + r->p->id_token_ttl), "iat", (json_int_t)now,
	              "auth_time", (json_int_t)g->auth_time, "acr", g->acr, "amr", g->amr, "sid",
	              g->sid, "at_hash", at_hash, "id_assurance_level", level(r->a, ial),
	              "authentication_assurance_level", level(r->a, g->aal));
	if (!c)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	set_str(c, "nonce", g->nonce);
	set_str(c, "selected_roleid", g->selected_roleid);
	*out = c;
	return 0;
}

/* True when the "claims" request parameter asks for `name` in userinfo. */
static bool requested(const struct grant *g, const char *member, const char *name)
{
	return json_object_get(json_object_get(g->claims, member), name) != NULL;
}

int claims_userinfo(json_t **out, struct oidc_req *r, const struct grant *g)
{
	struct dir_user *u = NULL;
	const char *scope = g->scope;
	json_t *c;
	int rc;

	*out = NULL;
	rc = directory_user_get(&u, r->p->store, r->env->name, g->uid);
	if (rc)
		return rc;
	c = json_pack("{s:s}", "sub", u->uid);
	if (!c) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (scope_has(scope, "profile") || requested(g, "userinfo", "name")) {
		set_str(c, "name", u->display_name);
		set_str(c, "family_name", u->family_name);
		set_str(c, "given_name", u->given_name);
		set_str(c, "uid", u->uid);
	}
	if (scope_has(scope, "email") || requested(g, "userinfo", "email"))
		set_str(c, "email", u->email);
	if (scope_has(scope, "nhsperson")) {
		set_str(c, "nhsid_useruid", u->uid);
		set_str(c, "title", u->title);
		json_object_set_new(c, "idassurancelevel",
		                    json_string(level(r->a, u->id_assurance_level)));
		json_object_set_new(c, "initials", initials(u));
		set_str(c, "middle_names", u->middle_names);
		set_str(c, "display_name", u->display_name);
	}
	if (scope_has(scope, "associatedorgs"))
		json_object_set_new(c, "nhsid_user_orgs", dir_user_orgs_json(u));
	if (scope_has(scope, "organisationalmemberships"))
		json_object_set_new(c, "nhsid_org_memberships", dir_user_orgs_json(u));
	if (scope_has(scope, "professionalmemberships"))
		json_object_set_new(c, "nhsid_professional_memberships", json_array());
	if (scope_has(scope, "nationalrbacaccess")) {
		json_t *roles = json_array();

		for (size_t i = 0; roles && i < u->nroles; i++)
			json_array_append_new(roles, dir_role_nrbac_json(&u->roles[i]));
		json_object_set_new(c, "nhsid_nrbac_roles", roles);
	}
	if (scope_has(scope, "selectedrole"))
		set_str(c, "selected_roleid", g->selected_roleid);
	*out = c;
out:
	dir_user_free(u);
	return rc;
}
