/* Private to the kist fixity command's files. */
#ifndef KIST_FIXITY_CLI_H
#define KIST_FIXITY_CLI_H

#include <stdint.h>
#include <stdio.h>

struct kist_catalog;

/* Opens --catalog (or the default); prints the error, returns an exit code. */
int fixity_cli_open(struct kist_catalog **cat);
/* "2026-11-27T06:50:00Z", "never" for 0. */
void fixity_cli_time(int64_t ms, char *buf, size_t len);
int64_t fixity_cli_parse_date(const char *s);
int cmd_fixity_audit(int argc, char **argv);

#endif
