/*
 * {issuer}/account: the signed-in user's authenticators in that environment —
 * list, name, remove, and add an authenticator app or a WebAuthn credential
 * (security key, Windows Hello, passkey). Smartcards come from the
 * environment's certificate authority (careid card issue).
 *
 * Assurance is never gained from a weaker session than it grants:
 *   - adding needs a session at AAL2 or more, except in an environment that
 *     accepts passwords alone (mock), where a password session may set up a
 *     user's first authenticator (the user has none yet);
 *   - a security key counts as AAL3 only when it was registered from a
 *     session that proved an AAL3 method in the last RECENT_AAL3 seconds (or
 *     is that first authenticator in mock); otherwise it is kept as AAL2, so a
 *     phished AAL2 session cannot mint AAL3 credentials;
 *   - removing an authenticator needs a session at its level or above;
 *     smartcards are revoked by the registration authority (careid card
 *     revoke), not here.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "authn/challenge.h"
#include "authn/fido.h"
#include "authn/qr.h"
#include "authn/totp.h"
#include "authn/webauthn.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

#define NAME_MAX_LEN 100
#define RECENT_AAL3  600 /* seconds an AAL3 sign-in lets its session register AAL3 keys */

struct account {
	struct oidc_req *r;
	struct session s;
	struct dir_user *u;
	const char *csrf;
	bool may_add;
	bool first; /* mock: the user has no authenticator yet (a password bootstraps one) */
};

static const char *account_path(struct account *ac)
{
	return arena_printf(ac->r->a, "%s/account", ac->r->env->issuer_path);
}

static int audit(struct account *ac, const char *action, const char *id, const char *kind)
{
	json_t *detail =
	    json_pack("{s:s, s:s?, s:s}", "env", ac->r->env->name, "kind", kind, "sid", ac->s.sid);
	int rc;

	if (!detail)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_begin(ac->r->p->store);
	if (!rc)
		rc = audit_record(ac->r->p->store, ac->s.uid, action,
		                  arena_printf(ac->r->a, "authenticator:%s", id), detail);
	rc = rc ? (store_rollback(ac->r->p->store), rc) : store_commit(ac->r->p->store);
	json_decref(detail);
	return rc;
}

/* The WebAuthn creation options for this user, with a fresh challenge. */
static int creation_options(struct account *ac, char **out)
{
	struct oidc_req *r = ac->r;
	char challenge[CHALLENGE_MAX], handle[64];
	json_t *exclude = NULL, *opts;
	int rc;

	*out = NULL;
	rc = challenge_new(challenge, r->p->store, r->p->secrets.hash_key, r->env->name,
	                   CHALLENGE_WEBAUTHN_CREATE, ac->s.id_hash, ac->s.uid, clock_now());
	if (!rc)
		rc = crypto_b64url_encode(handle, sizeof(handle), ac->s.uid, strlen(ac->s.uid));
	if (!rc)
		rc = fido_credentials(&exclude, r->p->store, r->env->name, ac->s.uid);
	if (rc)
		return rc;
	opts = webauthn_creation_options(r->p->rp_id, "careid", handle, ac->s.uid,
	                                 ac->u->display_name, challenge, true, exclude);
	json_decref(exclude);
	if (!opts)
		return careid_error_last()->code ? careid_error_last()->code : CAREID_ENOMEM;
	*out = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

static int render(struct account *ac, int status, const char *error, const char *field,
                  const char *notice)
{
	struct oidc_req *r = ac->r;
	json_t *list = NULL, *ctx;
	char *options = NULL;
	int rc;

	rc = directory_authenticators(&list, r->p->store, r->env->name, ac->s.uid, false);
	if (!rc && ac->may_add)
		rc = creation_options(ac, &options);
	if (rc) {
		json_decref(list);
		return rc;
	}
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s?, s:s?, s:s?, s:b, s:s?, s:s}", "title",
	                "Your authenticators", "action", account_path(ac), "csrf", ac->csrf,
	                "display_name", ac->u->display_name, "has_authenticators",
	                json_array_size(list) > 0, "authenticators", list, "error", error,
	                "error_field", field, "notice", notice, "may_add", ac->may_add,
	                "webauthn_options", options, "script", "account.js");
	free(options);
	return oidc_render(r, status, "account", ctx);
}

static int render_totp(struct account *ac, const char *sealed, const char *secret,
                       const char *error)
{
	struct oidc_req *r = ac->r;
	char *uri = NULL, *svg = NULL;
	json_t *ctx;
	int rc;

	rc = totp_uri(&uri, arena_printf(r->a, "careid %s", r->env->name), ac->s.uid, secret);
	if (!rc)
		rc = qr_svg(&svg, uri);
	if (!rc) {
		const char *data = oidc_svg_data_uri(r->a, svg);

		ctx = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s}", "title",
		                "Set up an authenticator app", "action", account_path(ac), "csrf",
		                ac->csrf, "pending", sealed, "secret", secret, "uri", uri, "qr",
		                data ? data : "", "error", error, "error_field", "code");
		rc = oidc_render(r, 200, "account_totp", ctx);
	}
	free(uri);
	free(svg);
	return rc;
}

static void wipe_free(char *secret)
{
	if (secret)
		explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* A pending app set-up travels in the form, sealed and bound to the user. */
static int totp_start(struct account *ac)
{
	char *secret = NULL, *sealed = NULL, *plain = NULL;
	int rc = totp_secret_new(&secret);

	if (!rc && asprintf(&plain, "%s\n%s\n%s", ac->r->env->name, ac->s.uid, secret) < 0) {
		plain = NULL;
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = crypto_seal(&sealed, ac->r->p->secrets.seal_key, plain);
	if (!rc)
		rc = render_totp(ac, sealed, secret, NULL);
	wipe_free(plain);
	wipe_free(secret);
	free(sealed);
	return rc;
}

static int totp_finish(struct account *ac, const struct form *f)
{
	const char *sealed = form_get(f, "pending"), *code = form_get(f, "code");
	const char *name = form_get(f, "name");
	char *plain = NULL, *id = NULL, prefix[128];
	const char *secret = NULL;
	int64_t step;
	int rc;

	if (!sealed || crypto_open(&plain, ac->r->p->secrets.seal_key, sealed))
		return render(ac, 400, "The set-up could not be read. Start again.", "add-totp",
		              NULL);
	snprintf(prefix, sizeof(prefix), "%s\n%s\n", ac->r->env->name, ac->s.uid);
	if (strncmp(plain, prefix, strlen(prefix)) == 0)
		secret = plain + strlen(prefix);
	if (!secret) {
		wipe_free(plain);
		return render(ac, 400, "The set-up could not be read. Start again.", "add-totp",
		              NULL);
	}
	rc = totp_check(&step, secret, code ? code : "", clock_now());
	if (rc == CAREID_EINVALID || rc == CAREID_EDENIED) {
		rc = render_totp(
		    ac, sealed, secret,
		    rc == CAREID_EINVALID
		        ? "Enter the 6-digit code your app shows, digits only."
		        : "The code is not correct. Enter the code your app shows now.");
		goto out;
	}
	if (!rc)
		rc =
		    totp_enrol(&id, ac->r->p->store, ac->r->p->secrets.seal_key, ac->r->env->name,
		               ac->s.uid, name && *name ? name : "Authenticator app", secret, step);
	if (rc == CAREID_EINVALID) {
		rc =
		    render_totp(ac, sealed, secret, "Give the app a name of up to 100 characters.");
		goto out;
	}
	if (!rc)
		rc = audit(ac, "authenticator.added", id, "totp");
	if (!rc)
		rc = render(ac, 200, NULL, NULL, "Your authenticator app is set up.");
out:
	free(id);
	wipe_free(plain);
	return rc;
}

/* The session proved an AAL3 method recently enough to vouch for a new one. */
static bool aal3_session(const struct account *ac)
{
	return (ac->s.methods & AUTHN_AAL3_METHODS) && clock_now() - ac->s.auth_time <= RECENT_AAL3;
}

/* The authenticator `id` of this user from the list (borrowed), or NULL. */
static json_t *find_authenticator(json_t *list, const char *id)
{
	size_t i;
	json_t *a;

	json_array_foreach(list, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "id")), id) == 0)
			return a;
	}
	return NULL;
}

/* Removal: only from a session at the authenticator's level, never a card. */
static int remove_authenticator(struct account *ac, const char *id)
{
	json_t *list = NULL, *a;
	const char *kind;
	int level, rc;

	rc = directory_authenticators(&list, ac->r->p->store, ac->r->env->name, ac->s.uid, false);
	if (rc)
		return rc;
	a = find_authenticator(list, id);
	kind = a ? json_string_value(json_object_get(a, "kind")) : NULL;
	level = a ? (int)json_integer_value(json_object_get(a, "level")) : 0;
	if (!a)
		rc = render(ac, 404, "There is no such authenticator.", "authenticators", NULL);
	else if (strcmp(kind, "smartcard") == 0)
		rc = render(ac, 403,
		            "Smartcards are revoked by your registration authority. Ask them to "
		            "revoke a lost or broken card.",
		            "authenticators", NULL);
	else if (ac->s.aal < level)
		rc = render(ac, 403,
		            level == 3
		                ? "To remove a very high (AAL3) assurance authenticator, sign "
		                  "in with one first."
		                : "To remove this authenticator, sign in with an "
		                  "authenticator app, a security key or your smartcard first.",
		            "authenticators", NULL);
	else {
		rc = directory_authenticator_revoke(NULL, ac->r->p->store, ac->r->env->name,
		                                    ac->s.uid, id);
		if (!rc)
			rc = audit(ac, "authenticator.removed", id, kind);
		if (!rc)
			rc = render(ac, 200, NULL, NULL, "The authenticator was removed.");
	}
	json_decref(list);
	return rc;
}

static int webauthn_add(struct account *ac, const struct form *f)
{
	struct oidc_req *r = ac->r;
	const char *challenge = form_get(f, "challenge"), *name = form_get(f, "name");
	struct webauthn_credential c = {0};
	struct webauthn_expect e = {.rp_id = r->p->rp_id,
	                            .origin = r->p->origin,
	                            .challenge = challenge,
	                            .require_uv = true};
	char *uid = NULL, *id = NULL, *msg = NULL;
	unsigned method = 0;
	int rc;

	if (!name || !*name)
		name = "Security key";
	if (strlen(name) > NAME_MAX_LEN)
		return render(ac, 200, "Give the key a name of up to 100 characters.", "key-name",
		              NULL);
	rc = challenge_use(&uid, r->p->store, r->p->secrets.hash_key, r->env->name,
	                   CHALLENGE_WEBAUTHN_CREATE, ac->s.id_hash, challenge, clock_now());
	if (rc == CAREID_EUSED || rc == CAREID_ENOTFOUND)
		return render(
		    ac, 200,
		    "This registration attempt has expired or was already used. Try again.",
		    "add-key", NULL);
	if (!rc && (!uid || strcmp(uid, ac->s.uid) != 0))
		rc = careid_error_set(CAREID_EDENIED, "the challenge belongs to another user");
	if (!rc)
		rc = webauthn_register(&c, &e,
		                       form_get(f, "credential") ? form_get(f, "credential") : "");
	if (rc == CAREID_EDENIED || rc == CAREID_EINVALID || rc == CAREID_EUNSUPPORTED ||
	    rc == CAREID_ETOOBIG) {
		if (asprintf(&msg, "The security key could not be registered: %s.",
		             careid_error_last()->message) < 0)
			msg = NULL;
		rc = msg ? render(ac, 200, msg, "add-key", NULL) : CAREID_ENOMEM;
		goto out;
	}
	if (!rc)
		rc = fido_save(&id, &method, r->p->store, r->env->name, ac->s.uid, name, &c,
		               aal3_session(ac) || ac->first);
	if (rc == CAREID_EEXISTS) {
		rc = render(ac, 200, "This security key is already registered.", "add-key", NULL);
		goto out;
	}
	if (!rc)
		rc = audit(ac, "authenticator.added", id, "webauthn");
	if (!rc)
		rc = render(ac, 200, NULL, NULL,
		            c.backup_eligible
		                ? "Your passkey is registered. It is synced between devices, so it "
		                  "gives high (AAL2) assurance."
		            : method == AUTHN_FIDO2
		                ? "Your security key is registered. It gives very high (AAL3) "
		                  "assurance."
		                : "Your security key is registered for high (AAL2) assurance. To "
		                  "register one for very high (AAL3) assurance, sign in with your "
		                  "smartcard or another AAL3 security key first, then register it "
		                  "within 10 minutes.");
out:
	free(uid);
	free(id);
	free(msg);
	webauthn_credential_release(&c);
	return rc;
}

static int post(struct account *ac)
{
	const struct form *f = &ac->r->req->form;
	const char *action = form_get(f, "action"), *id = form_get(f, "id");
	int rc;

	if (!ac->r->req->has_form || ac->r->req->form_error || form_first_duplicate(f) || !action)
		return oidc_error_page(ac->r, 400, "The request is not valid",
		                       "The form could not be read.");
	if (!csrf_ok(ac->r, ac->s.id_hash, form_get(f, "csrf")))
		return oidc_error_page(ac->r, 403, "The request is not valid",
		                       "The form was not sent from this browser's page.");
	if (strcmp(action, "remove") == 0 && id)
		return remove_authenticator(ac, id);
	if (strcmp(action, "rename") == 0 && id) {
		rc =
		    directory_authenticator_rename(ac->r->p->store, ac->r->env->name, ac->s.uid, id,
		                                   form_get(f, "name") ? form_get(f, "name") : "");
		if (rc == CAREID_ENOTFOUND)
			return render(ac, 404, "There is no such authenticator.", "authenticators",
			              NULL);
		if (rc == CAREID_EINVALID)
			return render(ac, 200,
			              "Give the authenticator a name of 1 to 100 characters.",
			              "authenticators", NULL);
		if (!rc)
			rc = audit(ac, "authenticator.renamed", id, NULL);
		return rc ? rc : render(ac, 200, NULL, NULL, "The authenticator was renamed.");
	}
	if (!ac->may_add)
		return render(ac, 403,
		              "Sign in with an authenticator app, a security key or your smartcard "
		              "before adding another way of signing in.",
		              "authenticators", NULL);
	if (strcmp(action, "totp_start") == 0)
		return totp_start(ac);
	if (strcmp(action, "totp_finish") == 0)
		return totp_finish(ac, f);
	if (strcmp(action, "webauthn_add") == 0)
		return webauthn_add(ac, f);
	return oidc_error_page(ac->r, 400, "The request is not valid", "Unknown action.");
}

int account_handle(struct oidc_req *r)
{
	struct account ac = {.r = r};
	bool is_post = strcmp(r->req->method, "POST") == 0;
	int rc;

	r->res->route = "account";
	if (!is_post && strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	rc = session_current(&ac.s, r);
	if (rc == CAREID_ENOTFOUND)
		return oidc_render(
		    r, 200, "error",
		    json_pack("{s:s, s:s}", "title", "You are not signed in", "message",
		              arena_printf(r->a,
		                           "Sign in to %s through a service that uses it (for the "
		                           "mock environment, the demo at /demo/), then come back "
		                           "to this page to manage your authenticators.",
		                           r->env->name)));
	if (rc)
		return rc;
	rc = directory_user_get(&ac.u, r->p->store, r->env->name, ac.s.uid);
	if (rc)
		return rc;
	ac.csrf = csrf_token(r, ac.s.id_hash);
	if (r->env->offered & AUTHN_PWD) {
		int count = 0;

		rc = directory_authenticator_count(&count, r->p->store, r->env->name, ac.s.uid,
		                                   NULL);
		if (rc) {
			dir_user_free(ac.u);
			return rc;
		}
		ac.first = count == 0;
	}
	ac.may_add = ac.s.aal >= 2 || ac.first;
	if (!ac.csrf)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	else
		rc = is_post ? post(&ac) : render(&ac, 200, NULL, NULL, NULL);
	dir_user_free(ac.u);
	return rc;
}
