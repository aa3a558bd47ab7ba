#include "http/form.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "http/http_int.h"

bool http_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
			min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
			min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

char *http_log_safe(arena *a, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = arena_strndup(a, s, n);

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			p[i] = '?';
	return p;
}

/* A field name fit for an error message (the input is untrusted). */
static void printable(char *dst, size_t dstsz, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < dstsz; i++) {
		unsigned char c = (unsigned char)s[i];

		dst[i] = c >= 0x20 && c < 0x7f && c != '\'' ? (char)c : '?';
	}
	dst[i] = '\0';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes raw[0..n) into the arena; `*why` says what was wrong. */
static int decode(char **out, arena *a, const char *raw, size_t n, size_t cap, const char **why)
{
	size_t room = n < cap ? n : cap, len = 0;
	char *p = arena_alloc(a, room + 1);

	if (!p) {
		*why = "out of memory";
		return CAREID_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (n - i < 3) {
				*why = "truncated percent-encoding";
				return CAREID_EINVALID;
			}
			hi = hexval((unsigned char)raw[i + 1]);
			lo = hexval((unsigned char)raw[i + 2]);
			if (hi < 0 || lo < 0) {
				*why = "malformed percent-encoding";
				return CAREID_EINVALID;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0') {
			*why = "NUL byte";
			return CAREID_EINVALID;
		}
		if (len == cap) {
			*why = "too long";
			return CAREID_ETOOBIG;
		}
		p[len++] = (char)c;
	}
	p[len] = '\0';
	if (!http_utf8_valid((const unsigned char *)p, len)) {
		*why = "invalid UTF-8";
		return CAREID_EINVALID;
	}
	*out = p;
	return 0;
}

int form_parse(struct form *out, arena *a, const char *s, size_t len)
{
	const char *end = s + len, *p;
	size_t count = 0, idx = 0;
	int rc;

	out->fields = NULL;
	out->n = 0;
	for (p = s; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end;

		count += e > p;
		p = amp ? amp + 1 : end;
	}
	if (count > FORM_MAX_FIELDS)
		return careid_error_set(CAREID_ETOOBIG, "more than %d form fields",
		                        FORM_MAX_FIELDS);
	if (count == 0)
		return 0;
	out->fields = arena_alloc(a, count * sizeof(*out->fields));
	if (!out->fields)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (p = s; p < end;) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *e = amp ? amp : end, *eq, *why = "";
		char *name = NULL, *value = NULL, shown[48];

		if (e == p) {
			p = e + 1;
			continue;
		}
		eq = memchr(p, '=', (size_t)(e - p));
		rc = decode(&name, a, p, (size_t)((eq ? eq : e) - p), FORM_MAX_NAME, &why);
		if (rc) {
			careid_error_set(rc, "form field #%zu: %s in the name", idx + 1, why);
			goto fail;
		}
		if (eq) {
			rc = decode(&value, a, eq + 1, (size_t)(e - eq - 1), FORM_MAX_VALUE, &why);
			if (rc) {
				printable(shown, sizeof(shown), name, strlen(name));
				careid_error_set(rc, "form field '%s': %s in the value", shown,
				                 why);
				goto fail;
			}
		} else {
			value = arena_strdup(a, "");
			if (!value) {
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
				goto fail;
			}
		}
		out->fields[idx].name = name;
		out->fields[idx].value = value;
		idx++;
		p = amp ? amp + 1 : end;
	}
	out->n = idx;
	return 0;
fail:
	out->fields = NULL;
	out->n = 0;
	return rc;
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	return NULL;
}

size_t form_count(const struct form *f, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += strcmp(f->fields[i].name, name) == 0;
	return n;
}

const char *form_first_duplicate(const struct form *f)
{
	for (size_t i = 0; i < f->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->fields[i].name, f->fields[j].name) == 0)
				return f->fields[i].name;
	return NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Bytes a cookie pair may hold: no control characters, valid UTF-8. */
static bool cookie_bytes_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return http_utf8_valid((const unsigned char *)s, n);
}

int cookie_parse(struct form *out, arena *a, const char *header)
{
	const char *p = header;
	size_t slots = 1, n = 0;
	struct form_field *fields;

	out->fields = NULL;
	out->n = 0;
	for (const char *q = header; *q; q++)
		slots += *q == ';';
	if (slots > FORM_MAX_FIELDS)
		slots = FORM_MAX_FIELDS;
	fields = arena_alloc(a, slots * sizeof(*fields));
	if (!fields)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	while (*p) {
		const char *semi = strchr(p, ';');
		const char *e = semi ? semi : p + strlen(p);
		const char *ns = p, *ne, *vs, *ve, *eq;
		char shown[48];

		p = semi ? semi + 1 : e;
		eq = memchr(ns, '=', (size_t)(e - ns));
		if (!eq)
			continue;
		while (ns < eq && is_ows(*ns))
			ns++;
		ne = eq;
		while (ne > ns && is_ows(ne[-1]))
			ne--;
		vs = eq + 1;
		ve = e;
		while (vs < ve && is_ows(*vs))
			vs++;
		while (ve > vs && is_ows(ve[-1]))
			ve--;
		if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
			vs++;
			ve--;
		}
		if (ne == ns || !cookie_bytes_ok(ns, (size_t)(ne - ns)) ||
		    !cookie_bytes_ok(vs, (size_t)(ve - vs)))
			continue;
		if (ne - ns > FORM_MAX_NAME)
			return careid_error_set(CAREID_ETOOBIG, "cookie name over %d bytes",
			                        FORM_MAX_NAME);
		if (ve - vs > FORM_MAX_VALUE) {
			printable(shown, sizeof(shown), ns, (size_t)(ne - ns));
			return careid_error_set(CAREID_ETOOBIG, "cookie '%s' over %d bytes", shown,
			                        FORM_MAX_VALUE);
		}
		if (n == FORM_MAX_FIELDS)
			return careid_error_set(CAREID_ETOOBIG, "more than %d cookies",
			                        FORM_MAX_FIELDS);
		fields[n].name = arena_strndup(a, ns, (size_t)(ne - ns));
		fields[n].value = arena_strndup(a, vs, (size_t)(ve - vs));
		if (!fields[n].name || !fields[n].value)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		n++;
	}
	out->fields = fields;
	out->n = n;
	return 0;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

char *form_encode(arena *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	char *out, *q;

	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += unreserved(*p) ? 1 : 3;
	out = arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	q = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (unreserved(*p)) {
			*q++ = (char)*p;
		} else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 15];
		}
	}
	*q = '\0';
	return out;
}
