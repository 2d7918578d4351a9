/* BagIt profiles: JSON text read by kist_profile_parse (json-c, bounded
 * size and depth), then its rules looked up. */
#include "fuzz.h"

#include <kist/kist.h>
#include <kist/profile.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kist_profile *p = NULL;
	struct kist_findings *fs = kist_findings_new();

	if (!fs)
		abort();
	if (kist_profile_parse((const char *)data, size, "profile.json", &p, fs) == KIST_OK && p) {
		(void)kist_profile_spec_version(p);
		(void)kist_profile_tag(p, "Source-Organization");
		kist_profile_free(p);
	}
	kist_findings_free(fs);
	return 0;
}
