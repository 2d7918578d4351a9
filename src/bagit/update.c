/* kist bag update: after the payload was edited, hash data/ once and rewrite
 * the payload manifests, Payload-Oxum (and Bag-Size) and, last, the tag
 * manifests.
 *
 * Nothing is written until every check passed and every file was hashed.
 * The writes then go, each atomically, in this order:
 *   1. manifest-ALG.txt for every payload algorithm the bag keeps or gains;
 *   2. the bag-info file (only the Payload-Oxum and Bag-Size values change);
 *   3. manifest-ALG.txt of removed algorithms is unlinked (and, on upgrade,
 *      bagit.txt is rewritten as 1.0);
 *   4. the tag manifests (kist_bag_write_tag_manifests), which also drops
 *      the tag manifests of removed algorithms.
 * The tag manifests are written after every file they vouch for, so an
 * interruption leaves tag manifests that no longer match (the bag fails
 * validation loudly) and never tag manifests that vouch for stale files.
 * Update derives everything from data/ and never trusts the old manifests
 * (they only feed the added/removed/changed counts), so running it again
 * finishes the job.
 *
 * The bag's BagIt-Version is kept unless the caller asks for an upgrade
 * (opt->upgrade): then, after the manifests and the bag-info file (renamed
 * from package-info.txt before 0.96), bagit.txt is rewritten as 1.0, and the
 * tag manifests come last as always. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utf8proc.h>

#include <kist/buf.h>
#include <kist/kist.h>
#include <kist/premis.h>

struct payload_file {
	char *path;          /* "data/..." as on disk */
	char *nfc;           /* for comparisons */
	uint64_t size;
};

struct upd {
	struct kist_bag *bag;
	struct kist_findings *findings;
	const char *agent;            /* PREMIS person, NULL: the login name */
	struct payload_file *files;
	size_t nfiles, capfiles;
	uint64_t bytes;
	kist_algset hash_algs;
	size_t stride, offset[KIST_ALG_COUNT];
	unsigned char *digests;   /* nfiles * stride */
	int failed;               /* a file could not be hashed */
	int upgrading;            /* to BagIt 1.0 */
};

/* --- names ------------------------------------------------------------------ */

static char *nfc_dup(const char *s)
{
	utf8proc_uint8_t *r = utf8proc_NFC((const utf8proc_uint8_t *)s);

	return r ? (char *)r : strdup(s);
}

static char *fold_dup(const char *s)
{
	utf8proc_uint8_t *r = NULL;
	utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &r,
					  UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
						  UTF8PROC_CASEFOLD);

	return n < 0 ? strdup(s) : (char *)r;
}

static int is_utf8_encoding(const char *enc)
{
	return !enc || strcasecmp(enc, "UTF-8") == 0 || strcasecmp(enc, "UTF8") == 0;
}

static int is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Converts UTF-8 text to enc; returns malloc'd bytes, or NULL when a
 * character has no form there (or out of memory). */
static char *to_encoding(const char *enc, const char *text, size_t len, size_t *outlen)
{
	iconv_t cd = iconv_open(enc, "UTF-8");
	size_t cap = len * 4 + 16, inleft = len, outleft = cap;
	char *out, *in = (char *)text, *o;

	if (cd == (iconv_t)-1)
		return NULL;
	if (!(out = malloc(cap))) {
		iconv_close(cd);
		return NULL;
	}
	o = out;
	if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &o, &outleft) == (size_t)-1) {
		free(out);
		out = NULL;
	}
	iconv_close(cd);
	if (out)
		*outlen = (size_t)(o - out);
	return out;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two payload files whose names are equal in NFC, or equal ignoring case,
 * cannot both be named in a manifest unambiguously, nor unpacked on every
 * file system: refuse, as create does. */
static int check_clashes(struct upd *u)
{
	char **keys[2] = { NULL, NULL };
	int bad = 0;

	if (u->nfiles < 2)
		return 0;
	for (int k = 0; k < 2; k++) {
		if (!(keys[k] = calloc(u->nfiles, sizeof(char *))))
			goto oom;
		for (size_t i = 0; i < u->nfiles; i++) {
			/* "key\0path": sorted by key, then the clashing paths are neighbours */
			char *key = k == 0 ? strdup(u->files[i].nfc) : fold_dup(u->files[i].path);
			char *both;
			size_t kl, pl;

			if (!key)
				goto oom;
			kl = strlen(key);
			pl = strlen(u->files[i].path);
			both = malloc(kl + pl + 2);
			if (!both) {
				free(key);
				goto oom;
			}
			memcpy(both, key, kl + 1);
			memcpy(both + kl + 1, u->files[i].path, pl + 1);
			free(key);
			keys[k][i] = both;
		}
		qsort(keys[k], u->nfiles, sizeof(char *), cmp_str_ptr);
		for (size_t i = 1; i < u->nfiles; i++) {
			if (strcmp(keys[k][i - 1], keys[k][i]) != 0)
				continue;
			const char *p1 = keys[k][i - 1] + strlen(keys[k][i - 1]) + 1;
			const char *p2 = keys[k][i] + strlen(keys[k][i]) + 1;

			if (k == 0) {
				kist_findings_add(u->findings, KIST_SEV_ERROR, "payload.name-clash", p2,
						  "same name as %s once Unicode-normalized (NFC)", p1);
			} else {
				char *n1 = nfc_dup(p1), *n2 = nfc_dup(p2);

				/* already reported as an NFC clash */
				if (n1 && n2 && strcmp(n1, n2) != 0)
					kist_findings_add(u->findings, KIST_SEV_ERROR, "payload.case-clash", p2,
							  "differs from %s only in case", p1);
				free(n1);
				free(n2);
			}
			bad = 1;
		}
	}
out:
	for (int k = 0; k < 2; k++) {
		if (keys[k])
			for (size_t i = 0; i < u->nfiles; i++)
				free(keys[k][i]);
		free(keys[k]);
	}
	return bad;
oom:
	kist_findings_add(u->findings, KIST_SEV_FAILURE, "update.no-memory", NULL, "out of memory");
	bad = 1;
	goto out;
}

/* --- the payload walk ------------------------------------------------------------ */

static int on_walk(void *ctx, const struct kist_walk_entry *e)
{
	struct upd *u = ctx;
	struct payload_file *f;

	if (e->type != KIST_ENTRY_FILE)
		return 0;
	if (u->nfiles == u->capfiles) {
		size_t cap = u->capfiles ? 2 * u->capfiles : 256;
		struct payload_file *nf = realloc(u->files, cap * sizeof(*nf));

		if (!nf)
			return -1;
		u->files = nf;
		u->capfiles = cap;
	}
	f = &u->files[u->nfiles];
	f->path = kist_path_join("data", e->rel);
	f->nfc = f->path ? nfc_dup(f->path) : NULL;
	f->size = e->size;
	if (!f->path || !f->nfc) {
		free(f->path);
		free(f->nfc);
		return -1;
	}
	u->nfiles++;
	u->bytes += e->size;
	return 0;
}

/* Walks data/ without following anything. Symlinks and special files in the
 * payload are refused (they cannot be in a manifest faithfully); a directory
 * that cannot be read means an incomplete manifest, also refused. */
static int walk_payload(struct upd *u, const char *path, struct kist_error *err)
{
	struct kist_findings *wf = kist_findings_new();
	struct kist_walk_options wo = { 0 };
	struct stat st;
	char *data = kist_path_join(path, "data");
	int rc = KIST_OK;

	if (!wf || !data) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if (fstatat(u->bag->dirfd, "data", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		kist_findings_add(u->findings, KIST_SEV_ERROR, "payload.no-data-dir", data,
				  "%s", errno == ENOENT ? "the bag has no data/ directory"
							: "data/ is not a directory");
		rc = KIST_INVALID;
		goto out;
	}
	if (kist_walk(data, &wo, on_walk, u, wf, err) != KIST_OK) {
		rc = KIST_FAILED;
		goto out;
	}
	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);
		const char *code = f->code;
		enum kist_severity sev = KIST_SEV_FAILURE;

		if (strcmp(code, "walk.symlink") == 0 || strcmp(code, "walk.dangling-symlink") == 0 ||
		    strcmp(code, "walk.symlink-loop") == 0) {
			code = "payload.symlink";
			sev = KIST_SEV_ERROR;
		} else if (strcmp(code, "walk.special-file") == 0) {
			code = "payload.special-file";
			sev = KIST_SEV_ERROR;
		}
		kist_findings_add(u->findings, sev, code, f->path, "%s; the payload is not updated",
				  f->message ? f->message : "problem");
		rc = sev == KIST_SEV_ERROR && rc != KIST_FAILED ? KIST_INVALID : KIST_FAILED;
	}
out:
	kist_findings_free(wf);
	free(data);
	return rc;
}

/* The tag area (everything outside data/) must hold only regular files and
 * directories, or the tag manifests cannot be written: checked before any
 * write, so that update never stops half-way on it. */
struct tag_walk {
	struct upd *u;
	int bad;
};

static int on_tag_walk(void *ctx, const struct kist_walk_entry *e)
{
	struct tag_walk *t = ctx;

	if (e->type == KIST_ENTRY_DIR && strcmp(e->rel, "data") == 0)
		return 1;
	/* kist_bag_write_tag_manifests writes names as UTF-8 */
	if (e->type == KIST_ENTRY_FILE && !is_utf8_encoding(t->u->bag->encoding) && !is_ascii(e->rel)) {
		kist_findings_add(t->u->findings, KIST_SEV_ERROR, "update.encoding", e->path,
				  "a tag file with a non-ASCII name in a bag whose tag files are %s "
				  "cannot be listed in a tag manifest by update",
				  t->u->bag->encoding);
		t->bad = 1;
	}
	return 0;
}

static int check_tag_area(struct upd *u, const char *path, struct kist_error *err)
{
	struct kist_findings *wf = kist_findings_new();
	struct kist_walk_options wo = { .follow_root = 1 };
	struct tag_walk t = { .u = u };
	int rc = KIST_OK;

	if (!wf)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	if (kist_walk(path, &wo, on_tag_walk, &t, wf, err) != KIST_OK)
		rc = KIST_FAILED;
	else if (t.bad)
		rc = KIST_INVALID;
	for (size_t i = 0; i < kist_findings_count(wf); i++) {
		const struct kist_finding *f = kist_findings_get(wf, i);
		int data = strncmp(f->code, "walk.symlink", 12) == 0 ||
			   strcmp(f->code, "walk.dangling-symlink") == 0 ||
			   strcmp(f->code, "walk.special-file") == 0;

		kist_findings_add(u->findings, data ? KIST_SEV_ERROR : KIST_SEV_FAILURE,
				  data ? "tagfile.not-regular" : f->code, f->path,
				  "%s; a tag manifest cannot cover it, nothing was written",
				  f->message ? f->message : "problem");
		if (rc == KIST_OK || !data)
			rc = data && rc == KIST_OK ? KIST_INVALID : KIST_FAILED;
	}
	kist_findings_free(wf);
	return rc;
}

/* --- hashing ------------------------------------------------------------------------ */

static int on_hashed(void *ctx, const struct kist_hash_result *r)
{
	struct upd *u = ctx;
	unsigned char *row = u->digests + r->index * u->stride;

	if (r->fail_code) {
		int data_problem = strcmp(r->fail_code, "file.symlink") == 0 ||
				   strcmp(r->fail_code, "file.not-regular") == 0 ||
				   strcmp(r->fail_code, "file.outside") == 0;

		kist_findings_add(u->findings, data_problem ? KIST_SEV_ERROR : KIST_SEV_FAILURE,
				  r->fail_code, r->path, "%s; nothing was written, run update again",
				  r->fail_message[0] ? r->fail_message : "cannot be read");
		u->failed = data_problem ? (u->failed ? u->failed : KIST_INVALID) : KIST_FAILED;
		return 0;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (u->hash_algs & KIST_ALG_BIT(a))
			memcpy(row + u->offset[a], r->digest[a], kist_alg_size(a));
	/* the size the manifests and the oxum describe is what was read */
	u->bytes += r->bytes - u->files[r->index].size;
	u->files[r->index].size = r->bytes;
	return 0;
}

/* --- comparing with the old manifests ------------------------------------------------ */

struct old_entry {
	char *nfc;
	int alg;
	const unsigned char *digest;
};

static int cmp_old(const void *a, const void *b)
{
	return strcmp(((const struct old_entry *)a)->nfc, ((const struct old_entry *)b)->nfc);
}

static int cmp_file_nfc(const void *a, const void *b)
{
	return strcmp((*(struct payload_file *const *)a)->nfc, (*(struct payload_file *const *)b)->nfc);
}

static int count_changes(struct upd *u, struct kist_bag_update_result *res)
{
	struct old_entry *old = NULL;
	struct payload_file **sorted = NULL;
	size_t nold = 0, cap = 0;
	int rc = -1;

	for (size_t m = 0; m < u->bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &u->bag->manifests[m];

		if (man->is_tag)
			continue;
		cap += man->list.count;
	}
	old = calloc(cap ? cap : 1, sizeof(*old));
	sorted = calloc(u->nfiles ? u->nfiles : 1, sizeof(*sorted));
	if (!old || !sorted)
		goto out;
	for (size_t m = 0; m < u->bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &u->bag->manifests[m];

		if (man->is_tag)
			continue;
		for (size_t i = 0; i < man->list.count; i++) {
			if (!(old[nold].nfc = nfc_dup(man->list.entries[i].path)))
				goto out;
			old[nold].alg = man->alg;
			old[nold].digest = man->list.entries[i].digest;
			nold++;
		}
	}
	qsort(old, nold, sizeof(*old), cmp_old);
	for (size_t i = 0; i < u->nfiles; i++)
		sorted[i] = &u->files[i];
	qsort(sorted, u->nfiles, sizeof(*sorted), cmp_file_nfc);

	/* Merge the two sorted lists. */
	size_t i = 0, j = 0;
	while (i < u->nfiles || j < nold) {
		int c = i == u->nfiles ? 1 : j == nold ? -1 : strcmp(sorted[i]->nfc, old[j].nfc);

		if (c < 0) {
			res->added++;
			i++;
		} else if (c > 0) {
			res->removed++;
			for (const char *p = old[j].nfc; j < nold && strcmp(old[j].nfc, p) == 0;)
				j++;
		} else {
			const unsigned char *row = u->digests + (size_t)(sorted[i] - u->files) * u->stride;
			const char *p = old[j].nfc;
			int changed = 0;

			for (; j < nold && strcmp(old[j].nfc, p) == 0; j++) {
				int a = old[j].alg;

				if ((u->hash_algs & KIST_ALG_BIT(a)) &&
				    memcmp(row + u->offset[a], old[j].digest, kist_alg_size(a)) != 0)
					changed = 1;
			}
			if (changed)
				res->changed++;
			else
				res->unchanged++;
			i++;
		}
	}
	rc = 0;
out:
	for (size_t k = 0; k < nold; k++)
		free(old[k].nfc);
	free(old);
	free(sorted);
	return rc;
}

/* --- the bag-info file ------------------------------------------------------------------- */

/* Can this tag file be edited as bytes: does the encoding write ASCII as
 * ASCII (UTF-8, ISO-8859-*, windows-125x), unlike UTF-16 or UTF-32? */
static int ascii_compatible(const char *enc)
{
	static const char probe[] = "Payload-Oxum: 0.0\n";
	char out[64], *in = (char *)probe, *o = out;
	size_t inleft = sizeof(probe) - 1, outleft = sizeof(out);
	iconv_t cd;
	int ok;

	if (is_utf8_encoding(enc))
		return 1;
	if ((cd = iconv_open(enc, "UTF-8")) == (iconv_t)-1)
		return 0;
	ok = iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1 &&
	     (size_t)(o - out) == sizeof(probe) - 1 && memcmp(out, probe, sizeof(probe) - 1) == 0;
	iconv_close(cd);
	return ok;
}

/* Does the element starting at line [s, e) carry this label ("Label:" or,
 * before 1.0, "Label :")? Sets *vstart to where the value begins. */
static int line_has_label(const char *s, const char *e, const char *label, const char **vstart)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	const char *end;
	size_t ll = strlen(label);

	if (!colon)
		return 0;
	for (end = colon; end > s && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	if ((size_t)(end - s) != ll || strncasecmp(s, label, ll) != 0)
		return 0;
	*vstart = colon + 1;
	while (*vstart < e && (**vstart == ' ' || **vstart == '\t'))
		(*vstart)++;
	return 1;
}

/* Sets label's value in the tag text: the first element with the label keeps
 * its place, its label's spelling and its line ending, and gets the value
 * (continuation lines dropped); later elements with the label go. With none,
 * append adds "label: value". Every other byte is kept. */
static int edit_element(const char *text, size_t len, const char *label, const char *value,
			int append, struct kist_buf *out)
{
	const char *p = text, *end = text + len, *eol_style = "\n";
	int done = 0, dropping = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		if (kist_buf_add(out, text, 3) < 0)
			return -1;
		p += 3;
	}
	{
		const char *q = memchr(p, '\n', (size_t)(end - p));

		if (q && q > p && q[-1] == '\r')
			eol_style = "\r\n";   /* appended lines follow the file's style */
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		const char *content_end = nl ? (nl > p && nl[-1] == '\r' ? nl - 1 : nl) : end;
		const char *vstart;
		int continuation = p < content_end && (*p == ' ' || *p == '\t');

		if (continuation && dropping) {
			p = next;
			continue;
		}
		dropping = 0;
		if (!continuation && line_has_label(p, content_end, label, &vstart)) {
			dropping = 1;   /* its continuation lines go */
			if (!done) {
				if (kist_buf_add(out, p, (size_t)(vstart - p)) < 0)
					return -1;
				if (vstart == content_end && content_end[-1] == ':' && kist_buf_add(out, " ", 1) < 0)
					return -1;
				if (kist_buf_add(out, value, strlen(value)) < 0 ||
				    kist_buf_add(out, content_end, (size_t)(next - content_end)) < 0)
					return -1;
				done = 1;
			}
			p = next;
			continue;
		}
		if (kist_buf_add(out, p, (size_t)(next - p)) < 0)
			return -1;
		p = next;
	}
	if (!done && append) {
		if (out->len && out->p[out->len - 1] != '\n' && kist_buf_add(out, eol_style, strlen(eol_style)) < 0)
			return -1;
		if (kist_buf_add(out, label, strlen(label)) < 0 || kist_buf_add(out, ": ", 2) < 0 ||
		    kist_buf_add(out, value, strlen(value)) < 0 ||
		    kist_buf_add(out, eol_style, strlen(eol_style)) < 0)
			return -1;
	}
	if (!out->p && kist_buf_add(out, "", 0) < 0)
		return -1;
	return 0;
}

static int read_all(int dirfd, const char *name, struct kist_buf *b, struct kist_error *err)
{
	char chunk[65536];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return kist_error_sys(err, errno, "cannot open %s", name);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return kist_error_sys(err, errno, "cannot read %s", name);
		}
		if (kist_buf_add(b, chunk, (size_t)n) < 0) {
			close(fd);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
	}
	close(fd);
	if (!b->p && kist_buf_add(b, "", 0) < 0)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	return KIST_OK;
}

/* Checks that the bag-info file can be edited; done before anything is written. */
static int check_info(struct upd *u)
{
	const struct kist_bag *bag = u->bag;

	if (bag->info_name && !ascii_compatible(bag->encoding)) {
		kist_findings_add(u->findings, KIST_SEV_FAILURE, "update.encoding", bag->info_name,
				  "tag files in %s cannot be edited by update; nothing was written",
				  bag->encoding);
		return KIST_FAILED;
	}
	return KIST_OK;
}

/* BagIt 1.0 allows no whitespace between a label and its colon (RFC 8493
 * 2.2.2); earlier versions did. On upgrade it goes, all else is kept. */
static int strip_label_space(const struct kist_buf *in, struct kist_buf *out)
{
	const char *p = in->p, *end = in->p + in->len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		const char *colon = memchr(p, ':', (size_t)(next - p));
		const char *lend = colon;

		if (colon && p < colon && *p != ' ' && *p != '\t') {
			while (lend > p && (lend[-1] == ' ' || lend[-1] == '\t'))
				lend--;
			if (kist_buf_add(out, p, (size_t)(lend - p)) < 0 ||
			    kist_buf_add(out, colon, (size_t)(next - colon)) < 0)
				return -1;
		} else if (kist_buf_add(out, p, (size_t)(next - p)) < 0) {
			return -1;
		}
		p = next;
	}
	if (!out->p && kist_buf_add(out, "", 0) < 0)
		return -1;
	return 0;
}

static int write_info(struct upd *u, struct kist_error *err)
{
	struct kist_bag *bag = u->bag;
	char oxum[64], size[64];
	int has_size = kist_bag_info_count(&bag->info, "Bag-Size") > 0;
	struct kist_buf old = { 0 }, mid = { 0 }, out = { 0 }, fixed = { 0 };
	const char *target;
	int rc;

	kist_bag_oxum(u->bytes, u->nfiles, oxum, sizeof(oxum));
	kist_bag_size(u->bytes, size, sizeof(size));
	if (kist_bag_info_set(&bag->info, "Payload-Oxum", oxum) < 0 ||
	    (has_size && kist_bag_info_set(&bag->info, "Bag-Size", size) < 0))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	/* before 0.96 the file was called package-info.txt */
	target = u->upgrading || kist_bag_version_at_least(bag, 0, 96) ? "bag-info.txt"
								       : "package-info.txt";
	if (!bag->info_name)   /* a bag without one gets one, holding the Payload-Oxum */
		return kist_bag_write_info(bag->dirfd, target, &bag->info, err);
	if (!u->upgrading)
		target = bag->info_name;
	/* Edited as text rather than reformatted, so that every other element
	 * keeps its bytes: folding, spacing, line endings, encoding. */
	if ((rc = read_all(bag->dirfd, bag->info_name, &old, err)) != KIST_OK)
		goto out;
	if (edit_element(old.p, old.len, "Payload-Oxum", oxum, 1, &mid) < 0 ||
	    (has_size && edit_element(mid.p, mid.len, "Bag-Size", size, 0, &out) < 0)) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if (!has_size) {
		out = mid;
		mid.p = NULL;
	}
	if (u->upgrading) {
		if (strip_label_space(&out, &fixed) < 0) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			goto out;
		}
		free(out.p);
		out = fixed;
		fixed.p = NULL;
	}
	if (strcmp(target, bag->info_name) == 0 && out.len == old.len &&
	    memcmp(out.p, old.p, old.len) == 0)
		rc = KIST_OK;   /* nothing to change */
	else
		rc = kist_write_atomic(bag->dirfd, target, out.p, out.len, err);
	/* the old name goes once the new file is in place */
	if (rc == KIST_OK && strcmp(target, bag->info_name) != 0) {
		if (unlinkat(bag->dirfd, bag->info_name, 0) < 0 && errno != ENOENT)
			rc = kist_error_sys(err, errno, "cannot remove %s", bag->info_name);
		else if (fsync(bag->dirfd) < 0)
			rc = kist_error_sys(err, errno, "cannot sync %s", bag->path);
	}
out:
	free(old.p);
	free(mid.p);
	free(out.p);
	free(fixed.p);
	return rc;
}

/* --- writing the manifests ------------------------------------------------------------ */

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct kist_manifest_line *)a)->path,
		      ((const struct kist_manifest_line *)b)->path);
}

/* A manifest in the bag's declared tag file encoding (RFC 8493 2.1.3: every
 * tag file is in it), for bags that are not UTF-8: the same lines as
 * kist_bag_write_manifest, converted. The names were checked to convert. */
static int write_manifest_encoded(struct upd *u, int alg, struct kist_manifest_line *lines,
				  size_t n, struct kist_error *err)
{
	struct kist_buf text = { 0 };
	char name[64], hex[KIST_DIGEST_HEX_MAX], *conv = NULL;
	size_t convlen = 0;
	int rc = KIST_OK, raw = !kist_bag_version_at_least(u->bag, 1, 0) && !u->upgrading;

	snprintf(name, sizeof(name), "manifest-%s.txt", kist_alg_bagit_name(alg));
	if (n > 1)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (size_t i = 0; i < n && rc == KIST_OK; i++) {
		char *path = raw ? strdup(lines[i].path) : kist_bagit_percent_encode(lines[i].path);

		kist_hex(lines[i].digest, kist_alg_size(alg), hex);
		if (!path || kist_buf_add(&text, hex, strlen(hex)) < 0 || kist_buf_add(&text, "  ", 2) < 0 ||
		    kist_buf_add(&text, path, strlen(path)) < 0 || kist_buf_add(&text, "\n", 1) < 0)
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
		free(path);
	}
	if (rc == KIST_OK && !(conv = to_encoding(u->bag->encoding, text.p ? text.p : "", text.len,
						  &convlen)))
		rc = kist_error_set(err, KIST_FAILED, "%s: cannot convert to %s", name,
				    u->bag->encoding);
	if (rc == KIST_OK)
		rc = kist_write_atomic(u->bag->dirfd, name, conv, convlen, err);
	free(text.p);
	free(conv);
	return rc;
}

static int write_manifests(struct upd *u, kist_algset algs, struct kist_error *err)
{
	struct kist_manifest_line *lines = calloc(u->nfiles ? u->nfiles : 1, sizeof(*lines));
	int rc = KIST_OK;

	if (!lines)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (int a = 0; a < KIST_ALG_COUNT && rc == KIST_OK; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		for (size_t i = 0; i < u->nfiles; i++) {
			lines[i].path = u->files[i].path;
			memcpy(lines[i].digest, u->digests + i * u->stride + u->offset[a], kist_alg_size(a));
		}
		if (is_utf8_encoding(u->bag->encoding))
			rc = kist_bag_write_manifest(u->bag->dirfd, a, 0, lines, u->nfiles, err);
		else
			rc = write_manifest_encoded(u, a, lines, u->nfiles, err);
	}
	free(lines);
	return rc;
}

static int remove_manifests(struct upd *u, kist_algset algs, struct kist_error *err)
{
	int removed = 0;

	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		char name[64];

		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		snprintf(name, sizeof(name), "manifest-%s.txt", kist_alg_bagit_name(a));
		if (unlinkat(u->bag->dirfd, name, 0) < 0 && errno != ENOENT)
			return kist_error_sys(err, errno, "cannot remove %s", name);
		removed = 1;
	}
	if (removed && fsync(u->bag->dirfd) < 0)
		return kist_error_sys(err, errno, "cannot sync %s", u->bag->path);
	return KIST_OK;
}

/* An update killed between creating and renaming a file leaves
 * ".NAME.kist-tmp.PID" behind; those of processes that are gone are removed. */
static void remove_stale_temps(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		const char *mark = strstr(de->d_name, ".kist-tmp.");
		char *end;
		long pid;

		if (de->d_name[0] != '.' || !mark)
			continue;
		pid = strtol(mark + 10, &end, 10);
		if (end == mark + 10 || *end || pid <= 0)
			continue;   /* not one of ours */
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

/* --- the whole update ---------------------------------------------------------------- */

/* Findings of kist_bag_open from index `from` on: may the bag be rewritten?
 * Problems in bagit.txt, the bag-info file or fetch.txt are; malformed
 * manifests are not (they are replaced). */
static int open_problems(const struct kist_findings *fs, size_t from)
{
	for (size_t i = from; i < kist_findings_count(fs); i++) {
		const struct kist_finding *f = kist_findings_get(fs, i);

		if (f->severity < KIST_SEV_ERROR)
			continue;
		if (strncmp(f->code, "manifest.", 9) != 0 && strncmp(f->code, "list.", 5) != 0)
			return 1;
	}
	return 0;
}

static int check_names(struct upd *u)
{
	int utf8 = is_utf8_encoding(u->bag->encoding), bad = 0;

	int raw = !kist_bag_version_at_least(u->bag, 1, 0) && !u->upgrading;

	for (size_t i = 0; i < u->nfiles; i++) {
		const char *p = u->files[i].path;

		if (raw && strpbrk(p, "%\r\n")) {
			/* percent-encoding came with 1.0; earlier readers take "%25" as is */
			kist_findings_add(u->findings, KIST_SEV_ERROR, "update.unrepresentable", p,
					  "a name holding %%, CR or LF cannot be written to a BagIt %d.%d "
					  "manifest",
					  u->bag->major, u->bag->minor);
			bad = 1;
		} else if (utf8 && !kist_utf8_valid(p, strlen(p))) {
			kist_findings_add(u->findings, KIST_SEV_ERROR, "payload.invalid-utf8", p,
					  "name is not valid UTF-8 and cannot be written to a UTF-8 manifest");
			bad = 1;
		} else if (!utf8 && !is_ascii(p)) {
			size_t n;
			char *conv = kist_utf8_valid(p, strlen(p))
					     ? to_encoding(u->bag->encoding, p, strlen(p), &n)
					     : NULL;

			if (!conv) {
				kist_findings_add(u->findings, KIST_SEV_ERROR, "update.encoding", p,
						  "name cannot be written in %s, the encoding of the "
						  "bag's tag files",
						  u->bag->encoding);
				bad = 1;
			}
			free(conv);
		}
	}
	return bad | check_clashes(u);
}

/* Files fetch.txt names must all be here: update describes data/ as it is,
 * and would otherwise drop them from the manifests. */
static int check_fetch(struct upd *u)
{
	char **names;
	int bad = 0;

	if (!u->bag->nfetch)
		return 0;
	if (!(names = calloc(u->nfiles ? u->nfiles : 1, sizeof(*names)))) {
		kist_findings_add(u->findings, KIST_SEV_FAILURE, "update.no-memory", NULL, "out of memory");
		return 1;
	}
	for (size_t i = 0; i < u->nfiles; i++)
		names[i] = u->files[i].nfc;
	qsort(names, u->nfiles, sizeof(*names), cmp_str_ptr);
	for (size_t k = 0; k < u->bag->nfetch; k++) {
		const char *want = u->bag->fetch[k].path;
		char *n = nfc_dup(want);

		if (!n || !bsearch(&n, names, u->nfiles, sizeof(*names), cmp_str_ptr)) {
			kist_findings_add(u->findings, KIST_SEV_ERROR, "update.fetch-pending", want,
					  "listed in fetch.txt but not in the bag; fetch it first");
			bad = 1;
		}
		free(n);
	}
	free(names);
	return bad;
}

/* A bag with metadata/premis.xml gets a message digest calculation event,
 * before the tag manifests that cover the file. Provenance that cannot be
 * written is a warning: the manifests are right either way. */
static void record_premis(struct upd *u, const struct kist_bag_update_result *res, kist_algset algs)
{
	struct kist_premis_agent ag[2];
	size_t nag = 1, dl;
	char detail[512];
	struct kist_premis_event e = { .type = KIST_PREMIS_EV_MES, .outcome = KIST_PREMIS_SUCCESS,
				       .outcome_detail = detail, .agents = ag,
				       .object = KIST_PREMIS_BAG_OBJECT };
	struct kist_error err;

	if (faccessat(u->bag->dirfd, "metadata/premis.xml", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	kist_premis_agent_kist(&ag[0]);
	if (kist_premis_agent_person(&ag[1], u->agent) == 0)
		nag++;
	e.nagents = nag;
	dl = (size_t)snprintf(detail, sizeof(detail),
			      "kist bag update: %zu added, %zu removed, %zu changed, %zu unchanged; "
			      "%llu files, %llu bytes:",
			      res->added, res->removed, res->changed, res->unchanged,
			      (unsigned long long)u->nfiles, (unsigned long long)u->bytes);
	for (int a = 0; a < KIST_ALG_COUNT && dl < sizeof(detail); a++)
		if (algs & KIST_ALG_BIT(a))
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, " %s", kist_alg_name(a));
	kist_error_clear(&err);
	if (kist_premis_append(u->bag->dirfd, "metadata/premis.xml", &e, 1, ag, nag, &err) != KIST_OK)
		kist_findings_add(u->findings, KIST_SEV_WARNING, "premis.not-recorded", "metadata/premis.xml",
				  "the update is not in the PREMIS history: %s", err.message);
}

int kist_bag_update(const char *path, const struct kist_bag_update_options *opt,
		    struct kist_findings *findings, struct kist_error *err)
{
	static const struct kist_bag_update_options defaults;
	struct kist_bag_update_result res = { 0 };
	struct upd u = { .findings = findings, .agent = opt->agent };
	struct kist_pipeline_options po;
	struct kist_pipeline_stats stats = { 0 };
	struct kist_hash_item *items = NULL;
	kist_algset old_pay, old_tag, new_pay, new_tag, compare;
	size_t before = kist_findings_count(findings);
	int rc;

	if (!opt)
		opt = &defaults;
	kist_error_clear(err);
	if (opt->add_algs & opt->remove_algs)
		return kist_error_set(err, KIST_FAILED, "an algorithm cannot be both added and removed");
	rc = kist_bag_open(path, &u.bag, findings, err);
	if (rc != KIST_OK) {
		if (!err->message[0])
			kist_error_set(err, rc, "%s: not a bag", path);
		goto out;
	}
	if (open_problems(findings, before)) {
		rc = kist_error_set(err, KIST_INVALID,
				    "%s: the bag's tag files have errors; not updated", path);
		goto out;
	}

	u.upgrading = opt->upgrade && !kist_bag_version_at_least(u.bag, 1, 0);
	if (u.upgrading && !is_utf8_encoding(u.bag->encoding)) {
		kist_findings_add(findings, KIST_SEV_ERROR, "update.upgrade-encoding", "bagit.txt",
				  "tag files are %s: only a bag with UTF-8 tag files can be upgraded "
				  "to BagIt 1.0",
				  u.bag->encoding);
		rc = kist_error_set(err, KIST_INVALID, "%s: not updated", path);
		goto out;
	}
	for (size_t k = 0; u.upgrading && k < u.bag->nfetch; k++)
		if (strpbrk(u.bag->fetch[k].path, "%\r\n") || strchr(u.bag->fetch[k].url, '%')) {
			kist_findings_add(findings, KIST_SEV_ERROR, "update.upgrade-fetch", "fetch.txt",
					  "line %lu: a %% in fetch.txt would mean something else in "
					  "BagIt 1.0; not upgraded",
					  u.bag->fetch[k].line);
			rc = kist_error_set(err, KIST_INVALID, "%s: not updated", path);
			goto out;
		}

	/* Which manifests the bag will have. */
	old_pay = kist_bag_algorithms(u.bag, 0);
	old_tag = kist_bag_algorithms(u.bag, 1);
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if ((opt->remove_algs & KIST_ALG_BIT(a)) && !((old_pay | old_tag) & KIST_ALG_BIT(a)))
			kist_findings_add(findings, KIST_SEV_WARNING, "update.algorithm-absent", path,
					  "the bag has no %s manifest to remove", kist_alg_name(a));
	new_pay = (old_pay | opt->add_algs) & ~opt->remove_algs;
	new_tag = (old_tag | opt->add_algs) & ~opt->remove_algs;
	if (!new_tag && old_tag)
		new_tag = new_pay;   /* a bag that had tag manifests keeps some */
	if (!new_pay) {
		if (old_pay)
			kist_findings_add(findings, KIST_SEV_ERROR, "update.last-algorithm", path,
					  "refusing to remove the last payload algorithm; add another "
					  "with -a in the same run");
		else
			kist_findings_add(findings, KIST_SEV_ERROR, "update.no-algorithm", path,
					  "the bag has no payload manifest; name an algorithm with -a");
		rc = kist_error_set(err, KIST_INVALID, "%s: not updated", path);
		goto out;
	}
	/* The old manifests are compared on algorithms computed anyway; when every
	 * old one is being replaced, the cheapest is computed in the same read. */
	u.hash_algs = new_pay;
	compare = old_pay & new_pay;
	if (!compare && old_pay) {
		int best = -1;

		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if ((old_pay & KIST_ALG_BIT(a)) &&
			    (best < 0 || kist_alg_cost(a) < kist_alg_cost(best)))
				best = a;
		u.hash_algs |= KIST_ALG_BIT(best);
	}

	/* The payload as it is now. */
	if ((rc = walk_payload(&u, path, err)) != KIST_OK) {
		if (!err->message[0])
			kist_error_set(err, rc, "%s: the payload cannot be updated", path);
		goto out;
	}
	if (check_names(&u) || check_fetch(&u)) {
		rc = kist_error_set(err, KIST_INVALID, "%s: the payload cannot be updated", path);
		goto out;
	}
	if ((new_tag || old_tag) && (rc = check_tag_area(&u, path, err)) != KIST_OK) {
		if (!err->message[0])
			kist_error_set(err, rc, "%s: not updated", path);
		goto out;
	}
	if ((rc = check_info(&u)) != KIST_OK) {
		kist_error_set(err, rc, "%s: not updated", path);
		goto out;
	}

	/* One read of every file, for every algorithm. */
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (u.hash_algs & KIST_ALG_BIT(a)) {
			u.offset[a] = u.stride;
			u.stride += kist_alg_size(a);
		}
	items = calloc(u.nfiles ? u.nfiles : 1, sizeof(*items));
	u.digests = calloc(u.nfiles ? u.nfiles : 1, u.stride);
	if (!items || !u.digests) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < u.nfiles; i++) {
		items[i].path = u.files[i].path;
		items[i].size = u.files[i].size;
	}
	if (opt->progress)
		kist_progress_set_total(opt->progress, u.nfiles, u.bytes);
	kist_pipeline_options_init(&po);
	po.algs = u.hash_algs;
	po.jobs = opt->jobs;
	po.dirfd = u.bag->dirfd;
	po.nofollow = 1;
	po.beneath = 1;
	po.progress = opt->progress;
	po.stats = &stats;
	if ((rc = kist_pipeline_run(&po, items, u.nfiles, on_hashed, &u, err)) != KIST_OK)
		goto out;
	if (u.failed) {
		rc = kist_error_set(err, u.failed, "%s: files changed or could not be read; not updated",
				    path);
		goto out;
	}
	if (count_changes(&u, &res) < 0) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}

	/* The writes, tag manifests last (see the top of this file). */
	remove_stale_temps(u.bag->dirfd);
	if ((rc = write_manifests(&u, new_pay, err)) != KIST_OK ||
	    (rc = write_info(&u, err)) != KIST_OK ||
	    (rc = remove_manifests(&u, old_pay & ~new_pay, err)) != KIST_OK)
		goto out;
	if (u.upgrading && (rc = kist_bag_write_bagit_txt(u.bag->dirfd, err)) != KIST_OK)
		goto out;
	record_premis(&u, &res, new_pay);
	if ((new_tag || old_tag) &&
	    (rc = kist_bag_write_tag_manifests(u.bag->dirfd, new_tag, err)) != KIST_OK)
		goto out;

	res.payload_files = u.nfiles;
	res.payload_bytes = u.bytes;
	res.payload_algs = new_pay;
	res.tag_algs = new_tag;
	res.algs_added = new_pay & ~old_pay;
	res.algs_removed = (old_pay | old_tag) & opt->remove_algs;
	res.files_read = stats.files;
	res.upgraded = u.upgrading;
	res.old_major = u.bag->major;
	res.old_minor = u.bag->minor;
	res.bytes_read = stats.bytes;
	if (opt->result)
		*opt->result = res;
out:
	for (size_t i = 0; i < u.nfiles; i++) {
		free(u.files[i].path);
		free(u.files[i].nfc);
	}
	free(u.files);
	free(u.digests);
	free(items);
	kist_bag_free(u.bag);
	return rc;
}
