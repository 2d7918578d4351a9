/* src/bagit/create.c (being written) */
#include <config.h>

#include <kist/bag.h>
