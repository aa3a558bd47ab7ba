#include "http/static.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/embed.h"
#include "core/error.h"

static const char *type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".mjs", "text/javascript; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".ico", "image/x-icon"},
	    {".woff2", "font/woff2"},
	    {".woff", "font/woff"},
	    {".json", "application/json"},
	    {".map", "application/json"},
	    {".webmanifest", "application/manifest+json"},
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static bool safe_path(const char *rel)
{
	bool seg_start = true;

	if (!*rel || strlen(rel) > 200)
		return false;
	for (const char *p = rel; *p; p++) {
		if (seg_start && (*p == '.' || *p == '/'))
			return false; /* "..", hidden files, empty segments */
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' || *p == '/'))
			return false;
		seg_start = *p == '/';
	}
	return !seg_start;
}

static int not_found(struct http_response *res)
{
	return http_send(res, 404, "text/plain; charset=utf-8", "not found\n", 10);
}

int static_send_file(struct http_response *res, const char *root, const char *rel)
{
	char path[1024];
	struct stat sb;
	FILE *f = NULL;
	int rc;

	res->route = "assets";
	if (!safe_path(rel) ||
	    snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
		return not_found(res);
	f = fopen(path, "rb");
	if (!f)
		return not_found(res);
	if (fstat(fileno(f), &sb) || !S_ISREG(sb.st_mode) || sb.st_size > STATIC_MAX_FILE) {
		rc = not_found(res);
		goto out;
	}
	buf_reset(&res->body);
	for (;;) {
		char chunk[16384];
		size_t n = fread(chunk, 1, sizeof(chunk), f);

		if (n == 0)
			break;
		rc = buf_append(&res->body, chunk, n);
		if (rc)
			goto out;
	}
	if (ferror(f)) {
		rc = careid_error_set(CAREID_EIO, "cannot read %s", path);
		goto out;
	}
	res->status = 200;
	res->content_type = type_of(rel);
	rc = http_add_header(res, "Cache-Control", "public, max-age=86400");
out:
	if (f)
		fclose(f);
	return rc;
}

int static_send_embedded(struct http_response *res, const char *rel)
{
	char name[256];
	const struct embedded_file *f;

	res->route = "assets";
	if (!safe_path(rel) || snprintf(name, sizeof(name), "static/%s", rel) >= (int)sizeof(name))
		return not_found(res);
	f = embed_find(name);
	if (!f)
		return not_found(res);
	if (http_add_header(res, "Cache-Control", "public, max-age=3600"))
		return CAREID_ENOMEM;
	return http_send(res, 200, type_of(rel), f->data, f->len);
}
