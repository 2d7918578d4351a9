/* The fixity catalog: registered files with their expected digests, the
 * storage volumes they live on, and the history of every check; rolling
 * audits that re-check what is due. The catalog lives in SQLite (one host)
 * or PostgreSQL (many hosts sharing the work through expiring leases).
 *
 * Times are milliseconds since the epoch (UTC). */
#ifndef KIST_FIXITY_H
#define KIST_FIXITY_H

#include <stddef.h>
#include <stdint.h>
#include <kist/digest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_error;
struct kist_findings;
struct kist_progress;
struct kist_catalog;

/* The sentinel file at a volume's root. */
#define KIST_FIXITY_SENTINEL ".kist-volume"
/* The schema version this library writes. */
#define KIST_FIXITY_SCHEMA 4

/* The default catalog: $KIST_CATALOG, else "sqlite:" under $XDG_DATA_HOME/kist/
 * ($HOME/.local/share/kist/; /var/lib/kist/ for root). malloc'd. */
char *kist_catalog_default_url(void);
/* url: "sqlite:PATH", a plain PATH, or "postgresql://..." / "postgres://...";
 * NULL: the default. Creates the catalog when missing and migrates an older
 * schema forward. Fails (KIST_FAILED, err) for a catalog that cannot be
 * opened, is locked, corrupted, newer than this kist, or (SQLite) on a
 * network file system. */
int kist_catalog_open(const char *url, struct kist_catalog **out, struct kist_error *err);
void kist_catalog_close(struct kist_catalog *cat);
const char *kist_catalog_backend(const struct kist_catalog *cat);   /* "sqlite", "postgresql" */
int kist_catalog_schema_version(struct kist_catalog *cat, int *version, struct kist_error *err);

/* --- volumes -------------------------------------------------------------- */

struct kist_volume_info {
	int64_t id;
	const char *name, *uuid;
	const char *path;        /* where this host mounts it, or NULL */
	int64_t period_ms;
	int online;              /* the sentinel at path holds uuid */
	uint64_t files, bytes;
	uint64_t unchecked;      /* registered, never checked since */
	int64_t oldest_check;    /* 0: none */
	uint64_t due;            /* files due now */
	uint64_t problems;       /* files whose last verdict is not ok */
};
typedef int (*kist_volume_fn)(void *ctx, const struct kist_volume_info *v);

/* Writes PATH/.kist-volume with a new UUID and records the volume. When the
 * name is known and PATH's sentinel holds its UUID, PATH is recorded as this
 * host's mount of it (another host's view of the same volume). */
int kist_fixity_volume_add(struct kist_catalog *cat, const char *name, const char *path,
			   int64_t period_ms, struct kist_error *err);
int kist_fixity_volume_list(struct kist_catalog *cat, kist_volume_fn fn, void *ctx,
			    struct kist_error *err);
/* Forgets the volume and everything registered on it (the sentinel stays). */
int kist_fixity_volume_remove(struct kist_catalog *cat, const char *name, struct kist_error *err);
/* Parses "90d", "12h", "30m", "45s", "2w" or plain seconds into seconds;
 * -1 if malformed. */
int64_t kist_fixity_parse_duration(const char *s);

/* --- registering -------------------------------------------------------------- */

struct kist_fixity_add_options {
	kist_algset algs;        /* plain trees; 0: sha256 (bags keep their manifests') */
	unsigned jobs;
	struct kist_progress *progress;
};
struct kist_fixity_add_result {
	int is_bag;
	uint64_t files, bytes;   /* registered now */
	uint64_t known;          /* already in the catalog, left as they were */
	char volume[256];
};
/* Registers a tree (every regular file hashed now) or a bag (validated; its
 * payload manifests become the expected digests; refused if invalid). PATH
 * must lie on a registered, online volume. */
int kist_fixity_add(struct kist_catalog *cat, const char *path,
		    const struct kist_fixity_add_options *opt, struct kist_fixity_add_result *res,
		    struct kist_findings *findings, struct kist_error *err);

/* --- auditing -------------------------------------------------------------------- */

enum kist_verdict {
	KIST_VERDICT_OK,
	KIST_VERDICT_CHANGED,
	KIST_VERDICT_MISSING,
	KIST_VERDICT_NEW,
	KIST_VERDICT_MOVED,      /* same digests and size, another folder */
	KIST_VERDICT_RENAMED,    /* same digests and size, same folder, another name */
	KIST_VERDICT_UNREADABLE, /* I/O error */
	KIST_VERDICT_DENIED,     /* permission denied */
	KIST_VERDICT_REGISTERED, /* the baseline (kist fixity add, --adopt) */
	KIST_VERDICT_COUNT
};
const char *kist_verdict_name(int v);    /* "ok", "changed", ... */
int kist_verdict_from_name(const char *s);

struct kist_fixity_audit_options {
	const char *const *volumes;   /* names; NULL/0: every volume */
	size_t nvolumes;
	int64_t budget_ms;            /* 0: none */
	uint64_t max_bytes;           /* 0: none */
	int all;                      /* everything, due or not (each once) */
	unsigned jobs;
	int adopt;                    /* register new files */
	int record_in_bag;            /* PREMIS fixity-check event in each bag scanned */
	size_t batch;                 /* files per claimed batch; 0: 1024 */
	int64_t lease_ms;             /* 0: 10 minutes */
	int fail_offline;             /* an offline volume is a failure, not a warning */
	struct kist_progress *progress;
	volatile int *cancel;
};
struct kist_fixity_audit_result {
	uint64_t verdicts[KIST_VERDICT_COUNT];
	uint64_t checked, bytes;
	size_t volumes_audited, volumes_offline, volumes_busy;
	int budget_spent;             /* stopped by --budget or --max-bytes */
	int64_t elapsed_ms;
};
/* Checks what is due, oldest check first, until the budget is spent. Every
 * problem is a finding (fixity.changed, fixity.missing, fixity.new,
 * fixity.moved, fixity.renamed, fixity.unreadable, fixity.denied,
 * volume.offline, ...). Returns KIST_OK, or KIST_FAILED with err when the
 * catalog could not be used. */
int kist_fixity_audit(struct kist_catalog *cat, const struct kist_fixity_audit_options *opt,
		      struct kist_fixity_audit_result *res, struct kist_findings *findings,
		      struct kist_error *err);

/* --- reporting -------------------------------------------------------------------- */

/* One item: a registered file (or an unknown one, verdict new). */
struct kist_fixity_item {
	const char *volume;
	const char *path;             /* relative to the volume's root */
	uint64_t size;
	const char *expected;         /* "sha256:HEX sha512:HEX", or NULL */
	const char *found;            /* at the last check, or NULL */
	int verdict;                  /* of the last check */
	const char *detail;           /* "was data/a.txt", an error, or NULL */
	int64_t first_seen;           /* the first check with this verdict */
	int64_t last_check;
};
typedef int (*kist_item_fn)(void *ctx, const struct kist_fixity_item *it);
/* Items whose last verdict is not ok (or every item with all), checked
 * since since_ms (0: ever), by volume and path. */
int kist_fixity_report(struct kist_catalog *cat, int64_t since_ms, int all, kist_item_fn fn,
		       void *ctx, struct kist_error *err);

struct kist_fixity_check {
	int64_t time;
	int verdict;
	const char *found;            /* digests found, or NULL */
	const char *expected;         /* what was expected then */
	const char *path;             /* where the item was */
	const char *host;
	const char *detail;
};
typedef int (*kist_check_fn)(void *ctx, const struct kist_fixity_check *c);
/* Every check of the file at path (absolute or relative to the working
 * directory, on a volume this host mounts), oldest first. KIST_INVALID when
 * the catalog does not know it. */
int kist_fixity_history(struct kist_catalog *cat, const char *path, kist_check_fn fn, void *ctx,
			struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
