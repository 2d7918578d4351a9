/* Shared setup for the cmocka unit tests: TAP output, temporary directories. */
#ifndef KIST_UNIT_H
#define KIST_UNIT_H

#include <config.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/kist.h>

/* A fresh directory under $TMPDIR, removed by unit_rmtree. */
static inline char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path = NULL;

	assert_true(asprintf(&path, "%s/kist-unit-XXXXXX", base) > 0);
	assert_non_null(mkdtemp(path));
	return path;
}

static inline void unit_rmtree(const char *path)
{
	char *cmd = NULL;

	assert_true(asprintf(&cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", path, path) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Writes len bytes of data (or a pattern if data is NULL) to dir/name. */
static inline void unit_write(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = kist_path_join(dir, name);
	FILE *f;

	assert_non_null(path);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (data) {
		assert_int_equal(fwrite(data, 1, len, f), len);
	} else {
		for (size_t i = 0; i < len; i++)
			fputc((int)((i * 7 + i / 251) & 0xff), f);
	}
	assert_int_equal(fclose(f), 0);
	free(path);
}

static inline void unit_mkdir(const char *dir, const char *name)
{
	char *path = kist_path_join(dir, name);

	assert_int_equal(mkdir(path, 0755), 0);
	free(path);
}

#define UNIT_RUN(tests) \
	(cmocka_set_message_output(CM_OUTPUT_TAP), cmocka_run_group_tests(tests, NULL, NULL))

#endif
