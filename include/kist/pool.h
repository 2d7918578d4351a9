/* A fixed set of worker threads taking tasks from one queue. */
#ifndef KIST_POOL_H
#define KIST_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

struct kist_pool;
typedef void (*kist_task_fn)(void *arg);

/* threads == 0: one per online CPU. Returns NULL when no thread could start. */
struct kist_pool *kist_pool_new(unsigned threads);
unsigned kist_pool_size(const struct kist_pool *p);
/* Queues fn(arg). Returns 0, -1 when out of memory. */
int kist_pool_submit(struct kist_pool *p, kist_task_fn fn, void *arg);
/* Waits until every submitted task has finished. */
void kist_pool_wait(struct kist_pool *p);
/* Waits for the queue, then stops and joins the threads. */
void kist_pool_free(struct kist_pool *p);

/* Online CPUs, at least 1. */
unsigned kist_cpu_count(void);

#ifdef __cplusplus
}
#endif
#endif
