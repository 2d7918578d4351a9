/* Deterministic tree walk: directories are read through file descriptors
 * (openat, O_NOFOLLOW), entries visited in byte order of their names, depth
 * first. Symlinks are not followed unless asked; symlinks, FIFOs, sockets and
 * devices become findings, never opened, so a walk can neither escape nor hang. */
#ifndef KIST_WALK_H
#define KIST_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_findings;
struct kist_error;

enum kist_entry_type {
	KIST_ENTRY_FILE,
	KIST_ENTRY_DIR,      /* visited before its contents */
	KIST_ENTRY_DIR_END,  /* visited after its contents; empty == 1 if it had none */
};

struct kist_walk_entry {
	enum kist_entry_type type;
	const char *path;    /* root joined with rel; valid during the callback only */
	const char *rel;     /* path below the root ("" for the root itself) */
	uint64_t size;       /* UINT64_MAX: not known (files_unstated) */
	dev_t dev;
	ino_t ino;
	mode_t mode;
	int64_t mtime_sec;
	long mtime_nsec;
	int empty;           /* KIST_ENTRY_DIR_END: the directory had no entries */
	int via_symlink;     /* reached through a followed symlink */
};

/* Return 0 to go on, 1 to skip this directory's contents (on KIST_ENTRY_DIR),
 * -1 to stop the walk. */
typedef int (*kist_walk_fn)(void *ctx, const struct kist_walk_entry *e);

struct kist_walk_options {
	int follow_symlinks;    /* follow symlinks inside the tree (loops are findings) */
	int follow_root;        /* follow the root itself if it is a symlink (like find -H) */
	/* Regular files the directory itself calls so (d_type) are not
	 * stat'ed: their size is UINT64_MAX, mode S_IFREG, no mtime; ino is
	 * d_ino. For walkers that read every file anyway. */
	int files_unstated;
};

/* Walks root (a file or a directory). Problems (unreadable directory,
 * symlink not followed, special file, loop) are added to findings.
 * Returns KIST_OK, KIST_FAILED with err set when the root itself cannot be
 * read, or the callback's -1 as KIST_FAILED. */
int kist_walk(const char *root, const struct kist_walk_options *opt, kist_walk_fn fn, void *ctx,
	      struct kist_findings *findings, struct kist_error *err);

/* A list of regular files, as the walk found them. */
struct kist_file {
	char *path;
	uint64_t size;
};

struct kist_file_list {
	struct kist_file *files;
	size_t count;
	size_t cap;
	uint64_t bytes;
};

void kist_file_list_init(struct kist_file_list *l);
void kist_file_list_free(struct kist_file_list *l);
int kist_file_list_add(struct kist_file_list *l, const char *path, uint64_t size);
/* Walks root and appends every regular file to l. */
int kist_walk_collect(const char *root, const struct kist_walk_options *opt,
		      struct kist_file_list *l, struct kist_findings *findings, struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
