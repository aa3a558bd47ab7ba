/*
 * Internals of a product's onboarding stages, shared by stage.c (the stages,
 * their API and decisions), stage_pages.c (their pages) and reviews.c.
 *
 * A stage is a questionnaire (etc/onboarding/) answered section by section
 * as a draft, submitted whole once every section is complete, and reviewed
 * by the CIS2 onboarding team in 5 working days (a review of kind "stage"
 * whose subject is the ob_stages row): approved, declined, or sent back for
 * more information by section, then resubmitted. Each stage is one row of
 * a table of definitions; ob_stages.stage holds the definition's name.
 */
#ifndef CAREID_ONBOARDING_STAGE_INT_H
#define CAREID_ONBOARDING_STAGE_INT_H

#include <stdbool.h>

#include "onboarding/onboarding_int.h"
#include "onboarding/questionnaire.h"

struct stage_def {
	const char *name;  /* ob_stages.stage: "setup_eligibility", "non_functional" */
	const char *slug;  /* the URL part after the product id: "setup", "non-functional" */
	const char *title; /* "Setup and eligibility": headings, e-mails, the review queue */
	const char *intro; /* the task list's opening paragraph */
	/* A stage (by name) that must be approved before this one is submitted
	 * (drafting is allowed at once), or NULL. */
	const char *prerequisite;
	/* The questionnaire, as loaded at start by data.c. */
	const questionnaire *(*questionnaire)(const onboarding *o);
};

/* The definition named `name` (ob_stages.stage), or NULL. */
const struct stage_def *stage_def_find(const char *name);

/*
 * The definition `rest` (what follows the product id) belongs to, and in
 * *section_out what follows its slug: "" for "/non-functional", the section
 * id for "/non-functional/clinical_risk", "submit" for ".../submit". NULL
 * when `rest` is none of the stages' or goes deeper than one part.
 */
const struct stage_def *stage_def_route(const char *rest, const char **section_out);

/* A product's stage as stored; an empty one (id NULL) before the first draft. */
struct stage {
	const struct stage_def *def;
	const questionnaire *q;
	const struct ob_product *p;
	const char *id;    /* NULL until the first draft is saved */
	const char *state; /* NULL (not started), draft, submitted, more_info, approved, declined */
	json_t *answers;   /* never NULL; owned by the request's arena */
	int version;
	int submissions;
};

/* Loads `p`'s stage `def` into *out (strings and answers in the request's arena). */
int stage_load(struct ob_req *r, const struct stage_def *def, const struct ob_product *p,
               struct stage *out);
/* The state of a product's stage `name` ("not_started" when there is none)
 * in the arena; for the journey's task list and prerequisites. */
int stage_state_of(struct ob_req *r, const char *product_id, const char *name,
                   const char **state_out);
bool stage_editable(const struct stage *s);
/* Saves `answers` (a new reference, taken) as the draft; CAREID_EUSED when
 * the stage was submitted meanwhile. */
int stage_save(struct ob_req *r, struct stage *s, json_t *answers);
/* *message_out (in the arena) says why `s` cannot be submitted yet, its
 * prerequisite stage not being approved; NULL when it can be. */
int stage_blocked(struct ob_req *r, const struct stage *s, const char **message_out);
/* Validates every section: *errors_out {question: message} (empty when
 * complete); optionally, for the pages, *by_section_out [{title, errors:
 * [{href, text}]}] of the incomplete sections. Both new; the caller
 * json_decref()s them. */
int stage_check(struct ob_req *r, const struct stage *s, json_t **errors_out,
                json_t **by_section_out);
/* Submits (one transaction: state, review, e-mail, audit); CAREID_EUSED
 * when it was submitted already. */
int stage_submit(struct ob_req *r, struct stage *s, char due[11]);

/* For the pages and the API. "Draft", "Submitted for review", … (static). */
const char *stage_state_text(const char *state);
/* "/onboarding/products/{id}/{slug}[/{section}]" in the arena (section may be NULL). */
const char *stage_url(struct ob_req *r, const struct stage *s, const char *section);
/* The open or last review, {id, submission, due_date, decision, comments}:
 * a new object, or NULL before the first submission. */
json_t *stage_review(struct ob_req *r, const struct stage *s);
/* The review's comments as [{section (its title), text}]: a new array. */
json_t *stage_comments_list(const struct stage *s, const json_t *review);
/* [{id, title, status}] in questionnaire order (for_page adds status_text,
 * completed and href): a new array. */
json_t *stage_sections_json(struct ob_req *r, const struct stage *s, bool for_page);

/* stage_pages.c: the task list ("" section) and the section pages, GET and
 * POST, for a stage stage.c loaded and checked (team, CIS2 access). */
int stage_pages(struct ob_req *r, struct stage *s, const char *section);

#endif
