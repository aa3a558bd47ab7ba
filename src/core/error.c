#include "core/error.h"

#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local struct careid_error last_error;

int careid_error_set_at(const char *file, int line, const char *func, int code, const char *fmt,
                        ...)
{
	va_list ap;

	last_error.code = code;
	last_error.file = file;
	last_error.line = line;
	last_error.func = func;
	va_start(ap, fmt);
	vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	va_end(ap);
	/* a message quoting input may be cut inside a character */
	utf8_trim_partial(last_error.message);
	return code;
}

const struct careid_error *careid_error_last(void)
{
	return &last_error;
}

void careid_error_clear(void)
{
	memset(&last_error, 0, sizeof(last_error));
}

const char *careid_code_name(int code)
{
	switch (code) {
	case CAREID_OK:
		return "OK";
	case CAREID_ENOMEM:
		return "ENOMEM";
	case CAREID_EINVALID:
		return "EINVALID";
	case CAREID_ENOTFOUND:
		return "ENOTFOUND";
	case CAREID_EDENIED:
		return "EDENIED";
	case CAREID_EEXISTS:
		return "EEXISTS";
	case CAREID_ETOOBIG:
		return "ETOOBIG";
	case CAREID_ESTORE:
		return "ESTORE";
	case CAREID_ECRYPTO:
		return "ECRYPTO";
	case CAREID_EIO:
		return "EIO";
	case CAREID_EUNSUPPORTED:
		return "EUNSUPPORTED";
	case CAREID_EEXPIRED:
		return "EEXPIRED";
	case CAREID_EUSED:
		return "EUSED";
	case CAREID_EBUSY:
		return "EBUSY";
	case CAREID_ELOCKED:
		return "ELOCKED";
	}
	return "EUNKNOWN";
}
