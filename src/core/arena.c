#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define ARENA_CHUNK 8192

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct deferred {
	struct deferred *next;
	void (*fn)(void *);
	void *ptr;
};

struct arena {
	struct chunk *chunks;
	struct deferred *deferred;
};

arena *arena_new(void)
{
	return calloc(1, sizeof(struct arena));
}

void arena_free(arena *a)
{
	struct chunk *c, *next;

	if (!a)
		return;
	while (a->deferred) {
		struct deferred *d = a->deferred;

		a->deferred = d->next;
		d->fn(d->ptr);
	}
	for (c = a->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

void *arena_alloc(arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	struct chunk *c = a->chunks;
	size_t rounded;
	void *p;

	if (size > SIZE_MAX / 2)
		return NULL;
	rounded = (size + align - 1) / align * align;
	if (!c || c->size - c->used < rounded) {
		size_t cap = rounded > ARENA_CHUNK ? rounded : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = cap;
		if (rounded > ARENA_CHUNK / 2 && a->chunks) {
			/* keep the partly used chunk at the head for small allocations */
			c->next = a->chunks->next;
			a->chunks->next = c;
		} else {
			c->next = a->chunks;
			a->chunks = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += rounded;
	memset(p, 0, size);
	return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

int arena_defer(arena *a, void (*fn)(void *), void *ptr)
{
	struct deferred *d = arena_alloc(a, sizeof(*d));

	if (!d) {
		fn(ptr);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	d->fn = fn;
	d->ptr = ptr;
	d->next = a->deferred;
	a->deferred = d;
	return 0;
}
