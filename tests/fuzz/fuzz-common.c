/* The scratch directory of fuzz.h. */
#include "fuzz.h"

#include <sys/stat.h>

static char dir[256];

static void remove_dir(void)
{
	char cmd[300];

	if (dir[0] && snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < (int)sizeof(cmd))
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		struct stat st;
		const char *base = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0
					   ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

		snprintf(dir, sizeof(dir), "%s/kist-fuzz-XXXXXX", base);
		if (!mkdtemp(dir)) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(remove_dir);
	}
	return dir;
}

const char *fuzz_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	return path;
}

void fuzz_write(const char *name, const void *data, size_t len)
{
	const char *path = fuzz_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0) {
		perror(path);
		abort();
	}
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror(path);
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

void fuzz_unlink(const char *name)
{
	unlink(fuzz_path(name));
}
