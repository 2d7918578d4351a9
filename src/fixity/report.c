/* What the catalog knows: problems for the report, an item's history. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixity-internal.h"

struct item_rows {
	kist_item_fn fn;
	void *ctx;
};

/* volume, path, size, expected, found, verdict, detail, first_seen, last_check */
static int item_row(void *ctx, int nc, char **vals)
{
	struct item_rows *r = ctx;
	struct kist_fixity_item it = {
		.volume = vals[0], .path = vals[1], .size = (uint64_t)fixity_atoi64(vals[2]),
		.expected = vals[3], .found = vals[4], .verdict = kist_verdict_from_name(vals[5]),
		.detail = vals[6], .first_seen = fixity_atoi64(vals[7]),
		.last_check = fixity_atoi64(vals[8]),
	};

	(void)nc;
	return r->fn(r->ctx, &it);
}

int kist_fixity_report(struct kist_catalog *cat, int64_t since_ms, int all, kist_item_fn fn,
		       void *ctx, struct kist_error *err)
{
	struct item_rows r = { fn, ctx };
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "SELECT v.name, i.path, i.size, i.expected, i.found, i.verdict, i.detail,"
		 " i.first_seen, i.last_check FROM item i JOIN volume v ON v.id = i.volume_id"
		 " WHERE i.last_check >= $1 %s ORDER BY v.name%s, i.path%s",
		 all ? "" : "AND i.verdict NOT IN ('ok', 'registered')", cat->db->ops->collate_bytes,
		 cat->db->ops->collate_bytes);
	return fixity_sql(cat, item_row, &r, err, sql, "i", since_ms);
}

struct check_rows {
	kist_check_fn fn;
	void *ctx;
};

/* time, verdict, found, expected, path, host, detail */
static int check_row(void *ctx, int nc, char **vals)
{
	struct check_rows *r = ctx;
	struct kist_fixity_check c = {
		.time = fixity_atoi64(vals[0]), .verdict = kist_verdict_from_name(vals[1]),
		.found = vals[2], .expected = vals[3], .path = vals[4], .host = vals[5],
		.detail = vals[6],
	};

	(void)nc;
	return r->fn(r->ctx, &c);
}

/* An absolute path for path, resolving what exists of it: a missing file
 * still has a history. */
static char *absolute(const char *path)
{
	char real[PATH_MAX], *dir, *slash, *out = NULL;

	if (realpath(path, real))
		return strdup(real);
	if (!(dir = strdup(path)))
		return NULL;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (realpath(dir, real) && asprintf(&out, "%s/%s", real, slash + 1) < 0)
			out = NULL;
	} else if (!slash && getcwd(real, sizeof(real))) {
		if (asprintf(&out, "%s/%s", real, dir) < 0)
			out = NULL;
	} else if (slash == dir) {
		out = strdup(path);
	}
	free(dir);
	return out;
}

int kist_fixity_history(struct kist_catalog *cat, const char *path, kist_check_fn fn, void *ctx,
			struct kist_error *err)
{
	struct check_rows r = { fn, ctx };
	struct fixity_volume v;
	char *abs = absolute(path), *rel = NULL;
	int64_t id = 0;
	int rc;

	if (!abs)
		return kist_error_sys(err, errno ? errno : ENOMEM, "%s", path);
	rc = fixity_volume_for_path(cat, abs, &v, &rel, err);
	if (rc == KIST_OK)
		rc = fixity_sql(cat, fixity_row_int64, &id, err,
				"SELECT id FROM item WHERE volume_id = $1 AND path = $2", "is", v.id, rel);
	if (rc == KIST_OK && !id)
		rc = kist_error_set(err, KIST_INVALID, "%s: not in the catalog", path);
	if (rc == KIST_OK)
		rc = fixity_sql(cat, check_row, &r, err,
				"SELECT time, verdict, found, expected, path, host, detail FROM check_log"
				" WHERE item_id = $1 ORDER BY time, id", "i", id);
	free(abs);
	free(rel);
	fixity_volume_free(&v);
	return rc;
}
