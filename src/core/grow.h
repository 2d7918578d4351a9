/* Private to libkist: growing arrays by doubling. */
#ifndef KIST_CORE_GROW_H
#define KIST_CORE_GROW_H

#include <stdint.h>
#include <stdlib.h>

/* Makes room for one more element in *items (count used, *cap allocated,
 * elem bytes each), doubling from first. Returns 0, or -1 when out of memory
 * (the array is left as it was). */
static inline int kist_grow(void *items, size_t count, size_t *cap, size_t elem, size_t first)
{
	void **p = items;
	size_t n;
	void *grown;

	if (count < *cap)
		return 0;
	n = *cap ? *cap * 2 : first;
	if (n < *cap || n > SIZE_MAX / elem)
		return -1;
	if (!(grown = realloc(*p, n * elem)))
		return -1;
	*p = grown;
	*cap = n;
	return 0;
}

#endif
