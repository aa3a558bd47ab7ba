/* A product's 'Setup and eligibility' stage: 3 sections saved as drafts one
 * at a time, submitted together for review once every section is complete
 * (the use case's checklist ticked), decided by the CIS2 team. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/questionnaire.h"

#define STAGE_NAME "setup_eligibility"

/* The product the request is about, checked by products.c against the team. */
struct product_ref {
	const struct ob_team *t;
	const char *id;
	const char *name;
};

struct stage {
	const char *id;    /* NULL until the first draft is saved */
	const char *state; /* draft, submitted, more_info, approved, declined */
	json_t *answers;   /* never NULL; owned by the request's arena */
	int version;
	int submissions;
};

static void decref(void *p)
{
	json_decref(p);
}

/* Hands `j` (a new reference) to the arena; NULL when it cannot. */
static json_t *arena_json(struct ob_req *r, json_t *j)
{
	if (j && arena_defer(r->a, decref, j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The product's stage; an empty one (id NULL, no answers) when not started. */
static int stage_load(struct ob_req *r, const char *product_id, struct stage *out)
{
	static const char sql[] = "SELECT id, state, answers, questionnaire_version, submissions "
	                          "FROM ob_stages WHERE product_id = $1 AND stage = $2";
	store_stmt *st = NULL;
	json_t *answers = NULL;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, STAGE_NAME);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->id = arena_strdup(r->a, store_text(st, 0));
		out->state = arena_strdup(r->a, store_text(st, 1));
		answers = json_loads(store_text(st, 2), 0, NULL);
		out->version = (int)store_int(st, 3);
		out->submissions = (int)store_int(st, 4);
		rc = out->id && out->state && json_is_object(answers) ? 0 : CAREID_ESTORE;
	}
	store_done(st);
	if (rc < 0) {
		json_decref(answers);
		return rc;
	}
	out->answers = arena_json(r, answers ? answers : json_object());
	return out->answers ? 0 : CAREID_ENOMEM;
}

static bool editable(const struct stage *s)
{
	return !s->state || strcmp(s->state, "draft") == 0 || strcmp(s->state, "more_info") == 0;
}

/*
 * Saves `answers` (a new reference, taken) as the draft, creating the stage
 * on the first save. CAREID_EUSED when it was submitted meanwhile.
 */
static int stage_save(struct ob_req *r, const struct product_ref *p, struct stage *s,
                      json_t *answers)
{
	static const char sql_new[] = "INSERT INTO ob_stages (id, product_id, stage, "
	                              "questionnaire_version, answers, state, created_at, "
	                              "updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7)";
	static const char sql_upd[] = "UPDATE ob_stages SET answers = $1, questionnaire_version = "
	                              "$2, updated_at = $3 WHERE id = $4 AND state IN ('draft', "
	                              "'more_info')";
	char *text = NULL, *id = NULL;
	int64_t now = clock_now(), version = questionnaire_version(r->o->setup);
	json_t *detail = NULL;
	int rc;

	if (!arena_json(r, answers))
		return CAREID_ENOMEM;
	text = json_dumps(answers, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (s->id) {
		rc = store_exec(r->o->s, sql_upd, "tiit", text, version, now, s->id);
		if (rc == 0)
			rc = careid_error_set(CAREID_EUSED, "the stage was submitted meanwhile");
		goto out;
	}
	id = ob_random_id(r);
	rc = id ? store_begin(r->o->s) : CAREID_ENOMEM;
	if (rc)
		goto out;
	rc =
	    store_exec(r->o->s, sql_new, "tttitii", id, p->id, STAGE_NAME, version, text, now, now);
	if (rc == CAREID_EEXISTS) /* started meanwhile by a team mate */
		rc = careid_error_set(CAREID_EUSED, "the stage was started meanwhile");
	detail = json_pack("{s:s, s:s}", "product", p->id, "stage", STAGE_NAME);
	if (rc >= 0)
		rc = audit_record(r->o->s, r->uid, "stage.started",
		                  arena_printf(r->a, "stage:%s", id), detail);
	if (rc >= 0)
		rc = store_commit(r->o->s);
	else
		store_rollback(r->o->s);
	if (rc >= 0) {
		s->id = id;
		s->state = "draft";
		s->version = (int)version;
	}
out:
	json_decref(detail);
	free(text);
	if (rc < 0)
		return rc;
	s->answers = answers;
	return 0;
}

/* not_started, in_progress or completed (valid for submission). */
static const char *section_status(struct ob_req *r, const json_t *answers, const char *section)
{
	json_t *given = NULL, *errors = NULL;
	const char *status = "in_progress";

	if (questionnaire_answers_pick(&given, r->o->setup, section, answers) == 0 &&
	    json_object_size(given) == 0)
		status = "not_started";
	else if (questionnaire_validate(&errors, r->o->setup, section, answers,
	                                QUESTIONNAIRE_SUBMIT) == 0 &&
	         json_object_size(errors) == 0)
		status = "completed";
	json_decref(given);
	json_decref(errors);
	return status;
}

static const char *status_text(const char *status)
{
	return strcmp(status, "completed") == 0     ? "Completed"
	       : strcmp(status, "in_progress") == 0 ? "In progress"
	                                            : "Not started";
}

static const char *state_text(const char *state)
{
	return !state                            ? "Not started"
	       : strcmp(state, "draft") == 0     ? "Draft"
	       : strcmp(state, "submitted") == 0 ? "Submitted for review"
	       : strcmp(state, "more_info") == 0 ? "More information needed"
	       : strcmp(state, "approved") == 0  ? "Approved"
	       : strcmp(state, "declined") == 0  ? "Declined"
	                                         : state;
}

/* The open or last review: {id, submission, due_date, decision, comments}. */
static json_t *stage_review(struct ob_req *r, const struct stage *s)
{
	static const char sql[] = "SELECT id, submission, due_date, decision, comments FROM "
	                          "reviews WHERE subject_kind = 'stage' AND subject_id = $1 "
	                          "ORDER BY submission DESC LIMIT 1";
	store_stmt *st = NULL;
	json_t *out = NULL;

	if (!s->id)
		return NULL;
	if (store_query(r->o->s, &st, sql, "t", s->id) == 0 && store_next(st) == 1)
		out = json_pack("{s:s, s:i, s:s, s:s?, s:o?}", "id", store_text(st, 0),
		                "submission", (int)store_int(st, 1), "due_date", store_text(st, 2),
		                "decision", store_text(st, 3), "comments",
		                store_null(st, 4) ? NULL : json_loads(store_text(st, 4), 0, NULL));
	store_done(st);
	return out;
}

static const char *section_title_of(struct ob_req *r, const char *id)
{
	int i = questionnaire_section_find(r->o->setup, id);

	if (i >= 0)
		return questionnaire_section_title(r->o->setup, (size_t)i);
	return strcmp(id, "general") == 0 ? "General" : id;
}

/* The reviewer's comments by section title, for the team. */
static json_t *comments_list(struct ob_req *r, const json_t *review)
{
	json_t *list = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(review, "comments"), k, v)
	{
		if (json_is_string(v))
			json_array_append_new(list, json_pack("{s:s, s:O}", "section",
			                                      section_title_of(r, k), "text", v));
	}
	return list;
}

static json_t *sections_json(struct ob_req *r, const struct product_ref *p, const struct stage *s,
                             bool for_page)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < questionnaire_section_count(r->o->setup); i++) {
		const char *id = questionnaire_section_id(r->o->setup, i);
		const char *status = section_status(r, s->answers, id);
		json_t *sec =
		    json_pack("{s:s, s:s, s:s}", "id", id, "title",
		              questionnaire_section_title(r->o->setup, i), "status", status);

		if (sec && for_page) {
			json_object_set_new(sec, "status_text", json_string(status_text(status)));
			json_object_set_new(sec, "completed",
			                    json_boolean(strcmp(status, "completed") == 0));
			json_object_set_new(
			    sec, "href",
			    json_string(
			        arena_printf(r->a, "/onboarding/products/%s/setup/%s", p->id, id)));
		}
		json_array_append_new(list, sec);
	}
	return list;
}

static json_t *stage_json(struct ob_req *r, const struct product_ref *p, const struct stage *s)
{
	return json_pack("{s:s?, s:s, s:s, s:s, s:i, s:i, s:o, s:O, s:o?}", "id", s->id,
	                 "product_id", p->id, "stage", STAGE_NAME, "state",
	                 s->state ? s->state : "not_started", "questionnaire_version",
	                 s->version ? s->version : questionnaire_version(r->o->setup),
	                 "submissions", s->submissions, "sections", sections_json(r, p, s, false),
	                 "answers", s->answers, "review", stage_review(r, s));
}

/*
 * Validates every section for submission. *errors_out is {question: message}
 * (empty when complete); *by_section_out (optional) is, for the pages, the
 * incomplete sections with their errors in question order, linked to their
 * pages.
 */
static int stage_check(struct ob_req *r, const struct product_ref *p, const struct stage *s,
                       json_t **errors_out, json_t **by_section_out)
{
	json_t *errors = NULL, *list = json_array();
	int rc =
	    questionnaire_validate(&errors, r->o->setup, NULL, s->answers, QUESTIONNAIRE_SUBMIT);

	for (size_t i = 0; !rc && list && i < questionnaire_section_count(r->o->setup); i++) {
		const char *id = questionnaire_section_id(r->o->setup, i);
		json_t *ctx = NULL, *links = json_array(), *e;
		size_t j;

		rc = questionnaire_render_context(&ctx, r->o->setup, id, s->answers, errors);
		json_array_foreach(json_object_get(ctx, "errors"), j, e)
		{
			json_array_append_new(
			    links,
			    json_pack("{s:s, s:s}", "href",
			              arena_printf(r->a, "/onboarding/products/%s/setup/%s%s",
			                           p->id, id,
			                           json_string_value(json_object_get(e, "href"))),
			              "text", json_string_value(json_object_get(e, "text"))));
		}
		if (json_array_size(links))
			json_array_append_new(list,
			                      json_pack("{s:s, s:O}", "title",
			                                questionnaire_section_title(r->o->setup, i),
			                                "errors", links));
		json_decref(links);
		json_decref(ctx);
	}
	if (rc || !list) {
		json_decref(errors);
		json_decref(list);
		return rc ? rc : CAREID_ENOMEM;
	}
	*errors_out = errors;
	if (by_section_out)
		*by_section_out = list;
	else
		json_decref(list);
	return 0;
}

static int mail_team(struct ob_req *r, const char *team_id, const char *subject, const char *body)
{
	json_t *emails = NULL, *e;
	size_t i;
	int rc;

	if (!body)
		return CAREID_ENOMEM;
	rc = orgs_team_emails(r, team_id, &emails);
	json_array_foreach(emails, i, e)
	{
		if (!rc)
			rc = notify_mail(r, json_string_value(e), subject, body);
	}
	json_decref(emails);
	return rc;
}

/*
 * Submits in one transaction: the state change (only from draft or
 * more_info, so a double submission records one), the review with its due
 * date, the e-mail to the team and the audit event. CAREID_EUSED when it
 * was submitted already.
 */
static int stage_submit(struct ob_req *r, const struct product_ref *p, struct stage *s,
                        char due[11])
{
	static const char sql[] = "UPDATE ob_stages SET state = 'submitted', submissions = "
	                          "submissions + 1, updated_at = $1 WHERE id = $2 AND state IN "
	                          "('draft', 'more_info')";
	char *answers = json_dumps(s->answers, JSON_COMPACT | JSON_SORT_KEYS), *body;
	json_t *detail = NULL;
	int rc;

	if (!answers)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = store_exec(r->o->s, sql, "it", clock_now(), s->id);
	if (rc == 0)
		rc = careid_error_set(CAREID_EUSED, "the stage has already been submitted");
	if (rc < 0)
		goto fail;
	rc = reviews_file(r, "stage", s->id, s->submissions + 1, answers, due);
	if (rc)
		goto fail;
	body = arena_printf(r->a,
	                    "Hello,\n\n%s submitted the Setup and eligibility stage of %s for "
	                    "review (submission %d).\n\nThe CIS2 onboarding team will respond "
	                    "by %s (5 working days).\n\n%s/onboarding/products/%s/setup\n",
	                    r->name, p->name, s->submissions + 1, due, r->o->public_url, p->id);
	rc = mail_team(r, p->t->team_id, "Setup and eligibility submitted for review", body);
	detail =
	    json_pack("{s:s, s:i, s:s, s:i}", "product", p->id, "submission", s->submissions + 1,
	              "due_date", due, "questionnaire_version", s->version);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "stage.submitted",
		                  arena_printf(r->a, "stage:%s", s->id), detail);
	if (rc)
		goto fail;
	rc = store_commit(r->o->s);
	if (!rc) {
		s->state = "submitted";
		s->submissions++;
	}
	goto out;
fail:
	store_rollback(r->o->s);
out:
	json_decref(detail);
	free(answers);
	return rc;
}

int stage_decided(struct ob_req *r, const char *stage_id, const char *decision,
                  const json_t *comments)
{
	static const char sql_state[] = "UPDATE ob_stages SET state = $1, updated_at = $2 WHERE "
	                                "id = $3 AND state = 'submitted'";
	static const char sql_stage[] = "SELECT s.product_id, p.name, p.team_id, s.submissions "
	                                "FROM ob_stages s JOIN ob_products p ON p.id = "
	                                "s.product_id WHERE s.id = $1";
	const char *state = strcmp(decision, "approve") == 0   ? "approved"
	                    : strcmp(decision, "decline") == 0 ? "declined"
	                                                       : "more_info";
	const char *product = NULL, *name = NULL, *team = NULL, *what, *subject, *k;
	store_stmt *st = NULL;
	struct buf notes;
	int submission = 0;
	json_t *v;
	char *body;
	int rc = store_exec(r->o->s, sql_state, "tit", state, clock_now(), stage_id);

	if (rc == 0)
		return careid_error_set(CAREID_EUSED, "the stage is not awaiting a decision");
	if (rc < 0)
		return rc;
	rc = store_query(r->o->s, &st, sql_stage, "t", stage_id);
	if (!rc && (rc = store_next(st)) == 1) {
		product = arena_strdup(r->a, store_text(st, 0));
		name = arena_strdup(r->a, store_text(st, 1));
		team = arena_strdup(r->a, store_text(st, 2));
		submission = (int)store_int(st, 3);
		rc = product && name && team ? 0 : CAREID_ENOMEM;
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "stage gone");
	}
	store_done(st);
	if (rc)
		return rc;
	buf_init(&notes, 64 * 1024);
	json_object_foreach((json_t *)comments, k, v)
	{
		if (!rc && json_is_string(v))
			rc = buf_printf(&notes, "\n%s:\n%s\n", section_title_of(r, k),
			                json_string_value(v));
	}
	what = strcmp(state, "approved") == 0   ? "has been approved by the CIS2 onboarding team"
	       : strcmp(state, "declined") == 0 ? "has been declined by the CIS2 onboarding team"
	                                        : "needs more information before the CIS2 "
	                                          "onboarding team can decide";
	subject = strcmp(state, "more_info") == 0 ? "More information needed: Setup and eligibility"
	                                          : "Decision on your Setup and eligibility stage";
	body = arena_printf(r->a,
	                    "Hello,\n\nThe Setup and eligibility stage of %s (submission %d) %s."
	                    "\n%s%s\n%s/onboarding/products/%s/setup\n",
	                    name, submission, what,
	                    notes.len ? "\nComments from the CIS2 team:\n" : "",
	                    notes.len ? notes.ptr : "", r->o->public_url, product);
	if (!rc)
		rc = mail_team(r, team, subject, body);
	buf_release(&notes);
	return rc;
}

/* --- pages ------------------------------------------------------------- */

static int task_list_page(struct ob_req *r, int status, const struct product_ref *p,
                          const struct stage *s, json_t *problems, const char *notice)
{
	json_t *review = stage_review(r, s);
	json_t *comments = comments_list(r, review);
	bool has_errors = problems && json_array_size(problems) > 0;
	bool complete = true;
	json_t *sections = sections_json(r, p, s, true), *sec;
	const char *decision = json_string_value(json_object_get(review, "decision"));
	size_t i;

	json_array_foreach(sections, i, sec) complete =
	    complete && json_is_true(json_object_get(sec, "completed"));
	return ob_page(
	    r, status, "ob_stage",
	    json_pack(
	        "{s:s, s:{s:s, s:s}, s:s, s:s, s:b, s:b, s:b, s:b, s:o, s:o?, s:s?, s:s?, "
	        "s:b, s:o, s:b, s:b, s:o, s:o*}",
	        "title", has_errors ? "Error: Setup and eligibility" : "Setup and eligibility",
	        "product", "id", p->id, "name", p->name, "state",
	        s->state ? s->state : "not_started", "state_text", state_text(s->state), "editable",
	        editable(s), "submitted", s->state && strcmp(s->state, "submitted") == 0,
	        "complete", complete, "has_errors", has_errors, "problems",
	        problems ? problems : json_array(), "review", review, "due_date",
	        review && !decision ? json_string_value(json_object_get(review, "due_date")) : NULL,
	        "notice", notice, "has_comments",
	        json_array_size(comments) > 0 && s->state && strcmp(s->state, "more_info") == 0,
	        "review_comments", comments, "approved",
	        s->state && strcmp(s->state, "approved") == 0, "declined",
	        s->state && strcmp(s->state, "declined") == 0, "sections", sections, "submissions",
	        s->submissions ? json_integer(s->submissions) : NULL));
}

/* The summary of one section, for a stage that cannot be changed now. */
static json_t *section_summary(struct ob_req *r, const struct stage *s, const char *section)
{
	json_t *all = questionnaire_summary(r->o->setup, s->answers), *sec, *out = NULL;
	size_t i;

	json_array_foreach(all, i, sec)
	{
		if (!out && strcmp(json_string_value(json_object_get(sec, "id")), section) == 0)
			out = json_incref(sec);
	}
	json_decref(all);
	return out;
}

static int section_page(struct ob_req *r, int status, const struct product_ref *p,
                        const struct stage *s, const char *section, const json_t *errors)
{
	json_t *ctx = NULL;
	bool has_errors = errors && json_object_size(errors);
	int rc = questionnaire_render_context(&ctx, r->o->setup, section, s->answers, errors);

	if (rc)
		return rc;
	return ob_page(
	    r, status, "ob_stage_section",
	    json_pack(
	        "{s:s, s:{s:s, s:s}, s:o, s:b, s:b, s:o*, s:s, s:s}", "title",
	        arena_printf(
	            r->a, "%s%s – Setup and eligibility", has_errors ? "Error: " : "",
	            json_string_value(json_object_get(json_object_get(ctx, "section"), "title"))),
	        "product", "id", p->id, "name", p->name, "form", ctx, "editable", editable(s),
	        "has_errors", has_errors, "summary",
	        editable(s) ? NULL : section_summary(r, s, section), "state_text",
	        state_text(s->state), "action",
	        arena_printf(r->a, "/onboarding/products/%s/setup/%s", p->id, section)));
}

static int task_list_url(struct ob_req *r, const struct product_ref *p, const char *query)
{
	char *loc = arena_printf(r->a, "/onboarding/products/%s/setup%s", p->id, query);

	return loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
}

static int section_post(struct ob_req *r, const struct product_ref *p, struct stage *s,
                        const char *section)
{
	json_t *update = NULL, *answers, *errors = NULL;
	int rc;

	if (!editable(s))
		return task_list_page(r, 409, p, s, NULL,
		                      "This stage has been submitted; it cannot be changed now.");
	rc = questionnaire_answers_from_form(&update, r->o->setup, section, &r->req->form);
	if (rc)
		return rc;
	answers = json_deep_copy(s->answers);
	rc = answers ? questionnaire_answers_replace(answers, r->o->setup, section, update)
	             : CAREID_ENOMEM;
	json_decref(update);
	if (rc) {
		json_decref(answers);
		return rc;
	}
	/* The draft keeps whatever was typed, so nothing is lost when an answer
	 * is not valid yet; the other sections are left as they were. */
	rc = stage_save(r, p, s, answers);
	if (rc == CAREID_EUSED)
		return task_list_page(
		    r, 409, p, s, NULL,
		    "This stage was submitted meanwhile; it cannot be changed now.");
	if (rc)
		return rc;
	rc = questionnaire_validate(&errors, r->o->setup, section, s->answers, QUESTIONNAIRE_DRAFT);
	if (rc)
		return rc;
	if (json_object_size(errors)) {
		rc = section_page(r, 400, p, s, section, errors);
		json_decref(errors);
		return rc;
	}
	json_decref(errors);
	return task_list_url(r, p, "?saved=1");
}

static int submit_post(struct ob_req *r, const struct product_ref *p, struct stage *s)
{
	json_t *errors = NULL, *problems = NULL;
	char due[11];
	int rc;

	if (!editable(s))
		return task_list_page(r, 409, p, s, NULL, "This stage has already been submitted.");
	rc = stage_check(r, p, s, &errors, &problems);
	if (rc)
		return rc;
	if (json_object_size(errors) || !s->id) {
		json_decref(errors);
		return task_list_page(r, 400, p, s, problems, NULL);
	}
	json_decref(errors);
	json_decref(problems);
	rc = stage_submit(r, p, s, due);
	if (rc == CAREID_EUSED)
		return task_list_page(r, 409, p, s, NULL, "This stage has already been submitted.");
	return rc ? rc : task_list_url(r, p, "");
}

/* "/setup" → ""; "/setup/use_case" → "use_case"; NULL for anything else. */
static const char *route(const char *rest)
{
	if (strncmp(rest, "/setup", 6) != 0)
		return NULL;
	if (rest[6] == '\0')
		return "";
	if (rest[6] == '/' && rest[7] && !strchr(rest + 7, '/'))
		return rest + 7;
	return NULL;
}

static bool granted(const char *cis2_access)
{
	return cis2_access && strcmp(cis2_access, "granted") == 0;
}

int stage_handle(struct ob_req *r, const struct ob_team *t, const char *product_id,
                 const char *product_name, const char *cis2_access, const char *rest)
{
	struct product_ref p = {t, product_id, product_name};
	bool post = strcmp(r->req->method, "POST") == 0;
	const char *section = route(rest);
	struct stage s;
	int rc;

	if (!section || (*section && questionnaire_section_find(r->o->setup, section) < 0))
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (!granted(cis2_access))
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	if (post && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	rc = stage_load(r, p.id, &s);
	if (rc)
		return rc;
	if (*section)
		return post ? section_post(r, &p, &s, section)
		            : section_page(r, 200, &p, &s, section, NULL);
	if (!post) {
		const char *saved = form_get(&r->req->query, "saved");

		return task_list_page(r, 200, &p, &s, NULL,
		                      saved ? "Your answers have been saved as a draft." : NULL);
	}
	if (!form_get(&r->req->form, "action") ||
	    strcmp(form_get(&r->req->form, "action"), "submit") != 0)
		return task_list_url(r, &p, "");
	return submit_post(r, &p, &s);
}

/* --- API --------------------------------------------------------------- */

static int api_put(struct ob_req *r, const struct product_ref *p, struct stage *s,
                   const char *section)
{
	json_t *body, *update = NULL, *errors = NULL, *answers;
	int rc;

	if (!editable(s))
		return ob_error(r, 409, "already_submitted",
		                "The stage has been submitted; wait for the review.");
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	rc = questionnaire_answers_pick(&update, r->o->setup, section,
	                                json_object_get(body, "answers"));
	json_decref(body);
	if (rc == CAREID_EINVALID)
		return ob_error(r, 400, "invalid_request", "Send {\"answers\": {…}}.");
	if (rc)
		return rc;
	rc = questionnaire_validate(&errors, r->o->setup, section, update, QUESTIONNAIRE_DRAFT);
	if (!rc && json_object_size(errors)) {
		/* A draft from the API must have well-typed answers; nothing is saved. */
		json_decref(update);
		return ob_json(r, 400,
		               json_pack("{s:s, s:s, s:o}", "error", "invalid_answers", "message",
		                         "Some answers are not valid.", "errors", errors));
	}
	json_decref(errors);
	answers = rc ? NULL : json_deep_copy(s->answers);
	if (!rc)
		rc = answers ? questionnaire_answers_replace(answers, r->o->setup, section, update)
		             : CAREID_ENOMEM;
	json_decref(update);
	if (rc) {
		json_decref(answers);
		return rc;
	}
	rc = stage_save(r, p, s, answers);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_submitted", "The stage was submitted meanwhile.");
	return rc ? rc : ob_json(r, 200, stage_json(r, p, s));
}

static int api_submit(struct ob_req *r, const struct product_ref *p, struct stage *s)
{
	json_t *errors = NULL, *problems = NULL;
	char due[11];
	int rc;

	if (!editable(s))
		return ob_error(r, 409, "already_submitted",
		                "The stage has already been submitted.");
	rc = stage_check(r, p, s, &errors, &problems);
	if (rc)
		return rc;
	json_decref(problems);
	if (json_object_size(errors) || !s->id)
		return ob_json(r, 422,
		               json_pack("{s:s, s:s, s:o}", "error", "incomplete_answers",
		                         "message", "Complete every section first.", "errors",
		                         errors));
	json_decref(errors);
	rc = stage_submit(r, p, s, due);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_submitted",
		                "The stage has already been submitted.");
	if (rc)
		return rc;
	return ob_json(r, 200,
	               json_pack("{s:o, s:s}", "stage", stage_json(r, p, s), "due_date", due));
}

int stage_api(struct ob_req *r, const struct ob_team *t, const char *product_id,
              const char *product_name, const char *cis2_access, const char *rest)
{
	struct product_ref p = {t, product_id, product_name};
	const char *m = r->req->method, *section = route(rest);
	struct stage s;
	int rc;

	if (!section)
		return ob_error(r, 404, "not_found", "There is no such resource.");
	if (!granted(cis2_access))
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first");
	if (strcmp(m, "GET") != 0 && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	rc = stage_load(r, p.id, &s);
	if (rc)
		return rc;
	if (!*section && strcmp(m, "GET") == 0)
		return ob_json(r, 200, stage_json(r, &p, &s));
	if (strcmp(section, "submit") == 0 && strcmp(m, "POST") == 0)
		return api_submit(r, &p, &s);
	if (*section && questionnaire_section_find(r->o->setup, section) < 0)
		return ob_error(r, 404, "not_found", "There is no such section.");
	if (*section && strcmp(m, "PUT") == 0)
		return api_put(r, &p, &s, section);
	return ob_error(r, 405, "method_not_allowed",
	                "GET /setup, PUT /setup/{section}, POST /setup/submit.");
}
