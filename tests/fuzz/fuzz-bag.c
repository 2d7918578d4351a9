/* A bag's tag files read by kist_bag_open and checked by kist_bag_validate
 * (completeness: nothing hashed) and summarized as `kist bag info` does. The input is several files joined by the
 * line "#--\n"; in order: bagit.txt, bag-info.txt, manifest-sha256.txt,
 * manifest-md5.txt, tagmanifest-sha256.txt, fetch.txt. A part that is not
 * there leaves its file out. data/ holds two small payload files. */
#include "fuzz.h"

#include <sys/stat.h>

#include <kist/kist.h>

static const char *const names[] = {
	"bag/bagit.txt", "bag/bag-info.txt", "bag/manifest-sha256.txt",
	"bag/manifest-md5.txt", "bag/tagmanifest-sha256.txt", "bag/fetch.txt",
};
#define NPARTS (sizeof(names) / sizeof(names[0]))
static const char sep[] = "#--\n";

static void setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (mkdir(fuzz_path("bag"), 0700) < 0 || mkdir(fuzz_path("bag/data"), 0700) < 0 ||
	    mkdir(fuzz_path("bag/data/sub"), 0700) < 0)
		abort();
	fuzz_write("bag/data/a.txt", "hello\n", 6);
	fuzz_write("bag/data/sub/b.txt", "", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct kist_findings *fs;
	struct kist_error err;
	struct kist_bag *bag = NULL;
	size_t i;

	setup();
	for (i = 0; i < NPARTS; i++) {
		const char *next = p ? memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1) : NULL;

		if (!p) {
			fuzz_unlink(names[i]);
			continue;
		}
		fuzz_write(names[i], p, (size_t)((next ? next : end) - p));
		p = next ? next + sizeof(sep) - 1 : NULL;
	}
	fs = kist_findings_new();
	if (!fs)
		abort();
	kist_error_clear(&err);
	if (kist_bag_open(fuzz_path("bag"), &bag, fs, &err) == KIST_OK) {
		(void)kist_bag_algorithms(bag, 0);
		kist_bag_free(bag);
		struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_COMPLETENESS, .jobs = 1 };
		struct kist_bag_validate_result res;

		kist_error_clear(&err);
		(void)kist_bag_validate(fuzz_path("bag"), &vo, &res, fs, &err);

		struct kist_bag_summary sum;

		kist_error_clear(&err);
		(void)kist_bag_summarize(fuzz_path("bag"), &sum, fs, &err);
		kist_bag_summary_free(&sum);   /* whatever it returned */
	}
	kist_findings_free(fs);
	return 0;
}
