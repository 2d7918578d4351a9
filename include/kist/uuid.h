/* Random (version 4) UUIDs, as PREMIS identifiers and volume sentinels use. */
#ifndef KIST_UUID_H
#define KIST_UUID_H

#ifdef __cplusplus
extern "C" {
#endif

/* Writes a lower-case version 4 UUID and its NUL into out; 0, or -1 when
 * the kernel gives no random bytes. */
int kist_uuid4(char out[37]);

#ifdef __cplusplus
}
#endif
#endif
