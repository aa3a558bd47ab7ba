/*
 * Command-line options and configuration.
 *
 * Every option a command accepts is declared in a table of struct opt. A value
 * is looked up, in order, in the command line (`--name VALUE`, `--name=VALUE`),
 * in the environment (`CAREID_NAME`, dashes as underscores, upper case), and in
 * the configuration file named by `--config` or CAREID_CONFIG (lines of
 * `name = value`, `#` comments). Repeatable options come from the command line
 * only. Parsed options are read-only afterwards.
 */
#ifndef CAREID_CORE_CONFIG_H
#define CAREID_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct opt {
	const char *name; /* without the leading dashes */
	const char *arg;  /* placeholder shown in help, e.g. "URL"; NULL for a flag */
	const char *help; /* one line */
	bool repeat;      /* may be given more than once */
};

typedef struct opts opts;

/*
 * Parses argv[0..argc) (argv[0] is the first option, not the program name)
 * against `spec`, terminated by an entry whose name is NULL. Positional
 * arguments are kept in order. On a usage error returns CAREID_EINVALID with
 * the message in careid_error_last(). `*out` is freed with opts_free().
 */
int opts_parse(opts **out, const struct opt *spec, int argc, char **argv);
void opts_free(opts *o);

/* The value of an option with an argument, or NULL when unset everywhere. */
const char *opts_get(const opts *o, const char *name);
/* Like opts_get() with a default. */
const char *opts_get_or(const opts *o, const char *name, const char *dflt);
/* True when a flag was given (or its variable/file value is 1/true/yes). */
bool opts_flag(const opts *o, const char *name);
/* Repeatable options: how many, and the i-th. */
size_t opts_count(const opts *o, const char *name);
const char *opts_nth(const opts *o, const char *name, size_t i);
/* Positional arguments. */
size_t opts_npos(const opts *o);
const char *opts_pos(const opts *o, size_t i);

/* Prints the options of `spec` as help text. */
void opts_usage(FILE *f, const struct opt *spec);

/* Parses a decimal integer in [min, max]; CAREID_EINVALID otherwise. */
int parse_long(const char *s, long min, long max, long *out);

#endif
