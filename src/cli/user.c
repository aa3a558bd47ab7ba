/* careid user add|show|list: people in an environment's directory. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "crypto/password.h"
#include "directory/directory.h"

static const struct opt ADD_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (required)", false},
    {"uid", "UID", "the user's 12-digit UID, e.g. 910000000001 (required)", false},
    {"given-name", "NAME", "given name (required)", false},
    {"family-name", "NAME", "family name (required)", false},
    {"email", "EMAIL", "e-mail address, unique in the environment; also a sign-in name", false},
    {"title", "TITLE", "title: Dr, Mr, Mrs, Ms, …", false},
    {"middle-names", "NAMES", "middle names", false},
    {"display-name", "NAME", "display name (default: 'GIVEN FAMILY')", false},
    {"ial", "N", "identity assurance level 1, 2 or 3 (default 3)", false},
    {"no-password", NULL, "create the user without a password (no password sign-in)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt SHOW_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (default mock)", false},
    {"uid", "UID", "the user's 12-digit UID (required)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt LIST_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (default mock)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

/* Checks that every option in NULL-terminated `names` is given and that
 * --env names an environment. */
static int require(const opts *o, const char *cmd, const char *const *names)
{
	const char *env = opts_get(o, "env");

	for (; *names; names++) {
		const char *v = opts_get(o, *names);

		if (!v || !*v)
			return cli_usage(cmd, "--%s is required", *names);
	}
	if (env && !env_valid(env))
		return cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live, portal)",
		                 env);
	return CLI_CONTINUE;
}

/* Prints {"env": env, …the user…}. */
static int print_user(store *s, const char *env, const char *uid)
{
	struct dir_user *u = NULL;
	json_t *out, *user;
	int rc = directory_user_get(&u, s, env, uid);

	if (rc)
		return cli_fail();
	user = dir_user_json(u);
	out = json_pack("{s:s}", "env", env);
	dir_user_free(u);
	if (!user || !out || json_object_update(out, user)) {
		json_decref(user);
		json_decref(out);
		careid_error_set(CAREID_ENOMEM, "out of memory");
		return cli_fail();
	}
	json_decref(user);
	cli_print_json(out);
	return 0;
}

static int user_add(int argc, char **argv)
{
	static const char *const required[] = {"env", "uid", "given-name", "family-name", NULL};
	const char *cmd = "user add";
	char password[PASSWORD_MAX_LEN + 2];
	bool with_password = false;
	struct dir_user_new nu;
	store *s = NULL;
	opts *o = NULL;
	long ial = 0;
	int status;

	status = cli_parse(
	    &o, cmd, "user add --env ENV --uid UID --given-name NAME --family-name NAME [options]",
	    "Registers a user in ENV's directory and prints it as JSON. The password is\n"
	    "read from standard input when it is not a terminal (first line), else\n"
	    "asked for twice; --no-password creates a user who cannot sign in with one.\n"
	    "Give the user role profiles with 'careid role add'.",
	    ADD_OPTS, argc - 1, argv + 1);
	if (status != CLI_CONTINUE)
		goto out;
	status = require(o, cmd, required);
	if (status != CLI_CONTINUE)
		goto out;
	if (opts_get(o, "ial") && parse_long(opts_get(o, "ial"), 1, 3, &ial)) {
		status = cli_usage(cmd, "--ial must be 1, 2 or 3");
		goto out;
	}
	nu = (struct dir_user_new){
	    .uid = opts_get(o, "uid"),
	    .title = opts_get(o, "title"),
	    .given_name = opts_get(o, "given-name"),
	    .family_name = opts_get(o, "family-name"),
	    .middle_names = opts_get(o, "middle-names"),
	    .display_name = opts_get(o, "display-name"),
	    .email = opts_get(o, "email"),
	    .id_assurance_level = (int)ial,
	};
	if (strlen(nu.uid) != 12 || strspn(nu.uid, "0123456789") != 12) {
		status = cli_usage(cmd, "--uid must be 12 digits");
		goto out;
	}
	if (!opts_flag(o, "no-password")) {
		if (cli_read_password(password, sizeof(password))) {
			char msg[sizeof(careid_error_last()->message)];

			memcpy(msg, careid_error_last()->message, sizeof(msg));
			careid_error_set(CAREID_EINVALID, "%s (or give --no-password)", msg);
			status = cli_fail();
			goto out;
		}
		with_password = true;
	}
	if (cli_open_store(&s, o) ||
	    directory_user_add(s, opts_get(o, "env"), &nu, with_password ? password : NULL)) {
		status = cli_fail();
		goto out;
	}
	status = print_user(s, opts_get(o, "env"), nu.uid);
out:
	explicit_bzero(password, sizeof(password));
	store_free(s);
	opts_free(o);
	return status;
}

static int user_show(int argc, char **argv)
{
	static const char *const required[] = {"uid", NULL};
	const char *cmd = "user show";
	store *s = NULL;
	opts *o = NULL;
	int status;

	status = cli_parse(&o, cmd, "user show [--env ENV] --uid UID [options]",
	                   "Prints a user of ENV (default mock) with their role profiles as JSON.",
	                   SHOW_OPTS, argc - 1, argv + 1);
	if (status == CLI_CONTINUE)
		status = require(o, cmd, required);
	if (status != CLI_CONTINUE)
		goto out;
	if (cli_open_store(&s, o)) {
		status = cli_fail();
		goto out;
	}
	status = print_user(s, opts_get_or(o, "env", "mock"), opts_get(o, "uid"));
out:
	store_free(s);
	opts_free(o);
	return status;
}

static int user_list(int argc, char **argv)
{
	static const char *const required[] = {NULL};
	const char *cmd = "user list";
	json_t *list = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status;

	status = cli_parse(&o, cmd, "user list [--env ENV] [options]",
	                   "Prints the users of ENV (default mock) as a JSON array of\n"
	                   "{uid, display_name, email, roles (how many)}.",
	                   LIST_OPTS, argc - 1, argv + 1);
	if (status == CLI_CONTINUE)
		status = require(o, cmd, required);
	if (status != CLI_CONTINUE)
		goto out;
	if (cli_open_store(&s, o) || directory_user_list(&list, s, opts_get_or(o, "env", "mock"))) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(list);
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_user(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "add") == 0)
		return user_add(argc, argv);
	if (sub && strcmp(sub, "show") == 0)
		return user_show(argc, argv);
	if (sub && strcmp(sub, "list") == 0)
		return user_list(argc, argv);
	if (sub && strcmp(sub, "authenticators") == 0)
		return cli_user_authenticators(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid user add|show|list|authenticators [options]\n\n"
		       "  add             register a user (password from stdin or a prompt)\n"
		       "  show            print a user and their role profiles as JSON\n"
		       "  list            print the users of an environment as JSON\n"
		       "  authenticators  list, revoke or reset a user's authenticators\n\n"
		       "'careid user SUBCOMMAND --help' describes each.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("user",
		                 "a subcommand is required: add, show, list or authenticators");
	return cli_usage("user", "unknown subcommand '%s' (add, show, list, authenticators)", sub);
}
