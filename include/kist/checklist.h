/* Checksum lists: what `sha256sum`, `md5sum`, `cksum --tag` and kist write,
 * and BagIt manifests. Parsed into (path, algorithm, expected digest). */
#ifndef KIST_CHECKLIST_H
#define KIST_CHECKLIST_H

#include <stdint.h>
#include <stdio.h>
#include <kist/digest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_findings;
struct kist_error;

enum kist_checklist_kind {
	KIST_LIST_GNU,       /* "HEX  name", "HEX *name", "TAG (name) = HEX", '\' escapes */
	KIST_LIST_BAGIT,     /* "HEX<whitespace>path", %0A %0D %25 decoded, paths kept inside */
	KIST_LIST_BAGIT_RAW  /* the same before BagIt 1.0: no percent-decoding */
};

#define KIST_LIST_MAX_LINE (1u << 20)  /* longer lines are findings, not allocations */

/* Kept small: a bag of a million files holds a million of these per manifest. */
struct kist_check_entry {
	char *path;                        /* one allocation: path, NUL, digest bytes */
	unsigned char *digest;             /* kist_alg_size(alg) bytes, inside path's block */
	uint32_t line;
	int16_t alg;                       /* enum kist_alg */
};

struct kist_checklist {
	struct kist_check_entry *entries;
	size_t count, cap;
};

void kist_checklist_init(struct kist_checklist *l);
void kist_checklist_free(struct kist_checklist *l);

/* Reads which kind a file name implies: BagIt for "manifest-ALG.txt" and
 * "tagmanifest-ALG.txt" (then *alg is set), else GNU. */
enum kist_checklist_kind kist_checklist_kind_for_name(const char *filename, int *alg);
/* The algorithm a list's name suggests ("SHA512SUMS", "x.sha256", "md5.txt"), or -1. */
int kist_checklist_alg_for_name(const char *filename);

/* Parses every line of in. default_alg (or -1) names the algorithm of
 * untagged lines; without it, the digest's length decides. Malformed lines,
 * unknown algorithms, unsafe BagIt paths and over-long lines are added to
 * findings (code list.*) with the list's name and line number, and skipped.
 * Returns KIST_OK, or KIST_FAILED when the list cannot be read. */
int kist_checklist_parse(struct kist_checklist *l, FILE *in, const char *name,
			 enum kist_checklist_kind kind, int default_alg,
			 struct kist_findings *findings, struct kist_error *err);

/* Decodes %0A, %0D and %25 in place (BagIt 1.0 manifests). */
void kist_bagit_percent_decode(char *s);
/* Encodes CR, LF and % for a manifest line; returns malloc'd string. */
char *kist_bagit_percent_encode(const char *s);

#ifdef __cplusplus
}
#endif
#endif
