/* careid org add: organisations (by ODS code) in an environment's directory. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "directory/directory.h"

static const struct opt ADD_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (required)", false},
    {"code", "ODS", "ODS code: 3 to 6 letters and digits, e.g. RBA, A81001 (required)", false},
    {"name", "NAME", "the organisation's name (required)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static int org_add(int argc, char **argv)
{
	static const char *const required[] = {"env", "code", "name", NULL};
	const char *cmd = "org add", *env, *code;
	char upper[16];
	store *s = NULL;
	opts *o = NULL;
	size_t i;
	int status;

	if (opts_parse(&o, ADD_OPTS, argc - 1, argv + 1)) {
		status = cli_usage(cmd, "%s", careid_error_last()->message);
		goto out;
	}
	if (opts_flag(o, "help")) {
		cli_help(
		    "org add --env ENV --code ODS --name NAME [options]",
		    "Registers an organisation in ENV's directory, so that users can hold role\n"
		    "profiles there ('careid role add'). Prints {env, code, name} as JSON.",
		    ADD_OPTS);
		status = 0;
		goto out;
	}
	if (opts_npos(o)) {
		status = cli_usage(cmd, "unexpected argument '%s'", opts_pos(o, 0));
		goto out;
	}
	for (i = 0; required[i]; i++) {
		const char *v = opts_get(o, required[i]);

		if (!v || !*v) {
			status = cli_usage(cmd, "--%s is required", required[i]);
			goto out;
		}
	}
	env = opts_get(o, "env");
	code = opts_get(o, "code");
	if (!env_valid(env)) {
		status = cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live)", env);
		goto out;
	}
	if (cli_open_store(&s, o) || directory_org_add(s, env, code, opts_get(o, "name"))) {
		status = cli_fail();
		goto out;
	}
	/* the directory stores the code upper-cased and has checked its length */
	for (i = 0; code[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)code[i]);
	upper[i] = '\0';
	cli_print_json(
	    json_pack("{s:s, s:s, s:s}", "env", env, "code", upper, "name", opts_get(o, "name")));
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_org(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "add") == 0)
		return org_add(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid org add [options]\n\n"
		       "  add    register an organisation by its ODS code\n\n"
		       "'careid org add --help' describes it.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("org", "a subcommand is required: add");
	return cli_usage("org", "unknown subcommand '%s' (add)", sub);
}
