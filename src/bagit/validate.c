/* src/bagit/validate.c (being written) */
#include <config.h>

#include <kist/bag.h>
