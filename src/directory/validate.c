#include "directory/directory_int.h"

#include <ctype.h>
#include <string.h>

#include "core/env.h"
#include "core/error.h"

int dir_check_env(const char *env)
{
	if (!env || !*env)
		return careid_error_set(CAREID_EINVALID,
		                        "an environment is required (mock, int, dep, live)");
	if (!env_valid(env))
		return careid_error_set(CAREID_EINVALID,
		                        "unknown environment '%.32s' (mock, int, dep, live)", env);
	return 0;
}

bool dir_is_digits(const char *s, size_t n)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[n] == '\0';
}

int dir_check_id(const char *id, const char *what)
{
	if (!id || !*id)
		return careid_error_set(CAREID_EINVALID, "%s is required", what);
	if (!dir_is_digits(id, DIR_UID_LEN))
		return careid_error_set(CAREID_EINVALID, "%s must be %d digits", what, DIR_UID_LEN);
	return 0;
}

/*
 * Length in bytes of the UTF-8 sequence at `p` and its code point, or 0 when
 * it is malformed: the same rules jansson applies (no overlong forms, no
 * surrogates, nothing above U+10FFFF), so whatever passes can become JSON.
 */
static size_t utf8_next(const unsigned char *p, unsigned long *cp)
{
	size_t n, i;
	unsigned long c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int dir_check_text(const char *s, const char *what, size_t maxchars, bool required)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
	bool blank = true;

	if (!s)
		return required ? careid_error_set(CAREID_EINVALID, "%s is required", what) : 0;
	while (*p) {
		unsigned long cp;
		size_t n = utf8_next(p, &cp);

		if (!n)
			return careid_error_set(CAREID_EINVALID, "%s is not valid UTF-8 text",
			                        what);
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return careid_error_set(CAREID_EINVALID, "%s contains a control character",
			                        what);
		if (cp != ' ')
			blank = false;
		p += n;
		if (++chars > maxchars)
			return careid_error_set(CAREID_EINVALID, "%s must be 1 to %zu characters",
			                        what, maxchars);
	}
	if (blank)
		return careid_error_set(CAREID_EINVALID, "%s must not be empty", what);
	return 0;
}

static bool email_local_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !strchr("\"(),:;<>[\\]@", c);
}

int dir_norm_email(char out[DIR_EMAIL_MAX + 1], const char *email)
{
	const char *at, *label, *p;
	size_t len, i, labels = 0;

	if (!email || !*email)
		return careid_error_set(CAREID_EINVALID, "e-mail address is required");
	len = strlen(email);
	if (len > DIR_EMAIL_MAX)
		return careid_error_set(CAREID_EINVALID, "e-mail address must be at most %d bytes",
		                        DIR_EMAIL_MAX);
	at = strchr(email, '@');
	if (!at || at == email || at - email > 64)
		goto bad;
	for (p = email; p < at; p++)
		if (!email_local_char((unsigned char)*p))
			goto bad;
	/* domain: dot-separated labels of letters, digits and inner hyphens */
	label = at + 1;
	for (;;) {
		size_t n = strcspn(label, ".");

		if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			goto bad;
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)label[i]) && label[i] != '-')
				goto bad;
		labels++;
		if (label[n] == '\0')
			break;
		label += n + 1;
	}
	if (labels < 2)
		goto bad;
	for (i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)email[i]);
	return 0;
bad:
	return careid_error_set(CAREID_EINVALID,
	                        "e-mail address '%.64s' does not look like name@domain.tld", email);
}

int dir_norm_ods(char out[DIR_ODS_MAX + 1], const char *code)
{
	size_t i, n;

	if (!code || !*code)
		return careid_error_set(CAREID_EINVALID, "an organisation (ODS) code is required");
	n = strlen(code);
	if (n < 3 || n > DIR_ODS_MAX)
		goto bad;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)code[i]))
			goto bad;
		out[i] = (char)toupper((unsigned char)code[i]);
	}
	out[n] = '\0';
	return 0;
bad:
	return careid_error_set(
	    CAREID_EINVALID,
	    "ODS code '%.16s' must be 3 to 6 letters and digits (e.g. RBA, A81001)", code);
}

/* Reads `letter` and 1..8 digits at *p; advances *p. */
static bool code_part(const char **p, char letter)
{
	size_t n = 0;

	if (**p != letter)
		return false;
	(*p)++;
	while (**p >= '0' && **p <= '9' && n < 9) {
		(*p)++;
		n++;
	}
	return n >= 1 && n <= 8;
}

int dir_check_role_code(const char *code)
{
	const char *p = code;

	if (!code || !*code)
		return careid_error_set(CAREID_EINVALID, "a role code is required");
	if (code_part(&p, 'S') && *p++ == ':' && code_part(&p, 'G') && *p++ == ':' &&
	    code_part(&p, 'R') && *p == '\0')
		return 0;
	return careid_error_set(CAREID_EINVALID,
	                        "role code '%.32s' must look like S8000:G8000:R8001", code);
}

int dir_check_activity_code(const char *code)
{
	if (code && code[0] == 'B' && dir_is_digits(code + 1, 4))
		return 0;
	return careid_error_set(CAREID_EINVALID,
	                        "activity code '%.32s' must be B and 4 digits (e.g. B0401)",
	                        code ? code : "");
}

int dir_check_list_code(const char *code, const char *what)
{
	size_t n;

	if (!code)
		return careid_error_set(CAREID_EINVALID, "a %s code is required", what);
	n = strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-");
	if (n == 0 || n > DIR_CODE_MAX || code[n] != '\0')
		return careid_error_set(CAREID_EINVALID,
		                        "%s code '%.32s' must be 1 to %d letters, digits or ':._-'",
		                        what, code, DIR_CODE_MAX);
	return 0;
}
