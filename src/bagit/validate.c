/* Validating a bag: RFC 8493 section 3 (complete, valid) and the drafts 0.93
 * to 0.97 before it, plus lint in the spirit of bagit-java's BagLinter.
 *
 * The shape, for bags of a million files:
 *   1. the reader (kist_bag_open) parses bagit.txt, bag-info, the manifests
 *      and fetch.txt;
 *   2. data/ is walked once (kist_walk, symlinks never followed), file names
 *      going into an arena, one 40-byte record per file;
 *   3. payload manifest entries become 16-byte references, sorted with the
 *      walked files by their NFC form and merged: missing, unlisted,
 *      duplicated, not in every manifest;
 *   4. in full mode one pipeline run hashes every listed payload file with
 *      the union of the manifests' algorithms (each file read once), and one
 *      more run the tag files.
 * Nothing named by a manifest or fetch.txt is opened except beneath the bag's
 * directory, without following symlinks.
 *
 * Finding codes added here (the reader adds bagit.*, taginfo.*, manifest.*,
 * fetch.* of its own; the pipeline file.*):
 *   errors    bag.no-manifest payload.no-data-dir bag.not-a-bag bagit.bom
 *             payload.missing payload.unlisted payload.checksum-mismatch
 *             payload.symlink payload.special-file payload.normalization-clash
 *             payload.oxum-mismatch payload.oxum-malformed payload.no-oxum (--fast)
 *             manifest.duplicate (1.0; a warning before) manifest.not-in-every (1.0)
 *             manifest.not-payload manifest.unsafe-path tagmanifest.lists-payload
 *             tag.missing tag.checksum-mismatch tag.symlink tag.outside
 *             tag.not-regular fetch.pending fetch.not-in-manifest fetch.unsafe-path
 *             taginfo.repeated (Payload-Oxum twice)
 *   failures  bag.unreadable payload.unreadable tag.unreadable file.unreadable
 *             file.changed
 *   warnings  manifest.normalization manifest.case lint.weak-algorithm
 *             lint.no-tag-manifest lint.no-oxum lint.nested-bag lint.os-litter
 *             lint.leading-dot-slash lint.tag-encoding lint.manifests-differ */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/premis.h>
#include <kist/progress.h>
#include <kist/transfer.h>
#include <kist/walk.h>

#include "transfer.h"

/* --- an arena for names: no allocation per file -------------------------------- */

#define ARENA_BLOCK (1u << 20)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct arena {
	struct arena_block *head;
};

/* n + 1 bytes, the last set to NUL. */
static char *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	char *p;

	if (!b || b->size - b->used < n + 1) {
		size_t size = n + 1 > ARENA_BLOCK ? n + 1 : ARENA_BLOCK;

		if (!(b = malloc(sizeof(*b) + size)))
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->size = size;
		a->head = b;
	}
	p = b->data + b->used;
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* --- names in NFC ------------------------------------------------------------------- */

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* The NFC form of s: s itself when it is already NFC (or not UTF-8: then its
 * bytes are its identity), else a copy in the arena. NULL when out of memory. */
static const char *nfc_key(struct arena *a, const char *s)
{
	utf8proc_uint8_t *n;
	const char *key = s;

	if (is_ascii(s))
		return s;
	n = utf8proc_NFC((const utf8proc_uint8_t *)s);
	if (!n)
		return s;
	if (strcmp((const char *)n, s) != 0)
		key = arena_strndup(a, (const char *)n, strlen((const char *)n));
	free(n);
	return key;
}

/* Case-folded NFC, for telling names that differ only in case. malloc'd. */
static char *fold_key(const char *s)
{
	utf8proc_uint8_t *out = NULL;

	if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
			 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD) < 0) {
		char *c = strdup(s);

		for (char *p = c; p && *p; p++)
			*p = (char)tolower((unsigned char)*p);
		return c;
	}
	return (char *)out;
}

/* --- the state of one validation ------------------------------------------------------ */

/* One payload manifest entry. */
struct ref {
	const char *key;      /* NFC of the path, "./" stripped */
	uint32_t entry;       /* in the manifest's list */
	uint16_t man;         /* in bag->manifests */
	uint16_t flags;
};
#define REF_MATCHED 1

/* One regular file under data/. */
struct dfile {
	const char *path;     /* "data/...", as on disk */
	const char *key;      /* its NFC */
	uint64_t size;
	uint32_t first, n;    /* its references (n == 0: listed nowhere) */
};

struct val {
	const struct kist_bag_validate_options *opt;
	const struct kist_bag_view *view;   /* a serialized bag; NULL: a directory */
	struct kist_bag *bag;
	struct kist_findings *fs;
	struct arena arena;
	int v1;               /* BagIt 1.0 rules */
	const char *walk_prefix;  /* "BAG/" as the walk names paths */
	size_t walk_prefix_len;

	struct dfile *files;
	size_t nfiles, capfiles;
	uint64_t bytes;

	struct ref *refs;
	size_t nrefs;
	uint32_t payload_mask;    /* one bit per payload manifest index */
	int manifests_differ;

	const char **fetch_keys;  /* sorted, NFC */
	size_t nfetch_keys;
	uint64_t pending_bytes;   /* the lengths fetch.txt gives for files not here */
	int pending_unknown;      /* ... some given as "-" */

	struct tagrun *tags;      /* tag files to hash */

	int walk_incomplete;      /* some of data/ could not be read */
	char **links;             /* symlinks, special files and unreadable
				     directories in data/, sorted */
	size_t nlinks;

	uint32_t *item_file;      /* hash item -> dfile */
	int failed_oom;
};

static int oom(struct val *v)
{
	v->failed_oom = 1;
	return -1;
}

/* The path a manifest entry names, with any leading "./" dropped. */
static const char *entry_path(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static const struct kist_bag_manifest *man_of(const struct val *v, const struct ref *r)
{
	return &v->bag->manifests[r->man];
}

static const struct kist_check_entry *entry_of(const struct val *v, const struct ref *r)
{
	return &man_of(v, r)->list.entries[r->entry];
}

static const char *raw_of(const struct val *v, const struct ref *r)
{
	return entry_path(entry_of(v, r)->path);
}

/* qsort, which must not be given a NULL array even for no elements. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* --- walking data/ ------------------------------------------------------------------------ */

static int is_litter(const char *base)
{
	return strcmp(base, ".DS_Store") == 0 || strcmp(base, "Thumbs.db") == 0 ||
	       strcmp(base, "desktop.ini") == 0 || strncmp(base, "._", 2) == 0;
}

/* One regular file of data/; path ("data/...") must outlive v. */
static int add_file(struct val *v, const char *path, uint64_t size)
{
	struct dfile *f;
	const char *base;

	if (v->nfiles == v->capfiles) {
		size_t cap = v->capfiles ? v->capfiles * 2 : 1024;
		struct dfile *n = realloc(v->files, cap * sizeof(*n));

		if (!n)
			return oom(v);
		v->files = n;
		v->capfiles = cap;
	}
	f = &v->files[v->nfiles++];
	f->path = path;
	if (!(f->key = nfc_key(&v->arena, path)))
		return oom(v);
	f->size = size;
	f->first = 0;
	f->n = 0;
	v->bytes += size;

	base = strrchr(path, '/') + 1;
	if (is_litter(base))
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.os-litter", path,
				  "operating-system litter in the payload");
	if (strcmp(base, "bagit.txt") == 0)
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.nested-bag", path,
				  "a bag inside the payload (bagit.txt below data/)");
	return 0;
}

static int on_walk(void *ctx, const struct kist_walk_entry *e)
{
	struct val *v = ctx;
	char *path;
	size_t rlen;

	if (e->type != KIST_ENTRY_FILE)
		return 0;
	rlen = strlen(e->rel);
	if (!(path = arena_alloc(&v->arena, 5 + rlen)))
		return oom(v);
	memcpy(path, "data/", 5);
	memcpy(path + 5, e->rel, rlen + 1);
	return add_file(v, path, e->size);
}

/* data/ as a serialized bag's reader listed it. */
static int list_view(struct val *v)
{
	const struct kist_bag_view *view = v->view;

	if (!view->has_data_dir && !view->npayload && !view->nodd) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.no-data-dir", "data",
				  "the bag has no payload directory data/");
		return 1;
	}
	for (size_t i = 0; i < view->npayload; i++)
		if (add_file(v, view->payload[i].path, view->payload[i].size) < 0)
			return -1;
	if (view->nodd) {
		if (!(v->links = malloc(view->nodd * sizeof(*v->links))))
			return oom(v);
		for (size_t i = 0; i < view->nodd; i++) {
			if (!(v->links[i] = strdup(view->odd[i])))
				return oom(v);
			v->nlinks++;
		}
	}
	return 0;
}

/* The walk's own findings, named relative to the bag; links and special files
 * in the payload are errors (RFC 8493 leaves no place for them). */
static void translate_walk_findings(struct val *v, struct kist_findings *wf)
{
	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);
		const char *path = f->path;
		const char *code = f->code;
		enum kist_severity sev = f->severity;

		if (path && strncmp(path, v->walk_prefix, v->walk_prefix_len) == 0)
			path += v->walk_prefix_len;
		if (path && f->severity >= KIST_SEV_WARNING && strncmp(code, "walk.", 5) == 0 &&
		    (strstr(code, "symlink") || strcmp(code, "walk.special-file") == 0 ||
		     strcmp(code, "walk.unreadable") == 0 || strcmp(code, "walk.too-deep") == 0 ||
		     strcmp(code, "walk.changed") == 0)) {
			char **n = realloc(v->links, (v->nlinks + 1) * sizeof(*n));

			if (n) {
				v->links = n;
				if ((n[v->nlinks] = strdup(path)))
					v->nlinks++;
			}
		}
		if (strcmp(code, "walk.symlink") == 0 || strcmp(code, "walk.symlink-loop") == 0 ||
		    strcmp(code, "walk.dangling-symlink") == 0) {
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.symlink", path,
					  "symbolic link in the payload: not allowed in a bag, not followed");
			continue;
		}
		if (strcmp(code, "walk.special-file") == 0) {
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.special-file", path, "%s",
					  f->message ? f->message : "not a regular file");
			continue;
		}
		if (sev == KIST_SEV_FAILURE)
			v->walk_incomplete = 1;
		if (strcmp(code, "walk.unreadable") == 0)
			code = "payload.unreadable";
		kist_findings_add(v->fs, sev, code, path, "%s", f->message ? f->message : "");
	}
}

/* Returns 0, 1 when there is no data/ (reported), -1 when the walk failed. */
static int walk_payload(struct val *v, struct kist_error *err)
{
	struct kist_walk_options wo = { .follow_symlinks = 0, .follow_root = 0 };
	struct kist_findings *wf;
	struct kist_error werr;
	struct stat st;
	char *root;
	int rc;

	if (v->view) {
		rc = list_view(v);
		if (v->failed_oom)
			return kist_error_set(err, KIST_FAILED, "out of memory");
		return rc;
	}
	if (fstatat(v->bag->dirfd, "data", &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.no-data-dir", "data",
					  "the bag has no payload directory data/");
			return 1;
		}
		kist_findings_add(v->fs, KIST_SEV_FAILURE, "payload.unreadable", "data", "%s",
				  strerror(errno));
		return 1;
	}
	if (S_ISLNK(st.st_mode)) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.symlink", "data",
				  "data/ is a symbolic link: not followed");
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.no-data-dir", "data",
				  "data is not a directory");
		return 1;
	}
	if (!(wf = kist_findings_new()) || !(root = kist_path_join(v->bag->path, "data"))) {
		kist_findings_free(wf);
		kist_error_set(err, KIST_FAILED, "out of memory");
		return -1;
	}
	kist_error_clear(&werr);
	rc = kist_walk(root, &wo, on_walk, v, wf, &werr);
	translate_walk_findings(v, wf);
	kist_findings_free(wf);
	sort(v->links, v->nlinks, sizeof(*v->links), str_cmp);
	free(root);
	if (v->failed_oom) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		return -1;
	}
	if (rc != KIST_OK) {
		kist_findings_add(v->fs, KIST_SEV_FAILURE, "payload.unreadable", "data", "%s",
				  werr.message);
		return 1;
	}
	return 0;
}

/* --- Payload-Oxum ------------------------------------------------------------------------- */

static int parse_oxum(const char *s, uint64_t *bytes, uint64_t *files)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*bytes = strtoull(s, &end, 10);
	if (errno || *end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	*files = strtoull(end + 1, &end, 10);
	if (errno)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end ? -1 : 0;
}

static void check_oxum(struct val *v, struct kist_bag_validate_result *res)
{
	const char *oxum = kist_bag_info_get(&v->bag->info, "Payload-Oxum");
	const char *where = v->bag->info_name ? v->bag->info_name : "bag-info.txt";
	uint64_t bytes, files;

	res->oxum_ok = -1;
	if (!oxum) {
		if (v->opt->level == KIST_BAG_CHECK_FAST)
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.no-oxum", where,
					  "no Payload-Oxum: a fast check needs one");
		else
			kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.no-oxum", where,
					  "no Payload-Oxum (octet and file count of the payload)");
		return;
	}
	if (kist_bag_info_count(&v->bag->info, "Payload-Oxum") > 1)
		kist_findings_add(v->fs, KIST_SEV_ERROR, "taginfo.repeated", where,
				  "Payload-Oxum given more than once");
	if (v->walk_incomplete)
		return;   /* data/ could not be counted: that failure says so */
	if (parse_oxum(oxum, &bytes, &files) < 0) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.oxum-malformed", where,
				  "Payload-Oxum '%s' is not OCTETS.STREAMS", oxum);
		res->oxum_ok = 0;
		return;
	}
	/* Payload-Oxum counts the whole payload, fetched or not: files still
	 * to be fetched count with the length fetch.txt gives them. */
	if (files != v->nfiles + res->pending_fetch ||
	    (!v->pending_unknown && bytes != v->bytes + v->pending_bytes)) {
		if (res->pending_fetch)
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.oxum-mismatch", where,
					  "Payload-Oxum is %" PRIu64 ".%" PRIu64 " (octets.files); data/ "
					  "holds %" PRIu64 ".%zu, and fetch.txt %zu file(s) more%s",
					  bytes, files, v->bytes, v->nfiles, res->pending_fetch,
					  v->pending_unknown ? " of unknown length" : "");
		else
			kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.oxum-mismatch", where,
					  "Payload-Oxum is %" PRIu64 ".%" PRIu64 " (octets.files); data/ "
					  "holds %" PRIu64 ".%zu", bytes, files, v->bytes, v->nfiles);
		res->oxum_ok = 0;
		return;
	}
	res->oxum_ok = 1;
}

/* --- merging manifests with the payload ------------------------------------------------------ */

static int ref_cmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->man != y->man)
		return x->man < y->man ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static int dfile_cmp(const void *a, const void *b)
{
	const struct dfile *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->path, y->path);
}

/* A path from a manifest that may be used at all: inside the bag, no "..",
 * not absolute. The reader drops such entries already; this is the guard. */
static int path_safe(const char *p)
{
	enum kist_path_problem pr = kist_path_check_relative(p, strlen(p));

	return pr == KIST_PATH_OK || pr == KIST_PATH_CONTROL;
}

static int collect_refs(struct val *v)
{
	size_t total = 0, leading = 0;
	const char *leading_name = NULL;

	for (size_t m = 0; m < v->bag->nmanifests; m++)
		if (!v->bag->manifests[m].is_tag)
			total += v->bag->manifests[m].list.count;
	if (!(v->refs = malloc((total ? total : 1) * sizeof(*v->refs))))
		return oom(v);
	for (size_t m = 0; m < v->bag->nmanifests && m < 32; m++) {
		const struct kist_bag_manifest *man = &v->bag->manifests[m];

		if (man->is_tag)
			continue;
		v->payload_mask |= 1u << m;
		for (size_t i = 0; i < man->list.count; i++) {
			const struct kist_check_entry *e = &man->list.entries[i];
			const char *p = entry_path(e->path);
			struct ref *r;

			if (p != e->path) {
				leading++;
				leading_name = man->name;
			}
			if (!path_safe(p)) {
				kist_findings_add(v->fs, KIST_SEV_ERROR, "manifest.unsafe-path", man->name,
						  "line %" PRIu32 ": path leaves the bag, never opened: %s",
						  e->line, e->path);
				continue;
			}
			if (strncmp(p, "data/", 5) != 0) {
				kist_findings_add(v->fs, KIST_SEV_ERROR, "manifest.not-payload", man->name,
						  "line %" PRIu32 ": %s is not under data/; a payload "
						  "manifest lists only payload files", e->line, p);
				continue;
			}
			r = &v->refs[v->nrefs++];
			r->entry = (uint32_t)i;
			r->man = (uint16_t)m;
			r->flags = 0;
			if (!(r->key = nfc_key(&v->arena, p)))
				return oom(v);
		}
	}
	if (leading)
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.leading-dot-slash", leading_name,
				  "%zu path(s) start with './'; read as relative to the bag", leading);
	sort(v->refs, v->nrefs, sizeof(*v->refs), ref_cmp);
	return 0;
}

static size_t group_end(const struct val *v, size_t i)
{
	size_t j = i + 1;

	while (j < v->nrefs && strcmp(v->refs[j].key, v->refs[i].key) == 0)
		j++;
	return j;
}

static const char *man_names(const struct val *v, uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t m = 0; m < v->bag->nmanifests && m < 32; m++)
		if (mask & (1u << m)) {
			int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					 v->bag->manifests[m].name);

			if (n < 0 || (size_t)n >= len - off)
				break;
			off += (size_t)n;
		}
	return buf;
}

/* Duplicates and the every-manifest rule for refs[i..j). present: a file
 * under data/ has this name. */
static void check_group(struct val *v, size_t i, size_t j, int present)
{
	uint32_t mask = 0;
	char names[512];

	for (size_t k = i; k < j; k++) {
		const struct ref *r = &v->refs[k];

		if (k > i && r->man == v->refs[k - 1].man) {
			const struct kist_check_entry *e = entry_of(v, r);

			kist_findings_add(v->fs, v->v1 ? KIST_SEV_ERROR : KIST_SEV_WARNING,
					  "manifest.duplicate", raw_of(v, r),
					  "listed again in %s (line %" PRIu32 ")%s", man_of(v, r)->name,
					  e->line,
					  strcmp(raw_of(v, r), raw_of(v, &v->refs[k - 1])) == 0
						  ? ""
						  : ", under a name that differs only in Unicode normalization");
		}
		mask |= 1u << r->man;
	}
	if (mask == v->payload_mask)
		return;
	v->manifests_differ = 1;
	if (present && v->v1)
		kist_findings_add(v->fs, KIST_SEV_ERROR, "manifest.not-in-every", raw_of(v, &v->refs[i]),
				  "not listed in %s; BagIt 1.0 wants every payload file in every "
				  "payload manifest",
				  man_names(v, v->payload_mask & ~mask, names, sizeof(names)));
}

static void warn_normalization(struct val *v, const struct dfile *f)
{
	for (uint32_t k = f->first; k < f->first + f->n; k++) {
		const struct ref *r = &v->refs[k];

		if (strcmp(raw_of(v, r), f->path) != 0)
			kist_findings_add(v->fs, KIST_SEV_WARNING, "manifest.normalization", f->path,
					  "%s names it '%s': the same name only in another Unicode "
					  "normalization form", man_of(v, r)->name, raw_of(v, r));
	}
}

/* Is path, or a directory above it, something the walk reported (a link, a
 * special file, a directory it could not read)? Then that finding says it. */
static int covered(const struct val *v, const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (!v->nlinks || len >= sizeof(buf))
		return 0;
	memcpy(buf, path, len + 1);
	for (;;) {
		const char *key = buf;
		char *slash;

		if (bsearch(&key, v->links, v->nlinks, sizeof(*v->links), str_cmp))
			return 1;
		if (!(slash = strrchr(buf, '/')))
			return 0;
		*slash = '\0';
	}
}

static int fetch_has(const struct val *v, const char *key)
{
	return v->nfetch_keys &&
	       bsearch(&key, v->fetch_keys, v->nfetch_keys, sizeof(*v->fetch_keys), str_cmp) != NULL;
}

static int dfile_key_cmp(const void *k, const void *e)
{
	return strcmp(*(const char *const *)k, ((const struct dfile *)e)->key);
}

static int ref_key_cmp(const void *k, const void *e)
{
	return strcmp(*(const char *const *)k, ((const struct ref *)e)->key);
}

/* fetch.txt: entries not present yet make the bag incomplete (fetch.pending,
 * counted with their lengths for the Payload-Oxum). with_manifests: also
 * check each entry is in a payload manifest (the refs are sorted); --fast
 * only counts what is still to be fetched. */
static int check_fetch(struct val *v, struct kist_bag_validate_result *res, int with_manifests)
{
	const struct kist_bag *bag = v->bag;

	if (!bag->nfetch)
		return 0;
	if (!(v->fetch_keys = malloc(bag->nfetch * sizeof(*v->fetch_keys))))
		return oom(v);
	for (size_t i = 0; i < bag->nfetch; i++) {
		const struct kist_fetch_entry *fe = &bag->fetch[i];
		const char *p = entry_path(fe->path);
		const char *key;

		if (!path_safe(p)) {
			kist_findings_add(v->fs, KIST_SEV_ERROR, "fetch.unsafe-path", "fetch.txt",
					  "line %lu: path leaves the bag: %s", fe->line, fe->path);
			continue;
		}
		if (strncmp(p, "data/", 5) != 0)
			continue;   /* the reader said so (fetch.outside-payload) */
		if (!(key = nfc_key(&v->arena, p)))
			return oom(v);
		v->fetch_keys[v->nfetch_keys++] = key;
		if (with_manifests && !bsearch(&key, v->refs, v->nrefs, sizeof(*v->refs), ref_key_cmp))
			kist_findings_add(v->fs, KIST_SEV_ERROR, "fetch.not-in-manifest", p,
					  "in fetch.txt (line %lu) but in no payload manifest", fe->line);
		if (!v->nfiles || !bsearch(&key, v->files, v->nfiles, sizeof(*v->files), dfile_key_cmp)) {
			res->pending_fetch++;
			if (fe->length == UINT64_MAX)
				v->pending_unknown = 1;
			else
				v->pending_bytes += fe->length;
			kist_findings_add(v->fs, KIST_SEV_ERROR, "fetch.pending", p,
					  "still to be fetched from %s", fe->url);
		}
	}
	sort(v->fetch_keys, v->nfetch_keys, sizeof(*v->fetch_keys), str_cmp);
	return 0;
}

struct fold {
	char *key;
	size_t idx;     /* group start in refs, or file index */
};

static int fold_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fold *)a)->key, ((const struct fold *)b)->key);
}

/* Is rel (from a manifest) the same file as the walked path, on a file system
 * that ignores case? Opened beneath the bag, never through a link. */
static int same_file(const struct val *v, const char *rel, const char *path)
{
	struct stat a, b;
	int fd, same;

	if (v->view)
		return 0;   /* an archive's names are exact */
	if ((fd = kist_path_open_beneath(v->bag->dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY)) < 0)
		return 0;
	same = fstat(fd, &a) == 0 && fstatat(v->bag->dirfd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino && S_ISREG(a.st_mode);
	close(fd);
	return same;
}

/* Names in a manifest and on disk that differ only in case: a warning; the
 * file counts as present only where the file system itself ignores case. */
static int match_case(struct val *v, size_t *missing, size_t *nmissing, size_t *unlisted,
		      size_t *nunlisted)
{
	struct fold *fm = NULL, *fu = NULL;
	size_t i = 0, j = 0, nm = *nmissing, nu = *nunlisted;
	int rc = -1;

	if (!nm || !nu)
		return 0;
	fm = calloc(nm, sizeof(*fm));
	fu = calloc(nu, sizeof(*fu));
	if (!fm || !fu)
		goto out;
	for (size_t k = 0; k < nm; k++) {
		fm[k].idx = missing[k];
		if (!(fm[k].key = fold_key(v->refs[missing[k]].key)))
			goto out;
	}
	for (size_t k = 0; k < nu; k++) {
		fu[k].idx = unlisted[k];
		if (!(fu[k].key = fold_key(v->files[unlisted[k]].key)))
			goto out;
	}
	sort(fm, nm, sizeof(*fm), fold_cmp);
	sort(fu, nu, sizeof(*fu), fold_cmp);
	while (i < nm && j < nu) {
		int c = strcmp(fm[i].key, fu[j].key);

		if (c < 0) {
			i++;
		} else if (c > 0) {
			j++;
		} else {
			const struct ref *r = &v->refs[fm[i].idx];
			struct dfile *f = &v->files[fu[j].idx];

			kist_findings_add(v->fs, KIST_SEV_WARNING, "manifest.case", f->path,
					  "%s names it '%s': the names differ only in case",
					  man_of(v, r)->name, raw_of(v, r));
			if (same_file(v, raw_of(v, r), f->path)) {
				size_t e = group_end(v, fm[i].idx);

				f->first = (uint32_t)fm[i].idx;
				f->n = (uint32_t)(e - fm[i].idx);
				for (size_t k = fm[i].idx; k < e; k++)
					v->refs[k].flags |= REF_MATCHED;
			}
			i++;
			j++;
		}
	}
	/* drop what matched from both lists */
	{
		size_t w = 0;

		for (size_t k = 0; k < nm; k++)
			if (!(v->refs[missing[k]].flags & REF_MATCHED))
				missing[w++] = missing[k];
		*nmissing = w;
		w = 0;
		for (size_t k = 0; k < nu; k++)
			if (!v->files[unlisted[k]].n)
				unlisted[w++] = unlisted[k];
		*nunlisted = w;
	}
	rc = 0;
out:
	for (size_t k = 0; fm && k < nm; k++)
		free(fm[k].key);
	for (size_t k = 0; fu && k < nu; k++)
		free(fu[k].key);
	free(fm);
	free(fu);
	return rc < 0 ? oom(v) : 0;
}

static int merge_payload(struct val *v)
{
	size_t i = 0, j = 0, nmissing = 0, nunlisted = 0;
	size_t *missing = NULL, *unlisted = NULL;
	int rc = -1;

	missing = malloc((v->nrefs ? v->nrefs : 1) * sizeof(*missing));
	unlisted = malloc((v->nfiles ? v->nfiles : 1) * sizeof(*unlisted));
	if (!missing || !unlisted)
		goto out;
	while (i < v->nrefs || j < v->nfiles) {
		int c = i == v->nrefs ? 1 : j == v->nfiles ? -1 : strcmp(v->refs[i].key, v->files[j].key);

		if (c < 0) {
			size_t e = group_end(v, i);

			check_group(v, i, e, 0);
			missing[nmissing++] = i;
			i = e;
		} else if (c > 0) {
			unlisted[nunlisted++] = j++;
		} else {
			size_t e = group_end(v, i);
			struct dfile *f = &v->files[j++];

			check_group(v, i, e, 1);
			f->first = (uint32_t)i;
			f->n = (uint32_t)(e - i);
			for (size_t k = i; k < e; k++)
				v->refs[k].flags |= REF_MATCHED;
			warn_normalization(v, f);
			/* A second file with the same name in NFC (one NFC, one
			 * NFD, say) is listed nowhere in its own right. */
			while (j < v->nfiles && strcmp(v->files[j].key, f->key) == 0) {
				kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.normalization-clash",
						  v->files[j].path,
						  "same name as %s in Unicode normalization; only one of "
						  "them can be the listed file", f->path);
				j++;
			}
			i = e;
		}
	}
	if (match_case(v, missing, &nmissing, unlisted, &nunlisted) < 0)
		goto out;
	for (size_t k = 0; k < nmissing; k++) {
		const struct ref *r = &v->refs[missing[k]];

		const char *raw = raw_of(v, r);
		size_t e = group_end(v, missing[k]);
		uint32_t mask = 0;
		char names[512];

		if (fetch_has(v, r->key))
			continue;   /* reported as fetch.pending */
		if (covered(v, raw))
			continue;   /* reported as a link, special file, unreadable directory */
		for (size_t g = missing[k]; g < e; g++)
			mask |= 1u << v->refs[g].man;
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.missing", raw,
				  "listed in %s but not in the bag", man_names(v, mask, names, sizeof(names)));
	}
	for (size_t k = 0; k < nunlisted; k++)
		kist_findings_add(v->fs, KIST_SEV_ERROR, "payload.unlisted", v->files[unlisted[k]].path,
				  "in data/ but listed in no payload manifest");
	if (v->manifests_differ)
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.manifests-differ", NULL,
				  "the payload manifests do not list the same files");
	rc = 0;
out:
	free(missing);
	free(unlisted);
	return rc < 0 ? oom(v) : 0;
}

/* --- hashing ------------------------------------------------------------------------- */

static int check_digest(struct val *v, const char *code, const char *path, const char *mname,
			const struct kist_check_entry *e, int alg, const struct kist_hash_result *r)
{
	size_t n = kist_alg_size(alg);
	char got[KIST_DIGEST_HEX_MAX], want[KIST_DIGEST_HEX_MAX];

	if (memcmp(r->digest[alg], e->digest, n) == 0)
		return 0;
	kist_hex(r->digest[alg], n, got);
	kist_hex(e->digest, n, want);
	kist_findings_add(v->fs, KIST_SEV_ERROR, code, path, "%s is %s, %s says %s", kist_alg_name(alg),
			  got, mname, want);
	return 1;
}

static void hash_failure(struct val *v, const char *missing_code, const struct kist_hash_result *r)
{
	const char *fc = r->fail_code;
	enum kist_severity sev = KIST_SEV_FAILURE;

	if (strcmp(fc, "file.missing") == 0) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, missing_code, r->path,
				  "removed before it could be read");
		return;
	}
	if (strcmp(fc, "file.symlink") == 0 || strcmp(fc, "file.outside") == 0 ||
	    strcmp(fc, "file.not-regular") == 0)
		sev = KIST_SEV_ERROR;
	kist_findings_add(v->fs, sev, fc, r->path, "%s", r->fail_message);
}

static int on_payload(void *ctx, const struct kist_hash_result *r)
{
	struct val *v = ctx;
	const struct dfile *f = &v->files[v->item_file[r->index]];

	if (r->fail_code) {
		hash_failure(v, "payload.missing", r);
		return 0;
	}
	for (uint32_t k = f->first; k < f->first + f->n; k++) {
		const struct ref *ref = &v->refs[k];

		check_digest(v, "payload.checksum-mismatch", f->path, man_of(v, ref)->name,
			     entry_of(v, ref), man_of(v, ref)->alg, r);
	}
	return 0;
}

/* Payload items, in the order of v->files; v->item_file maps them back. */
static struct kist_hash_item *payload_items(struct val *v, size_t *n, uint64_t *bytes)
{
	struct kist_hash_item *items = malloc((v->nfiles ? v->nfiles : 1) * sizeof(*items));

	v->item_file = malloc((v->nfiles ? v->nfiles : 1) * sizeof(*v->item_file));
	if (!items || !v->item_file) {
		free(items);
		return NULL;
	}
	*n = 0;
	*bytes = 0;
	for (size_t i = 0; i < v->nfiles; i++) {
		if (!v->files[i].n)
			continue;
		items[*n].path = v->files[i].path;
		items[*n].size = v->files[i].size;
		*bytes += v->files[i].size;
		v->item_file[(*n)++] = (uint32_t)i;
	}
	return items;
}

static void pipeline_options(struct val *v, struct kist_pipeline_options *po, kist_algset algs)
{
	kist_pipeline_options_init(po);
	po->algs = algs;
	po->jobs = v->opt->jobs;
	po->dirfd = v->bag->dirfd;
	po->beneath = 1;
	po->nofollow = 1;
}

static int hash_payload(struct val *v, struct kist_error *err)
{
	struct kist_pipeline_options po;
	struct kist_hash_item *items;
	size_t n;
	uint64_t bytes;
	int rc;

	if (!(items = payload_items(v, &n, &bytes)))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	pipeline_options(v, &po, kist_bag_algorithms(v->bag, 0));
	po.progress = v->opt->progress;
	if (po.progress)
		kist_progress_set_total(po.progress, n, bytes);
	if (v->view)
		rc = v->view->hash(v->view->ctx, 0, po.algs, items, n, on_payload, v, err);
	else
		rc = kist_pipeline_run(&po, items, n, on_payload, v, err);
	free(items);
	return rc;
}

/* --- tag manifests ------------------------------------------------------------------------ */

struct tagref {
	const char *path;
	uint32_t entry;
	uint16_t man;
};

struct tagrun {
	struct val *v;
	struct tagref *refs;
	size_t *first, *count;   /* per item */
	struct kist_hash_item *items;
	size_t nitems;
};

static void tagrun_free(struct tagrun *t)
{
	if (!t)
		return;
	free(t->refs);
	free(t->items);
	free(t->first);
	free(t->count);
	free(t);
}

static int tagref_cmp(const void *a, const void *b)
{
	const struct tagref *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->man != y->man)
		return x->man < y->man ? -1 : 1;
	return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static int on_tag(void *ctx, const struct kist_hash_result *r)
{
	struct tagrun *t = ctx;
	struct val *v = t->v;

	if (r->fail_code) {
		hash_failure(v, "tag.missing", r);
		return 0;
	}
	for (size_t k = t->first[r->index]; k < t->first[r->index] + t->count[r->index]; k++) {
		const struct kist_bag_manifest *m = &v->bag->manifests[t->refs[k].man];

		check_digest(v, "tag.checksum-mismatch", r->path, m->name,
			     &m->list.entries[t->refs[k].entry], m->alg, r);
	}
	return 0;
}

/* Is a tag file present (a regular file, reached without links)? */
static int tag_present(struct val *v, const char *path)
{
	struct stat st;
	int fd = v->view ? -1 : kist_path_open_beneath(v->bag->dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY);

	if (v->view) {
		errno = v->view->tag_state(v->view->ctx, path);
		if (errno == EINVAL) {
			kist_findings_add(v->fs, KIST_SEV_ERROR, "tag.not-regular", path, "not a regular file");
			return 0;
		}
		if (!errno)
			return 1;
	}
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR)
			kist_findings_add(v->fs, KIST_SEV_ERROR, "tag.missing", path,
					  "listed in a tag manifest but not in the bag");
		else if (e == ELOOP)
			kist_findings_add(v->fs, KIST_SEV_ERROR, "tag.symlink", path,
					  "a symbolic link: not followed");
		else if (e == EXDEV)
			kist_findings_add(v->fs, KIST_SEV_ERROR, "tag.outside", path,
					  "path leaves the bag; not opened");
		else
			kist_findings_add(v->fs, KIST_SEV_FAILURE, "tag.unreadable", path, "%s",
					  strerror(e));
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		kist_findings_add(v->fs, KIST_SEV_ERROR, "tag.not-regular", path, "not a regular file");
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

/* Tag manifests: what they list must be in the bag, outside data/. Prepares
 * v->tags for hashing. */
static int check_tags(struct val *v, struct kist_error *err)
{
	struct tagrun *t = calloc(1, sizeof(*t));
	size_t total = 0, n = 0;

	if (!t)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	v->tags = t;
	t->v = v;
	for (size_t m = 0; m < v->bag->nmanifests; m++)
		if (v->bag->manifests[m].is_tag)
			total += v->bag->manifests[m].list.count;
	if (!total)
		return KIST_OK;
	t->refs = malloc(total * sizeof(*t->refs));
	t->items = malloc(total * sizeof(*t->items));
	t->first = malloc(total * sizeof(*t->first));
	t->count = malloc(total * sizeof(*t->count));
	if (!t->refs || !t->items || !t->first || !t->count)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (size_t m = 0; m < v->bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &v->bag->manifests[m];

		if (!man->is_tag)
			continue;
		for (size_t i = 0; i < man->list.count; i++) {
			const struct kist_check_entry *e = &man->list.entries[i];
			const char *p = entry_path(e->path);

			if (p != e->path)
				kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.leading-dot-slash", man->name,
						  "line %" PRIu32 ": path starts with './'", e->line);
			if (!path_safe(p)) {
				kist_findings_add(v->fs, KIST_SEV_ERROR, "manifest.unsafe-path", man->name,
						  "line %" PRIu32 ": path leaves the bag, never opened: %s",
						  e->line, e->path);
				continue;
			}
			if (strncmp(p, "data/", 5) == 0) {
				kist_findings_add(v->fs, KIST_SEV_ERROR, "tagmanifest.lists-payload", man->name,
						  "line %" PRIu32 ": %s is a payload file; a tag manifest "
						  "must not list payload files", e->line, p);
				continue;
			}
			t->refs[n].path = p;
			t->refs[n].entry = (uint32_t)i;
			t->refs[n].man = (uint16_t)m;
			n++;
		}
	}
	sort(t->refs, n, sizeof(*t->refs), tagref_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && strcmp(t->refs[j].path, t->refs[i].path) == 0) {
			const struct tagref *r = &t->refs[j];

			if (r->man == t->refs[j - 1].man)
				kist_findings_add(v->fs, v->v1 ? KIST_SEV_ERROR : KIST_SEV_WARNING,
						  "manifest.duplicate", r->path, "listed again in %s (line %"
						  PRIu32 ")", v->bag->manifests[r->man].name,
						  v->bag->manifests[r->man].list.entries[r->entry].line);
			j++;
		}
		if (tag_present(v, t->refs[i].path)) {
			t->items[t->nitems].path = t->refs[i].path;
			t->items[t->nitems].size = UINT64_MAX;
			t->first[t->nitems] = i;
			t->count[t->nitems] = j - i;
			t->nitems++;
		}
		i = j;
	}
	return KIST_OK;
}

static int hash_tags(struct val *v, struct kist_error *err)
{
	struct kist_pipeline_options po;

	if (!v->tags || !v->tags->nitems)
		return KIST_OK;
	pipeline_options(v, &po, kist_bag_algorithms(v->bag, 1));
	if (v->view)
		return v->view->hash(v->view->ctx, 1, po.algs, v->tags->items, v->tags->nitems, on_tag,
				     v->tags, err);
	return kist_pipeline_run(&po, v->tags->items, v->tags->nitems, on_tag, v->tags, err);
}

/* Tag files first, then the payload, as one run: a large tag file (PREMIS
 * for many files) is hashed beside the payload instead of alone at the end. */
static int on_any(void *ctx, const struct kist_hash_result *r)
{
	struct val *v = ctx;
	struct kist_hash_result shifted;

	if (r->index < v->tags->nitems)
		return on_tag(v->tags, r);
	shifted = *r;
	shifted.index -= v->tags->nitems;
	return on_payload(v, &shifted);
}

static int hash_together(struct val *v, struct kist_error *err)
{
	struct kist_pipeline_options po;
	struct kist_hash_item *payload, *items;
	size_t n, nt = v->tags->nitems;
	uint64_t bytes;
	int rc;

	if (!(payload = payload_items(v, &n, &bytes)))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	if (!(items = malloc((n + nt) * sizeof(*items)))) {
		free(payload);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	memcpy(items, v->tags->items, nt * sizeof(*items));
	memcpy(items + nt, payload, n * sizeof(*items));
	free(payload);
	pipeline_options(v, &po, kist_bag_algorithms(v->bag, 0));
	po.progress = v->opt->progress;
	if (po.progress)
		kist_progress_set_total(po.progress, n + nt, bytes);
	rc = kist_pipeline_run(&po, items, n + nt, on_any, v, err);
	free(items);
	return rc;
}

/* Every payload and tag manifest checked: in one run when the payload's
 * algorithms cover the tag manifests' (the usual case), else in two. */
static int hash_all(struct val *v, struct kist_error *err)
{
	kist_algset payload = kist_bag_algorithms(v->bag, 0), tags = kist_bag_algorithms(v->bag, 1);

	if (!v->view && v->tags && v->tags->nitems && payload && !(tags & ~payload))
		return hash_together(v, err);
	if (hash_payload(v, err) != KIST_OK)
		return KIST_FAILED;
	return hash_tags(v, err);
}

/* --- the whole ------------------------------------------------------------------------ */

static int is_utf8_name(const char *enc)
{
	return !enc || strcasecmp(enc, "UTF-8") == 0 || strcasecmp(enc, "UTF8") == 0;
}

static void lint(struct val *v)
{
	kist_algset payload = kist_bag_algorithms(v->bag, 0);
	kist_algset weak = KIST_ALG_BIT(KIST_ALG_MD5) | KIST_ALG_BIT(KIST_ALG_SHA1);

	if (payload && !(payload & ~weak))
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.weak-algorithm", NULL,
				  "only md5 or sha1 payload manifests; sha256 or sha512 are the "
				  "algorithms to trust");
	if (!kist_bag_algorithms(v->bag, 1))
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.no-tag-manifest", NULL,
				  "no tag manifest: bagit.txt and bag-info.txt are not protected");
	if (!is_utf8_name(v->bag->encoding))
		kist_findings_add(v->fs, KIST_SEV_WARNING, "lint.tag-encoding", "bagit.txt",
				  "tag files are in %s, not UTF-8", v->bag->encoding);
}

/* The reader applies each version's rules to bagit.txt, the bag-info file's
 * name and its whitespace, and percent-decoding. "At least one payload
 * manifest" is the validator's. */
static void check_manifests_present(struct val *v)
{
	if (!kist_bag_algorithms(v->bag, 0))
		kist_findings_add(v->fs, KIST_SEV_ERROR, "bag.no-manifest", NULL,
				  "no payload manifest (manifest-ALG.txt): a bag needs at least one");
}

static size_t problems(const struct kist_findings *fs)
{
	return kist_findings_count_severity(fs, KIST_SEV_ERROR) +
	       kist_findings_count_severity(fs, KIST_SEV_FAILURE);
}

static void val_free(struct val *v)
{
	arena_free(&v->arena);
	free(v->files);
	free(v->refs);
	free(v->fetch_keys);
	free(v->item_file);
	tagrun_free(v->tags);
	for (size_t i = 0; i < v->nlinks; i++)
		free(v->links[i]);
	free(v->links);
	free((char *)v->walk_prefix);
}

/* Everything after the bag was read: the same for a directory and a view. */
static int check_bag(struct val *v, const char *path, struct kist_bag_validate_result *res,
		     size_t errors0, size_t failures0, struct kist_error *err)
{
	struct kist_findings *findings = v->fs;
	int rc;

	v->v1 = kist_bag_version_at_least(v->bag, 1, 0);
	res->version_major = v->bag->major;
	res->version_minor = v->bag->minor;
	check_manifests_present(v);
	if (walk_payload(v, err) < 0)
		return KIST_FAILED;
	res->payload_files = v->nfiles;
	res->payload_bytes = v->bytes;
	sort(v->files, v->nfiles, sizeof(*v->files), dfile_cmp);
	if (v->opt->level == KIST_BAG_CHECK_FAST) {
		if (check_fetch(v, res, 0) < 0)
			goto oom;
		check_oxum(v, res);
		goto verdict;
	}
	lint(v);
	/* fetch.txt before the merge: a missing file it lists is pending, not
	 * missing; and before the Oxum, which counts pending files too */
	if (collect_refs(v) < 0 || check_fetch(v, res, 1) < 0)
		goto oom;
	check_oxum(v, res);
	if (merge_payload(v) < 0)
		goto oom;
	if (check_tags(v, err) != KIST_OK)
		return KIST_FAILED;
	/* Complete: nothing wrong and nothing unreadable before any byte of
	 * the payload is read (RFC 8493 section 3). */
	res->complete = problems(findings) == errors0 + failures0;
	if (v->opt->level == KIST_BAG_CHECK_FULL) {
		if (hash_all(v, err) != KIST_OK)
			return KIST_FAILED;
		res->valid = res->complete && problems(findings) == errors0 + failures0;
	}
verdict:
	if (v->failed_oom)
		goto oom;
	rc = problems(findings) == errors0 + failures0 ? KIST_OK : KIST_INVALID;
	if (rc == KIST_INVALID && kist_findings_count_severity(findings, KIST_SEV_ERROR) == errors0)
		rc = kist_error_set(err, KIST_FAILED, "%s: some files could not be read", path);
	return rc;
oom:
	return kist_error_set(err, KIST_FAILED, "out of memory");
}

static void result_init(struct kist_bag_validate_result *res)
{
	memset(res, 0, sizeof(*res));
	res->oxum_ok = -1;
	res->version_major = res->version_minor = -1;
}

int kist_bag_validate(const char *path, const struct kist_bag_validate_options *opt,
		      struct kist_bag_validate_result *res, struct kist_findings *findings,
		      struct kist_error *err)
{
	static const struct kist_bag_validate_options defaults = { .level = KIST_BAG_CHECK_FULL };
	struct val v;
	struct stat st;
	size_t errors0 = kist_findings_count_severity(findings, KIST_SEV_ERROR);
	size_t failures0 = kist_findings_count_severity(findings, KIST_SEV_FAILURE);
	int rc;

	result_init(res);
	memset(&v, 0, sizeof(v));
	v.opt = opt ? opt : &defaults;
	v.fs = findings;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	/* a serialized bag (a regular file) is validated as a stream */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && kist_pack_format_for_name(path) >= 0)
		return kist_archive_validate(path, v.opt, NULL, NULL, NULL, res, findings, err);
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? errno : ENOTDIR;

		kist_findings_add(findings, KIST_SEV_FAILURE, "bag.unreadable", NULL,
				  "cannot read the bag: %s", strerror(e));
		return kist_error_sys(err, e, "%s", path);
	}
	rc = kist_bag_open(path, &v.bag, findings, err);
	if (rc == KIST_FAILED) {
		kist_findings_add(findings, KIST_SEV_FAILURE, "bag.unreadable", NULL, "%s", err->message);
		return rc;
	}
	if (rc != KIST_OK || !v.bag) {
		if (kist_findings_count_severity(findings, KIST_SEV_ERROR) == errors0)
			kist_findings_add(findings, KIST_SEV_ERROR, "bag.not-a-bag", "bagit.txt",
					  "no readable bagit.txt: not a bag");
		kist_bag_free(v.bag);
		return KIST_INVALID;
	}
	/* The walk names files "BAG/data/...", as kist_path_join makes it. */
	{
		char *root = kist_path_join(path, "data");

		if (!root) {
			kist_bag_free(v.bag);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
		v.walk_prefix_len = strlen(root) - 4;
		root[v.walk_prefix_len] = '\0';
		v.walk_prefix = root;
	}
	rc = check_bag(&v, path, res, errors0, failures0, err);
	val_free(&v);
	kist_bag_free(v.bag);
	return rc;
}

int kist_bag_validate_view(const struct kist_bag_view *view,
			   const struct kist_bag_validate_options *opt,
			   struct kist_bag_validate_result *res, struct kist_findings *findings,
			   struct kist_error *err)
{
	static const struct kist_bag_validate_options defaults = { .level = KIST_BAG_CHECK_FULL };
	size_t errors0 = kist_findings_count_severity(findings, KIST_SEV_ERROR);
	size_t failures0 = kist_findings_count_severity(findings, KIST_SEV_FAILURE);
	struct val v;
	int rc;

	result_init(res);
	memset(&v, 0, sizeof(v));
	v.opt = opt ? opt : &defaults;
	v.fs = findings;
	v.view = view;
	v.bag = view->bag;
	rc = check_bag(&v, view->bag->path, res, errors0, failures0, err);
	val_free(&v);
	return rc;
}

/* --- recording the outcome (kist bag validate --record) ----------------------- */

int kist_bag_record_event(const char *path, const struct kist_premis_event *event,
			  const struct kist_premis_agent *agents, size_t nagents,
			  struct kist_error *err)
{
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag *bag = NULL;
	int rc;

	if (!fs)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	kist_error_clear(err);
	if ((rc = kist_bag_open(path, &bag, fs, err)) != KIST_OK) {
		if (!err->message[0])
			kist_error_set(err, rc, "%s is not a bag", path);
		goto out;
	}
	if (faccessat(bag->dirfd, "metadata/premis.xml", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = kist_premis_append(bag->dirfd, "metadata/premis.xml", event, 1, agents, nagents, err);
	} else {
		struct kist_premis_writer *w;

		if (mkdirat(bag->dirfd, "metadata", 0755) < 0 && errno != EEXIST) {
			rc = kist_error_sys(err, errno, "%s: cannot make metadata", path);
			goto out;
		}
		/* written beside, then renamed: never a half document */
		if (!(w = kist_premis_writer_new(bag->dirfd, "metadata/premis.xml.kist-tmp", err))) {
			rc = err->status;
			goto out;
		}
		if (kist_premis_write_event(w, event) < 0) {
			kist_premis_writer_free(w);
			rc = kist_error_set(err, KIST_FAILED, "%s: cannot write the PREMIS event", path);
			goto out;
		}
		for (size_t i = 0; i < nagents; i++)
			if (kist_premis_write_agent(w, &agents[i]) < 0) {
				kist_premis_writer_free(w);
				rc = kist_error_set(err, KIST_FAILED, "%s: cannot write a PREMIS agent", path);
				goto out;
			}
		if ((rc = kist_premis_writer_finish(w, err)) != KIST_OK)
			goto out;
		if (renameat(bag->dirfd, "metadata/premis.xml.kist-tmp", bag->dirfd, "metadata/premis.xml") < 0) {
			rc = kist_error_sys(err, errno, "%s: cannot write metadata/premis.xml", path);
			goto out;
		}
	}
	if (rc == KIST_OK)
		rc = kist_bag_write_tag_manifests(bag->dirfd, kist_bag_algorithms(bag, 1), err);
out:
	kist_bag_free(bag);
	kist_findings_free(fs);
	return rc;
}
