/* Packing inside `bag create` (see kist_pack_pass_new in <kist/transfer.h>):
 * create.c declares the payload entries in the order it made them, then
 * runs its hashing pass with the pack consumer riding along. */
#ifndef KIST_BAGIT_PACK_PASS_H
#define KIST_BAGIT_PACK_PASS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <kist/error.h>
#include <kist/pipeline.h>
#include <kist/transfer.h>

/* Room for nentries payload entries (directories and files below data/),
 * nitems of them files the pipeline reads; the top directory and data/
 * are written here (bagfd: the bag, for data/'s time). */
int pack_pass_begin(struct kist_pack_pass *p, int bagfd, size_t nentries, size_t nitems,
		    struct kist_error *err);
/* The next payload entry, in archive order; rel is below data/ and must
 * live until pack_pass_payload_end. is_item: the pipeline reads this file
 * (as the next item); otherwise an empty file made by create (.keep). */
void pack_pass_add(struct kist_pack_pass *p, const char *rel, int is_dir, int is_item, uint64_t size,
		   mode_t mode, struct timespec mtime);
/* The consumer for the pipeline run over the items, in the order added.
 * Its states belong to the pass: nothing to free on delivery. */
const struct kist_consumer *pack_pass_consumer(struct kist_pack_pass *p);
/* No archive after all (why: for kist_pack_pass_finish's message): no
 * more writing, no waiting. */
void pack_pass_abort(struct kist_pack_pass *p, const char *why);
/* After the run: the entries left, and whether all went in. */
int pack_pass_payload_end(struct kist_pack_pass *p, struct kist_error *err);

#endif
