/* careid keys rotate|list|seal: the environments' signing keys. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"
#include "crypto/random.h"
#include "crypto/seal.h"
#include "oidc/keys.h"

static const struct opt OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep, live or portal (required)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt SEAL_OPTS[] = {
    {"env", "ENV", "only ENV's signing keys (default: all, and the server secrets)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

/* keys_list does not read private keys: no key-encryption key to load. */
static int list(json_t **out, store *s, const struct kek *kek, const char *env)
{
	(void)kek;
	return keys_list(out, s, env);
}

static int run(int argc, char **argv, const char *cmd, const char *usage, const char *desc,
               int (*fn)(json_t **out, store *s, const struct kek *kek, const char *env))
{
	const struct opt *spec = fn == keys_seal ? SEAL_OPTS : OPTS;
	struct kek kek = {0};
	const char *env;
	store *s = NULL;
	opts *o = NULL;
	json_t *out = NULL;
	int status;

	status = cli_parse(&o, cmd, usage, desc, spec, argc - 1, argv + 1);
	if (status != CLI_CONTINUE)
		goto out;
	env = opts_get(o, "env");
	if ((!env || !*env) && fn != keys_seal) {
		status = cli_usage(cmd, "--env is required");
		goto out;
	}
	if (env && !*env)
		env = NULL;
	if (env && !env_valid(env)) {
		status =
		    cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live, portal)", env);
		goto out;
	}
	if (crypto_init() || (fn != list && kek_from_env(&kek)) || cli_open_store(&s, o) ||
	    fn(&out, s, &kek, env)) {
		int code = careid_error_last()->code;

		status = cli_fail();
		/* refusals come before any write, or roll it back: say so, as the
		 * operator may fear a half-done rotation */
		if (fn != list && (code == CAREID_ELOCKED || code == CAREID_EINVALID))
			fprintf(stderr, "careid: nothing was written\n");
		goto out;
	}
	cli_print_json(out);
	status = 0;
out:
	kek_release(&kek);
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_keys(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "rotate") == 0)
		return run(
		    argc, argv, "keys rotate", "keys rotate --env ENV [--db URL]",
		    "Makes a new RSA-2048 key the one that signs ENV's ID tokens, signed\n"
		    "userinfo and logout tokens, and retires the key that signed until now,\n"
		    "in one transaction (audited as keys.rotated). The retired key stays in\n"
		    "ENV's JWKS for an hour and five minutes, until what it signed has\n"
		    "expired, then drops out. Running servers sharing the store follow within\n"
		    "about a second. Prints {env, kid, created_at, retired: [{kid, retired_at,\n"
		    "published_until}]} (Unix seconds). The new key is sealed with\n"
		    "CAREID_KEY_ENCRYPTION_KEY when it is set; then nothing is written when a\n"
		    "key or server secret in the store is sealed with another key (give the\n"
		    "previous one as CAREID_KEY_ENCRYPTION_KEY_OLD while rotating it out).",
		    keys_rotate);
	if (sub && strcmp(sub, "list") == 0)
		return run(
		    argc, argv, "keys list", "keys list --env ENV [--db URL]",
		    "Prints ENV's signing keys, newest first, as a JSON array of {kid, state,\n"
		    "created_at, retired_at, published_until} (Unix seconds or null); state is\n"
		    "signing, published (retired, still in the JWKS), expired (retired, out\n"
		    "of the JWKS) or withdrawn.",
		    list);
	if (sub && strcmp(sub, "seal") == 0)
		return run(
		    argc, argv, "keys seal", "keys seal [--env ENV] [--db URL]",
		    "Seals every private key in the store with the key-encryption key in\n"
		    "CAREID_KEY_ENCRYPTION_KEY (32 random bytes in base64: make one with\n"
		    "'openssl rand -base64 32'): the signing keys stored plain or sealed with\n"
		    "CAREID_KEY_ENCRYPTION_KEY_OLD, and the server secrets (whose seal key\n"
		    "protects the smartcard test CAs' keys and TOTP secrets) unless --env\n"
		    "names one environment. One transaction, audited as keys.sealed; keys\n"
		    "already sealed with the current key are left alone, so running it again\n"
		    "changes nothing. Nothing is written when a key cannot be opened. Prints\n"
		    "{key_id, env, sealed: [{env, kid, was}], server_secrets: [{name, was}],\n"
		    "already_sealed} where was is plain or old_key.",
		    keys_seal);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid keys rotate|list --env ENV [options]\n"
		       "       careid keys seal [--env ENV] [options]\n\n"
		       "  rotate  a new signing key; the previous one stays published until what\n"
		       "          it signed has expired\n"
		       "  list    the signing keys of an environment, as JSON\n"
		       "  seal    seal the stored private keys with CAREID_KEY_ENCRYPTION_KEY\n\n"
		       "'careid keys SUBCOMMAND --help' describes each.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("keys", "a subcommand is required: rotate, list or seal");
	return cli_usage("keys", "unknown subcommand '%s' (rotate, list, seal)", sub);
}
