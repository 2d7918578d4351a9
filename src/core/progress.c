/* Progress counters (atomics the workers bump) and the ticker thread. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kist/progress.h>

struct kist_progress {
	_Atomic uint64_t files, bytes;
	uint64_t total_files, total_bytes;
	struct timespec start;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int running, stop, reported;
	unsigned delay_ms, interval_ms;
	kist_progress_fn fn;
	void *ctx;
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

struct kist_progress *kist_progress_new(void)
{
	struct kist_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &attr);
	pthread_condattr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	return p;
}

void kist_progress_free(struct kist_progress *p)
{
	if (!p)
		return;
	kist_progress_stop(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void kist_progress_set_total(struct kist_progress *p, uint64_t files, uint64_t bytes)
{
	p->total_files = files;
	p->total_bytes = bytes;
}

void kist_progress_add_bytes(struct kist_progress *p, uint64_t bytes)
{
	atomic_fetch_add_explicit(&p->bytes, bytes, memory_order_relaxed);
}

void kist_progress_add_file(struct kist_progress *p)
{
	atomic_fetch_add_explicit(&p->files, 1, memory_order_relaxed);
}

void kist_progress_get(const struct kist_progress *p, uint64_t *files, uint64_t *bytes)
{
	*files = atomic_load_explicit(&p->files, memory_order_relaxed);
	*bytes = atomic_load_explicit(&p->bytes, memory_order_relaxed);
}

static void human_bytes(double b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	int u = 0;

	while (b >= 1024 && u < 5) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

void kist_progress_format(const struct kist_progress *p, double elapsed, char *buf, size_t len)
{
	uint64_t files, bytes;
	char done[32], total[32], rate[32], eta[32] = "";
	double bps;

	kist_progress_get(p, &files, &bytes);
	bps = elapsed > 0 ? bytes / elapsed : 0;
	human_bytes((double)bytes, done, sizeof(done));
	human_bytes((double)p->total_bytes, total, sizeof(total));
	human_bytes(bps, rate, sizeof(rate));
	if (p->total_bytes && bps > 0 && bytes <= p->total_bytes) {
		unsigned long s = (unsigned long)((p->total_bytes - bytes) / bps + 0.5);

		snprintf(eta, sizeof(eta), "  ETA %lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	}
	if (p->total_files && p->total_bytes)
		snprintf(buf, len, "%llu/%llu files  %s/%s  %s/s%s", (unsigned long long)files,
			 (unsigned long long)p->total_files, done, total, rate, eta);
	else if (p->total_files)
		snprintf(buf, len, "%llu/%llu files  %s  %s/s", (unsigned long long)files,
			 (unsigned long long)p->total_files, done, rate);
	else
		snprintf(buf, len, "%llu files  %s  %s/s", (unsigned long long)files, done, rate);
}

static void *ticker(void *arg)
{
	struct kist_progress *p = arg;
	struct timespec wake = p->start;
	char line[256];
	unsigned ms = p->delay_ms;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		wake.tv_sec += ms / 1000;
		wake.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (wake.tv_nsec >= 1000000000L) {
			wake.tv_sec++;
			wake.tv_nsec -= 1000000000L;
		}
		while (!p->stop && pthread_cond_timedwait(&p->cv, &p->lock, &wake) != ETIMEDOUT)
			;
		if (p->stop)
			break;
		kist_progress_format(p, seconds_since(&p->start), line, sizeof(line));
		p->fn(p->ctx, line, 0);
		p->reported = 1;
		ms = p->interval_ms;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int kist_progress_start(struct kist_progress *p, unsigned delay_ms, unsigned interval_ms,
			kist_progress_fn fn, void *ctx)
{
	p->fn = fn;
	p->ctx = ctx;
	p->delay_ms = delay_ms;
	p->interval_ms = interval_ms ? interval_ms : 1;
	p->stop = 0;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	if (pthread_create(&p->thread, NULL, ticker, p) != 0)
		return -1;
	p->running = 1;
	return 0;
}

void kist_progress_stop(struct kist_progress *p)
{
	char line[256];

	if (!p->running)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->running = 0;
	if (p->reported) {
		kist_progress_format(p, seconds_since(&p->start), line, sizeof(line));
		p->fn(p->ctx, line, 1);
	}
}
