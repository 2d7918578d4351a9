/* libmagic beside the PUID. A magic_t is not thread-safe: each thread that
 * identifies gets its own pair (MIME type, description), loaded once and
 * closed when the thread ends or the identifier is freed.
 *
 * Each libmagic call walks the whole magic database (some 150 us), and a
 * collection holds many files of a kind: the description is asked for every
 * file, and the MIME type is remembered per exact description (per thread, a
 * bounded table), so a description seen before does not cost a second walk.
 * Both answers come from the same first matching magic entry, so the same
 * description means the same MIME type. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <magic.h>

#include "formats.h"

#define CACHE_SLOTS 4096              /* power of two; filled to 3/4 at most */

struct kmagic {
	magic_t mime, desc;
	size_t used;
	struct slot {
		char *desc, *mime;
	} cache[CACHE_SLOTS];
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static void kmagic_destroy(void *p)
{
	struct kmagic *m = p;

	if (!m)
		return;
	if (m->mime)
		magic_close(m->mime);
	if (m->desc)
		magic_close(m->desc);
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(m->cache[i].desc);
		free(m->cache[i].mime);
	}
	free(m);
}

int kmagic_init(struct kist_identifier *id)
{
	if (pthread_key_create(&id->magic_key, kmagic_destroy) != 0)
		return -1;
	id->magic_key_ok = 1;
	return 0;
}

void kmagic_fini(struct kist_identifier *id)
{
	if (!id->magic_key_ok)
		return;
	/* the calling thread's pair; workers' pairs went with their threads */
	kmagic_destroy(pthread_getspecific(id->magic_key));
	pthread_setspecific(id->magic_key, NULL);
	pthread_key_delete(id->magic_key);
	id->magic_key_ok = 0;
}

/* file(1)'s defaults: the same answers as `file` and `file --mime-type`. */
#define KMAGIC_FLAGS MAGIC_NONE

static magic_t open_one(int flags)
{
	magic_t m = magic_open(flags | KMAGIC_FLAGS);

	if (m && magic_load(m, NULL) != 0) {
		magic_close(m);
		m = NULL;
	}
	return m;
}

void kmagic_buffer(struct kist_identifier *id, const void *buf, size_t len, char **mime, char **desc)
{
	struct kmagic *m;
	const char *r;

	*mime = *desc = NULL;
	if (!id->magic_key_ok || id->magic_failed)
		return;
	m = pthread_getspecific(id->magic_key);
	if (!m) {
		if (!(m = calloc(1, sizeof(*m))))
			return;
		m->mime = open_one(MAGIC_MIME_TYPE);
		m->desc = open_one(MAGIC_NONE);
		if (!m->mime || !m->desc) {
			id->magic_failed = 1;
			kmagic_destroy(m);
			return;
		}
		pthread_setspecific(id->magic_key, m);
	}
	if (!(r = magic_buffer(m->desc, buf, len)) || !(*desc = strdup(r))) {
		if ((r = magic_buffer(m->mime, buf, len)))
			*mime = strdup(r);
		return;
	}
	size_t h = hash(*desc) & (CACHE_SLOTS - 1);

	while (m->cache[h].desc && strcmp(m->cache[h].desc, *desc) != 0)
		h = (h + 1) & (CACHE_SLOTS - 1);
	if (m->cache[h].desc) {
		*mime = strdup(m->cache[h].mime);
		return;
	}
	if (!(r = magic_buffer(m->mime, buf, len)) || !(*mime = strdup(r)))
		return;
	if (m->used < CACHE_SLOTS / 4 * 3 && (m->cache[h].desc = strdup(*desc))) {
		if ((m->cache[h].mime = strdup(*mime))) {
			m->used++;
		} else {
			free(m->cache[h].desc);
			m->cache[h].desc = NULL;
		}
	}
}
