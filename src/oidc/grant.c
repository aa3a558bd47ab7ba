/* Grants: what a sign-in produced, carried by codes and tokens as JSON. */
#include <string.h>

#include "core/error.h"
#include "oidc/oidc_int.h"

bool scope_has(const char *scope, const char *name)
{
	size_t n = strlen(name);

	while (scope && *scope) {
		const char *end = strchr(scope, ' ');
		size_t len = end ? (size_t)(end - scope) : strlen(scope);

		if (len == n && strncmp(scope, name, n) == 0)
			return true;
		scope = end ? end + 1 : NULL;
	}
	return false;
}

json_t *grant_to_json(const struct grant *g)
{
	return json_pack("{s:s, s:s, s:s, s:s*, s:s, s:s, s:O, s:i, s:I, s:s*, s:O*}", "uid",
	                 g->uid, "client_id", g->client_id, "scope", g->scope, "nonce", g->nonce,
	                 "sid", g->sid, "acr", g->acr, "amr", g->amr, "aal", g->aal, "auth_time",
	                 (json_int_t)g->auth_time, "selected_roleid", g->selected_roleid, "claims",
	                 g->claims);
}

static void decref(void *p)
{
	json_decref(p);
}

int grant_from_text(struct grant *out, arena *a, const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	json_int_t auth_time = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!j)
		return careid_error_set(CAREID_ESTORE, "grant is not JSON: %s", jerr.text);
	rc = arena_defer(a, decref, j);
	if (rc)
		return rc;
	if (json_unpack(j, "{s:s, s:s, s:s, s?s, s:s, s:s, s:o, s:i, s:I, s?s, s?o}", "uid",
	                &out->uid, "client_id", &out->client_id, "scope", &out->scope, "nonce",
	                &out->nonce, "sid", &out->sid, "acr", &out->acr, "amr", &out->amr, "aal",
	                &out->aal, "auth_time", &auth_time, "selected_roleid",
	                &out->selected_roleid, "claims", &out->claims))
		return careid_error_set(CAREID_ESTORE, "grant is incomplete");
	out->auth_time = auth_time;
	out->json = j;
	return 0;
}
