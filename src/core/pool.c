/* Thread pool: N threads, one FIFO task queue, wait-for-all. */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <kist/pool.h>

struct task {
	kist_task_fn fn;
	void *arg;
	struct task *next;
};

struct kist_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;     /* a task was queued, or stop */
	pthread_cond_t idle;     /* pending dropped to zero */
	struct task *head, *tail;
	unsigned pending;        /* queued + running */
	int stop;
	unsigned nthreads;
	pthread_t *threads;
};

unsigned kist_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static void *worker(void *arg)
{
	struct kist_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct task *t;

		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		if (!p->head)
			break;
		t = p->head;
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		t->fn(t->arg);
		free(t);
		pthread_mutex_lock(&p->lock);
		if (--p->pending == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct kist_pool *kist_pool_new(unsigned threads)
{
	struct kist_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (!threads)
		threads = kist_cpu_count();
	p->threads = calloc(threads, sizeof(*p->threads));
	if (!p->threads) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			break;
		p->nthreads++;
	}
	if (!p->nthreads) {
		kist_pool_free(p);
		return NULL;
	}
	return p;
}

unsigned kist_pool_size(const struct kist_pool *p)
{
	return p->nthreads;
}

int kist_pool_submit(struct kist_pool *p, kist_task_fn fn, void *arg)
{
	struct task *t = malloc(sizeof(*t));

	if (!t)
		return -1;
	t->fn = fn;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	p->pending++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void kist_pool_wait(struct kist_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->pending)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void kist_pool_free(struct kist_pool *p)
{
	if (!p)
		return;
	kist_pool_wait(p);
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	free(p->threads);
	free(p);
}
