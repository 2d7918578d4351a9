/* libmagic beside the PUID. A magic_t is not thread-safe: each thread that
 * identifies gets its own pair (MIME type, description), loaded once and
 * closed when the thread ends or the identifier is freed. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <magic.h>

#include "formats.h"

struct kmagic {
	magic_t mime, desc;
};

static void kmagic_destroy(void *p)
{
	struct kmagic *m = p;

	if (!m)
		return;
	if (m->mime)
		magic_close(m->mime);
	if (m->desc)
		magic_close(m->desc);
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

/* Checks that cost much and tell little about a file's own format: looking
 * inside compressed data and tar archives, and CDF/ELF details. */
#define KMAGIC_FLAGS (MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_TAR | MAGIC_NO_CHECK_CDF | \
		      MAGIC_NO_CHECK_ELF | MAGIC_ERROR)

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
	if ((r = magic_buffer(m->mime, buf, len)))
		*mime = strdup(r);
	if ((r = magic_buffer(m->desc, buf, len)))
		*desc = strdup(r);
}
