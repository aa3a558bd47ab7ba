/* The pages of a product's onboarding stages: the task list of sections
 * (with the CIS2 team's comments, the state and the submit button) and one
 * page per section, whose form saves a draft. */
#include <string.h>

#include "core/error.h"
#include "onboarding/stage_int.h"

/* The stage's texts for the templates: {name, slug, title, intro, url}. */
static json_t *stage_texts(struct ob_req *r, const struct stage *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", s->def->name, "slug", s->def->slug,
	                 "title", s->def->title, "intro", s->def->intro, "url",
	                 stage_url(r, s, NULL));
}

/*
 * The task list. `problems` (taken) lists incomplete sections with their
 * errors; `refusal` is a submission refused because the prerequisite stage
 * is not approved yet (linked to that stage).
 */
static int task_list_page(struct ob_req *r, int status, const struct stage *s, json_t *problems,
                          const char *refusal, const char *notice)
{
	const struct stage_def *pre = stage_def_find(s->def->prerequisite);
	json_t *review = stage_review(r, s);
	json_t *comments = stage_comments_list(s, review);
	bool has_problems = problems && json_array_size(problems) > 0;
	bool has_errors = has_problems || refusal;
	bool complete = true;
	json_t *sections = stage_sections_json(r, s, true), *sec;
	const char *decision = json_string_value(json_object_get(review, "decision"));
	const char *blocked = NULL;
	size_t i;
	int rc = stage_editable(s) ? stage_blocked(r, s, &blocked) : 0;

	if (rc) {
		json_decref(review);
		json_decref(comments);
		json_decref(sections);
		json_decref(problems);
		return rc;
	}
	json_array_foreach(sections, i, sec) complete =
	    complete && json_is_true(json_object_get(sec, "completed"));
	return ob_page(
	    r, status, "ob_stage",
	    json_pack(
	        "{s:s, s:o, s:{s:s, s:s}, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:o, s:s?, s:s?, "
	        "s:o?, s:s?, s:s?, s:b, s:o, s:b, s:b, s:o, s:o*, s:s?}",
	        "title",
	        has_errors ? arena_printf(r->a, "Error: %s", s->def->title) : s->def->title,
	        "stage", stage_texts(r, s), "product", "id", s->p->id, "name", s->p->name, "state",
	        s->state ? s->state : "not_started", "state_text", stage_state_text(s->state),
	        "editable", stage_editable(s), "can_submit", stage_editable(s) && !blocked,
	        "submitted", s->state && strcmp(s->state, "submitted") == 0, "complete", complete,
	        "has_errors", has_errors, "has_problems", has_problems, "problems",
	        problems ? problems : json_array(), "refusal", refusal, "blocked", blocked,
	        "review", review, "due_date",
	        review && !decision ? json_string_value(json_object_get(review, "due_date")) : NULL,
	        "notice", notice, "has_comments",
	        json_array_size(comments) > 0 && s->state && strcmp(s->state, "more_info") == 0,
	        "review_comments", comments, "approved",
	        s->state && strcmp(s->state, "approved") == 0, "declined",
	        s->state && strcmp(s->state, "declined") == 0, "sections", sections, "submissions",
	        s->submissions ? json_integer(s->submissions) : NULL, "prerequisite_url",
	        pre ? arena_printf(r->a, "/onboarding/products/%s/%s", s->p->id, pre->slug)
	            : NULL));
}

/* The summary of one section, for a stage that cannot be changed now. */
static json_t *section_summary(const struct stage *s, const char *section)
{
	json_t *all = questionnaire_summary(s->q, s->answers), *sec, *out = NULL;
	size_t i;

	json_array_foreach(all, i, sec)
	{
		if (!out && strcmp(json_string_value(json_object_get(sec, "id")), section) == 0)
			out = json_incref(sec);
	}
	json_decref(all);
	return out;
}

static int section_page(struct ob_req *r, int status, const struct stage *s, const char *section,
                        const json_t *errors)
{
	json_t *ctx = NULL;
	bool has_errors = errors && json_object_size(errors);
	int rc = questionnaire_render_context(&ctx, s->q, section, s->answers, errors);

	if (rc)
		return rc;
	return ob_page(
	    r, status, "ob_stage_section",
	    json_pack("{s:s, s:o, s:{s:s, s:s}, s:o, s:b, s:b, s:o*, s:s, s:s}", "title",
	              arena_printf(r->a, "%s%s – %s", has_errors ? "Error: " : "",
	                           json_string_value(
	                               json_object_get(json_object_get(ctx, "section"), "title")),
	                           s->def->title),
	              "stage", stage_texts(r, s), "product", "id", s->p->id, "name", s->p->name,
	              "form", ctx, "editable", stage_editable(s), "has_errors", has_errors,
	              "summary", stage_editable(s) ? NULL : section_summary(s, section),
	              "state_text", stage_state_text(s->state), "action",
	              stage_url(r, s, section)));
}

static int task_list_url(struct ob_req *r, const struct stage *s, const char *query)
{
	char *loc = arena_printf(r->a, "%s%s", stage_url(r, s, NULL), query);

	return loc ? http_redirect(r->res, 303, loc) : CAREID_ENOMEM;
}

static int section_post(struct ob_req *r, struct stage *s, const char *section)
{
	json_t *update = NULL, *answers, *errors = NULL;
	int rc;

	if (!stage_editable(s))
		return task_list_page(r, 409, s, NULL, NULL,
		                      "This stage has been submitted; it cannot be changed now.");
	rc = questionnaire_answers_from_form(&update, s->q, section, &r->req->form);
	if (rc)
		return rc;
	answers = json_deep_copy(s->answers);
	rc =
	    answers ? questionnaire_answers_replace(answers, s->q, section, update) : CAREID_ENOMEM;
	json_decref(update);
	if (rc) {
		json_decref(answers);
		return rc;
	}
	/* The draft keeps whatever was typed, so nothing is lost when an answer
	 * is not valid yet; the other sections are left as they were. */
	rc = stage_save(r, s, answers);
	if (rc == CAREID_EUSED)
		return task_list_page(
		    r, 409, s, NULL, NULL,
		    "This stage was submitted meanwhile; it cannot be changed now.");
	if (rc)
		return rc;
	rc = questionnaire_validate(&errors, s->q, section, s->answers, QUESTIONNAIRE_DRAFT);
	if (rc)
		return rc;
	if (json_object_size(errors)) {
		rc = section_page(r, 400, s, section, errors);
		json_decref(errors);
		return rc;
	}
	json_decref(errors);
	return task_list_url(r, s, "?saved=1");
}

static int submit_post(struct ob_req *r, struct stage *s)
{
	json_t *errors = NULL, *problems = NULL;
	const char *blocked = NULL;
	char due[11];
	int rc;

	if (!stage_editable(s))
		return task_list_page(r, 409, s, NULL, NULL,
		                      "This stage has already been submitted.");
	rc = stage_blocked(r, s, &blocked);
	if (rc)
		return rc;
	if (blocked)
		return task_list_page(r, 403, s, NULL, blocked, NULL);
	rc = stage_check(r, s, &errors, &problems);
	if (rc)
		return rc;
	if (json_object_size(errors) || !s->id) {
		json_decref(errors);
		return task_list_page(r, 400, s, problems, NULL, NULL);
	}
	json_decref(errors);
	json_decref(problems);
	rc = stage_submit(r, s, due);
	if (rc == CAREID_EUSED)
		return task_list_page(r, 409, s, NULL, NULL,
		                      "This stage has already been submitted.");
	return rc ? rc : task_list_url(r, s, "");
}

int stage_pages(struct ob_req *r, struct stage *s, const char *section)
{
	bool post = strcmp(r->req->method, "POST") == 0;
	const char *action;

	if (*section)
		return post ? section_post(r, s, section) : section_page(r, 200, s, section, NULL);
	if (!post)
		return task_list_page(r, 200, s, NULL, NULL,
		                      form_get(&r->req->query, "saved")
		                          ? "Your answers have been saved as a draft."
		                          : NULL);
	action = form_get(&r->req->form, "action");
	if (!action || strcmp(action, "submit") != 0)
		return task_list_url(r, s, "");
	return submit_post(r, s);
}
