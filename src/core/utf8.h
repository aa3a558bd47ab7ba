/* UTF-8 text cut to fit a buffer. */
#ifndef CAREID_CORE_UTF8_H
#define CAREID_CORE_UTF8_H

#include <stddef.h>

/*
 * Drops an incomplete UTF-8 sequence from the end of `s` (NUL-terminated),
 * as left by snprintf() cutting a message inside a character, so that the
 * text stays valid UTF-8 (JSON strings, HTML) when what came before was.
 * Returns the new length.
 */
size_t utf8_trim_partial(char *s);

#endif
