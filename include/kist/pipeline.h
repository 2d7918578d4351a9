/* The hashing pipeline: every payload byte kist looks at comes through here.
 * Each file is read once, in large sequential blocks, and each block is fed
 * to every requested digest and to an optional consumer (format
 * identification, ...). Files are spread over worker threads; a large file
 * with several digests is shared between idle workers, one set of digests
 * per thread over the same blocks. Results come back in input order. */
#ifndef KIST_PIPELINE_H
#define KIST_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <kist/digest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_progress;
struct kist_error;

/* What to hash: a path (relative to the pipeline's dirfd) and the size the
 * caller saw, UINT64_MAX if unknown; a change is reported as file.changed. */
struct kist_hash_item {
	const char *path;
	uint64_t size;
};

/* Per-file hook that sees every block in order, from the reading thread. */
struct kist_consumer {
	void *(*open)(void *arg, size_t index, const char *path, uint64_t size);
	void (*update)(void *state, const unsigned char *buf, size_t len, uint64_t offset);
	/* Called once the file is done (failed != 0 when reading failed). */
	void (*close)(void *state, int failed);
	void *arg;
	/* Optional: frees the state of a closed file whose result was never
	 * delivered because the run stopped early (delivered states are the
	 * result callback's to free). */
	void (*discard)(void *state);
	/* Optional: a file the consumer will see nothing of, because open was
	 * never reached (the file could not be opened, or is not a regular
	 * file) or returned NULL; a consumer that waits for files in order
	 * learns here not to wait for this one. From the reading thread. */
	void (*skip)(void *arg, size_t index);
};

/* Two consumers over the same blocks. The state each file's result carries
 * is a struct kist_tee_state holding both consumers' states; the result
 * callback frees it with kist_tee_state_free, which leaves the two states
 * inside to their owners. */
struct kist_tee {
	struct kist_consumer consumer;
	const struct kist_consumer *first, *second;
};
struct kist_tee_state {
	void *first, *second;
	const struct kist_tee *tee;
};
const struct kist_consumer *kist_tee_init(struct kist_tee *t, const struct kist_consumer *first,
					  const struct kist_consumer *second);
void kist_tee_state_free(void *state);

struct kist_hash_result {
	size_t index;                 /* into the items array */
	const char *path;
	uint64_t bytes;               /* bytes read */
	kist_algset algs;
	unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	void *consumer_state;         /* what consumer->open returned */
	/* On failure: a finding code ("file.unreadable", "file.vanished",
	 * "file.changed", "file.not-regular", "file.symlink"), errno and a message. */
	const char *fail_code;
	int fail_errno;
	char fail_message[256];
};

/* Return 0 to go on, nonzero to stop the run. Called in input order, from
 * the thread that called kist_pipeline_run. */
typedef int (*kist_result_fn)(void *ctx, const struct kist_hash_result *r);

struct kist_pipeline_options {
	kist_algset algs;
	unsigned jobs;                /* worker threads; 0 = online CPUs */
	size_t block_size;            /* read size; 0 = 1 MiB */
	int dirfd;                    /* base for relative paths (AT_FDCWD) */
	int nofollow;                 /* refuse a symlink as the last component */
	int beneath;                  /* paths must stay below dirfd: no "..", no
					 symlink anywhere on the way (paths from
					 manifests and archives) */
	uint64_t share_threshold;     /* files at least this big are shared between
					 idle workers; 0 = 8 blocks */
	const struct kist_consumer *consumer;
	struct kist_progress *progress;
	volatile int *cancel;         /* set nonzero to stop early */
	struct kist_pipeline_stats *stats;  /* filled in when not NULL */
};

struct kist_pipeline_stats {
	uint64_t files, bytes;
	uint64_t shared_files;        /* files whose digests were split into lanes */
	uint64_t lanes_helped;        /* lanes an idle worker took over */
};

void kist_pipeline_options_init(struct kist_pipeline_options *o);

/* Hashes items[0..n). Returns KIST_OK when every result was delivered (files
 * that failed are delivered with fail_code set), KIST_FAILED when the run
 * could not start or the callback stopped it. */
int kist_pipeline_run(const struct kist_pipeline_options *o, const struct kist_hash_item *items,
		      size_t n, kist_result_fn fn, void *ctx, struct kist_error *err);

/* Hashes one file with the given digests on the calling thread. */
int kist_hash_file(int dirfd, const char *path, kist_algset algs,
		   unsigned char digest[KIST_ALG_COUNT][KIST_DIGEST_MAX], uint64_t *bytes,
		   struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
