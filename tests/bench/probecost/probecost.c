// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probecost - load and attach the named programs of probecost.bpf.c, print
 * "attached", run until SIGINT/SIGTERM, print each program's run count.
 *
 *   probecost PROG [PROG...]      (names as in probecost.bpf.c)
 *
 * Exit: 0 ok, 1 load or attach failed, 2 usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "probecost.skel.h"

static volatile sig_atomic_t stop;

static void on_sig(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct probecost_bpf *skel;
	struct bpf_program *p;
	int i, want, err, fd, ncpu = libbpf_num_possible_cpus();

	if (argc < 2) {
		fprintf(stderr, "usage: probecost PROG [PROG...]\n");
		return 2;
	}
	skel = probecost_bpf__open();
	if (!skel)
		return 1;
	bpf_object__for_each_program(p, skel->obj) {
		want = 0;
		for (i = 1; i < argc; i++)
			want |= !strcmp(argv[i], bpf_program__name(p));
		bpf_program__set_autoload(p, want);
	}
	err = probecost_bpf__load(skel);
	if (err) {
		fprintf(stderr, "probecost: load: %s\n", strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(p, skel->obj) {
		if (!bpf_program__autoload(p))
			continue;
		if (!bpf_program__attach(p)) {
			fprintf(stderr, "probecost: attach %s: %s\n", bpf_program__name(p), strerror(errno));
			return 1;
		}
	}
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	fd = bpf_map__fd(skel->maps.runs);
	for (__u32 k = 0; k < 14; k++) {
		__u64 v[ncpu], sum = 0;

		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (i = 0; i < ncpu; i++)
			sum += v[i];
		if (sum)
			printf("runs[%u] %llu\n", k, (unsigned long long)sum);
	}
	probecost_bpf__destroy(skel);
	return 0;
}
