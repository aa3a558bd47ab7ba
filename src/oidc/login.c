/*
 * The sign-in page and its steps. The page offers the authenticators the
 * request's assurance class accepts (acr_values, the client's default, the
 * environment's); each form posts `method` and its fields, and the
 * authenticator of that name (authn/) verifies them. Failed attempts are
 * throttled and every attempt is in the audit trail.
 */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "authn/authn.h"
#include "authn/challenge.h"
#include "authn/qr.h"
#include "authn/throttle.h"
#include "authn/totp.h"
#include "authn/webauthn.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "directory/directory.h"
#include "oidc/oidc_int.h"

/* What a sign-in page shows, besides the transaction. */
struct page {
	const char *username;
	const char *error;
	const char *method; /* the form the error is about (NULL: the password form) */
	int status;
	int64_t retry_after; /* throttled: seconds */
};

static const char *pget(const json_t *params, const char *name)
{
	return json_string_value(json_object_get(params, name));
}

static void wipe_free(char *secret)
{
	if (secret)
		explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* The secret of a first authenticator app being set up in this transaction,
 * sealed with the environment and the user whose password was given: it is
 * worth nothing to anyone else (malloc'd, wipe_free() it). */
static int pending_secret(char **out, struct oidc_req *r, const struct tx *t)
{
	const char *sealed = pget(t->params, "totp_pending");
	char *plain = NULL, *prefix;
	int rc;

	*out = NULL;
	if (!sealed || !t->uid)
		return careid_error_set(CAREID_ENOTFOUND, "no authenticator app is being set up");
	rc = crypto_open(&plain, r->p->secrets.seal_key, sealed);
	if (rc)
		return rc;
	prefix = arena_printf(r->a, "%s\n%s\n", r->env->name, t->uid);
	if (prefix && strncmp(plain, prefix, strlen(prefix)) == 0)
		*out = strdup(plain + strlen(prefix));
	rc = *out     ? 0
	     : prefix ? careid_error_set(CAREID_ENOTFOUND, "no authenticator app is being set up")
	              : CAREID_ENOMEM;
	explicit_bzero(plain, strlen(plain));
	free(plain);
	return rc;
}

static int expired_page(struct oidc_req *r)
{
	return oidc_error_page(r, 400, "This sign-in has expired",
	                       "Go back to the service you were using and sign in again.");
}

/* The methods this transaction's request accepts in this environment. */
static unsigned accepted(struct oidc_req *r, const struct tx *t)
{
	return acr_accepted(pget(t->params, "acr_values"), pget(t->params, "default_acr"),
	                    r->env->default_acr, r->env->offered);
}

/* A sentence on what the service needs, for the top of the page. */
static const char *requirement(unsigned m)
{
	if (m & AUTHN_PWD)
		return NULL;
	if (!(m & ~(unsigned)AUTHN_SMARTCARD))
		return "This service needs you to sign in with your smartcard.";
	if (!(m & ~(unsigned)AUTHN_FIDO2))
		return "This service needs you to sign in with a security key or Windows Hello.";
	if (!(m & ~(unsigned)AUTHN_TOTP))
		return "This service needs your password and a code from your authenticator app.";
	if (!(m & AUTHN_AAL2_METHODS))
		return "This service needs a very high level of assurance: sign in with a security "
		       "key, Windows Hello or your smartcard.";
	return NULL;
}

/* The WebAuthn part of the page: a fresh challenge and the request options. */
static int webauthn_section(json_t *ctx, struct oidc_req *r, const struct tx *t, unsigned m)
{
	char challenge[CHALLENGE_MAX];
	json_t *opts;
	char *text;
	int rc;

	rc = challenge_new(challenge, r->p->store, r->p->secrets.hash_key, r->env->name,
	                   CHALLENGE_WEBAUTHN_GET, t->id, NULL, clock_now());
	if (rc)
		return rc;
	opts = webauthn_request_options(r->p->rp_id, challenge, true, NULL);
	text = opts ? json_dumps(opts, JSON_COMPACT) : NULL;
	json_decref(opts);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = json_object_set_new(ctx, "webauthn",
	                         json_pack("{s:s, s:s, s:b}", "challenge", challenge, "options",
	                                   text, "passkeys", (m & AUTHN_PASSKEY) != 0));
	free(text);
	return rc ? careid_error_set(CAREID_ENOMEM, "out of memory") : 0;
}

static int smartcard_section(json_t *ctx, struct oidc_req *r, const struct tx *t)
{
	char challenge[CHALLENGE_MAX];
	int rc;

	rc = challenge_new(challenge, r->p->store, r->p->secrets.hash_key, r->env->name,
	                   CHALLENGE_SMARTCARD, t->id, NULL, clock_now());
	if (rc)
		return rc;
	r->res->csp_connect = r->p->agent_url;
	rc = json_object_set_new(ctx, "smartcard",
	                         json_pack("{s:s, s:s, s:s, s:s}", "challenge", challenge, "agent",
	                                   r->p->agent_url, "origin", r->p->origin, "issuer",
	                                   r->env->issuer));
	return rc ? careid_error_set(CAREID_ENOMEM, "out of memory") : 0;
}

static int render_signin(struct oidc_req *r, const struct tx *t, const struct page *pg)
{
	const char *csrf = csrf_token(r, t->id);
	unsigned m = accepted(r, t);
	struct client *c = NULL;
	json_t *ctx;
	int rc;

	if (!csrf)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	client_get(&c, r->p->store, r->env->name, pget(t->params, "client_id"));
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:b, s:b, s:b}", "title",
	                "Sign in", "action", arena_printf(r->a, "%s/login", r->env->issuer_path),
	                "tx", t->id, "csrf", csrf, "username", pg->username, "error", pg->error,
	                "client_name", c ? c->name : "", "requirement", requirement(m), "password",
	                (m & (AUTHN_PWD | AUTHN_TOTP)) != 0, "code_after",
	                (m & AUTHN_TOTP) && !(m & AUTHN_PWD), "stepup",
	                pget(t->params, "session_uid") != NULL);
	client_free(c);
	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = 0;
	if (m & (AUTHN_FIDO2 | AUTHN_PASSKEY))
		rc = webauthn_section(ctx, r, t, m);
	if (!rc && (m & AUTHN_SMARTCARD))
		rc = smartcard_section(ctx, r, t);
	if (!rc && (m & (AUTHN_FIDO2 | AUTHN_PASSKEY | AUTHN_SMARTCARD)))
		rc = json_object_set_new(ctx, "script", json_string("signin.js"));
	if (!rc)
		rc = json_object_set_new(
		    ctx, "several",
		    json_boolean((m & (AUTHN_PWD | AUTHN_TOTP)) &&
		                 (m & (AUTHN_FIDO2 | AUTHN_PASSKEY | AUTHN_SMARTCARD))));
	if (!rc && pg->error) {
		const char *at = pg->method ? pg->method : "password";
		bool pwd = strcmp(at, "password") == 0 && (m & (AUTHN_PWD | AUTHN_TOTP));
		const char *field = pwd                              ? "username"
		                    : !strcmp(at, "webauthn")        ? "webauthn-button"
		                    : !strcmp(at, "smartcard")       ? "smartcard-button"
		                    : (m & (AUTHN_PWD | AUTHN_TOTP)) ? "username"
		                    : (m & AUTHN_SMARTCARD)          ? "smartcard-button"
		                                                     : "webauthn-button";

		rc = json_object_set_new(ctx, "error_field", json_string(field));
		if (!rc)
			rc = json_object_set_new(ctx,
			                         pwd                        ? "password_error"
			                         : !strcmp(at, "webauthn")  ? "webauthn_error"
			                         : !strcmp(at, "smartcard") ? "smartcard_error"
			                                                    : "password_error",
			                         json_string(pg->error));
	}
	if (!rc && pg->retry_after) {
		char *after = arena_printf(r->a, "%lld", (long long)pg->retry_after);

		rc = after ? http_add_header(r->res, "Retry-After", after) : CAREID_ENOMEM;
	}
	if (rc) {
		json_decref(ctx);
		return rc;
	}
	return oidc_render(r, pg->status ? pg->status : 200, "signin", ctx);
}

/* The authenticator-app step after a password; with `enrol`, the set-up of
 * a first app (its secret sealed in the transaction). */
static int render_code(struct oidc_req *r, struct tx *t, const char *error, bool enrol)
{
	const char *csrf = csrf_token(r, t->id);
	json_t *ctx;
	int rc = 0;

	if (!csrf)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	ctx = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s}", "title",
	                enrol ? "Set up your authenticator app" : "Enter your code", "action",
	                arena_printf(r->a, "%s/login", r->env->issuer_path), "tx", t->id, "csrf",
	                csrf, "error", error, "method", enrol ? "totp_enrol" : "totp",
	                "error_field", "code");
	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (enrol) {
		char *secret = NULL, *uri = NULL, *svg = NULL;
		const char *data = NULL;

		rc = pending_secret(&secret, r, t);
		if (!rc)
			rc = totp_uri(&uri, arena_printf(r->a, "careid %s", r->env->name), t->uid,
			              secret);
		if (!rc)
			rc = qr_svg(&svg, uri);
		if (!rc && !(data = oidc_svg_data_uri(r->a, svg)))
			rc = CAREID_ENOMEM;
		if (!rc && json_object_set_new(ctx, "enrol",
		                               json_pack("{s:s, s:s, s:s}", "secret", secret, "uri",
		                                         uri, "qr", data)))
			rc = CAREID_ENOMEM;
		wipe_free(secret);
		free(uri);
		free(svg);
	}
	if (rc) {
		json_decref(ctx);
		return rc;
	}
	return oidc_render(r, 200, "signin_code", ctx);
}

/* The throttling key's user: the uid a typed username belongs to, else the
 * username itself (unknown names are throttled too). */
static const char *throttle_user(struct oidc_req *r, const char *username)
{
	struct dir_user *u = NULL;
	const char *out;

	if (!username || !*username || strlen(username) > AUTHN_USERNAME_MAX)
		return NULL; /* only the address is counted */
	if (directory_user_find_login(&u, r->p->store, r->env->name, username) == 0) {
		out = arena_strdup(r->a, u->uid);
		dir_user_free(u);
		return out;
	}
	return arena_strdup(r->a, username);
}

enum outcome {
	ATTEMPT_FAILED,  /* counts towards throttling */
	ATTEMPT_OK,      /* clears the user's count */
	ATTEMPT_REFUSED, /* proved, but not enough for the service: recorded only */
	/* not even tried: recorded only, so hammering a blocked account does not
	 * keep it blocked */
	ATTEMPT_THROTTLED,
	ATTEMPT_PARTIAL, /* a first step passed (a password before a code): recorded only */
};

/* Records an attempt in the audit trail, and its outcome with the throttle;
 * `sid` (ATTEMPT_OK only, else NULL) is the session the sign-in started or
 * stepped up. */
static int record_attempt(struct oidc_req *r, const struct tx *t, const char *method,
                          const char *user, const struct authn_result *res, enum outcome o,
                          const char *sid)
{
	static const char *const actions[] = {
	    [ATTEMPT_FAILED] = "signin.failed",   [ATTEMPT_OK] = "signin.succeeded",
	    [ATTEMPT_REFUSED] = "signin.refused", [ATTEMPT_THROTTLED] = "signin.throttled",
	    [ATTEMPT_PARTIAL] = "signin.partial",
	};
	bool ok = o == ATTEMPT_OK;
	store *st = r->p->store;
	json_t *detail, *max_age;
	int rc;

	detail = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "env", r->env->name, "method", method,
	                   "client_id", pget(t->params, "client_id"), "address",
	                   r->req->remote_addr, "reason", ok ? NULL : res->reason);
	if (!detail)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	/* conformance evidence (docs/conformance-evidence.md): the session, which
	 * a later token.issued names when the client exchanged the code; a
	 * re-authentication that prompt or max_age asked for (max_age is -1 when
	 * not given) */
	max_age = json_object_get(t->params, "max_age");
	rc = ok && sid ? json_object_set_new(detail, "sid", json_string(sid)) : 0;
	if (!rc && ok && pget(t->params, "prompt"))
		rc = json_object_set_new(detail, "prompt", json_string(pget(t->params, "prompt")));
	if (!rc && ok && json_is_integer(max_age) && json_integer_value(max_age) >= 0)
		rc = json_object_set(detail, "max_age", max_age);
	if (rc) {
		json_decref(detail);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = store_begin(st);
	if (rc)
		goto out;
	if (ok)
		rc = throttle_success(st, r->p->secrets.hash_key, r->env->name, user,
		                      r->req->remote_addr);
	else if (o == ATTEMPT_FAILED)
		rc = throttle_failure(st, r->p->secrets.hash_key, r->env->name, user,
		                      r->req->remote_addr, clock_now());
	if (!rc)
		rc = audit_record(st, res->uid ? res->uid : "anonymous", actions[o],
		                  res->uid || user
		                      ? arena_printf(r->a, "user:%s", res->uid ? res->uid : user)
		                      : arena_printf(r->a, "address:%s", r->req->remote_addr),
		                  detail);
	rc = rc ? (store_rollback(st), rc) : store_commit(st);
out:
	json_decref(detail);
	log_pack(LOG_INFO, "signin", "{s:s, s:s, s:s, s:s, s:s?}", "request_id", r->req->request_id,
	         "env", r->env->name, "method", method, "outcome", actions[o], "reason",
	         ok ? NULL : res->reason);
	/* one label for every refused attempt: /metrics is public, and must not
	 * tell existing usernames from unknown ones (the audit trail does) */
	if (o != ATTEMPT_PARTIAL)
		metrics_signin(r->p->metrics, ok ? "success"
		                              : res->reason && !strcmp(res->reason, "throttled")
		                                  ? "locked"
		                                  : "bad_credentials");
	return rc;
}

/* A signed-in user: the session (kept on a step-up), the sign-in recorded
 * with it, then the client's answer. */
static int finish(struct oidc_req *r, struct tx *t, const char *method, const char *user,
                  const struct authn_result *res, unsigned methods)
{
	struct session s;
	char acr[ACR_MAX];
	int rc;

	acr_achieved(acr, methods, pget(t->params, "acr_values"), pget(t->params, "default_acr"),
	             r->env->default_acr);
	rc = session_start(&s, r, res->uid, methods, acr, res->removal_token);
	if (!rc)
		rc = record_attempt(r, t, method, user, res, ATTEMPT_OK, s.sid);
	if (!rc)
		rc = tx_bind(r, t->id, &s);
	if (!rc)
		rc = authorize_continue(r, t->params, &s, t->id);
	if (rc == 0)
		rc = tx_delete(r, t->id); /* done: a code or an error went to the client */
	return rc > 0 ? 0 : rc;
}

/* The challenge a form was given, used now: a replayed form finds it used. */
static int use_challenge(struct oidc_req *r, const struct tx *t, const char *purpose,
                         const char **out)
{
	const char *challenge = form_get(&r->req->form, "challenge");
	int rc = challenge_use(NULL, r->p->store, r->p->secrets.hash_key, r->env->name, purpose,
	                       t->id, challenge, clock_now());

	*out = challenge;
	return rc;
}

static int refuse(struct authn_result *res, const char *message, const char *reason)
{
	free(res->message);
	res->message = strdup(message);
	res->reason = reason;
	return res->message ? CAREID_EDENIED : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/* The code that confirms a first authenticator app, which is then saved. */
static int totp_enrol_step(struct authn_result *res, struct oidc_req *r, struct tx *t)
{
	const char *code = form_get(&r->req->form, "code");
	char *secret = NULL;
	int64_t step;
	int count = 0, rc;

	res->uid = strdup(t->uid);
	if (!res->uid)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	/* a first app only: a user with one signs in with it */
	rc = directory_authenticator_count(&count, r->p->store, r->env->name, t->uid, "totp");
	if (rc)
		return rc;
	rc = count ? CAREID_ENOTFOUND : pending_secret(&secret, r, t);
	if (rc == CAREID_ENOTFOUND)
		return refuse(res, "Start again: no authenticator app is being set up.",
		              "no_enrolment");
	if (rc)
		return rc;
	rc = totp_check(&step, secret, code ? code : "", clock_now());
	if (rc == CAREID_EINVALID)
		rc = refuse(res, "Enter the 6-digit code your app shows, digits only.", "bad_code");
	else if (rc == CAREID_EDENIED)
		rc = refuse(
		    res,
		    "The code is not correct. Enter the 6-digit code your app shows now (check "
		    "that your phone's clock is right).",
		    "bad_code");
	else if (!rc)
		rc = totp_enrol(&res->authenticator_id, r->p->store, r->p->secrets.seal_key,
		                r->env->name, t->uid, "Authenticator app", secret, step);
	if (!rc)
		res->method = AUTHN_TOTP;
	wipe_free(secret);
	return rc;
}

/* A proof that is not enough on its own: a password where the service needs
 * a code too (the code step, or setting up a first app), or less than the
 * service's class. */
static int next_step(struct oidc_req *r, struct tx *t, struct authn_result *res, unsigned m,
                     const char *method, const char *user)
{
	bool has = false;
	int count = 0, rc;

	if (res->method == AUTHN_PWD && (m & AUTHN_TOTP)) {
		rc = directory_authenticator_count(&count, r->p->store, r->env->name, res->uid,
		                                   "totp");
		has = count > 0;
		if (rc)
			return rc;
		json_object_del(t->params, "totp_pending");
		if (!has && (r->env->offered & AUTHN_PWD)) {
			char *secret = NULL, *sealed = NULL, *plain = NULL;

			rc = totp_secret_new(&secret);
			if (!rc &&
			    asprintf(&plain, "%s\n%s\n%s", r->env->name, res->uid, secret) < 0) {
				plain = NULL;
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			}
			if (!rc)
				rc = crypto_seal(&sealed, r->p->secrets.seal_key, plain);
			wipe_free(secret);
			wipe_free(plain);
			if (!rc &&
			    json_object_set_new(t->params, "totp_pending", json_string(sealed)))
				rc = CAREID_ENOMEM;
			free(sealed);
		}
		if (has || (!rc && (r->env->offered & AUTHN_PWD))) {
			if (!rc)
				rc = tx_set_user(r, t, res->uid);
			/* the password was right: recorded, though nobody is signed in yet */
			if (!rc)
				rc = record_attempt(r, t, method, user, res, ATTEMPT_PARTIAL, NULL);
			return rc ? rc : render_code(r, t, NULL, !has);
		}
		refuse(
		    res,
		    "No authenticator app is set up for your account. Sign in another way, or ask "
		    "your administrator to set one up.",
		    "no_authenticator_app");
	} else if (res->method == AUTHN_PASSKEY) {
		refuse(
		    res,
		    "This security key or passkey is registered for high (AAL2) assurance only. "
		    "This service needs a security key registered at AAL3, Windows Hello or your "
		    "smartcard.",
		    "passkey_not_aal3");
	} else {
		refuse(
		    res,
		    res->method == AUTHN_PWD
		        ? "This service needs more than a password. Sign in with one of the other "
		          "ways on this page."
		        : "This way of signing in does not meet the service's assurance level.",
		    "insufficient_assurance");
	}
	rc = record_attempt(r, t, method, user, res, ATTEMPT_REFUSED, NULL);
	return rc ? rc
	          : render_signin(r, t,
	                          &(struct page){.username = form_get(&r->req->form, "username"),
	                                         .error = res->message,
	                                         .method = method});
}

/* The code page to show again: the set-up of a first app while one is pending. */
static bool enrolling(const struct tx *t, const char *method)
{
	return strcmp(method, "totp_enrol") == 0 && pget(t->params, "totp_pending");
}

static int signin_post(struct oidc_req *r)
{
	const struct form *f = &r->req->form;
	const char *method = form_get(f, "method") ? form_get(f, "method") : "password";
	const struct authenticator *a = authn_find(method);
	struct authn_result res = {0};
	struct page pg = {0};
	struct authn_input in = {0};
	const char *user, *hint;
	unsigned m, proved;
	int64_t retry = 0;
	struct tx t;
	int rc;

	if (!r->req->has_form || r->req->form_error || form_first_duplicate(f) ||
	    (!a && strcmp(method, "totp_enrol") != 0))
		return oidc_error_page(r, 400, "The request is not valid",
		                       "The sign-in form could not be read.");
	rc = tx_load(&t, r, form_get(f, "tx"));
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		return rc;
	if (!csrf_ok(r, t.id, form_get(f, "csrf")))
		return oidc_error_page(r, 403, "The request is not valid",
		                       "The sign-in form was not sent from this browser's page. "
		                       "Go back to the service and sign in again.");
	m = accepted(r, &t);
	pg.username = form_get(f, "username");
	/* The second step needs the first: a password proved in this transaction. */
	if ((strcmp(method, "totp") == 0 || strcmp(method, "totp_enrol") == 0) &&
	    (!t.uid || t.session_hash || !(m & AUTHN_TOTP)))
		return expired_page(r);
	if (a && !(a->methods & m) && !(a == &authn_password && (m & AUTHN_TOTP))) {
		pg.error = "This way of signing in is not accepted by the service.";
		pg.method = method;
		return render_signin(r, &t, &pg);
	}
	/* a password is counted against the user it names, whoever this
	 * transaction's first step proved */
	user = strcmp(method, "password") == 0 ? throttle_user(r, pg.username) : t.uid;
	rc = throttle_check(&retry, r->p->store, r->p->secrets.hash_key, r->env->name, user,
	                    r->req->remote_addr, clock_now());
	if (rc == CAREID_EBUSY) {
		res.reason = "throttled";
		rc = record_attempt(r, &t, method, user, &res, ATTEMPT_THROTTLED, NULL);
		if (rc)
			return rc;
		pg.status = 429;
		pg.method = method;
		pg.retry_after = retry;
		pg.error = arena_printf(r->a,
		                        "There have been too many attempts to sign in. Wait %lld "
		                        "seconds, then try again.",
		                        (long long)retry);
		return t.uid && strcmp(method, "password") != 0
		           ? render_code(r, &t, pg.error, enrolling(&t, method))
		           : render_signin(r, &t, &pg);
	}
	if (rc)
		return rc;

	in.store = r->p->store;
	in.hash_key = r->p->secrets.hash_key;
	in.seal_key = r->p->secrets.seal_key;
	in.env = r->env->name;
	in.now = clock_now();
	in.form = f;
	in.uid = t.uid;
	in.origin = r->p->origin;
	in.rp_id = r->p->rp_id;
	in.require_uv = true; /* AAL3 is two factors: the key and a PIN or biometric */
	if (a == &authn_webauthn || a == &authn_smartcard) {
		rc = use_challenge(
		    r, &t, a == &authn_webauthn ? CHALLENGE_WEBAUTHN_GET : CHALLENGE_SMARTCARD,
		    &in.challenge);
		if (rc == CAREID_EUSED || rc == CAREID_ENOTFOUND) {
			bool used = rc == CAREID_EUSED;

			res.reason = used ? "challenge_replayed" : "challenge_unknown";
			rc = record_attempt(r, &t, method, user, &res, ATTEMPT_FAILED, NULL);
			pg.error =
			    used ? "This sign-in attempt was already used: its challenge is "
			           "valid once. Try again."
			         : "This sign-in attempt has expired or was not made from this "
			           "page. Try again.";
			pg.method = method;
			return rc ? rc : render_signin(r, &t, &pg);
		}
		if (rc)
			return rc;
	}
	if (a)
		rc = a->verify(&res, &in);
	else
		rc = totp_enrol_step(&res, r, &t);
	if (rc < 0 && !res.message && !res.reason)
		goto out; /* an internal failure */
	if (res.uid && !user)
		user = arena_strdup(r->a, res.uid);
	if (rc) {
		int rec = record_attempt(r, &t, method, user, &res, ATTEMPT_FAILED, NULL);

		rc = rec ? rec
		     : t.uid && strcmp(method, "password") != 0
		         ? render_code(r, &t, res.message, enrolling(&t, method))
		         : render_signin(r, &t,
		                         &(struct page){.username = pg.username,
		                                        .error = res.message,
		                                        .method = method});
		goto out;
	}
	/* an app's code completes the password its user gave in this transaction */
	proved = res.method | (res.method == AUTHN_TOTP ? AUTHN_PWD : 0);
	/* The client named who should sign in (id_token_hint): nobody else may. */
	hint = pget(t.params, "hint_sub");
	if (hint && strcmp(hint, res.uid) != 0) {
		pg.username = hint;
		pg.error = arena_printf(
		    r->a, "The service asked for user %s. Sign in as that user.", hint);
		rc = render_signin(r, &t, &pg);
		goto out;
	}
	if (!(proved & m)) {
		rc = next_step(r, &t, &res, m, method, user);
		goto out;
	}
	rc = finish(r, &t, method, user, &res, proved);
out:
	authn_result_release(&res);
	return rc;
}

int login_handle(struct oidc_req *r)
{
	struct tx t;
	int rc;

	r->res->route = "login";
	if (strcmp(r->req->method, "POST") == 0)
		return signin_post(r);
	if (strcmp(r->req->method, "GET") != 0)
		return oidc_error_page(r, 405, "Method not allowed", "Use GET or POST.");
	rc = tx_load(&t, r, form_get(&r->req->query, "tx"));
	if (rc == CAREID_ENOTFOUND)
		return expired_page(r);
	if (rc)
		return rc;
	return render_signin(r, &t,
	                     &(struct page){.username = pget(t.params, "login_hint")
	                                                    ? pget(t.params, "login_hint")
	                                                : pget(t.params, "hint_sub")
	                                                    ? pget(t.params, "hint_sub")
	                                                    : pget(t.params, "session_uid")});
}
