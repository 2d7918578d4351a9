/* A file's bytes identified against the real PRONOM signatures (DROID and
 * container files from data/pronom, loaded once): the matcher on hostile
 * files, and the ZIP and OLE2 readers behind container signatures. */
#include "fuzz.h"

#include <kist/kist.h>
#include <kist/identify.h>

static struct kist_identifier *id;

static void load(void)
{
	struct kist_identify_options o;
	struct kist_error err;

	kist_identify_options_init(&o);
	o.no_magic = 1;
	kist_error_clear(&err);
	id = kist_identifier_load(&o, NULL, &err);
	if (!id) {
		fprintf(stderr, "fuzz-identify: %s (set KIST_DATADIR to the source tree's data/)\n",
			err.message);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kist_id_result *r;

	if (!id)
		load();
	r = kist_identify_buffer(id, size && (data[0] & 1) ? "input.docx" : "input.bin", data, size);
	if (r)
		kist_id_result_free(r);
	return 0;
}
