/* Progress counters shared by the workers, and a ticker that reports them.
 * The library never prints: the ticker calls back with a formatted line. */
#ifndef KIST_PROGRESS_H
#define KIST_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_progress;

/* line is e.g. "1200/10000 files  1.2 GiB/3.3 GiB  410 MiB/s  ETA 0:05";
 * final == 1 on the last call, after the work ended. */
typedef void (*kist_progress_fn)(void *ctx, const char *line, int final);

struct kist_progress *kist_progress_new(void);
void kist_progress_free(struct kist_progress *p);
void kist_progress_set_total(struct kist_progress *p, uint64_t files, uint64_t bytes);
void kist_progress_add_bytes(struct kist_progress *p, uint64_t bytes);
void kist_progress_add_file(struct kist_progress *p);
void kist_progress_get(const struct kist_progress *p, uint64_t *files, uint64_t *bytes);
/* Formats the current state; elapsed seconds given for testability. */
void kist_progress_format(const struct kist_progress *p, double elapsed, char *buf, size_t len);

/* Starts a thread that calls fn every interval_ms once delay_ms have passed
 * (nothing at all for work that ends sooner). */
int kist_progress_start(struct kist_progress *p, unsigned delay_ms, unsigned interval_ms,
			kist_progress_fn fn, void *ctx);
/* Stops the ticker; calls fn one last time with final = 1 if it ever reported. */
void kist_progress_stop(struct kist_progress *p);

#ifdef __cplusplus
}
#endif
#endif
