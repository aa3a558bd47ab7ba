/* The portal: sign-in through the portal environment, portal sessions,
 * routing, and the helpers every page and API answer shares. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "core/workdays.h"
#include "crypto/random.h"
#include "onboarding/onboarding_int.h"

int ob_page(struct ob_req *r, int status, const char *template_name, json_t *ctx)
{
	struct buf b;
	int rc;

	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	json_object_set_new(ctx, "env", json_string("portal"));
	if (r->uid) {
		json_object_set_new(ctx, "me",
		                    json_pack("{s:s, s:s?, s:b}", "name", r->name, "email",
		                              r->email, "reviewer", r->reviewer));
		json_object_set_new(ctx, "csrf", json_string(r->csrf ? r->csrf : ""));
	}
	buf_init(&b, 1 << 20);
	rc = templates_render(r->o->t, template_name, ctx, &b);
	json_decref(ctx);
	if (!rc)
		rc = http_send_page(r->res, status, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

int ob_message(struct ob_req *r, int status, const char *title, const char *message)
{
	return ob_page(r, status, "onboarding_message",
	               json_pack("{s:s, s:s}", "title", title, "message", message));
}

int ob_json(struct ob_req *r, int status, json_t *body)
{
	if (!body)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (http_add_header(r->res, "Cache-Control", "no-store")) {
		json_decref(body);
		return CAREID_ENOMEM;
	}
	return http_send_json(r->res, status, body);
}

int ob_error(struct ob_req *r, int status, const char *code, const char *message)
{
	if (r->api)
		return ob_json(r, status,
		               json_pack("{s:s, s:s}", "error", code, "message", message));
	return ob_message(r, status, status == 404 ? "Page not found" : "There is a problem",
	                  message);
}

bool ob_csrf_ok(struct ob_req *r)
{
	const char *given;

	if (r->bearer)
		return true;
	given = r->api ? http_header(r->req, "X-CSRF-Token") : form_get(&r->req->form, "csrf");
	return r->csrf && given && crypto_streq(r->csrf, given);
}

int ob_require_account(struct ob_req *r)
{
	char *loc;

	if (r->uid && r->verified)
		return 0;
	if (r->api)
		return ob_error(r, 401, "unauthenticated",
		                "Sign in to the portal, or send a portal access token.")
		           ?: 1;
	if (r->uid)
		return ob_message(r, 403, "Verify your e-mail address",
		                  "Open the link in the e-mail we sent you, then sign in again.")
		           ?: 1;
	loc =
	    arena_printf(r->a, "/onboarding/signin?return_to=%s", form_encode(r->a, r->req->path));
	return (loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM) ?: 1;
}

json_t *ob_json_body(struct ob_req *r, int *rc_out)
{
	const char *type = http_header(r->req, "Content-Type");
	json_error_t jerr;
	json_t *j;

	*rc_out = 0;
	if (!type || strncasecmp(type, "application/json", 16) != 0) {
		*rc_out = ob_error(r, 415, "unsupported_media_type", "Send application/json.");
		return NULL;
	}
	j = json_loadb(r->req->body, r->req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		*rc_out = ob_error(r, 400, "invalid_json",
		                   "The body must be a JSON object (no repeated members).");
		return NULL;
	}
	return j;
}

char *ob_random_id(struct ob_req *r)
{
	char id[40];

	if (crypto_random_token(id, sizeof(id), 18))
		return NULL;
	return arena_strdup(r->a, id);
}

/* The portal session named by the cookie, or a bearer token of the portal
 * environment; fills r->uid and the account. */
static int authenticate(struct ob_req *r)
{
	static const char sql[] = "SELECT uid, csrf FROM onboarding_sessions WHERE id_hash = $1 "
	                          "AND expires_at > $2";
	const char *cookie = http_cookie(r->req, SESSION_COOKIE);
	const char *authz = http_header(r->req, "Authorization");
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	const char *uid = NULL;
	int rc;

	if (r->api && authz && strncasecmp(authz, "Bearer ", 7) == 0) {
		char *sub = NULL;

		rc = provider_token_subject(r->o->p, ENV_PORTAL, authz + 7, &sub);
		if (rc == CAREID_EDENIED)
			return 0;
		if (rc)
			return rc;
		uid = arena_strdup(r->a, sub);
		free(sub);
		r->bearer = true;
		return uid ? accounts_load(r, uid) : CAREID_ENOMEM;
	}
	if (!cookie || strlen(cookie) > 100)
		return 0;
	crypto_keyed_hash(hash, r->o->sec->hash_key, cookie);
	rc = store_query(r->o->s, &st, sql, "ti", hash, clock_now());
	if (!rc && (rc = store_next(st)) == 1) {
		uid = arena_strdup(r->a, store_text(st, 0));
		r->csrf = arena_strdup(r->a, store_text(st, 1));
		rc = uid && r->csrf ? 0 : CAREID_ENOMEM;
	}
	store_done(st);
	if (rc < 0)
		return rc;
	return uid ? accounts_load(r, uid) : 0;
}

static int start_session(struct ob_req *r, const char *uid, const char *return_to)
{
	static const char sql[] = "INSERT INTO onboarding_sessions (id_hash, uid, csrf, "
	                          "created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
	struct cookie_attrs attrs = {
	    .path = "/", .max_age = PORTAL_SESSION_TTL, .secure = r->o->secure, .same_site = "Lax"};
	char token[64], csrf[64], hash[CRYPTO_HASH_HEX];
	int64_t now = clock_now();
	int rc;

	if (crypto_random_token(token, sizeof(token), 32) ||
	    crypto_random_token(csrf, sizeof(csrf), 24))
		return CAREID_ECRYPTO;
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_exec(r->o->s, sql, "tttii", hash, uid, csrf, now, now + PORTAL_SESSION_TTL);
	if (rc < 0)
		return rc;
	rc = http_set_cookie(r->res, SESSION_COOKIE, token, &attrs);
	if (!rc)
		rc = http_redirect(r->res, 303, return_to ? return_to : "/onboarding/");
	return rc;
}

static int callback(struct ob_req *r)
{
	struct rp_result res;
	const char *uid;
	int rc = rp_callback(r->o->rp, r->req, r->res, &res);

	if (rc)
		return rc;
	if (res.error) {
		rc = ob_message(r, 400, "Sign-in failed",
		                res.error_detail ? res.error_detail : res.error);
		goto out;
	}
	uid = json_string_value(json_object_get(res.claims, "sub"));
	rc = uid ? accounts_load(r, uid) : CAREID_EINVALID;
	if (rc == CAREID_ENOTFOUND || (!rc && !r->uid)) {
		rc = ob_message(r, 403, "No developer account",
		                "This identity has no onboarding account. Create one first.");
		goto out;
	}
	if (rc)
		goto out;
	if (!r->verified) {
		rc = ob_message(r, 403, "Verify your e-mail address",
		                "Open the link in the e-mail we sent you, then sign in again.");
		goto out;
	}
	log_pack(LOG_INFO, "portal_signin", "{s:s, s:s}", "request_id", r->req->request_id, "uid",
	         uid);
	rc = start_session(r, uid, res.return_to);
out:
	rp_result_release(&res);
	return rc;
}

static int signout(struct ob_req *r)
{
	static const char sql[] = "DELETE FROM onboarding_sessions WHERE id_hash = $1";
	const char *cookie = http_cookie(r->req, SESSION_COOKIE);
	struct cookie_attrs clear = {.path = "/", .max_age = -1, .secure = r->o->secure};
	char hash[CRYPTO_HASH_HEX];
	int rc;

	if (strcmp(r->req->method, "POST") != 0 || !ob_csrf_ok(r))
		return ob_error(r, 400, "bad_request", "Sign out with the button on the page.");
	if (cookie && strlen(cookie) <= 100) {
		crypto_keyed_hash(hash, r->o->sec->hash_key, cookie);
		rc = store_exec(r->o->s, sql, "t", hash);
		if (rc < 0)
			return rc;
	}
	rc = http_set_cookie(r->res, SESSION_COOKIE, "", &clear);
	return rc ? rc : http_redirect(r->res, 303, "/onboarding/");
}

static int home(struct ob_req *r)
{
	json_t *ctx = json_pack("{s:s}", "title", "CIS2 onboarding");

	if (ctx && r->uid && r->verified)
		json_object_set_new(ctx, "saq", saq_status(r, r->uid));
	return ob_page(r, 200, "onboarding_home", ctx);
}

static int route_page(struct ob_req *r)
{
	const char *p = r->path;

	if (strcmp(p, "") == 0)
		return http_redirect(r->res, 302, "/onboarding/");
	if (strcmp(p, "/") == 0)
		return home(r);
	if (strcmp(p, "/signin") == 0)
		return rp_login(r->o->rp, r->req, r->res, form_get(&r->req->query, "return_to"),
		                NULL);
	if (strcmp(p, "/callback") == 0)
		return callback(r);
	if (strcmp(p, "/signout") == 0)
		return signout(r);
	if (strcmp(p, "/unsubscribe") == 0)
		return notify_handle_unsubscribe(r);
	if (strcmp(p, "/register") == 0 || strcmp(p, "/verify") == 0)
		return accounts_handle(r);
	if (strcmp(p, "/saq") == 0 || strncmp(p, "/saq/", 5) == 0)
		return saq_handle(r);
	if (strcmp(p, "/review") == 0 || strncmp(p, "/review/", 8) == 0)
		return reviews_handle(r);
	if (strcmp(p, "/organisation") == 0 || strcmp(p, "/team") == 0 || strcmp(p, "/invite") == 0)
		return orgs_handle(r);
	if (strcmp(p, "/products") == 0 || strncmp(p, "/products/", 10) == 0)
		return products_handle(r);
	if (strcmp(p, "/mock-clients") == 0)
		return mockclients_handle(r);
	if (strcmp(p, "/updates") == 0)
		return notify_updates_handle(r);
	if (strcmp(p, "/cis2") == 0 || strncmp(p, "/cis2/", 6) == 0)
		return overview_handle(r);
	return ob_error(r, 404, "not_found", "There is no such page.");
}

static int route_api(struct ob_req *r)
{
	const char *p = r->path;

	if (strcmp(p, "/accounts") == 0)
		return accounts_register_api(r);
	if (strcmp(p, "/me") == 0) {
		int rc = ob_require_account(r);

		if (rc)
			return rc > 0 ? 0 : rc;
		return ob_json(r, 200,
		               json_pack("{s:s, s:s, s:s, s:b, s:s?}", "uid", r->uid, "name",
		                         r->name, "email", r->email, "reviewer", r->reviewer,
		                         "csrf_token", r->csrf));
	}
	if (strncmp(p, "/saq", 4) == 0 || strncmp(p, "/questionnaires/", 16) == 0)
		return saq_api(r);
	if (strncmp(p, "/reviews", 8) == 0)
		return reviews_api(r);
	if (strcmp(p, "/organisation") == 0 || strcmp(p, "/team") == 0 ||
	    strncmp(p, "/invitations", 12) == 0)
		return orgs_api(r);
	if (strcmp(p, "/products") == 0 || strncmp(p, "/products/", 10) == 0)
		return products_api(r);
	if (strcmp(p, "/mock-clients") == 0)
		return mockclients_api(r);
	if (strcmp(p, "/updates") == 0)
		return notify_updates_api(r);
	if (strncmp(p, "/cis2/", 6) == 0)
		return overview_api(r);
	return ob_error(r, 404, "not_found", "There is no such API resource.");
}

int onboarding_handle(onboarding *o, struct http_request *req, struct http_response *res)
{
	struct ob_req r = {.o = o, .req = req, .res = res, .a = req->arena};
	int rc;

	if (strncmp(req->path, "/onboarding", 11) == 0 &&
	    (req->path[11] == '\0' || req->path[11] == '/')) {
		r.path = req->path + 11;
		res->route = "onboarding";
	} else if (strncmp(req->path, "/api/v1/", 8) == 0) {
		r.path = req->path + 7;
		r.api = true;
		res->route = "api";
	} else {
		return 0;
	}
	if (req->query_error || (req->has_form && req->form_error))
		rc = ob_error(&r, 400, "bad_request", "The request could not be read.");
	else if (!(rc = authenticate(&r)))
		rc = r.api ? route_api(&r) : route_page(&r);
	return rc < 0 ? rc : 1;
}

int onboarding_new(onboarding **out, const struct onboarding_opts *opts)
{
	onboarding *o = calloc(1, sizeof(*o));
	struct rp_opts ro = {.env = ENV_PORTAL,
	                     .name = "careid onboarding portal",
	                     .scope = "openid profile email",
	                     .cookie = "careid_portal_signin",
	                     .cookie_path = "/onboarding/"};
	char *redirect = NULL;
	int rc;

	*out = NULL;
	if (!o)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	o->p = opts->provider;
	o->s = opts->store;
	o->t = opts->templates;
	o->sec = provider_secrets(opts->provider);
	o->secure = provider_secure_cookies(opts->provider);
	o->public_url = strdup(opts->public_url);
	if (!o->public_url || asprintf(&redirect, "%s/onboarding/callback", opts->public_url) < 0) {
		redirect = NULL;
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	ro.redirect_uri = redirect;
	if (opts->review_date) {
		struct ymd d;

		if (workdays_date_parse(&d, opts->review_date)) {
			rc = careid_error_set(CAREID_EINVALID, "--review-date must be YYYY-MM-DD");
			goto out;
		}
		snprintf(o->today, sizeof(o->today), "%s", opts->review_date);
	}
	rc = rp_new(&o->rp, o->p, o->s, &ro);
	if (!rc)
		rc = onboarding_load_data(o, opts->etc_dir ? opts->etc_dir : "etc");
out:
	free(redirect);
	if (rc) {
		onboarding_free(o);
		return rc;
	}
	*out = o;
	return 0;
}
