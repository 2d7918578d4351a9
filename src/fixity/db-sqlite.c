/* The SQLite catalog backend: one file, WAL journal, prepared statements
 * kept for reuse (an audit runs the same few statements a million times). */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixity-internal.h"

#define STMT_CACHE 24

struct sqlite_db {
	struct fixity_db base;
	sqlite3 *h;
	char *path;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	unsigned next_slot;
};

/* statfs f_type values of file systems where SQLite's locking cannot be
 * trusted (linux/magic.h and the kernel's fs sources). */
const char *fixity_network_fs(long f_type)
{
	static const struct {
		unsigned long magic;
		const char *name;
	} net[] = {
		{ 0x6969, "NFS" },
		{ 0xFF534D42, "CIFS" },
		{ 0xFE534D42, "SMB2" },
		{ 0x517B, "SMB" },
		{ 0x564c, "NCP" },
		{ 0x5346414F, "AFS" },
		{ 0x6B414653, "AFS (kAFS)" },
		{ 0x73757245, "Coda" },
		{ 0x01021997, "9P" },
		{ 0x00c36400, "CephFS" },
		{ 0x0BD00BD0, "Lustre" },
		{ 0x01161970, "GFS2" },
		{ 0x7461636f, "OCFS2" },
		{ 0x47504653, "GPFS" },
		{ 0x013111A8, "IBRIX" },
	};

	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
		if ((unsigned long)(unsigned int)f_type == net[i].magic)
			return net[i].name;
	return NULL;
}

static int sq_error(struct sqlite_db *db, int rc, struct kist_error *err, const char *what)
{
	int ext = sqlite3_extended_errcode(db->h);

	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return kist_error_set(err, KIST_FAILED,
				      "catalog %s is locked by another process (tried for 10 s)",
				      db->path);
	if (rc == SQLITE_READONLY || ext == SQLITE_CANTOPEN)
		return kist_error_set(err, KIST_FAILED, "catalog %s cannot be written: %s", db->path,
				      sqlite3_errmsg(db->h));
	if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		return kist_error_set(err, KIST_FAILED,
				      "catalog %s is damaged (%s): restore it from a backup",
				      db->path, sqlite3_errmsg(db->h));
	if (rc == SQLITE_FULL)
		return kist_error_set(err, KIST_FAILED, "catalog %s: the disk is full", db->path);
	return kist_error_set(err, KIST_FAILED, "catalog %s: %s: %s", db->path, what,
			      sqlite3_errmsg(db->h));
}

/* $N placeholders become ?N, which SQLite binds by number. */
static char *rewrite_params(const char *sql)
{
	char *out = strdup(sql), *p;

	if (!out)
		return NULL;
	for (p = out; *p; p++) {
		if (*p == '\'') {   /* skip string literals */
			while (*++p && *p != '\'')
				;
			if (!*p)
				break;
		} else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
			*p = '?';
		}
	}
	return out;
}

static sqlite3_stmt *prepare(struct sqlite_db *db, const char *sql, struct kist_error *err)
{
	unsigned slot;
	char *text;
	sqlite3_stmt *st = NULL;
	int rc;

	for (unsigned i = 0; i < STMT_CACHE; i++)
		if (db->cache[i].sql && strcmp(db->cache[i].sql, sql) == 0)
			return db->cache[i].st;
	if (!(text = rewrite_params(sql))) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		return NULL;
	}
	rc = sqlite3_prepare_v2(db->h, text, -1, &st, NULL);
	free(text);
	if (rc != SQLITE_OK) {
		sq_error(db, rc, err, "cannot prepare a query");
		return NULL;
	}
	slot = db->next_slot++ % STMT_CACHE;
	if (db->cache[slot].st) {
		sqlite3_finalize(db->cache[slot].st);
		free(db->cache[slot].sql);
	}
	db->cache[slot].st = st;
	if (!(db->cache[slot].sql = strdup(sql))) {
		sqlite3_finalize(st);
		db->cache[slot].st = NULL;
		kist_error_set(err, KIST_FAILED, "out of memory");
		return NULL;
	}
	return st;
}

static int sq_exec(struct fixity_db *base, const char *sql, int n, const char *const *params,
		   fixity_row_fn fn, void *ctx, struct kist_error *err)
{
	struct sqlite_db *db = (struct sqlite_db *)base;
	sqlite3_stmt *st;
	char *vals[64];
	int rc, status = KIST_OK;

	/* Schema scripts hold several statements: no parameters, no rows. */
	if (n < 0) {
		char *msg = NULL;

		rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
		sqlite3_free(msg);
		return rc == SQLITE_OK ? KIST_OK : sq_error(db, rc, err, "cannot change the schema");
	}
	if (!(st = prepare(db, sql, err)))
		return KIST_FAILED;
	for (int i = 0; i < n; i++) {
		/* STATIC: the parameters outlive the statement's run below */
		rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC)
			       : sqlite3_bind_null(st, i + 1);
		if (rc != SQLITE_OK) {
			status = sq_error(db, rc, err, "cannot bind");
			goto out;
		}
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);

		if (nc > 64)
			nc = 64;
		for (int c = 0; c < nc; c++)
			vals[c] = (char *)sqlite3_column_text(st, c);
		if (fn && fn(ctx, nc, vals) != 0) {
			status = err->status ? err->status : KIST_FAILED;
			goto out;
		}
	}
	if (rc != SQLITE_DONE)
		status = sq_error(db, rc, err, "query failed");
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

static int sq_simple(struct sqlite_db *db, const char *sql, struct kist_error *err)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? KIST_OK : sq_error(db, rc, err, sql);
}

static int sq_begin(struct fixity_db *base, struct kist_error *err)
{
	return sq_simple((struct sqlite_db *)base, "BEGIN IMMEDIATE", err);
}

static int sq_commit(struct fixity_db *base, struct kist_error *err)
{
	struct sqlite_db *db = (struct sqlite_db *)base;
	int rc = sq_simple(db, "COMMIT", err);

	if (rc != KIST_OK)
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void sq_rollback(struct fixity_db *base)
{
	struct sqlite_db *db = (struct sqlite_db *)base;

	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_reconnect(struct fixity_db *base, struct kist_error *err)
{
	return kist_error_set(err, KIST_FAILED, "catalog %s: lost", ((struct sqlite_db *)base)->path);
}

static int64_t sq_changes(struct fixity_db *base)
{
	return sqlite3_changes(((struct sqlite_db *)base)->h);
}

static void sq_checkpoint(struct fixity_db *base)
{
	sqlite3_wal_checkpoint_v2(((struct sqlite_db *)base)->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
				  NULL);
}

static void sq_close(struct fixity_db *base)
{
	struct sqlite_db *db = (struct sqlite_db *)base;

	if (!db)
		return;
	for (unsigned i = 0; i < STMT_CACHE; i++) {
		if (db->cache[i].st)
			sqlite3_finalize(db->cache[i].st);
		free(db->cache[i].sql);
	}
	sqlite3_close(db->h);
	free(db->path);
	free(db);
}

static const char *const sqlite_migrations[] = {
	/* 0 -> 1: the tables */
	"CREATE TABLE volume (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" uuid TEXT NOT NULL UNIQUE, period_ms INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE TABLE mount (volume_id INTEGER NOT NULL REFERENCES volume(id) ON DELETE CASCADE,"
	" host TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (volume_id, host));"
	"CREATE TABLE tree (id INTEGER PRIMARY KEY,"
	" volume_id INTEGER NOT NULL REFERENCES volume(id) ON DELETE CASCADE,"
	" path TEXT NOT NULL, kind TEXT NOT NULL, algs TEXT NOT NULL, added INTEGER NOT NULL,"
	" last_scan INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until INTEGER,"
	" UNIQUE (volume_id, path));"
	"CREATE TABLE item (id INTEGER PRIMARY KEY,"
	" volume_id INTEGER NOT NULL REFERENCES volume(id) ON DELETE CASCADE,"
	" tree_id INTEGER REFERENCES tree(id) ON DELETE CASCADE, path TEXT NOT NULL,"
	" size INTEGER NOT NULL, inode INTEGER, expected TEXT, found TEXT, verdict TEXT NOT NULL,"
	" detail TEXT, first_seen INTEGER NOT NULL, last_check INTEGER NOT NULL,"
	" lease_owner TEXT, lease_until INTEGER, UNIQUE (volume_id, path));"
	"CREATE TABLE check_log (id INTEGER PRIMARY KEY,"
	" item_id INTEGER NOT NULL REFERENCES item(id) ON DELETE CASCADE, time INTEGER NOT NULL,"
	" verdict TEXT NOT NULL, path TEXT NOT NULL, expected TEXT, found TEXT,"
	" host TEXT NOT NULL, detail TEXT);",
	/* 1 -> 2: what the due query and the history need */
	"CREATE INDEX item_due ON item (volume_id, last_check);"
	"CREATE INDEX item_tree ON item (tree_id);"
	"CREATE INDEX check_item ON check_log (item_id, time);",
	/* 2 -> 3: leased rows only, so releasing and clearing leases is cheap */
	"CREATE INDEX item_leased ON item (lease_owner) WHERE lease_owner IS NOT NULL;",
	/* 3 -> 4: the due order whole, (last_check, id), so a claim reads the
	 * index from its cursor on and stops at its limit, with no sort */
	"CREATE INDEX item_due_order ON item (volume_id, last_check, id);"
	"DROP INDEX IF EXISTS item_due;",
};

static const struct fixity_db_ops sqlite_ops = {
	.name = "sqlite",
	.exec = sq_exec,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.reconnect = sq_reconnect,
	.close = sq_close,
	.skip_locked = "",
	.claim_open = " IN (",
	.claim_close = ")",
	.collate_bytes = "",
	.local = 1,
	.changes = sq_changes,
	.checkpoint = sq_checkpoint,
	.migrations = sqlite_migrations,
	.nmigrations = (int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])),
};

/* Refuses a catalog whose folder is on a network file system. */
static int check_local(const char *path, struct kist_error *err)
{
	char *dir = strdup(path), *slash;
	struct statfs sf;
	const char *net;
	int rc;

	if (!dir)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	rc = statfs(dir, &sf);
	if (rc < 0) {
		rc = kist_error_sys(err, errno, "catalog folder %s", dir);
	} else if ((net = fixity_network_fs((long)sf.f_type))) {
		rc = kist_error_set(err, KIST_FAILED,
				    "catalog %s is on a network file system (%s), where SQLite's locks "
				    "do not hold and the catalog would be corrupted: put it on a local "
				    "disk, or use a PostgreSQL catalog (--catalog postgresql://...)",
				    path, net);
	} else {
		rc = KIST_OK;
	}
	free(dir);
	return rc;
}

/* SQLite's allocation statistics take a global mutex around every malloc,
 * which an audit's writer thread pays thousands of times: kist never reads
 * them. Only possible before SQLite starts (else it says MISUSE: harmless). */
static void no_memstatus(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int fixity_sqlite_open(const char *path, struct fixity_db **out, struct kist_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct sqlite_db *db;
	int rc;

	*out = NULL;
	pthread_once(&once, no_memstatus);
	if (check_local(path, err) != KIST_OK)
		return KIST_FAILED;
	if (!(db = calloc(1, sizeof(*db))) || !(db->path = strdup(path))) {
		free(db);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	db->base.ops = &sqlite_ops;
	/* NOMUTEX: one thread at a time uses the connection (an audit's writer
	 * thread while the auditing thread waits), so its mutex is pure cost */
	rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				   SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (db->h)
			kist_error_set(err, KIST_FAILED, "cannot open catalog %s: %s", path,
				       sqlite3_errmsg(db->h));
		else
			kist_error_set(err, KIST_FAILED, "cannot open catalog %s: out of memory", path);
		sq_close(&db->base);
		return KIST_FAILED;
	}
	sqlite3_busy_timeout(db->h, 10000);
	sqlite3_extended_result_codes(db->h, 0);
	/* WAL: readers (report) never wait for the audit writing; NORMAL sync
	 * (no fsync at each commit, only at checkpoints) is durable across a
	 * crash of kist, and a power loss costs at most the last transactions,
	 * never the catalog: an audit's lost verdicts leave their files due,
	 * and the next audit, which resumes where the catalog says, checks
	 * them again. */
	if (sq_simple(db, "PRAGMA journal_mode=WAL", err) != KIST_OK ||
	    sq_simple(db, "PRAGMA synchronous=NORMAL", err) != KIST_OK ||
	    sq_simple(db, "PRAGMA foreign_keys=ON", err) != KIST_OK ||
	    /* statement journals of the many-row writes stay in memory, not in
	     * temporary files created and deleted for each batch */
	    sq_simple(db, "PRAGMA temp_store=MEMORY", err) != KIST_OK ||
	    /* an audit touches each page of a big catalog again and again */
	    sq_simple(db, "PRAGMA cache_size=-65536", err) != KIST_OK) {
		sq_close(&db->base);
		return KIST_FAILED;
	}
	*out = &db->base;
	return KIST_OK;
}
