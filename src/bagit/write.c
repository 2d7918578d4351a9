/* src/bagit/write.c (being written) */
#include <config.h>

#include <kist/bag.h>
