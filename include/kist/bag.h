/* BagIt bags (RFC 8493, and the drafts 0.93 to 0.97 before it): the model a
 * bag is read into, tag files, manifests, and the operations on bags. */
#ifndef KIST_BAG_H
#define KIST_BAG_H

#include <stddef.h>
#include <stdint.h>
#include <kist/checklist.h>
#include <kist/digest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_findings;
struct kist_error;
struct kist_pack_pass;

/* --- tag files: "Label: value" elements, in file order ------------------- */

struct kist_bag_tag {
	char *label;
	char *value;           /* continuation lines joined: the LF kept, the
				  indentation dropped (RFC 8493 2.2.2) */
	unsigned long line;    /* where it started, 0 if not read from a file */
};

struct kist_bag_info {
	struct kist_bag_tag *tags;
	size_t count, cap;
};

void kist_bag_info_init(struct kist_bag_info *info);
void kist_bag_info_free(struct kist_bag_info *info);
int kist_bag_info_add(struct kist_bag_info *info, const char *label, const char *value);
/* Labels compare case-insensitively. get returns the first value or NULL. */
const char *kist_bag_info_get(const struct kist_bag_info *info, const char *label);
size_t kist_bag_info_count(const struct kist_bag_info *info, const char *label);
/* Replaces the value of the first element with this label (keeping its
 * place) and removes later ones; appends when there is none. */
int kist_bag_info_set(struct kist_bag_info *info, const char *label, const char *value);
/* Removes every element with this label; returns how many. */
size_t kist_bag_info_remove(struct kist_bag_info *info, const char *label);
/* Parses "Label: value" text (already UTF-8). legacy: the rules before 1.0
 * (whitespace before the colon tolerated). Problems are findings with the
 * code prefix "taginfo." naming the file and line. */
int kist_bag_info_parse(struct kist_bag_info *info, const char *text, size_t len,
			const char *name, int legacy, struct kist_findings *findings);
/* Formats elements one per line, folding values longer than 79 columns at
 * spaces onto indented continuation lines. Returns malloc'd text. */
char *kist_bag_info_format(const struct kist_bag_info *info, size_t *len);

/* Converts a tag file's bytes to UTF-8. encoding is the bag's declared
 * Tag-File-Character-Encoding (NULL: UTF-8). A UTF-8 or UTF-16 byte order
 * mark is honoured and reported through *bom. Invalid input fails with err. */
int kist_tagfile_decode(const char *bytes, size_t len, const char *encoding, char **out,
			size_t *outlen, int *bom, struct kist_error *err);

/* --- the bag model ---------------------------------------------------------- */

struct kist_bag_manifest {
	int alg;               /* enum kist_alg */
	int is_tag;            /* tagmanifest-ALG.txt */
	char *name;            /* file name in the bag's top directory */
	struct kist_checklist list;   /* paths decoded (percent, encoding) */
};

struct kist_fetch_entry {
	char *url;
	uint64_t length;       /* UINT64_MAX for "-" */
	char *path;
	unsigned long line;
};

struct kist_bag {
	char *path;            /* as given */
	int dirfd;             /* the bag's top directory */
	int major, minor;      /* BagIt-Version */
	char *encoding;        /* Tag-File-Character-Encoding, as written */
	char *info_name;       /* "bag-info.txt", "package-info.txt" or NULL */
	struct kist_bag_info info;
	struct kist_bag_manifest *manifests;
	size_t nmanifests;
	struct kist_fetch_entry *fetch;
	size_t nfetch;
	int has_fetch;         /* fetch.txt exists */
};

/* Reads bagit.txt, the bag-info file, every manifest and tag manifest, and
 * fetch.txt. Every problem is a finding (codes bagit.*, taginfo.*,
 * manifest.*, fetch.*). Returns KIST_OK when the bag could be read at all
 * (findings may still hold errors), KIST_INVALID when path is not a bag (no
 * readable bagit.txt), KIST_FAILED for I/O errors (err set). */
int kist_bag_open(const char *path, struct kist_bag **out, struct kist_findings *findings,
		  struct kist_error *err);
void kist_bag_free(struct kist_bag *bag);
/* Is the bag's version at least major.minor? */
int kist_bag_version_at_least(const struct kist_bag *bag, int major, int minor);
/* The payload (is_tag 0) or tag (1) manifest for alg, or NULL. */
struct kist_bag_manifest *kist_bag_manifest_for(const struct kist_bag *bag, int alg, int is_tag);
/* Set of algorithms with a payload (is_tag 0) or tag (1) manifest. */
kist_algset kist_bag_algorithms(const struct kist_bag *bag, int is_tag);

/* --- writing ----------------------------------------------------------------- */

/* Writes dirfd/name through a temporary file in the same directory, fsync,
 * rename, fsync of the directory: readers see the old file or the new one. */
int kist_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		      struct kist_error *err);
/* bagit.txt for BagIt 1.0, UTF-8. */
int kist_bag_write_bagit_txt(int dirfd, struct kist_error *err);
/* The bag-info file (formatted with kist_bag_info_format). */
int kist_bag_write_info(int dirfd, const char *name, const struct kist_bag_info *info,
			struct kist_error *err);
/* "hex  path" lines (paths percent-encoded per RFC 8493), sorted by path,
 * to manifest-ALG.txt or tagmanifest-ALG.txt. */
struct kist_manifest_line {
	const char *path;
	unsigned char digest[KIST_DIGEST_MAX];
};
int kist_bag_write_manifest(int dirfd, int alg, int is_tag, struct kist_manifest_line *lines,
			    size_t n, struct kist_error *err);
/* Hashes every tag file in the bag's top directory and below (everything
 * outside data/ except tag manifests) and writes tagmanifest-ALG.txt for each
 * algorithm in algs; removes tag manifests of other algorithms. */
int kist_bag_write_tag_manifests(int dirfd, kist_algset algs, struct kist_error *err);
/* "Payload-Oxum" value for bytes and files: "OCTETS.STREAMS". */
void kist_bag_oxum(uint64_t bytes, uint64_t files, char *out, size_t len);
/* "Bag-Size" value: "1.5 MB" style, decimal units as bagit-python writes. */
void kist_bag_size(uint64_t bytes, char *out, size_t len);

/* --- operations (one file each under src/bagit/) -------------------------------- */

/* validate.c */
enum kist_bag_check { KIST_BAG_CHECK_FULL, KIST_BAG_CHECK_COMPLETENESS, KIST_BAG_CHECK_FAST };
struct kist_bag_validate_options {
	enum kist_bag_check level;
	unsigned jobs;
	struct kist_progress *progress;
};
struct kist_bag_validate_result {
	int valid;               /* full: complete and every checksum verified */
	int complete;
	int oxum_ok;             /* Payload-Oxum matches, or -1 when there is none */
	uint64_t payload_files, payload_bytes;
	size_t pending_fetch;    /* fetch.txt entries not yet present */
	int version_major, version_minor;   /* BagIt-Version read, -1 if none */
};
int kist_bag_validate(const char *path, const struct kist_bag_validate_options *opt,
		      struct kist_bag_validate_result *res, struct kist_findings *findings,
		      struct kist_error *err);
/* Records a PREMIS event (struct kist_premis_event, <kist/premis.h>) in the
 * bag's metadata/premis.xml: appended to the existing document (kept as it
 * is), or a new document when there is none; then the tag manifests of the
 * bag's tag algorithms are written again. agents: added when missing. */
struct kist_premis_event;
struct kist_premis_agent;
int kist_bag_record_event(const char *path, const struct kist_premis_event *event,
			  const struct kist_premis_agent *agents, size_t nagents,
			  struct kist_error *err);

/* create.c */
struct kist_bag_create_options {
	kist_algset algs;            /* 0: sha512 */
	const struct kist_bag_info *info;   /* elements given by the user, in order */
	unsigned jobs;
	int link;                    /* hard-link payload into DEST */
	int force;
	int follow_symlinks;
	int keep_empty_dirs;
	const char *const *exclude;  /* fnmatch patterns, NULL-terminated */
	struct kist_progress *progress;
	int no_premis;               /* no metadata/premis.xml */
	const char *agent;           /* PREMIS person agent; NULL: the login name */
	/* Format identification in the same read (PRONOM, into premis.xml) */
	int no_identify;
	size_t identify_window;      /* bytes matched at each end; 0: 65536 */
	const char *signature_file;  /* DROID signature file; NULL: kist's copy */
	struct kist_pack_pass *pack; /* also write an archive, same read (transfer.h) */
};
/* dest NULL: bag source in place. */
int kist_bag_create(const char *source, const char *dest, const struct kist_bag_create_options *opt,
		    struct kist_findings *findings, struct kist_error *err);

/* update.c */
struct kist_bag_update_result;
struct kist_bag_update_options {
	kist_algset add_algs;
	kist_algset remove_algs;
	unsigned jobs;
	struct kist_progress *progress;
	int upgrade;             /* a bag older than 1.0 becomes 1.0: bagit.txt
				    rewritten, package-info.txt renamed bag-info.txt
				    (tag files must be UTF-8); otherwise the version
				    is kept */
	struct kist_bag_update_result *result;   /* filled in when not NULL */
	const char *agent;       /* PREMIS person agent; NULL: the login name */
};
/* What an update did, compared with the payload manifests it replaced. */
struct kist_bag_update_result {
	size_t added, removed, changed, unchanged;   /* payload files */
	uint64_t payload_files, payload_bytes;       /* the new Payload-Oxum */
	kist_algset payload_algs, tag_algs;          /* manifests the bag now has */
	kist_algset algs_added, algs_removed;
	uint64_t files_read, bytes_read;             /* by the one pipeline run */
	int upgraded;                                /* from the version below */
	int old_major, old_minor;
};
int kist_bag_update(const char *path, const struct kist_bag_update_options *opt,
		    struct kist_findings *findings, struct kist_error *err);

/* fetch.c */
/* Completes a holey bag: each fetch.txt entry not yet present is downloaded
 * (http, https, file URLs; redirects to http and https only) into a
 * temporary file beside its place, cut off past its declared length, hashed
 * as it arrives, and renamed into place when the length and every payload
 * manifest's checksum match. Files already present are verified (hashing
 * pipeline) and skipped; one that differs is left alone (an error). Paths
 * outside data/ or through a symlink are refused. Problems are findings
 * (codes fetch.*); KIST_FAILED when the run could not go on (err set,
 * "interrupted" after a cancel), with every temporary file removed. */
struct kist_bag_fetch_options {
	unsigned jobs;               /* parallel downloads (default 4) */
	unsigned verify_jobs;        /* threads checking files present; 0 = CPUs */
	unsigned retries;            /* further attempts after a transient error
					(5xx, 408, 429, reset, timeout; never 404) */
	unsigned retry_wait_ms;      /* first back-off; doubles each time */
	unsigned stall_timeout;      /* seconds without a byte before giving up
					(and retrying); 0 = 60 */
	const char *cacert;          /* CA certificates (PEM) to trust for https
					instead of the system's, or NULL */
	volatile int *cancel;        /* set nonzero (e.g. from a signal) to stop */
	struct kist_progress *progress;   /* files looked at, bytes verified or
					     downloaded */
};
struct kist_bag_fetch_result {
	size_t listed;               /* fetch.txt entries */
	size_t present;              /* already here and valid */
	size_t fetched;              /* downloaded now */
	size_t remaining;            /* still to fetch: failed, refused or not tried */
	uint64_t bytes;              /* downloaded */
};
void kist_bag_fetch_options_init(struct kist_bag_fetch_options *o);
int kist_bag_fetch(const char *path, const struct kist_bag_fetch_options *opt,
		   struct kist_bag_fetch_result *res, struct kist_findings *findings,
		   struct kist_error *err);

/* info.c */
/* What `kist bag info` shows: the bag as read, and data/ as walked (sizes
 * only, nothing hashed). */
struct kist_bag_summary {
	struct kist_bag *bag;             /* owned */
	kist_algset payload_algs, tag_algs;
	size_t manifest_files;            /* distinct paths over the payload manifests */
	uint64_t manifest_bytes;          /* sizes of those found in data/ */
	uint64_t files, bytes;            /* regular files under data/ */
	size_t unlisted;                  /* in data/, in no payload manifest */
	size_t missing;                   /* in a payload manifest, not in data/ */
	int has_data_dir;
	const char *oxum;                 /* declared Payload-Oxum, or NULL */
	int oxum_state;                   /* KIST_OXUM_* */
	uint64_t oxum_bytes, oxum_files;  /* declared, when well formed */
};
enum { KIST_OXUM_ABSENT, KIST_OXUM_MALFORMED, KIST_OXUM_MATCHES, KIST_OXUM_DIFFERS };
/* Parses "OCTETS.STREAMS"; returns 0, or -1 when malformed. */
int kist_bag_oxum_parse(const char *value, uint64_t *bytes, uint64_t *files);
/* Opens the bag (kist_bag_open's findings and status) and walks data/. */
int kist_bag_summarize(const char *path, struct kist_bag_summary *out,
		       struct kist_findings *findings, struct kist_error *err);
void kist_bag_summary_free(struct kist_bag_summary *s);

#ifdef __cplusplus
}
#endif
#endif
