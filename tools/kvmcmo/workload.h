/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * workload.h - throwaway VMs that provoke every kind of stage-2 abort, with
 * the exact ground truth of what they provoked.
 *
 * Each case runs in its own process (a re-exec of /proc/self/exe as
 * "kvmcmo __run-case CASE --name CASE ..."), so each VM has its own pid and
 * a kvmtool-style name on its command line.  The CLI must hand argv to
 * wl_child_main() when argv[1] is "__run-case".
 *
 * Every VM has the same memory map (IPAs):
 *   0x08000000  gic        no memslot; the in-kernel vGICv3 distributor
 *                          (and redistributor at 0x080a0000) when the
 *                          case has one
 *   0x40000000  code       plain slot, 64 KiB: program at +0, VBAR_EL1 at
 *                          +0x800 (synchronous handler at +0xa00); with
 *                          the guest MMU on, stage-1 tables at +0x1000
 *                          (root) and +0x2000 (level 2)
 *   0x41000000  rw         plain slot
 *   0x42000000  rw_dirty   KVM_MEM_LOG_DIRTY_PAGES
 *   0x43000000  ro         KVM_MEM_READONLY (written by the VMM first)
 *   0x50000000  none       no memslot
 * except the bench VM, whose rw slot may be larger than 16 MiB and which
 * therefore has only the code and rw slots.  The MMU-on (s1ptw_*) VMs map
 * 0x40000000..0x7fffffff 1:1 and VA 0x80000000 onto rw page 0 through a
 * level-3 table in the case's region.
 */
#ifndef KVMCMO_WORKLOAD_H
#define KVMCMO_WORKLOAD_H

#include <jansson.h>

enum wl_cmo_model {
	WL_CMO_AUTO,            /* EMULATED if MIDR_EL1.Implementer == 0x00 */
	WL_CMO_EMULATED,        /* QEMU TCG: DC IVAC/CIVAC/CVAC never fault,
				 * DC CVAP faults as a plain read (CM=0) */
	WL_CMO_MAINLINE,        /* hardware + mainline KVM: CMOs abort, CM=1 */
};

#define WL_BENCH_PAGES_DEFAULT 10000UL

struct wl_opts {
	const char *const *cases;       /* case names */
	int ncases;                     /* cases == NULL: all but bench */
	enum wl_cmo_model cmo;
	unsigned long bench_pages;      /* 0: WL_BENCH_PAGES_DEFAULT */
	int verbose;
};

/* the child side: argv is "kvmcmo __run-case CASE --name NAME ..."; returns
 * the process exit status (0 ok, 1 failed, 2 bad usage) */
int wl_child_main(int argc, char **argv);

/*
 * Run the cases one after another, each in its own process, and build the
 * truth: exactly the shape of `kvmcmo stat --json`
 *   {"vms": [{"pid", "fd", "name", "aborts": [{"kind", "fault", "memslot",
 *             "outcome", "count"}...], "dabt_injections": {"abort",
 *             "userspace"}, "double_faults": []}...]}
 * plus per VM "case" and "vmm": {"runs", "mmio_exits", "nisv_exits",
 * "enosys", "ns", ...what the VMM saw, "expected": {...}, "match": bool},
 * and top-level "cmo_model": "emulated"|"mainline" and "errors": [...].
 *
 * Returns 0 when every case ran and every VM's VMM-observed exits matched
 * its expectation; -EPROTO when all ran but some did not match (see
 * "match"); another -errno when a case could not run or an option is bad
 * (the case is listed in "errors").  *truth is set whenever the return is
 * not -EINVAL/-ENOMEM; the caller json_decref()s it.
 */
int wl_run(const struct wl_opts *o, json_t **truth);

/* the largest bench_pages the memory map allows */
unsigned long wl_bench_pages_max(void);

/* every case name, bench included, NULL-terminated; *n gets the count */
const char *const *wl_case_names(int *n);

/* the label of a model as it appears in the truth ("emulated"...) */
const char *wl_cmo_model_name(enum wl_cmo_model m);

#endif /* KVMCMO_WORKLOAD_H */
