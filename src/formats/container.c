/* Container entries: ZIP through libarchive, OLE2 compound files (CFB) with a
 * small reader of our own. Both work on bytes in memory (the file kept while
 * the pipeline read it, or mapped) and are bounded: entry counts, entry
 * bytes, chain lengths and tree walks all have limits, and every sector
 * number is checked against the file. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "formats.h"

#define MAX_ENTRIES 20000         /* entries looked at */
#define MAX_NAME 1024             /* bytes of an entry name kept */
#define ENTRY_CAP (1u << 20)      /* bytes of a wanted entry kept */
#define MAX_DIR_ENTRIES 16384     /* OLE2 directory entries walked */
#define TOTAL_CAP (16u << 20)     /* bytes of all wanted entries together */

void kentries_free(struct kentries *es)
{
	for (size_t i = 0; i < es->n; i++) {
		free(es->e[i].name);
		free(es->e[i].data);
	}
	free(es->e);
	memset(es, 0, sizeof(*es));
}

static struct kentry *add_entry(struct kentries *es, const char *name)
{
	struct kentry *e;

	if (es->n >= MAX_ENTRIES)
		return NULL;
	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 32;
		struct kentry *ne = realloc(es->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		es->e = ne;
		es->cap = cap;
	}
	e = &es->e[es->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = strndup(name, MAX_NAME)))   /* container paths are short */
		return NULL;
	es->n++;
	return e;
}

/* Is this entry's content needed? Only the first entry of a name, and only
 * while the container's kept bytes stay under TOTAL_CAP. */
static int wanted(const struct kist_identifier *id, const struct kentries *es, const char *name)
{
	size_t total = 0;
	int want = 0;

	for (size_t i = 0; i < id->nwanted && !want; i++)
		want = strcmp(id->wanted[i], name) == 0;
	if (!want)
		return 0;
	for (size_t i = 0; i + 1 < es->n; i++) {   /* the last entry is this one */
		if (es->e[i].data && strcmp(es->e[i].name, name) == 0)
			return 0;
		total += es->e[i].len;
	}
	return total + ENTRY_CAP <= TOTAL_CAP;
}

/* --- ZIP ------------------------------------------------------------------------- */

static int zip_pass(const struct kist_identifier *id, const void *buf, size_t len, int seekable,
		    struct kentries *es, char *why, size_t wl)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	int r, rc = 0;

	if (!a) {
		snprintf(why, wl, "out of memory");
		return -1;
	}
	if (seekable)
		archive_read_support_format_zip_seekable(a);
	else
		archive_read_support_format_zip_streamable(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		snprintf(why, wl, "%s", archive_error_string(a) ? archive_error_string(a) : "not a ZIP");
		archive_read_free(a);
		return -1;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(ae);
		struct kentry *e;

		if (!name)
			continue;
		if (!(e = add_entry(es, name)))
			break;
		if (archive_entry_filetype(ae) == AE_IFREG && wanted(id, es, name)) {
			size_t cap = archive_entry_size_is_set(ae) && archive_entry_size(ae) >= 0 &&
						     (uint64_t)archive_entry_size(ae) < ENTRY_CAP
					     ? (size_t)archive_entry_size(ae) + 1
					     : ENTRY_CAP;
			unsigned char *d = malloc(cap);
			la_ssize_t n;
			size_t got = 0;

			if (!d)
				break;
			while (got < cap && (n = archive_read_data(a, d + got, cap - got)) > 0)
				got += (size_t)n;
			e->data = d;
			e->len = got;
		}
	}
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		snprintf(why, wl, "%s", archive_error_string(a) ? archive_error_string(a) : "damaged ZIP");
		rc = -1;
	}
	archive_read_free(a);
	return rc;
}

int kzip_entries(const struct kist_identifier *id, const void *buf, size_t len,
		 struct kentries *es, char *why, size_t wl)
{
	/* the central directory first; a ZIP whose directory is damaged or
	 * missing (truncated) is read through its local headers */
	if (zip_pass(id, buf, len, 1, es, why, wl) == 0 && es->n)
		return 0;
	kentries_free(es);
	return zip_pass(id, buf, len, 0, es, why, wl) < 0 && !es->n ? -1 : 0;
}

/* --- OLE2 / CFB ------------------------------------------------------------------ */

#define ENDOFCHAIN 0xFFFFFFFEu
#define MAXREGSECT 0xFFFFFFFAu

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

struct cfb {
	const unsigned char *buf;
	size_t len;
	size_t ssz;                    /* sector size */
	uint32_t nsec;                 /* sectors in the file */
	uint32_t *fat;
	uint32_t nfat;                 /* FAT entries */
	uint32_t *minifat;
	uint32_t nminifat;
	uint32_t *ministream;          /* sectors of the mini stream, in order */
	uint32_t nministream;
	uint32_t cutoff;
};

static const unsigned char *sector(const struct cfb *c, uint32_t s)
{
	if (s >= c->nsec)
		return NULL;
	return c->buf + ((size_t)s + 1) * c->ssz;
}

/* The sectors of a chain, at most max of them; NULL on a loop or a bad link. */
static uint32_t *chain(const struct cfb *c, uint32_t start, uint32_t max, uint32_t *n)
{
	uint32_t *v = NULL, cap = 0;

	*n = 0;
	for (uint32_t s = start; s != ENDOFCHAIN; s = c->fat[s]) {
		if (s > MAXREGSECT || s >= c->nfat || s >= c->nsec || *n >= max || *n > c->nfat) {
			free(v);
			return NULL;
		}
		if (*n == cap) {
			uint32_t *nv;

			cap = cap ? cap * 2 : 16;
			if (!(nv = realloc(v, cap * sizeof(*nv)))) {
				free(v);
				return NULL;
			}
			v = nv;
		}
		v[(*n)++] = s;
	}
	return v ? v : calloc(1, sizeof(*v));
}

/* Reads a chain's bytes into a new array of n 32-bit entries (FAT sectors). */
static uint32_t *read_u32_chain(const struct cfb *c, uint32_t start, uint32_t count, uint32_t *n)
{
	uint32_t ns, *secs = chain(c, start, count ? count : c->nsec, &ns), *out;
	size_t per = c->ssz / 4;

	*n = 0;
	if (!secs)
		return NULL;
	if (!(out = calloc((size_t)ns * per + 1, sizeof(*out)))) {
		free(secs);
		return NULL;
	}
	for (uint32_t i = 0; i < ns; i++) {
		const unsigned char *p = sector(c, secs[i]);

		for (size_t k = 0; k < per; k++)
			out[(size_t)i * per + k] = le32(p + 4 * k);
	}
	*n = (uint32_t)((size_t)ns * per);
	free(secs);
	return out;
}

static int cfb_open(struct cfb *c, const unsigned char *buf, size_t len, char *why, size_t wl)
{
	static const unsigned char magic[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
	uint32_t nfatsec, difat_start, ndifat, *fatsecs = NULL, nfs = 0;
	unsigned shift;

	memset(c, 0, sizeof(*c));
	if (len < 512 || memcmp(buf, magic, 8) != 0) {
		snprintf(why, wl, "not an OLE2 compound file");
		return -1;
	}
	shift = le16(buf + 0x1E);
	if ((shift != 9 && shift != 12) || le16(buf + 0x20) != 6 || le16(buf + 0x1C) != 0xFFFE) {
		snprintf(why, wl, "OLE2 header: unsupported sector size or byte order");
		return -1;
	}
	c->buf = buf;
	c->len = len;
	c->ssz = (size_t)1 << shift;
	if (len <= c->ssz) {
		snprintf(why, wl, "OLE2 file holds no sectors");
		return -1;
	}
	c->nsec = (uint32_t)((len - c->ssz) / c->ssz > 0xFFFFFFF0u ? 0xFFFFFFF0u : (len - c->ssz) / c->ssz);
	c->cutoff = le32(buf + 0x38);
	nfatsec = le32(buf + 0x2C);
	difat_start = le32(buf + 0x44);
	ndifat = le32(buf + 0x48);
	if (nfatsec > c->nsec) {
		snprintf(why, wl, "OLE2 header: %u FAT sectors in a file of %u", nfatsec, c->nsec);
		return -1;
	}
	if (!(fatsecs = calloc((size_t)nfatsec + 1, sizeof(*fatsecs))))
		goto oom;
	for (uint32_t i = 0; i < 109 && nfs < nfatsec; i++)
		fatsecs[nfs++] = le32(buf + 0x4C + 4 * i);
	/* the DIFAT chain: each sector lists FAT sectors, the last entry links on */
	for (uint32_t s = difat_start, k = 0; nfs < nfatsec && s <= MAXREGSECT && k < ndifat && k <= c->nsec; k++) {
		const unsigned char *p = sector(c, s);
		size_t per = c->ssz / 4 - 1;

		if (!p)
			break;
		for (size_t i = 0; i < per && nfs < nfatsec; i++)
			fatsecs[nfs++] = le32(p + 4 * i);
		s = le32(p + 4 * per);
	}
	if (!(c->fat = calloc((size_t)nfs * (c->ssz / 4) + 1, sizeof(*c->fat))))
		goto oom;
	for (uint32_t i = 0; i < nfs; i++) {
		const unsigned char *p = sector(c, fatsecs[i]);

		if (!p) {
			snprintf(why, wl, "OLE2 FAT sector %u is outside the file", fatsecs[i]);
			free(fatsecs);
			return -1;
		}
		for (size_t k = 0; k < c->ssz / 4; k++)
			c->fat[(size_t)i * (c->ssz / 4) + k] = le32(p + 4 * k);
	}
	c->nfat = (uint32_t)((size_t)nfs * (c->ssz / 4));
	free(fatsecs);
	return 0;
oom:
	free(fatsecs);
	snprintf(why, wl, "out of memory");
	return -1;
}

static void cfb_close(struct cfb *c)
{
	free(c->fat);
	free(c->minifat);
	free(c->ministream);
}

/* Copies up to cap bytes of a stream. */
static unsigned char *stream_bytes(struct cfb *c, uint32_t start, uint64_t size, size_t *outlen)
{
	size_t want = size > ENTRY_CAP ? ENTRY_CAP : (size_t)size, got = 0;
	unsigned char *out = malloc(want ? want : 1);

	*outlen = 0;
	if (!out)
		return NULL;
	if (size < c->cutoff) {
		uint32_t s = start, steps = 0;

		while (got < want && s <= MAXREGSECT && s < c->nminifat && steps++ <= c->nminifat) {
			size_t off = (size_t)s * 64, sec = off / c->ssz, in = off % c->ssz, n;
			const unsigned char *p;

			if (sec >= c->nministream || !(p = sector(c, c->ministream[sec])))
				break;
			n = want - got < 64 ? want - got : 64;
			memcpy(out + got, p + in, n);
			got += n;
			s = c->minifat[s];
		}
	} else {
		uint32_t s = start, steps = 0;

		while (got < want && s <= MAXREGSECT && s < c->nfat && steps++ <= c->nfat) {
			const unsigned char *p = sector(c, s);
			size_t n;

			if (!p)
				break;
			n = want - got < c->ssz ? want - got : c->ssz;
			memcpy(out + got, p, n);
			got += n;
			s = c->fat[s];
		}
	}
	*outlen = got;
	return out;
}

/* An entry's name as UTF-8, control characters at the start (\1CompObj,
 * \5SummaryInformation) dropped as DROID does. */
static void entry_name(const unsigned char *d, char *out, size_t outlen)
{
	unsigned nl = le16(d + 64);
	size_t o = 0;
	int lead = 1;

	if (nl > 64)
		nl = 64;
	for (unsigned i = 0; i + 1 < nl; i += 2) {
		unsigned u = le16(d + i);

		if (!u)
			break;
		if (lead && u < 0x20)
			continue;
		lead = 0;
		if (u >= 0xD800 && u < 0xE000)
			u = 0xFFFD;
		if (u < 0x80 && o + 1 < outlen)
			out[o++] = (char)u;
		else if (u < 0x800 && o + 2 < outlen) {
			out[o++] = (char)(0xC0 | u >> 6);
			out[o++] = (char)(0x80 | (u & 0x3F));
		} else if (u >= 0x800 && o + 3 < outlen) {
			out[o++] = (char)(0xE0 | u >> 12);
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (u & 0x3F));
		}
	}
	out[o] = 0;
}

int kole2_entries(const struct kist_identifier *id, const void *vbuf, size_t len,
		  struct kentries *es, char *why, size_t wl)
{
	const unsigned char *buf = vbuf;
	struct cfb c;
	uint32_t ndir_secs, *dirsecs = NULL, nentries;
	unsigned char *seen = NULL;
	struct walk {
		uint32_t e;
		int parent;    /* index into paths, -1 root */
	} *stack = NULL;
	char (*paths)[256] = NULL;
	size_t sp = 0;
	int rc = -1;

	if (cfb_open(&c, buf, len, why, wl) < 0) {
		cfb_close(&c);
		return -1;
	}
	dirsecs = chain(&c, le32(buf + 0x30), c.nsec, &ndir_secs);
	if (!dirsecs || !ndir_secs) {
		snprintf(why, wl, "OLE2 directory chain is broken");
		goto out;
	}
	nentries = (uint32_t)(ndir_secs * (c.ssz / 128));
	if (nentries > MAX_DIR_ENTRIES)
		nentries = MAX_DIR_ENTRIES;   /* the rest is not looked at */
#define DIRENT(i) (sector(&c, dirsecs[(i) / (c.ssz / 128)]) + ((i) % (c.ssz / 128)) * 128)
	/* the mini stream and its FAT */
	{
		const unsigned char *root = DIRENT(0);
		uint32_t nmf;

		if (root[66] != 5) {
			snprintf(why, wl, "OLE2 directory does not start with a root entry");
			goto out;
		}
		c.ministream = chain(&c, le32(root + 116), c.nsec, &c.nministream);
		nmf = le32(buf + 0x40);
		c.minifat = nmf ? read_u32_chain(&c, le32(buf + 0x3C), nmf, &c.nminifat) : NULL;
		if (!c.ministream) {
			c.nministream = 0;
		}
	}
	seen = calloc(nentries, 1);
	stack = calloc(3 * (size_t)nentries + 2, sizeof(*stack));
	paths = calloc(nentries + 1, sizeof(*paths));
	if (!seen || !stack || !paths) {
		snprintf(why, wl, "out of memory");
		goto out;
	}
	seen[0] = 1;
	if (le32(DIRENT(0) + 76) < nentries)
		stack[sp++] = (struct walk){ le32(DIRENT(0) + 76), -1 };
	while (sp) {
		struct walk w = stack[--sp];
		const unsigned char *d;
		char name[200];
		uint32_t l, r, ch;
		struct kentry *e;

		if (w.e >= nentries || seen[w.e])
			continue;   /* out of range or a loop: skip it */
		seen[w.e] = 1;
		d = DIRENT(w.e);
		entry_name(d, name, sizeof(name));
		if (w.parent >= 0 && (uint32_t)w.parent != w.e) {
			char parent[256];

			memcpy(parent, paths[w.parent], sizeof(parent));
			snprintf(paths[w.e], sizeof(paths[w.e]), "%.120s/%.120s", parent, name);
		}
		else
			snprintf(paths[w.e], sizeof(paths[w.e]), "%s", name);
		l = le32(d + 68);
		r = le32(d + 72);
		ch = le32(d + 76);
		if (l < nentries)
			stack[sp++] = (struct walk){ l, w.parent };
		if (r < nentries)
			stack[sp++] = (struct walk){ r, w.parent };
		if (d[66] == 1 && ch < nentries)
			stack[sp++] = (struct walk){ ch, (int)w.e };
		if (d[66] != 1 && d[66] != 2)
			continue;
		if (!(e = add_entry(es, paths[w.e])))
			break;
		if (d[66] == 2 && wanted(id, es, paths[w.e])) {
			uint64_t size = le32(d + 120);

			if (c.ssz == 4096)
				size |= (uint64_t)le32(d + 124) << 32;
			e->data = stream_bytes(&c, le32(d + 116), size, &e->len);
		}
	}
#undef DIRENT
	rc = 0;
out:
	free(seen);
	free(stack);
	free(paths);
	free(dirsecs);
	cfb_close(&c);
	return rc;
}
