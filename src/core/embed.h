/*
 * Files compiled into the binary (cmake/embed.cmake): SQL migrations as
 * "migrations/<dialect>/NNN_name.sql", templates as "templates/<name>.html",
 * careid's own static files as "static/<name>". Contents are NUL-terminated.
 */
#ifndef CAREID_CORE_EMBED_H
#define CAREID_CORE_EMBED_H

#include <stddef.h>

struct embedded_file {
	const char *name;
	const char *data;
	size_t len;
};

/* Sorted by name, terminated by an entry whose name is NULL. */
extern const struct embedded_file embedded_files[];

/* The file called `name`, or NULL. */
const struct embedded_file *embed_find(const char *name);

#endif
