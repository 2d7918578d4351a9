/* src/bagit/update.c (being written) */
#include <config.h>

#include <kist/bag.h>
