/* Register for digital onboarding: organisations (by ODS code), teams with
 * owners and members, and invitations by e-mail. Every query starts from the
 * signed-in account's own team: no endpoint takes a team or organisation id,
 * so another organisation's identifiers are never usable. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/workdays.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "onboarding/onboarding_int.h"
#include "outbox/mail.h"

#define INVITE_TTL    (7 * 24 * 3600)
#define ORG_NAME_MAX  200
#define TEAM_NAME_MAX 100
#define TOKEN_MAX     100

static const char MSG_SAQ[] = "Your Service Assessment Questionnaire must be approved first";
static const char MSG_NO_TEAM[] = "You are not in a team yet: register your organisation, or ask "
                                  "a member of its team to invite you.";
static const char MSG_CSRF_PAGE[] = "The form was not sent from this browser's page.";
static const char MSG_CSRF_API[] = "Send the X-CSRF-Token header from /api/v1/me.";

/* What a page or API action came to, for either twin to answer. */
struct outcome {
	int status; /* 0 when it worked */
	const char *code, *message;
	json_t *errors; /* field → message (owned by the arena), or NULL */
};

static void decref(void *p)
{
	json_decref(p);
}

/* Records why an action was refused (`errors` by field may be NULL); returns 0. */
static int refuse(struct outcome *oc, int status, const char *code, const char *message,
                  json_t *errors)
{
	oc->status = status;
	oc->code = code;
	oc->message = message ? message : "out of memory";
	oc->errors = errors;
	return 0;
}

static int already_in_team(struct ob_req *r, struct outcome *oc, const char *team_name)
{
	return refuse(oc, 409, "already_in_team",
	              arena_printf(r->a, "You are already in team %s", team_name), NULL);
}

/* Copies the row's text columns 0..n-1 (NULL as "") into the arena. */
static int copy_text(struct ob_req *r, store_stmt *st, const char **const out[], int n)
{
	for (int i = 0; i < n; i++)
		if (!(*out[i] = arena_strdup(r->a, store_null(st, i) ? "" : store_text(st, i))))
			return CAREID_ENOMEM;
	return 0;
}

int orgs_team_of(struct ob_req *r, const char *uid, struct ob_team *out)
{
	static const char sql[] = "SELECT t.id, t.name, o.id, o.ods_code, o.name, m.role FROM "
	                          "ob_team_members m JOIN ob_teams t ON t.id = m.team_id JOIN "
	                          "ob_organisations o ON o.id = t.org_id WHERE m.uid = $1";
	store_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!uid)
		return CAREID_ENOTFOUND;
	rc = store_query(r->o->s, &st, sql, "t", uid);
	if (!rc && (rc = store_next(st)) == 1) {
		rc = copy_text(r, st,
		               (const char **const[]){&out->team_id, &out->team_name, &out->org_id,
		                                      &out->ods_code, &out->org_name, &out->role},
		               6);
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

int orgs_team_emails(struct ob_req *r, const char *team_id, json_t **out)
{
	static const char sql[] = "SELECT a.email FROM ob_team_members m JOIN onboarding_accounts "
	                          "a ON a.uid = m.uid WHERE m.team_id = $1 ORDER BY m.joined_at, "
	                          "a.email";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc = list ? store_query(r->o->s, &st, sql, "t", team_id) : CAREID_ENOMEM;

	while (!rc && (rc = store_next(st)) == 1)
		rc =
		    json_array_append_new(list, json_string(store_text(st, 0))) ? CAREID_ENOMEM : 0;
	store_done(st);
	if (rc < 0)
		json_decref(list);
	*out = rc < 0 ? NULL : list;
	return rc < 0 ? rc : 0;
}

/* --- input ------------------------------------------------------------- */

/* A copy in the arena without surrounding white space (NULL stays NULL). */
static char *trimmed(struct ob_req *r, const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	for (n = strlen(s); n && isspace((unsigned char)s[n - 1]);)
		n--;
	return arena_strndup(r->a, s, n);
}

/* Characters, not bytes (the input is valid UTF-8: forms and jansson check),
 * or SIZE_MAX when there is a control character. */
static size_t text_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return SIZE_MAX;
		n += ((unsigned char)*s & 0xc0) != 0x80;
	}
	return n;
}

static void field_error(json_t *errors, const char *field, const char *message)
{
	if (!json_object_get(errors, field))
		json_object_set_new(errors, field, json_string(message ? message : "Not valid"));
}

static void check_text(struct ob_req *r, json_t *errors, const char *field, const char *v,
                       size_t max, const char *missing, const char *label)
{
	size_t n = v ? text_chars(v) : 0;

	if (!n)
		field_error(errors, field, missing);
	else if (n == SIZE_MAX)
		field_error(errors, field,
		            arena_printf(r->a,
		                         "%s must not contain line breaks or control characters",
		                         label));
	else if (n > max)
		field_error(errors, field,
		            arena_printf(r->a, "%s must be %zu characters or fewer", label, max));
}

struct org_input {
	char *ods_code, *name, *team_name;
};

/* Reads and checks a registration; returns the errors (empty when valid). */
static json_t *org_input_check(struct ob_req *r, const char *ods, const char *name,
                               const char *team_name, struct org_input *in)
{
	json_t *errors = json_object();
	bool ods_ok;

	in->ods_code = trimmed(r, ods);
	in->name = trimmed(r, name);
	in->team_name = trimmed(r, team_name);
	ods_ok = in->ods_code && strlen(in->ods_code) >= 3 && strlen(in->ods_code) <= 6;
	for (char *p = in->ods_code; p && *p; p++) {
		*p = (char)toupper((unsigned char)*p);
		ods_ok = ods_ok && ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'));
	}
	if (!in->ods_code || !*in->ods_code)
		field_error(errors, "ods_code", "Enter your organisation's ODS code");
	else if (!ods_ok)
		field_error(errors, "ods_code",
		            "Enter an ODS code of 3 to 6 letters and digits, like RBA or 8JK22");
	check_text(r, errors, "name", in->name, ORG_NAME_MAX, "Enter your organisation's name",
	           "Organisation name");
	check_text(r, errors, "team_name", in->team_name, TEAM_NAME_MAX,
	           "Enter a name for your team", "Team name");
	return errors;
}

/* The error summary's links, in the order of the form's fields. */
static json_t *error_list(const json_t *errors, const char *const *fields)
{
	json_t *list = json_array();

	for (; *fields; fields++) {
		json_t *v = json_object_get(errors, *fields);

		if (v)
			json_array_append_new(list,
			                      json_pack("{s:o, s:O}", "href",
			                                json_sprintf("#%s", *fields), "text", v));
	}
	return list;
}

/* An invitation token as sent (base64url), or NULL. */
static const char *token_ok(const char *t)
{
	if (!t || !*t || strlen(t) > TOKEN_MAX)
		return NULL;
	for (const char *p = t; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return NULL;
	return t;
}

static const char *token_of(struct ob_req *r)
{
	const char *t = form_get(&r->req->form, "token");

	return token_ok(t ? t : form_get(&r->req->query, "token"));
}

static const char *london_date(struct ob_req *r, int64_t t)
{
	char buf[WORKDAYS_DATE_LEN];
	struct ymd d;

	if (workdays_london_date(&d, t) || workdays_date_format(buf, d))
		return "";
	return arena_strdup(r->a, buf);
}

static json_t *team_json(const struct ob_team *t)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}}", "organisation", "id", t->org_id,
	                 "ods_code", t->ods_code, "name", t->org_name, "team", "id", t->team_id,
	                 "name", t->team_name, "role", t->role);
}

/* --- registering an organisation and its team -------------------------- */

/*
 * Creates the organisation, its team and the account as owner in one
 * transaction with their audit events. CAREID_EEXISTS (nothing created) when
 * the ODS code is registered already, or the account joined a team meanwhile.
 */
static int org_insert(struct ob_req *r, const struct org_input *in)
{
	static const char sql_org[] = "INSERT INTO ob_organisations (id, ods_code, name, "
	                              "created_by, created_at) VALUES ($1, $2, $3, $4, $5)";
	static const char sql_team[] = "INSERT INTO ob_teams (id, org_id, name, created_at) VALUES "
	                               "($1, $2, $3, $4)";
	static const char sql_owner[] = "INSERT INTO ob_team_members (team_id, uid, role, "
	                                "joined_at) VALUES ($1, $2, 'owner', $3)";
	char *org_id = ob_random_id(r), *team_id = ob_random_id(r);
	json_t *d_org = NULL, *d_team = NULL;
	int64_t now = clock_now();
	int rc;

	if (!org_id || !team_id)
		return CAREID_ENOMEM;
	rc = store_begin(r->o->s);
	if (!rc) /* a registered ODS code is a unique key violation: CAREID_EEXISTS */
		rc = store_exec(r->o->s, sql_org, "tttti", org_id, in->ods_code, in->name, r->uid,
		                now);
	if (rc >= 0)
		rc = store_exec(r->o->s, sql_team, "ttti", team_id, org_id, in->team_name, now);
	if (rc >= 0)
		rc = store_exec(r->o->s, sql_owner, "tti", team_id, r->uid, now);
	if (rc < 0)
		goto fail;
	d_org = json_pack("{s:s, s:s}", "ods_code", in->ods_code, "name", in->name);
	d_team =
	    json_pack("{s:s, s:s, s:s}", "org_id", org_id, "name", in->team_name, "owner", r->uid);
	rc = audit_record(r->o->s, r->uid, "org.registered", arena_printf(r->a, "org:%s", org_id),
	                  d_org);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "team.created",
		                  arena_printf(r->a, "team:%s", team_id), d_team);
	if (!rc)
		rc = store_commit(r->o->s);
	if (!rc)
		goto out;
fail:
	store_rollback(r->o->s);
out:
	json_decref(d_org);
	json_decref(d_team);
	return rc;
}

static int org_register(struct ob_req *r, const char *ods, const char *name, const char *team_name,
                        struct outcome *oc, struct ob_team *out)
{
	struct org_input in;
	json_t *errors;
	int rc = orgs_team_of(r, r->uid, out);

	memset(oc, 0, sizeof(*oc));
	if (rc == 0)
		return already_in_team(r, oc, out->team_name);
	if (rc != CAREID_ENOTFOUND)
		return rc;
	if (!saq_approved(r, r->uid))
		return refuse(oc, 403, "saq_not_approved", MSG_SAQ, NULL);
	errors = org_input_check(r, ods, name, team_name, &in);
	if (!errors || arena_defer(r->a, decref, errors))
		return CAREID_ENOMEM;
	if (json_object_size(errors))
		return refuse(oc, 400, "invalid_request", "Some answers are not valid.", errors);
	rc = org_insert(r, &in);
	if (rc == CAREID_EEXISTS) {
		rc = orgs_team_of(r, r->uid, out);
		if (rc == 0)
			return already_in_team(r, oc, out->team_name);
		if (rc != CAREID_ENOTFOUND)
			return rc;
		refuse(oc, 409, "organisation_exists",
		       arena_printf(r->a,
		                    "Organisation %s is already registered in onboarding: ask a "
		                    "member of its team to invite you",
		                    in.ods_code),
		       errors);
		json_object_set_new(errors, "ods_code", json_string(oc->message));
		return 0;
	}
	return rc ? rc : orgs_team_of(r, r->uid, out);
}

/* Adds a form's errors to a page's context: the fields' messages, the
 * summary's links in the form's order, the values as typed. */
static json_t *with_errors(json_t *ctx, const json_t *errors, const char *const *fields,
                           json_t *values)
{
	bool any = errors && json_object_size(errors);

	if (ctx && any)
		json_object_update_new(ctx,
		                       json_pack("{s:O, s:b, s:b, s:o, s:o}", "errors", errors,
		                                 "has_errors", 1, "error", 1, "error_list",
		                                 error_list(errors, fields), "values", values));
	else
		json_decref(values);
	return ctx;
}

static const char *const ORG_FIELDS[] = {"ods_code", "name", "team_name", NULL};

static int org_page(struct ob_req *r, int status, const struct ob_team *t, const json_t *errors)
{
	const struct form *f = &r->req->form;
	json_t *ctx =
	    json_pack("{s:s, s:o*}", "title",
	              t ? "Your organisation and team" : "Register your organisation and team",
	              "mine", t ? team_json(t) : NULL);

	return ob_page(
	    r, status, "ob_organisation",
	    with_errors(ctx, errors, ORG_FIELDS,
	                json_pack("{s:s?, s:s?, s:s?}", "ods_code", form_get(f, "ods_code"), "name",
	                          form_get(f, "name"), "team_name", form_get(f, "team_name"))));
}

static int org_handle(struct ob_req *r)
{
	const struct form *f = &r->req->form;
	struct ob_team t;
	struct outcome oc;
	int rc;

	if (strcmp(r->req->method, "POST") != 0) {
		rc = orgs_team_of(r, r->uid, &t);
		if (rc == 0)
			return org_page(r, 200, &t, NULL);
		if (rc != CAREID_ENOTFOUND)
			return rc;
		if (!saq_approved(r, r->uid))
			return ob_error(r, 403, "saq_not_approved", MSG_SAQ);
		return org_page(r, 200, NULL, NULL);
	}
	rc = org_register(r, form_get(f, "ods_code"), form_get(f, "name"), form_get(f, "team_name"),
	                  &oc, &t);
	if (rc)
		return rc;
	if (!oc.status)
		return http_redirect(r->res, 303, "/onboarding/team");
	if (!oc.errors)
		return ob_error(r, oc.status, oc.code, oc.message);
	return org_page(r, oc.status, NULL, oc.errors);
}

/* --- the team and its invitations --------------------------------------- */

/* {organisation, team, members, invitations (pending)} of the account's team. */
static int team_view(struct ob_req *r, const struct ob_team *t, json_t **out)
{
	static const char sql_members[] =
	    "SELECT a.name, a.email, m.role, m.joined_at FROM ob_team_members m JOIN "
	    "onboarding_accounts a ON a.uid = m.uid WHERE m.team_id = $1 ORDER BY CASE m.role "
	    "WHEN 'owner' THEN 0 ELSE 1 END, m.joined_at, a.name, a.email";
	static const char sql_invitations[] =
	    "SELECT email, role, created_at, expires_at FROM ob_invitations WHERE team_id = $1 "
	    "AND accepted_at IS NULL AND expires_at > $2 ORDER BY created_at, email";
	json_t *members = json_array(), *invitations = json_array();
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql_members, "t", t->team_id);

	while (!rc && (rc = store_next(st)) == 1 && members)
		rc = json_array_append_new(
		    members, json_pack("{s:s, s:s, s:s, s:I}", "name", store_text(st, 0), "email",
		                       store_text(st, 1), "role", store_text(st, 2), "joined_at",
		                       (json_int_t)store_int(st, 3)));
	store_done(st);
	st = NULL;
	if (rc >= 0)
		rc = store_query(r->o->s, &st, sql_invitations, "ti", t->team_id, clock_now());
	while (!rc && (rc = store_next(st)) == 1 && invitations)
		rc = json_array_append_new(invitations,
		                           json_pack("{s:s, s:s, s:I, s:I, s:s}", "email",
		                                     store_text(st, 0), "role", store_text(st, 1),
		                                     "invited_at", (json_int_t)store_int(st, 2),
		                                     "expires_at", (json_int_t)store_int(st, 3),
		                                     "expires", london_date(r, store_int(st, 3))));
	store_done(st);
	*out = rc < 0 ? NULL : team_json(t);
	if (*out && members && invitations) {
		json_object_set_new(*out, "members", members);
		json_object_set_new(*out, "invitations", invitations);
		return 0;
	}
	json_decref(*out);
	json_decref(members);
	json_decref(invitations);
	*out = NULL;
	return rc < 0 ? rc : CAREID_ENOMEM;
}

static const char *const INVITE_FIELDS[] = {"email", "role", NULL};

static int team_page(struct ob_req *r, int status, const struct ob_team *t, const json_t *errors)
{
	const char *notice = NULL, *role = form_get(&r->req->form, "role");
	json_t *view = NULL, *ctx;
	int rc;

	if (!t)
		return ob_page(r, status, "ob_team", json_pack("{s:s}", "title", "Your team"));
	rc = team_view(r, t, &view);
	if (rc)
		return rc;
	if (form_get(&r->req->query, "sent"))
		notice = "The invitation has been sent.";
	else if (form_get(&r->req->query, "joined"))
		notice = arena_printf(r->a, "You have joined team %s.", t->team_name);
	ctx =
	    json_pack("{s:s, s:o, s:b, s:b, s:s?}", "title", "Your team", "mine", view, "owner",
	              strcmp(t->role, "owner") == 0, "has_invitations",
	              json_array_size(json_object_get(view, "invitations")) > 0, "notice", notice);
	return ob_page(
	    r, status, "ob_team",
	    with_errors(ctx, errors, INVITE_FIELDS,
	                json_pack("{s:s?, s:b, s:b}", "email", form_get(&r->req->form, "email"),
	                          "role_owner", role && strcmp(role, "owner") == 0, "role_member",
	                          role && strcmp(role, "member") == 0)));
}

/*
 * Invites `email` to the team as `role` in one transaction: the invitation
 * (its token stored keyed-hashed; an earlier pending one to the same address
 * is superseded), the e-mail with the link, the audit event. CAREID_EEXISTS
 * when the address is a member of the team already.
 */
static int invite_insert(struct ob_req *r, const struct ob_team *t, const char *email,
                         const char *role, int64_t expires)
{
	static const char sql_member[] = "SELECT m.uid FROM ob_team_members m JOIN "
	                                 "onboarding_accounts a ON a.uid = m.uid WHERE m.team_id = "
	                                 "$1 AND a.email = $2";
	static const char sql_supersede[] = "UPDATE ob_invitations SET expires_at = $1 WHERE "
	                                    "team_id = $2 AND email = $3 AND accepted_at IS NULL "
	                                    "AND expires_at > $4";
	static const char sql_new[] = "INSERT INTO ob_invitations (token_hash, team_id, email, "
	                              "role, invited_by, created_at, expires_at) VALUES ($1, $2, "
	                              "$3, $4, $5, $6, $7)";
	char token[64], hash[CRYPTO_HASH_HEX], *body;
	int64_t now = clock_now();
	store_stmt *st = NULL;
	json_t *detail = NULL;
	int rc;

	if (crypto_random_token(token, sizeof(token), 32))
		return CAREID_ECRYPTO;
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = store_query(r->o->s, &st, sql_member, "tt", t->team_id, email);
	if (!rc && (rc = store_next(st)) == 1)
		rc = CAREID_EEXISTS;
	store_done(st);
	if (!rc)
		rc = store_exec(r->o->s, sql_supersede, "itti", now, t->team_id, email, now);
	if (rc >= 0)
		rc = store_exec(r->o->s, sql_new, "tttttii", hash, t->team_id, email, role, r->uid,
		                now, expires);
	if (rc < 0)
		goto fail;
	body = arena_printf(
	    r->a,
	    "Hello,\n\n%s (%s) has invited you to join the team \"%s\" of %s (ODS code %s) on "
	    "the CIS2 onboarding portal, as %s.\n\nTo accept the invitation, open this link "
	    "and sign in:\n\n%s/onboarding/invite?token=%s\n\nThe link works for 7 days, for "
	    "the developer account with this e-mail address (%s). If you have no account yet, "
	    "create one first:\n\n%s/onboarding/register\n\nIf you did not expect this "
	    "invitation, you can ignore this e-mail.\n",
	    r->name, r->email, t->team_name, t->org_name, t->ods_code,
	    strcmp(role, "owner") == 0 ? "an owner" : "a member", r->o->public_url, token, email,
	    r->o->public_url);
	rc = body ? notify_mail(r, email, "You are invited to join a team on CIS2 onboarding", body)
	          : CAREID_ENOMEM;
	detail = json_pack("{s:s, s:s, s:I}", "email", email, "role", role, "expires_at",
	                   (json_int_t)expires);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "team.invited",
		                  arena_printf(r->a, "team:%s", t->team_id), detail);
	if (!rc)
		rc = store_commit(r->o->s);
	if (!rc)
		goto out;
fail:
	store_rollback(r->o->s);
out:
	json_decref(detail);
	return rc;
}

/* An invitation to send: the address and role as given, then as sent. */
struct pending {
	const char *email, *role;
	int64_t expires;
};

static int invite(struct ob_req *r, struct pending *p, struct outcome *oc, struct ob_team *t)
{
	const char *role = p->role;
	json_t *errors;
	char *email;
	int rc = orgs_team_of(r, r->uid, t);

	memset(oc, 0, sizeof(*oc));
	if (rc == CAREID_ENOTFOUND)
		return refuse(oc, 404, "not_in_team", MSG_NO_TEAM, NULL);
	if (rc)
		return rc;
	if (strcmp(t->role, "owner") != 0)
		return refuse(oc, 403, "forbidden",
		              "Only the team's owners can invite people to it.", NULL);
	errors = json_object();
	if (!errors || arena_defer(r->a, decref, errors))
		return CAREID_ENOMEM;
	email = trimmed(r, p->email);
	for (char *c = email; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (!email || !*email)
		field_error(errors, "email", "Enter the e-mail address of the person to invite");
	else if (!mail_address_ok(email) || !strchr(strchr(email, '@'), '.'))
		field_error(
		    errors, "email",
		    "Enter an e-mail address in the correct format, like name@example.nhs.uk");
	if (!role || (strcmp(role, "owner") != 0 && strcmp(role, "member") != 0))
		field_error(errors, "role", "Choose whether they will be an owner or a member");
	if (json_object_size(errors))
		return refuse(oc, 400, "invalid_request", "Some answers are not valid.", errors);
	p->email = email;
	p->expires = clock_now() + INVITE_TTL;
	rc = invite_insert(r, t, email, role, p->expires);
	if (rc == CAREID_EEXISTS) {
		refuse(oc, 409, "already_member",
		       arena_printf(r->a, "%s is already a member of team %s", email, t->team_name),
		       errors);
		field_error(errors, "email", oc->message);
		return 0;
	}
	return rc;
}

static int team_handle(struct ob_req *r)
{
	const struct form *f = &r->req->form;
	struct ob_team t;
	struct pending p = {.email = form_get(f, "email"), .role = form_get(f, "role")};
	struct outcome oc;
	int rc;

	if (strcmp(r->req->method, "POST") != 0) {
		rc = orgs_team_of(r, r->uid, &t);
		if (rc && rc != CAREID_ENOTFOUND)
			return rc;
		return team_page(r, 200, rc ? NULL : &t, NULL);
	}
	rc = invite(r, &p, &oc, &t);
	if (rc)
		return rc;
	if (!oc.status)
		return http_redirect(r->res, 303, "/onboarding/team?sent=1");
	if (!oc.errors)
		return ob_error(r, oc.status, oc.code, oc.message);
	return team_page(r, oc.status, &t, oc.errors);
}

/* --- accepting an invitation -------------------------------------------- */

struct invitation {
	const char *team_id, *team_name, *org_name, *ods_code, *email, *role, *inviter;
	int64_t expires_at;
	bool accepted;
};

static int invitation_load(struct ob_req *r, const char *hash, struct invitation *out)
{
	static const char sql[] =
	    "SELECT i.team_id, t.name, o.name, o.ods_code, i.email, i.role, a.name, "
	    "i.expires_at, i.accepted_at FROM ob_invitations i JOIN ob_teams t ON t.id = "
	    "i.team_id JOIN ob_organisations o ON o.id = t.org_id LEFT JOIN onboarding_accounts "
	    "a ON a.uid = i.invited_by WHERE i.token_hash = $1";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "t", hash);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->expires_at = store_int(st, 7);
		out->accepted = !store_null(st, 8);
		rc = copy_text(r, st,
		               (const char **const[]){&out->team_id, &out->team_name,
		                                      &out->org_name, &out->ods_code, &out->email,
		                                      &out->role, &out->inviter},
		               7);
		if (!rc && !*out->inviter)
			out->inviter = "A team owner";
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

/* The invitation of a token; CAREID_ENOTFOUND for none (or no token). */
static int invitation_find(struct ob_req *r, const char *token, char hash[CRYPTO_HASH_HEX],
                           struct invitation *out)
{
	memset(out, 0, sizeof(*out));
	if (!token)
		return CAREID_ENOTFOUND;
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	return invitation_load(r, hash, out);
}

/* Why the signed-in account (if any) cannot accept; 0 when it can. */
static int invitation_problem(struct ob_req *r, int found, const struct invitation *inv,
                              struct outcome *oc)
{
	struct ob_team mine;
	int rc;

	memset(oc, 0, sizeof(*oc));
	if (found == CAREID_ENOTFOUND)
		return refuse(
		    oc, 400, "invalid_invitation",
		    "This invitation link is not valid: copy the whole link from the e-mail.",
		    NULL);
	if (found)
		return found;
	if (inv->accepted)
		refuse(oc, 400, "already_used", "This invitation has already been used.", NULL);
	else if (inv->expires_at <= clock_now())
		refuse(oc, 400, "expired",
		       "This invitation has expired: ask the team to invite you again.", NULL);
	else if (r->uid && strcasecmp(inv->email, r->email) != 0)
		refuse(oc, 403, "wrong_account",
		       arena_printf(r->a,
		                    "This invitation was sent to %s: sign in with the account for "
		                    "that e-mail address to accept it.",
		                    inv->email),
		       NULL);
	if (oc->status || !r->uid)
		return 0;
	rc = orgs_team_of(r, r->uid, &mine);
	if (rc == 0)
		already_in_team(r, oc, mine.team_name);
	return rc == CAREID_ENOTFOUND ? 0 : rc;
}

/* Accepts in one transaction: the invitation used once, the membership, the
 * audit event. `oc` says why not when the invitation cannot be accepted. */
static int invitation_accept(struct ob_req *r, const char *token, struct invitation *inv,
                             struct outcome *oc)
{
	static const char sql_use[] = "UPDATE ob_invitations SET accepted_at = $1, accepted_by = "
	                              "$2 WHERE token_hash = $3 AND accepted_at IS NULL";
	static const char sql_join[] = "INSERT INTO ob_team_members (team_id, uid, role, "
	                               "joined_at) VALUES ($1, $2, $3, $4)";
	char hash[CRYPTO_HASH_HEX];
	json_t *detail = NULL;
	int rc;

	rc = store_begin(r->o->s);
	if (rc)
		return rc;
	rc = invitation_problem(r, invitation_find(r, token, hash, inv), inv, oc);
	if (rc || oc->status)
		goto fail;
	rc = store_exec(r->o->s, sql_use, "itt", clock_now(), r->uid, hash);
	if (rc == 0)
		refuse(oc, 400, "already_used", "This invitation has already been used.", NULL);
	if (rc > 0)
		rc = store_exec(r->o->s, sql_join, "ttti", inv->team_id, r->uid, inv->role,
		                clock_now());
	if (rc == CAREID_EEXISTS) {
		rc = 0;
		refuse(oc, 409, "already_in_team", "You are already in a team", NULL);
	}
	if (rc < 0 || oc->status)
		goto fail;
	detail = json_pack("{s:s, s:s}", "role", inv->role, "email", inv->email);
	rc = audit_record(r->o->s, r->uid, "team.joined",
	                  arena_printf(r->a, "team:%s", inv->team_id), detail);
	json_decref(detail);
	if (!rc)
		rc = store_commit(r->o->s);
	if (!rc)
		return 0;
fail:
	store_rollback(r->o->s);
	return rc < 0 ? rc : 0;
}

static json_t *invitation_json(const struct invitation *inv)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s}, s:s, s:s, s:s, s:I}", "organisation", "ods_code",
	                 inv->ods_code, "name", inv->org_name, "team", "name", inv->team_name,
	                 "email", inv->email, "role", inv->role, "invited_by", inv->inviter,
	                 "expires_at", (json_int_t)inv->expires_at);
}

/* Sign in, then back to this invitation (ob_require_account would drop the
 * query, and with it the token). */
static char *signin_href(struct ob_req *r, const char *token)
{
	char *back = arena_printf(r->a, "/onboarding/invite?token=%s", token);
	char *enc = back ? form_encode(r->a, back) : NULL;

	return enc ? arena_printf(r->a, "/onboarding/signin?return_to=%s", enc) : NULL;
}

static int invite_page_handle(struct ob_req *r)
{
	const char *token = token_of(r);
	char hash[CRYPTO_HASH_HEX];
	struct invitation inv;
	struct outcome oc;
	json_t *ctx;
	int rc;

	if (strcmp(r->req->method, "POST") == 0) {
		if (!r->uid && token) {
			char *loc = signin_href(r, token);

			return loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
		}
		rc = ob_require_account(r);
		if (rc)
			return rc > 0 ? 0 : rc;
		if (!ob_csrf_ok(r))
			return ob_error(r, 403, "csrf", MSG_CSRF_PAGE);
		rc = invitation_accept(r, token, &inv, &oc);
		if (rc)
			return rc;
		if (oc.status)
			return ob_error(r, oc.status, oc.code, oc.message);
		return http_redirect(r->res, 303, "/onboarding/team?joined=1");
	}
	rc = invitation_problem(r, invitation_find(r, token, hash, &inv), &inv, &oc);
	if (rc)
		return rc;
	if (oc.status == 400)
		return ob_error(r, 400, oc.code, oc.message);
	ctx = json_pack("{s:s, s:o, s:s, s:s, s:b, s:s?}", "title",
	                arena_printf(r->a, "Join team %s", inv.team_name), "invitation",
	                invitation_json(&inv), "token", token, "expires",
	                london_date(r, inv.expires_at), "as_owner", strcmp(inv.role, "owner") == 0,
	                "problem", oc.message);
	if (ctx && !r->uid)
		json_object_set_new(ctx, "signin_href", json_string(signin_href(r, token)));
	else if (ctx && !oc.status)
		json_object_set_new(ctx, "can_accept", json_true());
	return ob_page(r, 200, "ob_invite", ctx);
}

int orgs_handle(struct ob_req *r)
{
	int rc;

	if (strcmp(r->path, "/invite") == 0)
		return invite_page_handle(r);
	rc = ob_require_account(r);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->req->method, "POST") == 0 && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", MSG_CSRF_PAGE);
	if (strcmp(r->path, "/organisation") == 0)
		return org_handle(r);
	if (strcmp(r->path, "/team") == 0)
		return team_handle(r);
	return ob_error(r, 404, "not_found", "There is no such page.");
}

/* --- the API ------------------------------------------------------------ */

static int api_refused(struct ob_req *r, const struct outcome *oc)
{
	if (!oc->errors)
		return ob_error(r, oc->status, oc->code, oc->message);
	return ob_json(r, oc->status,
	               json_pack("{s:s, s:s, s:O}", "error", oc->code, "message", oc->message,
	                         "errors", oc->errors));
}

static const char *body_string(const json_t *body, const char *name)
{
	return json_string_value(json_object_get(body, name));
}

/* The JSON body, released with the request; NULL with *rc set (an answer
 * sent, or an error) when there is none. */
static json_t *api_body(struct ob_req *r, int *rc)
{
	json_t *body = ob_json_body(r, rc);

	if (body && arena_defer(r->a, decref, body)) {
		*rc = CAREID_ENOMEM;
		return NULL;
	}
	return body;
}

static int api_organisation(struct ob_req *r)
{
	struct ob_team t;
	struct outcome oc;
	json_t *body;
	int rc;

	if (strcmp(r->req->method, "GET") == 0) {
		rc = orgs_team_of(r, r->uid, &t);
		if (rc == CAREID_ENOTFOUND)
			return ob_error(r, 404, "not_in_team", MSG_NO_TEAM);
		return rc ? rc : ob_json(r, 200, team_json(&t));
	}
	if (strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET or POST /organisation.");
	body = api_body(r, &rc);
	if (!body)
		return rc;
	rc = org_register(r, body_string(body, "ods_code"), body_string(body, "name"),
	                  body_string(body, "team_name"), &oc, &t);
	if (rc)
		return rc;
	return oc.status ? api_refused(r, &oc) : ob_json(r, 201, team_json(&t));
}

static int api_invitations(struct ob_req *r)
{
	struct pending p = {0};
	struct ob_team t;
	struct outcome oc;
	json_t *body;
	int rc;

	if (strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed",
		                "POST /invitations; GET /team lists them.");
	body = api_body(r, &rc);
	if (!body)
		return rc;
	p.email = body_string(body, "email");
	p.role = body_string(body, "role");
	rc = invite(r, &p, &oc, &t);
	if (rc)
		return rc;
	if (oc.status)
		return api_refused(r, &oc);
	return ob_json(r, 201,
	               json_pack("{s:s, s:s, s:I}", "email", p.email, "role", p.role, "expires_at",
	                         (json_int_t)p.expires));
}

/* GET ?token= shows an invitation; POST {token} accepts it. */
static int api_accept(struct ob_req *r)
{
	char hash[CRYPTO_HASH_HEX];
	struct invitation inv;
	struct ob_team t;
	struct outcome oc;
	json_t *body, *out;
	int rc;

	if (strcmp(r->req->method, "GET") == 0) {
		rc = invitation_problem(r, invitation_find(r, token_of(r), hash, &inv), &inv, &oc);
		if (rc)
			return rc;
		if (oc.status == 400)
			return api_refused(r, &oc);
		out = invitation_json(&inv);
		if (out)
			json_object_set_new(out, "can_accept", json_boolean(!oc.status));
		if (out && oc.status)
			json_object_set_new(out, "problem", json_string(oc.message));
		return ob_json(r, 200, out);
	}
	if (strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET or POST /invitations/accept.");
	body = api_body(r, &rc);
	if (!body)
		return rc;
	rc = invitation_accept(r, token_ok(body_string(body, "token")), &inv, &oc);
	if (!rc && !oc.status)
		rc = orgs_team_of(r, r->uid, &t);
	if (rc)
		return rc;
	return oc.status ? api_refused(r, &oc) : ob_json(r, 200, team_json(&t));
}

int orgs_api(struct ob_req *r)
{
	struct ob_team t;
	json_t *view;
	int rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->req->method, "GET") != 0 && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", MSG_CSRF_API);
	if (strcmp(r->path, "/organisation") == 0)
		return api_organisation(r);
	if (strcmp(r->path, "/invitations") == 0)
		return api_invitations(r);
	if (strcmp(r->path, "/invitations/accept") == 0)
		return api_accept(r);
	if (strcmp(r->path, "/team") != 0)
		return ob_error(r, 404, "not_found", "There is no such API resource.");
	if (strcmp(r->req->method, "GET") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET /team.");
	rc = orgs_team_of(r, r->uid, &t);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_in_team", MSG_NO_TEAM);
	if (!rc)
		rc = team_view(r, &t, &view);
	return rc ? rc : ob_json(r, 200, view);
}
