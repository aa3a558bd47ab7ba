/*
 * Structured logs: one JSON object per line on standard error, each with
 * "ts" (RFC 3339, UTC), "level" and "event", plus the fields given.
 *
 * log_init() is called once at start, before any thread exists; the level is
 * read-only afterwards.
 */
#ifndef CAREID_CORE_LOG_H
#define CAREID_CORE_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the threshold; "debug", "info", "warn" or "error". Returns
 * CAREID_EINVALID for any other name. */
int log_init(const char *level);

int log_enabled(enum log_level level);

/* Writes one line. `fields` (may be NULL) is consumed. */
void log_event(enum log_level level, const char *event, json_t *fields);

/* Convenience: fields built from a jansson pack format, e.g.
 * log_pack(LOG_INFO, "listening", "{s:s, s:i}", "addr", a, "port", p). */
void log_pack(enum log_level level, const char *event, const char *fmt, ...);

/* Logs this thread's last careid_error with the event name. */
void log_error_last(const char *event, const char *request_id);

#endif
