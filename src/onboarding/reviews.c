/* The CIS2 team's queue: every submission with its due date (5 working days
 * in England), and decisions: approve, decline, or ask for more information
 * per section. A resubmission is a new review, so the clock restarts.
 * Kinds: "saq" (subject: the SAQ), "access" (a product), "stage" (an
 * ob_stages row: which stage, and so which questionnaire, comes from it) and
 * "conformance" (a product; its answers are the checklist's snapshot). */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/questionnaire.h"
#include "onboarding/stage_int.h"

#define COMMENT_MAX 4000

int reviews_file(struct ob_req *r, const char *kind, const char *subject_id, int submission,
                 const char *answers, char due_out[11])
{
	static const char sql[] = "INSERT INTO reviews (id, subject_kind, subject_id, submission, "
	                          "submitted_by, submitted_at, due_date, answers) VALUES ($1, $2, "
	                          "$3, $4, $5, $6, $7, $8)";
	struct ymd today, due;
	char *id = ob_random_id(r);
	int rc;

	if (!id)
		return CAREID_ENOMEM;
	rc = ob_today(r->o, due_out);
	if (!rc)
		rc = workdays_date_parse(&today, due_out);
	if (rc)
		return rc;
	due = workdays_add(r->o->wd, today, REVIEW_WORKING_DAYS);
	rc = workdays_date_format(due_out, due);
	if (rc)
		return rc;
	rc = store_exec(r->o->s, sql, "tttititt", id, kind, subject_id, (int64_t)submission, r->uid,
	                clock_now(), due_out, answers);
	return rc < 0 ? rc : 0;
}

static const char *state_name(const char *due, const char *today)
{
	struct ymd d, t;

	if (workdays_date_parse(&d, due) || workdays_date_parse(&t, today))
		return "unknown";
	switch (workdays_state(d, t)) {
	case WORKDAYS_ON_TRACK:
		return "on_track";
	case WORKDAYS_DUE_TODAY:
		return "due_today";
	case WORKDAYS_OVERDUE:
		return "overdue";
	}
	return "unknown";
}

/* Words for people: the queue's states and what is being reviewed. */
static const char *state_label(const char *state)
{
	return strcmp(state, "on_track") == 0    ? "On track"
	       : strcmp(state, "due_today") == 0 ? "Due today"
	       : strcmp(state, "overdue") == 0   ? "Overdue"
	       : strcmp(state, "decided") == 0   ? "Decided"
	                                         : state;
}

/* `stage` is the ob_stages.stage of a review of kind "stage" (else NULL). */
static const char *kind_label(const char *kind, const char *stage)
{
	const struct stage_def *def = stage_def_find(stage);

	return strcmp(kind, "saq") == 0           ? "Service Assessment Questionnaire"
	       : strcmp(kind, "access") == 0      ? "CIS2 Authentication request"
	       : strcmp(kind, "conformance") == 0 ? "Technical conformance"
	       : strcmp(kind, "stage") == 0       ? (def ? def->title : "Onboarding stage")
	                                          : kind;
}

/* The questionnaire a review's answers follow (NULL for a plain request). */
static const questionnaire *kind_questionnaire(struct ob_req *r, const char *kind,
                                               const char *stage)
{
	const struct stage_def *def = stage_def_find(stage);

	if (strcmp(kind, "saq") == 0)
		return r->o->saq;
	if (strcmp(kind, "stage") == 0)
		return def ? def->questionnaire(r->o) : NULL;
	return NULL;
}

/* What the comment box of a review without a questionnaire is about. */
static const char *general_title(const char *kind)
{
	return strcmp(kind, "conformance") == 0 ? "the conformance evidence" : "the request";
}

/* The stage and the product a review is about (the SAQ has no product). */
#define SUBJECT_JOINS                                                                              \
	" LEFT JOIN ob_stages s ON r.subject_kind = 'stage' AND s.id = r.subject_id LEFT JOIN "    \
	"ob_products p ON p.id = CASE WHEN r.subject_kind = 'stage' THEN s.product_id WHEN "       \
	"r.subject_kind IN ('access', 'conformance') THEN r.subject_id END "

static int require_reviewer(struct ob_req *r)
{
	int rc = ob_require_account(r);

	if (rc)
		return rc;
	if (!r->reviewer)
		return ob_error(r, 403, "forbidden",
		                "Only the CIS2 onboarding team can see the review queue.")
		           ?: 1;
	return 0;
}

/* Open reviews by due date, then the latest decisions. */
static int queue(struct ob_req *r, json_t **out)
{
	static const char sql[] =
	    "SELECT r.id, r.subject_kind, r.subject_id, r.submission, r.submitted_at, "
	    "r.due_date, r.decision, r.decided_at, a.name, a.email, s.stage, p.id, p.name FROM "
	    "reviews r JOIN onboarding_accounts a ON a.uid = r.submitted_by" SUBJECT_JOINS
	    "ORDER BY r.decision IS NOT NULL, r.due_date, r.submitted_at, r.id LIMIT 200";
	char today[11];
	store_stmt *st = NULL;
	json_t *open = json_array(), *done = json_array();
	int rc = ob_today(r->o, today);

	if (!rc)
		rc = store_query(r->o->s, &st, sql, "");
	while (!rc && (rc = store_next(st)) == 1) {
		bool decided = !store_null(st, 6);
		json_t *row = json_pack(
		    "{s:s, s:s, s:s, s:I, s:I, s:s, s:s?, s:s, s:s, s:s, s:b}", "id",
		    store_text(st, 0), "kind", store_text(st, 1), "subject_id", store_text(st, 2),
		    "submission", (json_int_t)store_int(st, 3), "submitted_at",
		    (json_int_t)store_int(st, 4), "due_date", store_text(st, 5), "decision",
		    store_text(st, 6), "state",
		    decided ? "decided" : state_name(store_text(st, 5), today), "applicant",
		    store_text(st, 8), "email", store_text(st, 9), "overdue",
		    !decided && strcmp(state_name(store_text(st, 5), today), "overdue") == 0);

		json_object_set_new(
		    row, "state_label",
		    json_string(state_label(json_string_value(json_object_get(row, "state")))));
		json_object_set_new(
		    row, "kind_label",
		    json_string(kind_label(store_text(st, 1),
		                           store_null(st, 10) ? NULL : store_text(st, 10))));
		if (!store_null(st, 10))
			json_object_set_new(row, "stage", json_string(store_text(st, 10)));
		if (!store_null(st, 11))
			json_object_set_new(row, "product",
			                    json_pack("{s:s, s:s}", "id", store_text(st, 11),
			                              "name", store_text(st, 12)));
		json_array_append_new(decided ? done : open, row);
		rc = 0;
	}
	store_done(st);
	if (rc < 0) {
		json_decref(open);
		json_decref(done);
		return rc;
	}
	*out = json_pack("{s:o, s:o, s:s}", "open", open, "decided", done, "today", today);
	return *out ? 0 : CAREID_ENOMEM;
}

struct review {
	const char *id, *kind, *subject_id, *due_date, *decision, *submitted_by;
	const char *stage;                     /* ob_stages.stage for kind "stage" */
	const char *product_id, *product_name; /* NULL for the SAQ */
	int submission;
	json_t *answers, *comments;
};

static void decref(void *p)
{
	json_decref(p);
}

static int review_load(struct ob_req *r, const char *id, struct review *out)
{
	static const char sql[] = "SELECT r.subject_kind, r.subject_id, r.submission, r.due_date, "
	                          "r.decision, r.answers, r.comments, r.submitted_by, s.stage, "
	                          "p.id, p.name FROM reviews r" SUBJECT_JOINS "WHERE r.id = $1";
	store_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!id || strlen(id) > 64)
		return CAREID_ENOTFOUND;
	rc = store_query(r->o->s, &st, sql, "t", id);
	if (!rc && (rc = store_next(st)) == 1) {
		out->id = arena_strdup(r->a, id);
		out->kind = arena_strdup(r->a, store_text(st, 0));
		out->subject_id = arena_strdup(r->a, store_text(st, 1));
		out->submission = (int)store_int(st, 2);
		out->due_date = arena_strdup(r->a, store_text(st, 3));
		out->decision = store_null(st, 4) ? NULL : arena_strdup(r->a, store_text(st, 4));
		out->answers = json_loads(store_text(st, 5), 0, NULL);
		out->comments = store_null(st, 6) ? NULL : json_loads(store_text(st, 6), 0, NULL);
		out->submitted_by = arena_strdup(r->a, store_text(st, 7));
		out->stage = store_null(st, 8) ? NULL : arena_strdup(r->a, store_text(st, 8));
		out->product_id = store_null(st, 9) ? NULL : arena_strdup(r->a, store_text(st, 9));
		out->product_name =
		    store_null(st, 10) ? NULL : arena_strdup(r->a, store_text(st, 10));
		arena_defer(r->a, decref, out->answers);
		if (out->comments)
			arena_defer(r->a, decref, out->comments);
		rc = out->answers ? 0 : CAREID_ESTORE;
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

/* A scalar as text for people ("" for objects and arrays). */
static const char *scalar_text(struct ob_req *r, const json_t *v)
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		return arena_printf(r->a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_true(v))
		return "Yes";
	if (json_is_false(v))
		return "No";
	return json_is_null(v) ? "None" : "";
}

/* A fact's key as words: "ods_code" → "ODS code", "requested_by" → "Requested by". */
static const char *fact_label(struct ob_req *r, const char *key)
{
	static const char *const known[][2] = {
	    {"ods_code", "ODS code"},         {"product_id", "Product ID"},
	    {"evaluated_at", "Evaluated at"}, {"issuer", "Issuer (INT)"},
	    {"clients", "Clients in INT"},
	};
	char *label;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i][0], key) == 0)
			return known[i][1];
	label = arena_strdup(r->a, key);
	for (char *c = label; c && *c; c++)
		if (*c == '_')
			*c = ' ';
	if (label && *label >= 'a' && *label <= 'z')
		*label = (char)(*label - 'a' + 'A');
	return label ? label : key;
}

/*
 * One item of a conformance checklist snapshot ({id, title, met, at,
 * client_id, reason}: checklist.h) as a row: "Met at … by client …" or
 * "Not met: reason".
 */
static json_t *checklist_row(struct ob_req *r, const json_t *item)
{
	const char *title = json_string_value(json_object_get(item, "title"));
	const char *at = json_string_value(json_object_get(item, "at"));
	const char *client = json_string_value(json_object_get(item, "client_id"));
	const char *reason = json_string_value(json_object_get(item, "reason"));
	const char *value;

	if (!title)
		title = json_string_value(json_object_get(item, "id"));
	if (json_is_true(json_object_get(item, "met")))
		value = arena_printf(r->a, "Met%s%s%s%s", at ? " at " : "", at ? at : "",
		                     client ? " by client " : "", client ? client : "");
	else
		value = arena_printf(r->a, "Not met%s%s", reason ? ": " : "", reason ? reason : "");
	return json_pack("{s:s, s:s?}", "label", title ? title : "Item", "value", value);
}

/*
 * What the reviewer reads of a review without a questionnaire: the request's
 * facts ("access"), or the conformance checklist's snapshot, an array of
 * items or an object holding one ("items", "checklist") beside facts.
 */
static json_t *plain_summary(struct ob_req *r, const struct review *v)
{
	const json_t *items = json_is_array(v->answers) ? v->answers : NULL;
	json_t *facts = json_array(), *checks = json_array(), *val, *out;
	const char *k;
	size_t i;

	json_object_foreach(v->answers, k, val)
	{
		if (json_is_array(val) && !items &&
		    (strcmp(k, "items") == 0 || strcmp(k, "checklist") == 0))
			items = val;
		else if (!json_is_object(val) && !json_is_array(val))
			json_array_append_new(facts,
			                      json_pack("{s:s, s:s}", "label", fact_label(r, k),
			                                "value", scalar_text(r, val)));
	}
	json_array_foreach(items, i, val)
	{
		if (json_is_object(val))
			json_array_append_new(checks, checklist_row(r, val));
	}
	out = json_pack("[{s:s, s:o}]", "title", kind_label(v->kind, v->stage), "rows", facts);
	if (out && json_array_size(checks))
		json_array_append_new(
		    out, json_pack("{s:s, s:o}", "title", "Checklist", "rows", checks));
	else
		json_decref(checks);
	return out;
}

/* What the reviewer reads: a questionnaire's answers by section, or the
 * facts of a request or a conformance checklist. */
static json_t *review_summary(struct ob_req *r, const struct review *v)
{
	const questionnaire *q = kind_questionnaire(r, v->kind, v->stage);

	return q ? questionnaire_summary(q, v->answers) : plain_summary(r, v);
}

static json_t *review_json(struct ob_req *r, const struct review *v)
{
	char today[11] = "";
	const char *state;
	json_t *j;

	ob_today(r->o, today);
	state = v->decision ? "decided" : state_name(v->due_date, today);
	j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s?, s:O, s:O?, s:o, s:s?}", "id",
	              v->id, "kind", v->kind, "kind_label", kind_label(v->kind, v->stage),
	              "subject_id", v->subject_id, "submission", v->submission, "due_date",
	              v->due_date, "state", state, "state_label", state_label(state), "decision",
	              v->decision, "answers", v->answers, "comments", v->comments, "summary",
	              review_summary(r, v), "stage", v->stage);
	if (j && v->product_id)
		json_object_set_new(
		    j, "product",
		    json_pack("{s:s, s:s}", "id", v->product_id, "name", v->product_name));
	return j;
}

/*
 * Why the signed-in reviewer may not decide `v` (*why), or NULL: nobody
 * decides on a submission of their own or of their own team's (a member of
 * the CIS2 onboarding team may also belong to a supplier's team).
 */
static int conflict_of(struct ob_req *r, const struct review *v, const char **why)
{
	static const char sql[] = "SELECT team_id FROM ob_products WHERE id = $1";
	struct ob_team mine, theirs;
	const char *team = NULL;
	store_stmt *st = NULL;
	int rc;

	*why = NULL;
	if (v->submitted_by && strcmp(v->submitted_by, r->uid) == 0) {
		*why = "You made this submission: another member of the CIS2 onboarding team must "
		       "decide on it.";
		return 0;
	}
	memset(&mine, 0, sizeof(mine));
	rc = orgs_team_of(r, r->uid, &mine);
	if (rc == CAREID_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v->product_id) {
		rc = store_query(r->o->s, &st, sql, "t", v->product_id);
		if (!rc && (rc = store_next(st)) == 1) {
			team = arena_strdup(r->a, store_text(st, 0));
			rc = team ? 0 : CAREID_ENOMEM;
		}
		store_done(st);
		if (rc < 0)
			return rc;
	} else if (v->submitted_by) { /* the SAQ: its applicant's team */
		memset(&theirs, 0, sizeof(theirs));
		rc = orgs_team_of(r, v->submitted_by, &theirs);
		if (rc && rc != CAREID_ENOTFOUND)
			return rc;
		team = rc ? NULL : theirs.team_id;
	}
	if (team && mine.team_id && strcmp(team, mine.team_id) == 0)
		*why = "This is a submission of your own team: another member of the CIS2 "
		       "onboarding team must decide on it.";
	return 0;
}

/*
 * Records a decision: "approve", "decline" or "more_info" (which needs a
 * comment on at least one section). One decision per review: a second one
 * answers CAREID_EUSED. The subject's state, the e-mail to the applicant and
 * the audit event commit with it.
 */
static int decide(struct ob_req *r, const struct review *v, const char *decision, json_t *comments,
                  const char **problem)
{
	static const char sql_decide[] = "UPDATE reviews SET decision = $1, comments = $2, "
	                                 "decided_by = $3, decided_at = $4 WHERE id = $5 AND "
	                                 "decision IS NULL";
	static const char sql_saq[] = "UPDATE saqs SET state = $1, updated_at = $2 WHERE id = $3 "
	                              "AND state = 'submitted'";
	static const char sql_email[] =
	    "SELECT email, name FROM onboarding_accounts WHERE uid = $1";
	const char *state, *subject_line, *what;
	char *text = NULL, *body, *email = NULL, *name = NULL;
	struct buf notes;
	store_stmt *st = NULL;
	json_t *detail = NULL;
	const char *k;
	json_t *val;
	int rc;

	*problem = NULL;
	if (!decision || (strcmp(decision, "approve") && strcmp(decision, "decline") &&
	                  strcmp(decision, "more_info"))) {
		*problem = "Choose approve, decline or request more information";
		return 0;
	}
	json_object_foreach(comments, k, val)
	{
		if (!json_is_string(val) || strlen(json_string_value(val)) > COMMENT_MAX) {
			*problem = "Comments must be text of up to 4,000 characters";
			return 0;
		}
	}
	if (strcmp(decision, "more_info") == 0 && !json_object_size(comments)) {
		*problem = "Say what more information is needed, against at least one section";
		return 0;
	}
	state = strcmp(decision, "approve") == 0   ? "approved"
	        : strcmp(decision, "decline") == 0 ? "declined"
	                                           : "more_info";
	text = json_dumps(comments, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return CAREID_ENOMEM;
	buf_init(&notes, 64 * 1024);
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = store_exec(r->o->s, sql_decide, "tttit", decision, text, r->uid, clock_now(), v->id);
	if (rc == 0) {
		rc = CAREID_EUSED;
		goto fail;
	}
	if (rc > 0 && strcmp(v->kind, "saq") == 0)
		rc = store_exec(r->o->s, sql_saq, "tit", state, clock_now(), v->subject_id);
	if (rc < 0)
		goto fail;
	if (strcmp(v->kind, "access") == 0) {
		/* the product's team hears of it from products.c */
		rc = products_access_decided(r, v->subject_id, decision);
		goto audit;
	}
	if (strcmp(v->kind, "stage") == 0) {
		rc = stage_decided(r, v->subject_id, decision, comments);
		goto audit;
	}
	if (strcmp(v->kind, "conformance") == 0) {
		/* the product's team hears of it from conformance.c */
		rc = conformance_decided(r, v->subject_id, decision, comments);
		goto audit;
	}
	rc = store_query(r->o->s, &st, sql_email, "t", v->submitted_by);
	if (!rc && (rc = store_next(st)) == 1) {
		email = strdup(store_text(st, 0));
		name = strdup(store_text(st, 1));
		rc = email && name ? 0 : CAREID_ENOMEM;
	}
	store_done(st);
	if (rc)
		goto fail;
	json_object_foreach(comments, k, val)
	{
		int i = questionnaire_section_find(r->o->saq, k);
		const char *title = i >= 0 ? questionnaire_section_title(r->o->saq, (size_t)i) : k;

		rc = buf_printf(&notes, "\n%s:\n%s\n", title, json_string_value(val));
		if (rc)
			goto fail;
	}
	what = strcmp(state, "approved") == 0 ? "has been approved"
	       : strcmp(state, "declined") == 0
	           ? "has been declined"
	           : "needs more information before the team can decide";
	subject_line = strcmp(state, "more_info") == 0 ? "More information needed: CIS2 application"
	                                               : "Decision on your CIS2 application";
	body = arena_printf(
	    r->a,
	    "Hello %s,\n\nYour Service Assessment Questionnaire (submission %d) %s.\n%s"
	    "\n%s/onboarding/saq\n",
	    name, v->submission, what, notes.len ? notes.ptr : "", r->o->public_url);
	rc = body ? notify_mail(r, email, subject_line, body) : CAREID_ENOMEM;
audit:
	detail = json_pack("{s:s, s:i, s:O}", "decision", decision, "submission", v->submission,
	                   "comments", comments);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "review.decided",
		                  arena_printf(r->a, "%s:%s", v->kind, v->subject_id), detail);
	if (rc)
		goto fail;
	rc = store_commit(r->o->s);
	goto out;
fail:
	store_rollback(r->o->s);
out:
	json_decref(detail);
	buf_release(&notes);
	free(text);
	free(email);
	free(name);
	return rc;
}

static int review_page(struct ob_req *r, int status, const struct review *v, const char *problem)
{
	const questionnaire *q = kind_questionnaire(r, v->kind, v->stage);
	json_t *sections = json_array();

	for (size_t i = 0; q && i < questionnaire_section_count(q); i++) {
		const char *id = questionnaire_section_id(q, i);

		json_array_append_new(
		    sections, json_pack("{s:s, s:s, s:s?}", "id", id, "title",
		                        questionnaire_section_title(q, i), "comment",
		                        json_string_value(json_object_get(v->comments, id))));
	}
	if (!q)
		json_array_append_new(
		    sections,
		    json_pack("{s:s, s:s, s:s?}", "id", "general", "title", general_title(v->kind),
		              "comment",
		              json_string_value(json_object_get(v->comments, "general"))));
	return ob_page(r, status, "review",
	               json_pack("{s:s, s:o, s:o, s:s?}", "title", "Review", "review",
	                         review_json(r, v), "sections", sections, "problem", problem));
}

/* Comments from the form: comment_<section id> fields that are not empty. */
static json_t *form_comments(struct ob_req *r, const struct review *rv)
{
	const questionnaire *q = kind_questionnaire(r, rv->kind, rv->stage);
	const char *general = form_get(&r->req->form, "comment_general");
	json_t *c = json_object();

	for (size_t i = 0; q && i < questionnaire_section_count(q); i++) {
		const char *id = questionnaire_section_id(q, i);
		char field[160];
		const char *v;

		snprintf(field, sizeof(field), "comment_%s", id);
		v = form_get(&r->req->form, field);
		if (v && *v)
			json_object_set_new(c, id, json_string(v));
	}
	if (general && *general)
		json_object_set_new(c, "general", json_string(general));
	return c;
}

int reviews_handle(struct ob_req *r)
{
	const char *problem = NULL;
	struct review v;
	json_t *q, *comments;
	int rc = require_reviewer(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->path, "/review") == 0) {
		rc = queue(r, &q);
		if (!rc)
			json_object_set_new(q, "title", json_string("Review queue"));
		return rc ? rc : ob_page(r, 200, "review_queue", q);
	}
	rc = review_load(r, r->path + 8, &v);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such review.");
	if (rc)
		return rc;
	if (strcmp(r->req->method, "POST") != 0)
		return review_page(r, 200, &v, NULL);
	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	rc = conflict_of(r, &v, &problem);
	if (rc)
		return rc;
	if (problem)
		return review_page(r, 403, &v, problem);
	comments = form_comments(r, &v);
	rc = decide(r, &v, form_get(&r->req->form, "decision"), comments, &problem);
	json_decref(comments);
	if (rc == CAREID_EUSED)
		return review_page(r, 409, &v, "This submission has been decided already.");
	if (rc)
		return rc;
	if (problem)
		return review_page(r, 400, &v, problem);
	return http_redirect(r->res, 303, "/onboarding/review");
}

int reviews_api(struct ob_req *r)
{
	const char *id, *slash, *problem = NULL;
	struct review v;
	json_t *q, *body, *empty;
	int rc = require_reviewer(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->path, "/reviews") == 0) {
		rc = queue(r, &q);
		return rc ? rc : ob_json(r, 200, q);
	}
	if (strncmp(r->path, "/reviews/", 9) != 0)
		return ob_error(r, 404, "not_found", "There is no such API resource.");
	id = arena_strdup(r->a, r->path + 9);
	slash = id ? strchr(id, '/') : NULL;
	if (slash)
		*(char *)slash = '\0';
	rc = review_load(r, id, &v);
	if (rc == CAREID_ENOTFOUND)
		return ob_error(r, 404, "not_found", "There is no such review.");
	if (rc)
		return rc;
	if (!slash && strcmp(r->req->method, "GET") == 0)
		return ob_json(r, 200, review_json(r, &v));
	if (!slash || strcmp(slash + 1, "decision") != 0 || strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "POST /reviews/{id}/decision.");
	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	rc = conflict_of(r, &v, &problem);
	if (rc)
		return rc;
	if (problem)
		return ob_error(r, 403, "conflict_of_interest", problem);
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	q = json_object_get(body, "comments");
	if (q && !json_is_object(q)) {
		json_decref(body);
		return ob_error(r, 400, "invalid_request", "comments must be an object by section");
	}
	empty = q ? NULL : json_object();
	rc = decide(r, &v, json_string_value(json_object_get(body, "decision")), q ? q : empty,
	            &problem);
	json_decref(empty);
	json_decref(body);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_decided",
		                "This submission has been decided already.");
	if (rc)
		return rc;
	if (problem)
		return ob_error(r, 400, "invalid_decision", problem);
	rc = review_load(r, id, &v);
	return rc ? rc : ob_json(r, 200, review_json(r, &v));
}
