/* careid user authenticators UID: list, revoke and reset a user's
 * authenticators; set up an authenticator app for someone (administrator
 * enrolment, for environments without passwords alone). */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/smartcard.h"
#include "authn/totp.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "directory/directory.h"
#include "oidc/clients.h"

static const struct opt OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (default mock)", false},
    {"revoke", "ID", "revoke the authenticator ID (a smartcard also goes on its CA's CRL)", false},
    {"reset", NULL, "revoke every authenticator of the user (cards too)", false},
    {"unlock", NULL, "unlock the user's authenticator apps after too many wrong codes", false},
    {"add-totp", NULL,
     "set up an authenticator app and print its secret and otpauth URI (give it to the user)",
     false},
    {"name", "NAME", "name of the app --add-totp sets up (default 'Authenticator app')", false},
    {"all", NULL, "list revoked authenticators too", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

/* Revokes `id` (NULL: all), putting smartcards on the CRL. */
static int revoke(json_t **out, store *s, const struct secrets *sec, const char *env,
                  const char *uid, const char *id)
{
	json_t *list = NULL, *cards = NULL;
	int n = 0, rc;

	*out = NULL;
	rc = directory_authenticators(&list, s, env, uid, false);
	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < json_array_size(list); i++) {
		json_t *a = json_array_get(list, i);
		const char *serial = json_string_value(json_object_get(a, "serial"));

		if (id && strcmp(id, json_string_value(json_object_get(a, "id"))) != 0)
			continue;
		if (serial) {
			rc = smartcard_revoke(NULL, s, sec, env, serial);
			n += !rc;
		}
	}
	json_decref(list);
	if (!rc) {
		int more = 0;

		rc = directory_authenticator_revoke(&more, s, env, uid, id);
		if (rc == CAREID_ENOTFOUND && n > 0)
			rc = 0; /* a smartcard, revoked above */
		n += more;
	}
	json_decref(cards);
	if (!rc) {
		*out = json_pack("{s:s, s:s, s:i}", "env", env, "uid", uid, "revoked", n);
		if (!*out)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	return rc;
}

static int add_totp(json_t **out, store *s, const struct secrets *sec, const char *env,
                    const char *uid, const char *name)
{
	char *secret = NULL, *uri = NULL, *id = NULL, *label = NULL;
	int64_t now = clock_now();
	int rc;

	*out = NULL;
	if (asprintf(&label, "careid %s", env) < 0)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = totp_secret_new(&secret);
	if (!rc)
		rc = totp_uri(&uri, label, uid, secret);
	/* The counter starts at the current step: codes from before enrolment
	 * cannot be used. */
	if (!rc)
		rc = totp_enrol(&id, s, sec->seal_key, env, uid, name, secret,
		                now / TOTP_PERIOD - 2);
	if (!rc) {
		*out = json_pack("{s:s, s:s, s:s, s:s, s:s}", "env", env, "uid", uid, "id", id,
		                 "secret", secret, "otpauth_uri", uri);
		if (!*out)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	free(label);
	free(secret);
	free(uri);
	free(id);
	return rc;
}

int cli_user_authenticators(int argc, char **argv)
{
	const char *cmd = "user authenticators";
	struct dir_user *u = NULL;
	struct secrets sec;
	const char *env, *uid;
	json_t *out = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status = 1, actions;

	if (opts_parse(&o, OPTS, argc - 1, argv + 1)) {
		status = cli_usage(cmd, "%s", careid_error_last()->message);
		goto done;
	}
	if (opts_flag(o, "help")) {
		cli_help("user authenticators UID [--env ENV] [--revoke ID | --reset | --unlock | "
		         "--add-totp] [options]",
		         "Lists the authenticators of user UID in ENV (default mock) as JSON, or\n"
		         "revokes one, revokes all (a reset), or sets up an authenticator app.",
		         OPTS);
		status = 0;
		goto done;
	}
	env = opts_get_or(o, "env", "mock");
	uid = opts_npos(o) == 1 ? opts_pos(o, 0) : NULL;
	actions = !!opts_get(o, "revoke") + opts_flag(o, "reset") + opts_flag(o, "add-totp") +
	          opts_flag(o, "unlock");
	if (!uid) {
		status = cli_usage(cmd, "give exactly one UID");
		goto done;
	}
	if (!env_valid(env)) {
		status =
		    cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live, portal)", env);
		goto done;
	}
	if (actions > 1) {
		status =
		    cli_usage(cmd, "--revoke, --reset, --unlock and --add-totp do not go together");
		goto done;
	}
	if (cli_open_store(&s, o) || directory_user_get(&u, s, env, uid) || secrets_load(&sec, s)) {
		status = cli_fail();
		goto done;
	}
	if (opts_get(o, "revoke") || opts_flag(o, "reset")) {
		if (revoke(&out, s, &sec, env, uid, opts_get(o, "revoke")))
			goto fail;
	} else if (opts_flag(o, "unlock")) {
		int n = 0;

		if (directory_authenticator_unlock(&n, s, env, uid))
			goto fail;
		out = json_pack("{s:s, s:s, s:i}", "env", env, "uid", uid, "unlocked", n);
	} else if (opts_flag(o, "add-totp")) {
		if (add_totp(&out, s, &sec, env, uid, opts_get_or(o, "name", "Authenticator app")))
			goto fail;
	} else if (directory_authenticators(&out, s, env, uid, opts_flag(o, "all"))) {
		goto fail;
	}
	cli_print_json(out);
	status = 0;
	goto done;
fail:
	status = cli_fail();
done:
	explicit_bzero(&sec, sizeof(sec));
	dir_user_free(u);
	store_free(s);
	opts_free(o);
	return status;
}
