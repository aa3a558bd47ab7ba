/*
 * tests for src/crypto/pkcs11.c against a real SoftHSM v2 token (Debian
 * softhsm2, installed by scripts/install-deps): a card's key made on the
 * token and certified by a careid CA, its certificate stored and read back,
 * signatures that verify with the certificate, the key that never leaves the
 * token, a card replacing the one before, removal, and the errors.
 *
 * Each test makes its own token in a temporary token directory
 * (SOFTHSM2_CONF names a configuration whose directories.tokendir is it).
 * The key's attributes are checked through p11-kit directly, as a second
 * application on the same token would see them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "core/error.h"
#include "crypto/pkcs11.h"
#include "crypto/random.h"
#include "crypto/x509.h"

#define NOW        1767225600LL /* 2026-01-01T00:00:00Z */
#define DAY        86400LL
#define PIN        "123456"
#define SO_PIN     "87654321"
#define CARD_LABEL "careid smartcard"

static const char *const MODULES[] = {
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
};

static const char SIGNED[] = "careid-smartcard-v1\nhttp://localhost:8080\nabcdefghijklmnop";

struct fx {
	char dir[512];
	const char *module;
	char *ca_cert, *ca_key;
};

/* Runs argv[0] (from PATH) with standard output silenced; its exit status. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void init_token(const char *label)
{
	char *argv[] = {
	    "softhsm2-util", "--init-token", "--free", "--label", (char *)label, "--pin", PIN,
	    "--so-pin",      SO_PIN,         NULL};

	assert_int_equal(run(argv), 0);
}

static void delete_token(const char *label)
{
	char *argv[] = {"softhsm2-util", "--delete-token", "--token", (char *)label, NULL};

	assert_int_equal(run(argv), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("CAREID_TEST_TMP");
	struct fx *f = calloc(1, sizeof(*f));
	char path[600];
	FILE *conf;

	if (!f || crypto_init())
		return -1;
	for (size_t i = 0; i < sizeof(MODULES) / sizeof(MODULES[0]) && !f->module; i++)
		if (access(MODULES[i], R_OK) == 0)
			f->module = MODULES[i];
	if (!f->module) {
		fprintf(stderr,
		        "setup: no SoftHSM module (scripts/install-deps installs softhsm2)\n");
		return -1;
	}
	if (!tmp)
		tmp = "/tmp";
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/pkcs11-XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/tokens", f->dir);
	if (mkdir(path, 0700))
		return -1;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", f->dir);
	conf = fopen(path, "w");
	if (!conf)
		return -1;
	fprintf(conf,
	        "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	        "log.level = ERROR\nslots.removable = false\n",
	        f->dir);
	fclose(conf);
	setenv("SOFTHSM2_CONF", path, 1);
	if (x509_ca_create(&f->ca_cert, &f->ca_key, "int", NOW)) {
		fprintf(stderr, "setup: %s\n", careid_error_last()->message);
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

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->ca_cert);
	free(f->ca_key);
	free(f);
	return 0;
}

/* A session on the token labelled `label`, logged in. */
static pkcs11 *open_token(struct fx *f, const char *label, int flags)
{
	char serial[PKCS11_SERIAL_MAX];
	pkcs11 *p = NULL;

	assert_int_equal(pkcs11_new(&p, f->module), 0);
	assert_int_equal(pkcs11_token_find(p, label, serial), 0);
	assert_int_equal(strlen(serial), 16);
	assert_int_equal(pkcs11_token_login(p, PIN, flags), 0);
	assert_true(pkcs11_token_present(p));
	return p;
}

/*
 * What `careid card issue --pkcs11-module` does: a key on the token, its
 * certificate from the CA, stored next to it. `*der` (the certificate) is
 * the caller's.
 */
static void issue_on(struct fx *f, pkcs11 *p, uint8_t **der, size_t *der_len,
                     struct x509_info *info)
{
	struct x509_card_new req = {
	    .env = "int",
	    .display_name = "Sam Patel",
	    .uid = "912345678901",
	    .not_before = NOW - DAY,
	    .not_after = NOW + 365 * DAY,
	};
	struct pkcs11_rsa_public pub;
	struct x509_rsa_public key;
	uint8_t subject[X509_NAME_DER_MAX];
	size_t subject_len = 0;
	x509_cert *cert = NULL;

	assert_int_equal(pkcs11_card_generate(p, &pub, CARD_LABEL), 0);
	assert_int_equal(pub.n_len, 256); /* RSA-2048 */
	assert_true(pub.n[0] & 0x80);
	assert_int_equal(pub.e_len, 3);
	assert_memory_equal(pub.e, "\x01\x00\x01", 3);
	key = (struct x509_rsa_public){pub.n, pub.n_len, pub.e, pub.e_len};
	assert_int_equal(x509_card_certify(der, der_len, info, f->ca_cert, f->ca_key, &req, &key),
	                 0);
	assert_int_equal(x509_cert_from_der(&cert, *der, *der_len), 0);
	assert_int_equal(x509_cert_subject_der(cert, subject, sizeof(subject), &subject_len), 0);
	assert_int_equal(pkcs11_card_store_cert(p, *der, *der_len, subject, subject_len), 0);
	x509_cert_free(cert);
}

static void sign_and_verify(pkcs11 *p, const x509_cert *cert)
{
	uint8_t sig[PKCS11_SIG_MAX];
	size_t sig_len = 0;

	assert_int_equal(pkcs11_card_sign(p, sig, sizeof(sig), &sig_len, SIGNED, strlen(SIGNED)),
	                 0);
	assert_int_equal(sig_len, 256);
	assert_int_equal(
	    x509_cert_verify_signature(cert, "RS256", sig, sig_len, SIGNED, strlen(SIGNED)), 0);
	/* the signature is over these bytes and no others */
	assert_int_equal(
	    x509_cert_verify_signature(cert, "RS256", sig, sig_len, SIGNED, strlen(SIGNED) - 1),
	    CAREID_EDENIED);
}

static void test_card_on_token(void **state)
{
	struct fx *f = *state;
	uint8_t *der = NULL, *back = NULL;
	size_t der_len = 0, back_len = 0;
	struct x509_info info;
	x509_cert *cert = NULL;
	pkcs11 *p;

	init_token("card-a");
	p = open_token(f, "card-a", PKCS11_RW);
	issue_on(f, p, &der, &der_len, &info);
	assert_string_equal(info.uid, "912345678901");
	assert_string_equal(info.subject,
	                    "serialNumber=912345678901,CN=Sam Patel,OU=int,O=careid test CA");
	/* the certificate on the token is the one issued; it chains to the CA */
	assert_int_equal(pkcs11_card_cert(p, &back, &back_len), 0);
	assert_int_equal(back_len, der_len);
	assert_memory_equal(back, der, der_len);
	assert_int_equal(x509_cert_from_der(&cert, back, back_len), 0);
	assert_int_equal(x509_cert_verify(cert, f->ca_cert, NULL, NOW), 0);
	sign_and_verify(p, cert);
	pkcs11_free(p);
	free(back);
	back = NULL;

	/* another application (the agent) finds the card by its label, read-only */
	p = open_token(f, "card-a", 0);
	assert_int_equal(pkcs11_card_find(p, CARD_LABEL), 0);
	assert_int_equal(pkcs11_card_cert(p, &back, &back_len), 0);
	assert_int_equal(back_len, der_len);
	assert_memory_equal(back, der, der_len);
	sign_and_verify(p, cert);
	/* a read-only session writes nothing */
	{
		struct pkcs11_rsa_public pub;

		assert_int_not_equal(pkcs11_card_generate(p, &pub, CARD_LABEL), 0);
	}
	pkcs11_free(p);
	x509_cert_free(cert);
	free(back);
	free(der);
}

/* p11-kit directly, as another application on the token: the card's three
 * objects, and a private key that cannot be read out. */
static void test_key_stays_on_token(void **state)
{
	struct fx *f = *state;
	CK_FUNCTION_LIST *m = p11_kit_module_load(f->module, 0);
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE label_t[] = {{CKA_LABEL, CARD_LABEL, strlen(CARD_LABEL)}};
	CK_ATTRIBUTE priv_t[] = {{CKA_CLASS, &priv, sizeof(priv)},
	                         {CKA_LABEL, CARD_LABEL, strlen(CARD_LABEL)}};
	CK_BBOOL sensitive = CK_FALSE, extractable = CK_TRUE, private = CK_FALSE;
	CK_BBOOL never_extractable = CK_FALSE, sign = CK_FALSE, decrypt = CK_TRUE;
	CK_ATTRIBUTE flags[] = {
	    {CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
	    {CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
	    {CKA_PRIVATE, &private, sizeof(private)},
	    {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof(never_extractable)},
	    {CKA_SIGN, &sign, sizeof(sign)},
	    {CKA_DECRYPT, &decrypt, sizeof(decrypt)},
	};
	uint8_t secret[1024], id[3][64];
	CK_ATTRIBUTE exponent = {CKA_PRIVATE_EXPONENT, secret, sizeof(secret)};
	CK_SLOT_ID slots[64];
	CK_ULONG nslots = 64, n = 0;
	CK_OBJECT_HANDLE objs[8];
	CK_SESSION_HANDLE s;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot = 0;
	uint8_t *der = NULL;
	size_t der_len = 0;
	struct x509_info info;
	pkcs11 *p;

	init_token("card-b");
	p = open_token(f, "card-b", PKCS11_RW);
	issue_on(f, p, &der, &der_len, &info);
	pkcs11_free(p);
	free(der);

	assert_non_null(m);
	assert_int_equal(m->C_Initialize(&args), CKR_OK);
	assert_int_equal(m->C_GetSlotList(CK_TRUE, slots, &nslots), CKR_OK);
	for (CK_ULONG i = 0; i < nslots; i++)
		if (m->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, "card-b ", 7) == 0)
			slot = slots[i];
	assert_int_not_equal(slot, 0);
	assert_int_equal(m->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
	assert_int_equal(m->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN)), CKR_OK);
	/* public key, private key, certificate: one label, one CKA_ID */
	assert_int_equal(m->C_FindObjectsInit(s, label_t, 1), CKR_OK);
	assert_int_equal(m->C_FindObjects(s, objs, 8, &n), CKR_OK);
	assert_int_equal(m->C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(n, 3);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_ATTRIBUTE a = {CKA_ID, id[i], sizeof(id[i])};

		assert_int_equal(m->C_GetAttributeValue(s, objs[i], &a, 1), CKR_OK);
		assert_int_equal(a.ulValueLen, 16);
		assert_memory_equal(id[i], id[0], 16);
	}
	assert_int_equal(m->C_FindObjectsInit(s, priv_t, 2), CKR_OK);
	assert_int_equal(m->C_FindObjects(s, objs, 8, &n), CKR_OK);
	assert_int_equal(m->C_FindObjectsFinal(s), CKR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(m->C_GetAttributeValue(s, objs[0], flags, 6), CKR_OK);
	assert_true(sensitive);
	assert_false(extractable);
	assert_true(private);
	assert_true(never_extractable);
	assert_true(sign);
	assert_false(decrypt);
	assert_int_equal(m->C_GetAttributeValue(s, objs[0], &exponent, 1), CKR_ATTRIBUTE_SENSITIVE);
	m->C_Logout(s);
	m->C_CloseSession(s);
	m->C_Finalize(NULL);
	p11_kit_module_release(m);
}

/* Issuing again onto a token replaces its card: one card, the new one. */
static void test_card_replaced(void **state)
{
	struct fx *f = *state;
	uint8_t *first = NULL, *second = NULL, *back = NULL;
	size_t first_len = 0, second_len = 0, back_len = 0;
	struct x509_info info1, info2;
	pkcs11 *p;

	init_token("card-c");
	p = open_token(f, "card-c", PKCS11_RW);
	issue_on(f, p, &first, &first_len, &info1);
	issue_on(f, p, &second, &second_len, &info2);
	assert_string_not_equal(info1.serial, info2.serial);
	pkcs11_free(p);

	p = open_token(f, "card-c", 0);
	assert_int_equal(pkcs11_card_find(p, CARD_LABEL), 0);
	assert_int_equal(pkcs11_card_cert(p, &back, &back_len), 0);
	assert_int_equal(back_len, second_len);
	assert_memory_equal(back, second, second_len);
	pkcs11_free(p);
	free(first);
	free(second);
	free(back);

	/* a card given up half-way (key made, never certified) leaves nothing behind */
	{
		struct pkcs11_rsa_public pub;

		p = open_token(f, "card-c", PKCS11_RW);
		assert_int_equal(pkcs11_card_generate(p, &pub, CARD_LABEL), 0);
		assert_int_equal(pkcs11_card_destroy(p), 0);
		assert_int_equal(pkcs11_card_find(p, CARD_LABEL), 0); /* still exactly one */
		pkcs11_free(p);
	}
}

/* The token deleted under a running session is gone; a new one of the same
 * label is seen (the module is initialised again) and told apart. */
static void test_removal(void **state)
{
	struct fx *f = *state;
	char serial1[PKCS11_SERIAL_MAX], serial2[PKCS11_SERIAL_MAX];
	uint8_t sig[PKCS11_SIG_MAX], *der = NULL;
	size_t sig_len = 0, der_len = 0;
	struct x509_info info;
	pkcs11 *p = NULL;

	init_token("card-d");
	assert_int_equal(pkcs11_new(&p, f->module), 0);
	assert_int_equal(pkcs11_token_find(p, "card-d", serial1), 0);
	assert_int_equal(pkcs11_token_login(p, PIN, PKCS11_RW), 0);
	issue_on(f, p, &der, &der_len, &info);
	assert_true(pkcs11_token_present(p));

	delete_token("card-d");
	assert_false(pkcs11_token_present(p));
	assert_int_equal(pkcs11_card_sign(p, sig, sizeof(sig), &sig_len, "x", 1), CAREID_ENOTFOUND);
	assert_int_equal(pkcs11_token_find(p, "card-d", NULL), CAREID_ENOTFOUND);
	assert_false(pkcs11_token_present(p));

	init_token("card-d");
	assert_int_equal(pkcs11_token_find(p, "card-d", serial2), 0);
	assert_string_not_equal(serial1, serial2);
	assert_true(pkcs11_token_present(p));
	assert_int_equal(pkcs11_token_login(p, PIN, 0), 0);
	assert_int_equal(pkcs11_card_find(p, CARD_LABEL), CAREID_ENOTFOUND); /* a blank card */
	assert_non_null(strstr(careid_error_last()->message, "holds no smartcard"));
	pkcs11_free(p);
	free(der);
}

/* After pkcs11_forget() the module is read again: a token made anew under
 * the same label (as `careid card issue` does) is seen as it is now. */
static void test_forget(void **state)
{
	struct fx *f = *state;
	char serial1[PKCS11_SERIAL_MAX], serial2[PKCS11_SERIAL_MAX];
	pkcs11 *p = NULL;

	init_token("card-f");
	assert_int_equal(pkcs11_new(&p, f->module), 0);
	assert_int_equal(pkcs11_token_find(p, "card-f", serial1), 0);
	delete_token("card-f");
	init_token("card-f");
	pkcs11_forget(p);
	assert_int_equal(pkcs11_token_find(p, "card-f", serial2), 0);
	assert_string_not_equal(serial1, serial2);
	assert_int_equal(pkcs11_token_login(p, PIN, 0), 0);
	pkcs11_forget(NULL); /* harmless */
	pkcs11_free(p);
	delete_token("card-f");
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	char path[600], long_label[PKCS11_LABEL_MAX + 2];
	uint8_t sig[PKCS11_SIG_MAX], *der = NULL;
	size_t sig_len = 0, der_len = 0;
	struct pkcs11_rsa_public pub;
	pkcs11 *p = NULL;
	FILE *junk;

	/* the module */
	assert_int_equal(pkcs11_new(&p, "/nonexistent/libsofthsm2.so"), CAREID_ENOTFOUND);
	assert_null(p);
	assert_non_null(strstr(careid_error_last()->message, "no PKCS#11 module at"));
	snprintf(path, sizeof(path), "%s/not-a-module.so", f->dir);
	junk = fopen(path, "w");
	assert_non_null(junk);
	fputs("not a shared object\n", junk);
	fclose(junk);
	assert_int_equal(pkcs11_new(&p, path), CAREID_EINVALID);
	assert_null(p);
	assert_int_equal(pkcs11_new(&p, ""), CAREID_EINVALID);

	init_token("card-e");
	assert_int_equal(pkcs11_new(&p, f->module), 0);
	/* nothing before a token is picked and logged in to */
	assert_false(pkcs11_token_present(p));
	assert_int_equal(pkcs11_token_login(p, PIN, 0), CAREID_EINVALID);
	assert_int_equal(pkcs11_card_generate(p, &pub, CARD_LABEL), CAREID_EINVALID);
	assert_int_equal(pkcs11_card_sign(p, sig, sizeof(sig), &sig_len, "x", 1), CAREID_EINVALID);
	assert_int_equal(pkcs11_card_cert(p, &der, &der_len), CAREID_EINVALID);
	/* labels */
	assert_int_equal(pkcs11_token_find(p, "no such token", NULL), CAREID_ENOTFOUND);
	assert_string_equal(careid_error_last()->message, "no token labelled 'no such token'");
	memset(long_label, 'x', sizeof(long_label) - 1);
	long_label[sizeof(long_label) - 1] = '\0';
	assert_int_equal(pkcs11_token_find(p, long_label, NULL), CAREID_EINVALID);
	assert_int_equal(pkcs11_token_find(p, "", NULL), CAREID_EINVALID);
	assert_int_equal(pkcs11_token_find(p, "card-", NULL), CAREID_ENOTFOUND); /* no prefix */
	/* the PIN */
	assert_int_equal(pkcs11_token_find(p, "card-e", NULL), 0);
	assert_int_equal(pkcs11_token_login(p, "654321", 0), CAREID_EDENIED);
	assert_string_equal(careid_error_last()->message, "wrong PIN for token 'card-e'");
	assert_int_equal(pkcs11_card_find(p, CARD_LABEL), CAREID_EINVALID); /* not logged in */
	assert_int_equal(pkcs11_token_login(p, PIN, 0), 0);
	/* a token without a card */
	assert_int_equal(pkcs11_card_find(p, CARD_LABEL), CAREID_ENOTFOUND);
	assert_int_equal(pkcs11_card_sign(p, sig, sizeof(sig), &sig_len, "x", 1), CAREID_EINVALID);
	/* caps */
	assert_int_equal(pkcs11_token_login(p, PIN, PKCS11_RW), 0);
	assert_int_equal(pkcs11_card_generate(p, &pub, CARD_LABEL), 0);
	assert_int_equal(pkcs11_card_sign(p, sig, PKCS11_SIG_MAX - 1, &sig_len, "x", 1),
	                 CAREID_EINVALID);
	{
		uint8_t *big = calloc(1, PKCS11_DATA_MAX + 1);

		assert_non_null(big);
		assert_int_equal(
		    pkcs11_card_sign(p, sig, sizeof(sig), &sig_len, big, PKCS11_DATA_MAX + 1),
		    CAREID_ETOOBIG);
		assert_int_equal(pkcs11_card_store_cert(p, big, PKCS11_CERT_MAX + 1, "s", 1),
		                 CAREID_EINVALID);
		free(big);
	}
	assert_int_equal(pkcs11_card_destroy(p), 0);
	pkcs11_free(p);
	pkcs11_free(NULL);
}

/* x509_card_certify() takes RSA keys of 2048 bits and more only. */
static void test_certify_refuses(void **state)
{
	struct fx *f = *state;
	struct x509_card_new req = {
	    .env = "int",
	    .display_name = "Sam Patel",
	    .uid = "912345678901",
	    .not_before = NOW - DAY,
	    .not_after = NOW + 365 * DAY,
	};
	uint8_t n[256], e[3] = {0x01, 0x00, 0x01}, even[1] = {4};
	struct x509_rsa_public key = {n, sizeof(n), e, sizeof(e)};
	uint8_t *der = NULL;
	size_t der_len = 0;

	crypto_random_bytes(n, sizeof(n));
	n[0] = 0x7f; /* 2047 bits */
	n[255] |= 1;
	assert_int_equal(x509_card_certify(&der, &der_len, NULL, f->ca_cert, f->ca_key, &req, &key),
	                 CAREID_EINVALID);
	n[0] = 0xc1;
	key.e = even;
	key.e_len = 1;
	assert_int_equal(x509_card_certify(&der, &der_len, NULL, f->ca_cert, f->ca_key, &req, &key),
	                 CAREID_EINVALID);
	assert_int_equal(x509_card_certify(&der, &der_len, NULL, f->ca_cert, f->ca_key, &req, NULL),
	                 CAREID_EINVALID);
	key.e = e;
	key.e_len = sizeof(e);
	req.uid = "";
	assert_int_equal(x509_card_certify(&der, &der_len, NULL, f->ca_cert, f->ca_key, &req, &key),
	                 CAREID_EINVALID);
	assert_null(der);
	/* a well-formed modulus is certified (no private key needed) */
	req.uid = "912345678901";
	assert_int_equal(x509_card_certify(&der, &der_len, NULL, f->ca_cert, f->ca_key, &req, &key),
	                 0);
	assert_true(der_len > 0 && der_len <= X509_DER_MAX);
	free(der);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_card_on_token),   cmocka_unit_test(test_key_stays_on_token),
	    cmocka_unit_test(test_card_replaced),   cmocka_unit_test(test_removal),
	    cmocka_unit_test(test_forget),          cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_certify_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
