/* A growing, always NUL-terminated byte buffer. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kist/buf.h>

int kist_buf_reserve(struct kist_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->failed)
		return -1;
	if (n >= SIZE_MAX / 4 - b->len) {   /* the doubling below would overflow */
		b->failed = 1;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (!(p = realloc(b->p, cap))) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void kist_buf_free(struct kist_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}
