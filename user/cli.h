/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cli.h - argp with one-line usage errors (exit 2) for every front end */
#ifndef __KVMCMO_CLI_H
#define __KVMCMO_CLI_H

#include <argp.h>

#define KVMCMO_ARGP_HELP (-1)   /* help was printed: exit 0 */

/* 0, KVMCMO_ARGP_HELP, or KVMCMO_EXIT_USAGE (one line already printed).
 * Parsers report bad values with kvmcmo_usage_err() and return EINVAL. */
int kvmcmo_argp_parse(const struct argp *argp, int argc, char **argv, void *input);
void kvmcmo_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
