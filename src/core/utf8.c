#include "core/utf8.h"

#include <string.h>

size_t utf8_trim_partial(char *s)
{
	size_t n = strlen(s), lead = n, cont = 0;
	unsigned char c;
	size_t want;

	/* the start of the last character: at most 3 continuation bytes back */
	while (lead > 0 && cont < 4 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80) {
		lead--;
		cont++;
	}
	if (lead == 0)
		return n;
	c = (unsigned char)s[lead - 1];
	want = c < 0x80             ? 0
	       : (c & 0xe0) == 0xc0 ? 1
	       : (c & 0xf0) == 0xe0 ? 2
	       : (c & 0xf8) == 0xf0 ? 3
	                            : cont;
	if (c >= 0x80 && cont < want) { /* the lead byte is there, not all its bytes */
		s[lead - 1] = '\0';
		return lead - 1;
	}
	return n;
}
