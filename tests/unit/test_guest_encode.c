// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_guest_encode.c - tools/kvmcmo/guest.c against GNU as.
 *
 * Each test writes the same instructions as assembly text, assembles them
 * with ${CROSS_COMPILE:-aarch64-linux-gnu-}as, extracts the raw words with
 * objcopy -O binary and compares them word by word with what the encoder
 * produced.  No assembler means every test fails: an encoder test that
 * cannot check anything must not pass.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Itests/unit -Itools/kvmcmo \
 *        tests/unit/test_guest_encode.c tools/kvmcmo/guest.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "guest.h"

#define MAX_WORDS 256

/* a64 source lines paired with the encoder's words (one word per line) */
struct pair {
	const char *text;
	uint32_t word;
};

static const char *cross(void)
{
	const char *c = getenv("CROSS_COMPILE");

	return c ? c : "aarch64-linux-gnu-";
}

/*
 * Assemble `src` and return the number of 32-bit words in out[], or -1
 * (with a message) when the toolchain failed.
 */
static int assemble(const char *src, uint32_t *out, size_t max)
{
	char dir[] = "/tmp/kvmcmo-enc-XXXXXX";
	char s[64 + sizeof(dir)], o[64 + sizeof(dir)], b[64 + sizeof(dir)];
	char cmd[1024];
	FILE *f;
	long n = -1;

	if (!mkdtemp(dir)) {
		printf("  mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	snprintf(s, sizeof(s), "%s/t.s", dir);
	snprintf(o, sizeof(o), "%s/t.o", dir);
	snprintf(b, sizeof(b), "%s/t.bin", dir);
	f = fopen(s, "w");
	if (!f)
		goto out;
	fprintf(f, "\t.text\n%s\n", src);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%sas -o %s %s && %sobjcopy -O binary -j .text %s %s",
		 cross(), o, s, cross(), o, b);
	if (system(cmd) != 0) {
		printf("  assembler failed: %s\n", cmd);
		goto out;
	}
	f = fopen(b, "rb");
	if (!f)
		goto out;
	n = (long)fread(out, 4, max, f);
	fclose(f);
out:
	unlink(s);
	unlink(o);
	unlink(b);
	rmdir(dir);
	return (int)n;
}

/* compare encoder words with the assembly of `text` (host is little-endian) */
static void check_words(const char *what, const char *text,
			const uint32_t *words, size_t n)
{
	uint32_t as_words[MAX_WORDS];
	int got = assemble(text, as_words, MAX_WORDS);

	if (!ASSERT_TRUE(got >= 0, "%s: could not assemble", what))
		return;
	if (!ASSERT_EQ(got, n, "%s: word count", what))
		return;
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(words[i], as_words[i], "%s: word %zu", what, i);
}

static void check_pairs(const char *what, const struct pair *p, size_t n)
{
	char text[8192];
	uint32_t words[MAX_WORDS];
	size_t len = 0;

	for (size_t i = 0; i < n && i < MAX_WORDS; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "\t%s\n",
					p[i].text);
		words[i] = p[i].word;
	}
	check_words(what, text, words, n);
	/* on a mismatch, name the line: check_words only knows the index */
	if (test__cur_failures) {
		uint32_t as_words[MAX_WORDS];

		if (assemble(text, as_words, MAX_WORDS) == (int)n)
			for (size_t i = 0; i < n; i++)
				if (as_words[i] != p[i].word)
					printf("    %-28s as %08x, encoder %08x\n",
					       p[i].text, as_words[i], p[i].word);
	}
}

#define P(text, word) { text, word }

TEST(single_instructions)
{
	const struct pair p[] = {
		P("nop", a64_nop()),
		P("movz x0, #0x1234", a64_movz(0, 0x1234, 0)),
		P("movz x1, #0xffff, lsl #16", a64_movz(1, 0xffff, 16)),
		P("movz x30, #0x8000, lsl #48", a64_movz(30, 0x8000, 48)),
		P("movk x1, #0x4000, lsl #16", a64_movk(1, 0x4000, 16)),
		P("movk x2, #0xabcd, lsl #32", a64_movk(2, 0xabcd, 32)),
		P("movk x7, #1", a64_movk(7, 1, 0)),
		P("ldr x0, [x1]", a64_ldr(0, 1)),
		P("ldr x9, [x30]", a64_ldr(9, 30)),
		P("ldr x0, [sp]", a64_ldr(0, 31)),
		P("str x0, [x1]", a64_str(0, 1)),
		P("str x30, [x2]", a64_str(30, 2)),
		P("ldr w0, [x1]", a64_ldr_w(0, 1)),
		P("ldr w30, [x7]", a64_ldr_w(30, 7)),
		P("ldp x2, x3, [x1]", a64_ldp(2, 3, 1)),
		P("ldp x5, x6, [x1]", a64_ldp(5, 6, 1)),
		P("dc ivac, x1", a64_dc(A64_DC_IVAC, 1)),
		P("dc civac, x1", a64_dc(A64_DC_CIVAC, 1)),
		P("dc cvac, x1", a64_dc(A64_DC_CVAC, 1)),
		P(".arch armv8.2-a\n\tdc cvap, x1", a64_dc(A64_DC_CVAP, 1)),
		P("dc civac, x17", a64_dc(A64_DC_CIVAC, 17)),
		P("blr x1", a64_blr(1)),
		P("blr x30", a64_blr(30)),
		P("ret", a64_ret()),
		P("add x1, x1, #4096", a64_add_imm(1, 1, 4096)),
		P("add x1, x1, #4", a64_add_imm(1, 1, 4)),
		P("add x9, x9, #4095", a64_add_imm(9, 9, 4095)),
		P("add x3, x4, #0x200000", a64_add_imm(3, 4, 0x200000)),
		P("add x20, x20, #1", a64_add_imm(20, 20, 1)),
		P("subs x2, x2, #1", a64_subs_imm(2, 2, 1)),
		P("subs x4, x5, #8192", a64_subs_imm(4, 5, 8192)),
		P("cmp x10, #0x21", a64_subs_imm(A64_XZR, 10, 0x21)),
		P("ubfx x10, x21, #26, #6", a64_ubfx(10, 21, 26, 6)),
		P("ubfx x0, x1, #0, #1", a64_ubfx(0, 1, 0, 1)),
		P("ubfx x3, x4, #63, #1", a64_ubfx(3, 4, 63, 1)),
		P("ubfx x5, x6, #8, #56", a64_ubfx(5, 6, 8, 56)),
		P("mov x9, x30", a64_mov(9, 30)),
		P("mov x0, x17", a64_mov(0, 17)),
		P("hvc #0", a64_hvc(0)),
		P("hvc #0xffff", a64_hvc(0xffff)),
		P("mrs x9, elr_el1", a64_mrs(9, A64_SYSREG_ELR_EL1)),
		P("msr elr_el1, x9", a64_msr(A64_SYSREG_ELR_EL1, 9)),
		P("mrs x21, esr_el1", a64_mrs(21, A64_SYSREG_ESR_EL1)),
		P("mrs x22, far_el1", a64_mrs(22, A64_SYSREG_FAR_EL1)),
		P("mrs x0, spsr_el1", a64_mrs(0, A64_SYSREG_SPSR_EL1)),
		P("msr vbar_el1, x3", a64_msr(A64_SYSREG_VBAR_EL1, 3)),
		P("msr sctlr_el1, x0", a64_msr(A64_SYSREG_SCTLR_EL1, 0)),
		P("msr ttbr0_el1, x1", a64_msr(A64_SYSREG_TTBR0_EL1, 1)),
		P("msr tcr_el1, x2", a64_msr(A64_SYSREG_TCR_EL1, 2)),
		P("msr mair_el1, x3", a64_msr(A64_SYSREG_MAIR_EL1, 3)),
		P("mrs x4, id_aa64mmfr1_el1", a64_mrs(4, A64_SYSREG_ID_AA64MMFR1_EL1)),
		P("eret", a64_eret()),
	};

	check_pairs("single", p, TEST_COUNT(p));
}

TEST(branches)
{
	/* offsets relative to each instruction's own address */
	const struct pair p[] = {
		P("b .", a64_b(0)),
		P("b . + 8", a64_b(8)),
		P("b . - 12", a64_b(-12)),
		P("b . + 0x7fffffc", a64_b(0x7fffffc)),
		P("b . - 0x8000000", a64_b(-0x8000000)),
		P("b.ne . - 12", a64_bcond(A64_NE, -12)),
		P("b.eq . + 16", a64_bcond(A64_EQ, 16)),
		P("b.ne . + 0xffffc", a64_bcond(A64_NE, 0xffffc)),
		P("b.lt . - 0x100000", a64_bcond(A64_LT, -0x100000)),
		P("b.al . + 4", a64_bcond(A64_AL, 4)),
	};

	check_pairs("branches", p, TEST_COUNT(p));
}

TEST(mov64)
{
	static const struct {
		uint64_t v;
		const char *text;
	} c[] = {
		{ 0, "movz x1, #0" },
		{ 0x40000000, "movz x1, #0x4000, lsl #16" },
		{ 0x84000008, "movz x1, #0x8\n\tmovk x1, #0x8400, lsl #16" },
		{ 0x2710, "movz x1, #0x2710" },
		{ 0xffff000000000000ull, "movz x1, #0xffff, lsl #48" },
		{ 0x0123456789abcdefull,
		  "movz x1, #0xcdef\n\tmovk x1, #0x89ab, lsl #16\n\t"
		  "movk x1, #0x4567, lsl #32\n\tmovk x1, #0x123, lsl #48" },
		{ 0x100000001ull, "movz x1, #1\n\tmovk x1, #1, lsl #32" },
	};

	for (size_t i = 0; i < TEST_COUNT(c); i++) {
		uint32_t buf[8];
		struct guest_prog p;
		char what[64];

		guest_prog_init(&p, buf, 8);
		guest_emit_mov64(&p, 1, c[i].v);
		snprintf(what, sizeof(what), "mov64 %#llx",
			 (unsigned long long)c[i].v);
		ASSERT_EQ(p.err, 0, "%s", what);
		check_words(what, c[i].text, buf, p.len);
	}
}

TEST(page_loop)
{
	static const struct {
		enum guest_op op;
		const char *insn;
	} c[] = {
		{ GUEST_OP_READ, "ldr x0, [x1]" },
		{ GUEST_OP_READ32, "ldr w0, [x1]" },
		{ GUEST_OP_WRITE, "str x0, [x1]" },
		{ GUEST_OP_LDP, "ldp x5, x6, [x1]" },
		{ GUEST_OP_EXEC, "blr x1" },
		{ GUEST_OP_DC_IVAC, "dc ivac, x1" },
		{ GUEST_OP_DC_CIVAC, "dc civac, x1" },
		{ GUEST_OP_DC_CVAC, "dc cvac, x1" },
		{ GUEST_OP_DC_CVAP, ".arch armv8.2-a\n\tdc cvap, x1" },
	};

	for (size_t i = 0; i < TEST_COUNT(c); i++) {
		uint32_t buf[32];
		struct guest_prog p;
		char text[512];

		guest_prog_init(&p, buf, 32);
		guest_emit_page_loop(&p, c[i].op, 0x41000000, 10000, 4096);
		snprintf(text, sizeof(text),
			 "movz x1, #0x4100, lsl #16\n\tmovz x2, #0x2710\n"
			 "1:\t%s\n\tadd x1, x1, #4096\n\tsubs x2, x2, #1\n"
			 "\tb.ne 1b", c[i].insn);
		ASSERT_EQ(p.err, 0, "%s", c[i].insn);
		ASSERT_EQ(p.len, 6, "loop of %s is 6 instructions", c[i].insn);
		check_words(c[i].insn, text, buf, p.len);
	}
}

TEST(system_off_and_handler)
{
	uint32_t buf[32];
	struct guest_prog p;

	guest_prog_init(&p, buf, 32);
	guest_emit_system_off(&p);
	guest_emit_sync_handler(&p);
	ASSERT_EQ(p.err, 0, "emit");
	check_words("system_off + handler",
		    "movz x0, #0x8\n\tmovk x0, #0x8400, lsl #16\n\thvc #0\n"
		    "\tb .\n"
		    "\tnop\n\tadd x20, x20, #1\n\tmrs x21, esr_el1\n"
		    "\tmrs x22, far_el1\n\tmrs x9, elr_el1\n"
		    "\tadd x9, x9, #4\n\tubfx x10, x21, #26, #6\n"
		    "\tcmp x10, #0x21\n\tb.ne 1f\n\tmov x9, x30\n"
		    "1:\tmsr elr_el1, x9\n\teret",
		    buf, p.len);
}

TEST(builder_limits)
{
	uint32_t buf[4];
	struct guest_prog p;

	guest_prog_init(&p, buf, 4);
	guest_emit_pad_to(&p, 4);
	ASSERT_EQ(p.err, 0, "pad to capacity");
	ASSERT_EQ(p.len, 4, "padded length");
	ASSERT_EQ(buf[3], a64_nop(), "padding is nop");
	guest_emit(&p, a64_ret());
	ASSERT_EQ(p.err, -ENOSPC, "overflow reported");
	ASSERT_EQ(p.len, 4, "overflow drops the word");

	guest_prog_init(&p, buf, 4);
	guest_emit(&p, a64_nop());
	guest_emit(&p, a64_nop());
	guest_emit_pad_to(&p, 1);
	ASSERT_EQ(p.err, -ENOSPC, "pad backwards is an error");

	guest_prog_init(&p, buf, 4);
	guest_emit_bcond_to(&p, A64_NE, (size_t)1 << 20);
	ASSERT_EQ(p.err, -ERANGE, "b.cond out of range");
}

static const struct test tests[] = {
	TEST_ENTRY(single_instructions),
	TEST_ENTRY(branches),
	TEST_ENTRY(mov64),
	TEST_ENTRY(page_loop),
	TEST_ENTRY(system_off_and_handler),
	TEST_ENTRY(builder_limits),
};

int main(void)
{
	return test_run(tests, TEST_COUNT(tests));
}
