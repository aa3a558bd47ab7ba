#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

#define MAX_FILE_ENTRIES 128

struct given {
	const struct opt *opt;
	const char *value; /* "1" for flags */
};

struct opts {
	const struct opt *spec;
	struct given *given;
	size_t ngiven;
	char **pos;
	size_t npos;
	/* configuration file entries: owned strings */
	char *file_keys[MAX_FILE_ENTRIES];
	char *file_values[MAX_FILE_ENTRIES];
	size_t nfile;
};

static const struct opt *find_opt(const struct opt *spec, const char *name, size_t len)
{
	for (; spec->name; spec++)
		if (strlen(spec->name) == len && strncmp(spec->name, name, len) == 0)
			return spec;
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int load_file(opts *o, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f)
		return careid_error_set(CAREID_EIO, "cannot read configuration file %s", path);
	while (fgets(line, sizeof(line), f)) {
		char *eq, *k, *v;

		lineno++;
		k = trim(line);
		if (*k == '#' || *k == '\0')
			continue;
		eq = strchr(k, '=');
		if (!eq || o->nfile == MAX_FILE_ENTRIES) {
			fclose(f);
			return careid_error_set(CAREID_EINVALID, "%s:%d: expected 'name = value'",
			                        path, lineno);
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		o->file_keys[o->nfile] = strdup(k);
		o->file_values[o->nfile] = strdup(v);
		if (!o->file_keys[o->nfile] || !o->file_values[o->nfile]) {
			fclose(f);
			o->nfile++;
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		}
		o->nfile++;
	}
	fclose(f);
	return 0;
}

int opts_parse(opts **out, const struct opt *spec, int argc, char **argv)
{
	opts *o = calloc(1, sizeof(*o));
	const char *config;
	int rc = 0;

	*out = NULL;
	if (!o)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	o->spec = spec;
	o->given = calloc((size_t)argc + 1, sizeof(*o->given));
	o->pos = calloc((size_t)argc + 1, sizeof(*o->pos));
	if (!o->given || !o->pos) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *name;
		const struct opt *op;
		size_t len;

		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				o->pos[o->npos++] = argv[i];
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			o->pos[o->npos++] = argv[i];
			continue;
		}
		name = a + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		op = find_opt(spec, name, len);
		if (!op) {
			rc = careid_error_set(CAREID_EINVALID, "unknown option --%.*s", (int)len,
			                      name);
			goto out;
		}
		if (!op->arg) {
			if (eq) {
				rc = careid_error_set(CAREID_EINVALID, "option --%s takes no value",
				                      op->name);
				goto out;
			}
			o->given[o->ngiven++] = (struct given){op, "1"};
			continue;
		}
		if (eq) {
			o->given[o->ngiven++] = (struct given){op, eq + 1};
		} else if (i + 1 < argc) {
			o->given[o->ngiven++] = (struct given){op, argv[++i]};
		} else {
			rc = careid_error_set(CAREID_EINVALID, "option --%s needs a value (%s)",
			                      op->name, op->arg);
			goto out;
		}
		if (!op->repeat) {
			for (size_t j = 0; j + 1 < o->ngiven; j++) {
				if (o->given[j].opt == op) {
					rc = careid_error_set(CAREID_EINVALID,
					                      "option --%s given twice", op->name);
					goto out;
				}
			}
		}
	}
	config = opts_get(o, "config");
	if (!config)
		config = getenv("CAREID_CONFIG");
	if (config && *config)
		rc = load_file(o, config);
out:
	if (rc) {
		opts_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void opts_free(opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->nfile; i++) {
		free(o->file_keys[i]);
		free(o->file_values[i]);
	}
	free(o->given);
	free(o->pos);
	free(o);
}

static const char *from_env(const char *name)
{
	char var[128] = "CAREID_";
	size_t n = strlen(var);

	for (const char *p = name; *p && n + 1 < sizeof(var); p++)
		var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	var[n] = '\0';
	return getenv(var);
}

const char *opts_get(const opts *o, const char *name)
{
	const char *v;

	for (size_t i = 0; i < o->ngiven; i++)
		if (strcmp(o->given[i].opt->name, name) == 0)
			return o->given[i].value;
	if (strcmp(name, "config") == 0)
		return NULL;
	v = from_env(name);
	if (v)
		return v;
	for (size_t i = 0; i < o->nfile; i++)
		if (strcmp(o->file_keys[i], name) == 0)
			return o->file_values[i];
	return NULL;
}

const char *opts_get_or(const opts *o, const char *name, const char *dflt)
{
	const char *v = opts_get(o, name);

	return v ? v : dflt;
}

bool opts_flag(const opts *o, const char *name)
{
	const char *v = opts_get(o, name);

	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	             strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0);
}

size_t opts_count(const opts *o, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < o->ngiven; i++)
		n += strcmp(o->given[i].opt->name, name) == 0;
	return n;
}

const char *opts_nth(const opts *o, const char *name, size_t idx)
{
	for (size_t i = 0; i < o->ngiven; i++)
		if (strcmp(o->given[i].opt->name, name) == 0 && idx-- == 0)
			return o->given[i].value;
	return NULL;
}

size_t opts_npos(const opts *o)
{
	return o->npos;
}

const char *opts_pos(const opts *o, size_t i)
{
	return i < o->npos ? o->pos[i] : NULL;
}

void opts_usage(FILE *f, const struct opt *spec)
{
	for (; spec->name; spec++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", spec->name, spec->arg ? " " : "",
		         spec->arg ? spec->arg : "");
		fprintf(f, "  %-28s %s%s\n", left, spec->help, spec->repeat ? " (repeatable)" : "");
	}
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return careid_error_set(CAREID_EINVALID, "expected a number");
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return careid_error_set(CAREID_EINVALID, "'%s' is not a number in [%ld, %ld]", s,
		                        min, max);
	*out = v;
	return 0;
}
