/* A bag as the profile rules see it: version, bag-info, the names and sizes
 * of its tag and payload files, and its serialization. Read from a
 * directory (kist_bag_open and a walk) or a serialized bag (one pass of
 * libarchive over the headers, reading only bagit.txt and bag-info.txt).
 * No payload byte is read either way. */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/profile.h>

#include "profile-internal.h"

/* Largest bagit.txt or bag-info.txt read from an archive. */
#define TAG_MAX (1024 * 1024)

void kist_bag_view_init(struct kist_bag_view *v)
{
	memset(v, 0, sizeof(*v));
	v->major = v->minor = -1;
	v->payload_detail = KIST_VIEW_PAYLOAD_NAMES;
	kist_bag_info_init(&v->info);
	kist_file_list_init(&v->tag_files);
	kist_file_list_init(&v->payload);
}

void kist_bag_view_free(struct kist_bag_view *v)
{
	kist_bag_info_free(&v->info);
	kist_file_list_free(&v->tag_files);
	kist_file_list_free(&v->payload);
	int detail = v->payload_detail;

	free(v->archive_format);
	kist_bag_view_init(v);
	v->payload_detail = detail;
}

/* --- MIME types --------------------------------------------------------------- */

static const char *const mime_tar[] = { "application/x-tar", "application/tar", NULL };
static const char *const mime_gzip[] = { "application/gzip", "application/x-gzip", "application/tar+gzip",
					 "application/x-gtar", "application/x-tgz",
					 "application/x-compressed-tar", NULL };
static const char *const mime_zip[] = { "application/zip", "application/x-zip-compressed",
					"application/x-zip", NULL };
static const char *const mime_7z[] = { "application/x-7z-compressed", NULL };
static const char *const mime_bzip2[] = { "application/x-bzip2", "application/x-bzip", NULL };
static const char *const mime_xz[] = { "application/x-xz", NULL };
static const char *const mime_zstd[] = { "application/zstd", NULL };
static const char *const *const mimes[] = { mime_tar, mime_gzip, mime_zip, mime_7z,
					    mime_bzip2, mime_xz, mime_zstd };

const char *const *kist_profile_mime_aliases(const char *mime)
{
	for (size_t i = 0; mime && i < sizeof(mimes) / sizeof(mimes[0]); i++)
		for (size_t j = 0; mimes[i][j]; j++)
			if (strcasecmp(mimes[i][j], mime) == 0)
				return mimes[i];
	return NULL;
}

int kist_profile_mime_known(const char *mime)
{
	return kist_profile_mime_aliases(mime) != NULL;
}

/* The MIME type of what libarchive found: the outermost filter for a
 * compressed tar, the format otherwise. */
static const char *archive_mime(struct archive *a)
{
	int format = archive_format(a) & ARCHIVE_FORMAT_BASE_MASK;

	switch (format) {
	case ARCHIVE_FORMAT_ZIP: return mime_zip[0];
	case ARCHIVE_FORMAT_7ZIP: return mime_7z[0];
	case ARCHIVE_FORMAT_TAR:
		switch (archive_filter_code(a, 0)) {
		case ARCHIVE_FILTER_NONE: return mime_tar[0];
		case ARCHIVE_FILTER_GZIP: return mime_gzip[0];
		case ARCHIVE_FILTER_BZIP2: return mime_bzip2[0];
		case ARCHIVE_FILTER_XZ: return mime_xz[0];
		case ARCHIVE_FILTER_ZSTD: return mime_zstd[0];
		}
		return NULL;
	}
	return NULL;
}

static int add_payload(struct kist_bag_view *v, const char *rel, uint64_t size)
{
	v->payload_files++;
	v->payload_bytes += size;
	return v->payload_detail == KIST_VIEW_PAYLOAD_NAMES ? kist_file_list_add(&v->payload, rel, size) : 0;
}

/* "M.N" with numbers that fit an int; -1 otherwise. */
static int parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a, b;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	a = strtol(s, &end, 10);
	if (errno || *end != '.' || a > 1000 || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (errno || b > 1000 || (*end && *end != '\r' && *end != '\n' && *end != ' '))
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

/* "BagIt-Version: M.N" and "Tag-File-Character-Encoding: E" from bagit.txt. */
static void parse_bagit_txt(struct kist_bag_view *v, const char *text, char **encoding)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = line + strcspn(line, "\r\n");
		int major, minor;

		if (strncmp(line, "BagIt-Version: ", 15) == 0 && parse_version(line + 15, &major, &minor) == 0) {
			v->major = major;
			v->minor = minor;
		} else if (strncmp(line, "Tag-File-Character-Encoding:", 28) == 0) {
			const char *s = line + 28;

			s += strspn(s, " \t");
			free(*encoding);
			*encoding = strndup(s, (size_t)(eol - s));
		}
		line = *eol ? eol + 1 + (eol[0] == '\r' && eol[1] == '\n') : NULL;
	}
}

/* bagit.txt and the bag-info file's bytes (either may be NULL) into v. */
static void set_tags(struct kist_bag_view *v, const char *bagit, const char *info, size_t info_len,
		     int legacy_info)
{
	char *encoding = NULL, *utf8 = NULL;
	size_t ulen = 0;
	int bom = 0;
	struct kist_error e;
	struct kist_findings *quiet;

	if (bagit)
		parse_bagit_txt(v, bagit, &encoding);
	if (info && (quiet = kist_findings_new())) {
		/* its problems are BagIt validation's to report */
		kist_error_clear(&e);
		if (kist_tagfile_decode(info, info_len, encoding, &utf8, &ulen, &bom, &e) == KIST_OK) {
			kist_bag_info_parse(&v->info, utf8, ulen, legacy_info ? "package-info.txt" : "bag-info.txt",
					    v->major == 0, quiet);
			v->has_info = 1;
		}
		kist_findings_free(quiet);
	}
	free(utf8);
	free(encoding);
}

/* A tag file of the bag's top directory, opened beneath it (no symlink). */
static int read_tag_file(int dirfd, const char *name, char **out, size_t *len)
{
	int fd = kist_path_open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	*out = NULL;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(buf = malloc(TAG_MAX + 1)))
		goto fail;
	for (;;) {
		ssize_t got = read(fd, buf + n, TAG_MAX + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || (n += (size_t)(got > 0 ? got : 0)) > TAG_MAX)
			goto fail;
		if (got == 0)
			break;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/* --- a directory ------------------------------------------------------------- */

static int collect(void *ctx, const struct kist_walk_entry *e)
{
	struct kist_bag_view *v = ctx;

	if (e->type == KIST_ENTRY_DIR && strcmp(e->rel, "data") == 0) {
		v->has_data_dir = 1;
		if (v->payload_detail == KIST_VIEW_PAYLOAD_NONE)
			return 1;   /* no rule looks inside */
	}
	if (e->type != KIST_ENTRY_FILE)
		return 0;
	if (strncmp(e->rel, "data/", 5) == 0)
		return add_payload(v, e->rel, e->size) < 0 ? -1 : 0;
	return kist_file_list_add(&v->tag_files, e->rel, e->size) < 0 ? -1 : 0;
}

static int read_dir(const char *path, struct kist_bag_view *v, struct kist_findings *findings,
		    struct kist_error *err)
{
	struct kist_findings *quiet = NULL;
	struct kist_walk_options wo = { .follow_root = 1 };
	char *bagit = NULL, *info = NULL;
	size_t bagit_len = 0, info_len = 0;
	int dirfd, rc = KIST_FAILED, legacy = 0;

	/* bagit.txt and bag-info.txt only: the manifests are no rule's business */
	if ((dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return kist_error_sys(err, errno, "%s", path);
	if (read_tag_file(dirfd, "bagit.txt", &bagit, &bagit_len) < 0) {
		rc = kist_error_set(err, KIST_INVALID, "%s: not a bag: no readable bagit.txt", path);
		goto out;
	}
	if (read_tag_file(dirfd, "bag-info.txt", &info, &info_len) < 0 &&
	    read_tag_file(dirfd, "package-info.txt", &info, &info_len) == 0)
		legacy = 1;
	set_tags(v, bagit, info, info_len, legacy);
	if (!(quiet = kist_findings_new())) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	/* symlinks and the like are BagIt validation's to report */
	rc = kist_walk(path, &wo, collect, v, quiet, err);
	if (rc != KIST_OK && !err->message[0])
		kist_error_set(err, KIST_FAILED, "%s: out of memory", path);
out:
	kist_findings_free(quiet);
	free(bagit);
	free(info);
	close(dirfd);
	return rc;
}

/* --- a serialized bag --------------------------------------------------------- */

static int read_entry_data(struct archive *a, const char *name, char **out, size_t *len,
			   struct kist_error *err)
{
	char *buf = malloc(TAG_MAX + 1);
	size_t n = 0;
	la_ssize_t got;

	if (!buf)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	while ((got = archive_read_data(a, buf + n, TAG_MAX + 1 - n)) > 0) {
		n += (size_t)got;
		if (n > TAG_MAX) {
			free(buf);
			return kist_error_set(err, KIST_FAILED, "%s: larger than %d bytes", name, TAG_MAX);
		}
	}
	if (got < 0) {
		free(buf);
		return kist_error_set(err, KIST_FAILED, "%s: %s", name, archive_error_string(a));
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return KIST_OK;
}

static int read_archive(const char *path, struct kist_bag_view *v, struct kist_findings *findings,
			struct kist_error *err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *root = NULL, *bagit = NULL, *info = NULL;
	size_t bagit_len = 0, info_len = 0, rootlen = 0;
	int rc = KIST_FAILED, r, first = 1, legacy_info = 0;

	if (!a)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	/* only what bags are serialized as: "all" would read mtree text, whose
	   entries name files on this machine, and run external filter programs */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_7zip(a);
	if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
		kist_error_set(err, KIST_FAILED, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e), *rel;
		int type = archive_entry_filetype(e);

		if (first) {
			const char *mime = archive_mime(a);

			first = 0;
			v->serialization = mime;
			v->archive_format = strdup(archive_format_name(a) ? archive_format_name(a) : "?");
		}
		if (!name)
			continue;
		while (strncmp(name, "./", 2) == 0)
			name += 2;
		/* RFC 8493 4.2: one top-level directory holds the bag */
		if (!root) {
			size_t n = strcspn(name, "/");

			if (!(root = strndup(name, n)))
				goto oom;
			rootlen = n;
		}
		if (strncmp(name, root, rootlen) != 0 || (name[rootlen] != '/' && name[rootlen] != '\0'))
			continue;   /* outside the bag's directory: BagIt validation reports it */
		rel = name[rootlen] ? name + rootlen + 1 : "";
		if (type == AE_IFDIR) {
			if (strcmp(rel, "data") == 0 || strcmp(rel, "data/") == 0)
				v->has_data_dir = 1;
			continue;
		}
		if (type != AE_IFREG || !*rel)
			continue;
		if (strncmp(rel, "data/", 5) == 0) {
			v->has_data_dir = 1;
			if (add_payload(v, rel, (uint64_t)archive_entry_size(e)) < 0)
				goto oom;
			continue;
		}
		if (kist_file_list_add(&v->tag_files, rel, (uint64_t)archive_entry_size(e)) < 0)
			goto oom;
		if (strcmp(rel, "bagit.txt") == 0 && !bagit) {
			if (read_entry_data(a, name, &bagit, &bagit_len, err) != KIST_OK)
				goto out;
		} else if ((strcmp(rel, "bag-info.txt") == 0 || strcmp(rel, "package-info.txt") == 0) &&
			   !info) {
			legacy_info = rel[0] == 'p';
			if (read_entry_data(a, name, &info, &info_len, err) != KIST_OK)
				goto out;
		}
	}
	if (r != ARCHIVE_EOF) {
		kist_error_set(err, KIST_FAILED, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	if (!bagit) {
		rc = kist_error_set(err, KIST_INVALID, "%s: not a bag: no bagit.txt in the archive's top directory",
				    path);
		goto out;
	}
	set_tags(v, bagit, info, info_len, legacy_info);
	rc = KIST_OK;
	goto out;
oom:
	kist_error_set(err, KIST_FAILED, "out of memory");
out:
	archive_read_free(a);
	free(root);
	free(bagit);
	free(info);
	return rc;
}

int kist_bag_view_read(const char *path, struct kist_bag_view *v, struct kist_findings *findings,
		       struct kist_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return kist_error_sys(err, errno, "%s", path);
	if (S_ISDIR(st.st_mode))
		return read_dir(path, v, findings, err);
	if (S_ISREG(st.st_mode))
		return read_archive(path, v, findings, err);
	return kist_error_set(err, KIST_FAILED, "%s: neither a directory nor a serialized bag", path);
}
