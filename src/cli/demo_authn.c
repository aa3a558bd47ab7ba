/* The demo users' authenticators (careid serve --demo): an authenticator
 * app with a published secret, and smartcards written to files, so every
 * way of signing in can be tried at once. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authn/smartcard.h"
#include "authn/totp.h"
#include "core/clock.h"
#include "core/error.h"
#include "oidc/clients.h"

/* Published on purpose: demo data, in the README and the banner. */
#define DEMO_TOTP_UID    "656005750111"
#define DEMO_TOTP_SECRET "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#define DEMO_CARD_UID    "656005750108"

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

int demo_seed_authenticators(store *s, json_t *seed, const char *dir)
{
	static const char *const envs[] = {"mock", "int"};
	bool seeded = json_is_true(json_object_get(seed, "seeded"));
	json_t *cards = json_array();
	struct secrets sec;
	int rc = 0;

	if (!cards)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (seeded) {
		rc = secrets_load(&sec, s);
		if (!rc && mkdir(dir, 0700) && errno != EEXIST)
			rc = careid_error_set(CAREID_EIO, "cannot create %s: %s", dir,
			                      strerror(errno));
	}
	for (size_t i = 0; !rc && i < sizeof(envs) / sizeof(envs[0]); i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/card-%s-%s.p12", dir, DEMO_CARD_UID, envs[i]);
		if (seeded) {
			rc = totp_enrol(NULL, s, sec.seal_key, envs[i], DEMO_TOTP_UID,
			                "Demo authenticator app", DEMO_TOTP_SECRET, 0);
			if (!rc)
				rc = issue_card(s, &sec, envs[i], path);
		}
		if (!rc && access(path, R_OK) == 0)
			json_array_append_new(cards, json_pack("{s:s, s:s, s:s}", "env", envs[i],
			                                       "uid", DEMO_CARD_UID, "file", path));
	}
	if (seeded)
		explicit_bzero(&sec, sizeof(sec));
	json_object_set_new(seed, "authenticators",
	                    json_pack("{s:{s:s, s:s}, s:o}", "totp", "uid", DEMO_TOTP_UID, "secret",
	                              DEMO_TOTP_SECRET, "cards", cards));
	return rc;
}
