/* Two pipeline consumers over the same blocks (copying a file and
 * identifying it, in one read). */
#include <config.h>

#include <stdlib.h>

#include <kist/pipeline.h>

static void *tee_open(void *arg, size_t index, const char *path, uint64_t size)
{
	const struct kist_tee *t = arg;
	struct kist_tee_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->tee = t;
	st->first = t->first->open(t->first->arg, index, path, size);
	st->second = t->second->open(t->second->arg, index, path, size);
	if (!st->first && t->first->skip)
		t->first->skip(t->first->arg, index);
	if (!st->second && t->second->skip)
		t->second->skip(t->second->arg, index);
	return st;
}

/* Neither consumer sees the file (for the tee's own NULL, the pipeline
 * calls this). */
static void tee_skip(void *arg, size_t index)
{
	const struct kist_tee *t = arg;

	if (t->first->skip)
		t->first->skip(t->first->arg, index);
	if (t->second->skip)
		t->second->skip(t->second->arg, index);
}

static void tee_update(void *state, const unsigned char *buf, size_t len, uint64_t offset)
{
	struct kist_tee_state *st = state;

	if (st->first)
		st->tee->first->update(st->first, buf, len, offset);
	if (st->second)
		st->tee->second->update(st->second, buf, len, offset);
}

static void tee_close(void *state, int failed)
{
	struct kist_tee_state *st = state;

	if (st->first)
		st->tee->first->close(st->first, failed);
	if (st->second)
		st->tee->second->close(st->second, failed);
}

static void tee_discard(void *state)
{
	struct kist_tee_state *st = state;

	if (st->first && st->tee->first->discard)
		st->tee->first->discard(st->first);
	if (st->second && st->tee->second->discard)
		st->tee->second->discard(st->second);
	free(st);
}

const struct kist_consumer *kist_tee_init(struct kist_tee *t, const struct kist_consumer *first,
					  const struct kist_consumer *second)
{
	t->first = first;
	t->second = second;
	t->consumer = (struct kist_consumer){ .open = tee_open, .update = tee_update,
					      .close = tee_close, .arg = t, .discard = tee_discard,
					      .skip = tee_skip };
	return &t->consumer;
}

void kist_tee_state_free(void *state)
{
	free(state);
}
