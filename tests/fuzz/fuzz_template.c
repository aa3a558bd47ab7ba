/*
 * Fuzz target: the template parser and renderer. The input's first line is a
 * JSON context (invalid JSON means none), the rest a template; parsing must
 * fail cleanly or render without crossing the output cap. A partial "p" that
 * includes "t" exercises recursion limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t jlen = nl ? (size_t)(nl - (const char *)data) : 0;
	char *text = NULL;
	json_t *ctx = NULL;
	templates *t = NULL;
	struct buf out;
	int rc;

	buf_init(&out, 1 << 16);
	if (templates_new(&t) != 0)
		return 0;
	if (nl)
		ctx = json_loadb((const char *)data, jlen, 0, NULL);
	text = strndup(nl ? nl + 1 : (const char *)data, nl ? size - jlen - 1 : size);
	if (!text)
		goto out;
	if (templates_parse_string(t, "p", "[{{> t}}]") != 0)
		abort();
	rc = templates_parse_string(t, "t", text);
	if (rc != 0) {
		if (rc != CAREID_EINVALID && rc != CAREID_ENOMEM)
			abort();
		goto out;
	}
	rc = templates_render(t, "t", ctx, &out);
	if (rc != 0 && rc != CAREID_ETOOBIG && rc != CAREID_ENOTFOUND && rc != CAREID_ENOMEM)
		abort();
	if (out.len > out.max)
		abort();
out:
	buf_release(&out);
	free(text);
	json_decref(ctx);
	templates_free(t);
	return 0;
}
