/* One download for kist bag fetch: the URL's body into a temporary file
 * beside its place in the bag, cut off past the declared length, hashed as
 * it arrives, retried with back-off for transient errors, and renamed into
 * place (fsync, no replace) only when the length and every digest match.
 * The directory is opened, and made, one component at a time with
 * O_NOFOLLOW: no symlink in the bag leads a write elsewhere. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/progress.h>

#include "fetch.h"

/* Opens (making as needed) the directory that will hold path, beneath the
 * bag, never through a symlink. *leaf points into path at the file's name. */
static int open_parent(int bagfd, const char *path, const char **leaf)
{
	const char *slash = strrchr(path, '/');   /* there is one: paths start with data/ */

	*leaf = slash + 1;
	return kist_path_open_dirs(bagfd, path, (size_t)(slash - path), 0777);
}

struct download {
	struct fetcher *f;
	struct fetch_job *j;
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
	if (fetch_cancelled(dl->f))
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
	while (ms && !fetch_cancelled(f)) {
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
	if (fetch_cancelled(dl->f))
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

void kist_fetch_one(struct fetcher *f, struct fetch_job *j, CURL *c)
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
		if (fetch_cancelled(f)) {
			oc = CANCELLED;
			break;
		}
	}
	if (oc == DONE) {
		unsigned char got[KIST_ALG_COUNT][KIST_DIGEST_MAX];

		for (int a = 0; a < KIST_ALG_COUNT; a++)
			if (dl.d[a])
				kist_digest_end(dl.d[a], got[a]);
		if (!kist_fetch_digests_match(j, got, &bad)) {
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
