/* src/bagit/bag.c (being written) */
#include <config.h>

#include <kist/bag.h>

int kist_bag_version_at_least(const struct kist_bag *bag, int major, int minor)
{
	return bag->major > major || (bag->major == major && bag->minor >= minor);
}
