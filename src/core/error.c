/* kist_error: the status and message a failed call leaves for its caller. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include <kist/error.h>

void kist_error_clear(struct kist_error *err)
{
	if (!err)
		return;
	err->status = KIST_OK;
	err->sys_errno = 0;
	err->message[0] = '\0';
}

int kist_error_set(struct kist_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return status;
	err->status = status;
	err->sys_errno = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return status;
}

int kist_error_sys(struct kist_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err)
		return KIST_FAILED;
	err->status = KIST_FAILED;
	err->sys_errno = errnum;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	n = strlen(err->message);
	if (n < sizeof(err->message))
		snprintf(err->message + n, sizeof(err->message) - n, ": %s", strerror(errnum));
	return KIST_FAILED;
}
