/*
 * Growable byte buffers with a cap fixed at creation (curl's dynbuf).
 *
 * `ptr` is never NULL after buf_init() and is always NUL-terminated, so a
 * buffer can be handed to string functions. Appends fail with CAREID_ETOOBIG
 * once `len` would exceed `max`, and leave the buffer unchanged.
 */
#ifndef CAREID_CORE_BUF_H
#define CAREID_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define CAREID_MUST_USE __attribute__((warn_unused_result))

struct buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;
};

/* Prepares an empty buffer that will never hold more than `max` bytes. */
void buf_init(struct buf *b, size_t max);

/* Frees the storage; the buffer may be buf_init()ed again. */
void buf_release(struct buf *b);

/* Empties the buffer, keeping its storage. */
void buf_reset(struct buf *b);

CAREID_MUST_USE int buf_append(struct buf *b, const void *data, size_t len);
CAREID_MUST_USE int buf_puts(struct buf *b, const char *s);
CAREID_MUST_USE int buf_putc(struct buf *b, char c);
CAREID_MUST_USE int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
CAREID_MUST_USE int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Gives the storage to the caller (free() it) and re-initialises `b`. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
