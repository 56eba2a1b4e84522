/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cmd.h - the kvmcmo subcommands and what they share */
#ifndef __KVMCMO_CMD_H
#define __KVMCMO_CMD_H

#include <signal.h>
#include "libkvmcmo.h"

int cmd_stat(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_diff(int argc, char **argv);

/* set by SIGINT/SIGTERM; loops poll it */
extern volatile sig_atomic_t exiting;
void install_exit_handlers(void);

/* strictly a positive number that fits; -1 otherwise */
long parse_positive(const char *s, long max);

#endif
