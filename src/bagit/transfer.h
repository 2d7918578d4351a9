/* Private to src/bagit/: the pieces serialized bags are built from. A bag
 * read from an archive is validated by the same code as a directory
 * (validate.c): the archive reader hands it the tag files in memory, the
 * listing of data/ and the digests it computed while the entries streamed
 * past. */
#ifndef KIST_BAGIT_TRANSFER_H
#define KIST_BAGIT_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include <kist/bag.h>
#include <kist/pipeline.h>

/* --- bag.c: reading a bag whose top-level tag files are in memory --------- */

struct kist_bag_memfile {
	const char *name;       /* "bagit.txt", "manifest-sha512.txt", ... */
	const char *data;
	size_t len;
};

/* kist_bag_open over files instead of a directory; bag->dirfd is -1. name
 * is what bag->path becomes. */
int kist_bag_open_memory(const char *name, const struct kist_bag_memfile *files, size_t n,
			 struct kist_bag **out, struct kist_findings *findings,
			 struct kist_error *err);

/* --- validate.c: a bag seen through something other than a directory ------ */

struct kist_bag_view {
	struct kist_bag *bag;                    /* from kist_bag_open_memory; borrowed */
	int has_data_dir;
	const struct kist_hash_item *payload;    /* regular files under data/ ("data/..."),
						    with their sizes; strings borrowed */
	size_t npayload;
	char **odd;                              /* links and special files in data/,
						    already reported; sorted */
	size_t nodd;
	/* What is at a tag file's path: 0 a regular file, ENOENT nothing,
	 * ELOOP a link, EINVAL something else. */
	int (*tag_state)(void *ctx, const char *path);
	/* Delivers a kist_hash_result for each item, in order, with the digests
	 * of algs (is_tag: the tag manifests' algorithms). */
	int (*hash)(void *ctx, int is_tag, kist_algset algs, const struct kist_hash_item *items,
		    size_t n, kist_result_fn fn, void *fnctx, struct kist_error *err);
	void *ctx;
};

/* The checks of kist_bag_validate, on a view: the same findings, result and
 * status. */
int kist_bag_validate_view(const struct kist_bag_view *view,
			   const struct kist_bag_validate_options *opt,
			   struct kist_bag_validate_result *res, struct kist_findings *findings,
			   struct kist_error *err);

/* --- stream-hash.c: blocks from one reader, digested on worker threads ----- */

/* One reader thread (the caller) copies each entry's bytes in; the entries
 * are spread over jobs worker threads, each digesting its entry's blocks in
 * order. A fixed pool of blocks bounds memory: the reader waits when all are
 * in flight. Finished entries are collected on the reader's thread. */
struct kist_shash;
struct kist_shash_job;

struct kist_shash *kist_shash_new(unsigned jobs);
void kist_shash_free(struct kist_shash *h);
/* Starts an entry; id comes back with its digests. NULL when out of memory. */
struct kist_shash_job *kist_shash_begin(struct kist_shash *h, size_t id, kist_algset algs);
int kist_shash_write(struct kist_shash_job *j, const void *buf, size_t len);
/* An entry whose bytes lie at offset in the open file fd (an uncompressed
 * archive): read by the worker with pread. fd must stay open until
 * collected. */
int kist_shash_range(struct kist_shash *h, size_t id, kist_algset algs, int fd, uint64_t offset,
		     uint64_t length);
void kist_shash_end(struct kist_shash_job *j);
/* Calls fn for every finished entry; wait: first wait for all to finish. */
typedef void (*kist_shash_done_fn)(void *ctx, size_t id, kist_algset algs, int failed,
				   unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX]);
void kist_shash_collect(struct kist_shash *h, int wait, kist_shash_done_fn fn, void *ctx);

/* --- archive.c: one streaming pass over a serialized bag ------------------- */

/* What unpack does with each entry, on the reader's thread; paths are
 * relative to the bag's top directory ("data/a.txt"). Return 0, or -1 after
 * adding a finding to stop. */
struct kist_archive_sink {
	int (*top)(void *ctx, const char *name);   /* the top directory, once */
	int (*dir)(void *ctx, const char *path, int64_t mtime, long mtime_ns);
	void *(*file_begin)(void *ctx, const char *path, unsigned mode);
	int (*file_write)(void *file, const void *buf, size_t len);
	int (*file_end)(void *file, int64_t mtime, long mtime_ns, int ok);
	int (*hardlink)(void *ctx, const char *path, const char *target);
	void *ctx;
};

struct kist_archive_limits {
	uint64_t max_bytes;     /* uncompressed bytes; 0: no limit */
	unsigned max_ratio;     /* uncompressed / compressed; 0: no limit */
};

/* Streams path once, validating it as validate.c does a directory. top:
 * receives the archive's single top-level directory name (malloc'd) or
 * NULL. sink NULL: nothing is written. */
int kist_archive_validate(const char *path, const struct kist_bag_validate_options *opt,
			  const struct kist_archive_limits *limits, const struct kist_archive_sink *sink,
			  char **top, struct kist_bag_validate_result *res,
			  struct kist_findings *findings, struct kist_error *err);

/* --- pack.c: what `bag create --pack` (pack-pass.c) shares with bag pack --- */

struct archive;
/* An entry's place in the archive: tag files a reader needs first, data/
 * last (rel: below the bag). */
int kist_pack_rank(const char *rel);
/* A libarchive writer on fd for the format (enum kist_pack_format). */
int kist_pack_writer_open(struct archive **a, int fmt, int store, int fd, struct kist_error *err);
/* The bag's directory name, the archive's top directory (malloc'd). */
char *kist_pack_bag_name(const char *path);
/* One entry's header: name, a directory or a regular file of size bytes,
 * its permissions without set-id bits, its modification time. Returns
 * libarchive's status (below ARCHIVE_WARN: failed, see archive_error_string). */
int kist_pack_write_header(struct archive *a, const char *name, int dir, unsigned mode, uint64_t size,
			   int64_t sec, long nsec);
/* Reads items beneath dirfd one after another, in order, no digests: each
 * block goes to consumer (which gets arg as its argument), each end to
 * on_result. How archive entries are written. */
int kist_pack_read_in_order(int dirfd, const struct kist_hash_item *items, size_t n,
			    struct kist_consumer *consumer, void *arg, kist_result_fn on_result,
			    struct kist_progress *progress, struct kist_error *err);

#endif
