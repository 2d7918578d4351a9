/* A DROID signature file (first byte even) or a container signature file
 * (odd) loaded by kist_identifier_load, then a few fixed byte strings
 * identified with what was loaded: the loader and the byte-signature
 * matcher with hostile patterns. */
#include "fuzz.h"

#include <kist/kist.h>
#include <kist/identify.h>

static const char droid_min[] =
	"<?xml version=\"1.0\"?>\n<FFSignatureFile xmlns=\"http://www.nationalarchives.gov.uk/pronom/SignatureFile\" Version=\"1\">"
	"<InternalSignatureCollection/><FileFormatCollection>"
	"<FileFormat ID=\"1\" Name=\"ZIP\" PUID=\"x-fmt/263\"><Extension>zip</Extension></FileFormat>"
	"</FileFormatCollection></FFSignatureFile>\n";

static const struct { const char *bytes; size_t len; } samples[] = {
	{ "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16 },
	{ "%PDF-1.4\n%%EOF\n", 15 },
	{ "PK\x03\x04\x14\0\0\0\0\0", 10 },
	{ "GIF89a\x01\0\x01\0", 10 },
	{ "", 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kist_identify_options o;
	struct kist_identifier *id;
	struct kist_findings *fs;
	struct kist_error err;
	int container;

	if (size < 1)
		return 0;
	container = data[0] & 1;
	fuzz_write("sig.xml", data + 1, size - 1);
	if (container)
		fuzz_write("droid.xml", droid_min, sizeof(droid_min) - 1);
	kist_identify_options_init(&o);
	o.signature_file = fuzz_path(container ? "droid.xml" : "sig.xml");
	o.container_file = container ? fuzz_path("sig.xml") : "";
	o.no_magic = 1;
	o.no_containers = !container;
	fs = kist_findings_new();
	if (!fs)
		abort();
	kist_error_clear(&err);
	id = kist_identifier_load(&o, fs, &err);
	if (id) {
		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			struct kist_id_result *r = kist_identify_buffer(id, "sample.zip", samples[i].bytes,
								       samples[i].len);

			if (r)
				kist_id_result_free(r);
		}
		kist_identifier_free(id);
	}
	kist_findings_free(fs);
	return 0;
}
