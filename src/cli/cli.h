/*
 * What every command shares: exit statuses, opening the store named by --db,
 * reading a password, reporting errors.
 *
 * A command is `int cmd_NAME(int argc, char **argv)` where argv[0] is the
 * first word after the command's name; it returns the process exit status:
 * 0 on success, 2 on a usage error, 1 on any other failure, always with one
 * clear line on stderr when it fails.
 */
#ifndef CAREID_CLI_CLI_H
#define CAREID_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "store/store.h"

#define EXIT_USAGE 2

#define CLI_DEFAULT_DB "sqlite:var/careid.db"

/* Options every command that touches the store accepts. Spread into a
 * command's table with CLI_STORE_OPTS. */
#define CLI_STORE_OPTS                                                                             \
	{"db", "URL", "store to use (default " CLI_DEFAULT_DB "; env CAREID_DB)", false},          \
	    {"config", "FILE", "configuration file (name = value lines)", false},                  \
	{                                                                                          \
		"help", NULL, "show this help", false                                              \
	}

/* Opens the store named by --db/CAREID_DB/the config file (default
 * CLI_DEFAULT_DB) and applies pending migrations. */
int cli_open_store(store **out, const opts *o);

/* Prints "careid: MESSAGE" for a usage error, then "try 'careid CMD --help'"; returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "careid: " and this thread's last error message; returns 1. */
int cli_fail(void);

/*
 * Reads a password: from standard input (first line, without the newline)
 * when it is not a terminal, else by prompting twice on the terminal with echo
 * off. Empty passwords are refused. `out` is wiped by the caller when done.
 */
int cli_read_password(char *out, size_t outsz);

/*
 * Reads a passphrase file: its first line, without the line end, into `out`
 * (`outsz` bytes); the line may be empty. EIO when the file cannot be read,
 * ETOOBIG when the line does not fit. `out` is wiped by the caller when done.
 */
int cli_read_passphrase(char *out, size_t outsz, const char *path);

/* Prints help: "usage: careid USAGE", a description and the option table. */
void cli_help(const char *usage, const char *description, const struct opt *spec);

/* careid serve --demo: the demo users' authenticator app (a published
 * secret), smartcards (PKCS#12 files written under `dir`) and software
 * security keys for WebAuthn relying party `rp_id` (JSON files under `dir`
 * holding the private key, for Chromium's virtual authenticator), each made
 * when the demo user is in the directory without it (or its file is gone),
 * so a store seeded by an older careid gains them; `seed` gains "authenticators"
 * {"totp": {"uid", "secret"}, "cards": [{"env", "uid", "file"}],
 * "security_keys": [{"env", "uid", "file"}]}. */
int demo_seed_authenticators(store *s, json_t *seed, const char *dir, const char *rp_id);

/* careid user authenticators (cli/authenticators.c), reached through cmd_user. */
int cli_user_authenticators(int argc, char **argv);

/* cli_parse() and commands' own checks: no exit status yet, go on. */
#define CLI_CONTINUE (-1)

/* Parses a command's options: CLI_CONTINUE, or the exit status after --help
 * (0) or a usage error (2, unknown options and stray arguments). */
int cli_parse(opts **o, const char *cmd, const char *usage, const char *desc,
              const struct opt *spec, int argc, char **argv);

/* --listen ADDR:PORT (an IPv6 address in brackets); `addr` gets the address. */
int cli_parse_listen(const char *s, char *addr, size_t addrsz, uint16_t *port);

/* Prints a JSON value (consumed) to stdout, indented, with a newline. */
void cli_print_json(json_t *json);

#endif
