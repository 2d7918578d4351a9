/* Byte patterns in PRONOM/DROID syntax, and the DROID byte-sequence matcher.
 *
 * Syntax (whitespace between tokens is ignored):
 *   4D5A          literal bytes, two hex digits each
 *   'text'        literal ASCII (container signatures)
 *   ??            any byte
 *   [aa:bb]       a byte in the range (also [aa-bb], ['a'-'z'])
 *   [!aa] [!aa:bb] a byte not in it; [!aabbcc] not this sequence of bytes
 *   [&aa] [~aa]   a byte with all / any of these bits set
 *   [aa bb:cc]    a union of the items
 *   (aa|bbcc|'x') alternatives
 *   {n} {n-m} {n-*} *   a gap of n, n to m, at least n, any number of bytes
 *
 * A DROID subsequence is a left part (its left fragments, matched backwards
 * from the anchor), the anchor (the <Sequence>) and a right part (its right
 * fragments); its SubSeqMinOffset/SubSeqMaxOffset bound where the whole
 * chain starts (BOF, floating) or ends (EOF) relative to the reference
 * point: the start or end of the file, or the end (start, for EOF) of the
 * previous subsequence. As in DROID, the maximum binds only the subsequence
 * matched first in a BOF or EOF sequence (signature.c drops it elsewhere). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"

#define MAX_DEPTH 16
#define MAX_PATTERN_TEXT (1u << 20)

/* --- building ---------------------------------------------------------------- */

static struct kpat_elem *push(struct kpat *p)
{
	struct kpat_elem *e = realloc(p->e, (p->n + 1) * sizeof(*e));

	if (!e)
		return NULL;
	p->e = e;
	e = &p->e[p->n++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void elem_free(struct kpat_elem *e)
{
	free(e->bytes);
	free(e->set);
	for (size_t i = 0; i < e->nalts; i++)
		kpat_free(&e->alts[i]);
	free(e->alts);
}

void kpat_free(struct kpat *p)
{
	for (size_t i = 0; i < p->n; i++)
		elem_free(&p->e[i]);
	free(p->e);
	memset(p, 0, sizeof(*p));
}

static int push_byte(struct kpat *p, unsigned char b)
{
	struct kpat_elem *e = p->n ? &p->e[p->n - 1] : NULL;
	unsigned char *nb;

	if (!e || e->type != KP_LIT) {
		if (!(e = push(p)))
			return -1;
		e->type = KP_LIT;
	}
	if (!(nb = realloc(e->bytes, e->len + 1)))
		return -1;
	e->bytes = nb;
	e->bytes[e->len++] = b;
	return 0;
}

int kpat_append_gap(struct kpat *p, uint32_t min, uint32_t max)
{
	struct kpat_elem *e;

	if (min == 0 && max == 0)
		return 0;
	if (!(e = push(p)))
		return -1;
	e->type = KP_GAP;
	e->min = min;
	e->max = max;
	return 0;
}

int kpat_append(struct kpat *dst, struct kpat *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct kpat_elem *e = push(dst);

		if (!e)
			return -1;
		*e = src->e[i];
	}
	free(src->e);
	memset(src, 0, sizeof(*src));
	return 0;
}

int kpat_append_alt(struct kpat *dst, struct kpat *alts, size_t nalts)
{
	struct kpat_elem *e = push(dst);

	if (!e)
		return -1;
	e->type = KP_ALT;
	e->alts = alts;
	e->nalts = nalts;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a == UINT64_MAX || b == UINT64_MAX || a + b < a ? UINT64_MAX : a + b;
}

void kpat_lengths(struct kpat *p)
{
	p->minlen = p->maxlen = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct kpat_elem *e = &p->e[i];
		uint64_t mn, mx;

		switch (e->type) {
		case KP_LIT:
		case KP_NOTSEQ: mn = mx = e->len; break;
		case KP_SET: mn = mx = 1; break;
		case KP_GAP:
			mn = e->min;
			mx = e->max == KPAT_INF ? UINT64_MAX : e->max;
			break;
		default:
			mn = UINT64_MAX;
			mx = 0;
			for (size_t a = 0; a < e->nalts; a++) {
				kpat_lengths(&e->alts[a]);
				if (e->alts[a].minlen < mn)
					mn = e->alts[a].minlen;
				if (e->alts[a].maxlen > mx)
					mx = e->alts[a].maxlen;
			}
			if (!e->nalts)
				mn = 0;
		}
		p->minlen = add_sat(p->minlen, mn);
		p->maxlen = add_sat(p->maxlen, mx);
	}
}

/* --- parsing ------------------------------------------------------------------ */

struct parser {
	const char *text, *s;
	struct kist_error *err;
};

static int perr(struct parser *ps, const char *what)
{
	return kist_error_set(ps->err, KIST_FAILED, "%s at column %zu of '%.60s%s'", what,
			      (size_t)(ps->s - ps->text) + 1, ps->text,
			      strlen(ps->text) > 60 ? "..." : "") ? -1 : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->s == ' ' || *ps->s == '\t' || *ps->s == '\n' || *ps->s == '\r')
		ps->s++;
}

/* One byte value: two hex digits, or a quoted single character. */
static int parse_value(struct parser *ps, int *v)
{
	if (ps->s[0] == '\'' && ps->s[1] && ps->s[2] == '\'') {
		*v = (unsigned char)ps->s[1];
		ps->s += 3;
		return 0;
	}
	if (hexval(ps->s[0]) >= 0 && hexval(ps->s[1]) >= 0) {
		*v = hexval(ps->s[0]) * 16 + hexval(ps->s[1]);
		ps->s += 2;
		return 0;
	}
	if (hexval(ps->s[0]) >= 0 && (!ps->s[1] || strchr(" \t\r\n[]()|{}*'?", ps->s[1]))) {
		ps->s++;
		return perr(ps, "odd number of hex digits");
	}
	if (hexval(ps->s[0]) >= 0)
		ps->s++;
	return perr(ps, "bad hex digit");
}

static int parse_number(struct parser *ps, uint32_t *v)
{
	uint64_t n = 0;

	if (*ps->s < '0' || *ps->s > '9')
		return perr(ps, "expected a number");
	while (*ps->s >= '0' && *ps->s <= '9') {
		n = n * 10 + (uint64_t)(*ps->s++ - '0');
		if (n > KPAT_MAX_OFFSET)
			return perr(ps, "gap too large");
	}
	*v = (uint32_t)n;
	return 0;
}

static int parse_gap(struct parser *ps, struct kpat *p)
{
	uint32_t min, max;

	ps->s++;   /* { */
	skip_ws(ps);
	if (parse_number(ps, &min) < 0)
		return -1;
	skip_ws(ps);
	max = min;
	if (*ps->s == '-') {
		ps->s++;
		skip_ws(ps);
		if (*ps->s == '*') {
			ps->s++;
			max = KPAT_INF;
		} else if (parse_number(ps, &max) < 0) {
			return -1;
		} else if (max < min) {
			return perr(ps, "gap maximum below its minimum");
		}
		skip_ws(ps);
	}
	if (*ps->s != '}')
		return perr(ps, "expected '}'");
	ps->s++;
	return kpat_append_gap(p, min, max) < 0 ? perr(ps, "out of memory") : 0;
}

static void set_range(unsigned char *set, int a, int b)
{
	if (a > b) {
		int t = a;

		a = b;
		b = t;
	}
	for (int v = a; v <= b; v++)
		set[v >> 3] |= (unsigned char)(1u << (v & 7));
}

static int parse_class(struct parser *ps, struct kpat *p)
{
	unsigned char set[32] = { 0 }, seq[256];
	size_t nseq = 0;
	int neg = 0, plain = 1, items = 0;
	struct kpat_elem *e;

	ps->s++;   /* [ */
	if (*ps->s == '!') {
		neg = 1;
		ps->s++;
	}
	for (;;) {
		int v, w;

		if (*ps->s == ' ' || *ps->s == '\t') {
			plain = 0;
			skip_ws(ps);
		}
		if (*ps->s == ']')
			break;
		if (!*ps->s)
			return perr(ps, "expected ']'");
		if (*ps->s == '&' || *ps->s == '~') {
			int all = *ps->s++ == '&';

			if (parse_value(ps, &v) < 0)
				return -1;
			for (int b = 0; b < 256; b++)
				if (all ? (b & v) == v : (b & v) != 0)
					set[b >> 3] |= (unsigned char)(1u << (b & 7));
			plain = 0;
			items++;
			continue;
		}
		if (ps->s[0] == '?' && ps->s[1] == '?') {
			ps->s += 2;
			set_range(set, 0, 255);
			plain = 0;
			items++;
			continue;
		}
		if (ps->s[0] == '\'')
			plain = 0;
		if (parse_value(ps, &v) < 0)
			return -1;
		items++;
		skip_ws(ps);
		if (*ps->s == ':' || *ps->s == '-') {
			ps->s++;
			skip_ws(ps);
			if (parse_value(ps, &w) < 0)
				return -1;
			set_range(set, v, w);
			plain = 0;
		} else {
			set_range(set, v, v);
			if (nseq < sizeof(seq))
				seq[nseq++] = (unsigned char)v;
			else
				plain = 0;
		}
	}
	ps->s++;   /* ] */
	if (!items)
		return perr(ps, "empty byte class");
	if (!(e = push(p)))
		return perr(ps, "out of memory");
	if (neg && plain && nseq > 1 && (size_t)items == nseq) {
		/* [!4001C8]: not this sequence of bytes */
		e->type = KP_NOTSEQ;
		e->len = (uint32_t)nseq;
		if (!(e->bytes = malloc(nseq)))
			return perr(ps, "out of memory");
		memcpy(e->bytes, seq, nseq);
		return 0;
	}
	e->type = KP_SET;
	if (!(e->set = malloc(32)))
		return perr(ps, "out of memory");
	for (int i = 0; i < 32; i++)
		e->set[i] = neg ? (unsigned char)~set[i] : set[i];
	return 0;
}

static int parse_seq(struct parser *ps, struct kpat *p, int depth);

static int parse_alt(struct parser *ps, struct kpat *p, int depth)
{
	struct kpat *alts = NULL;
	size_t n = 0;

	if (depth >= MAX_DEPTH)
		return perr(ps, "alternatives nested too deep");
	ps->s++;   /* ( */
	for (;;) {
		struct kpat *na = realloc(alts, (n + 1) * sizeof(*na));

		if (!na)
			goto oom;
		alts = na;
		memset(&alts[n], 0, sizeof(alts[n]));
		n++;
		skip_ws(ps);
		if (*ps->s == '|' || *ps->s == ')') {
			perr(ps, "empty alternative");
			goto fail;
		}
		/* an alternative of zero-length gaps ({0}) matches the empty string */
		if (parse_seq(ps, &alts[n - 1], depth + 1) < 0)
			goto fail;
		if (*ps->s == '|') {
			ps->s++;
			continue;
		}
		if (*ps->s == ')') {
			ps->s++;
			break;
		}
		perr(ps, "expected '|' or ')'");
		goto fail;
	}
	if (kpat_append_alt(p, alts, n) < 0)
		goto oom;
	return 0;
oom:
	perr(ps, "out of memory");
fail:
	for (size_t i = 0; i < n; i++)
		kpat_free(&alts[i]);
	free(alts);
	return -1;
}

static int parse_seq(struct parser *ps, struct kpat *p, int depth)
{
	for (;;) {
		skip_ws(ps);
		char c = *ps->s;

		if (!c || c == '|' || c == ')') {
			if (depth == 0 && c)
				return perr(ps, c == '|' ? "'|' outside parentheses" : "unmatched ')'");
			return 0;
		}
		if (c == '\'') {
			const char *q = strchr(ps->s + 1, '\'');

			if (!q)
				return perr(ps, "unterminated string");
			if (q == ps->s + 1)
				return perr(ps, "empty string");
			for (const char *t = ps->s + 1; t < q; t++)
				if (push_byte(p, (unsigned char)*t) < 0)
					return perr(ps, "out of memory");
			ps->s = q + 1;
		} else if (c == '?' && ps->s[1] == '?') {
			struct kpat_elem *e = push(p);

			ps->s += 2;
			if (!e || !(e->set = malloc(32)))
				return perr(ps, "out of memory");
			e->type = KP_SET;
			memset(e->set, 0xFF, 32);
		} else if (c == '*') {
			ps->s++;
			if (kpat_append_gap(p, 0, KPAT_INF) < 0)
				return perr(ps, "out of memory");
		} else if (c == '{') {
			if (parse_gap(ps, p) < 0)
				return -1;
		} else if (c == '[') {
			if (parse_class(ps, p) < 0)
				return -1;
		} else if (c == '(') {
			if (parse_alt(ps, p, depth) < 0)
				return -1;
		} else if (hexval(c) >= 0) {
			int v;

			if (parse_value(ps, &v) < 0)
				return -1;
			if (push_byte(p, (unsigned char)v) < 0)
				return perr(ps, "out of memory");
		} else {
			char what[48];

			snprintf(what, sizeof(what), (unsigned char)c >= 0x20 && (unsigned char)c < 0x7F
							     ? "unexpected '%c'"
							     : "unexpected byte 0x%02X",
				 (unsigned char)c);
			return perr(ps, what);
		}
	}
}

int kpat_parse(struct kpat *p, const char *text, struct kist_error *err)
{
	struct parser ps = { .text = text, .s = text, .err = err };

	memset(p, 0, sizeof(*p));
	if (strlen(text) > MAX_PATTERN_TEXT)
		return kist_error_set(err, KIST_FAILED, "pattern longer than %u characters",
				      MAX_PATTERN_TEXT) ? -1 : -1;
	if (parse_seq(&ps, p, 0) < 0) {
		kpat_free(p);
		return -1;
	}
	if (p->n == 0)
		return kist_error_set(err, KIST_FAILED, "empty pattern") ? -1 : -1;
	kpat_lengths(p);
	return 0;
}

/* --- matching ----------------------------------------------------------------- */

struct mctx {
	const unsigned char *buf;
	size_t len;
	int dir;
	uint64_t lo, hi;
	uint64_t *budget;
};

struct frame {
	const struct kpat *p;
	size_t i;
	const struct frame *next;
};

static inline const struct kpat_elem *elem_at(const struct kpat *p, size_t i, int dir)
{
	return dir > 0 ? &p->e[i] : &p->e[p->n - 1 - i];
}

static int64_t mrun(const struct mctx *c, const struct kpat *p, size_t i, const struct frame *k,
		    size_t pos)
{
	for (;;) {
		const struct kpat_elem *e;

		if (*c->budget == 0)
			return -1;
		(*c->budget)--;
		if (i == p->n) {
			if (!k)
				return pos >= c->lo && pos <= c->hi ? (int64_t)pos : -1;
			p = k->p;
			i = k->i;
			k = k->next;
			continue;
		}
		e = elem_at(p, i, c->dir);
		switch (e->type) {
		case KP_LIT:
		case KP_NOTSEQ: {
			int same;

			if (c->dir > 0) {
				if (e->len > c->len - pos)
					return -1;
				same = memcmp(c->buf + pos, e->bytes, e->len) == 0;
				pos += e->len;
			} else {
				if (e->len > pos)
					return -1;
				same = memcmp(c->buf + pos - e->len, e->bytes, e->len) == 0;
				pos -= e->len;
			}
			if (same != (e->type == KP_LIT))
				return -1;
			break;
		}
		case KP_SET: {
			unsigned b;

			if (c->dir > 0) {
				if (pos >= c->len)
					return -1;
				b = c->buf[pos++];
			} else {
				if (pos == 0)
					return -1;
				b = c->buf[--pos];
			}
			if (!(e->set[b >> 3] & (1u << (b & 7))))
				return -1;
			break;
		}
		case KP_GAP: {
			uint64_t room = c->dir > 0 ? c->len - pos : pos, max;
			const struct kpat_elem *nx = i + 1 < p->n ? elem_at(p, i + 1, c->dir) : NULL;

			if (e->min > room)
				return -1;
			max = e->max == KPAT_INF || e->max > room ? room : e->max;
			for (uint64_t g = e->min; g <= max; g++) {
				int64_t r;

				if (nx && nx->type == KP_LIT) {
					/* skip to where the next literal can start (end) */
					if (c->dir > 0) {
						uint64_t n = max - g + 1;
						const unsigned char *q;

						if (n > c->len - pos - g)
							n = c->len - pos - g;
						q = n ? memchr(c->buf + pos + g, nx->bytes[0], (size_t)n) : NULL;

						if (!q)
							return -1;
						g = (uint64_t)(q - (c->buf + pos));
					} else {
						const unsigned char *q = memrchr(c->buf, nx->bytes[nx->len - 1],
										 (size_t)(pos - g));

						if (!q || (uint64_t)(pos - (size_t)(q - c->buf) - 1) > max)
							return -1;
						g = pos - (uint64_t)(q - c->buf) - 1;
					}
				}
				r = mrun(c, p, i + 1, k, c->dir > 0 ? pos + g : pos - g);
				if (r >= 0)
					return r;
				if (*c->budget == 0)
					return -1;
			}
			return -1;
		}
		case KP_ALT: {
			struct frame f = { p, i + 1, k };

			for (size_t a = 0; a < e->nalts; a++) {
				int64_t r = mrun(c, &e->alts[a], 0, &f, pos);

				if (r >= 0)
					return r;
			}
			return -1;
		}
		}
		i++;
	}
}

int64_t kpat_match(const struct kpat *p, const unsigned char *buf, size_t len, size_t pos, int dir,
		   uint64_t lo, uint64_t hi, uint64_t *budget)
{
	struct mctx c = { buf, len, dir, lo, hi, budget };

	if (pos > len)
		return -1;
	return mrun(&c, p, 0, NULL, pos);
}

int kist_pattern_search(const char *pattern, const void *buf, size_t len, size_t from, int anchored,
			size_t *start, size_t *end, struct kist_error *err)
{
	struct kpat p;
	uint64_t budget = 1u << 22;
	int found = 0;

	if (kpat_parse(&p, pattern, err) < 0)
		return -1;
	for (size_t s = from; s <= len && !found; s++) {
		int64_t r = kpat_match(&p, buf, len, s, 1, 0, len, &budget);

		if (r >= 0) {
			*start = s;
			*end = (size_t)r;
			found = 1;
		}
		if (anchored)
			break;
	}
	kpat_free(&p);
	return found;
}

/* --- DROID subsequences and byte sequences ------------------------------------ */

#define SIG_BUDGET (1u << 22)

static uint64_t sub_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Forward: the chain starts in [ref+min, ref+max]. */
/* The nearest end of p matched forward from pos (DROID takes the right
 * fragments' end closest to the anchor, leaving the most room for the next
 * subsequence), or -1. */
static int64_t nearest_forward(const struct kpat *p, const unsigned char *buf, size_t len, size_t pos,
			       uint64_t *budget)
{
	uint64_t lo = pos + p->minlen, hi = p->maxlen == UINT64_MAX || p->maxlen > len - pos ? len : pos + p->maxlen;

	if (p->minlen > len - pos || kpat_match(p, buf, len, pos, 1, lo, hi, budget) < 0)
		return -1;   /* none at all: do not try each end */
	for (uint64_t e = lo; e <= hi && *budget; e++) {
		int64_t r = kpat_match(p, buf, len, pos, 1, e, e, budget);

		if (r >= 0)
			return r;
	}
	return -1;
}

/* The nearest start of p matched backwards from pos (from EOF, DROID takes
 * the left fragments' start closest to the anchor), or -1. */
static int64_t nearest_backward(const struct kpat *p, const unsigned char *buf, size_t len, size_t pos,
				uint64_t *budget)
{
	uint64_t hi, lo;

	if (p->minlen > pos || kpat_match(p, buf, len, pos, -1, 0, len, budget) < 0)
		return -1;
	hi = pos - p->minlen;
	lo = p->maxlen == UINT64_MAX || p->maxlen > pos ? 0 : pos - p->maxlen;
	for (uint64_t s = hi; s >= lo && s <= hi && *budget; s--) {
		int64_t r = kpat_match(p, buf, len, pos, -1, s, s, budget);

		if (r >= 0)
			return r;
		if (s == 0)
			break;
	}
	return -1;
}

static int sub_forward(const struct ksubseq *s, const unsigned char *buf, size_t len, uint64_t ref,
		       uint64_t *start, uint64_t *end, uint64_t *budget, int nearest)
{
	uint64_t lo = ref + s->min_off, hi, a_lo, a_hi;

	if (lo > len)
		return 0;
	hi = s->max_off == KPAT_INF ? len : sub_min(len, ref + s->max_off);
	a_lo = add_sat(lo, s->left.minlen);
	a_hi = s->left.maxlen == UINT64_MAX ? len : sub_min(len, add_sat(hi, s->left.maxlen));
	if (a_lo > len || s->anchor.minlen > len - a_lo)
		return 0;
	if (a_hi > len - s->anchor.minlen)
		a_hi = len - s->anchor.minlen;
	for (uint64_t a = a_lo; a <= a_hi; a++) {
		int64_t ae, re, ls;

		if (*budget == 0 || !kguard_next(&s->guard, buf, len, &a, a_hi))
			return 0;
		ae = kpat_match(&s->anchor, buf, len, (size_t)a, 1, 0, len, budget);
		if (ae < 0)
			continue;
		if (!s->right.n)
			re = ae;
		else if (nearest)
			re = nearest_forward(&s->right, buf, len, (size_t)ae, budget);
		else
			re = kpat_match(&s->right, buf, len, (size_t)ae, 1, 0, len, budget);
		if (re < 0)
			continue;
		if (s->left.n)
			ls = kpat_match(&s->left, buf, len, (size_t)a, -1, lo, hi, budget);
		else
			ls = a >= lo && a <= hi ? (int64_t)a : -1;
		if (ls < 0)
			continue;
		*start = (uint64_t)ls;
		*end = (uint64_t)re;
		return 1;
	}
	return 0;
}

/* Backward: the chain ends in [ref-max, ref-min]; the nearest first. */
static int sub_backward(const struct ksubseq *s, const unsigned char *buf, size_t len, uint64_t ref,
			uint64_t *start, uint64_t *end, uint64_t *budget, int nearest)
{
	uint64_t lo, hi, e_lo, e_hi;

	if (s->min_off > ref)
		return 0;
	hi = ref - s->min_off;
	lo = s->max_off == KPAT_INF || s->max_off > ref ? 0 : ref - s->max_off;
	if (s->right.minlen > hi)
		return 0;
	e_hi = hi - s->right.minlen;
	e_lo = s->right.maxlen == UINT64_MAX || s->right.maxlen > lo ? 0 : lo - s->right.maxlen;
	if (e_lo < s->anchor.minlen)
		e_lo = s->anchor.minlen;
	for (uint64_t e = e_hi; e >= e_lo && e <= e_hi; e--) {
		int64_t as, re, ls;

		if (*budget == 0 || !kguard_prev(&s->guard, buf, &e, e_lo))
			return 0;
		as = kpat_match(&s->anchor, buf, len, (size_t)e, -1, 0, len, budget);
		if (as >= 0) {
			if (s->right.n)
				re = kpat_match(&s->right, buf, len, (size_t)e, 1, lo, hi, budget);
			else
				re = e >= lo && e <= hi ? (int64_t)e : -1;
			if (re >= 0) {
				if (!s->left.n)
					ls = as;
				else if (nearest)
					ls = nearest_backward(&s->left, buf, len, (size_t)as, budget);
				else
					ls = kpat_match(&s->left, buf, len, (size_t)as, -1, 0, len, budget);
				if (ls >= 0) {
					*start = (uint64_t)ls;
					*end = (uint64_t)re;
					return 1;
				}
			}
		}
		if (e == 0)
			break;
	}
	return 0;
}

static int byteseq_match(const struct kbyteseq *bs, const struct kview *v, uint64_t *off,
			 uint64_t *end, uint64_t *budget)
{
	uint64_t s0 = 0, e0 = 0;

	if (bs->ref == REF_EOF) {
		uint64_t ref = v->taillen, base = v->size - v->taillen;

		for (size_t i = bs->nsubs; i-- > 0;) {
			uint64_t st, en;

			if (!sub_backward(&bs->subs[i], v->tail, v->taillen, ref, &st, &en, budget, i > 0))
				return 0;
			if (i == bs->nsubs - 1)
				e0 = en;
			s0 = st;
			ref = st;
		}
		*off = base + s0;
		*end = base + e0;
		return 1;
	}
	uint64_t ref = 0;

	for (size_t i = 0; i < bs->nsubs; i++) {
		uint64_t st, en;

		if (!sub_forward(&bs->subs[i], v->head, v->headlen, ref, &st, &en, budget, i + 1 < bs->nsubs))
			return 0;
		if (i == 0)
			s0 = st;
		e0 = en;
		ref = en;
	}
	*off = s0;
	*end = e0;
	return 1;
}

static int ksig_match_budget(const struct ksig *s, const struct kview *v, uint64_t *off, uint64_t *end,
			     uint64_t *budgetp);

int ksig_match(const struct ksig *s, const struct kview *v, uint64_t *off, uint64_t *end,
	       uint64_t *file_budget)
{
	uint64_t budget = *file_budget < SIG_BUDGET ? *file_budget : SIG_BUDGET, start = budget;
	int r = ksig_match_budget(s, v, off, end, &budget);

	*file_budget -= start - budget;
	return r;
}

static int ksig_match_budget(const struct ksig *s, const struct kview *v, uint64_t *off, uint64_t *end,
			     uint64_t *budgetp)
{
	uint64_t budget = *budgetp;
	int r = 0;

	if (!ksig_may_match(s, v))
		goto out;
	for (size_t i = 0; i < s->nseqs; i++) {
		uint64_t o, e;

		if (!byteseq_match(&s->seqs[i], v, &o, &e, &budget))
			goto out;
		if (i == s->first_seq) {
			*off = o;
			*end = e;
		}
	}
	r = s->nseqs > 0;
out:
	*budgetp = budget;
	return r;
}
