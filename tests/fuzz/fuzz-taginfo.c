/* bagit.txt / bag-info.txt: bytes -> kist_tagfile_decode -> kist_bag_info_parse,
 * then the parsed elements formatted again. The first byte picks the rules:
 * bit 0 legacy (before 1.0), bits 1-2 the declared encoding. */
#include "fuzz.h"

#include <kist/kist.h>

static const char *const encodings[] = { NULL, "UTF-8", "UTF-16", "ISO-8859-1" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kist_bag_info info;
	struct kist_findings *fs;
	struct kist_error err;
	char *text = NULL;
	size_t len = 0;
	int bom = 0, legacy;
	const char *enc;

	if (size < 1)
		return 0;
	legacy = data[0] & 1;
	enc = encodings[(data[0] >> 1) & 3];
	data++;
	size--;
	kist_error_clear(&err);
	if (kist_tagfile_decode((const char *)data, size, enc, &text, &len, &bom, &err) != KIST_OK)
		return 0;
	fs = kist_findings_new();
	if (!fs)
		abort();
	kist_bag_info_init(&info);
	kist_bag_info_parse(&info, text, len, "bag-info.txt", legacy, fs);
	if (info.count) {
		size_t flen = 0;
		char *formatted = kist_bag_info_format(&info, &flen);

		free(formatted);
		(void)kist_bag_info_get(&info, info.tags[0].label);
		(void)kist_bag_info_count(&info, "Payload-Oxum");
	}
	{
		const char *oxum = kist_bag_info_get(&info, "Payload-Oxum");
		uint64_t b, f;

		if (oxum)
			(void)kist_bag_oxum_parse(oxum, &b, &f);
	}
	kist_bag_info_free(&info);
	kist_findings_free(fs);
	free(text);
	return 0;
}
