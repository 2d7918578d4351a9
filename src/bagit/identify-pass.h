/* Format identification inside `bag create`: the identifier rides the
 * hashing pipeline's read of each payload file, and its answers go into the
 * PREMIS file objects and a format identification event. */
#ifndef KIST_BAGIT_IDENTIFY_PASS_H
#define KIST_BAGIT_IDENTIFY_PASS_H

#include <stddef.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/pipeline.h>
#include <kist/premis.h>

struct id_pass;

/* Loads the signatures (before anything is moved: a bad signature file
 * stops the command first). dirfd: base of the paths the pipeline opens.
 * NULL with err set when the signatures cannot be loaded. */
struct id_pass *id_pass_new(const struct kist_bag_create_options *opt, int dirfd,
			    struct kist_findings *findings, struct kist_error *err);
/* Room for the answers of nlines manifest lines (payload files). */
int id_pass_start(struct id_pass *p, size_t nlines);
void id_pass_free(struct id_pass *p);
const struct kist_consumer *id_pass_consumer(struct id_pass *p);
/* Takes the identifier's state from a delivered result (for manifest line
 * `line`), keeps the answer and frees the state. */
void id_pass_take(struct id_pass *p, void *state, size_t line);
/* The format of manifest line `line`, into a PREMIS file object. */
void id_pass_format(const struct id_pass *p, size_t line, struct kist_premis_file *f);
/* The format identification event: detail and outcome detail point into p. */
void id_pass_event(struct id_pass *p, struct kist_premis_event *ev);

#endif
