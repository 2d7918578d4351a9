/* Findings: what validation, hashing and audits report about the objects they
 * look at. Each has a stable code ("file.unreadable"), a severity, the path it
 * concerns and a human message. The library collects; the CLI formats. */
#ifndef KIST_FINDING_H
#define KIST_FINDING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kist_severity {
	KIST_SEV_INFO = 0,
	KIST_SEV_WARNING,  /* worth knowing, the result still stands */
	KIST_SEV_ERROR,    /* a problem in the data: invalid bag, mismatch, missing file */
	KIST_SEV_FAILURE,  /* the work could not be done for this object (I/O, permissions) */
	KIST_SEV_COUNT
};

struct kist_finding {
	const char *code;          /* static string, stable across releases */
	enum kist_severity severity;
	char *path;                /* may be NULL */
	char *message;
};

struct kist_findings;

/* Called for each finding as it is added (under the list's lock). */
typedef void (*kist_finding_fn)(void *ctx, const struct kist_finding *f);

struct kist_findings *kist_findings_new(void);
void kist_findings_free(struct kist_findings *fs);
/* Report findings to fn as they arrive; with keep == 0 they are counted but not stored. */
void kist_findings_set_callback(struct kist_findings *fs, kist_finding_fn fn, void *ctx, int keep);
/* Thread-safe. Returns 0, or -1 when out of memory (the finding is then still counted). */
int kist_findings_add(struct kist_findings *fs, enum kist_severity sev, const char *code,
		      const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
size_t kist_findings_count(const struct kist_findings *fs);
size_t kist_findings_count_severity(const struct kist_findings *fs, enum kist_severity sev);
const struct kist_finding *kist_findings_get(const struct kist_findings *fs, size_t i);
/* Does the list hold a finding with this code? */
int kist_findings_has(const struct kist_findings *fs, const char *code);

const char *kist_severity_name(enum kist_severity sev);

#ifdef __cplusplus
}
#endif
#endif
