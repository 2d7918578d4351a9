/* A growing, always NUL-terminated byte buffer. */
#ifndef KIST_BUF_H
#define KIST_BUF_H

#include <stddef.h>
#include <string.h>

/* Zero-initialise ({ 0 }). A failed allocation is remembered: later appends
 * do nothing and fail too, so a caller building text may check once, at the
 * end. p stays NULL until the first append. */
struct kist_buf {
	char *p;
	size_t len, cap;
	int failed;
};

/* Room for n more bytes (and the NUL) without another allocation; 0, or
 * -1 when out of memory (now or before). */
int kist_buf_reserve(struct kist_buf *b, size_t n);

/* Appends s[0..n); 0, or -1 when out of memory (now or before). Inline:
 * text is built from many short pieces. */
static inline int kist_buf_add(struct kist_buf *b, const void *s, size_t n)
{
	if (b->failed || n >= b->cap - b->len) {
		if (kist_buf_reserve(b, n) < 0)
			return -1;
	}
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static inline int kist_buf_adds(struct kist_buf *b, const char *s)
{
	return kist_buf_add(b, s, strlen(s));
}
void kist_buf_free(struct kist_buf *b);

#endif
