/*
 * careid-hashcost: the CPU time of one password verification as careid does it
 * (crypto/password.c: argon2id through libsodium at careid's parameters), for
 * bench/run's scenario E, whose target is a sign-in with a password costing no
 * more than 1.1 x this. Prints one JSON object: the parameters read back from
 * the hash careid made, and CPU milliseconds per verification (this process's
 * own CPU clock, single-threaded, the median of the rounds).
 *
 * Usage: careid-hashcost [ROUNDS]   (default 21)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/password.h"
#include "crypto/random.h"

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	char stored[PASSWORD_HASH_MAX];
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 21;
	unsigned long m = 0, t = 0, p = 0;
	double *ms;

	if (rounds < 1 || rounds > 1000 || crypto_init() != 0) {
		fprintf(stderr, "usage: careid-hashcost [ROUNDS 1..1000]\n");
		return 2;
	}
	if (password_hash(stored, "careid bench password")) {
		fprintf(stderr, "careid-hashcost: password_hash failed\n");
		return 1;
	}
	if (sscanf(stored, "$argon2id$v=19$m=%lu,t=%lu,p=%lu$", &m, &t, &p) != 3) {
		fprintf(stderr, "careid-hashcost: unexpected hash %.40s\n", stored);
		return 1;
	}
	ms = calloc((size_t)rounds, sizeof(*ms));
	if (!ms)
		return 1;
	for (long i = 0; i < rounds; i++) {
		double t0 = cpu_ms();

		if (password_verify(stored, "careid bench password") != 0) {
			fprintf(stderr, "careid-hashcost: password_verify failed\n");
			free(ms);
			return 1;
		}
		ms[i] = cpu_ms() - t0;
	}
	qsort(ms, (size_t)rounds, sizeof(*ms), cmp_double);
	printf("{\"algorithm\": \"argon2id\", \"m_kib\": %lu, \"t\": %lu, \"p\": %lu, "
	       "\"rounds\": %ld, \"cpu_ms_per_verify\": %.3f, \"min_ms\": %.3f}\n",
	       m, t, p, rounds,
	       rounds % 2 ? ms[rounds / 2] : (ms[rounds / 2 - 1] + ms[rounds / 2]) / 2, ms[0]);
	free(ms);
	return 0;
}
