/*
 * Fuzz target: form_parse() on query strings and urlencoded bodies. Checks the
 * parser's promises on every accepted input: at most FORM_MAX_FIELDS fields,
 * names and values within their caps, no NUL inside, valid UTF-8, and
 * form_encode() of every value decoding back to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/form.h"

static int utf8_ok(const unsigned char *s)
{
	while (*s) {
		size_t n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : 4;

		for (size_t k = 1; k < n; k++)
			if ((s[k] & 0xC0) != 0x80)
				return 0;
		s += n;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena *a = arena_new();
	struct form f;
	int rc;

	if (!a)
		return 0;
	rc = form_parse(&f, a, (const char *)data, size);
	if (rc != 0) {
		if (rc != CAREID_EINVALID && rc != CAREID_ETOOBIG && rc != CAREID_ENOMEM)
			abort();
		if (f.n != 0 || careid_error_last()->code != rc)
			abort();
		goto out;
	}
	if (f.n > FORM_MAX_FIELDS || f.n > size)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		const char *name = f.fields[i].name, *value = f.fields[i].value;
		struct form back;
		char *enc;

		if (strlen(name) > FORM_MAX_NAME || strlen(value) > FORM_MAX_VALUE)
			abort();
		if (!utf8_ok((const unsigned char *)name) || !utf8_ok((const unsigned char *)value))
			abort();
		if (form_get(&f, name) == NULL || form_count(&f, name) == 0)
			abort();
		enc = arena_printf(a, "v=%s", form_encode(a, value));
		if (!enc || form_parse(&back, a, enc, strlen(enc)) != 0 || back.n != 1 ||
		    strcmp(back.fields[0].value, value) != 0)
			abort();
	}
	{
		const char *dup = form_first_duplicate(&f);

		if (dup && form_count(&f, dup) < 2)
			abort();
	}
out:
	arena_free(a);
	return 0;
}
