/* Writing PREMIS 3 as a stream (xmlTextWriter): nothing but the writer's
 * buffer is held, whatever the number of files. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kist/kist.h>
#include <kist/error.h>
#include <kist/premis.h>
#include <kist/uuid.h>

#include "premis-internal.h"

#define LOC PREMIS_LOC
#define X(s) BAD_CAST (s)

/* --- vocabularies ------------------------------------------------------------ */

static const struct term {
	const char *label, *code;
} event_types[KIST_PREMIS_EV_COUNT] = {
	[KIST_PREMIS_EV_IPC] = { "information package creation", "ipc" },
	[KIST_PREMIS_EV_MES] = { "message digest calculation", "mes" },
	[KIST_PREMIS_EV_FIX] = { "fixity check", "fix" },
	[KIST_PREMIS_EV_MEM] = { "metadata modification", "mem" },
	[KIST_PREMIS_EV_FOR] = { "format identification", "for" },
	[KIST_PREMIS_EV_VAL] = { "validation", "val" },
	[KIST_PREMIS_EV_CAP] = { "capture", "cap" },
}, outcomes[] = {
	[KIST_PREMIS_SUCCESS] = { "success", "suc" },
	[KIST_PREMIS_WARNING] = { "warning", "war" },
	[KIST_PREMIS_FAILURE] = { "failure", "fai" },
}, agent_types[] = {
	[KIST_PREMIS_SOFTWARE] = { "software", "sof" },
	[KIST_PREMIS_ORGANIZATION] = { "organization", "org" },
	[KIST_PREMIS_PERSON] = { "person", "per" },
}, roles[] = {
	{ "executing program", "exe" },
	{ "implementer", "imp" },
};

/* cryptographicHashFunctions: only algorithms the vocabulary has. */
static const struct term *hash_term(int alg);

int premis_hash_term(int alg, const char **label, const char **code)
{
	const struct term *t = hash_term(alg);

	if (!t)
		return -1;
	*label = t->label;
	*code = t->code;
	return 0;
}

static const struct term *hash_term(int alg)
{
	static const struct term md5 = { "MD5", "md5" }, sha1 = { "SHA-1", "sha1" },
				 sha256 = { "SHA-256", "sha256" }, sha384 = { "SHA-384", "sha384" },
				 sha512 = { "SHA-512", "sha512" };

	switch (alg) {
	case KIST_ALG_MD5: return &md5;
	case KIST_ALG_SHA1: return &sha1;
	case KIST_ALG_SHA256: return &sha256;
	case KIST_ALG_SHA384: return &sha384;
	case KIST_ALG_SHA512: return &sha512;
	default: return NULL;
	}
}

const char *kist_premis_event_label(int type)
{
	return type >= 0 && type < KIST_PREMIS_EV_COUNT ? event_types[type].label : "unknown";
}

/* <premis:NAME authority=.. authorityURI=.. valueURI=..>label</premis:NAME> */
static int term_element(xmlTextWriterPtr w, const char *name, const char *vocab, const struct term *t)
{
	char uri[256], vuri[256];

	snprintf(uri, sizeof(uri), LOC "%s", vocab);
	snprintf(vuri, sizeof(vuri), LOC "%s/%s", vocab, t->code);
	if (xmlTextWriterStartElementNS(w, X("premis"), X(name), NULL) < 0 ||
	    xmlTextWriterWriteAttribute(w, X("authority"), X(vocab)) < 0 ||
	    xmlTextWriterWriteAttribute(w, X("authorityURI"), X(uri)) < 0 ||
	    xmlTextWriterWriteAttribute(w, X("valueURI"), X(vuri)) < 0 ||
	    xmlTextWriterWriteString(w, X(t->label)) < 0 || xmlTextWriterEndElement(w) < 0)
		return -1;
	return 0;
}

static int el(xmlTextWriterPtr w, const char *name, const char *text)
{
	return xmlTextWriterWriteElementNS(w, X("premis"), X(name), NULL, X(text)) < 0 ? -1 : 0;
}

static int start(xmlTextWriterPtr w, const char *name)
{
	return xmlTextWriterStartElementNS(w, X("premis"), X(name), NULL) < 0 ? -1 : 0;
}

static int end(xmlTextWriterPtr w)
{
	return xmlTextWriterEndElement(w) < 0 ? -1 : 0;
}

/* <premis:NAMEIdentifier><premis:NAMEIdentifierType>..</><...Value>..</></> */
static int identifier(xmlTextWriterPtr w, const char *name, const char *type, const char *value)
{
	char a[64], b[80], c[80];

	snprintf(a, sizeof(a), "%sIdentifier", name);
	snprintf(b, sizeof(b), "%sIdentifierType", name);
	snprintf(c, sizeof(c), "%sIdentifierValue", name);
	if (start(w, a) < 0 || el(w, b, type) < 0 || el(w, c, value) < 0 || end(w) < 0)
		return -1;
	return 0;
}

/* --- identifiers, time, agents --------------------------------------------------- */

void premis_now(char out[40])
{
	time_t now = time(NULL);
	struct tm tm;
	char zone[8];
	size_t n;

	localtime_r(&now, &tm);
	n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof(zone), "%z", &tm);   /* +0100 */
	if (strlen(zone) == 5)
		snprintf(out + n, 40 - n, "%.3s:%.2s", zone, zone + 3);
	else
		snprintf(out + n, 40 - n, "Z");
}

char *kist_premis_agent_id(const struct kist_premis_agent *a)
{
	char *s = NULL;
	int r;

	if (a->type == KIST_PREMIS_SOFTWARE)
		r = asprintf(&s, "software/%s%s%s", a->name, a->version ? "/" : "",
			     a->version ? a->version : "");
	else
		r = asprintf(&s, "%s/%s", a->type == KIST_PREMIS_PERSON ? "person" : "organization",
			     a->name);
	return r < 0 ? NULL : s;
}

void kist_premis_agent_kist(struct kist_premis_agent *a)
{
	a->type = KIST_PREMIS_SOFTWARE;
	a->name = "kist";
	a->version = kist_version();
}

int kist_premis_agent_person(struct kist_premis_agent *a, const char *name)
{
	a->type = KIST_PREMIS_PERSON;
	a->version = NULL;
	a->name = name && *name ? name : NULL;
	if (!a->name) {
		struct passwd *pw = getpwuid(getuid());

		if (pw && pw->pw_name && *pw->pw_name)
			a->name = pw->pw_name;
		else if (getenv("USER") && *getenv("USER"))
			a->name = getenv("USER");
	}
	return a->name ? 0 : -1;
}

/* --- elements ---------------------------------------------------------------------------- */

static int declare(xmlTextWriterPtr w, int declare_ns)
{
	if (!declare_ns)
		return 0;
	return xmlTextWriterWriteAttribute(w, X("xmlns:premis"), X(KIST_PREMIS_NS)) < 0 ? -1 : 0;
}

int premis_write_event(xmlTextWriterPtr w, const struct kist_premis_event *e, int declare_ns)
{
	char uuid[37], now[40], detail[128];
	int outcome = e->outcome;

	if (e->type < 0 || e->type >= KIST_PREMIS_EV_COUNT || kist_uuid4(uuid) < 0)
		return -1;
	if (outcome < KIST_PREMIS_SUCCESS || outcome > KIST_PREMIS_FAILURE)
		outcome = KIST_PREMIS_FAILURE;
	premis_now(now);
	snprintf(detail, sizeof(detail), "kist %s", kist_version());
	if (start(w, "event") < 0 || declare(w, declare_ns) < 0 ||
	    identifier(w, "event", "UUID", uuid) < 0 ||
	    term_element(w, "eventType", "eventType", &event_types[e->type]) < 0 ||
	    el(w, "eventDateTime", e->datetime ? e->datetime : now) < 0 ||
	    start(w, "eventDetailInformation") < 0 ||
	    el(w, "eventDetail", e->detail ? e->detail : detail) < 0 || end(w) < 0 ||
	    start(w, "eventOutcomeInformation") < 0 ||
	    term_element(w, "eventOutcome", "eventOutcome", &outcomes[outcome]) < 0)
		return -1;
	if (e->outcome_detail && (start(w, "eventOutcomeDetail") < 0 ||
				  el(w, "eventOutcomeDetailNote", e->outcome_detail) < 0 || end(w) < 0))
		return -1;
	if (end(w) < 0)
		return -1;
	for (size_t i = 0; i < e->nagents; i++) {
		char *id = kist_premis_agent_id(&e->agents[i]);
		int bad = !id || start(w, "linkingAgentIdentifier") < 0 ||
			  el(w, "linkingAgentIdentifierType", "local") < 0 ||
			  el(w, "linkingAgentIdentifierValue", id) < 0 ||
			  term_element(w, "linkingAgentRole", "eventRelatedAgentRole",
				       &roles[e->agents[i].type == KIST_PREMIS_SOFTWARE ? 0 : 1]) < 0 ||
			  end(w) < 0;

		free(id);
		if (bad)
			return -1;
	}
	if (e->object && (start(w, "linkingObjectIdentifier") < 0 ||
			  el(w, "linkingObjectIdentifierType", "local") < 0 ||
			  el(w, "linkingObjectIdentifierValue", e->object) < 0 || end(w) < 0))
		return -1;
	return end(w);
}

int premis_write_agent(xmlTextWriterPtr w, const struct kist_premis_agent *a, int declare_ns)
{
	char *id = kist_premis_agent_id(a);
	int t = a->type;
	int bad;

	if (t < KIST_PREMIS_SOFTWARE || t > KIST_PREMIS_PERSON)
		t = KIST_PREMIS_PERSON;
	bad = !id || start(w, "agent") < 0 || declare(w, declare_ns) < 0 ||
	      identifier(w, "agent", "local", id) < 0 || el(w, "agentName", a->name) < 0 ||
	      term_element(w, "agentType", "agentType", &agent_types[t]) < 0 ||
	      (a->version && el(w, "agentVersion", a->version) < 0) || end(w) < 0;
	free(id);
	return bad ? -1 : 0;
}

/* --- the writer ------------------------------------------------------------------------------ */

enum { ST_OBJECTS, ST_EVENTS, ST_AGENTS, ST_DONE };

struct fdout;

struct kist_premis_writer {
	xmlTextWriterPtr w;
	struct fdout *out;            /* the writer's sink, to flush before finishing */
	int fd;
	int io_errno;
	int state;
	struct kist_digest *digests[KIST_ALG_COUNT + 1];   /* NULL-terminated */
};

/* Writeback of the document starts every WRITEBACK_STEP bytes, so that the
 * final fsync of a large one waits for its remainder only. libxml2 hands
 * over 4 KB at a time: the writer's sink gathers SINK_SIZE bytes per
 * write(2) and digest update. */
#define WRITEBACK_STEP (4u << 20)
#define SINK_SIZE (256u << 10)

struct fdout {
	int fd;
	int *io_errno;
	struct kist_digest *const *digests;   /* every byte written, or NULL */
	uint64_t written, flushed;
	char *pending;                        /* gathered bytes, or NULL: none kept */
	size_t npending;
};

/* A failed write is kept in io_errno, which the callers check at the end,
 * and the rest is dropped. */
static void emit(struct fdout *o, const char *buf, size_t len)
{
	size_t done = 0;

	if (*o->io_errno || !len)
		return;
	for (size_t i = 0; o->digests && o->digests[i]; i++)
		if (kist_digest_update(o->digests[i], buf, len) < 0) {
			*o->io_errno = EIO;
			return;
		}
	while (done < len) {
		ssize_t n = write(o->fd, buf + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			*o->io_errno = errno;
			return;
		}
		done += (size_t)n;
	}
	o->written += len;
	if (o->written - o->flushed >= WRITEBACK_STEP) {
		sync_file_range(o->fd, (off_t)o->flushed, (off_t)(o->written - o->flushed),
				SYNC_FILE_RANGE_WRITE);
		o->flushed = o->written;
	}
}

static void fdout_flush(struct fdout *o)
{
	if (o->pending) {
		emit(o, o->pending, o->npending);
		o->npending = 0;
	}
}

/* Always "all written": returning -1 would make libxml2 print "I/O error"
 * on stderr itself, without the reason. */
static int fdout_write(void *ctx, const char *buf, int len)
{
	struct fdout *o = ctx;
	size_t n = (size_t)len;

	if (!o->pending) {
		emit(o, buf, n);
		return len;
	}
	if (o->npending + n > SINK_SIZE)
		fdout_flush(o);
	if (n >= SINK_SIZE) {
		emit(o, buf, n);
	} else {
		memcpy(o->pending + o->npending, buf, n);
		o->npending += n;
	}
	return len;
}

static int fdout_close(void *ctx)
{
	struct fdout *o = ctx;

	fdout_flush(o);
	free(o->pending);
	free(o);
	return 0;
}

static xmlTextWriterPtr fd_writer(int fd, int *io_errno, struct kist_digest *const *digests,
				  int gather, struct fdout **sink)
{
	struct fdout *o = calloc(1, sizeof(*o));
	xmlOutputBufferPtr out;
	xmlTextWriterPtr w;

	if (!o || (gather && !(o->pending = malloc(SINK_SIZE)))) {
		free(o);
		return NULL;
	}
	o->fd = fd;
	o->io_errno = io_errno;
	o->digests = digests;
	if (!(out = xmlOutputBufferCreateIO(fdout_write, fdout_close, o, NULL))) {
		free(o->pending);
		free(o);
		return NULL;
	}
	if (!(w = xmlNewTextWriter(out))) {
		xmlOutputBufferClose(out);
		return NULL;
	}
	if (sink)
		*sink = o;
	return w;
}

xmlTextWriterPtr premis_fd_writer(int fd, int *io_errno)
{
	return fd_writer(fd, io_errno, NULL, 0, NULL);
}

static int start_digests(struct kist_premis_writer *pw, kist_algset algs)
{
	size_t n = 0;

	for (int a = 0; a < KIST_ALG_COUNT; a++) {
		if (!(algs & KIST_ALG_BIT(a)))
			continue;
		if (!(pw->digests[n] = kist_digest_new(a)) || kist_digest_begin(pw->digests[n]) < 0)
			return -1;
		n++;
	}
	return 0;
}

static void free_digests(struct kist_premis_writer *pw)
{
	for (size_t i = 0; i < KIST_ALG_COUNT; i++)
		kist_digest_free(pw->digests[i]);
}

struct kist_premis_writer *kist_premis_writer_new_hashed(int dirfd, const char *name, kist_algset algs,
							 struct kist_error *err)
{
	struct kist_premis_writer *pw = calloc(1, sizeof(*pw));
	char uuid[37];

	if (!pw) {
		kist_error_set(err, KIST_FAILED, "out of memory");
		return NULL;
	}
	if (start_digests(pw, algs) < 0) {
		free_digests(pw);
		free(pw);
		kist_error_set(err, KIST_FAILED, "cannot start a digest");
		return NULL;
	}
	pw->fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (pw->fd < 0) {
		kist_error_sys(err, errno, "cannot create %s", name);
		free_digests(pw);
		free(pw);
		return NULL;
	}
	if (!(pw->w = fd_writer(pw->fd, &pw->io_errno, pw->digests, 1, &pw->out))) {
		close(pw->fd);
		free_digests(pw);
		free(pw);
		kist_error_set(err, KIST_FAILED, "cannot start an XML writer");
		return NULL;
	}
	xmlTextWriterSetIndent(pw->w, 1);
	xmlTextWriterSetIndentString(pw->w, X("  "));
	if (kist_uuid4(uuid) < 0 || xmlTextWriterStartDocument(pw->w, "1.0", "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElementNS(pw->w, X("premis"), X("premis"), X(KIST_PREMIS_NS)) < 0 ||
	    xmlTextWriterWriteAttributeNS(pw->w, X("xmlns"), X("xsi"), NULL, X(PREMIS_XSI)) < 0 ||
	    xmlTextWriterWriteAttributeNS(pw->w, X("xsi"), X("schemaLocation"), NULL,
					  X(PREMIS_SCHEMA_LOCATION)) < 0 ||
	    xmlTextWriterWriteAttribute(pw->w, X("version"), X("3.0")) < 0 ||
	    /* the bag's payload as a whole: events about the bag link to it */
	    start(pw->w, "object") < 0 ||
	    xmlTextWriterWriteAttributeNS(pw->w, X("xsi"), X("type"), NULL, X("premis:representation")) < 0 ||
	    identifier(pw->w, "object", "local", KIST_PREMIS_BAG_OBJECT) < 0 ||
	    identifier(pw->w, "object", "UUID", uuid) < 0 || end(pw->w) < 0) {
		kist_error_set(err, KIST_FAILED, "cannot write %s%s%s", name,
			       pw->io_errno ? ": " : "", pw->io_errno ? strerror(pw->io_errno) : "");
		kist_premis_writer_free(pw);
		return NULL;
	}
	return pw;
}

struct kist_premis_writer *kist_premis_writer_new(int dirfd, const char *name, struct kist_error *err)
{
	return kist_premis_writer_new_hashed(dirfd, name, 0, err);
}

int kist_premis_write_file(struct kist_premis_writer *pw, const struct kist_premis_file *f)
{
	char uuid[37], *text;
	size_t len;
	int rc;

	if (pw->state != ST_OBJECTS || kist_uuid4(uuid) < 0 || !(text = premis_file_object(f, uuid, &len)))
		return -1;
	/* the writer indents an element only after an element ended: after raw
	 * text it must be told that a line starts again */
	rc = xmlTextWriterWriteRawLen(pw->w, X(text), (int)len) < 0 || xmlTextWriterSetIndent(pw->w, 1) < 0
		     ? -1
		     : 0;
	free(text);
	return rc;
}

int kist_premis_write_event(struct kist_premis_writer *pw, const struct kist_premis_event *e)
{
	if (pw->state > ST_EVENTS)
		return -1;
	pw->state = ST_EVENTS;
	return premis_write_event(pw->w, e, 0);
}

int kist_premis_write_agent(struct kist_premis_writer *pw, const struct kist_premis_agent *a)
{
	if (pw->state > ST_AGENTS || !a->name)
		return -1;
	pw->state = ST_AGENTS;
	return premis_write_agent(pw->w, a, 0);
}

int kist_premis_writer_finish_digests(struct kist_premis_writer *pw,
				      unsigned char (*digest)[KIST_DIGEST_MAX], struct kist_error *err)
{
	int rc = KIST_OK;

	if (xmlTextWriterEndDocument(pw->w) < 0 || xmlTextWriterFlush(pw->w) < 0 ||
	    (fdout_flush(pw->out), pw->io_errno))
		rc = kist_error_set(err, KIST_FAILED, "cannot write the PREMIS document%s%s",
				    pw->io_errno ? ": " : "", pw->io_errno ? strerror(pw->io_errno) : "");
	xmlFreeTextWriter(pw->w);
	pw->w = NULL;
	if (rc == KIST_OK && fsync(pw->fd) < 0)
		rc = kist_error_sys(err, errno, "cannot sync the PREMIS document");
	if (close(pw->fd) < 0 && rc == KIST_OK)
		rc = kist_error_sys(err, errno, "cannot write the PREMIS document");
	pw->fd = -1;
	for (size_t i = 0; rc == KIST_OK && digest && pw->digests[i]; i++) {
		struct kist_digest *d = pw->digests[i];

		if (kist_digest_end(d, digest[kist_digest_alg(d)]) < 0)
			rc = kist_error_set(err, KIST_FAILED, "cannot end a digest");
	}
	free_digests(pw);
	free(pw);
	return rc;
}

int kist_premis_writer_finish(struct kist_premis_writer *pw, struct kist_error *err)
{
	return kist_premis_writer_finish_digests(pw, NULL, err);
}

void kist_premis_writer_free(struct kist_premis_writer *pw)
{
	if (!pw)
		return;
	if (pw->w)
		xmlFreeTextWriter(pw->w);
	if (pw->fd >= 0)
		close(pw->fd);
	free_digests(pw);
	free(pw);
}
