// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * workload.c - the workload cases and their ground truth (workload.h).
 *
 * A case is a list of steps ("do OP on N fresh pages of REGION"), and
 * both the guest program and the expected aborts come from that same
 * list: the program is one page loop per step, and the truth is what a
 * small model of arm64 KVM's stage-2 fault handling (truth_access() below)
 * says each access does.  The model, from the kernel source
 * (arch/arm64/kvm/mmu.c kvm_handle_guest_abort()/user_mem_abort(),
 * mmio.c io_mem_abort(), 5.10 to 7.x) and shared/KERNELS.md:
 *
 *   region  access            page state   -> fault        outcome
 *   rw      any               unmapped     -> translation  map_rw
 *   dirty   read              unmapped     -> translation  map_ro
 *   dirty   write, CMO(CM=1)  unmapped     -> translation  map_rw   (dirty)
 *   dirty   write, CMO(CM=1)  mapped ro    -> permission   relax    (dirty)
 *   ro      read              unmapped     -> translation  map_ro
 *   ro      write             unmapped     -> translation  mmio_user
 *   ro      write             mapped ro    -> permission   mmio_user
 *   ro      CMO(CM=1)         unmapped/ro  -> transl/perm  nisv, or error
 *   none    CMO(CM=1)                      -> translation  skip
 *   none    ldr/str (ISV=1)                -> translation  mmio_user
 *   none    ldp, no ISV                    -> translation  nisv, or error
 *   oob     ldr (ISV=1), beyond the VM's IPA size (40 bits: KVM_CREATE_VM
 *           type 0)                        -> translation  inject_dabt (5.19+,
 *           before the kvm_guest_fault tracepoint: the guest takes a data
 *           abort), mmio_user before (as none)
 *   none    exec (instruction fetch)       -> translation  other    (a
 *           prefetch abort injected: kvm_inject_pabt(), 7.2
 *           kvm_inject_sea(iabt=true); kvmcmo has no label for it)
 *   rw      exec              mapped rw    -> permission   relax    (a data
 *           fault maps without exec permission unless CTR_EL0.DIC)
 *   gic     ldr (ISV=1)                    -> translation  mmio_kernel
 *           (the in-kernel vGICv3 distributor: no memslot, no exit)
 *   any     access to a page already mapped with the needed permission:
 *           no abort
 * "nisv, or error": KVM_EXIT_ARM_NISV when the VM enabled
 * KVM_CAP_ARM_NISV_TO_USER, else KVM_RUN fails with -ENOSYS.
 * A CMO's WnR is 1, so KVM treats it as a write (kvm_is_write_fault()).
 *
 * Every VM's first instruction fetch maps the code page (exec,
 * translation, rw, map_rw); the program, its constants (movz/movk) and
 * the exception vector all live in that page, so nothing else touches it.
 *
 * S1PTW (stage-1 page-table walks; truth_s1ptw()): the VMs with the guest
 * MMU on have their root table in code page 1 (its walk faults once,
 * s1ptw/translation/rw/map_rw, before the first fetch), a level-2 table in
 * code page 2 (faults the same way at the first data access) and a
 * level-3 table in the case's region (setup_mmu()):
 *   none    -> translation  inject_dabt (kvm_inject_dabt(); 7.2
 *              kvm_inject_sea(iabt=false)), the guest takes a data abort
 *   dirty   -> translation  map_ro, then, when the hardware must set the
 *              descriptor's access flag (AF=0, TCR_EL1.HA=1, FEAT_HAFDBS),
 *              permission relax at the same PC and page: a double fault
 *   ro      -> translation  map_ro, then (AF update) permission
 *              inject_dabt: a double fault, and the guest takes a data abort
 * A S1PTW translation fault is a read since "KVM: arm64: Fix S1PTW
 * handling on RO memslots" (406504c7b040, v6.2; stable 6.1.7, 5.15.89,
 * 5.10.163); before it every S1PTW was a write (dirty: map_rw; ro:
 * inject_dabt at once), and host_facts() says which from uname.
 *
 * Access-flag faults (stage-2 AF=0, outcome access_flag) cannot be
 * provoked here: KVM maps every stage-2 entry with AF set and only clears
 * it when the host ages the page (MMU notifier clear_young), and it sets
 * VTCR_EL2.HA on every CPU (kvm_get_vtcr(), 5.10 reset.c), so on a CPU
 * with FEAT_HAFDBS (QEMU -cpu max has it) the hardware sets AF again
 * without a fault.  No case covers them.
 *
 * The rows marked DOUBT in the case table are reasoning not yet confirmed
 * by the BPF probes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/types.h>

#include "kvmcmo.h"
#include "guest.h"
#include "vmm.h"
#include "workload.h"

/* ---- labels (from kvmcmo.h, never retyped) ------------------------------ */

#define WL_LABEL(n, l) l,
static const char *const kind_label[] = { KVMCMO_KINDS(WL_LABEL) };
static const char *const fault_label[] = { KVMCMO_FAULTS(WL_LABEL) };
static const char *const memslot_label[] = { KVMCMO_MEMSLOTS(WL_LABEL) };
static const char *const outcome_label[] = { KVMCMO_OUTCOMES(WL_LABEL) };
static const char *const dabt_label[] = { KVMCMO_DABT_SOURCES(WL_LABEL) };

/* ---- memory map ------------------------------------------------------- */

enum wl_region {
	WL_CODE,
	WL_RW,
	WL_DIRTY,
	WL_RO,
	WL_NONE,
	WL_GIC,         /* the in-kernel vGICv3 distributor (no memslot) */
	WL_S1VA,        /* guest VA mapped by the second-level table (MMU on) */
	WL_OOB,         /* beyond the VM's IPA size (no memslot can be there) */
	WL_REGION__COUNT,
};

static const struct {
	uint64_t ipa;
	uint32_t flags;         /* VMM_SLOT_* */
	enum kvmcmo_memslot memslot;
	const char *name;
} region[WL_REGION__COUNT] = {
	[WL_CODE] = { 0x40000000, 0, KVMCMO_MEMSLOT_RW, "code" },
	[WL_RW] = { 0x41000000, 0, KVMCMO_MEMSLOT_RW, "rw" },
	[WL_DIRTY] = { 0x42000000, VMM_SLOT_LOG_DIRTY, KVMCMO_MEMSLOT_RW_DIRTY_LOG,
		       "rw_dirty_log" },
	[WL_RO] = { 0x43000000, VMM_SLOT_READONLY, KVMCMO_MEMSLOT_RO, "ro" },
	[WL_NONE] = { 0x50000000, 0, KVMCMO_MEMSLOT_NONE, "none" },
	[WL_GIC] = { 0x08000000, 0, KVMCMO_MEMSLOT_NONE, "gic" },
	/* a VA, not an IPA: page 0 maps rw page 0 (setup_mmu()) */
	[WL_S1VA] = { 0x80000000, 0, KVMCMO_MEMSLOT_RW, "s1va" },
	/* the first IPA past a type-0 VM's 40-bit IPA space */
	[WL_OOB] = { 1ULL << 40, 0, KVMCMO_MEMSLOT_NONE, "oob" },
};

#define WL_GICR_IPA 0x080a0000UL        /* redistributor, 128 KiB per vCPU */
#define WL_GIC_PAGES 16UL               /* the distributor: 64 KiB */
#define WL_PT_OFF 0x1000UL              /* root table: code page 1 */
#define WL_PT2_OFF 0x2000UL             /* level-2 table: code page 2 */

#define WL_CODE_SIZE (64UL << 10)
#define WL_SLOT_SIZE (1UL << 20)        /* rw, dirty, ro unless a case says */
#define WL_VBAR_OFF 0x800UL             /* VBAR_EL1 must be 2 KiB aligned */
#define WL_SYNC_OFF (WL_VBAR_OFF + 0x200) /* current EL with SPx, synchronous */
#define WL_NONE_PAGES 4096UL            /* the none window: 16 MiB */
/* the rw slot may grow up to the none window (bench) */
#define WL_RW_MAX_PAGES ((region[WL_NONE].ipa - region[WL_RW].ipa) / VMM_PAGE_SIZE)

#define WL_CASE_TIMEOUT_S 600           /* a child still running is killed */

/* ---- cases ------------------------------------------------------------ */

struct wl_step {
	enum guest_op op;
	enum wl_region region;
	uint32_t first_page;
	uint32_t npages;        /* 0 in the bench case: opts->bench_pages */
	uint32_t stride;        /* bytes between accesses; 0: a page */
};

#define WL_MAX_STEPS 2
#define WL_MAX_VMS 3

struct wl_vmdef {
	struct wl_step steps[WL_MAX_STEPS];
	int nsteps;
	unsigned int nisv_cap : 1;      /* KVM_CAP_ARM_NISV_TO_USER */
	unsigned int inject : 1;        /* ext_dabt_pending before the first run */
	unsigned int gic : 1;           /* in-kernel vGICv3 */
	unsigned int mmu : 1;           /* guest MMU on (S1PTW cases) */
	unsigned int pt_af0 : 1;        /* level-3 page AF=0, TCR_EL1.HA=1 */
	enum wl_region pt;              /* where the level-3 table is (mmu) */
};

struct wl_case {
	const char *name;
	int nvms;
	int bench;
	struct wl_vmdef vm[WL_MAX_VMS];
};

#define STEP(o, r, n) { .op = GUEST_OP_##o, .region = WL_##r, .npages = n }
#define NSTEPS(...) (int)(sizeof((struct wl_step[]){ __VA_ARGS__ }) / sizeof(struct wl_step))
#define VM1(...) { .steps = { __VA_ARGS__ }, .nsteps = NSTEPS(__VA_ARGS__) }
#define VM1_CAP(...) { .steps = { __VA_ARGS__ }, .nsteps = NSTEPS(__VA_ARGS__), \
		       .nisv_cap = 1 }
/* guest MMU on, the level-3 table in `reg`; one read through it */
#define CASE_S1PTW(nm, reg, af0) { nm, 1, 0, { { .steps = { STEP(READ, S1VA, 1) }, \
		.nsteps = 1, .mmu = 1, .pt = WL_##reg, .pt_af0 = af0 } } }
#define CASE(nm, ...) { nm, 1, 0, { VM1(__VA_ARGS__) } }
#define CASE_CAP(nm, ...) { nm, 1, 0, { VM1_CAP(__VA_ARGS__) } }

/*
 * Expected aborts per case, beside the code-page fetch that every VM has
 * (exec/translation/rw/map_rw x1).  EMULATED = QEMU TCG, MAINLINE = arm64
 * hardware with mainline KVM.
 */
static const struct wl_case cases[] = {
	/* read/translation/rw/map_rw x8 */
	CASE("rw_read", STEP(READ, RW, 8)),
	/* write/translation/rw/map_rw x8 */
	CASE("rw_write", STEP(WRITE, RW, 8)),
	/* exec/translation/rw/map_rw x4 (x5 with the code page) */
	CASE("rw_exec", STEP(EXEC, RW, 4)),
	/* read/translation/rw_dirty_log/map_ro x4,
	 * write/permission/rw_dirty_log/relax x4; 4 dirty pages */
	CASE("dirty_read_write", STEP(READ, DIRTY, 4), STEP(WRITE, DIRTY, 4)),
	/* read/translation/ro/map_ro x4 */
	CASE("ro_read", STEP(READ, RO, 4)),
	/* write/translation/ro/mmio_user x4; 4 MMIO write exits */
	CASE("ro_write", STEP(WRITE, RO, 4)),
	/* read/translation/ro/map_ro x3, write/permission/ro/mmio_user x3 */
	CASE("ro_read_write", STEP(READ, RO, 3), STEP(WRITE, RO, 3)),
	/* read/translation/none/mmio_user x4; 4 MMIO read exits */
	CASE("none_read", STEP(READ, NONE, 4)),
	/* write/translation/none/mmio_user x4; 4 MMIO write exits */
	CASE("none_write", STEP(WRITE, NONE, 4)),
	/* read/translation/none/nisv x4; 4 NISV exits */
	CASE_CAP("none_ldp_nisv", STEP(LDP, NONE, 4)),
	/* read/translation/none/error x4; KVM_RUN fails with ENOSYS 4 times */
	CASE("none_ldp_nocap", STEP(LDP, NONE, 4)),
	/* dabt_injections userspace=1, no abort for it (the vector is in the
	 * code page); then read/translation/rw/map_rw x2.  The guest counts
	 * the exception it took in x20 (must be 1). */
	{ "inject_user", 1, 0, { { .steps = { STEP(READ, RW, 2) }, .nsteps = 1,
				   .inject = 1 } } },
	/* one process, three VMs: read/translation/rw/map_rw x1, x2, x3 */
	{ "multi", 3, 0, { VM1(STEP(READ, RW, 1)), VM1(STEP(READ, RW, 2)),
			   VM1(STEP(READ, RW, 3)) } },
	/*
	 * CMOs, 4 fresh pages each, NISV cap enabled.
	 * MAINLINE: rw    -> cmo/translation/rw/map_rw x4
	 *           dirty -> cmo/translation/rw_dirty_log/map_rw x4 (a CMO is
	 *                    a write: WnR=1; 4 dirty pages)
	 *           ro    -> cmo/translation/ro/nisv x4; 4 NISV exits
	 *           none  -> cmo/translation/none/skip x4
	 * EMULATED: ivac/civac/cvac: no abort at all (QEMU runs them as no-ops)
	 *           cvap rw    -> read/translation/rw/map_rw x4
	 *           cvap dirty -> read/translation/rw_dirty_log/map_ro x4
	 *           cvap ro    -> read/translation/ro/map_ro x4
	 *           cvap none  -> read/translation/none/nisv x4
	 * DOUBT: MAINLINE rows are from source only (no CM=1 abort under
	 * QEMU); EMULATED cvap/none assumes QEMU reports ISV=0 for DC CVAP
	 * (it does, by the NISV exits the VMM counts).
	 */
	CASE_CAP("cmo_ivac_rw", STEP(DC_IVAC, RW, 4)),
	CASE_CAP("cmo_ivac_ro", STEP(DC_IVAC, RO, 4)),
	CASE_CAP("cmo_ivac_none", STEP(DC_IVAC, NONE, 4)),
	CASE_CAP("cmo_ivac_dirty", STEP(DC_IVAC, DIRTY, 4)),
	CASE_CAP("cmo_civac_rw", STEP(DC_CIVAC, RW, 4)),
	CASE_CAP("cmo_civac_ro", STEP(DC_CIVAC, RO, 4)),
	CASE_CAP("cmo_civac_none", STEP(DC_CIVAC, NONE, 4)),
	CASE_CAP("cmo_civac_dirty", STEP(DC_CIVAC, DIRTY, 4)),
	CASE_CAP("cmo_cvac_rw", STEP(DC_CVAC, RW, 4)),
	CASE_CAP("cmo_cvac_ro", STEP(DC_CVAC, RO, 4)),
	CASE_CAP("cmo_cvac_none", STEP(DC_CVAC, NONE, 4)),
	CASE_CAP("cmo_cvac_dirty", STEP(DC_CVAC, DIRTY, 4)),
	CASE_CAP("cmo_cvap_rw", STEP(DC_CVAP, RW, 4)),
	CASE_CAP("cmo_cvap_ro", STEP(DC_CVAP, RO, 4)),
	CASE_CAP("cmo_cvap_none", STEP(DC_CVAP, NONE, 4)),
	CASE_CAP("cmo_cvap_dirty", STEP(DC_CVAP, DIRTY, 4)),
	/* read/translation/rw/map_rw x4, then exec/permission/rw/relax x4:
	 * a data fault maps the page without exec permission (with
	 * CTR_EL0.DIC the host maps it executable and the exec does not
	 * fault) */
	CASE("rw_read_exec", STEP(READ, RW, 4), STEP(EXEC, RW, 4)),
	/* read/translation/none/inject_dabt x2 (5.19+; before,
	 * read/translation/none/mmio_user x2 and 2 MMIO read exits): reads
	 * beyond the VM's IPA size, which KVM answers before its
	 * kvm_guest_fault tracepoint; the guest takes 2 data aborts */
	CASE("oob_read", STEP(READ, OOB, 2)),
	/* exec/translation/none/other x4: KVM injects a prefetch abort
	 * (kvmcmo has no label for that); the guest takes 4 exceptions and
	 * returns to x30 */
	CASE("none_exec", STEP(EXEC, NONE, 4)),
	/* read/translation/none/mmio_kernel x4: 32-bit reads of GICD_CTLR,
	 * GICD_TYPER, GICD_IIDR, GICD_TYPER2 of an in-kernel vGICv3; no exit */
	{ "gic_mmio", 1, 0, { { .steps = { { .op = GUEST_OP_READ32, .region = WL_GIC,
					     .npages = 4, .stride = 4 } },
				.nsteps = 1, .gic = 1 } } },
	/*
	 * Guest MMU on (beside the code fetch: s1ptw/translation/rw/map_rw x2
	 * for the root and level-2 tables in code pages 1 and 2), one read
	 * through a level-3 table in:
	 * none  -> s1ptw/translation/none/inject_dabt x1, dabt abort 1, the
	 *          guest takes the data abort
	 * dirty -> s1ptw/translation/rw_dirty_log/map_ro x1, and (AF=0,
	 *          TCR_EL1.HA, FEAT_HAFDBS) s1ptw/permission/rw_dirty_log/relax
	 *          x1: double fault s1ptw/rw_dirty_log x1; 1 dirty page; then
	 *          read/translation/rw/map_rw x1
	 * ro    -> s1ptw/translation/ro/map_ro x1, s1ptw/permission/ro/
	 *          inject_dabt x1: double fault s1ptw/ro x1, dabt abort 1
	 * Before 6.2 (no 406504c7b040 backport) a S1PTW is a write: dirty
	 * map_rw x1, ro inject_dabt at once, no double fault.
	 */
	CASE_S1PTW("s1ptw_none", NONE, 0),
	CASE_S1PTW("s1ptw_dirty", DIRTY, 1),
	CASE_S1PTW("s1ptw_ro", RO, 1),
	/* read/translation/rw/map_rw x N (default 10,000); ns measured */
	{ "bench", 1, 1, { VM1(STEP(READ, RW, 0)) } },
};

#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

static const char *case_names[NCASES + 1];

const char *const *wl_case_names(int *n)
{
	for (int i = 0; i < NCASES; i++)
		case_names[i] = cases[i].name;
	case_names[NCASES] = NULL;
	if (n)
		*n = NCASES;
	return case_names;
}

static const struct wl_case *find_case(const char *name)
{
	for (int i = 0; i < NCASES; i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

const char *wl_cmo_model_name(enum wl_cmo_model m)
{
	switch (m) {
	case WL_CMO_EMULATED:
		return "emulated";
	case WL_CMO_MAINLINE:
		return "mainline";
	case WL_CMO_AUTO:
		break;
	}
	return "auto";
}

static int parse_cmo_model(const char *s, enum wl_cmo_model *m)
{
	for (int i = WL_CMO_AUTO; i <= WL_CMO_MAINLINE; i++)
		if (!strcmp(s, wl_cmo_model_name(i))) {
			*m = i;
			return 0;
		}
	return -EINVAL;
}

__attribute__((format(printf, 1, 2)))
static void wl_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvmcmo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* ---- facts about this host the truth depends on ------------------------- */

static struct wl_host {
	int dic;                /* CTR_EL0.DIC: KVM maps normal memory executable */
	int hafdbs;             /* the guest's ID_AA64MMFR1_EL1.HAFDBS != 0 */
	int s1ptw_read;         /* a S1PTW translation fault is a read */
	int oob_inject;         /* an IPA beyond the VM's IPA size gets an abort */
} host = { .s1ptw_read = 1, .oob_inject = 1 };

/*
 * Kernel release as major * 1000000 + minor * 1000 + patch; 0 if unknown.
 * Distributions may put an ABI name in the release (Debian: "5.10.0-32-
 * arm64" for 5.10.223) and the stable version in the version string
 * ("#1 SMP Debian 5.10.223-1 (2024-08-10)"): a same-series x.y.z found
 * there wins.
 */
static long kernel_release(void)
{
	struct utsname u;
	unsigned int a = 0, b = 0, c = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u.%u", &a, &b, &c) < 2)
		return 0;
	for (const char *v = u.version; *v; v++) {
		unsigned int va, vb, vc;

		if ((v == u.version || v[-1] == ' ') &&
		    sscanf(v, "%u.%u.%u", &va, &vb, &vc) == 3 &&
		    va == a && vb == b && vc > c)
			c = vc;
	}
	return (long)a * 1000000 + (long)b * 1000 + (long)(c > 999 ? 999 : c);
}

static int release_has(long rel, long mainline, const long *stable, int n)
{
	if (rel >= mainline)
		return 1;
	for (int i = 0; i < n; i++)
		if (rel / 1000 == stable[i] / 1000)
			return rel >= stable[i];
	return 0;
}

/*
 * What the truth needs beyond the case itself.  Kernel policy that
 * changed between releases is decided by the release, each with the
 * commit that changed it; everything else is read from this host.
 */
static int host_facts(int kvm_fd, int need_vcpu)
{
	/* 406504c7b040 "KVM: arm64: Fix S1PTW handling on RO memslots" (v6.2,
	 * Cc: stable: 6.1.7, 5.15.89, 5.10.163): kvm_is_write_fault() calls a
	 * S1PTW a write only on a permission fault; before, always a write */
	static const long s1ptw_stable[] = { 6001007, 5015089, 5010163 };
	long rel = kernel_release();
	struct vmm_vm vm;
	uint64_t v = 0;
	int r;

	host.s1ptw_read = !rel || release_has(rel, 6002000, s1ptw_stable, 3);
	/* "KVM: arm64: Inject exception on out-of-IPA-range translation
	 * fault" (v5.19, not in stable): before it the access went to
	 * io_mem_abort() like any other IPA without a memslot */
	host.oob_inject = !rel || release_has(rel, 5019000, NULL, 0);
#if defined(__aarch64__)
	{
		uint64_t ctr;

		__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
		host.dic = (ctr >> 29) & 1;
	}
#endif
	if (!need_vcpu)
		return 0;
	/* what the guest's CPU implements: a throwaway vCPU (it never runs,
	 * so kvmcmo never sees this VM) */
	r = vmm_vm_create(&vm, kvm_fd);
	if (!r)
		r = vmm_vcpu_create(&vm);
	if (!r)
		r = vmm_get_sysreg(&vm, A64_SYSREG_ID_AA64MMFR1_EL1, &v);
	vmm_vm_destroy(&vm);
	host.hafdbs = (v & 0xf) != 0;
	return r;
}

/* ---- the truth model ---------------------------------------------------- */

/* PG_X: mapped executable (plain slots only) */
enum page_state { PG_UNMAPPED, PG_RO, PG_RW, PG_X = 4 };

struct truth {
	uint64_t count[KVMCMO_KIND__COUNT][KVMCMO_FAULT__COUNT]
		      [KVMCMO_MEMSLOT__COUNT][KVMCMO_OUTCOME__COUNT];
	uint64_t dabt[KVMCMO_DABT__COUNT];
	uint64_t dfault[KVMCMO_KIND__COUNT][KVMCMO_MEMSLOT__COUNT];
	/* what the VMM must see */
	uint64_t mmio_reads, mmio_writes, nisv_exits, enosys;
	uint64_t guest_exceptions;      /* exceptions the guest's handler takes */
	uint64_t dirty_pages;           /* KVM_GET_DIRTY_LOG of the dirty slot */
	uint64_t aborts;
	uint8_t *state[WL_REGION__COUNT];
	uint64_t npages[WL_REGION__COUNT];
};

/* how KVM sees one guest access */
struct access {
	int happens;            /* 0: no memory access at all (a no-op CMO) */
	enum kvmcmo_kind kind;
	int write;              /* kvm_is_write_fault() */
	int isv;                /* ESR.ISV: KVM can emulate it as MMIO */
	int cm;                 /* ESR.CM */
	int exec;
};

static struct access access_of(enum guest_op op, enum wl_cmo_model cmo)
{
	struct access a = { .happens = 1 };

	switch (op) {
	case GUEST_OP_READ:
	case GUEST_OP_READ32:
		a.kind = KVMCMO_KIND_READ;
		a.isv = 1;
		break;
	case GUEST_OP_WRITE:
		a.kind = KVMCMO_KIND_WRITE;
		a.write = 1;
		a.isv = 1;
		break;
	case GUEST_OP_LDP:
		a.kind = KVMCMO_KIND_READ;
		break;
	case GUEST_OP_EXEC:
		a.kind = KVMCMO_KIND_EXEC;
		a.exec = 1;
		break;
	case GUEST_OP_DC_IVAC:
	case GUEST_OP_DC_CIVAC:
	case GUEST_OP_DC_CVAC:
	case GUEST_OP_DC_CVAP:
		if (cmo == WL_CMO_MAINLINE) {
			/* CM=1, WnR=1, no ISS */
			a.kind = KVMCMO_KIND_CMO;
			a.cm = 1;
			a.write = 1;
		} else if (op == GUEST_OP_DC_CVAP) {
			/* QEMU: a read probe, CM=0, WnR=0, no ISS */
			a.kind = KVMCMO_KIND_READ;
		} else {
			a.happens = 0;  /* QEMU: no-op */
		}
		break;
	}
	return a;
}

static void count(struct truth *t, enum kvmcmo_kind k, enum kvmcmo_fault f,
		  enum kvmcmo_memslot m, enum kvmcmo_outcome o)
{
	t->count[k][f][m][o]++;
	t->aborts++;
}

/* one guest access to page `page` of region `r` */
static void truth_access(struct truth *t, enum wl_region r, uint64_t page,
			 const struct access *a, int nisv_cap)
{
	enum kvmcmo_memslot ms = region[r].memslot;
	uint8_t *st = r == WL_NONE || r == WL_OOB ? NULL : &t->state[r][page];
	enum kvmcmo_fault f;

	if (!a->happens)
		return;
	if (r == WL_OOB && host.oob_inject && !a->exec && !a->cm) {
		/* kvm_handle_guest_abort() injects before its tracepoint:
		 * kvm_inject_dabt() (7.2: kvm_inject_sea(iabt=false)) */
		count(t, a->kind, KVMCMO_FAULT_TRANSLATION, ms, KVMCMO_OUTCOME_INJECT_DABT);
		t->dabt[KVMCMO_DABT_ABORT]++;
		t->guest_exceptions++;
		return;
	}
	if (r == WL_GIC) {
		/* io_mem_abort() -> kvm_io_bus_*() handled it: no exit */
		count(t, a->kind, KVMCMO_FAULT_TRANSLATION, ms,
		      KVMCMO_OUTCOME_MMIO_KERNEL);
		return;
	}
	if (r == WL_NONE || r == WL_OOB) {
		f = KVMCMO_FAULT_TRANSLATION;
		if (a->exec) {
			/* kvm_inject_pabt(): the guest takes a prefetch abort */
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_OTHER);
			t->guest_exceptions++;
		} else if (a->cm) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_SKIP);
		} else if (a->isv) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_MMIO_USER);
			if (a->write)
				t->mmio_writes++;
			else
				t->mmio_reads++;
		} else if (nisv_cap) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_NISV);
			t->nisv_exits++;
		} else {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_ERROR);
			t->enosys++;
		}
		return;
	}
	f = *st == PG_UNMAPPED ? KVMCMO_FAULT_TRANSLATION : KVMCMO_FAULT_PERMISSION;
	if (r == WL_RO) {
		if (!a->write) {
			if (*st == PG_UNMAPPED) {
				count(t, a->kind, f, ms, KVMCMO_OUTCOME_MAP_RO);
				*st = PG_RO;
			}
			return;
		}
		/* write_fault && !writable: io_mem_abort() */
		if (a->isv) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_MMIO_USER);
			t->mmio_writes++;
		} else if (nisv_cap) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_NISV);
			t->nisv_exits++;
		} else {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_ERROR);
			t->enosys++;
		}
		return;
	}
	if (r == WL_DIRTY) {
		if (*st == PG_RW || (*st == PG_RO && !a->write))
			return;
		if (*st == PG_RO) {
			count(t, a->kind, f, ms, KVMCMO_OUTCOME_RELAX);
		} else {
			count(t, a->kind, f, ms, a->write ? KVMCMO_OUTCOME_MAP_RW
							  : KVMCMO_OUTCOME_MAP_RO);
		}
		*st = a->write ? PG_RW : PG_RO;
		if (a->write)
			t->dirty_pages++;
		return;
	}
	/* plain slot (rw, code): host pages are writable, any fault maps rw;
	 * executable only for an exec fault (or every page, with DIC), so an
	 * exec of a page data mapped relaxes the permission */
	if (*st == PG_UNMAPPED) {
		count(t, a->kind, f, ms, KVMCMO_OUTCOME_MAP_RW);
		*st = PG_RW | (a->exec || host.dic ? PG_X : 0);
	} else if (a->exec && !(*st & PG_X)) {
		count(t, a->kind, f, ms, KVMCMO_OUTCOME_RELAX);
		*st |= PG_X;
	}
}

static void inject_dabt(struct truth *t, enum kvmcmo_fault f,
			enum kvmcmo_memslot ms)
{
	count(t, KVMCMO_KIND_S1PTW, f, ms, KVMCMO_OUTCOME_INJECT_DABT);
	t->dabt[KVMCMO_DABT_ABORT]++;
	t->guest_exceptions++;
}

/*
 * A stage-1 walk reads a table in page `page` of region `r` (first time)
 * and, with `af_write`, the hardware then sets the access flag of a
 * descriptor in it.  Returns 1 when the walk completes (the access that
 * needed it happens next), 0 when the guest took an exception instead.
 */
static int truth_s1ptw(struct truth *t, enum wl_region r, uint64_t page,
		       int af_write)
{
	enum kvmcmo_memslot ms = region[r].memslot;
	enum kvmcmo_kind k = KVMCMO_KIND_S1PTW;
	int write = !host.s1ptw_read, translated = 0;
	uint8_t *st;

	if (r == WL_NONE) {
		/* no memslot, S1PTW: kvm_inject_dabt() */
		inject_dabt(t, KVMCMO_FAULT_TRANSLATION, ms);
		return 0;
	}
	st = &t->state[r][page];
	if (*st == PG_UNMAPPED) {
		translated = 1;
		if (r == WL_RO && write) {
			/* write_fault && !writable, S1PTW: kvm_inject_dabt() */
			inject_dabt(t, KVMCMO_FAULT_TRANSLATION, ms);
			return 0;
		}
		if (r == WL_DIRTY && !write) {
			count(t, k, KVMCMO_FAULT_TRANSLATION, ms, KVMCMO_OUTCOME_MAP_RO);
			*st = PG_RO;
		} else if (r == WL_RO) {
			count(t, k, KVMCMO_FAULT_TRANSLATION, ms, KVMCMO_OUTCOME_MAP_RO);
			*st = PG_RO;
		} else {
			count(t, k, KVMCMO_FAULT_TRANSLATION, ms, KVMCMO_OUTCOME_MAP_RW);
			*st = PG_RW;
			if (r == WL_DIRTY)
				t->dirty_pages++;
		}
	}
	if (!af_write || (*st & 3) != PG_RO)
		return 1;
	/* the access-flag update writes the table: a S1PTW permission fault,
	 * always a write; after the translation fault at this PC and page it
	 * is a double fault */
	if (translated)
		t->dfault[k][ms]++;
	if (r == WL_RO) {
		inject_dabt(t, KVMCMO_FAULT_PERMISSION, ms);
		return 0;
	}
	count(t, k, KVMCMO_FAULT_PERMISSION, ms, KVMCMO_OUTCOME_RELAX);
	*st = PG_RW;
	t->dirty_pages++;
	return 1;
}

static void truth_free(struct truth *t)
{
	for (int r = 0; r < WL_REGION__COUNT; r++)
		free(t->state[r]);
	memset(t, 0, sizeof(*t));
}

/* slot sizes of one VM, in pages (0: no slot) */
static void vm_layout(const struct wl_case *c, unsigned long bench_pages,
		      uint64_t npages[WL_REGION__COUNT])
{
	npages[WL_CODE] = WL_CODE_SIZE / VMM_PAGE_SIZE;
	npages[WL_RW] = WL_SLOT_SIZE / VMM_PAGE_SIZE;
	npages[WL_DIRTY] = WL_SLOT_SIZE / VMM_PAGE_SIZE;
	npages[WL_RO] = WL_SLOT_SIZE / VMM_PAGE_SIZE;
	npages[WL_NONE] = WL_NONE_PAGES;
	npages[WL_GIC] = WL_GIC_PAGES;
	npages[WL_S1VA] = 1;
	npages[WL_OOB] = WL_NONE_PAGES;
	if (c->bench) {
		/* whole 64 KiB chunks, only code and rw slots */
		npages[WL_RW] = (bench_pages + 15) & ~15UL;
		npages[WL_DIRTY] = 0;
		npages[WL_RO] = 0;
	}
}

static uint32_t step_pages(const struct wl_step *s, unsigned long bench_pages)
{
	return s->npages ? s->npages : (uint32_t)bench_pages;
}

static int truth_build(struct truth *t, const struct wl_case *c,
		       const struct wl_vmdef *d, enum wl_cmo_model cmo,
		       unsigned long bench_pages)
{
	struct access fetch = { .happens = 1, .kind = KVMCMO_KIND_EXEC, .exec = 1 };

	memset(t, 0, sizeof(*t));
	vm_layout(c, bench_pages, t->npages);
	for (int r = 0; r < WL_REGION__COUNT; r++) {
		if (r == WL_NONE || r == WL_OOB || !t->npages[r])
			continue;
		t->state[r] = calloc(t->npages[r], 1);
		if (!t->state[r]) {
			truth_free(t);
			return -ENOMEM;
		}
	}
	/* the injected abort is taken before any instruction, at the vector:
	 * still the code page */
	if (d->inject) {
		t->dabt[KVMCMO_DABT_USERSPACE]++;
		t->guest_exceptions++;
	}
	/* MMU on: the first fetch's walk reads the root table (code page 1) */
	if (d->mmu)
		truth_s1ptw(t, WL_CODE, WL_PT_OFF / VMM_PAGE_SIZE, 0);
	truth_access(t, WL_CODE, 0, &fetch, d->nisv_cap);
	for (int i = 0; i < d->nsteps; i++) {
		const struct wl_step *s = &d->steps[i];
		struct access a = access_of(s->op, cmo);
		uint32_t n = step_pages(s, bench_pages);

		if (s->first_page + n > t->npages[s->region]) {
			truth_free(t);
			return -ERANGE;
		}
		for (uint32_t p = 0; p < n; p++) {
			if (s->region != WL_S1VA) {
				truth_access(t, s->region, s->first_page + p, &a,
					     d->nisv_cap);
				continue;
			}
			/* through the level-2 (code page 2) and level-3 (d->pt)
			 * tables onto rw page p; with AF=0 and no hardware AF
			 * update: a stage-1 access flag fault, taken by the
			 * guest */
			truth_s1ptw(t, WL_CODE, WL_PT2_OFF / VMM_PAGE_SIZE, 0);
			if (!truth_s1ptw(t, d->pt, 0, d->pt_af0 && host.hafdbs))
				continue;
			if (d->pt_af0 && !host.hafdbs) {
				t->guest_exceptions++;
				continue;
			}
			truth_access(t, WL_RW, s->first_page + p, &a, d->nisv_cap);
		}
	}
	return 0;
}

static json_t *truth_aborts_json(const struct truth *t)
{
	json_t *a = json_array();

	for (int k = 0; k < KVMCMO_KIND__COUNT; k++)
	for (int f = 0; f < KVMCMO_FAULT__COUNT; f++)
	for (int m = 0; m < KVMCMO_MEMSLOT__COUNT; m++)
	for (int o = 0; o < KVMCMO_OUTCOME__COUNT; o++) {
		uint64_t n = t->count[k][f][m][o];

		if (!n)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}",
			"kind", kind_label[k], "fault", fault_label[f],
			"memslot", memslot_label[m], "outcome", outcome_label[o],
			"count", (json_int_t)n));
	}
	return a;
}

/* [{"kind", "memslot", "count"}...] as kvmcmo stat shows them (its
 * "gap_ns" histogram is timing, not truth) */
static json_t *truth_dfaults_json(const struct truth *t)
{
	json_t *a = json_array();

	for (int k = 0; k < KVMCMO_KIND__COUNT; k++)
	for (int m = 0; m < KVMCMO_MEMSLOT__COUNT; m++)
		if (t->dfault[k][m])
			json_array_append_new(a, json_pack("{s:s, s:s, s:I}",
				"kind", kind_label[k], "memslot", memslot_label[m],
				"count", (json_int_t)t->dfault[k][m]));
	return a;
}

/* ---- the child: build, run and check one case's VMs --------------------- */

struct child_vm {
	struct vmm_vm vm;
	struct truth t;
	int made;
	uint64_t x20, x21, dirty_pages;
};

/* the host memory behind a guest IPA (in a slot), or NULL */
static uint64_t *slot_mem(struct vmm_vm *vm, uint64_t ipa)
{
	for (int i = 0; i < vm->nslots; i++)
		if (ipa >= vm->slots[i].ipa &&
		    ipa - vm->slots[i].ipa < vm->slots[i].size)
			return (uint64_t *)((char *)vm->slots[i].mem +
					    (ipa - vm->slots[i].ipa));
	return NULL;
}

/* stage-1 descriptors (4 KiB granule): block/table/page, AF, inner
 * shareable, AttrIndx 0 (MAIR_EL1 attr 0: normal write-back), EL1
 * read/write/exec */
#define S1_BLOCK 0x1ULL
#define S1_TABLE 0x3ULL
#define S1_PAGE 0x3ULL
#define S1_AF (1ULL << 10)
#define S1_SH_INNER (3ULL << 8)
/* TCR_EL1: T0SZ 25 (39-bit VAs, the walk starts at level 1), TTBR0 walks
 * inner/outer write-back cacheable and inner shareable, 4 KiB granule, no
 * TTBR1 walks (EPD1), IPS 40 bits; HA: hardware access-flag updates */
#define TCR_S1 (25ULL | 1ULL << 8 | 1ULL << 10 | 3ULL << 12 | 1ULL << 23 | \
		2ULL << 32)
#define TCR_HA (1ULL << 39)
#define SCTLR_M_C_I (1ULL << 0 | 1ULL << 2 | 1ULL << 12)

/*
 * Guest MMU on from the first instruction: the root table in code page 1
 * maps the 1 GiB at 0x40000000 (code, rw, dirty, ro, none) 1:1 with a
 * block and sends the 1 GiB at 0x80000000 (WL_S1VA) to a level-2 table in
 * code page 2, whose first entry points to a level-3 table at page 0 of
 * region d->pt, whose first entry maps rw page 0.
 *
 * Level 3, not a 2 MiB block at level 2: QEMU (7.2) reports the stage-2
 * permission fault of a hardware access-flag update with the level of
 * the stage-1 descriptor it updates.  KVM maps the table page at level 3
 * (dirty logging forces pages), so a level-2 report makes the fault
 * granule differ from the page size, user_mem_abort() calls
 * kvm_pgtable_stage2_map() instead of relaxing, and that map refuses a
 * permission-only change ("KVM: arm64: Filter out the case of only
 * changing permissions from stage-2 map path"): the guest faults forever
 * (seen on 6.12).  At level 3 both levels agree.
 */
static int setup_mmu(struct vmm_vm *vm, const struct wl_vmdef *d)
{
	uint64_t pt = region[d->pt].ipa, sctlr;
	uint64_t *l1 = slot_mem(vm, region[WL_CODE].ipa + WL_PT_OFF);
	uint64_t *l2 = slot_mem(vm, region[WL_CODE].ipa + WL_PT2_OFF);
	uint64_t *l3 = slot_mem(vm, pt);
	int r;

	if (!l1 || !l2)
		return -EINVAL;
	memset(l1, 0, VMM_PAGE_SIZE);
	memset(l2, 0, VMM_PAGE_SIZE);
	l1[region[WL_CODE].ipa >> 30] = region[WL_CODE].ipa | S1_BLOCK | S1_AF |
					S1_SH_INNER;
	l1[region[WL_S1VA].ipa >> 30] = (region[WL_CODE].ipa + WL_PT2_OFF) |
					S1_TABLE;
	l2[0] = pt | S1_TABLE;
	/* none: the walk faults before it could read anything */
	if (l3) {
		memset(l3, 0, VMM_PAGE_SIZE);
		l3[0] = region[WL_RW].ipa | S1_PAGE | S1_SH_INNER |
			(d->pt_af0 ? 0 : S1_AF);
	}
	r = vmm_set_sysreg(vm, A64_SYSREG_MAIR_EL1, 0xff);
	if (!r)
		r = vmm_set_sysreg(vm, A64_SYSREG_TCR_EL1,
				   TCR_S1 | (d->pt_af0 ? TCR_HA : 0));
	if (!r)
		r = vmm_set_sysreg(vm, A64_SYSREG_TTBR0_EL1,
				   region[WL_CODE].ipa + WL_PT_OFF);
	if (!r)
		r = vmm_get_sysreg(vm, A64_SYSREG_SCTLR_EL1, &sctlr);
	if (!r)
		r = vmm_set_sysreg(vm, A64_SYSREG_SCTLR_EL1, sctlr | SCTLR_M_C_I);
	return r;
}

static int setup_vm(struct child_vm *cv, int kvm_fd, const struct wl_case *c,
		    const struct wl_vmdef *d, unsigned long bench_pages,
		    int verbose)
{
	struct vmm_vm *vm = &cv->vm;
	struct guest_prog p;
	void *mem;
	int r;

	r = vmm_vm_create(vm, kvm_fd);
	cv->made = 1;
	if (r)
		return r;
	vm->verbose = verbose;
	if (d->nisv_cap && (r = vmm_enable_nisv(vm)))
		return r;

	/* code: the program, then the vector table at +0x800 */
	r = vmm_mem_alloc(WL_CODE_SIZE, &mem);
	if (r)
		return r;
	guest_prog_init(&p, mem, VMM_PAGE_SIZE / 4);
	guest_emit(&p, a64_nop());      /* the handler's eret skips this */
	for (int i = 0; i < d->nsteps; i++) {
		const struct wl_step *s = &d->steps[i];

		guest_emit_page_loop(&p, s->op, region[s->region].ipa +
				     (uint64_t)s->first_page * VMM_PAGE_SIZE,
				     step_pages(s, bench_pages),
				     s->stride ? s->stride : VMM_PAGE_SIZE);
	}
	guest_emit_system_off(&p);
	guest_emit_pad_to(&p, WL_SYNC_OFF / 4);
	guest_emit_sync_handler(&p);
	if (p.err) {
		vmm_mem_free(mem, WL_CODE_SIZE);
		wl_msg("%s: guest program does not fit in the code page", c->name);
		return p.err;
	}
	r = vmm_add_slot(vm, region[WL_CODE].ipa, WL_CODE_SIZE, 0, mem);
	if (r) {
		vmm_mem_free(mem, WL_CODE_SIZE);
		return r;
	}

	/* data slots: every page starts with `ret` (for exec steps) */
	for (int rg = WL_RW; rg <= WL_RO; rg++) {
		size_t size = cv->t.npages[rg] * VMM_PAGE_SIZE;

		if (!size)
			continue;
		r = vmm_mem_alloc(size, &mem);
		if (r)
			return r;
		for (size_t off = 0; off < size; off += VMM_PAGE_SIZE)
			*(uint32_t *)((char *)mem + off) = a64_ret();
		r = vmm_add_slot(vm, region[rg].ipa, size, region[rg].flags, mem);
		if (r) {
			vmm_mem_free(mem, size);
			return r;
		}
	}

	if (d->gic && (r = vmm_vgic_v3_create(vm, region[WL_GIC].ipa, WL_GICR_IPA)))
		return r;
	r = vmm_vcpu_create(vm);
	if (!r && d->gic)
		r = vmm_vgic_init(vm);
	if (!r && d->mmu)
		r = setup_mmu(vm, d);
	if (!r)
		r = vmm_set_pc(vm, region[WL_CODE].ipa);
	if (!r)
		r = vmm_set_vbar(vm, region[WL_CODE].ipa + WL_VBAR_OFF);
	if (!r)
		r = vmm_set_xreg(vm, 20, 0);
	if (!r && d->inject)
		r = vmm_inject_ext_dabt(vm);
	return r;
}

static int run_vm(struct child_vm *cv)
{
	struct vmm_vm *vm = &cv->vm;
	int r = vmm_run(vm);

	if (r)
		return r;
	r = vmm_get_xreg(vm, 20, &cv->x20);
	if (!r)
		r = vmm_get_xreg(vm, 21, &cv->x21);
	for (int i = 0; !r && i < vm->nslots; i++)
		if (vm->slots[i].flags & VMM_SLOT_LOG_DIRTY)
			r = vmm_dirty_pages(vm, i, &cv->dirty_pages);
	return r;
}

static json_t *vm_json(const struct child_vm *cv, const char *name,
		       const char *case_name, int *match)
{
	const struct vmm_stats *st = &cv->vm.st;
	const struct truth *t = &cv->t;
	json_t *vmm, *exp, *dabt, *o;
	char esr[24];

	*match = st->mmio_reads == t->mmio_reads &&
		 st->mmio_writes == t->mmio_writes &&
		 st->nisv_exits == t->nisv_exits && st->enosys == t->enosys &&
		 st->system_events == 1 && cv->x20 == t->guest_exceptions &&
		 cv->dirty_pages == t->dirty_pages;
	exp = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"mmio_reads", (json_int_t)t->mmio_reads,
			"mmio_writes", (json_int_t)t->mmio_writes,
			"nisv_exits", (json_int_t)t->nisv_exits,
			"enosys", (json_int_t)t->enosys,
			"guest_exceptions", (json_int_t)t->guest_exceptions,
			"dirty_pages", (json_int_t)t->dirty_pages,
			"aborts", (json_int_t)t->aborts);
	/* ESR_EL1 as a string: 6.1 sign-extends it into the RES0 upper half */
	snprintf(esr, sizeof(esr), "%#llx", (unsigned long long)cv->x21);
	vmm = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:o, s:b}",
			"runs", (json_int_t)st->runs,
			"mmio_exits", (json_int_t)st->mmio_exits,
			"nisv_exits", (json_int_t)st->nisv_exits,
			"enosys", (json_int_t)st->enosys,
			"ns", (json_int_t)st->ns,
			"mmio_reads", (json_int_t)st->mmio_reads,
			"mmio_writes", (json_int_t)st->mmio_writes,
			"guest_exceptions", (json_int_t)cv->x20,
			"guest_last_esr", esr,
			"dirty_pages", (json_int_t)cv->dirty_pages,
			"expected", exp,
			"match", *match);
	dabt = json_object();
	for (int i = 0; i < KVMCMO_DABT__COUNT; i++)
		json_object_set_new(dabt, dabt_label[i],
				    json_integer((json_int_t)t->dabt[i]));
	o = json_pack("{s:i, s:i, s:s, s:o, s:o, s:o, s:s, s:o}",
		      "pid", (int)getpid(), "fd", cv->vm.vm_fd, "name", name,
		      "aborts", truth_aborts_json(t), "dabt_injections", dabt,
		      "double_faults", truth_dfaults_json(t), "case", case_name,
		      "vmm", vmm);
	return o;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

static int child_report(int fd, json_t *res)
{
	char *s = json_dumps(res, JSON_COMPACT);
	int r;

	if (!s)
		return -ENOMEM;
	r = fd >= 0 ? write_all(fd, s, strlen(s)) : (puts(s) < 0 ? -EIO : 0);
	free(s);
	return r;
}

static int child_usage(void)
{
	fprintf(stderr, "usage: kvmcmo __run-case CASE --name NAME "
		"[--result-fd FD] [--cmo emulated|mainline] "
		"[--bench-pages N] [--verbose]\n");
	return 2;
}

int wl_child_main(int argc, char **argv)
{
	const char *case_name = NULL, *name = NULL;
	enum wl_cmo_model cmo = WL_CMO_MAINLINE;
	unsigned long bench_pages = WL_BENCH_PAGES_DEFAULT;
	const struct wl_case *c;
	struct child_vm cvs[WL_MAX_VMS];
	int result_fd = -1, verbose = 0, kvm_fd = -1, status = 1, i, r = 0;
	json_t *res, *vms;
	char *end;

	for (i = 0; i < argc && strcmp(argv[i], "__run-case"); i++)
		;
	if (i + 1 >= argc)
		return child_usage();
	case_name = argv[++i];
	for (i++; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			verbose = 1;
			continue;
		}
		if (!v)
			return child_usage();
		i++;
		if (!strcmp(a, "--name")) {
			name = v;
		} else if (!strcmp(a, "--result-fd")) {
			result_fd = (int)strtol(v, &end, 10);
			if (*end || result_fd < 0)
				return child_usage();
		} else if (!strcmp(a, "--cmo")) {
			if (parse_cmo_model(v, &cmo) || cmo == WL_CMO_AUTO)
				return child_usage();
		} else if (!strcmp(a, "--bench-pages")) {
			bench_pages = strtoul(v, &end, 10);
			if (*end || !bench_pages)
				return child_usage();
		} else {
			return child_usage();
		}
	}
	c = find_case(case_name);
	if (!c) {
		wl_msg("no case named '%s'", case_name);
		return 2;
	}
	if (c->bench && bench_pages > WL_RW_MAX_PAGES) {
		wl_msg("bench: at most %lu pages", (unsigned long)WL_RW_MAX_PAGES);
		return 2;
	}
	if (!name)
		name = case_name;
	alarm(WL_CASE_TIMEOUT_S);

	memset(cvs, 0, sizeof(cvs));
	res = json_object();
	vms = json_array();
	json_object_set_new(res, "vms", vms);

	kvm_fd = vmm_open();
	if (kvm_fd < 0) {
		r = kvm_fd;
		goto out;
	}
	for (i = 0; i < c->nvms && !c->vm[i].mmu; i++)
		;
	r = host_facts(kvm_fd, i < c->nvms);
	if (r)
		goto out;
	/* all VMs exist at once: their fds (and struct kvm) stay distinct */
	for (i = 0; i < c->nvms; i++) {
		/* KVMCMO_WL_NO_NISV=1: no VM enables KVM_CAP_ARM_NISV_TO_USER, so
		 * NISV aborts become errors (the truth follows); the changed
		 * workload of tests/vm/suite-record.sh */
		struct wl_vmdef def = c->vm[i];
		const char *no_nisv = getenv("KVMCMO_WL_NO_NISV");

		if (no_nisv && !strcmp(no_nisv, "1"))
			def.nisv_cap = 0;
		r = truth_build(&cvs[i].t, c, &def, cmo, bench_pages);
		if (r) {
			wl_msg("%s: cannot build the truth: %s", c->name, strerror(-r));
			goto out;
		}
		r = setup_vm(&cvs[i], kvm_fd, c, &def, bench_pages, verbose);
		if (r)
			goto out;
	}
	status = 0;
	for (i = 0; i < c->nvms; i++) {
		int match;

		r = run_vm(&cvs[i]);
		if (r) {
			status = 1;
			goto out;
		}
		json_array_append_new(vms, vm_json(&cvs[i], name, c->name, &match));
		if (!match) {
			wl_msg("%s: the VMM saw exits the truth does not expect "
			       "(vm fd %d)", c->name, cvs[i].vm.vm_fd);
			status = 1;
		}
	}
out:
	if (r)
		json_object_set_new(res, "error", json_pack("{s:s, s:i}",
				    "message", strerror(-r), "errno", -r));
	if (child_report(result_fd, res))
		status = 1;
	json_decref(res);
	for (i = 0; i < c->nvms; i++) {
		if (cvs[i].made)
			vmm_vm_destroy(&cvs[i].vm);
		truth_free(&cvs[i].t);
	}
	if (kvm_fd >= 0)
		close(kvm_fd);
	return status;
}

/* ---- the parent ------------------------------------------------------- */

static int midr_implementer(unsigned int *impl, const char **src)
{
	static const char sys[] = "/sys/devices/system/cpu/cpu0/regs/identification/midr_el1";
	char line[256];
	FILE *f = fopen(sys, "r");

	if (f) {
		unsigned long long midr;
		int ok = fscanf(f, "%llx", &midr) == 1;

		fclose(f);
		if (ok) {
			*impl = (unsigned int)(midr >> 24) & 0xff;
			*src = sys;
			return 0;
		}
	}
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned int v;

		if (sscanf(line, "CPU implementer : %x", &v) == 1 ||
		    sscanf(line, "CPU implementer\t: %x", &v) == 1) {
			fclose(f);
			*impl = v;
			*src = "/proc/cpuinfo";
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

static enum wl_cmo_model resolve_cmo(enum wl_cmo_model m)
{
	unsigned int impl = 0;
	const char *src = "";

	if (m != WL_CMO_AUTO)
		return m;
	if (midr_implementer(&impl, &src)) {
		wl_msg("cmo model: mainline (cannot read MIDR_EL1: assuming "
		       "hardware)");
		return WL_CMO_MAINLINE;
	}
	m = impl == 0 ? WL_CMO_EMULATED : WL_CMO_MAINLINE;
	wl_msg("cmo model: %s (MIDR_EL1 implementer 0x%02x from %s%s)",
	       wl_cmo_model_name(m), impl, src,
	       impl == 0 ? ": QEMU -cpu max, CMOs run emulated" : "");
	return m;
}

static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

static int self_exe(char *path, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", path, size - 1);

	if (n <= 0 || (size_t)n >= size - 1) {
		snprintf(path, size, "/proc/self/exe");
		return 0;
	}
	path[n] = 0;
	return 0;
}

/* run one case in a child; appends its VMs to `vms`, returns 0, -EPROTO
 * (ran, some VM did not match) or -errno (with *err set) */
static int run_case(const struct wl_case *c, enum wl_cmo_model cmo,
		    unsigned long bench_pages, int verbose, json_t *vms,
		    char *err, size_t errlen)
{
	char exe[PATH_MAX], fdbuf[16], pages[32];
	const char *argv[16];
	int pfd[2], n = 0, st, r = 0;
	json_t *res, *rv, *v;
	json_error_t jerr;
	char *out;
	size_t i;
	pid_t pid;

	self_exe(exe, sizeof(exe));
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	snprintf(fdbuf, sizeof(fdbuf), "%d", pfd[1]);
	snprintf(pages, sizeof(pages), "%lu", bench_pages);
	argv[n++] = "kvmcmo";
	argv[n++] = "__run-case";
	argv[n++] = c->name;
	argv[n++] = "--name";
	argv[n++] = c->name;
	argv[n++] = "--result-fd";
	argv[n++] = fdbuf;
	argv[n++] = "--cmo";
	argv[n++] = wl_cmo_model_name(cmo);
	argv[n++] = "--bench-pages";
	argv[n++] = pages;
	if (verbose)
		argv[n++] = "--verbose";
	argv[n] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "fork: %s", strerror(-r));
		return r;
	}
	if (pid == 0) {
		/* the write end survives exec */
		fcntl(pfd[1], F_SETFD, 0);
		execv(exe, (char *const *)argv);
		fprintf(stderr, "kvmcmo: exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	out = read_all(pfd[0]);
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		if (st != -1 && WIFSIGNALED(st))
			snprintf(err, errlen, "case process %d killed by signal "
				 "%d%s", (int)pid, WTERMSIG(st),
				 WTERMSIG(st) == SIGALRM ? " (timed out)" : "");
		else
			snprintf(err, errlen, "case process %d exited with "
				 "status %d", (int)pid,
				 st == -1 ? -1 : WEXITSTATUS(st));
		free(out);
		return -ECHILD;
	}
	res = out ? json_loads(out, 0, &jerr) : NULL;
	free(out);
	if (!res) {
		snprintf(err, errlen, "no result from case process %d", (int)pid);
		return -EBADMSG;
	}
	json_array_foreach(json_object_get(res, "vms"), i, v) {
		json_array_append(vms, v);
		if (!json_is_true(json_object_get(json_object_get(v, "vmm"), "match")))
			r = -EPROTO;
	}
	rv = json_object_get(res, "error");
	if (rv) {
		json_int_t e = json_integer_value(json_object_get(rv, "errno"));

		snprintf(err, errlen, "%s",
			 json_string_value(json_object_get(rv, "message")));
		r = e > 0 ? -(int)e : -EIO;
	} else if (WEXITSTATUS(st) && !r) {
		snprintf(err, errlen, "case process %d failed", (int)pid);
		r = -EIO;
	}
	json_decref(res);
	return r;
}

unsigned long wl_bench_pages_max(void)
{
	return WL_RW_MAX_PAGES;
}

int wl_run(const struct wl_opts *o, json_t **truth)
{
	unsigned long bench_pages = o->bench_pages ? o->bench_pages
						   : WL_BENCH_PAGES_DEFAULT;
	const struct wl_case *list[NCASES * 4 + 1];
	json_t *root, *vms, *errors;
	enum wl_cmo_model cmo;
	int n = 0, ret = 0;

	*truth = NULL;
	if (o->cases) {
		if (o->ncases < 0 || o->ncases > NCASES * 4) {
			wl_msg("too many cases (%d)", o->ncases);
			return -EINVAL;
		}
		for (int i = 0; i < o->ncases; i++) {
			list[n] = find_case(o->cases[i]);
			if (!list[n]) {
				wl_msg("no case named '%s' (see the case list)",
				       o->cases[i]);
				return -EINVAL;
			}
			n++;
		}
	} else {
		for (int i = 0; i < NCASES; i++)
			if (!cases[i].bench)
				list[n++] = &cases[i];
	}
	if (bench_pages > WL_RW_MAX_PAGES) {
		wl_msg("bench: at most %lu pages", (unsigned long)WL_RW_MAX_PAGES);
		return -EINVAL;
	}
	cmo = resolve_cmo(o->cmo);

	root = json_object();
	vms = json_array();
	errors = json_array();
	if (!root || !vms || !errors) {
		json_decref(root);
		json_decref(vms);
		json_decref(errors);
		return -ENOMEM;
	}
	json_object_set_new(root, "vms", vms);
	json_object_set_new(root, "cmo_model", json_string(wl_cmo_model_name(cmo)));
	json_object_set_new(root, "errors", errors);

	for (int i = 0; i < n; i++) {
		char err[256] = "";
		int r = run_case(list[i], cmo, bench_pages, o->verbose, vms,
				 err, sizeof(err));

		if (r == -EPROTO) {
			if (!ret)
				ret = r;
			continue;
		}
		if (r) {
			wl_msg("case %s: %s", list[i]->name, err);
			json_array_append_new(errors, json_pack("{s:s, s:s}",
					      "case", list[i]->name, "error", err));
			ret = r;
		}
	}
	*truth = root;
	return ret;
}
