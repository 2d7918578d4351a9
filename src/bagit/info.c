/* What `kist bag info` shows: the bag as read (kist_bag_open) and data/ as
 * walked, sizes only; nothing is hashed. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include <kist/kist.h>

int kist_bag_oxum_parse(const char *value, uint64_t *bytes, uint64_t *files)
{
	const char *p = value, *dot;
	uint64_t v[2] = { 0, 0 };

	if (!value)
		return -1;
	dot = strchr(value, '.');
	if (!dot)
		return -1;
	for (int k = 0; k < 2; k++) {
		const char *end = k == 0 ? dot : value + strlen(value);

		if (p == end)
			return -1;
		for (; p < end; p++) {
			uint64_t d = (uint64_t)(*p - '0');

			if (*p < '0' || *p > '9' || v[k] > (UINT64_MAX - d) / 10)
				return -1;
			v[k] = v[k] * 10 + d;
		}
		p = dot + 1;
	}
	*bytes = v[0];
	*files = v[1];
	return 0;
}

static char *nfc_dup(const char *s)
{
	utf8proc_uint8_t *r = utf8proc_NFC((const utf8proc_uint8_t *)s);

	return r ? (char *)r : strdup(s);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct collect {
	char **paths;   /* NFC of "data/...", then NUL, then the size (8 bytes) */
	size_t count, cap;
	uint64_t bytes;
};

static uint64_t size_of(const char *entry)
{
	uint64_t size;

	memcpy(&size, entry + strlen(entry) + 1, sizeof(size));
	return size;
}

static int on_walk(void *ctx, const struct kist_walk_entry *e)
{
	struct collect *c = ctx;
	char *joined;

	if (e->type != KIST_ENTRY_FILE)
		return 0;
	if (c->count == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		char **np = realloc(c->paths, cap * sizeof(*np));

		if (!np)
			return -1;
		c->paths = np;
		c->cap = cap;
	}
	if (!(joined = kist_path_join("data", e->rel)))
		return -1;
	char *n = nfc_dup(joined);
	free(joined);
	if (!n)
		return -1;
	size_t len = strlen(n);
	char *entry = malloc(len + 1 + sizeof(uint64_t));
	if (!entry) {
		free(n);
		return -1;
	}
	memcpy(entry, n, len + 1);
	memcpy(entry + len + 1, &e->size, sizeof(uint64_t));
	free(n);
	c->paths[c->count] = entry;
	c->count++;
	c->bytes += e->size;
	return 0;
}

/* Sorted, distinct NFC paths of the payload manifests. */
static int manifest_paths(const struct kist_bag *bag, char ***out, size_t *n)
{
	size_t cap = 0, count = 0;
	char **v;

	for (size_t m = 0; m < bag->nmanifests; m++)
		if (!bag->manifests[m].is_tag)
			cap += bag->manifests[m].list.count;
	if (!(v = calloc(cap ? cap : 1, sizeof(*v))))
		return -1;
	for (size_t m = 0; m < bag->nmanifests; m++) {
		if (bag->manifests[m].is_tag)
			continue;
		for (size_t i = 0; i < bag->manifests[m].list.count; i++)
			if (!(v[count++] = nfc_dup(bag->manifests[m].list.entries[i].path))) {
				for (size_t k = 0; k + 1 < count; k++)
					free(v[k]);
				free(v);
				return -1;
			}
	}
	qsort(v, count, sizeof(*v), cmp_str_ptr);
	size_t w = 0;
	for (size_t i = 0; i < count; i++) {
		if (w && strcmp(v[w - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[w++] = v[i];
	}
	*out = v;
	*n = w;
	return 0;
}

int kist_bag_summarize(const char *path, struct kist_bag_summary *s,
		       struct kist_findings *findings, struct kist_error *err)
{
	struct collect c = { 0 };
	char **listed = NULL, *data = NULL;
	size_t nlisted = 0;
	struct stat st;
	int rc;

	memset(s, 0, sizeof(*s));
	kist_error_clear(err);
	rc = kist_bag_open(path, &s->bag, findings, err);
	if (rc != KIST_OK) {
		if (s->bag)
			kist_bag_free(s->bag);
		s->bag = NULL;
		return rc;
	}
	s->payload_algs = kist_bag_algorithms(s->bag, 0);
	s->tag_algs = kist_bag_algorithms(s->bag, 1);

	if (fstatat(s->bag->dirfd, "data", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		struct kist_walk_options wo = { 0 };

		s->has_data_dir = 1;
		if (!(data = kist_path_join(path, "data"))) {
			rc = kist_error_set(err, KIST_FAILED, "out of memory");
			goto out;
		}
		if ((rc = kist_walk(data, &wo, on_walk, &c, findings, err)) != KIST_OK)
			goto out;
	} else {
		kist_findings_add(findings, KIST_SEV_ERROR, "payload.no-data-dir", path,
				  "the bag has no data/ directory");
	}
	s->files = c.count;
	s->bytes = c.bytes;

	if (manifest_paths(s->bag, &listed, &nlisted) < 0) {
		rc = kist_error_set(err, KIST_FAILED, "out of memory");
		goto out;
	}
	s->manifest_files = nlisted;
	qsort(c.paths, c.count, sizeof(*c.paths), cmp_str_ptr);
	for (size_t i = 0, j = 0; i < c.count || j < nlisted;) {
		int cmp = i == c.count ? 1 : j == nlisted ? -1 : strcmp(c.paths[i], listed[j]);

		if (cmp < 0) {
			s->unlisted++;
			i++;
		} else if (cmp > 0) {
			s->missing++;
			j++;
		} else {
			s->manifest_bytes += size_of(c.paths[i]);
			/* the walk's names are distinct bytes, maybe not in NFC */
			i++;
			if (i == c.count || strcmp(c.paths[i], listed[j]) != 0)
				j++;
		}
	}

	s->oxum = kist_bag_info_get(&s->bag->info, "Payload-Oxum");
	if (!s->oxum)
		s->oxum_state = KIST_OXUM_ABSENT;
	else if (kist_bag_oxum_parse(s->oxum, &s->oxum_bytes, &s->oxum_files) < 0)
		s->oxum_state = KIST_OXUM_MALFORMED;
	else if (s->oxum_bytes == s->bytes && s->oxum_files == s->files)
		s->oxum_state = KIST_OXUM_MATCHES;
	else
		s->oxum_state = KIST_OXUM_DIFFERS;
	rc = KIST_OK;
out:
	for (size_t i = 0; i < c.count; i++)
		free(c.paths[i]);
	free(c.paths);
	for (size_t i = 0; i < nlisted; i++)
		free(listed[i]);
	free(listed);
	free(data);
	return rc;
}

void kist_bag_summary_free(struct kist_bag_summary *s)
{
	if (!s || !s->bag)
		return;
	kist_bag_free(s->bag);
	s->bag = NULL;
}
