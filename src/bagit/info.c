/* src/bagit/info.c (being written) */
#include <config.h>

#include <kist/bag.h>
