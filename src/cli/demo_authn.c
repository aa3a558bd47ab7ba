/* The demo users' authenticators (careid serve --demo): an authenticator
 * app with a published secret, and smartcards written to files, so every
 * way of signing in can be tried at once. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authn/fido.h"
#include "authn/smartcard.h"
#include "authn/totp.h"
#include "core/clock.h"
#include "core/error.h"
#include "directory/directory.h"
#include "crypto/hash.h"
#include "crypto/pubkey.h"
#include "crypto/random.h"
#include "oidc/clients.h"

/* Published on purpose: demo data, in the README and the banner. */
#define DEMO_TOTP_UID    "656005750111"
#define DEMO_TOTP_SECRET "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#define DEMO_CARD_UID    "656005750108"
#define DEMO_KEY_UID     "656005750107"

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return careid_error_set(CAREID_EIO, "cannot write %s: %s", path, strerror(errno));
	n = write(fd, data, len);
	close(fd);
	if (n < 0 || (size_t)n != len)
		return careid_error_set(CAREID_EIO, "cannot write %s", path);
	return 0;
}

static int issue_card(store *s, const struct secrets *sec, const char *env, const char *path)
{
	struct smartcard_issued card = {0};
	int64_t now = clock_now();
	struct smartcard_new n = {env, DEMO_CARD_UID, now - 86400, now + 365 * 86400, ""};
	int rc = smartcard_issue(&card, s, sec, &n);

	if (!rc)
		rc = write_file(path, card.p12, card.p12_len);
	smartcard_issued_release(&card);
	return rc;
}

/* Standard base64 (what the DevTools protocol's WebAuthn.addCredential takes). */
static char *b64_standard(const uint8_t *data, size_t len)
{
	size_t cap = 4 * len / 3 + 8, n;
	char *out = malloc(cap);

	if (!out || crypto_b64url_encode(out, cap, data, len)) {
		free(out);
		return NULL;
	}
	n = strlen(out);
	for (size_t i = 0; i < n; i++)
		out[i] = out[i] == '-' ? '+' : out[i] == '_' ? '/' : out[i];
	while (n % 4)
		out[n++] = '=';
	out[n] = '\0';
	return out;
}

/*
 * A software security key for DEMO_KEY_UID: the credential is registered in
 * `env` and written to `path` as the DevTools protocol's WebAuthn.Credential
 * (credentialId, rpId, userHandle, privateKey PKCS#8, signCount), so a
 * browser test or a Playwright script can load it into Chromium's virtual
 * authenticator and sign in at AAL3 straight away.
 */
static int seed_security_key(store *s, const char *env, const char *rp_id, const char *path)
{
	struct webauthn_credential c = {0};
	uint8_t x[32], y[32], raw_id[32], *pkcs8 = NULL;
	char id[64], *cose = NULL, *key = NULL, *auth_id = NULL, *text = NULL;
	char *cdp_id = NULL, *cdp_handle = NULL;
	size_t pkcs8_len = 0;
	json_t *file = NULL;
	int rc;

	crypto_random_bytes(raw_id, sizeof(raw_id));
	rc = crypto_b64url_encode(id, sizeof(id), raw_id, sizeof(raw_id));
	/* the DevTools protocol's binary fields are standard base64 */
	if (!rc &&
	    (!(cdp_id = b64_standard(raw_id, sizeof(raw_id))) ||
	     !(cdp_handle = b64_standard((const uint8_t *)DEMO_KEY_UID, strlen(DEMO_KEY_UID)))))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!rc)
		rc = pubkey_es256_generate(x, y, &pkcs8, &pkcs8_len);
	if (!rc)
		rc = webauthn_cose_es256(&cose, x, y);
	if (!rc && !(key = b64_standard(pkcs8, pkcs8_len)))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (rc)
		goto out;
	c.credential_id = id;
	c.public_key = cose;
	c.alg = -7;
	snprintf(c.aaguid, sizeof(c.aaguid), "00000000-0000-0000-0000-000000000000");
	snprintf(c.fmt, sizeof(c.fmt), "none");
	c.user_verified = true;
	/* issued with the demo data, like a card from the registration authority */
	rc = fido_save(&auth_id, NULL, s, env, DEMO_KEY_UID, "Demo security key", &c, true);
	if (rc)
		goto out;
	file = json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s}", "credentialId", cdp_id, "rpId",
	                 rp_id, "userHandle", cdp_handle, "privateKey", key, "isResidentCredential",
	                 1, "signCount", 0, "uid", DEMO_KEY_UID, "env", env);
	text = file ? json_dumps(file, JSON_INDENT(2)) : NULL;
	rc = text ? write_file(path, (const uint8_t *)text, strlen(text))
	          : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	if (pkcs8)
		explicit_bzero(pkcs8, pkcs8_len);
	if (key)
		explicit_bzero(key, strlen(key));
	if (text)
		explicit_bzero(text, strlen(text));
	free(pkcs8);
	free(key);
	free(text);
	free(cose);
	free(auth_id);
	free(cdp_id);
	free(cdp_handle);
	json_decref(file);
	return rc;
}

/* True when `uid` is in env's directory and has no unrevoked authenticator of
 * `kind` (or its file is gone): the demo item should be (re)made. */
static int missing(bool *out, store *s, const char *env, const char *uid, const char *kind,
                   const char *file)
{
	struct dir_user *u = NULL;
	int count = 0, rc;

	*out = false;
	rc = directory_user_get(&u, s, env, uid);
	dir_user_free(u);
	if (rc == CAREID_ENOTFOUND)
		return 0; /* not the demo directory */
	if (!rc)
		rc = directory_authenticator_count(&count, s, env, uid, kind);
	*out = !rc && (count == 0 || (file && access(file, R_OK) != 0));
	return rc;
}

int demo_seed_authenticators(store *s, json_t *seed, const char *dir, const char *rp_id)
{
	static const char *const envs[] = {"mock", "int"};
	json_t *cards = json_array(), *keys = json_array();
	struct secrets sec;
	bool need;
	int rc = 0;

	if (!cards || !keys) {
		json_decref(cards);
		json_decref(keys);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = secrets_load(&sec, s);
	if (!rc && mkdir(dir, 0700) && errno != EEXIST)
		rc = careid_error_set(CAREID_EIO, "cannot create %s: %s", dir, strerror(errno));
	for (size_t i = 0; !rc && i < sizeof(envs) / sizeof(envs[0]); i++) {
		char path[512], keypath[512];

		snprintf(path, sizeof(path), "%s/card-%s-%s.p12", dir, DEMO_CARD_UID, envs[i]);
		snprintf(keypath, sizeof(keypath), "%s/security-key-%s-%s.json", dir, DEMO_KEY_UID,
		         envs[i]);
		/* made when missing, so a store seeded by an older careid gains them too */
		rc = missing(&need, s, envs[i], DEMO_TOTP_UID, "totp", NULL);
		if (!rc && need)
			rc = totp_enrol(NULL, s, sec.seal_key, envs[i], DEMO_TOTP_UID,
			                "Demo authenticator app", DEMO_TOTP_SECRET, 0);
		if (!rc)
			rc = missing(&need, s, envs[i], DEMO_CARD_UID, "smartcard", path);
		if (!rc && need)
			rc = issue_card(s, &sec, envs[i], path);
		if (!rc)
			rc = missing(&need, s, envs[i], DEMO_KEY_UID, "webauthn", keypath);
		if (!rc && need)
			rc = seed_security_key(s, envs[i], rp_id, keypath);
		if (!rc && access(path, R_OK) == 0)
			json_array_append_new(cards, json_pack("{s:s, s:s, s:s}", "env", envs[i],
			                                       "uid", DEMO_CARD_UID, "file", path));
		if (!rc && access(keypath, R_OK) == 0)
			json_array_append_new(keys,
			                      json_pack("{s:s, s:s, s:s}", "env", envs[i], "uid",
			                                DEMO_KEY_UID, "file", keypath));
	}
	explicit_bzero(&sec, sizeof(sec));
	json_object_set_new(seed, "authenticators",
	                    json_pack("{s:{s:s, s:s}, s:o, s:o}", "totp", "uid", DEMO_TOTP_UID,
	                              "secret", DEMO_TOTP_SECRET, "cards", cards, "security_keys",
	                              keys));
	return rc;
}
