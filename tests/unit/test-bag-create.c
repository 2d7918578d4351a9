/* kist_bag_create: bags made in place and to a destination, refusals before
 * any change, resuming interrupted runs, and SIGKILL at random moments. */
#include "unit.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* --- helpers --------------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
	char *p = kist_path_join(a, b);

	assert_non_null(p);
	return p;
}

static int exists(const char *dir, const char *name)
{
	char *p = join(dir, name);
	struct stat st;
	int r = lstat(p, &st) == 0;

	free(p);
	return r;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char *p = join(dir, name), *buf;
	FILE *f = fopen(p, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	free(p);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* A tree: nested folders, hidden files, a top-level "data", odd names. */
static void make_tree(const char *root)
{
	unit_mkdir(root, "docs");
	unit_mkdir(root, "docs/sub");
	unit_mkdir(root, "data");
	unit_write(root, "readme.txt", "hello\n", 6);
	unit_write(root, ".hidden", "h", 1);
	unit_write(root, "docs/sub/deep.bin", NULL, 70000);
	unit_write(root, "data/inner.txt", "inner", 5);
	unit_write(root, "pct%name", "p", 1);
	unit_write(root, "line\nbreak", "l", 1);
	unit_write(root, "empty", "", 0);
}

/* Every file below dir as "rel<TAB>sha256hex\n", sorted, in one string. */
struct listing {
	char **lines;
	size_t n, cap;
};

static void list_add(struct listing *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->lines = realloc(l->lines, l->cap * sizeof(*l->lines));
		assert_non_null(l->lines);
	}
	l->lines[l->n++] = s;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* skip_top: top-level names (NULL-terminated) to leave out; strip: a
 * top-level directory whose content is named relative to it. */
static void list_files(struct listing *l, const char *root, const char *rel, const char *const *skip_top,
		       const char *const *strip)
{
	char *dir = rel[0] ? join(root, rel) : strdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char *r, *full;
		struct stat st;
		int skip = 0;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!rel[0])
			for (const char *const *s = skip_top; s && *s; s++)
				if (!strcmp(*s, de->d_name) || (!strcmp(*s, "manifest-*") &&
								(!strncmp(de->d_name, "manifest-", 9) ||
								 !strncmp(de->d_name, "tagmanifest-", 12))))
					skip = 1;
		if (skip)
			continue;
		r = rel[0] ? join(rel, de->d_name) : strdup(de->d_name);
		full = join(root, r);
		assert_int_equal(lstat(full, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			list_files(l, root, r, skip_top, strip);
		} else if (!S_ISREG(st.st_mode)) {
			char *line;

			assert_true(asprintf(&line, "%s\tmode %o", r, (unsigned)st.st_mode) > 0);
			list_add(l, line);
		} else {
			unsigned char dg[KIST_DIGEST_MAX], buf[65536];
			char hex[KIST_DIGEST_HEX_MAX], *line, *name = r;
			struct kist_digest *dg_ctx = kist_digest_new(KIST_ALG_SHA256);
			FILE *f = fopen(full, "rb");
			size_t got;

			/* the test's own reading, independent of the pipeline */
			assert_non_null(dg_ctx);
			assert_non_null(f);
			assert_int_equal(kist_digest_begin(dg_ctx), 0);
			while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
				kist_digest_update(dg_ctx, buf, got);
			fclose(f);
			assert_int_equal(kist_digest_end(dg_ctx, dg), 0);
			kist_digest_free(dg_ctx);
			kist_hex(dg, 32, hex);
			for (const char *const *s = strip; s && *s; s++) {
				size_t n = strlen(*s);

				if (!strncmp(name, *s, n) && name[n] == '/') {
					name += n + 1;
					break;
				}
			}
			assert_true(asprintf(&line, "%s\t%s", name, hex) > 0);
			list_add(l, line);
		}
		free(full);
		free(r);
	}
	closedir(d);
	free(dir);
}

static char *listing_of(const char *root, const char *const *skip_top, const char *const *strip)
{
	struct listing l = { 0 };
	size_t len = 1;
	char *out;

	list_files(&l, root, "", skip_top, strip);
	if (l.n > 1)
		qsort(l.lines, l.n, sizeof(*l.lines), cmp_line);
	for (size_t i = 0; i < l.n; i++)
		len += strlen(l.lines[i]) + 1;
	out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < l.n; i++) {
		strcat(out, l.lines[i]);
		strcat(out, "\n");
		free(l.lines[i]);
	}
	free(l.lines);
	return out;
}

static const char *const tag_files[] = { "bagit.txt", "bag-info.txt", "manifest-*", "metadata", NULL };
static const char *const strip_data[] = { "data", NULL };

/* Opens the bag, checks that each manifest of algs lists exactly the files
 * under data/ with their digests, and every tag manifest line matches. */
static void check_bag(const char *path, kist_algset algs, uint64_t want_files)
{
	struct kist_bag *bag = NULL;
	struct kist_findings *fs = kist_findings_new();
	struct kist_error err;
	char *info;

	assert_int_equal(kist_bag_open(path, &bag, fs, &err), KIST_OK);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 0);
	assert_int_equal(bag->major, 1);
	assert_int_equal(bag->minor, 0);
	assert_int_equal(kist_bag_algorithms(bag, 0), algs);
	assert_int_equal(kist_bag_algorithms(bag, 1), algs);
	for (int t = 0; t < 2; t++)
		for (int a = 0; a < KIST_ALG_COUNT; a++) {
			struct kist_bag_manifest *m;

			if (!(algs & KIST_ALG_BIT(a)))
				continue;
			m = kist_bag_manifest_for(bag, a, t);
			assert_non_null(m);
			if (t == 0)
				assert_int_equal(m->list.count, want_files);
			else
				assert_true(m->list.count >= 2 + (size_t)kist_algset_count(algs));
			for (size_t i = 0; i < m->list.count; i++) {
				unsigned char dg[KIST_ALG_COUNT][KIST_DIGEST_MAX];
				const struct kist_check_entry *e = &m->list.entries[i];

				assert_int_equal(kist_hash_file(bag->dirfd, e->path, KIST_ALG_BIT(a), dg, NULL, &err),
						 KIST_OK);
				assert_memory_equal(dg[a], e->digest, kist_alg_size(a));
				if (t == 0)
					assert_int_equal(strncmp(e->path, "data/", 5), 0);
			}
		}
	info = slurp(path, "bag-info.txt", NULL);
	{
		const char *oxum = kist_bag_info_get(&bag->info, "Payload-Oxum");
		unsigned long long b, f;

		assert_non_null(oxum);
		assert_int_equal(sscanf(oxum, "%llu.%llu", &b, &f), 2);
		assert_int_equal(f, want_files);
	}
	free(info);
	assert_false(exists(path, ".kist-bagging"));
	assert_false(exists(path, ".kist-bagging.data"));
	assert_false(exists(path, ".kist-bagging.d"));
	kist_bag_free(bag);
	kist_findings_free(fs);
}

static int create(const char *src, const char *dest, const struct kist_bag_create_options *o,
		  struct kist_findings *fs)
{
	struct kist_error err;
	size_t before = fs ? kist_findings_count(fs) : 0;
	int rc;

	kist_error_clear(&err);
	rc = kist_bag_create(src, dest, o, fs, &err);
	if (getenv("UNIT_VERBOSE")) {
		for (size_t i = before; fs && i < kist_findings_count(fs); i++) {
			const struct kist_finding *f = kist_findings_get(fs, i);

			print_message("# %s %s: %s\n", f->code, f->path ? f->path : "", f->message);
		}
		if (rc != KIST_OK)
			print_message("# rc %d: %s\n", rc, err.message);
	}
	return rc;
}

/* --- tests -------------------------------------------------------------------------- */

static void test_in_place(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *before, *after;
	struct kist_findings *fs = kist_findings_new();
	struct stat st1, st2;
	size_t len;
	char *bagit;

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	before = listing_of(src, NULL, NULL);
	{
		char *p = join(src, "docs/sub/deep.bin");

		assert_int_equal(stat(p, &st1), 0);
		free(p);
	}
	assert_int_equal(create(src, NULL, NULL, fs), KIST_OK);
	assert_int_equal(kist_findings_count_severity(fs, KIST_SEV_ERROR), 0);
	after = listing_of(src, tag_files, strip_data);
	assert_string_equal(before, after);
	assert_true(exists(src, "data/data/inner.txt"));
	assert_true(exists(src, "data/.hidden"));
	{
		char *p = join(src, "data/docs/sub/deep.bin");

		assert_int_equal(stat(p, &st2), 0);   /* renamed, not copied */
		assert_int_equal(st1.st_ino, st2.st_ino);
		free(p);
	}
	bagit = slurp(src, "bagit.txt", &len);
	assert_string_equal(bagit, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 7);
	{
		char *m = slurp(src, "manifest-sha512.txt", NULL);

		assert_non_null(strstr(m, "  data/pct%25name\n"));
		assert_non_null(strstr(m, "  data/line%0Abreak\n"));
		free(m);
	}
	free(bagit);
	free(before);
	free(after);
	kist_findings_free(fs);
	free(src);
	unit_rmtree(dir);
	free(dir);
}

static void test_to_dest(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *dest = join(dir, "dest"), *before, *after, *bagged;
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_info info;
	struct kist_bag_create_options o = { 0 };
	char *text;

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	before = listing_of(src, NULL, NULL);
	kist_bag_info_init(&info);
	kist_bag_info_add(&info, "Source-Organization", "Harbour Museum");
	kist_bag_info_add(&info, "Bag-Software-Agent", "my own tool");
	o.algs = KIST_ALG_BIT(KIST_ALG_MD5) | KIST_ALG_BIT(KIST_ALG_SHA256);
	o.info = &info;
	o.jobs = 3;
	assert_int_equal(create(src, dest, &o, fs), KIST_OK);
	after = listing_of(src, NULL, NULL);
	assert_string_equal(before, after);   /* SOURCE untouched */
	bagged = listing_of(dest, tag_files, strip_data);
	assert_string_equal(before, bagged);
	check_bag(dest, o.algs, 7);
	text = slurp(dest, "bag-info.txt", NULL);
	/* the user's first, in order; the user's agent kept; the rest after */
	assert_true(strncmp(text, "Source-Organization: Harbour Museum\nBag-Software-Agent: my own tool\n"
				  "Bagging-Date: ",
			    strlen("Source-Organization: Harbour Museum\nBag-Software-Agent: my own tool\n"
				   "Bagging-Date: ")) == 0);
	assert_non_null(strstr(text, "\nPayload-Oxum: 70014.7\n"));
	assert_null(strstr(text, "kist 0"));
	free(text);
	kist_bag_info_free(&info);
	free(before);
	free(after);
	free(bagged);
	kist_findings_free(fs);
	free(src);
	free(dest);
	unit_rmtree(dir);
	free(dir);
}

static void test_link(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *dest = join(dir, "dest"), *a, *b;
	struct kist_findings *fs = kist_findings_new();
	struct kist_bag_create_options o = { .link = 1 };
	struct stat s1, s2;

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	assert_int_equal(create(src, dest, &o, fs), KIST_OK);
	a = join(src, "docs/sub/deep.bin");
	b = join(dest, "data/docs/sub/deep.bin");
	assert_int_equal(stat(a, &s1), 0);
	assert_int_equal(stat(b, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_false(kist_findings_has(fs, "create.link-fallback"));
	check_bag(dest, KIST_ALG_BIT(KIST_ALG_SHA512), 7);
	free(a);
	free(b);
	kist_findings_free(fs);
	free(src);
	free(dest);
	unit_rmtree(dir);
	free(dir);
}

/* A refusal changes nothing and names what is wrong. */
static void refused(const char *what, void (*prepare)(const char *src), const char *code, int with_dest)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *dest = join(dir, "dest"), *before, *after;
	struct kist_findings *fs = kist_findings_new();

	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	prepare(src);
	before = listing_of(src, NULL, NULL);
	if (create(src, with_dest ? dest : NULL, NULL, fs) != KIST_INVALID || !kist_findings_has(fs, code))
		fail_msg("%s: not refused with %s", what, code);
	after = listing_of(src, NULL, NULL);
	assert_string_equal(before, after);
	assert_false(exists(src, ".kist-bagging") && strcmp(code, "create.reserved-name") != 0);
	assert_false(exists(src, "bagit.txt") && strcmp(code, "create.already-bag") != 0);
	assert_false(exists(dir, "dest"));
	free(before);
	free(after);
	kist_findings_free(fs);
	free(src);
	free(dest);
	unit_rmtree(dir);
	free(dir);
}

static void add_symlink(const char *src)
{
	char *p = join(src, "docs/link");

	assert_int_equal(symlink("../readme.txt", p), 0);
	free(p);
}

static void add_fifo(const char *src)
{
	char *p = join(src, "docs/sub/fifo");

	assert_int_equal(mkfifo(p, 0644), 0);
	free(p);
}

static void add_nfc_clash(const char *src)
{
	unit_write(src, "docs/caf\xc3\xa9", "1", 1);
	unit_write(src, "docs/cafe\xcc\x81", "2", 1);
}

static void add_case_clash(const char *src)
{
	unit_write(src, "README.TXT", "1", 1);   /* readme.txt is there */
}

static void add_bad_utf8(const char *src)
{
	unit_write(src, "latin1-\xe9t\xe9", "1", 1);
}

static void make_bag(const char *src)
{
	unit_write(src, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 55);
}

static void add_journal_impostor(const char *src)
{
	unit_write(src, ".kist-bagging", "not a journal", 13);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("symlink in place", add_symlink, "create.symlink", 0);
	refused("symlink to dest", add_symlink, "create.symlink", 1);
	refused("fifo", add_fifo, "create.special-file", 0);
	refused("fifo to dest", add_fifo, "create.special-file", 1);
	refused("normalization clash", add_nfc_clash, "create.name-clash", 0);
	refused("case clash", add_case_clash, "create.name-clash", 1);
	refused("invalid UTF-8", add_bad_utf8, "create.invalid-utf8", 0);
	refused("already a bag", make_bag, "create.already-bag", 0);
	refused("already a bag, dest", make_bag, "create.already-bag", 1);
	refused("journal impostor", add_journal_impostor, "create.reserved-name", 0);
}

static void test_exclude_and_empty_dirs(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *dest = join(dir, "dest");
	struct kist_findings *fs = kist_findings_new();
	const char *const excl[] = { "*.tmp", "docs/sub/deep.bin", NULL };
	struct kist_bag_create_options o = { .exclude = excl, .keep_empty_dirs = 1 };

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	unit_mkdir(src, "void");
	unit_write(src, "docs/x.tmp", "t", 1);
	unit_write(src, "Thumbs.db", "t", 1);
	assert_int_equal(create(src, dest, &o, fs), KIST_OK);
	assert_false(exists(dest, "data/docs/x.tmp"));
	assert_false(exists(dest, "data/docs/sub/deep.bin"));
	assert_true(exists(dest, "data/docs/sub/.keep"));   /* empty once deep.bin is left out */
	assert_true(exists(dest, "data/void/.keep"));
	assert_true(exists(dest, "data/Thumbs.db"));
	assert_true(kist_findings_has(fs, "create.os-litter"));
	check_bag(dest, KIST_ALG_BIT(KIST_ALG_SHA512), 9);

	/* in place, an excluded file below the top would be unlisted payload */
	kist_findings_free(fs);
	fs = kist_findings_new();
	o.keep_empty_dirs = 0;
	assert_int_equal(create(src, NULL, &o, fs), KIST_INVALID);
	assert_true(kist_findings_has(fs, "create.exclude-in-place"));
	assert_true(exists(src, "readme.txt"));
	assert_false(exists(src, ".kist-bagging"));

	kist_findings_free(fs);
	free(src);
	free(dest);
	unit_rmtree(dir);
	free(dir);
}

static void test_bad_options(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src");
	struct kist_bag_info info;
	struct kist_bag_create_options o = { 0 };
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	kist_bag_info_init(&info);
	kist_bag_info_add(&info, "Payload-Oxum", "1.1");
	o.info = &info;
	assert_int_equal(create(src, NULL, &o, fs), KIST_FAILED);
	o.info = NULL;
	o.follow_symlinks = 1;
	assert_int_equal(create(src, NULL, &o, fs), KIST_FAILED);
	assert_true(exists(src, "readme.txt"));
	assert_false(exists(src, "data/readme.txt"));
	{
		char *in = join(src, "docs");

		o.follow_symlinks = 0;
		assert_int_equal(create(src, in, &o, fs), KIST_INVALID);
		assert_true(kist_findings_has(fs, "create.dest-inside-source"));
		free(in);
	}
	kist_bag_info_free(&info);
	kist_findings_free(fs);
	free(src);
	unit_rmtree(dir);
	free(dir);
}

/* Interrupted states, made by hand as a killed run leaves them. */
static void write_journal(const char *src, const char *phase, const char *inode_of)
{
	char text[256];
	struct stat st;

	if (inode_of) {
		char *p = join(src, inode_of);

		assert_int_equal(stat(p, &st), 0);
		free(p);
		snprintf(text, sizeof(text), "kist-bagging 1\nphase %s\nstaging %llu %llu\n", phase,
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	} else {
		snprintf(text, sizeof(text), "kist-bagging 1\nphase %s\n", phase);
	}
	unit_write(src, ".kist-bagging", text, strlen(text));
}

static void move(const char *src, const char *from, const char *to)
{
	char *a = join(src, from), *b = join(src, to);

	assert_int_equal(rename(a, b), 0);
	free(a);
	free(b);
}

static void test_resume(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *before, *after;
	struct kist_findings *fs = kist_findings_new();

	(void)state;
	/* killed in the middle of the moves, "data" and ".hidden" already moved */
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	before = listing_of(src, NULL, NULL);
	unit_mkdir(src, ".kist-bagging.data");
	write_journal(src, "move", ".kist-bagging.data");
	move(src, "data", ".kist-bagging.data/data");
	move(src, ".hidden", ".kist-bagging.data/.hidden");
	assert_int_equal(create(src, NULL, NULL, fs), KIST_OK);
	after = listing_of(src, tag_files, strip_data);
	assert_string_equal(before, after);
	check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 7);
	free(after);
	unit_rmtree(src);

	/* killed after the staging directory became data/, tag files half made */
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	unit_mkdir(src, ".kist-bagging.data");
	write_journal(src, "move", ".kist-bagging.data");
	{
		const char *names[] = { "data", ".hidden", "docs", "readme.txt", "pct%name", "line\nbreak", "empty" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *to = join(".kist-bagging.data", names[i]);

			move(src, names[i], to);
			free(to);
		}
	}
	move(src, ".kist-bagging.data", "data");
	unit_write(src, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", 55);
	unit_write(src, "manifest-md5.txt", "junk", 4);
	unit_mkdir(src, ".kist-bagging.d");
	unit_write(src, ".kist-bagging.d/.bag-info.txt.kist-tmp.123", "x", 1);
	assert_int_equal(create(src, NULL, NULL, fs), KIST_OK);
	after = listing_of(src, tag_files, strip_data);
	assert_string_equal(before, after);
	assert_false(exists(src, "manifest-md5.txt"));
	check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 7);
	free(after);
	unit_rmtree(src);

	/* killed after the first journal, before anything moved; the staging
	 * directory made; a top-level "data" is still the user's */
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	unit_mkdir(src, ".kist-bagging.data");
	write_journal(src, "prepare", NULL);
	assert_int_equal(create(src, NULL, NULL, fs), KIST_OK);
	after = listing_of(src, tag_files, strip_data);
	assert_string_equal(before, after);
	assert_true(exists(src, "data/data/inner.txt"));
	check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 7);
	free(after);
	unit_rmtree(src);

	/* what turned up in data/ while the run was stopped is checked again */
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	unit_mkdir(src, ".kist-bagging.data");
	write_journal(src, "move", ".kist-bagging.data");
	move(src, "docs", ".kist-bagging.data/docs");
	{
		char *l = join(src, ".kist-bagging.data/docs/sneaky");

		assert_int_equal(symlink("/etc/passwd", l), 0);
		free(l);
	}
	kist_findings_free(fs);
	fs = kist_findings_new();
	assert_int_equal(create(src, NULL, NULL, fs), KIST_INVALID);   /* refused before moving on */
	assert_true(kist_findings_has(fs, "create.symlink"));
	assert_true(exists(src, "readme.txt"));
	{
		char *l = join(src, ".kist-bagging.data/docs/sneaky");

		assert_int_equal(unlink(l), 0);
		free(l);
	}
	assert_int_equal(create(src, NULL, NULL, fs), KIST_OK);
	after = listing_of(src, tag_files, strip_data);
	assert_string_equal(before, after);
	free(after);
	unit_rmtree(src);

	/* a journal whose staging directory is neither there nor data/: touch nothing */
	assert_int_equal(mkdir(src, 0755), 0);
	make_tree(src);
	unit_write(src, ".kist-bagging", "kist-bagging 1\nphase move\nstaging 1 1\n", 38);
	assert_int_equal(create(src, NULL, NULL, fs), KIST_FAILED);
	assert_true(exists(src, "readme.txt"));
	assert_true(exists(src, "data/inner.txt"));

	free(before);
	kist_findings_free(fs);
	free(src);
	unit_rmtree(dir);
	free(dir);
}

/* SIGKILL at random moments during a library call in a child, again and
 * again on the same folder; after each kill, every payload file is there
 * once with its content (at its old path, in staging or in data/); then a
 * last run finishes. */
static char *payload_listing(const char *src)
{
	static const char *const skip[] = { "bagit.txt", "bag-info.txt", "manifest-*", "metadata", ".kist-bagging",
					    ".kist-bagging.tmp", ".kist-bagging.d", NULL };
	static const char *const strip_staging[] = { ".kist-bagging.data", NULL };
	char *j = join(src, ".kist-bagging");
	struct stat st;
	int has_journal = stat(j, &st) == 0, ours = 0;

	free(j);
	if (!exists(src, ".kist-bagging.data")) {
		if (has_journal) {
			size_t len;
			char *text = slurp(src, ".kist-bagging", &len);

			ours = strstr(text, "phase move") != NULL;
			free(text);
		} else {
			ours = exists(src, "bagit.txt");
		}
	}
	return listing_of(src, skip, ours ? strip_data : strip_staging);
}

static void make_kill_tree(const char *src)
{
	assert_int_equal(mkdir(src, 0755), 0);
	for (int t = 0; t < 60; t++) {
		char name[64];

		snprintf(name, sizeof(name), t == 0 ? "data" : t % 9 == 0 ? ".h%02d" : "d%02d", t);
		unit_mkdir(src, name);
		for (int k = 0; k < 15; k++) {
			char f[96];

			snprintf(f, sizeof(f), "%s/f%02d", name, k);
			unit_write(src, f, NULL, (size_t)(t * 37 + k * 11));
		}
	}
}

static int complete(const char *src)
{
	return exists(src, "bagit.txt") && !exists(src, ".kist-bagging");
}

static void test_sigkill(void **state)
{
	char *dir = unit_tmpdir(), *src = join(dir, "src"), *want;
	int kills = 0, finished = 0, runs = 0;
	struct timespec t0, t1;
	long full_us;

	(void)state;
	make_kill_tree(src);
	want = payload_listing(src);
	srand((unsigned)getpid());
	setenv("KIST_TEST_MOVE_DELAY_US", "1000", 1);

	/* how long one run takes, on a copy */
	{
		char *cmd = NULL, *probe = join(dir, "probe");

		assert_true(asprintf(&cmd, "cp -a '%s' '%s'", src, probe) > 0);
		assert_int_equal(system(cmd), 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(create(probe, NULL, NULL, NULL), KIST_OK);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		full_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
		free(cmd);
		free(probe);
	}
	while (kills < 12 && runs++ < 200) {
		pid_t pid;
		int status;
		char *got;

		if (complete(src)) {
			/* a run finished (or was killed just after): check, start over */
			check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 900);
			unit_rmtree(src);
			make_kill_tree(src);
		}
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct kist_error err;
			int rc = kist_bag_create(src, NULL, NULL, NULL, &err);

			_exit(rc == KIST_OK ? 0 : 10 + rc);
		}
		usleep((useconds_t)(rand() % (full_us + 1)));
		if (waitpid(pid, &status, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			kills++;
		} else {
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			finished++;
		}
		got = payload_listing(src);
		if (strcmp(got, want) != 0)
			fail_msg("after kill %d, the payload differs:\n%.300s\nwant\n%.300s", kills, got, want);
		free(got);
	}
	assert_int_equal(kills, 12);
	unsetenv("KIST_TEST_MOVE_DELAY_US");
	if (!complete(src))
		assert_int_equal(create(src, NULL, NULL, NULL), KIST_OK);
	check_bag(src, KIST_ALG_BIT(KIST_ALG_SHA512), 900);
	{
		char *got = payload_listing(src);

		assert_string_equal(got, want);
		free(got);
	}
	print_message("# %d kills, %d runs finished on their own\n", kills, finished);
	free(want);
	free(src);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_to_dest),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_exclude_and_empty_dirs),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_sigkill),
	};
	return UNIT_RUN(tests);
}
