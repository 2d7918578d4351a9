/* Private to src/fixity/: the small database interface both catalog backends
 * implement, so every query above it is written (and tested) once. */
#ifndef KIST_FIXITY_INTERNAL_H
#define KIST_FIXITY_INTERNAL_H

#include <stdint.h>
#include <kist/kist.h>
#include <kist/fixity.h>

/* One result row: column values as text, NULL for SQL NULL. Return 0 to go
 * on, nonzero to stop (the query then returns KIST_FAILED unless err is
 * untouched: see fixity_query). */
typedef int (*fixity_row_fn)(void *ctx, int ncols, char **vals);

struct fixity_db;
struct fixity_db_ops {
	const char *name;                 /* "sqlite", "postgresql" */
	/* Runs sql with $1..$n bound to params (text, NULL for NULL). */
	int (*exec)(struct fixity_db *db, const char *sql, int n, const char *const *params,
		    fixity_row_fn fn, void *ctx, struct kist_error *err);
	/* A write transaction (SQLite: BEGIN IMMEDIATE, so a locked catalog
	 * shows at the start, not halfway). */
	int (*begin)(struct fixity_db *db, struct kist_error *err);
	int (*commit)(struct fixity_db *db, struct kist_error *err);
	void (*rollback)(struct fixity_db *db);
	/* After a lost connection: try once to connect again. */
	int (*reconnect)(struct fixity_db *db, struct kist_error *err);
	void (*close)(struct fixity_db *db);
	const char *skip_locked;          /* appended to the claiming SELECT */
	/* Around the claiming SELECT in "UPDATE item ... WHERE id <open> SELECT
	 * ... <close>": PostgreSQL takes the ids as an array, probing the
	 * primary key for each, where IN (SELECT) had it hash the whole table. */
	const char *claim_open, *claim_close;
	const char *collate_bytes;        /* ORDER BY ... in byte order */
	/* Statements cost no round trip (SQLite, in process): many rows are
	 * written with one statement prepared once and run per row, rather
	 * than one long statement parsed for each chunk. */
	int local;
	/* Rows the last INSERT/UPDATE/DELETE changed (local backends only). */
	int64_t (*changes)(struct fixity_db *db);
	/* Folds the write-ahead journal into the catalog without waiting for
	 * readers (SQLite), so closing has little left to do; NULL where the
	 * server does it. */
	void (*checkpoint)(struct fixity_db *db);
	/* Schema steps: migrations[i] brings version i to i+1. */
	const char *const *migrations;
	int nmigrations;
};

struct fixity_db {
	const struct fixity_db_ops *ops;
};

int fixity_sqlite_open(const char *path, struct fixity_db **out, struct kist_error *err);
int fixity_pg_open(const char *conninfo, struct fixity_db **out, struct kist_error *err);
/* Is a statfs f_type a network file system (NFS, CIFS, SMB2, ...)? Returns
 * its name, or NULL. */
const char *fixity_network_fs(long f_type);

struct kist_catalog {
	struct fixity_db *db;
	char *url;
	char *lockdir;                    /* where per-volume audit locks live */
	char host[256];
};

/* Query with printf-like typed parameters: types is a string of 's' (const
 * char *), 'i' (int64_t), 'u' (uint64_t), one per $N. */
int fixity_sql(struct kist_catalog *cat, fixity_row_fn fn, void *ctx, struct kist_error *err,
	       const char *sql, const char *types, ...);
int fixity_begin(struct kist_catalog *cat, struct kist_error *err);
int fixity_commit(struct kist_catalog *cat, struct kist_error *err);
void fixity_rollback(struct kist_catalog *cat);
/* Brings the schema to target (KIST_FIXITY_SCHEMA normally; tests use less). */
int fixity_migrate(struct fixity_db *db, int target, struct kist_error *err);
/* Opens a catalog with its schema left at target (tests of migrations). */
int fixity_catalog_open_at(const char *url, int target, struct kist_catalog **out,
			   struct kist_error *err);

int64_t fixity_now_ms(void);
/* Row helpers. */
int fixity_row_int64(void *ctx, int ncols, char **vals);   /* *(int64_t *)ctx = vals[0] */
int64_t fixity_atoi64(const char *s);

/* Volumes. */
struct fixity_volume {
	int64_t id;
	char *name, *uuid, *path;         /* path: this host's mount, or NULL */
	int64_t period_ms;
};
void fixity_volume_free(struct fixity_volume *v);
/* Reads the sentinel under dirfd: 1 if it holds uuid, 0 otherwise. */
int fixity_sentinel_matches(int dirfd, const char *uuid);
/* Opens the volume's root when its sentinel is there: fd, or -1 (offline). */
int fixity_volume_open(const struct fixity_volume *v);
int fixity_volume_by_name(struct kist_catalog *cat, const char *name, struct fixity_volume *v,
			  struct kist_error *err);
/* Every volume (with this host's mount paths). */
int fixity_volumes(struct kist_catalog *cat, struct fixity_volume **out, size_t *n,
		   struct kist_error *err);
/* The volume this host mounts that holds an absolute path, and the path's
 * part below its root ("" for the root). KIST_INVALID when none does. */
int fixity_volume_for_path(struct kist_catalog *cat, const char *abspath, struct fixity_volume *v,
			   char **rel, struct kist_error *err);

/* Digest strings: "sha256:HEX sha512:HEX" in kist's algorithm order. */
char *fixity_digests_format(kist_algset algs, const unsigned char digest[][KIST_DIGEST_MAX]);
/* Compares two digest strings over the algorithms both hold: 1 equal, 0
 * different, -1 no algorithm in common. */
int fixity_digests_equal(const char *a, const char *b);
char *fixity_algs_format(kist_algset algs);

/* Records one check (inside a transaction). */
int fixity_record_check(struct kist_catalog *cat, int64_t item, int64_t when, int verdict,
			const char *path, const char *expected, const char *found,
			const char *detail, struct kist_error *err);

/* A thread that runs catalog jobs one at a time (writer.c), so an audit
 * hashes on while verdicts are written. The caller must not use the catalog
 * while a job runs: fixity_writer_wait first. submit waits for the job
 * before; without a thread (out of resources) jobs run at once, inline. */
typedef void (*fixity_job_fn)(void *arg);
struct fixity_writer;
struct fixity_writer *fixity_writer_new(void);
int fixity_writer_busy(struct fixity_writer *w);
void fixity_writer_submit(struct fixity_writer *w, fixity_job_fn fn, void *arg);
void fixity_writer_wait(struct fixity_writer *w);
void fixity_writer_free(struct fixity_writer *w);

#endif
