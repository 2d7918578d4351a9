/* kist fixity add: registering a plain tree (hashed now, through the
 * pipeline) or a bag (validated; its payload manifests are the baseline). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixity-internal.h"

#define ADD_BATCH 2000   /* rows per transaction */

struct reg_item {
	char *path;        /* relative to the volume root */
	uint64_t size;
	int64_t inode;
	char *digests;
};

struct reg {
	struct kist_catalog *cat;
	int64_t volume, tree, now;
	struct kist_fixity_add_result *res;
	size_t in_tx;
	struct kist_error *err;
};

static int reg_flush(struct reg *r)
{
	int rc = KIST_OK;

	if (r->in_tx) {
		rc = fixity_commit(r->cat, r->err);
		r->in_tx = 0;
	}
	return rc;
}

/* Inserts one item (unless the path is known) with its baseline check. */
static int reg_insert(struct reg *r, const char *path, uint64_t size, int64_t inode,
		      const char *digests)
{
	int64_t id = 0;
	int rc;

	if (!r->in_tx && (rc = fixity_begin(r->cat, r->err)) != KIST_OK)
		return rc;
	r->in_tx++;
	rc = fixity_sql(r->cat, fixity_row_int64, &id, r->err,
			"INSERT INTO item (volume_id, tree_id, path, size, inode, expected, verdict,"
			" first_seen, last_check) VALUES ($1, $2, $3, $4, $5, $6, 'registered', $7, $7)"
			" ON CONFLICT (volume_id, path) DO NOTHING RETURNING id",
			"iisuisi", r->volume, r->tree, path, size, inode, digests, r->now);
	if (rc == KIST_OK && id)
		rc = fixity_record_check(r->cat, id, r->now, KIST_VERDICT_REGISTERED, path, digests,
					 digests, NULL, r->err);
	if (rc != KIST_OK) {
		fixity_rollback(r->cat);
		r->in_tx = 0;
		return rc;
	}
	if (id) {
		r->res->files++;
		r->res->bytes += size;
	} else {
		r->res->known++;
	}
	if (r->in_tx >= ADD_BATCH)
		return reg_flush(r);
	return KIST_OK;
}

static int reg_tree_row(struct reg *r, const char *rel, const char *kind, kist_algset algs)
{
	char *a = fixity_algs_format(algs);
	int rc;

	if (!a)
		return kist_error_set(r->err, KIST_FAILED, "out of memory");
	/* re-adding a tree keeps its row (and its history) */
	rc = fixity_sql(r->cat, NULL, NULL, r->err,
			"INSERT INTO tree (volume_id, path, kind, algs, added, last_scan)"
			" VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (volume_id, path) DO NOTHING",
			"isssi", r->volume, rel, kind, a, r->now);
	if (rc == KIST_OK)
		rc = fixity_sql(r->cat, fixity_row_int64, &r->tree, r->err,
				"SELECT id FROM tree WHERE volume_id = $1 AND path = $2", "is", r->volume,
				rel);
	free(a);
	return rc;
}

static char *join_rel(const char *a, const char *b)
{
	char *out = NULL;

	if (!*a)
		return strdup(b);
	if (!*b)
		return strdup(a);
	return asprintf(&out, "%s/%s", a, b) < 0 ? NULL : out;
}

/* --- plain trees ---------------------------------------------------------------- */

struct tree_walk {
	const char *rel;              /* the tree below the volume root */
	int root_is_file;
	struct kist_hash_item *items;
	int64_t *inodes;
	size_t n, cap;
	int oom;
};

static int walk_file(void *ctx, const struct kist_walk_entry *e)
{
	struct tree_walk *t = ctx;
	char *p;

	if (e->type != KIST_ENTRY_FILE)
		return 0;
	/* the sentinel and kist's own temporary files are not collection */
	if (strcmp(e->rel, KIST_FIXITY_SENTINEL) == 0 && !*t->rel)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct kist_hash_item *gi = realloc(t->items, cap * sizeof(*gi));
		int64_t *gn;

		if (!gi)
			return t->oom = 1, -1;
		t->items = gi;
		if (!(gn = realloc(t->inodes, cap * sizeof(*gn))))
			return t->oom = 1, -1;
		t->inodes = gn;
		t->cap = cap;
	}
	/* a file given as the root is its own tree */
	p = t->root_is_file ? strdup(t->rel) : join_rel(t->rel, e->rel);
	if (!p)
		return t->oom = 1, -1;
	t->items[t->n].path = p;
	t->items[t->n].size = e->size;
	t->inodes[t->n] = (int64_t)e->ino;
	t->n++;
	return 0;
}

struct tree_hash {
	struct reg *r;
	const int64_t *inodes;
	kist_algset algs;
	struct kist_findings *findings;
	int rc;
};

static int tree_result(void *ctx, const struct kist_hash_result *res)
{
	struct tree_hash *h = ctx;
	char *d;

	if (res->fail_code) {
		/* not registered: a file that cannot be read now has no baseline */
		kist_findings_add(h->findings, KIST_SEV_FAILURE, res->fail_code, res->path,
				  "not registered: %s", res->fail_message);
		return 0;
	}
	if (!(d = fixity_digests_format(h->algs, res->digest))) {
		h->rc = kist_error_set(h->r->err, KIST_FAILED, "out of memory");
		return 1;
	}
	h->rc = reg_insert(h->r, res->path, res->bytes, h->inodes[res->index], d);
	free(d);
	return h->rc != KIST_OK;
}

static int add_tree(struct reg *r, int volfd, const char *abs, const char *rel,
		    const struct kist_fixity_add_options *opt, struct kist_findings *findings)
{
	struct tree_walk t = { .rel = rel };
	struct kist_walk_options wo = { 0 };
	struct kist_pipeline_options po;
	struct tree_hash h = { .r = r, .findings = findings };
	struct stat st;
	int rc;

	t.root_is_file = lstat(abs, &st) == 0 && !S_ISDIR(st.st_mode);
	h.algs = opt->algs ? opt->algs : KIST_ALG_BIT(KIST_ALG_SHA256);
	rc = kist_walk(abs, &wo, walk_file, &t, findings, r->err);
	if (t.oom)
		rc = kist_error_set(r->err, KIST_FAILED, "out of memory");
	if (rc != KIST_OK)
		goto out;
	if ((rc = reg_tree_row(r, rel, "tree", h.algs)) != KIST_OK)
		goto out;
	h.inodes = t.inodes;
	kist_pipeline_options_init(&po);
	po.algs = h.algs;
	po.jobs = opt->jobs;
	po.dirfd = volfd;
	po.beneath = 1;
	po.nofollow = 1;
	po.progress = opt->progress;
	rc = kist_pipeline_run(&po, t.items, t.n, tree_result, &h, r->err);
	if (h.rc != KIST_OK)
		rc = h.rc;
	if (rc == KIST_OK)
		rc = reg_flush(r);
	else
		fixity_rollback(r->cat);
out:
	for (size_t i = 0; i < t.n; i++)
		free((char *)t.items[i].path);
	free(t.items);
	free(t.inodes);
	return rc;
}

/* --- bags ------------------------------------------------------------------------ */

struct bag_entry {
	const char *path;
	int alg;
	const unsigned char *digest;
};

static int cmp_entry(const void *a, const void *b)
{
	const struct bag_entry *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->alg - y->alg;
}

static int add_bag(struct reg *r, int volfd, const char *abs, const char *rel,
		   const struct kist_fixity_add_options *opt, struct kist_findings *findings)
{
	struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_FULL, .jobs = opt->jobs,
						.progress = opt->progress };
	struct kist_bag_validate_result vr;
	struct kist_findings *bf = kist_findings_new();
	struct kist_bag *bag = NULL;
	struct bag_entry *e = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (!bf)
		return kist_error_set(r->err, KIST_FAILED, "out of memory");
	rc = kist_bag_validate(abs, &vo, &vr, findings, r->err);
	if (rc == KIST_OK && !vr.valid)
		rc = KIST_INVALID;
	if (rc != KIST_OK) {
		if (rc == KIST_INVALID)
			kist_error_set(r->err, KIST_INVALID, "%s: the bag is not valid: not registered",
				       abs);
		goto out;
	}
	if ((rc = kist_bag_open(abs, &bag, bf, r->err)) != KIST_OK)
		goto out;
	for (size_t m = 0; m < bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &bag->manifests[m];

		if (man->is_tag)
			continue;
		for (size_t i = 0; i < man->list.count; i++) {
			if (n == cap) {
				size_t c = cap ? cap * 2 : 256;
				struct bag_entry *g = realloc(e, c * sizeof(*g));

				if (!g) {
					rc = kist_error_set(r->err, KIST_FAILED, "out of memory");
					goto out;
				}
				e = g;
				cap = c;
			}
			e[n].path = man->list.entries[i].path;
			e[n].alg = man->alg;
			e[n].digest = man->list.entries[i].digest;
			n++;
		}
	}
	qsort(e, n, sizeof(*e), cmp_entry);
	if ((rc = reg_tree_row(r, rel, "bag", kist_bag_algorithms(bag, 0))) != KIST_OK)
		goto out;
	for (size_t i = 0; i < n;) {
		unsigned char dig[KIST_ALG_COUNT][KIST_DIGEST_MAX];
		kist_algset algs = 0;
		struct stat st;
		char *path, *d;
		size_t j;

		for (j = i; j < n && strcmp(e[j].path, e[i].path) == 0; j++) {
			memcpy(dig[e[j].alg], e[j].digest, kist_alg_size(e[j].alg));
			algs |= KIST_ALG_BIT(e[j].alg);
		}
		if (!(path = join_rel(rel, e[i].path)) || !(d = fixity_digests_format(algs, dig))) {
			free(path);
			rc = kist_error_set(r->err, KIST_FAILED, "out of memory");
			break;
		}
		/* the bag was just validated: each listed file is there */
		if (fstatat(bag->dirfd, e[i].path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = kist_error_sys(r->err, errno, "%s/%s", abs, e[i].path);
		} else {
			rc = reg_insert(r, path, (uint64_t)st.st_size, (int64_t)st.st_ino, d);
		}
		free(path);
		free(d);
		if (rc != KIST_OK)
			break;
		i = j;
	}
	if (rc == KIST_OK)
		rc = reg_flush(r);
	else
		fixity_rollback(r->cat);
	(void)volfd;
out:
	free(e);
	kist_bag_free(bag);
	kist_findings_free(bf);
	return rc;
}

int kist_fixity_add(struct kist_catalog *cat, const char *path,
		    const struct kist_fixity_add_options *opt, struct kist_fixity_add_result *res,
		    struct kist_findings *findings, struct kist_error *err)
{
	char abs[PATH_MAX], *rel = NULL, *bagit = NULL;
	struct fixity_volume v;
	struct reg r = { .cat = cat, .res = res, .err = err, .now = fixity_now_ms() };
	struct stat st;
	int fd = -1, rc;

	memset(res, 0, sizeof(*res));
	if (!realpath(path, abs))
		return kist_error_sys(err, errno, "%s", path);
	if ((rc = fixity_volume_for_path(cat, abs, &v, &rel, err)) != KIST_OK)
		return rc;
	snprintf(res->volume, sizeof(res->volume), "%s", v.name);
	r.volume = v.id;
	if ((fd = fixity_volume_open(&v)) < 0) {
		rc = kist_error_set(err, KIST_FAILED,
				    "volume '%s' is offline: %s holds no sentinel %s of it", v.name,
				    v.path, KIST_FIXITY_SENTINEL);
		goto out;
	}
	if (lstat(abs, &st) < 0) {
		rc = kist_error_sys(err, errno, "%s", abs);
		goto out;
	}
	if (S_ISDIR(st.st_mode) && asprintf(&bagit, "%s/bagit.txt", abs) > 0 &&
	    access(bagit, F_OK) == 0) {
		res->is_bag = 1;
		rc = add_bag(&r, fd, abs, rel, opt, findings);
	} else {
		rc = add_tree(&r, fd, abs, rel, opt, findings);
	}
	/* PostgreSQL plans the claims from its statistics: a catalog that
	 * grew by many rows is measured now, not when autovacuum comes by
	 * (with none, a claim sorts every due row instead of reading the
	 * index in order). Failing that is no reason to fail the add. */
	if (rc == KIST_OK && !cat->db->ops->local && res->files >= 1000) {
		struct kist_error ignored;

		kist_error_clear(&ignored);
		fixity_sql(cat, NULL, NULL, &ignored, "ANALYZE item", "");
	}
out:
	if (fd >= 0)
		close(fd);
	free(bagit);
	free(rel);
	fixity_volume_free(&v);
	return rc;
}
