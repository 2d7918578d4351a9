/* Replays a fuzz target's corpus with the ordinary (gcc) build, so every
 * seed and every input that once crashed runs in `make check`: each file
 * under $KIST_SRCDIR/tests/fuzz/corpus/FUZZ_TARGET (or each file given) is
 * fed to LLVMFuzzerTestOneInput, one TAP line per file. */
#include "fuzz.h"

#include <dirent.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay(const char *path, int n)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f) {
		printf("not ok %d - %s: %s\n", n, path, strerror(errno));
		return 1;
	}
	do {
		if (len == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);

			if (!nb)
				abort();
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	fclose(f);
	{
		/* exactly len bytes, as libFuzzer gives them: ASan sees an overread */
		char *exact = malloc(len ? len : 1);

		if (!exact)
			abort();
		memcpy(exact, buf, len);
		free(buf);
		buf = exact;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	printf("ok %d - %s\n", n, strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	char **files = NULL, *dir = NULL;
	size_t n = 0;
	int fails = 0;

	if (argc > 1) {
		files = argv + 1;
		n = (size_t)argc - 1;
	} else {
		const char *src = getenv("KIST_SRCDIR") ? getenv("KIST_SRCDIR") : ".";
		DIR *d;
		struct dirent *e;

		if (asprintf(&dir, "%s/tests/fuzz/corpus/%s", src, FUZZ_TARGET) < 0 || !(d = opendir(dir))) {
			printf("1..0 # SKIP no corpus %s\n", dir ? dir : FUZZ_TARGET);
			return 0;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			files = realloc(files, (n + 1) * sizeof(*files));
			if (!files || asprintf(&files[n], "%s/%s", dir, e->d_name) < 0)
				abort();
			n++;
		}
		closedir(d);
		qsort(files, n, sizeof(*files), cmp);
	}
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++)
		fails += replay(files[i], (int)i + 1);
	if (argc <= 1) {
		for (size_t i = 0; i < n; i++)
			free(files[i]);
		free(files);
		free(dir);
	}
	return fails ? 1 : 0;
}
