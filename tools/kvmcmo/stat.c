// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * stat.c - `kvmcmo stat`: per-VM tables of guest aborts and histograms.
 *
 * With an interval it prints what happened in each interval (the
 * difference of two cumulative snapshots, so nothing is lost between reads);
 * without one it runs until SIGINT/SIGTERM and prints the totals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cli.h"

static struct stat_env {
	pid_t pid;
	bool json;
	bool no_regions;
	int mode;
	long interval;
	long count;
	int npos;
} env;

static const char doc[] =
	"Count arm64 KVM guest aborts per VM by kind, fault, memslot and outcome.\n"
	"\n"
	"USAGE: kvmcmo stat [-p PID] [-j] [--attach MODE] [interval [count]]\n"
	"\n"
	"EXAMPLES:\n"
	"    kvmcmo stat              # until Ctrl-C, then totals per VM\n"
	"    kvmcmo stat 1 10         # what happened in each second, 10 times\n"
	"    kvmcmo stat -p 4242      # only the VMs of VMM process 4242\n"
	"    kvmcmo stat -j 5         # one JSON object every 5 seconds\n"
	"    kvmcmo stat --attach kprobe  # force kprobes even where fentry works";

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Only VMs of this VMM process", 0 },
	{ "json", 'j', NULL, 0, "Print JSON objects instead of tables", 0 },
	{ "attach", 'a', "MODE", 0, "auto (default), fentry or kprobe", 0 },
	{ "no-regions", 'R', NULL, 0, "Do not keep per-region rows (to measure their cost)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's messages", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	long v;

	switch (key) {
	case 'p':
		v = parse_positive(arg, 0x7fffffff);
		if (v < 0) {
			kvmcmo_usage_err("invalid PID '%s'", arg);
			return EINVAL;
		}
		env.pid = v;
		break;
	case 'j':
		env.json = true;
		break;
	case 'a':
		env.mode = kvmcmo_mode_parse(arg);
		if (env.mode < 0) {
			kvmcmo_usage_err("invalid attach mode '%s' (auto, fentry or kprobe)", arg);
			return EINVAL;
		}
		break;
	case 'R':
		env.no_regions = true;
		break;
	case 'v':
		kvmcmo_verbose = 1;
		break;
	case ARGP_KEY_ARG:
		v = parse_positive(arg, 86400 * 365);
		if (v < 0 || env.npos >= 2) {
			kvmcmo_usage_err(env.npos >= 2 ? "unexpected argument '%s'" :
					 "invalid %s", env.npos >= 2 ? arg :
					 env.npos ? "count" : "interval");
			return EINVAL;
		}
		if (env.npos++ == 0)
			env.interval = v;
		else
			env.count = v;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	(void)state;
	return 0;
}

/* text view of the region rows: at most this many per VM, by count */
#define STAT_REGION_ROWS 20

/*
 * Where the VM's aborts went: a memslot (slotN, its IPA range and type) or,
 * outside memslots, a 64 KiB IPA window (named by its base), by kind and
 * outcome; the busiest first.  Rows are the BPF side's region rows as they
 * are, memslot type included: a memslot QEMU deletes and adds again with
 * the same id, base and size (a flash bank leaving and re-entering ROM
 * mode) counts in the same rows.
 */
static void print_vm_regions(const struct kvmcmo_snapshot *s, const struct kvmcmo_vm *vm)
{
	struct kvmcmo_region_row *v;
	char (*name)[24], (*range)[40];
	size_t n = 0, shown;
	int wname = 6, wrange = 9;      /* "REGION", "IPA RANGE" */
	__u64 rest = 0;

	v = calloc(s->nregions ? s->nregions : 1, sizeof(*v));
	name = calloc(STAT_REGION_ROWS, sizeof(*name));
	range = calloc(STAT_REGION_ROWS, sizeof(*range));
	if (!v || !name || !range) {
		kvmcmo_warn("out of memory: region table left out");
		goto out;
	}
	for (size_t i = 0; i < s->nregions; i++)
		if (s->regions[i].key.vm == vm->id)
			v[n++] = s->regions[i];
	n = kvmcmo_regions_rank(v, n);
	/* columns as wide as their widest entry: IPAs past 4 GiB are common */
	shown = n < STAT_REGION_ROWS ? n : STAT_REGION_ROWS;
	for (size_t i = 0; i < shown; i++) {
		kvmcmo_region_name(&v[i].key, name[i], sizeof(name[i]));
		snprintf(range[i], sizeof(range[i]), "0x%08llx-0x%08llx",
			 (unsigned long long)v[i].key.base,
			 (unsigned long long)(v[i].key.base + v[i].key.size - 1));
		if ((int)strlen(name[i]) > wname)
			wname = strlen(name[i]);
		if ((int)strlen(range[i]) > wrange)
			wrange = strlen(range[i]);
	}
	if (n)
		printf("  %-*s %-*s %-13s %-6s %-12s %10s\n", wname, "REGION", wrange, "IPA RANGE",
		       "MEMSLOT", "KIND", "OUTCOME", "COUNT");
	for (size_t i = 0; i < shown; i++)
		printf("  %-*s %-*s %-13s %-6s %-12s %10llu\n", wname, name[i], wrange, range[i],
		       kvmcmo_memslot_label[v[i].key.memslot], kvmcmo_kind_label[v[i].key.kind],
		       kvmcmo_outcome_label[v[i].key.outcome], (unsigned long long)v[i].count);
	for (size_t i = shown; i < n; i++)
		rest += v[i].count;
	if (n > shown)
		printf("  (%zu more region rows: %llu aborts; all of them in --json)\n",
		       n - shown, (unsigned long long)rest);
out:
	free(v);
	free(name);
	free(range);
}

static void print_vm_text(const struct kvmcmo_snapshot *s, const struct kvmcmo_vm *vm)
{
	__u64 sums[KVMCMO_KIND__COUNT][KVMCMO_FAULT__COUNT][KVMCMO_MEMSLOT__COUNT]
		  [KVMCMO_OUTCOME__COUNT] = {};
	__u64 dabt[KVMCMO_DABT__COUNT] = {}, total = 0;
	bool any_df = false;

	for (size_t i = 0; i < s->naborts; i++) {
		const struct kvmcmo_abort_key *k = &s->aborts[i].key;

		if (k->vm != vm->id || k->kind >= KVMCMO_KIND__COUNT ||
		    k->fault >= KVMCMO_FAULT__COUNT || k->memslot >= KVMCMO_MEMSLOT__COUNT ||
		    k->outcome >= KVMCMO_OUTCOME__COUNT)
			continue;
		sums[k->kind][k->fault][k->memslot][k->outcome] += s->aborts[i].count;
		total += s->aborts[i].count;
	}
	for (size_t i = 0; i < s->ndabts; i++)
		if (s->dabts[i].key.vm == vm->id && s->dabts[i].key.source < KVMCMO_DABT__COUNT)
			dabt[s->dabts[i].key.source] += s->dabts[i].count;

	printf("\nVM %s (pid %u, fd %d%s): %llu aborts\n", vm->name, vm->pid, vm->fd,
	       vm->alive ? "" : ", destroyed", (unsigned long long)total);
	if (total)
		printf("  %-6s %-12s %-13s %-12s %10s\n", "KIND", "FAULT", "MEMSLOT", "OUTCOME", "COUNT");
	for (int a = 0; a < KVMCMO_KIND__COUNT; a++)
		for (int b = 0; b < KVMCMO_FAULT__COUNT; b++)
			for (int c = 0; c < KVMCMO_MEMSLOT__COUNT; c++)
				for (int d = 0; d < KVMCMO_OUTCOME__COUNT; d++)
					if (sums[a][b][c][d])
						printf("  %-6s %-12s %-13s %-12s %10llu\n",
						       kvmcmo_kind_label[a], kvmcmo_fault_label[b],
						       kvmcmo_memslot_label[c], kvmcmo_outcome_label[d],
						       (unsigned long long)sums[a][b][c][d]);
	print_vm_regions(s, vm);
	printf("  data aborts injected: %llu in aborts, %llu by userspace\n",
	       (unsigned long long)dabt[KVMCMO_DABT_ABORT],
	       (unsigned long long)dabt[KVMCMO_DABT_USERSPACE]);
	for (size_t i = 0; i < s->ndfaults; i++) {
		const struct kvmcmo_dfault_row *r = &s->dfaults[i];

		if (r->key.vm != vm->id || r->key.kind >= KVMCMO_KIND__COUNT ||
		    r->key.memslot >= KVMCMO_MEMSLOT__COUNT)
			continue;
		any_df = true;
		printf("  double faults (%s on %s memory): %llu; gap between the two faults:\n",
		       kvmcmo_kind_label[r->key.kind], kvmcmo_memslot_label[r->key.memslot],
		       (unsigned long long)r->hist.count);
		kvmcmo_hist_print(stdout, &r->hist, "nsecs");
	}
	if (!any_df)
		printf("  double faults: none\n");
	for (size_t i = 0; i < s->nlat; i++) {
		const struct kvmcmo_lat_row *r = &s->lat[i];

		if (r->key.vm != vm->id || r->key.outcome >= KVMCMO_OUTCOME__COUNT || !r->hist.count)
			continue;
		printf("\n  abort time (fault to re-entry), outcome %s (%llu aborts, avg %llu ns):\n",
		       kvmcmo_outcome_label[r->key.outcome], (unsigned long long)r->hist.count,
		       (unsigned long long)(r->hist.sum_ns / r->hist.count));
		kvmcmo_hist_print(stdout, &r->hist, "nsecs");
	}
}

/*
 * Per-program run counts and time, when kernel.bpf_stats_enabled is on
 * (they stay 0 otherwise): what kvmcmo itself costs.
 */
static json_t *programs_json(const struct kvmcmo *k)
{
	struct kvmcmo_prog_stat ps[32];
	int n = kvmcmo_prog_stats(k, ps, 32);
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:I}", "name", ps[i].name,
						   "run_cnt", (json_int_t)ps[i].run_cnt,
						   "run_time_ns", (json_int_t)ps[i].run_time_ns,
						   "recursion_misses",
						   (json_int_t)ps[i].recursion_misses));
	return a;
}

static int print_snapshot(const struct kvmcmo *k, const struct kvmcmo_snapshot *s)
{
	if (env.json) {
		json_t *j = kvmcmo_snapshot_json(s, KVMCMO_JSON_HIST | KVMCMO_JSON_VCPUS |
						 KVMCMO_JSON_REGIONS);
		char *txt;

		if (j)
			json_object_set_new(j, "programs", programs_json(k));
		txt = j ? json_dumps(j, JSON_COMPACT) : NULL;

		json_decref(j);
		if (!txt) {
			kvmcmo_err("failed to render JSON");
			return KVMCMO_EXIT_FAIL;
		}
		printf("%s\n", txt);
		free(txt);
	} else {
		char buf[32];
		time_t t = time(NULL);

		strftime(buf, sizeof(buf), "%H:%M:%S", localtime(&t));
		printf("%s%s: %zu VM%s\n", env.interval ? "\n" : "", buf, s->nvms,
		       s->nvms == 1 ? "" : "s");
		for (size_t i = 0; i < s->nvms; i++)
			print_vm_text(s, &s->vms[i]);
		for (int i = 0; i < KVMCMO_STAT__COUNT; i++)
			if (s->stats[i])
				printf("warning: %s: %llu\n", kvmcmo_stat_label[i],
				       (unsigned long long)s->stats[i]);
	}
	fflush(stdout);
	return 0;
}

/* sleep that a signal ends early */
static void wait_for(long secs)
{
	struct timespec ts = { .tv_sec = secs };

	while (!exiting && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int cmd_stat(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct kvmcmo_snapshot prev = {}, cur = {}, delta = {};
	struct kvmcmo_opts o = {};
	struct kvmcmo *k = NULL;
	int err;

	kvmcmo_log_init("kvmcmo stat");
	err = kvmcmo_argp_parse(&argp, argc, argv, NULL);
	if (err)
		return err == KVMCMO_ARGP_HELP ? 0 : err;
	o.pid = env.pid;
	o.mode = env.mode;
	o.no_regions = env.no_regions;
	install_exit_handlers();
	err = kvmcmo_open(&k, &o);
	if (err)
		return err;
	fprintf(stderr, "Tracing guest aborts... Hit Ctrl-C to end.\n");

	for (long n = 0; !exiting && (!env.count || n < env.count); n++) {
		if (!env.interval) {
			while (!exiting)
				wait_for(1);
			break;
		}
		wait_for(env.interval);
		if (exiting)
			break;
		err = kvmcmo_snapshot_read(k, &cur);
		if (!err)
			err = kvmcmo_snapshot_delta(&cur, &prev, &delta);
		if (err) {
			kvmcmo_err("failed to read the counters: %s", strerror(-err));
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		err = print_snapshot(k, &delta);
		kvmcmo_snapshot_free(&delta);
		kvmcmo_snapshot_free(&prev);
		prev = cur;
		memset(&cur, 0, sizeof(cur));
		if (err)
			goto cleanup;
	}
	/* without an interval: the totals, once, at the end */
	if (!env.interval) {
		err = kvmcmo_snapshot_read(k, &cur);
		if (err) {
			kvmcmo_err("failed to read the counters: %s", strerror(-err));
			err = KVMCMO_EXIT_FAIL;
			goto cleanup;
		}
		err = print_snapshot(k, &cur);
	}
cleanup:
	kvmcmo_snapshot_free(&cur);
	kvmcmo_snapshot_free(&prev);
	kvmcmo_close(k);
	return err;
}
