/* Status codes and the error record every library call can fill. */
#ifndef KIST_ERROR_H
#define KIST_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return values of library functions, from good to bad. */
enum kist_status {
	KIST_OK = 0,      /* done */
	KIST_WARN = 1,    /* done, with warnings */
	KIST_INVALID = 2, /* done, and the input is invalid / a problem was found */
	KIST_FAILED = 3   /* could not be done (I/O error, bad arguments, no memory) */
};

/* A caller-owned error record: the status plus a message naming the object. */
struct kist_error {
	int status;
	int sys_errno;      /* errno behind the failure, 0 if none */
	char message[1024];
};

void kist_error_clear(struct kist_error *err);
/* Sets status and a printf-style message; returns status for `return kist_error_set(...)`. */
int kist_error_set(struct kist_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like kist_error_set, appending ": strerror(errnum)". */
int kist_error_sys(struct kist_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
