/* Identification with DROID signature files: positions and offsets,
 * fragments, subsequences, priorities, survivors, extensions, hostile
 * signature files, the pipeline consumer and its window, containers. */
#include "unit.h"

#include <regex.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/identify.h>

#include "signature-file.h"


/* A signature: one ByteSequence with one SubSequence. */
#define BOF(id, min, max, seq)                                                                    \
	"<InternalSignature ID=\"" #id "\"><ByteSequence Reference=\"BOFoffset\">"                \
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"" #min "\" SubSeqMaxOffset=\"" #max "\">"  \
	"<Sequence>" seq "</Sequence></SubSequence></ByteSequence></InternalSignature>\n"
#define EOFS(id, min, max, seq)                                                                   \
	"<InternalSignature ID=\"" #id "\"><ByteSequence Reference=\"EOFoffset\">"                \
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"" #min "\" SubSeqMaxOffset=\"" #max "\">"  \
	"<Sequence>" seq "</Sequence></SubSequence></ByteSequence></InternalSignature>\n"
#define FMT(id, puid, sig, extra)                                                                 \
	"<FileFormat ID=\"" #id "\" Name=\"Test " puid "\" PUID=\"" puid "\" Version=\"1\">"      \
	"<InternalSignatureID>" #sig "</InternalSignatureID>" extra "</FileFormat>\n"

static const char *const TEST_SIGS =
	BOF(1, 4, 4, "CAFE")
	BOF(2, 0, 8, "BEEF")
	EOFS(3, 0, 2, "454E44")
	"<InternalSignature ID=\"4\"><ByteSequence><SubSequence Position=\"1\" SubSeqMinOffset=\"0\">"
	"<Sequence>4E454544</Sequence></SubSequence></ByteSequence></InternalSignature>\n"
	/* 5: [2 bytes] 11 ?? AA BB {0-2} CC ({1} DD | EEEE) */
	"<InternalSignature ID=\"5\"><ByteSequence Reference=\"BOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"2\" SubSeqMaxOffset=\"2\">"
	"<Sequence>AABB</Sequence>"
	"<LeftFragment MinOffset=\"1\" MaxOffset=\"1\" Position=\"1\">11</LeftFragment>"
	"<RightFragment MinOffset=\"0\" MaxOffset=\"2\" Position=\"1\">CC</RightFragment>"
	"<RightFragment MinOffset=\"1\" MaxOffset=\"1\" Position=\"2\">DD</RightFragment>"
	"<RightFragment MinOffset=\"0\" MaxOffset=\"0\" Position=\"2\">EEEE</RightFragment>"
	"</SubSequence></ByteSequence></InternalSignature>\n"
	/* 6: "QQ" at 0, then "RR" 2 to 4 bytes after it (the 4 does not bind) */
	"<InternalSignature ID=\"6\"><ByteSequence Reference=\"BOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>5151</Sequence></SubSequence>"
	"<SubSequence Position=\"2\" SubSeqMinOffset=\"2\" SubSeqMaxOffset=\"4\"><Sequence>5252</Sequence></SubSequence>"
	"</ByteSequence></InternalSignature>\n"
	/* 7: both a BOF and an EOF sequence */
	"<InternalSignature ID=\"7\"><ByteSequence Reference=\"BOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>7777</Sequence></SubSequence>"
	"</ByteSequence><ByteSequence Reference=\"EOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>8888</Sequence></SubSequence>"
	"</ByteSequence></InternalSignature>\n"
	BOF(8, 0, 0, "504B")
	BOF(9, 0, 0, "504B0304")
	BOF(10, 0, 0, "DDDD")
	BOF(11, 0, 0, "DDDD")
	/* 12: EOF "aa" {1-3} "bb", "bb" at the very end (the 3 does not bind) */
	"<InternalSignature ID=\"12\"><ByteSequence Reference=\"EOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"1\" SubSeqMaxOffset=\"3\"><Sequence>6161</Sequence></SubSequence>"
	"<SubSequence Position=\"2\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>6262</Sequence></SubSequence>"
	"</ByteSequence></InternalSignature>\n"
	/* 13: EOF "Y" {0-2} "ZZ" */
	"<InternalSignature ID=\"13\"><ByteSequence Reference=\"EOFoffset\">"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>5A5A</Sequence>"
	"<LeftFragment MinOffset=\"0\" MaxOffset=\"2\" Position=\"1\">59</LeftFragment></SubSequence>"
	"</ByteSequence></InternalSignature>\n"
	/* 14: floating "MM" starting 10 to 20 bytes in (the 20 does not bind) */
	"<InternalSignature ID=\"14\"><ByteSequence>"
	"<SubSequence Position=\"1\" SubSeqMinOffset=\"10\" SubSeqMaxOffset=\"20\"><Sequence>4D4D</Sequence></SubSequence>"
	"</ByteSequence></InternalSignature>\n"
	/* 15: syntax inside a DROID sequence: ranges and negations */
	BOF(15, 0, 0, "5858[30:39][!30:39]")
	/* 16, 17: offsets far beyond any file here */
	BOF(16, 90000000, 99999999, "41")
	EOFS(17, 99999999, 99999999, "42");

static const char *const TEST_FORMATS =
	FMT(101, "x-test/1", 1, "<Extension>cafe</Extension>")
	FMT(102, "x-test/2", 2, "")
	FMT(103, "x-test/3", 3, "")
	FMT(104, "x-test/4", 4, "")
	FMT(105, "x-test/5", 5, "")
	FMT(106, "x-test/6", 6, "")
	FMT(107, "x-test/7", 7, "")
	FMT(108, "x-test/8", 8, "")
	FMT(109, "x-test/9", 9, "<HasPriorityOverFileFormatID>108</HasPriorityOverFileFormatID>")
	FMT(110, "x-test/10", 10, "")
	FMT(111, "x-test/11", 11, "")
	FMT(112, "x-test/12", 12, "")
	FMT(113, "x-test/13", 13, "")
	FMT(114, "x-test/14", 14, "")
	FMT(115, "x-test/15", 15, "")
	FMT(116, "x-test/16", 16, "")
	FMT(117, "x-test/17", 17, "")
	"<FileFormat ID=\"200\" Name=\"Extension only\" PUID=\"x-test/ext\"><Extension>fext</Extension></FileFormat>\n";

struct fx {
	char *dir;
	struct kist_identifier *id;
	struct kist_findings *fs;
};

static struct kist_identifier *load_text(struct fx *f, const char *name, const char *xml, size_t window)
{
	struct kist_identify_options o;
	struct kist_error err;
	char *path = kist_path_join(f->dir, name);

	unit_write(f->dir, name, xml, strlen(xml));
	kist_identify_options_init(&o);
	o.signature_file = path;
	o.container_file = "";
	o.no_magic = 1;
	o.window = window;
	f->id = kist_identifier_load(&o, f->fs, &err);
	if (!f->id)
		print_message("# load: %s\n", err.message);
	free(path);
	return f->id;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *xml = NULL;

	f->dir = unit_tmpdir();
	f->fs = kist_findings_new();
	assert_true(asprintf(&xml, "%s%s%s%s%s", SIG_HEAD, TEST_SIGS, SIG_MID, TEST_FORMATS, SIG_TAIL) > 0);
	assert_non_null(load_text(f, "sigs.xml", xml, 0));
	free(xml);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	kist_identifier_free(f->id);
	kist_findings_free(f->fs);
	unit_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* The PUIDs found, in order, comma-separated ("" for unknown). */
static const char *puids(struct kist_identifier *id, const char *name, const void *buf, size_t len)
{
	static char out[512];
	struct kist_id_result *r = kist_identify_buffer(id, name, buf, len);

	assert_non_null(r);
	out[0] = 0;
	for (size_t i = 0; i < r->nmatches; i++) {
		if (i)
			strcat(out, ",");
		strncat(out, r->matches[i].puid, sizeof(out) - strlen(out) - 2);
	}
	kist_id_result_free(r);
	return out;
}

#define ID(buf) puids(f->id, "file", buf, sizeof(buf) - 1)

static void test_loaded(void **state)
{
	struct fx *f = *state;

	assert_int_equal(kist_identifier_format_count(f->id), 18);
	assert_string_equal(kist_identifier_signature_version(f->id), "7");
	assert_int_equal(kist_findings_count(f->fs), 0);
}

static void test_bof_offset(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("\1\2\3\4\xCA\xFE\1\1"), "x-test/1");
	assert_string_equal(ID("\1\2\3\xCA\xFE\1\1\1"), "");
	assert_string_equal(ID("\1\2\3\4\5\xCA\xFE\1"), "");
	assert_string_equal(ID("\1\2\3\4\xCA"), "");        /* shorter than the offset */
}

static void test_bof_range(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("\xBE\xEF"), "x-test/2");
	assert_string_equal(ID("\0\0\0\0\0\0\0\0\xBE\xEF"), "x-test/2");
	assert_string_equal(ID("\0\0\0\0\0\0\0\0\0\xBE\xEF"), "");
}

static void test_huge_offsets(void **state)
{
	struct fx *f = *state;
	char buf[5000];

	/* a file shorter than the offsets: no match, nothing read out of bounds */
	memset(buf, 'A', sizeof(buf));
	assert_string_equal(puids(f->id, "f", buf, sizeof(buf)), "");
	memset(buf, 'B', sizeof(buf));
	assert_string_equal(puids(f->id, "f", buf, sizeof(buf)), "");
	assert_string_equal(puids(f->id, "f", "A", 1), "");
}

static void test_eof(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("\1\1\1\1\1\1\1END"), "x-test/3");
	assert_string_equal(ID("\1\1\1\1\1\1\1END\1\1"), "x-test/3");
	assert_string_equal(ID("\1\1\1\1\1\1\1END\1\1\1"), "");
	assert_string_equal(ID("END"), "x-test/3");
}

static void test_variable(void **state)
{
	struct fx *f = *state;
	char buf[4000];

	memset(buf, '.', sizeof(buf));
	assert_string_equal(puids(f->id, "f", buf, sizeof(buf)), "");
	memcpy(buf + 3000, "NEED", 4);
	assert_string_equal(puids(f->id, "f", buf, sizeof(buf)), "x-test/4");
	/* floating with offsets: MM must start at least 10 bytes in */
	memset(buf, '.', sizeof(buf));
	memcpy(buf + 15, "MM", 2);
	assert_string_equal(puids(f->id, "f", buf, 40), "x-test/14");
	/* a floating sequence is not held to its SubSeqMaxOffset (DROID scans
	 * the whole window for it), only to its minimum */
	memset(buf, '.', sizeof(buf));
	memcpy(buf + 30, "MM", 2);
	assert_string_equal(puids(f->id, "f", buf, 40), "x-test/14");
	memset(buf, '.', sizeof(buf));
	memcpy(buf + 9, "MM", 2);
	assert_string_equal(puids(f->id, "f", buf, 40), "");
}

static void test_fragments(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("xx\x11y\xAA\xBB\xCC\x00\xDD"), "x-test/5");
	assert_string_equal(ID("xx\x11y\xAA\xBBzz\xCC\xEE\xEE"), "x-test/5");
	/* the left fragment is missing, or one byte too far */
	assert_string_equal(ID("xx\x12y\xAA\xBB\xCC\x00\xDD"), "");
	assert_string_equal(ID("x\x11yy\xAA\xBB\xCC\x00\xDD"), "");
	/* the chain must start at offset 2 exactly */
	assert_string_equal(ID("xxx\x11y\xAA\xBB\xCC\x00\xDD"), "");
	/* the first right fragment 3 bytes away (max 2) */
	assert_string_equal(ID("xx\x11y\xAA\xBBzzz\xCC\x00\xDD"), "");
	/* neither alternative at the second right position */
	assert_string_equal(ID("xx\x11y\xAA\xBB\xCC\xDD"), "");
	assert_string_equal(ID("xx\x11y\xAA\xBB\xCC\x00\xEE\xEE"), "");
}

static void test_subsequences(void **state)
{
	struct fx *f = *state;

	/* "RR" at least 2 bytes after "QQ": the second subsequence's maximum
	 * does not bind (DROID: only the first subsequence of a BOF sequence
	 * has a bounded window) */
	assert_string_equal(ID("QQxxRR"), "x-test/6");
	assert_string_equal(ID("QQxxxxRR"), "x-test/6");
	assert_string_equal(ID("QQxRR"), "");
	assert_string_equal(ID("QQxxxxxxxxxxRR"), "x-test/6");
	assert_string_equal(ID("xQQxxRR"), "");
	/* EOF: "bb" at the very end (bound: 0-0), "aa" at least 1 byte before */
	assert_string_equal(ID("..aaxbb"), "x-test/12");
	assert_string_equal(ID("..aaxxxbb"), "x-test/12");
	assert_string_equal(ID("..aabb"), "");
	assert_string_equal(ID("aaxxxxxxxbb"), "x-test/12");
	assert_string_equal(ID("..aaxbb."), "");
	/* EOF with a left fragment */
	assert_string_equal(ID("...YxZZ"), "x-test/13");
	assert_string_equal(ID("...YZZ"), "x-test/13");
	assert_string_equal(ID("...YxxxZZ"), "");
}

static void test_all_sequences(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("ww...\x88\x88"), "x-test/7");
	assert_string_equal(ID("ww....."), "");
	assert_string_equal(ID("....\x88\x88"), "");
}

static void test_syntax_in_signature(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("XX5a"), "x-test/15");
	assert_string_equal(ID("XX55"), "");
	assert_string_equal(ID("XXa5"), "");
}

static void test_priority(void **state)
{
	struct fx *f = *state;

	assert_string_equal(ID("PK\3\4...."), "x-test/9");
	assert_string_equal(ID("PK\5\6...."), "x-test/8");
}

static void test_several_survivors(void **state)
{
	struct fx *f = *state;
	struct kist_id_result *r = kist_identify_buffer(f->id, "f", "\xDD\xDD", 2);
	int multiple = 0;

	assert_int_equal(r->nmatches, 2);
	assert_true((strcmp(r->matches[0].puid, "x-test/10") == 0 && strcmp(r->matches[1].puid, "x-test/11") == 0) ||
		    (strcmp(r->matches[0].puid, "x-test/11") == 0 && strcmp(r->matches[1].puid, "x-test/10") == 0));
	for (size_t i = 0; i < r->nwarnings; i++)
		multiple |= strcmp(r->warnings[i].code, "identify.multiple") == 0;
	assert_true(multiple);
	kist_id_result_free(r);
}

static int has_warning(const struct kist_id_result *r, const char *code)
{
	for (size_t i = 0; i < r->nwarnings; i++)
		if (strcmp(r->warnings[i].code, code) == 0)
			return 1;
	return 0;
}

static void test_extensions(void **state)
{
	struct fx *f = *state;
	struct kist_id_result *r;

	/* extension only for a format with no signature, flagged */
	r = kist_identify_buffer(f->id, "dir/notes.FEXT", "hello", 5);
	assert_int_equal(r->nmatches, 1);
	assert_string_equal(r->matches[0].puid, "x-test/ext");
	assert_int_equal(r->matches[0].basis, KIST_ID_EXTENSION);
	assert_true(has_warning(r, "identify.extension-only"));
	kist_id_result_free(r);
	/* not when a signature matched something else */
	r = kist_identify_buffer(f->id, "x.fext", "\1\2\3\4\xCA\xFE", 6);
	assert_int_equal(r->nmatches, 1);
	assert_string_equal(r->matches[0].puid, "x-test/1");
	assert_int_equal(r->matches[0].basis, KIST_ID_SIGNATURE);
	assert_true(has_warning(r, "identify.extension-mismatch"));
	assert_int_equal(r->matches[0].offset, 4);
	assert_int_equal(r->matches[0].end, 6);
	assert_non_null(strstr(r->matches[0].basis_text, "signature 1 at 4-6"));
	kist_id_result_free(r);
	r = kist_identify_buffer(f->id, "x.cafe", "\1\2\3\4\xCA\xFE", 6);
	assert_false(has_warning(r, "identify.extension-mismatch"));
	kist_id_result_free(r);
	/* unknown: no match, no extension format */
	r = kist_identify_buffer(f->id, "x.zzz", "hello", 5);
	assert_int_equal(r->nmatches, 0);
	kist_id_result_free(r);
	/* zero-length */
	r = kist_identify_buffer(f->id, "x.fext", "", 0);
	assert_int_equal(r->nmatches, 0);
	assert_true(has_warning(r, "identify.empty"));
	kist_id_result_free(r);
}


/* --- random DROID signatures against POSIX regular expressions ---------------------- */

static unsigned rstate = 1618033;

static unsigned rnd(unsigned n)
{
	rstate = rstate * 1103515245u + 12345u;
	return (rstate >> 16) % n;
}

/* a literal of 1-2 bytes from A-D: hex for the XML, characters for the regex */
static void lit(char *hex, char *re)
{
	int n = 1 + (int)rnd(2);

	for (int i = 0; i < n; i++) {
		int c = 'A' + (int)rnd(4);

		sprintf(hex + strlen(hex), "%02X", c);
		sprintf(re + strlen(re), "%c", c);
	}
}

static void gap(char *re, unsigned min, unsigned max)
{
	sprintf(re + strlen(re), ".{%u,%u}", min, max);
}

/* One subsequence: its XML (Position pos) and the regex of its chain. */
static void random_sub(int pos, char *xml, char *chain, unsigned *min, unsigned *max)
{
	char anchor_hex[16] = "", anchor_re[16] = "", left_re[256] = "", right_re[256] = "", frags[1024] = "";
	int nl = (int)rnd(3), nr = (int)rnd(3);

	*min = rnd(3);
	*max = *min + rnd(3);
	lit(anchor_hex, anchor_re);
	/* left positions 1..nl (1 next to the anchor), right 1..nr */
	for (int side = 0; side < 2; side++) {
		int npos = side ? nr : nl;
		char *out = side ? right_re : left_re;

		for (int p = 1; p <= npos; p++) {
			int nalt = 1 + (int)rnd(2);
			char group[256] = "(";

			for (int a = 0; a < nalt; a++) {
				char fh[16] = "", fr[16] = "";
				unsigned fmin = rnd(3), fmax = fmin + rnd(2);

				lit(fh, fr);
				sprintf(frags + strlen(frags),
					"<%sFragment MinOffset=\"%u\" MaxOffset=\"%u\" Position=\"%d\">%s</%sFragment>",
					side ? "Right" : "Left", fmin, fmax, p, fh, side ? "Right" : "Left");
				if (a)
					strcat(group, "|");
				if (side) {
					gap(group, fmin, fmax);
					strcat(group, fr);
				} else {
					strcat(group, fr);
					gap(group, fmin, fmax);
				}
			}
			strcat(group, ")");
			if (side) {
				strcat(out, group);          /* further right */
			} else {
				char tmp[256];

				snprintf(tmp, sizeof(tmp), "%s%s", group, out);   /* further left */
				strcpy(out, tmp);
			}
		}
	}
	sprintf(xml, "<SubSequence Position=\"%d\" SubSeqMinOffset=\"%u\" SubSeqMaxOffset=\"%u\">"
		"<Sequence>%s</Sequence>%s</SubSequence>", pos, *min, *max, anchor_hex, frags);
	sprintf(chain, "%s%s%s", left_re, anchor_re, right_re);
}

/* One signature of 1-2 byte sequences of 1-2 subsequences each; its regexes
 * (one per byte sequence, all must match) go to res[]. As DROID has it, only
 * the subsequence matched first in a BOF (EOF) sequence is held to its
 * maximum offset; the others, and floating ones, only to their minimum. */
static int random_sig(int id, char *xml, char res[][1024], int multi)
{
	int nseq = 1 + (int)rnd(2);

	sprintf(xml + strlen(xml), "<InternalSignature ID=\"%d\">", id);
	for (int q = 0; q < nseq; q++) {
		int ref = (int)rnd(3), nsub = multi ? 1 + (int)rnd(2) : 1;   /* BOF, EOF, floating */
		char *re = res[q], sub[2][2048], chain[2][600];
		unsigned min[2], max[2];

		for (int k = 0; k < nsub; k++)
			random_sub(k + 1, sub[k], chain[k], &min[k], &max[k]);
		re[0] = 0;
		if (ref == 1) {
			for (int k = 0; k < nsub; k++) {
				strcat(re, chain[k]);
				if (k == nsub - 1)
					sprintf(re + strlen(re), ".{%u,%u}$", min[k], max[k]);
				else
					sprintf(re + strlen(re), ".{%u,}", min[k]);
			}
		} else {
			strcat(re, "^");
			for (int k = 0; k < nsub; k++) {
				if (k == 0 && ref == 0)
					sprintf(re + strlen(re), ".{%u,%u}", min[k], max[k]);
				else
					sprintf(re + strlen(re), ".{%u,}", min[k]);
				strcat(re, chain[k]);
			}
		}
		sprintf(xml + strlen(xml), "<ByteSequence%s>", ref == 0 ? " Reference=\"BOFoffset\""
							      : ref == 1 ? " Reference=\"EOFoffset\"" : "");
		for (int k = 0; k < nsub; k++)
			strcat(xml, sub[k]);
		strcat(xml, "</ByteSequence>");
	}
	strcat(xml, "</InternalSignature>\n");
	return nseq;
}

static void random_signatures(void **state, int multi)
{
	enum { NSIGS = 300, TEXTS = 400 };
	struct fx *f = *state;
	struct fx g = { .dir = f->dir };
	char *xml = calloc(1, NSIGS * 16384), *formats = calloc(1, NSIGS * 200);
	static char res[NSIGS][2][1024];
	static regex_t rx[NSIGS][2];
	int nseq[NSIGS], hits = 0;

	strcpy(xml, SIG_HEAD);
	for (int i = 0; i < NSIGS; i++) {
		nseq[i] = random_sig(i + 1, xml, res[i], multi);
		for (int q = 0; q < nseq[i]; q++)
			if (regcomp(&rx[i][q], res[i][q], REG_EXTENDED | REG_NOSUB) != 0)
				fail_msg("bad regex %s", res[i][q]);
		sprintf(formats + strlen(formats), FMT(%d, "x-r/%d", %d, ""), i + 1, i + 1, i + 1, i + 1);
	}
	strcat(xml, SIG_MID);
	strcat(xml, formats);
	strcat(xml, SIG_TAIL);
	g.fs = kist_findings_new();
	assert_non_null(load_text(&g, "random.xml", xml, 0));
	assert_int_equal(kist_findings_count(g.fs), 0);
	for (int t = 0; t < TEXTS; t++) {
		char text[24];
		size_t len = rnd(20);
		struct kist_id_result *r;
		unsigned char want[NSIGS] = { 0 }, got[NSIGS] = { 0 };

		for (size_t i = 0; i < len; i++)
			text[i] = (char)('A' + rnd(4));
		text[len] = 0;
		for (int i = 0; i < NSIGS; i++) {
			want[i] = 1;
			for (int q = 0; q < nseq[i]; q++)
				want[i] &= regexec(&rx[i][q], text, 0, NULL, 0) == 0;
		}
		r = kist_identify_buffer(g.id, "t", text, len);
		for (size_t m = 0; m < r->nmatches; m++)
			got[atoi(r->matches[m].puid + 4) - 1] = 1;
		kist_id_result_free(r);
		for (int i = 0; i < NSIGS; i++) {
			if (want[i] != got[i])
				fail_msg("signature %d on '%s': kist %d, regex %d (%s / %s)", i + 1, text, got[i], want[i],
					 res[i][0], nseq[i] > 1 ? res[i][1] : "");
			hits += got[i];
		}
	}
	print_message("# %d matches of %d random signatures (%s) on %d random strings, all as the regexes say\n",
		      hits, NSIGS, multi ? "several subsequences" : "one subsequence", TEXTS);
	assert_true(hits > 100);
	for (int i = 0; i < NSIGS; i++)
		for (int q = 0; q < nseq[i]; q++)
			regfree(&rx[i][q]);
	kist_identifier_free(g.id);
	kist_findings_free(g.fs);
	free(xml);
	free(formats);
}

static void test_random_signatures(void **state)
{
	random_signatures(state, 0);
}

static void test_random_subsequences(void **state)
{
	random_signatures(state, 1);
}

/* --- hostile and malformed signature files ------------------------------------------ */

static void test_bad_files(void **state)
{
	struct fx *f = *state;
	struct fx g = { .dir = f->dir };
	struct kist_identify_options o;
	struct kist_error err;

	/* entity tricks: a DOCTYPE is refused outright */
	g.fs = kist_findings_new();
	assert_null(load_text(&g, "laughs.xml",
			      "<?xml version=\"1.0\"?>\n<!DOCTYPE FFSignatureFile [\n"
			      "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
			      "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
			      "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
			      "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n]>\n"
			      "<FFSignatureFile><InternalSignatureCollection/><FileFormatCollection>"
			      "<FileFormat ID=\"1\" PUID=\"&d;\" Name=\"&d;\"/></FileFormatCollection></FFSignatureFile>\n",
			      0));
	assert_null(load_text(&g, "xxe.xml",
			      "<?xml version=\"1.0\"?>\n<!DOCTYPE FFSignatureFile [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
			      "<FFSignatureFile><FileFormatCollection><FileFormat ID=\"1\" PUID=\"&x;\"/>"
			      "</FileFormatCollection></FFSignatureFile>\n",
			      0));
	/* not XML, the wrong document, a missing file */
	assert_null(load_text(&g, "junk.xml", "this is not xml <<<", 0));
	assert_null(load_text(&g, "other.xml", "<?xml version=\"1.0\"?><html/>", 0));
	kist_identify_options_init(&o);
	o.signature_file = "/nonexistent/DROID.xml";
	o.container_file = "";
	o.no_magic = 1;
	assert_null(kist_identifier_load(&o, NULL, &err));
	assert_non_null(strstr(err.message, "/nonexistent/DROID.xml"));
	kist_findings_free(g.fs);
}

static void test_bad_signatures(void **state)
{
	struct fx *f = *state;
	struct fx g = { .dir = f->dir };
	char *xml = NULL, *many = calloc(1, 40 * 400);

	for (int i = 0; i < 40; i++)
		sprintf(many + strlen(many), BOF(%d, 0, 0, "ZZ"), 1000 + i);
	assert_true(asprintf(&xml,
			     "%s" BOF(1, 0, 0, "4G")
			     BOF(2, 0, 99999999999, "41")
			     BOF(3, 0, -4, "41")
			     "<InternalSignature ID=\"4\"><ByteSequence Reference=\"BOFoffset\">"
			     "<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>41</Sequence>"
			     "<RightFragment MinOffset=\"0\" MaxOffset=\"0\" Position=\"2\">42</RightFragment>"
			     "</SubSequence></ByteSequence></InternalSignature>\n"
			     "<InternalSignature ID=\"5\"><ByteSequence Reference=\"Sideways\">"
			     "<SubSequence Position=\"1\"><Sequence>41</Sequence></SubSequence></ByteSequence></InternalSignature>\n"
			     "<InternalSignature ID=\"6\"><ByteSequence Reference=\"BOFoffset\">"
			     "<SubSequence Position=\"1\" SubSeqMinOffset=\"0\" SubSeqMaxOffset=\"0\"><Sequence>4F4B</Sequence>"
			     "<LeftFragment MinOffset=\"999999999999\" MaxOffset=\"0\" Position=\"1\">42</LeftFragment>"
			     "</SubSequence></ByteSequence></InternalSignature>\n"
			     BOF(7, 0, 0, "4F4B") "%s" SIG_MID
			     FMT(1, "x-bad/1", 1, "") FMT(2, "x-bad/2", 2, "") FMT(3, "x-bad/3", 3, "")
			     FMT(4, "x-bad/4", 4, "") FMT(5, "x-bad/5", 5, "") FMT(6, "x-bad/6", 6, "")
			     FMT(7, "x-ok/7", 7, "") FMT(8, "x-bad/8", 999, "") SIG_TAIL,
			     SIG_HEAD, many) > 0);
	g.fs = kist_findings_new();
	assert_non_null(load_text(&g, "bad.xml", xml, 0));
	/* what is left works */
	assert_string_equal(puids(g.id, "f", "OK", 2), "x-ok/7");
	assert_string_equal(puids(g.id, "f", "AB", 2), "");
	assert_true(kist_findings_has(g.fs, "signature.invalid"));
	/* findings are bounded: 20 and a summary, not one per bad signature */
	assert_int_equal(kist_findings_count(g.fs), 21);
	for (size_t i = 0; i < 6; i++) {
		const struct kist_finding *fi = kist_findings_get(g.fs, i);

		assert_int_equal(fi->severity, KIST_SEV_WARNING);
		print_message("# %s\n", fi->message);
	}
	kist_identifier_free(g.id);
	kist_findings_free(g.fs);
	free(xml);
	free(many);
}


/* Patterns that backtrack without end: each signature and each file have a
 * budget of steps; the file is reported incomplete, in bounded time. */
static void test_costly_signatures(void **state)
{
	struct fx *f = *state;
	struct fx g = { .dir = f->dir };
	char *xml = calloc(1, 64 * 1024), *fmts = calloc(1, 64 * 200);
	size_t len = 1 << 16;
	char *buf = malloc(len);
	struct kist_id_result *r;
	struct timespec t0, t1;

	strcpy(xml, SIG_HEAD);
	for (int i = 1; i <= 60; i++) {
		sprintf(xml + strlen(xml),
			"<InternalSignature ID=\"%d\"><ByteSequence><SubSequence Position=\"1\" SubSeqMinOffset=\"0\">"
			"<Sequence>41</Sequence><RightFragment MinOffset=\"0\" MaxOffset=\"0\" Position=\"1\">"
			"{0-*}41{0-*}41{0-*}(43|41{0-*}44)</RightFragment></SubSequence></ByteSequence></InternalSignature>\n",
			i);
		sprintf(fmts + strlen(fmts), FMT(%d, "x-slow/%d", %d, ""), i, i, i, i);
	}
	strcat(xml, SIG_MID);
	strcat(xml, fmts);
	strcat(xml, SIG_TAIL);
	g.fs = kist_findings_new();
	assert_non_null(load_text(&g, "slow.xml", xml, 0));
	memset(buf, 'A', len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = kist_identify_buffer(g.id, "a", buf, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("# 60 costly signatures on 64 KiB: %.2f s\n",
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_int_equal(r->nmatches, 0);
	assert_int_equal(r->nwarnings, 1);
	assert_string_equal(r->warnings[0].code, "identify.incomplete");
	kist_id_result_free(r);
	kist_identifier_free(g.id);
	kist_findings_free(g.fs);
	free(xml);
	free(fmts);
	free(buf);
}

/* --- the real PRONOM file ------------------------------------------------------------- */

static struct kist_identifier *load_real(struct kist_findings *fs, int containers, size_t window)
{
	struct kist_identify_options o;
	struct kist_error err;
	struct kist_identifier *id;

	kist_identify_options_init(&o);
	o.signature_file = KIST_TEST_DATADIR "/pronom/DROID_SignatureFile_V118.xml";
	o.container_file = containers ? KIST_TEST_DATADIR "/pronom/container-signature-20240501.xml" : "";
	o.no_magic = 1;
	o.window = window;
	id = kist_identifier_load(&o, fs, &err);
	if (!id)
		print_message("# %s\n", err.message);
	assert_non_null(id);
	return id;
}

static size_t png(unsigned char *out, const char *extra_chunk)
{
	static const unsigned char head[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x02\0\0\0\x90\x77\x53\xde";
	static const unsigned char tail[] = "\0\0\0\x0cIDAT\x08\xd7\x63\xf8\xcf\xc0\0\0\x03\x01\x01\0\x18\xdd\x8d\xb0"
					    "\0\0\0\0IEND\xae\x42\x60\x82";
	size_t n = 0;

	memcpy(out, head, sizeof(head) - 1);
	n += sizeof(head) - 1;
	if (extra_chunk) {
		memcpy(out + n, "\0\0\0\1", 4);
		memcpy(out + n + 4, extra_chunk, 4);
		memcpy(out + n + 8, "\0\0\0\0\0", 5);   /* one data byte, a CRC */
		n += 13;
	}
	memcpy(out + n, tail, sizeof(tail) - 1);
	return n + sizeof(tail) - 1;
}

static void test_real_file(void **state)
{
	struct kist_findings *fs = kist_findings_new();
	struct timespec t0, t1;
	struct kist_identifier *id;
	unsigned char buf[256];
	static const char pdf[] = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	id = load_real(fs, 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("# loading V118 and the container file took %.3f s, %zu formats\n", secs,
		      kist_identifier_format_count(id));
	assert_true(secs < 2.0);   /* 0.5 s is the target; sanitizer builds are slower */
	assert_true(kist_identifier_format_count(id) > 2000);
	assert_string_equal(kist_identifier_signature_version(id), "118");
	assert_string_equal(kist_identifier_container_version(id), "37");
	if (kist_findings_count(fs))
		print_message("# first finding: %s\n", kist_findings_get(fs, 0)->message);

	/* PNG: 1.0 by default; an sRGB chunk makes it 1.1, iTXt 1.2, each
	 * outranking the earlier version (HasPriorityOverFileFormatID) */
	assert_string_equal(puids(id, "a.png", buf, png(buf, NULL)), "fmt/11");
	assert_string_equal(puids(id, "a.png", buf, png(buf, "sRGB")), "fmt/12");
	assert_string_equal(puids(id, "a.png", buf, png(buf, "iTXt")), "fmt/13");
	assert_string_equal(puids(id, "a.pdf", pdf, sizeof(pdf) - 1), "fmt/18");
	/* a PNG cut short has no IEND: not a PNG by PRONOM's rules */
	assert_string_equal(puids(id, "a.png", buf, 30), "");
	kist_identifier_free(id);
	kist_findings_free(fs);
}

/* --- containers ------------------------------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void dirent(unsigned char *d, const char *name, int type, uint32_t left, uint32_t right,
		   uint32_t child, uint32_t start, uint32_t size)
{
	size_t n = strlen(name);

	memset(d, 0, 128);
	for (size_t i = 0; i < n; i++)
		d[2 * i] = (unsigned char)name[i];
	d[64] = (unsigned char)(2 * n + 2);
	d[66] = (unsigned char)type;
	d[67] = 1;
	put32(d + 68, left);
	put32(d + 72, right);
	put32(d + 76, child);
	put32(d + 116, start);
	put32(d + 120, size);
}

/* A version 3 compound file holding two small streams in the mini stream. */
static size_t make_cfb(unsigned char *out, const char *n1, const void *d1, size_t l1, const char *n2,
		       const void *d2, size_t l2)
{
	static const unsigned char magic[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
	size_t m1 = (l1 + 63) / 64, m2 = (l2 + 63) / 64, mini = (m1 + m2) * 64, msec = (mini + 511) / 512;
	unsigned char *fat = out + 512, *dir = out + 1024, *minifat = out + 1536, *ms = out + 2048;

	memset(out, 0, 2048 + msec * 512);
	memcpy(out, magic, 8);
	out[0x18] = 0x3E;
	out[0x1A] = 3;
	out[0x1C] = 0xFE;
	out[0x1D] = 0xFF;
	out[0x1E] = 9;
	out[0x20] = 6;
	put32(out + 0x2C, 1);            /* FAT sectors */
	put32(out + 0x30, 1);            /* first directory sector */
	put32(out + 0x38, 4096);         /* mini stream cutoff */
	put32(out + 0x3C, 2);            /* first mini FAT sector */
	put32(out + 0x40, 1);
	put32(out + 0x44, 0xFFFFFFFE);
	put32(out + 0x4C, 0);            /* DIFAT[0]: the FAT is sector 0 */
	for (int i = 1; i < 109; i++)
		put32(out + 0x4C + 4 * i, 0xFFFFFFFF);
	for (int i = 0; i < 128; i++)
		put32(fat + 4 * i, 0xFFFFFFFF);
	put32(fat, 0xFFFFFFFD);
	put32(fat + 4, 0xFFFFFFFE);
	put32(fat + 8, 0xFFFFFFFE);
	for (size_t i = 0; i < msec; i++)
		put32(fat + 4 * (3 + i), i + 1 < msec ? (uint32_t)(4 + i) : 0xFFFFFFFE);
	for (int i = 0; i < 128; i++)
		put32(minifat + 4 * i, 0xFFFFFFFF);
	for (size_t i = 0; i < m1; i++)
		put32(minifat + 4 * i, i + 1 < m1 ? (uint32_t)(i + 1) : 0xFFFFFFFE);
	for (size_t i = 0; i < m2; i++)
		put32(minifat + 4 * (m1 + i), i + 1 < m2 ? (uint32_t)(m1 + i + 1) : 0xFFFFFFFE);
	memcpy(ms, d1, l1);
	memcpy(ms + m1 * 64, d2, l2);
	dirent(dir, "Root Entry", 5, 0xFFFFFFFF, 0xFFFFFFFF, 1, 3, (uint32_t)mini);
	dirent(dir + 128, n1, 2, 0xFFFFFFFF, 2, 0xFFFFFFFF, 0, (uint32_t)l1);
	dirent(dir + 256, n2, 2, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, (uint32_t)m1, (uint32_t)l2);
	for (int i = 3; i < 4; i++)
		dirent(dir + 128 * i, "", 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0);
	return 2048 + msec * 512;
}

static size_t make_zip(unsigned char *out, size_t cap, const char *const *names, const char *const *bodies,
		       size_t n)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(bodies[i]));
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, bodies[i], strlen(bodies[i])), (la_ssize_t)strlen(bodies[i]));
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

static void test_containers(void **state)
{
	struct kist_identifier *id = load_real(NULL, 1, 0);
	unsigned char *buf = malloc(1 << 16), *copy = malloc(1 << 16);
	unsigned char compobj[120] = { 0 };
	unsigned char workbook[64] = { 0x09, 0x08, 0x10, 0x00, 0x00, 0x06, 0x05, 0x00 };
	const char *const docx_names[] = { "[Content_Types].xml", "_rels/.rels", "word/document.xml" };
	const char *const docx_bodies[] = {
		"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
		"<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument."
		"wordprocessingml.document.main+xml\"/></Types>",
		"<Relationships/>", "<w:document/>"
	};
	const char *const zip_names[] = { "readme.txt" };
	const char *const zip_bodies[] = { "just a zip" };
	unsigned seed = 12345;
	size_t len;

	/* Word 97: WordDocument and CompObj naming Word.Document.8 */
	memcpy(compobj + 40, "\x10\0\0\0Word.Document.8", 19);
	len = make_cfb(buf, "WordDocument", "\xEC\xA5\xC1\0", 4, "\1CompObj", compobj, sizeof(compobj));
	assert_string_equal(puids(id, "a.doc", buf, len), "fmt/40");
	/* Excel 97: a Workbook stream starting with a BIFF8 BOF record */
	len = make_cfb(buf, "Workbook", workbook, sizeof(workbook), "\5SummaryInformation", "x", 1);
	assert_string_equal(puids(id, "a.xls", buf, len), "fmt/61");
	/* any other OLE2 stays OLE2 (fmt/111) */
	len = make_cfb(buf, "Something", "abc", 3, "Else", "def", 3);
	assert_string_equal(puids(id, "a.ole", buf, len), "fmt/111");
	/* damaged OLE2: flipped bytes anywhere never crash, every result is sane */
	len = make_cfb(buf, "WordDocument", "\xEC\xA5\xC1\0", 4, "\1CompObj", compobj, sizeof(compobj));
	for (int round = 0; round < 3000; round++) {
		struct kist_id_result *r;

		memcpy(copy, buf, len);
		for (int k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;

			seed = seed * 1103515245u + 12345u;
			copy[at < 8 ? 8 : at] = (unsigned char)(seed >> 16);
		}
		r = kist_identify_buffer(id, "fuzz.doc", copy, len);
		assert_non_null(r);
		assert_true(r->nmatches <= 8);
		kist_id_result_free(r);
	}

	/* DOCX: a ZIP whose [Content_Types].xml names a Word main part */
	len = make_zip(buf, 1 << 16, docx_names, docx_bodies, 3);
	assert_string_equal(puids(id, "a.docx", buf, len), "fmt/412");
	len = make_zip(buf, 1 << 16, zip_names, zip_bodies, 1);
	assert_string_equal(puids(id, "a.zip", buf, len), "x-fmt/263");
	/* truncated DOCX: read through its local headers, or reported damaged */
	len = make_zip(buf, 1 << 16, docx_names, docx_bodies, 3);
	for (size_t cut = 30; cut < len; cut += 7) {
		struct kist_id_result *r = kist_identify_buffer(id, "cut.docx", buf, cut);

		assert_non_null(r);
		kist_id_result_free(r);
	}
	/* a ZIP of 300 entries all named [Content_Types].xml, 200 KB each:
	 * only the first is kept, the rest are listed, not read */
	{
		size_t cap = 8 << 20, big = 200000;
		unsigned char *zbuf = malloc(cap);
		char *body = malloc(big + 1);
		const char **names = calloc(300, sizeof(*names)), **bodies = calloc(300, sizeof(*bodies));
		struct kist_id_result *r;

		memset(body, ' ', big);
		memcpy(body, docx_bodies[0], strlen(docx_bodies[0]));
		body[big] = 0;
		for (int i = 0; i < 300; i++) {
			names[i] = "[Content_Types].xml";
			bodies[i] = i == 0 ? body : "x";
		}
		names[299] = "word/document.xml";
		len = make_zip(zbuf, cap, names, bodies, 300);
		r = kist_identify_buffer(id, "many.docx", zbuf, len);
		assert_int_equal(r->nmatches, 1);
		assert_string_equal(r->matches[0].puid, "fmt/412");
		kist_id_result_free(r);
		free(zbuf);
		free(body);
		free(names);
		free(bodies);
	}
	free(buf);
	free(copy);
	kist_identifier_free(id);
}

/* --- the pipeline consumer and its window ------------------------------------------------- */

struct got {
	char puid[8][64];
	int failed[8];
	unsigned char sha[8][64];
};

static int collect(void *ctx, const struct kist_hash_result *r)
{
	struct got *g = ctx;
	const struct kist_id_result *ir = kist_id_result_of(r->consumer_state);

	assert_true(r->index < 8);
	g->failed[r->index] = r->fail_code != NULL;
	if (ir && ir->nmatches)
		snprintf(g->puid[r->index], sizeof(g->puid[0]), "%s", ir->matches[0].puid);
	memcpy(g->sha[r->index], r->digest[KIST_ALG_SHA256], 32);
	kist_id_result_free(r->consumer_state);
	return 0;
}

static void run_consumer(struct fx *f, struct kist_identifier *id, kist_algset algs, unsigned jobs,
			 struct got *g)
{
	static const char *const names[] = { "big.bin", "mid.bin", "empty.bin", "small.bin", "late.bin", "gone.bin" };
	struct kist_hash_item items[6];
	struct kist_pipeline_options po;
	struct kist_error err;
	int dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);

	for (int i = 0; i < 6; i++) {
		items[i].path = names[i];
		items[i].size = UINT64_MAX;
	}
	memset(g, 0, sizeof(*g));
	kist_pipeline_options_init(&po);
	po.algs = algs;
	po.jobs = jobs;
	po.dirfd = dirfd;
	po.block_size = 4096;   /* many blocks per file */
	po.consumer = kist_identifier_consumer(id);
	assert_int_equal(kist_pipeline_run(&po, items, 6, collect, g, &err), KIST_OK);
	close(dirfd);
}

static void test_consumer(void **state)
{
	struct fx *f = *state;
	size_t big = 300000, mid = 1500;
	unsigned char *b = malloc(big);
	struct fx g = { .dir = f->dir };
	char *xml = NULL;
	struct got got;

	/* big: BOF "\1\2\3\4 CAFE" and "NEED" far in; mid: between one and two
	 * windows, with an EOF sequence; late: NEED past the window */
	memset(b, 'x', big);
	memcpy(b + 4, "\xCA\xFE", 2);
	unit_write(f->dir, "big.bin", b, big);
	memset(b, 'x', big);
	memcpy(b + mid - 3, "END", 3);
	unit_write(f->dir, "mid.bin", b, mid);
	unit_write(f->dir, "empty.bin", "", 0);
	unit_write(f->dir, "small.bin", "\xBE\xEF", 2);
	memset(b, 'x', big);
	memcpy(b + 5000, "NEED", 4);
	unit_write(f->dir, "late.bin", b, 20000);

	assert_true(asprintf(&xml, "%s%s%s%s%s", SIG_HEAD, TEST_SIGS, SIG_MID, TEST_FORMATS, SIG_TAIL) > 0);
	g.fs = f->fs;
	assert_non_null(load_text(&g, "sigs1k.xml", xml, 1024));   /* a 1 KiB window */
	free(xml);

	for (int pass = 0; pass < 3; pass++) {
		run_consumer(f, g.id, pass == 2 ? KIST_ALG_BIT(KIST_ALG_SHA256) : 0, pass ? 2 : 1, &got);
		assert_string_equal(got.puid[0], "x-test/1");
		assert_string_equal(got.puid[1], "x-test/3");
		assert_string_equal(got.puid[2], "");
		assert_string_equal(got.puid[3], "x-test/2");
		assert_string_equal(got.puid[4], "");   /* NEED at 5000: beyond the 1 KiB window */
		assert_true(got.failed[5]);
	}
	/* with digests too, the digest is right */
	{
		unsigned char want[64];
		struct kist_digest *d = kist_digest_new(KIST_ALG_SHA256);

		kist_digest_begin(d);
		kist_digest_update(d, "\xBE\xEF", 2);
		kist_digest_end(d, want);
		kist_digest_free(d);
		assert_memory_equal(got.sha[3], want, 32);
	}
	kist_identifier_free(g.id);

	/* the default 64 KiB window sees NEED at 5000 */
	run_consumer(f, f->id, 0, 2, &got);
	assert_string_equal(got.puid[4], "x-test/4");
	assert_string_equal(got.puid[1], "x-test/3");
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loaded),
		cmocka_unit_test(test_bof_offset),
		cmocka_unit_test(test_bof_range),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_huge_offsets),
		cmocka_unit_test(test_variable),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_subsequences),
		cmocka_unit_test(test_all_sequences),
		cmocka_unit_test(test_syntax_in_signature),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_several_survivors),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_random_signatures),
		cmocka_unit_test(test_random_subsequences),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_signatures),
		cmocka_unit_test(test_costly_signatures),
		cmocka_unit_test(test_real_file),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_consumer),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
