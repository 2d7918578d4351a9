/* A serialized bag (tar, tar.gz, zip) read in one streaming pass.
 *
 * Entries are taken in whatever order the archive holds them. Tag files
 * (everything outside data/) are small and kept in memory: the bag is read
 * from them with the directory reader's parsers (kist_bag_open_memory).
 * Payload entries are never kept: their bytes go to the stream hasher as they
 * pass, with the algorithms of the payload manifests seen so far. Payload
 * that comes before any payload manifest (Debian's tar, `kist bag create
 * --pack`) is, in an uncompressed archive in a regular file, only noted
 * (where its bytes lie) and hashed at the end of the pass, by pread, with
 * the algorithms the manifests turned out to name; in a compressed archive
 * it is hashed as it passes with every algorithm kist knows (the slow path). At the end the listing and the
 * digests are handed to validate.c as a view: the same checks, findings and
 * verdict as for a directory. Memory grows with the number of entries (a
 * path, a size and the digests each), not with their bytes.
 *
 * Finding codes added here (errors unless said):
 *   archive.unsafe-path archive.top-level archive.name-mismatch (warning)
 *   archive.duplicate-entry archive.link-outside archive.hardlink-outside
 *   archive.special-file archive.corrupt archive.too-large archive.bomb
 *   archive.tag-too-large (failure) archive.order (failure) archive.unreadable (failure)
 *   payload.symlink payload.special-file (as for a directory) */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/bag.h>
#include <kist/checklist.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/progress.h>

#include "transfer.h"

#define READ_BLOCK (1u << 20)
#define TAG_MEMORY_MAX (256u << 20)      /* tag files other than manifests, in all */
#define MANIFEST_MAX ((size_t)4 << 30)   /* one manifest */
#define RATIO_FLOOR (32u << 20)          /* the ratio guard starts past this many bytes */
#define DIRECT_MIN (256u << 10)         /* entries read by the workers themselves */
#define ALL_ALGS ((kist_algset)((1u << KIST_ALG_COUNT) - 1))

enum { E_REG, E_DIR, E_SYMLINK, E_HARD, E_SPECIAL };

struct xent {
	char *path;                 /* below the top directory: "data/a.txt" */
	uint64_t size;
	unsigned char type;
	unsigned char failed;       /* its bytes could not all be read */
	kist_algset algs;           /* digests computed */
	unsigned char *digest;      /* kist_alg_size() bytes per alg in algs, in alg order */
	size_t target;              /* E_HARD: the entry it links to */
	char *mem;                  /* a tag file's bytes */
	size_t memlen;
};

struct xa {
	const struct kist_bag_validate_options *opt;
	const struct kist_archive_limits *limits;
	const struct kist_archive_sink *sink;
	struct kist_findings *fs;
	struct archive *a;
	const char *name;           /* the archive's path, for messages */

	struct xent *e;
	size_t n, cap;
	size_t *table;              /* open addressing: index + 1, 0 empty */
	size_t tcap;

	char *top;                  /* the single top-level directory */
	char *tops_reported[16];
	size_t ntops_reported;
	int has_data_dir;
	kist_algset payload_algs;   /* of the payload manifests seen so far */
	uint64_t tag_memory;
	uint64_t total;             /* uncompressed bytes read */
	int stop;                   /* a guard or a damaged archive ended the pass */
	int sink_failed;            /* unpack could not write: no verdict to give */
	int failed_oom;
	struct kist_shash *hasher;
	int fd;                     /* the archive, for workers' preads; -1 if not seekable */
	uint64_t file_size;
	char **odd;
	size_t nodd;
	struct deferred {           /* payload before the manifests: hashed at the end */
		size_t idx;
		uint64_t offset, length;
	} *deferred;
	size_t ndeferred, capdeferred;
};

/* --- the table of entries, by path ------------------------------------------ */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct xent *find(const struct xa *x, const char *path)
{
	if (!x->tcap)
		return NULL;
	for (size_t i = hash_str(path) & (x->tcap - 1);; i = (i + 1) & (x->tcap - 1)) {
		if (!x->table[i])
			return NULL;
		if (strcmp(x->e[x->table[i] - 1].path, path) == 0)
			return &x->e[x->table[i] - 1];
	}
}

static int table_put(struct xa *x, size_t idx)
{
	if ((x->n + 1) * 2 > x->tcap) {
		size_t cap = x->tcap ? x->tcap * 2 : 1024;
		size_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return -1;
		for (size_t k = 0; k < x->n; k++) {
			if (k == idx)
				continue;
			size_t i = hash_str(x->e[k].path) & (cap - 1);

			while (t[i])
				i = (i + 1) & (cap - 1);
			t[i] = k + 1;
		}
		free(x->table);
		x->table = t;
		x->tcap = cap;
	}
	{
		size_t i = hash_str(x->e[idx].path) & (x->tcap - 1);

		while (x->table[i])
			i = (i + 1) & (x->tcap - 1);
		x->table[i] = idx + 1;
	}
	return 0;
}

static struct xent *add_entry(struct xa *x, const char *path, int type)
{
	struct xent *e;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct xent *n = realloc(x->e, cap * sizeof(*n));

		if (!n)
			return NULL;
		x->e = n;
		x->cap = cap;
	}
	e = &x->e[x->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return NULL;
	e->type = (unsigned char)type;
	x->n++;
	if (table_put(x, x->n - 1) < 0) {
		x->n--;
		free(e->path);
		return NULL;
	}
	return e;
}

static int add_odd(struct xa *x, const char *path)
{
	char **n = realloc(x->odd, (x->nodd + 1) * sizeof(*n));

	if (!n)
		return -1;
	x->odd = n;
	if (!(n[x->nodd] = strdup(path)))
		return -1;
	x->nodd++;
	return 0;
}

/* --- names -------------------------------------------------------------------- */

/* "./bag/data/a/" -> "bag/data/a" in buf; "" for "./". */
static void clean_name(const char *raw, char *buf, size_t len)
{
	size_t n;

	while (raw[0] == '.' && raw[1] == '/') {
		raw += 2;
		while (*raw == '/')
			raw++;
	}
	snprintf(buf, len, "%s", raw);
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (strcmp(buf, ".") == 0)
		buf[0] = '\0';
}

/* The name a packed bag's top directory should have: the archive's file
 * name without its extension. */
static char *expected_top(const char *archive)
{
	static const char *const ext[] = { ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz",
					   ".tar", ".zip" };
	const char *base = strrchr(archive, '/') ? strrchr(archive, '/') + 1 : archive;
	char *s = strdup(base);
	size_t n = s ? strlen(s) : 0;

	for (size_t i = 0; s && i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t el = strlen(ext[i]);

		if (n > el && strcasecmp(s + n - el, ext[i]) == 0) {
			s[n - el] = '\0';
			break;
		}
	}
	return s;
}

/* Does a symlink at path (below the top) with this target stay inside? */
static int link_stays_inside(const char *path, const char *target)
{
	long depth = 0;
	const char *p;

	if (!target[0] || target[0] == '/')
		return 0;
	for (p = path; *p; p++)
		if (*p == '/')
			depth++;
	/* depth: directories between the top and the link */
	for (p = target; *p;) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (!(len == 1 && p[0] == '.') && len) {
			depth++;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	return 1;
}

/* Splits a cleaned archive name into the top directory and the rest; checks
 * the top. Returns the rest ("" for the top itself) or NULL when the entry
 * is not part of the bag (reported). */
static const char *below_top(struct xa *x, char *name, const char *raw)
{
	char *slash = strchr(name, '/');
	const char *rest = slash ? slash + 1 : "";

	if (slash)
		*slash = '\0';
	if (!x->top) {
		if (!(x->top = strdup(name))) {
			x->failed_oom = 1;
			return NULL;
		}
		if (x->sink && x->sink->top && x->sink->top(x->sink->ctx, name) < 0) {
			x->stop = x->sink_failed = 1;
			return NULL;
		}
	}
	if (strcmp(name, x->top) != 0) {
		for (size_t i = 0; i < x->ntops_reported; i++)
			if (strcmp(x->tops_reported[i], name) == 0)
				return NULL;
		if (x->ntops_reported < sizeof(x->tops_reported) / sizeof(x->tops_reported[0]) &&
		    (x->tops_reported[x->ntops_reported] = strdup(name)))
			x->ntops_reported++;
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.top-level", raw,
				  "a second top-level entry '%s' beside '%s': a serialized bag holds "
				  "one directory, the bag; not read", name, x->top);
		return NULL;
	}
	return rest;
}

/* --- guards ------------------------------------------------------------------ */

static int guard(struct xa *x, const char *path, uint64_t more)
{
	uint64_t max = x->limits ? x->limits->max_bytes : 0;
	unsigned ratio = x->limits ? x->limits->max_ratio : 0;
	int64_t packed;

	x->total += more;
	if (max && x->total > max) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.too-large", path,
				  "the archive unpacks to more than %" PRIu64 " bytes; stopped", max);
		return -1;
	}
	packed = archive_filter_bytes(x->a, -1);
	if (ratio && x->total > RATIO_FLOOR && packed > 0 &&
	    x->total / (uint64_t)packed > ratio) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.bomb", path,
				  "%" PRIu64 " bytes unpacked from %" PRId64 " (more than %u to 1): a "
				  "compression bomb; stopped", x->total, packed, ratio);
		return -1;
	}
	return 0;
}

static void damaged(struct xa *x, const char *path, const char *what)
{
	int e = archive_errno(x->a);
	const char *msg = archive_error_string(x->a);

	/* an I/O error is a failure to read; anything else is damage in the data */
	if (e == EIO || e == ENOMEM || e == EACCES || e == EISDIR)
		kist_findings_add(x->fs, KIST_SEV_FAILURE, "archive.unreadable", path, "%s: %s", what,
				  msg ? msg : strerror(e));
	else
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.corrupt", path, "%s: %s", what,
				  msg ? msg : "damaged archive");
	x->stop = 1;
}

/* --- reading one entry's bytes ---------------------------------------------------- */

static int is_manifest(const char *rest, int *alg, int *is_tag)
{
	if (strchr(rest, '/') || strlen(rest) < 5 || strcmp(rest + strlen(rest) - 4, ".txt") != 0)
		return 0;
	if (strncmp(rest, "manifest-", 9) != 0 && strncmp(rest, "tagmanifest-", 12) != 0)
		return 0;
	if (kist_checklist_kind_for_name(rest, alg) == KIST_LIST_GNU || *alg < 0)
		return 0;
	*is_tag = rest[0] == 't';
	return 1;
}

static void store_digest(void *ctx, size_t id, kist_algset algs, int failed,
			 unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX])
{
	struct xa *x = ctx;
	struct xent *e = &x->e[id];
	size_t len = 0, off = 0;

	if (failed) {
		e->failed = 1;
		return;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a))
			len += kist_alg_size(a);
	if (!(e->digest = malloc(len ? len : 1))) {
		x->failed_oom = 1;
		return;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a)) {
			memcpy(e->digest + off, digest[a], kist_alg_size(a));
			off += kist_alg_size(a);
		}
	e->algs = algs;
}

/* An uncompressed archive in a regular file holds a large entry's bytes as
 * they are, at the position the reader has reached: the workers can read
 * them there themselves, in parallel, as they read a directory's files. The
 * first block libarchive gave must be the same bytes at that position, or
 * the entry is read the ordinary way. */
static int bytes_in_place(struct xa *x, uint64_t data_off, uint64_t declared, const void *first,
			  size_t len)
{
	unsigned char probe[4096];
	size_t n = len < sizeof(probe) ? len : sizeof(probe);

	return data_off + declared <= x->file_size && n &&
	       pread(x->fd, probe, n, (off_t)data_off) == (ssize_t)n && memcmp(probe, first, n) == 0;
}

static int try_direct(struct xa *x, size_t idx, kist_algset algs, uint64_t data_off,
		      uint64_t declared, const void *first, size_t len)
{
	if (!bytes_in_place(x, data_off, declared, first, len))
		return 0;
	return kist_shash_range(x->hasher, idx, algs, x->fd, data_off, declared) == 0;
}

/* A payload entry before any payload manifest, its bytes in place: noted,
 * to be hashed once the manifests have said which algorithms. */
static int try_defer(struct xa *x, size_t idx, uint64_t data_off, uint64_t declared,
		     const void *first, size_t len)
{
	if (!bytes_in_place(x, data_off, declared, first, len))
		return 0;
	if (x->ndeferred == x->capdeferred) {
		size_t cap = x->capdeferred ? x->capdeferred * 2 : 256;
		struct deferred *d = realloc(x->deferred, cap * sizeof(*d));

		if (!d)
			return 0;   /* hashed now, the slow way */
		x->deferred = d;
		x->capdeferred = cap;
	}
	x->deferred[x->ndeferred++] = (struct deferred){ idx, data_off, declared };
	return 1;
}

/* The deferred entries, with the payload manifests' algorithms. */
static void hash_deferred(struct xa *x)
{
	kist_algset algs = x->payload_algs ? x->payload_algs : ALL_ALGS;

	for (size_t i = 0; i < x->ndeferred && !x->failed_oom; i++)
		if (kist_shash_range(x->hasher, x->deferred[i].idx, algs, x->fd, x->deferred[i].offset,
				     x->deferred[i].length) != 0)
			x->failed_oom = 1;
}

/* The bytes of a regular entry: to the hasher (payload), memory (tag files)
 * and the sink. Returns -1 when the pass must stop. */
static int read_file(struct xa *x, size_t idx, const char *rest, int keep, uint64_t declared,
		     struct archive_entry *ae)
{
	int payload = strncmp(rest, "data/", 5) == 0;
	kist_algset algs = 0;
	struct kist_shash_job *job = NULL;
	void *out = NULL;
	size_t memcap = 0, cap = 0;
	uint64_t got = 0;
	int rc = 0, alg, is_tag, direct = 0;
	/* where the entry's bytes start, for an uncompressed archive */
	int64_t data_off = x->fd >= 0 && archive_filter_count(x->a) == 1 &&
			   archive_filter_code(x->a, 0) == ARCHIVE_FILTER_NONE
			   ? archive_filter_bytes(x->a, 0) : -1;

	if (payload && x->opt->level == KIST_BAG_CHECK_FULL)
		algs = x->payload_algs ? x->payload_algs : ALL_ALGS;
	if (keep)
		memcap = is_manifest(rest, &alg, &is_tag) ? MANIFEST_MAX
			 : TAG_MEMORY_MAX - (x->tag_memory < TAG_MEMORY_MAX ? x->tag_memory : TAG_MEMORY_MAX);
	if (payload && !algs && !x->sink && archive_entry_size_is_set(ae)) {
		/* --fast, --completeness-only: the size is all that is wanted */
		x->e[idx].size = declared;
		if (x->opt->progress)
			kist_progress_add_file(x->opt->progress);
		if (archive_read_data_skip(x->a) < ARCHIVE_WARN) {
			damaged(x, rest, "cannot read past the entry");
			x->e[idx].failed = 1;
			return -1;
		}
		return 0;
	}
	if (x->sink && !(out = x->sink->file_begin(x->sink->ctx, rest, archive_entry_perm(ae)))) {
		x->sink_failed = 1;
		rc = -1;
	}
	while (!rc) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = archive_read_data_block(x->a, &buf, &size, &offset);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			damaged(x, rest, "cannot read the entry's data");
			x->e[idx].failed = 1;
			rc = -1;
			break;
		}
		if (!got && offset == 0 && algs && !job && !out && data_off >= 0 && size &&
		    !archive_entry_sparse_count(ae) &&
		    ((!x->payload_algs && try_defer(x, idx, (uint64_t)data_off, declared, buf, size)) ||
		     (declared >= DIRECT_MIN &&
		      try_direct(x, idx, algs, (uint64_t)data_off, declared, buf, size)))) {
			direct = 1;
			if (guard(x, rest, declared) < 0) {
				rc = -1;
				break;
			}
			if (archive_read_data_skip(x->a) < ARCHIVE_WARN) {
				damaged(x, rest, "cannot read past the entry");
				x->e[idx].failed = 1;
				rc = -1;
			}
			if (x->opt->progress)
				kist_progress_add_bytes(x->opt->progress, declared);
			got = declared;
			break;
		}
		if (algs && !job && !(job = kist_shash_begin(x->hasher, idx, algs)))
			goto oom;
		/* a sparse entry's holes are zeros */
		while (offset >= 0 && (uint64_t)offset > got) {
			static const unsigned char zeros[65536];
			size_t z = (uint64_t)offset - got > sizeof(zeros) ? sizeof(zeros)
									  : (size_t)((uint64_t)offset - got);

			if (guard(x, rest, z) < 0 || (job && kist_shash_write(job, zeros, z) < 0) ||
			    (out && x->sink->file_write(out, zeros, z) < 0)) {
				rc = -1;
				break;
			}
			if (keep) {
				if (x->e[idx].memlen + z > memcap)
					goto too_big;
				if (x->e[idx].memlen + z > cap) {
					char *m = realloc(x->e[idx].mem, cap = (x->e[idx].memlen + z) * 2);

					if (!m)
						goto oom;
					x->e[idx].mem = m;
				}
				memset(x->e[idx].mem + x->e[idx].memlen, 0, z);
				x->e[idx].memlen += z;
			}
			got += z;
		}
		if (rc)
			break;
		if (!size || !buf)
			continue;   /* an empty block (zip gives some) */
		if (guard(x, rest, size) < 0) {
			rc = -1;
			break;
		}
		if (job)
			kist_shash_write(job, buf, size);
		if (out && x->sink->file_write(out, buf, size) < 0) {
			x->sink_failed = 1;
			rc = -1;
			break;
		}
		if (keep) {
			/* grown as bytes come, never to the size the header claims */
			if (x->e[idx].memlen + size > memcap)
				goto too_big;
			if (x->e[idx].memlen + size > cap) {
				size_t want = (x->e[idx].memlen + size) * 2;
				char *m;

				if (want > memcap)
					want = memcap;
				if (!(m = realloc(x->e[idx].mem, want)))
					goto oom;
				x->e[idx].mem = m;
				cap = want;
			}
			memcpy(x->e[idx].mem + x->e[idx].memlen, buf, size);
			x->e[idx].memlen += size;
		}
		if (x->opt->progress)
			kist_progress_add_bytes(x->opt->progress, size);
		got += size;
	}
	goto done;
too_big:
	kist_findings_add(x->fs, KIST_SEV_FAILURE, "archive.tag-too-large", rest,
			  "a tag file over %zu MiB: not held in memory, not checked", memcap >> 20);
	free(x->e[idx].mem);
	x->e[idx].mem = NULL;
	x->e[idx].memlen = 0;
	x->e[idx].failed = 1;
	keep = 0;
	rc = archive_read_data_skip(x->a) < ARCHIVE_WARN ? -1 : 0;
	goto done;
oom:
	x->failed_oom = 1;
	rc = -1;
done:
	if (keep)
		x->tag_memory += x->e[idx].memlen;
	if (algs && !job && !direct && !x->failed_oom && (job = kist_shash_begin(x->hasher, idx, algs)) == NULL)
		x->failed_oom = 1;   /* an empty entry still has digests */
	if (job)
		kist_shash_end(job);
	if (out && x->sink->file_end(out, archive_entry_mtime(ae), archive_entry_mtime_nsec(ae),
				     rc == 0) < 0) {
		x->sink_failed = 1;
		rc = -1;
	}
	if (!rc && declared && got != declared && archive_entry_size_is_set(ae) && !x->e[idx].failed) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.corrupt", rest,
				  "the header says %" PRIu64 " bytes, the archive holds %" PRIu64,
				  declared, got);
		x->e[idx].failed = 1;
	}
	x->e[idx].size = got;
	if (x->opt->progress)
		kist_progress_add_file(x->opt->progress);
	kist_shash_collect(x->hasher, 0, store_digest, x);
	return rc;
}

/* --- one entry ------------------------------------------------------------------ */

static int on_entry(struct xa *x, struct archive_entry *ae)
{
	const char *raw = archive_entry_pathname(ae);
	char name[4096], tname[4096];
	const char *rest, *hl;
	mode_t type = archive_entry_filetype(ae);
	int in_data, alg, is_tag;
	struct xent *e;

	if (!raw)
		raw = archive_entry_pathname_utf8(ae);
	if (!raw || strlen(raw) >= sizeof(name)) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.unsafe-path", raw ? "(long name)" : NULL,
				  "an entry without a usable name; not read");
		return 0;
	}
	clean_name(raw, name, sizeof(name));
	if (!name[0])
		return 0;   /* "./" itself */
	{
		enum kist_path_problem p = kist_path_check_relative(name, strlen(name));

		if (p != KIST_PATH_OK) {
			kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.unsafe-path", raw,
					  "%s: never read, never written", kist_path_problem_str(p));
			return 0;
		}
	}
	if (!(rest = below_top(x, name, raw)))
		return x->failed_oom ? -1 : 0;
	if (!*rest) {
		if (type != AE_IFDIR)
			kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.top-level", raw,
					  "the top-level entry is not a directory: a serialized bag "
					  "holds one directory, the bag");
		return 0;
	}
	in_data = strncmp(rest, "data/", 5) == 0;
	if (strcmp(rest, "data") == 0 && type == AE_IFDIR)
		x->has_data_dir = 1;
	if (type == AE_IFDIR) {
		if (x->sink && x->sink->dir(x->sink->ctx, rest, archive_entry_mtime(ae),
					    archive_entry_mtime_nsec(ae)) < 0) {
			x->sink_failed = 1;
			return -1;
		}
		return 0;
	}
	if ((e = find(x, rest))) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.duplicate-entry", rest,
				  "the archive holds this path more than once; which one is meant "
				  "cannot be told");
		return 0;
	}
	hl = archive_entry_hardlink(ae);
	if (hl) {
		const char *trest;
		struct xent *t;

		clean_name(hl, tname, sizeof(tname));
		trest = strncmp(tname, x->top, strlen(x->top)) == 0 && tname[strlen(x->top)] == '/'
			? tname + strlen(x->top) + 1 : NULL;
		t = trest && kist_path_check_relative(tname, strlen(tname)) == KIST_PATH_OK
			? find(x, trest) : NULL;
		while (t && t->type == E_HARD)
			t = &x->e[t->target];
		if (!t || t->type != E_REG) {
			kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.hardlink-outside", rest,
					  "a hard link to '%s', which is not an earlier file of this "
					  "bag; not followed", hl);
			return 0;
		}
		{
			size_t target = (size_t)(t - x->e);

			if (!(e = add_entry(x, rest, E_HARD)))
				goto oom;
			e->target = target;
		}
		if (x->sink && x->sink->hardlink(x->sink->ctx, rest, x->e[e->target].path) < 0) {
			x->sink_failed = 1;
			return -1;
		}
		return 0;
	}
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(ae);

		if (!(e = add_entry(x, rest, E_SYMLINK)))
			goto oom;
		if (!target || !link_stays_inside(rest, target))
			kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.link-outside", rest,
					  "a symbolic link to '%s', outside the bag; never followed",
					  target ? target : "");
		if (in_data) {
			kist_findings_add(x->fs, KIST_SEV_ERROR, "payload.symlink", rest,
					  "symbolic link in the payload: not allowed in a bag, not followed");
			if (add_odd(x, rest) < 0)
				goto oom;
		}
		return 0;
	}
	if (type != AE_IFREG) {
		if (!(e = add_entry(x, rest, E_SPECIAL)))
			goto oom;
		if (in_data) {
			kist_findings_add(x->fs, KIST_SEV_ERROR, "payload.special-file", rest,
					  "a device, FIFO or socket: not a regular file");
			if (add_odd(x, rest) < 0)
				goto oom;
		} else {
			kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.special-file", rest,
					  "a device, FIFO or socket in a bag; never created");
		}
		return 0;
	}
	if (archive_entry_size_is_set(ae) && x->limits && x->limits->max_bytes &&
	    (uint64_t)archive_entry_size(ae) > x->limits->max_bytes) {
		kist_findings_add(x->fs, KIST_SEV_ERROR, "archive.too-large", rest,
				  "declares %" PRId64 " bytes, more than the %" PRIu64 " allowed; stopped",
				  (int64_t)archive_entry_size(ae), x->limits->max_bytes);
		return -1;
	}
	if (!(e = add_entry(x, rest, E_REG)))
		goto oom;
	if (!in_data && is_manifest(rest, &alg, &is_tag) && !is_tag)
		x->payload_algs |= KIST_ALG_BIT(alg);
	return read_file(x, x->n - 1, rest, !in_data,
			 archive_entry_size_is_set(ae) ? (uint64_t)archive_entry_size(ae) : 0, ae);
oom:
	x->failed_oom = 1;
	return -1;
}

/* --- the view validate.c sees -------------------------------------------------------- */

static const struct xent *resolve(const struct xa *x, const struct xent *e)
{
	while (e && e->type == E_HARD)
		e = &x->e[e->target];
	return e;
}

static int tag_state(void *ctx, const char *path)
{
	const struct xent *e = resolve(ctx, find(ctx, path));

	if (!e)
		return ENOENT;
	return e->type == E_REG ? 0 : e->type == E_SYMLINK ? ELOOP : EINVAL;
}

static int view_hash(void *ctx, int is_tag, kist_algset algs, const struct kist_hash_item *items,
		     size_t n, kist_result_fn fn, void *fnctx, struct kist_error *err)
{
	struct xa *x = ctx;
	struct kist_hash_result *r = malloc(sizeof(*r));

	if (!r)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct xent *e = resolve(x, find(x, items[i].path));
		int stop;

		memset(r, 0, sizeof(*r));
		r->index = i;
		r->path = items[i].path;
		r->algs = algs;
		if (!e) {
			r->fail_code = "file.missing";
		} else if (e->failed) {
			r->fail_code = is_tag ? "tag.unreadable" : "payload.unreadable";
			snprintf(r->fail_message, sizeof(r->fail_message),
				 "not checked: its bytes could not all be read from the archive");
		} else if (is_tag) {
			r->bytes = e->memlen;
			for (int a = 0; a < KIST_ALG_COUNT; a++) {
				struct kist_digest *d;

				if (!(algs & KIST_ALG_BIT(a)))
					continue;
				if (!(d = kist_digest_new(a)) || kist_digest_begin(d) < 0 ||
				    kist_digest_update(d, e->mem ? e->mem : "", e->memlen) < 0 ||
				    kist_digest_end(d, r->digest[a]) < 0) {
					kist_digest_free(d);
					free(r);
					return kist_error_set(err, KIST_FAILED, "cannot compute %s",
							      kist_alg_name(a));
				}
				kist_digest_free(d);
			}
		} else if (algs & ~e->algs) {
			r->fail_code = "archive.order";
			snprintf(r->fail_message, sizeof(r->fail_message),
				 "not checked: the archive holds it before the manifest that "
				 "names its algorithm (kist bag pack puts tag files first)");
		} else {
			size_t off = 0;

			r->bytes = e->size;
			for (int a = 0; a < KIST_ALG_COUNT; a++)
				if (e->algs & KIST_ALG_BIT(a)) {
					memcpy(r->digest[a], e->digest + off, kist_alg_size(a));
					off += kist_alg_size(a);
				}
		}
		stop = fn(fnctx, r);
		if (stop) {
			free(r);
			return kist_error_set(err, KIST_FAILED, "stopped");
		}
	}
	free(r);
	return KIST_OK;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void xa_free(struct xa *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->e[i].path);
		free(x->e[i].digest);
		free(x->e[i].mem);
	}
	free(x->e);
	free(x->table);
	free(x->top);
	for (size_t i = 0; i < x->ntops_reported; i++)
		free(x->tops_reported[i]);
	for (size_t i = 0; i < x->nodd; i++)
		free(x->odd[i]);
	free(x->odd);
	free(x->deferred);
	kist_shash_free(x->hasher);
	if (x->fd >= 0)
		close(x->fd);
	if (x->a)
		archive_read_free(x->a);
}

/* The bag, read from the tag files held in memory, and checked as a view. */
static int check(struct xa *x, const char *path, struct kist_bag_validate_result *res,
		 struct kist_error *err)
{
	struct kist_bag_memfile *mf = NULL;
	struct kist_hash_item *items = NULL;
	struct kist_bag *bag = NULL;
	struct kist_bag_view view;
	size_t nmf = 0, nitems = 0;
	int rc;

	mf = malloc((x->n ? x->n : 1) * sizeof(*mf));
	items = malloc((x->n ? x->n : 1) * sizeof(*items));
	if (!mf || !items) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct xent *e = &x->e[i];
		const struct xent *t = resolve(x, e);

		if (strncmp(e->path, "data/", 5) == 0) {
			if (t->type == E_REG) {
				items[nitems].path = e->path;
				items[nitems++].size = t->size;
			}
		} else if (!strchr(e->path, '/') && t->type == E_REG && !t->failed) {
			mf[nmf].name = e->path;
			mf[nmf].data = t->mem ? t->mem : "";
			mf[nmf++].len = t->memlen;
		}
	}
	rc = kist_bag_open_memory(path, mf, nmf, &bag, x->fs, err);
	if (rc == KIST_FAILED)
		goto out;
	if (rc != KIST_OK || !bag) {
		if (!kist_findings_has(x->fs, "bagit.missing") && !kist_findings_has(x->fs, "bagit.malformed") &&
		    !kist_findings_has(x->fs, "bagit.encoding") && !kist_findings_has(x->fs, "bagit.not-regular"))
			kist_findings_add(x->fs, KIST_SEV_ERROR, "bag.not-a-bag", "bagit.txt",
					  "no readable bagit.txt: not a bag");
		rc = KIST_INVALID;
		goto out;
	}
	if (x->nodd > 1)
		qsort(x->odd, x->nodd, sizeof(*x->odd), str_cmp);
	memset(&view, 0, sizeof(view));
	view.bag = bag;
	view.has_data_dir = x->has_data_dir;
	view.payload = items;
	view.npayload = nitems;
	view.odd = x->odd;
	view.nodd = x->nodd;
	view.tag_state = tag_state;
	view.hash = view_hash;
	view.ctx = x;
	rc = kist_bag_validate_view(&view, x->opt, res, x->fs, err);
out:
	kist_bag_free(bag);
	free(mf);
	free(items);
	return rc;
}

int kist_archive_validate(const char *path, const struct kist_bag_validate_options *opt,
			  const struct kist_archive_limits *limits, const struct kist_archive_sink *sink,
			  char **top, struct kist_bag_validate_result *res,
			  struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_bag_validate_options defaults = { .level = KIST_BAG_CHECK_FULL };
	static const struct kist_archive_limits no_limits = { 0, 0 };
	size_t errors0 = kist_findings_count_severity(findings, KIST_SEV_ERROR);
	size_t failures0 = kist_findings_count_severity(findings, KIST_SEV_FAILURE);
	struct archive_entry *ae;
	struct xa x;
	int rc = KIST_OK, r;

	memset(res, 0, sizeof(*res));
	res->oxum_ok = -1;
	res->version_major = res->version_minor = -1;
	if (top)
		*top = NULL;
	memset(&x, 0, sizeof(x));
	x.opt = opt ? opt : &defaults;
	x.limits = limits ? limits : &no_limits;
	x.sink = sink;
	x.fs = findings;
	x.name = path;
	x.fd = -1;
	if (!(x.a = archive_read_new()) || !(x.hasher = kist_shash_new(x.opt->jobs))) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	archive_read_support_filter_all(x.a);
	archive_read_support_format_tar(x.a);
	archive_read_support_format_gnutar(x.a);
	archive_read_support_format_zip(x.a);
	if (archive_read_open_filename(x.a, path, READ_BLOCK) != ARCHIVE_OK) {
		int e = archive_errno(x.a);

		if (e == EILSEQ || e <= 0) {   /* libarchive's "file format" and "misc" errors */
			/* read, but not an archive kist knows: bad data */
			kist_findings_add(findings, KIST_SEV_ERROR, "archive.corrupt", NULL,
					  "not a tar, tar.gz or zip archive: %s", archive_error_string(x.a));
			rc = KIST_INVALID;
			goto out;
		}
		kist_findings_add(findings, KIST_SEV_FAILURE, "bag.unreadable", NULL, "cannot read %s: %s",
				  path, archive_error_string(x.a));
		rc = kist_error_sys(err, e > 0 ? e : EIO, "%s", path);
		goto out;
	}
	{
		struct stat st;

		x.fd = open(path, O_RDONLY | O_CLOEXEC);
		if (x.fd >= 0 && (fstat(x.fd, &st) < 0 || !S_ISREG(st.st_mode))) {
			close(x.fd);
			x.fd = -1;
		} else if (x.fd >= 0) {
			x.file_size = (uint64_t)st.st_size;
		}
	}
	while (!x.stop) {
		r = archive_read_next_header(x.a, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			damaged(&x, x.n ? x.e[x.n - 1].path : NULL,
				x.n ? "the archive is damaged after this entry" : "not a readable archive");
			break;
		}
		if (on_entry(&x, ae) < 0)
			x.stop = 1;
	}
	hash_deferred(&x);
	kist_shash_collect(x.hasher, 1, store_digest, &x);
	if (x.failed_oom) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if (x.sink_failed) {
		/* the sink said why; a verdict on half an archive would mislead */
		rc = kist_error_set(err, KIST_FAILED, "%s: not unpacked", path);
		goto out;
	}
	if (x.top) {
		char *want = expected_top(path);

		if (want && strcmp(want, x.top) != 0)
			kist_findings_add(findings, KIST_SEV_WARNING, "archive.name-mismatch", NULL,
					  "the bag's directory is '%s', the archive's name says '%s'",
					  x.top, want);
		free(want);
		if (top)
			*top = strdup(x.top);
	}
	rc = check(&x, path, res, err);
	if (rc == KIST_FAILED && !kist_findings_count_severity(findings, KIST_SEV_FAILURE))
		kist_findings_add(findings, KIST_SEV_FAILURE, "bag.unreadable", NULL, "%s", err->message);
	/* the archive's own findings count too */
	if (kist_findings_count_severity(findings, KIST_SEV_ERROR) > errors0) {
		res->valid = res->complete = 0;
		rc = KIST_INVALID;
	} else if (kist_findings_count_severity(findings, KIST_SEV_FAILURE) > failures0) {
		res->valid = 0;
		if (rc != KIST_FAILED)
			rc = kist_error_set(err, KIST_FAILED, "%s: some entries could not be read", path);
	}
out:
	xa_free(&x);
	return rc;
}
