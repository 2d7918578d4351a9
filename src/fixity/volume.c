/* Volumes: a sentinel file with a UUID at the root tells a mounted volume
 * from an empty mount point or other content, before any verdict. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/uuid.h>

#include "fixity-internal.h"

void fixity_volume_free(struct fixity_volume *v)
{
	free(v->name);
	free(v->uuid);
	free(v->path);
	memset(v, 0, sizeof(*v));
}

/* The UUID a sentinel holds ("uuid: ..." line), into out[37]; 0 or -1. */
static int sentinel_read(int dirfd, char out[37])
{
	char buf[1024], *p;
	ssize_t n;
	int fd = openat(dirfd, KIST_FIXITY_SENTINEL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!(p = strstr(buf, "uuid: ")) || strlen(p + 6) < 36)
		return -1;
	memcpy(out, p + 6, 36);
	out[36] = '\0';
	return 0;
}

int fixity_sentinel_matches(int dirfd, const char *uuid)
{
	char found[37];

	return sentinel_read(dirfd, found) == 0 && strcmp(found, uuid) == 0;
}

int fixity_volume_open(const struct fixity_volume *v)
{
	int fd;

	if (!v->path)
		return -1;
	fd = open(v->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!fixity_sentinel_matches(fd, v->uuid)) {
		close(fd);
		return -1;
	}
	return fd;
}

struct vol_rows {
	struct fixity_volume *v;
	size_t n, cap;
	int oom;
};

/* id, name, uuid, period_ms, path */
static int vol_row(void *ctx, int nc, char **vals)
{
	struct vol_rows *r = ctx;
	struct fixity_volume *v;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct fixity_volume *grown = realloc(r->v, cap * sizeof(*grown));

		if (!grown)
			return r->oom = 1;
		r->v = grown;
		r->cap = cap;
	}
	v = &r->v[r->n++];
	memset(v, 0, sizeof(*v));
	v->id = fixity_atoi64(vals[0]);
	v->name = strdup(vals[1]);
	v->uuid = strdup(vals[2]);
	v->period_ms = fixity_atoi64(vals[3]);
	v->path = nc > 4 && vals[4] ? strdup(vals[4]) : NULL;
	if (!v->name || !v->uuid || (nc > 4 && vals[4] && !v->path))
		return r->oom = 1;
	return 0;
}

#define VOLUME_SELECT                                                                  \
	"SELECT v.id, v.name, v.uuid, v.period_ms, m.path FROM volume v"               \
	" LEFT JOIN mount m ON m.volume_id = v.id AND m.host = $1"

int fixity_volumes(struct kist_catalog *cat, struct fixity_volume **out, size_t *n,
		   struct kist_error *err)
{
	struct vol_rows r = { 0 };
	int rc = fixity_sql(cat, vol_row, &r, err, VOLUME_SELECT " ORDER BY v.name", "s", cat->host);

	if (r.oom)
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	if (rc != KIST_OK) {
		for (size_t i = 0; i < r.n; i++)
			fixity_volume_free(&r.v[i]);
		free(r.v);
		r.v = NULL;
		r.n = 0;
	}
	*out = r.v;
	*n = r.n;
	return rc;
}

int fixity_volume_by_name(struct kist_catalog *cat, const char *name, struct fixity_volume *v,
			  struct kist_error *err)
{
	struct vol_rows r = { 0 };
	int rc = fixity_sql(cat, vol_row, &r, err, VOLUME_SELECT " WHERE v.name = $2", "ss",
			    cat->host, name);

	memset(v, 0, sizeof(*v));
	if (r.oom)
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	if (rc == KIST_OK && r.n == 0)
		rc = kist_error_set(err, KIST_INVALID, "no volume named '%s'", name);
	if (rc == KIST_OK)
		*v = r.v[0];
	for (size_t i = rc == KIST_OK ? 1 : 0; i < r.n; i++)
		fixity_volume_free(&r.v[i]);
	free(r.v);
	return rc;
}

int fixity_volume_for_path(struct kist_catalog *cat, const char *abspath, struct fixity_volume *v,
			   char **rel, struct kist_error *err)
{
	struct fixity_volume *all;
	size_t n, best = SIZE_MAX, bestlen = 0;
	int rc = fixity_volumes(cat, &all, &n, err);

	memset(v, 0, sizeof(*v));
	*rel = NULL;
	if (rc != KIST_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		size_t len;

		if (!all[i].path)
			continue;
		len = strlen(all[i].path);
		if (len == 1 && all[i].path[0] == '/')
			len = 0;   /* a volume at / holds everything */
		if (strncmp(abspath, all[i].path, len) == 0 &&
		    (abspath[len] == '/' || abspath[len] == '\0') && (best == SIZE_MAX || len > bestlen)) {
			best = i;
			bestlen = len;
		}
	}
	if (best == SIZE_MAX) {
		rc = kist_error_set(err, KIST_INVALID,
				    "%s is on no registered volume this host mounts "
				    "(kist fixity volume add NAME PATH)", abspath);
	} else {
		const char *r = abspath + bestlen;

		while (*r == '/')
			r++;
		if (!(*rel = strdup(r))) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
		} else {
			*v = all[best];
			memset(&all[best], 0, sizeof(all[best]));
		}
	}
	for (size_t i = 0; i < n; i++)
		fixity_volume_free(&all[i]);
	free(all);
	return rc;
}

static int add_mount(struct kist_catalog *cat, int64_t id, const char *path, struct kist_error *err)
{
	return fixity_sql(cat, NULL, NULL, err,
			  "INSERT INTO mount (volume_id, host, path) VALUES ($1, $2, $3)"
			  " ON CONFLICT (volume_id, host) DO UPDATE SET path = excluded.path",
			  "iss", id, cat->host, path);
}

int kist_fixity_volume_add(struct kist_catalog *cat, const char *name, const char *path,
			   int64_t period_ms, struct kist_error *err)
{
	char real[PATH_MAX], uuid[37], text[512];
	struct fixity_volume known;
	struct kist_error quiet;
	int64_t id = 0;
	int fd = -1, rc, have_sentinel;

	if (!*name || strlen(name) > 200)
		return kist_error_set(err, KIST_FAILED, "a volume name must have 1 to 200 bytes");
	if (period_ms <= 0)
		return kist_error_set(err, KIST_FAILED, "the period must be positive");
	if (!realpath(path, real))
		return kist_error_sys(err, errno, "%s", path);
	if ((fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kist_error_sys(err, errno, "%s", path);
	have_sentinel = sentinel_read(fd, uuid) == 0;

	kist_error_clear(&quiet);
	rc = fixity_volume_by_name(cat, name, &known, &quiet);
	if (rc == KIST_OK) {
		/* Known: PATH is this host's view of it, if its sentinel says so. */
		if (have_sentinel && strcmp(uuid, known.uuid) == 0) {
			rc = add_mount(cat, known.id, real, err);
		} else {
			rc = kist_error_set(err, KIST_INVALID,
					    "volume '%s' exists (uuid %s) and %s does not hold its "
					    "sentinel: choose another name, or mount that volume there",
					    name, known.uuid, real);
		}
		fixity_volume_free(&known);
		goto out;
	}
	if (rc != KIST_INVALID) {
		*err = quiet;
		goto out;
	}
	if (have_sentinel) {
		/* A volume this catalog may know under another name. */
		int64_t other = 0;

		if ((rc = fixity_sql(cat, fixity_row_int64, &other, err,
				     "SELECT count(*) FROM volume WHERE uuid = $1", "s", uuid)) != KIST_OK)
			goto out;
		if (other) {
			rc = kist_error_set(err, KIST_INVALID,
					    "%s is already a registered volume (uuid %s) under "
					    "another name", real, uuid);
			goto out;
		}
		/* else: the catalog was lost or is another one: keep the UUID */
	} else {
		if (kist_uuid4(uuid) < 0) {
			rc = kist_error_sys(err, errno, "cannot make a UUID");
			goto out;
		}
		snprintf(text, sizeof(text),
			 "kist fixity volume: do not remove; kist tells a mounted volume by it\n"
			 "uuid: %s\nname: %s\n", uuid, name);
		if ((rc = kist_write_atomic(fd, KIST_FIXITY_SENTINEL, text, strlen(text), err)) !=
		    KIST_OK)
			goto out;
	}
	if ((rc = fixity_begin(cat, err)) != KIST_OK)
		goto out;
	rc = fixity_sql(cat, fixity_row_int64, &id, err,
			"INSERT INTO volume (name, uuid, period_ms, created) VALUES ($1, $2, $3, $4)"
			" RETURNING id", "ssii", name, uuid, period_ms, fixity_now_ms());
	if (rc == KIST_OK)
		rc = add_mount(cat, id, real, err);
	if (rc == KIST_OK)
		rc = fixity_commit(cat, err);
	else
		fixity_rollback(cat);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int kist_fixity_volume_remove(struct kist_catalog *cat, const char *name, struct kist_error *err)
{
	struct fixity_volume v;
	int rc = fixity_volume_by_name(cat, name, &v, err);

	if (rc != KIST_OK)
		return rc;
	if ((rc = fixity_begin(cat, err)) == KIST_OK) {
		/* children first: no reliance on cascades being switched on */
		rc = fixity_sql(cat, NULL, NULL, err,
				"DELETE FROM check_log WHERE item_id IN (SELECT id FROM item WHERE"
				" volume_id = $1)", "i", v.id);
		if (rc == KIST_OK)
			rc = fixity_sql(cat, NULL, NULL, err, "DELETE FROM item WHERE volume_id = $1",
					"i", v.id);
		if (rc == KIST_OK)
			rc = fixity_sql(cat, NULL, NULL, err, "DELETE FROM tree WHERE volume_id = $1",
					"i", v.id);
		if (rc == KIST_OK)
			rc = fixity_sql(cat, NULL, NULL, err, "DELETE FROM mount WHERE volume_id = $1",
					"i", v.id);
		if (rc == KIST_OK)
			rc = fixity_sql(cat, NULL, NULL, err, "DELETE FROM volume WHERE id = $1", "i",
					v.id);
		if (rc == KIST_OK)
			rc = fixity_commit(cat, err);
		else
			fixity_rollback(cat);
	}
	fixity_volume_free(&v);
	return rc;
}

struct stat_row {
	struct kist_volume_info *info;
};

/* files, bytes, unchecked, oldest, due, problems */
static int stats_row(void *ctx, int nc, char **vals)
{
	struct kist_volume_info *i = ctx;

	(void)nc;
	i->files = (uint64_t)fixity_atoi64(vals[0]);
	i->bytes = (uint64_t)fixity_atoi64(vals[1]);
	i->unchecked = (uint64_t)fixity_atoi64(vals[2]);
	i->oldest_check = fixity_atoi64(vals[3]);
	i->due = (uint64_t)fixity_atoi64(vals[4]);
	i->problems = (uint64_t)fixity_atoi64(vals[5]);
	return 0;
}

int kist_fixity_volume_list(struct kist_catalog *cat, kist_volume_fn fn, void *ctx,
			    struct kist_error *err)
{
	struct fixity_volume *all;
	size_t n;
	int rc = fixity_volumes(cat, &all, &n, err);
	int64_t now = fixity_now_ms();

	for (size_t i = 0; rc == KIST_OK && i < n; i++) {
		struct kist_volume_info info = { .id = all[i].id, .name = all[i].name,
						 .uuid = all[i].uuid, .path = all[i].path,
						 .period_ms = all[i].period_ms };
		int fd = fixity_volume_open(&all[i]);

		info.online = fd >= 0;
		if (fd >= 0)
			close(fd);
		rc = fixity_sql(cat, stats_row, &info, err,
				"SELECT count(*), coalesce(sum(size), 0),"
				" coalesce(sum(CASE WHEN verdict = 'registered' THEN 1 ELSE 0 END), 0),"
				" coalesce(min(last_check), 0),"
				" coalesce(sum(CASE WHEN last_check <= $2 THEN 1 ELSE 0 END), 0),"
				" coalesce(sum(CASE WHEN verdict IN ('ok', 'registered') THEN 0 ELSE 1"
				" END), 0) FROM item WHERE volume_id = $1",
				"ii", all[i].id, now - all[i].period_ms);
		if (rc == KIST_OK && fn(ctx, &info) != 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		fixity_volume_free(&all[i]);
	free(all);
	return rc;
}
