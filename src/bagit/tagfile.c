/* src/bagit/tagfile.c (being written) */
#include <config.h>

#include <kist/bag.h>
