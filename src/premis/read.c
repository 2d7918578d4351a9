/* Reading PREMIS documents from received bags as untrusted input, as a
 * stream (xmlTextReader): summaries, appending events, schema validation. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlschemas.h>

#include <kist/kist.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/premis.h>

#include "premis-internal.h"

#define X(s) BAD_CAST (s)

/* --- the reader --------------------------------------------------------------- */

static void on_error(void *ctx, xmlErrorPtr e)
{
	struct preader *pr = ctx;
	char msg[400];
	size_t n;

	if (!e || !e->message)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = 0;
	if (e->level == XML_ERR_WARNING)
		return;
	if (!pr->nerrors++)
		snprintf(pr->msg, sizeof(pr->msg), "line %d: %s", e->line, msg);
	if (pr->findings)
		kist_findings_add(pr->findings, KIST_SEV_ERROR, "premis.invalid", pr->display,
				  "line %d: %s", e->line, msg);
}

/* The prolog (before the root element) is checked before libxml2 sees the
 * document: a document type declaration is refused there, so that no
 * entity declared in it is ever parsed, let alone expanded (libxml2 checks
 * an entity's content by parsing it, which an expansion bomb turns into
 * hours of work). UTF-16 is refused, so the check cannot be sidestepped. */
#define PROLOG_MAX (1u << 20)

static int check_prolog(int fd, const char *name, struct kist_error *err)
{
	char *buf = malloc(PROLOG_MAX);
	size_t len = 0, i = 0;
	int rc = KIST_OK;

	if (!buf)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	while (len < PROLOG_MAX) {
		ssize_t n = read(fd, buf + len, PROLOG_MAX - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = kist_error_sys(err, errno, "cannot read %s", name);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = kist_error_sys(err, errno, "cannot read %s", name);
		goto out;
	}
	if (len >= 2 && ((buf[0] == '\xfe' && buf[1] == '\xff') || (buf[0] == '\xff' && buf[1] == '\xfe') ||
			 buf[0] == 0 || buf[1] == 0)) {
		rc = kist_error_set(err, KIST_INVALID, "%s is UTF-16 or binary; only UTF-8 PREMIS is read", name);
		goto out;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (;;) {
		const char *end;

		while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
			i++;
		if (i + 9 <= len && memcmp(buf + i, "<!DOCTYPE", 9) == 0) {
			rc = kist_error_set(err, KIST_INVALID,
					    "%s has a document type declaration (DTD); refused: entities in a "
					    "received document are never expanded or loaded", name);
			goto out;
		}
		if (i + 2 <= len && memcmp(buf + i, "<?", 2) == 0)
			end = memmem(buf + i + 2, len - i - 2, "?>", 2);
		else if (i + 4 <= len && memcmp(buf + i, "<!--", 4) == 0)
			end = memmem(buf + i + 4, len - i - 4, "-->", 3);
		else
			break;   /* the root element, or something the parser will reject */
		if (!end) {
			if (len == PROLOG_MAX)
				rc = kist_error_set(err, KIST_INVALID,
						    "%s: the part before the root element is longer than 1 MiB; refused",
						    name);
			break;   /* unterminated: the parser reports it */
		}
		i = (size_t)(end - buf) + 2;
	}
out:
	free(buf);
	return rc;
}

int premis_reader_open(struct preader *pr, int dirfd, const char *name, struct kist_error *err)
{
	int rc;

	pr->r = NULL;
	pr->msg[0] = 0;
	pr->nerrors = 0;
	pr->findings = NULL;
	pr->display = name;
	pr->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (pr->fd < 0)
		return kist_error_sys(err, errno, "cannot open %s", name);
	if ((rc = check_prolog(pr->fd, name, err)) != KIST_OK) {
		close(pr->fd);
		pr->fd = -1;
		return rc;
	}
	/* No XML_PARSE_NOENT (entities are not substituted), no DTDLOAD or
	 * DTDATTR, no network, no XML_PARSE_HUGE. */
	pr->r = xmlReaderForFd(pr->fd, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!pr->r) {
		close(pr->fd);
		pr->fd = -1;
		return kist_error_set(err, KIST_FAILED, "cannot read %s", name);
	}
	xmlTextReaderSetStructuredErrorHandler(pr->r, on_error, pr);
	return KIST_OK;
}

void premis_reader_close(struct preader *pr)
{
	if (pr->r)
		xmlFreeTextReader(pr->r);
	pr->r = NULL;
	if (pr->fd >= 0)
		close(pr->fd);
	pr->fd = -1;
}

int premis_reader_next(struct preader *pr, const char *name, struct kist_error *err)
{
	int ret = xmlTextReaderRead(pr->r);

	if (ret < 0) {
		kist_error_set(err, KIST_INVALID, "%s is not well-formed XML: %s", name,
			       pr->msg[0] ? pr->msg : "parse error");
		return -1;
	}
	if (ret == 0)
		return 0;
	if (xmlTextReaderNodeType(pr->r) == XML_READER_TYPE_DOCUMENT_TYPE) {
		kist_error_set(err, KIST_INVALID,
			       "%s has a document type declaration (DTD); refused: entities in a "
			       "received document are never expanded or loaded", name);
		return -1;
	}
	if (xmlTextReaderDepth(pr->r) > PREMIS_MAX_DEPTH) {
		kist_error_set(err, KIST_INVALID, "%s nests elements deeper than %d levels; refused",
			       name, PREMIS_MAX_DEPTH);
		return -1;
	}
	return 1;
}

static int is_premis(xmlTextReaderPtr r, const char *local)
{
	const xmlChar *ns = xmlTextReaderConstNamespaceUri(r);

	return ns && strcmp((const char *)ns, KIST_PREMIS_NS) == 0 &&
	       (!local || strcmp((const char *)xmlTextReaderConstLocalName(r), local) == 0);
}

static int check_root(xmlTextReaderPtr r, const char *name, struct kist_error *err)
{
	if (!is_premis(r, "premis"))
		return kist_error_set(err, KIST_INVALID,
				      "%s is not a PREMIS 3 document (its root is not premis in %s)",
				      name, KIST_PREMIS_NS);
	return KIST_OK;
}

/* --- summaries ------------------------------------------------------------------- */

enum field { F_NONE, F_ID, F_TYPE, F_DATE, F_DETAIL, F_OUTCOME, F_ODETAIL, F_ANAME, F_ATYPE };

static int append_text(char **dst, const char *s)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(s);
	char *p = realloc(*dst, a + b + 1);

	if (!p)
		return -1;
	memcpy(p + a, s, b + 1);
	*dst = p;
	return 0;
}

static int grow(void **v, size_t n, size_t size)
{
	void *p;

	if (n & (n - 1) && n > 8)
		return 0;
	p = realloc(*v, (n < 8 ? 8 : 2 * n) * size);
	if (!p)
		return -1;
	*v = p;
	return 0;
}

int kist_premis_read(int dirfd, const char *name, struct kist_premis_summary *s,
		     struct kist_error *err)
{
	struct preader pr;
	int rc, ret, in = 0;   /* 1 event, 2 agent */
	enum field f = F_NONE;
	char *empty;

	memset(s, 0, sizeof(*s));
	if ((rc = premis_reader_open(&pr, dirfd, name, err)) != KIST_OK)
		return rc;
	while ((ret = premis_reader_next(&pr, name, err)) == 1) {
		xmlTextReaderPtr r = pr.r;
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r);
		const char *local = (const char *)xmlTextReaderConstLocalName(r);

		if (type == XML_READER_TYPE_ELEMENT) {
			if (depth == 0) {
				if (check_root(r, name, err) != KIST_OK)
					goto bad;
				continue;
			}
			if (!is_premis(r, NULL))
				continue;
			if (depth == 1) {
				in = 0;
				if (strcmp(local, "object") == 0) {
					xmlChar *t = xmlTextReaderGetAttributeNs(r, X("type"), X(PREMIS_XSI));
					const char *c = t ? strchr((const char *)t, ':') : NULL;
					const char *v = c ? c + 1 : (const char *)t;

					s->objects++;
					if (v && strcmp(v, "file") == 0)
						s->files++;
					else if (v && strcmp(v, "representation") == 0)
						s->representations++;
					else
						s->other_objects++;
					xmlFree(t);
				} else if (strcmp(local, "event") == 0) {
					if (grow((void **)&s->ev, s->events, sizeof(*s->ev)) < 0)
						goto oom;
					memset(&s->ev[s->events++], 0, sizeof(*s->ev));
					in = 1;
				} else if (strcmp(local, "agent") == 0) {
					if (grow((void **)&s->agent_names, s->agents, sizeof(char *)) < 0 ||
					    grow((void **)&s->agent_types, s->agents, sizeof(char *)) < 0)
						goto oom;
					s->agent_names[s->agents] = NULL;
					s->agent_types[s->agents] = NULL;
					s->agents++;
					in = 2;
				} else if (strcmp(local, "rights") == 0) {
					s->rights++;
				}
				continue;
			}
			f = F_NONE;
			if (in == 1) {
				if (strcmp(local, "eventIdentifierValue") == 0)
					f = F_ID;
				else if (strcmp(local, "eventType") == 0)
					f = F_TYPE;
				else if (strcmp(local, "eventDateTime") == 0)
					f = F_DATE;
				else if (strcmp(local, "eventDetail") == 0)
					f = F_DETAIL;
				else if (strcmp(local, "eventOutcome") == 0)
					f = F_OUTCOME;
				else if (strcmp(local, "eventOutcomeDetailNote") == 0)
					f = F_ODETAIL;
			} else if (in == 2 && depth == 2) {
				if (strcmp(local, "agentName") == 0)
					f = F_ANAME;
				else if (strcmp(local, "agentType") == 0)
					f = F_ATYPE;
			}
		} else if (type == XML_READER_TYPE_END_ELEMENT) {
			f = F_NONE;
			if (depth == 1)
				in = 0;
		} else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) && f != F_NONE) {
			const char *v = (const char *)xmlTextReaderConstValue(r);
			struct kist_premis_event_info *e = s->events ? &s->ev[s->events - 1] : NULL;
			char **dst = NULL;

			switch (f) {
			case F_ID: dst = e->id ? NULL : &e->id; break;
			case F_TYPE: dst = &e->type; break;
			case F_DATE: dst = &e->datetime; break;
			case F_DETAIL: dst = e->detail ? NULL : &e->detail; break;
			case F_OUTCOME: dst = e->outcome ? NULL : &e->outcome; break;
			case F_ODETAIL: dst = e->outcome_detail ? NULL : &e->outcome_detail; break;
			case F_ANAME: dst = s->agent_names[s->agents - 1] ? NULL : &s->agent_names[s->agents - 1]; break;
			case F_ATYPE: dst = &s->agent_types[s->agents - 1]; break;
			default: break;
			}
			if (dst && append_text(dst, v) < 0)
				goto oom;
		}
	}
	if (ret < 0)
		goto bad;
	premis_reader_close(&pr);
	if (!s->objects && !s->events && !s->agents) {
		kist_premis_summary_free(s);
		return kist_error_set(err, KIST_INVALID, "%s is empty or not a PREMIS 3 document", name);
	}
	/* never NULL for the caller */
	for (size_t i = 0; i < s->agents; i++) {
		if (!s->agent_names[i] && !(s->agent_names[i] = strdup("")))
			goto oom_closed;
		if (!s->agent_types[i] && !(s->agent_types[i] = strdup("")))
			goto oom_closed;
	}
	for (size_t i = 0; i < s->events; i++) {
		char **fields[] = { &s->ev[i].id, &s->ev[i].type, &s->ev[i].datetime, &s->ev[i].outcome,
				    &s->ev[i].detail, &s->ev[i].outcome_detail };

		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++)
			if (!*fields[k] && !(*fields[k] = strdup("")))
				goto oom_closed;
	}
	(void)empty;
	return KIST_OK;
oom:
	premis_reader_close(&pr);
oom_closed:
	kist_premis_summary_free(s);
	return kist_error_set(err, KIST_FAILED, "out of memory");
bad:
	premis_reader_close(&pr);
	kist_premis_summary_free(s);
	return err->status ? err->status : KIST_INVALID;
}

void kist_premis_summary_free(struct kist_premis_summary *s)
{
	for (size_t i = 0; i < s->events; i++) {
		free(s->ev[i].id);
		free(s->ev[i].type);
		free(s->ev[i].datetime);
		free(s->ev[i].outcome);
		free(s->ev[i].detail);
		free(s->ev[i].outcome_detail);
	}
	for (size_t i = 0; i < s->agents; i++) {
		free(s->agent_names ? s->agent_names[i] : NULL);
		free(s->agent_types ? s->agent_types[i] : NULL);
	}
	free(s->ev);
	free(s->agent_names);
	free(s->agent_types);
	memset(s, 0, sizeof(*s));
}

/* xs:dateTime values compared as instants would need zone arithmetic; kist
 * writes local time with its offset, so normalise to UTC seconds. */
static long long instant(const char *d)
{
	int Y, M, D, h, m, sec, n = 0;
	long long days, t;
	const char *z;

	if (sscanf(d, "%d-%d-%dT%d:%d:%d%n", &Y, &M, &D, &h, &m, &sec, &n) < 6)
		return 0;
	z = d + n;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	/* days from civil (proleptic Gregorian) */
	Y -= M <= 2;
	days = (long long)(Y >= 0 ? Y : Y - 399) / 400 * 146097;
	{
		long long yoe = Y - ((Y >= 0 ? Y : Y - 399) / 400) * 400;
		long long doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;

		days += yoe * 365 + yoe / 4 - yoe / 100 + doy;
	}
	t = days * 86400 + h * 3600 + m * 60 + sec;
	if ((*z == '+' || *z == '-') && strlen(z) >= 6) {
		int oh = atoi(z + 1), om = atoi(z + 4);
		long long off = oh * 3600 + om * 60;

		t += *z == '+' ? -off : off;
	}
	return t;
}

void kist_premis_sort_events(struct kist_premis_summary *s)
{
	/* insertion sort: stable, and event lists are short */
	for (size_t i = 1; i < s->events; i++) {
		struct kist_premis_event_info e = s->ev[i];
		long long t = instant(e.datetime);
		size_t j = i;

		while (j > 0 && instant(s->ev[j - 1].datetime) > t) {
			s->ev[j] = s->ev[j - 1];
			j--;
		}
		s->ev[j] = e;
	}
}

/* --- appending -------------------------------------------------------------------- */

struct ids {
	char **v;
	size_t n;
};

/* Serialises one element with indentation in memory, then writes it raw,
 * indented one level, between the copied whitespace: before_end is set when
 * it goes just before the root's end tag. */
static int insert_one(xmlTextWriterPtr w, const struct kist_premis_event *e,
		      const struct kist_premis_agent *a, int declare, int before_end)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr m = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	const char *p;
	int bad;

	if (!m) {
		if (buf)
			xmlBufferFree(buf);
		return -1;
	}
	xmlTextWriterSetIndent(m, 1);
	xmlTextWriterSetIndentString(m, X("  "));
	bad = (e ? premis_write_event(m, e, declare) : premis_write_agent(m, a, declare)) < 0 ||
	      xmlTextWriterFlush(m) < 0;
	xmlFreeTextWriter(m);
	if (bad) {
		xmlBufferFree(buf);
		return -1;
	}
	p = (const char *)xmlBufferContent(buf);
	if (before_end && xmlTextWriterWriteRaw(w, X("  ")) < 0)
		bad = 1;
	while (!bad && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n && xmlTextWriterWriteRawLen(w, X(p), (int)n) < 0)
			bad = 1;
		p += n;
		if (*p == '\n') {
			p++;
			if (*p && xmlTextWriterWriteRaw(w, X("\n  ")) < 0)
				bad = 1;
		}
	}
	if (!bad && xmlTextWriterWriteRaw(w, X(before_end ? "\n" : "\n  ")) < 0)
		bad = 1;
	xmlBufferFree(buf);
	return bad ? -1 : 0;
}

static int insert_events(xmlTextWriterPtr w, const struct kist_premis_event *ev, size_t n, int declare,
			 int before_end)
{
	for (size_t i = 0; i < n; i++)
		if (insert_one(w, &ev[i], NULL, declare, before_end) < 0)
			return -1;
	return 0;
}

static int insert_agents(xmlTextWriterPtr w, const struct kist_premis_agent *ag, size_t n,
			 const struct ids *seen, int declare, int before_end)
{
	for (size_t i = 0; i < n; i++) {
		char *id = kist_premis_agent_id(&ag[i]);
		int have = 0;

		if (!id)
			return -1;
		for (size_t k = 0; k < seen->n && !have; k++)
			have = strcmp(seen->v[k], id) == 0;
		/* an agent given twice in this call is written once */
		for (size_t k = 0; k < i && !have; k++) {
			char *o = kist_premis_agent_id(&ag[k]);

			have = o && strcmp(o, id) == 0;
			free(o);
		}
		free(id);
		if (have || !ag[i].name)
			continue;
		if (insert_one(w, NULL, &ag[i], declare, before_end) < 0)
			return -1;
	}
	return 0;
}

static int copy_attributes(xmlTextReaderPtr r, xmlTextWriterPtr w, int root, int *declared)
{
	while (xmlTextReaderMoveToNextAttribute(r) == 1) {
		const char *n = (const char *)xmlTextReaderConstName(r);
		const char *v = (const char *)xmlTextReaderConstValue(r);

		if (root && strcmp(n, "xmlns:premis") == 0 && strcmp(v, KIST_PREMIS_NS) == 0)
			*declared = 1;
		if (xmlTextWriterWriteAttribute(w, X(n), X(v ? v : "")) < 0)
			return -1;
	}
	xmlTextReaderMoveToElement(r);
	return 0;
}

int kist_premis_append(int dirfd, const char *name, const struct kist_premis_event *events,
		       size_t nevents, const struct kist_premis_agent *agents, size_t nagents,
		       struct kist_error *err)
{
	struct preader pr = { .fd = -1 };
	struct ids seen = { 0 };
	xmlTextWriterPtr w = NULL;
	char *tmp = NULL;
	int fd = -1, io_errno = 0, rc, ret;
	int declared = 0, events_done = 0, agents_done = 0, in_agent = 0, capture = 0;
	char *cur = NULL;

	if (asprintf(&tmp, "%s.kist-tmp", name) < 0)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	if ((rc = premis_reader_open(&pr, dirfd, name, err)) != KIST_OK)
		goto out;
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		rc = kist_error_sys(err, errno, "cannot create %s", tmp);
		goto out;
	}
	if (!(w = premis_fd_writer(fd, &io_errno)) || xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0) {
		rc = kist_error_set(err, KIST_FAILED, "cannot start an XML writer");
		goto out;
	}
	while ((ret = premis_reader_next(&pr, name, err)) == 1) {
		xmlTextReaderPtr r = pr.r;
		int type = xmlTextReaderNodeType(r), depth = xmlTextReaderDepth(r), bad = 0;
		const char *qn = (const char *)xmlTextReaderConstName(r);
		const char *v = (const char *)xmlTextReaderConstValue(r);

		switch (type) {
		case XML_READER_TYPE_ELEMENT: {
			const char *local = (const char *)xmlTextReaderConstLocalName(r);
			int empty = xmlTextReaderIsEmptyElement(r);

			if (depth == 0 && check_root(r, name, err) != KIST_OK) {
				rc = KIST_INVALID;
				goto out;
			}
			if (depth == 1 && is_premis(r, NULL)) {
				if (!events_done && (strcmp(local, "agent") == 0 || strcmp(local, "rights") == 0)) {
					bad |= insert_events(w, events, nevents, !declared, 0);
					events_done = 1;
				}
				if (!agents_done && strcmp(local, "rights") == 0) {
					bad |= insert_agents(w, agents, nagents, &seen, !declared, 0);
					agents_done = 1;
				}
				in_agent = strcmp(local, "agent") == 0;
			}
			capture = in_agent && depth == 3 && is_premis(r, "agentIdentifierValue");
			bad |= xmlTextWriterStartElement(w, X(qn)) < 0 ||
			       copy_attributes(r, w, depth == 0, &declared) < 0;
			if (empty)
				bad |= xmlTextWriterEndElement(w) < 0;
			break;
		}
		case XML_READER_TYPE_END_ELEMENT:
			if (depth == 0) {
				if (!events_done)
					bad |= insert_events(w, events, nevents, !declared, 1);
				if (!agents_done)
					bad |= insert_agents(w, agents, nagents, &seen, !declared, 1);
				events_done = agents_done = 1;
			}
			if (capture && cur) {
				char **p = realloc(seen.v, (seen.n + 1) * sizeof(*p));

				if (!p) {
					rc = kist_error_set(err, KIST_FAILED, "out of memory");
					goto out;
				}
				seen.v = p;
				seen.v[seen.n++] = cur;
				cur = NULL;
			}
			capture = 0;
			if (depth == 1)
				in_agent = 0;
			bad |= xmlTextWriterFullEndElement(w) < 0;
			break;
		case XML_READER_TYPE_TEXT:
			if (capture && append_text(&cur, v) < 0) {
				rc = kist_error_set(err, KIST_FAILED, "out of memory");
				goto out;
			}
			bad |= xmlTextWriterWriteString(w, X(v)) < 0;
			break;
		case XML_READER_TYPE_CDATA:
			if (capture && append_text(&cur, v) < 0) {
				rc = kist_error_set(err, KIST_FAILED, "out of memory");
				goto out;
			}
			bad |= xmlTextWriterWriteCDATA(w, X(v)) < 0;
			break;
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			if (depth > 0)
				bad |= xmlTextWriterWriteString(w, X(v)) < 0;
			break;
		case XML_READER_TYPE_COMMENT:
			bad |= xmlTextWriterWriteComment(w, X(v)) < 0;
			break;
		case XML_READER_TYPE_PROCESSING_INSTRUCTION:
			bad |= xmlTextWriterWritePI(w, X(qn), X(v ? v : "")) < 0;
			break;
		case XML_READER_TYPE_ENTITY_REFERENCE:
			rc = kist_error_set(err, KIST_INVALID, "%s uses an entity reference (&%s;); refused",
					    name, qn);
			goto out;
		default:
			break;
		}
		if (bad) {
			rc = kist_error_set(err, KIST_FAILED, "cannot write %s%s%s", tmp,
					    io_errno ? ": " : "", io_errno ? strerror(io_errno) : "");
			goto out;
		}
	}
	if (ret < 0) {
		rc = err->status;
		goto out;
	}
	if (!events_done) {
		rc = kist_error_set(err, KIST_INVALID, "%s is empty or not a PREMIS 3 document", name);
		goto out;
	}
	if (xmlTextWriterEndDocument(w) < 0 || xmlTextWriterFlush(w) < 0 || io_errno) {
		rc = kist_error_set(err, KIST_FAILED, "cannot write %s%s%s", tmp, io_errno ? ": " : "",
				    io_errno ? strerror(io_errno) : "");
		goto out;
	}
	xmlFreeTextWriter(w);
	w = NULL;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		rc = kist_error_sys(err, errno, "cannot write %s", tmp);
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = kist_error_sys(err, errno, "cannot replace %s", name);
		goto out;
	}
	{
		/* the directory holding name */
		const char *slash = strrchr(name, '/');
		char *dir = slash ? strndup(name, (size_t)(slash - name)) : strdup(".");
		int dfd = dir ? openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	}
	free(tmp);
	tmp = NULL;
	rc = KIST_OK;
out:
	if (w)
		xmlFreeTextWriter(w);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlinkat(dirfd, tmp, 0);
		free(tmp);
	}
	premis_reader_close(&pr);
	for (size_t i = 0; i < seen.n; i++)
		free(seen.v[i]);
	free(seen.v);
	free(cur);
	return rc;
}

/* --- the schema ------------------------------------------------------------------ */

char *kist_premis_schema_path(void)
{
	return kist_data_file("premis/premis-v3-0.xsd");
}

static void on_schema_error(void *ctx, xmlErrorPtr e)
{
	char *msg = ctx;

	if (e && e->message && !msg[0])
		snprintf(msg, 400, "%s", e->message);
}

int kist_premis_validate(int dirfd, const char *name, const char *display,
			 struct kist_findings *findings, struct kist_error *err)
{
	char *xsd = kist_premis_schema_path();
	char msg[400] = "";
	xmlSchemaParserCtxtPtr pc = NULL;
	xmlSchemaPtr schema = NULL;
	struct preader pr = { .fd = -1 };
	int rc, ret, seen_root = 0;

	if (!xsd)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	if (access(xsd, R_OK) < 0) {
		rc = kist_error_sys(err, errno, "cannot read the PREMIS schema %s (installed with kist; "
				    "KIST_DATADIR names another data folder)", xsd);
		goto out;
	}
	if (!(pc = xmlSchemaNewParserCtxt(xsd))) {
		rc = kist_error_set(err, KIST_FAILED, "cannot read the PREMIS schema %s", xsd);
		goto out;
	}
	xmlSchemaSetParserStructuredErrors(pc, on_schema_error, msg);
	if (!(schema = xmlSchemaParse(pc))) {
		rc = kist_error_set(err, KIST_FAILED, "cannot read the PREMIS schema %s%s%s", xsd,
				    msg[0] ? ": " : "", msg);
		goto out;
	}
	if ((rc = premis_reader_open(&pr, dirfd, name, err)) != KIST_OK) {
		if (rc == KIST_INVALID && findings)
			kist_findings_add(findings, KIST_SEV_ERROR, "premis.invalid", display, "%s",
					  err->message);
		goto out;
	}
	pr.findings = findings;
	pr.display = display;
	if (xmlTextReaderSetSchema(pr.r, schema) < 0) {
		rc = kist_error_set(err, KIST_FAILED, "cannot start schema validation");
		goto out;
	}
	/* again, so that the validation context reports through it too */
	xmlTextReaderSetStructuredErrorHandler(pr.r, on_error, &pr);
	while ((ret = premis_reader_next(&pr, display, err)) == 1)
		if (xmlTextReaderDepth(pr.r) == 0 && xmlTextReaderNodeType(pr.r) == XML_READER_TYPE_ELEMENT)
			seen_root = 1;
	if (ret < 0) {
		/* malformed or refused: one finding saying why */
		if (findings && !pr.nerrors)
			kist_findings_add(findings, KIST_SEV_ERROR, "premis.invalid", display, "%s",
					  err->message);
		rc = KIST_INVALID;
		goto out;
	}
	if (!seen_root || pr.nerrors || xmlTextReaderIsValid(pr.r) != 1) {
		if (findings && !pr.nerrors)
			kist_findings_add(findings, KIST_SEV_ERROR, "premis.invalid", display,
					  "not valid against the PREMIS 3.0 schema");
		rc = kist_error_set(err, KIST_INVALID, "%s is not valid against the PREMIS 3.0 schema%s%s",
				    display, pr.msg[0] ? ": " : "", pr.msg);
		goto out;
	}
	rc = KIST_OK;
out:
	premis_reader_close(&pr);
	if (schema)
		xmlSchemaFree(schema);
	if (pc)
		xmlSchemaFreeParserCtxt(pc);
	free(xsd);
	return rc;
}
