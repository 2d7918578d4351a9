/* Guards: a few bytes a subsequence pins at fixed distances from its anchor,
 * tested before the backtracking matcher runs.
 *
 * Most places a subsequence could start (or end) in a 64 KiB window cannot
 * hold it: a search for its anchor's first byte finds one every few hundred
 * bytes of ordinary data, and the matcher then fails a few bytes further on.
 * At load, the first positions of the anchor followed by its right fragments
 * (from BOF and floating: matched forward from the anchor's start), or of the
 * anchor followed by its left fragments (from EOF: matched backward from the
 * anchor's end), give for each distance the set of bytes any match must have
 * there, as long as nothing of variable length comes first. The guard keeps
 * the most selective of these sets. Every match has those bytes, so a
 * position that lacks one is skipped without changing any result. */
#include <config.h>

#include <string.h>

#include "formats.h"

#define PROFILE_MAX 16   /* positions looked at */

typedef unsigned char byteset[32];

static void set_add(unsigned char *set, unsigned b)
{
	set[b >> 3] |= (unsigned char)(1u << (b & 7));
}

static int set_count(const unsigned char *set)
{
	static const unsigned char nibble[16] = { 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 };
	int n = 0;

	for (int i = 0; i < 32; i++)
		n += nibble[set[i] & 15] + nibble[set[i] >> 4];
	return n;
}

/* Fills prof[n..] with the bytes p allows at its next positions (in
 * direction dir, +1 from its start, -1 from its end); returns the new n.
 * *whole stays 1 only if p is consumed to its end at a fixed length, so that
 * what follows it can go on at the returned n. */
static size_t profile(const struct kpat *p, int dir, byteset *prof, size_t n, int *whole)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct kpat_elem *e = &p->e[dir > 0 ? i : p->n - 1 - i];

		switch (e->type) {
		case KP_LIT:
		case KP_NOTSEQ:
			for (uint32_t j = 0; j < e->len; j++, n++) {
				if (n == PROFILE_MAX)
					goto cut;
				memset(prof[n], e->type == KP_LIT ? 0 : 0xFF, 32);
				if (e->type == KP_LIT)
					set_add(prof[n], e->bytes[dir > 0 ? j : e->len - 1 - j]);
			}
			break;
		case KP_SET:
			if (n == PROFILE_MAX)
				goto cut;
			memcpy(prof[n++], e->set, 32);
			break;
		case KP_GAP:
			if (e->min != e->max)
				goto cut;
			for (uint32_t j = 0; j < e->min; j++, n++) {
				if (n == PROFILE_MAX)
					goto cut;
				memset(prof[n], 0xFF, 32);
			}
			break;
		case KP_ALT: {
			/* the union of the alternatives, as far as all pin theirs;
			 * on after it only if all have that same fixed length */
			byteset alt[PROFILE_MAX];   /* 512 bytes a level; the parser allows 16 */
			size_t upto = PROFILE_MAX, len0 = 0;
			int all_whole = e->nalts > 0;

			memset(prof + n, 0, (PROFILE_MAX - n) * sizeof(*prof));
			for (size_t a = 0; a < e->nalts; a++) {
				int w = 1;
				size_t m = profile(&e->alts[a], dir, alt, n, &w);

				for (size_t k = n; k < m; k++)
					for (int b = 0; b < 32; b++)
						prof[k][b] |= alt[k][b];
				if (m < upto)
					upto = m;
				if (a == 0)
					len0 = m;
				all_whole &= w && m == len0;
			}
			if (!e->nalts)
				goto cut;
			n = upto;
			if (!all_whole)
				goto cut;
			break;
		}
		}
	}
	return n;
cut:
	*whole = 0;
	return n;
}

void kguard_build(struct kguard *g, const struct kpat *first, const struct kpat *then, int dir)
{
	byteset prof[PROFILE_MAX];
	int whole = 1, count[PROFILE_MAX];
	size_t n;

	memset(g, 0, sizeof(*g));
	g->scan = -1;
	n = profile(first, dir, prof, 0, &whole);
	if (whole)
		n = profile(then, dir, prof, n, &whole);
	for (size_t k = 0; k < n; k++)
		count[k] = set_count(prof[k]);
	/* the most selective positions, the nearest first among equals */
	while (g->n < KGUARD_MAX) {
		size_t best = n;

		for (size_t k = 0; k < n; k++)
			if (count[k] < 256 && (best == n || count[k] < count[best]))
				best = k;
		if (best == n)
			break;
		g->off[g->n] = (uint16_t)best;
		memcpy(g->set[g->n], prof[best], 32);
		if (count[best] == 1 && (g->scan < 0 || best < g->off[g->scan])) {
			g->scan = g->n;
			for (unsigned b = 0; b < 256; b++)
				if (prof[best][b >> 3] & (1u << (b & 7)))
					g->byte = (unsigned char)b;
		}
		count[best] = 256;
		g->n++;
	}
}

/* 1: the guard holds for the anchor at pos; 0: it does not; -1: a guarded
 * byte falls outside the buffer, here and at every position further on. */
static int holds_forward(const struct kguard *g, const unsigned char *buf, size_t len, uint64_t pos)
{
	for (int k = 0; k < g->n; k++) {
		uint64_t at = pos + g->off[k];
		unsigned b;

		if (at >= len)
			return -1;
		b = buf[at];
		if (!(g->set[k][b >> 3] & (1u << (b & 7))))
			return 0;
	}
	return 1;
}

static int holds_backward(const struct kguard *g, const unsigned char *buf, uint64_t end)
{
	for (int k = 0; k < g->n; k++) {
		unsigned b;

		if (end < (uint64_t)g->off[k] + 1)
			return -1;
		b = buf[end - 1 - g->off[k]];
		if (!(g->set[k][b >> 3] & (1u << (b & 7))))
			return 0;
	}
	return 1;
}

int kguard_next(const struct kguard *g, const unsigned char *buf, size_t len, uint64_t *pos, uint64_t hi)
{
	for (uint64_t p = *pos; p <= hi; p++) {
		int r;

		if (g->scan >= 0) {
			uint64_t at = p + g->off[g->scan], n;
			const unsigned char *q;

			if (at >= len)
				return 0;
			n = hi - p + 1 < len - at ? hi - p + 1 : len - at;
			if (!(q = memchr(buf + at, g->byte, (size_t)n)))
				return 0;
			p = (uint64_t)(q - buf) - g->off[g->scan];
		}
		if ((r = holds_forward(g, buf, len, p)) < 0)
			return 0;
		if (r) {
			*pos = p;
			return 1;
		}
	}
	return 0;
}

int kguard_prev(const struct kguard *g, const unsigned char *buf, uint64_t *end, uint64_t lo)
{
	for (uint64_t e = *end; e >= lo && e <= *end; e--) {
		int r;

		if (g->scan >= 0) {
			uint64_t off = g->off[g->scan], from;
			const unsigned char *q;

			if (e < off + 1)
				return 0;
			/* the scanned byte of the ends e..lo: at e-1-off down to lo-1-off */
			from = lo >= off + 1 ? lo - 1 - off : 0;
			if (!(q = memrchr(buf + from, g->byte, (size_t)(e - 1 - off - from + 1))))
				return 0;
			e = (uint64_t)(q - buf) + 1 + off;
		}
		if ((r = holds_backward(g, buf, e)) < 0)
			return 0;
		if (r) {
			*end = e;
			return 1;
		}
		if (e == 0)
			break;
	}
	return 0;
}
