/* Where a profile comes from: a file, or a URL fetched with libcurl when the
 * caller allows the network. Either way at most KIST_PROFILE_MAX_BYTES. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include <kist/buf.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/profile.h>

int kist_profile_is_url(const char *location)
{
	const char *p = location;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	return strncmp(p, "://", 3) == 0;
}

static int read_profile_file(const char *path, char **text, size_t *len, struct kist_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int rc = KIST_FAILED;

	if (fd < 0)
		return kist_error_sys(err, errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		kist_error_sys(err, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		kist_error_set(err, KIST_FAILED, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size > KIST_PROFILE_MAX_BYTES) {
		kist_error_set(err, KIST_FAILED, "%s: %lld bytes, larger than a profile can be (%d)", path,
			       (long long)st.st_size, KIST_PROFILE_MAX_BYTES);
		goto out;
	}
	if (!(buf = malloc(KIST_PROFILE_MAX_BYTES + 2))) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	/* read to the end, whatever stat said: the file may have grown */
	for (;;) {
		ssize_t got = read(fd, buf + n, KIST_PROFILE_MAX_BYTES + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			kist_error_sys(err, errno, "%s", path);
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > KIST_PROFILE_MAX_BYTES) {
			kist_error_set(err, KIST_FAILED, "%s: larger than a profile can be (%d bytes)", path,
				       KIST_PROFILE_MAX_BYTES);
			goto out;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = KIST_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

/* --- fetching ----------------------------------------------------------------- */

struct sink {
	struct kist_buf b;
	int too_big;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n = size * nmemb;

	if (s->b.len + n > KIST_PROFILE_MAX_BYTES) {
		s->too_big = 1;
		return 0;   /* curl stops with CURLE_WRITE_ERROR */
	}
	return kist_buf_add(&s->b, data, n) < 0 ? 0 : n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kist_profile_fetch(const char *url, char **text, size_t *len, struct kist_error *err)
{
	struct sink s = { 0 };
	struct curl_slist *headers = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *h;
	CURLcode rc;
	int ret = KIST_FAILED;

	pthread_once(&curl_once, init_curl);
	if (curl_init_rc != CURLE_OK || !(h = curl_easy_init()))
		return kist_error_set(err, KIST_FAILED, "%s: cannot start libcurl", url);
	headers = curl_slist_append(NULL, "Accept: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)KIST_PROFILE_MAX_BYTES);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kist");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
		kist_error_set(err, KIST_FAILED, "%s: larger than a profile can be (%d bytes)", url,
			       KIST_PROFILE_MAX_BYTES);
	else if (rc != CURLE_OK)
		kist_error_set(err, KIST_FAILED, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (status >= 400)
		kist_error_set(err, KIST_FAILED, "%s: the server answered HTTP %ld", url, status);
	else
		ret = KIST_OK;
	if (ret == KIST_OK) {
		if (kist_buf_add(&s.b, "", 0) < 0) {
			ret = kist_error_set(err, KIST_FAILED, "out of memory");
		} else {
			*text = s.b.p;
			*len = s.b.len;
			s.b.p = NULL;
		}
	}
	kist_buf_free(&s.b);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return ret;
}

int kist_profile_load(const char *location, int allow_fetch, struct kist_profile **out,
		      struct kist_findings *findings, struct kist_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int url = kist_profile_is_url(location), rc;

	*out = NULL;
	if (url && !allow_fetch) {
		kist_error_set(err, KIST_FAILED,
			       "%s: a URL; kist fetches profiles only when asked (--fetch-profile)", location);
		kist_findings_add(findings, KIST_SEV_FAILURE, "profile.unreachable", location, "%s",
				  "a URL, and fetching was not asked for (--fetch-profile)");
		return KIST_FAILED;
	}
	rc = url ? kist_profile_fetch(location, &text, &len, err) : read_profile_file(location, &text, &len, err);
	if (rc != KIST_OK) {
		/* the message names the location: the finding gives the rest */
		const char *msg = err->message;
		size_t n = strlen(location);

		if (strncmp(msg, location, n) == 0 && msg[n] == ':')
			msg += n + 1 + (msg[n + 1] == ' ');
		kist_findings_add(findings, KIST_SEV_FAILURE, url ? "profile.unreachable" : "profile.unreadable",
				  location, "%s", msg);
		return KIST_FAILED;
	}
	rc = kist_profile_parse(text, len, location, out, findings);
	if (rc == KIST_INVALID)
		kist_error_set(err, KIST_INVALID, "%s: not a usable BagIt profile", location);
	else if (rc == KIST_FAILED)
		kist_error_set(err, KIST_FAILED, "out of memory");
	free(text);
	return rc;
}
