/* Serialized bags: the input as a .tar (first byte even) or .zip (odd)
 * validated in place (kist_bag_validate given the archive) and unpacked
 * (kist_bag_unpack) into the scratch folder, which must stay clean. */
#include "fuzz.h"

#include <dirent.h>
#include <sys/stat.h>

#include <kist/kist.h>
#include <kist/transfer.h>

static int empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name;
	struct kist_findings *fs;
	struct kist_error err;
	struct kist_bag_validate_options vo = { .level = KIST_BAG_CHECK_FULL, .jobs = 1 };
	struct kist_bag_validate_result res;
	struct kist_bag_unpack_options uo = { .jobs = 1, .max_bytes = 1 << 24 };
	char *bag = NULL, cmd[600];

	if (size < 1)
		return 0;
	name = data[0] & 1 ? "in.zip" : "in.tar";
	fuzz_write(name, data + 1, size - 1);
	if (mkdir(fuzz_path("out"), 0700) < 0 && errno != EEXIST)
		abort();
	fs = kist_findings_new();
	if (!fs)
		abort();
	kist_error_clear(&err);
	(void)kist_bag_validate(fuzz_path(name), &vo, &res, fs, &err);
	kist_error_clear(&err);
	if (kist_bag_unpack(fuzz_path(name), fuzz_path("out"), &uo, &bag, &res, fs, &err) != KIST_OK &&
	    !empty_dir(fuzz_path("out")))
		abort();   /* a refused archive must leave nothing behind */
	free(bag);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fuzz_path("out"));
	if (system(cmd) != 0)
		abort();
	kist_findings_free(fs);
	return 0;
}
