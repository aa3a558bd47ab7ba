/* careid session list|end: SSO sessions, for administrators. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "oidc/sessions.h"

static const struct opt LIST_OPTS[] = {
    {"env", "ENV", "only this environment (mock, int, dep, live, portal)", false},
    {"uid", "UID", "only this user's sessions", false},
    {"all", NULL, "ended sessions too", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt END_OPTS[] = {
    {"env", "ENV", "the session's environment (default: wherever it is)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static int session_list(int argc, char **argv)
{
	const char *cmd = "session list";
	json_t *list = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status;

	status =
	    cli_parse(&o, cmd, "session list [--env ENV] [--uid UID] [--all] [options]",
	              "Prints live SSO sessions (with --all, ended ones too) as a JSON array:\n"
	              "sid, uid, auth_time, acr, amr, level, the clients signed in to, and\n"
	              "when and why it ended.",
	              LIST_OPTS, argc - 1, argv + 1);
	if (status != CLI_CONTINUE)
		goto out;
	if (opts_get(o, "env") && !env_valid(opts_get(o, "env"))) {
		status = cli_usage(cmd, "unknown environment '%s'", opts_get(o, "env"));
		goto out;
	}
	if (cli_open_store(&s, o) ||
	    sessions_list(&list, s, opts_get(o, "env"), opts_get(o, "uid"), opts_flag(o, "all"))) {
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

static int session_end(int argc, char **argv)
{
	const char *cmd = "session end", *sid;
	int ended = 0, notified = 0, status;
	store *s = NULL;
	opts *o = NULL;

	if (opts_parse(&o, END_OPTS, argc - 1, argv + 1)) {
		status = cli_usage(cmd, "%s", careid_error_last()->message);
		goto out;
	}
	if (opts_flag(o, "help")) {
		cli_help("session end SID [--env ENV] [options]",
		         "Ends an SSO session as an administrator: the browser is signed out and\n"
		         "every client it signed in to that registered a back-channel logout URI\n"
		         "is sent a logout token (delivered by the running server).",
		         END_OPTS);
		status = 0;
		goto out;
	}
	sid = opts_npos(o) == 1 ? opts_pos(o, 0) : NULL;
	if (!sid) {
		status = cli_usage(cmd, "give exactly one SID");
		goto out;
	}
	if (cli_open_store(&s, o) || sessions_end(&ended, &notified, s, opts_get(o, "env"), sid,
	                                          SESSION_END_ADMIN, "admin")) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(
	    json_pack("{s:s, s:b, s:i}", "sid", sid, "ended", ended, "logout_tokens", notified));
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_session(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "list") == 0)
		return session_list(argc, argv);
	if (sub && strcmp(sub, "end") == 0)
		return session_end(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid session list|end [options]\n\n"
		       "  list   print SSO sessions as JSON\n"
		       "  end    end a session (its clients are told by back-channel logout)\n\n"
		       "'careid session SUBCOMMAND --help' describes each.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("session", "a subcommand is required: list or end");
	return cli_usage("session", "unknown subcommand '%s' (list, end)", sub);
}
