/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_top.h - hand-built snapshots for kvmcmotop's unit tests, row by row
 * as kvmcmo_snapshot_read() leaves them (several vCPUs per VM, histograms
 * by outcome, a destroyed VM, regions in and outside memslots).  Every
 * number the tests expect is worked out from the comments here.
 */
#ifndef KVMCMO_TEST_TOP_H
#define KVMCMO_TEST_TOP_H

#include <string.h>

#include "../../tools/kvmcmotop/top.h"

#define VM_A 0x1001ULL
#define VM_B 0x2002ULL
#define VM_C 0x3003ULL

#define K(k) KVMCMO_KIND_##k
#define F(f) KVMCMO_FAULT_##f
#define M(m) KVMCMO_MEMSLOT_##m
#define O(o) KVMCMO_OUTCOME_##o

struct snap_builder {
	struct kvmcmo_snapshot s;
	struct kvmcmo_vm vms[8];
	struct kvmcmo_abort_row aborts[64];
	struct kvmcmo_lat_row lat[16];
	struct kvmcmo_dabt_row dabts[8];
	struct kvmcmo_dfault_row dfaults[8];
	struct kvmcmo_region_row regions[16];
};

static inline void sb_init(struct snap_builder *b, __u64 taken_ns)
{
	memset(b, 0, sizeof(*b));
	b->s.taken_ns = taken_ns;
	b->s.vms = b->vms;
	b->s.aborts = b->aborts;
	b->s.lat = b->lat;
	b->s.dabts = b->dabts;
	b->s.dfaults = b->dfaults;
	b->s.regions = b->regions;
}

static inline void vm(struct snap_builder *b, __u64 id, __u32 pid, const char *name, bool alive)
{
	struct kvmcmo_vm *v = &b->vms[b->s.nvms++];

	v->id = id;
	v->pid = pid;
	v->fd = 10;
	v->alive = alive;
	snprintf(v->name, sizeof(v->name), "%s", name);
}

static inline void ab(struct snap_builder *b, __u64 id, __u32 vcpu, int k, int f, int m, int o, __u64 n)
{
	b->aborts[b->s.naborts++] = (struct kvmcmo_abort_row){
		.key = { .vm = id, .vcpu = vcpu, .kind = k, .fault = f, .memslot = m, .outcome = o },
		.count = n };
}

/* n samples of 2^slot ns */
static inline void lat(struct snap_builder *b, __u64 id, int o, int slot, __u64 n)
{
	struct kvmcmo_lat_row *r = &b->lat[b->s.nlat++];

	r->key.vm = id;
	r->key.outcome = o;
	r->hist.slots[slot] = n;
	r->hist.count = n;
	r->hist.sum_ns = n << slot;
}

/*
 * Snapshot 1 at t = 10 s:
 *   A "web" (pid 100): vcpu0 cmo/translation/rw/map_rw 4, vcpu1 cmo/permission/ro/mmio_user 2,
 *                      vcpu1 read/translation/none/nisv 3, vcpu2 cmo/translation/none/skip 1
 *                      (+ a vcpu3 row with count 0: not a vCPU seen)
 *   B "db"  (pid 200): vcpu0 write/translation/rw/map_rw 10
 *   C "old" (pid 300, destroyed): cmo/translation/ro/error 1
 */
static inline void snap1(struct snap_builder *b)
{
	sb_init(b, 10000000000ULL);
	vm(b, VM_A, 100, "web", true);
	vm(b, VM_B, 200, "db", true);
	vm(b, VM_C, 300, "old", false);
	ab(b, VM_A, 0, K(CMO), F(TRANSLATION), M(RW), O(MAP_RW), 4);
	ab(b, VM_A, 1, K(CMO), F(PERMISSION), M(RO), O(MMIO_USER), 2);
	ab(b, VM_A, 1, K(READ), F(TRANSLATION), M(NONE), O(NISV), 3);
	ab(b, VM_A, 2, K(CMO), F(TRANSLATION), M(NONE), O(SKIP), 1);
	ab(b, VM_A, 3, K(READ), F(TRANSLATION), M(RW), O(MAP_RW), 0);
	ab(b, VM_B, 0, K(WRITE), F(TRANSLATION), M(RW), O(MAP_RW), 10);
	ab(b, VM_C, 0, K(CMO), F(TRANSLATION), M(RO), O(ERROR), 1);
	lat(b, VM_A, O(MAP_RW), 10, 4);         /* 4 x [1024, 2048) */
	lat(b, VM_A, O(NISV), 14, 6);           /* 6 x [16384, 32768) */
	lat(b, VM_B, O(MAP_RW), 12, 10);
	b->dabts[b->s.ndabts++] = (struct kvmcmo_dabt_row){
		.key = { .vm = VM_A, .source = KVMCMO_DABT_USERSPACE }, .count = 1 };
	b->dfaults[b->s.ndfaults++] = (struct kvmcmo_dfault_row){
		.key = { .vm = VM_A, .kind = K(CMO), .memslot = M(RO) },
		.hist = { .slots = { [8] = 2 }, .count = 2, .sum_ns = 600 } };
	b->regions[b->s.nregions++] = (struct kvmcmo_region_row){
		.key = { .vm = VM_A, .base = 0x43000000, .size = 1 << 20, .slot = 3,
			 .kind = K(CMO), .outcome = O(MMIO_USER), .memslot = M(RO) }, .count = 2 };
	b->regions[b->s.nregions++] = (struct kvmcmo_region_row){
		.key = { .vm = VM_A, .base = 0x50000000, .size = 1 << 16, .slot = -1,
			 .kind = K(READ), .outcome = O(NISV), .memslot = M(NONE) }, .count = 3 };
}

/*
 * Snapshot 2 at t = 12 s: A's vcpu0 row grew to 10 (+6), a new vcpu4 row
 * cmo/translation/rw/map_rw 2; A's map_rw latency +8 samples in slot 10;
 * B unchanged; a new VM D "new" (pid 400) with read/translation/rw/map_rw 5.
 */
#define VM_D 0x4004ULL
static inline void snap2(struct snap_builder *b)
{
	snap1(b);
	b->s.taken_ns = 12000000000ULL;
	b->aborts[0].count = 10;
	ab(b, VM_A, 4, K(CMO), F(TRANSLATION), M(RW), O(MAP_RW), 2);
	b->lat[0].hist.slots[10] = 12;
	b->lat[0].hist.count = 12;
	b->lat[0].hist.sum_ns = 12 << 10;
	vm(b, VM_D, 400, "new", true);
	ab(b, VM_D, 0, K(READ), F(TRANSLATION), M(RW), O(MAP_RW), 5);
}

#endif /* KVMCMO_TEST_TOP_H */
