/* A thread-safe list of findings, optionally streamed to a callback. */
#include <config.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kist/finding.h>

#include "grow.h"

struct kist_findings {
	pthread_mutex_t lock;
	struct kist_finding *items;
	size_t count, cap;
	size_t by_severity[KIST_SEV_COUNT];
	kist_finding_fn fn;
	void *ctx;
	int keep;
};

struct kist_findings *kist_findings_new(void)
{
	struct kist_findings *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	pthread_mutex_init(&fs->lock, NULL);
	fs->keep = 1;
	return fs;
}

void kist_findings_free(struct kist_findings *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->count; i++) {
		free(fs->items[i].path);
		free(fs->items[i].message);
	}
	free(fs->items);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

void kist_findings_set_callback(struct kist_findings *fs, kist_finding_fn fn, void *ctx, int keep)
{
	fs->fn = fn;
	fs->ctx = ctx;
	fs->keep = keep;
}

static int store(struct kist_findings *fs, const struct kist_finding *f)
{
	if (kist_grow(&fs->items, fs->count, &fs->cap, sizeof(*fs->items), 16) < 0)
		return -1;
	fs->items[fs->count++] = *f;
	return 0;
}

int kist_findings_add(struct kist_findings *fs, enum kist_severity sev, const char *code,
		      const char *path, const char *fmt, ...)
{
	struct kist_finding f = { .code = code, .severity = sev };
	va_list ap;
	int rc = 0, stored = 0;

	if (!fs)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&f.message, fmt, ap) < 0)
		f.message = NULL;
	va_end(ap);
	f.path = path ? strdup(path) : NULL;
	if (!f.message || (path && !f.path))
		rc = -1;

	pthread_mutex_lock(&fs->lock);
	fs->by_severity[sev]++;
	if (fs->fn)
		fs->fn(fs->ctx, &f);
	if (fs->keep && rc == 0) {
		rc = store(fs, &f);
		stored = rc == 0;
	}
	pthread_mutex_unlock(&fs->lock);
	if (!stored) {
		free(f.path);
		free(f.message);
	}
	return rc;
}

size_t kist_findings_count(const struct kist_findings *fs)
{
	return fs->count;
}

size_t kist_findings_count_severity(const struct kist_findings *fs, enum kist_severity sev)
{
	return fs->by_severity[sev];
}

const struct kist_finding *kist_findings_get(const struct kist_findings *fs, size_t i)
{
	return i < fs->count ? &fs->items[i] : NULL;
}

int kist_findings_has(const struct kist_findings *fs, const char *code)
{
	for (size_t i = 0; i < fs->count; i++)
		if (strcmp(fs->items[i].code, code) == 0)
			return 1;
	return 0;
}

const char *kist_severity_name(enum kist_severity sev)
{
	static const char *const names[] = { "info", "warning", "error", "failure" };

	return sev < KIST_SEV_COUNT ? names[sev] : "unknown";
}
