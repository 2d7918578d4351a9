/* The shortcuts of the signature matcher change no answer: the head scan
 * samples every few bytes (scan.c), guards skip places a subsequence cannot
 * start (guard.c), byte sequences are tried out of order, and a small file is
 * matched in the pipeline's block rather than a copy. Each test puts a
 * pattern at every offset, or feeds a file in every way, and checks the
 * answer against what DROID's rules say. */
#include "unit.h"

#include <kist/identify.h>
#include <kist/pipeline.h>

#include "signature-file.h"

#define SUB(min, max, seq, frags)                                                                 \
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"" #min "\" SubSeqMaxOffset=\"" #max "\">"  \
	"<Sequence>" seq "</Sequence>" frags "</SubSequence>"
#define SIG(id, ref, sub)                                                                         \
	"<InternalSignature ID=\"" #id "\"><ByteSequence" ref ">" sub "</ByteSequence></InternalSignature>\n"
#define BOF " Reference=\"BOFoffset\""
#define EOF_ " Reference=\"EOFoffset\""
#define FLOAT ""
#define FMT(id)                                                                                   \
	"<FileFormat ID=\"" #id "\" Name=\"Test " #id "\" PUID=\"x-scan/" #id "\" Version=\"1\">" \
	"<InternalSignatureID>" #id "</InternalSignatureID></FileFormat>\n"

struct fx {
	char *dir;
	struct kist_identifier *id;
};

static struct kist_identifier *load(struct fx *f, const char *sigs, const char *formats, size_t window)
{
	struct kist_identify_options o;
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	char *xml = NULL, *path = kist_path_join(f->dir, "sigs.xml");
	struct kist_identifier *id;

	assert_true(asprintf(&xml, "%s%s%s%s%s", SIG_HEAD, sigs, SIG_MID, formats, SIG_TAIL) > 0);
	unit_write(f->dir, "sigs.xml", xml, strlen(xml));
	kist_identify_options_init(&o);
	o.signature_file = path;
	o.container_file = "";
	o.no_magic = 1;
	o.window = window;
	id = kist_identifier_load(&o, fs, &err);
	if (!id)
		print_message("# load: %s\n", err.message);
	assert_non_null(id);
	assert_int_equal(kist_findings_count(fs), 0);
	kist_findings_free(fs);
	free(xml);
	free(path);
	return id;
}

/* The PUIDs found, "x-scan/1 x-scan/4", or "" */
static void found(const struct kist_id_result *r, char *out, size_t n)
{
	out[0] = 0;
	for (size_t m = 0; m < r->nmatches; m++)
		snprintf(out + strlen(out), n - strlen(out), "%s%s", m ? " " : "", r->matches[m].puid);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = unit_tmpdir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unit_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Keys of 2, 3, 5 and 9 bytes, bounded and not, and one that is not at the
 * start of its anchor: the scan samples the head at steps from 1 to 8, in
 * stages whose borders fall inside these windows. Each pattern is put at
 * every offset of a file whose other bytes cannot form any of them; it must
 * be found exactly where its window allows. */
static void test_key_at_every_offset(void **state)
{
	struct fx *f = *state;
	static const struct {
		int id;
		const char *bytes;     /* what is put in the file */
		size_t lo, hi;         /* offsets it matches at, inclusive */
	} cases[] = {
		{ 1, "QZ", 0, 40 },
		{ 2, "QRSTU", 100, 700 },
		{ 3, "KLM", 1000, 1300 },
		{ 4, "VWXYZ[\\]^", 0, SIZE_MAX },
		{ 5, "A\x01\x02" "FGHIJK", 7, 5007 },   /* A at [7, 5007], then 2 any, then the key */
		{ 6, "abcdefgh", 2500, 2500 },
	};
	const char *sigs =
		SIG(1, BOF, SUB(0, 40, "515A", ""))
		SIG(2, BOF, SUB(100, 700, "5152535455", ""))
		SIG(3, BOF, SUB(1000, 1300, "4B4C4D", ""))
		SIG(4, FLOAT, SUB(0, 0, "565758595A5B5C5D5E", ""))
		SIG(5, BOF, SUB(7, 5007, "41",
				"<RightFragment MinOffset=\"2\" MaxOffset=\"2\" Position=\"1\">464748494A4B</RightFragment>"))
		/* fixed offset, but its first byte is not literal: keyed, not a byte test */
		SIG(6, BOF, SUB(2500, 2500, "[61:62]62636465666768", ""));
	const char *formats = FMT(1) FMT(2) FMT(3) FMT(4) FMT(5) FMT(6);
	size_t len = 9000;
	unsigned char *buf = malloc(len);
	struct kist_identifier *id;
	size_t checked = 0;

	f->id = id = load(f, sigs, formats, 0);
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)((i * 7) % 0x30);   /* below '0': no key byte */
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t n = strlen(cases[c].bytes);
		char want[32], got[128];

		snprintf(want, sizeof(want), "x-scan/%d", cases[c].id);
		for (size_t p = 0; p + n <= len; p++) {
			struct kist_id_result *r;
			int in = p >= cases[c].lo && p <= cases[c].hi;

			memcpy(buf + p, cases[c].bytes, n);
			r = kist_identify_buffer(id, "f", buf, len);
			for (size_t i = p; i < p + n; i++)
				buf[i] = (unsigned char)((i * 7) % 0x30);
			found(r, got, sizeof(got));
			if (strcmp(got, in ? want : "") != 0)
				fail_msg("%s at offset %zu: got '%s', want '%s'", want, p, got, in ? want : "");
			kist_id_result_free(r);
			checked++;
		}
	}
	print_message("# %zu placements, each found exactly where its window allows\n", checked);
	kist_identifier_free(id);
	free(buf);
}

/* Guards read a few bytes on either side of where an anchor could be: they
 * must not decide anything at the edges of the file, or across sets,
 * alternatives and fixed gaps. */
static void test_guards(void **state)
{
	struct fx *f = *state;
	const char *sigs =
		/* EOF: anchor AB, left fragment C right before it */
		SIG(1, EOF_, SUB(0, 10, "4142",
				 "<LeftFragment MinOffset=\"0\" MaxOffset=\"0\" Position=\"1\">43</LeftFragment>"))
		/* BOF, floating window: anchor X then (YZ|Q) then a digit, then 2 any, then W */
		SIG(2, BOF, SUB(0, 50, "58(595A|51)[30:39]{2}57", ""))
		/* floating: not-this-sequence then M */
		SIG(3, FLOAT, SUB(0, 0, "[!4E4F]4D", ""))
		/* EOF with an alternative of different lengths before a literal */
		SIG(4, EOF_, SUB(0, 20, "(6A|6B6B)6C6D", ""));
	const char *formats = FMT(1) FMT(2) FMT(3) FMT(4);
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "CAB", "x-scan/1" },                 /* the left fragment at offset 0 */
		{ "AB", "" },                          /* no room for it */
		{ "xxCABxxxxxxxxxx", "x-scan/1" },     /* 10 bytes after: the window's end */
		{ "xxCABxxxxxxxxxxx", "" },            /* 11: beyond it */
		{ "DAB", "" },
		{ "XYZ5..W", "x-scan/2" },
		{ "XQ0abW", "x-scan/2" },
		{ "XQ0abV", "" },
		{ "XYZ5..", "" },                      /* the file ends inside the guard */
		{ "XY5..W", "" },
		{ "XYZa..W", "" },
		{ "M", "" },                           /* [!4E4F] needs two bytes */
		{ "NOM", "" },
		{ "NPM", "x-scan/3" },
		{ "..M", "x-scan/3" },
		{ "jlm", "x-scan/4" },
		{ "kklm", "x-scan/4" },
		{ "klm", "" },
		{ "lm", "" },
	};
	struct kist_identifier *id;
	char got[128];

	f->id = id = load(f, sigs, formats, 0);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct kist_id_result *r = kist_identify_buffer(id, "f", cases[c].text, strlen(cases[c].text));

		found(r, got, sizeof(got));
		if (strcmp(got, cases[c].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[c].text, got, cases[c].want);
		kist_id_result_free(r);
	}
	/* X(YZ|Q)... at every offset of a longer file: within 0..50 only */
	for (size_t p = 0; p < 120; p++) {
		char buf[200];
		struct kist_id_result *r;

		memset(buf, '.', sizeof(buf));
		memcpy(buf + p, "XYZ7abW", 7);
		r = kist_identify_buffer(id, "f", buf, sizeof(buf));
		found(r, got, sizeof(got));
		if (strcmp(got, p <= 50 ? "x-scan/2" : "") != 0)
			fail_msg("XYZ7abW at %zu: got '%s'", p, got);
		kist_id_result_free(r);
	}
	kist_identifier_free(id);
}

/* The span reported is the first byte sequence's in the file, although the
 * narrowest is tried first. */
static void test_span_of_first_sequence(void **state)
{
	struct fx *f = *state;
	const char *sigs =
		"<InternalSignature ID=\"1\">"
		"<ByteSequence>" SUB(0, 0, "50515253", "") "</ByteSequence>"
		"<ByteSequence" BOF ">" SUB(0, 0, "41", "") "</ByteSequence>"
		"</InternalSignature>\n";
	struct kist_identifier *id;
	struct kist_id_result *r;

	f->id = id = load(f, sigs, FMT(1), 0);
	r = kist_identify_buffer(id, "f", "A.....PQRS..", 12);
	assert_int_equal(r->nmatches, 1);
	assert_int_equal(r->matches[0].offset, 6);
	assert_int_equal(r->matches[0].end, 10);
	kist_id_result_free(r);
	r = kist_identify_buffer(id, "f", "B.....PQRS..", 12);
	assert_int_equal(r->nmatches, 0);
	kist_id_result_free(r);
	kist_identifier_free(id);
}

/* One file, handed over in one block (matched in place) or in blocks of
 * every size (copied into head and tail), gives the same answer. */
static void run(struct kist_identifier *id, const unsigned char *buf, size_t len, size_t block, char *out,
		size_t n)
{
	const struct kist_consumer *c = kist_identifier_consumer(id);
	void *st = c->open(c->arg, 0, "f", len);

	assert_non_null(st);
	for (size_t off = 0; off < len; off += block)
		c->update(st, buf + off, len - off < block ? len - off : block, off);
	c->close(st, 0);
	found(kist_id_result_of(st), out, n);
	if (kist_id_result_of(st)->nmatches)
		snprintf(out + strlen(out), n - strlen(out), " @%llu",
			 (unsigned long long)kist_id_result_of(st)->matches[0].offset);
	kist_id_result_free(st);
}

static void test_blocks(void **state)
{
	struct fx *f = *state;
	const char *sigs =
		SIG(1, BOF, SUB(0, 0, "4D4E", ""))
		SIG(2, EOF_, SUB(0, 0, "5A5A", ""))
		SIG(3, FLOAT, SUB(0, 0, "6D6964646C65", ""));
	size_t window = 1024, sizes[] = { 2, 700, 1024, 1025, 1500, 2048, 2049, 5000 };
	unsigned char *buf = malloc(5000);
	struct kist_identifier *id;

	f->id = id = load(f, sigs, FMT(1) FMT(2) FMT(3), window);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k];
		char one[128], many[128];

		memset(buf, '.', len);
		memcpy(buf, "MN", 2);
		memcpy(buf + len - 2, "ZZ", 2);
		if (len > 1200)
			memcpy(buf + len / 2, "middle", 6);   /* seen only when the file is whole */
		run(id, buf, len, len, one, sizeof(one));
		for (size_t block = 1; block < len; block = block * 3 + 1) {
			run(id, buf, len, block, many, sizeof(many));
			if (strcmp(one, many) != 0)
				fail_msg("%zu bytes: one block '%s', blocks of %zu '%s'", len, one, block, many);
		}
		/* the middle of a file over two windows is beyond DROID's window */
		if (len > 1200 && (strstr(one, "x-scan/3") != NULL) != (len <= 2 * window))
			fail_msg("%zu bytes: 'middle' %s", len, len <= 2 * window ? "not found" : "found");
	}
	/* a file that grows after its one block: a failure, no answer */
	{
		const struct kist_consumer *c = kist_identifier_consumer(id);
		void *st = c->open(c->arg, 0, "f", 4);

		c->update(st, (const unsigned char *)"MNZZ", 4, 0);
		c->update(st, (const unsigned char *)"more", 4, 4);
		c->close(st, 0);
		assert_true(kist_id_result_of(st)->failed);
		assert_int_equal(kist_id_result_of(st)->nmatches, 0);
		kist_id_result_free(st);
		/* and one the pipeline says failed */
		st = c->open(c->arg, 0, "f", 4);
		c->update(st, (const unsigned char *)"MNZZ", 4, 0);
		c->close(st, 1);
		assert_true(kist_id_result_of(st)->failed);
		assert_int_equal(kist_id_result_of(st)->nmatches, 0);
		kist_id_result_free(st);
	}
	kist_identifier_free(id);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_at_every_offset),
		cmocka_unit_test(test_guards),
		cmocka_unit_test(test_span_of_first_sequence),
		cmocka_unit_test(test_blocks),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
