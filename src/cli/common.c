#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/error.h"

int cli_open_store(store **out, const opts *o)
{
	const char *url = opts_get_or(o, "db", CLI_DEFAULT_DB);
	store *s = NULL;
	int rc;

	*out = NULL;
	rc = store_open(&s, url);
	if (rc)
		return rc;
	rc = store_migrate(s, NULL);
	if (rc) {
		store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("careid: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'careid %s --help')\n", cmd);
	return EXIT_USAGE;
}

int cli_fail(void)
{
	const struct careid_error *e = careid_error_last();

	fprintf(stderr, "careid: %s\n", e->message[0] ? e->message : careid_code_name(e->code));
	return 1;
}

static int read_line(FILE *f, char *out, size_t outsz)
{
	size_t n;

	if (!fgets(out, (int)outsz, f))
		return careid_error_set(CAREID_EINVALID, "no password given");
	n = strlen(out);
	if (n == outsz - 1 && out[n - 1] != '\n')
		return careid_error_set(CAREID_ETOOBIG, "password too long");
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	if (!n)
		return careid_error_set(CAREID_EINVALID, "empty password");
	return 0;
}

static int prompt(const char *text, char *out, size_t outsz)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (!tty)
		return careid_error_set(CAREID_EIO, "cannot open the terminal");
	fputs(text, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	rc = read_line(tty, out, outsz);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return rc;
}

int cli_read_password(char *out, size_t outsz)
{
	char again[1100];
	int rc;

	if (!isatty(STDIN_FILENO))
		return read_line(stdin, out, outsz);
	rc = prompt("Password: ", out, outsz);
	if (rc)
		return rc;
	rc = prompt("Password again: ", again, sizeof(again));
	if (!rc && strcmp(out, again) != 0)
		rc = careid_error_set(CAREID_EINVALID, "the passwords differ");
	memset(again, 0, sizeof(again));
	return rc;
}

int cli_read_passphrase(char *out, size_t outsz, const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n;

	out[0] = '\0';
	if (!f)
		return careid_error_set(CAREID_EIO, "cannot read %s: %s", path, strerror(errno));
	if (!fgets(out, (int)outsz, f))
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	if (n == outsz - 1 && out[n - 1] != '\n')
		return careid_error_set(CAREID_ETOOBIG, "the passphrase in %s is too long", path);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return 0;
}

void cli_help(const char *usage, const char *description, const struct opt *spec)
{
	printf("usage: careid %s\n\n%s\n\noptions:\n", usage, description);
	opts_usage(stdout, spec);
}

void cli_print_json(json_t *json)
{
	char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (text) {
		puts(text);
		free(text);
	}
	json_decref(json);
}

int cli_parse(opts **o, const char *cmd, const char *usage, const char *desc,
              const struct opt *spec, int argc, char **argv)
{
	if (opts_parse(o, spec, argc, argv))
		return cli_usage(cmd, "%s", careid_error_last()->message);
	if (opts_flag(*o, "help")) {
		cli_help(usage, desc, spec);
		return 0;
	}
	if (opts_npos(*o))
		return cli_usage(cmd, "unexpected argument '%s'", opts_pos(*o, 0));
	return CLI_CONTINUE;
}

int cli_parse_listen(const char *s, char *addr, size_t addrsz, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	size_t hostlen;
	long p;

	if (!colon)
		return careid_error_set(CAREID_EINVALID, "--listen must be ADDR:PORT");
	hostlen = (size_t)(colon - s);
	if (hostlen >= 2 && s[0] == '[' && s[hostlen - 1] == ']') {
		s++;
		hostlen -= 2;
	}
	if (hostlen == 0 || hostlen >= addrsz)
		return careid_error_set(CAREID_EINVALID, "--listen must be ADDR:PORT");
	memcpy(addr, s, hostlen);
	addr[hostlen] = '\0';
	if (parse_long(colon + 1, 0, 65535, &p))
		return careid_error_set(CAREID_EINVALID, "--listen port must be 0 to 65535");
	*port = (uint16_t)p;
	return 0;
}
