// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Host unit tests for the classifier in bpf/kvmcmo.h.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I bpf -o /tmp/test_classify \
 *      tests/unit/test_classify.c && /tmp/test_classify
 *
 * No emulator produces an abort with ESR.CM=1 (QEMU runs DC IVAC/CVAC/CIVAC
 * as no-ops; shared/KERNELS.md, "What emulation cannot show"), so the ESR
 * tables below are the only place the CMO branches of the classifier run
 * before real arm64 hardware.  ESR values are built here from the Arm ARM
 * bit positions, not from the header's macros, so a wrong mask in the
 * header shows up as a failure instead of cancelling out.
 */
#include <stdint.h>

#include "kvmcmo.h"

#include "test.h"

/* ---- ESR_ELx, from the Arm ARM (DDI 0487, ESR_EL2; shared/KERNELS.md) */

#define ESR_EC(ec)      ((__u64)(ec) << 26)     /* EC, bits 31:26 */
#define ESR_IL          (1ULL << 25)
#define ESR_ISV         (1ULL << 24)
#define ESR_SAS_D       (3ULL << 22)            /* ISV=1: doubleword access */
#define ESR_SRT(r)      ((__u64)(r) << 16)      /* ISV=1: register */
#define ESR_SF          (1ULL << 15)
#define ESR_FNV         (1ULL << 10)
#define ESR_EA          (1ULL << 9)
#define ESR_CM          (1ULL << 8)
#define ESR_S1PTW       (1ULL << 7)
#define ESR_WNR         (1ULL << 6)

#define EC_IABT_LOW     0x20
#define EC_IABT_CUR     0x21
#define EC_DABT_LOW     0x24
#define EC_DABT_CUR     0x25

#define DABT            (ESR_EC(EC_DABT_LOW) | ESR_IL)
#define IABT            (ESR_EC(EC_IABT_LOW) | ESR_IL)

/* DFSC/IFSC values */
#define FSC_TRANS(l)    ((l) < 0 ? 0x2bU : 0x04U + (l))  /* only -1 below 0 */
#define FSC_AF(l)       (0x08U + (l))
#define FSC_PERM(l)     (0x0cU + (l))

/* ---- labels, built from the header's X-macros ----------------------- */

#define LABEL(n, l) l,
static const char *const kind_lbl[] = { KVMCMO_KINDS(LABEL) };
static const char *const fault_lbl[] = { KVMCMO_FAULTS(LABEL) };
static const char *const memslot_lbl[] = { KVMCMO_MEMSLOTS(LABEL) };
static const char *const outcome_lbl[] = { KVMCMO_OUTCOMES(LABEL) };
static const char *const dabt_lbl[] = { KVMCMO_DABT_SOURCES(LABEL) };
static const char *const stat_lbl[] = { KVMCMO_STATS(LABEL) };
#undef LABEL

_Static_assert(TEST_COUNT(kind_lbl) == KVMCMO_KIND__COUNT, "kind labels");
_Static_assert(TEST_COUNT(fault_lbl) == KVMCMO_FAULT__COUNT, "fault labels");
_Static_assert(TEST_COUNT(memslot_lbl) == KVMCMO_MEMSLOT__COUNT, "memslot labels");
_Static_assert(TEST_COUNT(outcome_lbl) == KVMCMO_OUTCOME__COUNT, "outcome labels");
_Static_assert(TEST_COUNT(dabt_lbl) == KVMCMO_DABT__COUNT, "dabt labels");
_Static_assert(TEST_COUNT(stat_lbl) == KVMCMO_STAT__COUNT, "stat labels");

static const char *label(const char *const *tab, unsigned int n, unsigned int v)
{
	return v < n ? tab[v] : "(out of range)";
}

#define KIND(v)    label(kind_lbl, KVMCMO_KIND__COUNT, (v))
#define FAULT(v)   label(fault_lbl, KVMCMO_FAULT__COUNT, (v))
#define MEMSLOT(v) label(memslot_lbl, KVMCMO_MEMSLOT__COUNT, (v))
#define OUTCOME(v) label(outcome_lbl, KVMCMO_OUTCOME__COUNT, (v))

/* shorter enum names for the tables */
enum {
	K_CMO = KVMCMO_KIND_CMO, K_S1PTW = KVMCMO_KIND_S1PTW,
	K_WRITE = KVMCMO_KIND_WRITE, K_READ = KVMCMO_KIND_READ,
	K_EXEC = KVMCMO_KIND_EXEC,
	F_TRANS = KVMCMO_FAULT_TRANSLATION, F_PERM = KVMCMO_FAULT_PERMISSION,
	F_AF = KVMCMO_FAULT_ACCESS_FLAG, F_OTHER = KVMCMO_FAULT_OTHER,
	M_NONE = KVMCMO_MEMSLOT_NONE, M_RO = KVMCMO_MEMSLOT_RO,
	M_LOG = KVMCMO_MEMSLOT_RW_DIRTY_LOG, M_RW = KVMCMO_MEMSLOT_RW,
};

#define EV_IO    KVMCMO_EV_IO_MEM_ABORT
#define EV_INJ   KVMCMO_EV_INJECT_DABT
#define EV_MAPW  KVMCMO_EV_MAP_W
#define EV_MAPR  KVMCMO_EV_MAP_R
#define EV_RELAX KVMCMO_EV_RELAX
#define EV_YOUNG KVMCMO_EV_MKYOUNG
#define EV_SKIP  KVMCMO_EV_SKIP
#define EV_SLOT  KVMCMO_EV_MEMSLOT
#define EV_ALL   (EV_IO | EV_INJ | EV_MAPW | EV_MAPR | EV_RELAX | EV_YOUNG | \
		  EV_SKIP | EV_SLOT)

#define MEM_LOG  1U     /* KVM_MEM_LOG_DIRTY_PAGES */
#define MEM_RO   2U     /* KVM_MEM_READONLY */
#define MEM_GMEM 4U     /* KVM_MEM_GUEST_MEMFD (6.8+) */

#define EXIT_UNKNOWN        0
#define EXIT_MMIO           6
#define EXIT_INTERNAL_ERROR 17
#define EXIT_SYSTEM_EVENT   24
#define EXIT_ARM_NISV       28

#define ENOSYS_ 38
#define EFAULT_ 14
#define ENOEXEC_ 8

/* ---- the header's ESR constants are the Arm ARM's -------------------- */

TEST(esr_bits_match_arm_arm)
{
	ASSERT_EQ(KVMCMO_ESR_EC_SHIFT, 26, "EC is ESR bits 31:26");
	ASSERT_EQ(KVMCMO_ESR_EC_MASK, 0x3f, "EC is 6 bits");
	ASSERT_EQ(KVMCMO_EC_IABT_LOW, EC_IABT_LOW, "instruction abort, lower EL");
	ASSERT_EQ(KVMCMO_EC_IABT_CUR, EC_IABT_CUR, "instruction abort, current EL");
	ASSERT_EQ(KVMCMO_EC_DABT_LOW, EC_DABT_LOW, "data abort, lower EL");
	ASSERT_EQ(KVMCMO_EC_DABT_CUR, EC_DABT_CUR, "data abort, current EL");
	ASSERT_EQ(KVMCMO_ESR_ISV, ESR_ISV, "ISV is bit 24");
	ASSERT_EQ(KVMCMO_ESR_CM, ESR_CM, "CM is bit 8");
	ASSERT_EQ(KVMCMO_ESR_S1PTW, ESR_S1PTW, "S1PTW is bit 7");
	ASSERT_EQ(KVMCMO_ESR_WNR, ESR_WNR, "WnR is bit 6");
	ASSERT_EQ(KVMCMO_ESR_FSC_MASK, 0x3f, "DFSC is bits 5:0");
	ASSERT_EQ(KVMCMO_FSC_TYPE_MASK, 0x3c, "fault type mask");
	ASSERT_EQ(KVMCMO_FSC_TRANSLATION, 0x04, "translation fault base");
	ASSERT_EQ(KVMCMO_FSC_ACCESS_FLAG, 0x08, "access flag fault base");
	ASSERT_EQ(KVMCMO_FSC_PERMISSION, 0x0c, "permission fault base");
	ASSERT_EQ(KVMCMO_FSC_TRANS_LM1, 0x2b, "translation fault level -1");
	ASSERT_EQ(KVMCMO_MEM_LOG_DIRTY_PAGES, MEM_LOG, "uapi KVM_MEM_LOG_DIRTY_PAGES");
	ASSERT_EQ(KVMCMO_MEM_READONLY, MEM_RO, "uapi KVM_MEM_READONLY");
	ASSERT_EQ(KVMCMO_EXIT_MMIO, EXIT_MMIO, "uapi KVM_EXIT_MMIO");
	ASSERT_EQ(KVMCMO_EXIT_ARM_NISV, EXIT_ARM_NISV, "uapi KVM_EXIT_ARM_NISV");
}

/* ---- kind: precedence truth table ----------------------------------- */

struct kind_row {
	const char *name;
	__u64 esr;      /* without EC */
	__u8 kind;
};

/*
 * cmo > s1ptw > write > read for data aborts, every CM/S1PTW/WnR
 * combination (DFSC: translation L3).  Each row runs as EC 0x24 and 0x25.
 */
static const struct kind_row dabt_precedence[] = {
	{ "dabt: -",               0,                             K_READ },
	{ "dabt: WnR",             ESR_WNR,                       K_WRITE },
	{ "dabt: S1PTW",           ESR_S1PTW,                     K_S1PTW },
	{ "dabt: S1PTW WnR",       ESR_S1PTW | ESR_WNR,           K_S1PTW },
	{ "dabt: CM",              ESR_CM,                        K_CMO },
	{ "dabt: CM WnR",          ESR_CM | ESR_WNR,              K_CMO },
	{ "dabt: CM S1PTW",        ESR_CM | ESR_S1PTW,            K_CMO },
	{ "dabt: CM S1PTW WnR",    ESR_CM | ESR_S1PTW | ESR_WNR,  K_CMO },
};

/*
 * Instruction aborts: CM (bit 8) and WnR (bit 6) are RES0 in the IFSC
 * ISS, so only S1PTW can change the kind.  Each row runs as EC 0x20/0x21.
 */
static const struct kind_row iabt_precedence[] = {
	{ "iabt: -",               0,                             K_EXEC },
	{ "iabt: WnR (RES0)",      ESR_WNR,                       K_EXEC },
	{ "iabt: S1PTW",           ESR_S1PTW,                     K_S1PTW },
	{ "iabt: S1PTW WnR",       ESR_S1PTW | ESR_WNR,           K_S1PTW },
	{ "iabt: CM (RES0)",       ESR_CM,                        K_EXEC },
	{ "iabt: CM WnR (RES0)",   ESR_CM | ESR_WNR,              K_EXEC },
	{ "iabt: CM S1PTW",        ESR_CM | ESR_S1PTW,            K_S1PTW },
	{ "iabt: CM S1PTW WnR",    ESR_CM | ESR_S1PTW | ESR_WNR,  K_S1PTW },
};

static void check_kind_rows(const struct kind_row *rows, unsigned int n,
			    unsigned int ec)
{
	for (unsigned int i = 0; i < n; i++) {
		__u64 esr = ESR_EC(ec) | ESR_IL | rows[i].esr | FSC_TRANS(3);

		ASSERT_STREQ(KIND(kvmcmo_classify_kind(esr)), KIND(rows[i].kind),
			     "%s, EC %#x, esr %#llx", rows[i].name, ec,
			     (unsigned long long)esr);
	}
}

TEST(kind_precedence)
{
	check_kind_rows(dabt_precedence, TEST_COUNT(dabt_precedence), EC_DABT_LOW);
	check_kind_rows(dabt_precedence, TEST_COUNT(dabt_precedence), EC_DABT_CUR);
	check_kind_rows(iabt_precedence, TEST_COUNT(iabt_precedence), EC_IABT_LOW);
	check_kind_rows(iabt_precedence, TEST_COUNT(iabt_precedence), EC_IABT_CUR);
}

/* ---- kind: every CM=1 instruction x every stage-2 fault -------------- */

/*
 * Instructions that report CM=1 in a Data Abort taken to EL2 (Arm ARM,
 * ESR_EL2 ISS for a Data Abort, CM: "generated by either the execution of
 * a cache maintenance instruction or by a synchronous fault on the
 * execution of an address translation instruction").  Only by-VA
 * operations can take a stage-2 abort: DC ISW/CSW/CISW (and the MTE
 * set/way forms) work on set/way and are trapped as system register
 * accesses (HCR_EL2.TSW), never as aborts.  DC ZVA, DC GVA and DC GZVA are
 * explicitly *not* cache maintenance for CM: they are writes (below).
 *
 * None of them has a valid syndrome: ISV=0 in every row (ISV=1 is only
 * for single general-purpose-register loads/stores).
 *
 * WnR: "For faults on cache maintenance and address translation
 * instructions, this bit always returns a value of 1."  Where the Arm ARM
 * allows otherwise: an AT instruction's stage-2 fault is always on the
 * stage-1 table walk (S1PTW=1), and for S1PTW=1 aborts the same WnR
 * description lets WnR describe the walk (read vs hardware AF/DBM update,
 * and "always 0" relaxations for walks of atomics) rather than the
 * instruction; KVM itself ignores WnR when S1PTW=1 (kvm_is_write_fault()).
 * So AT rows are checked with WnR=1 and WnR=0.
 */
struct cmo_insn {
	const char *name;
	int s1ptw;      /* AT: the stage-2 fault is on the stage-1 walk */
	int wnr0_too;   /* also check WnR=0 (see above) */
};

static const struct cmo_insn cmo_insns[] = {
	{ "DC IVAC",   0, 0 },
	{ "DC CIVAC",  0, 0 },
	{ "DC CVAC",   0, 0 },
	{ "DC CVAU",   0, 0 },
	{ "DC CVAP",   0, 0 },      /* FEAT_DPB */
	{ "DC CVADP",  0, 0 },      /* FEAT_DPB2 */
	/* FEAT_MTE: tag (and tag+data) maintenance by VA */
	{ "DC IGVAC",  0, 0 },
	{ "DC IGDVAC", 0, 0 },
	{ "DC CGVAC",  0, 0 },
	{ "DC CGDVAC", 0, 0 },
	{ "DC CGVAP",  0, 0 },
	{ "DC CGDVAP", 0, 0 },
	{ "DC CGVADP", 0, 0 },
	{ "DC CGDVADP", 0, 0 },
	{ "DC CIGVAC", 0, 0 },
	{ "DC CIGDVAC", 0, 0 },
	{ "IC IVAU",   0, 0 },
	/* address translation executed at EL1: stage-2 fault on the walk */
	{ "AT S1E1R",  1, 1 },
	{ "AT S1E1W",  1, 1 },
	{ "AT S1E0R",  1, 1 },
	{ "AT S1E0W",  1, 1 },
	{ "AT S1E1RP", 1, 1 },      /* FEAT_PAN2 */
	{ "AT S1E1WP", 1, 1 },      /* FEAT_PAN2 */
	{ "AT S1E1A",  1, 1 },      /* FEAT_ATS1A */
};

struct fsc_case {
	const char *name;
	__u32 fsc;
	__u8 fault;
};

/* the stage-2 faults a CMO can take */
static const struct fsc_case cmo_fscs[] = {
	{ "translation L0",  FSC_TRANS(0),  F_TRANS },
	{ "translation L1",  FSC_TRANS(1),  F_TRANS },
	{ "translation L2",  FSC_TRANS(2),  F_TRANS },
	{ "translation L3",  FSC_TRANS(3),  F_TRANS },
	{ "translation L-1", FSC_TRANS(-1), F_TRANS },
	{ "permission L1",   FSC_PERM(1),   F_PERM },
	{ "permission L2",   FSC_PERM(2),   F_PERM },
	{ "permission L3",   FSC_PERM(3),   F_PERM },
	{ "access flag L1",  FSC_AF(1),     F_AF },
	{ "access flag L2",  FSC_AF(2),     F_AF },
	{ "access flag L3",  FSC_AF(3),     F_AF },
};

static unsigned int cmo_rows_checked;

static void check_cmo(const struct cmo_insn *in, const struct fsc_case *fc,
		      unsigned int ec, int wnr)
{
	__u64 esr = ESR_EC(ec) | ESR_IL | ESR_CM | fc->fsc |
		    (wnr ? ESR_WNR : 0) | (in->s1ptw ? ESR_S1PTW : 0);

	cmo_rows_checked++;
	ASSERT_STREQ(KIND(kvmcmo_classify_kind(esr)), "cmo",
		     "%s, %s (EC %#x, WnR=%d, esr %#llx)", in->name, fc->name,
		     ec, wnr, (unsigned long long)esr);
	ASSERT_STREQ(FAULT(kvmcmo_classify_fault(esr)), FAULT(fc->fault),
		     "%s, %s (EC %#x, WnR=%d, esr %#llx)", in->name, fc->name,
		     ec, wnr, (unsigned long long)esr);
	ASSERT_TRUE(kvmcmo_dfault_kind(kvmcmo_classify_kind(esr)),
		    "%s, %s: a CMO can be half of a double fault", in->name,
		    fc->name);
}

TEST(kind_cmo_instructions)
{
	static const unsigned int ecs[] = { EC_DABT_LOW, EC_DABT_CUR };

	cmo_rows_checked = 0;
	for (unsigned int i = 0; i < TEST_COUNT(cmo_insns); i++)
		for (unsigned int f = 0; f < TEST_COUNT(cmo_fscs); f++)
			for (unsigned int e = 0; e < TEST_COUNT(ecs); e++) {
				check_cmo(&cmo_insns[i], &cmo_fscs[f], ecs[e], 1);
				if (cmo_insns[i].wnr0_too)
					check_cmo(&cmo_insns[i], &cmo_fscs[f], ecs[e], 0);
			}
	/* 17 DC/IC + 7 AT (x2 WnR) = 31 instruction rows x 11 DFSCs x 2 ECs */
	ASSERT_EQ(cmo_rows_checked, 31 * 11 * 2, "CMO cross product size");
}

/* ---- kind: named non-CMO rows --------------------------------------- */

struct esr_row {
	const char *name;
	__u64 esr;      /* full ESR */
	__u8 kind;
	__u8 fault;
};

static const struct esr_row kind_rows[] = {
	/* plain loads and stores */
	{ "LDR X0, ISV=1, translation L3",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SRT(0) | ESR_SF | FSC_TRANS(3), K_READ, F_TRANS },
	{ "STR X1, ISV=1, translation L3",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SRT(1) | ESR_SF | ESR_WNR | FSC_TRANS(3), K_WRITE, F_TRANS },
	{ "STR X1, ISV=1, permission L3 (dirty log)",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SRT(1) | ESR_SF | ESR_WNR | FSC_PERM(3), K_WRITE, F_PERM },
	{ "LDP X0, X1, ISV=0 (NISV), translation L2",
	  DABT | FSC_TRANS(2), K_READ, F_TRANS },
	{ "STP X0, X1, ISV=0 (NISV), translation L2",
	  DABT | ESR_WNR | FSC_TRANS(2), K_WRITE, F_TRANS },
	{ "LDR X0, access flag L3",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SF | FSC_AF(3), K_READ, F_AF },
	{ "LDR X0, external abort (EA, FnV)",
	  DABT | ESR_EA | ESR_FNV | 0x10, K_READ, F_OTHER },
	{ "LDR X0 at EL2 (EC 0x25), translation L3",
	  ESR_EC(EC_DABT_CUR) | ESR_IL | FSC_TRANS(3), K_READ, F_TRANS },
	/* zeroing is not maintenance: CM=0, reported as a write */
	{ "DC ZVA, translation L3",
	  DABT | ESR_WNR | FSC_TRANS(3), K_WRITE, F_TRANS },
	{ "DC ZVA, permission L3",
	  DABT | ESR_WNR | FSC_PERM(3), K_WRITE, F_PERM },
	{ "DC GVA (FEAT_MTE), translation L3",
	  DABT | ESR_WNR | FSC_TRANS(3), K_WRITE, F_TRANS },
	{ "DC GZVA (FEAT_MTE), permission L3",
	  DABT | ESR_WNR | FSC_PERM(3), K_WRITE, F_PERM },
	/* what QEMU reports for DC CVAP (shared/KERNELS.md): a plain read */
	{ "DC CVAP as QEMU TCG reports it (CM=0, WnR=0)",
	  DABT | FSC_TRANS(3), K_READ, F_TRANS },
	/* stage-2 faults on the stage-1 walk of ordinary accesses */
	{ "LDR X0, S1PTW walk read, translation L3",
	  DABT | ESR_S1PTW | FSC_TRANS(3), K_S1PTW, F_TRANS },
	{ "STR X0, S1PTW walk, translation L3 (WnR=1)",
	  DABT | ESR_S1PTW | ESR_WNR | FSC_TRANS(3), K_S1PTW, F_TRANS },
	{ "LDR X0, S1PTW hardware AF update, permission L3",
	  DABT | ESR_S1PTW | ESR_WNR | FSC_PERM(3), K_S1PTW, F_PERM },
	{ "LDR X0, S1PTW, translation L-1",
	  DABT | ESR_S1PTW | FSC_TRANS(-1), K_S1PTW, F_TRANS },
	/* instruction aborts */
	{ "instruction fetch, translation L3",
	  IABT | FSC_TRANS(3), K_EXEC, F_TRANS },
	{ "instruction fetch, permission L3 (XN)",
	  IABT | FSC_PERM(3), K_EXEC, F_PERM },
	{ "instruction fetch at EL2 (EC 0x21), translation L2",
	  ESR_EC(EC_IABT_CUR) | ESR_IL | FSC_TRANS(2), K_EXEC, F_TRANS },
	{ "instruction fetch, S1PTW, translation L1",
	  IABT | ESR_S1PTW | FSC_TRANS(1), K_S1PTW, F_TRANS },
	{ "instruction fetch, S1PTW, permission L3",
	  IABT | ESR_S1PTW | FSC_PERM(3), K_S1PTW, F_PERM },
	{ "instruction fetch, WnR set (RES0), translation L3",
	  IABT | ESR_WNR | FSC_TRANS(3), K_EXEC, F_TRANS },
	{ "instruction fetch, CM set (RES0), translation L3",
	  IABT | ESR_CM | FSC_TRANS(3), K_EXEC, F_TRANS },
	/* bits above the ISS (ISS2, ESR[63:32]) never change the kind */
	{ "DC CIVAC with ESR[63:32] (ISS2) bits set, translation L3",
	  (0xffffffffULL << 32) | DABT | ESR_CM | ESR_WNR | FSC_TRANS(3), K_CMO, F_TRANS },
	{ "LDR X0 with ESR[63:32] (ISS2) bits set, permission L3",
	  (0xffffffffULL << 32) | DABT | FSC_PERM(3), K_READ, F_PERM },
};

TEST(kind_named_rows)
{
	for (unsigned int i = 0; i < TEST_COUNT(kind_rows); i++) {
		const struct esr_row *r = &kind_rows[i];

		ASSERT_STREQ(KIND(kvmcmo_classify_kind(r->esr)), KIND(r->kind),
			     "%s (esr %#llx)", r->name, (unsigned long long)r->esr);
		ASSERT_STREQ(FAULT(kvmcmo_classify_fault(r->esr)), FAULT(r->fault),
			     "%s (esr %#llx)", r->name, (unsigned long long)r->esr);
	}
}

/* ---- fault: every DFSC ---------------------------------------------- */

/*
 * The DFSC encodings of the Arm ARM (ESR_EL2 ISS for a Data Abort), and
 * what the kernel's esr_fsc_is_translation_fault()/permission/access-flag
 * helpers (arch/arm64/include/asm/esr.h, 6.9+) say: translation = 0x04-0x07
 * and 0x2b (level -1), permission = 0x0c-0x0f, access flag = 0x08-0x0b.
 * The header agrees on all 64 values.  0x2a (translation, level -2,
 * FEAT_D128) is "other" for both: neither KVM nor this header knows D128.
 */
static const struct fsc_case all_fscs[64] = {
	{ "address size L0",                    0x00, F_OTHER },
	{ "address size L1",                    0x01, F_OTHER },
	{ "address size L2",                    0x02, F_OTHER },
	{ "address size L3",                    0x03, F_OTHER },
	{ "translation L0",                     0x04, F_TRANS },
	{ "translation L1",                     0x05, F_TRANS },
	{ "translation L2",                     0x06, F_TRANS },
	{ "translation L3",                     0x07, F_TRANS },
	{ "access flag L0 (FEAT_LPA2)",         0x08, F_AF },
	{ "access flag L1",                     0x09, F_AF },
	{ "access flag L2",                     0x0a, F_AF },
	{ "access flag L3",                     0x0b, F_AF },
	{ "permission L0 (FEAT_LPA2)",          0x0c, F_PERM },
	{ "permission L1",                      0x0d, F_PERM },
	{ "permission L2",                      0x0e, F_PERM },
	{ "permission L3",                      0x0f, F_PERM },
	{ "synchronous external abort",         0x10, F_OTHER },
	{ "synchronous tag check (FEAT_MTE2)",  0x11, F_OTHER },
	{ "reserved 0x12",                      0x12, F_OTHER },
	{ "SEA on walk L-1",                    0x13, F_OTHER },
	{ "SEA on walk L0",                     0x14, F_OTHER },
	{ "SEA on walk L1",                     0x15, F_OTHER },
	{ "SEA on walk L2",                     0x16, F_OTHER },
	{ "SEA on walk L3",                     0x17, F_OTHER },
	{ "parity/ECC error",                   0x18, F_OTHER },
	{ "reserved 0x19",                      0x19, F_OTHER },
	{ "reserved 0x1a",                      0x1a, F_OTHER },
	{ "parity/ECC on walk L-1",             0x1b, F_OTHER },
	{ "parity/ECC on walk L0",              0x1c, F_OTHER },
	{ "parity/ECC on walk L1",              0x1d, F_OTHER },
	{ "parity/ECC on walk L2",              0x1e, F_OTHER },
	{ "parity/ECC on walk L3",              0x1f, F_OTHER },
	{ "reserved 0x20",                      0x20, F_OTHER },
	{ "alignment fault",                    0x21, F_OTHER },
	{ "GPF on walk L-2 (FEAT_RME)",         0x22, F_OTHER },
	{ "GPF on walk L-1 (FEAT_RME)",         0x23, F_OTHER },
	{ "GPF on walk L0 (FEAT_RME)",          0x24, F_OTHER },
	{ "GPF on walk L1 (FEAT_RME)",          0x25, F_OTHER },
	{ "GPF on walk L2 (FEAT_RME)",          0x26, F_OTHER },
	{ "GPF on walk L3 (FEAT_RME)",          0x27, F_OTHER },
	{ "GPF not on walk (FEAT_RME)",         0x28, F_OTHER },
	{ "address size L-1 (FEAT_LPA2)",       0x29, F_OTHER },
	{ "translation L-2 (FEAT_D128)",        0x2a, F_OTHER },
	{ "translation L-1 (FEAT_LPA2)",        0x2b, F_TRANS },
	{ "address size L-2 (FEAT_D128)",       0x2c, F_OTHER },
	{ "reserved 0x2d",                      0x2d, F_OTHER },
	{ "reserved 0x2e",                      0x2e, F_OTHER },
	{ "reserved 0x2f",                      0x2f, F_OTHER },
	{ "TLB conflict abort",                 0x30, F_OTHER },
	{ "unsupported atomic hardware update", 0x31, F_OTHER },
	{ "reserved 0x32",                      0x32, F_OTHER },
	{ "reserved 0x33",                      0x33, F_OTHER },
	{ "IMPDEF (lockdown)",                  0x34, F_OTHER },
	{ "IMPDEF (unsupported exclusive/atomic)", 0x35, F_OTHER },
	{ "reserved 0x36",                      0x36, F_OTHER },
	{ "reserved 0x37",                      0x37, F_OTHER },
	{ "reserved 0x38",                      0x38, F_OTHER },
	{ "reserved 0x39",                      0x39, F_OTHER },
	{ "reserved 0x3a",                      0x3a, F_OTHER },
	{ "reserved 0x3b",                      0x3b, F_OTHER },
	{ "reserved 0x3c",                      0x3c, F_OTHER },
	{ "section domain fault (AArch32)",     0x3d, F_OTHER },
	{ "page domain fault (AArch32)",        0x3e, F_OTHER },
	{ "reserved 0x3f",                      0x3f, F_OTHER },
};

/* the kernel's helpers (6.9+ esr.h), restated, for the cross-check */
static __u8 kernel_fault(__u32 fsc)
{
	if ((fsc >= 0x04 && fsc <= 0x07) || fsc == 0x2b)
		return F_TRANS;
	if (fsc >= 0x0c && fsc <= 0x0f)
		return F_PERM;
	if (fsc >= 0x08 && fsc <= 0x0b)
		return F_AF;
	return F_OTHER;
}

TEST(fault_every_dfsc)
{
	/* ISS bits around the DFSC that must not leak into it */
	static const __u64 noise[] = {
		0, ESR_CM | ESR_S1PTW | ESR_WNR, ESR_ISV | ESR_SAS_D | ESR_SRT(31),
		ESR_EA | ESR_FNV, 0xffffffffULL << 32,
	};
	static const unsigned int ecs[] = {
		EC_DABT_LOW, EC_DABT_CUR, EC_IABT_LOW, EC_IABT_CUR,
	};

	for (unsigned int v = 0; v < 64; v++) {
		const struct fsc_case *c = &all_fscs[v];

		ASSERT_EQ(c->fsc, v, "table row %u out of order", v);
		ASSERT_STREQ(FAULT(c->fault), FAULT(kernel_fault(v)),
			     "DFSC %#04x %s: table vs kernel esr_fsc_is_*_fault()",
			     v, c->name);
		for (unsigned int e = 0; e < TEST_COUNT(ecs); e++)
			for (unsigned int n = 0; n < TEST_COUNT(noise); n++) {
				__u64 esr = ESR_EC(ecs[e]) | ESR_IL | noise[n] | v;

				ASSERT_STREQ(FAULT(kvmcmo_classify_fault(esr)),
					     FAULT(c->fault),
					     "DFSC %#04x %s (EC %#x, esr %#llx)",
					     v, c->name, ecs[e],
					     (unsigned long long)esr);
			}
	}
}

/* ---- memslot --------------------------------------------------------- */

TEST(memslot)
{
	static const struct {
		const char *name;
		int found;
		__u32 flags;
		__u8 want;
	} rows[] = {
		{ "no memslot",                       0, 0,                    M_NONE },
		{ "no memslot, stale RO flags",       0, MEM_RO,               M_NONE },
		{ "no memslot, stale RO|LOG flags",   0, MEM_RO | MEM_LOG,     M_NONE },
		{ "no memslot, stale LOG flags",      0, MEM_LOG,              M_NONE },
		{ "plain memslot",                    1, 0,                    M_RW },
		{ "guest_memfd memslot",              1, MEM_GMEM,             M_RW },
		{ "dirty-logging memslot",            1, MEM_LOG,              M_LOG },
		{ "dirty-logging guest_memfd memslot", 1, MEM_LOG | MEM_GMEM,  M_LOG },
		{ "read-only memslot",                1, MEM_RO,               M_RO },
		{ "read-only dirty-logging memslot (ro wins)", 1, MEM_RO | MEM_LOG, M_RO },
		{ "read-only memslot, unknown high flags", 1, MEM_RO | 0xfff00000U, M_RO },
		{ "plain memslot, unknown high flags", 1, 0xfff00000U,         M_RW },
		{ "found passed as 2 (any non-zero)", 2, 0,                    M_RW },
	};

	for (unsigned int i = 0; i < TEST_COUNT(rows); i++)
		ASSERT_STREQ(MEMSLOT(kvmcmo_classify_memslot(rows[i].found, rows[i].flags)),
			     MEMSLOT(rows[i].want), "%s (found=%d flags=%#x)",
			     rows[i].name, rows[i].found, rows[i].flags);
}

/* ---- outcome: the observation table ----------------------------------- */

struct outcome_row {
	const char *name;
	struct kvmcmo_obs obs;  /* ret, events, exit_reason */
	__u8 want;
};

#define O(ret, ev, exit) { (ret), (ev), (exit) }

static const struct outcome_row outcome_rows[] = {
	/* a negative return fails KVM_RUN whatever else was seen */
	{ "ret -ENOSYS, io, NISV exit reason (no KVM_CAP_ARM_NISV_TO_USER)",
	  O(-ENOSYS_, EV_SLOT | EV_IO, EXIT_ARM_NISV), KVMCMO_OUTCOME_ERROR },
	{ "ret -EFAULT after a writable map",
	  O(-EFAULT_, EV_SLOT | EV_MAPW, EXIT_UNKNOWN), KVMCMO_OUTCOME_ERROR },
	{ "ret -ENOEXEC (instruction fetch from no memory)",
	  O(-ENOEXEC_, 0, EXIT_UNKNOWN), KVMCMO_OUTCOME_ERROR },
	{ "ret -1, every event",
	  O(-1, EV_ALL, EXIT_MMIO), KVMCMO_OUTCOME_ERROR },
	{ "ret INT64_MIN, injected abort",
	  O(INT64_MIN, EV_INJ, EXIT_UNKNOWN), KVMCMO_OUTCOME_ERROR },
	/* an injected abort is what the guest sees next: beats io */
	{ "inject_dabt alone",
	  O(1, EV_INJ, EXIT_UNKNOWN), KVMCMO_OUTCOME_INJECT_DABT },
	{ "inject_dabt from io_mem_abort (S1PTW into io memory)",
	  O(1, EV_IO | EV_INJ, EXIT_UNKNOWN), KVMCMO_OUTCOME_INJECT_DABT },
	{ "inject_dabt with io, ret 0, MMIO exit reason",
	  O(0, EV_IO | EV_INJ, EXIT_MMIO), KVMCMO_OUTCOME_INJECT_DABT },
	{ "inject_dabt with io, ret 0, NISV exit reason",
	  O(0, EV_IO | EV_INJ, EXIT_ARM_NISV), KVMCMO_OUTCOME_INJECT_DABT },
	{ "inject_dabt with a map and relax",
	  O(1, EV_SLOT | EV_INJ | EV_MAPW | EV_RELAX, EXIT_UNKNOWN), KVMCMO_OUTCOME_INJECT_DABT },
	{ "every event, ret 1",
	  O(1, EV_ALL, EXIT_MMIO), KVMCMO_OUTCOME_INJECT_DABT },
	/* io_mem_abort: decided by where it went */
	{ "io, ret 1 (handled in kernel)",
	  O(1, EV_IO, EXIT_UNKNOWN), KVMCMO_OUTCOME_MMIO_KERNEL },
	{ "io, ret 1, stale MMIO exit reason",
	  O(1, EV_IO, EXIT_MMIO), KVMCMO_OUTCOME_MMIO_KERNEL },
	{ "io, ret 1, stale NISV exit reason",
	  O(1, EV_IO, EXIT_ARM_NISV), KVMCMO_OUTCOME_MMIO_KERNEL },
	{ "io, ret 0, KVM_EXIT_MMIO",
	  O(0, EV_IO, EXIT_MMIO), KVMCMO_OUTCOME_MMIO_USER },
	{ "io in ro memslot, ret 0, KVM_EXIT_MMIO",
	  O(0, EV_SLOT | EV_IO, EXIT_MMIO), KVMCMO_OUTCOME_MMIO_USER },
	{ "io, ret 0, KVM_EXIT_ARM_NISV",
	  O(0, EV_IO, EXIT_ARM_NISV), KVMCMO_OUTCOME_NISV },
	{ "io, ret 0, KVM_EXIT_UNKNOWN",
	  O(0, EV_IO, EXIT_UNKNOWN), KVMCMO_OUTCOME_OTHER },
	{ "io, ret 0, KVM_EXIT_INTERNAL_ERROR",
	  O(0, EV_IO, EXIT_INTERNAL_ERROR), KVMCMO_OUTCOME_OTHER },
	{ "io, ret 0, KVM_EXIT_SYSTEM_EVENT",
	  O(0, EV_IO, EXIT_SYSTEM_EVENT), KVMCMO_OUTCOME_OTHER },
	{ "io, ret 0, exit reason 0xffffffff",
	  O(0, EV_IO, 0xffffffffU), KVMCMO_OUTCOME_OTHER },
	{ "io beats a map (ret 1)",
	  O(1, EV_IO | EV_MAPW | EV_RELAX, EXIT_UNKNOWN), KVMCMO_OUTCOME_MMIO_KERNEL },
	/* stage-2 updates: relax > map_rw > map_ro > access_flag > skip */
	{ "relax alone",
	  O(1, EV_SLOT | EV_RELAX, EXIT_UNKNOWN), KVMCMO_OUTCOME_RELAX },
	{ "relax beats writable map",
	  O(1, EV_SLOT | EV_RELAX | EV_MAPW, EXIT_UNKNOWN), KVMCMO_OUTCOME_RELAX },
	{ "relax beats read-only map",
	  O(1, EV_SLOT | EV_RELAX | EV_MAPR, EXIT_UNKNOWN), KVMCMO_OUTCOME_RELAX },
	{ "relax beats mkyoung and skip",
	  O(1, EV_RELAX | EV_YOUNG | EV_SKIP, EXIT_UNKNOWN), KVMCMO_OUTCOME_RELAX },
	{ "writable map",
	  O(1, EV_SLOT | EV_MAPW, EXIT_UNKNOWN), KVMCMO_OUTCOME_MAP_RW },
	{ "writable map, ret 0",
	  O(0, EV_SLOT | EV_MAPW, EXIT_MMIO), KVMCMO_OUTCOME_MAP_RW },
	{ "writable and read-only map: map_rw",
	  O(1, EV_SLOT | EV_MAPW | EV_MAPR, EXIT_UNKNOWN), KVMCMO_OUTCOME_MAP_RW },
	{ "read-only map",
	  O(1, EV_SLOT | EV_MAPR, EXIT_UNKNOWN), KVMCMO_OUTCOME_MAP_RO },
	{ "read-only map beats mkyoung",
	  O(1, EV_MAPR | EV_YOUNG, EXIT_UNKNOWN), KVMCMO_OUTCOME_MAP_RO },
	{ "mkyoung",
	  O(1, EV_SLOT | EV_YOUNG, EXIT_UNKNOWN), KVMCMO_OUTCOME_ACCESS_FLAG },
	{ "mkyoung beats skip",
	  O(1, EV_YOUNG | EV_SKIP, EXIT_UNKNOWN), KVMCMO_OUTCOME_ACCESS_FLAG },
	{ "skip (CMO outside memslots)",
	  O(1, EV_SKIP, EXIT_UNKNOWN), KVMCMO_OUTCOME_SKIP },
	/* nothing seen */
	{ "nothing, ret 1 (e.g. raced with another vCPU)",
	  O(1, 0, EXIT_UNKNOWN), KVMCMO_OUTCOME_OTHER },
	{ "nothing, ret 0",
	  O(0, 0, EXIT_MMIO), KVMCMO_OUTCOME_OTHER },
	{ "memslot bit only",
	  O(1, EV_SLOT, EXIT_UNKNOWN), KVMCMO_OUTCOME_OTHER },
	{ "nothing, ret 0, NISV exit reason but no io",
	  O(0, 0, EXIT_ARM_NISV), KVMCMO_OUTCOME_OTHER },
	{ "unknown event bits only",
	  O(1, 0xffffff00U, EXIT_UNKNOWN), KVMCMO_OUTCOME_OTHER },
};

TEST(outcome)
{
	for (unsigned int i = 0; i < TEST_COUNT(outcome_rows); i++) {
		const struct outcome_row *r = &outcome_rows[i];

		ASSERT_STREQ(OUTCOME(kvmcmo_classify_outcome(&r->obs)), OUTCOME(r->want),
			     "%s (ret %lld, events %#x, exit %u)", r->name,
			     (long long)r->obs.ret, r->obs.events, r->obs.exit_reason);
	}
}

/* ---- the seed scenario: DC IVAC / DC CIVAC, mainline vs the RFC -------- */

/*
 * shared/seed: "[PATCH] KVM: arm64: Handle CMOs on Read Only memslots"
 * (Marc Zyngier, Feb 2021, never merged), and shared/KERNELS.md "What KVM
 * does with a CMO abort".  Each row is one kvm_handle_guest_abort() call:
 * the ESR the guest's instruction produces, the memslot it hits and what
 * the BPF side would observe, and the labels that must come out.
 *
 * pair: 1 = this row and the previous one are the same instruction faulting
 * twice on the same page (translation, then permission) and must be
 * counted as a double fault; 2 = a translation-then-permission pair that
 * must NOT be (different kinds).
 */
#define CMO_IVAC(fsc)   (DABT | ESR_CM | ESR_WNR | (fsc))
#define CMO_CIVAC(fsc)  (DABT | ESR_CM | ESR_WNR | (fsc))  /* same ISS */
#define AT_S1E1R(fsc)   (DABT | ESR_CM | ESR_S1PTW | ESR_WNR | (fsc))

struct scen_row {
	const char *name;
	__u64 esr;
	int found;
	__u32 flags;
	struct kvmcmo_obs obs;
	__u8 kind, fault, memslot, outcome;
	int pair;
};

static const struct scen_row seed_rows[] = {
	/* mainline, 5.10 .. 7.x: WnR=1 makes a CMO a write fault */
	{ "mainline: DC IVAC, rw memslot, unmapped page -> mapped writable",
	  CMO_IVAC(FSC_TRANS(3)), 1, 0, O(1, EV_SLOT | EV_MAPW, 0),
	  K_CMO, F_TRANS, M_RW, KVMCMO_OUTCOME_MAP_RW, 0 },
	{ "mainline: DC CIVAC, rw memslot, unmapped page -> mapped writable",
	  CMO_CIVAC(FSC_TRANS(3)), 1, 0, O(1, EV_SLOT | EV_MAPW, 0),
	  K_CMO, F_TRANS, M_RW, KVMCMO_OUTCOME_MAP_RW, 0 },
	{ "mainline: DC CIVAC, dirty-logging memslot, unmapped -> mapped writable",
	  CMO_CIVAC(FSC_TRANS(3)), 1, MEM_LOG, O(1, EV_SLOT | EV_MAPW, 0),
	  K_CMO, F_TRANS, M_LOG, KVMCMO_OUTCOME_MAP_RW, 0 },
	{ "mainline: DC CIVAC, dirty-logging memslot, mapped ro by a read -> relax",
	  CMO_CIVAC(FSC_PERM(3)), 1, MEM_LOG, O(1, EV_SLOT | EV_RELAX, 0),
	  K_CMO, F_PERM, M_LOG, KVMCMO_OUTCOME_RELAX, 0 },
	{ "mainline: DC IVAC, outside memslots -> skipped",
	  CMO_IVAC(FSC_TRANS(3)), 0, 0, O(1, EV_SKIP, 0),
	  K_CMO, F_TRANS, M_NONE, KVMCMO_OUTCOME_SKIP, 0 },
	{ "mainline: DC CIVAC, outside memslots -> skipped",
	  CMO_CIVAC(FSC_TRANS(2)), 0, 0, O(1, EV_SKIP, 0),
	  K_CMO, F_TRANS, M_NONE, KVMCMO_OUTCOME_SKIP, 0 },
	{ "mainline: DC IVAC, ro memslot, NISV_TO_USER -> KVM_EXIT_ARM_NISV",
	  CMO_IVAC(FSC_TRANS(3)), 1, MEM_RO, O(0, EV_SLOT | EV_IO, EXIT_ARM_NISV),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_NISV, 0 },
	{ "mainline: DC CIVAC, ro memslot, NISV_TO_USER -> KVM_EXIT_ARM_NISV",
	  CMO_CIVAC(FSC_TRANS(3)), 1, MEM_RO, O(0, EV_SLOT | EV_IO, EXIT_ARM_NISV),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_NISV, 0 },
	{ "mainline: DC CIVAC, ro memslot mapped ro by a read -> KVM_EXIT_ARM_NISV",
	  CMO_CIVAC(FSC_PERM(3)), 1, MEM_RO, O(0, EV_SLOT | EV_IO, EXIT_ARM_NISV),
	  K_CMO, F_PERM, M_RO, KVMCMO_OUTCOME_NISV, 0 },
	{ "mainline: DC CIVAC, ro memslot, no NISV_TO_USER -> KVM_RUN -ENOSYS",
	  CMO_CIVAC(FSC_TRANS(3)), 1, MEM_RO, O(-ENOSYS_, EV_SLOT | EV_IO, 0),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_ERROR, 0 },
	{ "mainline: DC IVAC, ro dirty-logging memslot -> KVM_EXIT_ARM_NISV",
	  CMO_IVAC(FSC_TRANS(3)), 1, MEM_RO | MEM_LOG, O(0, EV_SLOT | EV_IO, EXIT_ARM_NISV),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_NISV, 0 },
	/*
	 * mainline: an AT whose stage-1 walk hits no memory: S1PTW is checked
	 * before CM in kvm_handle_guest_abort(), so KVM injects an abort;
	 * kvmcmo still counts it as "cmo" (CM wins over S1PTW).
	 */
	{ "mainline: AT S1E1R, guest page tables outside memslots -> inject",
	  AT_S1E1R(FSC_TRANS(3)), 0, 0, O(1, EV_INJ, 0),
	  K_CMO, F_TRANS, M_NONE, KVMCMO_OUTCOME_INJECT_DABT, 0 },
	/*
	 * mainline double fault that is not a CMO: guest page tables in a
	 * rw memslot, guest uses hardware AF/DB: the S1PTW translation fault
	 * maps the table read-only, the AF update then takes a permission
	 * fault (comment in kvm_is_write_fault()).
	 */
	{ "mainline: S1PTW, rw memslot, 1st: translation -> map ro",
	  DABT | ESR_S1PTW | FSC_TRANS(3), 1, 0, O(1, EV_SLOT | EV_MAPR, 0),
	  K_S1PTW, F_TRANS, M_RW, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "mainline: S1PTW, rw memslot, 2nd: HW AF update permission -> relax",
	  DABT | ESR_S1PTW | ESR_WNR | FSC_PERM(3), 1, 0, O(1, EV_SLOT | EV_RELAX, 0),
	  K_S1PTW, F_PERM, M_RW, KVMCMO_OUTCOME_RELAX, 1 },
	/* and one that must not be: a read then a write to a dirty-logged page */
	{ "mainline: LDR, dirty-logging memslot, 1st: translation -> map ro",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SF | FSC_TRANS(3), 1, MEM_LOG,
	  O(1, EV_SLOT | EV_MAPR, 0),
	  K_READ, F_TRANS, M_LOG, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "mainline: STR, dirty-logging memslot, 2nd: permission -> relax",
	  DABT | ESR_ISV | ESR_SAS_D | ESR_SF | ESR_WNR | FSC_PERM(3), 1, MEM_LOG,
	  O(1, EV_SLOT | EV_RELAX, 0),
	  K_WRITE, F_PERM, M_LOG, KVMCMO_OUTCOME_RELAX, 2 },

	/*
	 * The seed RFC: a CMO translation fault maps read-only; a CMO
	 * permission fault in a ro memslot (only DC IVAC needs write
	 * permission) injects a data abort; in a rw memslot it is a write.
	 */
	{ "seed: DC IVAC, ro memslot, 1st: translation -> map ro",
	  CMO_IVAC(FSC_TRANS(3)), 1, MEM_RO, O(1, EV_SLOT | EV_MAPR, 0),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "seed: DC IVAC, ro memslot, 2nd: permission -> inject data abort",
	  CMO_IVAC(FSC_PERM(3)), 1, MEM_RO, O(1, EV_SLOT | EV_INJ, 0),
	  K_CMO, F_PERM, M_RO, KVMCMO_OUTCOME_INJECT_DABT, 1 },
	{ "seed: DC CIVAC, ro memslot: translation -> map ro (no 2nd fault)",
	  CMO_CIVAC(FSC_TRANS(3)), 1, MEM_RO, O(1, EV_SLOT | EV_MAPR, 0),
	  K_CMO, F_TRANS, M_RO, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "seed: DC IVAC, rw memslot, 1st: translation -> map ro",
	  CMO_IVAC(FSC_TRANS(3)), 1, 0, O(1, EV_SLOT | EV_MAPR, 0),
	  K_CMO, F_TRANS, M_RW, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "seed: DC IVAC, rw memslot, 2nd: permission -> relax (a write)",
	  CMO_IVAC(FSC_PERM(3)), 1, 0, O(1, EV_SLOT | EV_RELAX, 0),
	  K_CMO, F_PERM, M_RW, KVMCMO_OUTCOME_RELAX, 1 },
	{ "seed: DC CIVAC, rw memslot: translation -> map ro (no 2nd fault)",
	  CMO_CIVAC(FSC_TRANS(3)), 1, 0, O(1, EV_SLOT | EV_MAPR, 0),
	  K_CMO, F_TRANS, M_RW, KVMCMO_OUTCOME_MAP_RO, 0 },
	{ "seed: DC IVAC, outside memslots -> skipped (unchanged)",
	  CMO_IVAC(FSC_TRANS(3)), 0, 0, O(1, EV_SKIP, 0),
	  K_CMO, F_TRANS, M_NONE, KVMCMO_OUTCOME_SKIP, 0 },
};

TEST(seed_scenario)
{
	for (unsigned int i = 0; i < TEST_COUNT(seed_rows); i++) {
		const struct scen_row *r = &seed_rows[i];
		__u8 kind = kvmcmo_classify_kind(r->esr);
		__u8 fault = kvmcmo_classify_fault(r->esr);

		ASSERT_STREQ(KIND(kind), KIND(r->kind), "%s: kind", r->name);
		ASSERT_STREQ(FAULT(fault), FAULT(r->fault), "%s: fault", r->name);
		ASSERT_STREQ(MEMSLOT(kvmcmo_classify_memslot(r->found, r->flags)),
			     MEMSLOT(r->memslot), "%s: memslot", r->name);
		ASSERT_STREQ(OUTCOME(kvmcmo_classify_outcome(&r->obs)),
			     OUTCOME(r->outcome), "%s: outcome", r->name);

		if (r->pair && i > 0) {
			const struct scen_row *p = &seed_rows[i - 1];
			__u8 pkind = kvmcmo_classify_kind(p->esr);
			int is_dfault = pkind == kind &&
				kvmcmo_classify_fault(p->esr) == KVMCMO_FAULT_TRANSLATION &&
				fault == KVMCMO_FAULT_PERMISSION &&
				kvmcmo_dfault_kind(kind);

			ASSERT_EQ(is_dfault, r->pair == 1,
				  "%s after \"%s\": double fault", r->name, p->name);
		}
	}
}

/* ---- double-fault kinds ------------------------------------------------ */

TEST(dfault_kind)
{
	for (unsigned int k = 0; k < KVMCMO_KIND__COUNT; k++)
		ASSERT_EQ(!!kvmcmo_dfault_kind((__u8)k),
			  k == KVMCMO_KIND_CMO || k == KVMCMO_KIND_S1PTW,
			  "kind %s", KIND(k));
	ASSERT_EQ(!!kvmcmo_dfault_kind(KVMCMO_KIND__COUNT), 0, "kind __COUNT");
	ASSERT_EQ(!!kvmcmo_dfault_kind(255), 0, "kind 255");
}

/* ---- hist_slot ----------------------------------------------------------- */

TEST(hist_slot)
{
	static const struct {
		const char *name;
		__u64 v;
		__u32 slot;
	} rows[] = {
		{ "0",            0,                    0 },
		{ "1",            1,                    0 },
		{ "2",            2,                    1 },
		{ "3",            3,                    1 },
		{ "4",            4,                    2 },
		{ "1023",         1023,                 9 },
		{ "1024",         1024,                 10 },
		{ "2^32-1",       0xffffffffULL,        31 },
		{ "2^32",         1ULL << 32,           32 },
		{ "2^39-1",       (1ULL << 39) - 1,     38 },
		{ "2^39",         1ULL << 39,           39 },
		{ "2^40-1",       (1ULL << 40) - 1,     39 },
		{ "2^40",         1ULL << 40,           39 },
		{ "2^63",         1ULL << 63,           39 },
		{ "UINT64_MAX",   UINT64_MAX,           39 },
	};

	ASSERT_EQ(KVMCMO_HIST_SLOTS, 40, "slot count");
	for (unsigned int i = 0; i < TEST_COUNT(rows); i++)
		ASSERT_EQ(kvmcmo_hist_slot(rows[i].v), rows[i].slot, "v = %s", rows[i].name);
	/* every bucket boundary: 2^i goes to slot i, 2^i - 1 to slot i-1 */
	for (unsigned int i = 1; i < 64; i++) {
		__u32 want = i < KVMCMO_HIST_SLOTS ? i : KVMCMO_HIST_SLOTS - 1;
		__u32 below = i - 1 < KVMCMO_HIST_SLOTS ? i - 1 : KVMCMO_HIST_SLOTS - 1;

		ASSERT_EQ(kvmcmo_hist_slot(1ULL << i), want, "v = 2^%u", i);
		ASSERT_EQ(kvmcmo_hist_slot((1ULL << i) - 1), below, "v = 2^%u - 1", i);
	}
}

/* ---- label tables ----------------------------------------------------- */

static void check_distinct(const char *table, const char *const *l, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		ASSERT_TRUE(l[i] != NULL && l[i][0] != '\0', "%s label %u is empty", table, i);
		for (unsigned int j = i + 1; j < n; j++)
			ASSERT_TRUE(strcmp(l[i], l[j]) != 0,
				    "%s labels %u and %u are both \"%s\"", table, i, j, l[i]);
	}
}

static void check_exact(const char *table, const char *const *got, unsigned int ngot,
			const char *const *want, unsigned int nwant)
{
	ASSERT_EQ(ngot, nwant, "%s: number of labels", table);
	for (unsigned int i = 0; i < ngot && i < nwant; i++)
		ASSERT_STREQ(got[i], want[i], "%s label %u", table, i);
}

/* enum value <-> label, through the X-macros' own pairing */
struct enum_label {
	unsigned int v;
	const char *l;
};

#define PAIR_KIND(n, l)    { KVMCMO_KIND_##n, l },
#define PAIR_FAULT(n, l)   { KVMCMO_FAULT_##n, l },
#define PAIR_MEMSLOT(n, l) { KVMCMO_MEMSLOT_##n, l },
#define PAIR_OUTCOME(n, l) { KVMCMO_OUTCOME_##n, l },
#define PAIR_DABT(n, l)    { KVMCMO_DABT_##n, l },

TEST(labels)
{
	static const char *const kinds[] = { "cmo", "s1ptw", "write", "read", "exec" };
	static const char *const faults[] = {
		"translation", "permission", "access_flag", "other",
	};
	static const char *const memslots[] = { "none", "ro", "rw_dirty_log", "rw" };
	static const char *const outcomes[] = {
		"mmio_user", "nisv", "mmio_kernel", "inject_dabt", "map_rw",
		"map_ro", "relax", "access_flag", "skip", "error", "other",
	};
	static const char *const dabts[] = { "abort", "userspace" };
	static const struct enum_label pairs[] = {
		KVMCMO_KINDS(PAIR_KIND) KVMCMO_FAULTS(PAIR_FAULT)
		KVMCMO_MEMSLOTS(PAIR_MEMSLOT) KVMCMO_OUTCOMES(PAIR_OUTCOME)
		KVMCMO_DABT_SOURCES(PAIR_DABT)
	};
	static const struct enum_label named[] = {
		{ KVMCMO_KIND_CMO, "cmo" }, { KVMCMO_KIND_S1PTW, "s1ptw" },
		{ KVMCMO_KIND_WRITE, "write" }, { KVMCMO_KIND_READ, "read" },
		{ KVMCMO_KIND_EXEC, "exec" },
		{ KVMCMO_FAULT_TRANSLATION, "translation" },
		{ KVMCMO_FAULT_PERMISSION, "permission" },
		{ KVMCMO_FAULT_ACCESS_FLAG, "access_flag" },
		{ KVMCMO_FAULT_OTHER, "other" },
		{ KVMCMO_MEMSLOT_NONE, "none" }, { KVMCMO_MEMSLOT_RO, "ro" },
		{ KVMCMO_MEMSLOT_RW_DIRTY_LOG, "rw_dirty_log" },
		{ KVMCMO_MEMSLOT_RW, "rw" },
		{ KVMCMO_OUTCOME_MMIO_USER, "mmio_user" },
		{ KVMCMO_OUTCOME_NISV, "nisv" },
		{ KVMCMO_OUTCOME_MMIO_KERNEL, "mmio_kernel" },
		{ KVMCMO_OUTCOME_INJECT_DABT, "inject_dabt" },
		{ KVMCMO_OUTCOME_MAP_RW, "map_rw" },
		{ KVMCMO_OUTCOME_MAP_RO, "map_ro" },
		{ KVMCMO_OUTCOME_RELAX, "relax" },
		{ KVMCMO_OUTCOME_ACCESS_FLAG, "access_flag" },
		{ KVMCMO_OUTCOME_SKIP, "skip" },
		{ KVMCMO_OUTCOME_ERROR, "error" },
		{ KVMCMO_OUTCOME_OTHER, "other" },
		{ KVMCMO_DABT_ABORT, "abort" }, { KVMCMO_DABT_USERSPACE, "userspace" },
	};

	check_exact("kind", kind_lbl, TEST_COUNT(kind_lbl), kinds, TEST_COUNT(kinds));
	check_exact("fault", fault_lbl, TEST_COUNT(fault_lbl), faults, TEST_COUNT(faults));
	check_exact("memslot", memslot_lbl, TEST_COUNT(memslot_lbl),
		    memslots, TEST_COUNT(memslots));
	check_exact("outcome", outcome_lbl, TEST_COUNT(outcome_lbl),
		    outcomes, TEST_COUNT(outcomes));
	check_exact("dabt source", dabt_lbl, TEST_COUNT(dabt_lbl), dabts, TEST_COUNT(dabts));

	check_distinct("kind", kind_lbl, TEST_COUNT(kind_lbl));
	check_distinct("fault", fault_lbl, TEST_COUNT(fault_lbl));
	check_distinct("memslot", memslot_lbl, TEST_COUNT(memslot_lbl));
	check_distinct("outcome", outcome_lbl, TEST_COUNT(outcome_lbl));
	check_distinct("dabt source", dabt_lbl, TEST_COUNT(dabt_lbl));
	check_distinct("stat", stat_lbl, TEST_COUNT(stat_lbl));

	ASSERT_EQ(TEST_COUNT(pairs), TEST_COUNT(named), "enum/label pairs");
	for (unsigned int i = 0; i < TEST_COUNT(pairs) && i < TEST_COUNT(named); i++) {
		ASSERT_EQ(pairs[i].v, named[i].v, "enum value of \"%s\"", named[i].l);
		ASSERT_STREQ(pairs[i].l, named[i].l, "label %u of the X-macros", i);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(esr_bits_match_arm_arm),
	TEST_ENTRY(kind_precedence),
	TEST_ENTRY(kind_cmo_instructions),
	TEST_ENTRY(kind_named_rows),
	TEST_ENTRY(fault_every_dfsc),
	TEST_ENTRY(memslot),
	TEST_ENTRY(outcome),
	TEST_ENTRY(seed_scenario),
	TEST_ENTRY(dfault_kind),
	TEST_ENTRY(hist_slot),
	TEST_ENTRY(labels),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
