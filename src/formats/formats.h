/* Private pieces of format identification: compiled patterns, signatures,
 * containers, libmagic. */
#ifndef KIST_FORMATS_H
#define KIST_FORMATS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <kist/identify.h>

/* --- patterns (match.c) ---------------------------------------------------- */

enum kpat_type { KP_LIT, KP_SET, KP_NOTSEQ, KP_GAP, KP_ALT };

#define KPAT_INF UINT32_MAX          /* unbounded gap */
#define KPAT_MAX_OFFSET 100000000u   /* larger offsets and gaps are refused */

struct kpat;

struct kpat_elem {
	enum kpat_type type;
	uint32_t len;                 /* LIT, NOTSEQ: bytes */
	uint32_t min, max;            /* GAP */
	unsigned char *bytes;         /* LIT, NOTSEQ */
	unsigned char *set;           /* SET: 32-byte bitmap */
	struct kpat *alts;            /* ALT */
	size_t nalts;
};

struct kpat {
	struct kpat_elem *e;
	size_t n;
	uint64_t minlen, maxlen;      /* maxlen UINT64_MAX when unbounded */
};

/* Parses PRONOM/DROID/container syntax; returns 0, or -1 with err set. */
int kpat_parse(struct kpat *p, const char *text, struct kist_error *err);
void kpat_free(struct kpat *p);
/* Appends a gap, or moves the elements of src to the end of dst. */
int kpat_append_gap(struct kpat *p, uint32_t min, uint32_t max);
int kpat_append(struct kpat *dst, struct kpat *src);
/* Appends one element: an alternation of the given patterns (taken over). */
int kpat_append_alt(struct kpat *dst, struct kpat *alts, size_t nalts);
void kpat_lengths(struct kpat *p);

/* Match p at pos in direction dir (+1: p starts at pos; -1: p ends at pos).
 * The far end must fall in [lo, hi]. Returns the far end, or -1. budget is
 * decremented per step; at 0 the match gives up. */
int64_t kpat_match(const struct kpat *p, const unsigned char *buf, size_t len, size_t pos,
		   int dir, uint64_t lo, uint64_t hi, uint64_t *budget);

/* --- guards (guard.c) -------------------------------------------------------- */

/* Bytes every match of a subsequence has at fixed distances from its
 * anchor: forward from the anchor's start (BOF, floating), or backward from
 * its end (EOF: off 0 is the anchor's last byte). */
#define KGUARD_MAX 4

struct kguard {
	int n;                            /* sets tested */
	uint16_t off[KGUARD_MAX];
	unsigned char set[KGUARD_MAX][32];
	int scan;                         /* a set of one byte, searched for with memchr, or -1 */
	unsigned char byte;               /* its byte */
};

/* Built from the pattern at the anchor point and, when that has a fixed
 * length, the one after it (anchor then right, or anchor then left). */
void kguard_build(struct kguard *g, const struct kpat *first, const struct kpat *then, int dir);
/* The first anchor start in [*pos, hi] (the last anchor end in [lo, *end])
 * where the guard holds: 1 with *pos (*end) moved there, or 0 if none. */
int kguard_next(const struct kguard *g, const unsigned char *buf, size_t len, uint64_t *pos, uint64_t hi);
int kguard_prev(const struct kguard *g, const unsigned char *buf, uint64_t *end, uint64_t lo);

/* --- signatures (signature.c) ---------------------------------------------- */

enum kref { REF_BOF, REF_EOF, REF_VAR };

struct ksubseq {
	struct kpat anchor, left, right;  /* left: file order, matched backwards */
	uint32_t min_off, max_off;        /* max KPAT_INF when unbounded */
	struct kguard guard;              /* forward for BOF/floating, backward for EOF */
};

struct kbyteseq {
	enum kref ref;
	struct ksubseq *subs;
	size_t nsubs;
};

struct ksig {
	long id;
	struct kbyteseq *seqs;            /* the narrowest first (order_seqs) */
	size_t nseqs;
	size_t first_seq;                 /* the first in the file's order */
	uint64_t weight;                  /* bytes it pins down, for ordering */
	size_t *formats;                  /* indexes of formats using it */
	size_t nformats;
	int fixed_prefilter;              /* offset of a byte to test first, -1 */
	int prefilter_byte;
	int eof_prefilter, eof_byte;      /* the same, counted back from EOF */
	const unsigned char *key;         /* a literal every match has in the head */
	size_t keylen;                    /* (for the one-pass scan, scan.c), or NULL */
	uint64_t key_min, key_limit;      /* it starts in [key_min, key_limit) */
};

struct kformat {
	long id;
	char *puid, *name, *version, *mime;
	char **exts;
	size_t nexts;
	long *priority_over;              /* format IDs */
	size_t npriority;
	size_t *over;                     /* resolved: format indexes */
	size_t nover;
	int has_signature;
	int container_type;               /* 1 ZIP, 2 OLE2 trigger */
	long *sigids;                     /* while loading: InternalSignatureIDs */
	size_t nsigids;
};

enum { CT_NONE = 0, CT_ZIP = 1, CT_OLE2 = 2 };

struct kcfile {
	char *path;
	struct ksig *sigs;                /* any one must match the entry */
	size_t nsigs;
};

struct kcsig {
	long id;
	int type;
	char *description;
	struct kcfile *files;
	size_t nfiles;
	size_t *formats;                  /* format indexes (by PUID) */
	size_t nformats;
};

struct kist_identifier {
	struct kist_identify_options opt;
	char *sig_version, *cont_version;
	struct kformat *formats;
	size_t nformats;
	struct ksig *sigs;
	size_t nsigs;
	struct kcsig *csigs;
	size_t ncsigs;
	char **wanted;                    /* container entries whose bytes we need */
	size_t nwanted;
	/* which signatures to try for a file: those whose byte at offset 0 is
	 * the file's, those whose anchor literal the head holds, and the rest */
	uint32_t *by_byte0[256];
	size_t n_by_byte0[256];
	uint32_t *general;
	size_t ngeneral;
	uint32_t *scan_index;             /* 65537 offsets into scan_sigs, by kpair() of the key */
	uint32_t *scan_sigs;
	uint64_t scan_bits[1024];         /* first pairs of keys, a bit each */
	struct kstage *stages;            /* the scan of the head (scan.c) */
	size_t nstages;
	struct kext {
		char *ext;                /* lower case */
		size_t format;
	} *exts;                          /* formats without a signature, by extension */
	size_t nexts;
	struct kist_consumer consumer;
	pthread_key_t magic_key;
	int magic_key_ok;
	int magic_failed;
};

/* The 2-byte key of the scan tables at p: two bytes as one load (the same
 * function builds the tables, so byte order does not matter). */
static inline size_t kpair(const unsigned char *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* --- the scan for keys (scan.c) ---------------------------------------------- */

/* Key starts in [from, to) are found by samples every step bytes, whose
 * pair bits holds: the first step pairs of each key that can start there. */
struct kstage {
	uint64_t from, to;
	size_t step;
	uint64_t *bits;                   /* 1024 words */
};

int kscan_build(struct kist_identifier *id);
void kscan_free(struct kist_identifier *id);
/* Calls found(arg, p) for the offsets p of head where a key may start (its
 * first pair is in scan_bits); every key occurrence in its [key_min,
 * key_limit) is among them. */
void kscan_run(const struct kist_identifier *id, const unsigned char *head, size_t len,
	       void (*found)(void *arg, size_t p), void *arg);

int ksig_load_droid(struct kist_identifier *id, const char *file, struct kist_findings *fs,
		    struct kist_error *err);
int ksig_load_containers(struct kist_identifier *id, const char *file, struct kist_findings *fs,
			 struct kist_error *err);
void ksig_free_all(struct kist_identifier *id);
/* Builds the indexes above. */
int ksig_index(struct kist_identifier *id);
void ksig_free(struct ksig *s);

/* A view of a file: head = the first bytes, tail = the last bytes, both
 * whole when the file fits (head == tail, headlen == size). */
struct kview {
	const unsigned char *head, *tail;
	size_t headlen, taillen;
	uint64_t size;
};

/* The quick byte tests of a signature: 0 if it cannot match. */
static inline int ksig_may_match(const struct ksig *s, const struct kview *v)
{
	if (s->fixed_prefilter >= 0 && ((uint64_t)s->fixed_prefilter >= v->headlen ||
					v->head[s->fixed_prefilter] != (unsigned char)s->prefilter_byte))
		return 0;
	if (s->eof_prefilter >= 0 && ((uint64_t)s->eof_prefilter >= v->taillen ||
				      v->tail[v->taillen - 1 - (size_t)s->eof_prefilter] != (unsigned char)s->eof_byte))
		return 0;
	return 1;
}

/* Does signature s match? Fills the span of its first byte sequence. Each
 * signature may take a bounded number of matching steps, taken from
 * *file_budget too; at 0 nothing more matches (a hostile signature file
 * costs time, boundedly, and is reported). */
#define KSIG_FILE_BUDGET (1ull << 24)
int ksig_match(const struct ksig *s, const struct kview *v, uint64_t *off, uint64_t *end,
	       uint64_t *file_budget);

/* --- containers (container.c) ---------------------------------------------- */

/* Entry names of a container and the bytes of the wanted ones. */
struct kentry {
	char *name;
	unsigned char *data;              /* NULL unless wanted */
	size_t len;
};

struct kentries {
	struct kentry *e;
	size_t n, cap;
};

void kentries_free(struct kentries *es);
/* Reads the entries of a ZIP / OLE2 held in memory; returns 0, or -1 with a
 * message in why (the container is damaged). */
int kzip_entries(const struct kist_identifier *id, const void *buf, size_t len,
		 struct kentries *es, char *why, size_t whylen);
int kole2_entries(const struct kist_identifier *id, const void *buf, size_t len,
		  struct kentries *es, char *why, size_t whylen);

/* --- libmagic (magic.c) ------------------------------------------------------ */

int kmagic_init(struct kist_identifier *id);
void kmagic_fini(struct kist_identifier *id);
/* MIME type and description of a buffer; strings are malloc'ed (NULL on error). */
void kmagic_buffer(struct kist_identifier *id, const void *buf, size_t len, char **mime,
		   char **desc);

#endif
