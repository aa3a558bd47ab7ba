/* careid client add: register a relying party in an environment.
 * careid client logout-test: send a client the two test logout tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/env.h"
#include "core/error.h"
#include "crypto/random.h"
#include "oidc/backchannel.h"
#include "oidc/clients.h"

static const struct opt add_spec[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (required)", false},
    {"name", "NAME", "the client's name, shown on sign-in pages (required)", false},
    {"redirect-uri", "URI", "an exact redirect URI: https, or http on a loopback host", true},
    {"post-logout-redirect-uri", "URI",
     "where RP-initiated logout may send the browser back (exact match)", true},
    {"auth", "METHOD",
     "private_key_jwt, client_secret_post, client_secret_basic (default) or "
     "client_secret_jwt",
     false},
    {"jwks-file", "FILE", "private_key_jwt: a file holding the client's public JWKS", false},
    {"jwks-uri", "URL", "private_key_jwt: where to fetch the client's public JWKS", false},
    {"id-token-alg", "ALG",
     "ID token signing: RS256 (default), RS384, RS512, PS256, PS384, "
     "PS512",
     false},
    {"userinfo-signed-response-alg", "ALG", "answer userinfo as a JWT signed with ALG", false},
    {"backchannel-logout-uri", "URI", "where to POST logout tokens", false},
    {"default-acr", "CLASS", "assurance class when a request names none, e.g. AAL3_ANY", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n = 0;

	if (!f) {
		careid_error_set(CAREID_EIO, "cannot read %s", path);
		return NULL;
	}
	text = calloc(1, 65537);
	if (text)
		n = fread(text, 1, 65536, f);
	if (text && (ferror(f) || n == 65536)) {
		careid_error_set(CAREID_EINVALID, "%s is unreadable or over 64 KiB", path);
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static int client_add_cmd(int argc, char **argv)
{
	const char *uris[21], *logout_uris[21];
	struct client_new cn = {0};
	struct secrets sec;
	opts *o = NULL;
	store *s = NULL;
	json_t *out = NULL;
	char *jwks = NULL;
	int rc;

	if (opts_parse(&o, add_spec, argc, argv))
		return cli_usage("client add", "%s", careid_error_last()->message);
	if (opts_flag(o, "help")) {
		cli_help("client add --env ENV --name NAME --redirect-uri URI [options]",
		         "Registers a relying party and prints {\"client_id\", \"client_secret\"} "
		         "as JSON.\nThe secret is shown once; careid keeps only a keyed hash.",
		         add_spec);
		rc = 0;
		goto out;
	}
	cn.env = opts_get(o, "env");
	cn.name = opts_get(o, "name");
	cn.auth_method = opts_get(o, "auth");
	cn.nredirect = opts_count(o, "redirect-uri");
	if (!cn.env || !cn.name || !cn.nredirect) {
		rc = cli_usage("client add", "--env, --name and --redirect-uri are required");
		goto out;
	}
	if (cn.nredirect > 20) {
		rc = cli_usage("client add", "at most 20 redirect URIs");
		goto out;
	}
	for (size_t i = 0; i < cn.nredirect; i++)
		uris[i] = opts_nth(o, "redirect-uri", i);
	cn.redirect_uris = uris;
	cn.npost_logout = opts_count(o, "post-logout-redirect-uri");
	if (cn.npost_logout > 20) {
		rc = cli_usage("client add", "at most 20 post-logout redirect URIs");
		goto out;
	}
	for (size_t i = 0; i < cn.npost_logout; i++)
		logout_uris[i] = opts_nth(o, "post-logout-redirect-uri", i);
	cn.post_logout_uris = logout_uris;
	if (opts_get(o, "jwks-file")) {
		jwks = read_file(opts_get(o, "jwks-file"));
		if (!jwks) {
			rc = cli_fail();
			goto out;
		}
	}
	cn.jwks = jwks;
	cn.jwks_uri = opts_get(o, "jwks-uri");
	cn.id_token_alg = opts_get(o, "id-token-alg");
	cn.userinfo_alg = opts_get(o, "userinfo-signed-response-alg");
	cn.backchannel_logout_uri = opts_get(o, "backchannel-logout-uri");
	cn.default_acr = opts_get(o, "default-acr");
	rc = crypto_init();
	if (!rc)
		rc = cli_open_store(&s, o);
	if (!rc)
		rc = secrets_load(&sec, s);
	if (!rc)
		rc = client_add(&out, s, &sec, &cn);
	explicit_bzero(&sec, sizeof(sec));
	if (rc == CAREID_EINVALID) {
		rc = cli_usage("client add", "%s", careid_error_last()->message);
		goto out;
	}
	if (rc) {
		rc = cli_fail();
		goto out;
	}
	cli_print_json(out);
out:
	free(jwks);
	store_free(s);
	opts_free(o);
	return rc;
}

static const struct opt logout_test_spec[] = {
    {"env", "ENV", "the client's environment: mock, int, dep, live or portal (required)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static int client_logout_test_cmd(int argc, char **argv)
{
	const char *cmd = "client logout-test", *env, *client_id;
	json_t *out = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status;

	if (opts_parse(&o, logout_test_spec, argc, argv)) {
		status = cli_usage(cmd, "%s", careid_error_last()->message);
		goto out;
	}
	if (opts_flag(o, "help")) {
		cli_help(
		    "client logout-test --env ENV CLIENT_ID [options]",
		    "Queues two test logout tokens for the client's back-channel logout URI,\n"
		    "delivered once each by the running server: a valid one and one whose\n"
		    "signature does not verify, both naming the client's most recent session.\n"
		    "A conforming relying party answers 200, then 400; each outcome is audited\n"
		    "as logout.test. Prints {\"env\", \"client_id\", \"uri\", \"sid\", "
		    "\"requested_at\"}.",
		    logout_test_spec);
		status = 0;
		goto out;
	}
	env = opts_get(o, "env");
	client_id = opts_npos(o) == 1 ? opts_pos(o, 0) : NULL;
	if (!env || !client_id) {
		status = cli_usage(cmd, "--env and exactly one CLIENT_ID are required");
		goto out;
	}
	if (!env_valid(env)) {
		status = cli_usage(cmd, "unknown environment '%s'", env);
		goto out;
	}
	if (cli_open_store(&s, o) || backchannel_queue_tests(s, env, client_id, "admin", &out)) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(out);
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_client(int argc, char **argv)
{
	if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "help") == 0) {
		printf("usage: careid client add --env ENV --name NAME --redirect-uri URI "
		       "[options]\n       careid client logout-test --env ENV CLIENT_ID\n\n"
		       "See 'careid client add --help', 'careid client logout-test --help'.\n");
		return argc < 1 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[0], "add") == 0)
		return client_add_cmd(argc - 1, argv + 1);
	if (strcmp(argv[0], "logout-test") == 0)
		return client_logout_test_cmd(argc - 1, argv + 1);
	return cli_usage("client", "unknown subcommand '%s'", argv[0]);
}
