/* Version 4 UUIDs from a per-thread pool of random bytes. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <kist/uuid.h>

/* Random bytes come from a per-thread pool filled 512 bytes at a time: a
 * bag of a million files needs a UUID each, and a getrandom call apiece
 * showed in the profile. The pool is refilled after a fork, so a child
 * never repeats its parent's identifiers. */
static int random_bytes(unsigned char *out, size_t n)
{
	static __thread unsigned char pool[512];
	static __thread size_t left;
	static __thread pid_t owner;

	if (owner != getpid())
		left = 0;
	if (left < n) {
		size_t got = 0;

		while (got < sizeof(pool)) {
			ssize_t r = getrandom(pool + got, sizeof(pool) - got, 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			got += (size_t)r;
		}
		left = sizeof(pool);
		owner = getpid();
	}
	memcpy(out, pool + sizeof(pool) - left, n);
	memset(pool + sizeof(pool) - left, 0, n);
	left -= n;
	return 0;
}

int kist_uuid4(char out[37])
{
	unsigned char b[16];

	if (random_bytes(b, sizeof(b)) < 0)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}
