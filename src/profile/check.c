/* Applying a profile to a bag's view, or to the bag-info a new bag is about
 * to get. Each violation is one error finding with a "profile." code and the
 * path (relative to the bag) it concerns. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kist/finding.h>
#include <kist/profile.h>

#include "profile-internal.h"

/* "a, b, c" of a list, for messages (truncated when long). */
static const char *joined(const struct kist_profile_list *l, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->count && n + 1 < len; i++) {
		int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", l->items[i]);

		if (w < 0)
			break;
		n += (size_t)w;
	}
	if (n >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);
	return buf;
}

/* Accept-BagIt-Version holds "M.N" strings, compared as numbers. */
int kist_profile_accepts_version(const struct kist_profile *p, int major, int minor)
{
	const struct kist_profile_list *l = &p->accept_bagit_version;

	for (size_t i = 0; i < l->count; i++) {
		const char *s = l->items[i];
		char *end;
		unsigned long a, b;

		/* strtoul, not sscanf: an absurdly long number must not overflow */
		errno = 0;
		a = strtoul(s, &end, 10);
		if (end == s || *end != '.' || errno)
			continue;
		s = end + 1;
		b = strtoul(s, &end, 10);
		if (end == s || *end || errno || s[0] == '-' || l->items[i][0] == '-')
			continue;
		if (major >= 0 && minor >= 0 && a == (unsigned long)major && b == (unsigned long)minor)
			return 1;
	}
	return 0;
}

static int mime_accepted(const struct kist_profile_list *l, const char *mime)
{
	const char *const *aliases = kist_profile_mime_aliases(mime);

	for (size_t i = 0; aliases && i < l->count; i++)
		for (size_t j = 0; aliases[j]; j++)
			if (strcasecmp(l->items[i], aliases[j]) == 0)
				return 1;
	return 0;
}

int kist_profile_accepts_serialization(const struct kist_profile *p, const char *mime)
{
	if (p->serialization == KIST_PROFILE_SER_FORBIDDEN)
		return 0;
	return !p->accept_serialization.given || mime_accepted(&p->accept_serialization, mime);
}

size_t kist_profile_check_fatal(const struct kist_profile *p, const struct kist_bag_view *v,
				struct kist_findings *fs)
{
	char buf[512];
	size_t n = 0;

	if (p->accept_bagit_version.count && v->major >= 0 &&
	    !kist_profile_accepts_version(p, v->major, v->minor)) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.bagit-version", "bagit.txt",
				  "BagIt-Version %d.%d is not accepted by the profile (Accept-BagIt-Version: %s)",
				  v->major, v->minor, joined(&p->accept_bagit_version, buf, sizeof(buf)));
		n++;
	}
	/* forbidden is not this rule's (it is not fatal); a profile silent on
	   Accept-Serialization names no format to refuse */
	if (v->archive_format && p->serialization != KIST_PROFILE_SER_FORBIDDEN &&
	    !kist_profile_accepts_serialization(p, v->serialization)) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-not-accepted", NULL,
				  "serialized as %s (%s), which the profile does not accept (Accept-Serialization: %s)",
				  v->serialization ? v->serialization : "a format without a MIME type kist knows",
				  v->archive_format,
				  p->accept_serialization.count ? joined(&p->accept_serialization, buf, sizeof(buf))
								: "none");
		n++;
	}
	return n;
}

static int has_tag_file(const struct kist_bag_view *v, const char *rel)
{
	for (size_t i = 0; i < v->tag_files.count; i++)
		if (strcmp(v->tag_files.files[i].path, rel) == 0)
			return 1;
	return 0;
}

/* The algorithm of a top-level "manifest-ALG.txt" (prefix "manifest-") into
 * buf, or NULL when rel is not one. */
static const char *manifest_alg(const char *rel, const char *prefix, char *buf, size_t len)
{
	size_t pl = strlen(prefix), rl = strlen(rel);

	if (strncmp(rel, prefix, pl) != 0 || rl < pl + 5 || strcmp(rel + rl - 4, ".txt") != 0 ||
	    strchr(rel, '/') || rl - pl - 4 >= len)
		return NULL;
	memcpy(buf, rel + pl, rl - pl - 4);
	buf[rl - pl - 4] = '\0';
	return buf;
}

static size_t check_manifests(const struct kist_profile *p, const struct kist_bag_view *v, int is_tag,
			      struct kist_findings *fs)
{
	const struct kist_profile_list *req = is_tag ? &p->tag_manifests_required : &p->manifests_required;
	const struct kist_profile_list *allow = is_tag ? &p->tag_manifests_allowed : &p->manifests_allowed;
	const char *prefix = is_tag ? "tagmanifest-" : "manifest-";
	const char *what = is_tag ? "tag manifest" : "manifest";
	char buf[512], name[300], alg[64];
	size_t n = 0;

	for (size_t i = 0; i < req->count; i++) {
		int a = kist_alg_from_name(req->items[i]);
		int found = 0;

		/* kist's spelling of a known algorithm, or the profile's own */
		snprintf(name, sizeof(name), "%s%s.txt", prefix,
			 a >= 0 ? kist_alg_bagit_name((enum kist_alg)a) : req->items[i]);
		for (size_t j = 0; j < v->tag_files.count && !found; j++)
			found = manifest_alg(v->tag_files.files[j].path, prefix, alg, sizeof(alg)) &&
				kist_profile_alg_same(alg, req->items[i]);
		if (!found) {
			kist_findings_add(fs, KIST_SEV_ERROR, is_tag ? "profile.tagmanifest-missing"
								     : "profile.manifest-missing",
					  name, "the profile requires a %s %s (%s-Required)", req->items[i], what,
					  is_tag ? "Tag-Manifests" : "Manifests");
			n++;
		}
	}
	if (!allow->given)
		return n;
	for (size_t j = 0; j < v->tag_files.count; j++) {
		const char *rel = v->tag_files.files[j].path;

		if (!manifest_alg(rel, prefix, alg, sizeof(alg)) || kist_profile_list_has_alg(allow, alg))
			continue;
		kist_findings_add(fs, KIST_SEV_ERROR, is_tag ? "profile.tagmanifest-not-allowed"
							     : "profile.manifest-not-allowed",
				  rel, "the profile does not allow a %s %s (%s-Allowed: %s)", alg, what,
				  is_tag ? "Tag-Manifests" : "Manifests", joined(allow, buf, sizeof(buf)));
		n++;
	}
	return n;
}

/* Tag files every bag has or may have, outside Tag-Files-Allowed. */
static int reserved_tag_file(const char *rel)
{
	char alg[64];

	return strcmp(rel, "bagit.txt") == 0 || strcmp(rel, "bag-info.txt") == 0 ||
	       strcmp(rel, "package-info.txt") == 0 || strcmp(rel, "fetch.txt") == 0 ||
	       manifest_alg(rel, "manifest-", alg, sizeof(alg)) ||
	       manifest_alg(rel, "tagmanifest-", alg, sizeof(alg));
}

static size_t check_files(const struct kist_profile *p, const struct kist_bag_view *v,
			  struct kist_findings *fs)
{
	size_t n = 0;

	for (size_t i = 0; i < p->tag_files_required.count; i++)
		if (!has_tag_file(v, p->tag_files_required.items[i])) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.tagfile-missing",
					  p->tag_files_required.items[i],
					  "the profile requires this tag file (Tag-Files-Required)");
			n++;
		}
	if (p->tag_files_allowed.given)
		for (size_t i = 0; i < v->tag_files.count; i++) {
			const char *rel = v->tag_files.files[i].path;

			if (reserved_tag_file(rel) || kist_profile_list_matches(&p->tag_files_allowed, rel))
				continue;
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.tagfile-not-allowed", rel,
					  "no pattern of Tag-Files-Allowed covers this tag file");
			n++;
		}
	for (size_t i = 0; i < p->payload_files_required.count; i++) {
		const char *want = p->payload_files_required.items[i];
		size_t wl = strlen(want);
		int dir = wl > 0 && want[wl - 1] == '/', found = 0;

		/* "data/src/": the directory with at least one file in it */
		for (size_t j = 0; j < v->payload.count && !found; j++)
			found = dir ? strncmp(v->payload.files[j].path, want, wl) == 0
				    : strcmp(v->payload.files[j].path, want) == 0;
		if (!found) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.payload-missing", want,
					  dir ? "the profile requires this payload directory, with at least one file (Payload-Files-Required)"
					      : "the profile requires this payload file (Payload-Files-Required)");
			n++;
		}
	}
	if (p->payload_files_allowed.given)
		for (size_t i = 0; i < v->payload.count; i++) {
			const char *rel = v->payload.files[i].path;

			if (kist_profile_list_matches(&p->payload_files_allowed, rel))
				continue;
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.payload-not-allowed", rel,
					  "no pattern of Payload-Files-Allowed covers this payload file");
			n++;
		}
	return n;
}

size_t kist_profile_check_bag(const struct kist_profile *p, const struct kist_bag_view *v,
			      struct kist_findings *fs)
{
	int has_fetch = has_tag_file(v, "fetch.txt");
	size_t n = 0;

	if (p->serialization == KIST_PROFILE_SER_REQUIRED && !v->archive_format) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-required", NULL,
				  "the profile requires a serialized bag (Serialization: required); this is a directory");
		n++;
	} else if (p->serialization == KIST_PROFILE_SER_FORBIDDEN && v->archive_format) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.serialization-forbidden", NULL,
				  "the profile forbids serialized bags (Serialization: forbidden); this is %s",
				  v->archive_format);
		n++;
	}
	n += kist_profile_check_info(p, &v->info, 0, fs);
	n += check_manifests(p, v, 0, fs);
	n += check_manifests(p, v, 1, fs);
	if (!p->allow_fetch && has_fetch) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.fetch-not-allowed", "fetch.txt",
				  "the profile does not allow fetch.txt (Allow-Fetch.txt: false)");
		n++;
	}
	if (p->fetch_required && !has_fetch) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.fetch-required", "fetch.txt",
				  "the profile requires fetch.txt (Fetch.txt-Required: true)");
		n++;
	}
	if (p->data_empty && !(v->payload_files == 0 || (v->payload_files == 1 && v->payload_bytes == 0))) {
		kist_findings_add(fs, KIST_SEV_ERROR, "profile.data-not-empty", "data",
				  "the profile requires an empty payload (Data-Empty: true: no file, or one file of "
				  "zero bytes); data/ holds %llu file%s, %llu bytes",
				  (unsigned long long)v->payload_files, v->payload_files == 1 ? "" : "s",
				  (unsigned long long)v->payload_bytes);
		n++;
	}
	n += check_files(p, v, fs);
	return n;
}

/* Elements kist bag create writes itself. */
static int computed_by_create(const char *label)
{
	static const char *const names[] = { "Bagging-Date", "Bag-Size", "Payload-Oxum", "Bag-Software-Agent",
					     "BagIt-Profile-Identifier" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(label, names[i]) == 0)
			return 1;
	return 0;
}

static int value_allowed(const struct kist_profile_list *values, const char *value)
{
	for (size_t i = 0; i < values->count; i++)
		if (strcmp(values->items[i], value) == 0)
			return 1;
	return 0;
}

size_t kist_profile_check_info(const struct kist_profile *p, const struct kist_bag_info *info,
			       int creating, struct kist_findings *fs)
{
	char buf[1024];
	size_t n = 0;

	for (size_t i = 0; i < p->ntags; i++) {
		const struct kist_profile_tag *t = &p->tags[i];
		size_t count = kist_bag_info_count(info, t->label);

		if (count == 0 && creating && computed_by_create(t->label))
			continue;
		if (t->required && count == 0) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.info-missing", "bag-info.txt",
					  "%s is required by the profile", t->label);
			n++;
		}
		if (!t->repeatable && count > 1) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.info-repeated", "bag-info.txt",
					  "%s appears %zu times; the profile allows it once (repeatable: false)",
					  t->label, count);
			n++;
		}
		if (t->values.count == 0)
			continue;
		for (size_t j = 0; j < info->count; j++) {
			const struct kist_bag_tag *e = &info->tags[j];

			if (strcasecmp(e->label, t->label) != 0 || value_allowed(&t->values, e->value))
				continue;
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.info-value", "bag-info.txt",
					  "%s: '%s' is not a value the profile allows (%s)", t->label, e->value,
					  joined(&t->values, buf, sizeof(buf)));
			n++;
		}
	}
	if (!creating && p->identifier) {
		size_t count = kist_bag_info_count(info, "BagIt-Profile-Identifier");
		int found = 0;

		for (size_t j = 0; j < info->count && !found; j++)
			found = strcasecmp(info->tags[j].label, "BagIt-Profile-Identifier") == 0 &&
				strcmp(info->tags[j].value, p->identifier) == 0;
		if (count == 0) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.identifier-missing", "bag-info.txt",
					  "no BagIt-Profile-Identifier: a bag that conforms to a profile names it (%s)",
					  p->identifier);
			n++;
		} else if (!found) {
			kist_findings_add(fs, KIST_SEV_ERROR, "profile.identifier-mismatch", "bag-info.txt",
					  "BagIt-Profile-Identifier names %s, not this profile (%s)",
					  kist_bag_info_get(info, "BagIt-Profile-Identifier"), p->identifier);
			n++;
		}
	}
	return n;
}

kist_algset kist_profile_algorithms(const struct kist_profile *p, int is_tag, kist_algset wanted)
{
	const struct kist_profile_list *req = is_tag ? &p->tag_manifests_required : &p->manifests_required;
	const struct kist_profile_list *allow = is_tag ? &p->tag_manifests_allowed : &p->manifests_allowed;
	static const enum kist_alg preferred[] = { KIST_ALG_SHA512, KIST_ALG_SHA256, KIST_ALG_SHA384,
						   KIST_ALG_SHA3_512, KIST_ALG_SHA3_256, KIST_ALG_BLAKE2B_512,
						   KIST_ALG_SHA224, KIST_ALG_SHA1, KIST_ALG_MD5 };
	kist_algset set = 0;

	for (size_t i = 0; i < req->count; i++) {
		int a = kist_alg_from_name(req->items[i]);

		if (a >= 0)
			set |= KIST_ALG_BIT(a);
	}
	for (int a = 0; a < KIST_ALG_COUNT; a++)
		if ((wanted & KIST_ALG_BIT(a)) &&
		    (!allow->given || kist_profile_list_has_alg(allow, kist_alg_bagit_name((enum kist_alg)a))))
			set |= KIST_ALG_BIT(a);
	/* nothing wanted is allowed and nothing is required: the strongest allowed */
	for (size_t i = 0; !set && allow->given && i < sizeof(preferred) / sizeof(preferred[0]); i++)
		if (kist_profile_list_has_alg(allow, kist_alg_bagit_name(preferred[i])))
			set = KIST_ALG_BIT(preferred[i]);
	return set;
}
