/*
 * {issuer}/connect/endSession: OpenID Connect RP-Initiated Logout 1.0.
 *
 * With a valid, current `id_token_hint` for this browser's session the
 * session ends at once; without one, or with a stale one (expired, or for a
 * session that is not this browser's), the person confirms on a page first,
 * so another site cannot sign them out. A hint that is not an ID token of
 * this issuer (forged, altered, another issuer's) is refused. The browser is
 * sent back to `post_logout_redirect_uri` only when it is registered for the
 * client (named by `client_id` or the hint's audience), with `state`.
 * Ending the session tells its clients by back-channel logout.
 */
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "oidc/oidc_int.h"
#include "oidc/sessions.h"

/* What the request asks, once checked. */
struct logout {
	const char *client_id; /* from the hint's aud, or a registered client_id; may be NULL */
	const char *redirect;  /* a registered post_logout_redirect_uri, or NULL */
	const char *state;
	const char *hint_sid; /* the hint's sid, or NULL */
	const char *hint_sub;
	bool hint_fresh; /* a hint that has not expired */
};

static int refuse(struct oidc_req *r, const char *why)
{
	return oidc_error_page(r, 400, "The sign-out request is not valid", why);
}

/* The hint's claims when it is an ID token this issuer signed (expired or not). */
static int read_hint(struct logout *lo, struct oidc_req *r, const char *hint)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256",
	                                   "PS384", "PS512", NULL};
	const struct keyset *ks = keyring_get(r->env->keys);
	json_t *claims = NULL, *aud;
	const char *iss, *sub;
	int rc;

	rc = jws_verify_jwks(&claims, hint, ks->jwks, algs);
	keyset_release(ks);
	if (rc)
		return CAREID_EDENIED;
	iss = json_string_value(json_object_get(claims, "iss"));
	sub = json_string_value(json_object_get(claims, "sub"));
	aud = json_object_get(claims, "aud");
	if (json_is_array(aud))
		aud = json_array_size(aud) == 1 ? json_array_get(aud, 0) : NULL;
	if (!iss || !sub || !json_is_string(aud) || strcmp(iss, r->env->issuer) != 0) {
		rc = CAREID_EDENIED;
		goto out;
	}
	lo->hint_sub = arena_strdup(r->a, sub);
	lo->client_id = arena_strdup(r->a, json_string_value(aud));
	if (json_string_value(json_object_get(claims, "sid")))
		lo->hint_sid =
		    arena_strdup(r->a, json_string_value(json_object_get(claims, "sid")));
	lo->hint_fresh = json_integer_value(json_object_get(claims, "exp")) > clock_now();
	rc = lo->hint_sub && lo->client_id ? 0 : CAREID_ENOMEM;
out:
	json_decref(claims);
	return rc;
}

/* Parses and checks the request: 0, or CAREID_EINVALID with `*why` (a
 * sentence for the error page), or another failure. */
static int parse(struct logout *lo, const char **why, struct oidc_req *r, const struct form *f)
{
	const char *hint = form_get(f, "id_token_hint"), *client_id = form_get(f, "client_id");
	const char *uri = form_get(f, "post_logout_redirect_uri"), *dup = form_first_duplicate(f);
	int rc;

	memset(lo, 0, sizeof(*lo));
	*why = NULL;
	if (dup) {
		*why = arena_printf(r->a, "The parameter %s is repeated.", dup);
		return CAREID_EINVALID;
	}
	for (size_t i = 0; i < f->n; i++)
		if (strlen(f->fields[i].value) > PARAM_MAX * 4) {
			*why = "A parameter is too long.";
			return CAREID_EINVALID;
		}
	if (hint && *hint) {
		rc = read_hint(lo, r, hint);
		if (rc == CAREID_EDENIED) {
			*why = "The id_token_hint is not an ID token from this service (it is "
			       "altered, or from another issuer). You have not been signed out.";
			return CAREID_EINVALID;
		}
		if (rc)
			return rc;
	}
	if (client_id && *client_id) {
		/* both given: they must name the same client (RP-Initiated Logout §2) */
		if (lo->client_id && strcmp(lo->client_id, client_id) != 0) {
			*why = "The client_id is not the client the id_token_hint was issued to.";
			return CAREID_EINVALID;
		}
		/* without a hint, only a client registered here is a client */
		if (!lo->client_id) {
			struct client *c = NULL;

			rc = client_get(&c, r->p->store, r->env->name, client_id);
			client_free(c);
			if (rc == CAREID_ENOTFOUND) {
				*why = "The client_id is not an application registered in this "
				       "environment.";
				return CAREID_EINVALID;
			}
			if (rc)
				return rc;
		}
		lo->client_id = client_id;
	}
	if (uri && *uri) {
		if (!lo->client_id ||
		    !client_post_logout_registered(r->p->store, r->env->name, lo->client_id, uri)) {
			*why =
			    "The post_logout_redirect_uri is not registered for this application, "
			    "so careid will not send you there. You have not been signed out.";
			return CAREID_EINVALID;
		}
		lo->redirect = uri;
	}
	lo->state = form_get(f, "state");
	return 0;
}

/* After the logout: back to the client with state, or a page. */
static int finish(struct oidc_req *r, const struct logout *lo, bool ended)
{
	if (lo->redirect) {
		const char *kv[2] = {"state", lo->state};
		char *loc = oidc_uri_with_params(r->a, lo->redirect, kv, lo->state ? 1 : 0);

		return loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
	}
	return oidc_render(r, 200, "logout",
	                   json_pack("{s:s, s:b}", "title", "You have signed out", "done", ended));
}

/* Ends this browser's session and deletes its cookie. `actor` is who asked:
 * the client whose current hint ended it at once, or the person who confirmed
 * on careid's page (whatever hint the request carried). */
static int end_current(struct oidc_req *r, const struct session *s, const struct logout *lo,
                       const char *actor, bool *ended)
{
	struct cookie_attrs gone = {.path = r->env->issuer_path, .max_age = -1};
	int one = 0, rc;

	*ended = false;
	rc = sessions_end_for(&one, NULL, r->p->store,
	                      &(struct session_end){.env = r->env->name,
	                                            .sid = s->sid,
	                                            .reason = SESSION_END_LOGOUT,
	                                            .actor = actor,
	                                            .client_id = lo->client_id});
	if (rc)
		return rc;
	*ended = one == 1;
	gone.secure = r->p->secure;
	return http_set_cookie(r->res, r->env->cookie_session, "", &gone);
}

static int confirm_page(struct oidc_req *r, const struct session *s, const struct logout *lo)
{
	const char *csrf = csrf_token(r, s->id_hash);
	struct client *c = NULL;
	json_t *ctx;

	if (!csrf)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	/* named only when a hint shows the client sent the person here */
	if (lo->hint_sid)
		client_get(&c, r->p->store, r->env->name, lo->client_id);
	ctx = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:b}", "title", "Sign out",
	                "action", arena_printf(r->a, "%s/connect/endSession", r->env->issuer_path),
	                "csrf", csrf, "client_id", lo->client_id, "client_name", c ? c->name : NULL,
	                "post_logout_redirect_uri", lo->redirect, "state", lo->state, "confirm",
	                true);
	client_free(c);
	return oidc_render(r, 200, "logout", ctx);
}

int endsession_handle(struct oidc_req *r)
{
	bool post = strcmp(r->req->method, "POST") == 0, ended = false;
	const struct form *f = post ? &r->req->form : &r->req->query;
	const char *why = NULL;
	struct logout lo;
	struct session s;
	int rc;

	r->res->route = "end_session";
	if (!post && strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	if ((post && (!r->req->has_form || r->req->form_error)) || (!post && r->req->query_error))
		return refuse(r, "The sign-out request could not be read.");
	rc = parse(&lo, &why, r, f);
	if (rc == CAREID_EINVALID && why)
		return refuse(r, why);
	if (rc)
		return rc;
	rc = session_current(&s, r);
	if (rc == CAREID_ENOTFOUND) /* nobody is signed in here: nothing to end */
		return finish(r, &lo, false);
	if (rc)
		return rc;
	/* the person confirmed on careid's own page */
	if (post && form_get(f, "confirm")) {
		if (!csrf_ok(r, s.id_hash, form_get(f, "csrf")))
			return oidc_error_page(
			    r, 403, "The request is not valid",
			    "The sign-out form was not sent from this browser's page.");
		rc = end_current(r, &s, &lo, s.uid, &ended);
		return rc ? rc : finish(r, &lo, ended);
	}
	/* a current hint for this very session: the client speaks for the person */
	if (lo.hint_fresh && lo.hint_sid && strcmp(lo.hint_sid, s.sid) == 0 &&
	    strcmp(lo.hint_sub, s.uid) == 0) {
		rc = end_current(r, &s, &lo, lo.client_id, &ended);
		return rc ? rc : finish(r, &lo, ended);
	}
	log_pack(LOG_INFO, "logout_confirm", "{s:s, s:s, s:b}", "request_id", r->req->request_id,
	         "env", r->env->name, "hint", lo.hint_sid != NULL);
	return confirm_page(r, &s, &lo);
}
