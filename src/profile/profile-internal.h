/* Helpers shared by the files of src/profile/. */
#ifndef KIST_PROFILE_INTERNAL_H
#define KIST_PROFILE_INTERNAL_H

/* '*' matches any run of characters ('/' included); nothing else is special. */
int kist_profile_glob(const char *pattern, const char *s);
/* Same manifest algorithm, by kist's names or, for names kist does not know,
 * by spelling (case-insensitive)? */
int kist_profile_alg_same(const char *a, const char *b);
/* Is mime one of the serializations kist recognises? */
int kist_profile_mime_known(const char *mime);

#endif
