/*
 * Questionnaires as data: the Service Assessment Questionnaire (SAQ) and the
 * onboarding stages ("Setup and eligibility", …) are JSON files in
 * etc/onboarding/, so the CIS2 team can change a question without a release.
 * This module loads and checks a definition, turns a posted form into answers,
 * validates answers, and builds the contexts that web/templates/
 * questionnaire.html and the check-your-answers pages render. Answers are
 * stored by the caller together with questionnaire_id() and
 * questionnaire_version(), the version they answered.
 *
 * The format
 * ----------
 *   {"id": "saq", "version": 1, "title": "…", "description": "…",
 *    "sections": [{"id": "organisation", "title": "…", "description": "…",
 *      "questions": [{"id": "ods_code", "label": "…", "hint": "…", "type": "text", …}]}]}
 *
 * Questionnaire: "id" ([a-z][a-z0-9_-]*, ≤ 64), "version" (integer ≥ 1; raise
 * it whenever a question changes), "title", optional "description", and a
 * non-empty "sections" array. Section: "id" ([a-z][a-z0-9_]*, ≤ 64, unique),
 * "title", optional "description", non-empty "questions" array.
 *
 * Question keys:
 *   "id"        [a-z][a-z0-9_]*, ≤ 64, unique in the whole questionnaire; it is
 *               also the form field's name, so "csrf", "tx" and "action" are
 *               reserved for the page around the form
 *   "label"     the question as shown (required); "hint" optional help text
 *   "name"      optional short noun phrase used in error messages, written as
 *               it reads mid-sentence ("ODS code", "organisation name");
 *               defaults to the label
 *   "type"      text | textarea | email | url | integer | date | yesno |
 *               radios | checkboxes | confirm
 *   "required"  boolean, default false; a "confirm" question is always
 *               required (it is a checklist item that must be ticked to submit)
 *   "max_length"  characters (code points), text-like types only; defaults:
 *               text 200, textarea 2000, email 254, url 2048; at most 8192
 *   "pattern"   text only: a POSIX extended regular expression anchored with
 *               ^ and $, ≤ 256 bytes, no back-references. POSIX regcomp() is
 *               used rather than a home-made matcher because patterns come
 *               from the operator's file (trusted, compiled and checked once at
 *               load), while the untrusted side, the answer, is capped by
 *               max_length and matched by glibc's automaton for EREs without
 *               back-references, which does not backtrack exponentially.
 *               Matching is byte-wise (careid never calls setlocale()).
 *   "min", "max"  integer only, each within ±10^15, min ≤ max
 *   "min_date", "max_date"  date only, "YYYY-MM-DD", min ≤ max
 *   "options"   radios (≥ 2) and checkboxes (≥ 1), at most 50:
 *               [{"value": "[A-Za-z0-9][A-Za-z0-9_.-]*", "label": "…",
 *                 "hint": "…" optional, "exclusive": true optional (checkboxes
 *                 only: "None", which cannot be combined with other options)}]
 *   "width"     text, email, url, integer: 2, 3, 4, 5, 10, 20 or 30 (the
 *               NHS.UK fixed-width input classes)
 *   "autocomplete"  text, email, url: name, given-name, family-name, email,
 *               tel, organization, organization-title, url or off (WCAG 1.3.5:
 *               questions about the person filling in the form say so)
 *   "messages"  optional overrides of the error messages, keys: "required"
 *               (missing on submit, unticked confirm), "format" (email, url,
 *               date, yes/no not well formed), "length", "pattern", "range"
 *               (integer not a whole number in range, date out of range),
 *               "option" (an answer that is not one of the options)
 * Unknown keys anywhere are an error, so a misspelt "requird" fails at start
 * instead of silently making a question optional.
 *
 * Answers
 * -------
 * A JSON object {question_id: value}: text, textarea, email, url, radios and
 * yesno ("yes"/"no") are strings; date is "YYYY-MM-DD"; integer is a JSON
 * integer (or, from a form, the string the user typed when it is not a whole
 * number, so it is shown back to them with the error); checkboxes is an
 * array of option values; confirm is true. A question without an answer is
 * absent (null, "" and [] count as absent).
 *
 * Thread safety: a questionnaire is immutable once loaded; share it freely.
 */
#ifndef CAREID_ONBOARDING_QUESTIONNAIRE_H
#define CAREID_ONBOARDING_QUESTIONNAIRE_H

#include <stddef.h>

#include <jansson.h>

#include "http/form.h"

typedef struct questionnaire questionnaire;

enum questionnaire_mode {
	/* Checks only the answers given (types, lengths, patterns, ranges,
	 * option values), so saving a draft never needs a complete form. */
	QUESTIONNAIRE_DRAFT,
	/* Also requires every required answer and every confirm ticked. */
	QUESTIONNAIRE_SUBMIT,
};

/*
 * Loads the definition at `path` (≤ 1 MiB). CAREID_EIO when the file cannot be
 * read; CAREID_EINVALID when the definition is wrong, with a message in
 * careid_error_last() naming the file, and the section or question
 * ("saq.json: question 'ods_code': pattern must start with ^ and end with $").
 * Free *out with questionnaire_free().
 */
int questionnaire_load(questionnaire **out, const char *path);

/* As questionnaire_load(), from text; `name` names it in messages. */
int questionnaire_parse(questionnaire **out, const char *json_text, const char *name);

/* Accepts NULL. */
void questionnaire_free(questionnaire *q);

const char *questionnaire_id(const questionnaire *q);
int questionnaire_version(const questionnaire *q);
const char *questionnaire_title(const questionnaire *q);

size_t questionnaire_section_count(const questionnaire *q);
/* The id or title of section `i` (in file order), NULL when out of range. */
const char *questionnaire_section_id(const questionnaire *q, size_t i);
const char *questionnaire_section_title(const questionnaire *q, size_t i);
/* The index of section `id`, or CAREID_ENOTFOUND. */
int questionnaire_section_find(const questionnaire *q, const char *id);

/*
 * The definition for the API: a new JSON object (the caller json_decref()s
 * it) with the defaults made explicit ("required", "max_length"). NULL when
 * out of memory.
 */
json_t *questionnaire_json(const questionnaire *q);

/*
 * Builds the answers of `section` (all sections when NULL) from a posted
 * form whose fields are named by question id. Values are trimmed (textarea
 * line ends become "\n"); a blank field gives no answer; checkboxes gather
 * every value of the repeated field, without duplicates; an integer is a JSON
 * integer when it is a whole number ("1,000" accepted) and otherwise stays
 * the string typed; a date typed as D/M/YYYY becomes YYYY-MM-DD; a confirm
 * posted as "yes" is true. Fields that are not questions of the scope are
 * ignored. Nothing is truncated: an oversized answer is kept for
 * questionnaire_validate() to report (form_parse() caps each field).
 *
 * *out is the complete answer set of the scope (questions left blank are
 * absent), so callers replace, not merge, that section's stored answers:
 * questionnaire_answers_replace(). The caller json_decref()s *out.
 * CAREID_ENOTFOUND for an unknown section, CAREID_ENOMEM.
 */
int questionnaire_answers_from_form(json_t **out, const questionnaire *q, const char *section,
                                    const struct form *f);

/*
 * The JSON API's twin of questionnaire_answers_from_form(): a new object
 * holding only the members of `answers` that are questions of `section`
 * (all when NULL), values untouched (validation reports bad ones).
 * CAREID_EINVALID when `answers` is not an object, CAREID_ENOTFOUND, CAREID_ENOMEM.
 */
int questionnaire_answers_pick(json_t **out, const questionnaire *q, const char *section,
                               const json_t *answers);

/*
 * Replaces in `answers` (an object) the answers to the questions of
 * `section` (all when NULL) by those in `update`: a question of the scope
 * absent from `update` loses its answer; other members are left alone.
 * CAREID_EINVALID, CAREID_ENOTFOUND, CAREID_ENOMEM.
 */
int questionnaire_answers_replace(json_t *answers, const questionnaire *q, const char *section,
                                  const json_t *update);

/*
 * Validates the answers to `section`'s questions (all when NULL); answers to
 * other questions are ignored. *errors_out is a new object {question_id:
 * "a message the user can act on"}, empty when everything is valid; the
 * caller json_decref()s it. Errors in the answers are data: the return is 0
 * for them. CAREID_EINVALID when `answers` is not an object (NULL is taken as
 * {}), CAREID_ENOTFOUND for an unknown section, CAREID_ENOMEM.
 */
int questionnaire_validate(json_t **errors_out, const questionnaire *q, const char *section,
                           const json_t *answers, enum questionnaire_mode mode);

/*
 * The context for web/templates/questionnaire.html, which renders one
 * section: its title (an h2 with id "section-<id>"), description and form
 * groups; the page around it renders the h1, the NHS.UK error summary (from
 * "errors"), the <form>, its hidden fields and buttons:
 *
 *   {"questionnaire": {"id", "version", "title"},
 *    "section": {"id", "title", "description", "number" (from 1), "count"},
 *    "questions": [question…],
 *    "errors": [{"href": "#q-<id>", "text": "…"}] (in question order),
 *    "has_errors": bool}
 *
 * question: "id" (the field's name), "input_id" ("q-<id>", also the first
 * option's id, which the error summary links to), "hint_id", "error_id",
 * "label", "hint", "error" ("" when none), "describedby" (hint and error ids,
 * or ""), "value" (what to show in a text-like input), "required",
 * "optional", "is_<type>" for each type, "is_input" (one <input>), "is_choice"
 * (radios, yesno, checkboxes: a fieldset), "input_type", "inputmode",
 * "autocomplete", "spellcheck_off", "group_class", "input_class",
 * "textarea_class", "choice" ("radios"/"checkboxes"), "choice_class",
 * "input_kind" ("radio"/"checkbox"), "checked" (a confirm), "options":
 * [{"value", "label", "hint", "has_option_hint", "option_id",
 * "option_hint_id", "checked", "exclusive", "divider"}].
 *
 * `answers` and `errors` (from questionnaire_validate()) may be NULL. Every
 * key a template reads is present on every question and option, so a
 * template never picks up a name from an outer context. The caller
 * json_decref()s *out. CAREID_EINVALID for a NULL section (one section per
 * page), CAREID_ENOTFOUND for an unknown one, CAREID_ENOMEM.
 */
int questionnaire_render_context(json_t **out, const questionnaire *q, const char *section,
                                 const json_t *answers, const json_t *errors);

/*
 * Answers for check-your-answers and reviewer pages, in questionnaire order:
 *   [{"id", "title", "rows": [{"id", "label", "value", "items", "answered"}]}]
 * "value" is the display text (option labels, "Yes"/"No", "31 March 2026",
 * "1,000,000", "Confirmed", or "Not answered"); "items" lists checkbox labels
 * one by one. A new array the caller json_decref()s; NULL when out of memory.
 */
json_t *questionnaire_summary(const questionnaire *q, const json_t *answers);

#endif
