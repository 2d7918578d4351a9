/* kist profile, and --profile / --fetch-profile for the bag commands. */
#ifndef KIST_CLI_PROFILE_H
#define KIST_CLI_PROFILE_H

#include <stdio.h>

struct kist_profile;
struct kist_findings;

int cmd_profile(int argc, char **argv);
void usage_profile(FILE *out);

/* Loads a profile, its findings on stderr. Returns 0, EXIT_USAGE (a URL
 * without --fetch-profile) or EXIT_CANNOT (unreadable, unreachable or
 * malformed: no verdict on a bag is possible). */
int cli_profile_load(const char *location, int fetch, struct kist_profile **out);

/* The profiles one bag validate run checks bags against: the one given
 * (--profile), or with --fetch-profile alone those each bag names in its
 * BagIt-Profile-Identifier (fetched once per run). */
struct cli_profiles;
struct cli_profiles *cli_profiles_new(const char *location, int fetch, int *code);
void cli_profiles_free(struct cli_profiles *ps);
const struct kist_profile *cli_profiles_given(const struct cli_profiles *ps);
/* Before BagIt validation: reads the bag's view and checks the rules the
 * specification calls fatal. Returns 1 when one failed (then the bag is
 * rejected without further validation). */
int cli_profiles_begin(struct cli_profiles *ps, const char *bag, struct kist_findings *fs);
/* After BagIt validation: every other rule. */
void cli_profiles_finish(struct cli_profiles *ps, struct kist_findings *fs);

/* bag create --profile, before: the profile's algorithms into o->algs and
 * *tag_algs, BagIt-Profile-Identifier added to info, no PREMIS when the
 * profile's tag files leave it out; *pack (--pack OUT) checked against the
 * profile's serialization rules, or, when the profile requires one and
 * none was named, set to BAG.zip (.tar.gz, .tar: the first accepted;
 * *pack_alloc holds it, for the caller to free). Refuses (findings, exit 1)
 * when the bag-info rules are not met, an algorithm or a serialization is
 * not allowed. */
struct kist_bag_create_options;
struct kist_bag_info;
int cli_profile_prepare_create(const struct kist_profile *p, struct kist_bag_create_options *o,
			       struct kist_bag_info *info, unsigned *tag_algs, const char *source,
			       const char *dest, const char **pack, char **pack_alloc,
			       struct kist_findings *fs);
/* After: tag manifests of the profile's algorithms, then every rule checked
 * on the bag made. Findings go to fs (bag create's). Returns an exit code. */
int cli_profile_after_create(struct kist_profile *p, const char *bag, unsigned algs, unsigned tag_algs,
			     const char *pack, struct kist_findings *fs);

#endif
