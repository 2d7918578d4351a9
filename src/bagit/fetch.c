/* Completing a holey bag (RFC 8493 2.2.3): which fetch.txt entries can be
 * fetched and what they must hash to, the files already here (verified
 * through the hashing pipeline and skipped when they match), temporary files
 * of killed runs, and the worker threads that run the downloads
 * (fetch-download.c). Only entries under data/ are considered, and only
 * http, https and file URLs used. */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>
#include <kist/pipeline.h>
#include <kist/progress.h>

#include "fetch.h"

static const char *entry_path(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

static int job_path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fetch_job *)a)->fe->path, ((const struct fetch_job *)b)->fe->path);
}

static int key_job_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct fetch_job *)e)->fe->path);
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
			struct fetch_job *j;

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

int kist_fetch_digests_match(const struct fetch_job *j,
			     const unsigned char got[KIST_ALG_COUNT][KIST_DIGEST_MAX], int *bad_alg)
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
	struct fetch_job *j = &f->jobs[pc->map[r->index]];
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
	if (!kist_fetch_digests_match(j, r->digest, &bad)) {
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
	if (rc == KIST_OK && fetch_cancelled(f))
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
		struct fetch_job *j = NULL;

		pthread_mutex_lock(&f->lock);
		if (!f->stop && f->next < f->ntodo && !fetch_cancelled(f))
			j = &f->jobs[f->todo[f->next++]];
		pthread_mutex_unlock(&f->lock);
		if (!j)
			break;
		kist_fetch_one(f, j, c);
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
	if (fetch_cancelled(f))
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
