/*
 * Internals shared by the two files of the questionnaire module:
 * questionnaire.c loads and checks a definition and has the accessors;
 * questionnaire_answers.c turns forms into answers, validates them and builds
 * the render and summary contexts. Include only from those two files; callers
 * use onboarding/questionnaire.h, where the definition's format is described.
 *
 * Everything here is read-only once questionnaire_parse() has returned, which
 * is what makes a loaded questionnaire safe to share between threads.
 */
#ifndef CAREID_ONBOARDING_QUESTIONNAIRE_INT_H
#define CAREID_ONBOARDING_QUESTIONNAIRE_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "onboarding/questionnaire.h"

/* Bytes of an id (questionnaire, section, question, option value). */
#define MAX_ID 64
/* Bytes of a title, an option label or a question's "name". */
#define MAX_TITLE 200
/* "min", "max" and integer answers stay within ±INT_LIMIT (10^15). */
#define INT_LIMIT 1000000000000000LL

/* A question's "type"; T_TEXT … T_URL are the text-like types, in that order. */
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

/* The "type" names of the file format, indexed by enum qtype (questionnaire.c). */
extern const char *const q_type_names[T_COUNT];

/* The error messages a question may override in "messages". */
enum msg { M_REQUIRED, M_FORMAT, M_LENGTH, M_PATTERN, M_RANGE, M_OPTION, M_COUNT };

struct option {
	const char *value, *label, *hint; /* hint is "" when absent */
	bool exclusive;
};

/*
 * Optional strings (hint, pattern, autocomplete) are "" when absent; `name`
 * is the label when absent. `re` is compiled only when has_re; min and max
 * count only when has_min and has_max. max_length is 0 for types that are not
 * text-like.
 */
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
	const char *msg[M_COUNT]; /* NULL: the default message */
	int width;                /* 0 when not set */
};

/* A section's questions are questions[first] … questions[first + count - 1]. */
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

/* Helpers of questionnaire.c that the answers need too. */

/* An ASCII letter or digit (no locale). */
bool q_alnum(char c);
/* The n ASCII digits at `s` as *out; false when n is 0 or one is not a digit. */
bool q_digits(const char *s, size_t n, int *out);
/* Days in month `m` (1 to 12) of year `y`, Gregorian leap years. */
int q_days_in(int y, int m);
/* A real calendar date written "YYYY-MM-DD" (years 1900 to 2999), n bytes at `s`. */
bool q_date_parse(const char *s, size_t n, int *y, int *m, int *d);

#endif
