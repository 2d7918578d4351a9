/* kist fixity audit: re-check what is due, oldest check first, until the
 * budget is spent. Work is claimed in batches with a lease (PostgreSQL: FOR
 * UPDATE SKIP LOCKED, so hosts share it; SQLite under the host lock: a
 * cursor, no lease needed); no lock is held while hashing; a writer thread
 * records results in chunks, and only while the lease is still ours, and
 * claims the next batch while this one is hashed. A volume whose sentinel is
 * gone is offline: nothing on it is called missing. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kist/buf.h>
#include <kist/premis.h>

#include "fixity-internal.h"

#define WRITE_SAMPLES 7

struct audit {
	struct kist_catalog *cat;
	const struct kist_fixity_audit_options *opt;
	struct kist_fixity_audit_result *res;
	struct kist_findings *findings;
	struct kist_error *err;
	char owner[320];
	char busy_owner[330];         /* items left for the next run */
	int64_t start_mono, run_start;
	int64_t lease_ms;
	int stop;                 /* budget spent or cancelled */
	/* What writing verdicts costs: the median of the last few writes, per
	 * verdict and per write, so that one write slowed by a sync or a busy
	 * core neither ends a budgeted run early nor lets it overrun. */
	double write_ms_per_row, write_ms;
	double recent_row[WRITE_SAMPLES], recent_job[WRITE_SAMPLES];
	unsigned nrecent;
	/* the volume being audited */
	struct fixity_volume *vol;
	int volfd;
	struct stat volst;
	/* A local catalog (SQLite) and this host's lock on the volume held: no
	 * other audit can take items, so they are not leased one by one. */
	int exclusive;
	int64_t cursor_check, cursor_id;   /* the last item claimed: claims go on after it */
	struct fixity_writer *w;           /* catalog work beside the hashing */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same clock to the microsecond, for what a write costs. */
static double mono_ms_exact(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(const double *v, unsigned n)
{
	double s[WRITE_SAMPLES];

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s[n / 2];
}

/* Takes in what a write of verdicts cost. */
static void note_write(struct audit *a, double ms_per_row, double ms)
{
	unsigned n;

	a->recent_row[a->nrecent % WRITE_SAMPLES] = ms_per_row;
	a->recent_job[a->nrecent % WRITE_SAMPLES] = ms;
	a->nrecent++;
	n = a->nrecent < WRITE_SAMPLES ? a->nrecent : WRITE_SAMPLES;
	a->write_ms_per_row = median(a->recent_row, n);
	a->write_ms = median(a->recent_job, n);
}

static int64_t elapsed(const struct audit *a)
{
	return mono_ms() - a->start_mono;
}

static int budget_spent(struct audit *a)
{
	if (a->opt->cancel && *a->opt->cancel)
		a->stop = 1;
	if (a->opt->budget_ms && elapsed(a) >= a->opt->budget_ms)
		a->stop = a->res->budget_spent = 1;
	if (a->opt->max_bytes && a->res->bytes >= a->opt->max_bytes)
		a->stop = a->res->budget_spent = 1;
	return a->stop;
}

/* Still the same volume, still mounted: checked before anything is written. */
static int volume_still_there(struct audit *a)
{
	struct stat st;
	int fd = fixity_volume_open(a->vol), same;

	if (fd < 0)
		return 0;
	same = fstat(fd, &st) == 0 && st.st_dev == a->volst.st_dev && st.st_ino == a->volst.st_ino;
	close(fd);
	return same;
}

static kist_algset algs_of(const char *digests)
{
	kist_algset set = 0;

	while (digests && *digests) {
		const char *colon = strchr(digests, ':'), *sp = strchr(digests, ' ');
		char name[32];

		if (!colon || (size_t)(colon - digests) >= sizeof(name))
			break;
		memcpy(name, digests, (size_t)(colon - digests));
		name[colon - digests] = '\0';
		int alg = kist_alg_from_name(name);
		if (alg >= 0)
			set |= KIST_ALG_BIT(alg);
		digests = sp ? sp + 1 : NULL;
	}
	return set;
}

static const char *verdict_code(int v)
{
	switch (v) {
	case KIST_VERDICT_CHANGED: return "fixity.changed";
	case KIST_VERDICT_MISSING: return "fixity.missing";
	case KIST_VERDICT_NEW: return "fixity.new";
	case KIST_VERDICT_MOVED: return "fixity.moved";
	case KIST_VERDICT_RENAMED: return "fixity.renamed";
	case KIST_VERDICT_UNREADABLE: return "fixity.unreadable";
	case KIST_VERDICT_DENIED: return "fixity.denied";
	default: return "fixity.ok";
	}
}

static enum kist_severity verdict_severity(int v)
{
	switch (v) {
	case KIST_VERDICT_OK:
	case KIST_VERDICT_REGISTERED: return KIST_SEV_INFO;
	case KIST_VERDICT_MOVED:
	case KIST_VERDICT_RENAMED: return KIST_SEV_WARNING;
	default: return KIST_SEV_ERROR;
	}
}

/* Volume-relative path as shown: "VOLUME:path". */
static void report(struct audit *a, int verdict, const char *path, const char *msg)
{
	char shown[4096];

	snprintf(shown, sizeof(shown), "%s:%s", a->vol->name, path);
	a->res->verdicts[verdict]++;
	if (verdict_severity(verdict) == KIST_SEV_INFO)
		return;
	kist_findings_add(a->findings, verdict_severity(verdict), verdict_code(verdict), shown, "%s",
			  msg ? msg : kist_verdict_name(verdict));
}

/* Writes one verdict on an item we hold. Returns KIST_OK, or KIST_FAILED. *mine
 * is 0 when the lease was lost (another worker took the item over). */
#define WRITE_VERDICT                                                                  \
	"UPDATE item SET verdict = $2, found = $3, detail = $4, last_check = $5,"       \
	" first_seen = CASE WHEN verdict = $2 THEN first_seen ELSE $5 END,"            \
	" size = CASE WHEN $2 = 'ok' THEN $6 ELSE size END,"                           \
	" inode = CASE WHEN $7 = -1 THEN inode ELSE $7 END, path = $8,"                \
	" lease_owner = NULL, lease_until = NULL WHERE id = $1 AND "

/* leased: the item was claimed by us (a batch), and must still be ours; a
 * tree scan writes items nobody holds. */
static int write_verdict(struct audit *a, int leased, int64_t id, const char *path, int verdict,
			 const char *expected, const char *found, uint64_t size, int64_t inode,
			 const char *detail, int *mine)
{
	int64_t got = 0, now = fixity_now_ms();
	int rc;

	rc = fixity_sql(a->cat, fixity_row_int64, &got, a->err,
			leased ? WRITE_VERDICT "lease_owner = $9 RETURNING id"
			       : WRITE_VERDICT "(lease_owner IS NULL OR lease_owner <> $9) RETURNING id",
			"isssiuiss", id, kist_verdict_name(verdict), found, detail, now, size, inode,
			path, a->owner);
	*mine = got == id;
	if (rc == KIST_OK && *mine)
		rc = fixity_record_check(a->cat, id, now, verdict, path, expected, found, detail,
					 a->err);
	return rc;
}

/* --- one batch of items -------------------------------------------------------------- */

struct claimed {
	int64_t id, last_check, inode;
	char *path, *expected;
	uint64_t size;
	/* the outcome */
	int verdict;              /* -1: not checked (stopped, changed while read) */
	char *found;
	char detail[256];
	uint64_t bytes;
	int busy;                 /* changed while read: left for the next run */
};

struct batch {
	struct claimed *c;
	size_t n, cap;
	int oom;
	size_t done;              /* results delivered: c[0..done) */
	size_t submitted;         /* of those, handed to the writer */
	size_t written;           /* of those, written (or discarded) */
};

/* id, path, size, expected, last_check, inode */
static int claim_row(void *ctx, int nc, char **vals)
{
	struct batch *b = ctx;
	struct claimed *c;

	(void)nc;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct claimed *g = realloc(b->c, cap * sizeof(*g));

		if (!g)
			return b->oom = 1;
		b->c = g;
		b->cap = cap;
	}
	c = &b->c[b->n];
	memset(c, 0, sizeof(*c));
	c->id = fixity_atoi64(vals[0]);
	c->path = strdup(vals[1]);
	c->size = (uint64_t)fixity_atoi64(vals[2]);
	c->expected = vals[3] ? strdup(vals[3]) : NULL;
	c->last_check = fixity_atoi64(vals[4]);
	c->inode = vals[5] ? fixity_atoi64(vals[5]) : -1;
	c->verdict = -1;
	if (!c->path || (vals[3] && !c->expected))
		return b->oom = 1;
	b->n++;
	return 0;
}

static int cmp_claimed(const void *x, const void *y)
{
	const struct claimed *a = x, *b = y;

	if (a->last_check != b->last_check)
		return a->last_check < b->last_check ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->c[i].path);
		free(b->c[i].expected);
		free(b->c[i].found);
	}
	free(b->c);
	memset(b, 0, sizeof(*b));
}

static int release_leases(struct audit *a)
{
	return fixity_sql(a->cat, NULL, NULL, a->err,
			  "UPDATE item SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
			  "s", a->owner);
}

/* The writer thread's jobs: write the verdicts of c[from, to) of a batch,
 * or claim the next batch. Their outcome is taken in (collect) by the
 * auditing thread once the writer is idle, so findings, counts and the
 * budget stay on one thread. */
enum job_kind { JOB_NONE, JOB_WRITE, JOB_CLAIM, JOB_CHECKPOINT };

struct job {
	enum job_kind kind;
	struct audit *a;
	struct batch *b;
	size_t from, to;
	int rc;
	int offline;              /* the volume went away: nothing written */
	double ms, ms_per_row;    /* a write's cost, whole and per verdict */
	struct kist_error err;
};

/* Results are handed to the writer in chunks of at least this many (or
 * whatever waits when the batch ends): larger transactions cost less. */
#define FLUSH_EVERY 256

struct hashing {
	struct audit *a;
	struct fixity_writer *w;
	struct job job;
	struct batch *cur;        /* being hashed */
	struct batch *prev;       /* hashed; its last verdicts may still be written */
	struct batch *next;       /* claimed ahead, or being claimed */
	int next_state;           /* 0 not asked, 1 asked, 2 claimed */
	int may_claim;            /* cur was not cut: the audit goes on after it */
	int checkpointed;         /* the catalog's journal folded in during the last batch */
	/* Claim the next batch once the audit's bytes reach this: at once
	 * without leases; with leases, when three quarters of cur are read, so
	 * the next batch's lease does not run out while it waits. */
	uint64_t claim_at;
	volatile int cancel;
	int offline;              /* the volume went away: nothing more written */
	int rc;
	size_t delivered;         /* files hashed in this run */
};

static int collect(struct hashing *h);
static void submit(struct hashing *h, enum job_kind kind, struct batch *b, size_t from, size_t to);

static size_t unwritten(const struct hashing *h);

/* How many items to claim next: a batch, or with a budget, what the time
 * left after the current batch is likely to check at the pace so far
 * (hashing and catalog together), so a budgeted run does not end by
 * releasing a large batch it claimed for nothing. 0: no time for more. */
static size_t claim_size(const struct hashing *h)
{
	const struct audit *a = h->a;
	size_t limit = a->opt->batch ? a->opt->batch : 1024;
	double per_file, left;

	if (!a->opt->budget_ms || !h->delivered)
		return limit;
	per_file = (double)elapsed(a) / (double)h->delivered;
	left = (double)(a->opt->budget_ms - elapsed(a)) - (double)unwritten(h) * a->write_ms_per_row -
	       per_file * (double)(h->cur->n - h->cur->done);
	if (left < per_file)
		return 0;
	return left / per_file < (double)limit ? (size_t)(left / per_file) : limit;
}

/* Verdicts delivered and not yet written. */
static size_t unwritten(const struct hashing *h)
{
	return h->cur->done - h->cur->written + (h->prev ? h->prev->done - h->prev->written : 0);
}

static int item_result(void *ctx, const struct kist_hash_result *r)
{
	struct hashing *h = ctx;
	struct batch *b = h->cur;
	struct claimed *c = &b->c[r->index];

	c->bytes = r->bytes;
	if (!r->fail_code) {
		kist_algset want = algs_of(c->expected);

		if (!(c->found = fixity_digests_format(want, r->digest)))
			return h->cancel = 1;
		if (r->bytes != c->size) {
			c->verdict = KIST_VERDICT_CHANGED;
			snprintf(c->detail, sizeof(c->detail), "size %llu, registered with %llu",
				 (unsigned long long)r->bytes, (unsigned long long)c->size);
		} else if (fixity_digests_equal(c->expected, c->found) != 1) {
			c->verdict = KIST_VERDICT_CHANGED;
			snprintf(c->detail, sizeof(c->detail), "digest differs");
		} else {
			c->verdict = KIST_VERDICT_OK;
		}
	} else if (strcmp(r->fail_code, "file.changed") == 0) {
		/* no single digest to judge: checked again next run */
		char shown[4096];

		snprintf(shown, sizeof(shown), "%s:%s", h->a->vol->name, c->path);
		kist_findings_add(h->a->findings, KIST_SEV_WARNING, "fixity.busy", shown,
				  "changed while it was read; nothing recorded, checked again next run");
		c->busy = 1;
	} else if (strcmp(r->fail_code, "file.missing") == 0) {
		c->verdict = KIST_VERDICT_MISSING;
	} else if (r->fail_errno == EACCES || r->fail_errno == EPERM) {
		c->verdict = KIST_VERDICT_DENIED;
		snprintf(c->detail, sizeof(c->detail), "%s", r->fail_message);
	} else if (strcmp(r->fail_code, "file.unreadable") == 0) {
		c->verdict = KIST_VERDICT_UNREADABLE;
		snprintf(c->detail, sizeof(c->detail), "%s", r->fail_message);
	} else {
		/* a symlink, a folder, a device where a file was */
		c->verdict = KIST_VERDICT_CHANGED;
		snprintf(c->detail, sizeof(c->detail), "%s", r->fail_message);
	}
	h->a->res->bytes += r->bytes;
	b->done = r->index + 1;
	h->delivered++;
	/* the writer's last job, if it is done: what it wrote is no longer
	 * pending */
	if (!fixity_writer_busy(h->w) && ((h->rc = collect(h)) != KIST_OK || h->offline))
		return h->cancel = 1;
	if (budget_spent(h->a))
		return h->cancel = 1;
	/* the verdicts still to write count against the budget too */
	if (h->a->opt->budget_ms &&
	    (double)elapsed(h->a) + (double)unwritten(h) * h->a->write_ms_per_row +
			    (fixity_writer_busy(h->w) ? h->a->write_ms : 0) >=
		    (double)h->a->opt->budget_ms) {
		h->a->stop = h->a->res->budget_spent = 1;
		return h->cancel = 1;
	}
	/* A writer slower than the hashing (a busy catalog server) is waited
	 * for, so the verdicts not yet written stay few: the budget counts
	 * them at an estimate, and a crash loses them. */
	if (unwritten(h) >= 2 * FLUSH_EVERY)
		fixity_writer_wait(h->w);
	/* the catalog's turn, if the writer is free: claim the next batch
	 * first (it must be there when this one ends), then write */
	if (!fixity_writer_busy(h->w)) {
		size_t want;

		if ((h->rc = collect(h)) != KIST_OK || h->offline)
			return h->cancel = 1;
		if (h->may_claim && h->next_state == 0 && !h->a->stop &&
		    h->a->res->bytes >= h->claim_at && (want = claim_size(h)) > 0)
			submit(h, JOB_CLAIM, h->next, 0, want);
		else if (b->done - b->submitted >= FLUSH_EVERY)
			submit(h, JOB_WRITE, b, b->submitted, b->done);
		else if (h->next_state == 2 && h->next->n == 0 && !h->checkpointed &&
			 h->a->cat->db->ops->checkpoint) {
			/* the last batch: what the journal holds is folded into the
			 * catalog now, beside the hashing, not when it is closed */
			h->checkpointed = 1;
			submit(h, JOB_CHECKPOINT, b, 0, 0);
		}
	}
	return 0;
}

/* A growing SQL text. */
struct sqlbuf {
	char *s;
	size_t len, cap;
	int oom;
};

static void sqlbuf_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sqlbuf_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
		char *g = realloc(b->s, cap);

		if (!g) {
			b->oom = 1;
			return;
		}
		b->s = g;
		b->cap = cap;
	}
}

struct id_set {
	int64_t *ids;
	size_t n, cap;
	int oom;
};

static int id_row(void *ctx, int nc, char **vals)
{
	struct id_set *s = ctx;

	(void)nc;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		int64_t *g = realloc(s->ids, cap * sizeof(*g));

		if (!g)
			return s->oom = 1;
		s->ids = g;
		s->cap = cap;
	}
	s->ids[s->n++] = fixity_atoi64(vals[0]);
	return 0;
}

/* An ok verdict whose digest text is the registered one: the item row and
 * the check can be written from the catalog's own copy of it. */
static int bulk_ok(const struct claimed *c)
{
	return c->verdict == KIST_VERDICT_OK && !c->busy && strcmp(c->found, c->expected) == 0;
}

/* The ok verdicts among files [from, to) whose digest reads as registered,
 * on a local catalog, in two statements over a JSON list of their ids: the
 * item rows, then a check for each row this run updated (last_check = now).
 * Two statement runs a file made the catalog's thread cost a sixth of the
 * hashing's CPU. Any row not updated (taken over, removed) is looked up and
 * left unrecorded. */
static int write_ok_rows(struct audit *a, struct batch *b, size_t from, size_t to,
			 const char *now, struct kist_error *err)
{
	struct kist_buf ids = { 0 };
	struct id_set mine = { 0 };
	size_t n = 0;
	int rc;

	kist_buf_adds(&ids, "[");
	for (size_t i = from; i < to; i++) {
		struct claimed *c = &b->c[i];
		char num[24];

		if (!bulk_ok(c))
			continue;
		snprintf(num, sizeof(num), "%s%lld", n++ ? "," : "", (long long)c->id);
		kist_buf_adds(&ids, num);
	}
	if (kist_buf_adds(&ids, "]") < 0) {
		kist_buf_free(&ids);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	if (!n) {
		kist_buf_free(&ids);
		return KIST_OK;
	}
	const char *up[] = { now, ids.p, a->owner };
	rc = a->cat->db->ops->exec(a->cat->db, a->exclusive
		? "UPDATE item SET verdict = 'ok', found = expected, detail = NULL, last_check = $1,"
		  " first_seen = CASE WHEN verdict = 'ok' THEN first_seen ELSE $1 END"
		  " WHERE id IN (SELECT value FROM json_each($2))"
		: "UPDATE item SET verdict = 'ok', found = expected, detail = NULL, last_check = $1,"
		  " first_seen = CASE WHEN verdict = 'ok' THEN first_seen ELSE $1 END,"
		  " lease_owner = NULL, lease_until = NULL"
		  " WHERE id IN (SELECT value FROM json_each($2)) AND lease_owner = $3",
		a->exclusive ? 2 : 3, up, NULL, NULL, err);
	if (rc == KIST_OK && a->cat->db->ops->changes(a->cat->db) != (int64_t)n) {
		/* some were not ours to write: find which */
		rc = a->cat->db->ops->exec(a->cat->db,
			"SELECT id FROM item WHERE id IN (SELECT value FROM json_each($2))"
			" AND last_check = $1", 2, up, id_row, &mine, err);
		if (rc == KIST_OK && mine.oom)
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
		for (size_t i = from; rc == KIST_OK && i < to; i++) {
			struct claimed *c = &b->c[i];
			int ours = 0;

			if (!bulk_ok(c))
				continue;
			for (size_t j = 0; j < mine.n && !ours; j++)
				ours = mine.ids[j] == c->id;
			if (!ours)
				c->verdict = -1;
		}
	}
	const char *ins[] = { now, a->cat->host, ids.p };
	if (rc == KIST_OK)
		rc = a->cat->db->ops->exec(a->cat->db,
			"INSERT INTO check_log (item_id, time, verdict, path, expected, found, host)"
			" SELECT id, $1, 'ok', path, expected, expected, $2 FROM item"
			" WHERE id IN (SELECT value FROM json_each($3)) AND last_check = $1",
			3, ins, NULL, NULL, err);
	kist_buf_free(&ids);
	free(mine.ids);
	return rc;
}

/* The verdicts of files [from, to), on a local catalog (SQLite): the ok
 * ones in bulk, the others with two statements each. Unless the audit holds
 * the host lock (no leases then), only rows still leased to us are written. */
static int write_rows(struct audit *a, struct batch *b, size_t from, size_t to,
		      struct kist_error *err)
{
	char now[24];
	int rc;

	snprintf(now, sizeof(now), "%lld", (long long)fixity_now_ms());
	rc = write_ok_rows(a, b, from, to, now, err);
	for (size_t i = from; rc == KIST_OK && i < to; i++) {
		struct claimed *c = &b->c[i];
		char id[24], size[24];

		if (c->verdict < 0 || c->busy || bulk_ok(c))
			continue;
		snprintf(id, sizeof(id), "%lld", (long long)c->id);
		snprintf(size, sizeof(size), "%llu", (unsigned long long)c->bytes);
		const char *up[] = { now, a->owner, id, kist_verdict_name(c->verdict), c->found,
				     c->detail[0] ? c->detail : NULL, size };
		/* (no RETURNING: it costs SQLite a temporary table a row) */
		rc = a->cat->db->ops->exec(a->cat->db, a->exclusive
			? "UPDATE item SET verdict = $4, found = $5, detail = $6, last_check = $1,"
			  " first_seen = CASE WHEN verdict = $4 THEN first_seen ELSE $1 END,"
			  " size = CASE WHEN $4 = 'ok' THEN $7 ELSE size END"
			  " WHERE id = $3"
			: "UPDATE item SET verdict = $4, found = $5, detail = $6, last_check = $1,"
			  " first_seen = CASE WHEN verdict = $4 THEN first_seen ELSE $1 END,"
			  " size = CASE WHEN $4 = 'ok' THEN $7 ELSE size END, lease_owner = NULL,"
			  " lease_until = NULL WHERE id = $3 AND lease_owner = $2",
			7, up, NULL, NULL, err);
		if (rc == KIST_OK && a->cat->db->ops->changes(a->cat->db) != 1)
			c->verdict = -1;   /* taken over (or removed): not ours to record */
		if (rc != KIST_OK || c->verdict < 0)
			continue;
		const char *ins[] = { id, now, kist_verdict_name(c->verdict), c->path, c->expected,
				      c->found, a->cat->host, c->detail[0] ? c->detail : NULL };
		rc = a->cat->db->ops->exec(a->cat->db,
			"INSERT INTO check_log (item_id, time, verdict, path, expected, found, host,"
			" detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, ins, NULL, NULL, err);
	}
	return rc;
}

/* The verdicts of files [from, to) in two statements, an UPDATE over a
 * VALUES list and the INSERT of their checks: a catalog server charges by
 * the round trip, not by the row. Only rows still leased to us are written. */
static int write_chunk(struct audit *a, struct batch *b, size_t from, size_t to,
		       struct kist_error *err)
{
	struct sqlbuf up = { 0 }, ins = { 0 };
	struct id_set mine = { 0 };
	size_t n = 0, k;
	const char **p = NULL;
	char (*num)[24] = NULL, now[24];
	int rc = KIST_OK, np;

	if (a->cat->db->ops->local)
		return write_rows(a, b, from, to, err);

	for (size_t i = from; i < to; i++)
		n += b->c[i].verdict >= 0 && !b->c[i].busy;
	if (!n)
		return KIST_OK;
	if (!(p = calloc(6 * n + 2, sizeof(*p))) || !(num = calloc(2 * n, sizeof(*num)))) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	snprintf(now, sizeof(now), "%lld", (long long)fixity_now_ms());
	/* UPDATE: $1 now, $2 owner, then id, verdict, found, detail, size */
	sqlbuf_add(&up, "WITH v (vid, vverdict, vfound, vdetail, vsize) AS (VALUES ");
	p[0] = now;
	p[1] = a->owner;
	np = 2;
	k = 0;
	for (size_t i = from; i < to; i++) {
		struct claimed *c = &b->c[i];

		if (c->verdict < 0 || c->busy)
			continue;
		snprintf(num[2 * k], sizeof(num[0]), "%lld", (long long)c->id);
		snprintf(num[2 * k + 1], sizeof(num[0]), "%llu", (unsigned long long)c->bytes);
		sqlbuf_add(&up, "%s(CAST($%d AS BIGINT), $%d, $%d, $%d, CAST($%d AS BIGINT))",
			   k ? ", " : "", np + 1, np + 2, np + 3, np + 4, np + 5);
		p[np++] = num[2 * k];
		p[np++] = kist_verdict_name(c->verdict);
		p[np++] = c->found;
		p[np++] = c->detail[0] ? c->detail : NULL;
		p[np++] = num[2 * k + 1];
		k++;
	}
	sqlbuf_add(&up, ") UPDATE item SET verdict = v.vverdict, found = v.vfound, detail = v.vdetail,"
		   " last_check = CAST($1 AS BIGINT), first_seen = CASE WHEN item.verdict = v.vverdict"
		   " THEN item.first_seen ELSE CAST($1 AS BIGINT) END, size = CASE WHEN v.vverdict ="
		   " 'ok' THEN v.vsize ELSE item.size END, lease_owner = NULL, lease_until = NULL"
		   " FROM v WHERE item.id = v.vid AND item.lease_owner = $2 RETURNING id");
	if (up.oom) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	if ((rc = a->cat->db->ops->exec(a->cat->db, up.s, np, p, id_row, &mine, err)) != KIST_OK)
		goto out;
	if (mine.oom) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	/* INSERT: $1 now, $2 host, then id, verdict, path, expected, found, detail */
	sqlbuf_add(&ins, "INSERT INTO check_log (item_id, time, verdict, path, expected, found, host,"
		   " detail) VALUES ");
	p[1] = a->cat->host;
	np = 2;
	k = 0;
	for (size_t i = from; i < to; i++) {
		struct claimed *c = &b->c[i];
		int ours = 0;

		if (c->verdict < 0 || c->busy)
			continue;
		for (size_t j = 0; j < mine.n && !ours; j++)
			ours = mine.ids[j] == c->id;
		if (!ours) {
			c->verdict = -1;   /* taken over: the other worker's check counts */
			continue;
		}
		snprintf(num[k], sizeof(num[0]), "%lld", (long long)c->id);
		sqlbuf_add(&ins, "%s(CAST($%d AS BIGINT), CAST($1 AS BIGINT), $%d, $%d, $%d, $%d, $2, $%d)",
			   k ? ", " : "", np + 1, np + 2, np + 3, np + 4, np + 5, np + 6);
		p[np++] = num[k];
		p[np++] = kist_verdict_name(c->verdict);
		p[np++] = c->path;
		p[np++] = c->expected;
		p[np++] = c->found;
		p[np++] = c->detail[0] ? c->detail : NULL;
		k++;
	}
	if (ins.oom)
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	else if (k)
		rc = a->cat->db->ops->exec(a->cat->db, ins.s, np, p, NULL, NULL, err);
out:
	free(up.s);
	free(ins.s);
	free(mine.ids);
	free(p);
	free(num);
	return rc;
}

/* After a failed statement: is there a working connection again (PostgreSQL
 * restarted)? The caller's error, which says what failed, is left alone. */
static int reconnected(struct audit *a)
{
	struct kist_error ignored;

	kist_error_clear(&ignored);
	return a->cat->db->ops->reconnect(a->cat->db, &ignored) == KIST_OK;
}

/* Writes a batch's verdicts [from, to) in one transaction; after a lost
 * connection, once more on a new one. */
static int write_range(struct audit *a, struct batch *b, size_t from, size_t to,
		       struct kist_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int rc = fixity_begin(a->cat, err);

		for (size_t i = from; rc == KIST_OK && i < to; i++) {
			struct claimed *c = &b->c[i];

			/* held to the end of this run: not claimed again now (a cursor
			 * never comes back to it) */
			if (c->busy && !a->exclusive)
				rc = fixity_sql(a->cat, NULL, NULL, err,
						"UPDATE item SET lease_owner = $2 WHERE id = $1 AND"
						" lease_owner = $3", "iss", c->id, a->busy_owner, a->owner);
		}
		if (rc == KIST_OK)
			rc = write_chunk(a, b, from, to, err);
		if (rc == KIST_OK)
			rc = fixity_commit(a->cat, err);
		if (rc == KIST_OK)
			return KIST_OK;
		fixity_rollback(a->cat);
		/* err keeps what went wrong (a full disk, say), not that no
		 * new connection could be had */
		if (attempt || !reconnected(a))
			return KIST_FAILED;
		kist_error_clear(err);
		/* reconnected: the leases are still ours until they expire */
	}
	return KIST_FAILED;
}

/* Claims the next due items (at most limit), oldest check first, after the
 * cursor (the last item this run claimed): items checked since have a
 * last_check past due, busy ones and those another worker holds stay behind
 * it, and no claim walks again over the rows the run has passed (each claim
 * of a queue kept in item order would otherwise read all the rows leased
 * before it). With a lease, or under the SQLite host lock, without. */
#define DUE_AFTER_CURSOR                                                                   \
	" FROM item WHERE volume_id = $1 AND expected IS NOT NULL AND last_check <= $2"     \
	" AND (last_check, id) > (CAST($3 AS BIGINT), CAST($4 AS BIGINT))"                  \
	" AND (lease_until IS NULL OR lease_until < $5) ORDER BY last_check, id LIMIT $6"

static int claim_batch(struct audit *a, struct batch *b, size_t limit, struct kist_error *err)
{
	int64_t now = fixity_now_ms(),
		due = a->opt->all ? a->run_start - 1 : now - a->vol->period_ms;
	char sql[1024];
	int rc;

	if (a->exclusive) {
		rc = fixity_sql(a->cat, claim_row, b, err,
				"SELECT id, path, size, expected, last_check, inode" DUE_AFTER_CURSOR,
				"iiiiii", a->vol->id, due, a->cursor_check, a->cursor_id, now,
				(int64_t)limit);
	} else {
		snprintf(sql, sizeof(sql),
			 "UPDATE item SET lease_owner = $7, lease_until = $8 WHERE id%sSELECT id"
			 DUE_AFTER_CURSOR "%s%s RETURNING id, path, size, expected, last_check, inode",
			 a->cat->db->ops->claim_open, a->cat->db->ops->skip_locked,
			 a->cat->db->ops->claim_close);
		rc = fixity_sql(a->cat, claim_row, b, err, sql, "iiiiiisi", a->vol->id, due,
				a->cursor_check, a->cursor_id, now, (int64_t)limit, a->owner,
				now + a->lease_ms);
		if (rc != KIST_OK && !b->oom && b->n == 0 && reconnected(a)) {
			/* the server came back (PostgreSQL restarted): once more */
			kist_error_clear(err);
			rc = fixity_sql(a->cat, claim_row, b, err, sql, "iiiiiisi", a->vol->id, due,
					a->cursor_check, a->cursor_id, now, (int64_t)limit, a->owner,
					now + a->lease_ms);
		}
		if (rc == KIST_OK && b->n)
			qsort(b->c, b->n, sizeof(*b->c), cmp_claimed);   /* RETURNING has no order */
	}
	if (b->oom)
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	if (rc == KIST_OK && b->n) {
		a->cursor_check = b->c[b->n - 1].last_check;
		a->cursor_id = b->c[b->n - 1].id;
	}
	return rc;
}

/* On the writer thread. A write happens only while the volume is seen still
 * there (else nothing more of the audit is written). */
static void run_job(void *arg)
{
	struct job *j = arg;
	double t0 = mono_ms_exact();

	kist_error_clear(&j->err);
	if (j->kind == JOB_CLAIM) {
		j->rc = claim_batch(j->a, j->b, j->to, &j->err);
		if (getenv("KIST_TEST_CLAIM_DELAY_MS"))   /* tests: a slow catalog server */
			usleep((useconds_t)atoi(getenv("KIST_TEST_CLAIM_DELAY_MS")) * 1000);
		return;
	}
	if (j->kind == JOB_CHECKPOINT) {
		j->a->cat->db->ops->checkpoint(j->a->cat->db);
		return;
	}
	if (!volume_still_there(j->a)) {
		j->offline = 1;
		j->rc = KIST_OK;
		return;
	}
	j->rc = write_range(j->a, j->b, j->from, j->to, &j->err);
	j->ms = mono_ms_exact() - t0;
	j->ms_per_row = j->ms / (double)(j->to - j->from);
}

/* Hands a job to the writer (the last one must have been collected). */
static void submit(struct hashing *h, enum job_kind kind, struct batch *b, size_t from, size_t to)
{
	struct job *j = &h->job;

	j->kind = kind;
	j->a = h->a;
	j->b = b;
	j->from = from;
	j->to = to;
	j->rc = KIST_OK;
	j->offline = 0;
	j->ms = j->ms_per_row = 0;
	if (kind == JOB_CLAIM)
		h->next_state = 1;
	else if (kind == JOB_WRITE)
		b->submitted = to;
	fixity_writer_submit(h->w, run_job, j);
}

/* Takes in the outcome of the writer's last job; the writer must be idle.
 * Written verdicts are counted and reported here. */
static int collect(struct hashing *h)
{
	struct job *j = &h->job;
	struct audit *a = h->a;
	enum job_kind kind = j->kind;

	j->kind = JOB_NONE;
	if (kind == JOB_NONE || kind == JOB_CHECKPOINT)
		return KIST_OK;
	if (j->rc != KIST_OK) {
		*a->err = j->err;
		return j->rc;
	}
	if (kind == JOB_CLAIM) {
		h->next_state = 2;
		return KIST_OK;
	}
	if (j->offline) {
		h->offline = 1;
		return KIST_OK;
	}
	note_write(a, j->ms_per_row, j->ms);
	j->b->written = j->to;
	for (size_t i = j->from; i < j->to; i++) {
		struct claimed *c = &j->b->c[i];

		if (c->verdict < 0)
			continue;
		a->res->checked++;
		report(a, c->verdict, c->path,
		       c->verdict == KIST_VERDICT_MISSING ? "no longer there"
		       : c->verdict == KIST_VERDICT_CHANGED ? (c->detail[0] ? c->detail : "digest differs")
		       : c->detail);
	}
	return KIST_OK;
}

/* Waits for the writer and takes in its last job. */
static int settle(struct hashing *h)
{
	fixity_writer_wait(h->w);
	return collect(h);
}

/* Hashes one claimed batch; the writer meanwhile writes what is delivered
 * and claims the next batch, so the pipeline does not wait on the catalog
 * between batches. */
static int hash_batch(struct hashing *h)
{
	struct audit *a = h->a;
	struct batch *b = h->cur;
	struct kist_hash_item *items;
	struct kist_pipeline_options po;
	kist_algset algs = 0;
	uint64_t bytes = 0;
	size_t n;

	/* --max-bytes: up to the first file that reaches it */
	for (n = 0; n < b->n; n++) {
		if (a->opt->max_bytes && a->res->bytes + bytes >= a->opt->max_bytes)
			break;
		bytes += b->c[n].size;
	}
	h->may_claim = n == b->n;
	h->claim_at = a->exclusive ? 0 : a->res->bytes + bytes / 4 * 3;
	if (!(items = calloc(n ? n : 1, sizeof(*items))))
		return kist_error_set(a->err, KIST_FAILED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		items[i].path = b->c[i].path;
		items[i].size = UINT64_MAX;
		algs |= algs_of(b->c[i].expected);
	}
	kist_pipeline_options_init(&po);
	po.algs = algs ? algs : KIST_ALG_BIT(KIST_ALG_SHA256);
	po.jobs = a->opt->jobs;
	po.dirfd = a->volfd;
	po.beneath = 1;
	po.nofollow = 1;
	po.progress = a->opt->progress;
	po.cancel = &h->cancel;
	{
		/* a stopped run (budget) still delivered what it finished; a->err
		 * is left to the catalog's errors, taken in by collect */
		struct kist_error perr;

		kist_error_clear(&perr);
		kist_pipeline_run(&po, items, n, item_result, h, &perr);
	}
	free(items);
	return h->rc;
}

static int check_items(struct audit *a)
{
	struct batch bufs[3] = { { 0 } };
	struct hashing h = { .a = a, .w = a->w, .cur = &bufs[0], .next = &bufs[1] };
	int rc = KIST_OK;

	if (budget_spent(a))
		goto done;
	submit(&h, JOB_CLAIM, h.cur, 0, a->opt->batch ? a->opt->batch : 1024);
	if ((rc = settle(&h)) != KIST_OK)
		goto done;
	h.next_state = 0;
	while (h.cur->n && !budget_spent(a)) {
		struct batch *spare;

		rc = hash_batch(&h);
		if (rc == KIST_OK)
			rc = settle(&h);
		if (rc != KIST_OK || h.offline)
			break;
		/* the previous batch is written: its room takes the one after next */
		spare = h.prev ? h.prev : &bufs[2];
		if (h.prev)
			batch_free(h.prev);
		if (h.may_claim && h.next_state == 0 && !a->stop) {
			/* the batch ended before the next was claimed */
			size_t want = claim_size(&h);

			if (want == 0) {
				a->stop = a->res->budget_spent = 1;   /* no time for another file */
			} else {
				submit(&h, JOB_CLAIM, h.next, 0, want);
				if ((rc = settle(&h)) != KIST_OK)
					break;
			}
		}
		/* this batch's last verdicts: written while the next one is hashed */
		if (h.cur->done > h.cur->submitted)
			submit(&h, JOB_WRITE, h.cur, h.cur->submitted, h.cur->done);
		h.prev = h.cur;
		if (h.next_state == 2) {
			h.cur = h.next;
			h.next = spare;
		} else {
			h.cur = spare;   /* empty: the loop ends */
		}
		h.next_state = 0;
	}
	if (rc == KIST_OK)
		rc = settle(&h);
	if (rc == KIST_OK && !h.offline && h.prev && h.prev->done > h.prev->submitted) {
		submit(&h, JOB_WRITE, h.prev, h.prev->submitted, h.prev->done);
		rc = settle(&h);
	}
	if (rc == KIST_OK && h.offline) {
		/* unmounted or swapped mid-audit: nothing read since counts */
		kist_findings_add(a->findings, a->opt->fail_offline ? KIST_SEV_FAILURE : KIST_SEV_WARNING,
				  "volume.offline", a->vol->name,
				  "went offline during the audit (sentinel gone from %s); "
				  "nothing read since recorded", a->vol->path);
		a->res->volumes_offline++;
		release_leases(a);
		rc = KIST_WARN;
	} else if (rc == KIST_OK) {
		/* what was claimed and not checked (budget, claimed ahead) */
		rc = release_leases(a);
	}
done:
	fixity_writer_wait(h.w);
	for (int i = 0; i < 3; i++)
		batch_free(&bufs[i]);
	return rc;
}

/* --- tree scans: new, moved and renamed files ------------------------------------------ */

struct entry {
	char *path;
	uint64_t size;
	int64_t inode;
	/* known items */
	int64_t id;
	char *expected, *verdict;
	int matched;
};

struct entries {
	struct entry *e;
	size_t n, cap;
	int oom;
};

static struct entry *entries_add(struct entries *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 128;
		struct entry *g = realloc(l->e, cap * sizeof(*g));

		if (!g) {
			l->oom = 1;
			return NULL;
		}
		l->e = g;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[0]));
	return &l->e[l->n++];
}

static void entries_free(struct entries *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].path);
		free(l->e[i].expected);
		free(l->e[i].verdict);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static int cmp_entry(const void *x, const void *y)
{
	return strcmp(((const struct entry *)x)->path, ((const struct entry *)y)->path);
}

/* Is path inside the folder dir (both volume-relative; "" is the root)? */
static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n == 0 || (strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0'));
}

struct scan_walk {
	struct entries *l;
	const struct entries *bags;   /* other bags: their own trees */
	const char *prefix;           /* the tree below the volume root */
	int at_root;
	int root_is_file;
};

static int scan_file(void *ctx, const struct kist_walk_entry *e)
{
	struct scan_walk *w = ctx;
	struct entry *x;

	if (e->type == KIST_ENTRY_DIR && *e->rel && w->bags->n) {
		char *p = NULL;
		int skip = 0;

		if (asprintf(&p, "%s%s%s", w->prefix, *w->prefix ? "/" : "", e->rel) < 0)
			return -1;
		for (size_t i = 0; i < w->bags->n && !skip; i++)
			skip = strcmp(p, w->bags->e[i].path) == 0;
		free(p);
		return skip;   /* a bag inside the tree is scanned as a bag */
	}
	if (e->type != KIST_ENTRY_FILE)
		return 0;
	if (w->at_root && strcmp(e->rel, KIST_FIXITY_SENTINEL) == 0)
		return 0;
	if (!(x = entries_add(w->l)))
		return -1;
	if (w->root_is_file)
		x->path = strdup(w->prefix);
	else if (!*w->prefix)
		x->path = strdup(e->rel);
	else if (asprintf(&x->path, "%s/%s", w->prefix, e->rel) < 0)
		x->path = NULL;
	if (!x->path) {
		w->l->n--;
		w->l->oom = 1;
		return -1;
	}
	x->size = e->size;
	x->inode = (int64_t)e->ino;
	return 0;
}

/* id, path, size, expected, verdict */
static int known_row(void *ctx, int nc, char **vals)
{
	struct entries *l = ctx;
	struct entry *x = entries_add(l);

	(void)nc;
	if (!x)
		return 1;
	x->id = fixity_atoi64(vals[0]);
	x->path = strdup(vals[1]);
	x->size = (uint64_t)fixity_atoi64(vals[2]);
	x->expected = vals[3] ? strdup(vals[3]) : NULL;
	x->verdict = strdup(vals[4]);
	if (!x->path || !x->verdict || (vals[3] && !x->expected))
		return l->oom = 1;
	return 0;
}

static int bag_row(void *ctx, int nc, char **vals)
{
	struct entries *l = ctx;
	struct entry *x = entries_add(l);

	(void)nc;
	if (!x || !(x->path = strdup(vals[0])))
		return l->oom = 1;
	return 0;
}

struct tree_row {
	int64_t id;
	char *path, *kind, *algs;
};

struct trees {
	struct tree_row *t;
	size_t n, cap;
	int oom;
};

static int tree_row(void *ctx, int nc, char **vals)
{
	struct trees *l = ctx;
	struct tree_row *t;

	(void)nc;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct tree_row *g = realloc(l->t, cap * sizeof(*g));

		if (!g)
			return l->oom = 1;
		l->t = g;
		l->cap = cap;
	}
	t = &l->t[l->n++];
	t->id = fixity_atoi64(vals[0]);
	t->path = strdup(vals[1]);
	t->kind = strdup(vals[2]);
	t->algs = strdup(vals[3]);
	if (!t->path || !t->kind || !t->algs)
		return l->oom = 1;
	return 0;
}

struct new_hash {
	struct entry **unknown;
	char **found;
	kist_algset algs;
	int oom;
};

static int new_result(void *ctx, const struct kist_hash_result *r)
{
	struct new_hash *h = ctx;

	if (r->fail_code)
		return 0;   /* judged next scan */
	if (!(h->found[r->index] = fixity_digests_format(h->algs, r->digest)))
		return h->oom = 1;
	h->unknown[r->index]->size = r->bytes;   /* the walk did not stat it */
	return 0;
}

/* Forwards a bag's own findings (tag files, bagit.txt), its payload being
 * judged file by file. */
struct bag_fwd {
	struct audit *a;
	const char *tree;
	size_t problems;
};

static void bag_finding(void *ctx, const struct kist_finding *f)
{
	struct bag_fwd *b = ctx;
	char shown[4096];

	if (strncmp(f->code, "payload.", 8) == 0 || f->severity == KIST_SEV_INFO)
		return;
	if (f->severity >= KIST_SEV_ERROR)
		b->problems++;
	snprintf(shown, sizeof(shown), "%s:%s%s%s", b->a->vol->name, b->tree,
		 *b->tree && f->path ? "/" : "", f->path ? f->path : "");
	kist_findings_add(b->a->findings, f->severity, f->code, shown, "%s", f->message);
}

static int count_row(void *ctx, int nc, char **vals)
{
	(void)nc;
	*(int64_t *)ctx = fixity_atoi64(vals[0]);
	return 0;
}

/* The bag as a whole: complete? and, with --record-in-bag, a PREMIS event. */
static int check_bag(struct audit *a, const struct tree_row *t, const char *abs)
{
	struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_COMPLETENESS };
	struct kist_bag_validate_result vr;
	struct kist_findings *fs = kist_findings_new();
	struct bag_fwd fwd = { .a = a, .tree = t->path };
	struct kist_error e;
	int64_t problems = 0, files = 0;
	int rc;

	if (!fs)
		return kist_error_set(a->err, KIST_FAILED, "out of memory");
	kist_findings_set_callback(fs, bag_finding, &fwd, 0);
	kist_error_clear(&e);
	if (kist_bag_validate(abs, &vo, &vr, fs, &e) == KIST_FAILED && !fwd.problems) {
		char shown[4096];

		snprintf(shown, sizeof(shown), "%s:%s", a->vol->name, t->path);
		kist_findings_add(a->findings, KIST_SEV_ERROR, "fixity.bag-unreadable", shown, "%s",
				  e.message);
		fwd.problems++;
	}
	kist_findings_free(fs);
	if (!a->opt->record_in_bag)
		return KIST_OK;
	rc = fixity_sql(a->cat, count_row, &files, a->err,
			"SELECT count(*) FROM item WHERE tree_id = $1", "i", t->id);
	if (rc == KIST_OK)
		rc = fixity_sql(a->cat, count_row, &problems, a->err,
				"SELECT count(*) FROM item WHERE tree_id = $1 AND verdict NOT IN"
				" ('ok', 'registered')", "i", t->id);
	if (rc != KIST_OK)
		return rc;
	{
		struct kist_premis_agent ag;
		char detail[512];
		struct kist_premis_event ev = { .type = KIST_PREMIS_EV_FIX, .agents = &ag, .nagents = 1,
						.outcome_detail = detail,
						.object = KIST_PREMIS_BAG_OBJECT };

		kist_premis_agent_kist(&ag);
		ev.outcome = problems || fwd.problems ? KIST_PREMIS_FAILURE : KIST_PREMIS_SUCCESS;
		snprintf(detail, sizeof(detail),
			 "kist fixity audit: bag %s; %lld payload files in the catalog, %lld with "
			 "problems at their last check", fwd.problems ? "incomplete" : "complete",
			 (long long)files, (long long)problems);
		kist_error_clear(&e);
		if (kist_bag_record_event(abs, &ev, &ag, 1, &e) != KIST_OK) {
			char shown[4096];

			snprintf(shown, sizeof(shown), "%s:%s", a->vol->name, t->path);
			kist_findings_add(a->findings, KIST_SEV_FAILURE, "fixity.record-failed", shown,
					  "not recorded in metadata/premis.xml: %s", e.message);
		}
	}
	return KIST_OK;
}

/* The items registered under a walked folder (prefix, "" for the whole
 * volume): a job for the writer thread. */
struct known_query {
	struct audit *a;
	struct entries *known;
	const char *prefix;
	int rc;
	struct kist_error err;
};

static void known_query(void *arg)
{
	struct known_query *q = arg;
	struct audit *a = q->a;

	kist_error_clear(&q->err);
	if (!*q->prefix) {
		q->rc = fixity_sql(a->cat, known_row, q->known, &q->err,
				   "SELECT id, path, size, expected, verdict FROM item WHERE volume_id = $1",
				   "i", a->vol->id);
	} else {
		char sql[512], *lo = NULL, *hi = NULL;

		/* byte order: "dir/" < everything below it < "dir0" */
		snprintf(sql, sizeof(sql),
			 "SELECT id, path, size, expected, verdict FROM item WHERE volume_id = $1 AND"
			 " (path = $2 OR (path%s > $3 AND path%s < $4))", a->cat->db->ops->collate_bytes,
			 a->cat->db->ops->collate_bytes);
		if (asprintf(&lo, "%s/", q->prefix) < 0 || asprintf(&hi, "%s0", q->prefix) < 0)
			q->rc = kist_error_set(&q->err, KIST_FAILED, "out of memory");
		else
			q->rc = fixity_sql(a->cat, known_row, q->known, &q->err, sql, "isss",
					   a->vol->id, q->prefix, lo, hi);
		free(lo);
		free(hi);
	}
}

static int scan_tree(struct audit *a, const struct tree_row *t)
{
	struct entries seen = { 0 }, known = { 0 }, bags = { 0 };
	struct scan_walk w = { .l = &seen, .bags = &bags, .prefix = t->path, .at_root = !*t->path };
	/* files are told from the directory alone: the known ones are stat'ed
	 * when checked, the new ones when hashed below */
	struct kist_walk_options wo = { .files_unstated = 1 };
	struct kist_findings *wf = kist_findings_new();
	struct entry **unknown = NULL;
	struct kist_hash_item *items = NULL;
	struct new_hash nh = { 0 };
	struct known_query kq = { 0 };
	size_t nunknown = 0, i, j;
	char *abs = NULL, *root = NULL, *prefix = NULL;
	int is_bag = strcmp(t->kind, "bag") == 0, rc;

	if (!wf || asprintf(&abs, "%s%s%s", a->vol->path, *t->path ? "/" : "", t->path) < 0) {
		kist_findings_free(wf);
		return kist_error_set(a->err, KIST_FAILED, "out of memory");
	}
	/* a bag's payload is under data/; its tag files are the bag's own */
	if (is_bag) {
		if (asprintf(&root, "%s/data", abs) < 0)
			root = NULL;
		if (root && asprintf(&prefix, "%s%sdata", t->path, *t->path ? "/" : "") < 0)
			prefix = NULL;
		w.prefix = prefix;
		w.at_root = 0;
	} else {
		root = strdup(abs);
	}
	if (!root || !w.prefix) {
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
		goto out;
	}
	{
		struct stat st;

		w.root_is_file = lstat(root, &st) == 0 && !S_ISDIR(st.st_mode);
	}
	rc = fixity_sql(a->cat, bag_row, &bags, a->err,
			"SELECT path FROM tree WHERE volume_id = $1 AND kind = 'bag' AND id <> $2",
			"ii", a->vol->id, t->id);
	if (bags.oom)
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
	if (rc != KIST_OK)
		goto out;
	/* only bags inside this tree matter */
	for (i = 0; i < bags.n;) {
		if (under(bags.e[i].path, t->path) && strcmp(bags.e[i].path, t->path) != 0) {
			i++;
			continue;
		}
		free(bags.e[i].path);
		bags.e[i] = bags.e[--bags.n];
	}
	/* what the catalog holds under the walked folder, whichever tree
	 * registered it, but for other bags: read by the writer thread while
	 * this one walks the folder */
	kq.a = a;
	kq.known = &known;
	kq.prefix = w.prefix;
	fixity_writer_submit(a->w, known_query, &kq);
	/* A tree that is gone as a whole: its files are judged one by one. */
	if (kist_walk(root, &wo, scan_file, &w, wf, a->err) != KIST_OK)
		kist_error_clear(a->err);
	fixity_writer_wait(a->w);
	if (seen.oom) {
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
		goto out;
	}
	if ((rc = kq.rc) != KIST_OK)
		*a->err = kq.err;
	if (known.oom)
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
	if (rc != KIST_OK)
		goto out;
	for (i = 0; i < known.n; i++) {
		for (j = 0; j < bags.n; j++) {
			if (under(known.e[i].path, bags.e[j].path)) {
				known.e[i].matched = 1;   /* not this tree's to judge */
				break;
			}
		}
	}
	qsort(seen.e, seen.n, sizeof(*seen.e), cmp_entry);
	qsort(known.e, known.n, sizeof(*known.e), cmp_entry);
	if (!(unknown = calloc(seen.n + 1, sizeof(*unknown)))) {
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
		goto out;
	}
	/* merge: seen but not registered -> unknown; registered but not seen ->
	 * gone (left unmatched in known) */
	for (i = 0, j = 0; i < seen.n;) {
		int c = j < known.n ? strcmp(seen.e[i].path, known.e[j].path) : -1;

		if (c == 0) {
			known.e[j].matched = 1;
			seen.e[i].id = known.e[j].id;
			if (!known.e[j].expected)   /* known as new: still new */
				unknown[nunknown++] = &seen.e[i];
			i++, j++;
		} else if (c < 0) {
			unknown[nunknown++] = &seen.e[i++];
		} else {
			j++;
		}
	}
	if (nunknown) {
		struct kist_pipeline_options po;

		nh.algs = 0;
		for (const char *p = t->algs; p && *p;) {
			char name[32];
			size_t len = strcspn(p, ",");
			int alg;

			snprintf(name, sizeof(name), "%.*s", (int)(len < 31 ? len : 31), p);
			if ((alg = kist_alg_from_name(name)) >= 0)
				nh.algs |= KIST_ALG_BIT(alg);
			p += len + (p[len] == ',');
		}
		if (!nh.algs)
			nh.algs = KIST_ALG_BIT(KIST_ALG_SHA256);
		items = calloc(nunknown, sizeof(*items));
		nh.found = calloc(nunknown, sizeof(*nh.found));
		nh.unknown = unknown;
		if (!items || !nh.found) {
			rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
			goto out;
		}
		for (i = 0; i < nunknown; i++) {
			items[i].path = unknown[i]->path;
			items[i].size = UINT64_MAX;
		}
		kist_pipeline_options_init(&po);
		po.algs = nh.algs;
		po.jobs = a->opt->jobs;
		po.dirfd = a->volfd;
		po.beneath = 1;
		po.nofollow = 1;
		kist_pipeline_run(&po, items, nunknown, new_result, &nh, a->err);
		kist_error_clear(a->err);
		if (nh.oom) {
			rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
			goto out;
		}
	}
	if (!volume_still_there(a)) {
		rc = KIST_WARN;
		goto out;
	}
	/* write it all in one transaction */
	if ((rc = fixity_begin(a->cat, a->err)) != KIST_OK)
		goto out;
	for (i = 0; rc == KIST_OK && i < nunknown; i++) {
		struct entry *u = unknown[i];
		struct entry *gone = NULL;
		int64_t now = fixity_now_ms();

		if (!nh.found[i])
			continue;
		for (j = 0; j < known.n; j++) {
			struct entry *k = &known.e[j];

			if (!k->matched && k->expected && k->size == u->size &&
			    fixity_digests_equal(k->expected, nh.found[i]) == 1) {
				gone = k;
				break;
			}
		}
		if (gone) {
			const char *sl_old = strrchr(gone->path, '/'), *sl_new = strrchr(u->path, '/');
			size_t dl_old = sl_old ? (size_t)(sl_old - gone->path) : 0,
			       dl_new = sl_new ? (size_t)(sl_new - u->path) : 0;
			int verdict = dl_old == dl_new && strncmp(gone->path, u->path, dl_old) == 0
					      ? KIST_VERDICT_RENAMED : KIST_VERDICT_MOVED;
			char detail[4200];
			int mine = 0;

			gone->matched = 1;
			snprintf(detail, sizeof(detail), "was %s", gone->path);
			if (u->id)   /* the unknown file's own "new" row makes way */
				rc = fixity_sql(a->cat, NULL, NULL, a->err,
						"DELETE FROM item WHERE id = $1", "i", u->id);
			if (rc == KIST_OK)
				rc = write_verdict(a, 0, gone->id, u->path, verdict, gone->expected,
						   nh.found[i], u->size, u->inode, detail, &mine);
			if (rc == KIST_OK && mine)
				report(a, verdict, u->path, detail);
			continue;
		}
		if (a->opt->adopt) {
			int64_t id = 0;

			rc = fixity_sql(a->cat, fixity_row_int64, &id, a->err,
					"INSERT INTO item (volume_id, tree_id, path, size, inode, expected,"
					" found, verdict, first_seen, last_check) VALUES ($1, $2, $3, $4, $5,"
					" $6, $6, 'registered', $7, $7) ON CONFLICT (volume_id, path) DO UPDATE"
					" SET expected = excluded.expected, found = excluded.found, verdict ="
					" 'registered', size = excluded.size, first_seen = excluded.first_seen,"
					" last_check = excluded.last_check RETURNING id",
					"iisuisi", a->vol->id, t->id, u->path, u->size, u->inode, nh.found[i],
					now);
			if (rc == KIST_OK)
				rc = fixity_record_check(a->cat, id, now, KIST_VERDICT_REGISTERED, u->path,
							 nh.found[i], nh.found[i], "adopted", a->err);
			if (rc == KIST_OK) {
				char shown[4096];

				snprintf(shown, sizeof(shown), "%s:%s", a->vol->name, u->path);
				kist_findings_add(a->findings, KIST_SEV_INFO, "fixity.adopted", shown,
						  "new file registered");
				a->res->verdicts[KIST_VERDICT_REGISTERED]++;
			}
		} else {
			int64_t id = 0;

			rc = fixity_sql(a->cat, fixity_row_int64, &id, a->err,
					"INSERT INTO item (volume_id, tree_id, path, size, inode, found,"
					" verdict, first_seen, last_check) VALUES ($1, $2, $3, $4, $5, $6,"
					" 'new', $7, $7) ON CONFLICT (volume_id, path) DO UPDATE SET found ="
					" excluded.found, size = excluded.size, last_check ="
					" excluded.last_check RETURNING id",
					"iisuisi", a->vol->id, t->id, u->path, u->size, u->inode, nh.found[i],
					now);
			if (rc == KIST_OK)
				rc = fixity_record_check(a->cat, id, now, KIST_VERDICT_NEW, u->path, NULL,
							 nh.found[i], NULL, a->err);
			if (rc == KIST_OK)
				report(a, KIST_VERDICT_NEW, u->path,
				       "not registered (kist fixity audit --adopt registers it)");
		}
	}
	/* gone and not found elsewhere: missing (or, if only known as new, forgotten) */
	for (j = 0; rc == KIST_OK && j < known.n; j++) {
		struct entry *k = &known.e[j];
		int mine = 0;

		if (k->matched)
			continue;
		if (!k->expected) {
			rc = fixity_sql(a->cat, NULL, NULL, a->err, "DELETE FROM item WHERE id = $1",
					"i", k->id);
			continue;
		}
		rc = write_verdict(a, 0, k->id, k->path, KIST_VERDICT_MISSING, k->expected, NULL, k->size,
				   -1, NULL, &mine);
		if (rc == KIST_OK && mine) {
			a->res->checked++;
			report(a, KIST_VERDICT_MISSING, k->path, "no longer there");
		}
	}
	if (rc == KIST_OK)
		rc = fixity_sql(a->cat, NULL, NULL, a->err,
				"UPDATE tree SET last_scan = $2, lease_owner = NULL, lease_until = NULL"
				" WHERE id = $1", "ii", t->id, fixity_now_ms());
	if (rc == KIST_OK)
		rc = fixity_commit(a->cat, a->err);
	else
		fixity_rollback(a->cat);
	if (rc == KIST_OK && is_bag)
		rc = check_bag(a, t, abs);
out:
	if (nh.found)
		for (i = 0; i < nunknown; i++)
			free(nh.found[i]);
	free(nh.found);
	free(items);
	free(unknown);
	entries_free(&seen);
	entries_free(&known);
	entries_free(&bags);
	kist_findings_free(wf);
	free(prefix);
	free(root);
	free(abs);
	return rc;
}

static int scan_trees(struct audit *a)
{
	struct trees l = { 0 };
	int64_t now = fixity_now_ms();
	char sql[768];
	int rc;

	snprintf(sql, sizeof(sql),
		 "UPDATE tree SET lease_owner = $1, lease_until = $2 WHERE id IN (SELECT id FROM tree"
		 " WHERE volume_id = $3 AND last_scan %s $4 AND (lease_until IS NULL OR lease_until"
		 " < $5) ORDER BY last_scan, id%s) RETURNING id, path, kind, algs",
		 a->opt->all ? "<" : "<=", a->cat->db->ops->skip_locked);
	rc = fixity_sql(a->cat, tree_row, &l, a->err, sql, "siiii", a->owner, now + a->lease_ms,
			a->vol->id, a->opt->all ? a->run_start : now - a->vol->period_ms, now);
	if (l.oom)
		rc = kist_error_set(a->err, KIST_FAILED, "out of memory");
	for (size_t i = 0; rc == KIST_OK && i < l.n; i++) {
		if (budget_spent(a))
			break;
		rc = scan_tree(a, &l.t[i]);
	}
	if (rc == KIST_WARN) {
		kist_findings_add(a->findings, a->opt->fail_offline ? KIST_SEV_FAILURE : KIST_SEV_WARNING,
				  "volume.offline", a->vol->name,
				  "went offline during the audit (sentinel gone from %s); "
				  "nothing recorded", a->vol->path);
		a->res->volumes_offline++;
	}
	/* trees not scanned (budget, offline) wait for the next run */
	if (rc != KIST_FAILED)
		fixity_sql(a->cat, NULL, NULL, a->err,
			   "UPDATE tree SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
			   "s", a->owner);
	for (size_t i = 0; i < l.n; i++) {
		free(l.t[i].path);
		free(l.t[i].kind);
		free(l.t[i].algs);
	}
	free(l.t);
	return rc;
}

/* --- volumes --------------------------------------------------------------------------- */

/* SQLite: one audit of a volume per host at a time (a flock next to the
 * catalog). PostgreSQL: leases share the work instead. -1: busy. */
static int lock_volume(struct audit *a, int *lockfd)
{
	char *path = NULL;
	int fd;

	*lockfd = -1;
	if (!a->cat->lockdir)
		return 0;
	if (asprintf(&path, "%s.audit-%s.lock", a->cat->lockdir, a->vol->uuid) < 0)
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (fd < 0)
		return 0;   /* the catalog's own locks still keep it whole */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -1;
	}
	*lockfd = fd;
	return 0;
}

/* Lease owners seen on a volume, to look for dead ones. */
struct owners {
	char **v;
	size_t n, cap;
};

static int collect_owner(void *ctx, int nc, char **vals)
{
	struct owners *o = ctx;

	if (nc < 1 || !vals[0])
		return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		char **v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return 1;
		o->v = v;
		o->cap = cap;
	}
	return (o->v[o->n] = strdup(vals[0])) ? (o->n++, 0) : 1;
}

/* Did a run of this host that no longer lives hold this lease? Owners are
 * "HOST:PID:RANDOM", with ":busy" for items left to the next run. */
static int dead_here(const struct audit *a, const char *owner)
{
	size_t hl = strlen(a->cat->host);
	char *end;
	long pid;

	if (strncmp(owner, a->cat->host, hl) != 0 || owner[hl] != ':')
		return 0;
	errno = 0;
	pid = strtol(owner + hl + 1, &end, 10);
	if (errno || end == owner + hl + 1 || *end != ':' || pid <= 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* A shared catalog has no host lock to prove a lease stale: leases this
 * host's dead runs (killed, crashed) left on the volume are released now
 * rather than when they expire, so the next run carries on at once. Leases
 * of live runs and of other hosts are left to expire. */
static void release_dead_leases(struct audit *a, int64_t volume_id)
{
	static const char *const tables[] = { "item", "tree" };
	struct kist_error e;

	for (size_t t = 0; t < 2; t++) {
		struct owners o = { 0 };
		char sql[256];

		snprintf(sql, sizeof(sql),
			 "SELECT DISTINCT lease_owner FROM %s WHERE lease_owner IS NOT NULL"
			 " AND volume_id + 0 = CAST($1 AS BIGINT)", tables[t]);
		kist_error_clear(&e);
		if (fixity_sql(a->cat, collect_owner, &o, &e, sql, "i", volume_id) == KIST_OK) {
			snprintf(sql, sizeof(sql),
				 "UPDATE %s SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
				 tables[t]);
			for (size_t i = 0; i < o.n; i++)
				if (dead_here(a, o.v[i]))
					fixity_sql(a->cat, NULL, NULL, &e, sql, "s", o.v[i]);
		}
		for (size_t i = 0; i < o.n; i++)
			free(o.v[i]);
		free(o.v);
	}
}

static int audit_volume(struct audit *a, struct fixity_volume *v)
{
	int lockfd, rc;

	a->vol = v;
	if ((a->volfd = fixity_volume_open(v)) < 0 || fstat(a->volfd, &a->volst) < 0) {
		if (a->volfd >= 0)
			close(a->volfd);
		a->res->volumes_offline++;
		kist_findings_add(a->findings, a->opt->fail_offline ? KIST_SEV_FAILURE : KIST_SEV_WARNING,
				  "volume.offline", v->name,
				  v->path ? "offline: %s does not hold its sentinel (not mounted?); "
					    "nothing on it checked"
					  : "%snot mounted on this host (kist fixity volume add NAME PATH "
					    "records where it is)", v->path ? v->path : "");
		return KIST_OK;
	}
	if (lock_volume(a, &lockfd) < 0) {
		a->res->volumes_busy++;
		kist_findings_add(a->findings, KIST_SEV_WARNING, "volume.busy", v->name,
				  "another audit of this volume is running on this host; skipped");
		close(a->volfd);
		return KIST_OK;
	}
	if (!(a->w = fixity_writer_new())) {
		if (lockfd >= 0)
			close(lockfd);
		close(a->volfd);
		return kist_error_set(a->err, KIST_FAILED, "out of memory");
	}
	a->res->volumes_audited++;
	/* holding the host's lock (SQLite): leases from this host are a crashed run's */
	rc = KIST_OK;
	a->exclusive = lockfd >= 0 && a->cat->db->ops->local;
	a->cursor_check = INT64_MIN;
	a->cursor_id = INT64_MIN;
	if (lockfd >= 0) {
		rc = fixity_sql(a->cat, NULL, NULL, a->err,
				"UPDATE item SET lease_owner = NULL, lease_until = NULL"
				/* "+ 0": through the small index of leased rows, not
				 * the volume's million rows */
				" WHERE lease_owner IS NOT NULL AND volume_id + 0 = CAST($1 AS BIGINT)", "i", v->id);
		/* a killed run's trees too, or they would go unscanned until
		 * its lease ran out */
		if (rc == KIST_OK)
			rc = fixity_sql(a->cat, NULL, NULL, a->err,
					"UPDATE tree SET lease_owner = NULL, lease_until = NULL"
					" WHERE lease_owner IS NOT NULL AND volume_id = $1", "i", v->id);
	} else
		release_dead_leases(a, v->id);
	if (rc == KIST_OK)
		rc = scan_trees(a);
	if (rc == KIST_OK)
		rc = check_items(a);
	if (rc == KIST_WARN)
		rc = KIST_OK;   /* went offline: reported */
	if (rc != KIST_OK) {
		struct kist_error keep = *a->err;

		/* leave nothing leased for a full lease period, if the catalog lets us */
		kist_error_clear(a->err);
		if (a->cat->db->ops->reconnect(a->cat->db, a->err) == KIST_OK)
			release_leases(a);
		*a->err = keep;
	}
	{
		struct kist_error e2;

		kist_error_clear(&e2);
		fixity_sql(a->cat, NULL, NULL, &e2,
			   "UPDATE item SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
			   "s", a->busy_owner);
	}
	fixity_writer_free(a->w);
	a->w = NULL;
	if (lockfd >= 0)
		close(lockfd);
	close(a->volfd);
	a->volfd = -1;
	return rc;
}

int kist_fixity_audit(struct kist_catalog *cat, const struct kist_fixity_audit_options *opt,
		      struct kist_fixity_audit_result *res, struct kist_findings *findings,
		      struct kist_error *err)
{
	struct audit a = { .cat = cat, .opt = opt, .res = res, .findings = findings, .err = err,
			   .volfd = -1 };
	struct fixity_volume *vols = NULL;
	size_t n = 0;
	unsigned char rnd[4] = { 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	a.start_mono = mono_ms();
	a.run_start = fixity_now_ms();
	a.lease_ms = opt->lease_ms > 0 ? opt->lease_ms : 10 * 60 * 1000;
	{
		int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (read(fd, rnd, sizeof(rnd)) < 0)
				memset(rnd, 0, sizeof(rnd));
			close(fd);
		}
	}
	snprintf(a.owner, sizeof(a.owner), "%s:%ld:%02x%02x%02x%02x", cat->host, (long)getpid(),
		 rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(a.busy_owner, sizeof(a.busy_owner), "%s:busy", a.owner);
	if ((rc = fixity_volumes(cat, &vols, &n, err)) != KIST_OK)
		return rc;
	for (size_t k = 0; k < opt->nvolumes; k++) {
		size_t i;

		for (i = 0; i < n && strcmp(vols[i].name, opt->volumes[k]) != 0; i++)
			;
		if (i == n) {
			rc = kist_error_set(err, KIST_FAILED, "no volume named '%s'", opt->volumes[k]);
			goto out;
		}
	}
	for (size_t i = 0; i < n && !a.stop; i++) {
		int wanted = opt->nvolumes == 0;

		for (size_t k = 0; k < opt->nvolumes; k++)
			wanted |= strcmp(vols[i].name, opt->volumes[k]) == 0;
		if (!wanted)
			continue;
		if ((rc = audit_volume(&a, &vols[i])) != KIST_OK)
			break;
		budget_spent(&a);
	}
out:
	res->elapsed_ms = elapsed(&a);
	for (size_t i = 0; i < n; i++)
		fixity_volume_free(&vols[i]);
	free(vols);
	return rc;
}
