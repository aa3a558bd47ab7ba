#include "onboarding/questionnaire.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"

#define MAX_FILE      (1024 * 1024)
#define MAX_ID        64
#define MAX_TITLE     200
#define MAX_TEXT      2000
#define MAX_MESSAGE   300
#define MAX_OPTIONS   50
#define MAX_SECTIONS  50
#define MAX_QUESTIONS 500
#define MAX_PATTERN   256
#define INT_LIMIT     1000000000000000LL
#define MSG_SIZE      800

enum qtype {
	T_TEXT,
	T_TEXTAREA,
	T_EMAIL,
	T_URL,
	T_INTEGER,
	T_DATE,
	T_YESNO,
	T_RADIOS,
	T_CHECKBOXES,
	T_CONFIRM,
	T_COUNT
};

static const char *const type_names[T_COUNT] = {
    "text", "textarea", "email",  "url",        "integer",
    "date", "yesno",    "radios", "checkboxes", "confirm",
};

enum msg { M_REQUIRED, M_FORMAT, M_LENGTH, M_PATTERN, M_RANGE, M_OPTION, M_COUNT };

/* NULL-terminated: also the allowed keys of "messages" */
static const char *const msg_names[M_COUNT + 1] = {"required", "format", "length", "pattern",
                                                   "range",    "option", NULL};

struct option {
	const char *value, *label, *hint;
	bool exclusive;
};

static const struct option yesno_options[] = {{"yes", "Yes", "", false}, {"no", "No", "", false}};

struct question {
	const char *id, *label, *hint, *name, *pattern, *autocomplete;
	const char *min_date, *max_date; /* NULL when unbounded */
	enum qtype type;
	bool required, has_re, has_min, has_max;
	size_t max_length;
	regex_t re;
	long long min, max;
	const struct option *options; /* heap-allocated except for yesno */
	size_t n_options;
	const char *msg[M_COUNT];
	int width;
};

struct section {
	const char *id, *title, *description;
	size_t first, count;
};

/* Strings point into `root`, which lives as long as the questionnaire. */
struct questionnaire {
	json_t *root;
	const char *id, *title, *description;
	int version;
	struct section *sections;
	size_t n_sections;
	struct question *questions;
	size_t n_questions;
};

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

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool value_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_ID || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

static bool digits(const char *s, size_t n, int *out)
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
static bool date_parse(const char *s, size_t n, int *y, int *m, int *d)
{
	if (n != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, y) || !digits(s + 5, 2, m) ||
	    !digits(s + 8, 2, d))
		return false;
	return *y >= 1900 && *y <= 2999 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in(*y, *m);
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
		if (!date_parse(s, strlen(s), &y, &m, &d))
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
		if (strcmp(type_names[qu->type], type) == 0)
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
			return bad(l, "%s needs \"options\"", type_names[qu->type]);
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

/* ---- answers ---------------------------------------------------------- */

static int scope(const questionnaire *q, const char *section, size_t *first, size_t *end)
{
	int i;

	if (!section) {
		*first = 0;
		*end = q->n_questions;
		return 0;
	}
	i = questionnaire_section_find(q, section);
	if (i < 0)
		return i;
	*first = q->sections[i].first;
	*end = *first + q->sections[i].count;
	return 0;
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static const char *trim(const char *s, size_t *len)
{
	size_t n = strlen(s);

	while (n && space(*s)) {
		s++;
		n--;
	}
	while (n && space(s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* A whole number, commas allowed between digits ("1,000"), ≤ 15 digits. */
static bool int_parse(const char *s, size_t n, long long *out)
{
	bool neg = n && s[0] == '-';
	long long v = 0;
	size_t nd = 0;

	for (size_t i = neg; i < n; i++) {
		if (s[i] == ',' && i > neg && i + 1 < n && s[i - 1] != ',')
			continue;
		if (s[i] < '0' || s[i] > '9' || ++nd > 15)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return nd > 0;
}

/* D/M/YYYY (as typed where the browser has no date picker) → YYYY-MM-DD. */
static bool date_from_dmy(const char *s, size_t n, char out[11])
{
	const char *a = memchr(s, '/', n), *b;
	int d, m, y;

	if (!a || !(b = memchr(a + 1, '/', n - (size_t)(a + 1 - s))))
		return false;
	if (a - s > 2 || b - a - 1 > 2 || s + n - b - 1 != 4 || !digits(s, (size_t)(a - s), &d) ||
	    !digits(a + 1, (size_t)(b - a - 1), &m) || !digits(b + 1, 4, &y))
		return false;
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > days_in(y, m))
		return false;
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
	return true;
}

static json_t *value_from_field(const struct question *qu, const char *s, size_t n)
{
	char iso[11];
	long long v;

	switch (qu->type) {
	case T_TEXTAREA: {
		struct buf b;
		json_t *j;

		buf_init(&b, n + 1);
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				continue;
			if (buf_putc(&b, s[i] == '\r' ? '\n' : s[i]))
				break;
		}
		j = json_stringn(b.ptr, b.len);
		buf_release(&b);
		return j;
	}
	case T_INTEGER:
		return int_parse(s, n, &v) ? json_integer(v) : json_stringn(s, n);
	case T_DATE:
		return date_from_dmy(s, n, iso) ? json_string(iso) : json_stringn(s, n);
	case T_CONFIRM:
		return n == 3 && memcmp(s, "yes", 3) == 0 ? json_true() : json_stringn(s, n);
	default:
		return json_stringn(s, n);
	}
}

static int checkbox_values(json_t *arr, const struct question *qu, const struct form *f)
{
	for (size_t k = 0; k < f->n; k++) {
		const char *s;
		size_t n, i;

		if (strcmp(f->fields[k].name, qu->id) != 0)
			continue;
		s = trim(f->fields[k].value, &n);
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);

			if (json_string_length(e) == n && memcmp(json_string_value(e), s, n) == 0)
				break;
		}
		if (n == 0 || i < json_array_size(arr))
			continue;
		if (json_array_append_new(arr, json_stringn(s, n)))
			return careid_error_set(CAREID_EINVALID, "field '%s' is not UTF-8", qu->id);
	}
	return 0;
}

int questionnaire_answers_from_form(json_t **out, const questionnaire *q, const char *section,
                                    const struct form *f)
{
	size_t first, end;
	json_t *answers;
	int rc;

	*out = NULL;
	if ((rc = scope(q, section, &first, &end)))
		return rc;
	answers = json_object();
	if (!answers)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = first; i < end; i++) {
		const struct question *qu = &q->questions[i];
		const char *s;
		size_t n;
		json_t *v;

		if (qu->type == T_CHECKBOXES) {
			v = json_array();
			if (!v || (rc = checkbox_values(v, qu, f))) {
				json_decref(v);
				rc = rc ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
				goto fail;
			}
			if (json_array_size(v) == 0) {
				json_decref(v);
				continue;
			}
		} else {
			s = form_get(f, qu->id);
			if (!s)
				continue;
			s = trim(s, &n);
			if (n == 0)
				continue;
			v = value_from_field(qu, s, n);
			if (!v) {
				rc = careid_error_set(CAREID_EINVALID, "field '%s' is not UTF-8",
				                      qu->id);
				goto fail;
			}
		}
		if (json_object_set_new(answers, qu->id, v)) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto fail;
		}
	}
	*out = answers;
	return 0;
fail:
	json_decref(answers);
	return rc;
}

int questionnaire_answers_pick(json_t **out, const questionnaire *q, const char *section,
                               const json_t *answers)
{
	size_t first, end;
	int rc;

	*out = NULL;
	if (!json_is_object(answers))
		return careid_error_set(CAREID_EINVALID, "answers must be a JSON object");
	if ((rc = scope(q, section, &first, &end)))
		return rc;
	*out = json_object();
	for (size_t i = first; *out && i < end; i++) {
		json_t *v = json_object_get(answers, q->questions[i].id);

		if (v && json_object_set(*out, q->questions[i].id, v)) {
			json_decref(*out);
			*out = NULL;
		}
	}
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

int questionnaire_answers_replace(json_t *answers, const questionnaire *q, const char *section,
                                  const json_t *update)
{
	size_t first, end;
	int rc;

	if (!json_is_object(answers) || (update && !json_is_object(update)))
		return careid_error_set(CAREID_EINVALID, "answers must be JSON objects");
	if ((rc = scope(q, section, &first, &end)))
		return rc;
	for (size_t i = first; i < end; i++) {
		const char *id = q->questions[i].id;
		json_t *v = update ? json_object_get(update, id) : NULL;

		if (!v)
			json_object_del(answers, id);
		else if (json_object_set(answers, id, v))
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- validation ------------------------------------------------------- */

static const char *const months[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};

static void fmt_int(char *out, size_t size, long long v)
{
	char digits_[24];
	size_t n, o = 0;
	int len = snprintf(digits_, sizeof(digits_), "%lld", v < 0 ? -v : v);

	n = len > 0 ? (size_t)len : 0;
	if (v < 0 && o + 1 < size)
		out[o++] = '-';
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < size)
			out[o++] = ',';
		out[o++] = digits_[i];
	}
	out[o] = '\0';
}

/* "2026-03-31" → "31 March 2026"; false when it is not a date. */
static bool fmt_date(char *out, size_t size, const char *iso)
{
	int y, m, d;

	out[0] = '\0';
	if (!date_parse(iso, strlen(iso), &y, &m, &d))
		return false;
	snprintf(out, size, "%d %s %d", d, months[m - 1], y);
	return true;
}

/* The message name as it starts a sentence, or mid-sentence ("ODS code"
 * keeps its capitals: only a capital followed by a lower-case letter is
 * lowered). */
static void name_as(char *out, size_t size, const char *name, bool start)
{
	snprintf(out, size, "%s", name);
	if (start && out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	else if (!start && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

static void default_message(char *out, size_t size, const struct question *qu, enum msg m)
{
	char up[MAX_TITLE + 1], low[MAX_TITLE + 1], a[32], b[32];

	name_as(up, sizeof(up), qu->name, true);
	name_as(low, sizeof(low), qu->name, false);
	switch (m) {
	case M_REQUIRED:
		if (qu->type == T_CONFIRM)
			snprintf(out, size, "Tick the box to confirm: %s", qu->label);
		else if (qu->type == T_YESNO)
			snprintf(out, size, "Select yes or no");
		else if (qu->type == T_RADIOS || qu->type == T_CHECKBOXES)
			snprintf(out, size, "Select the %s", low);
		else
			snprintf(out, size, "Enter the %s", low);
		return;
	case M_FORMAT:
		if (qu->type == T_EMAIL)
			snprintf(out, size,
			         "Enter the %s in the correct format, like name@example.com", low);
		else if (qu->type == T_URL)
			snprintf(out, size,
			         "Enter the %s in the correct format, like https://www.example.com",
			         low);
		else if (qu->type == T_DATE)
			snprintf(out, size, "%s must be a real date", up);
		else if (qu->type == T_YESNO)
			snprintf(out, size, "Select yes or no");
		else
			snprintf(out, size, "%s must be text without control characters", up);
		return;
	case M_LENGTH:
		snprintf(out, size, "%s must be %zu characters or fewer", up, qu->max_length);
		return;
	case M_PATTERN:
		snprintf(out, size, "%s is not in the correct format", up);
		return;
	case M_RANGE:
		if (qu->type == T_DATE) {
			fmt_date(a, sizeof(a), qu->min_date ? qu->min_date : "");
			fmt_date(b, sizeof(b), qu->max_date ? qu->max_date : "");
			if (qu->min_date && qu->max_date)
				snprintf(out, size, "%s must be between %s and %s", up, a, b);
			else
				snprintf(out, size, "%s must be on or %s %s", up,
				         qu->min_date ? "after" : "before", qu->min_date ? a : b);
			return;
		}
		fmt_int(a, sizeof(a), qu->min);
		fmt_int(b, sizeof(b), qu->max);
		if (qu->has_min && qu->has_max)
			snprintf(out, size, "%s must be a whole number between %s and %s", up, a,
			         b);
		else if (qu->has_min || qu->has_max)
			snprintf(out, size, "%s must be a whole number, %s or %s", up,
			         qu->has_min ? a : b, qu->has_min ? "more" : "less");
		else
			snprintf(out, size, "%s must be a whole number", up);
		return;
	case M_OPTION:
	default:
		snprintf(out, size, "Select the %s from the options listed", low);
		return;
	}
}

static int set_error(json_t *errors, const struct question *qu, enum msg m)
{
	char text[MSG_SIZE];

	if (qu->msg[m])
		snprintf(text, sizeof(text), "%s", qu->msg[m]);
	else
		default_message(text, sizeof(text), qu, m);
	if (json_object_set_new(errors, qu->id, json_string(text)))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

static bool blank(const json_t *v)
{
	size_t n;

	if (!v || json_is_null(v) || json_is_false(v))
		return true;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_string(v))
		return strlen(json_string_value(v)) == json_string_length(v) &&
		       trim(json_string_value(v), &n) && n == 0;
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool clean_text(const char *s, size_t len, bool multiline)
{
	if (strlen(s) != len)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t' && !(multiline && (c == '\n' || c == '\r'))) ||
		    c == 0x7F)
			return false;
	}
	return true;
}

static bool host_ok(const char *s, size_t n, bool need_dot)
{
	size_t label = 0, labels = 1;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			labels++;
		} else if (alnum(s[i]) || (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return s[n - 1] != '-' && (!need_dot || labels >= 2);
}

static bool email_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	size_t local;

	if (!at)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (!alnum(s[i]) && !strchr("!#$%&'*+/=?^_`{|}~.-", s[i]))
			return false;
	}
	return host_ok(at + 1, strlen(at + 1), true);
}

static bool url_ok(const char *s)
{
	size_t skip = strncasecmp(s, "https://", 8) == 0  ? 8
	              : strncasecmp(s, "http://", 7) == 0 ? 7
	                                                  : 0;
	size_t host, port = 0;

	if (!skip)
		return false;
	s += skip;
	host = strcspn(s, ":/?#");
	if (s[host] == ':') {
		port = strspn(s + host + 1, "0123456789");
		if (port == 0 || port > 5)
			return false;
		port++;
	}
	if (!host_ok(s, host, true) || (s[host + port] && !strchr("/?#", s[host + port])))
		return false;
	for (s += host + port; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7F)
			return false;
	return true;
}

static const struct option *find_option(const struct question *qu, const json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	for (size_t i = 0; i < qu->n_options; i++)
		if (strcmp(qu->options[i].value, json_string_value(v)) == 0)
			return &qu->options[i];
	return NULL;
}

static int check_checkboxes(json_t *errors, const struct question *qu, const json_t *v)
{
	const struct option *exclusive = NULL;
	char text[MSG_SIZE], low[MAX_TITLE + 1];
	size_t n = json_array_size(v);

	if (!json_is_array(v) || n > qu->n_options)
		return set_error(errors, qu, M_OPTION);
	for (size_t i = 0; i < n; i++) {
		const struct option *o = find_option(qu, json_array_get(v, i));

		if (!o)
			return set_error(errors, qu, M_OPTION);
		for (size_t k = 0; k < i; k++)
			if (json_equal(json_array_get(v, k), json_array_get(v, i)))
				return set_error(errors, qu, M_OPTION);
		if (o->exclusive)
			exclusive = o;
	}
	if (!exclusive || n == 1)
		return 0;
	name_as(low, sizeof(low), qu->name, false);
	if (qu->msg[M_OPTION])
		snprintf(text, sizeof(text), "%s", qu->msg[M_OPTION]);
	else
		snprintf(text, sizeof(text), "Select the %s, or select '%s'", low,
		         exclusive->label);
	if (json_object_set_new(errors, qu->id, json_string(text)))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

static int check_answer(json_t *errors, const struct question *qu, const json_t *v,
                        enum questionnaire_mode mode)
{
	const char *s = json_string_value(v);
	long long n = 0;

	if (blank(v))
		return mode == QUESTIONNAIRE_SUBMIT && qu->required
		           ? set_error(errors, qu, M_REQUIRED)
		           : 0;
	switch (qu->type) {
	case T_TEXT:
	case T_TEXTAREA:
	case T_EMAIL:
	case T_URL:
		if (!s || !clean_text(s, json_string_length(v), qu->type == T_TEXTAREA))
			return set_error(errors, qu, M_FORMAT);
		if (utf8_chars(s) > qu->max_length)
			return set_error(errors, qu, M_LENGTH);
		if ((qu->type == T_EMAIL && !email_ok(s)) || (qu->type == T_URL && !url_ok(s)))
			return set_error(errors, qu, M_FORMAT);
		if (qu->has_re && regexec(&qu->re, s, 0, NULL, 0) != 0)
			return set_error(errors, qu, M_PATTERN);
		return 0;
	case T_INTEGER:
		if (json_is_integer(v))
			n = json_integer_value(v);
		else if (!s || !int_parse(s, json_string_length(v), &n))
			return set_error(errors, qu, M_RANGE);
		if (n > INT_LIMIT || n < -INT_LIMIT || (qu->has_min && n < qu->min) ||
		    (qu->has_max && n > qu->max))
			return set_error(errors, qu, M_RANGE);
		return 0;
	case T_DATE: {
		int y, m, d;

		if (!s || !date_parse(s, json_string_length(v), &y, &m, &d))
			return set_error(errors, qu, M_FORMAT);
		if ((qu->min_date && strcmp(s, qu->min_date) < 0) ||
		    (qu->max_date && strcmp(s, qu->max_date) > 0))
			return set_error(errors, qu, M_RANGE);
		return 0;
	}
	case T_YESNO:
		return find_option(qu, v) ? 0 : set_error(errors, qu, M_FORMAT);
	case T_RADIOS:
		return find_option(qu, v) ? 0 : set_error(errors, qu, M_OPTION);
	case T_CHECKBOXES:
		return check_checkboxes(errors, qu, v);
	case T_CONFIRM:
	default:
		return json_is_true(v) ? 0 : set_error(errors, qu, M_REQUIRED);
	}
}

int questionnaire_validate(json_t **errors_out, const questionnaire *q, const char *section,
                           const json_t *answers, enum questionnaire_mode mode)
{
	size_t first, end;
	json_t *errors;
	int rc;

	*errors_out = NULL;
	if (answers && !json_is_object(answers))
		return careid_error_set(CAREID_EINVALID, "answers must be a JSON object");
	if ((rc = scope(q, section, &first, &end)))
		return rc;
	errors = json_object();
	if (!errors)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = first; i < end; i++) {
		const struct question *qu = &q->questions[i];

		rc = check_answer(errors, qu, json_object_get(answers, qu->id), mode);
		if (rc) {
			json_decref(errors);
			return rc;
		}
	}
	*errors_out = errors;
	return 0;
}

/* ---- rendering -------------------------------------------------------- */

/* Sets o[key] = v (stolen); false, once and for all, when anything failed. */
static bool put(bool ok, json_t *o, const char *key, json_t *v)
{
	if (!ok || !o) {
		json_decref(v);
		return false;
	}
	return json_object_set_new(o, key, v) == 0;
}

static bool put_str(bool ok, json_t *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool put_str(bool ok, json_t *o, const char *key, const char *fmt, ...)
{
	struct buf b;
	va_list ap;
	json_t *v;

	buf_init(&b, 1024 * 1024);
	va_start(ap, fmt);
	ok = ok && buf_vprintf(&b, fmt, ap) == 0;
	va_end(ap);
	v = ok ? json_stringn(b.ptr, b.len) : NULL;
	buf_release(&b);
	return put(ok && v, o, key, v);
}

static bool option_checked(const struct question *qu, const json_t *v, const char *value)
{
	if (qu->type == T_CHECKBOXES) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (json_is_string(json_array_get(v, i)) &&
			    strcmp(json_string_value(json_array_get(v, i)), value) == 0)
				return true;
		return false;
	}
	return json_is_string(v) && strcmp(json_string_value(v), value) == 0;
}

static json_t *render_options(const struct question *qu, const json_t *v)
{
	json_t *arr = json_array();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < qu->n_options; i++) {
		const struct option *op = &qu->options[i];
		json_t *o = json_object();
		char id[MAX_ID + 16];

		if (i == 0)
			snprintf(id, sizeof(id), "q-%s", qu->id);
		else
			snprintf(id, sizeof(id), "q-%s-%zu", qu->id, i + 1);
		ok = put_str(o != NULL, o, "value", "%s", op->value);
		ok = put_str(ok, o, "label", "%s", op->label);
		ok = put_str(ok, o, "hint", "%s", op->hint);
		ok = put_str(ok, o, "option_id", "%s", id);
		ok = put_str(ok, o, "option_hint_id", "%s-item-hint", id);
		ok =
		    put_str(ok, o, "option_describedby", "%s%s", id, *op->hint ? "-item-hint" : "");
		ok = put(ok, o, "has_option_hint", json_boolean(*op->hint));
		ok = put(ok, o, "checked", json_boolean(option_checked(qu, v, op->value)));
		ok = put(ok, o, "exclusive", json_boolean(op->exclusive));
		ok = put(ok, o, "divider", json_boolean(op->exclusive && i > 0));
		if (!ok) {
			json_decref(o);
			break;
		}
		ok = json_array_append_new(arr, o) == 0;
	}
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *render_question(const struct question *qu, const json_t *v, const char *error)
{
	json_t *o = json_object();
	bool ok = o != NULL, is_input,
	     choice = qu->type == T_YESNO || qu->type == T_RADIOS || qu->type == T_CHECKBOXES;
	char value[32] = "", width[32] = "", flag[32], desc[2 * MAX_ID + 32] = "";
	const char *shown = json_is_string(v) ? json_string_value(v) : value;

	is_input = qu->type == T_TEXT || qu->type == T_EMAIL || qu->type == T_URL ||
	           qu->type == T_INTEGER || qu->type == T_DATE;
	if (json_is_integer(v))
		snprintf(value, sizeof(value), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (qu->width || qu->type == T_INTEGER || qu->type == T_DATE)
		snprintf(width, sizeof(width), " nhsuk-input--width-%d",
		         qu->width ? qu->width : 10);
	ok = put_str(ok, o, "id", "%s", qu->id);
	ok = put_str(ok, o, "input_id", "q-%s", qu->id);
	ok = put_str(ok, o, "hint_id", "q-%s-hint", qu->id);
	ok = put_str(ok, o, "error_id", "q-%s-error", qu->id);
	ok = put_str(ok, o, "label", "%s", qu->label);
	ok = put_str(ok, o, "hint", "%s", qu->hint);
	ok = put_str(ok, o, "error", "%s", error ? error : "");
	if (*qu->hint)
		snprintf(desc, sizeof(desc), "q-%s-hint", qu->id);
	if (error) {
		size_t dl = strlen(desc);

		snprintf(desc + dl, sizeof(desc) - dl, "%sq-%s-error", dl ? " " : "", qu->id);
	}
	ok = put_str(ok, o, "describedby", "%s", desc);
	ok = put_str(ok, o, "value", "%s", qu->type == T_CONFIRM || choice ? "" : shown);
	ok = put(ok, o, "required", json_boolean(qu->required));
	ok = put(ok, o, "optional", json_boolean(!qu->required));
	for (int t = 0; t < T_COUNT; t++) {
		snprintf(flag, sizeof(flag), "is_%s", type_names[t]);
		ok = put(ok, o, flag, json_boolean((int)qu->type == t));
	}
	ok = put(ok, o, "is_input", json_boolean(is_input));
	ok = put(ok, o, "is_choice", json_boolean(choice));
	ok = put_str(ok, o, "input_type", "%s",
	             qu->type == T_EMAIL  ? "email"
	             : qu->type == T_URL  ? "url"
	             : qu->type == T_DATE ? "date"
	                                  : "text");
	ok = put_str(ok, o, "inputmode", "%s", qu->type == T_INTEGER ? "numeric" : "");
	ok = put(ok, o, "spellcheck_off", json_boolean(qu->type == T_EMAIL || qu->type == T_URL));
	ok = put_str(ok, o, "autocomplete", "%s", qu->autocomplete);
	ok = put_str(ok, o, "group_class", "nhsuk-form-group%s",
	             error ? " nhsuk-form-group--error" : "");
	ok = put_str(ok, o, "input_class", "nhsuk-input%s%s", width,
	             error ? " nhsuk-input--error" : "");
	ok = put_str(ok, o, "textarea_class", "nhsuk-textarea%s",
	             error ? " nhsuk-textarea--error" : "");
	ok = put_str(ok, o, "choice", "%s", qu->type == T_CHECKBOXES ? "checkboxes" : "radios");
	ok = put_str(ok, o, "choice_class", "%s",
	             qu->type == T_CHECKBOXES ? "nhsuk-checkboxes"
	             : qu->type == T_YESNO    ? "nhsuk-radios nhsuk-radios--inline"
	                                      : "nhsuk-radios");
	ok = put_str(ok, o, "input_kind", "%s", qu->type == T_CHECKBOXES ? "checkbox" : "radio");
	ok = put(ok, o, "checked", json_boolean(qu->type == T_CONFIRM && json_is_true(v)));
	ok = put(ok, o, "options", choice ? render_options(qu, v) : json_array());
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int questionnaire_render_context(json_t **out, const questionnaire *q, const char *section,
                                 const json_t *answers, const json_t *errors)
{
	json_t *ctx = json_object(), *qn = json_object(), *sec = json_object();
	json_t *questions = json_array(), *list = json_array();
	bool ok = ctx && qn && sec && questions && list;
	const struct section *s;
	int i, rc = 0;

	*out = NULL;
	if (!section) {
		rc = careid_error_set(CAREID_EINVALID, "render one section at a time");
		goto fail;
	}
	if ((i = questionnaire_section_find(q, section)) < 0) {
		rc = i;
		goto fail;
	}
	s = &q->sections[i];
	ok = put_str(ok, qn, "id", "%s", q->id);
	ok = put(ok, qn, "version", json_integer(q->version));
	ok = put_str(ok, qn, "title", "%s", q->title);
	ok = put_str(ok, sec, "id", "%s", s->id);
	ok = put_str(ok, sec, "title", "%s", s->title);
	ok = put_str(ok, sec, "description", "%s", s->description);
	ok = put(ok, sec, "number", json_integer(i + 1));
	ok = put(ok, sec, "count", json_integer((json_int_t)q->n_sections));
	for (size_t k = 0; ok && k < s->count; k++) {
		const struct question *qu = &q->questions[s->first + k];
		const char *err = json_string_value(json_object_get(errors, qu->id));
		json_t *e;

		ok = json_array_append_new(questions,
		                           render_question(qu, json_object_get(answers, qu->id),
		                                           err && *err ? err : NULL)) == 0;
		if (!ok || !err || !*err)
			continue;
		e = json_object();
		ok = put_str(e != NULL, e, "href", "#q-%s", qu->id);
		ok = put_str(ok, e, "text", "%s", err);
		if (!ok) {
			json_decref(e);
			break;
		}
		ok = json_array_append_new(list, e) == 0;
	}
	ok = put(ok, ctx, "has_errors", json_boolean(json_array_size(list) > 0));
	ok = put(ok, ctx, "questionnaire", json_incref(qn));
	ok = put(ok, ctx, "section", json_incref(sec));
	ok = put(ok, ctx, "questions", json_incref(questions));
	ok = put(ok, ctx, "errors", json_incref(list));
	if (!ok) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto fail;
	}
	*out = json_incref(ctx);
fail:
	json_decref(ctx);
	json_decref(qn);
	json_decref(sec);
	json_decref(questions);
	json_decref(list);
	return rc;
}

/* ---- summary ---------------------------------------------------------- */

static json_t *summary_row(const struct question *qu, const json_t *v)
{
	json_t *row = json_object(), *items = json_array();
	bool ok = row && items, answered = !blank(v);
	char text[64];
	const char *shown = json_is_string(v) ? json_string_value(v) : "";
	long long n = 0;

	if (!answered) {
		shown = qu->type == T_CONFIRM ? "Not confirmed" : "Not answered";
	} else if (qu->type == T_INTEGER &&
	           (json_is_integer(v) ||
	            (json_is_string(v) && int_parse(shown, strlen(shown), &n)))) {
		fmt_int(text, sizeof(text), json_is_integer(v) ? json_integer_value(v) : n);
		shown = text;
	} else if (qu->type == T_DATE && fmt_date(text, sizeof(text), shown)) {
		shown = text;
	} else if (qu->type == T_YESNO || qu->type == T_RADIOS) {
		const struct option *o = find_option(qu, v);

		shown = o ? o->label : shown;
	} else if (qu->type == T_CONFIRM) {
		shown = json_is_true(v) ? "Confirmed" : "Not confirmed";
	} else if (qu->type == T_CHECKBOXES && json_is_array(v)) {
		struct buf b;

		buf_init(&b, 1024 * 1024);
		for (size_t i = 0; ok && i < json_array_size(v); i++) {
			const json_t *e = json_array_get(v, i);
			const struct option *o = find_option(qu, e);
			const char *label = o                   ? o->label
			                    : json_is_string(e) ? json_string_value(e)
			                                        : "?";

			ok = json_array_append_new(items, json_string(label)) == 0 &&
			     buf_printf(&b, "%s%s", i ? ", " : "", label) == 0;
		}
		ok = put_str(ok, row, "value", "%s", b.ptr);
		buf_release(&b);
		shown = NULL;
	}
	ok = put_str(ok, row, "id", "%s", qu->id);
	ok = put_str(ok, row, "label", "%s", qu->label);
	if (shown)
		ok = put_str(ok, row, "value", "%s", shown);
	ok = put(ok, row, "answered", json_boolean(answered));
	ok = put(ok, row, "items", json_incref(items));
	json_decref(items);
	if (!ok) {
		json_decref(row);
		return NULL;
	}
	return row;
}

json_t *questionnaire_summary(const questionnaire *q, const json_t *answers)
{
	json_t *out = json_array();
	bool ok = out != NULL;

	for (size_t i = 0; ok && i < q->n_sections; i++) {
		const struct section *s = &q->sections[i];
		json_t *sec = json_object(), *rows = json_array();

		ok = put_str(sec && rows, sec, "id", "%s", s->id);
		ok = put_str(ok, sec, "title", "%s", s->title);
		for (size_t k = 0; ok && k < s->count; k++) {
			const struct question *qu = &q->questions[s->first + k];

			ok = json_array_append_new(
			         rows, summary_row(qu, json_object_get(answers, qu->id))) == 0;
		}
		ok = put(ok, sec, "rows", json_incref(rows));
		json_decref(rows);
		if (!ok || json_array_append_new(out, sec)) {
			ok = false;
			json_decref(sec);
		}
	}
	if (!ok) {
		json_decref(out);
		return NULL;
	}
	return out;
}
