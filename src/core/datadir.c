/* Where the files kist needs at run time live (PRONOM signatures, the
 * PREMIS schema): $KIST_DATADIR, else the installed $(pkgdatadir), else the
 * source tree this program was built from, so that ./kist runs before
 * `make install`. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <kist/kist.h>

#ifndef KIST_PKGDATADIR
#define KIST_PKGDATADIR "/usr/local/share/kist"
#endif

char *kist_data_file(const char *relpath)
{
	const char *env = getenv("KIST_DATADIR");
	char *p = NULL;

	if (env && *env)
		return asprintf(&p, "%s/%s", env, relpath) < 0 ? NULL : p;
	if (asprintf(&p, "%s/%s", KIST_PKGDATADIR, relpath) < 0)
		return NULL;
#ifdef KIST_SRCDATADIR
	if (access(p, R_OK) != 0) {
		char *src = NULL;

		if (asprintf(&src, "%s/%s", KIST_SRCDATADIR, relpath) >= 0 && access(src, R_OK) == 0) {
			free(p);
			return src;
		}
		free(src);
	}
#endif
	return p;
}
