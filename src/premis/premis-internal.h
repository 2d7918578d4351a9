/* Shared inside src/premis/. */
#ifndef KIST_PREMIS_INTERNAL_H
#define KIST_PREMIS_INTERNAL_H

#include <libxml/xmlwriter.h>
#include <libxml/xmlreader.h>

#include <kist/premis.h>

#define PREMIS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define PREMIS_SCHEMA_LOCATION "http://www.loc.gov/premis/v3 https://www.loc.gov/standards/premis/premis.xsd"
/* deepest element nesting accepted when reading */
#define PREMIS_MAX_DEPTH 64

#define PREMIS_LOC "http://id.loc.gov/vocabulary/preservation/"

/* A random (version 4) UUID, 36 characters and a NUL. */
/* Now as xs:dateTime with the local zone: 2026-11-27T05:30:00+01:00. */
void premis_now(char out[40]);
/* Writes one event element (prefix "premis", declaring the namespace when
 * declare_ns). Returns 0 or -1. */
int premis_write_event(xmlTextWriterPtr w, const struct kist_premis_event *e, int declare_ns);
int premis_write_agent(xmlTextWriterPtr w, const struct kist_premis_agent *a, int declare_ns);
/* A reader over dirfd/name for untrusted input: no network, no entity
 * substitution, no DTD loading, libxml2's default limits. Parser messages
 * collect in msg (the first one). */
struct preader {
	xmlTextReaderPtr r;
	int fd;
	char msg[512];
	int nerrors;
	struct kist_findings *findings;   /* when set, every message is a finding */
	const char *display;
};
int premis_reader_open(struct preader *pr, int dirfd, const char *name, struct kist_error *err);
void premis_reader_close(struct preader *pr);
/* Reads the next node; -1 on a refused or malformed document (err set),
 * 0 at the end, 1 with a node. Refuses a DTD and nesting deeper than
 * PREMIS_MAX_DEPTH. */
int premis_reader_next(struct preader *pr, const char *name, struct kist_error *err);

/* The LoC cryptographicHashFunctions label and code of an algorithm; -1 for
 * one the vocabulary lacks. */
int premis_hash_term(int alg, const char **label, const char **code);
/* A premis:file object as the document writer would indent it at depth 1,
 * ending in a newline; malloc'd, NULL when out of memory. */
char *premis_file_object(const struct kist_premis_file *f, const char *uuid, size_t *len);

/* An output buffer writing to fd; io_errno set on a write error. */
xmlTextWriterPtr premis_fd_writer(int fd, int *io_errno);

#endif
