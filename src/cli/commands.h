/*
 * The commands main.c dispatches to. Each is `int cmd_NAME(int argc, char
 * **argv)` with argv[0] the first word after the command's name (the
 * subcommand, e.g. "add"); it returns the exit status described in cli.h.
 */
#ifndef CAREID_CLI_COMMANDS_H
#define CAREID_CLI_COMMANDS_H

/* careid user add|show|list (cli/user.c) */
int cmd_user(int argc, char **argv);

/* careid org add (cli/org.c) */
int cmd_org(int argc, char **argv);

/* careid role add (cli/role.c) */
int cmd_role(int argc, char **argv);

/* careid session list|end (cli/session.c) */
int cmd_session(int argc, char **argv);

/* careid serve (cli/serve.c) */
int cmd_serve(int argc, char **argv);

/* careid migrate (cli/migrate.c) */
int cmd_migrate(int argc, char **argv);

/* careid client add (cli/client.c) */
int cmd_client(int argc, char **argv);

/* careid onboarding account add (cli/onboarding.c) */
int cmd_onboarding(int argc, char **argv);

/* careid card issue|revoke|list|ca (cli/card.c) */
int cmd_card(int argc, char **argv);

/* careid agent: the identity agent (cli/agent.c) */
int cmd_agent(int argc, char **argv);

/* careid keys rotate|list (cli/keys.c) */
int cmd_keys(int argc, char **argv);

/* careid audit verify (cli/audit.c) */
int cmd_audit(int argc, char **argv);

#endif
