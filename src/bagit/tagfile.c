/* Tag files: "Label: value" elements (bag-info.txt, package-info.txt,
 * bagit.txt), their character encodings, and folding long values. */
#include <config.h>

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kist/bag.h>
#include <kist/buf.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>

#include "../core/grow.h"

#define FOLD_WIDTH 79   /* RFC 8493 2.2.2: lines SHOULD NOT exceed 79 characters */

void kist_bag_info_init(struct kist_bag_info *info)
{
	memset(info, 0, sizeof(*info));
}

void kist_bag_info_free(struct kist_bag_info *info)
{
	for (size_t i = 0; i < info->count; i++) {
		free(info->tags[i].label);
		free(info->tags[i].value);
	}
	free(info->tags);
	kist_bag_info_init(info);
}

static int add_tag(struct kist_bag_info *info, const char *label, size_t llen, const char *value,
		   size_t vlen, unsigned long line)
{
	struct kist_bag_tag *t;

	if (kist_grow(&info->tags, info->count, &info->cap, sizeof(*info->tags), 16) < 0)
		return -1;
	t = &info->tags[info->count];
	t->label = strndup(label, llen);
	t->value = strndup(value, vlen);
	t->line = line;
	if (!t->label || !t->value) {
		free(t->label);
		free(t->value);
		return -1;
	}
	info->count++;
	return 0;
}

int kist_bag_info_add(struct kist_bag_info *info, const char *label, const char *value)
{
	return add_tag(info, label, strlen(label), value, strlen(value), 0);
}

const char *kist_bag_info_get(const struct kist_bag_info *info, const char *label)
{
	for (size_t i = 0; i < info->count; i++)
		if (strcasecmp(info->tags[i].label, label) == 0)
			return info->tags[i].value;
	return NULL;
}

size_t kist_bag_info_count(const struct kist_bag_info *info, const char *label)
{
	size_t n = 0;

	for (size_t i = 0; i < info->count; i++)
		n += strcasecmp(info->tags[i].label, label) == 0;
	return n;
}

static void remove_at(struct kist_bag_info *info, size_t i)
{
	free(info->tags[i].label);
	free(info->tags[i].value);
	memmove(&info->tags[i], &info->tags[i + 1], (info->count - i - 1) * sizeof(info->tags[0]));
	info->count--;
}

int kist_bag_info_set(struct kist_bag_info *info, const char *label, const char *value)
{
	size_t i, first = info->count;

	for (i = 0; i < info->count; i++) {
		if (strcasecmp(info->tags[i].label, label) != 0)
			continue;
		if (first == info->count) {
			char *v = strdup(value);

			if (!v)
				return -1;
			free(info->tags[i].value);
			info->tags[i].value = v;
			first = i;
		} else {
			remove_at(info, i--);
		}
	}
	return first == info->count ? kist_bag_info_add(info, label, value) : 0;
}

size_t kist_bag_info_remove(struct kist_bag_info *info, const char *label)
{
	size_t n = 0;

	for (size_t i = 0; i < info->count; i++)
		if (strcasecmp(info->tags[i].label, label) == 0) {
			remove_at(info, i--);
			n++;
		}
	return n;
}

static int is_lws(char c)
{
	return c == ' ' || c == '\t';
}

/* Appends a continuation line to the last element: the line break and the
 * indentation fold away into one space, as in RFC 5322 unfolding, so that
 * a value kist folds reads back as it was. */
static int continue_tag(struct kist_bag_info *info, const char *s, size_t len)
{
	struct kist_bag_tag *t = &info->tags[info->count - 1];
	size_t old = strlen(t->value);
	char *v;

	while (len && is_lws(*s))
		s++, len--;
	v = realloc(t->value, old + len + 2);
	if (!v)
		return -1;
	v[old] = ' ';
	memcpy(v + old + 1, s, len);
	v[old + len + 1] = '\0';
	t->value = v;
	return 0;
}

int kist_bag_info_parse(struct kist_bag_info *info, const char *text, size_t len, const char *name,
			int legacy, struct kist_findings *findings)
{
	unsigned long lineno = 0;
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos, next;
		const char *line = text + pos, *colon;
		size_t llen, lab_end, val;

		/* RFC 8493: lines end in LF, CR or CRLF */
		while (end < len && text[end] != '\n' && text[end] != '\r')
			end++;
		next = end;
		if (next < len)
			next += (text[next] == '\r' && next + 1 < len && text[next + 1] == '\n') ? 2 : 1;
		llen = end - pos;
		pos = next;
		lineno++;

		if (memchr(line, '\0', llen)) {
			kist_findings_add(findings, KIST_SEV_ERROR, "taginfo.nul", name,
					  "line %lu: NUL byte", lineno);
			continue;
		}
		if (llen == 0 || (llen > 0 && strspn(line, " \t") >= llen)) {
			kist_findings_add(findings, KIST_SEV_WARNING, "taginfo.blank-line", name,
					  "line %lu: blank line", lineno);
			continue;
		}
		if (is_lws(line[0])) {
			if (info->count == 0 || info->tags[info->count - 1].line == 0) {
				kist_findings_add(findings, KIST_SEV_ERROR, "taginfo.malformed", name,
						  "line %lu: continuation line with no element before it",
						  lineno);
				continue;
			}
			if (continue_tag(info, line, llen) < 0)
				return -1;
			continue;
		}
		colon = memchr(line, ':', llen);
		if (!colon) {
			kist_findings_add(findings, KIST_SEV_ERROR, "taginfo.malformed", name,
					  "line %lu: no ':' between label and value", lineno);
			continue;
		}
		lab_end = (size_t)(colon - line);
		if (lab_end > 0 && is_lws(line[lab_end - 1])) {
			/* "Label : value": before 1.0 tools wrote it; 1.0 forbids it */
			kist_findings_add(findings, legacy ? KIST_SEV_WARNING : KIST_SEV_ERROR,
					  "taginfo.label-whitespace", name,
					  "line %lu: whitespace before the ':'", lineno);
			while (lab_end > 0 && is_lws(line[lab_end - 1]))
				lab_end--;
		}
		if (lab_end == 0) {
			kist_findings_add(findings, KIST_SEV_ERROR, "taginfo.malformed", name,
					  "line %lu: empty label", lineno);
			continue;
		}
		val = lab_end;
		while (line[val] != ':')
			val++;
		val++;
		if (val < llen && is_lws(line[val]))
			val++;          /* one separating space is the format; more is value */
		else if (val < llen && !legacy)
			kist_findings_add(findings, KIST_SEV_WARNING, "taginfo.no-space", name,
					  "line %lu: no space after the ':'", lineno);
		if (add_tag(info, line, lab_end, line + val, llen - val, lineno) < 0)
			return -1;
	}
	return 0;
}

char *kist_bag_info_format(const struct kist_bag_info *info, size_t *len)
{
	struct kist_buf b = { 0 };

	kist_buf_add(&b, "", 0);
	for (size_t i = 0; i < info->count; i++) {
		const char *label = info->tags[i].label, *v = info->tags[i].value;
		size_t col = strlen(label) + 2;
		int words = 0;   /* on the current line */

		kist_buf_add(&b, label, strlen(label));
		kist_buf_add(&b, ": ", 2);
		while (*v) {
			/* next word: up to and including its following space */
			size_t w = strcspn(v, " ");
			size_t take = w + (v[w] == ' ');

			/* Fold before a word that would pass the width, at the space
			 * before it: that space becomes the line break and indent. */
			if (words && col + w > FOLD_WIDTH && b.p[b.len - 1] == ' ') {
				b.len--;
				kist_buf_add(&b, "\n  ", 3);
				col = 2;
				words = 0;
			}
			words++;
			for (size_t k = 0; k < take; k++)
				kist_buf_add(&b, (v[k] == '\n' || v[k] == '\r') ? " " : &v[k], 1);
			col += take;
			v += take;
		}
		kist_buf_add(&b, "\n", 1);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	if (len)
		*len = b.len;
	return b.p;
}

int kist_tagfile_decode(const char *bytes, size_t len, const char *encoding, char **out,
			size_t *outlen, int *bom, struct kist_error *err)
{
	const char *from = encoding && *encoding ? encoding : "UTF-8";
	iconv_t cd;
	char *dst, *in = (char *)bytes, *o;
	size_t inleft = len, cap, oleft;

	*bom = 0;
	if (len >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0) {
		*bom = 1;
		from = "UTF-8";
		in += 3;
		inleft -= 3;
	} else if (len >= 2 && (memcmp(bytes, "\xff\xfe", 2) == 0 || memcmp(bytes, "\xfe\xff", 2) == 0)) {
		*bom = 1;
		from = bytes[0] == '\xff' ? "UTF-16LE" : "UTF-16BE";
		in += 2;
		inleft -= 2;
	}
	if (strcasecmp(from, "UTF-8") == 0 || strcasecmp(from, "UTF8") == 0) {
		if (!kist_utf8_valid(in, inleft))
			return kist_error_set(err, KIST_INVALID, "not valid UTF-8");
		if (!(*out = malloc(inleft + 1)))
			return kist_error_set(err, KIST_FAILED, "out of memory");
		memcpy(*out, in, inleft);
		(*out)[inleft] = '\0';
		*outlen = inleft;
		return KIST_OK;
	}
	cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1)
		return kist_error_set(err, KIST_INVALID, "unknown character encoding '%s'", from);
	cap = inleft * 4 + 1;   /* UTF-16 or Latin-1 never grows past 4x in UTF-8 */
	dst = malloc(cap);
	if (!dst) {
		iconv_close(cd);
		return kist_error_set(err, KIST_FAILED, "out of memory");
	}
	o = dst;
	oleft = cap - 1;
	if (iconv(cd, &in, &inleft, &o, &oleft) == (size_t)-1) {
		int e = errno;

		iconv_close(cd);
		free(dst);
		return kist_error_set(err, KIST_INVALID, "not valid %s (%s)", from,
				      e == EINVAL ? "truncated" : "invalid sequence");
	}
	iconv_close(cd);
	*o = '\0';
	*out = dst;
	*outlen = (size_t)(o - dst);
	return KIST_OK;
}
