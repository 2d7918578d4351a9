/* Loading DROID signature files and container signature files with libxml2:
 * no network, no DTD loading, no entity expansion (a document with a DOCTYPE
 * is refused), and every number and pattern checked. A bad signature is a
 * finding and is left out; the rest still load. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>

#include "formats.h"

#define MAX_REPORTED 20
#define NEAR_MAX 8192         /* keys found only this far in are scanned densely */

static uint64_t add_sat64(uint64_t a, uint64_t b)
{
	return a == UINT64_MAX || b == UINT64_MAX || a + b < a ? UINT64_MAX : a + b;
}

struct loader {
	struct kist_identifier *id;
	const char *file;
	struct kist_findings *fs;
	size_t bad;
};

static void bad(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(struct loader *ld, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ld->bad++ >= MAX_REPORTED || !ld->fs)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kist_findings_add(ld->fs, KIST_SEV_WARNING, "signature.invalid", ld->file, "%s", msg);
}

static void bad_summary(struct loader *ld)
{
	if (ld->bad > MAX_REPORTED && ld->fs)
		kist_findings_add(ld->fs, KIST_SEV_WARNING, "signature.invalid", ld->file,
				  "%zu more signature problems not shown", ld->bad - MAX_REPORTED);
}

static int is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child(const xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_elem(c, name))
			return c;
	return NULL;
}

static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static char *text(const xmlNode *n)
{
	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

static char *dup_or_empty(char *s)
{
	char *d = strdup(s ? s : "");

	xmlFree(s);
	return d;
}

/* A decimal number up to max; absent gives dflt. -1 if malformed. */
static int num_attr(const xmlNode *n, const char *name, uint64_t max, uint64_t dflt, uint64_t *v)
{
	char *s = attr(n, name), *end;
	unsigned long long x;
	int rc = 0;

	if (!s) {
		*v = dflt;
		return 1;
	}
	errno = 0;
	x = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || x > max)
		rc = -1;
	else
		*v = x;
	xmlFree(s);
	return rc;
}

static int long_text(const xmlNode *n, long *v)
{
	char *s = text(n), *end;
	long x;
	int rc = -1;

	if (s) {
		errno = 0;
		x = strtol(s, &end, 10);
		if (*s && !*end && !errno && x >= 0) {
			*v = x;
			rc = 0;
		}
	}
	xmlFree(s);
	return rc;
}

static int long_attr(const xmlNode *n, const char *name, long *v)
{
	uint64_t x;

	if (num_attr(n, name, (uint64_t)0x7FFFFFFF, UINT64_MAX, &x) != 0)
		return -1;
	*v = (long)x;
	return 0;
}

/* --- subsequences -------------------------------------------------------------- */

struct frag {
	int left;
	uint64_t pos, min, max;
	struct kpat pat;
};

/* The fragments of one side, positions 1..n, alternatives at a position
 * grouped; each alternative carries its own gap to the element nearer the
 * anchor. Left: file order (frag gap ... frag gap), right: (gap frag ...). */
static int build_side(struct kpat *out, struct frag *fr, size_t nfr, int left, char *why, size_t wl)
{
	uint64_t maxpos = 0;

	for (size_t i = 0; i < nfr; i++)
		if (fr[i].left == left && fr[i].pos > maxpos)
			maxpos = fr[i].pos;
	for (uint64_t k = 0; k < maxpos; k++) {
		uint64_t p = left ? maxpos - k : k + 1;
		struct kpat *alts = NULL;
		size_t nalts = 0;

		for (size_t i = 0; i < nfr; i++) {
			struct kpat one = { 0 }, *na;

			if (fr[i].left != left || fr[i].pos != p)
				continue;
			if (left) {
				if (kpat_append(&one, &fr[i].pat) < 0 ||
				    kpat_append_gap(&one, (uint32_t)fr[i].min, (uint32_t)fr[i].max) < 0)
					goto oom;
			} else {
				if (kpat_append_gap(&one, (uint32_t)fr[i].min, (uint32_t)fr[i].max) < 0 ||
				    kpat_append(&one, &fr[i].pat) < 0)
					goto oom;
			}
			if (!(na = realloc(alts, (nalts + 1) * sizeof(*na)))) {
				kpat_free(&one);
				goto oom;
			}
			alts = na;
			alts[nalts++] = one;
			continue;
oom:
			for (size_t a = 0; a < nalts; a++)
				kpat_free(&alts[a]);
			free(alts);
			snprintf(why, wl, "out of memory");
			return -1;
		}
		if (nalts == 0) {
			snprintf(why, wl, "%s fragment position %llu missing", left ? "left" : "right",
				 (unsigned long long)p);
			return -1;
		}
		if (nalts == 1) {
			kpat_append(out, &alts[0]);
			free(alts);
		} else if (kpat_append_alt(out, alts, nalts) < 0) {
			for (size_t a = 0; a < nalts; a++)
				kpat_free(&alts[a]);
			free(alts);
			snprintf(why, wl, "out of memory");
			return -1;
		}
	}
	kpat_lengths(out);
	return 0;
}

static void sub_free(struct ksubseq *s)
{
	kpat_free(&s->anchor);
	kpat_free(&s->left);
	kpat_free(&s->right);
}

static int parse_sub(const xmlNode *n, struct ksubseq *s, uint64_t *order, char *why, size_t wl)
{
	struct frag *fr = NULL;
	size_t nfr = 0;
	uint64_t min, max;
	struct kist_error err;
	char *seq;
	int rc = -1, r;

	memset(s, 0, sizeof(*s));
	if (num_attr(n, "Position", 1000000, 1, order) < 0 ||
	    num_attr(n, "SubSeqMinOffset", KPAT_MAX_OFFSET, 0, &min) < 0 ||
	    (r = num_attr(n, "SubSeqMaxOffset", KPAT_MAX_OFFSET, KPAT_INF, &max)) < 0) {
		snprintf(why, wl, "bad or huge subsequence offset or position (limit %u)", KPAT_MAX_OFFSET);
		return -1;
	}
	s->min_off = (uint32_t)min;
	s->max_off = r == 1 ? KPAT_INF : (uint32_t)(max < min ? min : max);
	seq = text(child(n, "Sequence"));
	if (!seq) {
		snprintf(why, wl, "subsequence without a Sequence");
		return -1;
	}
	kist_error_clear(&err);
	r = kpat_parse(&s->anchor, seq, &err);
	xmlFree(seq);
	if (r < 0) {
		snprintf(why, wl, "Sequence: %.300s", err.message);
		return -1;
	}
	for (xmlNode *c = n->children; c; c = c->next) {
		int left = is_elem(c, "LeftFragment");
		struct frag *nf;
		char *t;

		if (!left && !is_elem(c, "RightFragment"))
			continue;
		if (!(nf = realloc(fr, (nfr + 1) * sizeof(*nf)))) {
			snprintf(why, wl, "out of memory");
			goto out;
		}
		fr = nf;
		memset(&fr[nfr], 0, sizeof(fr[nfr]));
		fr[nfr].left = left;
		if (num_attr(c, "Position", 1000, 1, &fr[nfr].pos) < 0 || fr[nfr].pos == 0 ||
		    num_attr(c, "MinOffset", KPAT_MAX_OFFSET, 0, &fr[nfr].min) < 0 ||
		    num_attr(c, "MaxOffset", KPAT_MAX_OFFSET, 0, &fr[nfr].max) < 0) {
			snprintf(why, wl, "bad or huge fragment offset or position (limit %u)",
				 KPAT_MAX_OFFSET);
			goto out;
		}
		if (fr[nfr].max < fr[nfr].min)
			fr[nfr].max = fr[nfr].min;
		t = text(c);
		kist_error_clear(&err);
		r = t ? kpat_parse(&fr[nfr].pat, t, &err) : -1;
		xmlFree(t);
		nfr++;
		if (r < 0) {
			snprintf(why, wl, "%s: %.300s", left ? "LeftFragment" : "RightFragment",
				 t ? err.message : "empty");
			goto out;
		}
	}
	if (build_side(&s->left, fr, nfr, 1, why, wl) < 0 || build_side(&s->right, fr, nfr, 0, why, wl) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < nfr; i++)
		kpat_free(&fr[i].pat);
	free(fr);
	if (rc < 0)
		sub_free(s);
	return rc;
}

void ksig_free(struct ksig *s)
{
	for (size_t i = 0; i < s->nseqs; i++) {
		for (size_t j = 0; j < s->seqs[i].nsubs; j++)
			sub_free(&s->seqs[i].subs[j]);
		free(s->seqs[i].subs);
	}
	free(s->seqs);
	free(s->formats);
	memset(s, 0, sizeof(*s));
}

static int parse_byteseq(const xmlNode *n, struct kbyteseq *bs, char *why, size_t wl)
{
	char *ref = attr(n, "Reference");
	uint64_t *orders = NULL;

	memset(bs, 0, sizeof(*bs));
	if (!ref)
		bs->ref = REF_VAR;
	else if (strcmp(ref, "BOFoffset") == 0)
		bs->ref = REF_BOF;
	else if (strcmp(ref, "EOFoffset") == 0)
		bs->ref = REF_EOF;
	else if (strcmp(ref, "Variable") == 0 || !*ref)
		bs->ref = REF_VAR;
	else {
		snprintf(why, wl, "unknown Reference '%.40s'", ref);
		xmlFree(ref);
		return -1;
	}
	xmlFree(ref);
	for (xmlNode *c = n->children; c; c = c->next) {
		struct ksubseq *ns;
		uint64_t *no, order;

		if (!is_elem(c, "SubSequence"))
			continue;
		ns = realloc(bs->subs, (bs->nsubs + 1) * sizeof(*ns));
		if (ns)
			bs->subs = ns;
		no = realloc(orders, (bs->nsubs + 1) * sizeof(*no));
		if (no)
			orders = no;
		if (!ns || !no) {
			snprintf(why, wl, "out of memory");
			goto fail;
		}
		if (parse_sub(c, &bs->subs[bs->nsubs], &order, why, wl) < 0)
			goto fail;
		orders[bs->nsubs++] = order;
	}
	if (!bs->nsubs) {
		snprintf(why, wl, "byte sequence without subsequences");
		goto fail;
	}
	/* order by Position (insertion sort: a handful at most) */
	for (size_t i = 1; i < bs->nsubs; i++)
		for (size_t j = i; j > 0 && orders[j - 1] > orders[j]; j--) {
			struct ksubseq t = bs->subs[j];
			uint64_t o = orders[j];

			bs->subs[j] = bs->subs[j - 1];
			bs->subs[j - 1] = t;
			orders[j] = orders[j - 1];
			orders[j - 1] = o;
		}
	free(orders);
	/* As DROID does (ByteSequence.prepareSequenceFragments): only the
	 * subsequence matched first in an anchored sequence (the first from BOF,
	 * the last from EOF) is held to SubSeqMaxOffset; the others, and every
	 * subsequence of a floating sequence, may be anywhere beyond their
	 * SubSeqMinOffset (within the scan window). */
	for (size_t i = 0; i < bs->nsubs; i++) {
		int first = bs->ref == REF_BOF ? i == 0 : bs->ref == REF_EOF ? i == bs->nsubs - 1 : 0;

		if (!first)
			bs->subs[i].max_off = KPAT_INF;
		if (bs->ref == REF_EOF)
			kguard_build(&bs->subs[i].guard, &bs->subs[i].anchor, &bs->subs[i].left, -1);
		else
			kguard_build(&bs->subs[i].guard, &bs->subs[i].anchor, &bs->subs[i].right, 1);
	}
	return 0;
fail:
	for (size_t j = 0; j < bs->nsubs; j++)
		sub_free(&bs->subs[j]);
	free(bs->subs);
	bs->subs = NULL;
	bs->nsubs = 0;
	free(orders);
	return -1;
}

static uint64_t pat_weight(const struct kpat *p)
{
	return p->minlen == UINT64_MAX ? 0 : p->minlen;
}

/* How far the search of a byte sequence can range: over the window of the
 * subsequence matched first, or the whole view when that is unbounded. */
static uint64_t seq_reach(const struct kbyteseq *bs)
{
	const struct ksubseq *ss = &bs->subs[bs->ref == REF_EOF ? bs->nsubs - 1 : 0];

	if (bs->ref == REF_VAR || ss->max_off == KPAT_INF)
		return UINT64_MAX;
	return (uint64_t)ss->max_off - ss->min_off;
}

/* Every byte sequence must match, each on its own, so they are tried the
 * narrowest first: a signature then fails at the cheapest test. Only the
 * span of the first in the file's order is reported; first_seq keeps it. */
static void order_seqs(struct ksig *s)
{
	for (size_t i = 1; i < s->nseqs; i++)
		for (size_t j = i; j > 0 && seq_reach(&s->seqs[j - 1]) > seq_reach(&s->seqs[j]); j--) {
			struct kbyteseq t = s->seqs[j];

			s->seqs[j] = s->seqs[j - 1];
			s->seqs[j - 1] = t;
			if (s->first_seq == j)
				s->first_seq = j - 1;
			else if (s->first_seq == j - 1)
				s->first_seq = j;
		}
}

static uint64_t elem_minlen(const struct kpat_elem *e)
{
	uint64_t mn = UINT64_MAX;

	switch (e->type) {
	case KP_LIT:
	case KP_NOTSEQ: return e->len;
	case KP_SET: return 1;
	case KP_GAP: return e->min;
	default:
		for (size_t a = 0; a < e->nalts; a++)
			if (e->alts[a].minlen < mn)
				mn = e->alts[a].minlen;
		return e->nalts ? mn : 0;
	}
}

static uint64_t elem_maxlen(const struct kpat_elem *e)
{
	uint64_t mx = 0;

	switch (e->type) {
	case KP_LIT:
	case KP_NOTSEQ: return e->len;
	case KP_SET: return 1;
	case KP_GAP: return e->max == KPAT_INF ? UINT64_MAX : e->max;
	default:
		for (size_t a = 0; a < e->nalts; a++)
			if (e->alts[a].maxlen > mx)
				mx = e->alts[a].maxlen;
		return mx;
	}
}

static int common_byte(unsigned char c)
{
	return c == 0x00 || c == '\t' || c == '\n' || c == '\r' || c == ' ' || c == 0xFF;
}

/* The key: a literal of two bytes or more that any match of the signature
 * has in the head, for the one-pass scan (identify.c) to find before the
 * signature is tried: a literal element (outside alternatives) of the left
 * fragments, anchor or right fragments of a BOF or floating subsequence.
 * key_limit bounds where it starts: known for the first subsequence of a
 * BOF sequence with a window, when what comes before the literal has a
 * bounded length. A key that can only start in the first NEAR_MAX bytes is
 * preferred (those are scanned at every offset, as short keys need); else
 * the longest, as the rest of the head is sampled at a step one less than
 * the shortest such key. */
static void choose_key(struct ksig *s)
{
	int near = 0;

	s->key = NULL;
	s->keylen = 0;
	s->key_min = 0;
	s->key_limit = UINT64_MAX;
	for (size_t i = 0; i < s->nseqs; i++) {
		if (s->seqs[i].ref == REF_EOF)
			continue;
		for (size_t j = 0; j < s->seqs[i].nsubs; j++) {
			const struct ksubseq *ss = &s->seqs[i].subs[j];
			const struct kpat *chain[3] = { &ss->left, &ss->anchor, &ss->right };
			int first = s->seqs[i].ref == REF_BOF && j == 0;
			/* the fewest and the most bytes from BOF before e */
			uint64_t least = first ? ss->min_off : 0;
			uint64_t most = first && ss->max_off != KPAT_INF ? ss->max_off : UINT64_MAX;

			for (int c = 0; c < 3; c++)
				for (size_t k = 0; k < chain[c]->n; k++) {
					const struct kpat_elem *e = &chain[c]->e[k];
					uint64_t lo = least, lim = most == UINT64_MAX ? UINT64_MAX : most + 1;
					int e_near = lim <= NEAR_MAX;

					least = add_sat64(least, elem_minlen(e));
					most = add_sat64(most, elem_maxlen(e));
					if (e->type != KP_LIT || e->len < 2)
						continue;
					/* near first; then longer; between equals, the bounded one */
					if (e_near > near || (e_near == near && (e->len > s->keylen ||
					    (e->len == s->keylen && lim < s->key_limit)))) {
						s->key = e->bytes;
						s->keylen = e->len;
						s->key_min = lo;
						s->key_limit = lim;
						near = e_near;
					}
				}
		}
	}
	/* "\r\n...", "  ...", "\0\0...": a first pair that text or padding is
	 * full of would wake the scan at every line; start the key later */
	while (s->key && s->keylen > 4 && common_byte(s->key[0]) && common_byte(s->key[1])) {
		s->key++;
		s->keylen--;
		s->key_min++;
		if (s->key_limit != UINT64_MAX)
			s->key_limit++;
	}
}

static int parse_sig(const xmlNode *n, struct ksig *s, char *why, size_t wl)
{
	memset(s, 0, sizeof(*s));
	s->fixed_prefilter = -1;
	if (long_attr(n, "ID", &s->id) < 0 || s->id < 0) {
		snprintf(why, wl, "InternalSignature without a valid ID");
		return -1;
	}
	for (xmlNode *c = n->children; c; c = c->next) {
		struct kbyteseq *nb;

		if (!is_elem(c, "ByteSequence"))
			continue;
		if (!(nb = realloc(s->seqs, (s->nseqs + 1) * sizeof(*nb)))) {
			snprintf(why, wl, "out of memory");
			ksig_free(s);
			return -1;
		}
		s->seqs = nb;
		if (parse_byteseq(c, &s->seqs[s->nseqs], why, wl) < 0) {
			ksig_free(s);
			return -1;
		}
		s->nseqs++;
	}
	if (!s->nseqs) {
		snprintf(why, wl, "signature without byte sequences");
		return -1;
	}
	order_seqs(s);
	for (size_t i = 0; i < s->nseqs; i++)
		for (size_t j = 0; j < s->seqs[i].nsubs; j++) {
			const struct ksubseq *ss = &s->seqs[i].subs[j];

			s->weight += pat_weight(&ss->anchor) + pat_weight(&ss->left) + pat_weight(&ss->right);
		}
	s->eof_prefilter = -1;
	for (size_t i = 0; i < s->nseqs; i++) {
		const struct ksubseq *ss = &s->seqs[i].subs[s->seqs[i].nsubs - 1];

		/* the last byte of the chain: of the right fragments, or the anchor */
		const struct kpat *last = ss->right.n ? &ss->right : &ss->anchor;
		const struct kpat_elem *le = &last->e[last->n - 1];

		if (s->seqs[i].ref == REF_EOF && ss->min_off == ss->max_off && le->type == KP_LIT &&
		    ss->min_off < (1u << 30)) {
			s->eof_prefilter = (int)ss->min_off;
			s->eof_byte = le->bytes[le->len - 1];
			break;
		}
	}
	choose_key(s);
	/* a quick byte test for "this exact byte at this offset from BOF" */
	for (size_t i = 0; i < s->nseqs; i++) {
		const struct ksubseq *ss = &s->seqs[i].subs[0];

		/* the first byte of the chain: of the left fragments, or the anchor */
		const struct kpat *first = ss->left.n ? &ss->left : &ss->anchor;

		if (s->seqs[i].ref == REF_BOF && ss->min_off == ss->max_off && first->e[0].type == KP_LIT &&
		    ss->min_off < (1u << 30)) {
			s->fixed_prefilter = (int)ss->min_off;
			s->prefilter_byte = first->e[0].bytes[0];
			break;
		}
	}
	return 0;
}

static int parse_sig_collection(struct loader *ld, const xmlNode *coll, struct ksig **sigs,
				size_t *nsigs)
{
	for (xmlNode *c = coll ? coll->children : NULL; c; c = c->next) {
		struct ksig s, *ns;
		char why[400];

		if (!is_elem(c, "InternalSignature"))
			continue;
		why[0] = 0;
		if (parse_sig(c, &s, why, sizeof(why)) < 0) {
			char *idtxt = attr(c, "ID");

			bad(ld, "internal signature %.20s: %s; left out", idtxt ? idtxt : "?", why);
			xmlFree(idtxt);
			continue;
		}
		if (!(ns = realloc(*sigs, (*nsigs + 1) * sizeof(*ns)))) {
			ksig_free(&s);
			return -1;
		}
		*sigs = ns;
		(*sigs)[(*nsigs)++] = s;
	}
	return 0;
}

/* --- documents -------------------------------------------------------------------- */

static xmlDoc *read_doc(const char *file, const char *root, struct kist_error *err)
{
	xmlDoc *doc;
	xmlNode *r;

	/* No XML_PARSE_NOENT (no entity substitution), no DTDLOAD/DTDATTR, no
	 * network, and libxml2's default size limits (no XML_PARSE_HUGE). */
	doc = xmlReadFile(file, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlGetLastError();

		if (e && e->code == XML_IO_LOAD_ERROR)
			kist_error_set(err, KIST_FAILED, "cannot read signature file %s", file);
		else
			kist_error_set(err, KIST_FAILED, "%s is not well-formed XML%s%s", file,
				       e && e->message ? ": " : "", e && e->message ? e->message : "");
		/* strip libxml2's trailing newline */
		size_t l = strlen(err->message);

		if (l && err->message[l - 1] == '\n')
			err->message[l - 1] = 0;
		return NULL;
	}
	if (doc->intSubset || doc->extSubset) {
		kist_error_set(err, KIST_FAILED,
			       "%s has a DOCTYPE; refused (signature files need no DTD or entities)", file);
		xmlFreeDoc(doc);
		return NULL;
	}
	r = xmlDocGetRootElement(doc);
	if (!r || strcmp((const char *)r->name, root) != 0) {
		kist_error_set(err, KIST_FAILED, "%s is not a %s document", file, root);
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

static char **add_str(char **v, size_t *n, const char *s)
{
	char **nv = realloc(v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return NULL;
	if (!(nv[*n] = strdup(s)))
		return nv;
	(*n)++;
	return nv;
}

static int parse_format(struct loader *ld, const xmlNode *n, struct kformat *f, long **sigids,
			size_t *nsigids)
{
	char *puid;

	memset(f, 0, sizeof(*f));
	if (long_attr(n, "ID", &f->id) < 0 || f->id < 0 || !(puid = attr(n, "PUID"))) {
		bad(ld, "FileFormat without a valid ID or PUID; left out");
		return 1;
	}
	f->puid = dup_or_empty(puid);
	f->name = dup_or_empty(attr(n, "Name"));
	f->version = dup_or_empty(attr(n, "Version"));
	f->mime = dup_or_empty(attr(n, "MIMEType"));
	if (!f->puid || !f->name || !f->version || !f->mime)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next) {
		long v;

		if (is_elem(c, "Extension")) {
			char *t = text(c);
			char **ne = t ? add_str(f->exts, &f->nexts, t) : f->exts;

			xmlFree(t);
			if (!ne)
				return -1;
			f->exts = ne;
		} else if (is_elem(c, "InternalSignatureID") || is_elem(c, "HasPriorityOverFileFormatID")) {
			int sig = is_elem(c, "InternalSignatureID");
			long **arr = sig ? sigids : &f->priority_over;
			size_t *cnt = sig ? nsigids : &f->npriority;
			long *na;

			if (long_text(c, &v) < 0) {
				bad(ld, "format %s: bad %s; ignored", f->puid, (const char *)c->name);
				continue;
			}
			if (!(na = realloc(*arr, (*cnt + 1) * sizeof(*na))))
				return -1;
			*arr = na;
			na[(*cnt)++] = v;
		}
	}
	return 0;
}

static int cmp_sig_id(const void *a, const void *b)
{
	const struct ksig *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct ksig *find_sig(struct kist_identifier *id, long sid)
{
	struct ksig key = { .id = sid };

	return id->nsigs ? bsearch(&key, id->sigs, id->nsigs, sizeof(key), cmp_sig_id) : NULL;
}

struct fidx {
	long id;
	size_t i;
};

static int cmp_fidx(const void *a, const void *b)
{
	const struct fidx *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void format_free(struct kformat *f)
{
	free(f->puid);
	free(f->name);
	free(f->version);
	free(f->mime);
	for (size_t k = 0; k < f->nexts; k++)
		free(f->exts[k]);
	free(f->exts);
	free(f->priority_over);
	free(f->over);
	free(f->sigids);
}

/* The DROID file is read as a stream (xmlTextReader), one InternalSignature
 * or FileFormat subtree at a time, so that a 3.5 MB file never becomes a
 * 40 MB tree in memory. */
static int stream_droid(struct loader *ld, struct kist_error *err)
{
	struct kist_identifier *id = ld->id;
	xmlTextReaderPtr rd = xmlReaderForFile(ld->file, NULL,
					       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int r, rc = -1;

	if (!rd)
		return kist_error_set(err, KIST_FAILED, "cannot read signature file %s", ld->file) ? -1 : -1;
	r = xmlTextReaderRead(rd);
	while (r == 1) {
		int type = xmlTextReaderNodeType(rd), depth = xmlTextReaderDepth(rd);
		const char *name = (const char *)xmlTextReaderConstLocalName(rd);

		if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
			kist_error_set(err, KIST_FAILED,
				       "%s has a DOCTYPE; refused (signature files need no DTD or entities)", ld->file);
			goto out;
		}
		if (type == XML_READER_TYPE_ELEMENT && depth == 0) {
			if (!name || strcmp(name, "FFSignatureFile") != 0) {
				kist_error_set(err, KIST_FAILED, "%s is not a FFSignatureFile document", ld->file);
				goto out;
			}
			id->sig_version = dup_or_empty((char *)xmlTextReaderGetAttribute(rd, (const xmlChar *)"Version"));
			if (!id->sig_version)
				goto oom;
		} else if (type == XML_READER_TYPE_ELEMENT && depth == 2 && name &&
			   (strcmp(name, "InternalSignature") == 0 || strcmp(name, "FileFormat") == 0)) {
			int sig = strcmp(name, "InternalSignature") == 0;
			xmlNode *n = xmlTextReaderExpand(rd);

			if (!n)
				break;
			if (sig) {
				struct ksig one, *ns;
				char why[400] = "";

				if (parse_sig(n, &one, why, sizeof(why)) < 0) {
					char *idtxt = attr(n, "ID");

					bad(ld, "internal signature %.20s: %s; left out", idtxt ? idtxt : "?", why);
					xmlFree(idtxt);
				} else if (!(ns = realloc(id->sigs, (id->nsigs + 1) * sizeof(*ns)))) {
					ksig_free(&one);
					goto oom;
				} else {
					id->sigs = ns;
					id->sigs[id->nsigs++] = one;
				}
			} else {
				struct kformat f, *nf;
				int pr = parse_format(ld, n, &f, &f.sigids, &f.nsigids);

				if (pr < 0 || (pr == 0 && !(nf = realloc(id->formats, (id->nformats + 1) * sizeof(*nf))))) {
					format_free(&f);
					goto oom;
				}
				if (pr == 0) {
					id->formats = nf;
					id->formats[id->nformats++] = f;
				}
			}
			r = xmlTextReaderNext(rd);
			continue;
		}
		r = xmlTextReaderRead(rd);
	}
	if (r != 0) {
		const xmlError *e = xmlGetLastError();
		size_t l;

		kist_error_set(err, KIST_FAILED, "%s is not well-formed XML%s%s", ld->file,
			       e && e->message ? ": " : "", e && e->message ? e->message : "");
		l = strlen(err->message);
		if (l && err->message[l - 1] == '\n')
			err->message[l - 1] = 0;
		goto out;
	}
	if (!id->sig_version) {
		kist_error_set(err, KIST_FAILED, "%s is not a FFSignatureFile document", ld->file);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	kist_error_set(err, KIST_FAILED, "out of memory loading %s", ld->file);
out:
	xmlFreeTextReader(rd);
	return rc;
}

int ksig_load_droid(struct kist_identifier *id, const char *file, struct kist_findings *fs,
		    struct kist_error *err)
{
	struct loader ld = { .id = id, .file = file, .fs = fs };
	struct fidx *fx = NULL;
	int rc = KIST_FAILED;

	xmlResetLastError();
	if (stream_droid(&ld, err) < 0)
		return KIST_FAILED;
	if (id->nsigs > 1)
		qsort(id->sigs, id->nsigs, sizeof(*id->sigs), cmp_sig_id);
	for (size_t i = 1; i < id->nsigs; i++)
		if (id->sigs[i].id == id->sigs[i - 1].id)
			bad(&ld, "internal signature ID %ld appears twice; the first is used", id->sigs[i].id);
	for (size_t fi = 0; fi < id->nformats; fi++) {
		struct kformat *f = &id->formats[fi];

		for (size_t k = 0; k < f->nsigids; k++) {
			struct ksig *s = find_sig(id, f->sigids[k]);
			size_t *ni;

			if (!s) {
				bad(&ld, "format %s names internal signature %ld, which is not there (or was left out)",
				    f->puid, f->sigids[k]);
				continue;
			}
			if (!(ni = realloc(s->formats, (s->nformats + 1) * sizeof(*ni))))
				goto oom;
			s->formats = ni;
			ni[s->nformats++] = fi;
			f->has_signature = 1;
		}
		free(f->sigids);
		f->sigids = NULL;
		f->nsigids = 0;
	}
	/* resolve priorities to format indexes */
	if (id->nformats && !(fx = calloc(id->nformats, sizeof(*fx))))
		goto oom;
	for (size_t i = 0; i < id->nformats; i++) {
		fx[i].id = id->formats[i].id;
		fx[i].i = i;
	}
	if (id->nformats > 1)
		qsort(fx, id->nformats, sizeof(*fx), cmp_fidx);
	for (size_t i = 0; i < id->nformats; i++) {
		struct kformat *f = &id->formats[i];

		if (f->npriority && !(f->over = calloc(f->npriority, sizeof(*f->over))))
			goto oom;
		for (size_t k = 0; k < f->npriority; k++) {
			struct fidx key = { .id = f->priority_over[k] }, *hit;

			hit = bsearch(&key, fx, id->nformats, sizeof(key), cmp_fidx);
			if (hit)
				f->over[f->nover++] = hit->i;
		}
	}
	bad_summary(&ld);
	rc = KIST_OK;
	goto out;
oom:
	kist_error_set(err, KIST_FAILED, "out of memory loading %s", file);
out:
	free(fx);
	return rc;
}

/* --- container signatures ----------------------------------------------------------- */

static int container_type(const char *t)
{
	if (!t)
		return CT_NONE;
	if (strcmp(t, "ZIP") == 0)
		return CT_ZIP;
	if (strcmp(t, "OLE2") == 0)
		return CT_OLE2;
	return CT_NONE;
}

static int want_entry(struct kist_identifier *id, const char *path)
{
	char **nw;

	for (size_t i = 0; i < id->nwanted; i++)
		if (strcmp(id->wanted[i], path) == 0)
			return 0;
	if (!(nw = add_str(id->wanted, &id->nwanted, path)))
		return -1;
	id->wanted = nw;
	return 0;
}

static void csig_free(struct kcsig *c)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].path);
		for (size_t k = 0; k < c->files[i].nsigs; k++)
			ksig_free(&c->files[i].sigs[k]);
		free(c->files[i].sigs);
	}
	free(c->files);
	free(c->formats);
	free(c->description);
}

int ksig_load_containers(struct kist_identifier *id, const char *file, struct kist_findings *fs,
			 struct kist_error *err)
{
	struct loader ld = { .id = id, .file = file, .fs = fs };
	xmlDoc *doc = read_doc(file, "ContainerSignatureMapping", err);
	xmlNode *root, *sigs, *maps, *trig;
	int rc = KIST_FAILED;

	if (!doc)
		return KIST_FAILED;
	root = xmlDocGetRootElement(doc);
	id->cont_version = dup_or_empty(attr(root, "signatureVersion"));
	sigs = child(root, "ContainerSignatures");
	for (xmlNode *c = sigs ? sigs->children : NULL; c; c = c->next) {
		struct kcsig cs = { 0 }, *nc;
		char *type;
		int ok = 1;

		if (!is_elem(c, "ContainerSignature"))
			continue;
		type = attr(c, "ContainerType");
		cs.type = container_type(type);
		if (long_attr(c, "Id", &cs.id) < 0 || cs.id < 0) {
			bad(&ld, "container signature without a valid Id; left out");
			xmlFree(type);
			continue;
		}
		if (cs.type == CT_NONE) {
			/* other container types (GZIP...) are not read: skip quietly */
			xmlFree(type);
			continue;
		}
		xmlFree(type);
		cs.description = dup_or_empty(text(child(c, "Description")));
		for (xmlNode *f = child(c, "Files") ? child(c, "Files")->children : NULL; f && ok; f = f->next) {
			struct kcfile cf = { 0 }, *nf;
			char *path;

			if (!is_elem(f, "File"))
				continue;
			path = text(child(f, "Path"));
			if (!path || !*path) {
				bad(&ld, "container signature %ld: File without a Path; left out", cs.id);
				xmlFree(path);
				ok = 0;
				break;
			}
			cf.path = dup_or_empty(path);
			if (child(f, "BinarySignatures")) {
				xmlNode *coll = child(child(f, "BinarySignatures"), "InternalSignatureCollection");
				size_t before = ld.bad;

				if (parse_sig_collection(&ld, coll, &cf.sigs, &cf.nsigs) < 0 ||
				    want_entry(id, cf.path) < 0) {
					free(cf.path);
					goto oom;
				}
				if (ld.bad != before || !cf.nsigs) {
					if (!cf.nsigs)
						bad(&ld, "container signature %ld: no usable binary signature for %.100s; left out",
						    cs.id, cf.path);
					ok = 0;
				}
			}
			if (!(nf = realloc(cs.files, (cs.nfiles + 1) * sizeof(*nf)))) {
				free(cf.path);
				goto oom;
			}
			cs.files = nf;
			cs.files[cs.nfiles++] = cf;
		}
		if (!ok || !cs.nfiles) {
			csig_free(&cs);
			continue;
		}
		if (!(nc = realloc(id->csigs, (id->ncsigs + 1) * sizeof(*nc)))) {
			csig_free(&cs);
			goto oom;
		}
		id->csigs = nc;
		id->csigs[id->ncsigs++] = cs;
	}
	maps = child(root, "FileFormatMappings");
	for (xmlNode *m = maps ? maps->children : NULL; m; m = m->next) {
		long sid;
		char *puid;

		if (!is_elem(m, "FileFormatMapping"))
			continue;
		puid = attr(m, "Puid");
		if (long_attr(m, "signatureId", &sid) < 0 || !puid) {
			bad(&ld, "FileFormatMapping without signatureId or Puid; ignored");
			xmlFree(puid);
			continue;
		}
		for (size_t i = 0; i < id->ncsigs; i++) {
			struct kcsig *cs = &id->csigs[i];
			size_t fi;

			if (cs->id != sid)
				continue;
			for (fi = 0; fi < id->nformats; fi++)
				if (strcmp(id->formats[fi].puid, puid) == 0)
					break;
			if (fi == id->nformats) {
				bad(&ld, "container signature %ld maps to %.40s, which the signature file does not know",
				    sid, puid);
				break;
			}
			size_t *nfm = realloc(cs->formats, (cs->nformats + 1) * sizeof(*nfm));

			if (!nfm) {
				xmlFree(puid);
				goto oom;
			}
			cs->formats = nfm;
			nfm[cs->nformats++] = fi;
			/* a container signature is a signature: no extension-only
			 * matches for DOCX and its kin */
			id->formats[fi].has_signature = 1;
		}
		xmlFree(puid);
	}
	trig = child(root, "TriggerPuids");
	for (xmlNode *t = trig ? trig->children : NULL; t; t = t->next) {
		char *type, *puid;

		if (!is_elem(t, "TriggerPuid"))
			continue;
		type = attr(t, "ContainerType");
		puid = attr(t, "Puid");
		for (size_t fi = 0; puid && fi < id->nformats; fi++)
			if (strcmp(id->formats[fi].puid, puid) == 0)
				id->formats[fi].container_type = container_type(type);
		xmlFree(type);
		xmlFree(puid);
	}
	bad_summary(&ld);
	rc = KIST_OK;
	goto out;
oom:
	kist_error_set(err, KIST_FAILED, "out of memory loading %s", file);
out:
	xmlFreeDoc(doc);
	return rc;
}

static int cmp_kext(const void *a, const void *b)
{
	const struct kext *x = a, *y = b;
	int c = strcmp(x->ext, y->ext);

	return c ? c : (x->format > y->format) - (x->format < y->format);
}

int ksig_index(struct kist_identifier *id)
{
	size_t *count = calloc(65537, sizeof(*count));
	size_t fill[256] = { 0 };
	int rc = -1;

	if (!count || !(id->scan_index = calloc(65537, sizeof(*id->scan_index))) ||
	    !(id->general = calloc(id->nsigs + 1, sizeof(*id->general))) ||
	    !(id->scan_sigs = calloc(id->nsigs + 1, sizeof(*id->scan_sigs))))
		goto out;
	for (size_t i = 0; i < id->nsigs; i++) {
		const struct ksig *s = &id->sigs[i];

		if (s->fixed_prefilter == 0)
			id->n_by_byte0[s->prefilter_byte]++;
		else if (s->fixed_prefilter < 0 && s->key)
			count[kpair(s->key)]++;
	}
	for (size_t k = 0; k < 65536; k++)
		if (count[k])
			id->scan_bits[k >> 6] |= (uint64_t)1 << (k & 63);
	if (kscan_build(id) < 0)
		goto out;
	for (int b = 0; b < 256; b++)
		if (id->n_by_byte0[b] && !(id->by_byte0[b] = calloc(id->n_by_byte0[b], sizeof(uint32_t))))
			goto out;
	for (size_t k = 0; k < 65536; k++)
		id->scan_index[k + 1] = id->scan_index[k] + (uint32_t)count[k];
	memset(count, 0, 65537 * sizeof(*count));
	for (size_t i = 0; i < id->nsigs; i++) {
		const struct ksig *s = &id->sigs[i];

		if (s->fixed_prefilter == 0) {
			id->by_byte0[s->prefilter_byte][fill[s->prefilter_byte]++] = (uint32_t)i;
		} else if (s->fixed_prefilter < 0 && s->key) {
			size_t k = kpair(s->key);

			id->scan_sigs[id->scan_index[k] + count[k]++] = (uint32_t)i;
		} else {
			id->general[id->ngeneral++] = (uint32_t)i;
		}
	}
	/* extensions of the formats that have no signature, sorted */
	for (size_t f = 0; f < id->nformats; f++)
		if (!id->formats[f].has_signature)
			for (size_t k = 0; k < id->formats[f].nexts; k++) {
				struct kext *ne = realloc(id->exts, (id->nexts + 1) * sizeof(*ne));
				char *e = strdup(id->formats[f].exts[k]);

				if (ne)
					id->exts = ne;
				if (!ne || !e) {
					free(e);
					goto out;
				}
				for (char *c = e; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				id->exts[id->nexts].ext = e;
				id->exts[id->nexts++].format = f;
			}
	if (id->nexts)
		qsort(id->exts, id->nexts, sizeof(*id->exts), cmp_kext);
	rc = 0;
out:
	free(count);
	return rc;
}

void ksig_free_all(struct kist_identifier *id)
{
	kscan_free(id);
	for (int b = 0; b < 256; b++)
		free(id->by_byte0[b]);
	free(id->general);
	free(id->scan_index);
	free(id->scan_sigs);
	for (size_t i = 0; i < id->nexts; i++)
		free(id->exts[i].ext);
	free(id->exts);
	for (size_t i = 0; i < id->nsigs; i++)
		ksig_free(&id->sigs[i]);
	free(id->sigs);
	for (size_t i = 0; i < id->nformats; i++)
		format_free(&id->formats[i]);
	free(id->formats);
	for (size_t i = 0; i < id->ncsigs; i++)
		csig_free(&id->csigs[i]);
	free(id->csigs);
	for (size_t i = 0; i < id->nwanted; i++)
		free(id->wanted[i]);
	free(id->wanted);
	free(id->sig_version);
	free(id->cont_version);
}
