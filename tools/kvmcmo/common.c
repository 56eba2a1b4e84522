// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* common.c - what the kvmcmo subcommands share: signals, argument values */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

void install_exit_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: a sleep or read must return so the loop can end */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

long parse_positive(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return -1;
	return v;
}

