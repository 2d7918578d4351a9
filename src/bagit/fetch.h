/* The parts of kist bag fetch shared by its two files: fetch.c (which
 * entries to fetch, the files already here, the worker threads) and
 * fetch-download.c (one download, from URL to a file in place). */
#ifndef KIST_BAGIT_FETCH_H
#define KIST_BAGIT_FETCH_H

#include <pthread.h>
#include <stdint.h>

#include <curl/curl.h>

#include <kist/bag.h>

enum fetch_job_state { JOB_FETCH, JOB_PRESENT, JOB_SKIP };

struct fetch_job {
	const struct kist_fetch_entry *fe;
	kist_algset algs;                     /* the payload manifests listing it */
	unsigned char want[KIST_ALG_COUNT][KIST_DIGEST_MAX];
	enum fetch_job_state state;
};

struct fetcher {
	struct kist_bag *bag;
	const struct kist_bag_fetch_options *opt;
	struct kist_findings *fs;
	struct fetch_job *jobs;
	size_t njobs;
	size_t *todo;                         /* indexes of JOB_FETCH jobs */
	size_t ntodo, next;
	unsigned long tmp_serial;
	pthread_mutex_t lock;
	volatile int *cancel;
	int stop;                             /* out of memory and the like: no more jobs */
	struct kist_bag_fetch_result res;
};

static inline int fetch_cancelled(const struct fetcher *f)
{
	return f->cancel && *f->cancel;
}

/* Does what came (or what is here) match every digest the job wants?
 * *bad_alg names the first that does not. */
int kist_fetch_digests_match(const struct fetch_job *j,
			     const unsigned char got[KIST_ALG_COUNT][KIST_DIGEST_MAX], int *bad_alg);

/* Downloads one entry into place, retrying transient errors; every outcome
 * is a finding, and the counters in f->res are updated. c: this thread's
 * handle (reset here). */
void kist_fetch_one(struct fetcher *f, struct fetch_job *j, CURL *c);

#endif
