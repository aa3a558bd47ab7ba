/* careid onboarding account add: portal accounts for suppliers and the CIS2 team. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/error.h"
#include "crypto/random.h"
#include "onboarding/onboarding.h"

static const struct opt add_spec[] = {
    {"email", "ADDRESS", "the account's e-mail address, its username (required)", false},
    {"name", "NAME", "'Given Family' (required)", false},
    {"reviewer", NULL, "a member of the CIS2 onboarding team (sees the review queue)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static int account_add(int argc, char **argv)
{
	char password[1100];
	json_t *out = NULL;
	opts *o = NULL;
	store *s = NULL;
	int rc;

	if (opts_parse(&o, add_spec, argc, argv))
		return cli_usage("onboarding account add", "%s", careid_error_last()->message);
	if (opts_flag(o, "help")) {
		cli_help(
		    "onboarding account add --email ADDRESS --name NAME [--reviewer]",
		    "Creates a verified portal account. The password comes from standard input "
		    "when it is not a terminal, else a prompt.",
		    add_spec);
		opts_free(o);
		return 0;
	}
	if (!opts_get(o, "email") || !opts_get(o, "name")) {
		opts_free(o);
		return cli_usage("onboarding account add", "--email and --name are required");
	}
	rc = crypto_init();
	if (!rc)
		rc = cli_read_password(password, sizeof(password));
	if (!rc)
		rc = cli_open_store(&s, o);
	if (!rc)
		rc = onboarding_account_add(s, opts_get(o, "email"), opts_get(o, "name"), password,
		                            opts_flag(o, "reviewer"), &out);
	memset(password, 0, sizeof(password));
	if (rc == CAREID_EINVALID)
		rc = cli_usage("onboarding account add", "%s", careid_error_last()->message);
	else if (rc == CAREID_EEXISTS) {
		careid_error_set(CAREID_EEXISTS, "an account with this e-mail address exists");
		rc = cli_fail();
	} else if (rc)
		rc = cli_fail();
	else
		cli_print_json(out);
	store_free(s);
	opts_free(o);
	return rc;
}

int cmd_onboarding(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "account") == 0 && strcmp(argv[1], "add") == 0)
		return account_add(argc - 2, argv + 2);
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0)) {
		printf("usage: careid onboarding account add --email ADDRESS --name NAME "
		       "[--reviewer]\n");
		return 0;
	}
	return cli_usage("onboarding", "expected 'account add'");
}
