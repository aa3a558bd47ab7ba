/* The password authenticator: AAL1 on its own, the first step of the
 * authenticator app's two. */
#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "authn/authn.h"
#include "core/error.h"
#include "crypto/password.h"
#include "directory/directory.h"

static int refuse(struct authn_result *out, const char *message, const char *reason)
{
	out->message = strdup(message);
	out->reason = reason;
	return out->message ? CAREID_EDENIED : careid_error_set(CAREID_ENOMEM, "out of memory");
}

static int password_step(struct authn_result *out, const struct authn_input *in)
{
	const char *username = form_get(in->form, "username");
	const char *password = form_get(in->form, "password");
	struct dir_user *u = NULL;
	int rc;

	if (!username || !*username || !password || !*password)
		return refuse(out, "Enter your username and password.", "missing_fields");
	if (strlen(username) > AUTHN_USERNAME_MAX || strlen(password) > PASSWORD_MAX_LEN)
		return refuse(out, "The username or password is incorrect.", "too_long");
	rc = directory_user_find_login(&u, in->store, in->env, username);
	if (rc && rc != CAREID_ENOTFOUND)
		return rc;
	if (rc || !u->password_hash) {
		/* the same work as a real check, so timing does not tell who exists */
		password_verify_dummy(password);
		rc = CAREID_EDENIED;
	} else {
		rc = password_verify(u->password_hash, password);
	}
	if (u) {
		out->uid = strdup(u->uid);
		if (!out->uid)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	dir_user_free(u);
	if (rc == CAREID_EDENIED)
		return refuse(out, "The username or password is incorrect.",
		              out->uid ? "bad_password" : "unknown_user");
	if (rc)
		return rc;
	out->method = AUTHN_PWD;
	return 0;
}

const struct authenticator authn_password = {"password", AUTHN_PWD, password_step};
