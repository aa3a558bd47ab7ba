/*
 * The Connection Agreement (agreement.c): its text, data in
 * etc/onboarding/connection-agreement.json that operators change without a
 * release, and the checks of an acceptance that need no store.
 *
 * The text's format, checked at start (an unknown key is an error, so a
 * misspelt "paragrahps" fails at start rather than dropping a clause):
 *   {"id": "connection-agreement",
 *    "version": 1,              integer ≥ 1: raise it whenever the text changes;
 *                               an acceptance records the version accepted
 *    "title": "…",
 *    "notice": "…",             who wrote the text, shown above it
 *    "introduction": ["…"],     optional paragraphs
 *    "clauses": [{"heading": "…", "paragraphs": ["…", …]}, …]}   1 to 50
 * Every string is non-empty text of at most 4,000 bytes.
 */
#ifndef CAREID_ONBOARDING_AGREEMENT_INT_H
#define CAREID_ONBOARDING_AGREEMENT_INT_H

#include <stdbool.h>

#include <jansson.h>

#define AGREEMENT_NAME_MAX 200 /* characters of the typed full name */

/* Parses and checks a text; CAREID_EINVALID with a message naming `name` and
 * the member at fault. *out is a new reference. */
int agreement_text_parse(json_t **out, const char *json_text, const char *name);
/* As agreement_text_parse(), from a file (≤ 256 KiB); CAREID_EIO when it
 * cannot be read. */
int agreement_text_load(json_t **out, const char *path);

/*
 * The problems of an acceptance, as {field: message} (a new object, empty
 * when it is acceptable; NULL when out of memory): "accept" when the box is
 * not ticked, "full_name" when the name (already trimmed) is missing, longer
 * than AGREEMENT_NAME_MAX characters or holds control characters.
 */
json_t *agreement_input_errors(bool ticked, const char *full_name);

#endif
