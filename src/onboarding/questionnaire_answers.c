#include "onboarding/questionnaire.h"

#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"
#include "onboarding/questionnaire_int.h"

#define MSG_SIZE 800

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
static bool date_from_dmy(const char *s, size_t n, char out[32])
{
	const char *a = memchr(s, '/', n), *b;
	int d, m, y;

	if (!a || !(b = memchr(a + 1, '/', n - (size_t)(a + 1 - s))))
		return false;
	if (a - s > 2 || b - a - 1 > 2 || s + n - b - 1 != 4 || !q_digits(s, (size_t)(a - s), &d) ||
	    !q_digits(a + 1, (size_t)(b - a - 1), &m) || !q_digits(b + 1, 4, &y))
		return false;
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 || d > q_days_in(y, m))
		return false;
	snprintf(out, 32, "%04d-%02d-%02d", y, m, d);
	return true;
}

static json_t *value_from_field(const struct question *qu, const char *s, size_t n)
{
	char iso[32];
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
	if (!q_date_parse(iso, strlen(iso), &y, &m, &d))
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
		} else if (q_alnum(s[i]) || (s[i] == '-' && label > 0)) {
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
		if (!q_alnum(s[i]) && !strchr("!#$%&'*+/=?^_`{|}~.-", s[i]))
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

		if (!s || !q_date_parse(s, json_string_length(v), &y, &m, &d))
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
		snprintf(flag, sizeof(flag), "is_%s", q_type_names[t]);
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
