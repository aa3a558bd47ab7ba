/*
 * The onboarding service: the digital onboarding journey a supplier goes
 * through to integrate with CIS2 (CIS2-PROFILE.md "Onboarding"), as a portal
 * for suppliers and reviewers at /onboarding/ and its JSON twin at /api/v1/.
 *
 * People sign in to the portal through careid's own "portal" environment:
 * the portal is a relying party like any other (oidc/rp.h).
 */
#ifndef CAREID_ONBOARDING_ONBOARDING_H
#define CAREID_ONBOARDING_ONBOARDING_H

#include <jansson.h>

#include "http/http.h"
#include "http/template.h"
#include "oidc/provider.h"
#include "store/store.h"

typedef struct onboarding onboarding;

struct onboarding_opts {
	provider *provider;         /* borrowed */
	store *store;               /* borrowed */
	const templates *templates; /* borrowed */
	const char *public_url;
	const char *etc_dir; /* questionnaires and bank holidays (default "etc") */
	/* NULL, or "YYYY-MM-DD": the day review SLAs count from, for
	 * demonstrations and tests of due dates */
	const char *review_date;
};

int onboarding_new(onboarding **out, const struct onboarding_opts *o);
void onboarding_free(onboarding *o);

/* Answers /onboarding/… and /api/v1/… (returns 1), else 0. */
int onboarding_handle(onboarding *o, struct http_request *req, struct http_response *res);

/*
 * Creates a verified portal account (a user of the "portal" environment plus
 * its onboarding record). `reviewer` makes it a member of the CIS2 onboarding
 * team. `password` may be NULL (no password sign-in). Used by the CLI and the
 * demo data. CAREID_EEXISTS when the e-mail is taken.
 */
int onboarding_account_add(store *s, const char *email, const char *name, const char *password,
                           bool reviewer, json_t **out);

#endif
