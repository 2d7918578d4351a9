/* Digest algorithms kist knows, their names, and OpenSSL EVP contexts. */
#ifndef KIST_DIGEST_H
#define KIST_DIGEST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kist_alg {
	KIST_ALG_MD5 = 0,
	KIST_ALG_SHA1,
	KIST_ALG_SHA224,
	KIST_ALG_SHA256,
	KIST_ALG_SHA384,
	KIST_ALG_SHA512,
	KIST_ALG_SHA3_256,
	KIST_ALG_SHA3_512,
	KIST_ALG_BLAKE2B_512,
	KIST_ALG_COUNT
};

#define KIST_DIGEST_MAX 64                 /* bytes in the longest digest */
#define KIST_DIGEST_HEX_MAX (2 * KIST_DIGEST_MAX + 1)

/* A set of algorithms, one bit per enum kist_alg. */
typedef unsigned kist_algset;
#define KIST_ALG_BIT(a) (1u << (a))

/* Parses one name: canonical ("sha3-256"), BagIt ("sha3256"), or common
 * spellings ("SHA-256", "sha3_256", "blake2b"). Returns the alg or -1. */
int kist_alg_from_name(const char *name);
/* Parses "sha256,sha512"; returns 0, or -1 with the bad name in err (may be NULL). */
struct kist_error;
int kist_algset_parse(const char *list, kist_algset *out, struct kist_error *err);

const char *kist_alg_name(enum kist_alg alg);        /* "sha3-256" */
const char *kist_alg_bagit_name(enum kist_alg alg);  /* "sha3256": manifest-<this>.txt */
const char *kist_alg_tag_name(enum kist_alg alg);    /* "SHA3-256": coreutils --tag */
size_t kist_alg_size(enum kist_alg alg);             /* digest length in bytes */
/* Relative cost per byte (sha256 = 100), for spreading work over threads. */
unsigned kist_alg_cost(enum kist_alg alg);
/* Guess from a hex digest's length: 32 md5, 40 sha1, 56 sha224, 64 sha256,
 * 96 sha384, 128 sha512. Returns -1 for other lengths. */
int kist_alg_from_hex_length(size_t len);
int kist_algset_count(kist_algset set);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void kist_hex(const unsigned char *bin, size_t len, char *out);

/* One running digest. Contexts are reusable: begin() restarts. */
struct kist_digest;
struct kist_digest *kist_digest_new(enum kist_alg alg);
void kist_digest_free(struct kist_digest *d);
int kist_digest_begin(struct kist_digest *d);
int kist_digest_update(struct kist_digest *d, const void *buf, size_t len);
/* Writes kist_alg_size() bytes. */
int kist_digest_end(struct kist_digest *d, unsigned char *out);
enum kist_alg kist_digest_alg(const struct kist_digest *d);

#ifdef __cplusplus
}
#endif
#endif
