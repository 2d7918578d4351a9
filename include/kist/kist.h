/* libkist: digital preservation toolkit. */
#ifndef KIST_KIST_H
#define KIST_KIST_H

#include <kist/error.h>
#include <kist/finding.h>
#include <kist/digest.h>
#include <kist/path.h>
#include <kist/walk.h>
#include <kist/pool.h>
#include <kist/progress.h>
#include <kist/pipeline.h>
#include <kist/checklist.h>
#include <kist/bag.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version, "0.1.0". */
const char *kist_version(void);

/* Path of a data file kist carries ("pronom/DROID_SignatureFile_V118.xml"):
 * under $KIST_DATADIR, else the installed data directory, else the source
 * tree kist was built from. malloc'd; NULL when out of memory. */
char *kist_data_file(const char *relpath);

#ifdef __cplusplus
}
#endif
#endif
