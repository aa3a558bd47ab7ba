/* careid: command dispatch only. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"serve", cmd_serve, "run the identity provider (all environments)"},
    {"migrate", cmd_migrate, "create or upgrade the store"},
    {"client", cmd_client, "client add: register a relying party"},
    {"user", cmd_user, "user add|show|list: people in an environment's directory"},
    {"org", cmd_org, "org add: an organisation (ODS code and name)"},
    {"role", cmd_role, "role add: an NHS RBAC role profile for a user at an organisation"},
    {"onboarding", cmd_onboarding, "account add: portal accounts (suppliers, CIS2 reviewers)"},
    {"card", cmd_card, "issue|revoke|list|ca: smartcards from each environment's test CA"},
    {"agent", cmd_agent, "the identity agent: serves a smartcard to careid's sign-in pages"},
    {"keys", cmd_keys, "rotate|list|seal: the environments' signing keys"},
    {"audit", cmd_audit, "verify: check the audit trail's hash chain"},
    {"session", cmd_session, "list|end: SSO sessions"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: careid COMMAND [options]\n\n"
	           "careid is a CIS2-compatible OpenID Connect provider.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
	        "  %-10s %s\n\nEvery command takes --help, and --db URL (or CAREID_DB) to name "
	        "the store.\nOptions may also come from CAREID_* variables and a --config file.\n",
	        "help", "this list");
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 2, argv + 2);
	fprintf(stderr, "careid: unknown command '%s' (try 'careid help')\n", argv[1]);
	return EXIT_USAGE;
}
