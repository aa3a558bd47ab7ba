/*
 * Replays a corpus through a libFuzzer entry point, so that `ctest` runs every
 * fuzz target over its saved inputs without clang's libFuzzer. Arguments are
 * directories (every regular file in them, sorted by name) or files. Exits
 * non-zero when no input was found; a crash or sanitizer report fails it too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: %s: cannot size\n", path);
		fclose(f);
		return -1;
	}
	/* an exact-size copy, so that reads past the end are caught */
	data = malloc(size ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in `dir`; returns how many, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **paths = NULL;
	size_t n = 0, cap = 0;
	long ran = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		struct stat st;
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = malloc(len);
		if (!p)
			break;
		snprintf(p, len, "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(p);
			continue;
		}
		if (n == cap) {
			char **np = realloc(paths, (cap ? cap * 2 : 64) * sizeof(*paths));

			if (!np) {
				free(p);
				break;
			}
			paths = np;
			cap = cap ? cap * 2 : 64;
		}
		paths[n++] = p;
	}
	closedir(d);
	if (n)
		qsort(paths, n, sizeof(*paths), by_name);
	for (size_t i = 0; i < n; i++) {
		if (ran >= 0 && run_file(paths[i]) == 0)
			ran++;
		else
			ran = -1;
		free(paths[i]);
	}
	free(paths);
	return ran;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replay: %ld input%s ran\n", total, total == 1 ? "" : "s");
	if (total == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return 0;
}
