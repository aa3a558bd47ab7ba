#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

/* Written once by log_init() before threads start; read-only afterwards. */
static enum log_level threshold = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int log_init(const char *level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (level && strcmp(level, level_names[i]) == 0) {
			threshold = (enum log_level)i;
			return 0;
		}
	}
	return careid_error_set(CAREID_EINVALID, "log level must be debug, info, warn or error");
}

int log_enabled(enum log_level level)
{
	return level >= threshold;
}

void log_event(enum log_level level, const char *event, json_t *fields)
{
	struct timespec ts;
	struct tm tm;
	char stamp[96];
	json_t *line;
	char *text;

	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	line =
	    json_pack("{s:s, s:s, s:s}", "ts", stamp, "level", level_names[level], "event", event);
	if (!line) {
		json_decref(fields);
		return;
	}
	if (fields)
		json_object_update(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(line);
	if (!text)
		return;
	flockfile(stderr);
	fputs(text, stderr);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	free(text);
}

void log_pack(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;
	json_t *fields;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	fields = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	log_event(level, event, fields);
}

void log_error_last(const char *event, const char *request_id)
{
	const struct careid_error *e = careid_error_last();

	log_pack(LOG_ERROR, event, "{s:s?, s:s, s:s, s:s, s:i}", "request_id", request_id, "code",
	         careid_code_name(e->code), "message", e->message, "where", e->func ? e->func : "",
	         "line", e->line);
}
