/* BagIt Profiles (BagIt Profiles Specification 1.4.0, and the versions
 * before it down to 1.1.0): what a repository says a bag must hold before it
 * accepts it. A profile is read from JSON (json-c), checked for consistency,
 * and then applied to bags: to a bag's description (struct kist_bag_view,
 * read from a directory or a serialized bag without reading payload bytes)
 * or to the bag-info elements a bag is about to be made with. */
#ifndef KIST_PROFILE_H
#define KIST_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <kist/bag.h>
#include <kist/digest.h>
#include <kist/walk.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_findings;
struct kist_error;

/* A JSON array of strings; given == 0 when the profile leaves it out. */
struct kist_profile_list {
	char **items;
	size_t count;
	int given;
};

/* One element of the profile's Bag-Info section. */
struct kist_profile_tag {
	char *label;
	int required;                   /* default false */
	int repeatable;                 /* default true */
	struct kist_profile_list values;    /* empty: any value */
	char *description;              /* may be NULL */
};

enum kist_profile_serialization {
	KIST_PROFILE_SER_OPTIONAL = 0,  /* the default */
	KIST_PROFILE_SER_REQUIRED,
	KIST_PROFILE_SER_FORBIDDEN
};

struct kist_profile {
	char *source;                   /* file name or URL it was read from */
	/* BagIt-Profile-Info */
	char *identifier;               /* BagIt-Profile-Identifier */
	char *version;                  /* Version: of the profile itself */
	char *source_organization, *external_description;
	int spec_minor;                 /* BagIt-Profile-Version 1.<this>; 1 when absent */
	int spec_declared;              /* BagIt-Profile-Version was given */
	/* Bag-Info */
	struct kist_profile_tag *tags;
	size_t ntags;
	/* the rules; a list's given == 0 means the field is absent (or ignored
	   because the profile's version does not define it) */
	struct kist_profile_list manifests_required, manifests_allowed;
	struct kist_profile_list tag_manifests_required, tag_manifests_allowed;
	struct kist_profile_list tag_files_required, tag_files_allowed;
	struct kist_profile_list payload_files_required, payload_files_allowed;
	struct kist_profile_list accept_serialization, accept_bagit_version;
	int allow_fetch;                /* default true */
	int fetch_required;             /* default false */
	int data_empty;                 /* default false */
	enum kist_profile_serialization serialization;
};

/* Largest profile kist reads (file or URL), and the JSON nesting it allows
 * (a profile nests four deep; anything far deeper is not a profile). */
#define KIST_PROFILE_MAX_BYTES (1024 * 1024)
#define KIST_PROFILE_MAX_DEPTH 16

/* Parses a profile from JSON text. source names it in findings. Every
 * problem is a finding with a "profile." code: errors for a malformed
 * profile (not JSON, wrong types, a required field missing, rules that
 * contradict each other), warnings for fields that are ignored (unknown, or
 * newer than the profile's BagIt-Profile-Version). Returns KIST_OK with *out
 * set, KIST_INVALID when the profile is malformed (*out NULL), KIST_FAILED
 * when out of memory. */
int kist_profile_parse(const char *text, size_t len, const char *source, struct kist_profile **out,
		       struct kist_findings *findings);
/* Reads location: a file, or with allow_fetch an http://, https:// or
 * file:// URL (libcurl; Accept: application/json; at most
 * KIST_PROFILE_MAX_BYTES). A URL without allow_fetch, an unreadable file or
 * an unreachable URL is KIST_FAILED with err set and a "profile.unreadable"
 * or "profile.unreachable" failure finding; a malformed profile is
 * KIST_INVALID. */
int kist_profile_load(const char *location, int allow_fetch, struct kist_profile **out,
		      struct kist_findings *findings, struct kist_error *err);
/* Does location look like a URL (scheme "://")? */
int kist_profile_is_url(const char *location);
/* Fetches a URL into a malloc'd, NUL-terminated buffer. */
int kist_profile_fetch(const char *url, char **text, size_t *len, struct kist_error *err);
void kist_profile_free(struct kist_profile *p);

/* "1.4.0" style name of the rules the profile is read with. */
const char *kist_profile_spec_version(const struct kist_profile *p);
/* The profile's Bag-Info element for label (case-insensitive), or NULL. */
const struct kist_profile_tag *kist_profile_tag(const struct kist_profile *p, const char *label);
/* May a bag be serialized as mime (NULL: a format without one)? No when
 * Serialization is forbidden; yes when Accept-Serialization is absent. */
int kist_profile_accepts_serialization(const struct kist_profile *p, const char *mime);
/* Is BagIt major.minor in Accept-BagIt-Version (compared as numbers)? */
int kist_profile_accepts_version(const struct kist_profile *p, int major, int minor);
/* Does a path match one of the list's patterns ('*' matches any run of
 * characters, '/' included, as the specification's "zero or more
 * characters")? */
int kist_profile_list_matches(const struct kist_profile_list *l, const char *path);
/* Does the list name this manifest algorithm (BagIt names: "sha256",
 * "sha3256"; kist's spellings accepted)? */
int kist_profile_list_has_alg(const struct kist_profile_list *l, const char *bagit_name);

/* --- a bag as the profile rules see it ------------------------------------ */

/* What the rules need, from a directory or a serialized bag: names, sizes,
 * bagit.txt and bag-info.txt; never a payload byte. */
struct kist_bag_view {
	int major, minor;               /* BagIt-Version, -1 when unknown */
	int has_info;                   /* bag-info.txt (package-info.txt) read */
	struct kist_bag_info info;
	struct kist_file_list tag_files;     /* every file outside data/ */
	/* in: how much of data/ to look at (init: KIST_VIEW_PAYLOAD_NAMES).
	   Only Payload-Files-* need the names and only Data-Empty the counts;
	   a million-file bag's names cost memory and its walk time. */
	enum { KIST_VIEW_PAYLOAD_NONE, KIST_VIEW_PAYLOAD_COUNT, KIST_VIEW_PAYLOAD_NAMES } payload_detail;
	uint64_t payload_files, payload_bytes;   /* under data/ (COUNT, NAMES) */
	struct kist_file_list payload;       /* every file under data/ (NAMES) */
	int has_data_dir;
	const char *serialization;      /* NULL: a directory; else the MIME type */
	char *archive_format;           /* libarchive's name for it, e.g. "GNU tar format" */
};

void kist_bag_view_init(struct kist_bag_view *v);
void kist_bag_view_free(struct kist_bag_view *v);
/* Reads the view of the bag at path (v initialised, payload_detail
 * set as wanted): a directory, or a tar, tar.gz, zip or 7z file. Problems of the bag itself are left to
 * BagIt validation. Returns KIST_OK, KIST_INVALID when it is not a bag (no
 * bagit.txt; err says so), KIST_FAILED (err set). */
int kist_bag_view_read(const char *path, struct kist_bag_view *v, struct kist_findings *findings,
		       struct kist_error *err);
/* MIME types a serialized bag's format goes by, NULL-terminated, for
 * matching Accept-Serialization ("application/zip"...). */
const char *const *kist_profile_mime_aliases(const char *mime);

/* --- applying a profile ------------------------------------------------------ */

/* The rules the specification calls fatal (Accept-BagIt-Version,
 * Accept-Serialization): returns how many failed (each an error finding). */
size_t kist_profile_check_fatal(const struct kist_profile *p, const struct kist_bag_view *v,
				struct kist_findings *findings);
/* Every other rule; returns how many violations were found. */
size_t kist_profile_check_bag(const struct kist_profile *p, const struct kist_bag_view *v,
			      struct kist_findings *findings);
/* The Bag-Info rules (required, values, repeatable, BagIt-Profile-Identifier)
 * over info. creating: the elements bag create computes itself
 * (Bagging-Date, Bag-Size, Payload-Oxum, Bag-Software-Agent,
 * BagIt-Profile-Identifier) count as present. Returns the violations. */
size_t kist_profile_check_info(const struct kist_profile *p, const struct kist_bag_info *info,
			       int creating, struct kist_findings *findings);
/* Algorithms for a new bag's payload (is_tag 0) or tag (1) manifests: the
 * required ones plus those of wanted the profile allows. Algorithms kist
 * does not know are left out. */
kist_algset kist_profile_algorithms(const struct kist_profile *p, int is_tag, kist_algset wanted);

#ifdef __cplusplus
}
#endif
#endif
