/*
 * QR codes as SVG, for enrolling an authenticator app (the otpauth:// URI of
 * totp_uri()). The only user of libqrencode.
 *
 * The symbol uses error correction level M and the smallest version that
 * fits; libqrencode chooses the modes (8-bit, with runs of digits or of
 * uppercase letters packed tighter). The SVG is self-contained and safe
 * under a strict CSP (no style attribute or element, no script):
 *
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 N N" width="4N" height="4N"
 *    role="img" aria-label="QR code" shape-rendering="crispEdges">
 *   <rect width="N" height="N" fill="#fff"/><path fill="#000" d="…"/></svg>
 *
 * N is the symbol's width plus a 4-module quiet zone on each side; one module
 * is one user unit, drawn 4 px wide by default (CSS may resize it: keep it
 * square). The white rectangle keeps the quiet zone light on a dark page. The
 * output depends only on the text (no randomness, no time): the same text
 * always gives the same bytes. Callable from any thread.
 */
#ifndef CAREID_AUTHN_QR_H
#define CAREID_AUTHN_QR_H

#define QR_TEXT_MAX 4096 /* bytes accepted at all; a version 40-M symbol holds 2331 */

/*
 * The SVG of a QR code of `text` (1 to QR_TEXT_MAX bytes) into `*out`, NUL-terminated;
 * free() it. CAREID_EINVALID for empty text, CAREID_ETOOBIG when the text is
 * longer than QR_TEXT_MAX or does not fit a QR code (about 2331 bytes),
 * CAREID_ENOMEM.
 */
int qr_svg(char **out, const char *text);

#endif
