/* What the onboarding service reads at start: questionnaires, the Connection
 * Agreement's text and the bank holiday calendar, data in etc/ that operators
 * update without a release. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/workdays.h"
#include "onboarding/agreement_int.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/questionnaire.h"

int onboarding_load_data(onboarding *o, const char *etc_dir)
{
	char path[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/onboarding/saq.json", etc_dir);
	rc = questionnaire_load(&o->saq, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/onboarding/setup-eligibility.json", etc_dir);
	rc = questionnaire_load(&o->setup, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/onboarding/non-functional.json", etc_dir);
	rc = questionnaire_load(&o->nfr, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/onboarding/connection-agreement.json", etc_dir);
	rc = agreement_text_load(&o->agreement, path);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/bank-holidays-england-and-wales.json", etc_dir);
	return workdays_load(&o->wd, path);
}

void onboarding_free(onboarding *o)
{
	if (!o)
		return;
	rp_free(o->rp);
	questionnaire_free(o->saq);
	questionnaire_free(o->setup);
	questionnaire_free(o->nfr);
	json_decref(o->agreement);
	workdays_free(o->wd);
	free(o->public_url);
	free(o);
}

int ob_today(const onboarding *o, char out[11])
{
	struct ymd today;
	int rc;

	if (o->today[0]) {
		memcpy(out, o->today, 11);
		return 0;
	}
	rc = workdays_london_date(&today, clock_now());
	return rc ? rc : workdays_date_format(out, today);
}
