/*
 * Fuzz target: questionnaire answers from a posted form. The input is an
 * urlencoded body; it goes through form_parse() (in a fresh arena), then
 * questionnaire_answers_from_form(), questionnaire_validate() (draft and
 * submit), questionnaire_render_context() rendered through the real
 * "questionnaire" template, and questionnaire_summary(), for every section
 * and for the whole questionnaire. Definitions: the one below (every question
 * type) and etc/onboarding/saq.json (from CAREID_SOURCE_DIR, else next to this
 * file), each loaded once.
 *
 * Promises checked (abort() when broken): answers hold only questions of the
 * scope, with the documented value types; errors are keyed by answered
 * questions in a draft and only grow on submit; answers re-encoded as a form
 * give the same answers back (trimming and normalising are idempotent).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "http/form.h"
#include "http/template.h"
#include "onboarding/questionnaire.h"

static const char every_type[] =
    "{\"id\":\"fuzz\",\"version\":1,\"title\":\"Fuzz\",\"sections\":["
    "{\"id\":\"one\",\"title\":\"One\",\"questions\":["
    "{\"id\":\"name\",\"label\":\"Organisation name\",\"type\":\"text\",\"required\":true,"
    "\"max_length\":10},"
    "{\"id\":\"ods\",\"label\":\"ODS code\",\"type\":\"text\",\"pattern\":\"^[A-Z0-9]{3,6}$\"},"
    "{\"id\":\"about\",\"label\":\"About\",\"hint\":\"h\",\"type\":\"textarea\",\"max_length\":20},"
    "{\"id\":\"email\",\"label\":\"Email\",\"type\":\"email\"},"
    "{\"id\":\"site\",\"label\":\"Website\",\"type\":\"url\"},"
    "{\"id\":\"per_day\",\"label\":\"Per day\",\"type\":\"integer\",\"min\":0,\"max\":1000000},"
    "{\"id\":\"live\",\"label\":\"Go-live\",\"type\":\"date\",\"min_date\":\"2024-01-01\"}]},"
    "{\"id\":\"two\",\"title\":\"Two\",\"questions\":["
    "{\"id\":\"cis1\",\"label\":\"CIS1?\",\"type\":\"yesno\",\"required\":true},"
    "{\"id\":\"aal\",\"label\":\"Level\",\"type\":\"radios\",\"options\":["
    "{\"value\":\"AAL2\",\"label\":\"AAL2\"},{\"value\":\"AAL3\",\"label\":\"AAL3\"}]},"
    "{\"id\":\"apis\",\"label\":\"APIs\",\"type\":\"checkboxes\",\"required\":true,\"options\":["
    "{\"value\":\"pds\",\"label\":\"PDS\"},{\"value\":\"none\",\"label\":\"None\","
    "\"exclusive\":true}]},"
    "{\"id\":\"read\",\"label\":\"I have read it\",\"type\":\"confirm\"}]}]}";

static questionnaire *defs[2];
static size_t n_defs;
static templates *tmpl;

static void release(void)
{
	for (size_t i = 0; i < n_defs; i++)
		questionnaire_free(defs[i]);
	templates_free(tmpl);
}

static void init(void)
{
	const char *src = getenv("CAREID_SOURCE_DIR");
	char path[4096];
	const char *slash = strrchr(__FILE__, '/');

	if (questionnaire_parse(&defs[n_defs], every_type, "fuzz") != 0 || templates_load(&tmpl))
		abort();
	n_defs++;
	if (src)
		snprintf(path, sizeof(path), "%s/etc/onboarding/saq.json", src);
	else
		snprintf(path, sizeof(path), "%.*s/../../etc/onboarding/saq.json",
		         slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	if (questionnaire_load(&defs[n_defs], path) == 0)
		n_defs++;
	atexit(release);
}

/* The answers as a form body again: every value, arrays repeated. */
static char *encode(arena *a, const json_t *answers)
{
	struct buf b;
	const char *key;
	json_t *v;
	char *out;

	buf_init(&b, 1 << 20);
	json_object_foreach((json_t *)answers, key, v)
	{
		for (size_t i = 0; i < (json_is_array(v) ? json_array_size(v) : 1); i++) {
			json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
			char num[32];
			const char *s = json_string_value(e);

			if (json_is_integer(e))
				snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
				         json_integer_value(e));
			if (json_is_true(e))
				s = "yes";
			if (buf_printf(&b, "%s%s=%s", b.len ? "&" : "", form_encode(a, key),
			               form_encode(a, json_is_integer(e) ? num : s)))
				abort();
		}
	}
	out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

static void check_values(const json_t *answers)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)answers, key, v)
	{
		if (json_is_string(v) && json_string_length(v) > 0)
			continue;
		if (json_is_integer(v) || json_is_true(v))
			continue;
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > FORM_MAX_FIELDS)
			abort();
		for (size_t i = 0; i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				abort();
	}
}

static void run_scope(const questionnaire *q, const char *section, const struct form *f, arena *a)
{
	json_t *answers = NULL, *picked = NULL, *draft = NULL, *submit = NULL, *again = NULL;
	struct form f2;
	const char *key;
	json_t *v;
	char *body;

	if (questionnaire_answers_from_form(&answers, q, section, f) != 0)
		abort();
	check_values(answers);
	/* only questions of the scope */
	if (questionnaire_answers_pick(&picked, q, section, answers) != 0 ||
	    !json_equal(picked, answers))
		abort();
	if (questionnaire_validate(&draft, q, section, answers, QUESTIONNAIRE_DRAFT) != 0 ||
	    questionnaire_validate(&submit, q, section, answers, QUESTIONNAIRE_SUBMIT) != 0)
		abort();
	json_object_foreach(draft, key, v)
	{
		if (!json_object_get(answers, key) || !json_is_string(v) ||
		    !json_equal(v, json_object_get(submit, key)))
			abort();
	}
	/* round trip */
	body = encode(a, answers);
	if (!body || form_parse(&f2, a, body, strlen(body)) != 0 ||
	    questionnaire_answers_from_form(&again, q, section, &f2) != 0 ||
	    !json_equal(again, answers))
		abort();
	if (section) {
		json_t *ctx = NULL;
		struct buf out;

		if (questionnaire_render_context(&ctx, q, section, answers, submit) != 0)
			abort();
		buf_init(&out, 1 << 22);
		if (templates_render(tmpl, "questionnaire", ctx, &out) != 0)
			abort();
		buf_release(&out);
		json_decref(ctx);
	} else {
		json_t *summary = questionnaire_summary(q, answers);

		if (!summary)
			abort();
		json_decref(summary);
	}
	json_decref(answers);
	json_decref(picked);
	json_decref(draft);
	json_decref(submit);
	json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena *a;
	struct form f;

	if (!tmpl)
		init();
	a = arena_new();
	if (!a)
		return 0;
	if (form_parse(&f, a, (const char *)data, size) == 0) {
		for (size_t d = 0; d < n_defs; d++) {
			run_scope(defs[d], NULL, &f, a);
			for (size_t i = 0; i < questionnaire_section_count(defs[d]); i++)
				run_scope(defs[d], questionnaire_section_id(defs[d], i), &f, a);
		}
	}
	arena_free(a);
	return 0;
}
