/* The catalog: opening either backend, the schema and its forward
 * migrations, typed queries, digest strings. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixity-internal.h"

int64_t fixity_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fixity_atoi64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

int fixity_row_int64(void *ctx, int ncols, char **vals)
{
	*(int64_t *)ctx = ncols > 0 ? fixity_atoi64(vals[0]) : 0;
	return 0;
}

int fixity_sql(struct kist_catalog *cat, fixity_row_fn fn, void *ctx, struct kist_error *err,
	       const char *sql, const char *types, ...)
{
	char buf[16][24];
	const char *params[16];
	int n = 0;
	va_list ap;

	va_start(ap, types);
	for (; types && *types && n < 16; types++, n++) {
		switch (*types) {
		case 's':
			params[n] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(buf[n], sizeof(buf[n]), "%lld", (long long)va_arg(ap, int64_t));
			params[n] = buf[n];
			break;
		case 'u':
			snprintf(buf[n], sizeof(buf[n]), "%llu", (unsigned long long)va_arg(ap, uint64_t));
			params[n] = buf[n];
			break;
		default:
			params[n] = NULL;
		}
	}
	va_end(ap);
	return cat->db->ops->exec(cat->db, sql, n, params, fn, ctx, err);
}

int fixity_begin(struct kist_catalog *cat, struct kist_error *err)
{
	return cat->db->ops->begin(cat->db, err);
}

int fixity_commit(struct kist_catalog *cat, struct kist_error *err)
{
	return cat->db->ops->commit(cat->db, err);
}

void fixity_rollback(struct kist_catalog *cat)
{
	cat->db->ops->rollback(cat->db);
}

/* --- schema ------------------------------------------------------------------ */

static int read_version(struct fixity_db *db, int64_t *v, struct kist_error *err)
{
	*v = 0;
	return db->ops->exec(db, "SELECT value FROM meta WHERE key = 'schema_version'", 0, NULL,
			     fixity_row_int64, v, err);
}

int fixity_migrate(struct fixity_db *db, int target, struct kist_error *err)
{
	struct kist_error quiet;
	int64_t v = 0;
	int rc;
	char num[24];
	const char *p[1] = { num };

	/* Up to date: nothing written, so a read-only catalog can be read. */
	kist_error_clear(&quiet);
	if (read_version(db, &v, &quiet) == KIST_OK && v == target)
		return KIST_OK;
	if ((rc = db->ops->begin(db, err)) != KIST_OK)
		return rc;
	/* Two processes creating one PostgreSQL catalog take turns. */
	if (db->ops->skip_locked[0] &&
	    (rc = db->ops->exec(db, "SELECT pg_advisory_xact_lock(7404751)", 0, NULL, NULL, NULL,
				err)) != KIST_OK)
		goto fail;
	if ((rc = db->ops->exec(db, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY,"
				" value TEXT NOT NULL)", -1, NULL, NULL, NULL, err)) != KIST_OK)
		goto fail;
	if ((rc = read_version(db, &v, err)) != KIST_OK)
		goto fail;
	if (v > db->ops->nmigrations || v > target) {
		rc = kist_error_set(err, KIST_FAILED,
				    "catalog schema version %lld is newer than this kist knows (%d): "
				    "use a newer kist", (long long)v, db->ops->nmigrations);
		goto fail;
	}
	for (int64_t i = v; i < target; i++)
		if ((rc = db->ops->exec(db, db->ops->migrations[i], -1, NULL, NULL, NULL, err)) !=
		    KIST_OK)
			goto fail;
	snprintf(num, sizeof(num), "%d", target);
	if ((rc = db->ops->exec(db, "INSERT INTO meta (key, value) VALUES ('schema_version', $1)"
				" ON CONFLICT (key) DO UPDATE SET value = excluded.value", 1, p, NULL,
				NULL, err)) != KIST_OK)
		goto fail;
	return db->ops->commit(db, err);
fail:
	db->ops->rollback(db);
	return rc;
}

int kist_catalog_schema_version(struct kist_catalog *cat, int *version, struct kist_error *err)
{
	int64_t v = 0;
	int rc = read_version(cat->db, &v, err);

	*version = (int)v;
	return rc;
}

/* --- opening ------------------------------------------------------------------ */

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

char *kist_catalog_default_url(void)
{
	const char *env = getenv("KIST_CATALOG"), *xdg = getenv("XDG_DATA_HOME"),
		   *home = getenv("HOME");
	char *url = NULL;
	int n;

	if (env && *env)
		return strdup(env);
	if (geteuid() == 0 && !(xdg && *xdg))
		n = asprintf(&url, "sqlite:/var/lib/kist/catalog.sqlite");
	else if (xdg && *xdg)
		n = asprintf(&url, "sqlite:%s/kist/catalog.sqlite", xdg);
	else
		n = asprintf(&url, "sqlite:%s/.local/share/kist/catalog.sqlite", home ? home : ".");
	return n < 0 ? NULL : url;
}

static int is_postgres(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

int fixity_catalog_open_at(const char *url, int target, struct kist_catalog **out,
			   struct kist_error *err)
{
	struct kist_catalog *cat;
	char *dflt = NULL;
	const char *host = getenv("KIST_HOST");
	int rc;

	*out = NULL;
	if (!url && !(url = dflt = kist_catalog_default_url()))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	if (!(cat = calloc(1, sizeof(*cat))) || !(cat->url = strdup(url))) {
		free(cat);
		free(dflt);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	free(dflt);
	if (host && *host)
		snprintf(cat->host, sizeof(cat->host), "%s", host);
	else if (gethostname(cat->host, sizeof(cat->host) - 1) < 0)
		strcpy(cat->host, "localhost");
	if (is_postgres(cat->url)) {
		rc = fixity_pg_open(cat->url, &cat->db, err);
	} else {
		const char *path = cat->url;

		if (strncmp(path, "sqlite:", 7) == 0)
			path += 7;
		else if (strstr(path, "://"))
			return kist_catalog_close(cat),
			       kist_error_set(err, KIST_FAILED,
					      "catalog %s: not a sqlite:PATH or postgresql:// URL", url);
		if (!*path) {
			kist_catalog_close(cat);
			return kist_error_set(err, KIST_FAILED, "catalog: empty path");
		}
		{
			char *copy = strdup(path);

			if (!copy) {
				kist_catalog_close(cat);
				return kist_error_set(err, KIST_FAILED, "out of memory");
			}
			/* the default folder is made on first use */
			if (mkdirs(copy) < 0 && errno != EEXIST) {
				rc = kist_error_sys(err, errno, "cannot create the folder of catalog %s",
						    path);
				free(copy);
				kist_catalog_close(cat);
				return rc;
			}
			free(copy);
			if (asprintf(&cat->lockdir, "%s", path) < 0)
				cat->lockdir = NULL;
		}
		rc = fixity_sqlite_open(path, &cat->db, err);
	}
	if (rc == KIST_OK)
		rc = fixity_migrate(cat->db, target, err);
	if (rc != KIST_OK) {
		kist_catalog_close(cat);
		return KIST_FAILED;
	}
	*out = cat;
	return KIST_OK;
}

int kist_catalog_open(const char *url, struct kist_catalog **out, struct kist_error *err)
{
	return fixity_catalog_open_at(url, KIST_FIXITY_SCHEMA, out, err);
}

void kist_catalog_close(struct kist_catalog *cat)
{
	if (!cat)
		return;
	if (cat->db)
		cat->db->ops->close(cat->db);
	free(cat->url);
	free(cat->lockdir);
	free(cat);
}

const char *kist_catalog_backend(const struct kist_catalog *cat)
{
	return cat->db->ops->name;
}

/* --- digests ------------------------------------------------------------------ */

char *fixity_digests_format(kist_algset algs, const unsigned char digest[][KIST_DIGEST_MAX])
{
	size_t len = 1;
	char *out, *p;

	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a))
			len += strlen(kist_alg_name(a)) + 2 + 2 * kist_alg_size(a);
	if (!(out = malloc(len)))
		return NULL;
	p = out;
	*p = '\0';
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if (p != out)
			*p++ = ' ';
		p += sprintf(p, "%s:", kist_alg_name(a));
		kist_hex(digest[a], kist_alg_size(a), p);
		p += strlen(p);
	}
	return out;
}

/* The hex digest for alg in a digest string, and its length. */
static const char *digest_for(const char *s, const char *alg, size_t *len)
{
	size_t al = strlen(alg);

	while (s && *s) {
		const char *end = strchr(s, ' ');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		if (n > al && strncmp(s, alg, al) == 0 && s[al] == ':') {
			*len = n - al - 1;
			return s + al + 1;
		}
		s = end ? end + 1 : NULL;
	}
	return NULL;
}

int fixity_digests_equal(const char *a, const char *b)
{
	int common = 0;

	if (!a || !b)
		return -1;
	for (int alg = 0; alg < KIST_ALG_COUNT; alg++) {
		size_t la, lb;
		const char *da = digest_for(a, kist_alg_name(alg), &la);
		const char *db = digest_for(b, kist_alg_name(alg), &lb);

		if (!da || !db)
			continue;
		common = 1;
		if (la != lb || strncasecmp(da, db, la) != 0)
			return 0;
	}
	return common ? 1 : -1;
}

char *fixity_algs_format(kist_algset algs)
{
	char buf[256] = "";

	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if (buf[0])
			strcat(buf, ",");
		strcat(buf, kist_alg_name(a));
	}
	return strdup(buf);
}

/* --- checks -------------------------------------------------------------------- */

static const char *const verdict_names[KIST_VERDICT_COUNT] = {
	"ok", "changed", "missing", "new", "moved", "renamed", "unreadable", "denied", "registered",
};

const char *kist_verdict_name(int v)
{
	return v >= 0 && v < KIST_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

int kist_verdict_from_name(const char *s)
{
	for (int v = 0; s && v < KIST_VERDICT_COUNT; v++)
		if (strcmp(s, verdict_names[v]) == 0)
			return v;
	return -1;
}

int fixity_record_check(struct kist_catalog *cat, int64_t item, int64_t when, int verdict,
			const char *path, const char *expected, const char *found,
			const char *detail, struct kist_error *err)
{
	return fixity_sql(cat, NULL, NULL, err,
			  "INSERT INTO check_log (item_id, time, verdict, path, expected, found, host,"
			  " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			  "iisssss" "s", item, when, kist_verdict_name(verdict), path, expected, found,
			  cat->host, detail);
}

int64_t kist_fixity_parse_duration(const char *s)
{
	char *end;
	long long n;
	int64_t unit = 1;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	if (n > INT64_MAX / 1000 / unit)
		return -1;
	return n * unit;
}
