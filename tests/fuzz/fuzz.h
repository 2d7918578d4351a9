/* Shared pieces of the libFuzzer targets: each target defines
 * LLVMFuzzerTestOneInput; the loaders read files, so inputs are written to a
 * scratch directory (in memory under /dev/shm when there is one) first. */
#ifndef KIST_FUZZ_H
#define KIST_FUZZ_H

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One scratch directory per process, removed at exit (best effort). */
const char *fuzz_dir(void);
/* Writes data to fuzz_dir()/name (relative names only); aborts on failure:
 * a scratch write failing is the harness's problem, not the code's. */
void fuzz_write(const char *name, const void *data, size_t len);
/* Removes fuzz_dir()/name if it exists. */
void fuzz_unlink(const char *name);
/* fuzz_dir()/name, in a static buffer. */
const char *fuzz_path(const char *name);

#endif
