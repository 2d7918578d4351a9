/* The one-pass scan of a file's head for signature keys.
 *
 * A key is a literal of m >= 2 bytes every match of its signature has in the
 * head, starting in [key_min, key_limit) (signature.c chooses it). Any
 * occurrence of it covers m - 1 consecutive pairs of bytes, so samples taken
 * every S <= m - 1 offsets land on one of its first S pairs: a sample whose
 * pair is among those says where the key may start, and only there is the
 * key compared. Keys with short lengths or far reaches set S for the part
 * of the head they can start in, so the head is cut into stages, each with
 * the largest step its keys allow and a table of the pairs they may show at
 * a sample. The stages are built once, at load. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "formats.h"

static int is_keyed(const struct ksig *s)
{
	return s->fixed_prefilter < 0 && s->key;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The largest step the keys starting somewhere in [from, to) allow, 0 if none. */
static size_t step_for(const struct kist_identifier *id, uint64_t from, uint64_t to)
{
	size_t step = 0;

	for (size_t i = 0; i < id->nsigs; i++) {
		const struct ksig *s = &id->sigs[i];

		if (is_keyed(s) && s->key_min < to && s->key_limit > from && (!step || s->keylen - 1 < step))
			step = s->keylen - 1;
	}
	return step;
}

int kscan_build(struct kist_identifier *id)
{
	uint64_t *cut = malloc((2 * id->nsigs + 2) * sizeof(*cut));
	size_t ncut = 0, n = 0;

	if (!cut)
		return -1;
	/* where the set of keys that can start changes */
	cut[ncut++] = 0;
	for (size_t i = 0; i < id->nsigs; i++)
		if (is_keyed(&id->sigs[i])) {
			cut[ncut++] = id->sigs[i].key_min;
			cut[ncut++] = id->sigs[i].key_limit;
		}
	qsort(cut, ncut, sizeof(*cut), cmp_u64);
	if (!(id->stages = calloc(ncut, sizeof(*id->stages)))) {
		free(cut);
		return -1;
	}
	for (size_t c = 0; c < ncut; c++) {
		uint64_t from = cut[c], to = c + 1 < ncut ? cut[c + 1] : UINT64_MAX;
		size_t step;

		if (from == to || from == UINT64_MAX)
			continue;
		step = step_for(id, from, to);
		if (n && id->stages[n - 1].step == step && id->stages[n - 1].to == from)
			id->stages[n - 1].to = to;   /* the same step goes on */
		else
			id->stages[n++] = (struct kstage){ .from = from, .to = to, .step = step };
	}
	free(cut);
	/* drop the stages no key can start in; the pairs of the others */
	size_t kept = 0;

	for (size_t k = 0; k < n; k++) {
		struct kstage *st = &id->stages[k];

		if (!st->step)
			continue;
		if (!(st->bits = calloc(1024, sizeof(*st->bits))))
			goto fail;
		for (size_t i = 0; i < id->nsigs; i++) {
			const struct ksig *s = &id->sigs[i];

			if (!is_keyed(s) || s->key_min >= st->to || s->key_limit <= st->from)
				continue;
			for (size_t j = 0; j < st->step; j++) {
				size_t pair = kpair(s->key + j);

				st->bits[pair >> 6] |= (uint64_t)1 << (pair & 63);
			}
		}
		id->stages[kept++] = *st;
	}
	id->nstages = kept;
	return 0;
fail:
	for (size_t k = 0; k < kept; k++)
		free(id->stages[k].bits);
	free(id->stages);
	id->stages = NULL;
	id->nstages = 0;
	return -1;
}

void kscan_free(struct kist_identifier *id)
{
	for (size_t k = 0; k < id->nstages; k++)
		free(id->stages[k].bits);
	free(id->stages);
	id->stages = NULL;
	id->nstages = 0;
}

static inline int has_pair(const uint64_t *bits, const unsigned char *at)
{
	size_t pair = kpair(at);

	return (bits[pair >> 6] >> (pair & 63)) & 1;
}

/* The sample at q: the key starts it may belong to, in [from, to). */
static void sample_hit(const struct kist_identifier *id, const struct kstage *st, const unsigned char *head,
		       size_t q, void (*found)(void *arg, size_t p), void *arg)
{
	for (size_t j = 0; j < st->step && j <= q; j++) {
		size_t p = q - j;

		if (p >= st->from && p < st->to && has_pair(id->scan_bits, head + p))
			found(arg, p);
	}
}

void kscan_run(const struct kist_identifier *id, const unsigned char *head, size_t len,
	       void (*found)(void *arg, size_t p), void *arg)
{
	if (len < 2)
		return;
	for (size_t k = 0; k < id->nstages; k++) {
		const struct kstage *st = &id->stages[k];
		size_t S = st->step, q = (size_t)st->from, end;

		if (st->from >= len - 1)
			break;
		/* samples up to S - 1 past the stage catch the keys that start
		 * near its end; a pair needs q + 1 < len */
		end = st->to >= len - 1 || st->to + S - 1 >= len - 1 ? len - 1 : (size_t)(st->to + S - 1);
		for (; q + 3 * S < end; q += 4 * S)
			if (has_pair(st->bits, head + q) | has_pair(st->bits, head + q + S) |
			    has_pair(st->bits, head + q + 2 * S) | has_pair(st->bits, head + q + 3 * S))
				for (size_t r = 0; r < 4; r++)
					if (has_pair(st->bits, head + q + r * S))
						sample_hit(id, st, head, q + r * S, found, arg);
		for (; q < end; q += S)
			if (has_pair(st->bits, head + q))
				sample_hit(id, st, head, q, found, arg);
	}
}
