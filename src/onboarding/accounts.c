/* Developer accounts: registration with a verified e-mail address. Each
 * account is a user of the "portal" environment, so it signs in with careid's
 * own sign-in pages and authenticators; there is no second account system. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "onboarding/onboarding_int.h"
#include "outbox/mail.h"

#define CSRF_COOKIE  "careid_csrf"
#define PASSWORD_MIN 12

int accounts_load(struct ob_req *r, const char *uid)
{
	static const char sql[] = "SELECT name, email, is_reviewer, verified_at FROM "
	                          "onboarding_accounts WHERE uid = $1";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "t", uid);

	if (!rc && (rc = store_next(st)) == 1) {
		r->uid = arena_strdup(r->a, uid);
		r->name = arena_strdup(r->a, store_text(st, 0));
		r->email = arena_strdup(r->a, store_text(st, 1));
		r->reviewer = store_int(st, 2) != 0;
		r->verified = !store_null(st, 3);
		rc = r->uid && r->name && r->email ? 0 : CAREID_ENOMEM;
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

static int new_uid(char out[13])
{
	crypto_random_digits(out, 12);
	return 0;
}

/* Creates the portal user and the account row; the caller's transaction
 * holds the account insert so a failure leaves no half account behind. */
static int create(store *s, const char *email, const char *given, const char *family,
                  const char *password, bool reviewer, bool verified, char uid[13])
{
	static const char sql_verified[] =
	    "INSERT INTO onboarding_accounts (uid, email, name, is_reviewer, verified_at, "
	    "created_at) VALUES ($1, $2, $3, $4, $5, $6)";
	static const char sql_unverified[] =
	    "INSERT INTO onboarding_accounts (uid, email, name, is_reviewer, created_at) "
	    "VALUES ($1, $2, $3, $4, $5)";
	struct dir_user_new u = {.uid = uid,
	                         .given_name = given,
	                         .family_name = family,
	                         .email = email,
	                         .id_assurance_level = 1};
	char name[256];
	int64_t now = clock_now();
	int rc;

	new_uid(uid);
	rc = directory_user_add(s, env_names[ENV_PORTAL], &u, password);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s %s", given, family);
	rc = store_begin(s);
	if (rc)
		return rc;
	if (verified)
		rc = store_exec(s, sql_verified, "tttiii", uid, email, name, (int64_t)reviewer, now,
		                now);
	else
		rc = store_exec(s, sql_unverified, "tttii", uid, email, name, (int64_t)reviewer,
		                now);
	if (rc >= 0) {
		json_t *d = json_pack("{s:s, s:b}", "email", email, "reviewer", reviewer);

		rc = audit_record(s, uid, "account.created", uid, d);
		json_decref(d);
	}
	return rc < 0 ? rc : 0;
}

static void lower(char *s)
{
	for (; s && *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* 1 when an account has the (lower-case) e-mail address, 0 when none has. */
static int account_exists(store *s, const char *mail)
{
	static const char sql[] = "SELECT 1 FROM onboarding_accounts WHERE email = $1";
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "t", mail);

	if (!rc)
		rc = store_next(st);
	store_done(st);
	return rc;
}

int onboarding_account_add(store *s, const char *email, const char *name, const char *password,
                           bool reviewer, json_t **out)
{
	char uid[13], given[128], *family, *mail = strdup(email ? email : "");
	int rc;

	if (!mail)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	lower(mail);
	snprintf(given, sizeof(given), "%s", name ? name : "");
	family = strchr(given, ' ');
	if (!family || !family[1] || family == given) {
		free(mail);
		return careid_error_set(CAREID_EINVALID, "give a name as 'Given Family'");
	}
	*family++ = '\0';
	/* Before hashing the password: `serve --demo` adds its accounts at every
	 * start, and two hashes were most of a restart's time. */
	rc = account_exists(s, mail);
	if (rc == 1)
		rc = careid_error_set(CAREID_EEXISTS, "an account with this e-mail address exists");
	if (rc)
		goto out;
	rc = create(s, mail, given, family, password, reviewer, true, uid);
	if (rc) {
		store_rollback(s);
		goto out;
	}
	rc = store_commit(s);
	if (!rc && out)
		*out = json_pack("{s:s, s:s, s:s, s:b}", "uid", uid, "email", mail, "name", name,
		                 "reviewer", reviewer);
out:
	free(mail);
	return rc;
}

static const char *register_csrf(struct ob_req *r, bool set)
{
	const char *c = http_cookie(r->req, CSRF_COOKIE);
	struct cookie_attrs attrs = {.path = "/", .secure = r->o->secure, .same_site = "Lax"};
	char fresh[64], hash[CRYPTO_HASH_HEX];
	char *input;

	if (!c || strlen(c) < 32 || strlen(c) > 64) {
		if (!set || crypto_random_token(fresh, sizeof(fresh), 32) ||
		    http_set_cookie(r->res, CSRF_COOKIE, fresh, &attrs))
			return NULL;
		c = arena_strdup(r->a, fresh);
	}
	input = arena_printf(r->a, "onboarding-register|%s", c);
	if (!input)
		return NULL;
	crypto_keyed_hash(hash, r->o->sec->csrf_key, input);
	return arena_strdup(r->a, hash);
}

static int register_page(struct ob_req *r, int status, json_t *values, json_t *errors)
{
	json_t *list = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(errors, k, v) json_array_append_new(
	    list, json_pack("{s:s, s:O}", "href", arena_printf(r->a, "#%s", k), "text", v));
	return ob_page(r, status, "onboarding_register",
	               json_pack("{s:s, s:s?, s:o, s:o, s:b, s:o}", "title",
	                         "Create a developer account", "register_csrf",
	                         register_csrf(r, true), "values", values ? values : json_object(),
	                         "errors", errors ? errors : json_object(), "has_errors",
	                         json_array_size(list) > 0, "error_list", list));
}

/* Validates a registration; returns the errors object (empty when valid). */
static json_t *check(const char *given, const char *family, const char *email, const char *pw,
                     const char *pw2)
{
	json_t *e = json_object();
	const char *at = email ? strchr(email, '@') : NULL;

	if (!given || !*given || strlen(given) > 100)
		json_object_set_new(e, "given_name",
		                    json_string("Enter your first name (up to 100 characters)"));
	if (!family || !*family || strlen(family) > 100)
		json_object_set_new(e, "family_name",
		                    json_string("Enter your last name (up to 100 characters)"));
	if (!email || !at || at == email || !strchr(at, '.') || !mail_address_ok(email))
		json_object_set_new(
		    e, "email",
		    json_string(
		        "Enter an e-mail address in the correct format, like name@example.nhs.uk"));
	if (!pw || strlen(pw) < PASSWORD_MIN || strlen(pw) > 1024)
		json_object_set_new(e, "password",
		                    json_string("Enter a password of at least 12 characters"));
	else if (!pw2 || strcmp(pw, pw2) != 0)
		json_object_set_new(e, "password_confirm",
		                    json_string("The passwords do not match"));
	return e;
}

/* Registers an account and sends the verification link (form and API). */
static int do_register(struct ob_req *r, const char *given, const char *family, const char *email,
                       const char *pw, json_t **errors_out, char uid_out[13])
{
	static const char sql_verify[] = "INSERT INTO onboarding_verifications (token_hash, uid, "
	                                 "expires_at) VALUES ($1, $2, $3)";
	char token[64], hash[CRYPTO_HASH_HEX], *mail, *body;
	int rc;

	*errors_out = NULL;
	mail = arena_strdup(r->a, email);
	lower(mail);
	rc = account_exists(r->o->s, mail);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		*errors_out = json_pack(
		    "{s:s}", "email",
		    "An account with this e-mail address already exists: sign in instead");
		return 0;
	}
	rc = create(r->o->s, mail, given, family, pw, false, false, uid_out);
	if (rc == CAREID_EEXISTS || rc == CAREID_EINVALID) {
		*errors_out = json_pack("{s:s}", "email",
		                        rc == CAREID_EEXISTS
		                            ? "An account with this e-mail address already exists"
		                            : careid_error_last()->message);
		return 0;
	}
	if (rc)
		goto fail;
	if ((rc = crypto_random_token(token, sizeof(token), 32)))
		goto fail;
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_exec(r->o->s, sql_verify, "tti", hash, uid_out, clock_now() + VERIFY_TTL);
	if (rc < 0)
		goto fail;
	body =
	    arena_printf(r->a,
	                 "Hello %s,\n\nConfirm your e-mail address to finish creating your CIS2 "
	                 "onboarding developer account:\n\n%s/onboarding/verify?token=%s\n\nThe "
	                 "link works for 48 hours. If you did not ask for an account, ignore this "
	                 "e-mail.\n",
	                 given, r->o->public_url, token);
	rc = body ? notify_mail(r, mail, "Confirm your e-mail address", body) : CAREID_ENOMEM;
	if (rc)
		goto fail;
	return store_commit(r->o->s);
fail:
	store_rollback(r->o->s);
	return rc;
}

static int register_post(struct ob_req *r)
{
	const struct form *f = &r->req->form;
	const char *given = form_get(f, "given_name"), *family = form_get(f, "family_name");
	const char *email = form_get(f, "email"), *pw = form_get(f, "password");
	const char *want = register_csrf(r, false), *given_csrf = form_get(f, "csrf");
	json_t *errors, *values;
	char uid[13];
	int rc;

	if (!want || !given_csrf || !crypto_streq(want, given_csrf))
		return ob_error(r, 403, "csrf",
		                "The form was not sent from this browser's page. "
		                "Go back and try again.");
	values = json_pack("{s:s?, s:s?, s:s?}", "given_name", given, "family_name", family,
	                   "email", email);
	errors = check(given, family, email, pw, form_get(f, "password_confirm"));
	if (json_object_size(errors))
		return register_page(r, 400, values, errors);
	json_decref(errors);
	rc = do_register(r, given, family, email, pw, &errors, uid);
	if (rc || errors) {
		json_decref(values);
		return rc ? rc : register_page(r, 400, NULL, errors);
	}
	json_decref(values);
	return ob_message(r, 200, "Check your e-mail",
	                  "We have sent you a link to confirm your e-mail address. Open it to "
	                  "finish creating your account, then sign in.");
}

int accounts_register_api(struct ob_req *r)
{
	json_t *body, *errors;
	char uid[13];
	int rc;

	if (strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "POST a JSON account.");
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	errors = check(json_string_value(json_object_get(body, "given_name")),
	               json_string_value(json_object_get(body, "family_name")),
	               json_string_value(json_object_get(body, "email")),
	               json_string_value(json_object_get(body, "password")),
	               json_string_value(json_object_get(body, "password")));
	if (!json_object_size(errors)) {
		json_decref(errors);
		rc =
		    do_register(r, json_string_value(json_object_get(body, "given_name")),
		                json_string_value(json_object_get(body, "family_name")),
		                json_string_value(json_object_get(body, "email")),
		                json_string_value(json_object_get(body, "password")), &errors, uid);
	}
	json_decref(body);
	if (rc)
		return rc;
	if (errors && json_object_size(errors))
		return ob_json(
		    r,
		    json_object_get(errors, "email") &&
		            strstr(json_string_value(json_object_get(errors, "email")), "already")
		        ? 409
		        : 400,
		    json_pack("{s:s, s:s, s:o}", "error", "invalid_account", "message",
		              "The account could not be created.", "errors", errors));
	json_decref(errors);
	return ob_json(r, 202,
	               json_pack("{s:s, s:s}", "uid", uid, "status", "verification e-mail sent"));
}

/* GET shows a button; POST verifies (mail scanners follow links with GET). */
static int verify(struct ob_req *r)
{
	static const char sql_get[] = "SELECT uid FROM onboarding_verifications WHERE token_hash = "
	                              "$1 AND used_at IS NULL AND expires_at > $2";
	static const char sql_use[] = "UPDATE onboarding_verifications SET used_at = $1 WHERE "
	                              "token_hash = $2 AND used_at IS NULL";
	static const char sql_ok[] =
	    "UPDATE onboarding_accounts SET verified_at = $1 WHERE uid = $2";
	bool post = strcmp(r->req->method, "POST") == 0;
	const char *token = form_get(post ? &r->req->form : &r->req->query, "token");
	char hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	char *uid = NULL;
	int rc;

	if (!token || strlen(token) > 100)
		return ob_message(r, 400, "This link is not valid",
		                  "Copy the whole link from the e-mail, or register again.");
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_query(r->o->s, &st, sql_get, "ti", hash, clock_now());
	if (!rc && (rc = store_next(st)) == 1)
		uid = arena_strdup(r->a, store_text(st, 0));
	store_done(st);
	if (rc < 0)
		return rc;
	if (!uid)
		return ob_message(r, 400, "This link has expired or was used",
		                  "Sign in if you have confirmed your address already, or register "
		                  "again.");
	if (!post)
		return ob_page(r, 200, "onboarding_verify",
		               json_pack("{s:s, s:s}", "title", "Confirm your e-mail address",
		                         "token", token));
	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = store_exec(r->o->s, sql_use, "it", clock_now(), hash);
	if (rc == 0) { /* another request used it first */
		store_rollback(r->o->s);
		return ob_message(r, 400, "This link has expired or was used",
		                  "Sign in if you have confirmed your address already.");
	}
	if (rc > 0)
		rc = store_exec(r->o->s, sql_ok, "it", clock_now(), uid);
	if (rc > 0)
		rc = audit_record(r->o->s, uid, "account.verified", uid, NULL);
	if (rc < 0) {
		store_rollback(r->o->s);
		return rc;
	}
	rc = store_commit(r->o->s);
	if (rc)
		return rc;
	return ob_page(r, 200, "onboarding_message",
	               json_pack("{s:s, s:s, s:b}", "title", "E-mail address confirmed", "message",
	                         "Your developer account is ready. Sign in to start your "
	                         "application.",
	                         "signin", 1));
}

int accounts_handle(struct ob_req *r)
{
	if (strcmp(r->path, "/verify") == 0)
		return verify(r);
	if (strcmp(r->req->method, "POST") == 0)
		return register_post(r);
	return register_page(r, 200, NULL, NULL);
}
