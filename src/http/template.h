/*
 * HTML templates with auto-escaping, rendered from a JSON context (a small
 * Mustache subset; templates are embedded at build time from web/templates/).
 *
 *   {{name}}            value at a dotted path ("user.given_name"), HTML-escaped;
 *                        numbers and booleans printed, null/missing prints nothing
 *   {{#name}}…{{/name}} section: once for a true value or object (pushed as
 *                        the new context), once per element for an array,
 *                        skipped for false/null/missing/empty array/""
 *   {{^name}}…{{/name}} inverted section: only when the section would be skipped
 *   {{.}}               the current context itself (in array sections)
 *   {{> name}}          includes template "name" with the current context
 *   {{! comment }}
 * There is no unescaped form: every value is escaped.
 */
#ifndef CAREID_HTTP_TEMPLATE_H
#define CAREID_HTTP_TEMPLATE_H

#include <jansson.h>

#include "core/buf.h"

typedef struct templates templates;

/* Parses every embedded templates/<name>.html; a syntax error is reported
 * with the file and line, so a broken template stops the server at start. */
int templates_load(templates **out);
void templates_free(templates *t);

/* An empty set, for tests and tools that add templates with
 * templates_parse_string(). Free with templates_free(). */
int templates_new(templates **out);

/*
 * Parses `text` as template `name` into `t` (for tests and tools; the server
 * uses templates_load()). CAREID_EINVALID with "name:line: …" in
 * careid_error_last() on a syntax error (unclosed or mismatched section,
 * unknown tag, sections nested deeper than 16), CAREID_EEXISTS when `name` is
 * taken. On error `t` is unchanged.
 */
int templates_parse_string(templates *t, const char *name, const char *text);

/*
 * Renders `name` (e.g. "signin", without ".html") into `out`. CAREID_ENOTFOUND
 * for an unknown template or partial, CAREID_ETOOBIG when sections and
 * partials nest deeper than 16 (a partial including itself) or `out` is full.
 */
int templates_render(const templates *t, const char *name, const json_t *ctx, struct buf *out);

#endif
