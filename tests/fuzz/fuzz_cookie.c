/*
 * Fuzz target: cookie_parse() on a Cookie header (the input up to its first
 * NUL, as libmicrohttpd hands headers over). Every accepted pair has a
 * non-empty name without separators or controls and values within the caps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena *a = arena_new();
	char *header;
	struct form f;
	int rc;

	if (!a)
		return 0;
	header = arena_strndup(a, (const char *)data, size);
	if (!header)
		goto out;
	rc = cookie_parse(&f, a, header);
	if (rc != 0) {
		if (rc != CAREID_ETOOBIG && rc != CAREID_ENOMEM)
			abort();
		if (f.n != 0)
			abort();
		goto out;
	}
	if (f.n > FORM_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		const char *name = f.fields[i].name, *value = f.fields[i].value;

		if (!*name || strlen(name) > FORM_MAX_NAME || strlen(value) > FORM_MAX_VALUE)
			abort();
		if (strpbrk(name, ";=") || strchr(value, ';'))
			abort();
		for (const unsigned char *p = (const unsigned char *)name; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				abort();
		if (name[0] == ' ' || name[strlen(name) - 1] == ' ')
			abort();
		if (form_get(&f, name) == NULL)
			abort();
	}
out:
	arena_free(a);
	return 0;
}
