/* Serialized bags: packing a bag into one tar, tar.gz or zip file, and
 * unpacking one safely. Validating an archive without unpacking it is
 * kist_bag_validate (bag.h) given the archive's path. */
#ifndef KIST_TRANSFER_H
#define KIST_TRANSFER_H

#include <stdint.h>
#include <kist/bag.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_findings;
struct kist_error;
struct kist_progress;

enum kist_pack_format { KIST_PACK_TAR, KIST_PACK_TAR_GZ, KIST_PACK_ZIP };

/* The format a file name asks for: .tar, .tar.gz or .tgz, .zip; -1 otherwise. */
int kist_pack_format_for_name(const char *name);

struct kist_bag_pack_options {
	int store;                   /* zip: stored, not deflated */
	int force;                   /* replace an existing OUT */
	struct kist_progress *progress;
};

/* Writes the bag at path into out (format from out's name): one top-level
 * directory named after the bag, then bagit.txt, the bag-info file,
 * fetch.txt, the manifests and tag manifests, other tag files, and data/
 * last, each directory's entries in byte order of their names; file times
 * and permission bits kept, owners not. out appears whole or not at all
 * (written beside it, then renamed). A bag holding a symlink or a special
 * file is refused (findings pack.not-regular). Returns KIST_OK,
 * KIST_INVALID (findings say why) or KIST_FAILED (err). */
int kist_bag_pack(const char *path, const char *out, const struct kist_bag_pack_options *opt,
		  struct kist_findings *findings, struct kist_error *err);

/* Packing inside `kist bag create` (create --pack): the archive is written
 * from the blocks the bagging pass reads, so each payload file is read once.
 * Made before the bag (out is checked and its temporary file made beside it:
 * nothing is bagged when the archive could not be written), given to
 * kist_bag_create in its options (.pack), then finished once the bag's tag
 * files are final. The archive holds one top directory named after bag,
 * data/ first (the payload in the order the bag was made: each directory's
 * entries in byte order of their names), then the tag files in kist bag
 * pack's order (bagit.txt, bag-info.txt, manifests, tag manifests, other
 * tag files). File times and permission bits kept. */
struct kist_pack_pass;
/* bag: the bag's path (DEST, or SOURCE in place). opt->force replaces out. */
int kist_pack_pass_new(const char *out, const char *bag, const struct kist_bag_pack_options *opt,
		       struct kist_pack_pass **pass, struct kist_error *err);
/* After kist_bag_create succeeded: the tag files appended, the archive
 * synced and renamed to out. Returns KIST_OK, KIST_INVALID (findings: a
 * symlink or special file among the tag files) or KIST_FAILED (err). */
int kist_pack_pass_finish(struct kist_pack_pass *pass, struct kist_findings *findings,
			  struct kist_error *err);
/* Frees the pass; an unfinished archive's temporary file is removed. */
void kist_pack_pass_free(struct kist_pack_pass *pass);

struct kist_bag_unpack_options {
	unsigned jobs;
	uint64_t max_bytes;          /* refuse to unpack more; 0: the free space of DIR */
	unsigned max_ratio;          /* unpacked / packed bytes; 0: 200 */
	struct kist_progress *progress;
};

/* Unpacks archive into dir/NAME, NAME being the archive's single top-level
 * directory, validating the bag as its entries stream past (the checks and
 * findings of kist_bag_validate). Everything is written beneath a temporary
 * directory in dir, never through a symlink, never outside dir, and renamed
 * to dir/NAME only when the bag is valid; on any error or failure all of it
 * is removed. One exception: a holey bag whose only errors are files
 * fetch.txt has yet to bring (fetch.pending) is kept, for kist bag fetch, and
 * KIST_INVALID returned with *bag_out set. *bag_out: dir/NAME (malloc'd) when
 * it was made. Returns KIST_OK, KIST_INVALID or KIST_FAILED as
 * kist_bag_validate does. */
int kist_bag_unpack(const char *archive, const char *dir, const struct kist_bag_unpack_options *opt,
		    char **bag_out, struct kist_bag_validate_result *res,
		    struct kist_findings *findings, struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
