/* The digest algorithms: names, sizes, and EVP contexts. The EVP_MD objects
 * are fetched once per process; implicit fetching on every init costs more
 * than hashing a small file. */
#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include <kist/digest.h>
#include <kist/error.h>

struct alg_info {
	const char *name;      /* canonical, as users type it */
	const char *bagit;     /* lower case, no punctuation (RFC 8493 2.1.3) */
	const char *tag;       /* coreutils --tag label */
	const char *evp;       /* OpenSSL name */
	size_t size;
	unsigned cost;         /* per byte, sha256 = 100, measured with openssl speed */
};

static const struct alg_info algs[KIST_ALG_COUNT] = {
	[KIST_ALG_MD5] = { "md5", "md5", "MD5", "MD5", 16, 235 },
	[KIST_ALG_SHA1] = { "sha1", "sha1", "SHA1", "SHA1", 20, 95 },
	[KIST_ALG_SHA224] = { "sha224", "sha224", "SHA224", "SHA224", 28, 100 },
	[KIST_ALG_SHA256] = { "sha256", "sha256", "SHA256", "SHA256", 32, 100 },
	[KIST_ALG_SHA384] = { "sha384", "sha384", "SHA384", "SHA384", 48, 170 },
	[KIST_ALG_SHA512] = { "sha512", "sha512", "SHA512", "SHA512", 64, 170 },
	[KIST_ALG_SHA3_256] = { "sha3-256", "sha3256", "SHA3-256", "SHA3-256", 32, 335 },
	[KIST_ALG_SHA3_512] = { "sha3-512", "sha3512", "SHA3-512", "SHA3-512", 64, 630 },
	[KIST_ALG_BLAKE2B_512] = { "blake2b-512", "blake2b512", "BLAKE2b", "BLAKE2B-512", 64, 145 },
};

/* Other spellings seen in manifests and tools. */
static const struct {
	const char *alias;
	enum kist_alg alg;
} aliases[] = {
	{ "sha3_256", KIST_ALG_SHA3_256 }, { "sha3_512", KIST_ALG_SHA3_512 },
	{ "blake2b", KIST_ALG_BLAKE2B_512 }, { "blake2b_512", KIST_ALG_BLAKE2B_512 },
	{ "b2", KIST_ALG_BLAKE2B_512 },
};

/* Compares ignoring case and the punctuation '-', '_'. */
static int loose_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		if (!*a)
			return 1;
		a++;
		b++;
	}
}

int kist_alg_from_name(const char *name)
{
	for (int i = 0; i < KIST_ALG_COUNT; i++)
		if (loose_equal(name, algs[i].name) || loose_equal(name, algs[i].bagit))
			return i;
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (loose_equal(name, aliases[i].alias))
			return (int)aliases[i].alg;
	return -1;
}

int kist_algset_parse(const char *list, kist_algset *out, struct kist_error *err)
{
	char *copy = strdup(list), *save = NULL, *tok;
	kist_algset set = 0;
	int rc = 0;

	if (!copy)
		return kist_error_set(err, KIST_FAILED, "out of memory"), -1;
	for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		int a = kist_alg_from_name(tok);

		if (a < 0) {
			kist_error_set(err, KIST_FAILED,
				       "unknown algorithm '%s' (known: md5, sha1, sha224, sha256, "
				       "sha384, sha512, sha3-256, sha3-512, blake2b-512)", tok);
			rc = -1;
			goto out;
		}
		set |= KIST_ALG_BIT(a);
	}
	if (!set) {
		kist_error_set(err, KIST_FAILED, "no algorithm given");
		rc = -1;
		goto out;
	}
	*out = set;
out:
	free(copy);
	return rc;
}

const char *kist_alg_name(enum kist_alg alg)
{
	return algs[alg].name;
}

const char *kist_alg_bagit_name(enum kist_alg alg)
{
	return algs[alg].bagit;
}

const char *kist_alg_tag_name(enum kist_alg alg)
{
	return algs[alg].tag;
}

size_t kist_alg_size(enum kist_alg alg)
{
	return algs[alg].size;
}

unsigned kist_alg_cost(enum kist_alg alg)
{
	return algs[alg].cost;
}

int kist_alg_from_hex_length(size_t len)
{
	switch (len) {
	case 32: return KIST_ALG_MD5;
	case 40: return KIST_ALG_SHA1;
	case 56: return KIST_ALG_SHA224;
	case 64: return KIST_ALG_SHA256;
	case 96: return KIST_ALG_SHA384;
	case 128: return KIST_ALG_SHA512;
	default: return -1;
	}
}

int kist_algset_count(kist_algset set)
{
	return __builtin_popcount(set);
}

void kist_hex(const unsigned char *bin, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * len] = '\0';
}

static EVP_MD *fetched[KIST_ALG_COUNT];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	for (int i = 0; i < KIST_ALG_COUNT; i++)
		fetched[i] = EVP_MD_fetch(NULL, algs[i].evp, NULL);
}

struct kist_digest {
	enum kist_alg alg;
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
};

struct kist_digest *kist_digest_new(enum kist_alg alg)
{
	struct kist_digest *d;

	pthread_once(&fetch_once, fetch_all);
	if ((unsigned)alg >= KIST_ALG_COUNT || !fetched[alg])
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->alg = alg;
	d->md = fetched[alg];
	d->ctx = EVP_MD_CTX_new();
	if (!d->ctx) {
		free(d);
		return NULL;
	}
	return d;
}

void kist_digest_free(struct kist_digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

int kist_digest_begin(struct kist_digest *d)
{
	return EVP_DigestInit_ex2(d->ctx, d->md, NULL) == 1 ? 0 : -1;
}

int kist_digest_update(struct kist_digest *d, const void *buf, size_t len)
{
	return EVP_DigestUpdate(d->ctx, buf, len) == 1 ? 0 : -1;
}

int kist_digest_end(struct kist_digest *d, unsigned char *out)
{
	unsigned int n = 0;

	return EVP_DigestFinal_ex(d->ctx, out, &n) == 1 && n == algs[d->alg].size ? 0 : -1;
}

enum kist_alg kist_digest_alg(const struct kist_digest *d)
{
	return d->alg;
}
