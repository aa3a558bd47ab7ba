/* Tests src/directory/: users, organisations, role profiles, claims JSON, demo data. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "store/store.h"

struct fx {
	char dir[512];
	store *s;
};

static int setup(void **state)
{
	const char *tmp = getenv("CAREID_TEST_TMP");
	char url[600];
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (!tmp)
		tmp = "/tmp";
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/directory-XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	if (store_open(&f->s, url) || store_migrate(f->s, NULL)) {
		fprintf(stderr, "store: %s\n", careid_error_last()->message);
		return -1;
	}
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_free(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

#define UID1       "910000000101"
#define UID2       "910000000102"
#define NURSE_CODE "S8000:G8000:R8001"
#define NURSE_NAME "\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\""

static const char *const ACT_CODES[] = {"B0401", "B0825"};
static const char *const ACT_NAMES[] = {"View Patient Medication", "Amend Patient Demographics"};

/* Two organisations and one user, Jane Doe, with a password. */
static void add_basics(store *s)
{
	struct dir_user_new u = {
	    .uid = UID1,
	    .title = "Ms",
	    .given_name = "Jane",
	    .family_name = "Doe",
	    .email = "Jane.Doe@NHS.net",
	};

	assert_int_equal(directory_org_add(s, "mock", "RBA", "Somerset NHS Foundation Trust"), 0);
	assert_int_equal(directory_org_add(s, "mock", "a81001", "The Densham Surgery"), 0);
	assert_int_equal(directory_user_add(s, "mock", &u, "correct horse"), 0);
}

static struct dir_role *add_role(store *s, const char *uid, const char *org, const char *code,
                                 const char *name)
{
	struct dir_role_new r = {
	    .uid = uid,
	    .org_code = org,
	    .role_code = code,
	    .role_name = name,
	    .activity_codes = ACT_CODES,
	    .activity_names = ACT_NAMES,
	    .nactivities = 2,
	};
	struct dir_role *role = NULL;
	int rc = directory_role_add(&role, s, "mock", &r);

	if (rc)
		fprintf(stderr, "role add: %s\n", careid_error_last()->message);
	assert_int_equal(rc, 0);
	assert_non_null(role);
	return role;
}

static const struct dir_role *role_by_id(const struct dir_user *u, const char *person_roleid)
{
	for (size_t i = 0; i < u->nroles; i++)
		if (strcmp(u->roles[i].person_roleid, person_roleid) == 0)
			return &u->roles[i];
	return NULL;
}

static bool is_digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

static void test_add_and_get(void **state)
{
	struct fx *f = *state;
	struct dir_role *r1, *r2;
	struct dir_user *u = NULL;
	const struct dir_role *g;

	add_basics(f->s);
	r1 = add_role(f->s, UID1, "RBA", NURSE_CODE, NURSE_NAME);
	r2 = add_role(f->s, UID1, "A81001", "S8000:G8000:R8003", "Health Professional Access Role");
	assert_string_equal(r1->org_name, "Somerset NHS Foundation Trust");
	assert_string_equal(r2->org_code, "A81001");

	assert_int_equal(directory_user_get(&u, f->s, "mock", UID1), 0);
	assert_string_equal(u->uid, UID1);
	assert_string_equal(u->title, "Ms");
	assert_string_equal(u->given_name, "Jane");
	assert_string_equal(u->family_name, "Doe");
	assert_null(u->middle_names);
	assert_string_equal(u->display_name, "Jane Doe");
	assert_string_equal(u->email, "jane.doe@nhs.net");
	assert_int_equal(u->id_assurance_level, 3);
	assert_non_null(u->password_hash);
	assert_int_equal(password_verify(u->password_hash, "correct horse"), 0);
	assert_int_equal(password_verify(u->password_hash, "wrong horse"), CAREID_EDENIED);
	assert_int_equal(u->nroles, 2);

	g = role_by_id(u, r1->person_roleid);
	assert_non_null(g);
	assert_string_equal(g->org_name, "Somerset NHS Foundation Trust");
	assert_string_equal(g->role_code, NURSE_CODE);
	assert_string_equal(g->role_name, NURSE_NAME);
	assert_int_equal(json_array_size(g->activities), 2);
	assert_int_equal(json_array_size(g->workgroups), 0);
	assert_int_equal(json_array_size(g->aow), 0);
	g = role_by_id(u, r2->person_roleid);
	assert_non_null(g);
	assert_string_equal(g->org_name, "The Densham Surgery");

	dir_role_free(r1);
	dir_role_free(r2);
	dir_user_free(u);

	assert_int_equal(directory_user_get(&u, f->s, "mock", UID2), CAREID_ENOTFOUND);
	assert_null(u);
	/* environments are separate directories */
	assert_int_equal(directory_user_get(&u, f->s, "int", UID1), CAREID_ENOTFOUND);
}

static void test_user_without_password_or_extras(void **state)
{
	struct fx *f = *state;
	struct dir_user_new nu = {
	    .uid = UID2,
	    .given_name = "Siân",
	    .family_name = "O'Neill-Jones",
	    .middle_names = "Mary Ellen",
	    .display_name = "O'NEILL-JONES, Siân Ms",
	    .id_assurance_level = 2,
	};
	struct dir_user *u = NULL;

	assert_int_equal(directory_user_add(f->s, "int", &nu, NULL), 0);
	assert_int_equal(directory_user_get(&u, f->s, "int", UID2), 0);
	assert_null(u->password_hash);
	assert_null(u->email);
	assert_null(u->title);
	assert_string_equal(u->middle_names, "Mary Ellen");
	assert_string_equal(u->display_name, "O'NEILL-JONES, Siân Ms");
	assert_int_equal(u->id_assurance_level, 2);
	assert_int_equal(u->nroles, 0);
	assert_null(u->roles);
	dir_user_free(u);
}

static void test_find_login(void **state)
{
	struct fx *f = *state;
	struct dir_user *u = NULL;

	add_basics(f->s);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", UID1), 0);
	assert_string_equal(u->uid, UID1);
	dir_user_free(u);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", "JANE.DOE@nhs.NET"), 0);
	assert_string_equal(u->uid, UID1);
	dir_user_free(u);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", "jane.doe@nhs.net"), 0);
	dir_user_free(u);

	u = NULL;
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", "john@nhs.net"),
	                 CAREID_ENOTFOUND);
	assert_null(u);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", "Jane"), CAREID_ENOTFOUND);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", ""), CAREID_ENOTFOUND);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", NULL), CAREID_ENOTFOUND);
	assert_int_equal(directory_user_find_login(&u, f->s, "mock", UID2), CAREID_ENOTFOUND);
	assert_int_equal(directory_user_find_login(&u, f->s, "int", "jane.doe@nhs.net"),
	                 CAREID_ENOTFOUND);
	assert_int_equal(directory_user_find_login(&u, f->s, "bogus", UID1), CAREID_EINVALID);
}

static void test_duplicates(void **state)
{
	struct fx *f = *state;
	struct dir_user_new same_uid = {.uid = UID1, .given_name = "A", .family_name = "B"};
	struct dir_user_new same_email = {
	    .uid = UID2, .given_name = "A", .family_name = "B", .email = "JANE.doe@nhs.net"};

	add_basics(f->s);
	assert_int_equal(directory_user_add(f->s, "mock", &same_uid, NULL), CAREID_EEXISTS);
	assert_non_null(strstr(careid_error_last()->message, UID1));
	assert_int_equal(directory_user_add(f->s, "mock", &same_email, NULL), CAREID_EEXISTS);
	assert_non_null(strstr(careid_error_last()->message, "jane.doe@nhs.net"));
	assert_int_equal(directory_org_add(f->s, "mock", "rba", "Another"), CAREID_EEXISTS);
	assert_non_null(strstr(careid_error_last()->message, "RBA"));
	/* the same identifiers are free in another environment */
	assert_int_equal(directory_user_add(f->s, "int", &same_email, NULL), 0);
	assert_int_equal(directory_org_add(f->s, "int", "RBA", "Somerset NHS Foundation Trust"), 0);
}

static int add_user(store *s, const char *uid, const char *given, const char *email, int ial)
{
	struct dir_user_new u = {
	    .uid = uid,
	    .given_name = given,
	    .family_name = "Doe",
	    .email = email,
	    .id_assurance_level = ial,
	};

	return directory_user_add(s, "mock", &u, NULL);
}

static void test_invalid_user(void **state)
{
	struct fx *f = *state;
	char long_name[102], accents[2 * 100 + 1];
	struct dir_user_new u = {.uid = UID1, .given_name = "Jane", .family_name = "Doe"};

	memset(long_name, 'a', 101);
	long_name[101] = '\0';
	for (int i = 0; i < 100; i++)
		memcpy(accents + 2 * i, "\xc3\xa9", 2); /* é */
	accents[200] = '\0';

	assert_int_equal(add_user(f->s, "12345", "Jane", NULL, 0), CAREID_EINVALID);
	assert_string_equal(careid_error_last()->message, "uid must be 12 digits");
	assert_int_equal(add_user(f->s, "9100000001011", "Jane", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, "91000000010a", "Jane", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, NULL, "Jane", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "   ", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, NULL, NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Ja\x01ne", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Ja\nne", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Ja\xffne", NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "\xc0\xaf", NULL, 0), CAREID_EINVALID); /* overlong */
	assert_int_equal(add_user(f->s, UID1, long_name, NULL, 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "nobody", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a@b", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "@nhs.net", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a@@nhs.net", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a b@nhs.net", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a@nhs..net", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a@nhs.net.", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", "a@-nhs.net", 0), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", NULL, 4), CAREID_EINVALID);
	assert_int_equal(add_user(f->s, UID1, "Jane", NULL, -1), CAREID_EINVALID);
	assert_int_equal(directory_user_add(f->s, "prod", &u, NULL), CAREID_EINVALID);
	assert_int_equal(directory_user_add(f->s, NULL, &u, NULL), CAREID_EINVALID);

	/* 100 two-byte characters are 100 characters */
	assert_int_equal(add_user(f->s, UID1, accents, "first.last+tag@nhs.net", 1), 0);
}

static void test_invalid_org_and_role(void **state)
{
	struct fx *f = *state;
	const char *bad_acts[] = {"B401"}, *bad_acts2[] = {"X0401"}, *names[] = {"Name"};
	const char *dup_acts[] = {"B0401", "B0401"}, *dup_names[] = {"A", "B"};
	struct dir_role_new r = {
	    .uid = UID1, .org_code = "RBA", .role_code = NURSE_CODE, .role_name = NURSE_NAME};

	assert_int_equal(directory_org_add(f->s, "mock", "AB", "Too short"), CAREID_EINVALID);
	assert_int_equal(directory_org_add(f->s, "mock", "ABCDEFG", "Too long"), CAREID_EINVALID);
	assert_int_equal(directory_org_add(f->s, "mock", "R-1", "Bad char"), CAREID_EINVALID);
	assert_int_equal(directory_org_add(f->s, "mock", "RBA", ""), CAREID_EINVALID);
	assert_int_equal(directory_org_add(f->s, "live!", "RBA", "x"), CAREID_EINVALID);
	add_basics(f->s);

	r.role_code = "R8001";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_code = "S8000:G8000";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_code = "S8000:G8000:R";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_code = "S8000:G8000:R8001x";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_code = "s8000:g8000:r8001";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_code = NURSE_CODE;
	r.role_name = "";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.role_name = NURSE_NAME;
	r.org_code = "R 8";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.org_code = "RBA";
	r.uid = "123";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.uid = UID1;
	r.activity_codes = bad_acts;
	r.activity_names = names;
	r.nactivities = 1;
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.activity_codes = bad_acts2;
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.activity_codes = dup_acts;
	r.activity_names = dup_names;
	r.nactivities = 2;
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.nactivities = 0;
	r.workgroup_codes = (const char *[]){"bad code"};
	r.workgroup_names = names;
	r.nworkgroups = 1;
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.workgroup_codes = (const char *[]){"555254250101"};
	r.workgroup_names = (const char *[]){"Bad\tname"};
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), CAREID_EINVALID);
	r.nworkgroups = 0;

	/* a lower-case ODS code names the same organisation */
	r.org_code = "rba";
	assert_int_equal(directory_role_add(NULL, f->s, "mock", &r), 0);
}

static void test_role_not_found(void **state)
{
	struct fx *f = *state;
	struct dir_role_new r = {
	    .uid = UID2, .org_code = "RBA", .role_code = NURSE_CODE, .role_name = NURSE_NAME};
	struct dir_role sentinel = {0}, *role = &sentinel; /* must be reset to NULL */

	add_basics(f->s);
	assert_int_equal(directory_role_add(&role, f->s, "mock", &r), CAREID_ENOTFOUND);
	assert_null(role);
	assert_non_null(strstr(careid_error_last()->message, "user " UID2));
	r.uid = UID1;
	r.org_code = "RR8";
	assert_int_equal(directory_role_add(&role, f->s, "mock", &r), CAREID_ENOTFOUND);
	assert_string_equal(careid_error_last()->message, "organisation RR8 not found in mock");
	/* the organisation exists in mock only */
	r.org_code = "RBA";
	assert_int_equal(directory_role_add(&role, f->s, "int", &r), CAREID_ENOTFOUND);
}

static void test_person_orgid(void **state)
{
	struct fx *f = *state;
	struct dir_role *a, *b, *c, *d;
	struct dir_user_new other = {.uid = UID2, .given_name = "John", .family_name = "Roe"};

	add_basics(f->s);
	assert_int_equal(directory_user_add(f->s, "mock", &other, NULL), 0);
	a = add_role(f->s, UID1, "RBA", NURSE_CODE, NURSE_NAME);
	b = add_role(f->s, UID1, "RBA", "S8000:G8000:R8000", "Clinical Practitioner Access Role");
	c = add_role(f->s, UID1, "A81001", NURSE_CODE, NURSE_NAME);
	d = add_role(f->s, UID2, "RBA", NURSE_CODE, NURSE_NAME);

	assert_true(is_digits(a->person_roleid, 12));
	assert_true(is_digits(a->person_orgid, 12));
	assert_string_equal(a->person_orgid, b->person_orgid);
	assert_string_not_equal(a->person_orgid, c->person_orgid);
	assert_string_not_equal(a->person_orgid, d->person_orgid);
	assert_string_not_equal(a->person_roleid, b->person_roleid);
	assert_string_not_equal(a->person_roleid, c->person_roleid);
	assert_string_not_equal(a->person_roleid, d->person_roleid);
	dir_role_free(a);
	dir_role_free(b);
	dir_role_free(c);
	dir_role_free(d);
	dir_role_free(NULL);
	dir_user_free(NULL);
}

static void test_nrbac_json(void **state)
{
	struct fx *f = *state;
	const char *wg_codes[] = {"555254250101"}, *wg_names[] = {"Community Nursing"};
	const char *aow_codes[] = {"P0020:Q0300:T0640"};
	const char *aow_names[] = {"\"Pathology\":\"Pathology\":\"Phlebotomy\""};
	struct dir_role_new r = {
	    .uid = UID1,
	    .org_code = "RBA",
	    .role_code = NURSE_CODE,
	    .role_name = NURSE_NAME,
	    .activity_codes = ACT_CODES,
	    .activity_names = ACT_NAMES,
	    .nactivities = 2,
	    .workgroup_codes = wg_codes,
	    .workgroup_names = wg_names,
	    .nworkgroups = 1,
	    .aow_codes = aow_codes,
	    .aow_names = aow_names,
	    .naow = 1,
	};
	struct dir_role *role = NULL, *plain;
	json_t *got, *want;
	char *text;

	add_basics(f->s);
	assert_int_equal(directory_role_add(&role, f->s, "mock", &r), 0);
	got = dir_role_nrbac_json(role);
	want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:[s,s], s:[s], s:[s], s:[s], s:[s]}",
	                 "person_orgid", role->person_orgid, "person_roleid", role->person_roleid,
	                 "org_code", "RBA", "role_code", NURSE_CODE, "role_name", NURSE_NAME,
	                 "activities", "View Patient Medication", "Amend Patient Demographics",
	                 "activity_codes", "B0401", "B0825", "workgroups", "Community Nursing",
	                 "workgroups_codes", "555254250101", "aow", aow_names[0], "aow_codes",
	                 aow_codes[0]);
	assert_true(json_equal(got, want));
	/* the keys come in CIS2's order */
	text = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(strstr(text, "{\"person_orgid\":"));
	assert_non_null(strstr(text, "\"activity_codes\":[\"B0401\",\"B0825\"],\"workgroups\":"));
	free(text);
	json_decref(got);
	json_decref(want);

	/* no lists: empty arrays, still present */
	plain =
	    add_role(f->s, UID1, "A81001", "S8000:G8000:R8003", "Health Professional Access Role");
	dir_role_free(plain);
	{
		struct dir_user *u = NULL;
		const struct dir_role *p;
		json_t *j;

		assert_int_equal(directory_user_get(&u, f->s, "mock", UID1), 0);
		p = role_by_id(u, role->person_roleid);
		assert_non_null(p);
		j = dir_role_nrbac_json(p);
		assert_int_equal(json_object_size(j), 11);
		assert_string_equal(
		    json_string_value(json_array_get(json_object_get(j, "aow_codes"), 0)),
		    "P0020:Q0300:T0640");
		json_decref(j);
		for (size_t i = 0; i < u->nroles; i++) {
			if (&u->roles[i] == p)
				continue;
			j = dir_role_nrbac_json(&u->roles[i]);
			assert_int_equal(json_object_size(j), 11);
			assert_int_equal(json_array_size(json_object_get(j, "activities")), 2);
			assert_int_equal(json_array_size(json_object_get(j, "workgroups")), 0);
			assert_int_equal(json_array_size(json_object_get(j, "aow_codes")), 0);
			json_decref(j);
		}
		dir_user_free(u);
	}
	dir_role_free(role);
}

static void test_user_json_and_list(void **state)
{
	struct fx *f = *state;
	struct dir_user *u = NULL;
	struct dir_role *r;
	json_t *j, *list, *orgs;

	add_basics(f->s);
	r = add_role(f->s, UID1, "RBA", NURSE_CODE, NURSE_NAME);
	dir_role_free(r);
	r = add_role(f->s, UID1, "RBA", "S8000:G8000:R8000", "Clinical Practitioner Access Role");
	dir_role_free(r);
	assert_int_equal(add_user(f->s, UID2, "John", NULL, 0), 0);

	assert_int_equal(directory_user_get(&u, f->s, "mock", UID1), 0);
	j = dir_user_json(u);
	assert_non_null(j);
	assert_null(json_object_get(j, "password_hash"));
	assert_true(json_is_true(json_object_get(j, "has_password")));
	assert_true(json_is_null(json_object_get(j, "middle_names")));
	assert_string_equal(json_string_value(json_object_get(j, "email")), "jane.doe@nhs.net");
	assert_int_equal(json_integer_value(json_object_get(j, "id_assurance_level")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "roles")), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "roles"), 0), "org_name")),
	                    "Somerset NHS Foundation Trust");
	json_decref(j);

	orgs = dir_user_orgs_json(u);
	assert_int_equal(json_array_size(orgs), 1);
	j = json_pack("[{s:s, s:s}]", "org_code", "RBA", "org_name",
	              "Somerset NHS Foundation Trust");
	assert_true(json_equal(orgs, j));
	json_decref(j);
	json_decref(orgs);
	dir_user_free(u);

	assert_int_equal(directory_user_list(&list, f->s, "mock"), 0);
	j = json_pack("[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:n, s:i}]", "uid", UID1, "display_name",
	              "Jane Doe", "email", "jane.doe@nhs.net", "roles", 2, "uid", UID2,
	              "display_name", "John Doe", "email", "roles", 0);
	assert_true(json_equal(list, j));
	json_decref(j);
	json_decref(list);

	assert_int_equal(directory_user_list(&list, f->s, "dep"), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void test_set_password(void **state)
{
	struct fx *f = *state;
	struct dir_user *u = NULL;

	add_basics(f->s);
	assert_int_equal(directory_user_set_password(f->s, "mock", UID1, "new secret"), 0);
	assert_int_equal(directory_user_get(&u, f->s, "mock", UID1), 0);
	assert_int_equal(password_verify(u->password_hash, "new secret"), 0);
	assert_int_equal(password_verify(u->password_hash, "correct horse"), CAREID_EDENIED);
	dir_user_free(u);
	assert_int_equal(directory_user_set_password(f->s, "mock", UID1, NULL), 0);
	assert_int_equal(directory_user_get(&u, f->s, "mock", UID1), 0);
	assert_null(u->password_hash);
	dir_user_free(u);
	assert_int_equal(directory_user_set_password(f->s, "mock", UID2, "x"), CAREID_ENOTFOUND);
}

static void test_seed_demo(void **state)
{
	struct fx *f = *state;
	struct dir_user *u = NULL;
	json_t *report = NULL, *orgs, *want, *list;
	const struct dir_role *r;

	assert_int_equal(directory_seed_demo(f->s, &report), 0);
	assert_true(json_is_true(json_object_get(report, "seeded")));
	want = json_pack("[s,s]", "mock", "int");
	assert_true(json_equal(json_object_get(report, "envs"), want));
	json_decref(want);
	assert_string_equal(json_string_value(json_object_get(report, "password")), "careid-demo");
	assert_true(json_array_size(json_object_get(report, "users")) >= 8);
	json_decref(report);

	/* a second call leaves the data alone */
	assert_int_equal(directory_seed_demo(f->s, &report), 0);
	assert_true(json_is_false(json_object_get(report, "seeded")));
	/* the report still lists the demo set, so `serve --demo` can print it */
	assert_true(json_array_size(json_object_get(report, "users")) >= 8);
	json_decref(report);
	assert_int_equal(directory_seed_demo(f->s, NULL), 0);

	for (int e = 0; e < 2; e++) {
		const char *env = e ? "int" : "mock";

		assert_int_equal(directory_user_list(&list, f->s, env), 0);
		assert_true(json_array_size(list) >= 8);
		json_decref(list);

		assert_int_equal(directory_user_get(&u, f->s, env, "910000000001"), 0);
		assert_int_equal(u->nroles, 3);
		/* fixed ids, in the order they were added */
		r = role_by_id(u, "555254240100");
		assert_non_null(r);
		assert_string_equal(r->org_code, "RBA");
		assert_string_equal(r->person_orgid, "555254239107");
		assert_string_equal(r->role_code, "S8000:G8000:R8001");
		r = role_by_id(u, "555254242102");
		assert_non_null(r);
		assert_string_equal(r->person_orgid, "555254239107");
		r = role_by_id(u, "555254241101");
		assert_non_null(r);
		assert_string_equal(r->org_code, "A81001");
		assert_string_not_equal(r->person_orgid, "555254239107");
		orgs = dir_user_orgs_json(u);
		assert_int_equal(json_array_size(orgs), 2);
		json_decref(orgs);
		assert_int_equal(password_verify(u->password_hash, DIRECTORY_DEMO_PASSWORD), 0);
		dir_user_free(u);

		for (const char *const *uid =
		         (const char *const[]){"656005750108", "656005750107", "656005750104",
		                               "656005750111", "656005750109", NULL};
		     *uid; uid++) {
			assert_int_equal(directory_user_get(&u, f->s, env, *uid), 0);
			assert_true(u->nroles >= 1);
			assert_non_null(u->email);
			assert_int_equal(password_verify(u->password_hash, DIRECTORY_DEMO_PASSWORD),
			                 0);
			dir_user_free(u);
		}
	}
	assert_int_equal(directory_user_get(&u, f->s, "mock", "656005750108"), 0);
	assert_string_equal(u->roles[0].role_code, "S0010:G0020:R0260");
	dir_user_free(u);
	assert_int_equal(directory_user_get(&u, f->s, "mock", "656005750107"), 0);
	assert_true(strstr(u->roles[0].role_code, ":R8000") != NULL);
	dir_user_free(u);
	assert_int_equal(directory_user_get(&u, f->s, "mock", "656005750104"), 0);
	assert_true(strstr(u->roles[0].role_code, ":R8008") != NULL);
	dir_user_free(u);
	/* sign-in by e-mail works for demo users */
	assert_int_equal(directory_user_find_login(&u, f->s, "int", "Daniel.Hughes@nhs.net"), 0);
	assert_string_equal(u->uid, "910000000001");
	dir_user_free(u);
}

static void test_seed_demo_skips_used_mock(void **state)
{
	struct fx *f = *state;
	json_t *report = NULL, *list = NULL;

	assert_int_equal(add_user(f->s, UID1, "Jane", NULL, 0), 0);
	assert_int_equal(directory_seed_demo(f->s, &report), 0);
	assert_true(json_is_false(json_object_get(report, "seeded")));
	json_decref(report);
	assert_int_equal(directory_user_list(&list, f->s, "int"), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_add_and_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_without_password_or_extras, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_find_login, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_user, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_org_and_role, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_role_not_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_person_orgid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nrbac_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_json_and_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seed_demo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seed_demo_skips_used_mock, setup, teardown),
	};

	if (crypto_init())
		return 1;
	return cmocka_run_group_tests_name("directory", tests, NULL, NULL);
}
