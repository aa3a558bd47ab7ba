/* The authenticators by name. */
#include "authn/authn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "authn/smartcard.h"
#include "authn/totp.h"
#include "core/error.h"

static int refuse(struct authn_result *out, int rc, const char *message, const char *reason)
{
	out->message = strdup(message);
	out->reason = reason;
	return out->message ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/* The second step of a password and authenticator app sign-in. */
static int totp_step(struct authn_result *out, const struct authn_input *in)
{
	const char *code = form_get(in->form, "code");
	int rc;

	if (!in->uid)
		return refuse(out, CAREID_EDENIED, "Enter your username and password first.",
		              "no_password");
	out->uid = strdup(in->uid);
	if (!out->uid)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = totp_verify(&out->authenticator_id, in->store, in->seal_key, in->env, in->uid,
	                 code ? code : "", in->now);
	switch (rc) {
	case 0:
		out->method = AUTHN_TOTP;
		return 0;
	case CAREID_EINVALID:
		return refuse(out, rc, "Enter the 6-digit code from your authenticator app.",
		              "bad_code");
	case CAREID_EDENIED:
		return refuse(out, rc,
		              "The code is not correct. Enter the code your app shows now (check "
		              "that your phone's clock is right).",
		              "bad_code");
	case CAREID_EUSED:
		return refuse(out, rc,
		              "This code has already been used. Wait for your app to show the next "
		              "one, then enter that.",
		              "replayed_code");
	case CAREID_ENOTFOUND:
		return refuse(out, rc, "No authenticator app is set up for your account.",
		              "no_authenticator_app");
	case CAREID_ELOCKED:
		return refuse(
		    out, rc,
		    "Your authenticator app is locked after too many wrong codes. Sign in "
		    "another way, or ask your administrator to unlock it.",
		    "authenticator_app_locked");
	}
	return rc;
}

const struct authenticator authn_totp = {"totp", AUTHN_TOTP, totp_step};

/* A smartcard through the identity agent: it signed this page's challenge. */
static int smartcard_step(struct authn_result *out, const struct authn_input *in)
{
	const char *cert = form_get(in->form, "certificate");
	const char *sig = form_get(in->form, "signature");
	const char *removal = form_get(in->form, "removal_token");
	struct smartcard_identity id;
	struct smartcard_answer a = {0};
	struct buf text;
	char *msg = NULL;
	int rc;

	if (!cert || !*cert || !sig || !*sig)
		return refuse(
		    out, CAREID_EINVALID,
		    "Your smartcard could not be read: the identity agent did not answer. "
		    "Start it with \"careid agent --card FILE\" and try again (the page "
		    "needs JavaScript to reach it).",
		    "agent_not_answering");
	if (removal && *removal && (strlen(removal) < 32 || strlen(removal) > 100))
		return refuse(out, CAREID_EINVALID,
		              "The identity agent's answer could not be read.", "malformed");
	buf_init(&text, SMARTCARD_SIGNED_TEXT_MAX);
	rc = smartcard_signed_text(&text, in->origin, in->challenge);
	if (rc)
		goto out;
	a.env = in->env;
	a.certificate = cert;
	a.signature = sig;
	a.alg = form_get(in->form, "alg") && *form_get(in->form, "alg") ? form_get(in->form, "alg")
	                                                                : NULL;
	a.signed_text = text.ptr;
	a.signed_len = text.len;
	a.now = in->now;
	rc = smartcard_verify(&id, in->store, &a);
	if (rc == CAREID_EDENIED || rc == CAREID_EEXPIRED || rc == CAREID_EINVALID ||
	    rc == CAREID_ENOTFOUND) {
		const char *detail = careid_error_last()->message;

		if (asprintf(&msg, "Your smartcard could not sign you in: %s.", detail) < 0)
			msg = NULL;
		out->message = msg;
		out->reason = rc == CAREID_EEXPIRED         ? "card_expired"
		              : strstr(detail, "revoked")   ? "card_revoked"
		              : strstr(detail, "authority") ? "foreign_ca"
		              : strstr(detail, "signed")    ? "bad_signature"
		              : rc == CAREID_EINVALID       ? "malformed"
		                                            : "card_refused";
		rc = msg ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (rc)
		goto out;
	out->uid = strdup(id.uid);
	out->authenticator_id = strdup(id.authenticator_id);
	out->removal_token = removal && *removal ? strdup(removal) : NULL;
	out->method = AUTHN_SMARTCARD;
	if (!out->uid || !out->authenticator_id || (removal && *removal && !out->removal_token))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	buf_release(&text);
	return rc;
}

const struct authenticator authn_smartcard = {"smartcard", AUTHN_SMARTCARD, smartcard_step};

static const struct authenticator *const all[] = {&authn_password, &authn_totp, &authn_webauthn,
                                                  &authn_smartcard};

const struct authenticator *authn_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void authn_result_release(struct authn_result *r)
{
	if (!r)
		return;
	free(r->uid);
	free(r->authenticator_id);
	free(r->removal_token);
	free(r->message);
	memset(r, 0, sizeof(*r));
}
