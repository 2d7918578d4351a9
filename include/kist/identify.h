/* Format identification: PRONOM PUIDs from DROID byte and container
 * signatures, with libmagic's MIME type and description beside them.
 *
 * The identifier rides along the hashing pipeline as a consumer: it keeps
 * the first and last `window` bytes of each file (and, for a ZIP or OLE2
 * file up to container_max bytes, the whole file) from the blocks the
 * pipeline reads anyway, and identifies the file when the pipeline closes
 * it, on the reading thread. */
#ifndef KIST_IDENTIFY_H
#define KIST_IDENTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/pipeline.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_identifier;

struct kist_identify_options {
	const char *signature_file;   /* DROID signature file; NULL: the installed copy
					 ($KIST_DATADIR/pronom or PKGDATADIR/pronom) */
	const char *container_file;   /* container signature file; NULL: installed
					 copy; "" none */
	size_t window;                /* bytes kept at each end; 0 = 65536 */
	uint64_t container_max;       /* ZIP/OLE2 files up to this size are kept in
					 memory while read; larger ones are mapped
					 again from disk; 0 = 16 MiB */
	int dirfd;                    /* base of relative paths handed to the
					 consumer (AT_FDCWD), for mapping large
					 containers */
	int no_magic;                 /* skip libmagic */
	int no_containers;            /* skip container signatures */
};

void kist_identify_options_init(struct kist_identify_options *o);

/* Loads the signature files. Problems in them (bad hex, huge offsets, unknown
 * references) are findings (code "signature.invalid", warning) and the
 * offending signature is left out; a file that cannot be read or parsed at
 * all is a KIST_FAILED error. fs may be NULL. */
struct kist_identifier *kist_identifier_load(const struct kist_identify_options *o,
					     struct kist_findings *fs, struct kist_error *err);
void kist_identifier_free(struct kist_identifier *id);

/* "118" and "20240501"-like versions of the loaded files ("" if none). */
const char *kist_identifier_signature_version(const struct kist_identifier *id);
const char *kist_identifier_container_version(const struct kist_identifier *id);
size_t kist_identifier_format_count(const struct kist_identifier *id);

enum kist_id_basis {
	KIST_ID_SIGNATURE = 0,        /* internal byte signature */
	KIST_ID_CONTAINER,            /* container signature (entries of a ZIP/OLE2) */
	KIST_ID_EXTENSION             /* extension only: the format has no signature */
};

struct kist_id_match {
	const char *puid;             /* "fmt/12"; strings belong to the identifier */
	const char *name;
	const char *version;          /* "" if none */
	const char *mime;             /* PRONOM's MIME type, "" if none */
	enum kist_id_basis basis;
	long signature_id;            /* internal or container signature ID; -1 */
	uint64_t offset, end;         /* first byte sequence matched at [offset, end) */
	char basis_text[160];         /* "signature 1234 at 0-8", "container 1030:
					 word/document.xml", "extension png" */
};

struct kist_id_result {
	const char *path;
	uint64_t size;
	int failed;                   /* the file could not be read: no result */
	size_t nmatches;              /* 0: unknown */
	struct kist_id_match *matches;  /* best first */
	const char *magic_mime;       /* libmagic, NULL if not run */
	const char *magic_description;
	/* Warnings about this file: codes "identify.extension-mismatch",
	 * "identify.extension-only", "identify.multiple", "identify.empty",
	 * "identify.container-damaged", "identify.container-unread",
	 * "identify.incomplete" (matching stopped: the signatures took too many
	 * steps on this file), "identify.no-memory". */
	size_t nwarnings;
	struct kist_id_warning {
		const char *code;
		char *message;
	} *warnings;
};

/* The pipeline consumer. Its per-file state, kist_hash_result.consumer_state,
 * holds a struct kist_id_result once the file is closed: get it with
 * kist_id_result_of and free it with kist_id_result_free. The identifier
 * must outlive the run. In the bagging pass, with the digests:
 *
 *	struct kist_identify_options io;
 *	kist_identify_options_init(&io);
 *	io.dirfd = po.dirfd;          // so a big ZIP/OLE2 can be mapped again
 *	io.no_magic = !want_magic;    // libmagic costs ~150 us a file
 *	struct kist_identifier *id = kist_identifier_load(&io, findings, &err);
 *	po.algs = algs;
 *	po.consumer = kist_identifier_consumer(id);
 *	kist_pipeline_run(&po, items, n, on_result, ctx, &err);
 *	// in on_result(ctx, r):
 *	//   const struct kist_id_result *ir = kist_id_result_of(r->consumer_state);
 *	//   ... ir->matches[0].puid, .name, .version, .basis_text -> PREMIS ...
 *	//   kist_id_result_free(r->consumer_state);   // also when r->fail_code
 *	kist_identifier_free(id);
 */
const struct kist_consumer *kist_identifier_consumer(struct kist_identifier *id);
const struct kist_id_result *kist_id_result_of(void *consumer_state);
void kist_id_result_free(void *consumer_state);

/* Identifies bytes held in memory (the whole file), or a file read whole
 * on the calling thread. Results are freed with kist_id_result_free. */
struct kist_id_result *kist_identify_buffer(struct kist_identifier *id, const char *name,
					    const void *buf, size_t len);
struct kist_id_result *kist_identify_file(struct kist_identifier *id, int dirfd, const char *path,
					  struct kist_error *err);

/* A pattern in PRONOM/DROID syntax ("89504E47{2-4}[!00](0A|0D)??'IEND'")
 * tested against a buffer: returns 1 and the span of the first match at or
 * after `from` (anchored at `from` if anchored != 0), 0 if none, -1 if the
 * pattern does not parse (err says where). For tests and tools. */
int kist_pattern_search(const char *pattern, const void *buf, size_t len, size_t from,
			int anchored, size_t *start, size_t *end, struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
