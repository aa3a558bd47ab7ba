/* The role-selection page: a user with several role profiles picks the one
 * this sign-in is for (the selectedrole scope). */
#include <string.h>

#include "audit/audit.h"
#include "core/error.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

static const char *pget(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

static int expired_page(struct oidc_req *r)
{
	return oidc_error_page(r, 400, "This sign-in has expired",
	                       "Go back to the service you were using and sign in again.");
}

/* The signed-in user of a transaction, checked against this browser's session. */
static int role_context(struct oidc_req *r, const char *txid, struct tx *t, struct session *s,
                        struct dir_user **u)
{
	int rc = tx_load(t, r, txid);

	if (rc)
		return rc;
	rc = session_current(s, r);
	if (rc)
		return rc;
	if (!t->uid || !t->session_hash || strcmp(t->session_hash, s->id_hash) != 0)
		return careid_error_set(CAREID_ENOTFOUND, "transaction not bound to this session");
	return directory_user_get(u, r->p->store, r->env->name, t->uid);
}

/* The part of an NRD role name people read: "Nurse Access Role" of
 * "\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\"". */
static const char *role_label(arena *a, const char *role_name)
{
	size_t n = strlen(role_name);
	const char *start;

	if (n < 2 || role_name[n - 1] != '"')
		return role_name;
	start = role_name + n - 1;
	while (start > role_name && start[-1] != '"')
		start--;
	if (start == role_name || start == role_name + n - 1)
		return role_name;
	return arena_strndup(a, start, (size_t)(role_name + n - 1 - start));
}

static int render_roles(struct oidc_req *r, int status, const struct tx *t,
                        const struct dir_user *u, const char *error)
{
	const char *csrf = csrf_token(r, t->id);
	json_t *roles = json_array();

	if (!csrf || !roles) {
		json_decref(roles);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < u->nroles; i++) {
		const struct dir_role *role = &u->roles[i];
		const char *label = role_label(r->a, role->role_name);

		json_array_append_new(
		    roles,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "id", role->person_roleid,
		              "role_name", label ? label : role->role_name, "role_code",
		              role->role_code, "org_code", role->org_code, "org_name",
		              role->org_name ? role->org_name : role->org_code, "first", i == 0));
	}
	return oidc_render(r, status, "select_role",
	                   json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s?}", "title",
	                             "Select your role", "action",
	                             arena_printf(r->a, "%s/select-role", r->env->issuer_path),
	                             "tx", t->id, "csrf", csrf, "display_name", u->display_name,
	                             "roles", roles, "error", error));
}

int select_role_finish(struct oidc_req *r, json_t *params, const struct session *s,
                       const char *roleid, const char *chosen)
{
	store *st = r->p->store;
	const char *subject = arena_printf(r->a, "user:%s", s->uid);
	/* sid: the session, which the token.issued of the code names when the
	 * client exchanges it (conformance evidence) */
	json_t *detail =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "env", r->env->name, "client_id",
	              pget(params, "client_id"), "role", roleid, "chosen", chosen, "sid", s->sid);
	int rc;

	if (!detail || !subject) {
		json_decref(detail);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = store_begin(st);
	if (rc)
		goto out;
	rc = audit_record(st, s->uid, "role.selected", subject, detail);
	if (!rc)
		rc = authorize_finish(r, params, s, roleid);
	rc = rc < 0 ? (store_rollback(st), rc) : store_commit(st);
out:
	json_decref(detail);
	return rc;
}

int select_role_handle(struct oidc_req *r)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	const struct form *f = post ? &r->req->form : &r->req->query;
	const char *chosen = NULL;
	struct dir_user *u = NULL;
	struct session s;
	struct tx t;
	int rc;

	r->res->route = "select_role";
	if (!post && strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	if ((post && (!r->req->has_form || r->req->form_error)) || form_first_duplicate(f))
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The role form could not be read.");
	rc = role_context(r, form_get(f, "tx"), &t, &s, &u);
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		goto out;
	if (!post) {
		rc = render_roles(r, 200, &t, u, NULL);
		goto out;
	}
	if (!csrf_ok(r, t.id, form_get(f, "csrf"))) {
		rc = oidc_error_page(r, 403, "The request is not valid",
		                     "The role form was not sent from this browser's page.");
		goto out;
	}
	for (size_t i = 0; i < u->nroles; i++)
		if (form_get(f, "role") &&
		    strcmp(form_get(f, "role"), u->roles[i].person_roleid) == 0)
			chosen = u->roles[i].person_roleid;
	if (!chosen) {
		rc = render_roles(r, 200, &t, u, "Select a role.");
		goto out;
	}
	rc = select_role_finish(r, t.params, &s, chosen, ROLE_CHOSEN_USER);
	if (!rc)
		rc = tx_delete(r, t.id);
out:
	dir_user_free(u);
	return rc;
}
