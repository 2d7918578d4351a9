/* Format identification inside `bag create` (see identify-pass.h). Only
 * PRONOM's answer is kept per file: strings owned by the identifier, so a
 * million files cost four pointers each. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include <kist/identify.h>
#include <kist/kist.h>

#include "identify-pass.h"

struct id_format {
	const char *puid, *name, *version, *mime;
	enum kist_id_basis basis;
};

struct id_pass {
	struct kist_identifier *id;
	struct id_format *formats;     /* per manifest line; puid NULL: unknown */
	size_t nlines, identified, unknown, unread;
	char detail[256], outcome[256];
};

struct id_pass *id_pass_new(const struct kist_bag_create_options *opt, int dirfd,
			    struct kist_findings *findings, struct kist_error *err)
{
	struct kist_identify_options io;
	struct id_pass *p = calloc(1, sizeof(*p));

	if (!p) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		return NULL;
	}
	kist_identify_options_init(&io);
	io.signature_file = opt->signature_file;
	io.window = opt->identify_window;
	io.dirfd = dirfd;
	/* PRONOM gives the MIME type of what it knows; libmagic would cost
	 * more than hashing a small file */
	io.no_magic = 1;
	if (!(p->id = kist_identifier_load(&io, findings, err))) {
		id_pass_free(p);
		return NULL;
	}
	return p;
}

int id_pass_start(struct id_pass *p, size_t nlines)
{
	free(p->formats);
	p->identified = p->unknown = p->unread = 0;
	p->nlines = nlines;
	return (p->formats = calloc(nlines + 1, sizeof(*p->formats))) ? 0 : -1;
}

void id_pass_free(struct id_pass *p)
{
	if (!p)
		return;
	kist_identifier_free(p->id);
	free(p->formats);
	free(p);
}

const struct kist_consumer *id_pass_consumer(struct id_pass *p)
{
	return kist_identifier_consumer(p->id);
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void id_pass_take(struct id_pass *p, void *state, size_t line)
{
	const struct kist_id_result *r = state ? kist_id_result_of(state) : NULL;

	if (!r || r->failed) {
		p->unread++;
	} else if (r->nmatches == 0 || line >= p->nlines) {
		p->unknown++;
	} else {
		const struct kist_id_match *m = &r->matches[0];

		p->formats[line] = (struct id_format){ m->puid, nonempty(m->name), nonempty(m->version),
						       nonempty(m->mime), m->basis };
		p->identified++;
	}
	kist_id_result_free(state);
}

void id_pass_format(const struct id_pass *p, size_t line, struct kist_premis_file *f)
{
	const struct id_format *fm = line < p->nlines ? &p->formats[line] : NULL;

	if (!fm || !fm->puid)
		return;
	f->puid = fm->puid;
	f->format_name = fm->name ? fm->name : fm->puid;
	f->format_version = fm->version;
	f->mime = fm->mime;
	f->format_basis = fm->basis == KIST_ID_CONTAINER   ? "identified by a PRONOM container signature"
			  : fm->basis == KIST_ID_EXTENSION ? "identified by file extension only: PRONOM "
							     "has no signature for this format"
							   : "identified by a PRONOM byte signature";
}

void id_pass_event(struct id_pass *p, struct kist_premis_event *ev)
{
	const char *cv = kist_identifier_container_version(p->id);

	if (*cv)
		snprintf(p->detail, sizeof(p->detail),
			 "kist %s; PRONOM signature file V%s, container signature file version %s",
			 kist_version(), kist_identifier_signature_version(p->id), cv);
	else
		snprintf(p->detail, sizeof(p->detail), "kist %s; PRONOM signature file V%s",
			 kist_version(), kist_identifier_signature_version(p->id));
	snprintf(p->outcome, sizeof(p->outcome), "%zu files identified, %zu not identified%s",
		 p->identified, p->unknown + p->unread,
		 p->unread ? " (some could not be read)" : "");
	ev->type = KIST_PREMIS_EV_FOR;
	ev->detail = p->detail;
	ev->outcome_detail = p->outcome;
	ev->outcome = p->unread ? KIST_PREMIS_WARNING : KIST_PREMIS_SUCCESS;
}
