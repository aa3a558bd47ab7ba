/*
 * application/x-www-form-urlencoded parsing (query strings, form bodies and,
 * with a different separator, Cookie headers).
 *
 * Names and values are percent-decoded ('+' is a space) into NUL-terminated
 * strings allocated in the caller's arena. Malformed percent-encoding, a
 * decoded NUL byte, invalid UTF-8, or a field over the caps is an error, never
 * a silent truncation.
 */
#ifndef CAREID_HTTP_FORM_H
#define CAREID_HTTP_FORM_H

#include <stddef.h>

#include "core/arena.h"

#define FORM_MAX_FIELDS 64
#define FORM_MAX_NAME   128
#define FORM_MAX_VALUE  8192

struct form_field {
	const char *name;
	const char *value;
};

struct form {
	struct form_field *fields; /* in the arena */
	size_t n;
};

/*
 * Parses `len` bytes of `s` ("a=1&b=2"; empty pairs are skipped; a name with
 * no '=' has the empty value). CAREID_EINVALID on malformed input,
 * CAREID_ETOOBIG over FORM_MAX_FIELDS fields or a name/value over its cap.
 * The message in careid_error_last() names the offending field.
 */
int form_parse(struct form *out, arena *a, const char *s, size_t len);

/* The first value of `name`, or NULL. */
const char *form_get(const struct form *f, const char *name);

/* How many times `name` occurs. */
size_t form_count(const struct form *f, const char *name);

/* The first name that occurs more than once, or NULL (OAuth 2.0 §3.1:
 * request parameters must not be included more than once). */
const char *form_first_duplicate(const struct form *f);

/*
 * Parses a Cookie header ("a=1; b=2"). Values are taken as they are (no
 * percent-decoding), surrounding quotes removed; pairs without '=' are
 * skipped. Same caps as form_parse() (CAREID_ETOOBIG). Pairs with an empty
 * name, control characters or invalid UTF-8 are skipped too, so that another
 * application's odd cookie on the same host cannot hide careid's own.
 */
int cookie_parse(struct form *out, arena *a, const char *header);

/* Percent-encodes `s` for a query component into the arena (RFC 3986
 * unreserved characters kept). */
char *form_encode(arena *a, const char *s);

#endif
