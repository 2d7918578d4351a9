/* Parsing checksum lists and BagIt manifests, with bounded line length. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kist/checklist.h>
#include <kist/error.h>
#include <kist/finding.h>
#include <kist/path.h>

#include "grow.h"

void kist_checklist_init(struct kist_checklist *l)
{
	memset(l, 0, sizeof(*l));
}

void kist_checklist_free(struct kist_checklist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->entries[i].path);
	free(l->entries);
	kist_checklist_init(l);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

enum kist_checklist_kind kist_checklist_kind_for_name(const char *filename, int *alg)
{
	const char *b = base_name(filename), *name = NULL;
	char buf[64];
	size_t n;

	if (strncmp(b, "manifest-", 9) == 0)
		name = b + 9;
	else if (strncmp(b, "tagmanifest-", 12) == 0)
		name = b + 12;
	if (!name)
		return KIST_LIST_GNU;
	n = strlen(name);
	if (n < 5 || n - 4 >= sizeof(buf) || strcmp(name + n - 4, ".txt") != 0)
		return KIST_LIST_GNU;
	memcpy(buf, name, n - 4);
	buf[n - 4] = '\0';
	if (kist_alg_from_name(buf) < 0)
		return KIST_LIST_GNU;
	*alg = kist_alg_from_name(buf);
	return KIST_LIST_BAGIT;
}

int kist_checklist_alg_for_name(const char *filename)
{
	const char *b = base_name(filename), *dot = strrchr(b, '.');
	char buf[64];
	size_t n;
	int alg;

	/* "SHA256SUMS", "sha512sum.txt", "MD5SUMS" */
	n = strcspn(b, ".");
	if (n > 4 && n < sizeof(buf) && strncasecmp(b + n - 4, "sums", 4) == 0) {
		memcpy(buf, b, n - 4);
		buf[n - 4] = '\0';
		if ((alg = kist_alg_from_name(buf)) >= 0)
			return alg;
	}
	if (n > 3 && n < sizeof(buf) && strncasecmp(b + n - 3, "sum", 3) == 0) {
		memcpy(buf, b, n - 3);
		buf[n - 3] = '\0';
		if ((alg = kist_alg_from_name(buf)) >= 0)
			return alg;
	}
	/* "photos.sha256", "list.md5" */
	if (dot && (alg = kist_alg_from_name(dot + 1)) >= 0)
		return alg;
	/* "md5.txt", "sha1.txt" */
	if (n < sizeof(buf)) {
		memcpy(buf, b, n);
		buf[n] = '\0';
		if ((alg = kist_alg_from_name(buf)) >= 0)
			return alg;
	}
	return -1;
}

void kist_bagit_percent_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '%' && s[1] == '0' && (s[2] == 'A' || s[2] == 'a')) {
			*out++ = '\n';
			s += 2;
		} else if (s[0] == '%' && s[1] == '0' && (s[2] == 'D' || s[2] == 'd')) {
			*out++ = '\r';
			s += 2;
		} else if (s[0] == '%' && s[1] == '2' && s[2] == '5') {
			*out++ = '%';
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

char *kist_bagit_percent_encode(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += (*p == '\n' || *p == '\r' || *p == '%') ? 3 : 1;
	if (!(o = out = malloc(n + 1)))
		return NULL;
	for (; *s; s++) {
		if (*s == '\n')
			o = memcpy(o, "%0A", 3), o += 3;
		else if (*s == '\r')
			o = memcpy(o, "%0D", 3), o += 3;
		else if (*s == '%')
			o = memcpy(o, "%25", 3), o += 3;
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Undoes coreutils' escaping of '\\' and '\n' in a name (line began with '\').
 * Returns -1 for an escape coreutils never writes. */
static int gnu_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s != '\\') {
			*out++ = *s;
			continue;
		}
		s++;
		if (*s == '\\')
			*out++ = '\\';
		else if (*s == 'n')
			*out++ = '\n';
		else if (*s == 'r')
			*out++ = '\r';
		else
			return -1;
	}
	*out = '\0';
	return 0;
}

static size_t hex_run(const char *s)
{
	size_t n = 0;

	while (isxdigit((unsigned char)s[n]))
		n++;
	return n;
}

static unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
}

static int add_entry(struct kist_checklist *l, const char *path, int alg, const char *hex,
		     size_t hexlen, unsigned long line)
{
	struct kist_check_entry *e;
	size_t plen = strlen(path);

	if (kist_grow(&l->entries, l->count, &l->cap, sizeof(*l->entries), 64) < 0)
		return -1;
	e = &l->entries[l->count];
	if (!(e->path = malloc(plen + 1 + hexlen / 2)))
		return -1;
	memcpy(e->path, path, plen + 1);
	e->digest = (unsigned char *)e->path + plen + 1;
	for (size_t i = 0; i < hexlen / 2; i++)
		e->digest[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	e->alg = (int16_t)alg;
	e->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	l->count++;
	return 0;
}

#define BAD(code, fmt, ...)                                                          \
	do {                                                                         \
		kist_findings_add(findings, KIST_SEV_ERROR, code, name, "line %lu: " fmt, \
				  lineno, ##__VA_ARGS__);                            \
		return 0;                                                            \
	} while (0)

/* One line, without its line ending. Returns 0, or -1 when out of memory. */
static int parse_line(struct kist_checklist *l, char *s, unsigned long lineno, const char *name,
		      enum kist_checklist_kind kind, int default_alg, struct kist_findings *findings)
{
	int escaped = 0, alg = default_alg;
	const char *hex;
	size_t hexlen;
	char *path;

	int bagit = kind != KIST_LIST_GNU;

	if (kind == KIST_LIST_GNU && s[0] == '\\') {
		escaped = 1;
		s++;
	}
	hexlen = hex_run(s);
	if (kind == KIST_LIST_GNU && (hexlen == 0 || s[hexlen] != ' ') && strstr(s, ") = ")) {
		/* tagged: "SHA256 (name) = hex" */
		char *open = strstr(s, " (");
		char *close = strrchr(s, ')');

		if (!open || !close || close < open || strncmp(close, ") = ", 4) != 0)
			BAD("list.malformed", "not a checksum line");
		*open = '\0';
		if ((alg = kist_alg_from_name(s)) < 0)
			BAD("list.unknown-algorithm", "unknown algorithm '%s'", s);
		hex = close + 4;
		hexlen = hex_run(hex);
		if (hex[hexlen] != '\0')
			BAD("list.malformed", "digest is not hexadecimal");
		*close = '\0';
		path = open + 2;
	} else {
		hex = s;
		if (hexlen == 0 || (s[hexlen] != ' ' && s[hexlen] != '\t'))
			BAD("list.malformed", "not a checksum line");
		path = s + hexlen;
		if (kind == KIST_LIST_GNU) {
			/* exactly "  name" or " *name" */
			if (path[1] != ' ' && path[1] != '*')
				BAD("list.malformed", "expected two spaces or ' *' after the digest");
			path += 2;
		} else {
			while (*path == ' ' || *path == '\t')
				path++;
			if (*path == '*') {
				kist_findings_add(findings, KIST_SEV_WARNING, "manifest.binary-marker", name,
						  "line %lu: md5sum-style '*' before the path", lineno);
				path++;
			}
		}
		if (alg < 0)
			alg = kist_alg_from_hex_length(hexlen);
		if (alg < 0)
			BAD("list.unknown-algorithm", "cannot tell the algorithm of a %zu-digit digest", hexlen);
	}
	if (hexlen != 2 * kist_alg_size(alg))
		BAD("list.malformed", "%s digest must have %zu hex digits, not %zu", kist_alg_name(alg),
		    2 * kist_alg_size(alg), hexlen);
	if (escaped && gnu_unescape(path) < 0)
		BAD("list.malformed", "unknown backslash escape in file name");
	if (bagit) {
		enum kist_path_problem p;

		if (kind == KIST_LIST_BAGIT)
			kist_bagit_percent_decode(path);
		/* "./data/x" (some tools write it) names data/x: read it so,
		 * and say so; "." further in stays unsafe. */
		if (path[0] == '.' && path[1] == '/') {
			while (path[0] == '.' && path[1] == '/')
				path += 2;
			kist_findings_add(findings, KIST_SEV_WARNING, "lint.leading-dot-slash", name,
					  "line %lu: path starts with './'; read as %s", lineno, path);
		}
		p = kist_path_check_relative(path, strlen(path));
		if (p == KIST_PATH_CONTROL)
			p = KIST_PATH_OK; /* decoded %0A / %0D are legal names */
		if (p != KIST_PATH_OK)
			BAD("manifest.unsafe-path", "%s: %s", kist_path_problem_str(p), path);
	}
	if (!*path)
		BAD("list.malformed", "no file name");
	return add_entry(l, path, alg, hex, hexlen, lineno);
}

int kist_checklist_parse(struct kist_checklist *l, FILE *in, const char *name,
			 enum kist_checklist_kind kind, int default_alg,
			 struct kist_findings *findings, struct kist_error *err)
{
	char *buf = malloc(KIST_LIST_MAX_LINE + 1);
	unsigned long lineno = 0;
	int rc = KIST_OK;

	if (!buf)
		return kist_error_set(err, KIST_FAILED, "out of memory");
	for (;;) {
		size_t len = 0;
		int c = EOF, too_long = 0;

		/* Reads one line; LF, CRLF and (BagIt) a lone CR end it. The
		 * stream is this thread's alone: no per-byte locking. */
		while ((c = getc_unlocked(in)) != EOF) {
			if (c == '\n')
				break;
			if (c == '\r') {
				int next = getc_unlocked(in);

				if (next == '\n')
					break;
				if (kind != KIST_LIST_GNU) {
					if (next != EOF)
						ungetc(next, in);
					break;
				}
				if (next != EOF)
					ungetc(next, in);
			}
			if (len < KIST_LIST_MAX_LINE)
				buf[len++] = (char)c;
			else
				too_long = 1;
		}
		if (c == EOF && len == 0 && !too_long)
			break;
		lineno++;
		buf[len] = '\0';
		if (too_long) {
			kist_findings_add(findings, KIST_SEV_ERROR, "list.line-too-long", name,
					  "line %lu: longer than %u bytes, skipped", lineno,
					  KIST_LIST_MAX_LINE);
		} else if (memchr(buf, '\0', len)) {
			kist_findings_add(findings, KIST_SEV_ERROR, "list.malformed", name,
					  "line %lu: NUL byte in line", lineno);
		} else if (len > 0 && parse_line(l, buf, lineno, name, kind, default_alg, findings) < 0) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			break;
		}
		if (c == EOF)
			break;
	}
	if (rc == KIST_OK && ferror(in))
		rc = kist_error_sys(err, errno, "%s", name);
	free(buf);
	return rc;
}
