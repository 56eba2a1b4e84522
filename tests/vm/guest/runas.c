// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * runas.c - run a command as an unprivileged user inside the test guest:
 * "runas UID COMMAND [ARG...]".  Busybox's setpriv cannot change uids, and
 * the initramfs has no passwd database for su; this is what the core test
 * uses to show kvmcmo's "not privileged" message on a real kernel.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t id;

	if (argc < 3) {
		fprintf(stderr, "usage: runas UID COMMAND [ARG...]\n");
		return 2;
	}
	id = (uid_t)strtoul(argv[1], NULL, 10);
	/* groups first: after setuid() we could no longer drop them */
	if (setgroups(0, NULL) || setgid(id) || setuid(id)) {
		perror("runas");
		return 1;
	}
	execvp(argv[2], argv + 2);
	perror("runas: exec");
	return 127;
}
