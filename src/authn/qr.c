/* QR codes as SVG: see qr.h. */
#include "authn/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"

#define QR_QUIET   4       /* modules of light margin on each side */
#define QR_PX      4       /* default pixels per module */
#define QR_SVG_MAX 1048576 /* a version 40 symbol needs about 300 KB at worst */

/* One subpath per horizontal run of dark modules, rows top to bottom. */
CAREID_MUST_USE static int qr_path(struct buf *b, const QRcode *qr)
{
	int rc = 0;

	for (int y = 0; y < qr->width && rc == 0; y++) {
		const unsigned char *row = qr->data + (size_t)y * (size_t)qr->width;

		for (int x = 0; x < qr->width && rc == 0;) {
			int run = 0;

			while (x + run < qr->width && (row[x + run] & 1))
				run++;
			if (run == 0) {
				x++;
				continue;
			}
			rc =
			    buf_printf(b, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, run, run);
			x += run;
		}
	}
	return rc;
}

int qr_svg(char **out, const char *text)
{
	size_t len = text ? strlen(text) : 0;
	QRcode *qr = NULL;
	struct buf b;
	int rc, n;

	*out = NULL;
	if (len == 0)
		return careid_error_set(CAREID_EINVALID, "nothing to encode in a QR code");
	if (len > QR_TEXT_MAX)
		return careid_error_set(CAREID_ETOOBIG, "%zu bytes are too many for a QR code",
		                        len);
	errno = 0;
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr) {
		if (errno == ENOMEM)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		if (errno == ERANGE)
			return careid_error_set(CAREID_ETOOBIG,
			                        "%zu bytes are too many for a QR code", len);
		return careid_error_set(CAREID_EINVALID, "QR code: %s", strerror(errno));
	}
	n = qr->width + 2 * QR_QUIET;
	buf_init(&b, QR_SVG_MAX);
	if ((rc = buf_printf(
	         &b,
	         "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	         "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"QR code\" "
	         "shape-rendering=\"crispEdges\">"
	         "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	         n, n, n * QR_PX, n * QR_PX, n, n)) < 0 ||
	    (rc = qr_path(&b, qr)) < 0 || (rc = buf_puts(&b, "\"/></svg>")) < 0)
		goto out;
	*out = buf_detach(&b, NULL);
out:
	buf_release(&b);
	QRcode_free(qr);
	return rc;
}
