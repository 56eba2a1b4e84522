// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * guest.c - A64 encoder and program builder (see guest.h).
 * Encodings: Arm ARM (DDI 0487) C6.2; each is checked against GNU as by
 * tests/unit/test_guest_encode.c.
 */
#include <errno.h>

#include "guest.h"

#define R(x) ((uint32_t)(x) & 0x1f)

uint32_t a64_nop(void)
{
	return 0xd503201f;
}

/* MOVZ/MOVK (64-bit): sf=1, hw = shift / 16 */
uint32_t a64_movz(unsigned int rd, uint16_t imm16, unsigned int shift)
{
	return 0xd2800000 | ((shift / 16) & 3) << 21 | (uint32_t)imm16 << 5 | R(rd);
}

uint32_t a64_movk(unsigned int rd, uint16_t imm16, unsigned int shift)
{
	return 0xf2800000 | ((shift / 16) & 3) << 21 | (uint32_t)imm16 << 5 | R(rd);
}

/* LDR/STR (immediate, unsigned offset), 64-bit, offset 0 */
uint32_t a64_ldr(unsigned int rt, unsigned int rn)
{
	return 0xf9400000 | R(rn) << 5 | R(rt);
}

uint32_t a64_str(unsigned int rt, unsigned int rn)
{
	return 0xf9000000 | R(rn) << 5 | R(rt);
}

/* LDR (immediate, unsigned offset), 32-bit, offset 0 */
uint32_t a64_ldr_w(unsigned int rt, unsigned int rn)
{
	return 0xb9400000 | R(rn) << 5 | R(rt);
}

/* LDP (signed offset), 64-bit, offset 0 */
uint32_t a64_ldp(unsigned int rt, unsigned int rt2, unsigned int rn)
{
	return 0xa9400000 | R(rt2) << 10 | R(rn) << 5 | R(rt);
}

/* DC <op>, Xt is SYS #op1, C7, CRm, #op2, Xt */
uint32_t a64_dc(enum a64_dc_op op, unsigned int rt)
{
	static const struct { uint8_t op1, crm, op2; } enc[] = {
		[A64_DC_IVAC] = { 0, 6, 1 },
		[A64_DC_CIVAC] = { 3, 14, 1 },
		[A64_DC_CVAC] = { 3, 10, 1 },
		[A64_DC_CVAP] = { 3, 12, 1 },
	};

	return 0xd5080000 | (uint32_t)enc[op].op1 << 16 | 7u << 12 |
	       (uint32_t)enc[op].crm << 8 | (uint32_t)enc[op].op2 << 5 | R(rt);
}

uint32_t a64_blr(unsigned int rn)
{
	return 0xd63f0000 | R(rn) << 5;
}

uint32_t a64_ret(void)
{
	return 0xd65f0000 | R(A64_LR) << 5;
}

/* ADD/SUBS (immediate), 64-bit: sh selects LSL #12 */
static uint32_t addsub_imm(uint32_t base, unsigned int rd, unsigned int rn,
			   uint32_t imm)
{
	uint32_t sh = 0;

	if (imm >= 4096 && (imm & 0xfff) == 0) {
		sh = 1;
		imm >>= 12;
	}
	return base | sh << 22 | (imm & 0xfff) << 10 | R(rn) << 5 | R(rd);
}

uint32_t a64_add_imm(unsigned int rd, unsigned int rn, uint32_t imm)
{
	return addsub_imm(0x91000000, rd, rn, imm);
}

uint32_t a64_subs_imm(unsigned int rd, unsigned int rn, uint32_t imm)
{
	return addsub_imm(0xf1000000, rd, rn, imm);
}

/* UBFM Xd, Xn, #lsb, #(lsb + width - 1) */
uint32_t a64_ubfx(unsigned int rd, unsigned int rn, unsigned int lsb,
		  unsigned int width)
{
	return 0xd3400000 | (lsb & 0x3f) << 16 | ((lsb + width - 1) & 0x3f) << 10 |
	       R(rn) << 5 | R(rd);
}

/* ORR Xd, XZR, Xm (shifted register, LSL #0) */
uint32_t a64_mov(unsigned int rd, unsigned int rm)
{
	return 0xaa0003e0 | R(rm) << 16 | R(rd);
}

uint32_t a64_b(int32_t offset)
{
	return 0x14000000 | ((uint32_t)(offset / 4) & 0x3ffffff);
}

uint32_t a64_bcond(enum a64_cond cond, int32_t offset)
{
	return 0x54000000 | ((uint32_t)(offset / 4) & 0x7ffff) << 5 | (cond & 0xf);
}

uint32_t a64_hvc(uint16_t imm16)
{
	return 0xd4000002 | (uint32_t)imm16 << 5;
}

uint32_t a64_mrs(unsigned int rt, uint32_t sysreg)
{
	return 0xd5200000 | (sysreg & 0xffff) << 5 | R(rt);
}

uint32_t a64_msr(uint32_t sysreg, unsigned int rt)
{
	return 0xd5000000 | (sysreg & 0xffff) << 5 | R(rt);
}

uint32_t a64_eret(void)
{
	return 0xd69f03e0;
}

/* ---- builder -------------------------------------------------------- */

void guest_prog_init(struct guest_prog *p, uint32_t *buf, size_t cap_words)
{
	p->buf = buf;
	p->cap = cap_words;
	p->len = 0;
	p->err = 0;
}

size_t guest_emit(struct guest_prog *p, uint32_t insn)
{
	size_t idx = p->len;

	if (p->len >= p->cap) {
		p->err = -ENOSPC;
		return idx;
	}
	p->buf[p->len++] = insn;
	return idx;
}

void guest_emit_pad_to(struct guest_prog *p, size_t idx)
{
	if (p->len > idx) {
		p->err = -ENOSPC;
		return;
	}
	while (p->len < idx && !p->err)
		guest_emit(p, a64_nop());
}

void guest_emit_mov64(struct guest_prog *p, unsigned int rd, uint64_t v)
{
	int first = 1;

	if (!v) {
		guest_emit(p, a64_movz(rd, 0, 0));
		return;
	}
	for (unsigned int shift = 0; shift < 64; shift += 16) {
		uint16_t part = (uint16_t)(v >> shift);

		if (!part)
			continue;
		guest_emit(p, first ? a64_movz(rd, part, shift)
				    : a64_movk(rd, part, shift));
		first = 0;
	}
}

void guest_emit_bcond_to(struct guest_prog *p, enum a64_cond cond, size_t idx)
{
	int64_t off = ((int64_t)idx - (int64_t)p->len) * 4;

	if (off < -(1 << 20) || off >= (1 << 20)) {
		p->err = -ERANGE;
		return;
	}
	guest_emit(p, a64_bcond(cond, (int32_t)off));
}

static uint32_t loop_body(enum guest_op op)
{
	switch (op) {
	case GUEST_OP_READ:
		return a64_ldr(0, 1);
	case GUEST_OP_READ32:
		return a64_ldr_w(0, 1);
	case GUEST_OP_WRITE:
		return a64_str(0, 1);
	case GUEST_OP_LDP:
		return a64_ldp(5, 6, 1);
	case GUEST_OP_EXEC:
		return a64_blr(1);
	case GUEST_OP_DC_IVAC:
		return a64_dc(A64_DC_IVAC, 1);
	case GUEST_OP_DC_CIVAC:
		return a64_dc(A64_DC_CIVAC, 1);
	case GUEST_OP_DC_CVAC:
		return a64_dc(A64_DC_CVAC, 1);
	case GUEST_OP_DC_CVAP:
		return a64_dc(A64_DC_CVAP, 1);
	}
	return a64_nop();
}

void guest_emit_page_loop(struct guest_prog *p, enum guest_op op,
			  uint64_t base, uint64_t count, uint32_t stride)
{
	size_t top;

	if (!count)
		return;
	guest_emit_mov64(p, 1, base);
	guest_emit_mov64(p, 2, count);
	top = guest_emit(p, loop_body(op));
	guest_emit(p, a64_add_imm(1, 1, stride));
	guest_emit(p, a64_subs_imm(2, 2, 1));
	guest_emit_bcond_to(p, A64_NE, top);
}

void guest_emit_system_off(struct guest_prog *p)
{
	guest_emit_mov64(p, 0, GUEST_PSCI_SYSTEM_OFF);
	guest_emit(p, a64_hvc(0));
	/* not reached; if it is, spin rather than run into the vector */
	guest_emit(p, a64_b(0));
}

void guest_emit_sync_handler(struct guest_prog *p)
{
	guest_emit(p, a64_nop());
	guest_emit(p, a64_add_imm(20, 20, 1));
	guest_emit(p, a64_mrs(21, A64_SYSREG_ESR_EL1));
	guest_emit(p, a64_mrs(22, A64_SYSREG_FAR_EL1));
	guest_emit(p, a64_mrs(9, A64_SYSREG_ELR_EL1));
	guest_emit(p, a64_add_imm(9, 9, 4));
	/* EC 0x21, instruction abort at EL1: return to the BLR's x30 */
	guest_emit(p, a64_ubfx(10, 21, 26, 6));
	guest_emit(p, a64_subs_imm(A64_XZR, 10, 0x21));
	guest_emit(p, a64_bcond(A64_NE, 8));
	guest_emit(p, a64_mov(9, A64_LR));
	guest_emit(p, a64_msr(A64_SYSREG_ELR_EL1, 9));
	guest_emit(p, a64_eret());
}
