/* PREMIS 3 provenance (http://www.loc.gov/premis/v3): writing a document as
 * a stream, appending events to one without loading it, reading its events,
 * and checking it against the PREMIS 3.0 schema.
 *
 * Controlled values come from the Library of Congress preservation
 * vocabularies (id.loc.gov/vocabulary/preservation/...): the label is the
 * element's text, with authority, authorityURI and valueURI attributes. */
#ifndef KIST_PREMIS_H
#define KIST_PREMIS_H

#include <stddef.h>
#include <stdint.h>
#include <kist/digest.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kist_error;
struct kist_findings;

#define KIST_PREMIS_NS "http://www.loc.gov/premis/v3"

/* eventType (LoC vocabulary). */
enum kist_premis_event_type {
	KIST_PREMIS_EV_IPC,        /* information package creation */
	KIST_PREMIS_EV_MES,        /* message digest calculation */
	KIST_PREMIS_EV_FIX,        /* fixity check */
	KIST_PREMIS_EV_MEM,        /* metadata modification */
	KIST_PREMIS_EV_FOR,        /* format identification */
	KIST_PREMIS_EV_VAL,        /* validation */
	KIST_PREMIS_EV_CAP,        /* capture: "a repository actively obtains an
				      object" (kist bag fetch) */
	KIST_PREMIS_EV_COUNT
};
/* eventOutcome (LoC vocabulary). */
enum kist_premis_outcome { KIST_PREMIS_SUCCESS, KIST_PREMIS_WARNING, KIST_PREMIS_FAILURE };
/* agentType (LoC vocabulary). */
enum kist_premis_agent_type { KIST_PREMIS_SOFTWARE, KIST_PREMIS_ORGANIZATION, KIST_PREMIS_PERSON };

const char *kist_premis_event_label(int type);   /* "message digest calculation" */

struct kist_premis_agent {
	int type;                  /* enum kist_premis_agent_type */
	const char *name;
	const char *version;       /* software: agentVersion, or NULL */
};
/* The agent's identifier value (type "local"): "software/kist/0.1",
 * "organization/NAME", "person/NAME". malloc'd. */
char *kist_premis_agent_id(const struct kist_premis_agent *a);
/* kist itself, this version. */
void kist_premis_agent_kist(struct kist_premis_agent *a);
/* The person running the program: name, else the login name (getpwuid),
 * else $USER; returns 0, or -1 when none is known. */
int kist_premis_agent_person(struct kist_premis_agent *a, const char *name);

struct kist_premis_event {
	int type;                   /* enum kist_premis_event_type */
	const char *datetime;       /* xs:dateTime with zone; NULL: now */
	int outcome;                /* enum kist_premis_outcome */
	const char *detail;         /* eventDetail; NULL: "kist VERSION" */
	const char *outcome_detail; /* eventOutcomeDetailNote, or NULL */
	/* linked agents: software as "executing program", others as "implementer" */
	const struct kist_premis_agent *agents;
	size_t nagents;
	const char *object;         /* linkingObjectIdentifier (type "local"), or NULL */
};

struct kist_premis_file {
	const char *path;           /* manifest path: "data/a.txt" */
	const char *original_name;  /* the path it had in SOURCE, or NULL */
	uint64_t size;
	kist_algset algs;
	const unsigned char *digest[KIST_ALG_COUNT];
	/* format, when identified (all may be NULL); format_basis says how
	 * ("PRONOM byte signature", ...), written as a formatNote */
	const char *format_name, *format_version, *puid, *mime, *format_basis;
};

/* The identifier (type "local") of the representation object kist writes for
 * a bag's payload; events about the whole bag link to it. */
#define KIST_PREMIS_BAG_OBJECT "data"

/* --- writing, as a stream ------------------------------------------------- */

struct kist_premis_writer;
/* Creates dirfd/name (replacing it) and starts the document with the bag's
 * representation object. Then: files, events, agents, in that order. */
struct kist_premis_writer *kist_premis_writer_new(int dirfd, const char *name, struct kist_error *err);
int kist_premis_write_file(struct kist_premis_writer *w, const struct kist_premis_file *f);
int kist_premis_write_event(struct kist_premis_writer *w, const struct kist_premis_event *e);
int kist_premis_write_agent(struct kist_premis_writer *w, const struct kist_premis_agent *a);
/* Like kist_premis_writer_new, and every byte of the document is hashed
 * with algs on its way to the file, so that a caller making tag manifests
 * need not read it back: kist_premis_writer_finish_digests gives them. */
struct kist_premis_writer *kist_premis_writer_new_hashed(int dirfd, const char *name, kist_algset algs,
							 struct kist_error *err);
/* Ends the document, syncs and closes the file; frees w. */
int kist_premis_writer_finish(struct kist_premis_writer *w, struct kist_error *err);
/* The same, and digest[alg] gets the document's digest for each algorithm
 * given to kist_premis_writer_new_hashed. */
int kist_premis_writer_finish_digests(struct kist_premis_writer *w,
				      unsigned char (*digest)[KIST_DIGEST_MAX], struct kist_error *err);
/* Abandons the document (the partial file is left to the caller); frees w. */
void kist_premis_writer_free(struct kist_premis_writer *w);

/* --- appending -------------------------------------------------------------- */

/* Copies dirfd/name node by node to a temporary file, inserting the events
 * after the last event (before the first agent or rights statement), and
 * every agent the document does not hold yet after the last agent; then
 * replaces the file atomically. Everything else is kept as it was. The
 * document is read as untrusted (see kist_premis_read). */
int kist_premis_append(int dirfd, const char *name, const struct kist_premis_event *events,
		       size_t nevents, const struct kist_premis_agent *agents, size_t nagents,
		       struct kist_error *err);

/* --- reading -------------------------------------------------------------------- */

struct kist_premis_event_info {
	char *id, *type, *datetime, *outcome, *detail, *outcome_detail;
};
struct kist_premis_summary {
	size_t objects, files, representations, other_objects;
	size_t events, agents, rights;
	struct kist_premis_event_info *ev;   /* events, in document order */
	char **agent_names;                  /* agentName, "" when none */
	char **agent_types;                  /* agentType, "" when none */
};
/* Reads a document as a stream: never the network, no entity expansion, no
 * DTD (a document type declaration is refused), bounded depth. Fails with
 * KIST_INVALID and a message for malformed or refused input. */
int kist_premis_read(int dirfd, const char *name, struct kist_premis_summary *out,
		     struct kist_error *err);
void kist_premis_summary_free(struct kist_premis_summary *s);
/* Sorts s->ev by eventDateTime (stable). */
void kist_premis_sort_events(struct kist_premis_summary *s);

/* --- the schema --------------------------------------------------------------- */

/* $KIST_DATADIR/premis/premis-v3-0.xsd, else PKGDATADIR's; malloc'd. */
char *kist_premis_schema_path(void);
/* Validates a document against the PREMIS 3.0 schema (streaming). Each
 * problem is a finding "premis.invalid" (error) naming the line; returns
 * KIST_OK, KIST_INVALID, or KIST_FAILED when the schema or file could not be
 * read. */
int kist_premis_validate(int dirfd, const char *name, const char *display,
			 struct kist_findings *findings, struct kist_error *err);

#ifdef __cplusplus
}
#endif
#endif
