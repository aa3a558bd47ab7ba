#include "onboarding/questionnaire.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "onboarding/questionnaire_int.h"

#define MAX_FILE      (1024 * 1024)
#define MAX_TEXT      2000
#define MAX_MESSAGE   300
#define MAX_OPTIONS   50
#define MAX_SECTIONS  50
#define MAX_QUESTIONS 500
#define MAX_PATTERN   256

const char *const q_type_names[T_COUNT] = {
    "text", "textarea", "email",  "url",        "integer",
    "date", "yesno",    "radios", "checkboxes", "confirm",
};

/* NULL-terminated: also the allowed keys of "messages" */
static const char *const msg_names[M_COUNT + 1] = {"required", "format", "length", "pattern",
                                                   "range",    "option", NULL};

static const struct option yesno_options[] = {{"yes", "Yes", "", false}, {"no", "No", "", false}};

/* ---- loading ---------------------------------------------------------- */

struct loader {
	const char *name, *sid, *qid;
};

static int bad(const struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(const struct loader *l, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (l->qid)
		return careid_error_set(CAREID_EINVALID, "%s: question '%s': %s", l->name, l->qid,
		                        what);
	if (l->sid)
		return careid_error_set(CAREID_EINVALID, "%s: section '%s': %s", l->name, l->sid,
		                        what);
	return careid_error_set(CAREID_EINVALID, "%s: %s", l->name, what);
}

static int check_keys(const struct loader *l, const char *what, json_t *o,
                      const char *const *allowed)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return bad(l, "%s must be an object", what);
	json_object_foreach(o, key, v)
	{
		size_t i = 0;

		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			return bad(l, "unknown key '%.40s' in %s%s", key, what,
			           strcmp(key, "confirm") == 0 ? " (use \"type\": \"confirm\")"
			                                       : "");
	}
	return 0;
}

/* An optional string is "" when absent. */
static int get_str(const struct loader *l, json_t *o, const char *key, bool required, size_t max,
                   const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = "";
	if (!v) {
		if (required)
			return bad(l, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return bad(l, "\"%s\" must be a string", key);
	if (required && json_string_length(v) == 0)
		return bad(l, "\"%s\" must not be empty", key);
	if (json_string_length(v) > max)
		return bad(l, "\"%s\" is longer than %zu bytes", key, max);
	*out = json_string_value(v);
	return 0;
}

static bool id_ok(const char *s, bool hyphen)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_ID || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
		      (hyphen && c == '-')))
			return false;
	}
	return true;
}

bool q_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool value_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_ID || !q_alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!q_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int q_days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

bool q_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return n > 0;
}

/* A real calendar date written "YYYY-MM-DD" (years 1900 to 2999). */
bool q_date_parse(const char *s, size_t n, int *y, int *m, int *d)
{
	if (n != 10 || s[4] != '-' || s[7] != '-' || !q_digits(s, 4, y) || !q_digits(s + 5, 2, m) ||
	    !q_digits(s + 8, 2, d))
		return false;
	return *y >= 1900 && *y <= 2999 && *m >= 1 && *m <= 12 && *d >= 1 &&
	       *d <= q_days_in(*y, *m);
}

static bool is_text_like(enum qtype t)
{
	return t == T_TEXT || t == T_TEXTAREA || t == T_EMAIL || t == T_URL;
}

static int parse_pattern(const struct loader *l, struct question *qu)
{
	size_t n = strlen(qu->pattern);
	char err[128];
	int rc;

	if (n < 2 || n > MAX_PATTERN)
		return bad(l, "pattern must be 2 to %d bytes", MAX_PATTERN);
	if (qu->pattern[0] != '^' || qu->pattern[n - 1] != '$' || qu->pattern[n - 2] == '\\')
		return bad(l, "pattern must start with ^ and end with $");
	for (size_t i = 0; i + 1 < n; i++) {
		if (qu->pattern[i] == '\\') {
			if (qu->pattern[i + 1] >= '0' && qu->pattern[i + 1] <= '9')
				return bad(l, "pattern must not use back-references");
			i++;
		}
	}
	rc = regcomp(&qu->re, qu->pattern, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &qu->re, err, sizeof(err));
		return bad(l, "bad pattern: %s", err);
	}
	qu->has_re = true;
	return 0;
}

static int parse_options(const struct loader *l, struct question *qu, json_t *arr)
{
	static const char *const keys[] = {"value", "label", "hint", "exclusive", NULL};
	size_t n = json_array_size(arr), min = qu->type == T_RADIOS ? 2 : 1, exclusive = 0;
	struct option *opts;
	int rc;

	if (!json_is_array(arr) || n < min || n > MAX_OPTIONS)
		return bad(l, "\"options\" must be an array of %zu to %d options", min,
		           MAX_OPTIONS);
	opts = calloc(n, sizeof(*opts));
	if (!opts)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	qu->options = opts;
	qu->n_options = n;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i), *ex;

		rc = check_keys(l, "an option", o, keys);
		if (!rc)
			rc = get_str(l, o, "value", true, MAX_ID, &opts[i].value);
		if (!rc)
			rc = get_str(l, o, "label", true, MAX_TITLE, &opts[i].label);
		if (!rc)
			rc = get_str(l, o, "hint", false, MAX_TEXT, &opts[i].hint);
		if (rc)
			return rc;
		if (!value_ok(opts[i].value))
			return bad(l,
			           "option value '%.64s' must be letters, digits, '_', '.' or '-'",
			           opts[i].value);
		for (size_t k = 0; k < i; k++)
			if (strcmp(opts[k].value, opts[i].value) == 0)
				return bad(l, "duplicate option value '%s'", opts[i].value);
		ex = json_object_get(o, "exclusive");
		if (ex && (!json_is_boolean(ex) || qu->type != T_CHECKBOXES))
			return bad(l, "\"exclusive\" is a boolean for checkboxes options");
		opts[i].exclusive = json_is_true(ex);
		exclusive += opts[i].exclusive;
	}
	if (exclusive > 1 || (exclusive && n < 2))
		return bad(l, "checkboxes have at most one exclusive option, with others");
	return 0;
}

static int parse_messages(const struct loader *l, struct question *qu, json_t *o)
{
	int rc = check_keys(l, "\"messages\"", o, msg_names);

	for (int m = 0; m < M_COUNT && !rc; m++) {
		const char *s;

		rc = get_str(l, o, msg_names[m], false, MAX_MESSAGE, &s);
		qu->msg[m] = *s ? s : NULL;
	}
	return rc;
}

static int get_limit(const struct loader *l, json_t *o, const char *key, bool *has, long long *out)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) > INT_LIMIT ||
	    json_integer_value(v) < -INT_LIMIT)
		return bad(l, "\"%s\" must be a whole number within ±10^15", key);
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

static int parse_kind_keys(const struct loader *l, struct question *qu, json_t *o)
{
	static const char *const autocompletes[] = {
	    "name",         "given-name",         "family-name", "email", "tel",
	    "organization", "organization-title", "url",         "off",   NULL};
	json_t *v;
	int rc, y, m, d;

	if ((v = json_object_get(o, "max_length"))) {
		if (!is_text_like(qu->type))
			return bad(l,
			           "\"max_length\" applies only to text, textarea, email and url");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > FORM_MAX_VALUE)
			return bad(l, "\"max_length\" must be 1 to %d", FORM_MAX_VALUE);
		qu->max_length = (size_t)json_integer_value(v);
	}
	if ((rc = get_str(l, o, "pattern", false, MAX_PATTERN, &qu->pattern)))
		return rc;
	if (*qu->pattern) {
		if (qu->type != T_TEXT)
			return bad(l, "\"pattern\" applies only to text");
		if ((rc = parse_pattern(l, qu)))
			return rc;
	}
	if ((json_object_get(o, "min") || json_object_get(o, "max")) && qu->type != T_INTEGER)
		return bad(l, "\"min\" and \"max\" apply only to integer");
	if ((rc = get_limit(l, o, "min", &qu->has_min, &qu->min)) ||
	    (rc = get_limit(l, o, "max", &qu->has_max, &qu->max)))
		return rc;
	if (qu->has_min && qu->has_max && qu->min > qu->max)
		return bad(l, "min %lld is greater than max %lld", qu->min, qu->max);
	for (int i = 0; i < 2; i++) {
		const char *key = i ? "max_date" : "min_date", *s;

		if ((rc = get_str(l, o, key, false, 10, &s)))
			return rc;
		if (!*s)
			continue;
		if (qu->type != T_DATE)
			return bad(l, "\"%s\" applies only to date", key);
		if (!q_date_parse(s, strlen(s), &y, &m, &d))
			return bad(l, "\"%s\" must be a real date written YYYY-MM-DD", key);
		*(i ? &qu->max_date : &qu->min_date) = s;
	}
	if (qu->min_date && qu->max_date && strcmp(qu->min_date, qu->max_date) > 0)
		return bad(l, "min_date is after max_date");
	if ((v = json_object_get(o, "width"))) {
		json_int_t w = json_is_integer(v) ? json_integer_value(v) : 0;

		if (qu->type != T_TEXT && qu->type != T_EMAIL && qu->type != T_URL &&
		    qu->type != T_INTEGER)
			return bad(l, "\"width\" applies only to text, email, url and integer");
		if (w != 2 && w != 3 && w != 4 && w != 5 && w != 10 && w != 20 && w != 30)
			return bad(l, "\"width\" must be 2, 3, 4, 5, 10, 20 or 30");
		qu->width = (int)w;
	}
	if ((rc = get_str(l, o, "autocomplete", false, 40, &qu->autocomplete)))
		return rc;
	if (*qu->autocomplete) {
		size_t i = 0;

		if (qu->type != T_TEXT && qu->type != T_EMAIL && qu->type != T_URL)
			return bad(l, "\"autocomplete\" applies only to text, email and url");
		while (autocompletes[i] && strcmp(autocompletes[i], qu->autocomplete) != 0)
			i++;
		if (!autocompletes[i])
			return bad(l, "unknown autocomplete '%s'", qu->autocomplete);
	}
	return 0;
}

static int parse_question(struct loader *l, const questionnaire *q, struct question *qu, json_t *o)
{
	static const char *const keys[] = {
	    "id",         "label",   "hint",         "name",     "type",     "required",
	    "max_length", "pattern", "min",          "max",      "min_date", "max_date",
	    "options",    "width",   "autocomplete", "messages", NULL};
	static const size_t default_length[] = {200, 2000, 254, 2048};
	const char *type;
	json_t *v;
	int rc;

	if (!json_is_object(o))
		return bad(l, "questions must be objects");
	if ((rc = get_str(l, o, "id", true, MAX_ID, &qu->id)))
		return rc;
	if (!id_ok(qu->id, false))
		return bad(l, "question id '%.64s' must be lower-case letters, digits and '_'",
		           qu->id);
	if (strcmp(qu->id, "csrf") == 0 || strcmp(qu->id, "tx") == 0 ||
	    strcmp(qu->id, "action") == 0)
		return bad(l, "question id '%s' is reserved", qu->id);
	for (const struct question *p = q->questions; p < qu; p++)
		if (strcmp(p->id, qu->id) == 0)
			return bad(l, "duplicate question id '%s'", qu->id);
	l->qid = qu->id;
	if ((rc = check_keys(l, "a question", o, keys)) ||
	    (rc = get_str(l, o, "label", true, MAX_TEXT, &qu->label)) ||
	    (rc = get_str(l, o, "hint", false, MAX_TEXT, &qu->hint)) ||
	    (rc = get_str(l, o, "name", false, MAX_TITLE, &qu->name)) ||
	    (rc = get_str(l, o, "type", true, 20, &type)))
		return rc;
	if (!*qu->name)
		qu->name = qu->label;
	for (qu->type = 0; qu->type < T_COUNT; qu->type++)
		if (strcmp(q_type_names[qu->type], type) == 0)
			break;
	if (qu->type == T_COUNT)
		return bad(l, "unknown type '%.20s'", type);
	if ((v = json_object_get(o, "required"))) {
		if (!json_is_boolean(v))
			return bad(l, "\"required\" must be true or false");
		if (qu->type == T_CONFIRM && !json_is_true(v))
			return bad(l, "a confirm question is always required");
		qu->required = json_is_true(v);
	}
	if (qu->type == T_CONFIRM)
		qu->required = true;
	if (is_text_like(qu->type))
		qu->max_length = default_length[qu->type - T_TEXT];
	v = json_object_get(o, "options");
	if (qu->type == T_RADIOS || qu->type == T_CHECKBOXES) {
		if (!v)
			return bad(l, "%s needs \"options\"", q_type_names[qu->type]);
		if ((rc = parse_options(l, qu, v)))
			return rc;
	} else if (v) {
		return bad(l, "\"options\" apply only to radios and checkboxes");
	} else if (qu->type == T_YESNO) {
		qu->options = yesno_options;
		qu->n_options = 2;
	}
	if ((v = json_object_get(o, "messages")) && (rc = parse_messages(l, qu, v)))
		return rc;
	rc = parse_kind_keys(l, qu, o);
	l->qid = NULL;
	return rc;
}

static int parse_root(struct loader *l, questionnaire *q)
{
	static const char *const top_keys[] = {"id",          "title",    "version",
	                                       "description", "sections", NULL};
	static const char *const section_keys[] = {"id", "title", "description", "questions", NULL};
	json_t *root = q->root, *sections, *v;
	size_t total = 0;
	int rc;

	if ((rc = check_keys(l, "the questionnaire", root, top_keys)) ||
	    (rc = get_str(l, root, "id", true, MAX_ID, &q->id)) ||
	    (rc = get_str(l, root, "title", true, MAX_TITLE, &q->title)) ||
	    (rc = get_str(l, root, "description", false, MAX_TEXT, &q->description)))
		return rc;
	if (!id_ok(q->id, true))
		return bad(l, "id '%.64s' must be lower-case letters, digits, '_' and '-'", q->id);
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT_MAX)
		return bad(l, "\"version\" must be a whole number from 1");
	q->version = (int)json_integer_value(v);
	sections = json_object_get(root, "sections");
	if (!json_is_array(sections) || json_array_size(sections) == 0 ||
	    json_array_size(sections) > MAX_SECTIONS)
		return bad(l, "\"sections\" must be an array of 1 to %d sections", MAX_SECTIONS);
	q->n_sections = json_array_size(sections);
	q->sections = calloc(q->n_sections, sizeof(*q->sections));
	if (!q->sections)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < q->n_sections; i++) {
		struct section *s = &q->sections[i];
		json_t *o = json_array_get(sections, i), *qs;

		if ((rc = check_keys(l, "a section", o, section_keys)) ||
		    (rc = get_str(l, o, "id", true, MAX_ID, &s->id)))
			return rc;
		if (!id_ok(s->id, false))
			return bad(l,
			           "section id '%.64s' must be lower-case letters, digits and '_'",
			           s->id);
		for (size_t k = 0; k < i; k++)
			if (strcmp(q->sections[k].id, s->id) == 0)
				return bad(l, "duplicate section id '%s'", s->id);
		l->sid = s->id;
		if ((rc = get_str(l, o, "title", true, MAX_TITLE, &s->title)) ||
		    (rc = get_str(l, o, "description", false, MAX_TEXT, &s->description)))
			return rc;
		qs = json_object_get(o, "questions");
		if (!json_is_array(qs) || json_array_size(qs) == 0)
			return bad(l, "\"questions\" must be a non-empty array");
		s->first = total;
		s->count = json_array_size(qs);
		total += s->count;
		if (total > MAX_QUESTIONS)
			return bad(l, "more than %d questions", MAX_QUESTIONS);
		l->sid = NULL;
	}
	q->questions = calloc(total, sizeof(*q->questions));
	if (!q->questions)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < q->n_sections; i++) {
		json_t *qs = json_object_get(json_array_get(sections, i), "questions");

		l->sid = q->sections[i].id;
		for (size_t k = 0; k < q->sections[i].count; k++) {
			/* questions before this one are complete: n_questions
			 * tells questionnaire_free() what to release */
			q->n_questions++;
			rc = parse_question(l, q, &q->questions[q->sections[i].first + k],
			                    json_array_get(qs, k));
			if (rc)
				return rc;
		}
	}
	return 0;
}

int questionnaire_parse(questionnaire **out, const char *json_text, const char *name)
{
	struct loader l = {name ? name : "questionnaire", NULL, NULL};
	json_error_t jerr;
	questionnaire *q;
	int rc;

	*out = NULL;
	if (!json_text)
		return careid_error_set(CAREID_EINVALID, "%s: no text", l.name);
	q = calloc(1, sizeof(*q));
	if (!q)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	q->root = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!q->root) {
		rc = careid_error_set(CAREID_EINVALID, "%s:%d: %s", l.name, jerr.line, jerr.text);
		goto fail;
	}
	rc = parse_root(&l, q);
	if (rc)
		goto fail;
	*out = q;
	return 0;
fail:
	questionnaire_free(q);
	return rc;
}

int questionnaire_load(questionnaire **out, const char *path)
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
	text = malloc(MAX_FILE + 1);
	if (!text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	n = fread(text, 1, MAX_FILE + 1, f);
	if (ferror(f)) {
		rc = careid_error_set(CAREID_EIO, "%s: read error", path);
		goto out;
	}
	if (n > MAX_FILE) {
		rc = careid_error_set(CAREID_EINVALID, "%s: larger than 1 MiB", base);
		goto out;
	}
	text[n] = '\0';
	if (strlen(text) != n) {
		rc = careid_error_set(CAREID_EINVALID, "%s: NUL byte in file", base);
		goto out;
	}
	rc = questionnaire_parse(out, text, base);
out:
	free(text);
	fclose(f);
	return rc;
}

void questionnaire_free(questionnaire *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n_questions; i++) {
		struct question *qu = &q->questions[i];

		if (qu->has_re)
			regfree(&qu->re);
		if (qu->options != yesno_options)
			free((void *)qu->options);
	}
	free(q->questions);
	free(q->sections);
	json_decref(q->root);
	free(q);
}

const char *questionnaire_id(const questionnaire *q)
{
	return q->id;
}

int questionnaire_version(const questionnaire *q)
{
	return q->version;
}

const char *questionnaire_title(const questionnaire *q)
{
	return q->title;
}

size_t questionnaire_section_count(const questionnaire *q)
{
	return q->n_sections;
}

const char *questionnaire_section_id(const questionnaire *q, size_t i)
{
	return i < q->n_sections ? q->sections[i].id : NULL;
}

const char *questionnaire_section_title(const questionnaire *q, size_t i)
{
	return i < q->n_sections ? q->sections[i].title : NULL;
}

int questionnaire_section_find(const questionnaire *q, const char *id)
{
	for (size_t i = 0; id && i < q->n_sections; i++)
		if (strcmp(q->sections[i].id, id) == 0)
			return (int)i;
	return careid_error_set(CAREID_ENOTFOUND, "%s: no section '%.64s'", q->id,
	                        id ? id : "(null)");
}

json_t *questionnaire_json(const questionnaire *q)
{
	json_t *copy = json_deep_copy(q->root), *sections = json_object_get(copy, "sections");

	for (size_t i = 0; copy && i < q->n_sections; i++) {
		const struct section *s = &q->sections[i];
		json_t *qs = json_object_get(json_array_get(sections, i), "questions");

		for (size_t k = 0; k < s->count; k++) {
			const struct question *qu = &q->questions[s->first + k];
			json_t *o = json_array_get(qs, k);

			if (json_object_set_new(o, "required", json_boolean(qu->required)) ||
			    (qu->max_length &&
			     json_object_set_new(o, "max_length",
			                         json_integer((json_int_t)qu->max_length)))) {
				json_decref(copy);
				return NULL;
			}
		}
	}
	return copy;
}
