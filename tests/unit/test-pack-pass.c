/* The packing sequencer of `bag create --pack` (src/bagit/pack-pass.c),
 * driven by the hashing pipeline as create.c drives it: entries in order
 * whatever the workers' timing, and failures that leave no archive and no
 * waiting worker. */
#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/pipeline.h>
#include <kist/transfer.h>

#include "pack-pass.h"

#define NFILES 40

struct fixture {
	char *dir;                  /* dir/bag/data/fNN */
	char *bag, *out;
	char *names[NFILES];        /* "fNN", below data/ */
	char *paths[NFILES];        /* "data/fNN", below the bag */
	size_t sizes[NFILES];
	struct kist_hash_item items[NFILES];
};

static void fixture_make(struct fixture *f, const char *outname)
{
	f->dir = unit_tmpdir();
	assert_true(asprintf(&f->bag, "%s/bag", f->dir) > 0);
	assert_true(asprintf(&f->out, "%s/%s", f->dir, outname) > 0);
	unit_mkdir(f->dir, "bag");
	unit_mkdir(f->bag, "data");
	unit_write(f->bag, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 55);
	for (size_t i = 0; i < NFILES; i++) {
		/* mostly small, some past one block, one empty */
		size_t len = i == 3 ? 0 : i % 9 == 8 ? (1u << 20) * 2 + i : 100 + i * 4001;
		unsigned char *buf = malloc(len ? len : 1);

		for (size_t b = 0; b < len; b++)
			buf[b] = (unsigned char)(b * 7 + i);
		assert_true(asprintf(&f->names[i], "f%02zu", i) > 0);
		assert_true(asprintf(&f->paths[i], "data/f%02zu", i) > 0);
		unit_write(f->bag, f->paths[i], buf, len);
		free(buf);
		f->sizes[i] = len;
		f->items[i] = (struct kist_hash_item){ f->paths[i], len };
	}
}

static void fixture_free(struct fixture *f)
{
	for (size_t i = 0; i < NFILES; i++) {
		free(f->names[i]);
		free(f->paths[i]);
	}
	unit_rmtree(f->dir);
	free(f->dir);
	free(f->bag);
	free(f->out);
}

static int on_result(void *ctx, const struct kist_hash_result *r)
{
	int *failures = ctx;

	if (r->fail_code)
		(*failures)++;
	return 0;
}

/* One run as create.c makes it: begin, the entries, the pipeline, the end. */
static int run_pass(struct fixture *f, unsigned jobs, const size_t *declared, size_t nitems,
		    struct kist_pack_pass **pp)
{
	struct kist_pipeline_options po;
	struct kist_error err;
	int dirfd = open(f->bag, O_RDONLY | O_DIRECTORY), failures = 0;
	struct timespec t = { 1700000000, 0 };

	assert_true(dirfd >= 0);
	assert_int_equal(kist_pack_pass_new(f->out, f->bag, NULL, pp, &err), KIST_OK);
	assert_int_equal(pack_pass_begin(*pp, dirfd, nitems, nitems, &err), KIST_OK);
	for (size_t i = 0; i < nitems; i++)
		pack_pass_add(*pp, f->names[i], 0, 1, declared[i], 0644, t);
	kist_pipeline_options_init(&po);
	po.algs = KIST_ALG_BIT(KIST_ALG_SHA256);
	po.jobs = jobs;
	po.block_size = 65536;      /* many blocks per file: workers interleave */
	po.dirfd = dirfd;
	po.beneath = 1;
	po.consumer = pack_pass_consumer(*pp);
	assert_int_equal(kist_pipeline_run(&po, f->items, nitems, on_result, &failures, &err), KIST_OK);
	close(dirfd);
	return failures;
}

/* The archive's entries, in order, each file's bytes checked. */
static void check_archive(const struct fixture *f)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	size_t file = 0;
	int n = 0;

	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	assert_int_equal(archive_read_open_filename(a, f->out, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ae);

		if (n == 0)
			assert_string_equal(name, "bag/");
		else if (n == 1)
			assert_string_equal(name, "bag/data/");
		else if (file < NFILES) {
			char want[64];
			unsigned char *buf = malloc(f->sizes[file] + 1);

			snprintf(want, sizeof(want), "bag/%s", f->paths[file]);
			assert_string_equal(name, want);
			assert_int_equal(archive_entry_size(ae), f->sizes[file]);
			assert_int_equal(archive_read_data(a, buf, f->sizes[file] + 1), f->sizes[file]);
			for (size_t b = 0; b < f->sizes[file]; b++)
				if (buf[b] != (unsigned char)(b * 7 + file))
					fail_msg("%s: byte %zu differs", name, b);
			free(buf);
			file++;
		} else {
			assert_string_equal(name, "bag/bagit.txt");
		}
		n++;
	}
	assert_int_equal(file, NFILES);
	assert_int_equal(n, NFILES + 3);
	archive_read_free(a);
}

static void test_order_whatever_the_timing(void **state)
{
	static const char *const outs[] = { "a.tar", "a.tgz", "a.zip" };

	(void)state;
	for (size_t o = 0; o < 3; o++)
		for (unsigned jobs = 1; jobs <= 4; jobs += 3)
			for (int bound = 0; bound < 2; bound++) {
				struct fixture f;
				struct kist_pack_pass *p = NULL;
				struct kist_error err;

				/* no memory for later files at all, or room for all */
				setenv("KIST_TEST_PACK_BUFFER", bound ? "100000000" : "0", 1);
				fixture_make(&f, outs[o]);
				assert_int_equal(run_pass(&f, jobs, f.sizes, NFILES, &p), 0);
				assert_int_equal(pack_pass_payload_end(p, &err), KIST_OK);
				assert_int_equal(kist_pack_pass_finish(p, NULL, &err), KIST_OK);
				kist_pack_pass_free(p);
				check_archive(&f);
				fixture_free(&f);
			}
	unsetenv("KIST_TEST_PACK_BUFFER");
}

/* OUT, or a temporary file beside it. */
static int archive_left(const struct fixture *f)
{
	char cmd[1024];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q kist-tmp", f->dir);
	return stat(f->out, &st) == 0 || system(cmd) == 0;
}

/* A file that is not the size declared, and one that is gone: the pass
 * fails, every worker comes back, no archive is left. */
static void test_failures_leave_nothing(void **state)
{
	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		struct fixture f;
		struct kist_pack_pass *p = NULL;
		struct kist_error err;
		size_t declared[NFILES];

		setenv("KIST_TEST_PACK_BUFFER", "0", 1);
		fixture_make(&f, "b.tar");
		memcpy(declared, f.sizes, sizeof(declared));
		if (kind == 0) {
			declared[5] += 10;          /* the scan saw another size */
			f.items[5].size = declared[5];
		} else {
			char *gone = NULL;

			assert_true(asprintf(&gone, "%s/%s", f.bag, f.paths[7]) > 0);
			unlink(gone);
			free(gone);
		}
		assert_int_equal(run_pass(&f, 3, declared, NFILES, &p), 1);
		assert_int_equal(pack_pass_payload_end(p, &err), KIST_FAILED);
		assert_int_equal(kist_pack_pass_finish(p, NULL, &err), KIST_FAILED);
		kist_pack_pass_free(p);
		assert_false(archive_left(&f));
		fixture_free(&f);
	}
	unsetenv("KIST_TEST_PACK_BUFFER");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_whatever_the_timing),
		cmocka_unit_test(test_failures_leave_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
