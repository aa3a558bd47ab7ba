/* careid migrate: apply the store's pending migrations. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/error.h"

static const struct opt spec[] = {CLI_STORE_OPTS, {NULL, NULL, NULL, false}};

int cmd_migrate(int argc, char **argv)
{
	opts *o = NULL;
	store *s = NULL;
	int applied = 0, rc;

	if (opts_parse(&o, spec, argc, argv))
		return cli_usage("migrate", "%s", careid_error_last()->message);
	if (opts_flag(o, "help")) {
		cli_help("migrate [--db URL]",
		         "Creates the store when missing and applies pending migrations.", spec);
		opts_free(o);
		return 0;
	}
	if (opts_npos(o)) {
		opts_free(o);
		return cli_usage("migrate", "unexpected argument");
	}
	rc = store_open(&s, opts_get_or(o, "db", CLI_DEFAULT_DB));
	if (!rc)
		rc = store_migrate(s, &applied);
	if (!rc)
		printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	store_free(s);
	opts_free(o);
	return rc ? cli_fail() : 0;
}
