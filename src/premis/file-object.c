/* One premis:file object as text. A bag holds one per payload file, and
 * xmlTextWriter's call per element and attribute cost more than hashing a
 * small file, so the object is formatted here and handed to the document's
 * writer in one raw piece. The text is what the writer would produce: the
 * same elements, escaping and two-space indentation. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kist/buf.h>
#include <kist/digest.h>

#include "premis-internal.h"

/* Failures are remembered by the buffer: checked once, at the end. */
static void put(struct kist_buf *b, const char *s, size_t n)
{
	kist_buf_add(b, s, n);
}

static void puts_(struct kist_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Character data: &, <, > and CR escaped as libxml2 does. Other C0
 * controls cannot be written in XML 1.0 at all, not even as references:
 * they become U+FFFD, so the document stays well formed. */
static void text(struct kist_buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '\r': rep = "&#13;"; break;
		case '\t':
		case '\n': continue;
		default:
			if (c >= 0x20)
				continue;
			rep = "\xEF\xBF\xBD";
		}
		put(b, run, (size_t)(s - run));
		puts_(b, rep);
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
}

static void indent(struct kist_buf *b, int depth)
{
	static const char spaces[] = "                ";

	put(b, spaces, (size_t)depth * 2);
}

static void open_tag(struct kist_buf *b, int depth, const char *name)
{
	indent(b, depth);
	puts_(b, "<premis:");
	puts_(b, name);
	puts_(b, ">\n");
}

static void close_tag(struct kist_buf *b, int depth, const char *name)
{
	indent(b, depth);
	puts_(b, "</premis:");
	puts_(b, name);
	puts_(b, ">\n");
}

static void element(struct kist_buf *b, int depth, const char *name, const char *value)
{
	indent(b, depth);
	puts_(b, "<premis:");
	puts_(b, name);
	puts_(b, ">");
	text(b, value);
	puts_(b, "</premis:");
	puts_(b, name);
	puts_(b, ">\n");
}

static void identifier(struct kist_buf *b, const char *type, const char *value)
{
	open_tag(b, 2, "objectIdentifier");
	element(b, 3, "objectIdentifierType", type);
	element(b, 3, "objectIdentifierValue", value);
	close_tag(b, 2, "objectIdentifier");
}

static void fixity(struct kist_buf *b, int alg, const unsigned char *digest)
{
	char hex[KIST_DIGEST_HEX_MAX];
	const char *label, *code;

	kist_hex(digest, kist_alg_size(alg), hex);
	open_tag(b, 3, "fixity");
	if (premis_hash_term(alg, &label, &code) == 0) {
		indent(b, 4);
		puts_(b, "<premis:messageDigestAlgorithm authority=\"cryptographicHashFunctions\" "
			 "authorityURI=\"" PREMIS_LOC "cryptographicHashFunctions\" valueURI=\"" PREMIS_LOC
			 "cryptographicHashFunctions/");
		puts_(b, code);
		puts_(b, "\">");
		puts_(b, label);
		puts_(b, "</premis:messageDigestAlgorithm>\n");
	} else {
		/* not in the LoC vocabulary: the name alone */
		element(b, 4, "messageDigestAlgorithm", kist_alg_tag_name(alg));
	}
	element(b, 4, "messageDigest", hex);
	element(b, 4, "messageDigestOriginator", "kist");
	close_tag(b, 3, "fixity");
}

static void format(struct kist_buf *b, const struct kist_premis_file *f)
{
	open_tag(b, 3, "format");
	if (f->format_name || f->mime) {
		open_tag(b, 4, "formatDesignation");
		element(b, 5, "formatName", f->format_name ? f->format_name : f->mime);
		if (f->format_version)
			element(b, 5, "formatVersion", f->format_version);
		close_tag(b, 4, "formatDesignation");
		if (f->puid) {
			open_tag(b, 4, "formatRegistry");
			element(b, 5, "formatRegistryName", "PRONOM");
			element(b, 5, "formatRegistryKey", f->puid);
			close_tag(b, 4, "formatRegistry");
		}
		if (f->mime && f->format_name) {
			indent(b, 4);
			puts_(b, "<premis:formatNote>MIME type: ");
			text(b, f->mime);
			puts_(b, "</premis:formatNote>\n");
		}
		if (f->format_basis)
			element(b, 4, "formatNote", f->format_basis);
	} else {
		open_tag(b, 4, "formatDesignation");
		element(b, 5, "formatName", "unknown");
		close_tag(b, 4, "formatDesignation");
		element(b, 4, "formatNote", "format not identified");
	}
	close_tag(b, 3, "format");
}

char *premis_file_object(const struct kist_premis_file *f, const char *uuid, size_t *len)
{
	struct kist_buf b = { 0 };
	char size[32];

	kist_buf_reserve(&b, 4096);   /* an object is about 2 KB: one allocation */
	indent(&b, 1);
	puts_(&b, "<premis:object xsi:type=\"premis:file\">\n");
	identifier(&b, "local", f->path);
	identifier(&b, "UUID", uuid);
	open_tag(&b, 2, "objectCharacteristics");
	element(&b, 3, "compositionLevel", "0");
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if (f->algs & KIST_ALG_BIT(a) && f->digest[a])
			fixity(&b, a, f->digest[a]);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)f->size);
	element(&b, 3, "size", size);
	format(&b, f);
	close_tag(&b, 2, "objectCharacteristics");
	if (f->original_name)
		element(&b, 2, "originalName", f->original_name);
	close_tag(&b, 1, "object");
	if (b.failed) {
		kist_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
