/* The Connection Agreement (CIS2-PROFILE.md, "Get your software assured"):
 * read by the team, accepted once per product by an owner of its team, who
 * ticks a box and types their full name, once the CIS2 team has confirmed
 * technical conformance. Live credentials wait for it (envclients.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/agreement_int.h"
#include "onboarding/onboarding_int.h"

#define TEXT_FILE_MAX (256 * 1024)
#define TEXT_MAX      4000
#define CLAUSES_MAX   50

/* --- the text ------------------------------------------------------------ */

static int bad(const char *name, const char *what)
{
	return careid_error_set(CAREID_EINVALID, "%s: %s", name, what);
}

static bool text_ok(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && *s && strlen(s) <= TEXT_MAX;
}

/* Only `allowed` keys in `o`. */
static const char *unknown_key(const json_t *o, const char *const *allowed)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v)
	{
		const char *const *a = allowed;

		while (*a && strcmp(*a, k) != 0)
			a++;
		if (!*a)
			return k;
	}
	return NULL;
}

static int paragraphs_check(const json_t *a, bool optional)
{
	size_t i;
	json_t *p;

	if (!a)
		return optional ? 0 : -1;
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > CLAUSES_MAX)
		return -1;
	json_array_foreach(a, i, p)
	{
		if (!text_ok(p))
			return -1;
	}
	return 0;
}

static int text_check(const json_t *t, const char *name)
{
	static const char *const top[] = {"id",           "version", "title", "notice",
	                                  "introduction", "clauses", NULL};
	static const char *const clause_keys[] = {"heading", "paragraphs", NULL};
	const json_t *clauses = json_object_get(t, "clauses"), *c;
	json_int_t version = json_integer_value(json_object_get(t, "version"));
	const char *k;
	size_t i;

	if (!json_is_object(t))
		return bad(name, "not a JSON object");
	if ((k = unknown_key(t, top)))
		return careid_error_set(CAREID_EINVALID, "%s: unknown key '%s'", name, k);
	if (!text_ok(json_object_get(t, "id")) || !text_ok(json_object_get(t, "title")) ||
	    !text_ok(json_object_get(t, "notice")))
		return bad(name, "\"id\", \"title\" and \"notice\" must be non-empty text");
	if (!json_is_integer(json_object_get(t, "version")) || version < 1 || version > 1000000)
		return bad(name, "\"version\" must be an integer from 1");
	if (paragraphs_check(json_object_get(t, "introduction"), true))
		return bad(name, "\"introduction\" must be a list of paragraphs of text");
	if (!json_is_array(clauses) || json_array_size(clauses) == 0 ||
	    json_array_size(clauses) > CLAUSES_MAX)
		return bad(name, "\"clauses\" must be a list of 1 to 50 clauses");
	json_array_foreach(clauses, i, c)
	{
		if (!json_is_object(c))
			return careid_error_set(CAREID_EINVALID, "%s: clause %zu is not an object",
			                        name, i + 1);
		if ((k = unknown_key(c, clause_keys)))
			return careid_error_set(CAREID_EINVALID, "%s: clause %zu: unknown key '%s'",
			                        name, i + 1, k);
		if (!text_ok(json_object_get(c, "heading")) ||
		    paragraphs_check(json_object_get(c, "paragraphs"), false))
			return careid_error_set(CAREID_EINVALID,
			                        "%s: clause %zu needs a \"heading\" and "
			                        "\"paragraphs\" of text",
			                        name, i + 1);
	}
	return 0;
}

int agreement_text_parse(json_t **out, const char *json_text, const char *name)
{
	json_error_t jerr;
	json_t *t = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	*out = NULL;
	if (!t)
		return careid_error_set(CAREID_EINVALID, "%s: line %d: %s", name, jerr.line,
		                        jerr.text);
	rc = text_check(t, name);
	if (rc) {
		json_decref(t);
		return rc;
	}
	*out = t;
	return 0;
}

int agreement_text_load(json_t **out, const char *path)
{
	const char *base = strrchr(path, '/');
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n;
	int rc;

	*out = NULL;
	base = base ? base + 1 : path;
	if (!f)
		return careid_error_set(CAREID_EIO, "%s: %s", path, strerror(errno));
	text = malloc(TEXT_FILE_MAX + 1);
	if (!text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	n = fread(text, 1, TEXT_FILE_MAX + 1, f);
	if (ferror(f))
		rc = careid_error_set(CAREID_EIO, "%s: read error", path);
	else if (n > TEXT_FILE_MAX)
		rc = careid_error_set(CAREID_EINVALID, "%s: larger than 256 KiB", base);
	else if ((text[n] = '\0', strlen(text) != n))
		rc = careid_error_set(CAREID_EINVALID, "%s: NUL byte in file", base);
	else
		rc = agreement_text_parse(out, text, base);
out:
	free(text);
	fclose(f);
	return rc;
}

json_t *agreement_input_errors(bool ticked, const char *full_name)
{
	json_t *errors = json_object();
	size_t chars = 0;
	bool control = false, visible = false;

	if (!errors)
		return NULL;
	for (const char *p = full_name ? full_name : ""; *p; p++) {
		unsigned char c = (unsigned char)*p;

		control = control || c < 0x20 || c == 0x7f;
		visible = visible || (c != ' ' && c != '\t');
		chars += (c & 0xc0) != 0x80;
	}
	if (!ticked)
		json_object_set_new(
		    errors, "accept",
		    json_string("Tick the box to accept the Connection Agreement on "
		                "behalf of your organisation"));
	if (!visible)
		json_object_set_new(errors, "full_name", json_string("Enter your full name"));
	else if (control)
		json_object_set_new(
		    errors, "full_name",
		    json_string("Full name must not contain line breaks or control characters"));
	else if (chars > AGREEMENT_NAME_MAX)
		json_object_set_new(errors, "full_name",
		                    json_string("Full name must be 200 characters or fewer"));
	return errors;
}

/* --- acceptance ---------------------------------------------------------- */

struct acceptance {
	bool accepted;
	int version;
	const char *name;    /* as typed */
	const char *by_name; /* the account's name and e-mail address */
	const char *by_email;
	int64_t at;
	const char *on; /* "YYYY-MM-DD", in London */
};

static int acceptance_load(struct ob_req *r, const char *product_id, struct acceptance *out)
{
	static const char sql[] = "SELECT g.agreement_version, g.accepted_name, g.accepted_at, "
	                          "a.name, a.email FROM ob_agreements g LEFT JOIN "
	                          "onboarding_accounts a ON a.uid = g.accepted_by WHERE "
	                          "g.product_id = $1";
	store_stmt *st = NULL;
	char day[WORKDAYS_DATE_LEN] = "";
	struct ymd d;
	int rc = store_query(r->o->s, &st, sql, "t", product_id);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->accepted = true;
		out->version = (int)store_int(st, 0);
		out->name = arena_strdup(r->a, store_text(st, 1));
		out->at = store_int(st, 2);
		out->by_name = store_null(st, 3) ? NULL : arena_strdup(r->a, store_text(st, 3));
		out->by_email = store_null(st, 4) ? NULL : arena_strdup(r->a, store_text(st, 4));
		if (workdays_london_date(&d, out->at) == 0)
			workdays_date_format(day, d);
		out->on = arena_strdup(r->a, day);
		rc = out->name && out->on ? 0 : CAREID_ENOMEM;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

bool agreement_accepted(struct ob_req *r, const char *product_id)
{
	struct acceptance a;

	return acceptance_load(r, product_id, &a) == 0 && a.accepted;
}

static bool is_owner(const struct ob_product *p)
{
	return p->t && p->t->role && strcmp(p->t->role, "owner") == 0;
}

/* Why a caller cannot accept the agreement now; status 0 when they can. */
struct refusal {
	int status; /* 403 or 409 */
	const char *code;
	const char *message;
};

static struct refusal refusal_of(struct ob_req *r, const struct ob_product *p,
                                 const struct acceptance *a, bool conformance)
{
	struct refusal no = {0, NULL, NULL};

	if (p->as_reviewer)
		no = (struct refusal){403, "not_in_team",
		                      "Only an owner of the product's team can accept the "
		                      "Connection Agreement."};
	else if (a->accepted)
		no = (struct refusal){409, "already_accepted",
		                      arena_printf(r->a,
		                                   "The Connection Agreement has already been "
		                                   "accepted for %s, by %s on %s.",
		                                   p->name, a->name, a->on)};
	else if (!is_owner(p))
		no = (struct refusal){403, "not_owner",
		                      arena_printf(r->a,
		                                   "Only an owner of your team can accept the "
		                                   "Connection Agreement. Ask an owner of %s to "
		                                   "accept it.",
		                                   p->t ? p->t->team_name : "the team")};
	else if (!conformance)
		no =
		    (struct refusal){403, "conformance_not_achieved",
		                     "The Connection Agreement can be accepted once technical "
		                     "conformance is achieved: the CIS2 team confirms it from your "
		                     "product's tests in the integration (INT) environment."};
	if (no.status && !no.message)
		no.message = "The Connection Agreement cannot be accepted now.";
	return no;
}

/* Records the acceptance, its audit event and the e-mail to the team in one
 * transaction; CAREID_EEXISTS when it was accepted meanwhile. */
static int accept(struct ob_req *r, const struct ob_product *p, const char *name)
{
	static const char sql[] = "INSERT INTO ob_agreements (product_id, agreement_version, "
	                          "accepted_by, accepted_name, accepted_at) VALUES ($1, $2, $3, "
	                          "$4, $5)";
	int64_t version = json_integer_value(json_object_get(r->o->agreement, "version"));
	const char *title = json_string_value(json_object_get(r->o->agreement, "title"));
	json_t *detail = json_pack("{s:I, s:s}", "version", (json_int_t)version, "name", name);
	json_t *emails = NULL, *e;
	char *body;
	size_t i;
	int rc = detail ? store_begin(r->o->s) : CAREID_ENOMEM;

	if (rc)
		goto out;
	rc = store_exec(r->o->s, sql, "titti", p->id, version, r->uid, name, clock_now());
	if (rc >= 0)
		rc = audit_record(r->o->s, r->uid, "agreement.accepted",
		                  arena_printf(r->a, "product:%s", p->id), detail);
	body = arena_printf(r->a,
	                    "Hello,\n\n%s (%s) accepted the %s (version %lld) for %s, on behalf "
	                    "of %s, signing as \"%s\".\n\nOnce technical conformance is "
	                    "achieved and the agreement accepted, your team can register "
	                    "clients in Live.\n\n%s/onboarding/products/%s/agreement\n",
	                    r->name, r->email, title, (long long)version, p->name, p->t->org_name,
	                    name, r->o->public_url, p->id);
	if (rc >= 0)
		rc = body ? orgs_team_emails(r, p->team_id, &emails) : CAREID_ENOMEM;
	json_array_foreach(emails, i, e)
	{
		if (rc >= 0)
			rc = notify_mail(
			    r, json_string_value(e),
			    arena_printf(r->a, "Connection Agreement accepted: %s", p->name), body);
	}
	if (rc >= 0)
		rc = store_commit(r->o->s);
	else
		store_rollback(r->o->s);
out:
	json_decref(emails);
	json_decref(detail);
	return rc < 0 ? rc : 0;
}

/* --- pages and API ------------------------------------------------------- */

/* A copy in the arena without surrounding white space ("" for NULL). */
static char *trimmed(struct ob_req *r, const char *s)
{
	size_t n;

	if (!s)
		s = "";
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return arena_strndup(r->a, s, n);
}

static json_t *acceptance_json(const struct acceptance *a)
{
	if (!a->accepted)
		return NULL;
	return json_pack("{s:i, s:s, s:I, s:s, s:{s:s?, s:s?}}", "version", a->version, "full_name",
	                 a->name, "accepted_at", (json_int_t)a->at, "accepted_on", a->on,
	                 "accepted_by", "name", a->by_name, "email", a->by_email);
}

static json_t *view_json(struct ob_req *r, const struct ob_product *p, const struct acceptance *a,
                         bool conformance)
{
	struct refusal no = refusal_of(r, p, a, conformance);

	return json_pack("{s:s, s:O, s:b, s:o*, s:b, s:b, s:b, s:s?, s:s?}", "product_id", p->id,
	                 "agreement", r->o->agreement, "accepted", a->accepted, "acceptance",
	                 acceptance_json(a), "conformance_achieved", conformance, "owner",
	                 is_owner(p), "can_accept", no.status == 0, "refusal", no.code,
	                 "refusal_message", no.message);
}

static const char *const FIELDS[] = {"accept", "full_name", NULL};

static int agreement_page(struct ob_req *r, int status, const struct ob_product *p,
                          const struct acceptance *a, bool conformance, const json_t *errors,
                          const char *name)
{
	json_t *ctx = view_json(r, p, a, conformance), *list = json_array();
	bool has_errors = errors && json_object_size(errors);

	for (const char *const *f = FIELDS; has_errors && *f; f++) {
		json_t *v = json_object_get(errors, *f);

		if (v)
			json_array_append_new(
			    list, json_pack("{s:s, s:O}", "href",
			                    strcmp(*f, "accept") == 0 ? "#accept" : "#full_name",
			                    "text", v));
	}
	if (ctx)
		json_object_update_new(
		    ctx,
		    json_pack("{s:s, s:{s:s, s:s}, s:b, s:o, s:O?, s:s?, s:b, s:b, s:b, s:b, s:s?}",
		              "title",
		              has_errors ? "Error: Connection Agreement" : "Connection Agreement",
		              "product", "id", p->id, "name", p->name, "has_errors", has_errors,
		              "error_list", list, "errors", errors, "full_name", name,
		              "as_reviewer", p->as_reviewer, "not_owner",
		              !p->as_reviewer && !a->accepted && !is_owner(p), "waiting",
		              !p->as_reviewer && !a->accepted && is_owner(p) && !conformance,
		              "notice_accepted", form_get(&r->req->query, "accepted") != NULL,
		              "org_name", p->t ? p->t->org_name : NULL));
	else
		json_decref(list);
	return ob_page(r, status, "ob_agreement", ctx);
}

/* Loads what both the page and the API need; 1 when an answer was sent. */
static int agreement_open(struct ob_req *r, const struct ob_product *p, const char *rest,
                          struct acceptance *a, bool *conformance)
{
	int rc;

	if (strcmp(rest, "/agreement") != 0)
		return ob_error(r, 404, "not_found",
		                r->api ? "There is no such resource." : "There is no such page.")
		           ?: 1;
	rc = acceptance_load(r, p->id, a);
	if (rc)
		return rc;
	*conformance = conformance_achieved(r, p->id);
	return 0;
}

int agreement_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *name, *ticked;
	struct refusal no;
	struct acceptance a;
	bool conformance;
	json_t *errors;
	int rc = agreement_open(r, p, rest, &a, &conformance);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->req->method, "POST") != 0)
		return agreement_page(r, 200, p, &a, conformance, NULL, NULL);
	no = refusal_of(r, p, &a, conformance);
	if (no.status)
		return ob_error(r, no.status, no.code, no.message);
	ticked = form_get(&r->req->form, "accept");
	name = trimmed(r, form_get(&r->req->form, "full_name"));
	errors = name ? agreement_input_errors(ticked && strcmp(ticked, "yes") == 0, name) : NULL;
	if (!errors)
		return CAREID_ENOMEM;
	if (json_object_size(errors)) {
		rc = agreement_page(r, 400, p, &a, conformance, errors, name);
		json_decref(errors);
		return rc;
	}
	json_decref(errors);
	rc = accept(r, p, name);
	if (rc == CAREID_EEXISTS) /* by another owner, meanwhile */
		return ob_error(r, 409, "already_accepted",
		                "The Connection Agreement was accepted meanwhile.");
	return rc ? rc
	          : http_redirect(
	                r->res, 303,
	                arena_printf(r->a, "/onboarding/products/%s/agreement?accepted=1", p->id));
}

int agreement_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method, *name;
	struct refusal no;
	struct acceptance a;
	bool conformance;
	json_t *body, *errors, *ticked;
	int rc = agreement_open(r, p, rest, &a, &conformance);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(m, "GET") == 0)
		return ob_json(r, 200, view_json(r, p, &a, conformance));
	if (strcmp(m, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "GET or POST /agreement.");
	no = refusal_of(r, p, &a, conformance);
	if (no.status)
		return ob_error(r, no.status, no.code, no.message);
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	ticked = json_object_get(body, "accept");
	name = trimmed(r, json_string_value(json_object_get(body, "full_name")));
	errors = name ? agreement_input_errors(json_is_true(ticked), name) : NULL;
	json_decref(body);
	if (!errors)
		return CAREID_ENOMEM;
	if (json_object_size(errors))
		return ob_json(r, 400,
		               json_pack("{s:s, s:s, s:o}", "error", "invalid_acceptance",
		                         "message", "The Connection Agreement was not accepted.",
		                         "errors", errors));
	json_decref(errors);
	rc = accept(r, p, name);
	if (rc == CAREID_EEXISTS)
		return ob_error(r, 409, "already_accepted",
		                "The Connection Agreement was accepted meanwhile.");
	if (rc)
		return rc;
	rc = acceptance_load(r, p->id, &a);
	return rc ? rc : ob_json(r, 200, view_json(r, p, &a, conformance));
}
