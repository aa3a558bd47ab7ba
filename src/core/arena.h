/*
 * A memory arena per request (h2o's req->pool): many small allocations, one
 * release. Objects owned by other libraries register a cleanup hook that runs
 * when the arena is freed, in reverse order of registration.
 */
#ifndef CAREID_CORE_ARENA_H
#define CAREID_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;

/* A new arena; NULL when out of memory. Free with arena_free(). */
arena *arena_new(void);

/* Runs the cleanup hooks, then frees every allocation. Accepts NULL. */
void arena_free(arena *a);

/* Zeroed memory valid until arena_free(); NULL when out of memory. */
void *arena_alloc(arena *a, size_t size);

char *arena_strdup(arena *a, const char *s);
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Calls fn(ptr) when the arena is freed. Returns 0 or CAREID_ENOMEM (in which
 * case fn(ptr) has been called already, so the caller's object never leaks). */
int arena_defer(arena *a, void (*fn)(void *), void *ptr);

#endif
