/*
 * The journey plan's timeline: its facts (milestones, windows, sites, the
 * critical path to the first and the last site) and a picture of them.
 * Pure and deterministic: the same plan, day and calendar always give the
 * same output, byte for byte (tests/unit/onboarding/test_timeline.c).
 *
 * The picture is a model of SVG elements laid out in whole pixels, which
 * the plan page renders inline through its template (auto-escaped, like
 * every page), and which timeline_svg() writes as a standalone SVG file
 * (escaping every text itself). Rows, top to bottom: testing in INT,
 * assurance, the review of conformance answers (5 working days), the
 * rollout with a tick per site, the critical paths to the first and the last
 * site, then one row per milestone; month grid lines, and a line for today
 * when it falls inside. Colours are presentation attributes (a strict CSP
 * forbids inline styles); nothing is told by colour alone: the facts are
 * also the page's text equivalent.
 */
#ifndef CAREID_ONBOARDING_TIMELINE_H
#define CAREID_ONBOARDING_TIMELINE_H

#include <jansson.h>

#include "core/buf.h"
#include "core/workdays.h"

struct timeline_input {
	const json_t *plan; /* valid: plan_validate()'s output */
	const char *title;  /* the picture's title (any text; it is escaped) */
	const char *today;  /* YYYY-MM-DD, or NULL for no "today" line */
	const workdays *wd;
};

/*
 * Builds `*out` (new): {
 *   "facts": {
 *     "milestones": [{"id", "label", "date", "date_text"}],   plan order
 *     "windows": [{"id": testing|assurance|review|rollout, "label",
 *                  "from", "to", "from_text", "to_text", "working_days"}],  (both ends
 *                  counted; for the review, the 5 after the answers)
 *     "sites": [{"name", "ods_code", "date", "date_text"}],    by date
 *     "critical_path": {"first_site"|"last_site": {"steps": [{"id",
 *                       "label", "date", "date_text"}], "working_days"
 *                       (from testing's start, both counted), "text"}},
 *     "review_due": "YYYY-MM-DD"},
 *   "events": [{"date", "date_text", "text", "critical"}],  the text
 *             equivalent: every dated event in order (ties in journey order)
 *   "svg": {"width", "height", "title", "desc", "has_today" (the
 *           picture has a line for today), "elements": [one of
 *           {"svg_rect": {x, y, w, h, fill, stroke, sw}},
 *           {"svg_line": {x1, y1, x2, y2, stroke, sw, dash}},
 *           {"svg_text": {x, y, anchor, size, weight, fill, s}},
 *           {"svg_poly": {points, fill, stroke}}]}}
 * CAREID_EINVALID when the plan's dates are not valid; CAREID_ENOMEM.
 */
int timeline_build(json_t **out, const struct timeline_input *in);

/* Writes the "svg" model of timeline_build() as an SVG document, every text
 * and attribute value escaped. CAREID_EINVALID for a model of another shape,
 * CAREID_ETOOBIG when `out` is full. */
int timeline_svg(struct buf *out, const json_t *svg);

#endif
