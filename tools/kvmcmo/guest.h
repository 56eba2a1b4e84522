/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * guest.h - a tiny arm64 (A64) instruction encoder and program builder for
 * the workload guests.
 *
 * The a64_*() functions are pure: they return one 32-bit instruction word.
 * Register numbers are 0..30 (31 is XZR or SP depending on the
 * instruction, as in the Arm ARM).  tests/unit/test_guest_encode.c checks
 * every one of them against GNU as.
 *
 * The guest_emit_*() functions append to a struct guest_prog.  Emitting
 * past the buffer sets ->err to -ENOSPC and drops the word; a branch
 * whose target is out of range sets -ERANGE.  Check ->err once at the end.
 */
#ifndef KVMCMO_GUEST_H
#define KVMCMO_GUEST_H

#include <stddef.h>
#include <stdint.h>

#define A64_XZR 31
#define A64_LR 30

/* condition codes for b.cond */
enum a64_cond {
	A64_EQ = 0x0, A64_NE = 0x1, A64_HS = 0x2, A64_LO = 0x3,
	A64_MI = 0x4, A64_PL = 0x5, A64_VS = 0x6, A64_VC = 0x7,
	A64_HI = 0x8, A64_LS = 0x9, A64_GE = 0xa, A64_LT = 0xb,
	A64_GT = 0xc, A64_LE = 0xd, A64_AL = 0xe,
};

/* system registers as (op0, op1, CRn, CRm, op2) packed for MRS/MSR */
#define A64_SYSREG(op0, op1, crn, crm, op2) \
	(((op0) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))
#define A64_SYSREG_ELR_EL1 A64_SYSREG(3, 0, 4, 0, 1)
#define A64_SYSREG_SPSR_EL1 A64_SYSREG(3, 0, 4, 0, 0)
#define A64_SYSREG_ESR_EL1 A64_SYSREG(3, 0, 5, 2, 0)
#define A64_SYSREG_FAR_EL1 A64_SYSREG(3, 0, 6, 0, 0)
#define A64_SYSREG_VBAR_EL1 A64_SYSREG(3, 0, 12, 0, 0)
#define A64_SYSREG_SCTLR_EL1 A64_SYSREG(3, 0, 1, 0, 0)
#define A64_SYSREG_TTBR0_EL1 A64_SYSREG(3, 0, 2, 0, 0)
#define A64_SYSREG_TCR_EL1 A64_SYSREG(3, 0, 2, 0, 2)
#define A64_SYSREG_MAIR_EL1 A64_SYSREG(3, 0, 10, 2, 0)
#define A64_SYSREG_ID_AA64MMFR1_EL1 A64_SYSREG(3, 0, 0, 7, 1)

/* data cache maintenance by VA (DC <op>, Xt) */
enum a64_dc_op {
	A64_DC_IVAC,    /* invalidate to PoC */
	A64_DC_CIVAC,   /* clean and invalidate to PoC */
	A64_DC_CVAC,    /* clean to PoC */
	A64_DC_CVAP,    /* clean to PoP (FEAT_DPB) */
};

/* ---- single instructions ------------------------------------------- */

uint32_t a64_nop(void);
uint32_t a64_movz(unsigned int rd, uint16_t imm16, unsigned int shift);
uint32_t a64_movk(unsigned int rd, uint16_t imm16, unsigned int shift);
uint32_t a64_ldr(unsigned int rt, unsigned int rn);     /* LDR Xt, [Xn] */
uint32_t a64_str(unsigned int rt, unsigned int rn);     /* STR Xt, [Xn] */
uint32_t a64_ldr_w(unsigned int rt, unsigned int rn);   /* LDR Wt, [Xn] */
uint32_t a64_ldp(unsigned int rt, unsigned int rt2, unsigned int rn);
uint32_t a64_dc(enum a64_dc_op op, unsigned int rt);
uint32_t a64_blr(unsigned int rn);
uint32_t a64_ret(void);                                 /* RET (x30) */
/* ADD Xd, Xn, #imm: imm < 4096, or a multiple of 4096 below 2^24 */
uint32_t a64_add_imm(unsigned int rd, unsigned int rn, uint32_t imm);
uint32_t a64_subs_imm(unsigned int rd, unsigned int rn, uint32_t imm);
/* UBFX Xd, Xn, #lsb, #width (UBFM); MOV Xd, Xm (ORR Xd, XZR, Xm) */
uint32_t a64_ubfx(unsigned int rd, unsigned int rn, unsigned int lsb,
		  unsigned int width);
uint32_t a64_mov(unsigned int rd, unsigned int rm);
/* branches: offset in bytes from this instruction, a multiple of 4 */
uint32_t a64_b(int32_t offset);
uint32_t a64_bcond(enum a64_cond cond, int32_t offset);
uint32_t a64_hvc(uint16_t imm16);
uint32_t a64_mrs(unsigned int rt, uint32_t sysreg);
uint32_t a64_msr(uint32_t sysreg, unsigned int rt);
uint32_t a64_eret(void);

/* ---- program builder ----------------------------------------------- */

struct guest_prog {
	uint32_t *buf;
	size_t cap;     /* words */
	size_t len;     /* words emitted */
	int err;        /* 0, -ENOSPC or -ERANGE */
};

void guest_prog_init(struct guest_prog *p, uint32_t *buf, size_t cap_words);
/* append one word; returns its index */
size_t guest_emit(struct guest_prog *p, uint32_t insn);
/* pad with NOPs up to word index `idx` (e.g. a vector table offset / 4) */
void guest_emit_pad_to(struct guest_prog *p, size_t idx);
/* load a 64-bit constant with movz + as few movk as needed */
void guest_emit_mov64(struct guest_prog *p, unsigned int rd, uint64_t v);
/* b.cond to an earlier (or later) word index */
void guest_emit_bcond_to(struct guest_prog *p, enum a64_cond cond, size_t idx);

/* what one iteration of a page loop does to the page at x1 */
enum guest_op {
	GUEST_OP_READ,          /* ldr x0, [x1] */
	GUEST_OP_READ32,        /* ldr w0, [x1]: a 32-bit device register */
	GUEST_OP_WRITE,         /* str x0, [x1] */
	GUEST_OP_LDP,           /* ldp x5, x6, [x1]: no valid ISS syndrome */
	GUEST_OP_EXEC,          /* blr x1 (the page must start with ret) */
	GUEST_OP_DC_IVAC,
	GUEST_OP_DC_CIVAC,
	GUEST_OP_DC_CVAC,
	GUEST_OP_DC_CVAP,
};

/*
 * for (x1 = base, x2 = count; x2; x1 += stride, x2--) op(x1)
 * count >= 1; stride as a64_add_imm() takes.  Uses x0..x6 and x30.
 */
void guest_emit_page_loop(struct guest_prog *p, enum guest_op op,
			  uint64_t base, uint64_t count, uint32_t stride);

/* PSCI 0.2 SYSTEM_OFF: x0 = 0x84000008; hvc #0 (KVM_EXIT_SYSTEM_EVENT) */
#define GUEST_PSCI_SYSTEM_OFF 0x84000008u
void guest_emit_system_off(struct guest_prog *p);

/*
 * A synchronous-exception handler that counts into x20, keeps the last
 * ESR_EL1 in x21 and FAR_EL1 in x22, steps ELR_EL1 over the instruction
 * that took the exception and returns.  An instruction abort taken at EL1
 * (EC 0x21: a branch to memory that cannot be fetched) has ELR_EL1 = the
 * branch target, so it returns to x30 instead (the caller used BLR); EC
 * is extracted, not shifted out, because 6.1 hands the guest an ESR_EL1
 * sign-extended into its RES0 upper half.  It
 * starts with a NOP: on 5.10 an abort injected with KVM_SET_VCPU_EVENTS
 * can make KVM skip the first instruction of the vector
 * (shared/KERNELS.md).  Uses x9 and x10.
 */
void guest_emit_sync_handler(struct guest_prog *p);

#endif /* KVMCMO_GUEST_H */
