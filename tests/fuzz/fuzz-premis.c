/* metadata/premis.xml read by kist_premis_read (untrusted: no DTD, no
 * entities, bounded depth), its events sorted. */
#include "fuzz.h"

#include <kist/kist.h>
#include <kist/premis.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kist_premis_summary s;
	struct kist_error err;
	int dirfd;

	fuzz_write("premis.xml", data, size);
	dirfd = open(fuzz_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		abort();
	memset(&s, 0, sizeof(s));
	kist_error_clear(&err);
	if (kist_premis_read(dirfd, "premis.xml", &s, &err) == KIST_OK) {
		kist_premis_sort_events(&s);
		kist_premis_summary_free(&s);
	}
	close(dirfd);
	return 0;
}
