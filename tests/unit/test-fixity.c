/* The fixity catalog below the CLI: schema migrations on both backends, the
 * network file system refusal, digest strings, durations. The PostgreSQL
 * cases start a private server (tests/fixity/pg-server) and are skipped
 * when the server binaries are not installed. */
#include "unit.h"

#include <kist/fixity.h>

#include "../../src/fixity/fixity-internal.h"

static char *pg_dir, *pg_url;
static int pg_tried;

/* Starts the private server once for the whole run. */
static const char *pg_catalog(void)
{
	char cmd[1024], line[2048];
	FILE *p;

	if (pg_tried)
		return pg_url;
	pg_tried = 1;
	snprintf(cmd, sizeof(cmd), "'%s/tests/fixity/pg-server' start 2>/dev/null",
		 getenv("KIST_SRCDIR") ? getenv("KIST_SRCDIR") : ".");
	if (!(p = popen(cmd, "r")))
		return NULL;
	if (fgets(line, sizeof(line), p)) {
		char *tab = strchr(line, '\t');

		line[strcspn(line, "\n")] = '\0';
		if (tab) {
			*tab = '\0';
			pg_dir = strdup(line);
			pg_url = strdup(tab + 1);
		}
	}
	pclose(p);
	return pg_url;
}

static void pg_stop(void)
{
	char cmd[1024];

	if (!pg_dir)
		return;
	snprintf(cmd, sizeof(cmd), "'%s/tests/fixity/pg-server' stop '%s'",
		 getenv("KIST_SRCDIR") ? getenv("KIST_SRCDIR") : ".", pg_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not stop the test server in %s\n", pg_dir);
	free(pg_dir);
	free(pg_url);
}

/* A fresh catalog URL of the backend: a temporary SQLite file, or a new
 * PostgreSQL database. NULL (skip) when PostgreSQL is not available. */
static char *fresh(int pg, char **tmp)
{
	static int n;
	char *url = NULL;

	*tmp = NULL;
	if (!pg) {
		*tmp = unit_tmpdir();
		assert_true(asprintf(&url, "sqlite:%s/c.sqlite", *tmp) > 0);
		return url;
	}
	if (!pg_catalog())
		return NULL;
	{
		struct kist_catalog *cat;
		struct kist_error err;
		char sql[64];
		const char *q;

		kist_error_clear(&err);
		assert_int_equal(kist_catalog_open(pg_url, &cat, &err), KIST_OK);
		snprintf(sql, sizeof(sql), "CREATE DATABASE u%d_%ld", ++n, (long)getpid());
		assert_int_equal(fixity_sql(cat, NULL, NULL, &err, sql, ""), KIST_OK);
		kist_catalog_close(cat);
		q = strstr(pg_url, "/postgres?");
		assert_non_null(q);
		assert_true(asprintf(&url, "%.*s/u%d_%ld%s", (int)(q - pg_url), pg_url, n, (long)getpid(),
				     q + 9) > 0);
	}
	return url;
}

static int64_t count(struct kist_catalog *cat, const char *sql)
{
	struct kist_error err;
	int64_t v = -1;

	kist_error_clear(&err);
	assert_int_equal(fixity_sql(cat, fixity_row_int64, &v, &err, sql, ""), KIST_OK);
	return v;
}

/* A catalog made at schema 1 gains the later schemas' indexes when opened,
 * keeping its rows; a catalog newer than this kist is refused. */
static void migrates_forward(int pg)
{
	struct kist_catalog *cat;
	struct kist_error err;
	char *tmp, *url = fresh(pg, &tmp);
	int v;

	if (!url) {
		skip();
		return;
	}
	kist_error_clear(&err);
	assert_int_equal(fixity_catalog_open_at(url, 1, &cat, &err), KIST_OK);
	assert_int_equal(kist_catalog_schema_version(cat, &v, &err), KIST_OK);
	assert_int_equal(v, 1);
	assert_int_equal(fixity_sql(cat, NULL, NULL, &err,
				    "INSERT INTO volume (name, uuid, period_ms, created) VALUES ($1, $2, 1, 1)",
				    "ss", "old", "uuid-1"), KIST_OK);
	/* schema 1 has no due index yet */
	assert_int_equal(count(cat, pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'item_due'"
				     : "SELECT count(*) FROM sqlite_master WHERE name = 'item_due'"), 0);
	kist_catalog_close(cat);

	assert_int_equal(kist_catalog_open(url, &cat, &err), KIST_OK);
	assert_int_equal(kist_catalog_schema_version(cat, &v, &err), KIST_OK);
	assert_int_equal(v, KIST_FIXITY_SCHEMA);
	/* schema 2's due index, replaced by schema 4's, which orders by id too */
	assert_int_equal(count(cat, pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'item_due'"
				     : "SELECT count(*) FROM sqlite_master WHERE name = 'item_due'"), 0);
	assert_int_equal(count(cat, pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'item_due_order'"
				     " AND indexdef LIKE '%(volume_id, last_check, id)'"
				     : "SELECT count(*) FROM sqlite_master WHERE name = 'item_due_order'"
				     " AND sql LIKE '%(volume_id, last_check, id)'"), 1);
	assert_int_equal(count(cat, pg ? "SELECT count(*) FROM pg_indexes WHERE indexname = 'item_leased'"
				     : "SELECT count(*) FROM sqlite_master WHERE name = 'item_leased'"), 1);
	assert_int_equal(count(cat, "SELECT count(*) FROM volume WHERE name = 'old'"), 1);
	assert_int_equal(fixity_sql(cat, NULL, NULL, &err,
				    "UPDATE meta SET value = '99' WHERE key = 'schema_version'", ""),
			 KIST_OK);
	kist_catalog_close(cat);

	assert_int_equal(kist_catalog_open(url, &cat, &err), KIST_FAILED);
	assert_non_null(strstr(err.message, "newer than this kist"));
	free(url);
	if (tmp) {
		unit_rmtree(tmp);
		free(tmp);
	}
}

static void migrates_sqlite(void **state) { (void)state; migrates_forward(0); }
static void migrates_pg(void **state) { (void)state; migrates_forward(1); }

/* The same sentinel logic on both: offline until the sentinel is there. */
static void volumes_offline(int pg)
{
	struct kist_catalog *cat;
	struct kist_error err;
	struct fixity_volume v;
	char *tmp2 = unit_tmpdir(), *tmp, *url = fresh(pg, &tmp), *sentinel;
	int fd;

	if (!url) {
		unit_rmtree(tmp2);
		free(tmp2);
		skip();
		return;
	}
	kist_error_clear(&err);
	assert_int_equal(kist_catalog_open(url, &cat, &err), KIST_OK);
	assert_int_equal(kist_fixity_volume_add(cat, "v", tmp2, 1000, &err), KIST_OK);
	assert_int_equal(fixity_volume_by_name(cat, "v", &v, &err), KIST_OK);
	assert_int_equal(strlen(v.uuid), 36);
	assert_true((fd = fixity_volume_open(&v)) >= 0);
	close(fd);
	sentinel = kist_path_join(tmp2, KIST_FIXITY_SENTINEL);
	assert_int_equal(unlink(sentinel), 0);
	assert_int_equal(fixity_volume_open(&v), -1);
	/* another volume's sentinel: still not this volume */
	unit_write(tmp2, KIST_FIXITY_SENTINEL, "uuid: 00000000-0000-4000-8000-000000000000\n", 43);
	assert_int_equal(fixity_volume_open(&v), -1);
	fixity_volume_free(&v);
	free(sentinel);
	kist_catalog_close(cat);
	free(url);
	if (tmp) {
		unit_rmtree(tmp);
		free(tmp);
	}
	unit_rmtree(tmp2);
	free(tmp2);
}

static void volumes_sqlite(void **state) { (void)state; volumes_offline(0); }
static void volumes_pg(void **state) { (void)state; volumes_offline(1); }

static void network_fs_refused(void **state)
{
	(void)state;
	assert_string_equal(fixity_network_fs(0x6969), "NFS");
	assert_string_equal(fixity_network_fs((long)0xFF534D42), "CIFS");
	assert_string_equal(fixity_network_fs((long)0xFE534D42), "SMB2");
	assert_string_equal(fixity_network_fs(0x517B), "SMB");
	assert_null(fixity_network_fs(0xEF53));       /* ext4 */
	assert_null(fixity_network_fs(0x58465342));   /* xfs */
	assert_null(fixity_network_fs(0x01021994));   /* tmpfs */
}

static void digest_strings(void **state)
{
	unsigned char d[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	char *s;

	(void)state;
	memset(d, 0, sizeof(d));
	d[KIST_ALG_MD5][0] = 0xab;
	d[KIST_ALG_SHA256][31] = 0x01;
	s = fixity_digests_format(KIST_ALG_BIT(KIST_ALG_SHA256) | KIST_ALG_BIT(KIST_ALG_MD5), d);
	assert_string_equal(s, "md5:ab000000000000000000000000000000 "
			       "sha256:0000000000000000000000000000000000000000000000000000000000000001");
	/* compared over the algorithms both hold */
	assert_int_equal(fixity_digests_equal(s, "md5:AB000000000000000000000000000000"), 1);
	assert_int_equal(fixity_digests_equal(s, "md5:ab000000000000000000000000000001"), 0);
	assert_int_equal(fixity_digests_equal(s, "sha1:00"), -1);
	assert_int_equal(fixity_digests_equal(s, NULL), -1);
	free(s);
}

static void durations(void **state)
{
	(void)state;
	assert_int_equal(kist_fixity_parse_duration("90d"), 90 * 86400);
	assert_int_equal(kist_fixity_parse_duration("2h"), 7200);
	assert_int_equal(kist_fixity_parse_duration("30m"), 1800);
	assert_int_equal(kist_fixity_parse_duration("2w"), 14 * 86400);
	assert_int_equal(kist_fixity_parse_duration("45"), 45);
	assert_int_equal(kist_fixity_parse_duration("45s"), 45);
	assert_int_equal(kist_fixity_parse_duration("-1d"), -1);
	assert_int_equal(kist_fixity_parse_duration("1x"), -1);
	assert_int_equal(kist_fixity_parse_duration("1dd"), -1);
	assert_int_equal(kist_fixity_parse_duration(""), -1);
	assert_int_equal(kist_fixity_parse_duration("99999999999999999999d"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(migrates_sqlite),
		cmocka_unit_test(migrates_pg),
		cmocka_unit_test(volumes_sqlite),
		cmocka_unit_test(volumes_pg),
		cmocka_unit_test(network_fs_refused),
		cmocka_unit_test(digest_strings),
		cmocka_unit_test(durations),
	};
	int rc = UNIT_RUN(tests);

	pg_stop();
	return rc;
}
