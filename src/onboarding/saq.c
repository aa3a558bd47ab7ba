/* The Service Assessment Questionnaire: draft, validate, submit; one per
 * applicant account, answers stored with the questionnaire version. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/questionnaire.h"

struct saq {
	const char *id;
	const char *state; /* draft, submitted, more_info, approved, declined */
	json_t *answers;   /* owned by the request's arena */
	int version;
	int submissions;
};

static void decref(void *p)
{
	json_decref(p);
}

/* The applicant's SAQ; CAREID_ENOTFOUND when they have not started one. */
static int saq_load(struct ob_req *r, const char *uid, struct saq *out)
{
	static const char sql[] = "SELECT id, state, answers, version, submissions FROM saqs "
	                          "WHERE uid = $1";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "t", uid);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->id = arena_strdup(r->a, store_text(st, 0));
		out->state = arena_strdup(r->a, store_text(st, 1));
		out->answers = json_loads(store_text(st, 2), 0, NULL);
		out->version = (int)store_int(st, 3);
		out->submissions = (int)store_int(st, 4);
		rc = out->id && out->state && out->answers ? 0 : CAREID_ESTORE;
		if (out->answers && arena_defer(r->a, decref, out->answers))
			rc = CAREID_ENOMEM;
	} else if (rc == 0) {
		rc = CAREID_ENOTFOUND;
	}
	store_done(st);
	return rc;
}

static bool editable(const struct saq *s)
{
	return !s->state || strcmp(s->state, "draft") == 0 || strcmp(s->state, "more_info") == 0;
}

/* Saves the answers as the draft (creating the SAQ on first save). */
static int saq_save(struct ob_req *r, struct saq *s, json_t *answers)
{
	static const char sql_new[] = "INSERT INTO saqs (id, uid, questionnaire, version, answers, "
	                              "state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
	                              "'draft', $6, $7)";
	static const char sql_upd[] = "UPDATE saqs SET answers = $1, version = $2, updated_at = $3 "
	                              "WHERE id = $4 AND state IN ('draft', 'more_info')";
	char *text = json_dumps(answers, JSON_COMPACT | JSON_SORT_KEYS);
	int64_t now = clock_now(), version = questionnaire_version(r->o->saq);
	int rc;

	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!s->id) {
		s->id = ob_random_id(r);
		rc = s->id ? store_exec(r->o->s, sql_new, "tttitii", s->id, r->uid,
		                        questionnaire_id(r->o->saq), version, text, now, now)
		           : CAREID_ENOMEM;
		s->state = "draft";
	} else {
		rc = store_exec(r->o->s, sql_upd, "tiit", text, version, now, s->id);
		if (rc == 0)
			rc = careid_error_set(CAREID_EUSED,
			                      "the questionnaire was submitted meanwhile");
	}
	free(text);
	if (rc < 0)
		return rc;
	s->answers = answers;
	return 0;
}

/*
 * Submits in one transaction: the state change (only from draft or
 * more_info, so a double submission records one), the review with its due
 * date, the distribution list, the confirmation e-mail and the audit event.
 */
static int saq_submit(struct ob_req *r, struct saq *s, char due[11])
{
	static const char sql[] = "UPDATE saqs SET state = 'submitted', submissions = submissions "
	                          "+ 1, updated_at = $1 WHERE id = $2 AND state IN ('draft', "
	                          "'more_info')";
	char *answers = json_dumps(s->answers, JSON_COMPACT | JSON_SORT_KEYS), *body;
	json_t *detail = NULL;
	int rc;

	if (!answers)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	rc = store_exec(r->o->s, sql, "it", clock_now(), s->id);
	if (rc == 0) {
		rc = careid_error_set(CAREID_EUSED, "the questionnaire has already been submitted");
		goto fail;
	}
	if (rc < 0)
		goto fail;
	rc = reviews_file(r, "saq", s->id, s->submissions + 1, answers, due);
	if (!rc)
		rc = notify_subscribe(r, r->email, r->uid);
	body = arena_printf(
	    r->a,
	    "Hello %s,\n\nThank you: your Service Assessment Questionnaire for CIS2 "
	    "Authentication has been submitted (submission %d).\n\nThe CIS2 onboarding "
	    "team will respond by %s (5 working days). You have been added to the "
	    "service's distribution list for changes, feature updates and releases.\n\n"
	    "Meanwhile you can build against careid's mock environment.\n\n%s/onboarding/"
	    "saq\n",
	    r->name, s->submissions + 1, due, r->o->public_url);
	if (!rc)
		rc = body ? notify_mail(r, r->email, "Your CIS2 Authentication application", body)
		          : CAREID_ENOMEM;
	detail = json_pack("{s:i, s:s, s:i}", "submission", s->submissions + 1, "due_date", due,
	                   "questionnaire_version", s->version);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "saq.submitted",
		                  arena_printf(r->a, "saq:%s", s->id), detail);
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

/* The open or last review of the SAQ: {due_date, state, decision, comments}. */
static json_t *saq_review(struct ob_req *r, const struct saq *s)
{
	static const char sql[] =
	    "SELECT due_date, decision, comments FROM reviews WHERE "
	    "subject_kind = 'saq' AND subject_id = $1 ORDER BY submission DESC "
	    "LIMIT 1";
	store_stmt *st = NULL;
	json_t *out = NULL;

	if (store_query(r->o->s, &st, sql, "t", s->id) == 0 && store_next(st) == 1)
		out = json_pack("{s:s, s:s?, s:o?}", "due_date", store_text(st, 0), "decision",
		                store_text(st, 1), "comments",
		                store_null(st, 2) ? NULL : json_loads(store_text(st, 2), 0, NULL));
	store_done(st);
	return out;
}

bool saq_approved(struct ob_req *r, const char *uid)
{
	struct saq s;

	return saq_load(r, uid, &s) == 0 && strcmp(s.state, "approved") == 0;
}

json_t *saq_status(struct ob_req *r, const char *uid)
{
	struct saq s;
	int rc = saq_load(r, uid, &s);

	if (rc)
		return json_pack("{s:s}", "state", "not_started");
	return json_pack("{s:s, s:s, s:i, s:o*}", "id", s.id, "state", s.state, "submissions",
	                 s.submissions, "review", saq_review(r, &s));
}

static json_t *sections_context(struct ob_req *r, const json_t *answers, const json_t *errors)
{
	json_t *sections = json_array();

	for (size_t i = 0; sections && i < questionnaire_section_count(r->o->saq); i++) {
		json_t *ctx = NULL;

		if (questionnaire_render_context(&ctx, r->o->saq,
		                                 questionnaire_section_id(r->o->saq, i), answers,
		                                 errors) == 0)
			json_array_append_new(sections, ctx);
	}
	return sections;
}

/* The error summary's links in question order: each section's own list. */
static json_t *error_list(const json_t *sections)
{
	json_t *list = json_array();
	size_t i;
	json_t *sec;

	json_array_foreach(sections, i, sec)
	    json_array_extend(list, json_object_get(sec, "errors"));
	return list;
}

/* The reviewer's comments by section title, for the applicant. */
static json_t *comments_list(struct ob_req *r, const json_t *review)
{
	json_t *list = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(review, "comments"), k, v)
	{
		int i = questionnaire_section_find(r->o->saq, k);

		json_array_append_new(
		    list, json_pack("{s:s, s:O}", "section",
		                    i >= 0 ? questionnaire_section_title(r->o->saq, (size_t)i) : k,
		                    "text", v));
	}
	return list;
}

static int saq_page(struct ob_req *r, int status, const struct saq *s, const json_t *errors,
                    const char *notice)
{
	json_t *answers = s->answers ? s->answers : json_object();
	json_t *review = s->id ? saq_review(r, s) : NULL;
	json_t *comments = comments_list(r, review);
	bool has_errors = errors && json_object_size(errors);
	json_t *sections = sections_context(r, answers, errors);
	json_t *ctx =
	    json_pack("{s:s, s:s, s:b, s:o, s:o, s:o*, s:s?, s:b, s:o, s:b, s:o}", "title",
	              "Service Assessment Questionnaire", "state",
	              s->state ? s->state : "not_started", "editable", editable(s), "sections",
	              sections, "summary", questionnaire_summary(r->o->saq, answers), "review",
	              review, "notice", notice, "has_errors", has_errors, "error_list",
	              has_errors ? error_list(sections) : json_array(), "has_comments",
	              json_array_size(comments) > 0, "review_comments", comments);

	if (!s->answers)
		json_decref(answers);
	return ob_page(r, status, "saq", ctx);
}

static int saq_post(struct ob_req *r, struct saq *s)
{
	const char *action = form_get(&r->req->form, "action");
	json_t *answers = NULL, *errors = NULL;
	char due[11];
	int rc;

	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	if (!editable(s))
		return saq_page(r, 409, s, NULL, "This questionnaire has been submitted already.");
	rc = questionnaire_answers_from_form(&answers, r->o->saq, NULL, &r->req->form);
	if (rc)
		return rc;
	/* The draft keeps whatever was typed, so nothing is lost when an answer
	 * is not valid yet. */
	rc = saq_save(r, s, answers);
	if (rc == CAREID_EUSED) {
		json_decref(answers);
		return saq_page(r, 409, s, NULL, "This questionnaire has been submitted already.");
	}
	if (rc || arena_defer(r->a, decref, answers)) {
		if (rc)
			json_decref(answers);
		return rc ? rc : CAREID_ENOMEM;
	}
	rc = questionnaire_validate(&errors, r->o->saq, NULL, answers,
	                            action && strcmp(action, "submit") == 0 ? QUESTIONNAIRE_SUBMIT
	                                                                    : QUESTIONNAIRE_DRAFT);
	if (rc)
		return rc;
	arena_defer(r->a, decref, errors);
	if (json_object_size(errors))
		return saq_page(r, 400, s, errors, NULL);
	if (!action || strcmp(action, "submit") != 0)
		return saq_page(r, 200, s, NULL, "Your answers have been saved as a draft.");
	rc = saq_submit(r, s, due);
	if (rc == CAREID_EUSED)
		return saq_page(r, 409, s, NULL, "This questionnaire has been submitted already.");
	if (rc)
		return rc;
	return http_redirect(r->res, 303, "/onboarding/saq");
}

int saq_handle(struct ob_req *r)
{
	struct saq s;
	int rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (strcmp(r->path, "/saq") != 0)
		return ob_error(r, 404, "not_found", "There is no such page.");
	rc = saq_load(r, r->uid, &s);
	if (rc && rc != CAREID_ENOTFOUND)
		return rc;
	if (strcmp(r->req->method, "POST") == 0)
		return saq_post(r, &s);
	return saq_page(r, 200, &s, NULL, NULL);
}

static json_t *saq_json(struct ob_req *r, const struct saq *s)
{
	return json_pack("{s:s?, s:s, s:i, s:i, s:O, s:o*}", "id", s->id, "state",
	                 s->state ? s->state : "not_started", "questionnaire_version",
	                 s->version ? s->version : questionnaire_version(r->o->saq), "submissions",
	                 s->submissions, "answers", s->answers ? s->answers : json_object(),
	                 "review", s->id ? saq_review(r, s) : NULL);
}

int saq_api(struct ob_req *r)
{
	const char *m = r->req->method;
	json_t *body = NULL, *answers, *errors = NULL;
	struct saq s;
	char due[11];
	int rc;

	if (strcmp(r->path, "/questionnaires/saq") == 0)
		return ob_json(r, 200, questionnaire_json(r->o->saq));
	rc = ob_require_account(r);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = saq_load(r, r->uid, &s);
	if (rc && rc != CAREID_ENOTFOUND)
		return rc;
	if (strcmp(r->path, "/saq") == 0 && strcmp(m, "GET") == 0)
		return ob_json(r, 200, saq_json(r, &s));
	if (strcmp(m, "GET") != 0 && !ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	if (strcmp(r->path, "/saq") == 0 && strcmp(m, "PUT") == 0) {
		if (!editable(&s))
			return ob_error(
			    r, 409, "already_submitted",
			    "The questionnaire has been submitted; wait for the review.");
		body = ob_json_body(r, &rc);
		if (!body)
			return rc;
		answers = json_object_get(body, "answers");
		if (!json_is_object(answers)) {
			json_decref(body);
			return ob_error(r, 400, "invalid_request", "Send {\"answers\": {…}}.");
		}
		rc = questionnaire_validate(&errors, r->o->saq, NULL, answers, QUESTIONNAIRE_DRAFT);
		if (!rc && json_object_size(errors)) {
			/* A draft from the API must have well-typed answers; nothing is saved. */
			json_decref(body);
			return ob_json(r, 400,
			               json_pack("{s:s, s:s, s:o}", "error", "invalid_answers",
			                         "message", "Some answers are not valid.", "errors",
			                         errors));
		}
		json_decref(errors);
		json_incref(answers);
		if (!rc)
			rc = saq_save(r, &s, answers);
		json_decref(body);
		if (rc == CAREID_EUSED) {
			json_decref(answers);
			return ob_error(r, 409, "already_submitted",
			                "The questionnaire was submitted.");
		}
		if (rc || arena_defer(r->a, decref, answers))
			return rc ? rc : CAREID_ENOMEM;
		return ob_json(r, 200, saq_json(r, &s));
	}
	if (strcmp(r->path, "/saq/submit") == 0 && strcmp(m, "POST") == 0) {
		if (!s.id)
			return ob_error(r, 409, "not_started", "Save answers before submitting.");
		if (!editable(&s))
			return ob_error(r, 409, "already_submitted",
			                "The questionnaire has already been submitted.");
		rc = questionnaire_validate(&errors, r->o->saq, NULL, s.answers,
		                            QUESTIONNAIRE_SUBMIT);
		if (rc)
			return rc;
		if (json_object_size(errors))
			return ob_json(r, 422,
			               json_pack("{s:s, s:s, s:o}", "error", "incomplete_answers",
			                         "message", "Answer every required question first.",
			                         "errors", errors));
		json_decref(errors);
		rc = saq_submit(r, &s, due);
		if (rc == CAREID_EUSED)
			return ob_error(r, 409, "already_submitted",
			                "The questionnaire has already been submitted.");
		if (rc)
			return rc;
		return ob_json(r, 200, saq_json(r, &s));
	}
	return ob_error(r, 405, "method_not_allowed", "GET or PUT /saq, POST /saq/submit.");
}
