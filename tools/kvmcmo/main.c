// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - `kvmcmo COMMAND ...`: dispatch to the subcommands.
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage, 3 unsupported host.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "workload.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} cmds[] = {
	{ "stat", cmd_stat, "count guest aborts per VM by kind, fault, memslot, outcome" },
	{ "check", cmd_check, "show which probe each fact comes from on this kernel" },
	{ "selftest", cmd_selftest, "run throwaway VMs that provoke every abort class, and compare" },
	{ "record", cmd_record, "record abort counts, histograms and rates into a file" },
	{ "diff", cmd_diff, "compare recordings: what changed, and is it significant" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: kvmcmo COMMAND [OPTION...]\n"
		   "What guest cache-maintenance and other stage-2 aborts cost on arm64 KVM.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n'kvmcmo COMMAND --help' for each command's options.\n"
		   "Exit status: 0 ok, 1 runtime failure, 2 bad usage, 3 unsupported host.\n");
}

int main(int argc, char **argv)
{
	kvmcmo_log_init("kvmcmo");
	if (argc < 2) {
		kvmcmo_err("missing command: stat, check, selftest, record or diff (try 'kvmcmo --help')");
		return KVMCMO_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("kvmcmo %s\n", KVMCMO_VERSION);
		return 0;
	}
	/* the workload's re-exec of itself: one case, one VMM process */
	if (!strcmp(argv[1], "__run-case"))
		return wl_child_main(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	kvmcmo_err("unknown command '%s' (try 'kvmcmo --help')", argv[1]);
	return KVMCMO_EXIT_USAGE;
}
