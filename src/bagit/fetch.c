/* Completing a holey bag: every fetch.txt line (RFC 8493 2.2.3) downloaded
 * with libcurl into a temporary file beside its final place, cut off as soon
 * as it passes its declared length, hashed as the bytes arrive (every payload
 * manifest's algorithm, one pass), fsync'd and renamed into place only when
 * length and every digest match. Files already present are verified through
 * the hashing pipeline and skipped when they match.
 *
 * Safety: fetch paths must lie under data/ and are resolved one directory at
 * a time with O_NOFOLLOW (directories created as needed), so no symlink in
 * the bag leads a write elsewhere; only http, https and file URLs are used,
 * and redirects only to http or https. Nothing is written outside the bag,
 * and a temporary file never survives a failure or a cancel. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kist/bag.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/progress.h>

enum job_state { JOB_FETCH, JOB_PRESENT, JOB_SKIP };

struct job {
	const struct kist_fetch_entry *fe;
	kist_algset algs;                     /* the payload manifests listing it */
	unsigned char want[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	enum job_state state;
};

struct fetcher {
	struct kist_bag *bag;
	const struct kist_bag_fetch_options *opt;
	struct kist_findings *fs;
	struct job *jobs;
	size_t njobs;
	size_t *todo;                         /* indexes of JOB_FETCH jobs */
	size_t ntodo, next;
	unsigned long tmp_serial;
	pthread_mutex_t lock;
	volatile int *cancel;
	int stop;                             /* out of memory and the like: no more jobs */
	struct kist_bag_fetch_result res;
};

static int cancelled(const struct fetcher *f)
{
	return f->cancel && *f->cancel;
}

static const char *entry_path(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static int job_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct job *)a)->fe->path, ((const struct job *)b)->fe->path);
}

static int key_job_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct job *)e)->fe->path);
}

/* --- planning: which lines can be fetched, and what they must hash to -------- */

/* Entries outside data/ are refused, duplicates after the first skipped, and
 * each entry gets the digests of every payload manifest that lists it. */
static int plan(struct fetcher *f, struct kist_error *err)
{
	struct kist_bag *bag = f->bag;

	if (bag->nfetch && !(f->jobs = calloc(bag->nfetch, sizeof(*f->jobs))))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (size_t i = 0; i < bag->nfetch; i++) {
		const struct kist_fetch_entry *fe = &bag->fetch[i];
		enum kist_path_problem p = kist_path_check_relative(fe->path, strlen(fe->path));

		/* kist_bag_open reported these (fetch.outside-payload) */
		if ((p != KIST_PATH_OK && p != KIST_PATH_CONTROL) || strncmp(fe->path, "data/", 5) != 0)
			continue;
		f->jobs[f->njobs++].fe = fe;
	}
	if (f->njobs > 1)
		qsort(f->jobs, f->njobs, sizeof(*f->jobs), job_path_cmp);
	for (size_t i = 1; i < f->njobs; i++)
		if (strcmp(f->jobs[i].fe->path, f->jobs[i - 1].fe->path) == 0) {
			f->jobs[i].state = JOB_SKIP;
			kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.duplicate", f->jobs[i].fe->path,
					  "fetch.txt line %lu: listed again (first on line %lu); the first is used",
					  f->jobs[i].fe->line, f->jobs[i - 1].fe->line);
		}
	for (size_t m = 0; m < bag->nmanifests; m++) {
		const struct kist_bag_manifest *man = &bag->manifests[m];

		if (man->is_tag)
			continue;
		for (size_t k = 0; k < man->list.count; k++) {
			const struct kist_check_entry *e = &man->list.entries[k];
			struct job *j;

			if (!f->njobs)
				break;
			j = bsearch(entry_path(e->path), f->jobs, f->njobs, sizeof(*f->jobs), key_job_cmp);
			/* the first of duplicates is the one used */
			while (j && j > f->jobs && strcmp(j[-1].fe->path, j->fe->path) == 0)
				j--;
			if (!j || e->alg < 0 || e->alg >= KIST_ALG_COUNT)
				continue;
			if ((j->algs & KIST_ALG_BIT(e->alg)) &&
			    memcmp(j->want[e->alg], e->digest, kist_alg_size(e->alg)) != 0) {
				kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.manifest-conflict", j->fe->path,
						  "%s lists it twice with different checksums; not fetched",
						  man->name);
				j->state = JOB_SKIP;
			}
			j->algs |= KIST_ALG_BIT(e->alg);
			memcpy(j->want[e->alg], e->digest, kist_alg_size(e->alg));
		}
	}
	for (size_t i = 0; i < f->njobs; i++)
		if (f->jobs[i].state == JOB_FETCH && !f->jobs[i].algs) {
			f->jobs[i].state = JOB_SKIP;
			kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.not-in-manifest", f->jobs[i].fe->path,
					  "fetch.txt line %lu: in no payload manifest, so it could not be "
					  "verified; not fetched", f->jobs[i].fe->line);
		}
	return KIST_OK;
}

/* --- files already here: verified through the hashing pipeline --------------- */

struct present_ctx {
	struct fetcher *f;
	size_t *map;   /* item index -> job index */
};

static int digests_match(const struct job *j, const unsigned char got[KIST_ALG_COUNT][KIST_DIGEST_MAX],
			 int *bad_alg)
{
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if ((j->algs & KIST_ALG_BIT(a)) && memcmp(j->want[a], got[a], kist_alg_size(a)) != 0) {
			*bad_alg = a;
			return 0;
		}
	return 1;
}

static int present_result(void *ctx, const struct kist_hash_result *r)
{
	struct present_ctx *pc = ctx;
	struct fetcher *f = pc->f;
	struct job *j = &f->jobs[pc->map[r->index]];
	int bad;

	if (r->fail_code && strcmp(r->fail_code, "file.missing") == 0)
		return 0;   /* to be fetched */
	j->state = JOB_SKIP;
	if (r->fail_code) {
		if (strcmp(r->fail_code, "file.symlink") == 0 || strcmp(r->fail_code, "file.outside") == 0)
			kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.symlink", j->fe->path,
					  "the path goes through a symbolic link; not fetched");
		else
			kist_findings_add(f->fs, KIST_SEV_FAILURE, r->fail_code, j->fe->path, "%s%s%s",
					  r->fail_message, r->fail_errno ? ": " : "",
					  r->fail_errno ? strerror(r->fail_errno) : "");
		return 0;
	}
	if (j->fe->length != UINT64_MAX && r->bytes != j->fe->length) {
		kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.present-differs", j->fe->path,
				  "already here with %" PRIu64 " bytes, fetch.txt says %" PRIu64
				  "; left as it is (remove it to fetch it again)", r->bytes, j->fe->length);
		return 0;
	}
	if (!digests_match(j, r->digest, &bad)) {
		kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.present-differs", j->fe->path,
				  "already here, but its %s checksum differs from the manifest; left as "
				  "it is (remove it to fetch it again)", kist_alg_name(bad));
		return 0;
	}
	j->state = JOB_PRESENT;
	f->res.present++;
	return 0;
}

static int check_present(struct fetcher *f, struct kist_error *err)
{
	struct kist_pipeline_options o;
	struct kist_hash_item *items = NULL;
	struct present_ctx pc = { .f = f };
	size_t n = 0;
	int rc = KIST_OK;

	if (!f->njobs)
		return KIST_OK;
	items = calloc(f->njobs, sizeof(*items));
	pc.map = calloc(f->njobs, sizeof(*pc.map));
	if (!items || !pc.map) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	kist_pipeline_options_init(&o);
	for (size_t i = 0; i < f->njobs; i++) {
		if (f->jobs[i].state != JOB_FETCH)
			continue;
		items[n].path = f->jobs[i].fe->path;
		items[n].size = UINT64_MAX;
		pc.map[n++] = i;
		o.algs |= f->jobs[i].algs;
	}
	o.jobs = f->opt->verify_jobs;
	o.dirfd = f->bag->dirfd;
	o.beneath = 1;
	o.nofollow = 1;
	o.cancel = f->cancel;
	o.progress = f->opt->progress;
	/* One progress line for both passes: every entry counts as a file when
	 * it has been looked at here; bytes come from this pass for the files
	 * present and from the downloads for the others. */
	if (o.progress) {
		uint64_t bytes = 0;

		for (size_t i = 0; i < n; i++)
			if (f->jobs[pc.map[i]].fe->length != UINT64_MAX)
				bytes += f->jobs[pc.map[i]].fe->length;
		kist_progress_set_total(o.progress, n, bytes);
	}
	if (n)
		rc = kist_pipeline_run(&o, items, n, present_result, &pc, err);
	if (rc == KIST_OK && cancelled(f))
		rc = kist_error_set(err, KIST_FAILED, "interrupted");
out:
	free(items);
	free(pc.map);
	return rc;
}

/* --- temporary files of runs that were killed --------------------------------- */

/* ".kist-fetch.PID.N.tmp" of a process that no longer exists. */
static int stale_temp(const char *name)
{
	long pid;
	unsigned long n;
	int end = 0;

	if (sscanf(name, ".kist-fetch.%ld.%lu.tmp%n", &pid, &n, &end) != 2 || name[end] || pid <= 0)
		return 0;
	return pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A fetch killed outright (SIGKILL, power cut) could not remove its
 * temporary files; the next run removes them from the directories it
 * fetches into, so a finished bag holds nothing it does not list. */
static void sweep_stale(struct fetcher *f)
{
	char **dirs = calloc(f->ntodo ? f->ntodo : 1, sizeof(*dirs));
	size_t n = 0;

	if (!dirs)
		return;
	for (size_t i = 0; i < f->ntodo; i++) {
		const char *p = f->jobs[f->todo[i]].fe->path;

		if ((dirs[n] = strndup(p, (size_t)(strrchr(p, '/') - p))))
			n++;
	}
	if (n > 1)
		qsort(dirs, n, sizeof(*dirs), str_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		int fd;
		DIR *d;
		struct dirent *e;

		if (i && strcmp(dirs[i], dirs[i - 1]) == 0)
			continue;
		fd = kist_path_open_beneath(f->bag->dirfd, dirs[i], O_RDONLY | O_DIRECTORY);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(d)))
			if (stale_temp(e->d_name) && unlinkat(dirfd(d), e->d_name, 0) == 0) {
				char *rel = kist_path_join(dirs[i], e->d_name);

				kist_findings_add(f->fs, KIST_SEV_INFO, "fetch.stale-removed", rel ? rel : dirs[i],
						  "removed, left by a fetch that was killed");
				free(rel);
			}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++)
		free(dirs[i]);
	free(dirs);
}

/* --- one download ---------------------------------------------------------- */

/* Opens (creating as needed) the directory that will hold path, beneath the
 * bag, one component at a time and never through a symlink. *leaf points
 * into path at the file's name. */
static int open_parent(int bagfd, const char *path, const char **leaf)
{
	char *copy = strdup(path), *p, *slash;
	int fd = bagfd, next, saved;

	if (!copy)
		return -1;
	for (p = copy; (slash = strchr(p, '/')); p = slash + 1) {
		*slash = '\0';
		next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, p, 0777) < 0 && errno != EEXIST)
				goto fail;
			next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			struct stat st;

			/* Linux says ENOTDIR for a symlink met with O_DIRECTORY */
			if (errno == ENOTDIR && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				errno = ELOOP;
			goto fail;
		}
		if (fd != bagfd)
			close(fd);
		fd = next;
	}
	*leaf = strrchr(path, '/') + 1;   /* there is one: paths start with data/ */
	free(copy);
	return fd;
fail:
	saved = errno;
	if (fd != bagfd)
		close(fd);
	free(copy);
	errno = saved;
	return -1;
}

struct download {
	struct fetcher *f;
	struct job *j;
	int fd;
	uint64_t got;
	struct kist_digest *d[KIST_ALG_COUNT];
	int too_long;
	int write_errno;
	int stalled;                          /* no byte for stall_timeout seconds */
	long retry_after;                     /* seconds the server asked us to wait */
	curl_off_t last_now;                  /* bytes at the last change */
	struct timespec last_change;
};

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static size_t on_data(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct download *dl = arg;
	size_t len = size * nmemb, left = len;
	const char *p = buf;

	if (dl->j->fe->length != UINT64_MAX && len > dl->j->fe->length - dl->got) {
		dl->too_long = 1;   /* stop now: not one byte past the declared length */
		return 0;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (dl->d[a])
			kist_digest_update(dl->d[a], buf, len);
	while (left) {
		ssize_t n = write(dl->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dl->write_errno = errno;
			return 0;
		}
		p += n;
		left -= (size_t)n;
	}
	dl->got += len;
	if (dl->f->opt->progress)
		kist_progress_add_bytes(dl->f->opt->progress, len);
	return len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct download *dl = arg;

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (cancelled(dl->f))
		return 1;   /* nonzero aborts the transfer */
	/* Called at least once a second: a transfer that brings no byte for
	 * the timeout (waiting for the headers included) is given up. */
	if (dlnow != dl->last_now) {
		dl->last_now = dlnow;
		clock_gettime(CLOCK_MONOTONIC, &dl->last_change);
	} else if (seconds_since(&dl->last_change) >= dl->f->opt->stall_timeout) {
		dl->stalled = 1;
		return 1;
	}
	return 0;
}

static int restart(struct download *dl)
{
	dl->got = 0;
	dl->too_long = 0;
	dl->write_errno = 0;
	dl->stalled = 0;
	dl->retry_after = 0;
	dl->last_now = 0;
	clock_gettime(CLOCK_MONOTONIC, &dl->last_change);
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (dl->d[a] && kist_digest_begin(dl->d[a]) < 0)
			return -1;
	if (ftruncate(dl->fd, 0) < 0 || lseek(dl->fd, 0, SEEK_SET) < 0)
		return -1;
	return 0;
}

/* Waits ms milliseconds, in short steps so a cancel is seen. */
static void back_off(struct fetcher *f, unsigned ms)
{
	while (ms && !cancelled(f)) {
		unsigned step = ms < 50 ? ms : 50;
		struct timespec ts = { 0, (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* Is this URL's scheme one we fetch from? */
static int url_allowed(const char *url, char *why, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int ok = 0;

	if (!u) {
		snprintf(why, len, "out of memory");
		return 0;
	}
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(why, len, "not a URL kist can use: %s", url);
	} else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0 &&
		   strcmp(scheme, "file") != 0) {
		snprintf(why, len, "%s: scheme '%s' refused (only http, https and file)", url, scheme);
	} else {
		ok = 1;
	}
	curl_free(scheme);
	curl_url_cleanup(u);
	return ok;
}

enum outcome { DONE, RETRY, FAILED_ERROR, FAILED_FAILURE, CANCELLED };

/* One attempt: the body into dl->fd, and what to make of it. */
static enum outcome attempt(CURL *c, struct download *dl, char *why, size_t len)
{
	const struct kist_fetch_entry *fe = dl->j->fe;
	char cerr[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode cc;

	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);   /* cerr ends with this call */
	if (cancelled(dl->f))
		return CANCELLED;
	if (dl->too_long || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, len, "%s sent more than the %" PRIu64 " bytes fetch.txt gives; cut off",
			 fe->url, fe->length);
		return FAILED_ERROR;
	}
	if (dl->stalled) {
		snprintf(why, len, "%s: no data for %u s", fe->url, dl->f->opt->stall_timeout);
		return RETRY;
	}
	if (dl->write_errno) {
		snprintf(why, len, "cannot write: %s", strerror(dl->write_errno));
		return FAILED_FAILURE;
	}
	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_HTTP_RETURNED_ERROR: {
		curl_off_t after = 0;

		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
			dl->retry_after = after > 600 ? 600 : (long)after;   /* a sane bound */
		snprintf(why, len, "%s: HTTP status %ld", fe->url, code);
		/* the server's trouble, or too many requests: worth another try */
		return code >= 500 || code == 408 || code == 429 ? RETRY : FAILED_ERROR;
	}
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(why, len, "%s: %s (only http, https and file URLs; redirects only to http "
			 "and https)", fe->url, cerr[0] ? cerr : curl_easy_strerror(cc));
		return FAILED_ERROR;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		snprintf(why, len, "%s: %s", fe->url, cerr[0] ? cerr : curl_easy_strerror(cc));
		return RETRY;
	default:
		snprintf(why, len, "%s: %s", fe->url, cerr[0] ? cerr : curl_easy_strerror(cc));
		return FAILED_ERROR;
	}
	if (code && (code < 200 || code >= 300)) {   /* 0 for file: URLs */
		snprintf(why, len, "%s: HTTP status %ld", fe->url, code);
		return FAILED_ERROR;
	}
	if (fe->length != UINT64_MAX && dl->got < fe->length) {
		snprintf(why, len, "%s ended after %" PRIu64 " of the %" PRIu64 " bytes fetch.txt gives",
			 fe->url, dl->got, fe->length);
		return FAILED_ERROR;
	}
	return DONE;
}

static void setup_curl(CURL *c, struct download *dl)
{
	const struct kist_bag_fetch_options *o = dl->f->opt;   /* stall_timeout > 0 */

	curl_easy_setopt(c, CURLOPT_URL, dl->j->fe->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kist/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, dl);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, dl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)o->stall_timeout);
	if (o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	if (dl->j->fe->length != UINT64_MAX && dl->j->fe->length <= (uint64_t)INT64_MAX)
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)dl->j->fe->length);
}

/* Moves tmp to name in dirfd unless name exists: the file appears whole or
 * not at all, and nothing already there is replaced. */
static int publish(int dirfd, const char *tmp, const char *name)
{
#ifdef RENAME_NOREPLACE
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
#endif
	/* file systems without renameat2 flags: a hard link never replaces */
	if (linkat(dirfd, tmp, dirfd, name, 0) < 0)
		return -1;
	unlinkat(dirfd, tmp, 0);
	return 0;
}

static void fetch_one(struct fetcher *f, struct job *j, CURL *c)
{
	const struct kist_fetch_entry *fe = j->fe;
	struct download dl = { .f = f, .j = j, .fd = -1 };
	const char *leaf = NULL;
	char tmp[64], why[1024] = "";
	int dirfd, bad;
	enum outcome oc = FAILED_FAILURE;
	unsigned attempts = 0, wait_ms;

	if (!url_allowed(fe->url, why, sizeof(why))) {
		kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.url-refused", fe->path, "%s", why);
		return;
	}
	dirfd = open_parent(f->bag->dirfd, fe->path, &leaf);
	if (dirfd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.symlink", fe->path,
					  "a directory on the way is a symbolic link or not a directory; "
					  "not fetched");
		else
			kist_findings_add(f->fs, KIST_SEV_FAILURE, "fetch.write-failed", fe->path,
					  "cannot make its directory: %s", strerror(errno));
		return;
	}
	pthread_mutex_lock(&f->lock);
	snprintf(tmp, sizeof(tmp), ".kist-fetch.%ld.%lu.tmp", (long)getpid(), f->tmp_serial++);
	pthread_mutex_unlock(&f->lock);
	dl.fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (dl.fd < 0) {
		snprintf(why, sizeof(why), "cannot create a temporary file: %s", strerror(errno));
		goto close_dir;
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if ((j->algs & KIST_ALG_BIT(a)) && !(dl.d[a] = kist_digest_new(a))) {
			snprintf(why, sizeof(why), "out of memory");
			goto done;
		}
	curl_easy_reset(c);
	setup_curl(c, &dl);
	for (;;) {
		if (restart(&dl) < 0) {
			snprintf(why, sizeof(why), "cannot reset the temporary file: %s", strerror(errno));
			oc = FAILED_FAILURE;
			break;
		}
		attempts++;
		oc = attempt(c, &dl, why, sizeof(why));
		if (oc != RETRY || attempts > f->opt->retries)
			break;
		/* 1, 2, 4... times the first wait, at most 64 times; longer when
		 * the server says so (Retry-After) */
		wait_ms = f->opt->retry_wait_ms << (attempts - 1 < 6 ? attempts - 1 : 6);
		if ((unsigned long)dl.retry_after * 1000 > wait_ms)
			wait_ms = (unsigned)dl.retry_after * 1000;
		back_off(f, wait_ms);
		if (cancelled(f)) {
			oc = CANCELLED;
			break;
		}
	}
	if (oc == DONE) {
		unsigned char got[KIST_ALG_COUNT][KIST_DIGEST_MAX];

		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (dl.d[a])
				kist_digest_end(dl.d[a], got[a]);
		if (!digests_match(j, got, &bad)) {
			snprintf(why, sizeof(why), "%s: the %s checksum of what came differs from the "
				 "manifest; not kept", fe->url, kist_alg_name(bad));
			oc = FAILED_ERROR;
		} else if (fsync(dl.fd) < 0) {
			snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
			oc = FAILED_FAILURE;
		} else {
			int closed = close(dl.fd);

			dl.fd = -1;   /* never closed twice: another thread may own the number by now */
			if (closed < 0) {
				snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
				oc = FAILED_FAILURE;
			} else if (publish(dirfd, tmp, leaf) < 0) {
				oc = errno == EEXIST ? FAILED_ERROR : FAILED_FAILURE;
				if (errno == EEXIST)
					snprintf(why, sizeof(why), "appeared while it was being fetched; left "
						 "as it is");
				else
					snprintf(why, sizeof(why), "cannot move into place: %s", strerror(errno));
			} else {
				fsync(dirfd);   /* the rename must survive a crash too */
			}
		}
	}
done:
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		kist_digest_free(dl.d[a]);
	if (dl.fd >= 0)
		close(dl.fd);
	if (oc != DONE)
		unlinkat(dirfd, tmp, 0);   /* no partial download survives */
close_dir:
	if (dirfd != f->bag->dirfd)
		close(dirfd);
	switch (oc) {
	case DONE:
		kist_findings_add(f->fs, KIST_SEV_INFO, "fetch.fetched", fe->path, "%" PRIu64 " bytes from %s",
				  dl.got, fe->url);
		pthread_mutex_lock(&f->lock);
		f->res.fetched++;
		f->res.bytes += dl.got;
		pthread_mutex_unlock(&f->lock);
		return;
	case CANCELLED:
		break;   /* the caller says so once */
	case RETRY:
		kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.download-failed", fe->path,
				  "%s (gave up after %u attempt%s)", why, attempts, attempts == 1 ? "" : "s");
		break;
	case FAILED_ERROR:
		kist_findings_add(f->fs, KIST_SEV_ERROR, "fetch.download-failed", fe->path, "%s", why);
		break;
	case FAILED_FAILURE:
		kist_findings_add(f->fs, KIST_SEV_FAILURE, "fetch.write-failed", fe->path, "%s", why);
		break;
	}
}

static void *worker(void *arg)
{
	struct fetcher *f = arg;
	CURL *c = curl_easy_init();

	if (!c) {
		pthread_mutex_lock(&f->lock);
		f->stop = 1;
		pthread_mutex_unlock(&f->lock);
		return NULL;
	}
	for (;;) {
		struct job *j = NULL;

		pthread_mutex_lock(&f->lock);
		if (!f->stop && f->next < f->ntodo && !cancelled(f))
			j = &f->jobs[f->todo[f->next++]];
		pthread_mutex_unlock(&f->lock);
		if (!j)
			break;
		fetch_one(f, j, c);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int download_all(struct fetcher *f, struct kist_error *err)
{
	unsigned n = f->opt->jobs ? f->opt->jobs : 4;
	pthread_t *t;
	unsigned started = 0;

	for (size_t i = 0; i < f->njobs; i++)
		if (f->jobs[i].state == JOB_FETCH)
			f->ntodo++;
	if (!f->ntodo)
		return KIST_OK;
	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK)
		return kist_error_set(err, KIST_FAILED, "libcurl: %s", curl_easy_strerror(curl_init_rc));
	if (!(f->todo = malloc(f->ntodo * sizeof(*f->todo))))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	f->ntodo = 0;
	for (size_t i = 0; i < f->njobs; i++)
		if (f->jobs[i].state == JOB_FETCH)
			f->todo[f->ntodo++] = i;
	sweep_stale(f);
	if (n > f->ntodo)
		n = (unsigned)f->ntodo;
	if (!(t = calloc(n, sizeof(*t))))
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (; started < n; started++)
		if (pthread_create(&t[started], NULL, worker, f) != 0)
			break;
	if (!started)
		worker(f);   /* no thread to be had: do it here */
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	if (cancelled(f))
		return kist_error_set(err, KIST_FAILED, "interrupted");
	if (f->stop)
		return kist_error_set(err, KIST_FAILED, "libcurl could not start a transfer");
	return KIST_OK;
}

void kist_bag_fetch_options_init(struct kist_bag_fetch_options *o)
{
	memset(o, 0, sizeof(*o));
	o->jobs = 4;
	o->retries = 3;
	o->retry_wait_ms = 1000;
	o->stall_timeout = 60;
}

int kist_bag_fetch(const char *path, const struct kist_bag_fetch_options *opt,
		   struct kist_bag_fetch_result *res, struct kist_findings *findings,
		   struct kist_error *err)
{
	struct kist_bag_fetch_options o;
	struct fetcher f;
	int rc;

	if (opt)
		o = *opt;
	else
		kist_bag_fetch_options_init(&o);
	if (!o.stall_timeout)
		o.stall_timeout = 60;
	opt = &o;
	memset(&f, 0, sizeof(f));
	f.opt = opt;
	f.fs = findings;
	f.cancel = opt->cancel;
	pthread_mutex_init(&f.lock, NULL);
	rc = kist_bag_open(path, &f.bag, findings, err);
	if (rc != KIST_OK)
		goto out;
	if (!f.bag->has_fetch) {
		kist_findings_add(findings, KIST_SEV_INFO, "fetch.none", NULL, "no fetch.txt: nothing to fetch");
		goto out;
	}
	f.res.listed = f.bag->nfetch;
	if ((rc = plan(&f, err)) != KIST_OK || (rc = check_present(&f, err)) != KIST_OK ||
	    (rc = download_all(&f, err)) != KIST_OK)
		goto out;
out:
	f.res.remaining = f.res.listed - f.res.present - f.res.fetched;
	if (res)
		*res = f.res;
	free(f.todo);
	free(f.jobs);
	kist_bag_free(f.bag);
	pthread_mutex_destroy(&f.lock);
	return rc;
}
