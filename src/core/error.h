/*
 * careid's one error type.
 *
 * Functions that can fail return `int`: 0 on success or a negative CAREID_E*
 * code that callers act on. A human-readable detail is recorded per thread by
 * careid_error_set() together with where it was raised; exactly one layer
 * (http/) maps codes to HTTP statuses and OAuth error JSON.
 */
#ifndef CAREID_CORE_ERROR_H
#define CAREID_CORE_ERROR_H

enum careid_code {
	CAREID_OK = 0,
	CAREID_ENOMEM = -1,        /* allocation failed */
	CAREID_EINVALID = -2,      /* malformed or unacceptable input */
	CAREID_ENOTFOUND = -3,     /* no such object */
	CAREID_EDENIED = -4,       /* authentication or authorisation refused */
	CAREID_EEXISTS = -5,       /* object already exists (unique key) */
	CAREID_ETOOBIG = -6,       /* a size cap was reached */
	CAREID_ESTORE = -7,        /* the store failed */
	CAREID_ECRYPTO = -8,       /* a cryptographic operation failed */
	CAREID_EIO = -9,           /* I/O or network failure */
	CAREID_EUNSUPPORTED = -10, /* valid but not supported */
	CAREID_EEXPIRED = -11,     /* valid once, expired now */
	CAREID_EUSED = -12,        /* single-use object already used */
	CAREID_EBUSY = -13,        /* temporarily unavailable, try again */
	CAREID_ELOCKED = -14,      /* locked until an administrator acts */
};

/* The detail of the last error raised on this thread. Never NULL. */
struct careid_error {
	int code;
	const char *file;
	int line;
	const char *func;
	char message[256];
};

/* Records an error for this thread and returns `code`, so callers can write
 * `return careid_error_set(CAREID_EINVALID, "bad %s", what);`. */
#define careid_error_set(code, ...)                                                                \
	careid_error_set_at(__FILE__, __LINE__, __func__, (code), __VA_ARGS__)

int careid_error_set_at(const char *file, int line, const char *func, int code, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));

/* The last error recorded on this thread (code 0 and an empty message if none). */
const struct careid_error *careid_error_last(void);

/* Clears this thread's error. */
void careid_error_clear(void);

/* A short constant name for a code: "EINVALID", … */
const char *careid_code_name(int code);

#endif
