/* tests for src/authn/qr.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/qr.h"
#include "core/error.h"

#define URI                                                                                        \
	"otpauth://totp/careid%20%28int%29:555000000001?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"   \
	"&issuer=careid%20%28int%29&algorithm=SHA1&digits=6&period=30"

#define HEAD "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "

/*
 * Reads the SVG back: the size N of the viewBox and, from the one path, the
 * dark modules into grid[y * N + x] (returned; free() it). Fails the test on
 * anything but the exact shape qr_svg() promises.
 */
static unsigned char *parse_svg(const char *svg, int *n_out)
{
	const char *p, *end;
	unsigned char *grid;
	int n, n2, w, h, rn, rn2, used = 0;

	assert_int_equal(strncmp(svg, HEAD, strlen(HEAD)), 0);
	assert_int_equal(sscanf(svg + strlen(HEAD), "%d %d\" width=\"%d\" height=\"%d\"%n", &n, &n2,
	                        &w, &h, &used),
	                 4);
	assert_int_equal(n, n2);
	assert_int_equal(w, 4 * n);
	assert_int_equal(h, 4 * n);
	/* Versions 1 to 40 are 21 to 177 modules wide, plus 4 each side. */
	assert_true(n >= 29 && n <= 185 && (n - 8 - 17) % 4 == 0);
	p = svg + strlen(HEAD) + used;
	assert_int_equal(sscanf(p,
	                        " role=\"img\" aria-label=\"QR code\" "
	                        "shape-rendering=\"crispEdges\"><rect width=\"%d\" "
	                        "height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"%n",
	                        &rn, &rn2, &used),
	                 2);
	assert_int_equal(rn, n);
	assert_int_equal(rn2, n);
	assert_true(used > 0);
	p += used;
	end = strstr(p, "\"/></svg>");
	assert_non_null(end);
	assert_string_equal(end, "\"/></svg>");
	grid = calloc((size_t)n * (size_t)n, 1);
	assert_non_null(grid);
	while (p < end) {
		int x, y, run, back;

		used = 0;
		assert_int_equal(sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &back, &used), 4);
		assert_true(used > 0);
		assert_int_equal(run, back);
		assert_true(run >= 1);
		/* Inside the symbol: the quiet zone stays light. */
		assert_true(y >= 4 && y < n - 4 && x >= 4 && x + run <= n - 4);
		for (int i = 0; i < run; i++) {
			assert_int_equal(grid[y * n + x + i], 0);
			grid[y * n + x + i] = 1;
		}
		p += used;
	}
	assert_true(p == end);
	*n_out = n;
	return grid;
}

/* A finder pattern's 7x7 rings at (x, y): dark, light, 3x3 dark. */
static void assert_finder(const unsigned char *g, int n, int x0, int y0)
{
	for (int y = 0; y < 7; y++)
		for (int x = 0; x < 7; x++) {
			int ring = x < y ? x : y;
			int d;

			ring = ring < 6 - x ? ring : 6 - x;
			ring = ring < 6 - y ? ring : 6 - y;
			d = ring != 1;
			assert_int_equal(g[(y0 + y) * n + x0 + x], d);
		}
}

static void test_svg_shape(void **state)
{
	unsigned char *grid;
	char *svg = NULL;
	int n = 0, dark = 0;

	(void)state;
	assert_int_equal(qr_svg(&svg, URI), 0);
	assert_non_null(svg);
	/* Strict CSP: nothing inline to run or style. */
	assert_null(strstr(svg, "style"));
	assert_null(strstr(svg, "script"));
	assert_null(strstr(svg, " on"));
	assert_non_null(strstr(svg, "<path"));
	assert_null(strstr(strstr(svg, "<path") + 1, "<path"));

	grid = parse_svg(svg, &n);
	/* 146 bytes at level M: version 8 (152 bytes) at most. */
	assert_true(n - 8 <= 49);
	assert_finder(grid, n, 4, 4);
	assert_finder(grid, n, n - 11, 4);
	assert_finder(grid, n, 4, n - 11);
	for (int i = 0; i < n * n; i++)
		dark += grid[i];
	assert_true(dark > (n - 8) * (n - 8) / 4 && dark < (n - 8) * (n - 8) * 3 / 4);
	free(grid);
	free(svg);
}

static void test_deterministic(void **state)
{
	char *a = NULL, *b = NULL, *c = NULL;

	(void)state;
	assert_int_equal(qr_svg(&a, URI), 0);
	assert_int_equal(qr_svg(&b, URI), 0);
	assert_string_equal(a, b);
	assert_int_equal(qr_svg(&c, URI "x"), 0);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

static void test_sizes(void **state)
{
	char *text = malloc(QR_TEXT_MAX + 2), *svg = NULL;
	unsigned char *grid;
	int n = 0;

	(void)state;
	assert_non_null(text);
	/* One byte: version 1. */
	assert_int_equal(qr_svg(&svg, "a"), 0);
	grid = parse_svg(svg, &n);
	assert_int_equal(n, 21 + 8);
	free(grid);
	free(svg);

	/* 2000 bytes fit (version 40 at level M holds 2331), in 8-bit mode. */
	for (int i = 0; i < 2000; i++)
		text[i] = (char)(0x80 | (i * 37 % 127));
	text[2000] = '\0';
	assert_int_equal(qr_svg(&svg, text), 0);
	grid = parse_svg(svg, &n);
	assert_true(n - 8 >= 157);
	free(grid);
	free(svg);
	svg = NULL;

	/* Too long for any QR code at level M: a clean failure. */
	memset(text, 0xc3, 2400);
	text[2400] = '\0';
	assert_int_equal(qr_svg(&svg, text), CAREID_ETOOBIG);
	assert_null(svg);
	/* Over the cap: refused before encoding. */
	memset(text, 'a', QR_TEXT_MAX + 1);
	text[QR_TEXT_MAX + 1] = '\0';
	assert_int_equal(qr_svg(&svg, text), CAREID_ETOOBIG);
	assert_null(svg);

	assert_int_equal(qr_svg(&svg, ""), CAREID_EINVALID);
	assert_int_equal(qr_svg(&svg, NULL), CAREID_EINVALID);
	assert_null(svg);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svg_shape),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
