/* Writing bag files: atomically, in the forms RFC 8493 gives. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/pipeline.h>
#include <kist/walk.h>

int kist_write_atomic(int dirfd, const char *name, const void *data, size_t len,
		      struct kist_error *err)
{
	char tmp[512];
	const char *p = data;
	size_t left = len;
	int fd, rc = KIST_OK;

	if (snprintf(tmp, sizeof(tmp), ".%s.kist-tmp.%ld", name, (long)getpid()) >= (int)sizeof(tmp) ||
	    strchr(name, '/'))
		return kist_error_set(err, KIST_FAILED, "%s: name not usable for an atomic write", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return kist_error_sys(err, errno, "cannot create %s", name);
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kist_error_sys(err, errno, "cannot write %s", name);
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (rc == KIST_OK && fsync(fd) < 0)
		rc = kist_error_sys(err, errno, "cannot write %s", name);
	if (close(fd) < 0 && rc == KIST_OK)
		rc = kist_error_sys(err, errno, "cannot write %s", name);
	if (rc == KIST_OK && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = kist_error_sys(err, errno, "cannot replace %s", name);
	if (rc != KIST_OK) {
		unlinkat(dirfd, tmp, 0);   /* a full disk leaves no half-written file */
		return rc;
	}
	fsync(dirfd);   /* the rename itself must survive a crash */
	return KIST_OK;
}

int kist_bag_write_bagit_txt(int dirfd, struct kist_error *err)
{
	static const char decl[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

	return kist_write_atomic(dirfd, "bagit.txt", decl, sizeof(decl) - 1, err);
}

int kist_bag_write_info(int dirfd, const char *name, const struct kist_bag_info *info,
			struct kist_error *err)
{
	size_t len = 0;
	char *text = kist_bag_info_format(info, &len);
	int rc;

	if (!text)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	rc = kist_write_atomic(dirfd, name, text, len, err);
	free(text);
	return rc;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct kist_manifest_line *)a)->path,
		      ((const struct kist_manifest_line *)b)->path);
}

int kist_bag_write_manifest(int dirfd, int alg, int is_tag, struct kist_manifest_line *lines,
			    size_t n, struct kist_error *err)
{
	char name[64], hex[KIST_DIGEST_HEX_MAX];
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int rc;

	snprintf(name, sizeof(name), "%smanifest-%s.txt", is_tag ? "tag" : "", kist_alg_bagit_name(alg));
	if (n > 1)
		qsort(lines, n, sizeof(*lines), cmp_line);
	if (!(out = open_memstream(&text, &len)))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char *path = kist_bagit_percent_encode(lines[i].path);

		if (!path) {
			fclose(out);
			free(text);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
		kist_hex(lines[i].digest, kist_alg_size(alg), hex);
		fprintf(out, "%s  %s\n", hex, path);
		free(path);
	}
	if (fclose(out) != 0) {
		free(text);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	rc = kist_write_atomic(dirfd, name, text, len, err);
	free(text);
	return rc;
}

/* Lists the tag files: every regular file outside data/, except the tag
 * manifests, with paths relative to the bag. Symlinks and special files in
 * the tag area are refused: a tag manifest cannot vouch for them. */
static int list_tag_files(int dirfd, const char *prefix, int depth, struct kist_file_list *l,
			  struct kist_error *err)
{
	int fd = dup(dirfd), rc = KIST_OK;
	DIR *d;
	struct dirent *de;

	if (depth > 64)
		return kist_error_set(err, KIST_FAILED, "tag directories nested too deep at %s", prefix);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return kist_error_sys(err, errno, "cannot read %s", *prefix ? prefix : "the bag");
	}
	rewinddir(d);
	while (rc == KIST_OK && (de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;
		char *path;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (!*prefix && (strcmp(n, "data") == 0 ||
				 (strncmp(n, "tagmanifest-", 12) == 0 && strstr(n, ".txt")) ||
				 strstr(n, ".kist-tmp.")))
			continue;
		if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = kist_error_sys(err, errno, "cannot stat %s%s", prefix, n);
			break;
		}
		if (asprintf(&path, "%s%s", prefix, n) < 0) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			break;
		}
		if (S_ISREG(st.st_mode)) {
			if (kist_file_list_add(l, path, (uint64_t)st.st_size) < 0)
				rc = kist_error_set(err, KIST_FAILED, "out of memory");
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char *subprefix = NULL;

			if (sub < 0 || asprintf(&subprefix, "%s/", path) < 0)
				rc = kist_error_sys(err, errno, "cannot open %s", path);
			else
				rc = list_tag_files(sub, subprefix, depth + 1, l, err);
			if (sub >= 0)
				close(sub);
			free(subprefix);
		} else {
			rc = kist_error_set(err, KIST_INVALID, "%s in the tag area is not a regular file "
					    "(a symlink or special file); a tag manifest cannot cover it", path);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

struct tag_hashes {
	struct kist_manifest_line *lines;   /* one per file and algorithm, alg-major */
	size_t nfiles;
	kist_algset algs;
	char fail[512];
};

static int take_tag(void *ctx, const struct kist_hash_result *r)
{
	struct tag_hashes *t = ctx;
	size_t k = 0;

	if (r->fail_code) {
		snprintf(t->fail, sizeof(t->fail), "%s: %s", r->path, r->fail_message);
		return 1;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		struct kist_manifest_line *l;

		if (!(t->algs & KIST_ALG_BIT(a)))
			continue;
		l = &t->lines[k++ * t->nfiles + r->index];
		l->path = r->path;
		memcpy(l->digest, r->digest[a], kist_alg_size(a));
	}
	return 0;
}

/* Removes tagmanifest-*.txt files of algorithms not in keep. */
static int remove_other_tag_manifests(int dirfd, kist_algset keep, struct kist_error *err)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		char name[64];

		if (keep & KIST_ALG_BIT(a))
			continue;
		snprintf(name, sizeof(name), "tagmanifest-%s.txt", kist_alg_bagit_name(a));
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return kist_error_sys(err, errno, "cannot remove %s", name);
	}
	return KIST_OK;
}

int kist_bag_write_tag_manifests(int dirfd, kist_algset algs, struct kist_error *err)
{
	struct kist_file_list files;
	struct kist_hash_item *items = NULL;
	struct kist_pipeline_options po;
	struct tag_hashes t = { .algs = algs };
	int nalgs = kist_algset_count(algs), rc;

	kist_file_list_init(&files);
	if ((rc = list_tag_files(dirfd, "", 0, &files, err)) != KIST_OK)
		goto out;
	t.nfiles = files.count;
	items = calloc(files.count + 1, sizeof(*items));
	t.lines = calloc(files.count * (size_t)nalgs + 1, sizeof(*t.lines));
	if (!items || !t.lines) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < files.count; i++) {
		items[i].path = files.files[i].path;
		items[i].size = files.files[i].size;
	}
	kist_pipeline_options_init(&po);
	po.algs = algs;
	po.jobs = 1;           /* a handful of small files */
	po.dirfd = dirfd;
	po.beneath = 1;
	rc = kist_pipeline_run(&po, items, files.count, take_tag, &t, err);
	/* take_tag stops the run at the first failure: name it, not the stop */
	if (t.fail[0])
		rc = kist_error_set(err, KIST_FAILED, "cannot hash tag file %s", t.fail);
	for (int a = 0, k = 0; rc == KIST_OK && a < KIST_ALG_COUNT; a++)
		if (algs & KIST_ALG_BIT(a))
			rc = kist_bag_write_manifest(dirfd, a, 1, &t.lines[(size_t)k++ * files.count],
						     files.count, err);
	if (rc == KIST_OK)
		rc = remove_other_tag_manifests(dirfd, algs, err);
out:
	free(items);
	free(t.lines);
	kist_file_list_free(&files);
	return rc;
}

void kist_bag_oxum(uint64_t bytes, uint64_t files, char *out, size_t len)
{
	snprintf(out, len, "%llu.%llu", (unsigned long long)bytes, (unsigned long long)files);
}

void kist_bag_size(uint64_t bytes, char *out, size_t len)
{
	static const char *const units[] = { "bytes", "KB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000 && u < 6) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu bytes", (unsigned long long)bytes);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}
