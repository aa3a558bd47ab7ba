/*
 * Static files from a directory on disk (the NHS.UK frontend's CSS, JS, fonts
 * and images from node_modules), or from the binary (careid's own CSS).
 */
#ifndef CAREID_HTTP_STATIC_H
#define CAREID_HTTP_STATIC_H

#include "http/http.h"

#define STATIC_MAX_FILE (4 * 1024 * 1024)

/*
 * Answers with the file `rel` (a path relative to `root`, no leading slash).
 * Refuses anything but [A-Za-z0-9._-] segments (no "..", no hidden files)
 * with 404, as for a missing file. Sets a type from the extension and a
 * day-long cache lifetime.
 */
int static_send_file(struct http_response *res, const char *root, const char *rel);

/* Answers with the embedded file "static/<rel>". */
int static_send_embedded(struct http_response *res, const char *rel);

#endif
