#include "crypto/password.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/error.h"

#define PASSWORD_OPSLIMIT 2ULL
#define PASSWORD_MEMLIMIT ((size_t)19 * 1024 * 1024)
#define PASSWORD_PREFIX   "$argon2id$"
/* Bounds on the parameters of a stored hash we agree to verify, so that a
 * planted hash cannot make one sign-in take seconds and gigabytes. */
#define PASSWORD_STORED_MAX_T   16
#define PASSWORD_STORED_MAX_KIB (256UL * 1024)
#define PASSWORD_DUMMY_INPUT    "careid dummy password"

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "PHC string size");

/*
 * The one piece of process-wide mutable state in careid outside a lock-owning
 * module: a counting semaphore bounding concurrent argon2id runs. Each run
 * holds 19 MiB, and the bound must hold across every thread that hashes, so it
 * cannot live in a per-request context; the counter is its own lock. It is
 * made on first use through pthread_once, so no start-up order is needed.
 */
static sem_t password_sem;
static int password_sem_ok;
static pthread_once_t password_sem_once = PTHREAD_ONCE_INIT;

/* A hash of a fixed input, made once, that password_verify_dummy() checks
 * against so that an unknown user costs one real verification. */
static char password_dummy_hash[PASSWORD_HASH_MAX];
static pthread_once_t password_dummy_once = PTHREAD_ONCE_INIT;

static void password_sem_init(void)
{
	password_sem_ok = sem_init(&password_sem, 0, PASSWORD_MAX_CONCURRENT) == 0;
}

static int password_slot_take(void)
{
	pthread_once(&password_sem_once, password_sem_init);
	if (!password_sem_ok)
		return careid_error_set(CAREID_ECRYPTO, "password semaphore unavailable");
	while (sem_wait(&password_sem) != 0) {
		if (errno != EINTR)
			return careid_error_set(CAREID_ECRYPTO, "password semaphore wait failed");
	}
	return 0;
}

static void password_slot_give(void)
{
	sem_post(&password_sem);
}

static int password_check_len(const char *password, size_t *len_out)
{
	size_t len;

	if (!password)
		return careid_error_set(CAREID_EINVALID, "no password");
	len = strnlen(password, PASSWORD_MAX_LEN + 1);
	if (len == 0 || len > PASSWORD_MAX_LEN)
		return careid_error_set(CAREID_EINVALID, "password must be 1 to %d bytes",
		                        PASSWORD_MAX_LEN);
	*len_out = len;
	return 0;
}

int password_hash(char out[PASSWORD_HASH_MAX], const char *password)
{
	size_t len = 0;
	int rc;

	rc = password_check_len(password, &len);
	if (rc)
		return rc;
	rc = password_slot_take();
	if (rc)
		return rc;
	if (crypto_pwhash_str_alg(out, password, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0)
		rc = careid_error_set(CAREID_ENOMEM, "argon2id could not allocate its memory");
	password_slot_give();
	return rc;
}

/* Reads "<name>=<digits>" at *p; the value must be 1..max. */
static int parse_param(const char **p, const char *name, unsigned long max, unsigned long *v)
{
	size_t nlen = strlen(name);
	const char *s = *p;
	unsigned long n = 0;
	int digits = 0;

	if (strncmp(s, name, nlen) != 0 || s[nlen] != '=')
		return -1;
	s += nlen + 1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > max || ++digits > 10)
			return -1;
		s++;
	}
	if (digits == 0 || n == 0)
		return -1;
	*v = n;
	*p = s;
	return 0;
}

/* True when `stored` is "$argon2id$v=19$m=M,t=T,p=1$…" with bounded M and T. */
static bool password_stored_ok(const char *stored)
{
	const char *p = stored + strlen(PASSWORD_PREFIX);
	unsigned long v, m, t, par;

	if (parse_param(&p, "v", 19, &v) || v != 19 || *p++ != '$')
		return false;
	if (parse_param(&p, "m", PASSWORD_STORED_MAX_KIB, &m) || *p++ != ',')
		return false;
	if (parse_param(&p, "t", PASSWORD_STORED_MAX_T, &t) || *p++ != ',')
		return false;
	if (parse_param(&p, "p", 1, &par) || *p != '$')
		return false;
	/* Everything else (salt, hash, lengths) is checked by libsodium:
	 * needs_rehash() returns -1 for a string it cannot decode. */
	return crypto_pwhash_str_needs_rehash(stored, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT) >= 0;
}

int password_verify(const char *stored, const char *password)
{
	size_t len = 0;
	int rc;

	if (!stored || strnlen(stored, PASSWORD_HASH_MAX) >= PASSWORD_HASH_MAX ||
	    strncmp(stored, PASSWORD_PREFIX, strlen(PASSWORD_PREFIX)) != 0 ||
	    !password_stored_ok(stored))
		return careid_error_set(CAREID_EINVALID, "stored password hash not understood");
	if (password_check_len(password, &len) != 0)
		return careid_error_set(CAREID_EDENIED, "password does not match");
	rc = password_slot_take();
	if (rc)
		return rc;
	if (crypto_pwhash_str_verify(stored, password, len) == 0)
		rc = 0;
	else
		rc = careid_error_set(CAREID_EDENIED, "password does not match");
	password_slot_give();
	return rc;
}

static void password_dummy_init(void)
{
	if (password_hash(password_dummy_hash, PASSWORD_DUMMY_INPUT) != 0)
		password_dummy_hash[0] = '\0';
}

void password_verify_dummy(const char *password)
{
	pthread_once(&password_dummy_once, password_dummy_init);
	if (password_dummy_hash[0] == '\0') {
		/* Could not make the hash (out of memory): still spend the time. */
		char scratch[PASSWORD_HASH_MAX];

		(void)password_hash(scratch, PASSWORD_DUMMY_INPUT);
		return;
	}
	(void)password_verify(password_dummy_hash, password ? password : "");
	careid_error_clear();
}
