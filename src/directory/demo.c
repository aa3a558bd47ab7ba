/*
 * The demo data set: organisations with real ODS codes, people with one or
 * several national RBAC role profiles, and NHS's own mock-service UIDs, so
 * that code written against NHS's mock finds the same people here. Role and
 * activity codes and names are those of the National RBAC Database as CIS2
 * returns them; person_roleids and person_orgids are fixed so documentation
 * can cite them (910000000001's match the example in NHS's CIS2 guidance).
 */
#include "directory/directory_int.h"

#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/password.h"

#define MAX_ACTS 8

static const char *const DEMO_ENVS[] = {"mock", "int"};

static const struct demo_org {
	const char *code, *name;
} ORGS[] = {
    {"RBA", "Somerset NHS Foundation Trust"},
    {"RR8", "Leeds Teaching Hospitals NHS Trust"},
    {"A81001", "The Densham Surgery"},
    {"FA565", "The Simple Pharmacy"},
    {"X26", "NHS England"},
};

static const struct demo_activity {
	const char *code, *name;
} ACTIVITIES[] = {
    {"B0017", "Receive SAR Refused Alerts"},
    {"B0028", "Manage Allergies"},
    {"B0030", "Record a Patient's Self Referral"},
    {"B0058", "Nurse Prescribers Formulary (NPF) Prescribing"},
    {"B0068", "Verify Prescription"},
    {"B0090", "Manage Workgroup Membership"},
    {"B0100", "Manage Workgroups"},
    {"B0145", "Execute CDS DQ Extracts (Clear)"},
    {"B0278", "Perform Prescription Preparation"},
    {"B0360", "View Detailed Health Records"},
    {"B0401", "View Patient Medication"},
    {"B0420", "Independent Prescribing"},
    {"B0570", "Perform Pharmacy Activities"},
    {"B0572", "Manage Pharmacy Activities"},
    {"B0790", "Perform Clinical Coding"},
    {"B0825", "Amend Patient Demographics"},
    {"B1510", "Execute CDS Extracts (NHS Group Pseud. Data)"},
    {"B1560", "Run PbR Commissioning Extracts"},
    {"B1666", "View Sensitive Results"},
    {"B8002", "Manage Shared Non Patient Identifiable Information"},
};

static const struct dir_user_new USERS[] = {
    {"656005750108", "Dr", "Amara", "Okafor", NULL, NULL, "amara.okafor@nhs.net", 3},
    {"656005750107", "Dr", "Rhys", "Griffiths", "Owen", NULL, "rhys.griffiths@nhs.net", 3},
    {"656005750104", "Mrs", "Priya", "Sharma", NULL, NULL, "priya.sharma@nhs.net", 3},
    {"656005750111", "Dr", "Tomasz", "Nowak", NULL, NULL, "tomasz.nowak@nhs.net", 3},
    {"656005750109", "Ms", "Hannah", "Lewis", NULL, NULL, "hannah.lewis@nhs.net", 3},
    {"910000000001", "Mr", "Daniel", "Hughes", "James", NULL, "daniel.hughes@nhs.net", 3},
    {"910000000002", "Mr", "Oliver", "Mensah", NULL, NULL, "oliver.mensah@nhs.net", 3},
    {"910000000003", "Mrs", "Linda", "Carter", NULL, NULL, "linda.carter@nhs.net", 3},
    {"910000000004", "Ms", "Chloe", "Evans", NULL, NULL, "chloe.evans@nhs.net", 2},
    {"910000000005", "Mr", "Ahmed", "Khan", NULL, NULL, "ahmed.khan@nhs.net", 3},
};

#define GMP_CODE  "S0010:G0020:R0260"
#define GMP_NAME  "\"Medical & Dental\":\"Medical\":\"General Medical Practitioner\""
#define CPAR_CODE "S8000:G8000:R8000"
#define CPAR_NAME "\"Clinical\":\"Clinical Provision\":\"Clinical Practitioner Access Role\""
#define NAR_CODE  "S8000:G8000:R8001"
#define NAR_NAME  "\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\""
#define HPAR_CODE "S8000:G8000:R8003"
#define HPAR_NAME "\"Clinical\":\"Clinical Provision\":\"Health Professional Access Role\""
#define HSAR_CODE "S8000:G8000:R8004"
#define HSAR_NAME "\"Clinical\":\"Clinical Provision\":\"Healthcare Student Access Role\""
#define ACSA_CODE "S8001:G8002:R8008"
#define ACSA_NAME "\"Support\":\"Support\":\"Admin/Clinical Support Access Role\""
#define RAR_CODE  "S8001:G8001:R8009"
#define RAR_NAME  "\"Support\":\"Admin\":\"Receptionist Access Role\""
#define SSAR_CODE "S8001:G8005:R8015"
#define SSAR_NAME "\"Support\":\"Systems Support\":\"Systems Support Access Role\""

static const struct demo_role {
	const char *uid, *org_code, *person_orgid, *person_roleid, *role_code, *role_name;
	const char *activities[MAX_ACTS];            /* codes from ACTIVITIES, NULL-terminated */
	const char *workgroup_code, *workgroup_name; /* optional */
	const char *aow_code, *aow_name;             /* optional */
} ROLES[] = {
    {"656005750108",
     "A81001",
     "555254239110",
     "555254242106",
     GMP_CODE,
     GMP_NAME,
     {"B0420", "B0401", "B0360", "B1666", "B0028", "B0825"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"656005750107",
     "RR8",
     "555254239111",
     "555254240111",
     CPAR_CODE,
     CPAR_NAME,
     {"B0420", "B0401", "B0360", "B1666", "B0028"},
     NULL,
     NULL,
     "P0010:Q0050:T0210",
     "\"Medicine\":\"Respiratory Medicine\":\"Respiratory Medicine\""},
    {"656005750104",
     "RR8",
     "555254239112",
     "555254240112",
     ACSA_CODE,
     ACSA_NAME,
     {"B0145", "B8002", "B1560", "B0572"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"656005750111",
     "A81001",
     "555254239113",
     "555254240113",
     GMP_CODE,
     GMP_NAME,
     {"B0420", "B0401", "B0360", "B1666", "B0028", "B0825"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"656005750109",
     "RBA",
     "555254239114",
     "555254240114",
     CPAR_CODE,
     CPAR_NAME,
     {"B0420", "B0401", "B0360", "B0028"},
     NULL,
     NULL,
     NULL,
     NULL},
    /* the multi-role user: two roles at RBA, one at a GP practice */
    {"910000000001",
     "RBA",
     "555254239107",
     "555254240100",
     NAR_CODE,
     NAR_NAME,
     {"B0278", "B0401", "B0825", "B0058"},
     "555254250101",
     "Community Nursing",
     "P0020:Q0300:T0640",
     "\"Pathology\":\"Pathology\":\"Phlebotomy\""},
    {"910000000001",
     "RBA",
     "555254239107",
     "555254242102",
     CPAR_CODE,
     CPAR_NAME,
     {"B0100", "B0420", "B1510", "B0090"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"910000000001",
     "A81001",
     "555254239108",
     "555254241101",
     HPAR_CODE,
     HPAR_NAME,
     {"B0401", "B0360", "B0825"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"910000000002",
     "FA565",
     "555254239115",
     "555254240115",
     HPAR_CODE,
     HPAR_NAME,
     {"B0570", "B0068", "B0572", "B0401"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"910000000003",
     "A81001",
     "555254239116",
     "555254240116",
     RAR_CODE,
     RAR_NAME,
     {"B0825", "B0030", "B0017"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"910000000004",
     "RR8",
     "555254239117",
     "555254240117",
     HSAR_CODE,
     HSAR_NAME,
     {"B0401", "B0570"},
     NULL,
     NULL,
     NULL,
     NULL},
    {"910000000005",
     "X26",
     "555254239118",
     "555254240118",
     SSAR_CODE,
     SSAR_NAME,
     {"B0790", "B0145"},
     "555254250102",
     "careid support",
     NULL,
     NULL},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *activity_name(const char *code)
{
	size_t i;

	for (i = 0; i < COUNT(ACTIVITIES); i++)
		if (strcmp(ACTIVITIES[i].code, code) == 0)
			return ACTIVITIES[i].name;
	return NULL; /* caught by validation: a demo table typo fails loudly */
}

static int seed_role(store *s, const char *env, const struct demo_role *d, int64_t now)
{
	const char *codes[MAX_ACTS], *names[MAX_ACTS];
	struct dir_role_new r = {
	    .uid = d->uid,
	    .org_code = d->org_code,
	    .role_code = d->role_code,
	    .role_name = d->role_name,
	    .activity_codes = codes,
	    .activity_names = names,
	    .workgroup_codes = &d->workgroup_code,
	    .workgroup_names = &d->workgroup_name,
	    .nworkgroups = d->workgroup_code ? 1 : 0,
	    .aow_codes = &d->aow_code,
	    .aow_names = &d->aow_name,
	    .naow = d->aow_code ? 1 : 0,
	};

	while (r.nactivities < MAX_ACTS && d->activities[r.nactivities]) {
		codes[r.nactivities] = d->activities[r.nactivities];
		names[r.nactivities] = activity_name(d->activities[r.nactivities]);
		r.nactivities++;
	}
	return dir_role_insert(NULL, s, env, &r, d->person_orgid, d->person_roleid, now);
}

static int seed_env(store *s, const char *env, const char *hash, int64_t now)
{
	size_t i;
	int rc;

	for (i = 0; i < COUNT(ORGS); i++) {
		rc = dir_org_lookup(NULL, s, env, ORGS[i].code);
		if (rc == 0)
			rc = dir_org_insert(s, env, ORGS[i].code, ORGS[i].name, now);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < COUNT(USERS); i++)
		if ((rc = dir_user_insert(s, env, &USERS[i], hash, now)))
			return rc;
	for (i = 0; i < COUNT(ROLES); i++)
		if ((rc = seed_role(s, env, &ROLES[i], now)))
			return rc;
	return 0;
}

static json_t *report_users(void)
{
	json_t *users = json_array();
	size_t i, j;

	for (i = 0; users && i < COUNT(USERS); i++) {
		const struct dir_user_new *u = &USERS[i];
		char name[256];
		json_t *roles = json_array(), *user;

		snprintf(name, sizeof(name), "%s %s %s", u->title, u->given_name, u->family_name);
		for (j = 0; roles && j < COUNT(ROLES); j++) {
			const struct demo_role *d = &ROLES[j];

			if (strcmp(d->uid, u->uid) != 0)
				continue;
			if (json_array_append_new(
			        roles, json_pack("{s:s, s:s, s:s, s:s, s:s}", "person_roleid",
			                         d->person_roleid, "person_orgid", d->person_orgid,
			                         "role_code", d->role_code, "role_name",
			                         d->role_name, "org_code", d->org_code))) {
				json_decref(roles);
				roles = NULL;
			}
		}
		user = roles ? json_pack("{s:s, s:s, s:s, s:o}", "uid", u->uid, "name", name,
		                         "email", u->email, "roles", roles)
		             : NULL;
		if (json_array_append_new(users, user)) {
			json_decref(users);
			users = NULL;
		}
	}
	return users;
}

static int report(json_t **out, const char *const *envs, size_t nenvs)
{
	/* the fixed demo set, seeded now or before: `serve --demo` prints it */
	json_t *seeded = json_array(), *users = report_users();
	size_t i;

	for (i = 0; seeded && i < nenvs; i++)
		if (json_array_append_new(seeded, json_string(envs[i]))) {
			json_decref(seeded);
			seeded = NULL;
		}
	if (!seeded || !users) {
		json_decref(seeded);
		json_decref(users);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	*out = json_pack("{s:b, s:o, s:s, s:o}", "seeded", nenvs > 0, "envs", seeded, "password",
	                 DIRECTORY_DEMO_PASSWORD, "users", users);
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/* Which of DEMO_ENVS get the data set: all when mock has no users, else none;
 * an environment that already has users is left alone. */
static int plan(const char **envs, size_t *nenvs, store *s)
{
	size_t i;
	int rc;

	*nenvs = 0;
	for (i = 0; i < COUNT(DEMO_ENVS); i++) {
		int64_t n;

		if ((rc = dir_count_users(&n, s, DEMO_ENVS[i])))
			return rc;
		if (i == 0 && n > 0)
			return 0;
		if (n == 0)
			envs[(*nenvs)++] = DEMO_ENVS[i];
	}
	return 0;
}

int directory_seed_demo(store *s, json_t **report_out)
{
	const char *envs[COUNT(DEMO_ENVS)];
	char hash[PASSWORD_HASH_MAX];
	size_t nenvs, i;
	int64_t now = clock_now();
	int rc;

	if (report_out)
		*report_out = NULL;
	/* a first look outside the transaction spares the 40 ms hash on a seeded store */
	rc = plan(envs, &nenvs, s);
	if (rc)
		return rc;
	if (nenvs) {
		rc = password_hash(hash, DIRECTORY_DEMO_PASSWORD);
		if (rc)
			return rc;
		rc = store_begin(s);
		if (rc)
			return rc;
		/* look again under the write lock: another process may have seeded */
		rc = plan(envs, &nenvs, s);
		for (i = 0; !rc && i < nenvs; i++)
			rc = seed_env(s, envs[i], hash, now);
		if (rc)
			return dir_rollback(s, rc);
		rc = store_commit(s);
		if (rc)
			return dir_rollback(s, rc);
	}
	if (!report_out)
		return 0;
	return report(report_out, envs, nenvs);
}
