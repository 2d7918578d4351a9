/* Shared pieces of the kist command: global flags, output formats, findings,
 * exit codes. */
#ifndef KIST_CLI_H
#define KIST_CLI_H

#include <getopt.h>
#include <stdio.h>

#include <kist/kist.h>

enum cli_exit {
	EXIT_OK_ = 0,
	EXIT_PROBLEM = 1,   /* invalid bag, mismatch, missing file */
	EXIT_USAGE = 2,
	EXIT_CANNOT = 3     /* I/O error, missing dependency, locked catalog */
};

enum cli_format { FORMAT_DEFAULT, FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV, FORMAT_GNU, FORMAT_BAGIT };

struct cli_globals {
	unsigned jobs;          /* 0: online CPUs */
	int quiet, verbose;
	enum cli_format format;
	int no_progress;
	const char *catalog;
};

extern struct cli_globals cli;
extern const char *cli_command;   /* "checksum", for messages */

/* Long options every subcommand accepts; merged into each command's table. */
#define CLI_GLOBAL_LONG_OPTIONS                                          \
	{ "jobs", required_argument, NULL, 'j' },                        \
	{ "quiet", no_argument, NULL, 'q' },                             \
	{ "verbose", no_argument, NULL, 'v' },                           \
	{ "format", required_argument, NULL, CLI_OPT_FORMAT },           \
	{ "no-progress", no_argument, NULL, CLI_OPT_NO_PROGRESS },       \
	{ "catalog", required_argument, NULL, CLI_OPT_CATALOG },         \
	{ "help", no_argument, NULL, 'h' }
#define CLI_GLOBAL_SHORT "j:qvh"

enum { CLI_OPT_FORMAT = 1000, CLI_OPT_NO_PROGRESS, CLI_OPT_CATALOG, CLI_OPT_VERSION,
       CLI_OPT_FIRST_COMMAND = 1100 };

/* Handles a global option; returns 1 if c was one, 0 if not, -1 on a bad value. */
int cli_global_option(int c, const char *arg);
/* For the default: case of a command's getopt loop: handles a global
 * option (returns -1: go on) or reports an unknown one (returns EXIT_USAGE). */
int cli_other_option(int opt, const char *arg, const char *command);
/* Walks the PATH arguments (symlink arguments followed, like find -H) into
 * list, adding findings for missing or unreadable ones, and returns the
 * pipeline items for the files found (NULL when out of memory). */
struct kist_hash_item *cli_collect_paths(char **paths, int npaths, int follow_symlinks,
					 struct kist_file_list *list, struct kist_findings *findings);
/* Checks that --format is one of the allowed list (a mask of 1 << FORMAT_*). */
int cli_check_format(unsigned allowed);

void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A format identification scan window: bytes, 512 to 64 MiB. */
int cli_parse_window(const char *s, size_t *v);
void cli_message(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Findings: print as they come (text, stderr) and map to an exit code. */
void cli_findings_attach(struct kist_findings *fs, int stream_text);
int cli_exit_code(const struct kist_findings *fs);
/* Writes the findings as a JSON array. */
void cli_findings_json(FILE *out, const struct kist_findings *fs);

/* Output helpers. */
void cli_json_string(FILE *out, const char *s);
void cli_csv_field(FILE *out, const char *s);
/* Writes s with non-printable bytes escaped (\n, \xNN), for messages. */
void cli_print_escaped(FILE *out, const char *s);

/* Progress on stderr when it is a terminal and not disabled. */
struct kist_progress *cli_progress_start(uint64_t files, uint64_t bytes, int results_on_stdout);
void cli_progress_stop(struct kist_progress *p);

/* Flushes stdout; on a write error reports it and returns EXIT_CANNOT. */
int cli_finish_output(int code);

/* Commands. */
struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *out);
};

int cmd_checksum(int argc, char **argv);
void usage_checksum(FILE *out);
int cmd_bag(int argc, char **argv);
void usage_bag(FILE *out);
void cli_bag_subcommands(FILE *out);   /* "bag create" ... one a line */
int cmd_bag_create(int argc, char **argv);
void usage_bag_create(FILE *out);
int cmd_bag_validate(int argc, char **argv);
void usage_bag_validate(FILE *out);
int cmd_bag_update(int argc, char **argv);
void usage_bag_update(FILE *out);
int cmd_bag_info(int argc, char **argv);
void usage_bag_info(FILE *out);
int cmd_bag_pack(int argc, char **argv);
void usage_bag_pack(FILE *out);
int cmd_bag_unpack(int argc, char **argv);
void usage_bag_unpack(FILE *out);
int cmd_bag_fetch(int argc, char **argv);
void usage_bag_fetch(FILE *out);
int cmd_identify(int argc, char **argv);
void usage_identify(FILE *out);
int cmd_premis(int argc, char **argv);
void usage_premis(FILE *out);

#endif
