// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kvmcmod-render.c - kvmcmod's model and /metrics render, natively, with a
 * synthetic host of N VMs: what the daemon's own code costs on this CPU,
 * without the kernel maps (no arm64 KVM here) and without HTTP.
 *
 *   kvmcmod-render [VMS (200)] [VCPUS (4)] [RENDERS (2000)] [--per-vm-latency]
 *
 * Each VM gets the rows a busy real VM would have: every (kind, fault,
 * memslot, outcome) a mainline host produces for RAM, dirty-log, ROM and
 * MMIO accesses and CMOs, per vCPU; a latency histogram per outcome; both
 * dabt sources; CMO double faults; 24 regions (16 named, the rest summed
 * as "other").  The snapshots go through kd_model_update() as the poll
 * loop's would (ten polls, counts growing), then kd_prom_render() runs
 * RENDERS times.  Prints the page size, render p50/p99/max (wall time, and
 * this thread's CPU time: on a busy machine the wall time's tail is the
 * scheduler's), model update
 * (poll CPU without the map reads) p50/p99, and this process's RSS and
 * peak RSS (the model, the snapshots and the page: the daemon's heap).
 *
 * Build and run: tests/bench/kvmcmod-render.sh
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvmcmod.h"

#define NPOLLS 10
#define NREGIONS 24

struct combo { int kind, fault, memslot, outcome; };

/* what a mainline arm64 host shows for a busy guest */
static const struct combo combos[] = {
	{ KVMCMO_KIND_READ, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_MAP_RW },
	{ KVMCMO_KIND_WRITE, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_MAP_RW },
	{ KVMCMO_KIND_EXEC, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_MAP_RW },
	{ KVMCMO_KIND_READ, KVMCMO_FAULT_ACCESS_FLAG, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_ACCESS_FLAG },
	{ KVMCMO_KIND_READ, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW_DIRTY_LOG, KVMCMO_OUTCOME_MAP_RO },
	{ KVMCMO_KIND_WRITE, KVMCMO_FAULT_PERMISSION, KVMCMO_MEMSLOT_RW_DIRTY_LOG, KVMCMO_OUTCOME_RELAX },
	{ KVMCMO_KIND_READ, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RO, KVMCMO_OUTCOME_MAP_RO },
	{ KVMCMO_KIND_WRITE, KVMCMO_FAULT_PERMISSION, KVMCMO_MEMSLOT_RO, KVMCMO_OUTCOME_MMIO_USER },
	{ KVMCMO_KIND_READ, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_NONE, KVMCMO_OUTCOME_MMIO_USER },
	{ KVMCMO_KIND_WRITE, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_NONE, KVMCMO_OUTCOME_MMIO_KERNEL },
	{ KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_MAP_RW },
	{ KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RO, KVMCMO_OUTCOME_NISV },
	{ KVMCMO_KIND_CMO, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_NONE, KVMCMO_OUTCOME_SKIP },
	{ KVMCMO_KIND_S1PTW, KVMCMO_FAULT_TRANSLATION, KVMCMO_MEMSLOT_RW, KVMCMO_OUTCOME_MAP_RW },
};
#define NCOMBOS (sizeof(combos) / sizeof(combos[0]))

static __u64 mono_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static size_t g_ksz;

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, g_ksz);
}

#define SORT(arr, n, keytype) \
	(g_ksz = sizeof(keytype), qsort((arr), (n), sizeof(*(arr)), cmp_key))

/* poll p of nvms VMs with nvcpu vCPUs: counts grow with p */
static void build(struct kvmcmo_snapshot *s, int p, int nvms, int nvcpu)
{
	__u64 g = (__u64)p + 1;
	size_t a = 0, l = 0, d = 0, f = 0, r = 0;

	memset(s, 0, sizeof(*s));
	s->taken_ns = (__u64)(p + 1) * 1000000000ULL;
	s->vms = calloc(nvms, sizeof(*s->vms));
	s->aborts = calloc((size_t)nvms * nvcpu * NCOMBOS, sizeof(*s->aborts));
	s->lat = calloc((size_t)nvms * KVMCMO_OUTCOME__COUNT, sizeof(*s->lat));
	s->dabts = calloc((size_t)nvms * KVMCMO_DABT__COUNT, sizeof(*s->dabts));
	s->dfaults = calloc((size_t)nvms, sizeof(*s->dfaults));
	s->regions = calloc((size_t)nvms * NREGIONS, sizeof(*s->regions));
	if (!s->vms || !s->aborts || !s->lat || !s->dabts || !s->dfaults || !s->regions) {
		fprintf(stderr, "kvmcmod-render: out of memory\n");
		exit(1);
	}
	for (int v = 0; v < nvms; v++) {
		__u64 id = 0xffff000010000000ULL + (__u64)v * 0x10000;
		struct kvmcmo_vm *vm = &s->vms[s->nvms++];

		vm->id = id;
		vm->pid = 1000 + v;
		vm->fd = 11;
		vm->alive = true;
		vm->first_ns = 1;
		snprintf(vm->name, sizeof(vm->name), "guest-%03d.example", v);
		for (int c = 0; c < nvcpu; c++)
			for (size_t k = 0; k < NCOMBOS; k++)
				s->aborts[a++] = (struct kvmcmo_abort_row){
					{ id, (__u32)c, (__u8)combos[k].kind, (__u8)combos[k].fault,
					  (__u8)combos[k].memslot, (__u8)combos[k].outcome },
					g * (k + 1) * 100 };
		for (int o = 0; o < KVMCMO_OUTCOME__COUNT; o++) {
			struct kvmcmo_lat_row *lr = &s->lat[l++];

			lr->key.vm = id;
			lr->key.outcome = (__u32)o;
			for (int i = 8; i < 24; i++)
				lr->hist.slots[i] = g * (__u64)(i + o);
			for (int i = 8; i < 24; i++)
				lr->hist.count += lr->hist.slots[i];
			lr->hist.sum_ns = lr->hist.count * 20000;
		}
		for (int src = 0; src < KVMCMO_DABT__COUNT; src++)
			s->dabts[d++] = (struct kvmcmo_dabt_row){ { id, (__u32)src, 0 }, g };
		s->dfaults[f].key.vm = id;
		s->dfaults[f].key.kind = KVMCMO_KIND_CMO;
		s->dfaults[f].key.memslot = KVMCMO_MEMSLOT_RO;
		s->dfaults[f].hist.slots[14] = g;
		s->dfaults[f].hist.count = g;
		s->dfaults[f].hist.sum_ns = g * 20000;
		f++;
		for (int i = 0; i < NREGIONS; i++) {
			struct kvmcmo_region_row *rr = &s->regions[r++];

			rr->key.vm = id;
			rr->key.base = 0x40000000ULL + (__u64)i * 0x1000000;
			rr->key.size = 0x1000000;
			rr->key.slot = i;
			rr->key.kind = KVMCMO_KIND_READ;
			rr->key.outcome = KVMCMO_OUTCOME_MAP_RW;
			rr->key.memslot = KVMCMO_MEMSLOT_RW;
			rr->count = g * (__u64)(NREGIONS - i);
		}
	}
	s->naborts = a;
	s->nlat = l;
	s->ndabts = d;
	s->ndfaults = f;
	s->nregions = r;
	SORT(s->aborts, s->naborts, struct kvmcmo_abort_key);
	SORT(s->lat, s->nlat, struct kvmcmo_lat_key);
	SORT(s->dabts, s->ndabts, struct kvmcmo_dabt_key);
	SORT(s->dfaults, s->ndfaults, struct kvmcmo_dfault_key);
	SORT(s->regions, s->nregions, struct kvmcmo_region_key);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static double pct(const __u64 *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)n);

	return (double)v[i < n ? i : n - 1] / 1e6;
}

static void rss(unsigned long *cur, unsigned long *peak)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*cur = *peak = 0;
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %lu", cur);
		sscanf(line, "VmHWM: %lu", peak);
	}
	if (f)
		fclose(f);
}

/*
 * --serve PORT SECONDS: the daemon's HTTP server (http.c, libmicrohttpd, its
 * two threads, the page cached per model generation) on 127.0.0.1:PORT for
 * SECONDS, with this thread as the poll loop: one model update a second, as
 * `kvmcmod --interval 1s` does, so every second's first scrape renders.
 * tests/bench/kvmcmod-render.sh points wrk at it.  Prints the polls made and
 * the RSS at the end.
 */
/* one poll's model update, as main.c's poll loop does it, dated now */
static void serve_poll(struct kd_daemon *d, int p, int nvms, int nvcpu)
{
	struct kvmcmo_snapshot s;

	build(&s, p, nvms, nvcpu);
	s.taken_ns = mono_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&d->lock);
	if (kd_model_update(&d->model, &s))
		fprintf(stderr, "kvmcmod-render: model update failed\n");
	pthread_mutex_unlock(&d->lock);
	kvmcmo_snapshot_free(&s);
}

static int serve(struct kd_daemon *d, unsigned int port, int seconds, int nvms, int nvcpu)
{
	char err[256];
	unsigned long r, p;
	__u64 end = mono_ns(CLOCK_MONOTONIC) + (__u64)seconds * 1000000000ULL;
	int polls = 0;

	/* a poll dated now first: the render phase's are dated at boot, and
	 * /healthz answers 503 to a last good poll older than 5 s */
	serve_poll(d, NPOLLS + polls++, nvms, nvcpu);
	if (kd_http_start(d, "127.0.0.1", port, err, sizeof(err))) {
		fprintf(stderr, "kvmcmod-render: %s\n", err);
		return -1;
	}
	printf("serving on 127.0.0.1:%u\n", port);
	fflush(stdout);
	while (mono_ns(CLOCK_MONOTONIC) < end) {
		struct timespec one = { 1, 0 };

		nanosleep(&one, NULL);
		serve_poll(d, NPOLLS + polls++, nvms, nvcpu);
	}
	kd_http_stop(d);
	rss(&r, &p);
	printf("served: %d polls; RSS %lu kB, peak %lu kB\n", polls, r, p);
	return 0;
}

int main(int argc, char **argv)
{
	int nvms = 200, nvcpu = 4, nrender = 2000, pos = 0;
	struct kd_opts o = { .interval_ns = 1000000000ULL, .grace_ns = 0,
			     .max_vms = KVMCMO_MAX_VMS, .regions = KD_DEFAULT_REGIONS };
	__u64 upd[NPOLLS], *ren, *cpu;
	/* the daemon's state as main.c has it: http.c serves d.model */
	static struct kd_daemon d = { .lock = PTHREAD_MUTEX_INITIALIZER,
				      .healthy_within_ns = 5000000000ULL };
	struct kd_model *m = &d.model;
	int serve_s = 0;
	unsigned int port = 0;
	struct kd_buf page = {};
	unsigned long r0, p0, r1, p1;
	size_t lines = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--per-vm-latency")) {
			o.per_vm_latency = true;
			continue;
		}
		if (!strcmp(argv[i], "--serve") && i + 2 < argc) {
			port = (unsigned int)atoi(argv[++i]);
			serve_s = atoi(argv[++i]);
			continue;
		}
		int v = atoi(argv[i]);

		if (v <= 0) {
			fprintf(stderr, "usage: kvmcmod-render [VMS] [VCPUS] [RENDERS] [--per-vm-latency] "
				"[--serve PORT SECONDS]\n");
			return 2;
		}
		if (pos == 0)
			nvms = v;
		else if (pos == 1)
			nvcpu = v;
		else
			nrender = v;
		pos++;
	}
	ren = calloc((size_t)nrender, sizeof(*ren));
	cpu = calloc((size_t)nrender, sizeof(*cpu));
	if (!ren || !cpu)
		return 1;
	rss(&r0, &p0);
	kd_model_init(m, &o);
	for (int p = 0; p < NPOLLS; p++) {
		struct kvmcmo_snapshot s;
		__u64 t0;

		build(&s, p, nvms, nvcpu);
		t0 = mono_ns(CLOCK_THREAD_CPUTIME_ID);
		if (kd_model_update(m, &s)) {
			fprintf(stderr, "kvmcmod-render: model update failed\n");
			return 1;
		}
		upd[p] = mono_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		kvmcmo_snapshot_free(&s);
	}
	for (int i = 0; i < nrender; i++) {
		__u64 t0 = mono_ns(CLOCK_MONOTONIC), c0 = mono_ns(CLOCK_THREAD_CPUTIME_ID);

		if (kd_prom_render(m, 0, &page)) {
			fprintf(stderr, "kvmcmod-render: render failed\n");
			return 1;
		}
		ren[i] = mono_ns(CLOCK_MONOTONIC) - t0;
		cpu[i] = mono_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	}
	rss(&r1, &p1);
	for (size_t i = 0; i < page.len; i++)
		lines += page.data[i] == '\n';
	qsort(ren, (size_t)nrender, sizeof(*ren), cmp_u64);
	qsort(cpu, (size_t)nrender, sizeof(*cpu), cmp_u64);
	/* the first update takes the whole cumulative rows: count the rest */
	qsort(upd + 1, NPOLLS - 1, sizeof(*upd), cmp_u64);
	printf("VMs %d, vCPUs %d, per-VM latency %s: page %zu bytes, %zu lines\n",
	       nvms, nvcpu, o.per_vm_latency ? "on" : "off", page.len, lines);
	printf("render (%d), wall: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", nrender,
	       pct(ren, nrender, 0.5), pct(ren, nrender, 0.99), pct(ren, nrender, 1.0));
	printf("render (%d), CPU:  p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", nrender,
	       pct(cpu, nrender, 0.5), pct(cpu, nrender, 0.99), pct(cpu, nrender, 1.0));
	printf("model update (%d polls, CPU): p50 %.3f ms, max %.3f ms\n", NPOLLS - 1,
	       pct(upd + 1, NPOLLS - 1, 0.5), pct(upd + 1, NPOLLS - 1, 1.0));
	printf("RSS %lu kB (at start %lu kB), peak %lu kB\n", r1, r0, p1);
	fflush(stdout);
	if (serve_s && serve(&d, port, serve_s, nvms, nvcpu))
		return 1;
	kd_buf_free(&page);
	kd_model_free(m);
	free(ren);
	free(cpu);
	return 0;
}
