/* A product's onboarding stages ('Setup and eligibility', 'Non-functional
 * requirements'): sections saved as drafts one at a time, submitted together
 * for review once every section is complete, decided by the CIS2 team. This
 * file holds the stages' table, their store, the API and decisions; the
 * pages are in stage_pages.c. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "onboarding/stage_int.h"

static const questionnaire *q_setup(const onboarding *o)
{
	return o->setup;
}

static const questionnaire *q_nfr(const onboarding *o)
{
	return o->nfr;
}

static const struct stage_def stage_defs[] = {
    {"setup_eligibility", "setup", "Setup and eligibility",
     "Confirm your product's use case for CIS2 Authentication. Complete all 3 sections, then "
     "submit them together. The CIS2 onboarding team reviews them within 5 working days.",
     NULL, q_setup},
    /* CIS2-PROFILE.md puts assurance after testing, but its answers take time
     * to gather: teams draft them early and submit once the use case is
     * approved, so the CIS2 team never assures a product it has not accepted. */
    {"non_functional", "non-functional", "Non-functional requirements",
     "Show how your product keeps data secure, manages clinical risk, supports its users and "
     "meets medical device regulation. Complete all 4 sections, then submit them together. "
     "The CIS2 onboarding team reviews them within 5 working days.",
     "setup_eligibility", q_nfr},
};

#define N_STAGES (sizeof(stage_defs) / sizeof(stage_defs[0]))

const struct stage_def *stage_def_find(const char *name)
{
	for (size_t i = 0; name && i < N_STAGES; i++)
		if (strcmp(stage_defs[i].name, name) == 0)
			return &stage_defs[i];
	return NULL;
}

const struct stage_def *stage_def_route(const char *rest, const char **section_out)
{
	for (size_t i = 0; rest && i < N_STAGES; i++) {
		size_t n = strlen(stage_defs[i].slug);
		const char *after = rest + 1 + n;

		if (rest[0] != '/' || strncmp(rest + 1, stage_defs[i].slug, n) != 0)
			continue;
		if (*after == '\0') {
			*section_out = "";
			return &stage_defs[i];
		}
		if (*after == '/' && after[1] && !strchr(after + 1, '/')) {
			*section_out = after + 1;
			return &stage_defs[i];
		}
		return NULL;
	}
	return NULL;
}

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

int stage_load(struct ob_req *r, const struct stage_def *def, const struct ob_product *p,
               struct stage *out)
{
	static const char sql[] = "SELECT id, state, answers, questionnaire_version, submissions "
	                          "FROM ob_stages WHERE product_id = $1 AND stage = $2";
	store_stmt *st = NULL;
	json_t *answers = NULL;
	int rc = store_query(r->o->s, &st, sql, "tt", p->id, def->name);

	memset(out, 0, sizeof(*out));
	out->def = def;
	out->q = def->questionnaire(r->o);
	out->p = p;
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

int stage_state_of(struct ob_req *r, const char *product_id, const char *name,
                   const char **state_out)
{
	static const char sql[] =
	    "SELECT state FROM ob_stages WHERE product_id = $1 AND stage = $2";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, name);

	*state_out = "not_started";
	if (!rc && (rc = store_next(st)) == 1) {
		*state_out = arena_strdup(r->a, store_text(st, 0));
		rc = *state_out ? 0 : CAREID_ENOMEM;
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

bool stage_editable(const struct stage *s)
{
	return !s->state || strcmp(s->state, "draft") == 0 || strcmp(s->state, "more_info") == 0;
}

int stage_save(struct ob_req *r, struct stage *s, json_t *answers)
{
	static const char sql_new[] = "INSERT INTO ob_stages (id, product_id, stage, "
	                              "questionnaire_version, answers, state, created_at, "
	                              "updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7)";
	static const char sql_upd[] = "UPDATE ob_stages SET answers = $1, questionnaire_version = "
	                              "$2, updated_at = $3 WHERE id = $4 AND state IN ('draft', "
	                              "'more_info')";
	char *text = NULL, *id = NULL;
	int64_t now = clock_now(), version = questionnaire_version(s->q);
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
	rc = store_exec(r->o->s, sql_new, "tttitii", id, s->p->id, s->def->name, version, text, now,
	                now);
	if (rc == CAREID_EEXISTS) /* started meanwhile by a team mate */
		rc = careid_error_set(CAREID_EUSED, "the stage was started meanwhile");
	detail = json_pack("{s:s, s:s}", "product", s->p->id, "stage", s->def->name);
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

int stage_blocked(struct ob_req *r, const struct stage *s, const char **message_out)
{
	const struct stage_def *pre = stage_def_find(s->def->prerequisite);
	const char *state = NULL;
	int rc;

	*message_out = NULL;
	if (!pre)
		return 0;
	rc = stage_state_of(r, s->p->id, pre->name, &state);
	if (rc)
		return rc;
	if (strcmp(state, "approved") != 0)
		*message_out =
		    arena_printf(r->a,
		                 "The %s stage must be approved before you submit the %s "
		                 "stage. You can save your answers as a draft until then.",
		                 pre->title, s->def->title);
	return 0;
}

/* not_started, in_progress or completed (valid for submission). */
static const char *section_status(const struct stage *s, const char *section)
{
	json_t *given = NULL, *errors = NULL;
	const char *status = "in_progress";

	if (questionnaire_answers_pick(&given, s->q, section, s->answers) == 0 &&
	    json_object_size(given) == 0)
		status = "not_started";
	else if (questionnaire_validate(&errors, s->q, section, s->answers, QUESTIONNAIRE_SUBMIT) ==
	             0 &&
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

const char *stage_state_text(const char *state)
{
	return !state || strcmp(state, "not_started") == 0 ? "Not started"
	       : strcmp(state, "draft") == 0               ? "Draft"
	       : strcmp(state, "submitted") == 0           ? "Submitted for review"
	       : strcmp(state, "more_info") == 0           ? "More information needed"
	       : strcmp(state, "approved") == 0            ? "Approved"
	       : strcmp(state, "declined") == 0            ? "Declined"
	                                                   : state;
}

const char *stage_url(struct ob_req *r, const struct stage *s, const char *section)
{
	return arena_printf(r->a, "/onboarding/products/%s/%s%s%s", s->p->id, s->def->slug,
	                    section && *section ? "/" : "", section ? section : "");
}

json_t *stage_review(struct ob_req *r, const struct stage *s)
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

static const char *section_title_of(const questionnaire *q, const char *id)
{
	int i = questionnaire_section_find(q, id);

	if (i >= 0)
		return questionnaire_section_title(q, (size_t)i);
	return strcmp(id, "general") == 0 ? "General" : id;
}

json_t *stage_comments_list(const struct stage *s, const json_t *review)
{
	json_t *list = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(json_object_get(review, "comments"), k, v)
	{
		if (json_is_string(v))
			json_array_append_new(list,
			                      json_pack("{s:s, s:O}", "section",
			                                section_title_of(s->q, k), "text", v));
	}
	return list;
}

json_t *stage_sections_json(struct ob_req *r, const struct stage *s, bool for_page)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < questionnaire_section_count(s->q); i++) {
		const char *id = questionnaire_section_id(s->q, i);
		const char *status = section_status(s, id);
		json_t *sec = json_pack("{s:s, s:s, s:s}", "id", id, "title",
		                        questionnaire_section_title(s->q, i), "status", status);

		if (sec && for_page) {
			json_object_set_new(sec, "status_text", json_string(status_text(status)));
			json_object_set_new(sec, "completed",
			                    json_boolean(strcmp(status, "completed") == 0));
			json_object_set_new(sec, "href", json_string(stage_url(r, s, id)));
		}
		json_array_append_new(list, sec);
	}
	return list;
}

static json_t *stage_json(struct ob_req *r, const struct stage *s)
{
	const char *blocked = NULL;

	if (stage_editable(s) && stage_blocked(r, s, &blocked))
		return NULL;
	return json_pack(
	    "{s:s?, s:s, s:s, s:s, s:s, s:i, s:i, s:o, s:O, s:o?, s:b, s:s?}", "id", s->id,
	    "product_id", s->p->id, "stage", s->def->name, "title", s->def->title, "state",
	    s->state ? s->state : "not_started", "questionnaire_version",
	    s->version ? s->version : questionnaire_version(s->q), "submissions", s->submissions,
	    "sections", stage_sections_json(r, s, false), "answers", s->answers, "review",
	    stage_review(r, s), "can_submit", stage_editable(s) && !blocked, "blocked", blocked);
}

int stage_check(struct ob_req *r, const struct stage *s, json_t **errors_out,
                json_t **by_section_out)
{
	json_t *errors = NULL, *list = json_array();
	int rc = questionnaire_validate(&errors, s->q, NULL, s->answers, QUESTIONNAIRE_SUBMIT);

	for (size_t i = 0; !rc && list && i < questionnaire_section_count(s->q); i++) {
		const char *id = questionnaire_section_id(s->q, i);
		json_t *ctx = NULL, *links = json_array(), *e;
		size_t j;

		rc = questionnaire_render_context(&ctx, s->q, id, s->answers, errors);
		json_array_foreach(json_object_get(ctx, "errors"), j, e)
		{
			json_array_append_new(
			    links,
			    json_pack("{s:s, s:s}", "href",
			              arena_printf(r->a, "%s%s", stage_url(r, s, id),
			                           json_string_value(json_object_get(e, "href"))),
			              "text", json_string_value(json_object_get(e, "text"))));
		}
		if (json_array_size(links))
			json_array_append_new(list, json_pack("{s:s, s:O}", "title",
			                                      questionnaire_section_title(s->q, i),
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

	if (!body || !subject)
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
 * One transaction: the state change (only from draft or more_info, so a
 * double submission records one), the review with its due date, the e-mail
 * to the team and the audit event.
 */
int stage_submit(struct ob_req *r, struct stage *s, char due[11])
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
	                    "Hello,\n\n%s submitted the %s stage of %s for review (submission "
	                    "%d).\n\nThe CIS2 onboarding team will respond by %s (5 working "
	                    "days).\n\n%s%s\n",
	                    r->name, s->def->title, s->p->name, s->submissions + 1, due,
	                    r->o->public_url, stage_url(r, s, NULL));
	rc = mail_team(r, s->p->team_id,
	               arena_printf(r->a, "%s submitted for review", s->def->title), body);
	detail = json_pack("{s:s, s:s, s:i, s:s, s:i}", "product", s->p->id, "stage", s->def->name,
	                   "submission", s->submissions + 1, "due_date", due,
	                   "questionnaire_version", s->version);
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
	static const char sql_stage[] = "SELECT s.product_id, p.name, p.team_id, s.submissions, "
	                                "s.stage FROM ob_stages s JOIN ob_products p ON p.id = "
	                                "s.product_id WHERE s.id = $1";
	const char *state = strcmp(decision, "approve") == 0   ? "approved"
	                    : strcmp(decision, "decline") == 0 ? "declined"
	                                                       : "more_info";
	const char *product = NULL, *name = NULL, *team = NULL, *what, *subject, *k;
	const struct stage_def *def = NULL;
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
		def = stage_def_find(store_text(st, 4));
		rc = product && name && team ? 0 : CAREID_ENOMEM;
		if (!rc && !def)
			rc = careid_error_set(CAREID_ESTORE, "unknown stage '%s'",
			                      store_text(st, 4));
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
			rc = buf_printf(&notes, "\n%s:\n%s\n",
			                section_title_of(def->questionnaire(r->o), k),
			                json_string_value(v));
	}
	what = strcmp(state, "approved") == 0   ? "has been approved by the CIS2 onboarding team"
	       : strcmp(state, "declined") == 0 ? "has been declined by the CIS2 onboarding team"
	                                        : "needs more information before the CIS2 "
	                                          "onboarding team can decide";
	subject = strcmp(state, "more_info") == 0
	              ? arena_printf(r->a, "More information needed: %s", def->title)
	              : arena_printf(r->a, "Decision on your %s stage", def->title);
	body = arena_printf(r->a,
	                    "Hello,\n\nThe %s stage of %s (submission %d) %s.\n%s%s\n"
	                    "%s/onboarding/products/%s/%s\n",
	                    def->title, name, submission, what,
	                    notes.len ? "\nComments from the CIS2 team:\n" : "",
	                    notes.len ? notes.ptr : "", r->o->public_url, product, def->slug);
	if (!rc)
		rc = mail_team(r, team, subject, body);
	buf_release(&notes);
	return rc;
}

/* --- API --------------------------------------------------------------- */

static int api_put(struct ob_req *r, struct stage *s, const char *section)
{
	json_t *body, *update = NULL, *errors = NULL, *answers;
	int rc;

	if (!stage_editable(s))
		return ob_error(r, 409, "already_submitted",
		                "The stage has been submitted; wait for the review.");
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	rc = questionnaire_answers_pick(&update, s->q, section, json_object_get(body, "answers"));
	json_decref(body);
	if (rc == CAREID_EINVALID)
		return ob_error(r, 400, "invalid_request", "Send {\"answers\": {…}}.");
	if (rc)
		return rc;
	rc = questionnaire_validate(&errors, s->q, section, update, QUESTIONNAIRE_DRAFT);
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
		rc = answers ? questionnaire_answers_replace(answers, s->q, section, update)
		             : CAREID_ENOMEM;
	json_decref(update);
	if (rc) {
		json_decref(answers);
		return rc;
	}
	rc = stage_save(r, s, answers);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_submitted", "The stage was submitted meanwhile.");
	return rc ? rc : ob_json(r, 200, stage_json(r, s));
}

static int api_submit(struct ob_req *r, struct stage *s)
{
	json_t *errors = NULL, *problems = NULL;
	const char *blocked = NULL;
	char due[11];
	int rc;

	if (!stage_editable(s))
		return ob_error(r, 409, "already_submitted",
		                "The stage has already been submitted.");
	rc = stage_blocked(r, s, &blocked);
	if (rc)
		return rc;
	if (blocked)
		return ob_error(r, 403, "prerequisite_not_approved", blocked);
	rc = stage_check(r, s, &errors, &problems);
	if (rc)
		return rc;
	json_decref(problems);
	if (json_object_size(errors) || !s->id)
		return ob_json(r, 422,
		               json_pack("{s:s, s:s, s:o}", "error", "incomplete_answers",
		                         "message", "Complete every section first.", "errors",
		                         errors));
	json_decref(errors);
	rc = stage_submit(r, s, due);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_submitted",
		                "The stage has already been submitted.");
	if (rc)
		return rc;
	return ob_json(r, 200, json_pack("{s:o, s:s}", "stage", stage_json(r, s), "due_date", due));
}

static bool granted(const char *cis2_access)
{
	return cis2_access && strcmp(cis2_access, "granted") == 0;
}

/* What every stage request checks first; 1 when an answer was sent. */
static int stage_open(struct ob_req *r, const struct ob_product *p, const char *rest,
                      struct stage *s, const char **section)
{
	const struct stage_def *def = stage_def_route(rest, section);
	const char *none = r->api ? "There is no such resource." : "There is no such page.";
	int rc;

	if (p->as_reviewer) /* the CIS2 team reads submissions in the review queue */
		return ob_error(r, 403, "not_in_team",
		                "Only the product's team can open its stages.")
		           ?: 1;
	if (!def)
		return ob_error(r, 404, "not_found", none) ?: 1;
	/* the API's "submit" is not a section; the pages post it to the task list */
	if (**section && !(r->api && strcmp(*section, "submit") == 0) &&
	    questionnaire_section_find(def->questionnaire(r->o), *section) < 0)
		return ob_error(r, 404, "not_found",
		                r->api ? "There is no such section." : "There is no such page.")
		           ?: 1;
	if (!granted(p->cis2_access))
		return ob_error(r, 403, "cis2_not_granted",
		                "CIS2 Authentication must be added to this product first")
		           ?: 1;
	rc = stage_load(r, def, p, s);
	return rc;
}

int stage_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *section = NULL;
	struct stage s;
	int rc = stage_open(r, p, rest, &s, &section);

	if (rc)
		return rc > 0 ? 0 : rc;
	return stage_pages(r, &s, section);
}

int stage_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *m = r->req->method, *section = NULL;
	struct stage s;
	int rc = stage_open(r, p, rest, &s, &section);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (!*section && strcmp(m, "GET") == 0)
		return ob_json(r, 200, stage_json(r, &s));
	if (strcmp(section, "submit") == 0 && strcmp(m, "POST") == 0)
		return api_submit(r, &s);
	if (*section && strcmp(section, "submit") != 0 && strcmp(m, "PUT") == 0)
		return api_put(r, &s, section);
	return ob_error(r, 405, "method_not_allowed",
	                arena_printf(r->a, "GET /%s, PUT /%s/{section}, POST /%s/submit.",
	                             s.def->slug, s.def->slug, s.def->slug));
}
