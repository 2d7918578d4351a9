/* Reading a bag: bagit.txt, the bag-info file, manifests, fetch.txt. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>

#include "transfer.h"

#define TAGFILE_MAX (16u << 20)   /* bagit.txt, bag-info.txt, fetch.txt read whole up to this */

int kist_bag_version_at_least(const struct kist_bag *bag, int major, int minor)
{
	return bag->major > major || (bag->major == major && bag->minor >= minor);
}

struct kist_bag_manifest *kist_bag_manifest_for(const struct kist_bag *bag, int alg, int is_tag)
{
	for (size_t i = 0; i < bag->nmanifests; i++)
		if (bag->manifests[i].alg == alg && bag->manifests[i].is_tag == !!is_tag)
			return &bag->manifests[i];
	return NULL;
}

kist_algset kist_bag_algorithms(const struct kist_bag *bag, int is_tag)
{
	kist_algset set = 0;

	for (size_t i = 0; i < bag->nmanifests; i++)
		if (bag->manifests[i].is_tag == !!is_tag)
			set |= KIST_ALG_BIT(bag->manifests[i].alg);
	return set;
}

void kist_bag_free(struct kist_bag *bag)
{
	if (!bag)
		return;
	if (bag->dirfd >= 0)
		close(bag->dirfd);
	for (size_t i = 0; i < bag->nmanifests; i++) {
		free(bag->manifests[i].name);
		kist_checklist_free(&bag->manifests[i].list);
	}
	free(bag->manifests);
	for (size_t i = 0; i < bag->nfetch; i++) {
		free(bag->fetch[i].url);
		free(bag->fetch[i].path);
	}
	free(bag->fetch);
	kist_bag_info_free(&bag->info);
	free(bag->info_name);
	free(bag->encoding);
	free(bag->path);
	free(bag);
}

/* Where the tag files come from: the bag's directory, or (for a serialized
 * bag read as a stream) files already in memory (transfer.h). */
static const struct kist_bag_memfile *mem_find(const char *name);
/* Set by kist_bag_open_memory for the duration of one open on this thread:
 * the readers below take a dirfd, and -1 sends them here. */
static __thread const struct kist_bag_memfile *mem_files;
static __thread size_t mem_nfiles;

/* Reads a whole small file in the bag's top directory (never through a
 * symlink). Returns 0, ENOENT when absent, or another errno. */
static int slurp(int dirfd, const char *name, char **data, size_t *len)
{
	int fd;

	if (dirfd < 0) {
		const struct kist_bag_memfile *m = mem_find(name);

		if (!m)
			return ENOENT;
		if (m->len > TAGFILE_MAX)
			return EFBIG;
		if (!(*data = malloc(m->len + 1)))
			return ENOMEM;
		memcpy(*data, m->data, m->len);
		(*data)[m->len] = '\0';
		*len = m->len;
		return 0;
	}
	fd = kist_path_open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK);
	struct stat st;
	char *buf;
	size_t got = 0;
	int e;

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > TAGFILE_MAX) {
		e = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		close(fd);
		return e;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	e = errno;
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return e ? e : EIO;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

/* bagit.txt: exactly "BagIt-Version: M.N" then "Tag-File-Character-Encoding: E",
 * UTF-8 without a byte order mark (RFC 8493 2.1.1). */
static int read_declaration(struct kist_bag *bag, struct kist_findings *fs, struct kist_error *err)
{
	struct kist_bag_info decl;
	char *raw = NULL, *text = NULL;
	size_t len = 0, tlen = 0;
	int bom = 0, e, rc = KIST_OK;
	const char *version, *enc;
	struct kist_error derr;

	e = slurp(bag->dirfd, "bagit.txt", &raw, &len);
	if (e == ENOENT) {
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.missing", "bagit.txt",
				  "no bagit.txt: not a bag");
		return KIST_INVALID;
	}
	if (e == ELOOP || e == EINVAL) {
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.not-regular", "bagit.txt",
				  "bagit.txt is not a regular file");
		return KIST_INVALID;
	}
	if (e)
		return kist_error_sys(err, e, "%s/bagit.txt", bag->path);
	kist_bag_info_init(&decl);
	if (kist_tagfile_decode(raw, len, "UTF-8", &text, &tlen, &bom, &derr) != KIST_OK) {
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.encoding", "bagit.txt", "%s", derr.message);
		rc = KIST_INVALID;
		goto out;
	}
	if (bom)
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.bom", "bagit.txt",
				  "begins with a byte order mark, which RFC 8493 forbids");
	if (kist_bag_info_parse(&decl, text, tlen, "bagit.txt", 0, fs) < 0) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	version = kist_bag_info_get(&decl, "BagIt-Version");
	enc = kist_bag_info_get(&decl, "Tag-File-Character-Encoding");
	if (!version || !enc) {
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.malformed", "bagit.txt",
				  "must declare BagIt-Version and Tag-File-Character-Encoding");
		rc = KIST_INVALID;
		goto out;
	}
	if (decl.count != 2 || strcmp(decl.tags[0].label, "BagIt-Version") != 0 ||
	    strcmp(decl.tags[1].label, "Tag-File-Character-Encoding") != 0)
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.malformed", "bagit.txt",
				  "must hold exactly the lines BagIt-Version and "
				  "Tag-File-Character-Encoding, in that order");
	if (sscanf(version, "%d.%d", &bag->major, &bag->minor) != 2 || bag->major < 0 ||
	    bag->minor < 0 || strspn(version, "0123456789.") != strlen(version)) {
		kist_findings_add(fs, KIST_SEV_ERROR, "bagit.version", "bagit.txt",
				  "BagIt-Version '%s' is not M.N", version);
		bag->major = 1;
		bag->minor = 0;
	} else if (!kist_bag_version_at_least(bag, 0, 93) || kist_bag_version_at_least(bag, 1, 1)) {
		kist_findings_add(fs, KIST_SEV_WARNING, "bagit.unknown-version", "bagit.txt",
				  "BagIt-Version %s is not one kist knows (0.93 to 1.0); read as 1.0",
				  version);
	}
	if (!(bag->encoding = strdup(enc)))
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
out:
	kist_bag_info_free(&decl);
	free(raw);
	free(text);
	return rc;
}

/* Decodes a tag file's bytes per the bag's declared encoding. */
static int decode(struct kist_bag *bag, const char *name, char *raw, size_t len, char **text,
		  size_t *tlen, struct kist_findings *fs)
{
	struct kist_error derr;
	int bom = 0;

	if (kist_tagfile_decode(raw, len, bag->encoding, text, tlen, &bom, &derr) != KIST_OK) {
		kist_findings_add(fs, KIST_SEV_ERROR, "taginfo.encoding", name,
				  "cannot read as %s: %s", bag->encoding, derr.message);
		return -1;
	}
	if (bom)
		kist_findings_add(fs, KIST_SEV_WARNING, "taginfo.bom", name, "begins with a byte order mark");
	return 0;
}

static int read_info(struct kist_bag *bag, struct kist_findings *fs, struct kist_error *err)
{
	/* package-info.txt up to 0.95, bag-info.txt from 0.96 on */
	const char *want = kist_bag_version_at_least(bag, 0, 96) ? "bag-info.txt" : "package-info.txt";
	const char *other = strcmp(want, "bag-info.txt") == 0 ? "package-info.txt" : "bag-info.txt";
	const char *name = want;
	char *raw = NULL, *text = NULL;
	size_t len, tlen;
	int e = slurp(bag->dirfd, name, &raw, &len), rc = KIST_OK;

	if (e == ENOENT && slurp(bag->dirfd, other, &raw, &len) == 0) {
		kist_findings_add(fs, KIST_SEV_WARNING, "taginfo.wrong-name", other,
				  "BagIt %d.%d calls this file %s", bag->major, bag->minor, want);
		name = other;
		e = 0;
	}
	if (e == ENOENT)
		return KIST_OK;   /* optional */
	if (e) {
		kist_findings_add(fs, KIST_SEV_FAILURE, "taginfo.unreadable", name, "%s", strerror(e));
		return KIST_OK;
	}
	if (!(bag->info_name = strdup(name)))
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	else if (decode(bag, name, raw, len, &text, &tlen, fs) == 0 &&
		 kist_bag_info_parse(&bag->info, text, tlen, name, !kist_bag_version_at_least(bag, 1, 0),
				     fs) < 0)
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
	free(raw);
	free(text);
	return rc;
}

static int read_manifest(struct kist_bag *bag, const char *name, int alg, int is_tag,
			 struct kist_findings *fs, struct kist_error *err)
{
	struct kist_bag_manifest *m;
	enum kist_checklist_kind kind =
		kist_bag_version_at_least(bag, 1, 0) ? KIST_LIST_BAGIT : KIST_LIST_BAGIT_RAW;
	int utf8 = strcasecmp(bag->encoding, "UTF-8") == 0 || strcasecmp(bag->encoding, "UTF8") == 0;
	FILE *in = NULL;
	char *raw = NULL, *text = NULL;
	size_t len, tlen;
	int fd, rc = KIST_OK;

	m = realloc(bag->manifests, (bag->nmanifests + 1) * sizeof(*m));
	if (!m)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	bag->manifests = m;
	m = &bag->manifests[bag->nmanifests];
	memset(m, 0, sizeof(*m));
	m->alg = alg;
	m->is_tag = is_tag;
	kist_checklist_init(&m->list);
	if (!(m->name = strdup(name)))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	bag->nmanifests++;

	if (utf8 && bag->dirfd < 0) {
		const struct kist_bag_memfile *mf = mem_find(name);

		/* already in memory: read in place */
		if (!mf || !(in = fmemopen((void *)mf->data, mf->len ? mf->len : 1, "r"))) {
			kist_findings_add(fs, KIST_SEV_FAILURE, "manifest.unreadable", name, "%s",
					  strerror(mf ? errno : ENOENT));
			return KIST_OK;
		}
		if (!mf->len)
			fgetc(in);
		int c1 = getc(in), c2 = c1 == 0xef ? getc(in) : EOF, c3 = c2 == 0xbb ? getc(in) : EOF;
		if (c1 == 0xef && c2 == 0xbb && c3 == 0xbf)
			kist_findings_add(fs, KIST_SEV_WARNING, "taginfo.bom", name,
					  "begins with a byte order mark");
		else if (mf->len)
			rewind(in);
	} else if (utf8) {
		/* streamed: a manifest of a million lines is never held whole */
		fd = kist_path_open_beneath(bag->dirfd, name, O_RDONLY | O_NONBLOCK);
		if (fd < 0 || !(in = fdopen(fd, "r"))) {
			kist_findings_add(fs, KIST_SEV_FAILURE, "manifest.unreadable", name, "%s",
					  strerror(errno));
			if (fd >= 0)
				close(fd);
			return KIST_OK;
		}
		/* a UTF-8 byte order mark: tolerated, with a warning */
		int c1 = getc(in), c2 = c1 == 0xef ? getc(in) : EOF, c3 = c2 == 0xbb ? getc(in) : EOF;
		if (c1 == 0xef && c2 == 0xbb && c3 == 0xbf) {
			kist_findings_add(fs, KIST_SEV_WARNING, "taginfo.bom", name,
					  "begins with a byte order mark");
		} else {
			rewind(in);
		}
	} else {
		int e = slurp(bag->dirfd, name, &raw, &len);

		if (e) {
			kist_findings_add(fs, KIST_SEV_FAILURE, "manifest.unreadable", name, "%s",
					  strerror(e));
			return KIST_OK;
		}
		if (decode(bag, name, raw, len, &text, &tlen, fs) < 0 ||
		    !(in = fmemopen(text, tlen ? tlen : 1, "r"))) {
			free(raw);
			free(text);
			return KIST_OK;
		}
		if (!tlen)
			fgetc(in);   /* an empty manifest: fmemopen needs one byte */
	}
	rc = kist_checklist_parse(&m->list, in, name, kind, alg, fs, err);
	fclose(in);
	free(raw);
	free(text);
	return rc;
}

static int is_manifest_name(const char *n, int *alg, int *is_tag)
{
	int a = -1;

	if (kist_checklist_kind_for_name(n, &a) == KIST_LIST_GNU)
		return 0;
	*alg = a;
	*is_tag = strncmp(n, "tagmanifest-", 12) == 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every manifest-*.txt and tagmanifest-*.txt in the top directory, in name order. */
static int read_manifests(struct kist_bag *bag, struct kist_findings *fs, struct kist_error *err)
{
	int fd, rc = KIST_OK;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (bag->dirfd < 0) {
		/* in memory: the same names, in the same order */
		for (size_t i = 0; i < mem_nfiles; i++) {
			const char *nm = mem_files[i].name;
			char **grown;

			if ((strncmp(nm, "manifest-", 9) != 0 && strncmp(nm, "tagmanifest-", 12) != 0) ||
			    strlen(nm) < 5 || strcmp(nm + strlen(nm) - 4, ".txt") != 0)
				continue;
			if (!(grown = realloc(names, (n + 1) * sizeof(*names))) ||
			    !(grown[n] = strdup(nm))) {
				free(grown ? grown : names);
				return kist_error_set(err, KIST_FAILED, "out of memory");
			}
			names = grown;
			n++;
		}
		goto sorted;
	}
	fd = dup(bag->dirfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return kist_error_sys(err, errno, "%s", bag->path);
	}
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		char **grown;

		if ((strncmp(nm, "manifest-", 9) != 0 && strncmp(nm, "tagmanifest-", 12) != 0) ||
		    strlen(nm) < 5 || strcmp(nm + strlen(nm) - 4, ".txt") != 0)
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(*names))) || !(grown[n] = strdup(nm))) {
			free(grown ? grown : names);
			closedir(d);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
		names = grown;
		n++;
	}
	closedir(d);
sorted:
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		int alg, is_tag;

		if (rc == KIST_OK) {
			if (is_manifest_name(names[i], &alg, &is_tag))
				rc = read_manifest(bag, names[i], alg, is_tag, fs, err);
			else
				kist_findings_add(fs, KIST_SEV_WARNING, "manifest.unknown-algorithm",
						  names[i], "algorithm not known to kist; not checked");
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* fetch.txt: "URL LENGTH PATH" lines (RFC 8493 2.2.3). */
static int read_fetch(struct kist_bag *bag, struct kist_findings *fs, struct kist_error *err)
{
	char *raw = NULL, *text = NULL, *line, *save = NULL;
	size_t len, tlen;
	unsigned long lineno = 0;
	int e = slurp(bag->dirfd, "fetch.txt", &raw, &len);

	if (e == ENOENT)
		return KIST_OK;
	bag->has_fetch = 1;
	if (e) {
		kist_findings_add(fs, KIST_SEV_FAILURE, "fetch.unreadable", "fetch.txt", "%s", strerror(e));
		return KIST_OK;
	}
	if (decode(bag, "fetch.txt", raw, len, &text, &tlen, fs) < 0) {
		free(raw);
		return KIST_OK;
	}
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *url, *lenstr, *path, *end;
		struct kist_fetch_entry *f;
		enum kist_path_problem p;

		lineno++;   /* strtok_r skips empty lines: numbers count non-empty lines */
		url = line + strspn(line, " \t");
		lenstr = url + strcspn(url, " \t");
		if (!*lenstr)
			goto malformed;
		*lenstr++ = '\0';
		lenstr += strspn(lenstr, " \t");
		path = lenstr + strcspn(lenstr, " \t");
		if (!*path)
			goto malformed;
		*path++ = '\0';
		path += strspn(path, " \t");
		if (!*path)
			goto malformed;
		if (kist_bag_version_at_least(bag, 1, 0))
			kist_bagit_percent_decode(path);
		p = kist_path_check_relative(path, strlen(path));
		if (p != KIST_PATH_OK && p != KIST_PATH_CONTROL) {
			kist_findings_add(fs, KIST_SEV_ERROR, "fetch.unsafe-path", "fetch.txt",
					  "line %lu: %s: %s", lineno, kist_path_problem_str(p), path);
			continue;
		}
		if (strncmp(path, "data/", 5) != 0)
			kist_findings_add(fs, KIST_SEV_ERROR, "fetch.outside-payload", "fetch.txt",
					  "line %lu: %s is not under data/", lineno, path);
		if (!(f = realloc(bag->fetch, (bag->nfetch + 1) * sizeof(*f)))) {
			free(raw);
			free(text);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
		bag->fetch = f;
		f = &bag->fetch[bag->nfetch];
		f->line = lineno;
		if (strcmp(lenstr, "-") == 0) {
			f->length = UINT64_MAX;
		} else {
			errno = 0;
			f->length = strtoull(lenstr, &end, 10);
			if (errno || *end || lenstr[0] == '-') {
				kist_findings_add(fs, KIST_SEV_ERROR, "fetch.malformed", "fetch.txt",
						  "line %lu: length '%s' is neither a number nor '-'",
						  lineno, lenstr);
				continue;
			}
		}
		f->url = strdup(url);
		f->path = strdup(path);
		if (!f->url || !f->path) {
			free(f->url);
			free(f->path);
			free(raw);
			free(text);
			return kist_error_set(err, KIST_FAILED, "out of memory");
		}
		bag->nfetch++;
		continue;
malformed:
		kist_findings_add(fs, KIST_SEV_ERROR, "fetch.malformed", "fetch.txt",
				  "line %lu: expected 'URL LENGTH PATH'", lineno);
	}
	free(raw);
	free(text);
	return KIST_OK;
}

static const struct kist_bag_memfile *mem_find(const char *name)
{
	for (size_t i = 0; i < mem_nfiles; i++)
		if (strcmp(mem_files[i].name, name) == 0)
			return &mem_files[i];
	return NULL;
}

static int open_bag(const char *path, int in_memory, struct kist_bag **out,
		    struct kist_findings *findings, struct kist_error *err)
{
	struct kist_bag *bag = calloc(1, sizeof(*bag));
	int rc;

	*out = NULL;
	if (!bag || !(bag->path = strdup(path))) {
		free(bag);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	bag->dirfd = in_memory ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bag->dirfd < 0 && !in_memory) {
		rc = kist_error_sys(err, errno, "%s", path);
		goto fail;
	}
	kist_bag_info_init(&bag->info);
	if ((rc = read_declaration(bag, findings, err)) != KIST_OK)
		goto fail;
	if ((rc = read_info(bag, findings, err)) != KIST_OK ||
	    (rc = read_manifests(bag, findings, err)) != KIST_OK ||
	    (rc = read_fetch(bag, findings, err)) != KIST_OK)
		goto fail;
	*out = bag;
	return KIST_OK;
fail:
	kist_bag_free(bag);
	return rc;
}

int kist_bag_open(const char *path, struct kist_bag **out, struct kist_findings *findings,
		  struct kist_error *err)
{
	return open_bag(path, 0, out, findings, err);
}

int kist_bag_open_memory(const char *name, const struct kist_bag_memfile *files, size_t n,
			 struct kist_bag **out, struct kist_findings *findings, struct kist_error *err)
{
	int rc;

	mem_files = files;
	mem_nfiles = n;
	rc = open_bag(name, 1, out, findings, err);
	mem_files = NULL;
	mem_nfiles = 0;
	return rc;
}
