/* careid role add: NHS national RBAC role profiles of users at organisations. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "directory/directory.h"

static const struct opt ADD_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (required)", false},
    {"uid", "UID", "the user's 12-digit UID (required)", false},
    {"org", "ODS", "ODS code of the organisation, e.g. RBA (required)", false},
    {"role-code", "CODE", "national RBAC job role code, e.g. S8000:G8000:R8001 (required)", false},
    {"role-name", "NAME",
     "job role name, e.g. '\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\"' (required)",
     false},
    {"activity", "CODE=NAME", "an activity, e.g. 'B0401=View Patient Medication'", true},
    {"workgroup", "CODE=NAME", "a workgroup, e.g. '555254250101=Community Nursing'", true},
    {"aow", "CODE=NAME", "an area of work, e.g. 'P0020:Q0300:T0640=Phlebotomy'", true},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

/* The CODE=NAME values of one repeatable option, split at the first '='. */
struct pairs {
	char **copies;
	const char **codes;
	const char **names;
	size_t n;
};

static void pairs_release(struct pairs *p)
{
	size_t i;

	for (i = 0; p->copies && i < p->n; i++)
		free(p->copies[i]);
	free(p->copies);
	free(p->codes);
	free(p->names);
	memset(p, 0, sizeof(*p));
}

/* 0, or the exit status of a usage error or failure. */
static int pairs_parse(struct pairs *p, const opts *o, const char *name)
{
	size_t n = opts_count(o, name);

	memset(p, 0, sizeof(*p));
	if (!n)
		return 0;
	p->copies = calloc(n, sizeof(*p->copies));
	p->codes = calloc(n, sizeof(*p->codes));
	p->names = calloc(n, sizeof(*p->names));
	if (!p->copies || !p->codes || !p->names) {
		careid_error_set(CAREID_ENOMEM, "out of memory");
		return cli_fail();
	}
	for (; p->n < n; p->n++) {
		char *eq, *copy = strdup(opts_nth(o, name, p->n));

		if (!copy) {
			careid_error_set(CAREID_ENOMEM, "out of memory");
			return cli_fail();
		}
		p->copies[p->n] = copy;
		eq = strchr(copy, '=');
		if (!eq || eq == copy || !eq[1]) {
			p->n++;
			return cli_usage("role add", "--%s wants CODE=NAME, got '%s'", name,
			                 opts_nth(o, name, p->n - 1));
		}
		*eq = '\0';
		p->codes[p->n] = copy;
		p->names[p->n] = eq + 1;
	}
	return 0;
}

/* Prints {"env", "uid", …the nrbac element…, "org_name"}. */
static int print_role(const char *env, const char *uid, const struct dir_role *r)
{
	json_t *out = json_pack("{s:s, s:s}", "env", env, "uid", uid);
	json_t *role = dir_role_nrbac_json(r);

	if (!out || !role || json_object_update(out, role) ||
	    json_object_set_new(out, "org_name", json_string(r->org_name))) {
		json_decref(out);
		json_decref(role);
		careid_error_set(CAREID_ENOMEM, "out of memory");
		return cli_fail();
	}
	json_decref(role);
	cli_print_json(out);
	return 0;
}

static int role_add(int argc, char **argv)
{
	static const char *const required[] = {"env", "uid", "org", "role-code", "role-name", NULL};
	const char *cmd = "role add", *env;
	struct pairs acts = {0}, wgs = {0}, aow = {0};
	struct dir_role_new nr;
	struct dir_role *role = NULL;
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
		    "role add --env ENV --uid UID --org ODS --role-code CODE --role-name NAME "
		    "[options]",
		    "Gives a user a national RBAC role profile at an organisation, with a new\n"
		    "person_roleid (12 random digits). The user's profiles at one organisation\n"
		    "share one person_orgid. Prints the profile as it appears in the\n"
		    "nhsid_nrbac_roles claim, plus uid and org_name, as JSON.",
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
	if (!env_valid(env)) {
		status =
		    cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live, portal)", env);
		goto out;
	}
	if ((status = pairs_parse(&acts, o, "activity")) ||
	    (status = pairs_parse(&wgs, o, "workgroup")) || (status = pairs_parse(&aow, o, "aow")))
		goto out;
	nr = (struct dir_role_new){
	    .uid = opts_get(o, "uid"),
	    .org_code = opts_get(o, "org"),
	    .role_code = opts_get(o, "role-code"),
	    .role_name = opts_get(o, "role-name"),
	    .activity_codes = acts.codes,
	    .activity_names = acts.names,
	    .nactivities = acts.n,
	    .workgroup_codes = wgs.codes,
	    .workgroup_names = wgs.names,
	    .nworkgroups = wgs.n,
	    .aow_codes = aow.codes,
	    .aow_names = aow.names,
	    .naow = aow.n,
	};
	if (cli_open_store(&s, o) || directory_role_add(&role, s, env, &nr)) {
		status = cli_fail();
		goto out;
	}
	status = print_role(env, nr.uid, role);
out:
	dir_role_free(role);
	pairs_release(&acts);
	pairs_release(&wgs);
	pairs_release(&aow);
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_role(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "add") == 0)
		return role_add(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf(
		    "usage: careid role add [options]\n\n"
		    "  add    give a user an NHS national RBAC role profile at an organisation\n\n"
		    "'careid role add --help' describes it.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("role", "a subcommand is required: add");
	return cli_usage("role", "unknown subcommand '%s' (add)", sub);
}
