/* Format identification: the pipeline consumer and the public API.
 *
 * Per file, the consumer keeps the first and last `window` bytes of the
 * blocks the pipeline reads (and a whole ZIP/OLE2 file up to container_max),
 * then, when the pipeline closes the file, matches the internal signatures
 * the way DROID does: every byte sequence of a signature must match, formats
 * another match has priority over are dropped, a ZIP or OLE2 result opens the
 * container and its container signatures decide; extension-only matches are
 * for formats without a signature; libmagic's answer is given beside. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/kist.h>

#include "formats.h"

#define DEFAULT_WINDOW 65536
#define DEFAULT_CONTAINER_MAX (16u << 20)
#define SIGNATURE_FILE "DROID_SignatureFile_V118.xml"
#define CONTAINER_FILE "container-signature-20240501.xml"

void kist_identify_options_init(struct kist_identify_options *o)
{
	memset(o, 0, sizeof(*o));
	o->dirfd = AT_FDCWD;
}

static char *data_file(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "pronom/%s", name);
	return kist_data_file(rel);
}

static const struct kist_consumer *make_consumer(struct kist_identifier *id);

struct kist_identifier *kist_identifier_load(const struct kist_identify_options *o,
					     struct kist_findings *fs, struct kist_error *err)
{
	struct kist_identifier *id = calloc(1, sizeof(*id));
	char *sigfile = NULL, *contfile = NULL;

	kist_error_clear(err);
	if (!id) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		return NULL;
	}
	id->opt = *o;
	if (!id->opt.window)
		id->opt.window = DEFAULT_WINDOW;
	if (!id->opt.container_max)
		id->opt.container_max = DEFAULT_CONTAINER_MAX;
	sigfile = o->signature_file ? strdup(o->signature_file) : data_file(SIGNATURE_FILE);
	if (!sigfile || ksig_load_droid(id, sigfile, fs, err) != KIST_OK)
		goto fail;
	if (!o->no_containers && !(o->container_file && !*o->container_file)) {
		contfile = o->container_file ? strdup(o->container_file) : data_file(CONTAINER_FILE);
		if (!contfile || ksig_load_containers(id, contfile, fs, err) != KIST_OK)
			goto fail;
	}
	if (!id->cont_version)
		id->cont_version = strdup("");
	if (!o->no_magic && kmagic_init(id) < 0) {
		kist_error_set(err, KIST_FAILED, "cannot set up libmagic");
		goto fail;
	}
	if (ksig_index(id) < 0)
		goto fail;
	make_consumer(id);
	free(sigfile);
	free(contfile);
	return id;
fail:
	if (!err->message[0])
		kist_error_set(err, KIST_FAILED, "out of memory");
	free(sigfile);
	free(contfile);
	kist_identifier_free(id);
	return NULL;
}

void kist_identifier_free(struct kist_identifier *id)
{
	if (!id)
		return;
	kmagic_fini(id);
	ksig_free_all(id);
	free(id);
}

const char *kist_identifier_signature_version(const struct kist_identifier *id)
{
	return id->sig_version ? id->sig_version : "";
}

const char *kist_identifier_container_version(const struct kist_identifier *id)
{
	return id->cont_version ? id->cont_version : "";
}

size_t kist_identifier_format_count(const struct kist_identifier *id)
{
	return id->nformats;
}

/* --- results ------------------------------------------------------------------------ */

struct idstate {
	struct kist_id_result res;       /* first: the state is the result */
	struct kist_identifier *id;
	char *path;
	uint64_t expect;                 /* size the pipeline saw */
	uint64_t seen;
	unsigned char *head, *ring;
	size_t headlen, ringpos, ringlen;
	unsigned char *whole;
	size_t wholelen;
	int keep_whole;
	int early;                       /* identified from the block that held the whole file */
	int grown;                       /* and more came after it */
	int no_memory;
};

static void add_warning(struct kist_id_result *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_warning(struct kist_id_result *r, const char *code, const char *fmt, ...)
{
	struct kist_id_warning *nw = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*nw));
	va_list ap;

	if (!nw)
		return;
	r->warnings = nw;
	nw[r->nwarnings].code = code;
	va_start(ap, fmt);
	if (vasprintf(&nw[r->nwarnings].message, fmt, ap) < 0)
		nw[r->nwarnings].message = NULL;
	va_end(ap);
	if (nw[r->nwarnings].message)
		r->nwarnings++;
}

const struct kist_id_result *kist_id_result_of(void *consumer_state)
{
	return consumer_state;
}

void kist_id_result_free(void *consumer_state)
{
	struct idstate *st = consumer_state;

	if (!st)
		return;
	free(st->res.matches);
	for (size_t i = 0; i < st->res.nwarnings; i++)
		free(st->res.warnings[i].message);
	free(st->res.warnings);
	free((char *)st->res.magic_mime);
	free((char *)st->res.magic_description);
	free(st->head);
	free(st->ring);
	free(st->whole);
	free(st->path);
	free(st);
}

/* --- matching ----------------------------------------------------------------------- */

struct hit {
	size_t format;
	long sig;
	uint64_t off, end, weight;
	int container;
	const char *entry;
};

struct hits {
	struct hit *h;
	size_t n;
	uint64_t budget;                 /* matching steps left for this file */
};

static void add_hit(struct hits *hs, const struct hit *h)
{
	struct hit *nh;

	for (size_t i = 0; i < hs->n; i++)
		if (hs->h[i].format == h->format) {
			if (h->weight > hs->h[i].weight)
				hs->h[i] = *h;
			return;
		}
	if (!(nh = realloc(hs->h, (hs->n + 1) * sizeof(*nh))))
		return;
	hs->h = nh;
	hs->h[hs->n++] = *h;
}

/* HasPriorityOverFileFormatID: drop every hit another hit outranks. */
static void prune(const struct kist_identifier *id, struct hits *hs)
{
	unsigned char *drop;
	size_t k = 0;

	if (hs->n < 2 || !(drop = calloc(hs->n, 1)))
		return;
	for (size_t i = 0; i < hs->n; i++) {
		const struct kformat *f = &id->formats[hs->h[i].format];

		for (size_t o = 0; o < f->nover; o++)
			for (size_t j = 0; j < hs->n; j++)
				if (j != i && hs->h[j].format == f->over[o])
					drop[j] = 1;
	}
	for (size_t i = 0; i < hs->n; i++)
		if (!drop[i])
			hs->h[k++] = hs->h[i];
	hs->n = k;
	free(drop);
}

static void match_sigs(const struct ksig *sigs, size_t nsigs, const struct kview *v, struct hits *hs,
		       int container, long csig, const char *entry, const size_t *cformats, size_t ncf)
{
	uint64_t budget = KSIG_FILE_BUDGET;

	for (size_t i = 0; i < nsigs; i++) {
		const struct ksig *s = &sigs[i];
		struct hit h = { .sig = s->id, .weight = s->weight, .container = container, .entry = entry };

		if (!ksig_match(s, v, &h.off, &h.end, &budget))
			continue;
		if (container) {
			h.sig = csig;
			for (size_t f = 0; f < ncf; f++) {
				h.format = cformats[f];
				add_hit(hs, &h);
			}
			return;
		}
		for (size_t f = 0; f < s->nformats; f++) {
			h.format = s->formats[f];
			add_hit(hs, &h);
		}
	}
}

static inline void match_one(const struct kist_identifier *id, uint32_t i, const struct kview *v,
			     struct hits *hs)
{
	const struct ksig *s = &id->sigs[i];
	struct hit h = { .sig = s->id, .weight = s->weight };

	if (!hs->budget || !ksig_may_match(s, v) || !ksig_match(s, v, &h.off, &h.end, &hs->budget))
		return;
	for (size_t f = 0; f < s->nformats; f++) {
		h.format = s->formats[f];
		add_hit(hs, &h);
	}
}

struct scan_ctx {
	const struct kist_identifier *id;
	const struct kview *v;
	unsigned char *tried;
	struct hits *hs;
};

/* The signatures whose key starts at offset p of the head. */
static void scan_found(void *arg, size_t p)
{
	struct scan_ctx *c = arg;
	const struct kist_identifier *id = c->id;
	const struct kview *v = c->v;
	size_t key = kpair(v->head + p);

	for (uint32_t k = id->scan_index[key]; k < id->scan_index[key + 1]; k++) {
		uint32_t i = id->scan_sigs[k];
		const struct ksig *s = &id->sigs[i];

		if (c->tried[i] || s->keylen > v->headlen - p || memcmp(v->head + p, s->key, s->keylen) != 0)
			continue;
		c->tried[i] = 1;
		match_one(id, i, v, c->hs);
	}
}

/* The internal signatures, through the indexes: those keyed by the first
 * byte, those whose key occurs in the head (one pass over it), and the
 * rest. */
static void match_main(const struct kist_identifier *id, const struct kview *v, struct hits *hs)
{
	struct scan_ctx c = { id, v, NULL, hs };

	if (v->headlen)
		for (size_t k = 0; k < id->n_by_byte0[v->head[0]]; k++)
			match_one(id, id->by_byte0[v->head[0]][k], v, hs);
	for (size_t k = 0; k < id->ngeneral; k++)
		match_one(id, id->general[k], v, hs);
	if (v->headlen < 2 || id->scan_index[65536] == 0 || !(c.tried = calloc(id->nsigs, 1)))
		return;
	kscan_run(id, v->head, v->headlen, scan_found, &c);
	free(c.tried);
}

static const struct kentry *find_entry(const struct kentries *es, const char *path)
{
	size_t pl = strlen(path);

	for (size_t i = 0; i < es->n; i++) {
		const char *n = es->e[i].name;

		if (strcmp(n, path) == 0)
			return &es->e[i];
		/* "META-INF/" names a folder: any entry under it, or the folder entry */
		if (pl && path[pl - 1] == '/' && strncmp(n, path, pl) == 0)
			return &es->e[i];
	}
	return NULL;
}

static int container_match(struct kist_identifier *id, int type, const unsigned char *buf, size_t len,
			   struct kist_id_result *res, struct hits *out)
{
	struct kentries es = { 0 };
	char why[256] = "";
	int r = type == CT_ZIP ? kzip_entries(id, buf, len, &es, why, sizeof(why))
			       : kole2_entries(id, buf, len, &es, why, sizeof(why));

	if (r < 0) {
		add_warning(res, "identify.container-damaged", "cannot read the %s container: %s",
			    type == CT_ZIP ? "ZIP" : "OLE2", why);
		kentries_free(&es);
		return -1;
	}
	for (size_t c = 0; c < id->ncsigs; c++) {
		const struct kcsig *cs = &id->csigs[c];
		const char *named = NULL;
		struct hits one = { 0 };
		int ok = 1;

		if (cs->type != type || !cs->nformats)
			continue;
		for (size_t f = 0; f < cs->nfiles && ok; f++) {
			const struct kcfile *cf = &cs->files[f];
			const struct kentry *e = find_entry(&es, cf->path);

			if (!e) {
				ok = 0;
				break;
			}
			if (!named || cf->nsigs)
				named = cf->path;
			if (cf->nsigs) {
				struct kview v = { e->data, e->data, e->len, e->len, e->len };

				if (!e->data) {
					ok = 0;
					break;
				}
				match_sigs(cf->sigs, cf->nsigs, &v, &one, 1, cs->id, cf->path, cs->formats, cs->nformats);
				if (!one.n)
					ok = 0;
				free(one.h);
				one.h = NULL;
				one.n = 0;
			}
		}
		if (!ok)
			continue;
		for (size_t f = 0; f < cs->nformats; f++) {
			struct hit h = { .format = cs->formats[f], .sig = cs->id, .container = 1, .entry = named,
					 .weight = 1000000 };

			add_hit(out, &h);
		}
	}
	/* entry names point into the identifier (cf->path), not into es */
	kentries_free(&es);
	prune(id, out);
	return 0;
}

static const char *extension_of(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	return dot && dot != base && dot[1] ? dot + 1 : NULL;
}

static int format_has_ext(const struct kformat *f, const char *ext)
{
	for (size_t i = 0; i < f->nexts; i++)
		if (strcasecmp(f->exts[i], ext) == 0)
			return 1;
	return 0;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->container != y->container)
		return y->container - x->container;
	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return x->format < y->format ? -1 : x->format > y->format;
}

/* Maps the file again when a container was too big to keep while reading. */
static unsigned char *map_file(struct kist_identifier *id, const char *path, uint64_t size, size_t *len)
{
	int fd = openat(id->opt.dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	void *p;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size || size == 0 ||
	    size > SIZE_MAX) {
		close(fd);
		return NULL;
	}
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*len = (size_t)size;
	return p;
}

static void identify_view(struct kist_identifier *id, struct kist_id_result *res, const struct kview *v,
			  const unsigned char *whole, size_t wholelen, const char *path)
{
	struct hits hs = { .budget = KSIG_FILE_BUDGET };
	const char *ext = path ? extension_of(path) : NULL;
	int ctype = CT_NONE;

	res->size = v->size;
	if (v->size == 0)
		add_warning(res, "identify.empty", "zero-length file: nothing to identify");
	else
		match_main(id, v, &hs);
	if (!hs.budget)
		add_warning(res, "identify.incomplete",
			    "signature matching stopped: its patterns took too many steps on this file");
	prune(id, &hs);

	for (size_t i = 0; i < hs.n; i++)
		if (id->formats[hs.h[i].format].container_type)
			ctype = id->formats[hs.h[i].format].container_type;
	if (ctype && id->ncsigs) {
		struct hits ch = { 0 };
		unsigned char *mapped = NULL;
		size_t mlen = 0;

		if (!whole && path)
			whole = mapped = map_file(id, path, v->size, &mlen), wholelen = mlen;
		if (whole && container_match(id, ctype, whole, wholelen, res, &ch) == 0 && ch.n) {
			free(hs.h);
			hs = ch;
		} else {
			if (!whole)
				add_warning(res, "identify.container-unread",
					    "container not opened (too big to keep, and could not be mapped again)");
			free(ch.h);
		}
		if (mapped)
			munmap(mapped, mlen);
	}

	if (!hs.n && v->size && ext) {
		char low[64];
		size_t n = strlen(ext), lo = 0, hi = id->nexts;

		if (n < sizeof(low)) {
			for (size_t i = 0; i <= n; i++)
				low[i] = (char)tolower((unsigned char)ext[i]);
			while (lo < hi) {   /* the first entry not below low */
				size_t mid = lo + (hi - lo) / 2;

				if (strcmp(id->exts[mid].ext, low) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < id->nexts && strcmp(id->exts[lo].ext, low) == 0; lo++) {
				struct hit h = { .format = id->exts[lo].format, .sig = -1 };

				add_hit(&hs, &h);
			}
		}
		if (hs.n)
			add_warning(res, "identify.extension-only",
				    "identified by its extension '%s' only (no signature exists for %s)", ext,
				    hs.n == 1 ? id->formats[hs.h[0].format].puid : "these formats");
	}
	if (hs.n > 1)
		qsort(hs.h, hs.n, sizeof(*hs.h), cmp_hit);

	if (hs.n && (res->matches = calloc(hs.n, sizeof(*res->matches)))) {
		for (size_t i = 0; i < hs.n; i++) {
			const struct hit *h = &hs.h[i];
			const struct kformat *f = &id->formats[h->format];
			struct kist_id_match *m = &res->matches[i];

			m->puid = f->puid;
			m->name = f->name;
			m->version = f->version;
			m->mime = f->mime;
			m->signature_id = h->sig;
			m->offset = h->off;
			m->end = h->end;
			if (h->container) {
				m->basis = KIST_ID_CONTAINER;
				snprintf(m->basis_text, sizeof(m->basis_text), "container %ld (%s): %s", h->sig,
					 ctype == CT_ZIP ? "ZIP" : "OLE2", h->entry ? h->entry : "");
			} else if (h->sig >= 0) {
				m->basis = KIST_ID_SIGNATURE;
				snprintf(m->basis_text, sizeof(m->basis_text), "signature %ld at %llu-%llu", h->sig,
					 (unsigned long long)h->off, (unsigned long long)h->end);
			} else {
				m->basis = KIST_ID_EXTENSION;
				snprintf(m->basis_text, sizeof(m->basis_text), "extension %s", ext);
			}
		}
		res->nmatches = hs.n;
	}
	if (res->nmatches && res->matches[0].basis != KIST_ID_EXTENSION && ext) {
		int any = 0, listed = 0;

		for (size_t i = 0; i < hs.n; i++) {
			listed |= id->formats[hs.h[i].format].nexts > 0;
			any |= format_has_ext(&id->formats[hs.h[i].format], ext);
		}
		if (listed && !any)
			add_warning(res, "identify.extension-mismatch",
				    "extension '%s' does not match the format found (%s %s%s%s)", ext,
				    res->matches[0].puid, res->matches[0].name,
				    res->matches[0].version[0] ? " " : "", res->matches[0].version);
	}
	if (res->nmatches > 1)
		add_warning(res, "identify.multiple", "%zu formats match; all are reported", res->nmatches);
	free(hs.h);

	if (!id->opt.no_magic) {
		char *mime, *desc;

		kmagic_buffer(id, v->head, v->headlen, &mime, &desc);
		res->magic_mime = mime;
		res->magic_description = desc;
	}
}

/* --- the consumer ------------------------------------------------------------------- */

static int container_magic(const unsigned char *b, size_t n)
{
	static const unsigned char ole2[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };

	return (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6) ||
							(b[2] == 7 && b[3] == 8))) ||
	       (n >= 8 && memcmp(b, ole2, 8) == 0);
}

static void *c_open(void *arg, size_t index, const char *path, uint64_t size)
{
	struct kist_identifier *id = arg;
	struct idstate *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->id = id;
	st->expect = size;
	st->path = strdup(path);
	st->res.path = st->path;
	if (!st->path) {
		kist_id_result_free(st);
		return NULL;
	}
	return st;
}

/* What the consumer has for matching when the pipeline closes the file. */
static void clear_result(struct kist_id_result *r)
{
	free(r->matches);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i].message);
	free(r->warnings);
	free((char *)r->magic_mime);
	free((char *)r->magic_description);
	r->matches = NULL;
	r->warnings = NULL;
	r->magic_mime = r->magic_description = NULL;
	r->nmatches = r->nwarnings = 0;
}

static void c_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct idstate *st = state;
	size_t w = st->id->opt.window;

	if (st->early) {
		st->grown = 1;   /* the pipeline reports it (file.changed) */
		return;
	}
	if (offset == 0 && len && len == st->expect && len <= 2 * (uint64_t)w) {
		/* The whole file in one block, as the pipeline hands over a small
		 * file: the view c_close would build is this block, so match it
		 * here rather than copy it. */
		struct kview v = { buf, buf, len, len, len };

		st->early = 1;
		st->seen = len;
		identify_view(st->id, &st->res, &v, buf, len, st->path);
		return;
	}
	if (st->no_memory)
		return;
	if (!st->head && !(st->head = malloc(w))) {
		st->no_memory = 1;
		return;
	}
	if (offset == 0 && len && st->expect != UINT64_MAX && st->expect <= st->id->opt.container_max &&
	    st->expect <= SIZE_MAX && container_magic(buf, len)) {
		st->whole = malloc((size_t)st->expect ? (size_t)st->expect : 1);
		st->keep_whole = st->whole != NULL;
	}
	if (st->keep_whole) {
		if (offset + len > st->expect) {
			st->keep_whole = 0;   /* it grew: the pipeline will say so */
		} else {
			memcpy(st->whole + offset, buf, len);
			st->wholelen = (size_t)(offset + len);
		}
	}
	if (st->headlen < w) {
		size_t n = len < w - st->headlen ? len : w - st->headlen;

		memcpy(st->head + st->headlen, buf, n);
		st->headlen += n;
	}
	/* the ring keeps the last w bytes seen; a file the head holds whole
	 * (as its size says) needs none */
	if (st->expect <= w && offset + len <= w) {
		st->seen = offset + len;
		return;
	}
	if (!st->ring && !(st->ring = malloc(w))) {
		st->no_memory = 1;
		return;
	}
	if (len >= w) {
		memcpy(st->ring, buf + len - w, w);
		st->ringpos = 0;
		st->ringlen = w;
	} else {
		size_t first = w - st->ringpos < len ? w - st->ringpos : len;

		memcpy(st->ring + st->ringpos, buf, first);
		memcpy(st->ring, buf + first, len - first);
		st->ringpos = (st->ringpos + len) % w;
		st->ringlen = st->ringlen + len > w ? w : st->ringlen + len;
	}
	st->seen = offset + len;
}

static void c_close(void *state, int failed)
{
	struct idstate *st = state;
	struct kist_identifier *id = st->id;
	size_t w = id->opt.window;
	unsigned char *tail = NULL, *joined = NULL;
	struct kview v;

	if (st->early) {
		if (failed || st->grown) {
			clear_result(&st->res);
			st->res.failed = 1;
		}
		goto out;
	}
	if (failed || (st->expect <= w && st->seen > st->expect)) {
		/* unreadable, or grown past the size it was opened with (the
		 * pipeline reports that as file.changed) */
		st->res.failed = 1;
		goto out;
	}
	if (st->no_memory)
		goto oom;
	/* the ring in order: oldest byte at ringpos when full */
	if (st->ringlen == w && st->seen > w) {
		if (!(tail = malloc(w)))
			goto oom;
		memcpy(tail, st->ring + st->ringpos, w - st->ringpos);
		memcpy(tail + (w - st->ringpos), st->ring, st->ringpos);
	}
	v.size = st->seen;
	if (st->keep_whole && st->wholelen == st->seen) {
		v.head = v.tail = st->whole;
		v.headlen = v.taillen = st->wholelen;
	} else if (st->seen <= w) {
		v.head = v.tail = st->head ? st->head : (const unsigned char *)"";
		v.headlen = v.taillen = st->headlen;
	} else if (st->seen <= 2 * (uint64_t)w) {
		/* head plus the part of the tail beyond it: the whole file */
		size_t rest = (size_t)st->seen - w;

		if (!(joined = malloc((size_t)st->seen)))
			goto oom;
		memcpy(joined, st->head, w);
		memcpy(joined + w, tail + (w - rest), rest);
		v.head = v.tail = joined;
		v.headlen = v.taillen = (size_t)st->seen;
	} else {
		v.head = st->head;
		v.headlen = st->headlen;
		v.tail = tail;
		v.taillen = w;
	}
	identify_view(id, &st->res, &v, st->keep_whole && st->wholelen == st->seen ? st->whole : NULL,
		      st->wholelen, st->path);
	goto out;
oom:
	add_warning(&st->res, "identify.no-memory", "out of memory: not identified");
out:
	free(tail);
	free(joined);
	free(st->head);
	free(st->ring);
	free(st->whole);
	st->head = st->ring = st->whole = NULL;
}

static const struct kist_consumer *make_consumer(struct kist_identifier *id)
{
	id->consumer.open = c_open;
	id->consumer.update = c_update;
	id->consumer.close = c_close;
	id->consumer.arg = id;
	id->consumer.discard = kist_id_result_free;
	return &id->consumer;
}

const struct kist_consumer *kist_identifier_consumer(struct kist_identifier *id)
{
	return &id->consumer;
}

struct kist_id_result *kist_identify_buffer(struct kist_identifier *id, const char *name,
					    const void *buf, size_t len)
{
	struct idstate *st = c_open(id, 0, name ? name : "", len);

	if (!st)
		return NULL;
	/* in blocks, as the pipeline would hand them over */
	for (size_t off = 0; off < len || (off == 0 && len == 0); off += 1 << 20) {
		size_t n = len - off < (1u << 20) ? len - off : 1u << 20;

		if (n)
			c_update(st, (const unsigned char *)buf + off, n, off);
		if (!len)
			break;
	}
	c_close(st, 0);
	return &st->res;
}

struct kist_id_result *kist_identify_file(struct kist_identifier *id, int dirfd, const char *path,
					  struct kist_error *err)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct idstate *st;
	unsigned char *buf;
	struct stat sb;
	uint64_t off = 0;
	ssize_t n;

	if (fd < 0) {
		kist_error_sys(err, errno, "cannot open %s", path);
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		kist_error_set(err, KIST_FAILED, "%s is not a regular file", path);
		close(fd);
		return NULL;
	}
	st = c_open(id, 0, path, (uint64_t)sb.st_size);
	buf = malloc(1 << 20);
	if (!st || !buf) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		kist_id_result_free(st);
		free(buf);
		close(fd);
		return NULL;
	}
	while ((n = read(fd, buf, 1 << 20)) > 0) {
		c_update(st, buf, (size_t)n, off);
		off += (uint64_t)n;
	}
	free(buf);
	if (n < 0) {
		kist_error_sys(err, errno, "cannot read %s", path);
		c_close(st, 1);
	} else {
		c_close(st, 0);
	}
	close(fd);
	return &st->res;
}
