#include <config.h>

#include <kist/kist.h>

const char *kist_version(void)
{
	return PACKAGE_VERSION;
}
