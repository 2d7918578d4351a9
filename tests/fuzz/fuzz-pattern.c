/* The byte-signature matcher: a PRONOM/DROID pattern (the input up to the
 * first NUL) searched for in the bytes after it, floating and anchored. */
#include "fuzz.h"

#include <kist/kist.h>
#include <kist/identify.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct kist_error err;
	size_t start, end, plen;
	char *pattern;

	if (!nul || (plen = (size_t)(nul - data)) > 4096)
		return 0;
	pattern = malloc(plen + 1);
	if (!pattern)
		abort();
	memcpy(pattern, data, plen);
	pattern[plen] = 0;
	kist_error_clear(&err);
	if (kist_pattern_search(pattern, nul + 1, size - plen - 1, 0, 0, &start, &end, &err) == 1) {
		if (start > end || end > size - plen - 1)
			abort();   /* a match outside the buffer */
	}
	kist_error_clear(&err);
	(void)kist_pattern_search(pattern, nul + 1, size - plen - 1, 0, 1, &start, &end, &err);
	free(pattern);
	return 0;
}
