/* A background thread that runs catalog jobs one at a time, so an audit goes
 * on hashing while the verdicts of the files already read are written and the
 * next batch is claimed. The catalog connection is never used by two threads
 * at once: the caller touches it only while the writer is idle. */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>

#include "fixity-internal.h"

struct fixity_writer {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	fixity_job_fn fn;         /* the job to run, NULL when idle */
	void *arg;
	int quit;
};

static void *writer_main(void *p)
{
	struct fixity_writer *w = p;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->fn && !w->quit)
			pthread_cond_wait(&w->cv, &w->lock);
		if (!w->fn)
			break;
		pthread_mutex_unlock(&w->lock);
		w->fn(w->arg);
		pthread_mutex_lock(&w->lock);
		w->fn = NULL;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct fixity_writer *fixity_writer_new(void)
{
	struct fixity_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* no thread (out of resources): jobs then run on the caller's thread */
	w->started = pthread_create(&w->thread, NULL, writer_main, w) == 0;
	return w;
}

int fixity_writer_busy(struct fixity_writer *w)
{
	int busy;

	pthread_mutex_lock(&w->lock);
	busy = w->fn != NULL;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

void fixity_writer_wait(struct fixity_writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (w->fn)
		pthread_cond_wait(&w->cv, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

void fixity_writer_submit(struct fixity_writer *w, fixity_job_fn fn, void *arg)
{
	if (!w->started) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&w->lock);
	while (w->fn)
		pthread_cond_wait(&w->cv, &w->lock);
	w->fn = fn;
	w->arg = arg;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
}

void fixity_writer_free(struct fixity_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->fn)
		pthread_cond_wait(&w->cv, &w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cv);
	free(w);
}
