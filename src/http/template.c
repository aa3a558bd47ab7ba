#include "http/template.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/embed.h"
#include "core/error.h"
#include "http/http.h"

#define MAX_DEPTH 16

enum node_kind { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL };

struct node {
	enum node_kind kind;
	const char *text; /* literal text, or the tag's name */
	size_t len;
	int line;
	struct node *children; /* sections */
	struct node *next;
};

struct tmpl {
	const char *name;
	const char *file; /* for error messages */
	struct node *nodes;
	struct tmpl *next;
};

struct templates {
	arena *a;
	struct tmpl *list;
};

int templates_new(templates **out)
{
	templates *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	t->a = arena_new();
	if (!t->a) {
		free(t);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	*out = t;
	return 0;
}

void templates_free(templates *t)
{
	if (!t)
		return;
	arena_free(t->a);
	free(t);
}

static const struct tmpl *find(const templates *t, const char *name, size_t len)
{
	for (const struct tmpl *p = t->list; p; p = p->next)
		if (strlen(p->name) == len && memcmp(p->name, name, len) == 0)
			return p;
	return NULL;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* "." or dot-separated non-empty segments of [A-Za-z0-9_-]. */
static bool valid_name(const char *s, size_t n, bool allow_dot)
{
	bool seg = false;

	if (n == 1 && s[0] == '.')
		return allow_dot;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!seg)
				return false;
			seg = false;
		} else if (name_char(s[i])) {
			seg = true;
		} else {
			return false;
		}
	}
	return seg;
}

static int count_lines(const char *s, const char *e)
{
	int n = 0;

	for (; s < e; s++)
		n += *s == '\n';
	return n;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct open_section {
	struct node *node;
	struct node **tail; /* where the parent's list continues */
};

static struct node *add_node(arena *a, struct node ***tail, enum node_kind kind, const char *text,
                             size_t len, int line)
{
	struct node *n = arena_alloc(a, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->text = text;
	n->len = len;
	n->line = line;
	**tail = n;
	*tail = &n->next;
	return n;
}

static int parse(arena *a, const char *file, const char *text, struct node **out)
{
	struct open_section open[MAX_DEPTH];
	struct node *root = NULL, **tail = &root;
	const char *p = text;
	size_t depth = 0;
	int line = 1;

	for (;;) {
		const char *tag = strstr(p, "{{"), *close, *ns, *ne;
		enum node_kind kind = N_VAR;
		int tag_line;
		char sigil;

		if (!tag) {
			if (*p && !add_node(a, &tail, N_TEXT, p, strlen(p), line))
				return careid_error_set(CAREID_ENOMEM, "out of memory");
			break;
		}
		if (tag > p && !add_node(a, &tail, N_TEXT, p, (size_t)(tag - p), line))
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		line += count_lines(p, tag);
		tag_line = line;
		close = strstr(tag + 2, "}}");
		if (!close)
			return careid_error_set(CAREID_EINVALID, "%s:%d: unclosed tag", file, line);
		line += count_lines(tag, close);
		p = close + 2;
		ns = tag + 2;
		sigil = *ns;
		if (sigil == '!')
			continue;
		if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>')
			ns++;
		while (ns < close && is_space(*ns))
			ns++;
		ne = close;
		while (ne > ns && is_space(ne[-1]))
			ne--;
		if (!valid_name(ns, (size_t)(ne - ns), sigil != '>'))
			return careid_error_set(
			    CAREID_EINVALID, "%s:%d: unknown tag '{{%.*s}}'", file, tag_line,
			    (int)(close - tag - 2 > 40 ? 40 : close - tag - 2), tag + 2);
		switch (sigil) {
		case '#':
		case '^': {
			struct node *n;

			if (depth == MAX_DEPTH)
				return careid_error_set(CAREID_EINVALID,
				                        "%s:%d: sections nested deeper than %d",
				                        file, tag_line, MAX_DEPTH);
			n = add_node(a, &tail, sigil == '#' ? N_SECTION : N_INVERTED, ns,
			             (size_t)(ne - ns), tag_line);
			if (!n)
				return careid_error_set(CAREID_ENOMEM, "out of memory");
			open[depth].node = n;
			open[depth].tail = tail;
			depth++;
			tail = &n->children;
			break;
		}
		case '/': {
			const struct node *o = depth ? open[depth - 1].node : NULL;

			if (!o)
				return careid_error_set(CAREID_EINVALID,
				                        "%s:%d: '{{/%.*s}}' closes no section",
				                        file, tag_line, (int)(ne - ns), ns);
			if (o->len != (size_t)(ne - ns) || memcmp(o->text, ns, o->len) != 0)
				return careid_error_set(
				    CAREID_EINVALID,
				    "%s:%d: '{{/%.*s}}' does not match '%.*s' opened on line %d",
				    file, tag_line, (int)(ne - ns), ns, (int)o->len, o->text,
				    o->line);
			depth--;
			tail = open[depth].tail;
			break;
		}
		case '>':
			kind = N_PARTIAL;
			/* fall through */
		default:
			if (!add_node(a, &tail, kind, ns, (size_t)(ne - ns), tag_line))
				return careid_error_set(CAREID_ENOMEM, "out of memory");
		}
	}
	if (depth) {
		const struct node *o = open[depth - 1].node;

		return careid_error_set(CAREID_EINVALID, "%s:%d: section '%.*s' is never closed",
		                        file, o->line, (int)o->len, o->text);
	}
	*out = root;
	return 0;
}

static int add_template(templates *t, const char *name, const char *file, const char *text)
{
	struct tmpl *tm;
	int rc;

	if (find(t, name, strlen(name)))
		return careid_error_set(CAREID_EEXISTS, "template %s defined twice", name);
	tm = arena_alloc(t->a, sizeof(*tm));
	if (!tm)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	tm->name = arena_strdup(t->a, name);
	tm->file = arena_strdup(t->a, file);
	if (!tm->name || !tm->file)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	/* the tree points into the text, so it must live as long as the set */
	text = arena_strdup(t->a, text);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = parse(t->a, file, text, &tm->nodes);
	if (rc)
		return rc;
	tm->next = t->list;
	t->list = tm;
	return 0;
}

int templates_parse_string(templates *t, const char *name, const char *text)
{
	return add_template(t, name, name, text);
}

static int check_partials(const templates *t, const struct tmpl *tm, const struct node *n)
{
	for (; n; n = n->next) {
		int rc;

		if (n->kind == N_PARTIAL && !find(t, n->text, n->len))
			return careid_error_set(CAREID_EINVALID, "%s:%d: unknown partial '%.*s'",
			                        tm->file, n->line, (int)n->len, n->text);
		rc = check_partials(t, tm, n->children);
		if (rc)
			return rc;
	}
	return 0;
}

int templates_load(templates **out)
{
	static const char prefix[] = "templates/", suffix[] = ".html";
	const size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
	templates *t;
	int rc;

	rc = templates_new(&t);
	if (rc)
		return rc;
	for (const struct embedded_file *f = embedded_files; f->name; f++) {
		size_t n = strlen(f->name);
		char name[128];

		if (n <= plen + slen || strncmp(f->name, prefix, plen) != 0 ||
		    strcmp(f->name + n - slen, suffix) != 0)
			continue;
		if (n - plen - slen >= sizeof(name)) {
			rc = careid_error_set(CAREID_EINVALID, "%s: name too long", f->name);
			goto fail;
		}
		memcpy(name, f->name + plen, n - plen - slen);
		name[n - plen - slen] = '\0';
		if (strlen(f->data) != f->len) {
			rc = careid_error_set(CAREID_EINVALID, "%s: NUL byte in template", f->name);
			goto fail;
		}
		rc = add_template(t, name, f->name, f->data);
		if (rc)
			goto fail;
	}
	for (const struct tmpl *tm = t->list; tm; tm = tm->next) {
		rc = check_partials(t, tm, tm->nodes);
		if (rc)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	templates_free(t);
	return rc;
}

struct render {
	const templates *t;
	struct buf *out;
	const json_t *stack[MAX_DEPTH + 2];
	size_t sp;
};

static const json_t *lookup(const struct render *r, const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len), *end = name + len;
	size_t seg = dot ? (size_t)(dot - name) : len;
	const json_t *v = NULL;

	if (len == 1 && name[0] == '.')
		return r->stack[r->sp - 1];
	for (size_t i = r->sp; i-- > 0;) {
		if (json_is_object(r->stack[i])) {
			v = json_object_getn(r->stack[i], name, seg);
			if (v)
				break;
		}
	}
	while (v && dot) {
		const char *s = dot + 1;

		dot = memchr(s, '.', (size_t)(end - s));
		seg = dot ? (size_t)(dot - s) : (size_t)(end - s);
		v = json_is_object(v) ? json_object_getn(v, s, seg) : NULL;
	}
	return v;
}

static bool truthy(const json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	return true;
}

static int print_value(struct buf *out, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return http_escape_html(out, json_string_value(v));
	case JSON_INTEGER:
		return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		return buf_printf(out, "%.15g", json_real_value(v));
	case JSON_TRUE:
		return buf_puts(out, "true");
	case JSON_FALSE:
		return buf_puts(out, "false");
	default:
		return 0; /* null, objects and arrays print nothing */
	}
}

static int render_nodes(struct render *r, const struct node *n, int depth);

static int render_pushed(struct render *r, const struct node *n, const json_t *v, int depth)
{
	int rc;

	r->stack[r->sp++] = v;
	rc = render_nodes(r, n->children, depth + 1);
	r->sp--;
	return rc;
}

static int render_nodes(struct render *r, const struct node *n, int depth)
{
	int rc = 0;

	if (depth > MAX_DEPTH)
		return careid_error_set(CAREID_ETOOBIG, "templates nest deeper than %d", MAX_DEPTH);
	for (; n && !rc; n = n->next) {
		const json_t *v;

		switch (n->kind) {
		case N_TEXT:
			rc = buf_append(r->out, n->text, n->len);
			break;
		case N_VAR:
			v = lookup(r, n->text, n->len);
			rc = v ? print_value(r->out, v) : 0;
			break;
		case N_SECTION:
			v = lookup(r, n->text, n->len);
			if (!truthy(v))
				break;
			if (json_is_array(v)) {
				for (size_t i = 0; i < json_array_size(v) && !rc; i++)
					rc = render_pushed(r, n, json_array_get(v, i), depth);
			} else {
				rc = render_pushed(r, n, v, depth);
			}
			break;
		case N_INVERTED:
			if (!truthy(lookup(r, n->text, n->len)))
				rc = render_nodes(r, n->children, depth + 1);
			break;
		case N_PARTIAL: {
			const struct tmpl *p = find(r->t, n->text, n->len);

			if (!p)
				return careid_error_set(CAREID_ENOTFOUND, "no template '%.*s'",
				                        (int)n->len, n->text);
			rc = render_nodes(r, p->nodes, depth + 1);
			break;
		}
		}
	}
	return rc;
}

int templates_render(const templates *t, const char *name, const json_t *ctx, struct buf *out)
{
	const struct tmpl *tm = find(t, name, strlen(name));
	struct render r = {.t = t, .out = out, .sp = 1};

	if (!tm)
		return careid_error_set(CAREID_ENOTFOUND, "no template '%s'", name);
	r.stack[0] = ctx; /* NULL behaves like {} */
	return render_nodes(&r, tm->nodes, 0);
}
